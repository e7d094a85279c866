"""Investeringsopgave vastgoed voor voldoende capaciteit voorzieningen (Table 1.2, Table 3.1, §3.5).

Demand is normative floor space per household, all exchangeable functions together (§3.5: shortages and
surpluses can be exchanged between functions, e.g. kinderdagverblijf and basisschool):

    vraag  = tussen(normatief_vastgoed_q1, normatief_vastgoed_mediaan, normniveau)
             × (1 + vraagjaar × huishoudensgroei_2035)                                   [m² per household]

Supply per household differs between municipalities: lognormal around ``aanbod_mediaan_m2_per_huishouden``
with log-spread ``aanbod_spreiding_tussen_gemeenten``, plus the floor space that the bereikbaarheid opgave
adds (``bereikbaarheid_toevoeging_m2_per_huishouden``). A municipality builds only where it falls short:

    tekort = E_z[ max(vraag - aanbod_mediaan × exp(spreiding × z) - toevoeging, 0) ]   (z ~ N(0, 1))
    kosten = huishoudens_npvr × tekort × stichtingskosten_gemiddeld
    publiek = kosten × aandeel_publiek_capaciteit;  privaat = the rest

The expectation is a fixed 41-point midpoint quadrature in z (part of the model's definition, identical in
numba, numpy and PyTensor). Report mode: low = (normniveau 0, vraagjaar 0: today's shortfall at the Q1 norm),
high = (1, 1: the 2035 shortfall at the median norm), as footnote * of Table 1.2 says.
Column: publieke & private investeringsopgave.
Priors: ``priors/capaciteit.yaml`` (+ the shared normniveau, stichtingskosten). Tests: ``tests/test_report.py``.
"""

import numpy as np
from scipy.stats import norm as _normal

from model.deelopgaven import arguments
from model.kernels import kernel, positief, tussen
from model.records import Deelopgave, Line

N_KWADRATUUR = 41
KWADRATUUR_Z = _normal.ppf((np.arange(N_KWADRATUUR) + 0.5) / N_KWADRATUUR)


@kernel
def capaciteit(huishoudens_npvr, normniveau, vraagjaar, huishoudensgroei_2035,
               normatief_vastgoed_q1_m2_per_huishouden, normatief_vastgoed_mediaan_m2_per_huishouden,
               aanbod_mediaan_m2_per_huishouden, aanbod_spreiding_tussen_gemeenten,
               bereikbaarheid_toevoeging_m2_per_huishouden, stichtingskosten_gemiddeld,
               aandeel_publiek_capaciteit):
    vraag = (tussen(normatief_vastgoed_q1_m2_per_huishouden, normatief_vastgoed_mediaan_m2_per_huishouden, normniveau)
             * (1.0 + vraagjaar * huishoudensgroei_2035))
    tekort = 0.0 * vraag
    for k in range(N_KWADRATUUR):
        aanbod = (aanbod_mediaan_m2_per_huishouden * np.exp(aanbod_spreiding_tussen_gemeenten * KWADRATUUR_Z[k])
                  + bereikbaarheid_toevoeging_m2_per_huishouden)
        tekort = tekort + positief(vraag - aanbod)
    kosten = huishoudens_npvr * (tekort / N_KWADRATUUR) * stichtingskosten_gemiddeld
    return kosten * aandeel_publiek_capaciteit, kosten * (1.0 - aandeel_publiek_capaciteit)


DEELOPGAVE = Deelopgave(
    naam="capaciteit", titel="Investeringsopgave vastgoed voor voldoende capaciteit voorzieningen",
    doel="voorzieningen", kolom="investeringsopgave", inputs=arguments(capaciteit), kernel=capaciteit,
    priors_file="capaciteit.yaml", band=True, verdeelsleutel="inwoners",
    lines=(
        Line("capaciteit_publiek", betaler="publiek", kostensoort="investering",
             long_name="Capaciteit voorzieningen: publiek deel"),
        Line("capaciteit_privaat", betaler="privaat", kostensoort="investering",
             long_name="Capaciteit voorzieningen: privaat deel"),
    ),
)
