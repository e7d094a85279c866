"""The declared correlations (``model.spec.dependence``: reading, checking, the copula's matrices) and the copula as
the engine applies it (``model.engine.run.transform``, the production form of ``model.engine.blocks
.correlate_block``)."""

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.special import ndtr

from model.engine.run import transform
from model.errors import PriorError
from model.spec.dependence import (
    CorrelationRepairWarning,
    build_copula,
    normal_to_spearman,
    parse_declarations,
    rank_correlation_report,
    spearman_to_normal,
)
from model.spec.fitting import Marginal

STANDARD = Marginal("normal", (0.0, 1.0), -np.inf, np.inf)


def correlate(z: np.ndarray, plan) -> None:
    """The engine's copula on standard normal scores, in place (standard normal marginals keep the scores)."""
    z[...] = transform(z, [STANDARD] * z.shape[0], plan)

ROOT = Path(__file__).resolve().parents[2]
WHERE = "priors/correlaties.yaml"

NAMES = ("a", "b", "c", "d", "e", "f", "g")
DECLARED = {
    "groepen": {
        "abc": {"description": "common driver", "rho": 0.7, "leden": ["a", "b", "c"]},
    },
    "paren": [
        ["c", "a", 0.5],  # overrides the group value for (a, c)
        ["e", "f", -0.4],
    ],
}


def _plan():
    return build_copula(NAMES, DECLARED, where=WHERE)


# ---------------------------------------------------------------------------- structure


def test_requested_matrix_and_blocks():
    plan = _plan()
    expected = np.eye(7)
    for i, j, r in [(0, 1, 0.7), (1, 2, 0.7), (0, 2, 0.5), (4, 5, -0.4)]:
        expected[i, j] = expected[j, i] = r
    np.testing.assert_array_equal(plan.requested, expected)
    assert plan.names == NAMES
    assert [b.tolist() for b in plan.blocks] == [[0, 1, 2], [4, 5]]
    assert all(b.dtype == np.int64 for b in plan.blocks)
    assert not plan.repaired
    np.testing.assert_allclose(plan.normal_corr, spearman_to_normal(expected) * (1 - np.eye(7)) + np.eye(7))
    for blk, L in zip(plan.blocks, plan.chol):
        np.testing.assert_allclose(L @ L.T, plan.normal_corr[np.ix_(blk, blk)], atol=1e-14)
        assert np.all(np.triu(L, 1) == 0)
    np.testing.assert_allclose(plan.target, plan.requested, atol=1e-14)


def test_no_declarations_is_identity():
    for declared in (None, {"groepen": None, "paren": None}):
        plan = build_copula(NAMES, declared)
        np.testing.assert_array_equal(plan.requested, np.eye(7))
        assert plan.blocks == () and plan.chol == ()
    z = np.random.default_rng(0).standard_normal((7, 100))
    z0 = z.copy()
    correlate(z, plan)
    np.testing.assert_array_equal(z, z0)


def test_conversion_roundtrip():
    rho = np.linspace(-0.99, 0.99, 41)
    np.testing.assert_allclose(normal_to_spearman(spearman_to_normal(rho)), rho, atol=1e-12)


def test_a_group_inside_a_larger_one_refines_it_in_either_order():
    """A common factor of several deelopgaven (a low rho over all) with one source's entries inside it (a higher
    rho): the inner group's value wins for its pairs, whichever comes first; overlapping groups with two values for
    one pair, neither inside the other, are refused."""
    outer = {"description": "factor", "rho": 0.3, "leden": ["a", "b", "c", "d"]}
    inner = {"description": "source", "rho": 0.6, "leden": ["a", "b"]}
    for groups in ({"outer": outer, "inner": inner}, {"inner": inner, "outer": outer}):
        plan = build_copula(NAMES, {"groepen": groups})
        assert plan.requested[0, 1] == 0.6 and plan.requested[0, 2] == 0.3 and plan.requested[2, 3] == 0.3
    crossing = {"x": {"rho": 0.3, "leden": ["a", "b", "c"]}, "y": {"rho": 0.5, "leden": ["b", "c", "d"]}}
    with pytest.raises(PriorError, match=r"pair \(b, c\) gets rho = 0.5 here but 0.3 in groepen.x, and neither"):
        build_copula(NAMES, {"groepen": crossing})


def test_zero_pair_does_not_create_block():
    plan = build_copula(NAMES, {"paren": [["a", "b", 0.0], ["c", "d", 0.3]]})
    assert [b.tolist() for b in plan.blocks] == [[2, 3]]


# ---------------------------------------------------------------------------- sampling


def test_achieved_rank_correlations_match_requested():
    plan = _plan()
    n = 200_000
    z = np.random.default_rng(20240601).standard_normal((len(NAMES), n))
    untouched = z[[3, 6]].copy()
    correlate(z, plan)
    np.testing.assert_array_equal(z[[3, 6]], untouched)  # parameters outside blocks unchanged

    # Monotone marginal transforms: lognormal, uniform via Phi, and a decreasing one.
    x = z.copy()
    x[0] = np.exp(0.3 + 0.8 * z[0])
    x[1] = ndtr(z[1])
    x[2] = 5.0 + 2.0 * ndtr(z[2]) ** 3
    x[4] = np.exp(z[4])
    x[5] = 10.0 * ndtr(z[5])

    report = rank_correlation_report(x, plan)
    assert {(r["a"], r["b"]) for r in report} == {("a", "b"), ("a", "c"), ("b", "c"), ("e", "f")}
    for r in report:
        assert r["target"] == pytest.approx(r["requested"])
        assert 0 < r["mc_se"] < 0.005
        assert abs(r["achieved"] - r["requested"]) < 4 * r["mc_se"], r

    # A decreasing transform flips the sign of the rank correlation.
    x[0] = -x[0]
    rep = {(r["a"], r["b"]): r for r in rank_correlation_report(x, plan)}
    assert rep[("a", "b")]["achieved"] == pytest.approx(-0.7, abs=4 * rep[("a", "b")]["mc_se"])


def test_the_achieved_correlation_is_scipys_spearman_with_ties_averaged():
    from scipy import stats

    plan = _plan()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((len(NAMES), 5_000))
    x[0] = np.round(x[0], 1)                    # many ties
    x[1] = np.where(x[1] > 0.5, 0.5, x[1])      # a point mass at the top
    for r in rank_correlation_report(x, plan):
        i, j = NAMES.index(r["a"]), NAMES.index(r["b"])
        assert r["achieved"] == pytest.approx(stats.spearmanr(x[i], x[j]).statistic, abs=1e-12), r


# ---------------------------------------------------------------------------- repair


def test_infeasible_declaration_is_repaired():
    names = ("p", "q", "r", "s")
    declared = {"groepen": {"tegen": {"rho": -0.9, "leden": ["p", "q", "r"]}}}
    with pytest.warns(CorrelationRepairWarning) as rec:
        plan = build_copula(names, declared, where=WHERE)
    msg = str(rec[0].message)
    assert WHERE in msg and "Largest change" in msg
    assert plan.repaired

    c = plan.normal_corr
    np.testing.assert_array_equal(c, c.T)
    np.testing.assert_allclose(np.diag(c), 1.0)
    assert np.linalg.eigvalsh(c).min() >= -1e-10
    # The nearest correlation matrix to the equicorrelated one is equicorrelated at -1/2.
    sub = c[:3, :3]
    np.testing.assert_allclose(sub[~np.eye(3, dtype=bool)], -0.5, atol=1e-6)
    assert c[3, 3] == 1.0 and np.all(c[3, :3] == 0.0)
    # Close to the requested: Frobenius distance equals the known optimum.
    conv = spearman_to_normal(plan.requested)
    np.fill_diagonal(conv, 1.0)
    opt = np.sqrt(6) * (abs(spearman_to_normal(-0.9)) - 0.5)
    assert np.linalg.norm(c - conv) == pytest.approx(opt, rel=1e-5)
    (L,) = plan.chol
    np.testing.assert_allclose(L @ L.T, sub, atol=1e-12)


def test_repair_of_inconsistent_pairs_close_to_higham():
    # a~b, b~c strongly positive, a~c strongly negative: infeasible.
    names = ("a", "b", "c")
    declared = {"paren": [["a", "b", 0.9], ["b", "c", 0.9], ["a", "c", -0.9]]}
    with pytest.warns(CorrelationRepairWarning):
        plan = build_copula(names, declared)
    c = plan.normal_corr
    assert np.linalg.eigvalsh(c).min() >= -1e-10
    np.testing.assert_allclose(np.diag(c), 1.0)
    # The repair keeps the sign pattern and is a modest change.
    assert c[0, 1] > 0.3 and c[1, 2] > 0.3 and c[0, 2] < -0.3
    # Sampling reproduces the repaired target.
    z = np.random.default_rng(1).standard_normal((3, 50_000))
    correlate(z, plan)
    for r in rank_correlation_report(z, plan):
        assert abs(r["achieved"] - r["target"]) < 4 * r["mc_se"]


def test_feasible_declaration_emits_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = _plan()
    assert not plan.repaired


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "declared, fragments",
    [
        ({"paren": [["a", "onbekend", 0.3]]}, ["paren[0]", "onbekend"]),
        ({"groepen": {"g1": {"rho": 0.3, "leden": ["a", "zzz"]}}}, ["groepen.g1", "zzz"]),
        ({"paren": [["a", "b", 1.5]]}, ["paren[0]", "1.5"]),
        ({"groepen": {"g1": {"rho": -1.0, "leden": ["a", "b"]}}}, ["groepen.g1", "-1.0"]),
        ({"paren": [["a", "b", 0.3], ["b", "a", 0.4]]}, ["paren[1]", "0.4", "already declared"]),
        ({"paren": [["a", "a", 0.3]]}, ["paren[0]", "itself"]),
        ({"groepen": {"g1": {"rho": 0.3, "leden": ["a", "b", "a"]}}}, ["groepen.g1", "itself"]),
        (
            {"groepen": {"g1": {"rho": 0.3, "leden": ["a", "b"]}, "g2": {"rho": 0.5, "leden": ["b", "a"]}}},
            ["groepen.g2", "groepen.g1"],
        ),
        ({"paren": [["a", "b"]]}, ["paren[0]"]),
        ({"groepen": {"g1": {"rho": 0.3, "members": ["a", "b"]}}}, ["groepen.g1", "members"]),
        ({"pairs": []}, ["pairs"]),
        ({"parren": [["a", "b", 0.3]]}, ["parren"]),
        ({"paren": [["a", "b", "0.3"]]}, ["paren[0]", "number"]),
        ({"groepen": {"g1": {"rho": 0.3, "leden": ["a"]}}}, ["groepen.g1", "at least two"]),
        ({"groepen": {"g1": {"rho": 0.3, "leden": "a"}}}, ["groepen.g1", "at least two"]),
        ({"groepen": [["a", "b"]]}, ["groepen", "mapping"]),
        ({"paren": {"a": "b"}}, ["paren", "list"]),
        ({"paren": [["a", "b", 0.3, 0.1]]}, ["paren[0]"]),
        ({"paren": ["ab"]}, ["paren[0]"]),
        ({}, ["(file)", "nothing"]),
        (None, ["(file)", "empty"]),
        ([["a", "b", 0.3]], ["(file)", "mapping"]),
    ],
)
def test_invalid_declarations(declared, fragments):
    """Every malformed declaration is a PriorError naming the file and the entry -- nothing is dropped silently."""
    with pytest.raises(PriorError) as exc:
        parse_declarations(declared, NAMES, WHERE)
    msg = str(exc.value)
    assert msg.startswith(WHERE + ": ")
    for frag in fragments:
        assert frag in msg, (frag, msg)


def test_declarations_are_checked_against_all_entries_before_any_is_dropped():
    """An entry that a run fixes is left out of its copula; a name that is no entry at all is an error, even at
    rho 0.99."""
    declared = parse_declarations({"paren": [["a", "b", 0.5], ["c", "d", 0.99]]}, NAMES, WHERE)
    plan = build_copula(("a", "b", "c"), declared)      # d is fixed in this run
    assert plan.requested[0, 1] == 0.5 and plan.requested[0, 2] == plan.requested[1, 2] == 0.0
    with pytest.raises(PriorError, match="unknown prior entry 'dd'"):
        parse_declarations({"paren": [["c", "dd", 0.99]]}, NAMES, WHERE)


def test_same_value_declared_twice_is_fine():
    plan = build_copula(NAMES, {"paren": [["a", "b", 0.3], ["b", "a", 0.3]]})
    assert plan.requested[0, 1] == 0.3


def test_transform_refuses_a_copula_of_other_parameters():
    plan = _plan()
    with pytest.raises(ValueError, match="rows"):
        transform(np.zeros((6, 10)), [STANDARD] * 7, plan)
    with pytest.raises(ValueError, match="parameters"):
        transform(np.zeros((6, 10)), [STANDARD] * 6, plan)


# ---------------------------------------------------------------------------- jit parity

PARITY_NAMES = tuple("abcdefgh")
PARITY_DECLARED = {
    "groepen": {"g": {"rho": 0.6, "leden": ["a", "b", "c", "d"]}},
    "paren": [["a", "c", 0.3], ["f", "h", -0.45], ["d", "e", 0.3]],
}

_PARITY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from model.engine.run import transform
    from model.spec.dependence import build_copula
    from model.spec.fitting import Marginal
    names, declared = json.loads(sys.argv[2])
    plan = build_copula(names, declared)
    z = np.random.default_rng(7).standard_normal((len(names), 5000))
    np.save(sys.argv[1], transform(z, [Marginal("normal", (0.0, 1.0), -np.inf, np.inf)] * len(names), plan))
    """
)


def test_disable_jit_gives_identical_output(tmp_path):
    arg = json.dumps([PARITY_NAMES, PARITY_DECLARED])
    out = {}
    for flag in ("0", "1"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=flag, PYTHONPATH=str(ROOT))
        f = tmp_path / f"z{flag}.npy"
        subprocess.run([sys.executable, "-c", _PARITY_SCRIPT, str(f), arg], check=True, env=env, cwd=ROOT, timeout=120)
        out[flag] = np.load(f)
    np.testing.assert_array_equal(out["0"], out["1"])

    # Sanity: the result equals an explicit z[block] = L @ z[block].
    plan = build_copula(PARITY_NAMES, PARITY_DECLARED)
    assert not plan.repaired and len(plan.blocks) == 2
    z = np.random.default_rng(7).standard_normal((8, 5000))
    expected = z.copy()
    for blk, L in zip(plan.blocks, plan.chol):
        expected[blk] = L @ z[blk]
    np.testing.assert_allclose(out["0"], expected, rtol=0, atol=1e-13)
