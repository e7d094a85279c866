"""Herstructurering woningen: public and private restopgave for kwetsbare woningen (Table 1.2, Table 2.1).

    restopgave = woningen_npvr × aandeel_kwetsbare_woningen × restopgave_per_kwetsbare_woning
    publiek    = restopgave × aandeel_publiek_herstructurering
    privaat    = restopgave × (1 - aandeel_publiek_herstructurering)

Column: publieke & private investeringsopgave.
Priors: ``priors/herstructurering_woningen.yaml``. Tests: ``tests/analysis/test_report.py``.
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import kernel
from model.deelopgaven.records import Deelopgave, Line


@kernel
def herstructurering_woningen(woningen_npvr, aandeel_kwetsbare_woningen, restopgave_per_kwetsbare_woning,
                              aandeel_publiek_herstructurering):
    restopgave = woningen_npvr * aandeel_kwetsbare_woningen * restopgave_per_kwetsbare_woning
    return (restopgave * aandeel_publiek_herstructurering,
            restopgave * (1.0 - aandeel_publiek_herstructurering))


DEELOPGAVE = Deelopgave(
    naam="herstructurering_woningen", titel="Herstructurering woningen restopgave", doel="veilig_leefbaar",
    kolom="investeringsopgave", inputs=arguments(herstructurering_woningen), kernel=herstructurering_woningen,
    lines=(
        Line("herstructurering_woningen_publiek", betaler="publiek", kostensoort="onrendabele_top",
             long_name="Herstructurering woningen: publieke restopgave"),
        Line("herstructurering_woningen_privaat", betaler="privaat", kostensoort="onrendabele_top",
             long_name="Herstructurering woningen: private restopgave"),
    ),
)
