"""Engine throughput of this tree against a git revision, side by side on this machine in one run.

    python bench/versus.py a78215f                 # 3 alternating rounds of 10^7 draws, 2 threads
    python bench/versus.py a78215f --draws 100000000 --rounds 1 --threads 2

The revision is checked out into a temporary git worktree (removed at the end); each round runs a fresh process
of each tree in turn (streamed summaries, no draws kept, after one warm-up chunk that fills or loads numba's
cache), so drift of the machine reaches both alike. Prints each tree's median draws/s and peak RSS, the ratio of
the medians and the median of the per-round ratios.
Works for revisions before and after the engine became the package ``model.engine``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, time
try:                                    # the layered package (model.engine.plan, model.engine.run)
    from model.engine.plan import DEFAULT_CHUNK, make_plan
    from model.engine import run as engine
except ImportError:                     # before it: one module model/engine.py
    from model import engine
    make_plan, DEFAULT_CHUNK = engine.make_plan, engine.DEFAULT_CHUNK
plan = make_plan()
engine.run(plan=plan, draws=DEFAULT_CHUNK, seed=1, threads=1)
t = time.perf_counter()
engine.run(plan=plan, draws={draws}, seed=1, threads={threads}, keep=False)
dt = time.perf_counter() - t
print(json.dumps({{"draws_per_s": {draws} / dt, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def child(tree: Path, draws: int, threads: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(draws=draws, threads=threads)], cwd=tree,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rev", help="git revision to compare with")
    ap.add_argument("--draws", type=int, default=10**7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", args.rev], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / commit
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other), commit], cwd=REPO, check=True)
        try:
            figures: dict[str, list[dict]] = {"this tree": [], commit: []}
            for _ in range(args.rounds):
                figures["this tree"].append(child(REPO, args.draws, args.threads))
                figures[commit].append(child(other, args.draws, args.threads))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=REPO, check=True)
    print(f"{args.draws:,} draws streamed, {args.threads} thread(s), {args.rounds} alternating round(s)")
    med = {}
    for label, runs in figures.items():
        rates = np.array([r["draws_per_s"] for r in runs])
        med[label] = float(np.median(rates))
        print(f"  {label:10s} {med[label]:12,.0f} draws/s (range {rates.min():,.0f}-{rates.max():,.0f}); "
              f"peak RSS {np.median([r['peak_rss_mib'] for r in runs]):.0f} MiB")
    pairs = np.array([a["draws_per_s"] / b["draws_per_s"] for a, b in zip(figures["this tree"], figures[commit])])
    print(f"  ratio this tree / {commit}: {med['this tree'] / med[commit]:.3f} (medians); per round "
          f"{np.median(pairs):.3f} (median; range {pairs.min():.3f}-{pairs.max():.3f})")


if __name__ == "__main__":
    main()
