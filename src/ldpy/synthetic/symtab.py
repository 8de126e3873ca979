"""`.symtab` and `.strtab` of the output: each file's locals (after its STT_FILE
symbol), then the globals.  Names are gathered from the input string tables
with vectorized copies; nothing is built per local symbol in Python."""
import numpy as np

from ldpy.elf.format import (SHT_SYMTAB, SHT_STRTAB, SHN_LORESERVE, STT_SECTION, STT_TLS, STB_LOCAL,
                             STB_GLOBAL, STB_WEAK, STV_HIDDEN, STV_INTERNAL)
from ldpy.symbols import UNDEF
from ldpy.synthetic import Synthetic


def _read_name_list(path):
    from ldpy.diag import LinkError
    try:
        with open(path, "rb") as fh:
            return {line.strip() for line in fh if line.strip()}
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


class SymtabSection(Synthetic):
    def __init__(self, dt, discard_locals=False, discard_all=False):
        super().__init__(".symtab", type_=SHT_SYMTAB, flags=0, align=8, entsize=dt.sym.itemsize)
        self.dt = dt
        self.strtab = Synthetic(".strtab", type_=SHT_STRTAB, flags=0, align=1)
        self.discard_locals = discard_locals
        self.discard_all = discard_all

    def prepare(self, ctx):
        """Choose the symbols and build .strtab (sizes are known before layout)."""
        retain = _read_name_list(ctx.config.retain_symbols_file) if ctx.config.retain_symbols_file else None
        parts = [np.zeros(1, np.uint8)]
        strsize = 1
        self.local_sel = []          # per file: (file, local indexes kept, name offsets)
        nlocal = 1
        for f in ctx.files:
            fg = f.first_global
            if fg <= 1 or self.discard_all:
                continue
            syms = f.symbols[:fg]
            typ = syms["st_info"] & 0xf
            shndx = f.shndx[:fg]
            keep = (typ != STT_SECTION)
            keep[0] = False
            in_sec = (shndx > 0) & (shndx < SHN_LORESERVE)
            live = ctx.section_ids.live[f.sec_base:f.sec_base + len(f.sections)]
            keep &= ~in_sec | live[np.where(in_sec, shndx, 0)]
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
        for s in ctx.symtab.symbols:
            if s.kind == UNDEF and not s.referenced:
                continue
            if gc_unreferenced and s.gid in gc_unreferenced:
                continue
            if s.kind == UNDEF and not s.weak and not s.strong_ref:
                continue
            if s.section is not None and not s.section.live:
                continue            # defined in a section a script discarded
            # hidden definitions become locals in shared objects (GNU ld keeps them
            # global in executables)
            hidden = s.visibility in (STV_HIDDEN, STV_INTERNAL)
            if s.kind != UNDEF and hidden and (ctx.config.shared or s.name in ctx.provide_hidden):
                gl_local.append(s)
            else:
                gl_global.append(s)
        if retain is not None:
            gl_local = [s for s in gl_local if s.name in retain]
            gl_global = [s for s in gl_global if s.name in retain or s.kind == UNDEF]
        self.globals_local, self.globals = gl_local, gl_global
        names = b"\0".join(s.name for s in gl_local + gl_global) + b"\0"
        lens = np.fromiter((len(s.name) + 1 for s in gl_local + gl_global), np.int64,
                           len(gl_local) + len(gl_global))
        self.global_name_off = strsize + np.cumsum(lens) - lens
        parts.append(np.frombuffer(names, np.uint8))
        strsize += len(names)
        self.strtab.data = np.concatenate(parts)
        self.strtab.size = len(self.strtab.data)
        self.first_global = nlocal + len(gl_local)
        self.count = self.first_global + len(gl_global)
        self.size = self.count * self.dt.sym.itemsize

    def finish(self, ctx):
        """Fill values and section indexes once addresses are final."""
        out = np.zeros(self.count, self.dt.sym)
        pos = 1
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
            in_sec = (shndx > 0) & (shndx < SHN_LORESERVE)
            outidx = ctx.section_ids.outidx[f.sec_base + np.where(in_sec, shndx, 0)]
            dst["st_shndx"] = np.where(in_sec, outidx, shndx)
            val = ctx.keys.addr[ctx.keys.G + f.local_base + sel]
            is_tls = (src["st_info"] & 0xf) == STT_TLS
            dst["st_value"] = np.where(is_tls & in_sec, val - tls_start, val)
            pos += n
        allg = self.globals_local + self.globals
        n = len(allg)
        if n:
            gid = np.fromiter((s.gid for s in allg), np.int64, n)
            dst = out[pos:pos + n]
            dst["st_name"] = self.global_name_off
            binding = np.fromiter((STB_LOCAL if i < len(self.globals_local) else
                                   (STB_WEAK if s.weak else STB_GLOBAL)
                                   for i, s in enumerate(allg)), np.uint8, n)
            types = np.fromiter((s.type for s in allg), np.uint8, n)
            dst["st_info"] = (binding << 4) | types
            dst["st_other"] = np.fromiter((s.visibility for s in allg), np.uint8, n)
            dst["st_size"] = np.fromiter((s.size for s in allg), np.uint64, n)
            dst["st_shndx"] = np.fromiter((ctx.symbol_shndx(s) for s in allg), np.uint16, n)
            val = ctx.gaddr[gid]
            dst["st_value"] = np.where(types == STT_TLS, val - tls_start, val)
        self.data = out.view(np.uint8)
