"""Bayesian calibration (PyMC, NUTS) of the hidden kentallen against the report's published figures.

The report prints totals, not its kentallen. Many priors (status ``afgeleid``) were derived so that report mode
reproduces those totals; this module asks the inverse question with the full prior uncertainty: *given* the
printed figures, what do the priors become?

One model definition
--------------------
The PyMC model is built from the same prior files and the same kernel formulas as the numba engine:

* every non-fixed entry gets a latent standard normal score; the scores are correlated with the lower
  Cholesky factors of :func:`model.dependence.build_copula` (block by block, exactly the matrix the engine
  applies), so the declared rank correlations hold in the prior;
* each score is mapped to the entry's value with ``x = F^-1(Phi(z))`` of its fitted
  :class:`~model.distributions.Marginal`, written in PyTensor (:func:`z_to_x_tensor`): closed forms for
  normal, lognormal, uniform, triangular and metalog, and for truncnormal/pert/beta the marginal's own
  lookup ``table`` (x on a uniform z grid) interpolated linearly, which is what the numba sampler does;
  fixed entries are constants;
* the kernels are the deelopgaven's plain-Python functions (:func:`model.evaluate.evaluate` with
  ``python=True``) applied to the PyTensor scalars; data quantities (CBS) are constants.

Observations
------------
:data:`~model.published.PUBLISHED` is the one table of the report's printed figures (the only place in the
code base where report totals appear as numbers; the calibration fits to them, the summaries show them). Each row names the model quantity it measures and the
*setting* of the band entries (``normniveau``, ``vraagjaar``) at which it is evaluated: a bandwidth such as
"€0,6 - €1,1 mld." is two results at two norm levels, so its low figure is observed on the model evaluated at
the band's ``laag`` values and its high figure at the ``hoog`` values (no uniform likelihood over the band).
A figure printed in several places (Table 1.2 and Table 2.1, say) is one observation: the same printed
number carries its information once.

Error model of a printed figure ``y`` with ``d`` decimals (half a unit of the last digit: ``h = 0.5·10^-d``)::

    y ~ Normal(mu, sqrt(h² / 3 + (sigma_discrepantie · |y|)²)),   sigma_discrepantie ~ LogNormal(log 0.02, 0.5)

``h²/3`` is the variance of the rounding error, uniform on ±h, smoothed to a normal with the same variance
(NUTS needs a differentiable likelihood; a hard uniform window would make the posterior's support edges
discontinuous). ``sigma_discrepantie`` is one relative model-discrepancy sd shared by all figures, with its own
prior: the model is a reconstruction (CBS data instead of the report's own, e.g. 8% more dwellings than its
Table 1.1, docs/deviations.md D1), so an exact match is not plausible; median 2%, P5-P95 0.9%-4.6%. A
HalfNormal(0.05) was tried first: its mode at zero lets the sampler into a region where every printed figure is
matched to its rounding alone, whose curvature differs from the rest of the posterior by an order of magnitude
(divergences, low ESS of the discrepancy). The per-figure discrepancies are integrated out analytically (a sum
of independent normals).

Sampling and diagnostics
------------------------
:func:`calibrate` runs PyMC's NUTS on the latent scores (all ~90 non-fixed entries; entries no figure depends
on, e.g. the PM-only ones and the band settings themselves, simply keep their prior), checks R-hat, bulk and
tail ESS and divergences with ArviZ, and writes a new run folder under ``runs/``: ``posterior.nc``,
``diagnostics.json``, ``prior_posterior.csv``, ``prior_posterior.png/.svg`` and ``ppc.csv``. A run that fails
its diagnostics is written but marked ``usable: false``. :func:`load_posterior_draws` hands the joint posterior
draws of a usable run to the engine (``"gekalibreerd"``: the newest usable run).

Thresholds: max R-hat < 1.01, min bulk and tail ESS > 400 (100 per chain, Vehtari et al. 2021), no divergences, in
the full configuration (4 chains × 1000 draws, 1000 tuning steps) and in the quick one (4 chains × 500 draws, 400
tuning steps; ``--quick`` and the notebook; see :data:`QUICK` for why not 2 chains). The checks gate on the
entries' values (``kental``) and the discrepancy sd; the diagnostics of the sampler's own coordinates
(``z_onafhankelijk``) are reported beside them. NUTS uses a dense mass matrix (``jitter+adapt_full``): the printed
totals pin down sums and products of many entries, i.e. narrow ridges that are not aligned with any one axis.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import re
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from model.cli_args import non_negative_int, output_folder, positive_int
from model.data import Gebieden, load_gebieden
from model.dependence import build_copula
from model.distributions import TABLE_LEN, TABLE_Z_MAX, Marginal, z_to_x_array
from model.errors import PriorError
from model.evaluate import check_inputs, column_totals, data_inputs, evaluate
from model.priors import PriorSet, fit_entry, load_priors
from model.published import PUBLISHED, Figure
from model.registry import DEELOPGAVEN, KOLOMMEN, by_name
from model.runs import code_version, new_run_folder, versions

__all__ = [
    "Figure",
    "PUBLISHED",
    "SETTINGS",
    "FULL",
    "QUICK",
    "Thresholds",
    "CalibrationResult",
    "calibrated_names",
    "z_to_x_tensor",
    "build_model",
    "figure_values",
    "simulate_published",
    "calibrate",
    "load_posterior_draws",
    "find_runs",
    "register_cli",
]

RUNS_DIR = Path(__file__).resolve().parent.parent / "runs"
RUN_PREFIX = "kalibratie"
GEKALIBREERD = "gekalibreerd"

# --------------------------------------------------------------------------------------------------------
# The published figures (model.published.PUBLISHED) are the observations
# --------------------------------------------------------------------------------------------------------

#: Settings of the band entries (those with a ``band`` in the priors) at which figures are evaluated:
#: ``(default band end, {entry: band end})``. The values come from each entry's ``band`` in the prior files.
#: laag = today's shortfall at the Q1 norm, hoog = the 2035 shortfall at the median norm (footnote * of
#: Table 1.2); the mixed ones are the other two cells of §3.5 (now at the median norm, 2035 at the Q1 norm).
SETTINGS: dict[str, tuple[str, dict[str, str]]] = {
    "laag": ("laag", {}),
    "hoog": ("hoog", {}),
    "nu_mediaan": ("laag", {"normniveau": "hoog"}),
    "2035_q1": ("laag", {"vraagjaar": "hoog"}),
}

#: Prior of the relative model discrepancy: LogNormal with median 2% and log-sd 0.5 (P5-P95 0.9%-4.6%).
DISCREPANCY_MEDIAN = 0.02
DISCREPANCY_LOG_SD = 0.5


# --------------------------------------------------------------------------------------------------------
# Configurations and thresholds
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Diagnostics a run must pass to be marked usable."""

    max_rhat: float = 1.01
    min_ess_bulk: float = 400.0
    min_ess_tail: float = 400.0
    max_divergences: int = 0


FULL = {"draws": 1000, "tune": 1000, "chains": 4, "thresholds": Thresholds()}
#: Reduced configuration (``--quick``, the notebook): 4 chains x 500 draws, 400 tuning steps, the full thresholds
#: (ESS > 100 per chain, Vehtari et al. 2021). Four chains, not two: with ~90 parameters the largest R-hat of
#: 2 x 500 well-mixed draws exceeds 1.01 by chance (seed 2025: 1.016 at ESS 465; 4 x 500: 1.005 at ESS > 1000).
#: 300 draws and 300 tuning steps per chain are not enough either (a divergence for seed 2025). The tests run a
#: cheaper 2-chain configuration on fixed seeds (tests/test_calibration.py).
QUICK = {"draws": 500, "tune": 400, "chains": 4, "thresholds": Thresholds()}


# --------------------------------------------------------------------------------------------------------
# Marginals in PyTensor
# --------------------------------------------------------------------------------------------------------

_TABLE_DZ = 2.0 * TABLE_Z_MAX / (TABLE_LEN - 1)


def _pt():
    import pytensor.tensor as pt

    return pt


def _ndtr(z):
    pt = _pt()
    return 0.5 * pt.erfc(-z / math.sqrt(2.0))


def _log_ndtr(z):
    """log Phi(z), accurate in both tails (both branches see only their own safe half of z)."""
    pt = _pt()
    lo = pt.minimum(z, -1.0)  # erfcx branch, for z < -1
    hi = pt.maximum(z, -1.0)
    return pt.switch(
        pt.lt(z, -1.0),
        pt.log(0.5 * pt.erfcx(-lo / math.sqrt(2.0))) - 0.5 * lo * lo,
        pt.log1p(-0.5 * pt.erfc(hi / math.sqrt(2.0))),
    )


def z_to_x_tensor(z, m: Marginal):
    """PyTensor version of :func:`model.distributions.z_to_x`: value of marginal ``m`` at normal score ``z``.

    Same definition as the numba sampler: lognormal/normal in closed form; uniform/triangular/metalog via
    ``u = Phi(z)`` (and ``1 - u = Phi(-z)``) in their closed-form quantile functions; truncnormal/pert/beta by
    linear interpolation in the marginal's ``table`` (x on the uniform z grid over [-7, 7], clamped outside);
    fixed gives its constant.
    """
    pt = _pt()
    p = tuple(float(v) for v in m.params)
    match m.family:
        case "fixed":
            return pt.as_tensor_variable(np.float64(p[0])) + 0.0 * z
        case "normal":
            return p[0] + p[1] * z
        case "lognormal":
            return pt.exp(p[0] + p[1] * z)
        case "truncnormal" | "pert" | "beta":
            table = pt.constant(np.asarray(m.table, dtype=np.float64))
            t = pt.clip((z + TABLE_Z_MAX) / _TABLE_DZ, 0.0, float(TABLE_LEN - 1))
            i = pt.minimum(pt.cast(pt.floor(t), "int64"), TABLE_LEN - 2)
            f = t - i
            lo = table[i]
            return lo + f * (table[i + 1] - lo)
        case "uniform":
            return p[0] + (p[1] - p[0]) * _ndtr(z)
        case "triangular":
            a, c, b = p
            u, v = _ndtr(z), _ndtr(-z)
            return pt.switch(
                u * (b - a) <= c - a,
                a + pt.sqrt(pt.maximum(u * (b - a) * (c - a), 0.0)),
                b - pt.sqrt(pt.maximum(v * (b - a) * (b - c), 0.0)),
            )
        case "metalog":
            a1, a2, a3, lo, hi = p
            u = _ndtr(z)
            logit = _log_ndtr(z) - _log_ndtr(-z)
            mm = a1 + a2 * logit + a3 * (u - 0.5) * logit
            if math.isfinite(lo) and math.isfinite(hi):
                return lo + (hi - lo) * pt.sigmoid(mm)
            if math.isfinite(lo):
                return lo + pt.exp(mm)
            if math.isfinite(hi):
                return hi - pt.exp(-mm)
            return mm
    raise ValueError(f"unknown family {m.family!r}")


_VECTOR_FAMILIES = ("normal", "lognormal", "uniform", "truncnormal", "pert", "beta")


def z_to_x_vector(z, marginals: Sequence[Marginal]):
    """:func:`z_to_x_tensor` for a vector ``z`` (one score per marginal), vectorised per family.

    Same definitions, fewer graph nodes: one operation per family instead of one per entry (the model has ~90
    entries and PyTensor's compile time grows with the number of nodes).
    """
    pt = _pt()
    n = len(marginals)
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(marginals):
        groups.setdefault(m.family if m.family in _VECTOR_FAMILIES else "other", []).append(i)
    pieces, order = [], []
    for fam, idx in groups.items():
        ms = [marginals[i] for i in idx]
        zi = z[np.asarray(idx, dtype="int64")]
        if fam == "normal":
            out = np.array([m.params[0] for m in ms]) + np.array([m.params[1] for m in ms]) * zi
        elif fam == "lognormal":
            out = pt.exp(np.array([m.params[0] for m in ms]) + np.array([m.params[1] for m in ms]) * zi)
        elif fam == "uniform":
            a = np.array([m.params[0] for m in ms])
            b = np.array([m.params[1] for m in ms])
            out = a + (b - a) * _ndtr(zi)
        elif fam in ("truncnormal", "pert", "beta"):
            tables = pt.constant(np.stack([np.asarray(m.table, dtype=np.float64) for m in ms]))
            t = pt.clip((zi + TABLE_Z_MAX) / _TABLE_DZ, 0.0, float(TABLE_LEN - 1))
            k = pt.minimum(pt.cast(pt.floor(t), "int64"), TABLE_LEN - 2)
            rows = np.arange(len(ms), dtype="int64")
            lo = tables[rows, k]
            out = lo + (t - k) * (tables[rows, k + 1] - lo)
        else:
            out = pt.stack([z_to_x_tensor(z[i], marginals[i]) for i in idx])
        pieces.append(out)
        order.extend(idx)
    inverse = np.empty(n, dtype="int64")
    inverse[np.asarray(order, dtype="int64")] = np.arange(n)
    return pt.concatenate(pieces)[inverse]


# --------------------------------------------------------------------------------------------------------
# Model quantities and settings
# --------------------------------------------------------------------------------------------------------

_TERM = re.compile(r"^(deelopgave|lijn|kolom):([a-z0-9_]+)$")


def _check_figures(figures: Sequence[Figure]) -> None:
    names = [f.name for f in figures]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate figure names: {sorted({n for n in names if names.count(n) > 1})}")
    line_names = {line.naam for d in DEELOPGAVEN for line in d.lines}
    for f in figures:
        if f.setting not in SETTINGS:
            raise ValueError(f"figure {f.name}: unknown setting {f.setting!r} (known: {sorted(SETTINGS)})")
        expr = f.quantity[:-5] if f.quantity.endswith("/jaar") else f.quantity
        for term in expr.split("+"):
            m = _TERM.match(term)
            if not m:
                raise ValueError(f"figure {f.name}: cannot read quantity term {term!r}")
            kind, name = m.groups()
            if kind == "deelopgave":
                by_name(name)
            elif kind == "lijn" and name not in line_names:
                raise ValueError(f"figure {f.name}: unknown line {name!r}")
            elif kind == "kolom" and name not in KOLOMMEN:
                raise ValueError(f"figure {f.name}: unknown column {name!r}")


def _quantity(expr: str, lines: Mapping[str, Any], values: Mapping[str, Any]):
    """Evaluate a figure's quantity expression on evaluated lines (numpy or PyTensor), in euros."""
    per_jaar = expr.endswith("/jaar")
    if per_jaar:
        expr = expr[:-5]
    total = None
    for term in expr.split("+"):
        kind, name = _TERM.match(term).groups()
        if kind == "deelopgave":
            part = None
            for line in by_name(name).lines:
                if not line.hulp:
                    part = lines[line.naam] if part is None else part + lines[line.naam]
        elif kind == "lijn":
            part = lines[name]
        else:
            part = column_totals(lines)[name]
        total = part if total is None else total + part
    if per_jaar:
        total = total / values["looptijd_jaren"]
    return total


def _setting_overrides(priors: PriorSet, setting: str) -> dict[str, float]:
    """Values of every band entry at a setting of :data:`SETTINGS`."""
    default, special = SETTINGS[setting]
    band_entries = {n: e for n, e in priors.entries.items() if e.band is not None}
    unknown = set(special) - set(band_entries)
    if unknown:
        raise PriorError(f"{priors.directory}: (set): setting {setting!r} names entries without a band: {sorted(unknown)}")
    return {n: float(e.band[special.get(n, default)]) for n, e in band_entries.items()}


def calibrated_names(priors: PriorSet) -> tuple[str, ...]:
    """The entries that are random variables of the calibration: every non-fixed entry, in prior-set order."""
    return tuple(n for n, e in priors.entries.items() if not e.fixed)


def figure_values(priors: PriorSet | None = None, gebieden: Gebieden | None = None,
                  figures: Sequence[Figure] = PUBLISHED, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Report mode: every figure's model value (printed units, unrounded) at the priors' point values.

    ``overrides`` replaces entry values (band entries are set by each figure's setting afterwards).
    """
    from model.report import evaluate_setting

    priors = priors if priors is not None else load_priors()
    gebieden = gebieden if gebieden is not None else load_gebieden()
    _check_figures(figures)
    cache: dict[str, tuple[dict, dict]] = {}
    out = {}
    for f in figures:
        if f.setting not in cache:
            ov = dict(overrides or {})
            ov.update(_setting_overrides(priors, f.setting))
            lines = evaluate_setting(priors, gebieden, "point", ov)
            values = {**priors.values("point"), **(overrides or {}), **ov}
            cache[f.setting] = (lines, values)
        lines, values = cache[f.setting]
        out[f.name] = float(_quantity(f.quantity, lines, values)) / f.eenheid_eur
    return out


def _round_half_up(x: float, decimals: int) -> float:
    scale = 10.0 ** decimals
    return math.floor(x * scale + 0.5) / scale


def simulate_published(overrides: Mapping[str, float], priors: PriorSet | None = None,
                       gebieden: Gebieden | None = None, figures: Sequence[Figure] = PUBLISHED) -> dict[str, float]:
    """Synthetic 'printed figures': report mode with ``overrides`` for some entries, rounded as printed."""
    values = figure_values(priors, gebieden, figures, overrides)
    return {f.name: _round_half_up(values[f.name], f.decimals) for f in figures}


# --------------------------------------------------------------------------------------------------------
# The PyMC model
# --------------------------------------------------------------------------------------------------------


@dataclass
class ModelInfo:
    """What :func:`build_model` built: names, marginals, copula and the figures observed."""

    names: tuple[str, ...]
    marginals: dict[str, Marginal]
    chol: np.ndarray
    figures: tuple[Figure, ...]
    printed: np.ndarray
    settings: tuple[str, ...]


def build_model(priors: PriorSet | None = None, gebieden: Gebieden | None = None,
                figures: Sequence[Figure] = PUBLISHED, *, printed: Mapping[str, float] | None = None,
                discrepancy_median: float = DISCREPANCY_MEDIAN):
    """The calibration model. Returns ``(pm.Model, ModelInfo)``.

    Variables (dims in brackets): ``z_onafhankelijk`` [parameter] independent N(0, 1) (the sampled ones);
    ``z`` [parameter] the copula-correlated normal scores; ``kental`` [parameter] the entries' values;
    ``figuur_model`` [figuur] the model's value of each printed figure (in its printed unit, mostly mld. €);
    ``sigma_discrepantie`` the
    relative model discrepancy; ``gepubliceerd`` [figuur] the observed printed figures (data
    ``gepubliceerd_waarde``); ``kolomtotaal`` [kolom] the Table 1.2 column totals (EUR, PM lines excluded) with
    the band entries drawn from their own priors, as the engine does (in the prior: the engine's prior
    predictive; in the posterior: the calibrated totals). ``printed`` replaces printed values by figure name
    (e.g. simulated figures).
    """
    import pymc as pm
    import pytensor.tensor as pt

    priors = priors if priors is not None else load_priors()
    gebieden = gebieden if gebieden is not None else load_gebieden()
    figures = tuple(figures)
    _check_figures(figures)
    printed_map = {f.name: f.printed for f in figures}
    if printed:
        unknown = set(printed) - set(printed_map)
        if unknown:
            raise KeyError(f"printed values for unknown figures: {sorted(unknown)}")
        printed_map.update({k: float(v) for k, v in printed.items()})
    y = np.array([printed_map[f.name] for f in figures], dtype=float)
    rounding_sd = np.array([f.rounding_sd for f in figures])

    names = calibrated_names(priors)
    marginals = {n: fit_entry(priors[n])[0] for n in names}
    plan = build_copula(names, priors.correlations)
    chol = np.eye(len(names))
    for idx, L in zip(plan.blocks, plan.chol):
        chol[np.ix_(idx, idx)] = L
    data = data_inputs(gebieden)
    check_inputs({**priors.values(), **data}, where=priors.directory)

    # One evaluation of the kernels on vectors over the settings: element k of a band entry holds its value at
    # settings[k]; the last element is the band entry's own random draw (the engine's setting), which gives the
    # column totals ``kolomtotaal``. Entries without a band are scalars and broadcast.
    settings = tuple(dict.fromkeys(f.setting for f in figures))
    band_at = [_setting_overrides(priors, s) for s in settings]
    band_names = [n for n, e in priors.entries.items() if e.band is not None]
    coords = {"parameter": list(names), "figuur": [f.name for f in figures], "kolom": list(KOLOMMEN)}
    with pm.Model(coords=coords) as model:
        z_indep = pm.Normal("z_onafhankelijk", 0.0, 1.0, dims="parameter")
        # z = chol @ z_indep, written elementwise (no BLAS needed; PyTensor's pip build has none)
        z = pm.Deterministic("z", pt.sum(pt.constant(chol) * z_indep[None, :], axis=1), dims="parameter")
        x_all = pm.Deterministic("kental", z_to_x_vector(z, [marginals[n] for n in names]), dims="parameter")
        # one (1,)-vector per entry; a Split (its gradient is one Join) rather than ~90 scalar index operations
        x = {n: pt.specify_shape(part, (1,)) for n, part in zip(names, pt.split(x_all, [1] * len(names), n_splits=len(names)))}

        values: dict[str, Any] = {n: float(e.point) for n, e in priors.entries.items() if e.fixed}
        values.update(x)
        for n in band_names:
            own = x[n] if n in x else pt.constant(np.array([priors[n].point], dtype=np.float64))
            values[n] = pt.concatenate([pt.constant(np.array([b[n] for b in band_at], dtype=np.float64)), own])
        values.update(data)
        lines = evaluate(values, python=True)
        index = {s: k for k, s in enumerate(settings)}

        def pick(q, k):
            q = pt.as_tensor_variable(q)
            if q.ndim == 0:
                return q
            return q[0] if q.type.shape[0] == 1 else q[k]

        mu = pt.stack([pick(_quantity(f.quantity, lines, values), index[f.setting]) / f.eenheid_eur for f in figures])
        mu = pm.Deterministic("figuur_model", mu, dims="figuur")
        sigma_d = pm.LogNormal("sigma_discrepantie", mu=math.log(discrepancy_median), sigma=DISCREPANCY_LOG_SD)
        y_data = pm.Data("gepubliceerd_waarde", y, dims="figuur")
        sd = pt.sqrt(pt.constant(rounding_sd**2) + (sigma_d * pt.abs(y_data)) ** 2)
        pm.Normal("gepubliceerd", mu=mu, sigma=sd, observed=y_data, dims="figuur")
        totals = column_totals(lines)
        pm.Deterministic("kolomtotaal", pt.stack([pick(totals[k], -1) for k in KOLOMMEN]), dims="kolom")
    info = ModelInfo(names=names, marginals=marginals, chol=chol, figures=figures, printed=y, settings=settings)
    return model, info


#: PyTensor rewrites left out when compiling the calibration model. ``local_greedy_distributor`` expands
#: products over the 41-point quadrature sum of the capaciteit kernel into thousands of nodes;
#: ``local_inline_composite_constants`` bakes each quadrature constant into its own C module (41 compilations).
#: Measured on the capaciteit kernel alone: rewrite time 12.7 s -> 4.9 s, cold C compilation 82 s -> 49 s. Neither
#: rewrite changes a computed value beyond floating-point rounding.
EXCLUDED_REWRITES = ("local_greedy_distributor", "local_inline_composite_constants")


def compile_mode():
    """The PyTensor mode used for every function of the calibration (FAST_RUN minus :data:`EXCLUDED_REWRITES`)."""
    from pytensor.compile.mode import get_mode

    return get_mode("FAST_RUN").excluding(*EXCLUDED_REWRITES)


# --------------------------------------------------------------------------------------------------------
# Calibration run
# --------------------------------------------------------------------------------------------------------


@dataclass
class CalibrationResult:
    """Outcome of :func:`calibrate`: the run folder, whether it is usable, its diagnostics and the trace."""

    path: Path
    usable: bool
    diagnostics: dict
    idata: Any = field(repr=False, default=None)
    message: str = ""


def _diagnose(idata, names: Sequence[str], thresholds: Thresholds) -> dict:
    import arviz as az

    var_names = ["z_onafhankelijk", "sigma_discrepantie", "kental"]
    rhat = az.rhat(idata, var_names=var_names)
    ess_bulk = az.ess(idata, var_names=var_names, method="bulk")
    ess_tail = az.ess(idata, var_names=var_names, method="tail")
    divergences = int(idata.sample_stats["diverging"].sum())
    per_param = {}
    for i, n in enumerate(names):
        per_param[n] = {
            "rhat": float(rhat["kental"].values[i]),
            "ess_bulk": float(ess_bulk["kental"].values[i]),
            "ess_tail": float(ess_tail["kental"].values[i]),
            "rhat_z": float(rhat["z_onafhankelijk"].values[i]),
            "ess_bulk_z": float(ess_bulk["z_onafhankelijk"].values[i]),
            "ess_tail_z": float(ess_tail["z_onafhankelijk"].values[i]),
        }
    per_param["sigma_discrepantie"] = {
        "rhat": float(rhat["sigma_discrepantie"]), "ess_bulk": float(ess_bulk["sigma_discrepantie"]),
        "ess_tail": float(ess_tail["sigma_discrepantie"]),
    }

    gating = ["kental", "sigma_discrepantie"]  # the parameters themselves; z_onafhankelijk is reported only

    def all_values(ds):
        return np.concatenate([np.atleast_1d(ds[v].values).ravel() for v in gating])

    # NaN (e.g. a parameter that never moved) counts as failing
    r, b, t = all_values(rhat), all_values(ess_bulk), all_values(ess_tail)
    max_rhat = float(np.max(np.where(np.isfinite(r), r, np.inf)))
    min_bulk = float(np.min(np.where(np.isfinite(b), b, -np.inf)))
    min_tail = float(np.min(np.where(np.isfinite(t), t, -np.inf)))
    checks = {
        "rhat": {"value": max_rhat, "threshold": thresholds.max_rhat, "pass": max_rhat < thresholds.max_rhat},
        "ess_bulk": {"value": min_bulk, "threshold": thresholds.min_ess_bulk, "pass": min_bulk > thresholds.min_ess_bulk},
        "ess_tail": {"value": min_tail, "threshold": thresholds.min_ess_tail, "pass": min_tail > thresholds.min_ess_tail},
        "divergences": {"value": divergences, "threshold": thresholds.max_divergences,
                        "pass": divergences <= thresholds.max_divergences},
    }
    def worst_of(key, pick):
        def score(n):
            v = per_param[n][key]
            return v if np.isfinite(v) else (np.inf if pick is max else -np.inf)
        return pick(per_param, key=score)

    worst = {"rhat": worst_of("rhat", max), "ess_bulk": worst_of("ess_bulk", min), "ess_tail": worst_of("ess_tail", min)}
    return {"checks": checks, "worst_parameter": worst, "parameters": per_param,
            "tree_depth_mean": float(idata.sample_stats["tree_depth"].mean()),
            "step_size_mean": float(idata.sample_stats["step_size"].mean())}


def _prior_samples(info: ModelInfo, n: int = 100_000, seed: int = 20250101) -> np.ndarray:
    """(n, n_params) draws of each marginal (the engine's own transform; marginals only)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((len(info.names), n))
    return np.stack([z_to_x_array(z[i], info.marginals[name]) for i, name in enumerate(info.names)], axis=1)


def prior_posterior_table(idata, info: ModelInfo, priors: PriorSet) -> list[dict]:
    """Per calibrated entry: prior mean/P5/P50/P95/sd, posterior mean/P5/P50/P95/sd, shrinkage, z shift."""
    prior = _prior_samples(info)
    post = idata.posterior["kental"].stack(sample=("chain", "draw")).transpose("sample", "parameter").values
    zpost = idata.posterior["z"].stack(sample=("chain", "draw")).transpose("sample", "parameter").values
    rows = []
    for i, n in enumerate(info.names):
        e = priors[n]
        pq = np.quantile(prior[:, i], [0.05, 0.5, 0.95])
        qq = np.quantile(post[:, i], [0.05, 0.5, 0.95])
        pvar, qvar = float(np.var(prior[:, i])), float(np.var(post[:, i]))
        rows.append({
            "parameter": n, "file": e.file, "status": e.status, "kind": e.kind, "unit": e.unit,
            "family": info.marginals[n].family, "point": e.point,
            "prior_mean": float(np.mean(prior[:, i])), "prior_p5": pq[0], "prior_p50": pq[1], "prior_p95": pq[2],
            "prior_sd": math.sqrt(pvar),
            "posterior_mean": float(np.mean(post[:, i])), "posterior_p5": qq[0], "posterior_p50": qq[1],
            "posterior_p95": qq[2], "posterior_sd": math.sqrt(qvar),
            "shrinkage": 1.0 - qvar / pvar if pvar > 0 else float("nan"),
            "interval_shrinkage": 1.0 - (qq[2] - qq[0]) / (pq[2] - pq[0]) if pq[2] > pq[0] else float("nan"),
            "z_posterior_mean": float(np.mean(zpost[:, i])), "z_posterior_sd": float(np.std(zpost[:, i])),
        })
    return rows


def ppc_table(idata, info: ModelInfo) -> list[dict]:
    """Per published figure: printed value, prior and posterior predictive mean/P5/P95, printed inside or not."""
    rows = []
    pp = idata.posterior_predictive["gepubliceerd"].stack(sample=("chain", "draw")).transpose("sample", "figuur").values
    mu = idata.posterior["figuur_model"].stack(sample=("chain", "draw")).transpose("sample", "figuur").values
    prior_pp = None
    if hasattr(idata, "prior_predictive") and "gepubliceerd" in idata.prior_predictive:
        prior_pp = idata.prior_predictive["gepubliceerd"].stack(sample=("chain", "draw")).transpose("sample", "figuur").values
    for j, f in enumerate(info.figures):
        q = np.quantile(pp[:, j], [0.05, 0.95])
        row = {
            "figuur": f.name, "where": f.where, "quantity": f.quantity, "setting": f.setting, "eenheid": "mld EUR",
            "printed": float(info.printed[j]), "decimals": f.decimals,
            "posterior_predictive_mean": float(pp[:, j].mean()), "posterior_predictive_p5": float(q[0]),
            "posterior_predictive_p95": float(q[1]),
            "model_mean": float(mu[:, j].mean()), "model_p5": float(np.quantile(mu[:, j], 0.05)),
            "model_p95": float(np.quantile(mu[:, j], 0.95)),
            "inside_90": bool(q[0] <= info.printed[j] <= q[1]),
        }
        if prior_pp is not None:
            pq = np.quantile(prior_pp[:, j], [0.05, 0.95])
            row.update({"prior_predictive_mean": float(prior_pp[:, j].mean()), "prior_predictive_p5": float(pq[0]),
                        "prior_predictive_p95": float(pq[1])})
        rows.append(row)
    return rows


def _write_csv(path: Path, rows: list[dict]) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.10g}" if isinstance(v, float) else v) for k, v in r.items()})


_STATUS_COLOURS = {"afgeleid": "#1f77b4", "expertoordeel": "#ff7f0e", "gepubliceerd": "#2ca02c",
                   "gekalibreerd": "#9467bd"}


def plot_prior_posterior(rows: list[dict], path_stem: Path, title: str = "") -> None:
    """Forest plot in prior normal-score units (prior 90% = [-1.645, 1.645]) plus shrinkage; PNG and SVG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure
    from scipy.stats import norm

    rows = sorted(rows, key=lambda r: r["shrinkage"])
    n = len(rows)
    fig = MplFigure(figsize=(11, 0.17 * n + 1.6))
    FigureCanvasAgg(fig)
    ax, ax2 = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 1]})
    ypos = np.arange(n)
    zq = norm.ppf(0.95)
    ax.axvspan(-zq, zq, color="0.9", label="prior 90% (normal-score scale)")
    ax.axvline(0, color="0.6", lw=0.6)
    for k, r in enumerate(rows):
        c = _STATUS_COLOURS.get(r["status"], "k")
        lo = r["z_posterior_mean"] - zq * r["z_posterior_sd"]
        hi = r["z_posterior_mean"] + zq * r["z_posterior_sd"]
        ax.plot([lo, hi], [k, k], color=c, lw=2)
        ax.plot([r["z_posterior_mean"]], [k], "o", color=c, ms=3)
        ax2.barh(k, max(r["shrinkage"], 0.0), color=c)
    ax.set_yticks(ypos)
    ax.set_yticklabels([r["parameter"] for r in rows], fontsize=6)
    ax.set_xlabel("posterior normal score z (mean ± 1.645 sd); prior: N(0, 1)")
    ax.set_xlim(-4, 4)
    ax2.set_xlabel("shrinkage 1 - var_post/var_prior")
    ax2.set_xlim(0, 1)
    handles = [ax.plot([], [], color=c, lw=2, label=s)[0] for s, c in _STATUS_COLOURS.items()
               if any(r["status"] == s for r in rows)]
    ax.legend(handles=handles, loc="lower left", fontsize=7, title="status", title_fontsize=7)
    fig.suptitle(title or "Prior vs posterior per entry (calibration against the published figures)", fontsize=10)
    fig.tight_layout()
    fig.savefig(str(path_stem.with_suffix(".png")), dpi=110)
    fig.savefig(str(path_stem.with_suffix(".svg")))


def calibrate(priors: PriorSet | str | Path | None = None, draws: int = FULL["draws"], tune: int = FULL["tune"],
              chains: int = FULL["chains"], seed: int = 1, out_dir: str | Path = RUNS_DIR, *,
              quick: bool = False, thresholds: Thresholds | None = None, figures: Sequence[Figure] = PUBLISHED,
              printed: Mapping[str, float] | None = None, gebieden: Gebieden | None = None,
              cores: int | None = None,
              target_accept: float = 0.9, init: str = "jitter+adapt_full", prior_draws: int = 2000,
              progressbar: bool = False,
              label: str | None = None) -> CalibrationResult:
    """Calibrate the priors against the published figures with NUTS and write a new run folder.

    ``priors``: a loaded set or a prior directory (default: the embedded ``priors/``). ``quick`` labels the run
    as the reduced configuration and applies :data:`QUICK`'s thresholds (pass its ``draws/tune/chains`` too);
    otherwise :data:`FULL`'s apply; ``thresholds`` overrides both. ``printed`` replaces printed values
    (parameter-recovery tests). The run folder
    ``<out_dir>/kalibratie-<label>-<UTC timestamp>-<4 hex>`` (label: ``quick``/``full`` unless given) is
    written to a temporary folder first and renamed into place (:class:`model.runs.new_run_folder`); an
    existing folder is never overwritten. Returns a :class:`CalibrationResult`; ``usable`` is False (with
    ``message``) when any diagnostic fails.
    """
    import pymc as pm

    t0 = time.perf_counter()
    if not isinstance(priors, PriorSet):
        priors = load_priors(priors)
    gebieden = gebieden if gebieden is not None else load_gebieden()
    thresholds = thresholds or (QUICK["thresholds"] if quick else FULL["thresholds"])
    if cores is None:
        cores = max(1, min(chains, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                           else (os.cpu_count() or 1)))
    config = "quick" if quick else "full"
    out_dir = Path(out_dir)

    model, info = build_model(priors, gebieden, figures, printed=printed)
    mode = compile_mode()
    t_build = time.perf_counter()
    with model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message="QuadPotentialFullAdapt is an experimental feature")
        prior_idata = None if prior_draws <= 0 else pm.sample_prior_predictive(
            draws=prior_draws,
            var_names=["kental", "z", "figuur_model", "kolomtotaal", "sigma_discrepantie", "gepubliceerd"],
            random_seed=seed + 7919, compile_kwargs={"mode": mode})
        t_prior = time.perf_counter()
        idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores, random_seed=seed, init=init,
                          target_accept=target_accept, progressbar=progressbar, compute_convergence_checks=False,
                          idata_kwargs={"log_likelihood": False}, compile_kwargs={"mode": mode})
        t_sample = time.perf_counter()
        pm.sample_posterior_predictive(idata, var_names=["gepubliceerd"], random_seed=seed + 104729,
                                       extend_inferencedata=True, progressbar=progressbar,
                                       compile_kwargs={"mode": mode})
    if prior_idata is not None:
        idata.extend(prior_idata)
    t_ppc = time.perf_counter()

    diag = _diagnose(idata, info.names, thresholds)
    failed = [k for k, c in diag["checks"].items() if not c["pass"]]
    usable = not failed
    if usable:
        message = f"usable: all diagnostics pass ({config} thresholds)"
    else:
        parts = []
        for k in failed:
            c = diag["checks"][k]
            who = diag["worst_parameter"].get(k)
            parts.append(f"{k} = {c['value']:.4g} (threshold {c['threshold']}{'; worst: ' + who if who else ''})")
        message = "NOT usable: diagnostics fail: " + "; ".join(parts)

    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    folder = new_run_folder(out_dir, f"{RUN_PREFIX}-{label or config}")
    with folder as tmp:
        pp_rows = prior_posterior_table(idata, info, priors)
        ppc_rows = ppc_table(idata, info)
        n_inside = sum(r["inside_90"] for r in ppc_rows)
        timings = {"build_s": t_build - t0, "prior_predictive_s": t_prior - t_build, "sample_s": t_sample - t_prior,
                   "posterior_predictive_s": t_ppc - t_sample}
        diagnostics = {
            "usable": usable,
            "message": message,
            "config": config,
            "created": created,
            "settings": {"draws": draws, "tune": tune, "chains": chains, "seed": seed, "cores": cores,
                         "target_accept": target_accept, "init": init, "sampler": "pymc NUTS"},
            "thresholds": asdict(thresholds),
            **diag,
            "n_parameters": len(info.names),
            "n_figures": len(info.figures),
            "ppc_inside_90": n_inside,
            "sigma_discrepantie_posterior_mean": float(idata.posterior["sigma_discrepantie"].mean()),
            "timings_s": timings,
            "prior_directory": priors.directory,
            "prior_file_hashes": dict(priors.file_hashes),
            "versions": versions(),
            "code": code_version(),
        }
        idata.posterior.attrs.update({
            "npvr_calibration_config": config, "npvr_usable": int(usable), "npvr_created": created,
            "npvr_figures": json.dumps([asdict(f) for f in info.figures], ensure_ascii=False),
            "npvr_printed": json.dumps(dict(zip([f.name for f in info.figures], info.printed.tolist()))),
            "npvr_prior_file_hashes": json.dumps(dict(priors.file_hashes)),
        })
        idata.to_netcdf(str(tmp / "posterior.nc"), engine="h5netcdf")
        _write_csv(tmp / "prior_posterior.csv", pp_rows)
        _write_csv(tmp / "ppc.csv", ppc_rows)
        plot_prior_posterior(pp_rows, tmp / "prior_posterior",
                             title=f"Calibration {config} (seed {seed}): {'usable' if usable else 'NOT usable'}")
        diagnostics["timings_s"]["total_s"] = time.perf_counter() - t0
        (tmp / "diagnostics.json").write_text(json.dumps(diagnostics, indent=2, ensure_ascii=False), encoding="utf-8")
    diagnostics["path"] = str(folder.path)
    return CalibrationResult(path=folder.path, usable=usable, diagnostics=diagnostics, idata=idata, message=message)


# --------------------------------------------------------------------------------------------------------
# Reading runs back
# --------------------------------------------------------------------------------------------------------


def find_runs(runs_dir: str | Path = RUNS_DIR) -> list[tuple[Path, dict]]:
    """Every finished calibration run folder under ``runs_dir`` with its diagnostics, oldest first."""
    runs_dir = Path(runs_dir)
    out = []
    if not runs_dir.is_dir():
        return out
    for p in runs_dir.iterdir():
        if not p.is_dir() or p.name.startswith(".") or not p.name.startswith(RUN_PREFIX):
            continue
        diag_path = p / "diagnostics.json"
        if not (diag_path.exists() and (p / "posterior.nc").exists()):
            continue
        try:
            diag = json.loads(diag_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append((p, diag))
    out.sort(key=lambda pd: (pd[1].get("created", ""), pd[0].name))
    return out


def _resolve_run(path_or_name: str | Path, runs_dir: str | Path) -> Path:
    if str(path_or_name) == GEKALIBREERD:
        runs = [(p, d) for p, d in find_runs(runs_dir) if d.get("usable") is True]
        full = [(p, d) for p, d in runs if d.get("config") == "full"]
        if full:
            return full[-1][0]
        if runs:
            warnings.warn(f"{runs_dir}: no usable full calibration run; using the newest usable quick run "
                          f"{runs[-1][0].name} (reduced ESS thresholds)", stacklevel=3)
            return runs[-1][0]
        raise PriorError(f"{runs_dir}: {GEKALIBREERD}: no usable calibration run found "
                         f"(run `python cli.py calibrate` first)")
    p = Path(path_or_name)
    if not p.exists():
        p = Path(runs_dir) / str(path_or_name)
    if p.is_file():
        p = p.parent
    if not (p / "posterior.nc").exists():
        raise PriorError(f"{path_or_name}: no calibration run folder (posterior.nc missing)")
    return p


def load_posterior_draws(path_or_name: str | Path = GEKALIBREERD, runs_dir: str | Path = RUNS_DIR, *,
                         allow_unusable: bool = False) -> tuple[tuple[str, ...], np.ndarray]:
    """Joint posterior draws of the calibrated entries of a run: ``(names, draws)``.

    ``draws`` has shape ``(n_draws, n_params)`` (chains flattened; row k is one joint draw, so resampling whole
    rows keeps the posterior dependence) and columns in the order of ``names``. ``path_or_name`` is a run folder,
    its name under ``runs_dir``, or ``"gekalibreerd"``: the newest usable full run (else the newest usable quick
    run, with a warning). A run whose diagnostics failed is refused unless ``allow_unusable``.
    """
    import xarray as xr

    run = _resolve_run(path_or_name, runs_dir)
    diag_path = run / "diagnostics.json"
    diag = json.loads(diag_path.read_text(encoding="utf-8")) if diag_path.exists() else {}
    if not diag.get("usable", False) and not allow_unusable:
        raise PriorError(f"{run}: calibration run is not usable: {diag.get('message', 'no diagnostics.json')}")
    with xr.open_dataset(run / "posterior.nc", group="posterior", engine="h5netcdf") as ds:
        da = ds["kental"].stack(sample=("chain", "draw")).transpose("sample", "parameter")
        names = tuple(str(n) for n in da["parameter"].values)
        draws = np.ascontiguousarray(da.values, dtype=np.float64)
    return names, draws


# --------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------


def _cmd_calibrate(args: argparse.Namespace) -> int:
    cfg = QUICK if args.quick else FULL
    draws = args.draws if args.draws is not None else cfg["draws"]
    tune = args.tune if args.tune is not None else cfg["tune"]
    chains = args.chains if args.chains is not None else cfg["chains"]
    result = calibrate(args.priors, draws=draws, tune=tune, chains=chains, seed=args.seed, out_dir=args.out,
                       quick=args.quick, cores=args.cores, progressbar=args.progress)
    d = result.diagnostics
    c = d["checks"]
    print(f"run folder: {result.path}")
    print(f"config {d['config']}: {chains} chains x {draws} draws (tune {tune}), {d['n_parameters']} parameters, "
          f"{d['n_figures']} published figures; {d['timings_s']['total_s']:.0f} s")
    print(f"max R-hat {c['rhat']['value']:.4f}; min ESS bulk {c['ess_bulk']['value']:.0f}, tail "
          f"{c['ess_tail']['value']:.0f}; divergences {c['divergences']['value']}; "
          f"PPC: {d['ppc_inside_90']}/{d['n_figures']} printed figures inside the 90% interval")
    if result.usable:
        print(result.message)
        return 0
    print(f"error: {result.message}", file=sys.stderr)
    return 1


def register_cli(subparsers) -> argparse.ArgumentParser:
    """Add the ``calibrate`` subcommand to an argparse subparsers object (for cli.py's COMMANDS)."""
    p = subparsers.add_parser(
        "calibrate", help="Bayesian calibration (PyMC NUTS) of the kentallen against the report's published figures",
        description="Calibrate the priors against the published figures; writes a new run folder under --out. "
                    "Exits 1 when the diagnostics fail (the run is written but marked usable: false).")
    p.add_argument("--draws", type=positive_int, default=None,
                   help=f"draws per chain (default {FULL['draws']}; quick {QUICK['draws']})")
    p.add_argument("--tune", type=non_negative_int, default=None,
                   help=f"tuning steps per chain (default {FULL['tune']}; quick {QUICK['tune']})")
    p.add_argument("--chains", type=positive_int, default=None,
                   help=f"chains (default {FULL['chains']}; quick {QUICK['chains']})")
    p.add_argument("--seed", type=non_negative_int, default=1, help="random seed (default 1)")
    p.add_argument("--out", type=output_folder, default="runs",
                   help="folder that receives the new run folder (default runs)")
    p.add_argument("--quick", action="store_true",
                   help=f"reduced configuration ({QUICK['chains']} chains x {QUICK['draws']} draws, tune "
                        f"{QUICK['tune']}; the same thresholds) for a first look and the notebook")
    p.add_argument("--cores", type=positive_int, default=None,
                   help="processes for the chains (default: PyMC's, min(chains, CPUs))")
    p.add_argument("--priors", default=None, help="prior directory (default: the embedded priors/)")
    p.add_argument("--progress", action="store_true", help="show PyMC's progress bar")
    p.set_defaults(func=_cmd_calibrate)
    return p
