"""``batch``: scenarios × seeds as Dask tasks (``model.jobs.batch``)."""

from __future__ import annotations

import argparse
import sys

from model.commands.args import output_folder, positive_int, precision, seed
from model.engine.stream import DEFAULT_CHUNK
from model.paths import RUNS_DIR


def _cmd_batch(args: argparse.Namespace) -> int:
    """0 when every run is finished, 1 when some failed, 2 on a usage error."""
    from model.jobs.batch import run_batch

    slurm = None
    if args.slurm or args.slurm_config:
        from model.jobs.slurm import load_settings

        slurm = load_settings(args.slurm_config, {
            "partition": args.partition, "account": args.account, "walltime": args.walltime,
            "memory": args.job_memory, "cores": args.job_cores, "processes": args.job_workers, "jobs": args.jobs,
            "sbatch": tuple(args.sbatch) if args.sbatch else None, "python": args.slurm_python,
            "log_directory": args.slurm_logs, "interface": args.interface})
    try:
        res = run_batch(args.specs, args.seeds, draws=args.draws, out_dir=args.out, scheduler=args.scheduler,
                        n_workers=args.workers, resume=not args.no_resume, chunk_size=args.chunk_size,
                        scenario_dir=args.scenario_dir, progress=not args.quiet, precision=args.precision,
                        slurm=slurm)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"batch: {len(res.done)} run(s) done, {len(res.skipped)} already finished, {len(res.failed)} failed; "
          f"results in {res.out_dir}")
    if res.comparison is not None:
        import csv

        from model.output.tables import batch_table

        with (res.comparison / "batch_vergelijking.csv").open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            scenarios = reader.fieldnames[3:]
            rows = list(reader)
        print("\nVergelijking (de trekkingen van alle seeds samen; totalen zonder PM, zoals het rapport telt):\n")
        print(batch_table(rows, scenarios))
        print(f"\n  comparison: {res.comparison}")
    return 0 if res.ok else 1


def register(sub) -> None:
    p = sub.add_parser("batch", help="run scenarios x seeds as Dask tasks, one run folder each",
                       description="Run scenarios x seeds as Dask tasks; each run gets its own folder in the batch "
                                   "folder, each batch call a new comparison folder. Rerun to resume.")
    p.add_argument("specs", nargs="+", metavar="SPEC",
                   help="scenario names (scenarios/<naam>.toml), paths to .toml files, or 'default'")
    p.add_argument("--seeds", nargs="+", type=seed, default=[20250101],
                   help="seeds; every scenario runs at each")
    p.add_argument("--draws", type=positive_int, default=20_000,
                   help="draws per run (default 20000); with --precision the most draws per run")
    p.add_argument("--precision", type=precision, default=None, metavar="SHARE",
                   help="each run draws until the Monte Carlo error of P5, P50 and P95 of every column total is at "
                        "most this share of its value (e.g. 1%%), at most --draws")
    p.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler (tcp://host:8786), or 'serial' for no Dask; "
                        "default: a LocalCluster with --workers processes")
    p.add_argument("--workers", type=positive_int, default=2, help="worker processes of the LocalCluster (default 2)")
    p.add_argument("--out", type=output_folder, default=str(RUNS_DIR / "batch"),
                   help="batch folder (default: the project's runs/batch)")
    p.add_argument("--chunk-size", type=positive_int, default=DEFAULT_CHUNK, help="engine chunk size (part of the "
                                                                                "streams)")
    p.add_argument("--scenario-dir", default=None, help="folder of the scenario files (default scenarios/)")
    p.add_argument("--no-resume", action="store_true", help="refuse to start when a run folder exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("SLURM", "the workers as SLURM jobs (dask-jobqueue; pip install -e '.[slurm]'); "
                                      "options override --slurm-config; defaults suit a single-node cluster")
    g.add_argument("--slurm", action="store_true", help="run the workers as SLURM jobs")
    g.add_argument("--slurm-config", metavar="FILE", help="a TOML file with a [slurm] table (model.jobs.slurm)")
    g.add_argument("--partition", help="#SBATCH -p (default: the cluster's default partition)")
    g.add_argument("--account", help="#SBATCH -A")
    g.add_argument("--walltime", help="#SBATCH -t per job (default 01:00:00)")
    g.add_argument("--job-memory", metavar="MEM", help="memory per job, e.g. 16GB (default 3GB)")
    g.add_argument("--job-cores", type=positive_int, metavar="N", help="cores per job (default 1)")
    g.add_argument("--job-workers", type=positive_int, metavar="N", help="Dask workers per job (default 1)")
    g.add_argument("--jobs", type=positive_int, metavar="N", help="jobs to submit (default 2)")
    g.add_argument("--sbatch", action="append", metavar="LINE", help="an extra #SBATCH line (repeatable), "
                                                                     "e.g. --sbatch=--qos=short")
    g.add_argument("--slurm-python", metavar="PATH", help="the Python of the project's venv on the nodes "
                                                         "(default: this one)")
    g.add_argument("--slurm-logs", metavar="DIR", help="folder of the jobs' logs (default: <out>/slurm-logs)")
    g.add_argument("--interface", help="network interface of scheduler and workers, e.g. ib0 (lo: this machine)")
    p.set_defaults(func=_cmd_batch)
