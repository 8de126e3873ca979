"""The GNU linker script language (binutils 2.40 ld/ldgram.y): text -> script.ast.

A recursive-descent parser over lexer.Lexer, which reads tokens on demand in
the mode the grammar needs at each point (expression, section name, input
section glob, file name).  Errors are one line: the script, line and column,
and what was expected.
"""
import os
import re

from ldpy.diag import LinkError
from ldpy.script import ast
from ldpy.script.lexer import EXPR, FILE, SECTION, WILD, Lexer

_ASSIGN_OPS = ("=", "+=", "-=", "*=", "/=", "<<=", ">>=", "&=", "|=")
_BINARY = {  # operator -> precedence (higher binds tighter); all left-associative
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, "<=": 7, ">": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}
_UNARY = ("-", "!", "~", "+")
_PT = {"PT_NULL": 0, "PT_LOAD": 1, "PT_DYNAMIC": 2, "PT_INTERP": 3, "PT_NOTE": 4, "PT_SHLIB": 5,
       "PT_PHDR": 6, "PT_TLS": 7, "PT_GNU_EH_FRAME": 0x6474e550, "PT_GNU_STACK": 0x6474e551,
       "PT_GNU_RELRO": 0x6474e552, "PT_GNU_PROPERTY": 0x6474e553}
_SORTS = {"SORT": "name", "SORT_BY_NAME": "name", "SORT_BY_ALIGNMENT": "alignment",
          "SORT_BY_INIT_PRIORITY": "init_priority", "SORT_NONE": "none", "REVERSE": "reverse"}
_SECTION_TYPES = ("NOLOAD", "DSECT", "COPY", "INFO", "OVERLAY", "READONLY")
_DATA = ("BYTE", "SHORT", "LONG", "QUAD", "SQUAD")
_PROVIDES = ("PROVIDE", "PROVIDE_HIDDEN", "HIDDEN")
# Functions whose argument is a name, not an expression, and the mode that reads it.
_NAME_ARG = {"ADDR": SECTION, "SIZEOF": SECTION, "LOADADDR": SECTION, "ALIGNOF": SECTION,
             "ORIGIN": SECTION, "LENGTH": SECTION, "DEFINED": EXPR, "CONSTANT": EXPR}
# Functions of expressions: name -> allowed argument counts.
_EXPR_ARGS = {"ABSOLUTE": (1,), "ALIGN": (1, 2), "BLOCK": (1,), "NEXT": (1,), "LOG2CEIL": (1,),
              "DATA_SEGMENT_END": (1,), "MAX": (2,), "MIN": (2,), "DATA_SEGMENT_ALIGN": (2,),
              "DATA_SEGMENT_RELRO_END": (2,)}
# Words GNU ld reserves in expressions: never symbol names there.
_EXPR_RESERVED = set(_NAME_ARG) | set(_EXPR_ARGS) | set(_SECTION_TYPES) | {
    "SEGMENT_START", "ASSERT", "SIZEOF_HEADERS", "BIND", "GROUP", "AS_NEEDED", "NOCROSSREFS",
    "NOCROSSREFS_TO", "ONLY_IF_RO", "ONLY_IF_RW", "SPECIAL", "INPUT_SECTION_FLAGS", "INCLUDE",
    "AT", "ALIGN_WITH_INPUT", "SUBALIGN", "HIDDEN", "PROVIDE", "PROVIDE_HIDDEN", "KEEP",
    "EXCLUDE_FILE", "PLUGIN_CONTROL_FILESZ", "PLUGIN_CONTROL_MEMSZ"} - {"READONLY"}
_MAX_NESTING = 100          # parentheses / unary operators in one expression
_MAX_INCLUDE_DEPTH = 10     # as GNU ld's MAX_INCLUDE_DEPTH


class Parser(Lexer):
    def __init__(self, text, path, include_dirs=(), depth=0, what="script", including=()):
        super().__init__(text, path, what)
        self.include_dirs = list(include_dirs)
        self.depth = depth              # INCLUDE nesting
        self.including = including     # real paths of the scripts that INCLUDE this one
        self.nesting = 0                # expression nesting

    # -- helpers -------------------------------------------------------------------
    def paren_name(self, mode, what):
        self.expect("(")
        name = self.name(mode, what)
        self.expect(")")
        return name

    def paren_expr(self):
        self.expect("(")
        e = self.expr()
        self.expect(")")
        return e

    def separator(self):
        """GNU ld ends an assignment with ';' or ','."""
        if not (self.accept(";") or self.accept(",")):
            self.error("';'")

    def assign_op_after(self, word_len):
        """The assignment operator after a word of WORD_LEN characters at the cursor."""
        save = self.pos
        self.pos += word_len
        try:
            op = self.peek_op()
        except LinkError:               # e.g. `o1/*.o`: not a comment after all
            op = None
        self.pos = save
        return op if op in _ASSIGN_OPS else None

    def assignment_ahead(self, mode=SECTION):
        """Is the next statement `name op= expr`?  Symbols are read as in an expression,
        then as words of MODE (so `foo-bar = 1;` assigns foo-bar, as in GNU ld)."""
        if self.at_string():
            save = self.pos
            self.string()
            op = self.peek_op()
            self.pos = save
            return op in _ASSIGN_OPS
        for m in (EXPR, mode):
            w = self.peek_word(m)
            if w and self.assign_op_after(len(w)):
                return True
        return False

    # -- the script ----------------------------------------------------------------------
    def script(self):
        commands = []
        self.top_list(commands)
        return ast.Script(self.path, commands)

    def top_list(self, out):
        while not self.at_end():
            self.top_command(out)

    def top_command(self, out):
        if self.accept(";"):
            return
        where = self.where()
        w = self.peek_word(SECTION)
        handler = _TOP.get(w) if w else None
        if handler is not None:
            self.pos += len(w)
            handler(self, out, w, where)
        elif self.assignment_ahead() or w in _PROVIDES:
            out.append(self.assignment())
            self.separator()
        else:
            self.error("a linker script command")

    # top-level commands: handler(self, out, keyword, where)
    def _c_input(self, out, kw, where):
        self.expect("(")
        items = self.input_list(False)
        out.append((ast.Input if kw == "INPUT" else ast.Group)(items, where))

    def input_list(self, as_needed):
        """Items up to the closing ')': files, -lNAME, AS_NEEDED(...), optional commas."""
        items = []
        while True:
            if self.keyword("AS_NEEDED", FILE):
                self.expect("(")
                items.extend(self.input_list(True))
            elif self.at_string():
                items.append(ast.InputItem(self.string(), False, as_needed))
            else:
                w = self.peek_word(FILE)
                if w is None or w == "-l":
                    self.error("a file name" if not items else "a file name or ')'")
                self.pos += len(w)
                if w.startswith("-l"):
                    items.append(ast.InputItem(w[2:], True, as_needed))
                else:
                    items.append(ast.InputItem(w, False, as_needed))
            if self.accept(")"):
                return items
            self.accept(",")

    def _c_one_arg(self, out, kw, where):
        mode = FILE if kw in ("SEARCH_DIR", "OUTPUT", "STARTUP", "MAP") else WILD
        out.append(ast.Command(kw, [self.paren_name(mode, "a name")], where))

    def _c_output_format(self, out, kw, where):
        self.expect("(")
        args = [self.name(WILD, "a BFD target name")]
        if self.accept(","):
            args.append(self.name(WILD, "a BFD target name"))
            self.expect(",")
            args.append(self.name(WILD, "a BFD target name"))
        self.expect(")")
        out.append(ast.Command(kw, args, where))

    def _c_region_alias(self, out, kw, where):
        self.expect("(")
        alias = self.name(SECTION, "an alias name")
        self.expect(",")
        region = self.name(SECTION, "a memory region name")
        self.expect(")")
        out.append(ast.Command(kw, [alias, region], where))

    def _c_name_list(self, out, kw, where):
        """EXTERN(a b c), NOCROSSREFS(s1, s2), HLL(...), SYSLIB(...)."""
        mode = {"EXTERN": EXPR, "HLL": FILE, "SYSLIB": FILE}.get(kw, SECTION)
        self.expect("(")
        args = []
        while not self.accept(")"):
            if args:
                self.accept(",")
            args.append(self.name(mode, "a name or ')'"))
        if kw == "EXTERN" and not args:
            self.pos -= 1
            self.error("a symbol name")
        out.append(ast.Command(kw, args, where))

    def _c_flag(self, out, kw, where):
        out.append(ast.Command(kw, [], where))

    def _c_include(self, out, kw, where):
        self.include(where, lambda sub: sub.top_list(out))

    def _c_memory(self, out, kw, where):
        self.expect("{")
        regions = []
        self.memory_list(regions, "}")
        out.append(ast.Memory(regions, where))

    def _c_phdrs(self, out, kw, where):
        self.expect("{")
        headers = []
        while not self.accept("}"):
            headers.append(self.phdr())
        out.append(ast.Phdrs(headers, where))

    def _c_sections(self, out, kw, where):
        self.expect("{")
        stmts = []
        self.section_list(stmts, "}")
        out.append(ast.Sections(stmts, None, where))

    def _c_insert(self, out, kw, where):
        if self.keyword("AFTER"):
            after = True
        elif self.keyword("BEFORE"):
            after = False
        else:
            self.error("AFTER or BEFORE")
        target = self.name(SECTION, "an output section name")
        sections = next((c for c in reversed(out) if isinstance(c, ast.Sections)), None)
        if sections is None or sections.insert is not None:
            self.fail_at(where, "INSERT must follow a SECTIONS command")
        sections.insert = ast.Insert(after, target, where)

    def _c_assert(self, out, kw, where):
        out.append(self.assert_body(where))

    def _c_entry(self, out, kw, where):
        out.append(ast.Command(kw, [self.paren_name(WILD, "a symbol name")], where))

    def _c_plugin(self, out, kw, where):
        out.append(self.plugin_args(kw, where))

    def plugin_args(self, kw, where):
        """("library", "Name" [, "options"]) of an ELD plugin command."""
        self.expect("(")
        args = [self.name(FILE, "a plugin library name")]
        while self.accept(","):
            args.append(self.name(FILE, "a plugin name or options"))
        self.expect(")")
        if len(args) not in (2, 3):
            self.fail(f"{kw} takes (\"library\", \"name\" [, \"options\"])")
        return ast.PluginCmd(kw, args[0], args[1], args[2] if len(args) == 3 else "", where)

    def output_section_plugin(self, node):
        """PLUGIN_CONTROL_FILESZ/MEMSZ(...) in an output section description, before ':'."""
        for kw in _SECTION_PLUGINS:
            if self.keyword(kw, EXPR):
                node.plugin = self.plugin_args(kw, node.where)
                node.plugin.section = node.name
                return True
        return False

    def _c_version(self, out, kw, where):
        """VERSION { version script }: the braces' text goes to the version script
        reader (exports.py), newlines in front so its line numbers are the script's."""
        self.expect("{")
        start, depth, t = self.pos, 0, self.text
        p = start
        while True:
            m = re.compile(r'[{}"#]|/\*').search(t, p)
            if m is None:
                raise LinkError(f"{self.path}: unexpected end of script, expected '}}' to end VERSION")
            c, p = m.group(), m.end()
            if c == '"':
                q = t.find('"', p)
                p = len(t) if q < 0 else q + 1
            elif c == "#":
                q = t.find("\n", p)
                p = len(t) if q < 0 else q
            elif c == "/*":
                q = t.find("*/", p)
                if q < 0:
                    self.fail("syntax error: unterminated comment", m.start())
                p = q + 2
            elif c == "{":
                depth += 1
            elif depth:
                depth -= 1
            else:
                break
        line = t.count("\n", 0, start)
        self.pos = p
        out.append(ast.Command(kw, ["\n" * line + t[start:p - 1]], where))

    # -- INCLUDE -------------------------------------------------------------------------
    def include(self, where, parse_body):
        """INCLUDE file: parse the file's text with PARSE_BODY(sub_parser), in place."""
        name = self.name(FILE, "a file name")
        if self.depth >= _MAX_INCLUDE_DEPTH:
            self.fail_at(where, f"INCLUDE {name}: includes nested too deeply")
        for d in [""] + self.include_dirs:
            p = os.path.join(d, name) if d else name
            if os.path.isfile(p):
                break
        else:
            self.fail_at(where, f"cannot find INCLUDE file {name}")
        try:
            with open(p, "rb") as fh:
                from ldpy.outfile import note_read, read_bounded
                note_read(os.fstat(fh.fileno()), p)
                text = read_bounded(fh, p).decode("utf-8", errors="replace")
        except OSError as e:
            self.fail_at(where, f"cannot read INCLUDE file {name}: {e.strerror}")
        chain = self.including + (os.path.realpath(self.path),)
        if os.path.realpath(p) in chain:
            self.fail_at(where, f"INCLUDE {name}: the script includes itself")
        sub = Parser(text, p, self.include_dirs, self.depth + 1, including=chain)
        parse_body(sub)
        if not sub.at_end():
            sub.error("the end of the included file")

    # -- MEMORY and PHDRS ----------------------------------------------------------
    def memory_list(self, regions, closer):
        """Region definitions up to CLOSER ('}' or end of an INCLUDEd file)."""
        while True:
            if closer is None:
                if self.at_end():
                    return
            elif self.accept(closer):
                return
            if self.accept(",") or self.accept(";"):
                continue
            where = self.where()
            if self.keyword("INCLUDE"):
                self.include(where, lambda sub: sub.memory_list(regions, None))
                continue
            name = self.name(SECTION, "a memory region name" if closer is None
                             else "a memory region name or '}'")
            attrs = self.memory_attrs() if self.peek_op() == "(" else ""
            self.expect(":")
            self.region_keyword(("ORIGIN", "org", "o"), "ORIGIN")
            origin = self.expr()
            self.accept(",")
            self.region_keyword(("LENGTH", "len", "l"), "LENGTH")
            length = self.expr()
            regions.append(ast.MemoryRegion(name, attrs, origin, length, where))

    def region_keyword(self, words, what):
        w = self.peek_word(SECTION)
        if w not in words:
            self.error(what)
        self.pos += len(w)
        self.expect("=")

    def memory_attrs(self):
        self.expect("(")
        attrs = []
        while not self.accept(")"):
            start = self.pos
            neg = "!" if self.accept("!") else ""
            w = self.peek_word(SECTION) if not self.at_string() else None
            if w is None:
                self.error("memory attributes or ')'")
            if any(c not in "rRwWxXaAiIlL!" for c in w):
                self.fail(f"syntax error: invalid memory attributes '{neg}{w}'", start)
            self.pos += len(w)
            attrs.append(neg + w)
        if not attrs:
            self.error("memory attributes")
        return "".join(attrs)

    def phdr(self):
        where = self.where()
        name = self.name(SECTION, "a program header name or '}'")
        start = self.pos
        ptype = self.expr()
        if ptype[0] == "sym":           # PT_LOAD etc. are names GNU ld knows
            if ptype[1] not in _PT:
                self.fail(f"unknown phdr type '{ptype[1]}' (try integer literal)", start)
            ptype = ("num", _PT[ptype[1]])
        spec = ast.PhdrSpec(name, ptype, where=where)
        while not self.accept(";"):
            if self.keyword("FILEHDR", EXPR):
                spec.filehdr = True
            elif self.keyword("PHDRS", EXPR):
                spec.phdrs = True
            elif self.keyword("AT", EXPR):
                spec.at = self.paren_expr()
            elif self.keyword("FLAGS", EXPR):
                spec.flags = self.paren_expr()
            else:
                self.error("FILEHDR, PHDRS, AT, FLAGS or ';'")
        return spec

    # -- assignments and ASSERT ---------------------------------------------------
    def assignment(self, mode=SECTION):
        """`sym op expr` or PROVIDE/PROVIDE_HIDDEN/HIDDEN(sym = expr); no separator."""
        where = self.where()
        for kind in _PROVIDES:
            if self.peek_word(SECTION) == kind and not self.assign_op_after(len(kind)):
                self.pos += len(kind)
                self.expect("(")
                target = self.name(SECTION, "a symbol name")
                self.expect("=")
                e = self.expr()
                self.expect(")")
                return ast.Assignment(target, "=", e, kind, where)
        if self.at_string():
            target = self.string()
        else:
            w = self.peek_word(EXPR)
            if not (w and self.assign_op_after(len(w))):
                w = self.peek_word(mode)
            if not w:
                self.error("a symbol name")
            self.pos += len(w)
            target = w
        op = self.peek_op()
        if op not in _ASSIGN_OPS:
            self.error("an assignment operator")
        self.pos += len(op)
        return ast.Assignment(target, op, self.expr(), "plain", where)

    def assert_body(self, where):
        """(expr, message) after ASSERT."""
        self.expect("(")
        e = self.expr()
        self.expect(",")
        msg = self.name(EXPR, "a message")
        self.expect(")")
        return ast.Assert(e, msg, where)

    # -- SECTIONS -------------------------------------------------------------------------
    def section_list(self, out, closer):
        """SECTIONS statements up to CLOSER ('}' or end of an INCLUDEd file)."""
        while True:
            if closer is None:
                if self.at_end():
                    return
            elif self.accept(closer):
                return
            if self.at_end():
                self.error("'}'")
            self.section_statement(out)

    def section_statement(self, out):
        if self.accept(";"):                     # stray ';' between sections: harmless
            return
        where = self.where()
        w = self.peek_word(SECTION)
        if w in _PROVIDES or self.assignment_ahead():
            out.append(self.assignment())
            self.separator()
        elif w == "ENTRY":
            self.pos += len(w)
            self._c_entry(out, w, where)
        elif w == "ASSERT":
            self.pos += len(w)
            out.append(self.assert_body(where))
        elif w == "INCLUDE":
            self.pos += len(w)
            self.include(where, lambda sub: sub.section_list(out, None))
        elif w == "OVERLAY":
            self.pos += len(w)
            out.append(self.overlay(where))
        elif w is None and not self.at_string():
            self.error("an output section, an assignment or '}'")
        else:
            out.append(self.output_section(where))

    def output_section(self, where):
        name = self.name(SECTION, "an output section name")
        node = ast.OutputSection(name, [], where=where)
        if not self.accept(":"):
            if not self.output_section_plugin(node) and not self.section_type_ahead():
                node.address = self.expr()
            if self.section_type_ahead():
                node.type = self.section_type()
            if node.plugin is None:
                self.output_section_plugin(node)
            self.expect(":")
        # GNU ld takes these in this order only
        if self.keyword("AT", EXPR):
            node.lma = self.paren_expr()
        if self.keyword("ALIGN", EXPR):
            node.align = self.paren_expr()
        if self.keyword("ALIGN_WITH_INPUT", EXPR):
            node.align_with_input = True
        if self.keyword("SUBALIGN", EXPR):
            node.subalign = self.paren_expr()
        for c in ("ONLY_IF_RO", "ONLY_IF_RW", "SPECIAL"):
            if self.keyword(c, EXPR):
                node.constraint = c
                break
        self.expect("{")
        self.statement_list(node.commands, "}")
        self.region_tail(node)
        self.phdr_fill_tail(node)
        self.accept(",")
        return node

    def section_type_ahead(self):
        """Is the cursor at `(TYPE)` or `()` rather than an address expression?"""
        if self.peek_op() != "(":
            return False
        save = self.pos
        self.pos += 1
        w = self.peek_word(EXPR)
        ahead = w in _SECTION_TYPES or w == "TYPE" or self.peek_op() == ")"
        self.pos = save
        return ahead

    def section_type(self):
        self.expect("(")
        if self.accept(")"):
            return None
        w = self.peek_word(EXPR)
        if w == "TYPE":
            self.fail("output section TYPE = ... is not supported")
        self.pos += len(w)
        if self.peek_op() != ")":
            self.error(f"')' after section type {w}")
        self.pos += 1
        return w

    def region_tail(self, node):
        """> region  AT> lma_region"""
        if self.accept(">"):
            node.region = self.name(EXPR, "a memory region name")
        if self.peek_word(EXPR) == "AT":
            save = self.pos
            self.pos += 2
            if self.accept(">"):
                node.lma_region = self.name(EXPR, "a memory region name")
            else:
                self.pos = save

    def phdr_fill_tail(self, node):
        """:phdr ... =fill"""
        while self.accept(":"):
            node.phdrs.append(self.name(EXPR, "a program header name"))
        if self.accept("="):
            node.fill = self.expr()

    def overlay(self, where):
        node = ast.Overlay([], where=where)
        if not self.accept(":"):
            node.address = self.expr()
            self.expect(":")
        if self.keyword("NOCROSSREFS", EXPR):
            node.nocrossrefs = True
        if self.keyword("AT", EXPR):
            node.lma = self.paren_expr()
        if self.keyword("SUBALIGN", EXPR):
            node.subalign = self.paren_expr()
        self.expect("{")
        while not self.accept("}"):
            swhere = self.where()
            name = self.name(SECTION, "an overlay section name or '}'")
            sec = ast.OverlaySection(name, [], where=swhere)
            self.expect("{")
            self.statement_list(sec.commands, "}")
            self.phdr_fill_tail(sec)
            self.accept(",")
            node.sections.append(sec)
        self.region_tail(node)
        self.phdr_fill_tail(node)
        self.accept(",")
        return node

    # -- statements inside an output section ----------------------------------------
    def statement_list(self, out, closer):
        while True:
            if closer is None:
                if self.at_end():
                    return
            elif self.accept(closer):
                return
            if self.at_end():
                self.error("'}'")
            self.statement(out)

    def statement(self, out):
        if self.accept(";"):
            return
        where = self.where()
        w = self.peek_word(WILD)
        if w in _PROVIDES or self.assignment_ahead(WILD):
            out.append(self.assignment(WILD))
            self.separator()
            return
        handler = _STATEMENT.get(w)
        if handler is not None:
            self.pos += len(w)
            handler(self, out, w, where)
            return
        if w in ("SORT", "SORT_BY_NAME") and self.sorted_constructors(w):
            self.pos += len(w)
            self.expect("(")
            self.keyword("CONSTRUCTORS", WILD)
            self.expect(")")
            out.append(ast.Command("CONSTRUCTORS", ["SORT_BY_NAME"], where))
            return
        out.append(self.input_section_spec(where))

    def sorted_constructors(self, w):
        """SORT(CONSTRUCTORS) ahead?"""
        save = self.pos
        self.pos += len(w)
        ok = self.accept("(") and self.peek_word(WILD) == "CONSTRUCTORS"
        self.pos = save
        return ok

    def _s_data(self, out, kw, where):
        out.append(ast.Data(kw, self.paren_expr(), where))

    def _s_fill(self, out, kw, where):
        out.append(ast.Fill(self.paren_expr(), where))

    def _s_assert(self, out, kw, where):
        out.append(self.assert_body(where))
        if not self.accept(";"):
            self.accept(",")

    def _s_keyword(self, out, kw, where):
        out.append(ast.Command(kw, [], where))

    def _s_include(self, out, kw, where):
        self.include(where, lambda sub: sub.statement_list(out, None))

    def _s_keep(self, out, kw, where):
        self.expect("(")
        desc = self.input_section_spec(where)
        desc.keep = True
        self.expect(")")
        out.append(desc)

    # -- input section descriptions -------------------------------------------------
    def input_section_spec(self, where):
        desc = ast.InputSectionDesc("*", [], where=where)
        if self.keyword("INPUT_SECTION_FLAGS", WILD):
            desc.flags = self.section_flags()
        bare_ok = True
        w = self.peek_word(WILD)
        if w in _SORTS:
            self.pos += len(w)
            self.expect("(")
            inner, desc.file, desc.exclude_files = self.sorted_name(self.file_name, 1)
            desc.file_sort = (_SORTS[w],) + inner
            self.expect(")")
            bare_ok = False
        else:
            desc.file, desc.exclude_files = self.file_name()
            bare_ok = not desc.exclude_files
        if self.accept("("):
            desc.patterns = self.section_name_list()
        elif not bare_ok:
            self.error("'('")
        elif desc.file == "COMMON":                    # old spelling of *(COMMON)
            desc.file, desc.patterns = "*", [ast.SectionPattern("COMMON")]
        else:
            desc.patterns = [ast.SectionPattern("*")]   # a file name alone: all its sections
        return desc

    def section_flags(self):
        self.expect("(")
        flags = [self.name(WILD, "a section flag")]
        while self.accept("&"):
            flags.append(self.name(WILD, "a section flag"))
        self.expect(")")
        return flags

    def file_name(self):
        """[EXCLUDE_FILE(names)] glob -> (glob, excluded)"""
        excluded = []
        if self.keyword("EXCLUDE_FILE", WILD):
            excluded = self.exclude_list()
        return self.name(WILD, "a file name pattern"), excluded

    def exclude_list(self):
        self.expect("(")
        names = [self.name(WILD, "a file name pattern")]
        while not self.accept(")"):
            names.append(self.name(WILD, "a file name pattern or ')'"))
        return names

    def sorted_name(self, inner, level):
        """Inside SORT_xxx( ... ): another SORT_xxx( ) (two levels at most) or INNER().
        Returns (sorts inside this one, glob, excluded)."""
        w = self.peek_word(WILD)
        if w in _SORTS and level < 2:
            save = self.pos
            self.pos += len(w)
            if self.accept("("):
                sorts, glob, excluded = self.sorted_name(inner, level + 1)
                self.expect(")")
                return (_SORTS[w],) + sorts, glob, excluded
            self.pos = save
        elif w in _SORTS:
            self.fail(f"syntax error: {w} nested too deeply (two levels at most)")
        glob, excluded = inner()
        return (), glob, excluded

    def section_name_list(self):
        patterns = [self.section_name_spec()]
        while not self.accept(")"):
            self.accept(",")
            patterns.append(self.section_name_spec())
        return patterns

    def section_name_spec(self):
        w = self.peek_word(WILD)
        if w in _SORTS:
            self.pos += len(w)
            self.expect("(")
            inner, glob, excluded = self.sorted_name(self.file_name_for_section, 1)
            self.expect(")")
            return ast.SectionPattern(glob, (_SORTS[w],) + inner, excluded)
        glob, excluded = self.file_name_for_section()
        return ast.SectionPattern(glob, (), excluded)

    def file_name_for_section(self):
        """[EXCLUDE_FILE(files)] section-glob: the exclusion covers this glob only."""
        excluded = []
        if self.keyword("EXCLUDE_FILE", WILD):
            excluded = self.exclude_list()
        return self.name(WILD, "a section name pattern"), excluded

    # -- expressions ------------------------------------------------------------------------
    def expr(self):
        self.nesting += 1
        if self.nesting > _MAX_NESTING:
            self.fail(f"expression nested too deeply (more than {_MAX_NESTING} levels)")
        cond = self.binary(1)
        if self.accept("?"):
            a = self.expr()
            self.expect(":")
            cond = ("?", cond, a, self.expr())
        self.nesting -= 1
        return cond

    def binary(self, min_prec):
        """Precedence climbing over _BINARY; all operators are left-associative."""
        left = self.unary()
        while True:
            op = self.peek_op()
            prec = _BINARY.get(op)
            if prec is None or prec < min_prec:
                return left
            self.pos += len(op)
            left = (op, left, self.binary(prec + 1))

    def unary(self):
        op = self.peek_op()
        if op in _UNARY:
            self.pos += 1
            self.nesting += 1
            if self.nesting > _MAX_NESTING:
                self.fail(f"expression nested too deeply (more than {_MAX_NESTING} levels)")
            node = ("u" + op, self.unary())
            self.nesting -= 1
            return node
        if op == "(":
            self.pos += 1
            e = self.expr()
            self.expect(")")
            return e
        return self.primary()

    def primary(self):
        if self.at_string():
            return ("sym", self.string())          # a quoted symbol name
        atom = self.peek_atom()
        if atom is None:
            self.error("an expression")
        kind, value, text = atom
        if kind == "num":
            self.pos += len(text)
            return ("num", value)
        if text in _EXPR_RESERVED:
            return self.function(text)
        self.pos += len(text)
        return ("sym", text)

    def function(self, fn):
        start = self.pos
        self.pos += len(fn)
        if fn == "SIZEOF_HEADERS":
            return ("call", fn, [])
        if self.peek_op() != "(":
            self.pos = start
            self.error("an expression")
        if fn in _NAME_ARG:
            self.expect("(")
            argpos = self.pos
            name = self.name(_NAME_ARG[fn], "a name")
            if fn == "CONSTANT" and name not in ("MAXPAGESIZE", "COMMONPAGESIZE"):
                self.pos = argpos
                self.error("MAXPAGESIZE or COMMONPAGESIZE")
            self.expect(")")
            return ("call", fn, [("sym", name)])
        if fn == "SEGMENT_START":
            self.expect("(")
            seg = self.name(SECTION, "a segment name")
            self.expect(",")
            default = self.expr()
            self.expect(")")
            return ("call", fn, [("str", seg), default])
        if fn == "ASSERT":
            a = self.assert_body(self.where(start))
            return ("call", fn, [a.expr, ("str", a.message)])
        if fn not in _EXPR_ARGS:
            self.pos = start
            self.error("an expression")
        self.expect("(")
        args = [self.expr()]
        if max(_EXPR_ARGS[fn]) == 2:
            if self.accept(","):
                args.append(self.expr())
            elif 1 not in _EXPR_ARGS[fn]:
                self.error("','")
        self.expect(")")
        return ("call", fn, args)


_TOP = {
    "INPUT": Parser._c_input, "GROUP": Parser._c_input,
    "ENTRY": Parser._c_entry, "TARGET": Parser._c_one_arg, "OUTPUT_ARCH": Parser._c_one_arg,
    "SEARCH_DIR": Parser._c_one_arg, "OUTPUT": Parser._c_one_arg, "STARTUP": Parser._c_one_arg,
    "MAP": Parser._c_one_arg, "LD_FEATURE": Parser._c_one_arg,
    "OUTPUT_FORMAT": Parser._c_output_format, "REGION_ALIAS": Parser._c_region_alias,
    "EXTERN": Parser._c_name_list, "NOCROSSREFS": Parser._c_name_list,
    "NOCROSSREFS_TO": Parser._c_name_list, "HLL": Parser._c_name_list, "SYSLIB": Parser._c_name_list,
    "FORCE_COMMON_ALLOCATION": Parser._c_flag, "INHIBIT_COMMON_ALLOCATION": Parser._c_flag,
    "FORCE_GROUP_ALLOCATION": Parser._c_flag, "FLOAT": Parser._c_flag, "NOFLOAT": Parser._c_flag,
    "INCLUDE": Parser._c_include, "MEMORY": Parser._c_memory, "PHDRS": Parser._c_phdrs,
    "SECTIONS": Parser._c_sections, "INSERT": Parser._c_insert, "ASSERT": Parser._c_assert,
    "VERSION": Parser._c_version,
    # ELD's plugin commands (ldpy/plugin)
    "PLUGIN_SECTION_MATCHER": Parser._c_plugin, "PLUGIN_ITER_SECTIONS": Parser._c_plugin,
    "PLUGIN_OUTPUT_SECTION_ITER": Parser._c_plugin, "LINKER_PLUGIN": Parser._c_plugin,
}
_SECTION_PLUGINS = ("PLUGIN_CONTROL_FILESZ", "PLUGIN_CONTROL_MEMSZ")
_STATEMENT = {
    **{kw: Parser._s_data for kw in _DATA}, "FILL": Parser._s_fill, "ASSERT": Parser._s_assert,
    "CONSTRUCTORS": Parser._s_keyword, "CREATE_OBJECT_SYMBOLS": Parser._s_keyword,
    "INCLUDE": Parser._s_include, "KEEP": Parser._s_keep,
}


def _guarded(parse, path):
    try:
        return parse()
    except RecursionError:
        raise LinkError(f"{path}: script nested too deeply") from None


def parse_script(text: str, path: str, include_dirs=()) -> ast.Script:
    """Parse a whole linker script; INCLUDE files are looked up as given, then in
    INCLUDE_DIRS, and their commands spliced in place."""
    return _guarded(lambda: Parser(text, path, include_dirs).script(), path)


def parse_expression(text: str, where: str) -> tuple:
    """Parse one expression (for --defsym); errors start with WHERE."""
    def run():
        p = Parser(text, where, what="expression")
        e = p.expr()
        if not p.at_end():
            p.error("an operator or the end of the expression")
        return e
    return _guarded(run, where)
