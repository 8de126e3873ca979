"""AArch64 target pieces (arch/aarch64.py) against the bytes GNU ld writes:
small aarch64-linux-gnu-as inputs are linked with aarch64-linux-gnu-ld, and
the same relocations applied to the object's bytes by ldpy's field encoders,
PLT templates, TLS relaxations and stub builder must give ld.bfd's output."""
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from ldpy.arch import aarch64 as A
from ldpy.elf.format import dtypes

AS, LD = "aarch64-linux-gnu-as", "aarch64-linux-gnu-ld"
pytestmark = pytest.mark.skipif(shutil.which(AS) is None or shutil.which(LD) is None,
                                reason="needs binutils-aarch64-linux-gnu (CI installs it)")


def run(*cmd, cwd=None, check=True):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if check and r.returncode:
        raise AssertionError(f"{' '.join(cmd)}: {r.stderr}")
    return r


def assemble(tmp, name, src):
    s = tmp / f"{name}.s"
    s.write_text(src)
    run(AS, str(s), "-o", str(tmp / f"{name}.o"))
    return tmp / f"{name}.o"


class Elf:
    """Section headers, section bytes and symbols of an ELF64 file (enough for tests)."""

    def __init__(self, path):
        self.data = np.fromfile(path, np.uint8)
        dt = dtypes(True, True)
        eh = self.data[:64].view(dt.ehdr)[0]
        self.sh = self.data[eh["e_shoff"]:eh["e_shoff"] + 64 * eh["e_shnum"]].view(dt.shdr)
        strtab = self.sh[eh["e_shstrndx"]]
        self._names = bytes(self.data[strtab["sh_offset"]:strtab["sh_offset"] + strtab["sh_size"]])
        self.names = [self._str(self._names, int(h["sh_name"])) for h in self.sh]
        self.syms = {}
        for i, h in enumerate(self.sh):
            if h["sh_type"] == 2:
                st = self.data[h["sh_offset"]:h["sh_offset"] + h["sh_size"]].view(dt.sym)
                link = self.sh[h["sh_link"]]
                strs = bytes(self.data[link["sh_offset"]:link["sh_offset"] + link["sh_size"]])
                for s in st:
                    self.syms.setdefault(self._str(strs, int(s["st_name"])),
                                         int(s["st_value"].astype(np.int64)))

    @staticmethod
    def _str(tab, off):
        return tab[off:tab.index(b"\0", off)].decode()

    def section(self, name):
        h = self.sh[self.names.index(name)]
        return int(h["sh_addr"]), self.data[h["sh_offset"]:h["sh_offset"] + h["sh_size"]].copy()


def relocs(obj, section=".text"):
    """(offset, type, symbol, addend) of a section's relocations, from readelf."""
    out, cur = [], None
    for line in run("readelf", "-rW", str(obj)).stdout.splitlines():
        m = re.match(r"Relocation section '\.rela(\S+)'", line)
        if m:
            cur = m.group(1)
            continue
        m = re.match(r"([0-9a-f]{16})\s+[0-9a-f]+\s+(R_AARCH64_\w+)\s+[0-9a-f]+\s+(\S+) ([+-]) ([0-9a-f]+)", line)
        if m and cur == section:
            add = int(m.group(5), 16) * (1 if m.group(4) == "+" else -1)
            out.append((int(m.group(1), 16), A.R[m.group(2)[10:]], m.group(3), add))
    return out


def apply_plain(obj, exe, section=".text"):
    """ldpy's encoders over the object's section bytes, with the addresses ld.bfd chose."""
    rel = relocs(obj, section)
    _, code = Elf(obj).section(section)
    e = Elf(exe)
    base, want = e.section(section)
    off = np.array([r[0] for r in rel])
    typ = np.array([r[1] for r in rel])
    S = np.array([e.section(r[2])[0] if r[2].startswith(".") else e.syms[r[2]] for r in rel])
    add = np.array([r[3] for r in rel])
    val = A.form_value(typ, S + add, base + off, 0)
    assert not A.overflows(typ, val).any()
    A.store(code, off, typ, val)
    return code, want


ENCODINGS = """
    .text
    .globl _start
_start:
    adrp x0, far_data
    add x0, x0, :lo12:far_data
    ldrb w1, [x0, :lo12:far_data]
    ldrh w1, [x0, :lo12:far_data]
    ldr w1, [x0, :lo12:far_data]
    ldr x1, [x0, :lo12:far_data]
    ldr q1, [x0, :lo12:far_data]
    adrp x2, back
    adr x3, near
    ldr x4, near
    b.ne near
    cbz x5, near
    tbz x6, #3, near
    tbnz w6, #1, _start
    bl near
    b far_code
    bl back
    movz x7, #:abs_g3:big
    movk x7, #:abs_g2_nc:big
    movk x7, #:abs_g1_nc:big
    movk x7, #:abs_g0_nc:big
    movz x8, #:abs_g0:small
    movz x8, #:abs_g1:mid
    movz x8, #:abs_g2:b48
    movz x9, #:abs_g0_s:neg
    movz x9, #:abs_g1_s:neg
    movz x9, #:abs_g2_s:neg
    movz x9, #:abs_g1_s:mid
    movz x10, #:prel_g0:near
    movz x10, #:prel_g1:back
    movk x10, #:prel_g0_nc:back
    movz x10, #:prel_g2:back
    movz x10, #:prel_g3:big
    movk x10, #:prel_g1_nc:big
    movk x10, #:prel_g2_nc:big
near:
    ret
    .p2align 3
    .xword big
    .xword near - .
    .word mid
    .word back - .
    .hword small
    .hword near - .
"""


def test_field_encoders_match_ld_bfd(tmp_path):
    obj = assemble(tmp_path, "enc", ENCODINGS)
    exe = tmp_path / "enc"
    run(LD, "-Ttext=0x10400000", "-e", "_start", "--defsym", "far_data=0xe23456a0",
        "--defsym", "back=0x9000000", "--defsym", "far_code=0x14000000", "--defsym",
        "big=0x1234567890abcdef", "--defsym", "small=0xfedc", "--defsym", "mid=0x87654321",
        "--defsym", "neg=-0x1234", "--defsym", "b48=0x123456789abc", str(obj), "-o", str(exe))
    code, want = apply_plain(obj, exe)
    assert code.tobytes() == want.tobytes()


OVERFLOW_CASES = [
    # (instruction, address of the instruction, a target that overflows, one that fits)
    (".word t", 0x1000, 0x100000000, 0xffffffff),
    (".word t", 0x1000, -1, 0),
    (".hword t-.", 0x1000, 0x1000 + 0x8000, 0x1000 + 0x7fff),
    (".word t-.", 0x1000, 0x1000 + 0x80000000, 0x1000 - 0x80000000),
    ("ldr q0, [x0, :lo12:t]", 0x1000, 0x1008, 0x1010),
    ("ldr x0, [x0, :lo12:t]", 0x1000, 0x1004, 0x1008),
    ("adr x0, t", 0x10000000, 0x10100000, 0x100fffff),
    ("ldr x0, t", 0x10000000, 0x10100000, 0x100ffffc),
    ("b.eq t", 0x10000000, 0x10000000 - 0x100004, 0x10000000 - 0x100000),
    ("tbz x0, #1, t", 0x10000000, 0x10008000, 0x10007ffc),
    ("movz x0, #:abs_g0:t", 0x1000, 0x10000, 0xffff),
    ("movz x0, #:abs_g1:t", 0x1000, 0x100000000, 0xffffffff),
    ("movz x0, #:abs_g0_s:t", 0x1000, -0x10001, -0x10000),
    ("adrp x0, t", 0x10000000, 0x10000000 + (1 << 32), 0x10000000 + (1 << 32) - 0x1000),
]


@pytest.mark.parametrize("insn,at,bad,good", OVERFLOW_CASES)
def test_overflow_checks_agree_with_ld_bfd(tmp_path, insn, at, bad, good):
    obj = assemble(tmp_path, "o", f"    .text\n    .globl _start\n_start:\n    {insn}\n")
    (_, typ, _, _), = relocs(obj)
    for t, fails in ((bad, True), (good, False)):
        r = run(LD, f"-Ttext={at:#x}", "--defsym", f"t={t:#x}" if t >= 0 else f"t=-{-t:#x}",
                str(obj), "-o", str(tmp_path / "o"), check=False)
        assert ("relocation truncated to fit" in r.stderr) == fails, (insn, hex(t), r.stderr)
        val = A.form_value(np.array([typ]), np.array([t]), np.array([at]), 0)
        assert bool(A.overflows(np.array([typ]), val)[0]) == fails, (insn, hex(t))


def test_field_text_names():
    assert A.field_text(A.CALL26) == "a signed 28-bit"
    assert A.field_text(A.ABS32) == "an unsigned 32-bit"
    assert A.field_text(A.PREL32) == "a signed 32-bit"
    assert A.field_text(A.LDST64_ABS_LO12_NC, 0x1004) == "an 8-byte aligned"
    assert A.field_text(A.TLSLE_ADD_TPREL_LO12) == "an unsigned 12-bit"
    assert A.type_name(A.TLS_TPREL64) == "R_AARCH64_TLS_TPREL64"  # (binutils' name)


LIB = """
    .text
    .globl f1, f2, f3
    .type f1,%function
    .type f2,%function
    .type f3,%function
f1: ret
f2: ret
f3: ret
    .section .tbss,"awT",@nobits
    .globl w1, w2, w3
    .type w1,%object
    .type w2,%object
    .type w3,%object
    .size w1,8
    .size w2,8
    .size w3,8
w1: .zero 8
w2: .zero 8
w3: .zero 8
"""

CALLS = """
    .text
    .globl _start
_start:
    bl f1
    bl f2
    b f3
    ret
"""


@pytest.mark.parametrize("opts,pie", [((), False), (("-z", "force-bti"), False),
                                      (("-z", "pac-plt"), False),
                                      (("-z", "force-bti", "-z", "pac-plt"), False),
                                      (("-z", "force-bti"), True),
                                      (("-z", "force-bti", "-z", "pac-plt"), True)])
def test_plt_matches_ld_bfd(tmp_path, opts, pie):
    lib = assemble(tmp_path, "lib", LIB)
    run(LD, "-shared", str(lib), "-o", str(tmp_path / "lib.so"))
    obj = assemble(tmp_path, "calls", CALLS)
    exe = tmp_path / "calls"
    run(LD, *(["-pie"] if pie else []), *opts, str(obj), str(tmp_path / "lib.so"), "-o", str(exe))
    e = Elf(exe)
    plt_addr, plt = e.section(".plt")
    gotplt, _ = e.section(".got.plt")
    bti, pac = "force-bti" in opts, "pac-plt" in opts
    hdr = A.plt_header(plt_addr, gotplt, bti=bti)
    size = A.plt_entry_size(bti, pac, pde=not pie)
    n = (len(plt) - A.PLT0_SIZE) // size
    assert n == 3
    entries = plt_addr + A.PLT0_SIZE + size * np.arange(n)
    slots = gotplt + 8 * (A.GOTPLT_RESERVED + np.arange(n))
    ours = np.concatenate([hdr, A.plt_entries(entries, slots, bti=bti, pac=pac, pde=not pie)])
    assert ours.tobytes() == plt.tobytes()


TLS_LOCAL = """
    .text
    .globl _start
_start:
    adrp x0, :tlsdesc:v1
    ldr x1, [x0, #:tlsdesc_lo12:v1]
    add x0, x0, #:tlsdesc_lo12:v1
    .tlsdesccall v1
    blr x1
    adrp x0, :tlsgd:v2
    add x0, x0, #:tlsgd_lo12:v2
    bl __tls_get_addr
    nop
    adrp x3, :gottprel:v3
    ldr x3, [x3, #:gottprel_lo12:v3]
    adrp x0, :tlsldm:v1
    add x0, x0, #:tlsldm_lo12_nc:v1
    bl __tls_get_addr
    nop
    ldr x1, :tlsdesc:v2
    adr x0, :tlsdesc:v2
    .tlsdesccall v2
    blr x1
    adr x0, :tlsgd:v3
    bl __tls_get_addr
    nop
    adr x0, :tlsldm:v1
    bl __tls_get_addr
    nop
    adrp x0, :tlsdesc:w1
    ldr x1, [x0, #:tlsdesc_lo12:w1]
    add x0, x0, #:tlsdesc_lo12:w1
    .tlsdesccall w1
    blr x1
    adrp x0, :tlsgd:w2
    add x0, x0, #:tlsgd_lo12:w2
    bl __tls_get_addr
    nop
    ldr x1, :tlsdesc:w3
    adr x0, :tlsdesc:w3
    .tlsdesccall w3
    blr x1
    ret
    .globl __tls_get_addr
__tls_get_addr: ret
    .section .tbss,"awT",@nobits
    .p2align 4
    .zero 0x1230
v1: .zero 8
v2: .zero 8
v3: .zero 8
"""


def test_tls_relaxations_match_ld_bfd(tmp_path):
    lib = assemble(tmp_path, "lib", LIB)
    run(LD, "-shared", str(lib), "-o", str(tmp_path / "lib.so"))
    obj = assemble(tmp_path, "tls", TLS_LOCAL)
    exe = tmp_path / "tls"
    run(LD, str(obj), str(tmp_path / "lib.so"), "-o", str(exe))
    e = Elf(exe)
    base, want = e.section(".text")
    _, code = Elf(obj).section(".text")
    tbss = e.sh[e.names.index(".tbss")]
    tpb = A.tp_base(int(tbss["sh_addr"]), int(tbss["sh_addralign"]))
    # the IE slots ld.bfd gave the imported variables (R_AARCH64_TLS_TPREL relocations)
    slots = {}
    for line in run("readelf", "-rW", str(exe)).stdout.splitlines():
        m = re.match(r"([0-9a-f]{16})\s+\S+\s+R_AARCH64_TLS_TPREL64\s+\S+\s+(\w+)", line)
        if m:
            slots[m.group(2)] = int(m.group(1), 16)
    rel = relocs(obj)
    off = np.array([r[0] for r in rel])
    typ = np.array([r[1] for r in rel])
    names = [r[2] for r in rel]
    imported = np.array([n.startswith("w") for n in names])
    tls = A.IS_TLS[typ]
    # (a TLS symbol's value in an executable is its offset in the TLS segment)
    tprel = np.array([e.syms.get(n, 0) + int(tbss["sh_addr"]) - tpb for n in names])
    slot = np.array([slots.get(n, 0) for n in names])
    act = A.tls_relax_actions(typ, tls & ~imported, tls & imported)
    done = A.relax_tls(code, off, act, tprel, slot, base + off)
    assert done.sum() == tls.sum()
    anchors, calls, ok = A.tls_sequence_calls(typ, off, np.zeros(len(typ), np.int64))
    assert ok.all() and len(anchors) == 5
    w1, w2 = A.tls_call_words(typ[anchors], ~imported[anchors], tprel[anchors])
    A.write32(code, off[calls], w1)
    A.write32(code, off[calls] + 4, w2)
    # the rest (the call to the local __tls_get_addr is gone) are plain relocations
    rest = np.flatnonzero(~tls & ~np.isin(np.arange(len(typ)), calls))
    assert len(rest) == 0
    assert code.tobytes() == want.tobytes()


FAR1 = """
    .text
    .globl _start
    .type _start,%function
_start:
    bl far
    b far
    bl near
    bl far2
    ret
    .type near,%function
near: ret
"""
FAR2 = """
    .text
    .globl far, far2
    .type far,%function
    .type far2,%function
far:
    bl _start
far2:
    ret
"""


def test_stubs_match_ld_bfd(tmp_path):
    """A branch beyond +-128 MiB goes through a stub after its group's last section."""
    o1, o2 = assemble(tmp_path, "far1", FAR1), assemble(tmp_path, "far2", FAR2)
    script = tmp_path / "far.ld"
    script.write_text("SECTIONS { . = 0x400000; .text : { far1.o(.text) . += 0x8000000; "
                      "far2.o(.text) } }\n")
    exe = tmp_path / "far"
    run(LD, "-T", str(script), "far1.o", "far2.o", "-o", str(exe), cwd=str(tmp_path))
    e = Elf(exe)
    base, text = e.section(".text")
    # the input sections: far1 (0x18 bytes), the gap, far2 -- grouped as ld.bfd does
    starts, ends = np.array([0, 0x8000000]), np.array([0x18, 0x8000008])
    link = A.group_sections(starts, ends)
    assert list(link) == [0, 1]
    # far1's stubs follow it at the next 8-byte boundary: one per distinct target
    stub_sec = base + 0x18
    targets = np.array([e.syms["far"], e.syms["far2"]])
    code = A.stub_code(stub_sec, targets)
    assert len(code) == A.stub_section_size(2) == 8 + 2 * 24
    assert text[0x18:0x18 + len(code)].tobytes() == code.tobytes()
    addrs, kinds = A.stub_layout(stub_sec, targets)
    assert list(kinds) == [0, 0]
    assert e.syms["__far_veneer"] == addrs[0] and e.syms["__far2_veneer"] == addrs[1]
    # far2's group has its own stub back to _start
    assert e.syms["___start_veneer"] > e.syms["far2"]
    # which branches need a stub: out of range ones, one stub per (group, target)
    need, rows = A.plan_stubs(link[[0, 0, 0, 0]], base + np.array([0, 4, 8, 12]),
                              np.array([e.syms["far"]] * 2 + [base + 0x14, e.syms["far2"]]),
                              np.array([1, 1, 2, 3]), np.zeros(4, np.int64))
    assert list(need) == [True, True, False, True] and rows.tolist() == [[0, 1, 0], [0, 3, 0]]


def test_long_stub_and_group_sizes():
    code = A.stub_code(0x1000, np.array([0x7_0000_0000]))
    w = code.view("<u4")
    assert w[0] == 0x14000000 | (32 >> 2) and w[1] == A.NOP
    assert list(w[2:6]) == [0x58000090, 0x10000011, 0x8b110210, 0xd61f0200]
    assert int(code[24:32].view("<i8")[0]) == 0x7_0000_0000 - 0x100c
    # groups: sections join while they end < 127 MiB from the group's start, then
    # the sections ending < 127 MiB past the stubs use them too
    mb = 1 << 20
    starts = np.array([0, 60, 120, 200, 330, 400]) * mb
    assert list(A.group_sections(starts, starts + 50 * mb)) == [1, 1, 1, 3, 5, 5]
    assert list(A.group_sections(starts, starts + 50 * mb, stubs_always_after_branch=True)) == \
        [1, 1, 2, 3, 5, 5]


ERRATUM = """
    .text
    .globl _start
_start:
    .rept 0xff8 / 4
    nop
    .endr
    adrp x0, data
    str x1, [x2]
    ldr x3, [x0, :lo12:data]
    ret
    .data
data: .xword 1
"""


def test_erratum_843419_scan(tmp_path):
    obj = assemble(tmp_path, "e", ERRATUM)
    exe = tmp_path / "e"
    run(LD, "-Ttext=0x400000", "--fix-cortex-a53-843419", str(obj), "-o", str(exe))
    e = Elf(exe)
    base, text = e.section(".text")
    words = text[:len(text) // 4 * 4].view("<u4")
    _, orig = Elf(obj).section(".text")
    ow = orig.view("<u4")
    sites, ven = A.erratum_843419_sites(ow, base + 4 * np.arange(len(ow)))
    assert list(sites) == [0xff8 // 4] and list(ven) == [0xff8 // 4 + 2]
    # data lies within ADR's reach: ld.bfd turns the ADRP into ADR (and keeps the load)
    ok, adr = A.adrp_to_adr(ow[sites], base + 4 * sites, np.array([e.syms["data"]]))
    assert ok[0] and words[0xff8 // 4] == adr[0]
    assert int(words[0xff8 // 4 + 2]) & ~0x3ffc00 == int(ow[0xff8 // 4 + 2]) & ~0x3ffc00
    # no sequence where the ADRP is not in the last two words of a page
    sites, _ = A.erratum_843419_sites(ow, 0x400 + base + 4 * np.arange(len(ow)))
    assert len(sites) == 0
