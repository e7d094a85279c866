"""Load and validate the prior files in ``priors/``.

Every kental and norm of the model is one *entry* in a YAML file, one file per deelopgave (plus the shared
``grondslag``, ``voorzieningen_normen`` and ``stichtingskosten`` files). An entry reads::

    restopgave_toerekenbaar_per_woning:
      description: Restopgave toerekenbare PORT per new dwelling
      kind: kental                      # hoeveelheid | kental | norm | keuze
      unit: EUR/woning                  # one of UNITS
      prijspeil: 2024                   # price level year, or null for non-monetary entries
      distribution: {family: lognormal, p5: 2300, p50: 3714, p95: 6000}
      point: 3714                       # the value report mode uses
      band: {laag: 0, hoog: 1}          # keuze entries only: the report's two choices (scenarios/varianten.toml)
      bounds: [0, 50000]                # hard bounds (null = open)
      sources: [rebel_woningbouw_2024]  # ids in priors/bronnen.yaml
      derivation: "..."
      status: afgeleid                  # gepubliceerd | afgeleid | expertoordeel | gekalibreerd
      derived_from: [nieuwbouw]         # optional: ids of model.spec.published.PUBLISHED the value is
                                        # back-solved from (the calibration may not observe those again)

An entry of kind ``keuze`` is a policy choice, not a lack of knowledge (the norm level, the demand year): it is
not sampled (family ``fixed`` at ``point``, one of its ``band`` values) and the named variants of
``scenarios/varianten.toml`` set it (:mod:`model.spec.varianten`). Only ``keuze`` entries have a ``band``.

The loader is strict: duplicate keys, unknown keys, unknown units, unknown source ids, missing sources (unless
the status is ``expertoordeel``), negative money amounts, non-numeric values, a distribution that breaks the rules
of :mod:`model.spec.distributions` or its bounds, and an entry no kernel uses are refused with a
:class:`~model.errors.PriorError` naming the file and the entry. Nothing is half-loaded: either the whole set
validates or the call raises. The declared correlations (``correlaties.yaml``) are read and checked against the
entries here too (:mod:`model.spec.dependence`).

:func:`fit_entry` fits an entry's marginal (scipy, :mod:`model.spec.fitting`); ``load_priors(fit=True)`` fits every
entry, so a set whose stated quantiles a family cannot reproduce is refused at load time rather than mid-run.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from model.errors import PriorError, SettingError
from model.paths import PRIORS_DIR
from model.spec.distributions import DistributionSpec, parse_bounds, parse_distribution, short
from model.spec.files import file_hash, read_yaml

BIBLIOGRAPHY = "bronnen.yaml"
CORRELATIONS = "correlaties.yaml"

FILE_KEYS = {"deelopgave", "description", "entries"}
ENTRY_KEYS = {"description", "kind", "unit", "prijspeil", "distribution", "point", "band", "bounds", "sources",
              "derivation", "status", "derived_from"}
REQUIRED_ENTRY_KEYS = ENTRY_KEYS - {"band", "derived_from"}
#: ``keuze``: a policy choice (set by a variant, never sampled); the others are quantities we are uncertain of.
KINDS = {"hoeveelheid", "kental", "norm", "keuze"}
STATUSES = {"gepubliceerd", "afgeleid", "expertoordeel", "gekalibreerd"}
UNITS = {
    "1", "factor", "fractie", "fractie/jaar", "jaar", "woningen", "huishoudens/woning", "m2", "m2/huishouden",
    "provincies", "FTE/1000m2", "EUR/woning", "EUR/m2", "EUR/inwoner/jaar", "EUR/jaar", "EUR/provincie",
    "EUR/FTE/jaar",
}
BIB_KEYS = {"title", "author", "year", "url", "note"}


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


# -------------------------------------------------------------------------------------------- entries
@dataclass(frozen=True)
class PriorEntry:
    """One kental, norm or quantity with its distribution and provenance."""

    name: str
    file: str
    description: str
    kind: str
    unit: str
    prijspeil: int | None
    distribution: Mapping[str, Any]   # as written in the file
    spec: DistributionSpec            # as checked by model.spec.distributions
    point: float
    bounds: tuple[float, float]
    sources: tuple[str, ...]
    derivation: str
    status: str
    band: Mapping[str, float] | None = None
    derived_from: tuple[str, ...] = ()

    @property
    def choice(self) -> bool:
        """A policy choice (kind ``keuze``): set by a variant, never sampled."""
        return self.kind == "keuze"

    @property
    def where(self) -> str:
        return f"{self.file}: {self.name}"

    @property
    def fixed(self) -> bool:
        return self.spec.family == "fixed"

    @property
    def money(self) -> bool:
        return self.unit.startswith("EUR")

    def value(self, setting: str = "point") -> float:
        """The value used in report mode: ``point``, or the band's ``laag``/``hoog`` (point if no band)."""
        if setting == "point" or self.band is None:
            return self.point
        return self.band[setting]


def check_keys(where: str, data: Mapping, allowed: set[str], required: set[str], what: str, hint: str = "") -> None:
    """Refuse keys outside ``allowed`` and missing ``required`` keys, naming ``where``."""
    unknown = sorted(map(str, set(data) - allowed))
    if unknown:
        raise PriorError(f"{where}: unknown {what} {unknown}{hint}")
    missing = sorted(required - set(data))
    if missing:
        raise PriorError(f"{where}: missing {what} {missing}")


def check_entry(file: str, name: Any, raw: Any, bibliography: Mapping[str, Any]) -> PriorEntry:
    """Check one entry of a prior file (or of a scenario's overlay) and return it."""
    where = f"{file}: {name}"
    if not isinstance(name, str) or not name.isidentifier():
        raise PriorError(f"{file}: {short(name)}: an entry name must be a Python identifier")
    if not isinstance(raw, Mapping):
        raise PriorError(f"{where}: entry must be a mapping")
    check_keys(where, raw, ENTRY_KEYS, REQUIRED_ENTRY_KEYS, "key(s)", f" (allowed: {sorted(ENTRY_KEYS)})")
    for key in ("description", "derivation"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise PriorError(f"{where}: {key}: must be a non-empty text")
    if raw["kind"] not in KINDS:
        raise PriorError(f"{where}: kind: unknown kind {short(raw['kind'])} (known: {sorted(KINDS)})")
    unit = raw["unit"]
    if unit not in UNITS:
        raise PriorError(f"{where}: unit: unknown unit {short(unit)} (known: {sorted(UNITS)})")
    money = str(unit).startswith("EUR")
    prijspeil = raw["prijspeil"]
    if prijspeil is not None and not (isinstance(prijspeil, int) and not isinstance(prijspeil, bool)
                                      and 1990 <= prijspeil <= 2100):
        raise PriorError(f"{where}: prijspeil: must be a year or null, got {short(prijspeil)}")
    if money and prijspeil is None:
        raise PriorError(f"{where}: prijspeil: a money amount ({unit}) needs a price level year")
    if raw["status"] not in STATUSES:
        raise PriorError(f"{where}: status: unknown status {short(raw['status'])} (known: {sorted(STATUSES)})")
    sources = raw["sources"]
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise PriorError(f"{where}: sources: must be a list of source ids")
    if not sources and raw["status"] != "expertoordeel":
        raise PriorError(f"{where}: sources: missing source (only status expertoordeel may have none)")
    for s in sources:
        if s not in bibliography:
            raise PriorError(f"{where}: sources: unknown source id {short(s)} (not in priors/{BIBLIOGRAPHY})")
    bounds = parse_bounds(raw["bounds"], where)
    if money and bounds[0] < 0:
        raise PriorError(f"{where}: bounds: negative cost allowed by lower bound {bounds[0]}")
    point = raw["point"]
    if not _is_number(point):
        raise PriorError(f"{where}: point: non-numeric value {short(point)}")
    if money and point < 0:
        raise PriorError(f"{where}: point: negative cost {point}")
    if not bounds[0] <= point <= bounds[1]:
        raise PriorError(f"{where}: point: {point} lies outside the hard bounds [{bounds[0]}, {bounds[1]}]")
    spec = parse_distribution(raw["distribution"], bounds, where)
    if money:
        for k, v in spec.values.items():
            if v < 0:
                raise PriorError(f"{where}: distribution.{k}: negative cost {v}")
    if spec.family == "fixed" and spec.stated["value"][1] != point:
        raise PriorError(f"{where}: point: {point} differs from the fixed distribution's value "
                         f"{spec.stated['value'][1]}")
    band = raw.get("band")
    if band is not None:
        if not isinstance(band, Mapping) or set(band) != {"laag", "hoog"}:
            raise PriorError(f"{where}: band: must be a mapping with exactly 'laag' and 'hoog'")
        for k, v in band.items():
            if not _is_number(v):
                raise PriorError(f"{where}: band.{k}: non-numeric value {short(v)}")
            if not bounds[0] <= v <= bounds[1]:
                raise PriorError(f"{where}: band.{k}: {v} lies outside the hard bounds")
        band = {k: float(v) for k, v in band.items()}
    if raw["kind"] == "keuze":
        if band is None:
            raise PriorError(f"{where}: band: a keuze entry needs the report's choices {{laag: .., hoog: ..}}")
        if spec.family != "fixed":
            raise PriorError(f"{where}: distribution: a keuze entry is a policy choice, not an uncertainty: family "
                             f"fixed at its point (the variants in scenarios/varianten.toml set it), not "
                             f"{spec.family}")
        if float(point) not in band.values():
            raise PriorError(f"{where}: point: {point} is none of the band's choices {band}")
    elif band is not None:
        raise PriorError(f"{where}: band: only a keuze entry (a policy choice) has a band; an uncertain entry "
                         f"has a distribution")
    derived = raw.get("derived_from", [])
    if not isinstance(derived, list) or not all(isinstance(d, str) for d in derived) or not derived and \
            "derived_from" in raw:
        raise PriorError(f"{where}: derived_from: must be a non-empty list of published figure ids")
    if derived:
        from model.spec.published import PUBLISHED

        known = {f.name for f in PUBLISHED}
        for d in derived:
            if d not in known:
                raise PriorError(f"{where}: derived_from: unknown figure id {short(d)} (not in "
                                 f"model.spec.published.PUBLISHED)")
        if len(set(derived)) != len(derived):
            raise PriorError(f"{where}: derived_from: a figure id is listed twice")
    return PriorEntry(
        name=name, file=file, description=raw["description"].strip(), kind=raw["kind"], unit=unit,
        prijspeil=prijspeil, distribution=dict(raw["distribution"]), spec=spec, point=float(point), bounds=bounds,
        sources=tuple(sources), derivation=raw["derivation"].strip(), status=raw["status"], band=band,
        derived_from=tuple(derived),
    )


def check_file_keys(name: str, data: Any, keys: set[str]) -> dict:
    """A prior-style file must be a mapping with exactly the top-level ``keys``."""
    if not isinstance(data, dict):
        raise PriorError(f"{name}: (file): must be a mapping with {sorted(keys)}, got {type(data).__name__}")
    check_keys(f"{name}: (file)", data, keys, keys, "top-level key(s)")
    return data


def check_bibliography(name: str, bib: Any, prefix: str = "") -> dict:
    """Source records: a mapping of source ids to records with a title and only known keys.

    ``prefix`` is prepended to the id in messages (e.g. ``"bronnen."`` for a file's own sources section)."""
    if not isinstance(bib, dict):
        raise PriorError(f"{name}: {prefix.rstrip('.') or '(file)'}: must map source ids to records")
    for sid, rec in bib.items():
        if not isinstance(rec, dict) or "title" not in rec:
            raise PriorError(f"{name}: {prefix}{short(sid)}: a source needs at least a title")
        check_keys(f"{name}: {prefix}{sid}", rec, BIB_KEYS, set(), "key(s)")
    return bib


# ------------------------------------------------------------------------------------------------- set
@dataclass(frozen=True)
class PriorSet:
    """All prior entries of a model run, with their files' hashes, bibliography and correlations."""

    entries: Mapping[str, PriorEntry]
    file_hashes: Mapping[str, str]
    bibliography: Mapping[str, Mapping[str, Any]]
    correlations: Any                  # model.spec.dependence.Declarations (None: no correlaties.yaml)
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


def sample_support(entry: PriorEntry) -> tuple[tuple[float, float], str]:
    """Where the entry's own prior puts its draws, and what to call that range: the hard bounds, except for the
    families that ignore them (``model.spec.fitting``: normal, the real line; lognormal, the positive reals), whose
    draws the engine takes beyond the bounds too."""
    family = entry.spec.family
    if family == "normal":
        return (-math.inf, math.inf), "the support of its normal prior"
    if family == "lognormal":
        return (0.0, math.inf), "the support of its lognormal prior (open at 0)"
    return entry.bounds, "the hard bounds"


def check_joint_draws(names: tuple[str, ...], draws, priors: PriorSet, where: str) -> None:
    """Joint draws of entries (a posterior: ``draws`` (rows, len(names))) must name entries of ``priors`` and lie,
    finite, where each entry's prior puts its draws (:func:`sample_support`: its hard bounds, or the support of a
    normal or lognormal prior, which ignores them); else a :class:`PriorError` naming ``where``, the entry and how
    many draws fail."""
    import numpy as np

    draws = np.asarray(draws, dtype=float)
    if draws.ndim != 2 or draws.shape[1] != len(names) or draws.shape[0] == 0:
        raise PriorError(f"{where}: (draws): expected (rows, {len(names)}) joint draws, got shape {draws.shape}")
    for i, name in enumerate(names):
        if name not in priors.entries:
            raise PriorError(f"{where}: {short(name)}: no such prior entry in {priors.directory}")
        (lo, hi), what = sample_support(priors[name])
        col = draws[:, i]
        bad = ~np.isfinite(col) | (col < lo) | (col > hi)
        if priors[name].spec.family == "lognormal":
            bad |= col <= 0.0        # an open support
        if bad.any():
            example = col[np.flatnonzero(bad)[0]]
            raise PriorError(f"{where}: {name}: {int(bad.sum()):,} of {col.size:,} draws are not finite or lie outside "
                             f"{what} [{lo:g}, {hi:g}] of the entry (e.g. {example:g})")


def load_priors(directory: str | Path | None = None, *, fit: bool = True) -> PriorSet:
    """Load every ``*.yaml`` prior file in ``directory`` (default: the embedded ``priors/``).

    With ``fit=True`` each distribution is also fitted (:func:`fit_entry`), so a set whose stated quantiles a family
    cannot reproduce is refused at load time rather than mid-run; report mode, which uses the point values only,
    loads with ``fit=False``.
    """
    from model.deelopgaven.registry import required_inputs
    from model.spec.dependence import read_declarations

    directory = Path(directory) if directory is not None else PRIORS_DIR
    if not directory.is_dir():
        raise PriorError(f"{directory}: (directory): no such prior directory")
    bib_path = directory / BIBLIOGRAPHY
    if not bib_path.is_file():
        raise PriorError(f"{directory.name}/{BIBLIOGRAPHY}: (file): bibliography missing")
    bibliography = check_bibliography(bib_path.name, read_yaml(bib_path))
    hashes = {BIBLIOGRAPHY: file_hash(bib_path)}
    entries: dict[str, PriorEntry] = {}
    files: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name in (BIBLIOGRAPHY, CORRELATIONS):
            continue
        data = check_file_keys(path.name, read_yaml(path), FILE_KEYS)
        if not isinstance(data["entries"], dict) or not data["entries"]:
            raise PriorError(f"{path.name}: entries: must be a non-empty mapping")
        if not isinstance(data["deelopgave"], str):
            raise PriorError(f"{path.name}: deelopgave: must be a name, got {short(data['deelopgave'])}")
        files[data["deelopgave"]] = path.name
        for name, raw in data["entries"].items():
            if name in entries:
                raise PriorError(f"{path.name}: {name}: entry already defined in {entries[name].file}")
            entries[name] = check_entry(path.name, name, raw, bibliography)
        hashes[path.name] = file_hash(path)
    if not entries:
        raise PriorError(f"{directory.name}: (directory): no prior files (*.yaml with entries)")
    used = set(required_inputs())
    for name, entry in entries.items():
        if name not in used:
            raise PriorError(f"{entry.where}: no kernel uses this entry (an entry that enters no deelopgave "
                             "cannot change a result; remove it or fix its name)")
    correlations = None
    corr_path = directory / CORRELATIONS
    if corr_path.exists():
        correlations = read_declarations(corr_path, entries)
        hashes[CORRELATIONS] = file_hash(corr_path)
    prior_set = PriorSet(entries=entries, file_hashes=hashes, bibliography=bibliography, correlations=correlations,
                         directory=str(directory), files=files)
    if fit:
        fit_all(prior_set)
    return prior_set


# ------------------------------------------------------------------------------------------------ fits
_FIT_CACHE: dict[tuple, Any] = {}
_FIT_TOL = 0.02


@lru_cache(maxsize=1)
def _fit_code_digest() -> str:
    """What a fit depends on besides its specification: the fitting code and scipy's version."""
    from importlib.metadata import version

    here = Path(__file__).resolve().parent
    h = hashlib.sha256(version("scipy").encode())
    for name in ("families.py", "distributions.py", "marginals.py", "fitting.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()


def _fit_file(entry: PriorEntry) -> Path | None:
    """The file of an entry's fit in the fit cache (``<cache folder>/fits``), or None without a usable folder."""
    from model.paths import cache_folder, private_fallback

    key = hashlib.sha256(repr((entry.where, entry.spec.key(), _FIT_TOL, _fit_code_digest())).encode()).hexdigest()
    for folder in (lambda: cache_folder()[0], private_fallback):
        try:
            path = folder() / "fits"
            path.mkdir(parents=True, exist_ok=True)
            return path / f"{key[:32]}.json"
        except (OSError, SettingError):
            continue
    return None


def _read_fit(path: Path):
    import base64

    import numpy as np

    from model.spec.marginals import FitReport, Marginal

    try:
        f = json.loads(path.read_text(encoding="utf-8"))
        marginal = Marginal(f["family"], tuple(float(v) for v in f["params"]), float(f["lower"]), float(f["upper"]))
        table = np.frombuffer(base64.b64decode(f["table"]), dtype="<f8").copy()
        report = FitReport({k: float(v) for k, v in f["stated"].items()},
                           {k: float(v) for k, v in f["achieved"].items()}, float(f["max_rel_error"]), float(f["mean"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # damaged or from another layout: fitted again and rewritten
    if marginal.family == "uniform":
        from model.spec.families import PHI_TABLE
        table = PHI_TABLE
    table.setflags(write=False)
    marginal.__dict__["table"] = table  # the cached property, as the fit computed it
    return marginal, report


def _write_fit(path: Path, marginal, report) -> None:
    import base64
    import os

    import numpy as np

    table = b"" if marginal.family == "uniform" else np.asarray(marginal.table, dtype="<f8").tobytes()
    data = {"family": marginal.family, "params": [float(v) for v in marginal.params], "lower": marginal.lower,
            "upper": marginal.upper, "table": base64.b64encode(table).decode("ascii"), "stated": report.stated,
            "achieved": report.achieved, "max_rel_error": report.max_rel_error, "mean": report.mean}
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache: the fit is just not kept
    finally:
        tmp.unlink(missing_ok=True)


def fit_entry(entry: PriorEntry):
    """The fitted marginal distribution of one entry: ``(Marginal, FitReport)``; raises PriorError when the fit misses.

    Fits are kept in memory and in the fit cache (``<cache folder>/fits``, keyed by the entry's specification, the
    fitting code and scipy's version), so a later run does not load scipy to fit again."""
    key = (entry.where, entry.spec.key())
    if key not in _FIT_CACHE:
        path = _fit_file(entry)
        cached = _read_fit(path) if path is not None and path.is_file() else None
        if cached is None:
            from model.spec.fitting import fit_spec

            cached = fit_spec(entry.spec, where=entry.where, tol=_FIT_TOL)
            if path is not None:
                _write_fit(path, *cached)
        _FIT_CACHE[key] = cached
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
                     "mean": float(report.mean)})
    return rows
