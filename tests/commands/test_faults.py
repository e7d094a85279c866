"""Faults a command must survive from the command line: a full disk, an output folder that cannot be written, two
commands writing into one folder at once, a command killed mid-run, a scheduler that is not there, damaged files
in a finished batch folder, and sizes that cannot fit this machine. Each ends in exit 2 (or the batch's exit 1
for a failed task) with one line naming the file or the option, no traceback, and nothing written or lost.

The full-disk and read-only cases mount a small tmpfs (root only; skipped with the reason elsewhere).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from model.analysis.calibration.sampling import FULL

from model.jobs.batch import COMPARISON, LOCK
from model.paths import REPO
from model.spec.priors import load_priors
from support import cli, priors_with, remount_readonly, tmpfs, wait_for

BATCH = ["batch", "default", "--scheduler", "serial", "--quiet"]


def _one_error_line(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    """The command stopped with ``code`` and an ``error:`` line, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


def _popen(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "cli.py", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _temporary(folder) -> list:
    return sorted(p for p in folder.glob(".tmp-*")) if folder.is_dir() else []


# ------------------------------------------------------------------------------------------------ full disk
@pytest.mark.slow
def test_a_full_disk_is_a_clear_error_and_leaves_nothing(tmp_path):
    """On a78215f HDF5's ENOSPC was followed by a segfault (exit 139) and a half-written temporary folder."""
    with tmpfs(tmp_path / "disk", "8m") as disk:
        line = _one_error_line(cli("run", "--out", str(disk / "runs")))     # a default run needs ~21 MB
        assert line.startswith(f"error: {disk / 'runs'}/run-") and "No space left on device" in line, line
        assert [p for p in disk.rglob("*") if p.is_file()] == []


@pytest.mark.slow
def test_a_batch_on_a_full_disk_marks_the_task_failed_and_resumes_once_there_is_space(tmp_path):
    """Room for one task folder (its size measured on a reference batch: about 3 MB at 6000 draws, two variants,
    with the regional results) but not two: the first finishes, the second is failed in batch.json with the disk's
    error (on a78215f: a silent death with batch.json "running"); after freeing space the same command runs only the
    failed task, and both equal a batch that never saw a full disk."""
    args = [*BATCH, "--seeds", "1", "2", "--draws", "6000"]
    reference = tmp_path / "reference"
    assert cli(*args, "--out", str(reference)).returncode == 0
    size = sum(p.stat().st_size for p in (reference / "default_seed1_draws6000").iterdir())
    disk_mib = -(-4 * size // 2**20) + 1
    with tmpfs(tmp_path / "disk", f"{disk_mib}m") as disk:
        # free: 1.5 task folders (and the batch's own small files): the first fits, the second does not
        (disk / "ballast").write_bytes(b"\0" * (disk_mib * 2**20 - int(1.5 * size) - 2**17))
        out = disk / "batch"
        proc = cli(*args, "--out", str(out))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        state = json.loads((out / "batch.json").read_text())
        assert state["status"] == "failed"
        assert state["runs"] == {"default_seed1_draws6000": "finished", "default_seed2_draws6000": "failed"}
        assert "No space left on device" in state["failed"]["default_seed2_draws6000"]
        assert "default_seed2_draws6000" in proc.stderr and not _temporary(out)
        first = (out / "default_seed1_draws6000" / "manifest.json").stat().st_mtime_ns

        (disk / "ballast").unlink()
        proc = cli(*args, "--out", str(out))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "1 run(s) done, 1 already finished, 0 failed" in proc.stdout
        assert (out / "default_seed1_draws6000" / "manifest.json").stat().st_mtime_ns == first   # not recomputed
        for name in ("default_seed1_draws6000", "default_seed2_draws6000"):
            assert (out / name / "summary.csv").read_bytes() == (reference / name / "summary.csv").read_bytes()
        assert json.loads((out / "batch.json").read_text())["status"] == "ok"


# ------------------------------------------------------------------------------ an output folder not writable
@pytest.mark.parametrize("command", [["run"], ["tornado"], ["sobol"], ["calibrate", "--quick"],
                                     [*BATCH, "--seeds", "1", "--draws", "1000"]], ids=lambda c: c[0])
def test_a_read_only_out_fails_before_any_work(command, tmp_path):
    """On a78215f the command computed (calibrate: sampled for minutes) and then failed writing its results."""
    with tmpfs(tmp_path / "ro", "1m") as disk:
        remount_readonly(disk)
        t = time.perf_counter()
        line = _one_error_line(cli(*command, "--out", str(disk / "results")))
        assert line == f"error: {disk / 'results'}: Read-only file system", line
        assert time.perf_counter() - t < 30             # the imports, not the computation (a run: ~2.5 s, sampling ~200 s)


def test_an_out_under_a_file_fails_before_any_work(tmp_path):
    (tmp_path / "a_file").write_text("")
    line = _one_error_line(cli("run", "--out", str(tmp_path / "a_file" / "runs")))
    assert line == f"error: {tmp_path / 'a_file' / 'runs'}: Not a directory", line


# ------------------------------------------------------------------------------- two commands in one folder
@pytest.mark.slow
def test_a_batch_leaves_the_temporary_folder_of_a_running_command_alone(tmp_path):
    """On a78215f a batch deleted every .tmp-* folder of its --out when it started: a run writing there lost its
    work and died with a traceback."""
    out = tmp_path / "shared"
    run = _popen("run", "--draws", "10000000", "--summaries-only", "--threads", "1", "--out", str(out))
    try:
        theirs = wait_for(lambda: _temporary(out), timeout=120, what="the run's temporary folder")
        batch = cli(*BATCH, "--seeds", "1", "--draws", "2000", "--out", str(out))
        assert batch.returncode == 0, batch.stderr[-3000:]
        assert run.poll() is None, "the run ended before the batch: the overlap was not tested"
        assert _temporary(out) == theirs and all(p.is_dir() for p in theirs)
        _, err = run.communicate(timeout=600)
    finally:
        run.kill()
    assert run.returncode == 0, err[-3000:]
    finished = sorted(p.name for p in out.glob("run-*"))
    assert len(finished) == 1 and (out / finished[0] / "manifest.json").is_file()
    assert (out / "default_seed1_draws2000" / "manifest.json").is_file() and not _temporary(out)


@pytest.mark.slow
def test_two_batches_into_one_folder_one_is_refused_while_the_other_runs_and_a_run_may_join(tmp_path):
    out = tmp_path / "shared"
    first = _popen(*BATCH, "--seeds", "1", "2", "--draws", "200000", "--out", str(out))
    try:
        wait_for(lambda: (out / LOCK).exists(), timeout=120, what="the first batch's lock")
        second = cli(*BATCH, "--seeds", "9", "--draws", "1000", "--out", str(out))
        line = _one_error_line(second)
        assert "another batch" in line and str(out) in line, line
        assert not (out / "default_seed9_draws1000").exists()
        run = cli("run", "--draws", "2000", "--out", str(out))      # a run into a batch's folder is no conflict
        assert run.returncode == 0, run.stderr[-3000:]
        assert first.poll() is None, "the first batch ended too early: the overlap was not tested"
        _, err = first.communicate(timeout=600)
    finally:
        first.kill()
    assert first.returncode == 0, err[-3000:]
    assert json.loads((out / "batch.json").read_text())["status"] == "ok"
    assert not (out / LOCK).exists() and not _temporary(out)
    assert len(list(out.glob("run-*/manifest.json"))) == 1


@pytest.mark.slow
def test_the_temporary_folder_of_a_killed_run_is_removed_by_the_next_command(tmp_path):
    """On a78215f an interrupted run left its hidden .tmp-run-* folder (321 MB for a default run) forever."""
    out = tmp_path / "runs"
    run = _popen("run", "--draws", "10000000", "--summaries-only", "--threads", "1", "--out", str(out))
    try:
        left = wait_for(lambda: [p for p in _temporary(out) if (p / "OWNER").is_file()], timeout=120,
                        what="the run's temporary folder")
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.communicate()
    assert run.returncode == -signal.SIGKILL and all(p.is_dir() for p in left)
    proc = cli("run", "--draws", "1000", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not _temporary(out) and len(list(out.glob("run-*/manifest.json"))) == 1


# ------------------------------------------------------------------------------------------------ the scheduler
def test_a_scheduler_that_is_not_an_address_is_refused_at_once(tmp_path):
    """On a78215f ``--scheduler bogus`` hung 60 s and left batch.json "running"."""
    t = time.perf_counter()
    line = _one_error_line(cli(*BATCH[:2], "--seeds", "1", "--draws", "1000", "--scheduler", "bogus",
                               "--out", str(tmp_path / "b")))
    assert line.startswith("error: scheduler 'bogus': not a Dask scheduler address"), line
    assert time.perf_counter() - t < 30 and not (tmp_path / "b").exists()


def test_a_scheduler_that_does_not_answer_is_an_error_and_the_batch_is_not_left_running(tmp_path):
    import socket

    with socket.socket() as s:                 # a free loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    out = tmp_path / "b"
    line = _one_error_line(cli(*BATCH[:2], "--seeds", "1", "--draws", "1000", "--scheduler", address,
                               "--out", str(out)))
    assert line.startswith(f"error: {address}: no Dask scheduler answered within"), line
    state = json.loads((out / "batch.json").read_text())
    assert state["status"] == "failed" and state["runs"] == {"default_seed1_draws1000": "failed"}


# ----------------------------------------------------------------------------- damaged finished batch folders
@pytest.fixture(scope="module")
def finished_batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "batch"
    proc = cli(*BATCH, "--seeds", "1", "--draws", "2000", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("file, message", [
    ("summary.csv", r": line \d+: not a complete summary row"),
    ("dataset.nc", r": \(file\): not a readable run dataset"),
    ("manifest.json", r": \(file\): not a readable manifest"),
])
def test_a_truncated_file_in_a_finished_batch_folder_is_an_error_naming_it(finished_batch, file, message,
                                                                              tmp_path):
    """On a78215f a truncated summary.csv or dataset.nc in a COMPLETE batch folder ended in a traceback."""
    import shutil

    out = tmp_path / "batch"
    shutil.copytree(finished_batch, out)
    path = out / "default_seed1_draws2000" / file
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    before = sorted(p.name for p in out.iterdir())
    line = _one_error_line(cli(*BATCH, "--seeds", "1", "--draws", "2000", "--out", str(out)))
    assert re.fullmatch(f"error: {re.escape(str(path))}{message}.*", line), line
    assert sorted(p.name for p in out.iterdir()) == before                  # no comparison half-written
    assert len(list(out.glob(f"{COMPARISON}-*"))) == 1


def test_a_scenario_named_like_a_temporary_folder_is_refused(tmp_path):
    """On a78215f a scenario file ``.tmp-x.toml`` ran, and its finished folder was deleted on resume."""
    (tmp_path / ".tmp-x.toml").write_text((REPO / "scenarios" / "bouwkosten_hoog.toml").read_text(encoding="utf-8"),
                                          encoding="utf-8")
    line = _one_error_line(cli("batch", ".tmp-x", "--scenario-dir", str(tmp_path), "--seeds", "1", "--draws",
                               "1000", "--scheduler", "serial", "--out", str(tmp_path / "b")))
    assert line.startswith("error: scenario '.tmp-x': a batch names its run folders after the scenario"), line
    assert not (tmp_path / "b").exists()


# -------------------------------------------------------------------------------------- sizes that cannot fit
@pytest.mark.parametrize("argv, message", [
    (["run", "--draws", str(10**12)], r"1,000,000,000,000 draws kept in memory need about [0-9.]+ TB of memory"),
    (["run", "--draws", "1" + "0" * 30], r"draws kept in memory need about .* of memory"),
    (["batch", "default", "--scheduler", "serial", "--seeds", "1", "--draws", str(10**12)],
     r"1,000,000,000,000 draws kept by each run need about .* of memory"),
    (["sobol", "--n-base", str(2**40)], r"model evaluations\) need about .* of memory"),
    (["calibrate", "--draws", str(10**12)], rf"4 chains x {FULL.tune:,} \+ 1,000,000,000,000 iterations need about"),
])
def test_what_cannot_fit_in_memory_is_refused_before_any_work_with_the_estimate(argv, message, tmp_path):
    """On a78215f ``--draws 10**12`` built a 30-million-item list before failing, ``10**30`` was OOM-killed after
    82 s, ``sobol --n-base 2**40`` and ``calibrate --draws 10**12`` ended in ArrayMemoryError tracebacks."""
    t = time.perf_counter()
    line = _one_error_line(cli(*argv, "--out", str(tmp_path / "out")))
    assert re.search(message, line) and "available now" in line, line
    assert time.perf_counter() - t < 60 and not (tmp_path / "out").exists()


def test_a_streamed_run_that_would_take_too_long_is_refused_with_the_estimate(tmp_path):
    line = _one_error_line(cli("run", "--draws", str(10**14), "--summaries-only", "--threads", "1",
                               "--out", str(tmp_path / "out")))
    assert re.search(r"100,000,000,000,000 draws would take about [\d,]+ hours, more than the 24 hours", line), line
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------- non-finite results
def test_a_run_whose_result_is_not_finite_exits_2_naming_the_entry(tmp_path):
    """On a78215f a fixed prior of 1e308 (inside its bounds) gave P50 = inf with exit 0."""
    directory = priors_with(tmp_path, "ov_eenmalig.yaml", "eenmalige_ov_kosten_per_provincie",
                            distribution={"family": "fixed", "value": 1e308}, point=1e308, bounds=[0, None])
    assert load_priors(directory)["eenmalige_ov_kosten_per_provincie"].point == 1e308     # legal input
    line = _one_error_line(cli("run", "--priors", str(directory), "--draws", "2000", "--out", str(tmp_path / "r")))
    assert "not finite" in line and "eenmalige_ov_kosten_per_provincie (up to 1e+308)" in line, line
    assert not (tmp_path / "r").exists()
