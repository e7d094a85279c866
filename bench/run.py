"""What a user waits for: a warm default ``cli.py run``, ``cli.py --help`` and ``cli.py reproduce``, each in a fresh
process, with their peak memory; the size of the run folder; ``az.summary`` on the run's dataset.

    python bench/run.py              # 5 alternating rounds
    python bench/run.py --rounds 9
    python bench/run.py --against a6d73ae   # also the warm default run of that revision, alternating with this one

The caches (numba's machine code, the fit cache) are filled by one run first, so the figures are those of a warm
machine: the run a user makes every time, not the first one of a code version. The commands alternate round by
round, so the VM's drift from minute to minute reaches them alike; the median round is the figure, the range
beside it. Peak memory is the child's own maximum resident set (``os.wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

AZ_SUMMARY = r"""
import json, sys, time
import arviz as az
t = time.perf_counter()
idata = az.from_netcdf(sys.argv[1])
summary = az.summary(idata, group="prior")
print(json.dumps({"seconds": time.perf_counter() - t, "rows": len(summary)}))
"""


def run_child(argv: list[str], cwd: Path = REPO) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of one fresh process (reaped with ``os.wait4``: its own rusage)."""
    t = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{argv} failed: {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, out.decode()


COMPRESSION = r"""
import json, sys, time, os, tempfile
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    draws = f["prior/opgave"][...]
out = {}
for label, opts in (("float32, no compression", {}),
                    ("float32, gzip 1 + shuffle", {"compression": "gzip", "compression_opts": 1, "shuffle": True})):
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        with h5py.File(os.path.join(d, "x.h5"), "w") as g:
            g.create_dataset("opgave", data=draws, chunks=(1, min(draws.shape[1], 65536), draws.shape[2]), **opts)
        out[label] = {"seconds": time.perf_counter() - t, "mb": os.path.getsize(os.path.join(d, "x.h5")) / 1e6}
print(json.dumps(out))
"""


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--against", metavar="REV", default=None,
                    help="a git revision whose warm default run is timed too, alternating with this tree's")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = None
        if args.against:
            other = Path(tmp) / "other"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other), args.against], cwd=REPO,
                           check=True)
        try:
            measure(args, Path(tmp), other)
        finally:
            if other is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=REPO, check=True)


def measure(args, tmp: Path, other: Path | None) -> None:
    py = sys.executable
    out = str(tmp / "runs")
    run_cmd = [py, "cli.py", "run", "--out", out, "--json"]
    run_child(run_cmd)                                               # fill the caches
    commands = {"cli.py run (200,000 draws)": (run_cmd, REPO), "cli.py --help": ([py, "cli.py", "--help"], REPO),
                "cli.py reproduce": ([py, "cli.py", "reproduce"], REPO)}
    if other is not None:
        label = f"cli.py run at {args.against}"
        commands[label] = ([py, "cli.py", "run", "--out", str(tmp / "other-runs"), "--json"], other)
        run_child(*commands[label])
    figures: dict[str, list[tuple[float, float, float]]] = {k: [] for k in commands}
    last = None
    for _ in range(args.rounds):
        for label, (argv, cwd) in commands.items():
            wall, peak, stdout = run_child(argv, cwd)
            inside = float("nan")
            if label.startswith("cli.py run"):
                run_dir = json.loads(stdout)["run_dir"]
                inside = json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))["timings_s"]["total"]
                if cwd == REPO:
                    last = run_dir
            figures[label].append((wall, peak, inside))
    run_dir = Path(last)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    print(f"python {sys.version.split()[0]}, PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}"
          f", {args.rounds} alternating rounds after one warm-up run")
    for label, values in figures.items():
        walls = np.array([v[0] for v in values])
        peaks = np.array([v[1] for v in values])
        inside = np.array([v[2] for v in values])
        extra = (f"; inside the job {np.median(inside):.2f} s (range {inside.min():.2f}-{inside.max():.2f})"
                 if np.isfinite(inside).all() else "")
        print(f"  {label:28s} wall {np.median(walls):5.2f} s (range {walls.min():.2f}-{walls.max():.2f}); "
              f"peak {np.median(peaks):5.0f} MiB (range {peaks.min():.0f}-{peaks.max():.0f}){extra}")
    if other is not None:
        a = np.array([v[2] for v in figures["cli.py run (200,000 draws)"]])
        b = np.array([v[2] for v in figures[f"cli.py run at {args.against}"]])
        print(f"  this tree / {args.against}, inside the job: ratio of medians {np.median(a) / np.median(b):.2f}, "
              f"median of the per-round ratios {np.median(a / b):.2f}")
    t = manifest["timings_s"]
    print("  inside the last run: " + ", ".join(f"{k} {v:.2f} s" for k, v in t.items()))
    print(f"  run folder {folder_size(run_dir) / 1e6:.1f} MB, of which dataset.nc "
          f"{(run_dir / 'dataset.nc').stat().st_size / 1e6:.1f} MB")
    az = json.loads(subprocess.run([py, "-c", AZ_SUMMARY, str(run_dir / "dataset.nc")], cwd=REPO,
                                   capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    print(f"  arviz.from_netcdf + az.summary(group='prior'): {az['seconds']:.1f} s for {az['rows']} rows")
    comp = json.loads(subprocess.run([py, "-c", COMPRESSION, str(run_dir / "dataset.nc")], cwd=REPO,
                                     capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    print("  the stored draws (prior/opgave) written again, side by side: " + "; ".join(
        f"{k}: {v['mb']:.1f} MB in {v['seconds']:.2f} s" for k, v in comp.items()))


if __name__ == "__main__":
    main()
