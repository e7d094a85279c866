"""The regional allocation: each deelopgave's draws divided over the gemeenten by its key (``model.spec.verdeling``),
by the compiled :func:`model.engine.template.allocate`.

It works on the first :data:`REGIO_DRAWS` draws of a run (all of a smaller run), the same draws the run's national
figures come from (taken from the kept draws, or recomputed chunk by chunk when a run streamed: a chunk's draws
depend only on the seed and its index). The key's own random numbers, its weights and the spread per gemeente,
come from a stream of their own, ``Generator(SFC64(SeedSequence(seed, spawn_key=(VERDELING_KEY, k))))`` for the
k-th key of the file, drawn inline (``model.engine.rng``): the same for every variant of a run (common random
numbers) and for any number of threads.

:func:`allocation` returns, per deelopgave, its draws per gemeente (n_gemeenten, n): their sum over the gemeenten
is the deelopgave's national draw, draw by draw. :func:`point_shares` gives report mode's shares: every weight at
its mean, no spread.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from model.engine.codegen import compiled_module
from model.engine.run import RunResult, chunk_bounds, run_chunks
from model.engine.template import Kept
from model.spec.data import Gebieden
from model.spec.verdeling import KeyArrays, Sleutel, Verdeling, key_arrays

#: The regional results are computed on the first this many draws of a run.
REGIO_DRAWS = 1 << 14
#: First spawn key of the allocation's stream (the chunks use 0, 1, ...; the pilot 2**31 - 1).
VERDELING_KEY = 2**31 - 2
STREAM = (f"allocation key k of the file: numpy Generator(SFC64(SeedSequence(seed, spawn_key=({VERDELING_KEY}, k)))); "
          "per draw the weights' standard normals (indicator order), then per draw one standard normal per gemeente; "
          f"on the first min(draws, {REGIO_DRAWS}) draws of the run")


@dataclass(frozen=True)
class Allocation:
    """A run's deelopgaven per gemeente: ``per_gemeente[d]`` (n_gemeenten, n) in euros, on the run's first ``n``
    draws; ``weights[d]`` (n, n_indicators) the weights drawn for its key."""

    n: int
    per_gemeente: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]


def first_draws(result: RunResult, names: list[str], n: int) -> dict[str, np.ndarray]:
    """The first ``n`` draws of the outputs ``names`` of a run: from its kept draws, or recomputed."""
    plan = result.plan
    if result.has_draws:
        return {name: np.ascontiguousarray(result.draws_of(name)[:n]) for name in names}
    kept = Kept(np.empty((plan.computed.size, n)), np.zeros((0, 0)), np.zeros((0, 0)))
    run_chunks(plan, result.seed, chunk_bounds(n, plan.chunk_size), kept=kept)
    return {name: plan.factor[plan.output_index(name)] * kept.y[plan.source[plan.output_index(name)]]
            for name in names}


def stream_state(seed: int, k: int) -> np.ndarray:
    """The initial SFC64 state (4,) uint64 of allocation key ``k``'s stream (:data:`STREAM`)."""
    gen = np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(VERDELING_KEY, k))))
    return np.array(gen.bit_generator.state["state"]["state"], dtype=np.uint64)


def base_rows(arrays: KeyArrays) -> np.ndarray:
    """ln(basis) − tau²/2 per part (n_parts, n_gemeenten), shifted so that its largest value is 0; -inf outside
    the part's gemeenten (:func:`model.engine.template.allocate`)."""
    base = np.where(arrays.masks, arrays.log_basis - 0.5 * arrays.tau ** 2, -np.inf)
    return np.ascontiguousarray(base - base.max(axis=1, keepdims=True))


def parts(key: Sleutel) -> list[str]:
    """The outputs a key divides: the deelopgave itself, or its parts (``deel_<line>``)."""
    return [f"deel_{line}" for line, _ in key.delen] if key.delen else [key.deelopgave]


def allocation(result: RunResult, verdeling: Verdeling, n: int | None = None,
               deelopgaven: list[str] | None = None, draws: dict[str, np.ndarray] | None = None,
               threads: int = 1) -> Allocation:
    """Every deelopgave (or those named) of a run per gemeente, on its first ``n`` draws (default
    ``min(draws, REGIO_DRAWS)``; ``draws``: those of the parts, if already taken by :func:`first_draws`), the
    deelopgaven on ``threads`` threads (the numbers do not depend on it)."""
    n = min(result.draws, REGIO_DRAWS) if n is None else int(n)
    gebieden = result.plan.gebieden
    wanted = [d for d in verdeling.sleutels if deelopgaven is None or d in deelopgaven]
    if draws is None:
        draws = first_draws(result, [p for d in wanted for p in parts(verdeling.sleutels[d])], n)
    allocate = compiled_module().allocate
    order = list(verdeling.sleutels)

    def one(d: str) -> tuple[np.ndarray, np.ndarray]:
        key = verdeling.sleutels[d]
        arrays = key_arrays(key, gebieden)
        out = np.zeros((n, arrays.log_basis.size))
        w = np.empty((n, arrays.mean.size))
        amounts = np.ascontiguousarray(np.vstack([draws[p] for p in parts(key)]))
        allocate(stream_state(result.seed, order.index(d)), amounts, base_rows(arrays), arrays.x, arrays.mean,
                 arrays.sd, arrays.tau, out, w)
        return np.ascontiguousarray(out.T), w

    if threads > 1 and len(wanted) > 1:     # the kernel releases the GIL; each key has its own stream
        with ThreadPoolExecutor(max_workers=threads) as pool:
            done = dict(zip(wanted, pool.map(one, wanted)))
    else:
        done = {d: one(d) for d in wanted}
    per_gemeente = {d: done[d][0] for d in wanted}
    weights = {d: done[d][1] for d in wanted}
    return Allocation(n, per_gemeente, weights)


def point_shares(key: Sleutel, gebieden: Gebieden) -> np.ndarray:
    """Report mode's shares of a key (n_parts, n_gemeenten), one row per part: the same compiled allocation with
    every weight at its mean and no spread."""
    arrays = dataclasses.replace(key_arrays(key, gebieden), sd=np.zeros(len(key.indicatoren)),
                                 tau=np.zeros(len(gebieden.gm_code)))
    n_p, n_g = arrays.masks.shape
    out = np.empty((n_p, n_g))
    for p in range(n_p):
        one = np.zeros((1, n_g))
        amounts = np.zeros((n_p, 1))
        amounts[p] = 1.0
        compiled_module().allocate(stream_state(0, 0), amounts, base_rows(arrays), arrays.x, arrays.mean,
                                   arrays.sd, arrays.tau, one,
                                   np.empty((1, arrays.mean.size)))
        out[p] = one[0]
    return out
