"""Messages for undefined references: every referencing place (object, section
and offset, the function that holds it and, from the object's DWARF line table,
the source file and line), C++ names demangled, and a hint when a near name
exists, or the same name with the other language linkage.

One line per reference place, GNU ld's information in ldpy's one-line style::

    OBJECT:(SECTION+0xOFF): in function 'FN': SOURCE:LINE: undefined reference to 'SYM'[; hint]

``in function 'FN':`` is left out outside functions and ``SOURCE:LINE:`` without
line information (no -g, or a table ldpy cannot read); SOURCE is the path GNU ld
shows (compilation directory / include directory / file name).  OBJECT is a path
or ``lib.a(member.o)``.  Example::

    m.o:(.text+0xe): in function 'main': /tmp/x/m.c:7: undefined reference to 'helper(int)'

One message per referencing function and source line (--warn-once: per symbol).
When errors are reported, `library_notes` adds ``note:`` lines naming libraries
in the search path that define a missing symbol (see library_hints.py)."""
import re

import numpy as np

from ldpy.util import isin
from ldpy.elf.dwarf_line import SourceLines
from ldpy.elf.format import reloc_sym, STT_FUNC, STT_GNU_IFUNC, STT_NOTYPE
from ldpy.symbols import UNDEF

MAX_HINT_CANDIDATES = 200_000


def demangler(names, enabled):
    """name (bytes) -> display str, demangling C++ (_Z) and Rust v0 (_R) names with
    c++filt in one call.  Rust names are shown as rustc-demangle's short form shows
    them: without the crate disambiguators (core[846817f741e54dfd] -> core)."""
    out = {n: n.decode("utf-8", "replace") for n in names}
    mangled = [n for n in names if n.startswith(b"_Z") or n.startswith(b"_R")]
    if enabled and mangled:
        import subprocess       # (here: its import is ~3 ms of every link that warns)
        try:
            r = subprocess.run(["c++filt"], input=b"\n".join(mangled), capture_output=True, timeout=30)
            for m, d in zip(mangled, r.stdout.split(b"\n")):
                text = d.decode("utf-8", "replace")
                if m.startswith(b"_R"):
                    text = _RUST_DISAMBIGUATOR.sub("", text)
                out[m] = text
        except (OSError, subprocess.SubprocessError):
            pass
    return out


_RUST_DISAMBIGUATOR = re.compile(r"\[[0-9a-f]+\]")


def _function_at(f, shndx, offset, cache):
    """Name of the function symbol of f covering section shndx at offset."""
    table = cache.get((id(f), shndx))
    if table is None:
        syms = f.symbols
        typ = syms["st_info"] & 0xf
        # (like BFD's elf_find_function: untyped labels of assembly code count too;
        # of two at one address, the bigger wins)
        m = ((typ == STT_FUNC) | (typ == STT_GNU_IFUNC) | (typ == STT_NOTYPE)) & (f.shndx == shndx)
        idx = np.flatnonzero(m)
        # (but not the assembler's local labels, which RISC-V objects keep for relaxation:
        # BFD's maybe_function_sym leaves them out)
        notype = idx[typ[idx] == STT_NOTYPE]
        if len(notype):
            local_label = {int(i) for i in notype.tolist() if f.symbol_name(int(i)).startswith(b".L")}
            if local_label:
                idx = np.array([i for i in idx.tolist() if i not in local_label], np.int64)
        order = np.lexsort((syms["st_size"][idx], syms["st_value"][idx]))
        idx = idx[order]
        table = cache[(id(f), shndx)] = (idx, syms["st_value"][idx].astype(np.int64),
                                         syms["st_size"][idx].astype(np.int64))
    idx, start, size = table
    k = int(np.searchsorted(start, offset, side="right")) - 1
    # (a function without a size reaches to the next one, as BFD's elf_find_function has it)
    if k >= 0 and (int(size[k]) == 0 or offset < start[k] + int(size[k])):
        return f.symbol_name(int(idx[k]))
    return None


class Places:
    """Names places in input sections the way undefined references show them:
    ``OBJECT:(SECTION+0xOFF): in function 'FN': SOURCE:LINE:`` (function from the
    object's symbols, line from its DWARF line table; each part only when known).
    For the few places of a message, never for a whole relocation table."""

    def __init__(self, demangle):
        self.cache = {}
        self.source = SourceLines()
        self.demangle = demangle

    def describe(self, places):
        """[(sec, offset)] -> the prefix of each message, demangled with one c++filt call."""
        found = []
        for sec, off in places:
            fn = _function_at(sec.file, sec.index, off, self.cache)
            found.append((sec.where(off), fn, self.source.locate(sec.file, sec.index, off)))
        show = demangler({fn for _, fn, _ in found if fn}, self.demangle)
        return [f"{where}:" + (f" in function '{show[fn]}':" if fn else "") + (f" {loc}:" if loc else "")
                for where, fn, loc in found]


def describe_undefined(ctx, missing):
    limit = max(ctx.config.error_limit or 0, 0) or 10_000
    gids = np.array([s.gid for s in missing], np.int64)
    places = []                       # (gid, file, section, offset)
    for f in ctx.files:
        hits = np.flatnonzero(isin(f.global_ids, gids))
        if len(hits) == 0:
            continue
        wanted = hits + f.first_global
        seen_here = set()
        for sec in f.sections:
            if sec is None or not sec.live or sec.relocs is None or not len(sec.relocs):
                continue
            symidx = reloc_sym(sec.relocs["r_info"])
            for k in np.flatnonzero(isin(symidx, wanted)).tolist():
                gid = int(f.global_ids[symidx[k] - f.first_global])
                places.append((gid, f, sec, int(sec.relocs["r_offset"][k])))
                seen_here.add(gid)
        for h in hits.tolist():
            gid = int(f.global_ids[h])
            if gid not in seen_here and ctx.symtab.symbols[gid].strong_ref:
                places.append((gid, f, None, 0))
    # one line per referencing function (or section, outside functions) and source line
    cache, lines, done = {}, [], set()
    named = []
    source = SourceLines()
    for gid, f, sec, off in places:
        fn = _function_at(f, sec.index, off, cache) if sec is not None else None
        loc = source.locate(f, sec.index, off) if sec is not None else None
        key = (gid,) if ctx.config.warn_once else \
            (gid, id(f), fn if fn is not None else (sec.name if sec is not None else None), loc)
        if key in done:
            continue
        done.add(key)
        named.append((gid, f, sec, off, fn, loc))
        if len(named) > limit:          # one past the limit: diag says more were left out
            break
    referenced = {g for g, *_ in places}
    for s in missing:
        if s.gid not in referenced:
            named.append((s.gid, None, None, 0, None, None))
    names = {ctx.symtab.symbols[g].name for g, *_ in named} | {n[4] for n in named if n[4]}
    show = demangler(names, ctx.config.demangle)
    hints = _hints(ctx, {ctx.symtab.symbols[g].name for g, *_ in named}, show)
    for gid, f, sec, off, fn, loc in named:
        sym = ctx.symtab.symbols[gid]
        where = sec.where(off) if sec is not None else (f.name if f is not None else "<command line>")
        infn = f" in function '{show[fn]}':" if fn else ""
        at = f" {loc}:" if loc else ""
        lines.append(f"{where}:{infn}{at} undefined reference to '{show[sym.name]}'{hints.get(sym.name, '')}")
    return lines


def library_notes(ctx, missing):
    """'note:' lines for missing symbols that a library in the search path defines
    (never raises: a failure only means no notes)."""
    try:
        from ldpy.library_hints import find_defining_libraries
        names = [s.name for s in missing]
        found = find_defining_libraries(ctx, names)
        show = demangler([n for n in names if n in found], ctx.config.demangle)
        return [f"'{show[n]}' is defined in {path}; link with -l{lname}"
                for n in names if n in found for path, lname in [found[n]]]
    except Exception:
        return []


def _hints(ctx, missing_names, show):
    defined = [s.name for s in ctx.symtab.symbols if s.kind != UNDEF]
    if not defined or len(defined) > MAX_HINT_CANDIDATES:
        return {}
    shown = demangler(defined, ctx.config.demangle)
    base = {}                           # "foo" -> names defined as foo(...) or foo
    for n, d in shown.items():
        base.setdefault(d.split("(")[0], []).append(n)
    hints = {}
    for name in missing_names:
        d = show[name]
        plain = d.split("(")[0]
        other = [n for n in base.get(plain, []) if n != name]
        if other:
            o = shown[other[0]]
            if name.startswith(b"_Z") and not other[0].startswith(b"_Z"):
                hints[name] = f"; '{o}' is defined with C linkage: is an extern \"C\" missing?"
            elif other[0].startswith(b"_Z") and not name.startswith(b"_Z"):
                hints[name] = f"; '{o}' is defined as a C++ function: declare it extern \"C\"?"
            else:
                hints[name] = f"; did you mean '{o}'?"
            continue
        import difflib
        close = difflib.get_close_matches(plain, list(base), n=1, cutoff=0.8)
        if close:
            hints[name] = f"; did you mean '{shown[base[close[0]][0]]}'?"
    return hints
