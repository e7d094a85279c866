"""Batch runs: scenarios x seeds as Dask tasks, one run folder each, and a side-by-side batch summary.

``run_batch(specs, seeds, draws=..., out_dir=...)`` runs every (scenario, seed) pair as one task:
the engine (all draws kept), then the year model (:mod:`model.jaren`), then the run folder. Where the tasks run:

- ``scheduler=None`` (default): a ``distributed.LocalCluster`` of ``n_workers`` worker processes, one thread
  each, closed at the end;
- ``scheduler="tcp://host:8786"``: an existing Dask scheduler (its workers must have this project installed
  and see ``out_dir`` on a shared file system); also a ``distributed.Client`` or a cluster object such as
  ``dask_jobqueue.SLURMCluster`` (see ``docs/batch_slurm.md``);
- ``scheduler="serial"``: in this process, one task after the other, without Dask (the reference the tests
  compare with).

Seeds. A task runs the engine with the user's seed as given (``--seeds 1 2``): chunk ``k`` of the run draws
from ``SeedSequence(seed, spawn_key=(k,))`` and the year model from ``SeedSequence(seed, spawn_key=(2**31-2,))``.
A task's numbers therefore depend only on (scenario definition, seed, draws, chunk size) -- never on the number
of workers, the order in which tasks finish, or retries. Scenarios with the same seed share their random
numbers as far as their sampled entries coincide (common random numbers), which makes differences between
scenarios less noisy.

Run folders. Task ``<scenario>_seed<seed>_draws<draws>`` writes into ``out_dir/.tmp-<name>-<uuid>/``:
``resultaat.nc`` (the aggregate outputs per draw -- columns, goals, payers, kostensoorten, deelopgaven,
regions, total --, the present values per draw and per-year quantiles), ``summary.csv`` (mean, sd, quantiles
of every output, per-year amount and present value), ``run.json`` (identity and scenario definition), and last
the marker ``COMPLETE``; then the folder is renamed to its final name with ``os.rename``, which refuses to
replace an existing folder: a finished run is never overwritten. A finished run = a folder with ``COMPLETE``.
A resumed batch (``resume=True``, the default) skips finished runs after checking that their identity
(scenario hash, seed, draws, chunk size) matches; a mismatch is an error (choose another ``out_dir``).
Left-over ``.tmp-*`` folders of interrupted tasks are removed when a batch starts (do not run two batches into
one folder at the same time).

Failures. A task that raises (or whose worker dies) is reported -- on stderr, in ``BatchResult.failed`` and in
``batch.json`` -- and the other tasks go on; rerunning the same batch completes it.

Batch summary (in ``out_dir``, rewritten by every batch call, from all finished runs of the batch):
``batch_samenvatting.csv`` (one row per run and key output), ``batch_vergelijking.csv`` (key outputs x
scenarios, draws of all seeds pooled) and ``batch_vergelijking.png``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import xarray as xr

from model.cli_args import non_negative_int, output_folder, positive_int
from model.engine import DEFAULT_CHUNK, Output, RunResult, run
from model.jaren import (JAREN_SPAWN_KEY, KWANTIELEN, PARAMETERS, contante_waarde_totaal, groepen,
                         jaren_dataset, load_jaren_priors)
from model.priors import load_priors
from model.registry import KOLOMMEN
from model.scenarios import Scenario, load_scenario

MARKER = "COMPLETE"
SUMMARY = "summary.csv"
RESULT = "resultaat.nc"
RUN_JSON = "run.json"
BATCH_JSON = "batch.json"
TMP_PREFIX = ".tmp-"
FORMAT = 1
SUMMARY_FIELDS = ("naam", "soort", "long_name", "pm", "mean", "sd", "p5", "p50", "p95", "min", "max")
NC_SOORTEN = ("kolom", "totaal", "doel", "betaler", "kostensoort", "deelopgave", "regio")  # kept per draw in the nc
KEY_OUTPUTS = ("totaal", "totaal_publieke_restopgave", "totaal_exploitatielasten", "totaal_investeringsopgave",
               "totaal_pm", "doel_veilig_leefbaar", "doel_voorzieningen", "doel_gezonde_toekomst")


# --------------------------------------------------------------------------------------------- task
@dataclass(frozen=True)
class Task:
    """One run of a batch: a scenario at one seed."""

    scenario: Scenario
    seed: int
    draws: int
    chunk_size: int
    out_dir: str

    @property
    def naam(self) -> str:
        return f"{self.scenario.naam}_seed{self.seed}_draws{self.draws}"

    @property
    def folder(self) -> Path:
        return Path(self.out_dir) / self.naam

    def identity(self) -> dict:
        """What determines the run's numbers; a finished run is reused only when this matches."""
        return {"scenario": self.scenario.naam, "scenario_hash": self.scenario.hash, "seed": int(self.seed),
                "draws": int(self.draws), "chunk_size": int(self.chunk_size), "jaren_spawn_key": JAREN_SPAWN_KEY,
                "format": FORMAT}


def run_scenario(scenario: Scenario, seed: int, draws: int,
                 chunk_size: int = DEFAULT_CHUNK) -> tuple[RunResult, xr.Dataset]:
    """The engine run (draws kept) and the year model of one scenario at one seed."""
    plan = scenario.plan(chunk_size)
    result = run(plan=plan, draws=draws, seed=seed, threads=1, keep=True)
    jds = jaren_dataset(result, priors=scenario.jaren_priors, overrides=dict(scenario.jaren_overrides),
                        instellingen=scenario.jaren)
    return result, jds


def run_task(task: Task) -> dict:
    """Run one task and write its run folder atomically (temp folder, ``COMPLETE`` last, ``os.rename``)."""
    t0 = time.perf_counter()
    folder = task.folder
    if (folder / MARKER).exists():
        # finished by an earlier attempt of this task (e.g. on a worker that died before handing over its
        # result, after which Dask reran the task): nothing to do, the folder is never rewritten
        return {"naam": task.naam, "status": "done", "reused": True}
    tmp = Path(task.out_dir) / f"{TMP_PREFIX}{task.naam}-{uuid.uuid4().hex[:12]}"
    tmp.mkdir(parents=True)
    try:
        result, jds = run_scenario(task.scenario, task.seed, task.draws, task.chunk_size)
        write_run(tmp, task, result, jds, seconds=time.perf_counter() - t0)
        try:
            os.rename(tmp, folder)
        except OSError:
            if (folder / MARKER).exists():       # finished meanwhile by another attempt: keep that one
                return {"naam": task.naam, "status": "done", "reused": True}
            raise FileExistsError(f"{folder}: exists but is not a finished run; remove it to rerun") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return {"naam": task.naam, "status": "done", "reused": False, "seconds": time.perf_counter() - t0}


# ---------------------------------------------------------------------------------------- run files
def _total(result: RunResult) -> np.ndarray:
    """The total without PM items: the sum of the three columns (or the engine's own ``totaal`` output)."""
    names = [o.naam for o in result.plan.outputs]
    if "totaal" in names:
        return result.outputs[names.index("totaal")]
    return sum(result.outputs[names.index(f"totaal_{k}")] for k in KOLOMMEN)


def _has_total(result: RunResult) -> bool:
    return any(o.naam == "totaal" for o in result.plan.outputs)


def _stats(values: np.ndarray) -> dict:
    v = np.asarray(values, dtype=float)
    q = np.quantile(v, [0.05, 0.5, 0.95])
    return {"mean": v.mean(), "sd": v.std(ddof=1) if v.size > 1 else 0.0, "p5": q[0], "p50": q[1], "p95": q[2],
            "min": v.min(), "max": v.max()}


def summary_rows(result: RunResult, jds: xr.Dataset) -> list[dict]:
    """Rows of ``summary.csv``: every engine output, the total without PM, per-year amounts, present values."""
    rows = []

    def add(naam, soort, long_name, pm, values):
        rows.append({"naam": naam, "soort": soort, "long_name": long_name, "pm": int(bool(pm)), **_stats(values)})

    for o, v in zip(result.plan.outputs, result.outputs):
        add(o.naam, o.soort, o.long_name, o.pm, v)
    if not _has_total(result):
        add("totaal", "totaal", "Totaal van de drie kolommen (zonder PM)", False, _total(result))
    for prijzen in ("reeel", "nominaal"):
        g = groepen(jds, prijzen)
        for i, groep in enumerate(g["groep"].values):
            for j, jaar in enumerate(g["jaar"].values):
                add(f"per_jaar_{prijzen}_{groep}_{jaar}", f"per_jaar_{prijzen}",
                    f"{groep} in {jaar} ({'lopende prijzen' if prijzen == 'nominaal' else 'prijspeil 2024'})",
                    False, g.values[i, :, j])
    cw = contante_waarde_totaal(jds)
    for k, r in enumerate(cw["discontovoet"].values):
        add(f"contante_waarde_{r:.4f}", "contante_waarde",
            f"Contante waarde per 1-1-2025 bij {100 * r:.2f}% (prijspeil 2024, zonder PM)", False, cw.values[k])
    return rows


def write_summary(path: Path, rows: Sequence[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(SUMMARY_FIELDS)
        for row in rows:
            w.writerow([repr(float(row[k])) if isinstance(row[k], (float, np.floating)) else row[k]
                        for k in SUMMARY_FIELDS])


def read_summary(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for k in ("mean", "sd", "p5", "p50", "p95", "min", "max"):
            row[k] = float(row[k])
    return rows


def run_dataset(task: Task, result: RunResult, jds: xr.Dataset) -> xr.Dataset:
    """The small netCDF of a run: key outputs and present values per draw, per-year quantiles."""
    outs = [o for o in result.plan.outputs if o.soort in NC_SOORTEN]
    names = [o.naam for o in result.plan.outputs]
    rows = [result.outputs[names.index(o.naam)] for o in outs]
    if not _has_total(result):
        outs.append(Output("totaal", "totaal", "Totaal van de drie kolommen (zonder PM)"))
        rows.append(_total(result))
    opgave = np.vstack(rows)
    q = np.array(KWANTIELEN)
    per_jaar = {}
    for prijzen in ("reeel", "nominaal"):
        g = groepen(jds, prijzen)
        per_jaar[f"per_jaar_{prijzen}"] = (("groep", "jaar", "kwantiel"),
                                           np.moveaxis(np.quantile(g.values, q, axis=1), 0, -1),
                                           {"units": "EUR", "long_name": g.attrs.get("long_name", "")})
        per_jaar[f"per_jaar_{prijzen}_mean"] = (("groep", "jaar"), g.values.mean(axis=1), {"units": "EUR"})
    ds = xr.Dataset(
        {
            "opgave": (("output", "draw"), opgave, {"units": "EUR", "long_name": "Financiële opgave 2025-2035"}),
            "contante_waarde": (("discontovoet", "draw"), contante_waarde_totaal(jds).values,
                                {"units": "EUR", "long_name": "Contante waarde per 1-1-2025, prijspeil 2024, "
                                                              "zonder PM (betalingen aan het eind van elk jaar)"}),
            "jaren_parameters": (("parameter", "draw"), np.vstack([jds[p].values for p in PARAMETERS])),
            **per_jaar,
        },
        coords={
            "output": [o.naam for o in outs],
            "soort": ("output", [o.soort for o in outs]),
            "long_name": ("output", [o.long_name for o in outs]),
            "pm": ("output", np.array([o.pm for o in outs], dtype=np.int8)),
            "draw": np.arange(result.draws),
            "discontovoet": jds["discontovoet"].values,
            "parameter": list(PARAMETERS),
            "groep": groepen(jds, "reeel")["groep"].values,
            "jaar": jds["jaar"].values,
            "kwantiel": q,
        },
        attrs={"scenario": task.scenario.naam, "description": task.scenario.description, "seed": int(task.seed),
               "draws": int(task.draws), "chunk_size": int(task.chunk_size), "scenario_hash": task.scenario.hash,
               "jaren_spawn_key": JAREN_SPAWN_KEY, "model_prijspeil": 2024},
    )
    return ds


def write_run(folder: Path, task: Task, result: RunResult, jds: xr.Dataset, seconds: float = 0.0) -> None:
    """Write ``resultaat.nc``, ``summary.csv``, ``run.json`` and finally ``COMPLETE`` into ``folder``."""
    run_dataset(task, result, jds).to_netcdf(folder / RESULT, engine="h5netcdf")
    write_summary(folder / SUMMARY, summary_rows(result, jds))
    meta = {"identity": task.identity(), "scenario": task.scenario.definition(),
            "description": task.scenario.description, "files": list(task.scenario.files),
            "seconds": round(seconds, 3), "host": platform.node(), "pid": os.getpid()}
    (folder / RUN_JSON).write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=list), encoding="utf-8")
    (folder / MARKER).write_text(f"{task.naam}\n", encoding="utf-8")


def is_finished(folder: Path) -> bool:
    return (Path(folder) / MARKER).exists()


# -------------------------------------------------------------------------------------------- batch
@dataclass
class BatchResult:
    """What a batch call did: task names by outcome, failures with their error, the summary files.

    ``done``: runs finished by this call; ``skipped``: runs finished before it (resume); ``failed``: name ->
    error text (an exception in the task, or ``KilledWorker`` when its worker died).
    """

    out_dir: Path
    tasks: list[str]
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def make_tasks(specs: Iterable, seeds: Iterable[int] | int, *, draws: int, out_dir: str | Path,
               chunk_size: int = DEFAULT_CHUNK, scenario_dir: str | Path | None = None) -> list[Task]:
    """The grid specs x seeds as tasks (scenarios loaded and validated here, in the calling process)."""
    seeds = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not seeds or any(not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"duplicate seeds {seeds!r}")
    if int(draws) < 2:
        raise ValueError(f"draws must be at least 2, got {draws!r}")
    base = load_priors()
    base_jaren = load_jaren_priors(priors=base)
    scenarios = [load_scenario(s, directory=scenario_dir, priors=base, jaren_priors=base_jaren) for s in specs]
    names = [s.naam for s in scenarios]
    if not names:
        raise ValueError("no scenarios given")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"scenario(s) given twice: {dup}")
    out = str(Path(out_dir).resolve())
    return [Task(sc, int(seed), int(draws), int(chunk_size), out) for sc in scenarios for seed in seeds]


def run_batch(specs: Iterable, seeds: Iterable[int] | int, *, draws: int, out_dir: str | Path,
              scheduler=None, n_workers: int = 2, resume: bool = True, chunk_size: int = DEFAULT_CHUNK,
              scenario_dir: str | Path | None = None, progress: bool = True) -> BatchResult:
    """Run scenarios x seeds (see the module docstring); returns a :class:`BatchResult`.

    ``specs``: scenario names (``scenarios/*.toml``), paths, ``"default"`` or :class:`Scenario` objects.
    ``scheduler``: ``None`` (LocalCluster with ``n_workers`` processes), ``"serial"``, a scheduler address,
    a ``distributed.Client`` or a cluster object. ``resume=False`` refuses to start when a run folder exists.
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tasks = make_tasks(specs, seeds, draws=draws, out_dir=out, chunk_size=chunk_size, scenario_dir=scenario_dir)
    res = BatchResult(out_dir=out, tasks=[t.naam for t in tasks])
    todo = []
    for t in tasks:
        if not t.folder.exists():
            todo.append(t)
            continue
        if not is_finished(t.folder):
            raise FileExistsError(f"{t.folder}: exists but is not a finished run (no {MARKER}); remove it to rerun")
        if not resume:
            raise FileExistsError(f"{t.folder}: finished run exists; resume to skip it, or choose another out_dir")
        old = json.loads((t.folder / RUN_JSON).read_text(encoding="utf-8"))["identity"]
        if old != t.identity():
            diff = sorted(k for k in set(old) | set(t.identity()) if old.get(k) != t.identity().get(k))
            raise FileExistsError(f"{t.folder}: finished run of a different definition (differs in {diff}); "
                                  "choose another out_dir")
        res.skipped.append(t.naam)
    for stale in out.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    _write_batch_json(out, tasks, res, status="running", draws=draws, chunk_size=chunk_size)
    _execute(todo, res, scheduler=scheduler, n_workers=n_workers, progress=progress, total=len(tasks))
    res.files = summarise_batch(out, tasks)
    _write_batch_json(out, tasks, res, status="ok" if res.ok else "failed", draws=draws, chunk_size=chunk_size)
    if res.failed:
        print(f"batch: {len(res.failed)} of {len(tasks)} run(s) failed (rerun the same batch to complete it):",
              file=sys.stderr)
        for naam, err in res.failed.items():
            print(f"  {naam}: {err}", file=sys.stderr)
    return res


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _execute(todo: list[Task], res: BatchResult, *, scheduler, n_workers: int, progress: bool, total: int) -> None:
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
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    own_client = True
    if scheduler is None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster, set_as_default=False)
    elif isinstance(scheduler, Client):
        client, own_client = scheduler, False
    else:                              # an address or a cluster object (e.g. dask_jobqueue.SLURMCluster)
        client = Client(scheduler, set_as_default=False)
    try:
        if "dashboard" in client.scheduler_info().get("services", {}):
            note = "" if _has_bokeh() else " (its pages need bokeh installed)"
            print(f"batch: Dask dashboard at {client.dashboard_link}{note}", file=sys.stderr)
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


def _has_bokeh() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


def _write_batch_json(out: Path, tasks: list[Task], res: BatchResult, *, status: str, draws: int,
                      chunk_size: int) -> None:
    meta = {
        "status": status, "draws": int(draws), "chunk_size": int(chunk_size),
        "scenarios": sorted({t.scenario.naam for t in tasks}), "seeds": sorted({t.seed for t in tasks}),
        "runs": {t.naam: ("finished" if is_finished(t.folder) else "failed" if t.naam in res.failed else "pending")
                 for t in tasks},
        "failed": res.failed,
    }
    tmp = out / f"{BATCH_JSON}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, out / BATCH_JSON)


# ------------------------------------------------------------------------------------------ summary
def _key_names(rows: list[dict]) -> list[str]:
    return list(KEY_OUTPUTS) + [r["naam"] for r in rows if r["soort"] == "contante_waarde"]


def summarise_batch(out_dir: str | Path, tasks: Sequence[Task]) -> list[Path]:
    """Write ``batch_samenvatting.csv``, ``batch_vergelijking.csv`` and ``batch_vergelijking.png`` from the
    finished runs of ``tasks``; returns the paths written (none when no run is finished)."""
    out = Path(out_dir)
    finished = [t for t in tasks if is_finished(t.folder)]
    if not finished:
        return []
    long_rows = []
    pooled: dict[str, dict[str, list[np.ndarray]]] = {}
    scenarios: list[str] = []
    for t in finished:
        rows = read_summary(t.folder / SUMMARY)
        keys = _key_names(rows)
        by = {r["naam"]: r for r in rows}
        for k in keys:
            r = by[k]
            long_rows.append({"scenario": t.scenario.naam, "seed": t.seed, "draws": t.draws, "naam": k,
                              "long_name": r["long_name"], **{s: r[s] for s in ("mean", "sd", "p5", "p50", "p95")}})
        if t.scenario.naam not in scenarios:
            scenarios.append(t.scenario.naam)
        with xr.open_dataset(t.folder / RESULT, engine="h5netcdf") as ds:
            ds = ds.load()
        acc = pooled.setdefault(t.scenario.naam, {})
        for name in KEY_OUTPUTS:
            acc.setdefault(name, []).append(ds["opgave"].sel(output=name).values)
        for r in ds["discontovoet"].values:
            acc.setdefault(f"contante_waarde_{r:.4f}", []).append(ds["contante_waarde"].sel(discontovoet=r).values)
    files = []
    path = out / "batch_samenvatting.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(long_rows[0]), lineterminator="\n")
        w.writeheader()
        for row in long_rows:
            w.writerow({k: repr(float(v)) if isinstance(v, (float, np.floating)) else v for k, v in row.items()})
    files.append(path)

    outputs = list(dict.fromkeys(k for acc in pooled.values() for k in acc))
    path = out / "batch_vergelijking.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["naam", "statistiek", *scenarios])
        for name in outputs:
            stats = {s: _stats(np.concatenate(pooled[s][name])) if name in pooled[s] else None for s in scenarios}
            for stat in ("mean", "p5", "p50", "p95"):
                w.writerow([name, stat, *[repr(float(stats[s][stat])) if stats[s] else "" for s in scenarios]])
    files.append(path)
    files.append(plot_vergelijking(pooled, scenarios, out / "batch_vergelijking.png"))
    return files


def plot_vergelijking(pooled: dict, scenarios: list[str], path: Path) -> Path:
    """Scenarios side by side: median and 5-95% interval of the total and of its present value (2.25%)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    cw_name = next((k for k in pooled[scenarios[0]] if k.startswith("contante_waarde_")), None)
    panels = [("totaal", "Totaal 2025-2035 (zonder PM), € mld.")]
    if cw_name:
        panels.append((cw_name, f"Contante waarde bij {100 * float(cw_name.rsplit('_', 1)[1]):.2f}%, € mld."))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 0.5 * len(scenarios) + 1.8), sharey=True)
    axes = np.atleast_1d(axes)
    y = np.arange(len(scenarios))
    for ax, (name, title) in zip(axes, panels):
        for i, s in enumerate(scenarios):
            v = np.concatenate(pooled[s][name]) / 1e9
            lo, mid, hi = np.quantile(v, [0.05, 0.5, 0.95])
            ax.plot([lo, hi], [i, i], color="tab:blue", lw=3, alpha=0.5)
            ax.plot([mid], [i], "o", color="tab:blue")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(y, scenarios)
    axes[0].invert_yaxis()
    fig.suptitle("Scenario's naast elkaar: mediaan en 5-95%")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def load_run(folder: str | Path) -> tuple[xr.Dataset, list[dict], dict]:
    """A finished run folder: (resultaat.nc loaded, summary rows, run.json)."""
    folder = Path(folder)
    if not is_finished(folder):
        raise FileNotFoundError(f"{folder}: not a finished run (no {MARKER})")
    with xr.open_dataset(folder / RESULT, engine="h5netcdf") as ds:
        ds = ds.load()
    return ds, read_summary(folder / SUMMARY), json.loads((folder / RUN_JSON).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------- CLI
def register_cli(subparsers) -> argparse.ArgumentParser:
    """Add ``batch`` to the CLI's subparsers: ``python cli.py batch SPEC... [--seeds 1 2] [--draws N]
    [--scheduler ADDR] [--workers 2] [--out runs/batch]``."""
    p = subparsers.add_parser("batch", help="run scenarios x seeds as Dask tasks, one run folder each",
                              description="Run scenarios x seeds as Dask tasks; each run gets its own folder, the "
                                          "batch folder a side-by-side summary. Rerun to resume.")
    p.add_argument("specs", nargs="+", metavar="SPEC",
                   help="scenario names (scenarios/<naam>.toml), paths to .toml files, or 'default'")
    p.add_argument("--seeds", nargs="+", type=non_negative_int, default=[20250101],
                   help="seeds; every scenario runs at each")
    p.add_argument("--draws", type=int, default=20_000, help="draws per run (all kept in memory; default 20000)")
    p.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler (tcp://host:8786), or 'serial' for no Dask; "
                        "default: a LocalCluster with --workers processes")
    p.add_argument("--workers", type=positive_int, default=2, help="worker processes of the LocalCluster (default 2)")
    p.add_argument("--out", type=output_folder, default="runs/batch", help="batch folder (default runs/batch)")
    p.add_argument("--chunk-size", type=positive_int, default=DEFAULT_CHUNK,
                   help="engine chunk size (part of the streams)")
    p.add_argument("--scenario-dir", default=None, help="folder of the scenario files (default scenarios/)")
    p.add_argument("--no-resume", action="store_true", help="refuse to start when a run folder exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_batch)
    return p


def cmd_batch(args: argparse.Namespace) -> int:
    """The ``batch`` subcommand: 0 when every run is finished, 1 when some failed, 2 on a usage error."""
    try:
        res = run_batch(args.specs, args.seeds, draws=args.draws, out_dir=args.out, scheduler=args.scheduler,
                        n_workers=args.workers, resume=not args.no_resume, chunk_size=args.chunk_size,
                        scenario_dir=args.scenario_dir, progress=not args.quiet)
    except (FileExistsError, ValueError) as exc:
        from model.errors import PriorError

        if isinstance(exc, PriorError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"batch: {len(res.done)} run(s) done, {len(res.skipped)} already finished, {len(res.failed)} failed; "
          f"results in {res.out_dir}")
    for f in res.files:
        print(f"  {f}")
    return 0 if res.ok else 1


__all__ = ["Task", "BatchResult", "run_batch", "run_task", "run_scenario", "make_tasks", "summarise_batch",
           "load_run", "register_cli", "cmd_batch", "MARKER"]
