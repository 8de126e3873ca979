"""Version scripts (--version-script): version nodes with global/local patterns,
dependencies, extern "C++" blocks and anonymous scripts; and their effect on
which definitions a shared object exports, under which version."""
import fnmatch
import re

from ldpy.diag import LinkError

# names may contain '::' (C++ patterns); a lone ':' ends "global:" / "local:"
_TOKEN = re.compile(r'\s+|/\*.*?\*/|#[^\n]*|"(?:[^"\\]|\\.)*"|(?:[^\s{};:"]|::)+|[{};:]', re.S)


class VersionNode:
    def __init__(self, name, index):
        self.name = name              # None for an anonymous script
        self.index = index            # version index in .gnu.version (2, 3, ...; 1 when anonymous)
        self.parents = []
        self.globals = []             # (pattern, lang)
        self.locals = []


class VersionScript:
    def __init__(self):
        self.nodes = []

    def parse(self, text, path):
        toks = [t for t in _TOKEN.findall(text) if t.strip() and not t.startswith("/*")
                and not t.startswith("#")]
        i = 0

        def need(t):
            nonlocal i
            if i >= len(toks) or toks[i] != t:
                got = toks[i] if i < len(toks) else "end of file"
                raise LinkError(f"{path}: version script syntax error: expected '{t}', found '{got}'")
            i += 1

        while i < len(toks):
            name = None
            if toks[i] != "{":
                name = toks[i]
                i += 1
            node = VersionNode(name, 1 if name is None else 2 + sum(1 for n in self.nodes if n.name))
            if name is None and self.nodes:
                raise LinkError(f"{path}: an anonymous version node must be the only one")
            need("{")
            scope = "global"
            lang = "C"
            while i < len(toks) and toks[i] != "}":
                t = toks[i]
                if t in ("global", "local") and i + 1 < len(toks) and toks[i + 1] == ":":
                    scope = t
                    i += 2
                    continue
                if t == "extern" and i + 2 < len(toks) and toks[i + 2] == "{":
                    lang = toks[i + 1].strip('"')
                    if lang not in ("C", "C++", "Java"):
                        raise LinkError(f"{path}: unknown language '{lang}' in version script")
                    i += 3
                    while i < len(toks) and toks[i] != "}":
                        if toks[i] != ";":
                            pat = toks[i]
                            (node.globals if scope == "global" else node.locals).append(
                                (pat.strip('"'), lang, pat.startswith('"')))
                        i += 1
                    need("}")
                    if i < len(toks) and toks[i] == ";":
                        i += 1
                    lang = "C"
                    continue
                if t == ";":
                    i += 1
                    continue
                pat = t
                (node.globals if scope == "global" else node.locals).append(
                    (pat.strip('"'), "C", pat.startswith('"')))
                i += 1
                if i < len(toks) and toks[i] == ";":
                    i += 1
            need("}")
            while i < len(toks) and toks[i] != ";":
                node.parents.append(toks[i])
                i += 1
            need(";")
            self.nodes.append(node)
        known = {n.name for n in self.nodes}
        for n in self.nodes:
            for p in n.parents:
                if p not in known:
                    raise LinkError(f"{path}: version node '{n.name}' depends on unknown node '{p}'")
        return self

    def assign(self, names):
        """For each symbol name (bytes): (node or None, is_local). Exact names win over
        wildcards; among wildcards a global match wins over a local one, and
        `local: *` applies last."""
        demangled = _demangle(names) if any(l == "C++" for n in self.nodes
                                            for l in [p[1] for p in n.globals + n.locals]) else {}
        exact, wild = {}, []
        for node in self.nodes:
            for scope, pats in (("global", node.globals), ("local", node.locals)):
                for pat, lang, quoted in pats:
                    is_wild = not quoted and any(c in pat for c in "*?[")
                    if is_wild:
                        wild.append((pat == "*", scope == "local", pat, lang, node))
                    else:
                        exact.setdefault((pat, lang), (node, scope == "local"))
        wild.sort(key=lambda w: (w[0], w[1]))        # specific globals, specific locals, then '*'
        compiled = [(re.compile(fnmatch.translate(p)), lang, node, local) for _, local, p, lang, node in wild]
        result = {}
        for name in names:
            s = name.decode("utf-8", "replace")
            d = demangled.get(name)
            hit = exact.get((s, "C"))
            if hit is None and d is not None:
                hit = exact.get((d, "C++"))
            if hit is None:
                for rx, lang, node, local in compiled:
                    subject = d if lang == "C++" else s
                    if subject is not None and rx.match(subject):
                        hit = (node, local)
                        break
            result[name] = hit
        return result


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


def load(paths):
    vs = VersionScript()
    for p in paths:
        try:
            with open(p) as fh:
                text = fh.read()
        except OSError as e:
            raise LinkError(f"cannot open version script {p}: {e.strerror}")
        vs.parse(text, p)
    return vs
