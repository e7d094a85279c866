"""``cli.py run`` (``model.commands.run``): the JSON and the text a user reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import cli


def test_run_json_intervals_contain_the_report_figures(tmp_path):
    proc = cli("run", "--draws", "20000", "--json", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    printed = {"publieke_restopgave": (3.6e9, 3.6e9), "exploitatielasten": (0.6e9, 0.6e9),
               "investeringsopgave": (6.3e9, 11.8e9)}
    for k, (lo, hi) in printed.items():
        t = res["totaal"][k]
        assert set(t) >= {"mean", "p5", "p50", "p95"}
        assert t["p5"] <= lo and hi <= t["p95"], (k, t)
    assert Path(res["run_dir"]).parent == tmp_path
    assert {r["output"] for r in res["uitkomsten"]} >= {"totaal_pm", "capaciteit", "regio_00"}
    for k, (lo, hi) in printed.items():       # where the report's figures lie in the model's distribution
        t = res["totaal"][k]
        assert t["rapport"] == [lo, hi] and all(0 < p < 1 for p in t["percentiel_rapport"])
        assert t["p_boven_rapport"] == pytest.approx([1 - p for p in t["percentiel_rapport"]])
    views = {(r["kolom"], r["aanname"]): r for r in res["afhankelijkheid"]}
    assert len(views) == 9 and res["posterior"] is None
    for kolom in printed:
        assert views[kolom, "comonotoon"]["p95"] - views[kolom, "comonotoon"]["p5"] >= \
            (views[kolom, "verklaard"]["p95"] - views[kolom, "verklaard"]["p5"]) * 0.999


def test_run_text_shows_the_tables_and_the_folder(tmp_path):
    proc = cli("run", "--draws", "3000", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "uitkomst (mld. €)" in proc.stdout and "Zuid-Limburg" in proc.stdout
    assert "3.000 trekkingen, seed 20250101" in proc.stdout and str(tmp_path) in proc.stdout
