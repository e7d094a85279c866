"""Grondslag: the basis quantities of the NPVR area (Table 1.1).

    inwoners_npvr   = inwoners_2024 (CBS KWB, sum over the member gemeenten) × bevolkingsgroei_2024_2025
    woningen_npvr   = woningen_2024 (CBS KWB)
    huishoudens_npvr = huishoudens_2025 (CBS KWB 2025, 1 Jan 2025: the report's demand 'now')

Priors: ``priors/grondslag.yaml``. Tests: ``tests/analysis/test_report.py`` (Table 1.1).
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import kernel
from model.deelopgaven.records import Deelopgave, Line


@kernel
def grondslag(inwoners_2024, woningen_2024, huishoudens_2025, bevolkingsgroei_2024_2025):
    inwoners = inwoners_2024 * bevolkingsgroei_2024_2025
    woningen = woningen_2024 * 1.0
    huishoudens = huishoudens_2025 * 1.0
    return inwoners, woningen, huishoudens


DEELOPGAVE = Deelopgave(
    naam="grondslag", titel="Inwoners, woningen en huishoudens NPVR", doel="grondslag", kolom=None,
    inputs=arguments(grondslag), kernel=grondslag, 
    lines=(
        Line("inwoners_npvr", eenheid="inwoners", long_name="Inwoners NPVR (peildatum Tabel 1.1)"),
        Line("woningen_npvr", eenheid="woningen", long_name="Woningvoorraad NPVR (1 jan 2024)"),
        Line("huishoudens_npvr", eenheid="huishoudens", long_name="Huishoudens NPVR (1 jan 2025)"),
    ),
)
