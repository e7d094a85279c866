"""The ``distribution`` mapping of a prior entry, as economists state it, read and checked (no scipy).

A prior entry's ``distribution`` takes one of three forms:

* quantiles ``{family: lognormal, p5: 100, p50: 150, p95: 260}``: any keys ``p<q>`` with ``0 < q < 100`` (``p5``,
  ``p10``, ``p2.5`` ...), increasing with ``q``, at least two (three for metalog, triangular and pert);
* three-point ``{family: pert, min: 1, mode: 2, max: 5, coverage: 0.9}``: ``coverage`` (required) is the
  probability that the value lies in ``[min, max]`` (1.0: min and max are the true ends; 0.9: they are P5 and
  P95); for uniform, triangular and pert; uniform takes min/max without a mode;
* fixed ``{family: fixed, value: 3.2}``.

The stated values lie inside the entry's hard bounds. :func:`parse_distribution` is the one reader of these
mappings: the prior loader, the scenario overlays and the year priors call it (through
``model.spec.priors``), and :func:`model.spec.fitting.fit_marginal` fits what it returns. Every refusal is a
:class:`~model.errors.PriorError` whose message starts with ``where`` (``"<file>: <entry>"``).
"""

from __future__ import annotations

import math
import numbers
import re
import reprlib
from dataclasses import dataclass
from typing import Any, Mapping

from model.errors import PriorError
from model.spec.families import FAMILY_CODES

QUANTILE_KEY = re.compile(r"^p(\d+(?:\.\d+)?)$")
THREE_POINT_KEYS = ("min", "mode", "max", "coverage")
THREE_POINT_FAMILIES = ("uniform", "triangular", "pert")
#: Minimum number of stated quantiles per family (default 2).
MIN_QUANTILES = {"metalog": 3, "triangular": 3, "pert": 3}


_REPR = reprlib.Repr()  # Python 3.11: limits are attributes
for _attr in ("maxtuple", "maxlist", "maxarray", "maxdict", "maxset", "maxfrozenset", "maxdeque"):
    setattr(_REPR, _attr, 4)
_REPR.maxlevel, _REPR.maxstring, _REPR.maxlong, _REPR.maxother = 2, 40, 40, 40


def short(value: Any) -> str:
    """A bounded ``repr`` of ``value`` for error messages: depth, items and length are cut (a YAML alias bomb or a
    huge value is never expanded into a message)."""
    return _REPR.repr(value)


@dataclass(frozen=True)
class DistributionSpec:
    """A checked ``distribution`` mapping.

    ``stated`` maps each stated quantile's key to ``(probability, value)`` in increasing order: the quantile keys,
    or for the three-point form the quantiles that min and max stand for (``"min"``/``"max"`` when coverage is 1),
    or ``{"value": (0.5, v)}`` for fixed. ``mode`` and ``coverage`` only for the three-point form."""

    family: str
    form: str                                   # fixed / quantiles / three_point
    stated: Mapping[str, tuple[float, float]]
    bounds: tuple[float, float]
    mode: float | None = None
    coverage: float | None = None

    def key(self) -> tuple:
        """A hashable identity of the specification (for caches)."""
        return (self.family, self.form, tuple(self.stated.items()), self.bounds, self.mode, self.coverage)

    @property
    def values(self) -> dict[str, float]:
        """The stated numbers by key (and the mode)."""
        out = {k: x for k, (_, x) in self.stated.items()}
        if self.mode is not None:
            out["mode"] = self.mode
        return out


def _pkey(p: float) -> str:
    return f"p{100 * p:.10g}"


def parse_bounds(bounds: Any, where: str) -> tuple[float, float]:
    """``[lo, hi]`` with ``None`` for an open end -> floats (infinite for open ends); refuses an empty range."""
    if not (isinstance(bounds, (list, tuple)) and len(bounds) == 2):
        raise PriorError(f"{where}: bounds: must be a list [lower, upper] (null for open), got {short(bounds)}")
    lo = -math.inf if bounds[0] is None else bounds[0]
    hi = math.inf if bounds[1] is None else bounds[1]
    for b in (lo, hi):
        if isinstance(b, bool) or not isinstance(b, numbers.Real) or math.isnan(b):
            raise PriorError(f"{where}: bounds: must be numbers or null, got {short(bounds)}")
    if not lo < hi:
        raise PriorError(f"{where}: bounds: lower {lo} is not below upper {hi}")
    return float(lo), float(hi)


def parse_distribution(spec: Any, bounds: tuple[float, float], where: str) -> DistributionSpec:
    """Check a ``distribution`` mapping against the rules above and the hard ``bounds`` (floats, infinite for an
    open end); returns a :class:`DistributionSpec`."""
    def fail(field: str, msg: str):
        raise PriorError(f"{where}: distribution{'.' + field if field else ''}: {msg}")

    if not isinstance(spec, Mapping):
        fail("", f"must be a mapping with a 'family', got {type(spec).__name__}")
    family = spec.get("family")
    if not isinstance(family, str) or family not in FAMILY_CODES:
        fail("family", f"unknown family {short(family)} (known: {sorted(FAMILY_CODES)})")
    lo, hi = bounds
    values: dict[str, float] = {}
    for key, val in spec.items():
        if key == "family":
            continue
        if not isinstance(key, str) or not (key in THREE_POINT_KEYS or key == "value" or QUANTILE_KEY.match(key)):
            fail("", f"unknown key {short(key)} for family {family} (expected p<q> quantiles, min/mode/max/coverage "
                     "or value)")
        if isinstance(val, bool) or not isinstance(val, numbers.Real) or not math.isfinite(val):
            fail(key, f"must be a finite number, got {short(val)}")
        values[key] = float(val)

    def inside(key: str, x: float) -> None:
        if not lo <= x <= hi:
            fail(key, f"{x:g} lies outside the hard bounds [{lo:g}, {hi:g}]")

    if family == "fixed":
        if set(values) != {"value"}:
            fail("", f"family fixed expects exactly the key 'value', got {sorted(values)}")
        inside("value", values["value"])
        return DistributionSpec("fixed", "fixed", {"value": (0.5, values["value"])}, (lo, hi))
    if "value" in values:
        fail("value", f"only for family fixed, not {family}")

    quantiles = {}
    for key, x in values.items():
        if m := QUANTILE_KEY.match(key):
            p = float(m.group(1)) / 100
            if not 0 < p < 1:
                fail(key, "a quantile key must lie strictly between p0 and p100")
            quantiles[key] = (p, x)
    three = {k: values[k] for k in THREE_POINT_KEYS if k in values}
    if three and quantiles:
        fail("", "give either quantiles (p5, p50, ...) or min/mode/max with a coverage, not both")

    if three:
        if family not in THREE_POINT_FAMILIES:
            fail("", f"the min/mode/max form is only for {', '.join(THREE_POINT_FAMILIES)}; give quantiles for {family}")
        required = ["min", "max", "coverage"] if family == "uniform" else ["min", "mode", "max", "coverage"]
        missing = [k for k in required if k not in three]
        if missing:
            fail("", f"missing {missing} (three-point form: min, {'' if family == 'uniform' else 'mode, '}max and the "
                     "coverage of [min, max])")
        if family == "uniform" and "mode" in three:
            fail("mode", "uniform takes min/max (and coverage), not a mode")
        coverage = three["coverage"]
        if not 0 < coverage <= 1:
            fail("coverage", f"must lie in (0, 1], got {coverage:g}")
        xmin, xmax, mode = three["min"], three["max"], three.get("mode")
        if not xmin < xmax:
            fail("min", f"min {xmin:g} is not below max {xmax:g}")
        if mode is not None and not xmin <= mode <= xmax:
            fail("mode", f"need min <= mode <= max, got min {xmin:g}, mode {mode:g}, max {xmax:g}")
        for key in ("min", "mode", "max"):
            if key in three:
                inside(key, three[key])
        p_lo, p_hi = (1 - coverage) / 2, (1 + coverage) / 2
        stated = {_pkey(p_lo) if p_lo > 0 else "min": (p_lo, xmin), _pkey(p_hi) if p_hi < 1 else "max": (p_hi, xmax)}
        return DistributionSpec(family, "three_point", stated, (lo, hi), mode=mode, coverage=coverage)

    if not quantiles:
        fail("", f"no quantiles given for family {family} (keys like p5, p50, p95)")
    stated = dict(sorted(quantiles.items(), key=lambda kv: kv[1][0]))
    keys = list(stated)
    need = MIN_QUANTILES.get(family, 2)
    if len(keys) < need:
        fail("", f"family {family} needs at least {need} quantiles, got {keys}")
    for k1, k2 in zip(keys, keys[1:]):
        if not stated[k1][1] < stated[k2][1]:
            fail(k1, f"quantiles must increase with p, but {k1} = {stated[k1][1]:g} >= {k2} = {stated[k2][1]:g}")
    for k in keys:
        inside(k, stated[k][1])
    return DistributionSpec(family, "quantiles", stated, (lo, hi))
