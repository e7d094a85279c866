"""Policy variants: named settings of the choice entries (kind ``keuze``), declared in ``scenarios/varianten.toml``.

A choice (the facility norm level, the demand year) is not an uncertainty: it is never sampled. A variant sets
every ``keuze`` entry of the priors to one end of its ``band`` (``laag`` or ``hoog``); the engine runs each
variant as overrides of those fixed entries, so all variants sample the same entries from the same stream and
their results differ only by the choice (common random numbers). The file names the variants, the default one
(``standaard``), those every run evaluates (``run``) and the §3.5 grid (``rooster``).

:func:`load_varianten` validates the file (unknown keys, a variant list naming no variant, a band end other
than ``laag``/``hoog``); :func:`variant_values` checks a variant against a prior set (every ``keuze`` entry set,
nothing else). Errors are :class:`~model.errors.PriorError` starting with ``varianten.toml: <field>:``.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from model.errors import PriorError
from model.paths import SCENARIOS_DIR
from model.spec.distributions import short
from model.spec.files import read_text

VARIANTEN_FILE = SCENARIOS_DIR / "varianten.toml"
FILE_KEYS = {"standaard", "run", "rooster", "variant"}
VARIANT_KEYS = {"titel", "description", "keuzes"}
BAND_ENDS = ("laag", "hoog")


@dataclass(frozen=True)
class Variant:
    naam: str
    titel: str
    description: str
    keuzes: Mapping[str, str]          # keuze entry -> band end


@dataclass(frozen=True)
class Varianten:
    variants: Mapping[str, Variant]
    standaard: str
    run: tuple[str, ...]
    rooster: tuple[str, ...]
    file: str
    sha256: str

    def __getitem__(self, naam: str) -> Variant:
        if naam not in self.variants:
            raise PriorError(f"{self.file}: variant: unknown variant {short(naam)} (known: {', '.join(self.variants)})")
        return self.variants[naam]

    def selection(self, primary: str | None = None, rooster: bool = False) -> tuple[str, tuple[str, ...]]:
        """The primary variant (``primary`` or the file's ``standaard``) and the variants a run evaluates: the
        ``run`` list (or the ``rooster`` one), with the primary first."""
        primary = self[primary].naam if primary is not None else self.standaard
        names = self.rooster if rooster else self.run
        return primary, (primary, *[n for n in names if n != primary])


def _names(file: str, data: Mapping, key: str, known: Mapping) -> tuple[str, ...]:
    value = data[key]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise PriorError(f"{file}: {key}: must be a non-empty list of variant names")
    for v in value:
        if v not in known:
            raise PriorError(f"{file}: {key}: unknown variant {short(v)} (known: {', '.join(known)})")
    if len(set(value)) != len(value):
        raise PriorError(f"{file}: {key}: a variant is listed twice")
    return tuple(value)


@lru_cache(maxsize=8)
def _load(path: Path, stamp: tuple) -> Varianten:
    file = path.name
    text = read_text(path, "variants file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PriorError(f"{file}: (file): not valid TOML ({exc})") from None
    unknown, missing = sorted(set(data) - FILE_KEYS), sorted(FILE_KEYS - set(data))
    if unknown or missing:
        raise PriorError(f"{file}: (file): " + (f"unknown key(s) {unknown}" if unknown else f"missing key(s) {missing}"))
    if not isinstance(data["variant"], dict) or not data["variant"]:
        raise PriorError(f"{file}: variant: must hold at least one [variant.<naam>] table")
    variants: dict[str, Variant] = {}
    for naam, raw in data["variant"].items():
        where = f"{file}: variant.{naam}"
        if not isinstance(raw, dict):
            raise PriorError(f"{where}: must be a table")
        bad = sorted(set(raw) ^ VARIANT_KEYS)
        if bad:
            raise PriorError(f"{where}: {bad[0]}: " + ("unknown key" if bad[0] in raw else "missing key")
                             + f" (a variant has {sorted(VARIANT_KEYS)})")
        for key in ("titel", "description"):
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise PriorError(f"{where}: {key}: must be a non-empty text")
        if not isinstance(raw["keuzes"], dict) or not raw["keuzes"]:
            raise PriorError(f"{where}: keuzes: must map every keuze entry to 'laag' or 'hoog'")
        for entry, end in raw["keuzes"].items():
            if end not in BAND_ENDS:
                raise PriorError(f"{where}: keuzes.{entry}: {short(end)} is no band end (laag or hoog)")
        variants[naam] = Variant(naam, raw["titel"].strip(), raw["description"].strip(), dict(raw["keuzes"]))
    if not isinstance(data["standaard"], str) or data["standaard"] not in variants:
        raise PriorError(f"{file}: standaard: {short(data['standaard'])} is no variant (known: {', '.join(variants)})")
    return Varianten(variants=variants, standaard=data["standaard"], run=_names(file, data, "run", variants),
                     rooster=_names(file, data, "rooster", variants), file=file,
                     sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def load_varianten(path: str | Path | None = None) -> Varianten:
    """The variants file (default ``scenarios/varianten.toml``), validated; cached while the file is unchanged."""
    path = Path(path) if path is not None else VARIANTEN_FILE
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = ()
    return _load(path.resolve(), stamp)


def variant_values(priors, naam: str, varianten: Varianten | None = None) -> dict[str, float]:
    """The value of every ``keuze`` entry of ``priors`` (a ``model.spec.priors.PriorSet``) in variant ``naam``."""
    varianten = varianten if varianten is not None else load_varianten()
    variant = varianten[naam]
    choices = {n: e for n, e in priors.entries.items() if e.choice}
    where = f"{varianten.file}: variant.{naam}.keuzes"
    for entry in variant.keuzes:
        if entry not in choices:
            raise PriorError(f"{where}.{entry}: not a keuze entry of {priors.directory} "
                             f"(keuze entries: {', '.join(choices) or 'none'})")
    missing = sorted(set(choices) - set(variant.keuzes))
    if missing:
        raise PriorError(f"{where}: does not set the keuze entry {missing[0]} (every variant sets every choice)")
    return {n: float(e.band[variant.keuzes[n]]) for n, e in choices.items()}


__all__ = ["Variant", "Varianten", "VARIANTEN_FILE", "load_varianten", "variant_values"]
