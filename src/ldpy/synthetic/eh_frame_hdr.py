"""`.eh_frame_hdr`: the binary-search table of (initial location, FDE address)
that unwinders find through PT_GNU_EH_FRAME."""
import struct

import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import SHF_ALLOC
from ldpy.synthetic import Synthetic
from ldpy.elf.eh_frame import fde_pointer_encoding

DW_EH_PE_pcrel_sdata4 = 0x1b
DW_EH_PE_udata4 = 0x03
DW_EH_PE_datarel_sdata4 = 0x3b


_FMT = {0x00: "Q", 0x02: "H", 0x03: "I", 0x04: "Q", 0x0a: "h", 0x0b: "i", 0x0c: "q"}


class EhFrameHdr(Synthetic):
    def __init__(self, word=8):
        super().__init__(".eh_frame_hdr", flags=SHF_ALLOC, align=4)
        self.fde_count = 0
        self.word = word

    def set_count(self, n):
        self.fde_count = n
        self.size = 12 + 8 * n

    def build(self, eh_data, eh_addr):
        """Build the table from the final (relocated) .eh_frame bytes."""
        data = bytes(eh_data)
        encodings = {}
        locs, fdes = [], []
        pos, end = 0, len(data)
        while pos + 8 <= end:
            length = struct.unpack_from("<I", data, pos)[0]
            if length == 0:
                pos += 4
                continue
            cie_ptr = struct.unpack_from("<I", data, pos + 4)[0]
            if cie_ptr != 0:
                cie = pos + 4 - cie_ptr
                enc = encodings.get(cie)
                if enc is None:
                    enc = encodings[cie] = fde_pointer_encoding(data, cie, "<output>:(.eh_frame)", self.word)
                fmt = ("I" if self.word == 4 else "Q") if enc & 0x0f == 0 else _FMT.get(enc & 0x0f)
                if fmt is None:
                    raise LinkError(f".eh_frame: unsupported FDE pointer encoding {enc:#x}")
                v = struct.unpack_from("<" + fmt, data, pos + 8)[0]
                if enc & 0x70 == 0x10:
                    v += eh_addr + pos + 8
                locs.append(v & 0xffffffffffffffff)
                fdes.append(eh_addr + pos)
            pos += 4 + length
        hdr_addr = self.addr
        n = len(locs)
        table = np.empty((n, 2), np.int64)
        table[:, 0] = np.array(locs, np.uint64).astype(np.int64) - hdr_addr
        table[:, 1] = np.array(fdes, np.int64) - hdr_addr
        table = table[np.argsort(table[:, 0], kind="stable")]
        head = struct.pack("<BBBBiI", 1, DW_EH_PE_pcrel_sdata4, DW_EH_PE_udata4,
                           DW_EH_PE_datarel_sdata4, eh_addr - (hdr_addr + 4), n)
        body = table.astype("<i4").tobytes()
        buf = np.frombuffer(head + body, np.uint8)
        self.data = np.concatenate([buf, np.zeros(self.size - len(buf), np.uint8)]) \
            if len(buf) < self.size else buf[:self.size]
