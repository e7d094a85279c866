"""Summaries of a Monte Carlo run: mean, quantiles, 90% HDI, coefficient of variation, MC standard errors.

Kept runs use the draws themselves; streaming runs use their fine histograms (2^11 bins over a pilot range),
through one quantile-function interface, so both give the same table.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from model.engine import N_BINS, RunResult
from model.data import REGIOS
from model.published import REPORT_FIGURES
from model.registry import KOLOMMEN

PROBS = (0.05, 0.10, 0.15, 0.50, 0.85, 0.90, 0.95)
HDI_MASS = 0.90
Z95 = 1.959963984540054


def _quantile_function(result: RunResult, o: int):
    n = result.draws
    if result.outputs is not None:
        ys = np.sort(result.outputs[o])
        ranks = np.arange(n, dtype=float)

        def q(u):  # numpy's default ('linear') quantile, on the sorted draws
            return np.interp(np.clip(u, 0.0, 1.0) * (n - 1), ranks, ys)
        return q
    lo, width = result.hist
    counts = result.stats.counts[o].astype(float)
    under, over = float(result.stats.under[o]), float(result.stats.over[o])
    edges = lo[o] + width[o] * np.arange(N_BINS + 1)
    first = result.stats.below[o] if under > 0 else edges[0]  # the extremes outside the bins, if any
    last = result.stats.above[o] if over > 0 else edges[-1]
    edges = np.concatenate([[first], edges, [last]])
    cdf = np.concatenate([[0.0], np.cumsum(np.concatenate([[under], counts, [over]])) / n])
    # drop empty steps so interpolation is well defined
    keep = np.concatenate([[True], np.diff(cdf) > 0])

    def q(u):
        return np.interp(np.clip(u, 0.0, 1.0), cdf[keep], edges[keep])
    return q


def _hdi(q, mass: float = HDI_MASS, grid: int = 2001) -> tuple[float, float]:
    u = np.linspace(0.0, 1.0 - mass, grid)
    lo, hi = q(u), q(u + mass)
    i = int(np.argmin(hi - lo))
    return float(lo[i]), float(hi[i])


def _mcse_quantile(q, p: float, n: int) -> float:
    """MC standard error of the p-quantile from the binomial spread of the order statistic."""
    d = Z95 * np.sqrt(p * (1.0 - p) / n)
    return float((q(min(p + d, 1.0)) - q(max(p - d, 0.0))) / (2.0 * Z95))


def summarise(result: RunResult) -> list[dict]:
    """One row per output: the statistics the overview table and the JSON report."""
    st = result.stats
    n = st.n
    rows = []
    for o, out in enumerate(result.plan.outputs):
        q = _quantile_function(result, o)
        mean = float(st.mean[o])
        sd = float(np.sqrt(st.m2[o] / max(n - 1, 1)))
        qs = {f"p{int(round(p * 100))}": float(q(p)) for p in PROBS}
        hdi = _hdi(q)
        row = {"output": out.naam, "soort": out.soort, "long_name": out.long_name, "pm": out.pm,
               "mean": mean, "sd": sd, "cv": sd / mean if mean else float("nan"), **qs,
               "hdi90_low": hdi[0], "hdi90_high": hdi[1], "mcse_mean": sd / np.sqrt(n),
               **{f"mcse_p{int(round(p * 100))}": _mcse_quantile(q, p, n) for p in PROBS}}
        fig = REPORT_FIGURES.get(out.naam)
        row["rapport_laag"], row["rapport_hoog"] = (fig[0], fig[1]) if fig else (None, None)
        rows.append(row)
    return rows


def summary_json(rows: list[dict]) -> dict:
    by = {r["output"]: r for r in rows}
    keys = ("mean", "p5", "p10", "p15", "p50", "p85", "p90", "p95", "hdi90_low", "hdi90_high", "cv")
    return {
        "eenheid": "EUR",
        "totaal": {k: {s: by[f"totaal_{k}"][s] for s in keys}
                   for k in ("publieke_restopgave", "exploitatielasten", "investeringsopgave")},
        "pm": {r["output"]: {s: r[s] for s in keys} for r in rows if r["soort"] == "deelopgave" and r["pm"]},
        "uitkomsten": rows,
    }


def _fmt(x) -> str:
    return "" if x is None else f"{x / 1e9:.2f}".replace(".", ",")


def overview_table(rows: list[dict], *, markdown: bool = False) -> str:
    """Table 1.2 with intervals: P5-P95 (P50) per deelopgave and column, with the report's figure beside."""
    header = ["uitkomst (mld. €)", "P5", "P50", "P95", "gemiddelde", "90% HDI", "rapport"]
    lines = []
    for r in rows:
        if r["soort"] not in ("kolom", "deelopgave", "totaal", "doel", "betaler", "kostensoort"):
            continue
        rap = ""
        if r["rapport_laag"] is not None:
            rap = _fmt(r["rapport_laag"]) if r["rapport_laag"] == r["rapport_hoog"] else \
                f"{_fmt(r['rapport_laag'])} - {_fmt(r['rapport_hoog'])}"
        elif r["pm"]:
            rap = "PM"
        name = ("PM " if r["pm"] and r["soort"] == "deelopgave" else "") + r["output"]
        lines.append([name, _fmt(r["p5"]), _fmt(r["p50"]), _fmt(r["p95"]), _fmt(r["mean"]),
                      f"{_fmt(r['hdi90_low'])} - {_fmt(r['hdi90_high'])}", rap])
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(row) + " |" for row in lines]
        return "\n".join(out)
    widths = [max(len(str(x[i])) for x in [header] + lines) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), "-" * (sum(widths) + 2 * len(widths))] + [fmt.format(*r) for r in lines])


def regional_table(rows: list[dict], *, markdown: bool = False) -> str:
    """Per region: P5 / P50 / P95 of the total without PM (mld. €)."""
    sel = [r for r in rows if r["soort"] == "regio"]
    if markdown:
        out = ["| regio | P5 | P50 | P95 | gemiddelde |", "|---|---|---|---|---|"]
        out += [f"| {r['long_name'].split(':')[0]} | {_fmt(r['p5'])} | {_fmt(r['p50'])} | {_fmt(r['p95'])} | "
                f"{_fmt(r['mean'])} |" for r in sel]
    else:
        out = [f"{'regio (totaal zonder PM, mld. €)':34}{'P5':>7}{'P50':>7}{'P95':>7}"]
        out += [f"{r['long_name'].split(':')[0]:34}{_fmt(r['p5']):>7}{_fmt(r['p50']):>7}{_fmt(r['p95']):>7}"
                for r in sel]
    return "\n".join(out)


def to_dataset(result: RunResult, rows: list[dict]) -> xr.Dataset:
    """Labelled results: draws of every output (when kept) and the summary statistics."""
    plan = result.plan
    names = [o.naam for o in plan.outputs]
    coords = {
        "uitkomst": names,
        "soort": ("uitkomst", [o.soort for o in plan.outputs], {"long_name": "Soort uitkomst"}),
        "pm": ("uitkomst", [o.pm for o in plan.outputs], {"long_name": "PM-post (buiten de totalen)"}),
        "statistiek": ["mean", "sd", "cv", *[f"p{int(round(p * 100))}" for p in PROBS], "hdi90_low", "hdi90_high",
                       "mcse_mean", *[f"mcse_p{int(round(p * 100))}" for p in PROBS]],
    }
    stats = np.array([[r[s] for s in coords["statistiek"]] for r in rows])
    data = {"samenvatting": (("uitkomst", "statistiek"), stats,
                             {"units": "EUR (cv: 1)", "long_name": "Samenvatting per uitkomst"})}
    if result.outputs is not None:
        coords["draw"] = np.arange(result.draws)
        data["opgave"] = (("draw", "uitkomst"), result.outputs.T,
                          {"units": "EUR", "long_name": "Financiële opgave 2025-2035 per trekking"})
        for name, arr in (result.inputs or {}).items():
            entry = plan.priors[name]
            data[f"invoer_{name}"] = (("draw",), arr, {"units": entry.unit, "long_name": entry.description})
    by = {r["output"]: r for r in rows}
    if any(o.soort == "regio" for o in plan.outputs):
        kolommen = ["totaal", *KOLOMMEN]
        reg = np.array([[[by[f"regio_{i:02d}" + ("" if k == "totaal" else f"_{k}")][st]
                          for st in coords["statistiek"]] for k in kolommen] for i in range(len(REGIOS))])
        coords["regio"] = list(REGIOS)
        coords["kolom"] = kolommen
        data["regio_samenvatting"] = (("regio", "kolom", "statistiek"), reg,
                                      {"units": "EUR (cv: 1)", "long_name": "Samenvatting per regio en kolom van "
                                       "Tabel 1.2 (zonder PM), verdeeld naar inwoners/woningen"})
    ds = xr.Dataset(data, coords=coords)
    ds["uitkomst"].attrs["long_name"] = "Uitkomst (deelopgave, doel, kolom van Tabel 1.2, betaler, lijn)"
    ds["statistiek"].attrs["long_name"] = "Statistiek"
    ds.attrs.update({"seed": result.seed, "draws": result.draws, "chunk_size": plan.chunk_size,
                     "title": "NPVR Monte Carlo run"})
    return ds
