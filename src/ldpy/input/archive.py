"""ar archives as the linker reads them: GNU symbol index (/ and /SYM64/), long
names (//), regular and thin (!<thin>) archives.

A thin archive holds proxy headers instead of member bytes.  A proxy names
either a file (relative to the archive's directory unless absolute) or, when a
regular archive was flattened into the thin one, that archive plus the offset
of the member's header inside it: the name field then reads ``/N:OFF`` (``N``
indexes the long-name table).  GNU ar 2.40 copies the member's own header into
the proxy (date, ids, mode, size), so a nested member that changed on disk is
caught by comparing the two headers.

The symbol index becomes one dict name -> member offsets, so looking up the
undefined symbols a member can satisfy is a hash probe, never a scan.
"""
import copy
import os
import re

import numpy as np

from ldpy.diag import LinkError
from ldpy.outfile import read_input, parsed_once

AR_MAGIC = b"!<arch>\n"
THIN_MAGIC = b"!<thin>\n"
HDR_SIZE = 60
SPECIAL_NAMES = (b"/", b"/SYM64/", b"//")
_LONG_NAME = re.compile(rb"/(\d+)(?::(\d+))?")


class Member:
    __slots__ = ("name", "offset", "data_offset", "size", "path", "origin")

    def __init__(self, name, offset, data_offset, size, path=None, origin=0):
        self.name = name              # member name as stored (str)
        self.offset = offset          # header offset in the archive (index key)
        self.data_offset = data_offset
        self.size = size
        self.path = path              # thin archives: the file the proxy names
        self.origin = origin          # thin archives: header offset inside the nested
                                      # regular archive `path` (0: `path` is the member)


def is_archive(data):
    return bytes(data[:8]) in (AR_MAGIC, THIN_MAGIC)


def map_archive(path, what="nested archive"):
    """The bytes of a file, memory-mapped; LinkError when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return read_input(path, fh)
    except OSError as e:
        raise LinkError(f"cannot open {what} '{path}': {e.strerror}")


class Archive:
    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.thin = bytes(data[:8]) == THIN_MAGIC
        self.index = {}          # symbol name (bytes) -> header offset of the first member defining it
        self.members = {}        # header offset -> Member, in archive order
        self.extracted = set()   # header offsets already loaded
        self.has_index = False
        self._longnames = b""
        self._nested = {}        # thin archives: path -> Archive of a nested archive
        self.warm_members = {}   # a link server's: header offset -> member parsed once (input/warm.py)
        # (the same archive opened again in one link: its index is parsed once)
        (self.thin, self.index, self.has_index, self._longnames,
         self._first_member) = parsed_once(data, "archive", self._parse)

    def fresh_copy(self):
        """This archive for another link (input/warm.py): the parsed index and the
        member headers read so far shared (a Member never changes), the per-link
        state (members extracted, nested archives) new."""
        ar = copy.copy(self)
        ar.members, ar.extracted, ar._nested = dict(self.members), set(), {}
        return ar

    def _parse(self):
        """Read the special members at the front (symbol index, long names); regular
        members' headers are read when first asked for (member_at), so a link that
        pulls 30 members of libc.a does not walk its 2,000 headers."""
        data, pos, end = self.data, 8, len(self.data)
        symtab = None
        self._first_member = end
        while pos < end:
            raw_name, size, data_off, stored = self._header_at(pos)
            if raw_name == b"/" or raw_name == b"/SYM64/":
                symtab = (raw_name, data_off, size)
            elif raw_name == b"//":
                self._longnames = bytes(data[data_off:data_off + size])
            else:
                self._first_member = pos
                break
            pos = data_off + stored
            pos += pos & 1
        if symtab is not None:
            self.has_index = True
            self._read_index(*symtab)
        return self.thin, self.index, self.has_index, self._longnames, self._first_member

    def _header_at(self, pos):
        """(raw name, size, data offset, bytes stored) of the header at pos, validated."""
        data, end = self.data, len(self.data)
        if pos + HDR_SIZE > end:
            raise LinkError(f"{self.path}: truncated archive member header at offset {pos:#x}")
        hdr = bytes(data[pos:pos + HDR_SIZE])
        if hdr[58:60] != b"`\n":
            raise LinkError(f"{self.path}: malformed archive member header at offset {pos:#x}")
        raw_name = hdr[:16].rstrip(b" ")
        field = hdr[48:58].strip(b" ")
        if not field.isdigit():          # (int() would take '-60', ' 1_0', '+5')
            raise LinkError(f"{self.path}: bad member size {field.decode('latin-1')!r} in archive "
                            f"header at offset {pos:#x}")
        size = int(field)
        data_off = pos + HDR_SIZE
        stored = size if (raw_name in SPECIAL_NAMES or not self.thin) else 0
        if data_off + stored > end:
            raise LinkError(f"{self.path}: archive member at offset {pos:#x} is truncated "
                            f"(needs {size} bytes, {end - data_off} left)")
        return raw_name, size, data_off, stored

    def member_at(self, pos):
        """The regular member whose header is at pos (None if pos is no member)."""
        m = self.members.get(pos)
        if m is not None:
            return m
        if pos < self._first_member or pos >= len(self.data) or pos & 1:
            return None
        raw_name, size, data_off, _ = self._header_at(pos)
        if raw_name in SPECIAL_NAMES:
            return None
        name, origin = self._member_name(raw_name, pos)
        m = Member(name, pos, data_off, size, origin=origin)
        if self.thin:
            m.path = name if os.path.isabs(name) else os.path.join(os.path.dirname(self.path), name)
        self.members[pos] = m
        return m

    def has_members(self):
        return self._first_member < len(self.data)

    def all_members(self):
        """Every regular member in archive order (--whole-archive, ar t)."""
        pos, end, out = self._first_member, len(self.data), []
        while pos < end:
            _, _, data_off, stored = self._header_at(pos)
            m = self.member_at(pos)
            if m is not None:
                out.append(m)
            pos = data_off + stored
            pos += pos & 1
        return out

    def _member_name(self, raw, pos):
        """(name, origin) of a header's name field; origin is the nested-archive
        offset of a thin archive's flattened member, else 0."""
        long = _LONG_NAME.match(raw)
        origin = 0
        if long:
            off = int(long.group(1))
            if off >= len(self._longnames):
                raise LinkError(f"{self.path}: member at offset {pos:#x} has a long-name offset past the name table")
            end = self._longnames.find(b"\n", off)
            name = self._longnames[off:end if end >= 0 else None]
            if long.group(2) is not None and self.thin:
                origin = int(long.group(2))
        else:
            name = raw
        if name.endswith(b"/"):
            name = name[:-1]
        return name.decode("utf-8", "surrogateescape"), origin

    def _read_index(self, kind, off, size):
        width = 8 if kind == b"/SYM64/" else 4
        dt = np.dtype(">u8" if width == 8 else ">u4")
        if size < width:
            raise LinkError(f"{self.path}: truncated archive symbol index")
        count = int(np.frombuffer(self.data, dt, 1, off)[0])
        if width * (count + 1) > size:
            raise LinkError(f"{self.path}: archive symbol index claims {count} symbols but is {size} bytes")
        offsets = np.frombuffer(self.data, dt, count, off + width).tolist()
        names = bytes(self.data[off + width * (count + 1):off + size]).split(b"\0")
        if len(names) < count:
            raise LinkError(f"{self.path}: archive symbol index has {len(names)} names for {count} symbols")
        # the usual index: every name once, built in one go
        first = dict(zip(names, offsets))
        if len(first) == count:
            self.index = first
            return
        index = self.index
        for name, moff in zip(names, offsets):
            index.setdefault(name, moff)        # (a name given twice: its first member)

    def bytes_view(self):
        v = getattr(self, "_np", None)
        if v is None:
            v = self._np = np.frombuffer(self.data, np.uint8)
        return v

    def header(self, m):
        """The member's raw 60-byte header."""
        return bytes(self.data[m.offset:m.offset + HDR_SIZE])

    def nested(self, m):
        """(archive, member) holding the bytes of a thin archive's flattened
        member `m`, checked against the proxy header."""
        inner = self._nested.get(m.path)
        if inner is None:
            data = map_archive(m.path, f"nested archive of thin archive {self.path}:")
            if not is_archive(data):
                raise LinkError(f"{self.path}: '{m.path}' should be the archive holding member "
                                f"offset {m.origin:#x}, but it is not an archive")
            inner = self._nested[m.path] = Archive(m.path, data)
        try:
            im = inner.member_at(m.origin)
        except LinkError:
            im = None                   # no header there any more: the archive was rebuilt
        if im is None or inner.header(im)[16:58] != self.header(m)[16:58]:
            found = "no member" if im is None else f"'{im.name}' of {im.size} bytes"
            raise LinkError(f"{self.path}: member at offset {m.origin:#x} of nested archive '{m.path}' "
                            f"changed on disk (the thin archive expects {m.size} bytes, found {found}); "
                            f"rebuild the thin archive")
        return inner, im

    def member_data(self, m):
        """The bytes of a member: a slice of the archive, of a nested archive,
        or the proxied file of a thin archive."""
        if not self.thin:
            return memoryview(self.data)[m.data_offset:m.data_offset + m.size]
        if m.origin:
            inner, im = self.nested(m)
            return inner.member_data(im)
        try:
            with open(m.path, "rb") as f:
                return read_input(m.path, f)
        except OSError as e:
            raise LinkError(f"{self.path}: cannot read thin archive member '{m.path}': {e.strerror}")

    def member_display(self, m):
        if self.thin and m.origin:
            try:
                inner, im = self.nested(m)
                return inner.member_display(im)
            except LinkError:
                return f"{self.path}({m.path}@{m.origin:#x})"
        return f"{self.path}({m.name})"
