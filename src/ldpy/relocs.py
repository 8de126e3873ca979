"""Link-wide tables: every relocation of every live section in one numpy
table, and every symbol (globals by id, then each file's locals) in one "key"
space.  Scanning and applying relocations are then a handful of whole-array
operations for the entire link, not work per file or per relocation.

Key space: a global symbol's key is its id in the symbol table; local symbol i
of file f has key G + f.local_base + i.
"""
import os
from itertools import chain
from operator import attrgetter

import numpy as np

from ldpy.diag import LinkError
from ldpy.util import unique, file_buffers, section_headers
from ldpy.elf.format import (SHX_ABS, STT_SECTION, STT_GNU_IFUNC, STT_FUNC, STT_TLS,
                             SHT_NOBITS, SHT_RELA, RELOC, SHF_ALLOC, SHF_WRITE, STV_DEFAULT, STV_PROTECTED)
from ldpy.symbols import UNDEF, DEFINED, COMMON, SHARED, SYNTHETIC


class SymbolKeys:
    """Properties of every symbol key, as arrays."""

    def __init__(self, ctx):
        syms = ctx.symtab.symbols
        files = ctx.files
        G = self.G = len(syms)
        local_base = 0
        for f in files:
            f.local_base = local_base
            local_base += f.first_global
        n = G + local_base
        self.n = n
        self.defined = np.ones(n, bool)
        self.defined[:G] = np.fromiter((s.kind != UNDEF for s in syms), bool, G)
        self.ifunc = np.zeros(n, bool)
        self.ifunc[:G] = np.fromiter((s.is_ifunc and s.kind == DEFINED for s in syms), bool, G)
        self.size = np.zeros(n, np.int64)
        self.size[:G] = np.fromiter((s.size for s in syms), np.uint64, G).view(np.int64)
        kind = np.fromiter((s.kind for s in syms), np.int8, G)
        stype = np.zeros(n, np.uint8)
        stype[:G] = np.fromiter((s.type for s in syms), np.uint8, G)
        # bound at run time: defined in a shared library (and not copied), or, in a
        # shared object, any default-visibility definition (it can be interposed)
        # and any undefined symbol
        self.imported = np.zeros(n, bool)
        self.imported[:G] = kind == SHARED
        cfg = ctx.config
        vis = np.fromiter((s.visibility for s in syms), np.uint8, G)
        # an undefined (weak) symbol of non-default visibility cannot be bound by the
        # loader: it is 0, stays out of .dynsym and needs no dynamic relocation
        self.zero_undef = np.zeros(n, bool)
        self.zero_undef[:G] = (kind == UNDEF) & (vis != STV_DEFAULT)
        if cfg.dynamic_undefined_weak is False:
            # -z nodynamic-undefined-weak: undefined weak symbols are 0 here and
            # never dynamic (ld.bfd on x86-64)
            self.zero_undef[:G] |= (kind == UNDEF) & np.fromiter((not s.strong_ref for s in syms), bool, G)
        if not cfg.shared:
            # an executable's strong undefined symbols (left by --unresolved-symbols=ignore-*,
            # --warn-unresolved-symbols, --noinhibit-exec) are 0, never dynamic (ld.bfd)
            self.zero_undef[:G] |= (kind == UNDEF) & np.fromiter((s.strong_ref for s in syms), bool, G)
        if cfg.shared:
            func = np.fromiter((s.type in (STT_FUNC, STT_GNU_IFUNC) for s in syms), bool, G)
            from ldpy.linker_symbols import BOUNDARY_NAMES
            boundary = np.fromiter((s.kind == SYNTHETIC and s.name in BOUNDARY_NAMES for s in syms), bool, G)
            preempt = ((kind == DEFINED) | (kind == COMMON) | boundary) & (vis == STV_DEFAULT)
            if cfg.symbolic == "all":
                preempt[:] = False
            elif cfg.symbolic == "functions":
                preempt &= ~func
            elif cfg.symbolic == "non-weak-functions":     # lld: weak functions stay interposable
                preempt &= ~(func & np.fromiter((not s.weak for s in syms), bool, G))
            if ctx.dynamic_list is not None:
                listed = np.zeros(G, bool)
                listed[list(ctx.dynamic_list)] = True
                preempt &= listed
            self.imported[:G] |= preempt | ((kind == UNDEF) & (vis == STV_DEFAULT) & ~self.zero_undef[:G])
        elif cfg.pie and ctx.target.PIE_UNDEF_WEAK_DYNAMIC and ctx.shared_files:
            # (PowerPC's ld.bfd: a PIE leaves its undefined weak symbols to the loader)
            self.imported[:G] |= (kind == UNDEF) & (vis == STV_DEFAULT) & ~self.zero_undef[:G]
        self.canonical = np.zeros(n, bool)         # imported function addressed by its PLT entry
        self.undef_weak = np.zeros(n, bool)
        self.undef_weak[:G] = kind == UNDEF
        self.absolute = np.zeros(n, bool)
        self.absolute[:G] = np.fromiter((s.absolute for s in syms), bool, G)
        # bound inside this output even when it is a shared object
        self.local_binding = np.ones(n, bool)
        self.local_binding[:G] = (vis != STV_DEFAULT) & (vis != STV_PROTECTED)
        # locals of all files, concatenated
        if files:
            loc = [f.symbols[:f.first_global] for f in files]
            self.loc_file = np.repeat(np.arange(len(files)), [f.first_global for f in files])
            self.loc_info = np.concatenate([l["st_info"] for l in loc])
            self.loc_value = np.concatenate([l["st_value"] for l in loc]).astype(np.int64)
            self.loc_shndx = np.concatenate([f.shndx[:f.first_global] for f in files])
            self.size[G:] = np.concatenate([l["st_size"] for l in loc]).astype(np.int64)
        else:
            self.loc_file = self.loc_info = self.loc_shndx = np.zeros(0, np.int64)
            self.loc_value = np.zeros(0, np.int64)
        self.ifunc[G:] = (self.loc_info & 0xf) == STT_GNU_IFUNC
        stype[G:] = self.loc_info & 0xf
        self.func = (stype == STT_FUNC) | (stype == STT_GNU_IFUNC)
        self.tls = stype == STT_TLS
        self.absolute[G:] = self.loc_shndx == SHX_ABS
        self.addr = None


class SectionIds:
    """Every input section of every file gets a global id: file.sec_base + index.

    fold: --icf's (folded ids, kept ids): a folded section is not placed, but it
    stands for its kept copy (its local and section symbols take that address);
    `folded` tells them apart for debug-information tombstones."""

    def __init__(self, files, fold=None):
        base = 0
        sections = self.sections = []
        for f in files:
            f.sec_base = base
            base += len(f.sections)
            sections.extend(f.sections)
        self.n = base
        # one pass over every entry (most are None: relocation, group, string tables)
        placed, merged = [], []
        for i, s in enumerate(sections):
            if s is not None:
                if s.merge is not None:
                    merged.append(i)
                if s.live and s.output is not None:
                    placed.append(i)
        self.live = np.zeros(base, bool)
        self.live[placed] = True
        self.placed = self.live          # live and in an output section (folded ones not)
        self.merge = np.zeros(base, bool)
        self.merge[merged] = True
        self.fold = fold
        self.folded = np.zeros(base, bool)
        if fold is not None:
            self.placed = self.live.copy()
            self.folded[fold[0]] = True
            self.live[fold[0]] = self.live[fold[1]]

    def tables(self):
        """Run-time address, liveness, merge flag and output index of each section."""
        n = max(self.n, 1)       # (one unused row when no input has a section: gathers at 0 work)
        live = np.zeros(n, bool)
        merge = np.zeros(n, bool)
        ids, addrs, outs, merged = [], [], [], []
        for i, s in enumerate(self.sections):
            if s is not None and s.live:
                o = s.output
                if o is None:
                    continue
                ids.append(i)
                if s.merge is not None:         # (its output is the MergedSection)
                    merged.append(i)
                    addrs.append(o.output.addr + o.out_offset)
                    outs.append(o.output.index)
                else:
                    addrs.append(o.addr + s.out_offset)
                    outs.append(o.index)
        live[ids] = True
        merge[merged] = True
        addr = np.zeros(n, np.int64)
        try:
            addr[ids] = np.array(addrs, np.uint64).view(np.int64)
        except OverflowError:           # (an address past 2^64 or negative: wrapped one by one)
            addr[ids] = np.array([wrap64(a) for a in addrs], np.int64)
        outidx = np.zeros(n, np.int64)
        outidx[ids] = outs
        if self.fold is not None:
            folded, kept = self.fold
            addr[folded], live[folded], outidx[folded] = addr[kept], live[kept], outidx[kept]
        self.addr, self.live, self.merge, self.outidx = addr, live, merge, outidx


def wrap64(v):
    """A 64-bit address as the int64 holding the same bits (addresses >= 2^63 are
    computed in wrapping int64, like the symbol values)."""
    v &= 0xffffffffffffffff
    return v - (1 << 64) if v >> 63 else v


class MergeMap:
    """Offset -> output address for every SHF_MERGE input section, vectorized
    over (section id, offset) pairs with one searchsorted."""

    def __init__(self, ids):
        keys, outs = [], []
        sections = ids.sections
        for gid in np.flatnonzero(ids.merge).tolist():      # (in id order: the keys come sorted)
            s = sections[gid]
            if s.merge is not None and s.live:
                starts, out = s.merge
                keys.append((gid << 32) + starts)
                outs.append(out + wrap64(s.output.output.addr + s.output.out_offset))
                outs[-1] = outs[-1] - starts     # address = out_base + (offset - start)
        if keys:
            self.keys = np.concatenate(keys)
            self.delta = np.concatenate(outs)
        else:
            self.keys = self.delta = np.zeros(0, np.int64)

    def map(self, sec_gid, offsets):
        q = (sec_gid.astype(np.int64) << 32) + offsets
        i = np.maximum(np.searchsorted(self.keys, q, side="right") - 1, 0)
        return self.delta[i] + offsets


def compute_addresses(ctx, keys, ids, gaddr):
    """Address of every symbol key (ifunc symbols still at their resolver)."""
    mm = ctx.merge_map
    addr = np.zeros(keys.n, np.int64)
    addr[:keys.G] = gaddr[:keys.G]      # (symbols added after the scan, copy aliases, have no key)
    shndx = keys.loc_shndx
    in_sec = shndx > 0                  # (reserved values are negated: elf.format.SHX_*)
    files = ctx.files
    sec_base = np.fromiter((f.sec_base for f in files), np.int64, len(files))
    gsec = sec_base[keys.loc_file] + np.where(in_sec, shndx, 0)
    loc = np.where(in_sec, ids.addr[gsec] + keys.loc_value, keys.loc_value)
    loc[in_sec & ~ids.live[gsec]] = 0
    m = in_sec & ids.merge[gsec] & ((keys.loc_info & 0xf) != STT_SECTION)
    if m.any():
        loc[m] = mm.map(gsec[m], keys.loc_value[m])
    addr[keys.G:] = loc
    keys.addr = addr
    keys.loc_gsec = gsec
    keys.loc_in_sec = in_sec


def _sections_with_relocations(files, ids):
    """The placed sections with relocations, in section id order: (section ids,
    relocation counts, whether the relocations are plain, the sections' sh_offset,
    the plain ones' SHT_RELA sh_offset).  Plain relocations are the view of the
    SHT_RELA section that the reader left untouched: they are found in the section
    header tables, with no step per section.  The files list the other sections
    (relocs_elsewhere), whose section objects hold their relocations."""
    none = np.zeros(0, np.int64)
    nf = len(files)
    if not ids.n:
        return none, none, np.zeros(0, bool), none, none
    hdr = section_headers(files)
    nsec = np.fromiter((len(f.sections) for f in files), np.int64, nf)
    sec_base = np.fromiter((f.sec_base for f in files), np.int64, nf)
    fidx = np.repeat(np.arange(nf), nsec)
    stype = hdr["sh_type"]
    rela = np.flatnonzero(stype == SHT_RELA)
    rf = fidx[rela]
    info = hdr["sh_info"][rela].astype(np.int64)
    in_memory = np.fromiter((f.rela_in_memory for f in files), bool, nf)
    ok = in_memory[rf] & (hdr["sh_entsize"][rela] == RELOC.itemsize) & (info > 0) & (info < nsec[rf])
    rela = rela[ok]
    target = sec_base[rf[ok]] + info[ok]
    if len(target) > 1 and not (target[1:] > target[:-1]).all():
        # a section that two SHT_RELA sections name has the last one's (as the reader reads)
        order = np.lexsort((rela, target))
        rela, target = rela[order], target[order]
        last = np.ones(len(target), bool)
        np.not_equal(target[1:], target[:-1], out=last[:-1])
        rela, target = rela[last], target[last]
    size = hdr["sh_size"][rela].astype(np.int64)
    elsewhere = np.zeros(ids.n, bool)
    elsewhere[np.fromiter(chain.from_iterable([f.sec_base + i for i in f.relocs_elsewhere]
                                              for f in files if f.relocs_elsewhere), np.int64)] = True
    keep = ids.placed[target] & ~elsewhere[target] & (stype[target] != SHT_NOBITS) & \
        (size >= RELOC.itemsize)
    rela, target, size = rela[keep], target[keep], size[keep]
    flat = ids.sections
    other = [g for g in np.flatnonzero(elsewhere).tolist()
             if (s := flat[g]) is not None and s.live and s.relocs is not None and len(s.relocs)
             and s.output is not None and s.type != SHT_NOBITS]
    gids = np.concatenate([target, np.array(other, np.int64)])
    counts = np.concatenate([size // RELOC.itemsize,
                             np.fromiter((len(flat[g].relocs) for g in other), np.int64, len(other))])
    rela_offset = np.concatenate([hdr["sh_offset"][rela].astype(np.int64), np.zeros(len(other), np.int64)])
    plain = np.arange(len(gids)) < len(target)
    if other:
        order = np.argsort(gids, kind="stable")
        gids, counts, plain, rela_offset = gids[order], counts[order], plain[order], rela_offset[order]
    return gids, counts, plain, hdr["sh_offset"][gids].astype(np.int64), rela_offset


class _Validation:
    """Checks of RelocTable's blocks: symbol indexes inside the symbol table (the first
    bad one is reported at once, as the whole-table check did before any other); the
    bytes each relocation patches (the target's WIDTH of its type, at least one) inside
    its section (the first bad one of the link, reported after the last block)."""

    def __init__(self, rt, nsyms, size, target):
        self.rt, self.nsyms, self.size, self.target = rt, nsyms, size, target
        self.width = width = getattr(target, "WIDTH", None)
        self.span = None if width is None else np.maximum(width, 1) - 1
        self.small = width is not None and bool((size < width.max()).any())
        self.bad_offset = None

    def block(self, lo, so, sym, offset, typ):
        rt = self.rt
        bad = sym >= self.nsyms[so]
        if bad.any():
            k = lo + int(np.argmax(bad))
            raise LinkError(f"{rt.where(k)}: relocation refers to symbol index {int(rt.sym[k])} "
                            f"beyond the symbol table ({int(self.nsyms[rt.sec_ordinal[k]])} symbols)")
        if self.bad_offset is not None:
            return
        # last valid offset of each entry: section size - width; compared unsigned, so
        # an r_offset that reads as negative is out of range too
        last = self.size[so]
        last -= 1
        if self.span is not None:
            last -= self.span.take(typ, mode="clip")
        bad = offset.view(np.uint64) > last.view(np.uint64)
        if self.small:
            bad |= last < 0              # a section smaller than the field it holds
        if bad.any():
            self.bad_offset = lo + int(np.argmax(bad))

    def done(self):
        k = self.bad_offset
        if k is None:
            return
        rt, size, target, width = self.rt, self.size, self.target, self.width
        sec = rt.sections[rt.sec_ordinal[k]]
        w = int(width.take(rt.type[k:k + 1], mode="clip")[0]) if width is not None else 1
        raise LinkError(f"{sec.file.name}:({sec.name}+{int(rt.offset[k]) & (2**64 - 1):#x}): "
                        f"relocation {target.type_name(rt.type[k])} out of range: it patches "
                        f"{max(w, 1)} bytes at offset {int(rt.offset[k]) & (2**64 - 1):#x} "
                        f"of a section of {int(size[rt.sec_ordinal[k]]):#x} bytes")


def _gather_records(rec, first, counts, buffer, pos, buffers):
    """rec[first[j]:first[j] + counts[j]] = the records at byte pos[j] of buffers[buffer[j]],
    for every j, with one fancy index per buffer (over a view that sees a record at every
    byte offset: SHT_RELA sections of archive members are only 2-byte aligned); a few
    long runs (cpython's 899 sections of 204k records: 8 -> 2 ms) are copied as bytes,
    one slice each."""
    size = rec.dtype.itemsize
    if len(first) * LONG_RUNS <= int(counts.sum()):
        dst = rec.view(np.uint8).reshape(-1)
        views = {}
        for at, n, b, p in zip(first.tolist(), counts.tolist(), buffer.tolist(), pos.tolist()):
            src = views.get(b)
            if src is None:
                src = views[b] = np.frombuffer(buffers[b], np.uint8)
            dst[at * size:(at + n) * size] = src[p:p + n * size]
        return
    order = np.argsort(buffer, kind="stable")
    first, counts, buffer, pos = first[order], counts[order], buffer[order], pos[order]
    cf = np.cumsum(counts) - counts
    step = np.arange(int(counts.sum()))
    dst = np.repeat(first - cf, counts) + step
    src = np.repeat(pos - cf * size, counts) + step * size
    bounds = np.append(cf, len(step))[np.searchsorted(buffer, np.arange(len(buffers) + 1))]
    for b in np.flatnonzero(bounds[1:] > bounds[:-1]).tolist():
        data = buffers[b]
        lo, hi = bounds[b], bounds[b + 1]
        view = np.ndarray((len(data) - size + 1,), rec.dtype, data, 0, (1,))
        rec[dst[lo:hi]] = view[src[lo:hi]]


LONG_RUNS = 64      # records per section from which _gather_records copies section by section


# Rows per block of the link-wide relocation passes: a block's temporaries (a few MB)
# stay in the cache and in the allocator's free lists.  Whole-table temporaries of a
# big link (62 MB per int64 column at 7.8M relocations) were fresh pages every time,
# and the page faults grew faster than the table (llvm-big-x4, docs/architecture.md).
BLOCK = int(os.environ.get("LDPY_RELOC_BLOCK") or 1 << 18)    # (tests: blocks of a few rows)


_WORDS = np.dtype("<u4")           # (RelocTable: r_info's halves in the RELOC records)


def row_blocks(counts, block=None):
    """Runs of whole sections of about `block` (BLOCK) rows: [(first section, end
    section, first row, end row)] for sections with `counts` rows each."""
    block = block or BLOCK
    ends = np.cumsum(counts)
    if not len(ends):
        return []
    cuts = np.searchsorted(ends, np.arange(block, int(ends[-1]), block), side="left") + 1
    bounds = unique(np.concatenate([[0], cuts, [len(counts)]]))
    rows = np.concatenate([[0], ends])[bounds]
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), rows[:-1].tolist(), rows[1:].tolist()))


class RelocTable:
    """All relocations of the link, concatenated: those of every placed section,
    in section id order."""

    def __init__(self, ctx, ids):
        files = ctx.files
        gids, counts, plain, sec_offset, rela_offset = _sections_with_relocations(files, ids)
        self.empty = not len(gids)
        if self.empty:
            self.sections = []
            return
        flat = ids.sections
        self.sections = secs = list(map(flat.__getitem__, gids.tolist()))
        n = len(secs)
        self.sec_ordinal = np.repeat(np.arange(n, dtype=np.int32), counts)
        file_of = np.searchsorted(np.fromiter((f.sec_base for f in files), np.int64, len(files)),
                                  gids, side="right") - 1
        # the buffers the sections' bytes lie in: the files' (an archive's members share
        # one), then inflated ones of compressed sections
        self.buffers, file_buf, file_buf_base = file_buffers(files)
        sec_buffer = file_buf[file_of]
        sec_bufoff = file_buf_base[file_of] + sec_offset
        others = np.flatnonzero(~plain).tolist()
        for j in others:
            if secs[j].compressed is not None:
                sec_buffer[j], sec_bufoff[j] = len(self.buffers), 0      # (inflated: its own buffer)
                self.buffers.append(secs[j].bytes())
        self.sec_file_id = np.fromiter((f.file_id for f in files), np.int64, len(files))[file_of]
        nsyms = np.fromiter((len(f.symbols) for f in files), np.int64, len(files))[file_of]
        # (output and size may change after reading: placement, .eh_frame pruning, plugins)
        flags = np.fromiter(map(attrgetter("output.flags"), secs), np.int64, n)
        size = np.fromiter(map(attrgetter("size"), secs), np.int64, n)
        self.alloc = (flags & SHF_ALLOC).astype(bool)[self.sec_ordinal]
        self.writable = (flags & SHF_WRITE).astype(bool)[self.sec_ordinal]
        self.sec_buffer = sec_buffer
        self.sec_bufoff = sec_bufoff
        self.sec_size = size
        # symbol keys: per section, where its file's locals, globals and global ids begin
        fg = np.fromiter((f.first_global for f in files), np.int64, len(files))
        G = len(ctx.symtab.symbols)
        gbase = np.cumsum([0] + [len(f.global_ids) for f in files])[:-1]
        all_gids = np.concatenate([f.global_ids for f in files]) if files else np.zeros(0, np.int64)
        if not len(all_gids):
            all_gids = np.zeros(1, np.int64)
        sec_fg = fg[file_of]
        sec_lkey = G + np.fromiter((f.local_base for f in files), np.int64, len(files))[file_of]
        sec_gbase = gbase[file_of] - sec_fg
        # the columns, filled a block of sections at a time (records gathered from the
        # input buffers, decoded, checked, keyed)
        total = int(counts.sum())
        self.offset = np.empty(total, np.int64)
        # (32-bit columns where the values fit: the table is the link's biggest; symbol
        # indexes and types unsigned as in ELF, so a hostile one cannot read as negative)
        self.sym = np.empty(total, np.uint32)
        self.type = np.empty(total, np.uint32)
        self.addend = np.empty(total, np.int64)
        self.key = np.empty(total, np.int32)
        self.is_local = np.empty(total, bool)
        check = _Validation(self, nsyms, size, ctx.target)
        first = np.cumsum(counts) - counts
        ordinals = np.arange(n)
        vtype = np.dtype((np.void, RELOC.itemsize))
        for s0, s1, lo, hi in row_blocks(counts):
            rel = np.empty(hi - lo, RELOC)
            rec = rel.view(vtype)
            p = ordinals[s0:s1][plain[s0:s1]]
            # plain sections: their SHT_RELA sections' records, one gather per buffer
            _gather_records(rec, first[p] - lo, counts[p], sec_buffer[p],
                            file_buf_base[file_of[p]] + rela_offset[p], self.buffers)
            # the others, from their section objects (converted, edited, compressed)
            for j in np.flatnonzero(~plain[s0:s1]).tolist():
                a = int(first[s0 + j]) - lo
                rec[a:a + int(counts[s0 + j])] = secs[s0 + j].relocs.view(vtype)
            # (every input's relocations are in the in-memory RELOC layout: elf/format.py)
            offset = self.offset[lo:hi]
            offset[:] = rel["r_offset"]
            # r_info's halves copied straight out of the records (RELOC is little-endian:
            # its low word, the type, comes first), with no temporary of a shift or mask
            words = rel.view(_WORDS).reshape(-1, RELOC.itemsize // 4)
            sym = self.sym[lo:hi]
            sym[:] = words[:, 3]
            typ = self.type[lo:hi]
            typ[:] = words[:, 2]
            self.addend[lo:hi] = rel["r_addend"]
            del rel, rec
            so = self.sec_ordinal[lo:hi]
            check.block(lo, so, sym, offset, typ)
            ffg = sec_fg[so]
            is_local = self.is_local[lo:hi]
            np.less(sym, ffg, out=is_local)
            gi = sec_gbase[so]
            gi += sym
            gi[is_local] = 0
            key = self.key[lo:hi]
            key[:] = all_gids[gi]
            lk = sec_lkey[so]
            lk += sym
            np.copyto(key, lk, where=is_local)
        check.done()
        self.sec_first = first          # (each section's first row: where shares may be cut)
        self.blocks = [(lo, hi) for _, _, lo, hi in row_blocks(counts)]
        self.name_masks = {}      # section name -> which sections have it (cached)
        self.plan = None

    lo = 0                  # (a RowBlock's first row in the table)
    P = pos = None          # (run-time address and file offset of each entry: place())
    overflows = None        # (RowBlock: the overflow reports its rows defer to the table)

    def rows(self, lo, hi, overflows):
        """Rows lo:hi as a RowBlock; its overflow reports go to the list `overflows`."""
        return RowBlock(self, lo, hi, overflows)

    def sections_named(self, name):
        """Which sections (by ordinal) are named `name`."""
        m = self.name_masks.get(name)
        if m is None:
            m = self.name_masks[name] = np.fromiter((s.name == name for s in self.sections), bool,
                                                    len(self.sections))
        return m

    @property
    def file_id(self):
        """The file id of each relocation's file (NOCROSSREFS: rarely needed, not kept)."""
        return self.sec_file_id[self.sec_ordinal]

    def where(self, k):
        k = int(k)
        return self.sections[self.sec_ordinal[k]].where(int(self.offset[k]))

    def file_of(self, k):
        return self.sections[self.sec_ordinal[int(k)]].file

    def original_bytes(self, idx, back):
        """Input bytes `back` before the offsets of relocations idx (before patching)."""
        out = np.zeros(len(idx), np.uint8)
        ords = self.sec_ordinal[idx]
        pos = self.sec_bufoff[ords] + np.maximum(self.offset[idx] - back, 0)
        bufs = self.sec_buffer[ords]
        for b in unique(bufs).tolist():
            m = bufs == b
            out[m] = self.buffers[b][pos[m]]
        return out

    def place(self):
        """P (run-time address) and pos (output file offset) of every entry, as
        columns of the table (--emit-relocs, .relr.dyn, AArch64's stubs read them
        all; the writer's blocks make their own otherwise, see RowBlock)."""
        self.start_places()
        self.P = np.empty(len(self.offset), np.int64)
        self.pos = np.empty(len(self.offset), np.int64)
        for lo, hi in self.blocks:
            so = self.sec_ordinal[lo:hi]
            np.add(self.base_addr[so], self.offset[lo:hi], out=self.P[lo:hi])
            np.add(self.base_pos[so], self.offset[lo:hi], out=self.pos[lo:hi])

    def start_places(self):
        """Where each section's entries go, for the addresses laid out now: P and pos
        are made per block from these (RowBlock) until place() makes the columns."""
        secs = self.sections
        n = len(secs)
        outputs = list(map(attrgetter("output"), secs))
        offsets = np.fromiter(map(attrgetter("out_offset"), secs), np.int64, n)
        try:        # (64-bit addresses wrap in int64, as everywhere: uint64 sums, viewed signed)
            self.base_addr = (np.array(list(map(attrgetter("addr"), outputs)), np.uint64) +
                              offsets.view(np.uint64)).view(np.int64)
        except OverflowError:
            self.base_addr = np.fromiter((wrap64(s.output.addr + s.out_offset) for s in secs), np.int64, n)
        self.base_pos = np.fromiter(map(attrgetter("offset"), outputs), np.int64, n) + offsets
        self.P = self.pos = None


class RowBlock(RelocTable):
    """Rows lo:hi of a RelocTable, for the passes that go a block at a time
    (RelocTable.blocks): the row columns and the plan's masks are views, the
    per-section columns are the table's, and row numbers (where, file_of,
    original_bytes, overflow reports) are the block's own; `lo` turns them into
    the table's."""
    ROWS = ("sec_ordinal", "offset", "sym", "type", "addend", "key", "is_local", "alloc", "writable")
    SHARED = ("sections", "sec_file_id", "sec_buffer", "sec_bufoff", "sec_size", "buffers", "name_masks")

    def __init__(self, rt, lo, hi, overflows):
        for name in self.ROWS:
            setattr(self, name, getattr(rt, name)[lo:hi])
        for name in self.SHARED:
            setattr(self, name, getattr(rt, name))
        if rt.P is not None:
            self.P, self.pos = rt.P[lo:hi], rt.pos[lo:hi]
        else:       # (the block's own: whole-table columns would be fresh pages for one use)
            so = self.sec_ordinal
            self.P = rt.base_addr[so]
            self.P += self.offset
            self.pos = rt.base_pos[so]
            self.pos += self.offset
        self.lo = lo
        self.empty = False
        self.blocks = [(0, hi - lo)]
        self.plan = rt.plan.rows(lo, hi)
        self.overflows = overflows
