"""Checks that report to the user before anything is written: undefined
symbols (of objects and, on request, of shared libraries) and warning symbols.
Messages about a reference carry its source line when the object has DWARF line
information (elf/dwarf_line.py); undefined-symbol errors are followed by ``note:``
lines naming search-path libraries that define the symbols (library_hints.py)."""
import sys

import numpy as np

from ldpy.util import isin
from ldpy.diag import PROG, diag
from ldpy.symbols import UNDEF, DEFINED, COMMON, SYNTHETIC, SHARED
from ldpy.elf.format import reloc_sym, reloc_type, STT_SECTION

OVERFLOWS_SHOWN = 10            # as GNU ld: the rest are counted (all with --verbose)


def _drop_relaxed_tls_get_addr(ctx):
    """Calls to __tls_get_addr that follow TLSGD/TLSLD vanish when an executable
    relaxes the sequence: they are not references (static glibc has no such function)."""
    sym = ctx.symtab.get(ctx.target.TLS_GET_ADDR)
    if sym is None or sym.kind != UNDEF or ctx.config.shared:
        return
    seq_types = ctx.target.TLS_SEQUENCE_TYPES
    for f in ctx.files:
        hit = np.flatnonzero(f.global_ids == sym.gid)
        if len(hit) == 0:
            continue
        idx = hit[0] + f.first_global
        for sec in f.sections:
            if sec is None or not sec.live or sec.relocs is None or not len(sec.relocs):
                continue
            info = sec.relocs["r_info"]
            symidx, typ = reloc_sym(info), reloc_type(info)
            k = np.flatnonzero(symidx == idx)
            if len(k) and (np.any(k == 0) or not np.all(isin(typ[k - 1], seq_types))):
                return
    sym.strong_ref = sym.referenced = False
    ctx.symtab.undefined.discard(sym.name)


def _check_shlib_undefined(ctx):
    """--no-allow-shlib-undefined: what the shared libraries on the command line
    reference must be defined by the output or by one of them."""
    st = ctx.symtab
    known = {sf.soname for sf in ctx.shared_files}
    for sf in ctx.shared_files:
        if any(n not in known for n in sf.needed):
            continue    # a dependency not in the link may define them (gold and lld skip it too)
        for name, ver in zip(sf.undefined_strong_bytes, sf.undefined_strong_versions):
            sym = st.get(name)
            if (sym is not None and sym.kind != UNDEF) or name in st.shared_defs:
                continue                # defined by the output or a library's default version
            if ver is not None and st.shared_version(name + b"@" + ver.encode()) is not None:
                continue                # foo@VER_1 is defined by a library (maybe hidden)
            diag.error(f"{sf.name}: undefined reference to '{name.decode('utf-8', 'replace')}'")
    diag.check()


def _check_required(ctx):
    """--require-defined SYM: the output must define SYM."""
    required = set()
    for name in ctx.config.require_defined:
        sym = ctx.symtab.get(name.encode())
        if sym is None or sym.kind == UNDEF:
            diag.error(f"required symbol '{name}' not defined")
            if sym is not None:
                required.add(sym.gid)
    return required


def report_undefined(ctx):
    _drop_relaxed_tls_get_addr(ctx)
    required = _check_required(ctx) if ctx.config.require_defined else set()
    if ctx.config.no_allow_shlib_undefined and not ctx.config.shared:
        _check_shlib_undefined(ctx)
    if ctx.config.shared and not ctx.config.no_undefined:
        return                  # a shared object may leave symbols to its users and dependencies
    st = ctx.symtab
    # (-u, -e, EXTERN, ENTRY only reference a symbol: GNU ld reports it undefined only
    # when an object references it too; -e's is the "cannot find entry symbol" warning)
    missing = [s for s in st.symbols if s.kind == UNDEF and s.strong_ref and s.gid not in required
               and not (s.ref_file is None and s.name in st.soft_refs)]
    if missing:
        missing = _used_by_relocations(ctx, missing)
    if not missing:
        diag.check()
        return
    cfg = ctx.config
    if cfg.unresolved_symbols in ("ignore-all", "ignore-in-object-files"):
        diag.check()            # as GNU ld: nothing said, the references stay 0
        return
    from ldpy.undefined import describe_undefined, library_notes
    as_warnings = cfg.noinhibit_exec or cfg.warn_unresolved_symbols
    messages = describe_undefined(ctx, missing)
    if as_warnings and cfg.error_limit:
        messages = messages[:cfg.error_limit]
    for msg in messages:
        if as_warnings:
            diag.warn(msg)
        else:
            diag.error(msg)
    if not as_warnings:
        # libraries in the search path that define what is missing (only now: no cost for good links)
        for note in library_notes(ctx, missing):
            print(f"{PROG}: note: {note}", file=sys.stderr)
    diag.check()


def _used_by_relocations(ctx, missing):
    """GNU ld reports an undefined symbol where a relocation uses it: one an object
    only declares (`.globl foo`) or -u names is no error.  The declared-only ones
    also stay out of .symtab, as in GNU ld."""
    import numpy as np
    gids = np.array([s.gid for s in missing], np.int64)
    used = set()
    for f in ctx.files:
        hits = isin(f.global_ids, gids)
        if not hits.any():
            continue
        for sec in f.sections:
            if sec is None or not sec.live or sec.relocs is None or not len(sec.relocs):
                continue
            symidx = reloc_sym(sec.relocs["r_info"]) - f.first_global
            symidx = symidx[(symidx >= 0) & (symidx < len(f.global_ids))]
            got = f.global_ids[symidx]
            used.update(got[isin(got, gids)].tolist())
    command_line = {n.encode() for n in ctx.config.undefined}
    for s in missing:
        if s.gid not in used and s.name not in command_line:
            s.referenced = False
    return [s for s in missing if s.gid in used]


def report_warning_symbols(ctx):
    """A .gnu.warning.SYM section makes each object that references SYM print the
    section's text; a plain .gnu.warning section prints when its object is linked."""
    texts = {}
    for f in ctx.files:
        if not getattr(f, "has_warning_sections", True):
            continue
        for sec in f.sections:
            # (assign_sections already took them out of the output; their text stays)
            if sec is None or not sec.name.startswith(".gnu.warning"):
                continue
            text = sec.bytes().tobytes().split(b"\0")[0].decode("utf-8", "replace").strip()
            if sec.name == ".gnu.warning":
                diag.warn(f"{f.name}: warning: {text}")
            else:
                texts.setdefault(sec.name[len(".gnu.warning."):].encode(), text)
    st = ctx.symtab
    for sf in ctx.shared_files:                # glibc's libc.so.6 warns of gets, tmpnam, ...
        for name, text in _shared_warnings(sf).items():
            sym = st.get(name)
            if sym is not None and sym.kind == SHARED and sym.file is sf:
                texts.setdefault(name, text)
    if not texts:
        return
    wanted = {st.get(n).gid: t for n, t in texts.items() if st.get(n) is not None}
    if not wanted:
        return
    rt = ctx.relocs
    if rt.empty:
        return
    hits = np.flatnonzero(isin(rt.key, np.array(list(wanted), np.int64)))
    seen, first = set(), []
    for k in hits.tolist():                  # first reference of each symbol in each object
        gid, f = int(rt.key[k]), rt.file_of(k)
        if (gid, f.file_id) not in seen:
            seen.add((gid, f.file_id))
            first.append(k)
    if not first:
        return
    from ldpy.undefined import Places        # place, function and source line
    places = Places(ctx.config.demangle).describe(
        [(rt.sections[rt.sec_ordinal[k]], int(rt.offset[k])) for k in first])
    for k, place in zip(first, places):
        diag.warn(f"{place} warning: {wanted[int(rt.key[k])]}")


def _shared_warnings(sf):
    """{symbol: text} of a shared library's .gnu.warning.SYM sections."""
    sh = sf.shdrs
    shstrndx = int(np.frombuffer(sf.data, sf.dt.ehdr, 1, 0)[0]["e_shstrndx"])
    if not 0 < shstrndx < len(sh):
        return {}
    names = sf.section_data(shstrndx)
    found = {}
    for i, off in enumerate(sh["sh_name"].tolist()):
        if names.startswith(b".gnu.warning.", off):
            end = names.find(b"\0", off)
            name = names[off + len(".gnu.warning."):end if end >= 0 else len(names)]
            text = sf.section_data(i).split(b"\0")[0].decode("utf-8", "replace").strip()
            if name and text:
                found[name] = text
    return found


def report_overflows(ctx, rt, idx, values, fields, type_name):
    """'relocation truncated to fit' errors for the relocations idx of rt (found with
    whole-table range checks; only these few get messages), in GNU ld's words with
    the place, function and source line of undefined references::

        a.o:(.text+0xf): in function 'get': /tmp/a.c:4: relocation truncated to fit:
        TYPE against symbol 'big' defined in .bss section in b.o; value
        0x100000000 does not fit in a signed 32-bit field

    values: the computed field values; fields: each relocation's field ("signed
    32-bit").  Stops the link.  A block of rows (relocs.RowBlock) hands its reports
    to the table's, made after its last block."""
    if rt.overflows is not None:
        rt.overflows.append((rt.lo + np.asarray(idx, np.int64), values, fields, type_name))
        return
    from ldpy.undefined import Places, demangler
    idx = [int(k) for k in idx]
    shown = idx if ctx.config.verbose else idx[:OVERFLOWS_SHOWN]
    places = Places(ctx.config.demangle).describe(
        [(rt.sections[rt.sec_ordinal[k]], int(rt.offset[k])) for k in shown])
    targets = [_reloc_target(ctx, rt, k) for k in shown]
    show = demangler({t[1] for t in targets}, ctx.config.demangle)
    for k, place, (how, name, rest), v, field in zip(shown, places, targets, values, fields):
        diag.error(f"{place} relocation truncated to fit: {type_name(rt.type[k])} against "
                   f"{how}'{show[name]}'{rest}; value {int(v):#x} does not fit in {field} field")
    if len(idx) > len(shown):
        diag.error(f"{len(idx) - len(shown)} additional relocation overflows omitted from the "
                   f"output (--verbose shows them)")
    diag.check()


def _reloc_target(ctx, rt, k):
    """(words before the name, symbol name bytes, words after) for GNU ld's
    "against symbol 'x' defined in .bss section in b.o"."""
    f = rt.file_of(k)
    if rt.is_local[k]:
        i = int(rt.sym[k])
        if int(f.symbols["st_info"][i]) & 0xf == STT_SECTION:
            return "", ctx.sym_display(f, i).encode(), ""
        return "", f.symbol_name(i), ""
    s = ctx.symtab.symbols[int(rt.key[k])]
    if s.kind == UNDEF:
        return "undefined symbol ", s.name, ""
    if s.kind == DEFINED and s.absolute:
        where = f"*ABS* section in {ctx.config.output}"
    elif s.kind == DEFINED and s.section is not None:
        where = f"{s.section.name} section in {s.section.file.name}"
    elif s.kind == COMMON:
        where = f"COMMON section in {s.file.name if s.file is not None else ctx.config.output}"
    elif s.kind == SYNTHETIC:
        where = f"{s.output.name if s.output is not None else '*ABS*'} section in {ctx.config.output}"
    elif s.kind == SHARED:
        where = f"{s.file.name}" if s.file is not None else "a shared library"
        return "symbol ", s.name, f" defined in {where}"
    else:
        return "symbol ", s.name, ""
    return "symbol ", s.name, f" defined in {where}"
