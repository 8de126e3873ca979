"""Shared libraries built by ldpy (-shared): used by programs linked with ldpy and
with ld.bfd, versions, interposition, visibility, and ld.bfd-compatible tables."""
import os

import pytest

from linkutil import HERE, comment_says_ldpy, dyn_tags, gcc_link, readelf, run, shim_dir

PROGS = os.path.join(HERE, "progs_shared")


def src(name):
    return os.path.join(PROGS, name)


def shared(tmp, out, args, linker):
    return gcc_link(tmp, out, ["-shared", "-fPIC", "-O1", *args], linker)


def dyn_table(path):
    """(name@version, type, binding, defined-or-not) of every dynamic symbol."""
    rows = set()
    for line in readelf("--dyn-syms", path).splitlines()[3:]:
        p = line.split()
        if len(p) >= 8:
            ndx = p[6]
            rows.add((p[7].split(" (")[0], p[3], p[4], "UND" if ndx == "UND" else "ABS" if ndx == "ABS" else "DEF"))
    return rows


def verdefs(path):
    """Sorted version definitions and their parents, from readelf -V."""
    out = readelf("-V", path)
    names = [l.split("Name:")[1].strip() for l in out.splitlines()
             if "Flags:" in l and "Index:" in l and "Name:" in l]
    parents = [l.split("Parent 1:")[1].strip() for l in out.splitlines() if "Parent 1:" in l]
    return sorted(names), sorted(parents)


def test_library_used_by_ldpy_and_bfd_programs(tmp_path):
    lib = shared(tmp_path, "libmine.so", [src("lib.c"), "-Wl,-soname,libmine.so"], "ldpy")
    assert comment_says_ldpy(lib)
    assert "libmine.so" in " ".join(dyn_tags(lib)["SONAME"])
    args = [src("main.c"), "-O1", "-L", str(tmp_path), "-lmine", "-Wl,-rpath," + str(tmp_path)]
    expected = "127\n10 1\nhello from lib 6 2\n"     # 2: the program's interposable() wins
    for linker in ("ldpy", "bfd"):
        exe = gcc_link(tmp_path, "main-" + linker, args, linker)
        assert run([exe]).stdout == expected, linker
        assert run([exe], env=dict(os.environ, LD_BIND_NOW="1")).stdout == expected


def test_program_by_ldpy_against_library_by_bfd(tmp_path):
    shared(tmp_path, "libmine.so", [src("lib.c")], "bfd")
    exe = gcc_link(tmp_path, "main", [src("main.c"), "-L", str(tmp_path), "-lmine",
                                      "-Wl,-rpath," + str(tmp_path)], "ldpy")
    assert run([exe]).stdout == "127\n10 1\nhello from lib 6 2\n"


def test_version_script_tables_match_bfd(tmp_path):
    args = [src("lib.c"), "-Wl,--version-script=" + src("lib.map"), "-Wl,-soname,libmine.so"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    mine = shared(tmp_path, "a/libmine.so", args, "ldpy")
    ref = shared(tmp_path, "b/libmine.so", args, "bfd")
    assert dyn_table(mine) == dyn_table(ref)
    assert verdefs(mine) == verdefs(ref) == (["LIBMINE_1.0", "LIBMINE_2.0", "libmine.so"], ["LIBMINE_1.0"])
    # local: * hid everything else
    names = {r[0].split("@")[0] for r in dyn_table(mine) if r[3] == "DEF"}
    assert "hidden_fn" not in names and "lib_func" in names
    exe = gcc_link(tmp_path, "m", [src("main.c"), "-L", str(tmp_path / "a"), "-lmine",
                                   "-Wl,-rpath," + str(tmp_path / "a")], "ldpy")
    assert run([exe]).stdout == "127\n10 1\nhello from lib 6 2\n"
    needs = readelf("-V", exe)
    assert "LIBMINE_1.0" in needs and "LIBMINE_2.0" in needs


def test_two_versions_serve_old_and_new_binaries(tmp_path):
    """The stat example of "Linkers" part 9: an old binary keeps its old function."""
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    shared(tmp_path, "old/libv.so", [src("v1.c"), "-Wl,--version-script=" + src("v1.map"),
                                     "-Wl,-soname,libv.so"], "ldpy")
    old_exe = gcc_link(tmp_path, "old_exe", [src("foo_main.c"), "-L", str(tmp_path / "old"), "-lv"], "ldpy")
    new_lib = shared(tmp_path, "new/libv.so", [src("v2.c"), "-Wl,--version-script=" + src("v2.map"),
                                               "-Wl,-soname,libv.so"], "ldpy")
    new_exe = gcc_link(tmp_path, "new_exe", [src("foo_main.c"), "-L", str(tmp_path / "new"), "-lv"], "ldpy")
    bfd_exe = gcc_link(tmp_path, "bfd_exe", [src("foo_main.c"), "-L", str(tmp_path / "new"), "-lv"], "bfd")
    env = dict(os.environ, LD_LIBRARY_PATH=str(tmp_path / "new"))
    assert run([old_exe], env=env).stdout == "foo=1\n"
    assert run([new_exe], env=env).stdout == "foo=2\n"
    assert run([bfd_exe], env=env).stdout == "foo=2\n"
    ref = shared(tmp_path, "libref.so", [src("v2.c"), "-Wl,--version-script=" + src("v2.map"),
                                         "-Wl,-soname,libv.so"], "bfd")
    assert dyn_table(new_lib) == dyn_table(ref)
    dl = gcc_link(tmp_path, "dlv", [src("dlv.c")], "ldpy")
    assert run([dl, new_lib]).stdout == "default=2 v1=1 v2=2\n"


def test_bsymbolic_binds_inside_the_library(tmp_path):
    lib = shared(tmp_path, "libmine.so", [src("lib.c"), "-Wl,-Bsymbolic"], "ldpy")
    exe = gcc_link(tmp_path, "m", [src("main.c"), "-L", str(tmp_path), "-lmine",
                                   "-Wl,-rpath," + str(tmp_path)], "ldpy")
    # with -Bsymbolic the library's call_interposable() keeps its own interposable(), and its
    # own shared_data rather than the program's copy (ld.bfd's output behaves the same)
    assert run([exe]).stdout == "127\n10 0\nhello from lib 6 1\n"
    assert "SYMBOLIC" in " ".join(dyn_tags(lib).get("FLAGS", []))


def test_hidden_and_protected_visibility(tmp_path):
    (tmp_path / "v.c").write_text(
        '__attribute__((visibility("hidden"))) int hid(void){return 1;}\n'
        '__attribute__((visibility("protected"))) int prot(void){return 2;}\n'
        'int use(void){return hid()*10+prot();}\n')
    (tmp_path / "m.c").write_text('#include <stdio.h>\nint use(void);\nint prot(void){return 7;}\n'
                                  'int main(void){printf("%d\\n", use());return 0;}\n')
    lib = shared(tmp_path, "libv.so", [str(tmp_path / "v.c")], "ldpy")
    names = {r[0] for r in dyn_table(lib)}
    assert "hid" not in names and "prot" in names and "use" in names
    exe = gcc_link(tmp_path, "m", [str(tmp_path / "m.c"), "-L", str(tmp_path), "-lv",
                                   "-Wl,-rpath," + str(tmp_path)], "ldpy")
    assert run([exe]).stdout == "12\n"      # protected: the library keeps its own prot()


def test_undefined_symbols_in_shared_objects(tmp_path):
    (tmp_path / "u.c").write_text("int missing(void);\nint f(void){return missing();}\n")
    lib = shared(tmp_path, "libu.so", [str(tmp_path / "u.c")], "ldpy")
    assert ("missing", "NOTYPE", "GLOBAL", "UND") in dyn_table(lib)
    r = run(["gcc", "-shared", "-fPIC", str(tmp_path / "u.c"), "-Wl,-z,defs", "-o",
             str(tmp_path / "libx.so"), "-B", shim_dir()], check=False)
    assert r.returncode != 0 and "undefined reference to 'missing'" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "libx.so").exists()


def test_no_undefined_version(tmp_path):
    (tmp_path / "a.c").write_text("int present(void){return 1;}\n")
    (tmp_path / "a.map").write_text("V1 { global: present; absent; local: *; };\n")
    r = run(["gcc", "-shared", "-fPIC", str(tmp_path / "a.c"), "-Wl,--version-script=" + str(tmp_path / "a.map"),
             "-Wl,--no-undefined-version", "-o", str(tmp_path / "liba.so"), "-B", shim_dir()], check=False)
    assert r.returncode != 0 and "absent" in r.stderr and "Traceback" not in r.stderr


def test_pc32_to_preemptible_data_is_an_error(tmp_path):
    (tmp_path / "d.c").write_text("int var = 1;\nint get(void){return var;}\n")
    r = run(["gcc", "-shared", "-fno-pic", "-O1", str(tmp_path / "d.c"), "-o", str(tmp_path / "libd.so"),
             "-B", shim_dir()], check=False)
    assert r.returncode != 0 and "recompile with -fPIC" in r.stderr


PY_CONFIG = "/usr/lib/python3.11/config-3.11-x86_64-linux-gnu"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(PY_CONFIG + "/libpython3.11-pic.a"),
                    reason="needs Debian's libpython3.11-dev (installed by .ci/run)")
def test_shared_libpython_from_pic_archive(tmp_path):
    """A library of real size: libpython built from Debian's PIC archive, and an
    embedding program that imports json and sqlite3 (extension modules bind to it)."""
    lib = gcc_link(tmp_path, "libpython3.11.so.1.0",
                   ["-shared", "-Wl,-soname,libpython3.11.so.1.0", "-Wl,--whole-archive",
                    PY_CONFIG + "/libpython3.11-pic.a", "-Wl,--no-whole-archive",
                    "-lexpat", "-lz", "-lm", "-ldl", "-lpthread", "-lutil"], "ldpy")
    os.symlink(lib, tmp_path / "libpython3.11.so")
    exe = gcc_link(tmp_path, "embed", [src("embed_python.c"), "-I/usr/include/python3.11",
                                       "-L", str(tmp_path), "-lpython3.11",
                                       "-Wl,-rpath," + str(tmp_path)], "ldpy")
    assert run([exe]).stdout == '{"sum": 10, "py": [3, 11]}\n'
    assert "libpython3.11.so.1.0" in readelf("-d", exe)


def test_wrap(tmp_path):
    for linker in ("ldpy", "bfd"):
        exe = gcc_link(tmp_path, "w-" + linker, [src("wrap_malloc.c"), "-Wl,--wrap=malloc"], linker)
        assert run([exe]).stdout == "wrapped calls=1\n"


def test_dynamic_list_and_export_dynamic_symbol(tmp_path):
    (tmp_path / "e.c").write_text("int keep_me(void){return 1;}\nint not_me(void){return 2;}\n"
                                  "int main(void){return 0;}\n")
    (tmp_path / "list").write_text("{ keep_*; };\n")
    for opt in ("-Wl,--dynamic-list=" + str(tmp_path / "list"), "-Wl,--export-dynamic-symbol=keep_me"):
        mine = gcc_link(tmp_path, "e-ldpy", [str(tmp_path / "e.c"), opt], "ldpy")
        ref = gcc_link(tmp_path, "e-bfd", [str(tmp_path / "e.c"), opt], "bfd")
        defined = lambda p: {r[0] for r in dyn_table(p) if r[3] == "DEF"}
        assert "keep_me" in defined(mine) and "not_me" not in defined(mine)
        assert defined(mine) == defined(ref)


@pytest.mark.parametrize("flag,shown", [("nodelete", "NODELETE"), ("initfirst", "INITFIRST"),
                                        ("now", "NOW")])
def test_z_flags(tmp_path, flag, shown):
    lib = shared(tmp_path, "libz.so", [src("lib.c"), "-Wl,-z," + flag], "ldpy")
    assert shown in " ".join(dyn_tags(lib).get("FLAGS_1", []))


@pytest.mark.slow
def test_cxx_library_exceptions_rtti_tls(tmp_path):
    """A C++ library: virtual calls, RTTI, exceptions thrown inside the library and
    caught by the program, templates, thread_local; both linkers on both sides."""
    for lib_linker in ("ldpy", "bfd"):
        d = tmp_path / lib_linker
        d.mkdir()
        gcc_link(d, "libshape.so", ["-shared", "-fPIC", "-O1", src("cxx_lib.cpp")], lib_linker, "g++")
        for exe_linker in ("ldpy", "bfd"):
            exe = gcc_link(d, "m-" + exe_linker, [src("cxx_main.cpp"), "-O1", "-pthread", "-L", str(d),
                                                  "-lshape", "-Wl,-rpath," + str(d)], exe_linker, "g++")
            assert run([exe]).stdout == "circle 1\ncaught division by zero\n10\n6 6\n", (lib_linker, exe_linker)
    mine, ref = tmp_path / "ldpy" / "libshape.so", tmp_path / "bfd" / "libshape.so"
    assert dyn_table(str(mine)) == dyn_table(str(ref))


def test_text_relocations(tmp_path):
    """Position-dependent code in a shared object: DT_TEXTREL with a warning, an
    error with -z text."""
    (tmp_path / "t.s").write_text(".text\n.globl get\nget:\n movabs $data, %rax\n ret\n"
                                  ".data\n.globl data\ndata: .quad 7\n")
    run(["as", str(tmp_path / "t.s"), "-o", str(tmp_path / "t.o")])
    r = run(["gcc", "-shared", str(tmp_path / "t.o"), "-o", str(tmp_path / "libt.so"), "-B", shim_dir()])
    assert "DT_TEXTREL" in r.stderr
    assert "TEXTREL" in dyn_tags(str(tmp_path / "libt.so"))
    (tmp_path / "m.c").write_text('#include <stdio.h>\nlong *get(void);\nint main(void){printf("%ld\\n", *get());return 0;}\n')
    exe = gcc_link(tmp_path, "m", [str(tmp_path / "m.c"), "-L", str(tmp_path), "-lt",
                                   "-Wl,-rpath," + str(tmp_path)], "ldpy")
    assert run([exe]).stdout == "7\n"
    r = run(["gcc", "-shared", str(tmp_path / "t.o"), "-Wl,-z,text", "-o", str(tmp_path / "libu.so"),
             "-B", shim_dir()], check=False)
    assert r.returncode != 0 and "text" in r.stderr and not (tmp_path / "libu.so").exists()
    assert "(-z text); recompile with -fPIC" in r.stderr           # (the way out, as ld.bfd and lld say)


def test_no_allow_shlib_undefined(tmp_path):
    (tmp_path / "l.c").write_text("int helper(void);\nint api(void){return helper();}\n")
    shared(tmp_path, "libl.so", [str(tmp_path / "l.c")], "ldpy")
    (tmp_path / "m.c").write_text("int api(void);\nint main(void){return api();}\n")
    args = ["gcc", str(tmp_path / "m.c"), "-L", str(tmp_path), "-ll", "-o", str(tmp_path / "m"), "-B", shim_dir()]
    assert run(args, check=False).returncode == 0          # allowed by default
    r = run(args + ["-Wl,--no-allow-shlib-undefined"], check=False)
    assert r.returncode != 0 and "libl.so: undefined reference to 'helper'" in r.stderr
    (tmp_path / "h.c").write_text("int helper(void){return 0;}\n")
    assert run(args + ["-Wl,--no-allow-shlib-undefined", str(tmp_path / "h.c")], check=False).returncode == 0


def test_version_script_cxx_patterns_and_anonymous(tmp_path):
    (tmp_path / "n.cpp").write_text("namespace api { int visible(int x){return x;} }\n"
                                    "namespace impl { int hidden(int x){return x;} }\n"
                                    'extern "C" int c_entry(void){return 1;}\n')
    (tmp_path / "cxx.map").write_text('API_1 { global: extern "C++" { api::*; }; c_entry; local: *; };\n')
    (tmp_path / "anon.map").write_text("{ global: c_entry; local: *; };\n")
    for m in ("cxx.map", "anon.map"):
        d = tmp_path / m.split(".")[0]
        d.mkdir()
        args = ["-shared", "-fPIC", str(tmp_path / "n.cpp"), "-Wl,--version-script=" + str(tmp_path / m)]
        mine = gcc_link(d, "libn.so", args, "ldpy", "g++")
        ref = gcc_link(d, "libref.so", args, "bfd", "g++")
        assert dyn_table(mine) == dyn_table(ref)
        names = {r[0].split("@")[0] for r in dyn_table(mine) if r[3] == "DEF"}
        assert "c_entry" in names and "_ZN4impl6hiddenEi" not in names
        assert ("_ZN3api7visibleEi" in names) == (m == "cxx.map")


def test_bsymbolic_functions(tmp_path):
    lib = shared(tmp_path, "libmine.so", [src("lib.c"), "-Wl,-Bsymbolic-functions"], "ldpy")
    exe = gcc_link(tmp_path, "m", [src("main.c"), "-L", str(tmp_path), "-lmine",
                                   "-Wl,-rpath," + str(tmp_path)], "ldpy")
    # functions bind inside the library, data (the copy-relocated shared_data) does not
    assert run([exe]).stdout == "127\n10 1\nhello from lib 6 1\n"
