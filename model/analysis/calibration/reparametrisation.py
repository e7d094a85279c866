"""The capaciteit shortfalls in the coordinates the printed figures pin down: an exact change of variables.

Why. The four §3.5 figures of capaciteit are shortfalls ``T(r) = H·K·E[(r − a·e^{sZ})⁺]`` at ``r = q1 − t₀``,
``q1·(1+g) − t₀``, ``med − t₁`` and ``med·(1+g) − t₁`` (q1, med: the normative floor space at the Q1 and median norm;
a: the median supply; s: its spread between municipalities; t₀, t₁: the floor space that bereikbaarheid adds at the
two norm levels; all per household). In the entries' own normal scores the posterior is a thin curved ridge whose
width changes along it: how tightly a figure pins ``ln(r/a)`` scales with the spread ``s`` (a shortfall in the tail
of the supply distribution has an elasticity of about ``|ln(r/a)|/s²``), a funnel in ``s``. Measured on the full
configuration with the independent priors: the Hessian of the log posterior, whitened by the posterior covariance,
has its largest eigenvalue between 300 and 10,000 over the posterior (the ridge is 17 to 100 times narrower than the
posterior there), along ``ln a``, ``ln q1`` and ``s``; NUTS needs steps of 0.02 and trajectories of 2⁸ steps, and
diverges (48 in 4,000 draws).

What. The sampler draws, instead of the normal scores of ``a`` and ``med``, the standardised log ratios

    d₀ = ln((q1 − t₀) / a) / s        d₁ = ln((med − t₁) / a) / s

the ``d`` of the closed form of the shortfall at today's demand (``model.deelopgaven.capaciteit``), which the figures
pin down about equally well whatever ``s`` is. The map back is explicit: ``a = (q1 − t₀)·e^{−s·d₀}``, ``med = t₁ +
a·e^{s·d₁}``. The prior is unchanged: the sampled density is the prior density of the original scores (their copula
included: the scores of ``a`` and ``med`` are recovered as independent normals through the copula's Cholesky factor)
times the Jacobian of the change of variables, ``|∂(z_a, z_med)/∂(d₀, d₁)| = (s/σ_a)·(s·(med − t₁)/(med·σ_med))`` (the
map is triangular), as a potential. Only one thing differs: points with ``q1 ≤ t₀`` (no shortfall at all at the Q1
norm today, which puts zero likelihood on a printed shortfall of €1,4 mld.) have no coordinates and are left out.

When. Only where it is exact: q1, med and a lognormal, s lognormal or any family, the copula block of q1, med and a
closed (no other entry correlated with them) with q1 first, and a capaciteit figure observed. Otherwise
:func:`plan` returns None and the model samples the plain scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from model.deelopgaven import arguments
from model.deelopgaven.bereikbaarheid import bereikbaarheid
from model.spec.fitting import Marginal

Q1 = "normatief_vastgoed_q1_m2_per_huishouden"
MEDIAAN = "normatief_vastgoed_mediaan_m2_per_huishouden"
AANBOD = "aanbod_mediaan_m2_per_huishouden"
SPREIDING = "aanbod_spreiding_tussen_gemeenten"
#: The toevoeging of the bereikbaarheid kernel (its fourth output), floor space per household.
_TOEVOEGING = 3
#: The sampled coordinates, in this order.
COORDINATES = ("d_q1_nu", "d_mediaan_nu")


@dataclass(frozen=True)
class Reparametrisation:
    """Where the two replaced scores sit in the parameter vector, and the marginals' log-scale parameters."""

    index: dict[str, int]           # Q1, MEDIAAN, AANBOD, SPREIDING -> position in the parameter vector
    log_mu: dict[str, float]        # MEDIAAN, AANBOD: the lognormal's mu
    log_sigma: dict[str, float]     # MEDIAAN, AANBOD: the lognormal's sigma

    @property
    def replaced(self) -> tuple[int, int]:
        return self.index[MEDIAAN], self.index[AANBOD]


def plan(names: Sequence[str], marginals: Mapping[str, Marginal], chol: np.ndarray,
         observed_quantities: Sequence[str]) -> Reparametrisation | None:
    """The reparametrisation of the calibrated ``names`` (with their ``marginals`` and copula factor ``chol``), or
    None where it would not be exact (module docstring) or no capaciteit figure is observed."""
    if not any("capaciteit" in q for q in observed_quantities):
        return None
    if not all(n in names for n in (Q1, MEDIAAN, AANBOD, SPREIDING)):
        return None
    if any(marginals[n].family != "lognormal" for n in (Q1, MEDIAAN, AANBOD)):
        return None
    index = {n: list(names).index(n) for n in (Q1, MEDIAAN, AANBOD, SPREIDING)}
    block = [index[Q1], index[MEDIAAN], index[AANBOD]]
    if block != sorted(block):
        return None
    nonzero = np.abs(chol) > 0
    for i in block[1:]:
        # the replaced scores: no entry outside the block depends on them, and they depend on no entry outside it
        if set(np.nonzero(nonzero[:, i])[0]) - set(block) or set(np.nonzero(nonzero[i])[0]) - set(block):
            return None
    if set(np.nonzero(nonzero[index[Q1]])[0]) != {index[Q1]}:
        return None
    return Reparametrisation(index=index,
                             log_mu={n: float(marginals[n].params[0]) for n in (MEDIAAN, AANBOD)},
                             log_sigma={n: float(marginals[n].params[1]) for n in (MEDIAAN, AANBOD)})


def toevoeging(values: Mapping, normniveau: float):
    """The floor space per household that bereikbaarheid adds at ``normniveau`` (the kernel's own formula; per
    household, so the number of households, a line of an earlier kernel, does not enter it: 1)."""
    args = {n: values[n] for n in arguments(bereikbaarheid) if n not in ("normniveau", "huishoudens_npvr")}
    return bereikbaarheid(normniveau=normniveau, huishoudens_npvr=1.0, **args)[_TOEVOEGING]


def _scalar(v):
    import pytensor.tensor as pt

    v = pt.as_tensor_variable(v)
    return v if v.ndim == 0 else v.reshape((-1,))[0]


def scores(rep: Reparametrisation, d, z_free_full, chol: np.ndarray, x_free: Mapping, t0, t1):
    """The independent normal scores with the two replaced ones computed from ``d`` = (d₀, d₁), and the log of the
    change of variables' density factor (prior of the two recovered scores times the Jacobian).

    ``z_free_full``: the independent scores, zero at the two replaced positions; ``x_free``: the entries' values
    computed from it (q1, s and the bereikbaarheid inputs do not depend on the replaced scores); ``t0``, ``t1``: the
    toevoeging at the Q1 and median norm."""
    import pytensor.tensor as pt

    q1, s, t0, t1 = (_scalar(v) for v in (x_free[Q1], x_free[SPREIDING], t0, t1))
    ln_a = pt.log(q1 - t0) - s * d[0]
    a = pt.exp(ln_a)
    med = t1 + a * pt.exp(s * d[1])
    ln_med = pt.log(med)
    z = {MEDIAAN: (ln_med - rep.log_mu[MEDIAAN]) / rep.log_sigma[MEDIAAN],
         AANBOD: (ln_a - rep.log_mu[AANBOD]) / rep.log_sigma[AANBOD]}
    zi = z_free_full
    solved = {}
    for name in sorted((MEDIAAN, AANBOD), key=rep.index.get):   # the copula's triangular solve, in block order
        i = rep.index[name]
        row = chol[i]
        known = sum(float(row[j]) * zi[j] for j in np.nonzero(np.abs(row[:i]) > 0)[0])
        solved[name] = (z[name] - known) / float(row[i])
        zi = pt.set_subtensor(zi[i], solved[name])
    log_prior = -0.5 * (solved[MEDIAAN] ** 2 + solved[AANBOD] ** 2)
    log_jacobian = (pt.log(s) - math.log(rep.log_sigma[AANBOD])
                    + pt.log(s) + pt.log(med - t1) - ln_med - math.log(rep.log_sigma[MEDIAAN]))
    return zi, log_prior + log_jacobian
