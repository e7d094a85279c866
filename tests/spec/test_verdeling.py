"""The allocation keys (``model.spec.verdeling``, ``priors/verdeling/verdeelsleutels.yaml``): one per deelopgave,
checked on load, and the indicator arrays they give the compiled allocation."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml

from model.deelopgaven.registry import DEELOPGAVEN
from model.errors import PriorError
from model.paths import PRIORS_DIR
from model.spec.data import load_gebieden
from model.spec.priors import load_priors
from model.spec.verdeling import VERDELING_FILE, key_arrays, load_verdeling, relative


@pytest.fixture(scope="module")
def priors():
    return load_priors(fit=False)


@pytest.fixture(scope="module")
def verdeling(priors):
    return load_verdeling(priors.directory, priors.bibliography)


def test_every_deelopgave_with_a_column_has_a_key_with_rationale_and_sources(verdeling, priors):
    assert list(verdeling.sleutels) == [d.naam for d in DEELOPGAVEN if d.kolom is not None]
    for key in verdeling.sleutels.values():
        assert key.rationale and key.sources and all(s in priors.bibliography for s in key.sources)
        assert key.spreiding_onbekend >= key.spreiding > 0
    # the report's method where data exists (issue: new-build by agreements and growth, restructuring by
    # vulnerability proxies, retail by vacancy, gezonde toekomst by the §4.2 classes, facilities by households)
    ind = {d: {i.naam for i in k.indicatoren} for d, k in verdeling.sleutels.items()}
    assert ind["nieuwbouw"] == {"woondeal_per_woning", "bevolkingsgroei"}
    assert {"woz", "corporatie"} <= ind["herstructurering_woningen"] and "woz" in ind["leefbaarheid_veiligheid"]
    assert ind["herstructurering_winkels"] == {"winkelleegstand"}
    assert verdeling.sleutels["bereikbaarheid"].basis == verdeling.sleutels["capaciteit"].basis == "huishoudens"
    assert [k for _, k in verdeling.sleutels["gezonde_toekomst"].delen] == ["meerdere", "niet_genoemd"]


def test_key_arrays_relative_indicators_and_wider_spread_without_a_figure(verdeling):
    g = load_gebieden()
    key = verdeling.sleutels["herstructurering_winkels"]
    a = key_arrays(key, g)
    known = np.isfinite(g.indicatoren["winkelleegstand"])
    assert np.all(a.tau[known] == key.spreiding) and np.all(a.tau[~known] == key.spreiding_onbekend)
    assert np.all(a.x[~known, 0] == 0.0)
    # relative to the basis-weighted mean over the gemeenten with a figure: that mean maps to 0
    v, w = g.indicatoren["winkelleegstand"][known], g.indicatoren["inwoners"][known]
    assert np.average(np.exp(a.x[known, 0]) * np.average(v, weights=w), weights=w) == pytest.approx(
        np.average(v, weights=w))
    gz = key_arrays(verdeling.sleutels["gezonde_toekomst"], g)
    klasse = np.array([g.regio_klasse[r] for r in g.regio])
    assert np.array_equal(gz.masks[0], klasse == "meerdere") and np.array_equal(gz.masks[1], klasse == "niet_genoemd")
    assert not (gz.masks[0] | gz.masks[1])[klasse == "geen"].any()       # §4.2: no measures there


def test_relative_transforms():
    v = np.array([1.0, 2.0, np.nan, 4.0])
    b = np.array([1.0, 1.0, 5.0, 2.0])
    ref = (1 + 2 + 8) / 4
    np.testing.assert_allclose(relative(v, b, "log"), [np.log(1 / ref), np.log(2 / ref), 0.0, np.log(4 / ref)])
    np.testing.assert_allclose(relative(v, b, "verschil"), [1 - ref, 2 - ref, 0.0, 4 - ref])
    assert np.all(relative(np.full(3, np.nan), np.ones(3), "log") == 0.0)


def _copy(tmp_path, edit) -> str:
    target = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, target)
    path = target / VERDELING_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(target)


BAD = {
    "unknown deelopgave": (lambda d: d["sleutels"].update(regionale_economie=d["sleutels"]["nieuwbouw"]),
                           r"sleutels\.regionale_economie: not a deelopgave with a Table 1\.2 column"),
    "a key missing": (lambda d: d["sleutels"].pop("capaciteit"), r"sleutels: no key for capaciteit"),
    "unknown basis": (lambda d: d["sleutels"]["nieuwbouw"].update(basis="oppervlakte"),
                      r"sleutels\.nieuwbouw\.basis: unknown basis 'oppervlakte'"),
    "unknown indicator": (lambda d: d["sleutels"]["nieuwbouw"]["indicatoren"].update(
                              armoede={"transform": "log", "gewicht": {"mean": 1, "sd": 1}}),
                          r"sleutels\.nieuwbouw\.indicatoren\.armoede: unknown indicator"),
    "unknown transform": (lambda d: d["sleutels"]["herstructurering_woningen"]["indicatoren"]["woz"].update(
                              transform="sqrt"), r"sleutels\.herstructurering_woningen\.indicatoren\.woz\.transform: unknown transform 'sqrt'"),
    "negative sd": (lambda d: d["sleutels"]["herstructurering_woningen"]["indicatoren"]["woz"]["gewicht"].update(
                        sd=-1), r"sleutels\.herstructurering_woningen\.indicatoren\.woz\.gewicht\.sd: must be a number in \[0, 10\], "
                        r"got -1"),
    "spread as text": (lambda d: d["sleutels"]["capaciteit"].update(spreiding="breed"),
                       r"sleutels\.capaciteit\.spreiding: must be a number"),
    "unknown narrower": (lambda d: d["sleutels"]["herstructurering_winkels"].update(spreiding_onbekend=0.1),
                         r"sleutels\.herstructurering_winkels\.spreiding_onbekend: 0\.1 is below spreiding 0\.3"),
    "unknown source": (lambda d: d["sleutels"]["capaciteit"].update(sources=["wikipedia"]),
                       r"sleutels\.capaciteit\.sources: unknown source 'wikipedia'"),
    "no rationale": (lambda d: d["sleutels"]["capaciteit"].update(rationale=" "),
                     r"sleutels\.capaciteit\.rationale: empty"),
    "parts missing": (lambda d: d["sleutels"]["gezonde_toekomst"].pop("delen"),
                      r"sleutels\.gezonde_toekomst\.delen: must name exactly the deelopgave's part lines"),
    "parts where none": (lambda d: d["sleutels"]["nieuwbouw"].update(delen={"nieuwbouw": {}}),
                         r"sleutels\.nieuwbouw\.delen: must name exactly"),
    "unknown class": (lambda d: d["sleutels"]["gezonde_toekomst"]["delen"]["gezonde_toekomst_regio_meerdere"].update(
                          regio_klasse="veel"), r"sleutels\.gezonde_toekomst\.delen\.gezonde_toekomst_regio_meerdere\.regio_klasse: "
                          r"unknown class 'veel'"),
    "unknown field": (lambda d: d["sleutels"]["capaciteit"].update(concentratie=50),
                      r"sleutels\.capaciteit: unknown field\(s\) \['concentratie'\]"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_key_is_refused_naming_file_key_and_field(tmp_path, case):
    edit, pattern = BAD[case]
    directory = _copy(tmp_path, edit)
    priors = load_priors(directory, fit=False)
    with pytest.raises(PriorError, match=f"^verdeling/verdeelsleutels.yaml: {pattern}"):
        load_verdeling(directory, priors.bibliography)


def test_a_prior_directory_without_keys_is_refused(tmp_path):
    target = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, target)
    (target / VERDELING_FILE).unlink()
    with pytest.raises(PriorError, match=r"^verdeling/verdeelsleutels.yaml: \(file\): missing"):
        load_verdeling(str(target), {})


def test_a_log_indicator_of_zero_is_an_error_not_a_silent_share(verdeling):
    """Ameland (a membership candidate) has 0% corporation dwellings: ln(0) would give it a share of 0, or NaN when
    a drawn weight is negative; the key refuses it, naming the key, indicator and gemeente."""
    g = load_gebieden(extra=("GM0060",))
    with pytest.raises(PriorError, match=r"sleutels\.herstructurering_woningen\.indicatoren\.corporatie\.transform: "
                                         r"log of 0 for GM0060 \(Ameland\)"):
        key_arrays(verdeling.sleutels["herstructurering_woningen"], g)
    key_arrays(verdeling.sleutels["capaciteit"], g)        # a key without that indicator is fine
