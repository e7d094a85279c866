"""``run``: the Monte Carlo run (``model.jobs.run.run_job``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.commands.args import add_out, add_priors, positive_int, precision, seed
from model.engine.stream import DEFAULT_CHUNK

DEFAULT_DRAWS = 200_000


def _cmd_run(args: argparse.Namespace) -> int:
    from model.analysis.regionaal import regionaal_json
    from model.engine import codegen
    from model.jobs.run import run_job
    from model.output.tables import (
        dependence_table,
        overview_table,
        regional_table,
        jaren_json,
        jaren_table,
        summary_json,
        varianten_json,
    )
    from model.spec.varianten import load_varianten

    if args.precision is not None and args.draws is not None:
        print("error: give --draws or --precision, not both (--precision chooses the number of draws)", file=sys.stderr)
        return 2
    draws = DEFAULT_DRAWS if args.draws is None else args.draws
    posterior = None
    priors = args.priors
    if priors is not None and (priors == "gekalibreerd" or (Path(priors) / "posterior.nc").exists()):
        posterior, priors = priors, None
    if codegen.is_compiled() is False:
        print("compiling the engine with numba: the first run of this code version on this machine takes about "
              f"10 s more; the machine code is then cached ({codegen.cache_location()})", file=sys.stderr)
    bars = []                             # the bar appears with the first finished chunk, after the checks

    def progress(n: int) -> None:
        if not bars:
            from tqdm import tqdm
            n_variants = len(load_varianten().selection(args.variant, args.rooster)[1])
            bars.append(tqdm(total=draws * n_variants, unit="draw", unit_scale=True, file=sys.stderr))
        bars[0].update(n)

    show = not args.json and args.precision is None and draws >= 500_000
    try:
        job = run_job(draws=draws, precision=args.precision, max_draws=args.max_draws, seed=args.seed, threads=args.threads, chunk_size=args.chunk_size,
                      out=args.out, priors=priors, posterior=posterior, store=args.store,
                      summaries_only=args.summaries_only, progress=progress if show else None, variant=args.variant,
                      rooster=args.rooster, scenario=args.scenario, jaren=args.jaren or args.scenario is not None)
    finally:
        for bar in bars:
            bar.close()
    if args.json:
        out = summary_json(job.rows)
        out["varianten"] = varianten_json(job.varianten, job.manifest["results"]["varianten"]["keuzes"])
        out["run_dir"] = str(job.path)
        out["posterior"] = job.manifest["results"]["posterior"]      # None, or the calibration folder, hash, ESS
        out["afhankelijkheid"] = job.manifest["results"]["afhankelijkheid"]   # None for a streamed run
        out["regionaal"] = regionaal_json(job.regionaal[job.rows[0]["variant"]])
        out["trekkingen"] = job.result.draws
        out["precisie"] = job.manifest["results"]["precisie"]      # None without --precision
        out["scenario"] = job.manifest["arguments"]["scenario"]
        out["jaren"] = None if job.jaren is None else jaren_json(job.rows, job.manifest["results"]["jaren"]["discontovoet"])
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    if job.posterior:
        print(job.posterior + "\n")
    others = [(v, rws) for v, rws in job.varianten.items() if v != job.rows[0]["variant"]]
    print(f"Beleidsvarianten (keuzes, geen onzekerheid; dezelfde trekkingen): {', '.join(job.varianten)}; "
          f"hoofdvariant {job.rows[0]['variant']}\n")
    print(overview_table(job.rows, others=others))
    print()
    print(regional_table(job.regionaal[job.rows[0]["variant"]]))
    if job.manifest["results"]["afhankelijkheid"]:
        print()
        print(dependence_table(job.manifest["results"]["afhankelijkheid"]))
    if job.jaren is not None:
        print()
        print(jaren_table(job.rows))
    prec = job.manifest["results"]["precisie"]
    if prec is not None:
        from model.output.format import decimal_nl

        rondes = ", ".join(decimal_nl(r["trekkingen"], 0) for r in prec["rondes"])
        last = prec["rondes"][-1]
        print(f"\nPrecisie: doel {decimal_nl(100 * prec['doel'], 2)}% van P5, P50 en P95 van elk kolomtotaal, "
              f"{'bereikt' if prec['bereikt'] else 'NIET bereikt'} met {decimal_nl(prec['trekkingen'], 0)} trekkingen "
              f"(rondes: {rondes}); grootste relatieve fout {decimal_nl(100 * last['grootste_relatieve_fout'], 3)}% "
              f"({last['waar']})")
    res = job.result
    print(f"\n{res.draws:,} trekkingen".replace(",", ".") + f", seed {res.seed}, {res.threads} thread(s), "
          f"{job.manifest['timings_s']['total']:.1f} s; run folder: {job.path}")
    print(f"rapport: {job.path / 'report.html'} en {job.path / 'report.xlsx'}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("run", help="Monte Carlo run: intervals for every deelopgave, goal, column and PM line")
    p.add_argument("--draws", type=positive_int, default=None, help=f"number of draws (default {DEFAULT_DRAWS:,})")
    p.add_argument("--precision", type=precision, default=None, metavar="SHARE",
                   help="instead of --draws: draw until the Monte Carlo error of P5, P50 and P95 of every column total "
                        "(every variant) is at most this share of its value, e.g. 0.5%% (model.analysis.precisie)")
    p.add_argument("--max-draws", type=positive_int, default=None,
                   help="with --precision: the most draws (default: model.analysis.precisie.MAX_DRAWS); the run says "
                        "when it stopped there")
    p.add_argument("--seed", type=seed, default=20250101, help="seed of the random stream (default 20250101)")
    p.add_argument("--threads", type=positive_int, default=None, help="threads (default: up to 2)")
    p.add_argument("--chunk-size", type=positive_int, default=DEFAULT_CHUNK,
                   help="draws per chunk; part of the random stream's definition")
    add_out(p)
    add_priors(p, posterior=True)
    p.add_argument("--store", default="compact", metavar="MODE",
                   help="draws kept in dataset.nc: compact (the aggregates; default), full (every output and "
                        "sampled entry), none (summaries only)")
    p.add_argument("--summaries-only", action="store_true", help="stream: bounded memory at any number of draws, "
                                                                 "no draws kept")
    p.add_argument("--variant", default=None, metavar="NAME",
                   help="the main policy variant of scenarios/varianten.toml (default: its 'standaard', laag); "
                        "its results fill the main table and --json 'totaal'")
    p.add_argument("--rooster", action="store_true",
                   help="evaluate the §3.5 grid of variants (now/2035 x Q1/median) instead of laag and hoog")
    p.add_argument("--scenario", default=None, metavar="NAME",
                   help="a scenario: a name in scenarios/ (e.g. rapport_hoog, bouwkosten_hoog) or a .toml file; "
                        "overlays the priors (excludes --priors) and adds the year model")
    p.add_argument("--jaren", action="store_true",
                   help="add the year model: amounts per year (prijspeil 2024 and current prices), the fan chart "
                        "and the present value at 2.25%% (1.6%% and 3%% as sensitivity)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (euros)")
    p.set_defaults(func=_cmd_run)
