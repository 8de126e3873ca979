"""Inputs the link server keeps parsed between links (LDPY_SERVER=1, server.py).

The server forks one child per link, and a child starts with a copy of the server's
memory: whatever the server has parsed is there in every child at no cost (the pages
are shared until written, and nothing a child writes reaches the server).  So the
shared libraries, archives and archive members that links keep naming (libc.so.6,
libstdc++.so.6, libc.a and its members) are read and parsed once, in the server,
instead of in every link:

* a child reports each such input it read from an absolute path (lines on a pipe the
  server made, "KIND NUL PATH [NUL OFFSET] NEWLINE", in writes of at most PIPE_BUF
  bytes, so lines of different children never interleave);
* members are parsed without COMDAT decisions (every group kept); the link that takes
  one decides its groups (ObjectFile.take); so are objects named by path (crt1.o,
  crti.o, crtbegin.o), once a second link has read them; linker scripts of input
  commands only (libc.so's GROUP) are kept parsed (HeldScript);
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
_members = []            # member report lines not sent yet
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
    """A server child read `path` (kind "shared", "archive", "object" or "script") itself."""
    if _report_fd is None or not os.path.isabs(path) or (kind, path) in _reported:
        return
    _reported.add((kind, path))
    _send([f"{kind}\0{path}\n".encode("utf-8", "surrogateescape")])


def report_member(path, offset):
    """A server child parsed the member at header `offset` of archive `path` itself
    (reported when its loading is done: flush())."""
    if _report_fd is not None and os.path.isabs(path):
        _members.append(f"member\0{path}\0{offset}\n".encode("utf-8", "surrogateescape"))


def flush():
    """Send the members reported so far."""
    if _members:
        _send(_members)
        _members.clear()


def _send(lines):
    """Lines in writes of at most PIPE_BUF bytes (each atomic: lines of children
    never interleave; a full pipe drops them, it never stalls the link)."""
    chunk, size = [], 0
    for line in lines + [None]:
        if line is None or size + len(line) > 4096:
            if chunk:
                try:
                    os.write(_report_fd, b"".join(chunk))
                except OSError:
                    return
            chunk, size = [], 0
        if line is not None and len(line) <= 4096:
            chunk.append(line)
            size += len(line)


# -- in the server -------------------------------------------------------------------

def child_started(fd):
    """In a new server child: report inputs on `fd`."""
    global _report_fd, hits
    _report_fd = fd
    _reported.clear()
    _members.clear()
    hits = 0


def held_bytes():
    """How much the server holds parsed (it grows when warm() keeps something)."""
    return _held


def reporting():
    """Whether this process is a server child that reports to the server."""
    return _report_fd is not None


def report_pages(runs):
    """The (first page, count) runs of memory this link wrote (server._own_pages)."""
    text = [f"{first:x}:{count:x}" for first, count in runs]
    _send([b"pages\0" + ",".join(text[i:i + 200]).encode() + b"\n" for i in range(0, len(text), 200)])


def parse_reports(raw, pending, pages=None):
    """Add the (kind, path) pairs of complete report lines in `raw` to `pending`
    (and give the page runs of "pages" lines to `pages`); returns the unfinished tail."""
    *lines, tail = raw.split(b"\n")
    for line in lines:
        kind, _, path = line.partition(b"\0")
        if kind == b"pages":
            if pages is not None:
                try:
                    pages([tuple(int(x, 16) for x in run.split(b":")) for run in path.split(b",")])
                except ValueError:
                    pass
            continue
        if kind in (b"shared", b"archive", b"object", b"script") and path:
            p = path.decode("utf-8", "surrogateescape")
            if p not in _entries and (kind != b"object" or _read_again(p)):
                pending[(kind.decode(), p)] = None
        elif kind == b"member":
            path, _, offset = path.rpartition(b"\0")
            p = path.decode("utf-8", "surrogateescape")
            if offset.isdigit() and not _held_member(p, int(offset)):
                pending[("member", (p, int(offset)))] = None
    return tail


_object_reads = {}      # object path -> how many links reported it (in the server)


def _read_again(path):
    """Whether a second link has read this object: those are kept (crt1.o and its kin,
    which every link names), not a build's own objects, mostly linked once."""
    if len(_object_reads) > 10000:
        _object_reads.clear()
    n = _object_reads[path] = _object_reads.get(path, 0) + 1
    return n >= 2


def _held_member(path, offset):
    e = _entries.get(path)
    return e is not None and e[1] == "archive" and offset in e[2].warm_members


def warm(kind, path):
    """Read and parse one reported input into the server's table (errors: skipped,
    the link that needs the file reports them itself)."""
    global _held
    if kind == "member":
        _warm_member(*path)
        return
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
        sf = SharedFile(path, data)
        sf.name_tables()        # (made here, once for every link)
        return sf
    if kind == "object":
        # parsed without COMDAT decisions, as archive members are (ObjectFile.take)
        if bytes(data[:4]) != b"\x7fELF" or len(data) < 18 or (data[16], data[17]) not in ((1, 0), (0, 1)):
            return None                 # (ET_REL only)
        from ldpy.input.object import ObjectFile
        return prepare(ObjectFile(path, data, comdat=None))
    if kind == "script":
        return _held_script(path, data)
    if kind == "archive":
        from ldpy.input.archive import Archive, is_archive
        if not is_archive(data):
            return None
        ar = Archive(path, data)
        return None if ar.thin else ar
    return None


# Links the server runs itself, once each, when it holds all their inputs
# (server._warm_up): a static and a dynamic (PIE) C program as gcc links them
# against glibc, by the inputs' file names ("(" and ")": --start-group and
# --end-group; "?": only when held).  The program's own objects are missing:
# `main` stays undefined, which --unresolved-symbols=ignore-all lets through.
WARM_UPS = (
    ("-static",) + ("crt1.o", "crti.o", "crtbeginT.o", "(", "?libgcc.a", "?libgcc_eh.a", "libc.a", ")",
                    "crtend.o", "crtn.o"),
    ("-pie", "-z", "relro", "-z", "now", "--eh-frame-hdr", "--hash-style=gnu") +
    ("Scrt1.o", "crti.o", "crtbeginS.o", "?libstdc++.so.6", "?libm.so.6", "libc.so.6", "?libgcc_s.so.1",
     "crtendS.o", "crtn.o"),
)
_warmed_up = set()


def warm_up_links():
    """The command lines of the links of WARM_UPS that the server may run now (it
    holds their inputs) and has not run yet."""
    found = {}
    for path, (_key, _kind, _obj) in _entries.items():
        found.setdefault(os.path.basename(path), path)
    links = []
    for i, recipe in enumerate(WARM_UPS):
        names = [n for n in recipe if n.endswith((".o", ".a")) or ".so" in n]
        if i in _warmed_up or any(n not in found for n in names if not n.startswith("?")):
            continue
        _warmed_up.add(i)
        group = {"(": "--start-group", ")": "--end-group"}
        argv = [recipe[0], "--build-id", "--unresolved-symbols=ignore-all", "--no-warnings"]
        for n in recipe[1:]:
            if n in group:
                argv.append(group[n])
            elif n in names:
                if n.lstrip("?") in found:
                    argv.append(found[n.lstrip("?")])
            else:
                argv.append(n)
        links.append(argv)
    return links


class hidden:
    """The server's inputs out of sight (a link the server runs itself must not take
    them: ObjectFile.take decides a child's COMDAT groups in place)."""
    def __enter__(self):
        global _entries
        self.saved, _entries = _entries, {}

    def __exit__(self, *exc):
        global _entries
        _entries = self.saved


class HeldScript:
    """A linker script of input commands only (libc.so: GROUP, AS_NEEDED,
    OUTPUT_FORMAT), parsed once; commands that read other files (INCLUDE) or shape
    the layout are parsed by each link."""
    def __init__(self, data, text, script):
        self.data, self.text, self.script = data, text, script


def _held_script(path, data):
    from ldpy.script import ast
    from ldpy.script.parser import parse_script
    text = data.decode("utf-8")
    if "INCLUDE" in text or "\0" in text:
        return None
    script = parse_script(text, path)
    if not all(isinstance(c, (ast.Input, ast.Group, ast.Command)) for c in script.commands):
        return None
    return HeldScript(data, text, script)


def prepare(f):
    """What every link would derive from a held object's bytes alone, made once
    here: its mergeable sections' pieces, its global symbols' columns and the
    references, definitions and visibilities among them."""
    from ldpy.sections import split_held
    from ldpy.symbols import global_columns, global_split
    f.merge_pieces = split_held(f)
    f.held_columns = global_columns(f)
    f.held_split = global_split(f, f.held_columns)
    return f


def _warm_member(path, offset):
    """Parse a reported member of an archive the server holds (and that is still
    unchanged): without COMDAT decisions, which each link makes (fresh_copy)."""
    global _held
    e = _entries.get(path)
    if e is None or e[1] != "archive" or lookup(path) is None:
        return
    ar = e[2]
    if offset in ar.warm_members:
        return
    try:
        m = ar.member_at(offset)
        if m is None or _held + 2 * m.size > WARM_TOTAL_LIMIT:
            return
        data = ar.member_data(m)
        if bytes(data[:4]) != b"\x7fELF":
            return
        from ldpy.input.object import ObjectFile
        f = prepare(ObjectFile(ar.member_display(m), data, ar, m, comdat=None))
    except Exception:                   # (the link that takes it reports what is wrong)
        return
    ar.warm_members[offset] = f
    _held += 2 * m.size                 # (about what its parsed tables take)
