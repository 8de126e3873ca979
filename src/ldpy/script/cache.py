"""Parsed linker scripts kept between links: in this process's memory and on disk
(diskcache.py), so that a fresh process reads a script it has seen before (the
default script of its option set, glibc's libc.so) without importing the parser
(~1.3 ms) or parsing.  Each use gets a fresh copy of the tree (unpickled: about a
tenth of a parse), since a link marks statements of it (ONLY_IF_RO/RW drops,
INSERTs).  LDPY_NO_SCRIPT_CACHE=1: this process's memory only."""
import os

from ldpy import diskcache

_PARSED = {}            # (name, text) -> the pickled tree
_MODULES = ("script/ast.py", "script/parser.py", "script/lexer.py")


def parsed(text, name, parse, kind="script"):
    """The tree `parse()` gives for script `text` named `name` (its path, which the
    tree's messages quote), parsed at most once per process and kept on disk in a
    file of prefix `kind`.  A parse error is raised by parse() and kept nowhere."""
    import _pickle as pickle     # (pickle.py itself: ~0.8 ms more of every link's start-up)
    blob = _PARSED.get((name, text))
    if blob is not None:
        return pickle.loads(blob)
    entry = None if os.environ.get("LDPY_NO_SCRIPT_CACHE") == "1" else \
        diskcache.key_of(kind, (text, name), _MODULES)
    blob = diskcache.load(entry)
    if blob is not None:
        try:
            tree = pickle.loads(blob)
            _PARSED[name, text] = blob
            return tree
        except Exception:
            pass                        # (a damaged file: parse it)
    tree = parse()
    blob = _PARSED[name, text] = pickle.dumps(tree, protocol=5)   # (before any link marks it)
    diskcache.store(entry, blob, kind)
    return tree


def parse_script_file(text, path, include_dirs):
    """An input linker script's tree (load.py), from the cache unless it INCLUDEs
    files (their text is not part of the key)."""
    def parse():
        from ldpy.script.parser import parse_script     # (imported only to parse)
        return parse_script(text, path, include_dirs=include_dirs)
    return parse() if "INCLUDE" in text else parsed(text, path, parse)
