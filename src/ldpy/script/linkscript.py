"""The link's script: what every -T script, implicit script and the default
script contribute, merged in command-line order (SECTIONS statements, MEMORY
regions, PHDRS, top-level assignments, INSERT), and the symbols they define."""
from ldpy.diag import LinkError
from ldpy.script import ast
from ldpy.symbols import UNDEF, SYNTHETIC
from ldpy.elf.format import STV_HIDDEN


class Region:
    __slots__ = ("name", "attrs", "origin", "length", "cur", "where", "last_delta", "used_end")

    def __init__(self, name, attrs, origin, length, where):
        self.name, self.attrs, self.origin, self.length, self.where = name, attrs, origin, length, where
        self.cur = origin
        self.last_delta = None        # lma - vma of the last section placed here
        self.used_end = origin

    def accepts(self, flags):
        """MEMORY attributes: does a section with these flags default to this region?"""
        from ldpy.elf.format import SHF_WRITE, SHF_EXECINSTR, SHF_ALLOC
        if not self.attrs:
            return False
        want, neg = set(), set()
        bucket = want
        for c in self.attrs.lower():
            if c == "!":
                bucket = neg
                continue
            bucket.add(c)
        have = {"a"} if flags & SHF_ALLOC else set()
        have |= {"w"} if flags & SHF_WRITE else {"r"}
        if flags & SHF_EXECINSTR:
            have.add("x")
        if neg & have:
            return False
        return bool(want & (have | ({"r"} if "r" in want else set()))) if want else True


class LinkScript:
    def __init__(self):
        self.statements = []          # SECTIONS-level nodes, top-level assignments in place
        self.memory = {}              # name -> ast.MemoryRegion
        self.aliases = {}
        self.phdrs = None             # [ast.PhdrSpec] when a PHDRS command is given
        self.has_sections = False
        self.inserts = []             # (ast.Sections with .insert)
        self.asserts = []
        self.externs = []             # EXTERN(...) names: --gc-sections roots
        self.nocrossrefs = []         # ("list", [sections]) / ("to", [to, from...])
        self.plugins = []             # ast.PluginCmd: ELD plugin commands (top level and in sections)
        self.versions = []            # (text, path) of VERSION commands, read with --version-script's

    def add(self, script):
        """Merge one parsed script's layout commands (input commands are the loader's)."""
        for cmd in script.commands:
            if isinstance(cmd, ast.Sections):
                if cmd.insert is not None:
                    self.inserts.append(cmd)
                else:
                    self.has_sections = True
                    self.statements.extend(cmd.statements)
                self.plugins.extend(n.plugin for n in cmd.statements
                                    if isinstance(n, ast.OutputSection) and n.plugin is not None)
                for node in cmd.statements:
                    if isinstance(node, ast.Overlay) and node.nocrossrefs and len(node.sections) > 1:
                        self.nocrossrefs.append(("list", [o.name for o in node.sections]))
            elif isinstance(cmd, (ast.Assignment, ast.Assert)):
                self.statements.append(cmd)
            elif isinstance(cmd, ast.PluginCmd):
                self.plugins.append(cmd)
            elif isinstance(cmd, ast.Memory):
                for r in cmd.regions:
                    if r.name in self.memory:
                        raise LinkError(f"{r.where}: region '{r.name}' is already defined")
                    self.memory[r.name] = r
            elif isinstance(cmd, ast.Phdrs):
                self.phdrs = (self.phdrs or []) + list(cmd.headers)
            elif isinstance(cmd, ast.Command) and cmd.name == "EXTERN":
                self.externs.extend(cmd.args)
            elif isinstance(cmd, ast.Command) and cmd.name == "VERSION":
                self.versions.append((cmd.args[0], script.path))
            elif isinstance(cmd, ast.Command) and cmd.name in ("NOCROSSREFS", "NOCROSSREFS_TO"):
                if len(cmd.args) >= 2:
                    self.nocrossrefs.append(("to" if cmd.name == "NOCROSSREFS_TO" else "list",
                                             list(cmd.args)))
            elif isinstance(cmd, ast.Command) and cmd.name in ("FORCE_COMMON_ALLOCATION",
                                                               "INHIBIT_COMMON_ALLOCATION"):
                setattr(self, cmd.name.lower(), True)      # (read by -r links: relocatable.py)
            elif isinstance(cmd, ast.Command) and cmd.name == "REGION_ALIAS":
                if len(cmd.args) != 2:
                    raise LinkError(f"{cmd.where}: REGION_ALIAS needs an alias and a region")
                self.aliases[cmd.args[0]] = cmd.args[1]

    def apply_inserts(self):
        """INSERT AFTER/BEFORE: splice those SECTIONS into the main statement list."""
        for sec in self.inserts:
            target = sec.insert.section
            at = None
            for i, node in enumerate(self.statements):
                if isinstance(node, ast.OutputSection) and node.name == target:
                    at = i if not sec.insert.after else i + 1
                    if not sec.insert.after:
                        break
            if at is None:
                raise LinkError(f"{sec.insert.where}: INSERT: no output section '{target}' in the script")
            self.statements[at:at] = sec.statements
        self.inserts = []

    def section_statements(self):
        return self.statements

    def all_assignments(self):
        """Every symbol assignment, with the output section node it sits in (or None)."""
        for node in self.statements:
            if isinstance(node, ast.Assignment):
                yield node, None
            elif isinstance(node, ast.OutputSection):
                if getattr(node, "dropped", False):
                    continue                  # ONLY_IF_RO/RW not met
                for c in node.commands:
                    if isinstance(c, ast.Assignment):
                        yield c, node
            elif isinstance(node, ast.Overlay):
                for osec in node.sections:
                    for c in osec.commands:
                        if isinstance(c, ast.Assignment):
                            yield c, osec
                    for c in self.overlay_provides(osec):
                        yield c, None

    def overlay_provides(self, osec):
        """What GNU ld adds after each OVERLAY member X: PROVIDE(__load_start_X =
        LOADADDR(X)) and PROVIDE(__load_stop_X = LOADADDR(X) + SIZEOF(X)), X with
        only its letters, digits and underscores."""
        cached = getattr(osec, "_provides", None)
        if cached is None:
            ident = "".join(ch for ch in osec.name if ch.isalnum() or ch == "_")
            name = ("sym", osec.name)
            load = ("call", "LOADADDR", [name])
            cached = [ast.Assignment(f"__load_start_{ident}", "=", load, "PROVIDE", osec.where),
                      ast.Assignment(f"__load_stop_{ident}", "=",
                                     ("+", load, ("call", "SIZEOF", [name])), "PROVIDE", osec.where)]
            osec._provides = cached
        return cached


def constant_only(expr):
    op = expr[0]
    if op == "num":
        return True
    if op == "sym" or op == "str":
        return False
    if op == "call":
        return expr[1] in ("CONSTANT", "LOG2CEIL", "MAX", "MIN", "ABSOLUTE", "ORIGIN", "LENGTH") and \
            all(constant_only(a) or (a[0] == "sym" and expr[1] in ("CONSTANT", "ORIGIN", "LENGTH"))
                for a in expr[2])
    return all(constant_only(a) for a in expr[1:] if isinstance(a, tuple))


def define_script_symbols(ctx):
    """Enter every symbol the script assigns: plain and HIDDEN assignments
    always (they override a definition in an object, as in GNU ld), PROVIDE
    only when something references the name and nothing defines it."""
    script = ctx.script
    st = ctx.symtab
    ctx.script_symbols = {}
    assigned = list(script.all_assignments())
    # the image boundaries enter the symbol table (and .symtab) in the order the
    # linker defines them without a script: _end before __bss_start, as ld.bfd's
    # own output lists them
    plain = {a.target for a, _ in assigned if a.kind not in ("PROVIDE", "PROVIDE_HIDDEN")}
    for name in _BOUNDARY_ORDER:
        if name in plain:
            st.intern(name.encode())
    for a, section in assigned:
        if a.target == ".":
            continue
        name = a.target.encode()
        sym = st.by_name.get(name)
        if a.kind in ("PROVIDE", "PROVIDE_HIDDEN"):
            if sym is None or sym.kind not in (UNDEF, SYNTHETIC):
                continue
            if sym.kind == SYNTHETIC and name not in ctx.script_symbols and name not in ctx.linker_syms:
                continue
        else:
            if sym is None:
                sym = st.intern(name)
        sym.kind, sym.file, sym.section, sym.weak = SYNTHETIC, None, None, False
        sym.output = None
        st.undefined.discard(name)
        sym.absolute = section is None and constant_only(a.expr)
        if a.kind in ("HIDDEN", "PROVIDE_HIDDEN"):
            sym.visibility = STV_HIDDEN
            ctx.provide_hidden.add(name)
        src = _single_source(a, st)
        if src is not None:
            sym.type = src.type       # `a = func;` is a function too (bfd's assign_src)
        ctx.script_symbols[name] = sym
        ctx.linker_syms.pop(name, None)


_BOUNDARY_ORDER = ("_edata", "edata", "_end", "end", "_etext", "etext", "__etext", "__bss_start")

_NOT_SYMBOLS = ("ADDR", "SIZEOF", "LOADADDR", "ALIGNOF", "ORIGIN", "LENGTH", "SEGMENT_START",
                "CONSTANT", "DEFINED")


def _symbol_refs(expr):
    op = expr[0]
    if op == "sym":
        if expr[1] != ".":
            yield expr[1]
    elif op == "call":
        if expr[1] not in _NOT_SYMBOLS:
            for a in expr[2]:
                yield from _symbol_refs(a)
    elif op not in ("num", "str"):
        for a in expr[1:]:
            if isinstance(a, tuple):
                yield from _symbol_refs(a)


def _single_source(a, st):
    """GNU ld copies the symbol type into the target of an assignment whose
    expression names exactly one defined symbol once (`a = func;`, `a = func + 4;`)."""
    from ldpy.symbols import DEFINED, COMMON
    found = None
    for n in _symbol_refs(a.expr):
        s = st.by_name.get(n.encode())
        if s is None or s.kind not in (DEFINED, COMMON, SYNTHETIC):
            continue
        if found is not None:
            return None
        found = s
    return found
