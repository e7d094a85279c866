"""The report's printed figures (``model.spec.published``): one table, the settings at which they were printed, and
what each figure measures."""

from __future__ import annotations

import pytest

from model.deelopgaven.registry import column_totals
from model.engine.plan import output_definitions
from model.spec.data import load_gebieden
from model.spec.priors import load_priors
from model.spec.published import (_T21, PUBLISHED, SHOWN, Figure, check_figures,
                                  setting_values, settings, variant_figure)


def test_bands_are_two_settings_not_a_likelihood():
    """A printed bandwidth is observed at both ends, each at its own setting of the band entries."""
    by_name = {f.name: f for f in PUBLISHED}
    for low, high in (("bereikbaarheid_laag", "bereikbaarheid_hoog"), ("capaciteit_laag", "capaciteit_hoog"),
                      ("totaal_investeringsopgave_laag", "totaal_investeringsopgave_hoog")):
        assert by_name[low].setting == "laag" and by_name[high].setting == "hoog"
        assert by_name[low].quantity == by_name[high].quantity
    assert len({f.name for f in PUBLISHED}) == len(PUBLISHED)
    check_figures(PUBLISHED)


def test_settings_come_from_the_band_entries():
    priors = load_priors(fit=False)
    band = {n: e.band for n, e in priors.entries.items() if e.band is not None}
    assert set(band) == {"normniveau", "vraagjaar"}
    assert setting_values(priors, "laag") == {n: b["laag"] for n, b in band.items()}
    assert setting_values(priors, "hoog") == {n: b["hoog"] for n, b in band.items()}
    assert setting_values(priors, "nu_mediaan") == {"normniveau": band["normniveau"]["hoog"],
                                                    "vraagjaar": band["vraagjaar"]["laag"]}
    assert set(settings()) == {f.setting for f in PUBLISHED}


def test_figures_shown_beside_outputs_are_published_figures_of_that_output():
    """The overview table and the plots show, per output, rows of the one figure table: a point figure at the laag
    setting, a bandwidth at laag and hoog (capaciteit also at the §3.5 grid's two other cells), each of a quantity
    that is that output (the exploitatielasten column is the OV line); every variant gets its own figure."""
    outputs = {o.naam: o for o in output_definitions()[0]}
    by_name = {f.name: f for f in PUBLISHED}
    for naam, names in SHOWN.items():
        out = outputs[naam]
        figs = [by_name[n] for n in names]
        assert [f.setting for f in figs][:2] == (["laag"] if len(figs) == 1 else ["laag", "hoog"]), naam
        assert len({f.setting for f in figs}) == len(figs), naam
        for f in figs:
            assert variant_figure(naam, f.setting) == f.printed * 1e9, (naam, f.setting)
        if len(figs) == 1:     # a point figure is the figure of every variant
            assert variant_figure(naam, "hoog") == figs[0].printed * 1e9, naam
        expected = {"deelopgave": f"deelopgave:{naam}", "kolom": f"kolom:{naam.removeprefix('totaal_')}",
                    "doel": _T21}[out.soort]
        if naam != "totaal_exploitatielasten":
            assert {f.quantity for f in figs} == {expected}, naam


@pytest.mark.parametrize("figure, message", [
    (Figure("x", 1.0, 1, "deelopgave:nieuwbouw", "midden", "-"), "unknown setting"),
    (Figure("x", 1.0, 1, "lijn:bestaat_niet", "laag", "-"), "unknown line"),
    (Figure("x", 1.0, 1, "kolom:bestaat_niet", "laag", "-"), "unknown column"),
    (Figure("x", 1.0, 1, "deelopgave:nieuwbouw*2", "laag", "-"), "cannot read"),
])
def test_bad_figure_rows_are_refused(figure, message):
    with pytest.raises(ValueError, match=message):
        check_figures((figure,))
    with pytest.raises(KeyError):
        check_figures((Figure("x", 1.0, 1, "deelopgave:bestaat_niet", "laag", "-"),))


def test_exploitatielasten_column_is_the_ov_line():
    """Why '€0,6 mld.' of the exploitatielasten column is not a second observation: it is the OV line itself."""
    from model.analysis.report import evaluate_setting

    lines = evaluate_setting(load_priors(fit=False), load_gebieden(), "laag")
    assert column_totals(lines)["exploitatielasten"] == pytest.approx(lines["ov_exploitatie"], rel=1e-12)
