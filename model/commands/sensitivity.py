"""``tornado`` and ``sobol`` of one output (``model.jobs.sensitivity``)."""

from __future__ import annotations

import argparse
import json
import sys

from model.commands.args import add_out, add_priors, fraction, positive_int, seed

_DEFAULT_HELP = ("default: model.analysis.sensitivity_npvr.DEFAULT_OUTPUT, publieke_restopgave, the same for tornado "
                 "and sobol")


def _plan_and_output(args):
    """The plan and the output named on the command line, or ``None`` after an error message listing the known
    names."""
    from model.analysis.sensitivity_npvr import DEFAULT_OUTPUT
    from model.jobs.sensitivity import plan_for

    args.output = args.output or DEFAULT_OUTPUT
    plan = plan_for(args.priors, args.variant)
    try:
        plan.output_index(args.output)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return plan, None
    return plan, args.output


def _num(x: float) -> str:
    from model.output.format import mld

    return f"{mld(x, 3, euro=False):>8}"


def _cmd_tornado(args: argparse.Namespace) -> int:
    if args.low >= args.high:
        print(f"error: --low ({args.low:g}) must be below --high ({args.high:g})", file=sys.stderr)
        return 2
    plan, output = _plan_and_output(args)
    if output is None:
        return 2
    from model.jobs.sensitivity import tornado_job
    from model.output.format import mld

    job = tornado_job(output, args.low, args.high, plan=plan, out=args.out)
    t = job.analysis
    if args.json:
        print(json.dumps(t.json_rows(), indent=2, ensure_ascii=False))
        print(f"run folder: {job.path}", file=sys.stderr)
        return 0
    rep = " - ".join(mld(x, 1) for x in t.report) or "n.v.t."
    print(f"Tornado: {t.long_name} (variant {plan.variant}); inputs op P{100 * args.low:g} / P{100 * args.high:g}, "
          "overige op puntwaarde")
    print(f"puntwaarde {mld(t.base, 2)}; rapport {rep}")
    print(f"{'#':>3}  {'input':46} {'soort':11} {'laag':>8} {'hoog':>8} {'swing':>8}  (mld. €)")
    for k, r in enumerate(t.rows[: args.top]):
        print(f"{k + 1:3d}  {r['input']:46} {r['kind']:11} {_num(r['low'])} {_num(r['high'])} {_num(r['swing'])}")
    if t.n_without_effect:
        print(f"({t.n_without_effect} inputs zonder invloed op deze uitkomst weggelaten)")
    print(f"run folder: {job.path}")
    return 0


def _cmd_sobol(args: argparse.Namespace) -> int:
    plan, output = _plan_and_output(args)
    if output is None:
        return 2
    from model.jobs.sensitivity import sobol_job

    job = sobol_job(output, n_base=args.n_base, seed=args.seed, plan=plan, out=args.out)
    s = job.analysis
    if args.json:
        print(json.dumps(s.json_rows(), indent=2, ensure_ascii=False))
        print(f"run folder: {job.path}", file=sys.stderr)
        return 0
    res = s.result
    print(f"Sobol': {s.long_name} (variant {plan.variant}); N = {res.n_base:,}, {s.n_evaluations:,} evaluaties in {s.seconds:.1f} s; "
          f"{100 * res.conf_level:g}%-intervallen (bootstrap, {res.num_resamples} herhalingen)".replace(",", "."))
    print(f"{'#':>3}  {'input':46} {'S1':>14} {'ST':>14}")
    for k, r in enumerate(res.sorted_rows()[: args.top]):
        print(f"{k + 1:3d}  {r['input']:46} {r['S1']:6.3f} ±{r['S1_conf']:5.3f} {r['ST']:6.3f} ±{r['ST_conf']:5.3f}")
    for label, groups in (("deelopgave", s.by_deelopgave), ("soort", s.by_kind)):
        top = sorted(groups.rows, key=lambda r: r["ST"], reverse=True)[:5]
        print(f"per {label}: " + "; ".join(f"{r['group']} ST {r['ST']:.2f}" for r in top))
    cg = s.correlated_groups
    if cg is not None:
        blocks = sorted((r for r in cg.rows if len(r["members"]) > 1), key=lambda r: r["ST"], reverse=True)
        print(f"gecorreleerde groepen ({len(blocks)}, gezamenlijk getrokken, elk één factor): "
              + "; ".join(f"{r['group']} ST {r['ST']:.2f}" for r in blocks[:5]))
        print("let op: de indices per input veronderstellen onafhankelijke inputs (zie dependence_note.txt)")
    print(f"run folder: {job.path}")
    return 0


def add_variant(p) -> None:
    p.add_argument("--variant", default=None, metavar="NAME",
                   help="the policy variant whose choices the analysis holds fixed (scenarios/varianten.toml; "
                        "default its 'standaard', laag); choices are no inputs of a sensitivity analysis")


def register(sub) -> None:
    p = sub.add_parser("tornado", help="tornado and spider of one output (one input at a time)")
    p.add_argument("output", nargs="?", default=None,
                   help=f"output: a column, deelopgave, doel_..., totaal_pm ({_DEFAULT_HELP})")
    p.add_argument("--low", type=fraction, default=0.10, help="low input quantile (default 0.10)")
    p.add_argument("--high", type=fraction, default=0.90, help="high input quantile (default 0.90)")
    p.add_argument("--top", type=positive_int, default=15, help="drivers printed (default 15)")
    p.add_argument("--json", action="store_true", help="print [{input, low, high, swing}] as JSON (euros)")
    add_variant(p)
    add_out(p)
    add_priors(p)
    p.set_defaults(func=_cmd_tornado)

    p = sub.add_parser("sobol", help="Sobol' indices of one output, per input and grouped")
    p.add_argument("output", nargs="?", default=None,
                   help=f"output: a column, deelopgave, doel_..., totaal_pm ({_DEFAULT_HELP})")
    p.add_argument("--n-base", type=positive_int, default=2**14,
                   help="base samples N (default 2**14; a minimum is enforced, see model.jobs.sensitivity)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the scrambled Sobol' design (default 0)")
    p.add_argument("--top", type=positive_int, default=15, help="drivers printed (default 15)")
    p.add_argument("--json", action="store_true", help="print [{input, S1, S1_conf, ST, ST_conf}] as JSON")
    add_variant(p)
    add_out(p)
    add_priors(p)
    p.set_defaults(func=_cmd_sobol)


__all__ = ["register"]
