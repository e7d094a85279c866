"""Monte Carlo engine: sample every prior, run every deelopgave kernel, summarise.

Per chunk, in one GIL-free numba function (``model.engine.template.run_chunk``, compiled with the model by
``model.engine.codegen``), block by block of ``model.engine.blocks.BLOCK`` draws: standard normals
(``model.engine.rng``) -> Gaussian copula (declared correlations) -> each marginal's transform -> the deelopgave
kernels (the same ones report mode runs) -> the outputs (lines and their sums by deelopgave, goal, column, payer,
region) -> running sums for the moments and fixed-bin histograms. Outputs that are a positive multiple of an
earlier one are not computed per draw (``model.engine.plan``): their moments, histograms and draws follow from
their source's. Chunk summaries are merged in chunk order, so the merge is deterministic: the same seed gives
bit-identical results on any number of threads or tasks (the stream: ``model.engine.rng``).

Runs small enough keep every draw of the computed outputs (exact quantiles; written straight into one array, no
copies); larger runs keep only the summaries, so memory stays bounded at any number of draws.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from model.deelopgaven.registry import line_names, non_finite_message, required_inputs
from model.engine.blocks import BLOCK
from model.engine.codegen import compiled_module
from model.engine.plan import (DEFAULT_CHUNK, EnginePlan, check_count, effective_weights, make_plan,
                               output_definitions, transform_arrays)
from model.engine.rng import PILOT_KEY, chunk_state
from model.engine.stream import MAX_SEED
from model.engine.template import HistArrays, Kept
from model.errors import PriorError
from model.resources import check_hours, check_memory
from model.spec.data import Gebieden
from model.spec.dependence import CopulaPlan
from model.spec.priors import PriorSet

N_BINS = 1 << 11
#: Runs up to this many draws keep their draws (exact quantiles) unless told otherwise.
KEEP_LIMIT = 2_000_000
_NONE_2 = np.zeros((0, 0))
_NONE_I = np.zeros((0, 0), dtype=np.int32)
_NONE_1 = np.zeros(0)
_NO_HIST = HistArrays(_NONE_1, _NONE_1, _NONE_I, _NONE_1, _NONE_1)


# ------------------------------------------------------------------------------------------ summary
@dataclass
class ChunkStats:
    """Per output: draws, mean, sum of squared deviations; when streamed, histogram counts (with the number of
    values under and over the bins, and the extremes ``below``/``above`` of those)."""
    n: int
    mean: np.ndarray
    m2: np.ndarray
    counts: np.ndarray | None = None
    under: np.ndarray | None = None
    over: np.ndarray | None = None
    below: np.ndarray | None = None
    above: np.ndarray | None = None


class _Histograms:
    """Fixed-bin histograms of the computed outputs, accumulated per thread (integer counts: their sum does not
    depend on the order), with the extremes outside the bins.

    Each thread's counts are (n_computed, N_BINS + 2): column 0 counts values below the first bin, the last
    column values above the last bin. A chunk counts into int32 (half the cache footprint of int64; a chunk
    has fewer than 2^31 draws), which :meth:`flush` then adds to the thread's int64 totals."""

    def __init__(self, plan: EnginePlan, ranges: tuple[np.ndarray, np.ndarray]):
        self.plan = plan
        self.lo = ranges[0][plan.computed]
        width = ranges[1][plan.computed]
        self.inv_width = np.where(width > 0, 1.0 / np.where(width > 0, width, 1.0), 0.0)
        self.local = threading.local()
        self.all: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.lock = threading.Lock()

    def _thread(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        acc = getattr(self.local, "acc", None)
        if acc is None:
            nc = self.plan.computed.size
            acc = self.local.acc = (np.zeros((nc, N_BINS + 2), dtype=np.int32), np.full(nc, np.inf),
                                    np.full(nc, -np.inf), np.zeros((nc, N_BINS + 2), dtype=np.int64))
            with self.lock:
                self.all.append(acc)
        return acc

    def arrays(self) -> HistArrays:
        """This thread's accumulators for :func:`model.engine.template.run_chunk`."""
        counts, below, above, _ = self._thread()
        return HistArrays(self.lo, self.inv_width, counts, below, above)

    def flush(self) -> None:
        """Add this thread's chunk counts to its totals and clear them (after every chunk)."""
        chunk, _, _, total = self._thread()
        total += chunk
        chunk.fill(0)

    def attach(self, st: ChunkStats) -> None:
        """Put the total over all threads, for every output, on ``st``."""
        counts = sum((a[3] for a in self.all[1:]), self.all[0][3].copy())
        below = np.minimum.reduce([a[1] for a in self.all])
        above = np.maximum.reduce([a[2] for a in self.all])
        src, f = self.plan.source, self.plan.factor
        st.counts = np.ascontiguousarray(counts[src, 1:-1])
        st.under, st.over = counts[src, 0].copy(), counts[src, -1].copy()
        st.below, st.above = f * below[src], f * above[src]


def merge_stats(parts: list[ChunkStats]) -> ChunkStats:
    """Merge chunk statistics in the given (chunk) order (Chan et al. parallel variance)."""
    first = parts[0]
    copy = (lambda a: None if a is None else a.copy())
    acc = ChunkStats(n=first.n, mean=first.mean.copy(), m2=first.m2.copy(), counts=copy(first.counts),
                     under=copy(first.under), over=copy(first.over), below=copy(first.below),
                     above=copy(first.above))
    for p in parts[1:]:
        n = acc.n + p.n
        delta = p.mean - acc.mean
        acc.mean = acc.mean + delta * (p.n / n)
        acc.m2 = acc.m2 + p.m2 + delta**2 * (acc.n * p.n / n)
        acc.n = n
        if p.counts is not None:
            if acc.counts is None:
                acc.counts, acc.under, acc.over = p.counts.copy(), p.under.copy(), p.over.copy()
                acc.below, acc.above = p.below.copy(), p.above.copy()
            else:
                acc.counts += p.counts
                acc.under += p.under
                acc.over += p.over
                acc.below = np.minimum(acc.below, p.below)
                acc.above = np.maximum(acc.above, p.above)
    return acc


def check_finite(plan: EnginePlan, stats: ChunkStats) -> None:
    """No output that is not finite leaves the engine: a non-finite mean or spread (an inf, a NaN, an overflow in
    any draw) is a :class:`PriorError` naming the outputs and the entries they depend on, the extreme ones first."""
    bad = np.flatnonzero(~(np.isfinite(stats.mean) & np.isfinite(stats.m2)))
    if bad.size:
        raise PriorError(_non_finite(plan, bad))


def _non_finite(plan: EnginePlan, bad: np.ndarray) -> str:
    _, weights, lines = output_definitions()
    eff = effective_weights(weights, len(lines))
    post = dict(zip(plan.posterior[0], np.asarray(plan.posterior[1]).T)) if plan.posterior is not None else {}
    sampled = dict(zip(plan.names, plan.marginals))

    def size(name: str) -> float:
        if name in post:
            return float(np.max(np.abs(post[name])))
        if name in sampled:     # the marginal's range, to one in 10^12
            return float(np.max(np.abs(sampled[name].ppf(np.array([1e-12, 1 - 1e-12])))))
        return abs(float(plan.constants.get(name, 0.0)))

    outs = [plan.outputs[o].naam for o in bad[:5]]
    more = f" and {bad.size - len(outs)} more" if bad.size > len(outs) else ""
    bad_lines = {lines[li] for o in bad for li in np.flatnonzero(eff[o])}
    return non_finite_message(plan.priors.directory, f"{', '.join(outs)}{more} in the run", bad_lines, size)


# ------------------------------------------------------------------------------------------- chunks
def _run_chunk(plan: EnginePlan, seed: int, k: int, m: int, *, offset: int = 0, kept: Kept | None = None,
               hist: HistArrays = _NO_HIST) -> ChunkStats:
    """Chunk ``k`` (``m`` draws) through :func:`model.engine.template.run_chunk`: its statistics (of every
    output); the draws go into ``kept`` from column ``offset``, the histogram counts into ``hist``."""
    nc = plan.computed.size
    mean, m2 = np.empty(nc), np.empty(nc)
    compiled_module().run_chunk(chunk_state(seed, k), m, offset, plan.arrays, hist, mean, m2,
                                kept if kept is not None else Kept(_NONE_2, _NONE_2, _NONE_2))
    f, src = plan.factor, plan.source
    return ChunkStats(n=m, mean=f * mean[src], m2=f * f * m2[src])


def sample_chunk(plan: EnginePlan, seed: int, k: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` draws of chunk ``k``: (sampled inputs (len(plan.names), m), outputs (n_outputs, m))."""
    kept = Kept(np.empty((plan.computed.size, m)), np.empty((len(plan.names), m)), _NONE_2)
    _run_chunk(plan, seed, k, m, kept=kept)
    return kept.x, plan.factor[:, None] * kept.y[plan.source]


PILOT_DRAWS = 1 << 14


def pilot_ranges(plan: EnginePlan, seed: int, n: int = PILOT_DRAWS) -> tuple[np.ndarray, np.ndarray]:
    """Histogram ranges from a pilot stream of the same seed (spawn key ``PILOT_KEY``): [lo, lo + N_BINS*width).

    The bins cover the pilot's central 99.8% (P0.1-P99.9, range r) widened by r/4 below and r/2 above (the costs
    are skewed to the right): every reported quantile, the 90% HDI and their MC errors fall well inside, at about
    1/600 of the P5-P95 width per bin (for a normal). Values beyond are counted below/above the bins with their
    extremes. An output that is a multiple of another gets that output's range, scaled: the same bins."""
    _, y = sample_chunk(plan, seed, PILOT_KEY, n)
    y = y[plan.computed]
    with np.errstate(invalid="ignore"):     # a non-finite output: the run itself refuses it (check_finite)
        q_lo, q_hi = np.quantile(y, [0.001, 0.999], axis=1)
    r = q_hi - q_lo
    lo = q_lo - 0.25 * r
    hi = q_hi + 0.5 * r
    width = (hi - lo) / N_BINS
    return plan.factor * lo[plan.source], plan.factor * width[plan.source]


def chunk_bounds(draws: int, chunk_size: int) -> list[tuple[int, int, int]]:
    """(k, start, size) of every chunk of a run."""
    n_chunks = -(-draws // chunk_size)
    return [(k, k * chunk_size, min(chunk_size, draws - k * chunk_size)) for k in range(n_chunks)]


def run_chunks(plan: EnginePlan, seed: int, chunks: list[tuple[int, int, int]], *, threads: int = 1,
               kept: Kept | None = None, first: int = 0, ranges=None,
               progress: Callable[[int], None] | None = None) -> list[ChunkStats]:
    """Run a list of chunks on ``threads`` threads; returns per-chunk stats in chunk order.

    Draw ``start + j`` of a chunk goes to column ``start - first + j`` of ``kept``. With ``ranges`` (histogram
    ranges of all outputs), the histogram counts of all these chunks are attached to the first chunk's stats
    (counts are integers, so where they were accumulated does not matter)."""
    results: dict[int, ChunkStats] = {}
    lock = threading.Lock()
    histograms = _Histograms(plan, ranges) if ranges is not None else None

    def work(spec):
        k, start, size = spec
        hist = histograms.arrays() if histograms is not None else _NO_HIST
        st = _run_chunk(plan, seed, k, size, offset=start - first, kept=kept, hist=hist)
        if histograms is not None:
            histograms.flush()
        with lock:
            results[k] = st
        if progress is not None:
            progress(size)

    if threads <= 1 or len(chunks) <= 1:
        for spec in chunks:
            work(spec)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(work, chunks))
    parts = [results[k] for k, _, _ in chunks]
    if histograms is not None and parts and histograms.all:
        histograms.attach(parts[0])
    return parts


# ---------------------------------------------------------------------------------------------- run
@dataclass
class RunResult:
    """A Monte Carlo run: its summaries (``stats``, and the histogram ``ranges`` when streamed) and, when kept, the
    draws of the computed outputs (``kept``, (n_computed, draws); every output's draws by :meth:`draws_of`) and of
    the sampled inputs (``inputs``: all draws, or the first ones)."""

    plan: EnginePlan
    seed: int
    draws: int
    stats: ChunkStats
    kept: np.ndarray | None
    inputs: dict[str, np.ndarray] | None
    ranges: tuple[np.ndarray, np.ndarray] | None
    n_chunks: int
    threads: int

    @property
    def has_draws(self) -> bool:
        return self.kept is not None

    def draws_of(self, output: str | int) -> np.ndarray:
        """The draws of one output (by name as :meth:`EnginePlan.output_index` takes it, or index)."""
        if self.kept is None:
            raise ValueError("the run kept no draws (run the engine with keep=True)")
        o = self.plan.output_index(output) if isinstance(output, str) else int(output)
        row = self.kept[self.plan.source[o]]
        f = self.plan.factor[o]
        return row if f == 1.0 else f * row

    @property
    def outputs(self) -> np.ndarray | None:
        """Every output's draws, (n_outputs, draws): built on each call (memory: all outputs at once)."""
        if self.kept is None:
            return None
        return self.plan.factor[:, None] * self.kept[self.plan.source]


def run(priors: PriorSet | None = None, gebieden: Gebieden | None = None, *, draws: int = 200_000,
        seed: int = 20250101, threads: int = 1, chunk_size: int = DEFAULT_CHUNK, keep: bool | None = None,
        keep_inputs: bool | int = False, plan: EnginePlan | None = None,
        progress: Callable[[int], None] | None = None, posterior=None,
        overrides: Mapping[str, float] | None = None) -> RunResult:
    """A Monte Carlo run. Draws of the outputs are kept when ``keep`` (default: draws <= ``KEEP_LIMIT``); those of
    the sampled inputs when ``keep_inputs``: all of them (``True``, needs ``keep``), or the first ``keep_inputs``
    draws (a number: whole blocks of ``model.engine.blocks.BLOCK`` draws, e.g. for the rank-correlation report);
    summaries always."""
    check_count("draws", draws)
    check_count("threads", threads)
    check_count("seed", seed, minimum=0, below=MAX_SEED)  # SeedSequence takes no negative seed; stored as int64
    plan = plan if plan is not None else make_plan(priors, gebieden, chunk_size=chunk_size, posterior=posterior,
                                                   overrides=overrides)
    keep = draws <= KEEP_LIMIT if keep is None else keep
    n_inputs = draws if keep_inputs is True else min(int(keep_inputs), draws)
    if n_inputs and not isinstance(keep_inputs, bool):
        n_inputs -= n_inputs % BLOCK if n_inputs < draws else 0   # whole blocks
    kept_values = (plan.computed.size * draws if keep else 0) + len(plan.names) * n_inputs
    check_memory(f"{draws:,} draws kept in memory", 8 * 1.5 * kept_values,   # + sorting and writing them
                 "ask for fewer draws, or stream them (keep=False; cli.py run --summaries-only)")
    ranges = None
    if not keep:
        _run_chunk(plan, seed, PILOT_KEY, BLOCK)        # the machine code loaded (or compiled) before the timing
        t = time.perf_counter()
        _run_chunk(plan, seed, PILOT_KEY, PILOT_DRAWS)    # a streamed chunk's work: draws per second, one thread
        rate = PILOT_DRAWS / max(time.perf_counter() - t, 1e-9)
        check_hours(f"{draws:,} draws", draws / (rate * threads) / 3600,
                    "split the run into a batch of seeds (cli.py batch) or ask for fewer draws")
        ranges = pilot_ranges(plan, seed)
    kept = Kept(np.empty((plan.computed.size, draws)) if keep else _NONE_2,
                np.empty((len(plan.names), n_inputs)) if n_inputs else _NONE_2, _NONE_2)
    chunks = chunk_bounds(draws, plan.chunk_size)
    parts = run_chunks(plan, seed, chunks, threads=threads, kept=kept, ranges=ranges, progress=progress)
    stats = merge_stats(parts)
    check_finite(plan, stats)
    inputs = {name: kept.x[i] for i, name in enumerate(plan.names)} if n_inputs else None
    return RunResult(plan=plan, seed=seed, draws=draws, stats=stats, kept=kept.y if keep else None, inputs=inputs,
                     ranges=ranges, n_chunks=len(chunks), threads=threads)


def sample_lines(priors: PriorSet | None = None, gebieden: Gebieden | None = None, *, draws: int = 20_000,
                 seed: int = 1, chunk_size: int = DEFAULT_CHUNK) -> dict[str, np.ndarray]:
    """Every line of the model for ``draws`` draws, by name (small runs: everything in memory)."""
    plan = make_plan(priors, gebieden, chunk_size=chunk_size)
    lines = np.empty((len(plan.line_names), draws))
    for k, start, size in chunk_bounds(draws, plan.chunk_size):
        _run_chunk(plan, seed, k, size, offset=start, kept=Kept(_NONE_2, _NONE_2, lines))
    return {name: lines[i] for i, name in enumerate(plan.line_names)}


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


# ----------------------------------------------------------------------------- the model on given values
def evaluate_inputs(plan: EnginePlan, theta: np.ndarray) -> np.ndarray:
    """Outputs (n_outputs, m) for given values of the sampled inputs ``theta`` (len(plan.names), m).

    Used by the sensitivity analysis: the same compiled model and output sums as the engine, on design matrices
    instead of random draws. Outputs that are not finite are an error, as in :func:`run`."""
    theta = np.ascontiguousarray(theta, dtype=float)
    y = np.empty((plan.computed.size, theta.shape[1]))  # the computed outputs; the others are their multiples
    compiled_module().evaluate_theta(theta, plan.arrays, y)
    out = plan.factor[:, None] * y[plan.source]
    bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
    if bad.size:
        raise PriorError(_non_finite(plan, bad))
    return out


def evaluate_lines(values: Mapping[str, object]) -> dict[str, np.ndarray]:
    """The compiled model on given inputs: every line for ``values`` (each required input a float or a 1-D array,
    all of one length). The compiled counterpart of ``model.deelopgaven.registry.evaluate``."""
    names = required_inputs()
    missing = [n for n in names if n not in values]
    if missing:
        raise KeyError(f"missing inputs: {missing}")
    m = max(np.size(values[n]) for n in names)
    inp = np.empty((m, len(names)))
    for i, n in enumerate(names):
        inp[:, i] = values[n]
    lines = np.empty((m, len(line_names())))
    compiled_module().model_loop(inp, lines)
    return {name: np.ascontiguousarray(lines[:, i]) for i, name in enumerate(line_names())}


def transform(z: np.ndarray, marginals: Sequence, copula: CopulaPlan | None = None) -> np.ndarray:
    """Values (n, m) of ``marginals`` (fitted, ``model.spec.fitting.Marginal``) for independent standard normal
    scores ``z`` (n, m), by the engine's own copula and transform (``model.engine.blocks.correlate_block`` and
    ``marginals_block``, as in a run): with ``copula`` (of n parameters) the scores are correlated first."""
    z = np.ascontiguousarray(np.atleast_2d(np.asarray(z, dtype=float)))
    if z.shape[0] != len(marginals):
        raise ValueError(f"z has {z.shape[0]} rows for {len(marginals)} marginals")
    if copula is not None and len(copula.names) != len(marginals):
        raise ValueError(f"the copula has {len(copula.names)} parameters for {len(marginals)} marginals")
    out = np.empty_like(z)
    compiled_module().transform(z, transform_arrays(marginals, copula), out)
    return out
