"""The calibration job (``model.jobs.calibrate``): the run folder and its manifest, reading the posterior back, the
command's exit status, and a Monte Carlo run on a posterior.

One short calibration (2 chains) is shared by the tests; they check what the folder holds and what follows from
its manifest, not whether this seed passed the thresholds. Where a usable run is needed, a copy of the folder gets
a manifest that says so (``_as_usable``), so no test depends on a lucky seed.
"""

from __future__ import annotations

import csv
import json
import shutil

import arviz as az
import numpy as np
import pytest
from support import check_manifest, cli

from model.analysis.calibration.model import calibrated_names
from model.analysis.calibration.sampling import Config, Thresholds
from model.errors import PriorError
from model.jobs.calibrate import (
    GEKALIBREERD,
    RUN_PREFIX,
    calibrate_job,
    find_calibrations,
    load_posterior,
)
from model.output.tables import read_summary
from model.spec.priors import load_priors
from model.spec.provenance import INDEPENDENT_FILE, ONAFHANKELIJK, calibration_priors
from model.spec.published import PUBLISHED

#: What these tests check is the job's plumbing (files, manifest, reading back), not the posterior: a short run with
#: shallow trajectories (at most 2**5 leapfrog steps) keeps them quick, on PyMC's sampler (whose compiled C modules
#: every model of a test session shares; the shipped configurations' sampler, NumPyro, runs through the job in
#: notebook 03).
SHORT = Config("test", draws=200, tune=300, chains=2, target_accept=0.95, max_treedepth=5, sampler="pymc",
               thresholds=Thresholds(min_ess_bulk=150.0, min_ess_tail=150.0))
RUN_FILES = {"posterior.nc", "diagnostics.json", "prior_posterior.csv", "prior_posterior.png", "prior_posterior.svg",
             "ppc.csv", "manifest.json"}
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    return calibrate_job(None, SHORT, seed=11, out=tmp_path_factory.mktemp("runs"), prior_draws=300)


def _as_usable(folder, target_dir, name, config="full", created_at=None):
    """A copy of a calibration run folder whose manifest says it is usable (in configuration ``config``)."""
    copy = target_dir / name
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["results"].update(usable=True, config=config)
    if created_at is not None:
        manifest["created_at"] = created_at
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return copy


def test_the_run_folder_is_complete_and_its_manifest_agrees(job):
    assert {p.name for p in job.path.iterdir()} == RUN_FILES
    assert job.path.name.startswith(f"{RUN_PREFIX}-test-")
    assert not [p for p in job.path.parent.iterdir() if p.name.startswith(".tmp")]
    manifest = check_manifest(job.path, "calibrate")
    diagnostics = json.loads((job.path / "diagnostics.json").read_text(encoding="utf-8"))
    assert manifest["random"]["seed"] == 11
    assert manifest["arguments"]["max_treedepth"] == SHORT.max_treedepth == 5
    assert manifest["arguments"]["sampler"] == "PyMC NUTS" and manifest["arguments"]["sampler_name"] == "pymc"
    assert manifest["results"]["usable"] == diagnostics["usable"] == job.usable
    assert manifest["results"]["usable"] == all(c["pass"] for c in manifest["results"]["checks"].values())
    assert set(diagnostics["parameters"]) >= set(calibrated_names(load_priors()))
    idata = az.from_netcdf(job.path / "posterior.nc")
    assert {"posterior", "sample_stats", "posterior_predictive", "prior", "prior_predictive"} <= set(idata.groups())
    assert len((job.path / "ppc.csv").read_text(encoding="utf-8").splitlines()) == len(PUBLISHED) + 1
    # every figure used once: the calibration used the independent prior set, and says so
    used = calibration_priors(load_priors())
    assert manifest["arguments"]["prior_set"] == ONAFHANKELIJK
    assert manifest["results"]["prior_set"] == used.manifest()
    assert manifest["inputs"][used.file] == used.sha256
    assert json.loads(idata.posterior.attrs["npvr_prior_set"]) == used.manifest()
    rows = {r["parameter"]: r for r in csv.DictReader(open(job.path / "prior_posterior.csv", encoding="utf-8"))}
    assert {rows[n]["file"] for n in used.replaced} == {INDEPENDENT_FILE}


def test_the_posterior_is_read_back_as_joint_rows(job, tmp_path):
    post = load_posterior(job.path, allow_unusable=True)
    assert post.draws.shape == (SHORT.chains * SHORT.draws, len(post.names))
    assert post.names == calibrated_names(load_priors())
    stacked = job.calibration.idata.posterior["kental"].stack(sample=("chain", "draw")).transpose("sample",
                                                                                                 "parameter")
    np.testing.assert_array_equal(post.draws, stacked.values)
    if not job.usable:
        with pytest.raises(PriorError, match="not usable"):
            load_posterior(job.path)


def test_gekalibreerd_is_the_newest_usable_full_run_else_a_quick_one(job, tmp_path):
    quick = _as_usable(job.path, tmp_path, f"{RUN_PREFIX}-quick-a", config="quick", created_at="2026-01-01T00:00:00Z")
    with pytest.warns(UserWarning, match="quick"):
        assert load_posterior(GEKALIBREERD, [tmp_path]).folder == quick
    full = _as_usable(job.path, tmp_path, f"{RUN_PREFIX}-full-b", created_at="2026-01-02T00:00:00Z")
    assert load_posterior(GEKALIBREERD, [tmp_path]).folder == full
    assert [p.name for p, _ in find_calibrations([tmp_path])] == [quick.name, full.name]
    with pytest.raises(PriorError, match="no usable calibration run"):
        load_posterior(GEKALIBREERD, [tmp_path / "empty"])


def test_a_damaged_run_folder_is_an_error_naming_it(job, tmp_path):
    """On a78215f a damaged posterior.nc or diagnostics.json ended in a traceback. The verdict now lives in the
    manifest: a truncated diagnostics.json (a report for people) does not change what is read, a damaged
    posterior.nc or manifest is an error naming the file."""
    bad = _as_usable(job.path, tmp_path, f"{RUN_PREFIX}-full-bad")
    diagnostics = bad / "diagnostics.json"
    diagnostics.write_bytes(diagnostics.read_bytes()[:10])
    assert load_posterior(bad).draws.shape[0] > 0 and np.isfinite(load_posterior(bad).draws).all()
    (bad / "posterior.nc").write_bytes(b"not a netCDF file")
    with pytest.raises(PriorError, match="posterior.nc: \\(file\\): not a readable posterior"):
        load_posterior(bad)
    (bad / "manifest.json").write_text("{truncated", encoding="utf-8")
    with pytest.raises(PriorError, match="manifest.json: \\(file\\): not a readable manifest"):
        load_posterior(bad)


def test_the_command_exits_1_when_the_run_is_not_usable(tmp_path):
    """A calibration far too short for the thresholds (ESS > 400 from 60 draws) is refused: exit 1 and a message,
    the run written and marked not usable."""
    proc = cli("calibrate", "--draws", "30", "--tune", "30", "--chains", "2", "--max-treedepth", "4",
               "--sampler", "pymc", "--out", str(tmp_path))
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "NOT usable" in proc.stderr
    assert f"priors: {ONAFHANKELIJK} (priors/{INDEPENDENT_FILE}" in proc.stdout
    (run,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert json.loads((run / "manifest.json").read_text())["results"]["usable"] is False


def test_a_run_on_the_posterior(job, tmp_path):
    """``cli.py run --priors <calibration run>``: every sampled entry comes from the posterior's joint rows; the
    manifest names the calibration folder and the hash of its posterior."""
    folder = _as_usable(job.path, tmp_path, f"{RUN_PREFIX}-full-c")
    proc = cli("run", "--priors", str(folder), "--draws", "3000", "--out", str(tmp_path / "runs"), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    manifest = json.loads((tmp_path / "runs" / out["run_dir"].rsplit("/", 1)[-1] / "manifest.json").read_text())
    assert manifest["arguments"]["posterior"] == str(folder)
    assert manifest["results"]["posterior"]["rows"] == SHORT.chains * SHORT.draws
    assert f"{folder.name}/posterior.nc" in manifest["inputs"]
    assert manifest["results"]["sampled_entries"] == 0
    totaal = out["totaal"]["publieke_restopgave"]
    assert totaal["p5"] < totaal["p50"] < totaal["p95"]
    # Monte Carlo errors from the posterior's effective sample size, not from the 3,000 resampled draws
    post = manifest["results"]["posterior"]
    assert out["posterior"] == post and 1 <= post["ess"] <= post["rows"]
    assert post["mcse_n_eff"] == pytest.approx(1 / (1 / 3000 + 1 / post["ess"]))
    rows = {r["output"]: r for r in read_summary(tmp_path / "runs" / out["run_dir"].rsplit("/", 1)[-1]
                                                 / "summary.csv")}
    r = rows["totaal_publieke_restopgave"]
    assert r["mcse_mean"] == pytest.approx(r["sd"] / np.sqrt(post["mcse_n_eff"]), rel=1e-9)
    md = (tmp_path / "runs" / out["run_dir"].rsplit("/", 1)[-1] / "summary.md").read_text(encoding="utf-8")
    assert md.startswith(f"Trekkingen uit de posterior van kalibratie {folder.name} ") and post["posterior_sha256"][:12] in md
    text = cli("run", "--priors", str(folder), "--draws", "3000", "--out", str(tmp_path / "runs"))
    assert text.returncode == 0 and text.stdout.startswith("Trekkingen uit de posterior van kalibratie"), text.stderr


def test_the_calibrated_run_is_found_from_any_working_directory_with_out(job, tmp_path):
    """``run --priors gekalibreerd --out DIR`` looks in DIR (relative to the working directory) and the project's
    runs/, whatever the working directory is."""
    import subprocess
    import sys

    from model.paths import REPO

    runs, elsewhere = tmp_path / "runs", tmp_path / "ergens" / "anders"
    runs.mkdir()
    elsewhere.mkdir(parents=True)
    full = _as_usable(job.path, runs, f"{RUN_PREFIX}-full-z", created_at="2099-01-01T00:00:00Z")
    proc = subprocess.run([sys.executable, str(REPO / "cli.py"), "run", "--priors", GEKALIBREERD, "--draws", "2000",
                           "--out", "../../runs", "--json"], cwd=elsewhere, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["posterior"]["folder"] == str(full.resolve())          # recorded absolute: readable from anywhere
    assert (elsewhere / out["run_dir"]).resolve().parent == runs.resolve()
