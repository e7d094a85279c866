"""Monte Carlo engine: sample every prior, run every deelopgave kernel, summarise.

Streams. The draws are cut into chunks of ``chunk_size`` draws. Chunk ``k`` of a run with seed ``s`` draws
from its own generator ``Generator(SFC64(SeedSequence(s, spawn_key=(k,))))`` -- seeded by the ``k``-th child
that ``SeedSequence(s).spawn`` would give -- so a chunk's numbers depend only on ``(seed, k, chunk_size)``:
results are bit-identical whether chunks run on 1 or 2 threads, in one task or split over many tasks (Dask).
The chunk size is part of the stream's definition and is recorded in the manifest. Within a chunk the
standard normals are drawn draw by draw (all parameters of draw 1, then draw 2, ...), so a shorter last chunk
is a prefix of a full one. The engine draws that generator's numbers with an inline SFC64 and ziggurat
(``model.blocks.normals_block``, bit for bit), started from :func:`chunk_state`.

Per chunk, in one GIL-free numba function (``model.chunk.run_chunk``, compiled with the model by
``model.compiled``), block by block of ``model.blocks.BLOCK`` draws: standard normals -> Gaussian copula
(declared correlations) -> each marginal's transform (``model.distributions.z_to_x``) -> the deelopgave kernels
(the same ones report mode runs) -> the outputs (lines and their sums by deelopgave, goal, column, payer,
region) -> running sums for the moments and fixed-bin histograms. Outputs that are a positive multiple of an
earlier one are not computed per draw (``_multiples``): their moments, histograms and draws follow from their
source's. Chunk summaries are merged in chunk order, so the merge is deterministic too. Runs small enough keep
every draw (exact quantiles); larger runs keep only the summaries, so memory stays bounded at any number of
draws.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from model.data import REGIOS, Gebieden, load_gebieden
from model.dependence import CopulaPlan, build_copula, packed
from model.compiled import evaluate_theta, input_order, line_order, run_chunk
from model.evaluate import check_inputs, data_inputs
from model.priors import PriorSet, fit_entry, load_priors
from model.registry import BETALERS, DEELOPGAVEN, DOELEN, KOLOMMEN, cost_lines

DEFAULT_CHUNK = 1 << 15
N_BINS = 1 << 11
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
    tables: np.ndarray                     # distinct lookup tables of the marginals, one per row ...
    table_row: np.ndarray                  # ... and each sampled entry's row in them
    copula: CopulaPlan
    outputs: tuple[Output, ...]
    weights: np.ndarray                    # (n_outputs, n_lines + n_outputs): lines and earlier outputs
    line_names: tuple[str, ...]            # every line of the model loop, in its order
    input_names: tuple[str, ...]           # rows of the model loop's input matrix
    rows: np.ndarray                       # input row of each sampled entry
    const_rows: np.ndarray                 # input rows of the constants ...
    const_values: np.ndarray               # ... and their values
    copula_packed: tuple                   # model.dependence.packed(copula)
    out_ptr: np.ndarray                    # the computed outputs as CSR over [lines, computed outputs]
    out_idx: np.ndarray
    out_w: np.ndarray
    computed: np.ndarray                   # outputs the chunk loop computes (the others are multiples)
    source: np.ndarray                     # per output: its position in `computed` ...
    factor: np.ndarray                     # ... and the factor: output = factor * that computed output
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
    _check_count("chunk_size", chunk_size)
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
    tables, table_row = _tables(marginals)
    declared = _restrict_correlations(priors.correlations, set(sampled))
    copula = build_copula(tuple(sampled), declared)
    outputs, weights, line_names = _outputs(gebieden)
    input_names = input_order()
    check_inputs({**constants, **{n: 0.0 for n in sampled}, **{n: 0.0 for n in post_names}}, priors.directory)
    row = {name: i for i, name in enumerate(input_names)}
    const_names = [name for name in constants if name in row]
    computed, source, factor, csr = _multiples(weights, len(line_names))
    if posterior is not None:
        post_draws = np.ascontiguousarray(posterior[1], dtype=float)
        post_rows = np.array([row[nm] for nm in posterior[0]], dtype=np.int64)
    else:
        post_draws, post_rows = np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    return EnginePlan(priors=priors, gebieden=gebieden, names=tuple(sampled), constants=constants,
                      codes=np.array([m.code for m in marginals], dtype=np.int64),
                      vectors=np.vstack([m.vector for m in marginals]) if n else np.zeros((0, 8)),
                      tables=tables, table_row=table_row, copula=copula, outputs=outputs, weights=weights,
                      line_names=line_names,
                      input_names=input_names, rows=np.array([row[nm] for nm in sampled], dtype=np.int64),
                      const_rows=np.array([row[nm] for nm in const_names], dtype=np.int64),
                      const_values=np.array([constants[nm] for nm in const_names], dtype=float),
                      copula_packed=packed(copula), out_ptr=csr[0], out_idx=csr[1], out_w=csr[2],
                      computed=computed, source=source, factor=factor,
                      post_draws=post_draws, post_rows=post_rows,
                      chunk_size=int(chunk_size), posterior=posterior, overrides=overrides)


def _tables(marginals) -> tuple[np.ndarray, np.ndarray]:
    """The marginals' distinct lookup tables (rows, zero-padded) and each marginal's row: equal tables are
    stored once (all uniforms share the Phi table), so the engine's working set stays small."""
    rows: dict[bytes, int] = {}
    distinct, table_row = [], []
    for m in marginals:
        key = np.asarray(m.table, dtype=float).tobytes()
        if key not in rows:
            rows[key] = len(distinct)
            distinct.append(np.asarray(m.table, dtype=float))
        table_row.append(rows[key])
    tables = np.zeros((max(len(distinct), 1), max([d.size for d in distinct] + [1])))
    for i, d in enumerate(distinct):
        tables[i, :d.size] = d
    return tables, np.array(table_row, dtype=np.int64)


def _multiples(weights: np.ndarray, n_lines: int, rtol: float = 1e-12):
    """Which outputs are a positive multiple of an earlier one (the same sum, like a deelopgave with one line,
    or a region's share of a column that has one allocation key): those need no work per draw. Their
    statistics and histograms follow exactly from the source's (scaled), their draws by multiplication.

    Returns ``computed`` (output indices), ``source`` and ``factor`` per output (output o = factor[o] * computed
    output ``source[o]``), and the CSR (ptr, idx, w) of the computed outputs over [lines, computed outputs]."""
    n_out = weights.shape[0]
    lines_w, outs_w = weights[:, :n_lines], weights[:, n_lines:]
    eff = np.zeros((n_out, n_lines))  # every output as weights on the lines alone
    for o in range(n_out):
        eff[o] = lines_w[o] + outs_w[o] @ eff
    computed: list[int] = []
    source = np.zeros(n_out, dtype=np.int64)
    factor = np.ones(n_out)
    for o in range(n_out):
        for pos, p in enumerate(computed):
            nz = eff[p] != 0
            if np.array_equal(nz, eff[o] != 0) and nz.any():
                c = eff[o][nz] / eff[p][nz]
                if c[0] > 0 and np.allclose(c, c[0], rtol=rtol, atol=0):
                    source[o], factor[o] = pos, c[0]
                    break
        else:
            source[o], factor[o] = len(computed), 1.0
            computed.append(o)
    # computed outputs over [lines, computed outputs]: a reference to an output becomes one to its source
    rows = []
    for o in computed:
        w = np.zeros(n_lines + len(computed))
        w[:n_lines] = lines_w[o]
        for q in np.flatnonzero(outs_w[o]):
            w[n_lines + source[q]] += outs_w[o, q] * factor[q]
        rows.append(w)
    ptr = np.concatenate([[0], np.cumsum([np.count_nonzero(w) for w in rows])]).astype(np.int64)
    idx = np.concatenate([np.flatnonzero(w) for w in rows]).astype(np.int64)
    wts = np.concatenate([w[w != 0] for w in rows]).astype(float)
    return np.array(computed, dtype=np.int64), source, factor, (ptr, idx, wts)


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


# ------------------------------------------------------------------------------------------ chunks
_NONE_F = np.zeros((0, 0))
_NONE_I = np.zeros((0, 0), dtype=np.int32)
_NONE_1 = np.zeros(0)


def chunk_generator(seed: int, k: int) -> np.random.Generator:
    """The generator of chunk ``k``: numpy's SFC64 seeded by the ``k``-th child of ``SeedSequence(seed)``.

    This defines the chunk's stream: the engine draws ``standard_normal()`` and ``random()`` of this generator,
    bit for bit, with an inline copy of SFC64 and numpy's ziggurat (``model.blocks.normals_block``) started
    from :func:`chunk_state`. SFC64 (Doty-Humphrey's Small Fast Chaotic generator, in numpy) passes PractRand
    and BigCrush."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(k,))))


def chunk_state(seed: int, k: int) -> np.ndarray:
    """The initial SFC64 state (4,) uint64 of chunk ``k``'s generator (:func:`chunk_generator`)."""
    return np.array(chunk_generator(seed, k).bit_generator.state["state"]["state"], dtype=np.uint64)


def _run_chunk(plan: EnginePlan, seed: int, k: int, m: int, *, keep: bool = False, lines: bool = False,
               hist=None, acc: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
    """Chunk ``k`` (``m`` draws) through :func:`model.chunk.run_chunk`: its statistics, and the kept arrays
    (outputs (n_outputs, m), sampled inputs (n_sampled, m), lines (n_lines, m); ``None`` unless asked).

    The chunk loop computes the plan's ``computed`` outputs; the others are their multiples (``_multiples``).
    With ``hist`` (ranges of all outputs), ``acc`` = (counts, below, above) of the computed outputs accumulates
    the histograms."""
    nc = plan.computed.size
    mean, m2 = np.empty(nc), np.empty(nc)
    keep_y = np.empty((nc, m)) if keep else _NONE_F
    keep_x = np.empty((len(plan.names), m)) if keep else _NONE_F
    keep_lines = np.empty((len(plan.line_names), m)) if lines else _NONE_F
    if hist is not None:
        lo, inv_width = hist[0][plan.computed], _inverse(hist[1][plan.computed])
        counts, below, above = acc
    else:
        lo = inv_width = below = above = _NONE_1
        counts = _NONE_I
    run_chunk()(chunk_state(seed, k), m, plan.codes, plan.vectors, plan.tables, plan.table_row, plan.rows,
                plan.const_rows, plan.const_values, *plan.copula_packed, plan.post_draws, plan.post_rows,
                plan.out_ptr, plan.out_idx, plan.out_w, lo, inv_width, counts, below, above, mean, m2, keep_y,
                keep_x, keep_lines)
    f, src = plan.factor, plan.source
    st = ChunkStats(n=m, mean=f * mean[src], m2=f * f * m2[src])
    y = f[:, None] * keep_y[src] if keep else None
    return st, y, keep_x if keep else None, keep_lines if lines else None


def _inverse(width: np.ndarray) -> np.ndarray:
    return np.where(width > 0, 1.0 / np.where(width > 0, width, 1.0), 0.0)


def sample_chunk(plan: EnginePlan, seed: int, k: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` draws of chunk ``k``: (sampled inputs (len(plan.names), m), outputs (n_outputs, m))."""
    _, y, x, _ = _run_chunk(plan, seed, k, m, keep=True)
    return x, y


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

    def __init__(self, plan: EnginePlan):
        self.plan = plan
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

    def accumulators(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This thread's (chunk counts (int32), below, above) for :func:`model.chunk.run_chunk`."""
        return self._thread()[:3]

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


def pilot_ranges(plan: EnginePlan, seed: int, n: int = 1 << 14) -> tuple[np.ndarray, np.ndarray]:
    """Histogram ranges from a pilot stream of the same seed (spawn key PILOT_KEY): [lo, lo + N_BINS*width).

    The bins cover the pilot's central 99.8% (P0.1-P99.9, range r) widened by r/4 below and r/2 above (the
    costs are skewed to the right): every reported quantile, the 90% HDI and their MC errors fall well inside,
    at about 1/600 of the P5-P95 width per bin (for a normal). Values beyond are counted below/above the bins with their
    extremes. An output that is a multiple of another gets that output's range, scaled: the same bins."""
    _, y = sample_chunk(plan, seed, PILOT_KEY, n)
    y = y[plan.computed]
    q_lo, q_hi = np.quantile(y, [0.001, 0.999], axis=1)
    r = q_hi - q_lo
    lo = q_lo - 0.25 * r
    hi = q_hi + 0.5 * r
    width = (hi - lo) / N_BINS
    return plan.factor * lo[plan.source], plan.factor * width[plan.source]


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


def _check_count(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")


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
    histograms = _Histograms(plan) if hist is not None else None

    def work(spec):
        k, start, size = spec
        acc = histograms.accumulators() if histograms is not None else None
        st, y, x, _ = _run_chunk(plan, seed, k, size, keep=keep, hist=hist, acc=acc)
        if histograms is not None:
            histograms.flush()
        kept = (y, {name: x[i] for i, name in enumerate(plan.names)}) if keep else None
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
    if histograms is not None and parts and histograms.all:
        histograms.attach(parts[0][0])
    return parts


def run(priors: PriorSet | None = None, gebieden: Gebieden | None = None, *, draws: int = 200_000,
        seed: int = 20250101, threads: int = 1, chunk_size: int = DEFAULT_CHUNK, keep: bool | None = None,
        plan: EnginePlan | None = None, progress: Callable[[int], None] | None = None,
        posterior=None, overrides: Mapping[str, float] | None = None) -> RunResult:
    """A Monte Carlo run. Draws are kept when ``keep`` (default: draws <= 2e6); summaries always."""
    _check_count("draws", draws)
    _check_count("threads", threads)
    _check_count("seed", seed, minimum=0)   # numpy's SeedSequence takes no negative seed
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
    parts = [_run_chunk(plan, seed, k, size, lines=True)[3] for k, _, size in chunk_bounds(draws, plan.chunk_size)]
    lines = np.concatenate(parts, axis=1)
    return {name: np.ascontiguousarray(lines[i]) for i, name in enumerate(plan.line_names)}


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def evaluate_inputs(plan: EnginePlan, theta: np.ndarray) -> np.ndarray:
    """Outputs (n_outputs, m) for given values of the sampled inputs ``theta`` (len(plan.names), m).

    Used by the sensitivity analysis: the same compiled model and output sums as the engine, on design matrices
    instead of random draws.
    """
    theta = np.ascontiguousarray(theta, dtype=float)
    y = np.empty((plan.computed.size, theta.shape[1]))  # the computed outputs; the others are their multiples
    evaluate_theta()(theta, plan.rows, plan.const_rows, plan.const_values, plan.out_ptr, plan.out_idx, plan.out_w, y)
    return plan.factor[:, None] * y[plan.source]


def output_index(plan: EnginePlan, name: str) -> int:
    """Index of an output by name; accepts column names without 'totaal_' (e.g. 'publieke_restopgave')."""
    names = [o.naam for o in plan.outputs]
    for candidate in (name, f"totaal_{name}", f"lijn_{name}", f"doel_{name}"):
        if candidate in names:
            return names.index(candidate)
    raise KeyError(f"unknown output {name!r}; known: {names}")
