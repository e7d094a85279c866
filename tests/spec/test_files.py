"""The readers of input files (``model.spec.files``): every file that cannot be read is refused with a PriorError
naming it, and nothing in a file can make the reader use unbounded memory or time."""

from __future__ import annotations

import shutil
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.errors import PriorError
from model.paths import PRIORS_DIR
from model.spec.files import MAX_FILE_BYTES, read_csv, read_text, read_yaml
from model.spec.priors import load_priors

#: A "billion laughs" document: nine levels of nine aliases, 9^9 (387 million) strings when expanded.
ALIAS_BOMB = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def test_an_alias_bomb_is_refused_before_anything_is_built(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    t = time.perf_counter()
    with pytest.raises(PriorError, match=r"^bom.yaml: \(file\): stands for 4\d\d,\d\d\d,\d\d\d values through YAML aliases"):
        read_yaml(path)
    assert time.perf_counter() - t < 1.0


def test_an_alias_bomb_in_a_prior_file_is_refused_naming_the_file(tmp_path):
    """On today's main this expanded the bomb into the error message (3.4 GB, then MemoryError)."""
    directory = tmp_path / "priors"
    shutil.copytree(PRIORS_DIR, directory)
    path = directory / "ov_eenmalig.yaml"
    text = path.read_text(encoding="utf-8")
    bomb = "".join("  " + line for line in ALIAS_BOMB.splitlines(keepends=True))
    path.write_text("bomb:\n" + bomb + text, encoding="utf-8")
    with pytest.raises(PriorError, match=r"^ov_eenmalig.yaml: \(file\): stands for .* values through YAML aliases"):
        load_priors(directory, fit=False)


def test_a_few_aliases_are_fine(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("x: &a {p5: 1, p95: 2}\ny: *a\n", encoding="utf-8")
    assert read_yaml(path) == {"x": {"p5": 1, "p95": 2}, "y": {"p5": 1, "p95": 2}}


@pytest.mark.parametrize("raw, fragment", [
    (b"a: caf\xe9\n", r"\(file\): not UTF-8 text \(byte 6\)"),
    (b"a: 1\na: 2\n", r"a: duplicate key '\(entry\)' \(line 2\)"),
    (b"a: [1, 2\n", r"\(file\): invalid YAML \(line 2\)"),
    (b"[" * 5000 + b"]" * 5000, r"\(file\): (nested too deeply|invalid YAML)"),
])
def test_bad_yaml_is_refused_naming_the_file(tmp_path, raw, fragment):
    path = tmp_path / "x.yaml"
    path.write_bytes(raw)
    with pytest.raises(PriorError, match=r"^x.yaml: " + fragment):
        read_yaml(path)


def test_a_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_yaml(path) == {"a": 1}


def test_a_folder_or_an_oversized_file_is_refused_before_reading(tmp_path):
    (tmp_path / "map.yaml").mkdir()
    with pytest.raises(PriorError, match=r"^map.yaml: \(file\): is a folder"):
        read_text(tmp_path / "map.yaml")
    big = tmp_path / "big.yaml"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(PriorError, match=r"^big.yaml: \(file\): 1,048,577 bytes, more than"):
        read_text(big)


@pytest.mark.parametrize("text, fragment", [
    ("", r"\(file\): empty"),
    ("\n\n", r"\(file\): empty"),
    ("a,b\n", r"\(file\): no data rows"),
    ("a,a,b\n1,2,3\n", r"\(header\): column\(s\) \['a'\] named more than once"),
    ("a\n1\n", r"\(header\): missing column\(s\) \['b'\]"),
    ("a,b\n1,2\n3\n", r"line 3: has 1 field\(s\), the header has 2"),
    ("a,b\n1,2,3\n", r"line 2: has 3 field\(s\), the header has 2"),
])
def test_bad_csv_is_refused_naming_the_file(tmp_path, text, fragment):
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PriorError, match=r"^x.csv: " + fragment):
        read_csv(path, ("a", "b"))


def test_csv_rows_keep_their_line_numbers_and_skip_blank_lines(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('a,b\n1,2\n\n"3\n",4\n5,6\n', encoding="utf-8")
    assert read_csv(path, ("a", "b")) == [(2, {"a": "1", "b": "2"}), (5, {"a": "3\n", "b": "4"}),
                                          (6, {"a": "5", "b": "6"})]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_text_is_parsed_or_refused_naming_the_file(tmp_path, text):
    """Whatever text a YAML or CSV input file holds, the reader returns or raises a PriorError naming the file:
    never another exception."""
    for name, read in (("x.yaml", read_yaml), ("x.csv", lambda p: read_csv(p, ("a",)))):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8", newline="")
        try:
            read(path)
        except PriorError as exc:
            assert str(exc).startswith(f"{name}: "), str(exc)
