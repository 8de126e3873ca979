"""Notes the linker writes: .note.gnu.build-id, .note.gnu.property, .note.package."""
import os
import struct

import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import SHT_NOTE, SHF_ALLOC, NT_GNU_BUILD_ID
from ldpy.synthetic import Synthetic


class BuildIdNote(Synthetic):
    def __init__(self, style, little=True):
        super().__init__(".note.gnu.build-id", type_=SHT_NOTE, flags=SHF_ALLOC, align=4)
        self.style = style
        if style in ("sha1", "tree"):
            self.desc_size = 20
        elif style in ("md5", "uuid", "fast"):
            self.desc_size = 16
        elif style.startswith("0x"):
            try:
                self.fixed = bytes.fromhex(style[2:])
            except ValueError:
                raise LinkError(f"--build-id: bad hexadecimal value '{style}'")
            self.desc_size = len(self.fixed)
        else:
            raise LinkError(f"--build-id: unknown style '{style}'")
        self.size = 16 + self.desc_size
        self.data = np.frombuffer(struct.pack("<III" if little else ">III", 4, self.desc_size,
                                              NT_GNU_BUILD_ID) + b"GNU\0"
                                  + b"\0" * self.desc_size, np.uint8)

    def finalize(self, image, file_offset, threads=1):
        """Hash the finished image and store the id in place."""
        if self.style in ("sha1", "tree"):
            digest = image_hash("sha1", image, threads)
        elif self.style == "md5" or self.style == "fast":
            digest = image_hash("md5", image, threads)
        elif self.style == "uuid":
            digest = os.urandom(16)
        else:
            digest = self.fixed
        start = file_offset + 16
        if isinstance(image, np.ndarray):       # (a view of the packed image, compress.py)
            digest = np.frombuffer(digest, np.uint8)
        image[start:start + self.desc_size] = digest


class PackageNote(Synthetic):
    """--package-metadata=JSON: the FDO packaging metadata note (owner "FDO",
    type NT_FDO_PACKAGING_METADATA, the JSON text NUL-terminated and padded to
    4 bytes, the padding counted in the descriptor size), as GNU ld 2.40 writes
    it into .note.package."""
    NT_FDO_PACKAGING_METADATA = 0xcafe1a7e

    def __init__(self, text, little=True):
        super().__init__(".note.package", type_=SHT_NOTE, flags=SHF_ALLOC, align=4)
        desc = text.encode() + b"\0"
        padded = desc + b"\0" * (-len(desc) % 4)
        order = "<" if little else ">"
        self.data = np.frombuffer(struct.pack(order + "III", 4, len(padded), self.NT_FDO_PACKAGING_METADATA)
                                  + b"FDO\0" + padded, np.uint8)
        self.size = len(self.data)


# From this size the id is a hash tree, as lld's and mold's are: the hash of the
# TREE_CHUNK-byte chunks' hashes, in order; the chunks are hashed by `threads`
# threads at once (hashlib lets go of the GIL), and the id does not depend on how
# many.  Smaller images get the plain hash of the file, as GNU ld writes.
TREE_MIN = 8 << 20
TREE_CHUNK = 4 << 20


def image_hash(name, image, threads=1):
    """The build-id digest of `image` (bytes-like, the id's own bytes still 0)."""
    size = len(image)
    if size < TREE_MIN:
        return _hasher(name, size)(image).digest()
    import hashlib
    import threading
    new = getattr(hashlib, name)
    view = memoryview(image)        # (released below: an mmap cannot close while viewed)
    starts = range(0, size, TREE_CHUNK)
    digests = [b""] * len(starts)
    workers = max(1, min(threads, len(starts)))

    def hash_chunks(k):
        for i in range(k, len(starts), workers):
            digests[i] = new(view[starts[i]:starts[i] + TREE_CHUNK]).digest()
    helpers = [threading.Thread(target=hash_chunks, args=(k,)) for k in range(1, workers)]
    for t in helpers:
        t.start()
    hash_chunks(0)
    for t in helpers:
        t.join()
    view.release()
    return new(b"".join(digests)).digest()


def _hasher(name, size):
    """OpenSSL's hash for big images; CPython's built-in one below 512 KiB, where
    loading libcrypto (hashlib, ~3 ms) costs more than the slower hashing."""
    if size < 512 * 1024:
        try:
            if name == "sha1":
                from _sha1 import sha1
                return sha1
            from _md5 import md5
            return md5
        except ImportError:
            pass
    import hashlib
    return getattr(hashlib, name)


GNU_PROPERTY_AND = (0xc0000000, 0xc0007fff)      # x86 feature bits every input must have
GNU_PROPERTY_OR = (0xc0008000, 0xc000ffff)       # x86 ISA needed: union over inputs
GNU_PROPERTY_OR_AND = (0xc0010000, 0xc0017fff)   # union, dropped if any input lacks it
GNU_PROPERTY_1_NEEDED = 0xb0008000


def _props(sec):
    """(type -> u32 value) from one input .note.gnu.property section."""
    data = sec.bytes().tobytes()
    bo = "<" if sec.file.little else ">"
    align = 8 if sec.file.is64 else 4
    props = {}
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from(bo + "III", data, pos)
        name_end = pos + 12 + ((namesz + 3) & ~3)
        desc = data[name_end:name_end + descsz]
        if ntype == 5 and data[pos + 12:pos + 12 + namesz].rstrip(b"\0") == b"GNU":
            p = 0
            while p + 8 <= len(desc):
                ptype, psz = struct.unpack_from(bo + "II", desc, p)
                if psz == 4 and p + 12 <= len(desc):
                    props[ptype] = struct.unpack_from(bo + "I", desc, p + 8)[0]
                p += 8 + ((psz + align - 1) & ~(align - 1))
        pos = name_end + ((descsz + align - 1) & ~(align - 1))
    return props


X86_FEATURE_1_AND = 0xc0000002
X86_ISA_1_NEEDED = 0xc0008002
X86_FEATURE_1_IBT, X86_FEATURE_1_SHSTK = 1, 2


def file_properties(f):
    props = {}
    noted = getattr(f, "gnu_properties", None)      # (ObjectFile lists them while parsing)
    sections = f.sections
    for s in (sections if noted is None else [sections[i] for i in noted]):
        if s is not None and s.name == ".note.gnu.property":
            props.update(_props(s))
    return props


def merge_gnu_properties(files, features=0, isa_needed=0):
    """GNU ld's merge of NT_GNU_PROPERTY_TYPE_0 notes; returns {type: value}.
    features: GNU_PROPERTY_X86_FEATURE_1_AND bits forced by -z ibt / -z shstk
    (kept whatever the inputs say, as ld.bfd ORs them into every merge step);
    isa_needed: GNU_PROPERTY_X86_ISA_1_NEEDED bits of -z x86-64-{baseline,v2,v3,v4}."""
    result = None
    for f in files:
        props = file_properties(f)
        if result is None:
            result = dict(props)
            continue
        for t in list(result):
            if t not in props:
                if GNU_PROPERTY_AND[0] <= t <= GNU_PROPERTY_AND[1] or \
                        GNU_PROPERTY_OR_AND[0] <= t <= GNU_PROPERTY_OR_AND[1]:
                    del result[t]
        for t, v in props.items():
            if GNU_PROPERTY_AND[0] <= t <= GNU_PROPERTY_AND[1]:
                if t in result:
                    result[t] &= v
            elif GNU_PROPERTY_OR_AND[0] <= t <= GNU_PROPERTY_OR_AND[1]:
                if t in result:
                    result[t] |= v
            elif GNU_PROPERTY_OR[0] <= t <= GNU_PROPERTY_OR[1] or t == GNU_PROPERTY_1_NEEDED:
                result[t] = result.get(t, 0) | v
    result = result or {}
    if features:
        result[X86_FEATURE_1_AND] = result.get(X86_FEATURE_1_AND, 0) | features
    if isa_needed:
        result[X86_ISA_1_NEEDED] = result.get(X86_ISA_1_NEEDED, 0) | isa_needed
    return {t: v for t, v in result.items()
            if v or not (GNU_PROPERTY_AND[0] <= t <= GNU_PROPERTY_AND[1])}


def report_missing_cet(files, cfg, diag):
    """-z cet-report=warning|error: name every input object without the IBT or
    SHSTK feature, in ld.bfd's words; a feature forced by -z ibt / -z shstk is
    not reported (ld.bfd drops it from the report)."""
    check_ibt = not cfg.ibt
    check_shstk = not cfg.shstk
    if cfg.cet_report == "none" or not (check_ibt or check_shstk):
        return
    for f in files:
        bits = file_properties(f).get(X86_FEATURE_1_AND, 0)
        ibt = check_ibt and not bits & X86_FEATURE_1_IBT
        shstk = check_shstk and not bits & X86_FEATURE_1_SHSTK
        if not (ibt or shstk):
            continue
        what = "IBT and SHSTK properties" if ibt and shstk else "IBT property" if ibt else "SHSTK property"
        if cfg.cet_report == "error":
            diag.error(f"{f.name}: missing {what}")
        else:
            diag.warn(f"{f.name}: warning: missing {what}")


class GnuPropertyNote(Synthetic):
    def __init__(self, props, is64=True, little=True):
        super().__init__(".note.gnu.property", type_=SHT_NOTE, flags=SHF_ALLOC, align=8 if is64 else 4)
        align = self.align
        desc = b""
        fmt = "<III" if little else ">III"
        for t in sorted(props):
            entry = struct.pack(fmt, t, 4, props[t])
            desc += entry + b"\0" * (-len(entry) % align)
        self.data = np.frombuffer(struct.pack(fmt, 4, len(desc), 5) + b"GNU\0" + desc, np.uint8)
        self.size = len(self.data)
