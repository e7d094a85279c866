"""The allocation keys: how each deelopgave's national amount lands in the gemeenten (``priors/verdeling/
verdeelsleutels.yaml``; its header states the model).

Per draw, gemeente g's share of a deelopgave is ``basis_g × exp(Σ_j w_j·x_gj + τ_g·ε_g − τ_g²/2)``, normalised
over the gemeenten (of a region class, for a part in ``delen``): ``x`` the indicators of ``model.spec.data``
relative to the NPVR (``log``: ln(v/v̄); ``verschil``: v − v̄; v̄ weighted by the basis over the gemeenten with a
figure; 0 without one), ``w_j`` normal weights drawn per draw, ``τ_g`` the spread the indicators leave
(``spreiding``; ``spreiding_onbekend`` where an indicator has no figure). :func:`key_arrays` turns a key and the
run's gemeenten into the arrays the compiled allocation reads (``model.engine.verdeling``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from model.errors import PriorError
from model.spec.data import INDICATOREN, REGION_CLASSES, REGIOS, Gebieden
from model.spec.distributions import short
from model.spec.files import file_hash, read_yaml
from model.spec.priors import check_file_keys, check_keys

VERDELING_FILE = Path("verdeling") / "verdeelsleutels.yaml"
BASES = ("inwoners", "huishoudens", "woningen")
TRANSFORMS = ("log", "verschil")
_KEY_FIELDS = {"basis", "rationale", "sources", "indicatoren", "spreiding", "spreiding_onbekend", "delen"}
_KEY_REQUIRED = {"basis", "rationale", "sources", "indicatoren", "spreiding", "spreiding_onbekend"}


@dataclass(frozen=True)
class Indicator:
    naam: str
    transform: str
    mean: float         # the weight's prior: normal(mean, sd)
    sd: float


@dataclass(frozen=True)
class Sleutel:
    """The allocation key of one deelopgave."""

    deelopgave: str
    basis: str
    rationale: str
    sources: tuple[str, ...]
    indicatoren: tuple[Indicator, ...]
    spreiding: float
    spreiding_onbekend: float
    delen: tuple[tuple[str, str | None], ...]   # (line of the deelopgave's part, region class) or () for the whole


@dataclass(frozen=True)
class Verdeling:
    sleutels: Mapping[str, Sleutel]     # deelopgave -> key, in the registry's order
    path: str                           # relative to the prior directory
    sha256: str


@dataclass(frozen=True)
class KeyArrays:
    """One key on the gemeenten of a run: ``log_basis`` (G,), ``x`` (G, J) the indicators, ``tau`` (G,), the
    weights' ``mean``/``sd`` (J,), and per part its ``masks`` row (P, G): the gemeenten it is divided over."""

    log_basis: np.ndarray
    x: np.ndarray
    tau: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    masks: np.ndarray


def _number(where: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (lo <= value <= hi):
        raise PriorError(f"{where}: must be a number in [{lo:g}, {hi:g}], got {short(value)}")
    return float(value)


def load_verdeling(directory: str | Path, bibliography: Mapping[str, Any]) -> Verdeling:
    """Read and check the allocation keys of the prior directory ``directory``: one key per deelopgave of the
    registry with a Table 1.2 column (PM lines too), known bases, indicators and transforms, weights and spreads in
    range, sources in the bibliography, ``delen`` exactly the deelopgave's part lines."""
    from model.deelopgaven.registry import DEELOPGAVEN

    path = Path(directory) / VERDELING_FILE
    name = str(VERDELING_FILE)
    if not path.exists():
        raise PriorError(f"{name}: (file): missing in the prior directory {Path(directory).name}/ (the allocation "
                         "keys of the regional results)")
    data = check_file_keys(name, read_yaml(path), {"description", "sleutels"})
    raw = data["sleutels"]
    if not isinstance(raw, dict):
        raise PriorError(f"{name}: sleutels: must map deelopgaven to keys")
    wanted = {d.naam: d for d in DEELOPGAVEN if d.kolom is not None}
    unknown = sorted(set(raw) - set(wanted))
    if unknown:
        raise PriorError(f"{name}: sleutels.{unknown[0]}: not a deelopgave with a Table 1.2 column (known: "
                         f"{', '.join(wanted)})")
    missing = [d for d in wanted if d not in raw]
    if missing:
        raise PriorError(f"{name}: sleutels: no key for {', '.join(missing)} (every deelopgave needs one)")
    keys = {}
    for d_name, d in wanted.items():
        where = f"{name}: sleutels.{d_name}"
        spec = raw[d_name]
        if not isinstance(spec, dict):
            raise PriorError(f"{where}: must be a mapping")
        check_keys(where, spec, _KEY_FIELDS, _KEY_REQUIRED, "field(s)")
        if spec["basis"] not in BASES:
            raise PriorError(f"{where}.basis: unknown basis {short(spec['basis'])} (known: {', '.join(BASES)})")
        if not isinstance(spec["rationale"], str) or not spec["rationale"].strip():
            raise PriorError(f"{where}.rationale: empty (say why this key)")
        sources = spec["sources"]
        if not isinstance(sources, list) or not sources:
            raise PriorError(f"{where}.sources: a non-empty list of ids in bronnen.yaml")
        for s in sources:
            if s not in bibliography:
                raise PriorError(f"{where}.sources: unknown source {short(s)} (not in bronnen.yaml)")
        inds = spec["indicatoren"] or {}
        if not isinstance(inds, dict):
            raise PriorError(f"{where}.indicatoren: must map indicators to {{transform, gewicht}}")
        indicators = []
        for ind, ispec in inds.items():
            iw = f"{where}.indicatoren.{ind}"
            if ind not in INDICATOREN or ind in BASES:
                raise PriorError(f"{iw}: unknown indicator (known: "
                                 f"{', '.join(k for k in INDICATOREN if k not in BASES)})")
            if not isinstance(ispec, dict):
                raise PriorError(f"{iw}: must be a mapping {{transform, gewicht}}")
            check_keys(iw, ispec, {"transform", "gewicht"}, {"transform", "gewicht"}, "field(s)")
            if ispec["transform"] not in TRANSFORMS:
                raise PriorError(f"{iw}.transform: unknown transform {short(ispec['transform'])} (known: "
                                 f"{', '.join(TRANSFORMS)})")
            w = ispec["gewicht"]
            if not isinstance(w, dict):
                raise PriorError(f"{iw}.gewicht: must be {{mean, sd}} (a normal prior)")
            check_keys(f"{iw}.gewicht", w, {"mean", "sd"}, {"mean", "sd"}, "field(s)")
            indicators.append(Indicator(ind, ispec["transform"], _number(f"{iw}.gewicht.mean", w["mean"], -10, 10),
                                        _number(f"{iw}.gewicht.sd", w["sd"], 0, 10)))
        tau = _number(f"{where}.spreiding", spec["spreiding"], 0, 3)
        tau_unknown = _number(f"{where}.spreiding_onbekend", spec["spreiding_onbekend"], 0, 3)
        if tau_unknown < tau:
            raise PriorError(f"{where}.spreiding_onbekend: {tau_unknown:g} is below spreiding {tau:g} (a gemeente "
                             "without a figure is known less well, not better)")
        part_lines = [line.naam for line in d.lines if line.deel]
        delen_raw = spec.get("delen") or {}
        if not isinstance(delen_raw, dict):
            raise PriorError(f"{where}.delen: must map part lines to {{regio_klasse}}")
        if sorted(delen_raw) != sorted(part_lines):
            raise PriorError(f"{where}.delen: must name exactly the deelopgave's part lines "
                             f"{part_lines or '(none)'}, got {sorted(delen_raw) or '(none)'}")
        delen = []
        for line_name in part_lines:
            dspec = delen_raw[line_name] or {}
            check_keys(f"{where}.delen.{line_name}", dspec, {"regio_klasse"}, set(), "field(s)")
            klasse = dspec.get("regio_klasse")
            if klasse is not None and klasse not in REGION_CLASSES:
                raise PriorError(f"{where}.delen.{line_name}.regio_klasse: unknown class {short(klasse)} (known: "
                                 f"{', '.join(REGION_CLASSES)})")
            delen.append((line_name, klasse))
        keys[d_name] = Sleutel(d_name, spec["basis"], " ".join(spec["rationale"].split()), tuple(sources),
                               tuple(indicators), tau, tau_unknown, tuple(delen))
    return Verdeling(keys, name, file_hash(path))


def relative(values: np.ndarray, basis: np.ndarray, transform: str) -> np.ndarray:
    """An indicator relative to the NPVR: ``log`` ln(v/v̄) or ``verschil`` v − v̄, v̄ the basis-weighted mean over
    the gemeenten with a figure; 0 where there is none (NaN)."""
    known = ~np.isnan(values)
    out = np.zeros(values.size)
    if not known.any():
        return out
    ref = np.average(values[known], weights=basis[known])
    if transform == "log":
        out[known] = np.log(values[known] / ref)
    else:
        out[known] = values[known] - ref
    return out


def key_arrays(key: Sleutel, gebieden: Gebieden) -> KeyArrays:
    """The arrays of ``key`` on the run's gemeenten (the compiled allocation's inputs)."""
    basis = gebieden.indicatoren[key.basis]
    n = basis.size
    x = np.zeros((n, len(key.indicatoren)))
    known = np.ones(n, dtype=bool)
    for j, ind in enumerate(key.indicatoren):
        values = gebieden.indicatoren[ind.naam]
        bad = np.flatnonzero(values <= 0) if ind.transform == "log" else np.zeros(0, dtype=int)
        if bad.size:     # ln(0) would give the gemeente a share of 0 or NaN, silently
            g = bad[0]
            raise PriorError(f"{VERDELING_FILE}: sleutels.{key.deelopgave}.indicatoren.{ind.naam}.transform: log of "
                             f"{values[g]:g} for {gebieden.gm_code[g]} ({gebieden.gemeente[g]}); a log transform "
                             "needs positive values (use transform: verschil for this indicator)")
        x[:, j] = relative(values, basis, ind.transform)
        known &= ~np.isnan(values)
    tau = np.where(known, key.spreiding, key.spreiding_onbekend)
    klasse = np.array([gebieden.regio_klasse[r] for r in gebieden.regio])
    masks = (np.array([klasse == k if k is not None else np.ones(n, dtype=bool) for _, k in key.delen])
             if key.delen else np.ones((1, n), dtype=bool))
    empty = [line for (line, _), m in zip(key.delen, masks) if not m.any()]
    if empty:
        raise PriorError(f"{VERDELING_FILE}: sleutels.{key.deelopgave}.delen.{empty[0]}: no gemeente of the run is in "
                         "its region class")
    return KeyArrays(np.log(basis), np.ascontiguousarray(x), tau, np.array([i.mean for i in key.indicatoren]),
                     np.array([i.sd for i in key.indicatoren]), masks)


def region_index(gebieden: Gebieden) -> np.ndarray:
    """Each gemeente's region, as its index in ``REGIOS``."""
    return np.array([REGIOS.index(r) for r in gebieden.regio], dtype=np.int64)
