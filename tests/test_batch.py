"""Tests of scenarios (model/scenarios.py) and batch runs on Dask (model/batch.py).

The batch tests run a small grid (3 scenarios x 2 seeds) serially in this process (the reference), on a real
``LocalCluster`` of 2 worker processes, and on a cluster whose worker is killed mid-batch; the saved outputs
must be identical bit for bit, and the interrupted batch must complete on resume without touching the runs
that had finished.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from model import batch
from model.batch import MARKER, RESULT, RUN_JSON, SUMMARY, run_batch
from model.errors import PriorError
from model.scenarios import SCENARIOS_DIR, list_scenarios, load_scenario

SPECS = ["default", "rapport_laag", "83_gemeenten"]
SEEDS = [1, 2]
DRAWS = 6000
NAMES = [f"{s}_seed{seed}_draws{DRAWS}" for s in SPECS for seed in SEEDS]


def assert_same_runs(a: Path, b: Path, names=NAMES) -> None:
    """The saved outputs of two batch folders are identical bit for bit (run.json: the identity only)."""
    for name in names:
        assert (a / name / MARKER).exists() and (b / name / MARKER).exists(), name
        assert (a / name / SUMMARY).read_bytes() == (b / name / SUMMARY).read_bytes(), name
        with xr.open_dataset(a / name / RESULT, engine="h5netcdf") as x, \
                xr.open_dataset(b / name / RESULT, engine="h5netcdf") as y:
            assert set(x.variables) == set(y.variables), name
            for v in x.variables:
                xv, yv = x[v].values, y[v].values
                assert xv.dtype == yv.dtype and xv.shape == yv.shape, (name, v)
                if xv.dtype.kind == "f":
                    assert xv.tobytes() == yv.tobytes(), (name, v)
                else:
                    assert np.array_equal(xv, yv), (name, v)
            assert x.attrs == y.attrs, name
        ia = json.loads((a / name / RUN_JSON).read_text())["identity"]
        ib = json.loads((b / name / RUN_JSON).read_text())["identity"]
        assert ia == ib, name


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The reference: the batch run serially in this process, without Dask."""
    out = tmp_path_factory.mktemp("serial")
    res = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=out, scheduler="serial", progress=False)
    assert res.ok and sorted(res.done) == sorted(NAMES)
    return out


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster (2 processes) whose scheduler gives up a task at the first worker death."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cl = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield cl
    cl.close()


# --------------------------------------------------------------------------------------------- batch
def test_local_cluster_gives_identical_results(serial, tmp_path):
    """run_batch's default: its own LocalCluster with 2 worker processes; same bits as the serial run."""
    res = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=tmp_path, n_workers=2, progress=False)
    assert res.ok, res.failed
    assert sorted(res.done) == sorted(NAMES) and not res.skipped
    assert_same_runs(tmp_path, serial)
    assert not list(tmp_path.glob(".tmp-*"))


def test_killed_worker_mid_batch_then_resume(serial, cluster, tmp_path):
    """Kill a worker process while it runs a task: that task fails and is reported, the others are kept;
    the resumed batch completes, leaves the finished runs untouched, and matches the serial run."""
    from distributed import Client

    out = tmp_path / "batch"
    box: dict = {}

    def first_batch():
        try:
            box["res"] = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=out, scheduler=cluster.scheduler_address,
                                   progress=False)
        except BaseException as exc:  # pragma: no cover - surfaced below
            box["exc"] = exc

    thread = threading.Thread(target=first_batch)
    thread.start()
    victim = None
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        deadline = time.time() + 240
        while victim is None and thread.is_alive() and time.time() < deadline:
            if list(out.glob(f"*/{MARKER}")):                      # mid-batch: at least one run finished
                busy = [w for w, keys in client.processing().items() if any("npvr-" in str(k) for k in keys)]
                if busy:
                    victim = busy[0]
                    try:
                        client.run(os._exit, 1, workers=[victim])
                    except Exception:
                        pass                                       # the worker died under the call
            time.sleep(0.01)
    thread.join(timeout=300)
    assert "exc" not in box, box.get("exc")
    assert victim is not None, "the batch finished before a worker could be killed"
    res1 = box["res"]
    assert res1.failed, "killing a busy worker must fail its task"
    assert any("KilledWorker" in err for err in res1.failed.values()), res1.failed
    assert sorted(res1.done + list(res1.failed)) == sorted(NAMES)
    status = json.loads((out / "batch.json").read_text())
    assert status["status"] == "failed" and set(status["failed"]) == set(res1.failed)

    finished = {p.parent.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob(f"*/{MARKER}")}
    # every run reported done is finished; a killed task may (rarely) have finished just before the kill
    assert set(res1.done) <= set(finished) and set(finished) - set(res1.done) <= set(res1.failed)
    res2 = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=out, scheduler=cluster.scheduler_address, progress=False)
    assert res2.ok, res2.failed
    assert sorted(res2.skipped) == sorted(finished)
    assert sorted(res2.done) == sorted(set(NAMES) - set(finished))
    for name, stamp in finished.items():                           # never overwritten
        p = out / name / MARKER
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == stamp
    assert_same_runs(out, serial)
    assert not list(out.glob(".tmp-*"))
    assert json.loads((out / "batch.json").read_text())["status"] == "ok"


def test_failed_task_is_reported_and_resume_completes(serial, tmp_path, monkeypatch, capsys):
    real = batch.run_scenario

    def flaky(scenario, seed, draws, chunk_size):
        if scenario.naam == "rapport_laag" and seed == 2:
            raise RuntimeError("simulated failure mid-run")
        return real(scenario, seed, draws, chunk_size)

    monkeypatch.setattr(batch, "run_scenario", flaky)
    res = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=tmp_path, scheduler="serial", progress=False)
    bad = f"rapport_laag_seed2_draws{DRAWS}"
    assert list(res.failed) == [bad] and "simulated failure mid-run" in res.failed[bad]
    assert sorted(res.done) == sorted(n for n in NAMES if n != bad)
    assert bad in capsys.readouterr().err
    assert not (tmp_path / bad).exists() and not list(tmp_path.glob(".tmp-*"))
    assert json.loads((tmp_path / "batch.json").read_text())["runs"][bad] == "failed"
    monkeypatch.undo()
    res2 = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=tmp_path, scheduler="serial", progress=False)
    assert res2.ok and res2.done == [bad] and len(res2.skipped) == 5
    assert_same_runs(tmp_path, serial)


def test_finished_runs_are_never_overwritten_or_mixed(serial):
    with pytest.raises(FileExistsError, match="finished run exists"):
        run_batch(SPECS[:1], SEEDS[:1], draws=DRAWS, out_dir=serial, scheduler="serial", resume=False,
                  progress=False)
    with pytest.raises(FileExistsError, match=r"different definition \(differs in \['chunk_size'\]\)"):
        run_batch(SPECS[:1], SEEDS[:1], draws=DRAWS, out_dir=serial, scheduler="serial", chunk_size=1000,
                  progress=False)


def test_batch_summary_compares_scenarios(serial):
    with open(serial / "batch_vergelijking.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["naam", "statistiek", *SPECS]
    table = {(r[0], r[1]): dict(zip(SPECS, map(float, r[2:]))) for r in rows[1:]}
    tot = table[("totaal", "p50")]
    assert tot["rapport_laag"] < tot["default"] < tot["83_gemeenten"]
    cw = table[("contante_waarde_0.0225", "p50")]
    assert cw["default"] < tot["default"]                                    # discounting lowers the sum
    assert table[("contante_waarde_0.0160", "p50")]["default"] > cw["default"]
    with open(serial / "batch_samenvatting.csv", encoding="utf-8") as fh:
        long_rows = list(csv.DictReader(fh))
    assert {(r["scenario"], int(r["seed"])) for r in long_rows} == {(s, seed) for s in SPECS for seed in SEEDS}
    assert (serial / "batch_vergelijking.png").stat().st_size > 1000
    ds, rows, meta = batch.load_run(serial / NAMES[0])
    assert ds.sizes["draw"] == DRAWS and meta["identity"]["seed"] == 1
    assert {"totaal", "contante_waarde_0.0225", "per_jaar_reeel_totaal_2030"} <= {r["naam"] for r in rows}


def test_cli_batch(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="cli.py")
    sub = parser.add_subparsers(dest="command", required=True)
    batch.register_cli(sub)
    args = parser.parse_args(["batch", "rapport_hoog", "--seeds", "3", "4", "--draws", "500", "--scheduler",
                              "serial", "--out", str(tmp_path / "b"), "--quiet"])
    assert args.func(args) == 0
    assert "2 run(s) done" in capsys.readouterr().out
    assert (tmp_path / "b" / "rapport_hoog_seed4_draws500" / MARKER).exists()
    assert args.func(args) == 0                                              # resume: nothing left to do
    assert "2 already finished" in capsys.readouterr().out
    args = parser.parse_args(["batch", "rapport_hoog", "--draws", "500", "--scheduler", "serial",
                              "--out", str(tmp_path / "b"), "--quiet", "--seeds", "3", "--no-resume"])
    assert args.func(args) == 2


def test_bad_scenario_stops_the_batch_before_any_run(tmp_path):
    (tmp_path / "kapot.toml").write_text('[fixed]\nnormniveau = "hoog"\n', encoding="utf-8")
    with pytest.raises(PriorError, match=r"kapot.toml: fixed.normniveau: non-numeric value 'hoog'"):
        run_batch(["default", "kapot"], [1], draws=100, out_dir=tmp_path / "out", scheduler="serial",
                  scenario_dir=tmp_path, progress=False)
    assert not list((tmp_path / "out").glob("*_seed*"))


# ----------------------------------------------------------------------------------------- scenarios
def test_shipped_scenarios_load():
    names = list_scenarios()
    for n in ("rapport_laag", "rapport_hoog", "bouwkosten_hoog", "huishoudens_2035_hoog", "huishoudens_2035_laag",
              "83_gemeenten"):
        assert n in names
    for n in names:
        sc = load_scenario(n)
        assert sc.description
    assert load_scenario("rapport_laag").overrides == {"normniveau": 0.0, "vraagjaar": 0.0}
    assert load_scenario("rapport_hoog").overrides == {"normniveau": 1.0, "vraagjaar": 1.0}
    g = load_scenario("83_gemeenten").gebieden()
    assert len(g.gm_code) == 83 and {"Harlingen", "Waadhoeke"} <= set(g.gemeente)
    assert len(load_scenario("default").gebieden().gm_code) == 81
    hoog = load_scenario("huishoudens_2035_hoog").priors["huishoudensgroei_2035"]
    assert hoog.distribution["p50"] == 0.08 and hoog.point == 0.08 and hoog.file == "huishoudens_2035_hoog.toml"
    bk = load_scenario("bouwkosten_hoog").jaren_priors["bouwkostenstijging_per_jaar"]
    assert bk.distribution["p50"] == 0.063
    hashes = {load_scenario(n).hash for n in names}
    assert len(hashes) == len(names)


def test_scenario_effects_on_small_runs():
    """Same seed (common random numbers): the shipped scenarios move the numbers the right way."""
    from model.jaren import groepen

    res = {n: batch.run_scenario(load_scenario(n), 7, 2000, 1024) for n in
           ("default", "rapport_laag", "rapport_hoog", "bouwkosten_hoog", "huishoudens_2035_hoog",
            "huishoudens_2035_laag")}

    def out(n, name):
        r = res[n][0]
        return r.outputs[[o.naam for o in r.plan.outputs].index(name)]

    assert out("rapport_laag", "capaciteit").mean() < out("default", "capaciteit").mean() \
        < out("rapport_hoog", "capaciteit").mean()
    assert out("huishoudens_2035_laag", "capaciteit").mean() < out("huishoudens_2035_hoog", "capaciteit").mean()
    # construction costs only change the years, not the totals at prijspeil
    assert np.array_equal(out("bouwkosten_hoog", "capaciteit"), out("default", "capaciteit"))
    nom = {n: groepen(res[n][1], "nominaal").sel(groep="totaal").sum("jaar").values for n in res}
    assert np.all(nom["bouwkosten_hoog"] >= nom["default"]) and nom["bouwkosten_hoog"].mean() > nom["default"].mean()


def test_scenario_inheritance(tmp_path):
    (tmp_path / "kind.toml").write_text(
        'description = "child"\nbase = "rapport_laag"\n[fixed]\nvraagjaar = 1.0\n'
        '[jaren]\ndiscontovoet = 0.03\ngevoeligheid = [0.0225]\n', encoding="utf-8")
    (tmp_path / "rapport_laag.toml").write_text((SCENARIOS_DIR / "rapport_laag.toml").read_text(encoding="utf-8"),
                                                encoding="utf-8")
    (tmp_path / "kleinkind.toml").write_text(
        'base = "kind"\n[distributions.normniveau]\nfamily = "uniform"\nmin = 0.0\nmax = 1.0\ncoverage = 1.0\n',
        encoding="utf-8")
    kind = load_scenario("kind", directory=tmp_path)
    assert kind.overrides == {"normniveau": 0.0, "vraagjaar": 1.0}
    assert kind.jaren.rates == (0.03, 0.0225)
    klein = load_scenario("kleinkind", directory=tmp_path)
    assert klein.overrides == {"vraagjaar": 1.0}                  # its distribution lifts the base's fixed value
    assert klein.priors["normniveau"].distribution["family"] == "uniform"
    assert klein.description == "child" and len(klein.files) == 3


BAD = {
    "top key": ('[fixd]\nnormniveau = 0\n', r"^bad.toml: fixd: unknown key"),
    "fixed name": ('[fixed]\nnormnivo = 0\n', r"^bad.toml: fixed.normnivo: unknown entry 'normnivo' "
                                             r"\(did you mean \['normniveau'"),
    "fixed value": ('[fixed]\nnormniveau = "laag"\n', r"^bad.toml: fixed.normniveau: non-numeric value 'laag'"),
    "fixed bool": ('[fixed]\nnormniveau = true\n', r"^bad.toml: fixed.normniveau: non-numeric value True"),
    "fixed bounds": ('[fixed]\nnormniveau = 7\n', r"^bad.toml: fixed.normniveau: 7 lies outside the hard bounds"),
    "order": ('[distributions.huishoudensgroei_2035]\nfamily = "normal"\np5 = 0.1\np50 = 0.04\np95 = 0.08\n',
              r"^bad.toml: distributions.huishoudensgroei_2035.p5: P5 = 0.1 > P50 = 0.04"),
    "family": ('[distributions.huishoudensgroei_2035]\nfamily = "gamma"\np5 = 0.0\np95 = 0.08\n',
               r"^bad.toml: distributions.huishoudensgroei_2035.family: unknown family 'gamma'"),
    "dist key": ('[distributions.huishoudensgroei_2035]\nfamily = "normal"\np5 = 0.0\np7 = 0.08\n',
                 r"^bad.toml: distributions.huishoudensgroei_2035: unknown key\(s\) \['p7'\]"),
    "dist name": ('[distributions.huishoudens]\nfamily = "normal"\np5 = 0.0\np95 = 0.08\n',
                  r"^bad.toml: distributions.huishoudens: unknown entry 'huishoudens'"),
    "dist fit": ('[distributions.huishoudensgroei_2035]\nfamily = "normal"\np5 = 0.0\np50 = 0.01\np95 = 0.08\n',
                 r"^bad.toml: distributions.huishoudensgroei_2035: .*"),
    "dist point": ('[distributions.vraagjaar]\nfamily = "uniform"\nmin = 0.0\nmax = 1.0\ncoverage = 1.0\n'
                   'point = 2.0\n', r"^bad.toml: distributions.vraagjaar.point: 2.0 lies outside the hard bounds"),
    "year prior": ('[distributions.bouwkostenstijging_per_jaar]\nfamily = "normal"\np5 = 0.5\np50 = 0.6\n'
                   'p95 = 0.7\n', r"^bad.toml: distributions.bouwkostenstijging_per_jaar.p5: 0.5 lies outside"),
    "both": ('[fixed]\nvraagjaar = 0.5\n[distributions.vraagjaar]\nfamily = "uniform"\nmin = 0.0\nmax = 1.0\n'
             'coverage = 1.0\n', r"^bad.toml: fixed.vraagjaar: also given under \[distributions\]"),
    "membership code": ('[membership]\nextra = ["GM9999"]\n',
                        r"^bad.toml: membership.extra: unknown gemeente code 'GM9999'"),
    "membership key": ('[membership]\nextra_ = ["GM0072"]\n', r"^bad.toml: membership.extra_: unknown key"),
    "membership type": ('[membership]\nextra = "GM0072"\n', r"^bad.toml: membership.extra: must be a list"),
    "confidence": ('[membership]\nconfidences = ["zeker"]\n', r"^bad.toml: membership.confidences: unknown confidence"),
    "jaren key": ('[jaren]\ndisconto = 0.03\n', r"^bad.toml: jaren.disconto: unknown key"),
    "jaren rate": ('[jaren]\ndiscontovoet = "2.25%"\n', r"^bad.toml: jaren.discontovoet: must be a rate"),
    "jaren list": ('[jaren]\ngevoeligheid = 0.03\n', r"^bad.toml: jaren.gevoeligheid: must be a list of rates"),
    "jaren bool": ('[jaren]\nmidjaar = 1\n', r"^bad.toml: jaren.midjaar: must be true or false"),
    "base": ('base = "bestaat_niet"\n', r"^bad.toml: base: unknown scenario 'bestaat_niet'"),
    "base type": ('base = 3\n', r"^bad.toml: base: must be a scenario name"),
    "description": ('description = 3\n', r"^bad.toml: description: must be a text"),
    "toml": ('base = \n', r"^bad.toml: \(file\): invalid TOML"),
    "table": ('fixed = 3\n', r"^bad.toml: fixed: must be a table"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_scenario_errors_name_file_and_field(tmp_path, case):
    text, pattern = BAD[case]
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    with pytest.raises(PriorError, match=pattern):
        load_scenario("bad", directory=tmp_path)


def test_errors_in_a_base_name_the_base_file(tmp_path):
    (tmp_path / "basis.toml").write_text('[fixed]\nvraagjaar = 3\n', encoding="utf-8")
    (tmp_path / "kind.toml").write_text('base = "basis"\n', encoding="utf-8")
    with pytest.raises(PriorError, match=r"^basis.toml: fixed.vraagjaar: 3 lies outside"):
        load_scenario("kind", directory=tmp_path)
    (tmp_path / "a.toml").write_text('base = "b"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('base = "a"\n', encoding="utf-8")
    with pytest.raises(PriorError, match=r"^b.toml: base: cycle of bases"):
        load_scenario("a", directory=tmp_path)
    with pytest.raises(PriorError, match=r"^c.toml: \(file\): no such scenario file"):
        load_scenario("c", directory=tmp_path)
