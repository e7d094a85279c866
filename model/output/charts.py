"""The charts of a run folder, as SVG drawn directly (a few milliseconds each; pygal took 0.1 s a chart, a tenth of
a run): vector images that open in any browser and embed in a report, no script (a run is a few seconds in all;
matplotlib's import and rendering alone would take longer). The review figures of the other commands (tornado, Sobol', calibration, batch) are drawn with
matplotlib (``model.output.plots``). Labels are Dutch; amounts in billions of euros (mld. €)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.analysis.summary import differs
from model.output.format import MLD, decimal_nl

_S_CURVES = ("totaal_publieke_restopgave", "totaal_exploitatielasten", "totaal_investeringsopgave", "totaal_pm")


_FONT = "DejaVu Sans, Arial, sans-serif"
_BLUE, _LIGHT, _RED = "#1f5fa0", "#7f9fbf", "#c0392b"
_OTHER = ("#e67e22", "#8e44ad", "#27ae60")          # the other variants' curves
_MLD_AXIS = "mld. € (2025-2035, prijspeil 2024)"


def _svg(width: float, height: float, body: list[str]) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" font-family="{_FONT}" fill="#222">'
            f'<rect width="100%" height="100%" fill="white"/>' + "".join(body) + "</svg>\n")


def _ticks_between(lo: float, hi: float, count: int = 6) -> list[float]:
    """Round ticks (1, 2 or 5 times a power of ten apart) inside [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    power = 10 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = np.ceil(lo / step) * step
    return [float(x) for x in np.arange(first, hi + 1e-9 * step, step)]


def _x_axis(lo: float, hi: float, left: float, right: float, top: float, bottom: float, title: str) -> tuple[list[str], callable]:
    """Vertical grid lines, tick labels and the axis title of an amount axis; returns them and the x mapping."""
    scale = (right - left) / (hi - lo)
    fx = (lambda v: left + (v - lo) * scale)
    ticks = _ticks_between(lo, hi)
    digits = 0 if step_whole(ticks) else (1 if all(round(10 * t, 6).is_integer() for t in ticks) else 2)
    out = []
    for t in ticks:
        out.append(f'<line x1="{fx(t):.1f}" y1="{top}" x2="{fx(t):.1f}" y2="{bottom}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{fx(t):.1f}" y="{bottom + 15}" text-anchor="middle" font-size="11">'
                   f'{decimal_nl(t, digits)}</text>')
    out.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/>')
    out.append(f'<text x="{(left + right) / 2}" y="{bottom + 34}" text-anchor="middle" font-size="12">{_esc(title)}'
               '</text>')
    return out, fx


def _legend(items: list[tuple[str, str, str]], x0: float, y0: float, columns: int, width: float) -> list[str]:
    """Legend entries ``(label, colour, dash)`` in ``columns`` columns from (x0, y0)."""
    out = []
    for k, (label, colour, dash) in enumerate(items):
        x, y = x0 + (k % columns) * width, y0 + 18 * (k // columns)
        if dash == "dot":
            out.append(f'<circle cx="{x + 11}" cy="{y - 4}" r="4.5" fill="white" stroke="{colour}" stroke-width="2"/>')
        else:
            out.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 22}" y2="{y - 4}" stroke="{colour}" stroke-width="2.5"'
                       + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        out.append(f'<text x="{x + 28}" y="{y}" font-size="11">{_esc(label)}</text>')
    return out


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
    curves = [(f"variant {r['variant']}" if moved else "verdeling", x, _BLUE)]
    for k, (v, res, _) in enumerate(moved):
        curves.append((f"variant {v}", quantile_function(res, res.plan.output_index(name))(u) / MLD,
                       _OTHER[k % len(_OTHER)]))
    figures = [(r["variant"], r["rapport"])] + [(v, o["rapport"]) for v, _, o in moved]
    figures = [(v, f / MLD) for v, f in figures if f is not None]
    lo = min([c[1][0] for c in curves] + [f for _, f in figures])
    hi = max([c[1][-1] for c in curves] + [f for _, f in figures])
    pad = 0.03 * (hi - lo or 1.0)
    width, height, left, right, top, bottom = 540, 400, 62, 520, 40, 290
    body = [f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="13">{_esc(r["long_name"])}</text>']
    axis, fx = _x_axis(lo - pad, hi + pad, left, right, top, bottom, _MLD_AXIS)
    body += axis
    fy = (lambda p: bottom - p * (bottom - top))
    for k in range(11):
        body.append(f'<line x1="{left}" y1="{fy(k / 10):.1f}" x2="{right}" y2="{fy(k / 10):.1f}" stroke="#eee"/>')
        body.append(f'<text x="{left - 6}" y="{fy(k / 10) + 4:.1f}" text-anchor="end" font-size="11">'
                    f'{decimal_nl(k / 10, 1)}</text>')
    body.append(f'<text x="16" y="{(top + bottom) / 2}" text-anchor="middle" font-size="12" '
                f'transform="rotate(-90 16 {(top + bottom) / 2})">kans ≤ x</text>')
    legend = []
    for label, xs, colour in curves:
        pts = " ".join(f"{fx(a):.1f},{fy(b):.1f}" for a, b in zip(xs, u))
        body.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        legend.append((label, colour, ""))
    for key, dash in (("p5", "3,3"), ("p50", "8,4"), ("p95", "3,3")):
        v = r[key] / MLD
        body.append(f'<line x1="{fx(v):.1f}" y1="{top}" x2="{fx(v):.1f}" y2="{bottom}" stroke="{_LIGHT}" '
                    f'stroke-width="1.2" stroke-dasharray="{dash}"/>')
        legend.append((f"{key.upper()} {decimal_nl(v, 2)}", _LIGHT, dash))
    if figures:
        for _, f in figures:
            body.append(f'<line x1="{fx(f):.1f}" y1="{top}" x2="{fx(f):.1f}" y2="{bottom}" stroke="{_RED}" '
                        'stroke-width="2"/>')
        legend.append(("rapport " + " / ".join(f"{decimal_nl(f, 1)} ({v})" if moved else decimal_nl(f, 1)
                                               for v, f in figures), _RED, ""))
    body += _legend(legend, left, bottom + 58, 2, 240)
    Path(path).write_text(_svg(width, height, body), encoding="utf-8")
    return Path(path)


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
        label = ("PM " if r["pm"] and "(PM)" not in r["long_name"] else "") + r["long_name"]
        out.append((f"{label} [{r['variant']}]" if moved else label, r))
        out += [(f"{label} [{v}]", o) for v, o in moved]
    return out


def intervals(rows, folder: Path, others=()) -> Path:
    """``deelopgaven_intervallen.svg``: every deelopgave's P5-P95 (thin) and P15-P85 (thick) interval and P50 (dot),
    with the report's figure for it (red) beside it; a deelopgave the choice moves has a line per variant
    (``others``: ``(naam, rows)`` of the other variants)."""
    labelled = variant_rows(rows, others, "deelopgave")
    n = len(labelled)
    row, top = 30, 50
    width, left, right = 1000, 470, 980
    bottom = top + row * n
    hi = max(max(r["p95"], r["rapport"] or 0.0) for _, r in labelled) / MLD
    body = ['<text x="500" y="24" text-anchor="middle" font-size="13">Deelopgaven: intervallen naast de cijfers van '
            'het rapport</text>']
    axis, fx = _x_axis(0.0, 1.03 * hi, left, right, top - 10, bottom, _MLD_AXIS)
    body += axis
    for i, (label, r) in enumerate(labelled):
        y = top + row * i + row / 2
        body.append(f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_esc(label)}</text>')
        body.append(f'<line x1="{fx(r["p5"] / MLD):.1f}" y1="{y}" x2="{fx(r["p95"] / MLD):.1f}" y2="{y}" '
                    f'stroke="{_LIGHT}" stroke-width="3"/>')
        body.append(f'<line x1="{fx(r["p15"] / MLD):.1f}" y1="{y}" x2="{fx(r["p85"] / MLD):.1f}" y2="{y}" '
                    f'stroke="{_BLUE}" stroke-width="8"/>')
        body.append(f'<circle cx="{fx(r["p50"] / MLD):.1f}" cy="{y}" r="4.5" fill="white" stroke="{_BLUE}" '
                    'stroke-width="2"/>')
        if r["rapport"] is not None:
            f = fx(r["rapport"] / MLD)
            body.append(f'<line x1="{f:.1f}" y1="{y - 9}" x2="{f:.1f}" y2="{y + 9}" stroke="{_RED}" stroke-width="3"/>')
    body += _legend([("P5-P95", _LIGHT, ""), ("P15-P85", _BLUE, ""), ("P50", _BLUE, "dot"),
                     ("rapport", _RED, "")], left, bottom + 58, 4, 125)
    path = Path(folder) / "deelopgaven_intervallen.svg"
    path.write_text(_svg(width, bottom + 80, body), encoding="utf-8")
    return path


def fan_chart(jds, path: Path) -> Path:
    """``fan_chart.svg``: the year model's amounts per year 2025-2035 (prijspeil 2024) per goal and in total
    without PM (``model.analysis.jaren``): the median, the 25-75% and the 5-95% band, in mln. € per year."""
    from model.analysis.jaren import GROEPEN, KWANTIELEN, per_jaar_intervallen
    from model.spec.jaren import MODEL_PRIJSPEIL

    from model.deelopgaven.registry import GROEP_TITELS as titles
    q = per_jaar_intervallen(jds, "reeel", KWANTIELEN) / 1e6
    jaren = [int(j) for j in q["jaar"].values]
    pw, ph = 470, 250                                   # one panel
    body = [f'<text x="{pw}" y="22" text-anchor="middle" font-size="14">NPVR-opgave per jaar 2025-2035 '
            f'(prijspeil {MODEL_PRIJSPEIL}), mln. € per jaar</text>']
    for k, groep in enumerate(GROEPEN):
        v = q.sel(groep=groep).values                    # (jaar, kwantiel)
        x0, y0 = (k % 2) * pw, 40 + (k // 2) * (ph + 20)
        left, right, top, bottom = x0 + 60, x0 + pw - 15, y0 + 24, y0 + ph - 36
        hi = 1.05 * float(v[:, -1].max()) or 1.0
        fx = (lambda j: left + (j - jaren[0]) * (right - left) / (jaren[-1] - jaren[0]))
        fy = (lambda y: bottom - y * (bottom - top) / hi)
        body.append(f'<text x="{(left + right) / 2}" y="{y0 + 14}" text-anchor="middle" font-size="12">'
                    f'{_esc(titles[groep])}</text>')
        for t in _ticks(hi, 4):
            body.append(f'<line x1="{left}" y1="{fy(t):.1f}" x2="{right}" y2="{fy(t):.1f}" stroke="#eee"/>')
            body.append(f'<text x="{left - 6}" y="{fy(t) + 4:.1f}" text-anchor="end" font-size="10">'
                        f'{decimal_nl(t, 0)}</text>')
        for j in jaren[::2]:
            body.append(f'<text x="{fx(j):.1f}" y="{bottom + 14}" text-anchor="middle" font-size="10">{j}</text>')
        for lo, up, colour in ((0, 4, "#c9d8e8"), (1, 3, "#8fb0d3")):
            pts = [f"{fx(j):.1f},{fy(y):.1f}" for j, y in zip(jaren, v[:, up])]
            pts += [f"{fx(j):.1f},{fy(y):.1f}" for j, y in zip(jaren[::-1], v[::-1, lo])]
            body.append(f'<polygon points="{" ".join(pts)}" fill="{colour}" stroke="none"/>')
        pts = " ".join(f"{fx(j):.1f},{fy(y):.1f}" for j, y in zip(jaren, v[:, 2]))
        body.append(f'<polyline points="{pts}" fill="none" stroke="{_BLUE}" stroke-width="2"/>')
        body.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/>')
    legend_y = 40 + 2 * (ph + 20) + 4
    body += _legend([("mediaan", _BLUE, ""), ("25-75%", "#8fb0d3", ""), ("5-95%", "#c9d8e8", "")], 60, legend_y, 3,
                    140)
    path = Path(path)
    path.write_text(_svg(2 * pw, legend_y + 16, body), encoding="utf-8")
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
    probability that the region ranks first beside its name."""
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


__all__ = ["s_curve", "s_curves", "intervals", "regions", "fan_chart", "variant_rows"]
