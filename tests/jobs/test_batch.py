"""Batch runs on Dask (``model.jobs.batch``): scenarios × seeds, each task a run job in its own run folder.

The tests run a small grid (3 scenarios × 2 seeds) serially in this process (the reference), on a real
``LocalCluster`` of 2 worker processes (bound to 127.0.0.1), and on a cluster whose worker is killed mid-batch; the
saved results must be identical bit for bit, and the interrupted batch must complete on resume without touching the
runs that had finished.
"""

from __future__ import annotations

import csv
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from model.errors import PriorError
from model.jobs import batch
from model.jobs.batch import COMPARISON, LOCK, run_batch
from support import assert_same_runs, check_manifest

SPECS = ["default", "bouwkosten_hoog", "83_gemeenten"]
SEEDS = [1, 2]
DRAWS = 6000
NAMES = [f"{s}_seed{seed}_draws{DRAWS}" for s in SPECS for seed in SEEDS]
pytestmark = pytest.mark.slow


def _finished(out: Path) -> dict:
    return {p.parent.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*/manifest.json")
            if not p.parent.name.startswith(COMPARISON)}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The reference: the batch run serially in this process, without Dask."""
    out = tmp_path_factory.mktemp("serial")
    res = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=out, scheduler="serial", progress=False)
    assert res.ok and sorted(res.done) == sorted(NAMES)
    return out, res


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster (2 processes, on 127.0.0.1) whose scheduler gives up a task at the first worker death."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cl = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    yield cl
    cl.close()


def test_local_cluster_gives_identical_results(serial, tmp_path):
    """run_batch's default: its own LocalCluster with 2 worker processes; same bits as the serial run."""
    res = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=tmp_path, n_workers=2, progress=False)
    assert res.ok, res.failed
    assert sorted(res.done) == sorted(NAMES) and not res.skipped
    assert_same_runs(tmp_path, serial[0], NAMES)
    assert not list(tmp_path.glob(".tmp-*")) and not (tmp_path / LOCK).exists()


def test_killed_worker_mid_batch_then_resume(serial, cluster, tmp_path):
    """Kill a worker process while it runs a task: that task fails and is reported, the others are kept; the resumed
    batch completes, leaves the finished runs untouched, and matches the serial run."""
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
            if _finished(out):                                     # mid-batch: at least one run finished
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

    finished = _finished(out)
    # every run reported done is finished; a killed task may (rarely) have finished just before the kill
    assert set(res1.done) <= set(finished) and set(finished) - set(res1.done) <= set(res1.failed)
    res2 = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=out, scheduler=cluster.scheduler_address, progress=False)
    assert res2.ok, res2.failed
    assert sorted(res2.skipped) == sorted(finished)
    assert sorted(res2.done) == sorted(set(NAMES) - set(finished))
    for name, stamp in finished.items():                           # never overwritten
        p = out / name / "manifest.json"
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == stamp
    assert_same_runs(out, serial[0], NAMES)
    assert not list(out.glob(".tmp-*"))
    assert json.loads((out / "batch.json").read_text())["status"] == "ok"
    assert len(list(out.glob(f"{COMPARISON}-*"))) == 2             # each batch call its own comparison


def test_failed_task_is_reported_and_resume_completes(serial, tmp_path, monkeypatch, capsys):
    real = batch.run_job

    def flaky(**kwargs):
        if kwargs["scenario"].naam == "bouwkosten_hoog" and kwargs["seed"] == 2:
            raise RuntimeError("simulated failure mid-run")
        return real(**kwargs)

    monkeypatch.setattr(batch, "run_job", flaky)
    res = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=tmp_path, scheduler="serial", progress=False)
    bad = f"bouwkosten_hoog_seed2_draws{DRAWS}"
    assert list(res.failed) == [bad] and "simulated failure mid-run" in res.failed[bad]
    assert sorted(res.done) == sorted(n for n in NAMES if n != bad)
    assert bad in capsys.readouterr().err
    assert not (tmp_path / bad).exists() and not list(tmp_path.glob(".tmp-*"))
    assert json.loads((tmp_path / "batch.json").read_text())["runs"][bad] == "failed"
    monkeypatch.undo()
    res2 = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=tmp_path, scheduler="serial", progress=False)
    assert res2.ok and res2.done == [bad] and len(res2.skipped) == 5
    assert_same_runs(tmp_path, serial[0], NAMES)


def test_finished_runs_are_never_overwritten_or_mixed(serial):
    out = serial[0]
    with pytest.raises(FileExistsError, match="finished run exists"):
        run_batch(SPECS[:1], SEEDS[:1], draws=DRAWS, out_dir=out, scheduler="serial", resume=False, progress=False)
    with pytest.raises(FileExistsError, match=r"different definition \(differs in \['chunk_size'\]\)"):
        run_batch(SPECS[:1], SEEDS[:1], draws=DRAWS, out_dir=out, scheduler="serial", chunk_size=1000,
                  progress=False)


def test_a_second_batch_into_a_held_folder_is_refused(tmp_path):
    """One batch at a time per folder: a live lock refuses the second (exit 2 from the command line), a lock left by
    a process that is gone is taken over."""
    out = tmp_path / "b"
    out.mkdir()
    (out / LOCK).write_text(json.dumps({"pid": os.getpid(), "host": batch.socket.gethostname()}), encoding="utf-8")
    with pytest.raises(FileExistsError, match="another batch"):
        run_batch(["default"], [1], draws=100, out_dir=out, scheduler="serial", progress=False)
    assert sorted(p.name for p in out.iterdir()) == [LOCK]
    (out / LOCK).write_text(json.dumps({"pid": 2**22 + 12345, "host": batch.socket.gethostname()}), encoding="utf-8")
    res = run_batch(["default"], [1], draws=100, out_dir=out, scheduler="serial", progress=False)
    assert res.ok and not (out / LOCK).exists()


def test_batch_comparison(serial):
    out, res = serial
    folder = res.comparison
    assert folder.parent == out and folder.name.startswith(f"{COMPARISON}-")
    with open(folder / "batch_vergelijking.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["output", "variant", "statistiek", *SPECS]
    table = {(r[0], r[1], r[2]): dict(zip(SPECS, map(float, r[3:]))) for r in rows[1:]}
    inv = {v: table[("totaal_investeringsopgave", v, "p50")] for v in ("laag", "hoog")}
    assert inv["laag"]["default"] < inv["laag"]["83_gemeenten"] and inv["laag"]["default"] < inv["hoog"]["default"]
    assert inv["laag"]["bouwkosten_hoog"] == inv["laag"]["default"]     # construction costs move the years only
    cw = table[("contante_waarde_0.0225", "laag", "p50")]
    assert cw["default"] < table[("contante_waarde_0.0160", "laag", "p50")]["default"]   # discounting more lowers it
    assert ("contante_waarde_0.0225", "hoog", "p50") not in table          # the year model runs in the main variant
    with open(folder / "batch_samenvatting.csv", encoding="utf-8") as fh:
        long_rows = list(csv.DictReader(fh))
    assert {(r["scenario"], r["variant"], int(r["seed"])) for r in long_rows} == \
        {(s, v, seed) for s in SPECS for v in ("laag", "hoog") for seed in SEEDS}
    assert (folder / "batch_vergelijking.png").stat().st_size > 1000
    manifest = check_manifest(folder, "batch")
    assert sorted(manifest["results"]["finished"]) == sorted(NAMES)
    task = check_manifest(out / NAMES[0], "run")
    assert task["arguments"]["batch_task"] == NAMES[0] and task["random"]["seed"] == 1


def test_bad_scenario_stops_the_batch_before_any_run(tmp_path):
    (tmp_path / "kapot.toml").write_text('[fixed]\naandeel_publiek_capaciteit = "hoog"\n', encoding="utf-8")
    with pytest.raises(PriorError, match=r"kapot.toml: fixed.aandeel_publiek_capaciteit: non-numeric value 'hoog'"):
        run_batch(["default", "kapot"], [1], draws=100, out_dir=tmp_path / "out", scheduler="serial",
                  scenario_dir=tmp_path, progress=False)
    assert not (tmp_path / "out").exists()


def test_a_task_folder_is_readable_with_xarray(serial):
    import xarray as xr

    folder = serial[0] / NAMES[0]
    with xr.open_dataset(folder / "dataset.nc", group="jaren", engine="h5netcdf") as ds:
        assert set(ds["contante_waarde"].dims) == {"chain", "draw", "discontovoet"}
        assert ds.sizes["chain"] * ds.sizes["draw"] == DRAWS
    with xr.open_dataset(folder / "dataset.nc", engine="h5netcdf") as ds:
        assert ds["samenvatting"].dims == ("uitkomst", "statistiek")
    assert np.isfinite(json.loads((folder / "manifest.json").read_text())["timings_s"]["total"])


def test_a_batch_at_a_stated_precision_names_its_runs_by_it_and_resumes_them(tmp_path, capsys):
    """``--precision``: each run draws until that precision, at most ``draws``; the task folder names the precision,
    a second call reuses the finished runs (same identity), the command prints the side-by-side table."""
    from model.commands import main

    args = ["batch", "default", "rapport_hoog", "--seeds", "1", "--draws", "70000", "--precision", "0.5%",
            "--scheduler", "serial", "--out", str(tmp_path), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    names = [f"{s}_seed1_draws70000_precisie0.005" for s in ("default", "rapport_hoog")]
    for name in names:
        m = check_manifest(tmp_path / name, "run")
        p = m["results"]["precisie"]
        assert m["arguments"]["precision"] == 0.005 and m["arguments"]["max_draws"] == 70000
        assert p["trekkingen"] == m["arguments"]["draws"] <= 70000 and (p["bereikt"] or p["trekkingen"] == 70000)
    assert "uitkomst (mld. €, prijspeil 2024; P50 (P5 - P95))" in out and "rapport_hoog" in out
    assert "Contante waarde bij 2,25% (zonder PM)" in out
    before = _finished(tmp_path)
    assert main(args) == 0                                   # resumed: the finished runs are reused, not redone
    assert "0 run(s) done, 2 already finished" in capsys.readouterr().out and _finished(tmp_path) == before
    assert len(list(tmp_path.glob(f"{COMPARISON}-*"))) == 2  # each call its own comparison folder
