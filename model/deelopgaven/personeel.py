"""PM: gespecialiseerd personeel for the new facilities (§1.4, §3.2 name it; not quantified in the report).

    m2_nieuw = (bereikbaarheid + capaciteit) / stichtingskosten_gemiddeld
    opgave   = m2_nieuw / 1000 × fte_per_1000_m2_voorziening × loonkosten_per_fte_per_jaar
               × exploitatiejaren_in_periode

Reported on its own line in the exploitatielasten column; never added to the report's totals.
Priors: ``priors/personeel.yaml``. Tests: ``tests/analysis/test_report.py``.
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import kernel
from model.deelopgaven.records import Deelopgave, Line


@kernel
def personeel(bereikbaarheid_commercieel, bereikbaarheid_publiek, bereikbaarheid_ontmoeting,
              capaciteit_publiek, capaciteit_privaat, stichtingskosten_gemiddeld, fte_per_1000_m2_voorziening,
              loonkosten_per_fte_per_jaar, exploitatiejaren_in_periode):
    investering = (bereikbaarheid_commercieel + bereikbaarheid_publiek + bereikbaarheid_ontmoeting
                   + capaciteit_publiek + capaciteit_privaat)
    m2_nieuw = investering / stichtingskosten_gemiddeld
    return (m2_nieuw / 1000.0 * fte_per_1000_m2_voorziening * loonkosten_per_fte_per_jaar
            * exploitatiejaren_in_periode,)


DEELOPGAVE = Deelopgave(
    naam="personeel", titel="Gespecialiseerd personeel nieuwe voorzieningen (PM)", doel="voorzieningen",
    kolom="exploitatielasten", inputs=arguments(personeel), kernel=personeel, pm=True, band=True,
    lines=(Line("personeel", betaler="publiek", kostensoort="exploitatie",
                long_name="PM: gespecialiseerd personeel nieuwe voorzieningen"),),
)
