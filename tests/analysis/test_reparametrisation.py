"""The calibration's coordinates (``model.analysis.calibration.reparametrisation``): exact changes of variables, so
the reparametrised model has the prior and posterior of the model in the entries' own scores.

Checked at random prior draws (any seed): the coordinates of the entries' values mean what the module docstring
says (the log sums and shortfalls against the registry's own kernels); they map back to the very scores they came
from; the two models' log densities differ by the log-Jacobian of the map (finite differences) plus one constant;
and the reparametrised model's gradient is that of its log density (finite differences)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from model.analysis.calibration import reparametrisation as rp
from model.analysis.calibration.model import build_model
from model.analysis.calibration.sampling import compile_mode
from model.deelopgaven.capaciteit import tekort_verwacht
from model.deelopgaven.registry import by_name, evaluate
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
        f_rep = rep.compile_fn(outs, inputs=rep.value_vars, mode=compile_mode(), point_fn=False)
        kental = plain.compile_fn(plain.replace_rvs_by_values([plain["kental"]]), inputs=plain.value_vars[:1],
                                  mode="FAST_COMPILE", point_fn=False)
        f_plain = plain.compile_logp(mode=compile_mode())
    return priors, info, rinfo, f_rep, f_plain, kental, rep


def _plan(info, quantities=None, **changes):
    marginals = {**info.marginals, **changes.pop("marginals", {})}
    return rp.plan(info.names, marginals, changes.pop("chol", info.chol),
                   quantities if quantities is not None else [f.quantity for f in PUBLISHED])


def test_the_calibration_model_is_reparametrised_only_where_it_is_exact(models):
    _, info, rinfo, *_ = models
    assert rinfo.reparametrised and not info.reparametrised and rinfo.names == info.names
    names, quantities = info.names, [f.quantity for f in PUBLISHED]
    full = _plan(info)
    assert len(full.replaced) == len(full.coordinates) == len(set(full.replaced))
    assert {names[i] for i in full.replaced} >= {rp.Q1, rp.MEDIAAN, rp.AANBOD}
    # every norm of every §3.4 group, and the kentallen sums whose copula block is closed
    replaced = {names[i] for i in full.replaced}
    assert {f"norm_{lv}_{f}" for f in rp.facilities() for lv in ("q1", "mediaan")} <= replaced
    assert set(rp.SOM_KENTALLEN["gezonde_toekomst"]) <= replaced
    # restopgave_per_kwetsbare_woning and publieke_kosten_per_m2_winkel share the construction-cost factor with
    # the stichtingskosten (free weights): not closed, so not sums but single-entry units (solved first); nieuwbouw's
    # two entries (the same source-study group) are left out
    assert full.singles.units == ("herstructurering_winkels", "herstructurering_woningen")
    assert not set(full.singles.names) & set(full.sums.names)
    assert not {"restopgave_toerekenbaar_per_woning", "restopgave_niet_toerekenbaar_per_woning"} & replaced
    # a multiplier's argument mixing with the unit's score (the public share of the restopgave with the
    # restopgave per dwelling): read at the free scores, it would be wrong, so that unit is left out; mixing the
    # other way (the unit's score with a free one before it) is what the solve takes care of
    mixed = info.chol.copy()
    i, j = names.index("restopgave_per_kwetsbare_woning"), names.index("aandeel_publiek_herstructurering")
    assert i < j
    mixed[j, i] = 0.1
    assert _plan(info, chol=mixed).singles.units == ("herstructurering_winkels",)
    mixed = info.chol.copy()
    mixed[i, names.index("aandeel_kwetsbare_woningen")] = 0.1
    assert _plan(info, chol=mixed).singles.units == full.singles.units
    # each part only when a figure it concerns is observed
    no_cap = _plan(info, [q for q in quantities if "capaciteit" not in q])
    assert no_cap.capaciteit is None and no_cap.sums is not None
    only_cap = _plan(info, [q for q in quantities if "capaciteit" in q])
    assert only_cap.sums is None and only_cap.capaciteit is not None
    assert _plan(info, ["deelopgave:ov_eenmalig"]) is None
    # a prior that is not lognormal: that part's map would not be exact
    normal = fit_entry(load_priors()["huishoudensgroei_2035"])[0]
    assert _plan(info, marginals={rp.AANBOD: normal}).capaciteit is None
    sums = _plan(info, marginals={"kental_veiligheid_per_inwoner_per_jaar": normal}).sums
    assert "kental_veiligheid_per_inwoner_per_jaar" not in sums.names
    assert "norm_q1_apotheek" in sums.names
    # a replaced score correlated with an entry outside its block: not a closed block
    bad = info.chol.copy()
    i, j = names.index(rp.AANBOD), names.index(rp.SPREIDING)
    bad[max(i, j), min(i, j)] = 0.1
    assert _plan(info, chol=bad).capaciteit is None


def _values(priors, x, gebieden, setting):
    return {**priors.values("point"), **gebieden.quantities(), **x, **setting}


def test_the_coordinates_are_the_pinned_quantities(models):
    """The log sums are the logs of the kernels' lines (per household for bereikbaarheid), the capaciteit
    coordinates the logs of its shortfall costs today at the two norms: what the printed figures pin."""
    priors, info, rinfo, *_ = models
    gebieden = load_gebieden()
    rep = _plan(info)
    rng = np.random.default_rng()
    names = list(info.names)
    kental = models[5]
    coords = None
    while coords is None:       # none where there is no shortfall at a norm level today (module docstring)
        x = dict(zip(names, kental(rng.standard_normal(len(names)))[0]))
        coords = rp.coordinates_of(rep, _values(priors, x, gebieden, {}))
    coords = dict(zip(rep.coordinates, coords))
    households = gebieden.quantities()["huishoudens_2025"]
    for level, niveau in (("q1", 0.0), ("mediaan", 1.0)):
        lines = evaluate(_values(priors, x, gebieden, {"normniveau": niveau, "vraagjaar": 0.0}))
        for g in rp.groups():
            # ln_kosten_<g>_som / _verschil are (c_q1 ± c_mediaan)/sqrt 2
            c = (coords[f"ln_kosten_{g}_som"] + (1 if level == "q1" else -1) * coords[f"ln_kosten_{g}_verschil"])
            assert c / math.sqrt(2.0) == pytest.approx(math.log(float(lines[f"bereikbaarheid_{g}"]) / households),
                                                      rel=1e-12)
        if level == "q1":
            for d in ("leefbaarheid_veiligheid", "gezonde_toekomst"):
                total = sum(float(lines[ln.naam]) for ln in by_name(d).lines if not ln.hulp)
                assert coords[f"ln_som_{d}"] == pytest.approx(math.log(total), rel=1e-12)
            for d in rep.singles.units:
                total = sum(float(lines[ln.naam]) for ln in by_name(d).lines if not ln.hulp)
                assert coords[f"ln_som_{d}"] == pytest.approx(math.log(total), rel=1e-12)
        capaciteit = sum(float(lines[ln.naam]) for ln in by_name("capaciteit").lines if not ln.hulp)
        assert coords[f"ln_tekort_{level}_nu"] == pytest.approx(math.log(capaciteit), rel=1e-12)


def _start_below_the_domain(values) -> bool:
    """Whether Newton's method for d₁ would start below :data:`rp.D_MIN` (target/s, its former start, in the left tail
    where Phi underflows: where it diverged at about 2% of prior draws)."""
    x = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in values.items()}
    s, a = x[rp.SPREIDING], x[rp.AANBOD]
    d1 = math.log((x[rp.MEDIAAN] - float(rp.toevoeging(rp._with_grondslag(x), 1.0))) / a) / s
    return d1 + math.log(float(tekort_verwacht(1.0, math.exp(-s * d1), s, 0.0))) / s < rp.D_MIN


def test_the_change_of_variables_is_exact(models):
    """At prior draws (half with the spread's score in its left tail, where the median's Newton start is far out):
    the map back recovers the scores; the densities differ by the log-Jacobian (finite differences, at four draws)
    plus one constant; below the domain of d the density is zero."""
    priors, info, _, f_rep, f_plain, kental, _ = models
    gebieden = load_gebieden()
    names = list(info.names)
    rep = _plan(info)
    replaced = np.array(rep.replaced)
    free = np.setdiff1d(np.arange(len(names)), replaced)
    spreiding = names.index(rp.SPREIDING)
    rng = np.random.default_rng()
    offsets, far_starts, n = [], 0, 0
    while n < 600:
        z = rng.standard_normal(len(names))
        if n % 2:
            z[spreiding] = rng.uniform(-3.0, -1.5)
        log_sd = np.log(rng.uniform(0.01, 0.04))
        (x,) = kental(z)
        values = _values(priors, dict(zip(names, x)), gebieden, {})
        coords = rp.coordinates_of(rep, values)
        if coords is None:       # no shortfall at a norm level today: no coordinates (module docstring)
            continue
        n += 1
        far_starts += _start_below_the_domain(values)
        point = {"z_vrij": z[free], "coordinaten": coords, "sigma_discrepantie_log__": log_sd}
        z_back, x_back, lp_rep = f_rep(**point)
        np.testing.assert_allclose(z_back, z, rtol=1e-8, atol=1e-8)   # the round trip
        np.testing.assert_allclose(x_back, x, rtol=1e-8)
        if len(offsets) < 4:
            h = 1e-6
            jac = np.column_stack([(f_rep(**{**point, "coordinaten": coords + h * e})[0][replaced]
                                    - f_rep(**{**point, "coordinaten": coords - h * e})[0][replaced]) / (2 * h)
                                   for e in np.eye(len(coords))])
            offsets.append(lp_rep - f_plain({"z_onafhankelijk": z, "sigma_discrepantie_log__": log_sd})
                           - np.linalg.slogdet(jac)[1])
            # the median's shortfall e^-600 smaller: d₁ below the domain, density zero
            low = coords.copy()
            low[rep.coordinates.index("ln_tekort_mediaan_nu")] -= 600.0
            assert f_rep(**{**point, "coordinaten": low})[2] == -np.inf
    assert np.ptp(offsets) < 1e-5, offsets
    assert far_starts >= 10, far_starts     # the far start was exercised (about 10% of these draws)


@pytest.mark.slow
def test_the_gradient_is_that_of_the_log_density(models):
    """The median-norm coordinate is found by Newton's method, its derivative by the implicit function theorem:
    the compiled gradient must still be the derivative of the compiled log density."""
    model = models[6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logp, dlogp = model.compile_logp(mode=compile_mode()), model.compile_dlogp(mode=compile_mode())
    start = {**model.initial_point(), **models[2].initial_point}     # the coordinates where the samplers start
    rng = np.random.default_rng()
    shapes = {v.name: np.shape(start[v.name]) for v in model.value_vars}

    def point(flat):
        out, i = {}, 0
        for name, shape in shapes.items():
            n = int(np.prod(shape))
            out[name] = flat[i:i + n].reshape(shape)
            i += n
        return out

    flat = np.concatenate([np.ravel(start[n]) for n in shapes]) + 0.3 * rng.standard_normal(
        sum(int(np.prod(s)) for s in shapes.values()))
    grad = dlogp(point(flat))
    h = 1e-6
    fd = np.array([(logp(point(flat + h * e)) - logp(point(flat - h * e))) / (2 * h) for e in np.eye(len(flat))])
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6 * max(1.0, np.max(np.abs(fd))))


@pytest.mark.slow
def test_the_jax_backends_gradient_is_pytensors(models):
    """The JAX samplers (NumPyro's; nutpie's JAX backend) differentiate the graph with JAX, not with PyTensor: with
    the held root registered (``register_jax``) their log density and gradient agree with PyTensor's, at points
    around the samplers' start."""
    import jax
    from pymc.model.transform.optimization import freeze_dims_and_data
    from pymc.sampling.jax import get_jaxified_logp

    rp.register_jax()
    model, rinfo = models[6], models[2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logp, dlogp = model.compile_logp(mode=compile_mode()), model.compile_dlogp(mode=compile_mode())
        frozen = freeze_dims_and_data(model)
        jax_logp = get_jaxified_logp(frozen)      # the log density (NumPyro is given its negative)
    value_and_grad = jax.jit(jax.value_and_grad(lambda *x: jax_logp(x), argnums=tuple(range(len(model.value_vars)))))
    start = {**model.initial_point(), **rinfo.initial_point}
    rng = np.random.default_rng()
    for _ in range(3):
        point = {k: np.asarray(v) + 0.3 * rng.standard_normal(np.shape(v)) for k, v in start.items()}
        value, grads = value_and_grad(*[point[v.name] for v in frozen.value_vars])
        # the backends' numerics differ slightly: measured (2026-12-03) up to 6e-8 relative in the log density and
        # 1e-4 relative in a gradient element (PyTensor's agrees with finite differences of its log density)
        np.testing.assert_allclose(float(value), logp(point), rtol=1e-6)
        np.testing.assert_allclose(np.concatenate([np.ravel(g) for g in grads]), dlogp(point), rtol=1e-3,
                                   atol=1e-5 * max(1.0, float(np.max(np.abs(dlogp(point))))))
