"""Archive members read ahead by a worker process (ldpy/input/ahead.py): the link
adopts what the worker read and writes the bytes a single process writes; a
member the worker cannot read is read by the link, which reports it as always.

LDPY_SPLIT_ALWAYS=1 has every pass of these small links read ahead, and
READ_LIMIT=0 maps their small archives (only mapped archives are read ahead)."""
import os
import subprocess

import pytest

from e2e_util import IS_LDPY, gcc_link_argv, run_exe

from ldpy import outfile
from ldpy.input import ahead
from ldpy.main import main

pytestmark = pytest.mark.skipif(not IS_LDPY, reason="ldpy's own worker")

MEMBERS = 40


def _archive(tmp_path):
    """libparts.a: MEMBERS C++ objects, each with its own function and a copy of
    one inline function and one template instance (COMDAT groups the link keeps
    once); main.o calls them all."""
    objs = []
    for i in range(MEMBERS):
        src = tmp_path / f"part{i}.cpp"
        src.write_text(
            "#include <cstdio>\n"
            "inline int shared_inline(int x) { static int calls; return x + ++calls; }\n"
            "template <int N> int scaled(int x) { return N * x; }\n"
            f"int part{i}(int x) {{ return shared_inline(x) + scaled<3>(x) + {i}; }}\n")
        obj = tmp_path / f"part{i}.o"
        subprocess.run(["g++", "-O1", "-c", str(src), "-o", str(obj)], check=True)
        objs.append(str(obj))
    lib = tmp_path / "libparts.a"
    subprocess.run(["ar", "rcs", str(lib), *objs], check=True)
    decls = "".join(f"int part{i}(int);\n" for i in range(MEMBERS))
    calls = " + ".join(f"part{i}(1)" for i in range(MEMBERS))
    (tmp_path / "main.cpp").write_text(
        f"#include <cstdio>\n{decls}int main() {{ std::printf(\"%d\\n\", {calls}); return 0; }}\n")
    subprocess.run(["g++", "-O1", "-c", str(tmp_path / "main.cpp"), "-o", str(tmp_path / "main.o")],
                   check=True)
    return lib


def _link(tmp_path, monkeypatch, threads, out, lib):
    argv = gcc_link_argv(tmp_path, [str(tmp_path / "main.o"), str(lib)], compiler="g++")
    monkeypatch.chdir(tmp_path)
    return main([*argv, f"--threads={threads}", "-o", str(tmp_path / out)])


@pytest.fixture
def ahead_always(monkeypatch):
    monkeypatch.setenv("LDPY_SPLIT_ALWAYS", "1")
    monkeypatch.setattr(outfile, "READ_LIMIT", 0)


def test_members_read_ahead_link_the_same_bytes(tmp_path, monkeypatch, ahead_always):
    lib = _archive(tmp_path)
    adopted = []
    real = ahead.ReadAhead.facts

    def counting(self, ar, m):
        facts = real(self, ar, m)
        if facts is not None:
            adopted.append(os.path.basename(ar.path))
        return facts
    monkeypatch.setattr(ahead.ReadAhead, "facts", counting)
    assert _link(tmp_path, monkeypatch, 2, "two", lib) == 0
    assert adopted.count("libparts.a") == MEMBERS, adopted    # every member came from the worker
    assert "libc.a" in adopted
    del adopted[:]
    assert _link(tmp_path, monkeypatch, 1, "one", lib) == 0
    assert adopted == []                          # (one thread: no worker)
    assert (tmp_path / "two").read_bytes() == (tmp_path / "one").read_bytes()
    # shared_inline's static counts every call once: one copy of the COMDAT group
    want = sum(1 + (k + 1) + 3 + i for k, i in enumerate(range(MEMBERS)))
    assert run_exe(tmp_path / "two").stdout == f"{want}\n"


def test_a_member_the_worker_cannot_read_is_reported_by_the_link(tmp_path, monkeypatch, capsys,
                                                                 ahead_always):
    lib = _archive(tmp_path)
    data = bytearray(lib.read_bytes())
    # part7.o's section header table moved past the end of the member (e_shoff)
    at = data.index(b"part7.o/")
    elf = data.index(b"\x7fELF", at)
    data[elf + 0x28:elf + 0x30] = (1 << 40).to_bytes(8, "little")
    bad = tmp_path / "libbad.a"
    bad.write_bytes(bytes(data))
    messages = []
    for threads in (2, 1):
        assert _link(tmp_path, monkeypatch, threads, f"bad{threads}", bad) == 1
        err = capsys.readouterr().err
        assert "libbad.a(part7.o): section header table extends past the end of the file" in err, err
        messages.append(err)
        assert not os.path.exists(tmp_path / f"bad{threads}")
    assert messages[0] == messages[1]


def test_a_worker_that_dies_leaves_the_reading_to_the_link(tmp_path, monkeypatch, ahead_always):
    """A worker killed at once (out of memory, a signal): the link reads every member
    itself and writes the same bytes."""
    import signal
    lib = _archive(tmp_path)
    real = ahead.ReadAhead.__init__

    def doomed(self):
        real(self)
        os.kill(self.pid, signal.SIGKILL)
    monkeypatch.setattr(ahead.ReadAhead, "__init__", doomed)
    assert _link(tmp_path, monkeypatch, 2, "dead", lib) == 0
    monkeypatch.setattr(ahead.ReadAhead, "__init__", real)
    assert _link(tmp_path, monkeypatch, 1, "one", lib) == 0
    assert (tmp_path / "dead").read_bytes() == (tmp_path / "one").read_bytes()
