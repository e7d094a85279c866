"""Reading the input files (prior and year YAML, scenario TOML, data CSV): one reader per format, each refusing
what it cannot read with a :class:`~model.errors.PriorError` that names the file (and the line where there is one).

Every input file is read the same way first (:func:`read_text`): it must be a file (not a folder), at most
:data:`MAX_FILE_BYTES` bytes, and UTF-8 text (a leading byte-order mark is allowed and dropped). Then:

- YAML (:func:`read_yaml`): PyYAML's safe loader (the C one where available), refusing duplicate keys and a
  document that stands for more than :data:`MAX_YAML_VALUES` values once its aliases (``&a`` / ``*a``) are
  expanded: an alias lets a few hundred bytes stand for gigabytes of nested values (a "billion laughs" document).
  The count is made on the parsed node graph before any value is built.
- CSV (:func:`read_csv`): a header with the required columns, each named once; at least one data row; every row
  with as many fields as the header (a short or long row is refused, not padded). Blank lines are skipped.

A message never quotes more of a value than :func:`model.spec.distributions.short` allows.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any, Iterable

import yaml

from model.errors import PriorError
from model.spec.distributions import short

MAX_FILE_BYTES = 1 << 20   # an input file larger than this is refused before it is parsed
BOM = "\ufeff"
#: The most values (scalars, lists, mappings) a YAML input file may stand for, its aliases expanded.
MAX_YAML_VALUES = 200_000


def read_text(path: str | Path, what: str = "file") -> str:
    """A text input file as UTF-8, or a :class:`PriorError` naming it (missing, a folder, too large, not UTF-8)."""
    path = Path(path)
    if path.is_dir():
        raise PriorError(f"{path.name}: (file): is a folder, expected a {what}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PriorError(f"{path.name}: (file): cannot read the {what} ({exc.strerror or exc})") from None
    if size > MAX_FILE_BYTES:
        raise PriorError(f"{path.name}: (file): {size:,} bytes, more than the {MAX_FILE_BYTES:,} an input {what} "
                         "may have")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PriorError(f"{path.name}: (file): not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise PriorError(f"{path.name}: (file): cannot read the {what} ({exc.strerror or exc})") from None
    return text[1:] if text.startswith(BOM) else text


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes (the manifests' input hashes)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------- YAML
class _StrictLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    file_name = ""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    path = loader.__dict__.setdefault("key_path", [])
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise PriorError(f"{loader.file_name}: (line {key_node.start_mark.line + 1}): a key must be a plain "
                             f"value, got {short(key)}")
        if key in mapping:
            # name the entry (the key under `entries`), or the key itself at the top of the file
            if path == ["entries"] or not path:
                entry = key
            else:
                entry = path[1] if len(path) >= 2 and path[0] == "entries" else path[0]
            what = key if entry != key else "(entry)"
            raise PriorError(f"{loader.file_name}: {entry}: duplicate key {what!r} "
                             f"(line {key_node.start_mark.line + 1})")
        path.append(key)
        try:
            mapping[key] = loader.construct_object(value_node, deep=True)
        finally:
            path.pop()
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_expansion(name: str, root: yaml.Node) -> None:
    """Count the values the document stands for, each alias counted as a full copy of what it names (memoised:
    linear in the file), and refuse a document that stands for more than :data:`MAX_YAML_VALUES`."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key not in sizes:
            sizes[key] = 1    # a cycle (an alias inside the value it names) counts once
            if isinstance(node, yaml.MappingNode):
                sizes[key] = 1 + sum(size(k) + size(v) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                sizes[key] = 1 + sum(size(v) for v in node.value)
        return sizes[key]

    total = size(root)
    if total > MAX_YAML_VALUES:
        raise PriorError(f"{name}: (file): stands for {total:,} values through YAML aliases (&name, *name), more "
                         f"than the {MAX_YAML_VALUES:,} an input file may have; write the values out")


def read_yaml(path: str | Path) -> Any:
    """Parse one YAML input file safely (see the module docstring); errors name the file and line."""
    name = Path(path).name
    text = read_text(path, "YAML file")
    loader = _StrictLoader(text)
    loader.file_name = name
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(name, node)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PriorError(f"{name}: (file): invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise PriorError(f"{name}: (file): nested too deeply") from None
    finally:
        loader.dispose()


# ----------------------------------------------------------------------------------------------- CSV
def read_csv(path: str | Path, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """The data rows of a CSV input file as ``(line, {column: text})``, checked as the module docstring says."""
    path = Path(path)
    if not path.exists():
        raise PriorError(f"{path.name}: (file): data file missing")
    text = read_text(path, "CSV file")
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise PriorError(f"{path.name}: (file): empty; expected a header with the columns {sorted(required)}")
        doubled = sorted({h for h in header if header.count(h) > 1})
        if doubled:
            raise PriorError(f"{path.name}: (header): column(s) {doubled} named more than once")
        missing = sorted(set(required) - set(header))
        if missing:
            raise PriorError(f"{path.name}: (header): missing column(s) {missing}")
        rows = []
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != len(header):
                raise PriorError(f"{path.name}: line {reader.line_num}: has {len(fields)} field(s), the header "
                                 f"has {len(header)}")
            rows.append((reader.line_num, dict(zip(header, fields))))
    except csv.Error as exc:
        raise PriorError(f"{path.name}: line {reader.line_num}: not valid CSV ({exc})") from None
    if not rows:
        raise PriorError(f"{path.name}: (file): no data rows below the header")
    return rows
