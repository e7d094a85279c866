"""``report``: one HTML report and one workbook of a run with its tornado, Sobol', calibration and batch folders
(``model.jobs.report.report_job``)."""

from __future__ import annotations

import argparse
import json

from model.commands.args import add_out


def _cmd_report(args: argparse.Namespace) -> int:
    from model.jobs.report import report_job

    job = report_job(args.folders, out=args.out)
    if args.json:
        print(json.dumps({"report_dir": str(job.path), "files": [str(p) for p in job.files], "notes": job.notes},
                         indent=2, ensure_ascii=False))
        return 0
    for note in job.notes:
        print(note)
    print("\n".join(str(p) for p in job.files))
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="one HTML report and one Excel workbook of a run folder with its tornado, "
                                      "sobol, calibrate and batch folders")
    p.add_argument("folders", nargs="+", metavar="RUN_DIR",
                   help="a run folder (cli.py run) first, then any tornado, sobol, calibrate or batch folders")
    add_out(p)
    p.add_argument("--json", action="store_true", help="print the report folder and its files as JSON")
    p.set_defaults(func=_cmd_report)
