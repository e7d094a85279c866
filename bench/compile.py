"""Where the engine's compile time goes, with an empty numba cache: side by side in one run.

    python bench/compile.py            # 3 alternating rounds
    python bench/compile.py --rounds 1

Each measurement runs in a fresh Python process. The figures are wall-clock, so alternate rounds keep them
side by side on a VM whose speed drifts from minute to minute. The script prints:
- the first engine run with an empty cache (compiling) and with the cache that run filled (loading). With an
  empty cache it also prints how many functions numba compiled, the time spent in LLVM (under numba's LLVM
  lock) and the functions with the most compile time of their own;
- numba's fixed cost per function: N small loop functions (the size of ``fill_rows``), called from one
  compiled function as N ``register_jitable`` functions, against the same N loop bodies written out in that
  one function. The ratio is the share of the compile time that comes from the number of functions, not
  from the amount of code.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

FIRST_RUN = r"""
import json, time
from numba.core import event
own, stack, llvm, count = {}, [], [0.0], [0]
class Compiles(event.Listener):
    def on_start(self, ev):
        stack.append([time.perf_counter(), 0.0])
    def on_end(self, ev):
        t0, inner = stack.pop()
        dt = time.perf_counter() - t0
        if stack:
            stack[-1][1] += dt
        name = getattr(getattr(ev.data.get("dispatcher"), "py_func", None), "__qualname__", "?")
        own[name] = own.get(name, 0.0) + dt - inner
        count[0] += 1
class Llvm(event.Listener):
    def on_start(self, ev):
        self.t = time.perf_counter()
    def on_end(self, ev):
        llvm[0] += time.perf_counter() - self.t
event.register("numba:compile", Compiles())
event.register("numba:llvm_lock", Llvm())
from model.engine import run as engine
from model.engine.plan import make_plan
plan = make_plan()
t = time.perf_counter()
engine.run(plan=plan, draws=2000, seed=1, threads=1)
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "llvm": llvm[0], "own": own, "compiles": count[0]}))
"""

FUNCTIONS = r"""
import sys, time
import numpy as np, numba
from numba.extending import register_jitable
n, separate = {n}, {separate}
body = '''    for k in range(rows.size):
        xk = x[rows[k]]
        v = values[k]
        for j in range(nb):
            xk[j] = v + {{k}}
'''
space = {{"register_jitable": register_jitable}}
if separate:
    for k in range(n):
        exec("@register_jitable\ndef step_%d(x, rows, values, nb):\n" % k + body.format(k=k), space)
    src = "def caller(x, rows, values, nb):\n" + "".join("    step_%d(x, rows, values, nb)\n" % k for k in range(n))
else:
    src = "def caller(x, rows, values, nb):\n" + "".join(body.format(k=k) for k in range(n))
exec(src, space)
caller = numba.njit(space["caller"])
numba.njit(lambda a: a + 1)(1)   # numba's start-up cost, outside the timing
t = time.perf_counter()
caller(np.zeros((4, 8)), np.arange(2), np.ones(2), 8)
print(time.perf_counter() - t)
"""


def first_run(cache: str) -> dict:
    env = dict(os.environ, NPVR_CACHE=cache)
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", FIRST_RUN], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def functions(n: int, separate: bool) -> float:
    out = subprocess.run([sys.executable, "-c", FUNCTIONS.format(n=n, separate=separate)], cwd=REPO,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--functions", type=int, default=20)
    args = ap.parse_args()
    empty, filled, apart, together = [], [], [], []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as cache:
            empty.append(first_run(cache))
            filled.append(first_run(cache))
        apart.append(functions(args.functions, True))
        together.append(functions(args.functions, False))
        print(f"round {r + 1}: first engine run {empty[-1]['wall']:.2f} s empty cache / {filled[-1]['wall']:.2f} s "
              f"filled; {args.functions} functions {apart[-1]:.2f} s apart / {together[-1]:.2f} s written out",
              flush=True)
    med = statistics.median
    print()
    print(f"first engine run, empty cache: median {med(e['wall'] for e in empty):.2f} s "
          f"(LLVM {med(e['llvm'] for e in empty):.2f} s; {empty[0]['compiles']} compilations)")
    print(f"first engine run, filled cache: median {med(f['wall'] for f in filled):.2f} s")
    print(f"empty / filled: {med(e['wall'] for e in empty) / med(f['wall'] for f in filled):.0f}x")
    print("most compile time of their own (first round; a name compiled twice is summed):")
    for name, s in sorted(empty[0]["own"].items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {s:6.2f} s  {name}")
    per_apart, per_together = med(apart) / args.functions, med(together) / args.functions
    print(f"{args.functions} small loop functions: {med(apart):.2f} s as functions, {med(together):.2f} s written "
          f"out in one ({per_apart * 1000:.0f} / {per_together * 1000:.0f} ms each): "
          f"ratio {med(apart) / med(together):.2f}")


if __name__ == "__main__":
    main()
