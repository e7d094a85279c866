"""How reliably the calibration's configurations pass their own diagnostics: each configuration at several seeds, in
one process (PyTensor's compiled model is cached after the first), one line per run and a summary per configuration.

    python bench/calibration.py                       # --quick and the full configuration, seeds 1-5
    python bench/calibration.py --configs quick --seeds 1 2 3 4 5 6 7 8
    python bench/calibration.py --configs full --tune 500      # a shorter adaptation than the configuration's

A configuration is robust when every seed passes (R-hat < 1.01, bulk and tail ESS > 400, no divergence); the table
shows by how much, so a configuration that passes narrowly is visible too. Run it on an otherwise idle machine: a
run takes minutes and uses both cores (the chains run in parallel).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    from model.analysis.calibration.sampling import CONFIGS, sample
    from model.spec.priors import load_priors
    from model.spec.provenance import calibration_priors

    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=["quick", "full"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    ap.add_argument("--tune", type=int, default=None, help="tuning steps per chain, in place of the configuration's")
    args = ap.parse_args()
    priors = calibration_priors(load_priors()).priors  # the job's prior set: every figure used once
    print(f"{'config':7} {'seed':>4} {'usable':>6} {'max R-hat':>9} {'min ESS bulk':>12} {'min ESS tail':>12} "
          f"{'divergences':>11} {'sampling s':>10} {'total s':>8}")
    for name in args.configs:
        config = CONFIGS[name] if args.tune is None else dataclasses.replace(CONFIGS[name], tune=args.tune)
        results = []
        for seed in args.seeds:
            t = time.perf_counter()
            cal = sample(priors, config, seed, prior_draws=0)
            c = cal.diagnostics["checks"]
            results.append(cal)
            print(f"{name:7} {seed:4d} {str(cal.usable):>6} {c['rhat']['value']:9.4f} {c['ess_bulk']['value']:12.0f} "
                  f"{c['ess_tail']['value']:12.0f} {c['divergences']['value']:11d} {cal.timings['sample_s']:10.0f} "
                  f"{time.perf_counter() - t:8.0f}", flush=True)
        usable = sum(r.usable for r in results)
        worst_rhat = max(r.diagnostics["checks"]["rhat"]["value"] for r in results)
        worst_ess = min(min(r.diagnostics["checks"]["ess_bulk"]["value"], r.diagnostics["checks"]["ess_tail"]["value"])
                        for r in results)
        print(f"{name}: {usable} of {len(results)} seeds usable ({config.chains} chains x {config.draws} draws, tune "
              f"{config.tune}, target_accept {config.target_accept}); worst R-hat {worst_rhat:.4f}, worst ESS "
              f"{worst_ess:.0f}, divergences {sum(r.diagnostics['checks']['divergences']['value'] for r in results)}")


if __name__ == "__main__":
    main()
