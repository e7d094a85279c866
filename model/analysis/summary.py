"""The statistics of a Monte Carlo run: mean, sd, quantiles, 90% HDI, coefficient of variation, MC standard errors.

:func:`statistics` is the one statistics function of the project: every summary row (a run's outputs, a year's
amount, a present value, a batch's pooled draws) comes from it, through a quantile function of either the draws
themselves (:func:`draws_quantiles`) or a run's fine histogram (2^11 bins over a pilot range,
:func:`histogram_quantiles`), so kept and streamed runs give the same table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:  # the engine compiles with numba: not imported by the tables that only need the statistics' names
    from model.engine.run import RunResult

PROBS = (0.05, 0.10, 0.15, 0.50, 0.85, 0.90, 0.95)
HDI_MASS = 0.90
Z95 = 1.959963984540054
QUANTILE_KEYS = tuple(f"p{int(round(p * 100))}" for p in PROBS)
#: The statistics of every summary row, in order (``summary.csv``'s columns after the output's description).
STATISTICS = ("mean", "sd", "cv", *QUANTILE_KEYS, "hdi90_low", "hdi90_high", "mcse_mean",
              *(f"mcse_{k}" for k in QUANTILE_KEYS))

Quantiles = Callable[[np.ndarray | float], np.ndarray]


def sorted_quantiles(ys: np.ndarray) -> Quantiles:
    """numpy's default ('linear') quantile function of the sorted values ``ys``."""
    last = ys.size - 1

    def q(u):
        h = np.clip(np.asarray(u, dtype=float), 0.0, 1.0) * last
        i = np.minimum(np.floor(h).astype(np.int64), max(last - 1, 0))
        return ys[i] + (h - i) * (ys[np.minimum(i + 1, last)] - ys[i])
    return q


def draws_quantiles(values: np.ndarray) -> Quantiles:
    """numpy's default ('linear') quantile function of ``values``."""
    return sorted_quantiles(np.sort(np.asarray(values, dtype=float)))


def histogram_quantiles(result: "RunResult", o: int) -> Quantiles:
    """The quantile function of output ``o`` of a streamed run, from its histogram (linear within a bin, the
    extremes outside the bins as the outer edges)."""
    from model.engine.run import N_BINS

    n = result.draws
    lo, width = result.ranges
    counts = result.stats.counts[o].astype(float)
    under, over = float(result.stats.under[o]), float(result.stats.over[o])
    edges = lo[o] + width[o] * np.arange(N_BINS + 1)
    first = result.stats.below[o] if under > 0 else edges[0]
    last = result.stats.above[o] if over > 0 else edges[-1]
    edges = np.concatenate([[first], edges, [last]])
    cdf = np.concatenate([[0.0], np.cumsum(np.concatenate([[under], counts, [over]])) / n])
    keep = np.concatenate([[True], np.diff(cdf) > 0])  # drop empty steps so interpolation is well defined

    def q(u):
        return np.interp(np.clip(u, 0.0, 1.0), cdf[keep], edges[keep])
    return q


def quantile_function(result: "RunResult", o: int) -> Quantiles:
    """Output ``o``'s quantile function: from its draws when the run kept them, else from its histogram."""
    return draws_quantiles(result.draws_of(o)) if result.has_draws else histogram_quantiles(result, o)


def _hdi(q: Quantiles, mass: float = HDI_MASS, grid: int = 2001) -> tuple[float, float]:
    u = np.linspace(0.0, 1.0 - mass, grid)
    lo, hi = q(u), q(u + mass)
    i = int(np.argmin(hi - lo))
    return float(lo[i]), float(hi[i])


def mcse_quantile(q: Quantiles, p: float, n_eff: float) -> float:
    """MC standard error of the p-quantile from the binomial spread of the order statistic."""
    d = Z95 * np.sqrt(p * (1.0 - p) / n_eff)
    return float((q(min(p + d, 1.0)) - q(max(p - d, 0.0))) / (2.0 * Z95))


def statistics(q: Quantiles, n: int, mean: float, sd: float, n_eff: float | None = None) -> dict[str, float]:
    """The summary statistics (:data:`STATISTICS`) of a quantity with quantile function ``q``, ``n`` draws, ``mean``
    and ``sd``. Monte Carlo standard errors use ``n_eff`` draws (default ``n``: independent draws)."""
    n_eff = float(n if n_eff is None else n_eff)
    row = {"mean": float(mean), "sd": float(sd), "cv": float(sd / mean) if mean else float("nan")}
    row.update({k: float(q(p)) for k, p in zip(QUANTILE_KEYS, PROBS)})
    row["hdi90_low"], row["hdi90_high"] = _hdi(q)
    row["mcse_mean"] = float(sd / np.sqrt(n_eff))
    row.update({f"mcse_{k}": mcse_quantile(q, p, n_eff) for k, p in zip(QUANTILE_KEYS, PROBS)})
    return row


def describe(values: np.ndarray, n_eff: float | None = None) -> dict[str, float]:
    """:func:`statistics` of a set of draws (Monte Carlo errors from ``n_eff``, default: the number of draws)."""
    v = np.asarray(values, dtype=float)
    return statistics(draws_quantiles(v), v.size, float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0,
                      n_eff)


def resampled_n_eff(draws: int, posterior_ess: float) -> float:
    """The effective number of draws of a run that resamples the rows of a posterior sample whose effective sample
    size is ``posterior_ess``: 1 / (1/draws + 1/posterior_ess).

    A run's estimate differs from the posterior's own value by the resampling error (variance ~ 1/draws) plus the
    error of the posterior sample itself (~ 1/ESS, the MCMC sample stands for the posterior with that precision).
    The bound is exact for an output that depends on the posterior entries only and conservative for one that also
    depends on independently drawn entries. (200,000 draws from 4,000 rows: n_eff < 4,000, so MC errors about
    7 times those of independent draws.)"""
    return 1.0 / (1.0 / float(draws) + 1.0 / float(posterior_ess))


#: The report's printed figure for a row in its variant (``model.spec.published.variant_figure``: a bandwidth's low
#: end in ``laag``, its high end in ``hoog``, a point figure in every variant) and ``p_rapport``, the share of
#: draws at or below it (the model's percentile of the figure, 0-1; P(cost > figure) is 1 minus it). Empty (None)
#: for rows the report prints no figure for in that variant.
REPORT_FIELDS = ("rapport", "p_rapport")
_CDF_GRID = np.linspace(0.0, 1.0, 100_001)


def no_figures() -> dict[str, None]:
    """:data:`REPORT_FIELDS` of a row the report prints no figure for."""
    return dict.fromkeys(REPORT_FIELDS)


def cdf_at(q: Quantiles, x: float) -> float:
    """The share of the distribution with quantile function ``q`` at or below ``x`` (to 1e-5)."""
    values = q(_CDF_GRID)
    return float(np.interp(x, values, _CDF_GRID, left=0.0, right=1.0))


def report_figures(q: Quantiles, fig: float | None) -> dict:
    """:data:`REPORT_FIELDS` for a row with quantile function ``q`` and the report's figure (or None)."""
    if fig is None:
        return no_figures()
    return {"rapport": fig, "p_rapport": cdf_at(q, fig)}


def differs(row: dict, other: dict) -> bool:
    """Whether another variant's summary row of an output differs from this one's: the policy choice moves the
    output. Under common random numbers an output no choice enters has identical draws, so identical rows."""
    return any(row[k] != other[k] for k in ("mean", "p5", "p50", "p95"))


def summarise(result: "RunResult", n_eff: float | None = None, variant: str | None = None) -> list[dict]:
    """One row per output of the run: its ``variant`` (default: the variants file's ``standaard``), what it is,
    its statistics, and the report's printed figure for it in that variant.

    A kept run's quantiles come from its sorted draws: each computed output is sorted once (on two threads, one
    output at a time each, so memory holds two sorted copies at most), and the outputs that are its multiples
    (factor > 0) use the same sorted draws, scaled. Monte Carlo errors use ``n_eff`` draws (default: the run's
    draws, independent; a run on a posterior: :func:`resampled_n_eff`)."""
    from concurrent.futures import ThreadPoolExecutor

    from model.spec.published import variant_figure
    from model.spec.varianten import load_varianten

    st = result.stats
    n = st.n
    plan = result.plan
    variant = variant if variant is not None else load_varianten().standaard

    def row(o: int, q: Quantiles) -> dict:
        out = plan.outputs[o]
        sd = float(np.sqrt(st.m2[o] / max(n - 1, 1)))
        r = {"variant": variant, "output": out.naam, "soort": out.soort, "long_name": out.long_name, "pm": out.pm,
             **statistics(q, n, float(st.mean[o]), sd, n_eff)}
        r.update(report_figures(q, variant_figure(out.naam, variant)))
        return r

    if not result.has_draws:
        return [row(o, histogram_quantiles(result, o)) for o in range(len(plan.outputs))]
    members: dict[int, list[int]] = {}
    for o in range(len(plan.outputs)):
        members.setdefault(int(plan.source[o]), []).append(o)

    def rows_of(source: int) -> list[tuple[int, dict]]:
        ys = np.sort(result.kept[source])
        return [(o, row(o, sorted_quantiles(ys if plan.factor[o] == 1.0 else plan.factor[o] * ys)))
                for o in members[source]]

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(pair for part in pool.map(rows_of, members) for pair in part)
    return [done[o] for o in range(len(plan.outputs))]
