"""The engine's random numbers (``model.engine.rng``): numpy's SFC64 stream per chunk, drawn inline bit for bit."""

import numba
import numpy as np
import pytest

from model.engine import rng
from model.engine.plan import make_plan
from model.engine.run import sample_chunk
from model.spec.families import LOGNORMAL


@pytest.fixture(scope="module")
def plan():
    return make_plan(chunk_size=4096)


def test_chunk_normals_are_numpys_sfc64_stream(plan):
    """Chunk k's normals are Generator(SFC64(SeedSequence(seed, spawn_key=(k,)))).standard_normal, draw-major:
    an uncorrelated lognormal entry is exp(mu + sigma z) of its column of that stream."""
    seed, k, m = 17, 3, 1000
    x, _ = sample_chunk(plan, seed, k, m)
    z = rng.chunk_generator(seed, k).standard_normal(m * len(plan.names)).reshape(m, len(plan.names))
    in_blocks = set(np.concatenate(plan.copula.blocks).tolist()) if plan.copula.blocks else set()
    checked = 0
    for i, name in enumerate(plan.names):
        if plan.arrays.codes[i] == LOGNORMAL and i not in in_blocks:
            mu, s = plan.arrays.vectors[i, 0], plan.arrays.vectors[i, 1]
            np.testing.assert_allclose(x[i], np.exp(mu + s * z[:, i]), rtol=5e-16, atol=0, err_msg=name)
            checked += 1
    assert checked >= 5
    assert isinstance(rng.chunk_generator(seed, k).bit_generator, np.random.SFC64)


@numba.njit
def _normals(state, n, m, n_post):
    z = np.empty((n, m))
    picks = np.empty(m, dtype=np.int64)
    rng.normals_block(state, z, picks, m, n_post)
    return z, picks


def test_inline_generator_is_numpys_sfc64_bit_for_bit():
    """The engine's inline SFC64 and ziggurat draw exactly numpy's Generator(SFC64).standard_normal() and
    random(), in the same order, and leave the same state: including the ziggurat's rare paths (the tail
    beyond r = 3.654 and the wedge tests), which this many draws take hundreds of times."""
    seed, k, n, m, n_post = 5, 2, 7, 40_000, 3
    state = rng.chunk_state(seed, k)
    z, picks = _normals(state, n, m, n_post)
    g = rng.chunk_generator(seed, k)
    expected_z, expected_u = np.empty((n, m)), np.empty(m)
    for j in range(m):
        expected_z[:, j] = g.standard_normal(n)
        expected_u[j] = g.random()
    np.testing.assert_array_equal(z, expected_z)
    np.testing.assert_array_equal(picks, np.floor(expected_u * n_post).astype(np.int64))
    np.testing.assert_array_equal(state, g.bit_generator.state["state"]["state"])
    assert np.sum(np.abs(z) > 3.654152885361009) > 20   # the tail path ran
