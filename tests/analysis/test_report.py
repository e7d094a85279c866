"""Report mode pinned to the figures printed in Rebel's *Top-down analyse financiële opgave NPVR*.

Tolerance rule: a model figure matches a printed figure when it rounds to it, i.e. it lies within half a unit
of the last printed digit (inclusive, plus a 1e-9 relative epsilon for float noise). €0,7 mld. means
0.65e9 ... 0.75e9; €0,135 mld. means ±0.0005e9; €50 mln means ±0.5e6; 3.205.000 inhabitants means ±500.
No looser tolerance is used anywhere in this file. Where the report's own figures conflict, the test names the
entry of ``docs/deviations.md`` (D1 ... D9) that explains what the model does.
"""

from __future__ import annotations

import dataclasses

import pytest
from support import MLD, MLN, assert_printed

from model.analysis.report import reproduce
from model.deelopgaven.registry import DEELOPGAVEN
from model.spec.data import load_gebieden
from model.spec.priors import PriorSet, load_priors

LOOPTIJD = 11  # 2025 t/m 2035


# --------------------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def priors() -> PriorSet:
    return load_priors()


@pytest.fixture(scope="module")
def gebieden():
    return load_gebieden()


@pytest.fixture(scope="module")
def result(priors, gebieden) -> dict:
    return reproduce(priors, gebieden)


@pytest.fixture(scope="module")
def deelopgave(result) -> dict:
    return {r["deelopgave"]: r for r in result["deelopgaven"]}


# --------------------------------------------------------------------------------------------------------------
# the tolerance helper itself: exactly half a unit of the last printed digit, no looser


@pytest.mark.parametrize("value, printed, decimals, unit, ok", [
    (0.65e9, 0.7, 1, MLD, True),
    (0.75e9, 0.7, 1, MLD, True),
    (0.6499e9, 0.7, 1, MLD, False),
    (0.7501e9, 0.7, 1, MLD, False),
    (0.1345e9, 0.135, 3, MLD, True),
    (0.1344e9, 0.135, 3, MLD, False),
    (50.5e6, 50, 0, MLN, True),
    (50.51e6, 50, 0, MLN, False),
    (3_205_500, 3_205_000, -3, 1, True),
    (3_205_501, 3_205_000, -3, 1, False),
])
def test_assert_printed_uses_half_a_unit_of_the_last_digit(value, printed, decimals, unit, ok):
    if ok:
        assert_printed(value, printed, decimals, unit)
    else:
        with pytest.raises(AssertionError):
            assert_printed(value, printed, decimals, unit)


# --------------------------------------------------------------------------------------------------------------
# Table 1.1


def test_tabel_1_1_inwoners(result):
    # 81 reconstructed gemeenten (CBS KWB 2024) × NL growth to the report's date: docs/deviations.md D9
    assert_printed(result["tabel_1_1"]["inwoners"], 3_205_000, -3, unit=1)


@pytest.mark.xfail(strict=True, reason="docs/deviations.md D1")
def test_tabel_1_1_woningen_as_printed(result):
    assert_printed(result["tabel_1_1"]["woningen"], 1_385_000, -3, unit=1)


def test_tabel_1_1_woningen_is_cbs_and_report_figure_is_inconsistent(result, gebieden):
    """D1: the model uses CBS KWB 2024 dwellings; the report's 1.385 M implies an implausible household size."""
    assert result["tabel_1_1"]["woningen"] == 1_495_341
    assert gebieden.woningen.sum() == 1_495_341
    rapport = 3_205_000 / 1_385_000                                  # printed inhabitants / printed dwellings
    cbs = gebieden.inwoners.sum() / gebieden.woningen.sum()           # 3,186,643 / 1,495,341
    assert abs(rapport - cbs) / cbs > 0.05                           # >5 % apart: not a rounding effect


# --------------------------------------------------------------------------------------------------------------
# Table 2.1 (veilige en leefbare regio's)


@pytest.mark.parametrize("naam, printed", [
    ("nieuwbouw", 0.7),
    ("herstructurering_woningen", 4.3),
    ("herstructurering_winkels", 0.4),
    ("leefbaarheid_veiligheid", 1.1),
    ("totaal", 6.6),
])
def test_tabel_2_1(result, naam, printed):
    assert_printed(result["tabel_2_1"][naam], printed, 1)


def test_tabel_2_1_rounded_lines_do_not_add_up_but_unrounded_ones_do(result):
    """D3: 0.7 + 4.3 + 0.4 + 1.1 = 6.5 is printed as 6.6; the unrounded values satisfy all five at once."""
    t = result["tabel_2_1"]
    lines = ("nieuwbouw", "herstructurering_woningen", "herstructurering_winkels", "leefbaarheid_veiligheid")
    assert t["totaal"] == pytest.approx(sum(t[n] for n in lines), rel=1e-12)
    for naam, printed in zip(lines, (0.7, 4.3, 0.4, 1.1)):
        assert_printed(t[naam], printed, 1)
    assert_printed(t["totaal"], 6.6, 1)
    assert round(sum(round(t[n] / 1e9, 1) for n in lines), 1) != round(t["totaal"] / 1e9, 1)


# --------------------------------------------------------------------------------------------------------------
# Table 3.1 and §3.4 / §3.5 / §4.1


@pytest.mark.parametrize("kant, printed", [(0, 0.6), (1, 1.1)])
def test_tabel_3_1_bereikbaarheid(result, kant, printed):
    assert_printed(result["tabel_3_1"]["bereikbaarheid"][kant], printed, 1)


def test_tabel_3_1_ov(result, deelopgave):
    """OV exploitatie + eenmalig = €0,7 mld. (0.55 + 0.135 = 0.685)."""
    ov = result["tabel_3_1"]["ov"]
    assert ov == pytest.approx(deelopgave["ov_exploitatie"]["laag"] + deelopgave["ov_eenmalig"]["laag"], rel=1e-12)
    assert_printed(ov, 0.7, 1)


@pytest.mark.parametrize("kant, printed", [(0, 1.4), (1, 6.4)])
def test_tabel_3_1_capaciteit(result, kant, printed):
    assert_printed(result["tabel_3_1"]["capaciteit"][kant], printed, 1)


@pytest.mark.parametrize("groep, laag, hoog", [
    ("commercieel", 0.3, 0.6),
    ("publiek", 0.2, 0.4),
    ("ontmoeting", 0.1, 0.2),
])
def test_paragraaf_3_4_groepen(result, groep, laag, hoog):
    lo, hi = result["bereikbaarheid_groepen"][groep]
    assert_printed(lo, laag, 1)
    assert_printed(hi, hoog, 1)


def test_paragraaf_3_4_groepen_add_up_to_bereikbaarheid(result):
    """D6: the group highs print as 0.6 + 0.4 + 0.2 = 1.2, the total as 1.1; the unrounded values fit both."""
    groepen = result["bereikbaarheid_groepen"]
    for kant in (0, 1):
        total = sum(v[kant] for v in groepen.values())
        assert total == pytest.approx(result["tabel_3_1"]["bereikbaarheid"][kant], rel=1e-12)


def test_ontmoeting_implied_norm_is_kept_as_derived(priors, result):
    """D7: €0.1-0.2 bn for the 1% of households beyond 15 min implies 2.4-4.1 m² per such household.

    Implausible as a per-household norm (a 240-410 m² buurthuis for every 100 households); the model keeps
    the derived norm so that the §3.4 group figures are reproduced, and documents it.
    """
    huishoudens = result["tabel_1_1"]["huishoudens"] * (1 - priors["bereik_ontmoetingsfunctie"].point)
    per_m2 = priors["stichtingskosten_ontmoetingsfunctie"].point
    lo, hi = (v / (huishoudens * per_m2) for v in result["bereikbaarheid_groepen"]["ontmoeting"])
    assert lo == pytest.approx(priors["norm_q1_ontmoetingsfunctie"].point, rel=1e-9)
    assert hi == pytest.approx(priors["norm_mediaan_ontmoetingsfunctie"].point, rel=1e-9)
    assert round(lo, 1) == 2.4 and round(hi, 1) == 4.1
    assert "D7" in priors["norm_q1_ontmoetingsfunctie"].derivation


@pytest.mark.parametrize("label, printed", [
    ("nu_q1", 1.4),
    ("nu_mediaan", 5.5),
    ("2035_q1", 1.7),
    ("2035_mediaan", 6.4),
])
def test_paragraaf_3_5_capaciteit_nu_2035(result, label, printed):
    assert_printed(result["capaciteit_nu_2035"][label], printed, 1)


def test_paragraaf_3_5_band_ends_are_nu_q1_and_2035_mediaan(result):
    """Footnote * of Table 1.2: low = today's shortfall at the Q1 norm, high = 2035 at the median norm."""
    cap = result["capaciteit_nu_2035"]
    assert result["tabel_3_1"]["capaciteit"][0] == pytest.approx(cap["nu_q1"], rel=1e-12)
    assert result["tabel_3_1"]["capaciteit"][1] == pytest.approx(cap["2035_mediaan"], rel=1e-12)


def test_paragraaf_4_1_gezonde_toekomst(result):
    assert_printed(result["gezonde_toekomst"], 1.3, 1)


def test_ov_exploitatie_per_jaar(result):
    """§3.4 and footnote ** of Table 1.2: €50 mln per year."""
    assert_printed(result["ov_exploitatie_per_jaar"], 50, 0, unit=MLN)


def test_ov_eenmalig(deelopgave):
    """§3.4: ca. €135 mln; Table 1.2: €0,135 mld."""
    assert_printed(deelopgave["ov_eenmalig"]["laag"], 0.135, 3)
    assert_printed(deelopgave["ov_eenmalig"]["laag"], 135, 0, unit=MLN)


# --------------------------------------------------------------------------------------------------------------
# Table 1.2 totals and the per-year row


@pytest.mark.parametrize("kolom, laag, hoog", [
    ("publieke_restopgave", 3.6, 3.6),
    ("exploitatielasten", 0.6, 0.6),
    ("investeringsopgave", 6.3, 11.8),
])
def test_tabel_1_2_totaal(result, kolom, laag, hoog):
    lo, hi = result["totaal"][kolom]
    assert_printed(lo, laag, 1)
    assert_printed(hi, hoog, 1)


def test_tabel_1_2_exploitatielasten_is_11_times_50_mln(result):
    """D2: 11 × €50 mln = €0,55 mld., printed as €0,6 mld.

    0.55 lies exactly on the edge of 0.6's rounding interval [0.55, 0.65]; the inclusive ±0.05 rule accepts it.
    The per-year figure €50 mln (footnote **) is taken as the primary figure.
    """
    lo, hi = result["totaal"]["exploitatielasten"]
    assert lo == hi
    assert lo == pytest.approx(LOOPTIJD * 50 * MLN, rel=1e-12)
    assert lo == pytest.approx(LOOPTIJD * result["ov_exploitatie_per_jaar"], rel=1e-12)
    assert_printed(lo, 0.6, 1)


@pytest.mark.parametrize("kolom, laag, hoog, decimals", [
    ("publieke_restopgave", 0.3, 0.3, 1),
    ("exploitatielasten", 0.05, 0.05, 2),
    ("investeringsopgave", 0.6, 1.1, 1),
])
def test_tabel_1_2_per_jaar(result, kolom, laag, hoog, decimals):
    lo, hi = result["per_jaar"][kolom]
    assert lo == pytest.approx(result["totaal"][kolom][0] / LOOPTIJD, rel=1e-12)
    assert hi == pytest.approx(result["totaal"][kolom][1] / LOOPTIJD, rel=1e-12)
    assert_printed(lo, laag, decimals)
    assert_printed(hi, hoog, decimals)


def test_tabel_1_2_publieke_restopgave_needs_ov_eenmalig(result, deelopgave):
    """D3: 0.7 + 0.4 + 1.1 + 1.3 = 3.5 is printed as 3.6; the one-off OV item (0.135) closes the gap."""
    assert deelopgave["ov_eenmalig"]["kolom"] == "publieke_restopgave"
    zonder = result["totaal"]["publieke_restopgave"][0] - deelopgave["ov_eenmalig"]["laag"]
    assert_printed(zonder, 3.5, 1)
    assert_printed(result["totaal"]["publieke_restopgave"][0], 3.6, 1)


# --------------------------------------------------------------------------------------------------------------
# the totals leave the PM lines out


def _non_pm_sum(rows: list[dict], kolom: str) -> list[float]:
    chosen = [r for r in rows if r["kolom"] == kolom and not r["pm"]]
    return [sum(r["laag"] for r in chosen), sum(r["hoog"] for r in chosen)]


def test_totals_do_not_change_when_pm_lines_are_large(priors, gebieden, result):
    """Blow the PM lines up by a factor 100: the totals of Table 1.2 stay exactly where they were."""
    pm_entries = {"beheer_onderhoud_aandeel_per_jaar", "grondkosten_aandeel_stichtingskosten",
                  "fte_per_1000_m2_voorziening"}
    assert pm_entries <= set(priors.names)
    entries = dict(priors.entries)
    for name in pm_entries:
        e = entries[name]
        band = None if e.band is None else {k: 100 * v for k, v in e.band.items()}
        entries[name] = dataclasses.replace(e, point=100 * e.point, band=band)
    big = reproduce(dataclasses.replace(priors, entries=entries), gebieden)
    before = {r["deelopgave"]: r for r in result["pm"]}
    after = {r["deelopgave"]: r for r in big["pm"]}
    assert set(after) == {"beheer_onderhoud", "grondkosten", "personeel"}
    for naam in after:
        assert after[naam]["hoog"] == pytest.approx(100 * before[naam]["hoog"], rel=1e-9)
    assert big["totaal"] == result["totaal"]
    assert big["per_jaar"] == result["per_jaar"]


# --------------------------------------------------------------------------------------------------------------
# PM lines


@pytest.mark.parametrize("naam, kolom", [
    ("beheer_onderhoud", "exploitatielasten"),
    ("grondkosten", "investeringsopgave"),
    ("personeel", "exploitatielasten"),
])
def test_pm_lines(result, deelopgave, naam, kolom):
    row = deelopgave[naam]
    assert row["pm"] is True
    assert row["kolom"] == kolom
    assert 0 < row["laag"] <= row["hoog"]
    assert naam in {r["deelopgave"] for r in result["pm"]}
    assert result["totaal"][kolom] == pytest.approx(_non_pm_sum(result["deelopgaven"], kolom), rel=1e-12)


def test_only_the_three_pm_lines_are_pm(result):
    assert {r["deelopgave"] for r in result["deelopgaven"] if r["pm"]} == {"beheer_onderhoud", "grondkosten",
                                                                          "personeel"}
    assert {d.naam for d in DEELOPGAVEN if d.pm} == {"beheer_onderhoud", "grondkosten", "personeel"}


def test_report_mode_refuses_a_line_that_is_not_finite(tmp_path, gebieden):
    from support import priors_with

    from model.errors import PriorError

    directory = priors_with(tmp_path, "ov_eenmalig.yaml", "eenmalige_ov_kosten_per_provincie",
                            distribution={"family": "fixed", "value": 1e308}, point=1e308, bounds=[0, None])
    priors = load_priors(directory, fit=False)
    with pytest.raises(PriorError, match=r"entries with extreme values: eenmalige_ov_kosten_per_provincie"):
        reproduce(priors, gebieden)
