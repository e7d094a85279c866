"""The run folder's SVG charts (``model.output.charts``): well-formed SVG with the figures they are about."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from model.analysis.summary import summarise
from model.engine.run import run
from model.output import charts


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
    assert "rapport 6,3 - 11,8" in (tmp_path / "s_curve_investeringsopgave.svg").read_text(encoding="utf-8")
    assert "kans ≤ x" in (tmp_path / "s_curve_pm.svg").read_text(encoding="utf-8")
    assert "PM Beheer en onderhoud" in (tmp_path / "deelopgaven_intervallen.svg").read_text(encoding="utf-8")
