"""The one statistics function (``model.analysis.summary``): what each statistic is, checked against numpy and
against the theory of order statistics at tolerances that hold for any seed."""

import numpy as np
import pytest
from scipy import stats

from model.analysis.summary import PROBS, QUANTILE_KEYS, STATISTICS, describe, summarise
from model.engine import run as engine
from model.engine.plan import make_plan

SEEDS = (0, 1, 2, 2**31 + 7)


@pytest.mark.parametrize("seed", SEEDS)
def test_describe_is_numpys_mean_sd_and_linear_quantiles(seed):
    x = np.random.default_rng(seed).lognormal(0.0, 0.7, size=5_001)
    row = describe(x)
    assert tuple(row) == STATISTICS
    assert row["mean"] == pytest.approx(x.mean(), rel=1e-14)
    assert row["sd"] == pytest.approx(x.std(ddof=1), rel=1e-14)
    assert row["cv"] == pytest.approx(x.std(ddof=1) / x.mean(), rel=1e-14)
    np.testing.assert_allclose([row[k] for k in QUANTILE_KEYS], np.quantile(x, PROBS), rtol=1e-14)
    assert row["mcse_mean"] == pytest.approx(x.std(ddof=1) / np.sqrt(x.size), rel=1e-14)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_hdi_is_the_shortest_90_percent_interval(seed):
    x = np.random.default_rng(seed).lognormal(0.0, 0.7, size=20_000)
    row = describe(x)
    lo, hi = row["hdi90_low"], row["hdi90_high"]
    inside = np.mean((x >= lo) & (x <= hi))
    assert inside == pytest.approx(0.90, abs=2 / x.size)       # interpolated order statistics: off by <= 2 draws
    assert hi - lo <= row["p95"] - row["p5"]                     # the equal-tailed interval is one candidate
    assert lo < row["p5"]                                        # right-skewed: the HDI leans to the mode


@pytest.mark.parametrize("seed", SEEDS)
def test_quantile_standard_errors_match_the_asymptotic_formula(seed):
    """sd of the sample p-quantile of N(0,1) is sqrt(p(1-p)/n)/phi(z_p). The estimate counts ~1,400 draws between
    two order statistics at n = 100,000: its relative error is ~3 %; 15 % is 5 sd."""
    n = 100_000
    row = describe(np.random.default_rng(seed).standard_normal(n))
    for key, p in zip(QUANTILE_KEYS, PROBS):
        theory = np.sqrt(p * (1 - p) / n) / stats.norm.pdf(stats.norm.ppf(p))
        assert row[f"mcse_{key}"] == pytest.approx(theory, rel=0.15), key


def test_a_constant_has_zero_spread_and_no_cv_for_zero():
    row = describe(np.full(100, 3.0))
    assert row["sd"] == 0.0 and row["hdi90_low"] == row["hdi90_high"] == 3.0
    assert np.isnan(describe(np.zeros(10))["cv"])


def test_every_row_of_a_kept_run_is_describe_of_its_draws():
    """One definition: the summary of a run (sorted once per source, multiples scaled) equals the statistics of each
    output's own draws."""
    result = engine.run(plan=make_plan(chunk_size=2048), draws=6_000, seed=4)
    rows = summarise(result)
    assert [r["output"] for r in rows] == [o.naam for o in result.plan.outputs]
    for o, r in enumerate(rows):
        want = describe(result.draws_of(o))
        for k in STATISTICS:
            assert r[k] == pytest.approx(want[k], rel=1e-9, abs=1e-6, nan_ok=True), (r["output"], k)
        assert r["variant"] == "laag"
        if r["rapport"] is not None:      # the model's percentile of the report's figure: the share of draws at or
            share = np.mean(result.draws_of(o) <= r["rapport"])   # below it (the interpolated CDF, to 1 in 6,000)
            assert r["p_rapport"] == pytest.approx(share, abs=2 / 6_000), r["output"]
        else:
            assert r["p_rapport"] is None
    assert sum(r["rapport"] is not None for r in rows) >= 10
    # the laag variant's figure of a bandwidth is its low end
    by = {r["output"]: r for r in rows}
    assert by["totaal_investeringsopgave"]["rapport"] == 6.3e9 and by["capaciteit"]["rapport"] == 1.4e9


def test_monte_carlo_errors_of_a_resampled_posterior_use_its_effective_sample_size():
    """200,000 draws resampled from a posterior sample worth 4,000 independent draws: n_eff just under 4,000, so
    the MC errors are sqrt(200,000 / n_eff) ~ 7.1 times those of independent draws, and every MCSE scales so."""
    from model.analysis.summary import resampled_n_eff

    n_eff = resampled_n_eff(200_000, 4_000)
    assert n_eff == pytest.approx(3921.57, abs=0.01)
    v = np.random.default_rng(3).lognormal(size=200_000)
    a, b = describe(v), describe(v, n_eff)
    assert b["mean"] == a["mean"] and b["p50"] == a["p50"]
    for k in a:
        if k.startswith("mcse_"):
            assert b[k] > 6.5 * a[k], k
    assert b["mcse_mean"] / a["mcse_mean"] == pytest.approx(np.sqrt(200_000 / n_eff))
