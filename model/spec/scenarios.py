"""Scenarios: TOML overlays on the default priors, membership and year settings.

A scenario file ``scenarios/<naam>.toml`` names its base and overlays it::

    description = "Report's low end: norm at the first quartile, today's demand"
    base = "default"                  # or another scenario in the same folder (without .toml)

    [fixed]                           # entries fixed at a value (engine overrides)
    aandeel_publiek_capaciteit = 0.4

    [distributions.huishoudensgroei_2035]   # a changed distribution, checked like priors/*.yaml
    family = "normal"
    p5 = 0.04
    p50 = 0.08
    p95 = 0.12
    point = 0.08                      # optional: the point value (report mode); a fixed family sets it

    [membership]                      # which gemeenten form the NPVR (model.spec.data.load_gebieden)
    confidences = ["high", "likely"]  # optional, default as load_gebieden
    extra = ["GM0072", "GM1949"]      # candidates switched in
    exclude = []

    variant = "hoog"                  # optional: the main policy variant of a run of this scenario
                                      # (a name of scenarios/varianten.toml; default its 'standaard')

    [jaren]                           # year settings (model.spec.jaren.JaarInstellingen)
    discontovoet = 0.0225
    gevoeligheid = [0.016, 0.03]
    midjaar = false

``[fixed]`` and ``[distributions.*]`` accept the entries of ``priors/`` and of the year priors
``scenarios/jaren.yaml`` (phasing, construction-cost growth, inflation) alike. Overlays apply base first: a
child's ``[fixed]`` value replaces its base's; a child's ``[distributions.x]`` replaces the base's distribution
of ``x`` and lifts a fixed value of ``x`` set by the base; ``[membership]`` and ``[jaren]`` keys replace the
base's keys one by one. A name in both ``[fixed]`` and ``[distributions]`` of one file is refused.

Everything is validated when the scenario is loaded: unknown keys, unknown entry names, non-numeric values,
values outside an entry's hard bounds, distributions that break the prior rules or cannot be fitted, unknown
gemeente codes, base cycles. Errors are :class:`~model.errors.PriorError` and start with
``<file>: <field>:``, e.g. ``rapport_x.toml: fixed.normniveau: 7.0 lies outside the hard bounds [-0.5, 1.5]``.

A scenario does not set a policy choice (an entry of kind ``keuze``, e.g. ``normniveau``): the variants of
``scenarios/varianten.toml`` do, and every scenario is evaluated in each of them (``model.spec.varianten``). Its
``variant`` only says which of them fills a run's main tables (``rapport_hoog``: the report's high end); a child's
``variant`` replaces its base's.
``varianten.toml`` in the same folder is that file, not a scenario.

``default`` is the built-in scenario: the embedded priors and membership, no overlay.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from model.errors import PriorError
from model.paths import SCENARIOS_DIR
from model.spec.data import CONFIDENCES, DEFAULT_CONFIDENCES, MEMBERSHIP_FILE, Gebieden, load_gebieden
from model.spec.distributions import short
from model.spec.files import read_text
from model.spec.jaren import JaarInstellingen, load_jaren_priors
from model.spec.priors import PriorEntry, PriorSet, check_entry, fit_entry, load_priors
from model.spec.varianten import VARIANTEN_FILE, load_varianten

DEFAULT = "default"
TOP_KEYS = {"description", "base", "fixed", "distributions", "membership", "jaren", "variant"}
MEMBERSHIP_KEYS = {"confidences", "extra", "exclude"}
JAREN_KEYS = {"discontovoet", "gevoeligheid", "midjaar"}
DIST_EXTRA_KEYS = {"point"}
RATE_BOUNDS = (-0.05, 0.2)


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario: modified prior sets, fixed values, membership and year settings."""

    naam: str
    description: str
    files: tuple[str, ...]                         # scenario files of the chain, base first (paths)
    priors: PriorSet                               # model priors with the scenario's distributions
    jaren_priors: PriorSet                         # year priors with the scenario's distributions
    overrides: Mapping[str, float]                 # model entries fixed at a value (engine overrides)
    jaren_overrides: Mapping[str, float]           # year entries fixed at a value
    membership: Mapping[str, tuple[str, ...]]      # confidences / extra / exclude
    jaren: JaarInstellingen
    changed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # entry -> new distribution (+point)
    variant: str | None = None                     # the main policy variant of a run (None: varianten.toml's)

    def gebieden(self) -> Gebieden:
        return load_gebieden(**self.membership)

    def definition(self) -> dict:
        """Everything that determines the scenario's numbers (JSON-able); the basis of :attr:`hash`."""
        return {
            "naam": self.naam,
            "overrides": {k: self.overrides[k] for k in sorted(self.overrides)},
            "jaren_overrides": {k: self.jaren_overrides[k] for k in sorted(self.jaren_overrides)},
            "changed": {k: dict(sorted(self.changed[k].items())) for k in sorted(self.changed)},
            "membership": {k: list(v) for k, v in sorted(self.membership.items())},
            "jaren": dataclasses.asdict(self.jaren),
            "variant": self.variant,
            # the files the overlays start from (the scenario files themselves enter through their content)
            "prior_files": {k: v for k, v in sorted(self.priors.file_hashes.items()) if not k.startswith("scenarios/")},
            "jaren_files": {k: v for k, v in sorted(self.jaren_priors.file_hashes.items())
                            if not k.startswith("scenarios/")},
        }

    @property
    def hash(self) -> str:
        text = json.dumps(self.definition(), sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------------------------ loading
def list_scenarios(directory: str | Path | None = None) -> list[str]:
    """Names of the scenario files in ``directory`` (default ``scenarios/``), plus ``default``."""
    directory = Path(directory) if directory is not None else SCENARIOS_DIR
    return [DEFAULT] + sorted(p.stem for p in directory.glob("*.toml") if p.name != VARIANTEN_FILE.name)


def _resolve_path(spec: str | Path, directory: Path) -> Path:
    """A scenario given by the user: a path (ends in ``.toml`` or has a folder part), taken as given, or a name in
    ``directory``."""
    p = Path(spec)
    if p.suffix == ".toml" or len(p.parts) > 1:
        return p
    return directory / f"{spec}.toml"


def _base_path(base: str, current: Path) -> Path:
    """A scenario's ``base``: a name or a relative path, resolved against the folder of the file that names it
    (never the working directory), so a scenario means the same from wherever it is run."""
    p = Path(base)
    if p.is_absolute():
        return p
    return current.parent / (p if p.suffix == ".toml" else p.with_name(p.name + ".toml"))


def _read_toml(path: Path) -> dict:
    if not path.exists():
        raise PriorError(f"{path.name}: (file): no such scenario file ({path})")
    text = read_text(path, "scenario file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PriorError(f"{path.name}: (file): invalid TOML: {exc}") from None


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _unknown_name(where: str, name: str, known) -> PriorError:
    close = difflib.get_close_matches(name, list(known), n=3)
    hint = f" (did you mean {close}?)" if close else ""
    return PriorError(f"{where}: unknown entry {short(name)}{hint}")


def _chain(path: Path, directory: Path) -> list[tuple[Path, dict]]:
    """The scenario files from the root base down to ``path``, parsed (cycles and missing bases refused)."""
    chain: list[tuple[Path, dict]] = []
    seen: list[str] = []
    current = path
    while True:
        data = _read_toml(current)
        name = current.name
        if not isinstance(data, dict):
            raise PriorError(f"{name}: (file): must be a table")
        unknown = set(data) - TOP_KEYS
        if unknown:
            raise PriorError(f"{name}: {sorted(unknown)[0]}: unknown key (allowed: {sorted(TOP_KEYS)})")
        seen.append(str(current.resolve()))
        chain.append((current, data))
        base = data.get("base", DEFAULT)
        if not isinstance(base, str) or not base:
            raise PriorError(f"{name}: base: must be a scenario name, got {short(base)}")
        if base == DEFAULT:
            break
        nxt = _base_path(base, current)
        if not nxt.exists():
            raise PriorError(f"{name}: base: unknown scenario {short(base)} (known: {list_scenarios(current.parent)})")
        if str(nxt.resolve()) in seen:
            raise PriorError(f"{name}: base: cycle of bases {[Path(s).stem for s in seen] + [nxt.stem]}")
        current = nxt
    return list(reversed(chain))


def load_scenario(spec: str | Path | Scenario = DEFAULT, *, directory: str | Path | None = None,
                  priors: PriorSet | None = None, jaren_priors: PriorSet | None = None) -> Scenario:
    """Load and validate a scenario: ``"default"``, a name in ``directory`` (default ``scenarios/``) or a path.

    ``priors`` / ``jaren_priors`` are the sets the overlays start from (default: the embedded ones).
    """
    if isinstance(spec, Scenario):
        return spec
    directory = Path(directory) if directory is not None else SCENARIOS_DIR
    priors = priors if priors is not None else load_priors()
    jaren_priors = jaren_priors if jaren_priors is not None else load_jaren_priors(priors=priors)
    overlap = set(priors.entries) & set(jaren_priors.entries)
    if overlap:
        raise PriorError(f"jaren.yaml: {sorted(overlap)[0]}: entry also defined in priors/")
    if str(spec) == DEFAULT:
        return Scenario(naam=DEFAULT, description="Embedded priors and membership, no overlay", files=(),
                        priors=priors, jaren_priors=jaren_priors, overrides={}, jaren_overrides={},
                        membership={}, jaren=JaarInstellingen())

    path = _resolve_path(spec, directory)
    if path.name == VARIANTEN_FILE.name:
        raise PriorError(f"{path.name}: (file): the policy variants, not a scenario (cli.py run --variant NAME)")
    model_entries = dict(priors.entries)
    jaren_entries = dict(jaren_priors.entries)
    fixed: dict[str, float] = {}
    changed: dict[str, dict] = {}
    membership: dict[str, tuple[str, ...]] = {}
    jaren_settings: dict[str, Any] = {}
    hashes: dict[str, str] = {}
    description = ""
    variant = None
    chain = _chain(path, directory)
    for file_path, data in chain:
        name = file_path.name
        hashes[f"scenarios/{name}"] = hashlib.sha256(file_path.read_bytes()).hexdigest()
        desc = data.get("description", "")
        if not isinstance(desc, str):
            raise PriorError(f"{name}: description: must be a text")
        description = desc.strip() or description
        if "variant" in data:
            variant = _variant(name, data["variant"])
        f_fixed = _table(name, data, "fixed")
        f_dists = _table(name, data, "distributions")
        both = set(f_fixed) & set(f_dists)
        if both:
            raise PriorError(f"{name}: fixed.{sorted(both)[0]}: also given under [distributions]; choose one")
        for section, names in (("fixed", f_fixed), ("distributions", f_dists)):
            for entry_name in names:
                if entry_name in model_entries and model_entries[entry_name].choice:
                    raise PriorError(f"{name}: {section}.{entry_name}: a policy choice (kind keuze), set by the "
                                     f"variants of {VARIANTEN_FILE.name}, not by a scenario (cli.py run --variant)")
        for entry_name, table in f_dists.items():
            where = f"{name}: distributions.{entry_name}"
            target = model_entries if entry_name in model_entries else jaren_entries
            if entry_name not in target:
                raise _unknown_name(where, entry_name, [*model_entries, *jaren_entries])
            new, spec_used = _changed_entry(name, entry_name, target[entry_name], table, priors.bibliography,
                                            jaren_priors.bibliography)
            target[entry_name] = new
            changed[entry_name] = spec_used
            fixed.pop(entry_name, None)
        for entry_name, value in f_fixed.items():
            where = f"{name}: fixed.{entry_name}"
            entry = model_entries.get(entry_name) or jaren_entries.get(entry_name)
            if entry is None:
                raise _unknown_name(where, entry_name, [*model_entries, *jaren_entries])
            if not _is_number(value):
                raise PriorError(f"{where}: non-numeric value {short(value)}")
            lo, hi = entry.bounds
            if not lo <= value <= hi:
                raise PriorError(f"{where}: {value} lies outside the hard bounds [{lo}, {hi}] of {entry.where}")
            fixed[entry_name] = float(value)
        membership.update(_membership(name, _table(name, data, "membership")))
        jaren_settings.update(_jaren_settings(name, _table(name, data, "jaren")))

    new_priors = dataclasses.replace(priors, entries=model_entries, file_hashes={**priors.file_hashes, **hashes})
    new_jaren = dataclasses.replace(jaren_priors, entries=jaren_entries,
                                    file_hashes={**jaren_priors.file_hashes, **hashes})
    instellingen = JaarInstellingen(**{**dataclasses.asdict(JaarInstellingen()), **jaren_settings})
    return Scenario(
        naam=path.stem, description=description, files=tuple(str(p) for p, _ in chain), priors=new_priors,
        jaren_priors=new_jaren,
        overrides={k: v for k, v in fixed.items() if k in model_entries},
        jaren_overrides={k: v for k, v in fixed.items() if k in jaren_entries},
        membership=membership, jaren=instellingen, changed=changed, variant=variant,
    )


def _variant(file: str, value: Any) -> str:
    """A scenario's ``variant``: a name of the policy variants."""
    if not isinstance(value, str):
        raise PriorError(f"{file}: variant: must be the name of a variant of {VARIANTEN_FILE.name}")
    known = load_varianten().variants
    if value not in known:
        raise PriorError(f"{file}: variant: unknown variant {short(value)} (known: {', '.join(known)})")
    return value


def _table(file: str, data: dict, key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise PriorError(f"{file}: {key}: must be a table ([{key}])")
    return value


def _changed_entry(file: str, name: str, entry: PriorEntry, table: Any, *bibliographies) -> tuple[PriorEntry, dict]:
    """A copy of ``entry`` with the distribution of ``table``, checked by the prior rules and fitted."""
    where = f"{file}: distributions.{name}"
    if not isinstance(table, dict):
        raise PriorError(f"{where}: must be a table with a 'family'")
    dist = {k: v for k, v in table.items() if k not in DIST_EXTRA_KEYS}
    point = table.get("point", entry.point)
    if dist.get("family") == "fixed" and "point" not in table:
        point = dist.get("value", point)
    raw = {
        "description": entry.description, "kind": entry.kind, "unit": entry.unit, "prijspeil": entry.prijspeil,
        "distribution": dist, "point": point,
        "bounds": [None if math.isinf(entry.bounds[0]) else entry.bounds[0],
                   None if math.isinf(entry.bounds[1]) else entry.bounds[1]],
        "sources": list(entry.sources), "derivation": entry.derivation, "status": entry.status,
    }
    if entry.band is not None:
        raw["band"] = dict(entry.band)
    bibliography = {}
    for b in bibliographies:
        bibliography.update(b)
    try:
        new = check_entry(file, name, raw, bibliography)
    except PriorError as exc:
        msg = str(exc).replace(f"{file}: {name}: distribution.", f"{where}.", 1)
        msg = msg.replace(f"{file}: {name}: distribution:", f"{where}:", 1)
        msg = msg.replace(f"{file}: {name}: point:", f"{where}.point:", 1)
        msg = msg.replace(f"{file}: {name}:", f"{where}:", 1)
        raise PriorError(msg) from None
    try:
        fit_entry(new)
    except PriorError as exc:
        raise PriorError(str(exc).replace(f"{file}: {name}:", f"{where}:", 1)) from None
    used = dict(dist)
    used["point"] = float(point)
    return new, used


def _membership(file: str, table: dict) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    unknown = set(table) - MEMBERSHIP_KEYS
    if unknown:
        raise PriorError(f"{file}: membership.{sorted(unknown)[0]}: unknown key (allowed: {sorted(MEMBERSHIP_KEYS)})")
    if not table:
        return out
    known = set(load_gebieden(confidences=CONFIDENCES).gm_code)
    for key, value in table.items():
        where = f"{file}: membership.{key}"
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PriorError(f"{where}: must be a list of texts")
        if key == "confidences" and not value:
            raise PriorError(f"{where}: empty (give at least one of {', '.join(CONFIDENCES)})")
        for v in value:
            if key == "confidences" and v not in CONFIDENCES:
                raise PriorError(f"{where}: unknown confidence {short(v)} (known: {list(CONFIDENCES)})")
            if key != "confidences" and v not in known:
                raise PriorError(f"{where}: unknown gemeente code {short(v)} (not in data/{MEMBERSHIP_FILE})")
        out[key] = tuple(value)
    try:
        load_gebieden(**out)
    except PriorError as exc:       # e.g. every municipality excluded
        raise PriorError(f"{file}: membership: {exc}") from None
    return out


def _jaren_settings(file: str, table: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    unknown = set(table) - JAREN_KEYS
    if unknown:
        raise PriorError(f"{file}: jaren.{sorted(unknown)[0]}: unknown key (allowed: {sorted(JAREN_KEYS)})")
    lo, hi = RATE_BOUNDS
    for key, value in table.items():
        where = f"{file}: jaren.{key}"
        if key == "discontovoet":
            if not _is_number(value) or not lo <= value <= hi:
                raise PriorError(f"{where}: must be a rate in [{lo}, {hi}], got {short(value)}")
            out[key] = float(value)
        elif key == "gevoeligheid":
            if not isinstance(value, list) or not all(_is_number(v) and lo <= v <= hi for v in value):
                raise PriorError(f"{where}: must be a list of rates in [{lo}, {hi}], got {short(value)}")
            out[key] = tuple(float(v) for v in value)
        elif key == "midjaar":
            if not isinstance(value, bool):
                raise PriorError(f"{where}: must be true or false, got {short(value)}")
            out[key] = value
    return out


__all__ = ["Scenario", "load_scenario", "list_scenarios", "SCENARIOS_DIR", "DEFAULT", "DEFAULT_CONFIDENCES"]
