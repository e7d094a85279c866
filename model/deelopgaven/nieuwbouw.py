"""Nieuwbouwopgave: publieke restopgave of new-build in the NPVR municipalities (Table 1.2, Table 2.1).

    restopgave = nieuwbouw_woningen_npvr
                 × (restopgave_toerekenbaar_per_woning + restopgave_niet_toerekenbaar_per_woning)

The toerekenbare and niet-toerekenbare publieke onrendabele top (PORT) still to be funded, per Rebel (2024),
OV schaalsprongen excluded. Column: publieke (rest)opgave.
Priors: ``priors/nieuwbouw.yaml``. Tests: ``tests/analysis/test_report.py``.
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import kernel
from model.deelopgaven.records import Deelopgave, Line


@kernel
def nieuwbouw(nieuwbouw_woningen_npvr, restopgave_toerekenbaar_per_woning, restopgave_niet_toerekenbaar_per_woning):
    return (nieuwbouw_woningen_npvr * (restopgave_toerekenbaar_per_woning + restopgave_niet_toerekenbaar_per_woning),)


DEELOPGAVE = Deelopgave(
    naam="nieuwbouw", titel="Nieuwbouwopgave (restopgave toerekenbare en niet-toerekenbare PORT)",
    doel="veilig_leefbaar", kolom="publieke_restopgave", inputs=arguments(nieuwbouw), kernel=nieuwbouw,
    lines=(Line("nieuwbouw", betaler="publiek", kostensoort="onrendabele_top",
                long_name="Nieuwbouw: restopgave toerekenbare en niet-toerekenbare PORT"),),
)
