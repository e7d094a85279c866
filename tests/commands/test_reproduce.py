"""``cli.py reproduce`` and ``cli.py priors`` (``model.commands.reproduce``): what they print, as text and JSON, and
how they refuse bad priors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from model.analysis.report import reproduce
from model.deelopgaven.registry import KOLOMMEN
from model.paths import PRIORS_DIR
from model.spec.priors import load_priors
from support import assert_printed, cli

FILE = "ov_eenmalig.yaml"
ENTRY = "eenmalige_ov_kosten_per_provincie"


@pytest.fixture(scope="module")
def cli_json() -> dict:
    proc = cli("reproduce", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def cli_text() -> str:
    proc = cli("reproduce")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _non_pm_sum(rows: list[dict], kolom: str) -> list[float]:
    chosen = [r for r in rows if r["kolom"] == kolom and not r["pm"]]
    return [sum(r["laag"] for r in chosen), sum(r["hoog"] for r in chosen)]


def test_cli_json_totaal(cli_json):
    totaal = cli_json["totaal"]
    assert set(totaal) == {"publieke_restopgave", "exploitatielasten", "investeringsopgave"}
    for kolom, v in totaal.items():
        assert isinstance(v, list) and len(v) == 2 and v[0] <= v[1], (kolom, v)
    for kolom, (laag, hoog) in {"publieke_restopgave": (3.6, 3.6), "exploitatielasten": (0.6, 0.6),
                                "investeringsopgave": (6.3, 11.8)}.items():
        assert_printed(totaal[kolom][0], laag, 1)
        assert_printed(totaal[kolom][1], hoog, 1)


def test_cli_json_totaal_excludes_pm(cli_json):
    rows = cli_json["deelopgaven"]
    assert any(r["pm"] for r in rows)
    for kolom, v in cli_json["totaal"].items():
        assert v == pytest.approx(_non_pm_sum(rows, kolom), rel=1e-12), kolom


def test_cli_json_matches_reproduce(cli_json):
    result = reproduce()
    for kolom in KOLOMMEN:
        assert cli_json["totaal"][kolom] == pytest.approx(result["totaal"][kolom], rel=1e-12)


@pytest.mark.parametrize("fragment", ["€3,6 mld.", "€6,3 - €11,8 mld.", "PM", "Tabel 1.1: inwoners"])
def test_cli_text_table(cli_text, fragment):
    assert fragment in cli_text


def _corrupt(tmp_path: Path, key: str, value) -> Path:
    target = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, target)
    path = target / FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["entries"][ENTRY][key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


@pytest.mark.parametrize("command", ["reproduce", "priors"])
@pytest.mark.parametrize("key, value", [("colour", "red"), ("point", -1), ("sources", ["no_such_source_2099"])])
def test_bad_priors_exit_2_naming_file_and_entry(tmp_path, command, key, value):
    proc = cli(command, "--priors", str(_corrupt(tmp_path, key, value)))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert FILE in proc.stderr and ENTRY in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_priors_json_reports_every_entry_within_tolerance():
    proc = cli("priors", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["entry"] for r in rows} == set(load_priors(fit=False).entries)
    for r in rows:
        assert r["max_rel_error"] <= 0.02, r
        assert set(r["stated"]) == set(r["achieved"])


@pytest.mark.parametrize("command", ["reproduce", "priors"])
def test_the_declared_correlations_are_checked_by_every_command(tmp_path, command):
    """On a78215f ``priors`` and ``reproduce`` never read ``correlaties.yaml``: a rank correlation of 1.5 passed."""
    target = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, target)
    path = target / "correlaties.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["paren"][0][2] = 1.5
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    proc = cli(command, "--priors", str(target))
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert proc.stderr.startswith("error: correlaties.yaml: ") and "1.5" in proc.stderr, proc.stderr
