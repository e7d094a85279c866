"""The engine's fast paths: vectorisable exp, Phi by Hermite table, the chunk stream, output multiples,
histogram extremes. Each is checked against the plain computation it replaces."""

import math

import numba
import numpy as np
import pytest
from scipy import special

from model import engine
from model.distributions import PHI_TABLE, phi_hermite, z_to_x_array
from model.blocks import normals_block
from model.distributions import exp_scalar


@numba.njit
def _exp_loop(x, out):
    for i in range(x.size):
        out[i] = exp_scalar(x[i])


@numba.njit
def _phi_loop(z, table, out):
    for i in range(z.size):
        out[i] = phi_hermite(z[i], table)


@pytest.fixture(scope="module")
def plan():
    return engine.make_plan(chunk_size=4096)


def test_fast_exp_is_within_two_ulp_of_libm():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-708.3, 709.7, 200_000), rng.normal(0.0, 3.0, 200_000),
                        np.linspace(-1.0, 1.0, 10_001)])
    out = np.empty_like(x)
    _exp_loop(x, out)
    ref = np.exp(x)
    assert np.max(np.abs(out - ref) / np.spacing(ref)) <= 2.0


def test_fast_exp_limits():
    x = np.array([np.nan, np.inf, -np.inf, 710.0, -746.0, -709.0, 0.0, 709.78])
    out = np.empty_like(x)
    _exp_loop(x, out)
    assert np.isnan(out[0])
    assert out[1] == np.inf and out[3] == np.inf
    assert out[2] == 0.0 and out[4] == 0.0
    assert out[5] == 0.0            # below the smallest normal double: 0, not a subnormal (documented)
    assert out[6] == 1.0
    assert out[7] == pytest.approx(math.exp(709.78), rel=1e-15)


def test_phi_by_hermite_table_matches_scipy():
    z = np.concatenate([np.linspace(-7.5, 7.5, 200_001), np.random.default_rng(1).normal(size=100_000)])
    out = np.empty_like(z)
    _phi_loop(z, PHI_TABLE, out)
    ref = special.ndtr(z)
    inside = np.abs(z) <= 7.0
    assert np.max(np.abs(out - ref)[inside]) < 1e-12
    assert np.max(np.abs(out - ref)) < 2e-12   # beyond the grid: the end values (Phi(+-7) is 1.3e-12 from 0/1)


def test_uniform_marginal_is_its_closed_form():
    from model.distributions import fit_marginal
    m, _ = fit_marginal({"family": "uniform", "min": 0.895, "max": 0.905, "coverage": 1.0}, where="test")
    z = np.random.default_rng(2).normal(size=50_000)
    np.testing.assert_allclose(z_to_x_array(z, m), 0.895 + 0.01 * special.ndtr(z), rtol=1e-14, atol=0)


def test_chunk_normals_are_numpys_sfc64_stream(plan):
    """Chunk k's normals are Generator(SFC64(SeedSequence(seed, spawn_key=(k,)))).standard_normal, draw-major:
    an uncorrelated lognormal entry is exp(mu + sigma z) of its column of that stream."""
    seed, k, m = 17, 3, 1000
    x, _ = engine.sample_chunk(plan, seed, k, m)
    z = engine.chunk_generator(seed, k).standard_normal(m * len(plan.names)).reshape(m, len(plan.names))
    in_blocks = set(np.concatenate(plan.copula.blocks).tolist()) if plan.copula.blocks else set()
    checked = 0
    for i, name in enumerate(plan.names):
        if plan.codes[i] == 2 and i not in in_blocks:
            mu, s = plan.vectors[i, 0], plan.vectors[i, 1]
            np.testing.assert_allclose(x[i], np.exp(mu + s * z[:, i]), rtol=5e-16, atol=0, err_msg=name)
            checked += 1
    assert checked >= 5
    assert isinstance(engine.chunk_generator(seed, k).bit_generator, np.random.SFC64)


@numba.njit
def _normals(state, n, m, n_post):
    z = np.empty((n, m))
    picks = np.empty(m, dtype=np.int64)
    normals_block(state, z, picks, m, n_post)
    return z, picks


def test_inline_generator_is_numpys_sfc64_bit_for_bit():
    """The engine's inline SFC64 and ziggurat draw exactly numpy's Generator(SFC64).standard_normal() and
    random(), in the same order, and leave the same state: including the ziggurat's rare paths (the tail
    beyond r = 3.654 and the wedge tests), which this many draws take hundreds of times."""
    seed, k, n, m, n_post = 5, 2, 7, 40_000, 3
    state = engine.chunk_state(seed, k)
    z, picks = _normals(state, n, m, n_post)
    g = engine.chunk_generator(seed, k)
    expected_z, expected_u = np.empty((n, m)), np.empty(m)
    for j in range(m):
        expected_z[:, j] = g.standard_normal(n)
        expected_u[j] = g.random()
    np.testing.assert_array_equal(z, expected_z)
    np.testing.assert_array_equal(picks, np.floor(expected_u * n_post).astype(np.int64))
    np.testing.assert_array_equal(state, g.bit_generator.state["state"]["state"])
    assert np.sum(np.abs(z) > 3.654152885361009) > 20   # the tail path ran


def test_equal_lookup_tables_are_stored_once(plan):
    """Entries with equal tables share a row (every uniform reads the one Phi table); each entry still reads
    its own marginal's table."""
    from model.priors import fit_entry
    uniform = np.flatnonzero(plan.codes == 4)
    assert uniform.size >= 2 and np.unique(plan.table_row[uniform]).size == 1
    assert plan.tables.shape[0] < plan.codes.size
    for i, name in enumerate(plan.names):
        table = fit_entry(plan.priors[name])[0].table
        np.testing.assert_array_equal(plan.tables[plan.table_row[i], :table.size], table, err_msg=name)


def test_output_multiples_equal_their_direct_sums(plan):
    """Outputs the chunk loop does not compute (multiples of others) equal the weighted sums of the lines."""
    assert plan.computed.size < len(plan.outputs)   # the default model has multiples (one-line deelopgaven ...)
    st, y, _, lines = engine._run_chunk(plan, 4, 0, 2000, keep=True, lines=True)
    n_lines = lines.shape[0]
    direct = np.zeros_like(y)
    for o in range(len(plan.outputs)):
        w = plan.weights[o]
        direct[o] = w[:n_lines] @ lines + w[n_lines:] @ direct
    np.testing.assert_allclose(y, direct, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(st.mean, direct.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(st.m2, ((direct - direct.mean(axis=1, keepdims=True)) ** 2).sum(axis=1),
                               rtol=1e-9)


def test_evaluate_inputs_gives_every_output_of_the_engine(plan):
    """The sensitivity designs' evaluation returns all outputs in plan order, multiples included: on the
    engine's own sampled inputs it reproduces the engine's outputs."""
    x, y = engine.sample_chunk(plan, 3, 0, 500)
    np.testing.assert_allclose(engine.evaluate_inputs(plan, x), y, rtol=1e-12, atol=0)


def test_histogram_extremes_outside_the_bins(plan):
    """Values outside a (deliberately narrow) histogram range are counted under/over, with their extremes."""
    kept = engine.run(plan=plan, draws=8192, seed=6, keep=True)
    y = kept.outputs
    lo = np.quantile(y, 0.25, axis=1)
    width = (np.quantile(y, 0.75, axis=1) - lo) / engine.N_BINS
    parts = engine.run_chunks(plan, 6, engine.chunk_bounds(8192, plan.chunk_size), hist=(lo, width))
    st = engine.merge_stats([p[0] for p in parts])
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
    """With a posterior, each draw takes the posterior row floor(u * P), u the next uniform of the chunk's
    stream after the draw's normals. All other entries fixed: the nieuwbouw line is proportional to the
    posterior's value, so the picks can be read off and replayed with numpy."""
    from model.priors import load_priors
    priors = load_priors()
    name = "nieuwbouw_woningen_npvr"
    fixed = {n: e.point for n, e in priors.entries.items() if n != name}
    rows = np.arange(1.0, 8.0)[:, None]
    plan = engine.make_plan(priors, overrides=fixed, posterior=((name,), rows), chunk_size=4096)
    assert plan.names == ()
    m = 5000
    lines = engine._run_chunk(plan, 3, 0, m, lines=True)[3]
    nieuwbouw = lines[plan.line_names.index("nieuwbouw")]
    picked = nieuwbouw / nieuwbouw.min()
    g = engine.chunk_generator(3, 0)
    expected = np.floor(g.random(m) * 7) + 1.0
    np.testing.assert_allclose(picked, expected, rtol=1e-12)
    assert set(np.unique(expected)) == set(range(1, 8))


def test_first_use_from_two_threads_at_once(tmp_path):
    """The generated module is imported once, completely, even when two threads ask for it first; with an
    empty cache it is not compiled before that run, and a new process finds the machine code in the cache."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    code = ("from model import compiled, engine; before = compiled.is_compiled(); "
            "r = engine.run(draws=20000, seed=1, threads=2, chunk_size=2048); "
            "print(before, compiled.is_compiled(), r.stats.n)")
    env = dict(os.environ, NPVR_CACHE=str(tmp_path))
    env.pop("NUMBA_CACHE_DIR", None)
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False True 20000"
    code = "from model import compiled; print(compiled.is_compiled(), compiled.cache_location())"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", str(tmp_path / "__pycache__")]
    assert any(f.suffix == ".nbi" and "run_chunk" in f.name for f in (tmp_path / "__pycache__").iterdir())


def test_compiled_quadrature_equals_the_loop_as_written():
    """capaciteit's compiled quadrature (node pairs share an exponential, written out pair by pair with the
    vectorisable exp) is the 41-node loop numpy and PyTensor evaluate, to rounding."""
    from model.deelopgaven.capaciteit import tekort_kwadratuur

    @numba.njit
    def compiled(v, a, s, t, out):
        for j in range(v.size):
            out[j] = tekort_kwadratuur(v[j], a[j], s[j], t[j])

    rng = np.random.default_rng(5)
    n = 20_000
    v, a, s, t = rng.uniform(1, 8, n), rng.uniform(1, 6, n), rng.uniform(0.01, 1.5, n), rng.uniform(0, 1, n)
    out = np.full(n, np.nan)
    compiled(v, a, s, t, out)
    expected = tekort_kwadratuur(v, a, s, t)   # the Python loop, on arrays
    scale = np.maximum(np.abs(expected), 1e-9 * np.abs(v) * 41)
    assert np.max(np.abs(out - expected) / scale) < 1e-12
    assert np.any(expected == 0) and np.any(expected > 0)


def test_compiled_model_equals_the_plain_kernels_over_several_blocks():
    """The generated model (capaciteit in a loop of its own between the other kernels') gives, on 1,000 varied draws
    (three full blocks and a partial one), the lines of the kernels' plain Python functions on numpy arrays."""
    from model.data import load_gebieden
    from model.evaluate import evaluate
    from model.priors import load_priors
    from model.registry import by_name
    from model.report import input_values

    assert by_name("capaciteit").own_loop
    point = input_values(load_priors(), load_gebieden(), "point")
    rng = np.random.default_rng(12)
    m = 1_000
    values = {n: np.asarray(v, dtype=float).reshape(-1)[0] * rng.uniform(0.6, 1.4, m) for n, v in point.items()}
    compiled = evaluate(values)
    plain = evaluate(values, python=True)
    assert set(compiled) == set(plain)
    for name in compiled:
        a, b = np.asarray(compiled[name], dtype=float), np.asarray(plain[name], dtype=float)
        assert a.shape == b.shape == (m,), name
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-9 * np.max(np.abs(b)), err_msg=name)
    assert np.ptp(compiled["capaciteit_publiek"]) > 0 and np.any(compiled["capaciteit_publiek"] > 0)


def test_an_unusable_npvr_cache_is_an_error_naming_it(tmp_path, monkeypatch):
    """NPVR_CACHE under a plain file: a SettingError that names the variable and the folder, no traceback from
    the command line (exit 2), and nothing written."""
    import subprocess
    import sys
    from pathlib import Path

    from model import compiled
    from model.errors import SettingError
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("NPVR_CACHE", str(blocker / "cache"))
    with pytest.raises(SettingError, match=rf"^NPVR_CACHE={blocker / 'cache'}: cannot write .*Not a directory"):
        compiled.module_file("npvr_model_loop_test", "N = 1\n")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "cli.py", "run", "--draws", "1000", "--out", str(tmp_path / "runs")],
                         cwd=root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.startswith(f"error: NPVR_CACHE={blocker / 'cache'}: cannot write"), out.stderr[-2000:]
    assert not (tmp_path / "runs").exists()


def test_an_unusable_default_cache_falls_back_to_the_temporary_folder(tmp_path, monkeypatch):
    """Without NPVR_CACHE and with ~/.cache unusable (a read-only home on a compute node), the generated module
    goes to the temporary folder, with a warning that says where and how to choose."""
    import os
    import tempfile

    from model import compiled
    home = tmp_path / "home_is_a_file"
    home.write_text("")
    monkeypatch.delenv("NPVR_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    with pytest.warns(RuntimeWarning, match=r"\.cache/npvr-model: cannot write .* using .* \(set NPVR_CACHE"):
        path = compiled.module_file("npvr_model_loop_test", "N = 1\n")
    assert path == tmp_path / "tmp" / f"npvr-model-{os.getuid()}" / "npvr_model_loop_test.py"
    assert path.read_text() == "N = 1\n"
    assert os.listdir(path.parent) == [path.name]   # written atomically: no temporary file left
