"""How a deelopgave kernel is compiled, and the few helpers kernels share.

A kernel is a plain elementwise function of its inputs (scalars or arrays with the draw axis first). It uses
only arithmetic and numpy ufuncs, so the same function body runs

- compiled by numba for scalars, inside the generated model (``model.compiled``: the Monte Carlo engine, report
  mode and the sensitivity designs),
- as plain Python on numpy arrays (``NUMBA_DISABLE_JIT=1``, or ``python_function(kernel)``), and
- on PyTensor variables (``python_function(kernel)``), which is how the PyMC calibration reuses the formulas.

Shared helpers are declared with ``register_jitable``: plain Python functions that numba inlines when they are
called from a compiled kernel.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable


def kernel(func=None, *, inline: bool = False):
    """Mark a deelopgave kernel for numba: the function stays plain Python (numpy arrays, PyTensor) and numba
    compiles it where compiled code calls it -- inside the generated model (``model.compiled``), which is
    cached as a whole, so a kernel costs no compilation of its own.

    ``@kernel(inline=True)``: LLVM always inlines it (numba's ``forceinline``, passed on to what it calls), for a
    kernel too large for LLVM's own inlining limit that must be inlined into a loop over the draws so that the
    loop vectorises (a call in a loop keeps it scalar)."""
    if func is None:
        return lambda f: kernel(f, inline=inline)
    return register_jitable(forceinline=True)(func) if inline else register_jitable(func)


def python_function(compiled):
    """The uncompiled Python function behind a kernel (works on numpy arrays and PyTensor variables)."""
    return getattr(compiled, "py_func", compiled)


@register_jitable
def positief(x):
    """max(x, 0), written so that numba, numpy and PyTensor all accept it (and it has a subgradient)."""
    return 0.5 * (x + np.abs(x))


@register_jitable
def tussen(laag, hoog, positie):
    """Linear interpolation: ``laag`` at positie 0, ``hoog`` at positie 1 (extrapolates outside)."""
    return laag + positie * (hoog - laag)
