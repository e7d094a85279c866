"""A fitted prior marginal, and the report of its fit. No scipy at import: the engine builds its arrays from a
marginal's family code, parameters and lookup table, which a fit (``model.spec.fitting``) or the fit cache
(``model.spec.priors``) provides; the scipy distribution, the definition of the prior, is built when first asked
for."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from model.spec.families import FAMILY_CODES, VECTOR_LEN


@dataclass(frozen=True)
class Marginal:
    """A fitted prior marginal: the family's canonical ``params`` (``model.spec.families``); ``lower`` and ``upper``
    are the effective support ends (possibly infinite)."""

    family: str
    params: tuple
    lower: float
    upper: float

    @cached_property
    def _dist(self):
        from model.spec.fitting import scipy_distribution

        return scipy_distribution(self)

    def scipy(self):
        """Frozen scipy.stats distribution (for ``fixed`` a small point-mass helper)."""
        return self._dist

    def ppf(self, u):
        """Quantile function, vectorised (scipy)."""
        return self._dist.ppf(u)

    def cdf(self, x):
        """Cumulative distribution function, vectorised (scipy)."""
        return self._dist.cdf(x)

    def mean(self) -> float:
        return float(self._dist.mean())

    def quantile(self, q) -> float:
        return float(self._dist.ppf(q))

    @property
    def code(self) -> int:
        """Integer family code (``model.spec.families``)."""
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
        """The engine's lookup table: x(z) on the z grid for truncnormal/pert/beta, Phi and phi for uniform, empty
        for the others (``model.spec.fitting.lookup_table``). Read-only."""
        from model.spec.fitting import lookup_table

        return lookup_table(self)


@dataclass(frozen=True)
class FitReport:
    """Stated versus achieved quantiles of a fit, and the fitted distribution's mean.

    Keys are quantile names like ``"p5"`` (three-point forms: the quantiles that min/max stand for,
    ``"min"``/``"max"`` when coverage is 1; ``"value"`` for fixed).
    """

    stated: dict[str, float]
    achieved: dict[str, float]
    max_rel_error: float
    mean: float
