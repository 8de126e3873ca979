"""Layout under a linker script: run the SECTIONS statements in order with
the location counter, give every output section its VMA and LMA, evaluate
symbol assignments, data commands and ASSERTs, then build program headers
(from PHDRS, or like GNU ld's segment map) and file offsets.

The walk repeats until it is stable: SIZEOF_HEADERS depends on how many
program headers the result needs, and expressions may use symbols that are
assigned further down.
"""
import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import (PT_LOAD, PT_NOTE, PT_TLS, PT_GNU_EH_FRAME, PT_GNU_STACK, PT_GNU_RELRO,
                             PT_INTERP, PT_PHDR, PT_DYNAMIC, PT_GNU_PROPERTY, PF_R, PF_W, PF_X,
                             SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_TLS, SHT_NOBITS, SHT_NOTE,
                             SHT_PROGBITS)
from ldpy.layout import Phdr, align_up, align_first_tls, _cover
from ldpy.script import ast
from ldpy.script.evaluate import Evaluator, Value, NUM, ABS
from ldpy.script.linkscript import Region
from ldpy.script.place import ORPHAN_POS, DISCARD
from ldpy.synthetic import Synthetic
from ldpy.symbols import DEFINED, SYNTHETIC, COMMON

_DATA_SIZES = {"BYTE": 1, "SHORT": 2, "LONG": 4, "QUAD": 8, "SQUAD": 8}
_NEXT = "next"                     # `.` after an assignment outside sections: the next section's


class _Walk:
    """One pass over the statements.  Also the Evaluator's environment."""

    def __init__(self, ctx, items, regions, phnum, previous):
        self.ctx = ctx
        self.cfg = ctx.config
        self.items = items
        self.regions = regions
        self.phnum = phnum
        self.prev = previous                 # symbol values of the previous pass
        self.values = {}                     # name -> Value assigned in this pass
        self.dot_v = 0
        self.dot_sec = ABS
        self.cur_out = None                  # output section being filled
        self.cur_start = 0
        self.forward = False                 # used a value not yet computed in this pass
        self.placed = set()
        self.pending_next = []               # symbols waiting for the next section
        self.last_out = None
        self.dot_assigned = False
        self.max_page_size = self.cfg.max_page_size
        self.common_page_size = self.cfg.common_page_size
        self.relro_start = None
        self.relro_end = None
        self.data_seg_base = None
        self.assert_failures = []
        self.ev = Evaluator(self)
        self.final = False
        self.data_chunks = []

    # -- the Evaluator's environment ------------------------------------------
    def inside(self):
        return self.cur_out is not None

    def current_section(self):
        return self.cur_out

    def dot(self):
        if self.cur_out is not None:
            return Value(self.dot_v, self.cur_out)
        return Value(self.dot_v, self.dot_sec)

    def symbol(self, name, where):
        v = self.values.get(name)
        if v is not None:
            return v
        bname = name.encode()
        s = self.ctx.symtab.get(bname)
        if s is None:
            return None
        if bname in self.ctx.script_symbols:
            self.forward = True
            return self.prev.get(name, Value(0, ABS))
        if s.kind == DEFINED:
            if s.absolute or s.section is None:
                return Value(s.value, NUM if self.cur_out is not None else ABS)
            sec = s.section
            out = sec.output.output if sec.merge is not None else sec.output
            if out is None:
                return Value(s.value, ABS)
            if out not in self.placed:
                self.forward = True
            if sec.merge is not None:
                return Value(out.addr + sec.output.out_offset, out)
            return Value(out.addr + sec.out_offset + s.value, out)
        if s.kind == COMMON and self.ctx.commons is not None:
            c = self.ctx.commons
            return Value(c.output.addr + c.out_offset + s.value, c.output)
        if s.kind == SYNTHETIC and s.name in self.ctx.linker_syms:
            try:
                return Value(self.ctx.linker_syms[s.name](), ABS)
            except Exception:
                self.forward = True
                return Value(0, ABS)
        return None

    def section(self, name):
        out = self.ctx.outputs.by_name.get(name)
        if out is not None and out not in self.placed and out.flags & SHF_ALLOC:
            self.forward = True
        return out

    def region(self, name, where):
        name = self.ctx.script.aliases.get(name, name)
        r = self.regions.get(name)
        if r is None:
            raise LinkError(f"{where}: memory region '{name}' is not defined")
        return r

    def defined(self, name):
        if name in self.values:
            return True
        s = self.ctx.symtab.get(name.encode())
        return s is not None and s.kind in (DEFINED, COMMON, SYNTHETIC) and \
            (name.encode() not in self.ctx.script_symbols)

    def sizeof_headers(self):
        ehsize, phent = (64, 56) if self.ctx.target.IS64 else (52, 32)
        return ehsize + phent * self.phnum

    def segment_start(self, name):
        cfg = self.cfg
        seg = {"text-segment": cfg.text_segment, "rodata-segment": cfg.rodata_segment,
               "ldata-segment": cfg.ldata_segment}.get(name.strip('"'))
        if name == "text-segment" and seg is None and cfg.image_base is not None:
            seg = cfg.image_base
        return seg

    def data_segment_align(self, maxpage, commonpage):
        base = align_up(self.dot_v, maxpage) + (self.dot_v & (maxpage - 1))
        self.data_seg_base = base
        shift = self.prev.get("\0relro_shift", Value(0)).v if self.cfg.relro else 0
        return Value(base + shift, ABS)

    def data_segment_relro_end(self, offset, exp):
        end = exp + offset
        if self.cfg.relro and self.data_seg_base is not None and end > self.data_seg_base:
            # the segment base was moved so that this lands on a page; what follows
            # stays writable on the next page
            end = align_up(end, self.common_page_size)
        self.relro_end = exp + offset
        return Value(end - offset, ABS)

    def assert_failed(self, msg, where):
        if self.final:
            raise LinkError(f"{where}: ASSERT failed: {msg}")

    # -- statements ----------------------------------------------------------
    def run(self):
        for item in self.items:
            if isinstance(item, ast.Assignment):
                self.assign(item, None)
            elif isinstance(item, ast.Assert):
                self.check(item)
            elif isinstance(item, tuple):          # ("overlay", node, [statements])
                self.overlay(item[1], item[2])
            else:
                self.output_section(item)
        self.resolve_next(None)

    def check(self, a):
        v = self.ev.value(a.expr, a.where)
        if not v and self.final:      # reported after region overflows, as GNU ld does
            self.assert_failures.append(f"{a.where}: ASSERT failed: {a.message}")

    def assign(self, a, out):
        where = a.where or "linker script"
        if a.target == ".":
            v = self.ev.eval(self._compound(a), where)
            if out is not None:
                new = self.cur_start + v.v if v.sec is NUM else v.v
                if new < self.dot_v:
                    raise LinkError(f"{where}: cannot move location counter backwards "
                                    f"(from {self.dot_v:#x} to {new:#x})")
                self.dot_v = new
            else:
                self.dot_v = v.v               # (outside sections `.` may move backwards)
                self.dot_assigned = True
            return
        name = a.target
        bname = name.encode()
        if bname not in self.ctx.script_symbols:
            return                                  # an unused PROVIDE
        v = self.ev.eval(self._compound(a), where)
        if out is not None and v.sec is NUM:
            v = Value(self.cur_start + v.v, out)
        elif out is None and v.sec is NUM:
            v = Value(v.v, ABS)
        self.values[name] = v
        if out is None and v.sec is ABS and self.ev.rel_from_abs:
            # set from `.` (or ORIGIN...) outside sections: GNU ld gives it the
            # section before, or the next one when `.` was just moved
            if self.last_out is None or self.dot_assigned:
                self.pending_next.append(name)
            else:
                self.values[name] = Value(v.v, self.last_out)

    def _compound(self, a):
        if a.op == "=":
            return a.expr
        return (a.op[:-1], ("sym", a.target), a.expr)

    def resolve_next(self, out):
        """Symbols set from `.` after an assignment to `.` belong to the section
        that starts there, else to the one before (GNU ld's section_for_dot)."""
        for name in self.pending_next:
            v = self.values[name]
            if out is not None:
                self.values[name] = Value(v.v, out)
            elif self.last_out is not None:
                self.values[name] = Value(v.v, self.last_out)
            else:
                self.values[name] = Value(v.v, ABS)
        self.pending_next = []

    def output_section(self, st):
        node, out = st.node, st.out
        dot_before = self.dot_v
        alloc = out is not None and out.flags & SHF_ALLOC
        where = node.where if node is not None else st.name
        if out is None:
            if node is None or not _keeps_empty(node):
                # an empty output section is not output; its symbols see `.` here
                self.cur_out, self.cur_start = None, self.dot_v
                if node is not None:
                    for c in node.commands:
                        if isinstance(c, ast.Assignment) and c.target != ".":
                            self.assign(c, None)
                return
            out = st.out = self.ctx.outputs.output_for(st, SHT_PROGBITS, SHF_ALLOC)
            alloc = True
        if node is not None and node.type in ("NOLOAD",):
            out.type, out.noload = SHT_NOBITS, True
        if node is not None and node.type in ("INFO", "COPY", "DSECT", "OVERLAY"):
            out.flags &= ~SHF_ALLOC
            alloc = False
        region = None
        if node is not None and node.region:
            region = self.region(node.region, where)
        elif alloc and self.regions and (node is None or node.address is None):
            region = next((r for r in self.regions.values() if r.accepts(out.flags)), None)
        explicit = node is not None and node.address is not None
        sec_start = self.cfg.section_start.get(out.name)
        if sec_start is not None:
            start, explicit = sec_start, True
        elif explicit:
            start = self.ev.value(node.address, where)
        elif not alloc:
            start = 0
        elif region is not None:
            start = region.cur
        else:
            start = self.dot_v
        if node is not None and node.align is not None:
            start = align_up(start, self.ev.value(node.align, where))
        if not explicit:
            start = align_up(start, out.align)
        if alloc:
            self.resolve_next(out)
            self.dot_assigned = False
        out.addr = start
        self.cur_out, self.cur_start, self.dot_v = out, start, start
        subalign = self.ev.value(node.subalign, where) if node is not None and node.subalign else None
        commands = node.commands if node is not None else []
        if node is not None and node.fill is not None:
            out.fill = _fill_bytes(self.ev.value(node.fill, where))
        for pos, c in enumerate(commands):
            if isinstance(c, ast.InputSectionDesc):
                self.place_chunks(out.desc_chunks.get(pos, ()), subalign)
            elif isinstance(c, ast.Assignment):
                self.assign(c, out)
            elif isinstance(c, ast.Data):
                self.data(c, out)
            elif isinstance(c, ast.Fill):
                out.fill = _fill_bytes(self.ev.value(c.expr, c.where))
            elif isinstance(c, ast.Assert):
                self.check(c)
        self.place_chunks(out.desc_chunks.get(ORPHAN_POS, ()), subalign)
        out.size = self.dot_v - start
        self.cur_out = None
        self.placed.add(out)
        # load address
        lma_region = self.region(node.lma_region, where) if node is not None and node.lma_region else None
        vma_region = region
        if node is not None and node.lma is not None:
            lma = self.ev.value(node.lma, where)
        elif lma_region is not None:
            lma = align_up(lma_region.cur, out.align)
            if out.type != SHT_NOBITS:
                lma_region.cur = lma + out.size
                lma_region.used_end = max(lma_region.used_end, lma_region.cur)
        elif explicit or not alloc:
            lma = start
        else:
            key = vma_region.name if vma_region is not None else None
            delta = self.region_delta.get(key)
            lma = start + delta if delta is not None else start
        out.lma = lma
        if alloc:
            key = vma_region.name if vma_region is not None else None
            self.region_delta[key] = lma - start
        if vma_region is not None and alloc:
            vma_region.cur = start + out.size
            vma_region.used_end = max(vma_region.used_end, vma_region.cur)
            out.region = vma_region
        if alloc:
            if not (out.flags & SHF_TLS and out.type == SHT_NOBITS):
                self.dot_v = start + out.size
            else:
                self.dot_v = start
            self.dot_sec = out
            self.last_out = out
        else:
            self.dot_v = dot_before            # non-allocated sections do not move `.`
        out.phdr_names = list(node.phdrs) if node is not None else []

    region_delta = None

    def place_chunks(self, chunks, subalign):
        for c in chunks:
            a = subalign if subalign else c.align
            self.dot_v = align_up(self.dot_v, a)
            c.out_offset = self.dot_v - self.cur_start
            if c.type == SHT_NOBITS and c.flags & SHF_TLS and self.cur_out.type != SHT_NOBITS:
                pass
            self.dot_v += c.size

    def data(self, c, out):
        size = _DATA_SIZES[c.size]
        v = self.ev.value(c.expr, c.where)
        chunk = Synthetic(f"{c.size}", SHT_PROGBITS, out.flags, 1)
        chunk.size = size
        chunk.data = np.frombuffer((v & ((1 << (8 * size)) - 1)).to_bytes(
            size, "little" if self.ctx.target.LITTLE else "big"), np.uint8)
        chunk.out_offset = self.dot_v - self.cur_start
        chunk.output = out
        self.data_chunks.append(chunk)
        self.dot_v += size

    def overlay(self, node, statements):
        where = node.where
        start = self.ev.value(node.address, where) if node.address is not None else self.dot_v
        lma = self.ev.value(node.lma, where) if node.lma is not None else None
        region = self.region(node.region, where) if node.region else None
        if node.address is None and region is not None:
            start = region.cur
        end = start
        lma_next = lma
        for st in statements:
            out = st.out
            if out is None:
                continue
            self.cur_out, self.cur_start, self.dot_v = out, start, start
            out.addr = start
            for pos, c in enumerate(st.node.commands):
                if isinstance(c, ast.InputSectionDesc):
                    self.place_chunks(out.desc_chunks.get(pos, ()), None)
                elif isinstance(c, ast.Assignment):
                    self.assign(c, out)
                elif isinstance(c, ast.Data):
                    self.data(c, out)
            self.place_chunks(out.desc_chunks.get(ORPHAN_POS, ()), None)
            out.size = self.dot_v - start
            self.cur_out = None
            self.placed.add(out)
            if lma_next is None:
                lma_next = start
            out.lma = lma_next
            self.overlay_symbols(st.name, out)
            lma_next += out.size
            end = max(end, start + out.size)
            out.phdr_names = list(st.node.phdrs or node.phdrs)
            self.last_out = out
        if region is not None:
            region.cur = end
            region.used_end = max(region.used_end, end)
        self.dot_v = end
        self.dot_sec = self.last_out if self.last_out is not None else ABS

    def overlay_symbols(self, name, out):
        ident = "".join(ch for ch in name if ch.isalnum() or ch == "_")
        for prefix, val in (("__load_start_", out.lma), ("__load_stop_", out.lma + out.size)):
            sym = prefix + ident
            if sym.encode() in self.ctx.script_symbols:
                self.values[sym] = Value(val, ABS)


def _keeps_empty(node):
    """GNU ld keeps an output section with no input sections when it assigns
    to `.`, has data, or defines a (non-PROVIDE) symbol."""
    for c in node.commands:
        if isinstance(c, ast.Data):
            return True
        if isinstance(c, ast.Assignment) and (c.target == "." or c.kind in ("plain", "HIDDEN")):
            return True
    return False


def _fill_bytes(v):
    """A fill expression: big-endian bytes of the value, at least 1, normally 4."""
    n = max(1, (v.bit_length() + 7) // 8)
    n = 4 if n <= 4 else n
    return v.to_bytes(n, "big")


def _layout_items(ctx):
    """The statements to walk: script nodes with their Statement objects, and
    orphan statements right after the statement they follow."""
    omap = ctx.outputs
    by_node = {}
    after = {}
    prev = None
    for st in omap.statements:
        if st.node is not None:
            by_node[id(st.node)] = st
            prev = st
        else:
            after.setdefault(id(prev.node) if prev is not None else None, []).append(st)
    items = list(after.get(None, []))
    for node in ctx.script.section_statements():
        if isinstance(node, ast.OutputSection):
            st = by_node.get(id(node))
            if st is not None and not st.dropped and st.name != DISCARD:
                items.append(st)
            if st is not None:
                items.extend(after.get(id(node), []))
        elif isinstance(node, ast.Overlay):
            sts = [by_node[id(s)] for s in node.sections if id(s) in by_node]
            items.append(("overlay", node, sts))
            for s in node.sections:
                items.extend(after.get(id(s), []))
        elif isinstance(node, (ast.Assignment, ast.Assert)):
            items.append(node)
    return items


def layout_scripted(ctx):
    cfg = ctx.config
    script = ctx.script
    regions = {}
    items = _layout_items(ctx)
    align_first_tls(ctx.outputs.sorted())
    phnum = len(script.phdrs) if script.phdrs else _estimate_phdrs(ctx)
    prev = {}
    walk = None
    for attempt in range(6):
        regions = {}
        boot = _Walk(ctx, [], {}, phnum, prev)
        for name, r in script.memory.items():
            regions[name] = Region(name, r.attrs, boot.ev.value(r.origin, r.where),
                                   boot.ev.value(r.length, r.where), r.where)
        walk = _Walk(ctx, items, regions, phnum, prev)
        walk.region_delta = {}
        walk.final = attempt == 5
        ctx.script_walk = walk
        _run(walk)
        outs = [o for o in ctx.outputs.sorted() if _is_output(o)]
        phdrs = _build_phdrs(ctx, outs)
        values = dict(walk.values)
        if walk.relro_end is not None and walk.data_seg_base is not None and cfg.relro:
            values["\0relro_shift"] = Value(_relro_shift(walk, prev), NUM)
        stable = len(phdrs) == phnum and _same(values, prev)
        prev = values
        if stable and attempt > 0:
            walk.final = True
            _run_final(ctx, walk, items, regions, phnum, prev)
            break
        phnum = len(phdrs) if not script.phdrs else phnum
    else:
        raise LinkError("linker script layout does not converge (symbols depend on each other in a cycle?)")
    _finish(ctx, outs, phdrs, regions)
    _set_symbol_values(ctx, ctx.script_walk)


def _set_symbol_values(ctx, walk):
    for bname, sym in ctx.script_symbols.items():
        v = walk.values.get(bname.decode())
        if v is None:
            v = Value(0, ABS)
        sym.value = v.v
        if v.relative:
            sym.output, sym.absolute = v.sec, False
        else:
            sym.output, sym.absolute = None, True
        ctx.linker_syms[bname] = (lambda val=v.v: val)


def _run(walk):
    walk.run()


def _run_final(ctx, walk, items, regions, phnum, prev):
    for r in regions.values():
        r.cur, r.used_end, r.last_delta = r.origin, r.origin, None
    w = _Walk(ctx, items, regions, phnum, prev)
    w.region_delta = {}
    w.final = True
    w.run()
    ctx.script_walk = w


def _same(a, b):
    if a.keys() != b.keys():
        return False
    return all(a[k].v == b[k].v for k in a)


def _relro_shift(walk, prev):
    """DATA_SEGMENT_RELRO_END: move the data segment up so that the end of
    RELRO lands on a common-page boundary (what layout.py does by default)."""
    old = prev.get("\0relro_shift", Value(0)).v
    base = walk.data_seg_base + old
    size = walk.relro_end - base
    if size <= 0:
        return 0
    big = max((o.align for o in walk.ctx.outputs.sorted() if o.flags & SHF_WRITE and _is_output(o)),
              default=1)
    target = align_up(base - old + size, walk.common_page_size)
    new_base = (target - size) & ~(big - 1)
    shift = new_base - walk.data_seg_base
    return shift if shift >= 0 else 0


def _is_output(o):
    return (o.size or o.name in ("",)) or getattr(o, "stmt", None) is not None and \
        o.stmt.node is not None and _keeps_empty(o.stmt.node) or o.type == SHT_NOBITS and o.size


def _estimate_phdrs(ctx):
    n = 4
    if ctx.interp is not None:
        n += 2
    if ctx.dynamic is not None:
        n += 1
    outs = ctx.outputs.sorted()
    if any(o.flags & SHF_TLS for o in outs):
        n += 1
    if any(o.type == SHT_NOTE and o.flags & SHF_ALLOC for o in outs):
        n += 1
    if ctx.eh_frame_hdr is not None:
        n += 1
    if ctx.gnu_property is not None:
        n += 1
    if ctx.config.relro:
        n += 1
    return n + 1


# -- program headers -----------------------------------------------------------

def _build_phdrs(ctx, outs):
    if ctx.script.phdrs:
        return _phdrs_from_script(ctx, outs)
    return _phdrs_like_bfd(ctx, outs)


def _sec_flags(o):
    f = PF_R
    if o.flags & SHF_WRITE:
        f |= PF_W
    if o.flags & SHF_EXECINSTR:
        f |= PF_X
    return f


def _phdrs_like_bfd(ctx, outs):
    cfg = ctx.config
    page = cfg.max_page_size
    alloc = sorted((o for o in outs if o.flags & SHF_ALLOC),
                   key=lambda o: (o.lma, o.addr, o.type == SHT_NOBITS and not o.flags & SHF_TLS, o.size))
    phdrs = []
    if ctx.interp is not None and ctx.interp.output in alloc:
        phdrs.append(Phdr(PT_PHDR, PF_R))
        interp = Phdr(PT_INTERP, PF_R, 1)
        interp.sections = [ctx.interp.output]
        phdrs.append(interp)
    loads = []
    cur, last, writable, executable = [], None, False, False
    for o in alloc:
        tbss = o.flags & SHF_TLS and o.type == SHT_NOBITS
        if last is None:
            new = False
        else:
            last_size = 0 if (last.flags & SHF_TLS and last.type == SHT_NOBITS) else last.size
            last_end = last.lma + last_size
            if last.lma - last.addr != o.lma - o.addr:
                new = True
            elif align_up(last_end, page) < align_up(o.lma, page) or o.lma < last.lma + last_size and not tbss:
                new = True
            elif last.type == SHT_NOBITS and not (last.flags & SHF_TLS) and o.type != SHT_NOBITS:
                new = True
            elif not writable and o.flags & SHF_WRITE and \
                    ((last_end - 1) & -page) != (o.lma & -page) and last_end > 0:
                new = True
            elif cfg.separate_code and executable != bool(o.flags & SHF_EXECINSTR) and \
                    ((last_end - 1) & -page) != (o.lma & -page):
                new = True          # -z separate-code: code shares no page with data
            else:
                new = False
        if new:
            loads.append(cur)
            cur = []
            writable = executable = False
        cur.append(o)
        writable |= bool(o.flags & SHF_WRITE)
        executable |= bool(o.flags & SHF_EXECINSTR)
        last = o
    if cur:
        loads.append(cur)
    for secs in loads:
        p = Phdr(PT_LOAD, 0, page)
        p.sections = secs
        for o in secs:
            p.flags |= _sec_flags(o)
        phdrs.append(p)
    if ctx.dynamic is not None and ctx.dynamic.output in alloc:
        d = Phdr(PT_DYNAMIC, PF_R | PF_W)
        d.sections = [ctx.dynamic.output]
        phdrs.append(d)
    notes = [o for o in alloc if o.type == SHT_NOTE]
    groups = []
    for o in sorted(notes, key=lambda o: o.addr):
        if groups and groups[-1][-1].addr + groups[-1][-1].size == o.addr and groups[-1][-1].align == o.align:
            groups[-1].append(o)
        else:
            groups.append([o])
    for g in groups:
        p = Phdr(PT_NOTE, PF_R, g[0].align)
        p.sections = g
        phdrs.append(p)
    tls = [o for o in alloc if o.flags & SHF_TLS]
    if tls:
        p = Phdr(PT_TLS, PF_R, max(o.align for o in tls))
        p.sections = tls
        phdrs.append(p)
    if ctx.eh_frame_hdr is not None and ctx.eh_frame_hdr.output in alloc:
        p = Phdr(PT_GNU_EH_FRAME, PF_R, 4)
        p.sections = [ctx.eh_frame_hdr.output]
        phdrs.append(p)
    if ctx.gnu_property is not None and ctx.gnu_property.output in alloc:
        p = Phdr(PT_GNU_PROPERTY, PF_R, ctx.gnu_property.output.align)
        p.sections = [ctx.gnu_property.output]
        phdrs.append(p)
    if getattr(cfg, "gnu_stack", True):
        phdrs.append(Phdr(PT_GNU_STACK, PF_R | PF_W | (PF_X if cfg.execstack else 0), 16))
    walk = getattr(ctx, "script_walk", None)
    if cfg.relro and walk is not None and walk.relro_end is not None:
        relro = [o for o in alloc if o.flags & SHF_WRITE and o.addr < walk.relro_end]
        if relro:
            p = Phdr(PT_GNU_RELRO, PF_R, 1)
            p.sections = relro
            p.relro_end = walk.relro_end
            phdrs.append(p)
    return phdrs


_PT_NAMES = {}


def _phdrs_from_script(ctx, outs):
    walk = ctx.script_walk if hasattr(ctx, "script_walk") else None
    specs = ctx.script.phdrs
    phdrs = []
    by_name = {}
    ev = Evaluator(walk) if walk is not None else None
    for spec in specs:
        ptype = spec.type[1] if spec.type[0] == "num" else (ev.value(spec.type, spec.where) if ev else 1)
        p = Phdr(ptype, 0, ctx.config.max_page_size if ptype == PT_LOAD else 1)
        p.spec = spec
        p.flags_given = spec.flags is not None
        if spec.flags is not None and ev is not None:
            p.flags = ev.value(spec.flags, spec.where)
        elif spec.flags is not None and spec.flags[0] == "num":
            p.flags = spec.flags[1]
        p.sections = []
        by_name[spec.name] = p
        phdrs.append(p)
    current = []
    for o in outs:
        if not o.flags & SHF_ALLOC:
            continue
        names = getattr(o, "phdr_names", [])
        if names:
            if "NONE" in names:
                current = []
                continue
            current = []
            for n in names:
                if n not in by_name:
                    raise LinkError(f"{o.stmt.node.where if o.stmt.node else o.name}: "
                                    f"program header '{n}' is not defined in PHDRS")
                current.append(by_name[n])
        elif not current:
            first_load = next((p for p in phdrs if p.type == PT_LOAD), None)
            current = [first_load] if first_load is not None else []
        for p in current:
            p.sections.append(o)
    return phdrs


# -- file offsets and the rest ----------------------------------------------------

def _finish(ctx, outs, phdrs, regions):
    cfg = ctx.config
    page = cfg.max_page_size
    t = ctx.target
    ehsize, phentsize = (64, 56) if t.IS64 else (52, 32)
    phdrs = _build_phdrs(ctx, outs)       # again, with the final walk's RELRO end
    headers = ehsize + phentsize * len(phdrs)
    ctx.phdrs = phdrs
    # region overflow: GNU ld names the region and by how much
    for r in regions.values():
        if r.used_end > r.origin + r.length:
            over = r.used_end - (r.origin + r.length)
            raise LinkError(f"region '{r.name}' overflowed by {over} bytes "
                            f"(ORIGIN {r.origin:#x}, LENGTH {r.length:#x}, used up to {r.used_end:#x})")
    if ctx.script_walk.assert_failures:
        raise LinkError(ctx.script_walk.assert_failures[0])
    alloc = [o for o in outs if o.flags & SHF_ALLOC]
    loads = [p for p in phdrs if p.type == PT_LOAD]
    # do the headers fit in the first loaded page, before the first section?
    first = min(alloc, key=lambda o: (o.lma, o.addr)) if alloc else None
    from_script = ctx.script.phdrs is not None
    headers_loaded = False
    if from_script:
        for p in loads:
            if p.spec.filehdr or p.spec.phdrs:
                headers_loaded = True
    elif first is not None and loads and first in loads[0].sections:
        headers_loaded = first.lma >= headers and first.lma % page >= headers % page
    off = headers
    seg_of = {}
    for p in loads:
        for o in p.sections:
            seg_of.setdefault(id(o), p)
    placed_off = set()
    for p in loads:
        secs = sorted(p.sections, key=lambda o: (o.lma, o.addr))
        if not secs:
            if from_script and (p.spec.filehdr or p.spec.phdrs):
                p.offset, p.filesz = 0, headers
            continue
        s0 = secs[0]
        include_headers = (headers_loaded and p is loads[0]) if not from_script else \
            (p.spec.filehdr or p.spec.phdrs)
        if include_headers:
            off_first = s0.addr % page if s0.addr % page >= headers else align_up(headers, page) + s0.addr % page
            if not from_script:
                off_first = s0.addr % page
            p.offset = 0
            p.vaddr = s0.addr - off_first
            p.paddr = s0.lma - off_first
            if from_script and not p.spec.filehdr:
                p.offset, p.vaddr, p.paddr = ehsize, p.vaddr + ehsize, p.paddr + ehsize
            off = off_first
        else:
            off = off + ((s0.addr - off) % page)
            p.offset, p.vaddr, p.paddr = off, s0.addr, s0.lma
        if from_script and p.spec.at is not None:
            p.paddr = Evaluator(ctx.script_walk).value(p.spec.at, p.spec.where)
        file_end = off
        mem_end = p.vaddr
        for o in secs:
            if id(o) in placed_off:
                continue
            o.offset = p.offset + (o.addr - p.vaddr)
            placed_off.add(id(o))
            end = o.addr + o.size
            if not (o.flags & SHF_TLS and o.type == SHT_NOBITS):
                mem_end = max(mem_end, end)
            if o.type != SHT_NOBITS:
                file_end = max(file_end, o.offset + o.size)
        if include_headers:
            file_end = max(file_end, p.offset + headers)
            mem_end = max(mem_end, p.vaddr + headers)
        p.filesz = file_end - p.offset
        p.memsz = mem_end - p.vaddr
        if not getattr(p, "flags_given", False):
            p.flags = PF_R
            for o in secs:
                p.flags |= _sec_flags(o)
        off = file_end
    # allocated sections in no segment still need file space
    for o in alloc:
        if id(o) not in placed_off:
            if o.type == SHT_NOBITS:
                o.offset = off
            else:
                o.offset = off + ((o.addr - off) % page)
                off = o.offset + o.size
            placed_off.add(id(o))
    for p in phdrs:
        if p.type == PT_LOAD:
            continue
        secs = [o for o in p.sections if o in alloc]
        if p.type == PT_PHDR:
            p.offset, p.vaddr = ehsize, (loads[0].vaddr + ehsize if loads else ehsize)
            p.paddr = p.vaddr
            p.filesz = p.memsz = phentsize * len(phdrs)
            continue
        if not secs:
            continue
        _cover(p, secs)
        p.paddr = min(o.lma for o in secs)
        if p.type == PT_TLS:
            tdata_end = max((o.addr + o.size for o in secs if o.type != SHT_NOBITS), default=p.vaddr)
            p.filesz = tdata_end - p.vaddr
            ctx.tls_start = p.vaddr
            ctx.tls_end = p.vaddr + align_up(p.memsz, p.align)
            ctx.tls_align = p.align
        if p.type == PT_GNU_RELRO:
            end = align_up(p.relro_end, cfg.common_page_size)
            p.memsz = p.filesz = end - p.vaddr
    # overlapping sections (by LMA, like GNU ld's check)
    loaded = sorted((o for o in alloc if o.type != SHT_NOBITS and o.size), key=lambda o: o.lma)
    for a, b in zip(loaded, loaded[1:]):
        if b.lma < a.lma + a.size:
            raise LinkError(f"section {b.name} LMA [{b.lma:#018x},{b.lma + b.size - 1:#018x}] overlaps "
                            f"section {a.name} LMA [{a.lma:#018x},{a.lma + a.size - 1:#018x}]")
    # non-allocated sections, then the section header table
    ctx.sections_out = outs
    for o in outs:
        if not o.flags & SHF_ALLOC:
            off = align_up(off, o.align)
            o.offset = off
            off += o.size if o.type != SHT_NOBITS else 0
    ctx.shoff = align_up(off, 8)
    for i, o in enumerate(outs):
        o.index = i + 1
    # empty sections are not output; symbols in them (crtend.o's __TMC_END__) keep
    # their address and belong to the section before, as in GNU ld
    prev = None
    output_ids = {id(o) for o in outs}
    for o in ctx.outputs.sorted():
        if id(o) in output_ids:
            prev = o
        elif prev is not None and prev.flags & SHF_ALLOC and o.flags & SHF_ALLOC:
            o.offset, o.index = prev.offset + (o.addr - prev.addr), prev.index
    # data commands are chunks of their sections
    for c in ctx.script_walk.data_chunks:
        c.output.chunks.append(c)
    ctx.file_size = ctx.shoff + (64 if t.IS64 else 40) * (len(outs) + 2)
