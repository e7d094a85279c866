"""The Monte Carlo run as a job: the engine, the summaries and the run folder, in one function that the CLI
(``cli.py run``), the batch tasks, the notebooks and a user's script all call.

:func:`run_job` samples the priors (or a scenario's, or a calibrated posterior), summarises every output and
writes a new run folder (``model.output.runfolder``): ``dataset.nc`` (``model.output.dataset``), ``summary.csv``
and ``summary.md`` (``model.output.tables``), ``regionaal.csv`` (every deelopgave per region and gemeente,
``model.analysis.regionaal``), ``afhankelijkheid.csv``, ``prior_fits.json``, ``rank_correlations.json``, the plots
(the regional ones ``regio_<deelopgave>.svg``), the review report ``report.html`` and ``report.xlsx``
(``model.output.report``: every table and plot in one page and one workbook) and, last, ``manifest.json``.

Every run evaluates the policy variants of ``scenarios/varianten.toml`` (``model.spec.varianten``: the norm level
and the demand year are choices, not uncertainties), by default the report's ``laag`` and ``hoog``, or the §3.5
grid (``rooster=True``), on the same draws of every uncertain entry (common random numbers). The main variant
(``variant``, default the file's ``standaard``) fills the tables' main lines and the dataset's root group; every
output a choice moves gets a line per variant in the tables and plots, every variant has its rows in
``summary.csv`` and its summaries in the group ``varianten`` of ``dataset.nc``. With ``jaren=True`` the year model (``model.analysis.jaren``) is added: per-year amounts and
present values as summary rows and as the group ``jaren`` of ``dataset.nc``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
from threadpoolctl import threadpool_limits

from model.analysis.afhankelijkheid import dependence_views
from model.analysis.regionaal import REGIONAAL_FIELDS, regionaal, regionaal_rows
from model.analysis.spreiding import spreiding
from model.analysis.summary import describe, no_figures, resampled_n_eff, summarise
from model.analysis.precisie import MAX_DRAWS
from model.deelopgaven.registry import KOLOMMEN, TITELS, column_parts
from model.engine.plan import DEFAULT_CHUNK, variant_plans
from model.engine.rng import STREAM
from model.engine.run import RunResult, default_threads, run
from model.engine.verdeling import STREAM as VERDELING_STREAM
from model.errors import UsageError
from model.output import charts, dataset, report, tables
from model.output.format import decimal_nl
from model.output.runfolder import RunFolder, input_hashes, write_json, write_manifest
from model.paths import RUNS_DIR
from model.spec.data import load_gebieden
from model.spec.jaren import MODEL_PRIJSPEIL, JaarInstellingen, load_jaren_priors
from model.spec.dependence import rank_correlation_report
from model.spec.priors import PriorSet, fit_table, load_priors
from model.spec.scenarios import Scenario, load_scenario
from model.spec.varianten import VARIANTEN_FILE, load_varianten, variant_values
from model.spec.verdeling import load_verdeling

#: The first draws of a run, whose sampled inputs the rank-correlation report checks (all of a smaller run).
RANK_CHECK_DRAWS = 1 << 15


@dataclass
class RunJob:
    """A finished run: its folder, the engine's result, the summary rows and the manifest written."""

    path: Path
    result: RunResult
    rows: list[dict]
    manifest: dict
    jaren: Any = None          # the year model's dataset (model.analysis.jaren), with jaren=True
    posterior: str | None = None   # the line that says the run is on a posterior (:func:`posterior_line`)
    varianten: Mapping[str, list[dict]] | None = None   # every evaluated variant's rows, the main one first
    variant_results: Mapping[str, RunResult] | None = None
    regionaal: Mapping[str, Any] | None = None   # every variant's regional results (model.analysis.regionaal)


#: What the dependence table in ``summary.md`` shows (``model.analysis.afhankelijkheid``).
DEPENDENCE_INTRO = ("## Afhankelijkheid tussen deelopgaven\n\nDe kolomtotalen (zonder PM) onder drie aannames over "
                    "hoe de deelopgaven samen bewegen: onafhankelijk, de verklaarde afhankelijkheid van de run "
                    "(priors/correlaties.yaml: gedeelde kwetsbare gebieden, bronstudies en bouwkosten; en gedeelde invoer) en volledig afhankelijk "
                    "(comonotoon). Het verschil in breedte laat zien hoeveel de aanname uitmaakt.")


def posterior_line(post, n_eff: float) -> str:
    """The line that says a run is on a posterior (the text output and ``summary.md``)."""
    return (f"Trekkingen uit de posterior van kalibratie {post.folder.name} ({post.folder}, posterior.nc sha256 "
            f"{post.sha256[:12]}…; {decimal_nl(post.draws.shape[0], 0)} rijen, ESS {decimal_nl(post.ess, 0)}). "
            f"Monte Carlo-fouten met effectief {decimal_nl(n_eff, 0)} trekkingen (hersteekproef uit de posterior), "
            "niet het aantal trekkingen.")


def _jaren_rows(jds, variant: str, n_eff: float | None = None) -> list[dict]:
    """Summary rows of the year model: the amount per goal and year (real and nominal) and the present values."""
    from model.analysis.jaren import contante_waarde_totaal, groepen

    rows = []
    for prijzen in ("reeel", "nominaal"):
        g = groepen(jds, prijzen)
        for i, groep in enumerate(g["groep"].values):
            for j, jaar in enumerate(g["jaar"].values):
                rows.append({"variant": variant, "output": f"per_jaar_{prijzen}_{groep}_{jaar}", "soort": f"per_jaar_{prijzen}",
                             "long_name": f"{groep} in {jaar} ("
                                          f"{'lopende prijzen' if prijzen == 'nominaal' else 'prijspeil 2024'})",
                             "pm": False, **describe(g.values[i, :, j], n_eff), **no_figures(),
                             "groep": str(groep), "jaar": int(jaar)})
    cw = contante_waarde_totaal(jds)
    for k, r in enumerate(cw["discontovoet"].values):
        rows.append({"variant": variant, "output": f"contante_waarde_{r:.4f}", "soort": "contante_waarde",
                     "long_name": f"Contante waarde per 1-1-2025 bij {100 * r:.2f}% (prijspeil 2024, zonder PM)",
                     "pm": False, **describe(cw.values[k], n_eff), **no_figures(), "discontovoet": float(r)})
    return rows


def run_job(*, draws: int = 200_000, seed: int = 20250101, threads: int | None = None,
            chunk_size: int = DEFAULT_CHUNK, out: str | Path = RUNS_DIR, priors: str | Path | PriorSet | None = None,
            scenario: str | Path | Scenario | None = None, posterior: str | None = None, store: str = "compact",
            summaries_only: bool = False, jaren: bool = False, name: str | None = None, progress: Callable[[int], None] | None = None,
            arguments: Mapping[str, Any] | None = None, variant: str | None = None, rooster: bool = False,
            precision: float | None = None, max_draws: int | None = None) -> RunJob:
    """Run the engine and write a new run folder under ``out``; returns a :class:`RunJob`.

    ``priors``: a prior directory or loaded set (default: the embedded ``priors/``); ``scenario``: a scenario name,
    file or object (overlays the priors; excludes ``priors``); ``posterior``: ``"gekalibreerd"`` or a calibration
    run folder, whose joint draws replace the sampled entries. ``store``: which draws ``dataset.nc`` keeps
    (``compact``, ``full``, ``none``); ``summaries_only``: stream (bounded memory at any number of draws, no draws
    kept). ``name``: a fixed folder name (batch tasks) instead of ``run-<stamp>-<hex>``. ``variant``: the main
    policy variant (default: the scenario's ``variant``, else ``standaard`` of ``scenarios/varianten.toml``); ``rooster``: evaluate the §3.5 grid
    instead of the file's ``run`` list. ``precision`` (a share, e.g. 0.005): instead of ``draws``, as many draws as
    it takes for the Monte Carlo error of P5, P50 and P95 of every column total in every variant to be at or below
    that share of its value, at most ``max_draws`` (default ``MAX_DRAWS``, ``model.analysis.precisie``; the rounds, the draws and the errors
    reached are in the manifest's ``results.precisie``)."""
    # numpy's BLAS on one thread: the run's parallelism is its own (the engine's threads, the regional sorts); the
    # BLAS calls of a run are small (rank correlations, the allocation's sums), and OpenBLAS's own threads on top
    # made 146 dot products of 32,768 draws take 1.1 s instead of 7 ms on this 2-core machine when it was busy
    with threadpool_limits(limits=1, user_api="blas"):
        return _run_job(draws=draws, seed=seed, threads=threads, chunk_size=chunk_size, out=out, priors=priors,
                        scenario=scenario, posterior=posterior, store=store, summaries_only=summaries_only,
                        jaren=jaren, name=name, progress=progress, arguments=arguments, variant=variant,
                        rooster=rooster, precision=precision, max_draws=max_draws)


def _run_job(*, draws, seed, threads, chunk_size, out, priors, scenario, posterior, store, summaries_only, jaren,
             name, progress, arguments, variant, rooster, precision, max_draws) -> RunJob:
    t0 = time.perf_counter()
    if precision is not None and not 0.0 < precision < 0.5:
        raise UsageError(f"precision must be a share between 0 and 0.5 (e.g. 0.005 for 0.5%), got {precision!r}")
    max_draws = MAX_DRAWS if max_draws is None else max_draws
    if scenario is not None and priors is not None:
        raise UsageError("give either priors or a scenario (a scenario names its own priors)")
    if store not in dataset.STORE:
        raise UsageError(f"store must be one of {', '.join(dataset.STORE)}, got {store!r}")
    varianten = load_varianten()
    primary, names = varianten.selection(variant, rooster)     # an unknown variant: refused before anything
    out = Path(out)
    folder = RunFolder(out, "run", name=name, command="run")
    with folder as tmp:         # first: an output folder that cannot be written stops the run before its work
        post = None
        if posterior is not None:
            from model.jobs.calibrate import POSTERIOR, load_posterior

            post = load_posterior(posterior, (out, RUNS_DIR))
        posterior_rows = (post.names, post.draws, post.folder / POSTERIOR) if post is not None else None
        sc = load_scenario(scenario) if scenario is not None else None
        if sc is not None and variant is None and sc.variant is not None:    # the scenario's main variant
            primary, names = varianten.selection(sc.variant, rooster)
        if sc is not None:
            prior_set, gebieden, overrides = sc.priors, sc.gebieden(), dict(sc.overrides)
        else:
            prior_set = priors if isinstance(priors, PriorSet) else load_priors(priors)
            gebieden, overrides = load_gebieden(), {}
        plans = variant_plans(prior_set, gebieden, names, chunk_size=chunk_size, posterior=posterior_rows,
                              overrides=overrides)
        plan = plans[0]
        threads = threads or default_threads()

        def evaluate(n: int) -> tuple[bool, list[RunResult]]:
            keep = not summaries_only and (jaren or store != "none" or n <= 2_000_000)
            return keep, [run(plan=p, draws=n, seed=seed, threads=threads, keep=keep,
                              keep_inputs=(True if store == "full" and keep else RANK_CHECK_DRAWS) if k == 0 else False,
                              progress=progress) for k, p in enumerate(plans)]

        n_eff_of = (lambda n: None) if post is None else (lambda n: resampled_n_eff(n, post.ess))
        if precision is None:
            keep, results = evaluate(draws)
            precisie = None
        else:
            draws, keep, results, precisie = _to_precision(evaluate, names, precision, max_draws, plan.chunk_size,
                                                           n_eff_of)
        result = results[0]
        t_engine = time.perf_counter()
        verdeling = load_verdeling(prior_set.directory, prior_set.bibliography)
        regional = regionaal(dict(zip(names, results)), verdeling, threads)
        t_regional = time.perf_counter()
        n_eff = n_eff_of(draws)
        variant_rows = {v: summarise(res, n_eff, v) for v, res in zip(names, results)}
        rows = variant_rows[primary]
        others = [(v, variant_rows[v]) for v in names[1:]]
        jds = None
        extra_inputs: dict[str, str] = {}
        if jaren:
            from model.analysis.jaren import jaren_dataset
            jaren_priors = sc.jaren_priors if sc is not None else load_jaren_priors(priors=prior_set)
            instellingen = sc.jaren if sc is not None else JaarInstellingen()
            jds = jaren_dataset(result, priors=jaren_priors, overrides=dict(sc.jaren_overrides) if sc else None,
                                instellingen=instellingen)
            rows += _jaren_rows(jds, primary, n_eff)
            extra_inputs.update({k if "/" in k else f"scenarios/{k}": v
                                 for k, v in jaren_priors.file_hashes.items()})
        t_summary = time.perf_counter()
        if post is not None:
            extra_inputs[f"{post.folder.name}/posterior.nc"] = post.sha256
        extra_inputs[f"scenarios/{VARIANTEN_FILE.name}"] = varianten.sha256
        extra_inputs[f"{Path(prior_set.directory).name or 'priors'}/{verdeling.path}"] = verdeling.sha256
        info = {v: {"titel": varianten[v].titel, "keuzes": variant_values(prior_set, v, varianten)} for v in names}
        all_rows = rows + [r for _, rws in others for r in rws]
        tables.write_summary(all_rows, tmp / "summary.csv")
        views = None
        if result.has_draws:
            main_views = dependence_views(result, seed, names[0])
            views = main_views + [r for v, res in zip(names[1:], results[1:])
                                  for r in dependence_views(res, seed, v, same_as=(result, main_views))]
            tables.write_csv(tmp / "afhankelijkheid.csv", views, ["variant", "kolom", "aanname", "deelopgaven",
                                                                 "mean", "p5", "p50", "p95"])
        write_json(fit_table(prior_set), tmp / "prior_fits.json")
        if plan.names and plan.copula.blocks:   # on the first draws of the run
            x = np.vstack([result.inputs[name][:RANK_CHECK_DRAWS] for name in plan.names])
            write_json(rank_correlation_report(x, plan.copula), tmp / "rank_correlations.json")
        charts.s_curves(result, rows, tmp, [(v, res, variant_rows[v])
                                            for v, res in zip(names[1:], results[1:])])
        charts.intervals(rows, tmp, others)
        if jds is not None:
            charts.fan_chart(jds, tmp / "fan_chart.svg")
        t_national = time.perf_counter()
        dataset.write_dataset(tmp / "dataset.nc", result, rows, store=store if keep else "none", jaren=jds,
                              variants=[(v, info[v]["titel"], info[v]["keuzes"], res, variant_rows[v])
                                        for v, res in zip(names, results)], regionaal=regional)
        reg_rows = regional_csv_rows(regional, primary)
        tables.write_csv(tmp / "regionaal.csv", reg_rows, REGIONAAL_FIELDS)
        (tmp / "summary.md").write_text(("" if post is None else posterior_line(post, n_eff) + "\n\n")
                                        + variants_paragraph(varianten, names, prior_set) + "\n\n"
                                        + tables.overview_table(rows, markdown=True, others=others) + "\n\n"
                                        + tables.skew_paragraph(rows, column_parts()) + "\n\n"
                                        + regional_paragraph(regional[primary], verdeling) + "\n"
                                        + ("" if views is None else "\n" + DEPENDENCE_INTRO + "\n\n"
                                           + tables.dependence_table(views, markdown=True) + "\n"),
                                        encoding="utf-8")
        charts.regions(regional[primary], tmp, TITELS)
        drivers = spreiding(result, column_parts()) if result.has_draws else None
        t_write = time.perf_counter()
        args = {"draws": draws, "precision": precision, "max_draws": max_draws if precision is not None else None,
                "seed": seed, "threads": threads, "chunk_size": chunk_size, "store": store,
                "summaries_only": summaries_only, "jaren": jaren,
                "priors": None if sc is not None else prior_set.directory,
                "scenario": None if sc is None else sc.naam,
                "scenario_definition": None if sc is None else sc.definition(),
                "posterior": None if post is None else str(post.folder), "variant": primary, "rooster": rooster,
                **(arguments or {})}
        mcse = {r["output"]: {k: r[k] for k in r if k.startswith("mcse_")} for r in rows
                if r["soort"] in ("kolom", "deelopgave", "totaal")}
        def write_reports(data: dict) -> tuple[list[str], float]:
            t = time.perf_counter()
            paths = report.write_report(tmp, data, prior_set, rows=all_rows, reg_rows=reg_rows)
            return [p.name for p in paths], time.perf_counter() - t

        manifest = write_manifest(
            tmp, "run", before=write_reports, arguments=args, inputs=input_hashes(prior_set, gebieden, extra_inputs),
            random={"seed": seed, "stream": STREAM, "chunk_size": plan.chunk_size, "n_chunks": result.n_chunks},
            timings={"engine": t_engine - t0, "regional": t_regional - t_engine, "summary": t_summary - t_regional,
                     "national_tables_and_plots": t_national - t_summary, "write": t_write - t_national,
                     "total": time.perf_counter() - t0},
            results={"draws": draws, "draws_kept": result.has_draws, "sampled_entries": len(plan.names),
                     "posterior": None if post is None else {"folder": str(post.folder), "posterior_sha256": post.sha256,
                                                             "rows": int(post.draws.shape[0]), "ess": post.ess,
                                                             "mcse_n_eff": n_eff},
                     "overrides": dict(plan.overrides), "gemeenten": list(gebieden.gm_code),
                     "jaren": None if jds is None else {
                         "discontovoet": instellingen.discontovoet, "gevoeligheid": list(instellingen.gevoeligheid),
                         "midjaar": instellingen.midjaar, "prijspeil": MODEL_PRIJSPEIL},
                     "mc_standard_errors": mcse, "afhankelijkheid": views,
                     "spreiding": drivers, "precisie": precisie,
                     "regionaal": {"trekkingen": regional[primary].n, "stream": VERDELING_STREAM,
                                   "verdeelsleutels": verdeling.path, "verdeelsleutels_sha256": verdeling.sha256},
                     "varianten": {"standaard": primary, "geevalueerd": list(names), "keuzes": info,
                                   "gemeenschappelijke_trekkingen": True}})
    return RunJob(path=folder.path, result=result, rows=rows, manifest=manifest, jaren=jds,
                  posterior=None if post is None else posterior_line(post, n_eff), varianten=variant_rows,
                  variant_results=dict(zip(names, results)), regionaal=regional)


def _to_precision(evaluate, names, target: float, max_draws: int, chunk: int, n_eff_of):
    """Rounds of draws until the column totals reach ``target`` (``model.analysis.precisie``): the draws, the keep
    flag and results of the last round, and what the manifest records."""
    from model.analysis.precisie import next_draws, relative_errors, start_draws, worst

    outputs = [f"totaal_{k}" for k in KOLOMMEN]
    n = start_draws(chunk, max_draws)
    rounds = []
    while True:
        keep, results = evaluate(n)
        errors = relative_errors(dict(zip(names, results)), outputs, n_eff_of(n))
        largest, where = worst(errors)
        rounds.append({"trekkingen": n, "grootste_relatieve_fout": largest, "waar": where})
        if largest <= target or n >= max_draws:
            break
        n = next_draws(n, largest, target, chunk, max_draws)
    reached = largest <= target
    if not reached:
        import warnings

        warnings.warn(f"precision {100 * target:g}% not reached at the most draws ({max_draws:,}): the largest "
                      f"relative error is {100 * largest:.3g}% ({where})")
    return n, keep, results, {"doel": target, "bereikt": reached, "trekkingen": n, "max_trekkingen": max_draws,
                              "rondes": rounds, "relatieve_fouten": errors}


def regional_csv_rows(regional, primary: str) -> list[dict]:
    """The rows of ``regionaal.csv``: every row of the main variant, and of each other variant the rows a choice
    moves (the others are the main variant's numbers: the same draws)."""
    main = regionaal_rows(regional[primary])
    key = (lambda r: (r["niveau"], r["code"], r["deelopgave"], r["maatstaf"]))
    by = {key(r): r for r in main}
    figures = (lambda r: tuple(r.get(f) for f in ("mean", "p5", "p50", "p95", "kans_eerste")))
    return main + [r for v, reg in regional.items() if v != primary for r in regionaal_rows(reg)
                   if figures(r) != figures(by[key(r)])]


def regional_paragraph(reg, verdeling) -> str:
    """What ``summary.md`` says about the regions: the tables, how the keys divide, and what that assumes."""
    keys = "; ".join(f"{d}: {k.basis}" + (f" × ({', '.join(i.naam for i in k.indicatoren)})" if k.indicatoren else "")
                     for d, k in verdeling.sleutels.items())
    return ("## Regio's\n\nElke deelopgave is per trekking over de gemeenten verdeeld met een eigen verdeelsleutel "
            f"({verdeling.path}): een basis (inwoners, huishoudens of woningen, CBS KWB 2025) met indicatoren "
            "waarvan het gewicht onzeker is, en een spreiding per gemeente voor wat de indicatoren niet verklaren "
            "(breder waar een indicator ontbreekt). Sleutels: " + keys + ". De gewichten van verschillende sleutels "
            "zijn onafhankelijk getrokken, en onafhankelijk van de landelijke bedragen (een aanname). Een regio is de "
            f"som van haar gemeenten; statistieken over de eerste {decimal_nl(reg.n, 0)} trekkingen. Alle figuren per "
            "gemeente: regionaal.csv en de groep regionaal van dataset.nc.\n\n"
            + tables.regional_table(reg, markdown=True) + "\n\n"
            + tables.regional_deelopgaven_table(reg, TITELS, markdown=True))


def variants_paragraph(varianten, names, priors) -> str:
    """What ``summary.md`` says first: the variants evaluated, their choices, and that they share their draws."""
    lines = [f"## Beleidsvarianten\n\nDe bandbreedtes van het rapport komen uit keuzes (normniveau, vraagjaar), niet "
             "uit onzekerheid: elke variant zet die keuzes vast en heeft een eigen interval. Alle varianten gebruiken "
             "dezelfde trekkingen van elke onzekere invoer (gemeenschappelijke trekkingen), dus hun verschil komt "
             f"alleen uit de keuze. Hoofdvariant: **{names[0]}**.\n"]
    for v in names:
        values = ", ".join(f"{k} = {decimal_nl(x, 0)}" for k, x in variant_values(priors, v, varianten).items())
        lines.append(f"- **{v}** ({varianten[v].titel}): {values}")
    return "\n".join(lines)
