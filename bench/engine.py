"""Engine benchmark: ratios measured side by side in one run, on the same model and seed.

    python bench/engine.py            # full figures (a few minutes; 10^8 draws streamed)
    python bench/engine.py --quick    # smaller sizes

Prints:
- the numba engine against (a) a straightforward chunked numpy implementation of the same model (numpy
  normals, block Cholesky by matmul, scipy/numpy inverse CDFs, the kernels' Python functions on arrays) and
  (b) ``pymc.sample_prior_predictive`` on the calibration's PyMC model of the same priors;
- draws per second at 10^6 and 10^7 draws with 1 and 2 threads, and peak memory (each in a fresh process);
- the cost of one standard normal from the engine's inline generator and from numba's Generator (SFC64, the
  same numbers, and PCG64), and the engine's share of the RNG-bound limit: (sampled entries per draw × the
  cost of one normal) / (engine time per draw), on 1 thread, against both generators' costs. The engine's
  time and the two costs are measured in one fresh process in alternating rounds (one chunk of a streamed
  run, then as many normals from each generator), so each round's share is a ratio of timings a fraction of
  a second apart, which the VM's drift from minute to minute does not reach; the median round is the
  figure, with the quartiles and range beside it;
- 10^8 draws with streaming summaries: wall time and peak memory;
- compile time of a cold ``cli.py run`` (empty numba cache) against a warm one, and in a fresh process the
  cost of the first engine run with an empty cache (compiling) and with the cache that run filled (loading).
Run it on an otherwise idle machine: the figures are wall-clock. On a shared VM they drift from hour to hour
(the cost of one normal has been seen between 6.6 and 9.6 ns on the same day); the ratios, measured side by
side, hold better than the absolute rates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHILD = r"""
import json, resource, sys, time
from model.engine import run as engine
from model.engine.plan import DEFAULT_CHUNK, make_plan
plan = make_plan()
engine.run(plan=plan, draws=DEFAULT_CHUNK, seed=1, threads=1)  # compile / load cache
t = time.perf_counter()
res = engine.run(plan=plan, draws={draws}, seed=1, threads={threads}, keep=False)
dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "draws_per_s": {draws} / dt,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


SHARE = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, "bench")
from engine import rng_cost_ns
from model.engine import run as engine
from model.engine.plan import make_plan
plan = make_plan()
hist = engine.pilot_ranges(plan, 1)
size = plan.chunk_size
engine.run_chunks(plan, 1, [(0, 0, size)], ranges=hist)  # compile / load cache
rounds = []
for k in range({rounds}):
    t = time.perf_counter()
    engine.run_chunks(plan, 1, [(k, k * size, size)], ranges=hist)  # one chunk, as a streamed run does it
    per_draw = (time.perf_counter() - t) / size * 1e9
    n = size * len(plan.names)
    rounds.append({{"engine_ns": per_draw, "own_ns": rng_cost_ns(n=n, repeats=1),
                   "numba_ns": rng_cost_ns(np.random.SFC64, n=n, repeats=1)}})
print(json.dumps({{"n_var": len(plan.names), "chunk": size, "rounds": rounds}}))
"""


def rng_share(rounds: int) -> dict:
    """In a fresh process, ``rounds`` times in turn: one chunk of the engine (1 thread, streamed summaries and
    histograms, as in a long run), then as many normals from the engine's generator and from numba's Generator
    on SFC64 as the chunk draws. Each round's share compares timings a fraction of a second apart."""
    out = subprocess.run([sys.executable, "-c", SHARE.format(rounds=rounds)], cwd=REPO,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(draws: int, threads: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(draws=draws, threads=threads)], cwd=REPO,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def numpy_implementation(plan, draws: int, seed: int, chunk: int) -> np.ndarray:
    """The same model, chunked, in plain numpy/scipy (no numba): returns the outputs' means."""
    from scipy.special import ndtr

    from model.deelopgaven.registry import evaluate
    from model.engine.plan import effective_weights, output_definitions
    from model.engine.run import chunk_bounds

    marginals = plan.marginals
    _, weights, _ = output_definitions()
    direct = effective_weights(weights, len(plan.line_names))   # every output as weights on the lines
    sums = np.zeros(len(plan.outputs))
    for k, _, m in chunk_bounds(draws, chunk):
        rng = np.random.default_rng([seed, k])
        z = rng.standard_normal((len(plan.names), m))
        for idx, L in zip(plan.copula.blocks, plan.copula.chol):
            z[idx] = L @ z[idx]
        values = {}
        for i, (name, mg) in enumerate(zip(plan.names, marginals)):
            if mg.family == "lognormal":
                values[name] = np.exp(mg.params[0] + mg.params[1] * z[i])
            elif mg.family == "normal":
                values[name] = mg.params[0] + mg.params[1] * z[i]
            else:
                values[name] = mg.ppf(ndtr(z[i]))
        for name, v in plan.constants.items():
            values[name] = np.full(m, v)
        lines = evaluate(values)
        line_matrix = np.vstack([np.broadcast_to(lines[n], (m,)) for n in plan.line_names])
        sums += (direct @ line_matrix).sum(axis=1)
    return sums / draws


@lru_cache(maxsize=1)
def _fill_loops():
    """The two timing loops of :func:`rng_cost_ns`, compiled once per process."""
    import numba

    from model.engine.rng import normals_block

    @numba.njit(nogil=True)
    def fill(rng, z, repeats):
        for _ in range(repeats):
            for j in range(z.shape[1]):
                for i in range(z.shape[0]):
                    z[i, j] = rng.standard_normal()

    @numba.njit(nogil=True)
    def fill_inline(state, z, repeats):
        picks = np.empty(z.shape[1], dtype=np.int64)
        for _ in range(repeats):
            normals_block(state, z, picks, z.shape[1], 0)

    return fill, fill_inline


def rng_cost_ns(bit_generator=None, n: int = 20_000_000, repeats: int = 3) -> float:
    """Cost of one standard normal, filling a cache-resident (86, 128) buffer as the engine does; the best of
    ``repeats`` timings. ``bit_generator=None``: the engine's own inline SFC64 and ziggurat
    (``model.engine.rng.normals_block``, numpy's numbers bit for bit); otherwise numba's ``Generator`` support on
    that numpy bit generator (``np.random.SFC64``: the same numbers)."""
    from model.engine.rng import chunk_generator, chunk_state

    fill, fill_inline = _fill_loops()
    z = np.empty((86, 128))
    if bit_generator is None:
        rng, run = chunk_state(1, 0), fill_inline
    else:
        rng, run = np.random.Generator(bit_generator(chunk_generator(1, 0).bit_generator.seed_seq)), fill
    run(rng, z, 1)
    rounds = n // z.size
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        run(rng, z, rounds)
        best = min(best, time.perf_counter() - t)
    return best / (rounds * z.size) * 1e9


def pymc_prior_predictive(draws: int) -> float | None:
    """Seconds for pm.sample_prior_predictive on the calibration's model of the same priors, or None."""
    try:
        import pymc as pm

        from model.analysis.calibration.model import build_model
    except ImportError:
        return None
    model, _ = build_model()
    with model:
        pm.sample_prior_predictive(draws=100, random_seed=1)  # compile
        t = time.perf_counter()
        pm.sample_prior_predictive(draws=draws, random_seed=1)
    return time.perf_counter() - t


FIRST_CALL = r"""
import json, time
t0 = time.perf_counter()
from model.engine import run as engine
from model.engine.plan import make_plan
plan = make_plan()
t1 = time.perf_counter()
engine.run(plan=plan, draws=2000, seed=1)
t2 = time.perf_counter()
engine.run(plan=plan, draws=2000, seed=1)
t3 = time.perf_counter()
print(json.dumps({"import_and_plan": t1 - t0, "first": t2 - t1, "second": t3 - t2}))
"""


def _with_cache(cache: str) -> dict:
    """The environment of a child process whose numba cache (and generated model) live in ``cache``."""
    return dict(os.environ, NUMBA_CACHE_DIR=cache, NPVR_CACHE=cache)


def first_call(cache: str) -> dict:
    """In a fresh process with numba's cache in ``cache``: seconds for import + plan, the first engine run
    (compiling, or loading the compiled code from the cache) and the same run again."""
    out = subprocess.run([sys.executable, "-c", FIRST_CALL], cwd=REPO, env=_with_cache(cache),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_vs_warm(draws: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as runs:
        env = _with_cache(cache)
        times = []
        for _ in range(2):
            t = time.perf_counter()
            subprocess.run([sys.executable, "cli.py", "run", "--draws", str(draws), "--out", runs], cwd=REPO,
                           env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - t)
    return times[0], times[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    from model.engine import run as engine
    from model.engine.plan import DEFAULT_CHUNK, make_plan

    plan = make_plan()
    n_var = len(plan.names)
    seed = 1
    draws_cmp = 200_000 if args.quick else 1_000_000
    engine.run(plan=plan, draws=DEFAULT_CHUNK, seed=seed)  # compile
    t = time.perf_counter()
    res = engine.run(plan=plan, draws=draws_cmp, seed=seed, threads=1, keep=False)
    t_numba1 = time.perf_counter() - t
    t = time.perf_counter()
    engine.run(plan=plan, draws=draws_cmp, seed=seed, threads=2, keep=False)
    t_numba2 = time.perf_counter() - t
    t = time.perf_counter()
    np_means = numpy_implementation(plan, draws_cmp, seed, DEFAULT_CHUNK)
    t_numpy = time.perf_counter() - t
    rel = np.max(np.abs(np_means - res.stats.mean) / np.abs(res.stats.mean))
    print(f"model: {n_var} sampled entries (variates per draw), {len(plan.outputs)} outputs, chunk {plan.chunk_size}")
    print(f"[same model, {draws_cmp:,} draws]")
    print(f"  numba engine, 1 thread : {t_numba1:8.2f} s  ({draws_cmp / t_numba1:,.0f} draws/s)")
    print(f"  numba engine, 2 threads: {t_numba2:8.2f} s  ({draws_cmp / t_numba2:,.0f} draws/s)")
    print(f"  chunked numpy          : {t_numpy:8.2f} s  ({draws_cmp / t_numpy:,.0f} draws/s)")
    print(f"  ratio numpy / numba(1 thread) = {t_numpy / t_numba1:.1f}x; / numba(2 threads) = {t_numpy / t_numba2:.1f}x"
          f"   (means agree to {rel:.1e} relative)")
    pp_draws = 2_000 if args.quick else 10_000
    t_pp = pymc_prior_predictive(pp_draws)
    if t_pp is None:
        print("  pymc.sample_prior_predictive: not available (PyMC is not installed)")
    else:
        per_draw_pp = t_pp / pp_draws
        print(f"  pymc.sample_prior_predictive: {pp_draws:,} draws in {t_pp:.2f} s ({1 / per_draw_pp:,.0f} draws/s); "
              f"ratio pymc / numba(2 threads) = {per_draw_pp / (t_numba2 / draws_cmp):,.0f}x")
    cost = rng_cost_ns()
    cost_numba = rng_cost_ns(np.random.SFC64)
    cost_pcg = rng_cost_ns(np.random.PCG64)
    print(f"[RNG] one standard normal: the engine's inline SFC64 + ziggurat {cost:.2f} ns; numba's Generator on "
          f"SFC64 (the same numbers) {cost_numba:.2f} ns, on PCG64 {cost_pcg:.2f} ns")
    share = rng_share(20 if args.quick else 60)
    print(f"[RNG-bound share, 1 thread, fresh process: {len(share['rounds'])} rounds of one engine chunk "
          f"({share['chunk']:,} draws) then {share['chunk'] * n_var:,} normals from each generator]")
    for key, label in (("own_ns", "the engine's own generator"), ("numba_ns", "numba's Generator (SFC64)")):
        ratio = [n_var * r[key] / r["engine_ns"] for r in share["rounds"]]
        q25, q50, q75 = np.percentile(ratio, [25, 50, 75])
        c_med = np.median([r[key] for r in share["rounds"]])
        print(f"  {label}: one normal {c_med:.2f} ns (median) x {n_var} per draw; engine "
              f"{np.median([r['engine_ns'] for r in share['rounds']]):.0f} ns/draw (median) -> share of the "
              f"RNG-bound limit: median {q50:.0%} (quartiles {q25:.0%}-{q75:.0%}, range {min(ratio):.0%}-"
              f"{max(ratio):.0%})")
    sizes = [10**6] if args.quick else [10**6, 10**7]
    for n in sizes:
        for th in (1, 2):
            r = child(n, th)
            print(f"[{n:.0e} draws, {th} thread(s)] {r['seconds']:.2f} s, {r['draws_per_s']:,.0f} draws/s, "
                  f"peak RSS {r['peak_rss_mib']:.0f} MiB")
    big = 10**7 if args.quick else 10**8
    r = child(big, 2)
    print(f"[{big:.0e} draws streamed, 2 threads] {r['seconds']:.1f} s, {r['draws_per_s']:,.0f} draws/s, "
          f"peak RSS {r['peak_rss_mib']:.0f} MiB")
    cold, warm = cold_vs_warm(20_000)
    print(f"[cli.py run --draws 20000] cold cache {cold:.1f} s, warm {warm:.1f} s -> compile time {cold - warm:.1f} s")
    with tempfile.TemporaryDirectory() as cache:
        empty, cached = first_call(cache), first_call(cache)
    for label, r in (("empty numba cache", empty), ("numba cache filled by that run", cached)):
        print(f"[fresh process, {label}] import + plan {r['import_and_plan']:.1f} s; first engine run "
              f"{r['first']:.2f} s, the same run again {r['second']:.2f} s -> compile/load "
              f"{r['first'] - r['second']:.2f} s")


if __name__ == "__main__":
    main()
