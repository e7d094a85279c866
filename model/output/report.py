"""The review artefacts of a run: ``report.html`` (one self-contained page, every plot embedded, no script, no
network) and ``report.xlsx`` (the same tables as sheets, numbers as numbers with Dutch number formats and the
unit in every header).

Both are written from the run folder's own files (``summary.csv``, ``regionaal.csv``, the plots, the manifest)
and the prior set, by :func:`write_report`: ``cli.py run`` writes them into every run folder before its manifest,
and ``cli.py report RUN_DIR [FOLDER...]`` writes them into a new report folder that adds tornado, Sobol',
calibration and batch folders (:func:`companion_sections`). One definition of every table (:class:`Tabel`)
serves both files; its column kinds (:data:`KINDS`) say how a number is shown: amounts in mld. € at prijspeil 2024
with two decimals, shares as percentages, Dutch decimal commas in the page.

The page is Dutch. Two parts quote project files that are written in English, and say so: the entries'
descriptions in the priors table (``priors/*.yaml``) and the deviations log (``docs/deviations.md``).
"""

from __future__ import annotations

import base64
import csv
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from model.deelopgaven.registry import DEELOPGAVEN, DOELEN, KOLOMMEN, TITELS
from model.output.format import MLD, decimal_nl
from model.paths import REPO
from model.spec.data import REGIOS

HTML = "report.html"
XLSX = "report.xlsx"
FILES = (HTML, XLSX)
PRIJSPEIL = 2024
MLD_EUR = f"mld. €, prijspeil {PRIJSPEIL}"
DEVIATIONS = REPO / "docs" / "deviations.md"


# ------------------------------------------------------------------------------------------------ tables
@dataclass(frozen=True)
class Kind:
    """How a column's numbers are shown: ``html(x)`` in the page, ``scale`` and ``excel`` (a number format) in the
    workbook."""

    html: Callable[[Any], str]
    excel: str | None = None
    scale: float = 1.0


def _pct_text(x: float) -> str:
    p = 100.0 * x
    return "<1%" if 0 < p < 0.5 else ">99%" if 99.5 < p < 100 else f"{decimal_nl(p, 0)}%"


KINDS = {
    "tekst": Kind(html=str),
    "mld": Kind(html=lambda x: decimal_nl(x / MLD, 2), excel="#,##0.00", scale=1 / MLD),
    "mln": Kind(html=lambda x: decimal_nl(x / 1e6, 1), excel="#,##0.0", scale=1e-6),
    "euro": Kind(html=lambda x: decimal_nl(x, 0), excel="#,##0"),
    "getal": Kind(html=lambda x: decimal_nl(x, 0), excel="#,##0"),
    "kans": Kind(html=_pct_text, excel="0%"),
    "decimaal": Kind(html=lambda x: decimal_nl(x, 3), excel="0.000"),
    "waarde": Kind(html=lambda x: f"{x:.6g}".replace(".", ","), excel="General"),
}


@dataclass
class Tabel:
    """A table of the report: its sheet name (at most 31 characters), title, columns ``(header, kind)`` and rows
    (None: an empty cell)."""

    blad: str
    titel: str
    kolommen: Sequence[tuple[str, str]]
    rijen: list[list[Any]]
    toelichting: str = ""

    def __post_init__(self):
        if len(self.blad) > 31:
            raise ValueError(f"sheet name {self.blad!r} is longer than Excel's 31 characters")
        for header, kind in self.kolommen:
            if kind not in KINDS:
                raise ValueError(f"table {self.blad}: column {header!r}: unknown kind {kind!r}")

    def cell_html(self, j: int, value: Any) -> str:
        if value is None or value == "":
            return ""
        return html.escape(KINDS[self.kolommen[j][1]].html(value))

    def numeric(self, j: int) -> bool:
        return self.kolommen[j][1] != "tekst"


@dataclass
class Figuur:
    titel: str
    bestand: str
    data_uri: str


@dataclass
class Sectie:
    titel: str
    alineas: list[str] = field(default_factory=list)
    tabellen: list[Tabel] = field(default_factory=list)
    figuren: list[Figuur] = field(default_factory=list)
    gevouwen: list[Figuur] = field(default_factory=list)   # figures shown folded (one per deelopgave)
    html: str = ""                 # already rendered HTML (the deviations log)
    details: bool = False          # shown folded (long tables)


def figure(path: Path, titel: str) -> Figuur | None:
    """A plot file as an embedded image (None when the file is not there)."""
    mime = {".svg": "image/svg+xml", ".png": "image/png"}.get(path.suffix)
    if mime is None or not path.is_file():
        return None
    return Figuur(titel, path.name, f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}")


# ------------------------------------------------------------------------------------------- a run's data
def leesbaar(name: str) -> str:
    """A code name as words ('kental_openbare_ruimte' -> 'kental openbare ruimte')."""
    return name.replace("_", " ")


def _label(r: Mapping[str, Any]) -> str:
    from model.output.tables import row_label

    return row_label(r)


def _per_variant(rows: list[dict], selected: list[dict]) -> list[tuple[str, dict]]:
    """``(variant label, row)`` per output of ``selected`` (the main variant's rows, in order): one line per variant
    where a choice moves the output, else one line for all (common random numbers: identical draws)."""
    from model.analysis.summary import differs

    by = {(r["variant"], r["output"]): r for r in rows}
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    out = []
    for r in selected:
        others = [by[(v, r["output"])] for v in variants[1:] if (v, r["output"]) in by]
        moved = [o for o in others if differs(r, o) or o["rapport"] != r["rapport"]]
        out += [(x["variant"], x) for x in [r, *moved]] if moved else [("alle", r)]
    return out


def _stats_rows(rows: list[dict], soorten: Sequence[str], order: Sequence[str] | None = None) -> list[list]:
    main = rows[0]["variant"]
    selected = [r for r in rows if r["soort"] in soorten and r["variant"] == main]
    if order is not None:
        rank = {n: i for i, n in enumerate(order)}
        selected.sort(key=lambda r: rank.get(r["output"], len(rank)))
    out = []
    for label, r in _per_variant(rows, selected):
        boven = None if r["p_rapport"] is None else 1.0 - r["p_rapport"]
        out.append([_label(r), label, r["rapport"], r["p5"], r["p50"], r["p95"], r["mean"], r["p_rapport"], boven])
    return out


STATS_KOLOMMEN = [("P5", "mld"), ("P50", "mld"), ("P95", "mld"), ("gemiddelde", "mld")]
MLD_KOLOMMEN = [(f"{h} ({MLD_EUR})", k) for h, k in STATS_KOLOMMEN]


def table_1_2(rows: list[dict]) -> Tabel:
    """Table 1.2 of the report with each variant's interval beside the report's figure (PM lines apart)."""
    order = [d.naam for doel in DOELEN for d in DEELOPGAVEN if d.doel == doel and not d.pm]
    order += [f"totaal_{k}" for k in KOLOMMEN]
    lines = [r for r in rows if (r["soort"] == "deelopgave" and not r["pm"]) or r["soort"] == "kolom"]
    return Tabel("Tabel 1.2", "Tabel 1.2: de opgave per deelopgave en kolom, per beleidsvariant",
                 [("uitkomst", "tekst"), ("variant", "tekst"), (f"rapport ({MLD_EUR})", "mld"), *MLD_KOLOMMEN,
                  ("percentiel van het rapportbedrag", "kans"), ("kans kosten > rapportbedrag", "kans")],
                 _stats_rows(lines, ("deelopgave", "kolom"), order),
                 "Elke variant legt de keuzes van het rapport vast (normniveau, vraagjaar) en heeft een eigen "
                 "interval; alle varianten delen dezelfde trekkingen. Percentiel: het aandeel trekkingen op of onder "
                 "het bedrag van het rapport voor die variant.")


def _interval_rows(rows: list[dict], keep: Callable[[dict], bool]) -> list[list]:
    main = [r for r in rows if r["variant"] == rows[0]["variant"] and keep(r)]
    return [[_label(r), label, r["p5"], r["p50"], r["p95"], r["mean"]] for label, r in _per_variant(rows, main)]


def pm_table(rows: list[dict]) -> Tabel:
    return Tabel("PM-posten", "PM-posten: wat het rapport niet beprijst, met het interval van het model",
                 [("post", "tekst"), ("variant", "tekst"), *MLD_KOLOMMEN],
                 _interval_rows(rows, lambda r: r["pm"] and r["soort"] in ("deelopgave", "totaal")),
                 "Het rapport noemt deze posten PM (pro memorie); ze tellen niet mee in de totalen.")


def groups_table(rows: list[dict]) -> Tabel:
    return Tabel("Doelen en betalers", "Per doel, betaler en kostensoort (zonder PM)",
                 [("uitkomst", "tekst"), ("variant", "tekst"), *MLD_KOLOMMEN],
                 _interval_rows(rows, lambda r: r["soort"] in ("doel", "betaler", "kostensoort")))


def jaren_tables(rows: list[dict]) -> list[Tabel]:
    """The year model's tables (empty without it): the total per year, real and nominal, and the present values."""
    main = rows[0]["variant"]
    per_jaar = [r for r in rows if r["variant"] == main and r["soort"] in ("per_jaar_reeel", "per_jaar_nominaal")
                and r["output"].split("_")[3] == "totaal"]
    if not per_jaar:
        return []
    by = {(r["soort"], r["output"].rsplit("_", 1)[1]): r for r in per_jaar}
    jaren = sorted({j for _, j in by})
    lines = []
    for j in jaren:
        re, no = by[("per_jaar_reeel", j)], by[("per_jaar_nominaal", j)]
        lines.append([int(j), re["p5"], re["p50"], re["p95"], no["p5"], no["p50"], no["p95"]])
    cw = [r for r in rows if r["variant"] == main and r["soort"] == "contante_waarde"]
    return [
        Tabel("Per jaar", f"Totaal zonder PM per jaar (variant {main})",
              [("jaar", "getal"), (f"P5 ({MLD_EUR})", "mld"), (f"P50 ({MLD_EUR})", "mld"),
               (f"P95 ({MLD_EUR})", "mld"), ("P5 (mld. €, lopende prijzen)", "mld"),
               ("P50 (mld. €, lopende prijzen)", "mld"), ("P95 (mld. €, lopende prijzen)", "mld")], lines),
        Tabel("Contante waarde", f"Contante waarde per 1-1-2025 (variant {main}, zonder PM)",
              [("discontovoet", "tekst"), *MLD_KOLOMMEN],
              [[f"{decimal_nl(100 * float(r['output'].rsplit('_', 1)[1]), 2)}%", r["p5"], r["p50"], r["p95"],
                r["mean"]] for r in cw],
              "De standaard reële discontovoet is 2,25% (Werkgroep discontovoet 2020); 1,6% en 3% als gevoeligheid."),
    ]


def read_regionaal(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k in ("mean", "p5", "p50", "p95", "kans_eerste"):
            r[k] = float(r[k]) if r.get(k) not in (None, "") else None
    return rows


def regional_tables(reg_rows: list[dict], variant: str) -> list[Tabel]:
    """The regions' totals, the P50 per inhabitant per deelopgave and region, and every gemeente's total."""
    main = [r for r in reg_rows if r["variant"] == variant]
    by = {(r["niveau"], r["code"], r["deelopgave"], r["maatstaf"]): r for r in main}
    tot = "totaal_zonder_pm"
    regios = [[n, by[("regio", n, tot, "absoluut")]["p5"], by[("regio", n, tot, "absoluut")]["p50"],
               by[("regio", n, tot, "absoluut")]["p95"], by[("regio", n, tot, "absoluut")]["mean"],
               by[("regio", n, tot, "per_inwoner")]["p50"]] for n in REGIOS]
    deelopgaven = [d for d in TITELS if ("regio", REGIOS[0], d, "per_inwoner") in by]
    wide = [[("PM " if d in {x.naam for x in DEELOPGAVEN if x.pm} else "") + TITELS[d],
             *[by[("regio", n, d, "per_inwoner")]["p50"] for n in REGIOS]] for d in deelopgaven]
    gemeenten = [[r["naam"], r["code"], r["regio"], r["p5"], r["p50"], r["p95"],
                  by[("gemeente", r["code"], tot, "per_inwoner")]["p50"]]
                 for r in main if r["niveau"] == "gemeente" and r["deelopgave"] == tot and r["maatstaf"] == "absoluut"]
    return [
        Tabel("Regio's", f"Per regio: totaal zonder PM (variant {variant})",
              [("regio", "tekst"), *MLD_KOLOMMEN, (f"P50 per inwoner (€, prijspeil {PRIJSPEIL})", "euro")], regios,
              "Een regio is de som van haar gemeenten; elke deelopgave heeft een eigen verdeelsleutel met onzekere "
              "gewichten (priors/verdeling/verdeelsleutels.yaml)."),
        Tabel("Regio per deelopgave", f"P50 per inwoner per deelopgave en regio (€, prijspeil {PRIJSPEIL}; "
                                      f"variant {variant})",
              [("deelopgave", "tekst"), *[(n, "euro") for n in REGIOS]], wide),
        Tabel("Gemeenten", f"Per gemeente: totaal zonder PM (variant {variant})",
              [("gemeente", "tekst"), ("CBS-code", "tekst"), ("regio", "tekst"),
               (f"P5 (mln. €, prijspeil {PRIJSPEIL})", "mln"), (f"P50 (mln. €, prijspeil {PRIJSPEIL})", "mln"),
               (f"P95 (mln. €, prijspeil {PRIJSPEIL})", "mln"), (f"P50 per inwoner (€, prijspeil {PRIJSPEIL})", "euro")],
              gemeenten),
    ]


def dependence_table(views: list[dict] | None) -> Tabel | None:
    from model.analysis.afhankelijkheid import AANNAME_NAMEN

    if not views:
        return None
    return Tabel("Afhankelijkheid", "Kolomtotalen (zonder PM) onder drie aannames over de afhankelijkheid tussen "
                                    "deelopgaven",
                 [("kolom", "tekst"), ("variant", "tekst"), ("aanname", "tekst"), *MLD_KOLOMMEN[:3],
                  (f"breedte P5-P95 ({MLD_EUR})", "mld")],
                 [[KOLOMMEN.get(r["kolom"], r["kolom"]), r["variant"], AANNAME_NAMEN[r["aanname"]], r["p5"],
                   r["p50"], r["p95"], r["p95"] - r["p5"]] for r in views],
                 "Onafhankelijk: elke deelopgave met eigen trekkingen; verklaard: de afhankelijkheid van de run "
                 "(priors/correlaties.yaml en gedeelde invoer); volledig: comonotoon.")


def declarations_table(priors) -> Tabel | None:
    """The declared dependence (``priors/correlaties.yaml``): every group and pair with its rank correlation and,
    for a group, why."""
    import yaml

    from model.spec.priors import CORRELATIONS

    path = Path(priors.directory) / CORRELATIONS
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    lines = [[leesbaar(name), g["rho"], ", ".join(leesbaar(m) for m in g["leden"]), " ".join(str(g.get(
        "description", "")).split())] for name, g in (data.get("groepen") or {}).items()]
    lines += [["paar", rho, f"{leesbaar(a)}, {leesbaar(b)}", ""] for a, b, rho in (data.get("paren") or [])]
    return Tabel("Verklaarde afhankelijkheid", f"De verklaarde afhankelijkheid ({Path(priors.directory).name}/"
                                              f"{CORRELATIONS}): rangcorrelaties, toegepast met een Gauss-copula",
                 [("groep", "tekst"), ("rangcorrelatie", "decimaal"), ("leden", "tekst"),
                  ("waarom (Engels, uit het bestand)", "tekst")], lines)


def drivers_paragraphs(spreiding: Mapping[str, Any] | None, rows: list[dict]) -> list[str]:
    """Two sentences per column on what drives its spread, from the run's numbers (``model.analysis.spreiding``)."""
    if not spreiding:
        return ["De run hield geen trekkingen (--store none of --summaries-only): geen verklaring van de spreiding."]
    by = {r["output"]: r for r in rows if r["variant"] == rows[0]["variant"]}     # the main variant's draws
    out = []
    for kolom, s in spreiding.items():
        t = by[f"totaal_{kolom}"]
        delen = list(s["deelopgaven"].items())
        zin1 = (f"{KOLOMMEN[kolom]} (variant {t['variant']}; P5-P95 {decimal_nl(t['p5'] / MLD, 2)} - "
                f"{decimal_nl(t['p95'] / MLD, 2)} mld. €): ")
        if len(delen) == 1:
            zin1 += f"de hele spreiding komt uit {TITELS[delen[0][0]]}."
        else:
            zin1 += (f"{_pct_text(delen[0][1])} van de variantie komt uit {TITELS[delen[0][0]]}, "
                     f"{_pct_text(delen[1][1])} uit {TITELS[delen[1][0]]}.")
        invoer = list(s["invoer"].items())
        zin2 = ""
        if invoer:
            zin2 = (f" De invoer die het sterkst meebeweegt is {leesbaar(invoer[0][0])} (rangcorrelatie "
                    f"{decimal_nl(invoer[0][1], 2)})")
            zin2 += (f", daarna {leesbaar(invoer[1][0])} ({decimal_nl(invoer[1][1], 2)})." if len(invoer) > 1
                     else ".")
        out.append(zin1 + zin2)
    return out


def drivers_table(spreiding: Mapping[str, Any] | None) -> Tabel | None:
    if not spreiding:
        return None
    lines = []
    for kolom, s in spreiding.items():
        lines += [[KOLOMMEN[kolom], "deelopgave", TITELS[d], share] for d, share in s["deelopgaven"].items()]
        lines += [[KOLOMMEN[kolom], "invoer (rangcorrelatie)", leesbaar(e), rho] for e, rho in s["invoer"].items()]
    return Tabel("Spreiding", "Wat de spreiding drijft: aandeel in de variantie en rangcorrelatie met het kolomtotaal",
                 [("kolom", "tekst"), ("maat", "tekst"), ("deelopgave of invoer", "tekst"), ("waarde", "decimaal")],
                 lines)


def _distribution_text(dist: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" if k != "family" else str(v) for k, v in dist.items())


def priors_table(priors) -> Tabel:
    bib = priors.bibliography

    def source(key: str) -> str:
        b = bib.get(key, {})
        parts = [b.get("author"), b.get("title"), str(b["year"]) if b.get("year") else None]
        return f"{key}: " + ", ".join(p for p in parts if p)

    lines = [[leesbaar(e.name), e.file, e.description, e.unit, "" if e.prijspeil is None else str(e.prijspeil),
              e.kind, _distribution_text(e.distribution), e.point, e.status, "; ".join(source(s) for s in e.sources),
              ", ".join(e.derived_from)]
             for e in sorted(priors.entries.values(), key=lambda e: (e.file, e.name))]
    return Tabel("Priors", "Priors: elke kental en norm met eenheid, prijspeil, verdeling, puntwaarde en bronnen",
                 [("invoer", "tekst"), ("bestand", "tekst"), ("omschrijving (Engels, uit priors/)", "tekst"),
                  ("eenheid", "tekst"), ("prijspeil", "tekst"), ("soort", "tekst"), ("verdeling", "tekst"),
                  ("puntwaarde", "waarde"), ("status", "tekst"), ("bronnen", "tekst"),
                  ("afgeleid uit (derived_from)", "tekst")], lines,
                 "Status afgeleid: teruggerekend uit een bedrag van het rapport (derived_from noemt welk); een "
                 "kalibratie tegen het rapport begint nooit bij die priors.")


def _precision_text(p: Mapping[str, Any] | None) -> str:
    if not p:
        return "vast aantal trekkingen"
    last = p["rondes"][-1]
    return (f"doel {decimal_nl(100 * p['doel'], 2)}% van P5, P50 en P95 van elk kolomtotaal: "
            f"{'bereikt' if p['bereikt'] else 'niet bereikt'} met {decimal_nl(p['trekkingen'], 0)} trekkingen in "
            f"{len(p['rondes'])} ronde(s); grootste relatieve fout {decimal_nl(100 * last['grootste_relatieve_fout'], 3)}%")


def identity_tables(manifest: Mapping[str, Any], rows: list[dict]) -> list[Tabel]:
    """The run's identity (manifest) and the Monte Carlo errors of every column total and variant."""
    a, rnd, code = manifest["arguments"], manifest["random"], manifest["code"]
    res = manifest["results"]
    items = [("commando", manifest["command"]), ("gemaakt", manifest["created_at"]),
             ("trekkingen", decimal_nl(res.get("draws", a.get("draws", 0)), 0)), ("seed", str(rnd["seed"])),
             ("stroom", str(rnd["stream"])), ("chunkgrootte", decimal_nl(rnd["chunk_size"], 0)),
             ("hoofdvariant", str(a.get("variant"))), ("scenario", str(a.get("scenario") or "geen (priors/)")),
             ("posterior", str(a.get("posterior") or "geen")),
             ("codeversie", f"{code['package_version']}, git {code['git_commit'] or 'onbekend'}"
                            f"{' (gewijzigd)' if code['git_dirty'] else ''}"),
             ("threads", str(a.get("threads"))), ("precisie", _precision_text(res.get("precisie")))]
    ident = Tabel("Run", "Identiteit van de run (manifest.json)", [("gegeven", "tekst"), ("waarde", "tekst")],
                  [list(i) for i in items])
    hashes = Tabel("Invoerbestanden", "Invoerbestanden en hun SHA-256",
                   [("bestand", "tekst"), ("sha256", "tekst")], [[k, v] for k, v in sorted(manifest["inputs"].items())])
    mc = [[_label(r), r["variant"], r["mcse_p5"], r["mcse_p50"], r["mcse_p95"],
           max(r["mcse_p5"] / abs(r["p5"]), r["mcse_p50"] / abs(r["p50"]), r["mcse_p95"] / abs(r["p95"]))]
          for r in rows if r["soort"] == "kolom"]
    mcse = Tabel("Monte Carlo-fouten", "Monte Carlo-standaardfout van P5, P50 en P95 per kolomtotaal en variant",
                 [("kolom", "tekst"), ("variant", "tekst"), (f"fout P5 ({MLD_EUR})", "mld"),
                  (f"fout P50 ({MLD_EUR})", "mld"), (f"fout P95 ({MLD_EUR})", "mld"),
                  ("grootste relatieve fout", "kans")], mc)
    return [ident, hashes, mcse]


# -------------------------------------------------------------------------------------- companion folders
#: What a report shows of each kind of folder beside the run: its title, its plots (by file stem: the SVG if there
#: is one, else the PNG) and its main table.
COMPANIONS = {"tornado": ("Tornado", ("tornado", "spider"), "tornado.csv"),
              "sobol": ("Sobol'-indices", ("sobol_inputs", "sobol_deelopgave", "sobol_correlated", "sobol_kind"),
                        "sobol_inputs.csv"),
              "calibrate": ("Kalibratie", ("prior_posterior",), "ppc.csv"),
              "batch": ("Scenario's (batch)", ("batch_vergelijking",), "batch_vergelijking.csv")}
#: The columns of those tables that hold euros (shown in mld. €); ``*``: every numeric column.
COMPANION_EUROS = {"tornado": {"low", "high", "base", "swing"}, "batch": {"*"}}
COMPANION_ROWS = 40


def companion_sections(folders: Sequence[Path]) -> list[Sectie]:
    """One section per tornado, Sobol', calibration or batch folder: its plots and its main table (the first
    :data:`COMPANION_ROWS` rows; the folder keeps them all)."""
    from model.output.runfolder import read_manifest

    out = []
    for folder in folders:
        m = read_manifest(folder)
        titel, images, table = COMPANIONS[m["command"]]
        seed = "" if m["random"] is None else f", seed {m['random']['seed']}"
        s = Sectie(f"{titel}: {folder.name}", [f"Uit {folder.name} (commando {m['command']}{seed}, code "
                                               f"{m['code']['git_commit']})."])
        if m["command"] == "calibrate":
            r = m["results"]
            s.alineas.append(f"Bruikbaar: {'ja' if r.get('usable') else 'nee'}. {r.get('message', '')}")
        for stem in images:
            f = figure(folder / f"{stem}.svg", f"{titel}: {leesbaar(stem)}") or \
                figure(folder / f"{stem}.png", f"{titel}: {leesbaar(stem)}")
            if f is not None:
                s.figuren.append(f)
        if (folder / table).is_file():
            with (folder / table).open(encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh)
                header = next(reader)
                body = [row for _, row in zip(range(COMPANION_ROWS), reader)]
            euros = COMPANION_EUROS.get(m["command"], set())
            kinds = [("mld" if "*" in euros or header[j] in euros else "waarde")
                     if body and all(_is_float(row[j]) for row in body) else "tekst" for j in range(len(header))]
            headers = [f"{h} ({MLD_EUR})" if k == "mld" else h for h, k in zip(header, kinds)]
            s.tabellen.append(Tabel(titel[:31].replace("'", ""), f"{titel}: {table}", list(zip(headers, kinds)),
                                    [[v if k == "tekst" else float(v) for v, k in zip(row, kinds)] for row in body]))
        out.append(s)
    return out


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------- assembling
def _figures(folder: Path, rows: list[dict]) -> dict[str, list[Figuur]]:
    by = {r["output"]: r for r in rows}
    s_curves = [figure(folder / f"s_curve_{k}.svg", by.get(f"totaal_{k}", {}).get("long_name", k))
                for k in (*KOLOMMEN, "pm")]
    regio = [figure(folder / f"regio_{d}.svg", TITELS[d]) for d in TITELS]
    return {"s": [f for f in s_curves if f], "intervallen": [f for f in [figure(folder / "deelopgaven_intervallen.svg",
                                                                                  "Deelopgaven")] if f],
            "fan": [f for f in [figure(folder / "fan_chart.svg", "Waaier per jaar")] if f],
            "regio_totaal": [f for f in [figure(folder / "regio_totaal.svg", "Totaal per regio")] if f],
            "regio": [f for f in regio if f]}


def deviations_html() -> str:
    if not DEVIATIONS.is_file():
        return "<p>docs/deviations.md is niet bij deze installatie.</p>"
    from markdown_it import MarkdownIt

    text = MarkdownIt("commonmark").enable("table").render(DEVIATIONS.read_text(encoding="utf-8"))
    for level in (4, 3, 2, 1):          # nested under the report's own section heading (h2)
        text = text.replace(f"<h{level}>", f"<h{level + 2}>").replace(f"</h{level}>", f"</h{level + 2}>")
    return text


def sections(folder: Path, manifest: Mapping[str, Any], priors, companions: Sequence[Path] = (),
             notes: Sequence[str] = (), rows: list[dict] | None = None,
             reg_rows: list[dict] | None = None) -> list[Sectie]:
    """Every section of the report of the run folder ``folder`` (its files, ``manifest`` and ``priors``);
    ``notes`` open the first section."""
    from model.output.tables import read_summary

    rows = read_summary(folder / "summary.csv") if rows is None else rows
    if reg_rows is None and (folder / "regionaal.csv").is_file():
        reg_rows = read_regionaal(folder / "regionaal.csv")
    main = rows[0]["variant"]
    res = manifest["results"]
    figs = _figures(folder, rows)
    keuzes = res["varianten"]["keuzes"]
    intro = [*notes, f"Bedragen in mld. €, prijspeil {PRIJSPEIL}, over 2025 t/m 2035, tenzij anders vermeld. Hoofdvariant "
             f"{main}; geëvalueerd: " + "; ".join(f"{v} ({keuzes[v]['titel']})" for v in res["varianten"]["geevalueerd"])
             + ". De varianten zijn keuzes van het rapport, geen onzekerheid: elk heeft een eigen interval, op "
               "dezelfde trekkingen."]
    if res.get("posterior"):
        intro.append(f"Trekkingen uit de posterior van kalibratie {res['posterior']['folder']}.")
    out = [Sectie("Opgave NPVR: uitkomsten met onzekerheid", intro, [table_1_2(rows), pm_table(rows)]),
           Sectie("Verdelingen van de kolomtotalen", ["De S-curve geeft per bedrag de kans dat de kosten daar op of "
                                                      "onder blijven; gestippeld P5, P50 en P95, rood het bedrag van "
                                                      "het rapport."], figuren=figs["s"]),
           Sectie("Deelopgaven", [], [groups_table(rows)], figs["intervallen"]),
           Sectie("Wat de spreiding drijft", drivers_paragraphs(res.get("spreiding"), rows),
                  [t for t in [drivers_table(res.get("spreiding"))] if t])]
    jaren = jaren_tables(rows)
    if jaren:
        out.append(Sectie("Kasritme en contante waarde", ["Het jaarmodel (scenarios/jaren.yaml) verdeelt elke "
                                                          "deelopgave over 2025-2035."], jaren, figs["fan"]))
    else:
        out.append(Sectie("Kasritme en contante waarde", ["Deze run had geen jaarmodel: de bedragen per jaar, de "
                                                          "waaier en de contante waarde staan in een run met "
                                                          "'cli.py run --jaren' of 'cli.py run --scenario NAAM'."]))
    if reg_rows:
        out.append(Sectie("Regio's en gemeenten", [], regional_tables(reg_rows, main),
                          figs["regio_totaal"], gevouwen=figs["regio"], details=True))
    out += companion_sections(companions)
    dep = [t for t in (dependence_table(res.get("afhankelijkheid")),
                       declarations_table(priors) if priors is not None else None) if t is not None]
    if dep:
        out.append(Sectie("Afhankelijkheid tussen deelopgaven", ["Waar deelopgaven drijvers of bronnen delen, is dat "
                                                                 "verklaard; het effect staat ernaast: elk kolomtotaal "
                                                                 "onafhankelijk, verklaard en volledig afhankelijk."],
                          dep))
    if priors is not None:
        out.append(Sectie("Priors", [], [priors_table(priors)], details=True))
    out.append(Sectie("Afwijkingenlog (docs/deviations.md, Engelstalig)", [], html=deviations_html(), details=True))
    out.append(Sectie("Identiteit van de run", [], identity_tables(manifest, rows)))
    return out


# ------------------------------------------------------------------------------------------------ writing
def _environment():
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("model.output", "templates"), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def write_html(secties: Sequence[Sectie], path: Path, titel: str) -> Path:
    text = _environment().get_template("report.html.j2").render(titel=titel, secties=secties)
    Path(path).write_text(text, encoding="utf-8")
    return Path(path)


def write_xlsx(secties: Sequence[Sectie], path: Path) -> Path:
    """Every table of the report as a sheet: a title row, the headers, the rows; numbers as numbers."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    bold = wb.add_format({"bold": True})
    head = wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1})
    formats = {k: wb.add_format({"num_format": v.excel}) for k, v in KINDS.items() if v.excel}
    used: set[str] = set()
    for s in secties:
        for t in s.tabellen:
            name = t.blad
            n = 2
            while name in used:
                name = f"{t.blad[:28]} {n}"
                n += 1
            used.add(name)
            ws = wb.add_worksheet(name)
            ws.write(0, 0, t.titel, bold)
            for j, (header, kind) in enumerate(t.kolommen):
                ws.write(1, j, header, head)
                ws.set_column(j, j, 14 if kind != "tekst" else 28)
            for i, row in enumerate(t.rijen, start=2):
                for j, value in enumerate(row):
                    kind = KINDS[t.kolommen[j][1]]
                    if value is None or value == "":
                        continue
                    if t.numeric(j):
                        ws.write_number(i, j, float(value) * kind.scale, formats.get(t.kolommen[j][1]))
                    else:
                        ws.write_string(i, j, str(value))
            ws.freeze_panes(2, 1)
    wb.close()
    return Path(path)


def write_report(folder: Path, manifest: Mapping[str, Any], priors, *, out: Path | None = None,
                 companions: Sequence[Path] = (), notes: Sequence[str] = (), rows: list[dict] | None = None,
                 reg_rows: list[dict] | None = None) -> list[Path]:
    """``report.html`` and ``report.xlsx`` of the run folder ``folder`` (written into ``out``, default the
    folder itself). ``rows`` and ``reg_rows``: the rows of its ``summary.csv`` and ``regionaal.csv`` when the
    caller holds them (the run that just wrote them), else they are read from the folder."""
    out = Path(out) if out is not None else Path(folder)
    secties = sections(Path(folder), manifest, priors, companions, notes, rows, reg_rows)
    titel = (f"Opgave NPVR met onzekerheid: run van {manifest['created_at'][:19].replace('T', ' ')} UTC, seed "
             f"{manifest['random']['seed']}")
    return [write_html(secties, out / HTML, titel), write_xlsx(secties, out / XLSX)]
