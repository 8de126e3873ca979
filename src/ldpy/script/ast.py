"""The parsed form of a GNU linker script.

Expressions are tuple trees: ("num", n), ("sym", name) (the
location counter is ("sym", ".")), ("str", text), ("call", FUNC, [args]),
(op, a, b) for binary operators, ("?", c, a, b), ("u-"|"u!"|"u~"|"u+", a).
Bare keywords that take no parentheses (SIZEOF_HEADERS) are ("call", name, []).
Section names given to ADDR/SIZEOF/LOADADDR/ALIGNOF are ("sym", name) with the
whole name, dashes included.

Every node has `where`: "script:line:col", used to start error messages.
"""


class _Factory:
    def __init__(self, make):
        self.make = make


def field(default_factory):
    """A default made fresh for every node (like dataclasses.field(default_factory=...))."""
    return _Factory(default_factory)


def dataclass(cls):
    """A small stand-in for dataclasses.dataclass (__init__, __repr__, __eq__ from the
    annotations): every dynamic link reads libc.so's script, and building these classes
    with the dataclasses module costs several milliseconds of start-up."""
    names = list(cls.__dict__.get("__annotations__", {}))
    params, body, env = [], [], {}
    for n in names:
        if n in cls.__dict__:
            default = cls.__dict__[n]
            env[f"_d_{n}"] = default
            if isinstance(default, _Factory):
                params.append(f"{n}=_d_{n}")
                body.append(f"  self.{n} = _d_{n}.make() if {n} is _d_{n} else {n}")
                continue
            params.append(f"{n}=_d_{n}")
        else:
            params.append(n)
        body.append(f"  self.{n} = {n}")
    src = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["  pass"])

    def __init__(self, *args, **kw):
        # the real __init__ is compiled on the first node of this class: a link
        # reading only libc.so's script builds three of the forty classes
        exec(src, env)
        cls.__init__ = env["__init__"]
        cls.__init__(self, *args, **kw)
    cls.__init__ = __init__
    cls.__match_args__ = tuple(names)

    def __repr__(self):
        return f"{type(self).__name__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in names) + ")"

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in names)
    cls.__repr__, cls.__eq__, cls.__hash__ = __repr__, __eq__, None
    for n in names:                      # class attributes would shadow nothing, but tidy
        if n in cls.__dict__:
            delattr(cls, n)
    return cls


@dataclass
class Assignment:            # sym = expr; sym += expr; . = expr; PROVIDE(sym = expr); ...
    target: str              # symbol name, or "." for the location counter
    op: str                  # "=", "+=", "-=", "*=", "/=", "<<=", ">>=", "&=", "|="
    expr: tuple
    kind: str = "plain"      # "plain" | "PROVIDE" | "PROVIDE_HIDDEN" | "HIDDEN"
    where: str = ""


@dataclass
class Assert:                # ASSERT(expr, "message")
    expr: tuple
    message: str
    where: str = ""


@dataclass
class InputItem:             # one name in INPUT(...) / GROUP(...)
    name: str                # path, or NAME for -lNAME
    is_lib: bool = False
    as_needed: bool = False


@dataclass
class Input:                 # INPUT(...)
    items: list
    where: str = ""


@dataclass
class Group:                 # GROUP(...)
    items: list
    where: str = ""


@dataclass
class Command:               # ENTRY, OUTPUT, OUTPUT_FORMAT, OUTPUT_ARCH, TARGET, SEARCH_DIR,
    name: str                # STARTUP, EXTERN, NOCROSSREFS, NOCROSSREFS_TO, REGION_ALIAS,
    args: list               # FORCE_COMMON_ALLOCATION, INHIBIT_COMMON_ALLOCATION, ...
    where: str = ""          # args: the words/strings given, in order


@dataclass
class MemoryRegion:          # name (attrs) : ORIGIN = expr, LENGTH = expr
    name: str
    attrs: str               # as written, e.g. "rx", "!w", "" when none
    origin: tuple
    length: tuple
    where: str = ""


@dataclass
class Memory:
    regions: list
    where: str = ""


@dataclass
class PhdrSpec:              # name TYPE [FILEHDR] [PHDRS] [AT(expr)] [FLAGS(expr)];
    name: str
    type: tuple              # expression: PT_LOAD etc. are given as ("num", 1)
    filehdr: bool = False
    phdrs: bool = False
    at: tuple | None = None
    flags: tuple | None = None
    where: str = ""


@dataclass
class Phdrs:
    headers: list
    where: str = ""


@dataclass
class SectionPattern:        # one section-name glob in an input section description
    pattern: str             # glob (fnmatch-style: * ? [..])
    sort: tuple = ()         # outer to inner: "name", "alignment", "init_priority", "none"
    exclude_files: list = field(default_factory=list)   # EXCLUDE_FILE(...) before it


@dataclass
class InputSectionDesc:      # [KEEP(] filepattern(sectionpatterns...) [)]
    file: str                # file glob; "archive:member" forms kept as written; "*" for any
    patterns: list           # [SectionPattern]; COMMON is SectionPattern("COMMON")
    keep: bool = False
    file_sort: tuple = ()    # SORT(...) around the file pattern
    exclude_files: list = field(default_factory=list)   # EXCLUDE_FILE(...) before the file pattern
    flags: list = field(default_factory=list)            # INPUT_SECTION_FLAGS words, e.g. ["SHF_WRITE", "!SHF_TLS"]
    where: str = ""


@dataclass
class Data:                  # BYTE(expr) SHORT LONG QUAD SQUAD
    size: str                # "BYTE" | "SHORT" | "LONG" | "QUAD" | "SQUAD"
    expr: tuple
    where: str = ""


@dataclass
class Fill:                  # FILL(expr)
    expr: tuple
    where: str = ""


@dataclass
class OutputSection:
    name: str
    commands: list           # Assignment | Assert | InputSectionDesc | Data | Fill | Command
    address: tuple | None = None
    type: str | None = None  # None | "NOLOAD" | "DSECT" | "COPY" | "INFO" | "OVERLAY" | "READONLY"
    lma: tuple | None = None          # AT(expr)
    align: tuple | None = None        # ALIGN(expr) before ':'
    align_with_input: bool = False
    subalign: tuple | None = None
    constraint: str | None = None     # "ONLY_IF_RO" | "ONLY_IF_RW"
    region: str | None = None         # > region
    lma_region: str | None = None     # AT> region
    phdrs: list = field(default_factory=list)   # :phdr names
    fill: tuple | None = None         # = fillexp
    where: str = ""
    plugin: object = None             # PluginCmd: PLUGIN_CONTROL_FILESZ/MEMSZ(...) before ':'


@dataclass
class OverlaySection:
    name: str
    commands: list
    phdrs: list = field(default_factory=list)
    fill: tuple | None = None
    where: str = ""


@dataclass
class Overlay:               # OVERLAY [start] : [NOCROSSREFS] [AT(ldaddr)] { secname { ... } ... } >region :phdr =fill
    sections: list           # [OverlaySection]
    address: tuple | None = None
    lma: tuple | None = None
    nocrossrefs: bool = False
    region: str | None = None
    lma_region: str | None = None
    phdrs: list = field(default_factory=list)
    fill: tuple | None = None
    where: str = ""
    subalign: tuple | None = None     # SUBALIGN(expr) after ':'


@dataclass
class PluginCmd:             # PLUGIN_SECTION_MATCHER("lib", "Name" [, "opts"]) and its kin (ELD)
    kind: str                # the keyword: PLUGIN_ITER_SECTIONS, LINKER_PLUGIN, PLUGIN_CONTROL_MEMSZ...
    library: str
    name: str
    options: str = ""
    where: str = ""
    section: str = ""        # the output section of PLUGIN_CONTROL_FILESZ/MEMSZ


@dataclass
class Insert:                # INSERT AFTER name / INSERT BEFORE name (after a SECTIONS block)
    after: bool
    section: str
    where: str = ""


@dataclass
class Sections:
    statements: list         # Assignment | Assert | OutputSection | Overlay | Command
    insert: Insert | None = None
    where: str = ""


@dataclass
class Script:
    path: str
    commands: list           # top level, in order: Assignment, Assert, Input, Group, Command,
                             # Memory, Phdrs, Sections (INCLUDE already expanded)
