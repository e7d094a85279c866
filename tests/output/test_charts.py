"""The run folder's SVG charts (``model.output.charts``): well-formed SVG with the figures they are about."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from model.analysis.summary import summarise
from model.engine.plan import variant_plans
from model.engine.run import run
from model.output import charts
from model.spec.data import load_gebieden
from model.spec.priors import load_priors


@pytest.fixture(scope="module")
def result_and_rows():
    result = run(draws=4000, seed=2)
    return result, summarise(result)


def test_s_curves_and_intervals_are_svg_with_the_report_figures(result_and_rows, tmp_path):
    result, rows = result_and_rows
    paths = charts.s_curves(result, rows, tmp_path) + [charts.intervals(rows, tmp_path)]
    assert [p.name for p in paths] == ["s_curve_publieke_restopgave.svg", "s_curve_exploitatielasten.svg",
                                       "s_curve_investeringsopgave.svg", "s_curve_pm.svg",
                                       "deelopgaven_intervallen.svg"]
    for p in paths:
        root = ET.parse(p).getroot()
        assert root.tag.endswith("svg"), p.name
        text = p.read_text(encoding="utf-8")
        for ref in ('src="http', "src='http", 'href="http', "href='http", "url(http", "@import"):
            assert ref not in text, (p.name, ref)          # nothing loaded from the network
    assert "rapport 3,6" in (tmp_path / "s_curve_publieke_restopgave.svg").read_text(encoding="utf-8")
    assert "rapport 6,3" in (tmp_path / "s_curve_investeringsopgave.svg").read_text(encoding="utf-8")
    assert "kans ≤ x" in (tmp_path / "s_curve_pm.svg").read_text(encoding="utf-8")
    iv = (tmp_path / "deelopgaven_intervallen.svg").read_text(encoding="utf-8")
    assert "Beheer en onderhoud nieuwe voorzieningen (PM)" in iv and "PM Beheer" not in iv   # marked once


def test_every_variant_has_its_curve_and_interval_where_the_choice_moves_the_output(tmp_path):
    """With the other variants: a curve and an interval per variant for outputs the choice moves (investering,
    capaciteit), labelled with the variant and the report's figure for it; one for those it does not move."""
    laag, hoog = variant_plans(load_priors(), load_gebieden(), ("laag", "hoog"), chunk_size=1024)
    res = {v: run(plan=p, draws=3000, seed=5) for v, p in (("laag", laag), ("hoog", hoog))}
    rows = {v: summarise(r, variant=v) for v, r in res.items()}
    charts.s_curves(res["laag"], rows["laag"], tmp_path, [("hoog", res["hoog"], rows["hoog"])])
    charts.intervals(rows["laag"], tmp_path, [("hoog", rows["hoog"])])
    inv = (tmp_path / "s_curve_investeringsopgave.svg").read_text(encoding="utf-8")
    assert "variant hoog" in inv and "rapport 6,3 (laag) / 11,8 (hoog)" in inv
    rest = (tmp_path / "s_curve_publieke_restopgave.svg").read_text(encoding="utf-8")
    assert "variant hoog" not in rest and "rapport 3,6" in rest
    iv = (tmp_path / "deelopgaven_intervallen.svg").read_text(encoding="utf-8")
    assert "[hoog]" in iv and "Nieuwbouw" in iv and "Nieuwbouw [hoog]" not in iv
