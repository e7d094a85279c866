"""The engine's transform from normal scores to prior values, in PyTensor (the calibration's PyMC model).

One vectorised function, one operation per family: the same definitions as the engine's marginals step
(``model.engine.blocks.marginals_block``), against which the tests check it, family by family and in the tails:
normal and lognormal in closed form; uniform, triangular and metalog through ``u = Phi(z)`` (and ``1 - u`` =
``Phi(-z)``) in their closed-form quantile functions; truncnormal, pert and beta by linear interpolation in the
marginal's own lookup ``table`` (x on the uniform z grid, clamped outside), which is what the engine does; fixed
gives its constant. (The engine takes Phi for uniforms from a cubic Hermite table, within 3e-13 of ``erfc``.)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from model.spec.families import TABLE_DZ, TABLE_FAMILIES, TABLE_LEN, TABLE_Z_MAX


def _ndtr(z):
    import pytensor.tensor as pt

    return 0.5 * pt.erfc(-z / math.sqrt(2.0))


def log_ndtr(z):
    """log Phi(z), accurate in both tails (both branches see only their own safe half of z)."""
    import pytensor.tensor as pt

    lo = pt.minimum(z, -1.0)  # erfcx branch, for z < -1
    hi = pt.maximum(z, -1.0)
    return pt.switch(pt.lt(z, -1.0), pt.log(0.5 * pt.erfcx(-lo / math.sqrt(2.0))) - 0.5 * lo * lo,
                     pt.log1p(-0.5 * pt.erfc(hi / math.sqrt(2.0))))


def _column(ms, k: int) -> np.ndarray:
    return np.array([float(m.params[k]) for m in ms])


def _family_values(family: str, zi, ms):
    """The values of the marginals ``ms`` (all of ``family``) at the scores ``zi`` (a vector)."""
    import pytensor.tensor as pt

    if family == "fixed":
        return _column(ms, 0) + 0.0 * zi
    if family == "normal":
        return _column(ms, 0) + _column(ms, 1) * zi
    if family == "lognormal":
        return pt.exp(_column(ms, 0) + _column(ms, 1) * zi)
    if family == "uniform":
        a, b = _column(ms, 0), _column(ms, 1)
        return a + (b - a) * _ndtr(zi)
    if family in TABLE_FAMILIES:
        tables = pt.constant(np.stack([np.asarray(m.table, dtype=np.float64) for m in ms]))
        t = pt.clip((zi + TABLE_Z_MAX) / TABLE_DZ, 0.0, float(TABLE_LEN - 1))
        # a NaN score gives a NaN log density (its normal prior), not an index out of bounds (no NaN constant: it
        # would never equal itself, and PyTensor's numba cache would miss every time)
        t = pt.switch(pt.isnan(t), 0.0, t)
        k = pt.minimum(pt.cast(pt.floor(t), "int64"), TABLE_LEN - 2)
        rows = np.arange(len(ms), dtype="int64")
        lo = tables[rows, k]
        return lo + (t - k) * (tables[rows, k + 1] - lo)
    if family == "triangular":
        a, c, b = _column(ms, 0), _column(ms, 1), _column(ms, 2)
        u, v = _ndtr(zi), _ndtr(-zi)
        return pt.switch(u * (b - a) <= c - a, a + pt.sqrt(pt.maximum(u * (b - a) * (c - a), 0.0)),
                         b - pt.sqrt(pt.maximum(v * (b - a) * (b - c), 0.0)))
    if family == "metalog":
        pieces = []
        for j, m in enumerate(ms):   # one per bounds pattern: the families' closed forms differ by bounds
            a1, a2, a3, lo, hi = (float(p) for p in m.params)
            z = zi[j]
            logit = log_ndtr(z) - log_ndtr(-z)
            mm = a1 + a2 * logit + a3 * (_ndtr(z) - 0.5) * logit
            if math.isfinite(lo) and math.isfinite(hi):
                pieces.append(lo + (hi - lo) * pt.sigmoid(mm))
            elif math.isfinite(lo):
                pieces.append(lo + pt.exp(mm))
            elif math.isfinite(hi):
                pieces.append(hi - pt.exp(-mm))
            else:
                pieces.append(mm)
        return pt.stack(pieces)
    raise ValueError(f"unknown family {family!r}")


def values(z, marginals: Sequence):
    """The values of ``marginals`` (fitted, ``model.spec.fitting.Marginal``) at the normal scores ``z`` (a PyTensor
    vector, one score per marginal), grouped by family: one graph operation per family, not per entry (PyTensor's
    compile time grows with the number of nodes)."""
    import pytensor.tensor as pt

    groups: dict[str, list[int]] = {}
    for i, m in enumerate(marginals):
        groups.setdefault(m.family, []).append(i)
    pieces, order = [], []
    for family, idx in groups.items():
        pieces.append(_family_values(family, z[np.asarray(idx, dtype="int64")], [marginals[i] for i in idx]))
        order.extend(idx)
    inverse = np.empty(len(marginals), dtype="int64")
    inverse[np.asarray(order, dtype="int64")] = np.arange(len(marginals))
    return pt.concatenate(pieces)[inverse]
