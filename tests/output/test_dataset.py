"""``dataset.nc`` (``model.output.dataset``): readable by xarray and ArviZ without project code, one copy of the
draws in the chain × draw layout, and each storage mode."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import xarray as xr

from model.analysis.summary import STATISTICS, summarise
from model.engine import run as engine
from model.engine.plan import make_plan
from model.output.dataset import COMPACT_SOORTEN, chains_of, write_dataset


@pytest.fixture(scope="module")
def plan():
    return make_plan(chunk_size=2048)


@pytest.fixture(scope="module")
def result(plan):
    return engine.run(plan=plan, draws=12_000, seed=3, keep_inputs=True)


@pytest.fixture(scope="module")
def rows(result):
    return summarise(result)


def _write(tmp_path, result, rows, store):
    return write_dataset(tmp_path / f"{store}.nc", result, rows, store=store)


def test_the_summaries_are_labelled_and_equal_the_rows(tmp_path, result, rows):
    with xr.open_dataset(_write(tmp_path, result, rows, "compact"), engine="h5netcdf") as ds:
        assert ds["samenvatting"].dims == ("uitkomst", "statistiek")
        assert list(ds["statistiek"].values) == list(STATISTICS)
        assert ds["samenvatting"].attrs["units"].startswith("EUR") and ds["samenvatting"].attrs["long_name"]
        assert {"soort", "omschrijving", "pm"} <= set(ds.coords)
        assert ds.attrs["seed"] == 3 and ds.attrs["draws"] == 12_000 and ds.attrs["store"] == "compact"
        for r in rows:
            np.testing.assert_array_equal(ds["samenvatting"].sel(uitkomst=r["output"]).values,
                                          [r[s] for s in STATISTICS])


def test_compact_stores_the_aggregates_once_in_single_precision_as_arviz_reads_them(tmp_path, result, rows):
    path = _write(tmp_path, result, rows, "compact")
    with xr.open_dataset(path, group="prior", engine="h5netcdf") as prior:
        assert list(prior.data_vars) == ["opgave"]                       # one copy of the draws
        assert prior["opgave"].dims == ("chain", "draw", "uitkomst") and prior["opgave"].dtype == np.float32
        assert (prior.sizes["chain"], prior.sizes["draw"]) == (4, 3_000)
        soorten = {o.naam: o.soort for o in result.plan.outputs}
        assert {soorten[str(u)] for u in prior["uitkomst"].values} == set(COMPACT_SOORTEN)
        stored = prior["opgave"].sel(uitkomst="capaciteit").values
    draws = result.draws_of("capaciteit")
    np.testing.assert_array_equal(stored.reshape(-1), draws.astype(np.float32))   # chain c = draws c·N/C ...
    np.testing.assert_allclose(stored.reshape(-1), draws, rtol=6e-8)             # single precision: 7 digits
    idata = az.from_netcdf(path)
    assert idata.prior["opgave"].dims[:2] == ("chain", "draw")
    summary = az.summary(idata, group="prior", var_names=["opgave"], kind="stats")
    assert len(summary) == idata.prior.sizes["uitkomst"]


def test_full_stores_every_output_and_input_in_double_precision(tmp_path, result, rows):
    with xr.open_dataset(_write(tmp_path, result, rows, "full"), group="prior", engine="h5netcdf") as prior:
        assert prior.sizes["uitkomst"] == len(result.plan.outputs) and prior["opgave"].dtype == np.float64
        inputs = [v for v in prior.data_vars if v.startswith("invoer_")]
        assert len(inputs) == len(result.plan.names)
        name = "invoer_aandeel_publiek_capaciteit"
        np.testing.assert_array_equal(prior[name].values.reshape(-1), result.inputs["aandeel_publiek_capaciteit"])
        assert prior[name].attrs["units"] and "invoer_normniveau" not in prior    # a choice is not sampled
        np.testing.assert_array_equal(prior["opgave"].sel(uitkomst="totaal_pm").values.reshape(-1),
                                      result.draws_of("totaal_pm"))


def test_none_stores_the_summaries_only(tmp_path, result, rows):
    path = _write(tmp_path, result, rows, "none")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert ds.sizes["uitkomst"] == len(result.plan.outputs)
    with pytest.raises(OSError):
        xr.open_dataset(path, group="prior", engine="h5netcdf")


def test_an_unknown_store_is_refused_before_writing(tmp_path, result, rows):
    with pytest.raises(ValueError, match="store must be one of"):
        write_dataset(tmp_path / "x.nc", result, rows, store="everything")
    assert not (tmp_path / "x.nc").exists()


@pytest.mark.parametrize("draws, chains", [(12_000, 4), (4_002, 2), (4_001, 1), (1, 1)])
def test_chains_are_the_largest_of_4_2_1_that_divide_the_draws(draws, chains):
    assert chains_of(draws) == chains
