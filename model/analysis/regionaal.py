"""The regional results of a run: every deelopgave per region and per gemeente, absolute, per inhabitant and per
dwelling, with intervals, and the probability that each region ranks first.

The allocation (``model.engine.verdeling``) divides each deelopgave's draws over the gemeenten by its key
(``priors/verdeling/verdeelsleutels.yaml``); a region is the sum of its gemeenten, draw by draw. Inhabitants and
dwellings per gemeente are CBS KWB 2025 (1 Jan 2025). Statistics are over the allocation's draws (the run's first
``REGIO_DRAWS``); an interval of a gemeente is therefore not a scaled copy of the national one: it carries the
key's own uncertainty (the weights of its indicators, the spread they leave).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from model.deelopgaven.registry import DEELOPGAVEN, KOLOMMEN
from model.engine.run import RunResult
from model.errors import PriorError
from model.engine.verdeling import REGIO_DRAWS, allocation, first_draws, parts
from model.spec.data import REGIOS, sum_per_regio
from model.spec.verdeling import Verdeling, region_index

#: The statistics of every regional figure (over the allocation's draws).
STATS = ("mean", "p5", "p50", "p95")
_Q = (0.05, 0.5, 0.95)
#: The per-unit measures: name -> the column of KWB 2025 it divides by (None: absolute, euros).
MAATSTAVEN = {"absoluut": None, "per_inwoner": "inwoners", "per_woning": "woningen"}


@dataclass(frozen=True)
class Regionaal:
    """The regional results of one variant of a run (euros; statistics in the order of :data:`STATS`)."""

    variant: str | None
    n: int                                  # draws the statistics are over
    deelopgaven: tuple[str, ...]            # every deelopgave with a Table 1.2 column (PM lines too)
    pm: tuple[bool, ...]
    gm_code: tuple[str, ...]
    gemeente: tuple[str, ...]
    regio_van: tuple[str, ...]              # each gemeente's region
    inwoners: np.ndarray                    # per gemeente (KWB 2025)
    woningen: np.ndarray
    gemeente_stats: np.ndarray              # (deelopgave, gemeente, stat)
    regio_stats: np.ndarray                 # (deelopgave, regio, stat)
    kans_eerste: np.ndarray                 # (deelopgave, regio): P(the region's amount is the largest)
    kans_eerste_per_inwoner: np.ndarray     # (deelopgave, regio): the same per inhabitant
    kolom_stats: np.ndarray                 # (kolom: totaal + the three columns, regio, stat), without PM
    gemeente_totaal_stats: np.ndarray       # (gemeente, stat): the total without PM per gemeente

    @property
    def kolommen(self) -> tuple[str, ...]:
        return ("totaal", *KOLOMMEN)

    def per_regio(self, values: np.ndarray) -> np.ndarray:
        return sum_per_regio(self.regio_van, values)

    def divisor(self, maatstaf: str, niveau: str) -> np.ndarray:
        """What a measure divides by, per gemeente or per region (ones for ``absoluut``)."""
        col = MAATSTAVEN[maatstaf]
        if col is None:
            return np.ones(len(self.gm_code) if niveau == "gemeente" else len(REGIOS))
        values = getattr(self, col)
        return values if niveau == "gemeente" else self.per_regio(values)


def _stats(a: np.ndarray) -> np.ndarray:
    """(rows, 4): mean, P5, P50, P95 of each row of ``a`` (rows, n); the quantiles as numpy's default ('linear':
    between order statistics ``floor(h)`` and ``floor(h) + 1``, h = (n - 1)·q), from one sort (a sort of rows of
    this size is faster than numpy's partition at six positions)."""
    x = np.sort(a, axis=1)
    h = (a.shape[1] - 1) * np.asarray(_Q)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, a.shape[1] - 1)
    q = x[:, lo] + (h - lo) * (x[:, hi] - x[:, lo])
    return np.column_stack([a.mean(axis=1), q])


def _first(a: np.ndarray) -> np.ndarray:
    """Per row of ``a`` (regions, n): the share of draws in which it is the largest."""
    return np.bincount(np.argmax(a, axis=0), minlength=a.shape[0]) / a.shape[1]


def regionaal(results: Mapping[str | None, RunResult], verdeling: Verdeling, threads: int = 1
              ) -> dict[str | None, Regionaal]:
    """The regional results of every variant of a run (``results``: variant -> its result, the main one first,
    on the same seed). A deelopgave whose draws no choice moves is allocated once and shared by the variants (the
    allocation's random numbers are the same for all of them). The keys and the sorts run on ``threads`` threads
    (both release the GIL); the numbers do not depend on it. A figure that is not finite is an error, never a
    result."""
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        out = _regionaal(results, verdeling, pool, max(1, threads))
    for reg in out.values():
        for name in ("gemeente_stats", "regio_stats", "kolom_stats", "gemeente_totaal_stats"):
            bad = np.argwhere(~np.isfinite(getattr(reg, name)))
            if bad.size:
                where = {"kolom_stats": reg.kolommen, "gemeente_totaal_stats": reg.gm_code}.get(
                    name, reg.deelopgaven)[bad[0][0]]
                raise PriorError(f"{verdeling.path}: the allocation gives a figure that is not finite ({name}, "
                                 f"{where}, variant {reg.variant})")
    return out


def _regionaal(results, verdeling: Verdeling, pool, threads: int) -> dict[str | None, Regionaal]:
    names = [d.naam for d in DEELOPGAVEN if d.kolom is not None]
    kolom_of = {d.naam: d.kolom for d in DEELOPGAVEN}
    pm = tuple(d.pm for d in DEELOPGAVEN if d.kolom is not None)
    first = next(iter(results.values()))
    gebieden = first.plan.gebieden
    reg = region_index(gebieden)
    member = np.zeros((len(REGIOS), len(gebieden.gm_code)))
    member[reg, np.arange(len(reg))] = 1.0
    inw_g, won_g = gebieden.indicatoren["inwoners"], gebieden.indicatoren["woningen"]
    inw_r = member @ inw_g
    out: dict[str | None, Regionaal] = {}
    done: list[tuple[dict[str, np.ndarray], dict]] = []     # (parts' draws, per-deelopgave figures) of each variant
    n = min(first.draws, REGIO_DRAWS)
    part_names = {d: parts(verdeling.sleutels[d]) for d in names}
    for variant, result in results.items():
        draws = first_draws(result, [p for d in names for p in part_names[d]], n)
        figures = {}
        for d in names:
            figures[d] = next((f[d] for seen, f in done
                               if all(np.array_equal(seen[p], draws[p]) for p in part_names[d])), None)
        todo = [d for d in names if figures[d] is None]
        alloc = allocation(result, verdeling, n, todo, draws, threads=threads)
        for d in todo:
            g = alloc.per_gemeente[d]
            r = member @ g
            figures[d] = (pool.submit(_stats, g), pool.submit(_stats, r), _first(r), _first(r / inw_r[:, None]), r, g)
        done.append((draws, figures))
        totals = []
        for kolom in (None, *KOLOMMEN):
            sel = [d for d, is_pm in zip(names, pm) if not is_pm and (kolom is None or kolom_of[d] == kolom)]
            totals.append(pool.submit(_stats, sum(figures[d][4] for d in sel)))
        gemeente_totaal = pool.submit(_stats, sum(figures[d][5] for d, is_pm in zip(names, pm) if not is_pm))
        totals = [t.result() for t in totals]
        out[variant] = Regionaal(
            variant=result.plan.variant, n=n, deelopgaven=tuple(names), pm=pm, gm_code=gebieden.gm_code,
            gemeente=gebieden.gemeente, regio_van=gebieden.regio, inwoners=inw_g, woningen=won_g,
            gemeente_stats=np.stack([figures[d][0].result() for d in names]),
            regio_stats=np.stack([figures[d][1].result() for d in names]),
            kans_eerste=np.stack([figures[d][2] for d in names]),
            kans_eerste_per_inwoner=np.stack([figures[d][3] for d in names]),
            kolom_stats=np.stack(totals), gemeente_totaal_stats=gemeente_totaal.result())
    return out


def regionaal_json(reg: Regionaal) -> dict:
    """The member ``regionaal`` of ``cli.py run --json``: per region and per gemeente its inhabitants and dwellings
    (KWB 2025) and, per deelopgave, ``{mean, p5, p50, p95}`` in euros, with the same per inhabitant and per dwelling
    and, per region, the probability that it ranks first (absolute and per inhabitant)."""
    def figures(stats: np.ndarray, inw: float, won: float) -> dict:
        base = dict(zip(STATS, map(float, stats)))
        return {**base, "per_inwoner": {k: v / inw for k, v in base.items()},
                "per_woning": {k: v / won for k, v in base.items()}}

    inw_r, won_r = reg.per_regio(reg.inwoners), reg.per_regio(reg.woningen)
    regio = {}
    for i, naam in enumerate(REGIOS):
        entry = {"inwoners": int(inw_r[i]), "woningen": int(won_r[i])}
        for k, d in enumerate(reg.deelopgaven):
            entry[d] = {**figures(reg.regio_stats[k, i], inw_r[i], won_r[i]),
                        "kans_eerste": float(reg.kans_eerste[k, i]),
                        "kans_eerste_per_inwoner": float(reg.kans_eerste_per_inwoner[k, i])}
        entry["totaal_zonder_pm"] = figures(reg.kolom_stats[0, i], inw_r[i], won_r[i])
        regio[naam] = entry
    gemeente = {}
    for j, code in enumerate(reg.gm_code):
        entry = {"naam": reg.gemeente[j], "regio": reg.regio_van[j], "inwoners": int(reg.inwoners[j]),
                 "woningen": int(reg.woningen[j])}
        for k, d in enumerate(reg.deelopgaven):
            entry[d] = figures(reg.gemeente_stats[k, j], reg.inwoners[j], reg.woningen[j])
        entry["totaal_zonder_pm"] = figures(reg.gemeente_totaal_stats[j], reg.inwoners[j], reg.woningen[j])
        gemeente[code] = entry
    return {"variant": reg.variant, "eenheid": "EUR", "trekkingen": reg.n,
            "bron_inwoners_woningen": "CBS KWB 2025 (1 jan 2025)", "regio": regio, "gemeente": gemeente}


def regionaal_rows(reg: Regionaal) -> list[dict]:
    """``regionaal.csv``: one row per region or gemeente, deelopgave (and the total without PM) and measure."""
    rows = []
    for niveau, codes, stats_of in (("regio", REGIOS, lambda k: reg.regio_stats[k]),
                                    ("gemeente", reg.gm_code, lambda k: reg.gemeente_stats[k])):
        names = REGIOS if niveau == "regio" else reg.gemeente
        regio_of = REGIOS if niveau == "regio" else reg.regio_van
        items = [*enumerate(reg.deelopgaven), (-1, "totaal_zonder_pm")]
        total = reg.kolom_stats[0] if niveau == "regio" else reg.gemeente_totaal_stats
        for maatstaf in MAATSTAVEN:
            div = reg.divisor(maatstaf, niveau)
            for k, d in items:
                stats = total if k < 0 else stats_of(k)
                for i, code in enumerate(codes):
                    row = {"variant": reg.variant, "niveau": niveau, "code": code, "naam": names[i],
                           "regio": regio_of[i], "deelopgave": d, "maatstaf": maatstaf,
                           **{s: float(stats[i, j] / div[i]) for j, s in enumerate(STATS)}}
                    if niveau == "regio" and k >= 0 and maatstaf != "per_woning":
                        first = reg.kans_eerste if maatstaf == "absoluut" else reg.kans_eerste_per_inwoner
                        row["kans_eerste"] = float(first[k, i])
                    rows.append(row)
    return rows


REGIONAAL_FIELDS = ("variant", "niveau", "code", "naam", "regio", "deelopgave", "maatstaf", *STATS, "kans_eerste")
