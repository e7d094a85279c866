"""Run folders: atomic, never overwritten."""

import pytest

from model import runs


# --------------------------------------------------------------------------------------------- run folders


def test_run_folder_is_never_overwritten(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "_stamp", lambda: "20250101T000000Z")
    tokens = iter(["aaaa", "bbbb", "cccc"])
    monkeypatch.setattr(runs, "_token", lambda: next(tokens))
    full = tmp_path / "tornado-x-20250101T000000Z-aaaa"
    full.mkdir()
    (full / "keep.txt").write_text("earlier run", encoding="utf-8")
    empty = tmp_path / "tornado-x-20250101T000000Z-bbbb"
    empty.mkdir()  # a plain os.rename would silently replace an empty folder
    run = runs.new_run_folder(tmp_path, "tornado-x")
    with run as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".tmp-")
        (tmp / "new.txt").write_text("this run", encoding="utf-8")
    assert run.path == tmp_path / "tornado-x-20250101T000000Z-cccc"
    assert (run.path / "new.txt").read_text(encoding="utf-8") == "this run"
    assert (full / "keep.txt").read_text(encoding="utf-8") == "earlier run"
    assert list(empty.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_run_folder_gives_up_without_overwriting(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "_stamp", lambda: "20250101T000000Z")
    monkeypatch.setattr(runs, "_token", lambda: "aaaa")
    taken = tmp_path / "sobol-x-20250101T000000Z-aaaa"
    taken.mkdir()
    with pytest.raises(FileExistsError):
        with runs.new_run_folder(tmp_path, "sobol-x", attempts=3) as tmp:
            (tmp / "f.txt").write_text("x", encoding="utf-8")
    assert list(taken.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [taken.name]
