"""`.eh_frame_hdr`: the binary-search table of (initial location, FDE address)
that unwinders find through PT_GNU_EH_FRAME."""
import struct
import sys

import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import SHF_ALLOC
from ldpy.synthetic import Synthetic
from ldpy.util import unique
from ldpy.elf.eh_frame import fde_pointer_encoding

DW_EH_PE_pcrel_sdata4 = 0x1b
DW_EH_PE_udata4 = 0x03
DW_EH_PE_datarel_sdata4 = 0x3b


_FMT = {0x00: "Q", 0x02: "H", 0x03: "I", 0x04: "Q", 0x0a: "h", 0x0b: "i", 0x0c: "q"}


class EhFrameHdr(Synthetic):
    def __init__(self, word=8, little=True):
        super().__init__(".eh_frame_hdr", flags=SHF_ALLOC, align=4)
        self.fde_count = 0
        self.word = word
        self.order = "<" if little else ">"

    def set_count(self, n):
        self.fde_count = n
        self.size = 12 + 8 * n

    def build(self, eh_data, eh_addr):
        """Build the table from the final (relocated) .eh_frame bytes."""
        data = bytes(eh_data)
        # (the array walk reads little-endian words; big-endian images go record by record)
        found = _fde_table_aligned(data, eh_addr, self.word) if self.order == "<" else None
        locs, fdes = found if found is not None else _fde_table(data, eh_addr, self.word, self.order)
        hdr_addr = self.addr
        n = len(locs)
        table = np.empty((n, 2), np.int64)
        table[:, 0] = np.asarray(locs, np.uint64).astype(np.int64) - hdr_addr
        table[:, 1] = np.asarray(fdes, np.int64) - hdr_addr
        table = table[np.argsort(table[:, 0], kind="stable")]
        head = struct.pack(self.order + "BBBBiI", 1, DW_EH_PE_pcrel_sdata4, DW_EH_PE_udata4,
                           DW_EH_PE_datarel_sdata4, eh_addr - (hdr_addr + 4), n)
        body = table.astype(self.order + "i4").tobytes()
        buf = np.frombuffer(head + body, np.uint8)
        self.data = np.concatenate([buf, np.zeros(self.size - len(buf), np.uint8)]) \
            if len(buf) < self.size else buf[:self.size]


def _fde_table(data, eh_addr, word, order="<"):
    """(initial locations, FDE addresses) of .eh_frame, one record at a time."""
    encodings = {}
    locs, fdes = [], []
    pos, end = 0, len(data)
    while pos + 8 <= end:
        length = struct.unpack_from(order + "I", data, pos)[0]
        if length == 0:
            pos += 4
            continue
        cie_ptr = struct.unpack_from(order + "I", data, pos + 4)[0]
        if cie_ptr != 0:
            cie = pos + 4 - cie_ptr
            enc = encodings.get(cie)
            if enc is None:
                enc = encodings[cie] = fde_pointer_encoding(data, cie, "<output>:(.eh_frame)", word)
            fmt = ("I" if word == 4 else "Q") if enc & 0x0f == 0 else _FMT.get(enc & 0x0f)
            if fmt is None:
                raise LinkError(f".eh_frame: unsupported FDE pointer encoding {enc:#x}")
            v = struct.unpack_from(order + fmt, data, pos + 8)[0]
            if enc & 0x70 == 0x10:
                v += eh_addr + pos + 8
            locs.append(v & 0xffffffffffffffff)
            fdes.append(eh_addr + pos)
        pos += 4 + length
    return locs, fdes


def _fde_table_aligned(data, eh_addr, word):
    """_fde_table for the usual .eh_frame, whose records all have lengths that are
    multiples of 4: only the walk from record to record is a Python loop (over a
    list of words); CIE pointers and initial locations are read as whole arrays.
    None when the section is not of that kind (the caller walks it byte-wise)."""
    n4 = len(data) // 4
    if len(data) % 4 or n4 < 2:
        return None
    if sys.byteorder != "little":
        return None
    w = np.frombuffer(data, "<u4", n4)
    lengths = memoryview(data).cast("I")         # (indexed one record at a time: no list of all words)
    starts, i, last = [], 0, n4 - 1
    append = starts.append
    while i < last:                     # (a record needs its length and CIE pointer words)
        append(i)
        i += 1 + (lengths[i] >> 2)
    at = np.array(starts, np.int64)
    if (w[at] & 3).any():
        return None
    at = at[w[at] != 0]                 # (zero words: terminators, skipped)
    cie_ptr = w[at + 1].astype(np.int64)
    fde = at[cie_ptr != 0]
    pos = fde * 4
    cie = pos + 4 - cie_ptr[cie_ptr != 0]
    distinct, which = np.unique(cie, return_inverse=True)
    encs, by_contents = [], {}          # (most objects' CIEs are byte-identical)
    try:
        for c in distinct.tolist():
            body = data[c:c + 4 + lengths[c >> 2]] if c >= 0 and not c & 3 else None
            enc = by_contents.get(body)
            if enc is None:
                enc = fde_pointer_encoding(data, c, "<output>:(.eh_frame)", word)
                if body is not None:
                    by_contents[body] = enc
            encs.append(enc)
    except Exception:                   # (a broken CIE: the byte-wise walk reports it in order)
        return None
    enc = np.array(encs, np.int64)[which] if len(encs) else np.zeros(0, np.int64)
    form = np.where(enc & 0x0f == 0, 0x03 if word == 4 else 0x04, enc & 0x0f)
    values = np.zeros(len(fde), np.uint64)
    for f in unique(form).tolist():
        m = form == f
        k = fde[m] + 2                  # (the word after the CIE pointer: pc_begin)
        if f in (0x04, 0x0c):           # 8 bytes
            if len(k) and int(k.max()) + 1 >= n4:
                return None
            values[m] = w[k].astype(np.uint64) | (w[k + 1].astype(np.uint64) << np.uint64(32))
            continue
        if len(k) and int(k.max()) >= n4:
            return None
        if f == 0x03:
            values[m] = w[k].astype(np.uint64)
        elif f == 0x0b:
            values[m] = w[k].view(np.int32).astype(np.int64).astype(np.uint64)
        elif f == 0x02:
            values[m] = (w[k] & 0xffff).astype(np.uint64)
        elif f == 0x0a:
            values[m] = (w[k] & 0xffff).astype(np.uint16).view(np.int16).astype(np.int64).astype(np.uint64)
        else:
            return None                 # (the byte-wise walk reports it)
    pcrel = (enc & 0x70) == 0x10
    values[pcrel] += (pos[pcrel] + 8 + eh_addr).astype(np.uint64)
    return values, pos + eh_addr
