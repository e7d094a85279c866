"""Helpers shared by the tests (on the test path: ``from support import ...``)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

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


def priors_with(tmp_path, file: str, entry: str, **fields) -> Path:
    """A copy of the embedded priors in ``tmp_path/priors`` where ``entry`` of ``file`` has ``fields`` replaced."""
    import shutil

    import yaml

    from model.paths import PRIORS_DIR

    directory = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, directory)
    path = directory / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["entries"][entry].update(fields)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return directory


@contextlib.contextmanager
def tmpfs(path, size: str = "4m"):
    """A small tmpfs mounted at ``path`` (a new folder) for the test, unmounted afterwards; the test is skipped
    with the reason when this machine does not let it mount one (not root, or no mount in a container)."""
    import os

    import pytest

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def remount_readonly(path) -> None:
    """Make the tmpfs at ``path`` read-only (what an exhausted quota or a read-only export looks like)."""
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


def wait_for(predicate, timeout: float = 120, what: str = "the condition"):
    """Poll ``predicate`` every 0.05 s until it returns something true; fail the test after ``timeout`` s."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def netcdf_contents(path) -> dict:
    """Every variable of every group of a netCDF file: name -> (dtype, shape, bytes), and the root attributes."""
    import h5py

    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                out[name] = (str(obj.dtype), obj.shape, data.tobytes() if data.dtype.kind != "O" else repr(data))
        f.visititems(visit)
        out["attrs"] = {k: repr(v) for k, v in f.attrs.items()}
    return out


def assert_same_runs(a, b, names) -> None:
    """The saved results of the runs ``names`` of two batch folders are identical bit for bit (manifests: the
    identity only)."""
    from model.jobs import batch

    for name in names:
        assert batch.is_finished(a / name) and batch.is_finished(b / name), name
        assert (a / name / "summary.csv").read_bytes() == (b / name / "summary.csv").read_bytes(), name
        assert netcdf_contents(a / name / "dataset.nc") == netcdf_contents(b / name / "dataset.nc"), name
        assert batch.identity_of(a / name) == batch.identity_of(b / name), name
