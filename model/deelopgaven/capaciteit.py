"""Investeringsopgave vastgoed voor voldoende capaciteit voorzieningen (Table 1.2, Table 3.1, §3.5).

Demand is normative floor space per household, all exchangeable functions together (§3.5: shortages and
surpluses can be exchanged between functions, e.g. kinderdagverblijf and basisschool):

    vraag  = tussen(normatief_vastgoed_q1, normatief_vastgoed_mediaan, normniveau)
             × (1 + vraagjaar × huishoudensgroei_2035)                                   [m² per household]

Supply per household differs between municipalities: lognormal around ``aanbod_mediaan_m2_per_huishouden``
with log-spread ``aanbod_spreiding_tussen_gemeenten``, plus the floor space that the bereikbaarheid opgave
adds (``bereikbaarheid_toevoeging_m2_per_huishouden``). A municipality builds only where it falls short:

    tekort = E_z[ max(vraag - toevoeging - aanbod_mediaan × exp(spreiding × z), 0) ]   (z ~ N(0, 1))
    kosten = huishoudens_npvr × tekort × stichtingskosten_gemiddeld
    publiek = kosten × aandeel_publiek_capaciteit;  privaat = the rest

The expectation has a closed form (the lognormal partial expectation; :func:`tekort_verwacht`): with
r = vraag - toevoeging and d = ln(r / aanbod_mediaan) / spreiding,

    tekort = r × Phi(d) - aanbod_mediaan × exp(spreiding² / 2) × Phi(d - spreiding)     (r > 0; else 0)

exact, smooth in every input (NUTS in the calibration) and the same in numpy, numba and PyTensor
(:func:`model.deelopgaven.kernels.normaal_cdf`). Until issue #16 the model took a 41-point midpoint quadrature in z,
which is biased low (0.93% at "laag", 0.23% at "hoog"); the four norm and supply entries were derived again for the
exact form (``priors/capaciteit.yaml``; ``docs/deviations.md``). Report mode: low = (normniveau 0, vraagjaar 0:
today's shortfall at the Q1 norm), high = (1, 1: the 2035 shortfall at the median norm), as footnote * of
Table 1.2 says.
Column: publieke & private investeringsopgave.
Priors: ``priors/capaciteit.yaml`` (+ the shared normniveau, stichtingskosten). Tests: ``tests/analysis/test_report.py``.
"""

import numpy as np

from model.deelopgaven import arguments
from model.deelopgaven.kernels import helper, kernel, normaal_cdf, positief, tussen
from model.deelopgaven.records import Deelopgave, Line

#: Added to the positive part of r before its logarithm, so that r <= 0 gives d -> -inf and a shortfall of exactly 0
#: (Phi underflows) without a branch; below any floor space that matters (m² per household ~ 1).
_TINY = 1e-300


@helper
def tekort_verwacht(vraag, aanbod_mediaan, spreiding, toevoeging):
    """E[max(vraag - toevoeging - aanbod_mediaan * exp(spreiding * z), 0)] for z ~ N(0, 1), in closed form."""
    rest = vraag - toevoeging
    d = np.log((positief(rest) + _TINY) / aanbod_mediaan) / spreiding
    return (positief(rest) * normaal_cdf(d)
            - aanbod_mediaan * np.exp(0.5 * spreiding * spreiding) * normaal_cdf(d - spreiding))


@kernel(inline=True)  # inlined into a loop of its own over the draws (own_loop)
def capaciteit(huishoudens_npvr, normniveau, vraagjaar, huishoudensgroei_2035,
               normatief_vastgoed_q1_m2_per_huishouden, normatief_vastgoed_mediaan_m2_per_huishouden,
               aanbod_mediaan_m2_per_huishouden, aanbod_spreiding_tussen_gemeenten,
               bereikbaarheid_toevoeging_m2_per_huishouden, stichtingskosten_gemiddeld,
               aandeel_publiek_capaciteit):
    vraag = (tussen(normatief_vastgoed_q1_m2_per_huishouden, normatief_vastgoed_mediaan_m2_per_huishouden, normniveau)
             * (1.0 + vraagjaar * huishoudensgroei_2035))
    tekort = tekort_verwacht(vraag, aanbod_mediaan_m2_per_huishouden, aanbod_spreiding_tussen_gemeenten,
                             bereikbaarheid_toevoeging_m2_per_huishouden)
    kosten = huishoudens_npvr * tekort * stichtingskosten_gemiddeld
    return kosten * aandeel_publiek_capaciteit, kosten * (1.0 - aandeel_publiek_capaciteit)


DEELOPGAVE = Deelopgave(
    naam="capaciteit", titel="Investeringsopgave vastgoed voor voldoende capaciteit voorzieningen",
    doel="voorzieningen", kolom="investeringsopgave", inputs=arguments(capaciteit), kernel=capaciteit,
    band=True, own_loop=True,
    lines=(
        Line("capaciteit_publiek", betaler="publiek", kostensoort="investering",
             long_name="Capaciteit voorzieningen: publiek deel"),
        Line("capaciteit_privaat", betaler="privaat", kostensoort="investering",
             long_name="Capaciteit voorzieningen: privaat deel"),
    ),
)
