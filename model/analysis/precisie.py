"""Stop at a stated precision: as many draws as it takes for the Monte Carlo standard error of P5, P50 and P95 of
every column total of Table 1.2, in every variant, to be below a share of its value (``cli.py run --precision``).

The rule, in rounds. Round 1 draws :data:`START` draws (whole chunks). After each round the relative error of each
of those quantiles is ``mcse / |value|`` (``model.analysis.summary``: the binomial spread of the order statistic,
with the run's effective number of draws); if the largest is at or below the target, the run stops. Otherwise the
next round draws ``n · (largest / target)² · 1.2`` (the error falls as 1/sqrt(n); 20% to spare), at least twice the
last round and at most ``max_draws``, rounded up to whole chunks, and starts again from the first draw: a round's
draws are the first draws of the stream (chunk *k* always draws from ``SeedSequence(seed, spawn_key=(k,))``), so the
rounds are nested and only the last one is kept.

Every quantity the rule reads is a function of the seed, the chunk size and the draws, never of the thread count
or the machine: the same seed and target give the same rounds, the same number of draws and bit-identical numbers
on 1 or 2 threads.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from model.analysis.summary import mcse_quantile, quantile_function

#: The draws of the first round.
START = 1 << 15
#: The largest number of draws a precision run takes by default (the run then stops and says the target was missed).
MAX_DRAWS = 5_000_000
#: The quantiles whose error the rule bounds.
QUANTILES = {"p5": 0.05, "p50": 0.50, "p95": 0.95}
#: Extra draws over the 1/sqrt(n) estimate.
MARGIN = 1.2


def relative_errors(results: Mapping[str, object], outputs: Sequence[str], n_eff: float | None = None
                    ) -> dict[str, dict[str, dict[str, float]]]:
    """``{variant: {output: {"p5": mcse/|p5|, "p50": ..., "p95": ...}}}`` of each run result (its quantile function:
    kept draws or histogram; Monte Carlo errors from ``n_eff`` draws, default the run's draws)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for variant, res in results.items():
        n = float(res.draws if n_eff is None else n_eff)
        out[variant] = {}
        for name in outputs:
            q = quantile_function(res, res.plan.output_index(name))
            out[variant][name] = {k: mcse_quantile(q, p, n) / abs(float(q(p))) if q(p) != 0 else 0.0
                                  for k, p in QUANTILES.items()}
    return out


def worst(errors: Mapping[str, Mapping[str, Mapping[str, float]]]) -> tuple[float, str]:
    """The largest relative error and where it is (``"<variant> <output> <quantile>"``)."""
    value, where = max((e, f"{v} {o} {k}") for v, per in errors.items() for o, ks in per.items()
                       for k, e in ks.items())
    return float(value), where


def next_draws(n: int, largest: float, target: float, chunk: int, max_draws: int) -> int:
    """The draws of the next round (see the module docstring)."""
    want = max(2 * n, math.ceil(n * (largest / target) ** 2 * MARGIN))
    return min(max_draws, chunk * math.ceil(want / chunk))


def start_draws(chunk: int, max_draws: int) -> int:
    """The draws of the first round: :data:`START` in whole chunks, at most ``max_draws``."""
    return min(max_draws, chunk * math.ceil(START / chunk))
