"""The year priors ``scenarios/jaren.yaml``: phasing of the investments and the price indices (loaded with the
rules of ``priors/``). The year model that uses them is :mod:`model.analysis.jaren`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.errors import PriorError
from model.paths import SCENARIOS_DIR
from model.spec.files import file_hash, read_yaml
from model.spec.priors import (PriorEntry, PriorSet, check_bibliography, check_entry, check_file_keys, fit_entry,
                               load_priors)

JAREN_FILE = SCENARIOS_DIR / "jaren.yaml"
MIDDEN = "fasering_investering_midden"
STEILHEID = "fasering_investering_steilheid"
BOUWKOSTEN = "bouwkostenstijging_per_jaar"
INFLATIE = "inflatie_per_jaar"
PARAMETERS = (MIDDEN, STEILHEID, BOUWKOSTEN, INFLATIE)
FILE_KEYS = {"deelopgave", "description", "bronnen", "entries"}
JAREN = tuple(range(2025, 2036))              # 2025 t/m 2035
MODEL_PRIJSPEIL = 2024
#: The Dutch standard real discount rate (Werkgroep discontovoet 2020, in force since 1 Jan 2021) and the
#: sensitivity rates: 1.6% (fixed, sunk costs) and 3% (the 2015 standard).
STANDAARD_DISCONTOVOET = 0.0225
GEVOELIGHEID = (0.016, 0.03)


@dataclass(frozen=True)
class JaarInstellingen:
    """Settings of the year model that are policy choices rather than priors (scenario section ``[jaren]``)."""

    discontovoet: float = STANDAARD_DISCONTOVOET
    gevoeligheid: tuple[float, ...] = GEVOELIGHEID
    midjaar: bool = False

    @property
    def rates(self) -> tuple[float, ...]:
        """The standard rate first, then the sensitivity rates (duplicates dropped)."""
        out = [float(self.discontovoet)]
        for r in self.gevoeligheid:
            if float(r) not in out:
                out.append(float(r))
        return tuple(out)


def load_jaren_priors(path: str | Path | None = None, priors: PriorSet | None = None) -> PriorSet:
    """Load ``scenarios/jaren.yaml`` with the strict rules of ``priors/`` (each distribution is also fitted).

    Source ids may refer to ``priors/bronnen.yaml`` (of ``priors``, default the embedded set) or to the file's
    own ``bronnen``. Every entry must be one of :data:`PARAMETERS` (all of which are used) and all of them must be
    present.
    """
    path = Path(path) if path is not None else JAREN_FILE
    if not path.is_file():
        raise PriorError(f"{path.name}: (file): year priors missing ({path.name})")
    data = check_file_keys(path.name, read_yaml(path), FILE_KEYS)
    own = check_bibliography(path.name, data["bronnen"] or {}, prefix="bronnen.")
    base = priors if priors is not None else load_priors(fit=False)
    bibliography = {**base.bibliography, **own}
    if not isinstance(data["entries"], dict) or not data["entries"]:
        raise PriorError(f"{path.name}: entries: must be a non-empty mapping")
    entries: dict[str, PriorEntry] = {}
    for name, raw in data["entries"].items():
        if name not in PARAMETERS:
            raise PriorError(f"{path.name}: {name}: unknown year parameter (known: {list(PARAMETERS)})")
        entries[name] = check_entry(path.name, name, raw, bibliography)
    absent = [p for p in PARAMETERS if p not in entries]
    if absent:
        raise PriorError(f"{path.name}: entries: missing year parameter(s) {absent}")
    for entry in entries.values():
        fit_entry(entry)
    return PriorSet(entries={p: entries[p] for p in PARAMETERS}, file_hashes={path.name: file_hash(path)},
                    bibliography=bibliography, correlations=None, directory=str(path.parent),
                    files={"jaren": path.name})
