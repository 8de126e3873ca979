"""RISC-V (RV64, lp64d) end to end: programs built with Debian's riscv64-linux-gnu
cross gcc/g++, linked by ldpy through the gcc shim and by riscv64-linux-gnu-ld.bfd,
run under qemu-riscv64, their dynamic sections, dynamic symbols, versions,
section lists, e_flags and attributes compared; linker relaxation (bytes
deleted for R_RISCV_ALIGN, calls shortened to JAL/C.J) compared instruction by
instruction with ld.bfd's."""
import os
import re
import shutil
import subprocess

import pytest

from cross_util import Cross, run, write, CXX_PROG, IFUNC, TLS_LIB, TLS_MAIN
from e2e_util import LINKER, ldpy_command, shim_dir

X = Cross("riscv64-linux-gnu", "qemu-riscv64")
CC, CXX, READELF, QEMU, SYSROOT = X.cc, X.cxx, X.readelf, X.qemu_bin, X.sysroot
OBJDUMP = X.objdump
build, qemu, section_names, same_sections = X.build, X.qemu, X.section_names, X.same_sections
dyn_tags, dyn_syms, versions = X.dyn_tags, X.dyn_syms, X.versions
pytestmark = X.needed()


def compare_with_bfd(tmp, name, sources, flags=(), cxx=False, expect=None, args=()):
    return X.compare_with_bfd(tmp, name, sources, flags, cxx, expect, args, same_tags=same_tags)


def bfd_sections(ref, static):
    """ld.bfd's section list, less the .rela.dyn its static links keep with only
    R_RISCV_NONE entries (GOT relocations it reserved and then nulled)."""
    names = section_names(ref)
    if static:
        out = run([READELF, "-rW", ref]).stdout
        dyn = out.split("Relocation section '.rela.dyn'")[1].split("Relocation section")[0]
        assert set(re.findall(r"(R_RISCV_\w+)", dyn)) == {"R_RISCV_NONE"}
        names = [n for n in names if n != ".rela.dyn"]
    return names


def relocation_types(path):
    out = run([READELF, "-rW", path]).stdout
    return re.findall(r"^[0-9a-f]+\s+[0-9a-f]+\s+(R_RISCV_\w+)", out, re.M)


def same_relocations(ours, ref):
    """The same dynamic relocation types, each as often, but for the R_RISCV_NONE
    entries ld.bfd 2.40 leaves where it reserved relocations it did not need."""
    a = sorted(relocation_types(ours))
    assert "R_RISCV_NONE" not in a
    assert a == sorted(t for t in relocation_types(ref) if t != "R_RISCV_NONE")


def eflags(path):
    return re.search(r"Flags:\s+(0x[0-9a-f]+)", run([READELF, "-hW", path]).stdout).group(1)


def attributes(path):
    return run([READELF, "-A", path]).stdout


def segment_types(path):
    out = run([READELF, "-lW", path]).stdout
    return [line.split()[0] for line in out.splitlines() if re.match(r"\s+[A-Z_]+\s+0x", line)]


def same_tags(ours, ref):
    """The same .dynamic tags, but for ld.bfd 2.40's spurious DT_TEXTREL (and the
    DF_TEXTREL of DT_FLAGS): it reserves dynamic relocations for some sections it
    then fills, turns them into R_RISCV_NONE, and still marks the output; ldpy
    writes no text relocation and no such mark."""
    a, b = dyn_tags(ours), dyn_tags(ref)
    assert "TEXTREL" not in a
    flags = lambda p: set((re.findall(r"\(FLAGS\)\s+(.*)$", run([READELF, "-dW", p]).stdout, re.M)
                           or [""])[0].split())
    if "TEXTREL" in b:
        b = b - {"TEXTREL"} - ({"FLAGS"} if flags(ref) == {"TEXTREL"} else set())
    assert a == b
    assert flags(ours) == flags(ref) - {"TEXTREL"}


HELLO = '#include <stdio.h>\nint main(void){printf("hello from %s\\n", "riscv64");return 0;}\n'


@pytest.mark.parametrize("mode", ["-static", "-pie", "-no-pie"])
def test_hello(tmp_path, mode):
    src = write(tmp_path, "hello.c", HELLO)
    ours = build(tmp_path, "hello", [src], ["-O2", mode])
    ref = build(tmp_path, "hello.bfd", [src], ["-O2", mode], linker="bfd")
    assert qemu(ours) == qemu(ref) == "hello from riscv64\n"
    X.same_section_lists(section_names(ours), bfd_sections(ref, mode == "-static"))
    same_tags(ours, ref)
    assert dyn_syms(ours) == dyn_syms(ref)
    assert versions(ours) == versions(ref)
    if mode != "-static":
        same_relocations(ours, ref)
    # e_flags, the merged attributes and their segment as ld.bfd writes them
    assert eflags(ours) == eflags(ref) == "0x5"
    assert attributes(ours) == attributes(ref)
    assert segment_types(ours) == segment_types(ref)
    assert segment_types(ours).count("RISCV_ATTRIBUT") == 1


RELAX_S = r"""
    .text
    .globl _start
_start:
    li a0, 5
    call twice          # near: JAL ra
    call far            # 2 MiB back: stays AUIPC+JALR
    mv s1, a0
    .balign 16          # R_RISCV_ALIGN: the padding left depends on the calls before
aligned:
    mv a0, s1
    call finish
    tail finish         # a tail call: C.J
    .balign 8
    .globl twice
twice:
    add a0, a0, a0
    ret
    .section .text.unlikely,"ax",@progbits    # (placed first: 2 MiB before _start)
far:
    addi a0, a0, 1
    ret
    .skip 0x200000
"""
RELAX_C = r"""
static int sq(int x) { return x * x; }
int table(int x) { switch (x & 7) { case 0: return sq(x); case 1: return 7; case 2: return x - 3;
  case 3: return x * 9; case 4: return 11; case 5: return x ^ 5; default: return 1; } }
void finish(int v) {
    register long a0 asm("a0") = table(v) + table(v + 1);
    register long a7 asm("a7") = 93;
    asm volatile("ecall" :: "r"(a0), "r"(a7));
}
"""


def disassembly(path):
    return [line for line in run([OBJDUMP, "-d", path]).stdout.splitlines() if "file format" not in line]


def frames(path):
    """The call frame information, less the DW_CFA_nop padding and the record
    lengths it changes (ld.bfd trims an FDE's padding)."""
    out = run([READELF, "--debug-dump=frames", path]).stdout
    out = re.sub(r"^0000\w+ (\w+) ", "LEN ", out, flags=re.M)
    return [line for line in out.splitlines() if "DW_CFA_nop" not in line and line.strip()]


@pytest.mark.parametrize("relax", [True, False])
def test_relaxation_same_code_as_bfd(tmp_path, relax):
    """Calls shortened to JAL and C.J, the far call kept, the alignment padding cut
    to what aligns: the same instructions at the same addresses as ld.bfd's, and
    the same frames (their addresses moved with the deleted bytes)."""
    s = write(tmp_path, "start.S", RELAX_S)
    c = write(tmp_path, "fin.c", RELAX_C)
    flags = ["-g", "-O2", "-static", "-nostdlib", "-fno-pic", "-fasynchronous-unwind-tables"] + \
        ([] if relax else ["-Wl,--no-relax"])
    ours = build(tmp_path, "r", [s, c], flags)
    ref = build(tmp_path, "r.bfd", [s, c], flags, linker="bfd")
    for exe in (ours, ref):
        r = subprocess.run([QEMU, exe], capture_output=True, timeout=60)
        assert r.returncode == 110          # table(5) + table(6): 0 ^ 5 ... (5 ^ 5) + 1 = 110 - 0
    assert disassembly(ours) == disassembly(ref)
    dis = "\n".join(disassembly(ours))
    if relax:
        assert re.search(r"\tjal\tra,\w+ <twice>|\tjal\t\w+ <twice>", dis)
        assert re.search(r"\tj\t\w+ <finish>", dis) and "c.j" not in dis
        assert re.search(r"auipc\tra,0xffe00", dis)              # the far call stays a pair
    else:
        assert not re.search(r"\tjal\t", dis)
    # the aligned label is aligned, with or without relaxation
    syms = run([READELF, "-sW", ours]).stdout
    assert int(re.search(r"(\w+)\s+0 NOTYPE\s+LOCAL\s+DEFAULT\s+\d+ aligned$", syms, re.M).group(1), 16) % 16 == 0
    assert frames(ours) == frames(ref)
    # the line table and the functions' ranges in the debug information moved too
    # (label differences: ADD/SUB/SET relocations in .debug_line and .debug_info)
    lines = lambda p: [l for l in run([OBJDUMP, "--dwarf=decodedline", p]).stdout.splitlines()
                       if "file format" not in l]
    pcs = lambda p: re.findall(r"DW_AT_(?:low|high)_pc\s*:\s*(\S+)", run([OBJDUMP, "--dwarf=info", p]).stdout)
    assert lines(ours) == lines(ref) and len(lines(ours)) > 20
    assert pcs(ours) == pcs(ref) and pcs(ours)


def test_relaxed_static_program_has_no_local_labels(tmp_path):
    """ld.bfd's RISC-V .symtab leaves out the .L labels the assembler keeps for
    relaxation; so does ldpy's (unless --discard-none)."""
    src = write(tmp_path, "hello.c", HELLO)
    ours = build(tmp_path, "hello", [src], ["-O2", "-static"])
    assert ".L" not in run([READELF, "-sW", ours]).stdout
    keep = build(tmp_path, "hello.keep", [src], ["-O2", "-static", "-Wl,--discard-none"])
    assert ".L0 " in run([READELF, "-sW", keep]).stdout


@pytest.mark.parametrize("mode", ["-pie", "-static"])
def test_cxx_exceptions_threads_thread_local(tmp_path, mode):
    """C++ exceptions unwinding through relaxed code (its .eh_frame relocated
    with label differences: ADD32/SUB32, SET6/SUB6), std::thread, thread_local."""
    src = write(tmp_path, "prog.cpp", CXX_PROG)
    ours = build(tmp_path, "prog", [src], ["-O2", "-pthread", mode], cxx=True)
    ref = build(tmp_path, "prog.bfd", [src], ["-O2", "-pthread", mode], linker="bfd", cxx=True)
    assert qemu(ours) == qemu(ref) == "done 2004 0 main\n"
    same_tags(ours, ref)
    assert dyn_syms(ours) == dyn_syms(ref)
    assert versions(ours) == versions(ref)
    assert eflags(ours) == eflags(ref)


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
        same_tags(ours, ref)
        assert dyn_syms(ours) == dyn_syms(ref)
        assert versions(ours) == versions(ref)
    a, b = str(tmp_path / "libv.so"), str(tmp_path / "libv.bfd.so")
    same_sections(a, b)
    same_tags(a, b)
    assert dyn_syms(a) == dyn_syms(b) and versions(a) == versions(b)


def test_tls_models_across_library(tmp_path):
    """General dynamic (RISC-V has no local-dynamic sequence: gcc emits GD for
    it), initial-exec and local-exec across a library boundary: GD pairs and IE
    slots with their dynamic relocations in the library and the executables
    (ld.bfd 2.40 relaxes no TLS sequence on RISC-V; neither does ldpy)."""
    lib = write(tmp_path, "tlslib.c", TLS_LIB)
    main = write(tmp_path, "tlsmain.c", TLS_MAIN)
    ours_so = build(tmp_path, "libtls.so", [lib], ["-shared", "-fPIC", "-O2"])
    ref_so = build(tmp_path, "libtls.bfd.so", [lib], ["-shared", "-fPIC", "-O2"], linker="bfd")
    same_sections(ours_so, ref_so)
    same_tags(ours_so, ref_so)
    assert dyn_syms(ours_so) == dyn_syms(ref_so)
    same_relocations(ours_so, ref_so)
    assert {"R_RISCV_TLS_DTPMOD64", "R_RISCV_TLS_DTPREL64", "R_RISCV_TLS_TPREL64"} <= \
        set(relocation_types(ours_so))
    for exe_flags in (["-pie", "-fPIE"], ["-no-pie", "-fno-PIE"]):
        ours = build(tmp_path, "tls", [main, ours_so, "-O2", *exe_flags, "-pthread",
                                       f"-Wl,-rpath,{tmp_path}"])
        ref = build(tmp_path, "tls.bfd", [main, ref_so, "-O2", *exe_flags, "-pthread",
                                          f"-Wl,-rpath,{tmp_path}"], linker="bfd")
        assert qemu(ours) == qemu(ref) == "60 11 17\n"
        same_tags(ours, ref)
        assert dyn_syms(ours) == dyn_syms(ref)
        same_relocations(ours, ref)


OWN_TLS = r"""
#include <stdio.h>
#include <pthread.h>
__thread int gd_var = 7;
static __thread long gd_local = 8;
__thread int ie_var __attribute__((tls_model("initial-exec"))) = 9;
__thread int le_var __attribute__((tls_model("local-exec"))) = 10;
static void *thr(void *p) { gd_var += 1; gd_local += 2; ie_var += 3; le_var += 4;
  return (void *)(long)(gd_var + gd_local + ie_var + le_var); }
int main(void) { pthread_t t; void *r; pthread_create(&t, 0, thr, 0); pthread_join(t, &r);
  printf("%d %ld %d %d %ld\n", gd_var, gd_local, ie_var, le_var, (long)r); return 0; }
"""


@pytest.mark.parametrize("mode", ["-static", "-pie", "-no-pie"])
def test_own_tls_all_models(tmp_path, mode):
    """An executable's own variables reached by GD (-fPIC code: __tls_get_addr,
    DTP offsets biased by 0x800), IE (a GOT slot with the TP offset) and LE, in
    the main thread and another: static (the pairs and slots filled at link
    time), PIE (DTPMOD64 and TPREL64 against no symbol, as ld.bfd)."""
    src = write(tmp_path, "tls.c", OWN_TLS)
    ours = build(tmp_path, "t", [src], ["-O2", "-fPIC", "-pthread", mode])
    ref = build(tmp_path, "t.bfd", [src], ["-O2", "-fPIC", "-pthread", mode], linker="bfd")
    assert qemu(ours) == qemu(ref) == "7 8 9 10 44\n"
    tls = lambda p: sorted(t for t in relocation_types(p) if "TLS" in t)
    if mode == "-pie":
        assert tls(ours) == tls(ref) == ["R_RISCV_TLS_DTPMOD64"] * 2 + ["R_RISCV_TLS_TPREL64"]
    elif mode == "-static":
        assert tls(ours) == tls(ref) == []
    else:
        # (ld.bfd binds the exported gd_var and ie_var with dynamic relocations to the
        # executable itself; ldpy stores module 1 and the offsets: the same values)
        assert tls(ours) == []


@pytest.mark.parametrize("mode", ["-static", "-pie", "-no-pie"])
def test_ifunc(tmp_path, mode):
    src = write(tmp_path, "ifunc.c", IFUNC)
    ours = build(tmp_path, "ifunc", [src], ["-O2", mode])
    ref = build(tmp_path, "ifunc.bfd", [src], ["-O2", mode], linker="bfd")
    assert qemu(ours) == qemu(ref) == "9 9 1\n"
    assert sorted(section_names(ours)) == sorted(bfd_sections(ref, mode == "-static"))
    same_tags(ours, ref)
    assert dyn_syms(ours) == dyn_syms(ref)
    same_relocations(ours, ref)


def test_attributes_and_flags_merged(tmp_path):
    """Objects built for different ISAs: one .riscv.attributes whose arch string
    names every extension (as ld.bfd merges it), in a final link and in -r."""
    s = write(tmp_path, "start.S", RELAX_S)
    c = write(tmp_path, "fin.c", RELAX_C)
    a = str(tmp_path / "a.o")
    b = str(tmp_path / "b.o")
    run([CC, "-c", "-march=rv64imac", "-mabi=lp64", s, "-o", a])
    run([CC, "-c", "-O2", "-march=rv64gc_zba_zbb", "-mabi=lp64", c, "-o", b])
    flags = ["-static", "-nostdlib", "-Wl,-e,_start"]
    ours = build(tmp_path, "m", [a, b], flags)
    ref = build(tmp_path, "m.bfd", [a, b], flags, linker="bfd")
    assert attributes(ours) == attributes(ref)
    assert "_zba1p0_zbb1p0" in attributes(ours) and "_c2p0" in attributes(ours)
    assert eflags(ours) == eflags(ref) == "0x1"            # RVC, soft-float
    assert segment_types(ours) == segment_types(ref)
    if LINKER == "ldpy":
        rel = str(tmp_path / "r.o")
        run([*ldpy_command(), "-r", a, b, "-o", rel])
        assert attributes(rel) == attributes(ref)
        exe = str(tmp_path / "from_r")
        run([*ldpy_command(), "-static", "-e", "_start", rel, "-o", exe])
        assert subprocess.run([QEMU, exe], timeout=60).returncode == 110


def test_float_abi_mix_refused(tmp_path):
    """A soft-float object with double-float ones: refused as ld.bfd refuses it."""
    s = write(tmp_path, "start.S", RELAX_S)
    c = write(tmp_path, "fin.c", RELAX_C)
    soft = str(tmp_path / "soft.o")
    run([CC, "-c", "-O2", "-march=rv64imac", "-mabi=lp64", c, "-o", soft])
    sel = ["-B", shim_dir()] if LINKER == "ldpy" else ["-fuse-ld=bfd"]
    r = run([CC, "-static", "-nostdlib", "-Wl,-e,_start", s, soft, "-o", str(tmp_path / "bad"), *sel],
            check=False)
    assert r.returncode != 0
    assert "soft.o: can't link soft-float modules with double-float modules" in r.stderr


GP_START = r"""
    .text
    .globl _start
_start:
    .option push
    .option norelax
    lla gp, __global_pointer$
    .option pop
    lla tp, tls_block       # (no libc: a thread pointer of our own)
    li a0, 5
    call pick
    li a7, 93
    ecall
    .section .bss.tls_block,"aw",@nobits
    .balign 64
tls_block:
    .zero 256
"""


def gp_program():
    lines = [f"int v{i} = {i};" for i in range(700)]
    lines += ["long bigz[8192];", "static const long tab[] = {11, 22};", "__thread int tlv;",
              "int pick(int i) { bigz[i] = i; tlv = i; return v0 + v300 + v512 + v699 + (int)bigz[i] + "
              "(int)tab[i & 1] + tlv; }",
              "int addr_taken(void) { return (int)(long)&v400 & 0xff; }"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("code", ["-fno-pic", "-fPIE"])
def test_gp_and_tls_relaxation_same_code_as_bfd(tmp_path, code):
    """Non-PIC (LUI) and PIE (AUIPC) accesses in a static executable: those within
    reach of __global_pointer$ (700 small variables around it) become one gp- or
    x0-relative instruction, LUI becomes C.LUI where it can, local-exec TLS loses
    its LUI and ADD: the same instructions at the same addresses as ld.bfd's."""
    s = write(tmp_path, "start.S", GP_START)
    c = write(tmp_path, "many.c", gp_program())
    flags = ["-O2", "-static", "-nostdlib", code] + (["-fno-PIE"] if code == "-fno-pic" else [])
    ours = build(tmp_path, "g", [s, c], flags)
    ref = build(tmp_path, "g.bfd", [s, c], flags, linker="bfd")
    for exe in (ours, ref):
        # 0 + 300 + 512 + 699 + 5 + 22 + 5 = 1543, as an exit status 1543 & 0xff
        assert subprocess.run([QEMU, exe], timeout=60).returncode == 1543 & 0xff
    assert disassembly(ours) == disassembly(ref)
    dis = "\n".join(disassembly(ours))
    assert re.search(r"\t\w+\t\w+,-?\d+\(gp\)", dis)               # gp-relative loads or stores
    assert re.search(r"\tsw\ta0,\d+\(tp\)", dis)                    # tp-relative, no LUI/ADD
    if code == "-fno-pic":
        assert re.search(r":\t[0-9a-f]{4} +\tlui\t", dis)              # C.LUI (2 bytes)


def test_refusals(tmp_path):
    """What ldpy cannot do yet is refused on one line naming the place: a
    linker-internal relocation in an input."""
    if LINKER != "ldpy":
        pytest.skip("ldpy's own messages")
    bad = write(tmp_path, "bad.s", ".text\n.globl _start\n_start:\n.reloc ., R_RISCV_GPREL_I, x\nnop\nx: nop\n")
    obj = str(tmp_path / "bad.o")
    run([CC, "-c", bad, "-o", obj])
    r = run([*ldpy_command(), obj, "-o", str(tmp_path / "bad")], check=False)
    assert r.returncode == 1
    assert r.stderr.strip().endswith("bad.o:(.text+0x0): unsupported relocation R_RISCV_GPREL_I against 'x'")


def emitted_text_relocs(path):
    """(offset, type name) of each relocation in the output's .rela.text."""
    out = run([READELF, "-rW", path]).stdout
    part = out[out.index("'.rela.text'"):]
    part = part[:part.index("\n\n")] if "\n\n" in part else part
    return [(int(m.group(1), 16), m.group(2)) for m in re.finditer(r"^([0-9a-f]+)\s+[0-9a-f]+\s+(R_RISCV_\w+)", part, re.M)]


@pytest.mark.parametrize("mode", ["-static", "-pie"])
def test_emit_relocs_of_relaxed_code(tmp_path, mode):
    """--emit-relocs after relaxation: a call shortened to JAL is emitted as
    R_RISCV_JAL at the JAL (C.J as R_RISCV_RVC_JUMP), the relocations and markers
    of what relaxation removed, and R_RISCV_ALIGN, as R_RISCV_NONE: the renaming
    ld.bfd does; the program runs as without --emit-relocs."""
    src = write(tmp_path, "hello.c", HELLO)
    ours = build(tmp_path, "er", [src], ["-O2", mode, "-Wl,--emit-relocs"])
    ref = build(tmp_path, "er.bfd", [src], ["-O2", mode, "-Wl,--emit-relocs"], linker="bfd")
    assert qemu(ours) == qemu(ref) == qemu(build(tmp_path, "plain", [src], ["-O2", mode]))
    rows = emitted_text_relocs(ours)
    types = {t for _, t in rows}
    assert "R_RISCV_JAL" in types and "R_RISCV_ALIGN" not in types
    assert types <= {t for _, t in emitted_text_relocs(ref)}, types - {t for _, t in emitted_text_relocs(ref)}
    # each emitted JAL sits on a JAL instruction (opcode 0x6f), each RVC_JUMP on a C.J/C.JAL
    text = run([OBJDUMP, "-d", "--no-show-raw-insn", ours]).stdout
    insn = {int(m.group(1), 16): m.group(2) for m in re.finditer(r"^\s*([0-9a-f]+):\s+(\S+)", text, re.M)}
    for off, t in rows:
        if t == "R_RISCV_JAL":
            assert insn[off] in ("jal", "j"), (hex(off), insn[off])
        elif t == "R_RISCV_RVC_JUMP":
            assert insn[off] in ("c.j", "c.jal", "j", "jal"), (hex(off), insn[off])


VARIANT_CC_LIB = """
    .text
    .globl vfn
    .variant_cc vfn
    .type vfn, @function
vfn:
    li a0, 7
    ret
"""
# (a program of its own: main calls vfn)
VARIANT_CC_S = VARIANT_CC_LIB + """
    .globl main
    .type main, @function
main:
    addi sp, sp, -16
    sd ra, 8(sp)
    call vfn
    ld ra, 8(sp)
    addi sp, sp, 16
    ret
"""


def test_variant_cc(tmp_path):
    """A .variant_cc function (STO_RISCV_VARIANT_CC): linked statically; from a
    shared library, the mark stays in both .dynsym tables and the program that
    calls it through its PLT gets DT_RISCV_VARIANT_CC (bound at load time), as
    with ld.bfd; a program that defines it itself needs no tag."""
    src = write(tmp_path, "vcc.s", VARIANT_CC_S)
    exe = build(tmp_path, "vcc", [src], ["-static"])
    assert subprocess.run([QEMU, exe], timeout=60).returncode == 7
    lib = write(tmp_path, "vlib.s", VARIANT_CC_LIB)
    main = write(tmp_path, "vmain.c", "int vfn(void);\nint main(void){return vfn();}\n")
    for linker in ("ldpy", "bfd"):
        sfx = "" if linker == "ldpy" else ".bfd"
        so = build(tmp_path, f"libv{sfx}.so", [lib], ["-shared", "-fPIC"], linker=linker)
        prog = build(tmp_path, f"vprog{sfx}", [main, so, f"-Wl,-rpath,{tmp_path}"], linker=linker)
        own = build(tmp_path, f"vown{sfx}", [src], linker=linker)
        env = dict(os.environ, QEMU_LD_PREFIX=SYSROOT)
        assert subprocess.run([QEMU, "-L", SYSROOT, prog], timeout=60, env=env).returncode == 7
        assert subprocess.run([QEMU, "-L", SYSROOT, own], timeout=60, env=env).returncode == 7
        for path in (so, prog):
            rows = [line for line in run([READELF, "-W", "--dyn-syms", path]).stdout.splitlines()
                    if line.endswith(" vfn")]
            assert rows and all("[VARIANT_CC]" in r for r in rows), (linker, path, rows)
        tags = run([READELF, "-dW", prog]).stdout
        assert "RISCV_VARIANT_CC" in tags, linker
        assert "RISCV_VARIANT_CC" not in run([READELF, "-dW", so]).stdout
        assert "RISCV_VARIANT_CC" not in run([READELF, "-dW", own]).stdout


POINTERS_C = r"""
#include <stdio.h>
extern char **environ;
int (*fp)(const char *) = puts;
int main(void) { fprintf(stderr, "err\n"); fp("ptr"); printf("%d\n", environ != 0); return 0; }
"""


@pytest.mark.parametrize("mode", ["-no-pie", "-pie"])
def test_imported_data_and_function_pointers(tmp_path, mode):
    """A library's data through the GOT (stderr, environ) and a pointer to a
    library function in writable data: in a non-PIE executable the pointer holds
    the canonical PLT entry (JUMP_SLOT, no R_RISCV_64), as ld.bfd does there."""
    src = write(tmp_path, "p.c", POINTERS_C)
    ours = build(tmp_path, "p", [src], ["-O2", mode])
    ref = build(tmp_path, "p.bfd", [src], ["-O2", mode], linker="bfd")
    assert qemu(ours) == qemu(ref) == "ptr\n1\n"
    same_relocations(ours, ref)
    same_tags(ours, ref)
    # (__environ too: the strong alias of the weak environ, as ld.bfd lists it)
    assert dyn_syms(ours) == dyn_syms(ref)
    assert ("__environ@GLIBC_2.27", "OBJECT", "GLOBAL", False) in dyn_syms(ours)
    if mode == "-no-pie":
        puts = [l for l in run([READELF, "--dyn-syms", "-W", ours]).stdout.splitlines() if "puts" in l]
        assert puts and int(puts[0].split()[1], 16) != 0        # the canonical PLT entry


def test_undefined_reference_names_the_function(tmp_path):
    """An undefined reference from code full of the .L labels relaxation keeps is
    reported in its function (not '.L0 '), and the library hint looks in the
    target's directories (no x86-64 library is offered)."""
    if LINKER != "ldpy":
        pytest.skip("ldpy's own messages")
    src = write(tmp_path, "u.c", "void missing_fn(void);\nint main(void) { missing_fn(); return 0; }\n")
    r = run([CC, "-O2", src, "-o", str(tmp_path / "u"), "-B", shim_dir()], check=False)
    assert r.returncode != 0
    assert "in function 'main': undefined reference to 'missing_fn'" in r.stderr
    assert "'.L0 '" not in r.stderr and "x86_64-linux-gnu" not in r.stderr


def test_static_link_with_ld_bfd_default_script(tmp_path):
    """ld.bfd's own elf64lriscv script (-T): its __global_pointer$ expression,
    SORT(CONSTRUCTORS), ONLY_IF_RO/RW .eh_frame; the program runs."""
    text = run(["riscv64-linux-gnu-ld", "--verbose"]).stdout
    script = text.split("=" * 50)[1].strip("=\n")
    lds = write(tmp_path, "bfd.ld", script)
    src = write(tmp_path, "hello.c", HELLO)
    exe = build(tmp_path, "h", [src], ["-O2", "-static", f"-Wl,-T,{lds}"])
    assert qemu(exe) == "hello from riscv64\n"
    syms = run([READELF, "-sW", exe]).stdout
    gp = int(re.search(r"(\w+)\s+0 NOTYPE\s+GLOBAL DEFAULT\s+ABS __global_pointer\$", syms).group(1), 16)
    sdata = int(re.search(r"(\w+)\s+0 NOTYPE\s+GLOBAL DEFAULT\s+\d+ __SDATA_BEGIN__", syms).group(1), 16)
    assert gp <= sdata + 0x800


def test_relaxed_symbol_with_a_size_past_2_62(tmp_path):
    """Relaxation moves symbol values and sizes with the deleted bytes; a symbol
    whose size is past 2**62 (a broken object's) keeps that size instead of
    overflowing the size column (an internal error before), and the others still
    follow the deletions, as in ld.bfd's output."""
    from elfpatch import Elf
    src = write(tmp_path, "r.c", "int g(int x) { return x + 1; }\n"
                                 "int f(int x) { return g(x) * 2; }\n"
                                 "void _start(void) { f(1); for (;;) ; }\n")
    run([CC, "-O0", "-fno-pie", "-c", src, "-o", "r.o"], cwd=str(tmp_path))
    e = Elf((tmp_path / "r.o").read_bytes())
    e.set_sym(e.symbol("g"), "st_size", (1 << 63) + 5)
    (tmp_path / "bad.o").write_bytes(bytes(e))
    sizes = {}
    for linker in (ldpy_command(), [f"{CC[:-3]}ld.bfd"]):
        out = tmp_path / f"out.{len(sizes)}"
        r = subprocess.run([*linker, "-m", "elf64lriscv", "-o", str(out), "bad.o"], cwd=str(tmp_path),
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        rows = (l.split() for l in run([READELF, "-sW", str(out)]).stdout.splitlines())
        sizes[len(sizes)] = {r[7]: (r[1], r[2]) for r in rows if len(r) > 7 and r[7] in ("f", "g", "_start")}
    assert sizes[0]["g"][1] == "0x8000000000000005"
    assert sizes[0] == sizes[1]
