"""The explicit list of deelopgaven, their output lines and where each line sits in Table 1.2.

Nothing is discovered by magic: a deelopgave exists when its module is imported here and listed in
``DEELOPGAVEN``. The order is the evaluation order: a kernel may use the lines of an earlier deelopgave
(the PM lines use the investment lines of bereikbaarheid and capaciteit).

:func:`evaluate` runs every kernel in this order on plain values (numpy arrays or PyTensor variables): report
mode and the calibration. The Monte Carlo engine compiles the same kernels into one generated function
(``model.engine.codegen``).
"""

from __future__ import annotations

from typing import Mapping

from model.deelopgaven.records import Deelopgave, Line
from model.errors import PriorError

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
#: Each deelopgave's title as in the report: the label of every table and plot people read.
TITELS: dict[str, str] = {d.naam: d.titel for d in DEELOPGAVEN}
#: The goals' titles and the total's (the panels of the year charts).
GROEP_TITELS: dict[str, str] = {**{k: v for k, v in DOELEN.items() if k != "grondslag"}, "totaal": "Totaal (zonder PM)"}

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
    """All cost lines (quantities of grondslag and auxiliary lines excluded), in registry order."""
    return [(d, line) for d in DEELOPGAVEN if d.kolom is not None for line in d.lines if not line.hulp]


def line_names() -> tuple[str, ...]:
    """Every line of every kernel (cost lines, quantities, auxiliary lines), in evaluation order."""
    return tuple(line.naam for d in DEELOPGAVEN for line in d.lines)


#: The group of an input that the kernels of more than one deelopgave consume (e.g. ``exploitatiejaren_in_periode``;
#: a policy choice such as ``normniveau`` is no input of an analysis), in analyses grouped by deelopgave.
GEDEELD = "gedeeld"


def input_deelopgave() -> dict[str, str]:
    """Per input (prior entry or data quantity), the deelopgave whose kernel consumes it directly, or
    :data:`GEDEELD` when several kernels do. The rule of every analysis grouped by deelopgave: an input belongs
    to the kernel that reads it, not to the prior file it is declared in (``stichtingskosten.yaml`` holds inputs
    of bereikbaarheid); an input read through another deelopgave's line (e.g. ``huishoudens_npvr`` of grondslag)
    belongs to the kernel that reads it, grondslag."""
    users: dict[str, set[str]] = {}
    for d in DEELOPGAVEN:
        for name in d.inputs:
            users.setdefault(name, set()).add(d.naam)
    produced = set(line_names())
    return {name: next(iter(u)) if len(u) == 1 else GEDEELD for name, u in users.items() if name not in produced}


def required_inputs() -> tuple[str, ...]:
    """The names the kernels need from priors or data (everything that is not a line of an earlier kernel), in
    order of first use."""
    produced: set[str] = set()
    needed: list[str] = []
    for d in DEELOPGAVEN:
        for name in d.inputs:
            if name not in produced and name not in needed:
                needed.append(name)
        produced.update(line.naam for line in d.lines)
    return tuple(needed)


def line_dependencies() -> dict[str, frozenset[str]]:
    """Per line, the inputs (prior entries and data quantities) it depends on, through earlier lines too."""
    deps: dict[str, frozenset[str]] = {}
    for d in DEELOPGAVEN:
        direct: set[str] = set()
        for name in d.inputs:
            direct |= deps.get(name, {name})
        for line in d.lines:
            deps[line.naam] = frozenset(direct)
    return deps


def non_finite_message(where: str, what: str, bad_lines, size_of) -> str:
    """The message for results that are not finite: ``what`` (the outputs or lines), and the inputs of
    ``bad_lines`` by their magnitude ``size_of(name)`` (extreme ones, above 1e100 or not finite, alone if any)."""
    import math

    deps = line_dependencies()
    names = sorted({name for line in bad_lines for name in deps[line]})
    sizes = {n: float(size_of(n)) for n in names}
    extreme = [n for n in names if not math.isfinite(sizes[n]) or sizes[n] > 1e100]
    shown = sorted(extreme or names, key=lambda n: -sizes[n] if math.isfinite(sizes[n]) else -math.inf)[:8]
    listed = ", ".join(f"{n} (up to {sizes[n]:.3g})" for n in shown)
    return (f"{where}: (outputs): {what} not finite (inf or NaN); "
            f"{'entries with extreme values' if extreme else 'they depend on'}: {listed}")


def check_inputs(available, where: str) -> None:
    """Refuse a set of input names that lacks an input the kernels need (``where`` names the source)."""
    missing = [n for n in required_inputs() if n not in available]
    if missing:
        raise PriorError(f"{where}: (set): missing entries needed by the kernels: {missing}")


def evaluate(values: Mapping[str, object]) -> dict[str, object]:
    """Every kernel in registry order on ``values`` (each required input: a float, a numpy array with the draws
    first, or a PyTensor variable). Returns every line (cost lines, quantities, auxiliary lines) by name."""
    check_inputs(values, "inputs")
    namespace = dict(values)
    out: dict[str, object] = {}
    for d in DEELOPGAVEN:
        for line, value in zip(d.lines, d.kernel(*[namespace[name] for name in d.inputs])):
            namespace[line.naam] = value
            out[line.naam] = value
    return out


def column_parts(*, include_pm: bool = False) -> dict[str, list[str]]:
    """Per column of Table 1.2, the deelopgaven that add up to it (PM ones excluded unless asked), in registry
    order."""
    parts: dict[str, list[str]] = {}
    for d in DEELOPGAVEN:
        if d.kolom is not None and (include_pm or not d.pm):
            parts.setdefault(d.kolom, []).append(d.naam)
    return parts


def column_totals(lines: Mapping[str, object], *, include_pm: bool = False) -> dict[str, object]:
    """Sum the cost lines into the three columns of Table 1.2 (:func:`column_parts`; PM lines excluded unless
    asked)."""
    totals: dict[str, object] = {}
    for kolom, names in column_parts(include_pm=include_pm).items():
        for naam in names:
            for line in by_name(naam).lines:
                if not line.hulp:
                    totals[kolom] = totals[kolom] + lines[line.naam] if kolom in totals else lines[line.naam]
    return totals
