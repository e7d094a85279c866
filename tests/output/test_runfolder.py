"""The run-folder protocol (``model.output.runfolder``): atomic, never overwritten, an owner file while written,
nothing left on an error, and only provably abandoned temporary folders are stale."""

import json
import os
import socket

import pytest

from model.output import runfolder


def test_run_folder_is_never_overwritten(tmp_path, monkeypatch):
    monkeypatch.setattr(runfolder, "stamp", lambda: "20250101T000000Z")
    tokens = iter(["aaaa", "bbbb", "cccc"])
    monkeypatch.setattr(runfolder, "_token", lambda: next(tokens))
    full = tmp_path / "tornado-x-20250101T000000Z-aaaa"
    full.mkdir()
    (full / "keep.txt").write_text("earlier run", encoding="utf-8")
    empty = tmp_path / "tornado-x-20250101T000000Z-bbbb"
    empty.mkdir()  # a plain os.rename would silently replace an empty folder
    run = runfolder.RunFolder(tmp_path, "tornado-x")
    with run as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".tmp-tornado-x-")
        owner = json.loads((tmp / runfolder.OWNER).read_text(encoding="utf-8"))
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        (tmp / "new.txt").write_text("this run", encoding="utf-8")
    assert run.path == tmp_path / "tornado-x-20250101T000000Z-cccc"
    assert (run.path / "new.txt").read_text(encoding="utf-8") == "this run"
    assert not (run.path / runfolder.OWNER).exists()
    assert (full / "keep.txt").read_text(encoding="utf-8") == "earlier run"
    assert list(empty.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_run_folder_gives_up_without_overwriting(tmp_path, monkeypatch):
    monkeypatch.setattr(runfolder, "stamp", lambda: "20250101T000000Z")
    monkeypatch.setattr(runfolder, "_token", lambda: "aaaa")
    taken = tmp_path / "sobol-x-20250101T000000Z-aaaa"
    taken.mkdir()
    with pytest.raises(FileExistsError):
        with runfolder.RunFolder(tmp_path, "sobol-x", attempts=3) as tmp:
            (tmp / "f.txt").write_text("x", encoding="utf-8")
    assert list(taken.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [taken.name]


def test_a_fixed_name_is_never_replaced(tmp_path):
    (tmp_path / "task").mkdir()
    with pytest.raises(FileExistsError):
        with runfolder.RunFolder(tmp_path, "run", name="task") as tmp:
            (tmp / "f.txt").write_text("x", encoding="utf-8")
    assert list((tmp_path / "task").iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["task"]


def test_an_error_removes_what_the_command_created_and_nothing_else(tmp_path):
    """The temporary folder goes, and the folders above it that the command made; an existing folder stays."""
    out = tmp_path / "new" / "runs"
    with pytest.raises(RuntimeError):
        with runfolder.RunFolder(out, "run") as tmp:
            (tmp / "half.nc").write_text("half written", encoding="utf-8")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "other.txt").write_text("someone else's", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with runfolder.RunFolder(tmp_path / "runs", "run"):
            raise RuntimeError("interrupted")
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["other.txt"]


def test_only_temporary_folders_of_dead_processes_of_this_host_are_stale(tmp_path):
    def planted(name: str, owner: dict | None) -> None:
        folder = tmp_path / name
        folder.mkdir()
        if owner is not None:
            (folder / runfolder.OWNER).write_text(json.dumps(owner), encoding="utf-8")

    host = socket.gethostname()
    dead = 2**22 + 12345           # above the default pid_max: no such process
    planted(".tmp-run-dead", {"pid": dead, "host": host})
    planted(".tmp-run-alive", {"pid": os.getpid(), "host": host})
    planted(".tmp-run-elsewhere", {"pid": dead, "host": host + "-other"})
    planted(".tmp-run-no-owner", None)
    planted(".tmp-scenario-name", {"broken": True})
    planted("run-finished", None)
    assert [p.name for p in runfolder.stale_temporary_folders(tmp_path)] == [".tmp-run-dead"]
