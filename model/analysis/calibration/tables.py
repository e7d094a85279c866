"""Tables of a calibration: prior vs posterior per entry, the posterior predictive check per printed figure, and the
posterior predictive of figures the calibration did not observe (the leave-out check)."""

from __future__ import annotations

import math

import numpy as np

from model.analysis.calibration.model import ModelInfo, figure_draws
from model.engine.run import transform
from model.spec.priors import PriorSet


def _stacked(group, var: str, dim: str) -> np.ndarray:
    return group[var].stack(sample=("chain", "draw")).transpose("sample", dim).values


def prior_samples(info: ModelInfo, n: int = 100_000, seed: int = 20250101) -> np.ndarray:
    """(n, n_params) draws of each marginal (the engine's own transform; marginals only, no copula)."""
    z = np.random.default_rng(seed).standard_normal((len(info.names), n))
    return transform(z, [info.marginals[name] for name in info.names]).T


def prior_posterior_table(idata, info: ModelInfo, priors: PriorSet) -> list[dict]:
    """Per calibrated entry: prior mean/P5/P50/P95/sd, posterior mean/P5/P50/P95/sd, shrinkage, z shift."""
    prior = prior_samples(info)
    post = _stacked(idata.posterior, "kental", "parameter")
    zpost = _stacked(idata.posterior, "z", "parameter")
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
    pp = _stacked(idata.posterior_predictive, "gepubliceerd", "figuur")
    mu = _stacked(idata.posterior, "figuur_model", "figuur")
    prior_pp = None
    if hasattr(idata, "prior_predictive") and "gepubliceerd" in idata.prior_predictive:
        prior_pp = _stacked(idata.prior_predictive, "gepubliceerd", "figuur")
    for j, f in enumerate(info.figures):
        q = np.quantile(pp[:, j], [0.05, 0.95])
        row = {
            "figuur": f.name, "where": f.where, "quantity": f.quantity, "setting": f.setting,
            "eenheid": "mln EUR" if f.eenheid_eur == 1e6 else "mld EUR",
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


def holdout_table(idata, info: ModelInfo, priors: PriorSet, figures, gebieden=None, seed: int = 20250607) -> list[dict]:
    """Per figure *not* observed by the calibration (``figures``): its posterior predictive, the model's value at
    every posterior draw plus the calibration's own error model (rounding sd and the draw's relative discrepancy,
    ``model.analysis.calibration.model``), its P5/P95, the share of predictive draws at or below the printed figure
    (``percentile_printed``) with its Monte Carlo standard error (``percentile_mcse``: from ArviZ's effective sample
    size of the indicator over the chains) and whether the printed figure lies inside the 90% interval."""
    import arviz as az

    chains = idata.posterior.sizes["chain"]
    post = _stacked(idata.posterior, "kental", "parameter")
    sigma_d = idata.posterior["sigma_discrepantie"].stack(sample=("chain", "draw")).values
    mu = figure_draws(priors, info.names, post, figures, gebieden)
    rng = np.random.default_rng(seed)
    rows = []
    for j, f in enumerate(figures):
        sd = np.sqrt(f.rounding_sd ** 2 + (sigma_d * abs(f.printed)) ** 2)
        rep = mu[:, j] + sd * rng.standard_normal(mu.shape[0])
        q = np.quantile(rep, [0.05, 0.5, 0.95])
        below = (rep <= f.printed).astype(float)
        pct = float(below.mean())
        ess = float(az.ess(below.reshape(chains, -1)))  # stacked chain by chain
        ess = ess if np.isfinite(ess) and ess > 0 else float(below.size)
        rows.append({"figuur": f.name, "setting": f.setting, "printed": f.printed,
                     "posterior_predictive_p5": float(q[0]), "posterior_predictive_p50": float(q[1]),
                     "posterior_predictive_p95": float(q[2]), "percentile_printed": pct,
                     "percentile_mcse": float(np.sqrt(max(pct * (1 - pct), 1.0 / below.size) / ess)),
                     "inside_90": bool(q[0] <= f.printed <= q[2])})
    return rows
