"""x86-64: relocation types and formulas, GOT/PLT relaxations, TLS relaxations
and the (i)PLT entry template.  Everything is applied to whole relocation
tables with numpy; instruction rewrites are byte patterns scattered at once.
"""
import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import EM_X86_64
from ldpy.util import unique

MACHINE = EM_X86_64
NAME = "x86-64"
IS64, LITTLE = True, True
PAGE_SIZE = 0x1000
EXEC_BASE = 0x400000
PLT_ENTRY_SIZE = 16

(NONE, R64, PC32, GOT32, PLT32, COPY, GLOB_DAT, JUMP_SLOT, RELATIVE, GOTPCREL, R32, R32S, R16,
 PC16, R8, PC8, DTPMOD64, DTPOFF64, TPOFF64, TLSGD, TLSLD, DTPOFF32, GOTTPOFF, TPOFF32, PC64,
 GOTOFF64, GOTPC32, GOT64, GOTPCREL64, GOTPC64, GOTPLT64, PLTOFF64, SIZE32, SIZE64,
 GOTPC32_TLSDESC, TLSDESC_CALL, TLSDESC, IRELATIVE, RELATIVE64) = range(39)
GOTPCRELX, REX_GOTPCRELX = 41, 42

TYPE_NAMES = {v: "R_X86_64_" + k for k, v in {
    "NONE": 0, "64": 1, "PC32": 2, "GOT32": 3, "PLT32": 4, "COPY": 5, "GLOB_DAT": 6,
    "JUMP_SLOT": 7, "RELATIVE": 8, "GOTPCREL": 9, "32": 10, "32S": 11, "16": 12, "PC16": 13,
    "8": 14, "PC8": 15, "DTPMOD64": 16, "DTPOFF64": 17, "TPOFF64": 18, "TLSGD": 19, "TLSLD": 20,
    "DTPOFF32": 21, "GOTTPOFF": 22, "TPOFF32": 23, "PC64": 24, "GOTOFF64": 25, "GOTPC32": 26,
    "GOT64": 27, "GOTPCREL64": 28, "GOTPC64": 29, "GOTPLT64": 30, "PLTOFF64": 31, "SIZE32": 32,
    "SIZE64": 33, "GOTPC32_TLSDESC": 34, "TLSDESC_CALL": 35, "TLSDESC": 36, "IRELATIVE": 37,
    "RELATIVE64": 38, "GOTPCRELX": 41, "REX_GOTPCRELX": 42}.items()}

NTYPES = 64
TLS_SEQUENCE_TYPES = (TLSGD, TLSLD)      # followed by a call to __tls_get_addr


def _table(values, default=0, dtype=np.int64):
    t = np.full(NTYPES, default, dtype)
    for k, v in values.items():
        t[k] = v
    return t


# bytes written per type (0: nothing written by the generic store)
WIDTH = _table({R64: 8, PC32: 4, GOT32: 4, PLT32: 4, GOTPCREL: 4, R32: 4, R32S: 4, R16: 2,
                PC16: 2, R8: 1, PC8: 1, DTPOFF64: 8, TPOFF64: 8, TLSGD: 4, DTPOFF32: 4,
                GOTTPOFF: 4, TPOFF32: 4, PC64: 8, GOTOFF64: 8, GOTPC32: 4, GOT64: 8,
                GOTPCREL64: 8, GOTPC64: 8, GOTPLT64: 8, PLTOFF64: 8, SIZE32: 4, SIZE64: 8,
                GOTPC32_TLSDESC: 4, GOTPCRELX: 4, REX_GOTPCRELX: 4})
SUPPORTED = _table({t: 1 for t in list(np.flatnonzero(WIDTH)) + [NONE, TLSLD, TLSDESC_CALL]}, 0, bool)
# overflow check: 0 none, 1 signed 32, 2 unsigned 32, 3 16-bit (either sign), 4 8-bit (either sign)
CHECK = _table({PC32: 1, PLT32: 1, GOTPCREL: 1, R32S: 1, TLSGD: 1, DTPOFF32: 1, GOTTPOFF: 1,
                TPOFF32: 1, GOTPC32: 1, GOTPC32_TLSDESC: 1, GOTPCRELX: 1, REX_GOTPCRELX: 1,
                GOT32: 1, R32: 2, SIZE32: 2, R16: 3, PC16: 3, R8: 4, PC8: 4})
IS_GOT = _table({GOT32: 1, GOTPCREL: 1, GOT64: 1, GOTPCREL64: 1, GOTPLT64: 1, GOTPCRELX: 1,
                 REX_GOTPCRELX: 1}, 0, bool)
NEEDS_GOT_BASE = _table({GOTPC32: 1, GOTPC64: 1, GOTOFF64: 1, GOT32: 1, GOT64: 1, GOTPLT64: 1,
                         PLTOFF64: 1}, 0, bool)
IS_TLS = _table({TLSGD: 1, TLSLD: 1, GOTTPOFF: 1, TPOFF32: 1, TPOFF64: 1, DTPOFF32: 1,
                 DTPOFF64: 1, GOTPC32_TLSDESC: 1, TLSDESC_CALL: 1}, 0, bool)

_RANGES = {1: (-(1 << 31), (1 << 31) - 1), 2: (0, (1 << 32) - 1), 3: (-(1 << 15), (1 << 16) - 1),
           4: (-(1 << 7), (1 << 8) - 1)}

_FIELDS = {1: "a signed 32-bit", 2: "an unsigned 32-bit", 3: "a 16-bit", 4: "an 8-bit"}


def type_name(t):
    return TYPE_NAMES.get(int(t), f"unknown relocation type {int(t)}")


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


def plt_entry(slot_addr, entry_addr):
    """An IPLT entry: jmp *slot(%rip), then padding."""
    rel = (slot_addr - (entry_addr + 6)) & 0xffffffff
    return b"\xff\x25" + rel.to_bytes(4, "little") + b"\xcc" * 10


def plt_lazy(plt_addr, gotplt_addr, slots, n_lazy, n_iplt):
    """The lazy .plt: PLT0 pushes GOT[1] and jumps to GOT[2] (the loader's
    resolver); entry i jumps through its slot, which first points back at its
    push $i; jmp PLT0.  Local IFUNC entries follow, without a lazy path.
    slots: address of each entry's .got.plt slot."""
    n = n_lazy + n_iplt
    code = np.zeros((n + 1, 16), np.uint8)
    code[0] = np.frombuffer(b"\xff\x35\0\0\0\0\xff\x25\0\0\0\0\x0f\x1f\x40\x00", np.uint8)
    code[0, 2:6] = np.array([(gotplt_addr + 8) - (plt_addr + 6)], "<i4").view(np.uint8)
    code[0, 8:12] = np.array([(gotplt_addr + 16) - (plt_addr + 12)], "<i4").view(np.uint8)
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
    code[0] = np.frombuffer(b"\xff\x35\0\0\0\0\xff\x25\0\0\0\0\x0f\x1f\x40\x00", np.uint8)
    code[0, 2:6] = np.array([(gotplt_addr + 8) - (plt_addr + 6)], "<i4").view(np.uint8)
    code[0, 8:12] = np.array([(gotplt_addr + 16) - (plt_addr + 12)], "<i4").view(np.uint8)
    if n_lazy:
        entry = plt_addr + 16 * np.arange(1, n_lazy + 1)
        code[1:] = np.frombuffer(_IBT_LAZY, np.uint8)
        code[1:, 5:9] = np.arange(n_lazy).astype("<i4").view(np.uint8).reshape(-1, 4)
        code[1:, 10:14] = (plt_addr - (entry + 14)).astype("<i4").view(np.uint8).reshape(-1, 4)
    return code.reshape(-1)


def plt_indirect(entry_addrs, slots, ibt=True):
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


# calls through the PLT: GNU ld hides a hidden function called this way in a PIE
# (_bfd_elf_fix_symbol_flags: needs_plt, pic output, non-default visibility)
IS_PLT_CALL = _table({PLT32: 1, PLTOFF64: 1}, 0, bool)
IS_DIRECT_DATA = _table({R32: 1, R32S: 1, R16: 1, R8: 1, PC32: 1, PC16: 1, PC8: 1, PC64: 1}, 0, bool)
DYNAMIC_RELOCS = dict(R64=R64, RELATIVE=RELATIVE, GLOB_DAT=GLOB_DAT, JUMP_SLOT=JUMP_SLOT, COPY=COPY,
                      TPOFF64=TPOFF64, DTPMOD64=DTPMOD64, DTPOFF64=DTPOFF64, IRELATIVE=IRELATIVE)


class Plan:
    """The scan's decisions, as boolean masks over the link's relocation table."""
    __slots__ = ("relax_gotx", "gotx_zero", "ifunc_got", "skip", "gd_to_ie", "ie_keep", "desc_keep", "desc_to_ie", "dyn64", "relative", "irelative",
                 "relr",
                 "textrel",
                 "plt_call", "tls_gd", "tls_ld")


def scan(ctx, rt):
    """Decide, for every relocation of the link, which need GOT slots, PLT or IPLT
    entries, copy relocations or dynamic relocations, and which instructions
    are relaxed.  The decisions go to rt.plan and to the synthetic sections."""
    typ, key = rt.type, rt.key
    K = ctx.keys
    cfg = ctx.config
    pic = cfg.pie or cfg.shared
    bad = (typ >= NTYPES) | ~SUPPORTED[np.minimum(typ, NTYPES - 1)]
    if bad.any():
        k = int(np.argmax(bad))
        raise LinkError(f"{rt.where(k)}: unsupported relocation {type_name(typ[k])} against "
                        f"'{ctx.reloc_sym_display(rt, k)}'")
    plan = rt.plan = Plan()
    plan.relr = None            # RELATIVE ones packed into .relr.dyn (set after layout)
    imported = K.imported[key]
    is_func = K.func[key]
    writable = rt.writable

    # imported data accessed directly from code: copy it into the executable
    if not cfg.shared:
        copy_ref = imported & ~is_func & ~K.tls[key] & \
            (IS_DIRECT_DATA[typ] | ((typ == R64) & ~writable & rt.alloc))
        if cfg.nocopyreloc and copy_ref.any():
            # -z nocopyreloc: no copies; an absolute pointer becomes a (text)
            # relocation, a direct access from code cannot be made (ld.bfd)
            ctx.refuse_copies(rt, copy_ref & IS_DIRECT_DATA[typ] & rt.alloc, type_name)
            copy_ref[:] = False
        if copy_ref.any():
            ctx.request_copies(rt, copy_ref)
            imported = K.imported[key]
        # imported functions whose address is taken by non-PIC code: the PLT entry is the address
        if not pic:
            canon = imported & is_func & ((typ == R32) | (typ == R32S) | (typ == PC32) |
                                          ((typ == R64) & ~writable & rt.alloc))
            if canon.any():
                ctx.request_canonical_plt(unique(key[canon]))
    # calls to imported functions go through the PLT
    plt_ref = imported & ((typ == PLT32) | (typ == PLTOFF64) | (is_func & (typ == PC32)))
    if not cfg.shared and ctx.shared_files:
        # an executable's undefined weak function that is only called (and loaded
        # through the GOT) stays dynamic, with a PLT entry the loader may bind
        # (ld.bfd); any other direct reference makes it 0 everywhere
        weak = ~K.defined[key] & ~K.zero_undef[key] & ~imported
        if weak.any():
            call = weak & IS_PLT_CALL[typ]
            other = weak & ~IS_PLT_CALL[typ] & ~IS_GOT[typ] & (typ != NONE)
            if call.any():
                call &= ~np.isin(key, key[other])
                plt_ref |= call
    plan.plt_call = plt_ref
    if plt_ref.any():
        ctx.plt.add(key[plt_ref])
    if cfg.shared:
        direct = imported & IS_DIRECT_DATA[typ] & ~plt_ref & rt.alloc
        if direct.any():
            k = int(np.argmax(direct))
            raise LinkError(f"{rt.where(k)}: relocation {type_name(typ[k])} against symbol "
                            f"'{ctx.reloc_sym_display(rt, k)}' cannot be used when making a shared "
                            f"object; recompile with -fPIC")

    # GOT loads that can become direct (the symbol is defined here and not an IFUNC)
    is_got = IS_GOT[typ]
    plan.relax_gotx = relax_gotx = np.zeros(len(typ), bool)
    plan.gotx_zero = gotx_zero = np.zeros(len(typ), bool)
    gotx = np.flatnonzero((typ == GOTPCRELX) | (typ == REX_GOTPCRELX))
    if len(gotx):
        b2, b1 = rt.original_bytes(gotx, 2), rt.original_bytes(gotx, 1)
        form_ok = (b2 == 0x8b) | ((b2 == 0xff) & ((b1 == 0x15) | (b1 == 0x25)))
        form_ok &= rt.offset[gotx] >= 2     # (the opcode lies in the section, as BFD requires)
        kk = key[gotx]
        local = K.defined[kk] & ~K.imported[kk] & ~K.ifunc[kk] & (~K.undef_weak[kk])
        if cfg.shared:
            local &= K.local_binding[kk]
        relax_gotx[gotx] = form_ok & local
        # a load of the address of an undefined weak symbol the loader cannot bind
        # (non-default visibility) becomes mov $0,%reg, as GNU ld does even in PIC
        gotx_zero[gotx] = form_ok & (b2 == 0x8b) & K.zero_undef[kk]
    need_got = is_got & ~relax_gotx & ~gotx_zero
    follows_tls = np.zeros(len(typ), bool)      # the __tls_get_addr call of a GD/LD sequence
    seq = np.flatnonzero((typ == TLSGD) | (typ == TLSLD))
    if not cfg.shared and len(seq):
        follows_tls[seq[seq + 1 < len(typ)] + 1] = True
    need_got &= ~follows_tls

    # TLS: executables relax everything they can to local-exec; an imported
    # variable is reached through a GOT slot holding its TP offset (initial-exec)
    # shared objects keep the dynamic models: GD slot pairs, one LD pair, IE slots
    plan.tls_gd = (typ == TLSGD) & bool(cfg.shared)
    plan.tls_ld = (typ == TLSLD) & bool(cfg.shared)
    plan.gd_to_ie = (typ == TLSGD) & imported & ~plan.tls_gd
    plan.ie_keep = (typ == GOTTPOFF) & (imported | bool(cfg.shared))
    if (typ == GOTTPOFF).any() and cfg.shared:
        ctx.static_tls = True
    if plan.tls_gd.any():
        ctx.got_gd.add(key[plan.tls_gd])
    if plan.tls_ld.any():
        ctx.need_got_ld = True
    # TLS descriptors: a shared object keeps one (two .got.plt words and an
    # R_X86_64_TLSDESC) per variable; an executable relaxes the sequence to
    # initial-exec for an imported variable, else to local-exec
    desc = typ == GOTPC32_TLSDESC
    plan.desc_keep = desc & bool(cfg.shared)
    plan.desc_to_ie = desc & imported & ~plan.desc_keep
    if plan.desc_keep.any():
        ctx.tlsdesc.add(key[plan.desc_keep])
    need_got |= plan.gd_to_ie | plan.ie_keep | plan.desc_to_ie
    # in a PIE or shared object the GOT load of an IFUNC defined here reads the
    # .got.plt slot of its IPLT entry, which IRELATIVE fills with the chosen
    # function (ld.bfd: no .got slot of its own)
    plan.ifunc_got = need_got & bool(pic) & K.ifunc[key] & ~K.imported[key] & is_got
    need_got &= ~plan.ifunc_got
    if need_got.any():
        ctx.got.add(key[need_got])
    if NEEDS_GOT_BASE[typ].any():
        ctx.need_got_base = True
    # the call to __tls_get_addr after a relaxed GD/LD sequence is rewritten with it
    plan.skip = skip = np.zeros(len(typ), bool)
    tls_seq = np.flatnonzero(((typ == TLSGD) | (typ == TLSLD)) & ~plan.tls_gd & ~plan.tls_ld)
    if len(tls_seq):
        nxt = tls_seq + 1
        ok = nxt < len(typ)
        ok[ok] = rt.sec_ordinal[nxt[ok]] == rt.sec_ordinal[tls_seq[ok]]
        if not ok.all():
            k = int(tls_seq[np.argmin(ok)])
            raise LinkError(f"{rt.where(k)}: {type_name(typ[k])} is not followed by a call "
                            f"to __tls_get_addr")
        skip[nxt] = True
    if IS_TLS[typ].any():
        ctx.uses_tls = True
    if (imported & ((typ == TPOFF32) | (typ == TPOFF64))).any():
        k = int(np.argmax(imported & ((typ == TPOFF32) | (typ == TPOFF64))))
        raise LinkError(f"{rt.where(k)}: local-exec TLS relocation {type_name(typ[k])} against "
                        f"'{ctx.reloc_sym_display(rt, k)}', which is defined in a shared library")

    # absolute addresses in a position-independent output need dynamic relocations
    plan.dyn64 = (typ == R64) & rt.alloc & K.imported[key] & ~K.canonical[key]
    plan.relative = np.zeros(len(typ), bool)
    plan.irelative = plan.relative
    if pic:
        movable = K.defined[key] & ~K.absolute[key] & ~K.undef_weak[key] & \
            (~K.imported[key] | K.canonical[key])
        plan.relative = (typ == R64) & rt.alloc & movable
        # a pointer to an IFUNC of this output holds the function the resolver picks
        # (as its GOT slot does), not the PLT stub: ld.bfd's IRELATIVE
        plan.irelative = plan.relative & K.ifunc[key]
        plan.relative &= ~plan.irelative
        bad32 = ((typ == R32) | (typ == R32S)) & rt.alloc & movable
        if bad32.any():
            k = int(np.argmax(bad32))
            raise LinkError(f"{rt.where(k)}: relocation {type_name(typ[k])} against "
                            f"'{ctx.reloc_sym_display(rt, k)}' cannot be used when making a "
                            f"{'shared object' if cfg.shared else 'PIE'}; recompile with -fPIC")
    # IFUNCs of this output get an IPLT entry unless every reference is a pointer
    # that IRELATIVE fills, or the symbol can be preempted (shared objects)
    ifunc_refs = K.ifunc[key] & ~K.imported[key] & (typ != NONE) & ~plan.irelative
    if ifunc_refs.any():
        ctx.iplt.add(key[ifunc_refs])
    dyn = plan.dyn64 | plan.relative | plan.irelative
    plan.textrel = dyn & ~writable
    if plan.textrel.any():
        ctx.textrel_at(rt, int(np.argmax(plan.textrel)))
    ctx.rela_dyn.reserve(int(dyn.sum()))


def _put(out, pos, val, width):
    if len(pos) == 0:
        return
    b = val.astype("<i8").view(np.uint8).reshape(-1, 8)[:, :width]
    out[pos[:, None] + np.arange(width)] = b


def _patch(out, pos, pattern):
    pat = np.frombuffer(pattern, np.uint8)
    out[pos[:, None] + np.arange(len(pat))] = pat


def apply(ctx, rt, S, A, out):
    """Compute and store every relocation of the link into the output image."""
    typ, P, pos, key = rt.type, rt.P, rt.pos, rt.key
    Z = ctx.keys.size[key]
    relax_gotx, skip = rt.plan.relax_gotx, rt.plan.skip
    val = np.zeros(len(typ), np.int64)
    width = WIDTH[typ].copy()
    width[skip] = 0
    got_base = ctx.got_base_addr
    tp = ctx.tls_end
    SA = S + A

    def sel(*types):
        return np.isin(typ, types) & ~skip

    m = sel(R64, R32, R32S, R16, R8)
    val[m] = SA[m]
    m = sel(PC32, PLT32, PC64, PC16, PC8)
    val[m] = SA[m] - P[m]
    m = sel(GOTPC32, GOTPC64)
    val[m] = got_base + A[m] - P[m]
    m = sel(GOTOFF64, PLTOFF64)
    val[m] = SA[m] - got_base
    m = sel(SIZE32, SIZE64)
    val[m] = Z[m] + A[m]
    m = sel(TPOFF32, TPOFF64)
    val[m] = SA[m] - tp
    m = sel(DTPOFF32, DTPOFF64)
    if m.any():
        # in an executable's code, DTPOFF follows a local-dynamic sequence relaxed to
        # TP-relative; in shared objects and debug info it is the offset in the TLS block
        relaxed = rt.alloc[m] & (not ctx.config.shared)
        val[m] = np.where(relaxed, SA[m] - tp, SA[m] - ctx.tls_start)
    plan = rt.plan
    m = plan.tls_gd
    if m.any():
        val[m] = ctx.got_gd.slot_addresses(key[m]) + A[m] - P[m]
    m = plan.tls_ld
    if m.any():
        val[m] = ctx.got_ld.addr + A[m] - P[m]
        width[m] = 4
    m = plan.plt_call
    if m.any() and ctx.config.shared:
        # calls to interposable functions of a shared object go through its PLT
        S = S.copy()
        S[m] = ctx.plt.entry_addresses(key[m])
        SA = S + A
        mm = m & np.isin(typ, (PLT32, PC32))
        val[mm] = SA[mm] - P[mm]

    # GOT-relative forms that keep their GOT slot
    m = (IS_GOT[typ] & ~relax_gotx & ~plan.gotx_zero & ~plan.ifunc_got) | plan.ie_keep | plan.desc_to_ie
    if m.any():
        slot = ctx.got.slot_addresses(key[m])
        ctx.got.fill(key[m], S[m])
        t = typ[m]
        v = np.where(np.isin(t, (GOT32, GOT64, GOTPLT64)), slot + A[m] - got_base, slot + A[m] - P[m])
        val[m] = v

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

    m = plan.desc_keep
    if m.any():
        val[m] = ctx.gotplt.desc_addresses(key[m]) + A[m] - P[m]
    m = plan.ifunc_got
    if m.any():
        g = ctx.gotplt
        slot = g.addr + 8 * (g.RESERVED + g.n_lazy + ctx.iplt.index_of(key[m]))
        t = typ[m]
        val[m] = np.where(np.isin(t, (GOT32, GOT64, GOTPLT64)), slot + A[m] - got_base, slot + A[m] - P[m])

    # GOTPCRELX relaxation: mov -> lea, call/jmp * -> direct
    idx = np.flatnonzero(relax_gotx)
    if len(idx):
        p = pos[idx]
        op, modrm = out[p - 2], out[p - 1]
        mov = op == 0x8b
        out[p[mov] - 2] = 0x8d
        call = (op == 0xff) & (modrm == 0x15)
        _patch(out, p[call] - 2, b"\x67\xe8")
        val[idx] = SA[idx] - P[idx]
        jmp = (op == 0xff) & (modrm == 0x25)
        if jmp.any():
            j = idx[jmp]
            out[pos[j] - 2] = 0xe9
            out[pos[j] + 3] = 0x90
            _put(out, pos[j] - 1, SA[j] - P[j] + 1, 4)
            width[j] = 0

    # TLS relaxations (executables): to initial-exec for imported variables, else local-exec
    if not ctx.config.shared:
        _relax_tls(ctx, rt, typ, S, A, pos, val, width, skip, out, tp)

    # dynamic relocations for absolute addresses
    if plan.dyn64.any():
        m = plan.dyn64
        ctx.rela_dyn.add(P[m], (ctx.dynsym_index(key[m]) << 32) | R64, A[m])
    if plan.relative.any():
        m = plan.relative if plan.relr is None else plan.relative & ~plan.relr
        ctx.rela_dyn.add(P[m], np.full(int(m.sum()), RELATIVE, np.int64), SA[m])
    if plan.irelative.any():
        m = plan.irelative
        resolver = ctx.keys.addr[key[m]]            # (an IFUNC symbol's value is its resolver)
        ctx.rela_dyn.add(P[m], np.full(int(m.sum()), IRELATIVE, np.int64), resolver + A[m])

    # overflow checks and stores
    chk = CHECK[typ]
    bad = None
    for code, (lo, hi) in _RANGES.items():
        m = (chk == code) & (width > 0)
        if m.any():
            badm = m & ((val < lo) | (val > hi))
            if badm.any():
                bad = badm if bad is None else bad | badm
    if bad is not None:         # only the failing few get messages (checks.py)
        from ldpy.checks import report_overflows
        idx = np.flatnonzero(bad)
        report_overflows(ctx, rt, idx, val[idx], [_FIELDS[int(c)] for c in chk[idx[:1000]]], type_name)
    for w in (8, 4, 2, 1):
        m = width == w
        if m.any():
            _put(out, pos[m], val[m], w)


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
    if not IS_TLS[typ].any():
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


def emitted_types(types, out, pos):
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
