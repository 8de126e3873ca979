"""Differences mold's test suite found (issue 20, ../shared/peer-tests): each case links
the same gcc-built inputs with ldpy and with ld.bfd (or lld, where the behaviour is
lld's) and compares what readelf, nm and the programs show."""
import os
import re

import pytest

from e2e_util import compile_obj, link, readelf, run, run_exe, write


def _lib(tmp, name, src, flags=(), linker="ldpy"):
    path, _ = link(tmp, name, [src], ["-shared", "-fPIC", *flags], linker=linker, static=False)
    return path


def _exe(tmp, name, inputs, flags=(), linker="ldpy", check=True):
    return link(tmp, name, inputs, [f"-Wl,-rpath,{tmp}", *flags], linker=linker, static=False,
                check=check)


def _dynsym(path, name):
    """(value, type, bind, ndx) of NAME (with its @version) in .dynsym."""
    for line in readelf("--dyn-syms", path).splitlines():
        f = line.split()
        if len(f) >= 8 and f[7] == name:
            return f[1], f[3], f[4], f[6]
    return None


# -- .tcommon sections (not SHN_COMMON symbols) go into .tbss -------------------------

TCOMMON_SECTION_S = """
.globl x, y
.section .tbss,"awT",@nobits
x:
.zero 1024
.section .tcommon,"awT",@nobits
y:
.zero 1024
"""
TCOMMON_MAIN = r"""
#include <stdio.h>
extern _Thread_local char x[1024], y[1024];
int main(void) {
  x[0] = 3; x[1023] = 5;
  printf("%d %d %d %d %d %d\n", x[0], x[1], x[1023], y[0], y[1], y[1023]);
  return 0;
}
"""


def test_tcommon_input_section_is_part_of_tbss(tmp_path):
    a = compile_obj(tmp_path, write(tmp_path, "a.s", TCOMMON_SECTION_S))
    m = write(tmp_path, "m.c", TCOMMON_MAIN)
    outs = [_exe(tmp_path, "prog" + s, [a, m], linker=k)[0] for s, k in (("", "ldpy"), (".bfd", "bfd"))]
    for exe in outs:
        assert run_exe(exe).stdout == "3 0 5 0 0 0\n"
        secs = {s.split()[1]: s.split() for s in readelf("-SW", exe).splitlines()
                if re.match(r"\s*\[\s*\d+\]", s) and len(s.split()) > 5 and s.split()[1].startswith(".t")}
        assert ".tcommon" not in secs and secs[".tbss"][5] == "000800", secs
    syms = [sorted(l.split()[0] for l in run(["nm", e]).stdout.splitlines() if l.endswith((" x", " y")))
            for e in outs]
    assert syms[0] == syms[1]


# -- copies of a library's RELRO data go to .data.rel.ro ------------------------------

COPYREL_MAIN = r"""
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
extern char readonly[100];
extern char readwrite[100];
static int segv = 0;
static jmp_buf buf;
void handler(int sig) { segv = 1; longjmp(buf, 1); }
int main(void) {
  signal(SIGSEGV, handler);
  readwrite[0] = 5;
  int x = segv;
  if (setjmp(buf) == 0)
    *(char *)readonly = 5;
  printf("sigsegv %d %d %s\n", x, segv, readonly);
  return 0;
}
"""


def test_copy_of_relro_library_data_is_read_only(tmp_path):
    lib = _lib(tmp_path, "libro.so", write(tmp_path, "ro.c",
               '__attribute__((section(".data.rel.ro"))) char readonly[100] = "abc";\n'
               'char readwrite[100] = "abc";\n'))
    main = compile_obj(tmp_path, write(tmp_path, "m.c", COPYREL_MAIN), ["-fno-PIE"])
    for k in ("ldpy", "bfd"):
        exe, _ = _exe(tmp_path, "prog." + k, [main, lib], ["-no-pie"], linker=k)
        assert run_exe(exe).stdout == "sigsegv 0 1 abc\n", k
        copies = {l.split()[-3]: l.split()[0] for l in readelf("-rW", exe).splitlines() if "R_X86_64_COPY" in l}
        relro = [l.split() for l in readelf("-SW", exe).splitlines() if ".data.rel.ro" in l][0]
        start = int(relro[3], 16)
        assert start <= int(copies["readonly"], 16) < start + int(relro[5], 16), k


# -- DT_AUDIT of an input library becomes DT_DEPAUDIT ----------------------------------

def test_input_library_audit_becomes_depaudit(tmp_path):
    audit = _lib(tmp_path, "libaud.so", write(tmp_path, "aud.c",
                 "unsigned la_version(unsigned v) { return v; }\nvoid foo(void) {}\n"))
    lib = _lib(tmp_path, "libb.so", write(tmp_path, "b.c", "void foo(void);\nvoid bar(void) { foo(); }\n"),
               [f"-Wl,--audit={audit}"])
    main = compile_obj(tmp_path, write(tmp_path, "c.c", "void bar(void);\nint main(void) { bar(); return 0; }\n"))
    for extra, want in (([], f"[{audit}]"), (["-Wl,--depaudit=foo"], f"[foo:{audit}]")):
        got = []
        for k in ("ldpy", "bfd"):
            exe, _ = _exe(tmp_path, "e." + k, [main, lib], ["-Wl,--allow-shlib-undefined", *extra], linker=k)
            got.append([l.split("library:")[1].strip() for l in readelf("-d", exe).splitlines() if "DEPAUDIT" in l])
        assert got[0] == got[1] == [want]


# -- a non-PIE executable's IFUNC called by a library: exported at its PLT entry --------

IFUNC_MAIN = r"""
#include <stdio.h>
typedef void Func(void);
__attribute__((ifunc("resolve_foo"))) void foo(void);
void real_foo(void) { printf("foo "); }
Func *resolve_foo(void) { return real_foo; }
Func *get_foo(void);
int main(void) {
  printf("%d ", foo == get_foo());
  foo();
  get_foo()();
  printf("\n");
  return 0;
}
"""


def test_exported_ifunc_of_non_pie_executable(tmp_path):
    lib = _lib(tmp_path, "libgf.so", write(tmp_path, "gf.c",
               "typedef void Func(void);\nvoid foo(void);\nFunc *get_foo(void) { return foo; }\n"))
    main = compile_obj(tmp_path, write(tmp_path, "m.c", IFUNC_MAIN), ["-fno-PIE"])
    syms = []
    for k in ("ldpy", "bfd"):
        exe, _ = _exe(tmp_path, "e." + k, [main, lib], ["-no-pie"], linker=k)
        assert run_exe(exe).stdout == "1 foo foo \n", k
        value, typ, bind, ndx = _dynsym(exe, "foo")
        plt = [l.split() for l in readelf("-SW", exe).splitlines() if " .plt " in l][0]
        assert int(plt[3], 16) <= int(value, 16) < int(plt[3], 16) + int(plt[5], 16)
        syms.append((typ, bind))
    assert syms[0] == syms[1] == ("FUNC", "GLOBAL")


# -- VERSION { } in a linker script -------------------------------------------------------

def test_version_command_in_scripts(tmp_path):
    a = write(tmp_path, "a.script", "/* first */\nVERSION {\n  ver_a { global: foo; };\n}\n")
    b = write(tmp_path, "b.script", "VERSION { ver_b { global: bar; local: *; }; }\n")
    c = compile_obj(tmp_path, write(tmp_path, "c.c", "void foo(void) {}\nvoid bar(void) {}\n"
                                    "void hide(void) {}\n"), ["-fPIC"])
    views = []
    for k in ("ldpy", "bfd"):
        so = _lib(tmp_path, f"d.{k}.so", c, [a, b], linker=k)
        info = readelf("--version-info", so)
        names = re.findall(r"Name: (ver_\w+)", info)
        dyn = sorted(l.split()[7] for l in readelf("--dyn-syms", so).splitlines()
                     if len(l.split()) > 7 and l.split()[7].startswith(("foo", "bar", "hide")))
        views.append((names, dyn))
    assert views[0] == views[1] == (["ver_a", "ver_b"], ["bar@@ver_b", "foo@@ver_a"])
    # an error inside VERSION names the script's own line
    bad = write(tmp_path, "bad.script", "\n\nVERSION {\n ver_x { global: foo }; \n}\n")
    _, r = link(tmp_path, "bad.so", [c, bad], ["-shared"], static=False, check=False)
    assert r.returncode != 0 and "bad.script:4: syntax error" in r.stderr, r.stderr
    assert not os.path.exists(tmp_path / "bad.so")


# -- version patterns: a backslash quotes the next character -----------------------------

def test_version_patterns_with_backslashes(tmp_path):
    ver = write(tmp_path, "a.ver", "VER0 { **; };\nVER1 { foo\\?; };\nVER2 { *foo\\bar*; };\n")
    obj = compile_obj(tmp_path, write(tmp_path, "b.s", '.globl all_stars, "foo?", xfoobarx\n'
                                      'all_stars:\n"foo?":\nxfoobarx:\n'))
    want = {"all_stars@@VER0", "foo?@@VER1", "xfoobarx@@VER2"}
    for k in ("ldpy", "bfd"):
        so = _lib(tmp_path, f"c.{k}.so", obj, [f"-Wl,--version-script={ver}"], linker=k)
        got = {l.split()[7] for l in readelf("--dyn-syms", so).splitlines()
               if len(l.split()) > 7 and "@@" in l.split()[7]}
        assert want <= got, (k, got)


# -- --no-allow-shlib-undefined with versioned needs and unknown dependencies ---------------

def test_no_allow_shlib_undefined_versioned_reference(tmp_path):
    ver = write(tmp_path, "foo.ver", "VER_1.0 {};\n")
    _lib(tmp_path, "libfoo.so", write(tmp_path, "foo.c", '__asm__(".symver foo_impl,foo@VER_1.0");\n'
                                      "int foo_impl(void) { return 42; }\n"), [f"-Wl,--version-script={ver}"])
    _lib(tmp_path, "libbar.so", write(tmp_path, "bar.c", '__asm__(".symver foo_v1,foo@VER_1.0");\n'
                                      "int foo_v1(void);\nint call_foo_v1(void) { return foo_v1(); }\n"),
         [f"-L{tmp_path}", "-lfoo", f"-Wl,-rpath,{tmp_path}"])
    main = compile_obj(tmp_path, write(tmp_path, "a.c", "int call_foo_v1(void);\n"
                                       "int main(void) { return call_foo_v1() != 42; }\n"))
    for k in ("ldpy", "bfd"):
        exe, _ = _exe(tmp_path, "e." + k, [main, "-Wl,--no-allow-shlib-undefined", f"-L{tmp_path}",
                                          "-lbar", "-lfoo"], linker=k)
        run_exe(exe)


def test_no_allow_shlib_undefined_skips_libraries_with_unknown_needs(tmp_path):
    """As gold and lld: a library whose DT_NEEDED are not all in the link is not
    checked (a missing dependency may define what it needs); one whose dependencies
    are all there is (ld.bfd looks the dependency up on its own search path)."""
    _lib(tmp_path, "libfoo.so", write(tmp_path, "foo.c", "void foo(void) {}\n"))
    _lib(tmp_path, "libbar.so", write(tmp_path, "bar.c", "void foo(void);\nvoid bar(void) { foo(); }\n"),
         [f"-L{tmp_path}", "-lfoo", f"-Wl,-rpath,{tmp_path}"])
    main = compile_obj(tmp_path, write(tmp_path, "a.c", "void bar(void);\nint main(void) { bar(); return 0; }\n"))
    flags = ["-Wl,--no-allow-shlib-undefined", f"-L{tmp_path}"]
    for k in ("ldpy", "lld"):
        sel = ["-fuse-ld=lld"] if k == "lld" else []
        for libs in (["-lfoo", "-lbar"], ["-lbar"]):
            exe, _ = _exe(tmp_path, "e", [main, *flags, *libs, *sel])
            run_exe(exe)
    os.rename(tmp_path / "libfoo.so", tmp_path / "libfoo.so.bak")
    _lib(tmp_path, "libfoo.so", write(tmp_path, "empty.c", "int unrelated;\n"))
    for sel in ([], ["-fuse-ld=lld"]):
        _, r = _exe(tmp_path, "e3", [main, *flags, "-lfoo", "-lbar", *sel], check=False)
        assert r.returncode != 0 and re.search(r"libbar.so.*undefined reference to .?foo", r.stderr), r.stderr


# -- --unresolved-symbols=ignore-*: an executable's undefined symbols are 0, not dynamic ----

@pytest.mark.parametrize("opt", ["-Wl,--unresolved-symbols=ignore-all",
                                 "-Wl,--unresolved-symbols=ignore-in-object-files",
                                 "-Wl,--warn-unresolved-symbols"])
@pytest.mark.parametrize("pie", ["-pie", "-no-pie"])
def test_ignored_undefined_symbols_stay_out_of_dynsym(tmp_path, opt, pie):
    src = write(tmp_path, "a.c", "extern int foo(void);\nextern int bar;\n"
                                 "int main(void) { volatile long p = (long)&bar + (long)foo; (void)p; return 0; }\n")
    obj = compile_obj(tmp_path, src, ["-fPIE" if pie == "-pie" else "-fno-PIE"])
    for k in ("ldpy", "bfd"):
        exe, _ = _exe(tmp_path, "e." + k, [obj, opt, pie], linker=k)
        assert _dynsym(exe, "foo") is None and _dynsym(exe, "bar") is None, k
        assert not [l for l in readelf("-rW", exe).splitlines() if re.search(r"\b(foo|bar)\b", l)], k
        assert run_exe(exe, check=False).returncode == 0, k


# -- --emit-relocs ---------------------------------------------------------------------------

EMIT_A = r"""
#include <cstdio>
#include <string>
#include <vector>
template <int N> struct K { static int get() { return N * 3; } };
static int counter;
int global_var = 5;
static const char *msg = "hello from a";
thread_local int tv = 3;
int bump() { return ++counter + tv + K<1>::get(); }
std::string name(int i) { return "item-" + std::to_string(i); }
"""
EMIT_B = r"""
#include <cstdio>
#include <string>
template <int N> struct K { static int get() { return N * 3; } };
int bump();
std::string name(int);
extern int global_var;
static const char *tag = "tag string";
int (*fp)() = bump;
int unused_function(int x) { return x * 7; }
int main() {
  try { if (bump() < 0) throw 1; } catch (int) { return 1; }
  std::printf("%s %d %d %s %d\n", name(2).c_str(), fp(), global_var, tag, K<1>::get());
  return 0;
}
"""


def _sections_table(path):
    rows = {}
    for l in readelf("-SW", path).splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+\S+\s*(\S*)\s+(\d+)\s+(\d+)", l)
        if m:
            rows[m.group(2)] = dict(index=int(m.group(1)), type=m.group(3), addr=int(m.group(4), 16),
                                    off=int(m.group(5), 16), size=int(m.group(6), 16),
                                    flags=m.group(7), link=int(m.group(8)), info=int(m.group(9)))
    return rows


def _check_emitted(path):
    """Every emitted relocation whose value can be recomputed agrees with the bytes:
    PC32/PLT32 (disp = S + A - P), 64 (S + A), 32/32S (S + A), at output addresses."""
    secs = _sections_table(path)
    by_index = {v["index"]: (k, v) for k, v in secs.items()}
    data = open(path, "rb").read()
    checked = 0
    current = None
    text = readelf("-rW", path)
    dynamic = set()                      # places the loader fills (.rela.dyn)
    for block in text.split("Relocation section ")[1:]:
        if "A" in secs[block.split("'")[1]]["flags"]:
            dynamic |= {int(l.split()[0], 16) for l in block.splitlines()[2:] if l.strip()}
    for l in text.splitlines():
        m = re.match(r"Relocation section '(\S+)'", l)
        if m:
            current = secs[m.group(1)] if "A" not in secs[m.group(1)]["flags"] else None
            if current is not None:
                tname, target = by_index[current["info"]]
                assert current["link"] == secs[".symtab"]["index"] and "I" in current["flags"]
                assert m.group(1) == ".rela" + tname
            continue
        f = l.split()
        if current is None or len(f) < 7 or not re.fullmatch(r"[0-9a-f]{16}", f[0]):
            continue
        if not re.fullmatch(r"[0-9a-f]+", f[3]):
            continue                     # (readelf shows IFUNC targets as `name()`)
        off, typ, value, addend = int(f[0], 16), f[2], int(f[3], 16), int(f[-1], 16) * (-1 if f[-2] == "-" else 1)
        if value == 0:
            continue                     # an import, a TLS offset, R_X86_64_NONE
        base = target["off"] + (off - target["addr"] if "A" in target["flags"] else off)
        if "A" in target["flags"]:
            assert target["addr"] <= off < target["addr"] + target["size"]
        if typ in ("R_X86_64_PC32", "R_X86_64_PLT32"):
            got = int.from_bytes(data[base:base + 4], "little", signed=True)
            dest = off + 4 + got
            if typ == "R_X86_64_PLT32" and any(n.startswith(".plt") and v["addr"] <= dest < v["addr"] + v["size"]
                                               for n, v in secs.items()):
                continue                 # a preemptible function, called through its PLT entry
            assert got == ((value + addend - off + 2**31) % 2**32) - 2**31, l
        elif typ == "R_X86_64_64" and off not in dynamic:
            assert int.from_bytes(data[base:base + 8], "little") == (value + addend) % 2**64, l
        elif typ in ("R_X86_64_32", "R_X86_64_32S"):
            assert int.from_bytes(data[base:base + 4], "little") == (value + addend) % 2**32, l
        else:
            continue
        checked += 1
    return checked


@pytest.mark.parametrize("flags", [[], ["-no-pie"], ["-static"], ["-Wl,--gc-sections"], ["-O2", "-shared"]])
def test_emit_relocs(tmp_path, flags):
    cflags = ["-g", "-ffunction-sections", "-fdata-sections", "-fPIC"] + [f for f in flags if f == "-O2"]
    a = compile_obj(tmp_path, write(tmp_path, "a.cc", EMIT_A), cflags)
    b = compile_obj(tmp_path, write(tmp_path, "b.cc", EMIT_B), cflags)
    lflags = [f for f in flags if f != "-O2"]
    names = []
    for k in ("ldpy", "bfd"):
        out, _ = link(tmp_path, "e." + k, [a, b], ["-Wl,-q", *lflags], linker=k, compiler="g++",
                      static="-static" in lflags)
        if "-shared" not in lflags:
            assert run_exe(out).stdout == "item-2 8 5 tag string 3\n"
        assert _check_emitted(out) > 20
        names.append({n for n, v in _sections_table(out).items() if v["type"] == "RELA" and "A" not in v["flags"]})
    assert names[0] == names[1] - {".rela.tm_clone_table"}, names
    assert {".rela.text", ".rela.eh_frame", ".rela.debug_info"} <= names[0]
    # the debug information of a function --gc-sections removed refers to nothing:
    # R_X86_64_NONE with symbol 0 and addend 0, as BFD writes it
    for k in ("ldpy", "bfd"):
        block = readelf("-rW", tmp_path / ("e." + k)).split("'.rela.debug_info'")[1].split("Relocation section")[0]
        none = [l.split() for l in block.splitlines() if "R_X86_64_NONE" in l]
        assert all(f[1] == "0000000000000000" for f in none), k
        assert none or "-Wl,--gc-sections" not in flags, k
    # objdump reads the emitted relocations beside the code
    objdump = run(["objdump", "-dr", tmp_path / "e.ldpy"]).stdout
    assert re.search(r"R_X86_64_PLT32\s+_Z4bumpv-0x4", objdump)


# -- --unique[=SECTION] ------------------------------------------------------------------------

UNIQUE_A = """
.section .data.foo.1,"aw",@progbits
.ascii "a"
.section .data.foo.1,"aw",@progbits
.ascii "b"
.section .data.foo.2,"aw",@progbits
.ascii "c"
.section .data.bar.1,"aw",@progbits
.ascii "d"
.section .mysec,"a",@progbits
.ascii "m1"
.text
.globl _start
_start:
  nop
"""
UNIQUE_B = """
.section .mysec,"a",@progbits
.ascii "m2"
.section .data.foo.1,"aw",@progbits
.ascii "B"
"""


@pytest.mark.parametrize("opt", ["--unique=*foo*", "--unique", "--unique=.mysec"])
def test_unique_sections(tmp_path, opt):
    objs = [compile_obj(tmp_path, write(tmp_path, n, t)) for n, t in (("a.s", UNIQUE_A), ("b.s", UNIQUE_B))]
    from e2e_util import ld_direct
    tables = []
    for k in ("ldpy", "bfd"):
        r = ld_direct([*objs, "-o", f"e.{k}", opt], tmp_path, linker=k)
        assert r.returncode == 0, r.stderr
        tables.append([(n, v["addr"], v["size"], v["flags"]) for n, v in
                       sorted(_sections_all(tmp_path / f"e.{k}"), key=lambda x: x[1]["index"])
                       if v["addr"]])
        # each unique section holds the bytes of its input section
        if opt == "--unique=*foo*":
            assert "6162" in readelf("-x", ".data.foo.1", tmp_path / f"e.{k}")      # "ab"
    assert tables[0] == tables[1], tables
    names = [t[0] for t in tables[0]]
    want = {"--unique=*foo*": 2, "--unique": 0, "--unique=.mysec": 0}[opt]
    assert names.count(".data.foo.1") == want
    assert names.count(".mysec") == (1 if opt == "--unique=*foo*" else 2)
    # under a script (-Ttext runs the default one) the same sections, as ld.bfd
    tables = []
    for k in ("ldpy", "bfd"):
        r = ld_direct([*objs, "-o", f"t.{k}", opt, "-Ttext=0x500000"], tmp_path, linker=k)
        assert r.returncode == 0, r.stderr
        tables.append([(n, v["addr"], v["size"], v["flags"]) for n, v in
                       sorted(_sections_all(tmp_path / f"t.{k}"), key=lambda x: x[1]["index"])
                       if v["addr"]])
    assert tables[0] == tables[1], tables
    assert [t[0] for t in tables[0]].count(".mysec") == (1 if opt == "--unique=*foo*" else 2)


def _sections_all(path):
    """[(name, row)] of every section, names repeated as they are in the file."""
    out = []
    for l in readelf("-SW", path).splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s*(\S*)\s+\d+", l)
        if m and int(m.group(1)):
            out.append((m.group(2), dict(index=int(m.group(1)), addr=int(m.group(3), 16),
                                         size=int(m.group(4), 16), flags=m.group(5))))
    return out


# -- lld's options: -z rodynamic, --rosegment / --no-rosegment, -Bsymbolic-non-weak-functions ----

HELLO_C = '#include <stdio.h>\nint main(void) { printf("hello %d\\n", 42); return 0; }\n'


@pytest.mark.parametrize("flags", [["-pie"], ["-no-pie"]])
def test_z_rodynamic(tmp_path, flags):
    src = write(tmp_path, "h.c", HELLO_C)
    lib = _lib(tmp_path, "librd.so", write(tmp_path, "l.c", "int lv(void) { return 42; }\n"), ["-Wl,-z,rodynamic"])
    for k in ("ldpy", "lld"):
        sel = ["-fuse-ld=lld"] if k == "lld" else []
        exe, _ = _exe(tmp_path, "e." + k, [src, lib, "-Wl,-z,rodynamic", *flags, *sel])
        assert run_exe(exe).stdout == "hello 42\n"
        dyn = [l.split() for l in readelf("-SW", exe).splitlines() if " .dynamic " in l][0]
        assert dyn[-4] == "A", dyn                      # flags: allocated, not writable
        assert "(DEBUG)" not in readelf("-d", exe)
        phdr = [l.split() for l in readelf("-lW", exe).splitlines() if l.strip().startswith("DYNAMIC")][0]
        assert phdr[-2] == "R", phdr
    plain, _ = _exe(tmp_path, "plain", [src, *flags])
    assert "(DEBUG)" in readelf("-d", plain)


@pytest.mark.parametrize("opt,together", [("--no-rosegment", True), ("--rosegment", False)])
def test_rosegment(tmp_path, opt, together):
    src = write(tmp_path, "h.c", HELLO_C)
    for k in ("ldpy", "lld"):
        sel = ["-fuse-ld=lld"] if k == "lld" else []
        exe, _ = _exe(tmp_path, "e." + k, [src, "-Wl," + opt, *sel])
        assert run_exe(exe).stdout == "hello 42\n"
        maps = [l.split()[1:] for l in readelf("-lW", exe).split("Segment Sections...")[1].splitlines() if l.strip()]
        same = any(".rodata" in m and ".text" in m for m in maps)
        assert same == together, (k, maps)


NONWEAK_LIB = """
__attribute__((weak)) int foo = 4;
int bar = 4;
__attribute__((weak)) int baz = 4;
int get_foo1(void) { return foo; }
int get_bar1(void) { return bar; }
__attribute__((weak)) int get_baz1(void) { return baz; }
int get_foo2(void) { return get_foo1(); }
int get_bar2(void) { return get_bar1(); }
int get_baz2(void) { return get_baz1(); }
"""
NONWEAK_MAIN = r"""
#include <stdio.h>
int foo = 3, bar = 3, baz = 3;
int get_foo1(void) { return 7; }
int get_bar1(void) { return 7; }
int get_baz1(void) { return 7; }
int get_foo2(void), get_bar2(void), get_baz2(void);
int main(void) {
  printf("%d %d %d %d %d %d\n", foo, bar, baz, get_foo2(), get_bar2(), get_baz2());
  return 0;
}
"""


def test_bsymbolic_non_weak_functions(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "a.c", NONWEAK_LIB), ["-fPIC"])
    main = write(tmp_path, "m.c", NONWEAK_MAIN)
    for k in ("ldpy", "lld"):
        sel = ["-fuse-ld=lld"] if k == "lld" else []
        lib, _ = link(tmp_path, f"lib{k}.so", [obj], ["-shared", "-Wl,-Bsymbolic-non-weak-functions", *sel],
                      static=False)
        exe, _ = _exe(tmp_path, "e." + k, [main, lib, *sel])
        assert run_exe(exe).stdout == "3 3 3 3 3 7\n", k
        # the bound calls need no PLT entry; the weak function keeps its JUMP_SLOT
        relocs = readelf("-rW", lib)
        assert "get_baz1" in relocs and "get_foo1" not in relocs and "get_bar1" not in relocs, k


# -- lld's --start-lib / --end-lib and --undefined-glob ----------------------------------------

def _nm_defined(path):
    return {l.split()[-1] for l in run(["nm", path]).stdout.splitlines() if len(l.split()) == 3}


def test_start_lib_objects_are_lazy(tmp_path):
    a = compile_obj(tmp_path, write(tmp_path, "a.c", "int foo(void) { return 3; }\n"))
    b = compile_obj(tmp_path, write(tmp_path, "b.c", "int bar(void) { return 4; }\n"))
    d = compile_obj(tmp_path, write(tmp_path, "d.c", "int dup = 2;\nint other(void) { return 1; }\n"))
    main = compile_obj(tmp_path, write(tmp_path, "m.c", "int foo(void);\nint dup = 2;\n"
                                       "int main(void) { return foo() + dup; }\n"))
    for k in ("ldpy", "lld"):
        sel = ["-fuse-ld=lld"] if k == "lld" else []
        # a.o is taken for main.o's reference although main.o comes after it; b.o and d.o
        # are not (d.o's dup is then no duplicate of main.o's)
        exe, _ = _exe(tmp_path, "e." + k, ["-Wl,--start-lib", a, b, d, "-Wl,--end-lib", main, *sel])
        assert run_exe(exe, check=False).returncode == 5, k
        names = _nm_defined(exe)
        assert "foo" in names and "bar" not in names and "other" not in names, k
    _, r = link(tmp_path, "bad", [main, "-Wl,--start-lib", a], static=False, check=False)
    assert r.returncode != 0 and "--start-lib without a matching --end-lib" in r.stderr


def test_undefined_glob_extracts_archive_members(tmp_path):
    objs = [compile_obj(tmp_path, write(tmp_path, n + ".c", f"int {n} = 1;\n")) for n in ("foo", "foobar", "baz")]
    lib = tmp_path / "libd.a"
    run(["ar", "rcs", lib, *objs])
    main = compile_obj(tmp_path, write(tmp_path, "m.c", "int main(void) { return 0; }\n"))
    for k in ("ldpy", "lld"):
        sel = ["-fuse-ld=lld"] if k == "lld" else []
        exe, _ = _exe(tmp_path, "e." + k, [lib, main, *sel])
        assert not {"foo", "foobar", "baz"} & _nm_defined(exe), k
        exe, _ = _exe(tmp_path, "g." + k, [lib, main, "-Wl,--undefined-glob=foo*", *sel])
        assert {"foo", "foobar"} <= _nm_defined(exe) and "baz" not in _nm_defined(exe), k
        run_exe(exe)


# -- --shuffle-sections ------------------------------------------------------------------------

SHUFFLE_CC = r"""
#include <cstdio>
#include <stdexcept>
#include <string>
static int order[64]; static int n;
struct Init { Init(int k) { order[n++] = k; } };
Init i1(1), i2(2), i3(3);
""" + "".join(f"int fn{i}(int x) {{ return x + {i}; }}\n" for i in range(60)) + r"""
int thrower(int x) { if (x > 5) throw std::runtime_error("big " + std::to_string(x)); return x; }
int main() {
  int s = 0;
""" + "".join(f"  s += fn{i}(1);\n" for i in range(60)) + r"""
  try { thrower(9); } catch (const std::exception &e) { std::printf("%s ", e.what()); }
  std::printf("%d %d%d%d\n", s, order[0], order[1], order[2]);
  return 0;
}
"""


def _text_order(path):
    syms = [l.split() for l in run(["nm", "-n", path]).stdout.splitlines()]
    return [s[2] for s in syms if len(s) == 3 and s[1] in "tT" and re.fullmatch(r"_Z\d+fn\d+i", s[2])]


def test_shuffle_sections(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "s.cc", SHUFFLE_CC), ["-ffunction-sections"])
    orders = {}
    for name, opt in (("plain", []), ("s1", ["-Wl,--shuffle-sections=1"]), ("s1b", ["-Wl,--shuffle-sections=1"]),
                      ("s2", ["-Wl,--shuffle-sections=2"]), ("lld", ["-Wl,--shuffle-sections=.text.*=3"]),
                      ("random", ["-Wl,--shuffle-sections"])):
        exe, _ = link(tmp_path, name, [obj, *opt], compiler="g++", static=False)
        assert run_exe(exe).stdout == f"big 9 {sum(range(60)) + 60} 123\n", name
        orders[name] = _text_order(exe)
    assert sorted(orders["plain"]) == sorted(orders["s1"]) and len(orders["plain"]) == 60
    assert orders["s1"] == orders["s1b"]                      # a seed gives one order
    assert len({tuple(orders[k]) for k in ("plain", "s1", "s2", "lld")}) == 4
    assert open(tmp_path / "s1", "rb").read() == open(tmp_path / "s1b", "rb").read()
    _, r = link(tmp_path, "bad", [obj, "-Wl,--shuffle-sections=x"], compiler="g++", static=False, check=False)
    assert r.returncode != 0 and "--shuffle-sections" in r.stderr


# -- -n (--nmagic) without a script ------------------------------------------------------------

NMAGIC_S = """
.text
.globl _start
_start:
  mov $60, %eax
  mov val(%rip), %edi
  add ro(%rip), %edi
  syscall
.section .rodata
ro: .long 9
.data
val: .long 3
.bss
b: .zero 100
"""


def test_nmagic(tmp_path):
    obj = compile_obj(tmp_path, write(tmp_path, "s.s", NMAGIC_S))
    from e2e_util import ld_direct
    views = []
    for k in ("ldpy", "bfd"):
        r = ld_direct([obj, "-o", f"e.{k}", "-n"], tmp_path, linker=k)
        assert r.returncode == 0, r.stderr
        assert run_exe(tmp_path / f"e.{k}", check=False).returncode == 12, k
        secs = {n: v for n, v in _sections_table(tmp_path / f"e.{k}").items() if v["addr"]}
        views.append({n: (v["addr"], v["off"]) for n, v in secs.items() if n != ".bss"})
        loads = [l.split() for l in readelf("-lW", tmp_path / f"e.{k}").splitlines() if l.strip().startswith("LOAD")]
        assert len(loads) == 1 and loads[0][-2] == "RWE", loads
        assert "GNU_RELRO" not in readelf("-lW", tmp_path / f"e.{k}")
    assert views[0] == views[1]
    # the data sit a page after the code at the same page offset (nothing page-aligned)
    assert views[0][".data"][0] - views[0][".rodata"][0] > 0x1000 and views[0][".data"][0] % 0x1000 != 0
    # static C programs run
    src = write(tmp_path, "m.c", '#include <stdio.h>\nint d = 5;\nint main(void) { printf("%d\\n", d); return 0; }\n')
    exe, _ = link(tmp_path, "c-n", [src, "-Wl,-n"])
    assert run_exe(exe).stdout == "5\n"


# -- what lld, gold and mold do where ld.bfd 2.40 differs (issue 20's peer tests) -------------

def _dyn_defined(path):
    return sorted(l.split()[7] for l in readelf("--dyn-syms", "-W", path).splitlines()
                  if len(l.split()) > 7 and l.split()[6] not in ("UND", "Ndx") and l.split()[3] == "FUNC")


@pytest.mark.parametrize("vmap,want", [
    ("{\nlocal:\n  *;\nglobal:\n  xyz;\n  foo*bar*[abc]x;\n};\n", ["foo123bar456bx", "foobarcx", "xyz"]),
    ('{ local: *; global: extern "C++" { *foo*; }; };\n', ["foo123bar456bx", "foo123bar456c", "foo123bar456x",
                                                          "foobarcx", "foobarzx"]),
    ('{\n  extern "C" { xyz };\n  local: *;\n};\n', ["xyz"]),
    ('VER1 { extern "C++" {}; xyz; }; VER2 {};\n', None),
    ("{ global: xyz; local: foo*; global: foobarzx; };\n", ["foobarzx", "xyz"]),
])
def test_version_script_grammar_of_lld(tmp_path, vmap, want):
    """ld.bfd refuses `local:` before `global:`, repeated labels and an empty extern
    block as syntax errors; lld (and mold) take them: ldpy reads lld's grammar."""
    obj = compile_obj(tmp_path, write(tmp_path, "b.c", "void xyz() {}\nvoid foobarzx() {}\nvoid foobarcx() {}\n"
                                      "void foo123bar456bx() {}\nvoid foo123bar456c() {}\n"
                                      "void foo123bar456x() {}\n"), ["-fPIC"])
    ver = write(tmp_path, "a.ver", vmap)
    views = []
    for k in ("ldpy", "lld"):
        sel = ["-fuse-ld=lld"] if k == "lld" else []
        so = _lib(tmp_path, f"c.{k}.so", obj, [f"-Wl,--version-script={ver}", *sel])
        views.append(_dyn_defined(so))
    assert views[0] == views[1]
    if want is not None:
        assert views[0] == want
    else:
        assert "xyz@@VER1" in views[0]
    from e2e_util import ld_direct
    r = ld_direct(["-shared", obj, f"--version-script={ver}", "-o", "bfd.so"], tmp_path, linker="bfd")
    assert r.returncode != 0 and "syntax error in VERSION script" in r.stderr, r.stderr


SYMTAB_C = """#include <stdio.h>
__attribute__((visibility("hidden"))) void hidden_fn() {}
__attribute__((weak)) void weak_fn() {}
void global_fn() {}
int main() { hidden_fn(); puts("hi"); return 0; }
"""


@pytest.mark.parametrize("pie", ["-pie", "-no-pie"])
def test_symtab_hidden_definitions_local_and_imports_plain(tmp_path, pie):
    """gold, lld and mold make every hidden definition LOCAL in .symtab and name
    an import `puts` (its version is in .dynsym); ld.bfd 2.40 keeps GLOBAL HIDDEN
    definitions in executables and writes puts@GLIBC_2.2.5."""
    obj = compile_obj(tmp_path, write(tmp_path, "a.c", SYMTAB_C), ["-fPIC"])
    views = []
    for k in ("ldpy", "lld", "gold"):
        sel = [f"-fuse-ld={k}"] if k != "ldpy" else []
        exe, _ = _exe(tmp_path, "e." + k, [obj, pie, *sel])
        assert run_exe(exe).stdout == "hi\n"
        rows = {l.split()[7]: (l.split()[3], l.split()[4], l.split()[5], l.split()[6] == "UND")
                for l in readelf("-sW", exe).splitlines()
                if len(l.split()) > 7 and l.split()[7] in ("hidden_fn", "weak_fn", "global_fn", "main", "puts")}
        views.append(rows)
    assert views[0] == views[1] == views[2]
    assert views[0]["hidden_fn"] == ("FUNC", "LOCAL", "HIDDEN", False)
    assert views[0]["puts"] == ("FUNC", "GLOBAL", "DEFAULT", True)      # `puts`, not puts@GLIBC_2.2.5
    assert "puts@GLIBC_2.2.5" in readelf("--dyn-syms", "-W", tmp_path / "e.ldpy")


def test_repeated_filter_options_all_kept(tmp_path):
    """-F twice: every filter a DT_FILTER, as lld and mold (ld.bfd and gold keep the last)."""
    from e2e_util import ld_direct
    obj = compile_obj(tmp_path, write(tmp_path, "a.s", ".globl _start\n_start:\n nop\n"))
    views = []
    for k, argv0 in (("ldpy", None), ("lld", "ld.lld")):
        args = ["-shared", obj, "--filter", "foo", "-F", "bar", "-f", "aux", "-o", f"b.{k}.so"]
        r = ld_direct(args, tmp_path) if argv0 is None else run([argv0, *args], cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        views.append(re.findall(r"\((FILTER|AUXILIARY)\)\s+\S+ library: \[(\w+)\]",
                                readelf("-d", tmp_path / f"b.{k}.so")))
    assert sorted(views[0]) == sorted(views[1]) == [("AUXILIARY", "aux"), ("FILTER", "bar"), ("FILTER", "foo")]


def test_output_to_stdout(tmp_path):
    """`-o -` writes the image to standard output, as gold and lld (ld.bfd: a file `-`)."""
    src = write(tmp_path, "h.c", HELLO_C)
    images = {}
    for k in ("ldpy", "lld"):
        from e2e_util import driver_flags
        import subprocess
        sel = ["-fuse-ld=lld"] if k == "lld" else driver_flags("ldpy")
        p = subprocess.run(["gcc", src, "-Wl,--build-id=sha1", "-o", "-", *sel], cwd=tmp_path, capture_output=True)
        assert p.returncode == 0, p.stderr
        exe = tmp_path / f"e.{k}"
        exe.write_bytes(p.stdout)
        exe.chmod(0o755)
        assert run_exe(exe).stdout == "hello 42\n"
        images[k] = p.stdout
    assert not (tmp_path / "-").exists()
    assert images["ldpy"][:4] == b"\x7fELF"


DEFSYM_C = r"""#include <stdio.h>
extern char foo, bar;
void baz(void);
void print(void) { printf("Hello %p %p\n", &foo, &bar); }
void (*ptr)(void) = baz;
int main(void) { baz(); printf("%d\n", ptr == print); return 0; }
"""


@pytest.mark.parametrize("pie", ["-pie", "-no-pie"])
def test_defsym_numbers_are_absolute_in_pie(tmp_path, pie):
    """--defsym foo=16 is the address 16 also in a PIE (lld, mold; ld.bfd and gold move
    it with the load base); --defsym baz=print moves with print's section."""
    obj = compile_obj(tmp_path, write(tmp_path, "d.c", DEFSYM_C), ["-fPIC"])
    outs = []
    for k in ("ldpy", "lld"):
        sel = ["-fuse-ld=lld"] if k == "lld" else []
        exe, _ = _exe(tmp_path, "e." + k, [obj, pie, "-Wl,--defsym=foo=16", "-Wl,--defsym=bar=0x2000",
                                           "-Wl,--defsym=baz=print", *sel])
        outs.append(run_exe(exe).stdout)
    assert outs[0] == outs[1] == "Hello 0x10 0x2000\n1\n"


def test_trace_lists_archive_members(tmp_path):
    """-t names each archive member taken (gold, lld, mold at -t; ld.bfd at -t -t)."""
    objs = [compile_obj(tmp_path, write(tmp_path, n + ".c", body)) for n, body in
            (("long-long-long-filename", "int three() { return 3; }\n"), ("b", "int five() { return 5; }\n"),
             ("unused", "int unused() { return 0; }\n"))]
    run(["ar", "rcs", "d.a", *objs], cwd=tmp_path)
    main = compile_obj(tmp_path, write(tmp_path, "c.c", '#include <stdio.h>\nint three(); int five();\n'
                                       'int main() { printf("%d\\n", three() + five()); return 0; }\n'))
    lists = []
    for k in ("ldpy", "gold", "lld"):
        sel = [f"-fuse-ld={k}"] if k != "ldpy" else []
        exe, r = _exe(tmp_path, "e." + k, [main, "d.a", "-Wl,--trace", *sel])
        assert run_exe(exe).stdout == "8\n"
        lists.append({l for l in r.stdout.splitlines() if l.startswith("d.a(")})
    assert lists[0] == lists[1] == lists[2] == {"d.a(long-long-long-filename.o)", "d.a(b.o)"}


def test_script_input_skips_objects_of_another_machine(tmp_path):
    """INPUT(a.o) with a 32-bit a.o here and a 64-bit one in a -L directory: ld.bfd
    passes the 32-bit one over ("skipping incompatible") and links the other."""
    from e2e_util import ld_direct
    (tmp_path / "foo").mkdir()
    run(["i686-linux-gnu-gcc", "-c", "-xc", "-", "-o", "a.o"], cwd=tmp_path, input='char hello[] = "32";\n')
    compile_obj(tmp_path, write(tmp_path, "foo/a.c", 'char hello[] = "Hello world";\n'), out=tmp_path / "foo" / "a.o")
    main = compile_obj(tmp_path, write(tmp_path, "c.c", '#include <stdio.h>\nextern char hello[];\n'
                                       'int main() { printf("%s\\n", hello); return 0; }\n'))
    write(tmp_path, "d.script", "INPUT(a.o)\n")
    for k in ("ldpy", "bfd"):
        for order in (["d.script", main], [main, "d.script"]):
            r = ld_direct(["-o", f"e.{k}.o", "-r", "-Lfoo", *order], tmp_path, linker=k)
            assert r.returncode == 0, r.stderr
            assert "skipping incompatible ./a.o when searching for a.o" in r.stderr
        exe, _ = _exe(tmp_path, "x." + k, [f"e.{k}.o"])
        assert run_exe(exe).stdout == "Hello world\n"


# -- lld's --pack-dyn-relocs=android: .rela.dyn as APS2 ----------------------------------------

PACKED_C = """extern int x, y, z;
extern int lib_v;
void *ptrs[] = { &x, &y, &z, &x, &y, &z, &lib_v, (char *)&y + 100 };
int x = 1, y = 2, z = 3;
int main() { return 0; }
"""


def _sleb(data, pos):
    value = shift = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return (value - (1 << shift) if b & 0x40 else value), pos


def _decode_aps2(data):
    """(offset, info, addend) rows, read as bionic's packed_reloc_iterator reads them."""
    assert data[:4] == b"APS2"
    count, pos = _sleb(data, 4)
    offset, pos = _sleb(data, pos)
    info = addend = 0
    rows = []
    while len(rows) < count:
        size, pos = _sleb(data, pos)
        flags, pos = _sleb(data, pos)
        if flags & 2:
            delta, pos = _sleb(data, pos)
        if flags & 1:
            info, pos = _sleb(data, pos)
        if flags & 8 and flags & 4:
            a, pos = _sleb(data, pos)
            addend += a
        elif not flags & 8:
            addend = 0
        for _ in range(size):
            if flags & 2:
                offset += delta
            else:
                d, pos = _sleb(data, pos)
                offset += d
            if not flags & 1:
                info, pos = _sleb(data, pos)
            if flags & 8 and not flags & 4:
                a, pos = _sleb(data, pos)
                addend += a
            rows.append((offset, info, addend))
    return rows, pos


def _rela_rows(path):
    """.rela.dyn of a plain link: (offset, info, addend) rows."""
    from e2e_util import section_data
    import struct
    data = section_data(path, ".rela.dyn")
    return [struct.unpack_from("<QQq", data, i) for i in range(0, len(data), 24)]


@pytest.mark.parametrize("mode", ["android", "android+relr"])
def test_pack_dyn_relocs_android(tmp_path, mode):
    """lld's APS2 packing: an SHT_ANDROID_RELA .rela.dyn found by DT_ANDROID_RELA/RELASZ
    (no DT_RELA), holding the same relocations as the plain table, smaller than it;
    llvm-readelf decodes lld's and ldpy's alike.  (glibc cannot load it: structure only.)"""
    from e2e_util import section_data
    lib = _lib(tmp_path, "libv.so", write(tmp_path, "v.c", "int lib_v = 7;\n"))
    obj = compile_obj(tmp_path, write(tmp_path, "p.c", PACKED_C), ["-fPIC"])
    outs = {}
    for k in ("ldpy", "lld"):
        sel = ["-fuse-ld=lld"] if k == "lld" else []
        outs[k], _ = _exe(tmp_path, f"e.{k}", [obj, lib, "-pie", f"-Wl,--pack-dyn-relocs={mode}", *sel])
        secs = readelf("-SW", outs[k])
        assert re.search(r"\.rela\.dyn\s+LOOS\+0x2\s", secs), secs
        tags = readelf("-d", outs[k])
        assert "(RELA)" not in tags and "0x0000000060000011" in tags and "0x0000000060000012" in tags
        assert (".relr.dyn" in secs) == (mode == "android+relr")
    kinds = []
    for k in ("ldpy", "lld"):
        text = run(["llvm-readelf", "-r", outs[k]]).stdout
        n = re.search(r"'\.rela\.dyn' at offset \S+ contains (\d+) entries", text)
        assert n and int(n.group(1)) > 0, text
        kinds.append(sorted(re.findall(r"R_X86_64_\w+", text.split("'.rela.plt'")[0].split("'.relr.dyn'")[0])))
    assert kinds[0] == kinds[1]
    # the packed rows are those of the plain link, moved with the layout
    plain, _ = _exe(tmp_path, "plain", [obj, lib, "-pie"] + (["-Wl,-z,pack-relative-relocs"] if "relr" in mode else []))
    data = section_data(outs["ldpy"], ".rela.dyn")
    rows, end = _decode_aps2(data)
    assert not any(data[end:])                    # zero padding after the stream
    want = _rela_rows(plain)
    assert sorted(i for _, i, _ in rows) == sorted(i for _, i, _ in want)
    assert len(data) < 24 * len(want)
    # ptrs[] (RELATIVE, or RELR) and lib_v's R_X86_64_64 at their places
    from e2e_util import symbols
    sym = {s.name: s.value for s in symbols(outs["ldpy"]) if s.name in ("ptrs", "x", "y")}
    by_off = {o: (i, a) for o, i, a in rows}
    if mode == "android":
        assert by_off[sym["ptrs"]] == (8, sym["x"]) and by_off[sym["ptrs"] + 56] == (8, sym["y"] + 100)
    assert [i & 0xffffffff for o, i, _ in rows if o == sym["ptrs"] + 48] == [1]


def test_defsym_alias_in_shared_object(tmp_path):
    """--defsym bar=foo in a shared object: exported, in foo's section, of foo's type (ld.bfd)."""
    obj = compile_obj(tmp_path, write(tmp_path, "a.c", "void foo() {}\n"), ["-fPIC"])
    views = []
    for k in ("ldpy", "bfd"):
        so = _lib(tmp_path, f"b.{k}.so", obj, ["-Wl,-defsym=bar=foo"], linker=k)
        views.append([_dynsym(so, n) for n in ("foo", "bar")])
    assert views[0] == views[1]
    assert views[0][1][0] == views[0][0][0] and views[0][1][1] == "FUNC" and views[0][1][3] != "ABS"
