"""Monte Carlo engine: sample every prior, run every deelopgave kernel, summarise.

Streams. The draws are cut into chunks of ``chunk_size`` draws. Chunk ``k`` of a run with seed ``s`` draws
from its own generator ``Generator(PCG64(SeedSequence(s, spawn_key=(k,))))`` -- the ``k``-th child that
``SeedSequence(s).spawn`` would give -- so a chunk's numbers depend only on ``(seed, k, chunk_size)``:
results are bit-identical whether chunks run on 1 or 2 threads, in one task or split over many tasks (Dask).
The chunk size is part of the stream's definition and is recorded in the manifest. Within a chunk the
standard normals are drawn draw by draw (all parameters of draw 1, then draw 2, ...), so a shorter last chunk
is a prefix of a full one.

Per chunk (all numba, GIL-free): standard normals -> Gaussian copula (declared correlations) -> each
marginal's transform (``model.distributions.z_to_x``) -> the deelopgave kernels (``model.evaluate``, the same
kernels report mode runs) -> the outputs (lines and their sums by deelopgave, goal, column, payer) ->
per-chunk moments and fixed-bin histograms. Chunk summaries are merged in chunk order, so the merge is
deterministic too. Runs small enough keep every draw (exact quantiles); larger runs keep only the summaries,
so memory stays bounded at any number of draws.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numba
import numpy as np

from model.data import Gebieden, load_gebieden
from model.dependence import CopulaPlan, build_copula, correlate
from model.distributions import z_to_x
from model.evaluate import data_inputs, evaluate
from model.priors import PriorSet, fit_entry, load_priors
from model.registry import BETALERS, DEELOPGAVEN, DOELEN, KOLOMMEN, cost_lines

DEFAULT_CHUNK = 1 << 15
N_BINS = 1 << 14
PILOT_KEY = 2**31 - 1  # spawn key of the pilot stream that fixes histogram ranges


# --------------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Output:
    """One summarised output: a weighted sum of cost lines."""

    naam: str
    soort: str            # lijn / deelopgave / doel / kolom / betaler / totaal
    long_name: str
    pm: bool = False


@dataclass(frozen=True)
class EnginePlan:
    priors: PriorSet
    gebieden: Gebieden
    names: tuple[str, ...]                 # sampled (non-fixed) prior entries, in variate order
    constants: Mapping[str, float]         # fixed entries and data quantities
    codes: np.ndarray
    vectors: np.ndarray
    tables: np.ndarray
    copula: CopulaPlan
    outputs: tuple[Output, ...]
    weights: np.ndarray                    # (n_outputs, n_cost_lines) 0/1 aggregation matrix
    line_names: tuple[str, ...]
    chunk_size: int = DEFAULT_CHUNK
    posterior: tuple[tuple[str, ...], np.ndarray] | None = None  # joint draws resampled row-wise
    overrides: Mapping[str, float] = field(default_factory=dict)


def _outputs() -> tuple[tuple[Output, ...], np.ndarray, tuple[str, ...]]:
    cl = cost_lines()
    names = tuple(line.naam for _, line in cl)
    outs: list[Output] = []
    rows: list[np.ndarray] = []

    def add(out: Output, mask):
        outs.append(out)
        rows.append(np.asarray(mask, dtype=float))

    for kolom, title in KOLOMMEN.items():
        add(Output(f"totaal_{kolom}", "kolom", f"Totaal {title} (zonder PM)"),
            [d.kolom == kolom and not d.pm for d, _ in cl])
    add(Output("totaal_pm", "totaal", "Totaal PM-posten", pm=True), [d.pm for d, _ in cl])
    for doel, title in DOELEN.items():
        if doel == "grondslag":
            continue
        add(Output(f"doel_{doel}", "doel", f"Doel: {title} (zonder PM)"), [d.doel == doel and not d.pm for d, _ in cl])
    for betaler in BETALERS:
        add(Output(f"betaler_{betaler}", "betaler", f"Betaler {betaler} (zonder PM)"),
            [line.betaler == betaler and not d.pm for d, line in cl])
    for d in DEELOPGAVEN:
        if d.kolom is None:
            continue
        add(Output(d.naam, "deelopgave", d.titel, pm=d.pm), [dd.naam == d.naam for dd, _ in cl])
    for d, line in cl:
        add(Output(f"lijn_{line.naam}", "lijn", line.long_name, pm=d.pm), [ll.naam == line.naam for _, ll in cl])
    return tuple(outs), np.vstack(rows), names


def make_plan(priors: PriorSet | None = None, gebieden: Gebieden | None = None, *,
              chunk_size: int = DEFAULT_CHUNK, posterior=None,
              overrides: Mapping[str, float] | None = None) -> EnginePlan:
    """Fit every marginal, build the copula, and fix the outputs. ``overrides`` fixes entries at values."""
    priors = priors if priors is not None else load_priors()
    gebieden = gebieden if gebieden is not None else load_gebieden()
    overrides = dict(overrides or {})
    post_names = set(posterior[0]) if posterior is not None else set()
    sampled, constants = [], dict(data_inputs(gebieden))
    marginals = []
    for name, entry in priors.entries.items():
        if name in overrides:
            constants[name] = float(overrides[name])
        elif entry.fixed or name in post_names:
            constants[name] = entry.point
        else:
            sampled.append(name)
            marginals.append(fit_entry(entry)[0])
    n = len(sampled)
    table_len = max([m.table.size for m in marginals] + [1])
    tables = np.zeros((n, table_len))
    for i, m in enumerate(marginals):
        tables[i, :m.table.size] = m.table
    declared = _restrict_correlations(priors.correlations, set(sampled))
    copula = build_copula(tuple(sampled), declared)
    outputs, weights, line_names = _outputs()
    return EnginePlan(priors=priors, gebieden=gebieden, names=tuple(sampled), constants=constants,
                      codes=np.array([m.code for m in marginals], dtype=np.int64),
                      vectors=np.vstack([m.vector for m in marginals]) if n else np.zeros((0, 8)),
                      tables=tables, copula=copula, outputs=outputs, weights=weights, line_names=line_names,
                      chunk_size=int(chunk_size), posterior=posterior, overrides=overrides)


def _restrict_correlations(declared, sampled: set[str]):
    """Drop declared correlations of entries that are not sampled (fixed, overridden or from a posterior)."""
    if not declared:
        return declared
    out = {}
    if "groepen" in declared:
        out["groepen"] = {}
        for g, spec in declared["groepen"].items():
            leden = [m for m in spec.get("leden", []) if m in sampled]
            if len(leden) >= 2:
                out["groepen"][g] = {**spec, "leden": leden}
    if "paren" in declared:
        out["paren"] = [p for p in declared["paren"] if p[0] in sampled and p[1] in sampled]
    return out


# ------------------------------------------------------------------------------------------ kernels
@numba.njit(cache=True, nogil=True)
def _fill_normals(rng, z):
    n, m = z.shape
    for j in range(m):
        for i in range(n):
            z[i, j] = rng.standard_normal()


@numba.njit(cache=True, nogil=True)
def _transform(z, codes, vectors, tables, x):
    n, m = z.shape
    for i in range(n):
        code = codes[i]
        vec = vectors[i]
        tab = tables[i]
        for j in range(m):
            x[i, j] = z_to_x(z[i, j], code, vec, tab)


@numba.njit(cache=True, nogil=True)
def _aggregate(weights, lines, out):
    n_out, n_lines = weights.shape
    m = lines.shape[1]
    for o in range(n_out):
        for j in range(m):
            out[o, j] = 0.0
        for li in range(n_lines):
            w = weights[o, li]
            if w != 0.0:
                for j in range(m):
                    out[o, j] += w * lines[li, j]


@numba.njit(cache=True, nogil=True)
def _histogram(y, lo, width, counts, under, over):
    n_out, m = y.shape
    nb = counts.shape[1]
    for o in range(n_out):
        for j in range(m):
            v = y[o, j]
            if width[o] <= 0.0:
                b = 0
            else:
                b = int(math.floor((v - lo[o]) / width[o]))
            if b < 0:
                under[o] += 1
            elif b >= nb:
                over[o] += 1
            else:
                counts[o, b] += 1


def chunk_generator(seed: int, k: int) -> np.random.Generator:
    """The generator of chunk ``k``: the ``k``-th child of ``SeedSequence(seed)``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(k,))))


def sample_chunk(plan: EnginePlan, seed: int, k: int, m: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Inputs and outputs of ``m`` draws of chunk ``k``: (input arrays by name, outputs (n_outputs, m))."""
    rng = chunk_generator(seed, k)
    n = len(plan.names)
    z = np.empty((n, m))
    _fill_normals(rng, z)
    correlate(z, plan.copula)
    x = np.empty((n, m))
    _transform(z, plan.codes, plan.vectors, plan.tables, x)
    values = {name: x[i] for i, name in enumerate(plan.names)}
    for name, v in plan.constants.items():
        values[name] = np.full(m, v)
    if plan.posterior is not None:
        post_names, post = plan.posterior
        rows = rng.integers(0, post.shape[0], size=m)
        for i, name in enumerate(post_names):
            values[name] = np.ascontiguousarray(post[rows, i])
    lines = evaluate(values)
    line_matrix = np.vstack([lines[name] for name in plan.line_names])
    y = np.empty((len(plan.outputs), m))
    _aggregate(plan.weights, line_matrix, y)
    return values, y


# ------------------------------------------------------------------------------------------ summary
@dataclass
class ChunkStats:
    n: int
    mean: np.ndarray
    m2: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    counts: np.ndarray | None = None
    under: np.ndarray | None = None
    over: np.ndarray | None = None


def _stats(y: np.ndarray, hist) -> ChunkStats:
    mean = y.mean(axis=1)
    st = ChunkStats(n=y.shape[1], mean=mean, m2=((y - mean[:, None]) ** 2).sum(axis=1),
                    minimum=y.min(axis=1), maximum=y.max(axis=1))
    if hist is not None:
        lo, width = hist
        st.counts = np.zeros((y.shape[0], N_BINS), dtype=np.int64)
        st.under = np.zeros(y.shape[0], dtype=np.int64)
        st.over = np.zeros(y.shape[0], dtype=np.int64)
        _histogram(y, lo, width, st.counts, st.under, st.over)
    return st


def merge_stats(parts: list[ChunkStats]) -> ChunkStats:
    """Merge chunk statistics in the given (chunk) order (Chan et al. parallel variance)."""
    acc = ChunkStats(n=parts[0].n, mean=parts[0].mean.copy(), m2=parts[0].m2.copy(),
                     minimum=parts[0].minimum.copy(), maximum=parts[0].maximum.copy(),
                     counts=None if parts[0].counts is None else parts[0].counts.copy(),
                     under=None if parts[0].under is None else parts[0].under.copy(),
                     over=None if parts[0].over is None else parts[0].over.copy())
    for p in parts[1:]:
        n = acc.n + p.n
        delta = p.mean - acc.mean
        acc.mean = acc.mean + delta * (p.n / n)
        acc.m2 = acc.m2 + p.m2 + delta**2 * (acc.n * p.n / n)
        acc.n = n
        acc.minimum = np.minimum(acc.minimum, p.minimum)
        acc.maximum = np.maximum(acc.maximum, p.maximum)
        if acc.counts is not None:
            acc.counts += p.counts
            acc.under += p.under
            acc.over += p.over
    return acc


def pilot_ranges(plan: EnginePlan, seed: int, n: int = 1 << 14) -> tuple[np.ndarray, np.ndarray]:
    """Histogram ranges from a pilot stream of the same seed (spawn key PILOT_KEY): [lo, lo + N_BINS*width)."""
    _, y = sample_chunk(plan, seed, PILOT_KEY, n)
    lo, hi = y.min(axis=1), y.max(axis=1)
    span = hi - lo
    lo = lo - 0.5 * span
    hi = hi + 1.5 * span
    width = (hi - lo) / N_BINS
    return lo, width


# ---------------------------------------------------------------------------------------------- run
@dataclass
class RunResult:
    plan: EnginePlan
    seed: int
    draws: int
    stats: ChunkStats
    outputs: np.ndarray | None          # (n_outputs, draws) when draws are kept
    inputs: dict[str, np.ndarray] | None
    hist: tuple[np.ndarray, np.ndarray] | None
    n_chunks: int
    threads: int


def chunk_bounds(draws: int, chunk_size: int) -> list[tuple[int, int, int]]:
    """(k, start, size) of every chunk of a run."""
    n_chunks = -(-draws // chunk_size)
    return [(k, k * chunk_size, min(chunk_size, draws - k * chunk_size)) for k in range(n_chunks)]


def run_chunks(plan: EnginePlan, seed: int, chunks: list[tuple[int, int, int]], *, threads: int = 1,
               keep: bool = False, hist=None, progress: Callable[[int], None] | None = None):
    """Run a list of chunks on ``threads`` threads; returns per-chunk stats (and outputs) in chunk order."""
    results: dict[int, tuple] = {}
    lock = threading.Lock()

    def work(spec):
        k, start, size = spec
        values, y = sample_chunk(plan, seed, k, size)
        st = _stats(y, hist)
        kept = (y, {name: values[name] for name in plan.names}) if keep else None
        with lock:
            results[k] = (st, kept)
        if progress is not None:
            progress(size)

    if threads <= 1:
        for spec in chunks:
            work(spec)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(work, chunks))
    return [results[k] for k, _, _ in chunks]


def run(priors: PriorSet | None = None, gebieden: Gebieden | None = None, *, draws: int = 200_000,
        seed: int = 20250101, threads: int = 1, chunk_size: int = DEFAULT_CHUNK, keep: bool | None = None,
        plan: EnginePlan | None = None, progress: Callable[[int], None] | None = None,
        posterior=None, overrides: Mapping[str, float] | None = None) -> RunResult:
    """A Monte Carlo run. Draws are kept when ``keep`` (default: draws <= 2e6); summaries always."""
    plan = plan if plan is not None else make_plan(priors, gebieden, chunk_size=chunk_size, posterior=posterior,
                                                   overrides=overrides)
    keep = draws <= 2_000_000 if keep is None else keep
    hist = None if keep else pilot_ranges(plan, seed)
    chunks = chunk_bounds(draws, plan.chunk_size)
    parts = run_chunks(plan, seed, chunks, threads=threads, keep=keep, hist=hist, progress=progress)
    stats = merge_stats([p[0] for p in parts])
    outputs = inputs = None
    if keep:
        outputs = np.concatenate([p[1][0] for p in parts], axis=1)
        inputs = {name: np.concatenate([p[1][1][name] for p in parts]) for name in plan.names}
    return RunResult(plan=plan, seed=seed, draws=draws, stats=stats, outputs=outputs, inputs=inputs, hist=hist,
                     n_chunks=len(chunks), threads=threads)


def sample_lines(priors: PriorSet | None = None, gebieden: Gebieden | None = None, *, draws: int = 20_000,
                 seed: int = 1, chunk_size: int = DEFAULT_CHUNK, threads: int = 1) -> dict[str, np.ndarray]:
    """All cost lines (and auxiliary lines) for ``draws`` draws, by name (small runs: everything in memory)."""
    plan = make_plan(priors, gebieden, chunk_size=chunk_size)
    out: dict[str, list] = {}
    for k, _, size in chunk_bounds(draws, plan.chunk_size):
        values, _ = sample_chunk(plan, seed, k, size)
        for name, arr in evaluate(values).items():
            out.setdefault(name, []).append(arr)
    return {name: np.concatenate(parts) for name, parts in out.items()}


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def evaluate_inputs(plan: EnginePlan, theta: np.ndarray) -> np.ndarray:
    """Outputs (n_outputs, m) for given values of the sampled inputs ``theta`` (len(plan.names), m).

    Used by the sensitivity analysis: the same kernels on design matrices instead of random draws.
    """
    theta = np.ascontiguousarray(theta, dtype=float)
    m = theta.shape[1]
    values = {name: theta[i] for i, name in enumerate(plan.names)}
    for name, v in plan.constants.items():
        values[name] = np.full(m, v)
    lines = evaluate(values)
    line_matrix = np.vstack([lines[name] for name in plan.line_names])
    y = np.empty((len(plan.outputs), m))
    _aggregate(plan.weights, line_matrix, y)
    return y


def output_index(plan: EnginePlan, name: str) -> int:
    """Index of an output by name; accepts column names without 'totaal_' (e.g. 'publieke_restopgave')."""
    names = [o.naam for o in plan.outputs]
    for candidate in (name, f"totaal_{name}", f"lijn_{name}", f"doel_{name}"):
        if candidate in names:
            return names.index(candidate)
    raise KeyError(f"unknown output {name!r}; known: {names}")
