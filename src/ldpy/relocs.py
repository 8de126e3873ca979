"""Target-independent relocation plumbing: per-file relocation tables with the
symbol address S, place P and output position of every entry, built with
whole-array numpy operations.  The arch module turns them into bytes.
"""
import numpy as np

from ldpy.elf.format import SHN_ABS, SHN_LORESERVE, STT_SECTION, STT_GNU_IFUNC, STT_TLS, SHT_NOBITS
from ldpy.sections import merge_offsets


class FileRelocs:
    """All relocations of one file's live sections, concatenated."""
    __slots__ = ("file", "offset", "sym", "type", "addend", "sec_ordinal", "sections", "P", "pos",
                 "alloc", "plan")

    def __init__(self, f, sections, is64):
        self.file = f
        self.sections = sections
        rels = [s.relocs for s in sections]
        rel = np.concatenate(rels) if len(rels) > 1 else rels[0]
        counts = np.fromiter((len(r) for r in rels), np.int64, len(rels))
        self.sec_ordinal = np.repeat(np.arange(len(rels)), counts)
        self.offset = rel["r_offset"].astype(np.int64)
        info = rel["r_info"]
        if is64:
            self.sym = (info >> np.uint64(32)).astype(np.int64)
            self.type = (info & np.uint64(0xffffffff)).astype(np.int64)
        else:
            self.sym = (info >> np.uint32(8)).astype(np.int64)
            self.type = (info & np.uint32(0xff)).astype(np.int64)
        self.addend = rel["r_addend"].astype(np.int64)
        self.alloc = np.fromiter((bool(s.output.flags & 2) for s in sections), bool, len(sections))[self.sec_ordinal]
        self.P = None
        self.pos = None
        self.plan = None

    def place(self):
        """Fill P (run-time address) and pos (output file offset) of every entry."""
        base_addr = np.fromiter((s.output.addr + s.out_offset for s in self.sections), np.int64,
                                len(self.sections))
        base_pos = np.fromiter((s.output.offset + s.out_offset for s in self.sections), np.int64,
                               len(self.sections))
        self.P = base_addr[self.sec_ordinal] + self.offset
        self.pos = base_pos[self.sec_ordinal] + self.offset


def gather(f, is64):
    secs = [s for s in f.sections if s is not None and s.live and s.relocs is not None
            and len(s.relocs) and s.output is not None and s.type != SHT_NOBITS]
    if not secs:
        return None
    return FileRelocs(f, secs, is64)


def chunk_addr(sec):
    """Run-time address of an input section (a merge input maps through its MergedSection)."""
    if sec.merge is not None:
        return sec.output.output.addr + sec.output.out_offset
    return sec.output.addr + sec.out_offset


def section_tables(f):
    """Per section index of f: start address, liveness, and whether it is a merge section."""
    n = len(f.sections)
    addr = np.zeros(n, np.int64)
    live = np.zeros(n, bool)
    merge = np.zeros(n, bool)
    for i, s in enumerate(f.sections):
        if s is not None and s.live and s.output is not None:
            live[i] = True
            addr[i] = chunk_addr(s)
            merge[i] = s.merge is not None
    return addr, live, merge


def local_addresses(f, addr, live, merge, ctx):
    """Addresses of f's local symbols (ifunc locals are fixed up by the caller)."""
    fg = f.first_global
    syms = f.symbols[:fg]
    shndx = f.shndx[:fg]
    value = syms["st_value"].astype(np.int64)
    in_sec = (shndx > 0) & (shndx < SHN_LORESERVE)
    idx = np.where(in_sec, shndx, 0)
    out = np.where(in_sec, addr[idx] + value, value)
    out[in_sec & ~live[idx]] = 0
    # non-section symbols inside merge sections: map their offset through the pieces
    mm = in_sec & merge[idx] & ((syms["st_info"] & 0xf) != STT_SECTION)
    if mm.any():
        for si in np.unique(idx[mm]).tolist():
            k = mm & (idx == si)
            out[k] = addr[si] + merge_offsets(f.sections[si], value[k])
    return out
