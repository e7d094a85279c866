"""The generated and compiled model (``model.engine.codegen``): its cache key covers every module whose code ends up
in it, first use is safe from two threads, the generated file is checked before import, and an unusable cache
folder is an error (or a fallback) that says so."""

import inspect
import os
import subprocess
import sys
import tempfile
import types

import pytest

from model.engine import codegen
from model.errors import SettingError
from model.paths import REPO


def _referenced_modules(module) -> set[str]:
    """The ``model.*`` modules of every function the generated module can call, following each Python function's
    globals through the names its code uses (what numba compiles in)."""
    seen_funcs, modules = set(), set()
    todo = [v for v in vars(module).values() if callable(v)]
    while todo:
        f = todo.pop()
        f = getattr(f, "py_func", f)
        if not isinstance(f, types.FunctionType) or id(f) in seen_funcs:
            continue
        seen_funcs.add(id(f))
        if (f.__module__ or "").startswith("model."):
            modules.add(f.__module__)
        code_names = set(f.__code__.co_names)
        for const in f.__code__.co_consts:          # nested code objects (closures, comprehensions)
            if isinstance(const, types.CodeType):
                code_names |= set(const.co_names)
        for name in code_names:
            g = f.__globals__.get(name)
            if callable(g) or inspect.ismodule(g):
                todo.append(g)
    return modules


def test_the_cache_key_covers_every_module_compiled_in():
    module = codegen.compiled_module().module
    files = set(codegen.dependency_files())
    referenced = _referenced_modules(module)
    assert {"model.deelopgaven.capaciteit", "model.deelopgaven.kernels", "model.engine.blocks",
            "model.engine.rng", "model.engine.numerics"} <= referenced
    for name in referenced:
        path = codegen._module_file(name)
        assert path in files, name
    # and what registers the kernels with numba, and the family codes the steps compare against
    assert REPO / "model" / "engine" / "codegen.py" in files
    assert REPO / "model" / "spec" / "families.py" in files


def test_a_changed_generated_file_is_rewritten_before_import(tmp_path):
    """Code appended to the generated module in the cache is not run: the file must hold exactly the generated
    source, else it is written again."""
    path = tmp_path / "npvr_model_x.py"
    path.write_text("N = 1\nimport os; os.environ['NPVR_PLANTED'] = '1'\n", encoding="utf-8")
    assert codegen._write_once(path, "N = 1\n") == path
    assert path.read_text(encoding="utf-8") == "N = 1\n"


@pytest.mark.slow
def test_first_use_from_two_threads_at_once(tmp_path):
    """The generated module is imported once, completely, even when two threads ask for it first; with an empty
    cache it is not compiled before that run, and a new process finds the machine code in the cache."""
    code = ("from model.engine import codegen, run; before = codegen.is_compiled(); "
            "r = run.run(draws=20000, seed=1, threads=2, chunk_size=2048); "
            "print(before, codegen.is_compiled(), r.stats.n)")
    env = dict(os.environ, NPVR_CACHE=str(tmp_path))
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False True 20000"
    code = "from model.engine import codegen; print(codegen.is_compiled(), codegen.cache_location())"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", str(tmp_path / "__pycache__")]
    assert any(f.suffix == ".nbi" and "run_chunk" in f.name for f in (tmp_path / "__pycache__").iterdir())


def test_an_unusable_npvr_cache_is_an_error_naming_it(tmp_path, monkeypatch):
    """NPVR_CACHE under a plain file: a SettingError that names the variable and the folder, no traceback from the
    command line (exit 2), and nothing written."""
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("NPVR_CACHE", str(blocker / "cache"))
    with pytest.raises(SettingError, match=rf"^NPVR_CACHE={blocker / 'cache'}: cannot write .*Not a directory"):
        codegen.module_file("npvr_model_test", "N = 1\n")
    out = subprocess.run([sys.executable, "cli.py", "run", "--draws", "1000", "--out", str(tmp_path / "runs")],
                         cwd=REPO, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, NPVR_CACHE=str(blocker / "cache")))
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.startswith(f"error: NPVR_CACHE={blocker / 'cache'}: cannot write"), out.stderr[-2000:]
    assert not (tmp_path / "runs").exists()


def test_an_unusable_default_cache_falls_back_to_a_private_temporary_folder(tmp_path, monkeypatch):
    """Without NPVR_CACHE and with ~/.cache unusable (a read-only home on a compute node), the generated module goes
    to a private folder under the temporary folder, with a warning that says where and how to choose; a folder of
    that name that others can write is refused."""
    home = tmp_path / "home_is_a_file"
    home.write_text("")
    monkeypatch.delenv("NPVR_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with pytest.warns(RuntimeWarning, match=r"\.cache/npvr-model: cannot write .* using .* \(set NPVR_CACHE"):
        path = codegen.module_file("npvr_model_test", "N = 1\n")
    assert path == tmp_path / "tmp" / f"npvr-model-{os.getuid()}" / "npvr_model_test.py"
    assert path.read_text() == "N = 1\n"
    assert sorted(os.listdir(path.parent)) == ["__pycache__", path.name]   # written atomically: no temporary file
    assert os.listdir(path.parent / "__pycache__") == []                    # (numba's cache goes in __pycache__)
    os.chmod(path.parent, 0o777)                      # someone else could plant code there
    with pytest.raises(SettingError, match="not a private folder"):
        codegen.module_file("npvr_model_test2", "N = 2\n")


# ------------------------------------------------------------------------------- a damaged or read-only cache
def _run_with_cache(cache, out) -> subprocess.CompletedProcess:
    env = dict(os.environ, NPVR_CACHE=str(cache))
    env.pop("NUMBA_CACHE_DIR", None)
    return subprocess.run([sys.executable, "cli.py", "run", "--draws", "1000", "--seed", "7", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def compiled_cache(tmp_path_factory):
    """An NPVR_CACHE folder holding the compiled model (a first run compiles it, ~10-20 s), and that run's
    summary."""
    root = tmp_path_factory.mktemp("compiled")
    proc = _run_with_cache(root / "cache", root / "runs")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (summary,) = (root / "runs").glob("run-*/summary.csv")
    return root / "cache", summary.read_bytes()


def _damage(cache, suffix: str) -> list:
    files = sorted((cache / "__pycache__").glob(f"npvr_model_*.run_chunk-*{suffix}"))
    assert files, sorted(p.name for p in (cache / "__pycache__").iterdir())
    for f in files:
        if suffix == ".nbc":
            f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])      # truncated (a full disk, a killed write)
        else:
            f.write_bytes(b"\x00not a numba index\xff" * 8)             # overwritten
    return files


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".nbc", ".nbi"])
def test_a_damaged_machine_code_cache_is_recompiled_with_a_warning(compiled_cache, suffix, tmp_path):
    """On a78215f every run after a damaged .nbc/.nbi failed with a traceback until the cache was deleted by hand.
    Now the run warns, removes that module's cache files and compiles again, with the same numbers; the run
    after it loads the repaired cache without a word."""
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(compiled_cache[0], cache)
    _damage(cache, suffix)
    proc = _run_with_cache(cache, tmp_path / "runs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [x for x in proc.stderr.splitlines() if "damaged" in x]
    assert line.startswith("warning: ") and "numba's cache of the compiled model is damaged" in line, proc.stderr
    assert "compiling again" in line and "Traceback" not in proc.stderr
    assert "compiled_module()" not in proc.stderr       # one line for people, not the source line that warned
    again = _run_with_cache(cache, tmp_path / "runs")
    assert again.returncode == 0 and "damaged" not in again.stderr, again.stderr[-3000:]
    summaries = [p.read_bytes() for p in sorted((tmp_path / "runs").glob("run-*/summary.csv"))]
    assert summaries == [compiled_cache[1]] * 2


@pytest.mark.slow
def test_a_read_only_npvr_cache_is_an_error_not_a_silent_recompile_elsewhere(compiled_cache, tmp_path):
    """On a78215f a read-only NPVR_CACHE that held a cache made numba recompile into ~/.cache/numba while the run
    said it used NPVR_CACHE. Now it is an error naming the variable (exit 2), before any work."""
    import shutil

    from support import remount_readonly, tmpfs

    with tmpfs(tmp_path / "ro", "64m") as disk:
        shutil.copytree(compiled_cache[0], disk / "cache")
        remount_readonly(disk)
        proc = _run_with_cache(disk / "cache", tmp_path / "runs")
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.startswith(f"error: NPVR_CACHE={disk / 'cache'}: cannot write the compiled model's cache "
                                  "there (Read-only file system)"), proc.stderr[-3000:]
    assert not (tmp_path / "runs").exists()
