"""--threads / --no-threads / --thread-count: the output is written by forked
worker processes (ldpy/parallel.py), and its bytes do not depend on how many.

LDPY_SPLIT_ALWAYS=1 makes even these small links split their writing into
many shares (a real link only splits when there is enough work), so the
workers really run here; one test counts them."""
import os
import shutil

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
    """In-process link: with --threads=3 two workers are forked (each copies and
    relocates a share, the last fills .symtab too); with --no-threads none; the
    bytes are the same."""
    from ldpy.main import main
    started = []
    real = parallel.Beside.__init__

    def counting(self, fn, talk=False):
        started.append(fn)
        real(self, fn, talk)
    monkeypatch.setattr(parallel.Beside, "__init__", counting)
    obj = compile_obj(tmp_path, prog("hello.c"), ["-O1"])
    argv = gcc_link_argv(tmp_path, [obj])
    monkeypatch.chdir(tmp_path)
    images = {}
    for opt in ("--threads=3", "--no-threads"):
        del started[:]
        out = str(tmp_path / f"hello{opt}")
        assert main([*argv, opt, "-o", out]) == 0
        images[opt] = open(out, "rb").read()
        assert len(started) == (2 if opt == "--threads=3" else 0), opt
    assert images["--threads=3"] == images["--no-threads"]
    assert "hello" in run_exe(tmp_path / "hello--threads=3").stdout.lower()


def test_thread_count_options():
    from ldpy.cli import parse_args
    assert parallel.thread_count(parse_args(["--threads=3", "x.o"])) == 3
    assert parallel.thread_count(parse_args(["--thread-count", "2", "x.o"])) == 2
    assert parallel.thread_count(parse_args(["--no-threads", "x.o"])) == 1
    assert parallel.thread_count(parse_args(["--threads", "x.o"])) == len(os.sched_getaffinity(0))
    assert parallel.thread_count(parse_args(["x.o"])) == len(os.sched_getaffinity(0))


def _fail(*_):
    raise LinkError("broken.o: section .text: something is wrong")


def _crash(*_):
    raise KeyError("oops")


def test_worker_errors_come_back():
    """A worker's LinkError is raised again in the parent with its one-line
    message, at the message or result the parent waits for; anything else as
    an internal error naming the place."""
    with pytest.raises(LinkError, match=r"^broken.o: section .text: something is wrong$"):
        parallel.Beside(_fail, talk=True).message()
    with pytest.raises(RuntimeError, match="in a worker beside the link: KeyError: 'oops' at test_parallel.py"):
        parallel.Beside(_crash).result()

    def talks(receive, send):
        send("copied")
        assert receive() == "go"
        send(receive() * 2)
        return "done"
    w = parallel.Beside(talks, talk=True)
    assert w.message() == "copied"
    w.send("go")
    w.send(21)
    assert w.message() == 42 and w.result() == "done"


def test_worker_killed_is_an_error():
    def die(*_):
        os.kill(os.getpid(), 9)
    with pytest.raises(RuntimeError, match="killed by signal 9"):
        parallel.Beside(die, talk=True).message()


def test_split_by_weight():
    assert parallel.split_by_weight([1] * 10, 1) == [(0, 10)]
    assert parallel.split_by_weight([1] * 10, 2) == [(0, 5), (5, 10)]
    assert parallel.split_by_weight([100, 1, 1, 1], 2) == [(0, 1), (1, 4)]
    assert parallel.split_by_weight([1, 1, 100], 3) == [(0, 3)]      # (nothing to split)
    r = parallel.split_by_weight([3, 1, 4, 1, 5, 9, 2, 6], 4)
    assert r[0][0] == 0 and r[-1][1] == 8 and all(a[1] == b[0] for a, b in zip(r, r[1:]))


def test_workers_with_sigchld_ignored():
    """Started with SIGCHLD ignored (the kernel then reaps the workers itself),
    the results still come back through the sockets."""
    import signal
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        assert parallel.Beside(lambda *_: 7).result() == 7
        with pytest.raises(LinkError, match="broken.o"):
            parallel.Beside(_fail, talk=True).message()
    finally:
        signal.signal(signal.SIGCHLD, old)


# -- relocations applied in shares (write.relocate_all, parallel.plan_rows) -------------

def _ld_argv(tmp, inputs, flags=(), compiler="gcc"):
    """The ld command line the compiler driver would run (gcc -###), without -o's path."""
    import shlex
    from e2e_util import run
    r = run([compiler, *map(str, inputs), *flags, "-o", "a.out", "-###"], cwd=tmp)
    for line in r.stderr.splitlines():
        words = shlex.split(line)
        if words and os.path.basename(words[0]) in ("collect2", "ld"):
            return words[1:]
    raise AssertionError("no collect2 line in the driver's -### output:\n" + r.stderr)


def _link_in_shares(tmp_path, monkeypatch, argv, name, counts=(1, 4), status=0):
    """Link argv in this process with each --threads count (LDPY_SPLIT_ALWAYS=1):
    {count: output bytes or None}, {count: the parts the workers' shares handed
    back (reloc_policy.Deferred.share: dyn, overflows, log, rows)}."""
    from ldpy import reloc_policy
    from ldpy.main import main
    monkeypatch.setenv("LDPY_SPLIT_ALWAYS", "1")
    monkeypatch.chdir(tmp_path)
    parts = []
    real = reloc_policy.Deferred.merge

    def merge(self, ctx, part):
        parts.append(part)
        return real(self, ctx, part)
    monkeypatch.setattr(reloc_policy.Deferred, "merge", merge)
    images, shares = {}, {}
    for n in counts:
        del parts[:]
        out = tmp_path / f"{name}-{n}"
        assert main([*argv, f"--threads={n}", "-o", str(out)]) == status
        images[n] = out.read_bytes() if out.exists() else None
        shares[n] = list(parts)
    return images, shares


def _worker_rows(parts):
    return [p[3] for p in parts]


def _worker_log(parts, what):
    return [k for p in parts for w, k, _ in p[2] if w == what]


@pytest.mark.slow
def test_relocations_in_shares_pie(tmp_path, monkeypatch):
    """A dynamic PIE (C++: exceptions, TLS, -g): workers apply most rows and hand
    back RELATIVE and absolute dynamic relocations; .rela.dyn, GOT and every other
    byte as with one process."""
    flags = ["-O1", "-g", "-ffunction-sections", "-fPIE"]
    objs = [compile_obj(tmp_path, prog(s), flags) for s in ("cxx_main.cpp", "cxx_lib.cpp")]
    argv = _ld_argv(tmp_path, objs, ["-pie", "-pthread"], compiler="g++")
    images, shares = _link_in_shares(tmp_path, monkeypatch, argv, "pie", counts=(1, 2, 4))
    assert images[1] == images[2] == images[4]
    # (LDPY_SPLIT_ALWAYS puts .symtab in the last worker, which relocates nothing)
    assert shares[1] == [] and shares[2] == [] and len(shares[4]) == 2
    assert all(r > 0 for r in _worker_rows(shares[4]))
    relative = [len(part) for p in shares[4] for part in p[0][1]]
    assert sum(relative) > 0                        # RELATIVE rows made in workers
    assert "caught" in run_exe(tmp_path / "pie-4").stdout


@pytest.mark.slow
def test_relocations_in_shares_shared_library(tmp_path, monkeypatch):
    obj = compile_obj(tmp_path, prog("cxx_lib.cpp"), ["-O1", "-g", "-fPIC", "-ffunction-sections"])
    argv = _ld_argv(tmp_path, [obj], ["-shared"], compiler="g++")
    images, shares = _link_in_shares(tmp_path, monkeypatch, argv, "lib.so", counts=(1, 3))
    assert images[1] == images[3]
    assert len(shares[3]) == 1 and all(r > 0 for r in _worker_rows(shares[3]))
    assert sum(len(part) for p in shares[3] for part in p[0][0]) > 0     # symbolic R_X86_64_64


def test_relocations_in_shares_static_ifunc(tmp_path, monkeypatch):
    """A static program with IFUNCs: IPLT resolvers recorded by a worker's rows
    reach .got.plt, IRELATIVE rows .rela.plt."""
    objs = [compile_obj(tmp_path, prog(s), ["-O1"]) for s in ("ifunc_main.c", "ifunc_impl.c", "ifunc_other.c")]
    argv = _ld_argv(tmp_path, objs, ["-static"])
    images, shares = _link_in_shares(tmp_path, monkeypatch, argv, "ifunc", counts=(1, 4))
    assert images[1] == images[4]
    assert _worker_log(shares[4], "iplt")
    out = run_exe(tmp_path / "ifunc-4").stdout
    assert "direct=1003" in out and "resolver ran=1" in out and "equal main/other=1" in out


@pytest.mark.parametrize("mode", [["-static"], ["-pie"], ["-static-pie"]])
def test_relocations_in_shares_tls(tmp_path, monkeypatch, mode):
    """TLS across objects: GD/LD/IE relaxed (static) or kept with GOT slots (PIE)."""
    objs = [compile_obj(tmp_path, prog("tls_main.c"), ["-O1", "-fPIE"]),
            compile_obj(tmp_path, prog("tls_defs.c"), ["-O1", "-fPIC"]),
            compile_obj(tmp_path, prog("tls_use.c"), ["-O1", "-fPIC", "-mtls-dialect=gnu2"])]
    argv = _ld_argv(tmp_path, objs, [*mode, "-pthread"])
    images, shares = _link_in_shares(tmp_path, monkeypatch, argv, "tls", counts=(1, 3))
    assert images[1] == images[3]
    assert len(shares[3]) == 1 and all(r > 0 for r in _worker_rows(shares[3]))
    assert "distinct=1" in run_exe(tmp_path / "tls-3").stdout


def test_relocations_in_shares_relr(tmp_path, monkeypatch):
    """-z pack-relative-relocs: RELATIVE rows of the workers' shares packed into .relr.dyn."""
    objs = [compile_obj(tmp_path, prog(s), ["-O1", "-fPIE"]) for s in ("ifunc_main.c", "ifunc_impl.c",
                                                                      "ifunc_other.c", "hello.c")[:3]]
    argv = _ld_argv(tmp_path, objs, ["-pie", "-Wl,-z,pack-relative-relocs"])
    images, shares = _link_in_shares(tmp_path, monkeypatch, argv, "relr", counts=(1, 4))
    assert images[1] == images[4]
    assert all(r > 0 for r in _worker_rows(shares[4]))
    from e2e_util import readelf
    assert ".relr.dyn" in readelf("-S", tmp_path / "relr-4")
    assert "resolver ran=1" in run_exe(tmp_path / "relr-4").stdout


def test_relocations_in_shares_emit_relocs(tmp_path, monkeypatch):
    """--emit-relocs reads every row's place and the relaxed instructions after the
    workers relocated theirs: .rela.text as with one process."""
    objs = [compile_obj(tmp_path, prog(s), ["-O1", "-ffunction-sections"]) for s in ("ifunc_main.c", "ifunc_impl.c")]
    objs.append(compile_obj(tmp_path, prog("ifunc_other.c"), ["-O1"]))
    argv = _ld_argv(tmp_path, objs, ["-static", "-Wl,--emit-relocs"])
    images, shares = _link_in_shares(tmp_path, monkeypatch, argv, "emit", counts=(1, 4))
    assert images[1] == images[4]
    assert len(shares[4]) == 3 and all(r > 0 for r in _worker_rows(shares[4]))   # (.symtab in the parent)
    from e2e_util import readelf
    assert "Relocation section '.rela.text'" in readelf("-r", tmp_path / "emit-4")


I386_CC, I386_LIBDIR = "i686-linux-gnu-gcc", "/usr/i686-linux-gnu/lib"


@pytest.mark.skipif(shutil.which(I386_CC) is None or not os.path.exists(I386_LIBDIR + "/ld-linux.so.2"),
                    reason="needs gcc-i686-linux-gnu (CI installs it)")
@pytest.mark.parametrize("mode", [["-static"], ["-pie"]])
def test_relocations_in_shares_i386(tmp_path, monkeypatch, mode):
    """i386 (REL inputs, addends in the places) takes the same path: TLS relaxed
    (static) or through GOT slots and dynamic relocations (PIE)."""
    from e2e_util import run
    for s, pic in (("tls_main.c", "-fPIE"), ("tls_defs.c", "-fPIC"), ("tls_use.c", "-fPIC")):
        run([I386_CC, "-c", "-O1", pic, "-I", os.path.dirname(prog(s)), prog(s), "-o", s[:-2] + ".o"],
            cwd=tmp_path)
    argv = _ld_argv(tmp_path, ["tls_main.o", "tls_defs.o", "tls_use.o"], [*mode, "-pthread"], compiler=I386_CC)
    images, shares = _link_in_shares(tmp_path, monkeypatch, argv, "tls32", counts=(1, 3))
    assert images[1] == images[3]
    assert len(shares[3]) == 1 and all(r > 0 for r in _worker_rows(shares[3]))
    exe = str(tmp_path / "tls32-3")
    cmd = [exe] if mode == ["-static"] else [I386_LIBDIR + "/ld-linux.so.2", "--library-path", I386_LIBDIR, exe]
    assert "distinct=1" in run(cmd, cwd=tmp_path).stdout


def test_relocation_overflow_in_shares(tmp_path, monkeypatch, capsys):
    """Overflows found by several shares: one report, the same lines in the same
    order as one process gives, exit 1, no output."""
    from e2e_util import run
    src = "extern char big[];\n" + "".join(f"int f{i}(void) {{ return big[{i}]; }}\n" for i in range(15)) + \
        "int main(void) { return f0(); }\n"
    (tmp_path / "many.c").write_text(src)
    (tmp_path / "b.c").write_text("char big[16];\n")
    run(["gcc", "-c", "-O0", "-fno-pie", "-ffunction-sections", "many.c", "b.c"], cwd=tmp_path)
    argv = _ld_argv(tmp_path, ["many.o", "b.o"], ["-no-pie", "-Wl,--section-start=.bss=0x100000000"])
    errs = {}
    for verbose in ([], ["--verbose"]):
        images, shares = _link_in_shares(tmp_path, monkeypatch, [*argv, *verbose], "over", counts=(1, 4), status=1)
        assert images == {1: None, 4: None}
        assert sum(len(p[1]) for p in shares[4]) > 0        # overflows found in workers
        capsys.readouterr()
        for n in (1, 4):
            from ldpy.main import main
            assert main([*argv, *verbose, f"--threads={n}", "-o", "over"]) == 1
            errs[n] = [l for l in capsys.readouterr().err.splitlines() if "ldpy" in l and "error" in l]
        assert errs[1] == errs[4]
        assert len([l for l in errs[4] if "relocation truncated to fit" in l]) == (17 if verbose else 10)
    assert not (tmp_path / "over").exists()


TLS_GOOD = """.text
.globl _start, __tls_get_addr
_start:
  .byte 0x66
  leaq x@tlsgd(%rip), %rdi
  .value 0x6666
  rex64 call __tls_get_addr@PLT
  ret
__tls_get_addr: ret
.section .tbss,"awT",@nobits
.globl x
x: .zero 4
"""
TLS_BAD = """.section .text.{0},"ax",@progbits
.globl f_{0}
f_{0}:
  leaq x@tlsgd(%rip), %rdi
  call __tls_get_addr@PLT
  ret
"""


def test_first_share_error_wins(tmp_path, monkeypatch, capsys):
    """Errors of several workers' shares (TLS sequences that cannot be relaxed in
    b.o, c.o and d.o, one share each): the link reports b.o's, the first in row
    order, as one process does; exit 1, no output."""
    from e2e_util import run
    from ldpy.main import main
    (tmp_path / "good.s").write_text(TLS_GOOD)
    for f in "bcd":
        (tmp_path / f"{f}.s").write_text(TLS_BAD.format(f))
    for f in ("good", "b", "c", "d"):
        run(["as", f"{f}.s", "-o", f"{f}.o"], cwd=tmp_path)
    monkeypatch.setenv("LDPY_SPLIT_ALWAYS", "1")
    monkeypatch.chdir(tmp_path)
    planned = []
    real = parallel.plan_rows
    monkeypatch.setattr(parallel, "plan_rows", lambda *a: planned.append(real(*a)) or planned[-1])
    errs = {}
    for n in (1, 5):            # (4 processes relocate: the fifth fills .symtab)
        capsys.readouterr()
        assert main(["-static", "good.o", "b.o", "c.o", "d.o", "-o", "out", f"--threads={n}"]) == 1
        errs[n] = capsys.readouterr().err
    assert errs[1] == errs[5] == ("ldpy: error: b.o:(.text.b+0x3): unrecognized general-dynamic TLS "
                                  "code sequence for R_X86_64_TLSGD\n")
    assert len(planned[-1]) == 4            # (each object's rows in a share of their own)
    assert not (tmp_path / "out").exists()


def test_plan_rows(monkeypatch):
    import numpy as np
    first = np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
    blocks = [(0, 40), (40, 100)]
    monkeypatch.delenv("LDPY_SPLIT_ALWAYS", raising=False)
    assert parallel.plan_rows(first, blocks, 1) == [blocks]
    assert parallel.plan_rows(first, blocks, 2) == [blocks]             # (under MIN_ROWS)
    monkeypatch.setenv("LDPY_SPLIT_ALWAYS", "1")
    assert parallel.plan_rows(first, blocks, 2) == [[(0, 40), (40, 50)], [(50, 100)]]
    assert parallel.plan_rows(first, blocks, 4) == [[(0, 20)], [(20, 40), (40, 50)], [(50, 70)],
                                                    [(70, 100)]]
    assert parallel.plan_rows(first[:2], [(0, 100)], 4) == [[(0, 10)], [(10, 100)]]
