"""The capaciteit coordinates of the calibration (``model.analysis.calibration.reparametrisation``): an exact change
of variables, so the reparametrised model has the prior and posterior of the model in the entries' own scores.

Checked at random points (any seed): the map back reproduces the scores it came from; the two models' log densities
differ by the log-Jacobian of the map, computed here by finite differences, plus one constant."""

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
        f_plain = plain.compile_logp(mode="FAST_COMPILE")
    return priors, info, rinfo, f_rep, f_plain


def test_the_calibration_model_is_reparametrised_only_where_it_is_exact(models):
    priors, info, rinfo, _, _ = models
    assert rinfo.reparametrised and not info.reparametrised and rinfo.names == info.names
    marginals, chol = info.marginals, info.chol
    quantities = [f.quantity for f in PUBLISHED]
    assert rp.plan(info.names, marginals, chol, quantities) is not None
    # no capaciteit figure observed: nothing to reparametrise
    assert rp.plan(info.names, marginals, chol, [q for q in quantities if "capaciteit" not in q]) is None
    # a supply prior that is not lognormal: the map would not be exact
    other = dict(marginals)
    other[rp.AANBOD] = fit_entry(load_priors()["huishoudensgroei_2035"])[0]
    assert rp.plan(info.names, other, chol, quantities) is None
    # the supply correlated with an entry outside its block: not a closed block
    bad = chol.copy()
    i, j = info.names.index(rp.AANBOD), info.names.index(rp.SPREIDING)
    bad[max(i, j), min(i, j)] = 0.1
    assert rp.plan(info.names, marginals, bad, quantities) is None


def test_the_change_of_variables_is_exact(models):
    """At random points: the log density of the reparametrised model minus that of the plain model at the mapped
    scores equals log |det d(z_med, z_a)/d(d0, d1)| plus one constant (the same at every point)."""
    priors, info, _, f_rep, f_plain = models
    gebieden = load_gebieden()
    names = list(info.names)
    im, ia, iq, i_s = (names.index(n) for n in (rp.MEDIAAN, rp.AANBOD, rp.Q1, rp.SPREIDING))
    rng = np.random.default_rng()
    offsets = []
    for _ in range(4):
        point = {"z_vrij": rng.normal(size=len(names) - 2), "d_capaciteit": rng.normal(-0.5, 0.4, size=2),
                 "sigma_discrepantie_log__": np.log(rng.uniform(0.01, 0.04))}
        z_indep, kental, lp_rep = f_rep(**point)
        lp_plain = f_plain({"z_onafhankelijk": z_indep, "sigma_discrepantie_log__": point["sigma_discrepantie_log__"]})
        # the map: med and a from (d0, d1) as the module says; q1 and s are the free entries' values
        q1, s, a, med = kental[iq], kental[i_s], kental[ia], kental[im]
        d0, d1 = point["d_capaciteit"]
        # the toevoeging at each norm level from the registry's kernels at these values: then d0 and d1 are the
        # standardised log ratios the module defines
        for d, norm, niveau in ((d0, q1, 0.0), (d1, med, 1.0)):
            values = {**priors.values("point"), **gebieden.quantities(), **dict(zip(names, kental)),
                      "normniveau": niveau, "vraagjaar": 0.0}
            t = float(evaluate(values)["bereikbaarheid_toevoeging_m2_per_huishouden"])
            assert 0.0 < t < norm
            assert np.log((norm - t) / a) / s == pytest.approx(d, rel=1e-9, abs=1e-12)
        jac = np.empty((2, 2))
        h = 1e-6
        for k in range(2):
            up, dn = dict(point), dict(point)
            up["d_capaciteit"] = point["d_capaciteit"] + h * np.eye(2)[k]
            dn["d_capaciteit"] = point["d_capaciteit"] - h * np.eye(2)[k]
            jac[:, k] = (f_rep(**up)[0][[im, ia]] - f_rep(**dn)[0][[im, ia]]) / (2 * h)
        offsets.append(lp_rep - lp_plain - np.log(abs(np.linalg.det(jac))))
    assert np.ptp(offsets) < 1e-5, offsets


def test_the_free_scores_pass_through_unchanged(models):
    _, info, _, f_rep, _ = models
    rng = np.random.default_rng()
    z_free = rng.normal(size=len(info.names) - 2)
    z_indep, _, _ = f_rep(z_vrij=z_free, d_capaciteit=np.array([-0.8, -0.1]), sigma_discrepantie_log__=np.log(0.02))
    free = [i for i, n in enumerate(info.names) if n not in (rp.MEDIAAN, rp.AANBOD)]
    np.testing.assert_array_equal(z_indep[free], z_free)
