"""``cli.py run`` (``model.commands.run``): the JSON and the text a user reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import cli


def _check_regionaal(res):
    """The member ``regionaal``: every region and gemeente of the run with inhabitants and dwellings (KWB 2025) and
    every deelopgave of the registry as {mean, p5, p50, p95}, per inhabitant and per dwelling too."""
    from model.deelopgaven.registry import DEELOPGAVEN
    from model.spec.data import REGIOS, load_gebieden

    reg = res["regionaal"]
    gebieden = load_gebieden()
    deelopgaven = [d.naam for d in DEELOPGAVEN if d.kolom is not None]
    assert reg["variant"] == "laag" and reg["eenheid"] == "EUR"
    assert list(reg["regio"]) == list(REGIOS) and sorted(reg["gemeente"]) == sorted(gebieden.gm_code)
    for level in ("regio", "gemeente"):
        for code, entry in reg[level].items():
            assert entry["inwoners"] > 0 and entry["woningen"] > 0, code
            for d in deelopgaven:
                f = entry[d]
                assert 0 <= f["p5"] <= f["p50"] <= f["p95"] and f["mean"] >= 0, (code, d)
                assert f["per_inwoner"]["p50"] == pytest.approx(f["p50"] / entry["inwoners"]), (code, d)
                assert f["per_woning"]["p50"] == pytest.approx(f["p50"] / entry["woningen"]), (code, d)
    for code, entry in reg["gemeente"].items():
        assert entry["regio"] in REGIOS and entry["naam"] == gebieden.gemeente[gebieden.gm_code.index(code)]
    for d in deelopgaven:   # the regions add up to the deelopgave: their means to its mean over the same draws
        assert sum(reg["regio"][r][d]["mean"] for r in REGIOS) == pytest.approx(
            sum(g[d]["mean"] for g in reg["gemeente"].values()), rel=1e-9)
        assert sum(reg["regio"][r][d]["kans_eerste"] for r in REGIOS) == pytest.approx(1.0)


def test_run_json_intervals_contain_the_report_figures(tmp_path):
    proc = cli("run", "--draws", "20000", "--json", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    # the report's figure per column and variant: a bandwidth's low end in laag, its high end in hoog
    printed = {"laag": {"publieke_restopgave": 3.6e9, "exploitatielasten": 0.6e9, "investeringsopgave": 6.3e9},
               "hoog": {"publieke_restopgave": 3.6e9, "exploitatielasten": 0.6e9, "investeringsopgave": 11.8e9}}
    assert list(res["varianten"]) == ["laag", "hoog"] and res["variant"] == "laag"
    for v, figures in printed.items():
        for k, x in figures.items():
            t = res["varianten"][v]["totaal"][k]
            assert set(t) >= {"mean", "p5", "p50", "p95", "p_rapport"}
            assert t["p5"] <= x <= t["p95"], (v, k, t)        # 6.3 inside laag, 11.8 inside hoog
            assert t["rapport"] == x and 0 < t["p_rapport"] < 1
            assert t["p_boven_rapport"] == pytest.approx(1 - t["p_rapport"])
    # the top-level totaal is the main variant's, the same numbers
    for k in printed["laag"]:
        for s in ("mean", "p5", "p50", "p95", "p_rapport"):
            assert res["totaal"][k][s] == res["varianten"]["laag"]["totaal"][k][s]
    assert res["varianten"]["hoog"]["keuzes"] == {"normniveau": 1.0, "vraagjaar": 1.0}
    assert Path(res["run_dir"]).parent == tmp_path
    assert {r["output"] for r in res["uitkomsten"]} >= {"totaal_pm", "capaciteit",
                                                       "deel_gezonde_toekomst_regio_meerdere"}
    _check_regionaal(res)
    views = {(r["variant"], r["kolom"], r["aanname"]): r for r in res["afhankelijkheid"]}
    assert len(views) == 18 and res["posterior"] is None
    for v in printed:
        for kolom in printed[v]:
            assert views[v, kolom, "comonotoon"]["p95"] - views[v, kolom, "comonotoon"]["p5"] >= \
                (views[v, kolom, "verklaard"]["p95"] - views[v, kolom, "verklaard"]["p5"]) * 0.999


def test_run_variant_and_grid(tmp_path):
    """--variant picks the main variant (the top-level totaal); --rooster evaluates the §3.5 grid; a variant the
    file does not declare is refused with the file and the name."""
    proc = cli("run", "--draws", "4000", "--json", "--rooster", "--variant", "hoog", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    assert res["variant"] == "hoog" and list(res["varianten"]) == ["hoog", "laag", "nu_mediaan", "2035_q1"]
    assert res["totaal"]["investeringsopgave"]["rapport"] == 11.8e9
    cap = {v: res["varianten"][v]["deelopgaven"]["capaciteit"] for v in res["varianten"]}
    assert cap["nu_mediaan"]["rapport"] == 5.5e9 and cap["2035_q1"]["rapport"] == 1.7e9
    assert cap["laag"]["p50"] < cap["2035_q1"]["p50"] < cap["nu_mediaan"]["p50"] < cap["hoog"]["p50"]
    bad = cli("run", "--draws", "1000", "--variant", "midden", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "varianten.toml: variant: unknown variant 'midden'" in bad.stderr, bad.stderr
    assert not (tmp_path / "x").exists()


def test_run_text_shows_the_tables_and_the_folder(tmp_path):
    proc = cli("run", "--draws", "3000", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "uitkomst (mld. €, prijspeil 2024)" in proc.stdout and "Zuid-Limburg" in proc.stdout
    assert "report.html" in proc.stdout and "herstructurering_woningen" not in proc.stdout
    assert "3.000 trekkingen, seed 20250101" in proc.stdout and str(tmp_path) in proc.stdout


@pytest.mark.slow
def test_run_scenario_rapport_hoog_json_has_the_years_and_present_values(tmp_path):
    """``run --scenario rapport_hoog``: the report's high end as the main variant, with the year model: per goal and
    year in prices of 2024 and current prices, and the present value at 2.25% with 1.6% and 3% beside it."""
    proc = cli("run", "--scenario", "rapport_hoog", "--draws", "20000", "--json", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    assert res["scenario"] == "rapport_hoog" and res["variant"] == "hoog" and list(res["varianten"])[0] == "hoog"
    j = res["jaren"]
    assert j["discontovoet"] == 0.0225 and j["prijspeil"] == 2024 and j["eenheid"] == "EUR"
    years = [str(y) for y in range(2025, 2036)]
    for prijzen in ("reeel", "nominaal"):
        assert set(j["per_jaar"][prijzen]) == {"veilig_leefbaar", "voorzieningen", "gezonde_toekomst", "totaal"}
        assert list(j["per_jaar"][prijzen]["totaal"]) == years
    real = j["per_jaar"]["reeel"]["totaal"]
    real_sum = sum(real[y]["mean"] for y in years)         # means add up: exact for sums
    total = sum(res["varianten"]["hoog"]["totaal"][k]["mean"] for k in ("publieke_restopgave", "exploitatielasten",
                                                                         "investeringsopgave"))
    # real amounts carry the real construction-cost escalation of the investment lines: within a few tens of
    # percent of the run's total without PM (the escalation's prior, scenarios/jaren.yaml)
    assert 0.9 * total < real_sum < 1.5 * total
    # nominal above real from 2026 on (prices rise), present values below the real flows and falling with the rate
    assert all(j["per_jaar"]["nominaal"]["totaal"][y]["p50"] > real[y]["p50"] for y in years[1:])
    cw = j["contante_waarde"]
    assert list(cw) == ["0.0225", "0.0160", "0.0300"]
    assert real_sum > cw["0.0160"]["mean"] > cw["0.0225"]["mean"] > cw["0.0300"]["mean"]
    assert cw["0.0160"]["p50"] > cw["0.0225"]["p50"] > cw["0.0300"]["p50"]
    folder = Path(res["run_dir"])
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["arguments"]["scenario"] == "rapport_hoog" and manifest["results"]["jaren"]["gevoeligheid"] == [0.016, 0.03]
    assert (folder / "fan_chart.svg").is_file() and "Kasritme en contante waarde" in (folder / "report.html").read_text(
        encoding="utf-8")
    proc = cli("run", "--scenario", "rapport_hoog", "--priors", "priors", "--draws", "1000", "--out", str(tmp_path))
    assert proc.returncode == 2 and "either priors or a scenario" in proc.stderr


def test_run_precision_json_stops_below_one_percent_and_reports_the_draws(tmp_path):
    proc = cli("run", "--precision", "1%", "--json", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    p = res["precisie"]
    assert p["doel"] == 0.01 and p["bereikt"] and res["trekkingen"] == p["trekkingen"] == p["rondes"][-1]["trekkingen"]
    assert set(p["relatieve_fouten"]) == set(res["varianten"]) == {"laag", "hoog"}
    for variant, per in p["relatieve_fouten"].items():
        assert set(per) == {"totaal_publieke_restopgave", "totaal_exploitatielasten", "totaal_investeringsopgave"}
        assert all(0 < e <= 0.01 for ks in per.values() for e in ks.values()), variant
    manifest = json.loads((Path(res["run_dir"]) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["results"]["precisie"] == p and manifest["arguments"]["precision"] == 0.01
    for bad, message in ((["--precision", "0%"], "must be above 0 and below 50%"),
                         (["--precision", "een procent"], "must be a percentage such as 0.5%"),
                         (["--precision", "1%", "--draws", "1000"], "give --draws or --precision, not both")):
        proc = cli("run", *bad, "--out", str(tmp_path / "x"))
        assert proc.returncode == 2 and message in proc.stderr, (bad, proc.stderr[-500:])
    assert not (tmp_path / "x").exists()
