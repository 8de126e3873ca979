"""Serializing output dictionaries (libctf's ctf_serialize) and CTF archives.

Strings a linker-supplied string table (``.dynstr``) already holds are cited
there (string table 1, ``ctf_link_add_strtab``); the rest go, sorted and
unique, into the dictionary's own table.  Symbol-type tables follow the symbol
order the linker reports (``ctf_link_shuffle_syms``): unindexed and padded with
zeros when dense, otherwise indexed by name; with no report (``-r``) they keep
their name indexes, as the compiler writes them.
"""
import struct
import zlib
from array import array

from ldpy.ctf.format import (
    CTF_MAGIC, CTF_VERSION_3, CTFA_MAGIC, F_COMPRESS, F_NEWFUNCINFO, F_IDXSORTED, F_DYNSTR,
    HEADER_SIZE, LSIZE_SENT, LSTRUCT_THRESH, REF_KINDS,
    K_INTEGER, K_FLOAT, K_ARRAY, K_FUNCTION, K_STRUCT, K_UNION, K_ENUM, K_SLICE)

INDEX_PAD_THRESHOLD = 0.75       # index when pads exceed this share of the table
STT_OBJECT, STT_FUNC = 1, 2


def _symtypetab(table, reported, want_type, other):
    """(entries, index names or None) of one data-object or function table."""
    if reported is None:
        names = list(table)
        return [table[n] for n in names], names
    known = [(n, i) for i, (n, typ) in enumerate(reported) if typ == want_type]
    typed = [(n, i) for n, i in known if n in table and n not in other]
    if not typed:
        return [], None
    maxidx = max(i for _, i in typed)
    pads = sum(1 for n, i in known if i <= maxidx and n not in table)
    if (pads + len(typed)) * INDEX_PAD_THRESHOLD > pads:
        return [table.get(n, 0) for n, i in known if i <= maxidx and n not in other], None
    names = sorted((n for n, _ in typed), key=lambda s: s.encode())
    return [table[n] for n in names], names


def serialize(out, parname, reported, ext, little, threshold, types=None):
    """The bytes of one output dictionary (a Compressing when it is big enough to
    be compressed: finished() gives the bytes).  REPORTED: [(name, STT_*)] in symbol
    table order, or None; EXT: {string: offset} of the external string table;
    TYPES: the TypeWords of OUT when they were made beforehand."""
    e = "<" if little else ">"
    flags = F_NEWFUNCINFO | F_DYNSTR | (F_IDXSORTED if reported is not None else 0)
    objt, func, vars_ = out.objt, out.func, dict(out.vars)
    if reported is not None:
        names = {n for n, _ in reported}
        objt = {n: t for n, t in objt.items() if n in names}
        func = {n: t for n, t in func.items() if n in names}
    for table in (objt, func):
        for n, t in table.items():
            if vars_.get(n) == t:
                del vars_[n]               # a symbol-type table says it already
    o_ent, o_idx = _symtypetab(objt, reported, STT_OBJECT, func)
    f_ent, f_idx = _symtypetab(func, reported, STT_FUNC, objt)

    strings = {}                             # string -> list of word positions
    words = array("I")

    def sref(s, pos):
        if s:
            strings.setdefault(s, []).append(pos)

    w = words.append
    # data objects, functions, their indexes
    words.extend(o_ent)
    words.extend(f_ent)
    for idx in (o_idx, f_idx):
        for n in idx or ():
            sref(n, len(words))
            w(0)
    varoff = len(words)
    for n in sorted(vars_, key=lambda s: s.encode()):
        sref(n, len(words))
        w(0)
        w(vars_[n])
    typeoff = len(words)
    if types is None:
        types = TypeWords(out)
    words.extend(types.words)
    stroff = len(words)
    # the string table: external strings cited where they are, the rest sorted
    if parname:
        strings.setdefault(parname, [])
    if out.cuname:
        strings.setdefault(out.cuname, [])
    ext = ext or {}
    cited = strings.keys() | types.strings.keys()
    internal = sorted((s for s in cited if s not in ext), key=lambda s: s.encode())
    blob = bytearray(b"\0")
    offs = {}
    for s in internal:
        offs[s] = len(blob)
        blob += s.encode("utf-8", "surrogateescape") + b"\0"
    for table, base in ((strings, 0), (types.strings, typeoff)):
        for s, positions in table.items():
            v = offs[s] if s in offs else (ext[s] | 0x80000000)
            for p in positions:
                words[base + p] = v

    def hdr_str(s):
        if not s:
            return 0
        return offs[s] if s in offs else (ext[s] | 0x80000000)

    if not little:
        words.byteswap()
    body = bytearray(words.tobytes())
    for pos, off, bits in types.slices:
        struct.pack_into(e + "HH", body, (typeoff + pos) * 4, off, bits)
    body += blob
    objtoff = 0
    funcoff = 4 * len(o_ent)
    objtidxoff = funcoff + 4 * len(f_ent)
    funcidxoff = objtidxoff + 4 * len(o_idx or ())
    hdr = struct.pack(e + "HBB12I", CTF_MAGIC, CTF_VERSION_3, flags, 0, hdr_str(parname),
                      hdr_str(out.cuname), 0, objtoff, funcoff, objtidxoff, funcidxoff,
                      4 * varoff, 4 * typeoff, 4 * stroff, len(blob))
    if HEADER_SIZE + len(body) >= threshold:
        return Compressing(hdr[:3] + bytes([flags | F_COMPRESS]) + hdr[4:], bytes(body))
    return hdr + bytes(body)


class TypeWords:
    """The type section of one output dictionary as 32-bit words, with the word
    positions each string is cited at (filled in by serialize) and the slices'
    16-bit fields: everything that does not depend on the linker's symbols and
    string table, so a worker can make it before the link reports them."""

    def __init__(self, out):
        strings = {}
        words = array("I")
        slices = []

        def sref(s, pos):
            if s:
                strings.setdefault(s, []).append(pos)

        w = words.append
        for kind, name, root, size, ref, extra in out.types:
            vlen = 0
            if kind == K_STRUCT or kind == K_UNION or kind == K_ENUM:
                vlen = len(extra)
            elif kind == K_FUNCTION:
                vlen = len(extra)
            sref(name, len(words))
            w(0)
            w((kind << 26) | (root << 25) | vlen)
            if kind in REF_KINDS:
                w(ref)
            elif size > 0xfffffffe:
                w(LSIZE_SENT)
                w(size >> 32)
                w(size & 0xffffffff)
            else:
                w(size)
            if kind == K_INTEGER or kind == K_FLOAT:
                w(extra or 0)
            elif kind == K_ARRAY:
                words.extend(extra)
            elif kind == K_FUNCTION:
                words.extend(extra)
                if vlen & 1:
                    w(0)
            elif kind == K_STRUCT or kind == K_UNION:
                big = size >= LSTRUCT_THRESH
                for mn, mo, mt in extra:
                    sref(mn, len(words))
                    if big:
                        words.extend((0, mo >> 32, mt, mo & 0xffffffff))
                    else:
                        words.extend((0, mo, mt))
            elif kind == K_ENUM:
                for en, ev in extra:
                    sref(en, len(words))
                    words.extend((0, ev & 0xffffffff))
            elif kind == K_SLICE:
                st, off, bits = extra
                w(st)
                slices.append((len(words), off, bits))
                w(0)
        self.words, self.strings, self.slices = words, strings, slices


class Compressing:
    """A dictionary whose body is being zlib-compressed in a thread (zlib lets go of
    the interpreter lock, so the next dictionary is serialized meanwhile);
    result() gives its bytes."""

    def __init__(self, hdr, body):
        import threading
        self.hdr, self.body, self.out = hdr, body, None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.out = zlib.compress(self.body)

    def result(self):
        self.thread.join()
        if self.out is None:              # (the thread failed: compress here, raising here)
            self.out = zlib.compress(self.body)
        return self.hdr + self.out


def finished(blob):
    """serialize()'s bytes, once a Compressing one is done."""
    return blob.result() if isinstance(blob, Compressing) else blob


def archive(members, model):
    """A CTF archive of [(name, dict bytes)]: the first is the parent ``.ctf``."""
    n = len(members)
    ctfs = 40 + 16 * n
    body = bytearray()
    offsets = []
    for _, blob in members:
        offsets.append(len(body))
        body += struct.pack("<Q", len(blob)) + blob
        body += b"\0" * (-len(body) % 8)
    names_off = ctfs + len(body)
    names = bytearray()
    name_at = []
    for name, _ in members:
        name_at.append(len(names))
        names += name.encode("utf-8", "surrogateescape") + b"\0"
    order = sorted(range(n), key=lambda i: members[i][0].encode())
    table = b"".join(struct.pack("<2Q", name_at[i], offsets[i]) for i in order)
    return struct.pack("<5Q", CTFA_MAGIC, model, n, names_off, ctfs) + table + bytes(body) + bytes(names)
