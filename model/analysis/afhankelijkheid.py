"""How much the dependence between deelopgaven matters: each column total of Table 1.2 under three assumptions.

A column total (PM lines excluded) is the sum of its deelopgaven. Its spread depends on how they move together,
which the data do not settle; the run samples the *declared* dependence (the copula of ``priors/correlaties.yaml``
and the inputs that several kernels share, e.g. ``exploitatiejaren_in_periode``). Beside it:

- ``onafhankelijk``: the deelopgaven independent of each other. Each deelopgave's draws are permuted on their own
  (a seeded permutation per deelopgave): every deelopgave keeps its distribution, every link between them is cut.
- ``comonotoon``: the deelopgaven fully dependent (comonotonic): the sum of the sorted draws, so that a quantile of
  the total is the sum of the deelopgaven's quantiles. The comonotonic sum is the largest in convex order (no
  dependence gives a larger variance or stop-loss), the usual upper bound of a sum with given parts.

The views use the run's kept draws (a streamed run has none: then they are not computed).
"""

from __future__ import annotations

import numpy as np

from model.deelopgaven.registry import column_parts

#: The three assumptions, in the order they are reported.
AANNAMES = ("onafhankelijk", "verklaard", "comonotoon")
#: Long names of the assumptions, for people.
AANNAME_NAMEN = {
    "onafhankelijk": "deelopgaven onafhankelijk",
    "verklaard": "verklaarde afhankelijkheid (de run)",
    "comonotoon": "volledig afhankelijk (comonotoon)",
}
#: The permutations' own random stream: SeedSequence([run seed, STREAM_KEY, k]) for the k-th column, apart from
#: the engine's streams.
STREAM_KEY = 16
_PROBS = (0.05, 0.5, 0.95)


def dependence_views(result, seed: int, variant: str | None = None, same_as=None) -> list[dict]:
    """Per column total and assumption (:data:`AANNAMES`): mean, P5, P50, P95 in euros, labelled with the policy
    ``variant`` of the run. ``result`` is a run that kept its draws (``RunResult``); the permutations are seeded by
    ``seed`` (the run's) and the column, so the views are reproducible and each variant gets the same permutations.
    ``same_as`` = ``(result, rows)`` of another variant of the run: a column whose deelopgaven have the same draws
    there (no choice moves it) takes that variant's views instead of computing them again: the same numbers."""
    rows = []
    for k, (kolom, names) in enumerate(column_parts().items()):
        if same_as is not None and all(np.array_equal(result.draws_of(n), same_as[0].draws_of(n)) for n in names):
            rows += [{**r, "variant": variant} for r in same_as[1] if r["kolom"] == kolom]
            continue
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), STREAM_KEY, k]))
        x = np.vstack([result.draws_of(n) for n in names])
        declared = result.draws_of(f"totaal_{kolom}")
        if not np.allclose(x.sum(axis=0), declared, rtol=1e-9, atol=0.0):
            raise ValueError(f"totaal_{kolom} is not the sum of {names}: the registry's columns changed")
        views = {
            "onafhankelijk": np.sum([rng.permutation(row) for row in x], axis=0),
            "verklaard": declared,
            "comonotoon": np.sort(x, axis=1).sum(axis=0),
        }
        for aanname in AANNAMES:
            v = views[aanname]
            p5, p50, p95 = np.quantile(v, _PROBS)
            rows.append({"variant": variant, "kolom": kolom, "aanname": aanname, "deelopgaven": len(names),
                         "mean": float(v.mean()), "p5": float(p5), "p50": float(p50), "p95": float(p95)})
    return rows
