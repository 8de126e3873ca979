"""PLT and .got.plt.

Static executables: .plt holds one IPLT entry per IFUNC, each jumping through
a .got.plt slot that glibc's startup fills from the IRELATIVE relocations in
.rela.plt (between __rela_iplt_start and __rela_iplt_end).

Dynamic executables: .plt is the lazy PLT (PLT0, then one entry per imported
function with a JUMP_SLOT relocation), followed by the IPLT entries of local
IFUNCs; .rela.plt holds the JUMP_SLOTs, then the IRELATIVEs."""
import numpy as np

from ldpy.util import isin
from ldpy.elf.format import RELOC, reloc_info, SHT_RELA, SHT_REL, SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_INFO_LINK
from ldpy.synthetic import KeyedTable, Synthetic


class IpltSection(KeyedTable):
    """Local IFUNCs referenced by relocations; their entries live in .plt."""

    def __init__(self, target):
        super().__init__(target.PLT_SECTION, target.PLT_ENTRY_SIZE, flags=SHF_ALLOC | SHF_EXECINSTR, align=16)
        self.target = target
        self.resolvers = None      # real (resolver) address per entry, filled while relocating
        self.host = None           # the PltSection when the output is dynamic

    def freeze(self):
        super().freeze()
        self.resolvers = np.zeros(len(self.keys), np.int64)
        return self

    def base(self):
        """Address of the first IPLT entry."""
        if self.host is not None:
            if self.host.ibt:           # (after the lazy functions' .plt.sec entries)
                return self.host.sec.addr + self.entry_size * len(self.host.imports)
            return self.host.addr + self.host.header_size + self.entry_size * len(self.host.imports)
        return self.addr

    def entry_addresses(self, keys):
        return self.base() + self.entry_size * self.index_of(keys)

    def record_resolvers(self, keys, addrs):
        self.resolvers[self.index_of(keys)] = addrs


class PltSection(KeyedTable):
    """Imported functions called through the lazy PLT, keyed by symbol id."""

    def __init__(self, target):
        super().__init__(target.PLT_SECTION, target.PLT_ENTRY_SIZE, flags=SHF_ALLOC | SHF_EXECINSTR, align=16)
        self.target = target
        self.header_size = target.PLT_HEADER_SIZE       # PLT0
        self.options = {}          # the target's template options (plt_setup: BTI, PAC)
        self.iplt = None
        self.imports = []          # Symbols, in entry order
        self.ibt = False           # IBT layout: lazy entries here, the called ones in .plt.sec
        self.sec = Synthetic(".plt.sec", flags=SHF_ALLOC | SHF_EXECINSTR, align=16, entsize=16)
        # .plt.got: functions called through the PLT that have a .got slot too
        # (GLOB_DAT): their entry jumps through that slot, no JUMP_SLOT (ld.bfd)
        self.got_entries = KeyedTable(".plt.got", 8, flags=SHF_ALLOC | SHF_EXECINSTR, align=8)

    def split_plt_got(self, got_keys, canonical):
        """Move the functions that have a .got slot (and need no canonical
        entry) from the lazy PLT to .plt.got."""
        self.freeze()
        both = isin(self.keys, got_keys) & ~canonical[self.keys]
        if both.any():
            self.got_entries.add(self.keys[both])
            self.keys = self.keys[~both]
        self.got_entries.freeze()

    def freeze_with(self, symbols, iplt, tlsdesc=0, ibt=False):
        """tlsdesc: 0 without TLS descriptors, 1 with descriptors bound at load
        time (PLT0 only, as ld.bfd keeps it), 2 with lazy ones (PLT0 and the
        TLSDESC entry last)."""
        self.freeze()
        self.imports = [symbols[k] for k in self.keys.tolist()]
        self.iplt = iplt
        iplt.host = self
        self.ibt = ibt
        n = len(self.keys) + len(iplt)
        self.tlsdesc_entry = tlsdesc == 2
        g = self.got_entries
        g.entry_size = g.align = g.entsize = 16 if ibt else 8
        g.freeze()
        # (PLT0 is there too when only .plt.got has entries, as ld.bfd leaves it)
        plt0 = bool(n or tlsdesc or len(g))
        if ibt:
            self.size = self.entry_size * (1 + len(self.keys) + self.tlsdesc_entry) if plt0 else 0
            self.sec.size = self.entry_size * n
        else:
            self.size = self.header_size + self.entry_size * n + self.target.plt_tail_size(n) + \
                self.target.TLSDESC_PLT_SIZE * self.tlsdesc_entry if plt0 else 0
        return self

    def tlsdesc_entry_addr(self):
        return self.addr + self.size - (self.entry_size if self.ibt else self.target.TLSDESC_PLT_SIZE)

    def call_keys(self):
        """Every imported function called through a PLT entry (.plt or .plt.got)."""
        return np.concatenate([self.keys, self.got_entries.keys])

    def entry_addresses(self, keys):
        keys = np.asarray(keys, np.int64)
        addr = np.zeros(len(keys), np.int64)
        if len(self.keys):
            if self.ibt:
                addr = self.sec.addr + self.entry_size * self.index_of(keys)
            else:
                addr = self.addr + self.header_size + self.entry_size * self.index_of(keys)
        g = self.got_entries
        if len(g):
            in_got = isin(keys, g.keys)
            if in_got.any():
                addr = np.where(in_got, g.addr + g.entry_size * g.index_of(keys), addr)
        return addr


class GotPltSection(Synthetic):
    """.got.plt: three reserved words (GOT[0] = _DYNAMIC), then one slot per lazy
    PLT entry, then one per IPLT entry."""
    RESERVED = 3

    def __init__(self, iplt, plt=None, tlsdesc=None, word=8, target=None):
        super().__init__(target.GOTPLT_SECTION if target else ".got.plt", flags=SHF_ALLOC | SHF_WRITE,
                         align=word)
        self.word = word
        self.little = target.LITTLE if target else True
        if target is not None:
            self.RESERVED = target.GOTPLT_RESERVED
        # .got.plt[0]: None for _DYNAMIC, else this value (Target.GOTPLT_FIRST)
        self.first = target.GOTPLT_FIRST if target is not None else None
        self.iplt = iplt
        self.plt = plt
        self.tlsdesc = tlsdesc     # KeyedTable of TLS descriptors (two words each), after the slots
        self.dynamic_addr = 0

    @property
    def n_desc(self):
        return len(self.tlsdesc) if self.tlsdesc is not None else 0

    def desc_addresses(self, keys):
        """Address of the TLS descriptor of each key."""
        base = self.addr + self.word * (self.RESERVED + self.n_lazy + len(self.iplt))
        return base + 2 * self.word * self.tlsdesc.index_of(keys)

    @property
    def n_lazy(self):
        return len(self.plt.keys) if self.plt is not None else 0

    def freeze(self):
        self.size = self.word * (self.RESERVED + self.n_lazy + len(self.iplt)) + 2 * self.word * self.n_desc
        return self

    def slot_addr(self, i):
        return self.addr + self.word * (self.RESERVED + i)

    def slot_addresses(self):
        return self.addr + self.word * (self.RESERVED + np.arange(self.n_lazy + len(self.iplt)))

    def bytes(self):
        r = self.RESERVED
        words = np.zeros(r + self.n_lazy + len(self.iplt), np.int64)
        if r:
            words[0] = self.dynamic_addr if self.first is None else self.first
        if self.n_lazy:
            # each slot starts at its PLT entry's push, for lazy binding
            words[r:r + self.n_lazy] = self.plt.target.gotplt_lazy_values(self.plt, self.n_lazy)
        words[r + self.n_lazy:] = self.iplt.resolvers
        desc = np.zeros(2 * self.word * self.n_desc, np.uint8)       # the loader fills the descriptors
        order = "<" if self.little else ">"
        return np.concatenate([words.astype(f"{order}i{self.word}").view(np.uint8), desc])


class RelaPltSection(Synthetic):
    """.rela.plt: JUMP_SLOTs of the lazy entries, then IRELATIVEs of the IPLT."""
    DTYPE = RELOC          # (rows in the in-memory layout; see elf/format.py)

    def __init__(self, gotplt, target, with_iplt=True):
        super().__init__(".rela.plt" if target.RELA else ".rel.plt", type_=SHT_RELA if target.RELA else SHT_REL,
                         flags=SHF_ALLOC | SHF_INFO_LINK, align=target.WORD, entsize=target.dynrel_size)
        self.gotplt = gotplt
        self.target = target
        self.jump_slot, self.irelative = target.R_JUMP_SLOT, target.R_IRELATIVE
        self.dynsym_index = None   # function: symbol ids -> .dynsym indexes
        self.tlsdesc_rows = None   # function: () -> (r_info, r_addend) of each TLS descriptor
        self.with_iplt = with_iplt  # the IRELATIVEs of the IPLT slots here (else in .rela.dyn)

    def freeze(self):
        n_i = len(self.gotplt.iplt) if self.with_iplt else 0
        self.size = self.entsize * (self.gotplt.n_lazy + n_i + self.gotplt.n_desc)
        return self

    def irelative_rows(self):
        """(offsets, r_info, addends) of the IPLT slots' IRELATIVEs."""
        g = self.gotplt
        n_i = len(g.iplt)
        return (g.slot_addresses()[g.n_lazy:], np.full(n_i, self.irelative, np.int64), g.iplt.resolvers)

    def bytes(self):
        g = self.gotplt
        n_lazy, n_i = g.n_lazy, len(g.iplt) if self.with_iplt else 0
        n_d = g.n_desc
        rela = np.zeros(n_lazy + n_i + n_d, self.DTYPE)
        rela["r_offset"][:n_lazy + n_i] = g.slot_addresses()[:n_lazy + n_i]
        if n_lazy:
            idx = self.dynsym_index(g.plt.keys)
            rela["r_info"][:n_lazy] = reloc_info(idx, self.jump_slot)
        if n_i:
            rela["r_info"][n_lazy:n_lazy + n_i] = self.irelative
            rela["r_addend"][n_lazy:n_lazy + n_i] = g.iplt.resolvers
        if n_d:
            # TLS descriptors (the target's TLSDESC), after the jump table as in ld.bfd
            rela["r_offset"][n_lazy + n_i:] = g.desc_addresses(g.tlsdesc.keys)
            info, addend = self.tlsdesc_rows()
            rela["r_info"][n_lazy + n_i:] = info
            rela["r_addend"][n_lazy + n_i:] = addend
        self.rows = rela
        return self.target.dynrel_bytes(rela)


def iplt_code(iplt, gotplt, target, ibt=False, pic=False):
    """Static IPLT entries: jmp *slot(%rip) (with IBT: endbr64 first)."""
    if ibt:
        n = len(iplt)
        return target.plt_indirect(iplt.addr + iplt.entry_size * np.arange(n),
                                   gotplt.addr + gotplt.word * (gotplt.RESERVED + np.arange(n)))
    out = bytearray()
    for i in range(len(iplt)):
        out += target.plt_entry(gotplt.slot_addr(i), iplt.addr + i * iplt.entry_size,
                                gotplt_addr=gotplt.addr, pic=pic)
    return np.frombuffer(bytes(out), np.uint8)
