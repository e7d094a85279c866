"""Errors raised for bad input. Every message names where the problem is; ``cli.py`` prints it on one line and
exits with status 2."""


class PriorError(ValueError):
    """A prior file, data file, scenario file or run folder is invalid.

    The message always starts with ``<file>: <entry>:`` so a reviewer can find the offending line.
    """


class SettingError(ValueError):
    """An environment setting is unusable (e.g. ``NPVR_CACHE``); the message starts with ``<VARIABLE>=<value>:``."""


class UsageError(ValueError):
    """An argument of a command or library call is out of range (a count, a seed, a sample size, a storage mode);
    raised before any work is done, the message names the argument."""
