"""One module per deelopgave. Each defines a kernel and a ``DEELOPGAVE`` record (see ``model.registry``)."""

import inspect


def arguments(compiled) -> tuple[str, ...]:
    """The kernel's argument names: they are the names of its inputs (prior entries, data, earlier lines)."""
    func = getattr(compiled, "py_func", compiled)
    return tuple(inspect.signature(func).parameters)
