"""Een gezonde en kansrijke toekomst (Table 1.2, §4.1, §4.2).

Regions whose municipalities score in the worst 10% of NL on several indicators per theme get measures:

    inwoners_effectief = (inwoners_regio_meerdere_2024
                          + intensiteit_regio_niet_genoemd × inwoners_regio_niet_genoemd_2024)
                         × bevolkingsgroei_2024_2025
    thema_t            = inwoners_effectief × kental_t_per_inwoner_per_jaar × looptijd_jaren
                         × (1 - correctie_dubbeltelling_spoor2)

for the seven themes (lokale economie, werk & inkomen, onderwijs, gezondheid & zorg, opvoeding,
hulpverlening, participatie). Two auxiliary lines split the total over the two region classes (by effective
inhabitants), which the regional allocation divides over the gemeenten of each class (priors/verdeling/verdeelsleutels.yaml). Regions with no bad indicator (§4.2: Achterhoek, Noard-Fryslân,
Zuidoost-Friesland, Noord-Limburg, Twente) get none. Column: publieke (rest)opgave.
Priors: ``priors/gezonde_toekomst.yaml``; region classes: ``data/npvr_regio_indicatoren.csv``.
Tests: ``tests/analysis/test_report.py``.
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import kernel
from model.deelopgaven.records import Deelopgave, Line

THEMAS = ("werk_inkomen", "onderwijs", "hulpverlening", "gezondheid_zorg", "opvoeding", "participatie",
          "lokale_economie")


@kernel
def gezonde_toekomst(inwoners_regio_meerdere_2024, inwoners_regio_niet_genoemd_2024, bevolkingsgroei_2024_2025,
                     intensiteit_regio_niet_genoemd, correctie_dubbeltelling_spoor2, looptijd_jaren,
                     kental_werk_inkomen_per_inwoner_per_jaar, kental_onderwijs_per_inwoner_per_jaar,
                     kental_hulpverlening_per_inwoner_per_jaar, kental_gezondheid_zorg_per_inwoner_per_jaar,
                     kental_opvoeding_per_inwoner_per_jaar, kental_participatie_per_inwoner_per_jaar,
                     kental_lokale_economie_per_inwoner_per_jaar):
    inwoners_effectief = inwoners_regio_meerdere_2024 + intensiteit_regio_niet_genoemd * inwoners_regio_niet_genoemd_2024
    inwoner_jaren = inwoners_effectief * bevolkingsgroei_2024_2025 * looptijd_jaren * (1.0 - correctie_dubbeltelling_spoor2)
    totaal = inwoner_jaren * (kental_werk_inkomen_per_inwoner_per_jaar + kental_onderwijs_per_inwoner_per_jaar
                              + kental_hulpverlening_per_inwoner_per_jaar + kental_gezondheid_zorg_per_inwoner_per_jaar
                              + kental_opvoeding_per_inwoner_per_jaar + kental_participatie_per_inwoner_per_jaar
                              + kental_lokale_economie_per_inwoner_per_jaar)
    aandeel_meerdere = inwoners_regio_meerdere_2024 / inwoners_effectief
    return (inwoner_jaren * kental_werk_inkomen_per_inwoner_per_jaar,
            inwoner_jaren * kental_onderwijs_per_inwoner_per_jaar,
            inwoner_jaren * kental_hulpverlening_per_inwoner_per_jaar,
            inwoner_jaren * kental_gezondheid_zorg_per_inwoner_per_jaar,
            inwoner_jaren * kental_opvoeding_per_inwoner_per_jaar,
            inwoner_jaren * kental_participatie_per_inwoner_per_jaar,
            inwoner_jaren * kental_lokale_economie_per_inwoner_per_jaar,
            totaal * aandeel_meerdere,
            totaal * (1.0 - aandeel_meerdere))


DEELOPGAVE = Deelopgave(
    naam="gezonde_toekomst", titel="Gezonde en kansrijke toekomst", doel="gezonde_toekomst",
    kolom="publieke_restopgave", inputs=arguments(gezonde_toekomst), kernel=gezonde_toekomst,
    lines=tuple(Line(f"gezonde_toekomst_{t}", betaler="publiek", kostensoort="programmakosten",
                     long_name=f"Gezonde en kansrijke toekomst: thema {t.replace('_', ' ')}") for t in THEMAS) + (
        Line("gezonde_toekomst_regio_meerdere", hulp=True, deel=True,
             long_name="Gezonde toekomst: deel in regio's met meerdere slechte indicatoren (regionale verdeling)"),
        Line("gezonde_toekomst_regio_niet_genoemd", hulp=True, deel=True,
             long_name="Gezonde toekomst: deel in regio's die §4.2 niet noemt (regionale verdeling)"),
    ),
)
