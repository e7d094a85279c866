"""Batches on SLURM: the settings a cluster user needs, from the command line or a small TOML file, and the
``dask_jobqueue.SLURMCluster`` they make (``cli.py batch ... --slurm``).

Each SLURM job starts ``processes`` Dask workers (one thread each: the engine is numba, GIL-free) that connect back
to a scheduler in the process that runs the batch; ``jobs`` such jobs are submitted. The run folders must be on a
file system the batch process and the compute nodes both see. The defaults work on a single-node cluster (one job
per core of this machine, the Python of the running interpreter, logs in the batch folder); on a real cluster a
user sets the partition, account, walltime and memory, and the network interface the nodes reach the batch
process on (``docs/batch_slurm.md``).

A settings file holds one table ``[slurm]`` with any of the keys of :class:`SlurmSettings`::

    [slurm]
    partition = "normal"
    account = "mijn_project"
    walltime = "02:00:00"
    memory = "16GB"          # per job
    cores = 4                # per job
    processes = 4            # Dask workers per job
    jobs = 8
    sbatch = ["--qos=short", "--constraint=avx2"]   # extra #SBATCH lines
    python = "/shared/npvr/.venv/bin/python"
    log_directory = "/shared/runs/slurm-logs"
    interface = "ib0"        # the network interface of the scheduler and workers (tests: "lo")

An option given on the command line overrides the file. Unknown keys and values of the wrong type are refused with
the file and the key named.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from model.errors import UsageError


@dataclass(frozen=True)
class SlurmSettings:
    """What the SLURM jobs of a batch ask for (``None``: SLURM's or dask-jobqueue's own default)."""

    partition: str | None = None            # #SBATCH -p
    account: str | None = None              # #SBATCH -A
    walltime: str = "01:00:00"              # #SBATCH -t
    memory: str = "3GB"                     # per job (a task of 200,000 draws needs about 2 GB)
    cores: int = 1                          # per job
    processes: int = 1                      # Dask workers per job
    jobs: int = 2                           # jobs submitted
    sbatch: tuple[str, ...] = ()            # extra #SBATCH lines, e.g. "--qos=short"
    python: str = field(default_factory=lambda: sys.executable)
    log_directory: str | None = None        # default: <batch folder>/slurm-logs
    interface: str | None = None            # network interface of scheduler and workers (None: Dask's choice)

    def cluster_options(self, out_dir: str | Path) -> dict[str, Any]:
        """The keyword arguments of ``dask_jobqueue.SLURMCluster``."""
        logs = self.log_directory or str(Path(out_dir) / "slurm-logs")
        host = "127.0.0.1" if self.interface == "lo" else None
        return {
            "queue": self.partition, "account": self.account, "walltime": self.walltime, "memory": self.memory,
            "cores": self.cores, "processes": self.processes, "python": self.python, "log_directory": logs,
            "job_extra_directives": list(self.sbatch), "interface": self.interface,
            "job_name": "npvr-batch", "worker_extra_args": ["--nthreads", "1"] if self.processes == 1 else [],
            "scheduler_options": {"dashboard_address": f"{host}:0" if host else ":0"},
            # the numba cache of the project: one folder every job sees (the workers then load, not compile)
            "job_script_prologue": [f"export NPVR_CACHE={os.environ['NPVR_CACHE']}"] if os.environ.get("NPVR_CACHE")
            else [],
        }


_TYPES = {f.name: f.type for f in dataclasses.fields(SlurmSettings)}


def _check(where: str, key: str, value: Any) -> Any:
    if key not in _TYPES:
        raise UsageError(f"{where}: {key}: unknown key (allowed: {', '.join(_TYPES)})")
    if key in ("cores", "processes", "jobs"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UsageError(f"{where}: {key}: must be a positive integer, got {value!r}")
        return value
    if key == "sbatch":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{where}: sbatch: must be a list of texts (extra #SBATCH lines)")
        return tuple(value)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{where}: {key}: must be a text, got {value!r}")
    return value


def load_settings(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> SlurmSettings:
    """The settings of a file's ``[slurm]`` table (if given) with ``overrides`` (command-line options, None values
    ignored) on top."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"{path}: (file): cannot read ({exc.strerror or exc})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: (file): not valid TOML ({exc})") from None
        table = data.get("slurm")
        if not isinstance(table, dict) or set(data) - {"slurm"}:
            raise UsageError(f"{path}: slurm: the file must hold one table [slurm]")
        values.update({k: _check(f"{path}: slurm", k, v) for k, v in table.items()})
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = _check("command line", k, v)
    return SlurmSettings(**values)


def slurm_cluster(settings: SlurmSettings, out_dir: str | Path):
    """A ``dask_jobqueue.SLURMCluster`` of ``settings`` with ``settings.jobs`` jobs asked for."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise UsageError("--slurm needs dask-jobqueue: pip install -e '.[slurm]'") from None
    options = settings.cluster_options(out_dir)
    Path(options["log_directory"]).mkdir(parents=True, exist_ok=True)
    cluster = SLURMCluster(**options)
    cluster.scale(jobs=settings.jobs)
    return cluster
