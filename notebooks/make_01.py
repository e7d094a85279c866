"""Writes notebooks/01_monte_carlo.ipynb (run: python notebooks/make_01.py). Outputs are not stored."""
import nbformat as nbf

cells = [
    nbf.v4.new_markdown_cell("""# NPVR Monte Carlo: a walkthrough for economists

This notebook loads the priors, reproduces the report's Table 1.2 in report mode, runs the Monte Carlo engine,
reads the overview table and the S-curves, and opens the saved netCDF file with plain xarray (no project code).
Draw counts are small so that it runs in CI; use `python cli.py run` (200,000 draws by default) for real figures."""),
    nbf.v4.new_code_cell("""import os, sys
from pathlib import Path
ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
sys.path.insert(0, str(ROOT)); os.chdir(ROOT)
from model.priors import load_priors
priors = load_priors()
print(len(priors.entries), "prior entries in", len(priors.files), "files")"""),
    nbf.v4.new_markdown_cell("## The priors: every kental and norm with unit, source and status"),
    nbf.v4.new_code_cell("""from collections import Counter
print(Counter(e.status for e in priors.entries.values()))
for name in ["nieuwbouw_woningen_npvr", "restopgave_per_kwetsbare_woning", "stichtingskosten_basisschool", "normniveau"]:
    e = priors[name]
    print(f"{name}: {e.distribution} point={e.point} {e.unit} ({e.status}; sources {list(e.sources)})")"""),
    nbf.v4.new_markdown_cell("## Report mode: the same kernels at the priors' point values"),
    nbf.v4.new_code_cell("""from model.report import reproduce, format_table
print(format_table(reproduce(priors)))"""),
    nbf.v4.new_markdown_cell("## A Monte Carlo run"),
    nbf.v4.new_code_cell("""from model import engine, summary
result = engine.run(priors, draws=20_000, seed=2025, threads=2)
rows = summary.summarise(result)
print(summary.overview_table(rows))"""),
    nbf.v4.new_markdown_cell("""Each interval sits beside the report's figure. The totals exclude the PM lines, which the report names but
does not quantify; they are reported on their own lines. Bandwidths of the report (e.g. capaciteit €1,4-6,4 mld.)
become one distribution, because the position in the norm band and the demand year are priors."""),
    nbf.v4.new_markdown_cell("## Save the run like the CLI does, and look at the S-curves"),
    nbf.v4.new_code_cell("""from model import runs, plots
folder = runs.new_run_folder("runs", "notebook")
with folder as tmp:
    runs.write_dataset(summary.to_dataset(result, rows), tmp / "dataset.nc")
    plots.s_curves(result, rows, tmp)
    plots.intervals(rows, tmp)
final = folder.path
print(final)
from IPython.display import Image, display
display(Image(filename=str(final / "s_curves.png")))
display(Image(filename=str(final / "deelopgaven_intervallen.png")))"""),
    nbf.v4.new_markdown_cell("## Open the netCDF with plain xarray (no project code needed)"),
    nbf.v4.new_code_cell("""import xarray as xr
ds = xr.open_dataset(final / "dataset.nc", engine="h5netcdf")
print(ds)
opg = ds["opgave"].sel(uitkomst="totaal_publieke_restopgave")
print("P5/P50/P95 publieke restopgave (mld. EUR):", (opg.quantile([0.05, 0.5, 0.95]) / 1e9).values.round(2))"""),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                 "language": "python"}})
nbf.write(nb, "notebooks/01_monte_carlo.ipynb")
