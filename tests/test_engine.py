"""Monte Carlo engine: reproducibility, one code path with report mode, dependence, outputs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import arviz as az
import numpy as np
import pytest
import xarray as xr
from scipy import stats

from model import engine
from model.dependence import rank_correlation_report
from model.priors import fit_entry, load_priors
from model.report import evaluate_setting

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plan():
    return engine.make_plan(chunk_size=4096)


def test_bit_identical_across_threads(plan):
    one = engine.run(plan=plan, draws=20_000, seed=11, threads=1)
    two = engine.run(plan=plan, draws=20_000, seed=11, threads=2)
    assert np.array_equal(one.outputs, two.outputs)
    assert np.array_equal(one.stats.mean, two.stats.mean) and np.array_equal(one.stats.m2, two.stats.m2)


def test_bit_identical_across_task_splits(plan):
    whole = engine.run(plan=plan, draws=20_000, seed=5, threads=1)
    chunks = engine.chunk_bounds(20_000, plan.chunk_size)
    parts = []
    for task in (chunks[:2], chunks[2:3], chunks[3:]):   # three "tasks" of unequal size
        parts += engine.run_chunks(plan, 5, task, keep=True)
    merged = engine.merge_stats([p[0] for p in parts])
    assert np.array_equal(np.concatenate([p[1][0] for p in parts], axis=1), whole.outputs)
    assert np.array_equal(merged.mean, whole.stats.mean) and np.array_equal(merged.m2, whole.stats.m2)


def test_streaming_summaries_match_kept_draws(plan):
    kept = engine.run(plan=plan, draws=30_000, seed=3, keep=True)
    streamed = engine.run(plan=plan, draws=30_000, seed=3, keep=False)
    assert streamed.outputs is None and streamed.stats.counts is not None
    np.testing.assert_allclose(streamed.stats.mean, kept.stats.mean, rtol=1e-12)
    from model.summary import summarise
    a, b = summarise(kept), summarise(streamed)
    for ra, rb in zip(a, b):
        for p in ("p5", "p50", "p95"):
            assert abs(ra[p] - rb[p]) <= 3 * ra["mcse_" + p] + 1e-3 * abs(ra[p]), (ra["output"], p)


def test_seed_changes_results(plan):
    a = engine.run(plan=plan, draws=5_000, seed=1)
    b = engine.run(plan=plan, draws=5_000, seed=2)
    assert not np.array_equal(a.outputs, b.outputs)


def test_degenerate_priors_reproduce_report_mode():
    priors = load_priors()
    fixed = {n: e.point for n, e in priors.entries.items()}
    plan = engine.make_plan(priors, overrides=fixed)
    assert plan.names == ()
    res = engine.run(plan=plan, draws=10, seed=0)
    point = evaluate_setting(priors, plan.gebieden, "point")
    for i, out in enumerate(plan.outputs):
        if out.soort == "lijn":
            expected = point[out.naam[len("lijn_"):]]
            assert np.all(res.outputs[i] == expected), out.naam


def test_numba_disabled_gives_the_same_numbers(tmp_path):
    code = ("import numpy as np; from model import engine; "
            "r = engine.run(draws=3000, seed=9, chunk_size=1024); np.save(r'{}', r.outputs)")
    for flag in ("0", "1"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=flag)
        subprocess.run([sys.executable, "-c", code.format(tmp_path / f"jit{flag}.npy")], cwd=REPO, env=env,
                       check=True, timeout=600)
    jit, plain = np.load(tmp_path / "jit0.npy"), np.load(tmp_path / "jit1.npy")
    np.testing.assert_allclose(jit, plain, rtol=1e-10, atol=0)


def test_achieved_rank_correlations(plan):
    res = engine.run(plan=plan, draws=60_000, seed=4)
    samples = np.vstack([res.inputs[n] for n in plan.names])
    report = rank_correlation_report(samples, plan.copula)
    assert report, "the default priors declare correlations"
    for r in report:
        assert abs(r["achieved"] - r["requested"]) <= 4 * r["mc_se"] + 0.01, r


def test_sampled_marginals_match_scipy(plan):
    res = engine.run(plan=plan, draws=20_000, seed=8)
    for name in ("nieuwbouw_woningen_npvr", "publieke_kosten_per_m2_winkel", "normniveau",
                 "exploitatiejaren_in_periode", "aandeel_kwetsbare_woningen", "bereik_apotheek"):
        m = fit_entry(plan.priors[name])[0]
        assert stats.kstest(res.inputs[name], m.cdf).pvalue > 1e-3, name


def test_cli_run_json_intervals_contain_report_figures(tmp_path):
    out = subprocess.run([sys.executable, "cli.py", "run", "--draws", "20000", "--json", "--out", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, check=True, timeout=600)
    res = json.loads(out.stdout)
    printed = {"publieke_restopgave": (3.6e9, 3.6e9), "exploitatielasten": (0.6e9, 0.6e9),
               "investeringsopgave": (6.3e9, 11.8e9)}
    for k, (lo, hi) in printed.items():
        t = res["totaal"][k]
        assert set(t) >= {"mean", "p5", "p50", "p95"}
        assert t["p5"] <= lo and hi <= t["p95"], (k, t)
    run_dir = Path(res["run_dir"])
    for f in ("dataset.nc", "summary.csv", "summary.md", "manifest.json", "s_curves.png", "s_curves.svg",
              "deelopgaven_intervallen.png", "prior_fits.json", "rank_correlations.json"):
        assert (run_dir / f).stat().st_size > 0, f
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seed"] == 20250101 and manifest["draws"] == 20000 and manifest["chunk_size"] > 0
    assert set(manifest["prior_hashes"]) >= {"nieuwbouw.yaml", "bronnen.yaml"}
    assert manifest["versions"]["numba"]
    # readable without our code
    ds = xr.open_dataset(run_dir / "dataset.nc", engine="h5netcdf")
    assert ds["opgave"].dims == ("draw", "uitkomst") and ds["opgave"].attrs["units"] == "EUR"
    idata = az.from_netcdf(run_dir / "dataset.nc")
    assert idata.prior["opgave"].dims[:2] == ("chain", "draw")
    # a second run never overwrites the first
    subprocess.run([sys.executable, "cli.py", "run", "--draws", "2000", "--out", str(tmp_path)], cwd=REPO,
                   capture_output=True, check=True, timeout=600)
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("run-")]) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
