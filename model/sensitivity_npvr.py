"""Sensitivity analysis of the NPVR model: tornado, spider and Sobol' indices for review.

This module connects the generic analyses of :mod:`model.sensitivity` to the NPVR engine:

* :func:`input_spec` turns an :class:`~model.engine.EnginePlan` into an
  :class:`~model.sensitivity.InputSpec`: one input per sampled prior entry (``plan.names``), its
  inverse CDF from the fitted marginal (``fit_entry(entry)[0].ppf``), the prior's point value (the
  value report mode uses), its kind (hoeveelheid / kental / norm), its deelopgave (the stem of the
  prior file, e.g. ``stichtingskosten``) and the copula's normal-score correlation
  (``plan.copula.normal_corr``).
* :func:`model_function` is ``f(theta) -> y`` for one output, evaluated with
  :func:`model.engine.evaluate_inputs` -- the same kernels as report mode and the Monte Carlo engine.
* :func:`tornado_npvr`, :func:`spider_npvr` and :func:`sobol_npvr` run the analyses for one output;
  :func:`write_tornado` and :func:`write_sobol` put PNG/SVG plots, CSV tables and a manifest into a
  run folder.
* :func:`threshold_crossings` and :func:`exceedance_drivers` answer "what changes a conclusion":
  which inputs, one at a time or jointly, can move an output past a threshold (e.g. the publieke
  restopgave above €4 bn).
* :func:`register_cli` adds the ``tornado`` and ``sobol`` subcommands to ``cli.py``.

Outputs are named as :func:`model.engine.output_index` accepts them: a column
(``publieke_restopgave``, ``exploitatielasten``, ``investeringsopgave``), a deelopgave
(``capaciteit``), a goal (``doel_voorzieningen``), ``totaal_pm`` or a PM line (``beheer_onderhoud``).
All results are in euros; the plots show billions (mld. €).

The report's printed figures (``model.published.REPORT_FIGURES``) are drawn in the plots as a marker
for presentation only (for a band such as the investeringsopgave €6,3 - €11,8 mld. both ends are
marked); they are never model inputs.

Dependence. The classic per-input Sobol' indices assume independent inputs and are computed with every
input sampled independently from its marginal. The declared correlations (``priors/correlaties.yaml``)
are honoured by the grouped indices: each correlated block of the copula is one factor, its members
sampled jointly; the deelopgave groups contain every block whole and are sampled jointly too. The kind
groups are not (the ``capaciteit_vastgoed`` block mixes norms and a hoeveelheid), so they are sampled
independently. The result's ``dependence_note`` says this in words.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from model.cli_args import fraction, non_negative_int, output_folder, positive_int
from model.runs import new_run_folder, versions as _run_versions, write_json as _write_json
from model.engine import EnginePlan, Output, evaluate_inputs, make_plan, output_index
from model.priors import fit_entry
from model.published import REPORT_FIGURES
from model.sensitivity import (
    InputSpec,
    SobolGroups,
    SobolResult,
    TornadoResult,
    plot_sobol,
    sobol,
    spider,
    tornado,
)

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
    "write_tornado",
    "write_sobol",
    "register_cli",
    "cmd_tornado",
    "cmd_sobol",
]

MLD = 1e9
SPIDER_QUANTILES = np.linspace(0.05, 0.95, 19)
DEFAULT_PIECE = 1 << 15  # columns per evaluate_inputs call: keeps the kernels' line arrays in cache


# ---------------------------------------------------------------------------------------------
# Inputs, outputs and the model function
# ---------------------------------------------------------------------------------------------


def input_spec(plan: EnginePlan) -> InputSpec:
    """The sampled prior entries of ``plan`` as an :class:`InputSpec`.

    ``ppfs`` are the fitted marginals' quantile functions (scipy; each is called once per design on a
    whole column), ``point`` the priors' point values, ``kinds`` the entries' kind, ``deelopgave`` the
    stem of the prior file the entry lives in, ``corr`` the Gaussian copula's normal-score correlation.
    """
    entries = [plan.priors[name] for name in plan.names]
    corr = np.asarray(plan.copula.normal_corr, dtype=np.float64)
    if tuple(plan.copula.names) != tuple(plan.names):  # pragma: no cover - make_plan builds them together
        raise ValueError("plan.copula.names differ from plan.names")
    return InputSpec(
        names=list(plan.names),
        ppfs=[fit_entry(e)[0].ppf for e in entries],
        point=np.array([e.point for e in entries], dtype=np.float64),
        kinds=[e.kind for e in entries],
        deelopgave=[Path(e.file).stem for e in entries],
        corr=corr if corr.shape[0] else None,
    )


def resolve_output(plan: EnginePlan, output: str) -> Output:
    """The :class:`~model.engine.Output` for a name :func:`~model.engine.output_index` accepts."""
    return plan.outputs[output_index(plan, output)]


def _short(out: Output) -> str:
    """Name used in folder names and titles: column totals without their ``totaal_`` prefix."""
    return out.naam.removeprefix("totaal_") if out.soort == "kolom" else out.naam


def report_figures(output: str | Output) -> tuple[float, ...]:
    """The report's printed figure(s) for an output in euros: ``(x,)`` for a point figure, ``(low, high)``
    for a band, ``()`` if the report prints none. Presentation only, never a model input."""
    naam = output.naam if isinstance(output, Output) else output
    for candidate in (naam, f"totaal_{naam}"):
        if candidate in REPORT_FIGURES:
            lo, hi = REPORT_FIGURES[candidate][:2]
            return (float(lo),) if lo == hi else (float(lo), float(hi))
    return ()


def model_function(plan: EnginePlan, output: str, *, threads: int = 1,
                   piece: int = DEFAULT_PIECE) -> Callable[[np.ndarray], np.ndarray]:
    """``f(theta) -> y``: the output ``output`` for a design matrix ``theta`` (len(plan.names), m).

    Evaluates :func:`~model.engine.evaluate_inputs` on pieces of ``piece`` columns (faster than one huge
    call: the kernels' intermediate arrays stay in cache), on ``threads`` threads (the kernels release the
    GIL). The result does not depend on ``threads`` or ``piece``.
    """
    o = output_index(plan, output)
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
        return self.result.rows

    def json_rows(self) -> list[dict]:
        """``[{input, low, high, swing}, ...]`` sorted by swing (largest first), in euros."""
        return [{"input": r["input"], "low": r["low"], "high": r["high"], "swing": r["swing"]}
                for r in self.result.rows]


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

    ``result``: the generic :class:`~model.sensitivity.SobolResult`: per-input rows (independent
    sampling), ``groups`` by deelopgave (sampled jointly, every correlated block lies inside one
    deelopgave) and ``correlated_groups`` (each copula block one factor, sampled jointly; groups
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
    return plan if plan is not None else make_plan()


def tornado_npvr(output: str = "publieke_restopgave", low_q: float = 0.10, high_q: float = 0.90, *,
                 plan: EnginePlan | None = None) -> TornadoNpvr:
    """One-at-a-time swings of ``output``: each input at its ``low_q`` and ``high_q`` quantile, every other
    input at its point value. ``base`` is report mode's point value of the output."""
    plan = _plan(plan)
    out = resolve_output(plan, output)
    spec = input_spec(plan)
    res = tornado(model_function(plan, out.naam), spec, low_q=low_q, high_q=high_q)
    return TornadoNpvr(output=out.naam, long_name=out.long_name, result=res, report=report_figures(out),
                       point=dict(zip(spec.names, map(float, spec.point))))


def spider_npvr(output: str = "publieke_restopgave", quantiles: Sequence[float] = SPIDER_QUANTILES, *,
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
                      report=report_figures(out))


def _block_label(members: list[str], declared: dict[str, set[str]]) -> str:
    for name, leden in declared.items():
        if set(members) == leden:
            return f"groep {name}"
    if len(members) <= 2:
        return " ~ ".join(members)
    return f"{members[0]} (+{len(members) - 1})"


def _relabel_correlated(groups: SobolGroups | None, plan: EnginePlan) -> SobolGroups | None:
    """Give the correlated blocks readable names (the declared group's name, or ``a ~ b`` for a pair)."""
    if groups is None:
        return None
    decl = (plan.priors.correlations or {}).get("groepen", {}) or {}
    declared = {g: set(spec.get("leden", [])) for g, spec in decl.items()}
    rows = []
    for r in groups.rows:
        r = dict(r)
        if len(r["members"]) > 1:
            r["group"] = _block_label(r["members"], declared)
        rows.append(r)
    return SobolGroups(rows=rows, joint_sampling=groups.joint_sampling)


def sobol_npvr(output: str = "investeringsopgave", n_base: int = 2**14, seed: int = 0, *,
               plan: EnginePlan | None = None, num_resamples: int = 100, conf_level: float = 0.95,
               threads: int | None = None) -> SobolNpvr:
    """First-order and total Sobol' indices of ``output`` with bootstrap confidence intervals.

    Per input (independent sampling), grouped by deelopgave (joint sampling), by kind (independent) and
    per correlated block of the copula (joint), with a dependence note. ``N (2 D + K_deelopgave +
    K_correlated + K_kind + 6)`` model evaluations for ``N = n_base`` (two passes of the generic
    :func:`~model.sensitivity.sobol` on the same Saltelli design; the per-input indices of both are
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

    from model.engine import run

    plan = _plan(plan)
    out = resolve_output(plan, output)
    res = run(plan=plan, draws=draws, seed=seed, keep=True)
    y = res.outputs[output_index(plan, out.naam)]
    hit = y > threshold
    rows = []
    for name in plan.names:
        x = res.inputs[name]
        m = fit_entry(plan.priors[name])[0]
        row = {"input": name, "kind": plan.priors[name].kind, "deelopgave": Path(plan.priors[name].file).stem,
               "ks": None, "median_quantile_exceed": None}
        if 0 < hit.sum() < hit.size:
            row["ks"] = float(ks_2samp(x[hit], x[~hit]).statistic)
            row["median_quantile_exceed"] = float(np.median(m.cdf(x[hit])))
        rows.append(row)
    rows.sort(key=lambda r: -1.0 if r["ks"] is None else -r["ks"])
    return {"output": out.naam, "threshold": float(threshold), "draws": int(draws), "seed": int(seed),
            "n_exceed": int(hit.sum()), "p_exceed": float(hit.mean()), "rows": rows}


# ---------------------------------------------------------------------------------------------
# Plots (in billions, with the report's figure(s) marked)
# ---------------------------------------------------------------------------------------------


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig, folder: Path, stem: str) -> list[Path]:
    paths = []
    for ext in ("png", "svg"):
        p = Path(folder) / f"{stem}.{ext}"
        fig.savefig(p, dpi=150, bbox_inches="tight")
        paths.append(p)
    return paths


def _mld(x: float, digits: int = 2) -> str:
    return f"€{x / MLD:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".") + " mld."


def _report_lines(ax, report: tuple[float, ...], vertical: bool) -> None:
    labels = ["rapport"] if len(report) == 1 else ["rapport (laag)", "rapport (hoog)"]
    for x, lab, ls in zip(report, labels, ("--", "-.")):
        kw = dict(color="#C44E52", lw=1.5, ls=ls, label=f"{lab}: {_mld(x, 1)}")
        (ax.axvline if vertical else ax.axhline)(x / MLD, **kw)


def plot_tornado_npvr(t: TornadoNpvr, folder: Path, stem: str = "tornado", top_n: int = 25) -> list[Path]:
    """Tornado in mld. €: bars from the point value to the output at the low / high input quantile, the
    point value (solid) and the report's figure(s) (dashed; both ends of a band)."""
    rows = t.rows[:top_n][::-1]
    n = len(rows)
    fig = _new_figure(8.5, 1.4 + 0.32 * max(n, 1))
    ax = fig.add_subplot()
    ypos = np.arange(n)
    base = t.base / MLD
    lo = np.array([r["low"] for r in rows]) / MLD
    hi = np.array([r["high"] for r in rows]) / MLD
    ax.barh(ypos, lo - base, left=base, height=0.7, color="#4C72B0",
            label=f"input op P{100 * t.result.low_q:g}")
    ax.barh(ypos, hi - base, left=base, height=0.7, color="#DD8452", alpha=0.85,
            label=f"input op P{100 * t.result.high_q:g}")
    ax.axvline(base, color="black", lw=1.2, label=f"puntwaarde: {_mld(t.base)}")
    _report_lines(ax, t.report, vertical=True)
    ax.set_yticks(ypos, [r["input"] for r in rows], fontsize="small")
    ax.set_xlabel(f"{t.long_name} (mld. €, 2025-2035)")
    ax.set_title(f"Tornado: {t.long_name}\n(één input tegelijk, overige op puntwaarde; top {n})",
                 fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize="x-small")
    return _save(fig, folder, stem)


def plot_spider_npvr(s: SpiderNpvr, folder: Path, stem: str = "spider", top_n: int = 10) -> list[Path]:
    """Spider chart in mld. € of the ``top_n`` inputs with the widest output range."""
    items = sorted(s.curves.items(), key=lambda kv: float(np.ptp(kv[1])), reverse=True)[:top_n]
    fig = _new_figure(8.5, 5.0)
    ax = fig.add_subplot()
    for name, y in items:
        ax.plot(100 * s.quantiles, y / MLD, marker="o", ms=3, label=name)
    ax.axhline(s.base / MLD, color="black", lw=1.0, label=f"puntwaarde: {_mld(s.base)}")
    _report_lines(ax, s.report, vertical=False)
    ax.set_xlabel("Kwantiel van de input (%)")
    ax.set_ylabel(f"{s.long_name} (mld. €)")
    ax.set_title(f"Spider: {s.long_name}", fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="x-small")
    return _save(fig, folder, stem)


# ---------------------------------------------------------------------------------------------
# Run folders and writers
# ---------------------------------------------------------------------------------------------

def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("; ".join(v) if isinstance(v, list) else v) for k, v in r.items()})


def _manifest(command: str, plan: EnginePlan, out: str, long_name: str, report, settings: dict,
              extra: dict) -> dict:
    return {
        "kind": command,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "output": out,
        "long_name": long_name,
        "eenheid": "EUR",
        "report_figures": list(report),
        "report_figures_note": "the report's printed figures, drawn for presentation only (never model inputs)",
        "settings": settings,
        "n_inputs": len(plan.names),
        "prior_directory": plan.priors.directory,
        "prior_hashes": dict(plan.priors.file_hashes),
        "overrides": dict(plan.overrides),
        "versions": _run_versions(),
        **extra,
    }


def write_tornado(folder: str | Path, t: TornadoNpvr, plan: EnginePlan, s: SpiderNpvr | None = None,
                  top_n: int = 25) -> list[Path]:
    """Write ``tornado.{png,svg,csv}`` (and ``spider.{png,svg,csv}`` if ``s``) and ``manifest.json`` into
    ``folder``. CSV values in euros."""
    folder = Path(folder)
    paths = plot_tornado_npvr(t, folder, top_n=top_n)
    rows = [{"rank": k + 1, **r, "x_point": t.point[r["input"]], "base": t.base} for k, r in enumerate(t.rows)]
    p = folder / "tornado.csv"
    _write_csv(p, rows, ["rank", "input", "kind", "deelopgave", "x_low", "x_point", "x_high", "low", "base",
                         "high", "swing"])
    paths.append(p)
    if s is not None:
        paths += plot_spider_npvr(s, folder)
        cols = [f"P{100 * q:g}" for q in s.quantiles]
        spec_rows = [{"input": name, **{c: float(v) for c, v in zip(cols, y)}} for name, y in s.curves.items()]
        p = folder / "spider.csv"
        _write_csv(p, spec_rows, ["input", *cols])
        paths.append(p)
    p = folder / "manifest.json"
    _write_json(_manifest("tornado", plan, t.output, t.long_name, t.report,
                          {"low_q": t.result.low_q, "high_q": t.result.high_q,
                           "spider_quantiles": None if s is None else list(map(float, s.quantiles))},
                          {"base": t.base, "files": sorted(x.name for x in paths)}), p)
    paths.append(p)
    return paths


_SOBOL_FIELDS = ["S1", "S1_conf", "ST", "ST_conf"]


def write_sobol(folder: str | Path, s: SobolNpvr, plan: EnginePlan, top_n: int = 25) -> list[Path]:
    """Write the Sobol' tables and plots into ``folder``: ``sobol_inputs``, ``sobol_deelopgave``,
    ``sobol_kind`` and ``sobol_correlated`` (``.csv``, ``.png``, ``.svg``), ``dependence_note.txt`` and
    ``manifest.json``."""
    folder = Path(folder)
    res = s.result
    title = f"Sobol': {s.long_name} (N = {res.n_base:,})"
    paths = []
    spec = input_spec(plan)
    labels = {n: (k, d) for n, k, d in zip(spec.names, spec.kinds, spec.deelopgave)}
    rows = [{**r, "kind": labels[r["input"]][0], "deelopgave": labels[r["input"]][1]} for r in res.sorted_rows()]
    p = folder / "sobol_inputs.csv"
    _write_csv(p, rows, ["input", "kind", "deelopgave", *_SOBOL_FIELDS])
    paths += [p, *plot_sobol(res, folder / "sobol_inputs", title=f"{title}\nper input (onafhankelijk getrokken)",
                             which="inputs", top_n=top_n)]
    tables = [("sobol_deelopgave", "per deelopgave", s.by_deelopgave),
              ("sobol_kind", "per soort (hoeveelheid / kental / norm)", s.by_kind),
              ("sobol_correlated", "gecorreleerde groepen als één factor", s.correlated_groups)]
    for stem, what, groups in tables:
        if groups is None:
            continue
        grows = [{**r, "n_members": len(r["members"]), "joint_sampling": groups.joint_sampling}
                 for r in sorted(groups.rows, key=lambda r: r["ST"], reverse=True)]
        p = folder / f"{stem}.csv"
        _write_csv(p, grows, ["group", "n_members", *_SOBOL_FIELDS, "joint_sampling", "members"])
        joint = "gezamenlijk" if groups.joint_sampling else "onafhankelijk"
        paths += [p, *plot_sobol(dataclasses.replace(res, groups=groups), folder / stem,
                                 title=f"{title}\n{what} ({joint} getrokken)", which="groups", top_n=top_n)]
    p = folder / "dependence_note.txt"
    p.write_text(s.dependence_note + "\n", encoding="utf-8")
    paths.append(p)
    p = folder / "manifest.json"
    _write_json(_manifest("sobol", plan, s.output, s.long_name, report_figures(s.output),
                          {"n_base": res.n_base, "conf_level": res.conf_level,
                           "num_resamples": res.num_resamples,
                           "design": "Saltelli (SALib sobol.sample, calc_second_order=False), scrambled Sobol'"},
                          {"n_evaluations": s.n_evaluations, "seconds": s.seconds, "timings": s.timings,
                           "output_mean": res.output_mean, "output_std": res.output_std,
                           "dependence_note": s.dependence_note, "files": sorted(x.name for x in paths)}), p)
    paths.append(p)
    return paths


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _cli_plan(args: argparse.Namespace) -> EnginePlan:
    from model.priors import load_priors

    return make_plan(load_priors(args.priors) if getattr(args, "priors", None) else None)


def _cli_output(plan: EnginePlan, name: str) -> Output | None:
    """The output named on the command line, or ``None`` after an error message listing the known names."""
    try:
        return resolve_output(plan, name)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return None


def _fmt_mld(x: float) -> str:
    return f"{x / MLD:8.3f}"


def cmd_tornado(args: argparse.Namespace) -> int:
    """``tornado [OUTPUT]``: tornado + spider into a new run folder; top drivers (or JSON) on stdout."""
    if args.low >= args.high:
        print(f"error: --low ({args.low:g}) must be below --high ({args.high:g})", file=sys.stderr)
        return 2
    plan = _cli_plan(args)
    out = _cli_output(plan, args.output)
    if out is None:
        return 2
    t = tornado_npvr(out.naam, args.low, args.high, plan=plan)
    s = spider_npvr(out.naam, plan=plan)
    run = new_run_folder(args.out, f"tornado-{_short(out)}")
    with run as tmp:
        write_tornado(tmp, t, plan, s)
    if args.json:
        print(json.dumps(t.json_rows(), indent=2, ensure_ascii=False))
        print(f"run folder: {run.path}", file=sys.stderr)
        return 0
    rep = " - ".join(_mld(x, 1) for x in t.report) or "n.v.t."
    print(f"Tornado: {t.long_name}; inputs op P{100 * args.low:g} / P{100 * args.high:g}, overige op puntwaarde")
    print(f"puntwaarde {_mld(t.base)}; rapport {rep}")
    print(f"{'#':>3}  {'input':46} {'soort':11} {'laag':>8} {'hoog':>8} {'swing':>8}  (mld. €)")
    for k, r in enumerate(t.rows[: args.top]):
        print(f"{k + 1:3d}  {r['input']:46} {r['kind']:11} {_fmt_mld(r['low'])} {_fmt_mld(r['high'])} "
              f"{_fmt_mld(r['swing'])}")
    print(f"run folder: {run.path}")
    return 0


def cmd_sobol(args: argparse.Namespace) -> int:
    """``sobol [OUTPUT]``: Sobol' indices into a new run folder; top drivers (or JSON) on stdout."""
    plan = _cli_plan(args)
    out = _cli_output(plan, args.output)
    if out is None:
        return 2
    s = sobol_npvr(out.naam, n_base=args.n_base, seed=args.seed, plan=plan)
    run = new_run_folder(args.out, f"sobol-{_short(out)}")
    with run as tmp:
        write_sobol(tmp, s, plan)
    if args.json:
        print(json.dumps(s.json_rows(), indent=2, ensure_ascii=False))
        print(f"run folder: {run.path}", file=sys.stderr)
        return 0
    res = s.result
    print(f"Sobol': {s.long_name}; N = {res.n_base:,}, {s.n_evaluations:,} evaluaties in {s.seconds:.1f} s; "
          f"{100 * res.conf_level:g}%-intervallen (bootstrap, {res.num_resamples} herhalingen)")
    print(f"{'#':>3}  {'input':46} {'S1':>14} {'ST':>14}")
    for k, r in enumerate(res.sorted_rows()[: args.top]):
        print(f"{k + 1:3d}  {r['input']:46} {r['S1']:6.3f} ±{r['S1_conf']:5.3f} {r['ST']:6.3f} ±{r['ST_conf']:5.3f}")
    for label, groups in (("deelopgave", s.by_deelopgave), ("soort", s.by_kind)):
        top = sorted(groups.rows, key=lambda r: r["ST"], reverse=True)[:5]
        print(f"per {label}: " + "; ".join(f"{r['group']} ST {r['ST']:.2f}" for r in top))
    cg = s.correlated_groups
    if cg is not None:
        blocks = sorted((r for r in cg.rows if len(r["members"]) > 1), key=lambda r: r["ST"], reverse=True)
        print(f"gecorreleerde groepen ({len(blocks)}, gezamenlijk getrokken, elk één factor): "
              + "; ".join(f"{r['group']} ST {r['ST']:.2f}" for r in blocks[:5]))
        print("let op: de indices per input veronderstellen onafhankelijke inputs (zie dependence_note.txt)")
    print(f"run folder: {run.path}")
    return 0


def register_cli(subparsers) -> None:
    """Add the ``tornado`` and ``sobol`` subcommands to an argparse ``subparsers`` object."""
    p = subparsers.add_parser("tornado", help="tornado and spider of one output (one input at a time)")
    p.add_argument("output", nargs="?", default="publieke_restopgave",
                   help="output: a column, deelopgave, doel_..., totaal_pm (default: publieke_restopgave)")
    p.add_argument("--low", type=fraction, default=0.10, help="low input quantile (default 0.10)")
    p.add_argument("--high", type=fraction, default=0.90, help="high input quantile (default 0.90)")
    p.add_argument("--top", type=positive_int, default=15, help="drivers printed (default 15)")
    p.add_argument("--json", action="store_true", help="print [{input, low, high, swing}] as JSON (euros)")
    p.add_argument("--out", type=output_folder, default="runs",
                   help="parent folder of the new run folder (default runs)")
    p.add_argument("--priors", default=None, help="prior directory (default: the embedded priors/)")
    p.set_defaults(func=cmd_tornado)

    p = subparsers.add_parser("sobol", help="Sobol' indices of one output, per input and grouped")
    p.add_argument("output", nargs="?", default="investeringsopgave",
                   help="output (default: investeringsopgave)")
    p.add_argument("--n-base", type=positive_int, default=2**14, help="base samples N (default 2**14)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the scrambled Sobol' design (default 0)")
    p.add_argument("--top", type=positive_int, default=15, help="drivers printed (default 15)")
    p.add_argument("--json", action="store_true", help="print [{input, S1, S1_conf, ST, ST_conf}] as JSON")
    p.add_argument("--out", type=output_folder, default="runs",
                   help="parent folder of the new run folder (default runs)")
    p.add_argument("--priors", default=None, help="prior directory (default: the embedded priors/)")
    p.set_defaults(func=cmd_sobol)
