"""``cli.py report RUN_DIR [FOLDER...]``: one review report of a run and the analyses made beside it.

The first folder is a Monte Carlo run folder (``cli.py run``); the others are tornado, Sobol', calibration or batch
folders (``model.output.report.COMPANIONS``). The job writes a new report folder ``report-<stamp>-<hex>`` under
``out`` with ``report.html`` and ``report.xlsx`` (``model.output.report``: the run's own report plus a section per
other folder) and its manifest, whose inputs are the SHA-256 of every folder's manifest. Nothing in the folders
read is changed.

The priors table shows the prior files the run named (its ``priors`` folder, or its scenario's). When they changed
since the run (their hashes differ from the run's manifest), the report says which files, at its top.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from model.errors import UsageError
from model.output import report
from model.output.runfolder import MANIFEST, RunFolder, input_hashes, read_manifest, write_manifest
from model.paths import RUNS_DIR


@dataclass
class ReportJob:
    path: Path
    files: list[Path]
    manifest: dict
    notes: list[str]


def _manifest(folder: Path) -> dict:
    try:
        return read_manifest(folder)
    except FileNotFoundError:
        raise UsageError(f"{folder}: {MANIFEST}: missing; not a finished run folder") from None


def _priors_of(run_manifest: dict):
    """The prior set the run used, reloaded, and the notes on files that changed since."""
    from model.spec.priors import load_priors
    from model.spec.scenarios import load_scenario

    a = run_manifest["arguments"]
    if a.get("scenario"):
        priors = load_scenario(a["scenario"]).priors
    else:
        priors = load_priors(a.get("priors"))
    now = input_hashes(priors)
    changed = sorted(k for k, v in now.items() if k in run_manifest["inputs"] and run_manifest["inputs"][k] != v)
    missing = sorted(k for k in now if k not in run_manifest["inputs"])
    notes = []
    if changed or missing:
        notes.append("Let op: de priorbestanden zijn gewijzigd sinds de run (" + ", ".join(changed + missing)
                     + "); de priortabel toont de huidige bestanden, de uitkomsten zijn die van de run.")
    return priors, notes


def report_job(folders: Sequence[str | Path], out: str | Path = RUNS_DIR) -> ReportJob:
    """Write a report folder for ``folders`` (a run folder first, then tornado, Sobol', calibration or batch
    folders) under ``out``."""
    t0 = time.perf_counter()
    folders = [Path(f) for f in folders]
    if not folders:
        raise UsageError("name a run folder (cli.py run) and, after it, any tornado, sobol, calibrate or batch folder")
    manifests = [_manifest(f) for f in folders]
    if manifests[0]["command"] != "run":
        raise UsageError(f"{folders[0]}: command: a {manifests[0]['command']} folder; the first folder must be a run "
                         "folder (cli.py run)")
    for f, m in zip(folders[1:], manifests[1:]):
        if m["command"] not in report.COMPANIONS:
            raise UsageError(f"{f}: command: a {m['command']} folder; a report adds only "
                             f"{', '.join(report.COMPANIONS)} folders to a run")
    priors, notes = _priors_of(manifests[0])
    inputs = {f"{f.name}/{MANIFEST}": hashlib.sha256((f / MANIFEST).read_bytes()).hexdigest() for f in folders}
    folder = RunFolder(out, "report", command="report")
    with folder as tmp:
        files = report.write_report(folders[0], manifests[0], priors, out=tmp, companions=folders[1:], notes=notes)
        manifest = write_manifest(tmp, "report", arguments={"folders": [str(f) for f in folders], "out": str(out)},
                                  inputs=inputs, random=None, timings={"total": time.perf_counter() - t0},
                                  results={"run": str(folders[0]), "companions": [str(f) for f in folders[1:]],
                                           "notes": notes})
    return ReportJob(path=folder.path, files=[folder.path / p.name for p in files], manifest=manifest, notes=notes)
