"""The global symbol table and the resolution rules ("Linkers" part 12).

Resolution is the one naturally per-symbol pass: one dict probe per global
symbol of each loaded file.  Each file gets `global_ids`, a numpy array that
maps its global symbol indexes to ids in this table, so everything after
resolution is vectorized.
"""
from itertools import compress, repeat
from operator import attrgetter

import numpy as np

from ldpy.diag import diag
from ldpy.elf.format import (SHN_UNDEF, SHX_ABS, SHX_COMMON, STB_WEAK,
                             STB_GNU_UNIQUE, STT_GNU_IFUNC, STV_DEFAULT, STV_HIDDEN)

UNDEF, DEFINED, COMMON, SYNTHETIC, SHARED = 0, 1, 2, 3, 4


_GID = attrgetter("gid")


class Symbol:
    __slots__ = ("name", "gid", "kind", "file", "index", "section", "value", "size", "weak",
                 "type", "visibility", "strong_ref", "referenced", "absolute", "align",
                 "output", "is_ifunc", "version", "dyn_ref", "export",
                 "copy", "copy_ro", "canonical_plt", "copy_alias", "def_version", "version_hidden", "ref_file",
                 "unique", "forced_local", "combined", "symver_default")

    def __init__(self, name, gid):
        self.name = name              # bytes
        self.gid = gid
        self.kind = UNDEF
        self.file = None              # defining ObjectFile
        self.index = 0                # its index in that file's symbol table
        self.section = None           # InputSection of the definition (None: absolute/common/synthetic)
        self.value = 0                # st_value (or final address for synthetic symbols)
        self.size = 0
        self.weak = False             # the chosen definition is weak
        self.unique = False           # ... or STB_GNU_UNIQUE (C++ inline statics; the loader unifies them)
        self.type = 0
        self.visibility = STV_DEFAULT
        self.strong_ref = False       # some object references it non-weakly
        self.referenced = False
        self.absolute = False
        self.align = 1                # commons
        self.output = None            # synthetic symbols: the OutputSection they are relative to
        self.is_ifunc = False
        self.version = None           # SHARED: version name of the definition it binds to
        self.dyn_ref = False          # referenced by a shared library
        self.export = False           # goes into .dynsym as a definition
        self.copy = False             # imported data copied into the executable (COPY reloc)
        self.copy_ro = False          # ... from a read-only section: the copy goes to .data.rel.ro
        self.canonical_plt = False    # imported function whose address is its PLT entry
        self.copy_alias = False       # another name of a copied object, not itself exported
        self.def_version = None       # version this output defines it under (.symver, scripts)
        self.version_hidden = False   # foo@VER: a non-default version
        self.ref_file = None          # the first object that referenced it (for the map file)
        self.forced_local = None      # made local by a version script: its visibility before
        self.combined = False         # foo beside foo@VER at the same place: GNU ld keeps foo@VER only
        self.symver_default = False   # defined as foo@@VER (.symver): .symtab shows that name

    @property
    def dyn_name(self):
        """The name in .dynsym: without a .symver version suffix."""
        at = self.name.find(b"@")
        return self.name if at < 0 else self.name[:at]

    @property
    def display(self):
        return self.name.decode("utf-8", "replace")

    def where(self):
        if self.section is not None:
            return self.section.where(self.value)
        return self.file.name if self.file is not None else "<linker>"

    def __repr__(self):
        return f"<Symbol {self.display} kind={self.kind}>"


def global_columns(f):
    """An object's global symbols' st_other, section index, value and size, as lists
    (SymbolTable.add_file; a link server keeps them for the objects it holds)."""
    syms, fg = f.symbols, f.first_global
    return (syms["st_other"][fg:].tolist(), f.shndx[fg:].tolist(), syms["st_value"][fg:].tolist(),
            syms["st_size"][fg:].tolist())


def global_split(f, columns):
    """What add_file derives from an object's global columns alone: whether a name
    may have a version ('@' in the string table), whether every global name is
    there once, and the indexes of the references, of the definitions and of the
    entries with a non-default visibility (a link server keeps it for the objects
    it holds)."""
    return (b"@" in f.strtab, len(set(f.global_names)) == len(f.global_names),
            *_entry_kinds(columns[1], columns[0]))


def _entry_kinds(shndx, others):
    """Indexes of the references, of the definitions and of the entries with a
    non-default visibility, picked in C (compress() over the columns)."""
    every = range(len(shndx))
    return (list(compress(every, map(SHN_UNDEF.__eq__, shndx))),
            list(compress(every, shndx)),                       # (SHN_UNDEF is 0)
            list(compress(every, map((3).__and__, others))))


def st_other_flags(sym, mask):
    """The st_other bits of `mask` (Target.STO_FLAGS) that sym's definition carries."""
    if not mask or sym.kind not in (DEFINED, SHARED) or sym.file is None or sym.index is None:
        return 0
    return int(sym.file.symbols["st_other"][sym.index]) & mask


def merge_visibility(a, b):
    """The most constraining of two visibilities (internal > hidden > protected > default)."""
    if a == STV_DEFAULT:
        return b
    if b == STV_DEFAULT:
        return a
    return min(a, b)


class SymbolTable:
    def __init__(self):
        self.by_name = {}
        self.symbols = []
        self.undefined = set()     # names referenced non-weakly and not (yet) defined
        self.soft_refs = set()     # names -u, -e, EXTERN, ENTRY reference: they pull archive
                                   # members, but nothing defining them is no error (GNU ld)
        self.commons = set()       # names whose symbol is (for now) a common
        self.shared_version_tables = []    # (SharedFile, its b"name@VER" -> index), in link order
        self.wrapped = set()       # --wrap=SYM names (bytes)
        self.warn_common = False   # --warn-common
        self.allow_multiple = False   # --allow-multiple-definition / -z muldefs: the first stays
        self.verbatim_versions = False   # -r: foo@@VER and foo@VER are names like any other
        # shared libraries' definitions and references stay out of the table until
        # something mentions their names (libc.so alone has ~3000)
        self.shared_defs = {}      # name -> (SharedFile, index) of the first library defining it
        self.shlib_refs = set()    # names that some library references
        self.shlib_strong_refs = set()   # ... non-weakly: they pull archive members (GNU ld)

    def intern(self, name):
        sym = self.by_name.get(name)
        if sym is None:
            sym = Symbol(name, len(self.symbols))
            self.by_name[name] = sym
            self.symbols.append(sym)
            lazy = self.shared_defs.get(name)
            if lazy is not None:
                self.bind_shared(sym, *lazy)      # first mention of a library's symbol
            if name in self.shlib_refs:
                sym.dyn_ref = True
        return sym

    def get(self, name):
        return self.by_name.get(name)

    def reference(self, name, weak=False, soft=False):
        """A reference from the command line (-u, -e) or from the linker itself."""
        if soft:
            self.soft_refs.add(name)
        sym = self.intern(name)
        sym.referenced = True
        if not weak:
            sym.strong_ref = True
            if sym.kind == UNDEF:
                self.undefined.add(name)
        return sym

    def define_synthetic(self, name, output=None, value=0, only_if_referenced=True, over_shared=False):
        """A linker-defined symbol (__start_X, _end, ...); value is fixed during layout.
        over_shared: it also replaces a shared library's definition (the absolute
        symbol of a version the output defines: another library's version of that
        name has one too)."""
        sym = self.by_name.get(name)
        if only_if_referenced and (sym is None or sym.kind != UNDEF):
            return None
        sym = sym or self.intern(name)
        if sym.kind == SHARED and over_shared:
            sym.version, sym.version_hidden, sym.size, sym.type = None, False, 0, 0
        elif sym.kind not in (UNDEF, SYNTHETIC):
            return None
        sym.kind, sym.output, sym.value, sym.file, sym.section = SYNTHETIC, output, value, None, None
        sym.weak = sym.unique = False
        self.undefined.discard(name)
        return sym

    def add_file(self, f):
        """Resolve the global symbols of one object against the table."""
        fg = f.first_global
        syms = f.symbols
        if len(syms) - fg <= 0:
            f.global_ids = np.zeros(0, np.int64)
            return
        infos = f._global_infos
        others, shndxs, values, sizes = f.held_columns or global_columns(f)
        sections = f.sections
        by_name, undefined = self.by_name, self.undefined
        wrapped = self.wrapped
        names = f.global_names
        if wrapped:
            # --wrap: a reference to SYM means __wrap_SYM, one to __real_SYM means SYM
            names = [(b"__wrap_" + n if n in wrapped else n[7:] if n.startswith(b"__real_") and n[7:] in wrapped
                      else n) if x == SHN_UNDEF else n for n, x in zip(names, shndxs)]
        # the names the table has already, looked up at once (new ones are interned in order)
        found = list(map(by_name.get, names))
        split = f.held_split            # (a link server's object: split once, global_split)
        no_export = f.no_export
        if split is not None and not wrapped:
            has_at, unique = split[0], split[1]
        else:
            split = None
            has_at, unique = b"@" in f.strtab, len(set(names)) == len(names)
        versioned = not self.verbatim_versions and has_at
        if not versioned and not no_export and unique:
            self._add_plain_file(f, names, found, infos, others, values, sizes, shndxs, split)
            return
        gids = []
        append = gids.append
        hidden_versions = []             # (index, name) of foo@VER definitions
        for i, sym in enumerate(found):
            shndx = shndxs[i]
            if versioned:
                name = names[i]
                if b"@" in name and shndx != SHN_UNDEF and name.count(b"@") == 1 and not name.endswith(b"@"):
                    hidden_versions.append(i)
            if sym is None:
                name = names[i]
                sym = by_name.get(name)      # (an earlier entry of this file may have added it)
                if sym is None:
                    if versioned and b"@" in name:
                        sym = self.intern_versioned(name, shndx != SHN_UNDEF)
                    else:
                        sym = self.intern(name)
            append(sym.gid)
            info = infos[i]
            weak = (info >> 4) == STB_WEAK
            vis = others[i] & 3
            if not vis and no_export and shndx != SHN_UNDEF:
                vis = STV_HIDDEN             # --exclude-libs: not exported (as GNU ld)
            if vis:
                sym.visibility = merge_visibility(sym.visibility, vis)
            sec = None
            if shndx > 0:
                sec = sections[shndx]
                if sec is None or not sec.live:
                    shndx = SHN_UNDEF       # defined in a discarded COMDAT copy: a reference
            if shndx == SHN_UNDEF:
                sym.referenced = True
                if sym.ref_file is None:
                    sym.ref_file = f
                if not weak:
                    sym.strong_ref = True
                    if sym.kind == UNDEF:
                        undefined.add(sym.name)
                continue
            if shndx == SHX_COMMON:
                self.add_common(sym, f, fg + i, values[i], sizes[i], info)
                continue
            self._define(sym, f, fg + i, shndx, sec, info, values[i], sizes[i], names[i])
        f.global_ids = np.array(gids, np.int64)
        if hidden_versions:
            self._combine_versions(f, hidden_versions, shndxs, values)

    def _add_plain_file(self, f, names, found, infos, others, values, sizes, shndx, split=None):
        """add_file for the usual object (no versioned names, no --exclude-libs, every
        global name once): its entries do not touch each other's symbols, so they go
        in three runs, new names interned in file order (their ids), then every
        reference, then every definition, with the same effects as one pass."""
        fg = f.first_global
        if None in found:
            intern = self.intern
            for i, sym in enumerate(found):
                if sym is None:
                    found[i] = intern(names[i])
        f.global_ids = np.fromiter(map(_GID, found), np.int64, len(found))
        refs, defs, visible = _entry_kinds(shndx, others) if split is None else split[2:]
        for i in visible:                                       # non-default visibility
            sym = found[i]
            sym.visibility = merge_visibility(sym.visibility, others[i] & 3)
        sections = f.sections
        if defs:
            # a definition in a discarded COMDAT copy is a reference (in index order)
            dead = [i for i in defs if shndx[i] > 0 and ((sec := sections[shndx[i]]) is None or not sec.live)]
            if dead:
                refs = sorted(refs + dead)
                dead = set(dead)
                defs = [i for i in defs if i not in dead]
        undefined = self.undefined
        for i in refs:
            sym = found[i]
            sym.referenced = True
            if sym.ref_file is None:
                sym.ref_file = f
            if infos[i] >> 4 != STB_WEAK:
                sym.strong_ref = True
                if sym.kind == UNDEF:
                    undefined.add(sym.name)
        for i in defs:
            x = shndx[i]
            if x == SHX_COMMON:
                self.add_common(found[i], f, fg + i, values[i], sizes[i], infos[i])
            else:
                self._define(found[i], f, fg + i, x, sections[x] if x > 0 else None, infos[i],
                             values[i], sizes[i], names[i])

    def _define(self, sym, f, index, shndx, sec, info, value, size, name):
        """A regular object's definition of sym (symbol `index` of f, in section sec
        or absolute): GNU ld's rules against what sym already is."""
        weak = (info >> 4) == STB_WEAK
        kind = sym.kind
        if kind == SHARED:
            kind = UNDEF                 # a regular definition overrides a shared one
            sym.dyn_ref = True           # ... and is exported so the library binds to it
        elif name in self.shared_defs:
            sym.dyn_ref = True
        if kind == SYNTHETIC:
            return                       # --defsym overrides object definitions
        if kind == DEFINED and not sym.weak:
            if weak:
                return
            if sym.absolute and shndx == SHX_ABS and sym.value == value:
                return
            if self.allow_multiple:
                return
            diag.error(f"{_where(f, sec, value, shndx)}: multiple definition of "
                       f"'{sym.display}'; first defined in {sym.where()}")
            return
        if kind == DEFINED and weak:
            return                       # weak after weak: the first one stays
        if kind == COMMON and weak:
            return                       # a common beats a weak definition
        if kind == COMMON and self.warn_common:
            diag.warn(f"{f.name}: definition of '{sym.display}' overriding common from {sym.file.name}")
        if kind == COMMON:
            self.commons.discard(name)
        sym.kind = DEFINED
        sym.file, sym.index, sym.section = f, index, sec
        sym.value, sym.size, sym.weak = value, size, weak
        sym.unique = (info >> 4) == STB_GNU_UNIQUE
        sym.type = info & 0xf
        sym.absolute = shndx == SHX_ABS
        sym.is_ifunc = sym.type == STT_GNU_IFUNC
        self.undefined.discard(sym.name)

    def _combine_versions(self, f, hidden_versions, shndxs, values):
        """`.symver foo, foo@VER`: foo and foo@VER defined at the same place in one
        object are one symbol to GNU ld, which outputs foo@VER only."""
        names = f.global_names
        index = {n: i for i, n in enumerate(names)}
        syms, ids = self.symbols, f.global_ids
        for i in hidden_versions:
            j = index.get(names[i].partition(b"@")[0])
            if j is None or shndxs[j] != shndxs[i] or values[j] != values[i]:
                continue
            base = syms[int(ids[j])]
            if base.file is f and base.kind == DEFINED:
                base.combined = True

    def intern_versioned(self, name, defined):
        """A .symver name.  foo@@VER (default version) is foo itself, also reachable
        as foo@VER; foo@VER stays a name of its own (a non-default version, or a
        reference to one)."""
        base, _, ver = name.partition(b"@")
        default = ver.startswith(b"@")
        ver = ver.lstrip(b"@")
        if default and defined:
            sym = self.intern(base)
            self.by_name.setdefault(base + b"@" + ver, sym)
            sym.symver_default = bool(ver)
        else:
            sym = self.intern(base + b"@" + ver)
        if defined:
            sym.def_version = ver.decode()
            sym.version_hidden = not default
        elif sym.kind == UNDEF:
            hit = self.shared_version(sym.name)
            if hit is not None:
                self.bind_shared(sym, *hit)
        return sym

    def shared_version(self, name):
        """(SharedFile, index) of the first library offering b"name@VER", or None
        (asked rarely: per library, not merged into one table at each add_shared)."""
        for sf, vnames in self.shared_version_tables:
            i = vnames.get(name)
            if i is not None:
                return sf, i
        return None

    def bind_shared(self, sym, sf, i):
        info = int(sf.symbols["st_info"][i])
        sym.kind, sym.file, sym.index, sym.section = SHARED, sf, i, None
        sym.type, sym.size, sym.weak = info & 0xf, int(sf.symbols["st_size"][i]), (info >> 4) == STB_WEAK
        sym.version = sf.versions[i]
        sym.is_ifunc = False
        self.undefined.discard(sym.name)

    def add_shared(self, sf):
        """Definitions offered by a shared library: they satisfy references that are
        still undefined; regular definitions keep precedence.  Most of a library's
        names are mentioned by nothing yet: they only enter the lazy tables (first
        library wins), with dict and set operations over the whole list; the few
        the table already has are handled one by one, in dynsym order."""
        by_name = self.by_name
        vnames, defaults = sf.name_tables()
        # the names the table already has: bind or mark them in dynsym order
        # (at one index the exact version comes first, then the plain name; the key
        # views' intersection walks the smaller side, in C)
        held = by_name.keys()
        hits = sorted([(vnames[n], 0, n) for n in vnames.keys() & held] +
                      [(defaults[n], 1, n) for n in defaults.keys() & held])
        for i, plain, name in hits:
            sym = by_name[name]
            if not plain:
                if sym.kind == UNDEF:
                    self.bind_shared(sym, sf, i)      # a reference to this exact version
            elif sym.kind != UNDEF:
                if sym.kind != SHARED:
                    sym.dyn_ref = True       # a library defines it too: export ours to interpose
            else:
                self.bind_shared(sym, sf, i)
        self.shared_version_tables.append((sf, vnames))
        # (sf, index) entries made by zip and repeat, in C
        defs = dict(zip(defaults, zip(repeat(sf), defaults.values())))
        for _, plain, name in hits:
            if plain:
                del defs[name]          # (the table has these already)
        self.shared_defs = _first_wins(self.shared_defs, defs)
        self.shlib_strong_refs.update(sf.undefined_strong_bytes)
        refs = set(sf.undefined_bytes)
        known = refs & held
        for name in known:
            by_name[name].dyn_ref = True
        self.shlib_refs |= refs - known

    def wanted_by_libraries(self, names):
        """Those of `names` that a shared library on the command line references
        non-weakly and nothing defines yet: archive members that define them are
        pulled, as GNU ld does."""
        by_name, shared_defs = self.by_name, self.shared_defs
        return {n for n in self.shlib_strong_refs & names
                if ((s := by_name.get(n)) is None and n not in shared_defs)
                or (s is not None and s.kind == UNDEF)}

    def add_common(self, sym, f, index, align, size, info):
        if sym.kind == DEFINED and not sym.weak:
            if self.warn_common:
                diag.warn(f"{f.name}: common of '{sym.display}' overridden by definition from {sym.file.name}")
            return                            # a real definition beats a common
        if sym.kind == SHARED:
            sym.kind = UNDEF
        if sym.kind == COMMON:
            if self.warn_common:             # GNU ld's words ("Linkers" part 12's cases)
                if size == sym.size:
                    diag.warn(f"{f.name} and {sym.file.name}: multiple common of '{sym.display}'")
                else:
                    what = "overriding smaller" if size > sym.size else "overridden by larger"
                    diag.warn(f"{f.name}: common of '{sym.display}' {what} common from {sym.file.name}")
            if size > sym.size:
                sym.file, sym.index, sym.size = f, index, size
            sym.align = max(sym.align, align)
            return
        sym.kind, sym.file, sym.index, sym.section = COMMON, f, index, None
        sym.size, sym.align, sym.weak, sym.value = size, max(align, 1), False, 0
        sym.unique = False
        sym.type = info & 0xf
        self.undefined.discard(sym.name)
        self.commons.add(sym.name)


def _first_wins(old, new):
    """old with new's entries for names it lacks (the one dict that stays is the
    bigger: its entries are not copied)."""
    if len(old) >= len(new):
        for k in [k for k in new if k not in old]:
            old[k] = new[k]
        return old
    new.update(old)
    return new


def _where(f, sec, value, shndx):
    if sec is not None:
        return sec.where(value)
    return f.name
