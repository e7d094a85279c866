"""Command line of the NPVR model.

    python cli.py reproduce [--json]        report mode: Table 1.2 from the priors' point values
    python cli.py run [--draws N] ...       Monte Carlo run (see `python cli.py run --help`)

Every subcommand works on the embedded defaults (priors/, data/) unless told otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys

from model.errors import PriorError


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


COMMANDS: dict[str, tuple] = {}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cli.py", description="Probabilistic model of the NPVR financial task")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("reproduce", help="report mode: the report's Table 1.2 from the priors' point values")
    p.add_argument("--json", action="store_true", help="print the result as JSON (euros)")
    p.add_argument("--priors", default=None, help="prior directory (default: the embedded priors/)")
    p.set_defaults(func=_cmd_reproduce)
    for name, (register, _) in COMMANDS.items():
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PriorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
