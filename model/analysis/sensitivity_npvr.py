"""Sensitivity analysis of the NPVR model: tornado, spider and Sobol' indices for review.

This module connects the generic analyses of :mod:`model.analysis.sensitivity` to the NPVR engine:

* :func:`input_spec` turns an :class:`~model.engine.plan.EnginePlan` into an
  :class:`~model.analysis.sensitivity.InputSpec`: one input per sampled prior entry (``plan.names``), its
  quantile function by the engine's own transform, the prior's point value (the value report mode uses), its
  kind (hoeveelheid / kental / norm), its deelopgave (the one whose kernel consumes it, or ``gedeeld`` when several
  do: :func:`model.deelopgaven.registry.input_deelopgave`) and the copula's normal-score correlation (``plan.copula.normal_corr``).
* :func:`model_function` is ``f(theta) -> y`` for one output, evaluated with
  :func:`model.engine.run.evaluate_inputs` -- the same kernels as report mode and the Monte Carlo engine.
* :func:`tornado_npvr`, :func:`spider_npvr` and :func:`sobol_npvr` run the analyses for one output
  (``model.jobs.sensitivity`` writes them into a run folder, ``model.output.plots`` draws them);
* :func:`threshold_crossings` and :func:`exceedance_drivers` answer "what changes a conclusion":
  which inputs, one at a time or jointly, can move an output past a threshold (e.g. the publieke
  restopgave above €4 bn).

Outputs are named as :meth:`model.engine.plan.EnginePlan.output_index` accepts them: a column
(``publieke_restopgave``, ``exploitatielasten``, ``investeringsopgave``), a deelopgave
(``capaciteit``), a goal (``doel_voorzieningen``), ``totaal_pm`` or a PM line (``beheer_onderhoud``).
All results are in euros; the plots show billions (mld. €).

The report's printed figures (``model.spec.published.variant_figure``) are drawn in the plots as a marker
for presentation only (for a band such as the investeringsopgave €6,3 - €11,8 mld. both ends are
marked); they are never model inputs.

Dependence. The classic per-input Sobol' indices assume independent inputs and are computed with every
input sampled independently from its marginal. The declared correlations (``priors/correlaties.yaml``)
are honoured by the grouped indices: each correlated block of the copula is one factor, its members
sampled jointly; the deelopgave groups are sampled jointly too when every block lies inside one of them. The shipped
declarations have blocks across deelopgaven (the common factors of vulnerable areas, NPLV kentallen, Rebel's
restopgave and construction costs), so the deelopgave groups are sampled independently and the note says so: the
correlated blocks are then the joint view of the shared drivers. The kind
groups are not (the ``capaciteit_vastgoed`` block mixes norms and a hoeveelheid), so they are sampled
independently. The result's ``dependence_note`` says this in words.
"""

from __future__ import annotations

import dataclasses
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy.special import ndtri

from model.analysis.sensitivity import InputSpec, SobolGroups, SobolResult, TornadoResult, sobol, spider, tornado
from model.deelopgaven.registry import DEELOPGAVEN, input_deelopgave
from model.engine.plan import EnginePlan, Output, variant_plans
from model.engine.run import evaluate_inputs, transform
from model.spec.priors import load_priors
from model.spec.published import variant_figure

__all__ = [
    "TornadoNpvr",
    "SpiderNpvr",
    "SobolNpvr",
    "input_spec",
    "model_function",
    "resolve_output",
    "report_figures",
    "tornado_npvr",
    "spider_npvr",
    "sobol_npvr",
    "threshold_crossings",
    "exceedance_drivers",
]

SPIDER_QUANTILES = np.linspace(0.05, 0.95, 19)
DEFAULT_PIECE = 1 << 15  # columns per evaluate_inputs call: keeps the kernels' line arrays in cache


# ---------------------------------------------------------------------------------------------
# Inputs, outputs and the model function
# ---------------------------------------------------------------------------------------------


def input_spec(plan: EnginePlan) -> InputSpec:
    """The sampled prior entries of ``plan`` as an :class:`InputSpec`.

    ``ppfs`` are the entries' quantile functions by the engine's own transform (``u -> z = Phi^-1(u) -> x``,
    :func:`model.engine.run.transform`; each is called once per design on a whole column), ``point`` the priors'
    point values, ``kinds`` the entries' kind, ``deelopgave`` the deelopgave whose kernel consumes the entry
    (``gedeeld`` when several do; :func:`~model.deelopgaven.registry.input_deelopgave`), ``corr`` the Gaussian copula's normal-score correlation.
    """
    entries = [plan.priors[name] for name in plan.names]
    owners = input_deelopgave()
    corr = np.asarray(plan.copula.normal_corr, dtype=np.float64)

    def ppf(marginal):
        return lambda u: transform(ndtri(np.asarray(u, dtype=float)).reshape(1, -1), [marginal])[0]

    return InputSpec(
        names=list(plan.names),
        ppfs=[ppf(m) for m in plan.marginals],
        point=np.array([e.point for e in entries], dtype=np.float64),
        kinds=[e.kind for e in entries],
        deelopgave=[owners[name] for name in plan.names],
        corr=corr if corr.shape[0] else None,
    )


def resolve_output(plan: EnginePlan, output: str) -> Output:
    """The :class:`~model.engine.plan.Output` for a name :meth:`EnginePlan.output_index` accepts."""
    return plan.outputs[plan.output_index(output)]


def _short(out: Output) -> str:
    """Name used in folder names and titles: column totals without their ``totaal_`` prefix."""
    return out.naam.removeprefix("totaal_") if out.soort == "kolom" else out.naam


def report_figures(output: str | Output, variant: str | None = None) -> tuple[float, ...]:
    """The report's printed figure for an output in a policy variant (default the ``standaard`` one), in euros:
    ``(x,)``, or ``()`` if the report prints none for it (``model.spec.published.variant_figure``: a bandwidth's low
    end in ``laag``, its high end in ``hoog``). Presentation only, never a model input."""
    from model.spec.varianten import load_varianten

    naam = output.naam if isinstance(output, Output) else output
    variant = variant if variant is not None else load_varianten().standaard
    for candidate in (naam, f"totaal_{naam}"):
        x = variant_figure(candidate, variant)
        if x is not None:
            return (x,)
    return ()


def model_function(plan: EnginePlan, output: str, *, threads: int = 1,
                   piece: int = DEFAULT_PIECE) -> Callable[[np.ndarray], np.ndarray]:
    """``f(theta) -> y``: the output ``output`` for a design matrix ``theta`` (len(plan.names), m).

    Evaluates :func:`~model.engine.evaluate_inputs` on pieces of ``piece`` columns (faster than one huge
    call: the kernels' intermediate arrays stay in cache), on ``threads`` threads (the kernels release the
    GIL). The result does not depend on ``threads`` or ``piece``.
    """
    o = plan.output_index(output)
    n = len(plan.names)
    piece = max(1, int(piece))

    def f(theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.ndim != 2 or theta.shape[0] != n:
            raise ValueError(f"theta must have shape ({n}, m), got {theta.shape}")
        m = theta.shape[1]
        y = np.empty(m)
        starts = range(0, m, piece)

        def work(s: int) -> None:
            y[s:s + piece] = evaluate_inputs(plan, theta[:, s:s + piece])[o]

        if threads > 1 and m > piece:
            work(0)  # first piece on the calling thread: any lazy compilation happens once, unthreaded
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(work, starts[1:]))
        else:
            for s in starts:
                work(s)
        return y

    return f


def _default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


# ---------------------------------------------------------------------------------------------
# Analyses
# ---------------------------------------------------------------------------------------------


#: The output ``tornado`` and ``sobol`` analyse when none is named: the report's headline column.
DEFAULT_OUTPUT = "publieke_restopgave"


@dataclass
class TornadoNpvr:
    """A tornado for one NPVR output (values in euros). ``result.rows`` are sorted by swing."""

    output: str                    # canonical output name (plan.outputs[i].naam)
    long_name: str
    result: TornadoResult
    report: tuple[float, ...]      # the report's printed figure(s), presentation only
    point: dict[str, float]        # each input's point value

    @property
    def base(self) -> float:
        return self.result.base

    @property
    def rows(self) -> list[dict]:
        """The inputs that move the output (a non-zero swing), largest swing first: an input the output does not
        depend on has no bar."""
        return [r for r in self.result.rows if r["swing"] != 0]

    @property
    def n_without_effect(self) -> int:
        """How many inputs leave the output unchanged at both quantiles (left out of :attr:`rows`)."""
        return len(self.result.rows) - len(self.rows)

    def json_rows(self) -> list[dict]:
        """``[{input, low, high, swing}, ...]`` of the inputs with a non-zero swing, largest first, in euros."""
        return [{"input": r["input"], "low": r["low"], "high": r["high"], "swing": r["swing"]}
                for r in self.rows]


@dataclass
class SpiderNpvr:
    """Spider curves for one output: ``curves[input]`` is the output at ``quantiles`` of that input."""

    output: str
    long_name: str
    quantiles: np.ndarray
    curves: dict[str, np.ndarray]
    base: float
    report: tuple[float, ...]


@dataclass
class SobolNpvr:
    """Sobol' indices for one output.

    ``result``: the generic :class:`~model.analysis.sensitivity.SobolResult`: per-input rows (independent
    sampling), ``groups`` by the deelopgave whose kernel consumes each input, ``gedeeld`` for inputs of several
    (sampled jointly when every correlated block lies inside one group) and ``correlated_groups`` (each copula block one factor, sampled jointly; groups
    relabelled with the names of ``priors/correlaties.yaml``). ``by_kind``: grouped by kind (sampled
    independently). ``dependence_note``: what the indices do and do not reflect.
    """

    output: str
    long_name: str
    result: SobolResult
    by_kind: SobolGroups
    dependence_note: str
    n_evaluations: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rows(self) -> list[dict]:
        return self.result.rows

    @property
    def by_deelopgave(self) -> SobolGroups:
        return self.result.groups

    @property
    def correlated_groups(self) -> SobolGroups | None:
        return self.result.correlated_groups

    def json_rows(self) -> list[dict]:
        """``[{input, S1, S1_conf, ST, ST_conf}, ...]`` sorted by ST (largest first)."""
        keys = ("input", "S1", "S1_conf", "ST", "ST_conf")
        return [{k: r[k] for k in keys} for r in self.result.sorted_rows("ST")]


def _plan(plan: EnginePlan | None) -> EnginePlan:
    if plan is not None:
        return plan
    from model.spec.data import load_gebieden

    return variant_plans(load_priors(), load_gebieden(), (None,))[0]


def tornado_npvr(output: str = DEFAULT_OUTPUT, low_q: float = 0.10, high_q: float = 0.90, *,
                 plan: EnginePlan | None = None) -> TornadoNpvr:
    """One-at-a-time swings of ``output``: each input at its ``low_q`` and ``high_q`` quantile, every other
    input at its point value. ``base`` is report mode's point value of the output."""
    plan = _plan(plan)
    out = resolve_output(plan, output)
    spec = input_spec(plan)
    res = tornado(model_function(plan, out.naam), spec, low_q=low_q, high_q=high_q)
    return TornadoNpvr(output=out.naam, long_name=out.long_name, result=res, report=report_figures(out, plan.variant),
                       point=dict(zip(spec.names, map(float, spec.point))))


def spider_npvr(output: str = DEFAULT_OUTPUT, quantiles: Sequence[float] = SPIDER_QUANTILES, *,
                plan: EnginePlan | None = None) -> SpiderNpvr:
    """Output against each input's quantile (others at their point values)."""
    plan = _plan(plan)
    out = resolve_output(plan, output)
    spec = input_spec(plan)
    f = model_function(plan, out.naam)
    q = np.asarray(quantiles, dtype=np.float64)
    curves = spider(f, spec, quantiles=q)
    base = float(f(spec.point[:, None])[0])
    return SpiderNpvr(output=out.naam, long_name=out.long_name, quantiles=q, curves=curves, base=base,
                      report=report_figures(out, plan.variant))


def _block_label(members: list[str], declared: dict[str, set[str]]) -> str:
    """A block's name: the declared groups it is made of (the largest ones, joined by ``+``), a pair ``a ~ b``, or
    its first member and how many more."""
    inside = {g: leden for g, leden in declared.items() if leden <= set(members)}
    largest = [g for g, leden in inside.items() if not any(leden < other for other in inside.values())]
    if largest and set().union(*(inside[g] for g in largest)) == set(members):
        return "groep " + " + ".join(largest)
    if len(members) <= 2:
        return " ~ ".join(members)
    return f"{members[0]} (+{len(members) - 1})"


def _relabel_correlated(groups: SobolGroups | None, plan: EnginePlan) -> SobolGroups | None:
    """Give the correlated blocks readable names (the declared group's name, or ``a ~ b`` for a pair)."""
    if groups is None:
        return None
    decl = plan.priors.correlations
    declared = {g: set(leden) for g, leden in decl.restrict(plan.names).groups.items()} if decl is not None else {}
    rows = []
    for r in groups.rows:
        r = dict(r)
        if len(r["members"]) > 1:
            r["group"] = _block_label(r["members"], declared)
        rows.append(r)
    return SobolGroups(rows=rows, joint_sampling=groups.joint_sampling)


def sobol_cost(plan: EnginePlan, n_base: int, num_resamples: int = 100) -> tuple[float, float]:
    """(bytes, model evaluations) of :func:`sobol_npvr` with base sample ``n_base``, roughly: the Saltelli design
    (2 D scores and the A, B and AB matrices of D inputs), the outputs of every evaluation and the bootstrap
    counts; evaluations ``N (2 D + K + 6)`` with K the groups (deelopgaven, correlated blocks, kinds)."""
    d = len(plan.names)
    k = len(DEELOPGAVEN) + len(plan.copula.blocks) + 3
    evaluations = float(n_base) * (2 * d + k + 6)
    nbytes = 8.0 * n_base * (6 * d + 2 * (d + k + 6) + num_resamples)
    return nbytes, evaluations


def evaluation_rate(plan: EnginePlan, n: int = 4096) -> float:
    """Model evaluations per second on this machine (the compiled model at the inputs' medians, timed)."""
    theta = np.tile(np.array([[m.quantile(0.5)] for m in plan.marginals]), (1, n))
    evaluate_inputs(plan, theta[:, :16])                # the machine code loaded before the timing
    t = time.perf_counter()
    evaluate_inputs(plan, theta)
    return n / max(time.perf_counter() - t, 1e-9)


def sobol_npvr(output: str = DEFAULT_OUTPUT, n_base: int = 2**14, seed: int = 0, *,
               plan: EnginePlan | None = None, num_resamples: int = 100, conf_level: float = 0.95,
               threads: int | None = None) -> SobolNpvr:
    """First-order and total Sobol' indices of ``output`` with bootstrap confidence intervals.

    Per input (independent sampling), grouped by deelopgave (joint sampling), by kind (independent) and
    per correlated block of the copula (joint), with a dependence note. ``N (2 D + K_deelopgave +
    K_correlated + K_kind + 6)`` model evaluations for ``N = n_base`` (two passes of the generic
    :func:`~model.analysis.sensitivity.sobol` on the same Saltelli design; the per-input indices of both are
    identical).
    """
    t0 = time.perf_counter()
    plan = _plan(plan)
    out = resolve_output(plan, output)
    spec = input_spec(plan)
    threads = _default_threads() if threads is None else int(threads)
    f = model_function(plan, out.naam, threads=threads)
    kw = dict(n_base=n_base, seed=seed, num_resamples=num_resamples, conf_level=conf_level)
    main = sobol(f, spec, groups="deelopgave", **kw)
    # Kinds: a second pass without the copula (the kind groups split a correlated block, so they cannot be
    # sampled jointly anyway) -- this skips recomputing the correlated groups.
    kinds = sobol(f, dataclasses.replace(spec, corr=None), groups="kinds", **kw)
    main = dataclasses.replace(main, correlated_groups=_relabel_correlated(main.correlated_groups, plan))
    note = main.dependence_note or "No correlations are declared between the sampled inputs."
    note += (" Grouped by deelopgave: sampled " + ("jointly" if main.groups.joint_sampling else "independently")
             + ". Grouped by kind: sampled independently (the kind groups split correlated blocks), so they "
             "describe the model under independent inputs.")
    timings = {k: main.timings.get(k, 0.0) + kinds.timings.get(k, 0.0)
               for k in set(main.timings) | set(kinds.timings)}
    return SobolNpvr(output=out.naam, long_name=out.long_name, result=main, by_kind=kinds.groups,
                     dependence_note=note, n_evaluations=main.n_evaluations + kinds.n_evaluations,
                     seconds=time.perf_counter() - t0, timings=timings)


# ---------------------------------------------------------------------------------------------
# What changes a conclusion
# ---------------------------------------------------------------------------------------------


def threshold_crossings(output: str, threshold: float, *, plan: EnginePlan | None = None,
                        quantiles: Sequence[float] | None = None) -> list[dict]:
    """Which single input, moved within its prior (all others at their point values), takes ``output``
    across ``threshold``?

    Per input: ``y_min`` / ``y_max`` over the quantile grid (default 0.5% ... 99.5%), and where the output
    crosses the threshold the input's quantile ``q_cross`` and value ``x_cross`` (linear interpolation on
    the grid; the crossing nearest to the median). ``direction`` is ``"up"`` when the output rises with
    the input. Rows are sorted: crossing inputs first, by how little they need to move (``|q_cross -
    0.5|``), then the rest by how close they get.
    """
    plan = _plan(plan)
    out = resolve_output(plan, output)
    spec = input_spec(plan)
    q = np.linspace(0.005, 0.995, 199) if quantiles is None else np.asarray(quantiles, dtype=np.float64)
    f = model_function(plan, out.naam)
    curves = spider(f, spec, quantiles=q)
    base = float(f(spec.point[:, None])[0])
    rows = []
    for i, name in enumerate(spec.names):
        y = curves[name]
        row = {"input": name, "kind": spec.kinds[i], "deelopgave": spec.deelopgave[i],
               "point": float(spec.point[i]), "y_min": float(y.min()), "y_max": float(y.max()),
               "direction": "up" if y[-1] >= y[0] else "down", "crosses": False, "q_cross": None,
               "x_cross": None}
        s = np.sign(y - threshold)
        idx = np.flatnonzero(s[:-1] * s[1:] <= 0)
        idx = idx[(s[idx] != 0) | (s[idx + 1] != 0)]
        if idx.size:
            qs = []
            for k in idx:
                y0, y1 = y[k], y[k + 1]
                w = 0.0 if y1 == y0 else (threshold - y0) / (y1 - y0)
                qs.append(q[k] + w * (q[k + 1] - q[k]))
            qc = min(qs, key=lambda v: abs(v - 0.5))
            row.update(crosses=True, q_cross=float(qc),
                       x_cross=float(spec._ppf(i, np.array([qc]))[0]))
        rows.append(row)
    far = (lambda r: threshold - r["y_max"]) if base < threshold else (lambda r: r["y_min"] - threshold)
    rows.sort(key=lambda r: (0, abs(r["q_cross"] - 0.5)) if r["crosses"] else (1, far(r)))
    return rows


def exceedance_drivers(output: str, threshold: float, *, plan: EnginePlan | None = None,
                       draws: int = 20_000, seed: int = 20250101) -> dict:
    """Monte Carlo filtering (regional sensitivity): which inputs differ most between the draws with
    ``output > threshold`` and the others?

    Draws come from the engine (copula included). Per input the Kolmogorov-Smirnov distance between the two
    groups and the median prior quantile of the input among the exceeding draws (0.5 = no shift). Returns
    ``{"p_exceed", "n_exceed", "draws", "rows"}``, rows sorted by KS distance.
    """
    from scipy.stats import ks_2samp

    from model.engine.run import run

    plan = _plan(plan)
    out = resolve_output(plan, output)
    res = run(plan=plan, draws=draws, seed=seed, keep=True, keep_inputs=True)
    y = res.draws_of(out.naam)
    hit = y > threshold
    rows = []
    owners = input_deelopgave()
    for name, m in zip(plan.names, plan.marginals):
        x = res.inputs[name]
        row = {"input": name, "kind": plan.priors[name].kind, "deelopgave": owners[name],
               "ks": None, "median_quantile_exceed": None}
        if 0 < hit.sum() < hit.size:
            row["ks"] = float(ks_2samp(x[hit], x[~hit]).statistic)
            row["median_quantile_exceed"] = float(np.median(m.cdf(x[hit])))
        rows.append(row)
    rows.sort(key=lambda r: -1.0 if r["ks"] is None else -r["ks"])
    return {"output": out.naam, "threshold": float(threshold), "draws": int(draws), "seed": int(seed),
            "n_exceed": int(hit.sum()), "p_exceed": float(hit.mean()), "rows": rows}
