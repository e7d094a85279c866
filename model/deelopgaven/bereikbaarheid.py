"""Investeringsopgave vastgoed voor bereikbaarheid voorzieningen (Table 1.2, Table 3.1, §3.4).

For each kernvoorziening f of Bijlage 1 and 2:

    norm_f   = norm_q1_f + normniveau × (norm_mediaan_f - norm_q1_f)          [m² BVO per household]
    kosten_f = huishoudens_npvr × (1 - bereik_f) × norm_f × stichtingskosten_f

``bereik_f`` is the share of households that reach f within its streefwaarde (Table A2), so
``huishoudens × (1 - bereik_f)`` are the households beyond the travel norm, for whom new floor space is built.
Report mode evaluates the band at ``normniveau`` = 0 (first quartile of NL municipalities) and 1 (median).
Lines, grouped as the §3.4 footnotes do:

- commercieel (private): apotheek, ziekenhuis/buitenpoli, BSO, huisarts, MBO, HBO/WO, kinderdagopvang, supermarkt
- publiek-maatschappelijk (public): basisschool, middelbare school, sport
- ontmoeting (public: buurthuizen, §1.4)

Column: publieke & private investeringsopgave.
Priors: ``priors/bereikbaarheid.yaml``, ``priors/voorzieningen_normen.yaml``, ``priors/stichtingskosten.yaml``.
Tests: ``tests/analysis/test_report.py``.
"""

from model.deelopgaven import arguments
from model.deelopgaven.kernels import helper, kernel, tussen
from model.deelopgaven.records import Deelopgave, Line


@helper
def _kosten(huishoudens, normniveau, bereik, norm_q1, norm_mediaan, stichtingskosten):
    return huishoudens * (1.0 - bereik) * tussen(norm_q1, norm_mediaan, normniveau) * stichtingskosten


@kernel
def bereikbaarheid(
        huishoudens_npvr, normniveau,
        bereik_apotheek, norm_q1_apotheek, norm_mediaan_apotheek, stichtingskosten_apotheek,
        bereik_ziekenhuis_buitenpoli, norm_q1_ziekenhuis_buitenpoli, norm_mediaan_ziekenhuis_buitenpoli, stichtingskosten_ziekenhuis_buitenpoli,
        bereik_bso, norm_q1_bso, norm_mediaan_bso, stichtingskosten_bso,
        bereik_huisarts, norm_q1_huisarts, norm_mediaan_huisarts, stichtingskosten_huisarts,
        bereik_mbo, norm_q1_mbo, norm_mediaan_mbo, stichtingskosten_mbo,
        bereik_hbo_wo, norm_q1_hbo_wo, norm_mediaan_hbo_wo, stichtingskosten_hbo_wo,
        bereik_kinderdagopvang, norm_q1_kinderdagopvang, norm_mediaan_kinderdagopvang, stichtingskosten_kinderdagopvang,
        bereik_supermarkt, norm_q1_supermarkt, norm_mediaan_supermarkt, stichtingskosten_supermarkt,
        bereik_basisschool, norm_q1_basisschool, norm_mediaan_basisschool, stichtingskosten_basisschool,
        bereik_middelbare_school, norm_q1_middelbare_school, norm_mediaan_middelbare_school, stichtingskosten_middelbare_school,
        bereik_sport, norm_q1_sport, norm_mediaan_sport, stichtingskosten_sport,
        bereik_ontmoetingsfunctie, norm_q1_ontmoetingsfunctie, norm_mediaan_ontmoetingsfunctie, stichtingskosten_ontmoetingsfunctie):
    commercieel = (
        _kosten(huishoudens_npvr, normniveau, bereik_apotheek, norm_q1_apotheek, norm_mediaan_apotheek, stichtingskosten_apotheek)
        + _kosten(huishoudens_npvr, normniveau, bereik_ziekenhuis_buitenpoli, norm_q1_ziekenhuis_buitenpoli, norm_mediaan_ziekenhuis_buitenpoli, stichtingskosten_ziekenhuis_buitenpoli)
        + _kosten(huishoudens_npvr, normniveau, bereik_bso, norm_q1_bso, norm_mediaan_bso, stichtingskosten_bso)
        + _kosten(huishoudens_npvr, normniveau, bereik_huisarts, norm_q1_huisarts, norm_mediaan_huisarts, stichtingskosten_huisarts)
        + _kosten(huishoudens_npvr, normniveau, bereik_mbo, norm_q1_mbo, norm_mediaan_mbo, stichtingskosten_mbo)
        + _kosten(huishoudens_npvr, normniveau, bereik_hbo_wo, norm_q1_hbo_wo, norm_mediaan_hbo_wo, stichtingskosten_hbo_wo)
        + _kosten(huishoudens_npvr, normniveau, bereik_kinderdagopvang, norm_q1_kinderdagopvang, norm_mediaan_kinderdagopvang, stichtingskosten_kinderdagopvang)
        + _kosten(huishoudens_npvr, normniveau, bereik_supermarkt, norm_q1_supermarkt, norm_mediaan_supermarkt, stichtingskosten_supermarkt))
    publiek = (
        _kosten(huishoudens_npvr, normniveau, bereik_basisschool, norm_q1_basisschool, norm_mediaan_basisschool, stichtingskosten_basisschool)
        + _kosten(huishoudens_npvr, normniveau, bereik_middelbare_school, norm_q1_middelbare_school, norm_mediaan_middelbare_school, stichtingskosten_middelbare_school)
        + _kosten(huishoudens_npvr, normniveau, bereik_sport, norm_q1_sport, norm_mediaan_sport, stichtingskosten_sport))
    ontmoeting = (
        _kosten(huishoudens_npvr, normniveau, bereik_ontmoetingsfunctie, norm_q1_ontmoetingsfunctie, norm_mediaan_ontmoetingsfunctie, stichtingskosten_ontmoetingsfunctie))
    # floor space added per average household, and the plain mean of the stichtingskosten (used by capaciteit
    # and the PM lines)
    toevoeging = (
        (1.0 - bereik_apotheek) * tussen(norm_q1_apotheek, norm_mediaan_apotheek, normniveau)
        + (1.0 - bereik_ziekenhuis_buitenpoli) * tussen(norm_q1_ziekenhuis_buitenpoli, norm_mediaan_ziekenhuis_buitenpoli, normniveau)
        + (1.0 - bereik_bso) * tussen(norm_q1_bso, norm_mediaan_bso, normniveau)
        + (1.0 - bereik_huisarts) * tussen(norm_q1_huisarts, norm_mediaan_huisarts, normniveau)
        + (1.0 - bereik_mbo) * tussen(norm_q1_mbo, norm_mediaan_mbo, normniveau)
        + (1.0 - bereik_hbo_wo) * tussen(norm_q1_hbo_wo, norm_mediaan_hbo_wo, normniveau)
        + (1.0 - bereik_kinderdagopvang) * tussen(norm_q1_kinderdagopvang, norm_mediaan_kinderdagopvang, normniveau)
        + (1.0 - bereik_supermarkt) * tussen(norm_q1_supermarkt, norm_mediaan_supermarkt, normniveau)
        + (1.0 - bereik_basisschool) * tussen(norm_q1_basisschool, norm_mediaan_basisschool, normniveau)
        + (1.0 - bereik_middelbare_school) * tussen(norm_q1_middelbare_school, norm_mediaan_middelbare_school, normniveau)
        + (1.0 - bereik_sport) * tussen(norm_q1_sport, norm_mediaan_sport, normniveau)
        + (1.0 - bereik_ontmoetingsfunctie) * tussen(norm_q1_ontmoetingsfunctie, norm_mediaan_ontmoetingsfunctie, normniveau))
    stichtingskosten_gemiddeld = (
        stichtingskosten_apotheek
        + stichtingskosten_ziekenhuis_buitenpoli
        + stichtingskosten_bso
        + stichtingskosten_huisarts
        + stichtingskosten_mbo
        + stichtingskosten_hbo_wo
        + stichtingskosten_kinderdagopvang
        + stichtingskosten_supermarkt
        + stichtingskosten_basisschool
        + stichtingskosten_middelbare_school
        + stichtingskosten_sport
        + stichtingskosten_ontmoetingsfunctie) / 12.0
    return commercieel, publiek, ontmoeting, toevoeging, stichtingskosten_gemiddeld


DEELOPGAVE = Deelopgave(
    naam="bereikbaarheid", titel="Investeringsopgave vastgoed voor bereikbaarheid voorzieningen",
    doel="voorzieningen", kolom="investeringsopgave", inputs=arguments(bereikbaarheid), kernel=bereikbaarheid,
    band=True,
    lines=(
        Line("bereikbaarheid_commercieel", betaler="privaat", kostensoort="investering",
             long_name="Bereikbaarheid voorzieningen: commercieel te exploiteren functies"),
        Line("bereikbaarheid_publiek", betaler="publiek", kostensoort="investering",
             long_name="Bereikbaarheid voorzieningen: publiek-maatschappelijke functies"),
        Line("bereikbaarheid_ontmoeting", betaler="publiek", kostensoort="investering",
             long_name="Bereikbaarheid voorzieningen: ontmoetingsfuncties"),
        Line("bereikbaarheid_toevoeging_m2_per_huishouden", eenheid="m2/huishouden", hulp=True,
             long_name="Floor space added for bereikbaarheid, per NPVR household"),
        Line("stichtingskosten_gemiddeld", eenheid="EUR/m2", hulp=True,
             long_name="Mean stichtingskosten per m2 BVO over the kernvoorzieningen"),
    ),
)
