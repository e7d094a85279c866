"""Run folders: the one layout and write protocol of every command (run, tornado, sobol, calibrate, batch).

Protocol. A command writes into a temporary folder ``<out>/.tmp-<prefix>-<16 hex>/`` that holds an ``OWNER`` file
(process id, host, start time, command) while it is being written. When everything is written -- the
``manifest.json`` last -- the folder is renamed to its final name, never replacing anything: ``<prefix>-<UTC
stamp>-<4 hex>`` (a new name is drawn if it exists) or, for a batch task, a fixed name (an existing folder of that
name is an error for the caller to handle). The rename is atomic, so a folder with its final name is complete.
On an error the temporary folder is removed, and so are the folders above it that the command created; nothing
else is touched. A command that was killed leaves its temporary folder behind: the next command that writes into
the same folder removes it (:func:`stale_temporary_folders`: an ``OWNER`` file naming this host and a process that
no longer runs, the only folders a command may remove besides its own). The ``OWNER`` file is written whole and
renamed into place, so a killed command leaves a complete one (or, killed between making the folder and that rename,
none: such a folder is not provably abandoned and stays). The temporary folder is made when a
command starts, before its work, so an output folder that cannot be written stops the command at once.

Manifest. Every run folder has a ``manifest.json`` of one schema (``docs/manifest.schema.json``, tested for every
command): the command and its arguments, the code version (package version, git commit, dirty flag), the package
versions, the SHA-256 of every input file, the random stream (seed, its definition, chunk size), timings, the
files written, and the command's results in ``results``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from model.paths import REPO

SCHEMA = "npvr-manifest/1"
MANIFEST = "manifest.json"
OWNER = "OWNER"
TMP_PREFIX = ".tmp-"
PACKAGES = ("numpy", "scipy", "numba", "xarray", "h5netcdf", "pymc", "pytensor", "nutpie", "jax", "jaxlib", "numpyro",
            "arviz", "SALib", "dask", "distributed", "matplotlib", "pyyaml")


# --------------------------------------------------------------------------------------------- identity
def code_version() -> dict:
    """The package version, the git commit of the code and whether the work tree has changes (``None`` when git
    cannot tell: no checkout)."""
    try:
        package = metadata.version("npvr-model")
    except metadata.PackageNotFoundError:
        package = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = None if commit is None else bool(subprocess.run(
            ["git", "status", "--porcelain", "--", "model", "priors", "data", "scenarios", "cli.py"],
            cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {"package_version": package, "git_commit": commit, "git_dirty": dirty}


def versions() -> dict:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _token() -> str:
    """The 4 hex digits that make a run folder's name unique."""
    return secrets.token_hex(2)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------- writing
_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, failing with FileExistsError if ``dst`` exists (even an empty folder, which a
    plain ``os.rename`` would silently replace). Linux ``renameat2(RENAME_NOREPLACE)`` where the C library and file
    system offer it (atomic); elsewhere an existence check before ``os.rename``."""
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


def _json_default(x):
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, (set, frozenset, tuple)):
        return list(x)
    raise TypeError(f"not JSON: {type(x).__name__}")


def to_json(obj) -> str:
    """JSON text of ``obj`` (numpy scalars and arrays, paths, tuples and sets converted); NaN and inf refused."""
    return json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default, allow_nan=False)


def write_json(obj, path: Path) -> None:
    Path(path).write_text(to_json(obj) + "\n", encoding="utf-8")


class RunFolder:
    """Context manager for a new run folder under ``out`` (see the module docstring).

    ``with RunFolder(out, "run") as tmp:`` yields the temporary folder to write into; afterwards ``.path`` is the
    final folder. ``name``: a fixed final name instead of ``<prefix>-<stamp>-<hex>``.
    """

    def __init__(self, out: str | Path, prefix: str, *, name: str | None = None, command: str | None = None,
                 attempts: int = 16):
        self.out = Path(out)
        self.prefix = prefix
        self.name = name
        self.command = command or prefix
        self.attempts = attempts
        self.tmp: Path | None = None
        self.path: Path | None = None
        self._created: list[Path] = []
        self.started = time.perf_counter()

    def __enter__(self) -> Path:
        missing = []
        p = self.out
        while not p.exists():
            missing.append(p)
            p = p.parent
        self.out.mkdir(parents=True, exist_ok=True)
        self._created = missing  # deepest first
        for stale in stale_temporary_folders(self.out):   # left by commands of this host that were killed
            shutil.rmtree(stale, ignore_errors=True)
        for _ in range(self.attempts):  # os.mkdir (unlike tempfile.mkdtemp) keeps the umask's permissions
            tmp = self.out / f"{TMP_PREFIX}{self.prefix}-{secrets.token_hex(8)}"
            try:
                tmp.mkdir()
            except FileExistsError:
                continue
            self.tmp = tmp
            # written whole, then renamed: a command killed at any moment leaves a complete OWNER file or none
            partial = tmp / f".{OWNER}.partial"
            write_json({"pid": os.getpid(), "host": socket.gethostname(), "started": now(), "command": self.command},
                       partial)
            os.replace(partial, tmp / OWNER)
            return tmp
        raise FileExistsError(f"{self.out}: no free temporary folder name for {self.prefix}")

    def _abandon(self) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        for folder in self._created:
            try:
                folder.rmdir()   # only if empty: never remove what others wrote meanwhile
            except OSError:
                break

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            where = self.tmp
            self._abandon()
            if isinstance(exc, OSError) and not exc.filename and exc.errno is not None:
                # a failed write (a full disk) names no file: name the run folder it was writing
                raise OSError(exc.errno, exc.strerror, str(self.out / f"{self.name or self.prefix + '-...'}"
                                                            f" (writing {where.name if where else '?'})")) from exc
            return False
        try:
            (self.tmp / OWNER).unlink()
            if self.name is not None:
                final = self.out / self.name
                rename_noreplace(self.tmp, final)
                self.path = final
                return False
            when = stamp()
            for _ in range(self.attempts):
                final = self.out / f"{self.prefix}-{when}-{_token()}"
                try:
                    rename_noreplace(self.tmp, final)
                except FileExistsError:
                    continue
                self.path = final
                return False
            raise FileExistsError(f"{self.out}: no free run folder name for {self.prefix}-{when}-*")
        except BaseException:
            self._abandon()
            raise

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_temporary_folders(out: str | Path) -> list[Path]:
    """The temporary folders in ``out`` that a command of this host left behind: an ``OWNER`` file naming this host
    and a process that no longer runs. Folders of running commands, of other hosts, or without an owner file are not
    listed (they are not provably abandoned)."""
    out = Path(out)
    stale = []
    if not out.is_dir():
        return stale
    host = socket.gethostname()
    for p in out.iterdir():
        if not (p.name.startswith(TMP_PREFIX) and p.is_dir() and not p.is_symlink()):
            continue
        try:
            owner = json.loads((p / OWNER).read_text(encoding="utf-8"))
            pid, owner_host = int(owner["pid"]), owner["host"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if owner_host == host and not _pid_alive(pid):
            stale.append(p)
    return sorted(stale)


# --------------------------------------------------------------------------------------------- manifest
def manifest(command: str, *, arguments: Mapping[str, Any], inputs: Mapping[str, str],
             random: Mapping[str, Any] | None, timings: Mapping[str, float], files: list[str],
             results: Mapping[str, Any] | None = None) -> dict:
    """The manifest of a run folder (schema ``docs/manifest.schema.json``). ``inputs`` maps each input file (by
    its path relative to the project, or its own path) to its SHA-256; ``random`` has ``seed``, ``stream`` and
    ``chunk_size`` (``None`` for a deterministic command)."""
    return {
        "schema": SCHEMA,
        "command": command,
        "arguments": dict(arguments),
        "created_at": now(),
        "code": code_version(),
        "versions": versions(),
        "inputs": dict(sorted(inputs.items())),
        "random": dict(random) if random is not None else None,
        "timings_s": {k: float(v) for k, v in timings.items()},
        "files": sorted(files),
        "results": dict(results or {}),
    }


def write_manifest(folder: Path, command: str, *, before=None, **kwargs) -> dict:
    """Write the manifest last: it lists every file already in ``folder``. ``before(data)``, if given, writes files
    that show the manifest itself (the report) and returns their names and the seconds it took
    (``timings_s["report"]``); it runs before the manifest is written, and the manifest lists its files."""
    files = [p.name for p in Path(folder).iterdir() if p.name not in (MANIFEST, OWNER)]
    data = manifest(command, files=files + [MANIFEST], **kwargs)
    if before is not None:
        names, seconds = before(data)
        data["files"] = sorted(data["files"] + list(names))
        data["timings_s"]["report"] = float(seconds)
        data["timings_s"]["total"] = data["timings_s"].get("total", 0.0) + float(seconds)
    write_json(data, Path(folder) / MANIFEST)
    return data


def read_manifest(folder: str | Path) -> dict:
    """The manifest of a finished run folder (``FileNotFoundError`` when there is none)."""
    from model.errors import PriorError

    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise PriorError(f"{path}: (file): not a readable manifest ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise PriorError(f"{path}: schema: not a manifest of schema {SCHEMA}")
    return data


def input_hashes(priors=None, gebieden=None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The SHA-256 of every input file of a run, keyed ``priors/<file>``, ``data/<file>`` (and ``extra``)."""
    out = {}
    if priors is not None:
        folder = Path(priors.directory).name or "priors"
        out.update({f"{folder}/{k}" if "/" not in k and ":" not in k else k: v
                    for k, v in priors.file_hashes.items()})
    if gebieden is not None:
        out.update({f"data/{k}": v for k, v in gebieden.files.items()})
    out.update(extra or {})
    return out
