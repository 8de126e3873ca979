"""x86-64: the relocation table (type -> generic kind, base, width, overflow class),
GOT/TLS relaxations as byte patterns, and the PLT templates.  The generic scan and
apply (ldpy/reloc_policy.py) call the methods of TARGET at the end of this file.
"""
import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import EM_X86_64
from ldpy.arch.base import (Target, register, K_NONE, K_ABS, K_PLT, K_GOT, K_GOTBASE, K_SIZE,
                            K_TPOFF, K_DTPOFF, K_TLS_GD, K_TLS_LD, K_TLS_IE, K_TLS_DESC,
                            K_TLS_DESC_CALL, B_NONE, B_P, B_GOT, C_NONE, C_S32, C_U32, C_16, C_8)

(NONE, R64, PC32, GOT32, PLT32, COPY, GLOB_DAT, JUMP_SLOT, RELATIVE, GOTPCREL, R32, R32S, R16,
 PC16, R8, PC8, DTPMOD64, DTPOFF64, TPOFF64, TLSGD, TLSLD, DTPOFF32, GOTTPOFF, TPOFF32, PC64,
 GOTOFF64, GOTPC32, GOT64, GOTPCREL64, GOTPC64, GOTPLT64, PLTOFF64, SIZE32, SIZE64,
 GOTPC32_TLSDESC, TLSDESC_CALL, TLSDESC, IRELATIVE, RELATIVE64) = range(39)
GOTPCRELX, REX_GOTPCRELX = 41, 42

# type: (name, kind, base, width, overflow class); kind None: not linkable (dynamic only)
RELOCS = {
    NONE: ("NONE", K_NONE, B_NONE, 0, C_NONE),
    R64: ("64", K_ABS, B_NONE, 8, C_NONE),
    PC32: ("PC32", K_ABS, B_P, 4, C_S32),
    GOT32: ("GOT32", K_GOT, B_GOT, 4, C_S32),
    PLT32: ("PLT32", K_PLT, B_P, 4, C_S32),
    COPY: ("COPY", None, B_NONE, 0, C_NONE),
    GLOB_DAT: ("GLOB_DAT", None, B_NONE, 0, C_NONE),
    JUMP_SLOT: ("JUMP_SLOT", None, B_NONE, 0, C_NONE),
    RELATIVE: ("RELATIVE", None, B_NONE, 0, C_NONE),
    GOTPCREL: ("GOTPCREL", K_GOT, B_P, 4, C_S32),
    R32: ("32", K_ABS, B_NONE, 4, C_U32),
    R32S: ("32S", K_ABS, B_NONE, 4, C_S32),
    R16: ("16", K_ABS, B_NONE, 2, C_16),
    PC16: ("PC16", K_ABS, B_P, 2, C_16),
    R8: ("8", K_ABS, B_NONE, 1, C_8),
    PC8: ("PC8", K_ABS, B_P, 1, C_8),
    DTPMOD64: ("DTPMOD64", None, B_NONE, 0, C_NONE),
    DTPOFF64: ("DTPOFF64", K_DTPOFF, B_NONE, 8, C_NONE),
    TPOFF64: ("TPOFF64", K_TPOFF, B_NONE, 8, C_NONE),
    TLSGD: ("TLSGD", K_TLS_GD, B_P, 4, C_S32),
    TLSLD: ("TLSLD", K_TLS_LD, B_P, 0, C_NONE),
    DTPOFF32: ("DTPOFF32", K_DTPOFF, B_NONE, 4, C_S32),
    GOTTPOFF: ("GOTTPOFF", K_TLS_IE, B_P, 4, C_S32),
    TPOFF32: ("TPOFF32", K_TPOFF, B_NONE, 4, C_S32),
    PC64: ("PC64", K_ABS, B_P, 8, C_NONE),
    GOTOFF64: ("GOTOFF64", K_ABS, B_GOT, 8, C_NONE),
    GOTPC32: ("GOTPC32", K_GOTBASE, B_P, 4, C_S32),
    GOT64: ("GOT64", K_GOT, B_GOT, 8, C_NONE),
    GOTPCREL64: ("GOTPCREL64", K_GOT, B_P, 8, C_NONE),
    GOTPC64: ("GOTPC64", K_GOTBASE, B_P, 8, C_NONE),
    GOTPLT64: ("GOTPLT64", K_GOT, B_GOT, 8, C_NONE),
    PLTOFF64: ("PLTOFF64", K_PLT, B_GOT, 8, C_NONE),
    SIZE32: ("SIZE32", K_SIZE, B_NONE, 4, C_U32),
    SIZE64: ("SIZE64", K_SIZE, B_NONE, 8, C_NONE),
    GOTPC32_TLSDESC: ("GOTPC32_TLSDESC", K_TLS_DESC, B_P, 4, C_S32),
    TLSDESC_CALL: ("TLSDESC_CALL", K_TLS_DESC_CALL, B_NONE, 0, C_NONE),
    TLSDESC: ("TLSDESC", None, B_NONE, 0, C_NONE),
    IRELATIVE: ("IRELATIVE", None, B_NONE, 0, C_NONE),
    RELATIVE64: ("RELATIVE64", None, B_NONE, 0, C_NONE),
    GOTPCRELX: ("GOTPCRELX", K_GOT, B_P, 4, C_S32),
    REX_GOTPCRELX: ("REX_GOTPCRELX", K_GOT, B_P, 4, C_S32),
}
RELOCS = {t: ("R_X86_64_" + r[0],) + r[1:] for t, r in RELOCS.items()}


DYNAMIC_LINKER = "/lib64/ld-linux-x86-64.so.2"


# no-ops of 1 to 10 bytes: GNU ld pads code sections with the longest that
# fit, then one for the rest (BFD's x86-64 fill)
_NOPS = [bytes(b) for b in (
    [0x90], [0x66, 0x90], [0x0f, 0x1f, 0x00], [0x0f, 0x1f, 0x40, 0x00],
    [0x0f, 0x1f, 0x44, 0x00, 0x00], [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
    [0x0f, 0x1f, 0x80, 0, 0, 0, 0], [0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0],
    [0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0], [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0])]


def code_fill(n):
    """n bytes of padding for a code section."""
    full, rest = divmod(n, 10)
    return np.frombuffer(_NOPS[9] * full + (_NOPS[rest - 1] if rest else b""), np.uint8)


def plt_entry(slot_addr, entry_addr, **_):
    """An IPLT entry: jmp *slot(%rip), then padding."""
    rel = (slot_addr - (entry_addr + 6)) & 0xffffffff
    return b"\xff\x25" + rel.to_bytes(4, "little") + b"\xcc" * 10


def _plt0(plt_addr, gotplt_addr):
    """PLT0: pushq GOT[1]; jmp *GOT[2] (the loader's resolver); nopl."""
    code = np.frombuffer(b"\xff\x35\0\0\0\0\xff\x25\0\0\0\0\x0f\x1f\x40\x00", np.uint8).copy()
    code[2:6] = np.array([(gotplt_addr + 8) - (plt_addr + 6)], "<i4").view(np.uint8)
    code[8:12] = np.array([(gotplt_addr + 16) - (plt_addr + 12)], "<i4").view(np.uint8)
    return code


def plt_lazy(plt_addr, gotplt_addr, slots, n_lazy, n_iplt, **_):
    """The lazy .plt: PLT0 pushes GOT[1] and jumps to GOT[2] (the loader's
    resolver); entry i jumps through its slot, which first points back at its
    push $i; jmp PLT0.  Local IFUNC entries follow, without a lazy path.
    slots: address of each entry's .got.plt slot."""
    n = n_lazy + n_iplt
    code = np.zeros((n + 1, 16), np.uint8)
    code[0] = _plt0(plt_addr, gotplt_addr)
    if n:
        entry = plt_addr + 16 * np.arange(1, n + 1)
        code[1:, 0:2] = (0xff, 0x25)
        code[1:, 2:6] = (np.asarray(slots, np.int64) - (entry + 6)).astype("<i4").view(np.uint8).reshape(-1, 4)
        lazy = np.arange(n) < n_lazy
        code[1:, 6][lazy] = 0x68
        code[1:, 7:11][lazy] = np.arange(n_lazy).astype("<i4").view(np.uint8).reshape(-1, 4)
        code[1:, 11][lazy] = 0xe9
        code[1:, 12:16][lazy] = (plt_addr - (entry[lazy] + 16)).astype("<i4").view(np.uint8).reshape(-1, 4)
        code[1:, 6:][~lazy] = 0xcc
    return code.reshape(-1)


# IBT-enabled PLT (ld.bfd's layout when the output has GNU_PROPERTY_X86_FEATURE_1_IBT
# or with -z ibtplt): the lazy .plt keeps PLT0 and, per function, endbr64; push $i;
# jmp PLT0; the entry code calls is in .plt.sec: endbr64; jmp *slot(%rip); nopw
_IBT_LAZY = b"\xf3\x0f\x1e\xfa\x68\0\0\0\0\xe9\0\0\0\0\x66\x90"
_IBT_JMP = b"\xf3\x0f\x1e\xfa\xff\x25\0\0\0\0\x66\x0f\x1f\x44\x00\x00"
_PLT_GOT = b"\xff\x25\0\0\0\0\x66\x90"       # .plt.got entry without IBT (8 bytes)
PLT_GOT_ENTRY_SIZE = {False: 8, True: 16}


def plt_lazy_ibt(plt_addr, gotplt_addr, n_lazy):
    """PLT0 and the n_lazy lazy entries of an IBT .plt."""
    code = np.zeros((n_lazy + 1, 16), np.uint8)
    code[0] = _plt0(plt_addr, gotplt_addr)
    if n_lazy:
        entry = plt_addr + 16 * np.arange(1, n_lazy + 1)
        code[1:] = np.frombuffer(_IBT_LAZY, np.uint8)
        code[1:, 5:9] = np.arange(n_lazy).astype("<i4").view(np.uint8).reshape(-1, 4)
        code[1:, 10:14] = (plt_addr - (entry + 14)).astype("<i4").view(np.uint8).reshape(-1, 4)
    return code.reshape(-1)


def plt_indirect(entry_addrs, slots, ibt=True, **_):
    """Entries that jump through a slot: .plt.sec and IBT (i)PLT entries
    (endbr64; jmp *slot(%rip); nopw), or non-IBT .plt.got entries (jmp *slot(%rip);
    xchg %ax,%ax)."""
    entry_addrs = np.asarray(entry_addrs, np.int64)
    tmpl = _IBT_JMP if ibt else _PLT_GOT
    at = 6 if ibt else 2
    code = np.tile(np.frombuffer(tmpl, np.uint8), (len(entry_addrs), 1))
    if len(entry_addrs):
        rel = np.asarray(slots, np.int64) - (entry_addrs + at + 4)
        code[:, at:at + 4] = rel.astype("<i4").view(np.uint8).reshape(-1, 4)
    return code.reshape(-1)


def tlsdesc_plt_entry(entry_addr, gotplt_addr, tlsdesc_got_addr):
    """The PLT entry of lazy TLS descriptors (DT_TLSDESC_PLT), as ld.bfd 2.40 writes
    it: endbr64; push GOT+8(%rip); jmp *TLSDESC_GOT(%rip)."""
    push = (gotplt_addr + 8 - (entry_addr + 10)) & 0xffffffff
    jmp = (tlsdesc_got_addr - (entry_addr + 16)) & 0xffffffff
    return np.frombuffer(b"\xf3\x0f\x1e\xfa\xff\x35" + push.to_bytes(4, "little") + b"\xff\x25" +
                         jmp.to_bytes(4, "little"), np.uint8)


def _put(out, pos, val, width):
    if len(pos) == 0:
        return
    b = val.astype("<i8").view(np.uint8).reshape(-1, 8)[:, :width]
    out[pos[:, None] + np.arange(width)] = b


def _patch(out, pos, pattern):
    pat = np.frombuffer(pattern, np.uint8)
    out[pos[:, None] + np.arange(len(pat))] = pat


def scan_got_relax(ctx, rt, plan):
    """GOTPCRELX loads of a symbol defined here (not an IFUNC) become direct:
    mov -> lea, call/jmp *x@GOTPCREL(%rip) -> call/jmp x; a mov of an undefined
    weak symbol the loader cannot bind becomes mov $0 (GNU ld, even in PIC)."""
    typ, key, K = rt.type, rt.key, ctx.keys
    gotx = np.flatnonzero((typ == GOTPCRELX) | (typ == REX_GOTPCRELX))
    if not len(gotx):
        return
    b2, b1 = rt.original_bytes(gotx, 2), rt.original_bytes(gotx, 1)
    form_ok = (b2 == 0x8b) | ((b2 == 0xff) & ((b1 == 0x15) | (b1 == 0x25)))
    form_ok &= rt.offset[gotx] >= 2     # (the opcode lies in the section, as BFD requires)
    kk = key[gotx]
    local = K.defined[kk] & ~K.imported[kk] & ~K.ifunc[kk] & (~K.undef_weak[kk])
    if ctx.config.shared:
        local &= K.local_binding[kk]
    if ctx.config.pie or ctx.config.shared:
        local &= ~K.absolute[kk]        # lea x(%rip) would move an absolute value with the load base
    plan.relax_gotx[gotx] = form_ok & local
    plan.gotx_zero[gotx] = form_ok & (b2 == 0x8b) & K.zero_undef[kk]


def relax(ctx, rt, S, A, val, width, out):
    """GOT-load and TLS rewrites, after the generic values are computed."""
    typ, P, pos = rt.type, rt.P, rt.pos
    plan = rt.plan
    # mov x@GOTPCREL(%rip),%reg of a symbol that is 0 here -> mov $0,%reg
    idx = np.flatnonzero(plan.gotx_zero)
    if len(idx):
        p = pos[idx]
        modrm = out[p - 1]
        rex = np.flatnonzero(typ[idx] == REX_GOTPCRELX)
        r = out[p[rex] - 3]
        out[p[rex] - 3] = (r & 0xfa) | ((r & 4) >> 2)        # REX.R becomes REX.B
        out[p - 2] = 0xc7
        out[p - 1] = 0xc0 | ((modrm >> 3) & 7)
        val[idx] = 0
    # GOTPCRELX relaxation: mov -> lea, call/jmp * -> direct
    idx = np.flatnonzero(plan.relax_gotx)
    if len(idx):
        SA = S[idx] + A[idx]
        p = pos[idx]
        op, modrm = out[p - 2], out[p - 1]
        mov = op == 0x8b
        out[p[mov] - 2] = 0x8d
        call = (op == 0xff) & (modrm == 0x15)
        _patch(out, p[call] - 2, b"\x67\xe8")
        val[idx] = SA - P[idx]
        jmp = (op == 0xff) & (modrm == 0x25)
        if jmp.any():
            j = idx[jmp]
            out[pos[j] - 2] = 0xe9
            out[pos[j] + 3] = 0x90
            _put(out, pos[j] - 1, SA[jmp] - P[j] + 1, 4)
            width[j] = 0
    # TLS relaxations (executables): to initial-exec for imported variables, else local-exec
    if not ctx.config.shared:
        _relax_tls(ctx, rt, typ, S, A, pos, val, width, plan.skip, out, ctx.tls_end)


def _room(rt, idx, before, after):
    """Whether relocations idx have `before` bytes before their offset and `after`
    bytes from it inside their section: a code sequence to rewrite must not reach
    into a neighbour (or past the image, for hostile offsets)."""
    off = rt.offset[idx]
    return (off >= before) & (off + after <= rt.sec_size[rt.sec_ordinal[idx]])


def _b(out, q):
    """out[q] for sequence matching; positions past the image read its last byte
    (only for sequences that _room has refused already)."""
    return out[np.minimum(q, len(out) - 1)]


def _gd_forms(out, p, rt, idx):
    """Which general-dynamic sequence each TLSGD sits in: 16 bytes from p-4 with a
    PLT call (66 48 8d 3d .. 66 66 48 e8 ..) or, with -fno-plt, a GOT call
    (.. 66 48 ff 15 ..); 22 bytes from p-3 in the large model (lea; movabs
    $__tls_get_addr@pltoff,%rax; add %reg,%rax; call *%rax)."""
    lea16 = _room(rt, idx, 4, 12) & (out[p - 4] == 0x66) & (out[p - 3] == 0x48) & \
        (out[p - 2] == 0x8d) & (out[p - 1] == 0x3d)
    plt = lea16 & (_b(out, p + 4) == 0x66) & (_b(out, p + 5) == 0x66) & (_b(out, p + 6) == 0x48) & \
        (_b(out, p + 7) == 0xe8)
    got = lea16 & (_b(out, p + 4) == 0x66) & (_b(out, p + 5) == 0x48) & (_b(out, p + 6) == 0xff) & \
        (_b(out, p + 7) == 0x15)
    large = _room(rt, idx, 3, 19) & (out[p - 3] == 0x48) & (out[p - 2] == 0x8d) & (out[p - 1] == 0x3d) & \
        (_b(out, p + 4) == 0x48) & (_b(out, p + 5) == 0xb8) & ((_b(out, p + 14) & 0xfb) == 0x48) & \
        (_b(out, p + 15) == 0x01) & (_b(out, p + 17) == 0xff) & (_b(out, p + 18) == 0xd0)
    return plt | got, large


def _check_gd(out, p, idx, where, rt):
    short, large = _gd_forms(out, p, rt, idx)
    ok = short | large
    if not ok.all():
        raise LinkError(f"{where(int(idx[np.argmin(ok)]))}: unrecognized general-dynamic "
                        f"TLS code sequence for R_X86_64_TLSGD")
    return short, large


def _relax_tls(ctx, rt, typ, S, A, pos, val, width, skip, out, tp):
    if not TARGET.IS_TLS[np.minimum(typ, TARGET.NTYPES - 1)].any():
        return
    where = rt.where
    plan = rt.plan
    # general-dynamic -> initial-exec for imported variables:
    #   mov %fs:0,%rax; add x@gottpoff(%rip),%rax
    idx = np.flatnonzero(plan.gd_to_ie)
    if len(idx):
        p = pos[idx]
        short, large = _check_gd(out, p, idx, where, rt)
        slot = ctx.got.slot_addresses(rt.key[idx])
        _patch(out, p[short] - 4, b"\x64\x48\x8b\x04\x25\x00\x00\x00\x00\x48\x03\x05")
        _put(out, p[short] + 8, slot[short] - rt.P[idx][short] - 12, 4)
        _patch(out, p[large] - 3, b"\x64\x48\x8b\x04\x25\x00\x00\x00\x00\x48\x03\x05"
                                 b"\x00\x00\x00\x00\x66\x0f\x1f\x44\x00\x00")
        _put(out, p[large] + 9, slot[large] - rt.P[idx][large] - 13, 4)
        width[idx] = 0
    # initial-exec -> local-exec: movq x@gottpoff(%rip), %r  ->  movq $x@tpoff, %r
    #                             addq x@gottpoff(%rip), %r  ->  leaq x@tpoff(%r), %r
    idx = np.flatnonzero((typ == GOTTPOFF) & ~skip & ~plan.ie_keep)
    if len(idx):
        p = pos[idx]
        rex, op, modrm = out[p - 3], out[p - 2], out[p - 1]
        reg = (modrm >> 3) & 7
        rex_b = (rex & 4) >> 2                       # REX.R of the old form becomes REX.B
        ok = ((rex & 0xf8) == 0x48) & ((op == 0x8b) | (op == 0x03)) & ((modrm & 0xc7) == 0x05) & \
            _room(rt, idx, 3, 4)
        if not ok.all():
            raise LinkError(f"{where(int(idx[np.argmin(ok)]))}: R_X86_64_GOTTPOFF on an "
                            f"instruction that cannot be relaxed to local-exec")
        mov = op == 0x8b
        add_sp = (op == 0x03) & (reg == 4)
        lea = (op == 0x03) & (reg != 4)
        out[p - 3] = np.where(lea, 0x48 | rex_b | (rex & 4), 0x48 | rex_b).astype(np.uint8)
        out[p - 2] = np.where(mov, 0xc7, np.where(add_sp, 0x81, 0x8d)).astype(np.uint8)
        out[p - 1] = np.where(lea, 0x80 | (reg << 3) | reg, 0xc0 | reg).astype(np.uint8)
        val[idx] = S[idx] + A[idx] + 4 - tp
        width[idx] = 4
    # general-dynamic -> local-exec (16-byte sequence beginning 4 bytes before the offset)
    idx = np.flatnonzero((typ == TLSGD) & ~plan.gd_to_ie)
    if len(idx):
        p = pos[idx]
        short, large = _check_gd(out, p, idx, where, rt)
        tpoff = S[idx] + A[idx] + 4 - tp
        _patch(out, p[short] - 4, b"\x64\x48\x8b\x04\x25\x00\x00\x00\x00\x48\x8d\x80")
        _put(out, p[short] + 8, tpoff[short], 4)
        _patch(out, p[large] - 3, b"\x64\x48\x8b\x04\x25\x00\x00\x00\x00\x48\x8d\x80"
                                 b"\x00\x00\x00\x00\x66\x0f\x1f\x44\x00\x00")
        _put(out, p[large] + 9, tpoff[large], 4)
        width[idx] = 0
    # local-dynamic -> local-exec: leaq x@tlsld(%rip),%rdi; call __tls_get_addr -> mov %fs:0,%rax
    idx = np.flatnonzero(typ == TLSLD)
    if len(idx):
        p = pos[idx]
        lea_ok = (out[p - 3] == 0x48) & (out[p - 2] == 0x8d) & (out[p - 1] == 0x3d)
        call_plt = lea_ok & _room(rt, idx, 3, 9) & (_b(out, p + 4) == 0xe8)
        call_got = lea_ok & _room(rt, idx, 3, 10) & (_b(out, p + 4) == 0xff) & (_b(out, p + 5) == 0x15)
        large = lea_ok & _room(rt, idx, 3, 19) & (_b(out, p + 4) == 0x48) & (_b(out, p + 5) == 0xb8) & \
            ((_b(out, p + 14) & 0xfb) == 0x48) & (_b(out, p + 15) == 0x01) & (_b(out, p + 17) == 0xff) & \
            (_b(out, p + 18) == 0xd0)
        known = call_plt | call_got | large
        if not known.all():
            raise LinkError(f"{where(int(idx[np.argmin(known)]))}: unrecognized "
                            f"local-dynamic TLS code sequence for R_X86_64_TLSLD")
        _patch(out, p[call_plt] - 3, b"\x66\x66\x66\x64\x48\x8b\x04\x25\x00\x00\x00\x00")
        _patch(out, p[call_got] - 3, b"\x66\x66\x66\x66\x64\x48\x8b\x04\x25\x00\x00\x00\x00")
        # large model: mov %fs:0,%rax and a 13-byte nop over the movabs/add/call
        _patch(out, p[large] - 3, b"\x64\x48\x8b\x04\x25\x00\x00\x00\x00"
                                 b"\x66\x66\x66\x66\x2e\x0f\x1f\x84\x00\x00\x00\x00\x00")
        width[idx] = 0
    # TLS descriptors: lea x@tlsdesc(%rip),%reg
    #   -> mov $x@tpoff,%reg           (local-exec: the variable is in the executable)
    #   -> mov x@gottpoff(%rip),%reg   (initial-exec: imported; its GOT slot holds TPOFF64)
    idx = np.flatnonzero(typ == GOTPC32_TLSDESC)
    if len(idx):
        p = pos[idx]
        ok = ((out[p - 3] & 0xfb) == 0x48) & (out[p - 2] == 0x8d) & ((out[p - 1] & 0xc7) == 0x05) & \
            _room(rt, idx, 3, 4)
        if not ok.all():
            raise LinkError(f"{where(int(idx[np.argmin(ok)]))}: unrecognized TLS descriptor sequence")
        ie = plan.desc_to_ie[idx]
        out[p[ie] - 2] = 0x8b               # (the GOT-relative value is already in val)
        le = idx[~ie]
        p = pos[le]
        reg = (out[p - 1] >> 3) & 7
        out[p - 3] = (0x48 | ((out[p - 3] & 4) >> 2)).astype(np.uint8)
        out[p - 2] = 0xc7
        out[p - 1] = (0xc0 | reg).astype(np.uint8)
        val[le] = S[le] + A[le] + 4 - tp
        width[le] = 4
    idx = np.flatnonzero(typ == TLSDESC_CALL)
    if len(idx):
        ok = _room(rt, idx, 0, 2)
        if not ok.all():
            raise LinkError(f"{where(int(idx[np.argmin(ok)]))}: R_X86_64_TLSDESC_CALL "
                            f"at the end of its section: no call to rewrite")
        _patch(out, pos[idx], b"\x66\x90")


def emitted_types(types, out, pos, **_):
    """--emit-relocs: the types to write for relocations this target relaxed, read from
    the output bytes as BFD renames them (GOTPCRELX turned into `lea`, `addr32 call`
    or `jmp; nop` is a PC32 now, into `mov $imm` an R_X86_64_32S / R_X86_64_32)."""
    types = types.copy()
    idx = np.flatnonzero(((types == GOTPCRELX) | (types == REX_GOTPCRELX)) & (pos >= 3))
    if len(idx):
        p = pos[idx]
        op, modrm = out[p - 2], out[p - 1]
        pc = (op == 0x8d) | ((op == 0x67) & (modrm == 0xe8)) | (modrm == 0xe9)
        imm = (op == 0xc7) & (modrm >= 0xc0)
        rex_w = (out[p - 3] & 0xf8) == 0x48
        types[idx[pc]] = PC32
        types[idx[imm & rex_w]] = R32S
        types[idx[imm & ~rex_w]] = R32
    return types


# -- unwind information for the PLT (ld.bfd's --ld-generated-unwind-info) ---------
# GCC's CIE ("zR", code alignment 1, data alignment -8, return address r16,
# pc-relative sdata4, CFA = rsp + 8, rip at CFA - 8); the lazy .plt's FDE: 16 after
# the header's first push, 24 after its second, then per entry 8 more once the
# entry's push ran (rip & 15 >= 11; 9 with IBT's endbr64 in front) -- ld.bfd's
# templates, with their DW_CFA_nop padding.  .plt.got and .plt.sec: no stack change.
PLT_CIE = bytes.fromhex("14000000" "00000000" "017a5200" "01781001" "1b0c0708" "90010000")


def _lazy_plt_program(ibt):
    expr = bytes([0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x39 if ibt else 0x3b, 0x2a, 0x33, 0x24, 0x22])
    return bytes([0x0e, 16, 0x46, 0x0e, 24, 0x4a, 0x0f, len(expr)]) + expr + b"\0" * 4


def plt_unwind(ctx):
    """Target.plt_unwind: .plt, .plt.got and .plt.sec of a dynamic output (ld.bfd makes
    none for a static program's IFUNC PLT)."""
    plt = ctx.plt
    if not ctx.is_dynamic or plt is None:
        return None
    quiet = b"\0" * 7
    return PLT_CIE, [(plt, _lazy_plt_program(plt.ibt)), (plt.got_entries, quiet), (plt.sec, quiet)]


class X86_64(Target):
    MACHINE = EM_X86_64
    NAME = "x86-64"
    IS64, LITTLE, RELA = True, True, True
    EMULATIONS = ("elf_x86_64",)
    OUTPUT_FORMAT = "elf64-x86-64"
    BFD_ARCH = "i386:x86-64"
    PAGE_SIZE = 0x1000
    EXEC_BASE = 0x400000
    DYNAMIC_LINKER = DYNAMIC_LINKER
    PLT_ENTRY_SIZE = PLT_HEADER_SIZE = 16
    PLT_GOT_ENTRY_SIZE = PLT_GOT_ENTRY_SIZE
    RELOCS = RELOCS
    ADDEND_WIDTH = {TLSLD: 4}
    LARGE_COMMON = 0xff02           # SHN_X86_64_LCOMMON
    TLS_CALL_FOLLOWS = True
    LAZY_TLSDESC = True
    DTPOFF_RELAXED_IN_EXEC = True
    R_ABS, R_RELATIVE, R_GLOB_DAT, R_JUMP_SLOT, R_COPY, R_IRELATIVE = R64, RELATIVE, GLOB_DAT, JUMP_SLOT, COPY, IRELATIVE
    R_DTPMOD, R_DTPOFF, R_TPOFF, R_TLSDESC = DTPMOD64, DTPOFF64, TPOFF64, TLSDESC
    scan_got_relax = staticmethod(scan_got_relax)
    relax = staticmethod(relax)
    code_fill = staticmethod(code_fill)
    plt_entry = staticmethod(plt_entry)
    plt_lazy = staticmethod(plt_lazy)
    plt_lazy_ibt = staticmethod(plt_lazy_ibt)
    plt_indirect = staticmethod(plt_indirect)
    tlsdesc_plt_entry = staticmethod(tlsdesc_plt_entry)
    emitted_types = staticmethod(emitted_types)
    plt_unwind = staticmethod(plt_unwind)


TARGET = register(X86_64())
