"""Static-link IFUNC support: .plt (iplt) entries, their .got.plt slots and the
IRELATIVE relocations in .rela.plt that glibc's static startup applies
(between __rela_iplt_start and __rela_iplt_end)."""
import numpy as np

from ldpy.elf.format import SHT_RELA, SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_INFO_LINK
from ldpy.synthetic import KeyedTable, Synthetic


class IpltSection(KeyedTable):
    def __init__(self, target):
        super().__init__(".plt", target.PLT_ENTRY_SIZE, flags=SHF_ALLOC | SHF_EXECINSTR, align=16)
        self.target = target
        self.resolvers = None      # real (resolver) address per entry, filled while relocating

    def freeze(self):
        super().freeze()
        self.resolvers = np.zeros(len(self.keys), np.int64)
        return self

    def record_resolvers(self, keys, addrs):
        self.resolvers[self.index_of(keys)] = addrs


class GotPltSection(Synthetic):
    """.got.plt: three reserved words (for the dynamic loader), then one slot per iplt entry."""
    RESERVED = 3

    def __init__(self, iplt):
        super().__init__(".got.plt", flags=SHF_ALLOC | SHF_WRITE, align=8)
        self.iplt = iplt

    def freeze(self):
        self.size = 8 * (self.RESERVED + len(self.iplt))
        return self

    def slot_addr(self, i):
        return self.addr + 8 * (self.RESERVED + i)

    def bytes(self):
        words = np.zeros(self.RESERVED + len(self.iplt), np.int64)
        words[self.RESERVED:] = self.iplt.resolvers
        return words.astype("<i8").view(np.uint8)


class RelaIpltSection(Synthetic):
    def __init__(self, iplt, gotplt, irelative_type):
        super().__init__(".rela.plt", type_=SHT_RELA, flags=SHF_ALLOC | SHF_INFO_LINK, align=8, entsize=24)
        self.iplt, self.gotplt, self.irelative = iplt, gotplt, irelative_type

    def freeze(self):
        self.size = 24 * len(self.iplt)
        return self

    def bytes(self):
        n = len(self.iplt)
        rela = np.zeros(n, [("r_offset", "<u8"), ("r_info", "<u8"), ("r_addend", "<i8")])
        rela["r_offset"] = self.gotplt.addr + 8 * (GotPltSection.RESERVED + np.arange(n))
        rela["r_info"] = self.irelative
        rela["r_addend"] = self.iplt.resolvers
        return rela.view(np.uint8)


def write_iplt_entries(iplt, gotplt, target):
    out = bytearray()
    for i in range(len(iplt)):
        out += target.plt_entry(gotplt.slot_addr(i), iplt.addr + i * iplt.entry_size)
    return np.frombuffer(bytes(out), np.uint8)
