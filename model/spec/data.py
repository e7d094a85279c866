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

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.errors import PriorError
from model.paths import DATA_DIR

MEMBERSHIP_FILE = "npvr_gemeenten_reconstructed.csv"
REGION_CLASS_FILE = "npvr_regio_indicatoren.csv"
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


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise PriorError(f"{path.name}: (file): data file missing")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _int_field(path: Path, row: dict, key: str, line: int) -> int:
    raw = row.get(key)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise PriorError(f"{path.name}: line {line}: {key}: non-numeric value {raw!r}") from None
    if value < 0:
        raise PriorError(f"{path.name}: line {line}: {key}: negative value {value}")
    return value


def load_gebieden(confidences: tuple[str, ...] = DEFAULT_CONFIDENCES, extra: tuple[str, ...] = (),
                  exclude: tuple[str, ...] = (), data_dir: Path | None = None) -> Gebieden:
    """Load the municipalities whose membership confidence is in ``confidences``, plus ``extra`` CBS codes."""
    data_dir = Path(data_dir) if data_dir is not None else DATA_DIR
    path = data_dir / MEMBERSHIP_FILE
    rows = _read_csv(path)
    required = {"npvr_region", "gm_code", "gemeente", "membership_confidence", "inwoners_1jan2024",
                "woningvoorraad_1jan2024"}
    if rows and not required <= set(rows[0]):
        raise PriorError(f"{path.name}: (header): missing column(s) {sorted(required - set(rows[0]))}")
    known = {r["gm_code"] for r in rows}
    for code in (*extra, *exclude):
        if code not in known:
            raise PriorError(f"{path.name}: {code}: unknown gemeente code in membership settings")
    chosen = []
    for i, row in enumerate(rows, start=2):
        if row["npvr_region"] not in REGIOS:
            raise PriorError(f"{path.name}: line {i}: npvr_region: unknown region {row['npvr_region']!r}")
        keep = row["membership_confidence"] in confidences or row["gm_code"] in extra
        if keep and row["gm_code"] not in exclude:
            chosen.append((row, i))
    region_rows = _read_csv(data_dir / REGION_CLASS_FILE)
    klasse = {}
    for i, row in enumerate(region_rows, start=2):
        if row.get("npvr_region") not in REGIOS:
            raise PriorError(f"{REGION_CLASS_FILE}: line {i}: npvr_region: unknown region {row.get('npvr_region')!r}")
        if row.get("indicatoren_klasse") not in REGION_CLASSES:
            raise PriorError(f"{REGION_CLASS_FILE}: line {i}: indicatoren_klasse: unknown class "
                             f"{row.get('indicatoren_klasse')!r} (known: {REGION_CLASSES})")
        klasse[row["npvr_region"]] = row["indicatoren_klasse"]
    if set(klasse) != set(REGIOS):
        raise PriorError(f"{REGION_CLASS_FILE}: (file): regions missing: {sorted(set(REGIOS) - set(klasse))}")
    return Gebieden(
        gm_code=tuple(r["gm_code"] for r, _ in chosen),
        gemeente=tuple(r["gemeente"] for r, _ in chosen),
        regio=tuple(r["npvr_region"] for r, _ in chosen),
        inwoners=np.array([_int_field(path, r, "inwoners_1jan2024", i) for r, i in chosen], dtype=float),
        woningen=np.array([_int_field(path, r, "woningvoorraad_1jan2024", i) for r, i in chosen], dtype=float),
        regio_klasse=klasse,
        files={p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (path, data_dir / REGION_CLASS_FILE)},
    )
