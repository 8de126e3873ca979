"""A bounded mutation fuzzer: corrupted objects, archives and shared libraries
must either link or fail with a clean one-line error: never a traceback, never a
hang, never an output file left behind."""
import os
import random
import struct
import subprocess
import sys

import pytest

from linkutil import run

A_C = """int counter = 3;
static const char *msg = "fuzzing strings";
__thread int tv = 1;
extern int other(int);
int work(int x) { return other(x) + counter + msg[0] + tv; }
"""
B_C = "int other(int x) { return x * 2; }\nvoid _start(void) { for (;;) ; }\n"
LIB_C = "int lib_data = 5; __thread int lib_tls = 2;\nint lib_fn(int x) { return x + lib_data + lib_tls; }\n"
MAIN_C = "extern int lib_data; int lib_fn(int);\nvoid _start(void) { lib_fn(lib_data); for (;;) ; }\n"


def mutate(data, rng):
    b = bytearray(data)
    r = rng.random()
    if r < 0.45:                                   # random bytes anywhere
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif r < 0.8 and b[:4] == b"\x7fELF":          # a field of a section header
        shoff = struct.unpack_from("<Q", b, 0x28)[0]
        shnum = struct.unpack_from("<H", b, 0x3c)[0]
        if shoff and shnum and shoff + 64 * shnum <= len(b):
            off = shoff + 64 * rng.randrange(shnum) + rng.choice([4, 8, 24, 32, 40, 44, 48, 56])
            b[off:off + 4] = rng.choice([b"\xff\xff\xff\xff", rng.randbytes(4), b"\0\0\0\0"])
    else:                                          # truncation
        b = b[:rng.randrange(len(b))]
    return bytes(b)


def ldpy(args, cwd):
    return subprocess.run([sys.executable, "-m", "ldpy", *args], cwd=str(cwd), capture_output=True,
                          text=True, timeout=60)


def check(r, out, counts):
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if r.returncode == 0:
        counts["linked"] += 1
    else:
        assert r.returncode == 1
        assert any(l.startswith("ldpy: error:") for l in r.stderr.splitlines()), r.stderr
        assert not out.exists()
        counts["clean"] += 1


@pytest.mark.slow
@pytest.mark.parametrize("target", ["object", "archive", "shared"])
def test_mutated_inputs_fail_cleanly(tmp_path, target):
    for name, code in (("a", A_C), ("b", B_C), ("l", LIB_C), ("m", MAIN_C)):
        (tmp_path / f"{name}.c").write_text(code)
    run(["gcc", "-O1", "-fno-pie", "-c", "a.c", "b.c", "m.c"], cwd=str(tmp_path))
    run(["gcc", "-shared", "-fPIC", "l.c", "-o", "libl.so"], cwd=str(tmp_path))
    run(["ar", "rcs", "libab.a", "a.o", "b.o"], cwd=str(tmp_path))
    rng = random.Random({"object": 11, "archive": 12, "shared": 13}[target])
    counts = {"linked": 0, "clean": 0}
    out = tmp_path / "out"
    for _ in range(40):
        if target == "object":
            victim = rng.choice(["a.o", "b.o"])
            (tmp_path / "mut.o").write_bytes(mutate((tmp_path / victim).read_bytes(), rng))
            inputs = ["mut.o", "b.o" if victim == "a.o" else "a.o"]
        elif target == "archive":
            (tmp_path / "libmut.a").write_bytes(mutate((tmp_path / "libab.a").read_bytes(), rng))
            inputs = ["-u", "work", "libmut.a"]
        else:
            (tmp_path / "libmut.so").write_bytes(mutate((tmp_path / "libl.so").read_bytes(), rng))
            inputs = ["-pie", "m.o", "libmut.so"]
        check(ldpy(["-o", "out", *inputs], tmp_path), out, counts)
        if out.exists():
            out.unlink()
    assert counts["clean"] > 0          # the fuzzer did reach the error paths
