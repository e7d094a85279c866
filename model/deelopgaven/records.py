"""The records that describe a deelopgave and its output lines (see ``model.deelopgaven.registry``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Line:
    """One output of a kernel: a cost line (in EUR over 2025-2035) or, for grondslag, a quantity."""

    naam: str
    betaler: str | None = None          # publiek / privaat (None for quantities)
    kostensoort: str | None = None      # onrendabele_top / investering / exploitatie / programmakosten
    eenheid: str = "EUR"
    long_name: str = ""
    hulp: bool = False                  # auxiliary quantity passed to later kernels, not a cost line
    deel: bool = False                  # (hulp) a part of its deelopgave's amount that the regional allocation
                                        # divides on its own (priors/verdeling/verdeelsleutels.yaml, `delen`)


@dataclass(frozen=True)
class Deelopgave:
    naam: str
    titel: str
    doel: str
    kolom: str | None                    # Table 1.2 column, None for quantities
    inputs: tuple[str, ...]              # prior entries, data quantities or earlier lines, in argument order
    lines: tuple[Line, ...]
    kernel: Callable
    pm: bool = False                     # PM: reported on its own line, never in the report's totals
    band: bool = False                   # the report prints a bandwidth (laag/hoog) for this deelopgave
    own_loop: bool = False               # compiled: evaluated in a loop over the draws of its own, which
                                         # vectorises when its kernel is straight-line code declared
                                         # @kernel(inline=True) (model.deelopgaven.kernels, model.engine.codegen)
