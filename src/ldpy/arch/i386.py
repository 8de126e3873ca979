"""i386: ELF32, little-endian, REL relocations (addends in the section bytes).

Position-independent code reaches the GOT through a register (by convention
%ebx) holding _GLOBAL_OFFSET_TABLE_, the start of .got.plt: GOT references are
GOT-base relative (R_386_GOT32X, R_386_GOTOFF, R_386_TLS_GD, ...), and the PLT of
a PIE or shared object jumps through *slot@GOT(%ebx).  Non-PIC code uses absolute
slots (R_386_TLS_IE, the non-PIC PLT).

The relocation table maps each type to a generic kind (arch/base.py); the
instruction rewrites (GOT32X loads made direct, TLS GD/LD/IE/DESC relaxed to IE
or LE) follow ld.bfd's elf32-i386.c sequences.
"""
import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import EM_386
from ldpy.arch.base import (Target, register, K_NONE, K_ABS, K_PLT, K_GOT, K_GOTBASE, K_SIZE,
                            K_TPOFF, K_TPOFF_NEG, K_DTPOFF, K_TLS_GD, K_TLS_LD, K_TLS_IE,
                            K_TLS_DESC, K_TLS_DESC_CALL, B_NONE, B_P, B_GOT, C_NONE, C_16, C_8)

(NONE, R32, PC32, GOT32, PLT32, COPY, GLOB_DAT, JUMP_SLOT, RELATIVE, GOTOFF, GOTPC, R32PLT) = range(12)
(TLS_TPOFF, TLS_IE, TLS_GOTIE, TLS_LE, TLS_GD, TLS_LDM, R16, PC16, R8, PC8) = range(14, 24)
(TLS_LDO_32, TLS_IE_32, TLS_LE_32, TLS_DTPMOD32, TLS_DTPOFF32, TLS_TPOFF32, SIZE32, TLS_GOTDESC,
 TLS_DESC_CALL, TLS_DESC, IRELATIVE, GOT32X) = range(32, 44)

# type: (name, kind, base, width, overflow class); kind None: dynamic only.
# 32-bit fields wrap (BFD's complain_overflow_bitfield/dont for these types).
RELOCS = {
    NONE: ("NONE", K_NONE, B_NONE, 0, C_NONE),
    R32: ("32", K_ABS, B_NONE, 4, C_NONE),
    PC32: ("PC32", K_ABS, B_P, 4, C_NONE),
    GOT32: ("GOT32", K_GOT, B_GOT, 4, C_NONE),
    PLT32: ("PLT32", K_PLT, B_P, 4, C_NONE),
    COPY: ("COPY", None, B_NONE, 0, C_NONE),
    GLOB_DAT: ("GLOB_DAT", None, B_NONE, 0, C_NONE),
    JUMP_SLOT: ("JUMP_SLOT", None, B_NONE, 0, C_NONE),
    RELATIVE: ("RELATIVE", None, B_NONE, 0, C_NONE),
    GOTOFF: ("GOTOFF", K_ABS, B_GOT, 4, C_NONE),
    GOTPC: ("GOTPC", K_GOTBASE, B_P, 4, C_NONE),
    R32PLT: ("32PLT", K_PLT, B_NONE, 4, C_NONE),
    TLS_TPOFF: ("TLS_TPOFF", None, B_NONE, 0, C_NONE),
    TLS_IE: ("TLS_IE", K_TLS_IE, B_NONE, 4, C_NONE),
    TLS_GOTIE: ("TLS_GOTIE", K_TLS_IE, B_GOT, 4, C_NONE),
    TLS_LE: ("TLS_LE", K_TPOFF, B_NONE, 4, C_NONE),
    TLS_GD: ("TLS_GD", K_TLS_GD, B_GOT, 4, C_NONE),
    TLS_LDM: ("TLS_LDM", K_TLS_LD, B_GOT, 0, C_NONE),
    R16: ("16", K_ABS, B_NONE, 2, C_16),
    PC16: ("PC16", K_ABS, B_P, 2, C_16),
    R8: ("8", K_ABS, B_NONE, 1, C_8),
    PC8: ("PC8", K_ABS, B_P, 1, C_8),
    TLS_LDO_32: ("TLS_LDO_32", K_DTPOFF, B_NONE, 4, C_NONE),
    TLS_LE_32: ("TLS_LE_32", K_TPOFF_NEG, B_NONE, 4, C_NONE),
    TLS_DTPMOD32: ("TLS_DTPMOD32", None, B_NONE, 0, C_NONE),
    TLS_DTPOFF32: ("TLS_DTPOFF32", None, B_NONE, 0, C_NONE),
    TLS_TPOFF32: ("TLS_TPOFF32", None, B_NONE, 0, C_NONE),
    SIZE32: ("SIZE32", K_SIZE, B_NONE, 4, C_NONE),
    TLS_GOTDESC: ("TLS_GOTDESC", K_TLS_DESC, B_GOT, 4, C_NONE),
    TLS_DESC_CALL: ("TLS_DESC_CALL", K_TLS_DESC_CALL, B_NONE, 0, C_NONE),
    TLS_DESC: ("TLS_DESC", None, B_NONE, 0, C_NONE),
    IRELATIVE: ("IRELATIVE", None, B_NONE, 0, C_NONE),
    GOT32X: ("GOT32X", K_GOT, B_GOT, 4, C_NONE),
}
RELOCS = {t: ("R_386_" + r[0],) + r[1:] for t, r in RELOCS.items()}


# no-ops for code padding: BFD's i386 fill (bfd_arch_i386_short_nop_fill) repeats
# the two-byte nop (66 90) and ends an odd gap with 90
_NOPS = [bytes(b) for b in (
    [0x90], [0x66, 0x90], [0x8d, 0x76, 0x00], [0x8d, 0x74, 0x26, 0x00],
    [0x90, 0x8d, 0x74, 0x26, 0x00], [0x8d, 0xb6, 0, 0, 0, 0], [0x8d, 0xb4, 0x26, 0, 0, 0, 0])]


def code_fill(n):
    return np.frombuffer(b"\x66\x90" * (n // 2) + b"\x90" * (n % 2), np.uint8)


def _i4(v):
    return np.asarray(v, np.int64).astype("<i4").view(np.uint8).reshape(-1, 4)


def plt_lazy(plt_addr, gotplt_addr, slots, n_lazy, n_iplt, pic=False, **_):
    """The lazy .plt.  PLT0: push GOT[1]; jmp *GOT[2]; entry i: jmp *slot;
    push $reloc_offset (of its JUMP_SLOT in .rel.plt); jmp PLT0.  PIC entries
    address the slots from %ebx (= .got.plt)."""
    n = n_lazy + n_iplt
    code = np.zeros((n + 1, 16), np.uint8)
    if pic:
        code[0, :12] = np.frombuffer(b"\xff\xb3\x04\0\0\0\xff\xa3\x08\0\0\0", np.uint8)
    else:
        code[0, :12] = np.frombuffer(b"\xff\x35\0\0\0\0\xff\x25\0\0\0\0", np.uint8)
        code[0, 2:6] = _i4([gotplt_addr + 4])
        code[0, 8:12] = _i4([gotplt_addr + 8])
    if n:
        entry = plt_addr + 16 * np.arange(1, n + 1)
        slots = np.asarray(slots, np.int64)
        code[1:, 0:2] = (0xff, 0xa3) if pic else (0xff, 0x25)
        code[1:, 2:6] = _i4(slots - gotplt_addr if pic else slots)
        lazy = np.arange(n) < n_lazy
        code[1:, 6][lazy] = 0x68
        code[1:, 7:11][lazy] = _i4(8 * np.arange(n_lazy))
        code[1:, 11][lazy] = 0xe9
        code[1:, 12:16][lazy] = _i4(plt_addr - (entry[lazy] + 16))
        code[1:, 6:][~lazy] = np.frombuffer(b"\x66\x90" + bytes(_NOPS[6]) + b"\x90", np.uint8)
    return code.reshape(-1)


def plt_entry(slot_addr, entry_addr, gotplt_addr=0, pic=False, **_):
    """An IPLT entry of a static link: jmp *slot (from %ebx in PIC), padding."""
    if pic:
        return b"\xff\xa3" + ((slot_addr - gotplt_addr) & 0xffffffff).to_bytes(4, "little") + \
            b"\x66\x90" + bytes(_NOPS[6]) + b"\x90"
    return b"\xff\x25" + (slot_addr & 0xffffffff).to_bytes(4, "little") + b"\x66\x90" + bytes(_NOPS[6]) + b"\x90"


def plt_indirect(entry_addrs, slots, ibt=False, gotplt_addr=0, pic=False, **_):
    """.plt.got entries: jmp *slot (from %ebx in PIC); xchg %ax,%ax."""
    entry_addrs = np.asarray(entry_addrs, np.int64)
    code = np.tile(np.frombuffer(b"\xff\xa3\0\0\0\0\x66\x90" if pic else b"\xff\x25\0\0\0\0\x66\x90",
                                 np.uint8), (len(entry_addrs), 1))
    if len(entry_addrs):
        s = np.asarray(slots, np.int64)
        code[:, 2:6] = _i4(s - gotplt_addr if pic else s)
    return code.reshape(-1)


def _put(out, pos, val, width=4):
    if len(pos):
        out[pos[:, None] + np.arange(width)] = np.asarray(val, np.int64).astype("<i8").view(
            np.uint8).reshape(-1, 8)[:, :width]


def _patch(out, pos, pattern):
    if len(pos):
        out[pos[:, None] + np.arange(len(pattern))] = np.frombuffer(pattern, np.uint8)


def _room(rt, idx, before, after):
    off = rt.offset[idx]
    return (off >= before) & (off + after <= rt.sec_size[rt.sec_ordinal[idx]])


def _b(out, q):
    return out[np.minimum(q, len(out) - 1)]


def scan_got_relax(ctx, rt, plan):
    """GOT32X loads of a symbol bound here (not an IFUNC, addend 0) become direct, as
    ld.bfd converts them: in PIC outputs only those addressing the GOT from a base
    register (movl x@GOT(%reg),%r -> leal x@GOTOFF(%reg),%r; call/jmp *x@GOT(%reg) ->
    call/jmp x); in non-PIC executables also the forms without a base register, and
    mov, test and the ALU operations (adc add and cmp or sbb sub xor) take x as an
    immediate (movl $x,%r; testl $x,%r; addl $x,%r ...).  An absolute symbol (SHN_ABS,
    --defsym x=16) of a PIC output does not move with the load base: its mov takes
    the immediate too (a GOT-relative lea would add the base), its branches keep
    their GOT slot."""
    typ, key, K = rt.type, rt.key, ctx.keys
    idx = np.flatnonzero(typ == GOT32X)
    if not len(idx):
        return
    b2, b1 = rt.original_bytes(idx, 2), rt.original_bytes(idx, 1)
    pic = ctx.config.shared or ctx.config.pie
    base_reg = (b1 & 0xc0) == 0x80             # mod 10: disp32(%reg)
    where = base_reg if pic else base_reg | ((b1 & 0xc7) == 0x05)     # (or disp32 alone)
    branch = (b2 == 0xff) & (((b1 & 0x38) == 0x10) | ((b1 & 0x38) == 0x20))
    load = b2 == 0x8b
    if not pic:
        load |= (b2 == 0x85) | ((b2 & 0xc7) == 0x03)
    form_ok = where & (load | branch) & (rt.offset[idx] >= 2) & (rt.addend[idx] == 0)
    kk = key[idx]
    local = K.defined[kk] & ~K.imported[kk] & ~K.ifunc[kk] & ~K.undef_weak[kk]
    if ctx.config.shared:
        local &= K.local_binding[kk]
    if pic:
        local &= ~K.absolute[kk] | (b2 == 0x8b)
    plan.relax_gotx[idx] = form_ok & local


def relax(ctx, rt, S, A, val, width, out):
    typ, P, pos = rt.type, rt.P, rt.pos
    plan = rt.plan
    got_base = ctx.got_base_addr
    idx = np.flatnonzero(plan.relax_gotx)
    if len(idx):
        p = pos[idx]
        op, modrm = out[p - 2], out[p - 1]
        SA = S[idx] + A[idx]
        reg = (modrm >> 3) & 7
        if ctx.config.shared or ctx.config.pie:
            absolute = ctx.keys.absolute[rt.key[idx]]
            mov = (op == 0x8b) & ~absolute
            out[p[mov] - 2] = 0x8d                     # lea x@GOTOFF(%reg)
            val[idx[mov]] = SA[mov] - got_base
            imm = absolute                             # movl $x,%r (c7 /0)
            out[p[imm] - 2] = 0xc7
            out[p[imm] - 1] = (0xc0 | reg[imm]).astype(np.uint8)
            val[idx[imm]] = SA[imm]
        else:
            # movl $x,%r (c7 /0); testl $x,%r (f7 /0); ALU $x,%r (81 /op)
            imm = (op != 0xff)
            out[p[imm] - 2] = np.select([op[imm] == 0x8b, op[imm] == 0x85], [0xc7, 0xf7], 0x81).astype(np.uint8)
            alu = np.where((op[imm] == 0x8b) | (op[imm] == 0x85), 0, op[imm] & 0x38)
            out[p[imm] - 1] = (0xc0 | reg[imm] | alu).astype(np.uint8)
            val[idx[imm]] = SA[imm]
        call = (op == 0xff) & ((modrm & 0x38) == 0x10)
        _patch(out, p[call] - 2, b"\x67\xe8")          # addr32 call x
        val[idx[call]] = SA[call] - 4 - P[idx[call]]
        jmp = (op == 0xff) & ((modrm & 0x38) == 0x20)
        if jmp.any():
            j = idx[jmp]
            out[pos[j] - 2] = 0xe9                     # jmp x; nop
            out[pos[j] + 3] = 0x90
            _put(out, pos[j] - 1, SA[jmp] - 4 - (P[j] - 1))
            width[j] = 0
    if not ctx.config.shared:
        _relax_tls(ctx, rt, typ, S, A, pos, val, width, plan.skip, out, ctx.tls_end)


def direct_branches(rt, idx):
    """call/jmp rel32 (e8/e9) and jcc rel32 (0f 8x) before the field."""
    b1, b2 = rt.original_bytes(idx, 1), rt.original_bytes(idx, 2)
    off = rt.offset[idx]
    return ((off >= 1) & ((b1 == 0xe8) | (b1 == 0xe9))) | ((off >= 2) & (b2 == 0x0f) & ((b1 & 0xf0) == 0x80))


def _gd_forms(out, p, rt, idx):
    """The general-dynamic (and local-dynamic) leal of each relocation:
    leal x@tlsgd(,%ebx,1),%eax (8d 04 1d, 7 bytes) or leal x@tlsgd(%reg),%eax
    (8d 80+reg, 6 bytes), followed by call ___tls_get_addr@PLT (e8) or, with
    -fno-plt, call *___tls_get_addr@GOT(%reg) (ff 90+reg)."""
    sib = _room(rt, idx, 3, 9) & (out[p - 3] == 0x8d) & (out[p - 2] == 0x04) & (out[p - 1] == 0x1d)
    reg = _room(rt, idx, 2, 10) & (out[p - 2] == 0x8d) & ((out[p - 1] & 0xf8) == 0x80) & \
        ((out[p - 1] & 7) != 4)
    call_plt = _b(out, p + 4) == 0xe8
    call_got = (_b(out, p + 4) == 0xff) & ((_b(out, p + 5) & 0xf8) == 0x90)
    return sib, reg, call_plt, call_got


def _relax_tls(ctx, rt, typ, S, A, pos, val, width, skip, out, tp):
    where = rt.where
    plan = rt.plan
    kind = plan.kind
    got_base = ctx.got_base_addr
    # general-dynamic -> initial-exec (imported) or local-exec: 12 bytes become
    #   movl %gs:0,%eax; addl x@gotntpoff(%reg),%eax    /  subl $x@tpoff,%eax
    idx = np.flatnonzero(kind == K_TLS_GD)
    if len(idx):
        p = pos[idx]
        sib, reg, call_plt, call_got = _gd_forms(out, p, rt, idx)
        ok = (sib & call_plt) | (reg & (call_plt | call_got))
        if not ok.all():
            raise LinkError(f"{where(int(idx[np.argmin(ok)]))}: unrecognized general-dynamic "
                            f"TLS code sequence for R_386_TLS_GD")
        start = np.where(sib, p - 3, p - 2)
        base = np.where(sib, 3, out[p - 1] & 7)       # (the GOT register: %ebx in the SIB form)
        ie = plan.gd_to_ie[idx]
        seq = np.zeros((len(idx), 12), np.uint8)
        seq[:, :6] = np.frombuffer(b"\x65\xa1\0\0\0\0", np.uint8)
        seq[:, 6] = np.where(ie, 0x03, 0x81)
        seq[:, 7] = np.where(ie, 0x80 | base, 0xe8)
        slot = np.zeros(len(idx), np.int64)
        if ie.any():
            slot[ie] = ctx.got.slot_addresses(rt.key[idx[ie]]) - got_base
        tpoff = tp - (S[idx] + A[idx])
        seq[:, 8:12] = _i4(np.where(ie, slot, tpoff))
        out[start[:, None] + np.arange(12)] = seq
        width[idx] = 0
    # local-dynamic -> local-exec: leal x@tlsldm(%reg),%eax; call ___tls_get_addr
    #   -> movl %gs:0,%eax; nop; leal 0(%esi,1),%esi   (12 bytes with -fno-plt)
    idx = np.flatnonzero(kind == K_TLS_LD)
    if len(idx):
        p = pos[idx]
        _, reg, call_plt, call_got = _gd_forms(out, p, rt, idx)
        ok = reg & (call_plt | call_got)
        if not ok.all():
            raise LinkError(f"{where(int(idx[np.argmin(ok)]))}: unrecognized local-dynamic "
                            f"TLS code sequence for R_386_TLS_LDM")
        _patch(out, p[call_plt] - 2, b"\x65\xa1\0\0\0\0\x90\x8d\x74\x26\x00")
        _patch(out, p[call_got & ~call_plt] - 2, b"\x65\xa1\0\0\0\0\x8d\xb6\0\0\0\0")
        width[idx] = 0
    # initial-exec -> local-exec for variables of the executable:
    #   movl x@indntpoff,%eax (a1) -> movl $x@ntpoff,%eax (b8)
    #   movl/addl x@indntpoff,%reg, movl/addl x@gotntpoff(%reg1),%reg
    #        -> movl $x@ntpoff,%reg (c7 c0+reg) / addl $x@ntpoff,%reg (81 c0+reg)
    idx = np.flatnonzero((kind == K_TLS_IE) & ~plan.ie_keep & ~skip)
    if len(idx):
        p = pos[idx]
        op, modrm = out[p - 2], out[p - 1]
        movabs = (out[p - 1] == 0xa1) & (rt.type[idx] == TLS_IE)
        ok = movabs | (((op == 0x8b) | (op == 0x03)) & _room(rt, idx, 2, 4))
        ok &= _room(rt, idx, 1, 4)
        if not ok.all():
            raise LinkError(f"{where(int(idx[np.argmin(ok)]))}: {TARGET.type_name(typ[idx[np.argmin(ok)]])} "
                            f"on an instruction that cannot be relaxed to local-exec")
        out[p[movabs] - 1] = 0xb8
        r = ~movabs
        reg = (modrm[r] >> 3) & 7
        out[p[r] - 2] = np.where(op[r] == 0x8b, 0xc7, 0x81).astype(np.uint8)
        out[p[r] - 1] = (0xc0 | reg).astype(np.uint8)
        val[idx] = S[idx] + A[idx] - tp
        width[idx] = 4
    # TLS descriptors: leal x@tlsdesc(%ebx),%eax; call *x@tlscall(%eax)
    #   -> leal x@ntpoff,%eax (local-exec) / movl x@gotntpoff(%ebx),%eax (initial-exec);
    #      the call becomes xchg %ax,%ax
    idx = np.flatnonzero(kind == K_TLS_DESC)
    if len(idx):
        p = pos[idx]
        ok = (out[p - 2] == 0x8d) & ((out[p - 1] & 0xc7) == 0x83) & _room(rt, idx, 2, 4)
        if not ok.all():
            raise LinkError(f"{where(int(idx[np.argmin(ok)]))}: unrecognized TLS descriptor sequence")
        ie = plan.desc_to_ie[idx]
        out[p[ie] - 2] = 0x8b               # (the GOT-relative value is already in val)
        le = idx[~ie]
        out[pos[le] - 1] = (0x05 | (out[pos[le] - 1] & 0x38)).astype(np.uint8)
        val[le] = S[le] + A[le] - tp
        width[le] = 4
    idx = np.flatnonzero(kind == K_TLS_DESC_CALL)
    if len(idx):
        ok = _room(rt, idx, 0, 2) & (out[pos[idx]] == 0xff) & (out[np.minimum(pos[idx] + 1, len(out) - 1)] == 0x10)
        if not ok.all():
            raise LinkError(f"{where(int(idx[np.argmin(ok)]))}: R_386_TLS_DESC_CALL not on "
                            f"call *(%eax)")
        _patch(out, pos[idx], b"\x66\x90")


def emitted_types(types, out, pos, **_):
    """--emit-relocs: a GOT32X load made direct is written as what it became, as
    BFD renames it: `lea x@GOTOFF(%reg)` an R_386_GOTOFF, `mov/test/ALU $x` an
    R_386_32, `addr32 call x` an R_386_PC32.  (The relaxed `jmp x` moved its field
    one byte back; it keeps GOT32X.)"""
    types = types.copy()
    idx = np.flatnonzero((types == GOT32X) & (pos >= 2))
    if len(idx):
        p = pos[idx]
        op, modrm = out[p - 2], out[p - 1]
        types[idx[op == 0x8d]] = GOTOFF
        types[idx[(op == 0x67) & (modrm == 0xe8)]] = PC32
        types[idx[((op == 0xc7) | (op == 0xf7) | (op == 0x81)) & (modrm >= 0xc0)]] = R32
    return types


# -- unwind information for the PLT (ld.bfd's --ld-generated-unwind-info) ---------
# GCC's CIE for i386 ("zR", data alignment -4, return address r8, CFA = esp + 4);
# the lazy .plt's FDE: 8, then 12 after the header's pushes, then per entry 4 more
# once the entry's push ran (eip & 15 >= 11); .plt.got: no stack change.
PLT_CIE = bytes.fromhex("14000000" "00000000" "017a5200" "017c0801" "1b0c0404" "88010000")
LAZY_PLT_PROGRAM = bytes([0x0e, 8, 0x46, 0x0e, 12, 0x4a, 0x0f, 11,
                          0x74, 4, 0x78, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x32, 0x24, 0x22])


def plt_unwind(ctx):
    """Target.plt_unwind: .plt and .plt.got of a dynamic output."""
    plt = ctx.plt
    if not ctx.is_dynamic or plt is None:
        return None
    return PLT_CIE, [(plt, LAZY_PLT_PROGRAM), (plt.got_entries, b"\0" * 3)]


class I386(Target):
    MACHINE = EM_386
    NAME = "i386"
    IS64, LITTLE, RELA = False, True, False
    EMULATIONS = ("elf_i386",)
    OUTPUT_FORMAT = "elf32-i386"
    BFD_ARCH = "i386"
    PAGE_SIZE = 0x1000
    EXEC_BASE = 0x8048000
    DYNAMIC_LINKER = "/lib/ld-linux.so.2"
    SEARCH_DIRS = ("/usr/local/lib/i386-linux-gnu", "/lib/i386-linux-gnu", "/usr/lib/i386-linux-gnu",
                   "/usr/local/lib32", "/lib32", "/usr/lib32", "/usr/local/lib", "/lib", "/usr/lib",
                   "/usr/i686-linux-gnu/lib32", "/usr/i686-linux-gnu/lib")
    IPLT_SYMBOLS = (b"__rel_iplt_start", b"__rel_iplt_end")
    PLT_ENTRY_SIZE = PLT_HEADER_SIZE = 16
    PLT_SH_ENTSIZE = 4              # (elf32-i386.c sets 4 in the .plt header)
    PLT_GOT_ENTRY_SIZE = {False: 8, True: 8}
    RELOCS = RELOCS
    ADDEND_WIDTH = {TLS_LDM: 4}
    TLS_CALL_FOLLOWS = True
    DTPOFF_RELAXED_IN_EXEC = True
    TLS_GET_ADDR = b"___tls_get_addr"
    R_ABS, R_RELATIVE, R_GLOB_DAT, R_JUMP_SLOT, R_COPY, R_IRELATIVE = R32, RELATIVE, GLOB_DAT, JUMP_SLOT, COPY, IRELATIVE
    R_DTPMOD, R_DTPOFF, R_TPOFF, R_TLSDESC = TLS_DTPMOD32, TLS_DTPOFF32, TLS_TPOFF, TLS_DESC
    scan_got_relax = staticmethod(scan_got_relax)
    direct_branches = staticmethod(direct_branches)
    relax = staticmethod(relax)
    code_fill = staticmethod(code_fill)
    plt_entry = staticmethod(plt_entry)
    plt_lazy = staticmethod(plt_lazy)
    plt_indirect = staticmethod(plt_indirect)
    emitted_types = staticmethod(emitted_types)
    plt_unwind = staticmethod(plt_unwind)


TARGET = register(I386())
