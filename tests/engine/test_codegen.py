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
    module = codegen.compiled_module()
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
    assert os.listdir(path.parent) == [path.name]   # written atomically: no temporary file left
    os.chmod(path.parent, 0o777)                      # someone else could plant code there
    with pytest.raises(SettingError, match="not a private folder"):
        codegen.module_file("npvr_model_test2", "N = 2\n")
