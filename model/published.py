"""The report's printed figures, for display beside the model's intervals and for tests.

These numbers are never model inputs: the kernels read only ``priors/`` and ``data/``. Each figure is
(low, high) in euros as printed (low == high for a point figure), with the number of printed decimals of
billions (``€0,7 mld.`` -> 1), which sets the tolerance of a comparison (half a unit of the last digit).
"""

REPORT_FIGURES: dict[str, tuple[float, float, int]] = {
    # Table 1.2 columns
    "totaal_publieke_restopgave": (3.6e9, 3.6e9, 1),
    "totaal_exploitatielasten": (0.6e9, 0.6e9, 1),
    "totaal_investeringsopgave": (6.3e9, 11.8e9, 1),
    # Table 1.2 lines
    "nieuwbouw": (0.7e9, 0.7e9, 1),
    "herstructurering_woningen": (4.3e9, 4.3e9, 1),
    "herstructurering_winkels": (0.4e9, 0.4e9, 1),
    "leefbaarheid_veiligheid": (1.1e9, 1.1e9, 1),
    "bereikbaarheid": (0.6e9, 1.1e9, 1),
    "capaciteit": (1.4e9, 6.4e9, 1),
    "ov_exploitatie": (0.6e9, 0.6e9, 1),
    "ov_eenmalig": (0.135e9, 0.135e9, 3),
    "gezonde_toekomst": (1.3e9, 1.3e9, 1),
    # Table 2.1 / goals
    "doel_veilig_leefbaar": (6.6e9, 6.6e9, 1),
}


def tolerance(decimals: int) -> float:
    """Half a unit of the last printed digit of a figure printed in billions with ``decimals`` decimals."""
    return 0.5 * 10.0 ** (-decimals) * 1e9
