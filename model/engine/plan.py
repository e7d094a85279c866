"""The engine's plan of a run: which entries are sampled, their marginals and copula, which outputs are summed.

:func:`make_plan` fits every marginal, builds the copula of the sampled entries and fixes the outputs (weighted
sums of the kernels' lines: deelopgaven, goals, columns, payers, cost types, the parts the regional allocation
divides). What the compiled entry
points read is one :class:`ModelArrays` (a NamedTuple of arrays, passed by name into numba), built once per plan.

Outputs that are a positive multiple of an earlier one (a deelopgave with one line) are not computed per draw (:func:`_multiples`): their moments, histograms and draws
follow exactly from their source's (``computed``, ``source``, ``factor``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, NamedTuple

import numpy as np

from model.deelopgaven.registry import BETALERS, DEELOPGAVEN, DOELEN, KOLOMMEN, check_inputs, cost_lines, line_names
from model.deelopgaven.registry import required_inputs
from model.engine.stream import DEFAULT_CHUNK
from model.errors import UsageError
from model.spec.data import Gebieden, load_gebieden
from model.spec.dependence import CopulaPlan, build_copula
from model.spec.families import VECTOR_LEN
from model.spec.priors import PriorSet, check_joint_draws, fit_entry, load_priors


class ModelArrays(NamedTuple):
    """Everything the compiled entry points read about a plan (``model.engine.template``), by name.

    Marginals: ``codes`` (family code per sampled entry), ``vectors`` (n_sampled, 8) parameters, ``tables``
    (distinct lookup tables, one per row) and ``table_row`` (each entry's row in them). Model inputs: ``rows``
    (input row of each sampled entry), ``const_rows``/``const_values`` (the constants). Copula:
    ``block_ptr``/``block_idx`` (the entries of each block) and ``chol_ptr``/``chol_flat`` (its Cholesky factor).
    Posterior: ``post`` (P, n_post) joint rows and ``post_rows`` (their input rows); P = 0 without a posterior.
    Outputs: the computed outputs as CSR ``out_ptr``/``out_idx``/``out_w`` over [lines, computed outputs]."""

    codes: np.ndarray
    vectors: np.ndarray
    tables: np.ndarray
    table_row: np.ndarray
    rows: np.ndarray
    const_rows: np.ndarray
    const_values: np.ndarray
    block_ptr: np.ndarray
    block_idx: np.ndarray
    chol_ptr: np.ndarray
    chol_flat: np.ndarray
    post: np.ndarray
    post_rows: np.ndarray
    out_ptr: np.ndarray
    out_idx: np.ndarray
    out_w: np.ndarray


@dataclass(frozen=True)
class Output:
    """One summarised output: a weighted sum of cost lines."""

    naam: str
    soort: str            # lijn / deelopgave / doel / kolom / betaler / kostensoort / totaal / deel
    long_name: str
    pm: bool = False


@dataclass(frozen=True)
class EnginePlan:
    priors: PriorSet
    gebieden: Gebieden
    names: tuple[str, ...]                 # sampled prior entries, in variate order
    marginals: tuple                       # their fitted marginals (model.spec.fitting.Marginal)
    constants: Mapping[str, float]         # fixed entries, overrides and data quantities
    copula: CopulaPlan
    outputs: tuple[Output, ...]
    line_names: tuple[str, ...]            # every line of the model, in its order
    input_names: tuple[str, ...]           # the model's inputs, in their row order
    computed: np.ndarray                   # outputs the chunk loop computes (the others are multiples) ...
    source: np.ndarray                     # ... per output: its position in `computed` ...
    factor: np.ndarray                     # ... and the factor: output = factor * that computed output
    arrays: ModelArrays
    chunk_size: int = DEFAULT_CHUNK
    posterior: tuple[tuple[str, ...], np.ndarray] | None = None  # joint draws, resampled row-wise
    overrides: Mapping[str, float] = field(default_factory=dict)
    variant: str | None = None             # the policy variant whose choices the plan sets (variant_plans)

    def output_index(self, name: str) -> int:
        """Index of an output by name; accepts column names without 'totaal_' (e.g. 'publieke_restopgave'), line
        names without 'lijn_' and goals without 'doel_'."""
        names = [o.naam for o in self.outputs]
        for candidate in (name, f"totaal_{name}", f"lijn_{name}", f"doel_{name}"):
            if candidate in names:
                return names.index(candidate)
        raise KeyError(f"unknown output {name!r}; known: {names}")


# ------------------------------------------------------------------------------------------- outputs
def output_definitions() -> tuple[tuple[Output, ...], np.ndarray, tuple[str, ...]]:
    """The outputs, their weights and the model's lines: ``weights`` row ``o`` has ``n_lines + n_outputs``
    columns, the weights of output ``o`` on every line of the model and on earlier outputs. The regional results
    are not outputs of the engine: the allocation (``model.analysis.regionaal``) divides the deelopgaven (and
    their parts, ``deel_<line>``) over the gemeenten after the run."""
    cl = cost_lines()
    names = line_names()
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
    cost_index = [names.index(line.naam) for _, line in cl]
    first = np.zeros((len(outs), len(names)))
    first[:, cost_index] = np.vstack(rows)
    # the parts of a deelopgave that the regional allocation divides on their own (model.spec.verdeling)
    parts = [(d, line) for d in DEELOPGAVEN for line in d.lines if line.deel]
    for d, line in parts:
        outs.append(Output(f"deel_{line.naam}", "deel", line.long_name, pm=d.pm))
    part_rows = np.zeros((len(parts), len(names)))
    for i, (_, line) in enumerate(parts):
        part_rows[i, names.index(line.naam)] = 1.0
    n_out = len(outs)
    weights = np.zeros((n_out, len(names) + n_out))
    weights[:, :len(names)] = np.vstack([first, part_rows])
    return tuple(outs), weights, names


def effective_weights(weights: np.ndarray, n_lines: int) -> np.ndarray:
    """Every output as weights on the lines alone: (n_outputs, n_lines)."""
    lines_w, outs_w = weights[:, :n_lines], weights[:, n_lines:]
    eff = np.zeros((weights.shape[0], n_lines))
    for o in range(weights.shape[0]):
        eff[o] = lines_w[o] + outs_w[o] @ eff
    return eff


def _multiples(weights: np.ndarray, n_lines: int, rtol: float = 1e-12):
    """Which outputs are a positive multiple of an earlier one (the same sum, like a deelopgave with one line):
    those need no work per draw. Their
    statistics and histograms follow exactly from the source's (scaled), their draws by multiplication.

    Returns ``computed`` (output indices), ``source`` and ``factor`` per output (output o = factor[o] * computed
    output ``source[o]``), and the CSR (ptr, idx, w) of the computed outputs over [lines, computed outputs]."""
    n_out = weights.shape[0]
    lines_w, outs_w = weights[:, :n_lines], weights[:, n_lines:]
    eff = effective_weights(weights, n_lines)
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


# ------------------------------------------------------------------------------------------ marginals
def marginal_arrays(marginals) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(codes, vectors, tables, table_row)`` of a list of fitted marginals: the marginals' distinct lookup
    tables are stored once (rows, zero-padded; all uniforms share the Phi table), so the engine's working set stays
    small."""
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
    codes = np.array([m.code for m in marginals], dtype=np.int64)
    vectors = np.vstack([m.vector for m in marginals]) if marginals else np.zeros((0, VECTOR_LEN))
    return codes, np.ascontiguousarray(vectors), tables, np.array(table_row, dtype=np.int64)


def transform_arrays(marginals, copula: CopulaPlan | None = None) -> ModelArrays:
    """:class:`ModelArrays` for the transform of ``marginals`` (and their ``copula``) alone, without model inputs,
    with the array types of a plan's, so the compiled transform is the one a run uses."""
    codes, vectors, tables, table_row = marginal_arrays(list(marginals))
    empty, one = np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
    blocks = copula_arrays(copula) if copula is not None else (one, empty, one, np.zeros(0))
    return ModelArrays(codes, vectors, tables, table_row, np.arange(codes.size, dtype=np.int64), empty, np.zeros(0),
                       *blocks, np.zeros((0, 0)), empty, one, empty, np.zeros(0))


def copula_arrays(copula: CopulaPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The blocks and Cholesky factors as flat arrays (``block_ptr, block_idx, chol_ptr, chol_flat``)."""
    block_ptr = np.zeros(len(copula.blocks) + 1, dtype=np.int64)
    chol_ptr = np.zeros(len(copula.blocks) + 1, dtype=np.int64)
    for b, idx in enumerate(copula.blocks):
        block_ptr[b + 1] = block_ptr[b] + idx.size
        chol_ptr[b + 1] = chol_ptr[b] + idx.size * idx.size
    block_idx = (np.concatenate(copula.blocks).astype(np.int64) if copula.blocks else np.zeros(0, dtype=np.int64))
    chol_flat = (np.concatenate([np.ascontiguousarray(c).ravel() for c in copula.chol])
                 if copula.chol else np.zeros(0))
    return block_ptr, block_idx, chol_ptr, chol_flat


# ---------------------------------------------------------------------------------------------- plan
def check_count(name: str, value, minimum: int = 1, below: int | None = None) -> None:
    """Refuse a count (draws, threads, chunk size, seed) that is not an integer >= ``minimum`` (and < ``below``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise UsageError(f"{name} must be {kind} integer, got {value!r}")
    if below is not None and value >= below:
        raise UsageError(f"{name} must be below {below}, got {value!r}")


def make_plan(priors: PriorSet | None = None, gebieden: Gebieden | None = None, *,
              chunk_size: int = DEFAULT_CHUNK, posterior=None,
              overrides: Mapping[str, float] | None = None) -> EnginePlan:
    """Fit every marginal, build the copula, and fix the outputs. ``overrides`` fixes entries at values;
    ``posterior`` = ``(names, draws (P, n))`` gives those entries as joint rows, resampled per draw (optionally a
    third item, the file they come from, which an error names); the rows must be finite and inside each entry's
    hard bounds."""
    check_count("chunk_size", chunk_size)
    priors = priors if priors is not None else load_priors()
    gebieden = gebieden if gebieden is not None else load_gebieden()
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(priors.entries))
    if unknown:
        raise KeyError(f"overrides name no prior entry: {unknown}")
    post_names = tuple(posterior[0]) if posterior is not None else ()
    if posterior is not None:   # (names, draws) or (names, draws, where they come from)
        where = str(posterior[2]) if len(posterior) > 2 else "posterior"
        chosen = [n for n in post_names if n in priors.entries and priors.entries[n].choice]
        if chosen:
            raise UsageError(f"{where}: holds draws of the policy choice {chosen[0]}, which a variant sets, not a "
                             "posterior: calibrate again with this version")
        check_joint_draws(post_names, posterior[1], priors, where)
    sampled, marginals, constants = [], [], dict(gebieden.quantities())
    for name, entry in priors.entries.items():
        if name in overrides:
            constants[name] = float(overrides[name])
        elif entry.fixed or name in post_names:
            constants[name] = entry.point
        else:
            sampled.append(name)
            marginals.append(fit_entry(entry)[0])
    copula = build_copula(tuple(sampled), priors.correlations)
    outputs, weights, lines = output_definitions()
    input_names = required_inputs()
    check_inputs({**constants, **{n: 0.0 for n in sampled}}, priors.directory)
    row = {name: i for i, name in enumerate(input_names)}
    const_names = [name for name in constants if name in row]
    computed, source, factor, (out_ptr, out_idx, out_w) = _multiples(weights, len(lines))
    if posterior is not None:
        post = np.ascontiguousarray(posterior[1], dtype=float)
        post_rows = np.array([row[nm] for nm in post_names], dtype=np.int64)
    else:
        post, post_rows = np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    codes, vectors, tables, table_row = marginal_arrays(marginals)
    arrays = ModelArrays(codes, vectors, tables, table_row,
                         np.array([row[nm] for nm in sampled], dtype=np.int64),
                         np.array([row[nm] for nm in const_names], dtype=np.int64),
                         np.array([constants[nm] for nm in const_names], dtype=float),
                         *copula_arrays(copula), post, post_rows, out_ptr, out_idx, out_w)
    return EnginePlan(priors=priors, gebieden=gebieden, names=tuple(sampled), marginals=tuple(marginals),
                      constants=constants, copula=copula, outputs=outputs, line_names=lines, input_names=input_names,
                      computed=computed, source=source, factor=factor, arrays=arrays, chunk_size=int(chunk_size),
                      posterior=posterior, overrides=overrides)


def scenario_plan(scenario, chunk_size: int = DEFAULT_CHUNK, posterior=None, variant: str | None = None
                  ) -> EnginePlan:
    """The plan of a scenario (``model.spec.scenarios.Scenario``): its priors, membership and fixed values, in a
    policy variant (default: the variants file's ``standaard``)."""
    return variant_plans(scenario.priors, scenario.gebieden(), (variant,), chunk_size=chunk_size,
                         overrides=dict(scenario.overrides), posterior=posterior)[0]


def variant_plans(priors: PriorSet, gebieden: Gebieden, variants, *, chunk_size: int = DEFAULT_CHUNK,
                  posterior=None, overrides: Mapping[str, float] | None = None) -> list[EnginePlan]:
    """One plan per policy variant (``model.spec.varianten``; None: the ``standaard``): the choice entries at the
    variant's values on top of ``overrides``. The choice entries are never sampled, so every plan samples the same
    entries in the same order: run with one seed, the variants share every draw of every uncertain entry (common
    random numbers) and differ by the choice alone. A variant setting an entry ``overrides`` fixes too is refused."""
    from model.spec.varianten import load_varianten, variant_values

    varianten = load_varianten()
    overrides = dict(overrides or {})
    plans = []
    for v in variants:
        values = variant_values(priors, v if v is not None else varianten.standaard, varianten)
        both = sorted(set(values) & set(overrides))
        if both:
            raise UsageError(f"{both[0]}: a policy choice, set by the variant, cannot also be fixed (use --variant)")
        plan = make_plan(priors, gebieden, chunk_size=chunk_size, posterior=posterior, overrides={**overrides, **values})
        plans.append(dataclasses.replace(plan, variant=v if v is not None else varianten.standaard))
    if any(p.names != plans[0].names for p in plans):    # cannot happen: choices are never sampled
        raise AssertionError("variants sample different entries: no common random numbers")
    return plans
