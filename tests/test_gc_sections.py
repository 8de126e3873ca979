"""--gc-sections and --print-gc-sections: programs built with -ffunction-sections
-fdata-sections, linked with ldpy and with ld.bfd; the removed sections (the
--print-gc-sections lines), the symbols left, the program output and the -Map
listing are compared."""
import os
import re

import pytest

from e2e_util import (link, run, run_exe, write, compile_obj, nm_names, readelf, section,
                      sections, IS_LDPY, ld_direct)

GC = "-Wl,--gc-sections,--print-gc-sections"
SPLIT = ["-ffunction-sections", "-fdata-sections"]


def removed(proc):
    """The --print-gc-sections lines, with the program name taken off."""
    return [re.sub(r"^.*?: (removing unused section)", r"\1", line)
            for line in proc.stderr.splitlines() if ": removing unused section" in line]


def gc_both(tmp, name, inputs, flags=(), compiler="gcc", static=False):
    """Link with --gc-sections --print-gc-sections by the linker under test and by
    ld.bfd; returns (path, removed lines, bfd path, bfd removed lines)."""
    mine, r1 = link(tmp, name, inputs, [*flags, GC], compiler=compiler, static=static)
    ref, r2 = link(tmp, name + ".bfd", inputs, [*flags, GC], linker="bfd", compiler=compiler,
                   static=static)
    if IS_LDPY:
        assert removed(r1) and all(line.startswith("ldpy: removing unused section '")
                                   for line in r1.stderr.splitlines() if "removing" in line), r1.stderr
    return mine, removed(r1), ref, removed(r2)


def mine_only(lines, needle):
    return [x for x in lines if needle in x]


C_PROG = r"""
#include <stdio.h>
int used_data = 5;
int unused_data = 7;
static const char unused_text[] = "never printed";
static int unused_static(int x) { return x * 3; }
int unused_fn(int x) { puts(unused_text); return x + unused_static(x); }
int used_fn(int x) { return x + used_data; }
__attribute__((retain)) int retained_fn(void) { return 4; }
__attribute__((used)) static int used_but_unreferenced = 3;
__attribute__((constructor)) static void ctor(void) { puts("ctor"); }
__attribute__((destructor)) static void dtor(void) { puts("dtor"); }
int main(void) { printf("%d\n", used_fn(1)); return 0; }
"""


def test_c_program_pie_same_sections_removed_as_bfd(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "a.c", C_PROG), SPLIT)
    mine, got, ref, want = gc_both(tmp_path, "a", [obj])
    assert got == want
    for sec in (".text.unused_fn", ".text.unused_static", ".data.unused_data",
                ".data.used_but_unreferenced"):
        assert f"removing unused section '{sec}' in file '{obj}'" in got
    assert not mine_only(got, "retained_fn") and not mine_only(got, "'.text.used_fn'")
    assert run_exe(mine).stdout == run_exe(ref).stdout == "ctor\n6\ndtor\n"
    names = nm_names(mine)
    for gone in ("unused_fn", "unused_data", "unused_static", "used_but_unreferenced"):
        assert gone not in names
    for kept in ("used_fn", "used_data", "retained_fn", "main"):
        assert kept in names
    # what --gc-sections takes out of the symbol table is what ld.bfd takes out
    plain, _ = link(tmp_path, "a0", [obj], static=False)
    plain_ref, _ = link(tmp_path, "a0.bfd", [obj], linker="bfd", static=False)
    assert set(nm_names(plain)) - set(names) == set(nm_names(plain_ref)) - set(nm_names(ref))
    # and the program got smaller
    assert section(mine, ".text").size < section(plain, ".text").size


def test_print_gc_sections_needs_gc_sections(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "a.c", C_PROG), SPLIT)
    _, r = link(tmp_path, "a", [obj], ["-Wl,--print-gc-sections"], static=False)
    assert "removing" not in r.stderr
    _, r = link(tmp_path, "b", [obj], ["-Wl,--gc-sections,--print-gc-sections,--no-gc-sections"],
                static=False)
    assert "removing" not in r.stderr


def test_undefined_reference_only_from_removed_code(tmp_path):
    src = write(tmp_path, "u.c", r"""
        extern int missing_one(void), missing_two(void);
        int unused(void) { return missing_one() + missing_two(); }
        int used(void) { return 2; }
        int main(void) { return used() - 2; }
    """)
    obj = compile_obj(tmp_path, src, SPLIT)
    mine, got, ref, want = gc_both(tmp_path, "u", [obj])
    assert got == want
    run_exe(mine)
    names = nm_names(mine)
    assert "missing_one" not in names and "missing_two" not in names
    assert set(n for n in nm_names(ref) if n.startswith("missing")) == set()
    # without --gc-sections the references are errors
    _, r = link(tmp_path, "u0", [obj], static=False, check=False)
    assert r.returncode != 0 and "missing_one" in r.stderr


def test_undefined_reported_only_where_live_code_refers(tmp_path):
    src = write(tmp_path, "u.c", r"""
        extern int missing(void);
        int unused(void) { return missing(); }
        int main(void) { return missing(); }
    """)
    obj = compile_obj(tmp_path, src, SPLIT)
    _, r = link(tmp_path, "u", [obj], [GC], static=False, check=False)
    assert r.returncode != 0
    errors = [line for line in r.stderr.splitlines() if "undefined reference" in line]
    assert errors and all("main" in line and "unused" not in line for line in errors), r.stderr
    assert not os.path.exists(tmp_path / "u")


START_STOP = r"""
#include <stdio.h>
struct ent { const char *name; int v; };
#define ENT(n, val) static const struct ent ent_##n __attribute__((used, section("myents"))) = { #n, val }
ENT(a, 1); ENT(b, 2);
extern const struct ent __start_myents[], __stop_myents[];
__attribute__((section("deadsec"), used)) static int deadsec_v = 7;
extern int __start_deadsec[];
int dead_fn(void) { return __start_deadsec[0]; }
int main(void) {
    int s = 0;
    for (const struct ent *e = __start_myents; e < __stop_myents; e++) s += e->v;
    printf("%d\n", s);
    return 0;
}
"""


def test_start_stop_references_keep_their_sections(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "ss.c", START_STOP), ["-O1", *SPLIT])
    mine, got, ref, want = gc_both(tmp_path, "ss", [obj])
    assert got == want
    assert f"removing unused section 'deadsec' in file '{obj}'" in got      # only dead code used it
    assert not mine_only(got, "myents")
    assert run_exe(mine).stdout == run_exe(ref).stdout == "3\n"
    names = nm_names(mine)
    assert "__start_myents" in names and "__start_deadsec" not in names


@pytest.mark.skipif(not IS_LDPY, reason="ld.bfd 2.40 crashes on this link")
def test_start_stop_gc_option(tmp_path):
    """-z start-stop-gc: __start_/__stop_ references keep nothing (as lld does; ld.bfd
    2.40 keeps the section when a symbol is referenced twice, or crashes)."""
    obj = compile_obj(tmp_path, write(tmp_path, "ss.c", START_STOP), ["-O1", *SPLIT])
    _, r = link(tmp_path, "ss", [obj], [GC, "-Wl,-z,start-stop-gc"], static=False, check=False)
    assert r.returncode != 0
    assert f"removing unused section 'myents' in file '{obj}'" in removed(r)
    assert "undefined reference to '__start_myents'" in r.stderr
    mine, r = link(tmp_path, "ss2", [obj], [GC, "-Wl,-z,start-stop-gc,-z,nostart-stop-gc"],
                   static=False)
    assert run_exe(mine).stdout == "3\n"


CXX_PROG = r"""
#include <cstdio>
#include <stdexcept>
#include <vector>
#include <string>
template <typename T> T twice(T x) { return x + x; }
template <typename T> T thrice(T x) { return x * 3; }
struct Base { virtual ~Base() {} virtual int f() { return 1; } };
struct Der : Base { int f() override { return 2; } };
struct Unused : Base { int f() override { return 3; } };
int may_throw(int x) { if (x > 2) throw std::runtime_error("big"); return x; }
int unused_thrower(int x) { try { return may_throw(x) + thrice(x); } catch (...) { return -1; } }
static std::string g_name = "global";
int main(int argc, char **) {
    std::vector<int> v{1, 2, 3};
    Der d;
    Base *b = &d;
    int s = twice(argc) + b->f();
    try { may_throw(argc + 5); } catch (const std::exception &e) { std::printf("caught %s\n", e.what()); }
    std::printf("%d %zu %s\n", s, v.size(), g_name.c_str());
    return 0;
}
"""


def test_cxx_exceptions_and_templates(tmp_path):
    src = write(tmp_path, "x.cpp", CXX_PROG)
    obj = compile_obj(tmp_path, src, ["-O1", *SPLIT])
    mine, got, ref, want = gc_both(tmp_path, "x", [obj], compiler="g++")
    assert got == want
    # COMDAT group members are named NAME[SIGNATURE], the group goes with them
    assert any(re.search(r"'\.text\._Z\w+\[_Z\w+\]'", line) for line in got)
    assert f"removing unused section '.group' in file '{obj}'" in got
    assert run_exe(mine).stdout == run_exe(ref).stdout == "caught big\n4 3 global\n"
    # the FDEs of removed functions are gone: as many as ld.bfd drops
    plain, _ = link(tmp_path, "x0", [obj], compiler="g++", static=False)
    plain_ref, _ = link(tmp_path, "x0.bfd", [obj], compiler="g++", linker="bfd", static=False)
    dropped = section(plain, ".eh_frame_hdr").size - section(mine, ".eh_frame_hdr").size
    assert dropped > 0
    assert dropped == section(plain_ref, ".eh_frame_hdr").size - section(ref, ".eh_frame_hdr").size
    assert "_Z14unused_throweri" not in nm_names(mine)


def test_cxx_comdat_copies_listed_like_bfd(tmp_path):
    """ld.bfd also lists the discarded copies of COMDAT groups as removed."""
    a = compile_obj(tmp_path, write(tmp_path, "t1.cpp", """
        template <typename T> T twice(T x) { return x + x; }
        int use1(int x) { return twice(x); }"""))
    b = compile_obj(tmp_path, write(tmp_path, "t2.cpp", """
        template <typename T> T twice(T x) { return x + x; }
        int use1(int);
        int main(int c, char**) { return twice(c) + use1(c) - 4 * c; }"""))
    mine, got, ref, want = gc_both(tmp_path, "t", [a, b], compiler="g++")
    assert got == want
    assert f"removing unused section '.text._Z5twiceIiET_S0_[_Z5twiceIiET_S0_]' in file '{b}'" in got
    run_exe(mine)


@pytest.mark.slow
def test_cxx_static_exceptions(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "x.cpp", CXX_PROG), ["-O1", *SPLIT])
    mine, r = link(tmp_path, "x", [obj], [GC], compiler="g++", static=True)
    plain, _ = link(tmp_path, "x0", [obj], compiler="g++", static=True)
    assert run_exe(mine).stdout == run_exe(plain).stdout == "caught big\n4 3 global\n"
    assert len(removed(r)) > 100
    assert section(mine, ".text").size < section(plain, ".text").size


def _comparable(lines):
    """Removed-section lines of a static libc link, for comparison with ld.bfd: the
    copy of a COMDAT group (DW.ref.__gcc_personality_v0) that wins depends on the
    order archive members are loaded, so for group lines only the names count."""
    plain, group = [], []
    for line in lines:
        if "'.group'" in line or "[" in line.split("' in file")[0]:
            group.append(line.split("' in file")[0])
        else:
            plain.append(line)
    return sorted(plain), sorted(group)


def test_static_libc(tmp_path):
    src = write(tmp_path, "s.c", r"""
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        static int unused(int x) { return x * 7; }
        int (*keep_unused_alive)(int);
        int main(int argc, char **argv) {
            char buf[64];
            snprintf(buf, sizeof buf, "hi %d", argc);
            puts(buf);
            char *p = strdup(buf);
            printf("%zu\n", strlen(p));
            free(p);
            return 0;
        }
    """)
    obj = compile_obj(tmp_path, src, ["-O1", *SPLIT])
    mine, got, ref, want = gc_both(tmp_path, "s", [obj], static=True)
    assert _comparable(got) == _comparable(want)
    assert run_exe(mine).stdout == run_exe(ref).stdout == "hi 1\n4\n"
    plain, _ = link(tmp_path, "s0", [obj], static=True)
    mine_text, ref_text = section(mine, ".text").size, section(ref, ".text").size
    assert mine_text < section(plain, ".text").size
    assert abs(mine_text - ref_text) < 0.05 * ref_text, (mine_text, ref_text)


def test_shared_object(tmp_path):
    src = write(tmp_path, "sh.c", r"""
        static int helper(int x) { return x * 2; }
        static int dead_helper(int x) { return x * 5; }
        __attribute__((visibility("hidden"))) int hidden_unused(int x) { return dead_helper(x); }
        __attribute__((visibility("hidden"))) int hidden_used(int x) { return helper(x); }
        int exported(int x) { return hidden_used(x) + 1; }
        int local_by_script(int x) { return x; }
    """)
    obj = compile_obj(tmp_path, src, ["-fPIC", *SPLIT])
    vs = write(tmp_path, "v.map", "{ global: exported; local: *; };\n")
    for flags, gone in (([], {"dead_helper", "hidden_unused"}),
                        ([f"-Wl,--version-script={vs}"], {"dead_helper", "hidden_unused", "local_by_script"})):
        mine, got, ref, want = gc_both(tmp_path, "libsh.so", [obj], ["-shared", *flags])
        got_here = [line for line in got if f"'{obj}'" in line]
        assert got_here == [line for line in want if f"'{obj}'" in line]
        assert {re.search(r"'\.text\.(\w+)'", line).group(1) for line in got_here} == gone
        main = write(tmp_path, "m.c", '#include <stdio.h>\nint exported(int);\n'
                                      'int main(void) { printf("%d\\n", exported(20)); return 0; }\n')
        exe, _ = link(tmp_path, "m", [main, mine, f"-Wl,-rpath,{tmp_path}"], static=False)
        assert run_exe(exe).stdout == "41\n"


def test_exported_symbols_are_roots(tmp_path):
    src = write(tmp_path, "k.c", r"""
        __attribute__((section(".keepme"))) int keepme_v = 1;
        __attribute__((section(".dropme"))) int dropme_v = 2;
        int exported_fn(int x) { return x + 1; }
        __attribute__((visibility("hidden"))) int hidden_fn(int x) { return x + 2; }
        int main(void) { return 0; }
    """)
    obj = compile_obj(tmp_path, src, SPLIT)
    for flags in (["-Wl,-E"], ["-Wl,--gc-keep-exported"], ["-Wl,--export-dynamic-symbol=exported_fn"],
                  ["-static", "-Wl,-E"]):
        mine, got, ref, want = gc_both(tmp_path, "k", [obj], flags)
        here = [line for line in got if f"'{obj}'" in line]
        assert here == [line for line in want if f"'{obj}'" in line], flags
        assert any("hidden_fn" in line for line in here)
        assert any("exported_fn" in line for line in here) == (flags == ["-static", "-Wl,-E"])


def test_keep_in_linker_script(tmp_path):
    src = write(tmp_path, "k.c", r"""
        __attribute__((section(".keepme"))) int keepme_v = 1;
        __attribute__((section(".dropme"))) int dropme_v = 2;
        int main(void) { return 0; }
    """)
    obj = compile_obj(tmp_path, src, SPLIT)
    script = write(tmp_path, "k.ld", "SECTIONS { .keepme : { KEEP(*(.keepme)) } } INSERT AFTER .data;\n")
    mine, got, ref, want = gc_both(tmp_path, "k", [obj], [f"-Wl,-T,{script}"])
    assert got == want
    assert f"removing unused section '.dropme' in file '{obj}'" in got
    assert not mine_only(got, ".keepme")
    assert section(mine, ".keepme").size == 4
    run_exe(mine)


def test_command_line_roots(tmp_path):
    src = write(tmp_path, "b.c", r"""
        int only_u(void) { return 2; }
        int only_required(void) { return 3; }
        int only_extern(void) { return 4; }
        int only_defsym(void) { return 5; }
        int nothing(void) { return 6; }
        int main(void) { return 0; }
    """)
    obj = compile_obj(tmp_path, src, SPLIT)
    script = write(tmp_path, "ext.ld", "EXTERN(only_extern)\n")
    flags = ["-Wl,-u,only_u,--require-defined=only_required", script]
    mine, got, ref, want = gc_both(tmp_path, "b", [obj], flags)
    assert got == want
    assert [line for line in got if f"'{obj}'" in line] == \
        [f"removing unused section '.text.{fn}' in file '{obj}'" for fn in ("only_defsym", "nothing")]
    # --defsym: ld.bfd removes what the expression names (and the symbol becomes 0);
    # ldpy keeps it, like lld, so the symbol has a real address
    if IS_LDPY:
        mine, r = link(tmp_path, "d", [obj], [GC, "-Wl,--defsym=alias=only_defsym"], static=False)
        assert not mine_only(removed(r), "only_defsym")
        addr = {e.name: e.value for e in __import__("e2e_util").nm(mine)}
        assert addr["alias"] == addr["only_defsym"] != 0


def test_require_defined_error(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "m.c", "int main(void) { return 0; }\n"))
    _, r = link(tmp_path, "m", [obj], ["-Wl,--require-defined=nosuch"], static=False, check=False)
    assert r.returncode != 0
    assert "required symbol" in r.stderr and "nosuch" in r.stderr and "not defined" in r.stderr
    assert not os.path.exists(tmp_path / "m")


def test_constructors_survive(tmp_path):
    from e2e_util import prog
    objs = [compile_obj(tmp_path, prog(n), SPLIT) for n in ("ctors_main.c", "ctors_a.c", "ctors_b.c")]
    mine, got, ref, want = gc_both(tmp_path, "c", objs, static=True)
    assert _comparable(got) == _comparable(want)
    out = run_exe(mine).stdout
    assert out == run_exe(ref).stdout and out


def test_map_lists_removed_sections(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "a.c", C_PROG), SPLIT)
    mp = tmp_path / "a.map"
    link(tmp_path, "a", [obj], [GC, f"-Wl,-Map,{mp}"], static=False)
    text = mp.read_text()
    discarded = text.split("Discarded input sections", 1)[1].split("Linker script and memory map", 1)[0]
    block = re.findall(r"^ (\S+)\s*\n?\s+0x0+\s+(0x[0-9a-f]+)\s+(\S+)$", discarded, re.M)
    listed = {(name, file) for name, _, file in block}
    for sec in (".text.unused_fn", ".text.unused_static", ".data.unused_data"):
        assert (sec, obj) in listed, discarded
    memory = text.split("Linker script and memory map", 1)[1]
    assert "unused_fn" not in memory and "used_fn" in memory


def test_debug_info_of_removed_code(tmp_path):
    """DWARF relocations against removed sections get ld.bfd's values: 0, and 1 in
    .debug_ranges (0 there would end the list)."""
    src = write(tmp_path, "d.c", r"""
        int d1(int x) { return x + 9; }
        int d2(int x) { int y = x * 3; for (int i = 0; i < x; i++) y += i; return y; }
    """)
    main = write(tmp_path, "m.c", "int main(void) { return 0; }\n")
    for flags in (["-g", "-O2", "-gdwarf-4"], ["-g", "-O1", *SPLIT]):
        objs = [compile_obj(tmp_path, src, flags), compile_obj(tmp_path, main, flags)]
        mine, got, ref, want = gc_both(tmp_path, "d", objs)
        assert got == want and got
        low = re.findall(r"DW_AT_name\s*:\s*(?:\([^)]*\)\s*)?(d1|d2)\s*\n(?:.*\n)*?\s*<\w+>\s+"
                         r"DW_AT_low_pc\s*:\s*(?:\([^)]*\)\s*)?(\S+)", readelf("--debug-dump=info", mine))
        assert sorted(low) == [("d1", "0"), ("d2", "0")]
        for name in (".debug_ranges", ".debug_aranges"):
            if any(s.name == name for s in sections(ref)):
                assert readelf("-x", name, mine).split("\n", 2)[2] == \
                    readelf("-x", name, ref).split("\n", 2)[2], name


def test_direct_link_with_archive_members(tmp_path):
    """Archive members are named lib.a(member.o) in the lines."""
    a = compile_obj(tmp_path, write(tmp_path, "lib1.c", "int lib_used(void) { return 1; }\n"
                                                         "int lib_unused(void) { return 2; }\n"), SPLIT)
    lib = tmp_path / "libx.a"
    run(["ar", "rcs", str(lib), a])
    start = compile_obj(tmp_path, write(tmp_path, "start.c", r"""
        int lib_used(void);
        void _start(void) {
            int r = lib_used();
            __asm__ volatile("mov $60, %%eax; syscall" :: "D"(r - 1));
        }
    """), ["-O1", "-fno-pic", *SPLIT])
    for linker in ("ldpy", "bfd"):
        r = ld_direct(["-static", "--gc-sections", "--print-gc-sections", start, str(lib), "-o",
                       str(tmp_path / f"p.{linker}")], tmp_path, linker=linker)
        assert r.returncode == 0, r.stderr
        assert removed(r) == [f"removing unused section '.text.lib_unused' in file '{lib}(lib1.o)'"]
        run_exe(tmp_path / f"p.{linker}")


def test_definitions_a_shared_library_uses_are_kept(tmp_path):
    """A function only a shared library calls back is a root (it goes to .dynsym)."""
    lib_src = write(tmp_path, "cb_lib.c", "int callback(int);\nint call_it(int x) { return callback(x) + 1; }\n")
    lib = tmp_path / "libcb.so"
    run(["gcc", "-shared", "-fPIC", lib_src, "-o", str(lib)])
    obj = compile_obj(tmp_path, write(tmp_path, "cb_main.c", r"""
        #include <stdio.h>
        int call_it(int);
        int callback(int x) { return x * 10; }
        int not_called(int x) { return x; }
        int main(void) { printf("%d\n", call_it(4)); return 0; }
    """), SPLIT)
    mine, got, ref, want = gc_both(tmp_path, "cb", [obj, f"-L{tmp_path}", "-lcb", f"-Wl,-rpath,{tmp_path}"])
    here = [line for line in got if f"'{obj}'" in line]
    assert here == [line for line in want if f"'{obj}'" in line] == \
        [f"removing unused section '.text.not_called' in file '{obj}'"]
    assert run_exe(mine).stdout == "41\n"


@pytest.mark.slow
def test_mutated_objects_fail_cleanly(tmp_path):
    """Corrupted objects (relocations, groups, .eh_frame, section headers) linked with
    --gc-sections: a link or a one-line error, never a traceback or a left-over output."""
    import random
    import subprocess
    import sys
    from test_fuzz import mutate
    a = compile_obj(tmp_path, write(tmp_path, "a.cpp", r"""
        #include <stdexcept>
        template <typename T> T twice(T x) { return x + x; }
        int counter = 3;
        __attribute__((section("myents"))) int ent = 4;
        extern int __start_myents[];
        int unused_fn(int x) { return twice(x) * 5; }
        int may_throw(int x) { if (x > 2) throw std::runtime_error("x"); return twice(x) + __start_myents[0]; }
        extern "C" int work(int x) { try { return may_throw(x) + counter; } catch (...) { return -1; } }
    """), ["-O1", "-fno-pie", *SPLIT])
    b = compile_obj(tmp_path, write(tmp_path, "b.c", "int work(int);\nvoid _start(void) { work(1); for (;;) ; }\n"),
                    ["-O1", "-fno-pie", *SPLIT])
    rng = random.Random(21)
    originals = {a: open(a, "rb").read(), b: open(b, "rb").read()}
    out = tmp_path / "out"
    outcomes = set()
    for _ in range(60):
        victim = rng.choice([a, a, b])
        mut = tmp_path / "mut.o"
        mut.write_bytes(mutate(originals[victim], rng))
        inputs = [str(mut), b] if victim == a else [a, str(mut)]
        r = subprocess.run([sys.executable, "-m", "ldpy", "-static", "-o", str(out), "--gc-sections",
                            "--print-gc-sections", "--unresolved-symbols=ignore-all", *inputs],
                           capture_output=True, text=True, timeout=120)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
        assert r.returncode in (0, 1), r.stderr
        if r.returncode:
            assert any(line.startswith("ldpy: error:") for line in r.stderr.splitlines()), r.stderr
            assert not out.exists()
        outcomes.add(r.returncode)
        if out.exists():
            out.unlink()
    assert outcomes == {0, 1}


def test_as_needed_library_used_only_by_removed_code(tmp_path):
    """--as-needed is decided after --gc-sections, as lld and mold decide it: a library
    that only removed code used is not needed (ld.bfd 2.40 keeps it in DT_NEEDED)."""
    from linkutil import needed
    lib_src = write(tmp_path, "lf.c", "int call_it(int x) { return x; }\n")
    run(["gcc", "-shared", "-fPIC", lib_src, "-o", str(tmp_path / "libcf.so")])
    obj = compile_obj(tmp_path, write(tmp_path, "an.c", "int call_it(int);\n"
                                                          "int dead(int x) { return call_it(x); }\n"
                                                          "int main(void) { return 0; }\n"), SPLIT)
    flags = ["-Wl,--as-needed", f"-L{tmp_path}", "-lcf", f"-Wl,-rpath,{tmp_path}"]
    mine, got, ref, want = gc_both(tmp_path, "an", [obj], flags)
    lld = str(tmp_path / "an.lld")
    run(["gcc", obj, *flags, GC, "-fuse-ld=lld", "-o", lld])
    assert needed(mine) == needed(lld) == ["libc.so.6"]
    assert needed(ref) == ["libcf.so", "libc.so.6"]        # (ld.bfd keeps it)
    assert "call_it" not in nm_names(mine) and "call_it" not in readelf("--dyn-syms", mine)
    # without --gc-sections dead() stays, and so does the library
    kept, _ = link(tmp_path, "an.keep", [obj], flags, static=False)
    assert needed(kept) == ["libcf.so", "libc.so.6"]
    run_exe(mine)
