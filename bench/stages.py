"""Where the engine's time goes: cycles per step of the chunk loop, measured inside one compiled run.

    python bench/stages.py             # 20 chunks of 2^16 draws, 1 thread
    python bench/stages.py --chunks 5

The chunk loop of ``model/engine/template.py`` is compiled once more with a cycle-counter read (``llvm.readcyclecounter``)
around each step (normals, copula, marginals, posterior, model, outputs, statistics, histograms); the counts
are summed over all blocks and converted to ns per draw with the counter's rate, measured against the wall
clock. Each reading costs a few ns per block of 256 draws, well below the steps it times. The total is printed
beside the run's wall time per draw, so the share of each step is measured in one run on the same draws.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STEPS = ("normals_block", "correlate_block", "marginals_block", "posterior_block", "model_block", "outputs_block",
         "stats_block", "hist_block")


def instrumented_chunk_loop():
    """``run_chunk(cycles, *args)``: model.engine.template.run_chunk with each step's cycles added to
    ``cycles[step]``."""
    import numba
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    from model.engine import codegen, template

    @intrinsic
    def cycle_counter(typingctx):
        def codegen(context, builder, signature, args):
            fn = builder.module.declare_intrinsic("llvm.readcyclecounter", fnty=ir.FunctionType(ir.IntType(64), []))
            return builder.call(fn, [])
        return types.int64(), codegen

    lines = []
    for line in inspect.getsource(template.run_chunk).split("\n"):
        step = [k for k, name in enumerate(STEPS) if line.strip().startswith(name + "(")]
        if step:
            indent = line[:len(line) - len(line.lstrip())]
            lines += [f"{indent}_t0 = cycle_counter()", line, f"{indent}cycles[{step[0]}] += cycle_counter() - _t0"]
        else:
            lines.append(line)
    src = "\n".join(lines).replace("def run_chunk(", "def run_chunk_timed(cycles, ", 1)
    namespace = dict(vars(codegen.compiled_module().module))  # model_block, the block steps, N_INPUTS, N_LINES
    namespace["cycle_counter"] = cycle_counter
    exec(src, namespace)
    counter = numba.njit(lambda: cycle_counter())
    options = dict(codegen.JIT_OPTIONS, cache=False)
    return numba.njit(**options)(namespace["run_chunk_timed"]), counter


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--draws-per-chunk", type=int, default=1 << 16)
    args = ap.parse_args()
    from model.engine import run as engine
    from model.engine.plan import make_plan
    from model.engine.rng import chunk_state
    from model.engine.template import Kept

    plan = make_plan()
    hist = engine.pilot_ranges(plan, 1)
    run_timed, counter = instrumented_chunk_loop()
    cycles = np.zeros(len(STEPS), dtype=np.int64)
    nc = plan.computed.size
    none = np.zeros((0, 0))

    def chunk(k: int, m: int) -> float:
        histograms = engine._Histograms(plan, hist)
        mean, m2 = np.empty(nc), np.empty(nc)
        t = time.perf_counter()
        run_timed(cycles, chunk_state(1, k), m, 0, plan.arrays, histograms.arrays(), mean, m2,
                  Kept(none, none, none))
        return time.perf_counter() - t

    chunk(0, 1000)  # compile
    cycles[:] = 0
    wall = sum(chunk(k, args.draws_per_chunk) for k in range(args.chunks))
    c0, t0 = counter(), time.perf_counter()
    time.sleep(0.5)
    ns_per_cycle = (time.perf_counter() - t0) * 1e9 / (counter() - c0)
    n = args.chunks * args.draws_per_chunk
    per_draw = cycles * ns_per_cycle / n
    print(f"{n:,} draws, 1 thread: wall {wall / n * 1e9:.0f} ns/draw; steps timed {per_draw.sum():.0f} ns/draw")
    for name, ns in zip(STEPS, per_draw):
        print(f"  {name:16s} {ns:7.1f} ns/draw  {ns / per_draw.sum() * 100:5.1f}%")


if __name__ == "__main__":
    main()
