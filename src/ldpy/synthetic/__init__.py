"""Sections the linker makes itself: GOT, (i)PLT, notes, eh_frame_hdr, symbol tables."""
import numpy as np

from ldpy.util import unique

from ldpy.elf.format import SHT_PROGBITS, SHT_NOBITS, SHF_ALLOC, SHF_WRITE


class Synthetic:
    """A chunk of an output section whose bytes the linker produces."""
    is_input = False      # (InputSection's is True: the way passes tell the two apart)
    file = None           # no input file made it
    def __init__(self, name, type_=SHT_PROGBITS, flags=SHF_ALLOC, align=8, entsize=0):
        self.name = name
        self.type = type_
        self.flags = flags
        self.align = align
        self.entsize = entsize
        self.size = 0
        self.output = None
        self.out_offset = 0
        self.data = None

    @property
    def addr(self):
        return self.output.addr + self.out_offset

    def bytes(self):
        if self.data is None:
            return np.zeros(self.size if self.type != SHT_NOBITS else 0, np.uint8)
        return self.data

    def where(self, offset=None):
        return f"<linker>:({self.name})"

    def __repr__(self):
        return f"<Synthetic {self.name} size={self.size:#x}>"


def insert_after(chunk, new, before=False):
    """Place the linker-made chunk `new` right after `chunk` in its output section
    (range-extension stubs after the code that branches to them), or right before
    it (PowerPC's PLT unwind info ahead of the inputs' .eh_frame)."""
    o = chunk.output
    new.output = o
    o.chunks.insert(o.chunks.index(chunk) + (0 if before else 1), new)
    # under a SECTIONS script, chunks are placed from their input section
    # description's list: the new one goes there too
    for lst in getattr(o, "desc_chunks", {}).values():
        if any(c is chunk for c in lst):
            lst.insert(next(i for i, c in enumerate(lst) if c is chunk) + (0 if before else 1), new)
            break


class KeyedTable(Synthetic):
    """A table of fixed-size slots, one per symbol key (GOT, IPLT): keys are
    collected during the relocation scan, then frozen into a sorted array so
    that slot lookup is one searchsorted over whole relocation tables."""
    def __init__(self, name, entry_size, **kw):
        super().__init__(name, **kw)
        self.entry_size = entry_size
        self._pending = []
        self.keys = np.zeros(0, np.int64)
        self.reserved = 0          # leading reserved slots
        self.trailer = 0           # words after the slots (PowerPC's GOT header)
        self.trailer_after = None  # at most this many slots before the trailer, the rest after it

    def add(self, keys):
        self._pending.append(np.asarray(keys, np.int64))

    def freeze(self):
        if self._pending:
            self.keys = unique(np.concatenate([self.keys] + self._pending))
            self._pending = []
        self.size = (self.reserved + len(self.keys) + self.trailer) * self.entry_size
        return self

    def __len__(self):
        return len(self.keys)

    def index_of(self, keys):
        i = np.searchsorted(self.keys, keys)
        if self.trailer and self.trailer_after is not None and len(self.keys) > self.trailer_after:
            i = np.where(i >= self.trailer_after, i + self.trailer, i)
        return i + self.reserved

    def slot_addresses(self, keys):
        return self.addr + self.entry_size * self.index_of(keys)


class GotSection(KeyedTable):
    """.got: one 8-byte address per symbol whose GOT reference was not relaxed."""
    def __init__(self, entry_size=8, little=True):
        super().__init__(".got", entry_size, flags=SHF_ALLOC | SHF_WRITE, align=entry_size)
        self.values = None
        self.little = little

    def freeze(self):
        super().freeze()
        self.values = np.zeros(self.reserved + len(self.keys) + self.trailer, np.int64)
        return self

    def fill(self, keys, values):
        self.values[self.index_of(keys)] = values

    def bytes(self):
        order = "<" if self.little else ">"
        return self.values.astype(f"{order}i{self.entry_size}").view(np.uint8)

    @property
    def trailer_index(self):
        """The word of the trailer's start (PowerPC's _GLOBAL_OFFSET_TABLE_): after the
        slots, or after the first `trailer_after` of them."""
        n = len(self.keys) if self.trailer_after is None else min(len(self.keys), self.trailer_after)
        return self.reserved + n

    @property
    def trailer_addr(self):
        return self.addr + self.entry_size * self.trailer_index
