"""Prior marginals fitted to a checked ``distribution`` mapping (scipy), with the lookup tables the engine
interpolates.

:func:`fit_marginal` takes the mapping as written in a prior file, reads it with
:func:`model.spec.distributions.parse_distribution` (the one reader of such mappings) and fits the family's
canonical parameters (``model.spec.families``) so that the stated quantiles are reproduced; a fit that misses them
by more than the tolerance is refused. Details per family:

* ``normal`` and ``lognormal`` ignore the hard bounds except to check that the stated quantiles lie inside them;
  use ``truncnormal`` (or ``beta``/``metalog``) when the bounds must hold;
* ``truncnormal``: N(mu, sigma) truncated to the hard bounds (which may be infinite);
* ``beta``: support is the hard bounds, a missing bound defaults to 0 (lo) or 1 (hi);
* ``pert``: beta-PERT with lambda = 4, Beta(1 + 4(c - a)/(b - a), 1 + 4(b - c)/(b - a));
* ``metalog``: 3-term, M(y) = a1 + a2 L + a3 (y - 1/2) L with L = ln(y/(1-y)); x = M (unbounded), lo + e^M
  (bounded below), hi - e^-M (above), (lo + hi e^M)/(1 + e^M) (both); the bounds are the entry's hard bounds;
* the quantile form of triangular/pert is fitted by least squares.

The scipy distribution (:meth:`Marginal.scipy`) is the definition of a prior; the engine maps normal scores to
values with the marginal's ``code``, ``vector`` and ``table`` (``model.engine.transform``), and its tests compare
the two.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, stats

from model.errors import PriorError
from model.spec.distributions import DistributionSpec, parse_bounds, parse_distribution
from model.spec.families import PHI_TABLE, TABLE_FAMILIES, TABLE_LEN, TABLE_Z_MAX
from model.spec.marginals import FitReport, Marginal

__all__ = ["Marginal", "FitReport", "fit_marginal", "fit_spec", "scipy_distribution", "lookup_table", "PHI_TABLE"]

_GRID = np.linspace(-TABLE_Z_MAX, TABLE_Z_MAX, TABLE_LEN)

# Keelin (2016): a 3-term metalog is a valid (increasing) quantile function iff
# a2 > 0 and |a3| / a2 < 1.66711.
_METALOG_A3_RATIO = 1.66711



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
# A marginal's scipy distribution and lookup table
# --------------------------------------------------------------------------------------------


def scipy_distribution(m: Marginal):
    """The frozen scipy.stats distribution of a marginal (for ``fixed`` a small point-mass helper): the definition
    of the prior."""
    p = m.params
    match m.family:
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
    raise ValueError(f"unknown family {m.family!r}")


def lookup_table(m: Marginal) -> np.ndarray:
    """x(z) = ppf(Phi(z)) on the uniform z grid of ``TABLE_LEN`` points over ``[-TABLE_Z_MAX, TABLE_Z_MAX]`` for
    truncnormal/pert/beta; :data:`PHI_TABLE` (Phi and phi on that grid, 2 x ``TABLE_LEN``) for uniform; empty for
    the others. Read-only."""
    if m.family == "uniform":
        return PHI_TABLE
    if m.family not in TABLE_FAMILIES:
        t = np.zeros(0)
    else:
        dist = m.scipy()
        left = _GRID <= 0  # use isf in the upper half to keep the upper tail accurate
        t = np.empty(TABLE_LEN)
        t[left] = dist.ppf(stats.norm.cdf(_GRID[left]))
        t[~left] = dist.isf(stats.norm.sf(_GRID[~left]))
    t.setflags(write=False)
    return t


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


def fit_marginal(spec, bounds=(None, None), *, where: str = "", tol: float = 0.02) -> tuple[Marginal, FitReport]:
    """Fit a :class:`Marginal` to a ``distribution`` mapping (as written in a prior file) with hard ``bounds``
    ``(lo, hi)`` (``None``: open). ``where`` (``"<file>: <entry>"``) starts every error message. See
    :func:`fit_spec` for the tolerance."""
    where = where or "distribution"
    return fit_spec(parse_distribution(spec, parse_bounds(list(bounds), where), where), where=where, tol=tol)


def fit_spec(spec: DistributionSpec, *, where: str, tol: float = 0.02) -> tuple[Marginal, FitReport]:
    """Fit a checked specification. The fit is refused when the achieved quantiles miss the stated ones by more
    than ``tol``: the error of each is ``|achieved - stated| / max(|stated|, 1e-3 * range of stated values)``.

    Raises :class:`PriorError` when the family cannot reproduce the stated values."""

    def fail(msg: str):
        raise PriorError(f"{where}: distribution: {msg}")

    family = spec.family
    lo, hi = spec.bounds
    if spec.form == "fixed":
        v = spec.stated["value"][1]
        return Marginal("fixed", (v,), v, v), FitReport({"value": v}, {"value": v}, 0.0, v)
    if spec.form == "three_point":
        marginal = _fit_three_point(spec)
    else:
        marginal = _fit_quantiles(family, spec.stated, lo, hi, fail)
    if family in ("uniform", "triangular", "pert") and not (lo <= marginal.lower and marginal.upper <= hi):
        fail(f"{family}: fitted support [{marginal.lower:.6g}, {marginal.upper:.6g}] extends outside the hard "
             f"bounds [{lo:g}, {hi:g}]")
    achieved = {k: marginal.quantile(p) for k, (p, _) in spec.stated.items()}
    stated_values = {k: x for k, (_, x) in spec.stated.items()}
    spread = max(stated_values.values()) - min(stated_values.values())
    scale = max(1e-3 * spread, 1e-300)
    err = max(abs(achieved[k] - x) / max(abs(x), scale) for k, x in stated_values.items())
    if not err <= tol:
        table = ", ".join(f"{k}: stated {stated_values[k]:.6g} achieved {achieved[k]:.6g}" for k in stated_values)
        fail(f"{family} cannot match the stated quantiles (max relative error {err:.3g} > {tol:g}): {table}")
    return marginal, FitReport(stated_values, achieved, float(err), marginal.mean())


def _fit_three_point(spec: DistributionSpec) -> Marginal:
    """min/(mode)/max with a coverage -> the true ends."""
    family, mode, coverage = spec.family, spec.mode, spec.coverage
    (p_lo, xmin), (p_hi, xmax) = spec.stated.values()
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
            d = scipy_distribution(Marginal(family, (a, mode, b), a, b))
            return (d.ppf([p_lo, p_hi]) - [xmin, xmax]) / span

        guess = math.log(span * (1 / coverage - 1) / 2)
        sol = optimize.least_squares(resid, [guess, guess], xtol=1e-14, ftol=1e-14, gtol=1e-14)
        ends = ends_of(sol.x)
    a, b = ends
    params = (a, b) if family == "uniform" else (a, mode, b)
    return Marginal(family, params, a, b)


def _fit_quantiles(family, stated, lo, hi, fail) -> Marginal:
    """Quantile form (checked and sorted by :func:`~model.spec.distributions.parse_distribution`)."""
    p = np.array([pv[0] for pv in stated.values()])
    x = np.array([pv[1] for pv in stated.values()])
    keys = list(stated)
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
    return m


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
