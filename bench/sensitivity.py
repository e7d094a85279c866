"""Benchmark of ``model.analysis.sensitivity.sobol`` on a synthetic vectorised model with 80 inputs.

The model is a sum of 40 products ``q_k * c_k`` (a "hoeveelheid" times a "kental"); the
quantities are lognormal, the unit costs are scaled beta (PERT-like) whose inverse CDF is
``scipy.special.betaincinv`` (~1 µs per value), so the ppf cost is representative.

Usage::

    python bench/sensitivity.py [--log2n 14] [--resamples 100] [--salib]

``--salib`` also times the plain SALib pipeline (``SALib.sample.sobol.sample`` + ppfs on the whole
design + ``SALib.analyze.sobol.analyze``) on the same problem, for comparison (slow).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import betaincinv, ndtri

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.analysis.sensitivity import InputSpec, sobol  # noqa: E402

N_PAIRS = 40


def make_problem(n_pairs: int = N_PAIRS):
    rng = np.random.default_rng(1)
    names, ppfs, point, kinds = [], [], [], []
    for k in range(n_pairs):
        mu, s = rng.uniform(0.0, 2.0), rng.uniform(0.1, 0.6)
        names.append(f"q{k:02d}")
        ppfs.append(lambda u, mu=mu, s=s: np.exp(mu + s * ndtri(u)))
        point.append(np.exp(mu))
        kinds.append("hoeveelheid")
    for k in range(n_pairs):
        lo, hi = rng.uniform(0.5, 1.0), rng.uniform(1.5, 3.0)
        a, b = rng.uniform(1.5, 4.0), rng.uniform(1.5, 4.0)
        names.append(f"c{k:02d}")
        ppfs.append(lambda u, lo=lo, hi=hi, a=a, b=b: lo + (hi - lo) * betaincinv(a, b, u))
        point.append(lo + (hi - lo) * a / (a + b))
        kinds.append("kental")
    spec = InputSpec(names, ppfs, np.array(point), kinds=kinds)

    def f(theta: np.ndarray) -> np.ndarray:
        return np.einsum("kn,kn->n", theta[:n_pairs], theta[n_pairs:])

    return spec, f


def time_salib(spec: InputSpec, f, n_base: int, resamples: int) -> None:
    from SALib.analyze.sobol import analyze
    from SALib.sample.sobol import sample

    D = spec.n_inputs
    problem = {"num_vars": D, "names": spec.names, "bounds": [[0.0, 1.0]] * D}
    t0 = time.perf_counter()
    U = sample(problem, n_base, calc_second_order=False, scramble=True, seed=1)
    t1 = time.perf_counter()
    theta = np.empty((D, U.shape[0]))
    for i in range(D):
        theta[i] = spec.ppfs[i](np.maximum(U[:, i], 2.0**-31))
    t2 = time.perf_counter()
    Y = f(theta)
    t3 = time.perf_counter()
    analyze(problem, Y, calc_second_order=False, num_resamples=resamples, seed=1)
    t4 = time.perf_counter()
    print(
        f"SALib pipeline: sample {t1 - t0:.1f} s, ppf on full design {t2 - t1:.1f} s, "
        f"model {t3 - t2:.1f} s, analyze {t4 - t3:.1f} s, total {t4 - t0:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log2n", type=int, default=14)
    ap.add_argument("--resamples", type=int, default=100)
    ap.add_argument("--groups", action="store_true", help="also grouped indices by kind")
    ap.add_argument("--salib", action="store_true", help="also time the plain SALib pipeline")
    args = ap.parse_args()

    spec, f = make_problem()
    n_base = 2**args.log2n
    t0 = time.perf_counter()
    res = sobol(f, spec, n_base=n_base, seed=1, num_resamples=args.resamples,
                groups="kinds" if args.groups else None)
    dt = time.perf_counter() - t0
    print(f"sobol: {spec.n_inputs} inputs, n_base = 2**{args.log2n}, {args.resamples} resamples")
    print(f"  {dt:.2f} s total, {res.n_evaluations:,} evaluations, "
          f"{res.n_evaluations / dt:,.0f} evaluations/s")
    print("  stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in res.timings.items()))
    top = res.sorted_rows()[:5]
    print("  top ST: " + ", ".join(f"{r['input']} {r['ST']:.3f}±{r['ST_conf']:.3f}" for r in top))
    print(f"  sum S1 = {sum(r['S1'] for r in res.rows):.3f}")
    if args.salib:
        time_salib(spec, f, n_base, args.resamples)


if __name__ == "__main__":
    main()
