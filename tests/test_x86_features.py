"""x86-64 features of issue 20 compared with ld.bfd on gcc-compiled C: CET
properties and the IBT PLT (-z ibt, -z shstk, -z ibtplt, -z cet-report), .plt.got,
-z pack-relative-relocs (DT_RELR), -z nocopyreloc, -z nodynamic-undefined-weak and
the ISA level properties (-z x86-64-v2/v3/v4)."""
import os
import re
import sys

import pytest

from linkutil import dyn_tags, dynsyms, gcc_link, readelf, run, shim_dir, version_needs

LIB = """#include <stdio.h>
void hello(void) { printf("Hello"); }
void world(void) { printf("world"); }
int libdata = 42;
"""
MAIN = """#include <stdio.h>
void hello(void); void world(void);
extern int libdata;
int main(void) { hello(); printf(" "); world(); printf(" %d\\n", libdata); return 0; }
"""
RELR = """#include <stdio.h>
int a = 1, b = 2, c = 3;
int *ptrs[] = {&a, &b, &c, &a, 0, &b};
static int x; int *px = &x;
__attribute__((section(".foo"))) void *self = &self;
int main(void) { printf("Hello %d %d %d %d %d\\n", *ptrs[0], *ptrs[1], *ptrs[5], *px, self == &self); return 0; }
"""


def both(tmp, name, args):
    return gcc_link(tmp, name + ".ldpy", args, "ldpy"), gcc_link(tmp, name + ".bfd", args, "bfd")


def runs(path, tmp, expect):
    env = dict(os.environ, LD_LIBRARY_PATH=str(tmp))
    assert run([path], cwd=tmp, env=env).stdout == expect
    assert run([path], cwd=tmp, env=dict(env, LD_BIND_NOW="1")).stdout == expect


def sections(path):
    """{name: (type, size, entsize, flags)} from readelf -S."""
    out = {}
    for line in readelf("-S", path).splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\S*)",
                     line)
        if m and m.group(1) != "NULL":
            out[m.group(1)] = (m.group(2), int(m.group(3), 16), int(m.group(4), 16), m.group(5))
    return out


def plt_layout(path):
    s = sections(path)
    return {n: s[n][:3] for n in (".plt", ".plt.got", ".plt.sec") if n in s}


def properties(path):
    """The .note.gnu.property lines readelf -n prints."""
    text = readelf("-n", path)
    return [l.strip() for l in text.splitlines() if "x86 " in l and ":" in l]


def section_bytes(path, name):
    text = readelf("-x", name, path)
    return "".join("".join(l.split()[1:5]) for l in text.splitlines() if l.strip().startswith("0x"))


def reloc_types(path, section):
    """{(type, symbol)} of one relocation section."""
    out = set()
    cur = None
    for line in readelf("-r", path).splitlines():
        if line.startswith("Relocation section"):
            cur = line.split("'")[1]
            continue
        parts = line.split()
        if cur == section and len(parts) >= 3 and parts[2].startswith("R_X86_64"):
            sym = parts[4].split("@")[0] if len(parts) > 4 and not parts[4].startswith(("+", "-")) else ""
            out.add((parts[2], "" if parts[2].endswith("RELATIVE") else sym))
    return out


def relr_offsets(path):
    text = readelf("-r", path)
    m = re.search(r"Relocation section '\.relr\.dyn' at offset \S+ contains (\d+) entries:\n\s+(\d+) offsets", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def messages(stderr, prog):
    return sorted(l.split(": ", 1)[1] for l in stderr.splitlines()
                  if l.startswith(prog) and "missing" in l and "GNU-stack" not in l)


@pytest.fixture
def libx(tmp_path):
    (tmp_path / "lib.c").write_text(LIB)
    (tmp_path / "main.c").write_text(MAIN)
    run(["gcc", "-fPIC", "-fcf-protection", "-c", "lib.c"], cwd=tmp_path)
    run(["gcc", "-fcf-protection", "-c", "main.c"], cwd=tmp_path)
    run(["gcc", "-fcf-protection=none", "-c", "main.c", "-o", "main_nocet.o"], cwd=tmp_path)
    run(["gcc", "-fuse-ld=bfd", "-shared", "-o", "libx.so", "lib.o"], cwd=tmp_path)
    return tmp_path


# --- 1. CET: properties, IBT PLT, cet-report -----------------------------------------

@pytest.mark.parametrize("opts", [["-Wl,-z,ibt"], ["-Wl,-z,ibt", "-Wl,-z,shstk"], ["-Wl,-z,shstk"], []])
def test_cet_properties_and_plt(libx, opts):
    mine, ref = both(libx, "e", ["main.o", "./libx.so", *opts])
    runs(mine, libx, "Hello world 42\n")
    assert properties(mine) == properties(ref)
    assert plt_layout(mine) == plt_layout(ref)
    assert reloc_types(mine, ".rela.plt") == reloc_types(ref, ".rela.plt")
    assert reloc_types(mine, ".rela.dyn") == reloc_types(ref, ".rela.dyn")
    if "-Wl,-z,ibt" in opts:
        # the lazy entries after PLT0 are ld.bfd's byte for byte (endbr64; push; jmp PLT0)
        assert section_bytes(mine, ".plt")[32:] == section_bytes(ref, ".plt")[32:]
        dis = run(["objdump", "-d", "-j", ".plt.sec", mine]).stdout
        assert dis.count("endbr64") == 4 and dis.count("jmp    *") == 4


def test_ibt_plt_byte_identical_where_layouts_agree(libx):
    """.plt.sec and .plt.got entries: endbr64; jmp *slot(%rip); nopw, as ld.bfd."""
    mine, ref = both(libx, "e", ["main.o", "./libx.so", "-Wl,-z,ibt"])
    for path in (mine, ref):
        dis = run(["objdump", "-d", "-j", ".plt.got", path]).stdout
        assert re.search(r"f3 0f 1e fa\s+endbr64\s+\S+:\s+ff 25 .*\n\s+\S+:\s+66 0f 1f 44 00 00", dis)
    # the .got.plt lazy slots point at the endbr64 of each lazy entry
    gp = section_bytes(mine, ".got.plt")
    plt = int(re.search(r"\] \.plt\s+PROGBITS\s+([0-9a-f]+)", readelf("-S", mine)).group(1), 16)
    first = int.from_bytes(bytes.fromhex(gp[48:64]), "little")
    assert first == plt + 16


def test_ibtplt_forced(libx):
    run(["gcc", "-fPIC", "-c", "lib.c", "-o", "lib_nocet.o"], cwd=libx)
    mine, ref = both(libx, "l.so", ["-shared", "lib_nocet.o", "-Wl,-z,ibtplt"])
    assert plt_layout(mine) == plt_layout(ref)
    me, re_ = both(libx, "e", ["main_nocet.o", mine, "-Wl,-z,ibtplt"])
    assert plt_layout(me) == plt_layout(re_)
    assert ".plt.sec" in plt_layout(me)
    runs(me, libx, "Hello world 42\n")


def test_ibt_static_ifunc(tmp_path):
    (tmp_path / "i.c").write_text("""#include <stdio.h>
static int impl(void) { return 7; }
static void *resolve(void) { return (void *)impl; }
int f(void) __attribute__((ifunc("resolve")));
int main(void) { int (*p)(void) = f; printf("%d %d\\n", f(), p()); return 0; }
""")
    mine, ref = both(tmp_path, "s", ["-static", "-fcf-protection", "i.c", "-Wl,-z,ibt"])
    assert run([mine]).stdout == "7 7\n"
    assert properties(mine) == properties(ref)
    for path in (mine, ref):
        dis = run(["objdump", "-d", "-j", ".plt", path]).stdout
        assert "endbr64" in dis


@pytest.mark.parametrize("level", ["warning", "error"])
def test_cet_report(tmp_path, level):
    (tmp_path / "a.s").write_text(".globl main\nmain:\n ret\n.section .note.GNU-stack\n")
    run(["gcc", "-c", "a.s"], cwd=tmp_path)
    args = ["gcc", "a.o", f"-Wl,-z,cet-report={level}", "-o"]
    r1 = run(args + ["m", "-B", shim_dir()], cwd=tmp_path, check=False)
    r2 = run(args + ["r", "-fuse-ld=bfd"], cwd=tmp_path, check=False)
    assert (r1.returncode != 0) == (r2.returncode != 0) == (level == "error")
    mine = messages(r1.stderr, "ldpy")
    ref = messages(r2.stderr, "/usr/bin/ld")
    if level == "warning":
        assert mine == ref          # "a.o: warning: missing IBT and SHSTK properties", ...
    else:
        assert [m.replace("error: ", "") for m in mine] == [m.replace("error: ", "") for m in ref]
    assert any("a.o" in m and "missing IBT and SHSTK properties" in m for m in mine)
    # a feature forced by -z ibt is not reported
    r3 = run(args + ["m2", "-Wl,-z,ibt", "-B", shim_dir()], cwd=tmp_path, check=False)
    r4 = run(args + ["r2", "-Wl,-z,ibt", "-fuse-ld=bfd"], cwd=tmp_path, check=False)
    assert [m.replace("error: ", "") for m in messages(r3.stderr, "ldpy")] == \
        [m.replace("error: ", "") for m in messages(r4.stderr, "/usr/bin/ld")]
    assert "missing SHSTK property" in r3.stderr


# --- 3. .plt.got -----------------------------------------------------------------------

@pytest.mark.parametrize("mode", [["-pie"], ["-no-pie"], ["-pie", "-Wl,-z,now"]])
def test_plt_got(tmp_path, mode):
    (tmp_path / "a.c").write_text('#include <stdio.h>\nvoid g(void);\n'
                                  'int main(void){ puts("a"); g(); return 0; }\n')
    (tmp_path / "b.c").write_text('#include <stdio.h>\nvoid g(void){ puts("b"); }\n')
    run(["gcc", "-c", "-fPIE", "a.c"], cwd=tmp_path)
    run(["gcc", "-c", "-fPIE", "-fno-plt", "b.c"], cwd=tmp_path)
    mine, ref = both(tmp_path, "e", ["a.o", "b.o", *mode])
    assert run([mine]).stdout == "a\nb\n"
    assert run([mine], env=dict(os.environ, LD_BIND_NOW="1")).stdout == "a\nb\n"
    assert plt_layout(mine) == plt_layout(ref)
    assert reloc_types(mine, ".rela.plt") == reloc_types(ref, ".rela.plt")
    assert reloc_types(mine, ".rela.dyn") == reloc_types(ref, ".rela.dyn")
    assert dynsyms(mine) == dynsyms(ref)


def test_plt_got_shared(tmp_path):
    (tmp_path / "w.c").write_text("__attribute__((weak)) int foo();\nint bar() { return foo ? foo() : 0; }\n")
    run(["gcc", "-c", "-fPIC", "w.c"], cwd=tmp_path)
    mine, ref = both(tmp_path, "w.so", ["-shared", "w.o"])
    assert plt_layout(mine) == plt_layout(ref)
    assert reloc_types(mine, ".rela.dyn") == reloc_types(ref, ".rela.dyn")
    assert dynsyms(mine) == dynsyms(ref)


# --- 4. DT_RELR ------------------------------------------------------------------------

@pytest.mark.parametrize("opt", ["-Wl,-z,pack-relative-relocs", "-Wl,--pack-dyn-relocs=relr"])
def test_pack_relative_relocs_pie(tmp_path, opt):
    (tmp_path / "r.c").write_text(RELR)
    run(["gcc", "-c", "-fPIC", "r.c"], cwd=tmp_path)
    mine = gcc_link(tmp_path, "m", ["-pie", "r.o", opt], "ldpy")
    ref = gcc_link(tmp_path, "r", ["-pie", "r.o", "-Wl,-z,pack-relative-relocs"], "bfd")
    runs(mine, tmp_path, "Hello 1 2 2 0 1\n")
    s, r = sections(mine), sections(ref)
    assert s[".relr.dyn"][:3] == r[".relr.dyn"][:3] == ("RELR", r[".relr.dyn"][1], 8)
    assert relr_offsets(mine) == relr_offsets(ref)
    assert not any(t.endswith("RELATIVE") for t, _ in reloc_types(mine, ".rela.dyn"))
    assert reloc_types(mine, ".rela.dyn") == reloc_types(ref, ".rela.dyn")
    t = dyn_tags(mine)
    for tag in ("RELR", "RELRSZ", "RELRENT"):
        assert tag in t and tag in dyn_tags(ref)
    assert "RELACOUNT" not in t and "RELACOUNT" not in dyn_tags(ref)
    assert version_needs(mine) == version_needs(ref)
    assert "GLIBC_ABI_DT_RELR" in readelf("-V", mine)


def test_pack_relative_relocs_shared_and_off(tmp_path):
    (tmp_path / "l.c").write_text("int v = 1; int *pv = &v; int get(void) { return *pv; }\n")
    run(["gcc", "-c", "-fPIC", "l.c"], cwd=tmp_path)
    mine, ref = both(tmp_path, "l.so", ["-shared", "l.o", "-Wl,-z,pack-relative-relocs"])
    assert relr_offsets(mine) == relr_offsets(ref)
    assert version_needs(mine) == version_needs(ref)
    for opts in (["-Wl,-z,pack-relative-relocs", "-Wl,-z,nopack-relative-relocs"],
                 ["-Wl,--pack-dyn-relocs=relr", "-Wl,--pack-dyn-relocs=none"], []):
        m = gcc_link(tmp_path, "n.so", ["-shared", "l.o", *opts], "ldpy")
        assert ".relr.dyn" not in sections(m)
        assert "GLIBC_ABI_DT_RELR" not in readelf("-V", m)


def test_pack_relative_relocs_nothing_to_pack(tmp_path):
    (tmp_path / "h.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    mine, ref = both(tmp_path, "h", ["-no-pie", "h.c", "-Wl,-z,pack-relative-relocs"])
    assert run([mine]).stdout == "hi\n"
    assert ".relr.dyn" not in sections(mine) and ".relr.dyn" not in sections(ref)
    assert version_needs(mine) == version_needs(ref)


def test_android_relr_tags(tmp_path):
    (tmp_path / "r.c").write_text(RELR)
    mine = gcc_link(tmp_path, "m", ["-pie", "-fPIC", "r.c", "-Wl,--pack-dyn-relocs=relr",
                                    "-Wl,--use-android-relr-tags"], "ldpy")
    # (not run: glibc does not know the Android tags)
    d = readelf("-d", mine)
    assert "0x000000006fffe000" in d and "(RELR)" not in d


# --- 5. -z nocopyreloc, -z nodynamic-undefined-weak -------------------------------------

def test_nocopyreloc(tmp_path):
    (tmp_path / "d.c").write_text("int foo = 3;\nint bar = 5;\n")
    (tmp_path / "u.c").write_text('#include <stdio.h>\nextern int foo, bar;\n'
                                  'int main() { printf("%d %d\\n", foo, bar); return 0; }\n')
    (tmp_path / "p.c").write_text('#include <stdio.h>\nextern int foo;\nint *p = &foo;\n'
                                  'int main() { printf("%d\\n", *p); return 0; }\n')
    run(["gcc", "-shared", "-fPIC", "-fuse-ld=bfd", "d.c", "-o", "libd.so"], cwd=tmp_path)
    run(["gcc", "-c", "-fno-PIC", "u.c", "p.c"], cwd=tmp_path)
    args = ["gcc", "-no-pie", "u.o", "./libd.so", "-Wl,-z,nocopyreloc", "-o"]
    r1 = run(args + ["m", "-B", shim_dir()], cwd=tmp_path, check=False)
    r2 = run(args + ["r", "-fuse-ld=bfd"], cwd=tmp_path, check=False)
    assert r1.returncode != 0 and r2.returncode != 0
    err = [l for l in r2.stderr.splitlines() if "can not be used" in l][0].split(": ", 1)[1]
    assert err in r1.stderr      # u.o: relocation R_X86_64_PC32 against symbol `bar' ... -fPIE
    # a pointer in writable data needs no copy: a symbolic dynamic relocation
    mine, ref = both(tmp_path, "p", ["-no-pie", "p.o", "./libd.so", "-Wl,-z,nocopyreloc"])
    runs(mine, tmp_path, "3\n")
    assert reloc_types(mine, ".rela.dyn") == reloc_types(ref, ".rela.dyn")
    assert ("R_X86_64_64", "foo") in reloc_types(mine, ".rela.dyn")


def test_nodynamic_undefined_weak(tmp_path):
    (tmp_path / "w.c").write_text("__attribute__((weak)) int foo();\nint bar() { return foo ? foo() : 0; }\n")
    (tmp_path / "e.c").write_text('#include <stdio.h>\nint foo() { return 1; }\nint bar();\n'
                                  'int main() { printf("%d\\n", bar()); }\n')
    run(["gcc", "-c", "-fPIC", "w.c"], cwd=tmp_path)
    mine, ref = both(tmp_path, "libw.so", ["-shared", "w.o", "-Wl,-z,nodynamic-undefined-weak"])
    assert "foo" not in {n.split("@")[0] for n, *_ in dynsyms(mine)}
    # (ld.bfd also zeroes __cxa_finalize, bound only weakly to the libc.so.6 it drops;
    # ldpy decides that after the relocation scan and keeps it dynamic)
    assert dynsyms(mine) - {("__cxa_finalize", "WEAK", False)} == dynsyms(ref)
    assert not any(s == "foo" for _, s in reloc_types(mine, ".rela.dyn"))
    # the library's foo is 0 even though the executable defines one
    e = gcc_link(tmp_path, "e", ["e.c", mine], "ldpy")
    runs(e, tmp_path, "0\n")
    d = gcc_link(tmp_path, "libd.so", ["-shared", "w.o", "-Wl,-z,dynamic-undefined-weak"], "ldpy")
    e2 = gcc_link(tmp_path, "e2", ["e.c", d], "ldpy")
    runs(e2, tmp_path, "1\n")


# --- 2. ISA level ----------------------------------------------------------------------

@pytest.mark.parametrize("level", ["v2", "v3", "v4"])
def test_isa_level(tmp_path, level):
    (tmp_path / "z.c").write_text("int main(void){return 0;}\n")
    mine, ref = both(tmp_path, "z", ["z.c", f"-Wl,-z,x86-64-{level}"])
    assert properties(mine) == properties(ref)
    assert f"x86-64-{level}" in properties(mine)[0]
    assert section_bytes(mine, ".note.gnu.property") == section_bytes(ref, ".note.gnu.property")
    # (not run: the loader refuses an ISA level the CPU lacks)


def test_isa_level_report_ignored(tmp_path):
    (tmp_path / "z.c").write_text("int main(void){return 0;}\n")
    r = run(["gcc", "z.c", "-Wl,-z,isa-level-report=all", "-o", "z", "-B", shim_dir()],
            cwd=tmp_path)
    assert "-z isa-level-report=all ignored" in r.stderr


def test_ibtplt_with_lazy_tls_descriptors(tmp_path):
    """A shared object with only TLS descriptors: PLT0 and the TLSDESC entry, no .plt.sec."""
    (tmp_path / "t.c").write_text("extern __thread int tv;\nint gettv(void) { return tv; }\n"
                                  "__thread int tv2 = 5;\nint gettv2(void) { return tv2; }\n")
    (tmp_path / "m.c").write_text('#include <stdio.h>\n__thread int tv = 7;\nint gettv(void); int gettv2(void);\n'
                                  'int main(void){ printf("%d %d\\n", gettv(), gettv2()); return 0; }\n')
    run(["gcc", "-fPIC", "-mtls-dialect=gnu2", "-c", "t.c"], cwd=tmp_path)
    mine, ref = both(tmp_path, "libt.so", ["-shared", "t.o", "-Wl,-z,ibtplt"])
    assert plt_layout(mine) == plt_layout(ref)
    assert ".plt.sec" not in plt_layout(mine)
    assert "TLSDESC_PLT" in dyn_tags(mine)
    e = gcc_link(tmp_path, "e", ["m.c", mine, "-Wl,-z,ibtplt"], "ldpy")
    runs(e, tmp_path, "7 5\n")


def test_relocatable_forced_features(libx):
    """ld -r: -z ibt / -z shstk force the bits into the merged note (where inputs have notes)."""
    (libx / "v.c").write_text("int v(void) { return 1; }\n")
    run(["gcc", "-c", "-fcf-protection=none", "v.c"], cwd=libx)
    for opts in (["-z", "ibt"], ["-z", "ibt", "-z", "shstk"], []):
        run(["ld.bfd", "-r", *opts, "-o", "r.o", "lib.o", "v.o"], cwd=libx)
        run([sys.executable, "-m", "ldpy", "-r", *opts, "-o", "m.o", "lib.o", "v.o"], cwd=libx)
        assert properties(str(libx / "m.o")) == properties(str(libx / "r.o"))


@pytest.mark.parametrize("opts", [[], ["-Wl,-z,x86-64-v2"]])
def test_isa_used_and_needed_merge(tmp_path, opts):
    """GNU_PROPERTY_X86_ISA_1_USED and FEATURE_2_USED are unions kept only when every
    input has them; -z x86-64-v2 adds ISA_1_NEEDED: note bytes as ld.bfd's."""
    (tmp_path / "st.c").write_text("void _start(void){ for(;;); }\n")
    (tmp_path / "g.c").write_text("double g(double x){return x*2.5;}\n")
    run(["gcc", "-O2", "-march=x86-64-v3", "-Wa,-mx86-used-note=yes", "-c", "st.c", "g.c"], cwd=tmp_path)
    mine, ref = both(tmp_path, "s", ["-nostdlib", "-static", "st.o", "g.o", *opts])
    assert properties(mine) == properties(ref)
    assert any("ISA used" in p for p in properties(mine))
    assert section_bytes(mine, ".note.gnu.property") == section_bytes(ref, ".note.gnu.property")


def test_isa_level_baseline(tmp_path):
    """(ld.bfd 2.40 aborts on -z x86-64-baseline; ldpy marks the baseline needed)"""
    (tmp_path / "z.c").write_text("int main(void){return 0;}\n")
    mine = gcc_link(tmp_path, "z", ["z.c", "-Wl,-z,x86-64-baseline"], "ldpy")
    assert len(properties(mine)) == 1 and properties(mine)[0].endswith("x86 ISA needed: x86-64-baseline")
    run([mine])


def test_relr_bitmaps_as_ld_bfd(tmp_path):
    """Pointers spread over bitmap windows: the same number of RELR words and offsets,
    with the same distances, as ld.bfd; the library works."""
    (tmp_path / "big.c").write_text("""static int arr[3000];
int *p[3000] = { [0]=&arr[0], [1]=&arr[1], [5]=&arr[5], [62]=&arr[7], [63]=&arr[8], [64]=&arr[9],
                 [100]=&arr[100], [2999]=&arr[2999] };
void *q[400] = { [0]=&arr[1], [63]=&arr[2], [64]=&arr[3], [126]=&arr[4], [127]=&arr[5], [399]=&arr[6] };
int *get(int i) { return p[i]; }
""")
    (tmp_path / "use.c").write_text('#include <stdio.h>\nint *get(int);\n'
                                    'int main(void){ printf("%d %d\\n", (int)(get(2999) - get(0)), '
                                    '(int)(get(64) - get(0))); return 0; }\n')
    run(["gcc", "-fPIC", "-c", "big.c"], cwd=tmp_path)
    mine, ref = both(tmp_path, "libbig.so", ["-shared", "big.o", "-Wl,-z,pack-relative-relocs"])
    assert relr_offsets(mine) == relr_offsets(ref)

    def offsets(path):
        part = readelf("-r", path).split(".relr.dyn")[1]
        o = [int(x, 16) for x in re.findall(r"^([0-9a-f]{16})$", part, re.M)][-14:]
        return [x - o[0] for x in o]
    assert offsets(mine) == offsets(ref)
    e = gcc_link(tmp_path, "e", ["use.c", mine], "ldpy")
    runs(e, tmp_path, "2999 9\n")


@pytest.mark.parametrize("mode", [["-fPIE", "-pie"], ["-fno-pie", "-no-pie"]])
@pytest.mark.parametrize("body", ["fn();", "if (fn) fn();"])
def test_undefined_weak_function_called_stays_dynamic(tmp_path, mode, body):
    """An undefined weak function an executable only calls (or loads through the GOT)
    keeps a PLT entry and a dynamic symbol the loader may bind (LD_PRELOAD), as
    ld.bfd; a direct reference (non-PIE `if (fn)`) makes it 0, with no dynamic symbol;
    -z nodynamic-undefined-weak too."""
    (tmp_path / "w.c").write_text('#include <stdio.h>\n__attribute__((weak)) void fn(void);\n'
                                  f'int main(void) {{ {body} puts("ok"); return 0; }}\n')
    (tmp_path / "fn.c").write_text('#include <stdio.h>\nvoid fn(void) { puts("pre"); }\n')
    run(["gcc", "-fPIC", "-shared", "fn.c", "-o", "libfn.so"], cwd=tmp_path)
    run(["gcc", "-c", mode[0], "w.c"], cwd=tmp_path)
    for opts in ([], ["-Wl,-z,dynamic-undefined-weak"], ["-Wl,-z,nodynamic-undefined-weak"]):
        mine, ref = both(tmp_path, "e", ["w.o", mode[1], *opts])
        assert dynsyms(mine) == dynsyms(ref)
        if not (mode[1] == "-no-pie" and body.startswith("if") and opts == ["-Wl,-z,dynamic-undefined-weak"]):
            # (there ld.bfd gives fn a PLT entry without a JUMP_SLOT, which nothing reaches)
            assert plt_layout(mine) == plt_layout(ref)
        assert reloc_types(mine, ".rela.plt") == reloc_types(ref, ".rela.plt")
        if body.startswith("if"):
            assert run([mine], cwd=tmp_path).stdout == "ok\n"
        pre = dict(os.environ, LD_PRELOAD=str(tmp_path / "libfn.so"))
        assert run([mine], cwd=tmp_path, env=pre, check=False).stdout == \
            run([ref], cwd=tmp_path, env=pre, check=False).stdout
