"""The command line: one module per command group registers its subcommand (options, help) and its handler, which
calls the command's job (``model.jobs``) and prints for people or as JSON.

Registering imports nothing heavy: every handler imports what it needs when it runs, so ``cli.py --help`` and
``cli.py reproduce`` start fast. Bad input ends in one line ``error: <file>: <entry>: ...`` and exit status 2; so
does an environment that stops the work (``error: <path>: No space left on device``), with nothing written.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from model.commands import batch, calibrate, report, reproduce, run, sensitivity
from model.errors import PriorError, SettingError, UsageError

GROUPS = (reproduce, run, sensitivity, calibrate, batch, report)   # in the order of `cli.py --help`


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cli.py", description="Probabilistic model of the NPVR financial task "
                                     "(Rebel, Top-down analyse financiële opgave NPVR)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def _warning_line(message, category, filename, lineno, line=None) -> str:
    """A warning as a user reads it: one line, no source line of the code that raised it."""
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    formatter, warnings.formatwarning = warnings.formatwarning, _warning_line
    try:
        return args.func(args)
    except (PriorError, SettingError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:     # the environment: a full disk, an unwritable or missing folder, no scheduler
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        warnings.formatwarning = formatter
