"""Timing of the NPVR Sobol' analysis (``model.analysis.sensitivity_npvr.sobol_npvr``) on the full model.

All sampled prior entries (~86 inputs), Saltelli design with ``N = 2**log2n`` base samples, bootstrap
confidence intervals (100 resamples), per-input indices plus the grouped indices (by deelopgave, by kind,
per correlated block). The target is < 60 s at ``N = 2**14`` on a 2-core machine.

Usage::

    python bench/sobol_npvr.py [--output investeringsopgave] [--log2n 14] [--threads 2] [--repeat 1]

Prints the wall time, the number of model evaluations, evaluations per second and the time per stage.
Not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from model.engine.plan import make_plan  # noqa: E402
from model.analysis.sensitivity_npvr import input_spec, model_function, sobol_npvr  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", default="investeringsopgave")
    ap.add_argument("--log2n", type=int, default=14)
    ap.add_argument("--threads", type=int, default=None, help="threads of the model function (default: min(2, cores))")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    plan = make_plan()
    spec = input_spec(plan)
    f = model_function(plan, args.output)
    f(np.repeat(spec.point[:, None], 16, axis=1))  # load the numba kernels from the cache
    print(f"plan + warm-up: {time.perf_counter() - t0:.2f} s; {spec.n_inputs} inputs; output {args.output}")

    n_base = 2**args.log2n
    for rep in range(args.repeat):
        t = time.perf_counter()
        s = sobol_npvr(args.output, n_base=n_base, seed=rep, plan=plan, threads=args.threads)
        wall = time.perf_counter() - t
        model_s = s.timings.get("model", float("nan"))
        print(f"[{rep}] N = 2**{args.log2n} = {n_base:,}: {wall:.2f} s wall, {s.n_evaluations:,} evaluations, "
              f"{s.n_evaluations / wall:,.0f} evaluations/s overall, "
              f"{s.n_evaluations / model_s:,.0f} evaluations/s in the model")
        print("     stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(s.timings.items())))
        top = s.result.sorted_rows()[:5]
        print("     top ST: " + "; ".join(f"{r['input']} {r['ST']:.3f}±{r['ST_conf']:.3f}" for r in top))
        print(f"     {'OK' if wall < 60 else 'SLOW'}: target < 60 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
