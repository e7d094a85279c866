"""The report's printed figures, the settings at which it printed them, and what each figure measures.

These numbers are never model inputs: the kernels read only ``priors/`` and ``data/``. :data:`PUBLISHED` is the
one table of them in the code base: the calibration observes them, the summaries and plots show them beside the
model's intervals (:data:`SHOWN` and :func:`variant_figure` select from it, per output and variant), and the tests compare report mode with
them. The settings at which the report evaluated its figures (norm level and demand year) are the policy variants
of ``scenarios/varianten.toml`` (:mod:`model.spec.varianten`); report mode and the calibration both read them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from model.deelopgaven.registry import KOLOMMEN, by_name, column_totals, line_names
from model.spec.varianten import load_varianten, variant_values

__all__ = ["Figure", "PUBLISHED", "SHOWN", "settings", "setting_values", "check_figures",
           "quantity", "variant_figure"]

def settings() -> tuple[str, ...]:
    """The names of the settings a figure can be printed at: the variants of ``scenarios/varianten.toml``
    (laag = today's shortfall at the Q1 norm, hoog = the 2035 shortfall at the median norm, footnote * of Table
    1.2; nu_mediaan and 2035_q1 the other two cells of §3.5)."""
    return tuple(load_varianten().variants)


def setting_values(priors, setting: str) -> dict[str, float]:
    """The value of every choice entry (kind ``keuze``) of ``priors`` (a ``model.spec.priors.PriorSet``) at a
    setting: the variant of that name (:func:`model.spec.varianten.variant_values`)."""
    return variant_values(priors, setting)


@dataclass(frozen=True)
class Figure:
    """One printed figure of the report.

    ``printed`` is the value as printed, in ``eenheid_eur`` euros (default: mld. €); ``decimals`` the number of
    printed decimals in that unit (the rounding is half a unit of the last digit). ``quantity`` is the model
    quantity it measures: terms joined by ``+``, each ``deelopgave:<naam>`` (its non-auxiliary lines),
    ``lijn:<line>`` or ``kolom:<Table 1.2 column>`` (non-PM lines), optionally followed by ``/jaar`` (divided by
    ``looptijd_jaren``). ``setting`` names a variant (:func:`settings`). ``where`` says where it is printed.
    """

    name: str
    printed: float
    decimals: int
    quantity: str
    setting: str
    where: str
    eenheid_eur: float = 1e9

    @property
    def half_unit(self) -> float:
        """Half a unit of the last printed digit, in printed units."""
        return 0.5 * 10.0 ** (-self.decimals)

    @property
    def rounding_sd(self) -> float:
        """sd of a uniform rounding error on ±half_unit."""
        return self.half_unit / math.sqrt(3.0)


_T21 = ("deelopgave:nieuwbouw+deelopgave:herstructurering_woningen+deelopgave:herstructurering_winkels"
        "+deelopgave:leefbaarheid_veiligheid")

#: The report's printed figures (mld. €, 2025 t/m 2035). Source: the report's text (Tables 1.2, 2.1, 3.1, §1.4,
#: §2.2, §3.2, §3.4, §4.1) and, for the §3.4 split by group and the §3.5 split now/2035 (figures of the report not
#: in our text copy), the research notes' calibration targets: docs/sources.md §0. Exploitatielasten: the column
#: total (€0,6 mld.; per jaar €0,05 mld.) is the OV-exploitatie line itself (the column's only non-PM line), so
#: it is one observation, not two; "€0,05 mld." per jaar is the same figure as "€50 mln. per jaar" (§3.4,
#: footnote **), kept once at its most precise printing (docs/deviations.md D2 takes €50 mln as primary).
#: ``printed`` is in units of ``eenheid_eur`` (mld. €, or mln. € where the report prints millions).
PUBLISHED: tuple[Figure, ...] = (
    Figure("nieuwbouw", 0.7, 1, "deelopgave:nieuwbouw", "laag", "Tabel 1.2; Tabel 2.1; §1.4"),
    Figure("herstructurering_woningen", 4.3, 1, "deelopgave:herstructurering_woningen", "laag",
           "Tabel 1.2; Tabel 2.1; §1.4"),
    Figure("herstructurering_winkels", 0.4, 1, "deelopgave:herstructurering_winkels", "laag",
           "Tabel 1.2; Tabel 2.1; §1.4"),
    Figure("leefbaarheid_veiligheid", 1.1, 1, "deelopgave:leefbaarheid_veiligheid", "laag",
           "Tabel 1.2; Tabel 2.1; §1.4"),
    Figure("tabel_2_1_totaal", 6.6, 1, _T21, "laag", "Tabel 2.1; §2.2"),
    Figure("bereikbaarheid_laag", 0.6, 1, "deelopgave:bereikbaarheid", "laag",
           "Tabel 1.2; Tabel 3.1; §1.4; §3.2; §3.4"),
    Figure("bereikbaarheid_hoog", 1.1, 1, "deelopgave:bereikbaarheid", "hoog",
           "Tabel 1.2; Tabel 3.1; §1.4; §3.2; §3.4"),
    Figure("bereikbaarheid_commercieel_laag", 0.3, 1, "lijn:bereikbaarheid_commercieel", "laag", "§3.4 (docs/sources.md §0)"),
    Figure("bereikbaarheid_commercieel_hoog", 0.6, 1, "lijn:bereikbaarheid_commercieel", "hoog", "§3.4 (docs/sources.md §0)"),
    Figure("bereikbaarheid_publiek_laag", 0.2, 1, "lijn:bereikbaarheid_publiek", "laag", "§3.4 (docs/sources.md §0)"),
    Figure("bereikbaarheid_publiek_hoog", 0.4, 1, "lijn:bereikbaarheid_publiek", "hoog", "§3.4 (docs/sources.md §0)"),
    Figure("bereikbaarheid_ontmoeting_laag", 0.1, 1, "lijn:bereikbaarheid_ontmoeting", "laag", "§3.4 (docs/sources.md §0)"),
    Figure("bereikbaarheid_ontmoeting_hoog", 0.2, 1, "lijn:bereikbaarheid_ontmoeting", "hoog", "§3.4 (docs/sources.md §0)"),
    Figure("capaciteit_laag", 1.4, 1, "deelopgave:capaciteit", "laag",
           "Tabel 1.2 (footnote *: nu, Q1-norm); Tabel 3.1; §1.4; §3.2"),
    Figure("capaciteit_hoog", 6.4, 1, "deelopgave:capaciteit", "hoog",
           "Tabel 1.2 (footnote *: 2035, mediaan-norm); Tabel 3.1; §1.4; §3.2"),
    Figure("capaciteit_nu_mediaan", 5.5, 1, "deelopgave:capaciteit", "nu_mediaan", "§3.5 (docs/sources.md §0)"),
    Figure("capaciteit_2035_q1", 1.7, 1, "deelopgave:capaciteit", "2035_q1", "§3.5 (docs/sources.md §0)"),
    Figure("ov_exploitatie", 0.6, 1, "deelopgave:ov_exploitatie", "laag",
           "Tabel 1.2 (line and Totaal exploitatielasten); §1.4; §3.4"),
    Figure("ov_exploitatie_per_jaar", 50.0, 0, "deelopgave:ov_exploitatie/jaar", "laag",
           "footnote ** of Tabel 1.2 and §3.4 ('€50 mln. per jaar'); Tabel 1.2 Per jaar exploitatielasten "
           "('€0,05 mld.', the same figure, less precise)", eenheid_eur=1e6),
    Figure("ov_eenmalig", 0.135, 3, "deelopgave:ov_eenmalig", "laag",
           "Tabel 1.2 (***); §1.4; §3.4 ('ca. €135 mln.')"),
    Figure("ov_totaal", 0.7, 1, "deelopgave:ov_exploitatie+deelopgave:ov_eenmalig", "laag", "Tabel 3.1; §3.2; §3.4"),
    Figure("gezonde_toekomst", 1.3, 1, "deelopgave:gezonde_toekomst", "laag", "Tabel 1.2; §1.4; §4.1"),
    Figure("totaal_publieke_restopgave", 3.6, 1, "kolom:publieke_restopgave", "laag", "Tabel 1.2 Totaal"),
    Figure("totaal_investeringsopgave_laag", 6.3, 1, "kolom:investeringsopgave", "laag", "Tabel 1.2 Totaal"),
    Figure("totaal_investeringsopgave_hoog", 11.8, 1, "kolom:investeringsopgave", "hoog", "Tabel 1.2 Totaal"),
    Figure("per_jaar_publieke_restopgave", 0.3, 1, "kolom:publieke_restopgave/jaar", "laag", "Tabel 1.2 Per jaar"),
    Figure("per_jaar_investeringsopgave_laag", 0.6, 1, "kolom:investeringsopgave/jaar", "laag", "Tabel 1.2 Per jaar"),
    Figure("per_jaar_investeringsopgave_hoog", 1.1, 1, "kolom:investeringsopgave/jaar", "hoog", "Tabel 1.2 Per jaar"),
)


#: Per output of the engine, the figure(s) of :data:`PUBLISHED` the report prints for it: one name for a point
#: figure, (low, high) for a bandwidth. The Table 1.2 column "Totaal exploitatielasten" is the OV-exploitatie
#: figure (the column's only non-PM line; one printed number, one observation).
SHOWN: dict[str, tuple[str, ...]] = {
    # Table 1.2 columns
    "totaal_publieke_restopgave": ("totaal_publieke_restopgave",),
    "totaal_exploitatielasten": ("ov_exploitatie",),
    "totaal_investeringsopgave": ("totaal_investeringsopgave_laag", "totaal_investeringsopgave_hoog"),
    # Table 1.2 lines
    "nieuwbouw": ("nieuwbouw",),
    "herstructurering_woningen": ("herstructurering_woningen",),
    "herstructurering_winkels": ("herstructurering_winkels",),
    "leefbaarheid_veiligheid": ("leefbaarheid_veiligheid",),
    "bereikbaarheid": ("bereikbaarheid_laag", "bereikbaarheid_hoog"),
    "capaciteit": ("capaciteit_laag", "capaciteit_hoog", "capaciteit_nu_mediaan", "capaciteit_2035_q1"),
    "ov_exploitatie": ("ov_exploitatie",),
    "ov_eenmalig": ("ov_eenmalig",),
    "gezonde_toekomst": ("gezonde_toekomst",),
    # Table 2.1 / goals
    "doel_veilig_leefbaar": ("tabel_2_1_totaal",),
}


def variant_figure(output: str, variant: str) -> float | None:
    """The report's figure for ``output`` in ``variant`` (euros as printed), or None: the figure of
    :data:`SHOWN` printed at that setting; for a point figure (one figure, of an output no choice moves) the
    figure itself in every variant. A bandwidth's low end belongs to ``laag``, its high end to ``hoog``."""
    by = {f.name: f for f in PUBLISHED}
    figs = [by[n] for n in SHOWN.get(output, ())]
    at = [f for f in figs if f.setting == variant]
    if not at and len(figs) == 1:
        at = figs
    return float(round(at[0].printed * at[0].eenheid_eur)) if at else None


# --------------------------------------------------------------------------------------------------------
# What a figure measures
# --------------------------------------------------------------------------------------------------------

_TERM = re.compile(r"^(deelopgave|lijn|kolom):([a-z0-9_]+)$")


def check_figures(figures: Sequence[Figure]) -> None:
    """Refuse duplicate names, unknown settings and quantity terms that name no deelopgave, line or column."""
    names = [f.name for f in figures]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate figure names: {sorted({n for n in names if names.count(n) > 1})}")
    lines = set(line_names())
    for f in figures:
        if f.setting not in settings():
            raise ValueError(f"figure {f.name}: unknown setting {f.setting!r} (known: {sorted(settings())})")
        expr = f.quantity.removesuffix("/jaar")
        for term in expr.split("+"):
            m = _TERM.match(term)
            if not m:
                raise ValueError(f"figure {f.name}: cannot read quantity term {term!r}")
            kind, name = m.groups()
            if kind == "deelopgave":
                by_name(name)
            elif kind == "lijn" and name not in lines:
                raise ValueError(f"figure {f.name}: unknown line {name!r}")
            elif kind == "kolom" and name not in KOLOMMEN:
                raise ValueError(f"figure {f.name}: unknown column {name!r}")


def quantity(expr: str, lines: Mapping[str, Any], values: Mapping[str, Any]):
    """A figure's quantity expression on evaluated lines (floats, numpy or PyTensor), in euros; ``/jaar`` divides
    by ``values["looptijd_jaren"]``."""
    per_jaar = expr.endswith("/jaar")
    expr = expr.removesuffix("/jaar")
    total = None
    for term in expr.split("+"):
        kind, name = _TERM.match(term).groups()
        if kind == "deelopgave":
            part = None
            for line in by_name(name).lines:
                if not line.hulp:
                    part = lines[line.naam] if part is None else part + lines[line.naam]
        elif kind == "lijn":
            part = lines[name]
        else:
            part = column_totals(lines)[name]
        total = part if total is None else total + part
    if per_jaar:
        total = total / values["looptijd_jaren"]
    return total
