"""--gdb-index: the .gdb_index section (version 7), as ld.lld writes it.

Two passes of the link (driver.py):

* ``create_gdb_index`` (after assign_sections: liveness is final) reads every
  object that brings a ``.debug_info`` section (not in a COMDAT group; the last
  one, like lld), each with its own relocations, as lld's LLDDwarfObj does:
  a relocated field reads as (section index of the symbol, st_value + addend).

  - the CU list: offset and length of each compile unit (DW_UT_compile,
    partial, skeleton, split_compile; DWARF 2 to 5, 32- and 64-bit DWARF),
  - the address area: each CU DIE's DW_AT_low_pc/DW_AT_high_pc, or its
    DW_AT_ranges (``.debug_ranges`` for DWARF <= 4; ``.debug_rnglists`` with
    DW_FORM_sec_offset or DW_FORM_rnglistx + DW_AT_rnglists_base for DWARF 5;
    DW_RLE_*x entries through ``.debug_addr`` and DW_AT_addr_base), kept as
    (input section, start, end) when the section is live and the range not
    empty -- LLVM's DWARFUnit::collectAddressRanges semantics,
  - the names of ``.debug_gnu_pubnames`` / ``.debug_gnu_pubtypes`` (gcc
    ``-ggnu-pubnames``), which then leave the output, as with lld.

  The symbol table and constant pool do not depend on addresses: they are
  built here, vectorized over all entries of the link: the name sets of every
  object step together one entry per numpy step (the few long sets left are
  walked by pointer doubling over their NUL bytes); names are deduplicated by
  hashes and checked byte for byte; the gdb hash is one numpy step per
  character position; the open-addressing table is built in rounds where the
  earlier symbol keeps a contested slot, which gives exactly lld's sequential
  insertion.  The section's size is then known.

The bytes are lld's, with one exception: a DWARF64 unit is listed with its
whole size (lld's length + 4 makes gdb abort), as mold does.

* ``write_gdb_index`` (after layout) writes the CU offsets (the input
  .debug_info's place in the output .debug_info + the unit's offset) and the
  address area at output addresses (the input section's address + offset).

Broken DWARF never stops the link: like lld, a warning naming the section,
and that part (the object's address area, the rest of a name table) is left out.
Input sections compressed with -gz are read inflated (InputSection.bytes()).
"""
import bisect

import numpy as np

from ldpy.diag import diag
from ldpy.elf.dwarf_line import DwarfReader, DwarfError, RESERVED_LENGTH, abbrev_decl
from ldpy.elf.format import reloc_sym, SHT_PROGBITS, SHF_GROUP
from ldpy.input.object import InputSection

VERSION = 7
HEADER_SIZE = 24

# DW_AT_*
AT_LOW_PC, AT_HIGH_PC, AT_RANGES, AT_ENTRY_PC = 0x11, 0x12, 0x55, 0x52
AT_ADDR_BASE, AT_RNGLISTS_BASE, AT_GNU_ADDR_BASE = 0x73, 0x74, 0x2133
# DW_FORM_* (elf/dwarf_line.py owns the DWARF form codes)
from ldpy.elf.dwarf_line import (  # noqa: E402
    F_ADDR, F_BLOCK2, F_BLOCK4, F_DATA2, F_DATA4, F_DATA8, F_STRING, F_BLOCK, F_BLOCK1,
    F_DATA1, F_FLAG, F_SDATA, F_STRP, F_UDATA, F_REF_ADDR, F_REF1, F_REF2, F_REF4, F_REF8,
    F_REF_UDATA, F_INDIRECT, F_SEC_OFFSET, F_EXPRLOC, F_FLAG_PRESENT, F_STRX, F_ADDRX,
    F_REF_SUP4, F_STRP_SUP, F_DATA16, F_LINE_STRP, F_REF_SIG8, F_IMPLICIT_CONST,
    F_LOCLISTX, F_RNGLISTX, F_REF_SUP8, F_GNU_ADDR_INDEX, F_GNU_STR_INDEX, F_GNU_REF_ALT,
    F_GNU_STRP_ALT)
F_STRX1, F_STRX2, F_STRX3, F_STRX4, F_ADDRX1, F_ADDRX2, F_ADDRX3, F_ADDRX4 = range(0x25, 0x2d)

_FIXED = {F_DATA1: 1, F_REF1: 1, F_FLAG: 1, F_STRX1: 1, F_ADDRX1: 1,
          F_DATA2: 2, F_REF2: 2, F_STRX2: 2, F_ADDRX2: 2, F_STRX3: 3, F_ADDRX3: 3,
          F_STRX4: 4, F_ADDRX4: 4, F_REF_SUP8: 8, F_REF_SIG8: 8, F_DATA16: 16}
_RELOCATED = {F_DATA4: 4, F_REF4: 4, F_REF_SUP4: 4, F_DATA8: 8, F_REF8: 8}
_ULEB = {F_UDATA, F_REF_UDATA, F_STRX, F_ADDRX, F_LOCLISTX, F_RNGLISTX, F_GNU_ADDR_INDEX,
         F_GNU_STR_INDEX}
_OFFSET = {F_SEC_OFFSET, F_STRP, F_LINE_STRP, F_STRP_SUP, F_GNU_REF_ALT, F_GNU_STRP_ALT}
_ADDRX = {F_ADDRX, F_ADDRX1, F_ADDRX2, F_ADDRX3, F_ADDRX4, F_GNU_ADDR_INDEX}
_CONSTANT = {F_DATA1, F_DATA2, F_DATA4, F_DATA8, F_UDATA, F_IMPLICIT_CONST}

# DW_UT_* that are compile units (LLVM's compile_units(): not type units)
_CU_TYPES = {1, 3, 4, 5}          # compile, partial, skeleton, split_compile
_PUB_NAMES = (".debug_gnu_pubnames", ".debug_gnu_pubtypes")
_LISTS = {".debug_ranges", ".debug_rnglists", ".debug_addr"}   # relocations read by the many
_NEEDED = {".debug_info", ".debug_abbrev", ".debug_ranges", ".debug_rnglists", ".debug_addr"} | \
    set(_PUB_NAMES)


class _Broken(Exception):
    """Malformed DWARF in an object: the message lld would give."""


# -- one input section, read with its relocations --------------------------------
class _Section:
    """An input section's bytes and its relocations.  .debug_info has a relocation
    for nearly every field but only a few are looked up (numpy search per lookup);
    range and address lists are read whole (Python lists, bisect)."""
    __slots__ = ("sec", "b", "little", "_f", "_rel", "_roff", "_rsec", "_rval")

    def __init__(self, sec, f, many=False):
        self.sec = sec
        self.b = sec.bytes().tobytes()
        self.little = f.little
        self._f = f
        self._roff = None
        rel = sec.relocs
        if rel is None or not len(rel):
            self._rel = None
            return
        off = rel["r_offset"]
        if len(off) > 1 and (off[1:] < off[:-1]).any():
            rel = rel[np.argsort(off, kind="stable")]
        self._rel = rel
        if many:
            sym = self._symbols(rel)
            shndx, value = self._resolve(sym, rel)
            self._roff = rel["r_offset"].astype(np.int64).tolist()
            self._rsec = shndx.tolist()
            self._rval = value.tolist()

    def _symbols(self, rel):
        return reloc_sym(rel["r_info"])

    def _resolve(self, sym, rel):
        """(symbol's section index or -1, st_value + addend) of each relocation."""
        f = self._f
        ok = (sym >= 0) & (sym < len(f.symbols))
        sym = np.where(ok, sym, 0)
        if len(f.symbols):
            st_value = f.symbols["st_value"][sym].astype(np.uint64)
            shndx = np.where(ok, f.shndx[sym], -1)
        else:                                       # (no symbol table: nothing resolves)
            st_value = np.zeros(len(sym), np.uint64)
            shndx = np.full(len(sym), -1, np.int64)
        return shndx, st_value + rel["r_addend"].astype(np.int64).view(np.uint64)

    def reloc(self, pos):
        """(symbol's section index, S + A) of the relocation at pos, or None."""
        ro = self._roff
        if ro is not None:
            i = bisect.bisect_left(ro, pos)
            if i < len(ro) and ro[i] == pos:
                return self._rsec[i], self._rval[i]
            return None
        rel = self._rel
        if rel is None:
            return None
        off = rel["r_offset"]
        i = int(np.searchsorted(off, pos))
        if i >= len(off) or int(off[i]) != pos:
            return None
        one = rel[i:i + 1]
        shndx, value = self._resolve(self._symbols(one), one)
        return int(shndx[0]), int(value[0])

    def reader(self, pos=0, end=None):
        return DwarfReader(self.b, pos, len(self.b) if end is None else end, self.little)

    def value(self, r, n):
        """An n-byte field, relocated: (value, section index or -1)."""
        p = r.pos
        v = r.uint(n)
        rel = self.reloc(p)
        if rel is None:
            return v, -1
        return rel[1] & ((1 << (8 * n)) - 1), rel[0]


class _Unit:
    __slots__ = ("offset", "length", "version", "unit_type", "addr_size", "off_size",
                 "abbrev", "die", "end")


class _FileDwarf:
    """The DWARF sections of one object that the index needs (lld's LLDDwarfObj)."""

    def __init__(self, f, info_sec):
        self.f = f
        self.secs = {}
        for s in f.sections:
            if isinstance(s, InputSection) and s.name in _NEEDED and s.name != ".debug_info":
                self.secs[s.name] = s            # (the last of each name, as lld)
        self.info_sec = info_sec
        self._cache = {}
        self._abbrevs = {}

    def section(self, name):
        s = self._cache.get(name)
        if s is None:
            sec = self.info_sec if name == ".debug_info" else self.secs.get(name)
            if sec is None:
                return None
            s = self._cache[name] = _Section(sec, self.f, many=name in _LISTS)
        return s

    # -- units ------------------------------------------------------------------
    def units(self):
        """The compile units of .debug_info; a warning ends the list early."""
        info = self.section(".debug_info")
        b = info.b
        out = []
        pos = 0
        while pos < len(b):
            r = info.reader(pos)
            try:
                u = _unit_header(info, r, pos)
            except (DwarfError, _Broken) as e:
                msg = e.args[0] if isinstance(e, _Broken) else \
                    f"DWARF unit at offset {pos:#010x} has a truncated header"
                diag.warn(f"{info.sec.where()}: {msg}")
                break
            pos = u.end
            if u.version < 5 or u.unit_type in _CU_TYPES:
                out.append(u)
        return out

    def abbrev(self, off, code):
        key = (off, code)
        decl = self._abbrevs.get(key)
        if decl is None:
            decl = self._abbrevs[key] = _abbrev_decl(self.section(".debug_abbrev"), off, code)
        return decl

    # -- the unit DIE -----------------------------------------------------------
    def unit_die(self, u):
        """{DW_AT: (form, value, section index)} of the unit's first DIE."""
        info = self.section(".debug_info")
        r = info.reader(u.die, u.end)
        code = r.uleb()
        if code == 0:
            raise _Broken("No unit DIE")
        decl = self.abbrev(u.abbrev, code)
        if decl is None:
            raise _Broken(f"invalid abbreviation code {code} in the unit at offset {u.offset:#x}")
        attrs = {}
        for at, form, implicit in decl:
            attrs.setdefault(at, _form_value(info, r, form, u, implicit))
        return attrs

    def address_ranges(self, u):
        """[(low, high, section index)] of a unit, as collectAddressRanges."""
        attrs = self.unit_die(u)
        addr_base = _section_offset(attrs.get(AT_ADDR_BASE) or attrs.get(AT_GNU_ADDR_BASE), u)
        low = self._address(attrs.get(AT_LOW_PC), u, addr_base)
        tomb = (1 << (8 * u.addr_size)) - 1
        if low is not None and low[0] != tomb:
            high = attrs.get(AT_HIGH_PC)
            hv = None
            if high is not None:
                a = self._address(high, u, addr_base)
                if a is not None:
                    hv = a[0]
                elif high[0] in _CONSTANT:
                    hv = low[0] + high[1]
            if hv is not None:
                return [(low[0], hv, low[1])]
        ranges = attrs.get(AT_RANGES)
        if ranges is None:
            return []
        base = low if low is not None else self._address(attrs.get(AT_ENTRY_PC), u, addr_base)
        if ranges[0] == F_RNGLISTX:
            if u.version < 5:
                raise _Broken("DW_FORM_rnglistx in a DWARF version " + str(u.version) + " unit")
            off = self._rnglist_offset(attrs, u, ranges[1])
            return self._rnglist(off, u, base, addr_base)
        off = _section_offset(ranges, u)
        if off is None:
            return []
        if u.version <= 4:
            return self._ranges(off, u, base)
        return self._rnglist(off, u, base, addr_base)

    def _address(self, attr, u, addr_base):
        """(address, section index) of an address-class attribute, or None."""
        if attr is None:
            return None
        form, v, sec = attr
        if form == F_ADDR:
            return v, sec
        if form in _ADDRX:
            return self._pooled(v, u, addr_base)
        return None

    def _pooled(self, index, u, addr_base):
        """Entry `index` of the unit's .debug_addr contribution (relocated), or None."""
        if addr_base is None:
            return None
        addr = self.section(".debug_addr")
        off = addr_base + index * u.addr_size
        if addr is None or off + u.addr_size > len(addr.b):
            return None
        return addr.value(addr.reader(off), u.addr_size)

    def _ranges(self, off, u, base):
        """A .debug_ranges list (DWARF 2 to 4), as DWARFDebugRangeList."""
        sec = self.section(".debug_ranges")
        n = u.addr_size
        if sec is None or off >= len(sec.b):
            raise _Broken(f"invalid range list offset {off:#x}")
        r = sec.reader(off)
        maxa = (1 << (8 * n)) - 1
        tomb = maxa - 1
        out = []
        try:
            while True:
                start, ssec = sec.value(r, n)
                end, _ = sec.value(r, n)
                if start == 0 and end == 0:
                    break
                if start == maxa:                      # base address selection
                    base = (end, ssec)
                    continue
                if start == tomb:
                    continue
                idx = ssec
                if base is not None:
                    if base[0] == tomb:
                        continue
                    start += base[0]
                    end += base[0]
                    if idx == -1:
                        idx = base[1]
                out.append((start & maxa, end & maxa, idx))
        except DwarfError:
            raise _Broken(f"invalid range list entry at offset {r.pos:#x}")
        return out

    def _rnglist_offset(self, attrs, u, index):
        sec = self.section(".debug_rnglists")
        hdr = 20 if u.off_size == 8 else 12
        base = _section_offset(attrs.get(AT_RNGLISTS_BASE), u)
        if base is None:
            base = hdr
        p = base + index * u.off_size
        if sec is None or p + u.off_size > len(sec.b):
            raise _Broken(f"invalid range list table index {index} (possibly missing the entire "
                          f"range list table)")
        return base + sec.reader(p).uint(u.off_size)

    def _rnglist(self, off, u, base, addr_base):
        """A .debug_rnglists list (DWARF 5), as DWARFDebugRnglist::getAbsoluteRanges."""
        sec = self.section(".debug_rnglists")
        if sec is None or off >= len(sec.b):
            raise _Broken(f"invalid range list offset {off:#x}")
        n = u.addr_size
        tomb = (1 << (8 * n)) - 1
        r = sec.reader(off)
        out = []
        try:
            while True:
                kind = r.u8()
                if kind == 0:                          # DW_RLE_end_of_list
                    break
                idx = -1
                if kind == 1:                          # base_addressx
                    i = r.uleb()
                    base = self._pooled(i, u, addr_base) or (i, -1)
                    continue
                if kind == 5:                          # base_address
                    base = sec.value(r, n)
                    continue
                if kind == 4:                          # offset_pair
                    a, b = r.uleb(), r.uleb()
                    if base is None or base[0] == tomb:
                        continue
                    lo, hi = a + base[0], b + base[0]
                    idx = base[1]
                elif kind == 6:                        # start_end
                    lo, idx = sec.value(r, n)
                    hi, _ = sec.value(r, n)
                    if idx == -1 and base is not None:
                        idx = base[1]
                elif kind == 7:                        # start_length
                    lo, idx = sec.value(r, n)
                    hi = lo + r.uleb()
                    if idx == -1 and base is not None:
                        idx = base[1]
                elif kind == 3:                        # startx_length
                    a, length = r.uleb(), r.uleb()
                    lo, idx = self._pooled(a, u, addr_base) or (0, -1)
                    hi = lo + length
                elif kind == 2:                        # startx_endx
                    a, b = r.uleb(), r.uleb()
                    lo, idx = self._pooled(a, u, addr_base) or (0, -1)
                    hi = (self._pooled(b, u, addr_base) or (0, -1))[0]
                else:
                    raise _Broken(f"unknown rnglists encoding {kind:#x} at offset {r.pos - 1:#x}")
                if lo == tomb:
                    continue
                out.append((lo & 0xffffffffffffffff, hi & 0xffffffffffffffff, idx))
        except DwarfError:
            raise _Broken(f"invalid range list entry at offset {r.pos:#x}")
        return out


def _unit_header(info, r, pos):
    u = _Unit()
    u.offset = pos
    length, u.off_size = r.initial_length()
    if length >= RESERVED_LENGTH:
        raise _Broken(f"DWARF unit at offset {pos:#010x} has unsupported length {length:#x}")
    u.length = length
    u.end = r.pos + length
    if u.end > len(info.b):
        raise _Broken(f"DWARF unit from offset {pos:#010x} incl. to offset {u.end:#010x} excl. "
                      f"extends past section size {len(info.b):#010x}")
    r.end = u.end
    u.version = r.uint(2)
    if not 2 <= u.version <= 5:
        raise _Broken(f"DWARF unit at offset {pos:#010x} has unsupported version {u.version}")
    u.unit_type = 1
    if u.version >= 5:
        u.unit_type = r.u8()
        u.addr_size = r.u8()
        u.abbrev, _ = info.value(r, u.off_size)
        if u.unit_type in (4, 5):
            r.skip(8)                                # dwo_id
        elif u.unit_type in (2, 6):
            r.skip(8 + u.off_size)                   # type signature, type offset
        elif u.unit_type not in (1, 3):
            raise _Broken(f"DWARF unit at offset {pos:#010x} has unsupported unit type "
                          f"{u.unit_type:#x}")
    else:
        u.abbrev, _ = info.value(r, u.off_size)
        u.addr_size = r.u8()
    if u.addr_size not in (2, 4, 8):
        raise _Broken(f"DWARF unit at offset {pos:#010x} has unsupported address size {u.addr_size}")
    u.die = r.pos
    return u


def _abbrev_decl(sec, off, code):
    """[(attribute, form, implicit const)] of abbreviation `code` in the table at
    `off` (read up to it: a unit DIE's code is usually the first), or None."""
    if sec is None or not 0 <= off < len(sec.b):
        raise _Broken(f"invalid .debug_abbrev offset {off:#x}")
    try:
        return abbrev_decl(sec.reader(off), code)
    except DwarfError:
        raise _Broken(f"truncated abbreviation table at offset {off:#x}")


def _form_value(info, r, form, u, implicit, depth=0):
    """(form, value, section index) of one attribute; r moves past it."""
    if form == F_ADDR:
        v, s = info.value(r, u.addr_size)
        return form, v, s
    if form in _RELOCATED:
        return form, info.value(r, _RELOCATED[form])[0], -1
    if form in _FIXED:
        return form, r.uint(_FIXED[form]), -1
    if form in _ULEB:
        return form, r.uleb(), -1
    if form in _OFFSET:
        return form, info.value(r, u.off_size)[0], -1
    if form == F_REF_ADDR:
        v, s = info.value(r, u.addr_size if u.version <= 2 else u.off_size)
        return form, v, s
    if form == F_SDATA:
        return form, r.sleb(), -1
    if form == F_STRING:
        r.cstr()
        return form, None, -1
    if form in (F_BLOCK, F_EXPRLOC):
        r.skip(r.uleb())
    elif form == F_BLOCK1:
        r.skip(r.uint(1))
    elif form == F_BLOCK2:
        r.skip(r.uint(2))
    elif form == F_BLOCK4:
        r.skip(r.uint(4))
    elif form == F_FLAG_PRESENT:
        return form, 1, -1
    elif form == F_IMPLICIT_CONST:
        return form, implicit, -1
    elif form == F_INDIRECT and depth < 4:
        return _form_value(info, r, r.uleb(), u, implicit, depth + 1)
    else:
        raise _Broken(f"unsupported form {form:#x} in the unit at offset {u.offset:#x}")
    return form, None, -1


def _section_offset(attr, u):
    """An attribute of class rnglist/addrptr/... as a section offset, or None."""
    if attr is None:
        return None
    form, v, _ = attr
    if form in (F_SEC_OFFSET, F_RNGLISTX, F_LOCLISTX) or \
            (form in (F_DATA4, F_DATA8) and u.version <= 3):
        return v
    return None


# -- the names: .debug_gnu_pubnames / .debug_gnu_pubtypes ---------------------------
def _pub_sets(sec, cu_offsets, cu_base, sets, buf_base):
    """Parse the set headers of one name section (a Python loop per set) and add
    (entries start, end, offset size, CU value) to `sets`, in buffer coordinates."""
    b = sec.b
    pos = 0
    while pos < len(b):
        r = sec.reader(pos)
        try:
            length, osz = r.initial_length()
            if length >= RESERVED_LENGTH:
                raise DwarfError
        except DwarfError:
            diag.warn(f"{sec.sec.where()}: name lookup table at offset {pos:#x} parsing failed: "
                      f"unexpected end of data or reserved unit length")
            return
        end = r.pos + length
        r.end = min(end, len(b))
        try:
            r.uint(2)                                          # version
            cu_off, _ = sec.value(r, osz)
            r.uint(osz)                                        # debug_info_length
        except DwarfError:
            diag.warn(f"{sec.sec.where()}: name lookup table at offset {pos:#x} parsing failed: "
                      f"unexpected end of data")
            pos = end
            continue
        cu = bisect.bisect_left(cu_offsets, cu_off) + cu_base
        sets.append((buf_base + r.pos, buf_base + r.end, osz, cu, sec, pos, buf_base + end, buf_base))
        pos = end


def _pub_entries(buf, sets):
    """Every entry of every set: an entry that starts at p has its name from
    p+osz+1 to the next NUL z, and the next entry starts at z+1, until a zero
    die offset.  All sets step together, one entry each per numpy step; when
    few sets are left (long ones), their chains are walked by pointer doubling
    over the NUL bytes of what remains of them.  Returns (set index, name start,
    name end, flags) arrays in entry order, and per set (ended with a
    terminator, the offset past it)."""
    S = len(sets)
    e = np.zeros(0, np.int64)
    if not S:
        return e, e, e, e, np.zeros(0, bool), e
    st = np.array([s[0] for s in sets], np.int64)
    en = np.array([s[1] for s in sets], np.int64)
    osz = np.array([s[2] for s in sets], np.int64)
    Z = np.flatnonzero(buf == 0).astype(np.int64)
    Zp = np.concatenate([Z, [len(buf) + 64]])
    pad = np.concatenate([buf, np.zeros(16, np.uint8)])
    # the 4 and 8 bytes from each position, as rows (for die offsets)
    win4 = np.lib.stride_tricks.as_strided(pad, (len(buf) + 1, 4), (1, 1))
    win8 = np.lib.stride_tricks.as_strided(pad, (len(buf) + 1, 8), (1, 1))
    # before[i]: how many NULs precede position i = index in Z of the first NUL at or after i
    before = np.zeros(len(buf) + 1, np.int32 if len(buf) < 1 << 31 else np.int64)
    np.cumsum(buf == 0, out=before[1:])
    ended = np.zeros(S, bool)
    stop = np.zeros(S, np.int64)
    found = []                              # (set, name start, name end, flags)
    cur = st.copy()
    active = np.arange(S)
    while len(active) >= 32:
        p, o, end = cur[active], osz[active], en[active]
        pc = np.minimum(p, len(buf))
        zero = np.where(o == 8, win8[pc].view("<u8")[:, 0] == 0, win4[pc].view("<u4")[:, 0] == 0)
        fits = p + o <= end
        term = fits & zero
        ended[active[term]] = True
        stop[active[term]] = p[term] + o[term]
        q = p + o + 1
        z = Zp[before[np.minimum(q, len(buf))]]
        good = fits & ~zero & (q <= end) & (z < end)
        found.append((active[good], q[good], z[good], pad[p[good] + o[good]].astype(np.int64)))
        active = active[good]
        cur[active] = z[good] + 1
    if len(active):
        lo, hi = cur[active], en[active]
        a, b = np.searchsorted(Z, lo), np.searchsorted(Z, hi)
        Zs = np.concatenate([Z[x:y] for x, y in zip(a.tolist(), b.tolist())])
        r = _chains(buf, Zs, lo, hi, osz[active])
        found.append((active[r[0]], r[1], r[2], r[3]))
        ended[active] = r[4]
        stop[active] = r[5]
    sid, q, z, flags = (np.concatenate(x) for x in zip(*found))
    order = np.argsort(q, kind="stable")           # sets lie in buffer order
    return sid[order], q[order], z[order], flags[order], ended, stop


def _chains(buf, Z, st, en, osz):
    """_pub_entries for a few chains, by pointer doubling: nodes are the NUL
    bytes Z of the chains' ranges [st, en) (each NUL may end a name; the node
    stands for the entry after it) and each chain's first entry."""
    S = len(st)
    M = len(Z)
    Zp = np.concatenate([Z, np.full(10, len(buf) + 64, np.int64)])   # (reads past the end)
    # node k < M: the entry that would start after NUL k; node M + s: chain s's first entry
    P = np.concatenate([Z + 1, st])
    # the chain whose range [st, en] may hold each node, without a search per node
    cut = np.searchsorted(Z + 1, en, side="right")
    sid = np.concatenate([np.repeat(np.arange(S + 1), np.diff(np.concatenate([[0], cut, [M]]))),
                          np.arange(S)])
    inside = sid < S
    sidc = np.minimum(sid, S - 1)
    inside &= P >= st[sidc]
    o = osz[sidc]
    end = en[sidc]
    # k0: index of the first NUL at or after P (k + 1 for the NUL nodes)
    k0 = np.concatenate([np.arange(1, M + 1), np.searchsorted(Z, st)])
    # the die offset at P is 0 when the o bytes from P are all NULs: NUL k0 sits at P
    # and NUL k0 + o - 1 sits o - 1 bytes later
    zero_die = (Zp[k0] == P) & (Zp[k0 + o - 1] - P == o - 1) & (k0 + o - 1 < M)
    q = P + o + 1                                      # name start
    # the NUL ending the name: the first at or after q, at most o + 1 NULs after k0
    nxt = k0.copy()
    for j in range(9):
        nxt += (Zp[k0 + j] < q) & (j <= o)
    zc = Zp[nxt]
    term = inside & (P + o <= end) & zero_die
    ok = inside & ~term & (q <= end) & (nxt < M) & (zc < end)
    J = np.where(ok, nxt, np.arange(len(P)))          # terminators and errors are fixed points
    # R: the nodes at distances [0, 2^k) of each chain still running; a chain whose
    # node at distance 2^k - 1 is a fixed point is complete and leaves the rounds
    R = np.arange(M, M + S)
    SID = np.arange(S)
    last = R.copy()
    done = []
    while True:
        running = ok[last]
        if not running.any():
            break
        keep = running[SID]
        done.append(R[~keep])
        R, SID = R[keep], SID[keep]
        R = np.concatenate([R, J[R]])
        SID = np.concatenate([SID, SID])
        last = J[last]
        J = J[J]
    done.append(R)
    nodes = np.concatenate(done)
    nodes = nodes[ok[nodes]]
    nodes = nodes[np.argsort(P[nodes], kind="stable")]
    flags = buf[P[nodes] + o[nodes]].astype(np.int64)
    return sid[nodes], q[nodes], zc[nodes], flags, term[last], P[last] + o[last]


def _gdb_hash(buf, starts, ends, second=False):
    """mapped_index_string_hash (version 5+): h = h * 67 + tolower(c) - 113, 32-bit;
    one numpy step per character position over the names that long.  With
    `second`, also a 64-bit hash of the exact bytes (for grouping equal names)."""
    n = len(starts)
    if not n:
        z = np.zeros(0, np.uint32)
        return (z, z.astype(np.uint64)) if second else z
    lens = ends - starts
    order = np.argsort(-lens, kind="stable")
    ptr = starts[order].astype(np.int64)
    l_sorted = lens[order]
    lut = np.arange(256, dtype=np.int64)
    lut[65:91] += 32
    lut = ((lut - 113) & 0xffffffff).astype(np.uint32)
    hs = np.zeros(n, np.uint32)
    h2 = np.zeros(n if second else 0, np.uint64)
    maxlen = int(l_sorted[0])
    # the names longer than j are a prefix of the sorted order
    active = np.searchsorted(-l_sorted, -np.arange(maxlen), side="left")
    k67, kfnv = np.uint32(67), np.uint64(0x100000001b3)
    for j in range(maxlen):
        a = int(active[j])
        c = buf[ptr[:a]]
        hv = hs[:a]
        hv *= k67
        hv += lut[c]
        if second:
            h2v = h2[:a]
            h2v ^= c
            h2v *= kfnv
        ptr[:a] += 1
    h = np.empty(n, np.uint32)
    h[order] = hs
    if not second:
        return h
    hh = np.empty(n, np.uint64)
    hh[order] = h2
    return h, hh


def _same_bytes(buf, s1, s2, lens):
    """Whether buf[s1:s1+len] == buf[s2:s2+len] for every pair (numpy, in chunks)."""
    done = 0
    cum = np.cumsum(lens)
    while done < len(lens):
        base = int(cum[done - 1]) if done else 0
        stop = max(int(np.searchsorted(cum, base + (1 << 22), side="right")), done + 1)
        L = lens[done:stop]
        tot = int(L.sum())
        if tot:
            ramp = np.arange(tot) - np.repeat(np.cumsum(L) - L, L)
            if not np.array_equal(buf[np.repeat(s1[done:stop], L) + ramp],
                                  buf[np.repeat(s2[done:stop], L) + ramp]):
                return False
        done = stop
    return True


def _unique_names(buf, starts, ends):
    """(id of each entry's name, first entry of each id), ids in first-seen order:
    names grouped by (64-bit hash, gdb hash, length), each member checked byte
    for byte against its group's first; a Python dict if two names ever collide."""
    n = len(starts)
    lens = ends - starts
    h1, h2 = _gdb_hash(buf, starts, ends, second=True)
    idx = np.arange(n)
    order = np.lexsort((idx, lens, h1, h2))
    k2, k1, kl = h2[order], h1[order], lens[order]
    new = np.ones(n, bool)
    new[1:] = (k2[1:] != k2[:-1]) | (k1[1:] != k1[:-1]) | (kl[1:] != kl[:-1])
    group = np.cumsum(new) - 1
    rep = order[new][group]                          # each entry's group's first entry
    ent = order
    dup = ent != rep
    if dup.any() and not _same_bytes(buf, starts[ent[dup]], starts[rep[dup]], lens[ent[dup]]):
        raw = buf.tobytes()
        names = [raw[a:b] for a, b in zip(starts.tolist(), ends.tolist())]
        uniq = dict.fromkeys(names)
        index = dict(zip(uniq, range(len(uniq))))
        ids = np.array(list(map(index.__getitem__, names)), np.int64)
    else:
        firsts = order[new]                          # group representatives (first entries)
        rank = np.empty(len(firsts), np.int64)
        rank[np.argsort(firsts, kind="stable")] = np.arange(len(firsts))
        ids = np.empty(n, np.int64)
        ids[ent] = rank[group]
    prev = np.maximum.accumulate(np.concatenate([[-1], ids[:-1]]))
    return ids, np.flatnonzero(ids > prev), h1


def _hash_table(h, size):
    """Slot of each symbol in lld's open-addressing table (insertion in order;
    probe h & mask, then + ((h * 17) & mask | 1)).  Rounds: every pending
    symbol claims its probe slot; the lowest index wins (evicting a later
    one); losers step on.  The result is the sequential insertion's."""
    n = len(h)
    mask = size - 1
    h64 = h.astype(np.int64)
    cur = h64 & mask
    step = ((h64 * 17) & mask) | 1
    owner = np.full(size, n, np.int64)
    pending = np.arange(n, dtype=np.int64)
    while len(pending):
        slots = cur[pending]
        best = owner.copy()
        np.minimum.at(best, slots, pending)
        won = best[slots] == pending
        winners, wslots = pending[won], slots[won]
        old = owner[wslots]
        evicted = old[old < n]
        owner[wslots] = winners
        losers = pending[~won]
        pending = np.concatenate([losers, evicted])
        cur[pending] = (cur[pending] + step[pending]) & mask
    slot = np.empty(n, np.int64)
    placed = owner < n
    slot[owner[placed]] = np.flatnonzero(placed)
    return slot


def _symbol_area(buf, names_s, names_e, values):
    """The symbol hash table and constant pool (bytes), from the entries' names
    (positions in buf) and CU values (kind << 24 | CU index), as lld's createSymbols."""
    size = 1024
    if not len(names_s):
        return bytes(8 * size), b""
    ids, first, h1 = _unique_names(buf, names_s, names_e)
    n, U = len(ids), len(first)
    hashes = h1[first]
    # lld's 32 shards by the hash's top 5 bits, each in first-seen order
    out_order = np.argsort(hashes >> np.uint32(27), kind="stable")
    pos = np.empty(U, np.int64)
    pos[out_order] = np.arange(U)
    epos = pos[ids]
    counts = np.bincount(epos, minlength=U)
    vec_start = np.concatenate([[0], np.cumsum(counts + 1)[:-1]]).astype(np.int64)
    words = np.zeros(U + n, np.uint32)
    words[vec_start] = counts
    eorder = np.argsort(epos, kind="stable")
    esym = epos[eorder]
    within = np.arange(n) - np.concatenate([[0], np.cumsum(counts)[:-1]])[esym]
    words[vec_start[esym] + 1 + within] = values[eorder]
    vec_bytes = words.astype("<u4").tobytes()
    # the names, each with its NUL, in output order
    src = first[out_order]
    lens = (names_e - names_s)[src]
    name_off = len(vec_bytes) + np.concatenate([[0], np.cumsum(lens + 1)[:-1]]).astype(np.int64)
    L1 = lens + 1
    tot = int(L1.sum())
    ramp = np.arange(tot) - np.repeat(np.cumsum(L1) - L1, L1)
    chars = np.concatenate([buf, np.zeros(1, np.uint8)])[np.minimum(np.repeat(names_s[src], L1) + ramp, len(buf))]
    chars[np.cumsum(L1) - 1] = 0
    pool = vec_bytes + chars.tobytes()
    size = max(1 << ((U * 4 // 3).bit_length()), 1024)
    table = np.zeros((size, 2), "<u4")
    if U:
        slot = _hash_table(hashes[out_order], size)
        table[slot, 0] = name_off
        table[slot, 1] = vec_start * 4
    if len(pool) > 0xffffffff:
        from ldpy.diag import LinkError
        raise LinkError(f"--gdb-index: constant pool size ({len(pool)}) exceeds UINT32_MAX")
    return table.tobytes(), pool


# -- the section ----------------------------------------------------------------------
def create_gdb_index(ctx):
    """Read the objects' DWARF, drop .debug_gnu_pub*, add the sized .gdb_index."""
    from ldpy.synthetic import Synthetic
    from ldpy.driver import synthetic_output
    chunks = []          # (.debug_info InputSection, [unit], [(section, lo, hi, cu)], pub sections)
    for f in ctx.files:
        secs = getattr(f, "sections", None)
        if not secs:
            continue
        info = None
        has_info = False
        for s in secs:
            if isinstance(s, InputSection) and s.name == ".debug_info" and s.live:
                has_info = True
                if not s.flags & SHF_GROUP:
                    info = s
        if not has_info:
            continue
        if info is None:
            chunks.append((None, [], [], []))
            continue
        fd = _FileDwarf(f, info)
        units = fd.units()
        areas = []
        try:
            for cu, u in enumerate(units):
                for lo, hi, idx in fd.address_ranges(u):
                    if idx < 0 or idx >= len(secs):
                        continue
                    s = secs[idx]
                    if isinstance(s, InputSection) and s.live and lo != hi:
                        areas.append((s, lo, hi, cu))
        except (_Broken, DwarfError) as e:
            msg = e.args[0] if isinstance(e, _Broken) and e.args else "truncated DWARF data"
            diag.warn(f"{info.where()}: {msg}")
            areas = []
        pubs = [fd.section(n) for n in _PUB_NAMES if fd.secs.get(n) is not None]
        chunks.append((info, units, areas, pubs))
    # .debug_gnu_pub{names,types} exist only to build this index: not in the output
    for f in ctx.files:
        for s in getattr(f, "sections", None) or ():
            if isinstance(s, InputSection) and s.name in _PUB_NAMES and s.live:
                s.live = False
                if s.output is not None and s in s.output.chunks:
                    s.output.chunks.remove(s)
                    s.output = None
    if not chunks:
        return
    # the names of the whole link in one buffer
    parts, sets, base, cu_base = [], [], 0, 0
    for info, units, _, pubs in chunks:
        offs = [u.offset for u in units]
        for p in pubs:
            _pub_sets(p, offs, cu_base, sets, base)
            parts.append(np.frombuffer(p.b, np.uint8))
            base += len(p.b)
        cu_base += len(units)
    buf = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    sid, ns, ne, flags, ended, stop = _pub_entries(buf, sets)
    for i, s in enumerate(sets):
        sec, at, set_end, osz, b0 = s[4], s[5], s[6], s[2], s[7]
        if not ended[i]:
            diag.warn(f"{sec.sec.where()}: name lookup table at offset {at:#x} parsing failed: "
                      f"unexpected end of data")
        elif int(stop[i]) != set_end:
            diag.warn(f"{sec.sec.where()}: name lookup table at offset {at:#x} has a terminator at "
                      f"offset {int(stop[i]) - osz - b0:#x} before the expected end at "
                      f"{set_end - osz - b0:#x}")
    cu_of_set = np.array([s[3] for s in sets], np.int64)
    values = (((flags & 0xf0) << 24) + cu_of_set[sid]).astype(np.uint32) if len(sid) else \
        np.zeros(0, np.uint32)
    table, pool = _symbol_area(buf, ns, ne, values)
    sec = Synthetic(".gdb_index", SHT_PROGBITS, 0, 1)
    ncu = sum(len(c[1]) for c in chunks)
    narea = sum(len(c[2]) for c in chunks)
    sec.size = HEADER_SIZE + 16 * ncu + 20 * narea + len(table) + len(pool)
    out = synthetic_output(ctx.outputs, ".gdb_index", SHT_PROGBITS, 0)
    if out is None:
        return
    out.add(sec)
    ctx.gdb_index = (sec, chunks, table, pool)


def write_gdb_index(ctx):
    """The contents, now that sections have addresses and output offsets."""
    state = ctx.gdb_index
    if state is None:
        return
    sec, chunks, table, pool = state
    cu_rows = []
    area_base, area_lo, area_hi, area_cu = [], [], [], []
    cu_index = 0
    for info, units, areas, _ in chunks:
        if info is not None:
            base = info.out_offset
            for u in units:
                # the unit's whole size (lld writes length + 4 for DWARF64 too, which
                # makes gdb abort; mold and gdb's own index writer count the 12 bytes)
                cu_rows.append((base + u.offset, u.length + (12 if u.off_size == 8 else 4)))
        for s, lo, hi, cu in areas:
            area_base.append(s.output.addr + s.out_offset if s.output is not None else 0)
            area_lo.append(lo)
            area_hi.append(hi)
            area_cu.append(cu + cu_index)
        cu_index += len(units)
    cus = np.array(cu_rows, "<u8").reshape(-1, 2)
    area = np.zeros(len(area_lo), np.dtype([("lo", "<u8"), ("hi", "<u8"), ("cu", "<u4")]))
    if len(area_lo):
        b = np.array(area_base, np.uint64)
        area["lo"] = b + np.array(area_lo, np.uint64)
        area["hi"] = b + np.array(area_hi, np.uint64)
        area["cu"] = np.array(area_cu, np.uint32)
    cu_off = HEADER_SIZE
    area_off = cu_off + cus.nbytes
    sym_off = area_off + area.nbytes
    pool_off = sym_off + len(table)
    hdr = np.array([VERSION, cu_off, area_off, area_off, sym_off, pool_off], "<u4")
    data = hdr.tobytes() + cus.tobytes() + area.tobytes() + table + pool
    assert len(data) == sec.size
    sec.data = np.frombuffer(data, np.uint8)
