"""Municipality data: which gemeenten form the NPVR, and their inhabitants and dwellings (Bron: CBS).

Files (in ``data/``, copied from the project's research notes with attribution; see ``data/README.md``):

- ``npvr_gemeenten_reconstructed.csv``: the reconstructed membership (81 gemeenten with confidence
  ``high``/``likely`` plus candidates for the last two of the 83), with CBS KWB 2024 inhabitants and dwellings.
- ``npvr_regio_indicatoren.csv``: per region, the class of §4.2 (``meerdere`` / ``geen`` / ``niet_genoemd``
  bad indicators of 'een gezonde en kansrijke toekomst').

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


@dataclass(frozen=True)
class Gebieden:
    """The NPVR municipalities of one run, with CBS KWB 2024 figures (1 Jan 2024)."""

    gm_code: tuple[str, ...]
    gemeente: tuple[str, ...]
    regio: tuple[str, ...]
    inwoners: np.ndarray   # persons, 1 Jan 2024
    woningen: np.ndarray   # dwellings (woningvoorraad), 1 Jan 2024
    regio_klasse: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)   # data file -> SHA-256

    def per_regio(self, values: np.ndarray) -> np.ndarray:
        """Sum a per-gemeente array into the 11 regions (order of REGIOS)."""
        out = np.zeros(len(REGIOS))
        for r, v in zip(self.regio, values):
            out[REGIOS.index(r)] += v
        return out

    def quantities(self) -> dict[str, float]:
        """Data quantities that enter the kernels as constants."""
        inw_r = self.per_regio(self.inwoners)
        klasse = np.array([self.regio_klasse[r] for r in REGIOS])
        return {
            "inwoners_2024": float(self.inwoners.sum()),
            "woningen_2024": float(self.woningen.sum()),
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
    return Gebieden(
        gm_code=tuple(r["gm_code"] for r in chosen),
        gemeente=tuple(r["gemeente"] for r in chosen),
        regio=tuple(r["npvr_region"] for r in chosen),
        inwoners=np.array([r["inwoners"] for r in chosen], dtype=float),
        woningen=np.array([r["woningen"] for r in chosen], dtype=float),
        regio_klasse=klasse,
        files={p.name: file_hash(p) for p in (path, data_dir / REGION_CLASS_FILE)},
    )
