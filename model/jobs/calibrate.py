"""The calibration as a job: sample (``model.analysis.calibration``), write a run folder, read posteriors back.

:func:`calibrate_job` writes ``kalibratie-<config>-<stamp>-<hex>/`` with ``posterior.nc`` (ArviZ InferenceData:
posterior, sample stats, posterior predictive, prior, prior predictive), ``diagnostics.json`` (every check, per
parameter), ``prior_posterior.csv`` and its plot, ``ppc.csv`` and the ``manifest.json`` whose ``results`` say
whether the run is usable. A run that fails its diagnostics is written but marked ``usable: false``.

Every figure is used once: the calibration's priors are the independent prior set
(:func:`model.spec.provenance.calibration_priors`: the default priors with every entry back-solved from a printed
figure replaced by the prior of ``priors/kalibratie/onafhankelijk.yaml``), so it never conditions on a figure its
own priors were derived from. The manifest (``arguments.prior_set``, ``results.prior_set``) and the posterior's
attributes (``npvr_prior_set``) name the set, its file and hash and the replaced entries.

:func:`load_posterior` hands the joint posterior draws of a usable run to the engine: a run folder, or
``"gekalibreerd"``, the newest usable full run (else the newest usable quick run, with a warning) in the given
folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from model.analysis.calibration.sampling import FULL, SAMPLERS, Calibration, Config, cost, sample
from model.analysis.calibration.tables import ppc_table, prior_posterior_table
from model.errors import PriorError
from model.output import plots
from model.output.dataset import write_inference_data
from model.output.runfolder import (
    MANIFEST,
    RunFolder,
    input_hashes,
    read_manifest,
    write_json,
    write_manifest,
)
from model.output.tables import write_csv
from model.paths import RUNS_DIR
from model.resources import check_hours, check_memory
from model.spec.data import Gebieden, load_gebieden
from model.spec.priors import PriorSet, load_priors
from model.spec.provenance import ONAFHANKELIJK, calibration_priors
from model.spec.published import PUBLISHED, Figure

RUN_PREFIX = "kalibratie"
GEKALIBREERD = "gekalibreerd"
POSTERIOR = "posterior.nc"


class CalibrationJob(NamedTuple):
    path: Path
    calibration: Calibration
    manifest: dict

    @property
    def usable(self) -> bool:
        return self.calibration.usable

    @property
    def message(self) -> str:
        return self.calibration.message


def calibrate_job(priors: PriorSet | str | Path | None = None, config: Config = FULL, seed: int = 1, *,
                  out: str | Path = RUNS_DIR, figures: Sequence[Figure] = PUBLISHED,
                  printed: Mapping[str, float] | None = None, gebieden: Gebieden | None = None,
                  cores: int | None = None, prior_draws: int = 2000, progressbar: bool = False,
                  label: str | None = None, prior_set: str = ONAFHANKELIJK) -> CalibrationJob:
    """Calibrate the priors against the published figures and write a new run folder under ``out``
    (``kalibratie-<label or config name>-<stamp>-<hex>``).

    ``priors`` is the default prior set (or its directory); the calibration uses the set ``prior_set`` built from
    it (:data:`model.spec.provenance.PRIOR_SETS`: ``onafhankelijk``, the default, or ``rapport``, the default
    priors as they are, refused when it would observe a figure they were derived from)."""
    t0 = time.perf_counter()
    if not isinstance(priors, PriorSet):
        priors = load_priors(priors)
    used = calibration_priors(priors, prior_set)
    priors = used.priors
    gebieden = gebieden if gebieden is not None else load_gebieden()
    nbytes, seconds = cost(config, len(priors.entries), len(figures), cores or os.cpu_count() or 1, prior_draws)
    what = f"{config.chains} chains x {config.tune:,} + {config.draws:,} iterations"
    check_memory(what, nbytes, "ask for fewer draws or chains")
    check_hours(what, seconds / 3600, "ask for fewer draws or chains")
    folder = RunFolder(out, f"{RUN_PREFIX}-{label or config.name}", command="calibrate")
    with folder as tmp:         # before the sampling: an output folder that cannot be written stops it first
        cal = sample(priors, config, seed, figures=figures, printed=printed, gebieden=gebieden, cores=cores,
                     prior_draws=prior_draws, progressbar=progressbar)
        idata, info = cal.idata, cal.info
        pp_rows = prior_posterior_table(idata, info, priors)
        ppc_rows = ppc_table(idata, info)
        n_inside = sum(r["inside_90"] for r in ppc_rows)
        idata.posterior.attrs.update({
            "npvr_calibration_config": config.name, "npvr_usable": int(cal.usable),
            "npvr_figures": json.dumps([asdict(f) for f in info.figures], ensure_ascii=False),
            "npvr_printed": json.dumps(dict(zip([f.name for f in info.figures], info.printed.tolist()))),
            "npvr_prior_set": json.dumps(used.manifest(), ensure_ascii=False),
        })
        write_inference_data(idata, tmp / POSTERIOR)
        write_csv(tmp / "prior_posterior.csv", pp_rows, list(pp_rows[0]))
        write_csv(tmp / "ppc.csv", ppc_rows, list(ppc_rows[0]))
        plots.prior_posterior(pp_rows, tmp / "prior_posterior",
                              title=f"Kalibratie {config.name} (seed {seed}): {'bruikbaar' if cal.usable else 'NIET bruikbaar'}")
        diagnostics = {"usable": cal.usable, "message": cal.message, **cal.diagnostics,
                       "n_parameters": len(info.names), "n_figures": len(info.figures), "ppc_inside_90": n_inside,
                       "sigma_discrepantie_posterior_mean": float(idata.posterior["sigma_discrepantie"].mean())}
        write_json(diagnostics, tmp / "diagnostics.json")
        checks = {k: {"value": c["value"], "threshold": c["threshold"], "pass": c["pass"]}
                  for k, c in cal.diagnostics["checks"].items()}
        manifest = write_manifest(
            tmp, "calibrate",
            arguments={"config": config.name, "draws": config.draws, "tune": config.tune, "chains": config.chains,
                       "target_accept": config.target_accept, "init": config.init,
                       "max_treedepth": config.max_treedepth, "sampler_name": config.sampler,
                       "low_rank": config.low_rank,
                       "thresholds": asdict(config.thresholds), "cores": cal.diagnostics["cores"],
                       "priors": priors.directory, "prior_draws": prior_draws, "printed_replaced": sorted(printed or {}),
                       "figures": [f.name for f in info.figures], "sampler": SAMPLERS[config.sampler],
                       "prior_set": used.name},
            inputs=input_hashes(priors, gebieden),
            random={"seed": seed, "stream": f"{SAMPLERS[config.sampler]}: seed {seed} (the chains seeded by the "
                                            "sampler from it); prior predictive seed + 7919, posterior predictive "
                                            "seed + 104729 (PyMC)", "chunk_size": None},
            timings={**cal.timings, "total": time.perf_counter() - t0},
            results={"usable": cal.usable, "message": cal.message, "config": config.name, "checks": checks,
                     "prior_set": used.manifest(),
                     "n_parameters": len(info.names), "n_figures": len(info.figures), "ppc_inside_90": n_inside})
    return CalibrationJob(path=folder.path, calibration=cal, manifest=manifest)


# ---------------------------------------------------------------------------------------- reading back
class Posterior(NamedTuple):
    """The joint posterior draws of a calibration run: ``draws`` (n_draws, n_params), columns in the order of
    ``names`` (chains flattened; a row is one joint draw, so resampling rows keeps the posterior dependence)."""

    names: tuple[str, ...]
    draws: np.ndarray
    folder: Path
    sha256: str
    ess: float          # the smallest bulk or tail effective sample size over the parameters (ArviZ)


def find_calibrations(runs_dirs: Iterable[str | Path] = (RUNS_DIR,)) -> list[tuple[Path, dict]]:
    """Every finished calibration run folder in ``runs_dirs`` with its manifest, oldest first."""
    out, seen = [], set()
    for runs_dir in runs_dirs:
        runs_dir = Path(runs_dir)
        if not runs_dir.is_dir():
            continue
        for p in runs_dir.iterdir():
            if p.resolve() in seen or not p.is_dir() or not p.name.startswith(RUN_PREFIX):
                continue
            seen.add(p.resolve())
            try:
                manifest = read_manifest(p)
            except (FileNotFoundError, PriorError):
                continue
            if manifest.get("command") == "calibrate" and (p / POSTERIOR).is_file():
                out.append((p, manifest))
    out.sort(key=lambda pm: (pm[1].get("created_at", ""), pm[0].name))
    return out


def _resolve(path_or_name: str | Path, runs_dirs: Sequence[Path]) -> Path:
    if str(path_or_name) == GEKALIBREERD:
        runs = [(p, m) for p, m in find_calibrations(runs_dirs) if m["results"].get("usable") is True]
        full = [(p, m) for p, m in runs if m["results"].get("config") == "full"]
        if full:
            return full[-1][0]
        if runs:
            warnings.warn(f"no usable full calibration run; using the newest usable quick run {runs[-1][0].name}",
                          stacklevel=3)
            return runs[-1][0]
        where = ", ".join(str(d) for d in runs_dirs)
        raise PriorError(f"{where}: {GEKALIBREERD}: no usable calibration run found (run `python cli.py calibrate` "
                         "first)")
    p = Path(path_or_name)
    if p.is_file():
        p = p.parent
    if not (p / POSTERIOR).is_file():
        raise PriorError(f"{path_or_name}: not a calibration run folder ({POSTERIOR} missing)")
    return p


def load_posterior(path_or_name: str | Path = GEKALIBREERD, runs_dirs: Sequence[str | Path] = (RUNS_DIR,), *,
                   allow_unusable: bool = False) -> Posterior:
    """The joint posterior draws of a calibration run folder, or of ``"gekalibreerd"`` (the newest usable full run
    in ``runs_dirs``, else the newest usable quick run, with a warning). A run whose diagnostics failed is refused
    unless ``allow_unusable``; a damaged folder is an error naming it."""
    import xarray as xr

    runs_dirs = [Path(d) for d in runs_dirs]
    run = _resolve(path_or_name, runs_dirs)
    try:
        manifest = read_manifest(run)
    except FileNotFoundError:
        raise PriorError(f"{run}: {MANIFEST}: missing; not a finished calibration run") from None
    usable = manifest.get("results", {}).get("usable")
    if usable is not True and not allow_unusable:
        raise PriorError(f"{run}: calibration run is not usable: {manifest.get('results', {}).get('message', '?')}")
    path = run / POSTERIOR
    try:
        with xr.open_dataset(path, group="posterior", engine="h5netcdf") as ds:
            da = ds["kental"].stack(sample=("chain", "draw")).transpose("sample", "parameter")
            names = tuple(str(n) for n in da["parameter"].values)
            draws = np.ascontiguousarray(da.values, dtype=np.float64)
            ess = _smallest_ess(ds[["kental"]])
    except (OSError, KeyError, ValueError) as exc:
        raise PriorError(f"{path}: (file): not a readable posterior ({type(exc).__name__})") from None
    if draws.size == 0 or not np.all(np.isfinite(draws)):
        raise PriorError(f"{path}: kental: the posterior draws are empty or not all finite")
    return Posterior(names, draws, run.resolve(), hashlib.sha256(path.read_bytes()).hexdigest(), ess)


def _smallest_ess(ds) -> float:
    """min over the parameters of ArviZ's bulk and tail ESS: what the posterior sample is worth in independent
    draws, for the Monte Carlo errors of runs that resample it."""
    import arviz as az

    values = [float(np.nanmin(az.ess(ds, method=m)["kental"].values)) for m in ("bulk", "tail")]
    return max(1.0, min(values))
