"""The dynamic-linking sections of an executable: .interp, .dynsym/.dynstr,
.hash/.gnu.hash, .gnu.version/.gnu.version_r, .rela.dyn, the lazy .plt with its
.got.plt and .rela.plt, and .dynamic."""
import struct

import numpy as np

from ldpy.diag import LinkError

from ldpy.util import unique, first_of_runs, isin

from ldpy.elf.format import (RELOC, reloc_info, reloc_type, SHT_PROGBITS, SHT_DYNSYM, SHT_STRTAB, SHT_HASH, SHT_GNU_HASH,
                             SHT_GNU_versym, SHT_GNU_verneed, SHT_RELA, SHT_REL, SHT_DYNAMIC, SHF_ALLOC,
                             SHF_WRITE, SHF_EXECINSTR, STB_GLOBAL, STB_WEAK, STV_DEFAULT,
                             STT_FUNC, STT_OBJECT, STT_GNU_IFUNC, STB_GNU_UNIQUE, STB_LOCAL, STT_SECTION,
                             SHT_NOBITS, SHF_TLS)
from ldpy.synthetic import Synthetic

# dynamic tags
DT = dict(NULL=0, NEEDED=1, PLTRELSZ=2, PLTGOT=3, HASH=4, STRTAB=5, SYMTAB=6, RELA=7, RELASZ=8,
          RELAENT=9, STRSZ=10, SYMENT=11, INIT=12, FINI=13, SONAME=14, RPATH=15, SYMBOLIC=16,
          PLTREL=20, DEBUG=21, TEXTREL=22, JMPREL=23, BIND_NOW=24, INIT_ARRAY=25, FINI_ARRAY=26,
          INIT_ARRAYSZ=27, FINI_ARRAYSZ=28, RUNPATH=29, FLAGS=30, PREINIT_ARRAY=32,
          PREINIT_ARRAYSZ=33, GNU_HASH=0x6ffffef5, TLSDESC_PLT=0x6ffffef6, TLSDESC_GOT=0x6ffffef7, VERSYM=0x6ffffff0, RELACOUNT=0x6ffffff9,
          FLAGS_1=0x6ffffffb, VERDEF=0x6ffffffc, VERDEFNUM=0x6ffffffd, VERNEED=0x6ffffffe,
          VERNEEDNUM=0x6fffffff)
DF_ORIGIN, DF_SYMBOLIC, DF_TEXTREL, DF_BIND_NOW, DF_STATIC_TLS = 1, 2, 4, 8, 0x10
DF_1_NOW, DF_1_NODELETE, DF_1_INITFIRST, DF_1_NOOPEN, DF_1_PIE = 1, 8, 0x20, 0x40, 0x08000000
# -z keyword (Config field) -> DT_FLAGS_1 bit, in GNU ld's meaning
_FLAGS_1_OPTIONS = (("now", DF_1_NOW), ("z_global", 0x2), ("z_group", 0x4), ("z_nodelete", DF_1_NODELETE),
                    ("z_loadfltr", 0x10), ("z_initfirst", DF_1_INITFIRST), ("z_nodlopen", DF_1_NOOPEN),
                    ("z_origin", 0x80), ("z_interpose", 0x400), ("z_nodefaultlib", 0x800),
                    ("z_nodump", 0x1000), ("z_globalaudit", 0x1000000))
DT_GNU_FLAGS_1, DF_GNU_1_UNIQUE = 0x6ffffdf4, 1
DT_FILTER, DT_AUXILIARY, DT_AUDIT, DT_DEPAUDIT = 0x7fffffff, 0x7ffffffd, 0x6ffffefc, 0x6ffffefb


def elf_hash(name):
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xffffffff
        g = h & 0xf0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xffffffff
    return h


def gnu_hash(name):
    h = 5381
    for c in name:
        h = (h * 33 + c) & 0xffffffff
    return h


def gnu_hashes(names):
    """gnu_hash of every name, as uint32: the names' bytes side by side, one step per
    character position over the names that long (longest first), not per character."""
    n = len(names)
    if n < 32:
        return np.array([gnu_hash(x) for x in names], np.uint32)
    lens = np.fromiter(map(len, names), np.int64, n)
    order = np.argsort(-lens, kind="stable")
    blob = np.frombuffer(b"".join(names), np.uint8)
    starts = (np.cumsum(lens) - lens)[order]
    # how many names are longer than k, for every k (lens[order] descends)
    longer = np.searchsorted(-lens[order], -np.arange(int(lens.max()) if n else 0), side="left")
    h = np.full(n, 5381, np.uint32)
    for k, m in enumerate(longer.tolist()):
        h[:m] = h[:m] * np.uint32(33) + blob[starts[:m] + k]       # (uint32: wraps as & 0xffffffff)
    out = np.empty(n, np.uint32)
    out[order] = h
    return out


class StrTab:
    def __init__(self):
        self.blob = bytearray(b"\0")
        self.offsets = {b"": 0}

    def add(self, s):
        off = self.offsets.get(s)
        if off is None:
            off = self.offsets[s] = len(self.blob)
            self.blob += s + b"\0"
        return off


class Interp(Synthetic):
    def __init__(self, path):
        super().__init__(".interp", SHT_PROGBITS, SHF_ALLOC, 1)
        self.data = np.frombuffer(path.encode() + b"\0", np.uint8)
        self.size = len(self.data)


class SectionDynSym:
    """A local section symbol of .dynsym (AArch64's ld.bfd keeps one for the first
    read-only and the first writable output section of a PIE or shared object)."""
    file = version = def_version = None
    dyn_name = b""
    gid = -1

    def __init__(self, output):
        self.output = output


def section_dynsyms(ctx):
    """ld.bfd's text_index_section and data_index_section: the first allocated
    read-only / writable PROGBITS or NOBITS output section that the linker did
    not make itself (TLS ones excluded)."""
    made = {".interp", ".plt", ".iplt", ".got", ".got.plt", ".dynbss", ".data.rel.ro", ".eh_frame_hdr"}
    text = data = None
    for o in ctx.outputs.sorted():
        if not (o.flags & SHF_ALLOC) or o.type not in (SHT_PROGBITS, SHT_NOBITS) or o.name in made \
                or o.flags & SHF_TLS or not any(c.size for c in o.chunks):
            continue
        if o.flags & SHF_WRITE:
            data = data or o
        else:
            text = text or o
    if ctx.target.DYNSYM_SECTION_SYMBOLS == "text":
        data = None             # (BFD's default _bfd_elf_init_1_index_section: one section symbol)
    return [SectionDynSym(o) for o in (text, data) if o is not None]


class DynSymbols:
    """Which symbols the dynamic symbol table holds, in order: local section
    symbols (AArch64), imports, then definitions sorted by .gnu.hash bucket."""

    def __init__(self, ctx, imports, exports, use_gnu_hash, locals_=()):
        self.dynstr = StrTab()
        # the byte order of the sections built from this table (hash, versions)
        self.order = "<" if ctx.target.LITTLE else ">"
        locals_ = list(locals_)
        self.n_local = len(locals_)
        imports = locals_ + imports
        self.symbols = [None] + imports + exports
        self.first_defined = 1 + len(imports)
        n_def = len(exports)
        self.nbuckets = max(1, n_def // 4) if n_def else 1
        hashes = gnu_hashes([s.dyn_name for s in exports])
        if use_gnu_hash and n_def:
            order = np.argsort(hashes % np.uint32(self.nbuckets), kind="stable")
            self.symbols = [None] + imports + [exports[i] for i in order.tolist()]
            hashes = hashes[order]
        self.gnu_hashes = hashes
        self.index = {}
        for i, s in enumerate(self.symbols):
            if s is not None and s.gid >= 0:
                self.index[s.gid] = i
                self.dynstr.add(s.dyn_name)


class DynsymSection(Synthetic):
    def __init__(self, dt, dyn):
        super().__init__(".dynsym", SHT_DYNSYM, SHF_ALLOC, dt.addr_size, dt.sym.itemsize)
        self.dt, self.dyn = dt, dyn
        self.size = len(dyn.symbols) * dt.sym.itemsize

    def build(self, ctx):
        syms = self.dyn.symbols
        n = len(syms)
        from ldpy.symbols import SHARED, UNDEF, DEFINED, st_other_flags
        pic = ctx.config.pie or ctx.config.shared
        flags = ctx.target.STO_FLAGS
        offsets = self.dyn.dynstr.offsets
        # the fields in lists, one row per symbol, written to the table column by column
        names, infos, others, shndxs, values, sizes = ([0] * n for _ in range(6))
        # every row's address in one gather (-1, the null and section rows: a 0 past the end)
        gids = np.array([s.gid if s is not None else -1 for s in syms], np.int64)
        addrs = np.append(ctx.gaddr, 0)[gids].tolist()
        for i, s in enumerate(syms[1:], 1):
            if isinstance(s, SectionDynSym):
                infos[i] = (STB_LOCAL << 4) | STT_SECTION
                shndxs[i] = s.output.index
                values[i] = s.output.addr
                continue
            names[i] = offsets[s.dyn_name]
            typ = s.type
            kind = s.kind
            imported = (kind == SHARED or kind == UNDEF) and not s.copy
            if imported and typ == STT_GNU_IFUNC:
                typ = STT_FUNC                 # the loader resolves it; to us it is a function
            # an import takes the binding of the references; a definition its own
            weak = (not s.strong_ref) if imported else s.weak
            bind = STB_WEAK if weak else STB_GNU_UNIQUE if s.unique and kind == DEFINED else STB_GLOBAL
            infos[i] = (bind << 4) | (typ & 0xf)
            others[i] = (STV_DEFAULT if kind == SHARED else s.visibility) | \
                (st_other_flags(s, flags) if flags else 0)
            if not imported:
                sizes[i] = s.size
            if kind == UNDEF:
                pass                            # (index 0, value 0)
            elif kind == SHARED and not s.copy:
                if s.canonical_plt:
                    values[i] = addrs[i]
            elif typ == STT_GNU_IFUNC and not pic and self._in_iplt(ctx, s.gid):
                # an executable's own IFUNC with a PLT entry: exported as the FUNC at
                # that entry, the address the executable uses too (ld.bfd)
                plt = ctx.plt.sec if ctx.plt.ibt else ctx.plt
                infos[i] = (bind << 4) | STT_FUNC
                shndxs[i] = plt.output.index
                values[i] = int(ctx.iplt.entry_addresses(np.array([s.gid]))[0])
                sizes[i] = 0
            else:
                shndxs[i] = ctx.symbol_shndx(s)
                values[i] = addrs[i] - (ctx.tls_start if typ == 6 else 0)
        out = np.zeros(n, self.dt.sym)
        for field, column in (("st_name", names), ("st_info", infos), ("st_other", others),
                              ("st_shndx", shndxs), ("st_value", values), ("st_size", sizes)):
            out[field] = np.array(column, np.uint64) if field in ("st_value", "st_size") else column
        self.data = out.view(np.uint8)

    @staticmethod
    def _in_iplt(ctx, gid):
        keys = ctx.iplt.keys if ctx.iplt is not None else ()
        return ctx.plt is not None and len(keys) and bool(isin(gid, keys))


class DynstrSection(Synthetic):
    def __init__(self, strtab):
        super().__init__(".dynstr", SHT_STRTAB, SHF_ALLOC, 1)
        self.strtab = strtab

    def freeze(self):
        self.data = np.frombuffer(bytes(self.strtab.blob), np.uint8)
        self.size = len(self.data)
        return self


class HashSection(Synthetic):
    """SysV .hash: nbucket, nchain, buckets, chains."""

    def __init__(self, dyn, word=8):
        super().__init__(".hash", SHT_HASH, SHF_ALLOC, word, 4)
        self.dyn = dyn
        n = len(dyn.symbols)
        self.nbucket = _sysv_buckets(n)
        self.size = 4 * (2 + self.nbucket + n)

    def build(self):
        syms = self.dyn.symbols
        n = len(syms)
        buckets = np.zeros(self.nbucket, np.uint32)
        chains = np.zeros(n, np.uint32)
        for i in range(1, n):
            h = elf_hash(syms[i].dyn_name) % self.nbucket
            chains[i] = buckets[h]
            buckets[h] = i
        words = np.concatenate([np.array([self.nbucket, n], np.uint32), buckets, chains])
        self.data = words.astype(self.dyn.order + "u4").view(np.uint8)


def _sysv_buckets(n):
    for limit, b in ((3, 1), (17, 3), (37, 17), (67, 37), (97, 67), (131, 97), (197, 131), (263, 197),
                     (521, 263), (1031, 521), (2053, 1031), (4099, 2053), (8209, 4099), (16411, 8209)):
        if n < limit:
            return b
    return 16411


class GnuHashSection(Synthetic):
    def __init__(self, dyn, word=8):
        super().__init__(".gnu.hash", SHT_GNU_HASH, SHF_ALLOC, word)
        self.dyn = dyn
        self.word = word            # bloom filter words are addresses: 32 bits in ELF32
        n_def = len(dyn.symbols) - dyn.first_defined
        self.bloom_size = 1 << max(0, (max(n_def, 1) // 16).bit_length()) if n_def else 1
        if word == 4 and n_def:
            self.bloom_size *= 2    # (the same number of bits)
        self.bloom_shift = 26
        self.size = 16 + word * self.bloom_size + 4 * dyn.nbuckets + 4 * n_def

    def build(self):
        dyn = self.dyn
        hashes = np.array(dyn.gnu_hashes, np.uint64)
        nb = dyn.nbuckets
        n_def = len(hashes)
        bloom = np.zeros(self.bloom_size, np.uint64)
        bits = np.uint64(8 * self.word)
        if n_def:
            word = (hashes // bits) % self.bloom_size
            bit1 = hashes % bits
            bit2 = (hashes >> np.uint64(self.bloom_shift)) % bits
            np.bitwise_or.at(bloom, word.astype(np.int64), (np.uint64(1) << bit1) | (np.uint64(1) << bit2))
        if self.word == 4:
            bloom = bloom.astype(np.uint32)
        buckets = np.zeros(nb, np.uint32)
        chain = (hashes & np.uint64(0xfffffffe)).astype(np.uint32)
        if n_def:
            b = (hashes % nb).astype(np.int64)
            # symbols are sorted by bucket: each bucket points at its first symbol,
            # and the last symbol of each bucket carries the stop bit
            used, first = first_of_runs(b)
            buckets[used] = dyn.first_defined + first
            last = np.ones(n_def, bool)
            last[:-1] = b[1:] != b[:-1]
            chain[last] |= 1
        head = np.array([nb, dyn.first_defined, self.bloom_size, self.bloom_shift], np.uint32)
        o = dyn.order
        self.data = np.concatenate([head.astype(o + "u4").view(np.uint8),
                                    bloom.astype(f"{o}u{self.word}").view(np.uint8),
                                    buckets.astype(o + "u4").view(np.uint8), chain.astype(o + "u4").view(np.uint8)])


class VersymSection(Synthetic):
    def __init__(self, dyn):
        super().__init__(".gnu.version", SHT_GNU_versym, SHF_ALLOC, 2, 2)
        self.dyn = dyn
        self.size = 2 * len(dyn.symbols)
        self.values = np.ones(len(dyn.symbols), np.uint16)
        self.values[:1 + dyn.n_local] = 0          # (local symbols: version 0)

    def build(self):
        self.data = self.values.astype(self.dyn.order + "u2").view(np.uint8)


class VerneedSection(Synthetic):
    """.gnu.version_r: for each needed library, the versions this output uses."""

    def __init__(self, dyn, versym, libs, first_index=2, word=8):
        super().__init__(".gnu.version_r", SHT_GNU_verneed, SHF_ALLOC, word)
        self.entries = []          # (soname, [(version, index)])
        next_index = first_index
        index_of = {}
        for sf in libs:
            names = []
            for i, s in enumerate(dyn.symbols):
                if s is None or s.file is not sf or s.version is None:
                    continue
                key = (sf.soname, s.version)
                if key not in index_of:
                    index_of[key] = next_index
                    next_index += 1
                    names.append((s.version, index_of[key]))
                versym.values[i] = index_of[key]
            if names:
                self.entries.append((sf.soname, names))
                dyn.dynstr.add(sf.soname.encode())
                for v, _ in names:
                    dyn.dynstr.add(v.encode())
        self.dyn = dyn
        self.count = len(self.entries)
        self.size = sum(16 + 16 * len(n) for _, n in self.entries)

    def add_glibc_version(self, name):
        """ld.bfd's version dependency on glibc (GLIBC_ABI_DT_RELR): added to the
        libc.so.* entry that already needs a GLIBC_2.* version, first in its list."""
        for soname, names in self.entries:
            if soname.startswith("libc.so.") and any(v.startswith("GLIBC_2.") for v, _ in names):
                if any(v == name for v, _ in names):
                    return
                index = 1 + max(i for _, ns in self.entries for _, i in ns)
                names.insert(0, (name, index))
                self.dyn.dynstr.add(name.encode())
                self.size += 16
                return

    def build(self):
        out = bytearray()
        strs = self.dyn.dynstr.offsets
        for k, (soname, names) in enumerate(self.entries):
            size = 16 + 16 * len(names)
            nxt = size if k + 1 < len(self.entries) else 0
            o = self.dyn.order
            out += struct.pack(o + "HHIII", 1, len(names), strs[soname.encode()], 16, nxt)
            for j, (v, idx) in enumerate(names):
                out += struct.pack(o + "IHHII", elf_hash(v.encode()), 0, idx, strs[v.encode()],
                                   16 if j + 1 < len(names) else 0)
        self.data = np.frombuffer(bytes(out), np.uint8)


class VerdefSection(Synthetic):
    """.gnu.version_d: the base version (the object's own name), then one entry per
    version node this output defines, with the nodes it depends on."""

    def __init__(self, dyn, versym, base_name, nodes, word=8):
        super().__init__(".gnu.version_d", 0x6ffffffd, SHF_ALLOC, word)
        self.nodes = [(base_name, 1, 1, [])] + [(n, i, 0, p) for n, i, p in nodes]
        for name, _, _, parents in self.nodes:
            dyn.dynstr.add(name.encode())
        self.dyn = dyn
        self.count = len(self.nodes)
        self.size = sum(20 + 8 * (1 + len(p)) for _, _, _, p in self.nodes)
        index = {n: i for n, i, _, _ in self.nodes}
        index[""] = 1                          # foo@: the base version (hidden)
        for i, s in enumerate(dyn.symbols):
            if s is not None and s.def_version is not None and s.def_version in index and \
                    i >= dyn.first_defined:
                versym.values[i] = index[s.def_version] | (0x8000 if s.version_hidden else 0)

    def build(self):
        out = bytearray()
        strs = self.dyn.dynstr.offsets
        for k, (name, idx, flags, parents) in enumerate(self.nodes):
            size = 20 + 8 * (1 + len(parents))
            nxt = size if k + 1 < len(self.nodes) else 0
            o = self.dyn.order
            out += struct.pack(o + "HHHHIII", 1, flags, idx, 1 + len(parents), elf_hash(name.encode()), 20, nxt)
            names = [name] + list(parents)
            for j, n in enumerate(names):
                out += struct.pack(o + "II", strs[n.encode()], 8 if j + 1 < len(names) else 0)
        self.data = np.frombuffer(bytes(out), np.uint8)


class RelaSection(Synthetic):
    """A table of dynamic relocations filled as numpy arrays."""
    DTYPE = RELOC          # (rows in the in-memory layout; see elf/format.py)

    def __init__(self, name, count=0, target=None):
        rela = target is None or target.RELA
        ent = 24 if target is None else target.dynrel_size
        super().__init__(name, SHT_RELA if rela else SHT_REL, SHF_ALLOC, 8 if target is None else target.WORD, ent)
        self.target = target
        self.count = count
        self.size = ent * count
        self.parts = []
        self.rows = None           # the built rows, in the in-memory layout
        self.packed = False        # --pack-dyn-relocs=android: APS2, sized by android_relocs.settle

    def reserve(self, n):
        self.count += n
        if not self.packed:
            self.size = self.entsize * self.count

    def add(self, offsets, infos, addends):
        if len(offsets):
            r = np.zeros(len(offsets), self.DTYPE)
            r["r_offset"], r["r_info"], r["r_addend"] = offsets, infos, addends
            self.parts.append(r)

    def build(self, relative_type=None):
        rel = np.concatenate(self.parts) if self.parts else np.zeros(0, self.DTYPE)
        if len(rel) != self.count:
            raise AssertionError(f"{self.name}: reserved {self.count} relocations, produced {len(rel)}")
        if relative_type is not None and len(rel):
            # RELATIVE first (DT_RELACOUNT), then by offset, like GNU ld's -z combreloc
            is_rel = reloc_type(rel["r_info"]) == relative_type
            rel = rel[np.lexsort((rel["r_offset"], ~is_rel))]
            self.relative_count = int(is_rel.sum())
        else:
            self.relative_count = 0
        self.rows = rel
        self.data = rel.view(np.uint8) if self.target is None else self.target.dynrel_bytes(rel)


SHT_RELR = 19
DT_REL, DT_RELSZ, DT_RELENT, DT_RELCOUNT = 17, 18, 19, 0x6ffffffa
DT_RELRSZ, DT_RELR, DT_RELRENT = 35, 36, 37
DT_ANDROID_RELR, DT_ANDROID_RELRSZ, DT_ANDROID_RELRENT = 0x6fffe000, 0x6fffe001, 0x6fffe003


class RelrSection(Synthetic):
    """.relr.dyn (-z pack-relative-relocs): the word-aligned RELATIVE relocations
    as an address entry followed by bitmaps of the next 63 words each.  The
    place holds the addend (the link writes the value there anyway)."""

    def __init__(self, word=8, little=True):
        super().__init__(".relr.dyn", SHT_RELR, SHF_ALLOC, word, word)
        self.order = "<" if little else ">"
        self.word = word           # entries are addresses: 63-word bitmaps in ELF64, 31 in ELF32
        self.moved = 0             # RELATIVE relocations taken out of .rela.dyn
        self.entries = np.zeros(0, np.uint64)

    @staticmethod
    def encode(addrs, word=8):
        """The RELR words for sorted, distinct, word-aligned addresses: one Python
        step per word written (a bitmap covers up to 63 relocations, 31 in ELF32)."""
        W, nb = word, 8 * word - 1
        a = np.asarray(addrs, np.int64)
        n = len(a)
        out = []
        i = 0
        while i < n:
            out.append(int(a[i]))
            where = int(a[i]) + W
            i += 1
            while i < n:
                j = int(np.searchsorted(a, where + nb * W, "left"))
                if j == i:
                    break
                bits = (a[i:j] - where) // W
                out.append(int(np.bitwise_or.reduce(np.left_shift(np.uint64(1), bits.astype(np.uint64)))) << 1 | 1)
                i = j
                where += nb * W
        return np.array(out, np.uint64)

    def build(self):
        # (a word that only advances the bitmap window is a no-op: pads to the size laid out)
        words = np.ones(self.size // self.word, np.uint64)
        words[:len(self.entries)] = self.entries
        self.data = words.astype(f"{self.order}u{self.word}").view(np.uint8)


class PltSection(Synthetic):
    """Lazy-binding .plt: PLT0, then one entry per imported function, then
    entries for local IFUNCs (IRELATIVE)."""

    def __init__(self, target):
        super().__init__(".plt", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16, 16)
        self.target = target
        self.imports = []          # Symbols in PLT order
        self.n_iplt = 0

    def freeze(self, n_iplt):
        self.n_iplt = n_iplt
        self.size = 16 * (1 + len(self.imports) + n_iplt) if (self.imports or n_iplt) else 0
        return self

    def entry_addr(self, i):
        return self.addr + 16 * (1 + i)


class DynamicSection(Synthetic):
    def __init__(self, dt):
        super().__init__(".dynamic", SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, dt.addr_size, dt.dyn.itemsize)
        self.dt = dt
        self.entries = []          # (tag, value or callable)

    def add(self, tag, value):
        self.entries.append((DT[tag] if isinstance(tag, str) else tag, value))

    def freeze(self):
        self.size = (len(self.entries) + 1) * self.dt.dyn.itemsize
        return self

    def build(self):
        arr = np.zeros(len(self.entries) + 1, self.dt.dyn)
        for i, (tag, v) in enumerate(self.entries):
            arr[i] = (tag, v() if callable(v) else v)
        self.data = arr.view(np.uint8)


# -- building the dynamic sections of one link -----------------------------------

def weak_aliases(ctx, imports):
    """The strong aliases of the weak objects imported from a library (the same
    value there, default version): BFD's weakdef makes them dynamic too, so the
    loader binds both names alike (environ and __environ)."""
    from ldpy.symbols import SHARED
    have = {s.gid for s in imports}
    out = []
    for s in imports:
        if s.kind != SHARED or not s.weak or s.type != STT_OBJECT or s.copy:
            continue
        sf = s.file
        syms = sf.symbols
        v = syms["st_value"][s.index]
        same = np.flatnonzero((syms["st_value"] == v) & ((syms["st_info"] >> 4) == STB_GLOBAL) &
                              (syms["st_shndx"] != 0)).tolist()
        for i in same:
            if not sf.default_version[i]:
                continue
            alias = _library_alias(ctx, sf, i)
            if alias.kind == SHARED and alias.file is sf and alias.gid not in have:
                have.add(alias.gid)
                alias.strong_ref = True         # (bound like the reference: GLOBAL in .dynsym)
                out.append(alias)
    return out


def _library_alias(ctx, sf, i):
    """The symbol of library sf's definition i: the table's, or a new one bound to it."""
    alias = ctx.symtab.get(sf.names[i])
    if alias is None:
        alias = ctx.symtab.intern(sf.names[i])
        ctx.symtab.bind_shared(alias, sf, i)
    return alias


def allocate_copies(ctx):
    """Space in .bss for imported data copied into the executable (COPY
    relocations); aliases at the same address in the library are copied with it."""
    from ldpy.symbols import SHARED
    syms = [s for s in ctx.symtab.symbols if s.kind == SHARED and s.copy]
    if not syms:
        return []
    by_lib_value = {}
    for s in syms:
        sf = s.file
        v = int(sf.symbols["st_value"][s.index])
        by_lib_value.setdefault((id(sf), v), s)
    # aliases: other names the library gives the same object
    for (lib_id, v), s in list(by_lib_value.items()):
        sf = s.file
        same = np.flatnonzero(sf.symbols["st_value"] == v).tolist()
        for i in same:
            if not sf.default_version[i]:
                continue
            alias = _library_alias(ctx, sf, i)
            if alias.kind == SHARED and alias.file is sf and not alias.copy:
                alias.copy = True
                alias.copy_alias = not (alias.referenced or not alias.weak)
                syms.append(alias)
    from ldpy.synthetic import Synthetic
    from ldpy.elf.format import SHT_NOBITS
    # copies of read-only data go to .data.rel.ro, which RELRO protects after the
    # COPY relocations (ld.bfd's .dynrelro); the others to .bss
    bss = Synthetic(".dynbss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 1)
    relro = Synthetic(".data.rel.ro", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 1)
    off = {id(bss): 0, id(relro): 0}
    placed = {}
    # the COPY relocation goes against the strong name of each object
    syms.sort(key=lambda s: (s.weak, s.gid))
    for s in syms:
        sf = s.file
        v = int(sf.symbols["st_value"][s.index])
        k = (id(sf), v)
        if k not in placed:
            shndx = int(sf.symbols["st_shndx"][s.index])
            in_sec = 0 < shndx < len(sf.shdrs)
            ro = in_sec and (not int(sf.shdrs[shndx]["sh_flags"]) & SHF_WRITE
                             or sf.in_relro(shndx))
            chunk = relro if ro else bss
            # BFD's _bfd_elf_adjust_dynamic_copy: the alignment of the library's
            # section, lowered until it divides the object's offset in it
            if in_sec:
                align = max(int(sf.shdrs[shndx]["sh_addralign"]), 1)
                rel = v - int(sf.shdrs[shndx]["sh_addr"])
                while rel & (align - 1):
                    align >>= 1
            else:
                align = min(v & -v if v else 16, 32)
            o = (off[id(chunk)] + align - 1) & ~(align - 1)
            placed[k] = (ro, o)
            off[id(chunk)] = o + max(s.size, 1)
            chunk.align = max(chunk.align, align)
        s.copy_ro, s.value = placed[k]
    bss.size, relro.size = off[id(bss)], off[id(relro)]
    ctx.dynbss, ctx.dynrelro = bss, relro
    if bss.size:
        ctx.outputs.get(".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE).add(bss)
    if relro.size:
        relro.data = np.zeros(relro.size, np.uint8)
        ctx.outputs.get(".data.rel.ro", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE).add(relro)
    return syms


def _version_nodes(ctx):
    """(name, index, parents) of the versions this output defines: the version
    script's nodes, then versions named only by .symver."""
    nodes = [(n.name, n.index, n.parents) for n in ctx.version_nodes if n.name]
    known = {n for n, _, _ in nodes}
    for s in ctx.dynsyms.symbols[ctx.dynsyms.first_defined:]:
        v = s.def_version
        if v and v not in known:          # (foo@: the base version, no node)
            known.add(v)
            nodes.append((v, 2 + len(nodes), []))
    return nodes


def _note_as_needed_reasons(ctx, bound_syms):
    """-Map: for each --as-needed library kept, the first symbol (in the library's
    .dynsym order, as GNU ld meets them) bound to it and who used it."""
    first = {}
    for s in sorted(bound_syms, key=lambda s: s.index):
        if (s.strong_ref or s.copy) and s.file is not None and getattr(s.file, "as_needed", False):
            first.setdefault(id(s.file), s)
    for sf in ctx.needed:
        s = first.get(id(sf))
        if s is not None:
            name = s.name.decode("utf-8", "replace")
            if s.version:
                name += ("@" if s.version_hidden else "@@") + s.version
            ctx.as_needed_reasons.append((sf.soname, s.ref_file.name if s.ref_file else "", name))


def create_dynamic_sections(ctx):
    from ldpy.symbols import SHARED, UNDEF, DEFINED, COMMON, SYNTHETIC
    from ldpy.linker_symbols import BOUNDARY_NAMES
    from ldpy.elf.format import dtypes
    from ldpy.exports import linker_symbol_local
    cfg, outs, t = ctx.config, ctx.outputs, ctx.target
    dt = dtypes(t.IS64, t.LITTLE)
    syms = ctx.symtab.symbols
    copies = allocate_copies(ctx)        # (may add the aliases of copied objects)
    G = len(syms)
    # imports: shared definitions that relocations (or the PLT/GOT) actually use
    used = set()
    rt = ctx.relocs
    if not rt.empty:
        k = rt.key[~rt.plan.skip]
        mentioned = np.zeros(G, bool)         # (a mark per symbol: no sort of every key)
        mentioned[k[(k >= 0) & (k < G)]] = True
        used.update(np.flatnonzero(mentioned).tolist())
    used.update(ctx.plt.call_keys().tolist())
    used.update(int(x) for x in ctx.got.keys.tolist() if x < G)
    # weak undefined symbols stay visible to the loader, like GNU ld does (those
    # reached through the GOT or the PLT; with -z dynamic-undefined-weak, all)
    via_got = set(int(x) for x in ctx.got.keys.tolist() if x < G) | set(ctx.plt.call_keys().tolist())
    # (a static PIE has no loader to bind them: there they stay 0)
    can_import = bool(ctx.shared_files) or cfg.shared
    imports = [syms[g] for g in sorted(used) if (syms[g].kind == SHARED and not syms[g].copy)
               or (syms[g].kind == UNDEF and can_import and (g in via_got or cfg.shared or cfg.dynamic_undefined_weak
                                                               or ctx.keys.imported[g])
                   and syms[g].visibility == STV_DEFAULT and not ctx.keys.zero_undef[g])]
    ctx.weak_imports = can_import
    export_all = cfg.export_dynamic or cfg.shared
    exports = []
    # a target whose ld.bfd exports every symbol that has a GOT slot (RISC-V)
    got_keys = set(int(x) for x in np.concatenate([ctx.got.keys, ctx.got_gd.keys]).tolist() if x < G) \
        if t.GOT_EXPORTS else set()
    got_keys |= set(t.dynamic_exports(ctx))
    defsyms = {id(d) for d, _, _ in ctx.defsyms}      # (--defsym name=func: placed after layout)
    for s in syms:
        if s.kind == SHARED:
            if s.copy and not s.copy_alias:
                exports.append(s)
            continue
        if s.kind not in (DEFINED, COMMON, SYNTHETIC) or s.visibility not in (0, 3) or s.combined:
            continue
        if s.kind == SYNTHETIC and ((s.output is None and not s.absolute and s.name not in BOUNDARY_NAMES
                                     and s.name not in ctx.script_symbols and id(s) not in defsyms)
                                    or linker_symbol_local(ctx, s)):
            continue            # (boundaries get their section after layout)
        if export_all or s.dyn_ref or s.export or (s.gid in got_keys and s.forced_local is None
                                                   and not s.is_ifunc):
            exports.append(s)
    # as-needed libraries are kept only when something binds to them
    # (a weak reference alone does not make a library needed)
    bound = {id(s.file) for s in imports + copies if s.strong_ref or s.copy}
    # (a library that only code --gc-sections removed used is dropped, as lld, mold and
    # gold do; ld.bfd 2.40 decides --as-needed before removing sections and keeps it)
    ctx.needed = [sf for sf in ctx.shared_files if not sf.as_needed or id(sf) in bound]
    if t.DSO_REFS_DYNAMIC and can_import:
        # an undefined symbol a kept library refers to stays dynamic (RISC-V ld.bfd)
        refs = set().union(*(sf.undefined_bytes for sf in ctx.needed))
        have = {s.gid for s in imports}
        more = [syms[g] for g in sorted(used) if g not in have and syms[g].kind == UNDEF and
                syms[g].name in refs and syms[g].visibility == STV_DEFAULT and not ctx.keys.zero_undef[g]]
        if more:
            imports = sorted(imports + more, key=lambda s: s.gid)
    if t.WEAK_ALIASES_DYNAMIC:
        imports = sorted(imports + weak_aliases(ctx, imports), key=lambda s: s.gid)
    _note_as_needed_reasons(ctx, imports + copies)
    needed_ids = {id(sf) for sf in ctx.needed}
    for s in imports:
        if s.kind == SHARED and id(s.file) not in needed_ids:
            # bound to a library that is not kept: it stays an unversioned undefined symbol
            s.kind, s.file, s.version, s.type = UNDEF, None, None, 0
    hash_style = getattr(cfg, "hash_style", "sysv") or "sysv"
    # an imported function addressed by its canonical PLT entry has a value the
    # libraries must find (&func there is the executable's entry): .gnu.hash holds
    # it, as ld.bfd's (elf_x86_hash_symbol: pointer equality needed)
    canonical = [s for s in imports if s.kind == SHARED and s.canonical_plt]
    if canonical:
        imports = [s for s in imports if not (s.kind == SHARED and s.canonical_plt)]
        exports = exports + canonical
    locals_ = section_dynsyms(ctx) if t.DYNSYM_SECTION_SYMBOLS and (cfg.pie or cfg.shared) else ()
    dyn = ctx.dynsyms = DynSymbols(ctx, imports, exports, hash_style in ("gnu", "both"), locals_)
    index = np.zeros(len(ctx.symtab.symbols), np.int64)      # (weak_aliases may have added some)
    for gid, i in dyn.index.items():
        index[gid] = i
    ctx.dynsym_by_gid = index

    interp_path = getattr(cfg, "dynamic_linker", None) or t.DYNAMIC_LINKER
    if not cfg.shared and not getattr(cfg, "no_dynamic_linker", False):
        ctx.interp = Interp(interp_path)
        outs.get(".interp", SHT_PROGBITS, SHF_ALLOC).add(ctx.interp)
    ctx.dynsym_sec = DynsymSection(dt, dyn)
    outs.get(".dynsym", SHT_DYNSYM, SHF_ALLOC).add(ctx.dynsym_sec)
    if hash_style in ("sysv", "both"):
        ctx.hash_sec = HashSection(dyn, t.WORD)
        outs.get(".hash", SHT_HASH, SHF_ALLOC).add(ctx.hash_sec)
    if hash_style in ("gnu", "both"):
        ctx.gnu_hash_sec = GnuHashSection(dyn, t.WORD)
        outs.get(".gnu.hash", SHT_GNU_HASH, SHF_ALLOC).add(ctx.gnu_hash_sec)
    ctx.versym_sec = VersymSection(dyn)
    nodes = _version_nodes(ctx)
    ctx.verdef_sec = None
    if nodes:
        import os
        base = cfg.soname or os.path.basename(cfg.output)
        ctx.verdef_sec = VerdefSection(dyn, ctx.versym_sec, base, nodes, word=t.WORD)
    ctx.verneed_sec = VerneedSection(dyn, ctx.versym_sec, ctx.needed, 2 + len(nodes), word=t.WORD)
    # -z pack-relative-relocs: RELATIVE relocations go to .relr.dyn (the GOT's
    # and the link's: known here, their addresses once laid out)
    K = ctx.keys
    gk = ctx.got.keys
    pic = cfg.pie or cfg.shared
    got_sym = (gk < G) & (K.imported[gk] | _copied(ctx, gk) | K.canonical[gk] |
                          (K.undef_weak[gk] & ~K.zero_undef[gk] & can_import))
    # PIE or shared object: TP offset of its own variable (an executable that is not PIE
    # knows it: apply fills it)
    got_tls = ~got_sym & K.tls[gk] & bool(pic)
    got_rel = ~got_sym & ~got_tls & pic & K.defined[gk] & ~K.absolute[gk] & ~K.undef_weak[gk] & \
        ~K.ifunc[gk]
    n_relative = int(got_rel.sum()) + (0 if rt.empty else int(rt.plan.relative.sum()))
    ctx.n_relative = n_relative
    ctx.relr = None
    if cfg.pack_relative_relocs and n_relative:
        ctx.relr = RelrSection(t.WORD, t.LITTLE)
        ctx.verneed_sec.add_glibc_version("GLIBC_ABI_DT_RELR")
    if ctx.verneed_sec.count or ctx.verdef_sec is not None:
        outs.get(".gnu.version", SHT_GNU_versym, SHF_ALLOC).add(ctx.versym_sec)
    if ctx.verdef_sec is not None:
        outs.get(".gnu.version_d", 0x6ffffffd, SHF_ALLOC).add(ctx.verdef_sec)
    if ctx.verneed_sec.count:
        outs.get(".gnu.version_r", SHT_GNU_verneed, SHF_ALLOC).add(ctx.verneed_sec)
    needed_off = [dyn.dynstr.add(sf.soname.encode()) for sf in ctx.needed]
    rpath = ":".join(getattr(cfg, "rpath", []) or [])
    rpath_off = dyn.dynstr.add(rpath.encode()) if rpath else None
    # filters (-F, -f) and audit libraries (--audit, --depaudit), after the run path as in GNU ld;
    # the audit libraries of input libraries (their DT_AUDIT) join DT_DEPAUDIT, as in ld.bfd
    depaudit = list(cfg.depaudit) + [sf.audit for sf in ctx.shared_files if sf.audit]
    named_tags = [(DT_FILTER, f) for f in cfg.filter] + \
        [(DT_AUXILIARY, aux) for aux in cfg.auxiliary] + \
        ([(DT_AUDIT, ":".join(cfg.audit))] if cfg.audit else []) + \
        ([(DT_DEPAUDIT, ":".join(depaudit))] if depaudit else [])
    named_tags = [(tag, dyn.dynstr.add(text.encode())) for tag, text in named_tags]
    if cfg.shared and cfg.soname:
        dyn.dynstr.add(cfg.soname.encode())
    ctx.dynstr_sec = DynstrSection(dyn.dynstr).freeze()
    outs.get(".dynstr", SHT_STRTAB, SHF_ALLOC).add(ctx.dynstr_sec)

    # dynamic relocations of GOT slots and copies
    got_irel = ~got_sym & pic & K.ifunc[gk]
    ctx.got_dyn = (got_sym, got_rel, got_irel, got_tls)
    n_objects = len({(s.copy_ro, s.value) for s in copies})
    gd = ctx.got_gd.keys
    n_tls = 2 * int(K.imported[gd].sum()) + int((~K.imported[gd]).sum()) * bool(pic) + \
        int(ctx.need_got_ld)
    ctx.rela_dyn.reserve(int(got_sym.sum() + got_rel.sum() + got_irel.sum() + got_tls.sum())
                         + n_objects + n_tls)
    ctx.copies = copies
    if cfg.pack_dyn_android and ctx.rela_dyn.count:
        from ldpy.synthetic import android_relocs
        ctx.rela_dyn.packed = True          # sized once laid out (android_relocs.settle)
        ctx.rela_dyn.type = android_relocs.SHT_ANDROID_RELA if t.RELA else android_relocs.SHT_ANDROID_REL
        ctx.rela_dyn.entsize, ctx.rela_dyn.size = 1, 0
    if ctx.rela_dyn.count:
        outs.get(ctx.rela_dyn.name, ctx.rela_dyn.type, SHF_ALLOC).add(ctx.rela_dyn)
    if ctx.relr is not None:
        # laid out first as if every RELATIVE one were packed, one word each;
        # pack_relative_relocs() settles the sizes once addresses are known
        ctx.relr.moved = n_relative
        ctx.relr.size = t.WORD * n_relative
        ctx.rela_dyn.reserve(-n_relative)
        outs.get(".relr.dyn", SHT_RELR, SHF_ALLOC).add(ctx.relr)

    # .dynamic
    d = ctx.dynamic = DynamicSection(dt)
    for off in needed_off:
        d.add("NEEDED", off)
    if cfg.shared and cfg.soname:
        d.add("SONAME", dyn.dynstr.add(cfg.soname.encode()))
    if rpath_off is not None:
        d.add("RUNPATH" if cfg.new_dtags else "RPATH", rpath_off)
    for tag, off in named_tags:
        d.add(tag, off)
    init = ctx.symtab.get((getattr(cfg, "init", None) or "_init").encode())
    fini = ctx.symtab.get((getattr(cfg, "fini", None) or "_fini").encode())
    if init is not None and init.kind == DEFINED:
        d.add("INIT", lambda: int(ctx.gaddr[init.gid]))
    if fini is not None and fini.kind == DEFINED:
        d.add("FINI", lambda: int(ctx.gaddr[fini.gid]))
    for name, tag in ((".preinit_array", "PREINIT_ARRAY"), (".init_array", "INIT_ARRAY"),
                      (".fini_array", "FINI_ARRAY")):
        o = outs.by_name.get(name)
        if o is not None and o.chunks and any(c.size for c in o.chunks):
            d.add(tag, lambda o=o: o.addr)
            d.add(tag + "SZ", lambda o=o: o.size)
    if ctx.hash_sec is not None:
        d.add("HASH", lambda: ctx.hash_sec.addr)
    if ctx.gnu_hash_sec is not None:
        d.add("GNU_HASH", lambda: ctx.gnu_hash_sec.addr)
    d.add("STRTAB", lambda: ctx.dynstr_sec.addr)
    d.add("SYMTAB", lambda: ctx.dynsym_sec.addr)
    d.add("STRSZ", lambda: ctx.dynstr_sec.size)
    d.add("SYMENT", dt.sym.itemsize)
    if not cfg.shared and not cfg.rodynamic:
        d.add("DEBUG", 0)
    ctx.dynamic_entries_plt = d
    if cfg.rodynamic:         # -z rodynamic: read-only (the loader then leaves it alone)
        d.flags = SHF_ALLOC
    ctx.outputs.get(".dynamic", SHT_DYNAMIC, d.flags).add(d)


def add_dynamic_tail(ctx):
    """The .dynamic entries that depend on the PLT and relocation sections."""
    cfg, d = ctx.config, ctx.dynamic
    if ctx.gotplt is not None and not (ctx.target.PLTGOT_NEEDS_PLT and not (ctx.plt is not None and ctx.plt.size)):
        d.add("PLTGOT", lambda: ctx.gotplt.addr)
    if ctx.rela_plt is not None and ctx.rela_plt.size:
        d.add("PLTRELSZ", lambda: ctx.rela_plt.size)
        d.add("PLTREL", DT["RELA"] if ctx.target.RELA else DT_REL)
        d.add("JMPREL", lambda: ctx.rela_plt.addr)
    if ctx.tlsdesc_got is not None:
        d.add("TLSDESC_PLT", lambda: ctx.plt.tlsdesc_entry_addr())
        d.add("TLSDESC_GOT", lambda: ctx.tlsdesc_got.addr)
    rela = ctx.target.RELA
    if ctx.rela_dyn.packed:
        from ldpy.synthetic import android_relocs as a
        d.add(a.DT_ANDROID_RELA if rela else a.DT_ANDROID_REL, lambda: ctx.rela_dyn.addr)
        d.add(a.DT_ANDROID_RELASZ if rela else a.DT_ANDROID_RELSZ, lambda: ctx.rela_dyn.size)
    elif not ctx.target.DTREL_EXCLUDES_PLT and ctx.rela_plt is not None and ctx.rela_plt.size:
        # (BFD's default: DT_RELA/DT_RELASZ span .rela.dyn and .rela.plt)
        secs = [c for c in (ctx.rela_dyn, ctx.rela_plt) if c.size and c.output is not None]
        d.add("RELA" if rela else DT_REL, lambda: min(c.addr for c in secs))
        d.add("RELASZ" if rela else DT_RELSZ, lambda: sum(c.size for c in secs))
        d.add("RELAENT" if rela else DT_RELENT, ctx.target.dynrel_size)
    elif ctx.rela_dyn.count:
        d.add("RELA" if rela else DT_REL, lambda: ctx.rela_dyn.addr)
        d.add("RELASZ" if rela else DT_RELSZ, lambda: ctx.rela_dyn.size)
        d.add("RELAENT" if rela else DT_RELENT, ctx.target.dynrel_size)
    if ctx.textrel:
        d.add("TEXTREL", 0)
    for tag, value in ctx.target.dynamic_tags(ctx):     # (AArch64: DT_AARCH64_BTI_PLT, ...)
        d.add(tag, value)
    if cfg.z_unique:
        d.add(DT_GNU_FLAGS_1, DF_GNU_1_UNIQUE)
    flags = (DF_BIND_NOW if getattr(cfg, "now", False) else 0) | (DF_TEXTREL if ctx.textrel else 0) | \
        (DF_STATIC_TLS if ctx.static_tls else 0) | (DF_SYMBOLIC if cfg.symbolic == "all" else 0) | \
        (DF_ORIGIN if cfg.z_origin else 0)
    if flags:
        d.add("FLAGS", flags)
    flags1 = (DF_1_PIE if cfg.pie else 0)
    for option, bit in _FLAGS_1_OPTIONS:
        if getattr(cfg, option):
            flags1 |= bit
    if not cfg.shared:          # (GNU ld marks only shared objects so)
        flags1 &= ~(DF_1_NODELETE | DF_1_INITFIRST | DF_1_NOOPEN)
    if flags1:
        d.add("FLAGS_1", flags1)
    if ctx.verdef_sec is not None:
        d.add("VERDEF", lambda: ctx.verdef_sec.addr)
        d.add("VERDEFNUM", ctx.verdef_sec.count)
    if ctx.verneed_sec.count:
        d.add("VERNEED", lambda: ctx.verneed_sec.addr)
        d.add("VERNEEDNUM", ctx.verneed_sec.count)
    if ctx.verneed_sec.count or ctx.verdef_sec is not None:
        d.add("VERSYM", lambda: ctx.versym_sec.addr)
    if ctx.rela_dyn.count and ctx.relr is None and not ctx.rela_dyn.packed and \
            (ctx.target.RELACOUNT_WHEN_NONE or ctx.n_relative):
        # (with RELR: none left, as ld.bfd; AArch64's leaves it out when there are none)
        d.add("RELACOUNT" if rela else DT_RELCOUNT, lambda: ctx.rela_dyn.relative_count)
    if ctx.relr is not None:
        android = cfg.use_android_relr_tags
        d.add(DT_ANDROID_RELR if android else DT_RELR, lambda: ctx.relr.addr)
        d.add(DT_ANDROID_RELRSZ if android else DT_RELRSZ, lambda: ctx.relr.size)
        d.add(DT_ANDROID_RELRENT if android else DT_RELRENT, ctx.target.WORD)
    d.freeze()


def tlsdesc_rows(ctx):
    """r_info and r_addend of the TLSDESC dynamic relocation of each descriptor: against the
    symbol when it is bound at run time, else against no symbol with the offset
    in this object's TLS block as addend."""
    keys = ctx.tlsdesc.keys
    K = ctx.keys
    pre = K.imported[keys]
    idx = np.where(pre, ctx.dynsym_index(np.where(pre, keys, 0)), 0)
    info = reloc_info(idx, ctx.target.TLSDESC)
    addend = np.where(pre, 0, K.addr[keys] - ctx.tls_start)
    return info.astype(np.uint64), addend


def gd_words(ctx):
    """The (module, offset) pairs of the general-dynamic GOT: the variables of an
    executable that is not PIE are in module 1 (no DTPMOD for them); offsets of
    variables of this output are known (biased by the target's DTP_OFFSET)."""
    K, t = ctx.keys, ctx.target
    gd = ctx.got_gd.keys
    pre = K.imported[gd]
    words = np.zeros((len(gd), 2), np.int64)
    words[~pre, 1] = K.addr[gd[~pre]] - ctx.tls_start - t.DTP_OFFSET
    if not (ctx.config.shared or ctx.config.pie):
        words[~pre, 0] = 1
    return t.words(words.reshape(-1))


def _copied(ctx, keys):
    syms = ctx.symtab.symbols
    return np.fromiter((k < len(syms) and syms[k].copy for k in keys.tolist()), bool, len(keys))


def finish_dynamic(ctx):
    """Fill the dynamic sections once addresses and relocation results are final."""
    t = ctx.target
    R = t.DYNAMIC_RELOCS
    K = ctx.keys
    got = ctx.got
    got_sym, got_rel, got_irel, got_tls = ctx.got_dyn
    gk = got.keys
    if len(gk):
        slots = got.slot_addresses(gk)
        tls = K.tls[gk]
        idx = ctx.dynsym_index(gk[got_sym])
        typ = np.where(tls[got_sym], R["TPOFF64"], R["GLOB_DAT"])
        ctx.rela_dyn.add(slots[got_sym], reloc_info(idx, typ), np.zeros(int(got_sym.sum()), np.int64))
        vals = got.values[got.index_of(gk)]
        if ctx.relr is not None:
            got_rel = got_rel & ~ctx.relr.got_mask      # (packed into .relr.dyn)
        ctx.rela_dyn.add(slots[got_rel], np.full(int(got_rel.sum()), R["RELATIVE"], np.int64), vals[got_rel])
        if got_irel.any():
            res = K.addr[gk[got_irel]]              # (the resolver)
            ctx.rela_dyn.add(slots[got_irel], np.full(int(got_irel.sum()), R["IRELATIVE"], np.int64), res)
        if got_tls.any():
            off = K.addr[gk[got_tls]] - ctx.tls_start
            ctx.rela_dyn.add(slots[got_tls], np.full(int(got_tls.sum()), R["TPOFF64"], np.int64), off)
    gd = ctx.got_gd.keys
    if len(gd):
        # general dynamic: (module, offset) pairs; our own variables know their offset now
        slots = ctx.got_gd.slot_addresses(gd)
        pre = K.imported[gd]
        idx = np.where(pre, ctx.dynsym_index(np.where(pre, gd, 0)), 0)
        zeros = np.zeros(len(gd), np.int64)
        # (the variables of an executable that is not PIE are in module 1: no DTPMOD for them)
        mod = pre | bool(ctx.config.shared or ctx.config.pie)
        ctx.rela_dyn.add(slots[mod], reloc_info(idx[mod], R["DTPMOD64"]), zeros[mod])
        ctx.rela_dyn.add(slots[pre] + t.WORD, reloc_info(idx[pre], R["DTPOFF64"]), zeros[pre])
        ctx.got_gd.data = gd_words(ctx)
    if ctx.need_got_ld:
        ctx.rela_dyn.add(np.array([ctx.got_ld.addr]), np.array([R["DTPMOD64"]]), np.zeros(1, np.int64))
        ctx.got_ld.data = np.zeros(2 * t.WORD, np.uint8)
    if ctx.copies:
        first = {}
        for s in ctx.copies:
            first.setdefault(int(ctx.gaddr[s.gid]), s)      # strong names sort first
        addrs = np.array(list(first), np.int64)
        idx = ctx.dynsym_index(np.array([s.gid for s in first.values()], np.int64))
        ctx.rela_dyn.add(addrs, reloc_info(idx, R["COPY"]), np.zeros(len(addrs), np.int64))
    ctx.rela_dyn.build(R["RELATIVE"])
    if ctx.rela_dyn.packed:
        from ldpy.synthetic.android_relocs import fill
        fill(ctx.rela_dyn, R["RELATIVE"])
    if ctx.relr is not None:
        ctx.relr.build()
    ctx.dynsym_sec.build(ctx)
    if ctx.hash_sec is not None:
        ctx.hash_sec.build()
    if ctx.gnu_hash_sec is not None:
        ctx.gnu_hash_sec.build()
    ctx.versym_sec.build()
    ctx.verneed_sec.build()
    if ctx.verdef_sec is not None:
        ctx.verdef_sec.build()
    ctx.dynamic.build()


def relative_places(ctx):
    """Addresses of the RELATIVE relocations (the link's, then the GOT's) and
    which of them RELR can hold (8-aligned)."""
    rt = ctx.relocs
    parts = []
    if not rt.empty:
        rt.place()
        parts.append(rt.P[rt.plan.relative])
    got_sym, got_rel, got_irel, got_tls = ctx.got_dyn
    parts.append(ctx.got.slot_addresses(ctx.got.keys[got_rel]) if len(ctx.got.keys) else np.zeros(0, np.int64))
    return parts


def pack_relative_relocs(ctx, relayout):
    """Size .relr.dyn and .rela.dyn for the laid-out addresses; lay out again
    while they change (growing .relr.dyn only, after a few rounds, so that it
    ends; the unused words are no-op bitmaps)."""
    relr = ctx.relr
    for rounds in range(10):
        parts = relative_places(ctx)
        packable = [p % relr.word == 0 for p in parts]
        addrs = unique(np.concatenate([p[m] for p, m in zip(parts, packable)]))
        moved = int(sum(m.sum() for m in packable))
        entries = RelrSection.encode(addrs, relr.word)
        size = relr.word * len(entries)
        if rounds >= 4:
            size = max(size, relr.size)
        if moved == relr.moved and size == relr.size:
            break
        ctx.rela_dyn.reserve(relr.moved - moved)
        relr.moved, relr.size = moved, size
        relayout()
    relr.entries = entries
    relr.packable = packable
    # masks the relocation pass reads: which RELATIVE relocations are packed
    rt = ctx.relocs
    if not rt.empty:
        rt.plan.relr = np.zeros(len(rt.type), bool)
        rt.plan.relr[np.flatnonzero(rt.plan.relative)[packable[0]]] = True
    got_rel = ctx.got_dyn[1]
    relr.got_mask = np.zeros(len(got_rel), bool)
    relr.got_mask[np.flatnonzero(got_rel)[packable[-1]]] = True
