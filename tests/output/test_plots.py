"""The review figures (``model.output.plots``, matplotlib): each writes its files, with the report's figures marked."""

from __future__ import annotations

import numpy as np
import pytest

from model.analysis import sensitivity as S
from model.analysis.jaren import jaren_dataset
from model.analysis.sensitivity_npvr import spider_npvr, tornado_npvr
from model.engine.plan import make_plan
from model.engine.run import run
from model.output import plots
from model.spec.jaren import load_jaren_priors


def _written(paths, names):
    assert sorted(p.name for p in paths) == sorted(names)
    for p in paths:
        assert p.stat().st_size > 1000, p.name


def test_tornado_and_spider_mark_the_figure_of_their_variant(tmp_path):
    """A tornado is of one policy variant: it marks the report's figure for that variant (the band's low end in
    laag, its high end in hoog)."""
    from model.jobs.sensitivity import plan_for

    plan = make_plan()
    for variant, label in (("laag", "rapport: €6,3 mld."), ("hoog", "rapport: €11,8 mld.")):
        t = tornado_npvr("investeringsopgave", plan=plan_for(variant=variant))
        _written(plots.tornado(t, tmp_path / f"tornado_{variant}"), [f"tornado_{variant}.png",
                                                                     f"tornado_{variant}.svg"])
        fig = plots.new_figure(4, 3)
        ax = fig.add_subplot()
        plots._report_lines(ax, t.report, vertical=True)
        assert [line.get_label() for line in ax.get_lines()] == [label]
    _written(plots.spider(spider_npvr("capaciteit", plan=plan), tmp_path / "spider"), ["spider.png", "spider.svg"])


def test_sobol_bars(tmp_path):
    spec = S.InputSpec(names=["a", "b"], ppfs=[lambda u: u, lambda u: u], point=np.array([0.5, 0.5]))
    res = S.sobol(lambda th: th[0] + 2 * th[1], spec, n_base=2**8, seed=0)
    _written(plots.sobol(res.rows, tmp_path / "sobol", title="Sobol", key="input", conf_level=res.conf_level),
             ["sobol.png", "sobol.svg"])


def test_year_figures(tmp_path):
    result = run(draws=2000, seed=3, keep=True)
    ds = jaren_dataset(result, priors=load_jaren_priors())
    plots.fan_chart(ds, tmp_path / "waaier", referentie={"totaal": 1.2e9})
    plots.fan_chart(ds, tmp_path / "waaier_nominaal", prijzen="nominaal", formats=("png", "svg"))
    plots.contante_waarde(ds, tmp_path / "cw")
    _written(list(tmp_path.iterdir()), ["waaier.png", "waaier_nominaal.png", "waaier_nominaal.svg", "cw.png"])


def test_prior_posterior_and_comparison(tmp_path):
    rows = [{"parameter": f"p{i}", "status": s, "shrinkage": 0.1 * i, "z_posterior_mean": 0.1 * i,
             "z_posterior_sd": 0.5} for i, s in enumerate(["afgeleid", "expertoordeel", "gepubliceerd"])]
    _written(plots.prior_posterior(rows, tmp_path / "pp", title="x"), ["pp.png", "pp.svg"])
    rng = np.random.default_rng(0)
    pooled = {s: {k: rng.normal(5e9, 1e9, 500) for k in ("totaal_publieke_restopgave", "totaal_exploitatielasten",
                                                        "totaal_investeringsopgave", "contante_waarde_0.0225")}
              for s in ("a", "b")}
    with pytest.raises(KeyError):
        plots.vergelijking({"a": {}}, ["a"], tmp_path / "none")
    _written(plots.vergelijking(pooled, ["a", "b"], tmp_path / "v"), ["v.png"])
