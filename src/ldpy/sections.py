"""Output sections, the name rules a script's placement uses (init priorities,
-z keep-text-section-prefix), and SHF_MERGE string sections split into pieces.
Where input sections go is the script's business (script/place.py: ldpy's
default script or the user's).
"""
import re

import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import (SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_TLS, SHF_STRINGS, SHF_MERGE, SHT_NOBITS,
                             SHT_PROGBITS)

_C_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_c_identifier(name):
    return bool(_C_IDENT.match(name))


class OutputSection:
    __slots__ = ("name", "type", "flags", "align", "chunks", "addr", "offset", "size",
                 "index", "entsize", "link", "info", "order")

    def __init__(self, name, type_, flags, order):
        self.name = name
        self.type = type_
        self.flags = flags
        self.align = 1
        self.chunks = []
        self.addr = 0
        self.offset = 0
        self.size = 0
        self.index = 0
        self.order = order
        self.entsize = 0
        self.link = 0
        self.info = 0

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

def split_pieces(sec):
    """(piece starts, piece bytes) of a mergeable input section."""
    raw = sec.bytes()
    es = max(sec.entsize, 1)
    if es > 4096 or (sec.flags & SHF_STRINGS and es not in (1, 2, 4)):
        raise LinkError(f"{sec.where()}: bad entry size {es} for a mergeable section")
    data = raw.tobytes()
    if sec.flags & SHF_STRINGS and es == 1:
        # (C strings, by far the most: bytes.split does the cutting, where numpy's
        # steps cost more than the work for the few strings of most sections)
        # (a last string without its NUL gets one, as ld.bfd's merge gives it)
        pieces = [p + b"\0" for p in data.split(b"\0")]
        if not data or data[-1] == 0:
            pieces.pop()
        lens = np.fromiter(map(len, pieces), np.int64, len(pieces))
        return np.cumsum(lens) - lens, pieces
    if sec.flags & SHF_STRINGS:         # (strings of 2- or 4-byte units)
        units = raw[: len(raw) // es * es].reshape(-1, es)
        ends = np.flatnonzero(~units.any(axis=1)) * es + (es - 1)
        if len(raw) and (len(ends) == 0 or ends[-1] != len(raw) - 1):
            raise LinkError(f"{sec.where()}: string in a mergeable string section is not terminated")
        stops = ends + 1
        starts = np.concatenate(([0], stops[:-1])).astype(np.int64)[:len(stops)]
    else:
        if len(raw) % es:
            raise LinkError(f"{sec.where()}: size {len(raw)} is not a multiple of entry size {es}")
        starts = np.arange(0, len(raw), es, dtype=np.int64)
        stops = starts + es
    return starts, [data[a:b] for a, b in zip(starts.tolist(), stops.tolist())]


def split_held(f):
    """A link server's object (input/warm.py): its mergeable sections split once, for
    every link that takes it (MergedSection.add; 2-7 ms of a served static link);
    {section index: (piece starts, piece bytes)}."""
    pieces = {}
    for sec in f.sections:
        if sec is not None and sec.is_input and sec.flags & SHF_MERGE and sec.entsize and \
                not sec.flags & SHF_WRITE and sec.data is None:
            try:
                pieces[sec.index] = split_pieces(sec)
            except LinkError:
                pass                    # (the link that uses it reports it)
    return pieces


class MergedSection:
    """The deduplicated pieces of every SHF_MERGE input section with one
    (output, flags, entsize): one chunk in the output section."""
    __slots__ = ("name", "type", "flags", "align", "entsize", "size", "output",
                 "out_offset", "inputs", "data")
    is_input = False      # linker-made: its pieces come from many input sections
    file = None

    def __init__(self, name, flags, entsize):
        self.name, self.type, self.flags, self.entsize = name, SHT_PROGBITS, flags, entsize
        self.align = 1
        self.size = 0
        self.output = None
        self.out_offset = 0
        self.inputs = []
        self.data = None

    def add(self, sec):
        """Split one input section into pieces (finish() deduplicates them and gives
        every input offset its piece's place)."""
        held = sec.file.merge_pieces if sec.is_input and sec.data is None else None
        pieces = held.get(sec.index) if held else None      # (a link server's: split_held)
        self.align = max(self.align, sec.align)
        sec.merge = pieces if pieces is not None else split_pieces(sec)
        sec.output = self
        self.inputs.append(sec)

    def finish(self):
        """Deduplicate the pieces of every input, in input order: a piece's first copy
        is placed at the (input section's alignment) end of the pieces before it; each
        input's `merge` becomes (piece starts, piece offsets in this section)."""
        inputs = self.inputs
        pieces = [p for sec in inputs for p in sec.merge[1]]
        n = len(pieces)
        # every piece's first index (of the reversed writes, the earliest stays)
        first_of = dict(zip(reversed(pieces), range(n - 1, -1, -1)))
        first = np.array(sorted(first_of.values()), np.int64)
        unique = list(map(pieces.__getitem__, first.tolist()))
        lens = np.fromiter(map(len, unique), np.int64, len(unique))
        align = np.repeat(np.array([sec.align for sec in inputs], np.int64),
                          [len(sec.merge[0]) for sec in inputs])[first]
        # the places of the unique pieces, a run of one alignment at a time (llvm-big's
        # 64k strings of 1645 inputs are 24 runs): in a run each piece starts at the
        # aligned end of the one before, an exclusive sum of the aligned lengths
        cuts = (np.flatnonzero(align[1:] != align[:-1]) + 1).tolist()
        if len(cuts) * 64 > len(unique):
            # (many short runs: libc's string inputs alternate alignments, 2375
            # strings in 173 runs; one step per piece is cheaper than per run)
            places, size = [], 0
            for length, a in zip(lens.tolist(), align.tolist()):
                size = (size + a - 1) & -a
                places.append(size)
                size += length
            at = np.array(places, np.int64)
        else:
            at = np.zeros(len(unique), np.int64)
            size = 0
            for a, b in zip([0] + cuts, cuts + [len(unique)]):
                if a == b:
                    continue
                mask = int(align[a]) - 1
                base = (size + mask) & ~mask
                padded = (lens[a:b] + mask) & ~mask
                ends = np.cumsum(padded)
                at[a:b] = base + ends - padded
                size = int(at[b - 1] + lens[b - 1])
        self.size = size
        # every input piece's offset: its first copy's
        rank = np.searchsorted(first, np.fromiter(map(first_of.__getitem__, pieces), np.int64, n))
        offsets = at[rank]
        k = 0
        for sec in inputs:
            starts = sec.merge[0]
            sec.merge = (starts, offsets[k:k + len(starts)])
            k += len(starts)
        joined = np.frombuffer(b"".join(unique), np.uint8)
        if len(joined) == size:
            self.data = joined.copy()
            return
        # alignment padding: zeros between the pieces; the pieces, in order and apart,
        # go where a running count of piece starts (+1) and ends (-1) is positive
        self.data = np.zeros(size, np.uint8)
        edge = np.zeros(size + 1, np.int8)
        edge[at] = 1
        edge[at + lens] -= 1
        self.data[np.cumsum(edge[:-1], dtype=np.int8) > 0] = joined

    def bytes(self):
        return self.data
