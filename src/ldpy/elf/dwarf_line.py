"""Source locations from DWARF line tables, for messages that name a place in an
input object (undefined references).

``SourceLines().locate(f, shndx, offset)`` gives ``"path:LINE"`` for the row of
the object's ``.debug_line`` program that covers ``offset`` of section
``shndx``, or None.  The path is built like GNU ld builds it: the file name, under
its include directory, under the compilation directory (DW_AT_comp_dir of the
unit whose DW_AT_stmt_list names the line program; DWARF 5 also carries it as
directory 0 of the line table), e.g. ``/tmp/x/m.c:7``.

What is read:

* ``.debug_line`` versions 2, 3, 4 and 5, 32- and 64-bit DWARF; DWARF 5
  directory and file entry formats with the forms DW_FORM_string, line_strp and
  strp (through the relocation at the field, into ``.debug_line_str`` /
  ``.debug_str``), udata, data1/2/4/8/16 (MD5), block; strx forms give no name.
* The whole line-number state machine: special opcodes, the standard opcodes
  (unknown ones skipped by their declared operand counts), and DW_LNE_end_sequence,
  DW_LNE_set_address, DW_LNE_define_file, DW_LNE_set_discriminator.
* In a relocatable object the operand of DW_LNE_set_address is 0 plus a RELA
  relocation: ``.rela.debug_line`` tells which section (the relocation
  symbol's section) and which offset (symbol value + addend) each sequence covers.
* compressed debug sections: SHF_COMPRESSED (zlib, zstd) and GNU .zdebug_* (compress.py).

Everything here is best effort and lazy: nothing is parsed before the first
question about an object, and a missing, corrupted or unsupported table means
"no location" -- never an exception (each object's parse is wrapped whole).
"""
import bisect

import numpy as np

from ldpy.elf.format import SHT_REL, reloc_sym
from ldpy.elf.leb128 import read_uleb, read_sleb

SHT_RELA = 4
SHT_NOBITS = 8
SHF_COMPRESSED = 0x800
MAX_SECTION = 16 << 20          # bigger debug sections are not decoded for a message

# DW_FORM_*
F_ADDR, F_BLOCK2, F_BLOCK4, F_DATA2, F_DATA4, F_DATA8, F_STRING, F_BLOCK, F_BLOCK1 = \
    0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a
F_DATA1, F_FLAG, F_SDATA, F_STRP, F_UDATA, F_REF_ADDR = 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10
F_REF1, F_REF2, F_REF4, F_REF8, F_REF_UDATA, F_INDIRECT = 0x11, 0x12, 0x13, 0x14, 0x15, 0x16
F_SEC_OFFSET, F_EXPRLOC, F_FLAG_PRESENT, F_STRX, F_ADDRX = 0x17, 0x18, 0x19, 0x1a, 0x1b
F_REF_SUP4, F_STRP_SUP, F_DATA16, F_LINE_STRP, F_REF_SIG8, F_IMPLICIT_CONST = \
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21
F_LOCLISTX, F_RNGLISTX, F_REF_SUP8 = 0x22, 0x23, 0x24
F_GNU_ADDR_INDEX, F_GNU_STR_INDEX, F_GNU_REF_ALT, F_GNU_STRP_ALT = 0x1f01, 0x1f02, 0x1f20, 0x1f21
_FIXED = {F_DATA1: 1, F_REF1: 1, F_FLAG: 1, F_DATA2: 2, F_REF2: 2, F_DATA4: 4, F_REF4: 4,
          F_REF_SUP4: 4, F_DATA8: 8, F_REF8: 8, F_REF_SIG8: 8, F_REF_SUP8: 8, F_DATA16: 16,
          0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4, 0x29: 1, 0x2a: 2, 0x2b: 3, 0x2c: 4}
_ULEB = {F_UDATA, F_REF_UDATA, F_STRX, F_ADDRX, F_LOCLISTX, F_RNGLISTX, F_GNU_ADDR_INDEX,
         F_GNU_STR_INDEX}
_OFFSET = {F_SEC_OFFSET, F_STRP_SUP, F_GNU_REF_ALT, F_GNU_STRP_ALT}

DW_LNCT_PATH, DW_LNCT_DIRECTORY_INDEX = 1, 2
DW_AT_STMT_LIST, DW_AT_COMP_DIR = 0x10, 0x1b


class DwarfError(Exception):
    """Malformed DWARF: the object gets no locations."""


RESERVED_LENGTH = 0xfffffff0      # 32-bit initial lengths from here up are reserved


class DwarfReader:
    """A cursor over a DWARF section image in its byte order (shared with gdb_index)."""
    __slots__ = ("b", "pos", "end", "order")

    def __init__(self, b, pos, end, little):
        self.b, self.pos, self.end = b, pos, end
        self.order = "little" if little else "big"

    def u8(self):
        if self.pos >= self.end:
            raise DwarfError
        self.pos += 1
        return self.b[self.pos - 1]

    def uint(self, n):
        p = self.pos
        if p + n > self.end:
            raise DwarfError
        self.pos = p + n
        return int.from_bytes(self.b[p:p + n], self.order)

    def initial_length(self):
        """A unit's initial length: (length, offset size), 8-byte after the 0xffffffff
        escape; the reserved 32-bit values (>= RESERVED_LENGTH) come back as read."""
        length = self.uint(4)
        if length == 0xffffffff:
            return self.uint(8), 8
        return length, 4

    def skip(self, n):
        if n < 0 or self.pos + n > self.end:
            raise DwarfError
        self.pos += n

    def uleb(self):
        try:
            v, self.pos = read_uleb(self.b, self.pos, self.end)
        except ValueError:
            raise DwarfError from None
        return v

    def sleb(self):
        try:
            v, self.pos = read_sleb(self.b, self.pos, self.end)
        except ValueError:
            raise DwarfError from None
        return v

    def cstr(self):
        i = self.b.find(b"\0", self.pos, self.end)
        if i < 0:
            raise DwarfError
        s = self.b[self.pos:i]
        self.pos = i + 1
        return s


class _Object:
    """The debug sections of one object, read on demand."""

    def __init__(self, f):
        self.f = f
        # (.zdebug_* is the GNU compressed form of .debug_*)
        self.names = [".debug" + n[7:] if n.startswith(".zdebug") else n for n in f.section_names]
        self.data = {}            # section index -> bytes (decompressed)
        self.rels = {}            # section index -> {offset: (target shndx, value)}

    def index_of(self, name):
        try:
            return self.names.index(name)
        except ValueError:
            return None

    def section(self, i):
        d = self.data.get(i)
        if d is None:
            f = self.f
            if not 0 < i < len(f.rows):
                raise DwarfError
            row = f.rows[i]
            _, typ, flags, _, off, size = row[:6]
            if typ == SHT_NOBITS or size > MAX_SECTION or off + size > len(f.data):
                raise DwarfError
            if flags & SHF_COMPRESSED or f.section_names[i].startswith(".zdebug"):
                d = self._decompress(off, size, flags)
            else:
                d = bytes(f.data[off:off + size])
            self.data[i] = d
        return d

    def _decompress(self, off, size, flags):
        """The inflated bytes of a compressed section (see compress.py); the loader
        already rejected broken headers, so any failure here only means DwarfError."""
        from ldpy import compress as Z
        f = self.f
        try:
            if flags & SHF_COMPRESSED:
                kind, usize, _, start = Z.read_chdr(f.data, off, size, f.is64, f.little, "")
            else:
                hdr = Z.read_gnu_header(f.data, off, size)
                if hdr is None:
                    return bytes(f.data[off:off + size])
                (usize, start), kind = hdr, Z.ELFCOMPRESS_ZLIB
            if usize > MAX_SECTION:
                raise DwarfError
            return Z.decompress(kind, memoryview(f.data)[start:off + size], usize, "")
        except Exception:
            raise DwarfError

    def relocs(self, i):
        """{offset in section i: (section index of the symbol, symbol value + addend)}."""
        out = self.rels.get(i)
        if out is not None:
            return out
        out = self.rels[i] = {}
        f = self.f
        syms, shndx = f.symbols, f.shndx
        for row in f.rows:
            if row[1] not in (SHT_RELA, SHT_REL) or row[7] != i:
                continue
            sec = f.sections[i] if 0 < i < len(f.sections) else None
            rel = getattr(sec, "relocs", None)     # (read in the in-memory layout)
            if rel is None:
                if row[1] != SHT_RELA:
                    continue
                off, size = row[4], row[5]
                n = size // f.dt.rela.itemsize
                if off + n * f.dt.rela.itemsize > len(f.data):
                    raise DwarfError
                rel = np.frombuffer(f.data, f.dt.rela, n, off)
                sym = f.dt.r_sym(rel["r_info"])
            else:
                sym = reloc_sym(rel["r_info"])
            ok = (sym >= 0) & (sym < len(syms))
            sym = np.where(ok, sym, 0)
            value = syms["st_value"][sym].astype(np.int64) + rel["r_addend"].astype(np.int64)
            target = np.where(ok, shndx[sym], -1)
            for o, t, v in zip(rel["r_offset"].tolist(), target.tolist(), value.tolist()):
                out[o] = (t, v)
        return out

    def string(self, default_section, field_pos, field_section, raw):
        """The string an offset field (strp, line_strp) names: through its relocation
        when it has one, else at `raw` in the default section."""
        rel = self.relocs(field_section).get(field_pos)
        if rel is not None:
            sec, off = rel
        else:
            sec, off = self.index_of(default_section), raw
        if sec is None or sec <= 0:
            return None
        d = self.section(sec)
        if not 0 <= off < len(d):
            return None
        end = d.find(b"\0", off)
        return d[off:end if end >= 0 else len(d)]


def _form(obj, r, form, off_size, addr_size, sec_index, version=5, depth=0):
    """Read one attribute value: bytes for strings, int for constants, None otherwise."""
    if form == F_STRING:
        return r.cstr()
    if form == F_LINE_STRP or form == F_STRP:
        p = r.pos
        raw = r.uint(off_size)
        return obj.string(".debug_line_str" if form == F_LINE_STRP else ".debug_str", p, sec_index, raw)
    if form in _FIXED:
        n = _FIXED[form]
        p = r.pos
        v = r.uint(n)
        if form in (F_DATA4, F_DATA8):           # DWARF 2/3 stmt_list: a relocated data4
            rel = obj.relocs(sec_index).get(p)
            if rel is not None:
                v = rel[1]
        return v
    if form in _ULEB:
        return r.uleb()
    if form == F_SDATA:
        return r.sleb()
    if form in _OFFSET or (form == F_REF_ADDR and version >= 3):
        p = r.pos
        v = r.uint(off_size)
        rel = obj.relocs(sec_index).get(p)
        return rel[1] if rel is not None else v
    if form == F_ADDR or form == F_REF_ADDR:
        r.skip(addr_size)
        return None
    if form == F_BLOCK or form == F_EXPRLOC:
        r.skip(r.uleb())
        return None
    if form == F_BLOCK1:
        r.skip(r.uint(1))
        return None
    if form == F_BLOCK2:
        r.skip(r.uint(2))
        return None
    if form == F_BLOCK4:
        r.skip(r.uint(4))
        return None
    if form == F_FLAG_PRESENT or form == F_IMPLICIT_CONST:
        return None
    if form == F_INDIRECT and depth < 4:
        return _form(obj, r, r.uleb(), off_size, addr_size, sec_index, version, depth + 1)
    raise DwarfError


def _unit_header(r):
    """(end, offset size) of the unit starting at r.pos; r moves past the length."""
    length, off_size = r.initial_length()
    if length >= RESERVED_LENGTH:
        raise DwarfError
    end = r.pos + length
    if end > r.end:
        raise DwarfError
    return end, off_size


def _comp_dirs(obj):
    """{.debug_line offset: DW_AT_comp_dir} from the first DIE of each unit."""
    out = {}
    info_i, abbrev_i = obj.index_of(".debug_info"), obj.index_of(".debug_abbrev")
    if info_i is None or abbrev_i is None:
        return out
    try:
        info, abbrev = obj.section(info_i), obj.section(abbrev_i)
    except DwarfError:
        return out
    little = obj.f.little
    pos = 0
    while pos + 11 <= len(info):
        r = DwarfReader(info, pos, len(info), little)
        try:
            end, off_size = _unit_header(r)
        except DwarfError:
            break
        pos = end
        try:
            r.end = end
            version = r.uint(2)
            if version >= 5:
                unit_type = r.u8()
                addr_size = r.u8()
                p = r.pos
                ab = r.uint(off_size)
                if unit_type not in (1, 3):            # DW_UT_compile, DW_UT_partial
                    continue
            elif version >= 2:
                p = r.pos
                ab = r.uint(off_size)
                addr_size = r.u8()
            else:
                continue
            rel = obj.relocs(info_i).get(p)
            if rel is not None:
                ab = rel[1]
            attrs = _first_abbrev(abbrev, ab, r.uleb(), little)
            stmt = comp_dir = None
            for at, form, _ in attrs:
                v = _form(obj, r, form, off_size, addr_size, info_i, version)
                if at == DW_AT_STMT_LIST and isinstance(v, int):
                    stmt = v
                elif at == DW_AT_COMP_DIR and isinstance(v, bytes):
                    comp_dir = v
            if stmt is not None and comp_dir:
                out.setdefault(stmt, comp_dir)
        except DwarfError:
            continue
    return out


def abbrev_decl(r, code):
    """The attribute list (attr, form, implicit const) of abbreviation `code`, read
    with `r` from the start of its table; None when the table ends without it.
    Raises DwarfError on a truncated table (shared with gdb_index.py)."""
    for _ in range(100_000):
        c = r.uleb()
        if c == 0:
            return None
        r.uleb()                 # tag
        r.u8()                   # children
        attrs = []
        while True:
            at, form = r.uleb(), r.uleb()
            if at == 0 and form == 0:
                break
            attrs.append((at, form, r.sleb() if form == F_IMPLICIT_CONST else None))
        if c == code:
            return attrs
    raise DwarfError


def _first_abbrev(abbrev, off, code, little):
    """The attribute list of abbreviation `code` of the table at `off`."""
    if not 0 <= off < len(abbrev):
        raise DwarfError
    attrs = abbrev_decl(DwarfReader(abbrev, off, len(abbrev), little), code)
    if attrs is None:
        raise DwarfError
    return attrs


class _Sequence:
    __slots__ = ("start", "end", "addrs", "rows", "unit")

    def __init__(self, addrs, rows, end, unit):
        if any(a > b for a, b in zip(addrs, addrs[1:])):
            order = sorted(range(len(addrs)), key=addrs.__getitem__)
            addrs = [addrs[i] for i in order]
            rows = [rows[i] for i in order]
        self.addrs, self.rows, self.unit = addrs, rows, unit
        self.start, self.end = addrs[0], end


class _Unit:
    """One line program's file table, paths resolved on demand."""
    __slots__ = ("version", "dirs", "files", "comp_dir", "paths")

    def __init__(self, version, dirs, files, comp_dir):
        self.version, self.dirs, self.files, self.comp_dir = version, dirs, files, comp_dir
        self.paths = {}

    def path(self, index):
        p = self.paths.get(index)
        if p is None and index not in self.paths:
            p = self.paths[index] = self._path(index)
        return p

    def _path(self, index):
        if not 0 <= index < len(self.files) or self.files[index] is None:
            return None
        name, d = self.files[index]
        if not name:
            return None
        if name.startswith(b"/"):
            return name
        parts = [name]
        if 0 <= d < len(self.dirs) and self.dirs[d]:
            parts.insert(0, self.dirs[d])
        if not parts[0].startswith(b"/") and self.comp_dir and not (self.version >= 5 and d == 0):
            parts.insert(0, self.comp_dir)
        return b"/".join(p.rstrip(b"/") if i < len(parts) - 1 else p for i, p in enumerate(parts))


def _parse_line_section(obj, li, comp_dirs):
    """{section index: [_Sequence]} of every line program in section li."""
    data = obj.section(li)
    little = obj.f.little
    out = {}
    pos = 0
    while pos + 4 <= len(data):
        r = DwarfReader(data, pos, len(data), little)
        try:
            end, off_size = _unit_header(r)
        except DwarfError:
            break
        unit_start, pos = pos, end
        r.end = end
        try:
            _parse_program(obj, li, r, off_size, comp_dirs.get(unit_start), out)
        except DwarfError:
            continue
    return out


def _entries(obj, r, li, off_size, addr_size, directories):
    fmt = [(r.uleb(), r.uleb()) for _ in range(r.u8())]
    count = r.uleb()
    if count > r.end - r.pos:
        raise DwarfError
    out = []
    for _ in range(count):
        path, d = None, 0
        for ct, form in fmt:
            v = _form(obj, r, form, off_size, addr_size, li)
            if ct == DW_LNCT_PATH:
                path = v if isinstance(v, bytes) else None
            elif ct == DW_LNCT_DIRECTORY_INDEX and isinstance(v, int):
                d = v
        out.append(path if directories else (path, d))
    return out


def _parse_program(obj, li, r, off_size, comp_dir, out):
    version = r.uint(2)
    if not 2 <= version <= 5:
        raise DwarfError
    addr_size = 8 if obj.f.is64 else 4
    if version >= 5:
        addr_size = r.u8()
        r.u8()                                     # segment selector size
    header_length = r.uint(off_size)
    prog = r.pos + header_length
    if prog > r.end:
        raise DwarfError
    min_inst = r.u8()
    if version >= 4:
        r.u8()                                     # maximum_operations_per_instruction
    r.u8()                                         # default_is_stmt
    line_base = r.u8()
    line_base -= 256 if line_base >= 128 else 0
    line_range = r.u8()
    opcode_base = r.u8()
    if line_range == 0 or opcode_base == 0:
        raise DwarfError
    std_lengths = [r.u8() for _ in range(opcode_base - 1)]
    if version >= 5:
        dirs = _entries(obj, r, li, off_size, addr_size, True)
        files = _entries(obj, r, li, off_size, addr_size, False)
        if comp_dir is None and dirs and dirs[0]:
            comp_dir = dirs[0]
    else:
        dirs = [comp_dir]
        while True:
            s = r.cstr()
            if not s:
                break
            dirs.append(s)
        files = [None]
        while True:
            name = r.cstr()
            if not name:
                break
            d = r.uleb()
            r.uleb()
            r.uleb()
            files.append((name, d))
    unit = _Unit(version, dirs, files, comp_dir)
    rels = obj.relocs(li)

    r.pos = prog
    end = r.end
    b = r.b
    const_add = min_inst * ((255 - opcode_base) // line_range)
    address, sec, file, line = 0, None, 1, 1
    addrs, rows = [], []
    while r.pos < end:
        op = b[r.pos]
        r.pos += 1
        if op >= opcode_base:
            adj = op - opcode_base
            address += min_inst * (adj // line_range)
            line += line_base + adj % line_range
            addrs.append(address)
            rows.append((file, line))
        elif op == 0:
            n = r.uleb()
            sub_end = r.pos + n
            if n == 0 or sub_end > end:
                raise DwarfError
            sub = r.u8()
            if sub == 1:                                   # DW_LNE_end_sequence
                if sec is not None and addrs:
                    out.setdefault(sec, []).append(_Sequence(addrs, rows, address, unit))
                address, sec, file, line = 0, None, 1, 1
                addrs, rows = [], []
            elif sub == 2:                                 # DW_LNE_set_address
                p = r.pos
                raw = int.from_bytes(b[p:sub_end], r.order)
                rel = rels.get(p)
                if rel is not None and rel[0] > 0:
                    sec, address = rel
                else:                                      # no relocation: placement unknown
                    sec, address = None, raw
            elif sub == 3:                                 # DW_LNE_define_file (DWARF <= 4)
                name = r.cstr()
                d = r.uleb()
                files.append((name, d))
            r.pos = sub_end
        elif op == 1:                                      # DW_LNS_copy
            addrs.append(address)
            rows.append((file, line))
        elif op == 2:
            address += min_inst * r.uleb()
        elif op == 3:
            line += r.sleb()
        elif op == 4:
            file = r.uleb()
        elif op == 5 or op == 12:
            r.uleb()
        elif op == 8:
            address += const_add
        elif op == 9:
            address += r.uint(2)
        elif op in (6, 7, 10, 11):
            pass
        else:
            for _ in range(std_lengths[op - 1]):
                r.uleb()


class SourceLines:
    """Cached source locations of the objects asked about."""

    def __init__(self):
        self._tables = {}

    def _table(self, f):
        key = id(f)
        t = self._tables.get(key)
        if t is None:
            t = self._tables[key] = (f, self._build(f))
        return t[1]

    @staticmethod
    def _build(f):
        try:
            names = f.section_names
            if ".debug_line" not in names and ".zdebug_line" not in names:
                return {}
            obj = _Object(f)
            li = obj.index_of(".debug_line")
            try:
                comp_dirs = _comp_dirs(obj)
            except Exception:
                comp_dirs = {}
            return _parse_line_section(obj, li, comp_dirs)
        except Exception:          # anything malformed: no locations for this object
            return {}

    def locate(self, f, shndx, offset):
        """'path:LINE' of section shndx + offset of object f, or None."""
        try:
            for seq in self._table(f).get(shndx, ()):
                if seq.start <= offset < seq.end:
                    k = bisect.bisect_right(seq.addrs, offset) - 1
                    if k < 0:
                        continue
                    file, line = seq.rows[k]
                    path = seq.unit.path(file)
                    if path is None or line <= 0:
                        return None
                    return f"{path.decode('utf-8', 'replace')}:{line}"
        except Exception:
            return None
        return None
