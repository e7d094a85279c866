"""The sensitivity analyses as jobs: a tornado (with its spider) or Sobol' indices of one output, in a new run
folder with tables (CSV, euros), plots (PNG and SVG) and the manifest.

- :func:`tornado_job`: ``tornado.{csv,png,svg}`` and ``spider.{csv,png,svg}``;
- :func:`sobol_job`: ``sobol_inputs``, ``sobol_deelopgave``, ``sobol_kind`` and ``sobol_correlated``
  (``.csv``, ``.png``, ``.svg``) and ``dependence_note.txt``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

from model.analysis.sensitivity_npvr import (DEFAULT_OUTPUT, SobolNpvr, SpiderNpvr, TornadoNpvr, evaluation_rate,
                                             input_spec, report_figures, resolve_output, sobol_cost, sobol_npvr,
                                             spider_npvr, tornado_npvr)
from model.engine.plan import EnginePlan, Output, variant_plans
from model.errors import UsageError
from model.output import plots
from model.output.runfolder import RunFolder, input_hashes, write_manifest
from model.output.tables import write_csv
from model.paths import RUNS_DIR
from model.resources import check_hours, check_memory
from model.spec.data import load_gebieden
from model.spec.priors import load_priors

_SOBOL_FIELDS = ["S1", "S1_conf", "ST", "ST_conf"]
#: The smallest base sample of a Sobol' analysis: below it the bootstrap intervals are as wide as the indices.
MIN_N_BASE = 256


class SensitivityJob(NamedTuple):
    path: Path
    analysis: TornadoNpvr | SobolNpvr
    spider: SpiderNpvr | None
    manifest: dict


def _short(out: Output) -> str:
    """Name used in folder names and titles: column totals without their ``totaal_`` prefix."""
    return out.naam.removeprefix("totaal_") if out.soort == "kolom" else out.naam


def plan_for(priors: str | Path | None = None, variant: str | None = None) -> EnginePlan:
    """The plan of a sensitivity analysis: the priors' uncertain entries, the policy choices at ``variant``
    (default the ``standaard`` one of ``scenarios/varianten.toml``; choices are no inputs of the analysis)."""
    return variant_plans(load_priors(priors), load_gebieden(), (variant,))[0]


def tornado_job(output: str = DEFAULT_OUTPUT, low: float = 0.10, high: float = 0.90, *,
                plan: EnginePlan | None = None, priors: str | Path | None = None, out: str | Path = RUNS_DIR,
                top_n: int = 25) -> SensitivityJob:
    """Tornado and spider of ``output`` (inputs at their ``low`` and ``high`` quantiles), in a new run folder."""
    t0 = time.perf_counter()
    if not 0.0 < low < high < 1.0:
        raise UsageError(f"need 0 < low < high < 1, got low {low:g}, high {high:g}")
    plan = plan if plan is not None else plan_for(priors)
    res = resolve_output(plan, output)
    folder = RunFolder(out, f"tornado-{_short(res)}", command="tornado")
    with folder as tmp:         # before the work: an output folder that cannot be written stops it first
        t = tornado_npvr(res.naam, low, high, plan=plan)
        s = spider_npvr(res.naam, plan=plan)
        plots.tornado(t, tmp / "tornado", top_n=top_n)
        rows = [{"rank": k + 1, **r, "x_point": t.point[r["input"]], "base": t.base} for k, r in enumerate(t.rows)]
        write_csv(tmp / "tornado.csv", rows, ["rank", "input", "kind", "deelopgave", "x_low", "x_point", "x_high",
                                              "low", "base", "high", "swing"])
        plots.spider(s, tmp / "spider")
        cols = [f"P{100 * q:g}" for q in s.quantiles]
        write_csv(tmp / "spider.csv", [{"input": name, **{c: float(v) for c, v in zip(cols, y)}}
                                       for name, y in s.curves.items()], ["input", *cols])
        manifest = write_manifest(
            tmp, "tornado",
            arguments={"output": t.output, "low": low, "high": high, "priors": plan.priors.directory,
                       "variant": plan.variant,
                       "spider_quantiles": [float(q) for q in s.quantiles], "top_n": top_n},
            inputs=input_hashes(plan.priors, plan.gebieden), random=None,
            timings={"total": time.perf_counter() - t0},
            results={"output": t.output, "long_name": t.long_name, "eenheid": "EUR", "base": t.base,
                     "report_figures": list(t.report), "n_inputs": len(plan.names),
                     "report_figures_note": "the report's printed figures, drawn for presentation only"})
    return SensitivityJob(folder.path, t, s, manifest)


def sobol_job(output: str = DEFAULT_OUTPUT, n_base: int = 2**14, seed: int = 0, *,
              plan: EnginePlan | None = None, priors: str | Path | None = None, out: str | Path = RUNS_DIR,
              top_n: int = 25, num_resamples: int = 100, conf_level: float = 0.95) -> SensitivityJob:
    """First-order and total Sobol' indices of ``output`` (per input and grouped), in a new run folder."""
    t0 = time.perf_counter()
    if n_base < MIN_N_BASE:
        raise UsageError(f"n_base must be at least {MIN_N_BASE} (below it the indices are noise), got {n_base}")
    plan = plan if plan is not None else plan_for(priors)
    res = resolve_output(plan, output)
    nbytes, evaluations = sobol_cost(plan, n_base, num_resamples)
    what = f"Sobol' indices with N = {n_base:,} ({evaluations:,.0f} model evaluations)"
    advice = "use a smaller --n-base (default 2^14)"
    check_memory(what, nbytes, advice)
    check_hours(what, evaluations / evaluation_rate(plan) / 3600, advice)
    folder = RunFolder(out, f"sobol-{_short(res)}", command="sobol")
    with folder as tmp:         # before the work: an output folder that cannot be written stops it first
        s = sobol_npvr(res.naam, n_base=n_base, seed=seed, plan=plan, num_resamples=num_resamples,
                       conf_level=conf_level)
        r = s.result
        title = f"Sobol': {s.long_name} (N = {r.n_base:,})".replace(",", ".")
        spec = input_spec(plan)
        labels = {n: (k, d) for n, k, d in zip(spec.names, spec.kinds, spec.deelopgave)}
        rows = [{**row, "kind": labels[row["input"]][0], "deelopgave": labels[row["input"]][1]}
                for row in r.sorted_rows()]
        write_csv(tmp / "sobol_inputs.csv", rows, ["input", "kind", "deelopgave", *_SOBOL_FIELDS])
        plots.sobol(r.rows, tmp / "sobol_inputs", title=f"{title}\nper input (onafhankelijk getrokken)", key="input",
                    conf_level=r.conf_level, top_n=top_n,
                    note="De indices per input veronderstellen onafhankelijke inputs (zie dependence_note.txt)."
                    if r.dependence_note else None)
        for stem, what, groups in (("sobol_deelopgave", "per deelopgave", s.by_deelopgave),
                                   ("sobol_kind", "per soort (hoeveelheid / kental / norm)", s.by_kind),
                                   ("sobol_correlated", "gecorreleerde groepen als één factor", s.correlated_groups)):
            if groups is None:
                continue
            grows = [{**g, "n_members": len(g["members"]), "joint_sampling": groups.joint_sampling}
                     for g in sorted(groups.rows, key=lambda g: g["ST"], reverse=True)]
            write_csv(tmp / f"{stem}.csv", grows, ["group", "n_members", *_SOBOL_FIELDS, "joint_sampling", "members"])
            joint = "gezamenlijk" if groups.joint_sampling else "onafhankelijk"
            plots.sobol(groups.rows, tmp / stem, title=f"{title}\n{what} ({joint} getrokken)", key="group",
                        conf_level=r.conf_level, top_n=top_n)
        (tmp / "dependence_note.txt").write_text(s.dependence_note + "\n", encoding="utf-8")
        manifest = write_manifest(
            tmp, "sobol",
            arguments={"output": s.output, "n_base": n_base, "num_resamples": num_resamples,
                       "conf_level": conf_level, "priors": plan.priors.directory, "top_n": top_n,
                       "variant": plan.variant,
                       "design": "Saltelli (SALib sobol.sample, calc_second_order=False), scrambled Sobol'"},
            inputs=input_hashes(plan.priors, plan.gebieden),
            random={"seed": seed, "stream": "scrambled Sobol' sequence of scipy.stats.qmc seeded with the seed; "
                                            "bootstrap resamples seeded with it too", "chunk_size": None},
            timings={**s.timings, "analysis": s.seconds, "total": time.perf_counter() - t0},
            results={"output": s.output, "long_name": s.long_name, "n_evaluations": s.n_evaluations,
                     "output_mean": r.output_mean, "output_std": r.output_std, "n_inputs": len(plan.names),
                     "report_figures": list(report_figures(s.output, plan.variant)),
                     "dependence_note": s.dependence_note})
    return SensitivityJob(folder.path, s, None, manifest)


__all__ = ["SensitivityJob", "tornado_job", "sobol_job", "MIN_N_BASE"]
