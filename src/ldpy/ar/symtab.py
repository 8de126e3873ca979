"""The symbols an archive index lists, read from every ELF member at once.

GNU ar indexes, per member and in symbol-table order, every symbol that is
defined (st_shndx != SHN_UNDEF) and global, weak or GNU_UNIQUE, plus common
symbols (SHN_COMMON, and a target's large-common index: SHN_X86_64_LCOMMON).  Section and file
symbols are never listed.

All members are concatenated into one byte array and parsed with numpy
gathers: ELF headers, section header tables, symbol tables and names are each
one fancy-indexing operation per ELF flavour (class x byte order), whatever
the number of members.  Any ELF member makes the archive one that gets an
index (BFD's "has objects"); one whose tables do not fit inside it
contributes no symbols.
"""
import numpy as np

from ldpy.util import isin
from ldpy.elf.format import dtypes, SHN_COMMON, SHT_SYMTAB
from ldpy.arch.base import all_targets

STT_SECTION, STT_FILE = 3, 4
_BINDINGS = np.zeros(16, bool)
_BINDINGS[[1, 2, 10]] = True        # STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE


class SymbolIndex:
    """What the archive index needs: per member, whether it is an object and
    how many symbols it contributes; all names NUL-terminated, in order."""

    def __init__(self, is_object, counts, names):
        self.is_object = is_object          # bool array, one per member
        self.counts = counts                # int64 array, one per member
        self.names = names                  # bytes: name\0name\0...

    @property
    def total(self):
        return int(self.counts.sum())


def _gather(buf, starts, width):
    """Rows of `width` bytes starting at `starts` (absolute), as an (n, width) array."""
    return buf[starts[:, None] + np.arange(width, dtype=np.int64)]


def _ranges(starts, counts, stride):
    """Absolute positions of counts[i] records of `stride` bytes from starts[i],
    concatenated, plus the owner (index into starts) of each record."""
    counts = counts.astype(np.int64)
    owner = np.repeat(np.arange(len(starts)), counts)
    first = np.cumsum(counts) - counts
    k = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first, counts)
    return np.repeat(starts, counts) + k * stride, owner


def _records(buf, positions, dtype):
    if len(positions) == 0:
        return np.zeros(0, dtype)
    return np.ascontiguousarray(_gather(buf, positions, dtype.itemsize)).view(dtype).ravel()


def _flavour(buf, base, size, dt):
    """Defined global symbols of the members at `base` (all of one ELF flavour):
    (owner member position, absolute name offset) per symbol."""
    n = len(base)
    ok = size >= dt.ehdr.itemsize
    eh = _records(buf, base[ok], dt.ehdr)
    shoff = np.zeros(n, np.int64)
    shnum = np.zeros(n, np.int64)
    shent = np.zeros(n, np.int64)
    machine = np.zeros(n, np.int64)
    shoff[ok] = eh["e_shoff"].astype(np.int64)
    shnum[ok] = eh["e_shnum"]
    shent[ok] = eh["e_shentsize"]
    machine[ok] = eh["e_machine"]
    ok &= (shent == dt.shdr.itemsize) & (shoff > 0)
    # more than 0xff00 sections: the count lives in section header 0's sh_size
    big = ok & (shnum == 0) & (shoff + dt.shdr.itemsize <= size)
    if big.any():
        sh0 = _records(buf, base[big] + shoff[big], dt.shdr)
        shnum[big] = sh0["sh_size"].astype(np.int64)
    ok &= (shnum > 0) & (shoff + shnum * dt.shdr.itemsize <= size)
    shnum[~ok] = 0

    pos, owner = _ranges(base + shoff, shnum, dt.shdr.itemsize)
    sh = _records(buf, pos, dt.shdr)
    first_row = np.cumsum(shnum) - shnum
    # the symbol table of each member (the first SHT_SYMTAB) and its string table
    rows = np.flatnonzero(sh["sh_type"] == SHT_SYMTAB)
    members, keep = np.unique(owner[rows], return_index=True)
    rows = rows[keep]
    link = sh["sh_link"][rows].astype(np.int64)
    good = link < shnum[members]
    members, rows, link = members[good], rows[good], link[good]
    str_rows = first_row[members] + link
    sym_off = sh["sh_offset"][rows].astype(np.int64)
    sym_cnt = sh["sh_size"][rows].astype(np.int64) // dt.sym.itemsize
    str_off = sh["sh_offset"][str_rows].astype(np.int64)
    str_size = sh["sh_size"][str_rows].astype(np.int64)
    msize = size[members]
    good = ((sym_off >= 0) & (str_off >= 0) & (str_size >= 0) & (sym_cnt > 0)
            & (sym_off + sym_cnt * dt.sym.itemsize <= msize) & (str_off + str_size <= msize))
    members, sym_off, sym_cnt, str_off, str_size = (
        a[good] for a in (members, sym_off, sym_cnt, str_off, str_size))

    # every symbol but the null one, member after member, in table order
    pos, which = _ranges(base[members] + sym_off + dt.sym.itemsize, sym_cnt - 1, dt.sym.itemsize)
    syms = _records(buf, pos, dt.sym)
    info = syms["st_info"]
    shndx = syms["st_shndx"]
    stype = info & 0xf
    common = shndx == SHN_COMMON
    for t in all_targets():
        if t.LARGE_COMMON is not None:      # (the target's own common section index)
            common |= (shndx == t.LARGE_COMMON) & (machine[members][which] == t.MACHINE)
    want = ((_BINDINGS[info >> 4] & (shndx != 0)) | common) & (stype != STT_SECTION) & (stype != STT_FILE)
    st_name = syms["st_name"][want].astype(np.int64)
    which = which[want]
    inside = st_name < str_size[which]        # a name outside the string table: dropped
    st_name, which = st_name[inside], which[inside]
    return members[which], base[members][which] + str_off[which] + st_name


# with --plugin (ldpy-ar): bytes of a member -> the names its IR defines, or None
# for a member no plugin claims (lto.plugin.ir_symbol_reader)
ir_names = None


def _with_ir(index, blobs):
    """The index with LTO IR members' symbols as the plugin reads them (GNU ar
    with a plugin lists those instead of the members' ELF symbols)."""
    from ldpy.lto import is_ir_candidate
    per_member, pos = [], 0
    parts = index.names.split(b"\0")
    for c in index.counts.tolist():
        per_member.append(parts[pos:pos + c])
        pos += c
    is_object = index.is_object.copy()
    changed = False
    for i, blob in enumerate(blobs):
        if is_ir_candidate(blob):
            names = ir_names(blob)
            if names is not None:
                per_member[i] = names
                is_object[i] = changed = True
    if not changed:
        return index
    counts = np.array([len(m) for m in per_member], np.int64)
    return SymbolIndex(is_object, counts, b"".join(n + b"\0" for m in per_member for n in m))


def index_symbols(blobs):
    """SymbolIndex of the members whose bytes are `blobs` (bytes-like, in order)."""
    index = _index_symbols(blobs)
    return _with_ir(index, blobs) if ir_names is not None and len(blobs) else index


def _index_symbols(blobs):
    n = len(blobs)
    sizes = np.fromiter((len(b) for b in blobs), np.int64, n)
    buf = np.frombuffer(b"".join(blobs), np.uint8)
    base = np.cumsum(sizes) - sizes
    head = sizes >= 16
    ident = np.zeros((n, 6), np.uint8)
    ident[head] = _gather(buf, base[head], 6)
    is_object = head & (ident[:, :4] == (0x7f, 0x45, 0x4c, 0x46)).all(1)
    is_object &= isin(ident[:, 4], (1, 2)) & isin(ident[:, 5], (1, 2))
    owners, name_starts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for cls, enc in ((2, 1), (1, 1), (2, 2), (1, 2)):
        sel = np.flatnonzero(is_object & (ident[:, 4] == cls) & (ident[:, 5] == enc))
        if len(sel):
            who, start = _flavour(buf, base[sel], sizes[sel], dtypes(cls == 2, enc == 1))
            owners.append(sel[who])
            name_starts.append(start)
    owner = np.concatenate(owners)
    start = np.concatenate(name_starts)
    order = np.argsort(owner, kind="stable")      # member order, table order within
    owner, start = owner[order], start[order]
    counts = np.bincount(owner, minlength=n).astype(np.int64)
    # each name runs to the next NUL (string tables end in one; the buffer too, else)
    nul = np.flatnonzero(buf == 0)
    if len(start) and (len(nul) == 0 or nul[-1] < start.max()):
        nul = np.append(nul, len(buf))
        buf = np.append(buf, np.uint8(0))
    end = nul[np.searchsorted(nul, start)]
    pos, _ = _ranges(start, end - start + 1, 1)
    return SymbolIndex(is_object, counts, buf[pos].tobytes())
