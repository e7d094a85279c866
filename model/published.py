"""The report's printed figures: the observations of the calibration, and the figures shown beside the model's
intervals (overview table, plots).

These numbers are never model inputs: the kernels read only ``priors/`` and ``data/``. :data:`PUBLISHED` is
the one table of them in the code base; :data:`REPORT_FIGURES` only selects from it, per output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Figure", "PUBLISHED", "SHOWN", "REPORT_FIGURES"]


@dataclass(frozen=True)
class Figure:
    """One printed figure of the report.

    ``printed`` is the value as printed, in ``eenheid_eur`` euros (default: mld. €); ``decimals`` the number of
    printed decimals in that unit (the rounding is half a unit of the last digit). ``quantity`` is the model
    quantity it measures: terms joined by ``+``, each ``deelopgave:<naam>`` (its non-auxiliary lines),
    ``lijn:<line>`` or ``kolom:<Table 1.2 column>`` (non-PM lines), optionally followed by ``/jaar`` (divided by
    ``looptijd_jaren``). ``setting`` names an entry of :data:`SETTINGS`. ``where`` says where it is printed.
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

#: The report's printed figures (mld. €, 2025 t/m 2035). Sources: /work/shared/report/npvr-top-down-analyse.txt
#: (Tables 1.2, 2.1, 3.1, §1.4, §2.2, §3.2, §3.4, §4.1) and /work/shared/data/SOURCES.md §0 for the §3.4 split by
#: group and the §3.5 split now/2035 (figures of the report not in our text copy). Exploitatielasten: the column
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
    Figure("bereikbaarheid_commercieel_laag", 0.3, 1, "lijn:bereikbaarheid_commercieel", "laag", "§3.4 (SOURCES §0)"),
    Figure("bereikbaarheid_commercieel_hoog", 0.6, 1, "lijn:bereikbaarheid_commercieel", "hoog", "§3.4 (SOURCES §0)"),
    Figure("bereikbaarheid_publiek_laag", 0.2, 1, "lijn:bereikbaarheid_publiek", "laag", "§3.4 (SOURCES §0)"),
    Figure("bereikbaarheid_publiek_hoog", 0.4, 1, "lijn:bereikbaarheid_publiek", "hoog", "§3.4 (SOURCES §0)"),
    Figure("bereikbaarheid_ontmoeting_laag", 0.1, 1, "lijn:bereikbaarheid_ontmoeting", "laag", "§3.4 (SOURCES §0)"),
    Figure("bereikbaarheid_ontmoeting_hoog", 0.2, 1, "lijn:bereikbaarheid_ontmoeting", "hoog", "§3.4 (SOURCES §0)"),
    Figure("capaciteit_laag", 1.4, 1, "deelopgave:capaciteit", "laag",
           "Tabel 1.2 (footnote *: nu, Q1-norm); Tabel 3.1; §1.4; §3.2"),
    Figure("capaciteit_hoog", 6.4, 1, "deelopgave:capaciteit", "hoog",
           "Tabel 1.2 (footnote *: 2035, mediaan-norm); Tabel 3.1; §1.4; §3.2"),
    Figure("capaciteit_nu_mediaan", 5.5, 1, "deelopgave:capaciteit", "nu_mediaan", "§3.5 (SOURCES §0)"),
    Figure("capaciteit_2035_q1", 1.7, 1, "deelopgave:capaciteit", "2035_q1", "§3.5 (SOURCES §0)"),
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
    "capaciteit": ("capaciteit_laag", "capaciteit_hoog"),
    "ov_exploitatie": ("ov_exploitatie",),
    "ov_eenmalig": ("ov_eenmalig",),
    "gezonde_toekomst": ("gezonde_toekomst",),
    # Table 2.1 / goals
    "doel_veilig_leefbaar": ("tabel_2_1_totaal",),
}


def _shown() -> dict[str, tuple[float, float, int]]:
    by_name = {f.name: f for f in PUBLISHED}
    out = {}
    for output, names in SHOWN.items():
        figs = [by_name[n] for n in names]
        values = [float(round(f.printed * f.eenheid_eur)) for f in figs]  # whole euros, as printed
        out[output] = (values[0], values[-1], min(f.decimals for f in figs))
    return out


#: Per output: (low, high) in euros as printed (low == high for a point figure) and the number of printed
#: decimals in the figure's unit. Derived from :data:`PUBLISHED` through :data:`SHOWN`.
REPORT_FIGURES: dict[str, tuple[float, float, int]] = _shown()
