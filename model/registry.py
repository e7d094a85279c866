"""The explicit list of deelopgaven, their output lines and where each line sits in Table 1.2.

Nothing is discovered by magic: a deelopgave exists when its module is imported here and listed in
``DEELOPGAVEN``. The order is the evaluation order: a kernel may use the lines of an earlier deelopgave
(capaciteit uses nothing computed, but the PM lines use the investment lines of bereikbaarheid and capaciteit).
"""

from __future__ import annotations

from model.records import Deelopgave, Line  # noqa: F401  (re-exported)

# Table 1.2 columns
KOLOMMEN = {
    "publieke_restopgave": "Publieke (rest)opgave",
    "exploitatielasten": "Exploitatielasten",
    "investeringsopgave": "Publieke & private investeringsopgave",
}
DOELEN = {
    "grondslag": "Grondslag (hoeveelheden)",
    "veilig_leefbaar": "Veilige en leefbare regio's",
    "voorzieningen": "Een duurzaam en bereikbaar voorzieningenniveau",
    "gezonde_toekomst": "Een gezonde en kansrijke toekomst",
}
BETALERS = ("publiek", "privaat")


def _load() -> tuple[Deelopgave, ...]:
    from model.deelopgaven import (beheer_onderhoud, bereikbaarheid, capaciteit, gezonde_toekomst, grondkosten,
                                   grondslag, herstructurering_winkels, herstructurering_woningen,
                                   leefbaarheid_veiligheid, nieuwbouw, ov_eenmalig, ov_exploitatie, personeel)
    return (
        grondslag.DEELOPGAVE,
        nieuwbouw.DEELOPGAVE,
        herstructurering_woningen.DEELOPGAVE,
        herstructurering_winkels.DEELOPGAVE,
        leefbaarheid_veiligheid.DEELOPGAVE,
        bereikbaarheid.DEELOPGAVE,
        capaciteit.DEELOPGAVE,
        ov_exploitatie.DEELOPGAVE,
        ov_eenmalig.DEELOPGAVE,
        gezonde_toekomst.DEELOPGAVE,
        beheer_onderhoud.DEELOPGAVE,
        grondkosten.DEELOPGAVE,
        personeel.DEELOPGAVE,
    )


DEELOPGAVEN: tuple[Deelopgave, ...] = _load()

# Named in the report but without any kental: listed as unquantified PM, no kernel.
NIET_GEKWANTIFICEERD = {
    "regionale_economie": "Regionale economie: 'geen kentallen beschikbaar' (§1.3); the report recommends a separate estimate.",
}


def by_name(naam: str) -> Deelopgave:
    for d in DEELOPGAVEN:
        if d.naam == naam:
            return d
    raise KeyError(f"unknown deelopgave {naam!r}; known: {[d.naam for d in DEELOPGAVEN]}")


def cost_lines() -> list[tuple[Deelopgave, Line]]:
    """All cost lines (quantities of grondslag excluded), in registry order."""
    return [(d, line) for d in DEELOPGAVEN if d.kolom is not None for line in d.lines if not line.hulp]
