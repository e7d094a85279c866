"""The prior files in ``priors/`` and their loader (``model.spec.priors``): provenance, consistency, the strict
loader's refusal of bad input, and the fit cache.

The content checks read the YAML files directly (``yaml.safe_load``), independently of ``model.spec.priors``, so
they hold even if the loader's own checks were loosened. The bad-input tests copy the embedded priors to a
temporary directory, corrupt one file, and require a :class:`model.errors.PriorError` whose message names
both the file and the entry.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest
import yaml

from model.deelopgaven.registry import required_inputs
from model.errors import PriorError
from model.paths import PRIORS_DIR
from model.spec import priors as priors_module
from model.spec.data import load_gebieden
from model.spec.priors import BIBLIOGRAPHY, CORRELATIONS, fit_entry, load_priors
PRIOR_FILES = sorted(p for p in PRIORS_DIR.glob("*.yaml") if p.name not in (BIBLIOGRAPHY, CORRELATIONS))
BIB = yaml.safe_load((PRIORS_DIR / BIBLIOGRAPHY).read_text(encoding="utf-8"))


def _raw_entries() -> list[tuple[str, str, dict]]:
    out = []
    for path in PRIOR_FILES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, raw in data["entries"].items():
            out.append((path.name, name, raw))
    return out


RAW = _raw_entries()
IDS = [f"{f}:{n}" for f, n, _ in RAW]


@pytest.fixture(scope="module")
def priors():
    return load_priors(fit=False)


# --------------------------------------------------------------------------------------------------------------
# content of the embedded priors


def test_there_are_prior_files_and_entries():
    assert len(PRIOR_FILES) >= 13
    assert len(RAW) == len({n for _, n, _ in RAW}), "an entry name is defined in more than one file"


@pytest.mark.parametrize("file, name, raw", RAW, ids=IDS)
def test_entry_has_a_source_or_is_expert_judgement(file, name, raw):
    assert isinstance(raw["sources"], list)
    assert raw["sources"] or raw["status"] == "expertoordeel", f"{file}: {name}: no source and not expertoordeel"


@pytest.mark.parametrize("file, name, raw", RAW, ids=IDS)
def test_entry_sources_exist_in_bibliography(file, name, raw):
    unknown = [s for s in raw["sources"] if s not in BIB]
    assert not unknown, f"{file}: {name}: unknown source ids {unknown}"


@pytest.mark.parametrize("file, name, raw", RAW, ids=IDS)
def test_money_has_a_prijspeil(file, name, raw):
    if str(raw["unit"]).startswith("EUR"):
        assert isinstance(raw["prijspeil"], int) and 1990 <= raw["prijspeil"] <= 2100, f"{file}: {name}"


@pytest.mark.parametrize("file, name, raw", RAW, ids=IDS)
def test_point_within_bounds(file, name, raw):
    lo, hi = raw["bounds"]
    point = raw["point"]
    assert isinstance(point, (int, float)) and not isinstance(point, bool)
    assert (lo is None or lo <= point) and (hi is None or point <= hi), f"{file}: {name}: {point} not in {raw['bounds']}"
    if raw.get("band"):
        for v in raw["band"].values():
            assert (lo is None or lo <= v) and (hi is None or v <= hi), f"{file}: {name}: band {v}"


def test_every_bibliography_source_is_cited():
    keys = yaml.safe_load((PRIORS_DIR / "verdeling" / "verdeelsleutels.yaml").read_text(encoding="utf-8"))
    cited = {s for _, _, raw in RAW for s in raw["sources"]} | {s for k in keys["sleutels"].values()
                                                               for s in k["sources"]}
    assert set(BIB) - cited == set(), "sources in priors/bronnen.yaml that no entry uses"


def test_load_priors_with_fit_succeeds():
    priors = load_priors(fit=True)
    assert set(priors.names) == {n for _, n, _ in RAW}


@pytest.mark.parametrize("name", [n for _, n, _ in RAW])
def test_each_distribution_fits(priors, name):
    marginal, report = fit_entry(priors[name])
    assert marginal.family == priors[name].spec.family
    assert report.max_rel_error <= 0.02
    assert set(report.stated) == set(report.achieved)


# --------------------------------------------------------------------------------------------------------------
# every kernel input is defined, every prior is used


def test_every_kernel_input_is_a_prior_or_data(priors):
    data = set(load_gebieden().quantities())
    missing = [n for n in required_inputs() if n not in priors and n not in data]
    assert missing == []
    assert data & set(priors.names) == set(), "a name is both a prior entry and a data quantity"


def test_every_prior_is_used_by_a_kernel(priors):
    orphans = sorted(set(priors.names) - set(required_inputs()))
    assert orphans == [], f"prior entries no kernel uses: {orphans}"


def test_an_entry_no_kernel_uses_is_refused(tmp_path):
    directory = _copy(tmp_path)
    path = directory / FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["entries"]["eenmalige_ov_kosten_per_provinsie"] = dict(data["entries"][ENTRY])   # a misspelt copy
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(PriorError, match="no kernel uses this entry") as exc:
        load_priors(directory, fit=False)
    _assert_names_file_and_entry(exc, entry="eenmalige_ov_kosten_per_provinsie")


# --------------------------------------------------------------------------------------------------------------
# bad input: one corrupted file at a time

FILE = "ov_eenmalig.yaml"
ENTRY = "eenmalige_ov_kosten_per_provincie"   # EUR/provincie, status afgeleid, with sources


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, target)
    return target


def _corrupt(tmp_path: Path, mutate: Callable[[dict], None], file: str = FILE, entry: str = ENTRY) -> Path:
    directory = _copy(tmp_path)
    path = directory / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data["entries"][entry])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return directory


def _set(key: str, value) -> Callable[[dict], None]:
    def mutate(e: dict) -> None:
        e[key] = value
    return mutate


def _set_dist(key: str, value) -> Callable[[dict], None]:
    def mutate(e: dict) -> None:
        e["distribution"][key] = value
    return mutate


CORRUPTIONS = {
    "unknown_key": _set("colour", "red"),
    "missing_source": lambda e: e.update(sources=[], status="afgeleid"),
    "p5_above_p50": _set_dist("p5", 20_000_000),
    "negative_cost": _set("point", -1),
    "non_numeric": _set_dist("p50", "abc"),
    "unknown_unit": _set("unit", "EUR/parsec"),
    "unknown_source_id": _set("sources", ["rapport_npvr", "no_such_source_2099"]),
    "unknown_family": _set_dist("family", "cauchy"),
}


def _assert_names_file_and_entry(exc: pytest.ExceptionInfo, file: str = FILE, entry: str = ENTRY) -> None:
    msg = str(exc.value)
    assert file in msg, msg
    assert entry in msg, msg


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_bad_input_is_refused(tmp_path, kind):
    directory = _corrupt(tmp_path, CORRUPTIONS[kind])
    with pytest.raises(PriorError) as exc:
        load_priors(directory, fit=False)
    _assert_names_file_and_entry(exc)


def test_untouched_copy_loads(tmp_path):
    """Control for the tests above: the copy itself (re-dumped YAML) is valid."""
    directory = _corrupt(tmp_path, lambda e: None)
    load_priors(directory, fit=False)


def test_duplicate_entry_name_is_refused(tmp_path):
    directory = _copy(tmp_path)
    path = directory / FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n  " + ENTRY + ":\n    description: a second definition\n",
                    encoding="utf-8")
    with pytest.raises(PriorError) as exc:
        load_priors(directory, fit=False)
    _assert_names_file_and_entry(exc)


def test_duplicate_key_inside_an_entry_is_refused(tmp_path):
    """PyYAML would silently keep the second ``point``; the loader must refuse it and say where."""
    directory = _copy(tmp_path)
    path = directory / FILE
    text = path.read_text(encoding="utf-8")
    line = "    point: 16875000\n"
    assert text.count(line) == 1
    path.write_text(text.replace(line, line + "    point: 99\n"), encoding="utf-8")
    with pytest.raises(PriorError) as exc:
        load_priors(directory, fit=False)
    _assert_names_file_and_entry(exc)


def test_entry_defined_in_two_files_is_refused(tmp_path):
    directory = _copy(tmp_path)
    source = yaml.safe_load((directory / FILE).read_text(encoding="utf-8"))
    extra = {"deelopgave": "zz_extra", "description": "duplicate entry",
             "entries": {ENTRY: source["entries"][ENTRY]}}
    (directory / "zz_extra.yaml").write_text(yaml.safe_dump(extra, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PriorError) as exc:
        load_priors(directory, fit=False)
    _assert_names_file_and_entry(exc, file="zz_extra.yaml")


# --------------------------------------------------------------------------------------------------------------
# streefwaarden (Table A1) are documented per facility; HBO/WO is 60 min OV (docs/deviations.md D4)

STREEFWAARDE = {
    "apotheek": "15 min lopen/fietsen",
    "ziekenhuis_buitenpoli": "30 min OV",
    "bso": "15 min lopen/fietsen",
    "huisarts": "15 min lopen/fietsen",
    "mbo": "30 min OV",
    "hbo_wo": "60 min OV",
    "kinderdagopvang": "15 min lopen/fietsen",
    "supermarkt": "15 min lopen/fietsen",
    "basisschool": "15 min lopen/fietsen",
    "middelbare_school": "30 min lopen/fietsen",
    "sport": "15 min lopen/fietsen",
    "ontmoetingsfunctie": "15 min lopen/fietsen",
}


@pytest.mark.parametrize("voorziening", list(STREEFWAARDE))
def test_streefwaarde_documented_per_facility(priors, voorziening):
    entry = priors[f"bereik_{voorziening}"]
    assert STREEFWAARDE[voorziening].lower() in entry.description.lower(), entry.description


def test_fit_table_reports_every_entry_within_tolerance():
    rows = priors_module.fit_table(load_priors())
    assert {r["entry"] for r in rows} == {n for _, n, _ in RAW}
    for r in rows:
        assert r["max_rel_error"] <= 0.02, r
        assert set(r["stated"]) == set(r["achieved"])


# --------------------------------------------------------------------------------------------------------------
# the fit cache: what a later process reads back is what the fit gave


def test_fit_cache_gives_the_fit_itself(tmp_path, monkeypatch, priors):
    """A fit read back from the cache (a fresh in-memory cache, the same NPVR_CACHE) equals the fit: parameters,
    lookup table and report; a damaged cache file is fitted again and rewritten."""
    monkeypatch.setenv("NPVR_CACHE", str(tmp_path))
    monkeypatch.setattr(priors_module, "_FIT_CACHE", {})
    names = ["stichtingskosten_basisschool", "aandeel_publiek_capaciteit", "normniveau", "bereik_apotheek"]
    fitted = {n: fit_entry(priors[n]) for n in names}
    files = sorted((tmp_path / "fits").glob("*.json"))
    assert len(files) == len(names)
    monkeypatch.setattr(priors_module, "_FIT_CACHE", {})
    files[0].write_text("{not json", encoding="utf-8")
    for n in names:
        marginal, report = fit_entry(priors[n])
        m0, r0 = fitted[n]
        assert marginal.family == m0.family and marginal.params == m0.params, n
        assert (marginal.lower, marginal.upper) == (m0.lower, m0.upper), n
        assert (marginal.table == m0.table).all() and marginal.table.shape == m0.table.shape, n
        assert report == r0, n
    assert all(f.read_text(encoding="utf-8").startswith("{\"family\"") for f in files)
