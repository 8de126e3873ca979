"""lld's --pack-dyn-relocs=android: .rela.dyn in Android's packed format (APS2),
read by bionic's loader (not glibc's), SHT_ANDROID_RELA with DT_ANDROID_RELA/RELASZ;
REL targets (i386) pack .rel.dyn as SHT_ANDROID_REL with DT_ANDROID_REL/RELSZ, with
no addends in the stream (no HAS_ADDEND: they stay in the relocated words).

The stream is "APS2", then SLEB128 numbers: the relocation count, the initial
r_offset (0), then groups.  A group is its size, its flags and the fields its flags
share; each member then gives what the group does not share.  Offsets and addends
are deltas from the previous relocation.  ldpy writes two groups:

  RELATIVE relocations by offset: flags GROUPED_BY_INFO | HAS_ADDEND, the info once,
      then per relocation (offset delta, addend delta);
  the others in .rela.dyn's order: flags HAS_ADDEND, per relocation
      (offset delta, info, addend delta).

The section is sized during layout, before the relocations are known, by a bound
from the output's highest address and its largest input addend (`size_bound`);
the stream is then padded with zeros, which the loader never reads (it stops after
the count), as lld pads its packed section so that layout converges."""
import numpy as np

SHT_ANDROID_REL, SHT_ANDROID_RELA = 0x60000001, 0x60000002
DT_ANDROID_REL, DT_ANDROID_RELSZ = 0x6000000f, 0x60000010
DT_ANDROID_RELA, DT_ANDROID_RELASZ = 0x60000011, 0x60000012
GROUPED_BY_INFO, GROUPED_BY_OFFSET_DELTA, GROUPED_BY_ADDEND, HAS_ADDEND = 1, 2, 4, 8
_MAX = 10                        # bytes of the SLEB128 of any 64-bit value


def sleb_lengths(values):
    """Bytes of the SLEB128 encoding of each int64 value."""
    v = np.asarray(values, np.int64)
    mag = np.where(v < 0, ~v, v).astype(np.uint64)       # bits that are not sign copies
    bits = np.zeros(len(v), np.int64)
    x = mag.copy()
    while x.any():                                        # (at most 64 rounds, whole arrays)
        nz = x != 0
        bits[nz] += 1
        x >>= np.uint64(1)
    return (bits + 1 + 6) // 7                            # + the sign bit, 7 bits a byte


def encode_sleb(values):
    """The SLEB128 bytes of the int64 values, one after the other (vectorized)."""
    v = np.asarray(values, np.int64)
    if not len(v):
        return np.zeros(0, np.uint8)
    n = sleb_lengths(v)
    k = np.arange(_MAX, dtype=np.int64)
    groups = (v[:, None] >> np.minimum(7 * k, 63)[None, :]) & 0x7f   # (arithmetic shifts)
    more = k[None, :] < (n[:, None] - 1)
    out = (groups | np.where(more, 0x80, 0)).astype(np.uint8)
    return out[k[None, :] < n[:, None]]                   # row-major: value by value


def encode(rows, relative_type, target=None):
    """The APS2 bytes of the dynamic relocations `rows` (RELOC in-memory rows), their
    r_info as `target`'s file writes it (ELF32: symbol << 8 | type); a REL target's
    groups carry no addends."""
    from ldpy.elf.format import reloc_sym, reloc_type
    rela = target is None or target.RELA
    off = rows["r_offset"].astype(np.int64)
    info = rows["r_info"].astype(np.int64) if target is None else \
        target.dt.r_info(reloc_sym(rows["r_info"]), reloc_type(rows["r_info"])).astype(np.int64)
    add = rows["r_addend"].astype(np.int64)
    rel = reloc_type(rows["r_info"]) == relative_type
    ri = np.flatnonzero(rel)
    ri = ri[np.argsort(off[ri], kind="stable")]
    oi = np.flatnonzero(~rel)
    order = np.concatenate([ri, oi])
    d_off = np.diff(np.concatenate([[0], off[order]]))
    d_add = np.diff(np.concatenate([[0], add[order]]))
    head = [len(rows), 0]
    parts = [np.frombuffer(b"APS2", np.uint8), encode_sleb(head)]
    nr = len(ri)
    has_addend = HAS_ADDEND if rela else 0
    if nr:
        parts.append(encode_sleb([nr, GROUPED_BY_INFO | has_addend, relative_type]))
        fields = [d_off[:nr], d_add[:nr]] if rela else [d_off[:nr]]
        parts.append(encode_sleb(np.stack(fields, 1).reshape(-1)))
    if len(oi):
        parts.append(encode_sleb([len(oi), has_addend]))
        fields = [d_off[nr:], info[oi], d_add[nr:]] if rela else [d_off[nr:], info[oi]]
        parts.append(encode_sleb(np.stack(fields, 1).reshape(-1)))
    return np.concatenate(parts)


def size_bound(count, n_relative, max_addr, max_addend, max_info, rela=True):
    """Bytes `encode` can need at most for `count` relocations (`n_relative` of them
    RELATIVE) whose offsets lie below max_addr, whose addends are addresses below
    max_addr plus input addends up to max_addend in size, and infos up to max_info."""
    L = lambda x: int(sleb_lengths([x])[0])          # noqa: E731
    off = L(max_addr)                                 # deltas of sorted or unsorted offsets
    addend = L(2 * (max_addr + max_addend)) if rela else 0    # deltas between two addends
    head = 4 + L(count) + 1
    groups = 2 * (L(count) + 1) + L(max_info)
    return head + groups + n_relative * (off + addend) + (count - n_relative) * (off + L(max_info) + addend)


def _bound(ctx):
    sec = ctx.rela_dyn
    ends = [o.addr + o.size for o in ctx.sections_out if o.size]
    max_addr = max(ends, default=0)
    rt = ctx.relocs
    max_addend = 0 if rt.empty or not len(rt.addend) else int(np.abs(rt.addend).max())
    n_rel = max(0, ctx.n_relative - (ctx.relr.moved if ctx.relr is not None else 0))
    n_dyn = len(ctx.dynsym_sec.dyn.symbols) if ctx.dynsym_sec is not None else 0
    return size_bound(sec.count, min(n_rel, sec.count), max_addr, max_addend, ((n_dyn + 1) << 32) - 1,
                      ctx.target.RELA)


def settle(ctx, relayout, pack_relr=None):
    """Grow the packed section to the bound for the laid-out addresses, laying out
    again while it grows (it never shrinks, so this ends); .relr.dyn, when there is
    one, is settled first at each round."""
    sec = ctx.rela_dyn
    while True:
        if pack_relr is not None:
            pack_relr()
        need = _bound(ctx)
        if need <= sec.size:
            return
        sec.size = need
        relayout()


def fill(sec, relative_type):
    """The packed bytes of the built rows, padded with zeros to the laid-out size."""
    data = encode(sec.rows, relative_type, sec.target)
    if len(data) > sec.size:
        raise AssertionError(f"{sec.name}: APS2 stream of {len(data)} bytes exceeds its bound {sec.size}")
    out = np.zeros(sec.size, np.uint8)
    out[:len(data)] = data
    sec.data = out
