"""The compiled numerics (``model.engine.numerics``): the vectorisable exp and Phi by Hermite table, each against the
plain computation it replaces, and the uniform marginal built on them."""

import math

import numba
import numpy as np
import pytest
from scipy import special

from model.engine.numerics import exp_scalar, phi_hermite
from model.engine.run import transform
from model.spec.families import PHI_TABLE
from model.spec.fitting import fit_marginal


@numba.njit
def _exp_loop(x, out):
    for i in range(x.size):
        out[i] = exp_scalar(x[i])


@numba.njit
def _phi_loop(z, table, out):
    for i in range(z.size):
        out[i] = phi_hermite(z[i], table)


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
    m, _ = fit_marginal({"family": "uniform", "min": 0.895, "max": 0.905, "coverage": 1.0}, where="test")
    z = np.random.default_rng(2).normal(size=(1, 50_000))
    np.testing.assert_allclose(transform(z, [m])[0], 0.895 + 0.01 * special.ndtr(z[0]), rtol=1e-14, atol=0)
