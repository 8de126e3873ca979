"""Parsed linker scripts kept between links: in this process's memory and on disk,
so that a fresh process reads a script it has seen before (the default script of
its option set, glibc's libc.so) without importing the parser (~1.3 ms) or
parsing.  Each use gets a fresh copy of the tree (unpickled: about a tenth of a
parse), since a link marks statements of it (ONLY_IF_RO/RW drops, INSERTs)."""
import os

_PARSED = {}            # (name, text) -> the pickled tree


def parsed(text, name, parse, kind="script"):
    """The tree `parse()` gives for script `text` named `name` (its path, which the
    tree's messages quote), parsed at most once per process and kept on disk in a
    file of prefix `kind`.  A parse error is raised by parse() and kept nowhere."""
    import _pickle as pickle     # (pickle.py itself: ~0.8 ms more of every link's start-up)
    blob = _PARSED.get((name, text))
    if blob is not None:
        return pickle.loads(blob)
    path = disk_path(text, name, kind)
    head = text.encode("utf-8", "surrogateescape") + b"\0" + name.encode("utf-8", "surrogateescape") + b"\0"
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            if data.startswith(head):           # (the file names its text: no hash collision)
                blob = data[len(head):]
                tree = pickle.loads(blob)
                _PARSED[name, text] = blob
                return tree
        except Exception:
            pass                        # (missing, unreadable or stale: parse it)
    tree = parse()
    blob = _PARSED[name, text] = pickle.dumps(tree, protocol=5)   # (before any link marks it)
    if path is not None:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}"
            with open(tmp, "wb") as fh:
                fh.write(head + blob)
            os.replace(tmp, path)       # (whole or not at all, whoever else writes it)
            _prune(os.path.dirname(path), kind)
        except OSError:
            pass                        # (a read-only cache: every process parses)
    return tree


def parse_script_file(text, path, include_dirs):
    """An input linker script's tree (load.py), from the cache unless it INCLUDEs
    files (their text is not part of the key)."""
    def parse():
        from ldpy.script.parser import parse_script     # (imported only to parse)
        return parse_script(text, path, include_dirs=include_dirs)
    return parse() if "INCLUDE" in text else parsed(text, path, parse)


def _prune(d, kind, keep=32):
    """Each script, option set and ldpy version or checkout has a file of its own:
    keep the newest `keep` of a kind (a file is written only when a parse was needed)."""
    files = []
    with os.scandir(d) as it:
        for e in it:
            if e.name.startswith(kind + "-") and e.name.endswith(".pickle"):
                files.append((e.stat().st_mtime_ns, e.path))
    for _, old in sorted(files)[:-keep]:
        try:
            os.unlink(old)
        except OSError:
            pass


def disk_path(text, name, kind):
    """Where the parsed tree of `text` is kept between processes: ~/.cache/ldpy (or
    $XDG_CACHE_HOME/ldpy), named by a hash of the text and name, of the Python
    version and of the modules that build the tree (their size and time), so that a
    changed parser or AST never reads an old tree.  LDPY_NO_SCRIPT_CACHE=1: none."""
    if os.environ.get("LDPY_NO_SCRIPT_CACHE") == "1":
        return None
    import sys
    from zlib import crc32
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        stamp = [f"{st.st_size}:{st.st_mtime_ns}" for st in
                 (os.stat(os.path.join(here, m)) for m in ("ast.py", "parser.py", "lexer.py"))]
    except OSError:
        return None
    key = "\0".join([text, name, sys.version, *stamp]).encode("utf-8", "surrogateescape")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "ldpy", f"{kind}-{crc32(key):08x}-{len(text)}.pickle")
