"""What plugins see of the link: thin views over ldpy's own objects.

Each view holds the linker's object and reads it on demand; the façade
(wrapper.LinkerWrapper) is the only way to change anything.
"""
import fnmatch

from ldpy.elf.format import SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHT_NOBITS


class InputFile:
    __slots__ = ("_f",)

    def __init__(self, f):
        self._f = f

    @property
    def name(self):
        return self._f.name

    @property
    def path(self):
        a = getattr(self._f, "archive", None)
        return a.path if a is not None else self._f.name

    @property
    def member_name(self):
        m = getattr(self._f, "member", None)
        return m.name if m is not None else None

    @property
    def is_archive_member(self):
        return getattr(self._f, "archive", None) is not None

    def sections(self):
        return [Section(s) for s in getattr(self._f, "sections", ()) or ()
                if s is not None and s.file is self._f]

    def symbols(self):
        """The file's global symbols as the link resolved them."""
        from ldpy.plugin.wrapper import global_symbols_of
        return [Symbol(s) for s in global_symbols_of(self._f)]

    def __eq__(self, other):
        return isinstance(other, InputFile) and other._f is self._f

    def __hash__(self):
        return id(self._f)

    def __repr__(self):
        return f"<InputFile {self.name}>"


class Chunk:
    """A piece of an output section: an input section, a merged-strings section
    or a chunk the linker or a plugin made."""
    __slots__ = ("_c",)
    SLOT = "_c"                       # (manager._feed_views re-points it)

    def __init__(self, c):
        self._c = c

    @property
    def name(self):
        return self._c.name

    @property
    def size(self):
        return self._c.size

    @property
    def alignment(self):
        return self._c.align

    @property
    def flags(self):
        return self._c.flags

    @property
    def is_code(self):
        return bool(self._c.flags & SHF_EXECINSTR)

    @property
    def is_bss(self):
        return self._c.type == SHT_NOBITS

    @property
    def file(self):
        f = self._c.file
        return InputFile(f) if f is not None else None

    @property
    def section(self):
        return Section(self._c) if self._c.is_input else None

    @property
    def output_section(self):
        o = self._c.output
        return OutputSection(o) if o is not None and hasattr(o, "chunks") else None

    @property
    def offset(self):
        """Offset in its output section (meaningful from CreatingSegments on)."""
        return self._c.out_offset

    @property
    def address(self):
        o = self._c.output
        return o.addr + self._c.out_offset if o is not None else None

    def contents(self):
        return bytes(self._c.bytes())

    def symbols(self):
        from ldpy.plugin.wrapper import symbols_in_section
        return [Symbol(s) for s in symbols_in_section(self._c)]

    def match_pattern(self, pattern):
        return fnmatch.fnmatchcase(self.name, pattern)

    def __eq__(self, other):
        return isinstance(other, Chunk) and other._c is self._c

    def __hash__(self):
        return id(self._c)

    def __repr__(self):
        return f"<Chunk {self.name} {self.size:#x}>"


class Section(Chunk):
    """An input section (a Chunk that comes from a file)."""
    __slots__ = ()

    @property
    def index(self):
        return self._c.index

    @property
    def type(self):
        return self._c.type

    @property
    def is_live(self):
        return bool(self._c.live)

    @property
    def is_discarded(self):
        return not self._c.live

    def chunks(self):
        return [Chunk(self._c)]

    def __repr__(self):
        return f"<Section {self._c.file.name}({self.name})>"


class Rule:
    """One input section description of an output section (a linker script rule):
    `pos` is its command position (script) or None (the default layout's one rule)."""
    __slots__ = ("_o", "pos", "_desc", "annotation", "_name")

    def __init__(self, out, pos, desc=None, annotation=None, name=None):
        self._o, self.pos, self._desc, self.annotation = out, pos, desc, annotation
        self._name = name if name is not None else out.name     # (before merging: no output yet)

    @property
    def output_section(self):
        return OutputSection(self._o, self._name)

    @property
    def text(self):
        d = self._desc
        if self.annotation is not None:
            return f"plugin rule: {self.annotation}"
        if d is None:
            return "*(orphans)" if self.pos is not None else f"*({self._o.name})"
        pats = " ".join(p.pattern for p in d.patterns)
        inner = f"{d.file}({pats})"
        return f"KEEP({inner})" if d.keep else inner

    def chunks(self):
        if self.pos is None:
            return [Chunk(c) for c in self._o.chunks]
        return [Chunk(c) for c in self._o.desc_chunks.get(self.pos, ())]

    def __eq__(self, other):
        return isinstance(other, Rule) and other._o is self._o and other._name == self._name \
            and other.pos == self.pos

    def __hash__(self):
        return hash((self._name, self.pos))

    def __str__(self):
        return f"{self.text} #Rule {self.pos if self.pos is not None else 0}, {self._name}"

    def __repr__(self):
        return f"<Rule {self}>"


class OutputSection:
    """An output section; before section merging (BeforeLayout) it may be only
    the script's statement, with rules and no chunks yet."""
    __slots__ = ("_o", "_name", "_stmt")

    def __init__(self, out, name=None, stmt=None):
        self._o, self._stmt = out, stmt if stmt is not None else getattr(out, "stmt", None)
        self._name = name if name is not None else out.name

    @property
    def name(self):
        return self._name

    @property
    def address(self):
        return self._o.addr if self._o is not None else None

    @property
    def load_address(self):
        if self._o is None:
            return None
        lma = getattr(self._o, "lma", None)
        return lma if lma else self._o.addr

    @property
    def size(self):
        return self._o.size if self._o is not None else 0

    @property
    def offset(self):
        return self._o.offset if self._o is not None else None

    @property
    def index(self):
        return self._o.index if self._o is not None else None

    @property
    def flags(self):
        return self._o.flags if self._o is not None else 0

    @property
    def alignment(self):
        return self._o.align if self._o is not None else 1

    @property
    def is_code(self):
        return bool(self.flags & SHF_EXECINSTR)

    @property
    def is_writable(self):
        return bool(self.flags & SHF_WRITE)

    @property
    def is_alloc(self):
        return bool(self.flags & SHF_ALLOC)

    def chunks(self):
        return [Chunk(c) for c in self._o.chunks] if self._o is not None else []

    def rules(self):
        """The rules, in script order; the default layout has one rule per section."""
        from ldpy.script import ast
        from ldpy.script.place import ORPHAN_POS
        o = self._o
        if self._stmt is None:
            return [Rule(o, None, name=self._name)] if o is not None else []
        out = []
        for pos, cmd in enumerate(self._stmt.commands):
            if isinstance(cmd, ast.InputSectionDesc):
                out.append(Rule(o, pos, cmd, getattr(cmd, "plugin_annotation", None), self._name))
        if o is not None and o.desc_chunks.get(ORPHAN_POS):
            out.append(Rule(o, ORPHAN_POS))
        return out

    def __eq__(self, other):
        return isinstance(other, OutputSection) and other._name == self._name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f"<OutputSection {self.name}>"


class Symbol:
    __slots__ = ("_s",)
    SLOT = "_s"

    def __init__(self, s):
        self._s = s

    @property
    def name(self):
        return self._s.name.decode("utf-8", "replace")

    @property
    def is_defined(self):
        from ldpy.symbols import UNDEF, SHARED
        return self._s.kind not in (UNDEF, SHARED)

    @property
    def is_undefined(self):
        from ldpy.symbols import UNDEF
        return self._s.kind == UNDEF

    @property
    def is_shared(self):
        from ldpy.symbols import SHARED
        return self._s.kind == SHARED

    @property
    def is_weak(self):
        return bool(self._s.weak)

    @property
    def is_common(self):
        from ldpy.symbols import COMMON
        return self._s.kind == COMMON

    @property
    def is_function(self):
        return self._s.type == 2

    @property
    def is_object(self):
        return self._s.type == 1

    @property
    def size(self):
        return self._s.size

    @property
    def value(self):
        """st_value: the offset in its section before layout."""
        return self._s.value

    @property
    def address(self):
        """The final address (AfterLayout and later; else None)."""
        from ldpy.plugin.wrapper import current_wrapper
        ctx = current_wrapper()
        g = ctx.gaddr if ctx is not None else None
        return int(g[self._s.gid]) if g is not None and self._s.gid < len(g) else None

    @property
    def file(self):
        return InputFile(self._s.file) if self._s.file is not None and hasattr(self._s.file, "sections") else None

    @property
    def section(self):
        sec = self._s.section
        return Section(sec) if sec is not None else None

    @property
    def chunk(self):
        sec = self._s.section
        return Chunk(sec) if sec is not None else None

    def __eq__(self, other):
        return isinstance(other, Symbol) and other._s is self._s

    def __hash__(self):
        return id(self._s)

    def __repr__(self):
        return f"<Symbol {self.name}>"


class Use:
    """A relocation: the place (chunk, offset) and what it refers to."""
    __slots__ = ("chunk", "offset", "type", "type_name", "symbol_name", "addend", "row",
                 "source_address", "target_address")

    def __init__(self, chunk, offset, type_, type_name, symbol_name, addend, row,
                 source_address=None, target_address=None):
        self.chunk, self.offset, self.type, self.type_name = chunk, offset, type_, type_name
        self.symbol_name, self.addend, self.row = symbol_name, addend, row
        self.source_address, self.target_address = source_address, target_address

    def __repr__(self):
        return f"<Use {self.chunk.name}+{self.offset:#x} {self.type_name} {self.symbol_name}{self.addend:+d}>"


class Segment:
    __slots__ = ("_p",)

    def __init__(self, p):
        self._p = p

    @property
    def type(self):
        return self._p.type

    @property
    def flags(self):
        return self._p.flags

    @property
    def offset(self):
        return self._p.offset

    @property
    def vaddr(self):
        return self._p.vaddr

    @property
    def paddr(self):
        return self._p.paddr if self._p.paddr is not None else self._p.vaddr

    @property
    def filesz(self):
        return self._p.filesz

    @property
    def memsz(self):
        return self._p.memsz

    @property
    def align(self):
        return self._p.align

    def output_sections(self):
        return [OutputSection(o) for o in self._p.sections]

    def __repr__(self):
        return f"<Segment type={self.type:#x} vaddr={self.vaddr:#x}>"
