"""Claimed (IR) files in the link: their symbols enter the symbol table like an
object's, and after all symbols are read the objects the plugin compiled take
their place.

Before all symbols are read an IR definition follows the ordinary rules (a
strong one against another strong one is a multiple definition; weak gives way
to strong; a common gives way to a definition), an IR reference pulls archive
members like any undefined symbol, and an IR definition in a COMDAT group
(comdat_key) that another file already provided is only a reference.  IR
references do not make a symbol `referenced`: resolution.py needs to tell
references from outside the IR, and a name only IR used must not be an
undefined-symbol error once the compiler dropped the use.

Afterwards (replace()), as ld.bfd does (plugin_notice): every symbol an IR file
defines becomes undefined again, the plugin's objects are read at the place of
the first claimed file and define them for real, a name the compiler dropped
binds to a shared library's definition when one exists, the archives are
searched again for what the compiled code references (library calls the
compiler made), and the libraries the plugin asked for are searched like -l."""
import os

import numpy as np

from ldpy.diag import LinkError, diag
from ldpy.elf.format import STT_NOTYPE, STT_FUNC, STT_OBJECT
from ldpy.symbols import UNDEF, DEFINED, COMMON, SYNTHETIC, SHARED
from ldpy.lto.plugin import LDPK_DEF, LDPK_WEAKDEF, LDPK_UNDEF, LDPK_WEAKUNDEF, LDPK_COMMON

# LDPV_* (default, protected, internal, hidden) -> STV_*
_STV = {0: 0, 1: 3, 2: 1, 3: 2}
_TYPES = {1: STT_FUNC, 2: STT_OBJECT}


def add_ir_file(ctx, host, f):
    """Resolve the IR symbols of claimed file `f` against the symbol table."""
    st = ctx.symtab
    by_name, undefined, wrapped, shared_defs = st.by_name, st.undefined, st.wrapped, st.shared_defs
    comdat = ctx.comdat
    if host.insert_at is None:
        host.insert_at = len(ctx.files)
        host.archives_at = len(ctx.archives)
    owned = set()
    gids = []
    discarded = np.zeros(len(f.names), bool)
    defs = f.syms["def"].tolist()
    vis = f.syms["visibility"].tolist()
    sizes = f.syms["size"].tolist()
    types = f.syms["symbol_type"].tolist()
    ir_vis = host.ir_visibility
    for i, name in enumerate(f.names):
        d = defs[i]
        key = f.comdat_keys[i]
        if key is not None and d in (LDPK_DEF, LDPK_WEAKDEF, LDPK_COMMON):
            owner = comdat.get(key)
            if owner is None:
                comdat[key] = f
                owned.add(key)
            elif owner is not f:
                discarded[i] = True           # another file provides this group
        is_ref = d in (LDPK_UNDEF, LDPK_WEAKUNDEF) or discarded[i]
        if wrapped and is_ref:
            if name in wrapped:
                name = b"__wrap_" + name
            elif name.startswith(b"__real_") and name[7:] in wrapped:
                name = name[7:]
        sym = by_name.get(name)
        if sym is None:
            sym = st.intern_versioned(name, not is_ref) if b"@" in name else st.intern(name)
        gids.append(sym.gid)
        v = _STV.get(vis[i], 0)
        if v:
            prev = ir_vis.get(sym.gid, 0)
            ir_vis[sym.gid] = v if not prev else min(prev, v)
        if is_ref:
            if d != LDPK_WEAKUNDEF and sym.kind == UNDEF:
                undefined.add(sym.name)
            if sym.ref_file is None:
                sym.ref_file = f             # (-Map: who pulled an archive member)
            continue
        if d == LDPK_COMMON:
            st.add_common(sym, f, i, 1, sizes[i], STT_OBJECT)
            continue
        weak = d == LDPK_WEAKDEF
        kind = sym.kind
        if kind == SHARED:
            kind = UNDEF                     # a definition here overrides the library's
            sym.dyn_ref = True
        elif name in shared_defs:
            sym.dyn_ref = True
        if kind == SYNTHETIC:
            continue                         # --defsym wins
        if kind == DEFINED and not sym.weak:
            if weak or st.allow_multiple:
                continue
            diag.error(f"{f.name} (symbol from plugin): multiple definition of '{sym.display}'; "
                       f"first defined in {sym.where()}")
            continue
        if kind == DEFINED and weak:
            continue
        if kind == COMMON:
            if weak:
                continue
            st.commons.discard(sym.name)
        sym.kind, sym.file, sym.index, sym.section = DEFINED, f, i, None
        sym.value, sym.size, sym.weak = 0, sizes[i], weak
        sym.unique = sym.absolute = sym.is_ifunc = False
        sym.type = _TYPES.get(types[i], STT_NOTYPE)
        undefined.discard(sym.name)
    f.gids = np.array(gids, np.int64)
    f.discarded = discarded
    f.owned_comdats = owned


class _PlainSpec:
    """The input state of what the plugin adds: the state at the end of the command
    line (-Bstatic / -static still in effect for its libraries, as in ld.bfd)."""
    whole_archive = as_needed = False
    format = None

    def __init__(self, static, name=""):
        self.static, self.name = static, name


def finish(loader, host):
    """All symbols are read: resolutions, the plugin's compilation, its objects in."""
    from ldpy.lto.resolution import resolve_all
    ctx = loader.ctx
    host.ctx = ctx
    if host.files:
        resolve_all(ctx, host)
    host.run_all_symbols_read()
    host.close_fds()
    if host.files or host.added_files or host.added_libraries:
        replace(loader, host)


def replace(loader, host):
    ctx = loader.ctx
    st = ctx.symtab
    # 1. what IR files defined is undefined again (a weak undefined, as in ld.bfd:
    #    nothing is an error unless real code still references it)
    reset = []
    for s in st.symbols:
        if s.kind in (DEFINED, COMMON) and getattr(s.file, "is_ir", False):
            if s.kind == COMMON:
                st.commons.discard(s.name)
            s.kind, s.file, s.index, s.section = UNDEF, None, 0, None
            s.value = s.size = 0
            s.weak = s.unique = s.absolute = s.is_ifunc = False
            s.type = STT_NOTYPE
            reset.append(s)
    # names that only IR code referenced are no longer wanted from archives
    st.undefined.difference_update([n for n in st.undefined if not st.by_name[n].strong_ref])
    for key in [k for k, owner in ctx.comdat.items() if getattr(owner, "is_ir", False)]:
        del ctx.comdat[key]
    # 2. the compiled objects, at the place of the first claimed file
    start = len(ctx.files)
    spec = _PlainSpec(ctx.config.static)
    for path in host.added_files:
        before = len(ctx.files)
        loader.load_path(path, spec)
        for f in ctx.files[before:]:
            if f.archive is None:
                host.notify_new_input(f.name, path, 0, f.data)
    added = ctx.files[start:]
    if added and host.insert_at is not None and host.insert_at < start:
        del ctx.files[start:]
        ctx.files[host.insert_at:host.insert_at] = added
        for i, f in enumerate(ctx.files):
            f.file_id = i
    # 3. dropped definitions: a shared library's definition serves, if any
    want = {s.name: s for s in reset if s.kind == UNDEF}
    if want:
        for sf in ctx.shared_files:
            for i, name in enumerate(sf.names):
                s = want.get(name)
                if s is not None and s.kind == UNDEF and sf.default_version[i]:
                    st.bind_shared(s, sf, i)
    # 4. libraries the plugin names (GCC's -pass-through), then the archives again
    mark = len(ctx.files)
    if host.added_libraries:
        loader.search_dirs.extend(d for d in host.extra_paths if d not in loader.search_dirs)
        for name in host.added_libraries:
            try:
                loader.process("lib", name, _PlainSpec(ctx.config.static, name))
            except LinkError:
                if not os.path.isabs(name):
                    raise
    # (as ld.bfd's rescan: the archives from the first claimed file on, which is
    # where the C library and libgcc are; a link with nothing claimed keeps the
    # command line's one-pass archive rule)
    if host.files and ctx.archives[host.archives_at:]:
        loader.iterate_group(ctx.archives[host.archives_at:])
    _place_late_members(ctx, mark)


def _place_late_members(ctx, mark):
    """Members pulled after LTO join their archive's place (after the members
    already taken from the same archive file), not the end of the link: crtend.o
    and crtn.o must stay last (.eh_frame's terminator, .init's epilogue)."""
    late = ctx.files[mark:]
    if not late:
        return
    del ctx.files[mark:]
    files = ctx.files
    last_member = max((i for i, f in enumerate(files) if f.archive is not None), default=len(files) - 1)
    for f in late:
        path = f.archive.path if f.archive is not None else None
        at = last_member
        if path is not None:
            at = max((i for i, g in enumerate(files) if g.archive is not None and g.archive.path == path),
                     default=last_member)
        files.insert(at + 1, f)
        last_member += 1 if at <= last_member else 0
    for i, f in enumerate(files):
        f.file_id = i
