"""What drives the spread of a column total, from the run's own draws: the deelopgaven's shares of its variance
and the sampled entries that move with it most.

Per column of Table 1.2 (PM lines left out, as in the report's totals) with total ``T = sum_i D_i``:

- the share of deelopgave ``i`` in the variance, ``cov(D_i, T) / var(T)``. The shares add up to 1; a share can be
  negative when a deelopgave moves against the others (a shared driver with opposite signs);
- per sampled entry its Spearman rank correlation with ``T`` over the run's first :data:`RANK_DRAWS` draws
  (standard error about 0.011: entries within a few hundredths of each other are not ranked reliably). A first look, not a variance decomposition: correlated entries share
  their correlation; ``cli.py sobol`` gives the Sobol' indices.

The report's "what drives the spread" sentences (``model.output.report``) are written from these numbers.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

#: Entries listed per column, strongest rank correlation first.
TOP_INPUTS = 5
#: Draws of the rank correlations (the first of the run): a correlation's standard error is about 1/sqrt(n), 0.011.
RANK_DRAWS = 1 << 13


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks along the last axis of a 2-D array (ties in any order: the inputs are continuous draws)."""
    ranks = np.empty(x.shape)
    np.put_along_axis(ranks, np.argsort(x, axis=-1), np.broadcast_to(np.arange(x.shape[-1], dtype=np.float64),
                                                                    x.shape), axis=-1)
    return ranks


def spreiding(result, parts: Mapping[str, Sequence[str]], top: int = TOP_INPUTS) -> dict[str, dict] | None:
    """Per column: ``{"deelopgaven": {naam: share}, "invoer": {entry: rho}}`` (the ``top`` entries by |rho|), or
    None when the run kept no draws."""
    if not result.has_draws:
        return None
    names = [n for n in (result.inputs or {}) if np.ptp(result.inputs[n]) > 0]
    n = min([result.draws, RANK_DRAWS] + [len(result.inputs[k]) for k in names])
    x = _ranks(np.vstack([result.inputs[k][:n] for k in names])) if names else None
    if x is not None:
        x -= x.mean(axis=1, keepdims=True)
        x /= np.sqrt((x * x).sum(axis=1, keepdims=True))
    out = {}
    for kolom, deelopgaven in parts.items():
        d = np.vstack([result.draws_of(name) for name in deelopgaven])
        t = d.sum(axis=0)
        tc = t - t.mean()
        var = float(tc @ tc)
        shares = {name: (float((d[i] - d[i].mean()) @ tc) / var if var > 0 else 0.0)
                  for i, name in enumerate(deelopgaven)}
        invoer = {}
        if x is not None and var > 0:
            rt = _ranks(t[None, :n])[0]
            rt -= rt.mean()
            rho = x @ (rt / np.sqrt(rt @ rt))
            for k in np.argsort(-np.abs(rho), kind="stable")[:top]:
                invoer[names[k]] = float(rho[k])
        out[kolom] = {"deelopgaven": dict(sorted(shares.items(), key=lambda kv: -kv[1])), "invoer": invoer}
    return out
