"""The architecture as the code must keep it: the layers of the ``model`` package (import-linter, configured in
``pyproject.toml``), no path of a build machine in the repository, and the README naming every subpackage."""

from __future__ import annotations

import re
import subprocess

from model.paths import REPO


def test_the_layers_are_kept():
    """``lint-imports`` with the contract in pyproject.toml: every module imports only from the layers below it."""
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def _tracked_text_files() -> list:
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    out = []
    for name in names:
        path = REPO / name
        if path.suffix in (".py", ".md", ".yaml", ".toml", ".csv", ".json", ".ipynb", ".txt", "") and path.is_file():
            out.append(path)
    return out


#: Absolute paths of a machine: a folder under the roots below, or a Windows drive (a path in a message or an
#: example of a shared cluster folder is written relative or as <placeholder>). Built from parts, so that this
#: file does not match itself.
ROOTS = ("work", "home", "root", "Users")
ABSOLUTE = re.compile(r"(?<![\w.~<>])(" + "|".join(f"/{r}/" for r in ROOTS) + r"|\b[A-Z]:\\)")


def test_no_absolute_paths_in_the_repository():
    found = []
    for path in _tracked_text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if ABSOLUTE.search(line):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:100]}")
    assert found == []


def test_the_readme_names_every_subpackage():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.name for p in (REPO / "model").glob("*/__init__.py"))
    assert packages == ["analysis", "commands", "deelopgaven", "engine", "jobs", "output", "spec"]
    for name in packages:
        assert f"model/{name}/" in readme, name
