"""Dynamic executables (PIE and non-PIE) linked by ldpy through gcc -B, run and
compared with the same program linked by ld.bfd."""
import os
import shutil

import pytest

from linkutil import (HERE, comment_says_ldpy, dyn_tags, dynsyms, gcc_link, needed, readelf, run,
                      version_needs)

PROGS = os.path.join(HERE, "progs_dyn")
MODES = {"pie": ["-fPIE", "-pie"], "nopie": ["-fno-pie", "-no-pie"],
         "pie-now": ["-fPIE", "-pie", "-Wl,-z,now"], "nopie-now": ["-fno-pie", "-no-pie", "-Wl,-z,now"]}


def src(name):
    return os.path.join(PROGS, name)


def both(tmp, name, args, compiler="gcc"):
    mine = gcc_link(tmp, name + ".ldpy", args, "ldpy", compiler)
    ref = gcc_link(tmp, name + ".bfd", args, "bfd", compiler)
    assert comment_says_ldpy(mine)
    return mine, ref


@pytest.mark.parametrize("mode", sorted(MODES))
def test_hello_dynamic(tmp_path, mode):
    (tmp_path / "h.c").write_text('#include <stdio.h>\nint main(void){puts("hello, world");return 0;}\n')
    mine, ref = both(tmp_path, "hello", ["h.c", *MODES[mode]])
    assert run([mine]).stdout == "hello, world\n"
    assert needed(mine) == needed(ref) == ["libc.so.6"]
    assert version_needs(mine) == version_needs(ref)
    assert dynsyms(mine) == dynsyms(ref)
    hdr = readelf("-h", mine)
    assert ("DYN" in hdr) == mode.startswith("pie")
    assert "INTERP" in readelf("-l", mine)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_libm_pthread_dlopen_copyrelocs(tmp_path, mode):
    """libm, libpthread, dlopen, environ/stdout copy relocations, function pointer equality."""
    args = [src("libs_threads_dlopen.c"), "-O1", *MODES[mode], "-lm", "-pthread"]
    mine, ref = both(tmp_path, "prog", args)
    out = run([mine]).stdout
    assert out == run([ref]).stdout
    assert "same=1" in out and "environ found=1" in out and "dl floor=2.0" in out
    env = dict(os.environ, LD_BIND_NOW="1")
    assert run([mine], env=env).stdout == out
    assert needed(mine) == needed(ref)
    assert version_needs(mine) == version_needs(ref)
    assert dynsyms(mine) == dynsyms(ref)
    tags = dyn_tags(mine)
    if "now" in mode:
        assert "BIND_NOW" in " ".join(tags.get("FLAGS", []))
    if mode.startswith("nopie"):
        relocs = readelf("-r", mine)
        assert "R_X86_64_COPY" in relocs


def test_tls_and_data_from_shared_library(tmp_path):
    """TLS variables defined in a library (initial-exec through the GOT), copy-relocated data."""
    lib = tmp_path / "libtl.so"
    run(["gcc", "-shared", "-fPIC", "-O1", src("tls_lib.c"), "-o", str(lib)])
    for mode in ("nopie", "pie"):
        args = [src("tls_main.c"), "-O1", *MODES[mode], "-L", str(tmp_path), "-ltl", "-pthread",
                "-Wl,-rpath," + str(tmp_path)]
        mine, ref = both(tmp_path, "tls-" + mode, args)
        out = run([mine]).stdout
        assert out == run([ref]).stdout == "thread 41 9 4\nmain 40 0 3 48\n"
        assert "libtl.so" in needed(mine)
        assert any("TPOFF64" in l for l in readelf("-r", mine).splitlines())


def test_dlopen_library_built_by_system_linker(tmp_path):
    lib = tmp_path / "plugin.so"
    run(["gcc", "-shared", "-fPIC", src("plugin.c"), "-o", str(lib)])
    mine, ref = both(tmp_path, "dl", [src("dlopen_main.c")])
    assert run([mine, str(lib)]).stdout == "plugin says 42\n"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["pie", "nopie"])
def test_cxx_exceptions_threads_thread_local(tmp_path, mode):
    args = [src("cxx_threads.cpp"), "-O2", "-std=c++17", *MODES[mode], "-pthread"]
    mine, ref = both(tmp_path, "cxx", args, compiler="g++")
    out = run([mine]).stdout
    assert out == run([ref]).stdout
    assert "caught odd 1 2" in out and "ok 2 3" in out and "main counter 0" in out
    assert needed(mine) == needed(ref)
    assert version_needs(mine) == version_needs(ref)


def test_static_pie(tmp_path):
    (tmp_path / "z.c").write_text('#include <stdio.h>\n#include <zlib.h>\n#include <string.h>\n'
                                  'int main(void){const char*s="static pie";'
                                  'printf("%08lx\\n", crc32(0,(const Bytef*)s,strlen(s)));return 0;}\n')
    mine, ref = both(tmp_path, "spie", ["z.c", "-static-pie", "-lz"])
    assert run([mine]).stdout == run([ref]).stdout
    assert "DYN" in readelf("-h", mine)
    assert "INTERP" not in readelf("-l", mine)
    relocs = readelf("-r", mine)
    assert "R_X86_64_RELATIVE" in relocs and "R_X86_64_GLOB_DAT" not in relocs


def test_bstatic_bdynamic_switching(tmp_path):
    (tmp_path / "s.c").write_text('#include <sqlite3.h>\n#include <stdio.h>\n'
                                  'int main(void){printf("%s\\n", sqlite3_libversion());return 0;}\n')
    args = ["s.c", "-Wl,-Bstatic", "-lsqlite3", "-Wl,-Bdynamic", "-lm", "-pthread"]
    mine, ref = both(tmp_path, "sq", args)
    assert run([mine]).stdout == run([ref]).stdout
    assert "libsqlite3" not in " ".join(needed(mine))
    assert needed(mine) == needed(ref)


def test_as_needed_drops_unused_library(tmp_path):
    (tmp_path / "a.c").write_text("int main(void){return 0;}\n")
    mine, ref = both(tmp_path, "an", ["a.c", "-Wl,--as-needed", "-lm", "-Wl,--no-as-needed"])
    assert "libm.so.6" not in needed(mine)
    assert needed(mine) == needed(ref)
    mine2, ref2 = both(tmp_path, "nan", ["a.c", "-Wl,--no-as-needed", "-lm"])
    assert "libm.so.6" in needed(mine2)


def test_rpath_and_export_dynamic(tmp_path):
    (tmp_path / "e.c").write_text("int exported_thing(void){return 1;}\nint main(void){return 0;}\n")
    mine, ref = both(tmp_path, "ed", ["e.c", "-Wl,-rpath,/opt/x", "-Wl,--export-dynamic"])
    assert any("/opt/x" in v for v in dyn_tags(mine).get("RUNPATH", []))
    names = {n for n, _, d in dynsyms(mine) if d}
    assert "exported_thing" in names and "main" in names
    assert {n for n, _, d in dynsyms(ref) if d} <= names | {"_IO_stdin_used", "__data_start", "data_start",
                                                            "__dso_handle", "_edata", "_end", "__bss_start",
                                                            "_fini", "_init", "_start"}
