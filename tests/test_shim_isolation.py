"""The gcc shim's `ld` runs the linker's Python apart from the build's settings
(main.SHIM_FLAGS, native/client.c): a build directory holding a module named like
one of the standard library's, a PYTHONPATH of the project's modules, or an
LD_LIBRARY_PATH that names freshly built (here: broken) libraries must not break
the link, as they broke it before (CPython's own `make` links its extension modules
with LD_LIBRARY_PATH at its new libpython3.11.so.1.0: every link failed in numpy's
import).  The link itself and what it runs still see the caller's LD_LIBRARY_PATH
and PYTHONPATH (after the standard library's directories on sys.path)."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from e2e_util import shim_dir

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'
BOMB = 'raise ImportError("the build\'s own module was imported by the linker")\n'


def _broken_libraries(d):
    """Libraries the linker's interpreter loads (its libpython when it has one, libffi
    for ctypes, libz for zlib), each an empty file: loading any fails."""
    import sysconfig
    d.mkdir()
    names = ["libffi.so.8", "libz.so.1", sysconfig.get_config_var("INSTSONAME") or "libpython3.so"]
    for name in names:
        (d / name).write_bytes(b"")
    return names


@pytest.fixture(params=["native", "sh"])
def shim(request, tmp_path, monkeypatch):
    """The installed shim (native when a C compiler built it), or an sh shim written
    for the test by main.write_shim with no compiler on PATH."""
    d = shim_dir()
    if request.param == "native":
        with open(os.path.join(d, "ld"), "rb") as fh:
            if fh.read(2) == b"#!":
                pytest.skip("no C compiler: the installed shim is the sh script")
        return d
    import numpy
    from ldpy import main
    paths = list(dict.fromkeys([os.path.dirname(os.path.dirname(main.__file__)),
                                os.path.dirname(os.path.dirname(numpy.__file__))]))
    sh = str(tmp_path / "sh-shim")
    monkeypatch.setenv("PATH", str(tmp_path / "no-compiler"))
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    assert main.write_shim(sh, paths, "import sys; sys.path[:0] = " + repr(paths) +
                           "; from ldpy.main import entry; entry()") == "sh"
    monkeypatch.undo()
    return sh


@pytest.mark.parametrize("served", [False, True], ids=["fresh", "served"])
def test_build_settings_do_not_reach_the_linker(tmp_path, shim, served):
    build = tmp_path / "build"
    build.mkdir()
    (build / "hello.c").write_text(HELLO)
    for name in ("enum.py", "types.py", "re.py", "numpy.py"):
        (build / name).write_text(BOMB)         # the working directory's modules
    project = tmp_path / "project"
    project.mkdir()
    (project / "collections.py").write_text(BOMB)
    (project / "numpy").mkdir()
    (project / "numpy" / "__init__.py").write_text(BOMB)
    libs = tmp_path / "newlibs"
    _broken_libraries(libs)
    env = dict(os.environ, PYTHONPATH=str(project), LD_LIBRARY_PATH=str(libs),
               PYTHONHOME=str(tmp_path / "no-such-python"), PYTHONSTARTUP=str(build / "enum.py"))
    env.pop("LDPY_SERVER", None)
    log = tmp_path / "served.log"
    runtime = None
    if served:
        # (a short directory: a Unix socket path has at most 107 bytes)
        runtime = tempfile.mkdtemp(prefix="ldpy-rt-", dir="/tmp")
        env.update(LDPY_SERVER="1", XDG_RUNTIME_DIR=runtime, LDPY_SERVER_LOG=str(log))
    subprocess.run(["gcc", "-c", "hello.c"], cwd=build, check=True,       # (gcc without them)
                   env={k: v for k, v in env.items() if k != "LD_LIBRARY_PATH"})
    try:
        for n in range(3 if served else 1):
            if n == 1:              # served: the first link started the server
                _wait_for_server(runtime)
            r = subprocess.run(["gcc", "-B", shim, "hello.o", "-o", f"hello{n}"], cwd=build, env=env,
                               capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, r.stderr[-3000:]
            assert "Traceback" not in r.stderr and "ImportError" not in r.stderr
            out = subprocess.run([str(build / f"hello{n}")], capture_output=True, text=True)
            assert out.stdout == "hello\n"
        if served:                  # the later links were served
            assert log.read_text(errors="replace").count("served ") >= 2
    finally:
        if served:
            _stop_server(env, runtime)


def _wait_for_server(runtime, timeout=60):
    end = time.monotonic() + timeout
    while not glob.glob(os.path.join(runtime, "ldpy", "srv-*.sock")):
        assert time.monotonic() < end, "no link server came up"
        time.sleep(0.05)


def _stop_server(env, runtime):
    """`python -m ldpy --server-stop` in the test's runtime directory (an ordinary
    Python program: run without the build's settings), then the directory removed."""
    plain = {k: v for k, v in env.items() if k not in ("LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME",
                                                        "PYTHONSTARTUP")}
    subprocess.run([sys.executable, "-m", "ldpy", "--server-stop"], env=plain, capture_output=True)
    shutil.rmtree(runtime, ignore_errors=True)


def test_the_link_gets_the_callers_environment_back(monkeypatch):
    """What the shim moved aside for the interpreter is the link's again: the
    caller's LD_LIBRARY_PATH (or none), and PYTHONPATH's directories at the end of
    sys.path (plugins found there, never a standard module)."""
    from ldpy import main
    path = list(sys.path)
    try:
        monkeypatch.setenv("LDPY_CALLER_ENV", "1")
        monkeypatch.setenv("LDPY_CALLER_LD_LIBRARY_PATH", "/callers/lib")
        monkeypatch.setenv("LD_LIBRARY_PATH", "/interpreters/lib")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/plugins/a", "", "/plugins/b"]))
        main._take_caller_environment()
        assert os.environ["LD_LIBRARY_PATH"] == "/callers/lib"
        assert "LDPY_CALLER_ENV" not in os.environ and "LDPY_CALLER_LD_LIBRARY_PATH" not in os.environ
        assert sys.path[:len(path)] == path and sys.path[len(path):] == ["/plugins/a", "/plugins/b"]
        monkeypatch.setenv("LDPY_CALLER_ENV", "1")           # the caller had none
        main._take_caller_environment()
        assert "LD_LIBRARY_PATH" not in os.environ
        monkeypatch.setenv("LD_LIBRARY_PATH", "/x")          # not started by the shim: as it is
        main._take_caller_environment()
        assert os.environ["LD_LIBRARY_PATH"] == "/x"
    finally:
        sys.path[:] = path


def test_shim_passes_the_callers_library_path(tmp_path, shim):
    """The shim hands the interpreter its own LD_LIBRARY_PATH and the caller's aside:
    a Python program run the shim's way sees both (the shim's `ld` with a boot that
    prints them instead of linking is too much machinery: the sh script is read)."""
    text = open(os.path.join(shim, "ld"), "rb").read()
    if text.startswith(b"#!"):
        script = text.decode()
        assert "-I' '-S' '-c'" in script
        fake = tmp_path / "fake-ld"
        boot = ("import os; print(os.environ.get('LD_LIBRARY_PATH'), os.environ.get('LDPY_CALLER_LD_LIBRARY_PATH'),"
                " os.environ.get('LDPY_CALLER_ENV'))")
        fake.write_text(script.split("exec ")[0] + f"exec {sys.executable} -I -S -c \"{boot}\"\n")
        fake.chmod(0o755)
        for caller, want in (("/callers/lib", "/callers/lib"), (None, "None")):
            env = dict(os.environ)
            env.pop("LD_LIBRARY_PATH", None)
            if caller:
                env["LD_LIBRARY_PATH"] = caller
            out = subprocess.run([str(fake)], env=env, capture_output=True, text=True).stdout.split()
            assert out[1:] == [want, "1"]
            assert out[0] == "None"                  # (the shim was written with none)
    else:
        assert b"LDPY_CALLER_LD_LIBRARY_PATH" in text and b"LDPY_CALLER_ENV" in text
