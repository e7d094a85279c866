"""Stopping at a stated precision (``model.analysis.precisie``): the rule for the next round, and the errors it
reads against the summary's own Monte Carlo errors."""

from __future__ import annotations

import pytest

from model.analysis.precisie import MARGIN, next_draws, relative_errors, start_draws, worst


def test_the_next_round_follows_one_over_sqrt_n_in_whole_chunks_at_least_doubling_and_capped():
    chunk = 1 << 16
    assert start_draws(chunk, 10**9) == chunk            # 2**15 rounded up to a whole chunk
    assert start_draws(1000, 10**9) == 33_000 and start_draws(1000, 5_000) == 5_000
    n = 100 * chunk
    # an error 3 times the target: 9 times the draws, 20% to spare, rounded up to whole chunks
    assert next_draws(n, 0.03, 0.01, chunk, 10**12) == chunk * -(-int(9 * MARGIN * n) // chunk)
    assert next_draws(n, 0.0101, 0.01, chunk, 10**12) == 2 * n            # at least doubling
    assert next_draws(n, 0.5, 0.01, chunk, 3 * n) == 3 * n                # never above the most draws


def test_the_relative_errors_are_the_summary_errors_of_the_column_totals():
    from model.analysis.summary import summarise
    from model.engine.run import run

    res = run(draws=8192, seed=3, keep=True)
    rows = {r["output"]: r for r in summarise(res, None, "laag")}
    outputs = ["totaal_publieke_restopgave", "totaal_investeringsopgave"]
    errors = relative_errors({"laag": res}, outputs)
    for o in outputs:
        for k in ("p5", "p50", "p95"):
            assert errors["laag"][o][k] == pytest.approx(rows[o][f"mcse_{k}"] / rows[o][k], rel=1e-12)
    value, where = worst(errors)
    assert value == max(e for per in errors["laag"].values() for e in per.values()) and where.startswith("laag ")
    # a posterior's effective draws: fewer effective draws, larger errors
    assert worst(relative_errors({"laag": res}, outputs, n_eff=2048))[0] > value
