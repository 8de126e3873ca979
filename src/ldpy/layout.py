"""Addresses and file offsets: segments laid out like GNU ld's `-z separate-code`
default (R headers, RX code, R data, RW data with RELRO first), then the
non-allocated sections and the section header table."""

from ldpy.diag import LinkError
from ldpy.elf.format import (PT_LOAD, PT_NOTE, PT_TLS, PT_GNU_EH_FRAME, PT_GNU_STACK, PT_GNU_RELRO,
                             PT_INTERP, PT_PHDR, PT_DYNAMIC, PT_GNU_PROPERTY, PF_R, PF_W, PF_X, SHF_TLS, SHT_NOBITS,
                             SHT_NOTE)
from ldpy.sections import R_HEAD, RX, R_DATA, RW, NONALLOC, RANK

SEG_FLAGS = {R_HEAD: PF_R, RX: PF_R | PF_X, R_DATA: PF_R, RW: PF_R | PF_W}


def relro_on(cfg):
    """-z relro, unless -N or -n: those outputs are not paged (GNU ld's scripts for
    them mark nothing RELRO)."""
    return cfg.relro and not (cfg.omagic or cfg.nmagic)


def align_up(x, a):
    return (x + a - 1) & ~(a - 1) if a > 1 else x


class Phdr:
    __slots__ = ("type", "flags", "offset", "vaddr", "paddr", "filesz", "memsz", "align", "sections",
                 "spec", "flags_given", "relro_end")

    def __init__(self, type_, flags, align=8):
        self.type, self.flags, self.align = type_, flags, align
        self.offset = self.vaddr = self.filesz = self.memsz = 0
        self.paddr = None             # load address when a script gives one (else vaddr)
        self.sections = []
        self.spec = None              # the PHDRS entry it comes from
        self.flags_given = False
        self.relro_end = 0


def place_chunks(out):
    off = 0
    for c in out.chunks:
        a = c.align
        off = (off + a - 1) & ~(a - 1)
        c.out_offset = off
        off += c.size
    out.size = off


def layout(ctx):
    cfg = ctx.config
    page = cfg.max_page_size
    outs = [o for o in ctx.outputs.sorted() if o.chunks]
    for o in outs:
        place_chunks(o)
    align_first_tls(outs)
    # keep empty sections only if something asks for them (symbols); drop them otherwise
    all_outs = outs
    outs = [o for o in outs if o.size or o.name in ctx.keep_empty]
    if ctx.config.emit_relocs:
        from ldpy.emit_relocs import with_rela_sections
        outs = with_rela_sections(ctx, outs)
    ctx.sections_out = outs
    alloc = [o for o in outs if o.seg_class != NONALLOC]
    seg_of = {R_HEAD: R_HEAD, RX: RX, R_DATA: R_DATA, RW: RW}
    seg_flags = dict(SEG_FLAGS)
    if not cfg.separate_code:
        # -z noseparate-code: headers, code and read-only data share one R+X segment
        seg_of = {R_HEAD: R_HEAD, RX: R_HEAD, R_DATA: R_HEAD, RW: RW}
        seg_flags[R_HEAD] = PF_R | PF_X
    if cfg.omagic or cfg.nmagic:
        # -N: text and data share one read-write-execute segment, nothing page-aligned;
        # -n too, with the writable sections a page further on at the same page offset
        # (GNU ld's `. = ALIGN(MAXPAGESIZE) + (. & (MAXPAGESIZE - 1))`)
        seg_of = {R_HEAD: R_HEAD, RX: R_HEAD, R_DATA: R_HEAD, RW: R_HEAD}
        seg_flags[R_HEAD] = PF_R | PF_W | PF_X
    classes = [c for c in (R_HEAD, RX, R_DATA, RW)
               if c == R_HEAD or (seg_of[c] == c and any(seg_of[o.seg_class] == c for o in alloc))]

    # program headers (their number decides where the first section goes)
    phdrs = []
    loads = {}
    if ctx.interp is not None:
        phdrs.append(Phdr(PT_PHDR, PF_R))
        phdrs.append(Phdr(PT_INTERP, PF_R, 1))
    for c in classes:
        loads[c] = Phdr(PT_LOAD, seg_flags[c], page)
        phdrs.append(loads[c])
    if ctx.dynamic is not None:
        phdrs.append(Phdr(PT_DYNAMIC, PF_R if cfg.rodynamic else PF_R | PF_W))
    note_groups = _note_groups(alloc)
    note_phdrs = [Phdr(PT_NOTE, PF_R, g[0].align) for g in note_groups]
    phdrs += note_phdrs
    tls = [o for o in alloc if o.flags & SHF_TLS]
    tls_phdr = Phdr(PT_TLS, PF_R, max(o.align for o in tls)) if tls else None
    if tls_phdr:
        phdrs.append(tls_phdr)
    # (GNU ld's order: PT_GNU_PROPERTY, then PT_GNU_EH_FRAME)
    prop = ctx.gnu_property.output if ctx.gnu_property is not None else None
    prop_phdr = Phdr(PT_GNU_PROPERTY, PF_R, prop.align) if prop is not None else None
    if prop_phdr:
        phdrs.append(prop_phdr)
    ehdr_sec = next((o for o in alloc if o.name == ".eh_frame_hdr"), None)
    eh_phdr = Phdr(PT_GNU_EH_FRAME, PF_R, 4) if ehdr_sec else None
    if eh_phdr:
        phdrs.append(eh_phdr)
    stack = gnu_stack_flags(ctx)
    if stack is not None:
        stack_phdr = Phdr(PT_GNU_STACK, stack, 16)
        stack_phdr.memsz = cfg.stack_size or 0     # -z stack-size: what the loader maps
        phdrs.append(stack_phdr)
    # RELRO: what the default script puts between DATA_SEGMENT_ALIGN and
    # DATA_SEGMENT_RELRO_END, orphans placed there (TLS ones) included
    relro_top = RANK[".got.plt"] if cfg.now else RANK[".got"]
    relro = [o for o in alloc if o.seg_class == RW and o.rank <= relro_top] if relro_on(cfg) else []
    relro_phdr = Phdr(PT_GNU_RELRO, PF_R, 1) if relro else None
    if relro_phdr:
        phdrs.append(relro_phdr)
    ctx.phdrs = phdrs

    base = ctx.image_base
    ehsize, phentsize = (64, 56) if ctx.target.IS64 else (52, 32)
    headers = ehsize + phentsize * len(phdrs)
    addr, off = base + headers, headers
    for c in classes:
        secs = [o for o in alloc if seg_of[o.seg_class] == c]
        seg = loads[c]
        first_addr = None
        if c == R_HEAD:
            seg_addr, seg_off = base, 0
            first_addr = base + headers
        elif c == RW:
            seg_off = off
            seg_addr = align_up(addr, page) + (off & (page - 1))
        else:
            seg_off = align_up(off, page)
            seg_addr = align_up(addr, page)
        relro_page = None
        if c == RW and relro:
            # shift the segment so that RELRO ends on a page boundary with little padding
            big = max(o.align for o in secs)
            delta = align_up(seg_addr, big) - seg_addr
            seg_addr, seg_off = seg_addr + delta, seg_off + delta
            size = _place(secs, seg_addr, seg_off, relro, None) - seg_addr
            relro_page = max(cfg.common_page_size, page)   # (ld.bfd: RELRO ends on a max page)
            target = align_up(seg_addr + size, relro_page)
            delta = ((target - size) & ~(big - 1)) - seg_addr
            seg_addr, seg_off = seg_addr + delta, seg_off + delta
        split = len(secs)
        if cfg.nmagic and not cfg.omagic and c == R_HEAD:
            split = next((i for i, o in enumerate(secs) if o.seg_class == RW), len(secs))
        _place(secs[:split], seg_addr, seg_off, relro, first_addr, relro_page,
               warn_align=cfg.warn_section_align)
        if split < len(secs):
            done = secs[:split]
            end = max([o.addr + o.size for o in done if not (o.flags & SHF_TLS and o.type == SHT_NOBITS)]
                      + [first_addr if first_addr is not None else seg_addr])
            rw_addr = end + (page if end & (page - 1) else 0)
            _place(secs[split:], seg_addr, seg_off, relro, rw_addr, warn_align=cfg.warn_section_align)
        seg.vaddr, seg.offset = seg_addr, seg_off
        file_end = seg_off
        mem_end = seg_addr
        for o in secs:
            end = o.addr + o.size
            if o.flags & SHF_TLS and o.type == SHT_NOBITS:
                continue
            mem_end = max(mem_end, end)
            if o.type != SHT_NOBITS:
                file_end = max(file_end, o.offset + o.size)
        if c == R_HEAD:
            file_end = max(file_end, headers)
            mem_end = max(mem_end, base + headers)
        seg.filesz = file_end - seg_off
        seg.memsz = mem_end - seg_addr
        seg.sections = secs
        addr, off = mem_end, file_end

    for p, g in zip(note_phdrs, note_groups):
        _cover(p, g)
    if tls_phdr:
        _cover(tls_phdr, tls)
        tdata_end = max((o.addr + o.size for o in tls if o.type != SHT_NOBITS), default=tls_phdr.vaddr)
        tls_phdr.filesz = tdata_end - tls_phdr.vaddr
        ctx.tls_start = tls_phdr.vaddr
        ctx.tls_end = tls_phdr.vaddr + align_up(tls_phdr.memsz, tls_phdr.align)
        ctx.tls_align = tls_phdr.align
    if eh_phdr:
        _cover(eh_phdr, [ehdr_sec])
    if prop_phdr:
        _cover(prop_phdr, [prop])
    if relro_phdr:
        # .tbss occupies no address space in the segment (what follows overlaps it):
        # RELRO ends after the last section that does, never at .tbss's end
        _cover(relro_phdr, relro)
        relro_phdr.memsz = max(o.addr + (0 if _is_tbss(o) else o.size) for o in relro) - relro_phdr.vaddr
        relro_phdr.memsz = relro_phdr.filesz = align_up(relro_phdr.vaddr + relro_phdr.memsz,
                                                        max(cfg.common_page_size, page)) - relro_phdr.vaddr
    if ctx.interp is not None:
        phdr = phdrs[0]
        phdr.vaddr, phdr.offset = base + ehsize, ehsize
        phdr.filesz = phdr.memsz = phentsize * len(phdrs)
        _cover(phdrs[1], [ctx.interp.output])
    if ctx.dynamic is not None:
        _cover(next(p for p in phdrs if p.type == PT_DYNAMIC), [ctx.dynamic.output])

    # non-allocated sections, then the section header table
    for o in outs:
        if o.seg_class == NONALLOC:
            off = align_up(off, o.align)
            o.offset, o.addr = off, 0
            off += o.size if o.type != SHT_NOBITS else 0
    ctx.shoff = align_up(off, 8)
    top = max((o.addr + o.size for o in alloc), default=0)
    if top >= 1 << 63 or ctx.shoff >= 1 << 40:
        # name the culprit: the output section that ends highest (or is biggest in the
        # file) and its biggest input section, e.g. a .bss claiming 2^64 bytes
        if top >= 1 << 63:
            o = max(alloc, key=lambda o: o.addr + o.size)
            what = f"section {o.name} wraps around the address space (it ends at {o.addr + o.size:#x})"
        else:
            o = max(outs, key=lambda o: o.size if o.type != SHT_NOBITS else 0)
            what = f"the output file would be {ctx.shoff:#x} bytes (section {o.name} has {o.size:#x})"
        chunks = [c for c in o.chunks if c.is_input and hasattr(c, "where")]
        if chunks:
            big = max(chunks, key=lambda c: c.size)
            what = f"{big.where()}: input section of {big.size:#x} bytes: {what}"
        raise LinkError(what)
    for i, o in enumerate(outs):
        o.index = i + 1
    # empty sections are not output; symbols defined in them (crtend.o's __TMC_END__)
    # sit where the section would have started and belong to a neighbour, as in GNU ld
    kept = [o for o in all_outs if o.size or o.name in ctx.keep_empty]
    prev, k = None, 0
    for o in all_outs:
        if o.size or o.name in ctx.keep_empty:
            prev, k = o, k + 1
        elif prev is not None and prev.flags & 2 and o.flags & 2:
            # (at its own alignment, as GNU ld sizes the empty section before dropping it)
            a = align_up(prev.addr + prev.size, o.align)
            n = nearby_section(prev, o, kept[k] if k < len(kept) else None, a)
            o.addr, o.offset, o.index = a, n.offset + (a - n.addr), n.index
    ctx.file_size = ctx.shoff + (64 if ctx.target.IS64 else 40) * (len(outs) + 1)   # + the null header


def nearby_section(prev, sec, nxt, addr):
    """The kept output section that stands in for `sec`, which is not output (bfd's
    _bfd_nearby_section): of the kept sections before and after it, the one that
    looks like the same segment, else the one the address lies in."""
    if prev is None or nxt is None:
        return prev if nxt is None else nxt

    def kind(o, part):
        if part == "alloc":
            return bool(o.flags & 2)
        if part == "tls":
            return bool(o.flags & SHF_TLS)
        if part == "load":
            return bool(o.flags & 2 and o.type != SHT_NOBITS)
        if part == "ro":
            return not o.flags & 1
        return bool(o.flags & 4)

    def differ(a, b, parts):
        return any(kind(a, p) != kind(b, p) for p in parts)

    if differ(prev, nxt, ("alloc", "tls", "load")):
        if differ(nxt, sec, ("alloc", "tls")) or (kind(prev, "load") and not kind(nxt, "load")):
            return prev
        return nxt
    if differ(prev, nxt, ("ro",)):
        return prev if differ(nxt, sec, ("ro",)) else nxt
    if differ(prev, nxt, ("code",)):
        return prev if differ(nxt, sec, ("code",)) else nxt
    return prev if addr < nxt.addr else nxt


def empty_text_address(ctx):
    """Where GNU ld's default script puts an empty .text (it reports that address as
    the entry point when there is no _start): after the read-only sections, on a
    new page with -z separate-code."""
    cfg = ctx.config
    ends = [o.addr + o.size for o in ctx.outputs.sorted() if o.index and o.flags & 2 and not o.flags & 5]
    end = max(ends, default=ctx.image_base + (64 if ctx.target.IS64 else 52))
    return align_up(end, cfg.max_page_size) if cfg.separate_code else end


def gnu_stack_flags(ctx):
    """PT_GNU_STACK's flags, or None for no PT_GNU_STACK: GNU ld makes one when
    -z execstack/noexecstack or -z stack-size is given or an input object has a
    .note.GNU-stack section (executable when such a note is SHF_EXECINSTR)."""
    cfg = ctx.config
    if cfg.execstack is not None:
        return PF_R | PF_W | (PF_X if cfg.execstack else 0)
    note = execute = False
    for f in ctx.files:
        names = getattr(f, "section_names", None)
        if not names or ".note.GNU-stack" not in names:
            continue
        note = True
        i = names.index(".note.GNU-stack")
        if int(f.shdrs["sh_flags"][i]) & 4:
            execute = True
            break
    if note or cfg.stack_size:
        return PF_R | PF_W | (PF_X if execute else 0)
    return None


def align_first_tls(outs):
    """The first TLS output section gets the largest TLS alignment, so that the
    TLS segment starts aligned (GNU ld's _bfd_elf_tls_setup)."""
    tls = [o for o in outs if o.flags & SHF_TLS and o.flags & 2 and (o.size or o.chunks)]
    if tls:
        tls[0].align = max(o.align for o in tls)


def _place(secs, addr, off, relro, first_addr=None, relro_page=None, warn_align=False):
    """Assign addresses and offsets to one segment's sections; return the end of
    the last RELRO section when `relro` is given."""
    seg_addr, seg_off = addr, off
    if first_addr is not None:
        addr = first_addr
    end_relro = addr
    file_pos = None       # after the last section with contents: NOBITS sections' sh_offset
    for o in secs:
        if o.flags & SHF_TLS and o.type == SHT_NOBITS:
            # .tbss takes no room in the segment: what follows overlaps it (from its
            # aligned start, as GNU ld's `.` does); its sh_offset is where the file
            # stands, unaligned (BFD, pr12921)
            addr = o.addr = align_up(addr, o.align)
            o.offset = file_pos if file_pos is not None else seg_off + (addr - seg_addr)
            if relro is not None and o in relro:
                end_relro = max(end_relro, addr)
            continue
        aligned = align_up(addr, o.align)
        if warn_align and aligned != addr:
            from ldpy.diag import warn
            warn(f"start of section {o.name} changed by {aligned - addr}")
        addr = aligned
        o.addr = addr
        if o.type == SHT_NOBITS and file_pos is not None:
            o.offset = file_pos
        else:
            o.offset = seg_off + (addr - seg_addr)
        addr += o.size
        if o.type != SHT_NOBITS:
            file_pos = o.offset + o.size
        if relro is not None and o in relro:
            end_relro = addr
            if relro_page and o is relro[-1]:
                addr = align_up(addr, relro_page)      # the rest of the segment stays writable
    return end_relro


def _is_tbss(o):
    return bool(o.flags & SHF_TLS) and o.type == SHT_NOBITS


def _cover(p, secs):
    start = min(o.addr for o in secs)
    p.vaddr = start
    p.offset = min(o.offset for o in secs)
    p.memsz = max(o.addr + o.size for o in secs) - start
    p.filesz = max((o.offset + o.size for o in secs if o.type != SHT_NOBITS), default=p.offset) - p.offset


def _note_groups(alloc):
    groups = []
    prev = None
    for o in alloc:
        if o.type == SHT_NOTE:
            if groups and prev is groups[-1][-1] and prev.align == o.align:
                groups[-1].append(o)
            else:
                groups.append([o])
        prev = o
    return groups
