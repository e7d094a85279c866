"""The deelopgaven and their registry (``model.deelopgaven``): the explicit list, its inputs and lines, the kernels
run in registry order on plain values, and a layer that needs neither numba nor scipy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from model.analysis.report import input_values
from model.deelopgaven import kernels
from model.deelopgaven.registry import (DEELOPGAVEN, by_name, check_inputs, column_totals, cost_lines, evaluate,
                                        line_names, required_inputs)
from model.errors import PriorError
from model.paths import REPO
from model.spec.data import load_gebieden
from model.spec.priors import load_priors


@pytest.fixture(scope="module")
def values():
    return input_values(load_priors(fit=False), load_gebieden(), "point")


def test_every_deelopgave_is_registered_once_with_a_declared_kernel():
    names = [d.naam for d in DEELOPGAVEN]
    assert len(names) == len(set(names)) == 13
    declared = {f for f, _ in kernels.JITABLE}
    for d in DEELOPGAVEN:
        assert d.kernel in declared, d.naam
        assert by_name(d.naam) is d
    with pytest.raises(KeyError, match="unknown deelopgave"):
        by_name("regionale_economie")


def test_inputs_come_before_their_use(values):
    produced = set()
    for d in DEELOPGAVEN:
        for name in d.inputs:
            assert name in produced or name in required_inputs(), (d.naam, name)
        produced.update(line.naam for line in d.lines)
    assert len(line_names()) == len(set(line_names()))
    assert set(values) >= set(required_inputs())


def test_evaluate_on_floats_and_arrays_agree(values):
    lines = evaluate(values)
    arrays = evaluate({k: np.full(3, v) for k, v in values.items()})
    assert set(lines) == set(line_names())
    for name, v in lines.items():
        np.testing.assert_allclose(arrays[name], v, rtol=1e-15, err_msg=name)


def test_missing_inputs_are_named(values):
    with pytest.raises(PriorError, match="missing entries needed by the kernels: \\['normniveau'\\]"):
        check_inputs({k: v for k, v in values.items() if k != "normniveau"}, "test")


def test_column_totals_leave_pm_out_unless_asked(values):
    lines = evaluate(values)
    totals, with_pm = column_totals(lines), column_totals(lines, include_pm=True)
    pm = sum(lines[line.naam] for d, line in cost_lines() if d.pm and d.kolom == "exploitatielasten")
    assert with_pm["exploitatielasten"] == pytest.approx(totals["exploitatielasten"] + pm, rel=1e-12)
    assert pm > 0


def test_the_layer_imports_neither_numba_nor_scipy():
    code = ("import sys, model.deelopgaven.registry, model.spec.priors, model.analysis.report; "
            "print(sorted(m for m in ('numba', 'scipy', 'xarray', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_input_belongs_to_the_kernel_that_reads_it():
    """The rule of the analyses grouped by deelopgave (Sobol', tornado, exceedance drivers): the deelopgave whose
    kernel reads an input, ``gedeeld`` when several kernels read it; lines of earlier kernels are no inputs."""
    from model.deelopgaven.registry import GEDEELD, input_deelopgave, line_names, required_inputs

    owners = input_deelopgave()
    assert set(owners) == set(required_inputs())
    assert not set(owners) & set(line_names())
    assert owners["normniveau"] == GEDEELD
    assert owners["stichtingskosten_basisschool"] == "bereikbaarheid"
    assert owners["normatief_vastgoed_q1_m2_per_huishouden"] == "capaciteit"
    for name, owner in owners.items():
        users = [d.naam for d in DEELOPGAVEN if name in d.inputs]
        assert owner == (users[0] if len(users) == 1 else GEDEELD), name


def test_capaciteits_expected_shortfall_is_the_integral_it_stands_for():
    """E[max(r - a exp(s z), 0)], z ~ N(0, 1), in closed form: equal to numerical integration to 1e-9; the former
    41-point midpoint quadrature is 0.2-0.9% low at the report's settings (issue #16, docs/deviations.md D8)."""
    from statistics import NormalDist

    from scipy.integrate import quad
    from scipy.stats import norm

    from model.deelopgaven.capaciteit import tekort_verwacht

    cases = [(6.0, 8.0, 0.4, 0.5), (9.5, 8.6, 0.4, 0.9), (3.0, 1.0, 1.2, 0.0), (12.0, 2.0, 0.05, 1.0),
             (1.0, 8.0, 0.4, 0.5)]
    for v, a, s, t in cases:
        kink = np.log(max(v - t, 1e-300) / a) / s        # where the shortfall starts
        exact, _ = quad(lambda z, v=v, a=a, s=s, t=t: max(v - t - a * np.exp(s * z), 0.0) * norm.pdf(z), -12, 12,
                        points=[kink], limit=200, epsabs=1e-13)
        assert float(tekort_verwacht(v, a, s, t)) == pytest.approx(exact, rel=1e-9, abs=1e-12), (v, a, s, t)
    nodes = np.array([NormalDist().inv_cdf((k + 0.5) / 41) for k in range(41)])
    v, a, s, t = 6.7547, 8.6966, 0.3988, 0.37           # near the "laag" setting: the quadrature is low
    midpoint = np.mean(np.maximum(v - t - a * np.exp(s * nodes), 0.0))
    assert midpoint < float(tekort_verwacht(v, a, s, t)) * 0.999


def test_the_normal_distribution_function_is_the_same_in_numpy_and_pytensor():
    """The calibration evaluates the kernels on PyTensor variables: Phi there is PyTensor's erfc, here libm's."""
    import pytensor
    import pytensor.tensor as pt
    from scipy.special import ndtr

    from model.deelopgaven.kernels import normaal_cdf

    x = np.linspace(-30, 8, 400)
    xs = pt.dvector("x")
    f = pytensor.function([xs], normaal_cdf(xs), mode="FAST_COMPILE")
    np.testing.assert_allclose(f(x), normaal_cdf(x), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(normaal_cdf(x), ndtr(x), rtol=1e-13, atol=1e-300)
