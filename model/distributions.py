"""Prior marginals: fitted from how economists state them, and numba transforms for the engine.

A prior entry in a YAML file carries a ``distribution`` mapping in one of three forms:

* quantiles ``{family: lognormal, p5: 100, p50: 150, p95: 260}`` -- any keys ``p<q>`` with
  ``0 < q < 100`` (``p5``, ``p10``, ``p2.5`` ...), as many as the family needs;
* three-point ``{family: pert, min: 1, mode: 2, max: 5, coverage: 0.9}`` -- ``coverage`` is the
  probability that the value lies in ``[min, max]`` (default 1.0: min/max are the true ends;
  0.9 means min/max are P5/P95);
* fixed ``{family: fixed, value: 3.2}``;

and the entry has hard ``bounds: [lo, hi]`` (``None`` = unbounded), passed here as ``bounds``.

Families, their accepted forms, canonical ``Marginal.params`` and integer codes:

==============  ====  ================  ===================================================
family          code  forms             params
==============  ====  ================  ===================================================
fixed           0     value             ``(value,)``
normal          1     quantiles (>=2)   ``(mu, sigma)``
lognormal       2     quantiles (>=2)   ``(mu, sigma)`` of ``log x``
truncnormal     3     quantiles (>=2)   ``(mu, sigma, lo, hi)``: N(mu, sigma) truncated to
                                        the hard bounds (which may be infinite)
uniform         4     three-point/q.    ``(a, b)`` true ends (no ``mode`` key)
triangular      5     three-point/q.    ``(a, c, b)`` true ends and mode
pert            6     three-point/q.    ``(a, c, b)`` true ends and mode; beta-PERT with
                                        lambda=4: Beta(1+4(c-a)/(b-a), 1+4(b-c)/(b-a))
beta            7     quantiles (>=2)   ``(alpha, beta, lo, hi)``; support is the hard bounds,
                                        a missing bound defaults to 0 (lo) or 1 (hi)
metalog         8     quantiles (>=3)   ``(a1, a2, a3, lo, hi)``: 3-term metalog
                                        M(y) = a1 + a2 L + a3 (y - 1/2) L, L = ln(y/(1-y));
                                        x = M (lo=hi=inf), lo + e^M (semi-bounded below),
                                        hi - e^-M (above), (lo + hi e^M)/(1 + e^M) (both).
                                        The bounds are the entry's hard bounds.
==============  ====  ================  ===================================================

``normal`` and ``lognormal`` ignore the hard bounds except to check that the stated quantiles lie
inside them; use ``truncnormal`` (or ``beta``/``metalog``) when the bounds must hold.
The quantile form of triangular/pert needs at least 3 quantiles (least squares, numeric).

Every refusal raises :class:`PriorError` whose message starts with ``where``
(``"<file>: <entry>"``), so a reviewer can find the offending line.

The numba engine draws correlated standard-normal scores ``z`` and maps each one with
:func:`z_to_x` (``code``, ``vector``, ``table`` from the :class:`Marginal`).
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from llvmlite import ir
from numba import config, njit, types
from numba.extending import intrinsic, register_jitable
from scipy import integrate, optimize, stats

from model.errors import PriorError

__all__ = [
    "PriorError",
    "Marginal",
    "FitReport",
    "FAMILY_CODES",
    "fit_marginal",
    "z_to_x",
    "z_to_x_array",
]

FIXED, NORMAL, LOGNORMAL, TRUNCNORMAL, UNIFORM, TRIANGULAR, PERT, BETA, METALOG = range(9)
FAMILY_CODES = {
    "fixed": FIXED,
    "normal": NORMAL,
    "lognormal": LOGNORMAL,
    "truncnormal": TRUNCNORMAL,
    "uniform": UNIFORM,
    "triangular": TRIANGULAR,
    "pert": PERT,
    "beta": BETA,
    "metalog": METALOG,
}
_TABLE_FAMILIES = ("truncnormal", "pert", "beta")

VECTOR_LEN = 8
# Lookup tables for the families with an expensive ppf are tabulated as x(z) = F^-1(Phi(z)) on a
# uniform grid in z over [-TABLE_Z_MAX, TABLE_Z_MAX] (not in u: a z grid resolves both tails and
# copes with an infinite end, as for a one-sided truncnormal). With 4097 points (dz = 7/2048) the
# linear interpolation error is below 1e-4 of max(|x|, IQR). Scores beyond the grid (probability
# 1.3e-12 per tail) are clamped to the end values; further out scipy's truncnorm tails lose
# accuracy anyway.
TABLE_LEN = 4097
TABLE_Z_MAX = 7.0
_TABLE_DZ = 2.0 * TABLE_Z_MAX / (TABLE_LEN - 1)
_TABLE_INV_DZ = (TABLE_LEN - 1) / (2.0 * TABLE_Z_MAX)
# The uniform family's table: Phi and its density on the same grid, for cubic Hermite interpolation of Phi.
_GRID = np.linspace(-TABLE_Z_MAX, TABLE_Z_MAX, TABLE_LEN)
PHI_TABLE = np.concatenate([stats.norm.cdf(_GRID), stats.norm.pdf(_GRID)])
PHI_TABLE.setflags(write=False)

# Keelin (2016): a 3-term metalog is a valid (increasing) quantile function iff
# a2 > 0 and |a3| / a2 < 1.66711.
_METALOG_A3_RATIO = 1.66711

_QUANTILE_KEY = re.compile(r"^p(\d+(?:\.\d+)?)$")
_THREE_POINT_KEYS = {"min", "mode", "max", "coverage"}


# --------------------------------------------------------------------------------------------
# scipy-style helpers for the two families scipy.stats lacks
# --------------------------------------------------------------------------------------------


class _Degenerate:
    """Point mass at ``value`` with the subset of the frozen-scipy interface we use."""

    def __init__(self, value: float):
        self.value = float(value)

    def ppf(self, u):
        u = np.asarray(u, dtype=float)
        return np.where(np.isnan(u), np.nan, np.full_like(u, self.value))

    def isf(self, u):
        return self.ppf(u)

    def cdf(self, x):
        return (np.asarray(x, dtype=float) >= self.value).astype(float)

    def mean(self) -> float:
        return self.value

    def median(self) -> float:
        return self.value

    def std(self) -> float:
        return 0.0

    def support(self) -> tuple[float, float]:
        return self.value, self.value

    def rvs(self, size=None, random_state=None):
        return np.full(size if size is not None else (), self.value)


class _Metalog(stats.rv_continuous):
    """Three-term metalog (Keelin 2016), optionally bounded below (``lo``) and/or above (``hi``).

    The quantile function is closed-form; the cdf inverts it by bisection.
    """

    def __init__(self, coef=(0.0, 1.0, 0.0), lo=-np.inf, hi=np.inf, **kwargs):
        kwargs.setdefault("a", lo)
        kwargs.setdefault("b", hi)
        kwargs.setdefault("name", "metalog")
        super().__init__(**kwargs)
        self._coef = tuple(float(c) for c in coef)
        self._lo, self._hi = float(lo), float(hi)

    def _updated_ctor_param(self):
        return {**super()._updated_ctor_param(), "coef": self._coef, "lo": self._lo, "hi": self._hi}

    def _m(self, y, v=None):
        """M(y); pass ``v = 1 - y`` when it is known more accurately than ``1 - y``."""
        a1, a2, a3 = self._coef
        logit = np.log(y) - (np.log1p(-y) if v is None else np.log(v))
        return a1 + a2 * logit + a3 * (y - 0.5) * logit

    def _from_m(self, m):
        return _metalog_from_m(m, self._lo, self._hi)

    def _ppf(self, q):
        return self._from_m(self._m(q))

    def _cdf(self, x):
        target = _metalog_to_m(np.asarray(x, dtype=float), self._lo, self._hi)
        lo_y = np.zeros_like(target)
        hi_y = np.ones_like(target)
        with np.errstate(divide="ignore", invalid="ignore"):
            for _ in range(64):  # bisection on y; 2^-64 absolute precision
                mid = 0.5 * (lo_y + hi_y)
                below = self._m(mid) < target
                lo_y = np.where(below, mid, lo_y)
                hi_y = np.where(below, hi_y, mid)
        return 0.5 * (lo_y + hi_y)

    def _pdf(self, x):
        a1, a2, a3 = self._coef
        y = np.clip(self._cdf(x), 1e-300, 1 - 1e-16)
        logit = np.log(y) - np.log1p(-y)
        dm = a2 / (y * (1 - y)) + a3 * (logit + (y - 0.5) / (y * (1 - y)))
        m = self._m(y)
        lo, hi = self._lo, self._hi
        if np.isfinite(lo) and np.isfinite(hi):
            dx = (hi - lo) * stats.logistic.pdf(m) * dm
        elif np.isfinite(lo):
            dx = np.exp(m) * dm
        elif np.isfinite(hi):
            dx = np.exp(-m) * dm
        else:
            dx = dm
        return 1.0 / dx

    def _munp(self, n):
        # A semi-bounded metalog has a power-law tail, x ~ y^-k near the open end with
        # k = a2 - a3/2 (lower tail) or a2 + a3/2 (upper tail): moment n exists iff n k < 1.
        # The integral of Q(y)^n over y is split at 1/2 and each half is substituted as
        # y = s^r (resp. 1 - y = s^r) with r = 2 / (1 - n k), which makes the integrand vanish at s = 0.
        a1, a2, a3 = self._coef
        k_lo = n * (a2 - a3 / 2) if np.isfinite(self._hi) and not np.isfinite(self._lo) else 0.0
        k_hi = n * (a2 + a3 / 2) if np.isfinite(self._lo) and not np.isfinite(self._hi) else 0.0
        if k_hi >= 1:
            return np.inf
        if k_lo >= 1:
            return np.inf if n % 2 == 0 else -np.inf
        r_lo, r_hi = 2 / (1 - k_lo), 2 / (1 - k_hi)

        def lower(s):
            w = s**r_lo
            return self._from_m(self._m(w, 1 - w)) ** n * r_lo * s ** (r_lo - 1)

        def upper(s):
            w = s**r_hi
            return self._from_m(self._m(1 - w, w)) ** n * r_hi * s ** (r_hi - 1)

        return (
            integrate.quad(lower, 0.0, 0.5 ** (1 / r_lo), limit=200)[0]
            + integrate.quad(upper, 0.0, 0.5 ** (1 / r_hi), limit=200)[0]
        )


def _metalog_to_m(x, lo, hi):
    """Map values to metalog space (inverse of :func:`_metalog_from_m`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.isfinite(lo) and np.isfinite(hi):
            return np.log(x - lo) - np.log(hi - x)
        if np.isfinite(lo):
            return np.log(x - lo)
        if np.isfinite(hi):
            return -np.log(hi - x)
        return x


def _metalog_from_m(m, lo, hi):
    """Map metalog-space values to the (semi-)bounded support."""
    if np.isfinite(lo) and np.isfinite(hi):
        return lo + (hi - lo) * stats.logistic.cdf(m)
    if np.isfinite(lo):
        return lo + np.exp(m)
    if np.isfinite(hi):
        return hi - np.exp(-m)
    return m


# --------------------------------------------------------------------------------------------
# Marginal and FitReport
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Marginal:
    """A fitted prior marginal.

    ``params`` are the canonical family parameters (see the module docstring); ``lower`` and
    ``upper`` are the effective support ends (possibly infinite).
    """

    family: str
    params: tuple
    lower: float
    upper: float

    @cached_property
    def _dist(self):
        p = self.params
        match self.family:
            case "fixed":
                return _Degenerate(p[0])
            case "normal":
                return stats.norm(loc=p[0], scale=p[1])
            case "lognormal":
                return stats.lognorm(s=p[1], scale=math.exp(p[0]))
            case "truncnormal":
                mu, sigma, lo, hi = p
                return stats.truncnorm((lo - mu) / sigma, (hi - mu) / sigma, loc=mu, scale=sigma)
            case "uniform":
                return stats.uniform(loc=p[0], scale=p[1] - p[0])
            case "triangular":
                a, c, b = p
                return stats.triang((c - a) / (b - a), loc=a, scale=b - a)
            case "pert":
                a, c, b = p
                return stats.beta(1 + 4 * (c - a) / (b - a), 1 + 4 * (b - c) / (b - a), loc=a, scale=b - a)
            case "beta":
                alpha, beta, lo, hi = p
                return stats.beta(alpha, beta, loc=lo, scale=hi - lo)
            case "metalog":
                return _Metalog(p[:3], p[3], p[4])()
        raise ValueError(f"unknown family {self.family!r}")

    def scipy(self):
        """Frozen scipy.stats distribution (for ``fixed`` a small point-mass helper)."""
        return self._dist

    def ppf(self, u):
        """Quantile function, vectorised."""
        return self._dist.ppf(u)

    def cdf(self, x):
        """Cumulative distribution function, vectorised."""
        return self._dist.cdf(x)

    def mean(self) -> float:
        return float(self._dist.mean())

    def quantile(self, q) -> float:
        return float(self._dist.ppf(q))

    @property
    def code(self) -> int:
        """Integer family code for :func:`z_to_x`."""
        return FAMILY_CODES[self.family]

    @cached_property
    def vector(self) -> np.ndarray:
        """``params`` as a float64 vector of length 8 (zero padded), read-only."""
        v = np.zeros(VECTOR_LEN)
        v[: len(self.params)] = self.params
        v.setflags(write=False)
        return v

    @cached_property
    def table(self) -> np.ndarray:
        """x(z) = ppf(Phi(z)) on the uniform z grid of ``TABLE_LEN`` points over
        ``[-TABLE_Z_MAX, TABLE_Z_MAX]`` for truncnormal/pert/beta; :data:`PHI_TABLE` (Phi and phi on that
        grid, 2 x ``TABLE_LEN``) for uniform; empty for the others. Read-only.
        """
        if self.family == "uniform":
            return PHI_TABLE
        if self.family not in _TABLE_FAMILIES:
            t = np.zeros(0)
        else:
            z = np.linspace(-TABLE_Z_MAX, TABLE_Z_MAX, TABLE_LEN)
            left = z <= 0  # use isf in the upper half to keep the upper tail accurate
            t = np.empty(TABLE_LEN)
            t[left] = self._dist.ppf(stats.norm.cdf(z[left]))
            t[~left] = self._dist.isf(stats.norm.sf(z[~left]))
        t.setflags(write=False)
        return t


@dataclass(frozen=True)
class FitReport:
    """Stated versus achieved quantiles of a fit.

    Keys are quantile names like ``"p5"`` (three-point forms: the quantiles that min/max stand for,
    ``"min"``/``"max"`` when coverage is 1; ``"value"`` for fixed).
    """

    stated: dict[str, float]
    achieved: dict[str, float]
    max_rel_error: float
    ok: bool


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


def fit_marginal(spec: dict, bounds=(None, None), *, where: str = "", tol: float = 0.02) -> tuple[Marginal, FitReport]:
    """Fit a :class:`Marginal` to a ``distribution`` mapping.

    ``bounds`` are the entry's hard bounds ``(lo, hi)``; ``None`` means unbounded. ``where``
    (``"<file>: <entry>"``) starts every error message. The fit is refused when the achieved
    quantiles miss the stated ones by more than ``tol``: the error of each is
    ``|achieved - stated| / max(|stated|, 1e-3 * range of stated values)``.

    Raises :class:`PriorError` on any invalid or unfittable specification.
    """

    def fail(msg: str):
        raise PriorError(f"{where}: {msg}" if where else msg)

    if not isinstance(spec, dict):
        fail(f"distribution must be a mapping, got {type(spec).__name__}")
    family = spec.get("family")
    if not isinstance(family, str) or family not in FAMILY_CODES:
        fail(f"unknown distribution family {family!r}; expected one of {sorted(FAMILY_CODES)}")
    lo, hi = _parse_bounds(bounds, fail)

    values = {}
    for key, val in spec.items():
        if key == "family":
            continue
        if not (key in _THREE_POINT_KEYS or key == "value" or _QUANTILE_KEY.match(str(key))):
            fail(f"{family}: unknown key {key!r} (expected p<q> quantiles, min/mode/max/coverage or value)")
        if isinstance(val, bool) or not isinstance(val, numbers.Real) or not math.isfinite(val):
            fail(f"{family}: {key} must be a finite number, got {val!r}")
        values[key] = float(val)

    quantiles = {}
    for key, val in values.items():
        if m := _QUANTILE_KEY.match(key):
            p = float(m.group(1)) / 100
            if not 0 < p < 1:
                fail(f"{family}: quantile key {key!r} must lie strictly between p0 and p100")
            quantiles[key] = (p, val)
    three = {k: values[k] for k in _THREE_POINT_KEYS if k in values}

    if family == "fixed":
        if set(values) != {"value"}:
            fail(f"fixed: expects exactly the key 'value', got {sorted(values)}")
        v = values["value"]
        if not lo <= v <= hi:
            fail(f"fixed: value {v:g} lies outside the hard bounds [{lo:g}, {hi:g}]")
        return Marginal("fixed", (v,), v, v), FitReport({"value": v}, {"value": v}, 0.0, True)
    if "value" in values:
        fail(f"{family}: key 'value' is only for family fixed")

    if three and quantiles:
        fail(f"{family}: give either quantiles (p5, p50, ...) or min/mode/max, not both")
    if three:
        if family not in ("uniform", "triangular", "pert"):
            fail(f"{family}: min/mode/max form is only for uniform, triangular and pert; give quantiles")
        marginal, stated = _fit_three_point(family, three, lo, hi, fail)
    else:
        if not quantiles:
            fail(f"{family}: no quantiles given (keys like p5, p50, p95)")
        marginal, stated = _fit_quantiles(family, quantiles, lo, hi, fail)

    if family in ("uniform", "triangular", "pert") and not (lo <= marginal.lower and marginal.upper <= hi):
        fail(
            f"{family}: fitted support [{marginal.lower:.6g}, {marginal.upper:.6g}] extends outside the hard "
            f"bounds [{lo:g}, {hi:g}]"
        )
    achieved = {k: marginal.quantile(p) for k, (p, _) in stated.items()}
    stated_values = {k: x for k, (_, x) in stated.items()}
    spread = max(stated_values.values()) - min(stated_values.values())
    scale = max(1e-3 * spread, 1e-300)
    err = max(abs(achieved[k] - x) / max(abs(x), scale) for k, x in stated_values.items())
    if not err <= tol:
        table = ", ".join(f"{k}: stated {stated_values[k]:.6g} achieved {achieved[k]:.6g}" for k in stated)
        fail(f"{family} cannot match the stated quantiles (max relative error {err:.3g} > {tol:g}): {table}")
    return marginal, FitReport(stated_values, achieved, float(err), True)


def _parse_bounds(bounds, fail) -> tuple[float, float]:
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        fail(f"bounds must be [lo, hi], got {bounds!r}")
    lo = -math.inf if lo is None else lo
    hi = math.inf if hi is None else hi
    for b in (lo, hi):
        if isinstance(b, bool) or not isinstance(b, numbers.Real) or math.isnan(b):
            fail(f"bounds must be numbers or null, got {bounds!r}")
    if not lo < hi:
        fail(f"bounds [{lo:g}, {hi:g}] are empty")
    return float(lo), float(hi)


def _pkey(p: float) -> str:
    return f"p{100 * p:.10g}"


def _fit_three_point(family, three, lo, hi, fail):
    """min/(mode)/max with coverage -> true ends; returns (marginal, {key: (p, stated x)})."""
    coverage = three.get("coverage", 1.0)
    if not 0 < coverage <= 1:
        fail(f"{family}: coverage must lie in (0, 1], got {coverage:g}")
    required = ["min", "max"] if family == "uniform" else ["min", "mode", "max"]
    missing = [k for k in required if k not in three]
    if missing:
        fail(f"{family}: missing key(s) {missing}")
    if family == "uniform" and "mode" in three:
        fail("uniform: takes min/max (and coverage), not a mode")
    xmin, xmax = three["min"], three["max"]
    mode = three.get("mode")
    if not xmin < xmax:
        fail(f"{family}: min {xmin:g} must be below max {xmax:g}")
    if mode is not None and not xmin <= mode <= xmax:
        fail(f"{family}: need min <= mode <= max, got min {xmin:g}, mode {mode:g}, max {xmax:g}")
    for name in required:
        if not lo <= three[name] <= hi:
            fail(f"{family}: {name} {three[name]:g} lies outside the hard bounds [{lo:g}, {hi:g}]")

    p_lo, p_hi = (1 - coverage) / 2, (1 + coverage) / 2
    stated = {_pkey(p_lo) if p_lo > 0 else "min": (p_lo, xmin), _pkey(p_hi) if p_hi < 1 else "max": (p_hi, xmax)}
    if coverage == 1:
        ends = (xmin, xmax)
    elif family == "uniform":
        width = (xmax - xmin) / coverage
        ends = (xmin - p_lo * width, xmin - p_lo * width + width)
    else:
        # Solve for the true ends a < min, b > max with the mode fixed, parametrised as
        # a = min - exp(s), b = max + exp(t) so that the ordering always holds.
        span = xmax - xmin

        def ends_of(theta):
            return xmin - math.exp(theta[0]), xmax + math.exp(theta[1])

        def resid(theta):
            a, b = ends_of(theta)
            d = Marginal(family, (a, mode, b), a, b).scipy()
            return (d.ppf([p_lo, p_hi]) - [xmin, xmax]) / span

        guess = math.log(span * (1 / coverage - 1) / 2)
        sol = optimize.least_squares(resid, [guess, guess], xtol=1e-14, ftol=1e-14, gtol=1e-14)
        ends = ends_of(sol.x)
    a, b = ends
    params = (a, b) if family == "uniform" else (a, mode, b)
    return Marginal(family, params, a, b), stated


def _fit_quantiles(family, quantiles, lo, hi, fail):
    """Quantile form; returns (marginal, {key: (p, stated x)})."""
    stated = dict(sorted(quantiles.items(), key=lambda kv: kv[1][0]))
    p = np.array([pv[0] for pv in stated.values()])
    x = np.array([pv[1] for pv in stated.values()])
    keys = list(stated)
    for i in range(len(x) - 1):
        if not x[i] < x[i + 1]:
            fail(f"{family}: quantiles must increase with p, but {keys[i]} = {x[i]:g} >= {keys[i + 1]} = {x[i + 1]:g}")
    for k, xi in zip(keys, x):
        if not lo <= xi <= hi:
            fail(f"{family}: {k} = {xi:g} lies outside the hard bounds [{lo:g}, {hi:g}]")
    need = {"metalog": 3, "triangular": 3, "pert": 3}.get(family, 2)
    if len(x) < need:
        fail(f"{family}: needs at least {need} quantiles, got {keys}")
    spread = x[-1] - x[0]

    match family:
        case "normal":
            mu, sigma = _linear_fit(stats.norm.ppf(p), x)
            m = Marginal("normal", (mu, sigma), -math.inf, math.inf)
        case "lognormal":
            if x[0] <= 0:
                fail(f"lognormal: quantiles must be positive, got {keys[0]} = {x[0]:g}")
            mu, sigma = _linear_fit(stats.norm.ppf(p), np.log(x))
            m = Marginal("lognormal", (mu, sigma), 0.0, math.inf)
        case "uniform":
            a, width = _linear_fit(p, x)
            m = Marginal("uniform", (a, a + width), a, a + width)
        case "truncnormal":
            mu0, sigma0 = _linear_fit(stats.norm.ppf(p), x)

            def make(theta):
                mu, sigma = theta[0], math.exp(theta[1])
                return Marginal("truncnormal", (mu, sigma, lo, hi), lo, hi)

            theta = _least_squares(make, [mu0, math.log(sigma0)], p, x, spread)
            m = make(theta)
        case "beta":
            blo = 0.0 if math.isinf(lo) else lo
            bhi = 1.0 if math.isinf(hi) else hi
            if not blo < bhi or not (blo < x[0] and x[-1] < bhi):
                fail(f"beta: quantiles must lie strictly inside the support [{blo:g}, {bhi:g}] (hard bounds or [0, 1])")

            def make(theta):
                return Marginal("beta", (math.exp(theta[0]), math.exp(theta[1]), blo, bhi), blo, bhi)

            starts = [_beta_moment_guess(p, (x - blo) / (bhi - blo)), (0.0, 0.0)]
            theta = min(
                (_least_squares(make, s, p, x, spread) for s in starts),
                key=lambda t: np.sum(((make(t).ppf(p) - x) / np.maximum(np.abs(x), 1e-3 * spread)) ** 2),
            )
            m = make(theta)
        case "triangular" | "pert":

            def make(theta):
                a, width = theta[0], math.exp(theta[1])
                return Marginal(family, (a, a + theta[2] * width, a + width), a, a + width)

            a0 = x[0] - 0.5 * spread
            t0 = min(max((np.median(x) - a0) / (2 * spread), 0.0), 1.0)
            theta = _least_squares(make, [a0, math.log(2 * spread), t0], p, x, spread, bounds01=2)
            m = make(theta)
        case "metalog":
            m = _fit_metalog(p, x, keys, lo, hi, fail)
    return m, stated


def _linear_fit(t, y) -> tuple[float, float]:
    """Least squares ``y = intercept + slope * t``; slope > 0 for increasing data."""
    slope, intercept = np.polyfit(t, y, 1)
    return float(intercept), float(slope)


def _least_squares(make, theta0, p, x, spread, bounds01=None):
    """Minimise the relative quantile misfit ``(make(theta).ppf(p) - x) / max(|x|, 1e-3 * spread)``.

    The weights are those of the acceptance test in :func:`fit_marginal`, so a small stated
    quantile (say p5 = 0.001 of a fraction) is not drowned by the large ones.
    ``bounds01`` optionally names one parameter constrained to [0, 1].
    """
    weight = 1.0 / np.maximum(np.abs(x), 1e-3 * spread)
    lb = np.full(len(theta0), -np.inf)
    ub = np.full(len(theta0), np.inf)
    if bounds01 is not None:
        lb[bounds01], ub[bounds01] = 0.0, 1.0

    def resid(theta):
        r = (make(theta).ppf(p) - x) * weight
        return np.where(np.isfinite(r), r, 1e6)

    sol = optimize.least_squares(resid, theta0, bounds=(lb, ub), xtol=1e-12, ftol=1e-12, gtol=1e-12)
    return sol.x


def _beta_moment_guess(p, y) -> tuple[float, float]:
    """log(alpha), log(beta) from the median and a normal-approximation spread."""
    mean = float(np.clip(np.interp(0.5, p, y), 0.01, 0.99))
    z = stats.norm.ppf(p)
    sd = (y[-1] - y[0]) / (z[-1] - z[0])
    nu = max(mean * (1 - mean) / sd**2 - 1, 0.5)
    return math.log(mean * nu), math.log((1 - mean) * nu)


def _fit_metalog(p, x, keys, lo, hi, fail) -> Marginal:
    """3-term metalog through the quantiles (exact for 3, least squares for more)."""
    if (np.isfinite(lo) and x[0] <= lo) or (np.isfinite(hi) and x[-1] >= hi):
        fail(f"metalog: quantiles must lie strictly inside the hard bounds [{lo:g}, {hi:g}]")
    logit = np.log(p / (1 - p))
    basis = np.column_stack([np.ones_like(p), logit, (p - 0.5) * logit])
    coef, *_ = np.linalg.lstsq(basis, _metalog_to_m(x, lo, hi), rcond=None)
    a1, a2, a3 = (float(c) for c in coef)
    if not (a2 > 0 and abs(a3) / a2 < _METALOG_A3_RATIO):
        fail(
            f"metalog: the quantiles {dict(zip(keys, x.tolist()))} imply a non-monotone 3-term metalog "
            f"(a2 = {a2:.4g}, a3 = {a3:.4g}; need a2 > 0 and |a3|/a2 < {_METALOG_A3_RATIO})"
        )
    return Marginal("metalog", (a1, a2, a3, lo, hi), lo, hi)


# --------------------------------------------------------------------------------------------
# Vectorisable exp (the engine's lognormal marginals)
# --------------------------------------------------------------------------------------------
# numba compiles ``math.exp``/``np.exp`` to a call into the C library, one value at a time (about 9.6 ns per
# value on the 2-core benchmark machine, as much as a standard normal). exp_scalar is the same function
# as straight-line arithmetic without calls or branches, so LLVM turns a loop over draws into AVX2 code
# (about 2 ns per value):
#
#     exp(x) = 2^n · e^r,   n = round(x / ln 2),   r = x - n ln 2  (Cody-Waite, two-part ln 2),  |r| <= ln2/2
#     e^r    = Taylor polynomial of degree 13 (truncation error < 5e-18 relative), Estrin's scheme
#     every a * b + c as one fused multiply-add (``_fma``: 20-25% faster than separate multiplies and adds, which
#              numba does not contract; IEEE fma rounds once, so the result is the same on any machine)
#     2^n    : n added to the exponent field of e^r (integer add on the bit pattern)
#
# The result is within 2 ulp of the C library's ``exp`` (tested on 10^6 arguments over the whole range).
# Arguments beyond ``±708.4`` follow ``exp``'s limits: overflow gives ``inf``; results below the smallest
# normal double (x < -708.396) are 0 (``exp`` would give a subnormal there); NaN gives NaN.
#
# Under ``NUMBA_DISABLE_JIT=1`` :func:`exp_scalar` is ``numpy.exp`` (the values agree to 2 ulp). Called once at a
# time (not in a loop that vectorises) the C library's exp is faster: its latency is shorter. It lives in
# this module so that numba's cache of z_to_x, which calls it, is invalidated with it.

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01   # fdlibm's two-part ln 2: the high part has 21 zero low bits
_LN2_LO = 1.90821492927058770002e-10
_MAGIC = 6755399441055744.0            # 1.5 * 2^52: adding it rounds to an integer kept in the low bits
_HI = 709.782712893384                 # log(DBL_MAX)
_LO = -708.3964185322641               # log(smallest normal double)
_C = tuple(1.0 / math.factorial(k) for k in range(14))


@intrinsic
def _bits(typingctx, x):
    """The bit pattern of a float64 as int64 (no conversion)."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _float(typingctx, i):
    """The float64 with a given int64 bit pattern."""
    if not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


if config.DISABLE_JIT:  # plain Python (NUMBA_DISABLE_JIT=1): the same bit casts on numpy scalars
    def _bits(x):  # noqa: F811
        """The bit pattern of a float64 as int64."""
        return np.float64(x).view(np.int64)

    def _float(i):  # noqa: F811
        """The float64 with a given int64 bit pattern."""
        return np.int64(i).view(np.float64)


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c with one rounding (LLVM's fma: one instruction with FMA hardware, exact in software without)."""
    if not all(isinstance(t, types.Float) and t.bitwidth == 64 for t in (a, b, c)):
        return None

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)
    return types.float64(types.float64, types.float64, types.float64), codegen


@register_jitable
def exp_scalar(x):
    """exp(x) without calls or branches (selects only), so that loops over it vectorise."""
    xc = x if x < _HI else _HI          # NaN -> _HI here; fixed at the end
    xc = xc if xc > _LO else _LO
    t = _fma(xc, _LOG2E, _MAGIC)
    n = t - _MAGIC                      # round(x / ln 2)
    r = _fma(-n, _LN2_LO, _fma(-n, _LN2_HI, xc))
    # Estrin's scheme: a shallow dependency chain, so that scalar calls overlap too
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    p01 = _fma(_C[1], r, _C[0])
    p23 = _fma(_C[3], r, _C[2])
    p45 = _fma(_C[5], r, _C[4])
    p67 = _fma(_C[7], r, _C[6])
    p89 = _fma(_C[9], r, _C[8])
    pab = _fma(_C[11], r, _C[10])
    pcd = _fma(_C[13], r, _C[12])
    p03 = _fma(p23, r2, p01)
    p47 = _fma(p67, r2, p45)
    p8b = _fma(pab, r2, p89)
    p07 = _fma(p47, r4, p03)
    p8d = _fma(pcd, r4, p8b)
    p = _fma(p8d, r8, p07)
    # the low bits of t hold n (two's complement); shifted into the exponent field they scale p by 2^n
    y = _float(_bits(p) + (_bits(t) << 52))
    y = y if x < _HI else math.inf
    y = y if x > _LO else 0.0
    return y if x == x else x


if config.DISABLE_JIT:  # plain Python: the fused multiply-add above is compiled code only
    def exp_scalar(x):  # noqa: F811
        """exp(x) (numpy.exp: under NUMBA_DISABLE_JIT=1)."""
        return np.exp(x)


# --------------------------------------------------------------------------------------------
# Numba transforms
# --------------------------------------------------------------------------------------------

_SQRT_HALF = math.sqrt(0.5)


@register_jitable
def table_value(z, table):
    """Linear interpolation of ``table`` (values on the z grid of ``TABLE_LEN`` points); ends beyond it."""
    t = (z + TABLE_Z_MAX) * _TABLE_INV_DZ
    if not t > 0.0:  # also catches NaN -> table[0]
        return table[0]
    if t >= TABLE_LEN - 1:
        return table[TABLE_LEN - 1]
    i = int(t)
    f = t - i
    return table[i] + f * (table[i + 1] - table[i])


@register_jitable
def phi_hermite(z, table):
    """Phi(z) by cubic Hermite interpolation of ``table`` = [Phi on the z grid, phi on the z grid]
    (:data:`PHI_TABLE`): absolute error below 3e-13; 0/1 beyond the grid (|z| > 7, probability 1.3e-12)."""
    t = (z + TABLE_Z_MAX) * _TABLE_INV_DZ
    if not t > 0.0:
        return table[0]
    if t >= TABLE_LEN - 1:
        return table[TABLE_LEN - 1]
    i = int(t)
    f = t - i
    g = 1.0 - f
    return ((1.0 + 2.0 * f) * g * g * table[i] + f * f * (3.0 - 2.0 * f) * table[i + 1]
            + _TABLE_DZ * f * g * (g * table[TABLE_LEN + i] - f * table[TABLE_LEN + i + 1]))


@njit(cache=True, nogil=True)
def z_to_x(z, code, vector, table):
    """Map one standard-normal score ``z`` to a value of the marginal (``code``, ``vector``, ``table``).

    lognormal/normal map directly; triangular/metalog use ``u = Phi(z)`` and ``1 - u`` (the smaller of the two
    by one ``math.erfc``, the other as 1 minus it, so both tails stay accurate) in a closed-form ppf;
    uniform takes ``u = Phi(z)`` from a cubic Hermite table of Phi and its density (error < 1e-12, about
    five times cheaper than ``erfc``); truncnormal/pert/beta interpolate linearly in ``table`` (x on a
    uniform z grid, see ``Marginal.table``); fixed returns its value. Unknown codes give NaN.
    """
    if code == 1:  # normal
        return vector[0] + vector[1] * z
    if code == 2:  # lognormal (exp_scalar: vectorises in the engine's marginal loop)
        return exp_scalar(vector[0] + vector[1] * z)
    if code == 3 or code == 6 or code == 7:  # table families
        return table_value(z, table)
    if code == 4:  # uniform, Phi(z) from its table (cubic Hermite)
        return vector[0] + (vector[1] - vector[0]) * phi_hermite(z, table)
    return closed_form(z, code, vector)


@register_jitable
def closed_form(z, code, vector):
    """:func:`z_to_x` for the families without a table: fixed, triangular and metalog (NaN otherwise)."""
    if code == 0:  # fixed
        return vector[0]
    t = 0.5 * math.erfc(abs(z) * _SQRT_HALF)  # the smaller of u = Phi(z) and v = 1 - u: accurate in both tails
    u = t if z < 0.0 else 1.0 - t
    v = 1.0 - t if z < 0.0 else t
    if code == 5:  # triangular
        a, c, b = vector[0], vector[1], vector[2]
        if u * (b - a) <= c - a:
            return a + math.sqrt(u * (b - a) * (c - a))
        return b - math.sqrt(v * (b - a) * (b - c))
    if code == 8:  # metalog
        if u <= 0.0:
            return vector[3]
        if v <= 0.0:
            return vector[4]
        logit = math.log(u / v)
        m = vector[0] + vector[1] * logit + vector[2] * (u - 0.5) * logit
        lo, hi = vector[3], vector[4]
        if math.isfinite(lo) and math.isfinite(hi):
            if m >= 0.0:
                return lo + (hi - lo) / (1.0 + math.exp(-m))
            e = math.exp(m)
            return lo + (hi - lo) * e / (1.0 + e)
        if math.isfinite(lo):
            return lo + math.exp(m)
        if math.isfinite(hi):
            return hi - math.exp(-m)
        return m
    return math.nan


@njit(cache=True, nogil=True)
def _z_to_x_loop(z, code, vector, table, out):
    for i in range(z.size):
        out[i] = z_to_x(z[i], code, vector, table)


def z_to_x_array(z: np.ndarray, m: Marginal) -> np.ndarray:
    """Apply :func:`z_to_x` of marginal ``m`` to every element of ``z``; returns an array of z's shape."""
    z = np.asarray(z, dtype=np.float64)
    flat = np.ascontiguousarray(z).ravel()
    out = np.empty_like(flat)
    _z_to_x_loop(flat, m.code, m.vector, m.table, out)
    return out.reshape(z.shape)
