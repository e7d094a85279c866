"""The year model (``model.analysis.jaren``): phasing, indexation, present value, reproducible year draws."""

from __future__ import annotations

import numpy as np
import pytest

from model.analysis import jaren as J
from model.analysis.report import evaluate_setting, reproduce
from model.deelopgaven.registry import KOLOMMEN, by_name
from model.engine.plan import make_plan
from model.engine.run import run
from model.spec.data import load_gebieden
from model.spec.jaren import load_jaren_priors
from model.spec.priors import load_priors


@pytest.fixture(scope="module")
def priors():
    return load_priors()


@pytest.fixture(scope="module")
def jaren_priors(priors):
    return load_jaren_priors(priors=priors)


@pytest.fixture(scope="module")
def gebieden():
    return load_gebieden()


@pytest.fixture(scope="module")
def mc(priors, gebieden):
    """A small Monte Carlo run with kept draws."""
    return run(plan=make_plan(priors, gebieden, chunk_size=1024), draws=3000, seed=11, keep=True)


def zero_rates(params: dict) -> dict:
    return {**params, J.BOUWKOSTEN: np.zeros_like(params[J.BOUWKOSTEN]),
            J.INFLATIE: np.zeros_like(params[J.INFLATIE])}


# ------------------------------------------------------------------------------------ report per year
@pytest.mark.parametrize("setting", ["laag", "hoog"])
def test_flat_profile_at_point_values_reproduces_report_per_year_row(priors, gebieden, jaren_priors, setting):
    """Table 1.2's 'Per jaar' row (total / 11) is the flat profile at the report's values and zero indexation,
    in every year, through the engine (every entry fixed at its report value) and the year model."""
    report = reproduce(priors, gebieden)
    i = ("laag", "hoog").index(setting)
    plan = make_plan(priors, gebieden, chunk_size=8, overrides=priors.values(setting))
    result = run(plan=plan, draws=5, seed=1, keep=True)
    params = zero_rates(J.point_jaren(jaren_priors, draws=5))
    ds = J.jaren_dataset(result, params=params, vlak=True)
    per_kolom = J.groepen(ds, "reeel", per="kolom")
    assert per_kolom.sizes["jaar"] == 11 == priors["looptijd_jaren"].point
    for kolom in KOLOMMEN:
        expected = report["per_jaar"][kolom][i]
        got = per_kolom.sel(groep=kolom).values            # (draw, jaar)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        np.testing.assert_allclose(ds["nominaal"].where(ds["kolom"] == kolom, 0).where(~ds["pm"], 0)
                                   .sum("deelopgave").values, expected, rtol=1e-12)


def test_flat_profile_by_hand_from_report_mode(priors, gebieden):
    """The same without the engine: report-mode deelopgave totals through :func:`verdeel`."""
    report = reproduce(priors, gebieden)
    fas = J.faseringen(priors)
    for i, setting in enumerate(("laag", "hoog")):
        lines = evaluate_setting(priors, gebieden, setting)

        totals = np.array([[sum(lines[ln.naam] for ln in by_name(f.deelopgave).lines if not ln.hulp)]
                           for f in fas])
        params = {J.MIDDEN: np.array([2030.5]), J.STEILHEID: np.array([0.7]), J.BOUWKOSTEN: np.zeros(1),
                  J.INFLATIE: np.zeros(1)}
        nominaal, reeel = J.verdeel(totals, fas, params, vlak=True)
        for kolom in KOLOMMEN:
            rows = [k for k, f in enumerate(fas) if f.kolom == kolom and not f.pm]
            np.testing.assert_allclose(reeel[rows].sum(axis=0)[0], report["per_jaar"][kolom][i], rtol=1e-12)
            np.testing.assert_allclose(nominaal[rows].sum(axis=0)[0], report["per_jaar"][kolom][i], rtol=1e-12)


# ------------------------------------------------------------------------------------- present value
def test_present_value_of_flat_annuity():
    """1 a year for 11 years at 2.25%, paid at the end of each year, discounted to 1 Jan 2025."""
    r = 0.0225
    expected = (1 - 1.0225**-11) / 0.0225
    assert J.contante_waarde(np.ones(11), r) == pytest.approx(expected, rel=1e-14)
    assert J.annuiteit(r) == pytest.approx(expected, rel=1e-14)
    assert expected == pytest.approx(9.6491, abs=1e-4)
    # the first payment (end of 2025) is discounted one full year
    assert J.discount_factors(r)[0] == pytest.approx(1 / 1.0225, rel=1e-15)
    # mid-year convention: every payment half a year earlier
    assert J.contante_waarde(np.ones(11), r, midjaar=True) == pytest.approx(expected * 1.0225**0.5, rel=1e-14)
    # at rate 0 the present value is the plain sum
    assert J.contante_waarde(np.ones(11), 0.0) == pytest.approx(11.0, rel=1e-15)


def test_present_value_in_the_dataset_matches_hand_computation(mc, jaren_priors):
    ds = J.jaren_dataset(mc, priors=jaren_priors)
    assert list(ds["discontovoet"].values) == [0.0225, 0.016, 0.03]
    reeel = ds["reeel"].values                                   # (deelopgave, draw, jaar)
    for k, r in enumerate(ds["discontovoet"].values):
        df = (1 + r) ** -np.arange(1, 12)
        np.testing.assert_allclose(ds["contante_waarde"].values[:, k, :], reeel @ df, rtol=1e-12)
    cw = J.contante_waarde_totaal(ds)
    # a lower rate gives a higher present value, draw by draw
    assert np.all(cw.sel(discontovoet=0.016).values > cw.sel(discontovoet=0.0225).values)
    assert np.all(cw.sel(discontovoet=0.03).values < cw.sel(discontovoet=0.0225).values)
    tab = J.contante_waarde_tabel(ds)
    assert tab.sizes == {"discontovoet": 3, "statistiek": 4}


# ---------------------------------------------------------------------------------- profiles sum to 1
def test_profiles_sum_to_one():
    rng = np.random.default_rng(0)
    mid = rng.uniform(2020, 2040, 500)
    k = np.concatenate([[0.0, 1e-12, 1e-6], rng.lognormal(-0.4, 0.8, 497)])
    s = J.s_curve(mid, k)
    assert s.shape == (500, 11)
    assert np.all(s >= 0)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(s[:3], 1 / 11, rtol=1e-6)          # k -> 0: flat
    np.testing.assert_allclose(J.vlak_profiel(4).sum(axis=1), 1.0, rtol=1e-15)
    # symmetric around the middle of the period
    sym = J.s_curve([2030.5], [0.8])[0]
    np.testing.assert_allclose(sym, sym[::-1], rtol=1e-12)
    assert sym.argmax() == 5                                       # 2030


def test_per_year_sums_equal_the_total(mc, jaren_priors):
    """Without indexation the years of every draw add up to the deelopgave's total (S-curve and flat)."""
    params = zero_rates(J.sample_jaren(jaren_priors, mc.seed, mc.draws))
    ds = J.jaren_dataset(mc, params=params)
    names = [o.naam for o in mc.plan.outputs]
    for d in ds["deelopgave"].values:
        total = mc.outputs[names.index(d)]
        np.testing.assert_allclose(ds["nominaal"].sel(deelopgave=d).sum("jaar").values, total, rtol=1e-12)
        np.testing.assert_allclose(ds["reeel"].sel(deelopgave=d).sum("jaar").values, total, rtol=1e-12)
    # and the goals' years add up to the engine's goal outputs
    g = J.groepen(ds, "reeel")
    for doel in ("veilig_leefbaar", "voorzieningen", "gezonde_toekomst"):
        np.testing.assert_allclose(g.sel(groep=doel).sum("jaar").values, mc.outputs[names.index(f"doel_{doel}")],
                                   rtol=1e-12)
    total = sum(mc.outputs[names.index(f"totaal_{k}")] for k in KOLOMMEN)
    np.testing.assert_allclose(g.sel(groep="totaal").sum("jaar").values, total, rtol=1e-12)


def test_year_amounts_that_are_not_finite_are_an_error(mc, jaren_priors):
    """A year parameter that gives no number (here a NaN midpoint of the S-curve in one draw) stops the year model
    with the file and the deelopgave named: never NaN statistics, or a goal's sum that carries it on."""
    from model.errors import PriorError

    params = dict(J.sample_jaren(jaren_priors, mc.seed, mc.draws))
    params[J.MIDDEN] = np.array(params[J.MIDDEN], dtype=float)
    params[J.MIDDEN][7] = np.nan
    with pytest.raises(PriorError, match=r"jaren: the year amounts \(nominaal\) are not finite for \w+, draw 7"):
        J.jaren_dataset(mc, params=params)


# ------------------------------------------------------------------------------------------ indexing
def test_indexation_and_prijspeil(mc, jaren_priors):
    m = mc.draws
    params = {J.MIDDEN: np.full(m, 2030.5), J.STEILHEID: np.full(m, 0.7), J.BOUWKOSTEN: np.full(m, 0.05),
              J.INFLATIE: np.full(m, 0.02)}
    ds = J.jaren_dataset(mc, params=params)
    names = [o.naam for o in mc.plan.outputs]
    t = np.arange(2025, 2036)
    # flat line at prijspeil 2024 (gezonde_toekomst): nominal grows with inflation, real is total / 11
    tot = mc.outputs[names.index("gezonde_toekomst")][:, None]
    np.testing.assert_allclose(ds["reeel"].sel(deelopgave="gezonde_toekomst").values, tot / 11 * np.ones(11),
                               rtol=1e-12)
    np.testing.assert_allclose(ds["nominaal"].sel(deelopgave="gezonde_toekomst").values,
                               tot / 11 * 1.02 ** (t - 2024), rtol=1e-12)
    # flat line at prijspeil 2025 (ov_exploitatie): in 2024 prices one year of inflation less
    tot = mc.outputs[names.index("ov_exploitatie")][:, None]
    np.testing.assert_allclose(ds["reeel"].sel(deelopgave="ov_exploitatie").values, tot / 11 / 1.02 * np.ones(11),
                               rtol=1e-12)
    # investment line: construction-cost index in nominal terms, real escalation 1.05/1.02 a year
    shares = J.s_curve([2030.5], [0.7])[0]
    tot = mc.outputs[names.index("capaciteit")][:, None]
    np.testing.assert_allclose(ds["nominaal"].sel(deelopgave="capaciteit").values,
                               tot * shares * 1.05 ** (t - 2024), rtol=1e-12)
    np.testing.assert_allclose(ds["reeel"].sel(deelopgave="capaciteit").values,
                               tot * shares * (1.05 / 1.02) ** (t - 2024), rtol=1e-12)
    assert set(ds["deelopgave"].values[ds["profiel"].values == "s_curve"]) == {
        "herstructurering_woningen", "bereikbaarheid", "capaciteit", "ov_eenmalig", "grondkosten"}
    assert dict(zip(ds["deelopgave"].values, ds["prijspeil"].values))["personeel"] == 2025


# ------------------------------------------------------------------------------------ priors, streams
def test_year_draws_are_reproducible_and_prefix_stable(jaren_priors):
    a = J.sample_jaren(jaren_priors, 5, 1000)
    b = J.sample_jaren(jaren_priors, 5, 400)
    c = J.sample_jaren(jaren_priors, 6, 400)
    for name in J.PARAMETERS:
        np.testing.assert_array_equal(a[name][:400], b[name])
        assert not np.array_equal(b[name], c[name])
    # fixing one parameter leaves the others' draws unchanged
    d = J.sample_jaren(jaren_priors, 5, 1000, overrides={J.BOUWKOSTEN: 0.06})
    assert np.all(d[J.BOUWKOSTEN] == 0.06)
    np.testing.assert_array_equal(d[J.MIDDEN], a[J.MIDDEN])
    # the sampled medians follow the priors
    assert np.median(a[J.MIDDEN]) == pytest.approx(2030.5, abs=0.15)
    assert np.median(a[J.BOUWKOSTEN]) == pytest.approx(0.035, abs=0.003)


def test_per_year_intervals_are_ordered(mc, jaren_priors):
    q = J.per_jaar_intervallen(J.jaren_dataset(mc, priors=jaren_priors))
    assert q.dims == ("groep", "jaar", "kwantiel")
    assert np.all(np.diff(q.values, axis=-1) >= 0)
