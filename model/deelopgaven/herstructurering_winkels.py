"""Herstructurering winkelgebieden (Table 1.2, Table 2.1).

    opgave = leegstand_winkels_m2_langdurig × aandeel_leegstand_aangepakt × publieke_kosten_per_m2_winkel

Retail floor space vacant for over a year (CBS Landelijke Monitor Leegstand 2025) priced with Impulsaanpak
Winkelgebieden kentallen. Column: publieke (rest)opgave.
Priors: ``priors/herstructurering_winkels.yaml``. Tests: ``tests/analysis/test_report.py``.
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import kernel
from model.deelopgaven.records import Deelopgave, Line


@kernel
def herstructurering_winkels(leegstand_winkels_m2_langdurig, aandeel_leegstand_aangepakt,
                             publieke_kosten_per_m2_winkel):
    return (leegstand_winkels_m2_langdurig * aandeel_leegstand_aangepakt * publieke_kosten_per_m2_winkel,)


DEELOPGAVE = Deelopgave(
    naam="herstructurering_winkels", titel="Herstructurering winkelgebieden", doel="veilig_leefbaar",
    kolom="publieke_restopgave", inputs=arguments(herstructurering_winkels), kernel=herstructurering_winkels,
    lines=(Line("herstructurering_winkels", betaler="publiek", kostensoort="onrendabele_top",
                long_name="Herstructurering winkelgebieden"),),
)
