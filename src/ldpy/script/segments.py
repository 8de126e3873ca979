"""Program headers and file offsets of a scripted link, the way GNU ld's BFD
makes them: first a segment map (which output sections go in which
segment: PHDRS when the script has it, else the automatic rules), then file
positions, segment by segment in load-address order.

The automatic map (BFD's _bfd_elf_map_sections_to_segments):
* sections sorted by LMA, then VMA; a new PT_LOAD starts when the LMA-VMA
  difference changes, when LMAs overlap, when a page would be skipped, after
  a NOBITS section, at a code/non-code switch with -z separate-code, at the
  first writable section after read-only ones (except on a shared page), and
  when two sections are in different MEMORY regions (ld's override);
* the ELF and program headers are loaded with the first section when the
  script used SIZEOF_HEADERS, when there is room before the first section in
  its page, or with PT_INTERP; with -z separate-code and code first they get
  their own read-only PT_LOAD, one page below when they share its page.

File positions (BFD's assign_file_positions_for_load_sections): each
PT_LOAD's offset is congruent to its address modulo the page size; a
section's LMA below the end of its segment is moved up (with BFD's warning);
the headers sit at the start of the segment that includes them.
"""
from ldpy.diag import LinkError, diag
from ldpy.elf.format import (PT_LOAD, PT_NOTE, PT_TLS, PT_GNU_EH_FRAME, PT_GNU_STACK, PT_GNU_RELRO,
                             PT_INTERP, PT_PHDR, PT_DYNAMIC, PT_GNU_PROPERTY, PF_R, PF_W, PF_X,
                             SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_TLS, SHT_NOBITS, SHT_NOTE)


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


class SegMap:
    """One entry of the segment map, before addresses are known."""
    __slots__ = ("type", "sections", "filehdr", "phdrs", "paddr", "vaddr_offset", "flags",
                 "align", "idx", "spec")

    def __init__(self, type_, sections=(), filehdr=False, phdrs=False):
        self.type = type_
        self.sections = list(sections)
        self.filehdr, self.phdrs = filehdr, phdrs
        self.paddr = None            # p_paddr when given (AT, or BFD's header segment)
        self.vaddr_offset = 0
        self.flags = None            # p_flags when given (FLAGS, or fixed like PT_TLS's R)
        self.align = None            # p_align when given
        self.idx = 0
        self.spec = None


def _loaded(o):
    return o.type != SHT_NOBITS


def _tbss(o):
    return o.flags & SHF_TLS and o.type == SHT_NOBITS


def _sort_key(o, i):
    """BFD's elf_sort_sections: LMA, VMA, non-loaded sections with a size last,
    then zero-sized first, then output order."""
    toend = not _loaded(o) and not o.flags & SHF_TLS and o.size != 0
    return (o.lma, o.addr, toend, o.size if _loaded(o) else 0, i)


def _sorted(secs, order):
    return sorted(secs, key=lambda o: _sort_key(o, order[id(o)]))


def _page_down(x, page):
    return x & -page


# -- the automatic segment map ---------------------------------------------------

def auto_map(ctx, alloc, load_phdrs, header_size, stack_flags, relro, others=()):
    """alloc: allocated output sections in output order (each with .region);
    others: the sections not allocated (a target may give one a segment)."""
    cfg = ctx.config
    page = cfg.max_page_size
    paged = not (cfg.nmagic or cfg.omagic)
    order = {id(o): i for i, o in enumerate(alloc)}
    sections = _sorted(alloc, order)
    maps = []
    extra = []
    for o in others:
        # (RISC-V's PT_RISCV_ATTRIBUTES over .riscv.attributes: before the first
        # PT_LOAD, as ld.bfd puts it)
        if o.type in ctx.target.SECTION_SEGMENTS and o.size:
            m = SegMap(ctx.target.SECTION_SEGMENTS[o.type], [o])
            m.flags, m.align = PF_R, 1
            extra.append(m)
    phdr_in_segment = load_phdrs
    if sections and sections[0].lma % page >= header_size % page:
        phdr_in_segment = True            # room was left for the headers
    interp = ctx.interp.output if ctx.interp is not None else None
    if interp is not None and interp in alloc and interp.size:
        m = SegMap(PT_PHDR, phdrs=True)
        m.flags = PF_R
        maps.append(m)
        maps.append(SegMap(PT_INTERP, [interp]))
        phdr_in_segment = True
    if not paged:
        # -N / -n: BFD loads no headers (its outputs are not D_PAGED, and a static
        # glibc program then fails on an undefined __ehdr_start); ldpy loads them
        # from offset 0 of the one segment when the script counted them
        # (SIZEOF_HEADERS), so such programs link and run
        phdr_in_segment = load_phdrs
    if phdr_in_segment and sections:
        first = sections[0]
        phdr_lma = _page_down(first.lma - header_size, page)
        separate = False
        if paged and cfg.separate_code and first.flags & SHF_EXECINSTR:
            # code first: the headers get their own read-only segment
            separate = True
            if _page_down(phdr_lma + header_size - 1, page) == _page_down(first.lma, page):
                if phdr_lma >= page:
                    phdr_lma -= page
                else:
                    separate = False
        if first.lma < phdr_lma or first.lma < header_size:
            phdr_in_segment = False
        elif separate:
            m = SegMap(PT_LOAD, filehdr=True, phdrs=True)
            m.paddr = phdr_lma
            m.vaddr_offset = _page_down(first.addr - header_size, page)
            maps.append(m)
            phdr_in_segment = False
    start = 0
    last = None
    last_size = 0
    writable = executable = False
    for i, o in enumerate(sections):
        if last is None:
            new = False
        elif last.lma - last.addr != o.lma - o.addr:
            new = True                         # another VMA/LMA relation
        elif o.lma < last.lma + last_size:
            new = True                         # overlapping load addresses
        elif paged and _page_down(last.lma + last_size - 1, page) == _page_down(o.lma, page):
            new = False                        # the same page cannot be mapped twice
        elif _align(last.lma + last_size, page) + page <= o.lma:
            new = True                         # a page would be skipped
        elif not _loaded(last) and not last.flags & SHF_TLS and (_loaded(o) or o.flags & SHF_TLS):
            new = True                         # loaded data after .bss
        elif not paged:
            new = False
        elif cfg.separate_code and executable != bool(o.flags & SHF_EXECINSTR):
            new = True
        elif not writable and o.flags & SHF_WRITE:
            new = True
        else:
            new = False
        if last is not None and not new and getattr(o, "region", None) is not getattr(last, "region", None):
            new = True                         # ld: sections of different MEMORY regions
        if new:
            m = SegMap(PT_LOAD, sections[start:i], phdr_in_segment, phdr_in_segment)
            maps.append(m)
            start = i
            writable = executable = False
            phdr_in_segment = False
        writable |= bool(o.flags & SHF_WRITE)
        executable |= bool(o.flags & SHF_EXECINSTR)
        last = o
        last_size = 0 if _tbss(o) else o.size
    if last is not None and (len(sections) - start != 1 or not _tbss(last)):
        maps.append(SegMap(PT_LOAD, sections[start:], phdr_in_segment, phdr_in_segment))
    dyn = ctx.dynamic.output if ctx.dynamic is not None else None
    if dyn is not None and dyn in alloc:
        maps.append(SegMap(PT_DYNAMIC, [dyn]))
    # PT_NOTE for each run of loaded notes with one alignment, back to back
    i = 0
    tls = []
    while i < len(alloc):
        o = alloc[i]
        if o.type == SHT_NOTE:
            run = [o]
            while i + 1 < len(alloc):
                n = alloc[i + 1]
                prev = run[-1]
                if n.type == SHT_NOTE and n.align == o.align and _align(prev.lma + prev.size, o.align) == n.lma:
                    run.append(n)
                    i += 1
                else:
                    break
            maps.append(SegMap(PT_NOTE, run))
        if alloc[i].flags & SHF_TLS:
            tls.append(alloc[i])
        i += 1
    if tls:
        m = SegMap(PT_TLS, tls)
        m.flags = PF_R
        maps.append(m)
    prop = ctx.gnu_property.output if ctx.gnu_property is not None else None
    if prop is not None and prop in alloc and prop.size:
        m = SegMap(PT_GNU_PROPERTY, [prop])
        m.flags = PF_R
        maps.append(m)
    ehdr = ctx.eh_frame_hdr.output if ctx.eh_frame_hdr is not None else None
    if ehdr is not None and ehdr in alloc:
        maps.append(SegMap(PT_GNU_EH_FRAME, [ehdr]))
    if stack_flags is not None:
        m = SegMap(PT_GNU_STACK)
        m.flags, m.align = stack_flags, 16
        maps.append(m)
    if relro is not None:
        lo, hi = relro
        for m in maps:
            if m.type == PT_LOAD and m.sections and lo <= m.sections[0].addr < hi and \
                    any(s.size and _loaded(s) for s in m.sections):
                maps.append(SegMap(PT_GNU_RELRO))
                break
    if extra:
        at = next((i for i, m in enumerate(maps) if m.type == PT_LOAD), len(maps))
        maps[at:at] = extra
    return [m for m in maps if not (m.type == PT_LOAD and not m.sections and not m.phdrs)]


def _align(x, a):
    return (x + a - 1) // a * a if a > 1 else x


# -- PHDRS ---------------------------------------------------------------------------

def script_map(ctx, specs, statements, evaluate):
    """PHDRS: statements are (output section or None, [phdr names], noload) in
    script order; a section without :phdr goes where the one before went."""
    maps = []
    known = {s.name for s in specs}
    for st_out, names, _, where, name in statements:
        for n in names:
            if n not in known and n != "NONE":
                raise LinkError(f"{where}: section '{name}' assigned to non-existent phdr '{n}'")
    for spec in specs:
        ptype = evaluate(spec.type, spec.where)
        m = SegMap(ptype, filehdr=spec.filehdr, phdrs=spec.phdrs)
        m.spec = spec
        if spec.flags is not None:
            m.flags = evaluate(spec.flags, spec.where)
        if spec.at is not None:
            m.paddr = evaluate(spec.at, spec.where)
        last = None
        for k, (out, names, noload, where, _) in enumerate(statements):
            if names:
                last = names
                pl = names
            else:
                if noload or out is None or not out.flags & SHF_ALLOC:
                    continue
                if ptype == PT_INTERP:
                    continue
                if last is None:
                    last = next((n for _, n, _, _, _ in statements[k:] if n), None)
                    if last is None:
                        raise LinkError("no sections assigned to phdrs")
                pl = last
            if out is None:
                continue
            if spec.name in pl:
                m.sections.append(out)
        maps.append(m)
    return maps


# -- file positions ---------------------------------------------------------------------

def assign_positions(ctx, maps, header_count):
    """Phdrs with offsets, addresses and sizes; sets .offset of every section in a
    PT_LOAD.  Returns (phdrs, next file offset, e_phoff, the segment with the headers)."""
    cfg = ctx.config
    t = ctx.target
    ehsize, phent = (64, 56) if t.IS64 else (52, 32)
    paged = not (cfg.nmagic or cfg.omagic)
    maxpage = cfg.max_page_size if paged else 1
    file_align = 8 if t.IS64 else 4
    for i, m in enumerate(maps):
        m.idx = i
        if len(m.sections) > 1:
            order = {id(o): k for k, o in enumerate(m.sections)}
            m.sections = _sorted(m.sections, order)
    phdrs = [Phdr(m.type, 0, 0) for m in maps]

    def seg_key(m):
        lma = 0
        if m.type == PT_LOAD:
            if m.paddr is not None:
                lma = m.paddr
            elif m.sections:
                lma = m.sections[0].lma + m.vaddr_offset
        return (m.type, not m.filehdr, lma, m.idx)

    smaps = sorted(maps, key=seg_key)
    phoff = ehsize
    off = ehsize
    phdr_load = None
    for m in smaps:
        if m.type != PT_LOAD:
            break
        if m.phdrs:
            phdr_load = m
            break
    if phdr_load is None:
        off += header_count * phent
    placed = set()
    for m in smaps:
        p = phdrs[m.idx]
        p.sections = list(m.sections)
        p.flags = m.flags or 0
        p.vaddr = m.vaddr_offset if not m.sections else m.sections[0].addr + m.vaddr_offset
        if m.paddr is not None:
            p.paddr = m.paddr
        elif not m.sections:
            p.paddr = 0
        else:
            p.paddr = m.sections[0].lma + m.vaddr_offset
        big_align = None
        # (-N / -n: only the segment with the headers is paged, see auto_map)
        seg_paged = paged or (m.type == PT_LOAD and m.filehdr and m.spec is None)
        seg_page = maxpage if paged else cfg.max_page_size if seg_paged else 1
        if m.type == PT_LOAD and seg_paged:
            p.align = seg_page
        elif m.align is not None:
            p.align = m.align
        elif not m.sections:
            p.align = file_align
        else:
            p.align = 0
        if m is phdr_load:
            if not m.filehdr:
                p.offset = off
            off += header_count * phent
        no_contents = False
        off_adjust = 0
        if m.type == PT_LOAD and m.sections:
            sec_align = max(o.align for o in m.sections)
            align = seg_page
            if sec_align >= seg_page and seg_paged:
                align = big_align = sec_align
            no_contents = not any(_loaded(o) for o in m.sections)
            off_adjust = (p.vaddr - off) % align
            off += off_adjust
            if not no_contents:
                off_adjust = 0
        if m.filehdr:
            if m.flags is None:
                p.flags |= PF_R
            p.filesz = p.memsz = ehsize
            if m.type == PT_LOAD:
                if m.sections:
                    if p.vaddr < off or (m.paddr is None and p.paddr < off):
                        raise LinkError("not enough room for program headers, try linking with -N")
                    p.vaddr -= off
                    if m.paddr is None:
                        p.paddr -= off
            elif smaps[0].filehdr:
                first = phdrs[smaps[0].idx]
                p.vaddr = first.vaddr
                if m.paddr is None:
                    p.paddr = first.paddr
        if m.phdrs:
            if m.flags is None:
                p.flags |= PF_R
            p.filesz += header_count * phent
            p.memsz += header_count * phent
            if not m.filehdr:
                if m.type == PT_LOAD:
                    phoff = p.offset
                    if m.sections:
                        p.vaddr -= off - p.offset
                        if m.paddr is None:
                            p.paddr -= off - p.offset
                elif phdr_load is not None:
                    h = phdrs[phdr_load.idx]
                    extra = ehsize if phdr_load.filehdr else 0
                    p.vaddr = h.vaddr + extra
                    if m.paddr is None:
                        p.paddr = h.paddr + extra
                    p.offset = h.offset + extra
                else:
                    p.offset = ehsize
        if m.type == PT_LOAD:
            if not m.filehdr and not m.phdrs:
                p.offset = off
                if no_contents:
                    p.offset = off % max(maxpage, p.align, 1)
            else:
                adjust = off - (p.offset + p.filesz)
                if not no_contents:
                    p.filesz += adjust
                p.memsz += adjust
        for i, o in enumerate(m.sections):
            nobits = not _loaded(o)
            if m.type in (PT_LOAD, PT_TLS) and (not nobits or (not o.flags & SHF_TLS or m.type == PT_TLS)):
                p_end = p.paddr + p.memsz
                adjust = o.lma - p_end
                if adjust != 0 and (o.lma < p_end or p_end < p.paddr):
                    diag.warn(f"{cfg.output}: section {o.name} lma {o.lma:#x} adjusted to {p_end:#x}")
                    adjust = 0
                    o.lma = p_end
                p.memsz += adjust
                if m.type == PT_LOAD:
                    if not nobits:
                        off_adjust = 0
                        if p.filesz + adjust < p.memsz:
                            adjust = p.memsz - p.filesz   # loaded data after NOBITS: file space
                    if not nobits or i == 0:
                        off += adjust
                        if nobits:
                            off_adjust += adjust
                if not nobits:
                    p.filesz += adjust
            if m.type == PT_LOAD:
                if id(o) not in placed:
                    o.offset = off
                    placed.add(id(o))
                if not nobits:
                    off += o.size
            if not nobits:
                p.filesz += o.size
                if o.flags & SHF_ALLOC:     # (a section not loaded takes no memory: BFD)
                    p.memsz += o.size
            elif m.type == PT_TLS or not o.flags & SHF_TLS:
                p.memsz += o.size
            if o.align > p.align and m.align is None and (m.type != PT_LOAD or not seg_paged):
                p.align = o.align
            if m.flags is None:
                p.flags |= PF_R
                if o.flags & SHF_EXECINSTR:
                    p.flags |= PF_X
                if o.flags & SHF_WRITE:
                    p.flags |= PF_W
        off -= off_adjust
        if m.type == PT_PHDR and phdr_load is None:
            raise LinkError(f"{cfg.output}: PHDR segment not covered by LOAD segment")
        if big_align is not None:
            p.align = big_align
    return phdrs, off, phoff, phdr_load, placed


def finish_non_load(ctx, maps, phdrs, relro_range, stack_size):
    """Offsets and file sizes of the segments that are not PT_LOAD (after every
    section has its file offset)."""
    for m, p in zip(maps, phdrs):
        if p.type == PT_GNU_RELRO:
            ok = False
            if relro_range is not None and relro_range[0] < relro_range[1]:
                lo, hi = relro_range
                for lm, lp in zip(maps, phdrs):
                    if lp.type != PT_LOAD or not lm.sections:
                        continue
                    last = lm.sections[-1]
                    if last.addr + (0 if _tbss(last) else last.size) > lo and lm.sections[0].addr < hi:
                        s = next((s for s in lm.sections if lo <= s.addr < hi and s.size), None)
                        if s is not None:
                            p.vaddr, p.paddr, p.offset = s.addr, s.lma, s.offset
                            p.memsz = p.filesz = hi - p.vaddr
                            if p.filesz > lp.vaddr + lp.filesz - p.vaddr:
                                p.filesz = lp.vaddr + lp.filesz - p.vaddr
                            p.align = 1
                            if m.flags is None:
                                p.flags = PF_R
                            ok = True
                        break
            if not ok:
                diag.warn(f"{ctx.config.output}: warning: unable to allocate any sections to "
                          f"PT_GNU_RELRO segment")
                p.type = 0
                p.flags = p.offset = p.vaddr = p.paddr = p.filesz = p.memsz = p.align = 0
        elif p.type == PT_GNU_STACK:
            if stack_size:
                p.memsz = stack_size
        elif m.sections and p.type not in (PT_LOAD, PT_PHDR):
            if m.filehdr or m.phdrs:
                raise LinkError(f"{ctx.config.output}: non-load segment {m.idx} includes "
                                f"file header and/or program header")
            p.filesz = 0
            p.offset = m.sections[0].offset
            for o in reversed(m.sections):
                if _loaded(o):
                    p.filesz = o.offset - p.offset + o.size
                    if p.type == PT_NOTE:
                        p.memsz = p.filesz
                    break
        elif p.type == PT_PHDR and m.sections:
            m.sections = []
            p.sections = []
