"""ldpy -r (relocatable output, also -i, --relocatable, -Ur, gcc -r): the object it
writes is compared with ld.bfd -r for the same inputs (section names, types,
flags, sizes, alignment and contents; every relocation by offset, type, symbol
and addend; nm), and the -r output is linked into programs, by ldpy and by
ld.bfd, that must run and print what the unlinked objects print."""
import glob
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from linkutil import run, shim_dir

HERE = os.path.dirname(os.path.abspath(__file__))


def ldpy(args, cwd, check=True):
    r = subprocess.run([sys.executable, "-m", "ldpy", *args], cwd=str(cwd), capture_output=True,
                       text=True, timeout=120)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stderr
    return r


def bfd(args, cwd):
    return run(["ld.bfd", *args], cwd=str(cwd))


def cc(tmp, name, code, *flags, compiler="gcc"):
    ext = ".cpp" if compiler == "g++" else ".c"
    (tmp / (name + ext)).write_text(code)
    run([compiler, "-c", *flags, name + ext, "-o", name + ".o"], cwd=str(tmp))
    return name + ".o"


def asm(tmp, name, text):
    (tmp / (name + ".s")).write_text(text)
    run(["as", name + ".s", "-o", name + ".o"], cwd=str(tmp))
    return name + ".o"


def link_and_run(tmp, obj, out, linker, compiler="gcc", extra=()):
    sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
    run([compiler, obj, *extra, "-o", out, *sel], cwd=str(tmp))
    return run([str(tmp / out)], cwd=str(tmp)).stdout


# -- the structure of an ELF relocatable object, as plain data --------------------------

def _elf(path):
    data = np.fromfile(path, np.uint8)
    hdr = data[:64].view(np.uint8)
    assert bytes(hdr[:4]) == b"\x7fELF"
    shoff = int(data[0x28:0x30].view("<u8")[0])
    shnum = int(data[0x3c:0x3e].view("<u2")[0])
    shstrndx = int(data[0x3e:0x40].view("<u2")[0])
    dt = np.dtype([("name", "<u4"), ("type", "<u4"), ("flags", "<u8"), ("addr", "<u8"), ("offset", "<u8"),
                   ("size", "<u8"), ("link", "<u4"), ("info", "<u4"), ("align", "<u8"), ("entsize", "<u8")])
    first = data[shoff:shoff + 64].view(dt)[0]
    if shnum == 0:                                        # extended numbering
        shnum = int(first["size"])
    if shstrndx == 0xffff:
        shstrndx = int(first["link"])
    sh = data[shoff:shoff + shnum * 64].view(dt)
    strs = data[sh[shstrndx]["offset"]:][:sh[shstrndx]["size"]].tobytes()
    names = [strs[n:strs.index(b"\0", n)].decode() for n in sh["name"].tolist()]
    return data, sh, names


def structure(path, zero_addr=True):
    """[(name, type, flags, size, align, entsize, link name, info, contents, address)] per
    section; string and symbol tables by size class only (their order is BFD's hash order)."""
    data, sh, names = _elf(path)
    rows = []
    for i in range(1, len(sh)):
        s = sh[i]
        t = int(s["type"])
        if t in (2, 3, 18):                               # symtab / strtab: compared through nm
            rows.append((names[i], t))
            continue
        if t in (4, 17):                                  # rela / group: compared symbolically
            body = None
        elif t == 8:
            body = None
        else:
            body = data[int(s["offset"]):int(s["offset"]) + int(s["size"])].tobytes()
        rows.append((names[i], t, int(s["flags"]), int(s["size"]), int(s["align"]), int(s["entsize"]),
                     names[int(s["link"])] if s["link"] else "",
                     names[int(s["info"])] if t == 4 else int(s["info"]) if t != 17 else "", body,
                     int(s["addr"])))
    assert int(data[0x10:0x12].view("<u2")[0]) == 1      # ET_REL
    assert int(data[0x38:0x3a].view("<u2")[0]) == 0      # no program headers
    assert not zero_addr or not sh["addr"].any()          # addresses all 0 (the default script)
    return rows


def relocations(path):
    """{relocation section: [(offset, type, symbol or section, addend)]} as readelf shows them."""
    out = run(["readelf", "-rW", path]).stdout
    res, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"Relocation section '(\S+)'", line)
        if m:
            cur = res.setdefault(m.group(1), [])
            continue
        parts = line.split()
        if cur is not None and len(parts) >= 3 and re.match(r"^[0-9a-f]{16}$", parts[0]):
            rest = line.split(parts[2], 1)[1].split()
            sym = rest[1] if len(rest) >= 3 else ""
            cur.append((parts[0], parts[2], sym, "".join(rest[2:]) if len(rest) >= 3 else rest[-1] if rest else ""))
    return res


def groups(path):
    out = run(["readelf", "-gW", path]).stdout
    return [l.split("[", 1)[1].strip() if "[" in l else l.strip()
            for l in out.splitlines() if "COMDAT group section" in l or re.match(r"\s+\[\s*\d+\]", l)]


def nm(path):
    return run(["nm", path]).stdout


def assert_same_as_bfd(tmp, args, ours="ours.o", theirs="bfd.o", zero_addr=True):
    """ldpy and ld.bfd on the same -r command line write the same object (bar the
    order of the global symbols and the string table layout)."""
    bfd([*args, "-o", theirs], tmp)
    ldpy([*args, "-o", ours], tmp)
    a, b = str(tmp / theirs), str(tmp / ours)
    sa, sb = structure(a, zero_addr), structure(b, zero_addr)
    assert [r[:8] for r in sb] == [r[:8] for r in sa]
    for ra, rb in zip(sa, sb):
        assert rb == ra, f"contents of {ra[0]} differ"
    assert relocations(b) == relocations(a)
    assert groups(b) == groups(a)
    assert nm(b) == nm(a)
    # down to the order: locals file by file as BFD meets them, globals in its hash
    # table's order, so every symbol index in the relocations is BFD's too
    assert readelf_w("-s", b) == readelf_w("-s", a)
    assert readelf_w("-r", b) == readelf_w("-r", a)
    head = lambda p: [l for l in readelf_w("-h", p) if "Start of section headers" not in l]
    assert head(b) == head(a)
    return b


def readelf_w(opt, path):
    return [l for l in run(["readelf", "-W", opt, path]).stdout.splitlines()
            if not l.startswith("Relocation section")]


# -- programs -------------------------------------------------------------------------------

C_A = r"""
#include <stdio.h>
static int counter;                 /* a static in .bss */
int shared_common;                  /* a common, also in b.c */
__thread int tls_a = 5;
static const char *msg(void) { return "hello from a"; }
extern int (*fp)(int, int);
extern const char *bstr;
int global_a = 42;
int main(void) {
    counter++;
    shared_common = 7;
    printf("%s %d %d %d %d %s\n", msg(), fp(2, 3), global_a, tls_a, shared_common + counter, bstr);
    return 0;
}
"""
C_B = r"""
static int helper(int x) { return x * 2; }
int shared_common;
__thread int tls_b;
int add(int x, int y) { tls_b = x; return helper(x) + y + tls_b; }
int (*fp)(int, int) = add;
const char *bstr = "from b";
"""
C_EXPECT = "hello from a 9 42 5 8 from b\n"


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_c_program_through_r_runs_with_both_linkers(tmp_path, opt):
    a = cc(tmp_path, "a", C_A, opt, "-fcommon")
    b = cc(tmp_path, "b", C_B, opt, "-fcommon")
    assert_same_as_bfd(tmp_path, ["-r", a, b], "ab.o")
    assert "COMMON" not in run(["readelf", "-sW", str(tmp_path / "ab.o")]).stdout or True
    syms = run(["readelf", "-sW", str(tmp_path / "ab.o")]).stdout
    assert re.search(r"OBJECT\s+GLOBAL\s+DEFAULT\s+COM shared_common", syms)   # commons stay commons
    assert re.search(r"OBJECT\s+LOCAL\s+DEFAULT\s+\d+ counter", syms)
    for linker in ("ldpy", "bfd"):
        assert link_and_run(tmp_path, "ab.o", f"p-{linker}", linker) == C_EXPECT


CPP_X = r"""
#include <cstdio>
#include <stdexcept>
#include <string>
template <typename T> T twice(T v) { return v + v; }
thread_local int tl_counter = 3;
struct S { S() { std::puts("ctor S"); } };
static S s_obj;
int thrower(int x);
int use_x(int v) { tl_counter++; return twice(v) + tl_counter; }
int main() {
    try { thrower(1); } catch (const std::runtime_error &e) { std::printf("caught %s\n", e.what()); }
    std::printf("%d %g\n", use_x(2), twice(1.5));
    extern int use_y(int); std::printf("%d\n", use_y(4));
    try { thrower(7); } catch (const std::exception &e) { std::printf("again %s\n", e.what()); }
}
"""
CPP_Y = r"""
#include <stdexcept>
#include <string>
template <typename T> T twice(T v) { return v + v; }
extern thread_local int tl_counter;
int thrower(int x) { if (x) throw std::runtime_error("boom " + std::to_string(x)); return 0; }
int use_y(int v) { return twice(v) * 10 + tl_counter; }
"""
CPP_EXPECT = "ctor S\ncaught boom 1\n8 3\n84\nagain boom 7\n"


@pytest.mark.parametrize("opt", ["-O0", "-O2", "-g"])
def test_cpp_comdat_exceptions_thread_local(tmp_path, opt):
    """With -g, y.o's DWARF for its discarded copy of twice<int> is pointed at x.o's
    kept copy (BFD's 'pretend' for a kept section of the same size), not dropped."""
    x = cc(tmp_path, "x", CPP_X, opt, compiler="g++")
    y = cc(tmp_path, "y", CPP_Y, opt, compiler="g++")
    out = assert_same_as_bfd(tmp_path, ["-r", x, y], "xy.o")
    gr = run(["readelf", "-gW", out]).stdout
    assert "COMDAT group section" in gr and "to_string" in gr          # groups stay groups
    for linker in ("ldpy", "bfd"):
        assert link_and_run(tmp_path, "xy.o", f"p-{linker}", linker, compiler="g++") == CPP_EXPECT


def test_duplicate_comdat_fde_becomes_none_like_bfd(tmp_path):
    """y.o's copy of twice<int> is discarded: its FDE goes, its relocation stays as R_X86_64_NONE."""
    x = cc(tmp_path, "x", CPP_X, "-O0", compiler="g++")
    y = cc(tmp_path, "y", CPP_Y, "-O0", compiler="g++")
    out = assert_same_as_bfd(tmp_path, ["-r", x, y])
    assert any(t == "R_X86_64_NONE" for _, t, _, _ in relocations(out)[".rela.eh_frame"])


SECTIONS_C = r"""
int common_c;
int big_common[100];
static int sfunc(int x) { return x + 1; }
int v;
__attribute__((constructor(200))) static void ctor200(void) { v += 1; }
__attribute__((constructor)) static void ctor(void) { v *= 3; }
__attribute__((destructor(300))) static void dtor300(void) { v = 0; }
__attribute__((cold)) int coldf(int x) { return x * 3; }
int hotf(int x) { return sfunc(x); }
const int ro_table[4] = {1,2,3,4};
const char *const ptrs[] = {"x", "y"};
"""
RENAME = ["-Dcoldf=coldf2", "-Dhotf=hotf2", "-Dptrs=ptrs2", "-Dro_table=ro2", "-Dbig_common=bc2",
          "-Dv=v2", "-Dcommon_c=cc2"]
ASM_MIX = """
.section .gnu.linkonce.t.foo,"ax",@progbits
.globl foo
foo: ret
.section .text.unlikely,"ax",@progbits
cold1: ret
.section .mydata,"aw",@progbits
.quad cold1
.section .myro,"a",@progbits
.byte 1
.section .mynote,"",@progbits
.byte 2
.section .note.ABI-tag,"a",@note
.long 0
.section .tbss.x,"awT",@nobits
.zero 4
.section .tdata.y,"awT",@progbits
.long 5
.section .bss.z,"aw",@nobits
.zero 8
.section .ctors,"aw",@progbits
.quad foo
.text
.globl start2
start2: call foo
"""
MISC_C = r"""
static int impl(void) { return 3; }
static void *resolve(void) { return impl; }
int ifn(void) __attribute__((ifunc("resolve")));
__attribute__((section(".gnu.warning.oldf"))) const char warn_oldf[] = "oldf is old";
int oldf(void) { return 1; }
char bigarr[100000];
char bigdata[100000] = {1};
"""
SYMVER_C = r"""
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
__asm__(".symver foo_v1, foo@VER_1");
__asm__(".symver foo_v2, foo@@VER_2");
extern int bar(void);
__asm__(".symver bar, bar@VER_X");
int callbar(void) { return bar(); }
"""


@pytest.mark.parametrize("opts", [[], ["-x"], ["-X"], ["-s"], ["-S"], ["-d"], ["-Ur"], ["-i"],
                                  ["--relocatable"], ["-u", "extra_undef"], ["-e", "entry_sym"]])
def test_structure_matches_bfd(tmp_path, opts):
    """Orphans (.text.*, .rodata.*, .data.rel.ro.*, .init_array.N, .ctors, .gnu.linkonce, .tbss.x,
    notes, .gnu.warning.SYM, large-model .lbss/.ldata), .note.gnu.property and .note.GNU-stack
    merging, commons, .symver names, IFUNC (ELFOSABI_GNU) and the symbol-table options,
    each against ld.bfd -r."""
    c1 = cc(tmp_path, "c1", SECTIONS_C, "-O1", "-fcommon", "-ffunction-sections", "-fdata-sections",
            "-fcf-protection")
    c2 = cc(tmp_path, "c2", SECTIONS_C, "-O1", "-fcommon", "-fcf-protection", *RENAME)
    a = cc(tmp_path, "a", C_A, "-O2", "-fcommon")
    m = asm(tmp_path, "m", ASM_MIX)
    sv = cc(tmp_path, "sv", SYMVER_C)
    misc = cc(tmp_path, "misc", MISC_C, "-O1", "-mcmodel=medium")     # IFUNC, .lbss/.ldata
    args = opts if opts and opts[0] in ("-Ur", "-i", "--relocatable") else ["-r", *opts]
    assert_same_as_bfd(tmp_path, [*args, c1, c2, a, m, sv, misc])


def test_define_common_allocates_commons_in_bss(tmp_path):
    """-d: commons become .bss definitions (after every .bss input, one block per
    file, as BFD attaches each file's COMMON, in the order of its hash table)."""
    c1 = cc(tmp_path, "c1", SECTIONS_C, "-O1", "-fcommon")
    a = cc(tmp_path, "a", C_A, "-O2", "-fcommon")
    bfd(["-r", "-d", c1, a, "-o", "bfd.o"], tmp_path)
    ldpy(["-r", "-d", c1, a, "-o", "ours.o"], tmp_path)
    ours, theirs = str(tmp_path / "ours.o"), str(tmp_path / "bfd.o")
    assert structure(ours) == structure(theirs) and nm(ours) == nm(theirs)
    pick = lambda p: sorted(l.split()[1:] for l in nm(p).splitlines() if l.split()[-1] in
                            ("big_common", "common_c", "v", "shared_common"))
    assert pick(ours) == pick(theirs)
    syms = run(["readelf", "-sW", ours]).stdout
    assert " COM " not in syms
    values = {l.split()[-1]: int(l.split()[1], 16) for l in syms.splitlines()
              if l.split() and l.split()[-1] in ("big_common", "common_c", "v", "shared_common")}
    assert values["big_common"] % 32 == 0 and values["shared_common"] >= values["big_common"] + 400
    for linker in ("ldpy", "bfd"):
        sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
        run(["gcc", "ours.o", cc(tmp_path, "bb", C_B.replace("int shared_common;", "extern int shared_common;"),
                                 "-O2"), "-o", "dp", *sel], cwd=str(tmp_path))
        assert run([str(tmp_path / "dp")]).stdout == C_EXPECT


def test_property_note_and_stack_note(tmp_path):
    c1 = cc(tmp_path, "c1", "int f1(void){return 1;}\n", "-fcf-protection")
    c2 = cc(tmp_path, "c2", "int f2(void){return 2;}\n", "-fcf-protection")
    c3 = cc(tmp_path, "c3", "int f3(void){return 3;}\n", "-fcf-protection=none")
    out = assert_same_as_bfd(tmp_path, ["-r", c1, c2])
    assert "IBT, SHSTK" in run(["readelf", "-n", out]).stdout
    out = assert_same_as_bfd(tmp_path, ["-r", c1, c3], "o2.o", "b2.o")
    assert "IBT" not in run(["readelf", "-n", out]).stdout
    noteless = asm(tmp_path, "ns", ".globl g\ng: ret\n")
    out = assert_same_as_bfd(tmp_path, ["-r", c1, noteless], "o3.o", "b3.o")
    assert re.search(r"\.note\.GNU-stack\s+PROGBITS\s+\S+\s+\S+\s+\S+\s+\S+\s+X", run(["readelf", "-SW", out]).stdout)


DEBUG_MAIN = """#include <stdio.h>
int helper(int);

int main(void) {
    int v = helper(20);
    printf("v=%d\\n", v);
    return v == 42 ? 0 : 1;
}
"""
DEBUG_HELPER = """
int helper(int x)
{
    return x * 2 + 2;
}
"""


@pytest.mark.parametrize("dwarf", ["-gdwarf-5", "-gdwarf-4"])
def test_debug_info_survives_r(tmp_path, dwarf):
    m = cc(tmp_path, "dm", DEBUG_MAIN, dwarf, "-O0")
    h = cc(tmp_path, "dh", DEBUG_HELPER, dwarf, "-O0")
    assert_same_as_bfd(tmp_path, ["-r", h, m], "dbg.o")
    for linker in ("ldpy", "bfd"):
        assert link_and_run(tmp_path, "dbg.o", f"d-{linker}", linker) == "v=42\n"
        exe = str(tmp_path / f"d-{linker}")
        main_addr = int(re.search(r"([0-9a-f]+) T main", nm(exe)).group(1), 16)
        helper_addr = int(re.search(r"([0-9a-f]+) T helper", nm(exe)).group(1), 16)
        lines = run(["readelf", "--debug-dump=decodedline", exe]).stdout
        rows = {}
        for l in lines.splitlines():
            p = l.split()
            if len(p) >= 3 and p[0] in ("dm.c", "dh.c") and p[1].isdigit() and p[2].startswith("0x"):
                rows.setdefault(int(p[2], 16), (p[0], int(p[1])))
        assert rows[main_addr] == ("dm.c", 4)              # `int main(void) {` is line 4
        assert rows[helper_addr] == ("dh.c", 3)            # helper's body opens on line 3
        if shutil.which("gdb"):
            g = run(["gdb", "-batch", "-ex", "info line main", "-ex", "info line helper", exe]).stdout
            assert 'Line 4 of "dm.c"' in g and 'Line 3 of "dh.c"' in g


def test_archive_members_and_whole_archive(tmp_path):
    main = cc(tmp_path, "main", "int used(void); int main(void){return used() - 5;}\n")
    cc(tmp_path, "used", "int used(void){return 5;}\n")
    cc(tmp_path, "unused", "int unused(void){return 6;}\n")
    run(["ar", "rcs", "libm1.a", "used.o", "unused.o"], cwd=str(tmp_path))
    out = assert_same_as_bfd(tmp_path, ["-r", main, "libm1.a"], "pulled.o", "pulled-bfd.o")
    names = nm(out)
    assert " T used" in names and "unused" not in names
    out = assert_same_as_bfd(tmp_path, ["-r", main, "--whole-archive", "libm1.a", "--no-whole-archive"],
                             "whole.o", "whole-bfd.o")
    assert " T unused" in nm(out)
    # -l searches only static archives under -r
    out = assert_same_as_bfd(tmp_path, ["-r", main, "-L.", "-lm1"], "l.o", "l-bfd.o")
    assert " T used" in nm(out)
    for linker in ("ldpy", "bfd"):
        sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
        run(["gcc", "whole.o", "-o", "w", *sel], cwd=str(tmp_path))
        assert subprocess.run([str(tmp_path / "w")]).returncode == 0


def test_gcc_r_through_the_shim(tmp_path):
    a = cc(tmp_path, "a", C_A, "-O1", "-fcommon")
    b = cc(tmp_path, "b", C_B, "-O1", "-fcommon")
    run(["gcc", "-r", a, b, "-o", "g.o", "-B", shim_dir()], cwd=str(tmp_path))
    run(["gcc", "-r", a, b, "-o", "g-bfd.o", "-fuse-ld=bfd"], cwd=str(tmp_path))
    assert structure(str(tmp_path / "g.o")) == structure(str(tmp_path / "g-bfd.o"))
    assert relocations(str(tmp_path / "g.o")) == relocations(str(tmp_path / "g-bfd.o"))
    assert nm(str(tmp_path / "g.o")) == nm(str(tmp_path / "g-bfd.o"))
    assert link_and_run(tmp_path, "g.o", "gp", "ldpy") == C_EXPECT


def test_incremental_r_twice(tmp_path):
    a = cc(tmp_path, "a", C_A, "-O2", "-fcommon")
    b = cc(tmp_path, "b", C_B, "-O2", "-fcommon")
    c = cc(tmp_path, "c", "#include <stdio.h>\nstatic int n = 3;\n"
           "__attribute__((constructor)) static void hello(void) { printf(\"c says %d\\n\", n); }\n",
           "-O2")
    ldpy(["-r", a, b, "-o", "ab.o"], tmp_path)
    bfd(["-r", a, b, "-o", "ab-bfd.o"], tmp_path)
    out = assert_same_as_bfd(tmp_path, ["-r", "ab.o", c], "abc.o", "abc-bfd.o")
    # the same as one -r of all three, as far as the program goes
    for linker in ("ldpy", "bfd"):
        assert link_and_run(tmp_path, "abc.o", f"abc-{linker}", linker) == "c says 3\n" + C_EXPECT
    # -r of -r outputs of C++: groups and .eh_frame go through twice
    x = cc(tmp_path, "x", CPP_X, "-O1", compiler="g++")
    y = cc(tmp_path, "y", CPP_Y, "-O1", compiler="g++")
    ldpy(["-r", x, "-o", "x1.o"], tmp_path)
    ldpy(["-r", y, "-o", "y1.o"], tmp_path)
    assert_same_as_bfd(tmp_path, ["-r", "x1.o", "y1.o"], "xy2.o", "xy2-bfd.o")
    assert link_and_run(tmp_path, "xy2.o", "xy2", "ldpy", compiler="g++") == CPP_EXPECT


def test_real_library_objects_match_bfd(tmp_path):
    """Every member of libz.a combined into one object, as ld.bfd -r does it."""
    lib = "/usr/lib/x86_64-linux-gnu/libz.a"
    if not os.path.exists(lib):
        pytest.skip("no libz.a")
    run(["ar", "x", lib], cwd=str(tmp_path))
    objs = sorted(os.path.basename(p) for p in glob.glob(str(tmp_path / "*.o")))
    assert_same_as_bfd(tmp_path, ["-r", *objs])


def test_errors_are_one_line_and_leave_no_output(tmp_path):
    good = cc(tmp_path, "g", "int g(void){return 1;}\n")
    (tmp_path / "junk.o").write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x01\x00\x3e\x00" + b"\0" * 30)
    (tmp_path / "out.o").write_text("old")
    r = ldpy(["-r", good, "junk.o", "-o", "out.o"], tmp_path, check=False)
    errs = [l for l in r.stderr.splitlines() if l.startswith("ldpy: error:")]
    assert r.returncode == 1 and len(errs) == 1 and "junk.o" in errs[0]
    assert not (tmp_path / "out.o").exists()
    r = ldpy(["-r", good, "/lib/x86_64-linux-gnu/libc.so.6", "-o", "out.o"], tmp_path, check=False)
    assert r.returncode == 1 and "attempted static link of dynamic object" in r.stderr
    assert not (tmp_path / "out.o").exists()
    dup = cc(tmp_path, "d", "int g(void){return 2;}\n")
    r = ldpy(["-r", good, dup, "-o", "out.o"], tmp_path, check=False)
    assert r.returncode == 1 and "multiple definition of 'g'" in r.stderr
    assert not (tmp_path / "out.o").exists()


def test_force_group_allocation(tmp_path):
    """--force-group-allocation: no SHT_GROUP, members placed like any section, as ld.bfd."""
    x = cc(tmp_path, "x", CPP_X, "-O0", compiler="g++")
    y = cc(tmp_path, "y", CPP_Y, "-O0", compiler="g++")
    out = assert_same_as_bfd(tmp_path, ["-r", "--force-group-allocation", x, y])
    assert "GROUP" not in run(["readelf", "-SW", out]).stdout
    assert link_and_run(tmp_path, "ours.o", "fg", "ldpy", compiler="g++") == CPP_EXPECT


def test_force_common_allocation_in_a_script(tmp_path):
    a = cc(tmp_path, "a", C_A, "-O2", "-fcommon")
    (tmp_path / "fca.ld").write_text("FORCE_COMMON_ALLOCATION\n")
    ldpy(["-r", "-T", "fca.ld", a, "-o", "f.o"], tmp_path)
    bfd(["-r", "-T", "fca.ld", a, "-o", "f-bfd.o"], tmp_path)
    assert nm(str(tmp_path / "f.o")) == nm(str(tmp_path / "f-bfd.o"))
    assert " B shared_common" in nm(str(tmp_path / "f.o"))


@pytest.mark.parametrize("style", ["zlib", "zlib-gnu", "zstd"])
def test_compressed_debug_sections(tmp_path, style):
    """--compress-debug-sections with -r compresses as ld.bfd -r does; -gz inputs come out
    plain without it; either way the final link still finds main's line."""
    m = cc(tmp_path, "dm", DEBUG_MAIN, "-g", "-gz=zlib")
    h = cc(tmp_path, "dh", DEBUG_HELPER, "-g")
    assert_same_as_bfd(tmp_path, ["-r", m, h], "plain.o", "plain-bfd.o")
    out = assert_same_as_bfd(tmp_path, ["-r", f"--compress-debug-sections={style}", m, h])
    assert (".zdebug_info" if style == "zlib-gnu" else " C ") in run(["readelf", "-SW", out]).stdout
    assert link_and_run(tmp_path, "ours.o", "z", "ldpy") == "v=42\n"
    lines = run(["readelf", "--debug-dump=decodedline", str(tmp_path / "z")]).stdout
    assert re.search(r"dm\.c\s+4\s+0x", lines)


def _bfd_walk_reference(names):
    """bfd/hash.c step by step: bfd_hash_hash, insert at the chain's head, grow to the
    next prime past 3/4 full moving runs of equal full hash."""
    primes = [4093, 8191, 16381, 32749, 65521]       # (higher_prime_number after 4051)
    mask = (1 << 64) - 1

    def h(s):
        x = 0
        for c in s:
            x = (x + c + (c << 17)) & mask
            x ^= x >> 2
        x = (x + len(s) + (len(s) << 17)) & mask
        return x ^ (x >> 2)
    size, table, count = 4051, [[] for _ in range(4051)], 0
    for i, nm in enumerate(names):
        hv = h(nm)
        table[hv % size].insert(0, (hv, i))
        count += 1
        if count > size * 3 // 4:
            newsize = next(p for p in primes if p > size)
            new = [[] for _ in range(newsize)]
            for b in table:
                while b:
                    j = 1
                    while j < len(b) and b[j][0] == b[0][0]:
                        j += 1
                    run = b[:j]
                    del b[:j]
                    new[run[0][0] % newsize][0:0] = run
            table, size = new, newsize
    return [i for b in table for _, i in b]


def test_bfd_hash_walk_order():
    """The global symbols come out in the order GNU ld's hash table walks them, growth
    and full-hash collisions included (these names hold one)."""
    import random
    from ldpy.relocatable import bfd_hash_order
    rnd = random.Random(1)
    names = [f"s{i}_{rnd.randrange(10**9)}".encode() for i in range(12287)]
    for n in (1, 7, 3038, 3039, 3070, 6200, 12287):
        assert bfd_hash_order(names[:n]) == _bfd_walk_reference(names[:n])


@pytest.mark.parametrize("z", ["execstack", "noexecstack"])
def test_z_execstack_makes_the_stack_note(tmp_path, z):
    """-z [no]execstack with inputs that have no .note.GNU-stack: BFD adds one, last."""
    a = asm(tmp_path, "n1", ".globl g1\ng1: ret\n")
    b = asm(tmp_path, "n2", ".p2align 4\n.globl g2\ng2: ret\n")
    out = assert_same_as_bfd(tmp_path, ["-r", "-z", z, a, b])
    assert ".note.GNU-stack" in run(["readelf", "-SW", out]).stdout


def _hostile_cases():
    try:
        import test_hostile_inputs as H
        return H, H.CASES
    except (ImportError, AttributeError):
        return None, []


_H, _HOSTILE = _hostile_cases()


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory):
    return _H.build_corpus(tmp_path_factory.mktemp("hostile-r"))


@pytest.mark.parametrize("case", _HOSTILE, ids=[c.name for c in _HOSTILE])
def test_hostile_inputs_under_r(hostile_corpus, tmp_path, case):
    """test_hostile_inputs' broken files through -r: a one-line error naming the file
    and no output, or (what -r only copies, e.g. a relocation type) an object; never a
    traceback."""
    _H._copy(hostile_corpus, tmp_path, "a.o", "b.o", "c.o", "m.o", "libl.so", "libab.a")
    args = case.make(tmp_path)
    r = _H._link([sys.executable, "-m", "ldpy", "-r", "-o", "out.o", *args], tmp_path)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if r.returncode == 0:
        assert (tmp_path / "out.o").exists()
        # ld.bfd -r accepts it too
        assert _H._link(["ld.bfd", "-r", "-o", "out-bfd.o", *args], tmp_path, limit=False).returncode == 0
        return
    assert r.returncode == 1, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert lines and all(l.startswith("ldpy: error: ") for l in lines), r.stderr
    assert not (tmp_path / "out.o").exists()


def test_extended_section_indexes(tmp_path):
    """More than 65279 output sections (-ffunction-sections at scale): e_shnum 0 and the
    count in section 0, e_shstrndx SHN_XINDEX, .symtab_shndx, as ld.bfd -r."""
    objs = []
    for k in range(2):
        body = "".join(f'.section .text.f{k}_{i},"ax",@progbits\n.globl f{k}_{i}\nf{k}_{i}: call g{k}_{i}\n'
                       for i in range(17000))
        objs.append(asm(tmp_path, f"many{k}", body + '.section .note.GNU-stack,"",@progbits\n'))
    bfd(["-r", *objs, "-o", "big-bfd.o"], tmp_path)
    ldpy(["-r", *objs, "-o", "big.o"], tmp_path)
    out, theirs = str(tmp_path / "big.o"), str(tmp_path / "big-bfd.o")
    strip = lambda lines: [re.sub(r"^(\s*\[\s*\d+\] \S+\s+.+?\s[0-9a-f]{16}) [0-9a-f]{6,}", r"\1", l)
                           for l in lines if "section headers, starting at" not in l
                           and " .strtab " not in l and " .shstrtab " not in l]     # (BFD's tail merging)
    assert strip(readelf_w("-S", out)) == strip(readelf_w("-S", theirs))
    assert readelf_w("-s", out) == readelf_w("-s", theirs)
    assert readelf_w("-r", out) == readelf_w("-r", theirs)
    hdr = run(["readelf", "-h", out]).stdout
    assert re.search(r"Number of section headers:\s+0 \(680\d\d\)", hdr)
    assert ".symtab_shndx" in run(["readelf", "-SW", out]).stdout


GC_C = r"""
int used_helper(int x) { return x + 1; }
int unused_global(int x) { return x * 7; }
__attribute__((noinline)) static int unused_static(int x) { return x - 1; }
int (*keepme)(int) = 0;
int entry_fn(void) { return used_helper(3); }
int other(void) { return unused_static(4); }
"""


@pytest.mark.parametrize("roots", [["-e", "entry_fn"], ["-u", "used_helper"], ["-u", "other", "-u", "entry_fn"]])
def test_gc_sections_under_r(tmp_path, roots):
    """-r --gc-sections keeps what -e / -u reach (ld.bfd -r's roots); the undefined
    references of removed code stay in the table; unused CIEs go with their FDEs."""
    g = cc(tmp_path, "gcm", GC_C, "-O1", "-fno-inline", "-ffunction-sections", "-fdata-sections")
    x = cc(tmp_path, "x", CPP_X, "-O0", "-ffunction-sections", compiler="g++")
    y = cc(tmp_path, "y", CPP_Y, "-O0", "-ffunction-sections", compiler="g++")
    out = assert_same_as_bfd(tmp_path, ["-r", "--gc-sections", *roots, g])
    assert "unused_global" not in nm(out)
    for r in (["-e", "main"], ["-u", "_Z7throweri"]):
        b = bfd(["-r", "--gc-sections", *r, x, y, "-o", "cb.o"], tmp_path)
        ldpy(["-r", "--gc-sections", *r, x, y, "-o", "co.o"], tmp_path)
        a, o = str(tmp_path / "cb.o"), str(tmp_path / "co.o")
        assert structure(o) == structure(a) and relocations(o) == relocations(a)
    r = ldpy(["-r", "--gc-sections", g, "-o", "none.o"], tmp_path, check=False)
    assert r.returncode == 1 and "requires a defined symbol root specified by -e or -u" in r.stderr


@pytest.mark.parametrize("opt", ["--wrap=foo", "--defsym=absval=0x1234", "--defsym=alias=call",
                                 "--defsym=al2=call+4", "--defsym=a3=call+__wrap_foo"])
def test_wrap_and_defsym_under_r(tmp_path, opt):
    w = cc(tmp_path, "wr", "int foo(int);\nint call(void){return foo(1);}\nint __wrap_foo(int x){return x;}\n",
           "-O1")
    assert_same_as_bfd(tmp_path, ["-r", opt, w])


def test_build_id_under_r(tmp_path):
    """--build-id: ld.bfd -r writes the note too; a fixed id gives the same object, a
    hash differs only in the id (it hashes the file, whose offsets are ldpy's own)."""
    a = cc(tmp_path, "a", C_A, "-O1", "-fcommon")
    b = cc(tmp_path, "b", C_B, "-O1", "-fcommon")
    assert_same_as_bfd(tmp_path, ["-r", "--build-id=0x1234abcd", a, b])
    bfd(["-r", "--build-id", a, b, "-o", "s-bfd.o"], tmp_path)
    ldpy(["-r", "--build-id", a, b, "-o", "s.o"], tmp_path)
    ours, theirs = structure(str(tmp_path / "s.o")), structure(str(tmp_path / "s-bfd.o"))
    assert [r[:8] for r in ours] == [r[:8] for r in theirs]
    assert [r for r in ours if r[0] != ".note.gnu.build-id"] == [r for r in theirs if r[0] != ".note.gnu.build-id"]
    assert re.search(r"Build ID: [0-9a-f]{40}", run(["readelf", "-n", str(tmp_path / "s.o")]).stdout)


@pytest.mark.parametrize("opt", ["-x", "-X", "-s", "-S"])
def test_local_symbol_options_with_groups_and_debug_types(tmp_path, opt):
    """-x/-X/-s/-S on C++ with .debug_types groups: group signatures stay (first, no FILE
    symbol for them), locals relocations need follow in the order relocations meet them."""
    x = cc(tmp_path, "x", CPP_X, "-g", "-gdwarf-4", "-fdebug-types-section", compiler="g++")
    y = cc(tmp_path, "y", CPP_Y, "-g", "-gdwarf-4", "-fdebug-types-section", compiler="g++")
    b = cc(tmp_path, "b", C_B, "-O2", "-fcommon")
    assert_same_as_bfd(tmp_path, ["-r", opt, b, x, y])


def test_map_file_under_r(tmp_path):
    a = cc(tmp_path, "a", C_A, "-O1", "-fcommon")
    b = cc(tmp_path, "b", C_B, "-O1", "-fcommon")
    ldpy(["-r", a, b, "-o", "ab.o", "-Map", "ab.map", "--cref"], tmp_path)
    text = (tmp_path / "ab.map").read_text()
    assert "Linker script and memory map" in text and "LOAD a.o" in text
    assert re.search(r"^ \.text\s+0x0*[1-9a-f][0-9a-f]*\s+0xe b\.o$", text, re.M)   # after a.o's
    assert re.search(r"^\s+0x0+[0-9a-f]+\s+add$", text, re.M)
    assert "Cross Reference Table" in text



# -- linker scripts under -r: the same engine as final links ---------------------------------

def test_verbose_r_prints_the_r_script_and_T_of_it_links_the_same(tmp_path):
    """`ldpy --verbose -r` prints ldpy's default script for -r; `-r -T` of the printed
    text writes the same bytes as plain -r, and so does ld.bfd -r -T with it."""
    b = cc(tmp_path, "b", C_B, "-O1", "-fcommon")
    x = cc(tmp_path, "x", CPP_X, "-O0", compiler="g++")
    y = cc(tmp_path, "y", CPP_Y, "-O0", compiler="g++")
    out = ldpy(["--verbose", "-r"], tmp_path).stdout
    text = out.split("=" * 50 + "\n")[1]
    assert "for -r" in text and ".eh_frame     0 : ONLY_IF_RO" in text and ".text         0 :" in text
    (tmp_path / "r.lds").write_text(text)
    ldpy(["-r", b, x, y, "-o", "plain.o"], tmp_path)
    ldpy(["-r", "-T", "r.lds", b, x, y, "-o", "scripted.o"], tmp_path)
    assert (tmp_path / "plain.o").read_bytes() == (tmp_path / "scripted.o").read_bytes()
    assert_same_as_bfd(tmp_path, ["-r", "-T", "r.lds", b, x, y])


MOD_1 = r"""
struct ksym { void *addr; const char *name; };
int exported_a(int x) { return x * 3; }
int exported_b(int x) { return x + 7; }
static const struct ksym ksym_a __attribute__((used, section("___ksymtab+exported_a"))) = { exported_a, "exported_a" };
static const struct ksym ksym_b __attribute__((used, section("___ksymtab_gpl+exported_b"))) = { exported_b, "exported_b" };
static int dropped __attribute__((used, section(".discard.unused"))) = 42;
static long ex1[2] __attribute__((used, section("__ex_table"))) = { 1, 2 };
static void *jt1[3] __attribute__((used, section("__jump_table"))) = { exported_a, exported_b, 0 };
int counter;
static void __attribute__((constructor(200))) early(void) { counter += 100; }
static void __attribute__((constructor)) late(void) { counter += 1; }
__attribute__((patchable_function_entry(2))) int patched(int v) { return v - 1; }
"""
MOD_2 = r"""
struct ksym { void *addr; const char *name; };
int exported_c(int x) { return x << 2; }
static const struct ksym ksym_c __attribute__((used, section("___ksymtab+exported_c"))) = { exported_c, "exported_c" };
static int dropped2 __attribute__((used, section(".discard"))) = 1;
static int ex2 __attribute__((used, section("__ex_table"))) = 3;
static void *jt2[3] __attribute__((used, section("__jump_table"))) = { exported_c, 0, 0 };
extern int counter;
static void __attribute__((constructor(150))) earliest(void) { counter *= 2; }
int use_twice(int x) { return x * x + 1; }
char big_buffer[100];
"""
MOD_MAIN = r"""
#include <stdio.h>
struct ksym { void *addr; const char *name; };
extern const struct ksym __start___ksymtab[], __stop___ksymtab[];
extern char __start_jumps[], __stop_jumps[], jumps_size[], modend_mark[];
extern int counter;
int exported_b(int), use_twice(int), patched(int);
int main(void) {
    for (const struct ksym *k = __start___ksymtab; k < __stop___ksymtab; k++)
        printf("%s -> %d\n", k->name, ((int (*)(int))k->addr)(5));
    printf("counter=%d jumps=%ld size=%lu b=%d t=%d p=%d end=%x\n", counter,
           (long)(__stop_jumps - __start_jumps), (unsigned long)jumps_size, exported_b(1),
           use_twice(3), patched(10), *(unsigned *)modend_mark);
    return 0;
}
"""
MOD_EXPECT = "exported_a -> 15\nexported_c -> 20\ncounter=101 jumps=64 size=64 b=8 t=10 p=9 end=12345678\n"
# the shape of the Linux kernel's scripts/module.lds (written for this test)
MODULE_LDS = """
SECTIONS {
	/DISCARD/ : {
		*(.discard)
		*(.discard.*)
	}
	__ksymtab		0 : { *(SORT(___ksymtab+*)) }
	__ksymtab_gpl		0 : { *(SORT(___ksymtab_gpl+*)) }
	.init_array		0 : ALIGN(8) { *(SORT(.init_array.*)) *(.init_array) }
	__ex_table		0 : ALIGN(4) { KEEP(*(__ex_table)) }
	__jump_table		0 : ALIGN(8) {
		__start_jumps = .;
		KEEP(*(__jump_table))
		. = ALIGN(16);
		__stop_jumps = .;
	}
	__patchable_function_entries : { *(__patchable_function_entries) }
	.modend 0 : { modend_mark = .; LONG(0x12345678) BYTE(1) }
}
jumps_size = __stop_jumps - __start_jumps;
"""


@pytest.mark.parametrize("opt", ["-O1", "-O0 -ffunction-sections -fdata-sections"])
def test_module_script_under_r(tmp_path, opt):
    """`ld -r -T module.lds` as the kernel links modules: `0 :` addresses (and one
    statement without, which gets `.`), /DISCARD/, SORT, ALIGN, KEEP, data commands,
    symbol assignments inside and outside sections, orphans of every kind placed as
    ld.bfd places them with no statement of their kind; the result runs."""
    flags = opt.split()
    m1 = cc(tmp_path, "m1", MOD_1, *flags)
    m2 = cc(tmp_path, "m2", MOD_2, *flags)
    (tmp_path / "module.lds").write_text(MODULE_LDS)
    out = assert_same_as_bfd(tmp_path, ["-r", "-T", "module.lds", m1, m2], "mod.o", zero_addr=False)
    secs = run(["readelf", "-SW", out]).stdout
    assert "__ksymtab " in secs and ".discard" not in secs
    assert re.search(r"__patchable_function_entries\s+PROGBITS\s+0*[1-9a-f]", secs)   # (no `0 :`)
    syms = run(["readelf", "-sW", out]).stdout
    assert re.search(r"64 NOTYPE\s+GLOBAL DEFAULT\s+ABS jumps_size|0+40\s+0 NOTYPE\s+GLOBAL DEFAULT\s+ABS jumps_size",
                     syms)
    cc(tmp_path, "main", MOD_MAIN, "-O1")
    for linker in ("ldpy", "bfd"):
        assert link_and_run(tmp_path, "mod.o", f"m-{linker}", linker, extra=["main.o", "-no-pie"]) == MOD_EXPECT


def test_insert_under_r(tmp_path):
    """INSERT AFTER .data into ldpy's -r script, with an assignment in the new statement."""
    x = cc(tmp_path, "x", CPP_X + '__attribute__((section(".mydata"))) int mine = 5;\n', "-O0", compiler="g++")
    y = cc(tmp_path, "y", CPP_Y + '__attribute__((section(".mydata"))) int mine2 = 6;\n', "-O0", compiler="g++")
    (tmp_path / "ins.lds").write_text("SECTIONS { .mydata 0 : { *(.mydata) mydata_end = .; } } INSERT AFTER .data;\n")
    out = assert_same_as_bfd(tmp_path, ["-r", "-T", "ins.lds", x, y])
    assert re.search(r"0+8\s+0 NOTYPE\s+GLOBAL DEFAULT\s+\d+ mydata_end", run(["readelf", "-sW", out]).stdout)
    assert link_and_run(tmp_path, "ours.o", "ins", "ldpy", compiler="g++") == CPP_EXPECT


@pytest.mark.parametrize("opts", [[], ["-d"]])
def test_script_with_groups_and_commons_under_r(tmp_path, opts):
    """A user script takes .text.* and COMMON; COMDAT group members stay sections of
    their own (only /DISCARD/ may take them), as in ld.bfd -r."""
    x = cc(tmp_path, "x", CPP_X, "-O0", compiler="g++")
    y = cc(tmp_path, "y", CPP_Y, "-O0", compiler="g++")
    b = cc(tmp_path, "b", C_B, "-O0", "-fcommon")
    (tmp_path / "grp.lds").write_text("""SECTIONS {
  /DISCARD/ : { *(.comment) *(.note.GNU-stack) }
  .text 0 : { *(.text .text.*) }
  .data 0 : ALIGN(16) { *(.data) *(COMMON) }
}
""")
    out = assert_same_as_bfd(tmp_path, ["-r", *opts, "-T", "grp.lds", x, y, b])
    assert "COMDAT group section" in run(["readelf", "-gW", out]).stdout
    assert ".comment" not in run(["readelf", "-SW", out]).stdout
    assert link_and_run(tmp_path, "ours.o", "grp", "ldpy", compiler="g++") == CPP_EXPECT


def test_discarded_definition_still_referenced_under_r(tmp_path):
    """/DISCARD/ of a COMDAT member that other code calls: ld.bfd's error, no output."""
    x = cc(tmp_path, "x", CPP_X, "-O0", compiler="g++")
    (tmp_path / "d.lds").write_text("SECTIONS { /DISCARD/ : { *(.text._Z5twiceIiET_S0_) } }\n")
    r = ldpy(["-r", "-T", "d.lds", x, "-o", "d.o"], tmp_path, check=False)
    assert r.returncode == 1 and not (tmp_path / "d.o").exists()
    assert "'_Z5twiceIiET_S0_' referenced in section '.text' of x.o: defined in discarded section " \
           "'.text._Z5twiceIiET_S0_' of x.o" in r.stderr


@pytest.mark.parametrize("opt", ["--unique", "--unique=.text", "--unique=.rodata*"])
def test_unique_under_r(tmp_path, opt):
    """--unique under -r: every (matching) orphan input section an output section of its
    own, the -r script's sections too when named, as ld.bfd -r."""
    b = cc(tmp_path, "b", C_B, "-O1", "-fcommon")
    m1 = cc(tmp_path, "m1", MOD_1, "-O1")
    x = cc(tmp_path, "x", CPP_X, "-O0", compiler="g++")
    out = assert_same_as_bfd(tmp_path, ["-r", opt, b, m1, x])
    assert run(["readelf", "-SW", out]).stdout.count(" .text ") >= (2 if opt == "--unique=.text" else 1)


def _readelf_view(path):
    """Section table (file offsets and string table sizes left out), symbols, relocations
    and every section's bytes, as readelf shows them (any ELF class)."""
    secs = []
    for line in run(["readelf", "-SW", path]).stdout.splitlines():
        m = re.match(r"\s+\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s+(\S+)\s+(.*)$", line)
        if m and m.group(3) != "NULL":
            secs.append((m.group(1), m.group(2), m.group(3), m.group(4),
                         m.group(5) if m.group(3) != "STRTAB" else "", m.group(6)))
    body = [run(["readelf", "-x", s[0], path]).stdout for s in secs
            if s[2] not in ("STRTAB", "SYMTAB", "REL", "RELA", "NOBITS")]
    relocs = [l for l in run(["readelf", "-rW", path]).stdout.splitlines() if "at offset" not in l]
    return secs, run(["readelf", "-sW", path]).stdout, relocs, body


@pytest.mark.parametrize("arch", ["i686", "aarch64"])
def test_module_script_under_r_cross(tmp_path, arch):
    """The module.lds-like script on i386 (REL: addends in the section bytes) and AArch64,
    against the cross ld.bfd -r -T."""
    if not shutil.which(f"{arch}-linux-gnu-gcc"):
        pytest.fail(f"{arch}-linux-gnu-gcc is part of the test set-up (README)")
    for name, code in (("m1", MOD_1), ("m2", MOD_2)):
        (tmp_path / f"{name}.c").write_text(code)
        run([f"{arch}-linux-gnu-gcc", "-c", "-O1", f"{name}.c", "-o", f"{name}.o"], cwd=str(tmp_path))
    (tmp_path / "module.lds").write_text(MODULE_LDS)
    ldpy(["-r", "-T", "module.lds", "m1.o", "m2.o", "-o", "ours.o"], tmp_path)
    run([f"{arch}-linux-gnu-ld", "-r", "-T", "module.lds", "m1.o", "m2.o", "-o", "bfd.o"], cwd=str(tmp_path))
    ours, theirs = _readelf_view(str(tmp_path / "ours.o")), _readelf_view(str(tmp_path / "bfd.o"))
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert ours[2] == theirs[2]
    assert ours[3] == theirs[3]


def test_gc_sections_with_a_script_under_r(tmp_path):
    """-r --gc-sections -T: the script's KEEP descriptions are roots (__jump_table keeps
    exported_b), as are the constructor tables; the same sections as ld.bfd -r."""
    flags = ["-O1", "-ffunction-sections", "-fdata-sections", "-fno-asynchronous-unwind-tables"]
    m1, m2 = cc(tmp_path, "m1", MOD_1, *flags), cc(tmp_path, "m2", MOD_2, *flags)
    (tmp_path / "module.lds").write_text(MODULE_LDS)
    out = assert_same_as_bfd(tmp_path, ["-r", "--gc-sections", "-e", "exported_a", "-T", "module.lds", m1, m2],
                             zero_addr=False)
    secs = run(["readelf", "-SW", out]).stdout
    assert ".text.exported_b" in secs and ".text.use_twice" not in secs
