"""Tables: the one CSV writer, the ``summary.csv`` schema, and the text and markdown tables people read.

``summary.csv`` has one row per policy variant and summarised quantity with the columns :data:`SUMMARY_FIELDS`:
the variant (``model.spec.varianten``; the run's main variant first), what it is (``output``, ``soort``,
``long_name``, ``pm``), its statistics (``model.analysis.summary.STATISTICS``, in euros) and the report's printed
figure for it in that variant with the model's percentile of it (``rapport``, ``p_rapport``: the share of draws at
or below the figure; empty where the report prints none).
Every command that writes a summary writes this schema.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from model.analysis.afhankelijkheid import AANNAME_NAMEN
from model.analysis.summary import REPORT_FIELDS, STATISTICS, differs
from model.deelopgaven.registry import DOELEN, KOLOMMEN, TITELS
from model.spec.data import REGIOS
from model.output.format import decimal_nl, mld, mld_range

SUMMARY_FIELDS = ("variant", "output", "soort", "long_name", "pm", *STATISTICS, *REPORT_FIELDS)
_NUMERIC = (*STATISTICS, *REPORT_FIELDS)


def _cell(value: Any) -> Any:
    if type(value) is float or type(value) is np.float64:
        return value    # the csv module writes str(x): every digit for a Python float and a numpy float64 alike
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return repr(float(value))   # every digit: the CSV round-trips exactly (numpy scalars as plain numbers)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(map(str, value))
    return "" if value is None else value


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> Path:
    """Write ``rows`` (only the columns ``fields``, in that order) as UTF-8 CSV with exact floats."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(fields)
        for row in rows:
            w.writerow([_cell(row.get(k)) for k in fields])
    return Path(path)


def write_summary(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    return write_csv(path, rows, SUMMARY_FIELDS)


def read_summary(path: Path) -> list[dict]:
    """The rows of a ``summary.csv`` (numbers as floats, ``pm`` as bool, empty figures as None)."""
    from model.errors import PriorError

    try:
        with Path(path).open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != SUMMARY_FIELDS:
                raise PriorError(f"{path}: (header): not a summary.csv of this schema")
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise PriorError(f"{path}: (file): cannot read ({type(exc).__name__})") from None
    out = []
    for i, row in enumerate(rows, start=2):
        if None in row or None in row.values():   # a short or a long row (a truncated file)
            raise PriorError(f"{path}: line {i}: not a complete summary row")
        try:
            parsed = dict(row)
            parsed["pm"] = row["pm"] == "1"
            for k in _NUMERIC:
                parsed[k] = None if row[k] in ("", None) else float(row[k])
        except (TypeError, ValueError):
            raise PriorError(f"{path}: line {i}: not a complete summary row") from None
        out.append(parsed)
    return out


# ----------------------------------------------------------------------------------------- text tables
def _table(header: list[str], lines: list[list[str]], markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(out + ["| " + " | ".join(row) + " |" for row in lines])
    widths = [max(len(str(x[i])) for x in [header] + lines) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), "-" * (sum(widths) + 2 * len(widths))] + [fmt.format(*r) for r in lines])


def _pct(share) -> str:
    """A share as the percentile people read: 0.337 -> '34'; '<1' and '>99' at the ends."""
    p = 100.0 * share
    return "<1" if p < 0.5 else ">99" if p > 99.5 else f"{p:.0f}"


def _num(x) -> str:
    return mld(x, 2, euro=False)


def dependence_table(rows: list[dict], *, markdown: bool = False) -> str:
    """Each column total's interval under the three assumptions about the dependence between its deelopgaven
    (``model.analysis.afhankelijkheid``), per variant, in mld. €."""
    header = ["kolom (mld. €, prijspeil 2024)", "variant", "aanname", "P5", "P50", "P95", "breedte P5-P95"]
    lines = [[KOLOMMEN.get(r["kolom"], r["kolom"]), r["variant"], AANNAME_NAMEN[r["aanname"]], _num(r["p5"]),
              _num(r["p50"]), _num(r["p95"]), _num(r["p95"] - r["p5"])] for r in rows]
    return _table(header, lines, markdown)


def _rapport(r: Mapping[str, Any]) -> str:
    if r["rapport"] is not None:
        return f"{_num(r['rapport'])} (P{_pct(r['p_rapport'])})"
    return "PM" if r["pm"] else ""


OVERVIEW_SOORTEN = ("kolom", "deelopgave", "totaal", "doel", "betaler", "kostensoort")


def overview_table(rows: list[dict], *, markdown: bool = False, others: Sequence[tuple[str, list[dict]]] = ()
                   ) -> str:
    """Table 1.2 with intervals: P5-P95 (P50) per deelopgave and column, with the report's figure beside. An output
    a policy choice moves gets a line per variant (``others``: ``(naam, rows)`` of the variants beside the main
    one), each beside the report's figure for that variant."""
    header = ["uitkomst (mld. €, prijspeil 2024)", "variant", "P5", "P50", "P95", "gemiddelde", "90% HDI",
              "rapport (percentiel)"]
    by = [(v, {o["output"]: o for o in rws}) for v, rws in others]
    lines = []
    for r in rows:
        if r["soort"] not in OVERVIEW_SOORTEN:
            continue
        name = ("PM " if r["pm"] and r["soort"] == "deelopgave" and not row_label(r).endswith("(PM)") else ""
                ) + row_label(r)
        moved = [o[r["output"]] for _, o in by if differs(r, o[r["output"]])]
        for k, x in enumerate([r, *moved]):
            lines.append([name if k == 0 else "", x["variant"] if moved else "alle", _num(x["p5"]), _num(x["p50"]),
                          _num(x["p95"]), _num(x["mean"]), f"{_num(x['hdi90_low'])} - {_num(x['hdi90_high'])}",
                          _rapport(x)])
    return _table(header, lines, markdown)


def skew_paragraph(rows: list[dict], parts: Mapping[str, Sequence[str]]) -> str:
    """One paragraph, computed from the rows, on why mean, median and the report's point figure differ per column
    (``parts``: the deelopgaven of each column, ``model.analysis.afhankelijkheid.column_parts``)."""
    by = {r["output"]: r for r in rows}
    zinnen = []
    for kolom, names in parts.items():
        t = by[f"totaal_{kolom}"]
        som = sum(by[n]["p50"] for n in names)
        zin = (f"{KOLOMMEN[kolom]}: gemiddelde {_num(t['mean'])}, mediaan (P50) {_num(t['p50'])}, som van de "
               f"medianen van de {len(names)} deelopgave(n) {_num(som)}")
        if t["rapport"] is not None:
            zin += f"; het rapport ({_num(t['rapport'])}) ligt op P{_pct(t['p_rapport'])}"
        zinnen.append(zin + ".")
    return ("Gemiddelde, mediaan en het puntbedrag van het rapport verschillen doordat de kosten scheef verdeeld "
            "zijn (een lange staart naar boven): het gemiddelde ligt boven de mediaan, en de mediaan van een som van "
            "scheve delen ligt boven de som van hun medianen. Het rapport telt puntwaarden op, dus zijn bedrag ligt "
            f"vaak onder de mediaan van het model. Variant {rows[0]['variant']}: " + " ".join(zinnen) + " (mld. €)")


def regional_table(reg, *, markdown: bool = False) -> str:
    """Per region (``model.analysis.regionaal.Regionaal``): P5 / P50 / P95 and mean of the total without PM
    (mld. €), its P50 per inhabitant (€) and the probability that the region's total per inhabitant is the
    highest."""
    inw = reg.per_regio(reg.inwoners)
    stats = reg.kolom_stats[0]
    header = [f"regio (variant {reg.variant}, totaal zonder PM, mld. €, prijspeil 2024)", "P5", "P50", "P95",
              "gemiddelde", "P50 € per inwoner"]
    lines = [[naam, _num(stats[i, 1]), _num(stats[i, 2]), _num(stats[i, 3]), _num(stats[i, 0]),
              decimal_nl(stats[i, 2] / inw[i], 0)] for i, naam in enumerate(REGIOS)]
    return _table(header, lines, markdown)


def regional_deelopgaven_table(reg, titles: Mapping[str, str], *, markdown: bool = False) -> str:
    """Per deelopgave and region: the P50 per inhabitant (€), and the region most likely to rank first per
    inhabitant with that probability."""
    inw = reg.per_regio(reg.inwoners)
    header = ["deelopgave (P50 € per inwoner, prijspeil 2024)", *REGIOS, "vaakst hoogst per inwoner"]
    lines = []
    for k, d in enumerate(reg.deelopgaven):
        top = int(np.argmax(reg.kans_eerste_per_inwoner[k]))
        lines.append([("PM " if reg.pm[k] else "") + titles.get(d, d),
                      *[decimal_nl(reg.regio_stats[k, i, 2] / inw[i], 0) for i in range(len(REGIOS))],
                      f"{REGIOS[top]} ({_pct(reg.kans_eerste_per_inwoner[k, top])}%)"])
    return _table(header, lines, markdown)


def _figures_json(r: Mapping[str, Any]) -> dict:
    """The report's figure of a row (in its variant), the share of draws at or below it and P(cost > figure)."""
    if r["rapport"] is None:
        return {"rapport": None, "p_rapport": None, "p_boven_rapport": None}
    return {"rapport": r["rapport"], "p_rapport": r["p_rapport"], "p_boven_rapport": 1.0 - r["p_rapport"]}


_JSON_KEYS = ("mean", "p5", "p10", "p15", "p50", "p85", "p90", "p95", "hdi90_low", "hdi90_high", "cv")


def _totals_json(rows: list[dict], keys: Sequence[str] = _JSON_KEYS) -> dict:
    by = {r["output"]: r for r in rows}
    return {k: {**{s: by[f"totaal_{k}"][s] for s in keys}, **_figures_json(by[f"totaal_{k}"])} for k in KOLOMMEN}


def varianten_json(variants: Mapping[str, list[dict]], info: Mapping[str, Any]) -> dict:
    """The member ``varianten`` of ``cli.py run --json``: per variant its title, the values of the choices and
    ``totaal`` per column (mean, P5, P50, P95, the report's figure for that variant and ``p_rapport``, the share
    of draws at or below it), plus ``deelopgaven`` (the same per deelopgave)."""
    keys = ("mean", "p5", "p50", "p95")
    out = {}
    for naam, rows in variants.items():
        out[naam] = {**info[naam], "totaal": _totals_json(rows, keys),
                     "deelopgaven": {r["output"]: {**{s: r[s] for s in keys}, **_figures_json(r)}
                                     for r in rows if r["soort"] == "deelopgave"}}
    return out


def summary_json(rows: list[dict]) -> dict:
    """The JSON of ``cli.py run --json``: the variant, ``totaal`` per column, ``pm`` per PM deelopgave, and every
    row (of that variant)."""
    return {
        "eenheid": "EUR",
        "variant": rows[0]["variant"],
        "totaal": _totals_json(rows),
        "pm": {r["output"]: {s: r[s] for s in _JSON_KEYS} for r in rows if r["soort"] == "deelopgave" and r["pm"]},
        "uitkomsten": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                       for r in rows],
    }


def jaren_json(rows: list[dict], discontovoet: float) -> dict:
    """The year model in ``cli.py run --json`` (member ``jaren``): per goal and the total without PM, per year, in
    prices of 2024 (``reeel``) and current prices (``nominaal``); the present value per 1-1-2025 at the standard
    rate ``discontovoet`` and the sensitivity rates (keys: the rate as text, e.g. ``"0.0225"``)."""
    per_jaar: dict[str, dict] = {"reeel": {}, "nominaal": {}}
    for r in rows:
        if r["soort"].startswith("per_jaar_"):
            per_jaar[r["soort"].removeprefix("per_jaar_")].setdefault(r["groep"], {})[str(r["jaar"])] = \
                {s: r[s] for s in _JSON_KEYS}
    cw = {f"{r['discontovoet']:.4f}": {s: r[s] for s in _JSON_KEYS} for r in rows if r["soort"] == "contante_waarde"}
    return {"eenheid": "EUR", "prijspeil": 2024, "discontovoet": discontovoet, "per_jaar": per_jaar,
            "contante_waarde": cw}


def output_label(name: str) -> str:
    """A summarised output's name as people read it: 'totaal_investeringsopgave' -> 'Totaal Publieke & private
    investeringsopgave (zonder PM)', 'doel_voorzieningen' -> 'Doel: ...', 'contante_waarde_0.0225' -> 'Contante
    waarde bij 2,25%'; other names with spaces for underscores."""
    if name == "totaal_pm":
        return "Totaal PM-posten"
    if name.startswith("totaal_") and name.removeprefix("totaal_") in KOLOMMEN:
        return f"Totaal {KOLOMMEN[name.removeprefix('totaal_')]} (zonder PM)"
    if name.startswith("doel_") and name.removeprefix("doel_") in DOELEN:
        return f"Doel: {DOELEN[name.removeprefix('doel_')]} (zonder PM)"
    if name.startswith("contante_waarde_"):
        return f"Contante waarde bij {decimal_nl(100 * float(name.rsplit('_', 1)[1]), 2)}% (zonder PM)"
    return name.replace("_", " ")


def row_label(r: Mapping[str, Any]) -> str:
    """What a summary row is called where people read it: a deelopgave's title (as in the report), a total's or
    goal's long name (:func:`output_label`), else the row's own long name."""
    if r["output"] in TITELS:
        return TITELS[r["output"]]
    if r["output"].startswith(("totaal_", "contante_waarde_", "doel_")):
        return output_label(r["output"])
    return str(r["long_name"]).replace("_", " ")


def batch_table(rows: list[Mapping[str, Any]], scenarios: Sequence[str], *, markdown: bool = False) -> str:
    """The batch comparison side by side (``batch_vergelijking.csv``: per output, variant and statistic a row, a
    column per scenario): per output and variant one line, per scenario ``P50 (P5 - P95)`` in mld. €."""
    by: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
    for r in rows:
        by.setdefault((r["output"], r["variant"]), {})[r["statistiek"]] = r

    def cell(stats, s) -> str:
        if any(stats.get(k, {}).get(s) in (None, "") for k in ("p5", "p50", "p95")):
            return ""
        return f"{_num(float(stats['p50'][s]))} ({_num(float(stats['p5'][s]))} - {_num(float(stats['p95'][s]))})"

    header = ["uitkomst (mld. €, prijspeil 2024; P50 (P5 - P95))", "variant", *scenarios]
    return _table(header, [[output_label(o), v, *[cell(stats, s) for s in scenarios]] for (o, v), stats in by.items()],
                  markdown)


def jaren_table(rows: list[dict], *, markdown: bool = False) -> str:
    """The present value of the total without PM per discount rate (mld. €, prijspeil 2024), main variant."""
    header = [f"contante waarde per 1-1-2025 (variant {rows[0]['variant']}, mld. €)", "P5", "P50", "P95",
              "gemiddelde"]
    lines = [[f"bij {decimal_nl(100 * r['discontovoet'], 2)}%", _num(r["p5"]), _num(r["p50"]), _num(r["p95"]),
              _num(r["mean"])] for r in rows if r["soort"] == "contante_waarde"]
    return _table(header, lines, markdown)


def report_table(result: dict) -> str:
    """Table 1.2 of the report, as text, from report mode (``model.analysis.report.reproduce``)."""
    cols = list(KOLOMMEN)
    width = 34
    head = f"{'Opgave NPVR-gebieden 2025 t/m 2035':58}" + "".join(f"{KOLOMMEN[c][:width - 2]:>{width}}" for c in cols)
    out = [head, "-" * len(head)]
    for doel in ("veilig_leefbaar", "voorzieningen", "gezonde_toekomst"):
        out.append(f"Doelstelling: {DOELEN[doel]}")
        for row in result["deelopgaven"]:
            if row["doel"] != doel:
                continue
            digits = 3 if row["deelopgave"] == "ov_eenmalig" else 1
            cell = ("PM " if row["pm"] else "") + mld_range(row["laag"], row["hoog"], digits)
            cells = [(cell if row["kolom"] == c else "") for c in cols]
            out.append(f"  {row['titel'][:56]:56}" + "".join(f"{c:>{width}}" for c in cells))
    out.append("-" * len(head))

    def tot(key, digits):
        cells = []
        for c in cols:
            lo, hi = result[key][c]
            s = mld_range(lo, hi, digits)
            if any(r["pm"] and r["kolom"] == c for r in result["pm"]):
                s += " + PM"
            cells.append(s)
        return cells

    out.append(f"{'Totaal (PM-posten niet inbegrepen)':58}" + "".join(f"{c:>{width}}" for c in tot("totaal", 1)))
    out.append(f"{'Per jaar':58}" + "".join(f"{c:>{width}}" for c in tot("per_jaar", 2)))
    out.append("")
    out.append("PM-posten (eigen priors, buiten de totalen):")
    for row in result["pm"]:
        out.append(f"  {row['titel']:56} {KOLOMMEN[row['kolom']]:>38}: {mld_range(row['laag'], row['hoog'], 2)}")
    for naam, why in result["pm_niet_gekwantificeerd"].items():
        out.append(f"  {naam}: niet gekwantificeerd. {why}")
    t11 = result["tabel_1_1"]
    out.append("")
    out.append(f"Tabel 1.1: inwoners {t11['inwoners']:,.0f}; woningen {t11['woningen']:,.0f} (CBS KWB 2024; "
               f"zie docs/deviations.md D1)")
    return "\n".join(out)
