"""Shared libraries as link inputs: the dynamic symbol table with versions
(.dynsym, .gnu.version, .gnu.version_d), DT_SONAME and DT_NEEDED."""
import copy
import os

import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import (ET_DYN, PT_GNU_RELRO, SHT_DYNSYM, SHT_DYNAMIC, SHT_GNU_versym, SHT_GNU_verdef, SHT_GNU_verneed,
                             SHT_NOBITS, SHT_STRTAB, SHN_UNDEF, STB_LOCAL, dtypes)
from ldpy.input.object import check_elf_header, section_label

# the modules a parse depends on (a change to one makes the cached parses stale), and
# what a cached parse leaves out (the file's bytes, the link's flags, the dtypes: one
# object per byte order and class)
_CACHE_MODULES = ("input/shared.py", "input/object.py", "elf/format.py")
_PER_LINK = ("data", "as_needed", "is_needed", "dt")

DT_NULL, DT_NEEDED, DT_SONAME = 0, 1, 14
VERSYM_HIDDEN = 0x8000
VER_NDX_LOCAL, VER_NDX_GLOBAL = 0, 1


class SharedFile:
    """A shared object given on the command line (or found by -l)."""

    def __init__(self, name, data, as_needed=False):
        self.name = name
        self.data = data
        self.as_needed = as_needed
        self.is_needed = not as_needed     # as-needed libraries become needed when referenced
        self.is64, self.little = check_elf_header(data, name)
        self.dt = dtypes(self.is64, self.little)
        self._name_tables = None
        self._parse()

    @classmethod
    def read(cls, path, data, as_needed=False):
        """SharedFile(path, data, as_needed), parsed once for every link of the same
        file: the parse, with its name tables, is kept on disk (diskcache.py) under
        the path and the file's identity, size and times as it was read.  (libc.so.6,
        libstdc++.so.6: 2-6 ms of a fresh link's start, ~1.3 ms to load instead.)"""
        import _pickle as pickle
        from ldpy import diskcache
        from ldpy.outfile import input_key
        key = input_key(data)
        entry = None if key is None else \
            diskcache.key_of("shlib", (path, repr(key), np.__version__), _CACHE_MODULES)
        blob = diskcache.load(entry)
        if blob is not None:
            try:
                sf = cls.__new__(cls)
                sf.__dict__.update(pickle.loads(blob))
                sf.data, sf.as_needed, sf.is_needed = data, as_needed, not as_needed
                sf.dt = dtypes(sf.is64, sf.little)
                return sf
            except Exception:
                pass                    # (a damaged file: parse it)
        sf = cls(path, data, as_needed)
        if entry is not None:
            sf.name_tables()
            from ldpy.input.warm import stat_key
            try:
                same = stat_key(os.stat(path)) == key
            except OSError:
                same = False
            if same:                    # (not while the file changes)
                state = {k: v for k, v in sf.__dict__.items() if k not in _PER_LINK}
                diskcache.store(entry, pickle.dumps(state, protocol=5), "shlib", keep=64)
        return sf

    def name_tables(self):
        """(b"name@VER" -> dynsym index, default-version name -> dynsym index), the
        first of each; made once (a link server's copy serves all its links)."""
        t = self._name_tables
        if t is None:
            names, versions, default = self.names, self.versions, self.default_version
            # (walked from the end: the first index of a name is the one that stays)
            at = {v: b"@" + v.encode() for v in set(versions) if v is not None}
            back = range(len(names) - 1, -1, -1)
            vnames = {name + at[v]: i for i, name, v in zip(back, reversed(names), reversed(versions))
                      if v is not None}
            defaults = {name: i for i, name, d in zip(back, reversed(names), reversed(default)) if d}
            t = self._name_tables = (vnames, defaults)
        return t

    def fresh_copy(self, as_needed):
        """This library for another link (input/warm.py): what was parsed shared,
        the per-link flags new."""
        sf = copy.copy(self)
        sf.as_needed = as_needed
        sf.is_needed = not as_needed
        return sf

    def _table(self, dtype, offset, count, what):
        end = offset + count * dtype.itemsize
        if offset < 0 or end > len(self.data):
            raise LinkError(f"{self.name}: {what} extends past the end of the file (offset {offset:#x}, "
                            f"size {end - offset:#x}, file size {len(self.data):#x})")
        return np.frombuffer(self.data, dtype, count, offset)

    def section_data(self, i):
        h = self.shdrs[i]
        if int(h["sh_type"]) == SHT_NOBITS:
            return b""
        off, size = int(h["sh_offset"]), int(h["sh_size"])
        if off + size > len(self.data):
            raise LinkError(f"{self.name}: section [{i}] extends past the end of the file "
                            f"(offset {off:#x}, size {size:#x}, file size {len(self.data):#x})")
        return bytes(self.data[off:off + size])

    def _label(self, i):
        """'[i] NAME' of section i for messages, '[i]' when the name is unreadable."""
        try:
            s = self.shdrs[self.shstrndx]
            return section_label(self.data, i, int(self.shdrs[i]["sh_name"]), int(s["sh_type"]),
                                 int(s["sh_offset"]), int(s["sh_size"]))
        except IndexError:
            return f"[{i}]"

    def _strtab(self, i, what):
        """The string table that section i (`what`, e.g. '.dynsym') links to."""
        link = int(self.shdrs[i]["sh_link"])
        if not 0 < link < len(self.shdrs):
            raise LinkError(f"{self.name}: {what} has bad string table link {link} "
                            f"(the file has {len(self.shdrs)} sections)")
        if int(self.shdrs[link]["sh_type"]) != SHT_STRTAB:
            raise LinkError(f"{self.name}: {what} has string table link {link}, which is not "
                            f"a string table (type {int(self.shdrs[link]['sh_type']):#x})")
        data = self.section_data(link)
        if data and data[-1] != 0:
            raise LinkError(f"{self.name}: string table [{link}] of {what} does not end with a NUL byte")
        return data

    def _parse(self):
        dt = self.dt
        if len(self.data) < dt.ehdr.itemsize:
            raise LinkError(f"{self.name}: truncated ELF header")
        eh = np.frombuffer(self.data, dt.ehdr, 1, 0)[0]
        if int(eh["e_type"]) != ET_DYN:
            raise LinkError(f"{self.name}: not a shared object")
        self.machine = int(eh["e_machine"])
        shoff, shnum = int(eh["e_shoff"]), int(eh["e_shnum"])
        self.shstrndx = int(eh["e_shstrndx"])
        if shoff == 0 or shnum == 0:
            raise LinkError(f"{self.name}: shared object has no section headers")
        if int(eh["e_shentsize"]) != dt.shdr.itemsize:
            raise LinkError(f"{self.name}: bad section header size {int(eh['e_shentsize'])}")
        self.shdrs = sh = self._table(dt.shdr, shoff, shnum, f"section header table ({shnum} entries)")
        size = np.uint64(len(self.data))
        off = sh["sh_offset"].astype(np.uint64)
        bad = (sh["sh_type"] != SHT_NOBITS) & (sh["sh_type"] != 0) & \
            ((off > size) | (sh["sh_size"].astype(np.uint64) > size - np.minimum(off, size)))
        if bad.any():
            i = int(np.argmax(bad))
            raise LinkError(f"{self.name}: section {self._label(i)} extends past the end of the file (offset "
                            f"{int(off[i]):#x}, size {int(sh['sh_size'][i]):#x}, file size {len(self.data):#x})")
        types = sh["sh_type"].tolist()
        dynsym = next((i for i, t in enumerate(types) if t == SHT_DYNSYM), None)
        if dynsym is None or SHT_DYNAMIC not in types:
            raise LinkError(f"{self.name}: shared object without a "
                            f"{'dynamic symbol table (.dynsym)' if dynsym is None else 'dynamic section'}")
        self.soname = os.path.basename(self.name)   # until DT_SONAME or the loader says
        self.has_soname = False
        self.needed = []
        self.audit = ""             # DT_AUDIT: ld.bfd passes it on as the output's DT_DEPAUDIT
        self.symbols = np.zeros(0, dt.sym)
        self.names = []
        self.versions = []          # per dynsym: version name or None
        self.default_version = []   # per dynsym: True unless the version is hidden (foo@VER)
        self.verdef_names = {}
        self.version_index = []
        self.undefined_names = []   # what the library itself needs (its undefined dynamic symbols)
        self.undefined_strong = []
        self.undefined_strong_versions = []
        self.undefined_bytes = self.undefined_strong_bytes = []     # (the same, as bytes)
        dyn = next((i for i, t in enumerate(types) if t == SHT_DYNAMIC), None)
        if dyn is not None:
            dynstr = self._strtab(dyn, ".dynamic")
            entries = self._table(dt.dyn, int(sh[dyn]["sh_offset"]),
                                  int(sh[dyn]["sh_size"]) // dt.dyn.itemsize, ".dynamic")
            for tag, val in zip(entries["d_tag"].tolist(), entries["d_val"].tolist()):
                if tag == DT_NULL:
                    break
                if tag == 0x6ffffefc:       # DT_AUDIT
                    self.audit = _cstr(dynstr, val, self.name, "DT_AUDIT")
                if tag in (DT_SONAME, DT_NEEDED):
                    s = _cstr(dynstr, val, self.name, "DT_SONAME" if tag == DT_SONAME else "DT_NEEDED")
                    if tag == DT_SONAME:
                        self.soname = s
                        self.has_soname = True
                    else:
                        self.needed.append(s)
        if dynsym is None:
            return
        h = sh[dynsym]
        count = int(h["sh_size"]) // dt.sym.itemsize
        if int(h["sh_entsize"]) != dt.sym.itemsize:
            raise LinkError(f"{self.name}: .dynsym has bad entry size {int(h['sh_entsize'])} "
                            f"(expected {dt.sym.itemsize})")
        syms = self._table(dt.sym, int(h["sh_offset"]), count, ".dynsym")
        strtab = self._strtab(dynsym, ".dynsym")
        name_off = syms["st_name"]
        if count and int(name_off.max()) >= max(len(strtab), 1):
            bad = int(np.flatnonzero(name_off >= len(strtab))[0])
            raise LinkError(f"{self.name}: dynamic symbol {bad} has name offset {int(name_off[bad]):#x}, "
                            f"past the end of its string table ({len(strtab):#x} bytes)")
        verdef = next((i for i, t in enumerate(types) if t == SHT_GNU_verdef), None)
        if verdef is not None:
            self._read_verdef(verdef)
        versym_i = next((i for i, t in enumerate(types) if t == SHT_GNU_versym), None)
        versym = self._table(np.dtype(dt.half), int(sh[versym_i]["sh_offset"]), count, ".gnu.version") \
            if versym_i is not None else np.full(count, VER_NDX_GLOBAL, np.uint16)
        # keep the defined, non-local symbols: they are what this library offers
        binding = syms["st_info"] >> 4
        shndx = syms["st_shndx"]
        keep = np.flatnonzero((shndx != SHN_UNDEF) & (binding != STB_LOCAL))
        und = (shndx == SHN_UNDEF) & (binding != STB_LOCAL)
        und[:1] = False
        # names cut at once: each name ends at the first NUL at or after its offset
        nuls = np.flatnonzero(np.frombuffer(strtab, np.uint8) == 0) if strtab else np.zeros(1, np.int64)

        ascii_names = strtab.isascii()      # (then no name needs _utf8's look)

        def cut(offs):
            ends = nuls[np.searchsorted(nuls, offs)].tolist()
            if ascii_names:
                return list(map(strtab.__getitem__, map(slice, offs.tolist(), ends)))
            return [_utf8(strtab[a:b]) for a, b in zip(offs.tolist(), ends)]
        self.undefined_bytes = cut(name_off[und])
        self.undefined_strong_bytes = cut(name_off[und & (binding != 2)])
        self.undefined_names = [n.decode() for n in self.undefined_bytes]
        self.undefined_strong = [n.decode() for n in self.undefined_strong_bytes]
        # the version each strong undefined symbol needs (foo@VER_1 from .gnu.version_r)
        self.undefined_strong_versions = [None] * len(self.undefined_strong)
        verneed = next((i for i, t in enumerate(types) if t == SHT_GNU_verneed), None)
        if verneed is not None and versym_i is not None:
            needs = self._read_verneed(verneed)
            self.undefined_strong_versions = [needs.get(v & 0x7fff) for v in
                                              versym[und & (binding != 2)].tolist()]

        self.symbols = syms[keep]
        self.names = cut(self.symbols["st_name"])
        vs = versym[keep].tolist()
        self.version_index = [v & 0x7fff for v in vs]
        self.default_version = [not (v & VERSYM_HIDDEN) for v in vs]
        self.versions = [self.verdef_names.get(v & 0x7fff) if (v & 0x7fff) > VER_NDX_GLOBAL else None
                         for v in vs]

    def in_relro(self, shndx):
        """Whether section SHNDX lies inside the library's PT_GNU_RELRO: read-only once
        relocated, so ld.bfd copies its data to .data.rel.ro, not .bss."""
        ranges = getattr(self, "_relro", None)
        if ranges is None:
            ranges = []
            eh = np.frombuffer(self.data, self.dt.ehdr, 1, 0)[0]
            off, num = int(eh["e_phoff"]), int(eh["e_phnum"])
            if off and int(eh["e_phentsize"]) == self.dt.phdr.itemsize and \
                    off + num * self.dt.phdr.itemsize <= len(self.data):
                ph = np.frombuffer(self.data, self.dt.phdr, num, off)
                ranges = [(int(p["p_vaddr"]), int(p["p_vaddr"]) + int(p["p_memsz"]))
                          for p in ph if int(p["p_type"]) == PT_GNU_RELRO]
            self._relro = ranges
        lo = int(self.shdrs[shndx]["sh_addr"])
        hi = lo + int(self.shdrs[shndx]["sh_size"])
        return any(a <= lo and hi <= b for a, b in ranges)

    def _read_verdef(self, i):
        data = self.section_data(i)
        strtab = self._strtab(i, ".gnu.version_d")
        bo = "little" if self.little else "big"
        pos = 0
        for _ in range(int(self.shdrs[i]["sh_info"]) or 1 << 16):
            if pos + 20 > len(data):
                break
            ndx = int.from_bytes(data[pos + 4:pos + 6], bo)
            aux = int.from_bytes(data[pos + 12:pos + 16], bo)
            nxt = int.from_bytes(data[pos + 16:pos + 20], bo)
            name_off = int.from_bytes(data[pos + aux:pos + aux + 4], bo)
            self.verdef_names[ndx] = _cstr(strtab, name_off, self.name, "version definition name")
            if nxt == 0:
                break
            pos += nxt


    def _read_verneed(self, i):
        """{version index: version name} of the versions the library needs."""
        data = self.section_data(i)
        strtab = self._strtab(i, ".gnu.version_r")
        bo = "little" if self.little else "big"
        out = {}
        pos = 0
        for _ in range(int(self.shdrs[i]["sh_info"]) or 1 << 16):
            if pos + 16 > len(data):
                break
            cnt = int.from_bytes(data[pos + 2:pos + 4], bo)
            aux = pos + int.from_bytes(data[pos + 8:pos + 12], bo)
            for _ in range(cnt):
                if aux + 16 > len(data):
                    break
                other = int.from_bytes(data[aux + 6:aux + 8], bo)
                name_off = int.from_bytes(data[aux + 8:aux + 12], bo)
                out[other & 0x7fff] = _cstr(strtab, name_off, self.name, "version need name")
                nxt = int.from_bytes(data[aux + 12:aux + 16], bo)
                if nxt == 0:
                    break
                aux += nxt
            nxt = int.from_bytes(data[pos + 12:pos + 16], bo)
            if nxt == 0:
                break
            pos += nxt
        return out


def _utf8(name):
    """A name as the rest of the link sees it: invalid UTF-8 replaced (as decoding
    with errors="replace" and encoding again)."""
    return name if name.isascii() else name.decode("utf-8", "replace").encode()


def _cstr(table, off, where, what="string"):
    if off >= len(table):
        raise LinkError(f"{where}: {what} offset {off:#x} is past the end of its string table "
                        f"({len(table):#x} bytes)")
    end = table.find(b"\0", off)
    return table[off:end if end >= 0 else None].decode("utf-8", "replace")
