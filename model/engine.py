"""Monte Carlo engine: sample every prior, run every deelopgave kernel, summarise.

Streams. The draws are cut into chunks of ``chunk_size`` draws. Chunk ``k`` of a run with seed ``s`` draws
from its own generator ``Generator(PCG64(SeedSequence(s, spawn_key=(k,))))`` -- the ``k``-th child that
``SeedSequence(s).spawn`` would give -- so a chunk's numbers depend only on ``(seed, k, chunk_size)``:
results are bit-identical whether chunks run on 1 or 2 threads, in one task or split over many tasks (Dask).
The chunk size is part of the stream's definition and is recorded in the manifest. Within a chunk the
standard normals are drawn draw by draw (all parameters of draw 1, then draw 2, ...), so a shorter last chunk
is a prefix of a full one.

Per chunk, in one GIL-free numba function: standard normals -> Gaussian copula (declared correlations) ->
each marginal's transform (``model.distributions.z_to_x``) -> the compiled model loop (``model.compiled``: the
deelopgave kernels that report mode runs too) -> the outputs (lines and their sums by deelopgave, goal,
column, payer); then per-chunk moments and fixed-bin histograms. Chunk summaries are merged in chunk order, so the merge is
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

from model.data import REGIOS, Gebieden, load_gebieden
from model.dependence import CopulaPlan, build_copula, packed
from model.distributions import z_to_x
from model.compiled import input_order, line_order, model_loop
from model.evaluate import check_inputs, data_inputs
from model.priors import PriorSet, fit_entry, load_priors
from model.registry import BETALERS, DEELOPGAVEN, DOELEN, KOLOMMEN, cost_lines

DEFAULT_CHUNK = 1 << 15
_BLOCK = 256  # draws per cache-resident block inside a chunk (no effect on results)
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
    weights: np.ndarray                    # (n_outputs, n_lines + n_outputs): lines and earlier outputs
    line_names: tuple[str, ...]            # every line of the model loop, in its order
    input_names: tuple[str, ...]           # rows of the model loop's input matrix
    rows: np.ndarray                       # input row of each sampled entry
    const_rows: np.ndarray                 # input rows of the constants ...
    const_values: np.ndarray               # ... and their values
    copula_packed: tuple                   # model.dependence.packed(copula)
    out_ptr: np.ndarray                    # `weights` as CSR
    out_idx: np.ndarray
    out_w: np.ndarray
    post_draws: np.ndarray                 # posterior draws (P, n_post), P = 0 without a posterior
    post_rows: np.ndarray                  # input rows of the posterior's entries
    chunk_size: int = DEFAULT_CHUNK
    posterior: tuple[tuple[str, ...], np.ndarray] | None = None  # joint draws resampled row-wise
    overrides: Mapping[str, float] = field(default_factory=dict)


def regional_weights(gebieden: Gebieden) -> dict[str, np.ndarray]:
    """Per line of the model loop, its share in each region (order of ``model.data.REGIOS``).

    Lines are allocated by their deelopgave's ``verdeelsleutel``: inhabitants or dwellings (CBS KWB 2024);
    gezonde toekomst through its two region-class lines (regions with several bad indicators / regions §4.2
    does not name), each divided over its regions by inhabitants. The shares of a line add to 1.
    """
    inw = gebieden.per_regio(gebieden.inwoners)
    won = gebieden.per_regio(gebieden.woningen)
    klasse = np.array([gebieden.regio_klasse[r] for r in REGIOS])
    out: dict[str, np.ndarray] = {}
    for d in DEELOPGAVEN:
        if d.kolom is None:
            continue
        for line in d.lines:
            if d.verdeelsleutel == "gezonde_toekomst":
                for k in ("meerdere", "niet_genoemd"):
                    if line.naam == f"gezonde_toekomst_regio_{k}":
                        w = np.where(klasse == k, inw, 0.0)
                        out[line.naam] = w / w.sum() if w.sum() > 0 else w
            elif not line.hulp:
                key = won if d.verdeelsleutel == "woningen" else inw
                out[line.naam] = key / key.sum()
    return out


def _outputs(gebieden: Gebieden) -> tuple[tuple[Output, ...], np.ndarray, tuple[str, ...]]:
    cl = cost_lines()
    names = line_order()
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
    for kostensoort in sorted({line.kostensoort for _, line in cl}):
        add(Output(f"kostensoort_{kostensoort}", "kostensoort", f"Kostensoort {kostensoort} (zonder PM)"),
            [line.kostensoort == kostensoort and not d.pm for d, line in cl])
    for d in DEELOPGAVEN:
        if d.kolom is None:
            continue
        add(Output(d.naam, "deelopgave", d.titel, pm=d.pm), [dd.naam == d.naam for dd, _ in cl])
    for d, line in cl:
        add(Output(f"lijn_{line.naam}", "lijn", line.long_name, pm=d.pm), [ll.naam == line.naam for _, ll in cl])
    # weights over all lines of the model loop (auxiliary lines and quantities get weight 0), then over earlier
    # outputs: row o of `weights` has n_lines + n_outputs columns; an output may use outputs before it
    cost_index = [names.index(line.naam) for _, line in cl]
    first = np.zeros((len(outs), len(names)))
    first[:, cost_index] = np.vstack(rows)
    # regional breakdown (totals without PM, per region and per column) in two stages: subtotals per column
    # and allocation key ("sleutel"), then each region's share of those subtotals
    shares = regional_weights(gebieden)
    deel = {line.naam: d for d in DEELOPGAVEN for line in d.lines}
    keys = {}
    for line_name, share in shares.items():
        d = deel[line_name]
        if d.pm:
            continue
        key = line_name if d.verdeelsleutel == "gezonde_toekomst" else d.verdeelsleutel
        keys.setdefault((d.kolom, key), (share, []))[1].append(line_name)
    sub_rows = []
    for (kolom, key), (share, members) in keys.items():
        outs.append(Output(f"sleutel_{kolom}_{key}", "sleutel", f"Subtotaal {kolom} verdeeld naar {key}"))
        w = np.zeros(len(names))
        w[[names.index(n) for n in members]] = 1.0
        sub_rows.append(w)
    n_first = len(rows) + len(sub_rows)
    regional = []
    for r, regio in enumerate(REGIOS):
        for kolom in (None, *KOLOMMEN):
            w = np.zeros(len(names) + n_first)
            for g, ((k, _), (share, _)) in enumerate(keys.items()):
                if kolom is None or k == kolom:
                    w[len(names) + len(rows) + g] = share[r]
            suffix = "" if kolom is None else f"_{kolom}"
            title = "totaal zonder PM" if kolom is None else KOLOMMEN[kolom]
            outs.append(Output(f"regio_{r:02d}{suffix}", "regio" if kolom is None else "regio_kolom",
                               f"{regio}: {title}"))
            regional.append(w)
    n_out = len(outs)
    weights = np.zeros((n_out, len(names) + n_out))
    weights[:n_first, :len(names)] = np.vstack([first, *sub_rows])
    weights[n_first:, :len(names) + n_first] = np.vstack(regional)
    return tuple(outs), weights, names


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
    outputs, weights, line_names = _outputs(gebieden)
    input_names = input_order()
    check_inputs({**constants, **{n: 0.0 for n in sampled}, **{n: 0.0 for n in post_names}}, priors.directory)
    row = {name: i for i, name in enumerate(input_names)}
    const_names = [name for name in constants if name in row]
    out_ptr = np.concatenate([[0], np.cumsum((weights != 0).sum(axis=1))]).astype(np.int64)
    out_idx = np.concatenate([np.flatnonzero(w) for w in weights]).astype(np.int64)
    out_w = np.concatenate([w[w != 0] for w in weights]).astype(float)
    if posterior is not None:
        post_draws = np.ascontiguousarray(posterior[1], dtype=float)
        post_rows = np.array([row[nm] for nm in posterior[0]], dtype=np.int64)
    else:
        post_draws, post_rows = np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    return EnginePlan(priors=priors, gebieden=gebieden, names=tuple(sampled), constants=constants,
                      codes=np.array([m.code for m in marginals], dtype=np.int64),
                      vectors=np.vstack([m.vector for m in marginals]) if n else np.zeros((0, 8)),
                      tables=tables, copula=copula, outputs=outputs, weights=weights, line_names=line_names,
                      input_names=input_names, rows=np.array([row[nm] for nm in sampled], dtype=np.int64),
                      const_rows=np.array([row[nm] for nm in const_names], dtype=np.int64),
                      const_values=np.array([constants[nm] for nm in const_names], dtype=float),
                      copula_packed=packed(copula), out_ptr=out_ptr, out_idx=out_idx, out_w=out_w,
                      post_draws=post_draws, post_rows=post_rows,
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
def _correlate_columns(z, nb, block_ptr, block_idx, chol_ptr, chol_flat):
    """``z[block, :nb] = L @ z[block, :nb]`` per copula block; the same arithmetic, in the same order, as
    :func:`model.dependence.correlate_draw` for each draw (rows last to first, diagonal first)."""
    for b in range(block_ptr.size - 1):
        start = block_ptr[b]
        k = block_ptr[b + 1] - start
        base = chol_ptr[b]
        for i in range(k - 1, -1, -1):
            zi = z[block_idx[start + i]]
            d = chol_flat[base + i * k + i]
            for j in range(nb):
                zi[j] = d * zi[j]
            for l in range(i):
                c = chol_flat[base + i * k + l]
                if c != 0.0:
                    zl = z[block_idx[start + l]]
                    for j in range(nb):
                        zi[j] = zi[j] + c * zl[j]


@numba.njit(cache=True, nogil=True)
def _chunk_inputs(rng, codes, vectors, tables, rows, const_rows, const_values, block_ptr, block_idx,
                  chol_ptr, chol_flat, post, post_rows, inp):
    """One chunk's inputs: normals -> copula -> marginals, into ``inp`` (m, n_inputs).

    Per draw the standard normals of all sampled entries are drawn first, in entry order, then (with a
    posterior) one integer picking the posterior row. The work runs in blocks of draws that stay in cache
    (the block size does not change any number).
    """
    m = inp.shape[0]
    n = codes.size
    n_post = post.shape[0]
    z = np.empty((n, _BLOCK))  # entry-major inside the block: the copula and the marginals run along draws
    picks = np.empty(_BLOCK, dtype=np.int64)
    for b0 in range(0, m, _BLOCK):
        nb = min(_BLOCK, m - b0)
        for j in range(nb):
            for i in range(n):
                z[i, j] = rng.standard_normal()
            if n_post > 0:
                picks[j] = rng.integers(0, n_post)
        _correlate_columns(z, nb, block_ptr, block_idx, chol_ptr, chol_flat)
        for i in range(n):  # per entry: one branch, a tight loop over the block's draws
            code = codes[i]
            r = rows[i]
            zi = z[i]
            if code == 2:
                mu, s = vectors[i, 0], vectors[i, 1]
                for j in range(nb):
                    inp[b0 + j, r] = math.exp(mu + s * zi[j])
            elif code == 1:
                mu, s = vectors[i, 0], vectors[i, 1]
                for j in range(nb):
                    inp[b0 + j, r] = mu + s * zi[j]
            else:
                vec = vectors[i]
                tab = tables[i]
                for j in range(nb):
                    inp[b0 + j, r] = z_to_x(zi[j], code, vec, tab)
        for k in range(const_rows.size):
            r = const_rows[k]
            v = const_values[k]
            for j in range(nb):
                inp[b0 + j, r] = v
        for k in range(post_rows.size):
            r = post_rows[k]
            for j in range(nb):
                inp[b0 + j, r] = post[picks[j], k]


@numba.njit(cache=True, nogil=True)
def _aggregate(lines, out_ptr, out_idx, out_w, y):
    """Outputs ``y`` (n_outputs, m) as weighted sums over [lines (m, n_lines), earlier outputs], given as CSR
    ``out_ptr``/``out_idx``/``out_w`` (an index >= n_lines refers to output index - n_lines).

    Runs in cache-resident blocks of draws, with the draw loop innermost."""
    m, n_lines = lines.shape
    lt = np.empty((n_lines, _BLOCK))
    for b0 in range(0, m, _BLOCK):
        nb = min(_BLOCK, m - b0)
        for j in range(nb):
            for i in range(n_lines):
                lt[i, j] = lines[b0 + j, i]
        for o in range(out_ptr.size - 1):
            yo = y[o]
            for j in range(nb):
                yo[b0 + j] = 0.0
            for q in range(out_ptr[o], out_ptr[o + 1]):
                w = out_w[q]
                idx = out_idx[q]
                if idx < n_lines:
                    src = lt[idx]
                    for j in range(nb):
                        yo[b0 + j] += w * src[j]
                else:
                    src = y[idx - n_lines]
                    for j in range(nb):
                        yo[b0 + j] += w * src[b0 + j]


@numba.njit(cache=True, nogil=True)
def _histogram(y, lo, width, counts, under, over):
    n_out, m = y.shape
    nb = counts.shape[1]
    for o in range(n_out):  # one output at a time: its bins stay in cache
        row = y[o]
        c = counts[o]
        lo_o = lo[o]
        w_o = width[o]
        for j in range(m):
            if w_o <= 0.0:
                b = 0
            else:
                b = int(math.floor((row[j] - lo_o) / w_o))
            if b < 0:
                under[o] += 1
            elif b >= nb:
                over[o] += 1
            else:
                c[b] += 1


def chunk_generator(seed: int, k: int) -> np.random.Generator:
    """The generator of chunk ``k``: the ``k``-th child of ``SeedSequence(seed)``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(k,))))


def sample_chunk(plan: EnginePlan, seed: int, k: int, m: int, work: dict | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and outputs of ``m`` draws of chunk ``k``: (input matrix (m, len(plan.input_names)),
    outputs (n_outputs, m)). ``work`` is an optional dict of reusable buffers (one per thread)."""
    rng = chunk_generator(seed, k)
    inp = _buffer(work, "inp", (m, len(plan.input_names)))
    _chunk_inputs(rng, plan.codes, plan.vectors, plan.tables, plan.rows, plan.const_rows, plan.const_values,
                  *plan.copula_packed, plan.post_draws, plan.post_rows, inp)
    return inp, _model_outputs(plan, inp, work)


def _buffer(work: dict | None, name: str, shape: tuple[int, int]) -> np.ndarray:
    """A scratch array, reused across chunks of one thread when ``work`` is given (no page faults per chunk)."""
    if work is None:
        return np.empty(shape)
    buf = work.get(name)
    if buf is None or buf.shape[1] != shape[1] or buf.shape[0] < shape[0]:
        buf = work[name] = np.empty(shape)
    return buf[:shape[0]]


def _model_outputs(plan: EnginePlan, inp: np.ndarray, work: dict | None = None) -> np.ndarray:
    """The compiled model on inputs (m, n_inputs), summed into the plan's outputs (n_outputs, m)."""
    lines = _buffer(work, "lines", (inp.shape[0], len(plan.line_names)))
    model_loop()(inp, lines)
    y = np.empty((len(plan.outputs), inp.shape[0])) if work is None else \
        _buffer(work, "y", (len(plan.outputs), plan.chunk_size))[:, :inp.shape[0]]
    _aggregate(lines, plan.out_ptr, plan.out_idx, plan.out_w, y)
    return y


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


@numba.njit(cache=True, nogil=True)
def _moments(y, mean, m2, minimum, maximum):
    """Per output row: mean, sum of squared deviations (two-pass), min and max."""
    n_out, m = y.shape
    for o in range(n_out):
        row = y[o]
        s = 0.0
        lo = row[0]
        hi = row[0]
        for j in range(m):
            v = row[j]
            s += v
            lo = min(lo, v)
            hi = max(hi, v)
        mu = s / m
        d2 = 0.0
        for j in range(m):
            d = row[j] - mu
            d2 += d * d
        mean[o] = mu
        m2[o] = d2
        minimum[o] = lo
        maximum[o] = hi


def _stats(y: np.ndarray) -> ChunkStats:
    n_out = y.shape[0]
    st = ChunkStats(n=y.shape[1], mean=np.empty(n_out), m2=np.empty(n_out), minimum=np.empty(n_out),
                    maximum=np.empty(n_out))
    _moments(np.ascontiguousarray(y), st.mean, st.m2, st.minimum, st.maximum)
    return st


class _Histograms:
    """Fixed-bin histograms accumulated per thread (integer counts: their sum does not depend on the order)."""

    def __init__(self, n_out: int, hist):
        self.lo, self.width = hist
        self.n_out = n_out
        self.local = threading.local()
        self.all: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.lock = threading.Lock()

    def add(self, y: np.ndarray) -> None:
        acc = getattr(self.local, "acc", None)
        if acc is None:
            acc = (np.zeros((self.n_out, N_BINS), dtype=np.int64), np.zeros(self.n_out, dtype=np.int64),
                   np.zeros(self.n_out, dtype=np.int64))
            self.local.acc = acc
            with self.lock:
                self.all.append(acc)
        _histogram(y, self.lo, self.width, *acc)

    def total(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        counts, under, over = (sum(a[i] for a in self.all) for i in range(3))
        return counts, under, over


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
        if p.counts is not None:
            if acc.counts is None:
                acc.counts, acc.under, acc.over = p.counts.copy(), p.under.copy(), p.over.copy()
            else:
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
    """Run a list of chunks on ``threads`` threads; returns per-chunk stats (and outputs) in chunk order.

    With ``hist``, the histogram counts of all these chunks are attached to the first chunk's stats (counts
    are integers, so where they were accumulated does not matter)."""
    results: dict[int, tuple] = {}
    lock = threading.Lock()

    histograms = _Histograms(len(plan.outputs), hist) if hist is not None else None
    scratch = threading.local()

    def work(spec):
        k, start, size = spec
        if keep:
            inp, y = sample_chunk(plan, seed, k, size)
        else:  # summaries only: reuse this thread's buffers
            if not hasattr(scratch, "work"):
                scratch.work = {}
            inp, y = sample_chunk(plan, seed, k, size, scratch.work)
        st = _stats(y)
        if histograms is not None:
            histograms.add(y)
        kept = (y, {name: inp[:, plan.rows[i]].copy() for i, name in enumerate(plan.names)}) if keep else None
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
    parts = [results[k] for k, _, _ in chunks]
    if histograms is not None and parts:
        parts[0][0].counts, parts[0][0].under, parts[0][0].over = histograms.total()
    return parts


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
                 seed: int = 1, chunk_size: int = DEFAULT_CHUNK) -> dict[str, np.ndarray]:
    """Every line of the model for ``draws`` draws, by name (small runs: everything in memory)."""
    plan = make_plan(priors, gebieden, chunk_size=chunk_size)
    parts = []
    for k, _, size in chunk_bounds(draws, plan.chunk_size):
        inp, _ = sample_chunk(plan, seed, k, size)
        lines = np.empty((size, len(plan.line_names)))
        model_loop()(inp, lines)
        parts.append(lines)
    lines = np.concatenate(parts, axis=0)
    return {name: np.ascontiguousarray(lines[:, i]) for i, name in enumerate(plan.line_names)}


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def evaluate_inputs(plan: EnginePlan, theta: np.ndarray) -> np.ndarray:
    """Outputs (n_outputs, m) for given values of the sampled inputs ``theta`` (len(plan.names), m).

    Used by the sensitivity analysis: the same compiled model on design matrices instead of random draws.
    """
    theta = np.asarray(theta, dtype=float)
    m = theta.shape[1]
    inp = np.empty((m, len(plan.input_names)))
    inp[:, plan.rows] = theta.T
    inp[:, plan.const_rows] = plan.const_values
    return _model_outputs(plan, inp)


def output_index(plan: EnginePlan, name: str) -> int:
    """Index of an output by name; accepts column names without 'totaal_' (e.g. 'publieke_restopgave')."""
    names = [o.naam for o in plan.outputs]
    for candidate in (name, f"totaal_{name}", f"lijn_{name}", f"doel_{name}"):
        if candidate in names:
            return names.index(candidate)
    raise KeyError(f"unknown output {name!r}; known: {names}")
