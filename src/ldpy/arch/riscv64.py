"""RISC-V RV64 (little-endian, lp64/lp64f/lp64d): relocation types, how each
one is computed and stored into its instruction's immediate field, the PLT
templates of ld.bfd, the e_flags and `.riscv.attributes` merge, and linker
relaxation (byte deletion: R_RISCV_ALIGN; calls to JAL/C.J; gp-, x0- and
tp-relative accesses; LUI to C.LUI), as ld.bfd 2.40 does them.

Everything works on whole arrays, one numpy operation per class of types.

Formulas (RISC-V ELF psABI):
    S + A - P         PC-relative (PCREL_HI20, BRANCH, JAL, CALL, 32_PCREL)
    the HI20 of a pair holds (v + 0x800) >> 12, its LO12 the low 12 bits of the
    same v; a PCREL_LO12 names the label of the AUIPC carrying its HI20, so its
    value is looked up from that relocation (same section, that offset)
    TPREL: S + A - (start of the TLS block): the thread pointer points at it
    DTPREL: S + A - (start of the module's block) - 0x800 (glibc biases the DTV)
"""
import numpy as np

from ldpy.diag import LinkError
from ldpy.util import isin
from ldpy.elf.format import EM_RISCV
from ldpy.symbols import DEFINED
from ldpy.arch.base import (Target, register, K_NONE, K_ABS, K_PLT, K_GOT, K_TPOFF, K_DTPOFF,
                            K_TLS_GD, K_TLS_IE, B_NONE, B_P, C_NONE, C_S32)

EMULATIONS = ("elf64lriscv", "elf64lriscv_lp64d", "elf64lriscv_lp64f", "elf64lriscv_lp64")
DYNAMIC_LINKER = "/lib/ld-linux-riscv64-lp64d.so.1"
DTP_OFFSET = 0x800              # glibc's TLS_DTV_OFFSET: DTPREL values are biased by it
SHT_RISCV_ATTRIBUTES = 0x70000003
PT_RISCV_ATTRIBUTES = 0x70000003
DT_RISCV_VARIANT_CC = 0x70000001
STO_RISCV_VARIANT_CC = 0x80
EF_RISCV_RVC, EF_RISCV_FLOAT_ABI, EF_RISCV_RVE, EF_RISCV_TSO = 0x1, 0x6, 0x8, 0x10
FLOAT_ABI_NAMES = {0: "soft-float", 2: "single-float", 4: "double-float", 6: "quad-float"}
NOP, C_NOP = 0x00000013, 0x0001

_TYPES = """
NONE 0 32 1 64 2 RELATIVE 3 COPY 4 JUMP_SLOT 5 TLS_DTPMOD32 6 TLS_DTPMOD64 7
TLS_DTPREL32 8 TLS_DTPREL64 9 TLS_TPREL32 10 TLS_TPREL64 11
BRANCH 16 JAL 17 CALL 18 CALL_PLT 19 GOT_HI20 20 TLS_GOT_HI20 21 TLS_GD_HI20 22
PCREL_HI20 23 PCREL_LO12_I 24 PCREL_LO12_S 25 HI20 26 LO12_I 27 LO12_S 28
TPREL_HI20 29 TPREL_LO12_I 30 TPREL_LO12_S 31 TPREL_ADD 32
ADD8 33 ADD16 34 ADD32 35 ADD64 36 SUB8 37 SUB16 38 SUB32 39 SUB64 40
GNU_VTINHERIT 41 GNU_VTENTRY 42 ALIGN 43 RVC_BRANCH 44 RVC_JUMP 45 RVC_LUI 46
GPREL_I 47 GPREL_S 48 TPREL_I 49 TPREL_S 50 RELAX 51 SUB6 52 SET6 53 SET8 54 SET16 55
SET32 56 32_PCREL 57 IRELATIVE 58 PLT32 59 SET_ULEB128 60 SUB_ULEB128 61
"""
_words = _TYPES.split()
R = {_words[i]: int(_words[i + 1]) for i in range(0, len(_words), 2)}
NTYPES = 64

# how each type's value is stored (E_*), and the range it must fit
(E_NONE, E_U, E_I, E_S, E_B, E_J, E_CALL, E_CB, E_CJ, E_CI) = range(10)
# read-modify-write data fields (label differences): added, subtracted, set
(D_NONE, D_ADD, D_SUB, D_SET, D_SUB6, D_SET6) = range(6)

_ENC = {"BRANCH": E_B, "JAL": E_J, "CALL": E_CALL, "CALL_PLT": E_CALL,
        "GOT_HI20": E_U, "TLS_GOT_HI20": E_U, "TLS_GD_HI20": E_U, "PCREL_HI20": E_U,
        "PCREL_LO12_I": E_I, "PCREL_LO12_S": E_S, "HI20": E_U, "LO12_I": E_I, "LO12_S": E_S,
        "TPREL_HI20": E_U, "TPREL_LO12_I": E_I, "TPREL_LO12_S": E_S,
        "RVC_BRANCH": E_CB, "RVC_JUMP": E_CJ, "RVC_LUI": E_CI}
_DATA = {"ADD8": (D_ADD, 1), "ADD16": (D_ADD, 2), "ADD32": (D_ADD, 4), "ADD64": (D_ADD, 8),
         "SUB8": (D_SUB, 1), "SUB16": (D_SUB, 2), "SUB32": (D_SUB, 4), "SUB64": (D_SUB, 8),
         "SUB6": (D_SUB6, 1), "SET6": (D_SET6, 1), "SET8": (D_SET, 1), "SET16": (D_SET, 2),
         "SET32": (D_SET, 4)}


def _table(values, default=0, dtype=np.int64):
    t = np.full(NTYPES, default, dtype)
    for k, v in values.items():
        t[R[k]] = v
    return t


ENC = _table(_ENC)
DATA_OP = _table({k: v[0] for k, v in _DATA.items()})
DATA_WIDTH = _table({k: v[1] for k, v in _DATA.items()})
IS_HI20 = _table({k: 1 for k in ("PCREL_HI20", "GOT_HI20", "TLS_GOT_HI20", "TLS_GD_HI20")}, 0, bool)
IS_PCREL_LO = _table({"PCREL_LO12_I": 1, "PCREL_LO12_S": 1}, 0, bool)
# ranges (inclusive) of the values each field can hold, as ld.bfd checks them
_RANGE = {E_B: (-(1 << 12), (1 << 12) - 2), E_J: (-(1 << 20), (1 << 20) - 2),
          E_CB: (-(1 << 8), (1 << 8) - 2), E_CJ: (-(1 << 11), (1 << 11) - 2),
          E_U: (-(1 << 31) - 0x800, (1 << 31) - 0x801), E_CALL: (-(1 << 31) - 0x800, (1 << 31) - 0x801),
          E_CI: (-(1 << 17) - 0x800, (1 << 17) - 0x801)}
_FIELD = {E_B: "a 13-bit branch", E_J: "a 21-bit jump", E_CB: "a 9-bit branch",
          E_CJ: "a 12-bit jump", E_U: "a 32-bit", E_CALL: "a 32-bit", E_CI: "an 18-bit"}


def _rows():
    """The generic row of each type: (name, kind, base, width, check)."""
    rows = {}
    kinds = {"NONE": K_NONE, "32": K_ABS, "64": K_ABS, "TLS_DTPREL32": K_DTPOFF,
             "TLS_DTPREL64": K_DTPOFF, "BRANCH": K_ABS, "JAL": K_PLT, "CALL": K_PLT,
             "CALL_PLT": K_PLT, "GOT_HI20": K_GOT, "TLS_GOT_HI20": K_TLS_IE,
             "TLS_GD_HI20": K_TLS_GD, "PCREL_HI20": K_ABS, "HI20": K_ABS, "LO12_I": K_ABS,
             "LO12_S": K_ABS, "TPREL_HI20": K_TPOFF, "TPREL_LO12_I": K_TPOFF,
             "TPREL_LO12_S": K_TPOFF, "RVC_BRANCH": K_ABS, "RVC_JUMP": K_PLT, "RVC_LUI": K_ABS,
             "32_PCREL": K_ABS, "PLT32": K_PLT}
    pcrel = {"BRANCH", "JAL", "CALL", "CALL_PLT", "GOT_HI20", "TLS_GOT_HI20", "TLS_GD_HI20",
             "PCREL_HI20", "RVC_BRANCH", "RVC_JUMP", "32_PCREL", "PLT32"}
    width = {"64": 8, "TLS_DTPREL64": 8, "CALL": 8, "CALL_PLT": 8, "RVC_BRANCH": 2, "RVC_JUMP": 2,
             "RVC_LUI": 2}
    # markers and label differences: nothing for the generic store (relax does them)
    markers = {"NONE", "PCREL_LO12_I", "PCREL_LO12_S", "TPREL_ADD", "GNU_VTINHERIT", "GNU_VTENTRY",
               "ALIGN", "RELAX"} | set(_DATA)
    for name, t in R.items():
        full = "R_RISCV_" + name
        if name in markers:
            rows[t] = (full, K_NONE, B_NONE, 0, C_NONE)
        elif name in kinds:
            rows[t] = (full, kinds[name], B_P if name in pcrel else B_NONE, width.get(name, 4),
                       C_S32 if name in ("32_PCREL", "PLT32") else C_NONE)
        else:       # dynamic-only, or linker-internal (GPREL_*, TPREL_I/S), or not supported yet
            rows[t] = (full, None, B_NONE, 0, C_NONE)
    return rows


# --------------------------------------------------------------------------
# instruction fields

def read32(out, pos):
    b = out[pos[:, None] + np.arange(4)].astype(np.uint32)
    return b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16 | b[:, 3] << 24


def write32(out, pos, words):
    w = np.asarray(words, np.int64).astype(np.uint32)
    out[pos[:, None] + np.arange(4)] = np.stack([w & 0xff, w >> 8 & 0xff, w >> 16 & 0xff, w >> 24], 1)


def read16(out, pos):
    b = out[pos[:, None] + np.arange(2)].astype(np.uint32)
    return b[:, 0] | b[:, 1] << 8


def write16(out, pos, words):
    w = np.asarray(words, np.int64).astype(np.uint32)
    out[pos[:, None] + np.arange(2)] = np.stack([w & 0xff, w >> 8 & 0xff], 1)


def hi20(v):
    """The U-type immediate (bits 31:12) for value v: rounded so that adding the
    sign-extended low 12 bits gives v."""
    return ((np.asarray(v, np.int64) + 0x800) >> 12) & 0xfffff


def u_type(word, v):
    return (word & 0xfff) | (hi20(v) << 12)


def i_type(word, v):
    return (word & 0xfffff) | ((np.asarray(v, np.int64) & 0xfff) << 20)


def s_type(word, v):
    v = np.asarray(v, np.int64)
    return (word & 0x1fff07f) | ((v >> 5 & 0x7f) << 25) | ((v & 0x1f) << 7)


def b_type(word, v):
    v = np.asarray(v, np.int64)
    return (word & 0x1fff07f) | ((v >> 12 & 1) << 31) | ((v >> 5 & 0x3f) << 25) | \
        ((v >> 1 & 0xf) << 8) | ((v >> 11 & 1) << 7)


def j_type(word, v):
    v = np.asarray(v, np.int64)
    return (word & 0xfff) | ((v >> 20 & 1) << 31) | ((v >> 1 & 0x3ff) << 21) | \
        ((v >> 11 & 1) << 20) | ((v >> 12 & 0xff) << 12)


def cb_type(half, v):
    v = np.asarray(v, np.int64)
    return (half & 0xe383) | ((v >> 8 & 1) << 12) | ((v >> 3 & 3) << 10) | ((v >> 6 & 3) << 5) | \
        ((v >> 1 & 3) << 3) | ((v >> 5 & 1) << 2)


def cj_type(half, v):
    v = np.asarray(v, np.int64)
    return (half & 0xe003) | ((v >> 11 & 1) << 12) | ((v >> 4 & 1) << 11) | ((v >> 8 & 3) << 9) | \
        ((v >> 10 & 1) << 8) | ((v >> 6 & 1) << 7) | ((v >> 7 & 1) << 6) | ((v >> 1 & 7) << 3) | \
        ((v >> 5 & 1) << 2)


def ci_lui(half, v):
    h = hi20(v)
    return (half & 0xef83) | ((h >> 5 & 1) << 12) | ((h & 0x1f) << 2)


def set_rs1(out, pos, reg):
    """The base register (rs1) of the I/S-type instructions at pos."""
    w = read32(out, pos).astype(np.int64)
    write32(out, pos, (w & ~(0x1f << 15)) | (np.asarray(reg, np.int64) << 15))


def encode(out, pos, enc, val):
    """Store each value into the immediate of its instruction at pos."""
    for e, fn in ((E_U, u_type), (E_I, i_type), (E_S, s_type), (E_B, b_type), (E_J, j_type)):
        m = enc == e
        if m.any():
            write32(out, pos[m], fn(read32(out, pos[m]).astype(np.int64), val[m]))
    m = enc == E_CALL           # auipc + jalr
    if m.any():
        p = pos[m]
        write32(out, p, u_type(read32(out, p).astype(np.int64), val[m]))
        write32(out, p + 4, i_type(read32(out, p + 4).astype(np.int64), val[m]))
    for e, fn in ((E_CB, cb_type), (E_CJ, cj_type), (E_CI, ci_lui)):
        m = enc == e
        if m.any():
            write16(out, pos[m], fn(read16(out, pos[m]).astype(np.int64), val[m]))


def pcrel_lo_values(rt, lo_rows, S, A, hi_rows, hi_val):
    """The value of each PCREL_LO12 relocation: the one its HI20 relocation
    computed (the HI20 at the address the LO12's symbol names, in its section)."""
    target = S[lo_rows] + A[lo_rows]
    P = rt.P[hi_rows]
    order = np.argsort(P, kind="stable")
    Ps = P[order]
    at = np.minimum(np.searchsorted(Ps, target), max(len(Ps) - 1, 0))
    found = (Ps[at] == target) if len(Ps) else np.zeros(len(target), bool)
    if not found.all():
        k = int(lo_rows[np.argmin(found)])
        raise LinkError(f"{rt.where(k)}: dangerous relocation: {TYPE_NAMES[int(rt.type[k])]}: "
                        f"no matching R_RISCV_PCREL_HI20 (or GOT/TLS HI20) relocation")
    return hi_val[order[at]]


TYPE_NAMES = {v: "R_RISCV_" + k for k, v in R.items()}
# the references of non-PIC code that ld.bfd counts as possible PLT uses
STATIC_REFS = [R[n] for n in ("JAL", "BRANCH", "RVC_BRANCH", "RVC_JUMP", "PCREL_HI20", "HI20", "32", "64")]


# --------------------------------------------------------------------------
# PLT (ld.bfd's templates: t0-t3 are x5, x6, x7, x28)

PLT_HEADER_SIZE, PLT_ENTRY_SIZE = 32, 16


def plt_header(plt_addr, gotplt_addr):
    """auipc t2,%hi(.got.plt); sub t1,t1,t3; ld t3,%lo(.got.plt)(t2); addi t1,t1,-(32+12);
    addi t0,t2,%lo(.got.plt); srli t1,t1,1; ld t0,8(t0); jr t3"""
    v = np.array([gotplt_addr - plt_addr], np.int64)
    words = np.array([u_type(0x00000397, v)[0], 0x41c30333, i_type(0x0003be03, v)[0],
                      i_type(0x00030313, np.array([-(PLT_HEADER_SIZE + 12)]))[0],
                      i_type(0x00038293, v)[0], 0x00135313, 0x0082b283, 0x000e0067], np.int64)
    return words.astype("<u4").view(np.uint8)


def plt_entries(entry_addrs, slot_addrs):
    """auipc t3,%hi(slot); ld t3,%lo(slot)(t3); jalr t1,t3; nop"""
    v = np.asarray(slot_addrs, np.int64) - np.asarray(entry_addrs, np.int64)
    n = len(v)
    words = np.empty((n, 4), np.int64)
    words[:, 0] = u_type(np.full(n, 0x00000e17, np.int64), v)
    words[:, 1] = i_type(np.full(n, 0x000e3e03, np.int64), v)
    words[:, 2] = 0x000e0367
    words[:, 3] = NOP
    return words.reshape(-1).astype("<u4").view(np.uint8)


# --------------------------------------------------------------------------
# linker relaxation: bytes deleted from code (ldpy/shrink.py does the bookkeeping)
#
# As ld.bfd: trips over the whole link relax every sequence whose relocation is
# followed by R_RISCV_RELAX at its offset, each trip deciding from the addresses
# the previous one left, until nothing more relaxes (a relaxed sequence stays
# relaxed: deletions only bring code closer, and the ranges keep ld.bfd's
# margins for alignment that could grow again):
#   calls (AUIPC+JALR) to JAL, or C.J for a tail call in RVC code;
#   in executables that are not PIE, AUIPC/LUI + low part to one instruction
#   relative to gp (__global_pointer$) or x0 when the target is within 2 KiB
#   (not for targets in code or merged sections), LUI to C.LUI;
#   local-exec TLS (LUI+ADD+low part) to one tp-relative instruction when the
#   offset fits in 12 bits.
# Then one pass over R_RISCV_ALIGN keeps just the NOPs that align the next
# instruction (done with --no-relax too, as ld.bfd does).

# what relaxation made of a relocation (RelaxState.code), and how apply stores it
(X_NONE, X_DELETE, X_JAL, X_CJ, X_CLUI, X_GP_I, X_GP_S, X_TP_I, X_TP_S) = range(-1, 8)
# --emit-relocs: the type a relaxed relocation is written as (ld.bfd's renaming;
# a deleted one is R_RISCV_NONE)
X_EMITTED = np.zeros(X_TP_S + 2, np.int64)     # (indexed by code + 1)
for _code, _name in ((X_JAL, "JAL"), (X_CJ, "RVC_JUMP"), (X_CLUI, "RVC_LUI"), (X_GP_I, "GPREL_I"),
                     (X_GP_S, "GPREL_S"), (X_TP_I, "TPREL_I"), (X_TP_S, "TPREL_S")):
    X_EMITTED[_code + 1] = R[_name]
X_ENC = {X_JAL: E_J, X_CJ: E_CJ, X_CLUI: E_CI, X_GP_I: E_I, X_GP_S: E_S, X_TP_I: E_I, X_TP_S: E_S}
MATCH_C_J, MATCH_JAL, MATCH_C_LUI = 0xa001, 0x6f, 0x6001
X_GP, X_TP = 3, 4


class RelaxState:
    """Per relocation row of the link: what relaxation made of it, the HI20 row of
    each PCREL_LO12 (paired before any byte moved), and gp."""

    def __init__(self, n):
        self.code = np.full(n, X_NONE, np.int8)
        self.hi_of_lo = np.full(n, -1, np.int64)
        self.gp = 0


def original_words(rt, rows, delta, size=4):
    """Little-endian instruction words of the input bytes at each row's
    original offset + delta (before any relocation)."""
    ords = rt.sec_ordinal[rows]
    pos = rt.sec_bufoff[ords] + rt.offset[rows] + delta
    bufs = rt.sec_buffer[ords]
    out = np.zeros(len(rows), np.int64)
    for b in np.unique(bufs).tolist():
        m = bufs == b
        raw = np.frombuffer(rt.buffers[b], np.uint8)
        w = raw[pos[m][:, None] + np.arange(size)].astype(np.int64)
        out[m] = (w << (8 * np.arange(size))).sum(1)
    return out


class _Rows:
    """The columns write.reloc_targets reads, for some rows of the table."""

    def __init__(self, rt, rows):
        self.key, self.addend, self.is_local = rt.key[rows], rt.addend[rows], rt.is_local[rows]


def valid_i(x):
    return (x >= -2048) & (x <= 2047)


def key_section_flags(ctx):
    """For every symbol key: whether its section is code, and whether it is a
    merged one (ld.bfd relaxes no gp-relative access to those: they may move)."""
    keys, ids = ctx.keys, ctx.section_ids
    secs = ids.sections
    code = np.fromiter((s is not None and s.is_input and bool(s.flags & 0x4) for s in secs), bool, len(secs))
    code = np.append(code, False)
    merge = np.append(ids.merge[:len(secs)], False)
    G = keys.G
    out_code = np.zeros(keys.n, bool)
    out_merge = np.zeros(keys.n, bool)
    gsec = np.where(keys.loc_in_sec, keys.loc_gsec, len(secs))
    out_code[G:], out_merge[G:] = code[gsec], merge[gsec]
    g = np.fromiter((s.section.file.sec_base + s.section.index if s.kind == DEFINED and s.section is not None
                     and s.section.is_input else len(secs) for s in ctx.symtab.symbols), np.int64, G)
    out_code[:G], out_merge[:G] = code[g], merge[g]
    return out_code, out_merge


def output_of(ctx, addr):
    """Index (in ctx.sections_out) of the allocated output section holding each
    address, and each one's alignment (-1 and 1 outside them)."""
    outs = [o for o in ctx.sections_out if o.flags & 0x2 and o.size]
    lo = np.array([o.addr for o in outs], np.int64)
    hi = lo + np.array([o.size for o in outs], np.int64)
    align = np.array([o.align for o in outs], np.int64)
    order = np.argsort(lo, kind="stable")
    lo, hi, align = lo[order], hi[order], align[order]
    j = np.searchsorted(lo, addr, side="right") - 1
    ok = (j >= 0) & (addr < hi[np.maximum(j, 0)])
    return np.where(ok, order[np.maximum(j, 0)], -1), np.where(ok, align[np.maximum(j, 0)], 1)


def followed_by_relax(rt):
    """Rows whose next row is R_RISCV_RELAX at the same offset of the same section."""
    typ, n = rt.type, len(rt.type)
    m = np.zeros(n, bool)
    if n > 1:
        m[:-1] = (typ[1:] == R["RELAX"]) & (rt.offset[1:] == rt.offset[:-1]) & \
            (rt.sec_ordinal[1:] == rt.sec_ordinal[:-1])
    return m


def relax_sections(ctx, relayout):
    """Relax code sequences to a fixed point, then drop the excess alignment
    padding (see above)."""
    from ldpy.shrink import Shrink
    from ldpy.driver import assign_symbol_values
    from ldpy.write import reloc_targets
    from ldpy.reloc_policy import Deferred
    rt = ctx.relocs
    cfg = ctx.config
    if rt is None or rt.empty or cfg.relocatable:
        return
    typ = rt.type
    n = len(typ)
    tt = np.minimum(typ, NTYPES - 1)
    nsec = len(rt.sections)
    sec_gid = np.fromiter((s.file.sec_base + s.index for s in rt.sections), np.int64, nsec)
    exec_sec = np.fromiter((bool(s.flags & 0x4) and bool(s.flags & 0x2) for s in rt.sections), bool, nsec)
    in_code = exec_sec[rt.sec_ordinal]
    align = np.flatnonzero((typ == R["ALIGN"]) & in_code)
    relax = followed_by_relax(rt) & in_code & (cfg.relax is not False)
    pie_or_dso = bool(cfg.pie or cfg.shared)
    calls = np.flatnonzero(relax & ((typ == R["CALL"]) | (typ == R["CALL_PLT"])))
    pc_hi = np.flatnonzero(relax & (typ == R["PCREL_HI20"])) if not pie_or_dso else np.zeros(0, np.int64)
    lui_hi = np.flatnonzero(relax & (typ == R["HI20"]))
    lui_lo = np.flatnonzero(relax & ((typ == R["LO12_I"]) | (typ == R["LO12_S"])))
    tp_del = np.flatnonzero(relax & ((typ == R["TPREL_HI20"]) | (typ == R["TPREL_ADD"])))
    tp_lo = np.flatnonzero(relax & ((typ == R["TPREL_LO12_I"]) | (typ == R["TPREL_LO12_S"])))
    lo_all = np.flatnonzero(IS_PCREL_LO[tt] & in_code)
    sequences = len(calls) + len(pc_hi) + len(lui_hi) + len(lui_lo) + len(tp_del) + len(tp_lo)
    if not len(align) and not sequences:
        return
    gids = sec_gid[rt.sec_ordinal[np.concatenate([align, calls, pc_hi, lui_hi, tp_del])]]
    shrink = ctx.shrink = Shrink(ctx, gids)
    state = ctx.riscv_relax = RelaxState(n)
    code = state.code
    orig = rt.offset.copy()
    rvc_file = np.fromiter((bool(s.file.eflags & EF_RISCV_RVC) for s in rt.sections), bool, nsec)[rt.sec_ordinal]
    rd_call = (original_words(rt, calls, 4) >> 7) & 0x1f
    lui_word = original_words(rt, lui_hi, 0)
    max_align = max([o.align for o in ctx.sections_out] + [1])
    gp_sym = ctx.symtab.get(b"__global_pointer$")
    patches = []        # (rows, word, bytes, offset from the row's): instructions to write
    first = True
    # the rows whose targets the trips read (the PCREL_LO12 pairs only on the first)
    hi_all = np.flatnonzero(IS_HI20[tt] & in_code)
    wanted = np.unique(np.concatenate([calls, pc_hi, lui_hi, lui_lo, tp_del, tp_lo]))
    SA, P, A = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    while True:
        assign_symbol_values(ctx)
        rt.start_places()
        sub = np.unique(np.concatenate([wanted, lo_all, hi_all])) if first else wanted
        s_sub, a_sub = reloc_targets(ctx, _Rows(rt, sub), Deferred())
        if cfg.shared:
            m = rt.plan.plt_call[sub] & (ENC[tt[sub]] == E_CALL)
            s_sub[m] = ctx.plt.entry_addresses(rt.key[sub[m]])
        SA[sub], A[sub] = s_sub + a_sub, a_sub
        P[sub] = rt.base_addr[rt.sec_ordinal[sub]] + rt.offset[sub]
        if first:
            first = False
            # each PCREL_LO12's HI20: the relocation at the address its label names
            if len(lo_all):
                hi = hi_all
                order = np.argsort(P[hi], kind="stable")
                at = np.minimum(np.searchsorted(P[hi][order], SA[lo_all]), max(len(hi) - 1, 0))
                if len(hi):
                    found = P[hi][order][at] == SA[lo_all]
                    state.hi_of_lo[lo_all[found]] = hi[order][at][found]
            key_code, key_merge = key_section_flags(ctx) if sequences else (None, None)
        gp = state.gp = global_pointer(ctx, gp_sym)
        dels = []           # (rows, offset from the row's, count)
        # calls: JAL when it reaches (a margin of the largest alignment out of the
        # output section), C.J for a tail call in RVC code
        c = calls[code[calls] == X_NONE]
        if len(c):
            dest = SA[c]
            foff = dest - P[c]
            o_dest, _ = output_of(ctx, dest)
            o_here, _ = output_of(ctx, P[c])
            far = np.where(foff < 0, foff - max_align, foff + max_align)
            foff = np.where(o_dest != o_here, far, foff)
            ok = (foff >= -(1 << 20)) & (foff < (1 << 20))
            rd = rd_call[np.searchsorted(calls, c)]
            short = ok & rvc_file[c] & (rd == 0) & (foff >= -(1 << 11)) & (foff < (1 << 11))
            c, short, rd = c[ok], short[ok], rd[ok]
            code[c] = np.where(short, X_CJ, X_JAL)
            dels.append((c, np.where(short, 2, 4), np.where(short, 6, 4)))
            patches.append((c, np.where(short, MATCH_C_J, MATCH_JAL | (rd << 7)), np.where(short, 2, 4),
                            np.zeros(len(c), np.int64)))
        # gp- or x0-relative accesses (executables that are not PIE)
        if len(pc_hi) or len(lui_hi) or len(lui_lo):
            def in_gp_range(rows_):
                sym = SA[rows_]
                o_sym, a_sym = output_of(ctx, sym)
                o_gp, _ = output_of(ctx, np.array([gp], np.int64))
                margin = np.where(o_sym == o_gp[0], a_sym, max_align)
                size = ctx.keys.size[rt.key[rows_]]
                a = A[rows_]
                margin = margin + np.where((a >= 0) & (a <= size), size - a, 0)
                k = rt.key[rows_]
                ok = valid_i(sym) | ((sym >= gp) & valid_i(sym - gp + margin)) | \
                    ((sym < gp) & valid_i(sym - gp - margin))
                return ok & ~key_code[k] & ~key_merge[k]
            h = pc_hi[code[pc_hi] == X_NONE]
            if len(h):
                ok = in_gp_range(h)
                # not when a low part comes before its AUIPC, or has no R_RISCV_RELAX
                lo_rows = lo_all[state.hi_of_lo[lo_all] >= 0]
                their_hi = state.hi_of_lo[lo_rows]
                bad = (lo_rows < their_hi) | ~relax[lo_rows]
                blocked = np.zeros(n, bool)
                blocked[their_hi[bad]] = True
                h = h[ok & ~blocked[h]]
                code[h] = X_DELETE
                dels.append((h, np.zeros(len(h), np.int64), np.full(len(h), 4)))
            lo_rows = lo_all[(code[lo_all] == X_NONE) & (state.hi_of_lo[lo_all] >= 0)]
            lo_rows = lo_rows[(typ[state.hi_of_lo[lo_rows]] == R["PCREL_HI20"]) &
                              (code[state.hi_of_lo[lo_rows]] == X_DELETE)]
            code[lo_rows] = np.where(typ[lo_rows] == R["PCREL_LO12_I"], X_GP_I, X_GP_S)
            h = lui_hi[code[lui_hi] == X_NONE]
            if len(h):
                ok = in_gp_range(h)
                code[h[ok]] = X_DELETE
                dels.append((h[ok], np.zeros(int(ok.sum()), np.int64), np.full(int(ok.sum()), 4)))
                # LUI to C.LUI (RVC code, rd not x0 or sp, the high part and the one a
                # page later both C.LUI immediates)
                rest = h[~ok]
                word = lui_word[np.searchsorted(lui_hi, rest)]
                rd = (word >> 7) & 0x1f
                hi1 = (SA[rest] + 0x800) >> 12
                hi2 = (SA[rest] + 0x1000 + 0x800) >> 12
                small = lambda v: (v != 0) & (v >= -32) & (v <= 31)
                cl = rvc_file[rest] & (rd != 0) & (rd != 2) & small(hi1) & small(hi2)
                cl_rows = rest[cl]
                code[cl_rows] = X_CLUI
                dels.append((cl_rows, np.full(len(cl_rows), 2), np.full(len(cl_rows), 2)))
                patches.append((cl_rows, MATCH_C_LUI | (rd[cl] << 7), np.full(len(cl_rows), 2),
                                np.zeros(len(cl_rows), np.int64)))
            lo = lui_lo[code[lui_lo] == X_NONE]
            if len(lo):
                lo = lo[in_gp_range(lo)]
                code[lo] = np.where(typ[lo] == R["LO12_I"], X_GP_I, X_GP_S)
        # local-exec TLS within 2 KiB of tp: the LUI and ADD go, the low part uses tp
        if len(tp_del) or len(tp_lo):
            near = lambda rows_: ((SA[rows_] - ctx.tls_start + 0x800) >> 12) == 0
            d = tp_del[code[tp_del] == X_NONE]
            d = d[near(d)]
            code[d] = X_DELETE
            dels.append((d, np.zeros(len(d), np.int64), np.full(len(d), 4)))
            lo = tp_lo[code[tp_lo] == X_NONE]
            lo = lo[near(lo)]
            code[lo] = np.where(typ[lo] == R["TPREL_LO12_I"], X_TP_I, X_TP_S)
        dels = [d for d in dels if len(d[0])]
        if not dels:
            break
        r = np.concatenate([d[0] for d in dels])
        shrink.delete(sec_gid[rt.sec_ordinal[r]], orig[r] + np.concatenate([d[1] for d in dels]),
                      np.concatenate([d[2] for d in dels]))
        shrink.update(ctx)
        relayout()
    if len(align):
        _relax_align(ctx, rt, shrink, align, sec_gid, orig, patches)
        shrink.update(ctx)
        relayout()
    # the new bytes: shortened calls and kept NOPs written, the deleted bytes gone
    if patches:
        rows, words, sizes, extra = (np.concatenate([p[i] for p in patches]) for i in range(4))
    else:
        rows = words = sizes = extra = np.zeros(0, np.int64)
    pg = sec_gid[rt.sec_ordinal[rows]]
    po = orig[rows] + extra

    def patch(gid, sec, data):
        m = np.flatnonzero(pg == gid)
        for k in (2, 4):
            mk = m[sizes[m] == k]
            if len(mk):
                w = words[mk]
                data[po[mk][:, None] + np.arange(k)] = (w[:, None] >> (8 * np.arange(k))) & 0xff
    shrink.finish(ctx, patch)
    assign_symbol_values(ctx)
    state.gp = global_pointer(ctx, gp_sym)          # (where the deletions left it)


def global_pointer(ctx, gp_sym):
    """__global_pointer$ of an executable that is not PIE (else 0: no gp)."""
    if gp_sym is None or ctx.config.pie or ctx.config.shared or gp_sym.kind == 0:
        return 0
    return int(ctx.gaddr[gp_sym.gid])


def _relax_align(ctx, rt, shrink, align, sec_gid, orig, patches):
    """Keep, of each R_RISCV_ALIGN's NOPs, those that align the next
    instruction at its address (the k-th ALIGN of every section at once: each
    depends on the deletions before it in its section)."""
    gid = sec_gid[rt.sec_ordinal[align]]
    order = np.lexsort((orig[align], gid))
    align, gid = align[order], gid[order]
    first = np.ones(len(gid), bool)
    first[1:] = gid[1:] != gid[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(len(gid)), 0))
    rank = np.arange(len(gid)) - start
    secs = rt.sections
    base = np.fromiter((s.output.addr + s.out_offset for s in secs), np.int64, len(secs))[rt.sec_ordinal[align]]
    nops = rt.addend[align]
    alignment = np.ones(len(align), np.int64)
    while (m := alignment <= nops).any():
        alignment[m] *= 2
    for k in range(int(rank.max()) + 1 if len(rank) else 0):
        m = np.flatnonzero(rank == k)
        at = base[m] + shrink.map(gid[m], orig[align[m]])
        keep = (-at) & (alignment[m] - 1)
        bad = keep > nops[m]
        if bad.any():
            j = int(align[m][np.argmax(bad)])
            raise LinkError(f"{rt.where(j)}: can't satisfy R_RISCV_ALIGN: {int(nops[m][np.argmax(bad)])} "
                            f"bytes of padding for a {int(alignment[m][np.argmax(bad)])}-byte alignment "
                            f"(the section is not aligned enough)")
        shrink.delete(gid[m], orig[align[m]] + keep, nops[m] - keep)
        # the kept padding: a C.NOP for an odd half, then 4-byte NOPs (the assembler's
        # padding less its tail, as ld.bfd leaves it)
        half = (keep % 4 != 0).astype(np.int64)
        n4 = keep // 4
        reps = np.repeat(np.arange(len(m)), n4)
        step = np.arange(int(n4.sum())) - np.repeat(np.cumsum(n4) - n4, n4)
        rows4 = align[m][reps]
        patches.append((rows4, np.full(len(rows4), NOP, np.int64), np.full(len(rows4), 4, np.int64),
                        2 * half[reps] + 4 * step))
        odd = np.flatnonzero(half)
        if len(odd):
            patches.append((align[m][odd], np.full(len(odd), C_NOP, np.int64), np.full(len(odd), 2, np.int64),
                            np.zeros(len(odd), np.int64)))


# --------------------------------------------------------------------------
# e_flags and .riscv.attributes

def merged_flags(files):
    """The output's e_flags: RVC and TSO if any input has them, the float ABI and
    RVE that every input with code or data must share (ld.bfd refuses a mix)."""
    flags = None
    for f in files:
        if not hasattr(f, "eflags") or not hasattr(f, "sections"):
            continue
        if not any(s is not None and s.is_input and s.flags & 0x2 and s.size for s in f.sections):
            continue            # (no allocated contents: its flags cannot conflict)
        e = int(f.eflags)
        if flags is None:
            flags = e
            continue
        if (e ^ flags) & EF_RISCV_FLOAT_ABI:
            raise LinkError(f"{f.name}: can't link {FLOAT_ABI_NAMES[e & EF_RISCV_FLOAT_ABI]} modules "
                            f"with {FLOAT_ABI_NAMES[flags & EF_RISCV_FLOAT_ABI]} modules")
        if (e ^ flags) & EF_RISCV_RVE:
            raise LinkError(f"{f.name}: can't link RVE with other target")
        flags |= e & (EF_RISCV_RVC | EF_RISCV_TSO)
    return flags or 0


def _uleb(data, i):
    v = shift = 0
    while True:
        b = data[i]
        i += 1
        v |= (b & 0x7f) << shift
        shift += 7
        if b < 0x80:
            return v, i


def _put_uleb(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def parse_attributes(data, where):
    """The file attributes of a .riscv.attributes section: {tag: value} (odd
    tags and Tag_RISCV_arch are strings, the others ULEB128 numbers)."""
    data = bytes(data)
    out = {}
    if not data:
        return out
    if data[0] != 0x41:
        raise LinkError(f"{where}: unknown attributes version {data[0]:#x}")
    i = 1
    while i + 4 <= len(data):
        size = int.from_bytes(data[i:i + 4], "little")
        end = i + size
        if size < 5 or end > len(data):
            raise LinkError(f"{where}: corrupt .riscv.attributes section")
        j = data.index(b"\0", i + 4) + 1
        vendor = data[i + 4:j - 1]
        while vendor == b"riscv" and j < end:
            tag = data[j]
            sub = int.from_bytes(data[j + 1:j + 5], "little")
            k, sub_end = j + 5, j + sub
            while tag == 1 and k < sub_end:         # (Tag_File: the attributes of the whole file)
                t, k = _uleb(data, k)
                if t % 2 or t == 5:
                    z = data.index(b"\0", k)
                    out[t] = data[k:z].decode("ascii", "replace")
                    k = z + 1
                else:
                    out[t], k = _uleb(data, k)
            j = sub_end
        i = end
    return out


# canonical order of the single-letter extensions (after the base i/e/g)
_STD_ORDER = "iemafdqlcbkjtpvnh"


def _arch_key(ext):
    if len(ext) == 1:
        return (0, _STD_ORDER.find(ext) if ext in _STD_ORDER else 99, ext)
    cls = {"z": 1, "s": 2, "x": 4}.get(ext[0], 3)
    if cls == 1:
        return (1, _STD_ORDER.find(ext[1]) if ext[1] in _STD_ORDER else 99, ext)
    return (cls, 0, ext)


def merge_arch(strings):
    """One ISA string naming every extension of the inputs (each at its highest
    version), in canonical order: "rv64i2p1_m2p0_..._zicsr2p0"."""
    xlen, exts = None, {}
    for s in strings:
        s = s.lower()
        if not s.startswith("rv"):
            continue
        digits = 2
        while digits < len(s) and s[digits].isdigit():
            digits += 1
        xlen = xlen or s[2:digits]
        for tok in filter(None, s[digits:].split("_")):
            name = tok.rstrip("0123456789p") or tok
            ver = tok[len(name):]
            if name and len(name) > 1 and name[0] not in "zsx":
                continue        # (an unparsed run of single letters: left out)
            major, _, minor = ver.partition("p")
            key = (int(major or 0), int(minor or 0))
            if name not in exts or key > exts[name][0]:
                exts[name] = (key, ver)
    if xlen is None:
        return None
    order = sorted(exts, key=_arch_key)
    return f"rv{xlen}" + "_".join(f"{e}{exts[e][1]}" for e in order)


def merge_attributes(sections):
    """The bytes of the merged .riscv.attributes of `sections` (ld.bfd: the
    arch strings merged, the stack alignment shared, unaligned access if any
    input allows it, the others from the first input that has them)."""
    merged, arches = {}, []
    for s in sections:
        attrs = parse_attributes(s.bytes(), s.where())
        for tag, v in attrs.items():
            if tag == 5:
                arches.append(v)
            elif tag == 4 and tag in merged and v != merged[tag]:
                raise LinkError(f"{s.where()}: conflicting Tag_RISCV_stack_align: {v} and {merged[tag]}")
            elif tag == 6:
                merged[tag] = merged.get(tag, 0) | v
            else:
                merged.setdefault(tag, v)
    arch = merge_arch(arches)
    if arch is not None:
        merged[5] = arch
    body = bytearray()
    for tag in sorted(merged):
        v = merged[tag]
        body += _put_uleb(tag)
        body += (v.encode() + b"\0") if isinstance(v, str) else _put_uleb(v)
    sub = b"\x01" + (len(body) + 5).to_bytes(4, "little") + bytes(body)
    vendor = b"riscv\0"
    return b"A" + (len(sub) + len(vendor) + 4).to_bytes(4, "little") + vendor + sub


def merge_attribute_sections(ctx):
    """The first .riscv.attributes input section gets the merged contents, the
    others none (the output section is the one ld.bfd writes)."""
    secs = [s for f in ctx.files if hasattr(f, "sections") for s in f.sections
            if s is not None and s.is_input and s.live and s.type == SHT_RISCV_ATTRIBUTES]
    if ctx.config.relocatable:
        pass                    # (-r: before placement)
    else:
        secs = [s for s in secs if s.output is not None]
    if not secs:
        return
    data = np.frombuffer(merge_attributes(secs), np.uint8)
    for s in secs[1:]:
        s.data, s.size = np.zeros(0, np.uint8), 0
    secs[0].data, secs[0].size = data, len(data)
    if secs[0].output is not None:
        secs[0].output.type = SHT_RISCV_ATTRIBUTES


# --------------------------------------------------------------------------
# the target

class RiscV64(Target):
    MACHINE = EM_RISCV
    NAME = "riscv64"
    IS64, LITTLE, RELA = True, True, True
    EMULATIONS = EMULATIONS
    OUTPUT_FORMAT = "elf64-littleriscv"
    BFD_ARCH = "riscv"
    PAGE_SIZE = 0x1000
    EXEC_BASE = 0x10000
    DYNAMIC_LINKER = DYNAMIC_LINKER
    SEARCH_DIRS = ("/usr/local/lib/riscv64-linux-gnu", "/lib/riscv64-linux-gnu",
                   "/usr/lib/riscv64-linux-gnu", "/usr/local/lib64/lp64d", "/usr/local/lib64",
                   "/lib64/lp64d", "/lib64", "/usr/lib64/lp64d", "/usr/lib64", "/usr/local/lib",
                   "/lib", "/usr/lib", "/usr/riscv64-linux-gnu/lib64/lp64d",
                   "/usr/riscv64-linux-gnu/lib64", "/usr/riscv64-linux-gnu/lib")
    PLT_ENTRY_SIZE = PLT_ENTRY_SIZE
    PLT_HEADER_SIZE = PLT_HEADER_SIZE
    GOTPLT_RESERVED = 2             # .got.plt[0]: the resolver, [1]: the link map
    GOTPLT_FIRST = -1
    PLTGOT_NEEDS_PLT = True
    GOT_HEADER = 1                  # .got[0] = _DYNAMIC; _GLOBAL_OFFSET_TABLE_ = .got
    SEPARATE_CODE = False           # (ld.bfd's elf64lriscv: -z noseparate-code)
    MISSING_STACK_NOTE_EXECUTABLE = False   # (ld.bfd: a missing .note.GNU-stack asks for nothing)
    PLT_GOT_ENTRIES = False
    DYNSYM_SECTION_SYMBOLS = "text"
    STO_FLAGS = STO_RISCV_VARIANT_CC
    GOT_EXPORTS = True
    FUNC_POINTERS_CANONICAL = True
    WEAK_ALIASES_DYNAMIC = True
    DSO_REFS_DYNAMIC = True
    DISCARD_L_LOCALS = True
    RELACOUNT_WHEN_NONE = False
    IE_STATIC_TLS_FLAG = "pic"
    SMALL_DATA = True
    DTREL_EXCLUDES_PLT = False
    SECTION_SEGMENTS = {SHT_RISCV_ATTRIBUTES: PT_RISCV_ATTRIBUTES}
    TLS_RELAX = False               # ld.bfd 2.40 keeps every TLS model as the code has it
    NTYPES = NTYPES
    RELOCS = _rows()
    R_NONE = 0
    R_ABS, R_RELATIVE, R_GLOB_DAT, R_JUMP_SLOT, R_COPY, R_IRELATIVE = 2, 3, 2, 5, 4, 58
    R_DTPMOD, R_DTPOFF, R_TPOFF = 7, 9, 11
    DTP_OFFSET = DTP_OFFSET

    def __init__(self):
        super().__init__()
        # HI20/LO12 pairs address a symbol absolutely (no PIC): like a narrow
        # absolute field; the low halves are the same reference, not a pointer
        enc = ENC
        # the PC-relative HI20 takes an address (canonical PLT), calls and branches do not
        self.IS_PC32 &= enc == E_U
        self.CANON_REF &= (enc == E_U) | (enc == E_I) | (enc == E_S)

    def tp_offset(self, ctx, addr):
        """The thread pointer points at the start of the TLS block (TLS variant I
        with no TCB offset)."""
        return addr - ctx.tls_start

    def direct_branches(self, rt, idx):
        return isin(ENC[np.minimum(rt.type[idx], NTYPES - 1)], (E_B, E_J, E_CB, E_CJ, E_CALL))

    def relax(self, ctx, rt, S, A, val, width, out):
        apply_fields(ctx, rt, S, A, val, width, out)

    def dynamic_exports(self, ctx):
        """A non-PIE dynamic executable's ld.bfd exports the script's symbols that
        non-PIC code references (a PLT count no function resets: __global_pointer$
        of crt1.o)."""
        rt = ctx.relocs
        if ctx.config.pie or ctx.config.shared or rt is None or rt.empty or not ctx.script_symbols:
            return ()
        G = len(ctx.symtab.symbols)
        rows = np.flatnonzero(isin(rt.type, STATIC_REFS) & (rt.key < G))
        ids = {s.gid for s in ctx.script_symbols.values()}
        return [int(k) for k in np.unique(rt.key[rows]).tolist() if k in ids]

    def dynamic_tags(self, ctx):
        """DT_RISCV_VARIANT_CC when a PLT entry calls a function of the variant
        calling convention (.variant_cc: vector arguments): the loader binds those
        at load time, as the lazy resolver would clobber the registers (ld.bfd)."""
        if ctx.plt is None or not ctx.plt.size:
            return ()
        from ldpy.symbols import st_other_flags
        if any(st_other_flags(s, STO_RISCV_VARIANT_CC) for s in ctx.plt.imports):
            return [(DT_RISCV_VARIANT_CC, 0)]
        return ()

    @staticmethod
    def emitted_types(types, out, pos, ctx=None):
        """--emit-relocs: relaxed relocations under the names ld.bfd gives them (JAL,
        RVC_JUMP, RVC_LUI, GPREL_I/S, TPREL_I/S); deleted ones, the R_RISCV_RELAX
        marker of a relaxed sequence and every R_RISCV_ALIGN (its padding is done)
        as R_RISCV_NONE."""
        types = types.copy()
        state = ctx.riscv_relax if ctx is not None else None
        if state is not None and len(state.code) == len(types):
            code = state.code
            relaxed = code != X_NONE
            types[relaxed] = X_EMITTED[code[relaxed] + 1]
            marker = np.flatnonzero(types[1:] == R["RELAX"]) + 1
            done = relaxed[marker - 1] & (pos[marker] == pos[marker - 1])
            types[marker[done]] = R["NONE"]
        types[types == R["ALIGN"]] = R["NONE"]
        return types

    def output_flags(self, ctx):
        return merged_flags(ctx.files)

    def before_layout(self, ctx):
        merge_attribute_sections(ctx)

    def after_layout(self, ctx, relayout):
        """Linker relaxation: deleted bytes change the layout (relayout)."""
        relax_sections(ctx, relayout)

    def plt_lazy(self, plt_addr, gotplt_addr, slots, n_lazy, n_iplt, **_):
        n = n_lazy + n_iplt
        entries = plt_addr + PLT_HEADER_SIZE + PLT_ENTRY_SIZE * np.arange(n, dtype=np.int64)
        return np.concatenate([plt_header(plt_addr, gotplt_addr),
                               plt_entries(entries, np.asarray(slots, np.int64)[:n])])

    def plt_entry(self, slot_addr, entry_addr, **_):
        return plt_entries([entry_addr], [slot_addr]).tobytes()

    def gotplt_lazy_values(self, plt, n):
        """Lazy .got.plt slots point at PLT0."""
        return np.full(n, plt.addr, np.int64)

    def code_fill(self, n):
        return np.zeros(n, np.uint8)


def apply_fields(ctx, rt, S, A, val, width, out):
    """RISC-V's share of apply: TP and DTP offsets, PCREL_LO12 values from their
    HI20, label differences (ADD/SUB/SET), overflow checks and the encodings."""
    typ, P = rt.type, rt.P
    tt = np.minimum(typ, NTYPES - 1)
    kind = rt.plan.kind
    skip = rt.plan.skip
    enc = ENC[tt]
    state = ctx.riscv_relax
    code = hi_of = None
    if state is not None:
        # what relaxation made of the rows: deleted, or another encoding
        code = state.code[rt.lo:rt.lo + len(typ)]
        hi_of = state.hi_of_lo[rt.lo:rt.lo + len(typ)] - rt.lo
        for x, e in X_ENC.items():
            enc = np.where(code == x, e, enc)
        gone = code == X_DELETE
        width[gone] = 0
        skip = skip | gone
    SA = S + A
    # TLS: the thread pointer is the start of the block (no TCB offset on RISC-V)
    m = kind == K_TPOFF
    val[m] = SA[m] - ctx.tls_start
    m = kind == K_DTPOFF
    val[m] = SA[m] - ctx.tls_start - DTP_OFFSET
    # PCREL_LO12: the value of the HI20 at the label it names
    lo = np.flatnonzero(IS_PCREL_LO[tt] & ~skip)
    if len(lo):
        paired = hi_of[lo] >= 0 if hi_of is not None else np.zeros(len(lo), bool)
        if paired.any():            # (paired before relaxation moved bytes)
            val[lo[paired]] = val[hi_of[lo[paired]]]
        rest = lo[~paired]
        if len(rest):
            hi = np.flatnonzero(IS_HI20[tt])
            val[rest] = pcrel_lo_values(rt, rest, S, A, hi, val[hi])
    if code is not None:
        # gp- or x0-relative (x0 when the target fits in 12 bits, as ld.bfd), tp-relative
        gpr = np.flatnonzero((code == X_GP_I) | (code == X_GP_S))
        if len(gpr):
            target = SA[gpr].copy()
            pc = IS_PCREL_LO[tt[gpr]]
            h = hi_of[gpr[pc]]
            target[pc] = val[h] + P[h] + A[gpr[pc]]         # (the AUIPC's target)
            x0 = valid_i(target)
            val[gpr] = np.where(x0, target, target - state.gp)
            set_rs1(out, rt.pos[gpr], np.where(x0, 0, X_GP))
        tpr = np.flatnonzero((code == X_TP_I) | (code == X_TP_S))
        if len(tpr):
            set_rs1(out, rt.pos[tpr], np.full(len(tpr), X_TP))
    # label differences and set fields: read, modified by every relocation at the place
    data = np.flatnonzero(DATA_OP[tt] != D_NONE)
    if len(data):
        apply_data(out, rt.pos[data], DATA_OP[tt[data]], DATA_WIDTH[tt[data]], SA[data])
    # overflow checks, then the instruction fields
    insn = np.flatnonzero((enc != E_NONE) & ~skip & (width > 0) | (IS_PCREL_LO[tt] & ~skip))
    if len(insn):
        e, v = enc[insn], val[insn]
        bad = np.zeros(len(insn), bool)
        for code, (lo_, hi_) in _RANGE.items():
            mm = e == code
            bad[mm] = (v[mm] < lo_) | (v[mm] > hi_)
        odd = isin(e, (E_B, E_J, E_CB, E_CJ)) & (v & 1 == 1)
        bad |= odd
        if bad.any():
            from ldpy.checks import report_overflows
            idx = insn[bad]
            report_overflows(ctx, rt, idx, val[idx], [_FIELD.get(int(c), "a") for c in e[bad][:1000]],
                             lambda t: TYPE_NAMES.get(int(t), str(int(t))))
        encode(out, rt.pos[insn], e, v)
        width[insn] = 0


def apply_data(out, pos, op, w, value):
    """ADD/SUB/SET relocations: each place's original field, then every SET, ADD
    and SUB of the place in that order (SET6/SUB6 only touch the low 6 bits)."""
    order = np.lexsort((op, pos))
    pos, op, w, value = pos[order], op[order], w[order], value[order]
    places, first, inv = np.unique(pos, return_index=True, return_inverse=True)
    pw = w[first]
    cur = np.zeros(len(places), np.int64)
    for k in (1, 2, 4, 8):
        m = pw == k
        if m.any():
            b = out[places[m][:, None] + np.arange(k)].astype(np.uint64)
            cur[m] = (b << (8 * np.arange(k, dtype=np.uint64))).sum(1).view(np.int64) \
                if k == 8 else (b << (8 * np.arange(k, dtype=np.uint64))).sum(1).astype(np.int64)
    six = (op == D_SET6) | (op == D_SUB6)
    m = op == D_SET
    cur[inv[m]] = value[m]
    m = op == D_SET6
    cur[inv[m]] = (cur[inv[m]] & 0xc0) | (value[m] & 0x3f)
    sign = np.where((op == D_SUB) | (op == D_SUB6), -1, np.where(op == D_ADD, 1, 0))
    delta = np.zeros(len(places), np.int64)
    np.add.at(delta, inv[~six], (sign * value)[~six])
    m = op == D_SUB6
    if m.any():
        d6 = np.zeros(len(places), np.int64)
        np.add.at(d6, inv[m], -value[m])
        hit = np.zeros(len(places), bool)
        hit[inv[m]] = True
        cur[hit] = (cur[hit] & 0xc0) | ((cur[hit] + d6[hit]) & 0x3f)
    cur += delta
    for k in (1, 2, 4, 8):
        m = pw == k
        if m.any():
            c = cur[m].view(np.uint64)
            out[places[m][:, None] + np.arange(k)] = \
                ((c[:, None] >> (8 * np.arange(k, dtype=np.uint64))) & 0xff).astype(np.uint8)


TARGET = register(RiscV64())
