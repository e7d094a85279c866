"""The calibration's samplers side by side: PyMC's NUTS against nutpie (PyMC model, numba backend), on the same
model (``build_model`` with the calibration's own prior set, ``model.spec.provenance.calibration_priors``), the
same configuration (``--config``: chains x draws after tuning) and the same diagnostics
(``model.analysis.calibration.sampling.diagnose``: R-hat, bulk and tail ESS, divergences).

    python bench/samplers.py                     # full configuration, PyTensor's compile cache warm and empty
    python bench/samplers.py --config quick --samplers pymc

Samplers: ``pymc`` (PyMC's NUTS, dense mass matrix), ``nutpie`` (nutpie, numba backend, with its low-rank mass
matrix), ``nutpie-diag`` (the same with its diagonal mass matrix alone), ``nutpie-jax`` (nutpie with the JAX backend
and JAX's gradient, low-rank), ``numpyro`` (NumPyro's NUTS through PyMC, JAX, diagonal mass matrix, chains in
parallel on XLA host devices) and ``numpyro-dense`` (the same with a dense mass matrix). For NumPyro "compile" is
only the model's build: JAX compiles inside the run, which "sample" then includes.

Each measurement runs in a fresh Python process, so what one sampler compiled never helps the next: "warm" uses
PyTensor's default compile directories (filled by a short untimed run first), "cold" a new empty base directory
(``base_compiledir``: PyTensor's C modules, its numba cache, which nutpie's numba backend uses, and the JAX cache the
calibration keeps beside them, ``model.analysis.calibration.sampling._jax_compile_cache``; the first-ever calibration
on a machine). Times: build (the PyMC model), compile (the sampler's functions), sample, and the
end-to-end total of the process. Run on an otherwise idle machine: every measurement uses both cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _measure(sampler: str, config_name: str, seed: int) -> dict:
    """One measurement, in this process: build, compile, sample, diagnose."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(REPO))
    import dataclasses
    import warnings

    import pymc as pm

    from model.analysis.calibration.model import build_model
    from model.analysis.calibration.sampling import CONFIGS, compile_mode, diagnose, sample_numpyro, sample_nutpie
    from model.spec.priors import load_priors
    from model.spec.provenance import calibration_priors

    config = CONFIGS[config_name] if config_name != "prepare" else dataclasses.replace(CONFIGS["quick"], draws=10,
                                                                                        tune=10, chains=2)
    priors = calibration_priors(load_priors()).priors
    model, info = build_model(priors, reparametrise=True)   # what the calibration samples
    t_build = time.perf_counter()
    warnings.filterwarnings("ignore")
    if sampler == "pymc":
        # PyMC compiles the logp and gradient inside pm.sample; its compile time is measured as the time to the
        # compiled logp-dlogp function, which pm.sample then finds in PyTensor's cache
        with model:
            model.logp_dlogp_function(ravel_inputs=True, mode=compile_mode())
            t_compile = time.perf_counter()
            idata = pm.sample(draws=config.draws, tune=config.tune, chains=config.chains, cores=2, random_seed=seed,
                              init=config.init, target_accept=config.target_accept, progressbar=False,
                              compute_convergence_checks=False, idata_kwargs={"log_likelihood": False},
                              compile_kwargs={"mode": compile_mode()}, initvals=info.initial_point or None)
    elif sampler.startswith("nutpie"):
        idata, seconds = sample_nutpie(model, info, config, seed, cores=2,
                                       backend="jax" if sampler == "nutpie-jax" else "numba",
                                       low_rank_modified_mass_matrix=sampler != "nutpie-diag")
        t_compile = t_build + seconds
    elif sampler.startswith("numpyro"):
        # NumPyro compiles inside its run (JAX traces and compiles on the first call): compile counts as sampling
        idata = sample_numpyro(model, info, config, seed, dense_mass=sampler == "numpyro-dense")
        t_compile = t_build
    else:
        raise SystemExit(f"unknown sampler {sampler!r}")
    t_sample = time.perf_counter()
    diag = diagnose(idata, info.names, config.thresholds)
    c = diag["checks"]
    return {"sampler": sampler, "config": config_name, "seed": seed, "build_s": t_build - t0,
            "compile_s": t_compile - t_build, "sample_s": t_sample - t_compile,
            "rhat": c["rhat"]["value"], "ess_bulk": c["ess_bulk"]["value"], "ess_tail": c["ess_tail"]["value"],
            "divergences": c["divergences"]["value"], "usable": all(v["pass"] for v in c.values()),
            "steps": float(idata.sample_stats["n_steps"].mean()) if "n_steps" in idata.sample_stats else float("nan")}


def _child(sampler: str, config: str, seed: int, compiledir: str | None) -> dict:
    env = dict(os.environ)
    if compiledir is not None:
        env["PYTENSOR_FLAGS"] = f"base_compiledir={compiledir}"
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", sampler, "--config", config, "--seed", str(seed)],
                          capture_output=True, text=True, env=env, cwd=REPO)
    total = time.perf_counter() - t
    if proc.returncode != 0:
        return {"sampler": sampler, "error": proc.stderr.strip().splitlines()[-1:] or ["?"], "total_s": total}
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "total_s": total}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="full")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samplers", nargs="+", default=["pymc", "nutpie", "nutpie-diag", "nutpie-jax", "numpyro",
                                                         "numpyro-dense"])
    ap.add_argument("--caches", nargs="+", default=["warm", "cold"], choices=["warm", "cold"])
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child, args.config, args.seed)))
        return
    print(f"config {args.config}, seed {args.seed}; each line one fresh process on this machine")
    print(f"{'sampler':15} {'cache':5} {'build s':>7} {'compile s':>9} {'sample s':>8} {'total s':>7} "
          f"{'steps/draw':>10} {'max R-hat':>9} {'min ESS bulk':>12} {'min ESS tail':>12} {'diverg.':>7} {'usable':>6}")
    rows = []
    for sampler in args.samplers:
        for cache in args.caches:
            with tempfile.TemporaryDirectory(prefix="pytensor-cold-") as cold:
                if cache == "warm":      # fill the default compile directory first (a few steps, not timed)
                    _child(sampler, "prepare", args.seed, None)
                r = _child(sampler, args.config, args.seed, cold if cache == "cold" else None)
            rows.append({**r, "cache": cache})
            if "error" in r:
                print(f"{sampler:15} {cache:5} error: {r['error']}", flush=True)
                continue
            print(f"{sampler:15} {cache:5} {r['build_s']:7.1f} {r['compile_s']:9.1f} {r['sample_s']:8.1f} "
                  f"{r['total_s']:7.1f} {r['steps']:10.0f} {r['rhat']:9.4f} {r['ess_bulk']:12.0f} {r['ess_tail']:12.0f} "
                  f"{r['divergences']:7d} {str(r['usable']):>6}", flush=True)
    ok = [r for r in rows if "error" not in r]
    if ok:
        base = next((r for r in ok if r["sampler"] == "pymc" and r["cache"] == "warm"), ok[0])
        for r in ok:
            print(f"{r['sampler']} ({r['cache']}): total {r['total_s'] / base['total_s']:.2f}x, sampling "
                  f"{r['sample_s'] / base['sample_s']:.2f}x that of {base['sampler']} ({base['cache']})")


if __name__ == "__main__":
    main()
