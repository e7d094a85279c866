"""Batch runs: scenarios × seeds as Dask tasks, one run folder each, and a side-by-side comparison.

Every (scenario, seed) pair is one task: a run job (:func:`model.jobs.run.run_job`, with the year model) that writes
the standard run folder under the batch folder, with the fixed name ``<scenario>_seed<seed>_draws<draws>``. Where
the tasks run:

- ``scheduler=None`` (default): a ``distributed.LocalCluster`` of ``n_workers`` worker processes, one thread each,
  bound to the loopback interface, closed at the end;
- ``scheduler="tcp://host:8786"``: an existing Dask scheduler (its workers must have this project installed and see
  the batch folder on a shared file system); also a ``distributed.Client`` or a cluster object such as
  ``dask_jobqueue.SLURMCluster`` (``docs/batch_slurm.md``);
- ``scheduler="serial"``: in this process, one task after the other, without Dask (the reference the tests compare
  with).

Seeds. A task runs the engine with the user's seed as given: its numbers depend only on (scenario definition, seed,
draws, chunk size) -- never on the number of workers, the order in which tasks finish, or retries. Scenarios with
the same seed share their random numbers as far as their sampled entries coincide (common random numbers).

Resume and faults. A finished task is a run folder with its final name (the run-folder protocol renames it into
place only when complete). A resumed batch skips it after checking that its manifest's identity (scenario hash,
seed, draws, chunk size) matches the task; a mismatch is an error (choose another folder). One batch at a time
holds a batch folder (``.batch.lock``: process id and host); temporary folders are removed only when their owner
process is gone (``model.output.runfolder``). A task that raises (or whose worker dies) is
reported -- on stderr, in ``BatchResult.failed`` and in ``batch.json`` -- and the other tasks go on; rerunning the
same batch completes it.

Comparison. Every batch call writes a new run folder ``vergelijking-<stamp>-<hex>/`` in the batch folder (never
overwriting an earlier one): ``batch_samenvatting.csv`` (one row per run and key output), ``batch_vergelijking.csv``
(key outputs × scenarios, the draws of all seeds pooled), ``batch_vergelijking.png`` and its manifest.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from model.analysis.summary import describe
from model.engine.plan import DEFAULT_CHUNK, check_count, scenario_plan
from model.engine.rng import STREAM
from model.engine.stream import MAX_SEED
from model.errors import PriorError, UsageError
from model.jobs.run import run_job
from model.output import dataset, plots
from model.output.runfolder import MANIFEST, RunFolder, now, read_manifest, to_json, write_manifest
from model.output.tables import read_summary, write_csv
from model.resources import check_memory
from model.spec.priors import load_priors
from model.spec.jaren import load_jaren_priors
from model.spec.scenarios import Scenario, load_scenario

BATCH_JSON = "batch.json"
#: What a scenario's name may be when it names a task's run folder (never hidden, never a temporary folder's).
TASK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: A Dask scheduler address: protocol://host:port (tcp, tls, ucx, ws, wss) or inproc://.
SCHEDULER_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss)://[^/\s:]+:\d{1,5}$|^inproc://\S+$")
#: How long a batch waits for an existing scheduler to answer.
CONNECT_TIMEOUT = "10s"
LOCK = ".batch.lock"
COMPARISON = "vergelijking"
KEY_OUTPUTS = ("totaal_publieke_restopgave", "totaal_exploitatielasten", "totaal_investeringsopgave", "totaal_pm",
               "doel_veilig_leefbaar", "doel_voorzieningen", "doel_gezonde_toekomst")


# --------------------------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class Task:
    """One run of a batch: a scenario at one seed, with ``draws`` draws or, with ``precision``, as many as that
    precision takes and at most ``draws`` (``model.analysis.precisie``)."""

    scenario: Scenario
    seed: int
    draws: int
    chunk_size: int
    out_dir: str
    precision: float | None = None

    @property
    def naam(self) -> str:
        tail = "" if self.precision is None else f"_precisie{self.precision:g}"
        return f"{self.scenario.naam}_seed{self.seed}_draws{self.draws}{tail}"

    @property
    def folder(self) -> Path:
        return Path(self.out_dir) / self.naam

    def identity(self) -> dict:
        """What determines the run's numbers; a finished run is reused only when this matches."""
        return {"scenario": self.scenario.naam, "scenario_hash": self.scenario.hash, "seed": int(self.seed),
                "draws": int(self.draws), "chunk_size": int(self.chunk_size), "precision": self.precision}


def identity_of(folder: Path) -> dict:
    """What determined the numbers of a finished run folder, read from its manifest, in the shape of
    :meth:`Task.identity` (resume reuses a folder only when the two are equal)."""
    m = read_manifest(folder)
    try:
        a = m["arguments"]
        precision = a.get("precision")
        return {"scenario": a.get("scenario"), "scenario_hash": a.get("scenario_hash"), "seed": m["random"]["seed"],
                "draws": a.get("max_draws") if precision is not None else a.get("draws"),
                "chunk_size": m["random"]["chunk_size"], "precision": precision}
    except (KeyError, TypeError, AttributeError):
        raise PriorError(f"{Path(folder) / MANIFEST}: (file): not the manifest of a run (arguments/random "
                         "missing)") from None


def is_finished(folder: Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def run_task(task: Task) -> dict:
    """Run one task into its run folder (the run-folder protocol: a temporary folder renamed into place)."""
    t0 = time.perf_counter()
    if is_finished(task.folder):
        # finished by an earlier attempt of this task (e.g. on a worker that died before handing over its result,
        # after which Dask reran the task): nothing to do, the folder is never rewritten
        return {"naam": task.naam, "status": "done", "reused": True}
    try:
        run_job(scenario=task.scenario, seed=task.seed, draws=task.draws, chunk_size=task.chunk_size,
                precision=task.precision, max_draws=task.draws if task.precision is not None else None,
                out=task.out_dir, name=task.naam, jaren=True, threads=1,
                arguments={"scenario_hash": task.scenario.hash, "batch_task": task.naam})
    except FileExistsError:
        if is_finished(task.folder):       # finished meanwhile by another attempt: keep that one
            return {"naam": task.naam, "status": "done", "reused": True}
        raise FileExistsError(f"{task.folder}: exists but is not a finished run; remove it to rerun") from None
    return {"naam": task.naam, "status": "done", "reused": False, "seconds": time.perf_counter() - t0}


@dataclass
class BatchResult:
    """What a batch call did: task names by outcome, failures with their error, the comparison folder.

    ``done``: runs finished by this call; ``skipped``: runs finished before it (resume); ``failed``: name -> error
    text (an exception in the task, or ``KilledWorker`` when its worker died)."""

    out_dir: Path
    tasks: list[str]
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    comparison: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def make_tasks(specs: Iterable, seeds: Iterable[int] | int, *, draws: int, out_dir: str | Path,
               chunk_size: int = DEFAULT_CHUNK, scenario_dir: str | Path | None = None,
               precision: float | None = None) -> list[Task]:
    """The grid specs × seeds as tasks (scenarios loaded and validated here, in the calling process)."""
    seeds = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seeds:
        raise UsageError("no seeds given")
    for s in seeds:
        check_count("seed", s, minimum=0, below=MAX_SEED)
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"duplicate seeds {sorted(seeds)}")
    check_count("draws", draws)
    if int(draws) < 2:
        raise UsageError(f"draws must be at least 2, got {draws!r}")
    check_count("chunk_size", chunk_size)
    if precision is not None and not 0.0 < precision < 0.5:
        raise UsageError(f"precision must be a share between 0 and 0.5 (e.g. 0.005 for 0.5%), got {precision!r}")
    base = load_priors()
    base_jaren = load_jaren_priors(priors=base)
    scenarios = [load_scenario(s, directory=scenario_dir, priors=base, jaren_priors=base_jaren) for s in specs]
    names = [s.naam for s in scenarios]
    if not names:
        raise UsageError("no scenarios given")
    for n in names:
        if not TASK_NAME.match(n):
            raise UsageError(f"scenario {n!r}: a batch names its run folders after the scenario, so the name must "
                             "start with a letter or digit and hold only letters, digits, '_', '-' and '.'")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError(f"scenario(s) given twice: {dup}")
    plan = scenario_plan(scenarios[0], chunk_size)          # a task keeps its draws: what one worker holds
    check_memory(f"{draws:,} draws kept by each run", 8 * 1.5 * (plan.computed.size + len(plan.names)) * draws,
                 "ask for fewer draws per run (and more seeds)")
    out = str(Path(out_dir).resolve())
    return [Task(sc, int(seed), int(draws), int(chunk_size), out, precision) for sc in scenarios for seed in seeds]


# ------------------------------------------------------------------------------------------- locking
class BatchLock:
    """``<batch folder>/.batch.lock``: one batch at a time per folder. A lock of a process of this host that no
    longer runs is taken over; a live one (or one of another host) refuses the batch."""

    def __init__(self, out: Path):
        self.path = Path(out) / LOCK

    def __enter__(self):
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": now()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    held = json.loads(self.path.read_text(encoding="utf-8"))
                    pid, host = int(held["pid"]), held["host"]
                except (OSError, ValueError, KeyError, TypeError):
                    raise FileExistsError(f"{self.path}: the batch folder is locked (unreadable lock file; remove it "
                                          "if no batch runs)") from None
                from model.output.runfolder import _pid_alive
                if host == socket.gethostname() and not _pid_alive(pid):
                    self.path.unlink(missing_ok=True)   # its batch is gone
                    continue
                raise FileExistsError(f"{self.path.parent}: another batch (pid {pid} on {host}) is writing into this "
                                      "folder; wait for it or choose another --out") from None
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(to_json(owner))
            return self
        raise FileExistsError(f"{self.path}: could not take the batch lock")

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)
        return False


# --------------------------------------------------------------------------------------------- batch
def run_batch(specs: Iterable, seeds: Iterable[int] | int, *, draws: int, out_dir: str | Path,
              scheduler=None, n_workers: int = 2, resume: bool = True, chunk_size: int = DEFAULT_CHUNK,
              scenario_dir: str | Path | None = None, progress: bool = True,
              precision: float | None = None, slurm=None, compile_first: bool = True) -> BatchResult:
    """Run scenarios × seeds (see the module docstring); returns a :class:`BatchResult`.

    ``specs``: scenario names (``scenarios/*.toml``), paths, ``"default"`` or :class:`Scenario` objects.
    ``scheduler``: ``None`` (LocalCluster with ``n_workers`` processes), ``"serial"``, a scheduler address, a
    ``distributed.Client`` or a cluster object. ``resume=False`` refuses to start when a run folder exists.
    ``precision``: each run draws until that precision (``model.jobs.run.run_job``), at most ``draws``.
    ``slurm`` (``model.jobs.slurm.SlurmSettings``): the workers run as SLURM jobs (a ``dask_jobqueue.SLURMCluster``
    started after the batch folder is locked and closed at the end); excludes ``scheduler``. ``compile_first``:
    on Dask, compile the engine in this process before the workers start when its cache is empty
    (:func:`compile_once`), so that the workers load it instead of each compiling it."""
    if slurm is not None and scheduler is not None:
        raise UsageError("give either a scheduler or SLURM settings, not both")
    if isinstance(scheduler, str) and scheduler != "serial" and not SCHEDULER_ADDRESS.match(scheduler):
        raise UsageError(f"scheduler {scheduler!r}: not a Dask scheduler address (e.g. tcp://127.0.0.1:8786), nor "
                         "'serial'")
    tasks = make_tasks(specs, seeds, draws=draws, out_dir=out_dir, chunk_size=chunk_size, scenario_dir=scenario_dir,
                       precision=precision)
    out = Path(tasks[0].out_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with BatchLock(out):
            return _run_locked(tasks, out, draws=draws, chunk_size=chunk_size, scheduler=scheduler,
                               n_workers=n_workers, resume=resume, progress=progress, slurm=slurm,
                               compile_first=compile_first)
    finally:
        if created and not any(out.iterdir()):
            out.rmdir()


def _run_locked(tasks: list[Task], out: Path, *, draws: int, chunk_size: int, scheduler, n_workers: int,
                resume: bool, progress: bool, slurm=None, compile_first: bool = True) -> BatchResult:
    t0 = time.perf_counter()
    res = BatchResult(out_dir=out, tasks=[t.naam for t in tasks])
    todo = []
    for t in tasks:
        if not t.folder.exists():
            todo.append(t)
            continue
        if not is_finished(t.folder):
            raise FileExistsError(f"{t.folder}: exists but is not a finished run (no {MANIFEST}); remove it to rerun")
        if not resume:
            raise FileExistsError(f"{t.folder}: finished run exists; resume to skip it, or choose another out_dir")
        old = identity_of(t.folder)
        if old != t.identity():
            diff = sorted(k for k in set(old) | set(t.identity()) if old.get(k) != t.identity().get(k))
            raise FileExistsError(f"{t.folder}: finished run of a different definition (differs in {diff}); "
                                  "choose another out_dir")
        res.skipped.append(t.naam)
    _write_batch_json(out, tasks, res, status="running", draws=draws, chunk_size=chunk_size)
    try:
        _execute(todo, res, scheduler=scheduler, n_workers=n_workers, progress=progress, total=len(tasks),
                 slurm=slurm, out=out, warm=compile_first)
        res.comparison = write_comparison(out, tasks, seconds=time.perf_counter() - t0, failed=res.failed)
    except BaseException as exc:   # the batch itself failed (no scheduler, a full disk, Ctrl-C): never "running"
        for t in todo:
            if t.naam not in res.done and not is_finished(t.folder):
                res.failed.setdefault(t.naam, _error_text(exc))
        try:
            _write_batch_json(out, tasks, res, status="failed", draws=draws, chunk_size=chunk_size)
        except OSError:
            pass                   # e.g. the disk is still full: the error below says what happened
        raise
    _write_batch_json(out, tasks, res, status="ok" if res.ok else "failed", draws=draws, chunk_size=chunk_size)
    if res.failed:
        print(f"batch: {len(res.failed)} of {len(tasks)} run(s) failed (rerun the same batch to complete it):",
              file=sys.stderr)
        for naam, err in res.failed.items():
            print(f"  {naam}: {err}", file=sys.stderr)
    return res


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def compile_once(task: Task) -> bool:
    """Compile the engine in this process before any worker starts, when numba's cache for this code version is
    empty (``model.engine.codegen.is_compiled``): a small run of ``task``'s scenario in a temporary folder, which
    writes the machine code to the cache folder the workers read (``$NPVR_CACHE``, passed on to SLURM jobs). N
    workers then load the cache instead of each compiling the same code. Returns whether it compiled."""
    import tempfile

    from model.engine.codegen import is_compiled

    if is_compiled() is not False:
        return False
    with tempfile.TemporaryDirectory(prefix="npvr-compile-") as tmp:
        run_job(scenario=task.scenario, seed=0, draws=2048, chunk_size=task.chunk_size, out=tmp, store="none",
                threads=1, jaren=True)
    return True


def _execute(todo: list[Task], res: BatchResult, *, scheduler, n_workers: int, progress: bool, total: int,
             slurm=None, out: Path | None = None, warm: bool = True) -> None:
    """Run ``todo`` serially or on Dask, recording each outcome in ``res``; progress is runs finished / total."""
    from tqdm import tqdm

    def record(t: Task, call) -> None:
        try:
            call()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # an error in the task, KilledWorker, a cancelled future: reported
            res.failed[t.naam] = _error_text(exc)
        else:
            res.done.append(t.naam)

    def new_bar():
        return tqdm(total=total, initial=total - len(todo), desc="batch", unit="run", disable=not progress)

    if scheduler == "serial" or not todo:
        with new_bar() as bar:
            for t in todo:
                record(t, lambda: run_task(t))
                bar.update(1)
        return
    import dask
    import distributed  # noqa: F401  (its defaults in dask's config before the set() below)

    if warm:
        compile_once(todo[0])
    # The batch's own scheduler (LocalCluster, SLURM) sends a worker only the task it runs: with Dask's default
    # (worker-saturation 1.1) a one-thread worker also holds the next task, and when a task kills its worker every
    # time it runs, the task waiting behind it was counted as a suspect too and failed with KilledWorker after
    # the retries, although it had never run (seen in CI on the SLURM test).
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        _on_dask(todo, record, new_bar, scheduler=scheduler, n_workers=n_workers, slurm=slurm, out=out)


def _on_dask(todo: list[Task], record, new_bar, *, scheduler, n_workers: int, slurm, out: Path | None) -> None:
    """The tasks on a Dask cluster: the batch's own (SLURM, a LocalCluster) or a scheduler given by address,
    client or cluster object; each outcome recorded as it arrives."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    own_client = True
    if slurm is not None:
        from model.jobs.slurm import slurm_cluster

        cluster = slurm_cluster(slurm, out)
        client = Client(cluster, set_as_default=False)
    elif scheduler is None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address="127.0.0.1:0")
        client = Client(cluster, set_as_default=False)
    elif isinstance(scheduler, Client):
        client, own_client = scheduler, False
    else:                              # an address or a cluster object (e.g. dask_jobqueue.SLURMCluster)
        try:
            client = Client(scheduler, set_as_default=False, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise OSError(f"{scheduler}: no Dask scheduler answered within {CONNECT_TIMEOUT} ({exc})") from None
    try:
        futures = {client.submit(run_task, t, key=f"npvr-{t.naam}-{uuid.uuid4().hex[:8]}", pure=False): t
                   for t in todo}
        with new_bar() as bar:
            for fut in as_completed(futures, loop=client.loop):
                record(futures[fut], fut.result)
                bar.update(1)
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def _write_batch_json(out: Path, tasks: list[Task], res: BatchResult, *, status: str, draws: int,
                      chunk_size: int) -> None:
    meta = {
        "status": status, "draws": int(draws), "chunk_size": int(chunk_size), "updated": now(),
        "scenarios": sorted({t.scenario.naam for t in tasks}), "seeds": sorted({t.seed for t in tasks}),
        "runs": {t.naam: ("finished" if is_finished(t.folder) else "failed" if t.naam in res.failed else "pending")
                 for t in tasks},
        "failed": res.failed,
        "comparison": None if res.comparison is None else res.comparison.name,
    }
    tmp = out / f".{BATCH_JSON}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.write_text(to_json(meta), encoding="utf-8")
        os.replace(tmp, out / BATCH_JSON)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------------------ comparison
def write_comparison(out_dir: Path, tasks: Sequence[Task], *, seconds: float = 0.0,
                     failed: dict | None = None) -> Path | None:
    """A new run folder ``vergelijking-<stamp>-<hex>`` in the batch folder with the comparison of the finished runs
    of ``tasks`` (none when no run is finished)."""
    import xarray as xr

    finished = [t for t in tasks if is_finished(t.folder)]
    if not finished:
        return None
    long_rows = []
    pooled: dict[tuple[str, str], dict[str, list[np.ndarray]]] = {}    # (scenario, variant) -> output -> draws
    scenarios: list[str] = []
    variants: list[str] = []
    inputs = {}
    for t in finished:
        summary = read_summary(t.folder / "summary.csv")
        drawn = read_manifest(t.folder)["arguments"]["draws"]     # a precision run chose its own number
        for r in summary:       # every variant's rows (the task's main variant first, with the present values)
            if r["output"] in KEY_OUTPUTS or r["soort"] == "contante_waarde":
                long_rows.append({"scenario": t.scenario.naam, "variant": r["variant"], "seed": t.seed,
                                  "draws": drawn, "output": r["output"], "long_name": r["long_name"],
                                  **{s: r[s] for s in ("mean", "sd", "p5", "p50", "p95")}})
        if t.scenario.naam not in scenarios:
            scenarios.append(t.scenario.naam)
        path = t.folder / "dataset.nc"
        try:
            opgave = dataset.variant_draws(path)
            with xr.open_dataset(path, group="jaren", engine="h5netcdf") as ds:
                cw = ds["contante_waarde"].stack(trekking=("chain", "draw")).load()
        except (OSError, KeyError, ValueError) as exc:
            raise PriorError(f"{path}: (file): not a readable run dataset ({type(exc).__name__})") from None
        for k, v in enumerate(opgave["variant"].values.tolist()):
            variants += [] if v in variants else [v]
            acc = pooled.setdefault((t.scenario.naam, v), {})
            for name in KEY_OUTPUTS:
                acc.setdefault(name, []).append(opgave.sel(variant=v, aggregaat=name).values)
            if k == 0:          # the year model runs in the main variant
                for r in cw["discontovoet"].values:
                    acc.setdefault(f"contante_waarde_{r:.4f}", []).append(cw.sel(discontovoet=r).values)
        inputs[f"{t.naam}/{MANIFEST}"] = _sha256(t.folder / MANIFEST)
    pooled = {key: {k: np.concatenate(v) for k, v in acc.items()} for key, acc in pooled.items()}
    outputs = list(dict.fromkeys(k for acc in pooled.values() for k in acc))
    wide = []
    for name in outputs:
        for v in variants:
            stats = {s: describe(pooled[s, v][name]) if name in pooled.get((s, v), {}) else None for s in scenarios}
            if not any(stats.values()):
                continue
            for stat in ("mean", "p5", "p50", "p95"):
                wide.append({"output": name, "variant": v, "statistiek": stat,
                             **{s: stats[s][stat] if stats[s] else None for s in scenarios}})
    labels = [f"{s} · {v}" for s in scenarios for v in variants if (s, v) in pooled]
    folder = RunFolder(out_dir, COMPARISON, command="batch")
    with folder as tmp:
        write_csv(tmp / "batch_samenvatting.csv", long_rows, list(long_rows[0]))
        write_csv(tmp / "batch_vergelijking.csv", wide, ["output", "variant", "statistiek", *scenarios])
        plots.vergelijking({f"{s} · {v}": acc for (s, v), acc in pooled.items()}, labels,
                           tmp / "batch_vergelijking")
        first = finished[0]
        write_manifest(tmp, "batch",
                       arguments={"scenarios": scenarios, "varianten": variants,
                                  "seeds": sorted({t.seed for t in tasks}),
                                  "draws": first.draws, "precision": first.precision, "chunk_size": first.chunk_size,
                                  "tasks": [t.naam for t in tasks]},
                       inputs=inputs,
                       random={"seed": None, "stream": f"per task: its seed; {STREAM}", "chunk_size": first.chunk_size},
                       timings={"total": seconds},
                       results={"finished": [t.naam for t in finished], "failed": dict(failed or {}),
                                "key_outputs": list(KEY_OUTPUTS)})
    return folder.path


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


__all__ = ["Task", "BatchResult", "run_batch", "run_task", "make_tasks", "write_comparison", "is_finished",
           "KEY_OUTPUTS"]
