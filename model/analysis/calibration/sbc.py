"""Simulation-based calibration (Talts et al. 2018) of the calibration model on a reduced configuration.

If the sampler and the model are right, the rank of a parameter's true value among L posterior draws, over many
data sets simulated from the prior, is uniform on 0..L, and a central 90% posterior interval holds the true value
in 90% of the replicates. :func:`run_sbc` does this for a *reduced configuration*: a few entries sampled (the rest
fixed at their point values) and the few printed figures that depend on them, the same PyMC model
(:func:`model.analysis.calibration.model.build_model`), the same priors (the calibration's independent set) and the
same NUTS settings, only shorter.

Each replicate draws the entries and the discrepancy sd from the model's own prior (``pm.sample_prior_predictive``:
marginals and copula as in the calibration), simulates each figure as its model value plus the model's error
(rounding sd and relative discrepancy; the model scales the discrepancy by the observed figure, the simulation by
the model value, a second-order difference of relative size sigma_discrepantie²), samples the posterior on those
figures and records the rank of each true value among ``L`` posterior draws thinned evenly from the chains. The
sampler is the configuration's: nutpie compiles the model once and samples each replicate's data set on it
(``with_data``); PyMC's NUTS samples the model with the data set swapped in. Not NumPyro, the shipped
configurations' sampler: its frozen model holds the data set as constants, so every replicate would compile anew;
what SBC checks is the model's posterior, which the samplers share.
``bench/sbc.py`` prints the figures; ``tests/analysis/test_calibration.py`` runs a small version.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from model.analysis.calibration.model import build_model
from model.analysis.calibration.sampling import Config, Thresholds, compile_mode
from model.spec.data import Gebieden, load_gebieden
from model.spec.distributions import parse_distribution
from model.spec.priors import PriorSet
from model.spec.published import PUBLISHED, Figure

#: The reduced configuration: six entries (the nieuwbouw and OV kentallen, all with independent priors or their own
#: sources; a declared rank correlation between the two restopgave kentallen) and the three printed figures that
#: depend on them.
SAMPLED = ("nieuwbouw_woningen_npvr", "restopgave_toerekenbaar_per_woning", "restopgave_niet_toerekenbaar_per_woning",
           "eenmalige_ov_kosten_per_provincie", "basis_exploitatielasten_ov_npvr_per_jaar",
           "kostenelasticiteit_extra_kilometers")
FIGURES = ("nieuwbouw", "ov_eenmalig", "ov_exploitatie_per_jaar")
#: Short chains: each replicate is one calibration.
SBC_CONFIG = Config("sbc", draws=400, tune=400, chains=2, target_accept=0.95,
                    thresholds=Thresholds(min_ess_bulk=100.0, min_ess_tail=100.0))


@dataclass
class SBCResult:
    """Ranks (replicates, parameters) of the true values among ``n_ranked`` posterior draws (0..n_ranked), whether
    each central 90% interval held the truth, divergences per replicate, the parameters' names and timings."""

    names: tuple[str, ...]
    ranks: np.ndarray
    inside_90: np.ndarray
    divergences: np.ndarray
    n_ranked: int
    seconds: float

    def chi2_pvalues(self, bins: int = 10) -> dict[str, float]:
        """Per parameter: the chi-square test of uniform ranks in ``bins`` equal bins of 0..n_ranked."""
        from scipy import stats

        edges = np.linspace(0, self.n_ranked + 1, bins + 1)
        out = {}
        for k, n in enumerate(self.names):
            counts, _ = np.histogram(self.ranks[:, k], bins=edges)
            out[n] = float(stats.chisquare(counts).pvalue)
        return out

    def ks_pvalues(self) -> dict[str, float]:
        """Per parameter: Kolmogorov-Smirnov of (rank + 0.5) / (n_ranked + 1) against the uniform distribution
        (the discrete ranks centred in their cells)."""
        from scipy import stats

        u = (self.ranks + 0.5) / (self.n_ranked + 1)
        return {n: float(stats.kstest(u[:, k], "uniform").pvalue) for k, n in enumerate(self.names)}

    def coverage(self) -> dict[str, float]:
        return {n: float(self.inside_90[:, k].mean()) for k, n in enumerate(self.names)}


def reduced_priors(priors: PriorSet, sampled: Sequence[str] = SAMPLED) -> PriorSet:
    """``priors`` with every entry outside ``sampled`` fixed at its point value."""
    entries = {}
    for n, e in priors.entries.items():
        if n in sampled or e.fixed:
            entries[n] = e
        else:
            dist = {"family": "fixed", "value": e.point}
            entries[n] = dataclasses.replace(e, distribution=dist, spec=parse_distribution(dist, e.bounds, e.where))
    missing = set(sampled) - set(priors.entries)
    if missing:
        raise KeyError(f"unknown entries to sample: {sorted(missing)}")
    return dataclasses.replace(priors, entries=entries)


def run_sbc(priors: PriorSet, replicates: int, seed: int = 1, *, n_ranked: int = 99, config: Config = SBC_CONFIG,
            sampled: Sequence[str] = SAMPLED, figures: Sequence[str] = FIGURES, gebieden: Gebieden | None = None,
            progress=None) -> SBCResult:
    """Simulation-based calibration: ``replicates`` data sets from the prior of the reduced configuration, each
    calibrated with ``config``; ranks among ``n_ranked`` thinned posterior draws per parameter (the sampled entries
    and ``sigma_discrepantie``). ``progress(k, result_so_far)`` is called after each replicate."""
    import pymc as pm

    if config.sampler not in ("nutpie", "pymc"):
        # NumPyro's model is frozen with its data as constants: every replicate would compile anew
        raise ValueError(f"configuration {config.name}: sampler: SBC samples with nutpie (compiled once, each "
                         f"replicate swapping the data) or pymc, not {config.sampler!r}")
    t0 = time.perf_counter()
    gebieden = gebieden if gebieden is not None else load_gebieden()
    reduced = reduced_priors(priors, sampled)
    by_name = {f.name: f for f in PUBLISHED}
    figs: tuple[Figure, ...] = tuple(by_name[n] for n in figures)
    model, info = build_model(reduced, gebieden, figs)
    names = info.names + ("sigma_discrepantie",)
    mode = compile_mode()
    rng = np.random.default_rng(seed)
    with model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message="QuadPotentialFullAdapt is an experimental feature")
        prior = pm.sample_prior_predictive(draws=replicates, var_names=["kental", "sigma_discrepantie", "figuur_model"],
                                           random_seed=int(rng.integers(2**31)), compile_kwargs={"mode": mode}).prior
    truth_k = prior["kental"].stack(s=("chain", "draw")).transpose("s", "parameter").values
    truth_s = prior["sigma_discrepantie"].stack(s=("chain", "draw")).values
    mu = prior["figuur_model"].stack(s=("chain", "draw")).transpose("s", "figuur").values
    rounding = np.array([f.rounding_sd for f in figs])
    ranks = np.zeros((replicates, len(names)), dtype=int)
    inside = np.zeros((replicates, len(names)), dtype=bool)
    divergences = np.zeros(replicates, dtype=int)
    compiled = None
    if config.sampler == "nutpie":      # compiled once; each replicate only swaps the data set
        import nutpie

        compiled = nutpie.compile_pymc_model(model, backend="numba")
    for r in range(replicates):
        sd = np.sqrt(rounding**2 + (truth_s[r] * np.abs(mu[r])) ** 2)
        y = mu[r] + sd * rng.standard_normal(len(figs))
        sample_seed = int(rng.integers(2**31))
        if compiled is not None:
            idata = nutpie.sample(compiled.with_data(gepubliceerd_waarde=y), draws=config.draws, tune=config.tune,
                                  chains=config.chains, cores=config.chains, seed=sample_seed, progress_bar=False,
                                  save_warmup=False, target_accept=config.target_accept,
                                  maxdepth=config.max_treedepth)
        else:
            with model, warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=FutureWarning)
                warnings.filterwarnings("ignore", message="QuadPotentialFullAdapt is an experimental feature")
                pm.set_data({"gepubliceerd_waarde": y})
                idata = pm.sample(draws=config.draws, tune=config.tune, chains=config.chains, cores=config.chains,
                                  random_seed=sample_seed, init=config.init, target_accept=config.target_accept,
                                  progressbar=False, compute_convergence_checks=False,
                                  idata_kwargs={"log_likelihood": False}, compile_kwargs={"mode": mode})
        post = idata.posterior
        draws = np.concatenate([post["kental"].values, post["sigma_discrepantie"].values[..., None]], axis=-1)
        pooled = draws.reshape(-1, len(names))
        # L draws thinned evenly over the pooled chains (autocorrelation inflates rank counts at the ends otherwise)
        pick = np.linspace(0, pooled.shape[0] - 1, n_ranked).round().astype(int)
        thinned = pooled[pick]
        true = np.concatenate([truth_k[r], [truth_s[r]]])
        ranks[r] = (thinned < true).sum(axis=0)
        lo, hi = np.quantile(pooled, [0.05, 0.95], axis=0)
        inside[r] = (lo <= true) & (true <= hi)
        divergences[r] = int(idata.sample_stats["diverging"].sum())
        if progress is not None:
            progress(r, SBCResult(names, ranks[:r + 1], inside[:r + 1], divergences[:r + 1], n_ranked,
                                  time.perf_counter() - t0))
    return SBCResult(names, ranks, inside, divergences, n_ranked, time.perf_counter() - t0)
