"""Opgave verbetering publiek OV (infra en datakosten) (Table 1.2, §3.4).

    opgave = aantal_npvr_provincies × eenmalige_ov_kosten_per_provincie

One-off investments in a new form of public transport, set with IenW on the basis of a Zeeland pilot.
Column: publieke (rest)opgave (the column total 3.6 needs it: 0.7 + 0.4 + 1.1 + 1.3 = 3.5).
Priors: ``priors/ov_eenmalig.yaml``. Tests: ``tests/analysis/test_report.py``.
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import kernel
from model.deelopgaven.records import Deelopgave, Line


@kernel
def ov_eenmalig(aantal_npvr_provincies, eenmalige_ov_kosten_per_provincie):
    return (aantal_npvr_provincies * eenmalige_ov_kosten_per_provincie,)


DEELOPGAVE = Deelopgave(
    naam="ov_eenmalig", titel="Opgave verbetering publiek OV (infra en datakosten)", doel="voorzieningen",
    kolom="publieke_restopgave", inputs=arguments(ov_eenmalig), kernel=ov_eenmalig,
    lines=(Line("ov_eenmalig", betaler="publiek", kostensoort="investering",
                long_name="Verbetering publiek OV: eenmalige infra- en datakosten"),),
)
