"""PM: grondkosten of the new facilities (§3.2, §3.4: 'de grondwaarde is nog niet meegenomen').

    opgave = (bereikbaarheid + capaciteit) × grondkosten_aandeel_stichtingskosten

Reported on its own line in the investeringsopgave column; never added to the report's totals.
Priors: ``priors/grondkosten.yaml``. Tests: ``tests/analysis/test_report.py``.
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import kernel
from model.deelopgaven.records import Deelopgave, Line


@kernel
def grondkosten(bereikbaarheid_commercieel, bereikbaarheid_publiek, bereikbaarheid_ontmoeting,
                capaciteit_publiek, capaciteit_privaat, grondkosten_aandeel_stichtingskosten):
    investering = (bereikbaarheid_commercieel + bereikbaarheid_publiek + bereikbaarheid_ontmoeting
                   + capaciteit_publiek + capaciteit_privaat)
    return (investering * grondkosten_aandeel_stichtingskosten,)


DEELOPGAVE = Deelopgave(
    naam="grondkosten", titel="Grondkosten nieuwe voorzieningen (PM)", doel="voorzieningen",
    kolom="investeringsopgave", inputs=arguments(grondkosten), kernel=grondkosten, pm=True, band=True,
    lines=(Line("grondkosten", betaler="publiek", kostensoort="investering",
                long_name="PM: grondkosten nieuwe voorzieningen"),),
)
