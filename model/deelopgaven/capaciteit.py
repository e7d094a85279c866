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
numba, numpy and PyTensor): :func:`tekort_kwadratuur`. Compiled, it uses the symmetry of the nodes
(z_(40-k) = -z_k, z_20 = 0): 20 exponentials and their reciprocals instead of 41 exponentials, the same sum
to a few ulp; numpy and PyTensor evaluate the loop as written. The compiled sum is straight-line code with the
vectorisable ``exp_scalar``; the kernel is always inlined (``@kernel(inline=True)``) and the model evaluates it
in a loop over the draws of its own (``own_loop``), which LLVM vectorises: the model step takes about half
the time it took with the C library's exp draw by draw (``bench/stages.py``). Report mode: low = (normniveau 0,
vraagjaar 0: today's shortfall at the Q1 norm), high = (1, 1: the 2035 shortfall at the median norm), as
footnote * of Table 1.2 says.
Column: publieke & private investeringsopgave.
Priors: ``priors/capaciteit.yaml`` (+ the shared normniveau, stichtingskosten). Tests: ``tests/analysis/test_report.py``.
"""

from statistics import NormalDist

import numpy as np

from model.deelopgaven import arguments
from model.deelopgaven.kernels import compiled_form, kernel, positief, tussen
from model.deelopgaven.records import Deelopgave, Line

N_KWADRATUUR = 41
KWADRATUUR_Z = np.array([NormalDist().inv_cdf((k + 0.5) / N_KWADRATUUR) for k in range(N_KWADRATUUR)])
_HALF = N_KWADRATUUR // 2
_Z_POS = -KWADRATUUR_Z[:_HALF]  # the positive nodes, z_(40-k) = -z_k up to rounding


def tekort_kwadratuur(vraag, aanbod_mediaan, spreiding, toevoeging):
    """Sum over the 41 nodes of max(vraag - aanbod_mediaan * exp(spreiding * z_k) - toevoeging, 0)."""
    tekort = 0.0 * vraag
    for k in range(N_KWADRATUUR):
        aanbod = aanbod_mediaan * np.exp(spreiding * KWADRATUUR_Z[k]) + toevoeging
        tekort = tekort + positief(vraag - aanbod)
    return tekort


def _written_out() -> str:
    """Source of the compiled sum: node pairs (-z, +z) share one exponential, written out pair by pair
    (straight-line code: a loop over the draws around it vectorises)."""
    body = ["def symmetric(vraag, aanbod_mediaan, spreiding, toevoeging):",
            "    rest = vraag - toevoeging",
            "    tekort = positief(rest - aanbod_mediaan)  # z_20 = 0"]
    for k in range(_HALF):
        body += [f"    e = exp_scalar(spreiding * _Z_POS[{k}])",
                 "    tekort = tekort + positief(rest - aanbod_mediaan / e) + positief(rest - aanbod_mediaan * e)"]
    return "\n".join(body + ["    return tekort"])


@compiled_form(tekort_kwadratuur)
def _tekort_kwadratuur_compiled(numerics):
    """The compiled sum for scalars: :func:`_written_out`, with the vectorisable ``numerics.exp_scalar`` (within
    2 ulp of exp), always inlined into the kernel. Generated source, so not cached on its own: the generated
    model that it is compiled into is."""
    namespace = {"positief": positief, "exp_scalar": numerics.exp_scalar, "_Z_POS": _Z_POS}
    exec(_written_out(), namespace)
    return namespace["symmetric"]


@kernel(inline=True)  # straight-line code, vectorised in a loop of its own: see the module docstring
def capaciteit(huishoudens_npvr, normniveau, vraagjaar, huishoudensgroei_2035,
               normatief_vastgoed_q1_m2_per_huishouden, normatief_vastgoed_mediaan_m2_per_huishouden,
               aanbod_mediaan_m2_per_huishouden, aanbod_spreiding_tussen_gemeenten,
               bereikbaarheid_toevoeging_m2_per_huishouden, stichtingskosten_gemiddeld,
               aandeel_publiek_capaciteit):
    vraag = (tussen(normatief_vastgoed_q1_m2_per_huishouden, normatief_vastgoed_mediaan_m2_per_huishouden, normniveau)
             * (1.0 + vraagjaar * huishoudensgroei_2035))
    tekort = tekort_kwadratuur(vraag, aanbod_mediaan_m2_per_huishouden, aanbod_spreiding_tussen_gemeenten,
                               bereikbaarheid_toevoeging_m2_per_huishouden)
    kosten = huishoudens_npvr * (tekort / N_KWADRATUUR) * stichtingskosten_gemiddeld
    return kosten * aandeel_publiek_capaciteit, kosten * (1.0 - aandeel_publiek_capaciteit)


DEELOPGAVE = Deelopgave(
    naam="capaciteit", titel="Investeringsopgave vastgoed voor voldoende capaciteit voorzieningen",
    doel="voorzieningen", kolom="investeringsopgave", inputs=arguments(capaciteit), kernel=capaciteit,
    band=True, verdeelsleutel="inwoners", own_loop=True,
    lines=(
        Line("capaciteit_publiek", betaler="publiek", kostensoort="investering",
             long_name="Capaciteit voorzieningen: publiek deel"),
        Line("capaciteit_privaat", betaler="privaat", kostensoort="investering",
             long_name="Capaciteit voorzieningen: privaat deel"),
    ),
)
