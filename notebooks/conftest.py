"""The notebooks run in the test command (nbmake); they take minutes (one calibrates), so they are ``slow``."""

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(item.path).parent == HERE and item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
