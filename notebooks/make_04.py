"""Writes notebooks/04_scenarios.ipynb (run: python notebooks/make_04.py). Outputs are not stored."""
from pathlib import Path

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell("""# Years, present value and scenario batches

The report gives each deelopgave as one total over 2025 t/m 2035. This notebook spreads the totals over the years
(`model/analysis/jaren.py`: S-curves for investments, flat for the rest, with construction-cost and price
indexation), computes the present value at the Dutch standard discount rate (2.25% real), and compares scenarios
(`scenarios/*.toml`) in a small batch on a local Dask cluster (`model/jobs/batch.py`).
Draw counts are small so that it runs in CI; use `python cli.py batch ... --draws 200000` for real figures."""),
    nbf.v4.new_code_cell("""import os, sys, tempfile
from pathlib import Path
ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
sys.path.insert(0, str(ROOT)); os.chdir(ROOT)
import numpy as np
from IPython.display import Image, display
from model.analysis import jaren
from model.engine.plan import scenario_plan
from model.engine.run import run
from model.output import plots
from model.spec.scenarios import list_scenarios, load_scenario
print(list_scenarios())"""),
    nbf.v4.new_markdown_cell("""## One scenario, spread over the years

The engine runs the scenario's plan (draws kept); the year model spreads every draw over the years. The phasing and
index priors live in `scenarios/jaren.yaml` and have their own random stream derived from the seed."""),
    nbf.v4.new_code_cell("""sc = load_scenario("default")
for name, e in sc.jaren_priors.entries.items():
    print(f"{name}: {e.distribution} ({e.unit}, {e.status})")
result = run(plan=scenario_plan(sc, 4096), draws=5000, seed=2025, keep=True)
ds = jaren.jaren_dataset(result, priors=sc.jaren_priors, overrides=dict(sc.jaren_overrides), instellingen=sc.jaren)
ds"""),
    nbf.v4.new_markdown_cell("Per-year intervals of the total without PM, in € mln (prijspeil 2024):"),
    nbf.v4.new_code_cell("""q = jaren.per_jaar_intervallen(ds, "reeel").sel(groep="totaal") / 1e6
import pandas as pd
pd.DataFrame(q.values.round(0), index=q["jaar"].values, columns=[f"p{round(100 * k)}" for k in q["kwantiel"].values])"""),
    nbf.v4.new_markdown_cell("""## Fan charts per goal and in total

The dashed lines are the report's own 'per jaar' row (total / 11, low and high end of its bandwidth). The report
spreads evenly; the model puts the investments on an S-curve, so the years in the middle carry more."""),
    nbf.v4.new_code_cell("""from model.analysis.report import reproduce
rep = reproduce(sc.priors)
ref = {"totaal": tuple(sum(rep["per_jaar"][k][i] for k in rep["per_jaar"]) for i in (0, 1))}
out = Path(tempfile.mkdtemp(prefix="npvr_jaren_"))
plots.fan_chart(ds, out / "waaier_reeel", referentie=ref)
plots.fan_chart(ds, out / "waaier_nominaal", prijzen="nominaal")
display(Image(filename=str(out / "waaier_reeel.png")), Image(filename=str(out / "waaier_nominaal.png")))
print(sorted(p.name for p in out.iterdir()))"""),
    nbf.v4.new_markdown_cell("""## Present value

Real flows (prijspeil 2024) discounted to 1 January 2025, payments at the end of each year, at 2.25%
(Werkgroep discontovoet 2020) and the sensitivities 1.6% and 3%. Check: 1 a year for 11 years at 2.25% is
(1 - 1.0225^-11) / 0.0225 = 9.649."""),
    nbf.v4.new_code_cell("""print(round(jaren.contante_waarde(np.ones(11), 0.0225), 4), round(jaren.annuiteit(0.0225), 4))
tab = jaren.contante_waarde_tabel(ds) / 1e9
pd.DataFrame(tab.values.round(2), index=[f"{100 * r:.2f}%" for r in tab["discontovoet"].values],
             columns=tab["statistiek"].values)"""),
    nbf.v4.new_code_cell("""plots.contante_waarde(ds, out / "contante_waarde")
Image(filename=str(out / "contante_waarde.png"))"""),
    nbf.v4.new_markdown_cell("""## A small batch on a local Dask cluster

Three scenarios at one seed, 2,000 draws each (every run evaluates the policy variants laag and hoog on the same
draws; the comparison has a line per scenario and variant), on a `LocalCluster` with 2 worker processes. Every run gets its
own run folder (written atomically, renamed into place when complete); every batch call writes a new comparison
folder. Running the same cell again skips the finished runs."""),
    nbf.v4.new_code_cell("""from model.jobs.batch import run_batch
batch_dir = Path(tempfile.mkdtemp(prefix="npvr_batch_"))
res = run_batch(["default", "huishoudens_2035_hoog", "bouwkosten_hoog"], [1], draws=2000, out_dir=batch_dir,
                n_workers=2, progress=False)
print("done:", res.done, "failed:", res.failed)
sorted(p.name for p in batch_dir.iterdir())"""),
    nbf.v4.new_code_cell("""cmp = pd.read_csv(res.comparison / "batch_vergelijking.csv")
cmp = cmp[cmp["statistiek"].isin(["p5", "p50", "p95"])].set_index(["output", "variant", "statistiek"])
(cmp / 1e9).round(2).loc[["totaal_publieke_restopgave", "totaal_investeringsopgave", "contante_waarde_0.0225"]]"""),
    nbf.v4.new_code_cell("""Image(filename=str(res.comparison / "batch_vergelijking.png"))"""),
    nbf.v4.new_markdown_cell("""`bouwkosten_hoog` changes no total at prijspeil (the report's figures): it changes what the years cost in
lopende prijzen and, through the real construction-cost escalation, the present value. Resuming:"""),
    nbf.v4.new_code_cell("""res2 = run_batch(["default", "huishoudens_2035_hoog", "bouwkosten_hoog"], [1], draws=2000, out_dir=batch_dir,
                 scheduler="serial", progress=False)
print("skipped (already finished):", res2.skipped)"""),
]

nb = nbf.v4.new_notebook(cells=cells, metadata={
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
})
nbf.write(nb, Path(__file__).resolve().parent / "04_scenarios.ipynb")
