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
                                                 ".gnu.version_r", ".relr.dyn"):
        return R_HEAD
    return R_DATA


_OUTPUT_NAME_CACHE = {}


def output_name(sec):
    """The output section an input section goes to under GNU ld's default script."""
    name = sec.name
    out = _OUTPUT_NAME_CACHE.get(name)
    if out is not None:
        return out
    out = _output_name(sec)
    if not (name.startswith(".ctors") or name.startswith(".dtors")):
        _OUTPUT_NAME_CACHE[name] = out
    return out


def _output_name(sec):
    name = sec.name
    for prefix, out in _PREFIX_RULES:
        if name.startswith(prefix) and (len(name) == len(prefix) or prefix.endswith(".")
                                        or name[len(prefix)] == "."):
            return out
    if name.startswith(".ctors") or name.startswith(".dtors"):
        base = sec.file.name.rsplit("/", 1)[-1]
        if not (base.startswith("crtbegin") or base.startswith("crtend")):
            return ".init_array" if name.startswith(".ctors") else ".fini_array"
        return name[:6]
    if name.startswith(".gnu.linkonce.wi."):
        return ".debug_info"
    return name


def input_sort_key(sec, out_name):
    """Order inside an output section: GNU ld's sub-ordering for .text and arrays."""
    name = sec.name
    if out_name == ".text":
        for prefix, rank in _TEXT_ORDER:
            if name.startswith(prefix):
                return (rank, "")
        return (5, "")
    if out_name in (".init_array", ".fini_array"):
        return (init_priority(name), "")
    return (0, "")


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
        pieces = self.pieces
        out = np.empty(len(starts), np.int64)
        size = self.size
        align_mask = sec.align - 1
        for i, (a, b) in enumerate(zip(starts.tolist(), stops.tolist())):
            piece = data[a:b]
            off = pieces.get(piece)
            if off is None:
                size = (size + align_mask) & ~align_mask
                off = pieces[piece] = size
                size += b - a
            out[i] = off
        self.size = size
        sec.merge = (starts, out)
        sec.output = self
        self.inputs.append(sec)

    def finish(self):
        buf = np.zeros(self.size, np.uint8)
        for piece, off in self.pieces.items():
            buf[off:off + len(piece)] = np.frombuffer(piece, np.uint8)
        self.data = buf

    def bytes(self):
        return self.data


# -- .eh_frame records ----------------------------------------------------------

def eh_frame_records(sec, data=None):
    """The records of an input .eh_frame: a list of (start, end, is_cie, cie_start);
    a zero terminator counts as a CIE, an FDE's cie_start is where its CIE begins."""
    if data is None:
        data = sec.bytes().tobytes()
    order = "little" if sec.file.little else "big"
    if len(data) % 4 == 0:
        fast = _eh_frame_records_words(data, order)
        if fast is not None:
            return fast
    records = []
    pos, end = 0, len(data)
    while pos + 4 <= end:
        length = int.from_bytes(data[pos:pos + 4], order)
        if length == 0:
            records.append((pos, pos + 4, True, -1))    # terminator: keep
            pos += 4
            continue
        if length == 0xffffffff:
            raise LinkError(f"{sec.where(pos)}: 64-bit DWARF .eh_frame records are not supported")
        rec_end = pos + 4 + length
        if rec_end > end or length < 4:
            raise LinkError(f"{sec.where(pos)}: corrupt .eh_frame record (length {length:#x})")
        cie_ptr = int.from_bytes(data[pos + 4:pos + 8], order)
        if cie_ptr == 0:
            records.append((pos, rec_end, True, -1))
        else:
            records.append((pos, rec_end, False, pos + 4 - cie_ptr))
        pos = rec_end
    return records


def _eh_frame_records_words(data, order):
    """eh_frame_records for the usual layout (every length a multiple of 4): the walk
    steps through a list of 32-bit words.  None when anything looks unusual; the
    byte walk then gives the precise error."""
    w = np.frombuffer(data, "<u4" if order == "little" else ">u4").tolist()
    n = len(w)
    records = []
    i = 0
    while i < n:
        length = w[i]
        if length == 0:
            records.append((4 * i, 4 * i + 4, True, -1))
            i += 1
            continue
        if length & 3 or length < 4 or length == 0xffffffff or i + 1 + (length >> 2) > n:
            return None
        cie = w[i + 1]
        nxt = i + 1 + (length >> 2)
        records.append((4 * i, 4 * nxt, cie == 0, -1 if cie == 0 else 4 * i + 4 - cie))
        i = nxt
    return records


def eh_record_arrays(records):
    """(starts, ends, is_cie, cie_starts) arrays of a records list (see eh_frame_records)."""
    if isinstance(records, tuple):
        return records
    n = len(records)
    cols = list(zip(*records)) if n else [(), (), (), ()]
    return (np.array(cols[0], np.int64), np.array(cols[1], np.int64), np.array(cols[2], bool),
            np.array(cols[3], np.int64))


def prune_eh_frame(sec, is_dead_target, records=None):
    """Drop the FDEs of discarded functions from an input .eh_frame.

    is_dead_target(reloc_indexes) -> bool array tells which pc_begin relocations
    point into a discarded section.  The section's bytes and relocations are
    rewritten with whole-array operations; CIE pointers of kept FDEs are fixed up.
    records: the section's records (a list from eh_frame_records, or its arrays),
    when already known.
    """
    raw = sec.bytes()
    rel = sec.relocs
    roffs = rel["r_offset"].astype(np.int64) if rel is not None else np.zeros(0, np.int64)
    if records is None:
        records = eh_frame_records(sec, raw.tobytes())      # (start, end, is_cie, cie_start)
    starts, ends, is_cie, cie_starts = eh_record_arrays(records)
    if not len(starts):
        return
    # which record each relocation belongs to; a relocation at FDE+8 is its pc_begin
    rec_of_rel = np.maximum(np.searchsorted(starts, roffs, side="right") - 1, 0)
    at_pc_begin = np.flatnonzero(roffs == starts[rec_of_rel] + 8)
    has_live_target = np.zeros(len(starts), bool)
    has_live_target[rec_of_rel[at_pc_begin[~is_dead_target(at_pc_begin)]]] = True
    keep = is_cie | has_live_target
    if keep.all():
        return
    k = np.flatnonzero(keep)
    sizes = ends[k] - starts[k]
    total = int(sizes.sum())
    new_start = np.full(len(starts), -1, np.int64)
    new_start[k] = np.cumsum(sizes) - sizes
    out = raw[np.repeat(starts[k] - new_start[k], sizes) + np.arange(total)]
    # each kept FDE's CIE pointer: the distance back to its CIE's new place
    fde = k[~is_cie[k]]
    ci = np.minimum(np.searchsorted(starts, cie_starts[fde]), len(starts) - 1)
    missing = (starts[ci] != cie_starts[fde]) | ~keep[ci]
    if missing.any():
        raise LinkError(f"{sec.where(int(starts[fde[np.argmax(missing)]]))}: .eh_frame FDE points to a missing CIE")
    ptr = (new_start[fde] + 4 - new_start[ci]).astype("<u4" if sec.file.little else ">u4")
    out[(new_start[fde] + 4)[:, None] + np.arange(4)] = ptr.view(np.uint8).reshape(-1, 4)
    sec.data = out
    sec.size = total
    if rel is not None:
        kept_rel = keep[rec_of_rel]
        rel = rel[kept_rel].copy()
        ri = rec_of_rel[kept_rel]
        old = rel["r_offset"].astype(np.int64)
        rel["r_offset"] = (old + new_start[ri] - starts[ri]).astype(rel["r_offset"].dtype)
        sec.relocs = rel
