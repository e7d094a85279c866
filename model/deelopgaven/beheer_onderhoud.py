"""PM: beheer en onderhoud of the new facilities (§3.2: 'ca. 10% van de stichtingskosten per jaar').

    investering = bereikbaarheid (all lines) + capaciteit (all lines)
    opgave      = investering × beheer_onderhoud_aandeel_per_jaar × exploitatiejaren_in_periode

Reported on its own line in the exploitatielasten column; never added to the report's totals.
Priors: ``priors/beheer_onderhoud.yaml``. Tests: ``tests/analysis/test_report.py``.
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import kernel
from model.deelopgaven.records import Deelopgave, Line


@kernel
def beheer_onderhoud(bereikbaarheid_commercieel, bereikbaarheid_publiek, bereikbaarheid_ontmoeting,
                     capaciteit_publiek, capaciteit_privaat, beheer_onderhoud_aandeel_per_jaar,
                     exploitatiejaren_in_periode):
    investering = (bereikbaarheid_commercieel + bereikbaarheid_publiek + bereikbaarheid_ontmoeting
                   + capaciteit_publiek + capaciteit_privaat)
    return (investering * beheer_onderhoud_aandeel_per_jaar * exploitatiejaren_in_periode,)


DEELOPGAVE = Deelopgave(
    naam="beheer_onderhoud", titel="Beheer en onderhoud nieuwe voorzieningen (PM)", doel="voorzieningen",
    kolom="exploitatielasten", inputs=arguments(beheer_onderhoud), kernel=beheer_onderhoud, pm=True, band=True,
    lines=(Line("beheer_onderhoud", betaler="publiek", kostensoort="exploitatie",
                long_name="PM: beheer en onderhoud nieuwe voorzieningen"),),
)
