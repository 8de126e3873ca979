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
    zeros = np.flatnonzero(strtab == 0)
    ends = zeros[np.minimum(np.searchsorted(zeros, offsets), len(zeros) - 1)]
    lens = ends - offsets + 1
    new_off = np.cumsum(lens) - lens
    idx = np.repeat(offsets - new_off, lens) + np.arange(int(lens.sum()))
    return strtab[idx], new_off


def _stays_empty(ctx):
    """Whether layout keeps an output section whose chunks are all empty."""
    if ctx.script_sections:
        from ldpy.script.layout import may_stay_empty
        return may_stay_empty
    return lambda o: o.name in ctx.keep_empty


def _sections_of_dropped_outputs(ctx):
    """By global section id, the input sections whose output section layout will
    drop as empty (None when there are none): GNU ld leaves out the local symbols
    defined there, as it removes the section from the output."""
    stays = _stays_empty(ctx)
    dropped = [o for o in ctx.outputs.sorted()
               if o.chunks and not any(c.size for c in o.chunks) and not stays(o)]
    if not dropped:
        return None
    mask = np.zeros(ctx.section_ids.n, bool)
    for o in dropped:
        for c in o.chunks:
            f = getattr(c, "file", None)
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
        self.local_sel = []          # per file: (file, local indexes kept, name offsets)
        # --emit-relocs: a section symbol per output section first, as GNU ld writes them
        # (the emitted relocations of local symbols refer to them)
        self.section_symbols = []
        if ctx.config.emit_relocs:
            from ldpy.emit_relocs import section_symbol_candidates
            self.section_symbols = section_symbol_candidates(ctx, _stays_empty(ctx))
        nlocal = 1 + len(self.section_symbols)
        in_dropped = _sections_of_dropped_outputs(ctx)
        for f in ctx.files:
            fg = f.first_global
            if fg <= 1 or self.discard_all:
                continue
            syms = f.symbols[:fg]
            typ = syms["st_info"] & 0xf
            shndx = f.shndx[:fg]
            keep = (typ != STT_SECTION)
            keep[0] = False
            in_sec = shndx > 0
            live = ctx.section_ids.live[f.sec_base:f.sec_base + len(f.sections)]
            keep &= ~in_sec | live[np.where(in_sec, shndx, 0)]
            if in_dropped is not None:        # crtbeginT.o's __TMC_LIST__ in an empty .tm_clone_table
                keep &= ~(in_sec & in_dropped[f.sec_base + np.where(in_sec, shndx, 0)])
            # like GNU ld, locals inside merged sections (.LC0 in .rodata.str1.1) go:
            # their values no longer point at anything meaningful
            merge = ctx.section_ids.merge[f.sec_base:f.sec_base + len(f.sections)]
            strtab_np = np.frombuffer(f.strtab, np.uint8)
            if len(strtab_np):
                no = np.minimum(syms["st_name"].astype(np.int64), len(strtab_np) - 2)
                label = (strtab_np[no] == ord(".")) & (strtab_np[no + 1] == ord("L"))
                keep &= ~(in_sec & merge[np.where(in_sec, shndx, 0)] & label)
            sel = np.flatnonzero(keep)
            if len(sel) == 0:
                continue
            strtab = np.frombuffer(f.strtab, np.uint8)
            if self.discard_locals:
                first = strtab[np.minimum(syms["st_name"][sel], len(strtab) - 1)]
                second = strtab[np.minimum(syms["st_name"][sel] + 1, len(strtab) - 1)]
                sel = sel[~((first == ord(".")) & (second == ord("L")))]
            if retain is not None:
                sel = np.array([k for k in sel.tolist() if f.symbol_name(k) in retain], np.int64)
                if len(sel) == 0:
                    continue
            names, offs = gather_strings(strtab, syms["st_name"][sel].astype(np.int64))
            self.local_sel.append((f, sel, offs + strsize))
            parts.append(names)
            strsize += len(names)
            nlocal += len(sel)
        # globals: hidden/internal definitions become locals in the output
        gl_local, gl_global = [], []
        gc_unreferenced = ctx.gc_unreferenced      # only --gc-sections removed code used them
        dyn_index = ctx.dynsym_by_gid
        plt_called = None                  # by gid: a target of a PLT call (PIE only)
        rt = ctx.relocs
        if ctx.config.pie and not ctx.config.shared and rt is not None and not rt.empty:
            G = len(ctx.symtab.symbols)
            keys = rt.key[ctx.target.IS_PLT_CALL[rt.type]]
            plt_called = np.zeros(G, bool)
            plt_called[keys[keys < G]] = True
        needed = {id(sf) for sf in ctx.needed}
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
            # hidden definitions become locals in shared objects (GNU ld keeps them
            # global in executables)
            hidden = s.visibility in (STV_HIDDEN, STV_INTERNAL)
            if s.kind != UNDEF and hidden and (ctx.config.shared or s.name in ctx.provide_hidden
                                               or plt_called is not None and plt_called[s.gid]):
                gl_local.append(s)
            else:
                gl_global.append(s)
        if retain is not None:
            gl_local = [s for s in gl_local if s.name in retain]
            gl_global = [s for s in gl_global if s.name in retain]
        self.globals_local, self.globals = gl_local, gl_global
        # a symbol a shared library defines carries its version, as GNU ld writes it
        # (printf@GLIBC_2.2.5, also stdout@GLIBC_2.2.5 behind a copy relocation)
        # (and foo@@VER of a .symver definition keeps that name, as in GNU ld)
        shown = [s.name + b"@" + s.version.encode()
                 if s.kind == SHARED and s.version and id(s.file) in needed else
                 s.name + b"@@" + s.def_version.encode() if s.symver_default and s.def_version else s.name
                 for s in gl_local + gl_global]
        names = b"\0".join(shown) + b"\0"
        lens = np.fromiter((len(n) + 1 for n in shown), np.int64, len(shown))
        self.global_name_off = strsize + np.cumsum(lens) - lens
        parts.append(np.frombuffer(names, np.uint8))
        strsize += len(names)
        self.strtab.data = np.concatenate(parts)
        self.strtab.size = len(self.strtab.data)
        self.nlocal = nlocal
        self.first_global = nlocal + len(gl_local)
        self.count = self.first_global + len(gl_global)
        self.size = self.count * self.dt.sym.itemsize

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
        for f, sel, name_off in self.local_sel:
            n = len(sel)
            src = f.symbols[sel]
            dst = out[pos:pos + n]
            dst["st_name"] = name_off
            dst["st_info"] = src["st_info"]
            dst["st_other"] = src["st_other"]
            dst["st_size"] = src["st_size"]
            shndx = f.shndx[sel]
            in_sec = shndx > 0
            outidx = ctx.section_ids.outidx[f.sec_base + np.where(in_sec, shndx, 0)]
            dst["st_shndx"] = np.where(in_sec, outidx, -shndx)    # (reserved ones are negated)
            val = ctx.keys.addr[ctx.keys.G + f.local_base + sel]
            is_tls = (src["st_info"] & 0xf) == STT_TLS
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
            gid, imported, strong, weak_def, unique, types, other, size, shndx, canonical = \
                (np.array(col) for col in zip(*rows))
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
            dst["st_size"] = np.where(imported, 0, size.astype(np.uint64))
            dst["st_shndx"] = shndx.astype(np.uint16)
            val = ctx.gaddr[gid.astype(np.int64)]
            val = np.where(imported & ~canonical, 0, val)
            dst["st_value"] = np.where(types == STT_TLS, val - tls_start, val)
        self.data = out.view(np.uint8)
