"""The regional results (``model.analysis.regionaal``): gemeenten that add up to the national draw, regions that
are not scaled copies of the national interval, and restructuring per dwelling that differs between regions by
more than the size key alone would give."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from model.analysis.regionaal import regionaal, regionaal_rows
from model.deelopgaven.registry import DEELOPGAVEN
from model.engine.plan import variant_plans
from model.engine.run import run
from model.engine.verdeling import REGIO_DRAWS, allocation, point_shares
from model.spec.data import REGIOS, load_gebieden
from model.spec.priors import load_priors
from model.spec.verdeling import load_verdeling, region_index

SEED = 20250101


@pytest.fixture(scope="module")
def setup():
    priors = load_priors()
    gebieden = load_gebieden()
    verdeling = load_verdeling(priors.directory, priors.bibliography)
    plans = variant_plans(priors, gebieden, ("laag", "hoog"), chunk_size=4096)
    results = {p.variant: run(plan=p, draws=REGIO_DRAWS, seed=SEED, threads=2) for p in plans}
    return gebieden, verdeling, results, regionaal(results, verdeling, threads=2)


def test_every_deelopgave_adds_up_over_the_gemeenten_draw_by_draw(setup):
    """The sum test: per deelopgave and draw, the gemeenten's amounts add up to the national draw (to rounding)."""
    _, verdeling, results, _ = setup
    alloc = allocation(results["laag"], verdeling)
    assert set(alloc.per_gemeente) == {d.naam for d in DEELOPGAVEN if d.kolom is not None}
    for d, per_gemeente in alloc.per_gemeente.items():
        national = results["laag"].draws_of(d)[:alloc.n]
        assert per_gemeente.shape == (len(results["laag"].plan.gebieden.gm_code), alloc.n)
        np.testing.assert_allclose(per_gemeente.sum(axis=0), national, rtol=1e-12, atol=0, err_msg=d)
        assert np.all(per_gemeente >= 0)


def test_regions_are_not_scaled_copies_of_the_national_interval(setup):
    """With a size key every region's share is the same in every draw (a scaled copy: rank correlation 1).
    Here the shares move draw by draw, and a low-WOZ region's share moves against a high-WOZ region's."""
    gebieden, verdeling, results, _ = setup
    alloc = allocation(results["laag"], verdeling)
    member = np.zeros((len(REGIOS), len(gebieden.gm_code)))
    member[region_index(gebieden), np.arange(len(gebieden.gm_code))] = 1.0
    regions = member @ alloc.per_gemeente["herstructurering_woningen"]
    shares = regions / regions.sum(axis=0)
    assert np.all(shares.std(axis=1) > 0.002)                 # every region's share is uncertain
    zl, twente = REGIOS.index("Zuid-Limburg"), REGIOS.index("Twente")
    assert np.corrcoef(shares[zl], shares[twente])[0, 1] < -0.2
    national = results["laag"].draws_of("herstructurering_woningen")[:alloc.n]
    for r in range(len(REGIOS)):
        rho = np.corrcoef(np.argsort(np.argsort(regions[r])), np.argsort(np.argsort(national)))[0, 1]
        assert rho < 0.999, REGIOS[r]


def test_restructuring_per_dwelling_differs_by_more_than_the_size_key(setup):
    """By dwellings alone every region gets the same amount per dwelling; the vulnerability proxies (low WOZ,
    corporation and multi-family shares) make it differ, in report mode and in the run's medians."""
    gebieden, verdeling, _, reg = setup
    won = gebieden.indicatoren["woningen"]
    idx = region_index(gebieden)
    key = verdeling.sleutels["herstructurering_woningen"]
    size_key = dataclasses.replace(key, indicatoren=())
    for k, expect_equal in ((size_key, True), (key, False)):
        per_dwelling = np.bincount(idx, point_shares(k, gebieden)[0]) / np.bincount(idx, won)
        spread = per_dwelling.max() / per_dwelling.min()
        assert (spread == pytest.approx(1.0, abs=1e-9)) if expect_equal else spread > 1.3
    r = reg["laag"]
    k = r.deelopgaven.index("herstructurering_woningen")
    p50 = r.regio_stats[k, :, 2] / r.per_regio(r.woningen)
    assert p50.max() / p50.min() > 1.3
    assert REGIOS[int(np.argmax(p50))] in ("Zuid-Limburg", "Noord- en Oost-Groningen")   # the lowest mean WOZ


def test_statistics_ranks_and_variants(setup):
    _, _, results, reg = setup
    laag, hoog = reg["laag"], reg["hoog"]
    assert laag.n == REGIO_DRAWS and laag.variant == "laag" and hoog.variant == "hoog"
    np.testing.assert_allclose(laag.kans_eerste.sum(axis=1), 1.0)
    np.testing.assert_allclose(laag.kans_eerste_per_inwoner.sum(axis=1), 1.0)
    s = laag.gemeente_stats
    assert np.all(s[..., 1] <= s[..., 2]) and np.all(s[..., 2] <= s[..., 3])        # P5 <= P50 <= P95
    # the regions' means add up to the national mean over the same draws
    for k, d in enumerate(laag.deelopgaven):
        assert laag.regio_stats[k, :, 0].sum() == pytest.approx(results["laag"].draws_of(d)[:laag.n].mean(),
                                                                rel=1e-10)
    # a deelopgave no choice moves: the same regional figures in both variants; one a choice moves: not
    moved = {"bereikbaarheid", "capaciteit", "beheer_onderhoud", "grondkosten", "personeel"}
    for k, d in enumerate(laag.deelopgaven):
        same = np.array_equal(laag.regio_stats[k], hoog.regio_stats[k])
        assert same == (d not in moved), d
    # gezonde toekomst: nothing in the five regions without a bad indicator (§4.2)
    g = laag.deelopgaven.index("gezonde_toekomst")
    for naam in ("Achterhoek", "Noard-Fryslân", "Zuidoost-Friesland", "Noord-Limburg", "Twente"):
        assert laag.regio_stats[g, REGIOS.index(naam), 3] == 0.0
    rows = regionaal_rows(laag)
    assert {r["niveau"] for r in rows} == {"regio", "gemeente"}
    # every deelopgave and the total without PM, per region and per gemeente, in three measures
    assert len(rows) == 3 * (len(laag.deelopgaven) + 1) * (len(REGIOS) + len(laag.gm_code))
    # a gemeente's total is the sum of its deelopgaven without PM: the means add up exactly
    means = {(r["code"], r["deelopgave"]): r["mean"] for r in rows if r["niveau"] == "gemeente"
             and r["maatstaf"] == "absoluut"}
    for code in laag.gm_code:
        parts = sum(means[(code, d)] for d, pm in zip(laag.deelopgaven, laag.pm) if not pm)
        assert means[(code, "totaal_zonder_pm")] == pytest.approx(parts, rel=1e-9), code
