"""Input section byte deletion, for targets whose linker relaxation removes
bytes from code (RISC-V: R_RISCV_ALIGN padding, calls shortened to JAL).

A target records deletions in original input offsets: (section id, offset,
count), the bytes [offset, offset + count) of that section go away.  From the
sorted deletion points every input offset x maps to x - deleted_before(x),
where deleted_before counts the deleted bytes below x (a point inside a
deleted range maps to the range's start).  One searchsorted over the
link-wide keys (section id << 32 | offset) maps any number of offsets.

`update` rewrites from the originals (saved the first time): the sizes of the
shrunk sections, the offsets of their relocations (the link-wide table),
the values and sizes of their symbols (globals and locals).  `finish` gives
each shrunk section its new bytes once the deletions are final.  The writer
maps the addends of section-symbol references into shrunk sections
(`write.reloc_targets`).  Targets without relaxation never create one (ctx.shrink
stays None) and nothing changes for them.
"""
import numpy as np

from ldpy.symbols import DEFINED


class Shrink:
    def __init__(self, ctx, gids):
        """gids: the input sections (ids) that may lose bytes."""
        self.gids = np.unique(np.asarray(gids, np.int64))
        secs = ctx.section_ids.sections
        self.sections = [secs[g] for g in self.gids.tolist()]
        self.orig_size = np.fromiter((s.size for s in self.sections), np.int64, len(self.sections))
        self.candidate = np.zeros(ctx.section_ids.n + 1, bool)
        self.candidate[self.gids] = True
        self.points = np.zeros(0, np.int64)       # (gid << 32) + offset, sorted
        self.counts = np.zeros(0, np.int64)
        self.saved = False

    # -- the map -----------------------------------------------------------------
    def delete(self, gids, offsets, counts):
        """Add deletions (original offsets; never overlapping one another)."""
        keys = (np.asarray(gids, np.int64) << 32) + np.asarray(offsets, np.int64)
        keys = np.concatenate([self.points, keys])
        counts = np.concatenate([self.counts, np.asarray(counts, np.int64)])
        order = np.argsort(keys, kind="stable")
        self.points, self.counts = keys[order], counts[order]
        ok = self.counts > 0
        self.points, self.counts = self.points[ok], self.counts[ok]
        gid = self.points >> 32
        # deleted bytes up to and including each point, within its section
        csum = np.cumsum(self.counts)
        first = np.ones(len(gid), bool)
        first[1:] = gid[1:] != gid[:-1]
        start = np.maximum.accumulate(np.where(first, np.arange(len(gid)), 0))
        self.within = csum - (csum - self.counts)[start]

    def deleted_before(self, gids, offsets):
        """Bytes deleted below each offset of its section (original offsets)."""
        gids = np.asarray(gids, np.int64)
        offsets = np.asarray(offsets, np.int64)
        out = np.zeros(len(offsets), np.int64)
        if not len(self.points) or not len(offsets):
            return out
        q = (gids << 32) + offsets
        j = np.searchsorted(self.points, q, side="left") - 1
        ok = j >= 0
        jj = np.maximum(j, 0)
        ok &= (self.points[jj] >> 32) == gids
        end = (self.points[jj] & 0xffffffff) + self.counts[jj]
        out[ok] = self.within[jj[ok]] - np.maximum(end[ok] - offsets[ok], 0)
        return out

    def map(self, gids, offsets):
        return np.asarray(offsets, np.int64) - self.deleted_before(gids, offsets)

    def total(self):
        """Bytes deleted from each candidate section."""
        big = np.full(len(self.gids), 1 << 31, np.int64)
        return self.deleted_before(self.gids, big)

    # -- applying it ---------------------------------------------------------------
    def _save(self, ctx):
        rt, keys = ctx.relocs, ctx.keys
        self.saved = True
        if rt is not None and not rt.empty:
            self.rt_gid = np.fromiter((s.file.sec_base + s.index for s in rt.sections), np.int64,
                                      len(rt.sections))[rt.sec_ordinal]
            self.rt_rows = np.flatnonzero(self.candidate[self.rt_gid])
            self.rt_gid = self.rt_gid[self.rt_rows]
            self.rt_offset = rt.offset[self.rt_rows].copy()
        else:
            self.rt_rows = None
        self.globals = [s for s in ctx.symtab.symbols if s.kind == DEFINED and s.section is not None
                        and s.section.is_input and self.candidate[s.section.file.sec_base + s.section.index]]
        self.g_gid = np.fromiter((s.section.file.sec_base + s.section.index for s in self.globals),
                                 np.int64, len(self.globals))
        self.g_value = np.fromiter((s.value for s in self.globals), np.int64, len(self.globals))
        # (a size past 2**62 is a broken input's: the symbol keeps it as it is)
        self.g_huge = [s.size >= 1 << 62 for s in self.globals]
        self.g_size = np.fromiter((0 if huge else s.size for s, huge in zip(self.globals, self.g_huge)),
                                  np.int64, len(self.globals))
        # locals: the key tables' values and sizes (by file-local symbol)
        files = ctx.files
        sec_base = np.fromiter((f.sec_base for f in files), np.int64, len(files))
        shndx = keys.loc_shndx
        in_sec = shndx > 0
        gsec = sec_base[keys.loc_file] + np.where(in_sec, shndx, 0)
        self.l_rows = np.flatnonzero(in_sec & self.candidate[np.minimum(gsec, len(self.candidate) - 1)])
        self.l_gid = gsec[self.l_rows]
        self.l_value = keys.loc_value[self.l_rows].copy()
        self.l_size = keys.size[keys.G + self.l_rows].copy()

    def update(self, ctx):
        """Section sizes, relocation offsets, symbol values and sizes for the
        deletions so far (from the original values)."""
        if not self.saved:
            self._save(ctx)
        for s, size in zip(self.sections, (self.orig_size - self.total()).tolist()):
            s.size = size
        if self.rt_rows is not None:
            ctx.relocs.offset[self.rt_rows] = self.map(self.rt_gid, self.rt_offset)
        if self.globals:
            v = self.map(self.g_gid, self.g_value)
            e = self.map(self.g_gid, self.g_value + self.g_size)
            for s, value, size, huge in zip(self.globals, v.tolist(), (e - v).tolist(), self.g_huge):
                s.value = value
                if not huge:
                    s.size = size
        keys = ctx.keys
        if len(self.l_rows):
            v = self.map(self.l_gid, self.l_value)
            keys.loc_value[self.l_rows] = v
            keys.size[keys.G + self.l_rows] = self.map(self.l_gid, self.l_value + self.l_size) - v

    def finish(self, ctx, patch=None):
        """The shrunk sections' bytes: `patch(section, bytes)` rewrites
        instructions (original offsets) before the deleted bytes go."""
        gid = self.points >> 32
        off = self.points & 0xffffffff
        for g, s, size in zip(self.gids.tolist(), self.sections, self.orig_size.tolist()):
            s.size = size           # (bytes() reads the original extent)
            data = np.array(s.bytes(), np.uint8)
            if patch is not None:
                patch(g, s, data)
            sel = gid == g
            if sel.any():
                n = self.counts[sel]
                drop = np.repeat(off[sel], n) + (np.arange(int(n.sum())) -
                                                 np.repeat(np.cumsum(n) - n, n))
                data = np.delete(data, drop)
            s.data = data
            s.size = len(data)

    def map_addends(self, gsec, value, addend):
        """Addends of references to a shrunk section's symbol + addend: the
        deleted bytes between the symbol and its target taken off."""
        m = self.candidate[np.minimum(gsec, len(self.candidate) - 1)]
        if not m.any():
            return addend
        out = np.asarray(addend, np.int64).copy()
        g, v = gsec[m], value[m]
        out[m] -= self.deleted_before(g, v + out[m]) - self.deleted_before(g, v)
        return out
