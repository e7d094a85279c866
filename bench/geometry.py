"""Where the calibration's posterior is hard for NUTS: the local curvature against the global spread.

For a calibration run folder (its ``posterior.nc``), at a few posterior draws: the Hessian of the log posterior in
the sampler's own coordinates (finite differences of PyMC's gradient), whitened by the posterior covariance of those
coordinates (what a dense mass matrix learns). For a Gaussian posterior every eigenvalue of the whitened Hessian is
1; an eigenvalue k means the posterior is locally sqrt(k) times narrower in that direction than it is overall, and
NUTS's step must shrink to that width. Printed per draw: the largest eigenvalues and the coordinates of the top
direction (the sampler's coordinates: the entries' independent normal scores, and the ``coordinaten`` where the
model is reparametrised, ``model.analysis.calibration.reparametrisation``), divergent draws marked.

    python bench/geometry.py runs/kalibratie-full-...        # the run's own model (reparametrised or not)
    python bench/geometry.py RUN --points 12 --plain         # the model in the entries' own scores

The run must have been made with the calibration's independent priors and all published figures (the default
``calibrate``); its posterior's variables name the coordinates.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--points", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--plain", action="store_true", help="the model in the entries' own scores")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    warnings.filterwarnings("ignore")
    import arviz as az

    from model.analysis.calibration.model import build_model
    from model.analysis.calibration.sampling import compile_mode
    from model.spec.priors import load_priors
    from model.spec.provenance import calibration_priors

    idata = az.from_netcdf(args.run / "posterior.nc")
    post = idata.posterior
    model, info = build_model(calibration_priors(load_priors()).priors, reparametrise=not args.plain)
    grad = model.compile_dlogp(mode=compile_mode())
    columns, labels, sizes = [], [], []
    for v in model.value_vars:      # the sampler's coordinates, from the posterior's draws
        name = v.name.removesuffix("_log__")
        if name not in post:
            raise SystemExit(f"{args.run}: posterior has no {name}: made with another model (try --plain or not)")
        x = post[name].values.reshape(post.sizes["chain"] * post.sizes["draw"], -1)
        columns.append(np.log(x) if v.name.endswith("_log__") else x)
        dim = [d for d in post[name].dims if d not in ("chain", "draw")]
        labels += list(post[name][dim[0]].values) if dim else [v.name]
        sizes.append(x.shape[1])
    X = np.column_stack(columns)
    divergent = idata.sample_stats["diverging"].values.ravel()
    chol = np.linalg.cholesky(np.cov(X.T) + 1e-12 * np.eye(X.shape[1]))
    cuts = np.cumsum(sizes)[:-1]

    def gradient(x):
        parts = np.split(x, cuts)
        point = {v.name: (p if p.size > 1 or v.ndim else p[0]) for v, p in zip(model.value_vars, parts)}
        return np.concatenate([np.atleast_1d(g) for g in grad(point)])

    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(X), min(args.points, len(X)), replace=False)
    print(f"{args.run.name}: {len(labels)} coordinates, {len(X)} draws ({int(divergent.sum())} divergent)")
    worst = []
    for i in pick:
        x, h = X[i], 1e-5
        H = np.column_stack([(gradient(x + h * e) - gradient(x - h * e)) / (2 * h) for e in np.eye(len(x))])
        W = chol.T @ (-(H + H.T) / 2) @ chol
        ev, vec = np.linalg.eigh(W)
        direction = chol @ vec[:, -1]
        direction /= np.linalg.norm(direction)
        top = np.argsort(-np.abs(direction))[:4]
        worst.append(ev[-1])
        print(f"{'divergent' if divergent[i] else 'draw':9} {i:5d}: largest {np.round(ev[-3:][::-1], 1)} along "
              + ", ".join(f"{labels[j]} {direction[j]:+.2f}" for j in top))
    print(f"largest whitened curvature over the draws: {min(worst):.0f} - {max(worst):.0f} (1 for a Gaussian; "
          f"locally {np.sqrt(max(worst)):.0f} times narrower than the posterior at the worst draw)")


if __name__ == "__main__":
    main()
