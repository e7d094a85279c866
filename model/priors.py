"""Load and validate the prior files in ``priors/``.

Every kental and norm of the model is one *entry* in a YAML file, one file per deelopgave (plus the shared
``grondslag``, ``voorzieningen_normen`` and ``stichtingskosten`` files). An entry reads::

    restopgave_toerekenbaar_per_woning:
      description: Restopgave toerekenbare PORT per new dwelling
      kind: kental                      # hoeveelheid | kental | norm
      unit: EUR/woning                  # one of UNITS
      prijspeil: 2024                   # price level year, or null for non-monetary entries
      distribution: {family: lognormal, p5: 2300, p50: 3714, p95: 6000}
      point: 3714                       # the value report mode uses
      band: {laag: 0, hoog: 1}          # optional: the report's bandwidth settings
      bounds: [0, 50000]                # hard bounds (null = open)
      sources: [rebel_woningbouw_2024]  # ids in priors/bronnen.yaml
      derivation: "..."
      status: afgeleid                  # gepubliceerd | afgeleid | expertoordeel | gekalibreerd

The loader is strict: duplicate keys, unknown keys, unknown units, unknown source ids, missing sources (unless
the status is ``expertoordeel``), quantiles out of order, negative money amounts, non-numeric values and a
distribution that breaks its bounds are refused with a :class:`~model.errors.PriorError` naming the file and
the entry. Nothing is half-loaded: either the whole set validates or the call raises.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from model.errors import PriorError

PRIORS_DIR = Path(__file__).resolve().parent.parent / "priors"
BIBLIOGRAPHY = "bronnen.yaml"
CORRELATIONS = "correlaties.yaml"

FILE_KEYS = {"deelopgave", "description", "entries"}
ENTRY_KEYS = {"description", "kind", "unit", "prijspeil", "distribution", "point", "band", "bounds", "sources",
              "derivation", "status"}
REQUIRED_ENTRY_KEYS = ENTRY_KEYS - {"band"}
KINDS = {"hoeveelheid", "kental", "norm"}
STATUSES = {"gepubliceerd", "afgeleid", "expertoordeel", "gekalibreerd"}
UNITS = {
    "1", "factor", "fractie", "fractie/jaar", "jaar", "woningen", "huishoudens/woning", "m2", "m2/huishouden",
    "provincies", "FTE/1000m2", "EUR/woning", "EUR/m2", "EUR/inwoner/jaar", "EUR/jaar", "EUR/provincie",
    "EUR/FTE/jaar",
}
FAMILIES = {"lognormal", "normal", "truncnormal", "uniform", "triangular", "pert", "beta", "metalog", "fixed"}
QUANTILE_KEYS = ("p5", "p10", "p15", "p25", "p50", "p75", "p85", "p90", "p95")
THREE_POINT_KEYS = ("min", "mode", "max", "coverage")
BIB_KEYS = {"title", "author", "year", "url", "note"}


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    path = loader.__dict__.setdefault("key_path", [])
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            # name the entry (the key under `entries`), or the key itself at the top of the file
            if path == ["entries"] or not path:
                entry = key
            else:
                entry = path[1] if len(path) >= 2 and path[0] == "entries" else path[0]
            field = key if entry != key else "(entry)"
            raise PriorError(f"{loader.name}: {entry}: duplicate key {field!r} (line {key_node.start_mark.line + 1})")
        path.append(key)
        try:
            mapping[key] = loader.construct_object(value_node, deep=True)
        finally:
            path.pop()
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file safely, refusing duplicate keys; errors name the file."""
    text = path.read_text(encoding="utf-8")
    loader = _StrictLoader(text)
    loader.name = str(path.name)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise PriorError(f"{path.name}: (file): invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass(frozen=True)
class PriorEntry:
    """One kental, norm or quantity with its distribution and provenance."""

    name: str
    file: str
    description: str
    kind: str
    unit: str
    prijspeil: int | None
    distribution: Mapping[str, Any]
    point: float
    bounds: tuple[float, float]
    sources: tuple[str, ...]
    derivation: str
    status: str
    band: Mapping[str, float] | None = None

    @property
    def where(self) -> str:
        return f"{self.file}: {self.name}"

    @property
    def fixed(self) -> bool:
        return self.distribution["family"] == "fixed"

    def value(self, setting: str = "point") -> float:
        """The value used in report mode: ``point``, or the band's ``laag``/``hoog`` (point if no band)."""
        if setting == "point" or self.band is None:
            return self.point
        return self.band[setting]


@dataclass(frozen=True)
class PriorSet:
    """All prior entries of a model run, with their files' hashes, bibliography and correlations."""

    entries: Mapping[str, PriorEntry]
    file_hashes: Mapping[str, str]
    bibliography: Mapping[str, Mapping[str, Any]]
    correlations: Mapping[str, Any] | None
    directory: str
    files: Mapping[str, str] = field(default_factory=dict)  # deelopgave -> file name

    def __getitem__(self, name: str) -> PriorEntry:
        return self.entries[name]

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.entries)

    def values(self, setting: str = "point") -> dict[str, float]:
        return {n: e.value(setting) for n, e in self.entries.items()}


def _check_bounds(where: str, raw: Any) -> tuple[float, float]:
    if not (isinstance(raw, list) and len(raw) == 2):
        raise PriorError(f"{where}: bounds: must be a list [lower, upper] (null for open)")
    lo = -math.inf if raw[0] is None else raw[0]
    hi = math.inf if raw[1] is None else raw[1]
    for v in (lo, hi):
        if not (isinstance(v, (int, float)) and not isinstance(v, bool)):
            raise PriorError(f"{where}: bounds: non-numeric value {v!r}")
    if not lo < hi:
        raise PriorError(f"{where}: bounds: lower {lo} is not below upper {hi}")
    return float(lo), float(hi)


def _check_distribution(where: str, dist: Any, bounds: tuple[float, float], money: bool) -> dict:
    if not isinstance(dist, dict):
        raise PriorError(f"{where}: distribution: must be a mapping with a 'family'")
    family = dist.get("family")
    if family not in FAMILIES:
        raise PriorError(f"{where}: distribution.family: unknown family {family!r} (known: {sorted(FAMILIES)})")
    lo, hi = bounds
    if family == "fixed":
        allowed = {"family", "value"}
    else:
        allowed = {"family", *QUANTILE_KEYS, *THREE_POINT_KEYS}
    unknown = set(dist) - allowed
    if unknown:
        raise PriorError(f"{where}: distribution: unknown key(s) {sorted(unknown)} for family {family}")
    values = {k: v for k, v in dist.items() if k != "family"}
    for k, v in values.items():
        if not _is_number(v):
            raise PriorError(f"{where}: distribution.{k}: non-numeric value {v!r}")
    if family == "fixed":
        if "value" not in values:
            raise PriorError(f"{where}: distribution.value: missing for family fixed")
        checks = {"value": values["value"]}
    else:
        qs = [(k, values[k]) for k in QUANTILE_KEYS if k in values]
        three = [k for k in THREE_POINT_KEYS if k in values]
        if qs and three:
            raise PriorError(f"{where}: distribution: give either quantiles (p5/p50/p95...) or min/mode/max, not both")
        if qs:
            if len(qs) < 2:
                raise PriorError(f"{where}: distribution: at least two quantiles are needed, got {[k for k, _ in qs]}")
            for (k1, v1), (k2, v2) in zip(qs, qs[1:]):
                if v1 > v2:
                    raise PriorError(f"{where}: distribution.{k1}: {k1.upper()} = {v1} > {k2.upper()} = {v2}")
            checks = dict(qs)
        else:
            needed = ("min", "max", "coverage") if family in ("uniform",) else ("min", "mode", "max", "coverage")
            missing = [k for k in needed if k not in values]
            if missing:
                raise PriorError(f"{where}: distribution: missing {missing} for a three-point {family}")
            if "mode" in values and not values["min"] <= values["mode"] <= values["max"]:
                raise PriorError(f"{where}: distribution: min <= mode <= max does not hold")
            if values["min"] >= values["max"]:
                raise PriorError(f"{where}: distribution.min: min {values['min']} is not below max {values['max']}")
            if not 0 < values["coverage"] <= 1:
                raise PriorError(f"{where}: distribution.coverage: must lie in (0, 1], got {values['coverage']}")
            checks = {k: values[k] for k in ("min", "mode", "max") if k in values}
    for k, v in checks.items():
        if money and v < 0:
            raise PriorError(f"{where}: distribution.{k}: negative cost {v}")
        if not lo <= v <= hi:
            raise PriorError(f"{where}: distribution.{k}: {v} lies outside the hard bounds [{lo}, {hi}]")
    return dict(dist)


def _check_entry(file: str, name: str, raw: Any, bibliography: Mapping[str, Any]) -> PriorEntry:
    where = f"{file}: {name}"
    if not isinstance(raw, dict):
        raise PriorError(f"{where}: entry must be a mapping")
    _check_keys(where, raw, ENTRY_KEYS, REQUIRED_ENTRY_KEYS, "key(s)", f" (allowed: {sorted(ENTRY_KEYS)})")
    for key in ("description", "derivation"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise PriorError(f"{where}: {key}: must be a non-empty text")
    if raw["kind"] not in KINDS:
        raise PriorError(f"{where}: kind: unknown kind {raw['kind']!r} (known: {sorted(KINDS)})")
    unit = raw["unit"]
    if unit not in UNITS:
        raise PriorError(f"{where}: unit: unknown unit {unit!r} (known: {sorted(UNITS)})")
    money = str(unit).startswith("EUR")
    prijspeil = raw["prijspeil"]
    if prijspeil is not None and not (isinstance(prijspeil, int) and 1990 <= prijspeil <= 2100):
        raise PriorError(f"{where}: prijspeil: must be a year or null, got {prijspeil!r}")
    if money and prijspeil is None:
        raise PriorError(f"{where}: prijspeil: a money amount ({unit}) needs a price level year")
    if raw["status"] not in STATUSES:
        raise PriorError(f"{where}: status: unknown status {raw['status']!r} (known: {sorted(STATUSES)})")
    sources = raw["sources"]
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise PriorError(f"{where}: sources: must be a list of source ids")
    if not sources and raw["status"] != "expertoordeel":
        raise PriorError(f"{where}: sources: missing source (only status expertoordeel may have none)")
    for s in sources:
        if s not in bibliography:
            raise PriorError(f"{where}: sources: unknown source id {s!r} (not in priors/{BIBLIOGRAPHY})")
    bounds = _check_bounds(where, raw["bounds"])
    if money and bounds[0] < 0:
        raise PriorError(f"{where}: bounds: negative cost allowed by lower bound {bounds[0]}")
    point = raw["point"]
    if not _is_number(point):
        raise PriorError(f"{where}: point: non-numeric value {point!r}")
    if money and point < 0:
        raise PriorError(f"{where}: point: negative cost {point}")
    if not bounds[0] <= point <= bounds[1]:
        raise PriorError(f"{where}: point: {point} lies outside the hard bounds [{bounds[0]}, {bounds[1]}]")
    dist = _check_distribution(where, raw["distribution"], bounds, money)
    if dist["family"] == "fixed" and dist["value"] != point:
        raise PriorError(f"{where}: point: {point} differs from the fixed distribution's value {dist['value']}")
    band = raw.get("band")
    if band is not None:
        if not isinstance(band, dict) or set(band) != {"laag", "hoog"}:
            raise PriorError(f"{where}: band: must be a mapping with exactly 'laag' and 'hoog'")
        for k, v in band.items():
            if not _is_number(v):
                raise PriorError(f"{where}: band.{k}: non-numeric value {v!r}")
            if not bounds[0] <= v <= bounds[1]:
                raise PriorError(f"{where}: band.{k}: {v} lies outside the hard bounds")
        band = {k: float(v) for k, v in band.items()}
    return PriorEntry(
        name=name, file=file, description=raw["description"].strip(), kind=raw["kind"], unit=unit,
        prijspeil=prijspeil, distribution=dist, point=float(point), bounds=bounds, sources=tuple(sources),
        derivation=raw["derivation"].strip(), status=raw["status"], band=band,
    )


def check_file_keys(name: str, data: Any, keys: set[str]) -> dict:
    """A prior-style file must be a mapping with exactly the top-level ``keys``."""
    if not isinstance(data, dict):
        raise PriorError(f"{name}: (file): must be a mapping with {sorted(keys)}")
    _check_keys(f"{name}: (file)", data, keys, keys, "top-level key(s)")
    return data


def _check_keys(where: str, data: dict, allowed: set[str], required: set[str], what: str, hint: str = "") -> None:
    """Refuse keys outside ``allowed`` and missing ``required`` keys, naming ``where``."""
    unknown = set(data) - allowed
    if unknown:
        raise PriorError(f"{where}: unknown {what} {sorted(unknown)}{hint}")
    missing = required - set(data)
    if missing:
        raise PriorError(f"{where}: missing {what} {sorted(missing)}")


def check_bibliography(name: str, bib: Any, prefix: str = "") -> dict:
    """Source records: a mapping of source ids to records with a title and only known keys.

    ``prefix`` is prepended to the id in messages (e.g. ``"bronnen."`` for a file's own sources section)."""
    if not isinstance(bib, dict):
        raise PriorError(f"{name}: {prefix.rstrip('.') or '(file)'}: must map source ids to records")
    for sid, rec in bib.items():
        if not isinstance(rec, dict) or "title" not in rec:
            raise PriorError(f"{name}: {prefix}{sid}: a source needs at least a title")
        unknown = set(rec) - BIB_KEYS
        if unknown:
            raise PriorError(f"{name}: {prefix}{sid}: unknown key(s) {sorted(unknown)}")
    return bib


def _load_bibliography(path: Path) -> dict:
    return check_bibliography(path.name, read_yaml(path))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_priors(directory: str | Path | None = None, *, fit: bool = True) -> PriorSet:
    """Load every ``*.yaml`` prior file in ``directory`` (default: the embedded ``priors/``).

    With ``fit=True`` each distribution is also fitted (:func:`model.distributions.fit_marginal`), so a set whose
    stated quantiles a family cannot reproduce is refused at load time rather than mid-run.
    """
    directory = Path(directory) if directory is not None else PRIORS_DIR
    if not directory.is_dir():
        raise PriorError(f"{directory}: (directory): no such prior directory")
    bib_path = directory / BIBLIOGRAPHY
    if not bib_path.exists():
        raise PriorError(f"{directory}/{BIBLIOGRAPHY}: (file): bibliography missing")
    bibliography = _load_bibliography(bib_path)
    hashes = {BIBLIOGRAPHY: _sha256(bib_path)}
    entries: dict[str, PriorEntry] = {}
    files: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name in (BIBLIOGRAPHY, CORRELATIONS):
            continue
        data = check_file_keys(path.name, read_yaml(path), FILE_KEYS)
        if not isinstance(data["entries"], dict) or not data["entries"]:
            raise PriorError(f"{path.name}: entries: must be a non-empty mapping")
        files[data["deelopgave"]] = path.name
        for name, raw in data["entries"].items():
            if name in entries:
                raise PriorError(f"{path.name}: {name}: entry already defined in {entries[name].file}")
            entries[name] = _check_entry(path.name, name, raw, bibliography)
        hashes[path.name] = _sha256(path)
    correlations = None
    corr_path = directory / CORRELATIONS
    if corr_path.exists():
        correlations = read_yaml(corr_path)
        hashes[CORRELATIONS] = _sha256(corr_path)
    prior_set = PriorSet(entries=entries, file_hashes=hashes, bibliography=bibliography,
                         correlations=correlations, directory=str(directory), files=files)
    if fit:
        fit_all(prior_set)
    return prior_set


_FIT_CACHE: dict[tuple, Any] = {}


def _spec_key(entry: PriorEntry) -> tuple:
    return (entry.where, tuple(sorted(entry.distribution.items())), entry.bounds)


def fit_entry(entry: PriorEntry):
    """Fit (and cache) the marginal distribution of one entry; raises PriorError when the fit misses."""
    from model.distributions import fit_marginal

    key = _spec_key(entry)
    if key not in _FIT_CACHE:
        lo, hi = entry.bounds
        _FIT_CACHE[key] = fit_marginal(
            dict(entry.distribution),
            (None if math.isinf(lo) else lo, None if math.isinf(hi) else hi),
            where=entry.where,
        )
    return _FIT_CACHE[key]


def fit_all(prior_set: PriorSet) -> dict[str, Any]:
    """Fitted marginals of every entry, by name."""
    return {name: fit_entry(e)[0] for name, e in prior_set.entries.items()}


def fit_table(prior_set: PriorSet) -> list[dict]:
    """Per entry: family, point value, status, and the stated vs achieved quantiles of its fitted marginal."""
    rows = []
    for name, entry in prior_set.entries.items():
        marginal, report = fit_entry(entry)
        rows.append({"entry": name, "file": entry.file, "family": marginal.family, "unit": entry.unit,
                     "status": entry.status, "point": entry.point, "stated": dict(report.stated),
                     "achieved": dict(report.achieved), "max_rel_error": float(report.max_rel_error),
                     "mean": float(marginal.mean())})
    return rows
