"""Relocatable ELF objects: headers, sections, symbols and relocations as numpy tables.

Nothing here is per-relocation Python: tables are views into the mmapped file.
"""
import struct

import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import (
    ELFMAG, ELFCLASS64, ELFCLASS32, ELFDATA2LSB, ELFDATA2MSB, ET_REL, ET_DYN, MACHINE_NAMES,
    SHT_NOBITS, SHT_SYMTAB, SHT_RELA, SHT_REL, SHT_GROUP, SHT_SYMTAB_SHNDX, SHT_STRTAB,
    RELOC, reloc_info, SHT_NULL, SHF_EXCLUDE, SHF_ALLOC, SHF_COMPRESSED, SHN_ABS, SHN_COMMON, SHN_XINDEX, SHN_LORESERVE, SHX_COMMON, GRP_COMDAT, STT_SECTION,
    STB_GLOBAL, STT_FUNC, STT_GNU_IFUNC, SHN_UNDEF,
    dtypes,
)


class InputSection:
    """One section of one input object: a chunk of bytes placed in an output section."""
    is_input = True       # linker-made chunks (synthetic/, MergedSection) say False
    __slots__ = ("file", "index", "name", "type", "flags", "size", "align", "offset",
                 "entsize", "link", "info", "_relocs", "live", "output", "out_offset",
                 "data", "merge", "group", "compressed")

    def __init__(self, file, index, name, hdr):
        # hdr: (name, type, flags, addr, offset, size, link, info, addralign, entsize)
        self.file = file
        self.index = index
        self.name = name
        _, self.type, self.flags, _, self.offset, self.size, self.link, self.info, align, \
            self.entsize = hdr
        self.align = align if align > 1 else 1
        # structured rela array targeting this section (.relocs); the reader stores the
        # index of an in-memory SHT_RELA section instead, viewed on first use (most
        # sections' relocations are only ever read link-wide, by relocs.RelocTable)
        self._relocs = None
        self.live = True
        self.output = None       # OutputSection
        self.out_offset = 0      # offset inside the output section
        self.data = None         # replacement bytes (eh_frame after FDE pruning)
        self.merge = None        # MergeInput when SHF_MERGE pieces are deduplicated
        self.group = None        # COMDAT signature, if in a group
        self.compressed = None   # (kind, stream start, stream end) of a compressed debug section

    @property
    def relocs(self):
        rel = self._relocs
        if rel.__class__ is int:
            f = self.file
            hdr = f.shdrs[rel]
            rela = f.dt.rela
            rel = self._relocs = np.frombuffer(f.data, rela, int(hdr["sh_size"]) // rela.itemsize,
                                               int(hdr["sh_offset"]))
        return rel

    @relocs.setter
    def relocs(self, rel):
        # relocations that are not the plain view of the file's SHT_RELA section (the
        # reader stores those in _relocs): relocs.RelocTable takes these from here
        self._relocs = rel
        self.file.relocs_elsewhere.append(self.index)

    def bytes(self):
        """The section contents as a numpy uint8 array (no copy for file-backed data;
        a compressed section is inflated once, on first use)."""
        if self.data is not None:
            return self.data
        if self.compressed is not None:
            from ldpy.compress import decompress
            kind, start, end = self.compressed
            raw = decompress(kind, memoryview(self.file.data)[start:end], self.size, self.where())
            self.data = np.frombuffer(raw, np.uint8)
            return self.data
        if self.type == SHT_NOBITS:
            return np.zeros(0, np.uint8)
        # a slice of the file's (or its archive's) byte view: cheaper than a new
        # frombuffer per section (every section was checked to lie inside the file)
        f = self.file
        buf = f.buf
        if buf is None:
            buf = f.buf = np.frombuffer(f.data, np.uint8)
        start = f.buf_base + self.offset
        return buf[start:start + self.size]

    def where(self, offset=None):
        """'file:(section+0xOFF)' for messages."""
        if offset is None:
            return f"{self.file.name}:({self.name})"
        return f"{self.file.name}:({self.name}+{offset:#x})"

    def __repr__(self):
        return f"<InputSection {self.file.name}({self.name})>"


class _Discarded:
    """Stands for every section of a COMDAT group that another object already
    provided: not live, never placed."""
    __slots__ = ()
    is_input = False
    file = None
    live = False
    name = "<discarded>"
    relocs = None
    output = None
    merge = None
    data = None
    size = 0
    type = 0
    flags = 0
    group = None

    def __repr__(self):
        return "<discarded COMDAT section>"


DISCARDED = _Discarded()


def strings_at(table, offsets, where, what):
    """The NUL-terminated strings of `table` (bytes) at `offsets`, fast when every
    offset starts a string (as gas writes tables); any offset works."""
    n = len(table)
    if len(offsets) and n and table[-1] == 0 and max(offsets) < n and min(offsets) >= 0:
        # (a terminated table and offsets inside it: each string ends at the next NUL)
        find = table.find
        return [table[o:find(b"\0", o)] for o in offsets]
    if n > 8192 and len(offsets):
        return _strings_at_numpy(table, offsets, where, what)
    parts = table.split(b"\0")
    starts = {}
    pos = 0
    for i, p in enumerate(parts):
        starts[pos] = i
        pos += len(p) + 1
    out = []
    for off in offsets:
        i = starts.get(off)
        if i is not None:
            out.append(parts[i])
        elif off < n:
            end = table.find(b"\0", off)
            out.append(table[off:end if end >= 0 else n])
        elif off == 0 and n == 0:
            out.append(b"")
        else:
            raise LinkError(f"{where}: {what} offset {off:#x} is past the end of its string table")
    return out


def _strings_at_numpy(table, offsets, where, what):
    """strings_at for big tables: no Python loop over the strings nobody asked for."""
    n = len(table)
    offs = np.asarray(offsets, np.int64)
    bad = (offs < 0) | (offs >= n)
    if bad.any():
        off = int(offs[np.flatnonzero(bad)[0]])
        raise LinkError(f"{where}: {what} offset {off:#x} is past the end of its string table")
    # each string ends at the first NUL at or after its offset (or at the table's end)
    nuls = np.flatnonzero(np.frombuffer(table, np.uint8) == 0)
    ends = np.append(nuls, n)[np.searchsorted(nuls, offs)]
    return [table[a:b] for a, b in zip(offs.tolist(), ends.tolist())]


# reductions as ufunc methods: ndarray.min/max/all go through a Python function each
_MIN, _MAX, _ALL = np.minimum.reduce, np.maximum.reduce, np.logical_and.reduce


def _names_in_a_row(table, offsets):
    """The strings of `table` at `offsets` when they lie one after the other in that
    order (gas writes four objects in five so): one split, checked by the lengths;
    else None (strings_at finds them one by one)."""
    n = len(offsets)
    if n < 8 or not len(table) or table[-1] != 0:
        return None
    first = int(offsets[0])
    if first >= len(table):
        return None
    names = table[first:].split(b"\0", n)[:n]
    if len(names) < n:
        return None
    # each name starts where the one before ends (ufunc methods: ndarray.cumsum and
    # np.array_equal add a Python call each, and this runs once per object)
    ends = np.fromiter(map(len, names), np.int64, n)
    ends += 1
    ends = ends.cumsum()
    ends += first
    if not _ALL(ends[:-1] == offsets[1:]):
        return None
    return names


def _indexes_named(names, indexes, name):
    """indexes[k] for every names[k] == name."""
    found = []
    if name in names:
        start = 0
        try:
            while True:
                k = names.index(name, start)
                found.append(indexes[k])
                start = k + 1
        except ValueError:
            pass
    return found


def check_elf_header(data, name):
    """Validate e_ident; return (is64, little)."""
    if len(data) < 16 or bytes(data[:4]) != ELFMAG:
        raise LinkError(f"{name}: file format not recognized (not an ELF file)")
    cls, enc = data[4], data[5]
    if cls not in (ELFCLASS32, ELFCLASS64) or enc not in (ELFDATA2LSB, ELFDATA2MSB):
        raise LinkError(f"{name}: invalid ELF identification (class {cls}, data {enc})")
    return cls == ELFCLASS64, enc == ELFDATA2LSB


def section_label(data, i, name_off, strtab_type, strtab_off, strtab_size):
    """'[i] NAME' of section i for messages, read defensively from a file whose
    tables may be broken: just '[i]' when the name cannot be read."""
    if strtab_type == SHT_STRTAB and name_off < strtab_size and strtab_off + strtab_size <= len(data):
        name = bytes(data[strtab_off + name_off:min(strtab_off + strtab_size, strtab_off + name_off + 256)])
        end = name.find(b"\0")
        if end >= 0:
            return f"[{i}] {name[:end].decode('utf-8', 'replace')}"
    return f"[{i}]"


_FORMATS = {}
_GROUP_STRUCTS = {True: {}, False: {}}      # little-endian? -> word count -> struct.Struct


def _group_structs(little):
    return _GROUP_STRUCTS[little]

_SHNDX_TABLES = {}
_BAD_SHNDX = -(1 << 40)


def _shndx_table(large_common, xindex):
    """st_shndx -> ObjectFile.shndx for every 16-bit value: section indexes as they
    are, SHN_ABS/SHN_COMMON (and the target's large common) negated, SHN_XINDEX
    negated when the file has .symtab_shndx, other reserved values _BAD_SHNDX."""
    key = (large_common, xindex)
    t = _SHNDX_TABLES.get(key)
    if t is None:
        t = np.arange(1 << 16, dtype=np.int64)
        t[SHN_LORESERVE:] = _BAD_SHNDX
        t[SHN_ABS], t[SHN_COMMON] = -SHN_ABS, -SHN_COMMON
        if large_common is not None:
            t[large_common] = -SHN_COMMON
        if xindex:
            t[SHN_XINDEX] = -SHN_XINDEX
        _SHNDX_TABLES[key] = t
    return t


def _formats(is64, little):
    """struct formats of the ELF header and a section header of one flavour."""
    f = _FORMATS.get((is64, little))
    if f is None:
        e = "<" if little else ">"
        f = _FORMATS[(is64, little)] = type("Formats", (), {})()
        f.ehdr = struct.Struct(e + ("16sHHIQQQIHHHHHH" if is64 else "16sHHIIIIIHHHHHH"))
        f.shdr = struct.Struct(e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII"))
    return f


class ObjectFile:
    """An ELF relocatable object, from a file or an archive member."""

    def __init__(self, name, data, archive=None, member=None, comdat=None, keep_ir=False):
        self.name = name              # display name: path or lib.a(member.o)
        self.keep_ir = keep_ir        # -r: LTO IR sections (.gnu.lto_*) go to the output
        self.data = data              # bytes-like (mmap slice or bytes)
        self.view = memoryview(data)  # (write.copy_chunks copies sections out of it)
        self.archive = archive
        self.member = member
        self.no_export = False        # --exclude-libs names its archive
        # indexes of sections whose relocations are not the plain view of their SHT_RELA
        # section (converted, edited, or of compressed bytes): relocs.RelocTable reads
        # the others from the section header table
        self.relocs_elsewhere = []
        # the mapped buffer this object lies in (a whole archive for its members), so
        # that link-wide gathers can read many objects' bytes with one index operation
        if archive is not None and not archive.thin:
            self.buf, self.buf_base = archive.bytes_view(), member.data_offset
        else:
            self.buf, self.buf_base = None, 0
        self.is64, self.little = check_elf_header(data, name)
        self.dt = dtypes(self.is64, self.little)
        # every relocation section is a view of the file in the in-memory layout
        # (gc.py then reads the symbol words straight from the file's bytes);
        # rela_in_memory: its SHT_RELA sections are (relocs.RelocTable reads them so)
        self.raw_relocs = self.rela_in_memory = self.dt.rela == RELOC
        self._comdat = comdat          # signature -> owning ObjectFile, shared by the link
        self.taken = False             # input/warm.py: a server-parsed object a link took
        self.lost_comdat = []          # indexes of its sections that are another object's COMDAT
                                       # copies (DISCARDED), by index
        self.merge_pieces = None       # ... and its mergeable sections, split (warm.prepare) ...
        self.held_columns = None       # ... and its globals' columns (symbols.global_columns)
        self.held_split = None         # ... and what resolution reads of them (symbols.global_split)
        self._build(*self._read_headers())

    def take(self, comdat, archive, member):
        """This object, parsed by a link server without COMDAT decisions (comdat=None:
        every group kept), as a link reads it with `comdat` (input/warm.py).  A
        server child owns its copy of the server's memory, so the object is used in
        place, once per link (`taken`: a second use parses the bytes anew); groups
        are decided here exactly as _build decides them."""
        self.taken = True
        self.archive, self.member, self._comdat = archive, member, comdat
        if archive is not None and not archive.thin:
            self.buf, self.buf_base = archive.bytes_view(), member.data_offset
        if comdat is None:
            return self
        sections = self.sections
        gone = []
        for signature, is_comdat, members, _ in self.groups:
            if not is_comdat:
                continue
            if signature in comdat:
                for m in members:
                    if sections[m] is not None and sections[m] is not DISCARDED:
                        sections[m] = DISCARDED
                        gone.append(m)
            else:
                comdat[signature] = self
                for m in members:
                    sec = sections[m]
                    if sec is not None:
                        sec.group = signature
        self.lost_comdat = sorted(gone)
        if gone:
            self.relocs_elsewhere = [i for i in self.relocs_elsewhere if sections[i] is not DISCARDED]
        return self

    # -- parsing -----------------------------------------------------------
    def _table(self, dtype, offset, count, what):
        self._check_table(dtype.itemsize, offset, count, what)
        return np.frombuffer(self.data, dtype, count, offset)

    def _check_table(self, itemsize, offset, count, what):
        end = offset + count * itemsize
        if offset < 0 or end > len(self.data):
            raise LinkError(f"{self.name}: {what} extends past the end of the file "
                            f"(offset {offset:#x}, size {end - offset:#x}, file size {len(self.data):#x})")

    def _read_headers(self):
        """The link-independent reading of the object: headers checked, sections
        sorted by kind, symbols and groups read.  Returns what _build needs:
        (relocation sections, sections with contents, groups as (signature, is
        COMDAT, members, index), whether .zdebug names occur, the section name table)."""
        dt = self.dt
        data = self.data
        nbytes = len(data)
        fmt = _formats(self.is64, self.little)
        if nbytes < fmt.ehdr.size:
            raise LinkError(f"{self.name}: truncated ELF header")
        (_, self.type, self.machine, _, _, _, shoff, self.eflags, _, _, _, shentsize, shnum,
         shstrndx) = fmt.ehdr.unpack_from(data, 0)
        if self.type != ET_REL:
            if self.type == ET_DYN:
                raise LinkError(f"{self.name}: shared objects are not supported yet")
            raise LinkError(f"{self.name}: not a relocatable object (e_type {self.type})")
        if shoff == 0:
            raise LinkError(f"{self.name}: object has no section header table")
        if shentsize != dt.shdr.itemsize:
            raise LinkError(f"{self.name}: bad section header size {shentsize}")
        self._check_table(shentsize, shoff, 1, "section header table")
        if shnum == 0 or shstrndx == SHN_XINDEX:
            first = fmt.shdr.unpack_from(data, shoff)
            if shnum == 0:
                shnum = first[5]
            if shstrndx == SHN_XINDEX:
                shstrndx = first[6]
        self.shdrs = self._table(dt.shdr, shoff, shnum, f"section header table ({shnum} entries)")
        # rows: (name, type, flags, addr, offset, size, link, info, addralign, entsize),
        # unpacked straight from the file (cheaper than numpy for a few dozen rows)
        self._rows = rows = list(fmt.shdr.iter_unpack(memoryview(data)[shoff:shoff + shnum * shentsize]))
        self._section_names = None
        self._names_checked = False
        self.shstrndx = shstrndx
        # one walk over the headers: every section's bytes lie inside the file (size >
        # file size - offset cannot wrap), and each is sorted by what it is for
        self.symtab_index = None
        shndx_table = None
        rela_sections = []
        groups = []
        contents = []
        excluded = []             # SHF_EXCLUDE, not SHF_ALLOC: never in a final output
        bad_align = None
        for i in range(1, shnum):
            row = rows[i]
            t = row[1]
            if t != SHT_NOBITS and t != SHT_NULL and (row[4] > nbytes or row[5] > nbytes - row[4]):
                raise LinkError(f"{self.name}: section {self._label(i)} extends past the end of the file "
                                f"(offset {row[4]:#x}, size {row[5]:#x}, file size {nbytes:#x})")
            if t == SHT_SYMTAB:
                self.symtab_index = i
            elif t == SHT_RELA or t == SHT_REL:
                rela_sections.append(i)
            elif t == SHT_GROUP:
                groups.append(i)
            elif t == SHT_SYMTAB_SHNDX:
                shndx_table = i
            elif t == SHT_STRTAB or t == SHT_NULL:
                continue
            elif row[2] & SHF_EXCLUDE and not row[2] & SHF_ALLOC:
                excluded.append(i)    # (.gnu.lto_*, .llvm_addrsig, split-dwarf)
            else:
                align = row[8]
                if (align & (align - 1) or align > 1 << 32) and bad_align is None:
                    bad_align = i     # (reported once the names are known)
                contents.append(i)
        if not 0 < shstrndx < shnum:
            raise LinkError(f"{self.name}: bad section name string table index {shstrndx} "
                            f"(the file has {shnum} sections)")
        if rows[shstrndx][1] != SHT_STRTAB:
            raise LinkError(f"{self.name}: section name string table index {shstrndx} names a section "
                            f"of type {rows[shstrndx][1]:#x}, not a string table")
        shstr = self._section_bytes(shstrndx)
        if shstr and shstr[-1] != 0:
            raise LinkError(f"{self.name}: section name string table {self._label(shstrndx)} does not "
                            f"end with a NUL byte")
        self._names_checked = True   # (section_names may read the table from now on)
        self.has_warning_sections = b".gnu.warning" in shstr     # checks.report_warning_symbols
        self.has_ctf = b".ctf\0" in shstr          # ctf.link (lazily imported); names may share tails
        self.has_linkonce = b".gnu.linkonce." in shstr      # load.Loader._select_comdat
        if excluded and self.keep_ir:
            # -r keeps the LTO IR sections (.gnu.lto_*) of its inputs
            names = self.section_names
            kept = [i for i in excluded if names[i].startswith(".gnu.lto_")]
            if kept:
                contents = sorted(contents + kept)
                for i in kept:
                    align = rows[i][8]
                    if (align & (align - 1) or align > 1 << 32) and (bad_align is None or i < bad_align):
                        bad_align = i
        if bad_align is not None:
            raise LinkError(f"{self.name}: section [{bad_align}] {self.section_names[bad_align]} "
                            f"has bad alignment {rows[bad_align][8]:#x}")
        self.sections = [None] * shnum

        self._read_symbols(shndx_table)
        out_groups = []
        if groups:
            # the usual group (members in range, none a group, a global signature
            # symbol) is read here; anything else goes through _read_group's checks
            group_set = set(groups)
            fg, nsyms, infos, gnames = self.first_global, len(self.symbols), self._global_infos, self.global_names
            structs = _group_structs(self.little)
            for i in groups:
                row = rows[i]
                offset, n, info = row[4], row[5] >> 2, row[7]
                members = None
                if n and offset + 4 * n <= nbytes and fg <= info < nsyms and infos[info - fg] & 0xf != STT_SECTION:
                    st = structs.get(n)
                    if st is None:
                        st = structs[n] = struct.Struct(f"{'<' if self.little else '>'}{n}I")
                    words = st.unpack_from(data, offset)
                    members = list(words[1:])
                    if n == 2:          # (one member: the usual -ffunction-sections group)
                        m = members[0]
                        usual = 0 < m < shnum and m not in group_set
                    else:
                        usual = not members or (min(members) > 0 and max(members) < shnum and
                                                group_set.isdisjoint(members))
                    if usual:
                        signature, is_comdat = gnames[info - fg], bool(words[0] & GRP_COMDAT)
                    else:
                        members = None
                if members is None:
                    signature, is_comdat, members = self._read_group(i)
                out_groups.append((signature, is_comdat, members, i))
        return rela_sections, contents, out_groups, b".zdebug" in shstr, shstr

    def _build(self, rela_sections, contents, groups, zdebug, shstr):
        """The link's part: COMDAT groups decided (the first object to bring a
        signature keeps it, and a later copy's sections are never even built), the
        other sections built, relocation sections attached."""
        rows = self._rows
        self.groups = groups          # (signature, is COMDAT, member indexes, group section index)
        discarded = set()
        kept = {}
        comdat = self._comdat
        if comdat is not None:
            for signature, is_comdat, members, _ in groups:
                if is_comdat:
                    if signature in comdat:
                        discarded.update(members)
                    else:
                        comdat[signature] = self
                        for m in members:
                            kept[m] = signature
        sections = self.sections
        lost = self.lost_comdat = []
        if discarded:
            built = []
            for i in contents:
                if i in discarded:
                    sections[i] = DISCARDED
                    lost.append(i)
                else:
                    built.append(i)
            contents = built
        # the names of the sections that are built (the file's other headers are
        # relocation, group and table sections, or a losing COMDAT copy's)
        names = self._names_of(shstr, [rows[i][0] for i in contents])
        # the sections a few link-wide passes look for, found by name now (C-speed list
        # searches) so that those passes need not walk every section of every object
        self.eh_frames = _indexes_named(names, contents, ".eh_frame")
        stack = _indexes_named(names, contents, ".note.GNU-stack")
        self.gnu_stack = stack[0] if stack else 0
        self.gnu_properties = _indexes_named(names, contents, ".note.gnu.property")
        for i, name in zip(contents, names):
            sec = sections[i] = InputSection(self, i, name, rows[i])
            if i in kept:
                sec.group = kept[i]
            if sec.flags & SHF_COMPRESSED or (zdebug and name.startswith(".zdebug")):
                self._compressed(sec)
        # relocation sections: a view of the file each when already in the in-memory
        # layout (x86-64 RELA), else converted by _attach_relocs
        rela, in_memory = self.dt.rela, self.rela_in_memory
        rsize = rela.itemsize
        for i in rela_sections:
            row = rows[i]
            target = row[7]
            if in_memory and row[1] == SHT_RELA and row[9] == rsize and 0 < target < len(sections):
                sec = sections[target]
                if sec is not None and sec is not DISCARDED:
                    sec._relocs = i
            else:
                self._attach_relocs(i)
        self._rows = None       # (the tuples are rebuilt from shdrs if asked for: see rows)

    def _names_of(self, shstr, offs):
        """The section names at `offs` in the section name table `shstr`."""
        if offs and shstr.isascii() and max(offs) < len(shstr):
            # (the usual table: decoded once, names sliced out of the text)
            text = shstr.decode("ascii")
            find = text.find
            return [text[o:find("\0", o)] for o in offs]
        return [n.decode("utf-8", "replace") for n in strings_at(shstr, offs, self.name, "section name")]

    @property
    def section_names(self):
        """Every section's name, by index (built on first use: a link needs only the
        names of the sections it places, which parsing keeps in InputSection.name)."""
        names = self._section_names
        if names is None:
            if not self._names_checked:
                return None             # (still parsing: the name table is not checked yet)
            names = self._section_names = self._names_of(self._section_bytes(self.shstrndx),
                                                         self.shdrs["sh_name"].tolist())
        return names

    @property
    def rows(self):
        """The section headers as tuples (name, type, flags, addr, offset, size, link,
        info, addralign, entsize).  Only parsing keeps them: a few later readers (-r,
        --gc-sections' group check) rebuild them from the header table, which saves
        their memory in every link (72 MB on llvm-big's 360k sections)."""
        rows = self._rows
        if rows is None:
            rows = self._rows = self.shdrs.tolist()
        return rows

    def _compressed(self, sec):
        """A compressed debug section (SHF_COMPRESSED, or the GNU .zdebug_* form) takes
        its uncompressed size and alignment now; its bytes are inflated on first use."""
        from ldpy import compress as Z
        where = sec.where()
        if sec.type == SHT_NOBITS:
            if sec.flags & SHF_COMPRESSED:
                raise LinkError(f"{where}: SHF_COMPRESSED on a section without contents")
            return
        if sec.flags & SHF_COMPRESSED:
            if sec.flags & SHF_ALLOC:
                raise LinkError(f"{where}: SHF_COMPRESSED on an allocated section")
            kind, usize, align, start = Z.read_chdr(self.data, sec.offset, sec.size, self.is64,
                                                    self.little, where)
            sec.flags &= ~SHF_COMPRESSED
            sec.align = align
        else:
            if sec.flags & SHF_ALLOC:
                return
            sec.name = ".debug" + sec.name[len(".zdebug"):]
            hdr = Z.read_gnu_header(self.data, sec.offset, sec.size)
            if hdr is None:
                return                  # (a .zdebug section without "ZLIB" is stored plainly)
            usize, start = hdr
            kind = Z.ELFCOMPRESS_ZLIB
        end = sec.offset + sec.size
        Z.check_size(usize, end - start, where)
        sec.compressed = (kind, start, end)
        sec.size = usize
        self.relocs_elsewhere.append(sec.index)     # (its bytes are not the file's)

    def _label(self, i):
        """'[i] NAME' of section i for messages (just '[i]' while names are unknown
        or the name is unreadable)."""
        names = self.section_names
        if names is not None:
            return f"[{i}] {names[i]}"
        try:
            s = self.rows[self.shstrndx]
            return section_label(self.data, i, self.rows[i][0], s[1], s[4], s[5])
        except IndexError:
            return f"[{i}]"

    def _section_bytes(self, i):
        row = self.rows[i]
        if row[1] == SHT_NOBITS:
            return b""
        return bytes(self.data[row[4]:row[4] + row[5]])

    def _read_symbols(self, shndx_table):
        dt = self.dt
        if self.symtab_index is None:
            self.symbols = np.zeros(0, dt.sym)
            self.strtab = b""
            self.first_global = 0
            self.shndx = np.zeros(0, np.int64)
            self.global_names = []
            self._global_infos = []
            return
        _, _, _, _, offset, size, link, info, _, entsize = self.rows[self.symtab_index]
        if entsize != dt.sym.itemsize:
            raise LinkError(f"{self.name}: symbol table {self._label(self.symtab_index)} has bad "
                            f"entry size {entsize} (expected {dt.sym.itemsize})")
        count = size // dt.sym.itemsize
        self.symbols = syms = self._table(dt.sym, offset, count, "symbol table")
        if not 0 < link < len(self.rows):
            raise LinkError(f"{self.name}: symbol table has bad string table link {link} "
                            f"(the file has {len(self.rows)} sections)")
        if self.rows[link][1] != SHT_STRTAB:
            raise LinkError(f"{self.name}: symbol table's string table link {link} is section "
                            f"{self._label(link)}, which is not a string table")
        self.strtab = strtab = self._section_bytes(link)
        if strtab and strtab[-1] != 0:
            raise LinkError(f"{self.name}: string table {self._label(link)} of the symbol table does not "
                            f"end with a NUL byte")
        if info > count:
            raise LinkError(f"{self.name}: symbol table claims {info} local symbols (sh_info) "
                            f"but holds only {count} symbols")
        self.first_global = info
        name_off = syms["st_name"]
        # st_shndx through one lookup table: reserved values negated (elf.format.SHX_*),
        # large-model commons as SHN_COMMON, anything unsupported a sentinel
        if count:
            from ldpy.arch.base import for_machine
            t = for_machine(self.machine)
            shndx = _shndx_table(t.LARGE_COMMON if t is not None else None,
                                 shndx_table is not None)[syms["st_shndx"]]
            lo, hi = int(_MIN(shndx)), int(_MAX(shndx))
            if lo == _BAD_SHNDX or hi >= len(self.shdrs) or int(_MAX(name_off)) >= max(len(strtab), 1):
                shndx = self._check_symbols(syms, strtab, shndx_table)    # (raises)
            if shndx_table is not None and lo <= -SHN_XINDEX:
                ext = self._table(np.dtype(dt.word), self.rows[shndx_table][4],
                                  count, "extended section index table")
                shndx = np.where(shndx == -SHN_XINDEX, ext.astype(np.int64), shndx)
                real = shndx > 0
                if np.any(real & (shndx >= len(self.shdrs))):
                    self._check_symbols(syms, strtab, shndx_table)
        else:
            shndx = np.zeros(0, np.int64)
        self.shndx = shndx
        self._global_infos = syms["st_info"][self.first_global:].tolist()
        self.global_names = _names_in_a_row(strtab, name_off[self.first_global:]) or \
            strings_at(strtab, name_off[self.first_global:].tolist(), self.name, "symbol name")

    def _check_symbols(self, syms, strtab, shndx_table):
        """The symbol table checks, one by one, for the message of the first that fails."""
        dt = self.dt
        count = len(syms)
        name_off = syms["st_name"]
        if count and int(name_off.max()) >= max(len(strtab), 1):
            bad = int(np.flatnonzero(name_off >= len(strtab))[0])
            raise LinkError(f"{self.name}: symbol {bad} has name offset {int(name_off[bad]):#x}, past the "
                            f"end of the string table ({len(strtab):#x} bytes)")
        shndx = syms["st_shndx"].astype(np.int64)
        from ldpy.arch.base import for_machine
        t = for_machine(self.machine)
        if t is not None and t.LARGE_COMMON is not None:
            shndx[shndx == t.LARGE_COMMON] = SHN_COMMON     # SHN_X86_64_LCOMMON: large-model commons
        reserved = (shndx >= SHN_LORESERVE) & (shndx != SHN_ABS) & (shndx != SHN_COMMON) & \
            ((shndx != SHN_XINDEX) | (shndx_table is None))
        if reserved.any():
            bad = int(np.flatnonzero(reserved)[0])
            raise LinkError(f"{self.name}: symbol {self._sym_label(bad)} has unsupported section "
                            f"index {int(shndx[bad]):#x}" +
                            (" (SHN_XINDEX without a .symtab_shndx section)" if shndx[bad] == SHN_XINDEX else ""))
        shndx = np.where(shndx >= SHN_LORESERVE, -shndx, shndx)
        if shndx_table is not None:
            ext = self._table(np.dtype(dt.word), self.rows[shndx_table][4],
                              count, "extended section index table")
            shndx = np.where(shndx == -SHN_XINDEX, ext.astype(np.int64), shndx)
        real = shndx > 0
        if np.any(real & (shndx >= len(self.shdrs))):
            bad = int(np.flatnonzero(real & (shndx >= len(self.shdrs)))[0])
            raise LinkError(f"{self.name}: symbol {self._sym_label(bad)} has section index "
                            f"{int(shndx[bad])}, but the file has only {len(self.shdrs)} sections")
        return shndx

    def defined_global_names(self):
        """Names of the global symbols this object defines (not commons): what a lazy
        object (--start-lib) offers, like an archive index entry."""
        fg = self.first_global
        shndx = self.shndx[fg:fg + len(self.global_names)]
        return [n for n, x in zip(self.global_names, shndx.tolist()) if x != SHN_UNDEF and x != SHX_COMMON]

    def defines_global_data(self, name):
        """Whether this object defines NAME as STB_GLOBAL data, not a common or a
        function: GNU ld's test before an archive member replaces a common."""
        fg = self.first_global
        for k, n in enumerate(self.global_names):
            if n == name:
                info, shndx = self._global_infos[k], int(self.shndx[fg + k])
                return (info >> 4 == STB_GLOBAL and (info & 0xf) not in (STT_FUNC, STT_GNU_IFUNC)
                        and shndx != SHN_UNDEF and shndx != SHX_COMMON)
        return False

    def _sym_label(self, i):
        """"'NAME' (index I)" of symbol i, for messages (names already checked)."""
        name = self._name_at(int(self.symbols["st_name"][i])).decode("utf-8", "replace")
        return f"'{name}' (index {i})" if name else f"index {i}"

    def _name_at(self, off):
        s = self.strtab
        end = s.find(b"\0", off)
        return s[off:end] if end >= 0 else s[off:]

    def symbol_name(self, i):
        return self._name_at(int(self.symbols["st_name"][i]))

    def _attach_relocs(self, i):
        _, typ, _, _, offset, size, _, target, _, _ = self.rows[i]
        if not 0 < target < len(self.sections):
            raise LinkError(f"{self.name}: relocation section {self._label(i)} has bad target section "
                            f"index {target} (the file has {len(self.sections)} sections)")
        entsize = self.rows[i][9]
        dtype = self.dt.rel if typ == SHT_REL else self.dt.rela
        if entsize != dtype.itemsize:
            raise LinkError(f"{self.name}: relocation section {self._label(i)} has bad entry size "
                            f"{entsize} (expected {dtype.itemsize})")
        sec = self.sections[target]
        if sec is None or sec is DISCARDED:
            return
        # (every section's bytes were checked to lie inside the file)
        rel = np.frombuffer(self.data, dtype, size // dtype.itemsize, offset)
        # symbol indexes and offsets are checked for the whole link at once (relocs.RelocTable)
        if typ != SHT_REL and self.rela_in_memory:
            sec._relocs = rel                  # (x86-64: already the in-memory layout)
            return
        # other flavours are converted once: symbol and type into RELOC's r_info,
        # REL addends read from the bytes each relocation patches
        out = np.zeros(len(rel), RELOC)
        out["r_offset"] = rel["r_offset"]
        sym, rtype = self.dt.r_sym(rel["r_info"]), self.dt.r_type(rel["r_info"])
        out["r_info"] = reloc_info(sym, rtype)
        if typ == SHT_REL:
            from ldpy.arch.base import for_machine
            t = for_machine(self.machine)
            if t is None:
                raise LinkError(f"{self.name}: SHT_REL relocation section {self.section_names[i]} "
                                f"is not supported for this target")
            if sec.type != SHT_NOBITS:
                # (a compressed debug section is inflated for this)
                data, base = (sec.bytes(), 0) if sec.compressed is not None else (self.data, sec.offset)
                out["r_addend"] = t.implicit_addends(data, base + rel["r_offset"].astype(np.int64), rtype)
            self.raw_relocs = False
        else:
            out["r_addend"] = rel["r_addend"]
        sec.relocs = out

    def _read_group(self, i):
        _, _, _, _, offset, size, _, info, _, _ = self.rows[i]
        n = size // 4
        if offset + 4 * n > len(self.data):
            raise LinkError(f"{self.name}: group section {self._label(i)} extends past the end of the file")
        words = struct.unpack_from(f"{'<' if self.little else '>'}{n}I", self.data, offset)
        flag = words[0] if n else 0
        members = list(words[1:])
        nsec = len(self.sections)
        rows = self.rows
        for m in members:
            if not 0 < m < nsec:
                raise LinkError(f"{self.name}: group section {self._label(i)} has bad member index {m} "
                                f"(the file has {nsec} sections)")
            if m == i:
                raise LinkError(f"{self.name}: group section {self._label(i)} lists itself as a member")
            if rows[m][1] == SHT_GROUP:
                raise LinkError(f"{self.name}: group section {self._label(i)} has member {self._label(m)}, "
                                f"which is a group section itself")
        if not 0 < info < len(self.symbols):
            raise LinkError(f"{self.name}: group section {self._label(i)} has bad signature symbol "
                            f"index {info} (the symbol table has {len(self.symbols)} symbols)")
        fg = self.first_global
        if info >= fg:                  # the usual case: the signature is a global symbol
            signature = self.global_names[info - fg]
            st_info = self._global_infos[info - fg]
        else:
            name_off, st_info = self._sym_name_info(info)
            signature = self._name_at(name_off)
        if st_info & 0xf == STT_SECTION:
            shndx = int(self.shndx[info])
            if not 0 < shndx < nsec:
                raise LinkError(f"{self.name}: group section {self._label(i)} has a section symbol "
                                f"as signature, of no section (index {shndx:#x})")
            signature = self.section_names[shndx].encode()
        return signature, bool(flag & GRP_COMDAT), members

    def _sym_name_info(self, i):
        sym = self.symbols[i]
        return int(sym["st_name"]), int(sym["st_info"])

    def has_dead_sections(self):
        return any(s is not None and not s.live for s in self.sections)

    def is_lto_only(self):
        """True for a GCC LTO object without regular code (-flto without -ffat-lto-objects)."""
        return b"__gnu_lto_slim" in self.strtab and b"__gnu_lto_slim" in self.global_names

    def machine_name(self):
        return MACHINE_NAMES.get(self.machine, f"machine {self.machine}")
