"""The review report of a run (``model.output.report``): ``report.html`` in a real browser, ``report.xlsx`` read
back with openpyxl, and ``cli.py report`` combining a run with its tornado folder."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from support import check_manifest, cli

DRAWS = 20_000


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    from model.jobs.run import run_job

    job = run_job(draws=DRAWS, seed=11, out=tmp_path_factory.mktemp("report"))
    return job


class _Page(HTMLParser):
    """The page's images, links, scripts and visible text."""

    def __init__(self):
        super().__init__()
        self.images, self.links, self.scripts, self.text = [], [], 0, []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag in ("a", "link") and "href" in a:
            self.links.append(a["href"])
        if tag == "script":
            self.scripts += 1
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _page(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_every_run_folder_holds_the_report_and_the_workbook(run_folder):
    folder = run_folder.path
    manifest = check_manifest(folder, "run")
    assert {"report.html", "report.xlsx"} <= set(manifest["files"])
    assert manifest["timings_s"]["report"] > 0
    page = _page(folder / "report.html")
    # self-contained: every image embedded, no script, every link inside the page
    plots = sorted(folder.glob("*.svg"))
    assert len(page.images) == len(plots) and all(src.startswith("data:image/") for src in page.images)
    assert page.scripts == 0 and all(href.startswith("#") for href in page.links)
    text = " ".join(page.text)
    by = {r["output"]: r for r in run_folder.rows}
    from model.output.format import MLD, decimal_nl

    for kolom in ("publieke_restopgave", "exploitatielasten", "investeringsopgave"):   # Dutch decimal commas
        assert decimal_nl(by[f"totaal_{kolom}"]["p50"] / MLD, 2) in text
    assert "mld. €, prijspeil 2024" in text
    # the sections a reviewer reads, in Dutch
    for heading in ("Tabel 1.2", "PM-posten", "Wat de spreiding drijft", "Regio's en gemeenten", "Priors",
                    "Afwijkingenlog", "Identiteit van de run", "Monte Carlo-standaardfout"):
        assert heading in text, heading
    # the spread explained per column, computed: the largest variance share named
    spreiding = run_folder.manifest["results"]["spreiding"]
    from model.deelopgaven.registry import DEELOPGAVEN

    titles = {d.naam: d.titel for d in DEELOPGAVEN}
    for kolom, s in spreiding.items():
        first = next(iter(s["deelopgaven"]))
        assert titles[first] in text, kolom
        assert sum(s["deelopgaven"].values()) == pytest.approx(1.0)
    # code names stay out of the tables before the priors table (Table 1.2, PM, groups)
    head = text[:text.index("Verdelingen van de kolomtotalen", text.index("PM-posten"))]
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", head), re.findall(r"\b[a-z]+_[a-z_]+\b", head)[:5]


def test_the_workbook_holds_the_tables_as_numbers_with_units_and_dutch_formats(run_folder):
    import openpyxl

    wb = openpyxl.load_workbook(run_folder.path / "report.xlsx")
    for sheet in ("Tabel 1.2", "PM-posten", "Doelen en betalers", "Spreiding", "Regio's", "Regio per deelopgave",
                  "Gemeenten", "Afhankelijkheid", "Verklaarde afhankelijkheid", "Priors", "Run", "Invoerbestanden",
                  "Monte Carlo-fouten"):
        assert sheet in wb.sheetnames, sheet
    ws = wb["Tabel 1.2"]
    headers = [c.value for c in ws[2]]
    assert headers[:3] == ["uitkomst", "variant", "rapport (mld. €, prijspeil 2024)"]
    col = {h: i for i, h in enumerate(headers)}
    p50 = col["P50 (mld. €, prijspeil 2024)"]
    found = {}
    for row in ws.iter_rows(min_row=3):
        label, variant = row[0].value, row[1].value
        cell = row[p50]
        assert isinstance(cell.value, float) and cell.number_format == "#,##0.00", (label, cell.number_format)
        assert row[col["percentiel van het rapportbedrag"]].number_format == "0%"
        found[(label, variant)] = cell.value
    summary = {(r["variant"], r["output"]): r for v, rows in run_folder.varianten.items() for r in rows}
    from model.output.tables import output_label

    for v in run_folder.varianten:       # the totals equal the run's summary, each variant
        for kolom in ("publieke_restopgave", "exploitatielasten", "investeringsopgave"):
            label = output_label(f"totaal_{kolom}")
            value = found.get((label, v), found.get((label, "alle")))
            assert value * 1e9 == pytest.approx(summary[(v, f"totaal_{kolom}")]["p50"], rel=1e-12), (v, kolom)
    gem = wb["Gemeenten"]
    assert gem.max_row - 2 == len(run_folder.manifest["results"]["gemeenten"])
    assert [c.value for c in gem[2]][3] == "P5 (mln. €, prijspeil 2024)" and gem.cell(3, 4).number_format == "#,##0.0"
    priors = wb["Priors"]
    from model.spec.priors import load_priors

    assert priors.max_row - 2 == len(load_priors().entries)


@pytest.mark.slow
def test_the_report_renders_in_headless_chromium_with_every_image_loaded(run_folder, tmp_path):
    """Debian's chromium and chromium-driver (installed by .ci/run); skipped with the reason where they are not,
    unless NPVR_REQUIRE_BROWSER is set (CI), which makes a missing browser a failure."""
    driver_path = shutil.which("chromedriver")
    if driver_path is None or shutil.which("chromium") is None:
        if os.environ.get("NPVR_REQUIRE_BROWSER"):
            pytest.fail("chromium / chromedriver not installed (apt-get install chromium chromium-driver)")
        pytest.skip("chromium / chromedriver not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600",
                "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get((run_folder.path / "report.html").as_uri())
        state = driver.execute_script(
            "return [document.readyState, document.images.length, "
            "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length, "
            "document.querySelectorAll('table').length, document.title]")
        assert state[0] == "complete"
        assert state[1] == len(list(run_folder.path.glob("*.svg"))) and state[2] == state[1], state
        assert state[3] >= 10 and "Opgave NPVR" in state[4]
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1280, min(int(height), 16000))
        shot = tmp_path / "report_screenshot.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        target = os.environ.get("NPVR_SCREENSHOT")
        if target:                     # keep the screenshot (the closing note shows it)
            shutil.copy(shot, target)
    finally:
        driver.quit()


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_cli_report_combines_a_run_with_its_tornado_in_a_new_folder(run_folder, tmp_path):
    proc = cli("tornado", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    tornado = next(tmp_path.glob("tornado-*"))
    before = _hashes(run_folder.path), _hashes(tornado)
    proc = cli("report", str(run_folder.path), str(tornado), "--out", str(tmp_path / "rapporten"), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    folder = Path(out["report_dir"])
    manifest = check_manifest(folder, "report")
    assert set(manifest["inputs"]) == {f"{run_folder.path.name}/manifest.json", f"{tornado.name}/manifest.json"}
    assert (_hashes(run_folder.path), _hashes(tornado)) == before       # nothing read is changed
    text = " ".join(_page(folder / "report.html").text)
    assert f"Tornado: {tornado.name}" in text and "Tabel 1.2" in text
    import openpyxl

    assert "Tornado" in openpyxl.load_workbook(folder / "report.xlsx").sheetnames
    # the first folder must be a run; a folder of another kind is refused by name
    proc = cli("report", str(tornado), "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and f"{tornado}: command: a tornado folder" in proc.stderr
    assert not (tmp_path / "x").exists()
    proc = cli("report", str(run_folder.path), str(folder), "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "a report folder; a report adds only" in proc.stderr
    proc = cli("report", str(tmp_path / "nothing"))
    assert proc.returncode == 2 and "manifest.json: missing" in proc.stderr
