"""``reproduce`` (report mode) and ``priors`` (every prior entry and its fit)."""

from __future__ import annotations

import argparse
import json

from model.commands.args import add_priors


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from model.analysis.report import reproduce
    from model.output.tables import report_table
    from model.spec.data import load_gebieden
    from model.spec.priors import load_priors

    result = reproduce(load_priors(args.priors, fit=False), load_gebieden())
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else report_table(result))
    return 0


def _cmd_priors(args: argparse.Namespace) -> int:
    from model.spec.priors import fit_table, load_priors

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


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="report mode: the report's Table 1.2 from the priors' point values")
    p.add_argument("--json", action="store_true", help="print the result as JSON (euros)")
    add_priors(p)
    p.set_defaults(func=_cmd_reproduce)
    p = sub.add_parser("priors", help="every prior entry: family, point value, and how well the fit reproduces its "
                                      "stated quantiles")
    add_priors(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_priors)
