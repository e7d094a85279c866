"""The charts of a run folder, as SVG (pygal): vector images that open in any browser and embed in a report, drawn
in a few hundredths of a second each (a run is a few seconds in all; matplotlib's import and rendering alone would
take longer). The review figures of the other commands (tornado, Sobol', calibration, batch) are drawn with
matplotlib (``model.output.plots``). Labels are Dutch; amounts in billions of euros (mld. €)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.analysis.summary import differs
from model.output.format import MLD, decimal_nl

_S_CURVES = ("totaal_publieke_restopgave", "totaal_exploitatielasten", "totaal_investeringsopgave", "totaal_pm")


def _style(colours):
    from pygal.style import Style

    return Style(background="white", plot_background="white", foreground="#222", foreground_strong="#000",
                 foreground_subtle="#888", colors=tuple(colours), font_family="DejaVu Sans, Arial, sans-serif",
                 label_font_size=11, major_label_font_size=11, legend_font_size=11, title_font_size=13)


def _config(**kwargs):
    import pygal

    return dict(js=[], disable_xml_declaration=False, show_dots=False, explicit_size=True, truncate_legend=-1,
                x_value_formatter=lambda x: decimal_nl(x, 1), **kwargs), pygal


def s_curve(result, rows, name: str, path: Path, others=()) -> Path:
    """The cumulative distribution of one output (``kans ≤ x``) with its P5, P50 and P95 and the report's figure,
    and the curve of every other variant (``others``: ``(naam, result, rows)``) where the choice moves the output."""
    from model.analysis.summary import quantile_function

    by = {r["output"]: r for r in rows}
    r = by[name]
    u = np.linspace(0.002, 0.998, 200)
    x = quantile_function(result, result.plan.output_index(name))(u) / MLD
    moved = [(v, res, {o["output"]: o for o in rws}[name]) for v, res, rws in others
             if differs(r, {o["output"]: o for o in rws}[name])]
    config, pygal = _config(width=540, height=400, show_legend=True, legend_at_bottom=True, legend_at_bottom_columns=2,
                            margin_bottom=36,
                            x_title="mld. € (2025-2035, prijspeil 2024)", y_title="kans ≤ x",
                            title=r["long_name"], range=(0, 1), allow_interruptions=True,
                            value_formatter=lambda y: decimal_nl(y, 2))
    primary = r["variant"]
    chart = pygal.XY(style=_style(("#1f5fa0", "#7f9fbf", "#7f9fbf", "#7f9fbf", "#c0392b", "#e67e22", "#8e44ad",
                                   "#27ae60")), **config)
    chart.add(f"variant {primary}" if moved else "verdeling", list(zip(x.tolist(), u.tolist())),
              stroke_style={"width": 2.5})
    for key, dash in (("p5", "3, 3"), ("p50", "8, 4"), ("p95", "3, 3")):
        v = r[key] / MLD
        chart.add(f"{key.upper()} {decimal_nl(v, 2)}", [(v, 0.0), (v, 1.0)], stroke_style={"width": 1.2,
                                                                                          "dasharray": dash})
    figures = [(primary, r["rapport"])] + [(v, o["rapport"]) for v, _, o in moved]
    points: list = []
    for _, f in figures:
        if f is not None:
            points += [(f / MLD, 0.0), (f / MLD, 1.0), None]
    if points:
        label = "rapport " + " / ".join(f"{decimal_nl(f / MLD, 1)} ({v})" if moved else decimal_nl(f / MLD, 1)
                                        for v, f in figures if f is not None)
        chart.add(label, points[:-1], stroke_style={"width": 2})
    for v, res, _ in moved:
        xv = quantile_function(res, res.plan.output_index(name))(u) / MLD
        chart.add(f"variant {v}", list(zip(xv.tolist(), u.tolist())), stroke_style={"width": 2.5})
    chart.render_to_file(str(path))
    return path


def s_curves(result, rows, folder: Path, others=()) -> list[Path]:
    """``s_curve_<output>.svg`` for the three column totals of Table 1.2 and the PM total, each variant's curve
    where the choice moves the total (``others``: ``(naam, result, rows)`` of the other variants)."""
    return [s_curve(result, rows, name, Path(folder) / f"s_curve_{name.removeprefix('totaal_')}.svg", others)
            for name in _S_CURVES]


def variant_rows(rows, others, soort: str) -> list[tuple[str, dict]]:
    """The rows of one ``soort`` as ``(label, row)``, each followed by the other variants' rows of the same output
    where the choice moves it (``others``: ``(naam, rows)``), labelled with the variant."""
    by = [(v, {o["output"]: o for o in rws}) for v, rws in others]
    out = []
    for r in rows:
        if r["soort"] != soort:
            continue
        moved = [(v, b[r["output"]]) for v, b in by if differs(r, b[r["output"]])]
        label = ("PM " if r["pm"] else "") + r["long_name"]
        out.append((f"{label} [{r['variant']}]" if moved else label, r))
        out += [(f"{label} [{v}]", o) for v, o in moved]
    return out


def intervals(rows, folder: Path, others=()) -> Path:
    """``deelopgaven_intervallen.svg``: every deelopgave's P5-P95 (thin) and P15-P85 (thick) interval and P50 (dot),
    with the report's figure for it (red) beside it; a deelopgave the choice moves has a line per variant
    (``others``: ``(naam, rows)`` of the other variants)."""
    labelled = variant_rows(rows, others, "deelopgave")
    sel = [r for _, r in labelled]
    n = len(sel)
    config, pygal = _config(width=1000, height=60 + 34 * n, show_legend=True, legend_at_bottom=True,
                            legend_at_bottom_columns=4, allow_interruptions=True,
                            x_title="mld. € (2025-2035, prijspeil 2024)", range=(-0.8, n - 0.2),
                            title="Deelopgaven: intervallen naast de cijfers van het rapport",
                            y_labels=[{"label": label, "value": n - 1 - i}
                                      for i, (label, _) in enumerate(labelled)], truncate_label=-1,
                            show_y_guides=False, value_formatter=lambda y: "")
    chart = pygal.XY(style=_style(("#7f9fbf", "#1f5fa0", "#1f5fa0", "#c0392b")), **config)

    def segments(lo_key, hi_key, offset=0.0):
        points: list = []
        for i, r in enumerate(sel):
            y = n - 1 - i + offset
            lo, hi = r[lo_key], r[hi_key]
            if lo is None:
                continue
            hi = hi if hi != lo else lo * 1.004   # a point figure: a short tick
            points += [(lo / MLD, y), (hi / MLD, y), None]
        return points[:-1]

    chart.add("P5-P95", segments("p5", "p95"), stroke_style={"width": 3})
    chart.add("P15-P85", segments("p15", "p85"), stroke_style={"width": 9})
    chart.add("P50", [(r["p50"] / MLD, n - 1 - i) for i, r in enumerate(sel)], stroke=False, show_dots=True,
              dots_size=4)
    chart.add("rapport", segments("rapport", "rapport", 0.3), stroke_style={"width": 3})
    path = Path(folder) / "deelopgaven_intervallen.svg"
    chart.render_to_file(str(path))
    return path


def _ticks(top: float, count: int = 5) -> list[float]:
    """About ``count`` round ticks (1, 2 or 5 times a power of ten apart) from 0 to ``top``."""
    if top <= 0:
        return [0.0]
    raw = top / count
    power = 10 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [float(x) for x in np.arange(0.0, top + 1e-9 * top, step)]


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _region_panel(reg, k: int | None, per_inwoner: bool, title: str, x0: float, width: float) -> list[str]:
    """One panel of a regional chart as SVG elements, from ``x0``: per region the P5-P95 interval (line) and P50
    (dot) of deelopgave ``k`` (None: the total without PM), absolute (mln. €) or per inhabitant (€), with the
    probability that the region ranks first beside its name. Drawn directly: thirteen pygal charts of two panels
    would take most of a run's time."""
    from model.spec.data import REGIOS

    stats = reg.kolom_stats[0] if k is None else reg.regio_stats[k]
    div = reg.per_regio(reg.inwoners) if per_inwoner else np.full(len(REGIOS), 1e6)
    first = None if k is None else (reg.kans_eerste_per_inwoner if per_inwoner else reg.kans_eerste)[k]
    top = 1.05 * float(np.max(stats[:, 3] / div)) or 1.0
    ticks = _ticks(top)
    left, right, y0, row = x0 + 250, x0 + width - 20, _TOP + 20, 28
    scale = (right - left) / top
    out = [f'<text x="{x0 + width / 2}" y="{_TOP - 4}" text-anchor="middle" font-size="12">{_esc(title)}</text>']
    bottom = y0 + row * len(REGIOS)
    for t in ticks:
        x = left + t * scale
        out.append(f'<line x1="{x:.1f}" y1="{y0 - 8}" x2="{x:.1f}" y2="{bottom}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="11">'
                   f'{decimal_nl(t, 0 if step_whole(ticks) else 1)}</text>')
    unit = "€ per inwoner (prijspeil 2024)" if per_inwoner else "mln. € (2025-2035, prijspeil 2024)"
    out.append(f'<text x="{(left + right) / 2}" y="{bottom + 36}" text-anchor="middle" font-size="11">{unit}</text>')
    for i, naam in enumerate(REGIOS):
        y = y0 + row * i + row / 2
        label = naam if first is None else f"{naam} ({decimal_nl(100 * first[i], 0)}%)"
        lo, mid, hi = (stats[i, j] / div[i] * scale + left for j in (1, 2, 3))
        out.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" font-size="11">{_esc(label)}</text>')
        out.append(f'<line x1="{lo:.1f}" y1="{y}" x2="{hi:.1f}" y2="{y}" stroke="#7f9fbf" stroke-width="3"/>')
        out.append(f'<circle cx="{mid:.1f}" cy="{y}" r="4" fill="#1f5fa0"/>')
    return out


#: Where a regional chart's panels start (below its title).
_TOP = 46


def step_whole(ticks: list[float]) -> bool:
    """Whether the ticks are whole numbers (printed without decimals)."""
    return all(float(t).is_integer() for t in ticks)


def regions(reg, folder: Path, titles) -> list[Path]:
    """``regio_<deelopgave>.svg`` per deelopgave and ``regio_totaal.svg`` (the total without PM): the regions'
    P5-P95 intervals and medians absolute (left) and per inhabitant (right), with the probability that the region
    ranks first (absolute, per inhabitant) beside its name (``reg``: ``model.analysis.regionaal.Regionaal``)."""
    from model.spec.data import REGIOS

    out = []
    width = 560
    height = _TOP + 20 + 28 * len(REGIOS) + 70
    items = [(k, d, ("PM " if reg.pm[k] else "") + titles.get(d, d)) for k, d in enumerate(reg.deelopgaven)]
    for k, name, title in [*items, (None, "totaal", "Totaal zonder PM")]:
        body = ([f'<text x="{width}" y="20" text-anchor="middle" font-size="14" font-weight="bold">'
                 f'{_esc(title)}: per regio</text>']
                + _region_panel(reg, k, False, "absoluut (kans hoogste)", 0, width)
                + _region_panel(reg, k, True, "per inwoner (kans hoogste per inwoner)", width, width))
        legend = (f'<text x="20" y="{height - 12}" font-size="11">Lijn: P5-P95, punt: P50 (variant {reg.variant}; '
                  f'{decimal_nl(reg.n, 0)} trekkingen)</text>')
        svg = (f'<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" '
               f'height="{height}" viewBox="0 0 {2 * width} {height}" font-family="DejaVu Sans, Arial, sans-serif" '
               f'fill="#222"><rect width="100%" height="100%" fill="white"/>' + "".join(body) + legend + "</svg>\n")
        path = Path(folder) / f"regio_{name}.svg"
        path.write_text(svg, encoding="utf-8")
        out.append(path)
    return out


__all__ = ["s_curve", "s_curves", "intervals", "regions", "variant_rows"]
