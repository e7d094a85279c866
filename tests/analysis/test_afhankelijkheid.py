"""Each column total under three assumptions about the dependence between its deelopgaven
(``model.analysis.afhankelijkheid``): properties that hold for any seed, exactly or to rounding."""

from __future__ import annotations

import numpy as np
import pytest

from model.analysis.afhankelijkheid import AANNAMES, dependence_views
from model.deelopgaven.registry import DEELOPGAVEN, column_parts
from model.engine import run as engine
from model.engine.plan import make_plan


@pytest.fixture(scope="module")
def result():
    return engine.run(plan=make_plan(chunk_size=4096), draws=20_000, seed=11, keep=True)


def test_the_columns_are_the_registrys_deelopgaven_without_pm():
    parts = column_parts()
    assert set(parts) == {"publieke_restopgave", "exploitatielasten", "investeringsopgave"}
    for kolom, names in parts.items():
        assert names == [d.naam for d in DEELOPGAVEN if d.kolom == kolom and not d.pm]
    assert "capaciteit" in parts["investeringsopgave"] and "grondkosten" not in parts["investeringsopgave"]


@pytest.mark.parametrize("seed", [1, 2, 987654321])
def test_the_views_keep_the_parts_and_order_the_spread(result, seed):
    views = {(r["kolom"], r["aanname"]): r for r in dependence_views(result, seed)}
    assert {a for _, a in views} == set(AANNAMES)
    for kolom, names in column_parts().items():
        x = np.vstack([result.draws_of(n) for n in names])
        declared = result.draws_of(f"totaal_{kolom}")
        # every view keeps each deelopgave's draws, so the mean of the total is the same under all three
        for a in AANNAMES:
            assert views[kolom, a]["mean"] == pytest.approx(declared.mean(), rel=1e-12)
        # the declared view is the run; the comonotonic quantiles are the sums of the deelopgaven's quantiles
        assert views[kolom, "verklaard"]["p95"] == pytest.approx(np.quantile(declared, 0.95), rel=1e-12)
        for k, p in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95)):
            assert views[kolom, "comonotoon"][k] == pytest.approx(np.quantile(x, p, axis=1).sum(), rel=1e-12)
        # rearrangement inequality: no coupling of these draws gives a larger spread than the sorted one
        como = np.sort(x, axis=1).sum(axis=0)
        assert como.var() >= declared.var() * (1 - 1e-12)
        if len(names) == 1:                     # one deelopgave: nothing to depend on
            assert views[kolom, "onafhankelijk"]["p5"] == views[kolom, "comonotoon"]["p5"]


def test_the_independent_view_is_reproducible_from_the_seed(result):
    assert dependence_views(result, 5) == dependence_views(result, 5)
    a = {(r["kolom"], r["aanname"]): r["p95"] for r in dependence_views(result, 5)}
    b = {(r["kolom"], r["aanname"]): r["p95"] for r in dependence_views(result, 6)}
    assert a[("publieke_restopgave", "onafhankelijk")] != b[("publieke_restopgave", "onafhankelijk")]
    assert a[("publieke_restopgave", "comonotoon")] == b[("publieke_restopgave", "comonotoon")]


def test_a_column_no_choice_moves_takes_the_other_variants_views_the_same_numbers():
    from model.engine.plan import variant_plans
    from model.engine.run import run
    from model.spec.data import load_gebieden
    from model.spec.priors import load_priors

    laag, hoog = (run(plan=p, draws=8_192, seed=9) for p in variant_plans(load_priors(), load_gebieden(),
                                                                           ("laag", "hoog"), chunk_size=4096))
    main = dependence_views(laag, 9, "laag")
    reused = dependence_views(hoog, 9, "hoog", same_as=(laag, main))
    assert reused == dependence_views(hoog, 9, "hoog")
    by = {(r["kolom"], r["aanname"]): r for r in reused}
    assert by["publieke_restopgave", "onafhankelijk"]["p50"] == next(
        r["p50"] for r in main if (r["kolom"], r["aanname"]) == ("publieke_restopgave", "onafhankelijk"))
    assert by["investeringsopgave", "verklaard"]["p50"] != next(          # a choice moves this column
        r["p50"] for r in main if (r["kolom"], r["aanname"]) == ("investeringsopgave", "verklaard"))
