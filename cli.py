"""Command line of the NPVR model.

    python cli.py reproduce [--json]        report mode: Table 1.2 from the priors' point values
    python cli.py run [--draws N] ...       Monte Carlo run (see `python cli.py run --help`)

Every subcommand works on the embedded defaults (priors/, data/) unless told otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.cli_args import non_negative_int, output_folder, positive_int
from model.errors import PriorError, SettingError


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from model.data import load_gebieden
    from model.priors import load_priors
    from model.report import format_table, reproduce

    result = reproduce(load_priors(args.priors), load_gebieden())
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(format_table(result))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from model import compiled, engine, plots, runs, summary
    from model.data import load_gebieden
    from model.priors import fit_table, load_priors

    priors_arg = args.priors
    posterior = None
    if priors_arg is not None and (priors_arg == "gekalibreerd" or (Path(priors_arg) / "posterior.nc").exists()):
        from model.calibration import load_posterior_draws
        posterior = load_posterior_draws(priors_arg)
        priors_arg = None
    priors = load_priors(priors_arg)
    threads = args.threads or engine.default_threads()
    if compiled.is_compiled() is False:
        print("compiling the engine with numba: the first run of this code version on this machine takes about "
              f"10 s more; the machine code is then cached ({compiled.cache_location()})", file=sys.stderr)
    with runs.Timer() as timer:
        plan = engine.make_plan(priors, load_gebieden(), chunk_size=args.chunk_size, posterior=posterior)
        bar = tqdm(total=args.draws, unit="draw", unit_scale=True, disable=args.json or args.draws < 500_000,
                   file=sys.stderr)
        result = engine.run(plan=plan, draws=args.draws, seed=args.seed, threads=threads,
                            keep=False if args.summaries_only else None, progress=bar.update)
        bar.close()
        rows = summary.summarise(result)
    folder = runs.new_run_folder(args.out, "run")
    with folder as tmp:
        runs.write_dataset(summary.to_dataset(result, rows), tmp / "dataset.nc")
        runs.write_summary(rows, tmp, summary.overview_table(rows, markdown=True) + "\n\n"
                           + summary.regional_table(rows, markdown=True))
        runs.write_json(fit_table(priors), tmp / "prior_fits.json")
        if result.inputs is not None and plan.names:   # no sampled entries when a posterior gives them all
            from model.dependence import rank_correlation_report
            samples = np.vstack([result.inputs[name] for name in plan.names])
            runs.write_json(rank_correlation_report(samples, plan.copula), tmp / "rank_correlations.json")
        plots.s_curves(result, rows, tmp)
        plots.intervals(rows, tmp)
        runs.write_json(runs.manifest(result, rows, timer.seconds,
                                      {"posterior": str(args.priors) if posterior is not None else None}),
                        tmp / "manifest.json")
    if args.json:
        out = summary.summary_json(rows)
        out["run_dir"] = str(folder.path)
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(summary.overview_table(rows))
        print()
        print(summary.regional_table(rows))
        print(f"\n{result.draws:,} trekkingen, seed {result.seed}, {threads} thread(s), "
              f"{timer.seconds:.1f} s; run folder: {folder.path}")
    return 0


def _register_run(sub) -> None:
    from model.engine import DEFAULT_CHUNK

    p = sub.add_parser("run", help="Monte Carlo run: intervals for every deelopgave, goal, column and PM line")
    p.add_argument("--draws", type=positive_int, default=200_000, help="number of draws (default 200,000)")
    p.add_argument("--seed", type=non_negative_int, default=20250101)
    p.add_argument("--threads", type=positive_int, default=None, help="threads (default: up to 2)")
    p.add_argument("--chunk-size", type=positive_int, default=DEFAULT_CHUNK,
                   help="draws per chunk; part of the random stream's definition")
    p.add_argument("--out", type=output_folder, default="runs", help="folder for run folders (default runs/)")
    p.add_argument("--priors", default=None,
                   help="prior directory, or 'gekalibreerd' / a calibration run folder for the posterior")
    p.add_argument("--summaries-only", action="store_true", help="stream summaries; keep no draws")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (euros)")
    p.set_defaults(func=_cmd_run)


def _register_sensitivity(sub) -> None:
    from model.sensitivity_npvr import register_cli
    register_cli(sub)


def _cmd_priors(args: argparse.Namespace) -> int:
    from model.priors import fit_table, load_priors

    rows = fit_table(load_priors(args.priors))
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"{'entry':48} {'family':11} {'unit':18} {'status':13} {'point':>12}  max fit error  stated -> achieved")
    for r in rows:
        pairs = ", ".join(f"{k} {r['stated'][k]:.4g}->{r['achieved'][k]:.4g}" for k in r["stated"])
        print(f"{r['entry']:48} {r['family']:11} {r['unit']:18} {r['status']:13} {r['point']:>12.6g}  "
              f"{r['max_rel_error']:12.2%}  {pairs}")
    return 0


def _register_priors(sub) -> None:
    p = sub.add_parser("priors", help="every prior entry: family, point value, and how well the fit reproduces "
                                      "its stated quantiles")
    p.add_argument("--priors", default=None, help="prior directory (default: the embedded priors/)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_priors)


def _register_batch(sub) -> None:
    from model.batch import register_cli
    register_cli(sub)


def _register_calibrate(sub) -> None:
    from model.calibration import register_cli
    register_cli(sub)


COMMANDS: dict[str, tuple] = {"priors": (_register_priors, None), "calibrate": (_register_calibrate, None), "batch": (_register_batch, None), "run": (_register_run, None), "sensitivity": (_register_sensitivity, None)}


SUBCOMMANDS = {"tornado": "sensitivity", "sobol": "sensitivity"}  # subcommand -> COMMANDS key, where they differ


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the requested subcommand's module is imported (PyMC, Dask and SALib load
    slowly), so that ``run`` and ``reproduce`` start fast."""
    parser = argparse.ArgumentParser(prog="cli.py", description="Probabilistic model of the NPVR financial task")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("reproduce", help="report mode: the report's Table 1.2 from the priors' point values")
    p.add_argument("--json", action="store_true", help="print the result as JSON (euros)")
    p.add_argument("--priors", default=None, help="prior directory (default: the embedded priors/)")
    p.set_defaults(func=_cmd_reproduce)
    wanted = SUBCOMMANDS.get(argv[0], argv[0]) if argv and not argv[0].startswith("-") else None
    for name, (register, _) in COMMANDS.items():
        if wanted is None or wanted == name:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return args.func(args)
    except (PriorError, SettingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
