"""Batches on a local single-node SLURM cluster against a LocalCluster and a serial batch, and what compiling once
per cluster saves (issue #19, items 4 and 5). Needs root (it starts munge and SLURM: ``tests/slurmcluster.py``).

    python bench/slurm.py                      # both parts
    python bench/slurm.py --scale-only         # 4 scenarios x 10 seeds x 200,000 draws: SLURM, LocalCluster, serial
    python bench/slurm.py --compile-only       # first batch on an empty cache with 2 workers, without / with compile_once

Each part runs its variants one after the other on this machine and prints their wall times and ratios. The batches
write into a temporary folder; the SLURM daemons are stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = ["default", "bouwkosten_hoog", "huishoudens_2035_hoog", "huishoudens_2035_laag"]


def _batch(out: Path, seeds, draws: int, **kwargs) -> float:
    from model.jobs.batch import run_batch

    t = time.perf_counter()
    res = run_batch(kwargs.pop("scenarios", SCENARIOS), seeds, draws=draws, out_dir=out, progress=False, **kwargs)
    seconds = time.perf_counter() - t
    if not res.ok:
        raise SystemExit(f"batch failed: {res.failed}")
    return seconds


def scale(tmp: Path, slurm_settings, n_seeds: int = 10) -> None:
    seeds, draws = list(range(1, n_seeds + 1)), 200_000
    print(f"{len(SCENARIOS)} scenarios x {len(seeds)} seeds x {draws:,} draws ({len(SCENARIOS) * len(seeds)} runs), "
          f"{os.cpu_count()} cores:")
    times = {"SLURM (2 jobs x 1 worker)": _batch(tmp / "slurm", seeds, draws, slurm=slurm_settings),
             "LocalCluster (2 workers)": _batch(tmp / "local", seeds, draws, n_workers=2),
             "serial (this process)": _batch(tmp / "serial", seeds, draws, scheduler="serial")}
    base = times["serial (this process)"]
    for name, s in times.items():
        print(f"  {name:28s} {s:7.1f} s   serial / this {base / s:4.2f}")


def compile_once_effect(tmp: Path, slurm_settings) -> None:
    """The first batch of a code version with an empty cache: 2 workers each compiling vs the batch process
    compiling once before they start."""
    print("first batch on an empty numba cache, 2 SLURM workers, 2 scenarios x 2 seeds x 20,000 draws:")
    times = {}
    for first in (False, True):
        cache = tmp / f"cache-{first}"
        cache.mkdir()
        os.environ["NPVR_CACHE"] = str(cache)         # the workers' jobs get it too (model.jobs.slurm)
        from model.engine import codegen

        codegen._load.cache_clear()
        for name in [n for n in sys.modules if n.startswith("npvr_model_")]:
            del sys.modules[name]
        times[first] = _batch(tmp / f"compile-{first}", [1, 2], 20_000, scenarios=SCENARIOS[:2],
                              slurm=slurm_settings, compile_first=first)
        label = "compile once in the batch process first" if first else "each worker compiles"
        print(f"  {label:42s} {times[first]:7.1f} s")
    print(f"  ratio (each compiles / once first): {times[False] / times[True]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale-only", action="store_true")
    ap.add_argument("--compile-only", action="store_true")
    ap.add_argument("--seeds", type=int, default=10, help="seeds per scenario of the batch at scale (default 10)")
    args = ap.parse_args()
    sys.path[:0] = [str(REPO), str(REPO / "tests")]
    from slurmcluster import single_node_slurm

    from model.jobs.slurm import SlurmSettings

    settings = SlurmSettings(jobs=2, interface="lo", walltime="01:00:00", memory="4GB")
    with tempfile.TemporaryDirectory(prefix="npvr-bench-slurm-") as tmp:
        tmp = Path(tmp)
        with single_node_slurm(tmp / "cluster") as env:
            os.environ["SLURM_CONF"] = env["SLURM_CONF"]
            if not args.compile_only:
                scale(tmp, settings, args.seeds)
            if not args.scale_only:
                compile_once_effect(tmp, settings)


if __name__ == "__main__":
    main()
