"""`.symtab` and `.strtab` of the output: each file's locals (after its STT_FILE
symbol), then the globals.  Names are gathered from the input string tables
with vectorized copies; nothing is built per local symbol in Python."""
import os

import numpy as np

from ldpy.elf.format import (SHT_SYMTAB, SHT_STRTAB, SHN_LORESERVE, STT_SECTION, STT_TLS, STB_LOCAL,
                             STB_GLOBAL, STB_WEAK, STV_HIDDEN, STV_INTERNAL, STT_FUNC, STT_GNU_IFUNC,
                             STB_GNU_UNIQUE)
from ldpy.symbols import UNDEF, SHARED, DEFINED, SYNTHETIC
from ldpy.synthetic import Synthetic
from ldpy.util import first_of_runs


def _read_name_list(path):
    from ldpy.diag import LinkError
    try:
        with open(path, "rb") as fh:
            from ldpy.outfile import note_read, read_bounded
            note_read(os.fstat(fh.fileno()), path)
            return {line.strip() for line in read_bounded(fh, path).splitlines() if line.strip()}
    except OSError as e:
        raise LinkError(f"cannot open --retain-symbols-file {path}: {e.strerror}")


def gather_strings(strtab, offsets):
    """Copy the NUL-terminated strings at `offsets` of `strtab` (uint8 array)
    into one new table; returns (bytes, new offsets)."""
    if len(offsets) == 0:
        return np.zeros(0, np.uint8), np.zeros(0, np.int64)
    if len(offsets) * 32 < len(strtab):
        # few names in big tables (llvm-big: 42k of 18 MB): each found by its NUL is
        # cheaper than a pass over every byte and an index per copied byte
        raw = strtab.base if isinstance(strtab.base, bytes) and len(strtab.base) == len(strtab) \
            else strtab.tobytes()
        find = raw.find
        names = [raw[o:find(b"\0", o)] for o in offsets.tolist()]
        lens = np.fromiter(map(len, names), np.int64, len(names)) + 1
        return np.frombuffer(b"\0".join(names) + b"\0", np.uint8), np.cumsum(lens) - lens
    zeros = np.flatnonzero(strtab == 0)
    ends = zeros[np.minimum(np.searchsorted(zeros, offsets), len(zeros) - 1)]
    lens = ends - offsets + 1
    new_off = np.cumsum(lens) - lens
    idx = np.repeat(offsets - new_off, lens) + np.arange(int(lens.sum()))
    return strtab[idx], new_off


def _local_other(files, lf, fsel):
    """st_other of the kept locals (file lf[k], symbol fsel[k]; each file's rows together), read
    from each file's symbol table for just those rows: a link-wide copy of every
    local record would fault in every input's whole symbol table again (llvm-big:
    1M records, 12k page faults in the .symtab worker)."""
    other = np.empty(len(lf), np.uint8)
    owners, starts = first_of_runs(lf)
    ends = np.append(starts[1:], len(lf))
    for f, a, b in zip(owners.tolist(), starts.tolist(), ends.tolist()):
        other[a:b] = files[f].symbols["st_other"][fsel[a:b]]
    return other


def _sections_of_dropped_outputs(ctx):
    """By global section id, the input sections whose output section layout will
    drop as empty (None when there are none): GNU ld leaves out the local symbols
    defined there, as it removes the section from the output."""
    from ldpy.script.layout import may_stay_empty
    dropped = [o for o in ctx.outputs.sorted()
               if o.chunks and not any(c.size for c in o.chunks) and not may_stay_empty(o)]
    if not dropped:
        return None
    mask = np.zeros(ctx.section_ids.n, bool)
    for o in dropped:
        for c in o.chunks:
            f = c.file
            if f is not None and hasattr(c, "index") and getattr(f, "sec_base", None) is not None:
                mask[f.sec_base + c.index] = True
    return mask


class SymtabSection(Synthetic):
    def __init__(self, dt, discard_locals=False, discard_all=False):
        # (aligned to the ELF class's word: 4 in ELF32, as ld.bfd writes it)
        super().__init__(".symtab", type_=SHT_SYMTAB, flags=0, align=4 if dt.sym.itemsize == 16 else 8,
                         entsize=dt.sym.itemsize)
        self.dt = dt
        self.strtab = Synthetic(".strtab", type_=SHT_STRTAB, flags=0, align=1)
        self.discard_locals = discard_locals
        self.discard_all = discard_all
        self.extra = []              # locals the link adds after layout (AArch64's stub symbols)

    def prepare(self, ctx):
        """Choose the symbols and build .strtab (sizes are known before layout)."""
        retain = _read_name_list(ctx.config.retain_symbols_file) if ctx.config.retain_symbols_file else None
        parts = [np.zeros(1, np.uint8)]
        strsize = 1
        self.local_index = None      # the kept locals' indexes in relocs.SymbolKeys' local columns
        self.local_name_off = None   # ... and their names' offsets in .strtab
        # --emit-relocs: a section symbol per output section first, as GNU ld writes them
        # (the emitted relocations of local symbols refer to them)
        self.section_symbols = []
        if ctx.config.emit_relocs:
            from ldpy.emit_relocs import section_symbol_candidates
            from ldpy.script.layout import may_stay_empty
            self.section_symbols = section_symbol_candidates(ctx, may_stay_empty)
        nlocal = 1 + len(self.section_symbols)
        in_dropped = _sections_of_dropped_outputs(ctx)
        sel = self._locals_linkwide(ctx, in_dropped) if retain is None else None
        if sel is None:
            sel = self._locals_per_file(ctx, in_dropped, retain)
        # (global local index of each kept local, its name offset in the input string
        # tables concatenated, that concatenation)
        self.local_index, name_src, strtabs = sel
        names, offs = gather_strings(strtabs, name_src)
        self.local_name_off = offs + strsize
        parts.append(names)
        strsize += len(names)
        nlocal += len(self.local_index)
        # globals: hidden/internal definitions become locals in the output
        gl_local, gl_global = [], []
        gc_unreferenced = ctx.gc_unreferenced      # only --gc-sections removed code used them
        dyn_index = ctx.dynsym_by_gid
        for s in ctx.symtab.symbols:
            if s.kind == UNDEF and not s.referenced:
                continue
            if gc_unreferenced and s.gid in gc_unreferenced:
                continue
            if s.kind == UNDEF and not s.strong_ref and (dyn_index is None or not dyn_index[s.gid]):
                continue            # weak undefined: GNU ld lists those that .dynsym has
            if s.section is not None and not s.section.live:
                continue            # defined in a section a script discarded
            if s.combined:
                continue            # foo beside foo@VER: GNU ld writes foo@VER only
            if s.kind == SYNTHETIC and ctx.version_script is not None and s.forced_local is None:
                from ldpy.exports import linker_symbol_local
                linker_symbol_local(ctx, s)     # _edata, _end, ... under `local: *`
            if s.forced_local is not None and s.kind != UNDEF:
                gl_local.append(s)  # a version script's local: (executables too)
                continue
            # hidden definitions become locals, as the gABI asks and gold, lld and mold
            # do (ld.bfd 2.40 keeps them GLOBAL HIDDEN in an executable's .symtab)
            hidden = s.visibility in (STV_HIDDEN, STV_INTERNAL)
            if s.kind != UNDEF and hidden:
                gl_local.append(s)
            else:
                gl_global.append(s)
        if retain is not None:
            gl_local = [s for s in gl_local if s.name in retain]
            gl_global = [s for s in gl_global if s.name in retain]
        if ctx.plugins is not None and ctx.plugins.symtab_removed:     # remove_symbol_table_entry
            gone = ctx.plugins.symtab_removed
            gl_local = [s for s in gl_local if s.name not in gone]
            gl_global = [s for s in gl_global if s.name not in gone]
        self.globals_local, self.globals = gl_local, gl_global
        # a symbol a shared library defines keeps its plain name (printf, not ld.bfd's
        # printf@GLIBC_2.2.5): gold, lld and mold write it so, .dynsym carries the version;
        # foo@@VER of a .symver definition keeps that name, as in GNU ld
        shown = [s.name + b"@@" + s.def_version.encode() if s.symver_default and s.def_version else s.name
                 for s in gl_local + gl_global]
        names = b"\0".join(shown) + b"\0"
        # each name starts after the NUL of the one before (names hold no NUL)
        ends = np.flatnonzero(np.frombuffer(names, np.uint8) == 0)
        self.global_name_off = strsize + np.concatenate(([0], ends[:-1] + 1)) if len(shown) else \
            np.zeros(0, np.int64)
        parts.append(np.frombuffer(names, np.uint8))
        strsize += len(names)
        self.strtab.data = np.concatenate(parts)
        self.strtab.size = len(self.strtab.data)
        self.nlocal = nlocal
        self.first_global = nlocal + len(gl_local)
        self.count = self.first_global + len(gl_global)
        self.size = self.count * self.dt.sym.itemsize

    @staticmethod
    def _local_tables(files):
        """The files' string tables concatenated, and where each starts."""
        lens = np.fromiter((len(f.strtab) for f in files), np.int64, len(files))
        return np.frombuffer(b"".join(f.strtab for f in files), np.uint8), np.cumsum(lens) - lens

    def _locals_linkwide(self, ctx, in_dropped):
        """The locals .symtab keeps, chosen for every file at once over the link-wide
        local columns of relocs.SymbolKeys (see _locals_per_file for the rules);
        None when an input is unusual (a local's string table shorter than two
        bytes, objects of different flavours)."""
        files, keys, ids = ctx.files, ctx.keys, ctx.section_ids
        empty = np.zeros(0, np.int64)
        if self.discard_all or not files or not len(keys.loc_info):
            return empty, empty, np.zeros(0, np.uint8)
        if any(f.first_global > 1 and len(f.strtab) < 2 for f in files) or \
                len({f.symbols.dtype for f in files}) > 1:
            return None
        lf = keys.loc_file
        local_base = np.fromiter((f.local_base for f in files), np.int64, len(files))
        sec_base = np.fromiter((f.sec_base for f in files), np.int64, len(files))
        loc = np.concatenate([f.symbols[:f.first_global].view(np.uint8).reshape(-1) for f in files]) \
            .view(files[0].symbols.dtype)
        li = np.arange(len(lf))
        keep = ((keys.loc_info & 0xf) != STT_SECTION) & (li != local_base[lf])     # (not symbol 0)
        shndx = keys.loc_shndx
        in_sec = shndx > 0
        gsec = sec_base[lf] + np.where(in_sec, shndx, 0)
        keep &= ~in_sec | ctx.section_ids.live[gsec]
        if in_dropped is not None:        # crtbeginT.o's __TMC_LIST__ in an empty .tm_clone_table
            keep &= ~(in_sec & in_dropped[gsec])
        strtabs, str_base = self._local_tables(files)
        slen = np.fromiter((len(f.strtab) for f in files), np.int64, len(files))
        name = loc["st_name"].astype(np.int64)
        # locals inside merged sections (.LC0 in .rodata.str1.1) go, as in GNU ld
        # (the names read are only those of candidates: files with locals, whose
        # string tables hold two bytes at least)
        m = np.flatnonzero(keep & in_sec & ids.merge[gsec])
        if len(m):
            no = str_base[lf[m]] + np.minimum(name[m], slen[lf[m]] - 2)
            keep[m[(strtabs[no] == ord(".")) & (strtabs[no + 1] == ord("L"))]] = False
        if self.discard_locals:
            k = np.flatnonzero(keep)
            first = strtabs[str_base[lf[k]] + np.minimum(name[k], slen[lf[k]] - 1)]
            second = strtabs[str_base[lf[k]] + np.minimum(name[k] + 1, slen[lf[k]] - 1)]
            keep[k[(first == ord(".")) & (second == ord("L"))]] = False
        sel = np.flatnonzero(keep)
        return sel, str_base[lf[sel]] + name[sel], strtabs

    def _locals_per_file(self, ctx, in_dropped, retain):
        """The locals .symtab keeps, file by file: not symbol 0 nor section symbols,
        not in removed sections or in output sections layout drops, no .L labels
        in merged sections (nor any .L label under --discard-locals), only retained
        names under --retain-symbols-file."""
        sels, srcs = [], []
        files = [] if self.discard_all else ctx.files
        strtabs, str_base = self._local_tables(files)
        for fi, f in enumerate(files):
            fg = f.first_global
            if fg <= 1:
                continue
            syms = f.symbols[:fg]
            typ = syms["st_info"] & 0xf
            shndx = f.shndx[:fg]
            keep = (typ != STT_SECTION)
            keep[0] = False
            in_sec = shndx > 0
            live = ctx.section_ids.live[f.sec_base:f.sec_base + len(f.sections)]
            keep &= ~in_sec | live[np.where(in_sec, shndx, 0)]
            if in_dropped is not None:
                keep &= ~(in_sec & in_dropped[f.sec_base + np.where(in_sec, shndx, 0)])
            merge = ctx.section_ids.merge[f.sec_base:f.sec_base + len(f.sections)]
            strtab_np = np.frombuffer(f.strtab, np.uint8)
            if len(strtab_np):
                no = np.minimum(syms["st_name"].astype(np.int64), len(strtab_np) - 2)
                label = (strtab_np[no] == ord(".")) & (strtab_np[no + 1] == ord("L"))
                keep &= ~(in_sec & merge[np.where(in_sec, shndx, 0)] & label)
            sel = np.flatnonzero(keep)
            if len(sel) == 0:
                continue
            strtab = strtab_np
            if self.discard_locals:
                first = strtab[np.minimum(syms["st_name"][sel], len(strtab) - 1)]
                second = strtab[np.minimum(syms["st_name"][sel] + 1, len(strtab) - 1)]
                sel = sel[~((first == ord(".")) & (second == ord("L")))]
            if retain is not None:
                sel = np.array([k for k in sel.tolist() if f.symbol_name(k) in retain], np.int64)
                if len(sel) == 0:
                    continue
            sels.append(f.local_base + sel)
            srcs.append(str_base[fi] + syms["st_name"][sel].astype(np.int64))
        if not sels:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), strtabs
        return np.concatenate(sels), np.concatenate(srcs), strtabs

    def add_locals(self, rows):
        """Local symbols made after layout, after the files' locals: rows of
        (name bytes, st_info, function giving (value, output section))."""
        if not rows or self.discard_all:
            return
        names = b"\0".join(r[0] for r in rows) + b"\0"
        lens = np.fromiter((len(r[0]) + 1 for r in rows), np.int64, len(rows))
        offs = len(self.strtab.data) + np.cumsum(lens) - lens
        self.strtab.data = np.concatenate([self.strtab.data, np.frombuffer(names, np.uint8)])
        self.strtab.size = len(self.strtab.data)
        self.extra += [(int(o), info, where) for o, (_, info, where) in zip(offs, rows)]
        self.first_global += len(rows)
        self.count += len(rows)
        self.size = self.count * self.dt.sym.itemsize

    def finish(self, ctx):
        """Fill values and section indexes once addresses are final."""
        out = np.zeros(self.count, self.dt.sym)
        pos = 1
        # section symbols in section order (one that layout dropped after all stands for
        # the section its addresses went to)
        self.section_symbols_final = []
        for o in sorted(self.section_symbols, key=lambda o: o.index):
            out[pos]["st_info"] = STT_SECTION
            out[pos]["st_shndx"] = o.index
            out[pos]["st_value"] = o.addr & 0xffffffffffffffff
            if o in ctx.sections_out:
                self.section_symbols_final.append((pos, o))
            pos += 1
        tls_start = ctx.tls_start
        sel = self.local_index
        n = len(sel)
        if n:
            keys, files = ctx.keys, ctx.files
            lf = keys.loc_file[sel]
            fsel = sel - np.fromiter((f.local_base for f in files), np.int64, len(files))[lf]
            dst = out[pos:pos + n]
            dst["st_name"] = self.local_name_off
            info = keys.loc_info[sel]
            dst["st_info"] = info
            dst["st_other"] = _local_other(files, lf, fsel)
            dst["st_size"] = keys.size[keys.G + sel]     # (the input's, less what relaxation deleted)
            shndx = keys.loc_shndx[sel]
            in_sec = shndx > 0
            sec_base = np.fromiter((f.sec_base for f in files), np.int64, len(files))
            outidx = ctx.section_ids.outidx[sec_base[lf] + np.where(in_sec, shndx, 0)]
            dst["st_shndx"] = np.where(in_sec, outidx, -shndx)    # (reserved ones are negated)
            val = keys.addr[keys.G + sel]
            is_tls = (info & 0xf) == STT_TLS
            dst["st_value"] = np.where(is_tls & in_sec, val - tls_start, val)
            pos += n
        for name_off, info, where in self.extra:
            value, output = where()
            out[pos]["st_name"], out[pos]["st_info"] = name_off, info
            out[pos]["st_value"], out[pos]["st_shndx"] = value, output.index
            pos += 1
        allg = self.globals_local + self.globals
        n = len(allg)
        if n:
            # one pass over the symbols gathers every field; the rules run on arrays:
            # an import (undefined here, or a library's definition without a copy)
            # takes the binding of the references, size 0 and value 0, unless a
            # canonical PLT entry stands for it, as in .dynsym
            shndx_of = ctx.symbol_shndx
            rows = [(s.gid, s.kind == UNDEF or (s.kind == SHARED and not s.copy), s.strong_ref, s.weak,
                     s.unique and s.kind == DEFINED, s.type,
                     s.visibility if s.forced_local is None else s.forced_local, s.size, shndx_of(s),
                     s.canonical_plt) for s in allg]
            # (sizes as uint64: a value past 2**63 would make the column float64)
            gid, imported, strong, weak_def, unique, types, other, size, shndx, canonical = \
                (np.array(col, np.uint64 if k == 7 else None) for k, col in enumerate(zip(*rows)))
            imported, canonical = imported.astype(bool), canonical.astype(bool)
            weak = np.where(imported, ~strong.astype(bool), weak_def.astype(bool))
            dst = out[pos:pos + n]
            dst["st_name"] = self.global_name_off
            binding = np.where(weak, STB_WEAK, np.where(unique.astype(bool), STB_GNU_UNIQUE, STB_GLOBAL))
            binding = binding.astype(np.uint8)
            binding[:len(self.globals_local)] = STB_LOCAL
            types = np.where(imported & (types == STT_GNU_IFUNC), STT_FUNC, types).astype(np.uint8)
            dst["st_info"] = (binding << 4) | types
            dst["st_other"] = other.astype(np.uint8)
            flags = ctx.target.STO_FLAGS
            if flags:
                from ldpy.symbols import st_other_flags
                dst["st_other"] |= np.fromiter((st_other_flags(s, flags) for s in allg), np.uint8, n)
            dst["st_size"] = np.where(imported, np.uint64(0), size)
            dst["st_shndx"] = shndx.astype(np.uint16)
            val = ctx.gaddr[gid.astype(np.int64)]
            val = np.where(imported & ~canonical, 0, val)
            dst["st_value"] = np.where(types == STT_TLS, val - tls_start, val)
        self.data = out.view(np.uint8)
