"""What a fresh process would otherwise parse again for every link, kept on disk
between links: parsed linker scripts (script/cache.py) and parsed shared libraries
(input/shared.py).  One file per entry in ~/.cache/ldpy (or $XDG_CACHE_HOME/ldpy),
named by a hash of its key; the file starts with the whole key, so a hash collision
or a file of another key reads as a miss.  The key always holds the Python version
and the size and time of the ldpy modules that make the value, so that changed code
never reads an old value.  Files are written under a temporary name and renamed
(concurrent links are safe); a directory that cannot be written means no cache.
LDPY_NO_DISK_CACHE=1 turns it off."""
import os


def _directory():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "ldpy")


def key_of(kind, parts, modules):
    """(file path, key bytes) of an entry of `kind` whose value depends on `parts`
    (strings) and on ldpy's `modules` (paths relative to the package); None when
    the cache is off or a module cannot be found."""
    if os.environ.get("LDPY_NO_DISK_CACHE") == "1":
        return None
    import sys
    from zlib import crc32
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        stamp = [f"{st.st_size}:{st.st_mtime_ns}" for st in
                 (os.stat(os.path.join(here, m)) for m in modules)]
    except OSError:
        return None
    key = "\0".join([kind, *parts, sys.version, *stamp]).encode("utf-8", "surrogateescape") + b"\0\0"
    size = len(parts[0]) if parts else 0
    return os.path.join(_directory(), f"{kind}-{crc32(key):08x}-{size}.pickle"), key


def load(entry):
    """The stored bytes of entry (from key_of), or None."""
    if entry is None:
        return None
    path, key = entry
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[len(key):] if data.startswith(key) else None


def store(entry, blob, kind, keep=32):
    """Keep blob for entry; then the newest `keep` files of `kind` stay (each key,
    ldpy version or checkout has files of its own)."""
    if entry is None:
        return
    path, key = entry
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "wb") as fh:
            fh.write(key + blob)
        os.replace(tmp, path)           # (whole or not at all, whoever else writes it)
        _prune(os.path.dirname(path), kind, keep)
    except OSError:
        pass                            # (a read-only cache: every process parses)


def _prune(d, kind, keep):
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
