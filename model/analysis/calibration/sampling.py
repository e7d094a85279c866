"""Sampling the calibration model with NUTS (NumPyro's by default, nutpie's or PyMC's) and judging the result with
ArviZ.

:func:`sample` runs NUTS (:data:`SAMPLERS`; the configuration's ``sampler``) on the latent scores of all non-fixed
entries (entries no figure depends on keep their prior; the pinned sums and the capaciteit shortfalls in their own
coordinates, :mod:`model.analysis.calibration.reparametrisation`); PyMC's NUTS with a dense mass matrix
(``jitter+adapt_full``: the printed totals pin down sums and products of many entries, narrow ridges not aligned
with any one axis), nutpie with its own adaptation of a diagonal mass matrix with a low-rank correction (the same
reason), NumPyro with a diagonal one (the coordinates take out the ridges that need more). It checks R-hat, bulk
and tail ESS and divergences (:func:`diagnose`). A run that fails its diagnostics is marked not usable, with a
message naming each failed check and its worst parameter.

Thresholds (:class:`Thresholds`): max R-hat < 1.01, min bulk and tail ESS > 400 (100 per chain, Vehtari et al.
2021), no divergences. The checks gate on the entries' values (``kental``) and the discrepancy sd; the diagnostics of
the sampler's own coordinates (``z_onafhankelijk``) are reported beside them. The two configurations
(:class:`Config`) differ in length only, not in thresholds: :data:`FULL` and :data:`QUICK`.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from model.analysis.calibration import reparametrisation
from model.analysis.calibration.model import ModelInfo, build_model
from model.spec.data import Gebieden, load_gebieden
from model.spec.priors import PriorSet
from model.spec.provenance import check_provenance
from model.spec.published import PUBLISHED, Figure


@dataclass(frozen=True)
class Thresholds:
    """Diagnostics a run must pass to be marked usable."""

    max_rhat: float = 1.01
    min_ess_bulk: float = 400.0
    min_ess_tail: float = 400.0
    max_divergences: int = 0


@dataclass(frozen=True)
class Config:
    """A sampler configuration: chains × (tune + draws) NUTS steps at ``target_accept``, judged by ``thresholds``.

    ``sampler`` (:data:`SAMPLERS`): ``nutpie`` (nutpie's NUTS on the PyMC model, numba backend; its own mass-matrix
    adaptation, ``init`` unused; ``low_rank``: its diagonal mass matrix with a low-rank correction, which adapts to
    the posterior's correlations, instead of the diagonal alone), ``numpyro`` (NumPyro's NUTS through PyMC, the model
    compiled to JAX, a diagonal mass matrix, the chains in parallel: :func:`sample_numpyro`; ``init`` and
    ``low_rank`` unused) or ``pymc`` (PyMC's NUTS with the dense mass matrix of ``init``; ``low_rank`` unused).
    ``max_treedepth``
    caps each NUTS trajectory at 2**max_treedepth leapfrog steps (the samplers' default 10). The shipped
    configurations keep the default; a cap makes a run cheaper and its chains mix worse, so it suits runs whose
    posterior nobody uses (the tests of the job's plumbing)."""

    name: str
    draws: int
    tune: int
    chains: int
    target_accept: float
    init: str = "jitter+adapt_full"
    max_treedepth: int = 10
    thresholds: Thresholds = field(default_factory=Thresholds)
    sampler: str = "nutpie"
    low_rank: bool = True

    def __post_init__(self):
        if self.sampler not in SAMPLERS:
            raise ValueError(f"configuration {self.name}: sampler: unknown sampler {self.sampler!r} (known: "
                             f"{list(SAMPLERS)})")


#: The samplers a configuration can name, with what the manifest calls them. NumPyro is the shipped configurations':
#: on this project's 2-core machine, full configuration, the same model (``bench/samplers.py``, 2026-12-03, seed 1)
#: every sampler below passed the diagnostics; NumPyro took 52 s end to end with its compiled code cached and 68 s on
#: an empty cache, nutpie (numba) 56 s and 219 s (its compilation), nutpie with the JAX backend 83-84 s (the sampler
#: calls back into Python for every gradient).
#: nutpie's numba draws also differed between its warm and empty cache at the same seed (max R-hat 1.0070 against
#: 1.0040): the numba code compiled anew is not the code loaded from its cache, to the last bit. NumPyro's did not,
#: nor between one XLA device and several (``tests/analysis/test_calibration.py``). The closing note of issue #16
#: has the table.
SAMPLERS = {"nutpie": "nutpie NUTS (numba backend)", "pymc": "PyMC NUTS", "numpyro": "NumPyro NUTS (JAX backend)"}


#: The full configuration: 4 chains × 1000 draws after 1000 tuning steps, NumPyro with a diagonal mass matrix (about
#: 60 leapfrog steps per draw; its dense mass matrix took 28 and more time, ``bench/samplers.py``). The model's
#: coordinates (:mod:`model.analysis.calibration.reparametrisation`) leave a diagonal enough. Measured on this machine
#: (2026-12-03, ``python bench/calibration.py --configs full quick --seeds 1 2 3 4 5 6``): 6 of 6 seeds usable, max
#: R-hat 1.0032-1.0049, min ESS bulk 1850-2203, tail 1945-2343, 0 divergences, 34-36 s a run once JAX's code was
#: compiled (the first, 65 s, compiled it).
FULL = Config("full", draws=1000, tune=1000, chains=4, target_accept=0.95, sampler="numpyro")
#: The reduced configuration (``--quick``, the notebook): 4 chains × 500 draws after 1000 tuning steps, the same
#: thresholds. Four chains, not two: with ~90 parameters the largest R-hat of 2 × 500 well-mixed draws exceeds 1.01
#: by chance. A long tuning phase and ``target_accept`` 0.95 (smaller steps) keep it free of divergences: with 400
#: tuning steps at 0.9, one or two divergences in a run were common (bench/calibration.py has the figures). With
#: NumPyro (the same command as the full configuration's) 5 of 6 seeds were usable, narrowly: max R-hat 1.0059-1.0099,
#: seed 1 1.0101; 30-32 s a run, little less than the full configuration's 34-36 s, which is the one to use.
QUICK = Config("quick", draws=500, tune=1000, chains=4, target_accept=0.95, sampler="numpyro")
CONFIGS = {c.name: c for c in (FULL, QUICK)}

#: Seconds per NUTS iteration per core, a floor for estimates: measured on this project's 2-core machine, the full
#: configuration (4 × 2000 iterations on 2 cores) samples in about 15 s (0.004 s per iteration per core, 2026-12-03);
#: about half of that, so that an estimate never refuses a run that would finish in time.
SECONDS_PER_ITERATION = 0.002


def cost(config: Config, n_parameters: int, n_figures: int, cores: int, prior_draws: int = 2000) -> tuple[float, float]:
    """(bytes, seconds) a configuration needs, roughly: the draws kept (posterior, sample stats, predictive, prior;
    twice, for ArviZ's conversion) and the iterations at :data:`SECONDS_PER_ITERATION`."""
    per_draw = 3 * n_parameters + 3 * n_figures + 16
    nbytes = 8 * 2 * per_draw * (config.chains * config.draws + prior_draws)
    seconds = config.chains * (config.tune + config.draws) * SECONDS_PER_ITERATION / max(1, min(cores, config.chains))
    return float(nbytes), float(seconds)

#: PyTensor rewrites left out when compiling the calibration model. ``local_greedy_distributor`` expands products
#: over the former 41-point quadrature sum of the capaciteit kernel into thousands of nodes;
#: ``local_inline_composite_constants`` bakes each quadrature constant into its own C module (41 compilations).
#: Measured on the capaciteit kernel alone while it held that quadrature (before issue #16's closed form): rewrite
#: time 12.7 s -> 4.9 s, cold C compilation 82 s -> 49 s; not measured again since. Neither rewrite changes a
#: computed value beyond floating-point rounding.
EXCLUDED_REWRITES = ("local_greedy_distributor", "local_inline_composite_constants")


def compile_mode():
    """The PyTensor mode used for every function of the calibration (FAST_RUN minus :data:`EXCLUDED_REWRITES`)."""
    from pytensor.compile.mode import get_mode

    return get_mode("FAST_RUN").excluding(*EXCLUDED_REWRITES)


@dataclass
class Calibration:
    """A sampled calibration: the trace, what was built, the diagnostics and whether it is usable."""

    idata: Any
    info: ModelInfo
    config: Config
    seed: int
    usable: bool
    message: str
    diagnostics: dict
    timings: dict[str, float]


def sample(priors: PriorSet, config: Config = FULL, seed: int = 1, *, figures: Sequence[Figure] = PUBLISHED,
           printed: Mapping[str, float] | None = None, gebieden: Gebieden | None = None, cores: int | None = None,
           prior_draws: int = 2000, progressbar: bool = False) -> Calibration:
    """Sample the calibration model in configuration ``config`` and diagnose it.

    ``printed`` replaces printed values (parameter-recovery and leave-out tests); ``prior_draws`` draws of the
    prior and prior predictive are added (0: none). ``priors`` is the prior set the calibration uses (the job
    passes the independent one, :func:`model.spec.provenance.calibration_priors`); a set with an entry derived
    from a figure observed at its printed value is refused (:func:`model.spec.provenance.check_provenance`).
    ``cores``: processes for the chains (default: PyMC's, min(chains, CPUs))."""
    import pymc as pm

    t0 = time.perf_counter()
    # every figure used once: no prior of this set may be derived from a figure observed at its printed value
    # (a figure whose value ``printed`` replaces, e.g. a simulated one, carries none of the report's information)
    check_provenance(priors, [f.name for f in figures if f.name not in (printed or {})],
                     where=f"{priors.directory}: calibration")
    gebieden = gebieden if gebieden is not None else load_gebieden()
    if cores is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        cores = max(1, min(config.chains, cpus))
    model, info = build_model(priors, gebieden, figures, printed=printed, reparametrise=True)
    # the prior predictive from the model in the entries' own scores (the same prior; a reparametrised model has
    # no generative prior)
    prior_model = model if prior_draws <= 0 or not info.reparametrised else \
        build_model(priors, gebieden, figures, printed=printed)[0]
    mode = compile_mode()
    t_build = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message="QuadPotentialFullAdapt is an experimental feature")
        prior_idata = None if prior_draws <= 0 else pm.sample_prior_predictive(
            draws=prior_draws,
            var_names=["kental", "z", "figuur_model", "kolomtotaal", "sigma_discrepantie", "gepubliceerd"],
            random_seed=seed + 7919, compile_kwargs={"mode": mode}, model=prior_model)
        t_prior = time.perf_counter()
        t_compile = None
        if config.sampler == "nutpie":
            idata, t_compile = sample_nutpie(model, info, config, seed, cores, progressbar)
        elif config.sampler == "numpyro":
            idata = sample_numpyro(model, info, config, seed, progressbar)
        else:
            idata = pm.sample(model=model, draws=config.draws, tune=config.tune, chains=config.chains, cores=cores,
                              random_seed=seed, init=config.init, target_accept=config.target_accept,
                              max_treedepth=config.max_treedepth, progressbar=progressbar,
                              compute_convergence_checks=False, idata_kwargs={"log_likelihood": False},
                              compile_kwargs={"mode": mode}, initvals=info.initial_point or None)
        t_sample = time.perf_counter()
        # the potential of the capaciteit coordinates is part of the prior of the parameters; the predictive of the
        # printed figures given a posterior draw of every parameter does not depend on it
        warnings.filterwarnings("ignore", message="The effect of Potentials on other parameters is ignored")
        pm.sample_posterior_predictive(idata, var_names=["gepubliceerd"], random_seed=seed + 104729, model=model,
                                       extend_inferencedata=True, progressbar=progressbar, compile_kwargs={"mode": mode})
    if prior_idata is not None:
        idata.extend(prior_idata)
    t_ppc = time.perf_counter()
    diag = diagnose(idata, info.names, config.thresholds)
    failed = [k for k, c in diag["checks"].items() if not c["pass"]]
    if not failed:
        message = f"usable: all diagnostics pass ({config.name} configuration)"
    else:
        parts = []
        for k in failed:
            c = diag["checks"][k]
            who = diag["worst_parameter"].get(k)
            parts.append(f"{k} = {c['value']:.4g} (threshold {c['threshold']}{'; worst: ' + who if who else ''})")
        message = "NOT usable: diagnostics fail: " + "; ".join(parts)
    timings = {"build_s": t_build - t0, "prior_predictive_s": t_prior - t_build,
               **({} if t_compile is None else {"compile_s": t_compile}),
               "sample_s": t_sample - t_prior - (t_compile or 0.0), "posterior_predictive_s": t_ppc - t_sample}
    return Calibration(idata=idata, info=info, config=config, seed=seed, usable=not failed, message=message,
                       diagnostics={**diag, "cores": cores}, timings=timings)


def sample_nutpie(model, info: ModelInfo, config: Config, seed: int, cores: int, progressbar: bool = False, *,
                  backend: str = "numba", **settings):
    """nutpie's NUTS on ``model`` (``backend``: numba, or jax with JAX's own gradient) in ``config``, started at
    ``info.initial_point``: the trace, with the sample stats under the names :func:`diagnose` reads, and the seconds
    its compilation took. ``settings``: more of nutpie's (e.g. ``low_rank_modified_mass_matrix=False``,
    bench/samplers.py), over those of ``config``."""
    import nutpie

    t = time.perf_counter()
    if backend == "jax":
        _jax_compile_cache()
        reparametrisation.register_jax()
        compiled = nutpie.compile_pymc_model(model, backend="jax", gradient_backend="jax",
                                             initial_points=info.initial_point or None)
    else:
        compiled = nutpie.compile_pymc_model(model, backend=backend, initial_points=info.initial_point or None)
    t_compile = time.perf_counter() - t
    settings = {"low_rank_modified_mass_matrix": config.low_rank, **settings}
    idata = nutpie.sample(compiled, draws=config.draws, tune=config.tune, chains=config.chains, cores=cores,
                          seed=seed, progress_bar=progressbar, save_warmup=False,
                          target_accept=config.target_accept, maxdepth=config.max_treedepth, **settings)
    stats = idata.sample_stats
    idata.sample_stats = stats.rename({k: v for k, v in (("depth", "tree_depth"), ("step_size_bar", "step_size"))
                                       if k in stats and v not in stats})
    return idata, t_compile


def sample_numpyro(model, info: ModelInfo, config: Config, seed: int, progressbar: bool = False, **nuts):
    """NumPyro's NUTS on ``model`` through PyMC (the model frozen and compiled to JAX; JAX's own gradient), in
    ``config``, started at ``info.initial_point`` (PyMC's jitter added): the trace, with the sample stats under the
    names :func:`diagnose` reads. A diagonal mass matrix (``nuts``: more of NumPyro's NUTS settings, e.g.
    ``dense_mass=True``, bench/samplers.py).

    The chains run in parallel, one XLA host device each (:func:`_host_devices`), whatever the cores: the draws
    depend on how the chains are laid out on devices (one device, the chains in sequence, gave other draws at the
    same seed, 2026-12-03), so the layout is fixed. They do not depend on JAX's disk cache
    (``tests/analysis/test_calibration.py``). Where JAX was started in this process with fewer devices than chains,
    the chains run in sequence, with a warning."""
    _host_devices(config.chains)     # before JAX starts its backend
    import jax
    import pymc as pm
    from pymc.model.transform.optimization import freeze_dims_and_data

    _jax_compile_cache()
    reparametrisation.register_jax()
    nuts = {"dense_mass": False, "max_tree_depth": config.max_treedepth, **nuts}
    chain_method = "parallel"
    if jax.local_device_count() < config.chains:
        chain_method = "sequential"
        warnings.warn(f"JAX was started with {jax.local_device_count()} device(s) for {config.chains} chains: the "
                      "chains run in sequence, and their draws differ from those of a fresh process", stacklevel=2)
    return pm.sample(model=freeze_dims_and_data(model), draws=config.draws, tune=config.tune, chains=config.chains,
                     random_seed=seed, target_accept=config.target_accept, nuts_sampler="numpyro",
                     initvals=info.initial_point or None, progressbar=progressbar, compute_convergence_checks=False,
                     idata_kwargs={"log_likelihood": False},
                     nuts_sampler_kwargs={"chain_method": chain_method, "nuts_kwargs": nuts})


#: JAX's compiled code is kept on disk if it took at least this long to compile.
JAX_CACHE_MIN_COMPILE_S = 0.5


def _jax_compile_cache() -> None:
    """Keep JAX's compiled code between processes, beside PyTensor's: ``<PyTensor's base_compiledir>/jax``, so that
    one setting (``PYTENSOR_FLAGS=base_compiledir=...``) moves or empties both; a directory the user gave JAX
    (``JAX_COMPILATION_CACHE_DIR``) is kept. JAX compiles the same program to the same code, so the draws do not
    depend on whether it came from the cache (``bench/samplers.py``, warm against cold). Measured (full
    configuration, seed 1, 2026-12-03): NumPyro's run 66.5 s on an empty cache, 52.0 s with it filled."""
    import jax
    import pytensor

    if not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", os.path.join(pytensor.config.base_compiledir, "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", JAX_CACHE_MIN_COMPILE_S)


def _host_devices(n: int) -> None:
    """Ask XLA for ``n`` CPU devices (NumPyro's parallel chains need one each). It takes effect only before JAX
    starts its CPU backend, so once per process: a later call with more chains than devices runs them in sequence."""
    import numpyro

    numpyro.set_host_device_count(max(n, 1))


def diagnose(idata, names: Sequence[str], thresholds: Thresholds) -> dict:
    """R-hat, bulk and tail ESS per parameter and divergences, against ``thresholds``."""
    import arviz as az

    var_names = ["z_onafhankelijk", "sigma_discrepantie", "kental"]
    rhat = az.rhat(idata, var_names=var_names)
    ess_bulk = az.ess(idata, var_names=var_names, method="bulk")
    ess_tail = az.ess(idata, var_names=var_names, method="tail")
    divergences = int(idata.sample_stats["diverging"].sum())
    per_param = {}
    for i, n in enumerate(names):
        per_param[n] = {
            "rhat": float(rhat["kental"].values[i]),
            "ess_bulk": float(ess_bulk["kental"].values[i]),
            "ess_tail": float(ess_tail["kental"].values[i]),
            "rhat_z": float(rhat["z_onafhankelijk"].values[i]),
            "ess_bulk_z": float(ess_bulk["z_onafhankelijk"].values[i]),
            "ess_tail_z": float(ess_tail["z_onafhankelijk"].values[i]),
        }
    per_param["sigma_discrepantie"] = {
        "rhat": float(rhat["sigma_discrepantie"]), "ess_bulk": float(ess_bulk["sigma_discrepantie"]),
        "ess_tail": float(ess_tail["sigma_discrepantie"]),
    }
    gating = ["kental", "sigma_discrepantie"]  # the parameters themselves; z_onafhankelijk is reported only

    def all_values(ds):
        return np.concatenate([np.atleast_1d(ds[v].values).ravel() for v in gating])

    # NaN (e.g. a parameter that never moved) counts as failing
    r, b, t = all_values(rhat), all_values(ess_bulk), all_values(ess_tail)
    max_rhat = float(np.max(np.where(np.isfinite(r), r, np.inf)))
    min_bulk = float(np.min(np.where(np.isfinite(b), b, -np.inf)))
    min_tail = float(np.min(np.where(np.isfinite(t), t, -np.inf)))
    checks = {
        "rhat": {"value": max_rhat, "threshold": thresholds.max_rhat, "pass": max_rhat < thresholds.max_rhat},
        "ess_bulk": {"value": min_bulk, "threshold": thresholds.min_ess_bulk, "pass": min_bulk > thresholds.min_ess_bulk},
        "ess_tail": {"value": min_tail, "threshold": thresholds.min_ess_tail, "pass": min_tail > thresholds.min_ess_tail},
        "divergences": {"value": divergences, "threshold": thresholds.max_divergences,
                        "pass": divergences <= thresholds.max_divergences},
    }

    def worst_of(key, pick):
        def score(n):
            v = per_param[n][key]
            return v if np.isfinite(v) else (np.inf if pick is max else -np.inf)
        return pick(per_param, key=score)

    worst = {"rhat": worst_of("rhat", max), "ess_bulk": worst_of("ess_bulk", min), "ess_tail": worst_of("ess_tail", min)}
    return {"checks": checks, "worst_parameter": worst, "parameters": per_param,
            "tree_depth_mean": float(idata.sample_stats["tree_depth"].mean()),
            "step_size_mean": float(idata.sample_stats["step_size"].mean())}
