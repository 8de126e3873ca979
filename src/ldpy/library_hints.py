"""Which library in the search path defines a symbol that the link left undefined:
``ldpy: note: 'sqrt' is defined in /lib/x86_64-linux-gnu/libm.so.6; link with -lm``.

Asked only when undefined-reference errors are reported, so a good link pays
nothing.  The scan is cheap and bounded:

* directories: the -L directories, then ldpy's default ones (as the loader
  searches them, with --sysroot; none under -nostdlib);
* only libraries that -l can name: a ``libNAME.so``, ``libNAME.so.N...`` or
  ``libNAME.a`` whose NAME also has a plain ``libNAME.so`` or ``libNAME.a`` in one of
  those directories; files already in the link are skipped;
* shared libraries: the dynamic string table is searched for the names (bytes
  find); only on a hit is ``.dynsym`` read, and a symbol counts when it is
  defined, global or weak, not hidden and not a hidden (non-default) version;
* archives: only their symbol index (the ``/`` or ``/SYM64/`` member) is read;
* at most MAX_FILES files, MAX_SECONDS of scanning, MAX_NAMES symbols asked about
  and MAX_HINTS answers.  Unreadable or malformed files are skipped silently.
"""
import os
import re
import time

import numpy as np

from ldpy.util import isin
from ldpy.elf.format import dtypes

MAX_FILES = 2000
MAX_SECONDS = 3.0
MAX_NAMES = 50
MAX_HINTS = 10
MAX_DYNSTR = 64 << 20
MAX_INDEX = 32 << 20

SHT_DYNSYM = 11
SHT_GNU_VERSYM = 0x6fffffff
STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE = 1, 2, 10

_SHARED = re.compile(r"^lib(.+?)\.so(\.[0-9]+)*$")
_STATIC = re.compile(r"^lib(.+)\.a$")


def search_dirs(ctx):
    cfg = ctx.config
    dirs = list(cfg.library_paths)
    if not cfg.nostdlib:
        from ldpy.input.load import DEFAULT_SEARCH_DIRS
        dirs += [(cfg.sysroot or "") + d for d in (ctx.target.SEARCH_DIRS or DEFAULT_SEARCH_DIRS)]
    out, seen = [], set()
    for d in dirs:
        d = os.path.normpath(d)
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def _candidates(dirs):
    """[(path, -l name, is_shared)]: shared libraries first (search order), then archives."""
    shared, static, usable = [], [], set()
    for d in dirs:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for n in names:
            m = _SHARED.match(n)
            if m:
                shared.append((os.path.join(d, n), m.group(1), True))
                if m.group(2) is None:
                    usable.add(m.group(1))
                continue
            m = _STATIC.match(n)
            if m:
                static.append((os.path.join(d, n), m.group(1), False))
                usable.add(m.group(1))
    return [c for c in shared + static if c[1] in usable]


def _read(fh, off, size):
    fh.seek(off)
    b = fh.read(size)
    if len(b) != size:
        raise ValueError("short read")
    return b


def _shared_defines(fh, head, wanted):
    """The names of `wanted` that the ELF shared library in fh defines (for linking)."""
    if head[:4] != b"\x7fELF" or head[4] not in (1, 2) or head[5] not in (1, 2):
        return set()
    is64, little = head[4] == 2, head[5] == 1
    dt = dtypes(is64, little)
    eh = np.frombuffer(head[:dt.ehdr.itemsize], dt.ehdr, 1)[0]
    if int(eh["e_type"]) != 3:                              # ET_DYN
        return set()
    shoff, shnum = int(eh["e_shoff"]), int(eh["e_shnum"])
    if shoff == 0 or not 0 < shnum < 65536 or int(eh["e_shentsize"]) != dt.shdr.itemsize:
        return set()
    sh = np.frombuffer(_read(fh, shoff, shnum * dt.shdr.itemsize), dt.shdr, shnum)
    types = sh["sh_type"].tolist()
    if SHT_DYNSYM not in types:
        return set()
    i = types.index(SHT_DYNSYM)
    link = int(sh["sh_link"][i])
    if not 0 < link < shnum or int(sh["sh_size"][link]) > MAX_DYNSTR:
        return set()
    dynstr = _read(fh, int(sh["sh_offset"][link]), int(sh["sh_size"][link]))
    hits = {}                                   # string offset -> name
    for name in wanted:
        needle = name + b"\0"
        pos = dynstr.find(needle)
        while pos >= 0:
            hits[pos] = name
            pos = dynstr.find(needle, pos + 1)
    if not hits:
        return set()
    count = int(sh["sh_size"][i]) // dt.sym.itemsize
    syms = np.frombuffer(_read(fh, int(sh["sh_offset"][i]), count * dt.sym.itemsize), dt.sym, count)
    bind = syms["st_info"] >> 4
    ok = (isin(syms["st_name"], np.array(list(hits), np.int64)) & (syms["st_shndx"] != 0)
          & isin(bind, (STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE)) & isin(syms["st_other"] & 3, (0, 3)))
    idx = np.flatnonzero(ok)
    if len(idx) and SHT_GNU_VERSYM in types:
        v = types.index(SHT_GNU_VERSYM)
        if int(sh["sh_size"][v]) >= 2 * count:
            vs = np.frombuffer(_read(fh, int(sh["sh_offset"][v]), 2 * count), "<u2" if little else ">u2")
            idx = idx[(vs[idx] & 0x8000) == 0]
    return {hits[int(o)] for o in syms["st_name"][idx].tolist()}


def _archive_defines(fh, head, wanted):
    """The names of `wanted` in the symbol index of the archive in fh."""
    if head[:8] not in (b"!<arch>\n", b"!<thin>\n") or len(head) < 68:
        return set()
    hdr = head[8:68]
    name = hdr[:16].rstrip(b" ")
    if name not in (b"/", b"/SYM64/") or hdr[58:60] != b"`\n":
        return set()
    size = int(hdr[48:58].strip() or b"0")
    if not 0 < size <= MAX_INDEX:
        return set()
    data = _read(fh, 68, size)
    width = 8 if name == b"/SYM64/" else 4
    count = int.from_bytes(data[:width], "big")
    if width * (count + 1) > size:
        return set()
    names = set(data[width * (count + 1):].split(b"\0"))
    return names & set(wanted)


def find_defining_libraries(ctx, names):
    """{name: (library path, -l name)} for names (bytes) that a library of the
    search path defines; at most MAX_HINTS entries."""
    wanted = list(dict.fromkeys(names))[:MAX_NAMES]
    if not wanted:
        return {}
    loaded = set()
    for sf in ctx.shared_files:
        loaded.add(os.path.realpath(sf.name))
    for a in ctx.archives:
        p = getattr(a, "path", None)
        if p:
            loaded.add(os.path.realpath(p))
    found, seen = {}, set()
    deadline = time.monotonic() + MAX_SECONDS
    opened = 0
    for path, lname, is_shared in _candidates(search_dirs(ctx)):
        left = [n for n in wanted if n not in found]
        if not left or len(found) >= MAX_HINTS or opened >= MAX_FILES or time.monotonic() > deadline:
            break
        try:
            real = os.path.realpath(path)
            if real in seen or real in loaded or not os.path.isfile(real):
                continue
            seen.add(real)
            opened += 1
            with open(real, "rb") as fh:
                head = fh.read(128)
                got = (_shared_defines if is_shared else _archive_defines)(fh, head, left)
        except Exception:           # unreadable or malformed: no hint from this file
            continue
        for n in left:
            if n in got:
                found[n] = (path, lname)
    return found
