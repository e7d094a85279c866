"""The compiled allocation (``model.engine.verdeling``, ``model.engine.template.allocate``): the stated stream,
shares that add up to the amount draw by draw, report mode's shares in closed form, and the same numbers whatever
the threads or whether the run kept its draws."""

from __future__ import annotations

import numpy as np
import pytest

from model.engine.codegen import compiled_module
from model.engine.plan import make_plan
from model.engine.run import run
from model.engine.verdeling import REGIO_DRAWS, VERDELING_KEY, allocation, base_rows, point_shares, stream_state
from model.spec.data import load_gebieden
from model.spec.priors import load_priors
from model.spec.verdeling import key_arrays, load_verdeling


@pytest.fixture(scope="module")
def setup():
    priors = load_priors()
    return priors, load_gebieden(), load_verdeling(priors.directory, priors.bibliography)


@pytest.mark.parametrize("deelopgave", ["herstructurering_woningen", "gezonde_toekomst", "capaciteit"])
def test_allocate_is_the_stated_model_on_the_stated_stream(setup, deelopgave):
    """Per draw: the weights from the key's SFC64 stream (numpy's, in the stated order), then one normal per
    gemeente; the shares exp(ln basis - tau^2/2 + tau eps + x w) normalised over each part's gemeenten."""
    _, gebieden, verdeling = setup
    key = verdeling.sleutels[deelopgave]
    a = key_arrays(key, gebieden)
    n, seed, k = 500, 11, 3
    n_p, n_g = a.masks.shape
    n_j = a.mean.size
    amounts = np.random.default_rng(0).uniform(1e8, 1e9, (n_p, n))
    out, w = np.zeros((n, n_g)), np.empty((n, n_j))
    compiled_module().allocate(stream_state(seed, k), amounts, base_rows(a), a.x, a.mean, a.sd, a.tau, out, w)
    gen = np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(VERDELING_KEY, k))))
    z = gen.standard_normal((n, n_j + n_g))
    np.testing.assert_array_equal(w, a.mean + a.sd * z[:, :n_j])
    expected = np.zeros((n, n_g))
    for p in range(n_p):
        logits = np.where(a.masks[p], a.log_basis - 0.5 * a.tau**2, -np.inf) + a.tau * z[:, n_j:] + w @ a.x.T
        shares = np.exp(logits - logits.max(axis=1, keepdims=True))
        expected += amounts[p][:, None] * shares / shares.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(out.sum(axis=1), amounts.sum(axis=0), rtol=1e-13)     # adds up, draw by draw


def test_point_shares_are_basis_times_the_mean_tilt(setup):
    _, gebieden, verdeling = setup
    for key in verdeling.sleutels.values():
        a = key_arrays(key, gebieden)
        shares = point_shares(key, gebieden)
        for p, mask in enumerate(a.masks):
            w = np.where(mask, np.exp(a.log_basis + a.x @ a.mean), 0.0)
            np.testing.assert_allclose(shares[p], w / w.sum(), rtol=1e-12, atol=1e-300)
    size_only = verdeling.sleutels["capaciteit"]           # no indicators: the basis alone
    h = gebieden.indicatoren["huishoudens"]
    np.testing.assert_allclose(point_shares(size_only, gebieden)[0], h / h.sum(), rtol=1e-12)


def test_the_allocation_does_not_depend_on_threads_or_on_keeping_the_draws(setup):
    priors, gebieden, verdeling = setup
    plan = make_plan(priors, gebieden, chunk_size=4096)
    draws = REGIO_DRAWS + 5_000                       # more than the allocation takes: its first REGIO_DRAWS
    kept = allocation(run(plan=plan, draws=draws, seed=5, threads=2), verdeling)
    one = allocation(run(plan=plan, draws=draws, seed=5, threads=1), verdeling)
    streamed = allocation(run(plan=plan, draws=draws, seed=5, threads=2, keep=False), verdeling)
    assert kept.n == REGIO_DRAWS
    for d in verdeling.sleutels:
        np.testing.assert_array_equal(kept.per_gemeente[d], one.per_gemeente[d])
        np.testing.assert_array_equal(kept.per_gemeente[d], streamed.per_gemeente[d])
    other = allocation(run(plan=plan, draws=draws, seed=6, threads=2), verdeling)
    assert not np.array_equal(other.weights["nieuwbouw"], kept.weights["nieuwbouw"])   # the seed drives it
