"""The engine's steps on a block of draws (``model.engine.blocks``) and the compiled model they feed, each checked
against the plain computation it replaces."""

import numba
import numpy as np
import pytest

from model.analysis.report import input_values
from model.deelopgaven.registry import by_name, evaluate
from model.engine import run as engine
from model.engine.plan import make_plan
from model.engine.template import Kept
from model.spec.data import load_gebieden
from model.spec.priors import load_priors


@pytest.fixture(scope="module")
def plan():
    return make_plan(chunk_size=4096)


def test_evaluate_inputs_gives_every_output_of_the_engine(plan):
    """The sensitivity designs' evaluation returns all outputs in plan order, multiples included: on the engine's
    own sampled inputs it reproduces the engine's outputs."""
    x, y = engine.sample_chunk(plan, 3, 0, 500)
    np.testing.assert_allclose(engine.evaluate_inputs(plan, x), y, rtol=1e-12, atol=0)


def test_histogram_extremes_outside_the_bins(plan):
    """Values outside a (deliberately narrow) histogram range are counted under/over, with their extremes."""
    kept = engine.run(plan=plan, draws=8192, seed=6, keep=True)
    y = kept.outputs
    lo = np.quantile(y, 0.25, axis=1)
    width = (np.quantile(y, 0.75, axis=1) - lo) / engine.N_BINS
    parts = engine.run_chunks(plan, 6, engine.chunk_bounds(8192, plan.chunk_size), ranges=(lo, width))
    st = engine.merge_stats(parts)
    below = y < lo[:, None]
    above = y >= (lo + width * engine.N_BINS)[:, None]
    np.testing.assert_array_equal(st.under, below.sum(axis=1))
    np.testing.assert_allclose(st.under + st.over + st.counts.sum(axis=1), 8192)
    has = st.under > 0
    np.testing.assert_allclose(st.below[has], y.min(axis=1)[has], rtol=1e-12)
    has = st.over > 0
    np.testing.assert_allclose(st.above[has], y.max(axis=1)[has], rtol=1e-12)
    assert abs(int(above.sum()) - int(st.over.sum())) <= 2 * len(plan.outputs)  # edges: rounding of the bin


def test_posterior_rows_are_picked_by_one_uniform_per_draw():
    """With a posterior, each draw takes the posterior row floor(u * P), u the next uniform of the chunk's stream
    after the draw's normals. All other entries fixed: the nieuwbouw line is proportional to the posterior's value,
    so the picks can be read off and replayed with numpy."""
    from model.engine.rng import chunk_generator

    priors = load_priors()
    name = "nieuwbouw_woningen_npvr"
    fixed = {n: e.point for n, e in priors.entries.items() if n != name}
    rows = np.arange(1.0, 8.0)[:, None]
    plan = make_plan(priors, overrides=fixed, posterior=((name,), rows), chunk_size=4096)
    assert plan.names == ()
    m = 5000
    lines = np.empty((len(plan.line_names), m))
    engine._run_chunk(plan, 3, 0, m, kept=Kept(np.zeros((0, 0)), np.zeros((0, 0)), lines))
    nieuwbouw = lines[plan.line_names.index("nieuwbouw")]
    picked = nieuwbouw / nieuwbouw.min()
    expected = np.floor(chunk_generator(3, 0).random(m) * 7) + 1.0
    np.testing.assert_allclose(picked, expected, rtol=1e-12)
    assert set(np.unique(expected)) == set(range(1, 8))


def test_compiled_expected_shortfall_equals_the_numpy_form():
    """capaciteit's closed-form expected shortfall compiled for scalars (numba's libm erfc) is the numpy form on
    arrays to rounding, and exactly 0 where demand does not exceed the additions."""
    from model.deelopgaven.capaciteit import tekort_verwacht
    from model.engine import codegen  # noqa: F401  (registers the compiled forms with numba)

    @numba.njit
    def compiled(v, a, s, t, out):
        for j in range(v.size):
            out[j] = tekort_verwacht(v[j], a[j], s[j], t[j])

    rng = np.random.default_rng(5)
    n = 20_000
    v, a, s, t = rng.uniform(1, 8, n), rng.uniform(1, 6, n), rng.uniform(0.01, 1.5, n), rng.uniform(0, 1, n)
    v[:50] = t[:50] - rng.uniform(0, 1, 50)                 # demand at or below the additions: no shortfall
    out = np.full(n, np.nan)
    compiled(v, a, s, t, out)
    expected = tekort_verwacht(v, a, s, t)
    scale = np.maximum(np.abs(expected), 1e-12 * np.abs(v))
    assert np.max(np.abs(out - expected) / scale) < 1e-12
    assert np.all(out[:50] == 0) and np.all(expected[:50] == 0) and np.all(expected[50:] >= 0)


def test_compiled_model_equals_the_plain_kernels_over_several_blocks():
    """The generated model (capaciteit in a loop of its own between the other kernels') gives, on 1,000 varied draws
    (three full blocks and a partial one), the lines of the kernels' plain Python functions on numpy arrays."""
    assert by_name("capaciteit").own_loop
    point = input_values(load_priors(fit=False), load_gebieden(), "point")
    rng = np.random.default_rng(12)
    m = 1_000
    values = {n: v * rng.uniform(0.6, 1.4, m) for n, v in point.items()}
    compiled = engine.evaluate_lines(values)
    plain = evaluate(values)
    assert set(compiled) == set(plain)
    for name in compiled:
        a, b = np.asarray(compiled[name], dtype=float), np.asarray(plain[name], dtype=float)
        assert a.shape == b.shape == (m,), name
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-9 * np.max(np.abs(b)), err_msg=name)
    assert np.ptp(compiled["capaciteit_publiek"]) > 0 and np.any(compiled["capaciteit_publiek"] > 0)
