"""Helpers shared by the tests (on the test path: ``from support import ...``)."""

from __future__ import annotations

import json
import subprocess
import sys

from model.paths import REPO

MLD = 1e9
MLN = 1e6


def assert_printed(value: float, printed: float, decimals: int, unit: float = MLD) -> None:
    """``value`` (in euros, or the quantity's own unit) rounds to the figure the report prints.

    ``printed`` is the figure as printed, in ``unit`` (default: € mld.), with ``decimals`` digits after the
    decimal point (negative for rounding to tens, hundreds, thousands: 3.205.000 is ``decimals=-3``, unit 1).
    The tolerance is exactly half a unit of the last printed digit, inclusive, with a 1e-9 relative epsilon.
    """
    target = printed * unit
    half = 0.5 * 10.0 ** (-decimals) * unit
    eps = 1e-9 * max(abs(target), abs(value))
    assert abs(value - target) <= half + eps, (
        f"{value:,.2f} does not round to the printed {printed} (×{unit:g}): allowed {target - half:,.2f} "
        f"... {target + half:,.2f}"
    )


def cli(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python cli.py ARGS`` in the project folder, its output captured."""
    return subprocess.run([sys.executable, "cli.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env)


SCHEMA = json.loads((REPO / "docs" / "manifest.schema.json").read_text(encoding="utf-8"))


def check_manifest(folder, command: str) -> dict:
    """The manifest of ``folder``: valid against the one schema, of ``command``, listing exactly the folder's files."""
    import jsonschema

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    jsonschema.validate(manifest, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert manifest["command"] == command
    assert sorted(manifest["files"]) == sorted(p.name for p in folder.iterdir())
    return manifest
