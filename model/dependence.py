"""Declared correlation between prior parameters, imposed with a Gaussian copula.

Correlations are declared in ``priors/correlaties.yaml``; this module receives the already
loaded mapping::

    groepen:
      stichtingskosten:
        description: "All stichtingskosten per m2 move together"
        rho: 0.7
        leden: [stichtingskosten_basisschool, stichtingskosten_huisarts]
    paren:
      - [restopgave_toerekenbaar_per_woning, restopgave_niet_toerekenbaar_per_woning, 0.5]

Semantics
---------
* Every ``rho`` is a requested **Spearman rank correlation**. Rank correlation is invariant
  under monotone marginal transforms, so it is the natural quantity to declare for parameters
  with different (skewed, bounded) marginals.
* A group sets ``rho`` for every pair of its members.
* An entry in ``paren`` overrides the value a group gives to the same pair. A pair that gets
  two *different* values from two groups, or twice from ``paren``, is an error.
* The copula works on independent standard normal scores ``z``. For a bivariate normal the
  Spearman correlation is ``rho_s = (6/pi) arcsin(r/2)``, so the normal scores need Pearson
  correlation ``r = 2 sin(pi rho_s / 6)``.
* If the converted matrix is not positive definite (the declarations are jointly
  infeasible) it is replaced by the nearest correlation matrix (Higham 2002, alternating
  projections with Dykstra's correction) and a :class:`CorrelationRepairWarning` is emitted.
* Parameters only interact inside connected components ("blocks") of the graph of non-zero
  declarations; the Cholesky factor is computed and applied per block. Parameters not in any
  block are left untouched.

Degenerate (fixed) parameters should be left out of ``names`` by the caller.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from numba import njit
from scipy.stats import rankdata

try:  # PriorError is a ValueError subclass whose messages start with "<file>: <entry>:".
    from model.errors import PriorError as _DeclError
except ImportError:  # pragma: no cover - fallback when the errors module is absent
    _DeclError = ValueError

__all__ = [
    "CopulaPlan",
    "CorrelationRepairWarning",
    "build_copula",
    "correlate",
    "rank_correlation_report",
    "spearman_to_normal",
    "normal_to_spearman",
    "nearest_correlation",
]

_GROUP_KEYS = {"rho", "leden", "description"}
_TOP_KEYS = {"groepen", "paren"}
# Smallest eigenvalue accepted without repair, and the floor used by the repair. Keeps the
# per-block Cholesky factorisation well defined.
_EIG_FLOOR = 1e-8
# Draws processed per chunk in the kernel (keeps the rows of a block in cache).
_CHUNK = 2048


class CorrelationRepairWarning(UserWarning):
    """The declared correlations were infeasible and have been repaired."""


def spearman_to_normal(rho_s):
    """Pearson correlation of normal scores giving Spearman correlation ``rho_s``."""
    return 2.0 * np.sin(np.pi * np.asarray(rho_s, dtype=float) / 6.0)


def normal_to_spearman(r):
    """Spearman correlation of a bivariate normal with Pearson correlation ``r``."""
    return (6.0 / np.pi) * np.arcsin(np.asarray(r, dtype=float) / 2.0)


@dataclass(frozen=True)
class CopulaPlan:
    """Everything needed to correlate independent normal draws.

    Attributes
    ----------
    names:
        All parameter names, in engine order (row order of ``z``).
    requested:
        ``(n, n)`` requested Spearman correlation matrix (identity where nothing declared).
    normal_corr:
        ``(n, n)`` correlation matrix of the normal scores (positive definite, after repair).
    blocks:
        Index arrays (int64, ascending) of connected components with more than one member.
    chol:
        Lower Cholesky factor of ``normal_corr`` restricted to each block.
    repaired:
        Whether the converted matrix had to be repaired.
    """

    names: tuple[str, ...]
    requested: np.ndarray
    normal_corr: np.ndarray
    blocks: tuple[np.ndarray, ...]
    chol: tuple[np.ndarray, ...]
    repaired: bool

    @property
    def target(self) -> np.ndarray:
        """Spearman correlation matrix actually implied by ``normal_corr``.

        Equals ``requested`` unless the declarations had to be repaired.
        """
        t = normal_to_spearman(np.clip(self.normal_corr, -1.0, 1.0))
        np.fill_diagonal(t, 1.0)
        return t


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------


def _fail(where: str, entry: str, msg: str):
    raise _DeclError(f"{where}: {entry}: {msg}")


def _check_rho(value: Any, where: str, entry: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(where, entry, f"rho must be a number, got {value!r}")
    rho = float(value)
    if not (-1.0 < rho < 1.0):  # also rejects NaN
        _fail(where, entry, f"rho = {value!r} outside the open interval (-1, 1)")
    return rho


def _index(name: Any, index: Mapping[str, int], where: str, entry: str) -> int:
    if not isinstance(name, str) or name not in index:
        _fail(where, entry, f"unknown parameter {name!r}")
    return index[name]


def _collect(
    declared: Mapping[str, Any], index: Mapping[str, int], where: str
) -> dict[tuple[int, int], float]:
    """Return ``{(i, j): rho_s}`` with ``i < j`` from the declaration mapping."""
    if not isinstance(declared, Mapping):
        _fail(where, "<top level>", f"expected a mapping, got {type(declared).__name__}")
    extra = set(declared) - _TOP_KEYS
    if extra:
        _fail(where, "<top level>", f"unknown key(s) {sorted(map(str, extra))}; expected {sorted(_TOP_KEYS)}")

    # Groups: every pair of members gets the group's rho. Conflicts between groups are errors.
    from_groups: dict[tuple[int, int], tuple[float, str]] = {}
    groups = declared.get("groepen") or {}
    if not isinstance(groups, Mapping):
        _fail(where, "groepen", "expected a mapping of group name -> {rho, leden}")
    for gname, group in groups.items():
        entry = f"groepen.{gname}"
        if not isinstance(group, Mapping):
            _fail(where, entry, "expected a mapping with keys 'rho' and 'leden'")
        extra = set(group) - _GROUP_KEYS
        if extra:
            _fail(where, entry, f"unknown key(s) {sorted(map(str, extra))}; expected {sorted(_GROUP_KEYS)}")
        if "rho" not in group or "leden" not in group:
            _fail(where, entry, "needs both 'rho' and 'leden'")
        rho = _check_rho(group["rho"], where, entry)
        members = group["leden"]
        if isinstance(members, str) or not isinstance(members, Sequence) or len(members) < 2:
            _fail(where, entry, f"'leden' must be a list of at least two parameters, got {members!r}")
        idx = [_index(m, index, where, entry) for m in members]
        if len(set(idx)) != len(idx):
            dup = sorted({m for m in members if members.count(m) > 1})
            _fail(where, entry, f"parameter(s) {dup} listed twice (a parameter cannot be correlated with itself)")
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                key = (min(idx[a], idx[b]), max(idx[a], idx[b]))
                if key in from_groups and from_groups[key][0] != rho:
                    other = from_groups[key][1]
                    _fail(
                        where,
                        entry,
                        f"pair ({members[a]}, {members[b]}) gets rho = {rho} here but "
                        f"{from_groups[key][0]} in {other}; declare it in 'paren' to override",
                    )
                from_groups[key] = (rho, entry)

    # Pairs: override group values; a pair may not be declared twice with different values.
    from_pairs: dict[tuple[int, int], tuple[float, str]] = {}
    pairs = declared.get("paren") or []
    if isinstance(pairs, (str, Mapping)) or not isinstance(pairs, Sequence):
        _fail(where, "paren", "expected a list of [parameter_a, parameter_b, rho]")
    for k, pair in enumerate(pairs):
        entry = f"paren[{k}] {pair!r}"
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 3:
            _fail(where, entry, "expected [parameter_a, parameter_b, rho]")
        a, b, value = pair
        i = _index(a, index, where, entry)
        j = _index(b, index, where, entry)
        if i == j:
            _fail(where, entry, f"parameter {a!r} cannot be correlated with itself")
        rho = _check_rho(value, where, entry)
        key = (min(i, j), max(i, j))
        if key in from_pairs and from_pairs[key][0] != rho:
            _fail(where, entry, f"pair ({a}, {b}) already declared with rho = {from_pairs[key][0]} in {from_pairs[key][1]}")
        from_pairs[key] = (rho, entry)

    out = {key: v for key, (v, _) in from_groups.items()}
    out.update({key: v for key, (v, _) in from_pairs.items()})
    return out


# --------------------------------------------------------------------------------------
# Matrix work
# --------------------------------------------------------------------------------------


def _components(n: int, pairs: Iterable[tuple[int, int]]) -> list[np.ndarray]:
    """Connected components (size > 1) of the graph on ``n`` nodes with edges ``pairs``."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    comps: dict[int, list[int]] = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)
    return [np.asarray(c, dtype=np.int64) for c in sorted(comps.values()) if len(c) > 1]


def _clip_renormalise(a: np.ndarray, floor: float) -> np.ndarray:
    """Raise eigenvalues to ``floor`` and rescale to unit diagonal (result is positive definite)."""
    w, v = np.linalg.eigh(a)
    x = (v * np.maximum(w, floor)) @ v.T
    d = np.sqrt(np.diag(x))
    x = x / np.outer(d, d)
    x = 0.5 * (x + x.T)
    np.fill_diagonal(x, 1.0)
    return x


def nearest_correlation(
    a: np.ndarray, *, floor: float = _EIG_FLOOR, tol: float = 1e-12, max_iter: int = 10_000
) -> np.ndarray:
    """Nearest (Frobenius) correlation matrix to symmetric ``a``.

    Higham (2002), "Computing the nearest correlation matrix", IMA J. Numer. Anal. 22:
    alternating projections onto the positive semidefinite cone (here: eigenvalues >= ``floor``)
    and onto unit-diagonal matrices, with Dykstra's correction. A final eigenvalue clip and
    diagonal rescale guarantees a positive definite result with unit diagonal even if the
    iteration stops early.
    """
    y = np.array(a, dtype=float)
    ds = np.zeros_like(y)
    for _ in range(max_iter):
        r = y - ds
        w, v = np.linalg.eigh(r)
        x = (v * np.maximum(w, floor)) @ v.T
        x = 0.5 * (x + x.T)
        ds = x - r
        y_new = x.copy()
        np.fill_diagonal(y_new, 1.0)
        step = np.linalg.norm(y_new - y) / max(np.linalg.norm(y_new), 1.0)
        y = y_new
        if step < tol and np.linalg.norm(y - x) < tol * y.shape[0]:
            break
    return _clip_renormalise(y, floor)


def build_copula(
    names: Sequence[str], declared: Mapping[str, Any] | None, *, where: str = "priors/correlaties.yaml"
) -> CopulaPlan:
    """Build the copula plan for parameters ``names`` from the declaration mapping.

    ``declared`` is the loaded content of ``where`` (``None`` or empty: no correlation).
    Raises :class:`model.errors.PriorError` (a ``ValueError``) whose message starts with
    ``"<where>: <entry>:"`` for an unknown parameter, a ``rho`` outside (-1, 1), a pair declared
    twice with different values, or a parameter correlated with itself. Pairs in ``paren``
    override the value a group gives to the same pair. Emits :class:`CorrelationRepairWarning`
    when the declarations are jointly infeasible and had to be repaired.
    """
    names = tuple(str(n) for n in names)
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    if len(index) != n:
        dup = sorted({x for x in names if names.count(x) > 1})
        raise ValueError(f"duplicate parameter names passed to build_copula: {dup}")

    pairs = _collect(declared, index, where) if declared else {}

    requested = np.eye(n)
    for (i, j), rho in pairs.items():
        requested[i, j] = requested[j, i] = rho
    converted = spearman_to_normal(requested)
    np.fill_diagonal(converted, 1.0)
    normal_corr = converted.copy()

    blocks = _components(n, [key for key, rho in pairs.items() if rho != 0.0])
    chols: list[np.ndarray] = []
    repaired = False
    for blk in blocks:
        sub = converted[np.ix_(blk, blk)]
        if np.linalg.eigvalsh(sub)[0] < _EIG_FLOOR:
            sub = nearest_correlation(sub)
            normal_corr[np.ix_(blk, blk)] = sub
            repaired = True
        chols.append(np.ascontiguousarray(np.linalg.cholesky(sub)))

    if repaired:
        target = normal_to_spearman(normal_corr)
        diff = np.abs(target - requested)
        np.fill_diagonal(diff, 0.0)
        i, j = np.unravel_index(int(np.argmax(diff)), diff.shape)
        warnings.warn(
            f"{where}: declared correlations are not jointly feasible (normal-score matrix not "
            f"positive definite); repaired to the nearest correlation matrix (Higham 2002). "
            f"Largest change: ({names[i]}, {names[j]}) Spearman {requested[i, j]:+.3f} -> "
            f"{target[i, j]:+.3f} (|change| {diff[i, j]:.3f}).",
            CorrelationRepairWarning,
            stacklevel=2,
        )

    for arr in (requested, normal_corr, *blocks, *chols):
        arr.setflags(write=False)
    return CopulaPlan(
        names=names,
        requested=requested,
        normal_corr=normal_corr,
        blocks=tuple(blocks),
        chol=tuple(chols),
        repaired=repaired,
    )


# --------------------------------------------------------------------------------------
# Applying the copula
# --------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _correlate_block(z, idx, L):
    """In place ``z[idx, :] = L @ z[idx, :]`` for lower-triangular ``L``.

    Rows are updated from the last to the first, so row ``i`` only reads rows ``< i`` that are
    still unmodified; no temporaries are needed. Draws are processed in chunks so that the
    block's rows stay in cache. The summation order per element is fixed (diagonal term first,
    then ``l = 0 .. i-1``), so jitted and pure-Python execution give identical results.
    """
    k = idx.shape[0]
    m = z.shape[1]
    for j0 in range(0, m, _CHUNK):
        j1 = min(j0 + _CHUNK, m)
        for i in range(k - 1, -1, -1):
            ri = idx[i]
            d = L[i, i]
            for j in range(j0, j1):
                z[ri, j] = d * z[ri, j]
            for l in range(i):
                c = L[i, l]
                if c != 0.0:
                    rl = idx[l]
                    for j in range(j0, j1):
                        z[ri, j] = z[ri, j] + c * z[rl, j]


def correlate(z: np.ndarray, plan: CopulaPlan) -> None:
    """Correlate independent standard normals ``z`` (``(n_params, n_draws)``, C order) in place.

    Each block gets ``z[block] = L @ z[block]``; rows outside every block are untouched.
    """
    if not isinstance(z, np.ndarray) or z.ndim != 2 or z.dtype != np.float64 or not z.flags.c_contiguous:
        raise ValueError("correlate: z must be a C-contiguous float64 array of shape (n_params, n_draws)")
    if not z.flags.writeable:
        raise ValueError("correlate: z must be writeable (the transform is in place)")
    if z.shape[0] != len(plan.names):
        raise ValueError(f"correlate: z has {z.shape[0]} rows but the plan has {len(plan.names)} parameters")
    for idx, L in zip(plan.blocks, plan.chol):
        _correlate_block(z, idx, L)


# --------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------


def rank_correlation_report(samples: np.ndarray, plan: CopulaPlan) -> list[dict]:
    """Compare achieved with requested Spearman correlations for every declared pair.

    ``samples`` is ``(n_params, n_draws)`` of marginal values (any monotone transform of the
    correlated normal scores). Returns one dict per pair ``i < j`` with non-zero request::

        {"a", "b", "requested", "target", "achieved", "mc_se"}

    ``target`` is the Spearman correlation implied by the (possibly repaired) normal-score
    matrix; it equals ``requested`` unless the plan was repaired. ``mc_se`` is the Monte Carlo
    standard error of the sample Spearman correlation, from the Fisher-z approximation
    ``var(atanh r_s) ~ 1.06 / (n - 3)`` (Fieller, Hartley & Pearson 1957), i.e.
    ``(1 - target^2) * sqrt(1.06 / (n - 3))``.
    """
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[0] != len(plan.names):
        raise ValueError(
            f"rank_correlation_report: samples must have shape ({len(plan.names)}, n_draws), got {samples.shape}"
        )
    n_draws = samples.shape[1]
    req = plan.requested
    target = plan.target
    ii, jj = np.nonzero(np.triu(req != 0.0, k=1))
    ranks: dict[int, np.ndarray] = {}

    def centred_ranks(i: int) -> np.ndarray:
        if i not in ranks:
            r = rankdata(samples[i])  # average ranks for ties
            r = r - r.mean()
            ranks[i] = r / math.sqrt(float(r @ r)) if np.any(r) else r
        return ranks[i]

    report = []
    for i, j in zip(ii.tolist(), jj.tolist()):
        achieved = float(centred_ranks(i) @ centred_ranks(j))
        t = float(target[i, j])
        se = (1.0 - t * t) * math.sqrt(1.06 / max(n_draws - 3, 1))
        report.append(
            {
                "a": plan.names[i],
                "b": plan.names[j],
                "requested": float(req[i, j]),
                "target": t,
                "achieved": achieved,
                "mc_se": se,
            }
        )
    return report


def packed(plan: CopulaPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The blocks and Cholesky factors as flat arrays for the engine (``model.blocks.correlate_block``):
    ``(block_ptr, block_idx, chol_ptr, chol_flat)``."""
    block_ptr = np.zeros(len(plan.blocks) + 1, dtype=np.int64)
    chol_ptr = np.zeros(len(plan.blocks) + 1, dtype=np.int64)
    for b, idx in enumerate(plan.blocks):
        block_ptr[b + 1] = block_ptr[b] + idx.size
        chol_ptr[b + 1] = chol_ptr[b] + idx.size * idx.size
    block_idx = (np.concatenate(plan.blocks).astype(np.int64) if plan.blocks else np.zeros(0, dtype=np.int64))
    chol_flat = (np.concatenate([np.ascontiguousarray(c).ravel() for c in plan.chol])
                 if plan.chol else np.zeros(0))
    return block_ptr, block_idx, chol_ptr, chol_flat


