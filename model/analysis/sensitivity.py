"""Generic sensitivity analysis for a vectorised model ``f(theta) -> y``.

The model is seen as a black box: ``theta`` is a float64 array of shape ``(n_inputs, n_samples)``
(one row per input parameter, C-ordered) and ``f`` returns one output per sample, shape
``(n_samples,)``. Inputs are described by an :class:`InputSpec` (names, vectorised inverse CDFs,
point values, optional kinds / deelopgave labels and an optional Gaussian-copula correlation).

Three analyses are offered:

* :func:`tornado` -- one-at-a-time swings (each input at two quantiles, others at the point value);
* :func:`spider`  -- one-at-a-time output curves over a grid of input quantiles;
* :func:`sobol`   -- variance-based first-order (S1) and total (ST) Sobol' indices with bootstrap
  confidence intervals, per input and optionally per group of inputs.

The plots of the results are in ``model.output.plots``.

Every analysis evaluates the model in a few large vectorised calls; there is no Python loop over
samples. Each inverse CDF is called once per design on a whole column.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import norm, qmc

__all__ = [
    "InputSpec",
    "TornadoResult",
    "SobolGroups",
    "SobolResult",
    "tornado",
    "spider",
    "sobol",
    "groups_from_labels",
]

Model = Callable[[np.ndarray], np.ndarray]

# Scrambled Sobol' points are multiples of 2**-30 and can (very rarely) be exactly 0; an inverse
# CDF would return -inf there. Such points are moved half a grid cell inward.
_U_MIN = 2.0**-31


# ---------------------------------------------------------------------------------------------
# Input description
# ---------------------------------------------------------------------------------------------


@dataclass
class InputSpec:
    """Description of the model inputs.

    Attributes
    ----------
    names:
        Unique input names, in the row order of ``theta``.
    ppfs:
        Per input a vectorised inverse CDF ``ppf(u) -> x`` for ``u`` in (0, 1) (numpy in, numpy
        out, same shape).
    point:
        Point (deterministic) value per input, shape ``(n_inputs,)``.
    kinds:
        Optional label per input, e.g. ``"hoeveelheid"``, ``"kental"``, ``"norm"``.
    deelopgave:
        Optional owning deelopgave per input.
    corr:
        Optional ``(n_inputs, n_inputs)`` correlation matrix of the normal scores of a Gaussian
        copula between the inputs (identity = independent), e.g.
        ``model.spec.dependence.CopulaPlan.normal_corr``. Only used by :func:`sobol`, for grouped
        indices whose groups contain every correlated block whole.
    """

    names: list[str]
    ppfs: list[Callable[[np.ndarray], np.ndarray]]
    point: np.ndarray
    kinds: list[str] | None = None
    deelopgave: list[str] | None = None
    corr: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.names = list(self.names)
        self.ppfs = list(self.ppfs)
        self.point = np.asarray(self.point, dtype=np.float64).reshape(-1)
        n = len(self.names)
        if len(set(self.names)) != n:
            dup = sorted({x for x in self.names if self.names.count(x) > 1})
            raise ValueError(f"InputSpec: duplicate input names: {dup}")
        if len(self.ppfs) != n or self.point.shape != (n,):
            raise ValueError(
                f"InputSpec: {n} names but {len(self.ppfs)} ppfs and point of shape {self.point.shape}"
            )
        for attr in ("kinds", "deelopgave"):
            val = getattr(self, attr)
            if val is not None:
                val = list(val)
                setattr(self, attr, val)
                if len(val) != n:
                    raise ValueError(f"InputSpec: {attr} has {len(val)} entries, expected {n}")
        if self.corr is not None:
            c = np.asarray(self.corr, dtype=np.float64)
            if c.shape != (n, n):
                raise ValueError(f"InputSpec: corr has shape {c.shape}, expected {(n, n)}")
            if not np.allclose(c, c.T, atol=1e-12) or not np.allclose(np.diag(c), 1.0):
                raise ValueError("InputSpec: corr must be symmetric with a unit diagonal")
            if np.linalg.eigvalsh(c).min() < -1e-10:
                raise ValueError("InputSpec: corr is not positive semi-definite")
            self.corr = c

    @property
    def n_inputs(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"unknown input {name!r}") from None

    def _ppf(self, i: int, u: np.ndarray) -> np.ndarray:
        x = np.asarray(self.ppfs[i](u), dtype=np.float64)
        if x.shape != u.shape:
            raise ValueError(
                f"ppf of input {self.names[i]!r} returned shape {x.shape} for input shape {u.shape}"
            )
        return x


def groups_from_labels(spec: InputSpec, by: str) -> dict[str, list[str]]:
    """Group the inputs by one of the label lists of ``spec`` (``"kinds"`` or ``"deelopgave"``)."""
    labels = getattr(spec, by, None)
    if by not in ("kinds", "deelopgave") or labels is None:
        raise ValueError(f"cannot group by {by!r}: InputSpec.{by} is not set")
    out: dict[str, list[str]] = {}
    for name, lab in zip(spec.names, labels):
        out.setdefault(str(lab), []).append(name)
    return out


def _evaluate(f: Model, theta: np.ndarray) -> np.ndarray:
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    y = np.asarray(f(theta), dtype=np.float64)
    if y.shape != (theta.shape[1],):
        raise ValueError(f"model returned shape {y.shape}, expected ({theta.shape[1]},)")
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"model returned {int(bad.sum())} non-finite values of {y.size}")
    return y


# ---------------------------------------------------------------------------------------------
# Tornado and spider
# ---------------------------------------------------------------------------------------------


@dataclass
class TornadoResult:
    """Result of :func:`tornado`.

    ``rows`` are dicts ``{"input", "low", "high", "swing", "x_low", "x_high"}`` (plus ``"kind"`` /
    ``"deelopgave"`` when known), sorted by ``swing`` descending. ``low`` / ``high`` are the model
    output with that input at ``ppf(low_q)`` / ``ppf(high_q)`` (``x_low`` / ``x_high``) and every
    other input at its point value; ``swing = |high - low|``. ``base`` is the output at all-point.
    """

    base: float
    rows: list[dict]
    low_q: float
    high_q: float


def tornado(f: Model, spec: InputSpec, *, low_q: float = 0.10, high_q: float = 0.90) -> TornadoResult:
    """One-at-a-time sensitivity: each input at ``ppf(low_q)`` and ``ppf(high_q)``.

    The model is evaluated once on ``1 + 2 * n_inputs`` columns (all-point, then all lows, then
    all highs).
    """
    if not 0.0 < low_q < high_q < 1.0:
        raise ValueError(f"need 0 < low_q < high_q < 1, got {low_q}, {high_q}")
    n = spec.n_inputs
    q = np.array([low_q, high_q])
    x = np.array([spec._ppf(i, q) for i in range(n)])  # (n, 2)
    theta = np.repeat(spec.point[:, None], 1 + 2 * n, axis=1)
    idx = np.arange(n)
    theta[idx, 1 + idx] = x[:, 0]
    theta[idx, 1 + n + idx] = x[:, 1]
    y = _evaluate(f, theta)
    base, lo, hi = float(y[0]), y[1 : 1 + n], y[1 + n :]
    rows = []
    for i, name in enumerate(spec.names):
        row = {
            "input": name,
            "low": float(lo[i]),
            "high": float(hi[i]),
            "swing": float(abs(hi[i] - lo[i])),
            "x_low": float(x[i, 0]),
            "x_high": float(x[i, 1]),
        }
        if spec.kinds is not None:
            row["kind"] = spec.kinds[i]
        if spec.deelopgave is not None:
            row["deelopgave"] = spec.deelopgave[i]
        rows.append(row)
    rows.sort(key=lambda r: r["swing"], reverse=True)  # stable: ties keep input order
    return TornadoResult(base=base, rows=rows, low_q=float(low_q), high_q=float(high_q))


_DEFAULT_SPIDER_Q = np.linspace(0.05, 0.95, 19)


def spider(f: Model, spec: InputSpec, *, quantiles=_DEFAULT_SPIDER_Q) -> dict[str, np.ndarray]:
    """Output per input per quantile: input ``i`` at ``ppf_i(q)``, all others at their point.

    Returns ``{name: y}`` in input order, ``y`` of shape ``(len(quantiles),)``. One model call on
    ``n_inputs * len(quantiles)`` columns.
    """
    q = np.asarray(quantiles, dtype=np.float64).reshape(-1)
    if q.size == 0 or np.any((q <= 0) | (q >= 1)):
        raise ValueError("quantiles must lie strictly between 0 and 1")
    n, m = spec.n_inputs, q.size
    theta = np.repeat(spec.point[:, None], n * m, axis=1)
    for i in range(n):
        theta[i, i * m : (i + 1) * m] = spec._ppf(i, q)
    y = _evaluate(f, theta).reshape(n, m)
    return {name: y[i].copy() for i, name in enumerate(spec.names)}


# ---------------------------------------------------------------------------------------------
# Sobol'
# ---------------------------------------------------------------------------------------------


@dataclass
class SobolGroups:
    """Grouped Sobol' indices.

    ``rows``: ``{"group", "members", "S1", "S1_conf", "ST", "ST_conf"}`` in group order.
    ``joint_sampling``: True when the members of each group were sampled jointly with the Gaussian
    copula of ``InputSpec.corr`` (dependence inside groups respected), False when every input was
    sampled independently.
    """

    rows: list[dict]
    joint_sampling: bool


@dataclass
class SobolResult:
    """Result of :func:`sobol`.

    ``rows``: ``{"input", "S1", "S1_conf", "ST", "ST_conf"}`` in input order (independent
    sampling). ``groups``: grouped indices for the caller's ``groups`` (or None).
    ``correlated_groups``: grouped indices with each correlated group as one factor (or None).
    ``*_conf`` are half-widths of the ``conf_level`` bootstrap interval (normal approximation,
    as in SALib). ``n_evaluations`` counts model columns evaluated; ``timings`` are seconds per
    stage.
    """

    rows: list[dict]
    n_base: int
    n_evaluations: int
    conf_level: float
    num_resamples: int
    output_mean: float
    output_std: float
    groups: SobolGroups | None = None
    correlated_groups: SobolGroups | None = None
    dependence_note: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def sorted_rows(self, key: str = "ST") -> list[dict]:
        return sorted(self.rows, key=lambda r: r[key], reverse=True)


def _normalise_groups(spec: InputSpec, groups) -> tuple[list[str], list[np.ndarray]]:
    """Turn a ``{group: [input, ...]}`` dict (or ``"kinds"`` / ``"deelopgave"``) into a partition.

    Inputs not listed get a singleton group named after the input.
    """
    if isinstance(groups, str):
        groups = groups_from_labels(spec, groups)
    owner: dict[str, str] = {}
    for g, members in groups.items():
        if isinstance(members, str):
            raise ValueError(f"group {g!r}: members must be a list of input names, got a string")
        for m in members:
            spec.index(m)  # raises KeyError for unknown names
            if m in owner:
                raise ValueError(f"input {m!r} is in two groups: {owner[m]!r} and {g!r}")
            owner[m] = g
    names, factors = [], []
    for g, members in groups.items():
        if members:
            names.append(str(g))
            factors.append(np.array([spec.index(m) for m in members], dtype=np.intp))
    for i, m in enumerate(spec.names):
        if m not in owner:
            if m in names:
                raise ValueError(f"ungrouped input {m!r} clashes with a group of the same name")
            names.append(m)
            factors.append(np.array([i], dtype=np.intp))
    return names, factors


def _corr_blocks(corr: np.ndarray) -> list[np.ndarray]:
    """Connected components (size > 1) of the non-zero off-diagonal pattern of ``corr``."""
    n = corr.shape[0]
    adj = (np.abs(corr) > 0) & ~np.eye(n, dtype=bool)
    seen = np.zeros(n, dtype=bool)
    blocks = []
    for s in range(n):
        if seen[s] or not adj[s].any():
            continue
        stack, comp = [s], []
        seen[s] = True
        while stack:
            k = stack.pop()
            comp.append(k)
            for j in np.flatnonzero(adj[k] & ~seen):
                seen[j] = True
                stack.append(j)
        blocks.append(np.array(sorted(comp), dtype=np.intp))
    return blocks


def _factors_contain_blocks(factors: list[np.ndarray], blocks: list[np.ndarray]) -> bool:
    return all(any(np.isin(b, fac).all() for fac in factors) for b in blocks)


class _Design:
    """Saltelli radial design (SALib ``sobol.sample``, ``calc_second_order=False``) for one
    sampling mode, with the inverse CDFs applied once to the base matrices A and B.

    Column ``j`` of any design row is either ``A[:, j]`` or ``B[:, j]``, so only the ``2 N`` base
    values per input go through ``ppf``; the cross-sampled blocks ``AB_k`` (A with the inputs of
    factor ``k`` taken from B) are assembled from the transformed values by copying.
    """

    def __init__(self, spec: InputSpec, u: np.ndarray, sqrt_corr: np.ndarray | None, timings):
        t0 = time.perf_counter()
        n = spec.n_inputs
        N = u.shape[0]
        u = np.maximum(u, _U_MIN)  # (N, 2D): A = u[:, :D], B = u[:, D:]
        ua, ub = u[:, :n].T, u[:, n:].T  # (D, N) views
        if sqrt_corr is not None:
            ua = ndtr(sqrt_corr @ ndtri(ua))
            ub = ndtr(sqrt_corr @ ndtri(ub))
            np.clip(ua, _U_MIN, 1.0 - _U_MIN, out=ua)
            np.clip(ub, _U_MIN, 1.0 - _U_MIN, out=ub)
        xab = np.empty((n, 2 * N))
        for i in range(n):  # one ppf call per input on the whole (A, B) column
            xab[i] = spec._ppf(i, np.concatenate([ua[i], ub[i]]))
        self.xa = np.ascontiguousarray(xab[:, :N])
        self.xb = np.ascontiguousarray(xab[:, N:])
        self.N = N
        self.yA: np.ndarray | None = None
        self.yB: np.ndarray | None = None
        timings["ppf"] = timings.get("ppf", 0.0) + time.perf_counter() - t0

    def run(self, f: Model, blocks: list[np.ndarray], chunk_bytes: int, counter, timings) -> np.ndarray:
        """Evaluate ``f`` on the given blocks (index arrays of inputs taken from B).

        Returns ``(len(blocks), N)``. Blocks are packed into as few calls as ``chunk_bytes``
        (size of ``theta`` per call) allows.
        """
        t0 = time.perf_counter()
        D, N = self.xa.shape
        per_call = max(1, int(chunk_bytes // (8 * D * N)))
        out = np.empty((len(blocks), N))
        for s in range(0, len(blocks), per_call):
            chunk = blocks[s : s + per_call]
            theta = np.empty((D, len(chunk) * N))
            for b, idx in enumerate(chunk):
                cols = slice(b * N, (b + 1) * N)
                theta[:, cols] = self.xa
                if idx.size:
                    theta[idx, cols] = self.xb[idx]
            out[s : s + len(chunk)] = _evaluate(f, theta).reshape(len(chunk), N)
            counter[0] += theta.shape[1]
        timings["model"] = timings.get("model", 0.0) + time.perf_counter() - t0
        return out

    def ensure_ab(self, f, chunk_bytes, counter, timings) -> None:
        if self.yA is None:
            D = self.xa.shape[0]
            ya, yb = self.run(
                f, [np.empty(0, np.intp), np.arange(D, dtype=np.intp)], chunk_bytes, counter, timings
            )
            self.yA, self.yB = ya, yb


def _sobol_indices(
    yA: np.ndarray, yB: np.ndarray, yAB: np.ndarray, counts: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First-order and total indices with bootstrap half-widths.

    Point estimates are SALib's own estimators (``SALib.analyze.sobol.first_order`` /
    ``total_order``: Saltelli et al. 2010, normalised by the variance of ``[A; B]``), applied to
    the output standardised over the whole design exactly as ``SALib.analyze.sobol.analyze`` does.

    Bootstrap: ``SALib.analyze.sobol.analyze`` re-indexes ``A[r], B[r], AB[r, j]`` and recomputes
    both estimators in a Python loop over inputs (about 12 s for 80 inputs at N = 2**14 with 100
    resamples, growing with inputs x N x resamples). The estimators are means over samples, so a
    resample mean equals ``counts @ values / N`` with ``counts[k, i]`` the number of times sample
    ``i`` is drawn in resample ``k``. The resample indices are drawn once and all resamples of all
    factors are computed with a few matrix products. With the same indices this reproduces
    SALib's ``S1_conf`` / ``ST_conf`` to rounding (tested).
    """
    from SALib.analyze.sobol import first_order, total_order

    K, N = yAB.shape
    allY = np.concatenate([yA, yB, yAB.ravel()])
    mu, sd = allY.mean(), allY.std()
    if not sd > 0:
        zeros = np.zeros(K)
        return zeros, zeros.copy(), zeros.copy(), zeros.copy()
    A = (yA - mu) / sd
    B = (yB - mu) / sd
    AB = ((yAB - mu) / sd).T  # (N, K)
    S1 = np.array([first_order(A, AB[:, k], B) for k in range(K)])
    ST = np.array([total_order(A, AB[:, k], B) for k in range(K)])

    # Vectorised bootstrap of the same estimators.
    eps = np.finfo(float).eps
    m1 = counts @ (A + B) / (2 * N)  # (R,)
    m2 = counts @ (A * A + B * B) / (2 * N)
    var = m2 - m1 * m1
    ok = var > eps
    safe = np.where(ok, var, 1.0)[:, None]
    s1_bs = np.where(ok[:, None], (counts @ (B[:, None] * (AB - A[:, None])) / N) / safe, 0.0)
    st_bs = np.where(ok[:, None], (counts @ (0.5 * (A[:, None] - AB) ** 2) / N) / safe, 0.0)
    return S1, z * s1_bs.std(axis=0, ddof=1), ST, z * st_bs.std(axis=0, ddof=1)


def _block_sqrt(corr: np.ndarray, blocks: list[np.ndarray]) -> np.ndarray:
    """A matrix ``L`` with ``L @ L.T == corr``, block-diagonal over the correlated blocks
    (Cholesky where positive definite, symmetric eigen-root otherwise, e.g. for correlation 1)."""
    L = np.eye(corr.shape[0])
    for b in blocks:
        c = corr[np.ix_(b, b)]
        try:
            lb = np.linalg.cholesky(c)
        except np.linalg.LinAlgError:
            w, v = np.linalg.eigh(c)
            lb = v * np.sqrt(np.clip(w, 0.0, None))
        L[np.ix_(b, b)] = lb
    return L


def sobol(
    f: Model,
    spec: InputSpec,
    *,
    n_base: int = 2**14,
    seed: int = 0,
    groups: dict[str, list[str]] | str | None = None,
    correlated_groups: list[list[str]] | None = None,
    conf_level: float = 0.95,
    num_resamples: int = 100,
    chunk_bytes: int = 256 * 2**20,
) -> SobolResult:
    """First-order and total Sobol' indices with bootstrap confidence intervals.

    Design: SALib's Saltelli design for ``calc_second_order=False`` (a scrambled Sobol' sequence of
    dimension ``2 D`` split into base matrices A and B, plus one block ``AB_k`` per factor),
    ``N (K + 2)`` model evaluations for ``K`` factors. The design is built directly from
    ``scipy.stats.qmc.Sobol`` exactly as ``SALib.sample.sobol.sample(problem, n_base,
    calc_second_order=False, scramble=True, seed=seed)`` builds it (identical values, tested);
    SALib's own sampler fills the design in a Python triple loop (~30 s for 80 inputs at
    N = 2**14), which is avoided. Each ``ppf`` is called once on its 2 N base values (see
    :class:`_Design`). The model is called on blocks of at most ``chunk_bytes`` of ``theta``.

    Estimators are SALib's; the bootstrap is vectorised (see :func:`_sobol_indices`). The
    bootstrap indices are drawn with ``np.random.default_rng(seed).integers(N, size=(N, R))``,
    as ``SALib.analyze.sobol.analyze(..., seed=seed)`` does for a non-zero seed.

    Parameters
    ----------
    groups:
        Optional ``{group: [input names]}`` (or ``"kinds"`` / ``"deelopgave"`` to group by those
        labels). Inputs not listed form singleton groups. Grouped indices reuse the A and B
        evaluations of the per-input analysis and add ``N * n_groups`` evaluations.
    correlated_groups:
        Optional list of groups of mutually dependent inputs. The classic per-input indices assume
        independent inputs and are computed with independent sampling; when dependence is declared
        (here or through ``spec.corr``) a ``dependence_note`` is set and grouped indices with each
        correlated group as one factor are computed as well. If ``spec.corr`` is given, the
        members of each group are sampled jointly with that Gaussian copula, so those grouped
        indices are valid as long as there is no dependence between groups. Without
        ``spec.corr`` the groups are still sampled independently (the note says so). When
        ``spec.corr`` is given and ``correlated_groups`` is not, the groups are the connected
        blocks of ``spec.corr``.

    Caller-defined ``groups`` are also sampled jointly when ``spec.corr`` is given and every
    correlated block lies inside one group.
    """
    if not 0.0 < conf_level < 1.0:
        raise ValueError("conf_level must lie in (0, 1)")
    if num_resamples < 2:
        raise ValueError("num_resamples must be at least 2")
    n_base = int(n_base)
    D = spec.n_inputs
    timings: dict[str, float] = {}
    counter = [0]
    t_start = time.perf_counter()

    # --- dependence bookkeeping -------------------------------------------------------------
    blocks: list[np.ndarray] = []
    if spec.corr is not None:
        blocks = _corr_blocks(spec.corr)
    corr_names: list[str] | None = None
    corr_factors: list[np.ndarray] | None = None
    if correlated_groups is not None:
        cg = {f"corr{k + 1}:" + "+".join(g): list(g) for k, g in enumerate(correlated_groups) if len(g)}
        corr_names, corr_factors = _normalise_groups(spec, cg)
        if blocks and not _factors_contain_blocks(corr_factors, blocks):
            raise ValueError(
                "correlated_groups does not cover InputSpec.corr: some correlated pair of inputs "
                "lies in two different groups"
            )
    elif blocks:
        cg = {
            f"corr{k + 1}:" + "+".join(spec.names[i] for i in b): [spec.names[i] for i in b]
            for k, b in enumerate(blocks)
        }
        corr_names, corr_factors = _normalise_groups(spec, cg)
    dependent = corr_factors is not None and any(fac.size > 1 for fac in corr_factors)

    # --- designs ------------------------------------------------------------------------------
    t0 = time.perf_counter()
    u = qmc.Sobol(d=2 * D, scramble=True, seed=seed).random(n_base)  # same call as SALib
    timings["design"] = time.perf_counter() - t0
    designs: dict[bool, _Design] = {False: _Design(spec, u, None, timings)}

    def design(joint: bool) -> _Design:
        if joint not in designs:
            designs[joint] = _Design(spec, u, _block_sqrt(spec.corr, blocks), timings)
        return designs[joint]

    counts = np.bincount(
        (np.random.default_rng(seed).integers(n_base, size=(n_base, num_resamples))
         + np.arange(num_resamples) * n_base).T.ravel(),
        minlength=n_base * num_resamples,
    ).reshape(num_resamples, n_base).astype(np.float64)
    z = float(norm.ppf(0.5 + conf_level / 2))

    def analyse(factors: list[np.ndarray], joint: bool):
        d = design(joint)
        d.ensure_ab(f, chunk_bytes, counter, timings)
        yAB = d.run(f, factors, chunk_bytes, counter, timings)
        t1 = time.perf_counter()
        out = _sobol_indices(d.yA, d.yB, yAB, counts, z)
        timings["analysis"] = timings.get("analysis", 0.0) + time.perf_counter() - t1
        return out

    # --- per-input indices (independent sampling) ---------------------------------------------
    singletons = [np.array([i], dtype=np.intp) for i in range(D)]
    S1, S1c, ST, STc = analyse(singletons, False)
    rows = [
        {"input": name, "S1": float(S1[i]), "S1_conf": float(S1c[i]), "ST": float(ST[i]),
         "ST_conf": float(STc[i])}
        for i, name in enumerate(spec.names)
    ]
    d0 = designs[False]
    ycat = np.concatenate([d0.yA, d0.yB])

    def grouped(names, factors, joint) -> SobolGroups:
        g1, g1c, gt, gtc = analyse(factors, joint)
        grows = [
            {"group": g, "members": [spec.names[i] for i in fac], "S1": float(g1[k]),
             "S1_conf": float(g1c[k]), "ST": float(gt[k]), "ST_conf": float(gtc[k])}
            for k, (g, fac) in enumerate(zip(names, factors))
        ]
        return SobolGroups(rows=grows, joint_sampling=joint)

    group_res = None
    if groups is not None:
        g_names, g_factors = _normalise_groups(spec, groups)
        joint = bool(blocks) and _factors_contain_blocks(g_factors, blocks)
        group_res = grouped(g_names, g_factors, joint)

    corr_res, note = None, None
    if dependent:
        joint = bool(blocks)
        corr_res = grouped(corr_names, corr_factors, joint)
        listed = "; ".join(
            "{" + ", ".join(spec.names[i] for i in fac) + "}" for fac in corr_factors if fac.size > 1
        )
        note = (
            f"Correlated inputs declared: {listed}. The per-input S1/ST were computed with all "
            "inputs sampled independently (their marginal distributions only); they describe the "
            "model under independence and do not reflect the declared dependence. "
        )
        if joint:
            note += (
                "The grouped indices in `correlated_groups` treat each correlated group as one "
                "factor, its members sampled jointly with the Gaussian copula of InputSpec.corr; "
                "they are valid as long as there is no dependence between groups."
            )
        else:
            note += (
                "No copula (InputSpec.corr) was given, so the grouped indices in "
                "`correlated_groups` (each correlated group as one factor) were also computed with "
                "independent sampling; they are the joint effect of each group, valid under "
                "dependence between groups being absent, but the within-group dependence is not "
                "represented."
            )
        if group_res is not None:
            note += (
                " Caller groups were sampled "
                + ("jointly (every correlated group lies inside one of them)."
                   if group_res.joint_sampling else "independently.")
            )

    timings["total"] = time.perf_counter() - t_start
    return SobolResult(
        rows=rows,
        n_base=n_base,
        n_evaluations=counter[0],
        conf_level=float(conf_level),
        num_resamples=int(num_resamples),
        output_mean=float(ycat.mean()),
        output_std=float(ycat.std()),
        groups=group_res,
        correlated_groups=corr_res,
        dependence_note=note,
        timings=timings,
    )
