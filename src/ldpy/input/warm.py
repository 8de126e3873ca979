"""Inputs the link server keeps parsed between links (LDPY_SERVER=1, server.py).

The server forks one child per link, and a child starts with a copy of the server's
memory: whatever the server has parsed is there in every child at no cost (the pages
are shared until written, and nothing a child writes reaches the server).  So the
shared libraries, archives and input scripts that links keep naming (libc.so.6,
libstdc++.so.6, libc.a, the libc.so script) are read and parsed once, in the server,
instead of in every link:

* a child reports each such input it read from an absolute path (one line on a pipe
  the server made: "KIND NUL PATH NEWLINE", one write, so lines never interleave);
* the server, when no link is waiting, reads and parses the reported files (only
  regular files up to WARM_FILE_LIMIT, WARM_TOTAL_LIMIT in all, never a thin archive,
  whose members live in other files);
* a later link takes an input from here only when the file is unchanged: the same
  device, inode, size, modification and change times as when the server read it.
  Anything else (a rebuilt library, another path) is read as usual.

What the server keeps is what a link would have built from the same bytes, and a
link goes on from it as from its own reading (an LTO plugin is offered the same bytes
and members), so a served link and an in-process link write the same output
(tests/test_server.py).
"""
import os
import stat as _stat

WARM_FILE_LIMIT = 64 << 20
WARM_TOTAL_LIMIT = 512 << 20

_entries = {}           # path -> (stat key, kind, parsed object)
_held = 0               # bytes of the files kept
_report_fd = None       # a server child: where it reports what it read
_reported = set()
hits = 0                # inputs this link took from here (the server's log says)


def stat_key(st):
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def held():
    """Whether the server holds any input (always False outside a server child)."""
    return bool(_entries)


def lookup(path):
    """(kind, parsed object, os.stat result) of an unchanged input the server holds."""
    if not _entries:
        return None
    e = _entries.get(path)
    if e is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if stat_key(st) != e[0]:
        return None
    global hits
    hits += 1
    return e[1], e[2], st


def report(kind, path):
    """A server child read `path` (kind "shared" or "archive") itself."""
    if _report_fd is None or not os.path.isabs(path) or (kind, path) in _reported:
        return
    _reported.add((kind, path))
    line = f"{kind}\0{path}\n".encode("utf-8", "surrogateescape")
    if len(line) <= 4096:               # (PIPE_BUF: one atomic write)
        try:
            os.write(_report_fd, line)
        except OSError:
            pass


# -- in the server -------------------------------------------------------------------

def child_started(fd):
    """In a new server child: report inputs on `fd`."""
    global _report_fd
    _report_fd = fd
    _reported.clear()


def parse_reports(raw, pending):
    """Add the (kind, path) pairs of complete report lines in `raw` to `pending`;
    returns the unfinished tail."""
    *lines, tail = raw.split(b"\n")
    for line in lines:
        kind, _, path = line.partition(b"\0")
        if kind in (b"shared", b"archive") and path:
            p = path.decode("utf-8", "surrogateescape")
            if p not in _entries:
                pending[(kind.decode(), p)] = None
    return tail


def warm(kind, path):
    """Read and parse one reported input into the server's table (errors: skipped,
    the link that needs the file reports them itself)."""
    global _held
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not _stat.S_ISREG(st.st_mode) or st.st_size > WARM_FILE_LIMIT or \
                    _held + st.st_size > WARM_TOTAL_LIMIT:
                return
            data = fh.read()
        if len(data) != st.st_size or stat_key(os.stat(path)) != stat_key(st):
            return                      # (changing while read: not kept)
        obj = _parse(kind, path, data)
    except Exception:                   # (a broken input: the links report it)
        return
    if obj is not None:
        _entries[path] = (stat_key(st), kind, obj)
        _held += len(data)


def _parse(kind, path, data):
    if kind == "shared":
        from ldpy.input.shared import SharedFile
        return SharedFile(path, data)
    if kind == "archive":
        from ldpy.input.archive import Archive, is_archive
        if not is_archive(data):
            return None
        ar = Archive(path, data)
        return None if ar.thin else ar
    return None
