"""Run folders: written atomically (a temporary folder renamed at the end), never overwritten.

Each folder holds ``dataset.nc`` (netCDF4 via h5netcdf; the root group opens with plain
``xarray.open_dataset``, the group ``prior`` with ``arviz.from_netcdf``), ``summary.csv``, ``summary.md``,
``manifest.json`` and the plots.
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import errno
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("numpy", "scipy", "numba", "xarray", "h5netcdf", "pymc", "arviz", "SALib", "dask", "matplotlib",
            "pyyaml")


def code_version() -> dict:
    """Git commit of the code (and whether the work tree has changes)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "model", "priors", "data", "cli.py"],
                                    cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "unknown", None
    return {"git_commit": commit, "git_dirty": dirty}


def versions() -> dict:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, failing with FileExistsError if ``dst`` exists (even an empty folder,
    which a plain ``os.rename`` would silently replace). Linux ``renameat2(RENAME_NOREPLACE)`` where the
    C library and file system offer it (atomic); elsewhere an existence check before ``os.rename``."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            renameat2 = libc.renameat2
        except (OSError, AttributeError):
            renameat2 = None
        if renameat2 is not None:
            renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            renameat2.restype = ctypes.c_int
            if renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
                return
            err = ctypes.get_errno()
            if err == errno.EEXIST:
                raise FileExistsError(err, os.strerror(err), str(dst))
            if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
                raise OSError(err, os.strerror(err), str(src))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


def _token() -> str:
    return secrets.token_hex(2)


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


class new_run_folder:
    """Context manager for a fresh run folder ``<out>/<prefix>-<UTC timestamp>-<4 hex>``.

    Yields a temporary folder inside ``out`` to write into; on success it is renamed to the final name
    (never replacing anything: an existing name draws a new hex suffix), available as ``.path``. On an
    error the temporary folder is removed and nothing appears under ``out``.
    """

    def __init__(self, out: str | Path, prefix: str, attempts: int = 16):
        self.out = Path(out)
        self.prefix = prefix
        self.attempts = attempts
        self.tmp: Path | None = None
        self.path: Path | None = None

    def __enter__(self) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        for _ in range(self.attempts):  # os.mkdir (unlike tempfile.mkdtemp) keeps the umask's permissions
            tmp = self.out / f".tmp-{self.prefix}-{secrets.token_hex(8)}"
            try:
                tmp.mkdir()
            except FileExistsError:
                continue
            self.tmp = tmp
            return tmp
        raise FileExistsError(f"{self.out}: no free temporary folder name for {self.prefix}")

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        stamp = _stamp()
        for _ in range(self.attempts):
            final = self.out / f"{self.prefix}-{stamp}-{_token()}"
            try:
                _rename_noreplace(self.tmp, final)
            except FileExistsError:
                continue
            except BaseException:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise
            self.path = final
            return False
        shutil.rmtree(self.tmp, ignore_errors=True)
        raise FileExistsError(f"{self.out}: no free run folder name for {self.prefix}-{stamp}-*")


def write_dataset(ds, path: Path) -> None:
    """Root group: the plain dataset; group ``prior``: the same with a ``chain`` dim for ArviZ."""
    ds.to_netcdf(path, engine="h5netcdf")
    if "draw" in ds.dims:
        prior = ds[[v for v in ds.data_vars if "draw" in ds[v].dims]].expand_dims(chain=[0])
        prior = prior.drop_vars([c for c in prior.coords if c not in ("chain", "draw", "uitkomst")])
        prior.attrs = {"created_at": datetime.now(timezone.utc).isoformat(), "inference_library": "npvr-model",
                       **{k: v for k, v in ds.attrs.items() if isinstance(v, (int, float, str))}}
        prior.to_netcdf(path, engine="h5netcdf", mode="a", group="prior")


def write_summary(rows: list[dict], folder: Path, markdown: str) -> None:
    keys = list(rows[0])
    with (folder / "summary.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    (folder / "summary.md").write_text(markdown + "\n", encoding="utf-8")


def manifest(result, rows: list[dict], wall_time: float, extra: dict | None = None) -> dict:
    plan = result.plan
    return {
        "kind": "run",
        "created_at": datetime.now(timezone.utc).isoformat(),
        **code_version(),
        "prior_directory": plan.priors.directory,
        "prior_hashes": dict(plan.priors.file_hashes),
        "seed": result.seed,
        "draws": result.draws,
        "chunk_size": plan.chunk_size,
        "n_chunks": result.n_chunks,
        "stream": "chunk k: numpy Generator(SFC64(SeedSequence(seed, spawn_key=(k,)))); normals drawn draw-major",
        "threads": result.threads,
        "draws_kept": result.outputs is not None,
        "overrides": dict(plan.overrides),
        "gemeenten": list(plan.gebieden.gm_code),
        "versions": versions(),
        "wall_time_s": wall_time,
        "mc_standard_errors": {r["output"]: {k: r[k] for k in r if k.startswith("mcse_")} for r in rows
                               if r["soort"] in ("kolom", "deelopgave", "totaal")},
        **(extra or {}),
    }


def write_json(obj, path: Path) -> None:
    def default(x):
        if isinstance(x, (np.floating, np.integer)):
            return x.item()
        if isinstance(x, np.ndarray):
            return x.tolist()
        raise TypeError(type(x))
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=default), encoding="utf-8")


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
