"""The sensitivity jobs (``model.jobs.sensitivity``): a tornado (with its spider) and Sobol' indices written into a
run folder with tables, plots and the manifest."""

from __future__ import annotations

import csv

import pytest

from model.engine.plan import make_plan
from model.jobs.sensitivity import sobol_job, tornado_job
from support import check_manifest


@pytest.fixture(scope="module")
def plan():
    return make_plan()


def test_tornado_job_writes_tables_plots_and_manifest(plan, tmp_path):
    job = tornado_job("publieke_restopgave", plan=plan, out=tmp_path)
    t, s = job.analysis, job.spider
    assert s.base == pytest.approx(t.base, rel=1e-12)
    assert job.path.parent == tmp_path and job.path.name.startswith("tornado-publieke_restopgave-")
    names = {p.name for p in job.path.iterdir()}
    assert names == {"tornado.png", "tornado.svg", "tornado.csv", "spider.png", "spider.svg", "spider.csv",
                     "manifest.json"}
    for p in job.path.iterdir():
        assert p.stat().st_size > 0, p.name
    with (job.path / "tornado.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(t.rows)
    assert rows[0]["input"] == t.rows[0]["input"]
    assert float(rows[0]["base"]) == pytest.approx(t.base, rel=1e-12)
    manifest = check_manifest(job.path, "tornado")
    assert manifest["random"] is None
    assert manifest["results"]["report_figures"] == [3.6e9]
    assert manifest["arguments"]["output"] == "totaal_publieke_restopgave"
    assert sorted(manifest["files"]) == sorted(names)


def test_sobol_job_writes_tables_plots_and_manifest(plan, tmp_path):
    job = sobol_job("investeringsopgave", n_base=2**8, seed=1, plan=plan, out=tmp_path)
    names = {p.name for p in job.path.iterdir()}
    for stem in ("sobol_inputs", "sobol_deelopgave", "sobol_kind", "sobol_correlated"):
        assert {f"{stem}.csv", f"{stem}.png", f"{stem}.svg"} <= names
    assert {"dependence_note.txt", "manifest.json"} <= names
    with (job.path / "sobol_inputs.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(plan.names)
    assert set(rows[0]) >= {"input", "kind", "deelopgave", "S1", "S1_conf", "ST", "ST_conf"}
    sts = [float(r["ST"]) for r in rows]
    assert sts == sorted(sts, reverse=True)
    with (job.path / "sobol_kind.csv").open(encoding="utf-8") as fh:
        assert {r["group"] for r in csv.DictReader(fh)} == {"hoeveelheid", "kental", "norm"}
    manifest = check_manifest(job.path, "sobol")
    assert manifest["arguments"]["n_base"] == 256 and manifest["random"]["seed"] == 1


def test_a_failed_job_leaves_nothing(plan, tmp_path, monkeypatch):
    from model.output import plots

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(plots, "tornado", broken)
    with pytest.raises(RuntimeError):
        tornado_job("capaciteit", plan=plan, out=tmp_path / "runs")
    assert list(tmp_path.iterdir()) == []
