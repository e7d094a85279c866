"""The deelopgaven: one module per deelopgave, each a kernel and a ``DEELOPGAVE`` record, listed in
:mod:`model.deelopgaven.registry`. Nothing here imports numba, scipy or the layers above."""

import inspect


def arguments(func) -> tuple[str, ...]:
    """The kernel's argument names: they are the names of its inputs (prior entries, data, earlier lines)."""
    return tuple(inspect.signature(func).parameters)
