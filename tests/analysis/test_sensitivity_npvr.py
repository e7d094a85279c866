"""Sensitivity analysis on the NPVR model (``model.analysis.sensitivity_npvr``): inputs, tornado, Sobol', and
what changes a conclusion."""

from __future__ import annotations

import numpy as np
import pytest

from model.analysis import sensitivity_npvr as sn
from model.analysis.report import reproduce
from model.deelopgaven.registry import DEELOPGAVEN
from model.engine.plan import make_plan
from model.engine.run import evaluate_inputs


@pytest.fixture(scope="module")
def plan():
    return make_plan()


@pytest.fixture(scope="module")
def spec(plan):
    return sn.input_spec(plan)


@pytest.fixture(scope="module")
def tornado_pr(plan):
    return sn.tornado_npvr("publieke_restopgave", plan=plan)


@pytest.fixture(scope="module")
def sobol_inv(plan):
    return sn.sobol_npvr("investeringsopgave", n_base=2**10, seed=0, plan=plan)


# --------------------------------------------------------------------------------------------- inputs


def test_input_spec_follows_the_plan(plan, spec):
    assert spec.names == list(plan.names)
    assert len(spec.names) > 80
    np.testing.assert_array_equal(spec.corr, plan.copula.normal_corr)
    for i, name in enumerate(spec.names):
        entry = plan.priors[name]
        assert spec.point[i] == entry.point
        assert spec.kinds[i] == entry.kind
        users = {d.naam for d in DEELOPGAVEN if name in d.inputs}      # the kernels that read the entry
        assert spec.deelopgave[i] == (users.pop() if len(users) == 1 else "gedeeld"), name
    x = spec._ppf(spec.index("stichtingskosten_basisschool"), np.array([0.1, 0.5, 0.9]))
    assert np.all(np.diff(x) > 0)
    # the quantile function is the engine's transform: within its table accuracy of the fitted distribution's
    for i in (spec.index("stichtingskosten_basisschool"), spec.index("aandeel_publiek_capaciteit")):
        u = np.array([0.05, 0.3, 0.5, 0.9])
        np.testing.assert_allclose(spec._ppf(i, u), plan.marginals[i].ppf(u), rtol=1e-4)


def test_model_function_is_evaluate_inputs_and_independent_of_threads(plan, spec):
    rng = np.random.default_rng(3)
    u = rng.uniform(0.05, 0.95, size=(spec.n_inputs, 101))
    theta = np.array([spec._ppf(i, u[i]) for i in range(spec.n_inputs)])
    expected = evaluate_inputs(plan, theta)[plan.output_index("investeringsopgave")]
    np.testing.assert_array_equal(sn.model_function(plan, "investeringsopgave")(theta), expected)
    np.testing.assert_array_equal(sn.model_function(plan, "investeringsopgave", threads=2, piece=7)(theta),
                                  expected)


def test_report_figures_are_the_printed_ones():
    assert sn.report_figures("publieke_restopgave") == (3.6e9,)
    assert sn.report_figures("totaal_exploitatielasten") == (0.6e9,)
    # a bandwidth's end per policy variant: the low end in laag (the default), the high end in hoog
    assert sn.report_figures("investeringsopgave") == (6.3e9,)
    assert sn.report_figures("investeringsopgave", "hoog") == (11.8e9,)
    assert sn.report_figures("capaciteit", "nu_mediaan") == (5.5e9,)
    assert sn.report_figures("publieke_restopgave", "hoog") == (3.6e9,)
    assert sn.report_figures("totaal_pm") == ()


# --------------------------------------------------------------------------------------------- tornado


def test_tornado_base_is_report_mode_point_value(tornado_pr):
    laag, hoog = reproduce()["totaal"]["publieke_restopgave"]
    assert laag == hoog
    assert tornado_pr.base == pytest.approx(laag, rel=1e-9)
    assert tornado_pr.output == "totaal_publieke_restopgave"
    assert tornado_pr.report == (3.6e9,)


def test_tornado_rows_sorted_and_top_driver_is_a_kental_of_the_column(tornado_pr, spec):
    swings = [r["swing"] for r in tornado_pr.rows]
    assert swings == sorted(swings, reverse=True)
    # every input with a swing, and only those: the inputs of other columns' deelopgaven move nothing
    assert len(tornado_pr.result.rows) == spec.n_inputs
    assert len(tornado_pr.rows) + tornado_pr.n_without_effect == spec.n_inputs and tornado_pr.n_without_effect > 0
    assert all(r["swing"] > 0 for r in tornado_pr.rows)
    assert all(r["swing"] == 0 for r in tornado_pr.result.rows if r not in tornado_pr.rows)
    column_inputs = {n for d in DEELOPGAVEN if d.kolom == "publieke_restopgave" and not d.pm for n in d.inputs}
    top = tornado_pr.rows[0]
    assert top["kind"] == "kental"
    assert top["input"] in column_inputs
    assert top["swing"] > 0
    for r in tornado_pr.rows:
        assert r["swing"] == pytest.approx(abs(r["high"] - r["low"]), rel=1e-12)
    # inputs of other columns only do not move this column
    other = {n for d in DEELOPGAVEN if d.kolom == "investeringsopgave" for n in d.inputs} - column_inputs
    assert all(r["swing"] == 0 for r in tornado_pr.rows if r["input"] in other and r["input"] in spec.names)


def test_a_tornado_is_of_one_variant_and_marks_its_figure():
    """The choices are held at the variant's values, not swung: the hoog tornado's base is report mode's hoog
    value (11,8) and it marks the report's high end only."""
    from model.jobs.sensitivity import plan_for

    hoog = plan_for(variant="hoog")
    assert hoog.variant == "hoog" and hoog.constants["normniveau"] == 1.0 and "normniveau" not in hoog.names
    t = sn.tornado_npvr("investeringsopgave", plan=hoog)
    assert t.report == (11.8e9,)
    assert t.base == pytest.approx(reproduce()["totaal"]["investeringsopgave"][1], rel=1e-9)


# --------------------------------------------------------------------------------------------- Sobol'


def test_sobol_indices_are_sane(sobol_inv, spec):
    res = sobol_inv.result
    assert res.n_base == 2**10
    assert [r["input"] for r in res.rows] == spec.names
    groups = [sobol_inv.by_deelopgave, sobol_inv.by_kind, sobol_inv.correlated_groups]
    all_rows = res.rows + [r for g in groups for r in g.rows]
    for r in all_rows:
        for k in ("S1", "ST"):
            assert -0.1 <= r[k] <= 1.1, r
        # ST >= S1 up to the estimators' noise: the two 95% half-widths, floored at 0.02 as in
        # tests/test_sensitivity.py (near-zero effects of ~150 rows would otherwise fail by chance)
        assert r["ST"] >= r["S1"] - max(r["S1_conf"] + r["ST_conf"], 0.02), r
    assert sum(r["S1"] for r in res.rows) <= 1.1
    for g in groups:
        assert sum(r["S1"] for r in g.rows) <= 1.1
    # the policy choices are no inputs of a sensitivity analysis: they are variants, not uncertainties
    assert not {"normniveau", "vraagjaar"} & {r["input"] for r in res.rows}
    # inputs that only feed other columns have (numerically) zero total effect
    st = {r["input"]: r["ST"] for r in res.rows}
    assert st["kental_openbare_ruimte_per_inwoner_per_jaar"] == pytest.approx(0.0, abs=1e-12)


def test_sobol_groups_and_dependence(sobol_inv, plan):
    # the declared common factors join deelopgaven (priors/correlaties.yaml), so the deelopgave groups cannot be
    # sampled jointly; the correlated blocks are the joint view, and the note says which is which
    assert sobol_inv.by_deelopgave.joint_sampling is False
    assert "Grouped by deelopgave: sampled independently" in sobol_inv.dependence_note
    assert sobol_inv.by_kind.joint_sampling is False
    assert {r["group"] for r in sobol_inv.by_kind.rows} == {"hoeveelheid", "kental", "norm"}
    # grouped by the kernel that reads each input, not by the prior file it lives in: every group is a deelopgave
    # of the registry or "gedeeld" (a file such as stichtingskosten.yaml or voorzieningen_normen.yaml is not)
    groups = {r["group"]: set(r["members"]) for r in sobol_inv.by_deelopgave.rows}
    assert set(groups) <= {d.naam for d in DEELOPGAVEN} | {"gedeeld"}
    assert {"stichtingskosten", "voorzieningen_normen"}.isdisjoint(groups)
    assert "exploitatiejaren_in_periode" in groups["gedeeld"]   # several kernels read it
    assert {"stichtingskosten_basisschool", "norm_q1_basisschool"} <= groups["bereikbaarheid"]
    cg = sobol_inv.correlated_groups
    assert cg is not None and cg.joint_sampling is True
    blocks = [r for r in cg.rows if len(r["members"]) > 1]
    assert len(blocks) == len(plan.copula.blocks)
    assert {"groep rebel_restopgave + bouwkosten", "groep capaciteit_vastgoed", "groep nplv_kentallen",
            "groep kwetsbare_gebieden"} <= {r["group"] for r in blocks}
    assert "independent" in sobol_inv.dependence_note
    assert "jointly" in sobol_inv.dependence_note
    assert sobol_inv.n_evaluations > 0 and sobol_inv.seconds > 0


# --------------------------------------------------------------------------------------------- conclusions


def test_threshold_crossings_publieke_restopgave_above_4_bn(plan):
    rows = sn.threshold_crossings("publieke_restopgave", 4e9, plan=plan)
    crossing = [r for r in rows if r["crosses"]]
    assert crossing, "no single input moves the publieke restopgave above €4 bn"
    assert rows[: len(crossing)] == crossing
    f = sn.model_function(plan, "publieke_restopgave")
    spec = sn.input_spec(plan)
    for r in crossing:
        theta = spec.point[:, None].copy()
        theta[spec.index(r["input"]), 0] = r["x_cross"]
        assert f(theta)[0] == pytest.approx(4e9, rel=5e-3), r
        assert 0 < r["q_cross"] < 1
    assert all(r["y_max"] < 4e9 for r in rows if not r["crosses"])


def test_exceedance_drivers(plan):
    res = sn.exceedance_drivers("publieke_restopgave", 4e9, plan=plan, draws=4000, seed=5)
    assert 0 < res["p_exceed"] < 1
    ks = [r["ks"] for r in res["rows"]]
    assert ks == sorted(ks, reverse=True)
    top = res["rows"][0]
    assert top["median_quantile_exceed"] > 0.5  # exceeding draws sit high in the top driver's prior
