"""Report mode: the kernels evaluated at each prior's point value, laid out as the report's tables.

Bandwidths are computed as the report did: entries with a ``band`` (the facility norm level and the demand
year) take their ``laag`` value for the low end and their ``hoog`` value for the high end; every other entry
stays at its point value. PM lines are reported on their own and never added to the totals.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from model.data import Gebieden, load_gebieden
from model.evaluate import check_inputs, data_inputs, evaluate
from model.priors import PriorSet, load_priors
from model.registry import DEELOPGAVEN, DOELEN, KOLOMMEN, NIET_GEKWANTIFICEERD

SETTINGS = ("laag", "hoog")


def input_values(priors: PriorSet, gebieden: Gebieden, setting: str = "point",
                 overrides: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Length-1 arrays of every kernel input at a report setting (``point``, ``laag`` or ``hoog``)."""
    values = {name: float(v) for name, v in priors.values(setting).items()}
    values.update(data_inputs(gebieden))
    if overrides:
        unknown = set(overrides) - set(values)
        if unknown:
            raise KeyError(f"unknown inputs in overrides: {sorted(unknown)}")
        values.update(overrides)
    check_inputs(values, where=priors.directory)
    return {k: np.array([v], dtype=float) for k, v in values.items()}


def evaluate_setting(priors: PriorSet, gebieden: Gebieden, setting: str = "point",
                     overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Every line (EUR, or the quantity's unit) at one report setting, as floats."""
    lines = evaluate(input_values(priors, gebieden, setting, overrides))
    return {k: float(np.asarray(v)[0]) for k, v in lines.items()}


def _deelopgave_total(lines: Mapping[str, float], d) -> float:
    return sum(lines[line.naam] for line in d.lines if not line.hulp)


def reproduce(priors: PriorSet | None = None, gebieden: Gebieden | None = None) -> dict:
    """All figures of report mode, in euros (quantities in their own units)."""
    priors = priors if priors is not None else load_priors()
    gebieden = gebieden if gebieden is not None else load_gebieden()
    at = {s: evaluate_setting(priors, gebieden, s) for s in SETTINGS}
    looptijd = priors["looptijd_jaren"].point

    deelopgaven = []
    totaal = {k: [0.0, 0.0] for k in KOLOMMEN}
    pm = []
    for d in DEELOPGAVEN:
        if d.kolom is None:
            continue
        laag, hoog = (_deelopgave_total(at[s], d) for s in SETTINGS)
        row = {"deelopgave": d.naam, "titel": d.titel, "doel": d.doel, "kolom": d.kolom, "pm": d.pm,
               "band": d.band, "laag": laag, "hoog": hoog}
        deelopgaven.append(row)
        if d.pm:
            pm.append(row)
        else:
            totaal[d.kolom][0] += laag
            totaal[d.kolom][1] += hoog
    per_jaar = {k: [v[0] / looptijd, v[1] / looptijd] for k, v in totaal.items()}
    by = {r["deelopgave"]: r for r in deelopgaven}
    point = evaluate_setting(priors, gebieden, "point")

    def lines_at(s, names):
        return sum(at[s][n] for n in names)

    capaciteit = {}
    for label, niveau, jaar in (("nu_q1", 0.0, 0.0), ("nu_mediaan", 1.0, 0.0), ("2035_q1", 0.0, 1.0),
                                ("2035_mediaan", 1.0, 1.0)):
        v = evaluate_setting(priors, gebieden, "point", {"normniveau": niveau, "vraagjaar": jaar})
        capaciteit[label] = v["capaciteit_publiek"] + v["capaciteit_privaat"]
    veilig = [r for r in deelopgaven if r["doel"] == "veilig_leefbaar"]
    return {
        "eenheid": "EUR (prijspeil zoals in de priors); hoeveelheden in eigen eenheid",
        "totaal": {k: [v[0], v[1]] for k, v in totaal.items()},
        "per_jaar": per_jaar,
        "deelopgaven": deelopgaven,
        "pm": pm,
        "pm_niet_gekwantificeerd": dict(NIET_GEKWANTIFICEERD),
        "tabel_1_1": {"inwoners": point["inwoners_npvr"], "woningen": point["woningen_npvr"],
                      "huishoudens": point["huishoudens_npvr"]},
        "tabel_2_1": {**{r["deelopgave"]: r["laag"] for r in veilig},
                      "totaal": sum(r["laag"] for r in veilig)},
        "tabel_3_1": {
            "bereikbaarheid": [by["bereikbaarheid"]["laag"], by["bereikbaarheid"]["hoog"]],
            "ov": by["ov_exploitatie"]["laag"] + by["ov_eenmalig"]["laag"],
            "capaciteit": [by["capaciteit"]["laag"], by["capaciteit"]["hoog"]],
        },
        "bereikbaarheid_groepen": {
            g: [lines_at("laag", [f"bereikbaarheid_{g}"]), lines_at("hoog", [f"bereikbaarheid_{g}"])]
            for g in ("commercieel", "publiek", "ontmoeting")
        },
        "capaciteit_nu_2035": capaciteit,
        "ov_exploitatie_per_jaar": by["ov_exploitatie"]["laag"] / looptijd,
        "gezonde_toekomst": by["gezonde_toekomst"]["laag"],
    }


def mld(x: float, digits: int = 1) -> str:
    """Euros as the report prints them: '€0,7 mld.'"""
    return f"€{x / 1e9:.{digits}f}".replace(".", ",") + " mld."


def _cell(row: dict) -> str:
    digits = 3 if row["deelopgave"] == "ov_eenmalig" else 1
    if abs(row["hoog"] - row["laag"]) > 1e-6 * max(1.0, abs(row["hoog"])):
        s = f"{mld(row['laag'], digits)[:-5]} - {mld(row['hoog'], digits)}"
    else:
        s = mld(row["laag"], digits)
    return ("PM " if row["pm"] else "") + s


def format_table(result: dict) -> str:
    """Table 1.2 of the report, as text, computed from the priors."""
    cols = list(KOLOMMEN)
    width = 34
    head = f"{'Opgave NPVR-gebieden 2025 t/m 2035':58}" + "".join(f"{KOLOMMEN[c][:width - 2]:>{width}}" for c in cols)
    out = [head, "-" * len(head)]
    for doel in ("veilig_leefbaar", "voorzieningen", "gezonde_toekomst"):
        out.append(f"Doelstelling: {DOELEN[doel]}")
        for row in result["deelopgaven"]:
            if row["doel"] != doel:
                continue
            cells = [(_cell(row) if row["kolom"] == c else "") for c in cols]
            out.append(f"  {row['titel'][:56]:56}" + "".join(f"{c:>{width}}" for c in cells))
    out.append("-" * len(head))

    def tot(key, digits):
        cells = []
        for c in cols:
            lo, hi = result[key][c]
            s = mld(lo, digits) if abs(hi - lo) < 1e-6 * max(1, hi) else f"{mld(lo, digits)[:-5]} - {mld(hi, digits)}"
            if any(r["pm"] and r["kolom"] == c for r in result["pm"]):
                s += " + PM"
            cells.append(s)
        return cells

    out.append(f"{'Totaal (PM-posten niet inbegrepen)':58}" + "".join(f"{c:>{width}}" for c in tot("totaal", 1)))
    out.append(f"{'Per jaar':58}" + "".join(f"{c:>{width}}" for c in tot("per_jaar", 2)))
    out.append("")
    out.append("PM-posten (eigen priors, buiten de totalen):")
    for row in result["pm"]:
        out.append(f"  {row['titel']:56} {KOLOMMEN[row['kolom']]:>38}: {mld(row['laag'], 2)[:-5]} - {mld(row['hoog'], 2)}")
    for naam, why in result["pm_niet_gekwantificeerd"].items():
        out.append(f"  {naam}: niet gekwantificeerd. {why}")
    t11 = result["tabel_1_1"]
    out.append("")
    out.append(f"Tabel 1.1: inwoners {t11['inwoners']:,.0f}; woningen {t11['woningen']:,.0f} (CBS KWB 2024; "
               f"zie docs/deviations.md D1)")
    return "\n".join(out)
