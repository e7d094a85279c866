"""Evaluate all deelopgaven on arrays of inputs, and label the results.

The one code path of the model: report mode calls :func:`evaluate` with arrays of length 1 holding the point
(or band) values; the Monte Carlo engine calls it chunk by chunk with sampled arrays; the PyMC calibration calls
the same kernels' Python functions on PyTensor variables (``python=True``).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import xarray as xr

from model.data import Gebieden
from model.errors import PriorError
from model.kernels import python_function
from model.registry import DEELOPGAVEN, DOELEN, KOLOMMEN, cost_lines


def line_names() -> tuple[str, ...]:
    return tuple(line.naam for d in DEELOPGAVEN for line in d.lines)


def required_inputs() -> tuple[str, ...]:
    """Names the kernels need from priors or data (everything that is not a line of an earlier kernel)."""
    produced: set[str] = set()
    needed: list[str] = []
    for d in DEELOPGAVEN:
        for name in d.inputs:
            if name not in produced and name not in needed:
                needed.append(name)
        produced.update(line.naam for line in d.lines)
    return tuple(needed)


def data_inputs(gebieden: Gebieden) -> dict[str, float]:
    return gebieden.quantities()


def check_inputs(available: Mapping[str, object], where: str = "priors") -> None:
    missing = [n for n in required_inputs() if n not in available]
    if missing:
        raise PriorError(f"{where}: (set): missing entries needed by the kernels: {missing}")


def evaluate(values: Mapping[str, object], *, python: bool = False) -> dict[str, object]:
    """Run every kernel in registry order.

    ``values`` maps each required input to a 1-D float64 array (all of the same length: the draws). The kernels
    run inside the one compiled loop over draws (:mod:`model.compiled`) that the Monte Carlo engine uses too.
    With ``python=True`` the kernels' plain Python functions run on the values as given (numpy arrays, PyTensor
    variables: the calibration's path). Returns a dict of every line (cost and auxiliary lines) by name.
    """
    if python:
        namespace = dict(values)
        out: dict[str, object] = {}
        for d in DEELOPGAVEN:
            try:
                args = [namespace[name] for name in d.inputs]
            except KeyError as exc:
                raise PriorError(f"priors: {exc.args[0]}: needed by deelopgave {d.naam} but not defined") from None
            for line, arr in zip(d.lines, python_function(d.kernel)(*args)):
                namespace[line.naam] = arr
                out[line.naam] = arr
        return out
    from model.compiled import model_loop

    names = required_inputs()
    check_inputs(values)
    m = max(np.size(values[n]) for n in names)
    inp = np.empty((m, len(names)))
    for i, n in enumerate(names):
        inp[:, i] = values[n]
    lines = np.empty((m, len(line_names())))
    model_loop()(inp, lines)
    return {name: np.ascontiguousarray(lines[:, i]) for i, name in enumerate(line_names())}


def lines_to_dataset(lines: Mapping[str, np.ndarray], *, dim: str = "draw", coord=None,
                     attrs: Mapping[str, object] | None = None) -> xr.Dataset:
    """Label evaluated lines: ``opgave`` (dim, lijn) in EUR with the lines' metadata as coordinates."""
    cl = cost_lines()
    first = np.asarray(lines[cl[0][1].naam])
    n = first.shape[0]
    coord = np.arange(n) if coord is None else coord
    opgave = np.stack([np.asarray(lines[line.naam], dtype=float) for _, line in cl], axis=-1)
    ds = xr.Dataset(
        {"opgave": ((dim, "lijn"), opgave, {"units": "EUR", "long_name": "Financiële opgave 2025-2035"})},
        coords={
            dim: coord,
            "lijn": [line.naam for _, line in cl],
            "deelopgave": ("lijn", [d.naam for d, _ in cl], {"long_name": "Deelopgave"}),
            "kolom": ("lijn", [d.kolom for d, _ in cl], {"long_name": "Kolom van Tabel 1.2"}),
            "doel": ("lijn", [d.doel for d, _ in cl], {"long_name": "Doelstelling NPVR"}),
            "betaler": ("lijn", [line.betaler for _, line in cl], {"long_name": "Betaler (publiek/privaat)"}),
            "kostensoort": ("lijn", [line.kostensoort for _, line in cl], {"long_name": "Kostensoort"}),
            "pm": ("lijn", [d.pm for d, _ in cl], {"long_name": "PM-post: buiten de totalen van het rapport"}),
        },
        attrs=dict(attrs or {}),
    )
    ds["lijn"].attrs["long_name"] = "Kostenlijn (kernel output)"
    for d in DEELOPGAVEN:
        for line in d.lines:
            if d.kolom is None or line.hulp:
                ds[line.naam] = ((dim,), np.asarray(lines[line.naam], dtype=float),
                                 {"units": line.eenheid, "long_name": line.long_name})
    ds.attrs.setdefault("kolommen", "; ".join(f"{k}: {v}" for k, v in KOLOMMEN.items()))
    ds.attrs.setdefault("doelen", "; ".join(f"{k}: {v}" for k, v in DOELEN.items()))
    return ds


def column_totals(lines: Mapping[str, np.ndarray], *, include_pm: bool = False) -> dict[str, np.ndarray]:
    """Sum the cost lines into the three columns of Table 1.2 (PM lines excluded unless asked)."""
    totals: dict[str, np.ndarray] = {}
    for d, line in cost_lines():
        if d.pm and not include_pm:
            continue
        arr = lines[line.naam]
        totals[d.kolom] = totals[d.kolom] + arr if d.kolom in totals else arr
    return totals
