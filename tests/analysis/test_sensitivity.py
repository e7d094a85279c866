"""Tests for model.sensitivity (tornado, spider, Sobol' indices and their plots)."""

import numpy as np
import pytest
from scipy.stats import norm

from model.analysis.sensitivity import (
    InputSpec,
    groups_from_labels,
    sobol,
    spider,
    tornado,
)


def _tol(conf: float) -> float:
    return max(conf, 0.02)


# ---------------------------------------------------------------------------------------------
# Ishigami
# ---------------------------------------------------------------------------------------------

A_ISH, B_ISH = 7.0, 0.1


def ishigami(theta):
    x1, x2, x3 = theta
    return np.sin(x1) + A_ISH * np.sin(x2) ** 2 + B_ISH * x3**4 * np.sin(x1)


def ishigami_spec():
    uni = lambda u: -np.pi + 2.0 * np.pi * u  # noqa: E731
    return InputSpec(["x1", "x2", "x3"], [uni] * 3, np.zeros(3))


def ishigami_analytic():
    a, b, pi = A_ISH, B_ISH, np.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_ishigami_matches_analytic():
    s1, st = ishigami_analytic()
    res = sobol(ishigami, ishigami_spec(), n_base=2**13, seed=7)
    assert [r["input"] for r in res.rows] == ["x1", "x2", "x3"]
    assert res.n_evaluations == 2**13 * (3 + 2)
    assert res.dependence_note is None and res.groups is None and res.correlated_groups is None
    for i, r in enumerate(res.rows):
        assert r["S1_conf"] > 0 and r["ST_conf"] > 0
        assert abs(r["S1"] - s1[i]) <= _tol(r["S1_conf"]), (r, s1[i])
        assert abs(r["ST"] - st[i]) <= _tol(r["ST_conf"]), (r, st[i])


def test_matches_salib_design_and_bootstrap():
    """Same design values as SALib.sample.sobol.sample and same S1/ST/conf as
    SALib.analyze.sobol.analyze (our bootstrap is vectorised, the estimators are SALib's)."""
    from SALib.analyze.sobol import analyze
    from SALib.sample.sobol import sample

    spec = ishigami_spec()
    n, seed = 2**7, 5
    for groups in (None, {"g13": ["x1", "x3"]}):
        problem = {"num_vars": 3, "names": spec.names, "bounds": [[-np.pi, np.pi]] * 3}
        if groups:
            problem["groups"] = ["g13", "x2", "g13"]
        X = sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
        seen = []

        def f(theta):
            seen.append(theta.copy())
            return ishigami(theta)

        res = sobol(f, spec, n_base=n, seed=seed, num_resamples=40, groups=groups)
        ours = np.concatenate(seen, axis=1)  # blocks A, B, AB_1.. (then the grouped AB_k)
        k = 3 if groups is None else 2
        # SALib interleaves per base row: A, AB_1..AB_k, B.
        blocks = ours[:, :n], ours[:, n : 2 * n]
        ab = ours[:, 2 * n : 2 * n + 3 * n] if groups is None else ours[:, 5 * n :]
        ab = ab.reshape(3, k, n)
        salib_order = np.concatenate([blocks[0][:, None], ab, blocks[1][:, None]], axis=1)
        np.testing.assert_allclose(salib_order.transpose(2, 1, 0).reshape(-1, 3), X, rtol=0, atol=1e-12)

        S = analyze(problem, ishigami(X.T), calc_second_order=False, num_resamples=40, seed=seed)
        rows = res.rows if groups is None else res.groups.rows
        for key in ("S1", "S1_conf", "ST", "ST_conf"):
            np.testing.assert_allclose([r[key] for r in rows], S[key], rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Linear model
# ---------------------------------------------------------------------------------------------


def test_linear_model_normal_inputs():
    w = np.array([1.0, -2.0, 0.5, 3.0, 0.0])
    mu = np.array([10.0, 1.0, -3.0, 0.0, 5.0])
    sd = np.array([1.0, 0.5, 2.0, 0.3, 1.0])
    spec = InputSpec(
        [f"x{i}" for i in range(5)],
        [norm(m, s).ppf for m, s in zip(mu, sd)],
        mu,
    )
    expected = w**2 * sd**2 / np.sum(w**2 * sd**2)
    res = sobol(lambda t: w @ t, spec, n_base=2**13, seed=2)
    for i, r in enumerate(res.rows):
        assert abs(r["S1"] - expected[i]) <= _tol(r["S1_conf"]), (r, expected[i])
        assert abs(r["ST"] - expected[i]) <= _tol(r["ST_conf"]), (r, expected[i])
    assert res.output_mean == pytest.approx(w @ mu, abs=0.05)
    assert res.output_std == pytest.approx(np.sqrt(np.sum(w**2 * sd**2)), rel=0.02)


# ---------------------------------------------------------------------------------------------
# Grouped indices and dependence
# ---------------------------------------------------------------------------------------------


def group_model(theta):
    x1, x2, x3, x4 = theta
    return (x1 + x2) * (1.0 + x3) + x4


def group_spec(corr=None):
    return InputSpec(["x1", "x2", "x3", "x4"], [norm.ppf] * 4, np.zeros(4),
                     kinds=["k", "k", "q", "q"], corr=corr)


def _check(rows, expected):
    for r in rows:
        s1, st = expected[r["group"]]
        assert abs(r["S1"] - s1) <= _tol(r["S1_conf"]), (r, s1)
        assert abs(r["ST"] - st) <= _tol(r["ST_conf"]), (r, st)


def test_grouped_sobol_two_groups():
    # y = S (1 + x3) + x4 with S = x1 + x2 ~ N(0, 2): V = 2 + 2 + 1 = 5,
    # E[y | S] = S -> 2/5; E[y | x3, x4] = x4 -> 1/5; interaction S*x3 -> 2/5.
    spec = group_spec()
    res = sobol(group_model, spec, n_base=2**13, seed=4, groups={"A": ["x1", "x2"], "B": ["x3", "x4"]})
    assert [r["group"] for r in res.groups.rows] == ["A", "B"]
    assert res.groups.rows[0]["members"] == ["x1", "x2"]
    assert not res.groups.joint_sampling
    _check(res.groups.rows, {"A": (0.4, 0.8), "B": (0.2, 0.6)})
    assert res.n_evaluations == 2**13 * (4 + 2 + 2)  # A and B evaluations are shared
    # Same via labels, and ungrouped inputs become singletons.
    assert groups_from_labels(spec, "kinds") == {"k": ["x1", "x2"], "q": ["x3", "x4"]}
    res2 = sobol(group_model, spec, n_base=2**12, seed=4, groups={"A": ["x1", "x2"]})
    assert [r["group"] for r in res2.groups.rows] == ["A", "x3", "x4"]
    _check(res2.groups.rows, {"A": (0.4, 0.8), "x3": (0.0, 0.4), "x4": (0.2, 0.2)})


def test_correlated_groups_with_copula():
    # corr(x1, x2) = 0.5 in the Gaussian copula with normal marginals: Var(S) = 3, V = 7.
    rho = 0.5
    corr = np.eye(4)
    corr[0, 1] = corr[1, 0] = rho
    spec = group_spec(corr)
    res = sobol(group_model, spec, n_base=2**13, seed=4, groups="kinds")
    assert res.dependence_note and "independen" in res.dependence_note
    # Classic indices: independent sampling (V = 5).
    classic = {r["input"]: r for r in res.rows}
    assert abs(classic["x1"]["S1"] - 0.2) <= _tol(classic["x1"]["S1_conf"])
    cg = res.correlated_groups
    assert cg.joint_sampling
    assert [r["members"] for r in cg.rows] == [["x1", "x2"], ["x3"], ["x4"]]
    name = cg.rows[0]["group"]
    _check(cg.rows, {name: (3 / 7, 6 / 7), "x3": (0.0, 3 / 7), "x4": (1 / 7, 1 / 7)})
    assert res.groups.joint_sampling  # the correlated pair lies inside group "k"
    _check(res.groups.rows, {"k": (3 / 7, 6 / 7), "q": (1 / 7, 4 / 7)})


def test_correlated_groups_declared_without_copula():
    spec = group_spec()
    res = sobol(group_model, spec, n_base=2**10, seed=1, correlated_groups=[["x1", "x2"]])
    assert res.dependence_note and "No copula" in res.dependence_note
    assert not res.correlated_groups.joint_sampling
    assert res.correlated_groups.rows[0]["members"] == ["x1", "x2"]


def test_correlated_groups_must_cover_corr():
    corr = np.eye(4)
    corr[0, 2] = corr[2, 0] = 0.3
    with pytest.raises(ValueError, match="correlated_groups"):
        sobol(group_model, group_spec(corr), n_base=2**6, correlated_groups=[["x1", "x2"]])


def test_bad_groups_rejected():
    spec = group_spec()
    with pytest.raises(ValueError, match="two groups"):
        sobol(group_model, spec, n_base=2**6, groups={"a": ["x1"], "b": ["x1", "x2"]})
    with pytest.raises(KeyError):
        sobol(group_model, spec, n_base=2**6, groups={"a": ["nope"]})


def test_model_called_in_large_chunks():
    calls = []

    def f(theta):
        assert theta.shape[0] == 4 and theta.flags.c_contiguous and theta.dtype == np.float64
        calls.append(theta.shape[1])
        return group_model(theta)

    n = 2**10
    sobol(f, group_spec(), n_base=n, seed=0)
    assert calls == [2 * n, 4 * n]  # A+B once, all cross blocks in one call
    calls.clear()
    sobol(f, group_spec(), n_base=n, seed=0, chunk_bytes=8 * 4 * n * 3)
    assert calls == [2 * n, 3 * n, n]
    ppf_calls = []

    def ppf(u):
        ppf_calls.append(u.size)
        return norm.ppf(u)

    spec = InputSpec(["x1", "x2", "x3", "x4"], [ppf] * 4, np.zeros(4))
    sobol(group_model, spec, n_base=n, seed=0)
    assert ppf_calls == [2 * n] * 4  # each ppf once, on its A and B column


# ---------------------------------------------------------------------------------------------
# Tornado and spider
# ---------------------------------------------------------------------------------------------


def product_spec():
    # x1 ~ U(2, 4), point 3; x2 ~ U(4, 6), point 5.
    return InputSpec(
        ["x1", "x2"],
        [lambda u: 2.0 + 2.0 * u, lambda u: 4.0 + 2.0 * u],
        np.array([3.0, 5.0]),
        kinds=["hoeveelheid", "kental"],
        deelopgave=["d1", "d1"],
    )


def product(theta):
    return theta[0] * theta[1]


def test_tornado_product_exact():
    res = tornado(product, product_spec(), low_q=0.1, high_q=0.9)
    assert res.base == 15.0
    assert (res.low_q, res.high_q) == (0.1, 0.9)
    r1, r2 = res.rows  # sorted by swing: x1 (swing 8.0) before x2 (4.8)
    assert r1["input"] == "x1" and r2["input"] == "x2"
    for got, want in (
        (r1["low"], (2.0 + 2.0 * 0.1) * 5.0),
        (r1["high"], (2.0 + 2.0 * 0.9) * 5.0),
        (r1["swing"], abs((2.0 + 2.0 * 0.9) * 5.0 - (2.0 + 2.0 * 0.1) * 5.0)),
        (r2["low"], 3.0 * (4.0 + 2.0 * 0.1)),
        (r2["high"], 3.0 * (4.0 + 2.0 * 0.9)),
        (r2["swing"], abs(3.0 * (4.0 + 2.0 * 0.9) - 3.0 * (4.0 + 2.0 * 0.1))),
    ):
        assert got == pytest.approx(want, rel=1e-12, abs=0)
    assert r1["swing"] == pytest.approx(8.0, rel=1e-12) and r2["swing"] == pytest.approx(4.8, rel=1e-12)
    assert r1["x_low"] == pytest.approx(2.2, rel=1e-12) and r1["kind"] == "hoeveelheid"
    assert r2["deelopgave"] == "d1"


def test_spider_product():
    q = np.array([0.25, 0.5, 0.75])
    res = spider(product, product_spec(), quantiles=q)
    assert list(res) == ["x1", "x2"]
    np.testing.assert_allclose(res["x1"], (2.0 + 2.0 * q) * 5.0, rtol=1e-12)
    np.testing.assert_allclose(res["x2"], 3.0 * (4.0 + 2.0 * q), rtol=1e-12)


def test_non_finite_output_rejected():
    with pytest.raises(ValueError, match="non-finite"):
        with np.errstate(invalid="ignore"):
            tornado(lambda t: np.log(t[0] - 2.5), product_spec())


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------


def _assert_written(paths, stem):
    assert sorted(p.suffix for p in paths) == [".png", ".svg"]
    for p in paths:
        assert p.exists() and p.stat().st_size > 0 and p.name.startswith(stem)
