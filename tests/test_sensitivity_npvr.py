"""Sensitivity analysis on the NPVR model (model.sensitivity_npvr): tornado, Sobol', writers, CLI, run folders."""

from __future__ import annotations

import argparse
import csv
import json
import re

import numpy as np
import pytest

from model import sensitivity_npvr as sn
from model.engine import evaluate_inputs, make_plan, output_index
from model.registry import DEELOPGAVEN
from model.report import reproduce


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


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cli.py")
    sub = parser.add_subparsers(dest="command", required=True)
    sn.register_cli(sub)
    args = parser.parse_args(argv)
    return args.func(args)


# --------------------------------------------------------------------------------------------- inputs


def test_input_spec_follows_the_plan(plan, spec):
    assert spec.names == list(plan.names)
    assert len(spec.names) > 80
    np.testing.assert_array_equal(spec.corr, plan.copula.normal_corr)
    for i, name in enumerate(spec.names):
        entry = plan.priors[name]
        assert spec.point[i] == entry.point
        assert spec.kinds[i] == entry.kind
        assert spec.deelopgave[i] == entry.file.removesuffix(".yaml")
    x = spec._ppf(spec.index("stichtingskosten_basisschool"), np.array([0.1, 0.5, 0.9]))
    assert np.all(np.diff(x) > 0)


def test_model_function_is_evaluate_inputs_and_independent_of_threads(plan, spec):
    rng = np.random.default_rng(3)
    u = rng.uniform(0.05, 0.95, size=(spec.n_inputs, 101))
    theta = np.array([spec._ppf(i, u[i]) for i in range(spec.n_inputs)])
    expected = evaluate_inputs(plan, theta)[output_index(plan, "investeringsopgave")]
    np.testing.assert_array_equal(sn.model_function(plan, "investeringsopgave")(theta), expected)
    np.testing.assert_array_equal(sn.model_function(plan, "investeringsopgave", threads=2, piece=7)(theta),
                                  expected)


def test_report_figures_are_the_printed_ones():
    assert sn.report_figures("publieke_restopgave") == (3.6e9,)
    assert sn.report_figures("totaal_exploitatielasten") == (0.6e9,)
    assert sn.report_figures("investeringsopgave") == (6.3e9, 11.8e9)
    assert sn.report_figures("capaciteit") == (1.4e9, 6.4e9)
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
    assert len(tornado_pr.rows) == spec.n_inputs
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


def test_investeringsopgave_tornado_marks_both_ends_of_the_band(plan):
    t = sn.tornado_npvr("investeringsopgave", plan=plan)
    assert t.report == (6.3e9, 11.8e9)
    fig = sn._new_figure(4, 3)
    ax = fig.add_subplot()
    sn._report_lines(ax, t.report, vertical=True)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["rapport (laag): €6,3 mld.", "rapport (hoog): €11,8 mld."]


def test_write_tornado_and_spider(plan, tornado_pr, tmp_path):
    s = sn.spider_npvr("publieke_restopgave", plan=plan)
    assert s.base == pytest.approx(tornado_pr.base, rel=1e-12)
    paths = sn.write_tornado(tmp_path, tornado_pr, plan, s)
    names = {p.name for p in paths}
    assert {"tornado.png", "tornado.svg", "tornado.csv", "spider.png", "spider.svg", "spider.csv",
            "manifest.json"} <= names
    for p in paths:
        assert p.stat().st_size > 0
    with (tmp_path / "tornado.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(tornado_pr.rows)
    assert rows[0]["input"] == tornado_pr.rows[0]["input"]
    assert float(rows[0]["base"]) == pytest.approx(tornado_pr.base, rel=1e-12)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["report_figures"] == [3.6e9]
    assert manifest["output"] == "totaal_publieke_restopgave"


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
    # the band's own switch and the biggest investment line dominate
    top = [r["input"] for r in res.sorted_rows("ST")[:3]]
    assert "normniveau" in top
    # inputs that only feed other columns have (numerically) zero total effect
    st = {r["input"]: r["ST"] for r in res.rows}
    assert st["kental_openbare_ruimte_per_inwoner_per_jaar"] == pytest.approx(0.0, abs=1e-12)


def test_sobol_groups_and_dependence(sobol_inv, plan):
    assert sobol_inv.by_deelopgave.joint_sampling is True
    assert sobol_inv.by_kind.joint_sampling is False
    assert {r["group"] for r in sobol_inv.by_kind.rows} == {"hoeveelheid", "kental", "norm"}
    assert "stichtingskosten" in {r["group"] for r in sobol_inv.by_deelopgave.rows}
    cg = sobol_inv.correlated_groups
    assert cg is not None and cg.joint_sampling is True
    blocks = [r for r in cg.rows if len(r["members"]) > 1]
    assert len(blocks) == len(plan.copula.blocks)
    assert {"groep stichtingskosten", "groep capaciteit_vastgoed"} <= {r["group"] for r in blocks}
    assert "independent" in sobol_inv.dependence_note
    assert "jointly" in sobol_inv.dependence_note
    assert sobol_inv.n_evaluations > 0 and sobol_inv.seconds > 0


def test_write_sobol(sobol_inv, plan, tmp_path):
    paths = sn.write_sobol(tmp_path, sobol_inv, plan)
    names = {p.name for p in paths}
    for stem in ("sobol_inputs", "sobol_deelopgave", "sobol_kind", "sobol_correlated"):
        assert {f"{stem}.csv", f"{stem}.png", f"{stem}.svg"} <= names
    assert {"dependence_note.txt", "manifest.json"} <= names
    for p in paths:
        assert p.stat().st_size > 0
    with (tmp_path / "sobol_inputs.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(plan.names)
    assert set(rows[0]) >= {"input", "kind", "deelopgave", "S1", "S1_conf", "ST", "ST_conf"}
    sts = [float(r["ST"]) for r in rows]
    assert sts == sorted(sts, reverse=True)
    with (tmp_path / "sobol_kind.csv").open(encoding="utf-8") as fh:
        assert {r["group"] for r in csv.DictReader(fh)} == {"hoeveelheid", "kental", "norm"}


# --------------------------------------------------------------------------------------------- CLI

RUN_NAME = re.compile(r"^(tornado|sobol)-[a-z_]+-\d{8}T\d{6}Z-[0-9a-f]{4}$")


def test_cli_tornado_json(tmp_path, capsys):
    assert _cli(["tornado", "--json", "--out", str(tmp_path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(set(r) == {"input", "low", "high", "swing"} for r in rows)
    assert [r["swing"] for r in rows] == sorted((r["swing"] for r in rows), reverse=True)
    folders = [p for p in tmp_path.iterdir()]
    assert len(folders) == 1 and RUN_NAME.match(folders[0].name), folders
    assert folders[0].name.startswith("tornado-publieke_restopgave-")
    assert (folders[0] / "tornado.png").exists() and (folders[0] / "tornado.csv").exists()


def test_cli_tornado_text_and_options(tmp_path, capsys):
    assert _cli(["tornado", "capaciteit", "--low", "0.05", "--high", "0.95", "--top", "3",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "P5 / P95" in out and "run folder:" in out
    (folder,) = list(tmp_path.iterdir())
    assert folder.name.startswith("tornado-capaciteit-")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["settings"]["low_q"] == 0.05 and manifest["settings"]["high_q"] == 0.95


def test_cli_sobol_json(tmp_path, capsys):
    assert _cli(["sobol", "--n-base", "256", "--seed", "1", "--json", "--out", str(tmp_path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(set(r) == {"input", "S1", "S1_conf", "ST", "ST_conf"} for r in rows)
    (folder,) = list(tmp_path.iterdir())
    assert RUN_NAME.match(folder.name) and folder.name.startswith("sobol-investeringsopgave-")
    assert (folder / "sobol_inputs.csv").exists() and (folder / "sobol_inputs.png").exists()
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["settings"]["n_base"] == 256


def test_cli_defaults():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    sn.register_cli(sub)
    t = parser.parse_args(["tornado"])
    assert (t.output, t.low, t.high, t.json, t.out) == ("publieke_restopgave", 0.10, 0.90, False, "runs")
    s = parser.parse_args(["sobol"])
    assert (s.output, s.n_base, s.seed, s.json, s.out) == ("investeringsopgave", 2**14, 0, False, "runs")




def test_rename_noreplace_refuses_existing_empty_folder(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    with pytest.raises(FileExistsError):
        __import__('model.runs', fromlist=['x'])._rename_noreplace(src, dst)
    assert src.exists() and dst.exists()


def test_failed_run_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with sn.new_run_folder(tmp_path, "tornado-x") as tmp:
            (tmp / "half.txt").write_text("x", encoding="utf-8")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


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
