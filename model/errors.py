"""Errors raised for bad input. Every message names the file and the entry."""


class PriorError(ValueError):
    """A prior file, data file or scenario file is invalid.

    The message always starts with ``<file>: <entry>:`` so a reviewer can find the offending line.
    """


class SettingError(ValueError):
    """An environment setting is unusable (e.g. ``NPVR_CACHE``); the message starts with ``<VARIABLE>=<value>:``."""
