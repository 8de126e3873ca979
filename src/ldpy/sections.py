"""Output sections and the default placement of input sections (GNU ld's
default script for ELF executables), plus the two kinds of input section that
are split into pieces: SHF_MERGE strings and .eh_frame records.
"""
import re

import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import (SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_TLS, SHF_STRINGS,
                             SHT_NOBITS, SHT_NOTE, SHT_PROGBITS, SHT_RELA, SHT_REL)

# Segment classes, in address order: headers+notes+dynamic tables, code,
# read-only data, writable data, then what is not loaded.
R_HEAD, RX, R_DATA, RW, NONALLOC = range(5)

# The known output sections, in the order GNU ld's default script gives them.
DEFAULT_ORDER = [
    ".interp", ".note.gnu.property", ".note.gnu.build-id", ".note.ABI-tag", ".hash",
    ".gnu.hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".gnu.version_r",
    ".rela.dyn", ".rela.plt", ".relr.dyn",
    ".init", ".plt", ".plt.got", ".plt.sec", ".text", ".fini",
    ".rodata", ".rodata1", ".eh_frame_hdr", ".eh_frame", ".gcc_except_table",
    ".tdata", ".tbss", ".preinit_array", ".init_array", ".fini_array", ".ctors", ".dtors",
    ".data.rel.ro", ".dynamic", ".got", ".got.plt", ".data", ".data1", ".bss",
    ".lbss", ".lrodata", ".ldata",
]
RANK = {name: i for i, name in enumerate(DEFAULT_ORDER)}
RANK[".rel.dyn"], RANK[".rel.plt"] = RANK[".rela.dyn"], RANK[".rela.plt"]     # (REL targets)
RELRO_NAMES = {".tdata", ".tbss", ".preinit_array", ".init_array", ".fini_array", ".ctors",
               ".dtors", ".data.rel.ro", ".dynamic", ".got"}

# input name prefix -> output section (checked in order; first match wins)
_PREFIX_RULES = [
    (".text", ".text"), (".gnu.linkonce.t.", ".text"),
    (".rodata", ".rodata"), (".gnu.linkonce.r.", ".rodata"),
    (".data.rel.ro", ".data.rel.ro"), (".gnu.linkonce.d.rel.ro.", ".data.rel.ro"),
    (".data", ".data"), (".gnu.linkonce.d.", ".data"),
    (".bss", ".bss"), (".gnu.linkonce.b.", ".bss"),
    (".tdata", ".tdata"), (".gnu.linkonce.td.", ".tdata"),
    (".tbss", ".tbss"), (".gnu.linkonce.tb.", ".tbss"),
    (".init_array", ".init_array"), (".fini_array", ".fini_array"),
    (".preinit_array", ".preinit_array"),
    (".gcc_except_table", ".gcc_except_table"),
    (".lrodata", ".lrodata"), (".ldata", ".ldata"), (".lbss", ".lbss"),
]
_TEXT_ORDER = [(".text.unlikely", 0), (".text.exit", 1), (".text.startup", 2), (".text.hot", 3),
               (".text.sorted.", 4)]
_C_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_c_identifier(name):
    return bool(_C_IDENT.match(name))


class OutputSection:
    __slots__ = ("name", "type", "flags", "align", "chunks", "addr", "offset", "size",
                 "index", "seg_class", "rank", "entsize", "link", "info", "order")

    def __init__(self, name, type_, flags, rank, order):
        self.name = name
        self.type = type_
        self.flags = flags
        self.align = 1
        self.chunks = []
        self.addr = 0
        self.offset = 0
        self.size = 0
        self.index = 0
        self.rank = rank
        self.order = order
        self.entsize = 0
        self.link = 0
        self.info = 0
        self.seg_class = segment_class(name, type_, flags)

    def add(self, chunk, desc_pos=None):
        self.chunks.append(chunk)
        chunk.output = self
        self.align = max(self.align, chunk.align)
        if chunk.type != SHT_NOBITS and self.type == SHT_NOBITS:
            self.type = SHT_PROGBITS
        self.flags |= chunk.flags & (SHF_WRITE | SHF_EXECINSTR | SHF_ALLOC | SHF_TLS)

    @property
    def is_nobits(self):
        return self.type == SHT_NOBITS

    def __repr__(self):
        return f"<OutputSection {self.name} {self.addr:#x}+{self.size:#x}>"


def segment_class(name, type_, flags):
    if not flags & SHF_ALLOC:
        return NONALLOC
    if flags & SHF_EXECINSTR:
        return RX
    if flags & (SHF_WRITE | SHF_TLS):
        return RW
    if type_ in (SHT_NOTE, SHT_RELA, SHT_REL) or name in (".interp", ".hash", ".gnu.hash", ".dynsym",
                                                 ".dynstr", ".gnu.version", ".gnu.version_d",
                                                 ".gnu.version_r", ".relr.dyn", ".rela.dyn"):
        return R_HEAD
    return R_DATA


_OUTPUT_NAME_CACHE = {}     # input name -> output name, for names no rule renames
_RULE_CACHE = {}            # the first _RULE_HEAD characters -> output name of a rule
# the rules read at most this many characters of a name (the longest prefix and the
# character after it): names that agree on them go to the same output section
_RULE_HEAD = max(len(p) for p, _ in _PREFIX_RULES) + 1


def output_name(sec):
    """The output section an input section goes to under GNU ld's default script
    (one dict probe per input section: with -ffunction-sections every name differs,
    but they share their first characters)."""
    name = sec.name
    out = _RULE_CACHE.get(name[:_RULE_HEAD])
    if out is not None:
        return out
    out = _OUTPUT_NAME_CACHE.get(name)
    if out is not None:
        return out
    out, by_rule = _output_name(sec)
    if by_rule:
        _RULE_CACHE[name[:_RULE_HEAD]] = out
    elif not (name.startswith(".ctors") or name.startswith(".dtors")):
        _OUTPUT_NAME_CACHE[name] = out
    return out


def _output_name(sec):
    """(output name, whether a prefix rule decided it from the name's head)."""
    name = sec.name
    if name == ".tcommon":      # the default script's `*(.tcommon)`, after every .tbss
        return ".tbss", False
    for prefix, out in _PREFIX_RULES:
        if name.startswith(prefix) and (len(name) == len(prefix) or prefix.endswith(".")
                                        or name[len(prefix)] == "."):
            return out, True
    if name.startswith(".ctors") or name.startswith(".dtors"):
        base = sec.file.name.rsplit("/", 1)[-1]
        if not (base.startswith("crtbegin") or base.startswith("crtend")):
            return ".init_array" if name.startswith(".ctors") else ".fini_array", False
        return name[:6], False
    if name.startswith(".gnu.linkonce.wi."):
        return ".debug_info", True
    return name, False


_TEXT_HEAD = max(len(p) for p, _ in _TEXT_ORDER)
_TEXT_KEYS = {}             # the first _TEXT_HEAD characters of a .text input -> its sort key


def input_sort_key(sec, out_name):
    """Order inside an output section: GNU ld's sub-ordering for .text and arrays."""
    name = sec.name
    if out_name == ".text":
        key = _TEXT_KEYS.get(name[:_TEXT_HEAD])
        if key is None:
            key = _TEXT_KEYS[name[:_TEXT_HEAD]] = _text_key(name)
        return key
    if out_name in (".init_array", ".fini_array"):
        return (init_priority(name), "")
    if out_name == ".tbss":
        return (1 if name == ".tcommon" else 0, "")
    return (0, "")


def _text_key(name):
    for prefix, rank in _TEXT_ORDER:
        if name.startswith(prefix):
            return (rank, "")
    return (5, "")


# -z keep-text-section-prefix (gold, lld): these prefixes of .text inputs name output
# sections of their own (ld.bfd 2.40 ignores the option on x86 with a warning)
KEPT_TEXT = (".text.hot", ".text.unknown", ".text.unlikely", ".text.startup", ".text.exit", ".text.split")


def kept_text_prefix(name):
    """The output section a .text input goes to under -z keep-text-section-prefix."""
    for prefix in KEPT_TEXT:
        if name == prefix or name.startswith(prefix + "."):
            return prefix
    return ".text"


def init_priority(name):
    """SORT_BY_INIT_PRIORITY: .init_array.N / .ctors.N sort by N (ctors reversed); plain last."""
    tail = name.rsplit(".", 1)[-1]
    if not tail.isdigit() or name.count(".") < 2:
        return 65536
    prio = int(tail)
    if name.startswith(".ctors") or name.startswith(".dtors"):
        prio = 65535 - prio
    return prio


# -- SHF_MERGE pieces ---------------------------------------------------------

class MergedSection:
    """The deduplicated pieces of every SHF_MERGE input section with one
    (output, flags, entsize): one chunk in the output section."""
    __slots__ = ("name", "type", "flags", "align", "entsize", "pieces", "size", "output",
                 "out_offset", "inputs", "data")
    is_input = False      # linker-made: its pieces come from many input sections
    file = None

    def __init__(self, name, flags, entsize):
        self.name, self.type, self.flags, self.entsize = name, SHT_PROGBITS, flags, entsize
        self.align = 1
        self.pieces = {}          # piece bytes -> offset in this section
        self.size = 0
        self.output = None
        self.out_offset = 0
        self.inputs = []
        self.data = None

    def add(self, sec):
        """Split one input section into pieces and map each to its deduplicated copy."""
        raw = sec.bytes()
        es = max(sec.entsize, 1)
        if es > 4096 or (sec.flags & SHF_STRINGS and es not in (1, 2, 4)):
            raise LinkError(f"{sec.where()}: bad entry size {es} for a mergeable section")
        if sec.flags & SHF_STRINGS:
            if es == 1:
                ends = np.flatnonzero(raw == 0)
            else:
                units = raw[: len(raw) // es * es].reshape(-1, es)
                ends = np.flatnonzero(~units.any(axis=1)) * es + (es - 1)
            if len(raw) and (len(ends) == 0 or ends[-1] != len(raw) - 1):
                raise LinkError(f"{sec.where()}: string in a mergeable string section is not terminated")
            starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
            stops = ends + 1
        else:
            if len(raw) % es:
                raise LinkError(f"{sec.where()}: size {len(raw)} is not a multiple of entry size {es}")
            starts = np.arange(0, len(raw), es, dtype=np.int64)
            stops = starts + es
        self.align = max(self.align, sec.align)
        data = raw.tobytes()
        setdefault = self.pieces.setdefault
        size = self.size
        align_mask = sec.align - 1
        offs = []
        append = offs.append
        # a new piece gets the (aligned) end as its offset; every known piece lies
        # below the end, so `off == at` tells a new piece from a known one
        for piece in [data[a:b] for a, b in zip(starts.tolist(), stops.tolist())]:
            at = (size + align_mask) & ~align_mask
            off = setdefault(piece, at)
            if off == at:
                size = at + len(piece)
            append(off)
        self.size = size
        sec.merge = (starts, np.array(offs, np.int64))
        sec.output = self
        self.inputs.append(sec)

    def finish(self):
        # pieces were given offsets in insertion order: without alignment padding
        # the section is just their concatenation
        joined = b"".join(self.pieces)
        if len(joined) == self.size:
            self.data = np.frombuffer(bytearray(joined), np.uint8)
            return
        buf = np.zeros(self.size, np.uint8)
        for piece, off in self.pieces.items():
            buf[off:off + len(piece)] = np.frombuffer(piece, np.uint8)
        self.data = buf

    def bytes(self):
        return self.data
