"""Undefined-reference messages name the source line (from the referencing object's
DWARF line table: versions 2 to 5, compressed, 64-bit DWARF), archive members
show as lib.a(member.o), a library of the search path that defines a missing
symbol gets a `note: ... link with -lNAME` line, and corrupted line tables only
cost the location, never the link's one-line error."""
import os
import random
import re
import subprocess
import sys

import pytest

from linkutil import run, shim_dir


def compile_src(tmp, name, code, *flags, compiler="gcc"):
    (tmp / name).write_text(code)
    obj = os.path.splitext(name)[0] + ".o"
    run([compiler, "-c", *flags, name, "-o", obj], cwd=str(tmp))
    return obj


def gcc_fail(tmp, *args, compiler="gcc"):
    r = subprocess.run([compiler, *args, "-o", "out", "-B", shim_dir()], cwd=str(tmp),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert not (tmp / "out").exists()
    return r.stderr


def ldpy(tmp, *args):
    return subprocess.run([sys.executable, "-m", "ldpy", *args], cwd=str(tmp), capture_output=True,
                          text=True, timeout=120)


def errors(stderr, sym):
    return [l for l in stderr.splitlines() if l.startswith("ldpy: error:") and f"undefined reference to '{sym}'" in l]


C_MAIN = """\
#include <stdio.h>
int helper(int);
extern int gvar;

static int twice(int x)
{
    return helper(x) * 2;          /* line 7 */
}

int main(void)
{
    int a = helper(1);             /* line 12 */
    printf("%d\\n", a);
    return helper(2) + gvar        /* line 14 */
        + twice(3);
}
"""


@pytest.mark.parametrize("flags", [["-g"], ["-gdwarf-5"], ["-gdwarf-4"], ["-gdwarf-3"], ["-gdwarf-2"],
                                   ["-g", "-gdwarf64"], ["-g", "-O1", "-fno-inline"]])
def test_c_reference_lines(tmp_path, flags):
    obj = compile_src(tmp_path, "m.c", C_MAIN, *flags)
    err = gcc_fail(tmp_path, obj)
    src = f"{tmp_path}/m.c"
    helper = errors(err, "helper")
    # every referencing function and line: main at 12 and 14, twice at 7
    assert any(f"in function 'main': {src}:12: undefined" in l for l in helper), err
    assert any(f"in function 'main': {src}:14: undefined" in l for l in helper), err
    assert any(f"in function 'twice': {src}:7: undefined" in l for l in helper), err
    assert len(helper) == 3, err
    assert all(re.match(r"ldpy: error: m\.o:\(\.text\+0x[0-9a-f]+\): in function", l) for l in helper), err
    gvar = errors(err, "gvar")
    assert len(gvar) == 1 and f"{src}:14: undefined reference to 'gvar'" in gvar[0], err
    assert "note:" not in err


@pytest.mark.parametrize("flags", [["-g", "-gz"], ["-gdwarf-4", "-gz"]])
def test_compressed_line_table_in_process(tmp_path, flags):
    """SHF_COMPRESSED (zlib) debug sections are read (ldpy cannot link them yet:
    compressed .debug_str is taken for a mergeable string section)."""
    from ldpy.elf.dwarf_line import SourceLines
    from ldpy.input.object import ObjectFile
    obj = compile_src(tmp_path, "m.c", C_MAIN, *flags)
    f = ObjectFile(obj, open(tmp_path / obj, "rb").read())
    text = f.section_names.index(".text")
    assert any(f.rows[i][2] & 0x800 for i, n in enumerate(f.section_names) if n.startswith(".debug_"))
    locs = {SourceLines().locate(f, text, int(o)) for o in f.sections[text].relocs["r_offset"]}
    assert {f"{tmp_path}/m.c:{n}" for n in (7, 12, 14)} <= locs, locs


def test_relative_source_path_uses_compilation_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.c").write_text(C_MAIN)
    for flags in (["-g"], ["-gdwarf-4"], ["-gdwarf-2"]):
        run(["gcc", "-c", *flags, "sub/m.c", "-o", "m.o"], cwd=str(tmp_path))
        err = gcc_fail(tmp_path, "m.o")
        assert f"in function 'main': {tmp_path}/sub/m.c:12: undefined reference to 'helper'" in err, (flags, err)


def test_without_debug_info_no_location(tmp_path):
    obj = compile_src(tmp_path, "m.c", C_MAIN)
    err = gcc_fail(tmp_path, obj)
    helper = errors(err, "helper")
    # one line per referencing function, as before
    assert len(helper) == 2, err
    assert any(re.fullmatch(r"ldpy: error: m\.o:\(\.text\+0x[0-9a-f]+\): in function 'main': "
                            r"undefined reference to 'helper'", l) for l in helper), err
    assert "m.c:" not in err


CPP_HEADER = """\
int helper(int);
inline int twice(int x)
{
    return helper(x) * 2;
}
"""
CPP_MAIN = """\
#include "h.hpp"
int other(int);

int main()
{
    return twice(1) + other(2);
}
"""


@pytest.mark.parametrize("flags", [["-g"], ["-gdwarf-4"], ["-g", "-O2", "-ffunction-sections"]])
def test_cpp_reference_lines_in_header_and_comdat(tmp_path, flags):
    (tmp_path / "h.hpp").write_text(CPP_HEADER)
    obj = compile_src(tmp_path, "c.cpp", CPP_MAIN, *flags, compiler="g++")
    err = gcc_fail(tmp_path, obj, compiler="g++")
    other = errors(err, "other(int)")
    assert len(other) == 1 and f"{tmp_path}/c.cpp:6: undefined reference" in other[0], err
    helper = errors(err, "helper(int)")
    assert len(helper) == 1 and f"{tmp_path}/h.hpp:4: undefined reference" in helper[0], err
    if "-O2" not in flags:
        assert "c.o:(.text._Z5twicei+0x" in helper[0] and "in function 'twice(int)'" in helper[0]


def test_archive_member_reference(tmp_path):
    compile_src(tmp_path, "u.c", "int missing_dep(int);\n\nint use_it(int x)\n{\n"
                "    return missing_dep(x) + 1;\n}\n", "-g")
    run(["ar", "rcs", "libuse.a", "u.o"], cwd=str(tmp_path))
    obj = compile_src(tmp_path, "m.c", "int use_it(int);\nint main(void) { return use_it(1); }\n", "-g")
    err = gcc_fail(tmp_path, obj, "-L.", "-luse")
    lines = errors(err, "missing_dep")
    assert len(lines) == 1, err
    assert re.match(r"ldpy: error: (\./)?libuse\.a\(u\.o\):\(\.text\+0x[0-9a-f]+\): in function 'use_it': "
                    + re.escape(f"{tmp_path}/u.c:5: undefined reference to 'missing_dep'"), lines[0]), err


def test_warn_once_and_direct_invocation(tmp_path):
    obj = compile_src(tmp_path, "m.c", C_MAIN, "-g")
    r = ldpy(tmp_path, "-e", "main", "-o", "out", obj, "--warn-once")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert len(errors(r.stderr, "helper")) == 1 and f"{tmp_path}/m.c:" in r.stderr
    r = ldpy(tmp_path, "-e", "main", "-o", "out", obj, "--warn-unresolved-symbols")
    assert r.returncode == 0, r.stderr
    assert "warning: m.o:(.text+0x" in r.stderr and f"{tmp_path}/m.c:12: undefined reference" in r.stderr


# -- library hints ------------------------------------------------------------

MATH = """\
#include <math.h>
volatile double v = 2.0;
int main(void) { return (int)(sqrt(v) + cos(v)); }
"""


def notes(stderr):
    return [l for l in stderr.splitlines() if l.startswith("ldpy: note:")]


def test_libm_hint(tmp_path):
    obj = compile_src(tmp_path, "s.c", MATH, "-fno-builtin")
    err = gcc_fail(tmp_path, obj)
    assert errors(err, "sqrt") and errors(err, "cos"), err
    ns = notes(err)
    assert any(re.fullmatch(r"ldpy: note: 'sqrt' is defined in /\S*/libm\.so\.6; link with -lm", n) for n in ns), err
    assert any("'cos' is defined in" in n and n.endswith("link with -lm") for n in ns), err
    # with -lm it links
    run(["gcc", obj, "-o", "ok", "-lm", "-B", shim_dir()], cwd=str(tmp_path))


def test_libm_hint_static(tmp_path):
    obj = compile_src(tmp_path, "s.c", MATH, "-fno-builtin")
    err = gcc_fail(tmp_path, "-static", obj)
    assert any("'sqrt' is defined in" in n and n.endswith("link with -lm") for n in notes(err)), err


@pytest.mark.skipif(not os.path.exists("/usr/lib/x86_64-linux-gnu/libz.so"), reason="zlib development files")
def test_zlib_hint(tmp_path):
    obj = compile_src(tmp_path, "z.c", "#include <zlib.h>\nint main(void){unsigned char b[64];uLongf n=64;"
                      "return compress(b,&n,b,1) + deflateEnd(0);}\n")
    err = gcc_fail(tmp_path, obj)
    ns = notes(err)
    assert any(n.startswith("ldpy: note: 'compress' is defined in") and n.endswith("; link with -lz") for n in ns), err
    assert any(n.startswith("ldpy: note: 'deflateEnd' is defined in") for n in ns), err


def test_hint_for_user_libraries_in_search_path(tmp_path):
    (tmp_path / "libs").mkdir()
    compile_src(tmp_path, "a.c", "int from_archive(void){return 1;}\n")
    run(["ar", "rcs", "libs/libmine.a", "a.o"], cwd=str(tmp_path))
    compile_src(tmp_path, "d.c", "int from_shared(void){return 2;}\nstatic int hidden_one(void){return 3;}\n"
                "int use_hidden(void){return hidden_one();}\n", "-fPIC")
    run(["gcc", "-shared", "d.o", "-o", "libs/libdyn.so"], cwd=str(tmp_path))
    # only a versioned name: -l cannot find it, so it is never suggested
    compile_src(tmp_path, "v.c", "int only_versioned(void){return 4;}\n", "-fPIC")
    run(["gcc", "-shared", "v.o", "-o", "libs/libver.so.1"], cwd=str(tmp_path))
    # broken files in the search path are skipped
    (tmp_path / "libs" / "libbroken.so").write_bytes(b"\x7fELF\x02\x01\x01" + b"\xff" * 100)
    (tmp_path / "libs" / "libjunk.a").write_bytes(b"!<arch>\n/               0           0     0     0       999999999 `\n")
    obj = compile_src(tmp_path, "m.c", "int from_archive(void);int from_shared(void);int only_versioned(void);\n"
                      "int hidden_one(void);int nowhere_at_all_xyz(void);\n"
                      "int main(void){return from_archive()+from_shared()+only_versioned()+hidden_one()"
                      "+nowhere_at_all_xyz();}\n")
    err = gcc_fail(tmp_path, obj, "-L" + str(tmp_path / "libs"))
    ns = notes(err)
    assert f"ldpy: note: 'from_archive' is defined in {tmp_path}/libs/libmine.a; link with -lmine" in ns, err
    assert f"ldpy: note: 'from_shared' is defined in {tmp_path}/libs/libdyn.so; link with -ldyn" in ns, err
    assert len(ns) == 2, err
    for sym in ("only_versioned", "hidden_one", "nowhere_at_all_xyz"):
        assert errors(err, sym) and not any(f"'{sym}'" in n for n in ns), err
    # a library already in the link is not suggested again
    err = gcc_fail(tmp_path, obj, "-L" + str(tmp_path / "libs"), "-ldyn")
    assert not any("'from_shared'" in n for n in notes(err)), err


def test_no_hint_when_symbol_is_nowhere_and_no_hint_for_warnings(tmp_path):
    obj = compile_src(tmp_path, "m.c", "int nowhere_xyz_123(void);\nint main(void){return nowhere_xyz_123();}\n")
    err = gcc_fail(tmp_path, obj)
    assert errors(err, "nowhere_xyz_123") and not notes(err), err
    obj = compile_src(tmp_path, "s.c", MATH, "-fno-builtin")
    r = subprocess.run(["gcc", obj, "-o", "w", "-Wl,--warn-unresolved-symbols", "-B", shim_dir()], cwd=str(tmp_path),
                       capture_output=True, text=True)
    assert "undefined reference to 'sqrt'" in r.stderr and not notes(r.stderr)


# -- robustness -----------------------------------------------------------------

def _debug_line_range(path):
    from ldpy.input.object import ObjectFile
    f = ObjectFile(path, open(path, "rb").read())
    i = f.section_names.index(".debug_line")
    return f.rows[i][4], f.rows[i][5]


def _mutations(data, off, size, rng):
    """(label, bytes) corruptions of the .debug_line section at off."""
    def put(pos, value):
        b = bytearray(data)
        b[off + pos:off + pos + len(value)] = value
        return bytes(b)
    yield "unit_length huge", put(0, b"\xf0\xff\xff\xff")
    yield "unit_length 64-bit huge", put(0, b"\xff\xff\xff\xff" + b"\xff" * 8)
    yield "unit_length zero", put(0, b"\0\0\0\0")
    yield "version 9", put(4, b"\x09\x00")
    yield "header_length huge", put(8, b"\xff\xff\xff\x7f")
    yield "all zero", put(0, bytes(size))
    yield "all 0xff", put(0, b"\xff" * size)
    for _ in range(6):
        b = bytearray(data)
        for _ in range(8):
            b[off + rng.randrange(size)] = rng.randrange(256)
        yield "random bytes", bytes(b)


def test_corrupted_debug_line_still_one_line_errors(tmp_path):
    obj = compile_src(tmp_path, "m.c", C_MAIN, "-g")
    data = open(tmp_path / obj, "rb").read()
    off, size = _debug_line_range(str(tmp_path / obj))
    rng = random.Random(7)
    for n, (label, bad) in enumerate(_mutations(data, off, size, rng)):
        name = f"bad{n}.o"
        (tmp_path / name).write_bytes(bad)
        r = ldpy(tmp_path, "-e", "main", "-o", "out", name)
        assert r.returncode == 1, (label, r.stderr)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, (label, r.stderr)
        helper = errors(r.stderr, "helper")
        assert helper and all(l.startswith(f"ldpy: error: {name}:(.text+0x") for l in helper), (label, r.stderr)
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags", [["-g"], ["-gdwarf-4"], ["-gdwarf-2"], ["-g", "-gdwarf64"]])
def test_fuzz_line_tables_in_process(tmp_path, flags):
    """Thousands of corruptions of .debug_line (and of the sections it points into):
    locate() never raises and always answers a string or None."""
    from ldpy.elf.dwarf_line import SourceLines
    from ldpy.input.object import ObjectFile
    obj = compile_src(tmp_path, "m.c", C_MAIN, *flags)
    data = open(tmp_path / obj, "rb").read()
    f0 = ObjectFile(obj, data)
    spans = [(f0.rows[i][4], f0.rows[i][5]) for i, n in enumerate(f0.section_names)
             if n.startswith((".debug_line", ".debug_info", ".debug_abbrev", ".debug_str", ".rela.debug"))]
    text = f0.section_names.index(".text")
    offsets = [int(o) for o in f0.sections[text].relocs["r_offset"]]
    rng = random.Random(",".join(flags))
    found = 0
    for _ in range(600):
        b = bytearray(data)
        off, size = spans[rng.randrange(len(spans))]
        for _ in range(rng.choice((1, 2, 4, 16))):
            b[off + rng.randrange(size)] = rng.choice((0, 0xff, 0x80, rng.randrange(256)))
        f = ObjectFile(obj, bytes(b))
        s = SourceLines()
        for o in offsets:
            loc = s.locate(f, text, o)
            assert loc is None or isinstance(loc, str)
            found += loc is not None
    assert found            # most corruptions leave the table readable


def test_warning_symbol_reference_line(tmp_path):
    (tmp_path / "lib.s").write_text('.globl old_api\nold_api: ret\n.section .gnu.warning.old_api\n'
                                    '.string "old_api is deprecated; use new_api"\n')
    run(["as", "lib.s", "-o", "lib.o"], cwd=str(tmp_path))
    obj = compile_src(tmp_path, "w.c", "int old_api(void);\nint main(void)\n{\n    return old_api();\n}\n", "-g")
    r = run(["gcc", obj, "lib.o", "-o", "w", "-B", shim_dir()], cwd=str(tmp_path))
    assert re.search(r"ldpy: w\.o:\(\.text\+0x[0-9a-f]+\): in function 'main': " + re.escape(f"{tmp_path}/w.c:4: warning: old_api is "
                     "deprecated; use new_api"), r.stderr), r.stderr
