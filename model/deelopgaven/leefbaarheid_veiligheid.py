"""Leefbaarheid / openbare ruimte en veiligheid (Table 1.2, Table 2.1).

    inwoners_kwetsbaar = inwoners_npvr × aandeel_inwoners_kwetsbare_gebieden
    openbare_ruimte    = inwoners_kwetsbaar × kental_openbare_ruimte_per_inwoner_per_jaar × looptijd_jaren
    veiligheid         = inwoners_kwetsbaar × kental_veiligheid_per_inwoner_per_jaar × looptijd_jaren

NPLV (Rebel 2024) kentallen; on top of regular municipal effort. Column: publieke (rest)opgave.
Priors: ``priors/leefbaarheid_veiligheid.yaml``. Tests: ``tests/analysis/test_report.py``.
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import kernel
from model.deelopgaven.records import Deelopgave, Line


@kernel
def leefbaarheid_veiligheid(inwoners_npvr, aandeel_inwoners_kwetsbare_gebieden,
                            kental_openbare_ruimte_per_inwoner_per_jaar, kental_veiligheid_per_inwoner_per_jaar,
                            looptijd_jaren):
    inwoner_jaren = inwoners_npvr * aandeel_inwoners_kwetsbare_gebieden * looptijd_jaren
    return (inwoner_jaren * kental_openbare_ruimte_per_inwoner_per_jaar,
            inwoner_jaren * kental_veiligheid_per_inwoner_per_jaar)


DEELOPGAVE = Deelopgave(
    naam="leefbaarheid_veiligheid", titel="Opgave leefbaarheid en veiligheid", doel="veilig_leefbaar",
    kolom="publieke_restopgave", inputs=arguments(leefbaarheid_veiligheid), kernel=leefbaarheid_veiligheid,
    lines=(
        Line("leefbaarheid_openbare_ruimte", betaler="publiek", kostensoort="programmakosten",
             long_name="Leefbaarheid: investeringen in de openbare ruimte"),
        Line("veiligheid", betaler="publiek", kostensoort="programmakosten", long_name="Veiligheid"),
    ),
)
