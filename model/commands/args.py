"""argparse types shared by the subcommands of ``cli.py`` (``model.commands``).

A bad value stops the command before any work is done. argparse prints its usual message, which names the
option, and exits with status 2:

    cli.py run: error: argument --draws: must be a positive integer, got '0'
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.engine.stream import MAX_SEED
from model.paths import RUNS_DIR


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer >= 1 (draws, chunk size, threads, workers, chains, ...)."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (seeds: numpy's SeedSequence takes no negative seed)."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def seed(text: str) -> int:
    """A seed: an integer from 0 to 2**63 - 1 (a manifest stores it as a 64-bit integer)."""
    value = non_negative_int(text)
    if value >= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be below 2**63 = {MAX_SEED}, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A number strictly between 0 and 1 (a quantile of an input's prior)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1, got {text!r}")
    return value


def precision(text: str) -> float:
    """A relative precision: a percentage ('0.5%') or a share ('0.005'), above 0 and below 50%."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100.0 if t.endswith("%") else float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a percentage such as 0.5% or a share such as 0.005, got {text!r}"
                                         ) from None
    if not 0.0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"must be above 0 and below 50%, got {text!r}")
    return value


def output_folder(text: str) -> str:
    """A folder that receives run folders: it need not exist yet, but must not be a file. Checked before the
    work, not when the results are written."""
    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text}: exists and is not a folder")
    return text



def add_out(parser: argparse.ArgumentParser) -> None:
    """``--out``: the folder that receives the command's run folder (default: the project's ``runs/``)."""
    parser.add_argument("--out", type=output_folder, default=str(RUNS_DIR),
                        help="folder that receives the run folder (default: the project's runs/)")


def add_priors(parser: argparse.ArgumentParser, posterior: bool = False) -> None:
    """``--priors``: the prior directory; with ``posterior`` also a calibration to draw from."""
    extra = ", or 'gekalibreerd' / a calibration run folder for the posterior" if posterior else ""
    parser.add_argument("--priors", default=None, help=f"prior directory (default: the embedded priors/){extra}")
