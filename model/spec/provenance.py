"""Where each prior's information comes from, and the prior set the calibration uses: every figure used once.

A prior entry whose value (centre and/or spread) is back-solved from the report's printed figures says so with
``derived_from: [<figure ids of model.spec.published.PUBLISHED>]`` (checked by the loader,
:mod:`model.spec.priors`). The default run may use such report-anchored priors. The calibration may not: it
conditions on the printed figures, so a prior derived from one of them would count that figure twice and make the
posterior overconfident (docs/sources.md §6). The rule, checked by :func:`check_provenance` before any sampling
and walked in ``tests/spec/test_provenance.py``:

    a printed figure is either a derivation source of a prior the calibration uses, or an observation of the
    calibration, never both.

The calibration therefore uses the *independent* prior set (:data:`ONAFHANKELIJK`): the default priors with every
``derived_from`` entry replaced by the prior of ``priors/kalibratie/onafhankelijk.yaml``, built from independent
evidence only (the research notes, CBS data, orders of magnitude; wide where there is none). Its posterior then
means "what the report's figures imply about the hidden kentallen". The file is a folder below the prior
directory, so the prior loader (which reads ``priors/*.yaml``) does not take it for a prior file. An entry there
reads::

    norm_mediaan_huisarts:
      unit: m2/huishouden              # the unit and prijspeil of the entry it replaces (checked)
      prijspeil: null
      distribution: {family: lognormal, p5: 0.048, p50: 0.12, p95: 0.3}   # as in priors/*.yaml, inside its bounds
      sources: [lhv_normpraktijk]      # ids in priors/bronnen.yaml; [] where there is none
      rationale: "..."                 # why this centre and spread, using no printed result of the report

Every refusal is a :class:`~model.errors.PriorError` naming the file, the entry and the field. The replaced entry
keeps its name, bounds and point value (report mode's), so the engine reads a posterior of it as of the default
entry; its ``file`` becomes the independent file (fits and errors name it), its ``derived_from`` is empty and its
status ``afgeleid`` (with sources) or ``expertoordeel`` (without).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from model.errors import PriorError
from model.spec.distributions import parse_distribution, short
from model.spec.files import file_hash, read_yaml
from model.spec.priors import BIBLIOGRAPHY, PriorEntry, PriorSet, check_keys, fit_entry

#: The calibration's prior set: report-anchored entries replaced by independent priors (the default).
ONAFHANKELIJK = "onafhankelijk"
#: The default run's priors as they are (report-anchored entries included): allowed for a calibration only when it
#: observes none of the figures those entries were derived from.
RAPPORT = "rapport"
PRIOR_SETS = (ONAFHANKELIJK, RAPPORT)
#: The independent prior file, relative to the prior directory.
INDEPENDENT_FILE = "kalibratie/onafhankelijk.yaml"

FILE_KEYS = {"description", "entries"}
ENTRY_KEYS = {"unit", "prijspeil", "distribution", "sources", "rationale"}


@dataclass(frozen=True)
class CalibrationPriors:
    """The prior set a calibration uses: ``priors`` (a PriorSet), the name of the set (:data:`PRIOR_SETS`), the
    independent file (relative to the prior directory) and its SHA-256 (None for :data:`RAPPORT`), and the
    entries whose default prior it replaced."""

    priors: PriorSet
    name: str
    file: str | None
    sha256: str | None
    replaced: tuple[str, ...]

    def manifest(self) -> dict:
        """What a run's manifest records about it."""
        return {"name": self.name, "file": self.file, "sha256": self.sha256, "replaced": list(self.replaced)}


def derived_entries(priors: PriorSet) -> dict[str, tuple[str, ...]]:
    """Every entry with ``derived_from``, mapped to its figure ids."""
    return {n: e.derived_from for n, e in priors.entries.items() if e.derived_from}


def _independent_entry(rel: str, name, raw, priors: PriorSet) -> PriorEntry:
    where = f"{rel}: {name}"
    if not isinstance(name, str) or name not in priors.entries:
        shown = name if isinstance(name, str) else short(name)
        raise PriorError(f"{rel}: {shown}: (entry): no such prior entry in {priors.directory}")
    entry = priors[name]
    if not entry.derived_from:
        raise PriorError(f"{where}: derived_from: the default prior ({entry.where}) is not derived from a printed "
                         "figure, so it needs no independent replacement")
    if not isinstance(raw, Mapping):
        raise PriorError(f"{where}: entry must be a mapping")
    check_keys(where, raw, ENTRY_KEYS, ENTRY_KEYS, "key(s)", f" (allowed: {sorted(ENTRY_KEYS)})")
    if raw["unit"] != entry.unit:
        raise PriorError(f"{where}: unit: {short(raw['unit'])} is not the unit of {entry.where} ({entry.unit})")
    if raw["prijspeil"] != entry.prijspeil:
        raise PriorError(f"{where}: prijspeil: {short(raw['prijspeil'])} is not the prijspeil of {entry.where} "
                         f"({entry.prijspeil})")
    if not isinstance(raw["rationale"], str) or not raw["rationale"].strip():
        raise PriorError(f"{where}: rationale: must be a non-empty text")
    sources = raw["sources"]
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise PriorError(f"{where}: sources: must be a list of source ids")
    for s in sources:
        if s not in priors.bibliography:
            raise PriorError(f"{where}: sources: unknown source id {short(s)} (not in priors/{BIBLIOGRAPHY})")
    spec = parse_distribution(raw["distribution"], entry.bounds, where)
    if spec.family == "fixed":
        raise PriorError(f"{where}: distribution: an independent prior of an uncertain entry is a distribution, "
                         "not a fixed value")
    if entry.money:
        for k, v in spec.values.items():
            if v < 0:
                raise PriorError(f"{where}: distribution.{k}: negative cost {v}")
    return dataclasses.replace(
        entry, file=rel, distribution=dict(raw["distribution"]), spec=spec, sources=tuple(sources),
        derivation=raw["rationale"].strip(), status="afgeleid" if sources else "expertoordeel", derived_from=())


def load_independent(priors: PriorSet, path: str | Path | None = None, *, fit: bool = True) -> CalibrationPriors:
    """The independent prior set: ``priors`` with every entry of the independent file (default
    ``<prior directory>/kalibratie/onafhankelijk.yaml``) replacing the default entry of that name. With ``fit``
    each replacement is fitted (:func:`model.spec.priors.fit_entry`), so a distribution its family cannot
    reproduce is refused here, naming the file and entry."""
    directory = Path(priors.directory)
    path = Path(path) if path is not None else directory / INDEPENDENT_FILE
    try:
        rel = path.resolve().relative_to(directory.resolve()).as_posix()
    except ValueError:
        rel = path.name
    if not path.is_file():
        raise PriorError(f"{rel}: (file): the independent prior file of the calibration is missing")
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise PriorError(f"{rel}: (file): must be a mapping with keys {sorted(FILE_KEYS)}")
    check_keys(rel, data, FILE_KEYS, FILE_KEYS, "key(s)")
    if not isinstance(data["entries"], Mapping) or not data["entries"]:
        raise PriorError(f"{rel}: entries: must be a non-empty mapping")
    entries = dict(priors.entries)
    for name, raw in data["entries"].items():
        entries[name] = _independent_entry(rel, name, raw, priors)
    replaced = tuple(data["entries"])
    if fit:
        for name in replaced:
            fit_entry(entries[name])
    digest = file_hash(path)
    key = f"{directory.name or 'priors'}/{rel}"
    out = dataclasses.replace(priors, entries=entries, file_hashes={**priors.file_hashes, key: digest})
    return CalibrationPriors(priors=out, name=ONAFHANKELIJK, file=key, sha256=digest, replaced=replaced)


def calibration_priors(priors: PriorSet, prior_set: str = ONAFHANKELIJK, *, fit: bool = True) -> CalibrationPriors:
    """The prior set named ``prior_set`` (:data:`PRIOR_SETS`) built from ``priors`` (the default prior set)."""
    if prior_set == RAPPORT:
        return CalibrationPriors(priors=priors, name=RAPPORT, file=None, sha256=None, replaced=())
    if prior_set != ONAFHANKELIJK:
        raise PriorError(f"{priors.directory}: prior_set: unknown prior set {short(prior_set)} (known: "
                         f"{list(PRIOR_SETS)})")
    already = [n for n, e in priors.entries.items() if e.file == INDEPENDENT_FILE]
    if already:
        raise PriorError(f"{priors.directory}: prior_set: the independent priors are already applied "
                         f"(e.g. {already[0]}); pass the default prior set")
    return load_independent(priors, fit=fit)


def provenance_violations(priors: PriorSet, observed: Iterable[str]) -> list[tuple[str, str]]:
    """Every ``(entry, figure)`` where an entry of ``priors`` is derived from a figure in ``observed``."""
    observed = set(observed)
    return [(n, f) for n, e in priors.entries.items() for f in e.derived_from if f in observed]


def check_provenance(priors: PriorSet, observed: Iterable[str], where: str) -> None:
    """Refuse a calibration that would observe a figure one of its own priors was derived from (a
    :class:`PriorError` naming ``where``, each entry and its figure, and the remedy)."""
    bad = provenance_violations(priors, observed)
    if bad:
        by_entry: dict[str, list[str]] = {}
        for n, f in bad:
            by_entry.setdefault(n, []).append(f)
        shown = "; ".join(f"{priors[n].where}: derived_from {figs}" for n, figs in list(by_entry.items())[:3])
        more = f" (and {len(by_entry) - 3} more entries)" if len(by_entry) > 3 else ""
        raise PriorError(f"{where}: {bad[0][0]}: derived_from: the calibration would observe figures its own priors "
                         f"were derived from ({shown}{more}); use the independent prior set "
                         f"({INDEPENDENT_FILE}) or leave those figures out")


def figure_uses(default: PriorSet, used: PriorSet, observed: Iterable[str]) -> dict[str, list[str]]:
    """The provenance graph, by figure: how each published figure is used by the calibration pipeline. Per figure
    id, the uses ``derived:<entry>`` (a prior of ``used``, the calibration's prior set, is back-solved from it) and
    ``observed`` (the calibration conditions on it). ``default`` contributes the figure ids its entries cite, so
    that a figure the default priors derive from but the calibration neither uses nor observes appears with no
    use."""
    observed = set(observed)
    uses: dict[str, list[str]] = {}
    for e in default.entries.values():
        for f in e.derived_from:
            uses.setdefault(f, [])
    for n, e in used.entries.items():
        for f in e.derived_from:
            uses.setdefault(f, []).append(f"derived:{n}")
    for f in observed:
        uses.setdefault(f, []).append("observed")
    return uses
