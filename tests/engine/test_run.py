"""The Monte Carlo engine (``model.engine.run``): reproducibility, one code path with report mode, dependence,
the kept draws and the compiled model on given values."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from model.analysis.report import evaluate_setting, input_values
from model.deelopgaven.registry import evaluate
from model.engine import run as engine
from model.engine.plan import make_plan
from model.engine.template import Kept
from model.paths import REPO
from model.spec.dependence import rank_correlation_report
from model.spec.priors import fit_entry, load_priors


@pytest.fixture(scope="module")
def plan():
    return make_plan(chunk_size=4096)


def test_bit_identical_across_threads(plan):
    one = engine.run(plan=plan, draws=20_000, seed=11, threads=1)
    two = engine.run(plan=plan, draws=20_000, seed=11, threads=2)
    assert np.array_equal(one.outputs, two.outputs)
    assert np.array_equal(one.stats.mean, two.stats.mean) and np.array_equal(one.stats.m2, two.stats.m2)


def test_bit_identical_across_task_splits(plan):
    whole = engine.run(plan=plan, draws=20_000, seed=5, threads=1)
    chunks = engine.chunk_bounds(20_000, plan.chunk_size)
    parts, kept = [], []
    for task in (chunks[:2], chunks[2:3], chunks[3:]):   # three "tasks" of unequal size
        first, size = task[0][1], sum(c[2] for c in task)
        k = Kept(np.empty((plan.computed.size, size)), np.zeros((0, 0)), np.zeros((0, 0)))
        parts += engine.run_chunks(plan, 5, task, kept=k, first=first)
        kept.append(k.y)
    merged = engine.merge_stats(parts)
    assert np.array_equal(np.concatenate(kept, axis=1), whole.kept)
    assert np.array_equal(merged.mean, whole.stats.mean) and np.array_equal(merged.m2, whole.stats.m2)


def test_streaming_summaries_match_kept_draws(plan):
    kept = engine.run(plan=plan, draws=30_000, seed=3, keep=True)
    streamed = engine.run(plan=plan, draws=30_000, seed=3, keep=False)
    assert streamed.outputs is None and streamed.stats.counts is not None
    np.testing.assert_allclose(streamed.stats.mean, kept.stats.mean, rtol=1e-12)
    from model.analysis.summary import summarise
    a, b = summarise(kept), summarise(streamed)
    for ra, rb in zip(a, b):
        for p in ("p5", "p50", "p95"):
            assert abs(ra[p] - rb[p]) <= 3 * ra["mcse_" + p] + 1e-3 * abs(ra[p]), (ra["output"], p)


def test_seed_changes_results(plan):
    a = engine.run(plan=plan, draws=5_000, seed=1)
    b = engine.run(plan=plan, draws=5_000, seed=2)
    assert not np.array_equal(a.outputs, b.outputs)


def test_degenerate_priors_reproduce_report_mode():
    """Every entry fixed at its point value: every draw of every line is report mode's value (the compiled kernels
    against their plain-Python run; the compiled exp is within 2 ulp,
    hence 1e-12)."""
    priors = load_priors()
    fixed = {n: e.point for n, e in priors.entries.items()}
    plan = make_plan(priors, overrides=fixed)
    assert plan.names == ()
    res = engine.run(plan=plan, draws=10, seed=0)
    point = evaluate_setting(priors, plan.gebieden, "point")
    for i, out in enumerate(plan.outputs):
        if out.soort == "lijn":
            expected = point[out.naam[len("lijn_"):]]
            np.testing.assert_allclose(res.outputs[i], expected, rtol=1e-12, atol=0, err_msg=out.naam)


@pytest.mark.slow
def test_numba_disabled_gives_the_same_numbers(tmp_path):
    code = ("import numpy as np; from model.engine.run import run; "
            "r = run(draws=3000, seed=9, chunk_size=1024); np.save(r'{}', r.outputs)")
    for flag in ("0", "1"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=flag)
        subprocess.run([sys.executable, "-c", code.format(tmp_path / f"jit{flag}.npy")], cwd=REPO, env=env,
                       check=True, timeout=600)
    jit, plain = np.load(tmp_path / "jit0.npy"), np.load(tmp_path / "jit1.npy")
    np.testing.assert_allclose(jit, plain, rtol=1e-10, atol=0)


def test_achieved_rank_correlations(plan):
    res = engine.run(plan=plan, draws=60_000, seed=4, keep_inputs=True)
    samples = np.vstack([res.inputs[n] for n in plan.names])
    report = rank_correlation_report(samples, plan.copula)
    assert report, "the default priors declare correlations"
    for r in report:
        assert abs(r["achieved"] - r["requested"]) <= 4 * r["mc_se"] + 0.01, r


def test_sampled_marginals_match_scipy(plan):
    res = engine.run(plan=plan, draws=20_000, seed=8, keep_inputs=True)
    for name in ("nieuwbouw_woningen_npvr", "publieke_kosten_per_m2_winkel", "aandeel_publiek_capaciteit",
                 "exploitatiejaren_in_periode", "aandeel_kwetsbare_woningen", "bereik_apotheek"):
        m = fit_entry(plan.priors[name])[0]
        assert stats.kstest(res.inputs[name], m.cdf).pvalue > 1e-3, name


def test_the_first_draws_of_the_inputs_are_those_of_a_full_keep(plan):
    """``keep_inputs=n`` keeps the first n draws (whole blocks) of the inputs, the very draws of a full keep."""
    full = engine.run(plan=plan, draws=10_000, seed=6, keep_inputs=True)
    first = engine.run(plan=plan, draws=10_000, seed=6, keep_inputs=5_000)
    n = len(next(iter(first.inputs.values())))
    assert 4_000 < n <= 5_000 and n % 256 == 0
    for name in plan.names:
        np.testing.assert_array_equal(first.inputs[name], full.inputs[name][:n])
    assert np.array_equal(first.kept, full.kept)


def test_draws_of_a_multiple_are_its_source_scaled(plan):
    res = engine.run(plan=plan, draws=3_000, seed=2)
    for o, out in enumerate(plan.outputs):
        np.testing.assert_array_equal(res.draws_of(out.naam), plan.factor[o] * res.kept[plan.source[o]])
    np.testing.assert_array_equal(res.outputs[plan.output_index("publieke_restopgave")],
                                  res.draws_of("totaal_publieke_restopgave"))


@pytest.mark.parametrize("setting", ["point", "laag", "hoog"])
def test_compiled_model_and_plain_kernels_agree_at_report_settings(setting):
    """Report mode runs the kernels as plain Python; the compiled model gives the same lines (1e-12)."""
    priors = load_priors(fit=False)
    values = input_values(priors, make_plan(priors).gebieden, setting)
    compiled = engine.evaluate_lines(values)
    python = evaluate(values)
    assert set(compiled) == set(python)
    for name in compiled:
        np.testing.assert_allclose(compiled[name], [python[name]], rtol=1e-12, atol=0, err_msg=name)


@pytest.mark.parametrize("bad", [-1, 2.5, True, 2**63])
def test_run_refuses_a_bad_seed(plan, bad):
    from model.errors import UsageError

    with pytest.raises(UsageError, match="seed"):
        engine.run(plan=plan, draws=10, seed=bad)


@pytest.mark.parametrize("kwargs, message", [
    ({"draws": 0}, "draws must be a positive integer, got 0"),
    ({"draws": 2.5}, "draws must be a positive integer, got 2.5"),
    ({"threads": 0}, "threads must be a positive integer, got 0"),
    ({"seed": 1.0}, "seed must be a non-negative integer"),
    ({"chunk_size": 0}, "chunk_size must be a positive integer, got 0"),
])
def test_run_refuses_bad_counts(kwargs, message):
    from model.errors import UsageError

    with pytest.raises(UsageError, match=message):
        engine.run(**{"draws": 10, **kwargs})


# ------------------------------------------------------------------------------------------- nothing non-finite
HUGE = {"distribution": {"family": "fixed", "value": 1e308}, "point": 1e308, "bounds": [0, None]}


def test_an_output_that_is_not_finite_is_an_error_naming_the_entry(tmp_path):
    """On today's main a fixed prior of 1e308 (inside its bounds) gave P50 = inf with exit 0."""
    from support import priors_with

    from model.errors import PriorError

    directory = priors_with(tmp_path, "ov_eenmalig.yaml", "eenmalige_ov_kosten_per_provincie", **HUGE)
    plan = make_plan(load_priors(directory), chunk_size=1024)
    for keep in (True, False):
        with pytest.raises(PriorError, match=r"\(outputs\): .*ov_eenmalig.* not finite .*entries with extreme "
                                             r"values: eenmalige_ov_kosten_per_provincie \(up to 1e\+308\)"):
            engine.run(plan=plan, draws=2_000, seed=1, keep=keep)
    with pytest.raises(PriorError, match="eenmalige_ov_kosten_per_provincie"):
        engine.evaluate_inputs(plan, np.tile([[m.quantile(0.5)] for m in plan.marginals], (1, 3)))


@pytest.mark.parametrize("value, fragment", [(np.nan, "e.g. nan"), (-1e30, "e.g. -1e+30"), (1.5, "e.g. 1.5")])
def test_joint_draws_outside_their_entrys_bounds_are_refused(plan, value, fragment):
    """On today's main NaN posterior draws gave a NaN mean and -1e30 for a fraction a PM total of -2.2e39 EUR."""
    from model.errors import PriorError

    draws = np.full((10, 1), 0.3)
    draws[7, 0] = value
    with pytest.raises(PriorError, match=r"^run-x/posterior.nc: aandeel_kwetsbare_woningen: 1 of 10 draws are not "
                                         rf"finite or lie outside the hard bounds \[0, 1\] .*{re.escape(fragment)}"):
        make_plan(plan.priors, posterior=(("aandeel_kwetsbare_woningen",), draws, "run-x/posterior.nc"))
    with pytest.raises(PriorError, match="no such prior entry"):
        make_plan(plan.priors, posterior=(("bestaat_niet",), draws, "run-x/posterior.nc"))


def test_joint_draws_of_a_lognormal_entry_may_pass_its_hard_bounds_as_its_prior_does(plan):
    """A normal or lognormal prior ignores the entry's hard bounds (model.spec.fitting): the engine's own draws of
    fte_per_1000_m2_voorziening (lognormal, P95 8, bounds [0, 50]) pass 50 about once in 15,000, and so does a
    posterior that leaves the entry at its prior. Such rows are accepted; a row outside the lognormal's support
    (0 or below, or not finite) is not."""
    from model.errors import PriorError

    entry = plan.priors["fte_per_1000_m2_voorziening"]
    assert entry.spec.family == "lognormal" and entry.bounds == (0.0, 50.0)
    draws = np.full((10, 1), 2.0)
    draws[3, 0] = 80.1
    make_plan(plan.priors, posterior=(("fte_per_1000_m2_voorziening",), draws, "run-x/posterior.nc"))
    for value in (0.0, -1.0, np.inf):
        draws[3, 0] = value
        with pytest.raises(PriorError, match=r"^run-x/posterior.nc: fte_per_1000_m2_voorziening: 1 of 10 draws are "
                                             r"not finite or lie outside the support of its lognormal prior"):
            make_plan(plan.priors, posterior=(("fte_per_1000_m2_voorziening",), draws, "run-x/posterior.nc"))
