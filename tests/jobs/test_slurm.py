"""Batches on a real SLURM cluster (``cli.py batch --slurm``, ``model.jobs.slurm``): a single-node cluster started
for this module (``tests/slurmcluster.py``: munge, slurmctld and slurmd as root, on 127.0.0.1, stopped by process id
afterwards), the Dask scheduler and workers on the loopback interface.

Skipped with the reason where SLURM cannot run (not root, packages not installable), unless NPVR_REQUIRE_SLURM is
set (``.ci/run``), which makes that a failure."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from model.errors import UsageError
from model.jobs.batch import run_batch
from model.jobs.slurm import SlurmSettings, load_settings
from support import assert_same_runs

SPECS = ["default", "bouwkosten_hoog"]
SEEDS = [1, 2]
DRAWS = 4000
NAMES = [f"{s}_seed{seed}_draws{DRAWS}" for s in SPECS for seed in SEEDS]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    from slurmcluster import Unavailable, single_node_slurm

    try:
        cm = single_node_slurm(tmp_path_factory.mktemp("slurm"))
        env = cm.__enter__()
    except Unavailable as exc:
        if os.environ.get("NPVR_REQUIRE_SLURM"):
            pytest.fail(f"SLURM required (NPVR_REQUIRE_SLURM) but unavailable: {exc}")
        pytest.skip(f"no SLURM cluster here: {exc}")
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = env["SLURM_CONF"]          # dask-jobqueue calls sbatch, squeue and scancel
    try:
        yield env
    finally:
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
        cm.__exit__(None, None, None)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    res = run_batch(SPECS, SEEDS, draws=DRAWS, out_dir=out, scheduler="serial", progress=False)
    assert res.ok
    return out


@pytest.mark.slow
def test_a_batch_through_slurm_equals_the_serial_run(slurm, serial, tmp_path, capsys):
    """``cli.py batch --slurm``: two SLURM jobs, one Dask worker each, on 127.0.0.1; every run identical bit for bit
    to the serial batch; the jobs' logs in the batch folder."""
    from model.commands import main

    out = tmp_path / "slurm"
    assert main(["batch", *SPECS, "--seeds", *map(str, SEEDS), "--draws", str(DRAWS), "--out", str(out), "--quiet",
                 "--slurm", "--jobs", "2", "--interface", "lo", "--walltime", "00:15:00", "--job-memory", "3GB"]) == 0
    assert "4 run(s) done, 0 already finished, 0 failed" in capsys.readouterr().out
    assert_same_runs(out, serial, NAMES)
    assert list((out / "slurm-logs").iterdir()), "no SLURM job log"
    queue = subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True, env=slurm, timeout=30)
    assert queue.returncode == 0, queue.stderr


@pytest.mark.slow
def test_the_job_script_carries_the_options_of_the_file_and_the_command_line(slurm, tmp_path):
    """The options a cluster user sets end up in the ``#SBATCH`` lines (dask-jobqueue's own job script)."""
    from dask_jobqueue import SLURMCluster

    cfg = tmp_path / "slurm.toml"
    cfg.write_text('[slurm]\npartition = "test"\naccount = "mijn_project"\nwalltime = "02:00:00"\nmemory = "5GB"\n'
                   'cores = 2\nprocesses = 2\nsbatch = ["--qos=short"]\ninterface = "lo"\n', encoding="utf-8")
    s = load_settings(cfg, {"walltime": "00:30:00", "jobs": 3})
    assert (s.partition, s.account, s.walltime, s.memory, s.cores, s.processes, s.jobs, s.sbatch) == (
        "test", "mijn_project", "00:30:00", "5GB", 2, 2, 3, ("--qos=short",))
    with SLURMCluster(**s.cluster_options(tmp_path)) as cluster:
        script = cluster.job_script()
    for line in ("#SBATCH -p test", "#SBATCH -A mijn_project", "#SBATCH -t 00:30:00", "#SBATCH --qos=short",
                 "#SBATCH --cpus-per-task=2", "#SBATCH -J npvr-batch"):
        assert line in script, (line, script)
    assert "--nworkers 2" in script and f"{tmp_path / 'slurm-logs'}" in script


@pytest.mark.parametrize("text, message", [
    ('[slurm]\npartitie = "x"\n', r"slurm.toml: slurm: partitie: unknown key"),
    ('[slurm]\njobs = 0\n', r"slurm.toml: slurm: jobs: must be a positive integer, got 0"),
    ('[slurm]\nsbatch = "--qos=x"\n', r"slurm.toml: slurm: sbatch: must be a list of texts"),
    ('[slurmm]\njobs = 1\n', r"slurm.toml: slurm: the file must hold one table \[slurm\]"),
    ('[slurm\n', r"slurm.toml: \(file\): not valid TOML"),
])
def test_a_bad_settings_file_is_refused_naming_file_and_key(tmp_path, text, message):
    (tmp_path / "slurm.toml").write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load_settings(tmp_path / "slurm.toml")
    assert SlurmSettings().jobs == 2      # the defaults: a single-node cluster


FAULT_SEEDS = ["1", "2", "3", "4"]
FAULT_DRAWS = 8000
FAULT_NAMES = [f"{s}_seed{seed}_draws{FAULT_DRAWS}" for s in SPECS for seed in FAULT_SEEDS]


@pytest.fixture(scope="module")
def serial_faults(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial_faults")
    res = run_batch(SPECS, [int(s) for s in FAULT_SEEDS], draws=FAULT_DRAWS, out_dir=out, scheduler="serial",
                    progress=False)
    assert res.ok
    return out


def _batch(out, env) -> subprocess.Popen:
    import sys

    from model.paths import REPO

    return subprocess.Popen([sys.executable, "cli.py", "batch", *SPECS, "--seeds", *FAULT_SEEDS, "--draws",
                             str(FAULT_DRAWS), "--out", str(out), "--quiet", "--slurm", "--jobs", "2", "--interface",
                             "lo", "--walltime", "00:15:00"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finished(out) -> dict:
    """Each finished run's manifest: (inode, mtime) -- a run computed again would have a new one."""
    return {p.parent.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*_draws*/manifest.json")}


def _wait(condition, timeout: float, what: str) -> None:
    import time

    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _running_jobs(env) -> list[str]:
    q = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i"], capture_output=True, text=True, env=env,
                       timeout=30)
    return q.stdout.split()


@pytest.mark.slow
def test_a_worker_job_cancelled_mid_batch_the_batch_completes_with_the_same_numbers(slurm, serial_faults, tmp_path):
    """``scancel`` of one of the two worker jobs while runs are being computed: the tasks it held move to the other
    worker, the batch completes, every run equals the serial one, and the runs finished before are not redone."""
    out = tmp_path / "b"
    proc = _batch(out, slurm)
    try:
        _wait(lambda: len(_running_jobs(slurm)) == 2 and _finished(out), 300, "two running jobs and a finished run")
        before = _finished(out)
        assert len(before) < len(FAULT_NAMES)
        subprocess.run(["scancel", _running_jobs(slurm)[0]], env=slurm, check=True, timeout=30)
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert f"{len(FAULT_NAMES)} run(s) done, 0 already finished, 0 failed" in stdout, stdout
    assert_same_runs(out, serial_faults, FAULT_NAMES)
    after = _finished(out)
    assert all(after[name] == stamp for name, stamp in before.items())      # nothing finished is computed again


@pytest.mark.slow
def test_a_killed_driver_then_the_same_command_completes_the_batch(slurm, serial_faults, tmp_path):
    """The batch process itself killed (SIGKILL) mid-batch, its worker jobs then ended (as their walltime would):
    the same command again takes over the lock, skips the finished runs and computes the rest; every run equals
    the serial one."""
    out = tmp_path / "b"
    proc = _batch(out, slurm)
    try:
        _wait(lambda: bool(_finished(out)), 300, "a finished run")
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    subprocess.run(["scancel", "--user", "root"], env=slurm, timeout=30)
    _wait(lambda: not _running_jobs(slurm), 60, "the orphaned jobs to end")
    before = _finished(out)
    assert 0 < len(before) < len(FAULT_NAMES)
    again = _batch(out, slurm)
    stdout, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr[-3000:]
    assert f"{len(FAULT_NAMES) - len(before)} run(s) done, {len(before)} already finished, 0 failed" in stdout, stdout
    assert_same_runs(out, serial_faults, FAULT_NAMES)
    after = _finished(out)
    assert all(after[name] == stamp for name, stamp in before.items())
    assert not list(out.glob(".tmp-*")) and not (out / ".batch.lock").exists()


#: Loaded by every Dask worker of the batch below (``distributed.worker.preload``, passed to the SLURM jobs in
#: their environment): the task named in NPVR_TEST_KILL_TASK kills its worker process, every time it is tried;
#: the one in NPVR_TEST_RAISE_TASK raises. Nothing else changes: the other tasks run the real code.
FAULTS = '''
import os
import model.jobs.batch as batch

_real = getattr(batch.run_task, "real", batch.run_task)     # the worker may load a preload twice


def run_task(task):
    if task.naam == os.environ["NPVR_TEST_KILL_TASK"]:
        os._exit(17)          # the worker dies; its nanny starts a new one and the scheduler tries the task again
    if task.naam == os.environ["NPVR_TEST_RAISE_TASK"]:
        raise RuntimeError("injected failure in " + task.naam)
    return _real(task)


run_task.real = _real
batch.run_task = run_task
'''


@pytest.mark.slow
def test_a_task_that_fails_every_time_is_reported_and_does_not_hold_the_batch(slurm, serial, tmp_path, capsys,
                                                                             monkeypatch):
    """One task kills its worker whenever it runs (the scheduler gives up after a retry: KilledWorker), another
    raises: both are reported with their error, on stderr and in ``batch.json``, while the other runs complete
    with the serial numbers; the same command without the faults then computes only those two."""
    import dask
    import distributed  # noqa: F401  (its defaults in dask's config first: leaving the set() below keeps them)

    from model.commands import main

    kill, raise_ = NAMES[3], NAMES[1]
    faults = tmp_path / "faults.py"
    faults.write_text(FAULTS, encoding="utf-8")
    monkeypatch.setenv("NPVR_TEST_KILL_TASK", kill)
    monkeypatch.setenv("NPVR_TEST_RAISE_TASK", raise_)
    monkeypatch.setenv("DASK_DISTRIBUTED__WORKER__PRELOAD", repr([str(faults)]))   # read by the jobs' workers
    out = tmp_path / "b"
    argv = ["batch", *SPECS, "--seeds", *map(str, SEEDS), "--draws", str(DRAWS), "--out", str(out), "--quiet",
            "--slurm", "--jobs", "2", "--interface", "lo", "--walltime", "00:15:00", "--job-memory", "3GB"]
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):     # the scheduler runs in this process
        assert main(argv) == 1
    captured = capsys.readouterr()
    assert "2 run(s) done, 0 already finished, 2 failed" in captured.out, captured.out
    status = json.loads((out / "batch.json").read_text())
    assert status["status"] == "failed" and set(status["failed"]) == {kill, raise_}
    assert "KilledWorker" in status["failed"][kill], status["failed"]
    assert f"RuntimeError: injected failure in {raise_}" in status["failed"][raise_], status["failed"]
    assert kill in captured.err and raise_ in captured.err
    good = [n for n in NAMES if n not in (kill, raise_)]
    assert_same_runs(out, serial, good)
    assert not (out / kill).exists() and not (out / raise_).exists() and not list(out.glob(".tmp-*"))
    before = _finished(out)

    monkeypatch.delenv("DASK_DISTRIBUTED__WORKER__PRELOAD")
    assert main(argv) == 0
    assert "2 run(s) done, 2 already finished, 0 failed" in capsys.readouterr().out
    assert_same_runs(out, serial, NAMES)
    assert all(_finished(out)[name] == stamp for name, stamp in before.items())
