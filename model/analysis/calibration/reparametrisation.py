"""The capaciteit ridge of the calibration in the coordinates the printed figures pin down: an exact change of variables.

Why. In the entries' own normal scores the posterior holds thin curved ridges whose width changes along them, and
NUTS must take steps as small as the narrowest place. Measured on the full configuration with the independent
priors (``bench/geometry.py``: the Hessian of the log posterior, whitened by the posterior covariance, is the identity
for a Gaussian; an eigenvalue k means a direction locally sqrt(k) times narrower than the posterior): its largest
eigenvalue lay between 300 and 10,000 over the posterior, along the scores of the capaciteit entries; NUTS took
steps of 0.02 and trajectories of 2⁸ steps, and diverged (48 in 4,000 draws). The four §3.5 figures of capaciteit
are shortfalls ``T(r) = H·K·E[(r − a·e^{sZ})⁺]`` at ``r = q1 − t₀``, ``q1·(1+g) − t₀``, ``med − t₁`` and ``med·(1+g)
− t₁`` (q1, med: the normative floor space at the Q1 and median norm; a: the median supply; s: its spread between
municipalities; t₀, t₁: the floor space that bereikbaarheid adds at the two norm levels; per household). How tightly
a figure pins ``ln(r/a)`` scales with ``s``: a funnel in s.

What. The sampler draws, instead of the scores of ``a`` and ``med``, the standardised log ratios ``d₀ = ln((q1 −
t₀)/a)/s`` and ``d₁ = ln((med − t₁)/a)/s`` (the ``d`` of the closed form of the shortfall at today's demand,
``model.deelopgaven.capaciteit``), which the figures pin about equally well whatever ``s`` is. Back: ``a = (q1 −
t₀)·e^{−s·d₀}``, ``med = t₁ + a·e^{s·d₁}``. The prior is unchanged: the sampled density is the prior density of the
original independent scores (recovered through the copula's Cholesky factor; the block of q1, med and a is closed)
times the Jacobian ``(s/σ_a)·(s·(med − t₁)/(med·σ_med))`` of the (triangular) map, as a potential. One thing differs:
points with ``q1 ≤ t₀`` (no shortfall at all at the Q1 norm today, which gives zero likelihood to a printed
shortfall of €1,4 mld.) have no coordinates and are left out. Measured after the change (2 chains × 300 tuning + 200
draws): the largest whitened curvature 190-350, steps of 0.04.

Tried and dropped: the bereikbaarheid norms as the log of their cost sum and centred log shares (an affine map of the
norms' logs, exact, constant Jacobian): the sum is pinned, but the shares then couple with the ``bereik`` entries
through ``ln(1 − bereik)`` in the prior (a uniform's score), a worse ridge: steps of 0.011 and trajectories at the
cap of 2¹⁰ on the same short run.

Tried and dropped (2026-12-02): the norms per §3.4 group and norm level as the log of the group's cost
(logsumexp over its facilities of ln norm + ln((1 − bereik)·stichtingskosten)) and orthonormal Helmert contrasts of
the norms' logs, the Q1 and median contrasts as their sum and difference (the two are correlated 0.9 in the prior);
exact, constant Jacobian, checked by a round trip. Why it was tried: on a quick calibration ``bench/geometry.py``
found the narrowest direction at 11 of 12 posterior draws in a facility's Q1 + median norm pair (whitened curvature
135-373), the capaciteit block at the twelfth (451). Measured with it and the capaciteit coordinates (2 chains ×
1000 tuning + 300 draws, seed 1): 427 leapfrog steps per draw at steps of 0.051 (366 and 0.05 without it), min ESS
bulk 96, and nutpie's numba compile of the larger graph took 340 s on a cold cache. No gain: the step stays bounded by
the capaciteit ridge.

When. Only where it is exact and a capaciteit figure is observed: q1, med and a calibrated and lognormal, their
copula block closed with q1 first and on its own. Otherwise :func:`plan` returns None and the model samples the
plain scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

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
#: Floor of ``q1 - t0`` (m² per household) in the map back: far below any floor space that matters.
_TINY = 1e-300
#: The sampled coordinates, in this order.
COORDINATES = ("d_q1_nu", "d_mediaan_nu")


@dataclass(frozen=True)
class Reparametrisation:
    """Where the replaced scores sit in the parameter vector, and their lognormals' parameters."""

    index: dict[str, int]           # Q1, MEDIAAN, AANBOD, SPREIDING -> position in the parameter vector
    log_mu: dict[str, float]        # MEDIAAN, AANBOD: the lognormal's mu
    log_sigma: dict[str, float]     # MEDIAAN, AANBOD: the lognormal's sigma

    @property
    def replaced(self) -> tuple[int, ...]:
        """The positions of the replaced scores, ascending."""
        return tuple(sorted((self.index[MEDIAAN], self.index[AANBOD])))

    @property
    def coordinates(self) -> tuple[str, ...]:
        """The names of the sampled coordinates, in the order :func:`scores` reads them."""
        return COORDINATES


def _closed(chol: np.ndarray, block: Sequence[int]) -> bool:
    """The copula block ``block`` is closed: its entries' scores mix with no score outside it."""
    nonzero = np.abs(chol) > 0
    inside = set(block)
    return all(set(np.nonzero(nonzero[i])[0]) <= inside and set(np.nonzero(nonzero[:, i])[0]) <= inside
               for i in block)


def plan(names: Sequence[str], marginals: Mapping[str, Marginal], chol: np.ndarray,
         observed_quantities: Sequence[str]) -> Reparametrisation | None:
    """The reparametrisation of the calibrated ``names`` (with their ``marginals`` and copula factor ``chol``), or
    None where it would not be exact (module docstring) or no capaciteit figure is observed."""
    position = {n: i for i, n in enumerate(names)}
    if not any("capaciteit" in q for q in observed_quantities) or not all(
            n in position for n in (Q1, MEDIAAN, AANBOD, SPREIDING)):
        return None
    block = [position[n] for n in (Q1, MEDIAAN, AANBOD)]
    if (any(marginals[n].family != "lognormal" for n in (Q1, MEDIAAN, AANBOD)) or block != sorted(block)
            or not _closed(chol, block) or set(np.nonzero(np.abs(chol[block[0]]) > 0)[0]) != {block[0]}):
        return None
    return Reparametrisation(index={n: position[n] for n in (Q1, MEDIAAN, AANBOD, SPREIDING)},
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


def _solve(zi, chol: np.ndarray, targets: Mapping[int, object]):
    """Set the independent scores at the positions of ``targets`` so that the correlated scores there equal the
    targets: the copula's triangular solve, in ascending order (each block closed, its retained scores first)."""
    import pytensor.tensor as pt

    solved = {}
    for i in sorted(targets):
        row = chol[i]
        known = sum(float(row[j]) * zi[j] for j in np.nonzero(np.abs(row[:i]) > 0)[0])
        solved[i] = (targets[i] - known) / float(row[i])
        zi = pt.set_subtensor(zi[i], solved[i])
    return zi, -0.5 * sum(v ** 2 for v in solved.values())


def scores(rep: Reparametrisation, coordinates, z_free_full, chol: np.ndarray,
           values_of: Callable[[object], Mapping]):
    """The independent normal scores of every calibrated entry, given the free scores (``z_free_full``: zero at the
    replaced positions) and the sampled ``coordinates`` (:attr:`Reparametrisation.coordinates`), and the log density
    the coordinates add (the prior of the recovered scores times the Jacobian). ``values_of(z_indep)``: the entries'
    values (and the fixed entries and data) at independent scores."""
    import pytensor.tensor as pt

    x = values_of(z_free_full)      # q1, s and the bereikbaarheid inputs: free scores
    t0, t1 = (_scalar(toevoeging(x, niveau)) for niveau in (0.0, 1.0))
    q1, s = _scalar(x[Q1]), _scalar(x[SPREIDING])
    d0, d1 = coordinates[0], coordinates[1]
    # q1 <= t0 has no coordinates (module docstring): clamped to a finite, vanishing density there, so that a
    # trajectory reaching it is rejected rather than a NaN spreading through the copula
    ln_a = pt.log(pt.maximum(q1 - t0, _TINY)) - s * d0
    ln_excess = ln_a + s * d1          # ln(med - t1), without cancellation
    med = t1 + pt.exp(ln_excess)
    ln_med = pt.log(med)
    zi, log_prior = _solve(z_free_full, chol, {
        rep.index[MEDIAAN]: (ln_med - rep.log_mu[MEDIAAN]) / rep.log_sigma[MEDIAAN],
        rep.index[AANBOD]: (ln_a - rep.log_mu[AANBOD]) / rep.log_sigma[AANBOD]})
    log_jacobian = (2.0 * pt.log(s) + ln_excess - ln_med
                    - math.log(rep.log_sigma[AANBOD]) - math.log(rep.log_sigma[MEDIAAN]))
    return zi, log_prior + log_jacobian
