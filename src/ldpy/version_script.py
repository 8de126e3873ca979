"""Version scripts (--version-script) and dynamic lists (--dynamic-list): read with
GNU ld's lexer states (ldlex.l's VERS_SCRIPT/VERS_NODE), ldgram.y's vers_node grammar
widened to what lld also takes (`local:` before `global:`, labels repeated, an empty
`extern "C++" {}`), and lang_register_vers_node's checks, and matched against symbol
names as bfd_find_version_for_sym does (exact names first, then wildcards in
order; `*` last; extern "C++" patterns against demangled names, or the name
itself when it is not mangled)."""
import re

from ldpy.diag import LinkError, diag

# ldlex.l: V_TAG in VERS_SCRIPT, V_IDENTIFIER in VERS_NODE
_V_TAG = re.compile(r"[.$_a-zA-Z][._a-zA-Z0-9]*")
_V_IDENT = re.compile(r"[*?.$_a-zA-Z\[\]\-!^\\](?:[*?.$_a-zA-Z0-9\[\]\-!^\\]|::)*")
_KEYWORDS = ("global", "local", "extern")
_WILD = re.compile(r"(?<!\\)[*?\[]")

C, CXX, JAVA = "C", "C++", "Java"


class VersionNode:
    def __init__(self, name, index):
        self.name = name              # None for an anonymous script
        self.index = index            # version index in .gnu.version (2, 3, ...; 1 when anonymous)
        self.parents = []
        self.globals = []             # (pattern, lang, literal)
        self.locals = []


class _Syntax(Exception):
    def __init__(self, line):
        self.line = line


def _tokens(text, path, what):
    """(kind, value, line) tokens; kinds: '{', '}', ';', ':', ',', 'TAG', 'ID', 'NAME',
    'global', 'local', 'extern'.  Characters the lexer does not know are dropped
    with GNU ld's warning."""
    out = []
    i, n, line = 0, len(text), 1
    node = False                  # VERS_NODE (inside a node's braces) or VERS_SCRIPT
    nesting = 0
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c in " \t\r":
            i += 1
            continue
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise LinkError("EOF in comment")
            line += text.count("\n", i, j)
            i = j + 2
            continue
        if c in ":,;":
            out.append((c, c, line))
            i += 1
            continue
        if c == "{":
            if node:
                nesting += 1
            else:
                node, nesting = True, 0
            out.append(("{", c, line))
            i += 1
            continue
        if c == "}":
            if node:
                nesting -= 1
                if nesting < 0:
                    node = False
            out.append(("}", c, line))
            i += 1
            continue
        if node:
            if c == '"':
                j = text.find('"', i + 1)
                if j >= 0:
                    out.append(("NAME", text[i + 1:j], line))
                    line += text.count("\n", i, j)
                    i = j + 1
                    continue
            m = _V_IDENT.match(text, i)
            if m:
                w = m.group()
                out.append((w if w in _KEYWORDS else "ID", w, line))
                i = m.end()
                continue
        else:
            m = _V_TAG.match(text, i)
            if m:
                out.append(("TAG", m.group(), line))
                i = m.end()
                continue
        diag.warn(f"{path}:{line}: ignoring invalid character `{c}' in script")
        i += 1
    return out, line


class _Parser:
    """ldgram.y's vers_node / dynamic_list_node rules, by recursive descent."""

    def __init__(self, toks, eof_line):
        self.toks, self.i, self.eof_line = toks, 0, eof_line

    def peek(self, k=0):
        j = self.i + k
        return self.toks[j][0] if j < len(self.toks) else None

    def take(self, kind):
        if self.peek() != kind:
            self.fail()
        tok = self.toks[self.i]
        self.i += 1
        return tok[1]

    def fail(self):
        line = self.toks[self.i][2] if self.i < len(self.toks) else self.eof_line
        raise _Syntax(line if self.i < len(self.toks) else 0)

    def defns(self, lang, out):
        """vers_defns: items separated by ';' (the caller takes the ';' after the last)."""
        while True:
            k = self.peek()
            if k in ("ID", "NAME"):
                word = self.take(k)
                out.append((word, lang, k == "NAME"))
            elif k == "extern" and self.peek(1) == "NAME":
                self.i += 1
                sub = self.take("NAME")
                sub_lang = {"C": C, "C++": CXX, "Java": JAVA}.get(sub)
                if sub_lang is None:
                    self.errors.append(f"unknown language `{sub}' in version information")
                    sub_lang = C
                self.take("{")
                if self.peek() != "}":       # lld takes an empty block too
                    self.defns(sub_lang, out)
                if self.peek() == ";":
                    self.i += 1
                self.take("}")
            elif k in _KEYWORDS:
                out.append((self.take(k), lang, False))
            else:
                self.fail()
            # another item follows a ';' unless the ';' ends the list
            if self.peek() != ";" or self.peek(1) not in ("ID", "NAME", "global", "local", "extern"):
                return
            if self.peek(1) in ("global", "local") and self.peek(2) == ":":
                return
            self.i += 1

    def tag(self, node):
        """vers_tag, widened to lld's grammar (a superset of ld.bfd's, which wants at most
        one `global:` before at most one `local:`): `global:` and `local:` labels in
        any order and number, each switching where the items after it go."""
        dest = node.globals
        while self.peek() != "}":
            k = self.peek()
            if k in ("global", "local") and self.peek(1) == ":":
                dest = node.globals if k == "global" else node.locals
                self.i += 2
                continue
            self.defns(C, dest)
            self.take(";")


class VersionScript:
    def __init__(self):
        self.nodes = []

    def parse(self, text, path, what="VERSION script"):
        toks, last = _tokens(text, path, what)
        p = _Parser(toks, last)
        p.errors = errors = []
        try:
            if not toks:
                p.fail()
            while p.i < len(toks):
                if what == "dynamic list":
                    node = VersionNode(None, 1)
                    p.take("{")
                    p.defns(C, node.globals)
                    p.take(";")
                    p.take("}")
                    p.take(";")
                    self.nodes.append(node)
                    continue
                name = None
                if p.peek() == "TAG":
                    name = p.take("TAG")
                elif p.peek() != "{":
                    p.fail()
                node = VersionNode(name, 0)
                p.take("{")
                p.tag(node)
                p.take("}")
                while name is not None and p.peek() == "TAG":
                    dep = p.take("TAG")
                    if not any(n.name == dep for n in self.nodes):
                        errors.append(f"unable to find version dependency `{dep}'")
                    node.parents.append(dep)
                p.take(";")
                self._register(node, errors)
        except _Syntax as e:
            raise LinkError(f"{path}:{e.line}: syntax error in {what}")
        if errors:
            raise LinkError(errors[0])
        return self

    def _register(self, node, errors):
        """lang_register_vers_node: one anonymous node alone, unique names, and no exact
        pattern both global in one node and local in an earlier or later one."""
        if self.nodes and (node.name is None or self.nodes[0].name is None):
            errors.append("anonymous version tag cannot be combined with other version tags")
            return
        if node.name is not None and any(n.name == node.name for n in self.nodes):
            errors.append(f"duplicate version tag `{node.name}'")
        for mine, theirs_attr in ((node.globals, "locals"), (node.locals, "globals")):
            for pat, lang, quoted in mine:
                key = _pattern_key(pat, lang, quoted)
                for t in self.nodes:
                    if any(_pattern_key(*e) == key for e in getattr(t, theirs_attr)):
                        errors.append(f"duplicate expression `{key[0]}' in version information")
        node.index = 2 + sum(1 for n in self.nodes if n.name) if node.name is not None else 1
        self.nodes.append(node)

    # -- matching -------------------------------------------------------------------
    def _compiled(self):
        cached = getattr(self, "_match", None)
        if cached is None:
            cached = self._match = [(_Head(n.globals), _Head(n.locals), n) for n in self.nodes]
        return cached

    def assign(self, names):
        """For each symbol name (bytes): (node, is_local) or None (bfd_find_version_for_sym)."""
        heads = self._compiled()
        cxx = any(h.langs & {CXX} for g, l, _ in heads for h in (g, l))
        demangled = _demangle(names) if cxx else {}
        result = {}
        for name in names:
            s = name.decode("utf-8", "replace")
            d = demangled.get(name, s)
            result[name] = _find_version(heads, s, d)
        return result


def _pattern_key(pat, lang, quoted):
    literal = quoted or not _WILD.search(pat)
    if not quoted:
        pat = re.sub(r"\\(.)", r"\1", pat) if literal else pat
    return (pat, lang, literal)


def _glob(pat):
    """fnmatch(3) without FNM_NOESCAPE, as bfd matches version patterns: a backslash
    makes the next character literal (`foo\\bar` matches foobar)."""
    out, i, n = [], 0, len(pat)
    while i < n:
        c = pat[i]
        i += 1
        if c == "\\" and i < n:
            out.append(re.escape(pat[i]))
            i += 1
        elif c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i + (1 if i < n and pat[i] in "!^" else 0)
            j += 1 if j < n and pat[j] == "]" else 0
            end = pat.find("]", j)
            if end < 0:
                out.append(re.escape(c))
                continue
            body = pat[i:end]
            neg = body[:1] in ("!", "^")
            body = body[1:] if neg else body
            out.append("[" + ("^" if neg else "") + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
    return re.compile("(?s:" + "".join(out) + r")\Z")


class _Head:
    """One node's global or local patterns: exact names per language, then the
    wildcards in script order (bfd's htab and `remaining` list)."""

    def __init__(self, pats):
        self.exact = {}
        self.wild = []
        self.langs = set()
        for pat, lang, quoted in pats:
            self.langs.add(lang)
            p, _, literal = _pattern_key(pat, lang, quoted)
            if literal:
                self.exact.setdefault((p, lang), True)
            else:
                star = p == "*"
                self.wild.append((star, lang, None if star else _glob(p)))

    def matches(self, c_sym, cxx_sym):
        """Yields ('exact'|'wild'|'star') for each match, in bfd's order."""
        if (c_sym, C) in self.exact:
            yield "exact"
            return
        if CXX in self.langs and (cxx_sym, CXX) in self.exact:
            yield "exact"
            return
        for star, lang, rx in self.wild:
            if star:
                yield "star"
                continue
            subject = cxx_sym if lang == CXX else c_sym
            if rx.match(subject):
                yield "wild"


def _find_version(heads, c_sym, cxx_sym):
    local_ver = global_ver = star_local = star_global = None
    for g, l, node in heads:
        done = False
        for kind in g.matches(c_sym, cxx_sym):
            if kind == "star":
                star_global = node
            else:
                global_ver = node
            if kind == "exact":
                done = True
                break
        if done:
            break
        for kind in l.matches(c_sym, cxx_sym):
            if kind == "star":
                star_local = node
            else:
                local_ver = node
            if kind == "exact":
                global_ver = star_global = None
                done = True
                break
        if done:
            break
    if global_ver is None and local_ver is None:
        global_ver = star_global
    if global_ver is not None:
        return (global_ver, False)
    if local_ver is None:
        local_ver = star_local
    if local_ver is not None:
        return (local_ver, True)
    return None


def _demangle(names):
    mangled = [n for n in names if n.startswith(b"_Z")]
    if not mangled:
        return {}
    import subprocess
    try:
        out = subprocess.run(["c++filt"], input=b"\n".join(mangled), capture_output=True,
                             check=True).stdout.split(b"\n")
    except (OSError, subprocess.CalledProcessError):
        raise LinkError("extern \"C++\" in a version script needs c++filt (binutils) to demangle names")
    return {m: d.decode("utf-8", "replace") for m, d in zip(mangled, out)}


def read_text(path):
    """The text of a version script or dynamic list, bounded in size like every
    script ldpy reads (--version-script=/dev/zero is an error, not a hang)."""
    from ldpy.outfile import read_bounded, note_read
    import os
    try:
        with open(path, "rb") as fh:
            note_read(os.fstat(fh.fileno()), path)
            return read_bounded(fh, path).decode("utf-8", "replace")
    except OSError as e:
        raise LinkError(f"cannot open linker script file {path}: {e.strerror}")


def load(paths):
    vs = VersionScript()
    for p in paths:
        vs.parse(read_text(p), p)
    return vs


def load_dynamic_list(paths):
    vs = VersionScript()
    for p in paths:
        vs.parse(read_text(p), p, "dynamic list")
    return vs
