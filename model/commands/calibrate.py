"""``calibrate``: the Bayesian calibration against the report's printed figures (``model.jobs.calibrate``)."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from model.commands.args import (
    add_out,
    add_priors,
    non_negative_int,
    positive_int,
    seed,
)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from model.analysis.calibration.sampling import FULL, QUICK
    from model.jobs.calibrate import calibrate_job

    config = QUICK if args.quick else FULL
    changed = {k: getattr(args, k) for k in ("draws", "tune", "chains", "max_treedepth", "sampler") if getattr(args, k) is not None}
    if changed:
        config = dataclasses.replace(config, name=f"{config.name}-aangepast", **changed)
    job = calibrate_job(args.priors, config, args.seed, out=args.out, cores=args.cores, progressbar=args.progress)
    d = job.calibration.diagnostics
    c = d["checks"]
    m = job.manifest
    print(f"run folder: {job.path}")
    print(f"config {config.name}: {config.sampler}, {config.chains} chains x {config.draws} draws (tune {config.tune}, "
          f"target_accept {config.target_accept}), {m['results']['n_parameters']} parameters, {m['results']['n_figures']} "
          f"published figures; {m['timings_s']['total']:.0f} s")
    ps = m["results"]["prior_set"]
    print(f"priors: {ps['name']}" + (f" ({ps['file']}: {len(ps['replaced'])} report-anchored entries replaced by "
                                      "independent priors; no figure is used twice)" if ps["file"] else ""))
    print(f"max R-hat {c['rhat']['value']:.4f}; min ESS bulk {c['ess_bulk']['value']:.0f}, tail "
          f"{c['ess_tail']['value']:.0f}; divergences {c['divergences']['value']}; "
          f"PPC: {m['results']['ppc_inside_90']}/{m['results']['n_figures']} printed figures inside the 90% interval")
    if job.usable:
        print(job.message)
        return 0
    print(f"error: {job.message}", file=sys.stderr)
    return 1


def register(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="Bayesian calibration (NUTS: nutpie, NumPyro or PyMC) of the kentallen against the report's published figures",
        description="Calibrate the priors against the published figures; writes a new run folder under --out. "
                    "Exits 1 when the diagnostics fail (the run is written but marked usable: false).")
    p.add_argument("--quick", action="store_true",
                   help="reduced configuration (fewer draws, the same thresholds) for a first look and the notebook")
    p.add_argument("--draws", type=positive_int, default=None, help="draws per chain (default: the configuration's)")
    p.add_argument("--tune", type=non_negative_int, default=None,
                   help="tuning steps per chain (default: the configuration's)")
    p.add_argument("--chains", type=positive_int, default=None, help="chains (default: the configuration's)")
    from model.analysis.calibration.sampling import FULL, SAMPLERS

    p.add_argument("--sampler", choices=tuple(SAMPLERS), default=None,
                   help=f"NUTS implementation (default {FULL.sampler}: "
                        + "; ".join(f"{k}: {v}" for k, v in SAMPLERS.items()) + ")")
    p.add_argument("--max-treedepth", type=positive_int, default=None,
                   help="cap each NUTS trajectory at 2**N leapfrog steps (default: the configuration's, 10); a lower "
                        "cap is cheaper and mixes worse")
    p.add_argument("--seed", type=seed, default=1, help="random seed (default 1)")
    add_out(p)
    p.add_argument("--cores", type=positive_int, default=None,
                   help="processes for the chains of nutpie and PyMC (default min(chains, CPUs)); NumPyro runs one XLA "
                        "device per chain whatever this says (its draws depend on that layout)")
    add_priors(p)
    p.add_argument("--progress", action="store_true", help="show PyMC's progress bar")
    p.set_defaults(func=_cmd_calibrate)
