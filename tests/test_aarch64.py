"""AArch64 end to end: programs built with Debian's aarch64-linux-gnu cross
gcc/g++, linked by ldpy through the gcc shim (`-B "$(ldpy --print-shim-dir)"`,
where the cross driver finds `ld`) and by aarch64-linux-gnu-ld.bfd, run under
qemu-aarch64, their dynamic sections, dynamic symbols, versions and section
lists compared."""
import os
import re
import shutil
import subprocess

import pytest

from cross_util import Cross, run, write, CXX_PROG, IFUNC, TLS_LIB, TLS_MAIN, WEAK_TLS
from e2e_util import LINKER, multiarch_static_libs, shim_dir

X = Cross("aarch64-linux-gnu", "qemu-aarch64")
CC, CXX, READELF, QEMU, SYSROOT = X.cc, X.cxx, X.readelf, X.qemu_bin, X.sysroot
build, qemu, section_names, same_sections = X.build, X.qemu, X.section_names, X.same_sections
dyn_tags, dyn_syms, versions = X.dyn_tags, X.dyn_syms, X.versions
pytestmark = X.needed()


compare_with_bfd = X.compare_with_bfd


HELLO = '#include <stdio.h>\nint main(void){puts("hello from aarch64");return 0;}\n'


@pytest.mark.parametrize("mode", ["-static", "-static-pie", "-pie", "-no-pie"])
def test_hello(tmp_path, mode):
    src = write(tmp_path, "hello.c", HELLO)
    compare_with_bfd(tmp_path, "hello", [src], ["-O2", mode], expect="hello from aarch64\n")


@pytest.mark.parametrize("mode", ["-pie", "-static"])
def test_cxx_exceptions_threads_thread_local(tmp_path, mode):
    src = write(tmp_path, "prog.cpp", CXX_PROG)
    compare_with_bfd(tmp_path, "prog", [src], ["-O2", "-pthread", mode], cxx=True,
                     expect="done 2004 0 main\n")


def test_shared_library_with_versions(tmp_path):
    main = X.versioned_libraries(tmp_path)
    # the program against each library, each linked by the linker under test and by ld.bfd
    so_ours = str(tmp_path / "libv.so")
    for so in ("libv.so", "libv.bfd.so"):
        (tmp_path / "run").mkdir(exist_ok=True)
        shutil.copy(tmp_path / so, tmp_path / "run" / "libv.so")
        ours = build(tmp_path, "main", [main, so_ours], ["-O2", "-Wl,-rpath,$ORIGIN/run"])
        ref = build(tmp_path, "main.bfd", [main, so_ours], ["-O2", "-Wl,-rpath,$ORIGIN/run"], linker="bfd")
        assert qemu(ours) == qemu(ref) == "43 42\n"
        assert dyn_tags(ours) == dyn_tags(ref) and dyn_syms(ours) == dyn_syms(ref)
        assert versions(ours) == versions(ref)
    a, b = str(tmp_path / "libv.so"), str(tmp_path / "libv.bfd.so")
    same_sections(a, b)
    assert dyn_tags(a) == dyn_tags(b) and dyn_syms(a) == dyn_syms(b) and versions(a) == versions(b)


@pytest.mark.parametrize("dialect", ["desc", "trad"])
def test_tls_models_across_library(tmp_path, dialect):
    lib = write(tmp_path, "tlslib.c", TLS_LIB)
    main = write(tmp_path, "tlsmain.c", TLS_MAIN)
    flags = [f"-mtls-dialect={dialect}", "-O2"]
    ours_so = build(tmp_path, "libtls.so", [lib], ["-shared", "-fPIC", *flags])
    ref_so = build(tmp_path, "libtls.bfd.so", [lib], ["-shared", "-fPIC", *flags], linker="bfd")
    same_sections(ours_so, ref_so)
    assert dyn_tags(ours_so) == dyn_tags(ref_so) and dyn_syms(ours_so) == dyn_syms(ref_so)
    for exe_flags in (["-pie", "-fPIE"], ["-no-pie", "-fno-PIE"]):
        ours = build(tmp_path, "tls", [main, ours_so, *flags, *exe_flags, "-pthread",
                                       f"-Wl,-rpath,{tmp_path}"])
        ref = build(tmp_path, "tls.bfd", [main, ref_so, *flags, *exe_flags, "-pthread",
                                          f"-Wl,-rpath,{tmp_path}"], linker="bfd")
        assert qemu(ours) == qemu(ref) == "60 11 17\n"
        assert dyn_tags(ours) == dyn_tags(ref) and dyn_syms(ours) == dyn_syms(ref)


@pytest.mark.parametrize("mode", ["-static", "-pie", "-no-pie"])
def test_ifunc(tmp_path, mode):
    src = write(tmp_path, "ifunc.c", IFUNC)
    compare_with_bfd(tmp_path, "ifunc", [src], ["-O2", mode], expect="9 9 1\n")


@pytest.mark.slow
def test_static_sqlite_zlib(tmp_path):
    """Debian's arm64 libsqlite3.a and libz.a (multiarch -dev packages, unpacked, not
    installed) in a static program run under qemu; sections, like every link here,
    compared with aarch64-linux-gnu-ld."""
    libs = multiarch_static_libs("arm64", "aarch64-linux-gnu")
    if libs is None:
        pytest.skip("needs libsqlite3-dev:arm64 and zlib1g-dev:arm64 unpacked (.ci/run does it)")
    src = os.path.join(os.path.dirname(__file__), "progs", "sqlite_zlib_cross.c")
    compare_with_bfd(tmp_path, "p", [src], ["-O1", "-static", *libs, "-lm"],
                     expect="100,5050,r100,1;120.0,R080;60.0,R040; 38 9a1f4f80 1\n")


def test_driver_finds_shim():
    got = run([CC, "-B", shim_dir(), "-print-prog-name=ld"]).stdout.strip()
    assert os.path.realpath(got) == os.path.realpath(os.path.join(shim_dir(), "ld"))


FAR_MAIN = r"""
    .text
    .globl main
    .type main,%function
main:
    stp x29, x30, [sp, #-16]!
    bl far_function
    add w0, w0, #1
    ldp x29, x30, [sp], #16
    ret
"""
FAR_SPACE = r"""
    .section .text.big,"ax",%progbits
    .globl filler
filler:
    .zero 0x8400000
"""
FAR_FUNC = r"""
    .text
    .globl far_function
    .type far_function,%function
far_function:
    stp x29, x30, [sp, #-16]!
    adrp x0, msg
    add x0, x0, :lo12:msg
    bl puts
    mov w0, #41
    ldp x29, x30, [sp], #16
    ret
    .section .rodata
msg: .asciz "far away"
"""


@pytest.mark.slow
def test_program_over_128_mib_links_with_stubs(tmp_path):
    """Calls across more than 128 MiB of code go through range-extension stubs."""
    srcs = [write(tmp_path, n, t) for n, t in (("main.s", FAR_MAIN), ("space.s", FAR_SPACE),
                                                 ("far.s", FAR_FUNC))]
    exe = build(tmp_path, "far", srcs, ["-no-pie"])
    assert os.path.getsize(exe) > 128 << 20
    r = subprocess.run([QEMU, "-L", SYSROOT, exe], capture_output=True, text=True, timeout=300)
    assert r.stdout == "far away\n" and r.returncode == 42
    syms = run(["aarch64-linux-gnu-nm", exe]).stdout
    assert re.search(r" t __far_function_veneer$", syms, re.M), syms


ERRATUM_MAIN = r"""
    .section .text.erratum,"ax",%progbits
    .balign 4096
    .globl main
    .type main,%function
main:
    .rept (0xff8 - 0x10) / 4
    nop
    .endr
    stp x29, x30, [sp, #-32]!
    mov x29, sp
    add x2, sp, #16
    nop
    adrp x0, value                  // at offset 0xff8 of a page
    str xzr, [x2]                   // a store
    ldr x3, [x0, :lo12:value]       // a load based on the ADRP's register
    adrp x0, fmt
    add x0, x0, :lo12:fmt
    mov x1, x3
    bl printf
    mov w0, #0
    ldp x29, x30, [sp], #32
    ret
    .section .rodata
fmt: .asciz "%ld\n"
    .section .data.far,"aw"
    .balign 8
    .space FAR
value: .xword 1234
"""


@pytest.mark.parametrize("far,mode", [(0, ""), (0x200000, ""), (0, "=adrp"), (0, "=adr")])
def test_erratum_843419(tmp_path, far, mode):
    """gcc passes --fix-cortex-a53-843419 on every link: the ADRP at 0xff8 becomes
    ADR when the page is within +-1 MiB, else the load moves to a veneer (=adrp:
    always the veneer; =adr: never)."""
    src = write(tmp_path, "e.S", ERRATUM_MAIN.replace("FAR", str(far)))
    flags = ["-no-pie"] + ([f"-Wl,--fix-cortex-a53-843419{mode}"] if mode else [])
    ours, ref = compare_with_bfd(tmp_path, "e", [src], flags, expect="1234\n")
    dis = run(["aarch64-linux-gnu-objdump", "-d", "--no-show-raw-insn", ours]).stdout
    main = dis[dis.index("<main>:"):]
    line = re.search(r"^\s*([0-9a-f]*ff8):\s+(adrp?)\s+x0,", main, re.M)
    assert line, main[-2000:]
    if far or mode == "=adrp":
        assert line.group(2) == "adrp"
        # the load two instructions on is now a branch to the veneer
        after = main[line.end():].splitlines()[2]
        assert re.match(r"\s*[0-9a-f]+:\s+b\s", after), after
    else:
        assert line.group(2) == "adr"


def test_erratum_843419_adr_only_out_of_reach(tmp_path):
    """=adr cannot fix a sequence whose page is beyond +-1 MiB: an error, as GNU ld says."""
    src = write(tmp_path, "e.S", ERRATUM_MAIN.replace("FAR", str(0x200000)))
    r = run([CC, src, "-no-pie", "-Wl,--fix-cortex-a53-843419=adr", "-o", str(tmp_path / "e"),
             "-B", shim_dir()], check=False)
    assert r.returncode == 1 and "out of range for ADR" in r.stderr and not (tmp_path / "e").exists()
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2
    r = run([CC, src, "-no-pie", "-Wl,--fix-cortex-a53-843419=adr", "-o", str(tmp_path / "e"),
             "-fuse-ld=bfd"], check=False)
    assert r.returncode == 1 and "out of range for ADR" in r.stderr      # (as ld.bfd)


def plt_mnemonics(path):
    dis = run(["aarch64-linux-gnu-objdump", "-d", "-j", ".plt", "--no-show-raw-insn", path]).stdout
    return [m.group(1) for m in re.finditer(r"^\s*[0-9a-f]+:\s+(\w+)", dis, re.M)]


@pytest.mark.parametrize("zflags,mode", [(["force-bti"], "-no-pie"), (["pac-plt"], "-no-pie"),
                                         (["force-bti", "pac-plt"], "-no-pie"),
                                         (["force-bti", "pac-plt"], "-pie")])
def test_bti_pac_plt(tmp_path, zflags, mode):
    """-z force-bti / -z pac-plt: ld.bfd's PLT entries (bti c in non-PIE executables,
    autia1716), the GNU property note and DT_AARCH64_BTI_PLT / _PAC_PLT.  (Not run:
    glibc here is not built for BTI or PAC, and ld.bfd's programs fault in qemu too.)"""
    src = write(tmp_path, "hello.c", HELLO)
    flags = ["-O2", mode] + [f"-Wl,-z,{z}" for z in zflags]
    ours = build(tmp_path, "h", [src], flags)
    ref = build(tmp_path, "h.bfd", [src], flags, linker="bfd")
    assert dyn_tags(ours) == dyn_tags(ref)
    assert ("AARCH64_BTI_PLT" in dyn_tags(ours)) == ("force-bti" in zflags)
    assert ("AARCH64_PAC_PLT" in dyn_tags(ours)) == ("pac-plt" in zflags)
    assert plt_mnemonics(ours) == plt_mnemonics(ref)
    note = lambda p: re.findall(r"Properties: (.*)", run([READELF, "-nW", p]).stdout)
    assert note(ours) == note(ref)
    same_sections(ours, ref)


GC_C = r"""
#include <stdio.h>
__thread int tv = 3;
int used(void) { return tv + 1; }
int unused(void) { return 2; }
int unused_data[100] = {1};
int main(void) { printf("%d\n", used()); return 0; }
"""


def test_gc_sections_and_relocatable(tmp_path):
    """--gc-sections removes what ld.bfd removes; `-r` keeps the relocations ld.bfd
    keeps, and the relocatable output links into a program that runs."""
    src = write(tmp_path, "gc.c", GC_C)
    flags = ["-O2", "-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections",
             "-Wl,--print-gc-sections"]
    removed = {}
    for linker, out in ((LINKER, "gc"), ("bfd", "gc.bfd")):
        sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
        r = run([CC, src, *flags, "-o", str(tmp_path / out), *sel])
        # (the compiler's temporary object gets a new name each time)
        removed[linker] = sorted((sec, os.path.basename(f) if "/cc" not in f else "gc.o") for sec, f in
                                 re.findall(r"removing unused section '([^']+)' in file '([^']*)'", r.stderr))
        assert qemu(str(tmp_path / out)) == "4\n"
    assert removed[LINKER] == removed["bfd"] and (".text.unused", "gc.o") in removed["bfd"]
    # -r through the cross driver, then a normal link of its output
    obj = str(tmp_path / "gc.o")
    run([CC, "-c", "-O2", src, "-o", obj])
    for linker, out in ((LINKER, "r.o"), ("bfd", "r.bfd.o")):
        sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
        run([CC, "-r", "-nostdlib", obj, "-o", str(tmp_path / out), *sel])
    rel = lambda p: [line.split()[2:] for line in run([READELF, "-rW", p]).stdout.splitlines()
                     if line[:1] in "0123456789abcdef" and "R_AARCH64" in line]
    assert rel(str(tmp_path / "r.o")) == rel(str(tmp_path / "r.bfd.o"))
    exe = build(tmp_path, "fromr", [str(tmp_path / "r.o")], ["-O2"])
    assert qemu(exe) == "4\n"


def test_static_link_with_ld_bfd_default_script(tmp_path):
    """-T with the script `aarch64-linux-gnu-ld --verbose` prints: the same layout."""
    verbose = run(["aarch64-linux-gnu-ld", "--verbose"]).stdout
    script = verbose.split("=" * 50 + "\n")[1].split("\n" + "=" * 50)[0]
    lds = write(tmp_path, "a64.ld", script)
    src = write(tmp_path, "hello.c", HELLO)
    ours = build(tmp_path, "h", [src], ["-O2", "-static", f"-Wl,-T,{lds}"])
    ref = build(tmp_path, "h.bfd", [src], ["-O2", "-static", f"-Wl,-T,{lds}"], linker="bfd")
    assert qemu(ours) == qemu(ref) == "hello from aarch64\n"
    same_sections(ours, ref)


VARIANT_PCS_LIB = ".global foo\n.type foo, %function\n.variant_pcs foo\nfoo:\n  mov w0, #42\n  ret\n"


def test_variant_pcs_symbols_keep_their_mark(tmp_path):
    """A function of the variant procedure call standard (`.variant_pcs`, st_other
    STO_AARCH64_VARIANT_PCS) keeps the mark in the library's and the program's
    symbol tables, and a program calling it through the PLT gets
    DT_AARCH64_VARIANT_PCS (the loader binds it at start: the lazy resolver would
    clobber registers that standard keeps), as with ld.bfd."""
    lib = write(tmp_path, "vpcs.s", VARIANT_PCS_LIB)
    main = write(tmp_path, "vmain.c", '#include <stdio.h>\nint foo(void);\n'
                                      'int main(void){printf("%d\\n", foo());return 0;}\n')
    for linker in ("ldpy", "bfd"):
        sfx = "" if linker == "ldpy" else ".bfd"
        so = build(tmp_path, f"libvpcs{sfx}.so", [lib], ["-shared", "-fPIC"], linker=linker)
        exe = build(tmp_path, f"vpcs{sfx}", [main, so, f"-Wl,-rpath,{tmp_path}"], linker=linker)
        assert qemu(exe) == "42\n"
        for path in (so, exe):
            for opt in ("--dyn-syms", "--syms"):
                rows = [line for line in run([READELF, "-W", opt, path]).stdout.splitlines()
                        if line.endswith(" foo")]
                assert rows and all("[VARIANT_PCS]" in r for r in rows), (linker, path, opt, rows)
        assert "AARCH64_VARIANT_PCS" in dyn_tags(exe)
        assert "AARCH64_VARIANT_PCS" not in dyn_tags(so)      # (no PLT entry for foo there)


@pytest.mark.parametrize("mode", ["-no-pie", "-static"])
def test_undefined_weak_tls_local_exec(tmp_path, mode):
    """An undefined weak TLS symbol reached by local-exec code is at TP offset 0
    (ld.bfd): 0 - TP does not fit ADD's unsigned HI12/LO12 fields."""
    src = write(tmp_path, "weaktls.c", WEAK_TLS)
    ours, ref = compare_with_bfd(tmp_path, "weaktls", [src], [mode], expect="3\n")
    dis = run(["aarch64-linux-gnu-objdump", "-d", ours]).stdout
    body = dis[dis.index("<set_foo>:"):]
    body = body[:body.index("\n\n")]
    assert "add\tx0, x0, #0x0, lsl #12" in body and "add\tx0, x0, #0x0\n" in body, body
