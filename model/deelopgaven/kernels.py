"""How a deelopgave kernel is written, and the helpers kernels share.

A kernel is a plain elementwise function of its inputs (scalars, or arrays with the draw axis first). It uses
only arithmetic, numpy ufuncs and the helpers below, so the same function body runs

- as plain Python on numpy arrays: report mode (``model.analysis.report``);
- on PyTensor variables: the PyMC calibration (``model.analysis.calibration``);
- compiled by numba for scalars inside the generated model (``model.engine.codegen``): the Monte Carlo engine,
  the sensitivity designs and the checks that the compiled model equals the plain kernels.

This module does not import numba, so report mode starts fast. The decorators only *declare* what the engine
compiles: :data:`JITABLE` lists every kernel and helper, which ``model.engine.codegen`` registers with numba
(``register_jitable``, which leaves the function itself unchanged) before it compiles the generated model;
:data:`COMPILED_FORMS` lists helpers that have a separate form for compiled code (:func:`compiled_form`).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

#: Every kernel and helper, with its numba options (``forceinline``), in definition order.
JITABLE: list[tuple[Callable, bool]] = []
#: ``(function, builder)``: compiled code calls ``builder(numerics)`` instead of ``function`` (see
#: :func:`compiled_form`).
COMPILED_FORMS: list[tuple[Callable, Callable]] = []


def kernel(func=None, *, inline: bool = False):
    """Declare a deelopgave kernel. The function is returned unchanged.

    ``@kernel(inline=True)``: in compiled code LLVM always inlines it (numba's ``forceinline``, passed on to what
    it calls), for a kernel too large for LLVM's own inlining limit that must be inlined into a loop over the
    draws so that the loop vectorises (a call in a loop keeps it scalar)."""
    if func is None:
        return lambda f: kernel(f, inline=inline)
    JITABLE.append((func, inline))
    return func


def helper(func):
    """Declare a helper that kernels call (compiled with them). The function is returned unchanged."""
    JITABLE.append((func, False))
    return func


def compiled_form(target: Callable):
    """Declare the compiled form of helper ``target``: the decorated ``builder(numerics)`` returns the function
    that compiled code calls instead of ``target`` (``numerics`` is ``model.engine.numerics``: the vectorisable
    ``exp_scalar`` and friends, which need numba). Plain Python, PyTensor and report mode call ``target``."""
    def register(builder: Callable) -> Callable:
        COMPILED_FORMS.append((target, builder))
        return builder
    return register


@helper
def positief(x):
    """max(x, 0), written so that numba, numpy and PyTensor all accept it (and it has a subgradient)."""
    return 0.5 * (x + np.abs(x))


@helper
def tussen(laag, hoog, positie):
    """Linear interpolation: ``laag`` at positie 0, ``hoog`` at positie 1 (extrapolates outside)."""
    return laag + positie * (hoog - laag)


_ERFC = np.vectorize(math.erfc, otypes=[np.float64])


def normaal_cdf(x):
    """The standard normal distribution function Phi(x) = erfc(-x / sqrt 2) / 2, with libm's ``erfc`` on numpy
    arrays and numbers (and in compiled code: :func:`_normaal_cdf_compiled`), PyTensor's ``erfc`` on PyTensor
    variables (the calibration), so that every form is the same function to rounding."""
    if type(x).__module__.startswith("pytensor"):
        import pytensor.tensor as pt

        return 0.5 * pt.erfc(-x * math.sqrt(0.5))
    return 0.5 * _ERFC(-np.asarray(x, dtype=np.float64) * math.sqrt(0.5))


@compiled_form(normaal_cdf)
def _normaal_cdf_compiled(numerics):
    """Phi for scalars in compiled code: numba's ``math.erfc`` (libm)."""
    half_sqrt = math.sqrt(0.5)

    def phi(x):
        return 0.5 * math.erfc(-x * half_sqrt)
    return phi
