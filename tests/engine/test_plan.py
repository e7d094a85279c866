"""The plan of a run (``model.engine.plan``): the marginals' arrays, the outputs and their multiples."""

import numpy as np
import pytest

from model.engine import run as engine
from model.engine.plan import ModelArrays, effective_weights, make_plan, output_definitions
from model.engine.template import Kept
from model.errors import UsageError
from model.spec.families import UNIFORM
from model.spec.priors import fit_entry, load_priors


@pytest.fixture(scope="module")
def plan():
    return make_plan(chunk_size=4096)


def test_equal_lookup_tables_are_stored_once(plan):
    """Entries with equal tables share a row (every uniform reads the one Phi table); each entry still reads
    its own marginal's table."""
    a = plan.arrays
    uniform = np.flatnonzero(a.codes == UNIFORM)
    assert uniform.size >= 2 and np.unique(a.table_row[uniform]).size == 1
    assert a.tables.shape[0] < a.codes.size
    for i, name in enumerate(plan.names):
        table = fit_entry(plan.priors[name])[0].table
        np.testing.assert_array_equal(a.tables[a.table_row[i], :table.size], table, err_msg=name)


def test_the_compiled_functions_get_their_arrays_by_name(plan):
    """One NamedTuple, C-contiguous arrays of the dtypes the compiled entry points were compiled for."""
    assert isinstance(plan.arrays, ModelArrays)
    for name, arr in plan.arrays._asdict().items():
        assert arr.flags.c_contiguous and arr.flags.writeable, name
        assert arr.dtype in (np.float64, np.int64), name


def test_output_multiples_equal_their_direct_sums(plan):
    """Outputs the chunk loop does not compute (multiples of others) equal the weighted sums of the lines."""
    assert plan.computed.size < len(plan.outputs)   # the default model has multiples (one-line deelopgaven ...)
    outputs, weights, names = output_definitions()
    assert [o.naam for o in outputs] == [o.naam for o in plan.outputs] and names == plan.line_names
    m = 2000
    lines = np.empty((len(plan.line_names), m))
    kept = Kept(np.empty((plan.computed.size, m)), np.zeros((0, 0)), lines)
    st = engine._run_chunk(plan, 4, 0, m, kept=kept)
    y = plan.factor[:, None] * kept.y[plan.source]
    direct = effective_weights(weights, len(names)) @ lines
    np.testing.assert_allclose(y, direct, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(st.mean, direct.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(st.m2, ((direct - direct.mean(axis=1, keepdims=True)) ** 2).sum(axis=1), rtol=1e-9)


def test_overrides_and_posterior_must_name_entries():
    priors = load_priors()
    with pytest.raises(KeyError, match="no_such_entry"):
        make_plan(priors, overrides={"no_such_entry": 1.0})


def test_a_posterior_holding_a_policy_choice_is_refused_naming_its_file():
    """A posterior from before the choices became variants (it sampled ``normniveau``) is not a posterior of
    anything the run samples: refused with the file, the entry and the remedy, before any draw is read."""
    priors = load_priors()
    draws = np.array([[0.5, priors["huishoudensgroei_2035"].point]] * 3)
    with pytest.raises(UsageError, match=r"^oud/posterior.nc: holds draws of the policy choice normniveau, .*"
                                         r"calibrate again"):
        make_plan(priors, posterior=(("normniveau", "huishoudensgroei_2035"), draws, "oud/posterior.nc"))


def test_output_index_accepts_short_names(plan):
    assert plan.outputs[plan.output_index("publieke_restopgave")].naam == "totaal_publieke_restopgave"
    assert plan.outputs[plan.output_index("voorzieningen")].naam == "doel_voorzieningen"
    with pytest.raises(KeyError, match="unknown output 'x'"):
        plan.output_index("x")
