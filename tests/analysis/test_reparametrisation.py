"""The capaciteit coordinates of the calibration (``model.analysis.calibration.reparametrisation``): an exact change
of variables, so the reparametrised model has the prior and posterior of the model in the entries' own scores.

Checked at random prior draws (any seed): the coordinates computed here from the entries' values by the formulas of
the module docstring (the toevoeging from the registry's own kernels) map back to the very scores they came from;
and the two models' log densities differ by the log-Jacobian of the map (finite differences) plus one constant."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from model.analysis.calibration import reparametrisation as rp
from model.analysis.calibration.model import build_model
from model.deelopgaven.registry import evaluate
from model.spec.data import load_gebieden
from model.spec.priors import fit_entry, load_priors
from model.spec.provenance import calibration_priors
from model.spec.published import PUBLISHED


@pytest.fixture(scope="module")
def models():
    priors = calibration_priors(load_priors()).priors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain, info = build_model(priors)
        rep, rinfo = build_model(priors, reparametrise=True)
        outs = rep.replace_rvs_by_values([rep["z_onafhankelijk"], rep["kental"]]) + [rep.logp()]
        f_rep = rep.compile_fn(outs, inputs=rep.value_vars, mode="FAST_COMPILE", point_fn=False)
        kental = plain.compile_fn(plain.replace_rvs_by_values([plain["kental"]]), inputs=plain.value_vars[:1],
                                  mode="FAST_COMPILE", point_fn=False)
        f_plain = plain.compile_logp(mode="FAST_COMPILE")
    return priors, info, rinfo, f_rep, f_plain, kental


def test_the_calibration_model_is_reparametrised_only_where_it_is_exact(models):
    _, info, rinfo, _, _, _ = models
    assert rinfo.reparametrised and not info.reparametrised and rinfo.names == info.names
    marginals, chol, names = info.marginals, info.chol, info.names
    quantities = [f.quantity for f in PUBLISHED]
    full = rp.plan(names, marginals, chol, quantities)
    assert len(full.replaced) == len(full.coordinates) == 2
    assert {names[i] for i in full.replaced} == {rp.MEDIAAN, rp.AANBOD}
    # only when a capaciteit figure is observed
    assert rp.plan(names, marginals, chol, [q for q in quantities if "capaciteit" not in q]) is None
    # a prior that is not lognormal: the map would not be exact
    normal = fit_entry(load_priors()["huishoudensgroei_2035"])[0]
    assert rp.plan(names, {**marginals, rp.AANBOD: normal}, chol, quantities) is None
    # a replaced score correlated with an entry outside its block: not a closed block
    bad = chol.copy()
    i, j = names.index(rp.AANBOD), names.index(rp.SPREIDING)
    bad[max(i, j), min(i, j)] = 0.1
    assert rp.plan(names, marginals, bad, quantities) is None


def _coordinates(priors, x, gebieden):
    """The coordinates (d0, d1) of the entries' values ``x`` (dict), by the module's formulas, the toevoeging from
    the registry's kernels; None in the excluded region (no shortfall at all at a norm today)."""
    out = []
    for norm, niveau in ((rp.Q1, 0.0), (rp.MEDIAAN, 1.0)):
        values = {**priors.values("point"), **gebieden.quantities(), **x, "normniveau": niveau, "vraagjaar": 0.0}
        t = float(evaluate(values)["bereikbaarheid_toevoeging_m2_per_huishouden"])
        if not 0.0 < t < x[norm]:
            return None
        out.append(np.log((x[norm] - t) / x[rp.AANBOD]) / x[rp.SPREIDING])
    return np.array(out)


def test_the_change_of_variables_is_exact(models):
    priors, info, _, f_rep, f_plain, kental = models
    gebieden = load_gebieden()
    names = list(info.names)
    replaced = np.array(rp.plan(names, info.marginals, info.chol, [f.quantity for f in PUBLISHED]).replaced)
    free = np.setdiff1d(np.arange(len(names)), replaced)
    rng = np.random.default_rng()
    offsets = []
    while len(offsets) < 4:
        z = rng.standard_normal(len(names))
        log_sd = np.log(rng.uniform(0.01, 0.04))
        (x,) = kental(z)
        coords = _coordinates(priors, dict(zip(names, x)), gebieden)
        if coords is None:
            continue
        point = {"z_vrij": z[free], "coordinaten": coords, "sigma_discrepantie_log__": log_sd}
        z_back, x_back, lp_rep = f_rep(**point)
        np.testing.assert_allclose(z_back, z, rtol=1e-8, atol=1e-8)   # the round trip
        np.testing.assert_allclose(x_back, x, rtol=1e-8)
        h = 1e-6
        jac = np.column_stack([(f_rep(**{**point, "coordinaten": coords + h * e})[0][replaced]
                                - f_rep(**{**point, "coordinaten": coords - h * e})[0][replaced]) / (2 * h)
                               for e in np.eye(len(coords))])
        offsets.append(lp_rep - f_plain({"z_onafhankelijk": z, "sigma_discrepantie_log__": log_sd})
                       - np.linalg.slogdet(jac)[1])
    assert np.ptp(offsets) < 1e-5, offsets
