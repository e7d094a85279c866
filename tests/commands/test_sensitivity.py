"""``cli.py tornado`` and ``cli.py sobol`` (``model.commands.sensitivity``): what they print and where they write."""

from __future__ import annotations

import json
import re

from model.commands import build_parser, main
from model.paths import RUNS_DIR

RUN_NAME = re.compile(r"^(tornado|sobol)-[a-z_]+-\d{8}T\d{6}Z-[0-9a-f]{4}$")


def test_cli_tornado_json(tmp_path, capsys):
    assert main(["tornado", "--json", "--out", str(tmp_path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(set(r) == {"input", "low", "high", "swing"} for r in rows)
    assert [r["swing"] for r in rows] == sorted((r["swing"] for r in rows), reverse=True)
    assert all(r["swing"] > 0 for r in rows)        # an input the output does not depend on has no bar
    from model.analysis.sensitivity_npvr import input_spec
    from model.jobs.sensitivity import plan_for

    assert len(rows) < len(input_spec(plan_for(None, None)).names)   # the inputs of the other deelopgaven left out
    folders = list(tmp_path.iterdir())
    assert len(folders) == 1 and RUN_NAME.match(folders[0].name), folders
    assert folders[0].name.startswith("tornado-publieke_restopgave-")


def test_cli_tornado_text_and_options(tmp_path, capsys):
    assert main(["tornado", "capaciteit", "--low", "0.05", "--high", "0.95", "--top", "3", "--out",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "P5 / P95" in out and "run folder:" in out and len(out.splitlines()) == 3 + 3 + 1 + ("weggelaten" in out)
    (folder,) = list(tmp_path.iterdir())
    assert folder.name.startswith("tornado-capaciteit-")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["arguments"]["low"] == 0.05 and manifest["arguments"]["high"] == 0.95


def test_cli_sobol_json(tmp_path, capsys):
    assert main(["sobol", "--n-base", "256", "--seed", "1", "--json", "--out", str(tmp_path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(set(r) == {"input", "S1", "S1_conf", "ST", "ST_conf"} for r in rows)
    (folder,) = list(tmp_path.iterdir())
    assert RUN_NAME.match(folder.name) and folder.name.startswith("sobol-publieke_restopgave-")   # as tornado
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["arguments"]["n_base"] == 256


def test_cli_defaults():
    """Tornado and Sobol' analyse the same output when none is named (the default is resolved when they run)."""
    t = build_parser().parse_args(["tornado"])
    assert (t.output, t.low, t.high, t.json, t.out) == (None, 0.10, 0.90, False, str(RUNS_DIR))
    s = build_parser().parse_args(["sobol"])
    assert (s.output, s.n_base, s.seed, s.json, s.out) == (None, 2**14, 0, False, str(RUNS_DIR))
