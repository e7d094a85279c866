"""Every figure used once (``model.spec.provenance``): the provenance graph from the report's printed figures to the
priors derived from them and to the calibration's observations, and the checks on ``derived_from`` and on the
calibration's independent prior file.

The graph: a published figure (``model.spec.published.PUBLISHED``) is a *derivation source* of a prior entry that
names it in ``derived_from``, and an *observation* of the calibration when the calibration conditions on its
printed value. With the priors the calibration actually uses, no figure may be both. The negative cases build
prior directories in ``tmp_path`` where the rule or the file format is broken, so each check is shown to fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from support import priors_with

from model.analysis.calibration.sampling import QUICK, sample
from model.errors import PriorError
from model.jobs.calibrate import calibrate_job
from model.paths import PRIORS_DIR
from model.spec.priors import fit_entry, load_priors
from model.spec.provenance import (
    INDEPENDENT_FILE,
    ONAFHANKELIJK,
    RAPPORT,
    calibration_priors,
    check_provenance,
    derived_entries,
    figure_uses,
    provenance_violations,
)
from model.spec.published import PUBLISHED

FIGURES = {f.name for f in PUBLISHED}
#: What the calibration job observes by default: every printed figure at its printed value.
OBSERVED = [f.name for f in PUBLISHED]


@pytest.fixture(scope="module")
def default():
    return load_priors()


@pytest.fixture(scope="module")
def used(default):
    return calibration_priors(default)


def used_twice(uses: dict[str, list[str]]) -> dict[str, list[str]]:
    """The figures of a provenance graph (:func:`figure_uses`) that are a derivation source of a used prior and an
    observation at once."""
    return {f: u for f, u in uses.items() if "observed" in u and any(x.startswith("derived:") for x in u)}


# --------------------------------------------------------------------------------------------- the graph


def test_every_derived_from_id_is_a_published_figure(default):
    derived = derived_entries(default)
    assert derived, "no prior entry declares derived_from"
    for name, ids in derived.items():
        assert set(ids) <= FIGURES, (name, set(ids) - FIGURES)
        assert len(set(ids)) == len(ids), name


def test_the_report_anchored_entries_are_declared(default):
    """The entries whose derivation back-solves a printed figure (their derivation text says so) declare it: the 24
    facility norms (§3.4 group subtotals), the 7 gezonde-toekomst kentallen (€1,3 mld.), nieuwbouw (€0,7 mld.) and
    the capaciteit parameters (the four §3.5 shortfalls), among others; the policy choices and the inputs taken from
    the report's tables of inputs (Table A2 shares, Table 1.1 growth) do not."""
    derived = derived_entries(default)
    norms = [n for n in default.names if n.startswith(("norm_q1_", "norm_mediaan_"))]
    assert len(norms) == 24 and set(norms) <= set(derived)
    gezond = [n for n, e in default.entries.items() if e.file == "gezonde_toekomst.yaml" and n.startswith("kental_")]
    assert len(gezond) == 7 and set(gezond) <= set(derived)
    assert derived["nieuwbouw_woningen_npvr"][0] == "nieuwbouw"
    capaciteit = {"capaciteit_laag", "capaciteit_hoog", "capaciteit_nu_mediaan", "capaciteit_2035_q1"}
    for n in ("normatief_vastgoed_q1_m2_per_huishouden", "normatief_vastgoed_mediaan_m2_per_huishouden",
              "aanbod_mediaan_m2_per_huishouden", "aanbod_spreiding_tussen_gemeenten"):
        assert set(derived[n]) == capaciteit, n
    for n in ("normniveau", "vraagjaar", "bevolkingsgroei_2024_2025", "bereik_apotheek", "looptijd_jaren"):
        assert n not in derived, n
    # a Q1 norm is derived from the low end of its group, a median norm from the high end
    assert "bereikbaarheid_commercieel_laag" in derived["norm_q1_apotheek"]
    assert "bereikbaarheid_commercieel_hoog" in derived["norm_mediaan_apotheek"]


def test_no_figure_is_used_twice_by_the_calibration(default, used):
    """Walk the graph with the priors the calibration uses (the independent set) and the figures it observes (all
    of them): every figure the default priors were derived from is observed, but no prior the calibration uses is
    derived from it."""
    assert used.name == ONAFHANKELIJK
    uses = figure_uses(default, used.priors, OBSERVED)
    assert used_twice(uses) == {}
    assert set(uses) == FIGURES            # every derivation source is a published figure, and all are observed
    assert provenance_violations(used.priors, OBSERVED) == []
    check_provenance(used.priors, OBSERVED, where="test")
    # the default set derives from some of these figures: without the independent set they would be used twice
    sources = {f for ids in derived_entries(default).values() for f in ids}
    assert sources and sources <= set(OBSERVED)
    assert set(used_twice(figure_uses(default, default, OBSERVED))) == sources


def test_the_report_anchored_set_is_refused_for_the_calibration(default):
    """The negative case of the graph: the default (report-anchored) priors observed against the printed figures use
    figures twice, and both the check and the sampler refuse them before any work, naming an entry and its figure."""
    assert provenance_violations(default, OBSERVED)
    with pytest.raises(PriorError, match=r"derived_from: the calibration would observe figures") as exc:
        check_provenance(default, OBSERVED, where="test")
    assert "nieuwbouw" in str(exc.value) or "norm_" in str(exc.value) or "capaciteit" in str(exc.value)
    with pytest.raises(PriorError, match="derived_from"):
        sample(default, QUICK, seed=1, prior_draws=0)
    # figures whose printed value is replaced (simulated figures) carry none of the report's information
    assert provenance_violations(default, []) == []


def test_the_report_set_may_observe_only_figures_it_was_not_derived_from(default):
    rapport = calibration_priors(default, RAPPORT)
    assert rapport.priors is default and rapport.replaced == ()
    sources = {f for ids in derived_entries(default).values() for f in ids}
    free = [f for f in OBSERVED if f not in sources]
    assert free
    check_provenance(rapport.priors, free, where="test")


def test_the_job_refuses_a_double_use_and_writes_nothing(tmp_path):
    with pytest.raises(PriorError, match="derived_from"):
        calibrate_job(None, QUICK, seed=1, out=tmp_path, prior_draws=0, prior_set=RAPPORT)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_independent_prior_makes_the_calibration_use_a_figure_twice(tmp_path):
    """Remove one entry from the independent file: that entry keeps its report-anchored prior, and the graph finds
    its figures used twice."""
    directory = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, directory)
    path = directory / INDEPENDENT_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["entries"]["nieuwbouw_woningen_npvr"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    default = load_priors(directory)
    used = calibration_priors(default)
    twice = used_twice(figure_uses(default, used.priors, OBSERVED))
    assert set(twice) == {"nieuwbouw", "tabel_2_1_totaal", "totaal_publieke_restopgave"}
    assert twice["nieuwbouw"] == ["derived:nieuwbouw_woningen_npvr", "observed"]
    with pytest.raises(PriorError, match=r"nieuwbouw\.yaml: nieuwbouw_woningen_npvr: derived_from"):
        check_provenance(used.priors, OBSERVED, where="test")


# --------------------------------------------------------------------------------------------- the independent set


def test_the_independent_set_replaces_exactly_the_derived_entries(default, used):
    assert set(used.replaced) == set(derived_entries(default))
    assert used.file == f"priors/{INDEPENDENT_FILE}" and len(used.sha256) == 64
    assert used.priors.file_hashes[used.file] == used.sha256
    assert used.manifest() == {"name": ONAFHANKELIJK, "file": used.file, "sha256": used.sha256,
                               "replaced": list(used.replaced)}
    for name in used.replaced:
        old, new = default[name], used.priors[name]
        assert new.file == INDEPENDENT_FILE and new.derived_from == ()
        assert (new.unit, new.prijspeil, new.bounds, new.point, new.kind) == \
            (old.unit, old.prijspeil, old.bounds, old.point, old.kind)
        assert new.spec.key() != old.spec.key(), name      # a prior of its own, not the default's
        assert new.derivation and new.status in ("afgeleid", "expertoordeel")
        fit_entry(new)
    for name in set(default.names) - set(used.replaced):
        assert used.priors[name] is default[name]
    with pytest.raises(PriorError, match="already applied"):
        calibration_priors(used.priors)
    with pytest.raises(PriorError, match="prior_set: unknown prior set"):
        calibration_priors(default, "gekalibreerd")


# --------------------------------------------------------------------------------------------- bad input


def _loader_error(directory: Path) -> str:
    with pytest.raises(PriorError) as exc:
        load_priors(directory, fit=False)
    return str(exc.value)


@pytest.mark.parametrize("value, message", [
    (["no_such_figure"], "unknown figure id 'no_such_figure'"),
    ("nieuwbouw", "must be a non-empty list"),
    ([], "must be a non-empty list"),
    ([1], "must be a non-empty list"),
    (["nieuwbouw", "nieuwbouw"], "listed twice"),
])
def test_the_loader_refuses_a_bad_derived_from(tmp_path, value, message):
    directory = priors_with(tmp_path, "nieuwbouw.yaml", "nieuwbouw_woningen_npvr", derived_from=value)
    error = _loader_error(directory)
    assert error.startswith("nieuwbouw.yaml: nieuwbouw_woningen_npvr: derived_from: "), error
    assert message in error


def _independent_with(tmp_path: Path, mutate) -> Path:
    directory = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, directory)
    path = directory / INDEPENDENT_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return directory


def _set(entry: str, key: str, value):
    def mutate(data):
        if value is None:
            del data["entries"][entry][key]
        else:
            data["entries"][entry][key] = value
    return mutate


def _add(entry: str, raw: dict):
    def mutate(data):
        data["entries"][entry] = raw
    return mutate


E = "restopgave_per_kwetsbare_woning"     # EUR/woning, prijspeil 2024, bounds [0, 250000]
GOOD = {"unit": "EUR/woning", "prijspeil": 2024, "distribution": {"family": "lognormal", "p5": 1, "p95": 2},
        "sources": [], "rationale": "x"}


@pytest.mark.parametrize("mutate, entry, field, message", [
    (_set(E, "unit", "EUR/m2"), E, "unit", "is not the unit of herstructurering_woningen.yaml"),
    (_set(E, "prijspeil", 2020), E, "prijspeil", "is not the prijspeil"),
    (_set(E, "rationale", " "), E, "rationale", "non-empty text"),
    (_set(E, "rationale", None), E, "missing key(s)", "rationale"),
    (_set(E, "derived_from", ["nieuwbouw"]), E, "unknown key(s)", "derived_from"),
    (_set(E, "sources", ["no_such_source"]), E, "sources", "unknown source id"),
    (_set(E, "sources", "vhf_2021"), E, "sources", "list of source ids"),
    (_set(E, "distribution", {"family": "lognormal", "p5": 20000, "p95": 300000}), E, "distribution.p95",
     "outside the hard bounds"),
    (_set(E, "distribution", {"family": "fixed", "value": 40000}), E, "distribution", "not a fixed value"),
    (_set(E, "distribution", {"family": "normal", "p5": -5000, "p95": 80000}), E, "distribution.p5",
     "outside the hard bounds"),
    (_add("no_such_entry", GOOD), "no_such_entry", "(entry)", "no such prior entry"),
    (_add("stichtingskosten_sport", {**GOOD, "unit": "EUR/m2"}), "stichtingskosten_sport", "derived_from",
     "is not derived from a printed figure"),
])
def test_the_independent_file_refuses_bad_entries_naming_file_entry_and_field(tmp_path, mutate, entry, field,
                                                                              message):
    default = load_priors(_independent_with(tmp_path, mutate), fit=False)
    with pytest.raises(PriorError) as exc:
        calibration_priors(default, fit=False)
    error = str(exc.value)
    assert error.startswith(f"{INDEPENDENT_FILE}: {entry}: {field}"), error
    assert message in error, error


def test_the_independent_file_must_exist_and_fit(tmp_path):
    directory = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, directory)
    (directory / INDEPENDENT_FILE).unlink()
    with pytest.raises(PriorError, match=f"^{INDEPENDENT_FILE}: \\(file\\): .* missing"):
        calibration_priors(load_priors(directory, fit=False))
    # a distribution its family cannot reproduce is refused when fitted, naming the file and the entry
    bad = {"family": "lognormal", "p5": 20000, "p50": 21000, "p95": 200000}
    default = load_priors(_independent_with(tmp_path / "b", _set(E, "distribution", bad)), fit=False)
    with pytest.raises(PriorError, match=f"^{INDEPENDENT_FILE}: {E}: "):
        calibration_priors(default)
