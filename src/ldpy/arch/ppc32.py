"""32-bit PowerPC (big-endian, SysV ABI / Power Architecture 32-bit ABI
Supplement): ELF32, big-endian, RELA relocations.

Instructions are 4 bytes, big-endian.  A 16-bit relocation (ADDR16_LO, GOT16,
TPREL16_HA, ...) patches the low half of an instruction, two bytes past its
start; its value is stored as the low half (`@l`), the high half (`@h`) or the
high half adjusted for the sign of the low one (`@ha`).  Branches keep their
opcode and flag bits: REL24/PLTREL24/LOCAL24PC fill bits 6-29 of `b`/`bl`,
REL14 bits 16-29 of `bc`.

The GOT: ld.bfd puts the slots first and a three-word header after them;
_GLOBAL_OFFSET_TABLE_ is the header (word 0: _DYNAMIC) so that 16-bit signed
offsets from it reach the slots (Target.GOT_TRAILER; past 32 KiB of slots the
header stays 32 KiB in and the rest follow it).  -fpic code loads the GOT
address with `bcl 20,31; mflr; addis/addi` (REL16_HA/LO against
_GLOBAL_OFFSET_TABLE_) and reads slots with GOT16; -fPIC code addresses its
.got2 table instead (an ordinary input section of ADDR32 words), and its calls
carry PLTREL24 with the addend 0x8000 that names .got2+0x8000 as the PLT
stub's base: the branch itself ignores the addend.

TLS is variant I: r2 (the thread pointer) points 0x7000 past the start of the
TLS block (the TCB precedes it); DTP-relative offsets are biased by 0x8000.
Executables relax general-dynamic and local-dynamic sequences to initial-exec
or local-exec, and initial-exec to local-exec, as ld.bfd's elf32-ppc does:

    addi 3,30,x@got@tlsgd   -> addis 3,2,x@tprel@ha   | lwz 3,x@got@tprel(30)
    bl __tls_get_addr(x@tlsgd) -> addi 3,3,x@tprel@l  | add 3,3,2
    lwz 9,x@got@tprel(30)   -> addis 9,2,x@tprel@ha
    add 9,9,x@tls           -> addi 9,9,x@tprel@l

Dynamic outputs use ld.bfd's secure PLT (see plt_code): JMP_SLOT words in a
writable .plt, call stubs and __glink at the end of .text, DT_PPC_GOT.  The stubs
of a PIE or shared object find their slot from the PC, one per function (ld.bfd's
address it from the caller's r30: one per function and .got2).  IFUNCs get a stub
and a slot like an import, filled by IRELATIVE (in .rela.dyn).  -fno-plt code
calls through the slot itself (PLT16_HA/LO, PLTSEQ, PLTCALL: see _inline_plt).  Branches
out of reach go through trampolines at the end of their section (add_long_branch_stubs).
Not linked yet (refused with "not supported yet"): the old BSS PLT (--bss-plt), the
embedded ABI's relocations
(EMB_*, SDA21), GOT_DTPREL16; calls go to __tls_get_addr where ld.bfd picks
__tls_get_addr_opt (DT_PPC_OPT).
"""
import numpy as np

from ldpy.diag import LinkError
from ldpy.util import isin
from ldpy.elf.format import EM_PPC
from ldpy.arch.base import (Target, register, K_NONE, K_ABS, K_PLT, K_GOT, K_TPOFF, K_DTPOFF,
                            K_TLS_GD, K_TLS_LD, K_TLS_IE, B_NONE, B_P, B_GOT, C_NONE)

_TYPES = """
NONE 0 ADDR32 1 ADDR24 2 ADDR16 3 ADDR16_LO 4 ADDR16_HI 5 ADDR16_HA 6 ADDR14 7
ADDR14_BRTAKEN 8 ADDR14_BRNTAKEN 9 REL24 10 REL14 11 REL14_BRTAKEN 12 REL14_BRNTAKEN 13
GOT16 14 GOT16_LO 15 GOT16_HI 16 GOT16_HA 17 PLTREL24 18 COPY 19 GLOB_DAT 20 JMP_SLOT 21
RELATIVE 22 LOCAL24PC 23 UADDR32 24 UADDR16 25 REL32 26 PLT32 27 PLTREL32 28
PLT16_LO 29 PLT16_HI 30 PLT16_HA 31 SDAREL16 32 SECTOFF 33 SECTOFF_LO 34 SECTOFF_HI 35
SECTOFF_HA 36 ADDR30 37
TLS 67 DTPMOD32 68 TPREL16 69 TPREL16_LO 70 TPREL16_HI 71 TPREL16_HA 72 TPREL32 73
DTPREL16 74 DTPREL16_LO 75 DTPREL16_HI 76 DTPREL16_HA 77 DTPREL32 78
GOT_TLSGD16 79 GOT_TLSGD16_LO 80 GOT_TLSGD16_HI 81 GOT_TLSGD16_HA 82
GOT_TLSLD16 83 GOT_TLSLD16_LO 84 GOT_TLSLD16_HI 85 GOT_TLSLD16_HA 86
GOT_TPREL16 87 GOT_TPREL16_LO 88 GOT_TPREL16_HI 89 GOT_TPREL16_HA 90
GOT_DTPREL16 91 GOT_DTPREL16_LO 92 GOT_DTPREL16_HI 93 GOT_DTPREL16_HA 94
TLSGD 95 TLSLD 96
PLTSEQ 119 PLTCALL 120
EMB_NADDR32 101 EMB_NADDR16 102 EMB_NADDR16_LO 103 EMB_NADDR16_HI 104 EMB_NADDR16_HA 105
EMB_SDAI16 106 EMB_SDA2I16 107 EMB_SDA2REL 108 EMB_SDA21 109 EMB_MRKREF 110 EMB_RELSEC16 111
EMB_RELST_LO 112 EMB_RELST_HI 113 EMB_RELST_HA 114 EMB_BIT_FLD 115 EMB_RELSDA 116
IRELATIVE 248 REL16 249 REL16_LO 250 REL16_HI 251 REL16_HA 252
"""
_words = _TYPES.split()
R = {_words[i]: int(_words[i + 1]) for i in range(0, len(_words), 2)}
globals().update(R)                                 # ADDR32, REL24, ... as module names
NTYPES = 256

TP_OFFSET = 0x7000          # r2 = start of the TLS block + 0x7000
DTP_OFFSET = 0x8000         # DTP-relative offsets are biased by 0x8000
NOP = 0x60000000            # ori 0,0,0
ADD_3_3_2 = 0x7c631214      # add 3,3,2
ADDI_3_3 = 0x38630000       # addi 3,3,0
ADDI_3_2 = 0x38620000       # addi 3,2,0
ADDIS_R_2 = 0x3c020000      # addis 0,2,0
LWZ = 32 << 26
RT_MASK, RA_MASK = 0x1f << 21, 0x1f << 16

# how the value is stored
(E_NONE, E_W32, E_W16, E_LO, E_HI, E_HA, E_B24, E_B14) = range(8)
# ranges checked (inclusive); None: the field wraps (BFD's complain_overflow_dont)
S16 = (-(1 << 15), (1 << 15) - 1)
BITFIELD16 = (-(1 << 15), (1 << 16) - 1)          # ADDR16: signed or unsigned 16 bits
S26 = (-(1 << 25), (1 << 25) - 1)                 # b/bl: +-32 MiB
BITFIELD26 = (-(1 << 25), (1 << 26) - 1)

# name: (kind, base, encoding, range)
_SPEC = {
    "NONE": (K_NONE, B_NONE, E_NONE, None),
    "ADDR32": (K_ABS, B_NONE, E_W32, None), "UADDR32": (K_ABS, B_NONE, E_W32, None),
    "ADDR24": (K_ABS, B_NONE, E_B24, BITFIELD26),
    "ADDR16": (K_ABS, B_NONE, E_W16, BITFIELD16), "UADDR16": (K_ABS, B_NONE, E_W16, BITFIELD16),
    "ADDR16_LO": (K_ABS, B_NONE, E_LO, None), "ADDR16_HI": (K_ABS, B_NONE, E_HI, None),
    "ADDR16_HA": (K_ABS, B_NONE, E_HA, None),
    "ADDR14": (K_ABS, B_NONE, E_B14, BITFIELD16),
    "REL24": (K_PLT, B_P, E_B24, S26), "PLTREL24": (K_PLT, B_P, E_B24, S26),
    "LOCAL24PC": (K_PLT, B_P, E_B24, S26),
    "REL14": (K_PLT, B_P, E_B14, S16),
    "REL32": (K_ABS, B_P, E_W32, None),
    "REL16": (K_ABS, B_P, E_W16, S16), "REL16_LO": (K_ABS, B_P, E_LO, None),
    "REL16_HI": (K_ABS, B_P, E_HI, None), "REL16_HA": (K_ABS, B_P, E_HA, None),
    # -msdata=sysv: lwz r,x@sdarel(r13), from _SDA_BASE_
    "SDAREL16": (K_ABS, B_NONE, E_W16, S16),
    "GOT16": (K_GOT, B_GOT, E_W16, S16), "GOT16_LO": (K_GOT, B_GOT, E_LO, None),
    "GOT16_HI": (K_GOT, B_GOT, E_HI, None), "GOT16_HA": (K_GOT, B_GOT, E_HA, None),
    "TPREL16": (K_TPOFF, B_NONE, E_W16, S16), "TPREL16_LO": (K_TPOFF, B_NONE, E_LO, None),
    "TPREL16_HI": (K_TPOFF, B_NONE, E_HI, None), "TPREL16_HA": (K_TPOFF, B_NONE, E_HA, None),
    "TPREL32": (K_TPOFF, B_NONE, E_W32, None),
    "DTPREL16": (K_DTPOFF, B_NONE, E_W16, S16), "DTPREL16_LO": (K_DTPOFF, B_NONE, E_LO, None),
    "DTPREL16_HI": (K_DTPOFF, B_NONE, E_HI, None), "DTPREL16_HA": (K_DTPOFF, B_NONE, E_HA, None),
    "DTPREL32": (K_DTPOFF, B_NONE, E_W32, None),
    "GOT_TLSGD16": (K_TLS_GD, B_GOT, E_W16, S16), "GOT_TLSGD16_LO": (K_TLS_GD, B_GOT, E_LO, None),
    "GOT_TLSGD16_HI": (K_TLS_GD, B_GOT, E_HI, None), "GOT_TLSGD16_HA": (K_TLS_GD, B_GOT, E_HA, None),
    "GOT_TLSLD16": (K_TLS_LD, B_GOT, E_W16, S16), "GOT_TLSLD16_LO": (K_TLS_LD, B_GOT, E_LO, None),
    "GOT_TLSLD16_HI": (K_TLS_LD, B_GOT, E_HI, None), "GOT_TLSLD16_HA": (K_TLS_LD, B_GOT, E_HA, None),
    "GOT_TPREL16": (K_TLS_IE, B_GOT, E_W16, S16), "GOT_TPREL16_LO": (K_TLS_IE, B_GOT, E_LO, None),
    "GOT_TPREL16_HI": (K_TLS_IE, B_GOT, E_HI, None), "GOT_TPREL16_HA": (K_TLS_IE, B_GOT, E_HA, None),
    # markers on the instructions of a TLS sequence: nothing stored unless relaxed
    "TLS": (K_NONE, B_NONE, E_NONE, None), "TLSGD": (K_NONE, B_NONE, E_NONE, None),
    "TLSLD": (K_NONE, B_NONE, E_NONE, None),
    # -fno-plt's inline PLT call: addis r11,r30,f@plt@ha; lwz r11,f@plt@l(r11)
    # (PLT16_HA/LO: the function's .plt slot from r30); mtctr r11 (PLTSEQ); bctrl
    # (PLTCALL).  Functions that need no slot get a direct bl (see _inline_plt)
    "PLT16_LO": (K_PLT, B_NONE, E_LO, None), "PLT16_HI": (K_PLT, B_NONE, E_HI, None),
    "PLT16_HA": (K_PLT, B_NONE, E_HA, None),
    "PLTSEQ": (K_NONE, B_NONE, E_NONE, None), "PLTCALL": (K_NONE, B_NONE, E_NONE, None),
}
_DYNAMIC_ONLY = ("COPY", "GLOB_DAT", "JMP_SLOT", "RELATIVE", "DTPMOD32", "IRELATIVE")
# known, not linked yet: refused by name ("unsupported relocation R_PPC_...")
_NOT_YET = ("ADDR14_BRTAKEN", "ADDR14_BRNTAKEN", "REL14_BRTAKEN", "REL14_BRNTAKEN", "PLT32", "PLTREL32",
            "SECTOFF", "SECTOFF_LO", "SECTOFF_HI", "SECTOFF_HA",
            "ADDR30", "GOT_DTPREL16", "GOT_DTPREL16_LO", "GOT_DTPREL16_HI", "GOT_DTPREL16_HA") + \
    tuple(n for n in R if n.startswith("EMB_"))
_WIDTH = {E_NONE: 0, E_W32: 4, E_W16: 2, E_LO: 2, E_HI: 2, E_HA: 2, E_B24: 4, E_B14: 4}


def _table(values, default=0, dtype=np.int64):
    t = np.full(NTYPES, default, dtype)
    for k, v in values.items():
        t[R[k]] = v
    return t


ENC = _table({n: s[2] for n, s in _SPEC.items()})
HAS_RANGE = _table({n: 1 for n, s in _SPEC.items() if s[3]}, 0, bool)
LO = _table({n: s[3][0] for n, s in _SPEC.items() if s[3]}, -(1 << 62))
HI = _table({n: s[3][1] for n, s in _SPEC.items() if s[3]}, 1 << 62)
# which half of the instruction a 16-bit GOT/TLS field form addresses: the plain
# and _LO forms sit in the instruction that uses the value, _HI/_HA in an addis
IS_HIGH = np.isin(ENC, (E_HI, E_HA))


def read32(out, pos):
    return out[np.asarray(pos, np.int64)[:, None] + np.arange(4)].astype(np.int64) @ \
        np.array([1 << 24, 1 << 16, 1 << 8, 1], np.int64)


def write32(out, pos, words):
    if len(pos):
        out[np.asarray(pos, np.int64)[:, None] + np.arange(4)] = \
            np.asarray(words, np.int64).astype(">u4").view(np.uint8).reshape(-1, 4)


def half(enc, val):
    """The 16 bits a field of encoding `enc` holds for the value."""
    val = np.asarray(val, np.int64)
    return np.select([enc == E_HI, enc == E_HA], [val >> 16, (val + 0x8000) >> 16], val) & 0xffff


def _small_data_base(ctx, name, after):
    """0x8000 past the start of the small-data output section, or of where it would
    be (the symbol the default script sets right after it)."""
    o = ctx.outputs.by_name.get(name)
    if o is not None and o.index:
        return o.addr + 0x8000
    sym = ctx.symtab.get(after)
    return (sym.value if sym is not None else 0) + 0x8000


def _short(tprel):
    """TP offsets a single addi from r2 reaches."""
    return (tprel + 0x8000 >= 0) & (tprel + 0x8000 < 0x10000)


def at_tls_transform(insn):
    """The instruction carrying an `x@tls` operand (its RB is r2, the thread
    pointer) made a D-form with a 16-bit immediate: add -> addi, and the
    X-form loads and stores (lwzx -> lwz, stbx -> stb, ...).  0 where the
    instruction has no such form (ld.bfd's _bfd_elf_ppc_at_tls_transform)."""
    insn = np.asarray(insn, np.int64)
    x_form = (insn >> 26) == 31
    rb2 = ((insn >> 11) & 0x1f) == 2
    xo = (insn >> 1) & 0x3ff
    sub = (insn >> 6) & 0x1f
    ldst = ((insn >> 1) & 0x1f) == 23
    ldst &= (sub < 14) | ((sub >= 16) & (sub < 24))
    new = np.where(xo == 266, 14 << 26, np.where(ldst, (32 | sub) << 26, 0))
    ok = x_form & rb2 & (new != 0)
    return np.where(ok, new | (insn & (RT_MASK | RA_MASK)), 0)


# -- the secure PLT --------------------------------------------------------------
# .plt holds one word per imported function (JMP_SLOT), first the address of its
# __glink entry.  A call reaches the function through a stub at the end of .text:
#   non-PIC:  lis r11,slot@ha; lwz r11,slot@l(r11); mtctr r11; bctr
#   PIC:      mflr r0; bcl 20,31,1f; 1: mflr r11; mtlr r0;
#             addis r11,r11,(slot-1b)@ha; lwz r11,(slot-1b)@l(r11); mtctr r11; bctr
# __glink: one nop per slot (an unresolved slot's target; r11 holds its address),
# falling through to __glink_PLTresolve, which gives ld.so's resolver (GOT[2]) the
# link map (GOT[1], in r12) and the JMP_SLOT's offset in .rela.plt (r11 = 12 *
# entry index).
STUB_SIZE, PIC_STUB_SIZE, RESOLVE_SIZE = 16, 32, 64
DT_PPC_GOT = 0x70000000
MTCTR_R11, BCTR, MFLR_R0, MTLR_R0, BCL_NEXT = 0x7d6903a6, 0x4e800420, 0x7c0802a6, 0x7c0803a6, 0x429f0005


def glink_size(n):
    """__glink's n entries, aligned to 16, then the resolver."""
    return (4 * n + 15) // 16 * 16 + RESOLVE_SIZE


def _ha(v):
    return ((np.asarray(v, np.int64) + 0x8000) >> 16) & 0xffff


def _lo(v):
    return np.asarray(v, np.int64) & 0xffff


def stub_words(slots, stub, pic):
    """The call stubs at addresses `stub` jumping through the words at `slots`."""
    n = len(slots)
    if pic:
        rel = slots - (stub + 8)
        return np.stack([np.full(n, MFLR_R0), np.full(n, BCL_NEXT), np.full(n, 0x7d6802a6),
                         np.full(n, MTLR_R0), 0x3d6b0000 | _ha(rel), 0x816b0000 | _lo(rel),
                         np.full(n, MTCTR_R11), np.full(n, BCTR)], axis=1).reshape(-1)
    return np.stack([0x3d600000 | _ha(slots), 0x816b0000 | _lo(slots), np.full(n, MTCTR_R11),
                     np.full(n, BCTR)], axis=1).reshape(-1)


def plt_code(plt_addr, slots, n, got, pic):
    """The stubs of the n functions (their .plt slots), __glink and
    __glink_PLTresolve, as bytes."""
    size = PIC_STUB_SIZE if pic else STUB_SIZE
    stub = plt_addr + size * np.arange(n, dtype=np.int64)
    words = stub_words(slots, stub, pic)
    glink = plt_addr + size * n
    resolve = glink + glink_size(n) - RESOLVE_SIZE
    nops = np.full((resolve - glink) // 4, NOP)
    if pic:
        here = resolve + 12                 # (the bcl's return address)
        g = got + 4 - here
        if _ha(g) != _ha(g + 4):
            raise LinkError("powerpc: the GOT header straddles a 64 KiB boundary in __glink_PLTresolve: "
                            "not supported yet (arch/ppc32.py)")
        tail = [0x3d6b0000 | _ha(here - glink), MFLR_R0, BCL_NEXT, 0x396b0000 | _lo(here - glink),
                0x7d8802a6, MTLR_R0, 0x7d6c5850, 0x3d8c0000 | _ha(g), 0x800c0000 | _lo(g),
                0x818c0000 | _lo(g + 4), 0x7c0903a6, 0x7c0b5a14, 0x7d605a14, BCTR, NOP, NOP]
    else:
        if _ha(got + 4) != _ha(got + 8):
            raise LinkError("powerpc: the GOT header straddles a 64 KiB boundary in __glink_PLTresolve: "
                            "not supported yet (arch/ppc32.py)")
        tail = [0x3d800000 | _ha(got + 4), 0x3d6b0000 | _ha(-glink), 0x800c0000 | _lo(got + 4),
                0x396b0000 | _lo(-glink), 0x7c0903a6, 0x7c0b5a14, 0x818c0000 | _lo(got + 8),
                0x7d605a14, BCTR] + [NOP] * 7
    all_words = np.concatenate([words, nops, np.array([int(w) for w in tail], np.int64)])
    return all_words.astype(">u4").view(np.uint8)


INLINE_PLT_HALVES = (PLT16_LO, PLT16_HI, PLT16_HA)

# -- unwind information for the PLT code ------------------------------------------
# ld.bfd describes .glink (the call stubs, __glink, __glink_PLTresolve) or a static
# program's IFUNC stubs with one FDE of its own CIE at the start of .eh_frame
# (GCC's CIE: "zR", code alignment 4, data alignment -4, return address r65 (LR),
# pc-relative sdata4 pointers, CFA = r1).  Where the code keeps LR in r0 (the
# PIC resolver's mflr r0 ... mtlr r0; here also each PIC call stub's), the FDE
# says so: DW_CFA_register r65 r0 after the mflr, DW_CFA_restore_extended r65
# after the mtlr.  ld.bfd merges the CIE with an identical input one; ldpy keeps it.
GLINK_CIE = bytes.fromhex("00000010" "00000000" "017a5200" "047c4101" "1b0c0100")
DW_CFA_ADVANCE_LOC, DW_CFA_ADVANCE_LOC1, DW_CFA_ADVANCE_LOC2 = 0x40, 0x02, 0x03
DW_CFA_REGISTER_LR_R0, DW_CFA_RESTORE_EXTENDED_LR = b"\x09\x41\x00", b"\x06\x41"


def _cfa_advance(units):
    if units < 0x40:
        return bytes([DW_CFA_ADVANCE_LOC | units])
    if units < 0x100:
        return bytes([DW_CFA_ADVANCE_LOC1, units])
    return bytes([DW_CFA_ADVANCE_LOC2]) + units.to_bytes(2, "big")


def glink_lr_ranges(n_stubs, pic):
    """Offsets in .glink where LR is in r0: [from, to) pairs (the PIC call stubs'
    mflr r0 ... mtlr r0, then the PIC resolver's)."""
    if not pic:
        return []
    pairs = [(PIC_STUB_SIZE * i + 4, PIC_STUB_SIZE * i + 16) for i in range(n_stubs)]
    resolve = PIC_STUB_SIZE * n_stubs + glink_size(n_stubs) - RESOLVE_SIZE
    return pairs + [(resolve + 8, resolve + 24)]


def glink_fde_program(lr_ranges):
    """The call frame instructions of the FDE: where LR moves to r0 and back."""
    out, at = b"", 0
    for start, end in lr_ranges:
        out += _cfa_advance((start - at) // 4) + DW_CFA_REGISTER_LR_R0 + \
            _cfa_advance((end - start) // 4) + DW_CFA_RESTORE_EXTENDED_LR
        at = end
    return out


def glink_unwind(ctx):
    """Target.plt_unwind: the CIE and the FDE of the PLT code (.glink, or a static
    program's IFUNC stubs)."""
    plt = ctx.plt if ctx.plt is not None and ctx.plt.size else \
        ctx.iplt if ctx.iplt is not None and len(ctx.iplt) and ctx.iplt.size else None
    if plt is None:
        return None
    pic = bool(ctx.config.pie or ctx.config.shared)
    n = len(plt.keys) + len(ctx.iplt) if plt is ctx.plt else 0
    return GLINK_CIE, [(plt, glink_fde_program(glink_lr_ranges(n, pic)))]


# -- long-branch stubs ---------------------------------------------------------
# ld.bfd (elf32-ppc's relax_section) gives a branch whose destination is out of
# reach (bl/b: +-32 MiB, bc: +-32 KiB) a trampoline at the end of the branch's
# own input section, one per destination and section, which a later branch of
# that section to the same place shares:
#   lis r12,dest@ha; addi r12,r12,dest@l; mtctr r12; bctr
# or, in a PIE or shared object, from the PC (bcl's return address is stub+8):
#   mflr r0; bcl 20,31,1f; 1: mflr r12; addis r12,r12,(dest-1b)@ha;
#   addi r12,r12,(dest-1b)@l; mtlr r0; mtctr r12; bctr
# A call through the PLT goes to its call stub in .glink.  Code of .init and
# .fini is pasted together from several objects: there a branch over the
# trampolines comes first.  ld.bfd does this only with --relax, or when the
# code spans more than 32 MiB (and never with --no-relax); a branch within its
# own section, or one that cannot reach its section's end, gets no stub.
LONG_BRANCH_TYPES = (REL24, LOCAL24PC, PLTREL24, REL14)
LONG_STUB_SIZE, PIC_LONG_STUB_SIZE = 16, 32
PASTED_OUTPUTS = (".init", ".fini")
B_INSN = 0x48000000


def branch_reach(types):
    """Bytes a branch of each type reaches either way (+-)."""
    return np.where(np.asarray(types) == REL14, 1 << 15, 1 << 25)


def in_reach(delta, reach):
    return (delta >= -reach) & (delta < reach)


def long_branch_words(stubs, dest, pic):
    """The trampolines at addresses `stubs` going to `dest`, as instruction words."""
    n = len(stubs)
    if pic:
        rel = dest - (stubs + 8)
        return np.stack([np.full(n, MFLR_R0), np.full(n, BCL_NEXT), np.full(n, 0x7d8802a6),
                         0x3d8c0000 | _ha(rel), 0x398c0000 | _lo(rel), np.full(n, MTLR_R0),
                         np.full(n, 0x7d8903a6), np.full(n, BCTR)], axis=1).reshape(-1)
    return np.stack([0x3d800000 | _ha(dest), 0x398c0000 | _lo(dest), np.full(n, 0x7d8903a6),
                     np.full(n, BCTR)], axis=1).reshape(-1)


def stub_key(ordinal, dest):
    """One int64 per (input section ordinal, 32-bit destination): the lookup key of
    a section's trampoline to that place."""
    return (np.asarray(ordinal, np.int64) << 32) | (np.asarray(dest, np.int64) & 0xffffffff)


def _stub_section_class():
    from ldpy.synthetic import Synthetic
    from ldpy.elf.format import SHF_ALLOC, SHF_EXECINSTR

    class LongBranchStubs(Synthetic):
        """The trampolines of one input section, right after it (where ld.bfd
        grows the section)."""

        def __init__(self, after, ordinal, pic):
            super().__init__(after.name + ".long_branch", flags=SHF_ALLOC | SHF_EXECINSTR, align=4)
            self.after, self.ordinal, self.pic = after, ordinal, pic
            self.header = 4 if after.output.name in PASTED_OUTPUTS else 0
            self.rows = []              # each trampoline's first branch (a table row)
            self.dest = np.zeros(0, np.int64)      # their destinations (once laid out)
            self.data = np.zeros(0, np.uint8)      # (not None: the writer asks bytes() for it)

        @property
        def stub_size(self):
            return PIC_LONG_STUB_SIZE if self.pic else LONG_STUB_SIZE

        def resize(self):
            self.size = self.header + self.stub_size * len(self.rows)

        def stub_addresses(self):
            return self.addr + self.header + self.stub_size * np.arange(len(self.rows), dtype=np.int64)

        def bytes(self):
            words = long_branch_words(self.stub_addresses(), self.dest, self.pic)
            if self.header:
                words = np.concatenate([[B_INSN | self.size], words])
            return np.asarray(words, np.int64).astype(">u4").view(np.uint8)

    return LongBranchStubs


def _code_span(ctx):
    from ldpy.elf.format import SHF_ALLOC, SHF_EXECINSTR
    code = [o for o in ctx.outputs.sorted() if o.flags & SHF_ALLOC and o.flags & SHF_EXECINSTR
            and o.size and o.index]
    if not code:
        return 0
    return max(o.addr + o.size for o in code) - min(o.addr for o in code)


def long_branch_destinations(ctx, rt, rows):
    """Where the branches `rows` go (a PLTREL24's addend names .got2, not an offset)."""
    from ldpy.reloc_policy import branch_destinations
    dest = branch_destinations(ctx, rt, rows)
    m = rt.type[rows] == PLTREL24
    dest[m] -= rt.addend[rows[m]]
    return dest


def add_long_branch_stubs(ctx, relayout, max_rounds=16):
    """Trampolines for the branches out of reach (see above): find them on the
    laid-out link, give each section the trampolines it lacks, lay out again
    until no new one is needed (they are never removed, as in ld.bfd).  Leaves
    ctx.stub_sections for relax() and the writer."""
    from ldpy.driver import assign_symbol_values
    from ldpy.elf.format import SHF_EXECINSTR
    from ldpy.synthetic import insert_after
    ctx.stub_sections = []
    rt, cfg = ctx.relocs, ctx.config
    if rt is None or rt.empty or cfg.relax is False:
        return
    if cfg.relax is None and _code_span(ctx) <= (1 << 25) - 1:
        return
    br = np.flatnonzero(isin(rt.type, LONG_BRANCH_TYPES) & rt.alloc & ~rt.plan.skip)
    tls = ctx.target.relaxed_tls_calls(ctx, rt)
    if tls is not None:
        br = br[~tls[br]]               # (rewritten: they call nothing)
    # branches to nothing (an undefined weak function without a PLT entry) stay
    br = br[ctx.keys.defined[rt.key[br]] | rt.plan.plt_call[br]]
    # only in code sections of 4 bytes or more (ld.bfd)
    secs = rt.sections
    code_ords = np.unique(rt.sec_ordinal[br])
    sec_size = np.zeros(len(secs), np.int64)
    sec_size[code_ords] = np.fromiter((secs[o].size if secs[o].flags & SHF_EXECINSTR else 0
                                       for o in code_ords.tolist()), np.int64, len(code_ords))
    br = br[sec_size[rt.sec_ordinal[br]] >= 4]
    if not len(br):
        return
    ords = rt.sec_ordinal[br].astype(np.int64)
    size = sec_size[ords]
    reach = branch_reach(rt.type[br])
    pic = bool(cfg.pie or cfg.shared)
    Stubs = _stub_section_class()
    by_ordinal = {}
    for _ in range(max_rounds):
        rt.start_places()
        assign_symbol_values(ctx)
        base = rt.base_addr[ords]
        P = base + rt.offset[br]
        dest = long_branch_destinations(ctx, rt, br)
        inside = (dest >= base) & (dest < base + size)
        idx = np.flatnonzero(~in_reach(dest - P, reach) & ~inside)
        keys = stub_key(ords[idx], dest[idx])
        if by_ordinal and len(idx):
            # (the trampolines the sections have already serve them)
            rows = np.concatenate([np.array(s.rows, np.int64) for s in by_ordinal.values()])
            have = stub_key(rt.sec_ordinal[rows], long_branch_destinations(ctx, rt, rows))
            idx, keys = idx[~isin(keys, have)], keys[~isin(keys, have)]
        if not len(idx):
            break
        # one new trampoline per (section, destination), in the order of the branches
        _, first = np.unique(keys, return_index=True)
        changed = False
        for i in idx[np.sort(first)].tolist():
            o = int(ords[i])
            sec = by_ordinal.get(o) or Stubs(secs[o], o, pic)
            # (the trampolines follow the section: a branch reaches them only forward)
            at = (int(size[i]) + 3 & ~3) + sec.header + sec.stub_size * len(sec.rows)
            if at - int(rt.offset[br[i]]) >= int(reach[i]):
                continue                # (out of reach: reported as an overflow)
            if o not in by_ordinal:
                by_ordinal[o] = sec
                insert_after(secs[o], sec)
                ctx.stub_sections.append(sec)
            sec.rows.append(int(br[i]))
            sec.resize()
            changed = True
        if not changed:
            break
        relayout()
    if ctx.stub_sections:
        assign_symbol_values(ctx)
        for sec in ctx.stub_sections:
            sec.dest = long_branch_destinations(ctx, rt, np.array(sec.rows, np.int64))


def redirect_long_branches(ctx, rt, idx, val):
    """Branches idx (rows of the block rt, their values `val` = destination - P)
    that are out of reach go to their section's trampoline to that destination,
    when it has one they reach."""
    reach = branch_reach(rt.type[idx])
    far = ~in_reach(val[idx], reach)
    if not far.any():
        return
    idx, reach = idx[far], reach[far]
    P = rt.P[idx]
    stubs = ctx.stub_sections
    table = np.concatenate([stub_key(np.full(len(s.rows), s.ordinal), s.dest) for s in stubs])
    addrs = np.concatenate([s.stub_addresses() for s in stubs])
    order = np.argsort(table, kind="stable")
    table, addrs = table[order], addrs[order]
    q = stub_key(rt.sec_ordinal[idx], val[idx] + P)
    at = np.minimum(np.searchsorted(table, q), len(table) - 1)
    hit = (table[at] == q) & in_reach(addrs[at] - P, reach)
    val[idx[hit]] = addrs[at][hit] - P[hit]


def tls_call_rows(rt, mark=None):
    """The TLSGD/TLSLD markers (or those given) that are followed by the relocation of
    their instruction, and that row: the call's (REL24, PLTREL24, PLTCALL) or PLTSEQ at
    the same offset, or the PLT16 half of an inline PLT call two bytes in."""
    typ = rt.type
    if mark is None:
        mark = np.flatnonzero((typ == TLSGD) | (typ == TLSLD))
    nxt = np.minimum(mark + 1, len(typ) - 1)
    off = rt.offset[nxt] - rt.offset[mark]
    ok = (nxt > mark) & (rt.sec_ordinal[nxt] == rt.sec_ordinal[mark]) & \
        ((off == 0) | ((off == 2) & np.isin(typ[nxt], INLINE_PLT_HALVES)))
    return mark[ok], nxt[ok]


class PPC32(Target):
    MACHINE = EM_PPC
    NAME = "powerpc"
    PLT_UNWIND_FIRST = True          # (ld.bfd's FDE of .glink comes before the inputs')
    IS64, LITTLE, RELA = False, False, True
    EMULATIONS = ("elf32ppclinux", "elf32ppc", "elf32ppcsim")
    OUTPUT_FORMAT = "elf32-powerpc"
    BFD_ARCH = "powerpc:common"
    OUTPUT_FORMATS = ("elf32-powerpc", "elf32-powerpc", "elf32-powerpc")
    PAGE_SIZE = 0x10000
    EXEC_BASE = 0x10000000
    SEPARATE_CODE = False           # (ld.bfd's elf32ppclinux default: -z noseparate-code)
    DYNAMIC_LINKER = "/lib/ld.so.1"
    SEARCH_DIRS = ("/usr/local/lib/powerpc-linux-gnu", "/lib/powerpc-linux-gnu",
                   "/usr/lib/powerpc-linux-gnu", "/usr/local/lib32", "/lib32", "/usr/lib32",
                   "/usr/local/lib", "/lib", "/usr/lib", "/usr/powerpc-linux-gnu/lib32",
                   "/usr/powerpc-linux-gnu/lib")
    GOT_TRAILER = 3                 # _GLOBAL_OFFSET_TABLE_: _DYNAMIC and two words for ld.so
    PLT_GOT_ENTRIES = False
    PLT_SECTION, GOTPLT_SECTION, PLT_IN_TEXT = ".glink", ".plt", True
    PLT_HEADER_SIZE, PLT_ENTRY_SIZE, PLT_SH_ENTSIZE, GOTPLT_RESERVED = 0, STUB_SIZE, 0, 0
    RELACOUNT_WHEN_NONE = False     # (ld.bfd writes no DT_RELACOUNT 0)
    IRELATIVE_IN_RELA_PLT = False   # (ld.so applies .rela.plt's IRELATIVEs only with BIND_NOW)
    PIE_UNDEF_WEAK_DYNAMIC = True   # (with ADDR32 relocations: crtbegin's _ITM_* pointers)
    DYNSYM_SECTION_SYMBOLS = "text"     # (ld.bfd keeps .init's section symbol in PIE and -shared)
    NTYPES = NTYPES
    RELOCS = {R[n]: ("R_PPC_" + n, s[0], s[1], _WIDTH[s[2]], C_NONE) for n, s in _SPEC.items()} | \
        {R[n]: ("R_PPC_" + n, None, B_NONE, 0, C_NONE) for n in _DYNAMIC_ONLY + _NOT_YET}
    NOT_YET = frozenset(R[n] for n in _NOT_YET)
    R_NONE = 0
    R_ABS, R_RELATIVE, R_GLOB_DAT, R_JUMP_SLOT, R_COPY, R_IRELATIVE = \
        ADDR32, RELATIVE, GLOB_DAT, JMP_SLOT, COPY, IRELATIVE
    R_DTPMOD, R_DTPOFF, R_TPOFF = DTPMOD32, DTPREL32, TPREL32
    DTP_OFFSET = DTP_OFFSET         # (the offset word of a GD GOT pair filled at link time)
    # the small-data and .got2 sections where ld.bfd's elf32ppc script puts them
    SCRIPT_RELRO_TAIL = "  .got1           : { *(.got1) }\n  .got2           : { *(.got2) }\n"
    SCRIPT_SMALL_DATA = "  .sdata          : { *(.sdata .sdata.* .gnu.linkonce.s.*) }\n"
    SCRIPT_SMALL_BSS = ("  .sbss           :\n  {\n    PROVIDE (__sbss_start = .); PROVIDE (___sbss_start = .);\n"
                        "    *(.dynsbss)\n    *(.sbss .sbss.* .gnu.linkonce.sb.*)\n    *(.scommon)\n"
                        "    PROVIDE (__sbss_end = .); PROVIDE (___sbss_end = .);\n  }\n")
    SCRIPT_RODATA_TAIL = ("  .sdata2         : { *(.sdata2 .sdata2.* .gnu.linkonce.s2.*) }\n"
                          "  .sbss2          : { *(.sbss2 .sbss2.* .gnu.linkonce.sb2.*) }\n")

    def __init__(self):
        super().__init__()
        # absolute 16/24/14-bit fields cannot be relocated at load time (PIE, -shared)
        narrow = np.isin(np.arange(NTYPES), [R[n] for n in (
            "ADDR24", "ADDR16", "UADDR16", "ADDR16_LO", "ADDR16_HI", "ADDR16_HA", "ADDR14")])
        self.IS_ABS_NARROW32 = self.IS_ABS_NARROW32 | narrow
        # non-PIC code takes a function's address with lis/addi (ADDR16_HA/LO): an
        # imported function's PLT stub becomes its address (canonical PLT entry)
        self.CANON_REF = self.CANON_REF | (narrow & (self.KIND == K_ABS))

    def code_fill(self, n):
        return np.resize(np.array([NOP], ">u4").view(np.uint8), n)

    def define_symbols(self, ctx, define):
        """_SDA_BASE_ (and _SDA2_BASE_): 0x8000 past the start of .sdata (.sdata2), where
        ld.bfd puts them, so that r13 (r2) reaches the small data with signed 16-bit
        offsets; crt1.o loads r13 from it.  Without the section, where it would be."""
        define("_SDA_BASE_", lambda: _small_data_base(ctx, ".sdata", b"_edata"), hidden=True)
        define("_SDA2_BASE_", lambda: _small_data_base(ctx, ".sdata2", b"__etext"), hidden=True)

    def relaxed_tls_calls(self, ctx, rt):
        """In an executable every GD and LD sequence is relaxed: the call carrying a
        TLSGD/TLSLD marker loses its relocation to __tls_get_addr (the next row, at the
        same place); so do the rows of an inline PLT call (-fno-plt), each instruction
        marked (see tls_call_rows)."""
        if ctx.config.shared:
            return None
        calls = np.zeros(len(rt.type), bool)
        calls[tls_call_rows(rt)[1]] = True
        return calls

    def relocatable_addends(self, rt, sections, addend):
        """-r: a PLTREL24 addend of 0x8000 or more is r30's offset into its object's
        .got2 (-fPIC): .got2 sections merge, so it grows by where that object's
        .got2 lands in the output (ld.bfd)."""
        m = np.flatnonzero((rt.type == PLTREL24) & (rt.addend >= 0x8000))
        if not len(m):
            return
        got2_of = {}
        for f in {id(sections[i].file): sections[i].file for i in np.unique(rt.sec_ordinal[m]).tolist()}.values():
            got2 = next((s for s in f.sections if s is not None and s.name == ".got2"), None)
            got2_of[id(f)] = got2.out_offset if got2 is not None and got2.output is not None else 0
        shift = np.array([got2_of.get(id(s.file), 0) for s in sections], np.int64)
        addend[m] += shift[rt.sec_ordinal[m]]

    def plt_unwind(self, ctx):
        return glink_unwind(ctx)

    def after_layout(self, ctx, relayout):
        """Long-branch trampolines (the layout is final after)."""
        add_long_branch_stubs(ctx, relayout)

    def scan_got_relax(self, ctx, rt, plan):
        if ctx.is_dynamic:
            ctx.need_got_base = True        # (__glink_PLTresolve reads the GOT header)

    # -- the secure PLT: call stubs and __glink at the end of .text, slots in .plt ----
    def plt_setup(self, ctx, props):
        """Position-independent outputs get stubs that find their slot from the PC
        (ld.bfd's address r30 instead, which needs a stub per caller's .got2)."""
        pic = bool(ctx.config.pie or ctx.config.shared)
        ctx.plt.entry_size = ctx.iplt.entry_size = PIC_STUB_SIZE if pic else STUB_SIZE
        return dict(got_base=lambda: ctx.got_base_addr)

    def plt_tail_size(self, n):
        return glink_size(n)

    def gotplt_lazy_values(self, plt, n):
        """Each slot starts at its __glink entry (which falls through to the resolver);
        __glink follows the stubs of the n imported functions and of local IFUNCs."""
        glink = plt.addr + plt.entry_size * (n + len(plt.iplt))
        return glink + 4 * np.arange(n)

    def plt_lazy(self, plt_addr, gotplt_addr, slots, n_lazy, n_iplt, pic=False, got_base=None, **_):
        """The stubs of the imported functions, then of the IFUNCs of this output
        (their slots follow, filled by IRELATIVE), then __glink."""
        n = n_lazy + n_iplt
        return plt_code(plt_addr, np.asarray(slots, np.int64)[:n], n, got_base(), pic)

    def plt_entry(self, slot_addr, entry_addr, pic=False, **_):
        """The call stub of an IFUNC in a static executable (its slot filled by IRELATIVE)."""
        if pic:
            raise LinkError("powerpc: IFUNC in a static PIE is not supported yet (arch/ppc32.py)")
        return stub_words(np.array([slot_addr], np.int64), np.array([entry_addr], np.int64), False) \
            .astype(">u4").tobytes()

    def dynamic_tags(self, ctx):
        """DT_PPC_GOT: _GLOBAL_OFFSET_TABLE_, where ld.so keeps its link map and
        resolver for __glink_PLTresolve (and what tells it the PLT is the secure one)."""
        return [(DT_PPC_GOT, lambda: ctx.got_base_addr)]

    def relax(self, ctx, rt, S, A, val, width, out):
        """The values the generic X + A - B does not give (PLTREL24 ignores its
        addend, TP- and DTP-relative offsets), and the TLS relaxations of executables."""
        typ = rt.type
        tt = np.minimum(typ, NTYPES - 1)
        kind = rt.plan.kind
        m = typ == PLTREL24                 # (the addend names the caller's .got2, not the callee)
        val[m] -= A[m]
        tpb = ctx.tls_start + TP_OFFSET
        m = kind == K_TPOFF
        val[m] = S[m] + A[m] - tpb
        m = kind == K_DTPOFF
        val[m] = S[m] + A[m] - ctx.tls_start - DTP_OFFSET
        m = typ == SDAREL16
        if m.any():
            val[m] = S[m] + A[m] - _small_data_base(ctx, ".sdata", b"_edata")
        if np.isin(typ, INLINE_PLT_HALVES + (PLTCALL, PLTSEQ)).any():
            self._inline_plt(ctx, rt, S, A, val, width, out)
        if not ctx.config.shared and (kind >= K_TPOFF).any() | np.isin(typ, (TLS, TLSGD, TLSLD)).any():
            self._relax_tls(ctx, rt, tt, S, A, val, width, out, tpb)
        if ctx.stub_sections:           # branches out of reach: to their trampolines
            br = np.flatnonzero(isin(typ, LONG_BRANCH_TYPES) & (width > 0) & ~rt.plan.skip)
            if len(br):
                redirect_long_branches(ctx, rt, br, val)

    def _inline_plt(self, ctx, rt, S, A, val, width, out):
        """-fno-plt calls.  A function with a .plt slot (imported, IFUNC) is loaded from
        it: PLT16 holds the slot's address relative to r30 (the caller's .got2 + the
        addend when that is 0x8000 or more (-fPIC), else _GLOBAL_OFFSET_TABLE_) in a
        position-independent output, absolute in an executable (the addis then adds
        to 0, not r30: ld.bfd).  Any other function is called directly: the loads and
        mtctr become nops, the bctrl a bl (ld.bfd).  The rows of a relaxed TLS call are
        left to _relax_tls."""
        typ, pos, key = rt.type, rt.pos, rt.key
        rows = np.isin(typ, INLINE_PLT_HALVES + (PLTCALL, PLTSEQ))
        tls = self.relaxed_tls_calls(ctx, rt)
        if tls is not None:
            rows &= ~tls
        rows = np.flatnonzero(rows)
        if not len(rows):
            return
        g, plt, iplt = ctx.gotplt, ctx.plt, ctx.iplt
        k = key[rows]
        lazy = isin(k, plt.keys) if len(plt.keys) else np.zeros(len(rows), bool)
        ifunc = isin(k, iplt.keys) if len(iplt.keys) else np.zeros(len(rows), bool)
        slot = np.zeros(len(rows), np.int64)
        if lazy.any():
            slot[lazy] = g.addr + 4 * (g.RESERVED + plt.index_of(k[lazy]))
        if ifunc.any():
            slot[ifunc] = g.addr + 4 * (g.RESERVED + g.n_lazy + iplt.index_of(k[ifunc]))
        via_slot = lazy | ifunc
        t = typ[rows]
        half_row = np.isin(t, INLINE_PLT_HALVES)
        # loads from the slot
        idx = rows[via_slot & half_row]
        if len(idx):
            pic = bool(ctx.config.pie or ctx.config.shared)
            base = np.zeros(len(idx), np.int64)
            if pic:
                got2 = self._got2_addresses(rt, idx)
                base = np.where(A[idx] >= 0x8000, got2 + A[idx], ctx.got_base_addr)
            val[idx] = slot[via_slot & half_row] - base
            if not pic:                     # addis rT,r30,x@plt@ha -> lis rT,x@plt@ha
                high = idx[typ[idx] != PLT16_LO]
                write32(out, pos[high] - 2, read32(out, pos[high] - 2) & ~RA_MASK)
        idx = rows[via_slot & ~half_row]
        width[idx] = 0
        # direct calls
        idx = rows[~via_slot & (t != PLTCALL)]
        if len(idx):
            write32(out, np.where(np.isin(typ[idx], INLINE_PLT_HALVES), pos[idx] - 2, pos[idx]),
                    np.full(len(idx), NOP))
            width[idx] = 0
        idx = rows[~via_slot & (t == PLTCALL)]
        if len(idx):
            width[idx] = 0
            self._direct_calls(ctx, rt, idx, S, out)

    def _direct_calls(self, ctx, rt, idx, S, out):
        """bctrl -> bl S (the call of an inline PLT sequence to a function of the output)."""
        disp = S[idx] - rt.P[idx]
        bad = (disp < S26[0]) | (disp > S26[1])
        if bad.any():
            k = int(idx[np.argmax(bad)])
            raise LinkError(f"{rt.where(k)}: the inline PLT call to '{ctx.reloc_sym_display(rt, k)}' "
                            "is beyond the +-32 MiB of a bl: not supported yet (arch/ppc32.py)")
        write32(out, rt.pos[idx], 0x48000001 | (disp & 0x03fffffc))

    @staticmethod
    def _got2_addresses(rt, idx):
        """The address of the .got2 section of the object of each row (0 without one)."""
        ords, inverse = np.unique(rt.sec_ordinal[idx], return_inverse=True)
        of_file = {}
        for f in {id(rt.sections[o].file): rt.sections[o].file for o in ords.tolist()}.values():
            got2 = next((s for s in f.sections if s is not None and s.name == ".got2"), None)
            of_file[id(f)] = got2.output.addr + got2.out_offset if got2 is not None and \
                got2.output is not None else 0
        per_section = np.array([of_file[id(rt.sections[o].file)] for o in ords.tolist()], np.int64)
        return per_section[inverse]

    def _relax_tls(self, ctx, rt, tt, S, A, val, width, out, tpb):
        typ, pos, key = rt.type, rt.pos, rt.key
        plan = rt.plan
        kind = plan.kind
        imported = ctx.keys.imported[key]
        tprel = S + A - tpb
        high = IS_HIGH[tt]

        def rewrite(idx, words, at):
            write32(out, at, words)
            width[idx] = 0

        def fail(idx, ok, what):
            if not ok.all():
                k = int(idx[np.argmin(ok)])
                raise LinkError(f"{rt.where(k)}: {self.type_name(typ[k])} {what}")

        # the GOT (or addis) instruction of GD, LD and IE sequences: at the field - 2
        gd = kind == K_TLS_GD
        ld = kind == K_TLS_LD
        ie = (kind == K_TLS_IE) & ~plan.ie_keep
        to_ie = gd & plan.gd_to_ie
        to_le = (gd & ~plan.gd_to_ie) | ld | ie
        # (LD: the module's block + 0x8000, what __tls_get_addr would return)
        tprel = np.where(ld, ctx.tls_start + DTP_OFFSET - tpb, tprel)
        idx = np.flatnonzero(to_le & high)
        if len(idx):                        # addis r,30,x@got@..@ha -> nop
            rewrite(idx, np.full(len(idx), NOP), pos[idx] - 2)
        idx = np.flatnonzero(to_le & ~high)
        if len(idx):                        # addi/lwz r,x@got..(ra) -> addis r,2,x@tprel@ha
            insn = read32(out, pos[idx] - 2)
            words = (insn & RT_MASK) | ADDIS_R_2 | half(E_HA, tprel[idx])
            rewrite(idx, np.where(_short(tprel[idx]), NOP, words), pos[idx] - 2)
        idx = np.flatnonzero(to_ie)
        if len(idx):                        # the GD GOT pair becomes the IE slot
            slot = ctx.got.slot_addresses(key[idx]) - ctx.got_base_addr
            val[idx] = slot + A[idx]
            low = idx[~high[idx]]           # addi r,ra,x@got@tlsgd -> lwz r,x@got@tprel(ra)
            if len(low):
                insn = read32(out, pos[low] - 2)
                write32(out, pos[low] - 2, (insn & (RT_MASK | RA_MASK)) | LWZ)
        # the markers: the add (IE) or the call (GD, LD)
        mark = np.flatnonzero(typ == TLS)
        mark = mark[~imported[mark]]
        if len(mark):                       # add r,ra,x@tls -> addi r,ra,x@tprel@l
            insn = at_tls_transform(read32(out, pos[mark]))
            fail(mark, insn != 0, "is not on an instruction that can be relaxed to local-exec")
            insn = np.where(_short(tprel[mark]), (insn & ~RA_MASK) | (2 << 16), insn)
            rewrite(mark, insn | half(E_LO, tprel[mark]), pos[mark])
        mark = np.flatnonzero((typ == TLSGD) | (typ == TLSLD))
        if len(mark):
            # the call's own relocation (to __tls_get_addr) is the next row, at the same
            # place; an inline PLT call's other instructions become nops
            found, nxt = tls_call_rows(rt, mark)
            fail(mark, np.isin(mark, found), "is not followed by the call to __tls_get_addr")
            seq = np.isin(typ[nxt], INLINE_PLT_HALVES + (PLTSEQ,))
            rewrite(mark[seq], np.full(int(seq.sum()), NOP), pos[mark[seq]])
            width[nxt[seq]] = 0
            mark, nxt = mark[~seq], nxt[~seq]
            ie_mark = (typ[mark] == TLSGD) & imported[mark]
            le_val = np.where(typ[mark] == TLSLD, ctx.tls_start + DTP_OFFSET - tpb, tprel[mark])
            addi = np.where(_short(le_val), ADDI_3_2, ADDI_3_3) | half(E_LO, le_val)
            rewrite(mark, np.where(ie_mark, ADD_3_3_2, addi), pos[mark])
            width[nxt] = 0
        # local-exec offsets within +-32 KiB of the thread pointer: the addis of the
        # pair becomes a nop and the low half addresses from r2 itself (ld.bfd)
        idx = np.flatnonzero(((typ == TPREL16_HA) | (typ == TPREL16_LO)) & (width > 0) & _short(val))
        if len(idx):
            ha = typ[idx] == TPREL16_HA
            rewrite(idx[ha], np.full(int(ha.sum()), NOP), pos[idx[ha]] - 2)
            lo = idx[~ha]
            write32(out, pos[lo] - 2, (read32(out, pos[lo] - 2) & ~RA_MASK) | (2 << 16))

    def check_overflow(self, ctx, rt, tt, val, width):
        bad = HAS_RANGE[tt] & (width > 0) & ((val < LO[tt]) | (val > HI[tt]))
        if bad.any():
            # a call to an undefined weak function sits behind a test of its address:
            # its branch wraps, unchecked (ld.bfd)
            weak = ctx.keys.undef_weak[rt.key] & ((ENC[tt] == E_B24) | (ENC[tt] == E_B14))
            bad &= ~weak
        if bad.any():
            from ldpy.checks import report_overflows
            idx = np.flatnonzero(bad)
            fields = ["a 26-bit branch" if ENC[tt[k]] == E_B24 else "a 16-bit" for k in idx[:1000]]
            report_overflows(ctx, rt, idx, val[idx], fields, self.type_name)

    def store(self, out, pos, tt, val, width):
        """Data words, instruction halves and branch fields, big-endian."""
        enc = np.where(width > 0, ENC[tt], E_NONE)
        m = enc == E_W32
        if m.any():
            write32(out, pos[m], val[m] & 0xffffffff)
        m = (enc >= E_W16) & (enc <= E_HA)
        if m.any():
            h = half(enc[m], val[m])
            p = pos[m]
            out[p] = (h >> 8).astype(np.uint8)
            out[p + 1] = (h & 0xff).astype(np.uint8)
        for e, mask in ((E_B24, 0x03fffffc), (E_B14, 0x0000fffc)):
            m = enc == e
            if m.any():
                insn = read32(out, pos[m])
                write32(out, pos[m], (insn & ~mask & 0xffffffff) | (val[m] & mask))


TARGET = register(PPC32())
