"""Writes notebooks/03_kalibratie.ipynb (run: python notebooks/make_03.py). Outputs are not stored."""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = []
md = lambda s: cells.append(new_markdown_cell(s.strip()))
code = lambda s: cells.append(new_code_cell(s.strip()))

md("""
# 03 Kalibratie: what the report's totals say about its hidden kentallen

Rebel's *Top-down analyse financiële opgave NPVR* prints totals (Table 1.2, 2.1, 3.1, §3.4, §3.5, §4.1), not the
kentallen behind them. Our priors (`priors/*.yaml`) give each kental a distribution from public sources; many
(status `afgeleid`) were reverse-engineered so that the point values reproduce the printed figures; those say so
(`derived_from: [figure ids]`). The calibration does not use them: each such entry gets its prior from independent
evidence only (`priors/kalibratie/onafhankelijk.yaml`, wide where there is none), so that no printed figure is
counted twice, once in a prior and once as an observation (docs/sources.md §6; the manifest's
`results.prior_set` names the set).

This notebook asks the inverse question with the full uncertainty: **given the printed figures, how do the priors
change?** It runs a Bayesian calibration (NUTS: NumPyro's, on the PyMC model compiled to JAX) of every non-fixed prior entry against every printed figure,
then shows

1. the observation table (the printed figures and what each measures),
2. the sampler's diagnostics,
3. prior versus posterior per kental (which ones the totals pin down),
4. a posterior predictive check of every printed figure,
5. the calibrated Table 1.2 column totals.

It runs a **short demonstration** (2 chains × 100 draws) so that it runs in a few minutes; for real use run
`python cli.py calibrate` (4 chains × 1000 draws after 1000 tuning steps: about 1 minute on 2 cores, the
first time on a machine too). The run is written to a temporary folder,
so this notebook never changes which run counts as `gekalibreerd`.
""")

code("""
import tempfile, time, warnings
from pathlib import Path

import numpy as np
import pandas as pd
import arviz as az
from IPython.display import Image, display

warnings.filterwarnings("ignore", category=FutureWarning)
from model.analysis.calibration.model import figure_values
from model.analysis.calibration.sampling import QUICK, Config
from model.jobs.calibrate import calibrate_job, load_posterior
from model.spec.priors import load_priors
from model.spec.published import PUBLISHED

pd.set_option("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 60)
priors = load_priors()
""")

md("""
## 1. The observations

One row per printed figure. `setting` says in which policy variant (`scenarios/varianten.toml`: the choices
`normniveau`, Q1 or median norm of NL municipalities, and `vraagjaar`, now or 2035) the model is evaluated: a bandwidth such as
"€0,6 – €1,1 mld." is **two results at two norm levels**, so the low figure is observed at `laag` and the high one at
`hoog`. A number printed in several places (Table 1.2 and 2.1, say) is one observation.

Error model: the rounding of the printed figure (uniform ± half a unit of the last digit, smoothed to a normal with
the same sd, `half_unit/√3`) plus a relative model discrepancy `sigma_discrepantie ~ LogNormal(log 0.02, 0.5)`
shared by all figures. `report_mode` is the model at the priors' point values: every row rounds to its printed figure.
""")

code("""
report_mode = figure_values(priors)
table = pd.DataFrame([{"figuur": f.name, "printed": f.printed, "unit": "mln €" if f.eenheid_eur == 1e6 else "mld €",
                       "± rounding": f.half_unit, "setting": f.setting, "report_mode": round(report_mode[f.name], 4),
                       "quantity": f.quantity, "where": f.where} for f in PUBLISHED])
table
""")

md("""
## 2. Run the calibration (a short demonstration)

With the independent priors (wide where there is no independent evidence) the posterior holds thin curved ridges:
the printed figures pin sums of entries, not which entry carries them. The calibration samples those sums, the
capaciteit shortfalls and the totals of herstructurering woningen and winkels in their own coordinates (exact
changes of variables, `model.analysis.calibration.reparametrisation`), and the full configuration (`python cli.py
calibrate`, 4 chains × 1000 draws after 1000 tuning steps, NumPyro with a diagonal mass matrix, the chains in
parallel) passes its diagnostics in about a minute on a 2-core machine, half of it compiling and preparing. To
keep this notebook short it runs 2 chains × 100 draws after 200 tuning steps, each trajectory capped at 2⁶ leapfrog
steps (`max_treedepth=6`; the full run takes about 60 per draw): enough to show every step and table, not a
posterior to use (its diagnostics fail, and the engine refuses such a run).

Each non-fixed entry gets a latent standard-normal score; the scores are correlated with the copula of
`priors/correlaties.yaml` and mapped to values through the entry's own fitted marginal, the same transform the
Monte Carlo engine uses. The kernels are the deelopgaven's own formulas, evaluated on PyTensor variables.
Every run compiles the model to JAX; JAX keeps the compiled sampler on disk, which later runs reuse.
""")

code("""
out = Path(tempfile.mkdtemp(prefix="npvr-kalibratie-"))
t0 = time.perf_counter()
DEMO = Config("demo", draws=100, tune=200, chains=2, target_accept=QUICK.target_accept, max_treedepth=6,
              sampler=QUICK.sampler)
result = calibrate_job(priors, DEMO, seed=2025, out=out)
print(f"{time.perf_counter() - t0:.0f} s; run folder {result.path.name}")
print(f"{DEMO.chains} chains x {DEMO.draws} draws after {DEMO.tune} tuning steps, target_accept {DEMO.target_accept}, max_treedepth {DEMO.max_treedepth}")
print(result.message)
sorted(p.name for p in result.path.iterdir())
""")

md("""
## 3. Diagnostics

`usable` requires max R-hat < 1.01, no divergent transitions and enough effective draws (bulk and tail ESS > 400,
100 per chain), in both configurations. A run that fails is still written but marked `usable: false`, and the engine
refuses it. Four chains, not two: with ~90 parameters, the largest R-hat of two short chains exceeds 1.01 by chance.
How often the configurations pass, over many seeds: `python bench/calibration.py`.
""")

code("""
diag = result.calibration.diagnostics
pd.DataFrame(diag["checks"]).T.assign(worst=pd.Series(diag["worst_parameter"]))
""")

code("""
print(f"mean tree depth {diag['tree_depth_mean']:.1f}, mean step size {diag['step_size_mean']:.3f}; "
      f"timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in result.manifest["timings_s"].items()))
idata = result.calibration.idata
az.summary(idata, var_names=["sigma_discrepantie"], kind="diagnostics")
""")

code("""
axes = az.plot_trace(idata, var_names=["sigma_discrepantie", "kental"],
                     coords={"parameter": ["eenmalige_ov_kosten_per_provincie", "restopgave_per_kwetsbare_woning"]},
                     compact=False, figsize=(10, 6))
""")

md("""
## 4. Prior versus posterior per kental

`shrinkage = 1 − var_posterior / var_prior`: 0 means the printed figures say nothing new about the entry, 1 means
they pin it down. `z_posterior_mean` is where the posterior sits in units of the prior (the entry's normal score):
−1 means "one prior sd lower than the median".
""")

code("""
pp = pd.read_csv(result.path / "prior_posterior.csv")
cols = ["parameter", "status", "unit", "prior_p5", "prior_p50", "prior_p95", "posterior_p5", "posterior_p50",
        "posterior_p95", "shrinkage", "z_posterior_mean"]
pp.sort_values("shrinkage", ascending=False)[cols].head(25).round(4)
""")

code("""
display(Image(filename=str(result.path / "prior_posterior.png")))
""")

md("""
### What the report's totals imply about each hidden kental

The table lists the entries the printed figures constrain most. Read it as: *if the report's model is (close to)
ours, then its hidden kental must lie in the posterior interval*. Entries with a shrinkage near 0 (e.g. the PM-only
entries and the band settings themselves) are not informed by any printed figure and keep their prior.
""")

code("""
def describe(row):
    move = row.z_posterior_mean
    where = "close to the prior median" if abs(move) < 0.25 else (f"{abs(move):.1f} prior sd {'above' if move > 0 else 'below'} the prior median")
    return (f"{row.parameter} ({row.status}): prior P5-P95 {row.prior_p5:.4g} - {row.prior_p95:.4g} {row.unit}; "
            f"posterior {row.posterior_p5:.4g} - {row.posterior_p95:.4g}; shrinkage {row.shrinkage:.2f}, {where}")

for _, row in pp.sort_values("shrinkage", ascending=False).head(12).iterrows():
    print(describe(row))
print()
print("not informed by any printed figure (shrinkage < 0.05):", ", ".join(pp.loc[pp.shrinkage < 0.05, "parameter"]))
""")

code("""
import matplotlib.pyplot as plt

top = pp.sort_values("shrinkage", ascending=False).head(6).parameter.tolist()
fig, axes = plt.subplots(2, 3, figsize=(12, 6))
for ax, name in zip(axes.ravel(), top):
    prior_draws = idata.prior["kental"].sel(parameter=name).values.ravel()
    post_draws = idata.posterior["kental"].sel(parameter=name).values.ravel()
    lo, hi = np.quantile(np.concatenate([prior_draws, post_draws]), [0.005, 0.995])
    bins = np.linspace(lo, hi, 50)
    ax.hist(prior_draws, bins=bins, density=True, alpha=0.5, label="prior")
    ax.hist(post_draws, bins=bins, density=True, alpha=0.6, label="posterior")
    ax.axvline(priors[name].point, color="k", lw=1, ls="--", label="report-mode point")
    ax.set_title(name, fontsize=8)
axes[0, 0].legend(fontsize=7)
fig.tight_layout()
""")

md("""
## 5. Posterior predictive check of every printed figure

For each figure: the posterior predictive interval (model + discrepancy + rounding) and whether the printed value
lies inside its 90% interval. `model_p5`–`model_p95` is the model quantity itself, without observation noise.
""")

code("""
ppc = pd.read_csv(result.path / "ppc.csv")
ppc[["figuur", "printed", "setting", "prior_predictive_p5", "prior_predictive_p95", "posterior_predictive_mean",
     "posterior_predictive_p5", "posterior_predictive_p95", "model_p5", "model_p95", "inside_90"]].round(4)
""")

code("""
fig, ax = plt.subplots(figsize=(8, 7))
y = np.arange(len(ppc))
rel = lambda c: ppc[c] / ppc["printed"]
ax.hlines(y, rel("prior_predictive_p5"), rel("prior_predictive_p95"), color="0.75", lw=6, label="prior predictive 90%")
ax.hlines(y, rel("posterior_predictive_p5"), rel("posterior_predictive_p95"), color="C0", lw=3,
          label="posterior predictive 90%")
ax.plot(np.ones(len(ppc)), y, "k|", ms=10, label="printed")
ax.set_yticks(y, ppc["figuur"], fontsize=7)
ax.set_xlabel("relative to the printed figure")
ax.set_xlim(0, 3)
ax.legend(fontsize=7)
fig.tight_layout()
print(f"{int(ppc.inside_90.sum())} of {len(ppc)} printed figures inside their 90% posterior predictive interval; "
      f"posterior mean relative discrepancy sd {float(idata.posterior['sigma_discrepantie'].mean()):.3f}")
""")

md("""
## 6. Calibrated Table 1.2 columns

`kolomtotaal` evaluates the model with the band entries drawn from their own priors (as the Monte Carlo engine
does), so prior versus posterior shows how much the printed figures narrow the totals.
""")

code("""
rows = []
for kolom in idata.posterior["kolomtotaal"].kolom.values:
    pr = idata.prior["kolomtotaal"].sel(kolom=kolom).values.ravel() / 1e9
    po = idata.posterior["kolomtotaal"].sel(kolom=kolom).values.ravel() / 1e9
    rows.append({"kolom": kolom, "prior P5": np.quantile(pr, .05), "prior P50": np.median(pr),
                 "prior P95": np.quantile(pr, .95), "posterior P5": np.quantile(po, .05),
                 "posterior P50": np.median(po), "posterior P95": np.quantile(po, .95)})
pd.DataFrame(rows).round(2)
""")

md("""
## 7. Using a calibration in the engine

```bash
python cli.py calibrate            # full configuration, new folder under runs/, exit code 1 if not usable
python cli.py calibrate --quick    # reduced configuration
```

```python
from model.jobs.calibrate import load_posterior
posterior = load_posterior("gekalibreerd")   # the newest usable run under runs/
posterior.names, posterior.draws
```

`draws` has one row per joint posterior draw; the engine resamples whole rows, which keeps the posterior
dependence between kentallen that the totals induce (e.g. a higher number of dwellings goes with a lower
restopgave per dwelling).
""")

code("""
if result.usable:
    posterior = load_posterior(result.path)
    print(len(posterior.names), "entries,", posterior.draws.shape[0], "joint draws")
else:  # the loader refuses a run whose diagnostics failed (allow_unusable=True overrides, for inspection only)
    print("not usable, so the engine would refuse it:", result.message)
""")

nb = new_notebook(cells=cells, metadata={"kernelspec": {"display_name": "Python 3", "language": "python",
                                                        "name": "python3"},
                                         "language_info": {"name": "python"}})
nbformat.write(nb, str(Path(__file__).with_name("03_kalibratie.ipynb")))
print("written", len(cells), "cells")
