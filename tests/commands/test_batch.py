"""``cli.py batch`` (``model.commands.batch``): exit statuses and resume."""

from __future__ import annotations

import pytest

from model.commands import main
from model.jobs.batch import is_finished

pytestmark = pytest.mark.slow


def test_cli_batch(tmp_path, capsys):
    argv = ["batch", "huishoudens_2035_hoog", "--seeds", "3", "4", "--draws", "500", "--scheduler", "serial", "--out",
            str(tmp_path / "b"), "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 run(s) done" in out and "comparison:" in out
    assert is_finished(tmp_path / "b" / "huishoudens_2035_hoog_seed4_draws500")
    assert main(argv) == 0                                              # resume: nothing left to do
    assert "2 already finished" in capsys.readouterr().out
    assert main([*argv[:2], "--draws", "500", "--scheduler", "serial", "--out", str(tmp_path / "b"), "--quiet",
                 "--seeds", "3", "--no-resume"]) == 2
