"""Writing ar archives the way GNU ar 2.40 (BFD) does, byte for byte.

Layout: ``!<arch>\\n`` (or ``!<thin>\\n``), the symbol index ``/`` (or
``/SYM64/``), the long-name table ``//``, then the members: a 60-byte header
each, followed by the bytes (padded to even) unless the archive is thin.

An archive being written is a list of Entry.  An entry read from an existing
archive keeps its header as it was (date, ids, mode and size are never
refreshed, as in GNU ar); only the name field is rewritten.  A new file gets a
header from stat(), or zeros and mode 644 in deterministic mode.

Names (BFD's _bfd_construct_extended_name_table):
* regular archives store the basename; names longer than 15 characters go to
  ``//`` as ``name/\\n`` and the header says ``/OFFSET``;
* thin archives put every name in ``//``, relative to the archive's
  directory (absolute names stay absolute); a member flattened out of a
  regular archive is recorded as that archive's name plus the offset of its
  header there: ``/OFFSET:ORIGIN``.  Consecutive members with the same
  file name (the members of one flattened archive) share one table entry.

The symbol index (BFD's coff write_armap): big-endian count, one member
header offset per symbol, then the NUL-terminated names, padded to even.
When a member with symbols lies past 4 GiB, the 64-bit ``/SYM64/`` form is
written instead (8-byte count and offsets, padded to 8); setting the
environment variable LDPY_AR_SYM64=1 forces it, for tests.  Unlike GNU ar
(which stamps /SYM64/ with the current time even in deterministic mode),
ldpy-ar writes date 0 there in deterministic mode.
"""
import os
import stat
import tempfile
import time

import numpy as np

from ldpy.ar.symtab import index_symbols
from ldpy.diag import LinkError
from ldpy.input.archive import AR_MAGIC, THIN_MAGIC, HDR_SIZE

MAX_NAME = 15          # ar_maxnamelen for ELF targets


class Entry:
    """One member of an archive being written.

    name      what GNU ar calls the member's file name: the stored name of a
              member of a regular archive, the path of a new file or of a thin
              archive's proxy (relative to the current directory)
    header    the raw 60-byte header of a member read from an archive, else None
    size      member size in bytes
    path      the file holding the bytes (new files, thin archive proxies)
    container, data_offset
              the Archive holding the bytes, and where they start in it
    nested, origin
              for a member of a regular archive: that archive's path and the
              member's header offset there, recorded when it goes into a thin
              archive
    st        stat result of a new file (its header is made from it)
    """
    __slots__ = ("name", "header", "size", "path", "container", "data_offset",
                 "nested", "origin", "st", "_bytes")

    def __init__(self, name, header=None, size=0, path=None, container=None, data_offset=0,
                 nested=None, origin=0, st=None, data=None):
        self.name, self.header, self.size, self.path = name, header, size, path
        self.container, self.data_offset = container, data_offset
        self.nested, self.origin, self.st = nested, origin, st
        self._bytes = data

    @classmethod
    def from_file(cls, path):
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                if stat.S_ISDIR(st.st_mode):
                    raise LinkError(f"{path}: is a directory")
                data = f.read()
        except IsADirectoryError:
            raise LinkError(f"{path}: is a directory")
        except OSError as e:
            raise LinkError(f"{path}: {e.strerror}")
        return cls(path, size=len(data), path=path, st=st, data=data)

    @property
    def is_new(self):
        return self.header is None

    def data(self):
        if self._bytes is not None:
            return self._bytes
        if self.container is not None:
            return memoryview(self.container.data)[self.data_offset:self.data_offset + self.size]
        try:
            with open(self.path, "rb") as f:
                self._bytes = f.read()
        except OSError as e:
            raise LinkError(f"{self.path}: {e.strerror}")
        return self._bytes

    def mtime(self):
        if self.st is not None:
            return int(self.st.st_mtime)
        try:
            return int(self.header[16:28].strip() or b"0")
        except ValueError:
            return 0


def entries_of(ar):
    """The members of an Archive (ldpy.input.archive) as entries, in order."""
    out = []
    for m in ar.all_members():
        if not ar.thin:
            out.append(Entry(m.name, ar.header(m), m.size, container=ar, data_offset=m.data_offset,
                             nested=ar.path, origin=m.offset))
        elif m.origin:
            inner, im = ar.nested(m)
            out.append(Entry(im.name, inner.header(im), im.size, container=inner,
                             data_offset=im.data_offset, nested=m.path, origin=m.origin))
        else:
            out.append(Entry(m.path, ar.header(m), m.size, path=m.path))
    return out


def _field(value, width):
    """BFD's _bfd_ar_spacepad: left-justified, space-padded, cut to the width."""
    return str(value).encode().ljust(width)[:width]


def _size_field(size):
    text = str(size).encode()
    if len(text) > 10:
        raise LinkError(f"member of {size} bytes is too big for an ar header")
    return text.ljust(10)


def _new_header(e, deterministic):
    """BFD's bfd_ar_hdr_from_filesystem, then bfd_dont_truncate_arname."""
    st = e.st
    if deterministic or st is None:
        date, uid, gid, mode = 0, 0, 0, 0o644
    else:
        date, uid, gid, mode = int(st.st_mtime), st.st_uid, st.st_gid, st.st_mode
    hdr = bytearray(b" " * HDR_SIZE)
    hdr[16:28] = _field(date, 12)
    hdr[28:34] = _field(uid, 6)
    hdr[34:40] = _field(gid, 6)
    hdr[40:48] = _field(f"{mode:o}", 8)
    hdr[48:58] = _size_field(e.size)
    hdr[58:60] = b"`\n"
    name = os.path.basename(e.name).encode("utf-8", "surrogateescape")
    if len(name) <= MAX_NAME:
        hdr[:len(name)] = name
        hdr[len(name)] = ord("/")
    return hdr


def relative_to_archive(filename, archive):
    """The name a thin archive stores for `filename`: relative to the archive's
    directory (symlinks resolved, as BFD's adjust_relative_path), unless absolute."""
    if os.path.isabs(filename):
        return filename
    ref = os.path.realpath(os.path.dirname(archive) or ".")
    return os.path.relpath(os.path.realpath(filename), ref)


def _name_fields(entries, headers, thin, archive):
    """Rewrite the name field of every header; return the long-name table."""
    table = bytearray()
    last_filename, last_stroff = None, 0
    for e, hdr in zip(entries, headers):
        if thin:
            filename = e.nested if e.nested is not None else e.name
            if filename == last_filename:
                stroff = last_stroff
            else:
                last_filename, last_stroff = filename, len(table)
                stroff = last_stroff
                table += relative_to_archive(filename, archive).encode("utf-8", "surrogateescape") + b"/\n"
            text = f"{stroff}:{e.origin}" if e.nested is not None else str(stroff)
            if len(text) > MAX_NAME - 1:
                raise LinkError(f"{archive}: cannot record member '{e.name}' of '{filename}' at offset "
                                f"{e.origin}: the thin archive header has no room for '/{text}'")
            hdr[0] = ord("/")
            hdr[1:MAX_NAME] = text.encode().ljust(MAX_NAME - 1)
            continue
        normal = os.path.basename(e.name).encode("utf-8", "surrogateescape")
        n = len(normal)
        if n > MAX_NAME:
            hdr[0] = ord("/")
            hdr[1:MAX_NAME] = _field(len(table), MAX_NAME - 1)
            table += normal + b"/\n"
        elif hdr[:n] != normal or hdr[n] != ord("/"):
            hdr[:n] = normal
            hdr[n] = ord("/")
    return bytes(table)


def _armap(counts, names, offsets, wide, deterministic):
    """Header and body of the symbol index (`offsets`: one per member)."""
    width = 8 if wide else 4
    count = int(counts.sum())
    body = bytearray(count.to_bytes(width, "big"))
    body += np.repeat(np.asarray(offsets, np.uint64), counts).astype(f">u{width}").tobytes()
    body += names
    body += b"\0" * ((-len(body)) % width if wide else len(body) & 1)
    hdr = bytearray(b" " * HDR_SIZE)
    hdr[:16] = (b"/SYM64/" if wide else b"/").ljust(16)
    hdr[16:28] = _field(0 if deterministic else int(time.time()), 12)
    hdr[28:34] = _field(0, 6)
    hdr[34:40] = _field(0, 6)
    hdr[40:48] = _field(0, 8)
    hdr[48:58] = _size_field(len(body))
    hdr[58:60] = b"`\n"
    return bytes(hdr), bytes(body)


def _armap_size(count, names_len, wide):
    if wide:
        size = 8 + 8 * count + names_len
        return size + (-size) % 8
    size = 4 + 4 * count + names_len
    return size + (size & 1)


def serialize(archive, entries, thin=False, symbols=True, deterministic=True):
    """The chunks of bytes that make the archive, in order."""
    headers = [bytearray(e.header) if e.header is not None else _new_header(e, deterministic)
               for e in entries]
    table = _name_fields(entries, headers, thin, archive)
    ext = b""
    if table:
        padded = table + b"\n" * (len(table) & 1)
        ext = (b"//".ljust(48) + _size_field(len(padded)) + b"`\n") + padded

    index = index_symbols([e.data() for e in entries]) if symbols and entries else None
    armap = b""
    if index is not None and index.is_object.any():
        count, names_len = index.total, len(index.names)
        stride = np.array([HDR_SIZE + (0 if thin else e.size + (e.size & 1)) for e in entries], np.int64)
        rel = np.cumsum(stride) - stride
        wide = os.environ.get("LDPY_AR_SYM64", "") not in ("", "0")
        first = 8 + HDR_SIZE + _armap_size(count, names_len, False) + len(ext)
        with_syms = rel[index.counts > 0]
        if not wide and len(with_syms) and first + int(with_syms.max()) > 0xffffffff:
            wide = True
        first = 8 + HDR_SIZE + _armap_size(count, names_len, wide) + len(ext)
        hdr, body = _armap(index.counts, index.names, rel + first, wide, deterministic)
        armap = hdr + body

    yield THIN_MAGIC if thin else AR_MAGIC
    yield armap
    yield ext
    for e, hdr in zip(entries, headers):
        yield bytes(hdr)
        if not thin:
            yield e.data()
            if e.size & 1:
                yield b"\n"


def write_archive(path, entries, thin=False, symbols=True, deterministic=True):
    """Write the archive to a temporary file next to `path`, then rename it over."""
    target = os.path.realpath(path) if os.path.islink(path) else path
    directory = os.path.dirname(target) or "."
    try:
        old_mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        old_mode = 0o666 & ~umask
    chunks = serialize(path, entries, thin, symbols, deterministic)
    try:
        fd, tmp = tempfile.mkstemp(prefix="st", dir=directory)
    except OSError as e:
        raise LinkError(f"{path}: cannot create a temporary file in {directory}: {e.strerror}")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.chmod(tmp, old_mode)
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise LinkError(f"{path}: {e.strerror}")
        raise
