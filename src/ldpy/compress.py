"""Compressed debug sections, both ways.

Input: ELF's SHF_COMPRESSED sections (an Elf_Chdr, then a zlib or zstd stream;
``gcc -gz``, ``as --compress-debug-sections=zstd``) and the older GNU form
(``.zdebug_*`` sections: "ZLIB", the size as 8 big-endian bytes, a zlib stream;
``gcc -gz=zlib-gnu``).  The loader records where the stream is; the bytes are
inflated the first time something needs them (merging, relocating, writing), so a
link that drops debug information (-S, -s) never pays for it.

Output: ``--compress-debug-sections=zlib|zlib-gabi|zlib-gnu|zstd`` compresses
every ``.debug_*`` output section after relocation, as ld.bfd does: one stream
per section at the library's default level, kept only when header + stream is
smaller than the plain bytes (ld.bfd's rule); the gABI forms get SHF_COMPRESSED
and an Elf_Chdr (sh_addralign = the header's alignment, ch_addralign = the
section's), the GNU form is renamed ``.zdebug_*``.  The non-allocated tail of
the file (debug sections, .symtab, .strtab, .shstrtab, the section headers) is
then packed again.

zstd goes through the system's libzstd (ctypes): Python 3.11 has no zstd module.
"""
import ctypes
import ctypes.util
import zlib

import numpy as np

from ldpy.diag import LinkError

ELFCOMPRESS_ZLIB, ELFCOMPRESS_ZSTD = 1, 2
SHF_COMPRESSED = 0x800
GNU_MAGIC = b"ZLIB"
KIND_NAMES = {ELFCOMPRESS_ZLIB: "zlib", ELFCOMPRESS_ZSTD: "zstd"}


# -- libzstd -------------------------------------------------------------------
_zstd = None


def _libzstd(what):
    global _zstd
    if _zstd is None:
        path = ctypes.util.find_library("zstd") or "libzstd.so.1"
        try:
            lib = ctypes.CDLL(path)
            lib.ZSTD_decompress.restype = ctypes.c_size_t
            lib.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                            ctypes.c_void_p, ctypes.c_size_t]
            lib.ZSTD_compress.restype = ctypes.c_size_t
            lib.ZSTD_compress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                                          ctypes.c_size_t, ctypes.c_int]
            lib.ZSTD_compressBound.restype = ctypes.c_size_t
            lib.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
            lib.ZSTD_isError.restype = ctypes.c_uint
            lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
            _zstd = lib
        except (OSError, AttributeError):
            _zstd = False
    if not _zstd:
        raise LinkError(f"{what}: zstd compression needs libzstd, which was not found")
    return _zstd


def _zstd_decompress(payload, size, where):
    lib = _libzstd(where)
    src = bytes(payload)
    dst = ctypes.create_string_buffer(max(size, 1))
    n = lib.ZSTD_decompress(dst, size, src, len(src))
    if lib.ZSTD_isError(n) or n != size:
        raise LinkError(f"{where}: corrupted zstd-compressed data")
    return dst.raw[:size]


def _zstd_compress(data, where):
    lib = _libzstd(where)
    cap = lib.ZSTD_compressBound(len(data))
    dst = ctypes.create_string_buffer(cap)
    n = lib.ZSTD_compress(dst, cap, data, len(data), 3)    # ZSTD_CLEVEL_DEFAULT, as BFD
    if lib.ZSTD_isError(n):
        raise LinkError(f"{where}: zstd compression failed")
    return dst.raw[:n]


# -- input ---------------------------------------------------------------------
def chdr_size(is64):
    return 24 if is64 else 12


def read_chdr(data, offset, size, is64, little, where):
    """(kind, uncompressed size, alignment, stream offset) of an SHF_COMPRESSED section."""
    hs = chdr_size(is64)
    if size < hs:
        raise LinkError(f"{where}: compressed section is too short for its header ({size} bytes)")
    order = "little" if little else "big"
    b = bytes(data[offset:offset + hs])
    kind = int.from_bytes(b[0:4], order)
    if is64:
        usize, align = int.from_bytes(b[8:16], order), int.from_bytes(b[16:24], order)
    else:
        usize, align = int.from_bytes(b[4:8], order), int.from_bytes(b[8:12], order)
    if kind not in KIND_NAMES:
        raise LinkError(f"{where}: unknown compression type {kind} in the compression header")
    if align & (align - 1) or align > 1 << 32:
        raise LinkError(f"{where}: compression header has bad alignment {align:#x}")
    return kind, usize, max(align, 1), offset + hs


def read_gnu_header(data, offset, size):
    """(uncompressed size, stream offset) of a .zdebug_* section, or None when it
    does not start with the "ZLIB" header (then it is not compressed)."""
    if size < 12 or bytes(data[offset:offset + 4]) != GNU_MAGIC:
        return None
    return int.from_bytes(bytes(data[offset + 4:offset + 12]), "big"), offset + 12


def decompress(kind, payload, size, where):
    """The `size` bytes a zlib/zstd stream inflates to; a clean error otherwise."""
    if kind == ELFCOMPRESS_ZSTD:
        return _zstd_decompress(payload, size, where)
    try:
        z = zlib.decompressobj()
        out = z.decompress(payload, size)
    except (zlib.error, ValueError, OverflowError, MemoryError) as e:
        raise LinkError(f"{where}: corrupted zlib-compressed data ({e})")
    if len(out) != size or z.unconsumed_tail:
        more = "more than" if z.unconsumed_tail else f"{len(out)} bytes,"
        raise LinkError(f"{where}: compressed data inflates to {more} "
                        f"{'the' if z.unconsumed_tail else 'not the'} {size} bytes its header says")
    if not z.eof:
        raise LinkError(f"{where}: compressed data is truncated")
    return out


def check_size(usize, csize, where):
    """Refuse headers that promise absurd sizes (zlib's best ratio is about 1032:1)."""
    if usize > max(csize, 64) * 1100 + (1 << 16):
        raise LinkError(f"{where}: compression header claims {usize:#x} bytes from "
                        f"{csize:#x} compressed bytes")


# -- output --------------------------------------------------------------------
def output_name(name, style):
    """The name an output section gets when `style` compresses it."""
    if style == "zlib-gnu" and name.startswith(".debug_"):
        return ".z" + name[1:]
    return name


def compressible(o):
    from ldpy.elf.format import SHF_ALLOC, SHT_NOBITS
    return o.name.startswith(".debug_") and not o.flags & SHF_ALLOC and o.type != SHT_NOBITS \
        and o.size > 0 and o.index


def compress_output(ctx, out):
    """Compress the .debug_* sections of the written image `out` in place and pack
    the non-allocated tail again; returns the new file size and the section-header
    fields that changed ({section: (name, flags, offset, size, align)})."""
    style = ctx.config.compress_debug_sections
    t = ctx.target
    outs = ctx.sections_out
    blobs = {}
    for o in outs:
        if not compressible(o):
            continue
        raw = out[o.offset:o.offset + o.size].tobytes()
        if style == "zstd":
            stream = _zstd_compress(raw, f"output section {o.name}")
        else:
            stream = zlib.compress(raw)
        if style == "zlib-gnu":
            blob = GNU_MAGIC + len(raw).to_bytes(8, "big") + stream
        else:
            kind = ELFCOMPRESS_ZSTD if style == "zstd" else ELFCOMPRESS_ZLIB
            order = "little" if t.LITTLE else "big"
            if t.IS64:
                hdr = kind.to_bytes(4, order) + bytes(4) + len(raw).to_bytes(8, order) + \
                    o.align.to_bytes(8, order)
            else:
                hdr = kind.to_bytes(4, order) + len(raw).to_bytes(4, order) + o.align.to_bytes(4, order)
            blob = hdr + stream
        if len(blob) < len(raw):             # BFD keeps a section plain when it does not shrink
            blobs[o] = blob
    if not blobs:
        return None, {}
    # pack every section from the first compressed one on (all non-allocated)
    first = min(o.offset for o in blobs)
    tail = sorted((o for o in outs if o.index and o.offset >= first and o.size), key=lambda o: o.offset)
    from ldpy.elf.format import SHF_ALLOC, SHT_NOBITS
    if any(o.flags & SHF_ALLOC for o in tail):
        return None, {}                       # (cannot happen with ld's layouts; stay plain)
    moved = []
    for o in tail:
        if o.type == SHT_NOBITS:
            continue
        data = blobs[o] if o in blobs else out[o.offset:o.offset + o.size].tobytes()
        moved.append((o, data))
    changed = {}
    off = first
    for o, data in moved:
        if o in blobs:
            flags = o.flags | (SHF_COMPRESSED if style != "zlib-gnu" else 0)
            align = o.align if style == "zlib-gnu" else (8 if t.IS64 else 4)
            name = output_name(o.name, style)
        else:
            align, flags, name = o.align, None, o.name
        a = max(align, 1)
        off = (off + a - 1) // a * a
        changed[o] = (name, flags, off, len(data), align)
        off += len(data)
    shoff = (off + 7) & ~7
    shsize = (64 if t.IS64 else 40) * (len(outs) + 1)
    if shoff + shsize > len(out):
        return None, {}                       # (padding ate the gain: stay plain)
    for o, data in moved:                     # every section moves towards the start
        start = changed[o][2]
        out[start:start + len(data)] = np.frombuffer(data, np.uint8)
    return shoff, changed
