"""Reading CTF v3 dictionaries and CTF archives (libctf's include/ctf.h).

A dictionary is a 52-byte header (magic 0xdff2, version 4, flags, then twelve
32-bit words), followed -- zlib-compressed when CTF_F_COMPRESS is set -- by the
label, data-object, function-info, their two name indexes, variable, type and
string sections.  Either byte order: the magic says which.  A CTF archive (what
``ld -r`` and a link with conflicting types write) is a little-endian table of
named dictionaries; member ``.ctf`` is the parent of the others.
"""
import struct
import zlib

CTF_MAGIC = 0xdff2
CTF_VERSION_3 = 4
CTFA_MAGIC = 0x8b47f2a4d7623eeb
CTF_MODEL_ILP32, CTF_MODEL_LP64 = 1, 2     # archive data models

F_COMPRESS, F_NEWFUNCINFO, F_IDXSORTED, F_DYNSTR = 1, 2, 4, 8
F_MAX = 0xf

(K_UNKNOWN, K_INTEGER, K_FLOAT, K_POINTER, K_ARRAY, K_FUNCTION, K_STRUCT, K_UNION,
 K_ENUM, K_FORWARD, K_TYPEDEF, K_VOLATILE, K_CONST, K_RESTRICT, K_SLICE) = range(15)
KIND_NAMES = ("unknown", "integer", "float", "pointer", "array", "function", "struct",
              "union", "enum", "forward", "typedef", "volatile", "const", "restrict", "slice")

MAX_PTYPE = 0x7fffffff        # parent type ids are 1..MAX_PTYPE, children's above
LSIZE_SENT = 0xffffffff       # ctt_size sentinel: a 64-bit size follows
LSTRUCT_THRESH = 536870912    # struct size from which members carry 64-bit offsets
HEADER_SIZE = 52

# kinds whose third header word is a type (the others: a size)
REF_KINDS = frozenset((K_POINTER, K_FUNCTION, K_FORWARD, K_TYPEDEF, K_VOLATILE, K_CONST,
                       K_RESTRICT))
# kinds whose name takes no part in the type (libctf's API cannot set one)
NAMELESS = frozenset((K_POINTER, K_ARRAY, K_FUNCTION, K_VOLATILE, K_CONST, K_RESTRICT,
                      K_SLICE))


class BadCTF(Exception):
    """A broken dictionary; the message says what is wrong."""


class Type:
    """One type record.  ``extra`` by kind: integer/float: the encoding word;
    array: (contents, index, nelems); function: argument ids (a trailing 0 means
    varargs); struct/union: ((name, bit offset, type), ...); enum: ((name, value),
    ...); slice: (type, bit offset, bits); others: None.  ``ref``: the referenced
    type (pointer, typedef, cv-qualifiers, function return) or the forwarded
    kind (forward); ``size``: bytes, for the kinds that have one."""
    __slots__ = ("kind", "name", "root", "size", "ref", "extra")

    def __init__(self, kind, name, root, size, ref, extra):
        self.kind, self.name, self.root, self.size, self.ref, self.extra = \
            kind, name, root, size, ref, extra


class Dict:
    """A dictionary read from a file: its types by index (``types[0]`` is None),
    symbol types by name, variables, and where it came from."""

    def __init__(self, origin):
        self.origin = origin          # file name for messages
        self.cuname = ""
        self.parname = ""
        self.types = [None]
        self.objt = []                # [(symbol name, type id)]
        self.func = []
        self.vars = []                # [(name, type id)]
        self.parent = None            # the parent Dict of an archive member
        self.flags = 0

    @property
    def is_child(self):
        return bool(self.parname) or self.parent is not None


def _strings(buf, ext):
    seen = {}

    def get(ref):
        got = seen.get(ref)
        if got is not None:
            return got
        if ref == 0:
            return ""
        tab = ext if ref >> 31 else buf
        off = ref & 0x7fffffff
        if tab is None or off >= len(tab):
            raise BadCTF(f"string offset {ref:#x} is past the end of the string table")
        end = tab.find(b"\0", off)
        if end < 0:
            raise BadCTF("string table is not terminated")
        got = seen[ref] = tab[off:end].decode("utf-8", "surrogateescape")
        return got
    return get


def read_dict(data, origin, ext_strtab=None):
    """Parse one dictionary (bytes) into a Dict; BadCTF when it is broken."""
    if len(data) < 4:
        raise BadCTF("CTF section is too short for a header")
    if data[0] == 0xf2 and data[1] == 0xdf:
        e = "<"
    elif data[0] == 0xdf and data[1] == 0xf2:
        e = ">"
    else:
        raise BadCTF("not a CTF dictionary (bad magic number)")
    version, flags = data[2], data[3]
    if version != CTF_VERSION_3:
        raise BadCTF(f"CTF version {version} is not supported (only version 3)")
    if flags & ~F_MAX:
        raise BadCTF(f"CTF header flags {flags:#x} are not valid")
    if len(data) < HEADER_SIZE:
        raise BadCTF("CTF section is too short for a header")
    h = struct.unpack_from(e + "12I", data, 4)
    (parlabel, parname, cuname, lbloff, objtoff, funcoff, objtidxoff, funcidxoff,
     varoff, typeoff, stroff, strlen) = h
    body = data[HEADER_SIZE:]
    if flags & F_COMPRESS:
        try:
            body = zlib.decompressobj().decompress(bytes(body))
        except zlib.error as ex:
            raise BadCTF(f"cannot decompress CTF data: {ex}")
    body = bytes(body)
    offs = (lbloff, objtoff, funcoff, objtidxoff, funcidxoff, varoff, typeoff, stroff)
    if any(a > b for a, b in zip(offs, offs[1:])) or stroff + strlen > len(body) \
            or any(o & 3 for o in offs[:-1]):
        raise BadCTF("CTF header section offsets are out of order, misaligned or past the end")
    strtab = body[stroff:stroff + strlen]
    string = _strings(strtab, ext_strtab)
    d = Dict(origin)
    d.flags = flags
    d.cuname = string(cuname)
    d.parname = string(parname)

    def words(a, b):
        return struct.unpack_from(f"{e}{(b - a) // 4}I", body, a)

    # symbol types: with an index, by name; without one they follow a symbol
    # table this dictionary cannot see, so they cannot be carried over
    objt, func = words(objtoff, funcoff), words(funcoff, objtidxoff)
    oidx, fidx = words(objtidxoff, funcidxoff), words(funcidxoff, varoff)
    if oidx:
        if len(oidx) != len(objt):
            raise BadCTF("data object index and data object section differ in length")
        d.objt = [(string(n), t) for n, t in zip(oidx, objt)]
    if fidx:
        if len(fidx) != len(func):
            raise BadCTF("function index and function info section differ in length")
        d.func = [(string(n), t) for n, t in zip(fidx, func)]
    v = words(varoff, typeoff)
    d.vars = [(string(v[i]), v[i + 1]) for i in range(0, len(v) - 1, 2)]
    _read_types(d, words(typeoff, stroff), string, e, body, typeoff)
    return d


def _read_types(d, w, string, e, body, typeoff):
    """The type section: variable-length records, all whole 32-bit words."""
    types = d.types
    append = types.append
    n = len(w)
    i = 0
    while i < n:
        if i + 3 > n:
            raise BadCTF(f"type record at offset {i * 4:#x} is truncated")
        name, info, sz = w[i], w[i + 1], w[i + 2]
        kind = info >> 26
        root = (info >> 25) & 1
        vlen = info & 0xffffff
        i += 3
        if kind in REF_KINDS:
            ref, size = sz, 0
        else:
            ref, size = 0, sz
            if sz == LSIZE_SENT:
                if i + 2 > n:
                    raise BadCTF(f"type record at offset {(i - 3) * 4:#x} is truncated")
                size = (w[i] << 32) | w[i + 1]
                i += 2
        nm = string(name) if name else ""
        extra = None
        if kind == K_INTEGER or kind == K_FLOAT:
            extra = w[i] if i < n else None
            i += 1
        elif kind == K_ARRAY:
            extra = w[i:i + 3]
            i += 3
        elif kind == K_FUNCTION:
            extra = w[i:i + vlen]
            i += vlen + (vlen & 1)
        elif kind == K_STRUCT or kind == K_UNION:
            if size < LSTRUCT_THRESH:
                m = w[i:i + 3 * vlen]
                extra = tuple((string(m[j]) if m[j] else "", m[j + 1], m[j + 2])
                              for j in range(0, len(m), 3))
                i += 3 * vlen
            else:
                m = w[i:i + 4 * vlen]
                extra = tuple((string(m[j]) if m[j] else "", (m[j + 1] << 32) | m[j + 3], m[j + 2])
                              for j in range(0, len(m), 4))
                i += 4 * vlen
        elif kind == K_ENUM:
            m = w[i:i + 2 * vlen]
            extra = tuple((string(m[j]), m[j + 1] - ((m[j + 1] & 0x80000000) << 1))
                          for j in range(0, len(m), 2))
            i += 2 * vlen
        elif kind == K_SLICE:
            if i + 2 > n:
                raise BadCTF(f"slice at offset {(i - 3) * 4:#x} is truncated")
            off, bits = struct.unpack_from(e + "HH", body, typeoff + (i + 1) * 4)
            extra = (w[i], off, bits)
            i += 2
        elif kind > K_SLICE:
            raise BadCTF(f"type {len(types):#x} has unknown kind {kind}")
        if i > n:
            raise BadCTF(f"type {len(types):#x} ({KIND_NAMES[kind]}) runs past the type section")
        append(Type(kind, nm, root, size, ref, extra))


def is_archive(data):
    return len(data) >= 8 and struct.unpack_from("<Q", data, 0)[0] == CTFA_MAGIC


def read_section(data, origin, ext_strtab=None):
    """A .ctf section's dictionaries: one, or an archive's members with the
    parent (member ``.ctf``) first and each child's ``parent`` set."""
    data = bytes(data)
    if not is_archive(data):
        return [read_dict(data, origin, ext_strtab)]
    if len(data) < 40:
        raise BadCTF("CTF archive header is truncated")
    _, _model, ndicts, names, ctfs = struct.unpack_from("<5Q", data, 0)
    if 40 + 16 * ndicts > len(data) or names > len(data) or ctfs > len(data):
        raise BadCTF("CTF archive table is past the end of the section")
    members = []
    for k in range(ndicts):
        noff, coff = struct.unpack_from("<2Q", data, 40 + 16 * k)
        nstart = names + noff
        nend = data.find(b"\0", nstart)
        if nstart >= len(data) or nend < 0:
            raise BadCTF("CTF archive member name is past the end of the section")
        start = ctfs + coff
        if start + 8 > len(data):
            raise BadCTF("CTF archive member is past the end of the section")
        size = struct.unpack_from("<Q", data, start)[0]
        members.append((start, data[nstart:nend].decode("utf-8", "surrogateescape"),
                        data[start + 8:start + 8 + size]))
    members.sort()                          # the order they were written in
    parent = None
    out = []
    for _, name, blob in members:
        d = read_dict(blob, origin, ext_strtab)
        if name == ".ctf":
            parent = d
            out.insert(0, d)
        else:
            out.append(d)
    for d in out:
        if d is not parent and d.parname:
            if parent is None:
                raise BadCTF(f"CTF archive member '{d.cuname}' has no parent dictionary")
            d.parent = parent
    return out
