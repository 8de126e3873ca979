"""GNU ld conformance (issues 13 and 20): each case links the same inputs with
ldpy and with ld.bfd and compares what readelf, nm and the programs show."""
import os
import re
import subprocess

import pytest

from e2e_util import (compile_obj, direct_linker, driver_flags, ld_direct, link, program_headers, readelf,
                      run, run_exe, sections, symbols, write)


def _sym(path, name, table=".symtab"):
    """(type, binding, visibility, section name or ABS/UND) of one symbol."""
    secs = {str(s.index): s.name for s in sections(path)}
    found = [s for s in symbols(path, table) if s.name.split("@")[0] == name.split("@")[0]
             and (("@" not in name) or s.name == name)]
    assert found, f"{path}: no symbol {name} in {table}"
    s = found[0]
    return (s.type, s.bind, s.vis, secs.get(s.ndx, s.ndx))


def _both(tmp, name, inputs, flags=(), static=False):
    mine, _ = link(tmp, name, inputs, flags, static=static, linker="ldpy")
    ref, _ = link(tmp, name + ".bfd", inputs, flags, static=static, linker="bfd")
    return mine, ref


def _same_run(mine, ref):
    got, want = run_exe(mine, check=False), run_exe(ref, check=False)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout), (got, want)
    return got.stdout


# -- 1. scripts without SECTIONS; empty output sections; ALIGN after the colon ---------

ASSIGN_C = r"""
#include <stdio.h>
int func(void) { return 42; }
extern int a(void);
extern char b[], a2[], a4[];
int main(void) { printf("%d %p %d\n", a(), (void *)b, a2 - a4); return 0; }
"""


def test_script_without_sections_assigns_symbols(tmp_path):
    src = write(tmp_path, "a.c", ASSIGN_C)
    script = write(tmp_path, "syms.ld", "a = func;\nb = 0x1234;\na2 = func + 4;\na4 = ABSOLUTE(func);\n")
    mine, ref = _both(tmp_path, "prog", [src, script], ["-no-pie"])
    assert _same_run(mine, ref).startswith("42 0x1234 4")
    for name in ("a", "b", "a2", "a4"):
        assert _sym(mine, name) == _sym(ref, name), name
    assert _sym(ref, "a")[0] == "FUNC"
    # -T with only assignments: the default layout with them (the symbols agree)
    mine_t, _ = link(tmp_path, "prog_t", [src], ["-no-pie", "-Wl,-T," + script], static=False,
                     linker="ldpy")
    assert run_exe(mine_t).stdout == _same_run(mine, ref)
    assert _sym(mine_t, "a") == _sym(ref, "a")


def test_script_without_sections_exports_from_shared_object(tmp_path):
    src = write(tmp_path, "a.c", ASSIGN_C)
    script = write(tmp_path, "syms.ld", "a = func;\nb = 0x1234;\nc = 5;\n")
    mine, ref = _both(tmp_path, "lib.so", [src, script], ["-shared", "-fPIC"])
    for name in ("a", "b", "c"):
        assert _sym(mine, name, ".dynsym") == _sym(ref, name, ".dynsym"), name
    assert _sym(ref, "a", ".dynsym")[:2] == ("FUNC", "GLOBAL")


EMPTY_LD = """
SECTIONS {
  . = 0x400000 + SIZEOF_HEADERS;
  .text : ALIGN(64) { *(.text*) }
  .m1 : { s1 = .; }
  .m4 : { . = .; s4 = .; }
  .m6 : { . = . + 0; }
  .m7 : { . = ALIGN(64); }
  .m8 : { . += 0x10; }
  .data : ALIGN(128) { *(.data*) }
  .bss : { *(.bss*) *(COMMON) }
  /DISCARD/ : { *(.note.gnu.property) *(.eh_frame) *(.comment) }
}
"""

START_C = r"""
extern char s1[], s4[];
int v = 3;
void _start(void) {
  long r = v + (s1 != 0) + (s4 != 0);
  __asm__ volatile("mov %0,%%rdi; mov $60,%%eax; syscall" :: "r"(r));
}
"""


def test_empty_sections_and_align_after_colon(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "s.c", START_C), ["-O1", "-fno-pie"])
    script = write(tmp_path, "e.ld", EMPTY_LD)
    outs = {}
    for linker in ("ldpy", "bfd"):
        out = str(tmp_path / f"e.{linker}")
        r = ld_direct([obj, "-T", script, "-o", out], tmp_path, linker=linker)
        assert r.returncode == 0, r.stderr
        outs[linker] = out
    rows = {k: [(s.name, s.type, s.addr, s.size, s.flags, s.align) for s in sections(p)
                if s.name not in (".comment", ".symtab", ".strtab", ".shstrtab")]
            for k, p in outs.items()}
    assert rows["ldpy"] == rows["bfd"]
    assert ".m4" in [r[0] for r in rows["bfd"]] and ".m1" not in [r[0] for r in rows["bfd"]]
    for name in ("s1", "s4"):
        assert _sym(outs["ldpy"], name) == _sym(outs["bfd"], name)
    assert run_exe(outs["ldpy"], check=False).returncode == run_exe(outs["bfd"], check=False).returncode == 5


# -- 2. --section-start for RELRO and TLS sections ---------------------------------------

TLS_C = r"""
#include <stdio.h>
__thread int tv = 7;
%s
int arr_init;
__attribute__((constructor)) static void init(void) { arr_init = 5; }
int main(void) { tv += 2; printf("%%d %%d\n", tv, arr_init); return 0; }
"""


def _segments(path):
    """[(type, vaddr, [section names])] from readelf -lW."""
    text = readelf("-l", path)
    heads = [(l.split()[0], int(l.split()[2], 16)) for l in text.splitlines()
             if re.match(r"^\s+[A-Z_]+\s+0x", l)]
    maps = re.findall(r"^\s+\d\d\s*(.*)$", text.split("Section to Segment mapping:")[1], re.M)
    return [(t, v, m.split()) for (t, v), m in zip(heads, maps)]


@pytest.mark.parametrize("start,tbss", [(".init_array=0x700000", True), (".init_array=0x10000000", False),
                                        (".tdata=0x700000", False), (".tdata=0x10000000", False)])
def test_section_start_relro_and_tls(tmp_path, start, tbss):
    src = write(tmp_path, "t.c", TLS_C % ("__thread int tz; int use_tz(void) { return tz; }" if tbss else ""))
    mine, ref = _both(tmp_path, "prog", [src], ["-no-pie", "-Wl,--section-start=" + start])
    assert _same_run(mine, ref) == "9 5\n"
    name, addr = start.split("=")
    for path in (mine, ref):
        assert [s.addr for s in sections(path) if s.name == name] == [int(addr, 16)]
    got, want = _segments(mine), _segments(ref)
    # the same PT_LOADs (the RW one where the section was put), PT_TLS holding the same
    # sections (its address follows the sizes of .dynamic and .got, which differ)
    assert [v for t, v, m in got if t == "LOAD"] == [v for t, v, m in want if t == "LOAD"]
    assert [m for t, v, m in got if t == "TLS"] == [m for t, v, m in want if t == "TLS"]


# -- 3. TLS common symbols (.tls_common) go to .tbss -------------------------------------

TCOMMON_S = """
	.tls_common tcv,4,4
	.tls_common tcw,8,8
	.text
	.globl get_tcv
get_tcv:
	movl %fs:tcv@tpoff, %eax
	addl $1, %eax
	movl %eax, %fs:tcv@tpoff
	addq $3, %fs:tcw@tpoff
	movq %fs:tcw@tpoff, %rdx
	imull $100, %edx
	addl %edx, %eax
	ret
	.section .note.GNU-stack,"",@progbits
"""

TCOMMON_MAIN = r"""
#include <stdio.h>
__thread int other = 5;
int get_tcv(void);
int main(void) { get_tcv(); printf("%d %d\n", get_tcv(), other); return 0; }
"""


@pytest.mark.parametrize("mode", ["-no-pie", "-pie", "-static"])
def test_tls_common_in_tbss(tmp_path, mode):
    asm = compile_obj(tmp_path, write(tmp_path, "tc.s", TCOMMON_S))
    main = write(tmp_path, "m.c", TCOMMON_MAIN)
    mine, ref = _both(tmp_path, "prog", [main, asm], [mode])
    assert _same_run(mine, ref) == "602 5\n"
    for name in ("tcv", "tcw"):
        assert _sym(mine, name) == _sym(ref, name) == ("TLS", "GLOBAL", "DEFAULT", ".tbss")
    assert not [s for s in sections(mine) if s.name == ".tcommon"]


# -- 4. extern "C++" in dynamic lists and version scripts; -L search for them ---------------

CXX_SRC = r"""
#include <cstdio>
namespace ns { int f(int x) { return x + 1; } int g(int x) { return x + 2; } }
extern "C" int cfunc(int x) { return x * 2; }
int h(int x) { return x; }
int main() { std::printf("%d\n", ns::f(1) + ns::g(1) + cfunc(1) + h(1)); return 0; }
"""


def _dyn_defined(path):
    return sorted((s.name, s.type, s.bind) for s in symbols(path, ".dynsym") if s.ndx != "UND")


def test_dynamic_list_extern_cxx(tmp_path):
    src = write(tmp_path, "m.cpp", CXX_SRC)
    dl = write(tmp_path, "d.list", '{ extern "C++" { ns::g*; cfunc; }; };\n')
    mine, ref = _both(tmp_path, "prog", [src], ["-Wl,--dynamic-list=" + dl])
    assert _same_run(mine, ref) == "8\n"
    assert _dyn_defined(mine) == _dyn_defined(ref)
    assert [n for n, *_ in _dyn_defined(ref)] == ["_ZN2ns1gEi", "cfunc"]


def test_version_script_extern_cxx_matches_unmangled_names(tmp_path):
    src = write(tmp_path, "m.cpp", CXX_SRC)
    vmap = write(tmp_path, "v.map", 'V1 { global: extern "C++" { ns::f*; cfunc; "h(int)"; }; local: *; };\n')
    mine, ref = _both(tmp_path, "lib.so", [src], ["-shared", "-fPIC", "-Wl,--version-script=" + vmap])
    assert _dyn_defined(mine) == _dyn_defined(ref)
    assert ("cfunc@@V1", "FUNC", "GLOBAL") in _dyn_defined(ref)


def test_version_script_and_dynamic_list_searched_in_earlier_L_dirs(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "v.c", "int func(void) { return 1; }\nint other;\n"),
                      ["-fPIC"])
    d = tmp_path / "scripts"
    d.mkdir()
    write(d, "v.map", "V1 { global: func; local: *; };\n")
    write(d, "d.list", "{ func; };\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    for opt in ("--version-script=v.map", "--dynamic-list=d.list"):
        res = {}
        for linker in ("ldpy", "bfd"):
            out = str(tmp_path / f"l.{linker}.so")
            before = ld_direct(["-shared", obj, f"-L{d}", opt, "-o", out], work, linker=linker)
            after = ld_direct(["-shared", obj, opt, f"-L{d}", "-o", out + "2"], work, linker=linker)
            res[linker] = (before.returncode, after.returncode,
                           "cannot open linker script file" in after.stderr)
            if before.returncode == 0:
                res[linker] += (tuple(_dyn_defined(out)),)
        assert res["ldpy"] == res["bfd"], opt
        assert res["bfd"][:3] == (0, 1, True)


# -- 5. INPUT/GROUP names and the sysroot ------------------------------------------------

@pytest.fixture
def sysroot_tree(tmp_path):
    root = tmp_path / "root"
    (root / "lib").mkdir(parents=True)
    (root / "usr/lib").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    lib = compile_obj(tmp_path, write(tmp_path, "l.c", "int libf(void) { return 7; }\n"))
    os.rename(lib, root / "lib/l.o")
    run(["cp", root / "lib/l.o", tmp_path / "other/l2.o"])
    main = compile_obj(tmp_path, write(tmp_path, "m.c", '#include <stdio.h>\nint libf(void);\n'
                                       'int main(void) { printf("%d\\n", libf()); return 0; }\n'))
    write(root / "usr/lib", "s_abs.ld", "INPUT(/lib/l.o)\n")
    write(root / "usr/lib", "s_missing.ld", "INPUT(/lib/nonexist.o)\n")
    write(tmp_path, "s_eq.ld", "INPUT(=/lib/l.o)\n")
    write(tmp_path, "s_dollar.ld", "GROUP($SYSROOT/lib/l.o)\n")
    write(tmp_path, "s_eqnx.ld", "INPUT(=/lib/nonexist.o)\n")
    write(tmp_path / "other", "s_rel.ld", "INPUT(l2.o)\n")
    os.symlink(root, tmp_path / "rootlink")
    return tmp_path, main


@pytest.mark.parametrize("sysroot,script", [
    ("root", "root/usr/lib/s_abs.ld"), ("rootlink", "root/usr/lib/s_abs.ld"),
    ("root/", "root/usr/lib/s_abs.ld"), ("root/./usr/..", "rootlink/usr/lib/s_abs.ld"),
    ("root", "s_eq.ld"), ("root", "s_dollar.ld"), (None, "other/s_rel.ld"),
    ("root", "root/usr/lib/s_missing.ld"), ("root", "s_eqnx.ld"), (None, "s_eqnx.ld")])
def test_script_inputs_and_sysroot(sysroot_tree, sysroot, script):
    tmp, main = sysroot_tree
    flags = ["-no-pie", str(tmp / script)]
    if sysroot is not None:
        flags.append(f"-Wl,--sysroot={tmp / sysroot}")
    res = {}
    for linker in ("ldpy", "bfd"):
        path, r = link(tmp, f"p.{linker}", [main], flags, static=False, linker=linker, check=False)
        msg = [re.sub(r"^.*?: (error: )?", "", l) for l in r.stderr.splitlines() if "cannot find" in l]
        out = run_exe(path).stdout if r.returncode == 0 else None
        res[linker] = (r.returncode, msg, out)
    assert res["ldpy"] == res["bfd"]
    assert res["bfd"][2] in ("7\n", None)


# -- 6. .symver names and version scripts ------------------------------------------------

SYMVER_C = r"""
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
int bar(void) { return 3; }
int xx(void) { return 4; }
int same(void) { return 5; }
int keep(void) { return 6; }
__asm__(".symver foo_v1, foo@V1");
__asm__(".symver foo_v2, foo@@V2");
__asm__(".symver xx, xname@");
__asm__(".symver same, same@V1");
"""


def _versions(path):
    """(version definitions, versym of each defined .dynsym entry by name)."""
    text = readelf("-V", path)
    defs = re.findall(r"Index: (\d+)\s+Cnt: \d+\s+Name: (\S+)", text)
    return sorted(n for _, n in defs[1:])


def _dyn_view(path):
    return sorted((s.name, s.type, s.bind, s.vis) for s in symbols(path, ".dynsym") if s.ndx != "UND")


def _symtab_view(path, names):
    return sorted((s.name, s.bind, s.vis) for s in symbols(path)
                  if s.name.split("@")[0] in names and s.type != "FILE")


@pytest.mark.parametrize("vmap", ["V1 { global: bar; };\nV2 { global: keep; } V1;\n",
                                  "V1 { };\nV2 { } V1;\n"])
def test_symver_names_and_version_scripts(tmp_path, vmap):
    obj = compile_obj(tmp_path, write(tmp_path, "sv.c", SYMVER_C), ["-fPIC"])
    script = write(tmp_path, "v.map", vmap)
    outs = {}
    for linker in ("ldpy", "bfd"):
        outs[linker] = str(tmp_path / f"s.{linker}.so")
        r = ld_direct(["-shared", obj, "--version-script=" + script, "-o", outs[linker]], tmp_path,
                      linker=linker)
        assert r.returncode == 0, r.stderr
    mine, ref = outs["ldpy"], outs["bfd"]
    assert _dyn_view(mine) == _dyn_view(ref)
    assert _versions(mine) == _versions(ref)           # no empty version for xname@
    names = {"foo", "bar", "xx", "xname", "same", "keep", "foo_v1", "foo_v2"}
    assert _symtab_view(mine, names) == _symtab_view(ref, names)
    # foo beside same@V1: only same@V1 is exported
    assert not [n for n, *_ in _dyn_view(ref) if n in ("same", "same@@V1")]


@pytest.mark.parametrize("vmap", ["V1 { local: *; };\nV2 { local: *; };\n",
                                  "V1 { global: same; keep; local: *; };\nV2 { global: foo; };\n"])
def test_symver_version_wins_over_local_pattern(tmp_path, vmap):
    """A version .symver names keeps the symbol exported in that version even where
    the version's node says `local: *`, as gold, lld and mold decide (ld.bfd 2.40 makes
    foo@V1 local, so that nothing can link against the version it defines)."""
    obj = compile_obj(tmp_path, write(tmp_path, "sv.c", SYMVER_C), ["-fPIC"])
    script = write(tmp_path, "v.map", vmap)
    mine, gold, bfd = (str(tmp_path / f"s.{n}.so") for n in ("ldpy", "gold", "bfd"))
    r = ld_direct(["-shared", obj, "--version-script=" + script, "-o", mine], tmp_path, linker="ldpy")
    assert r.returncode == 0, r.stderr
    run(["ld.gold", "-shared", obj, "--version-script=" + script, "-o", gold])
    run(["ld.bfd", "-shared", obj, "--version-script=" + script, "-o", bfd])
    assert _dyn_view(mine) == _dyn_view(gold)
    assert _versions(mine) == _versions(gold) == ["V1", "V2"]
    assert {"foo@V1", "foo@@V2", "same@V1"} <= {n for n, *_ in _dyn_view(mine)}
    assert "foo@V1" not in {n for n, *_ in _dyn_view(bfd)}      # (the difference)
    # the unversioned ones follow the script: bar and xx are local
    assert ("bar", "LOCAL", "DEFAULT") in _symtab_view(mine, {"bar"})
    # a program links against foo@V1 and calls it
    prog = write(tmp_path, "use.c", '#include <stdio.h>\nint foo1(void);\n'
                 '__asm__(".symver foo1, foo@V1");\n'
                 'int foo(void);\nint main(void) { printf("%d %d\\n", foo1(), foo()); return 0; }\n')
    exe = str(tmp_path / "use")
    run(["gcc", prog, mine, "-o", exe, *driver_flags("ldpy"), f"-Wl,-rpath,{tmp_path}"])
    assert run_exe(exe).stdout == "1 2\n"
    # ... also with the library before the object: foo@V1 is first named after the
    # library was read, and found among the versions libraries offer
    exe = str(tmp_path / "use-lib-first")
    run(["gcc", f"-Wl,{mine}", prog, "-o", exe, *driver_flags("ldpy"), f"-Wl,-rpath,{tmp_path}"])
    assert run_exe(exe).stdout == "1 2\n"


def test_version_script_locals_are_local_in_executable_symtab(tmp_path):
    src = write(tmp_path, "ex.c", '#include <stdio.h>\nint helper(void) { return 5; }\n'
                'int api(void) { return helper() + 1; }\n'
                'int main(void) { printf("%d\\n", api()); return 0; }\n')
    vmap = write(tmp_path, "ex.map", "{ global: api; main; local: *; };\n")
    mine, ref = _both(tmp_path, "ex", [src], ["-Wl,--version-script=" + vmap, "-Wl,-E"])
    assert _same_run(mine, ref) == "6\n"
    names = {"helper", "api", "main", "__bss_start", "_edata", "_end"}
    assert _symtab_view(mine, names) == _symtab_view(ref, names)
    assert ("helper", "LOCAL", "DEFAULT") in _symtab_view(ref, names)
    assert _dyn_view(mine) == _dyn_view(ref)


# -- 8. smaller ones -----------------------------------------------------------------------

def _direct_both(tmp, args, out="a.out"):
    """Run ldpy and ld.bfd on the same arguments; {linker: (status, stderr lines, path)}."""
    res = {}
    for linker in ("ldpy", "bfd"):
        path = str(tmp / f"{out}.{linker}")
        r = ld_direct([*args, "-o", path], tmp, linker=linker)
        lines = [re.sub(r"^(ld\.bfd|ldpy|ld): (warning: |error: )?", "", l) for l in r.stderr.splitlines()]
        res[linker] = (r.returncode, lines, path)
    return res


def test_archive_with_nothing_taken_links(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "u.c", "int unused_fn(void) { return 1; }\n"))
    run(["ar", "rcs", tmp_path / "libu.a", obj])
    res = _direct_both(tmp_path, ["libu.a"])
    assert res["ldpy"][:2] == res["bfd"][:2]
    assert res["bfd"][:2] == (0, ["cannot find entry symbol _start; not setting start address"])
    assert readelf("-h", res["ldpy"][2]).count("Entry point address:               0x0") == 1


@pytest.mark.parametrize("zflag", [[], ["-z", "noseparate-code"]])
def test_empty_inputs_entry_defaults_to_text(tmp_path, zflag):
    obj = compile_obj(tmp_path, write(tmp_path, "e.s", "\t.text\n"))
    res = _direct_both(tmp_path, [*zflag, obj])
    assert res["ldpy"][:2] == res["bfd"][:2]
    entry = [re.search(r"Entry point address:\s+(\S+)", readelf("-h", res[k][2])).group(1)
             for k in ("ldpy", "bfd")]
    assert entry[0] == entry[1] != "0x0"


def test_declared_but_unused_undefined_symbol_links(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "g.s", "\t.globl foo\n\t.globl _start\n_start:\n"
                                      "\tmov $60,%eax\n\txor %edi,%edi\n\tsyscall\n"))
    res = _direct_both(tmp_path, [obj, "-u", "nosuch"])
    assert res["ldpy"][:2] == res["bfd"][:2] == (0, [])
    for k in ("ldpy", "bfd"):
        assert run_exe(res[k][2]).returncode == 0
    view = {k: sorted((s.name, s.ndx) for s in symbols(res[k][2]) if s.name in ("foo", "nosuch"))
            for k in res}
    assert view["ldpy"] == view["bfd"] == [("nosuch", "UND")]
    # a relocation that uses it is still an error in both
    use = compile_obj(tmp_path, write(tmp_path, "u.s", "\t.globl f\nf:\n\tcall foo\n"))
    res = _direct_both(tmp_path, [obj, use], out="b")
    assert res["ldpy"][0] == res["bfd"][0] == 1


def test_default_hash_style_is_debian_lds(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "u.c", "int f(void) { return 1; }\n"), ["-fPIC"])
    res = _direct_both(tmp_path, ["-shared", obj], out="h.so")
    kinds = {k: [(s.name, s.type) for s in sections(res[k][2]) if "hash" in s.name] for k in res}
    assert kinds["ldpy"] == kinds["bfd"] == [(".hash", "HASH"), (".gnu.hash", "GNU_HASH")]
    help_line = [l for l in run(["ld.bfd", "--help"]).stdout.splitlines() if "--hash-style" in l]
    mine = [l for l in run([*direct_linker("ldpy"), "--help"]).stdout.splitlines() if "--hash-style" in l]
    assert help_line[0].split("Default:")[1] == mine[0].split("Default:")[1]


def test_i386_object_in_x86_64_link(tmp_path):
    m32 = tmp_path / "m32.o"
    run(["as", "--32", write(tmp_path, "m32.s", "\t.globl m32f\nm32f:\n\tret\n"), "-o", m32])
    main = compile_obj(tmp_path, write(tmp_path, "g.s", "\t.globl _start\n_start:\n\tret\n"))
    run(["ar", "rcs", tmp_path / "lib32.a", m32])
    for args in (["g.o", "m32.o"], ["g.o", "-u", "m32f", "lib32.a"]):
        res = _direct_both(tmp_path, [main if a == "g.o" else a for a in args])
        want = [l for l in res["bfd"][1] if "architecture" in l]
        got = [l for l in res["ldpy"][1] if "architecture" in l]
        assert res["ldpy"][0] == res["bfd"][0] == 1
        assert [l.replace("`", "'") for l in want] == got
        assert got and "i386 architecture of input file" in got[0]


@pytest.mark.parametrize("opt", ["--verbose", "--help"])
def test_output_cut_short_by_head(tmp_path, opt):
    res = {}
    for linker in ("ldpy", "bfd"):
        cmd = " ".join([*direct_linker(linker), opt]) + " | head -1"
        r = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], capture_output=True, text=True)
        res[linker] = (len(r.stdout.splitlines()), r.stderr)
    assert res["ldpy"] == res["bfd"] == (1, "")


XINDEX_MAIN = r"""
#include <stdio.h>
int f65530(void); int f10(void); int f65599(void);
extern int (*tab[])(void);
int main(void) { printf("%d %d %d %d\n", f65530(), f10(), f65599(), tab[0]() + tab[1]()); return 0; }
"""


@pytest.fixture(scope="module")
def xindex_objects(tmp_path_factory):
    """An object of 65 600 sections: symbols in sections past 0xff00 (and at the
    indexes of SHN_ABS and SHN_COMMON) go through SHN_XINDEX and .symtab_shndx."""
    tmp = tmp_path_factory.mktemp("xindex")
    lines = []
    for i in range(65600):
        lines.append(f'\t.section .text.f{i},"ax",@progbits\n\t.globl f{i}\n\t.type f{i},@function\n'
                     f'f{i}:\n\tmov ${i % 100},%eax\n\tret\n')
    lines.append('\t.section .data.tab,"aw",@progbits\n\t.globl tab\ntab:\n\t.quad f65530\n\t.quad f10\n'
                 '\t.section .note.GNU-stack,"",@progbits\n')
    big = compile_obj(tmp, write(tmp, "big.s", "".join(lines)))
    assert "(65" in readelf("-h", big)             # e_shnum 0: the count is in section 0
    main = compile_obj(tmp, write(tmp, "m.c", XINDEX_MAIN))
    return tmp, big, main


def test_extended_section_indexes_final_link(xindex_objects):
    tmp, big, main = xindex_objects
    mine, ref = _both(tmp, "x", [main, big], ["-no-pie"])
    assert _same_run(mine, ref) == "30 10 99 40\n"
    def view(p):
        return sorted(l.split()[1:] for l in run(["nm", p]).stdout.splitlines() if " T f655" in l)
    assert view(mine) == view(ref)


def test_extended_section_indexes_relocatable(xindex_objects):
    tmp, big, main = xindex_objects
    outs = {}
    for linker in ("ldpy", "bfd"):
        outs[linker] = str(tmp / f"r.{linker}.o")
        r = ld_direct(["-r", big, main, "-o", outs[linker]], tmp, linker=linker)
        assert r.returncode == 0, r.stderr
    def view(p):
        return sorted(l for l in run(["nm", p]).stdout.splitlines())
    assert view(outs["ldpy"]) == view(outs["bfd"])
    hdr = {k: re.findall(r"Number of section headers:.*", readelf("-h", p)) for k, p in outs.items()}
    assert hdr["ldpy"] == hdr["bfd"]
    # the -r output links and runs
    exe, _ = link(tmp, "xr", [outs["ldpy"]], ["-no-pie"], static=False, linker="bfd")
    assert run_exe(exe).stdout == "30 10 99 40\n"


@pytest.mark.parametrize("vmap", [None, "V1 { };\n", "V2 { };\n"])
def test_symver_version_missing_from_script_in_shared_object(tmp_path, vmap):
    obj = compile_obj(tmp_path, write(tmp_path, "sv.c", SYMVER_C), ["-fPIC"])
    args = ["-shared", obj]
    if vmap is not None:
        args.append("--version-script=" + write(tmp_path, "v.map", vmap))
    res = _direct_both(tmp_path, args, out="m.so")
    assert res["ldpy"][0] == res["bfd"][0] == 1
    got = [l for l in res["ldpy"][1] if "version node not found" in l]
    assert got and any("version node not found for symbol" in l for l in res["bfd"][1])
    # an executable makes the versions it needs
    res = _direct_both(tmp_path, [obj, "-e", "bar"] + args[2:], out="m.exe")
    assert res["ldpy"][0] == res["bfd"][0] == 0


def test_version_named_like_a_defined_symbol_is_a_multiple_definition(tmp_path):
    """GNU ld defines each version of a -shared link as an absolute symbol: a version
    named like a function of the link clashes with it (found by the version-script
    fuzzer); another name links."""
    (tmp_path / "vf.c").write_text("int func(void) { return 1; }\n")
    run(["gcc", "-fPIC", "-c", "vf.c"], cwd=tmp_path)
    (tmp_path / "clash.ver").write_text("func { global: func; local: *; };\n")
    (tmp_path / "ok.ver").write_text("V1 { global: func; local: *; };\n")
    for script, verdict in (("clash.ver", 1), ("ok.ver", 0)):
        mine = ld_direct(["-shared", "vf.o", "-o", "m.so", "--version-script", script], tmp_path)
        ref = ld_direct(["-shared", "vf.o", "-o", "r.so", "--version-script", script], tmp_path, linker="bfd")
        assert (mine.returncode != 0) == (ref.returncode != 0) == bool(verdict), (mine.stderr, ref.stderr)
        if verdict:
            assert "multiple definition of 'func'" in mine.stderr


def test_version_symbol_also_defined_by_a_needed_library(tmp_path):
    """The absolute symbol of a version a -shared link defines is written even when
    a library the link reads defines a version of that name (and so its own
    absolute symbol): a definition of the link wins over a library's (pcre2's
    libpcre2-posix against libpcre2-8, both with PCRE2_10.47), as in ld.bfd."""
    (tmp_path / "a.c").write_text("int a(void) { return 1; }\n")
    (tmp_path / "b.c").write_text("int a(void); int b(void) { return a() + 1; }\n")
    (tmp_path / "v.map").write_text("V1 { global: a; b; local: *; };\n")
    run(["gcc", "-fPIC", "-c", "a.c", "b.c"], cwd=tmp_path)
    r = ld_direct(["-shared", "a.o", "-o", "liba.so", "--version-script", "v.map"], tmp_path, linker="bfd")
    assert r.returncode == 0, r.stderr
    for linker in ("ldpy", "bfd"):
        out = f"libb-{linker}.so"
        r = ld_direct(["-shared", "b.o", "-o", out, "--version-script", "v.map", "-L.", "-la"], tmp_path,
                      linker=None if linker == "ldpy" else linker)
        assert r.returncode == 0, r.stderr
        syms = readelf("--dyn-syms", "-W", str(tmp_path / out))
        v1 = [l.split() for l in syms.splitlines() if l.split()[-1:] == ["V1"]]
        assert len(v1) == 1 and v1[0][3:7] == ["OBJECT", "GLOBAL", "DEFAULT", "ABS"], (linker, syms)
        # ... and `a` stays the library's, needed in V1
        assert any(re.search(r" UND a@V1\b", l) for l in syms.splitlines()), syms


RUN_ON_STACK = r"""
    .text
    .globl run_on_stack
run_on_stack:                 # copies "mov $42,%eax; ret" onto the stack and calls it
    subq   $24, %rsp
    movl   $0x00002ab8, (%rsp)
    movw   $0xc300, 4(%rsp)
    movq   %rsp, %rax
    call   *%rax
    addq   $24, %rsp
    ret
"""


def test_object_without_stack_note_makes_the_stack_executable(tmp_path):
    """An x86-64 object without .note.GNU-stack asks for an executable stack, as
    in ld.bfd (default_execstack), with ld.bfd's warning; -z noexecstack and
    --no-warn-execstack as there (a hand-written assembly file that runs code on
    the stack crashed when linked by ldpy)."""
    asm = compile_obj(tmp_path, write(tmp_path, "rs.s", RUN_ON_STACK))
    main = write(tmp_path, "m.c", '#include <stdio.h>\nint run_on_stack(void);\n'
                                  'int main(void) { printf("%d\\n", run_on_stack()); return 0; }\n')
    exe, r = link(tmp_path, "rs", [main, asm], static=False)
    stack = [p for p in program_headers(exe) if p.type == "GNU_STACK"]
    assert len(stack) == 1 and stack[0].flags == "RWE", stack
    assert "rs.o: missing .note.GNU-stack section implies executable stack" in r.stderr, r.stderr
    assert run_exe(exe).stdout == "42\n"
    ref, rr = link(tmp_path, "rs-bfd", [main, asm], static=False, linker="bfd")
    assert "missing .note.GNU-stack section implies executable stack" in rr.stderr
    assert [p.flags for p in program_headers(ref) if p.type == "GNU_STACK"] == ["RWE"]
    quiet, r = link(tmp_path, "rs-quiet", [main, asm, "-Wl,--no-warn-execstack"], static=False)
    assert "GNU-stack" not in r.stderr
    assert [p.flags for p in program_headers(quiet) if p.type == "GNU_STACK"] == ["RWE"]
    off, r = link(tmp_path, "rs-off", [main, asm, "-Wl,-z,noexecstack"], static=False)
    assert "GNU-stack" not in r.stderr
    assert [p.flags for p in program_headers(off) if p.type == "GNU_STACK"] == ["RW"]


def test_writable_code_orphan_goes_after_data(tmp_path):
    """An orphan section that is writable and executable ("awx") is placed as ld.bfd
    places it, after .data (its orphan classes put writable before code), and the
    RWX segment warned about as there; ldpy stopped with an internal error."""
    obj = compile_obj(tmp_path, write(tmp_path, "w.s", '.section .rwxsec,"awx",@progbits\n.byte 0xc3\n'))
    main = write(tmp_path, "m.c", "int main(void) { return 0; }\n")
    exe, r = link(tmp_path, "w", [main, obj], static=False)
    assert "w has a LOAD segment with RWX permissions" in r.stderr, r.stderr     # (as ld.bfd)
    _, r = link(tmp_path, "w2", [main, obj, "-Wl,--no-warn-rwx-segments"], static=False)
    assert "RWX" not in r.stderr
    names = [s.name for s in sections(exe)]
    assert names.index(".rwxsec") == names.index(".data") + 1, names
    ref, _ = link(tmp_path, "w-bfd", [main, obj], static=False, linker="bfd")
    ref_names = [s.name for s in sections(ref)]
    assert ref_names.index(".rwxsec") == ref_names.index(".data") + 1, ref_names
    assert run_exe(exe).returncode == 0
