"""The calibration's PyMC model: the priors and kernels of the engine, observed through the report's figures.

* every non-fixed entry gets a latent standard normal score; the scores are correlated with the lower Cholesky
  factors of ``model.spec.dependence.build_copula`` (block by block, exactly the matrix the engine applies), so
  the declared rank correlations hold in the prior;
* each score is mapped to the entry's value by the engine's transform written in PyTensor
  (``model.analysis.calibration.transforms``); fixed entries are constants;
* the kernels are the registry's plain functions (``model.deelopgaven.registry.evaluate``) applied to PyTensor
  variables; data quantities (CBS) are constants;
* what NUTS samples (``reparametrise=True``, as :func:`model.analysis.calibration.sampling.sample` builds it): the
  same scores, except that the sums the figures pin and the capaciteit shortfalls are sampled in their own
  coordinates, exact changes of variables (``model.analysis.calibration.reparametrisation``).

Observations. ``model.spec.published.PUBLISHED`` is the one table of the report's printed figures. Each row
names the model quantity it measures and the *setting* of the band entries (``normniveau``, ``vraagjaar``) at
which it is evaluated: a bandwidth such as "€0,6 - €1,1 mld." is two results at two norm levels, so its low figure
is observed on the model evaluated at the band's ``laag`` values and its high figure at the ``hoog`` values (no
uniform likelihood over the band). A figure printed in several places (Table 1.2 and Table 2.1, say) is one
observation: the same printed number carries its information once.

Error model of a printed figure ``y`` with ``d`` decimals (half a unit of the last digit: ``h = 0.5·10^-d``)::

    y ~ Normal(mu, sqrt(h² / 3 + (sigma_discrepantie · |y|)²)),   sigma_discrepantie ~ LogNormal(log 0.02, 0.5)

``h²/3`` is the variance of the rounding error, uniform on ±h, smoothed to a normal with the same variance (NUTS
needs a differentiable likelihood). ``sigma_discrepantie`` is one relative model-discrepancy sd shared by all
figures, with its own prior: the model is a reconstruction (CBS data instead of the report's own, e.g. 8% more
dwellings than its Table 1.1, docs/deviations.md D1), so an exact match is not plausible; median 2%, P5-P95
0.9%-4.6%. A HalfNormal(0.05) was tried first: its mode at zero lets the sampler into a region where every printed
figure is matched to its rounding alone, whose curvature differs from the rest of the posterior by an order of
magnitude (divergences, low ESS of the discrepancy). The per-figure discrepancies are integrated out analytically
(a sum of independent normals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from model.analysis.calibration import reparametrisation, transforms
from model.analysis.report import evaluate_setting
from model.deelopgaven.registry import KOLOMMEN, check_inputs, column_totals, evaluate
from model.spec.data import Gebieden, load_gebieden
from model.spec.dependence import build_copula
from model.spec.fitting import Marginal
from model.spec.priors import PriorSet, fit_entry, load_priors
from model.spec.published import (
    PUBLISHED,
    Figure,
    check_figures,
    quantity,
    setting_values,
)

#: Prior of the relative model discrepancy: LogNormal with median 2% and log-sd 0.5 (P5-P95 0.9%-4.6%).
DISCREPANCY_MEDIAN = 0.02
DISCREPANCY_LOG_SD = 0.5


def calibrated_names(priors: PriorSet) -> tuple[str, ...]:
    """The entries that are random variables of the calibration: every non-fixed entry, in prior-set order."""
    return tuple(n for n, e in priors.entries.items() if not e.fixed)


def figure_values(priors: PriorSet | None = None, gebieden: Gebieden | None = None,
                  figures: Sequence[Figure] = PUBLISHED, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Report mode: every figure's model value (printed units, unrounded) at the priors' point values.

    ``overrides`` replaces entry values (band entries are set by each figure's setting afterwards)."""
    priors = priors if priors is not None else load_priors(fit=False)
    gebieden = gebieden if gebieden is not None else load_gebieden()
    check_figures(figures)
    cache: dict[str, tuple[dict, dict]] = {}
    out = {}
    for f in figures:
        if f.setting not in cache:
            ov = dict(overrides or {})
            ov.update(setting_values(priors, f.setting))
            lines = evaluate_setting(priors, gebieden, "point", ov)
            cache[f.setting] = (lines, {**priors.values("point"), **(overrides or {}), **ov})
        lines, values = cache[f.setting]
        out[f.name] = float(quantity(f.quantity, lines, values)) / f.eenheid_eur
    return out


def figure_draws(priors: PriorSet, names: Sequence[str], draws: np.ndarray, figures: Sequence[Figure],
                 gebieden: Gebieden | None = None) -> np.ndarray:
    """The model's value of each figure (printed units) at joint draws of the entries ``names`` (``draws``: (n,
    len(names)), e.g. a posterior's ``kental`` rows); every other entry at its point value, the choice entries at
    each figure's setting. (n, len(figures)): the kernels evaluated on numpy vectors, one pass per setting. Used for
    figures the calibration did not observe (the leave-out check)."""
    gebieden = gebieden if gebieden is not None else load_gebieden()
    draws = np.asarray(draws, dtype=float)
    check_figures(figures)
    out = np.empty((draws.shape[0], len(figures)))
    for setting in dict.fromkeys(f.setting for f in figures):
        values: dict[str, Any] = {**priors.values("point"), **gebieden.quantities(), **setting_values(priors, setting)}
        values.update({n: draws[:, i] for i, n in enumerate(names) if not priors[n].choice})
        lines = evaluate(values)
        for j, f in enumerate(figures):
            if f.setting == setting:
                out[:, j] = np.broadcast_to(quantity(f.quantity, lines, values), draws.shape[:1]) / f.eenheid_eur
    return out


def _round_half_up(x: float, decimals: int) -> float:
    scale = 10.0 ** decimals
    return math.floor(x * scale + 0.5) / scale


def simulate_published(overrides: Mapping[str, float], priors: PriorSet | None = None,
                       gebieden: Gebieden | None = None, figures: Sequence[Figure] = PUBLISHED) -> dict[str, float]:
    """Synthetic 'printed figures': report mode with ``overrides`` for some entries, rounded as printed."""
    values = figure_values(priors, gebieden, figures, overrides)
    return {f.name: _round_half_up(values[f.name], f.decimals) for f in figures}


@dataclass
class ModelInfo:
    """What :func:`build_model` built: names, marginals, copula and the figures observed."""

    names: tuple[str, ...]
    marginals: dict[str, Marginal]
    chol: np.ndarray
    figures: tuple[Figure, ...]
    printed: np.ndarray
    settings: tuple[str, ...]
    reparametrised: bool = False    # the sum and capaciteit coordinates (model.analysis.calibration.reparametrisation)
    #: Where the samplers start, by variable (before their jitter): the coordinates at the priors' point values (a
    #: start at 0, a flat variable's default, is far out in the tails). Passed to each sampler rather than set as the
    #: variable's ``initval``: a model with initial values cannot be frozen, and the JAX backends need it frozen.
    initial_point: dict[str, np.ndarray] = field(default_factory=dict)


def build_model(priors: PriorSet | None = None, gebieden: Gebieden | None = None,
                figures: Sequence[Figure] = PUBLISHED, *, printed: Mapping[str, float] | None = None,
                discrepancy_median: float = DISCREPANCY_MEDIAN, reparametrise: bool = False):
    """The calibration model. Returns ``(pm.Model, ModelInfo)``.

    Variables (dims in brackets): ``z_onafhankelijk`` [parameter] independent N(0, 1) (the sampled ones); ``z``
    [parameter] the copula-correlated normal scores; ``kental`` [parameter] the entries' values; ``figuur_model``
    [figuur] the model's value of each printed figure (in its printed unit, mostly mld. €); ``sigma_discrepantie``
    the relative model discrepancy; ``gepubliceerd`` [figuur] the observed printed figures (data
    ``gepubliceerd_waarde``); ``kolomtotaal`` [kolom] the Table 1.2 column totals (EUR, PM lines excluded) with the
    band entries drawn from their own priors, as the engine does. ``printed`` replaces printed values by figure
    name (e.g. simulated figures).

    ``reparametrise``: sample the pinned sums and the capaciteit shortfalls in their own coordinates where that is exact
    (:mod:`model.analysis.calibration.reparametrisation`): the variables ``z_vrij`` [vrij] (the other independent
    scores) and ``coordinaten`` [coordinaat] with a potential, ``z_onafhankelijk`` then a deterministic of them.
    The same prior and posterior; NUTS's geometry differs. Such a model has no generative prior (its
    ``coordinaten`` are flat before the potential): draw the prior from the model built without it.
    """
    import pymc as pm
    import pytensor.tensor as pt

    priors = priors if priors is not None else load_priors()
    gebieden = gebieden if gebieden is not None else load_gebieden()
    figures = tuple(figures)
    check_figures(figures)
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
    chol = build_copula(names, priors.correlations).cholesky()
    data = gebieden.quantities()
    check_inputs({**priors.values(), **data}, where=priors.directory)

    # One evaluation of the kernels on vectors over the settings: element k of a band entry holds its value at
    # settings[k]; the last element is the band entry's own random draw (the engine's setting), which gives the
    # column totals ``kolomtotaal``. Entries without a band are scalars and broadcast.
    settings = tuple(dict.fromkeys(f.setting for f in figures))
    band_at = [setting_values(priors, s) for s in settings]
    band_names = [n for n, e in priors.entries.items() if e.band is not None]
    coords = {"parameter": list(names), "figuur": [f.name for f in figures], "kolom": list(KOLOMMEN)}
    fixed: dict[str, Any] = {n: float(e.point) for n, e in priors.entries.items() if e.fixed}
    rep = reparametrisation.plan(names, marginals, chol, [f.quantity for f in figures]) if reparametrise else None
    initial_point: dict[str, np.ndarray] = {}
    ordered = [marginals[n] for n in names]

    def split(vector, which=names):
        # one (1,)-vector per entry; a Split (its gradient is one Join) rather than ~90 scalar index operations
        return {n: pt.specify_shape(part, (1,))
                for n, part in zip(which, pt.split(vector, [1] * len(which), n_splits=len(which)))}

    def correlate(z_indep, rows=slice(None)):
        # z = chol @ z_indep (its ``rows``), written elementwise (no BLAS needed; PyTensor's pip build has none)
        return pt.sum(pt.constant(chol[rows]) * z_indep[None, :], axis=1)

    with pm.Model(coords=coords) as model:
        if rep is None:
            z_indep = pm.Normal("z_onafhankelijk", 0.0, 1.0, dims="parameter")
        else:
            # the pinned sums and the capaciteit shortfalls in their own coordinates
            # (model.analysis.calibration.reparametrisation)
            free = [i for i in range(len(names)) if i not in rep.replaced]
            model.add_coord("vrij", [names[i] for i in free])
            model.add_coord("coordinaat", list(rep.coordinates))
            z_free = pm.Normal("z_vrij", 0.0, 1.0, dims="vrij")
            # the samplers start where the priors' point values are (ModelInfo.initial_point)
            start = reparametrisation.coordinates_of(rep, {**priors.values("point"), **data})
            initial_point["coordinaten"] = start if start is not None else np.zeros(len(rep.coordinates))
            coordinates = pm.Flat("coordinaten", dims="coordinaat")
            z0 = pt.set_subtensor(pt.zeros(len(names))[np.asarray(free, dtype="int64")], z_free)

            def values_of(z_indep, wanted):
                # only the rows of the copula and the marginals of the entries asked for
                rows = [i for i, n in enumerate(names) if n in wanted]
                picked = transforms.values(correlate(z_indep, rows), [ordered[i] for i in rows])
                return {**fixed, **data, **split(picked, [names[i] for i in rows])}

            z_full, log_density = reparametrisation.scores(rep, coordinates, z0, chol, values_of)
            pm.Potential("coordinaten_dichtheid", log_density)
            z_indep = pm.Deterministic("z_onafhankelijk", z_full, dims="parameter")
        z = pm.Deterministic("z", correlate(z_indep), dims="parameter")
        x_all = pm.Deterministic("kental", transforms.values(z, ordered), dims="parameter")
        x = split(x_all)

        values: dict[str, Any] = dict(fixed)
        values.update(x)
        for n in band_names:
            own = x[n] if n in x else pt.constant(np.array([priors[n].point], dtype=np.float64))
            values[n] = pt.concatenate([pt.constant(np.array([b[n] for b in band_at], dtype=np.float64)), own])
        values.update(data)
        lines = evaluate(values)
        index = {s: k for k, s in enumerate(settings)}

        def pick(q, k):
            q = pt.as_tensor_variable(q)
            if q.ndim == 0:
                return q
            return q[0] if q.type.shape[0] == 1 else q[k]

        mu = pt.stack([pick(quantity(f.quantity, lines, values), index[f.setting]) / f.eenheid_eur for f in figures])
        mu = pm.Deterministic("figuur_model", mu, dims="figuur")
        sigma_d = pm.LogNormal("sigma_discrepantie", mu=math.log(discrepancy_median), sigma=DISCREPANCY_LOG_SD)
        y_data = pm.Data("gepubliceerd_waarde", y, dims="figuur")
        sd = pt.sqrt(pt.constant(rounding_sd**2) + (sigma_d * pt.abs(y_data)) ** 2)
        pm.Normal("gepubliceerd", mu=mu, sigma=sd, observed=y_data, dims="figuur")
        totals = column_totals(lines)
        pm.Deterministic("kolomtotaal", pt.stack([pick(totals[k], -1) for k in KOLOMMEN]), dims="kolom")
    info = ModelInfo(names=names, marginals=marginals, chol=chol, figures=figures, printed=y, settings=settings,
                     reparametrised=rep is not None, initial_point=initial_point)
    return model, info
