"""Declared correlation between prior entries: read ``priors/correlaties.yaml``, build the Gaussian copula.

The file declares groups and pairs::

    groepen:
      stichtingskosten:
        description: "All stichtingskosten per m2 move together"
        rho: 0.7
        leden: [stichtingskosten_basisschool, stichtingskosten_huisarts]
    paren:
      - [restopgave_toerekenbaar_per_woning, restopgave_niet_toerekenbaar_per_woning, 0.5]

Semantics
---------
* Every ``rho`` is a requested **Spearman rank correlation**. Rank correlation is invariant under monotone
  marginal transforms, so it is the natural quantity to declare for parameters with different (skewed, bounded)
  marginals.
* A group sets ``rho`` for every pair of its members (at least two). Groups may nest: a group whose members all
  belong to a larger group refines it, and its value wins for its own pairs (a common factor of several
  deelopgaven at a low ``rho``, and inside it the entries of one source at a higher one). An entry in ``paren``
  overrides the value a group gives to the same pair. A pair that gets two *different* values from two groups
  neither of which contains the other, or twice from ``paren``, is an error.
* Every name must be an entry of the prior set. The whole file is checked when the priors are loaded
  (:func:`read_declarations`), before anything is dropped: a run that fixes an entry (a scenario, a posterior)
  then leaves out that entry's correlations (:meth:`Declarations.restrict`), never a misspelt one.
* The copula works on independent standard normal scores ``z``. For a bivariate normal the Spearman correlation
  is ``rho_s = (6/pi) arcsin(r/2)``, so the normal scores need Pearson correlation ``r = 2 sin(pi rho_s / 6)``.
* If the converted matrix is not positive definite (the declarations are jointly infeasible) it is replaced by
  the nearest correlation matrix (Higham 2002, alternating projections with Dykstra's correction) and a
  :class:`CorrelationRepairWarning` is emitted.
* Parameters only interact inside connected components ("blocks") of the graph of non-zero declarations; the
  Cholesky factor is computed per block. The engine applies it (``model.engine.blocks.correlate_block``); the
  calibration applies the same factors in PyTensor.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from model.errors import PriorError
from model.spec.distributions import short

__all__ = [
    "CopulaPlan",
    "CorrelationRepairWarning",
    "Declarations",
    "read_declarations",
    "parse_declarations",
    "build_copula",
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


class CorrelationRepairWarning(UserWarning):
    """The declared correlations were infeasible and have been repaired."""


def spearman_to_normal(rho_s):
    """Pearson correlation of normal scores giving Spearman correlation ``rho_s``."""
    return 2.0 * np.sin(np.pi * np.asarray(rho_s, dtype=float) / 6.0)


def normal_to_spearman(r):
    """Spearman correlation of a bivariate normal with Pearson correlation ``r``."""
    return (6.0 / np.pi) * np.arcsin(np.asarray(r, dtype=float) / 2.0)


# --------------------------------------------------------------------------------------------------------
# Reading and checking the declarations
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declarations:
    """The checked declarations: ``pairs`` maps ``(a, b)`` (a < b) to the requested Spearman rho, ``origin`` to the
    declaration it comes from (``groepen.<name>`` or ``paren[k]``); ``groups`` maps a group's name to its members."""

    where: str
    pairs: Mapping[tuple[str, str], float]
    origin: Mapping[tuple[str, str], str]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)

    def restrict(self, names: Iterable[str]) -> "Declarations":
        """Only the pairs between ``names`` (the sampled entries of a run) and the groups' members among them."""
        keep = set(names)
        pairs = {k: v for k, v in self.pairs.items() if k[0] in keep and k[1] in keep}
        return Declarations(self.where, pairs, {k: self.origin[k] for k in pairs},
                            {g: tuple(m for m in ms if m in keep) for g, ms in self.groups.items()},
                            dict(self.descriptions))


def _fail(where: str, entry: str, msg: str):
    raise PriorError(f"{where}: {entry}: {msg}")


def _check_rho(value: Any, where: str, entry: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(where, entry, f"rho must be a number, got {short(value)}")
    rho = float(value)
    if not (-1.0 < rho < 1.0):  # also rejects NaN
        _fail(where, entry, f"rho = {short(value)} outside the open interval (-1, 1)")
    return rho


def _check_name(name: Any, known: set[str], where: str, entry: str) -> str:
    if not isinstance(name, str) or name not in known:
        _fail(where, entry, f"unknown prior entry {short(name)}")
    return name


def parse_declarations(declared: Any, known: Iterable[str], where: str = "correlaties.yaml") -> Declarations:
    """Check a declaration mapping (the content of ``correlaties.yaml``) against the entry names ``known``.

    Raises :class:`~model.errors.PriorError` (``"<where>: <entry>: ..."``) for anything that is not a mapping with
    ``groepen`` and/or ``paren``, an unknown entry, a group with fewer than two members or a member listed twice, a
    ``rho`` outside (-1, 1), a pair of an entry with itself, or one pair given two different values."""
    known = set(known)
    if declared is None:
        _fail(where, "(file)", "is empty; declare 'groepen' and/or 'paren', or remove the file")
    if not isinstance(declared, Mapping):
        _fail(where, "(file)", f"expected a mapping with {sorted(_TOP_KEYS)}, got {type(declared).__name__}")
    extra = set(declared) - _TOP_KEYS
    if extra:
        _fail(where, "(file)", f"unknown key(s) {sorted(map(str, extra))}; expected {sorted(_TOP_KEYS)}")
    if not declared:
        _fail(where, "(file)", f"declares nothing; expected {sorted(_TOP_KEYS)}")

    from_groups: dict[tuple[str, str], tuple[float, str]] = {}
    members_of: dict[str, frozenset[str]] = {}
    groups: dict[str, tuple[str, ...]] = {}
    descriptions: dict[str, str] = {}
    raw_groups = declared.get("groepen")
    if raw_groups is not None and not isinstance(raw_groups, Mapping):
        _fail(where, "groepen", "expected a mapping of group name -> {rho, leden, description}")
    for gname, group in (raw_groups or {}).items():
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
        if isinstance(members, (str, Mapping)) or not isinstance(members, Sequence) or len(members) < 2:
            _fail(where, entry, f"'leden' must be a list of at least two prior entries, got {short(members)}")
        names = [_check_name(m, known, where, f"{entry}.leden[{k}]") for k, m in enumerate(members)]
        dup = sorted({m for m in names if names.count(m) > 1})
        if dup:
            _fail(where, entry, f"entry/entries {dup} listed twice (an entry cannot be correlated with itself)")
        mine = members_of[entry] = frozenset(names)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                key = tuple(sorted((names[i], names[j])))
                if key in from_groups and from_groups[key][0] != rho:
                    other = members_of[from_groups[key][1]]
                    if other < mine:            # the earlier group is inside this one: it refines it, keeps its value
                        continue
                    if not mine < other:
                        _fail(where, entry, f"pair ({names[i]}, {names[j]}) gets rho = {rho} here but "
                                            f"{from_groups[key][0]} in {from_groups[key][1]}, and neither group "
                                            "contains the other; declare it in 'paren' to override")
                from_groups[key] = (rho, entry)
        groups[str(gname)] = tuple(names)
        if "description" in group:
            if not isinstance(group["description"], str):
                _fail(where, f"{entry}.description", "must be a text")
            descriptions[str(gname)] = group["description"]

    from_pairs: dict[tuple[str, str], tuple[float, str]] = {}
    pairs = declared.get("paren")
    if pairs is not None and (isinstance(pairs, (str, Mapping)) or not isinstance(pairs, Sequence)):
        _fail(where, "paren", "expected a list of [entry_a, entry_b, rho]")
    for k, pair in enumerate(pairs or []):
        entry = f"paren[{k}]"
        if isinstance(pair, (str, Mapping)) or not isinstance(pair, Sequence) or len(pair) != 3:
            _fail(where, entry, f"expected [entry_a, entry_b, rho], got {short(pair)}")
        a = _check_name(pair[0], known, where, entry)
        b = _check_name(pair[1], known, where, entry)
        if a == b:
            _fail(where, entry, f"entry {short(a)} cannot be correlated with itself")
        rho = _check_rho(pair[2], where, entry)
        key = tuple(sorted((a, b)))
        if key in from_pairs and from_pairs[key][0] != rho:
            _fail(where, entry, f"pair ({a}, {b}) gets rho = {rho} here but was already declared with rho = "
                                f"{from_pairs[key][0]} in {from_pairs[key][1]}")
        from_pairs[key] = (rho, entry)

    merged = {**from_groups, **from_pairs}
    return Declarations(where, {k: v for k, (v, _) in merged.items()}, {k: o for k, (_, o) in merged.items()},
                        groups, descriptions)


def read_declarations(path: Path, known: Iterable[str]) -> Declarations:
    """Read and check ``correlaties.yaml`` against the entry names ``known`` (:func:`parse_declarations`)."""
    from model.spec.files import read_yaml

    return parse_declarations(read_yaml(Path(path)), known, where=Path(path).name)


# --------------------------------------------------------------------------------------------------------
# Matrix work
# --------------------------------------------------------------------------------------------------------


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

    Higham (2002), "Computing the nearest correlation matrix", IMA J. Numer. Anal. 22: alternating projections
    onto the positive semidefinite cone (here: eigenvalues >= ``floor``) and onto unit-diagonal matrices, with
    Dykstra's correction. A final eigenvalue clip and diagonal rescale guarantees a positive definite result with
    unit diagonal even if the iteration stops early.
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


@dataclass(frozen=True)
class CopulaPlan:
    """Everything needed to correlate independent normal draws.

    ``names``: the parameters in engine order (row order of ``z``); ``requested``: (n, n) requested Spearman
    matrix (identity where nothing is declared); ``normal_corr``: (n, n) correlation of the normal scores (positive
    definite, after repair); ``blocks``: index arrays (int64, ascending) of the connected components with more than
    one member; ``chol``: the lower Cholesky factor of ``normal_corr`` restricted to each block; ``repaired``:
    whether the converted matrix had to be repaired."""

    names: tuple[str, ...]
    requested: np.ndarray
    normal_corr: np.ndarray
    blocks: tuple[np.ndarray, ...]
    chol: tuple[np.ndarray, ...]
    repaired: bool

    @property
    def target(self) -> np.ndarray:
        """Spearman correlation matrix actually implied by ``normal_corr`` (= ``requested`` unless repaired)."""
        t = normal_to_spearman(np.clip(self.normal_corr, -1.0, 1.0))
        np.fill_diagonal(t, 1.0)
        return t

    def cholesky(self) -> np.ndarray:
        """The (n, n) lower Cholesky factor of ``normal_corr``: block factors on their rows, 1 elsewhere."""
        out = np.eye(len(self.names))
        for idx, factor in zip(self.blocks, self.chol):
            out[np.ix_(idx, idx)] = factor
        return out


def build_copula(names: Sequence[str], declared: Declarations | Mapping | None, *,
                 where: str = "correlaties.yaml") -> CopulaPlan:
    """The copula of the parameters ``names`` from checked declarations (a raw mapping is checked first, against
    ``names``). Pairs with an entry outside ``names`` are left out (:meth:`Declarations.restrict`). Emits
    :class:`CorrelationRepairWarning` when the declarations are jointly infeasible and had to be repaired."""
    names = tuple(str(n) for n in names)
    n = len(names)
    index = {name: i for i, name in enumerate(names)}
    if len(index) != n:
        dup = sorted({x for x in names if names.count(x) > 1})
        raise ValueError(f"duplicate parameter names passed to build_copula: {dup}")
    if declared is not None and not isinstance(declared, Declarations):
        declared = parse_declarations(declared, names, where)
    pairs = declared.restrict(names).pairs if declared is not None else {}

    requested = np.eye(n)
    for (a, b), rho in pairs.items():
        requested[index[a], index[b]] = requested[index[b], index[a]] = rho
    converted = spearman_to_normal(requested)
    np.fill_diagonal(converted, 1.0)
    normal_corr = converted.copy()

    blocks = _components(n, [(index[a], index[b]) for (a, b), rho in pairs.items() if rho != 0.0])
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
            f"{declared.where if declared is not None else where}: declared correlations are not jointly feasible "
            f"(normal-score matrix not positive definite); repaired to the nearest correlation matrix (Higham 2002). "
            f"Largest change: ({names[i]}, {names[j]}) Spearman {requested[i, j]:+.3f} -> "
            f"{target[i, j]:+.3f} (|change| {diff[i, j]:.3f}).",
            CorrelationRepairWarning,
            stacklevel=2,
        )

    for arr in (requested, normal_corr, *blocks, *chols):
        arr.setflags(write=False)
    return CopulaPlan(names=names, requested=requested, normal_corr=normal_corr, blocks=tuple(blocks),
                      chol=tuple(chols), repaired=repaired)


# --------------------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------------------


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x``, ties given their average rank (so the sort need not be stable: numpy's default sort,
    three times faster than its stable one on the draws of a run)."""
    order = np.argsort(x)
    xs = x[order]
    ranks = np.empty(x.size)
    ranks[order] = np.arange(1, x.size + 1, dtype=float)
    ties = np.flatnonzero(xs[1:] == xs[:-1])
    if ties.size:   # rare for continuous draws: average the ranks of each run of equal values
        starts = np.flatnonzero(np.diff(np.concatenate([[False], xs[1:] == xs[:-1], [False]]).astype(np.int8)) == 1)
        ends = np.flatnonzero(np.diff(np.concatenate([[False], xs[1:] == xs[:-1], [False]]).astype(np.int8)) == -1)
        for a, b in zip(starts, ends):
            ranks[order[a:b + 1]] = (a + b + 2) / 2.0
    return ranks


def rank_correlation_report(samples: np.ndarray, plan: CopulaPlan) -> list[dict]:
    """Compare achieved with requested Spearman correlations for every declared pair.

    ``samples`` is ``(n_params, n_draws)`` of marginal values (any monotone transform of the correlated normal
    scores). Returns one dict per pair ``i < j`` with non-zero request: ``{"a", "b", "requested", "target",
    "achieved", "mc_se"}``. ``target`` is the Spearman correlation implied by the (possibly repaired) normal-score
    matrix; ``mc_se`` is the Monte Carlo standard error of the sample Spearman correlation from the Fisher-z
    approximation ``var(atanh r_s) ~ 1.06 / (n - 3)`` (Fieller, Hartley & Pearson 1957), i.e.
    ``(1 - target^2) * sqrt(1.06 / (n - 3))``.
    """
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[0] != len(plan.names):
        raise ValueError(
            f"rank_correlation_report: samples must have shape ({len(plan.names)}, n_draws), got {samples.shape}")
    n_draws = samples.shape[1]
    req = plan.requested
    target = plan.target
    ii, jj = np.nonzero(np.triu(req != 0.0, k=1))
    ranks: dict[int, np.ndarray] = {}

    def centred_ranks(i: int) -> np.ndarray:
        if i not in ranks:
            r = _ranks(samples[i])
            r = r - r.mean()
            ranks[i] = r / math.sqrt(float(r @ r)) if np.any(r) else r
        return ranks[i]

    report = []
    for i, j in zip(ii.tolist(), jj.tolist()):
        t = float(target[i, j])
        report.append({"a": plan.names[i], "b": plan.names[j], "requested": float(req[i, j]), "target": t,
                       "achieved": float(centred_ranks(i) @ centred_ranks(j)),
                       "mc_se": (1.0 - t * t) * math.sqrt(1.06 / max(n_draws - 3, 1))})
    return report
