"""The calibration's narrow directions in the coordinates the printed figures pin down: exact changes of variables.

Why. In the entries' own normal scores the posterior holds thin curved ridges whose width changes along them, and
NUTS must take steps as small as the narrowest place. ``bench/geometry.py`` measures it: the Hessian of the log
posterior, whitened by the posterior covariance, is the identity for a Gaussian; an eigenvalue k means a direction
locally sqrt(k) times narrower than the posterior. On a full calibration in the earlier coordinates (the capaciteit
ratios alone, 2026-12-02) its largest eigenvalue was 195-599 at 12 posterior draws: at 8 along one facility's norms
(its Q1 and median norm together; which facility changed from draw to draw), at 4 along the capaciteit block.
No mass matrix, diagonal or low-rank, fits a ridge that turns. Two changes of variables take them out.

1. Pinned sums in sum coordinates. A printed figure pins a sum of lognormal entries times a coefficient: the §3.4
   groups Σ over their facilities of norm × (1 − bereik) × stichtingskosten at each norm level; leefbaarheid's two
   kentallen, gezonde toekomst's seven and OV exploitatie's one times their kernel's multiplier (inhabitant-years,
   ...; :data:`SOM_KENTALLEN`). The entries share one prior, so which of them carries the sum is not pinned, and the
   pinned direction turns with it. The sampler draws per block the log of its weighted sum (a logsumexp; the
   weights the kernels' own coefficients, from the free entries: :func:`_weights`) and orthonormal Helmert
   contrasts of the entries' logs; a facility's two norm levels (correlated 0.9 in the prior) as sums and
   differences. Back: the contrasts give the logs up to one shift per block, which the log sum fixes. The Jacobian
   is constant (the determinant of [softmax; Helmert] is 1/sqrt n), so the density the coordinates add is the prior
   of the entries' independent scores alone. A unit whose copula block is not closed (a score mixing with one
   outside the units) is left out: herstructurering woningen's and winkels' (the construction-cost factor ties them
   to the stichtingskosten, which are weights) and with them nieuwbouw's (the same source study).
2. The capaciteit shortfalls in their own coordinates. The four §3.5 figures are shortfalls
   ``T(r) = H·K·E[(r − a·e^{sZ})⁺]`` at ``r = q1 − t₀``, ``q1·(1+g) − t₀``, ``med − t₁`` and ``med·(1+g) − t₁``
   (H: households; K: the mean stichtingskosten; q1, med: the normative floor space at the Q1 and median norm; a:
   the median supply; s: its spread between municipalities; t₀, t₁: the floor space bereikbaarheid adds at the two
   norm levels; per household). With ``T(r) = H·K·a·exp(psi(d))``, ``d = ln(r/a)/s`` and ``psi(d) = s·d + ln G(d, s)``
   (G the kernel's closed form at r = 1), the sampler draws, instead of the scores of q1, med and a, the logs of
   the two shortfalls today ``ℓ₀ = ln T(q1 − t₀)``, ``ℓ₁ = ln T(med − t₁)`` and ``d₀``. Back: ``q1 = t₀ +
   e^{ℓ₀}/(H·K·G(d₀, s))``, ``a = (q1 − t₀)·e^{−s·d₀}``, d₁ the root of ``psi(d₁) = ℓ₁ − ln(H·K·a)`` (Newton's method,
   :func:`_solve_psi`), ``med = t₁ + a·e^{s·d₁}``. The density added: the prior of the recovered independent
   scores (the block of q1, med and a is closed, q1 first) times the Jacobian of the (triangular) map,
   ``s·((q1 − t₀)/q1)·(1/psi'(d₁))·(s·(med − t₁)/med)/(σ_q1·σ_a·σ_med)``. Points with ``q1 ≤ t₀`` or ``med ≤ t₁``
   (no shortfall at a norm level today, which gives zero likelihood to the printed shortfalls) have no
   coordinates and are left out; so are those with d₀ or d₁ below :data:`D_MIN` (a shortfall e^-450 of the
   printed ones), where the reparametrised density is zero.
3. One-entry units whose copula block is not closed (:class:`Singles`): herstructurering woningen's restopgave per
   vulnerable dwelling and winkels' public cost per m², which the construction-cost factor ties to the
   stichtingskosten. The sampler draws the log of the deelopgave's total, ``ln(multiplier × entry)``, in place of
   the entry's score, solved first (the copula's triangular solve, with the free scores it mixes with), so that
   the free entries read afterwards (the stichtingskosten) are exact; the multiplier's arguments must not mix with
   the unit's score. The Jacobian is constant. Measured (full configuration, seeds 1 and 5, 2026-12-02): the
   product aandeel_kwetsbare_woningen × restopgave_per_kwetsbare_woning had been the worst-mixing direction
   (R-hat 1.0111 at seed 1); with it, R-hat ≤ 1.0043 and the smallest bulk ESS 1445-1530 instead of 460-600.

The prior and the posterior are those of the entries' own scores; only NUTS's geometry differs
(``tests/analysis/test_reparametrisation.py``: the coordinates against the registry's lines, a round trip, the
densities against finite-difference Jacobians, the gradient against finite differences). Measured with both, on
the full configuration (seed 1, 2026-12-02): the largest whitened curvature of the sums and the norms fell to
6-26; the capaciteit block stayed at 38-1002 with the ratios alone, which the second shortfall coordinate took
out; with nutpie's low-rank mass matrix NUTS took 17 leapfrog steps per draw at steps of 0.22 (366 and 0.05
before) and the run passed its diagnostics (closing note of issue #16).

Tried and dropped. The norms as the log of one cost sum and centred log shares (2026-11): the shares then coupled
with the ``bereik`` entries through ``ln(1 − bereik)`` (steps of 0.011). The norm groups of 1. alone, with the
capaciteit ratios (2026-12-02, one graph operation per entry): 427 steps per draw against 366, the step bounded
by the capaciteit block. The Newton steps for d₁ written out (12 nested steps fused into one elementwise
expression): numba had not compiled them after 15 minutes; they run in a scan.

When. Each part only where it is exact and a figure it concerns is observed: the entries of a unit calibrated and
lognormal, their copula block closed; q1, med and a calibrated and lognormal, their block closed with q1 first and
on its own. Otherwise :func:`plan` leaves that part out (None: both).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy.linalg import helmert

from model.deelopgaven import arguments
from model.deelopgaven.bereikbaarheid import DEELOPGAVE as BEREIKBAARHEID
from model.deelopgaven.bereikbaarheid import _kosten, bereikbaarheid
from model.deelopgaven.capaciteit import tekort_verwacht
from model.deelopgaven.grondslag import DEELOPGAVE as GRONDSLAG
from model.deelopgaven.grondslag import grondslag
from model.deelopgaven.kernels import normaal_cdf
from model.deelopgaven.registry import by_name
from model.spec.fitting import Marginal

Q1 = "normatief_vastgoed_q1_m2_per_huishouden"
MEDIAAN = "normatief_vastgoed_mediaan_m2_per_huishouden"
AANBOD = "aanbod_mediaan_m2_per_huishouden"
SPREIDING = "aanbod_spreiding_tussen_gemeenten"
#: The entries whose sum (weight 1) a deelopgave's lines are proportional to, one coefficient for all: the per-unit
#: kentallen of the deelopgaven the report prints (the multiplier, e.g. inhabitant-years or dwellings, is the rest
#: of the kernel). Bereikbaarheid's norms are added per §3.4 group (:func:`groups`), each weighted by its own cost.
SOM_KENTALLEN = {
    "leefbaarheid_veiligheid": ("kental_openbare_ruimte_per_inwoner_per_jaar",
                                "kental_veiligheid_per_inwoner_per_jaar"),
    "gezonde_toekomst": ("kental_werk_inkomen_per_inwoner_per_jaar", "kental_onderwijs_per_inwoner_per_jaar",
                         "kental_hulpverlening_per_inwoner_per_jaar", "kental_gezondheid_zorg_per_inwoner_per_jaar",
                         "kental_opvoeding_per_inwoner_per_jaar", "kental_participatie_per_inwoner_per_jaar",
                         "kental_lokale_economie_per_inwoner_per_jaar"),
    "nieuwbouw": ("restopgave_toerekenbaar_per_woning", "restopgave_niet_toerekenbaar_per_woning"),
    "herstructurering_woningen": ("restopgave_per_kwetsbare_woning",),
    "herstructurering_winkels": ("publieke_kosten_per_m2_winkel",),
    "ov_exploitatie": ("basis_exploitatielasten_ov_npvr_per_jaar",),
}
#: The capaciteit coordinates, in this order (after the sum coordinates).
CAPACITEIT_COORDINATES = ("ln_tekort_q1_nu", "ln_tekort_mediaan_nu", "d_q1_nu")
#: The domain of d at both norm levels: d >= D_MIN. Below it Phi(d - s) nears underflow (Phi(-37.5) is the smallest
#: normal double) and Newton's method would be run on a floored ln G; a shortfall there is about Phi(-30) ~ 1e-198
#: times the supply, e^-450 of the printed ones, so the likelihood of every printed shortfall is zero to double
#: precision. The reparametrised model gives it density zero (:func:`scores`); it has no coordinates.
D_MIN = -30.0
#: Newton steps for d at the median norm (:func:`_solve_psi`): from its start at max(target/s, D_MIN), 10 steps reach
#: the root to 1e-11 for s in [0.03, 3.5] and the root in [D_MIN, 8] (numpy, a 200 x 400 grid, 2026-12-02); two
#: more for margin.
NEWTON_STEPS = 12
#: Bound of a recovered independent score (:func:`scores`).
Z_MAX = 500.0
#: Floor of a positive quantity before its logarithm, far below any value that matters.
_TINY = 1e-300
#: The norm levels: the prefix of the entries' names and the normniveau of the kernel.
_LEVELS = (("q1", 0.0), ("mediaan", 1.0))


def _line_index(deelopgave, name: str) -> int:
    return [line.naam for line in deelopgave.lines].index(name)


#: The kernels' outputs the maps read, by the name of their line (one definition: the records).
_TOEVOEGING = _line_index(BEREIKBAARHEID, "bereikbaarheid_toevoeging_m2_per_huishouden")
_GEMIDDELD = _line_index(BEREIKBAARHEID, "stichtingskosten_gemiddeld")


def facilities() -> tuple[str, ...]:
    """The kernvoorzieningen of the bereikbaarheid kernel, in its argument order."""
    return tuple(n.removeprefix("norm_q1_") for n in arguments(bereikbaarheid) if n.startswith("norm_q1_"))


def groups() -> dict[str, tuple[str, ...]]:
    """The §3.4 groups of the bereikbaarheid kernel and their facilities, found by evaluating the kernel with one
    facility's norm at a time (the group lines are the kernel's lines that are not auxiliary)."""
    names = [line.naam.removeprefix("bereikbaarheid_") for line in BEREIKBAARHEID.lines if not line.hulp]
    out: dict[str, list[str]] = {n: [] for n in names}
    for f in facilities():
        args = {n: 0.0 for n in arguments(bereikbaarheid)}
        args.update({n: 1.0 for n in args if n.startswith("stichtingskosten_")}, huishoudens_npvr=1.0)
        args[f"norm_q1_{f}"] = 1.0
        lines = bereikbaarheid(**args)[:len(names)]
        (hit,) = [g for g, v in zip(names, lines) if v != 0.0]
        out[hit].append(f)
    return {g: tuple(fs) for g, fs in out.items() if fs}


@dataclass(frozen=True)
class SumGroups:
    """Lognormal entries in sum coordinates (module docstring): where they sit and the constant matrices."""

    index: np.ndarray           # positions of the entries in the parameter vector, in block order
    names: tuple[str, ...]      # their names
    facility: tuple[str, ...]   # for a norm its facility (its weight), else ""
    common: tuple[tuple[str, np.ndarray], ...]   # (deelopgave, rows): entries weighted by its kernel's multiplier
    member: np.ndarray          # (entries, blocks): 1 where an entry belongs to a block
    totals: np.ndarray          # (blocks, blocks) orthonormal: block log sums = totals @ coordinates[:blocks]
    contrasts: np.ndarray       # (entries, entries - blocks) orthonormal columns, orthogonal to every block's ones
    log_mu: np.ndarray
    log_sigma: np.ndarray
    whiten: np.ndarray          # inverse of the copula factor's block: the entries' independent scores
    coordinates: tuple[str, ...]

    def log_sums(self, logs, weights):
        """Each block's log weighted sum: logsumexp over its entries of ln value + ln weight (numpy)."""
        y = np.where(self.member > 0, (logs + weights)[:, None], -np.inf)
        top = y.max(axis=0)
        return top + np.log(np.exp(y - top).sum(axis=0))


@dataclass(frozen=True)
class Capaciteit:
    """Where the capaciteit entries sit, and the lognormals' parameters of the three replaced ones."""

    index: dict[str, int]       # Q1, MEDIAAN, AANBOD, SPREIDING -> position in the parameter vector
    log_mu: dict[str, float]    # Q1, MEDIAAN, AANBOD
    log_sigma: dict[str, float]


@dataclass(frozen=True)
class Singles:
    """The one-entry units of :data:`SOM_KENTALLEN` whose copula block is not closed (module docstring, 3.)."""

    units: tuple[str, ...]      # their deelopgaven
    names: tuple[str, ...]      # their entries
    index: np.ndarray           # positions of the entries in the parameter vector, ascending
    log_mu: np.ndarray
    log_sigma: np.ndarray

    @property
    def coordinates(self) -> tuple[str, ...]:
        return tuple(_som_coordinate(u) for u in self.units)


@dataclass(frozen=True)
class Reparametrisation:
    """The three changes of variables, each possibly absent."""

    sums: SumGroups | None
    capaciteit: Capaciteit | None
    singles: Singles | None = None

    @property
    def replaced(self) -> tuple[int, ...]:
        """The positions of the replaced scores, ascending."""
        out = [] if self.sums is None else list(self.sums.index)
        if self.capaciteit is not None:
            out += [self.capaciteit.index[n] for n in (Q1, MEDIAAN, AANBOD)]
        if self.singles is not None:
            out += list(self.singles.index)
        return tuple(sorted(int(i) for i in out))

    @property
    def coordinates(self) -> tuple[str, ...]:
        """The names of the sampled coordinates, in the order :func:`scores` reads them."""
        return ((() if self.sums is None else self.sums.coordinates)
                + (() if self.capaciteit is None else CAPACITEIT_COORDINATES)
                + (() if self.singles is None else self.singles.coordinates))


def _som_coordinate(unit: str) -> str:
    """The name of a unit's log-sum coordinate (one block; the sums and the singles)."""
    return f"ln_som_{unit}"


def _observed(deelopgave: str, observed_quantities: Sequence[str]) -> bool:
    """A printed figure concerns the deelopgave: its total or one of its lines enters an observed quantity."""
    return any(f"deelopgave:{deelopgave}" in q or f"lijn:{deelopgave}" in q for q in observed_quantities)


def _closed(chol: np.ndarray, block: Sequence[int], inside: set | None = None) -> bool:
    """The copula block ``block`` is closed: its entries' scores mix with no score outside it (outside ``inside``,
    by default the block itself)."""
    nonzero = np.abs(chol) > 0
    inside = set(block) if inside is None else inside
    return all(set(np.nonzero(nonzero[i])[0]) <= inside and set(np.nonzero(nonzero[:, i])[0]) <= inside
               for i in block)


def _sums_and_differences(n: int) -> np.ndarray:
    """(2n, 2n) orthonormal: maps (s_1..s_n, d_1..d_n) to (a_1..a_n, b_1..b_n) with a = (s + d)/sqrt 2 and
    b = (s - d)/sqrt 2."""
    eye = np.eye(n)
    return np.block([[eye, eye], [eye, -eye]]) / math.sqrt(2.0)


def sum_units() -> dict[str, tuple[str, tuple[tuple[str, ...], ...]]]:
    """The sums the printed figures pin, by unit: its deelopgave and one or two blocks of entries (two: the same
    facilities at the Q1 and the median norm, paired). The §3.4 groups of bereikbaarheid (:func:`groups`) and the
    sums of :data:`SOM_KENTALLEN`."""
    units = {g: ("bereikbaarheid", tuple(tuple(f"norm_{level}_{f}" for f in fs) for level, _ in _LEVELS))
             for g, fs in groups().items()}
    units.update({d: (d, (entries,)) for d, entries in SOM_KENTALLEN.items()})
    return units


def _plan_sums(names, marginals, chol, observed_quantities) -> SumGroups | None:
    position = {n: i for i, n in enumerate(names)}
    units = {u: (d, blocks) for u, (d, blocks) in sum_units().items()
             if _observed(d, observed_quantities)
             and all(n in position and marginals[n].family == "lognormal" for b in blocks for n in b)}
    while True:     # leave out the units whose copula block would not be closed
        order = [n for _, blocks in units.values() for block in blocks for n in block]
        index = np.array([position[n] for n in order], dtype="int64")
        inside = set(index.tolist())
        open_units = [u for u, (_, blocks) in units.items()
                      if not _closed(chol, [position[n] for b in blocks for n in b], inside)]
        if not open_units:
            break
        for u in open_units:
            del units[u]
    if not order:
        return None
    n_blocks = sum(len(blocks) for _, blocks in units.values())
    n = len(order)
    member = np.zeros((n, n_blocks))
    contrasts = np.zeros((n, n - n_blocks))
    totals = np.zeros((n_blocks, n_blocks))
    names_totals, names_contrasts = [], []
    row = col = blk = 0
    common = []
    for u, (d, blocks) in units.items():
        k, m = len(blocks[0]), len(blocks)
        if d != "bereikbaarheid":
            common.append((d, np.arange(row, row + m * k, dtype="int64")))
        for j in range(m):
            member[row + j * k:row + (j + 1) * k, blk + j] = 1.0
        # Helmert contrasts within each block; two paired blocks (the two norm levels, correlated 0.9 in the
        # prior) as the sums and differences of theirs, and of their log sums
        within = np.zeros((m * k, m * (k - 1)))
        for j in range(m):
            within[j * k:(j + 1) * k, j * (k - 1):(j + 1) * (k - 1)] = helmert(k).T
        if m == 2:
            within = within @ _sums_and_differences(k - 1)
            totals[blk:blk + 2, blk:blk + 2] = _sums_and_differences(1)
            names_totals += [f"ln_kosten_{u}_{w}" for w in ("som", "verschil")]
            names_contrasts += [f"contrast_{u}_{i + 1}_{w}" for w in ("som", "verschil") for i in range(k - 1)]
        else:
            totals[blk, blk] = 1.0
            names_totals.append(_som_coordinate(u))
            names_contrasts += [f"contrast_{u}_{i + 1}" for i in range(k - 1)]
        contrasts[row:row + m * k, col:col + m * (k - 1)] = within
        row, col, blk = row + m * k, col + m * (k - 1), blk + m
    return SumGroups(
        index=index, names=tuple(order),
        facility=tuple(n.split("_", 2)[2] if n.startswith("norm_") else "" for n in order), common=tuple(common),
        member=member,
        totals=totals, contrasts=contrasts,
        log_mu=np.array([float(marginals[n].params[0]) for n in order]),
        log_sigma=np.array([float(marginals[n].params[1]) for n in order]),
        whiten=np.linalg.inv(chol[np.ix_(index, index)]),
        coordinates=tuple(names_totals + names_contrasts))


def _plan_capaciteit(names, marginals, chol, observed_quantities) -> Capaciteit | None:
    position = {n: i for i, n in enumerate(names)}
    if not any("capaciteit" in q for q in observed_quantities) or not all(
            n in position for n in (Q1, MEDIAAN, AANBOD, SPREIDING)):
        return None
    block = [position[n] for n in (Q1, MEDIAAN, AANBOD)]
    if (any(marginals[n].family != "lognormal" for n in (Q1, MEDIAAN, AANBOD)) or block != sorted(block)
            or not _closed(chol, block) or set(np.nonzero(np.abs(chol[block[0]]) > 0)[0]) != {block[0]}):
        return None
    return Capaciteit(index={n: position[n] for n in (Q1, MEDIAAN, AANBOD, SPREIDING)},
                      log_mu={n: float(marginals[n].params[0]) for n in (Q1, MEDIAAN, AANBOD)},
                      log_sigma={n: float(marginals[n].params[1]) for n in (Q1, MEDIAAN, AANBOD)})


def _plan_singles(names, marginals, chol, observed_quantities, taken: set[int]) -> Singles | None:
    """The one-entry units left out of the sums, where the triangular map of 3. (module docstring) is exact: the
    entry lognormal; its score mixing only with free scores (not in ``taken``, the other parts' positions) and the
    units' own; no calibrated argument of its kernel (or of grondslag, which gives the multiplier's dwellings and
    inhabitants) mixing with a unit's score."""
    position = {n: i for i, n in enumerate(names)}
    nonzero = np.abs(chol) > 0
    free = set(range(len(names))) - taken
    units = {d: entries[0] for d, entries in SOM_KENTALLEN.items()
             if len(entries) == 1 and entries[0] in position and position[entries[0]] not in taken
             and marginals[entries[0]].family == "lognormal"
             and _observed(d, observed_quantities)
             and set(np.nonzero(nonzero[position[entries[0]], :position[entries[0]]])[0]) <= free}
    while True:     # the multipliers are read at the free scores alone: their arguments mix with no unit's score
        index = [position[n] for n in units.values()]
        read = {position[a] for d in units for a in (*arguments(by_name(d).kernel), *arguments(grondslag))
                if a in position} - set(index)
        mixing = [d for d, n in units.items() if any(nonzero[i, position[n]] for i in read)]
        if not mixing:
            break
        for d in mixing:
            del units[d]
    if not units:
        return None
    ordered = sorted(units.items(), key=lambda item: position[item[1]])
    return Singles(units=tuple(d for d, _ in ordered), names=tuple(n for _, n in ordered),
                   index=np.array([position[n] for _, n in ordered], dtype="int64"),
                   log_mu=np.array([float(marginals[n].params[0]) for _, n in ordered]),
                   log_sigma=np.array([float(marginals[n].params[1]) for _, n in ordered]))


def plan(names: Sequence[str], marginals: Mapping[str, Marginal], chol: np.ndarray,
         observed_quantities: Sequence[str]) -> Reparametrisation | None:
    """The reparametrisation of the calibrated ``names`` (with their ``marginals`` and copula factor ``chol``):
    each of its three parts where it is exact and a figure it concerns is observed (module docstring); None where
    none is."""
    sums = _plan_sums(names, marginals, chol, observed_quantities)
    capaciteit = _plan_capaciteit(names, marginals, chol, observed_quantities)
    if sums is not None and capaciteit is not None and set(sums.index) & set(capaciteit.index.values()):
        return None
    taken = set(Reparametrisation(sums, capaciteit).replaced)
    singles = _plan_singles(names, marginals, chol, observed_quantities, taken)
    if sums is None and capaciteit is None and singles is None:
        return None
    return Reparametrisation(sums, capaciteit, singles)


def _bereikbaarheid(values: Mapping, normniveau):
    """The bereikbaarheid kernel per household (the number of households, a line of an earlier kernel, is 1)."""
    args = {n: values[n] for n in arguments(bereikbaarheid) if n not in ("normniveau", "huishoudens_npvr")}
    return bereikbaarheid(normniveau=normniveau, huishoudens_npvr=1.0, **args)


def toevoeging(values: Mapping, normniveau: float):
    """The floor space per household that bereikbaarheid adds at ``normniveau`` (the kernel's own formula)."""
    return _bereikbaarheid(values, normniveau)[_TOEVOEGING]


def _multiplier(deelopgave: str, entries: Sequence[str], values: Mapping):
    """The coefficient of the sum of ``entries`` in the deelopgave's cost lines: the kernel's lines (not the
    auxiliary ones) with the first entry at 1 and the others at 0."""
    d = by_name(deelopgave)
    args = {n: values[n] for n in arguments(d.kernel) if n not in entries}
    args.update({n: 0.0 for n in entries[1:]}, **{entries[0]: 1.0})
    return sum(v for v, line in zip(d.kernel(**args), d.lines) if not line.hulp)


def _reads(kernels, extra: Sequence[str] = (), without: Sequence[str] = ()) -> frozenset[str]:
    """The entries that ``kernels`` read, with ``extra`` and what the grondslag lines read, less ``without``: the
    values :func:`scores` asks ``values_of`` for."""
    return frozenset(arguments(grondslag)).union(extra, *(arguments(k) for k in kernels)) - set(without)


def _with_grondslag(values: Mapping) -> dict:
    """``values`` with the grondslag lines (inhabitants, dwellings, households), which later kernels read."""
    lines = grondslag(**{n: values[n] for n in arguments(grondslag)})
    return {**values, **{line.naam: v for line, v in zip(GRONDSLAG.lines, lines)}}


def _weights(sums: SumGroups, values: Mapping, stack, log):
    """The log weight of each entry of ``sums`` (with ``stack`` and ``log`` of numpy or PyTensor), as (positions,
    log weights) pairs: a norm ln((1 - bereik) x stichtingskosten) of its facility, the kernel's cost of one m² per
    household (its own helper); the entries of a :data:`SOM_KENTALLEN` unit the log of their kernel's multiplier
    (:func:`_multiplier`)."""
    weighted = [j for j, f in enumerate(sums.facility) if f]
    bereik = stack([values[f"bereik_{sums.facility[j]}"] for j in weighted])
    kosten = stack([values[f"stichtingskosten_{sums.facility[j]}"] for j in weighted])
    out = [(np.array(weighted, dtype="int64"), log(_kosten(1.0, 0.0, bereik, 1.0, 1.0, kosten)))]
    for d, rows in sums.common:
        out.append((rows, log(_multiplier(d, [sums.names[j] for j in rows], values))))
    return out


def _scalar(v):
    import pytensor.tensor as pt

    v = pt.as_tensor_variable(v)
    return v if v.ndim == 0 else v.reshape((-1,))[0]


def _matvec(m: np.ndarray, v):
    """``m @ v`` for a constant matrix, written elementwise (PyTensor's pip build has no BLAS)."""
    import pytensor.tensor as pt

    return pt.sum(pt.constant(m) * v[None, :], axis=1)


def _solve(zi, chol: np.ndarray, targets: Mapping[int, object]):
    """Set the independent scores at the positions of ``targets`` so that the correlated scores there equal the
    targets: the copula's triangular solve, in ascending order (every score a target mixes with already final)."""
    import pytensor.tensor as pt

    solved = {}
    for i in sorted(targets):
        row = chol[i]
        known = sum(float(row[j]) * zi[j] for j in np.nonzero(np.abs(row[:i]) > 0)[0])
        solved[i] = (targets[i] - known) / float(row[i])
        zi = pt.set_subtensor(zi[i], solved[i])
    return zi, -0.5 * sum(v ** 2 for v in solved.values())


def _sum_logs(sums: SumGroups, coordinates, values):
    """The entries' logs from their coordinates and the free entries' values (PyTensor)."""
    import pytensor.tensor as pt

    n_blocks = sums.member.shape[1]
    weights = pt.zeros(len(sums.names))
    for where, log_w in _weights(sums, values, lambda parts: pt.concatenate([pt.reshape(p, (1,)) for p in parts]),
                                 pt.log):
        weights = pt.set_subtensor(weights[where], pt.reshape(log_w, (-1,)) if where.size > 1 else _scalar(log_w))
    centred = _matvec(sums.contrasts, coordinates[n_blocks:])
    y = pt.switch(pt.constant(sums.member > 0), (centred + weights)[:, None], -np.inf)
    top = pt.max(y, axis=0)
    log_sums = top + pt.log(pt.sum(pt.exp(y - top[None, :]), axis=0))
    shift = _matvec(sums.totals, coordinates[:n_blocks]) - log_sums
    return centred + _matvec(sums.member, shift)


def _ln_g(d, s):
    """ln G(d, s): G the shortfall E[(1 - e^{s(Z - d)})⁺] of the kernel's closed form (floored far in the tail)."""
    import pytensor.tensor as pt

    return pt.log(pt.maximum(tekort_verwacht(1.0, pt.exp(-s * d), s, 0.0), _TINY))


def _ln_phi(d):
    """ln Phi(d), floored far in the lower tail (no erfcx: numba cannot cache a function that calls it)."""
    import pytensor.tensor as pt

    return pt.log(pt.maximum(normaal_cdf(d), _TINY))


def _solve_psi(target, s):
    """The d with psi(d) = s·d + ln G(d, s) = ``target`` (psi increasing and concave, psi(d) <= s·d): Newton's
    method from max(target/s, :data:`D_MIN`), left of a root in the domain, from where it converges monotonically
    (:data:`NEWTON_STEPS` steps, each kept in the domain; ``tests/analysis/test_reparametrisation.py`` checks the
    round trip). The derivative is that of the root (the implicit function theorem): one more Newton step on the
    converged value, differentiated with that value held. A root below D_MIN gives a result below it: the steps
    stay at D_MIN, where psi > target, and the last step goes left.

    Why the floor: from target/s far in the left tail (small s; Phi(target/s) underflows), the floored ln G made
    the first step overshoot by 1e35-1e109 and the iteration diverge (about 2% of prior draws, 2026-12-02)."""
    return _newton_step(_held_root()(target, s), target, s)


def _newton_step(d, target, s):
    """One Newton step for psi(d) = ``target``; psi'(d) = s Phi(d) / G(d, s), its inverse in logs (finite far in
    both tails)."""
    import pytensor.tensor as pt

    return d - (s * d + _ln_g(d, s) - target) * pt.exp(_ln_g(d, s) - _ln_phi(d)) / s


def _held_root():
    """The Newton iteration of :func:`_solve_psi` as one operation whose gradient is zero (the root "held"): an
    OpFromGraph, not ``disconnected_grad``, which PyTensor's canonicalisation removes, and nutpie canonicalises the
    log density before it takes the gradient (then the gradient ran back through all the steps: a second, reverse
    scan of 20 sequences, 2026-12-02). A loop (scan), not the steps written out: fused into one elementwise
    expression, 12 nested steps took numba's compiler more than 15 minutes."""
    import pytensor
    import pytensor.tensor as pt
    target, s = pt.dscalar("target"), pt.dscalar("s")
    steps = pytensor.scan(lambda d, t, sp: pt.maximum(_newton_step(d, t, sp), D_MIN),
                          outputs_info=[pt.maximum(target / s, D_MIN)], non_sequences=[target, s],
                          n_steps=NEWTON_STEPS, return_updates=False)
    return _held_root_type()([target, s], [steps[-1]], inline=False, name="newton_psi",
                             lop_overrides=lambda inputs, outputs, grads: [pt.zeros_like(v) for v in inputs])


@functools.cache
def _held_root_type():
    """The type of the held root's operation: an OpFromGraph of its own, so that a backend can be told what its
    gradient is (:func:`register_jax`)."""
    from pytensor.compile.builders import OpFromGraph

    class HeldRoot(OpFromGraph):
        """The Newton iteration of :func:`_solve_psi`, its gradient zero."""

    return HeldRoot


def register_jax() -> None:
    """Give the JAX backends the held root's zero gradient. JAX differentiates the graph it is given itself, not
    with PyTensor's gradient (nutpie's and NumPyro's JAX samplers), and would otherwise run back through the Newton
    steps: at the converged root the same gradient (the derivative of a Newton step in d is zero there), at about
    10% more time per gradient (full calibration, 2026-12-03)."""
    import jax
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.link.jax.dispatch.basic import jax_funcify_OpFromGraph

    @jax_funcify.register(_held_root_type())
    def _held(op, node=None, **kwargs):
        inner = jax_funcify_OpFromGraph(op, node=node, **kwargs)
        return lambda *inputs: jax.lax.stop_gradient(inner(*inputs))


def scores(rep: Reparametrisation, coordinates, z_free_full, chol: np.ndarray,
           values_of: Callable[[object, frozenset[str]], Mapping]):
    """The independent normal scores of every calibrated entry, given the free scores (``z_free_full``: zero at the
    replaced positions) and the sampled ``coordinates`` (:attr:`Reparametrisation.coordinates`), and the log density
    the coordinates add (the prior of the recovered scores times the Jacobian). ``values_of(z_indep, names)``: the
    values of the calibrated entries among ``names`` (and the fixed entries and data) at independent scores; only
    the entries read here are asked for (each a few graph operations fewer than all of them)."""
    import pytensor.tensor as pt

    zi, log_density, k = z_free_full, 0.0, 0
    if rep.singles is not None:
        # first: the free entries that mix with their scores (the stichtingskosten) are read below
        singles = rep.singles
        x = _with_grondslag(values_of(z_free_full, _reads([by_name(d).kernel for d in singles.units],
                                                           without=singles.names)))
        offset = len(rep.coordinates) - len(singles.names)
        zi, log_prior = _solve(zi, chol, {
            int(i): (coordinates[offset + j] - pt.log(_scalar(_multiplier(d, (n,), x))) - singles.log_mu[j])
            / singles.log_sigma[j] for j, (d, n, i) in enumerate(zip(singles.units, singles.names, singles.index))})
        log_density = log_density + log_prior       # the Jacobian is constant
    # the free entries' values (the replaced ones are not read)
    kernels, extra, replaced = [], [], ()
    if rep.sums is not None:
        kernels += [by_name(d).kernel for d, _ in rep.sums.common] + ([bereikbaarheid] if any(rep.sums.facility)
                                                                      else [])
        replaced = rep.sums.names
    if rep.capaciteit is not None:
        kernels, extra = kernels + [bereikbaarheid], [SPREIDING]
    x = _with_grondslag(values_of(zi, _reads(kernels, extra, without=replaced)))
    if rep.sums is not None:
        sums = rep.sums
        k = len(sums.coordinates)
        logs = _sum_logs(sums, coordinates[:k], x)
        z_sums = _matvec(sums.whiten, (logs - sums.log_mu) / sums.log_sigma)
        zi = pt.set_subtensor(zi[sums.index], z_sums)
        log_density = log_density - 0.5 * pt.sum(z_sums ** 2)    # the Jacobian is constant
        sum_values = pt.exp(logs)
        x.update({n: sum_values[j:j + 1] for j, n in enumerate(sums.names)})
    if rep.capaciteit is not None:
        cap = rep.capaciteit
        per_level = _bereikbaarheid(x, pt.constant(np.array([niveau for _, niveau in _LEVELS])))
        t0, t1 = per_level[_TOEVOEGING][0], per_level[_TOEVOEGING][1]
        kosten = _scalar(per_level[_GEMIDDELD]) * _scalar(x["huishoudens_npvr"])
        s = _scalar(x[SPREIDING])
        ln_t0, ln_t1, d0 = coordinates[k], coordinates[k + 1], coordinates[k + 2]
        # the shortfall per household at the Q1 norm today is (q1 - t0) * G(d0, s), G the kernel's own closed form
        ln_r0 = ln_t0 - pt.log(kosten) - _ln_g(d0, s)
        q1 = t0 + pt.exp(ln_r0)
        ln_a = ln_r0 - s * d0
        # at the median norm today a * exp(psi(d1)); d1 solves psi(d1) = ln_t1 - ln(kosten) - ln a
        d1 = _solve_psi(ln_t1 - pt.log(kosten) - ln_a, s)
        ln_excess = ln_a + s * d1          # ln(med - t1), without cancellation
        med = t1 + pt.exp(ln_excess)
        ln_q1, ln_med = pt.log(q1), pt.log(med)
        zi, log_prior = _solve(zi, chol, {
            cap.index[Q1]: (ln_q1 - cap.log_mu[Q1]) / cap.log_sigma[Q1],
            cap.index[MEDIAAN]: (ln_med - cap.log_mu[MEDIAAN]) / cap.log_sigma[MEDIAAN],
            cap.index[AANBOD]: (ln_a - cap.log_mu[AANBOD]) / cap.log_sigma[AANBOD]})
        # (ln_t0, d0) -> (ln(q1 - t0), ln a): s; -> ln q1: (q1 - t0)/q1; ln_t1 -> d1: 1/psi'(d1) = G/(s Phi(d1));
        # d1 -> ln med: s (med - t1)/med
        log_jacobian = (pt.log(s) + ln_r0 - ln_q1 + _ln_g(d1, s) - _ln_phi(d1) + ln_excess - ln_med
                        - sum(math.log(cap.log_sigma[n]) for n in (Q1, MEDIAAN, AANBOD)))
        # outside the domain of d (D_MIN) the density is zero
        log_density = pt.switch(pt.ge(d0, D_MIN) & pt.ge(d1, D_MIN), log_density + log_prior + log_jacobian,
                                -np.inf)
    # the recovered scores kept finite (an infinite one would turn the copula's product into NaN everywhere): beyond
    # |z| = Z_MAX the prior density is below e^-(10^5), a region no trajectory that is accepted reaches
    return pt.clip(zi, -Z_MAX, Z_MAX), log_density


def coordinates_of(rep: Reparametrisation, values: Mapping) -> np.ndarray | None:
    """The coordinates of the entries' ``values`` (numbers; with the data): the forward map that :func:`scores`
    inverts. None where there are none (module docstring: no shortfall at a norm level today, or d below
    :data:`D_MIN`)."""
    out = []
    x = _with_grondslag({k: float(np.asarray(v).reshape(-1)[0]) if np.ndim(v) else float(v)
                         for k, v in values.items()})
    if rep.sums is not None:
        sums = rep.sums
        logs = np.log([x[n] for n in sums.names])
        weights = np.zeros(len(logs))
        for where, log_w in _weights(sums, x, np.array, np.log):
            weights[where] = log_w
        out += list(sums.totals.T @ sums.log_sums(logs, weights)) + list(sums.contrasts.T @ logs)
    if rep.capaciteit is not None:
        t0, t1 = (float(toevoeging(x, niveau)) for _, niveau in _LEVELS)
        r0, excess = x[Q1] - t0, x[MEDIAAN] - t1
        s, a = x[SPREIDING], x[AANBOD]
        if not (r0 > 0.0 and excess > 0.0 and min(math.log(r0 / a), math.log(excess / a)) / s >= D_MIN):
            return None
        kosten = float(_bereikbaarheid(x, 0.0)[_GEMIDDELD]) * float(x["huishoudens_npvr"])
        out += [math.log(kosten * float(tekort_verwacht(r0, a, s, 0.0))),
                math.log(kosten * float(tekort_verwacht(x[MEDIAAN], a, s, t1))), math.log(r0 / a) / s]
    if rep.singles is not None:
        out += [math.log(float(_multiplier(d, (n,), x)) * x[n]) for d, n in zip(rep.singles.units, rep.singles.names)]
    return np.array(out)
