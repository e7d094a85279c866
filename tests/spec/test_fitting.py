"""Fitting stated priors (``model.spec.fitting``, with the rules of ``model.spec.distributions``), and the engine's
transform of normal scores to values checked against the fitted scipy distributions (``model.engine.run.transform``,
the production form of ``model.engine.blocks.marginals_block``)."""

import math

import numpy as np
import pytest
from scipy import stats

from model.engine.run import transform
from model.errors import PriorError
from model.spec.families import FAMILY_CODES, TABLE_LEN
from model.spec.fitting import FitReport, Marginal, fit_marginal

WHERE = "priors/test.yaml: some_entry"


def _sig3(x: float) -> float:
    """Round to 3 significant digits, as an economist would state a number."""
    return float(f"{x:.3g}")


def _stated(dist, ps) -> dict:
    return {f"p{p}": _sig3(dist.ppf(p / 100)) for p in ps}


# (id, spec, bounds). Quantile specs are read off a reference distribution and rounded.
CASES = [
    ("normal", {"family": "normal", "p10": -1.2, "p50": 0.5, "p90": 2.2}, (None, None)),
    ("lognormal", {"family": "lognormal", **_stated(stats.lognorm(0.25, scale=150), (5, 50, 95))}, (0, None)),
    (
        "truncnormal",
        {"family": "truncnormal", **_stated(stats.truncnorm(-0.5, np.inf, loc=1, scale=2), (5, 50, 95))},
        (0, None),
    ),
    ("uniform-3pt", {"family": "uniform", "min": 1, "max": 3, "coverage": 0.9}, (None, None)),
    ("uniform-q", {"family": "uniform", "p25": 1.5, "p75": 2.5}, (None, None)),
    ("triangular-3pt", {"family": "triangular", "min": 1, "mode": 2, "max": 5, "coverage": 0.8}, (-1, None)),
    ("pert-3pt", {"family": "pert", "min": 1, "mode": 2, "max": 5, "coverage": 0.9}, (0, None)),
    ("pert-3pt-full", {"family": "pert", "min": 0, "mode": 0.2, "max": 1, "coverage": 1}, (0, 1)),
    (
        "pert-q",
        {"family": "pert", **_stated(stats.beta(2, 4, loc=1, scale=5), (10, 50, 90))},
        (None, None),
    ),
    ("beta", {"family": "beta", **_stated(stats.beta(2, 5), (5, 50, 95))}, (0, 1)),
    ("beta-bounds", {"family": "beta", **_stated(stats.beta(3, 2, loc=10, scale=20), (10, 90))}, (10, 30)),
    ("metalog", {"family": "metalog", "p10": 10, "p50": 40, "p90": 100}, (None, None)),
    ("metalog-semi", {"family": "metalog", "p10": 10, "p50": 40, "p90": 200}, (0, None)),
    ("metalog-upper", {"family": "metalog", "p10": 60, "p50": 90, "p90": 98}, (None, 100)),
    ("metalog-bounded", {"family": "metalog", "p5": 0.02, "p50": 0.1, "p95": 0.5}, (0, 1)),
    ("fixed", {"family": "fixed", "value": 3.5}, (None, None)),
    ("normal-p2.5", {"family": "normal", "p2.5": -1.0, "p50": 0.5, "p97.5": 2.0}, (None, None)),
]
IDS = [c[0] for c in CASES]


@pytest.fixture(scope="module")
def fitted():
    return {name: fit_marginal(spec, bounds, where=WHERE) for name, spec, bounds in CASES}


@pytest.mark.parametrize("name", IDS)
def test_fit_reproduces_stated_quantiles(fitted, name):
    m, report = fitted[name]
    assert isinstance(m, Marginal) and isinstance(report, FitReport)
    assert report.max_rel_error <= 0.02
    assert report.mean == pytest.approx(m.mean())
    assert report.stated.keys() == report.achieved.keys()
    for key, stated in report.stated.items():
        if key.startswith("p"):
            achieved = m.quantile(float(key[1:]) / 100)
            assert achieved == pytest.approx(report.achieved[key])
            assert abs(achieved - stated) <= 0.02 * max(abs(stated), 1e-9)


@pytest.mark.parametrize("name", IDS)
def test_sampling_matches_scipy_reference(fitted, name):
    m, _ = fitted[name]
    rng = np.random.default_rng(20240601)
    x = transform(rng.standard_normal((1, 20_000)), [m])[0]
    assert x.shape == (20_000,) and x.dtype == np.float64
    assert np.all(np.isfinite(x))
    assert np.all((x >= m.lower) & (x <= m.upper))
    if m.family == "fixed":
        assert np.all(x == m.params[0])
        return
    assert stats.kstest(x, m.scipy().cdf).pvalue > 0.001


@pytest.mark.parametrize("name", IDS)
def test_transform_accuracy_and_engine_arrays(fitted, name):
    m, _ = fitted[name]
    assert m.code == FAMILY_CODES[m.family]
    assert m.vector.dtype == np.float64 and m.vector.shape == (8,)
    assert m.table.dtype == np.float64 and m.table.ndim == 1
    if m.family in ("truncnormal", "pert", "beta"):
        assert m.table.shape == (TABLE_LEN,)
        assert np.all(np.diff(m.table) >= 0)
    z = np.linspace(-6.5, 6.5, 20_001)
    reference = m.ppf(stats.norm.cdf(z))
    middle = np.abs(z) < 5  # in the far tails ppf(Phi(z)) itself loses precision
    scale = max(m.quantile(0.75) - m.quantile(0.25), 1e-12)
    err = np.abs(transform(z[None, :], [m])[0] - reference) / np.maximum(np.abs(reference), scale)
    assert err[middle].max() < 1e-4


def test_transform_of_several_marginals_keeps_rows(fitted):
    """Each row of the scores goes through its own marginal, as in the engine's marginals step."""
    ms = [fitted[n][0] for n in ("pert-3pt", "lognormal", "fixed")]
    z = np.random.default_rng(3).standard_normal((3, 1000))
    together = transform(z, ms)
    assert together.shape == (3, 1000)
    for i, m in enumerate(ms):
        np.testing.assert_array_equal(together[i], transform(z[i:i + 1], [m])[0])


@pytest.mark.parametrize("family", ["pert", "triangular"])
def test_coverage_puts_min_max_at_p5_p95(family):
    m, report = fit_marginal({"family": family, "min": 1, "mode": 2, "max": 5, "coverage": 0.9}, where=WHERE)
    assert m.ppf(0.05) == pytest.approx(1, rel=1e-6)
    assert m.ppf(0.95) == pytest.approx(5, rel=1e-6)
    a, c, b = m.params
    assert c == 2 and a < 1 and b > 5
    assert set(report.stated) == {"p5", "p95"}


def test_coverage_uniform_and_full_coverage():
    m, _ = fit_marginal({"family": "uniform", "min": 2, "max": 4, "coverage": 0.8}, where=WHERE)
    assert m.params == pytest.approx((1.75, 4.25))
    m, _ = fit_marginal({"family": "pert", "min": 1, "mode": 2, "max": 5, "coverage": 1.0}, where=WHERE)
    assert m.params == (1, 2, 5) and (m.lower, m.upper) == (1, 5)
    assert m.mean() == pytest.approx((1 + 4 * 2 + 5) / 6)


def test_truncnormal_respects_bounds_and_metalog_mean():
    m, _ = fit_marginal({"family": "truncnormal", "p5": 0.2, "p50": 1.8, "p95": 4.6}, (0, None), where=WHERE)
    assert (m.lower, m.upper) == (0, math.inf) and m.ppf(0.0) == 0
    m = Marginal("metalog", (1.0, 2.0, 0.5, -math.inf, math.inf), -math.inf, math.inf)
    assert m.mean() == pytest.approx(1.25)  # a1 + a3/2 for the unbounded 3-term metalog


REFUSALS = [
    ("p5 > p50", {"family": "normal", "p5": 10, "p50": 5, "p95": 20}, (None, None), "increase"),
    ("unknown family", {"family": "gamma", "p5": 1, "p95": 2}, (None, None), "unknown family"),
    ("min > mode", {"family": "pert", "min": 3, "mode": 2, "max": 5, "coverage": 1}, (None, None), "mode"),
    ("lognormal p5 <= 0", {"family": "lognormal", "p5": 0, "p50": 5, "p95": 20}, (None, None), "positive"),
    ("lognormal left-skewed", {"family": "lognormal", "p5": 10, "p50": 90, "p95": 100}, (None, None), "stated 90"),
    ("quantile outside bounds", {"family": "normal", "p5": -1, "p50": 5, "p95": 9}, (0, None), "hard bounds"),
    ("coverage 0", {"family": "pert", "min": 1, "mode": 2, "max": 5, "coverage": 0}, (None, None), "coverage"),
    ("coverage > 1", {"family": "uniform", "min": 1, "max": 5, "coverage": 1.2}, (None, None), "coverage"),
    ("missing mode", {"family": "triangular", "min": 1, "max": 5, "coverage": 1}, (None, None), "missing"),
    ("missing family", {"p5": 1, "p95": 2}, (None, None), "unknown family"),
    ("missing coverage", {"family": "pert", "min": 1, "mode": 2, "max": 5}, (None, None), "coverage"),
    ("beta outside [0, 1]", {"family": "beta", "p5": 0.5, "p95": 1.5}, (None, None), "strictly inside"),
    ("beta outside bounds", {"family": "beta", "p5": 5, "p95": 25}, (10, 30), "hard bounds"),
    ("one quantile", {"family": "normal", "p50": 1}, (None, None), "at least 2"),
    ("p0", {"family": "normal", "p0": 1, "p50": 2}, (None, None), "strictly between"),
    ("unknown key", {"family": "normal", "p05": 1, "p95": 2, "median": 1.5}, (None, None), "unknown key"),
    ("mixed forms", {"family": "pert", "p5": 1, "mode": 2, "p95": 3}, (None, None), "not both"),
    ("non-number", {"family": "normal", "p5": "1", "p95": 2}, (None, None), "finite number"),
    ("metalog non-monotone", {"family": "metalog", "p10": 10, "p50": 90, "p90": 100}, (None, None), "non-monotone"),
    ("ends beyond bounds", {"family": "pert", "min": 0.01, "mode": 0.1, "max": 0.5, "coverage": 0.8}, (0, 1), "support"),
    ("fixed outside bounds", {"family": "fixed", "value": -1}, (0, None), "hard bounds"),
    ("empty bounds", {"family": "normal", "p5": 1, "p95": 2}, (3, 3), "not below"),
]


@pytest.mark.parametrize("spec,bounds,fragment", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_entry(spec, bounds, fragment):
    with pytest.raises(PriorError) as info:
        fit_marginal(spec, bounds, where=WHERE)
    message = str(info.value)
    assert message.startswith(WHERE)
    assert fragment in message


def test_refused_fit_reports_stated_and_achieved():
    with pytest.raises(PriorError, match=r"p5: stated 10 achieved [\d.]+, p50: stated 90 achieved"):
        fit_marginal({"family": "lognormal", "p5": 10, "p50": 90, "p95": 100}, where=WHERE)


def test_tolerance_is_configurable():
    spec = {"family": "lognormal", "p5": 100, "p50": 150, "p95": 260}  # 5% off a lognormal
    with pytest.raises(PriorError):
        fit_marginal(spec, where=WHERE)
    m, report = fit_marginal(spec, where=WHERE, tol=0.06)
    assert 0.02 < report.max_rel_error <= 0.06
