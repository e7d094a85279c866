"""Plots written with each run (matplotlib, Agg; PNG and SVG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from model.summary import _quantile_function  # noqa: E402


def _save(fig, stem: Path) -> list[Path]:
    paths = []
    for ext in ("png", "svg"):
        p = stem.with_suffix(f".{ext}")
        fig.savefig(p, dpi=120, bbox_inches="tight")
        paths.append(p)
    plt.close(fig)
    return paths


def s_curves(result, rows, folder: Path) -> list[Path]:
    """Cumulative distribution of each column total with P5/P50/P95 markers and the report's figure."""
    names = ["totaal_publieke_restopgave", "totaal_exploitatielasten", "totaal_investeringsopgave", "totaal_pm"]
    idx = {o.naam: i for i, o in enumerate(result.plan.outputs)}
    by = {r["output"]: r for r in rows}
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6))
    u = np.linspace(0.001, 0.999, 400)
    for ax, name in zip(axes, names):
        q = _quantile_function(result, idx[name])
        ax.plot(q(u) / 1e9, u, color="C0")
        for p, style in (("p5", ":"), ("p50", "--"), ("p95", ":")):
            x = by[name][p] / 1e9
            ax.axvline(x, color="C0", ls=style, lw=0.8)
            ax.annotate(p.upper(), (x, 0.02), fontsize=7, rotation=90, va="bottom", ha="right")
        lo, hi = by[name]["rapport_laag"], by[name]["rapport_hoog"]
        if lo is not None:
            ax.axvspan(lo / 1e9, hi / 1e9 if hi != lo else lo / 1e9 + 1e-3, color="C3", alpha=0.25,
                       label="rapport")
            ax.axvline(lo / 1e9, color="C3", lw=1)
            ax.axvline(hi / 1e9, color="C3", lw=1)
            ax.legend(loc="lower right", fontsize=7)
        ax.set_title(by[name]["long_name"], fontsize=8)
        ax.set_xlabel("mld. € (2025-2035)")
        ax.set_ylabel("kans ≤ x")
        ax.grid(alpha=0.3)
    fig.suptitle(f"NPVR: S-curves ({result.draws:,} trekkingen, seed {result.seed})", fontsize=10)
    return _save(fig, folder / "s_curves")


def intervals(rows, folder: Path) -> list[Path]:
    """All deelopgaven's P5-P95 (and P25... via P15-P85) intervals beside the report's figures."""
    sel = [r for r in rows if r["soort"] == "deelopgave"]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(sel) + 1.2))
    for i, r in enumerate(sel):
        y = len(sel) - 1 - i
        ax.plot([r["p5"] / 1e9, r["p95"] / 1e9], [y, y], color="C0", lw=2, solid_capstyle="butt")
        ax.plot([r["p15"] / 1e9, r["p85"] / 1e9], [y, y], color="C0", lw=5, alpha=0.5, solid_capstyle="butt")
        ax.plot(r["p50"] / 1e9, y, "o", color="C0", ms=4)
        if r["rapport_laag"] is not None:
            ax.plot([r["rapport_laag"] / 1e9, r["rapport_hoog"] / 1e9], [y + 0.25, y + 0.25], color="C3", lw=2,
                    marker="|", ms=8)
    ax.set_yticks(range(len(sel)))
    ax.set_yticklabels([("PM " if r["pm"] else "") + r["output"] for r in reversed(sel)], fontsize=8)
    ax.set_xlabel("mld. € (2025-2035): P5-P95 (dun), P15-P85 (dik), P50 (punt); rapport in rood")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Deelopgaven: intervallen naast de cijfers van het rapport", fontsize=10)
    return _save(fig, folder / "deelopgaven_intervallen")
