"""Municipality data: which gemeenten form the NPVR, and their inhabitants and dwellings (Bron: CBS).

Files (in ``data/``, copied from the project's research notes with attribution; see ``data/README.md``):

- ``npvr_gemeenten_reconstructed.csv``: the reconstructed membership (81 gemeenten with confidence
  ``high``/``likely`` plus candidates for the last two of the 83), with CBS KWB 2024 inhabitants and dwellings.
- ``npvr_regio_indicatoren.csv``: per region, the class of §4.2 (``meerdere`` / ``geen`` / ``niet_genoemd``
  bad indicators of 'een gezonde en kansrijke toekomst').
- ``kwb2025_gemeenten.csv``: CBS KWB 2025 (86165NED, 1 Jan 2025) per gemeente and for NL (NL00): inhabitants,
  **households**, dwellings, WOZ, housing types, tenure, building age, urbanity. The loader checks each row
  (positive counts, percentages in [0, 100], urbanity 1-5, no gemeente above the national row, the gemeenten
  together below it) and each member's inhabitants against KWB 2024 (within :data:`KWB_INWONERS_TOLERANCE`).
- ``woondeals_2022_2030.csv`` and ``winkelleegstand_nieuws.csv``: housing agreements to 2030 and retail vacancy
  from news reports, each row with its source; the rows that name NPVR gemeenten (``gm_codes``) give the
  indicators ``woondeal_per_woning`` and ``winkelleegstand`` where a figure exists, and nothing elsewhere.

The indicators of the allocation keys (``model.spec.verdeling``) are :data:`INDICATOREN`, one array per
indicator over the members (NaN where no figure exists).

The official list of 83 municipalities was not available; membership is therefore configurable
(``confidences`` and ``extra`` gemeenten), and scenarios can switch candidates in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.errors import PriorError
from model.paths import DATA_DIR
from model.spec.distributions import short
from model.spec.files import file_hash, read_csv

MEMBERSHIP_FILE = "npvr_gemeenten_reconstructed.csv"
REGION_CLASS_FILE = "npvr_regio_indicatoren.csv"
KWB2025_FILE = "kwb2025_gemeenten.csv"
WOONDEALS_FILE = "woondeals_2022_2030.csv"
LEEGSTAND_FILE = "winkelleegstand_nieuws.csv"
#: A member's inhabitants in KWB 2025 may differ from KWB 2024 by at most this share (one year of change; Westerwolde,
#: with the asylum centre of Ter Apel, grew 3.6%; more is a wrong row, not growth).
KWB_INWONERS_TOLERANCE = 0.05
#: The indicators of the allocation keys: name -> (long name, unit). Built per member by :func:`load_gebieden`.
INDICATOREN = {
    "inwoners": ("Inwoners (KWB 2025, 1 jan 2025)", "inwoners"),
    "huishoudens": ("Huishoudens (KWB 2025, 1 jan 2025)", "huishoudens"),
    "woningen": ("Woningvoorraad (KWB 2025, 1 jan 2025)", "woningen"),
    "woz": ("Gemiddelde WOZ-waarde van woningen (KWB 2025, peiljaar 2024)", "k€"),
    "corporatie": ("Woningen in bezit van een woningcorporatie (KWB 2025)", "%"),
    "meergezins": ("Meergezinswoningen (KWB 2025)", "%"),
    "huur": ("Huurwoningen (KWB 2025)", "%"),
    "bouwjaar_jonger10": ("Woningen gebouwd in de afgelopen tien jaar (KWB 2025)", "%"),
    "stedelijkheid": ("Mate van stedelijkheid (KWB 2025; 1 zeer sterk, 5 niet stedelijk)", "klasse"),
    "bevolkingsgroei": ("Groei van het aantal inwoners 1 jan 2024 - 1 jan 2025 (KWB 2024, KWB 2025)", "%"),
    "woondeal_per_woning": ("Woondeal 2022-2030 (woningen) per woning, waar een afspraak de gemeente noemt", "%"),
    "winkelleegstand": ("Winkelleegstand uit nieuwsberichten, gedeeld door het landelijke cijfer van dezelfde bron",
                        "factor"),
}
#: The membership confidences of the data file, and those a run takes by default.
CONFIDENCES = ("high", "likely", "candidate")
DEFAULT_CONFIDENCES = ("high", "likely")
REGION_CLASSES = ("meerdere", "geen", "niet_genoemd")

# The 11 regions in a fixed order (rijksoverheid.nl, 20 Dec 2024). Used as the `regio` coordinate.
REGIOS = (
    "Kop van Noord-Holland", "Noord- en Oost-Groningen", "Zuidoost-Friesland", "Noard-Fryslân",
    "Zuid- en Oost-Drenthe", "Twente", "Achterhoek", "Noord-Limburg", "Midden-Limburg", "Zuid-Limburg",
    "Zeeuws-Vlaanderen",
)


def sum_per_regio(regio: Sequence[str], values: np.ndarray) -> np.ndarray:
    """Sum per-gemeente ``values`` into the 11 regions (order of REGIOS), ``regio`` each gemeente's region."""
    out = np.zeros(len(REGIOS))
    for r, v in zip(regio, values):
        out[REGIOS.index(r)] += v
    return out


@dataclass(frozen=True)
class Gebieden:
    """The NPVR municipalities of one run: CBS KWB 2024 inhabitants and dwellings (1 Jan 2024; Table 1.1's basis),
    KWB 2025 households (1 Jan 2025) and the indicators of the allocation keys (:data:`INDICATOREN`)."""

    gm_code: tuple[str, ...]
    gemeente: tuple[str, ...]
    regio: tuple[str, ...]
    inwoners: np.ndarray   # persons, 1 Jan 2024
    woningen: np.ndarray   # dwellings (woningvoorraad), 1 Jan 2024
    regio_klasse: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)   # data file -> SHA-256
    huishoudens: np.ndarray = field(default_factory=lambda: np.zeros(0))   # households, 1 Jan 2025 (KWB 2025)
    indicatoren: dict[str, np.ndarray] = field(default_factory=dict)      # name -> per member (NaN: no figure)

    def per_regio(self, values: np.ndarray) -> np.ndarray:
        """Sum a per-gemeente array into the 11 regions (order of REGIOS)."""
        return sum_per_regio(self.regio, values)

    def quantities(self) -> dict[str, float]:
        """Data quantities that enter the kernels as constants."""
        inw_r = self.per_regio(self.inwoners)
        klasse = np.array([self.regio_klasse[r] for r in REGIOS])
        return {
            "inwoners_2024": float(self.inwoners.sum()),
            "woningen_2024": float(self.woningen.sum()),
            "huishoudens_2025": float(self.huishoudens.sum()),
            "inwoners_regio_meerdere_2024": float(inw_r[klasse == "meerdere"].sum()),
            "inwoners_regio_niet_genoemd_2024": float(inw_r[klasse == "niet_genoemd"].sum()),
        }


MEMBERSHIP_COLUMNS = ("npvr_region", "gm_code", "gemeente", "membership_confidence", "inwoners_1jan2024",
                      "woningvoorraad_1jan2024")
REGION_CLASS_COLUMNS = ("npvr_region", "indicatoren_klasse")
GM_CODE = re.compile(r"^GM\d{4}$")


def _positive_int(name: str, line: int, row: dict, key: str) -> int:
    raw = row[key].strip()
    try:
        value = int(raw)
    except ValueError:
        raise PriorError(f"{name}: line {line}: {key}: not a whole number: {short(raw)}") from None
    if value <= 0:
        raise PriorError(f"{name}: line {line}: {key}: must be positive, got {value}")
    return value


def _membership_rows(path: Path) -> list[dict]:
    """Every row of the membership file, checked: a known region and confidence, a unique CBS code, a name,
    positive inhabitants and dwellings."""
    rows, seen = [], {}
    for line, row in read_csv(path, MEMBERSHIP_COLUMNS):
        where = f"{path.name}: line {line}"
        if row["npvr_region"] not in REGIOS:
            raise PriorError(f"{where}: npvr_region: unknown region {short(row['npvr_region'])}")
        code = row["gm_code"]
        if not GM_CODE.match(code):
            raise PriorError(f"{where}: gm_code: not a CBS municipality code (GM and four digits): {short(code)}")
        if code in seen:
            raise PriorError(f"{where}: gm_code: {code} is also on line {seen[code]} (a municipality is listed once)")
        seen[code] = line
        if not row["gemeente"].strip():
            raise PriorError(f"{where}: gemeente: empty")
        if row["membership_confidence"] not in CONFIDENCES:
            raise PriorError(f"{where}: membership_confidence: unknown value {short(row['membership_confidence'])} "
                             f"(known: {', '.join(CONFIDENCES)})")
        rows.append({**row, "line": line, "inwoners": _positive_int(path.name, line, row, "inwoners_1jan2024"),
                     "woningen": _positive_int(path.name, line, row, "woningvoorraad_1jan2024")})
    return rows


def _region_classes(path: Path) -> dict[str, str]:
    klasse: dict[str, str] = {}
    for line, row in read_csv(path, REGION_CLASS_COLUMNS):
        region = row["npvr_region"]
        if region not in REGIOS:
            raise PriorError(f"{path.name}: line {line}: npvr_region: unknown region {short(region)}")
        if region in klasse:
            raise PriorError(f"{path.name}: line {line}: npvr_region: {region} is listed twice")
        if row["indicatoren_klasse"] not in REGION_CLASSES:
            raise PriorError(f"{path.name}: line {line}: indicatoren_klasse: unknown class "
                             f"{short(row['indicatoren_klasse'])} (known: {', '.join(REGION_CLASSES)})")
        klasse[region] = row["indicatoren_klasse"]
    if set(klasse) != set(REGIOS):
        raise PriorError(f"{path.name}: (file): regions missing: {sorted(set(REGIOS) - set(klasse))}")
    return klasse


KWB2025_COUNTS = ("inwoners", "huishoudens", "woningen", "woz_k")
KWB2025_PERCENTAGES = ("corporatie_pct", "meergezins_pct", "huur_pct", "bouwjaar_jonger10_pct")
KWB2025_COLUMNS = ("level", "code", "gemeente", *KWB2025_COUNTS, *KWB2025_PERCENTAGES, "stedelijkheid")
NATIONAL_CODE = "NL00"


def _number(name: str, line: int, row: dict, key: str, lo: float, hi: float, approx: bool = False) -> float:
    """A number of a data row in [lo, hi] (``approx``: a leading ``~``, 'about', is allowed), or a PriorError."""
    raw = row[key].strip()
    text = raw[1:] if approx and raw.startswith("~") else raw
    try:
        value = float(text)
    except ValueError:
        raise PriorError(f"{name}: line {line}: {key}: not a number: {short(raw)}") from None
    if not (lo <= value <= hi):
        raise PriorError(f"{name}: line {line}: {key}: {value:g} outside [{lo:g}, {hi:g}]")
    return value


def _kwb2025(path: Path) -> tuple[dict, dict[str, dict]]:
    """The national row and every gemeente row of the KWB 2025 file, checked: positive counts, percentages in
    [0, 100], urbanity 1-5, households and dwellings below the inhabitants, no gemeente above the national row, and
    the gemeenten together not above it."""
    rows: dict[str, dict] = {}
    national = None
    for line, row in read_csv(path, KWB2025_COLUMNS):
        where = f"{path.name}: line {line}"
        values = {k: _number(path.name, line, row, k, 1, 1e9) for k in KWB2025_COUNTS}
        values.update({k: _number(path.name, line, row, k, 0, 100) for k in KWB2025_PERCENTAGES})
        values["stedelijkheid"] = _number(path.name, line, row, "stedelijkheid", 1, 5)
        for k in ("huishoudens", "woningen"):
            if values[k] > values["inwoners"]:
                raise PriorError(f"{where}: {k}: {values[k]:,.0f} is more than the {values['inwoners']:,.0f} "
                                 "inhabitants")
        values.update(line=line, gemeente=row["gemeente"].strip())
        if row["level"] == "land":
            if row["code"] != NATIONAL_CODE or national is not None:
                raise PriorError(f"{where}: code: the one national row is {NATIONAL_CODE}, got {short(row['code'])}")
            national = values
        elif row["level"] == "gemeente":
            if not GM_CODE.match(row["code"]):
                raise PriorError(f"{where}: code: not a CBS municipality code (GM and four digits): "
                                 f"{short(row['code'])}")
            if row["code"] in rows:
                raise PriorError(f"{where}: code: {row['code']} is also on line {rows[row['code']]['line']}")
            rows[row["code"]] = values
        else:
            raise PriorError(f"{where}: level: unknown level {short(row['level'])} (known: land, gemeente)")
    if national is None:
        raise PriorError(f"{path.name}: (file): no national row {NATIONAL_CODE} (level land), which the sums are "
                         "checked against")
    for k in ("inwoners", "huishoudens", "woningen"):
        for code, values in rows.items():
            if values[k] >= national[k]:
                raise PriorError(f"{path.name}: line {values['line']}: {k}: {code} has {values[k]:,.0f}, not less "
                                 f"than the national {national[k]:,.0f}")
        total = sum(v[k] for v in rows.values())
        if total > national[k]:
            raise PriorError(f"{path.name}: (file): {k}: the gemeenten add up to {total:,.0f}, more than the "
                             f"national row's {national[k]:,.0f}")
    return national, rows


def _areas(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict, tuple[str, ...]]]:
    """The rows of a file of sourced figures that name NPVR gemeenten (``gm_codes``/``gm_code``, CBS codes
    separated by spaces): (line, row, codes)."""
    out = []
    for line, row in read_csv(path, columns):
        codes = tuple(row[columns[-1]].split())
        for code in codes:
            if not GM_CODE.match(code):
                raise PriorError(f"{path.name}: line {line}: {columns[-1]}: not a CBS municipality code: "
                                 f"{short(code)}")
        if codes:
            if not row["source_url"].strip():
                raise PriorError(f"{path.name}: line {line}: source_url: empty (every figure has its source)")
            out.append((line, row, codes))
    return out


def _woondeal_per_woning(path: Path, codes: Sequence[str], woningen: np.ndarray) -> np.ndarray:
    """Agreed new dwellings 2022-2030 per existing dwelling (%), for members a housing agreement names: from the
    most specific agreement (a gemeente's own before its region's; a region's figure, less what its gemeenten
    agreed on their own, over its other gemeenten's dwellings). NaN elsewhere."""
    index = {c: i for i, c in enumerate(codes)}
    out = np.full(len(codes), np.nan)
    rows = _areas(path, ("level", "area", "woningen_2022_2030", "source_url", "gm_codes"))
    for level in ("gemeente", "regio"):
        for line, row, gms in rows:
            if row["level"] != level:
                continue
            homes = _number(path.name, line, row, "woningen_2022_2030", 1, 1e7)
            own = [g for g in gms if g in index and not np.isnan(out[index[g]])]
            rest = [index[g] for g in gms if g in index and g not in own]
            if not rest:
                continue
            if level == "regio":
                homes -= sum(out[index[g]] / 100 * woningen[index[g]] for g in own)
                if homes <= 0:
                    raise PriorError(f"{path.name}: line {line}: woningen_2022_2030: the region's figure is not "
                                     "more than what its gemeenten agreed on their own; nothing is left for "
                                     f"{len(rest)} gemeente(n)")
            out[rest] = 100 * homes / woningen[rest].sum()
    return out


def _winkelleegstand(path: Path, codes: Sequence[str]) -> np.ndarray:
    """Retail vacancy over the national figure of the same source (``referentie_pct``), for members a news figure
    names; NaN elsewhere."""
    index = {c: i for i, c in enumerate(codes)}
    out = np.full(len(codes), np.nan)
    for line, row, gms in _areas(path, ("area", "level", "value_pct", "source_url", "referentie_pct", "gm_code")):
        value = _number(path.name, line, row, "value_pct", 0.1, 100, approx=True)
        ref = _number(path.name, line, row, "referentie_pct", 0.1, 100)
        for g in gms:
            if g in index:
                out[index[g]] = value / ref
    return out


def load_gebieden(confidences: Sequence[str] = DEFAULT_CONFIDENCES, extra: Sequence[str] = (),
                  exclude: Sequence[str] = (), data_dir: Path | None = None) -> Gebieden:
    """Load the municipalities whose membership confidence is in ``confidences``, plus ``extra`` CBS codes, minus
    ``exclude``; a selection without any municipality is refused."""
    data_dir = Path(data_dir) if data_dir is not None else DATA_DIR
    path = data_dir / MEMBERSHIP_FILE
    rows = _membership_rows(path)
    where = f"{path.name}: (membership)"
    if not confidences:
        raise PriorError(f"{where}: confidences: empty (give at least one of {', '.join(CONFIDENCES)})")
    for c in confidences:
        if c not in CONFIDENCES:
            raise PriorError(f"{where}: confidences: unknown confidence {short(c)} (known: {', '.join(CONFIDENCES)})")
    known = {r["gm_code"] for r in rows}
    for key, codes in (("extra", extra), ("exclude", exclude)):
        for code in codes:
            if code not in known:
                raise PriorError(f"{where}: {key}: unknown gemeente code {short(code)}")
    chosen = [r for r in rows if (r["membership_confidence"] in confidences or r["gm_code"] in extra)
              and r["gm_code"] not in exclude]
    if not chosen:
        raise PriorError(f"{where}: no municipality selected (confidences {list(confidences)}, extra {list(extra)}, "
                         f"exclude {len(exclude)} code(s))")
    klasse = _region_classes(data_dir / REGION_CLASS_FILE)
    kwb_path = data_dir / KWB2025_FILE
    _, kwb = _kwb2025(kwb_path)
    for r in chosen:
        k = kwb.get(r["gm_code"])
        if k is None:
            raise PriorError(f"{path.name}: line {r['line']}: gm_code: {r['gm_code']} ({r['gemeente']}) has no row in "
                             f"{kwb_path.name}; every member needs its KWB 2025 figures")
        change = k["inwoners"] / r["inwoners"] - 1
        if abs(change) > KWB_INWONERS_TOLERANCE:
            raise PriorError(f"{path.name}: line {r['line']}: inwoners_1jan2024: {r['inwoners']:,} and KWB 2025's "
                             f"{k['inwoners']:,.0f} ({kwb_path.name} line {k['line']}) differ by {100 * change:+.1f}%, "
                             f"more than {100 * KWB_INWONERS_TOLERANCE:.0f}% in one year: a wrong row in one of them")
    codes = tuple(r["gm_code"] for r in chosen)
    column = (lambda key: np.array([kwb[c][key] for c in codes], dtype=float))
    inwoners_2024 = np.array([r["inwoners"] for r in chosen], dtype=float)
    woningen_2025 = column("woningen")
    indicatoren = {"inwoners": column("inwoners"), "huishoudens": column("huishoudens"), "woningen": woningen_2025,
                   "woz": column("woz_k"), "corporatie": column("corporatie_pct"),
                   "meergezins": column("meergezins_pct"), "huur": column("huur_pct"),
                   "bouwjaar_jonger10": column("bouwjaar_jonger10_pct"), "stedelijkheid": column("stedelijkheid"),
                   "bevolkingsgroei": 100 * (column("inwoners") / inwoners_2024 - 1),
                   "woondeal_per_woning": _woondeal_per_woning(data_dir / WOONDEALS_FILE, codes, woningen_2025),
                   "winkelleegstand": _winkelleegstand(data_dir / LEEGSTAND_FILE, codes)}
    assert set(indicatoren) == set(INDICATOREN)
    files = (path, data_dir / REGION_CLASS_FILE, kwb_path, data_dir / WOONDEALS_FILE, data_dir / LEEGSTAND_FILE)
    return Gebieden(
        gm_code=codes,
        gemeente=tuple(r["gemeente"] for r in chosen),
        regio=tuple(r["npvr_region"] for r in chosen),
        inwoners=inwoners_2024,
        woningen=np.array([r["woningen"] for r in chosen], dtype=float),
        regio_klasse=klasse,
        files={p.name: file_hash(p) for p in files},
        huishoudens=column("huishoudens"),
        indicatoren=indicatoren,
    )
