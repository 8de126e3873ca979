"""Layout under a linker script: run the SECTIONS statements in order with
the location counter, give every output section its VMA and LMA, evaluate
symbol assignments, data commands and ASSERTs, then build program headers
and file offsets the way ld.bfd does (script/segments.py).

The rules are GNU ld's (ldlang.c lang_size_sections):

* a section without an address starts at its memory region's current
  address (the location counter when there are no MEMORY regions), aligned;
* its LMA is AT(), else the current address of its AT> region, else it keeps
  the VMA/LMA difference of the last section placed in the same region (an
  overlay member follows the previous member's load image instead), else the
  VMA.  A section with no AT, AT> or address of its own takes the AT> region
  of the statement before it when both name the same region (or none);
* orphans go where lang_insert_orphan puts them (see place.py for which
  statement they follow): after that statement and the assignments after it,
  but before an assignment to `.` leading to the next output section;
* output sections that end up empty are not output, but if ld.bfd's own
  (empty) input sections .got, .iplt, ... land in them they still take part
  in that LMA bookkeeping, with their alignment (that is how ld.bfd gives a
  NOBITS section after an AT() section a rounded-up LMA of its own);
* an OVERLAY is a list of output sections at one address; the first gets the
  OVERLAY's AT(), the location counter ends after the biggest member, and
  __load_start_X / __load_stop_X are PROVIDEd after each member.

The walk repeats until it is stable: SIZEOF_HEADERS depends on how many
program headers the result needs, and expressions may use symbols that are
assigned further down.
"""
import numpy as np

from ldpy.diag import LinkError, diag
from ldpy.elf.format import (PT_LOAD, PT_TLS, PF_R, PF_W, PF_X, SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_TLS, SHT_NOBITS, SHT_NOTE,
                             SHT_PROGBITS, SHT_RELA, SHN_LORESERVE)
from ldpy.script import ast
from ldpy.script import segments
from ldpy.script.evaluate import Evaluator, Value, NUM, ABS
from ldpy.script.linkscript import Region
from ldpy.script.place import ORPHAN_POS, DISCARD
from ldpy.synthetic import Synthetic
from ldpy.symbols import DEFINED, SYNTHETIC, COMMON


def relro_on(cfg):
    """-z relro, unless -N or -n: those outputs are not paged (GNU ld's scripts for
    them mark nothing RELRO)."""
    return cfg.relro and not (cfg.omagic or cfg.nmagic)


def align_up(x, a):
    return (x + a - 1) & ~(a - 1) if a > 1 else x


def place_chunks(out):
    off = 0
    for c in out.chunks:
        a = c.align
        off = (off + a - 1) & ~(a - 1)
        c.out_offset = off
        off += c.size
    out.size = off


def align_first_tls(outs):
    """The first TLS output section gets the largest TLS alignment, so that the
    TLS segment starts aligned (GNU ld's _bfd_elf_tls_setup)."""
    tls = [o for o in outs if o.flags & SHF_TLS and o.flags & 2 and (o.size or o.chunks)]
    if tls:
        tls[0].align = max(o.align for o in tls)


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
    .note.GNU-stack section.  The stack is executable when such a note is
    SHF_EXECINSTR, or, on targets where a missing note asks for one (x86, PowerPC:
    ld.bfd's default_execstack), when an object with sections has no note; both
    are warned about as ld.bfd 2.40 does, unless --no-warn-execstack."""
    cfg = ctx.config
    if cfg.execstack is not None:
        return PF_R | PF_W | (PF_X if cfg.execstack else 0)
    note = False
    executable = missing = None         # the objects that make the stack executable
    missing_asks = ctx.target.MISSING_STACK_NOTE_EXECUTABLE
    for f in ctx.files:
        i = getattr(f, "gnu_stack", None)       # (ObjectFile notes it while parsing)
        if i is None:
            names = getattr(f, "section_names", None)
            i = names.index(".note.GNU-stack") if names and ".note.GNU-stack" in names else 0
        if not i:
            if missing_asks and any(s is not None for s in f.sections):
                missing = f             # (ld.bfd names the last one)
            continue
        note = True
        if int(f.shdrs["sh_flags"][i]) & SHF_EXECINSTR:
            executable = f
            break
    if not (note or cfg.stack_size):
        return None
    if cfg.warn_execstack is not False:
        if executable is not None:
            _warn_once(ctx, f"{executable.name}: requires executable stack (because the .note.GNU-stack "
                            f"section is executable)")
        elif missing is not None:
            _warn_once(ctx, f"{missing.name}: missing .note.GNU-stack section implies executable stack",
                       "NOTE: This behaviour is deprecated and will be removed in a future version of the linker")
    return PF_R | PF_W | (PF_X if executable or missing else 0)


def _warn_once(ctx, message, note=None):
    """A layout warning (and the line ld.bfd adds to it), given once however often
    layout runs."""
    if message not in ctx.layout_warnings:
        ctx.layout_warnings.add(message)
        diag.warn(message)
        if note:
            diag.note(note)


_DATA_SIZES = {"BYTE": 1, "SHORT": 2, "LONG": 4, "QUAD": 8, "SQUAD": 8}
DEFAULT_REGION = "*default*"

# ld.bfd's x86-64 back end makes these input sections in every static link;
# (name, type, flags, alignment) -- see the module docstring
_BFD_PHANTOMS = ((".iplt", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 1),
                 (".rela.got", SHT_RELA, SHF_ALLOC, 8),
                 (".rela.iplt", SHT_RELA, SHF_ALLOC, 8),
                 (".got", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 8),
                 (".got.plt", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 8),
                 (".igot.plt", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 8))


class Shadow:
    """Where an output section that is not output would have been: symbols
    assigned inside it are moved to a neighbour at the end (bfd's
    _bfd_nearby_section)."""
    __slots__ = ("name", "addr", "lma", "size", "align", "flags", "type", "item")

    def __init__(self, name, addr, flags, item):
        self.name, self.addr, self.lma, self.size, self.align = name, addr, addr, 0, 1
        self.flags, self.type, self.item = flags, SHT_PROGBITS, item


class _Track:
    """The last section of a region for LMA bookkeeping (bfd's region->last_os)."""
    __slots__ = ("vma", "lma", "size")

    def __init__(self, vma, lma, size):
        self.vma, self.lma, self.size = vma, lma, size


class LayoutItem:
    """One output section statement to walk (script section, overlay member or
    orphan), with what GNU ld's parser attached to it."""

    def __init__(self, st, node):
        self.st, self.node = st, node
        self.name = st.name
        self.address = self.lma = self.align = self.subalign = self.fill = None
        self.region = self.lma_region = None     # names as written (None: the default region)
        self.phdrs = []
        self.type = None
        self.align_with_input = False
        self.overlay = None
        self.ov_first = None          # the overlay's first member (LayoutItem)
        self.ov_last = False
        self.ov_members = []
        self.provides = []            # overlay __load_start_/__load_stop_ PROVIDEs after it
        self.where = node.where if node is not None else st.name
        # per walk
        self.vma = 0
        self.shadow = None

    @property
    def commands(self):
        return self.node.commands if self.node is not None else []


def _keeps_empty(node):
    """GNU ld outputs a section with no input sections when it has data (a
    read-only PROGBITS section) or moves `.` (a writable NOBITS one, when that
    gave it a size); symbol assignments alone do not keep it."""
    return any(isinstance(c, ast.Data) for c in node.commands)


def add_script_outputs(ctx):
    """Output sections that only data commands or moves of `.` fill exist before
    layout (the section name string table is made before it)."""
    omap = ctx.outputs
    for st in omap.statements:
        node = st.node
        if st.out is None and node is not None and not st.dropped and st.name != DISCARD and \
                (_keeps_empty(node) or _moves_dot(node)):
            data = _keeps_empty(node)
            writable = not data
            if data and omap.relocatable:
                # (ld.bfd: a data command makes the section read-only unless an assignment
                # made it first; only -r keeps those flags as they are)
                first = next(c for c in node.commands if isinstance(c, (ast.Data, ast.Assignment)))
                writable = isinstance(first, ast.Assignment)
            omap.output_for(st, SHT_PROGBITS if data else SHT_NOBITS,
                            SHF_ALLOC | (SHF_WRITE if writable else 0))


def may_stay_empty(o):
    """Whether output section o could be output with no bytes from inputs (its
    statement has data or moves `.`): symtab keeps locals in such sections."""
    stmt = getattr(o, "stmt", None)
    node = stmt.node if stmt is not None else None
    return node is not None and (_keeps_empty(node) or _moves_dot(node))


def _moves_dot(node):
    """An assignment to `.` keeps the section, even empty (`. = .;`), except
    `. = 0`, `. = . + 0` and `. = ALIGN(. != 0 ? x : 1)` (bfd's exp_fold_tree_1)."""
    return any(isinstance(c, ast.Assignment) and c.target == "." and not _dot_noop(c)
               for c in node.commands)


def _dot_noop(a):
    e = a.expr if a.op == "=" else (a.op[:-1], ("sym", "."), a.expr)
    if e == ("num", 0):
        return True
    if e[0] == "+" and e[1] == ("sym", ".") and e[2] == ("num", 0):
        return True
    return e[0] == "call" and e[1] == "ALIGN" and len(e[2]) == 1 and e[2][0][0] == "?" and \
        e[2][0][1] == ("!=", ("sym", "."), ("num", 0)) and e[2][0][3] == ("num", 1)


def _fill_bytes(v):
    """A fill expression: big-endian bytes of the value, at least 1, normally 4."""
    n = max(1, (v.bit_length() + 7) // 8)
    n = 4 if n <= 4 else n
    return v.to_bytes(n, "big")


class _Walk:
    """One pass over the statements.  Also the Evaluator's environment."""

    def __init__(self, ctx, items, regions, phnum, previous, runs=None):
        self.ctx = ctx
        self.runs = {} if runs is None else runs   # place_chunks' runs and chunk sizes of earlier walks
        self.cfg = ctx.config
        self.items = items
        self.regions = regions
        self.default = Region(DEFAULT_REGION, "", 0, 1 << 64, "")
        self.phnum = phnum
        self.prev = previous                 # symbol values of the previous pass
        self.values = {}                     # name -> Value assigned in this pass
        self.dot_v = 0
        self.print_dot = 0                   # `.` as ld.bfd's -Map listing sees it
        self.dot_sec = ABS
        self.cur_out = None                  # output section (or Shadow) being filled
        self.cur_start = 0
        self.placed = set()
        self.pending_next = []               # symbols waiting for the next section
        self.last_out = None
        self.dot_assigned = False
        self.max_page_size = self.cfg.max_page_size
        self.common_page_size = self.cfg.common_page_size
        # RELRO ends on a max-page boundary (ld.bfd 2.39+'s relropagesize)
        self.relro_page_size = max(self.cfg.common_page_size, self.cfg.max_page_size)
        self.relro = relro_on(self.cfg)       # (not under -N / -n)
        self.relro_end = None
        self.data_seg_base = None
        self.assert_failures = []
        self.ev = Evaluator(self)
        self.final = False
        self.data_chunks = []
        self.load_phdrs = False              # SIZEOF_HEADERS was used: load the headers
        self.tracks = {}                     # region name -> _Track
        self.shadows = {}                    # name -> Shadow of sections not output
        self.map_values = {}                 # id(assignment) -> (kind, value) for -Map
        self.warned = set()

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
            return self.prev.get(name, Value(0, ABS))
        if s.kind == DEFINED:
            if s.absolute or s.section is None:
                return Value(s.value, NUM if self.cur_out is not None else ABS)
            sec = s.section
            out = sec.output.output if sec.merge is not None else sec.output
            if out is None:
                return Value(s.value, ABS)
            if sec.merge is not None:
                return Value(out.addr + sec.output.out_offset, out)
            return Value(out.addr + sec.out_offset + s.value, out)
        if s.kind == COMMON and self.ctx.common_chunk(s) is not None:
            c = self.ctx.common_chunk(s)
            return Value(c.output.addr + c.out_offset + s.value, c.output)
        if s.kind == SYNTHETIC and s.name in self.ctx.linker_syms:
            try:
                return Value(self.ctx.linker_syms[s.name](), ABS)
            except Exception:
                return Value(0, ABS)
        return None

    def section(self, name):
        out = self.ctx.outputs.by_name.get(name)
        if out is None:
            return self.shadows.get(name)
        return out

    def region(self, name, where):
        name = self.ctx.script.aliases.get(name, name)
        r = self.regions.get(name)
        if r is None:
            # GNU ld warns and makes it: the whole address space from 0
            if self.final:
                diag.warn(f"{where}: memory region '{name}' not declared")
            r = self.regions[name] = Region(name, "", 0, (1 << 64) - 1, where)
        return r

    def defined(self, name):
        if name in self.values:
            return True
        s = self.ctx.symtab.get(name.encode())
        return s is not None and s.kind in (DEFINED, COMMON, SYNTHETIC) and \
            (name.encode() not in self.ctx.script_symbols)

    def sizeof_headers(self):
        self.load_phdrs = True
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
        shift = self.prev.get("\0relro_shift", Value(0)).v if self.relro else 0
        return Value(base + shift, ABS)

    def data_segment_relro_end(self, offset, exp):
        end = exp + offset
        if self.relro and self.data_seg_base is not None and end > self.data_seg_base:
            # the segment base was moved so that this lands on a page; what follows
            # stays writable on the next page
            end = align_up(end, self.relro_page_size)
        self.relro_end = exp + offset
        self.relro_offset = offset
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
                self.check(item, None)
            else:
                self.output_section(item)
                for a in item.provides:
                    self.assign(a, None)
        self.resolve_next(None)

    def check(self, a, item):
        v = self.ev.value(a.expr, a.where)
        if self.final:
            self.map_values[id(a)] = ("assert", v)
        if not v and self.final:      # reported after region overflows, as GNU ld does
            self.assert_failures.append(f"{a.where}: ASSERT failed: {a.message}")

    def assign(self, a, out, item=None):
        where = a.where or "linker script"
        if a.target == ".":
            if self.final and out is None and self.print_dot != self.dot_v:
                # ld.bfd's map evaluates it again from where its listing stands (after
                # the empty sections it lists too)
                real = self.dot_v
                self.dot_v = self.print_dot
                shown = self.ev.eval(self._compound(a), where).v
                self.dot_v = real
            else:
                shown = None
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
            self.print_dot = self.dot_v if shown is None else shown
            if self.final:
                self.map_values[id(a)] = ("dot", self.print_dot)
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
        if self.final:
            self.map_values[id(a)] = ("sym", name)

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

    # -- one output section statement ---------------------------------------------
    def _uses_symbols(self, item):
        """Assigns a symbol that is defined (bfd's update_dot: the statement is sized
        even when nothing is in it)."""
        for c in item.commands:
            if isinstance(c, ast.Assignment) and c.target != "." and \
                    c.target.encode() in self.ctx.script_symbols:
                return True
        return False

    def _vma_region(self, item, flags, explicit):
        """The region a statement is placed in (bfd: its >region, else the first
        MEMORY region whose attributes take it, else the default region)."""
        if item.region:
            return self.region(item.region, item.where)
        if explicit or not self.regions:
            return self.default
        if not flags & SHF_ALLOC:
            return self.default
        return next((r for r in self.regions.values() if r.accepts(flags)), self.default)

    def output_section(self, item):
        st, out = item.st, item.st.out
        node = item.node
        where = item.where
        item.shadow = None
        uses = self._uses_symbols(item)
        last_overlay = item.ov_last
        if out is None:
            # never created, ld.bfd skips it -- except an OVERLAY member: the
            # __load_start_ PROVIDEs name it, which makes it (empty) in ld.bfd
            if st.phantom_align is None and not uses and not last_overlay and item.overlay is None:
                return
            ignored = not uses and not last_overlay
            flags = st.phantom_flags if ignored and st.phantom_align is not None else 0
            align = st.phantom_align or 1
        else:
            ignored = not uses and not last_overlay and not self.has_bytes(out) and \
                not (node is not None and (_keeps_empty(node) or _moves_dot(node)))
            flags = out.flags
            align = max(out.align, st.phantom_align or 1)
            if item.type == "NOLOAD":
                out.type, out.noload = SHT_NOBITS, True
            if item.type in ("INFO", "COPY", "DSECT", "OVERLAY"):
                out.flags &= ~SHF_ALLOC
                flags = out.flags
        alloc = bool(flags & SHF_ALLOC)
        copy_like = item.type in ("INFO", "COPY", "DSECT", "OVERLAY")
        # address
        sec_start = self.cfg.section_start.get(item.name)
        address = item.address
        member = item.ov_first is not None and item.ov_first is not item   # (at ADDR(first))
        explicit = address is not None or sec_start is not None or member
        subalign = self.ev.value(item.subalign, where) if item.subalign is not None else None
        if subalign and out is not None and out.chunks:
            out.align = subalign        # SUBALIGN sets every input section's alignment
            align = max(subalign, st.phantom_align or 1)
        region = self._vma_region(item, flags, explicit)
        stmt_align = self.ev.value(item.align, where) if item.align is not None else 0
        if stmt_align > 1 and out is not None and (not ignored or self.ctx.outputs.relocatable):
            # (-r outputs empty sections too, with the statement's alignment)
            out.align = max(out.align, stmt_align)      # `.data : ALIGN(128)`: sh_addralign
        dot_before = self.dot_v
        if sec_start is not None:
            start = sec_start
        elif member:
            start = item.ov_first.vma
        elif address is not None:
            start = self.ev.value(address, where)
            self.dot_v = start
        elif region is self.default:
            start = self.dot_v
        else:
            start = region.cur
        if explicit:
            sect_align = stmt_align
        else:
            sect_align = max(align, stmt_align)
        vma = align_up(start, sect_align) if sect_align > 1 else start
        dotdelta = vma - start
        item.vma = vma
        if dotdelta and self.final and self.cfg.warn_section_align and out is not None and not ignored:
            diag.warn(f"start of section {item.name} changed by {dotdelta}")
        if out is not None and ignored:
            out.addr, out.size = vma, 0       # (symbols in it keep an address)
            for c in out.chunks:
                c.out_offset = 0
            for run in out.desc_chunks.values():
                self.runs.pop(id(run), None)
        if out is None or ignored:
            shadow = Shadow(item.name, vma, flags, item)
            shadow.align = align
            item.shadow = shadow
            self.shadows.setdefault(item.name, shadow)
        target = out if out is not None and not ignored else item.shadow
        size = 0
        if not ignored:
            if alloc and out is not None:
                self.resolve_next(out)
                self.dot_assigned = False
            if out is not None:
                out.addr = vma
            self.cur_out, self.cur_start, self.dot_v = target, vma, vma
            if item.fill is not None and out is not None:
                out.fill = _fill_bytes(self.ev.value(item.fill, where))
            for pos, c in enumerate(item.commands):
                if isinstance(c, ast.InputSectionDesc):
                    if out is not None:
                        self.place_chunks(out.desc_chunks.get(pos, ()), subalign)
                elif isinstance(c, ast.Assignment):
                    self.assign(c, target, item)
                elif isinstance(c, ast.Data):
                    if out is not None:
                        self.data(c, out)
                elif isinstance(c, ast.Fill):
                    if out is not None:
                        out.fill = _fill_bytes(self.ev.value(c.expr, c.where))
                elif isinstance(c, ast.Assert):
                    self.check(c, item)
            if out is not None:
                self.place_chunks(out.desc_chunks.get(ORPHAN_POS, ()), subalign)
            size = self.dot_v - vma
            self.cur_out = None
            if out is not None:
                out.size = size
                self.placed.add(out)
        # load address (bfd: lang_size_sections_1, "Set section lma")
        lma_region = self.region(item.lma_region, where) if item.lma_region else None
        track = self.tracks.get(region.name)
        dot_cmp = vma if not ignored else (start if address is not None else dot_before)
        overlay_member = member
        if item.lma is not None:
            lma = self.ev.value(item.lma, where)
        elif lma_region is not None:
            lma = lma_region.cur
            if item.align_with_input:
                lma += dotdelta
            else:
                a = sect_align if lma_region is region else stmt_align
                lma = align_up(lma, a) if a > 1 else lma
        elif track is not None and alloc:
            if dot_cmp < track.vma and size and dot_cmp + size <= track.vma:
                lma = vma               # `.` moved backwards: leave LMA = VMA
                if track.vma != track.lma and self.final and item.name not in self.warned:
                    self.warned.add(item.name)
                    diag.warn(f"dot moved backwards before `{item.name}'")
            else:
                lma = track.lma + track.size if overlay_member else vma + track.lma - track.vma
                lma = align_up(lma, sect_align) if sect_align > 1 else lma
        else:
            lma = vma
        tbss = flags & SHF_TLS and (out is None or out.type == SHT_NOBITS)
        if ((alloc and not tbss and (size != 0 or (track is None and vma != lma) or
                                     (track is not None and dot_cmp >= track.vma)))
                or item.overlay is not None and item.ov_first is item) and lma_region is None:
            self.tracks[region.name] = _Track(vma, lma, size)
        if target is not None:
            target.lma = lma
        if out is not None:
            out.lma = lma
            out.region = region if region is not self.default else None
            out.phdr_names = list(item.phdrs)
        if ignored:
            self.dot_v = dot_before
            self.print_dot = vma
            return
        # the location counter and the regions move on
        dot = vma + (0 if tbss and out is not None and out.type == SHT_NOBITS else size)
        if last_overlay:
            ov_vma = item.ov_first.vma
            dot = ov_vma + max((m.st.out.size if m.st.out is not None else 0) for m in item.ov_members)
        self.dot_v = dot
        self.print_dot = vma + size
        if alloc or copy_like or (out is not None and out.type != SHT_NOBITS):
            region.cur = dot
            region.used_end = max(region.used_end, dot)
            if self.final and region is not self.default and explicit and \
                    not region.origin <= dot <= region.origin + region.length:
                raise LinkError(f"{where}: address {dot:#x} of section '{item.name}' is not "
                                f"within region '{region.name}'")
            if lma_region is not None and lma_region is not region and \
                    (out is not None and out.type != SHT_NOBITS and alloc or item.align_with_input):
                lma_region.cur = lma + size
                lma_region.used_end = max(lma_region.used_end, lma_region.cur)
        if alloc and out is not None:
            self.dot_sec = out
            self.last_out = out

    def place_chunks(self, chunks, subalign):
        """Input sections one after the other, each at its alignment.  The chunks
        do not change during one layout: a run that starts at the same offset in its
        section and the same address modulo its largest alignment as in an earlier
        walk lands the same (its out_offsets are still set), only `.` moves on."""
        if not chunks:
            return
        entry = self.dot_v - self.cur_start
        known = self.runs.get(id(chunks))
        if known is not None and known[0] == (entry, self.cur_start % known[2], subalign, len(chunks)):
            self.dot_v += known[1]
            return
        dot, start, top = self.dot_v, self.cur_start, 1
        for c in chunks:
            a = subalign if subalign else c.align
            if a > 1:
                dot = (dot + a - 1) & ~(a - 1)
                top = a if a > top else top
            c.out_offset = dot - start
            dot += c.size
        self.runs[id(chunks)] = ((entry, start % top, subalign, len(chunks)), dot - self.dot_v, top)
        self.dot_v = dot

    def has_bytes(self, out):
        """Whether an input section of `out` has a size (else the statement is skipped)."""
        known = self.runs.get(id(out))
        if known is None or known[0] != len(out.chunks):
            known = self.runs[id(out)] = (len(out.chunks), any(c.size for c in out.chunks))
        return known[1]

    def data(self, c, out):
        size = _DATA_SIZES[c.size]
        v = self.ev.value(c.expr, c.where)
        chunk = Synthetic(f"{c.size}", SHT_PROGBITS, out.flags, 1)
        chunk.size = size
        chunk.data = np.frombuffer((v & ((1 << (8 * size)) - 1)).to_bytes(
            size, "little" if self.ctx.target.LITTLE else "big"), np.uint8)
        chunk.out_offset = self.dot_v - self.cur_start
        chunk.output = out
        chunk.script_data = c
        self.data_chunks.append(chunk)
        self.dot_v += size


def _layout_items(ctx):
    """The statements to walk, in order: assignments and ASSERTs outside
    sections, script output sections, OVERLAY members one by one, and the
    orphans where GNU ld inserts them (lang_insert_orphan: after the statement
    they follow and the assignments after it, but before an assignment to `.`
    that leads to the next output section)."""
    omap = ctx.outputs
    script = ctx.script
    by_node = {}
    groups = {}
    prev = None
    for st in omap.statements:
        if st.node is not None:
            by_node[id(st.node)] = st
            prev = st
        elif st.name not in _TABLES:
            groups.setdefault(id(prev.node) if prev is not None else None, []).append(st)
    seq = []
    section_items = []
    item_of = {}
    anchored = []                          # (anchor item or None, [orphan items])
    tail = []                              # non-allocated orphans: last, at address 0

    def orphans_after(key, anchor):
        group = []
        for st in groups.get(key, []):
            it = LayoutItem(st, None)
            item_of[id(st)] = it
            if st.out is not None and not st.out.flags & SHF_ALLOC:
                tail.append(it)
            else:
                group.append(it)
        if group:
            anchored.append((anchor, group))

    def add(st, node):
        it = LayoutItem(st, node)
        seq.append(it)
        item_of[id(st)] = it
        return it

    orphans_after(None, None)
    for node in script.section_statements():
        if isinstance(node, ast.OutputSection):
            st = by_node.get(id(node))
            if st is None or st.dropped or st.name == DISCARD:
                continue
            if node.lma is not None and node.lma_region is not None:
                raise LinkError(f"{node.where}: section has both a load address and a load region")
            it = add(st, node)
            it.address, it.lma, it.align, it.subalign = node.address, node.lma, node.align, node.subalign
            it.region, it.lma_region, it.phdrs, it.fill = node.region, node.lma_region, node.phdrs, node.fill
            it.type, it.align_with_input = node.type, node.align_with_input
            orphans_after(id(node), it)
        elif isinstance(node, ast.Overlay):
            if node.lma is not None and node.lma_region is not None:
                raise LinkError(f"{node.where}: section has both a load address and a load region")
            members = []
            for k, osec in enumerate(node.sections):
                st = by_node.get(id(osec))
                if st is None:
                    continue
                it = add(st, osec)
                it.overlay = node
                it.ov_first = members[0] if members else it
                if not members:
                    it.address, it.lma = node.address, node.lma
                it.subalign = node.subalign
                it.region, it.lma_region = node.region, node.lma_region
                it.phdrs = list(osec.phdrs or node.phdrs)
                it.fill = osec.fill if osec.fill is not None else node.fill
                it.provides = script.overlay_provides(osec)
                members.append(it)
                orphans_after(id(osec), it)
            if members:
                members[-1].ov_last = True
                members[-1].ov_members = members
        elif isinstance(node, (ast.Assignment, ast.Assert)):
            seq.append(node)
    for anchor, group in anchored:
        _insert_orphans(seq, anchor, group)
    items = seq + tail
    section_items = [it for it in items if isinstance(it, LayoutItem)]
    # orphans take the region, AT> region and program headers of the statement
    # they follow (ld's lang_insert_orphan)
    for it in section_items:
        if it.node is None and it.st.after is not None:
            a = item_of.get(id(it.st.after))
            if a is not None and (it.st.out is None or it.st.out.flags & SHF_ALLOC):
                it.region, it.lma_region, it.phdrs = a.region, a.lma_region, list(a.phdrs)
        if it.node is None and (omap.relocatable or it.st.out is not None and not it.st.out.flags & SHF_ALLOC):
            it.address = ("num", 0)            # non-allocated orphans sit at 0 (under -r, all)
    # a statement with no LMA, address or region of its own takes the AT> region
    # of the one before it in the same region (ld's lang_propagate_lma_regions)
    for a, b in zip(section_items, section_items[1:]):
        if b.lma_region is None and b.lma is None and b.address is None and b.region == a.region:
            b.lma_region = a.lma_region
    return items


def _insert_orphans(seq, anchor, group):
    """GNU ld's place for orphans after `anchor` (None: the start)."""
    j = seq.index(anchor) + 1 if anchor is not None else 0
    ignore_first = anchor is None
    dot_at = None
    while j < len(seq):
        e = seq[j]
        if isinstance(e, (ast.Assignment, ast.Assert)):
            if dot_at is None and isinstance(e, ast.Assignment) and e.target == ".":
                if not ignore_first:
                    dot_at = j
                ignore_first = False
            j += 1
            continue
        if dot_at is not None:
            out = e.st.out
            if out is None or not out.chunks or out.flags & SHF_ALLOC:
                j = dot_at
        break
    seq[j:j] = group


_TABLES = (".symtab", ".strtab", ".shstrtab")


def layout_scripted(ctx):
    cfg = ctx.config
    script = ctx.script
    if not ctx.is_dynamic:
        ctx.outputs.place_phantoms(_BFD_PHANTOMS)
    items = _layout_items(ctx)
    for o in ctx.outputs.sorted():
        if o.name in _TABLES:               # the linker's tables: not part of the walk
            place_chunks(o)
    align_first_tls(ctx.outputs.sorted())
    stack = gnu_stack_flags(ctx)
    phnum = len(script.phdrs) if script.phdrs else _estimate_phdrs(ctx, stack)
    prev = {}
    # SIZEOF_HEADERS counts `phnum` headers; the map may then need another
    # number.  Like ld.bfd (ldelf_map_segments) the count follows the map the
    # first few times, then may only grow: room is left for headers not used.
    tries = 10
    runs = {}                               # what the walks share (see _Walk.place_chunks)
    for attempt in range(16):
        walk = _run_walk(ctx, items, phnum, prev, False, runs)
        maps = _segment_map(ctx, walk, phnum, stack)
        values = dict(walk.values)
        if walk.relro_end is not None and walk.data_seg_base is not None and relro_on(cfg):
            for key, v in zip(_RELRO_PLAN, _relro_shift(walk, prev)):
                values[key] = Value(v, NUM)
        n = len(maps)
        stable = _same(values, prev)
        prev = values
        need_layout = False
        if n != phnum and not script.phdrs and (tries > 6 or n > phnum):
            need_layout = True
            phnum = n
        tries -= 1
        if not need_layout and stable and attempt > 0:
            walk = _run_walk(ctx, items, phnum, prev, True, runs)
            maps = _segment_map(ctx, walk, phnum, stack)
            break
    else:
        raise LinkError("linker script layout does not converge (symbols depend on each other in a cycle?)")
    _finish(ctx, walk, maps, phnum)
    _set_symbol_values(ctx, walk)


layout_scripted.pass_name = "layout"     # (--stats, --time-trace: the layout pass of every final link)


def layout_relocatable(ctx):
    """The SECTIONS walk of a -r link: offsets of the input sections in their
    output sections, sizes, addresses (0 unless a user script gives another), data
    commands and the values of the symbols the script assigns.  No program headers,
    no file positions: relocatable.py numbers and writes the sections.  (A script
    that only places input sections at 0 needs no walk: ScriptOutputMap.plain_r.)"""
    items = _layout_items(ctx)
    prev, runs = {}, {}
    for attempt in range(16):
        walk = _run_walk(ctx, items, 0, prev, False, runs)
        values = dict(walk.values)
        stable = _same(values, prev)
        prev = values
        if stable:
            break
    else:
        raise LinkError("linker script layout does not converge (symbols depend on each other in a cycle?)")
    walk = _run_walk(ctx, items, 0, prev, True, runs)
    for r in walk.regions.values():
        if r.used_end > r.origin + r.length:
            raise LinkError(f"region '{r.name}' overflowed by {r.used_end - (r.origin + r.length)} bytes")
    if walk.assert_failures:
        raise LinkError(walk.assert_failures[0])
    for c in walk.data_chunks:
        c.output.chunks.append(c)
    return walk


def _run_walk(ctx, items, phnum, prev, final, runs):
    regions = {}
    boot = _Walk(ctx, [], {}, phnum, prev)
    for name, r in ctx.script.memory.items():
        regions[name] = Region(name, r.attrs, boot.ev.value(r.origin, r.where),
                               boot.ev.value(r.length, r.where), r.where)
    walk = _Walk(ctx, items, regions, phnum, prev, runs)
    walk.final = final
    ctx.script_walk = walk
    walk.run()
    return walk


def _output_sections(ctx):
    return [o for o in ctx.outputs.sorted() if _is_output(o)]


def _relro_range(ctx, walk):
    if not relro_on(ctx.config) or walk.relro_end is None or walk.data_seg_base is None:
        return None
    shift = walk.prev.get("\0relro_shift", Value(0)).v
    lo = walk.data_seg_base + shift
    if walk.relro_end <= lo:
        return None         # nothing between the two: no RELRO (ld's lang_find_relro_sections)
    hi = align_up(walk.relro_end, walk.relro_page_size)
    return (lo, hi) if hi > lo else None


def _demote_empty(ctx):
    """A section only an assignment to `.` keeps, which got no size (`. = .;`), is
    what bfd makes of it: PROGBITS, writable, not allocated (in no segment)."""
    for o in ctx.outputs.sorted():
        stmt = getattr(o, "stmt", None)
        if o.size == 0 and not o.chunks and o.type == SHT_NOBITS and stmt is not None and \
                stmt.node is not None and not _keeps_empty(stmt.node) and _moves_dot(stmt.node):
            o.type, o.flags = SHT_PROGBITS, SHF_WRITE


def _segment_map(ctx, walk, phnum, stack):
    _demote_empty(ctx)
    outs = _output_sections(ctx)
    alloc = [o for o in outs if o.flags & SHF_ALLOC]
    ehsize, phent = (64, 56) if ctx.target.IS64 else (52, 32)
    if ctx.script.phdrs:
        stmts = []
        for it in walk.items:
            if isinstance(it, LayoutItem):
                out = it.st.out if it.st.out is not None and _is_output(it.st.out) else None
                if out is not None and not out.flags & SHF_ALLOC:
                    out = None
                stmts.append((out, list(it.phdrs), it.type == "NOLOAD", it.where, it.name))
        return segments.script_map(ctx, ctx.script.phdrs, stmts,
                                   lambda e, where: Evaluator(walk).value(e, where))
    return segments.auto_map(ctx, alloc, walk.load_phdrs, ehsize + phent * phnum, stack,
                             _relro_range(ctx, walk), [o for o in outs if not o.flags & SHF_ALLOC])


def _set_symbol_values(ctx, walk):
    for bname, sym in ctx.script_symbols.items():
        v = walk.values.get(bname.decode())
        if v is None:
            v = Value(0, ABS)
        sec = v.sec
        if isinstance(sec, Shadow) or (v.relative and not sec.index):
            sec = _nearby(ctx, sec, v.v)
        sym.value = v.v
        if v.relative and sec is not None:
            sym.output, sym.absolute = sec, False
        else:
            sym.output, sym.absolute = None, True
        ctx.linker_syms[bname] = (lambda val=v.v: val)


def _nearby(ctx, sec, addr):
    """The output section that stands in for one that is not output (bfd's
    _bfd_nearby_section): the kept section before or after it in output order,
    the one that looks like the same segment, else the one the address is in."""
    order = []
    output = {id(o) for o in ctx.sections_out}
    for it in ctx.script_walk.items:
        if not isinstance(it, LayoutItem):
            continue
        o = it.st.out
        if o is not None and o.index and id(o) in output:
            order.append(o)
        elif (o is sec or it.shadow is sec) and sec is not None:
            order.append(sec)
    if sec not in order:
        return None
    i = order.index(sec)
    prev = next((o for o in reversed(order[:i]) if o is not sec), None)
    nxt = next((o for o in order[i + 1:] if o is not sec), None)
    return nearby_section(prev, sec, nxt, addr)


def _same(a, b):
    if a.keys() != b.keys():
        return False
    return all(a[k].v == b[k].v for k in a)


# what the walks carry of the RELRO sizing (_relro_shift): the shift of the data
# segment, the unshifted base it was sized from, and the page-aligned end it aims at
_RELRO_PLAN = ("\0relro_shift", "\0relro_from", "\0relro_target")


def _relro_shift(walk, prev):
    """DATA_SEGMENT_RELRO_END: move the data segment up so that the end of RELRO
    lands on a common-page boundary, as ld.bfd sizes it (lang_size_relro_segment):
    from a walk with no shift, back from that page boundary over each RELRO section
    (its size, its alignment) to where the segment must start; a walk with that
    shift keeps it, unless RELRO then ends past the boundary (alignment padding
    grew), when the segment goes back to no shift.  Returns the _RELRO_PLAN values."""
    old = prev.get("\0relro_shift", Value(0)).v
    sized_from = prev.get("\0relro_from", Value(-1)).v
    target = prev.get("\0relro_target", Value(0)).v
    unshifted = walk.data_seg_base
    starts = walk.cfg.section_start
    if starts:
        # (bfd sizes RELRO once, from the layout before any shift: the sections it
        # found there are the ones counted on every later try)
        ctx = walk.ctx
        relro = ctx.relro_fixed_sections
        if relro is None:
            relro = _relro_sections(walk, unshifted + old)
            if not any(o.name in starts for o in relro):
                relro = []
            ctx.relro_fixed_sections = relro
        if relro:
            return _relro_shift_bfd(walk, relro), unshifted, 0
    if sized_from == unshifted:
        if old:
            # the shifted walk: RELRO must still end by the boundary it was sized for
            return (old, unshifted, target) if walk.relro_end <= target else (0, unshifted, -1)
        if target == -1:
            return 0, unshifted, -1     # (shifting overshot before: the segment stays put)
    elif old:
        return 0, -1, 0                 # (what comes before moved: size again, unshifted)
    if walk.relro_end <= unshifted:
        return 0, unshifted, 0
    return (_relro_shift_bfd(walk, _relro_sections(walk, unshifted)), unshifted,
            align_up(walk.relro_end, walk.relro_page_size))


def _relro_sections(walk, base):
    """The output sections of this walk that RELRO covers: from `base` to its end."""
    return [o for o in walk.ctx.outputs.sorted() if o.flags & SHF_ALLOC and _is_output(o)
            and base <= o.addr < walk.relro_end - walk.relro_offset]


def _relro_shift_bfd(walk, relro):
    """bfd's lang_size_relro_segment_1 over `relro` (this walk's RELRO sections): from
    the page-aligned end of RELRO back over each section (its size, its alignment),
    the place the segment starts.  (A fixed section does not move with the shift, so
    `relro_end - base` would change with every try.)"""
    desired = align_up(walk.relro_end, walk.relro_page_size) - walk.relro_offset
    for o in reversed(relro):
        tbss = o.flags & SHF_TLS and o.type == SHT_NOBITS
        size = 0 if tbss else o.size
        desired = (desired - size) & ~(max(o.align, 1) - 1)
    shift = desired - walk.data_seg_base
    return shift if shift >= 0 else 0


def _is_output(o):
    return (o.size or o.name in ("",)) or getattr(o, "stmt", None) is not None and \
        o.stmt.node is not None and (_keeps_empty(o.stmt.node) or _moves_dot(o.stmt.node)) or \
        o.type == SHT_NOBITS and o.size


def _estimate_phdrs(ctx, stack):
    """BFD's first guess at the number of program headers (get_program_header_size):
    two PT_LOADs and one for each kind of segment the output will have."""
    n = 2
    outs = [o for o in ctx.outputs.sorted() if o.size]
    if ctx.interp is not None and ctx.interp.output is not None and ctx.interp.output.size:
        n += 2
    if ctx.dynamic is not None:
        n += 1
    if relro_on(ctx.config):
        n += 1
    if ctx.eh_frame_hdr is not None:
        n += 1
    if stack is not None:
        n += 1
    if ctx.gnu_property is not None:
        n += 1
    prev = None
    for o in outs:                        # runs of notes of one alignment
        if o.type == SHT_NOTE and o.flags & SHF_ALLOC and \
                not (prev is not None and prev.type == SHT_NOTE and prev.align == o.align):
            n += 1
        prev = o
    if any(o.flags & SHF_TLS for o in outs):
        n += 1
    return n


# -- file offsets and the rest ----------------------------------------------------

def _finish(ctx, walk, maps, phnum):
    cfg = ctx.config
    t = ctx.target
    page = cfg.max_page_size if not (cfg.nmagic or cfg.omagic) else 1
    regions = walk.regions
    # region overflow: GNU ld names the region and by how much
    for r in regions.values():
        if r.used_end > r.origin + r.length:
            over = r.used_end - (r.origin + r.length)
            raise LinkError(f"region '{r.name}' overflowed by {over} bytes "
                            f"(ORIGIN {r.origin:#x}, LENGTH {r.length:#x}, used up to {r.used_end:#x})")
    if walk.assert_failures:
        raise LinkError(walk.assert_failures[0])
    outs = _output_sections(ctx)
    alloc = [o for o in outs if o.flags & SHF_ALLOC]
    # (room for `phnum` headers, as SIZEOF_HEADERS counted; as many as the map has are written)
    phdrs, off, phoff, phdr_load, placed = segments.assign_positions(ctx, maps, max(phnum, len(maps)))
    # allocated sections in no segment still need file space (bfd warns)
    for o in alloc:
        if id(o) not in placed:
            if o.size and o.type != SHT_NOBITS:
                diag.warn(f"{cfg.output}: warning: allocated section `{o.name}' not in segment")
            a = page if o.size else max(o.align, 1)
            off += (o.addr - off) % a
            o.offset = off
            if o.type != SHT_NOBITS:
                off += o.size
    segments.finish_non_load(ctx, maps, phdrs, _relro_range(ctx, walk), cfg.stack_size)
    phdrs = [p for p in phdrs if p.type != 0 or p.memsz]
    ctx.phdrs = phdrs
    if cfg.warn_rwx_segments is not False and any(
            p.type == PT_LOAD and p.memsz and p.flags & (PF_W | PF_X) == PF_W | PF_X for p in phdrs):
        _warn_once(ctx, f"{cfg.output} has a LOAD segment with RWX permissions")      # (as ld.bfd 2.40)
    ctx.phoff = phoff
    ctx.ehdr_start = None
    if phdr_load is not None and phdr_load.filehdr:
        p = phdrs[phdr_load.idx]
        ctx.ehdr_start = p.vaddr
    for p in phdrs:
        if p.type == PT_TLS:
            ctx.tls_start = p.vaddr
            ctx.tls_end = p.vaddr + align_up(p.memsz, p.align)
            ctx.tls_align = p.align
    # overlapping sections (by LMA, like GNU ld's check; --no-check-sections skips it)
    loaded = sorted((o for o in alloc if o.type != SHT_NOBITS and o.size and ctx.config.check_sections),
                    key=lambda o: o.lma)
    for a, b in zip(loaded, loaded[1:]):
        if b.lma < a.lma + a.size:
            raise LinkError(f"section {b.name} LMA [{b.lma:#018x},{b.lma + b.size - 1:#018x}] overlaps "
                            f"section {a.name} LMA [{a.lma:#018x},{a.lma + a.size - 1:#018x}]")
    # non-allocated sections, then the section header table
    if cfg.emit_relocs:
        from ldpy.emit_relocs import with_rela_sections
        outs = with_rela_sections(ctx, outs)
    if len(outs) + 1 >= SHN_LORESERVE:
        # extended section numbering (SHN_XINDEX) is written for -r outputs only; for
        # an executable or shared object ld.bfd and mold refuse this many too
        raise LinkError(f"too many output sections: {len(outs) + 1} section headers "
                        f"(at most {SHN_LORESERVE - 1})")
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
    # their address and belong to a neighbour, as in GNU ld
    output_ids = {id(o) for o in outs}
    for o in ctx.outputs.sorted():
        if id(o) not in output_ids and o.flags & SHF_ALLOC:
            n = _nearby(ctx, o, o.addr)
            if n is not None:
                o.offset, o.index = n.offset + (o.addr - n.addr), n.index
    # data commands are chunks of their sections
    for c in walk.data_chunks:
        c.output.chunks.append(c)
    ctx.file_size = ctx.shoff + (64 if t.IS64 else 40) * (len(outs) + 1)   # + the null header
