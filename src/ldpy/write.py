"""Write the output through one mmap: headers, section bytes, relocations,
synthetic sections, symbol table, section headers, then the build-id.
On any error the half-written file is removed (outfile.py)."""

import numpy as np

from ldpy.elf.format import (ELFMAG, ELFCLASS64, ELFCLASS32, ELFDATA2LSB, ELFDATA2MSB, ET_EXEC,
                             ET_DYN, SHT_NOBITS, SHT_RELA, SHT_REL, STT_SECTION, SHF_EXECINSTR, SHF_ALLOC, dtypes)
from ldpy.symbols import UNDEF
from ldpy.util import unique, isin
from ldpy import reloc_policy


def write_output(ctx):
    """The image through one map of a temporary file, renamed over -o when complete
    (outfile.py: atomic, space reserved first, devices written in place)."""
    from ldpy.outfile import OutputFile, check_inputs, REUSE_MIN_BYTES
    size = ctx.file_size
    # (a big old executable is written over, not a shared object: outfile.py)
    reuse = not ctx.config.shared and size >= REUSE_MIN_BYTES
    out_file = OutputFile(ctx.config.output, executable=True, reuse=reuse).open()
    try:
        mm = out_file.map(size)
        out = np.frombuffer(mm, np.uint8)[:size]
        _write_all(ctx, out)
        final = size
        if ctx.config.compress_debug_sections != "none":
            from ldpy.compress import compress_output
            shoff, changed = compress_output(ctx, out)
            if changed:
                ctx.shoff = shoff
                _write_headers(ctx, out, changed)
                final = shoff + (64 if ctx.target.IS64 else 40) * (len(ctx.sections_out) + 1)
        if ctx.build_id is not None:
            from ldpy.parallel import thread_count
            ctx.build_id.finalize(mm if final == size and len(mm) == size else out[:final],
                                  ctx.build_id.output.offset + ctx.build_id.out_offset,
                                  thread_count(ctx.config))
        del out
        check_inputs()            # an input truncated meanwhile: an error, not a bad output
        out_file.commit(final)
    except BaseException:
        for w in ctx.write_workers:
            w.cancel()
        out_file.abort()
        raise


def _memo_fill(code_fill):
    """code_fill with the padding of each small size made once (the gaps between
    the 100k functions of a big link are a few dozen distinct sizes)."""
    cache = {}

    def fill(n):
        b = cache.get(n)
        if b is None:
            b = code_fill(n)
            if n <= 4096:
                cache[n] = b
        return b
    return fill


def fill_code_gaps(out, o, code_fill):
    """Padding between the input sections of a code section is no-ops, as GNU
    ld's default fill for code (each gap filled from its start)."""
    fill_code_range(out, o.offset, o.chunks, 0, o.size, code_fill)


def fill_code_range(out, base, chunks, pos, end, code_fill):
    """Fill the gaps that `chunks` (by out_offset) leave between offset `pos` and
    `end` (None: up to the last chunk) with code padding.  A gap's bytes depend
    only on its length, so every gap of one length is written by one scatter."""
    n = len(chunks)
    if n == 0:
        if end is not None and end > pos:
            out[base + pos:base + end] = code_fill(end - pos)
        return
    starts = np.fromiter((c.out_offset for c in chunks), np.int64, n)
    ends = starts + np.fromiter((c.size for c in chunks), np.int64, n)
    order = np.argsort(starts, kind="stable")
    fill_gaps(out, base, starts[order], ends[order], pos, end, code_fill)


def fill_gaps(out, base, starts, ends, pos, end, code_fill):
    """fill_code_range for chunks given as their starts and ends, by start."""
    # what is covered before each chunk: the furthest end so far (chunks may overlap)
    reach = np.maximum.accumulate(np.concatenate(([pos], ends)))
    gap = starts > reach[:-1]
    gap_at, gap_len = reach[:-1][gap], (starts - reach[:-1])[gap]
    if end is not None and end > reach[-1]:
        gap_at = np.append(gap_at, reach[-1])
        gap_len = np.append(gap_len, end - reach[-1])
    if len(gap_len) == 1:
        a = int(gap_at[0])
        out[base + a:base + a + int(gap_len[0])] = code_fill(int(gap_len[0]))
        return
    for length in unique(gap_len).tolist():
        at = gap_at[gap_len == length] + base
        pattern = np.frombuffer(bytes(code_fill(length)), np.uint8)
        if length > 256:            # (few and long: one slice each)
            for a in at.tolist():
                out[a:a + length] = pattern
        else:
            out[at[:, None] + np.arange(length)] = pattern


def copy_chunks(out, base, chunks):
    """The bytes of `chunks` into the output section at file offset `base`: an input
    section straight from its file (a memoryview copy, the cheapest per section),
    anything else through its bytes()."""
    from ldpy.synthetic import Synthetic
    dst = memoryview(out)
    for c in chunks:
        if c.is_input and c.data is None and c.compressed is None:
            size = c.size
            if size and c.type != SHT_NOBITS:
                at = base + c.out_offset
                dst[at:at + size] = c.file.view[c.offset:c.offset + size]
            continue
        if isinstance(c, Synthetic) and c.data is None:
            continue            # synthesized after relocation
        b = c.bytes()
        if len(b):
            out[base + c.out_offset: base + c.out_offset + len(b)] = b


def copy_output_section(out, o, code_fill):
    """Output section o's fill or code padding, then its chunks' bytes."""
    base = o.offset
    fill = getattr(o, "fill", None)          # a script's =FILL / FILL(): the gaps get it
    if fill and o.size:
        pat = np.frombuffer(fill, np.uint8)
        out[base:base + o.size] = np.resize(pat, o.size)
    elif o.flags & SHF_EXECINSTR and o.size:
        fill_code_gaps(out, o, code_fill)
    copy_chunks(out, base, o.chunks)


def _write_all(ctx, out):
    from ldpy import parallel
    t = ctx.target
    n = parallel.thread_count(ctx.config)
    # 1. input and merged section bytes, and synthetic sections already complete
    # 2. relocations of the whole link
    #    (both split over n processes, which also fill .symtab: _copy_and_relocate)
    _copy_and_relocate(ctx, out, n, _memo_fill(t.code_fill))
    # 3. synthetic sections whose contents depend on addresses and relocation results
    from ldpy.synthetic.plt import iplt_code
    t = ctx.target
    pic = bool(ctx.config.pie or ctx.config.shared)     # (PLTs of REL targets address the GOT from a register)
    if ctx.got is not None and ctx.got.output is not None and ctx.got.size:
        if ctx.got.reserved and ctx.dynamic is not None:
            ctx.got.values[0] = ctx.dynamic.addr        # (AArch64's .got[0]: _DYNAMIC)
        if ctx.got.trailer and ctx.dynamic is not None:
            ctx.got.values[ctx.got.trailer_index] = ctx.dynamic.addr   # (PowerPC's)
        _put_chunk(out, ctx.got, ctx.got.bytes())
    if ctx.is_dynamic:
        from ldpy.synthetic.dynamic import finish_dynamic
        ctx.gotplt.dynamic_addr = ctx.dynamic.addr
        plt = ctx.plt
        if plt.size and plt.ibt:
            _put_chunk(out, plt, t.plt_lazy_ibt(plt.addr, ctx.gotplt.addr, len(plt.keys)))
            if plt.sec.size:
                _put_chunk(out, plt.sec, t.plt_indirect(plt.sec.addr + 16 * np.arange(plt.sec.size // 16),
                                                        ctx.gotplt.slot_addresses()))
        elif plt.size:
            _put_chunk(out, ctx.plt, t.plt_lazy(ctx.plt.addr, ctx.gotplt.addr, ctx.gotplt.slot_addresses(),
                                                len(ctx.plt.keys), len(ctx.iplt), pic=pic, **plt.options))
        if ctx.plt.size:
            if ctx.plt.tlsdesc_entry:
                e = ctx.plt.tlsdesc_entry_addr()
                _put_chunk_at(out, ctx.plt, e - ctx.plt.addr,
                              t.tlsdesc_plt_entry(e, ctx.gotplt.addr, ctx.tlsdesc_got.addr,
                                                  **{k: v for k, v in plt.options.items() if k == "bti"}))
        g = plt.got_entries
        if len(g):          # .plt.got: jumps through the functions' .got slots
            _put_chunk(out, g, t.plt_indirect(g.addr + g.entry_size * np.arange(len(g)),
                                              ctx.got.slot_addresses(g.keys), plt.ibt,
                                              gotplt_addr=ctx.gotplt.addr, pic=pic))
        if not t.IRELATIVE_IN_RELA_PLT and len(ctx.iplt):
            ctx.rela_dyn.add(*ctx.rela_plt.irelative_rows())
        finish_dynamic(ctx)
        for c in (ctx.rela_dyn, ctx.dynsym_sec, ctx.hash_sec, ctx.gnu_hash_sec, ctx.versym_sec,
                  ctx.verneed_sec, ctx.verdef_sec, ctx.dynamic, ctx.got_gd, ctx.got_ld, ctx.relr):
            if c is not None and c.output is not None and c.output.index and c.data is not None:
                _put_chunk(out, c, c.bytes())
    else:
        if len(ctx.iplt):
            _put_chunk(out, ctx.iplt, iplt_code(ctx.iplt, ctx.gotplt, t, ctx.ibt_plt, pic))
        if len(ctx.got_gd):         # (static: general-dynamic pairs of a target that keeps them)
            from ldpy.synthetic.dynamic import gd_words
            _put_chunk(out, ctx.got_gd, gd_words(ctx))
    if ctx.rela_plt is not None and ctx.rela_plt.size:
        _put_chunk(out, ctx.rela_plt, ctx.rela_plt.bytes())
    if ctx.gotplt is not None:
        _put_chunk(out, ctx.gotplt, ctx.gotplt.bytes())
    if ctx.eh_frame_hdr is not None and ctx.eh_frame_hdr.output.index:
        eh = ctx.outputs.by_name[".eh_frame"]
        ctx.eh_frame_hdr.build(out[eh.offset:eh.offset + eh.size], eh.addr)
        _put_chunk(out, ctx.eh_frame_hdr, ctx.eh_frame_hdr.data)
    ctx.passes.lap("synthesize")
    if ctx.write_workers:
        for w in ctx.write_workers:
            w.result()
        ctx.write_workers = []
        ctx.passes.lap("wait for .symtab")
    if ctx.symtab_sec is not None and not ctx.symtab_beside:
        _write_symtab(ctx, out)
    if ctx.emit_rela:         # --emit-relocs (after .symtab: its indexes)
        from ldpy.emit_relocs import write_sections
        write_sections(ctx, out)
    if not t.RELA:
        _store_rel_addends(ctx, out)
    # 4. headers
    _write_headers(ctx, out)


def _store_rel_addends(ctx, out):
    """REL outputs: each dynamic relocation finds its addend in its place.  The
    loader adds the symbol to it (R_ABS, DTPOFF, TPOFF), the load base (RELATIVE,
    IRELATIVE), or reads a TLS descriptor's argument from its second word; slots
    the loader overwrites (GLOB_DAT, JUMP_SLOT, DTPMOD, COPY) keep their contents."""
    from ldpy.elf.format import reloc_type
    t = ctx.target
    parts = [s.rows for s in (ctx.rela_dyn, ctx.rela_plt) if s is not None and getattr(s, "rows", None) is not None]
    if not parts:
        return
    rows = np.concatenate(parts)
    typ = reloc_type(rows["r_info"])
    at = rows["r_offset"].astype(np.int64) + np.where(typ == t.R_TLSDESC, t.WORD, 0)
    keep = isin(typ, [t.R_ABS, t.R_RELATIVE, t.R_IRELATIVE, t.R_DTPOFF, t.R_TPOFF, t.R_TLSDESC])
    at, addend = at[keep], rows["r_addend"][keep]
    # run-time address -> file offset through the allocated output sections
    secs = sorted((o for o in ctx.sections_out if o.flags & SHF_ALLOC and o.type != SHT_NOBITS and o.size),
                  key=lambda o: o.addr)
    starts = np.array([o.addr for o in secs], np.int64)
    k = np.searchsorted(starts, at, side="right") - 1
    ok = k >= 0
    ends = np.array([o.addr + o.size for o in secs], np.int64)
    ok[ok] = at[ok] + t.WORD <= ends[k[ok]]
    offs = np.array([o.offset for o in secs], np.int64)
    pos = offs[k[ok]] + at[ok] - starts[k[ok]]
    reloc_policy.put(out, pos, addend[ok], t.WORD, t.LITTLE)


def _write_symtab(ctx, out):
    ctx.symtab_sec.finish(ctx)
    _put_chunk(out, ctx.symtab_sec, ctx.symtab_sec.data)


def _put_chunk_at(out, chunk, offset, data):
    start = chunk.output.offset + chunk.out_offset + offset
    out[start:start + len(data)] = data


def _put_chunk(out, chunk, data):
    start = chunk.output.offset + chunk.out_offset
    out[start:start + len(data)] = data


def _copy_and_relocate(ctx, out, n, code_fill):
    """Steps 1 and 2 of _write_all over n processes: the parent and forked workers
    (one fork each for the whole write: forking a big link costs tens of ms) each
    copy a share of the section bytes (parallel.plan_copy), wait until every share
    is copied, then apply a share of the relocations (parallel.plan_rows), straight
    into the shared output map; the last worker then fills .symtab (it needs
    addresses, not relocated bytes).  What relocation leaves besides bytes
    (reloc_policy.Deferred: dynamic relocations, overflow reports, GOT values,
    IPLT resolvers) comes back from each worker and is merged in row order, and
    errors are raised in share order, so the output and the messages are a serial
    run's."""
    from ldpy import parallel
    rt = ctx.relocs
    copies = parallel.plan_copy(ctx.sections_out, n, [f.view for f in ctx.files])
    # .symtab beside, unless --emit-relocs needs its indexes here; the process that
    # fills it relocates nothing (llvm-big: .symtab costs as much as all relocation,
    # and the parent also synthesizes the address-dependent sections meanwhile)
    ctx.symtab_beside = not ctx.emit_rela and parallel.symtab_beside(ctx, n)
    rels = [[]]
    if not rt.empty:
        if ctx.emit_rela:
            rt.place()              # (--emit-relocs reads every entry's P and pos)
        else:
            rt.start_places()
        # (AArch64 relocates in one process: its erratum fix needs the whole table)
        rels = parallel.plan_rows(rt.sec_first, rt.blocks, n - ctx.symtab_beside) \
            if ctx.target.APPLY_IN_BLOCKS else [[(0, len(rt.offset))]]
    k = max(len(copies), len(rels) + ctx.symtab_beside, 2 if ctx.symtab_beside else 1)
    part = lambda shares, i: shares[i] if i < len(shares) else []
    copy = lambda items: parallel.copy_share(out, items, code_fill, copy_output_section)
    # a worker that relocates or fills .symtab waits until every share is copied
    waits = [bool(part(rels, i)) or (ctx.symtab_beside and i == k - 1) for i in range(k)]
    if k > 1:
        from ldpy import heap
        heap.stop()             # (its faulting ahead would compete with the workers for the cores)
    workers = ctx.write_workers = [
        parallel.Beside(lambda receive, send, i=i: _write_share(
            ctx, out, copy, part(copies, i), part(rels, i), ctx.symtab_beside and i == k - 1, receive, send),
            talk=True) for i in range(1, k)]
    copy(copies[0])
    for w, wait in zip(workers, waits[1:]):     # (errors in share order: a serial run's first)
        w.message() if wait else w.result()
    ctx.passes.lap("copy sections")
    ctx.write_workers = [w for w, wait in zip(workers, waits[1:]) if wait]
    for w in ctx.write_workers:
        w.send(None)                            # every share is copied
    deferred = reloc_policy.Deferred()
    _apply_blocks(ctx, rt, rels[0], out, deferred)
    for w, blocks in zip(workers, rels[1:]):
        if blocks:
            deferred.merge(ctx, w.message())
    if not rt.empty:
        deferred.finish(ctx, rt)
    ctx.passes.lap("relocate")


def _write_share(ctx, out, copy, items, blocks, symtab, receive, send):
    """A worker's part of _copy_and_relocate (see there)."""
    copy(items)
    if blocks or symtab:
        send("copied")
        receive()
    if blocks:
        deferred = reloc_policy.Deferred(log=True)
        _apply_blocks(ctx, ctx.relocs, blocks, out, deferred)
        send(deferred.share())
    if symtab:
        _write_symtab(ctx, out)


def _apply_blocks(ctx, rt, blocks, out, deferred):
    """Apply the relocations of rows [lo, hi) of each block, into `out`; what
    must keep row order goes to `deferred`."""
    for lo, hi in blocks:
        rows = rt.rows(lo, hi, deferred.overflows)
        S, A = reloc_targets(ctx, rows, deferred)
        tomb = _tombstones(ctx, rows)
        if tomb is not None:
            rows.plan.skip = rows.plan.skip | tomb
        reloc_policy.apply(ctx, rows, S, A, out, deferred)
        if tomb is not None:
            _write_tombstones(ctx, rows, tomb, out)
        deferred.rows += hi - lo


def reloc_targets(ctx, rt, deferred):
    """S and A of every relocation of rt: the symbol's address and the addend, but
    a merge section's piece for section symbols (value + addend mapped, addend 0)
    and an IFUNC's IPLT entry."""
    keys, ids = ctx.keys, ctx.section_ids
    S = keys.addr[rt.key]
    A = rt.addend.copy()
    # section symbols of merge sections: the target is (value + addend) mapped through pieces
    li = np.where(rt.is_local, rt.key - keys.G, 0)
    m = rt.is_local & keys.loc_in_sec[li] & ((keys.loc_info[li] & 0xf) == STT_SECTION)
    m &= ids.merge[keys.loc_gsec[li]]
    if m.any():
        S[m] = ctx.merge_map.map(keys.loc_gsec[li[m]], keys.loc_value[li[m]] + A[m])
        A[m] = 0
    if ctx.shrink is not None:
        # a section symbol + addend into a section that lost bytes: the addend moves too
        m = rt.is_local & keys.loc_in_sec[li] & ((keys.loc_info[li] & 0xf) == STT_SECTION)
        if m.any():
            A[m] = ctx.shrink.map_addends(keys.loc_gsec[li[m]], np.zeros(int(m.sum()), np.int64), A[m])
    ifm = keys.ifunc[rt.key]
    if ifm.any():
        ifm &= isin(rt.key, ctx.iplt.keys)    # (the others: IRELATIVE pointers, preemptible)
    if ifm.any():
        iplt = ctx.iplt
        k = rt.key[ifm]
        deferred.record_resolvers(ctx, k, S[ifm])
        S[ifm] = iplt.entry_addresses(k)
    return S, A


def _write_tombstones(ctx, rt, tomb, out):
    """GNU ld's tombstone: the field becomes 0, or 1 in .debug_ranges (0 would end the list)."""
    idx = np.flatnonzero(tomb)
    width = ctx.target.WIDTH[rt.type[idx]]
    for w in unique(width).tolist():
        if w:
            p = rt.pos[idx[width == w]]
            out[p[:, None] + np.arange(w)] = 0
    ranges = rt.sections_named(".debug_ranges")
    one = idx[ranges[rt.sec_ordinal[idx]] & (width > 0)]
    if len(one):
        w = ctx.target.WIDTH[rt.type[one]]
        out[rt.pos[one] + (0 if ctx.target.LITTLE else w - 1)] = 1


def _tombstones(ctx, rt):
    """Relocations of non-allocated sections (debug information) against symbols in
    removed sections (--gc-sections, discarded COMDAT copies, /DISCARD/); None if none."""
    nonalloc = ~rt.alloc
    if not nonalloc.any():
        return None
    keys, ids = ctx.keys, ctx.section_ids
    loc = rt.is_local
    lk = np.where(loc, rt.key - keys.G, 0)
    dead = loc & keys.loc_in_sec[lk] & ~ids.live[keys.loc_gsec[lk]]
    gdead = ctx.gdead
    if gdead is not None and gdead.any():
        gk = np.where(loc, 0, rt.key)
        dead |= ~loc & gdead[gk]
    if ids.fold is not None:        # --icf: folded code, but .debug_line keeps it (as lld)
        folded = loc & keys.loc_in_sec[lk] & ids.folded[keys.loc_gsec[lk]]
        gf = ctx.icf_gfolded
        if gf is not None and len(gf):
            folded |= ~loc & gf[np.where(loc, 0, np.minimum(rt.key, len(gf) - 1))] & (rt.key < len(gf))
        dead |= folded & ~rt.sections_named(".debug_line")[rt.sec_ordinal]
    tomb = nonalloc & dead
    return tomb if tomb.any() else None


def _write_headers(ctx, out, changed=None):
    """ELF header, program headers and section headers; `changed` overrides the
    fields of sections --compress-debug-sections packed again (compress.py)."""
    t = ctx.target
    dt = dtypes(t.IS64, t.LITTLE)
    outs = ctx.sections_out
    eh = np.zeros(1, dt.ehdr)
    # ELFOSABI_GNU when IFUNC or GNU_UNIQUE symbols are used, as GNU ld marks them
    eh["e_ident"] = elf_ident(t, _uses_gnu_extensions(ctx))
    eh["e_type"] = ET_DYN if ctx.config.pie or ctx.config.shared else ET_EXEC
    eh["e_machine"] = t.MACHINE
    eh["e_version"] = 1
    eh["e_flags"] = t.output_flags(ctx)
    eh["e_entry"] = entry_address(ctx) & 0xffffffffffffffff
    phoff = ctx.phoff or dt.ehdr.itemsize   # (PHDRS may put them elsewhere)
    eh["e_phoff"] = phoff
    eh["e_shoff"] = ctx.shoff
    eh["e_ehsize"] = dt.ehdr.itemsize
    eh["e_phentsize"] = dt.phdr.itemsize
    eh["e_phnum"] = len(ctx.phdrs)
    eh["e_shentsize"] = dt.shdr.itemsize
    eh["e_shnum"] = len(outs) + 1
    eh["e_shstrndx"] = next(o.index for o in outs if o.name == ".shstrtab")
    out[:dt.ehdr.itemsize] = eh.view(np.uint8)
    ph = np.zeros(len(ctx.phdrs), dt.phdr)
    for i, p in enumerate(ctx.phdrs):
        ph[i] = _phdr_tuple(dt, p)
    out[phoff:phoff + ph.nbytes] = ph.view(np.uint8)
    sh = np.zeros(len(outs) + 1, dt.shdr)
    names = ctx.shstrtab_offsets
    by_name = {o.name: o for o in outs}
    idx = lambda name: by_name[name].index if name in by_name else 0
    dynsym_link = {".dynsym": ".dynstr", ".hash": ".dynsym", ".gnu.hash": ".dynsym",
                   ".gnu.version": ".dynsym", ".gnu.version_r": ".dynstr", ".dynamic": ".dynstr",
                   ".gnu.version_d": ".dynstr",
                   ".rela.dyn": ".dynsym", ".rela.plt": ".dynsym", ".symtab": ".strtab",
                   ".rel.dyn": ".dynsym", ".rel.plt": ".dynsym"}
    entsizes = {".dynsym": dt.sym.itemsize, ".symtab": dt.sym.itemsize, ".hash": 4,
                ".gnu.version": 2, ".dynamic": dt.dyn.itemsize, ".rela.dyn": dt.rela.itemsize,
                ".rela.plt": dt.rela.itemsize, ".got": dt.addr_size, ".got.plt": dt.addr_size,
                ".plt": ctx.target.PLT_SH_ENTSIZE, ".relr.dyn": dt.addr_size, ".rel.dyn": dt.rel.itemsize, ".rel.plt": dt.rel.itemsize,
                ".gnu.hash": 4 if dt.addr_size == 4 else 0}     # (BFD: 4 in ELF32, none in ELF64)
    for o in outs:
        link = idx(dynsym_link.get(o.name, "")) if o.name in dynsym_link else 0
        if o.type in (SHT_RELA, SHT_REL) and ".dynsym" not in by_name:
            link = idx(".symtab")          # static IRELATIVE relocations: ld.bfd links .symtab
        info = 0
        entsize = entsizes.get(o.name, o.entsize) if o.type != 0x60000002 else 1    # (APS2: bytes)
        if o.name == ".symtab":
            info = ctx.symtab_sec.first_global
        elif o.name == ".dynsym":
            info = 1 + getattr(ctx.dynsyms, "n_local", 0)
        elif o.name == ".gnu.version_r":     # (a script may give these names to input sections)
            info = getattr(ctx.verneed_sec, "count", 0)
        elif o.name == ".gnu.version_d":
            info = getattr(ctx.verdef_sec, "count", 0)
        elif o.name in (".rela.plt", ".rel.plt"):
            info = idx(ctx.target.GOTPLT_SECTION)
        elif o.chunks and getattr(o.chunks[0], "entsize", 0) and _extra_flags(o) & 0x10:
            entsize = o.chunks[0].entsize
        name, flags, offset, size, align = o.name, o.flags | _extra_flags(o), o.offset, o.size, o.align
        if info and o.type in (SHT_RELA, SHT_REL) and o.flags & 2:
            flags |= 0x40           # SHF_INFO_LINK: only with the section it applies to (BFD)
        if getattr(o, "emit_target", None) is not None:     # --emit-relocs' .rela.X
            link, info, flags = idx(".symtab"), o.emit_target.index, flags | 0x40
        if ctx.plugins is not None and ctx.plugins.links:
            link = ctx.plugins.sh_link(o, link)      # a plugin's link_sections
        if changed and o in changed:
            name, f, offset, size, align = changed[o]
            flags |= f or 0
        sh[o.index] = (names.get(name, 0), o.type, flags, o.addr & 0xffffffffffffffff, offset,
                       size, link, info, align, entsize)
    out[ctx.shoff:ctx.shoff + sh.nbytes] = sh.view(np.uint8)


def elf_ident(target, osabi_gnu):
    """e_ident of an output for `target`: magic, class, byte order, version, OS/ABI."""
    ident = np.zeros(16, np.uint8)
    ident[:4] = np.frombuffer(ELFMAG, np.uint8)
    ident[4] = ELFCLASS64 if target.IS64 else ELFCLASS32
    ident[5] = ELFDATA2LSB if target.LITTLE else ELFDATA2MSB
    ident[6] = 1
    if osabi_gnu:
        ident[7] = 3
    return ident


def _uses_gnu_extensions(ctx):
    if ctx.keys is not None and ctx.keys.ifunc.any():
        return True
    return any(f.first_global < len(f.symbols) and
               bool(((f.symbols["st_info"][f.first_global:] >> 4) == 10).any()) for f in ctx.files)


def _extra_flags(o):
    """SHF_MERGE|SHF_STRINGS of the chunks when every chunk has SHF_STRINGS (the test
    stops at the first that has not: llvm-big's .text has 110k chunks)."""
    f = 0
    if all(c.flags & 0x10 for c in o.chunks):
        for c in o.chunks:
            f |= c.flags & 0x30
    return f


def _phdr_tuple(dt, p):
    m = 0xffffffffffffffff if dt.is64 else 0xffffffff
    p.vaddr &= m
    paddr = p.vaddr if p.paddr is None else p.paddr & m
    if dt.is64:
        return (p.type, p.flags, p.offset, p.vaddr, paddr, p.filesz, p.memsz, p.align)
    return (p.type, p.offset, p.vaddr, paddr, p.filesz, p.memsz, p.flags, p.align)


def entry_address(ctx):
    from ldpy.diag import warn
    # a SECTIONS script of the user's replaces ld's default script and its
    # ENTRY(_start): then GNU ld quietly tries `start`, then the start of .text
    fallback = "start" if ctx.user_sections else "_start"
    name = ctx.config.entry or ctx.script_entry or fallback
    try:
        return int(name, 0)
    except ValueError:
        pass
    sym = ctx.symtab.get(name.encode())
    if sym is not None and sym.kind != UNDEF:
        return int(ctx.gaddr[sym.gid])
    # GNU ld: the address of .text (even empty), else no start address
    text = ctx.outputs.by_name.get(".text")
    addr = text.addr if text is not None else 0
    if text is not None and not text.index and not addr:
        from ldpy.script.layout import empty_text_address
        addr = empty_text_address(ctx)
    quiet = fallback == "start" and not (ctx.config.entry or ctx.script_entry)
    if not ctx.config.shared and not quiet:
        warn(f"cannot find entry symbol {name}; " + (f"defaulting to {addr & 0xffffffffffffffff:0{16 if ctx.target.IS64 else 8}x}"
                                                     if text is not None else "not setting start address"))
    return addr
