"""Every plot the tool writes, drawn with matplotlib's object API (``Figure`` on an Agg canvas: pyplot's global
state is never touched) and saved by the one helper :func:`save_figure`. Amounts are shown in billions of euros
(mld. €) with the report's figures marked; labels are Dutch."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from model.output.format import MLD, mld
from model.deelopgaven.registry import GROEP_TITELS

_STATUS_COLOURS = {"afgeleid": "#1f77b4", "expertoordeel": "#ff7f0e", "gepubliceerd": "#2ca02c",
                   "gekalibreerd": "#9467bd"}


def new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, stem: str | Path, formats: Sequence[str] = ("png",), dpi: int = 120) -> list[Path]:
    """Save ``fig`` as ``<stem>.<format>`` for each format; returns the paths."""
    stem = Path(stem)
    paths = []
    for ext in formats:
        p = stem.parent / f"{stem.name}.{ext}"
        fig.savefig(p, dpi=dpi, bbox_inches="tight")
        paths.append(p)
    return paths


# ---------------------------------------------------------------------------------------------- a run
# -------------------------------------------------------------------------------------- sensitivity
def _report_lines(ax, report: tuple[float, ...], vertical: bool) -> None:
    labels = ["rapport"] if len(report) == 1 else ["rapport (laag)", "rapport (hoog)"]
    for x, lab, ls in zip(report, labels, ("--", "-.")):
        kw = dict(color="#C44E52", lw=1.5, ls=ls, label=f"{lab}: {mld(x, 1)}")
        (ax.axvline if vertical else ax.axhline)(x / MLD, **kw)


def tornado(t, stem: Path, top_n: int = 25, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Tornado (``model.analysis.sensitivity_npvr.TornadoNpvr``) in mld. €: bars from the point value to the
    output at the low / high input quantile, the point value (solid) and the report's figure(s) (dashed; both
    ends of a band)."""
    rows = t.rows[:top_n][::-1]
    n = len(rows)
    fig = new_figure(8.5, 1.4 + 0.32 * max(n, 1))
    ax = fig.add_subplot()
    ypos = np.arange(n)
    base = t.base / MLD
    lo = np.array([r["low"] for r in rows]) / MLD
    hi = np.array([r["high"] for r in rows]) / MLD
    ax.barh(ypos, lo - base, left=base, height=0.7, color="#4C72B0", label=f"input op P{100 * t.result.low_q:g}")
    ax.barh(ypos, hi - base, left=base, height=0.7, color="#DD8452", alpha=0.85,
            label=f"input op P{100 * t.result.high_q:g}")
    ax.axvline(base, color="black", lw=1.2, label=f"puntwaarde: {mld(t.base, 2)}")
    _report_lines(ax, t.report, vertical=True)
    ax.set_yticks(ypos, [r["input"].replace("_", " ") for r in rows], fontsize="small")
    ax.set_xlabel(f"{t.long_name} (mld. €, 2025-2035, prijspeil 2024)")
    ax.set_title(f"Tornado: {t.long_name}\n(één input tegelijk, overige op puntwaarde; top {n})", fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize="x-small")
    return save_figure(fig, stem, formats, dpi=150)


def spider(s, stem: Path, top_n: int = 10, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Spider chart (``model.analysis.sensitivity_npvr.SpiderNpvr``) in mld. € of the ``top_n`` inputs with the
    widest output range."""
    items = sorted(s.curves.items(), key=lambda kv: float(np.ptp(kv[1])), reverse=True)[:top_n]
    fig = new_figure(8.5, 5.0)
    ax = fig.add_subplot()
    for name, y in items:
        ax.plot(100 * s.quantiles, y / MLD, marker="o", ms=3, label=name.replace("_", " "))
    ax.axhline(s.base / MLD, color="black", lw=1.0, label=f"puntwaarde: {mld(s.base, 2)}")
    _report_lines(ax, s.report, vertical=False)
    ax.set_xlabel("Kwantiel van de input (%)")
    ax.set_ylabel(f"{s.long_name} (mld. €, prijspeil 2024)")
    ax.set_title(f"Spider: {s.long_name}", fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="x-small")
    return save_figure(fig, stem, formats, dpi=150)


def sobol(rows: list[dict], stem: Path, *, title: str, key: str, conf_level: float, note: str | None = None,
          top_n: int = 25, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Horizontal bars of S1 and ST with their confidence intervals, sorted by ST (largest on top); ``key`` names
    the label column (``input`` or ``group``)."""
    rows = sorted(rows, key=lambda r: r["ST"], reverse=True)[:top_n][::-1]
    n = len(rows)
    fig = new_figure(8.0, 1.4 + 0.36 * max(n, 1))
    ax = fig.add_subplot()
    y = np.arange(n)
    h = 0.38
    ax.barh(y + h / 2, [r["ST"] for r in rows], height=h, xerr=[r["ST_conf"] for r in rows], color="#DD8452",
            capsize=2, label="totaal (ST)")
    ax.barh(y - h / 2, [r["S1"] for r in rows], height=h, xerr=[r["S1_conf"] for r in rows], color="#4C72B0",
            capsize=2, label="eerste orde (S1)")
    ax.set_yticks(y, [str(r[key]).replace("_", " ") for r in rows])
    ax.set_xlabel(f"Sobol'-index (aandeel van de variantie; ± {100 * conf_level:g}%-interval)")
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    if note:
        fig.text(0.01, 0.005, note, fontsize="x-small", ha="left", va="bottom")
    return save_figure(fig, stem, formats, dpi=150)


# -------------------------------------------------------------------------------------------- years
def fan_chart(ds, stem: Path | None = None, *, prijzen: str = "reeel", referentie: Mapping[str, float] | None = None,
              formats: Sequence[str] = ("png",)):
    """Fan chart per goal and in total (``model.analysis.jaren`` dataset): median, 25-75% and 5-95% bands per year,
    in € mln. ``referentie`` maps a groep to a flat per-year figure or a (laag, hoog) pair, drawn dashed."""
    from model.analysis.jaren import GROEPEN, KWANTIELEN, per_jaar_intervallen
    from model.spec.jaren import MODEL_PRIJSPEIL

    q = per_jaar_intervallen(ds, prijzen, KWANTIELEN) / 1e6
    fig = new_figure(11, 7)
    axes = fig.subplots(2, 2, sharex=True)
    jaren = q["jaar"].values
    for ax, groep in zip(axes.ravel(), GROEPEN):
        v = q.sel(groep=groep).values
        ax.fill_between(jaren, v[:, 0], v[:, 4], color="tab:blue", alpha=0.2, label="5-95%")
        ax.fill_between(jaren, v[:, 1], v[:, 3], color="tab:blue", alpha=0.4, label="25-75%")
        ax.plot(jaren, v[:, 2], color="tab:blue", lw=2, label="mediaan")
        if referentie and groep in referentie:
            for k, value in enumerate(np.atleast_1d(referentie[groep])):
                ax.axhline(value / 1e6, color="k", ls="--", lw=1, label="rapport (totaal / 11)" if k == 0 else None)
        ax.set_title(GROEP_TITELS[groep])
        ax.set_ylabel("mln. € per jaar" + (" (lopende prijzen)" if prijzen == "nominaal" else
                                           f" (prijspeil {MODEL_PRIJSPEIL})"))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper left", fontsize=8)
    label = "lopende prijzen" if prijzen == "nominaal" else f"prijspeil {MODEL_PRIJSPEIL}"
    fig.suptitle(f"NPVR-opgave per jaar 2025-2035 ({label})")
    if stem is not None:
        save_figure(fig, stem, formats)
    return fig


def contante_waarde(ds, stem: Path | None = None, formats: Sequence[str] = ("png",)):
    """Distribution of the total present value (without PM) at each discount rate, in € mld."""
    from model.analysis.jaren import contante_waarde_totaal

    cw = contante_waarde_totaal(ds) / MLD
    fig = new_figure(8, 4.5)
    ax = fig.add_subplot()
    for r in cw["discontovoet"].values:
        v = cw.sel(discontovoet=r).values
        ax.hist(v, bins=80, histtype="step", lw=1.5, density=True,
                label=f"{100 * r:.2f}%: mediaan €{np.median(v):.1f} mld.".replace(".", ",", 1))
    ax.set_xlabel("Contante waarde per 1-1-2025 (€ mld., prijspeil 2024, zonder PM)")
    ax.set_ylabel("dichtheid")
    ax.legend(title="discontovoet")
    ax.grid(alpha=0.3)
    if stem is not None:
        save_figure(fig, stem, formats)
    return fig


# ------------------------------------------------------------------------------------------ calibration
def prior_posterior(rows: list[dict], stem: Path, title: str = "", formats: Sequence[str] = ("png", "svg")):
    """Forest plot of a calibration in prior normal-score units (prior 90% = [-1.645, 1.645]) with the shrinkage
    per entry (rows of ``model.analysis.calibration.prior_posterior_table``)."""
    zq = 1.6448536269514722
    rows = sorted(rows, key=lambda r: r["shrinkage"])
    n = len(rows)
    fig = new_figure(11, 0.17 * n + 1.6)
    ax, ax2 = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 1]})
    ax.axvspan(-zq, zq, color="0.9", label="90% van de prior (normale score)")
    ax.axvline(0, color="0.6", lw=0.6)
    for k, r in enumerate(rows):
        c = _STATUS_COLOURS.get(r["status"], "k")
        lo = r["z_posterior_mean"] - zq * r["z_posterior_sd"]
        hi = r["z_posterior_mean"] + zq * r["z_posterior_sd"]
        ax.plot([lo, hi], [k, k], color=c, lw=2)
        ax.plot([r["z_posterior_mean"]], [k], "o", color=c, ms=3)
        ax2.barh(k, max(r["shrinkage"], 0.0), color=c)
    ax.set_yticks(np.arange(n))
    ax.set_yticklabels([r["parameter"].replace("_", " ") for r in rows], fontsize=6)
    ax.set_xlabel("normale score z van de posterior (gemiddelde ± 1,645 sd); prior: N(0, 1)")
    ax.set_xlim(-4, 4)
    ax2.set_xlabel("krimp: 1 - var(posterior) / var(prior)")
    ax2.set_xlim(0, 1)
    handles = [ax.plot([], [], color=c, lw=2, label=s)[0] for s, c in _STATUS_COLOURS.items()
               if any(r["status"] == s for r in rows)]
    ax.legend(handles=handles, loc="lower left", fontsize=7, title="status", title_fontsize=7)
    fig.suptitle(title or "Prior en posterior per invoer (kalibratie tegen de cijfers van het rapport)", fontsize=10)
    return save_figure(fig, stem, formats, dpi=110)


# ------------------------------------------------------------------------------------------------ batch
_PANELS = (("totaal_publieke_restopgave", "Publieke (rest)opgave"), ("totaal_exploitatielasten", "Exploitatielasten"),
           ("totaal_investeringsopgave", "Publieke & private investeringsopgave"))


def vergelijking(pooled: Mapping[str, Mapping[str, np.ndarray]], scenarios: list[str], stem: Path,
                 formats: Sequence[str] = ("png",)) -> list[Path]:
    """Scenarios side by side (``scenarios``: the keys of ``pooled``, e.g. "scenario · variant"): median and 5-95%
    interval of each column total of Table 1.2 (the report adds no columns together) and of the present value at
    the standard rate (where a row has it), in € mld."""
    panels = [(name, f"{title}, mld. € (prijspeil 2024)") for name, title in _PANELS]
    cw_name = next((k for acc in pooled.values() for k in acc if k.startswith("contante_waarde_")), None)
    if cw_name:
        rate = 100 * float(cw_name.rsplit("_", 1)[1])
        panels.append((cw_name, f"Contante waarde bij {rate:.2f}%, mld. € (prijspeil 2024)".replace(".", ",", 1)))
    fig = new_figure(4.2 * len(panels), 0.5 * len(scenarios) + 1.8)
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    y = np.arange(len(scenarios))
    for ax, (name, title) in zip(axes, panels):
        for i, s in enumerate(scenarios):
            if name == cw_name and name not in pooled[s]:     # the present value: the main variant only
                continue
            v = np.asarray(pooled[s][name]) / MLD
            lo, mid, hi = np.quantile(v, [0.05, 0.5, 0.95])
            ax.plot([lo, hi], [i, i], color="tab:blue", lw=3, alpha=0.5)
            ax.plot([mid], [i], "o", color="tab:blue")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    axes[0].set_yticks(y, scenarios)
    axes[0].invert_yaxis()
    fig.suptitle("Scenario's naast elkaar: mediaan en 5-95%")
    return save_figure(fig, stem, formats)
