"""Dynamic-linking bugs of issue 20: TLS descriptors, hidden weak undefined
symbols, canonical PLT entries in .gnu.hash, copy relocations of read-only data,
IFUNC addresses and the symbols -E exports.  Every test compiles real C (or
assembly), links it with ldpy and with ld.bfd, runs both (lazily and with
LD_BIND_NOW=1) and compares their output and dynamic structure."""
import collections
import os

import pytest

from linkutil import comment_says_ldpy, dyn_tags, gcc_link, readelf, run

LINKERS = ("ldpy", "bfd")
EXE_MODES = {"pie": ["-fPIE", "-pie"], "nopie": ["-fno-pie", "-no-pie"],
             "pie-now": ["-fPIE", "-pie", "-Wl,-z,now"], "nopie-now": ["-fno-pie", "-no-pie", "-Wl,-z,now"]}


def write(tmp, name, text):
    path = os.path.join(str(tmp), name)
    with open(path, "w") as f:
        f.write(text)
    return path


def link_both(tmp, name, args):
    """The same link with ldpy and with ld.bfd, each in its own directory (so
    that libraries of the same name do not clash): {linker: path}."""
    out = {}
    for linker in LINKERS:
        os.makedirs(os.path.join(str(tmp), linker), exist_ok=True)
        out[linker] = gcc_link(tmp, os.path.join(linker, name), [a.replace("@L@", linker) for a in args],
                               linker)
    assert comment_says_ldpy(out["ldpy"])
    return out


def run_all(exe, expected=None):
    """Run lazily and with LD_BIND_NOW=1; both must agree (and equal `expected`)."""
    lazy = run([exe]).stdout
    now = run([exe], env=dict(os.environ, LD_BIND_NOW="1")).stdout
    assert lazy == now
    if expected is not None:
        assert lazy == expected
    return lazy


def dynsym_rows(path):
    """{name: (type, bind, vis, defined)} of the dynamic symbol table."""
    rows = {}
    for line in readelf("--dyn-syms", path).splitlines():
        p = line.split()
        if len(p) >= 8 and p[0].rstrip(":").isdigit() and p[0] != "0:":
            rows[p[7].split("@")[0]] = (p[3], p[4], p[5], p[6] != "UND")
    return rows


def dyn_relocs(path, names=None):
    """Multiset of (section, type, symbol) of the dynamic relocations; with `names`,
    only the RELATIVE ones and those against these symbols (crt files' own
    references are not what these tests are about)."""
    rows = collections.Counter()
    sec = None
    for line in readelf("-r", path).splitlines():
        if line.startswith("Relocation section"):
            sec = line.split("'")[1]
        p = line.split()
        if len(p) >= 3 and p[2].startswith("R_X86_64_"):
            sym = p[4].split("@")[0] if len(p) >= 7 else ""
            if names is None or sym in names or p[2] == "R_X86_64_RELATIVE":
                rows[(sec, p[2], sym)] += 1
    return rows


def sections(path):
    """{name: (type, flags)} of the section headers."""
    out = {}
    for line in readelf("-S", path).splitlines():
        line = line.replace("[ ", "[")
        p = line.split()
        if len(p) >= 8 and p[0].startswith("[") and p[0].endswith("]") and p[0] != "[Nr]":
            out[p[1]] = (p[2], p[7] if not p[7].isdigit() else "")
    return out


# -- 2. hidden / protected / internal weak undefined symbols ---------------------

WEAK_EXE = r"""
#include <stdio.h>
extern void hook(void) __attribute__((weak, visibility("hidden")));
extern void phook(void) __attribute__((weak, visibility("protected")));
extern void ihook(void) __attribute__((weak, visibility("internal")));
extern int hvar __attribute__((weak, visibility("hidden")));
void *ptrs[] = { (void *)hook, (void *)phook, (void *)ihook, &hvar };
static void *lptr = (void *)hook;
int libf(void);
int main(void) {
  if (hook) hook();
  if (phook) phook();
  printf("%d %d %d %d\n", hook != 0, phook != 0, ihook != 0, &hvar != 0);
  printf("%d %d %d %d %d\n", ptrs[0] != 0, ptrs[1] != 0, ptrs[2] != 0, ptrs[3] != 0, lptr != 0);
  printf("lib %d\n", libf());
  return 0;
}
"""

WEAK_LIB = r"""
extern void hook(void) __attribute__((weak, visibility("hidden")));
extern int hvar __attribute__((weak, visibility("hidden")));
extern int pvar __attribute__((weak, visibility("protected")));
extern void ihook(void) __attribute__((weak, visibility("internal")));
void *lptrs[] = { (void *)hook, &hvar, &pvar, (void *)ihook };
int libf(void) {
  if (hook) hook();
  if (ihook) ihook();
  return (hook != 0) + (&hvar != 0) * 2 + (&pvar != 0) * 4 + (lptrs[0] != 0) * 8 +
         (lptrs[1] != 0) * 16 + (lptrs[2] != 0) * 32 + (lptrs[3] != 0) * 64;
}
"""

ZERO_NAMES = {"hook", "phook", "ihook", "hvar", "pvar"}


@pytest.mark.parametrize("plt", ["plt", "noplt"])
def test_hidden_weak_undefined_is_zero(tmp_path, plt):
    lib_c = write(tmp_path, "weaklib.c", WEAK_LIB)
    exe_c = write(tmp_path, "weakexe.c", WEAK_EXE)
    extra = ["-fno-plt"] if plt == "noplt" else []
    libs = link_both(tmp_path, "libweak.so", ["-shared", "-fPIC", "-O1", *extra, lib_c])
    for linker, lib in libs.items():
        assert not ZERO_NAMES & set(dynsym_rows(lib)), linker
    assert dyn_relocs(libs["ldpy"], ZERO_NAMES) == dyn_relocs(libs["bfd"], ZERO_NAMES)
    assert all(r[2] == "" for r in dyn_relocs(libs["ldpy"], ZERO_NAMES))
    for mode, flags in EXE_MODES.items():
        # the program links against (and runs with) each linker's library
        exes = link_both(tmp_path, "weak-" + mode, [exe_c, "-O1", *extra, *flags, "-L", str(tmp_path / "@L@"),
                                                    "-lweak", "-Wl,-rpath," + str(tmp_path / "@L@")])
        for linker, exe in exes.items():
            run_all(exe, "0 0 0 0\n0 0 0 0 0\nlib 0\n")
            assert not ZERO_NAMES & set(dynsym_rows(exe)), (mode, linker)
        assert dyn_relocs(exes["ldpy"], ZERO_NAMES) == dyn_relocs(exes["bfd"], ZERO_NAMES), mode


def gnu_hashed(path):
    """Names of the dynamic symbols .gnu.hash holds (from its symoffset on)."""
    import struct
    for line in readelf("-S", path).splitlines():
        p = line.replace("[ ", "[").split()
        if len(p) > 5 and p[1] == ".gnu.hash":
            off, size = int(p[4], 16), int(p[5], 16)
    with open(path, "rb") as f:
        f.seek(off)
        symoffset = struct.unpack("<4I", f.read(16))[1]
    names = []
    for line in readelf("--dyn-syms", path).splitlines():
        p = line.split()
        if len(p) >= 8 and p[0].rstrip(":").isdigit() and int(p[0].rstrip(":")) >= symoffset:
            names.append(p[7].split("@")[0])
    return set(names)


# -- 3. canonical PLT entries are in .gnu.hash ------------------------------------

CANON_LIB = r"""
typedef int (*fp)(int);
int lib_func(int x) { return x + 1; }
int lib_check(fp p) { return p == &lib_func; }
fp lib_addr(void) { return &lib_func; }
"""

CANON_EXE = r"""
#include <stdio.h>
typedef int (*fp)(int);
int lib_func(int); int lib_check(fp); fp lib_addr(void);
fp table[] = { lib_func };
int main(void) {
  fp p = lib_func;
  printf("%d %d %d %d\n", lib_check(p), lib_check(table[0]), p == lib_addr(), p(1));
  return 0;
}
"""


@pytest.mark.parametrize("mode", sorted(EXE_MODES))
def test_canonical_plt_function_in_gnu_hash(tmp_path, mode):
    lib = gcc_link(tmp_path, "libcanon.so", ["-shared", "-fPIC", "-O1", write(tmp_path, "cl.c", CANON_LIB)], "bfd")
    exes = link_both(tmp_path, "canon", [write(tmp_path, "cm.c", CANON_EXE), "-O1", *EXE_MODES[mode],
                                         "-Wl,--hash-style=gnu", "-L", str(tmp_path), "-lcanon",
                                         "-Wl,-rpath," + str(tmp_path)])
    for linker, exe in exes.items():
        run_all(exe, "1 1 1 2\n")
    if mode.startswith("nopie"):
        # (in a PIE ld.bfd also hashes functions it calls through .plt.got, which ldpy
        # does not make)
        assert gnu_hashed(exes["ldpy"]) == gnu_hashed(exes["bfd"])
        assert "lib_func" in gnu_hashed(exes["ldpy"])
        row = dynsym_rows(exes["ldpy"])["lib_func"]
        assert row == dynsym_rows(exes["bfd"])["lib_func"] == ("FUNC", "GLOBAL", "DEFAULT", False)


# -- 6. -E exports the image boundaries (_edata, _end, ...) -----------------------

BOUNDARIES = {"_edata", "edata", "_end", "end", "__bss_start", "_etext", "etext", "__etext",
              "__executable_start"}

BOUNDARY_EXE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
extern char _edata[], _end[], __bss_start[], etext[];
int zero_init;
int main(void) {
  printf("%d %d %d %d\n", dlsym(RTLD_DEFAULT, "_end") == (void *)_end,
         dlsym(RTLD_DEFAULT, "_edata") == (void *)_edata,
         dlsym(RTLD_DEFAULT, "__bss_start") == (void *)__bss_start,
         _end > _edata && (char *)&zero_init < _end && (char *)&zero_init >= __bss_start);
  return 0;
}
"""

BOUNDARY_LIB = r"""
extern char _edata[], _end[], end[], etext[], __bss_start[];
int lib_zero;
int lib_bounds(void) {
  /* (preemptible: the executable's own, when it exports them) */
  return _end >= _edata && end == _end && etext < _edata && __bss_start <= _end && lib_zero == 0;
}
"""


@pytest.mark.parametrize("mode", ["pie", "nopie"])
def test_export_dynamic_exports_image_boundaries(tmp_path, mode):
    exe_c = write(tmp_path, "b.c", BOUNDARY_EXE)
    exes = link_both(tmp_path, "bounds", [exe_c, *EXE_MODES[mode], "-Wl,-E", "-ldl"])
    for exe in exes.values():
        run_all(exe, "1 1 1 1\n")
    mine, ref = (BOUNDARIES & set(dynsym_rows(exes[k])) for k in LINKERS)
    assert mine == ref and {"_edata", "_end", "__bss_start"} <= mine
    rows = dynsym_rows(exes["ldpy"])
    ref_rows = dynsym_rows(exes["bfd"])
    assert all(rows[n] == ref_rows[n] for n in mine)
    # without -E: none of them
    plain = link_both(tmp_path, "plain", [exe_c, *EXE_MODES[mode], "-ldl"])
    assert not BOUNDARIES & set(dynsym_rows(plain["ldpy"])) and not BOUNDARIES & set(dynsym_rows(plain["bfd"]))


def test_shared_library_exports_referenced_boundaries(tmp_path):
    """ld.bfd -shared exports the boundaries the library references (and binds its
    references through the GOT); unreferenced ones stay out."""
    libs = link_both(tmp_path, "libbounds.so", ["-shared", "-fPIC", "-O1", write(tmp_path, "bl.c", BOUNDARY_LIB)])
    mine, ref = (BOUNDARIES & set(dynsym_rows(libs[k])) for k in LINKERS)
    assert mine == ref == {"_edata", "_end", "end", "etext", "__bss_start"}
    assert dyn_relocs(libs["ldpy"], BOUNDARIES) == dyn_relocs(libs["bfd"], BOUNDARIES)
    main_c = write(tmp_path, "bm.c", '#include <stdio.h>\nint lib_bounds(void);\n'
                                     'int main(void){printf("%d\\n", lib_bounds());return 0;}\n')
    for linker in LINKERS:
        exe = gcc_link(tmp_path, "bm-" + linker, [main_c, "-L", str(tmp_path / linker), "-lbounds",
                                                  "-Wl,-rpath," + str(tmp_path / linker)], "bfd")
        run_all(exe, "1\n")
    plain = link_both(tmp_path, "libplain.so", ["-shared", "-fPIC", write(tmp_path, "p.c", "int f(void){return 1;}\n")])
    assert not BOUNDARIES & set(dynsym_rows(plain["ldpy"])) and not BOUNDARIES & set(dynsym_rows(plain["bfd"]))


# -- 4. copies of read-only data go to .data.rel.ro; protected symbols are not copied

RO_LIB = r"""
const int ro_table[4] = {10, 20, 30, 40};
const char ro_msg[] = "read-only message";
int rw_var = 5;
__attribute__((visibility("protected"))) int prot_var = 7;
const int *lib_ro_addr(void) { return ro_table; }
int *lib_rw_addr(void) { return &rw_var; }
"""

RO_EXE = r"""
#include <stdio.h>
extern const int ro_table[4]; extern const char ro_msg[]; extern int rw_var;
const int *lib_ro_addr(void); int *lib_rw_addr(void);
int main(void) {
  rw_var++;
  printf("%d %d %s %d %d %d %d\n", ro_table[1], ro_table[3], ro_msg, rw_var, *lib_rw_addr(),
         lib_ro_addr() == ro_table, lib_rw_addr() == &rw_var);
  return 0;
}
"""


def load_segments(path):
    """[(type, vaddr, memsz)] of the program headers."""
    rows = []
    for line in readelf("-l", path).splitlines():
        p = line.split()
        if len(p) >= 6 and p[1].startswith("0x") and p[2].startswith("0x"):
            rows.append((p[0], int(p[2], 16), int(p[5], 16)))
    return rows


def symbol_value(path, name):
    for line in readelf("--dyn-syms", path).splitlines():
        p = line.split()
        if len(p) >= 8 and p[7].split("@")[0] == name:
            return int(p[1], 16), p[6]
    raise AssertionError(f"{name} not in .dynsym of {path}")


def section_names_by_index(path):
    out = {}
    for line in readelf("-S", path).splitlines():
        p = line.replace("[ ", "[").split()
        if len(p) > 2 and p[0].startswith("[") and p[0][1:-1].isdigit():
            out[p[0][1:-1]] = p[1]
    return out


@pytest.mark.parametrize("mode", ["pie", "nopie", "nopie-now"])
def test_copy_of_read_only_data_is_relro(tmp_path, mode):
    lib = gcc_link(tmp_path, "librol.so", ["-shared", "-fPIC", "-O1", write(tmp_path, "rol.c", RO_LIB)], "bfd")
    exes = link_both(tmp_path, "rom", [write(tmp_path, "rom.c", RO_EXE), "-O1", *EXE_MODES[mode],
                                       "-L", str(tmp_path), "-lrol", "-Wl,-rpath," + str(tmp_path)])
    for exe in exes.values():
        run_all(exe, "20 40 read-only message 6 6 1 1\n")
    for linker, exe in exes.items():
        names = section_names_by_index(exe)
        relro = [(a, a + n) for t, a, n in load_segments(exe) if t == "GNU_RELRO"]
        assert len(relro) == 1, linker
        for sym, where in (("ro_table", ".data.rel.ro"), ("ro_msg", ".data.rel.ro"), ("rw_var", ".bss")):
            addr, ndx = symbol_value(exe, sym)
            assert names[ndx] == where, (linker, sym)
            assert (relro[0][0] <= addr < relro[0][1]) == (where == ".data.rel.ro"), (linker, sym)
        assert sections(exe)[".data.rel.ro"] == ("PROGBITS", "WA")
    names = {"ro_table", "ro_msg", "rw_var"}
    assert dyn_relocs(exes["ldpy"], names) == dyn_relocs(exes["bfd"], names)


@pytest.mark.parametrize("mode", ["pie", "nopie"])
def test_copy_relocation_against_protected_symbol_is_an_error(tmp_path, mode):
    gcc_link(tmp_path, "librol.so", ["-shared", "-fPIC", "-O1", write(tmp_path, "rol.c", RO_LIB)], "bfd")
    obj = os.path.join(str(tmp_path), "prot.o")
    run(["gcc", "-c", "-O1", EXE_MODES[mode][0], write(tmp_path, "prot.c",
         'extern int prot_var;\nint main(void){return prot_var;}\n'), "-o", obj])
    from linkutil import shim_dir
    msgs = {}
    for linker, sel in (("ldpy", ["-B", shim_dir()]), ("bfd", ["-fuse-ld=bfd"])):
        r = run(["gcc", EXE_MODES[mode][1], obj, "-L", str(tmp_path), "-lrol", "-o",
                 os.path.join(str(tmp_path), "prot-" + linker), *sel], cwd=str(tmp_path), check=False)
        assert r.returncode != 0, linker
        assert "Traceback" not in r.stderr
        msgs[linker] = [l.split(": ", 1)[1] for l in r.stderr.splitlines() if "protected" in l]
    assert msgs["ldpy"] and msgs["ldpy"][0].endswith(msgs["bfd"][0])
    assert "copy relocation against non-copyable protected symbol `prot_var'" in msgs["ldpy"][0]
    assert not os.path.exists(os.path.join(str(tmp_path), "prot-ldpy"))


# -- 5. pointers to an IFUNC of the program hold the resolved function ----------

IFUNC_MAIN = r"""
#include <stdio.h>
static int impl_a(void) { return 42; }
static void *resolve_fn(void) { return (void *)impl_a; }
int gfn(void) __attribute__((ifunc("resolve_fn")));
static int sfn(void) __attribute__((ifunc("resolve_fn")));
static void *volatile sp = (void *)sfn;
static void *const volatile csp = (void *)sfn;
void *gp = (void *)gfn;
void *const volatile cgp = (void *)gfn;
void *get_g(void);
void *get_gp(void);
int main(void) {
  void *direct = (void *)gfn;
  printf("calls %d %d %d %d %d %d\n", gfn(), sfn(), ((int (*)(void))gp)(), ((int (*)(void))sp)(),
         ((int (*)(void))cgp)(), ((int (*)(void))get_g())());
  printf("data %d %d %d %d\n", gp == cgp, sp == csp, gp == get_g(), get_gp() == get_g());
  printf("resolved %d %d\n", gp == (void *)impl_a, sp == (void *)impl_a);
  printf("direct %d\n", direct == gp);
  return 0;
}
"""

IFUNC_PIC = r"""
int gfn(void);
extern void *gp;
void *get_g(void) { return (void *)gfn; }
void *get_gp(void) { return gp; }
"""


@pytest.mark.parametrize("mode", ["pie", "nopie", "pie-now", "static", "static-pie"])
def test_ifunc_addresses_agree(tmp_path, mode):
    flags = {"static": ["-fno-pie", "-static"], "static-pie": ["-fPIE", "-static-pie"]}.get(mode) or EXE_MODES[mode]
    pic = os.path.join(str(tmp_path), "ifpic.o")
    run(["gcc", "-c", "-fPIC", "-O1", write(tmp_path, "ifpic.c", IFUNC_PIC), "-o", pic])
    exes = link_both(tmp_path, "ifunc", [write(tmp_path, "ifmain.c", IFUNC_MAIN), pic, "-O1", *flags])
    out = {linker: run_all(exe) for linker, exe in exes.items()}
    assert out["ldpy"] == out["bfd"]
    lines = out["ldpy"].splitlines()
    assert lines[0] == "calls 42 42 42 42 42 42" and lines[1] == "data 1 1 1 1"
    if mode in ("pie", "pie-now", "static-pie"):
        # position-independent: data pointers and GOT slots hold the function itself
        assert lines[2] == "resolved 1 1"
        assert dyn_relocs(exes["ldpy"], {""}) == dyn_relocs(exes["bfd"], {""})
    else:
        # fixed addresses: the PLT entry is the function's address everywhere
        assert lines[2:] == ["resolved 0 0", "direct 1"]


# -- 1. TLS descriptors (-mtls-dialect=gnu2) ---------------------------------------

TLS_LIB = r"""
__thread int lib_tls = 100;
__attribute__((visibility("hidden"))) __thread int lib_hidden = 200;
static __thread int lib_static = 300;
__thread int lib_bss;
int lib_get(void) { return lib_tls + lib_hidden + lib_static + lib_bss; }
int *lib_addr_tls(void) { return &lib_tls; }
int *lib_addr_hidden(void) { return &lib_hidden; }
int *lib_addr_static(void) { return &lib_static; }
void lib_bump(void) { lib_tls++; lib_hidden++; lib_static++; lib_bss++; }
"""

# local-dynamic with descriptors: one TLSDESC against _TLS_MODULE_BASE_, then DTPOFF32
TLS_LIB_LD = r"""
static __thread int a = 1, b = 2, c = 3;
__attribute__((visibility("hidden"))) __thread int h = 4;
int ld_sum(void) { a++; b += 2; c += 3; h += 4; return a * 1000 + b * 100 + c * 10 + h; }
"""

TLS_EXE = r"""
#include <stdio.h>
#include <pthread.h>
extern __thread int lib_tls, lib_bss;
int lib_get(void); int *lib_addr_tls(void); int *lib_addr_hidden(void); int *lib_addr_static(void);
void lib_bump(void); int ld_sum(void);
__thread int exe_tls = 7;
static __thread int exe_static = 9;
static void report(const char *who) {
  printf("%s %d %d %d %d %d %d %d %d\n", who, lib_tls, lib_bss, exe_tls, exe_static, lib_get(),
         &lib_tls == lib_addr_tls(), *lib_addr_hidden() + *lib_addr_static(), ld_sum());
}
static void *thr(void *a) { lib_bump(); lib_tls += 10; exe_tls += 1; exe_static += 2; report("thread"); return a; }
int main(void) {
  pthread_t t;
  pthread_create(&t, 0, thr, 0);
  pthread_join(t, 0);
  lib_bump();
  report("main");
  return 0;
}
"""

TLS_EXPECTED = "thread 111 1 8 11 614 1 502 2468\nmain 101 1 7 9 604 1 502 2468\n"   # (ld_sum: per thread)


def read_at(path, vaddr, n):
    """n bytes of the file at run-time address vaddr (through the section headers)."""
    for line in readelf("-S", path).splitlines():
        p = line.replace("[ ", "[").split()
        if len(p) > 6 and p[0].startswith("[") and p[0][1:-1].isdigit() and p[2] == "PROGBITS":
            addr, off, size = int(p[3], 16), int(p[4], 16), int(p[5], 16)
            if addr <= vaddr < addr + size:
                with open(path, "rb") as f:
                    f.seek(off + vaddr - addr)
                    return f.read(n)
    raise AssertionError(f"{vaddr:#x} not in a PROGBITS section of {path}")


def tls_relocs(path):
    """Multiset of (section, type, symbol, addend of symbol-less ones) of the TLS
    dynamic relocations."""
    rows = collections.Counter()
    sec = None
    for line in readelf("-r", path).splitlines():
        if line.startswith("Relocation section"):
            sec = line.split("'")[1]
        p = line.split()
        if len(p) >= 4 and p[2] in ("R_X86_64_TLSDESC", "R_X86_64_TPOFF64", "R_X86_64_DTPMOD64",
                                    "R_X86_64_DTPOFF64"):
            rows[(sec, p[2], p[4].split("@")[0] if len(p) >= 7 else "", "" if len(p) >= 7 else p[3])] += 1
    return rows


@pytest.mark.parametrize("lib_now", [False, True], ids=["lazy", "now"])
def test_tls_descriptors(tmp_path, lib_now):
    now = ["-Wl,-z,now"] if lib_now else []
    objs = {}
    for name, text in (("tl", TLS_LIB), ("tld", TLS_LIB_LD), ("tm", TLS_EXE)):
        objs[name] = os.path.join(str(tmp_path), name + ".o")
        extra = ["-ftls-model=local-dynamic", "-O2"] if name == "tld" else ["-O1"]
        run(["gcc", "-c", "-fPIC", "-mtls-dialect=gnu2", *extra, write(tmp_path, name + ".c", text), "-o", objs[name]])
    libs = link_both(tmp_path, "libtl.so", ["-shared", objs["tl"], objs["tld"], *now])
    for linker, lib in libs.items():
        tags = dyn_tags(lib)
        # lazily bound descriptors need the TLSDESC PLT entry and its GOT slot
        assert ("TLSDESC_PLT" in tags) == ("TLSDESC_GOT" in tags) == (not lib_now), linker
        assert "R_X86_64_TLSDESC" in readelf("-r", lib)
    assert tls_relocs(libs["ldpy"]) == tls_relocs(libs["bfd"])
    # exported variables by symbol, hidden/static ones against the module with their offset,
    # _TLS_MODULE_BASE_ with offset 0
    kinds = {(r[2], r[3]) for r in tls_relocs(libs["ldpy"])}
    assert {("lib_tls", ""), ("lib_bss", ""), ("", "0")} <= kinds and sum(tls_relocs(libs["ldpy"]).values()) == 5
    assert all(r[0] == ".rela.plt" for r in tls_relocs(libs["ldpy"]))
    if not lib_now:
        lib = libs["ldpy"]
        tags = dyn_tags(lib)
        entry = int(tags["TLSDESC_PLT"][0], 16)
        got_slot = int(tags["TLSDESC_GOT"][0], 16)
        code = read_at(lib, entry, 16)
        ref = read_at(libs["bfd"], int(dyn_tags(libs["bfd"])["TLSDESC_PLT"][0], 16), 16)
        assert code[:6] == ref[:6] and code[10:12] == ref[10:12]     # endbr64; push; jmp
        assert entry + 16 + int.from_bytes(code[12:16], "little", signed=True) == got_slot
        pltgot = int(tags["PLTGOT"][0], 16)
        assert entry + 10 + int.from_bytes(code[6:10], "little", signed=True) == pltgot + 8
    for mode, flags in EXE_MODES.items():
        flags = [f for f in flags if f not in ("-fPIE", "-fno-pie")]
        exes = link_both(tmp_path, "tm-" + mode, [objs["tm"], *flags, "-pthread", "-L", str(tmp_path / "@L@"),
                                                  "-ltl", "-Wl,-rpath," + str(tmp_path / "@L@")])
        for linker, exe in exes.items():
            run_all(exe, TLS_EXPECTED)
            tags = dyn_tags(exe)
            assert "TLSDESC_PLT" not in tags and "TLSDESC_GOT" not in tags
        # the executable's descriptors became initial-exec (imported) and local-exec
        mine, ref = tls_relocs(exes["ldpy"]), tls_relocs(exes["bfd"])
        assert mine == ref, mode
        assert {r[2] for r in mine} == {"lib_tls", "lib_bss"} and all(r[1] == "R_X86_64_TPOFF64" for r in mine)
    # an ldpy program with ld.bfd's library, and the other way round
    for linker, other in (("ldpy", "bfd"), ("bfd", "ldpy")):
        exe = gcc_link(tmp_path, f"cross-{linker}", [objs["tm"], "-pthread", "-L", str(tmp_path / other), "-ltl",
                                                     "-Wl,-rpath," + str(tmp_path / other)], linker)
        run_all(exe, TLS_EXPECTED)


IFUNC_LIB = r"""
static int impl_a(void) { return 42; }
static void *resolve_fn(void) { return (void *)impl_a; }
int gfn(void) __attribute__((ifunc("resolve_fn")));
static int sfn(void) __attribute__((ifunc("resolve_fn")));
__attribute__((visibility("hidden"))) int hfn(void) __attribute__((ifunc("resolve_fn")));
void *volatile ptrs[] = { (void *)gfn, (void *)sfn, (void *)hfn };
int check(void) {
  void *h = (void *)hfn;
  return (ptrs[1] == (void *)impl_a) + 2 * (ptrs[2] == h) + 4 * (((int (*)(void))ptrs[0])() == 42) +
         8 * (ptrs[0] == (void *)gfn);
}
"""


def test_ifunc_pointers_in_shared_library(tmp_path):
    """A preemptible IFUNC keeps symbolic relocations and needs no IPLT entry; a
    pointer to a local one gets IRELATIVE; only the one whose address code takes
    directly gets an IPLT entry (ld.bfd's IRELATIVE in .rela.plt)."""
    libs = link_both(tmp_path, "libifl.so", ["-shared", "-fPIC", "-O1", write(tmp_path, "ifl.c", IFUNC_LIB)])
    main_c = write(tmp_path, "iflm.c", '#include <stdio.h>\nint check(void);\n'
                                       'int main(void){printf("%d\\n", check());return 0;}\n')
    for linker in LINKERS:
        exe = gcc_link(tmp_path, "iflm-" + linker, [main_c, "-L", str(tmp_path / linker), "-lifl",
                                                    "-Wl,-rpath," + str(tmp_path / linker)], "bfd")
        run_all(exe, "13\n")
    names = {"", "gfn", "sfn", "hfn"}
    mine = {k: v for k, v in dyn_relocs(libs["ldpy"], names).items() if k[1] != "R_X86_64_RELATIVE"}
    ref = {k: v for k, v in dyn_relocs(libs["bfd"], names).items() if k[1] != "R_X86_64_RELATIVE"}
    assert mine == ref
    assert mine[(".rela.dyn", "R_X86_64_IRELATIVE", "")] == 2 and mine[(".rela.plt", "R_X86_64_IRELATIVE", "")] == 1


# -- 7. .gnu.hash and .dynsym of many exports (built column by column) ------------

def test_gnu_hashes_of_many_names_equal_the_one_by_one_hash():
    """The vectorized .gnu.hash function (every name's bytes side by side) gives
    each name the hash of the one-name loop, for empty, short and very long names."""
    import random
    from ldpy.synthetic.dynamic import gnu_hash, gnu_hashes
    rng = random.Random(7)
    for n in (0, 3, 31, 32, 500):
        names = [bytes(rng.randrange(1, 256) for _ in range(rng.choice((0, 1, 5, 30, 400))))
                 for _ in range(n)]
        assert gnu_hashes(names).tolist() == [gnu_hash(x) for x in names]


MANY_EXPORTS = 300


def test_every_one_of_many_exports_is_found_by_dlsym(tmp_path):
    """A library exporting hundreds of functions and data objects (names up to 400
    characters): the loader finds every one through ldpy's .gnu.hash (and .hash),
    and each has the type and binding ld.bfd gives it."""
    lines, calls = [], []
    for i in range(MANY_EXPORTS):
        name = f"f{i}_" + "x" * (i * 7 % 400)
        if i % 3 == 0:
            lines.append(f"int {name} = {i};")
            calls.append(f'{{ int *p = dlsym(h, "{name}"); bad += !p || *p != {i}; }}')
        else:
            lines.append(f"int {name}(void) {{ return {i}; }}")
            calls.append(f'{{ int (*p)(void) = (int (*)(void))dlsym(h, "{name}"); bad += !p || p() != {i}; }}')
    lib_src = write(tmp_path, "many.c", "\n".join(lines) + "\n")
    main_src = write(tmp_path, "main.c", "#include <dlfcn.h>\n#include <stdio.h>\n"
                     "int main(int argc, char **argv) { void *h = dlopen(argv[1], RTLD_NOW); int bad = 0;\n"
                     "if (!h) { puts(dlerror()); return 1; }\n" + "\n".join(calls) +
                     '\nprintf("%d bad\\n", bad); return 0; }\n')
    exe = gcc_link(tmp_path, "main", [main_src, "-ldl"], "bfd")
    for style in ("gnu", "both"):
        libs = link_both(tmp_path, f"libmany-{style}.so", ["-shared", "-fPIC", lib_src,
                                                           f"-Wl,--hash-style={style}"])
        assert run([exe, libs["ldpy"]]).stdout == "0 bad\n"
        rows = {name: (row[0], row[1], row[3]) for name, row in dynsym_rows(libs["ldpy"]).items()}
        assert rows == {name: (row[0], row[1], row[3]) for name, row in dynsym_rows(libs["bfd"]).items()}
        assert len([n for n in rows if n.startswith("f")]) >= MANY_EXPORTS
