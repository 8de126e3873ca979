"""ar archives as the linker reads them: GNU symbol index (/ and /SYM64/), long
names (//), regular and thin (!<thin>) archives, nested archives inside thin ones.

The symbol index becomes one dict name -> member offsets, so looking up the
undefined symbols a member can satisfy is a hash probe, never a scan.
"""
import os

import numpy as np

from ldpy.diag import LinkError

AR_MAGIC = b"!<arch>\n"
THIN_MAGIC = b"!<thin>\n"
HDR_SIZE = 60


class Member:
    __slots__ = ("name", "offset", "data_offset", "size", "path")

    def __init__(self, name, offset, data_offset, size, path=None):
        self.name = name              # member name as stored (str)
        self.offset = offset          # header offset in the archive (index key)
        self.data_offset = data_offset
        self.size = size
        self.path = path              # thin archives: file the proxy names


def is_archive(data):
    return bytes(data[:8]) in (AR_MAGIC, THIN_MAGIC)


class Archive:
    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.thin = bytes(data[:8]) == THIN_MAGIC
        self.index = {}          # symbol name (bytes) -> [member header offsets]
        self.members = {}        # header offset -> Member
        self.extracted = set()   # header offsets already loaded
        self._longnames = b""
        self._parse()

    def _parse(self):
        data, pos, end = self.data, 8, len(self.data)
        symtab = None
        while pos < end:
            if pos + HDR_SIZE > end:
                raise LinkError(f"{self.path}: truncated archive member header at offset {pos:#x}")
            hdr = bytes(data[pos:pos + HDR_SIZE])
            if hdr[58:60] != b"`\n":
                raise LinkError(f"{self.path}: malformed archive member header at offset {pos:#x}")
            raw_name = hdr[:16].rstrip(b" ")
            try:
                size = int(hdr[48:58].strip() or b"0")
            except ValueError:
                raise LinkError(f"{self.path}: bad member size in archive header at offset {pos:#x}")
            data_off = pos + HDR_SIZE
            is_special = raw_name in (b"/", b"/SYM64/", b"//")
            stored = size if (is_special or not self.thin) else 0
            if data_off + stored > end:
                raise LinkError(f"{self.path}: archive member at offset {pos:#x} is truncated "
                                f"(needs {size} bytes, {end - data_off} left)")
            if raw_name == b"/" or raw_name == b"/SYM64/":
                symtab = (raw_name, data_off, size)
            elif raw_name == b"//":
                self._longnames = bytes(data[data_off:data_off + size])
            else:
                name = self._member_name(raw_name, pos)
                m = Member(name, pos, data_off, size)
                if self.thin:
                    m.path = name if os.path.isabs(name) else os.path.join(os.path.dirname(self.path), name)
                self.members[pos] = m
            pos = data_off + stored
            pos += pos & 1
        if symtab is not None:
            self._read_index(*symtab)

    def _member_name(self, raw, pos):
        if raw.startswith(b"/") and raw[1:2].isdigit():
            digits = raw[1:].split(b"/")[0]
            off = int(digits)
            if off >= len(self._longnames):
                raise LinkError(f"{self.path}: member at offset {pos:#x} has a long-name offset past the name table")
            end = self._longnames.find(b"\n", off)
            name = self._longnames[off:end if end >= 0 else None]
        else:
            name = raw
        if name.endswith(b"/"):
            name = name[:-1]
        return name.decode("utf-8", "replace")

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
        index = self.index
        for name, moff in zip(names, offsets):
            lst = index.get(name)
            if lst is None:
                index[name] = [moff]
            elif moff not in lst:
                lst.append(moff)

    def bytes_view(self):
        v = getattr(self, "_np", None)
        if v is None:
            v = self._np = np.frombuffer(self.data, np.uint8)
        return v

    def member_data(self, m):
        """The bytes of a member: a slice of the archive, or the proxied file of a thin archive."""
        if not self.thin:
            return memoryview(self.data)[m.data_offset:m.data_offset + m.size]
        try:
            with open(m.path, "rb") as f:
                return f.read()
        except OSError as e:
            raise LinkError(f"{self.path}: cannot read thin archive member '{m.path}': {e.strerror}")

    def member_display(self, m):
        return f"{self.path}({m.name})"
