"""Tables (``model.output.tables``): the one CSV writer and the ``summary.csv`` schema, read back exactly."""

from __future__ import annotations

import pytest

from model.analysis.summary import STATISTICS, summarise
from model.engine.run import run
from model.errors import PriorError
from model.output.tables import (SUMMARY_FIELDS, overview_table, read_summary, write_csv,
                                 write_summary)


@pytest.fixture(scope="module")
def rows():
    return summarise(run(draws=3000, seed=4))


def test_summary_csv_round_trips_every_number(rows, tmp_path):
    path = write_summary(rows, tmp_path / "summary.csv")
    back = read_summary(path)
    assert [r["output"] for r in back] == [r["output"] for r in rows]
    for a, b in zip(rows, back):
        for k in (*STATISTICS, "rapport", "p_rapport"):
            assert a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]), (a["output"], k)
        assert a["pm"] == b["pm"] and a["soort"] == b["soort"] and a["variant"] == b["variant"] == "laag"
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(SUMMARY_FIELDS)


def test_a_summary_of_another_layout_or_truncated_is_an_error(rows, tmp_path):
    path = write_summary(rows, tmp_path / "summary.csv")
    text = path.read_text(encoding="utf-8")
    (tmp_path / "short.csv").write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(PriorError, match="short.csv: line"):
        read_summary(tmp_path / "short.csv")
    (tmp_path / "other.csv").write_text("naam,mean\nx,1\n", encoding="utf-8")
    with pytest.raises(PriorError, match="other.csv: \\(header\\)"):
        read_summary(tmp_path / "other.csv")


def test_text_tables(rows):
    text = overview_table(rows)
    # long names as in the report, never code names; a PM line marked once
    assert "Totaal Publieke (rest)opgave (zonder PM)" in text and "3,60" in text
    assert "Beheer en onderhoud nieuwe voorzieningen (PM)" in text and "PM Beheer" not in text
    assert "totaal_publieke_restopgave" not in text and "beheer_onderhoud" not in text
    assert "uitkomst (mld. €, prijspeil 2024)" in text
    md = overview_table(rows, markdown=True)
    assert md.splitlines()[1].startswith("|---|")


def test_the_csv_writer_writes_numpy_scalars_as_plain_exact_numbers(tmp_path):
    import csv

    import numpy as np

    row = {"a": np.float64(0.1) + np.float64(0.2), "b": np.float32(1.5), "c": np.int64(7), "d": np.bool_(True),
           "e": True, "f": None, "g": ("x", "y")}
    path = write_csv(tmp_path / "t.csv", [row], list(row))
    with path.open(encoding="utf-8", newline="") as fh:
        back = next(csv.DictReader(fh))
    assert back == {"a": "0.30000000000000004", "b": "1.5", "c": "7", "d": "1", "e": "1", "f": "", "g": "x; y"}
    assert float(back["a"]) == row["a"]
