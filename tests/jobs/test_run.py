"""The Monte Carlo run as a job (``model.jobs.run``): the run folder and its manifest, years, and what a failed run
leaves (the dataset's layout and storage modes: ``tests/output/test_dataset.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from support import check_manifest

from model.deelopgaven.registry import DEELOPGAVEN
from model.errors import UsageError
from model.jobs.run import run_job

FILES = {"dataset.nc", "summary.csv", "summary.md", "manifest.json", "prior_fits.json", "rank_correlations.json",
         "afhankelijkheid.csv", "report.html", "report.xlsx",
         "deelopgaven_intervallen.svg", "s_curve_publieke_restopgave.svg", "s_curve_exploitatielasten.svg",
         "s_curve_investeringsopgave.svg", "s_curve_pm.svg", "regionaal.csv", "regio_totaal.svg",
         *(f"regio_{d.naam}.svg" for d in DEELOPGAVEN if d.kolom is not None)}


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    return run_job(draws=20_000, seed=3, out=tmp_path_factory.mktemp("runs"))


def test_the_run_folder_holds_every_file_and_a_valid_manifest(job):
    assert {p.name for p in job.path.iterdir()} == FILES
    for p in job.path.iterdir():
        assert p.stat().st_size > 0, p.name
    manifest = check_manifest(job.path, "run")
    assert manifest["random"]["seed"] == 3 and manifest["arguments"]["draws"] == 20_000
    assert manifest["random"]["chunk_size"] > 0 and "SFC64" in manifest["random"]["stream"]
    assert {"priors/nieuwbouw.yaml", "priors/bronnen.yaml", "priors/correlaties.yaml",
            "data/npvr_gemeenten_reconstructed.csv"} <= set(manifest["inputs"])
    assert manifest["versions"]["numba"] and manifest["code"]["git_commit"]
    assert set(manifest["results"]["mc_standard_errors"]) >= {"totaal_publieke_restopgave", "capaciteit"}
    assert {"priors/verdeling/verdeelsleutels.yaml", "data/kwb2025_gemeenten.csv", "data/woondeals_2022_2030.csv",
            "data/winkelleegstand_nieuws.csv"} <= set(manifest["inputs"])
    assert manifest["results"]["regionaal"]["trekkingen"] == 16_384
    assert "SFC64" in manifest["results"]["regionaal"]["stream"]


def test_the_three_dependence_views_are_in_the_folder_the_manifest_and_summary_md(job):
    import csv

    with open(job.path / "afhankelijkheid.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["variant"], r["kolom"], r["aanname"]) for r in rows] == [
        (v, k, a) for v in ("laag", "hoog") for k in ("publieke_restopgave", "investeringsopgave", "exploitatielasten")
        for a in ("onafhankelijk", "verklaard", "comonotoon")]
    views = job.manifest["results"]["afhankelijkheid"]
    assert [float(r["p95"]) for r in rows] == [v["p95"] for v in views]
    totals = {r["output"]: r for r in job.rows}
    for v in views:
        if v["aanname"] == "verklaard" and v["variant"] == "laag":        # the run itself
            assert v["p50"] == pytest.approx(totals[f"totaal_{v['kolom']}"]["p50"], rel=1e-6)
    # the declared common factors (priors/correlaties.yaml: vulnerable areas, NPLV kentallen, Rebel's restopgave,
    # construction costs) widen the totals beyond independence, and less than full dependence (at 20,000 draws the
    # widths' Monte Carlo error is about 1%; the declared widening is about 10% for the restopgave, 4% for the
    # investeringsopgave, whose largest part, capaciteit, shares no factor)
    width = {(v["variant"], v["kolom"], v["aanname"]): v["p95"] - v["p5"] for v in views}
    assert width["laag", "publieke_restopgave", "onafhankelijk"] * 1.04 < width["laag", "publieke_restopgave",
                                                                                  "verklaard"]
    for kolom in ("publieke_restopgave", "investeringsopgave"):
        assert width["laag", kolom, "onafhankelijk"] * 0.99 < width["laag", kolom, "verklaard"] \
            < width["laag", kolom, "comonotoon"] / 1.1, kolom
    md = (job.path / "summary.md").read_text(encoding="utf-8")
    assert "## Afhankelijkheid tussen deelopgaven" in md and "volledig afhankelijk (comonotoon)" in md
    p = round(100 * totals["totaal_publieke_restopgave"]["p_rapport"])
    assert f"het rapport (3,60) ligt op P{p}." in md and "som van de medianen" in md


def test_a_second_run_never_overwrites_the_first(job):
    again = run_job(draws=2_000, seed=3, out=job.path.parent)
    assert again.path != job.path and (job.path / "manifest.json").exists()
    assert not [p for p in job.path.parent.iterdir() if p.name.startswith(".tmp")]


def test_years_add_rows_and_a_group(tmp_path):
    job = run_job(draws=2_000, seed=2, out=tmp_path, jaren=True, scenario="bouwkosten_hoog")
    soorten = {r["soort"] for r in job.rows}
    assert {"per_jaar_reeel", "per_jaar_nominaal", "contante_waarde"} <= soorten
    with xr.open_dataset(job.path / "dataset.nc", group="jaren", engine="h5netcdf") as ds:
        assert ds["per_jaar_reeel"].dims == ("groep", "jaar", "kwantiel")
    manifest = check_manifest(job.path, "run")
    assert manifest["arguments"]["scenario"] == "bouwkosten_hoog"
    assert "scenarios/bouwkosten_hoog.toml" in manifest["inputs"] and "scenarios/jaren.yaml" in manifest["inputs"]


def test_a_failed_run_leaves_nothing(tmp_path, monkeypatch):
    from model.output import charts

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(charts, "intervals", broken)
    with pytest.raises(OSError):
        run_job(draws=1_000, seed=1, out=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_variants_share_every_draw_and_differ_by_the_choice_alone(job):
    """Common random numbers: laag and hoog sample the same entries from the same stream, so an output no choice
    enters has identical draws in both, and one the choices move (capaciteit) is larger in hoog draw by draw.
    Every point figure the report prints is of such an unmoved output (the rule of variant_figure)."""
    from model.spec.published import SHOWN

    laag, hoog = job.variant_results["laag"], job.variant_results["hoog"]
    assert laag.plan.names == hoog.plan.names and "normniveau" not in laag.plan.names
    assert laag.plan.constants["normniveau"] == 0.0 and hoog.plan.constants["normniveau"] == 1.0
    for name, figures in SHOWN.items():
        if len(figures) == 1:
            np.testing.assert_array_equal(laag.draws_of(name), hoog.draws_of(name), err_msg=name)
    assert np.all(hoog.draws_of("capaciteit") >= laag.draws_of("capaciteit"))
    assert np.all(hoog.draws_of("bereikbaarheid") > laag.draws_of("bereikbaarheid"))
    # the rows of both variants are in summary.csv, the main variant's first, and in the dataset's group
    from model.output.tables import read_summary

    back = read_summary(job.path / "summary.csv")
    assert [r["variant"] for r in back] == ["laag"] * len(job.rows) + ["hoog"] * len(job.varianten["hoog"])
    with xr.open_dataset(job.path / "dataset.nc", group="varianten", engine="h5netcdf") as g:
        assert list(g["variant"].values) == ["laag", "hoog"]
        assert g["keuze_normniveau"].values.tolist() == [0.0, 1.0]
        assert g["opgave"].dims == ("andere_variant", "draw", "aggregaat")     # the main one's: group prior
        inv = g["rapport"].sel(uitkomst="totaal_investeringsopgave").values.tolist()
        assert inv == [6.3e9, 11.8e9]
    from model.output.dataset import variant_draws

    both = variant_draws(job.path / "dataset.nc")
    assert both.dims == ("variant", "draw", "aggregaat") and list(both["variant"].values) == ["laag", "hoog"]
    for v, res in (("laag", laag), ("hoog", hoog)):
        np.testing.assert_allclose(both.sel(variant=v, aggregaat="capaciteit").values, res.draws_of("capaciteit"),
                                   rtol=6e-8)
    md = (job.path / "summary.md").read_text(encoding="utf-8")
    assert md.startswith("## Beleidsvarianten") and "normniveau = 1" in md
    assert job.manifest["results"]["varianten"]["geevalueerd"] == ["laag", "hoog"]
    assert "scenarios/varianten.toml" in job.manifest["inputs"]


@pytest.mark.slow
def test_a_precision_run_stops_below_its_target_and_is_the_same_on_one_and_two_threads(tmp_path):
    """0.2% needs more than the first round on this model (about 2·10^5 draws): the rounds, the draws and every
    number are the same on 1 and 2 threads; the errors reached are the summary's own."""
    jobs = [run_job(precision=0.002, seed=5, threads=t, out=tmp_path / str(t), store="none") for t in (1, 2)]
    a, b = (j.manifest["results"]["precisie"] for j in jobs)
    assert a["bereikt"] and len(a["rondes"]) >= 2 and a["rondes"] == b["rondes"] and a["trekkingen"] == b["trekkingen"]
    assert jobs[0].result.draws == a["trekkingen"] == jobs[0].manifest["arguments"]["draws"]
    assert (jobs[0].path / "summary.csv").read_bytes() == (jobs[1].path / "summary.csv").read_bytes()
    for variant, rows in jobs[0].varianten.items():
        for r in rows:
            if r["soort"] == "kolom":
                for k in ("p5", "p50", "p95"):
                    assert r[f"mcse_{k}"] / r[k] <= 0.002, (variant, r["output"], k)
                    assert a["relatieve_fouten"][variant][r["output"]][k] == pytest.approx(r[f"mcse_{k}"] / r[k])
    # the rounds before the last missed the target
    assert all(r["grootste_relatieve_fout"] > 0.002 for r in a["rondes"][:-1])


def test_a_precision_out_of_reach_stops_at_the_most_draws_and_says_so(tmp_path):
    with pytest.warns(UserWarning, match=r"precision 0.01% not reached at the most draws \(65,536\)"):
        job = run_job(precision=0.0001, max_draws=65_536, seed=5, out=tmp_path, store="none")
    p = job.manifest["results"]["precisie"]
    assert not p["bereikt"] and p["trekkingen"] == 65_536 == job.result.draws
    assert [r["trekkingen"] for r in p["rondes"]] == [32_768, 65_536]
    with pytest.raises(UsageError, match="precision must be a share between 0 and 0.5"):
        run_job(precision=0.7, out=tmp_path)
