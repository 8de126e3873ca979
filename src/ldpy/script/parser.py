"""The GNU linker script language: text -> script.ast nodes.

GNU ld's lexer changes with context (an expression splits `a-b` into three
tokens, a section name keeps `.note.gnu.build-id` whole), so this parser reads
tokens on demand, asking for the kind of word the grammar expects at that
point.  Errors name the script, line and column and what was expected."""
import os
import re

from ldpy.diag import LinkError
from ldpy.expr import parse_number
from ldpy.script import ast

_SPACE = re.compile(r"(?:\s+|/\*.*?\*/|#[^\n]*)+", re.S)
_EXPR_NAME = re.compile(r"[A-Za-z_.$][A-Za-z0-9_.$]*")
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]+|\$[0-9a-fA-F]+|[0-9][0-9a-fA-F]*[hHoObBdD]?)[kKmM]?")
_SEC_NAME = re.compile(r"[A-Za-z0-9_.$/\\~+@-][A-Za-z0-9_.$/\\~+@-]*")
_WILD = re.compile(r"[A-Za-z0-9_.$/\\~+@*?\[\]^!:-][A-Za-z0-9_.$/\\~+@*?\[\]^!:=-]*")
_FILE = re.compile(r"[^\s(),;{}\"]+")
_OPS = ["<<=", ">>=", "<<", ">>", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=",
        "&=", "|=", "^=", "(", ")", "{", "}", ";", ",", ":", "=", "<", ">", "+", "-", "*", "/",
        "%", "&", "|", "!", "~", "?", "^"]
_ASSIGN_OPS = ("=", "+=", "-=", "*=", "/=", "<<=", ">>=", "&=", "|=", "^=")
_BINARY = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="),
           ("<<", ">>"), ("+", "-"), ("*", "/", "%")]
_PT = {"PT_NULL": 0, "PT_LOAD": 1, "PT_DYNAMIC": 2, "PT_INTERP": 3, "PT_NOTE": 4, "PT_SHLIB": 5,
       "PT_PHDR": 6, "PT_TLS": 7, "PT_GNU_EH_FRAME": 0x6474e550, "PT_GNU_STACK": 0x6474e551,
       "PT_GNU_RELRO": 0x6474e552, "PT_GNU_PROPERTY": 0x6474e553}
_SORTS = {"SORT": "name", "SORT_BY_NAME": "name", "SORT_BY_ALIGNMENT": "alignment",
          "SORT_BY_INIT_PRIORITY": "init_priority", "SORT_NONE": "none", "REVERSE": "reverse"}
_MAX_DEPTH = 200


class Parser:
    def __init__(self, text, path, include_dirs=(), depth=0):
        self.text, self.path, self.pos = text, path, 0
        self.include_dirs = list(include_dirs)
        self.depth = depth
        self.nesting = 0

    # -- positions and errors ---------------------------------------------------
    def where(self, pos=None):
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return f"{self.path}:{line}:{col}"

    def error(self, expected):
        self.skip()
        if self.pos >= len(self.text):
            raise LinkError(f"{self.path}: unexpected end of script, expected {expected}")
        found = self.text[self.pos:self.pos + 20].split(None, 1)[0] if self.text[self.pos:].strip() else ""
        found = found[:20]
        raise LinkError(f"{self.where()}: syntax error: expected {expected}, found '{found}'")

    def skip(self):
        m = _SPACE.match(self.text, self.pos)
        if m:
            if "/*" in m.group() and not m.group().rstrip().endswith("*/") and \
                    m.group().rfind("/*") > m.group().rfind("*/"):
                raise LinkError(f"{self.where(self.pos + m.group().rfind('/*'))}: unterminated comment")
            self.pos = m.end()
        if self.text.startswith("/*", self.pos):
            raise LinkError(f"{self.where()}: unterminated comment")

    def at_end(self):
        self.skip()
        return self.pos >= len(self.text)

    # -- tokens ------------------------------------------------------------------
    def peek_op(self):
        self.skip()
        for op in _OPS:
            if self.text.startswith(op, self.pos):
                return op
        return None

    def accept(self, op):
        self.skip()
        if self.text.startswith(op, self.pos):
            # '=' must not swallow '=='; '<' must not be '<<' etc.
            if op in ("=", "<", ">", "|", "&", "+", "-", "*", "/") and \
                    self.peek_op() != op:
                return False
            self.pos += len(op)
            return True
        return False

    def expect(self, op):
        if not self.accept(op):
            self.error(f"'{op}'")

    def word(self, pattern=_EXPR_NAME, what="a name"):
        self.skip()
        if self.text.startswith('"', self.pos):
            end = self.text.find('"', self.pos + 1)
            if end < 0:
                raise LinkError(f"{self.where()}: unterminated string")
            s = self.text[self.pos + 1:end]
            self.pos = end + 1
            return s
        m = pattern.match(self.text, self.pos)
        if not m:
            self.error(what)
        self.pos = m.end()
        return m.group()

    def peek_word(self, pattern=_EXPR_NAME):
        self.skip()
        m = pattern.match(self.text, self.pos)
        return m.group() if m else None

    def keyword(self, kw):
        """Accept the keyword KW when it is the next whole word."""
        w = self.peek_word()
        if w == kw:
            self.pos += len(kw)
            return True
        return False

    # -- the script ---------------------------------------------------------------
    def script(self):
        commands = []
        while not self.at_end():
            self.command(commands)
        return ast.Script(self.path, commands)

    def command(self, out):
        if self.accept(";"):
            return
        where = self.where()
        w = self.peek_word()
        if w is None:
            self.error("a linker script command")
        if w in ("INPUT", "GROUP"):
            self.pos += len(w)
            items = self.file_list()
            out.append((ast.Input if w == "INPUT" else ast.Group)(items, where))
        elif w in ("ENTRY", "OUTPUT", "OUTPUT_ARCH", "TARGET", "SEARCH_DIR", "STARTUP",
                   "OUTPUT_FORMAT", "EXTERN", "NOCROSSREFS", "NOCROSSREFS_TO", "REGION_ALIAS",
                   "LD_FEATURE", "VERSION"):
            self.pos += len(w)
            if w == "VERSION":
                raise LinkError(f"{where}: VERSION in a linker script is not supported; "
                                f"use --version-script")
            out.append(ast.Command(w, self.arg_list(), where))
        elif w in ("FORCE_COMMON_ALLOCATION", "INHIBIT_COMMON_ALLOCATION", "FORCE_GROUP_ALLOCATION"):
            self.pos += len(w)
            out.append(ast.Command(w, [], where))
        elif w == "INCLUDE":
            self.pos += len(w)
            for cmd in self.include(where).commands:
                out.append(cmd)
        elif w == "MEMORY":
            self.pos += len(w)
            out.append(self.memory(where))
        elif w == "PHDRS":
            self.pos += len(w)
            out.append(self.phdrs(where))
        elif w == "SECTIONS":
            self.pos += len(w)
            out.append(self.sections(where))
        elif w == "ASSERT":
            self.pos += len(w)
            out.append(self.assert_(where))
            self.accept(";")
        else:
            out.append(self.assignment_statement())

    def include(self, where):
        name = self.word(_FILE, "a file name")
        if self.depth > 20:
            raise LinkError(f"{where}: INCLUDE nested too deeply")
        for d in [""] + self.include_dirs:
            p = os.path.join(d, name) if d else name
            if os.path.isfile(p):
                try:
                    with open(p, encoding="utf-8", errors="replace") as fh:
                        text = fh.read()
                except OSError as e:
                    raise LinkError(f"{where}: cannot read {name}: {e.strerror}")
                return Parser(text, p, self.include_dirs, self.depth + 1).script()
        raise LinkError(f"{where}: cannot find INCLUDE file {name}")

    def arg_list(self):
        self.expect("(")
        args = []
        while not self.accept(")"):
            if self.at_end():
                self.error("')'")
            if self.accept(","):
                continue
            args.append(self.word(_FILE, "an argument"))
        return args

    def file_list(self):
        self.expect("(")
        items = []
        self._files(items, False)
        return items

    def _files(self, items, as_needed):
        while True:
            if self.accept(")"):
                return
            if self.at_end():
                self.error("')'")
            if self.accept(","):
                continue
            if self.keyword("AS_NEEDED"):
                self.expect("(")
                self._files(items, True)
                continue
            name = self.word(_FILE, "a file name")
            if name.startswith("-l"):
                items.append(ast.InputItem(name[2:], True, as_needed))
            else:
                items.append(ast.InputItem(name, False, as_needed))

    # -- MEMORY and PHDRS ----------------------------------------------------------
    def memory(self, where):
        self.expect("{")
        regions = []
        while not self.accept("}"):
            if self.at_end():
                self.error("'}'")
            if self.accept(";"):
                continue
            rwhere = self.where()
            name = self.word(_SEC_NAME, "a memory region name")
            attrs = ""
            if self.accept("("):
                start = self.pos
                end = self.text.find(")", start)
                if end < 0:
                    self.error("')'")
                attrs = self.text[start:end].strip()
                if not re.fullmatch(r"[!rwxailRWXAIL]*", attrs):
                    raise LinkError(f"{self.where(start)}: syntax error: bad memory attributes '{attrs}'")
                self.pos = end + 1
            self.expect(":")
            k = self.word(what="ORIGIN")
            if k not in ("ORIGIN", "org", "o"):
                raise LinkError(f"{rwhere}: syntax error: expected ORIGIN, found '{k}'")
            self.expect("=")
            origin = self.expr()
            self.accept(",")
            k = self.word(what="LENGTH")
            if k not in ("LENGTH", "len", "l"):
                raise LinkError(f"{rwhere}: syntax error: expected LENGTH, found '{k}'")
            self.expect("=")
            length = self.expr()
            regions.append(ast.MemoryRegion(name, attrs, origin, length, rwhere))
        return ast.Memory(regions, where)

    def phdrs(self, where):
        self.expect("{")
        headers = []
        while not self.accept("}"):
            if self.at_end():
                self.error("'}'")
            if self.accept(";"):
                continue
            pwhere = self.where()
            name = self.word(_SEC_NAME, "a program header name")
            tw = self.peek_word()
            if tw in _PT:
                self.pos += len(tw)
                ptype = ("num", _PT[tw])
            else:
                ptype = self.expr()
            spec = ast.PhdrSpec(name, ptype, where=pwhere)
            while not self.accept(";"):
                if self.keyword("FILEHDR"):
                    spec.filehdr = True
                elif self.keyword("PHDRS"):
                    spec.phdrs = True
                elif self.keyword("AT"):
                    self.expect("(")
                    spec.at = self.expr()
                    self.expect(")")
                elif self.keyword("FLAGS"):
                    self.expect("(")
                    spec.flags = self.expr()
                    self.expect(")")
                else:
                    self.error("FILEHDR, PHDRS, AT, FLAGS or ';'")
            headers.append(spec)
        return ast.Phdrs(headers, where)

    # -- SECTIONS -----------------------------------------------------------------
    def sections(self, where):
        self.expect("{")
        stmts = []
        while not self.accept("}"):
            if self.at_end():
                self.error("'}'")
            self.section_statement(stmts)
        node = ast.Sections(stmts, None, where)
        if self.keyword("INSERT"):
            iwhere = self.where()
            if self.keyword("AFTER"):
                after = True
            elif self.keyword("BEFORE"):
                after = False
            else:
                self.error("AFTER or BEFORE")
            node.insert = ast.Insert(after, self.word(_SEC_NAME, "an output section name"), iwhere)
        return node

    def section_statement(self, out):
        if self.accept(";") or self.accept(","):
            return
        where = self.where()
        w = self.peek_word(_SEC_NAME)
        if w is None:
            self.error("an output section or an assignment")
        if w in ("ENTRY", "SEARCH_DIR", "OUTPUT_ARCH", "OUTPUT_FORMAT", "TARGET", "EXTERN",
                 "FORCE_COMMON_ALLOCATION", "INHIBIT_COMMON_ALLOCATION"):
            self.command(out)
            return
        if w == "INCLUDE":
            self.pos += len(w)
            sub = Parser(self._include_text(where), self.path, self.include_dirs, self.depth + 1)
            while not sub.at_end():
                sub.section_statement(out)
            return
        if w == "ASSERT":
            self.pos += len(w)
            out.append(self.assert_(where))
            self.accept(";")
            return
        if w == "OVERLAY":
            self.pos += len(w)
            out.append(self.overlay(where))
            return
        if w in ("PROVIDE", "PROVIDE_HIDDEN", "HIDDEN") or self._assignment_ahead(w):
            out.append(self.assignment_statement())
            return
        out.append(self.output_section(where))

    def _include_text(self, where):
        name = self.word(_FILE, "a file name")
        for d in [""] + self.include_dirs:
            p = os.path.join(d, name) if d else name
            if os.path.isfile(p):
                with open(p, encoding="utf-8", errors="replace") as fh:
                    return fh.read()
        raise LinkError(f"{where}: cannot find INCLUDE file {name}")

    def _assignment_ahead(self, w):
        save = self.pos
        name = self.peek_word()
        if name is None:
            return False
        self.pos += len(name)
        op = self.peek_op()
        self.pos = save
        return op in _ASSIGN_OPS

    def assignment_statement(self):
        where = self.where()
        w = self.peek_word()
        if w in ("PROVIDE", "PROVIDE_HIDDEN", "HIDDEN"):
            self.pos += len(w)
            self.expect("(")
            target = self.word(what="a symbol name")
            self.expect("=")
            e = self.expr()
            self.expect(")")
            self.accept(";")
            return ast.Assignment(target, "=", e, w, where)
        target = self.word(what="a symbol name or an assignment")
        op = self.peek_op()
        if op not in _ASSIGN_OPS:
            self.error("an assignment operator")
        self.pos += len(op)
        e = self.expr()
        if not self.accept(";"):
            self.error("';'")
        return ast.Assignment(target, op, e, "plain", where)

    def assert_(self, where):
        self.expect("(")
        e = self.expr()
        self.expect(",")
        self.skip()
        msg = self.word(_FILE, "a message")
        self.expect(")")
        return ast.Assert(e, msg, where)

    def output_section(self, where):
        name = self.word(_SEC_NAME, "an output section name")
        node = ast.OutputSection(name, [], where=where)
        # [address] [(type)] ':'
        if not self.accept(":"):
            if self.peek_op() == "(" and self._type_ahead():
                pass
            else:
                node.address = self.expr()
            if self.accept("("):
                t = self.word(what="a section type")
                if t not in ("NOLOAD", "DSECT", "COPY", "INFO", "OVERLAY", "READONLY"):
                    raise LinkError(f"{self.where()}: syntax error: unknown section type '{t}'")
                node.type = t
                self.expect(")")
            self.expect(":")
        while True:
            if self.keyword("AT"):
                self.expect("(")
                node.lma = self.expr()
                self.expect(")")
            elif self.keyword("ALIGN_WITH_INPUT"):
                node.align_with_input = True
            elif self.keyword("ALIGN"):
                self.expect("(")
                node.align = self.expr()
                self.expect(")")
            elif self.keyword("SUBALIGN"):
                self.expect("(")
                node.subalign = self.expr()
                self.expect(")")
            elif self.keyword("ONLY_IF_RO"):
                node.constraint = "ONLY_IF_RO"
            elif self.keyword("ONLY_IF_RW"):
                node.constraint = "ONLY_IF_RW"
            else:
                break
        self.expect("{")
        node.commands = self.section_commands()
        self._section_tail(node)
        return node

    def _type_ahead(self):
        save = self.pos
        self.accept("(")
        w = self.peek_word()
        self.pos = save
        return w in ("NOLOAD", "DSECT", "COPY", "INFO", "OVERLAY", "READONLY")

    def _section_tail(self, node):
        while True:
            if self.accept(">"):
                node.region = self.word(_SEC_NAME, "a memory region name")
            elif self.keyword("AT"):
                self.expect(">")
                node.lma_region = self.word(_SEC_NAME, "a memory region name")
            elif self.peek_op() == ":" and not self.text.startswith("::", self.pos):
                self.pos += 1
                node.phdrs.append(self.word(_SEC_NAME, "a program header name"))
            elif self.peek_op() == "=" and not self.text.startswith("==", self.pos):
                self.pos += 1
                node.fill = self.expr()
            else:
                break
        self.accept(",")

    def section_commands(self):
        cmds = []
        self.nesting += 1
        if self.nesting > _MAX_DEPTH:
            raise LinkError(f"{self.where()}: nesting too deep")
        while not self.accept("}"):
            if self.at_end():
                self.error("'}'")
            if self.accept(";") or self.accept(","):
                continue
            where = self.where()
            w = self.peek_word(_WILD) or ""
            word = self.peek_word() or ""
            if word in ("BYTE", "SHORT", "LONG", "QUAD", "SQUAD"):
                self.pos += len(word)
                self.expect("(")
                e = self.expr()
                self.expect(")")
                cmds.append(ast.Data(word, e, where))
            elif word == "FILL":
                self.pos += len(word)
                self.expect("(")
                cmds.append(ast.Fill(self.expr(), where))
                self.expect(")")
            elif word == "ASSERT":
                self.pos += len(word)
                cmds.append(self.assert_(where))
            elif word in ("CONSTRUCTORS", "CREATE_OBJECT_SYMBOLS"):
                self.pos += len(word)
                cmds.append(ast.Command(word, [], where))
            elif word == "INCLUDE":
                self.pos += len(word)
                sub = Parser("{" + self._include_text(where) + "}", self.path, self.include_dirs,
                             self.depth + 1)
                sub.expect("{")
                cmds.extend(sub.section_commands())
            elif word in ("PROVIDE", "PROVIDE_HIDDEN", "HIDDEN") or \
                    (word and self._assignment_ahead(word) and w == word):
                cmds.append(self.assignment_statement())
            elif word == "." and self._assignment_ahead(word):
                cmds.append(self.assignment_statement())
            elif word == "KEEP":
                self.pos += len(word)
                self.expect("(")
                desc = self.input_desc(where)
                desc.keep = True
                self.expect(")")
                cmds.append(desc)
            else:
                cmds.append(self.input_desc(where))
        self.nesting -= 1
        return cmds

    def input_desc(self, where):
        desc = ast.InputSectionDesc("*", [], where=where)
        if self.keyword("INPUT_SECTION_FLAGS"):
            self.expect("(")
            while not self.accept(")"):
                if self.at_end():
                    self.error("')'")
                if self.accept("&"):
                    continue
                desc.flags.append(self.word(_WILD, "a section flag"))
        if self.keyword("EXCLUDE_FILE"):
            desc.exclude_files = self.name_list()
        w = self.peek_word()
        if w in _SORTS and self._paren_next(w):
            self.pos += len(w)
            self.expect("(")
            desc.file_sort = (_SORTS[w],)
            desc.file = self.word(_WILD, "a file name pattern")
            self.expect(")")
        else:
            desc.file = self.word(_WILD, "a file name pattern or an input section description")
        if desc.file == "COMMON":
            desc.file, desc.patterns = "*", [ast.SectionPattern("COMMON")]
            return desc
        if not self.accept("("):
            desc.patterns = [ast.SectionPattern("*")]       # a file name alone: all its sections
            return desc
        while not self.accept(")"):
            if self.at_end():
                self.error("')'")
            if self.accept(","):
                continue
            desc.patterns.extend(self.section_patterns())
        return desc

    def _paren_next(self, w):
        save = self.pos
        self.pos += len(w)
        ok = self.peek_op() == "("
        self.pos = save
        return ok

    def name_list(self):
        self.expect("(")
        names = []
        while not self.accept(")"):
            if self.at_end():
                self.error("')'")
            names.append(self.word(_WILD, "a file name pattern"))
        return names

    def section_patterns(self, sort=(), depth=0):
        if depth > 3:
            raise LinkError(f"{self.where()}: SORT nested too deeply")
        exclude = []
        if self.keyword("EXCLUDE_FILE"):
            exclude = self.name_list()
        w = self.peek_word()
        if w in _SORTS and self._paren_next(w):
            self.pos += len(w)
            self.expect("(")
            pats = []
            while not self.accept(")"):
                if self.at_end():
                    self.error("')'")
                pats.extend(self.section_patterns(sort + (_SORTS[w],), depth + 1))
            for p in pats:
                p.exclude_files = exclude + p.exclude_files
            return pats
        pats = [ast.SectionPattern(self.word(_WILD, "a section name pattern"), sort, exclude)]
        # EXCLUDE_FILE applies to the patterns that follow it in the same list
        while exclude and self.peek_word(_WILD) and self.peek_op() not in (")",):
            pats.append(ast.SectionPattern(self.word(_WILD, "a section name pattern"), sort, exclude))
        return pats

    def overlay(self, where):
        node = ast.Overlay([], where=where)
        if not self.accept(":"):
            node.address = self.expr()
            self.expect(":")
        while True:
            if self.keyword("NOCROSSREFS"):
                node.nocrossrefs = True
            elif self.keyword("AT"):
                self.expect("(")
                node.lma = self.expr()
                self.expect(")")
            else:
                break
        self.expect("{")
        while not self.accept("}"):
            if self.at_end():
                self.error("'}'")
            swhere = self.where()
            name = self.word(_SEC_NAME, "an overlay section name")
            self.expect("{")
            osec = ast.OverlaySection(name, self.section_commands(), where=swhere)
            tail = ast.OutputSection(name, [])
            self._section_tail(tail)
            osec.phdrs, osec.fill = tail.phdrs, tail.fill
            node.sections.append(osec)
        tail = ast.OutputSection("", [])
        self._section_tail(tail)
        node.region, node.lma_region, node.phdrs, node.fill = tail.region, tail.lma_region, \
            tail.phdrs, tail.fill
        return node

    # -- expressions -----------------------------------------------------------------
    def expr(self):
        self.nesting += 1
        if self.nesting > _MAX_DEPTH:
            raise LinkError(f"{self.where()}: expression nested too deeply")
        e = self.ternary()
        self.nesting -= 1
        return e

    def ternary(self):
        c = self.binary(0)
        if self.accept("?"):
            a = self.expr()
            self.expect(":")
            b = self.expr()
            return ("?", c, a, b)
        return c

    def binary(self, level):
        if level == len(_BINARY):
            return self.unary()
        node = self.binary(level + 1)
        while True:
            op = self.peek_op()
            if op not in _BINARY[level]:
                return node
            self.pos += len(op)
            node = (op, node, self.binary(level + 1))

    def unary(self):
        op = self.peek_op()
        if op in ("-", "!", "~", "+"):
            self.pos += 1
            self.nesting += 1
            if self.nesting > _MAX_DEPTH:
                raise LinkError(f"{self.where()}: expression nested too deeply")
            r = ("u" + op, self.unary())
            self.nesting -= 1
            return r
        if op == "(":
            self.pos += 1
            e = self.expr()
            self.expect(")")
            return e
        self.skip()
        if self.text.startswith('"', self.pos):
            return ("str", self.word())
        m = _NUMBER.match(self.text, self.pos)
        if m and (self.text[self.pos].isdigit() or self.text[self.pos] == "$"):
            start = self.pos
            self.pos = m.end()
            try:
                return ("num", parse_number(m.group()))
            except ValueError:
                raise LinkError(f"{self.where(start)}: syntax error: bad number '{m.group()}'")
        name = self.peek_word()
        if name is None:
            self.error("an expression")
        self.pos += len(name)
        if name in ("SIZEOF_HEADERS", "sizeof_headers"):
            return ("call", "SIZEOF_HEADERS", [])
        if name in ("ADDR", "LOADADDR", "SIZEOF", "ALIGNOF") and self.accept("("):
            sec = self.word(_SEC_NAME, "a section name")
            self.expect(")")
            return ("call", name, [("sym", sec)])
        if name in ("ORIGIN", "LENGTH", "DEFINED", "CONSTANT") and self.accept("("):
            arg = self.word(_SEC_NAME, "a name")
            self.expect(")")
            return ("call", name, [("sym", arg)])
        if name == "SEGMENT_START" and self.accept("("):
            seg = self.word(_SEC_NAME, "a segment name")
            self.expect(",")
            default = self.expr()
            self.expect(")")
            return ("call", name, [("str", seg), default])
        if name == "ASSERT" and self.accept("("):
            e = self.expr()
            self.expect(",")
            msg = self.word(_FILE, "a message")
            self.expect(")")
            return ("call", "ASSERT", [e, ("str", msg)])
        if self.peek_op() == "(" and name.isupper():
            self.pos = self.text.index("(", self.pos) + 1
            args = []
            while not self.accept(")"):
                if self.at_end():
                    self.error("')'")
                if args:
                    self.expect(",")
                args.append(self.expr())
            return ("call", name, args)
        return ("sym", name)


def parse_script(text, path, include_dirs=()):
    if "\0" in text:
        raise LinkError(f"{path}: not a linker script (binary data)")
    return Parser(text, path, include_dirs).script()


def parse_expression(text, where):
    p = Parser(text, where)
    e = p.expr()
    if not p.at_end():
        p.error("end of expression")
    return e
