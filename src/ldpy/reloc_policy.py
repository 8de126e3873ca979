"""The dynamic-linking policy and the relocation formulas, for every target.

The scan decides, for every relocation of the link at once, how its reference is
bound: directly, through a GOT slot, a PLT entry, a canonical PLT entry, a copy
relocation, a dynamic relocation, a TLS model, or not at all (an error).  It reads
only the target's kind arrays (arch/base.py): each decision below is one row of
the table

    output (exec / PIE / shared) x symbol (local, imported, function, TLS, IFUNC,
    undefined weak) x kind (abs, pc-relative, GOT, PLT, TLS GD/LD/IE/LE/DESC, ...)

evaluated as boolean masks over the link-wide relocation table.  The target adds
its instruction rewrites at two points: `scan_got_relax` (which GOT loads become
direct) and `relax` (rewriting GOT loads and TLS sequences while applying).

apply() then stores X + A - B for every relocation (kind -> X, base -> B),
overflow-checked per range class and scattered with fancy indexing in the
target's byte order.
"""
import numpy as np

from ldpy.diag import LinkError
from ldpy.util import unique, isin
from ldpy.elf.format import reloc_info
from ldpy.arch.base import (K_NONE, K_ABS, K_PLT, K_GOT, K_GOTBASE, K_SIZE, K_TPOFF, K_TPOFF_NEG,
                            K_DTPOFF, K_TLS_GD, K_TLS_LD, K_TLS_IE, K_TLS_DESC, B_P, B_GOT,
                            RANGES, FIELDS)


class Plan:
    """The scan's decisions, as boolean masks over the link's relocation table."""
    __slots__ = ("relax_gotx", "gotx_zero", "ifunc_got", "skip", "gd_to_ie", "ie_keep", "desc_keep",
                 "desc_to_ie", "dyn64", "relative", "irelative", "relr", "textrel", "plt_call",
                 "tls_gd", "tls_ld", "kind")

    def rows(self, lo, hi):
        """The decisions of rows lo:hi (views)."""
        p = Plan()
        for name in Plan.__slots__:
            v = getattr(self, name, None)
            setattr(p, name, v[lo:hi] if isinstance(v, np.ndarray) else v)
        return p


def scan(ctx, rt):
    """Decide, for every relocation of the link, which need GOT slots, PLT or IPLT
    entries, copy relocations or dynamic relocations, and which instructions
    are relaxed.  The decisions go to rt.plan and to the synthetic sections."""
    T = ctx.target
    typ, key = rt.type, rt.key
    K = ctx.keys
    cfg = ctx.config
    pic = cfg.pie or cfg.shared
    tt = np.minimum(typ, T.NTYPES - 1)
    bad = (typ >= T.NTYPES) | ~T.SUPPORTED[tt]
    if bad.any():
        k = int(np.argmax(bad))
        later = " (not supported yet)" if int(typ[k]) in T.NOT_YET else ""
        raise LinkError(f"{rt.where(k)}: unsupported relocation {T.type_name(typ[k])} against "
                        f"'{ctx.reloc_sym_display(rt, k)}'{later}")
    plan = rt.plan = Plan()
    plan.kind = kind = T.KIND[tt]
    plan.relr = None            # RELATIVE ones packed into .relr.dyn (set after layout)
    # the symbol properties the decisions read, in one gather (a gather per property
    # and use was most of the scan: random reads over the key tables, 17 per row);
    # imported and canonical are read again after the copies and canonical PLT
    # entries the scan itself requests change them
    prop = _key_properties(K)[key]
    imported = K.imported[key]
    writable = rt.writable
    n = len(typ)
    # the copy, canonical PLT and PLT decisions concern references to a library's
    # symbols: they are made over those rows only
    imp = np.flatnonzero(imported)

    # imported data accessed directly from code: copy it into the executable
    if not cfg.shared and len(imp):
        it = tt[imp]
        direct = T.IS_DIRECT_DATA[it]
        pointer_in_code = T.IS_ABS_WORD[it] & ~writable[imp] & rt.alloc[imp]
        copy = ((prop[imp] & (_FUNC | _TLS)) == 0) & (direct | pointer_in_code)
        if cfg.nocopyreloc and copy.any():
            # -z nocopyreloc: no copies; an absolute pointer becomes a (text)
            # relocation, a direct access from code cannot be made (ld.bfd)
            ctx.refuse_copies(rt, _rows(n, imp, copy & direct & rt.alloc[imp]), T.type_name)
            copy[:] = False
        if copy.any():
            ctx.request_copies(rt, _rows(n, imp, copy))
            imported = K.imported[key]          # (every reference to a copied symbol)
            imp = np.flatnonzero(imported)
            it = tt[imp]
            pointer_in_code = T.IS_ABS_WORD[it] & ~writable[imp] & rt.alloc[imp]
        # imported functions whose address is taken by non-PIC code: the PLT entry is the address
        if not pic:
            func = (prop[imp] & _FUNC).astype(bool)
            canon_ref = T.CANON_REF[it]
            calls = np.flatnonzero(canon_ref & T.IS_PC32[it] & func)
            if len(calls):
                # (a PC-relative call or jump is no address: i386 calls use R_386_PC32)
                canon_ref[calls[T.direct_branches(rt, imp[calls])]] = False
            # (a target whose ld.bfd takes the PLT entry for every pointer word of the
            # executable, writable data too: RISC-V)
            pointers = T.IS_ABS_WORD[it] & rt.alloc[imp] if T.FUNC_POINTERS_CANONICAL else pointer_in_code
            canon = func & (canon_ref | pointers)
            if canon.any():
                ctx.request_canonical_plt(unique(key[imp[canon]]))
    # calls to imported functions go through the PLT (but those a TLS relaxation
    # rewrites, when the target marks them instead of TLS_CALL_FOLLOWS: PowerPC)
    tls_calls = T.relaxed_tls_calls(ctx, rt)
    plt_rows = imp[(kind[imp] == K_PLT) | ((prop[imp] & _FUNC).astype(bool) & T.IS_PC32[tt[imp]])]
    if tls_calls is not None:
        plt_rows = plt_rows[~tls_calls[plt_rows]]
    if not cfg.shared and ctx.shared_files:
        # an executable's undefined weak function that is only called (and loaded
        # through the GOT) stays dynamic, with a PLT entry the loader may bind
        # (ld.bfd); any other direct reference makes it 0 everywhere
        weak = np.flatnonzero((prop & (_DEFINED | _ZERO_UNDEF)) == 0)
        weak = weak[~imported[weak]]
        if len(weak):
            wk = kind[weak]
            call = weak[wk == K_PLT]
            other = weak[(wk != K_PLT) & (wk != K_GOT) & (wk != K_NONE)]
            if len(call):
                call = call[~isin(key[call], key[other])]
                plt_rows = np.sort(np.concatenate((plt_rows, call)))    # (imported rows and not)
    plan.plt_call = _rows(n, plt_rows)
    if len(plt_rows):
        ctx.plt.add(key[plt_rows])
    if cfg.shared and len(imp):
        direct = imp[T.IS_DIRECT_DATA[tt[imp]] & ~plan.plt_call[imp] & rt.alloc[imp]]
        if len(direct):
            k = int(direct[0])
            raise LinkError(f"{rt.where(k)}: relocation {T.type_name(typ[k])} against symbol "
                            f"'{ctx.reloc_sym_display(rt, k)}' cannot be used when making a shared "
                            f"object; recompile with -fPIC")

    # GOT loads that can become direct (the target knows which instructions)
    is_got = kind == K_GOT
    plan.relax_gotx = np.zeros(n, bool)
    plan.gotx_zero = np.zeros(n, bool)
    T.scan_got_relax(ctx, rt, plan)
    need_got = is_got & ~plan.relax_gotx & ~plan.gotx_zero
    seq = np.flatnonzero((kind == K_TLS_GD) | (kind == K_TLS_LD))
    if T.TLS_CALL_FOLLOWS and not cfg.shared and len(seq):
        # the __tls_get_addr call of a relaxed GD/LD sequence takes no GOT slot
        follows_tls = np.zeros(n, bool)
        follows_tls[seq[seq + 1 < n] + 1] = True
        need_got &= ~follows_tls

    # TLS: executables relax everything they can to local-exec; an imported
    # variable is reached through a GOT slot holding its TP offset (initial-exec)
    # shared objects keep the dynamic models: GD slot pairs, one LD pair, IE slots
    # (decided over the TLS rows only, as the dynamic relocations below over the
    # pointer rows: a few percent of a big link's table, whose whole-table
    # temporaries were most of the scan's time once they outgrew the cache)
    tls = np.flatnonzero(kind >= K_TPOFF)
    tk, timp = kind[tls], imported[tls]
    shared = bool(cfg.shared)
    keep = shared or not T.TLS_RELAX        # (a target that relaxes no TLS sequence keeps them all)
    gd, ld, ie, desc = tk == K_TLS_GD, tk == K_TLS_LD, tk == K_TLS_IE, tk == K_TLS_DESC
    tls_gd, tls_ld = gd & keep, ld & keep
    gd_to_ie = gd & timp & ~tls_gd
    ie_keep = ie & (timp | keep)
    plan.tls_gd, plan.tls_ld = _rows(n, tls, tls_gd), _rows(n, tls, tls_ld)
    plan.gd_to_ie, plan.ie_keep = _rows(n, tls, gd_to_ie), _rows(n, tls, ie_keep)
    if ie.any() and T.IE_STATIC_TLS_FLAG and (cfg.shared or (cfg.pie and T.IE_STATIC_TLS_FLAG == "pic")):
        ctx.static_tls = True
    if tls_gd.any():
        ctx.got_gd.add(key[tls[tls_gd]])
    if tls_ld.any():
        ctx.need_got_ld = True
    # TLS descriptors: a shared object keeps one (two .got.plt words and a TLSDESC
    # dynamic relocation) per variable; an executable relaxes the sequence to
    # initial-exec for an imported variable, else to local-exec
    desc_keep = desc & keep
    desc_to_ie = desc & timp & ~desc_keep
    plan.desc_keep, plan.desc_to_ie = _rows(n, tls, desc_keep), _rows(n, tls, desc_to_ie)
    if desc_keep.any():
        ctx.tlsdesc.add(key[tls[desc_keep]])
    need_got[tls[gd_to_ie | ie_keep | desc_to_ie]] = True
    # in a PIE or shared object the GOT load of an IFUNC defined here reads the
    # .got.plt slot of its IPLT entry, which IRELATIVE fills with the chosen
    # function (ld.bfd: no .got slot of its own)
    ifuncs = np.flatnonzero(prop & _IFUNC)
    at = ifuncs[need_got[ifuncs] & ~imported[ifuncs] & is_got[ifuncs]] if pic else ifuncs[:0]
    plan.ifunc_got = _rows(n, at)
    need_got[at] = False
    if need_got.any():
        ctx.got.add(key[need_got])
    if T.NEEDS_GOT_BASE[tt].any():
        ctx.need_got_base = True
    # the call to __tls_get_addr after a relaxed GD/LD sequence is rewritten with it
    plan.skip = skip = np.zeros(n, bool) if tls_calls is None else tls_calls
    tls_seq = tls[(gd & ~tls_gd) | (ld & ~tls_ld)] if T.TLS_CALL_FOLLOWS else ()
    if len(tls_seq):
        nxt = tls_seq + 1
        ok = nxt < n
        ok[ok] = rt.sec_ordinal[nxt[ok]] == rt.sec_ordinal[tls_seq[ok]]
        if not ok.all():
            k = int(tls_seq[np.argmin(ok)])
            raise LinkError(f"{rt.where(k)}: {T.type_name(typ[k])} is not followed by a call "
                            f"to __tls_get_addr")
        skip[nxt] = True
    if len(tls):
        ctx.uses_tls = True
    # (an undefined weak variable a PIE leaves to the loader is at offset 0: no error)
    le = timp & K.defined[key[tls]] & ((tk == K_TPOFF) | (tk == K_TPOFF_NEG))
    if le.any():
        k = int(tls[np.argmax(le)])
        raise LinkError(f"{rt.where(k)}: local-exec TLS relocation {T.type_name(typ[k])} against "
                        f"'{ctx.reloc_sym_display(rt, k)}', which is defined in a shared library")

    # absolute addresses in a position-independent output need dynamic relocations
    def movable(rows):
        """Whether the symbols of `rows` have addresses that move with the load base."""
        k = key[rows]
        return ((prop[rows] & (_DEFINED | _ABSOLUTE | _UNDEF_WEAK)) == _DEFINED) & \
            (~imported[rows] | K.canonical[k])
    words = np.flatnonzero(T.IS_ABS_WORD[tt] & rt.alloc)
    wimp = imported[words]
    dyn64 = wimp & ~K.canonical[key[words]]
    plan.dyn64 = _rows(n, words, dyn64)
    plan.relative = np.zeros(n, bool)
    plan.irelative = plan.relative
    dyn = dyn64
    if pic:
        moves = movable(words)
        # a pointer to an IFUNC of this output holds the function the resolver picks
        # (as its GOT slot does), not the PLT stub: ld.bfd's IRELATIVE
        irelative = moves & (prop[words] & _IFUNC).astype(bool)
        plan.relative = _rows(n, words, moves & ~irelative)
        plan.irelative = _rows(n, words, irelative)
        dyn = dyn64 | moves
        narrow = np.flatnonzero(T.IS_ABS_NARROW32[tt] & rt.alloc)
        bad32 = narrow[movable(narrow)]
        if len(bad32):
            k = int(bad32[0])
            raise LinkError(f"{rt.where(k)}: relocation {T.type_name(typ[k])} against "
                            f"'{ctx.reloc_sym_display(rt, k)}' cannot be used when making a "
                            f"{'shared object' if cfg.shared else 'PIE'}; recompile with -fPIC")
    # IFUNCs of this output get an IPLT entry unless every reference is a pointer
    # that IRELATIVE fills, or the symbol can be preempted (shared objects)
    refs = ifuncs[~imported[ifuncs] & (typ[ifuncs] != T.R_NONE) & ~plan.irelative[ifuncs]]
    if len(refs):
        ctx.iplt.add(key[refs])
    textrel = dyn & ~writable[words]
    plan.textrel = _rows(n, words, textrel)
    if textrel.any():
        ctx.textrel_at(rt, int(words[np.argmax(textrel)]))
    ctx.rela_dyn.reserve(int(dyn.sum()))


def _rows(n, rows, where=None):
    """A mask over the n rows of the table, set at rows (those of them `where` says)."""
    m = np.zeros(n, bool)
    m[rows if where is None else rows[where]] = True
    return m


# bits of _key_properties
_FUNC, _DEFINED, _IFUNC, _TLS, _ZERO_UNDEF, _ABSOLUTE, _UNDEF_WEAK = 1, 2, 4, 8, 16, 32, 64


def _key_properties(K):
    """The properties of every symbol key that the scan does not change, as bits."""
    p = K.func.astype(np.uint8)
    for bit, flag in ((_DEFINED, K.defined), (_IFUNC, K.ifunc), (_TLS, K.tls),
                      (_ZERO_UNDEF, K.zero_undef), (_ABSOLUTE, K.absolute), (_UNDEF_WEAK, K.undef_weak)):
        p |= np.asarray(flag, bool).view(np.uint8) * np.uint8(bit)
    return p


def put(out, pos, val, width, little=True):
    """Store the low `width` bytes of each val at pos, in the target's byte order
    (through a view of `out` with a `width`-byte word at every byte offset)."""
    if len(pos) == 0:
        return
    dt = np.dtype(f"{'<' if little else '>'}u{width}")
    if len(out) < width:
        raise IndexError(f"a {width}-byte field does not fit in {len(out)} bytes")
    words = np.ndarray((len(out) - width + 1,), dt, out, 0, (1,))
    words[pos] = val.astype(dt)


class Deferred:
    """What apply() leaves for after the last block of rows: the dynamic relocations
    (all absolute ones, then RELATIVE, then IRELATIVE, each in row order, as one
    whole-table pass added them) and the overflow reports (one report for the link).

    A share of the blocks applied in a worker process (write._copy_and_relocate) has its
    own Deferred with `log` on: the table entries its rows set (GOT values, IPLT
    resolvers) are logged too, and share() hands all of it to the parent, whose
    merge() takes the shares in row order.  Anything apply or a target's relax
    changes besides the output bytes must go through here."""

    def __init__(self, log=False):
        self.dyn = ([], [], [])
        self.overflows = []
        self.log = [] if log else None
        self.rows = 0                       # (rows applied: the tests see the shares' work)

    def fill_got(self, ctx, keys, values):
        ctx.got.fill(keys, values)
        if self.log is not None:
            self.log.append(("got", keys, values))

    def record_resolvers(self, ctx, keys, addrs):
        ctx.iplt.record_resolvers(keys, addrs)
        if self.log is not None:
            self.log.append(("iplt", keys, addrs))

    def share(self):
        """A worker's part, to pickle (the overflow reports without their type_name,
        a method of the target: the parent's is the same)."""
        return self.dyn, [o[:3] for o in self.overflows], self.log, self.rows

    def merge(self, ctx, share):
        """Add the part of the share after the ones merged so far (same order as a
        serial run: a later share's GOT values and resolvers win, as a later block's do)."""
        dyn, overflows, log, rows = share
        for mine, theirs in zip(self.dyn, dyn):
            mine.extend(theirs)
        self.overflows += [(*o, ctx.target.type_name) for o in overflows]
        for what, keys, values in log:
            (ctx.got.fill if what == "got" else ctx.iplt.record_resolvers)(keys, values)
        self.rows += rows

    def finish(self, ctx, rt):
        for parts in self.dyn:
            if parts:
                ctx.rela_dyn.add(*(np.concatenate(c) for c in zip(*parts)))
        if self.overflows:
            from ldpy.checks import report_overflows
            # each block gave the fields of its first 1000: together, the link's first 1000
            # (whatever the blocks, so whatever the shares)
            fields = []
            for _, _, f, _ in self.overflows:
                if len(fields) >= 1000:
                    break
                fields += f
            report_overflows(ctx, rt, np.concatenate([o[0] for o in self.overflows]),
                             np.concatenate([o[1] for o in self.overflows]), fields[:1000],
                             self.overflows[0][3])


def apply(ctx, rt, S, A, out, deferred):
    """Compute and store the relocations of rt (a block of the link's rows) into the
    output image; dynamic relocations and overflow reports go to `deferred`."""
    T = ctx.target
    typ, P, key = rt.type, rt.P, rt.key
    plan = rt.plan
    kind = plan.kind
    tt = np.minimum(typ, T.NTYPES - 1)
    base = T.BASE[tt]
    skip = plan.skip
    val = np.zeros(len(typ), np.int64)
    width = T.WIDTH[tt].copy()
    width[skip] = 0
    got_base = ctx.got_base_addr
    tp = ctx.tls_end
    m = plan.plt_call
    if m.any() and ctx.config.shared:
        # calls to interposable functions of a shared object go through its PLT
        S = S.copy()
        S[m & (base == B_P)] = ctx.plt.entry_addresses(key[m & (base == B_P)])
    SA = S + A
    B = np.where(base == B_P, P, np.where(base == B_GOT, got_base, 0))

    # X + A - B per kind (GOT and TLS forms below, when they keep their slots)
    m = ((kind == K_ABS) | (kind == K_PLT)) & ~skip
    val[m] = SA[m] - B[m]
    m = (kind == K_GOTBASE) & ~skip
    val[m] = got_base + A[m] - B[m]
    m = (kind == K_SIZE) & ~skip
    val[m] = ctx.keys.size[key[m]] + A[m]
    m = kind == K_TPOFF
    val[m] = SA[m] - tp - B[m]
    m = kind == K_TPOFF_NEG
    val[m] = tp - SA[m]
    m = kind == K_DTPOFF
    if m.any():
        if T.DTPOFF_RELAXED_IN_EXEC and not ctx.config.shared:
            relaxed = rt.alloc[m]
            val[m] = np.where(relaxed, SA[m] - tp, SA[m] - ctx.tls_start)
        else:
            val[m] = SA[m] - ctx.tls_start
    # an undefined (weak) TLS symbol is at offset 0 of whatever block it is taken
    # relative to (lld on every target, ld.bfd on AArch64): 0 - TP would not fit the
    # unsigned fields of AArch64's local-exec sequence
    m = ((kind == K_TPOFF) | (kind == K_TPOFF_NEG) | (kind == K_DTPOFF)) & ~ctx.keys.defined[key]
    if m.any():
        val[m] = np.where(kind[m] == K_TPOFF_NEG, -A[m], A[m] - B[m])
    m = plan.tls_gd
    if m.any():
        val[m] = ctx.got_gd.slot_addresses(key[m]) + A[m] - B[m]
    m = plan.tls_ld
    if m.any():
        val[m] = ctx.got_ld.addr + A[m] - B[m]
        width[m] = 4
    # GOT-relative forms that keep their GOT slot
    m = ((kind == K_GOT) & ~plan.relax_gotx & ~plan.gotx_zero & ~plan.ifunc_got) | plan.ie_keep | \
        plan.desc_to_ie
    if m.any():
        slot = ctx.got.slot_addresses(key[m])
        values = S[m]
        if not (ctx.config.shared or ctx.config.pie):
            # an executable's own TLS variable kept initial-exec: its slot holds the TP offset
            # (a PIE's gets a TPOFF dynamic relocation, as in a shared object)
            own = plan.ie_keep[m] & ~ctx.keys.imported[key[m]]
            values[own] = T.tp_offset(ctx, values[own])
        deferred.fill_got(ctx, key[m], values)
        val[m] = slot + A[m] - B[m]
    m = plan.desc_keep
    if m.any():
        val[m] = ctx.gotplt.desc_addresses(key[m]) + A[m] - B[m]
    m = plan.ifunc_got
    if m.any():
        g = ctx.gotplt
        slot = g.addr + T.WORD * (g.RESERVED + g.n_lazy + ctx.iplt.index_of(key[m]))
        val[m] = slot + A[m] - B[m]

    # the target's instruction rewrites (GOT loads, TLS sequences)
    T.relax(ctx, rt, S, A, val, width, out)

    # dynamic relocations for absolute addresses
    dyn = deferred.dyn
    if plan.dyn64.any():
        m = plan.dyn64
        dyn[0].append((P[m], reloc_info(ctx.dynsym_index(key[m]), T.R_ABS), A[m]))
    if plan.relative.any():
        m = plan.relative if plan.relr is None else plan.relative & ~plan.relr
        dyn[1].append((P[m], np.full(int(m.sum()), T.R_RELATIVE, np.int64), SA[m]))
    if plan.irelative.any():
        m = plan.irelative
        resolver = ctx.keys.addr[key[m]]            # (an IFUNC symbol's value is its resolver)
        dyn[2].append((P[m], np.full(int(m.sum()), T.R_IRELATIVE, np.int64), resolver + A[m]))

    # overflow checks and stores (the target's: instruction fields are encoded there)
    T.check_overflow(ctx, rt, tt, val, width)
    T.store(out, rt.pos, tt, val, width)


def branch_destinations(ctx, rt, idx):
    """Where the branches idx of rt go: the symbol plus addend, the PLT entry
    of a function called through the PLT, the IPLT entry of a local IFUNC."""
    keys = ctx.keys
    key = rt.key[idx]
    S = keys.addr[key].copy()
    plan = rt.plan
    m = plan.plt_call[idx]
    if m.any() and ctx.config.shared:
        S[m] = ctx.plt.entry_addresses(key[m])
    ifm = keys.ifunc[key]
    if ifm.any() and ctx.iplt is not None and len(ctx.iplt):
        ifm &= isin(key, ctx.iplt.keys)
        if ifm.any():
            S[ifm] = ctx.iplt.entry_addresses(key[ifm])
    return S + rt.addend[idx]


def check_overflow(ctx, rt, tt, val, width):
    """Every stored value inside its type's overflow class (Target.CHECK)."""
    T = ctx.target
    chk = T.CHECK[tt]
    bad = None
    for code, (lo, hi) in RANGES.items():
        m = (chk == code) & (width > 0)
        if m.any():
            badm = m & ((val < lo) | (val > hi))
            if badm.any():
                bad = badm if bad is None else bad | badm
    if bad is not None:         # only the failing few get messages (checks.py)
        from ldpy.checks import report_overflows
        idx = np.flatnonzero(bad)
        report_overflows(ctx, rt, idx, val[idx], [FIELDS[int(c)] for c in chk[idx[:1000]]], T.type_name)


def store(out, pos, val, width, little=True):
    """Data fields: the low `width` bytes of each value, in the target's byte order."""
    for w in (8, 4, 2, 1):
        m = width == w
        if m.any():
            put(out, pos[m], val[m], w, little)
