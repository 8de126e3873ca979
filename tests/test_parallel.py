"""--threads / --no-threads / --thread-count: the output is written by forked
worker processes (ldpy/parallel.py), and its bytes do not depend on how many.

LDPY_SPLIT_ALWAYS=1 makes even these small links split their writing into
many shares (a real link only splits when there is enough work), so the
workers really run here; one test counts them."""
import os

import pytest

from e2e_util import compile_obj, gcc_link_argv, link, prog, run_exe, IS_LDPY

from ldpy import parallel
from ldpy.diag import LinkError

pytestmark = pytest.mark.skipif(not IS_LDPY, reason="ldpy's own option")

SQLITE_EXPECTED = ("id=3 name=cherry price=7.0\n"
                   "id=1 name=apple price=1.25\n"
                   "id=2 name=banana price=0.5\n"
                   "n=3 total=8.75 names=apple+banana+cherry\n"
                   "u=APPLE x=5\n"
                   "u=BANANA x=12\n"
                   "bound: 42 bound!\n"
                   "threadsafe=1\n")


def _links(tmp_path, name, inputs, flags, counts, compiler="gcc", static=True):
    """The bytes of the same link written with each --threads count."""
    outs = {}
    for n in counts:
        opt = "-Wl,--no-threads" if n == "no" else f"-Wl,--threads={n}"
        path, _ = link(tmp_path, f"{name}-{n}", inputs, [*flags, opt], compiler=compiler, static=static)
        with open(path, "rb") as fh:
            outs[n] = fh.read()
    return outs


@pytest.fixture
def split_always(monkeypatch):
    monkeypatch.setenv("LDPY_SPLIT_ALWAYS", "1")


@pytest.mark.slow
def test_static_sqlite_same_bytes(tmp_path, split_always):
    outs = _links(tmp_path, "sqlite", [prog("sqlite_demo.c")],
                  ["-O2", "-g", "-lsqlite3", "-lm", "-lpthread", "-ldl"], [1, 2, 4, "no"])
    assert outs[1] == outs[2] == outs[4] == outs["no"]
    assert run_exe(tmp_path / "sqlite-2").stdout == SQLITE_EXPECTED


@pytest.mark.slow
def test_cxx_program_same_bytes(tmp_path, split_always):
    objs = [compile_obj(tmp_path, prog(s), ["-O1", "-g"]) for s in ("cxx_main.cpp", "cxx_lib.cpp")]
    outs = _links(tmp_path, "cxx", objs, ["-pthread"], [1, 2, 3], compiler="g++", static=False)
    assert outs[1] == outs[2] == outs[3]
    assert "caught" in run_exe(tmp_path / "cxx-3").stdout


@pytest.mark.slow
def test_shared_library_same_bytes(tmp_path, split_always):
    outs = _links(tmp_path, "libcxx.so", [prog("cxx_lib.cpp")], ["-shared", "-fPIC", "-O1"], [1, 2, 4],
                  compiler="g++", static=False)
    assert outs[1] == outs[2] == outs[4]


def test_workers_really_write(tmp_path, monkeypatch, split_always):
    """In-process link: with --threads=3 the section copy forks two workers and
    .symtab one more; with --no-threads none; the bytes are the same."""
    from ldpy.main import main
    started = []
    real = parallel.Worker.__init__

    def counting(self, fn):
        started.append(fn)
        real(self, fn)
    monkeypatch.setattr(parallel.Worker, "__init__", counting)
    obj = compile_obj(tmp_path, prog("hello.c"), ["-O1"])
    argv = gcc_link_argv(tmp_path, [obj])
    monkeypatch.chdir(tmp_path)
    images = {}
    for opt in ("--threads=3", "--no-threads"):
        del started[:]
        out = str(tmp_path / f"hello{opt}")
        assert main([*argv, opt, "-o", out]) == 0
        images[opt] = open(out, "rb").read()
        assert len(started) == (3 if opt == "--threads=3" else 0), opt
    assert images["--threads=3"] == images["--no-threads"]
    assert "hello" in run_exe(tmp_path / "hello--threads=3").stdout.lower()


def test_thread_count_options():
    from ldpy.cli import parse_args
    assert parallel.thread_count(parse_args(["--threads=3", "x.o"])) == 3
    assert parallel.thread_count(parse_args(["--thread-count", "2", "x.o"])) == 2
    assert parallel.thread_count(parse_args(["--no-threads", "x.o"])) == 1
    assert parallel.thread_count(parse_args(["--threads", "x.o"])) == len(os.sched_getaffinity(0))
    assert parallel.thread_count(parse_args(["x.o"])) == len(os.sched_getaffinity(0))


def _fail():
    raise LinkError("broken.o: section .text: something is wrong")


def _crash():
    raise KeyError("oops")


def test_worker_errors_come_back():
    """A worker's LinkError is raised again in the parent with its one-line
    message; the first share's error wins, as in a serial run."""
    done = []
    with pytest.raises(LinkError, match=r"^broken.o: section .text: something is wrong$"):
        parallel.run_shares([lambda: done.append(1), _fail, _crash])
    assert done == [1]
    with pytest.raises(RuntimeError, match="in an output worker: KeyError: 'oops' at test_parallel.py"):
        parallel.run_shares([lambda: None, _crash, _fail])
    with pytest.raises(LinkError, match="mine"):
        parallel.run_shares([lambda: (_ for _ in ()).throw(LinkError("mine")), _fail])


def test_worker_killed_is_an_error():
    def die():
        os.kill(os.getpid(), 9)
    with pytest.raises(RuntimeError, match="killed by signal 9"):
        parallel.run_shares([lambda: None, die])


def test_split_by_weight():
    assert parallel.split_by_weight([1] * 10, 1) == [(0, 10)]
    assert parallel.split_by_weight([1] * 10, 2) == [(0, 5), (5, 10)]
    assert parallel.split_by_weight([100, 1, 1, 1], 2) == [(0, 1), (1, 4)]
    assert parallel.split_by_weight([1, 1, 100], 3) == [(0, 3)]      # (nothing to split)
    r = parallel.split_by_weight([3, 1, 4, 1, 5, 9, 2, 6], 4)
    assert r[0][0] == 0 and r[-1][1] == 8 and all(a[1] == b[0] for a, b in zip(r, r[1:]))


def test_workers_with_sigchld_ignored():
    """Started with SIGCHLD ignored (the kernel then reaps the workers itself),
    the results still come back through the pipes."""
    import signal
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        parallel.run_shares([lambda: None, lambda: None])
        with pytest.raises(LinkError, match="broken.o"):
            parallel.run_shares([lambda: None, _fail])
    finally:
        signal.signal(signal.SIGCHLD, old)
