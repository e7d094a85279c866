"""How numbers are written for people: Dutch decimal commas and thousands points, amounts in billions (mld. €).
The one definition of these formats; JSON and CSV keep plain numbers in euros."""

from __future__ import annotations

MLD = 1e9


def decimal_nl(x: float, digits: int = 2) -> str:
    """``x`` with a decimal comma and a thousands point: 1234.5 -> '1.234,50'."""
    text = f"{x:,.{digits}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def mld(x: float | None, digits: int = 1, *, euro: bool = True) -> str:
    """Euros in billions as the report prints them: '€0,7 mld.' (``euro=False``: '0,70'); '' for None."""
    if x is None:
        return ""
    number = decimal_nl(x / MLD, digits)
    return f"€{number} mld." if euro else number


def mld_range(low: float, high: float, digits: int = 1) -> str:
    """A bandwidth as the report prints it: '€0,6 - €1,1 mld.' (one figure when the ends are equal)."""
    if abs(high - low) <= 1e-6 * max(1.0, abs(high)):
        return mld(low, digits)
    return f"{mld(low, digits)[:-5]} - {mld(high, digits)}"
