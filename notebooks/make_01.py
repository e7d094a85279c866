"""Writes notebooks/01_monte_carlo.ipynb (run: python notebooks/make_01.py). Outputs are not stored."""
from pathlib import Path

import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell("""# NPVR Monte Carlo: a walkthrough for economists

This notebook loads the priors, reproduces the report's Table 1.2 in report mode, runs the Monte Carlo engine as
`python cli.py run` does (the same library function, `model.jobs.run.run_job`), reads the overview table and the
S-curves, and opens the saved netCDF file with plain xarray and ArviZ (no project code). Draw counts are small so
that it runs in CI; `python cli.py run` draws 200,000 by default."""),
    nbf.v4.new_code_cell("""import os, sys, tempfile
from pathlib import Path
ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
sys.path.insert(0, str(ROOT)); os.chdir(ROOT)
from model.spec.priors import load_priors
priors = load_priors()
print(len(priors.entries), "prior entries in", len(priors.files), "files")"""),
    nbf.v4.new_markdown_cell("## The priors: every kental and norm with unit, source and status"),
    nbf.v4.new_code_cell("""from collections import Counter
print(Counter(e.status for e in priors.entries.values()))
for name in ["nieuwbouw_woningen_npvr", "restopgave_per_kwetsbare_woning", "stichtingskosten_basisschool", "aandeel_publiek_capaciteit"]:
    e = priors[name]
    print(f"{name}: {e.distribution} point={e.point} {e.unit} ({e.status}; sources {list(e.sources)})")"""),
    nbf.v4.new_markdown_cell("## Report mode: the same kernels at the priors' point values"),
    nbf.v4.new_code_cell("""from model.analysis.report import reproduce
from model.output.tables import report_table
print(report_table(reproduce(priors)))"""),
    nbf.v4.new_markdown_cell("## A Monte Carlo run, written to a run folder"),
    nbf.v4.new_code_cell("""from model.jobs.run import run_job
from model.output.tables import overview_table
job = run_job(draws=20_000, seed=2025, out=tempfile.mkdtemp(prefix="npvr-notebook-"))
print(overview_table(job.rows))
print(job.path.name, sorted(p.name for p in job.path.iterdir()))"""),
    nbf.v4.new_markdown_cell("""Each interval sits beside the report's figure. The totals exclude the PM lines, which the report names but
does not quantify; they are reported on their own lines. Bandwidths of the report (e.g. capaciteit €1,4-6,4 mld.)
become one distribution, because the position in the norm band and the demand year are priors."""),
    nbf.v4.new_markdown_cell("## The S-curves and the intervals (SVG charts of the run folder)"),
    nbf.v4.new_code_cell("""from IPython.display import SVG, display
display(SVG(filename=str(job.path / "s_curve_publieke_restopgave.svg")))
display(SVG(filename=str(job.path / "deelopgaven_intervallen.svg")))"""),
    nbf.v4.new_markdown_cell("## Open the netCDF with plain xarray and ArviZ (no project code needed)"),
    nbf.v4.new_code_cell("""import xarray as xr
ds = xr.open_dataset(job.path / "dataset.nc", engine="h5netcdf")
print(ds)
print("P5/P50/P95 publieke restopgave (mld. EUR):",
      (ds["samenvatting"].sel(uitkomst="totaal_publieke_restopgave", statistiek=["p5", "p50", "p95"]) / 1e9)
      .values.round(2))
prior = xr.open_dataset(job.path / "dataset.nc", engine="h5netcdf", group="prior")
opg = prior["opgave"].sel(uitkomst="totaal_publieke_restopgave")
print("from the stored draws:", (opg.quantile([0.05, 0.5, 0.95]) / 1e9).values.round(2))"""),
    nbf.v4.new_code_cell("""import arviz as az
idata = az.from_netcdf(job.path / "dataset.nc")
az.summary(idata, group="prior", coords={"uitkomst": ["totaal_publieke_restopgave", "capaciteit"]}, kind="stats")"""),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                 "language": "python"}})
nbf.write(nb, Path(__file__).resolve().parent / "01_monte_carlo.ipynb")
