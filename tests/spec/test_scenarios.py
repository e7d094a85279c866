"""Scenarios (``model.spec.scenarios``): the shipped overlays, inheritance, and errors that name file and field."""

from __future__ import annotations

import numpy as np
import pytest

from model.engine.plan import scenario_plan
from model.engine.run import run
from model.errors import PriorError
from model.spec.scenarios import list_scenarios, load_scenario


def test_shipped_scenarios_load():
    names = list_scenarios()
    for n in ("bouwkosten_hoog", "huishoudens_2035_hoog", "huishoudens_2035_laag", "83_gemeenten"):
        assert n in names
    assert "varianten" not in names          # scenarios/varianten.toml holds the policy variants
    with pytest.raises(PriorError, match=r"^varianten.toml: \(file\): the policy variants, not a scenario"):
        load_scenario("varianten")
    for n in names:
        sc = load_scenario(n)
        assert sc.description
    g = load_scenario("83_gemeenten").gebieden()
    assert len(g.gm_code) == 83 and {"Harlingen", "Waadhoeke"} <= set(g.gemeente)
    assert len(load_scenario("default").gebieden().gm_code) == 81
    hoog = load_scenario("huishoudens_2035_hoog").priors["huishoudensgroei_2035"]
    assert hoog.distribution["p50"] == 0.08 and hoog.point == 0.08 and hoog.file == "huishoudens_2035_hoog.toml"
    bk = load_scenario("bouwkosten_hoog").jaren_priors["bouwkostenstijging_per_jaar"]
    assert bk.distribution["p50"] == 0.063
    hashes = {load_scenario(n).hash for n in names}
    assert len(hashes) == len(names)


def test_scenario_effects_on_small_runs():
    """Same seed (common random numbers): the shipped scenarios move the numbers the right way."""
    from model.analysis.jaren import groepen, jaren_dataset

    res = {}
    for n in ("default", "bouwkosten_hoog", "huishoudens_2035_hoog", "huishoudens_2035_laag"):
        sc = load_scenario(n)
        # the hoog variant (demand 2035), where the 2035 household growth matters
        r = run(plan=scenario_plan(sc, 1024, variant="hoog"), draws=2000, seed=7, keep=True)
        res[n] = (r, jaren_dataset(r, priors=sc.jaren_priors, overrides=dict(sc.jaren_overrides),
                                   instellingen=sc.jaren))

    def out(n, name):
        return res[n][0].draws_of(name)

    assert out("huishoudens_2035_laag", "capaciteit").mean() < out("huishoudens_2035_hoog", "capaciteit").mean()
    # construction costs only change the years, not the totals at prijspeil
    assert np.array_equal(out("bouwkosten_hoog", "capaciteit"), out("default", "capaciteit"))
    nom = {n: groepen(res[n][1], "nominaal").sel(groep="totaal").sum("jaar").values for n in res}
    assert np.all(nom["bouwkosten_hoog"] >= nom["default"]) and nom["bouwkosten_hoog"].mean() > nom["default"].mean()


def test_scenario_inheritance(tmp_path):
    (tmp_path / "kind.toml").write_text(
        'description = "child"\nbase = "basis"\n[fixed]\naandeel_kwetsbare_woningen = 0.3\n'
        '[jaren]\ndiscontovoet = 0.03\ngevoeligheid = [0.0225]\n', encoding="utf-8")
    (tmp_path / "basis.toml").write_text('description = "basis"\n[fixed]\naandeel_publiek_capaciteit = 0.4\naandeel_kwetsbare_woningen = 0.2\n',
                                         encoding="utf-8")
    (tmp_path / "kleinkind.toml").write_text(
        'base = "kind"\n[distributions.aandeel_publiek_capaciteit]\nfamily = "uniform"\nmin = 0.0\nmax = 1.0\ncoverage = 1.0\n',
        encoding="utf-8")
    kind = load_scenario("kind", directory=tmp_path)
    assert kind.overrides == {"aandeel_publiek_capaciteit": 0.4, "aandeel_kwetsbare_woningen": 0.3}
    assert kind.jaren.rates == (0.03, 0.0225)
    klein = load_scenario("kleinkind", directory=tmp_path)
    assert klein.overrides == {"aandeel_kwetsbare_woningen": 0.3}                  # its distribution lifts the base's fixed value
    assert klein.priors["aandeel_publiek_capaciteit"].distribution["family"] == "uniform"
    assert klein.description == "child" and len(klein.files) == 3


BAD = {
    "top key": ('[fixd]\nnormniveau = 0\n', r"^bad.toml: fixd: unknown key"),
    "fixed name": ('[fixed]\nnormnivo = 0\n', r"^bad.toml: fixed.normnivo: unknown entry 'normnivo' "
                                             r"\(did you mean \['normniveau'"),
    "fixed value": ('[fixed]\naandeel_publiek_capaciteit = "laag"\n', r"^bad.toml: fixed.aandeel_publiek_capaciteit: non-numeric value 'laag'"),
    "fixed bool": ('[fixed]\naandeel_publiek_capaciteit = true\n', r"^bad.toml: fixed.aandeel_publiek_capaciteit: non-numeric value True"),
    "fixed bounds": ('[fixed]\naandeel_publiek_capaciteit = 7\n', r"^bad.toml: fixed.aandeel_publiek_capaciteit: 7 lies outside the hard bounds"),
    "fixed choice": ('[fixed]\nnormniveau = 1.0\n', r"^bad.toml: fixed.normniveau: a policy choice \(kind keuze\), "
                                                   r"set by the variants of varianten.toml"),
    "dist choice": ('[distributions.vraagjaar]\nfamily = "uniform"\nmin = 0.0\nmax = 1.0\ncoverage = 1.0\n',
                    r"^bad.toml: distributions.vraagjaar: a policy choice"),
    "order": ('[distributions.huishoudensgroei_2035]\nfamily = "normal"\np5 = 0.1\np50 = 0.04\np95 = 0.08\n',
              r"^bad.toml: distributions.huishoudensgroei_2035.p5: quantiles must increase with p, but p5 = 0.1 >= "
              r"p50 = 0.04"),
    "family": ('[distributions.huishoudensgroei_2035]\nfamily = "gamma"\np5 = 0.0\np95 = 0.08\n',
               r"^bad.toml: distributions.huishoudensgroei_2035.family: unknown family 'gamma'"),
    "dist key": ('[distributions.huishoudensgroei_2035]\nfamily = "normal"\np5 = 0.0\nmedian = 0.08\n',
                 r"^bad.toml: distributions.huishoudensgroei_2035: unknown key 'median' for family normal"),
    "dist name": ('[distributions.huishoudens]\nfamily = "normal"\np5 = 0.0\np95 = 0.08\n',
                  r"^bad.toml: distributions.huishoudens: unknown entry 'huishoudens'"),
    "dist fit": ('[distributions.huishoudensgroei_2035]\nfamily = "normal"\np5 = 0.0\np50 = 0.01\np95 = 0.08\n',
                 r"^bad.toml: distributions.huishoudensgroei_2035: .*"),
    "dist point": ('[distributions.aandeel_publiek_capaciteit]\nfamily = "uniform"\nmin = 0.0\nmax = 1.0\ncoverage = 1.0\n'
                   'point = 2.0\n', r"^bad.toml: distributions.aandeel_publiek_capaciteit.point: 2.0 lies outside the hard bounds"),
    "year prior": ('[distributions.bouwkostenstijging_per_jaar]\nfamily = "normal"\np5 = 0.5\np50 = 0.6\n'
                   'p95 = 0.7\n', r"^bad.toml: distributions.bouwkostenstijging_per_jaar.p5: 0.5 lies outside"),
    "both": ('[fixed]\naandeel_publiek_capaciteit = 0.5\n[distributions.aandeel_publiek_capaciteit]\nfamily = "uniform"\nmin = 0.0\nmax = 1.0\n'
             'coverage = 1.0\n', r"^bad.toml: fixed.aandeel_publiek_capaciteit: also given under \[distributions\]"),
    "membership code": ('[membership]\nextra = ["GM9999"]\n',
                        r"^bad.toml: membership.extra: unknown gemeente code 'GM9999'"),
    "membership key": ('[membership]\nextra_ = ["GM0072"]\n', r"^bad.toml: membership.extra_: unknown key"),
    "membership type": ('[membership]\nextra = "GM0072"\n', r"^bad.toml: membership.extra: must be a list"),
    "confidence": ('[membership]\nconfidences = ["zeker"]\n', r"^bad.toml: membership.confidences: unknown confidence"),
    "no confidences": ('[membership]\nconfidences = []\n', r"^bad.toml: membership.confidences: empty"),
    "only candidates, all excluded": (
        '[membership]\nconfidences = ["candidate"]\nexclude = ["GM0072", "GM1949", "GM0160", "GM1680", "GM0060", '
        '"GM0088"]\n', r"^bad.toml: membership: .*no municipality selected"),
    "jaren key": ('[jaren]\ndisconto = 0.03\n', r"^bad.toml: jaren.disconto: unknown key"),
    "jaren rate": ('[jaren]\ndiscontovoet = "2.25%"\n', r"^bad.toml: jaren.discontovoet: must be a rate"),
    "jaren list": ('[jaren]\ngevoeligheid = 0.03\n', r"^bad.toml: jaren.gevoeligheid: must be a list of rates"),
    "jaren bool": ('[jaren]\nmidjaar = 1\n', r"^bad.toml: jaren.midjaar: must be true or false"),
    "base": ('base = "bestaat_niet"\n', r"^bad.toml: base: unknown scenario 'bestaat_niet'"),
    "base type": ('base = 3\n', r"^bad.toml: base: must be a scenario name"),
    "description": ('description = 3\n', r"^bad.toml: description: must be a text"),
    "variant": ('variant = "midden"\n', r"^bad.toml: variant: unknown variant 'midden' \(known: laag, hoog"),
    "variant type": ('variant = 1\n', r"^bad.toml: variant: must be the name of a variant of varianten.toml"),
    "toml": ('base = \n', r"^bad.toml: \(file\): invalid TOML"),
    "table": ('fixed = 3\n', r"^bad.toml: fixed: must be a table"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_scenario_errors_name_file_and_field(tmp_path, case):
    """Every refusal names the scenario file and the field (on today's main, ``confidences = []`` and a membership
    that excludes every municipality ran, with totals of zero or of nothing)."""
    text, pattern = BAD[case]
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    with pytest.raises(PriorError, match=pattern):
        load_scenario("bad", directory=tmp_path)


def test_errors_in_a_base_name_the_base_file(tmp_path):
    (tmp_path / "basis.toml").write_text('[fixed]\naandeel_publiek_capaciteit = 3\n', encoding="utf-8")
    (tmp_path / "kind.toml").write_text('base = "basis"\n', encoding="utf-8")
    with pytest.raises(PriorError, match=r"^basis.toml: fixed.aandeel_publiek_capaciteit: 3 lies outside"):
        load_scenario("kind", directory=tmp_path)
    (tmp_path / "a.toml").write_text('base = "b"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('base = "a"\n', encoding="utf-8")
    with pytest.raises(PriorError, match=r"^b.toml: base: cycle of bases"):
        load_scenario("a", directory=tmp_path)
    with pytest.raises(PriorError, match=r"^c.toml: \(file\): no such scenario file"):
        load_scenario("c", directory=tmp_path)


def test_a_base_is_found_beside_its_file_not_in_the_working_directory(tmp_path, monkeypatch):
    """The same scenario means the same from every folder: its base is resolved beside it, never in the working
    directory (a file of the base's name there is not used)."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "kind.toml").write_text('base = "basis"\n', encoding="utf-8")
    (tmp_path / "scenarios" / "basis.toml").write_text('[fixed]\naandeel_publiek_capaciteit = 0.25\n', encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "basis.toml").write_text('[fixed]\naandeel_publiek_capaciteit = 0.75\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert load_scenario(tmp_path / "scenarios" / "kind.toml").overrides == {"aandeel_publiek_capaciteit": 0.25}
    monkeypatch.chdir(tmp_path)
    assert load_scenario("scenarios/kind.toml").overrides == {"aandeel_publiek_capaciteit": 0.25}


@pytest.mark.parametrize("raw, fragment", [
    (b'description = "caf\xe9"\n', r"^bad.toml: \(file\): not UTF-8 text"),
    (b"\xef\xbb\xbfdescription = 'met BOM'\n", None),
])
def test_a_scenario_file_is_read_as_utf8_and_refused_naming_it(tmp_path, raw, fragment):
    (tmp_path / "bad.toml").write_bytes(raw)
    if fragment is None:
        assert load_scenario("bad", directory=tmp_path).description == "met BOM"
        return
    with pytest.raises(PriorError, match=fragment):
        load_scenario("bad", directory=tmp_path)


def test_a_folder_named_like_a_scenario_is_refused(tmp_path):
    (tmp_path / "bad.toml").mkdir()
    with pytest.raises(PriorError, match=r"^bad.toml: \(file\): is a folder"):
        load_scenario("bad", directory=tmp_path)


def test_a_scenario_names_the_main_variant_of_its_runs(tmp_path):
    """``rapport_hoog``: the embedded priors with the report's high end as the main variant; a child's ``variant``
    replaces its base's, and the variant enters the scenario's identity."""
    hoog, laag = load_scenario("rapport_hoog"), load_scenario("rapport_laag")
    assert (hoog.variant, laag.variant, load_scenario("default").variant) == ("hoog", "laag", None)
    assert not hoog.overrides and not hoog.changed and hoog.hash != laag.hash
    (tmp_path / "basis.toml").write_text('variant = "hoog"\n', encoding="utf-8")
    (tmp_path / "kind.toml").write_text('base = "basis"\nvariant = "nu_mediaan"\n', encoding="utf-8")
    (tmp_path / "kleinkind.toml").write_text('base = "kind"\n', encoding="utf-8")
    assert load_scenario("kind", directory=tmp_path).variant == "nu_mediaan"
    assert load_scenario("kleinkind", directory=tmp_path).variant == "nu_mediaan"
