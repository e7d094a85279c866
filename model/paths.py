"""Where the embedded inputs live: the folders beside the ``model`` package in the project's checkout (the
project is installed editable, ``pip install -e .``). The one definition of these paths."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRIORS_DIR = REPO / "priors"
DATA_DIR = REPO / "data"
SCENARIOS_DIR = REPO / "scenarios"
RUNS_DIR = REPO / "runs"


def cache_folder() -> tuple[Path, bool]:
    """The folder of the compiled model and the fit cache (``$NPVR_CACHE``, else ``~/.cache/npvr-model``), and
    whether it came from ``$NPVR_CACHE``."""
    import os

    if os.environ.get("NPVR_CACHE"):
        return Path(os.environ["NPVR_CACHE"]), True
    return Path(os.path.expanduser("~")) / ".cache" / "npvr-model", False


def private_fallback() -> Path:
    """``<tmp>/npvr-model-<uid>``, the cache folder when the default one cannot be written: used only if this user
    owns it and nobody else can write to it (a folder someone else planted there is refused)."""
    import os
    import stat
    import tempfile

    from model.errors import SettingError

    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"npvr-model-{uid}"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o022:
        raise SettingError(f"NPVR_CACHE (unset): the fallback cache folder {folder} is not a private folder of this "
                           "user (owner, type or permissions differ); set NPVR_CACHE to a folder of your own")
    return folder
