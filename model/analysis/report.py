"""Report mode: the kernels evaluated at each prior's point value, laid out as the report's tables.

The kernels are the registry's, evaluated in registry order on the point values (``model.deelopgaven.registry
.evaluate``: the same functions the engine compiles; the tests check that the compiled engine at the point values
gives these numbers). Bandwidths are computed as the report did: the band entries (the facility norm level and
the demand year) take their values at each setting of ``model.spec.published.SETTINGS`` (``laag``/``hoog`` for the
band's ends, and the other two cells of §3.5); every other entry stays at its point value. PM lines are reported
on their own and never added to the totals.
"""

from __future__ import annotations

import math
from typing import Mapping

from model.deelopgaven.registry import (DEELOPGAVEN, KOLOMMEN, NIET_GEKWANTIFICEERD, check_inputs, evaluate,
                                       non_finite_message)
from model.errors import PriorError
from model.spec.data import Gebieden, load_gebieden
from model.spec.priors import PriorSet, load_priors
from model.spec.published import setting_values

#: The two ends of the report's bandwidths.
ENDS = ("laag", "hoog")
#: The four cells of §3.5 (demand now/2035 × norm Q1/median) and the setting of model.spec.published each is.
CAPACITEIT_CELLS = {"nu_q1": "laag", "nu_mediaan": "nu_mediaan", "2035_q1": "2035_q1", "2035_mediaan": "hoog"}


def input_values(priors: PriorSet, gebieden: Gebieden, setting: str = "point",
                 overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Every kernel input at the point values, with the band entries at ``setting`` (``point``: their own point
    values; else a setting of ``model.spec.published.SETTINGS``) and then ``overrides``."""
    values = priors.values("point")
    if setting != "point":
        values.update(setting_values(priors, setting))
    values.update(gebieden.quantities())
    if overrides:
        unknown = set(overrides) - set(values)
        if unknown:
            raise KeyError(f"unknown inputs in overrides: {sorted(unknown)}")
        values.update(overrides)
    check_inputs(values, where=priors.directory)
    return {k: float(v) for k, v in values.items()}


def evaluate_setting(priors: PriorSet, gebieden: Gebieden, setting: str = "point",
                     overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Every line (EUR, or the quantity's unit) at one report setting, as floats; a line that is not finite is a
    PriorError naming the entries it depends on."""
    values = input_values(priors, gebieden, setting, overrides)
    lines = {k: float(v) for k, v in evaluate(values).items()}
    bad = [k for k, v in lines.items() if not math.isfinite(v)]
    if bad:
        raise PriorError(non_finite_message(priors.directory, f"{', '.join(bad[:5])} at setting {setting}", bad,
                                            lambda n: abs(values.get(n, 0.0))))
    return lines


def _deelopgave_total(lines: Mapping[str, float], d) -> float:
    return sum(lines[line.naam] for line in d.lines if not line.hulp)


def reproduce(priors: PriorSet | None = None, gebieden: Gebieden | None = None) -> dict:
    """All figures of report mode, in euros (quantities in their own units)."""
    priors = priors if priors is not None else load_priors(fit=False)
    gebieden = gebieden if gebieden is not None else load_gebieden()
    at = {s: evaluate_setting(priors, gebieden, s) for s in ENDS}
    looptijd = priors["looptijd_jaren"].point

    deelopgaven = []
    totaal = {k: [0.0, 0.0] for k in KOLOMMEN}
    pm = []
    for d in DEELOPGAVEN:
        if d.kolom is None:
            continue
        laag, hoog = (_deelopgave_total(at[s], d) for s in ENDS)
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
    for label, setting in CAPACITEIT_CELLS.items():
        v = evaluate_setting(priors, gebieden, setting)
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
