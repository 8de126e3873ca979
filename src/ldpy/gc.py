"""--gc-sections: remove the allocated input sections nothing reaches.

Mark and sweep over input sections, GNU ld's rules.  The graph is built once
for the whole link as numpy edge arrays (source node -> target node) and
marked with a frontier loop: one round per level of depth, never a Python
step per relocation.  Nodes are input sections (global ids, file.sec_base +
index) plus a few virtual nodes:

* a relocation from a section keeps the section of its target symbol (a
  section symbol, a local, or the global definition it resolved to);
* each section group is one node that its members point to and that points
  back at them: a group is kept or removed as a unit;
* a reference to __start_NAME / __stop_NAME keeps every input section called
  NAME (unless -z start-stop-gc), through one node per NAME;
* an SHF_LINK_ORDER section is kept by the section it is linked to;
* .eh_frame is kept but keeps nothing by itself: each FDE links the function
  it covers to what the FDE and its CIE point at (LSDA, personality routine).

Roots: the entry symbol, -u / --require-defined / EXTERN symbols, -init /
-fini, what --defsym expressions use, symbols exported to .dynsym, KEEP
sections (the script's KEEP descriptions, or the default script's .init,
.fini, .*_array*, .ctors*, .dtors*, .jcr), SHT_NOTE sections outside groups,
SHF_GNU_RETAIN sections.  Sections without SHF_ALLOC (debug information,
.comment) are never removed.

Removed sections end like discarded COMDAT copies: `live` is False, so they
are not placed, their FDEs are pruned, their symbols leave .symtab, -Map lists
them as discarded, and debug relocations against them get GNU ld's tombstone.
Undefined symbols that only removed sections referenced are not errors.
"""
import re
import sys
from itertools import chain

import numpy as np

from ldpy.diag import LinkError, PROG
from ldpy.elf.format import (SHF_ALLOC, SHF_LINK_ORDER, SHF_GNU_RETAIN, SHN_LORESERVE, SHT_NOTE,
                             SHT_RELA, SHT_REL, STV_DEFAULT, STV_PROTECTED, reloc_sym)
from ldpy.elf.eh_frame import eh_frame_records, eh_record_arrays
from ldpy.sections import is_c_identifier
from ldpy.symbols import UNDEF, DEFINED, SHARED
from ldpy.util import file_buffers, section_headers, unique, isin

# What GNU ld's default script KEEPs (--gc-sections' roots under -r too).
_DEFAULT_KEEP = re.compile(r"\.(init|fini|preinit_array|jcr)$|"
                           r"\.(init_array|fini_array|ctors|dtors)(\..*)?$")
_KEY_BITS = 32       # (section ordinal << 32) + offset keys of .eh_frame record starts
_DEFAULT_KEEP_PREFIXES = (".init", ".fini", ".preinit_array", ".jcr", ".ctors", ".dtors")


def collect_garbage(ctx):
    g = SectionGraph(ctx)
    g.scan_sections()
    g.symbol_nodes()
    g.symbol_table()
    g.relocation_edges()
    g.eh_frame_edges()
    live = g.mark(g.roots())
    if ctx.config.why_live:
        sys.stdout.write("".join(g.why_live(live, ctx.config.why_live)))
    removed = g.sweep(live)
    g.forget_references(live)
    ctx.gc_removed = removed
    if ctx.config.print_gc_sections:
        sys.stderr.write("".join(_removal_lines(ctx, removed)))


def _removal_lines(ctx, removed):
    """GNU ld's lines, in input order.  Like GNU ld, the discarded copies of COMDAT
    groups are listed too; a group member is NAME[SIGNATURE], and a group whose
    first member goes is itself removed ('.group'); empty sections go silently."""
    from ldpy.input.object import DISCARDED
    by_file = {}
    for sec in removed:
        by_file.setdefault(id(sec.file), []).append(sec)
    lines = []
    for f in ctx.files:
        secs = by_file.get(id(f), [])
        if not secs and not f.groups and not f.has_dead_sections():
            continue
        gone = {s.index for s in secs}
        entries = [(s.index, s.name) for s in f.sections
                   if s is not None and s is not DISCARDED and not s.live and s.index not in gone
                   and s.name.startswith(".gnu.linkonce.") and s.size]
        signature = {}
        for sig, _, members, index in f.groups:
            sig = sig.decode("utf-8", "replace")
            for m in members:
                signature[m] = sig
                if f.sections[m] is DISCARDED and f.rows[m][5]:
                    entries.append((m, f.section_names[m]))
            if members and (members[0] in gone or f.sections[members[0]] is DISCARDED):
                entries.append((index, ".group"))
        entries += [(s.index, s.name) for s in secs if s.size]
        entries.sort()
        lines += [f"{PROG}: removing unused section "
                  f"'{name}{f'[{signature[i]}]' if i in signature and name != '.group' else ''}' "
                  f"in file '{f.name}'\n" for i, name in entries]
    return lines


class SectionGraph:
    def __init__(self, ctx):
        self.ctx = ctx
        files = ctx.files
        base = 0
        for f in files:
            f.sec_base = base
            base += len(f.sections)
        self.n = self.nodes = base
        self.cand = np.zeros(base, bool)        # allocated input sections: may be removed
        self.root = np.zeros(base, bool)
        self.src, self.dst = [], []             # edge arrays, concatenated at the end
        self.by_cname = {}                      # C-identifier section name -> [section ids]
        nf = len(files)
        self.fg = np.fromiter((f.first_global for f in files), np.int64, nf)
        self.nsym = np.fromiter((len(f.symbols) for f in files), np.int64, nf)
        self.nsec = np.fromiter((len(f.sections) for f in files), np.int64, nf)
        self.sec_base = np.fromiter((f.sec_base for f in files), np.int64, nf)
        self.lbase = np.concatenate(([0], np.cumsum(self.fg)))[:-1]
        self.gbase = np.concatenate(([0], np.cumsum(self.nsym - self.fg)))[:-1]
        self.loc_shndx = np.concatenate([f.shndx[:f.first_global] for f in files]) if files \
            else np.zeros(0, np.int64)
        self.all_gids = np.concatenate([f.global_ids for f in files]) if files \
            else np.zeros(0, np.int64)
        dt = ctx.target
        self.little, self.is64 = dt.LITTLE, dt.IS64
        self.word, self.xword = ("<u4", "<u8") if dt.LITTLE else (">u4", ">u8")
        # every relocation section is a view of its file in the RELOC layout: symbol
        # words are read from the file bytes directly (else through sec.relocs)
        self.raw_relocs = all(f.raw_relocs for f in files)

    def new_node(self):
        self.nodes += 1
        return self.nodes - 1

    def edges(self, src, dst):
        self.src.append(np.asarray(src, np.int64))
        self.dst.append(np.asarray(dst, np.int64))

    # -- input sections ----------------------------------------------------------
    def scan_sections(self):
        """Candidates, section roots, group / link-order edges and the sections whose
        relocations make edges; header fields come from the section header tables."""
        ctx = self.ctx
        files = ctx.files
        N = self.n
        self.rel_ids, self.eh_secs = np.zeros(0, np.int64), []
        if not N:
            return
        flat = [s for f in files for s in f.sections]
        live = np.fromiter((s is not None and s.live for s in flat), bool, N)
        self.load_buffers(files)
        shdrs = section_headers(files)
        self.sh_offset = shdrs["sh_offset"].astype(np.int64)
        self.sh_size = shdrs["sh_size"].astype(np.int64)
        flags = shdrs["sh_flags"].astype(np.int64)
        stype = shdrs["sh_type"].astype(np.int64)
        link = shdrs["sh_link"].astype(np.int64)
        info = shdrs["sh_info"].astype(np.int64)
        fbase = np.repeat(self.sec_base, self.nsec)           # sec_base of each section's file
        fsize = np.repeat(self.nsec, self.nsec)
        cand = self.cand
        cand[:] = live & ((flags & SHF_ALLOC) != 0)
        # which sections have relocations: SHT_RELA sections name their target in sh_info
        rela = np.flatnonzero((stype == SHT_RELA) | (stype == SHT_REL))
        ok = (info[rela] > 0) & (info[rela] < fsize[rela])
        has_rel = np.zeros(N, bool)
        has_rel[fbase[rela[ok]] + info[rela[ok]]] = True
        self.rela_of = np.full(N, -1, np.int64)          # section id -> its relocation section id
        self.rela_of[fbase[rela[ok]] + info[rela[ok]]] = rela[ok]
        # section groups: one node per group, members point to it and it to them
        in_group = np.zeros(N, bool)
        groups = [g for f in files for g in f.groups]
        if groups:
            per_file = np.fromiter((len(f.groups) for f in files), np.int64, len(files))
            size = np.fromiter((len(g[2]) for g in groups), np.int64, len(groups))
            mem = np.fromiter(chain.from_iterable(g[2] for g in groups), np.int64, int(size.sum()))
            mem += np.repeat(np.repeat(self.sec_base, per_file), size)
            grp = np.repeat(np.arange(len(groups)) + self.nodes, size)
            self.nodes += len(groups)
            in_group[mem] = True
            m = cand[mem]
            self.edges(np.concatenate([mem[m], grp[m]]), np.concatenate([grp[m], mem[m]]))
        # SHF_LINK_ORDER: kept with the section it is linked to
        lo = cand & ((flags & SHF_LINK_ORDER) != 0) & (link > 0) & (link < fsize)
        lo = np.flatnonzero(lo)
        self.edges(fbase[lo] + link[lo], lo)
        # roots by header: notes outside groups (also non-allocated ones, whose relocations
        # count, as in GNU ld: .note.stapsdt keeps .stapsdt.base), SHF_GNU_RETAIN
        note = live & (stype == SHT_NOTE) & ~in_group & ((flags & SHF_LINK_ORDER) == 0)
        root = self.root
        root[:] = (cand & ((flags & SHF_GNU_RETAIN) != 0)) | note
        # roots by name (KEEP), .eh_frame, C-identifier names for __start_/__stop_: only
        # names with a possible match get a closer look
        # (-r: the roots of a final link's default script, as ld.bfd -r keeps them; with
        # a user script, relocatable.py, its KEEPs too)
        scripted = not ctx.config.relocatable
        both = ctx.user_sections and not scripted
        prefixes = ctx.outputs.keep_prefixes() if scripted else _DEFAULT_KEEP_PREFIXES
        if both:
            prefixes = tuple(prefixes) + ctx.outputs.keep_prefixes()
        prefixes = tuple(prefixes) + (".eh_frame",)
        eh = np.zeros(N, bool)
        sh_name = shdrs["sh_name"].astype(np.int64)
        for i in self._names_worth_a_look(sh_name, prefixes):
            if not cand[i]:
                continue
            sec = flat[i]
            name = sec.name
            if name[:1] == "." and not name.startswith(prefixes):
                continue
            if name == ".eh_frame":
                eh[i] = root[i] = True
                continue
            if scripted:
                if ctx.outputs.keeps(sec, sec.file):
                    root[i] = True
            elif _DEFAULT_KEEP.match(name) or both and ctx.outputs.keeps(sec, sec.file):
                root[i] = True
            if name[:1] != "." and is_c_identifier(name):
                self.by_cname.setdefault(name, []).append(i)
        self.eh_secs = [flat[i] for i in np.flatnonzero(eh & has_rel).tolist()]
        self.rel_ids = np.flatnonzero((cand | note) & has_rel & ~eh)

    def load_buffers(self, files):
        self.bufs, self.file_buf, self.file_buf_base = file_buffers(files)

    def _read(self, sec_buf, pos, width):
        """Bytes [pos, pos+width) of the buffers sec_buf, as an (n, width) uint8 array."""
        out = np.zeros((len(pos), width), np.uint8)
        order = np.argsort(sec_buf, kind="stable")
        bounds = np.searchsorted(sec_buf[order], np.arange(len(self.bufs) + 1))
        cols = np.arange(width)
        for b, buf in enumerate(self.bufs):
            sel = order[bounds[b]:bounds[b + 1]]
            if len(sel) and len(buf):
                out[sel] = buf[np.minimum(pos[sel][:, None] + cols, len(buf) - 1)]
        return out

    def _names_worth_a_look(self, sh_name, prefixes):
        """Section ids whose name starts with one of prefixes or not with '.'.  The first
        bytes of every name come from the string tables with one numpy gather per
        buffer, not from a Python test per section."""
        files = self.ctx.files
        width = 3      # the first bytes tell almost every name apart; hits are checked in Python
        name_base = self.file_buf_base + np.fromiter((f.rows[f.shstrndx][4] for f in files),
                                                     np.int64, len(files))
        heads = self._read(np.repeat(self.file_buf, self.nsec), np.repeat(name_base, self.nsec) + sh_name,
                           width).astype(np.int64)
        code = heads[:, 0] | (heads[:, 1] << 8) | (heads[:, 2] << 16)
        hit = (heads[:, 0] != ord(".")) & (heads[:, 0] != 0)
        by_len = {}
        for p in prefixes:
            pb = p.encode("utf-8", "replace")[:width]
            by_len.setdefault(len(pb), set()).add(int.from_bytes(pb, "little"))
        for n_bytes, codes in by_len.items():
            if n_bytes == 0:
                return list(range(len(sh_name)))
            part = code & ((1 << (8 * n_bytes)) - 1)
            for value in codes:
                hit |= part == value
        return np.flatnonzero(hit).tolist()

    # -- relocations -------------------------------------------------------------
    def _gather(self, secs):
        """(section id, link-wide symbol index, offset) of every relocation of secs.
        The link-wide symbol index is file symbase + symbol index (see symbol_table)."""
        rels = [s.relocs for s in secs]
        counts = np.fromiter(map(len, rels), np.int64, len(rels))
        # (concatenating raw bytes avoids numpy's per-array structured-dtype promotion)
        raw = np.concatenate([r.view(np.uint8) for r in rels])
        ids = np.fromiter((s.file.sec_base + s.index for s in secs), np.int64, len(secs))
        fidx = np.searchsorted(self.sec_base, ids, side="right") - 1
        # the in-memory RELOC layout (elf/format.py) as 32-bit words: r_offset (2),
        # r_info (type, symbol), r_addend (2)
        sym = raw.view("<u4").reshape(-1, 6)[:, 3].astype(np.int64)
        off = raw.view("<u8").reshape(-1, 3)[:, 0].astype(np.int64)
        sid = np.repeat(ids, counts)
        if len(sym):
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
            nonempty = counts > 0
            top = np.zeros(len(secs), np.int64)
            top[nonempty] = np.maximum.reduceat(sym, starts[nonempty])
            bad = nonempty & (top >= self.nsym[fidx])
            if bad.any():
                j = int(np.argmax(bad))
                k = int(starts[j] + np.argmax(sym[starts[j]:starts[j] + counts[j]] >= self.nsym[fidx[j]]))
                raise LinkError(f"{secs[j].where(int(off[k]))}: relocation refers to symbol index "
                                f"{int(sym[k])} beyond the symbol table")
        return sid, np.repeat(self.symbase[fidx], counts) + sym, off

    def symbol_table(self):
        """Target node and global symbol id (-1 for locals) of every symbol of every
        file, indexed by file symbase + symbol index."""
        fg, nsym = self.fg, self.nsym
        total = int(nsym.sum())
        self.symbase = np.concatenate(([0], np.cumsum(nsym)))[:-1]
        node = np.full(total, -1, np.int64)
        gid = np.full(total, -1, np.int64)
        nloc = len(self.loc_shndx)
        loc_pos = np.repeat(self.symbase - self.lbase, fg) + np.arange(nloc)
        lsh = self.loc_shndx
        lfile = np.repeat(np.arange(len(fg)), fg)
        in_sec = (lsh > 0) & (lsh < self.nsec[lfile])
        node[loc_pos[in_sec]] = self.sec_base[lfile[in_sec]] + lsh[in_sec]
        nglob = nsym - fg
        glob_pos = np.repeat(self.symbase + fg - self.gbase, nglob) + np.arange(len(self.all_gids))
        gid[glob_pos] = self.all_gids
        node[glob_pos] = self.sym_node[self.all_gids]
        self.node_of, self.gid_of = node, gid

    def _targets(self, key):
        """Target node of each relocation (-1: none) and its global symbol id (-1: a local)."""
        return self.node_of[key], self.gid_of[key]

    def relocation_edges(self):
        """Every relocation of an allocated section but .eh_frame: source -> target."""
        self.rel = None
        if len(self.rel_ids):
            sid, key = self._gather_symbols(self.rel_ids)
            tgt, gkey = self._targets(key)
            self.edges(sid, tgt)
            self.rel = (sid, gkey)

    def _gather_symbols(self, ids):
        """(section id, link-wide symbol index) of every relocation of the sections ids,
        read straight from the SHT_RELA sections' bytes: the symbol word of each entry,
        fetched with one gather per buffer and 4-byte phase.  (The order of the
        relocations does not matter for the graph: sections are taken buffer by buffer.)"""
        if not self.raw_relocs:
            sid, key, _ = self._gather([self.section(i) for i in ids.tolist()])
            return sid, key
        fidx = np.searchsorted(self.sec_base, ids, side="right") - 1
        order = np.argsort(self.file_buf[fidx], kind="stable")
        ids, fidx = ids[order], fidx[order]
        buf = self.file_buf[fidx]
        r = self.rela_of[ids]
        esize = 24
        count = self.sh_size[r] // esize
        total = int(count.sum())
        first = np.cumsum(count) - count
        symword = 12 if self.little else 8           # r_info's symbol half
        pos = np.repeat(self.file_buf_base[fidx] + self.sh_offset[r] + symword - first * esize, count) + \
            np.arange(total) * esize
        sym = np.zeros(total, np.int64)
        bounds = np.searchsorted(buf, np.arange(len(self.bufs) + 1))
        word = self.word
        for b, data in enumerate(self.bufs):
            lo, hi = int(first[bounds[b]]) if bounds[b] < len(ids) else total, \
                int(first[bounds[b + 1]]) if bounds[b + 1] < len(ids) else total
            if lo == hi:
                continue
            p = pos[lo:hi]
            if int(p.max()) + 4 > len(data):
                raise LinkError(f"{self.ctx.files[int(fidx[bounds[b]])].name}: relocation section "
                                f"extends past the end of the file")
            phase = p & 3
            out = sym[lo:hi]
            for ph in range(4):
                m = phase == ph
                if m.any():
                    n4 = (len(data) - ph) // 4
                    out[m] = data[ph:ph + 4 * n4].view(word)[(p[m] - ph) >> 2]
        self._check_symbols(ids, fidx, count, first, sym)
        return np.repeat(ids, count), np.repeat(self.symbase[fidx], count) + sym

    def _check_symbols(self, ids, fidx, count, first, sym):
        nonempty = count > 0
        if not len(sym) or not nonempty.any():
            return
        top = np.zeros(len(ids), np.int64)
        top[nonempty] = np.maximum.reduceat(sym, first[nonempty])
        bad = nonempty & (top >= self.nsym[fidx])
        if bad.any():
            j = int(np.argmax(bad))
            sec = self.section(int(ids[j]))
            k = int(np.argmax(reloc_sym(sec.relocs["r_info"]) >= self.nsym[fidx[j]]))
            raise LinkError(f"{sec.where(int(sec.relocs['r_offset'][k]))}: relocation refers to symbol "
                            f"index {int(sym[first[j] + k])} beyond the symbol table")

    def section(self, gid):
        k = int(np.searchsorted(self.sec_base, gid, side="right")) - 1
        f = self.ctx.files[k]
        return f.sections[gid - f.sec_base]

    def eh_frame_edges(self):
        """FDE of a function -> its LSDA and its CIE's personality routine."""
        self.eh = None
        secs = self.eh_secs
        if not secs:
            return
        sid, key, off = self._gather(secs)
        counts = np.fromiter((len(s.relocs) for s in secs), np.int64, len(secs))
        ordinal = np.repeat(np.arange(len(secs)), counts)
        starts_all, is_cie, cie_start, nrec_per = self.add_eh_records(secs, ordinal, off)
        # (section ordinal, offset) keys find records at once: of relocations, of CIEs
        ordinal_of_rec = np.repeat(np.arange(len(secs)), nrec_per)
        rkey = (ordinal_of_rec << 32) + starts_all
        k = np.minimum(np.searchsorted(rkey, (ordinal_of_rec << 32) + cie_start), len(rkey) - 1)
        cie_rec = np.where((cie_start >= 0) & (rkey[k] == (ordinal_of_rec << 32) + cie_start), k, -1)
        rec = np.searchsorted(rkey, (ordinal << 32) + off, side="right") - 1
        inside = (rec >= 0) & (rec < len(rkey))
        inside[inside] = ordinal_of_rec[rec[inside]] == ordinal[inside]
        rec = np.where(inside, rec, -1)
        tgt, gkey = self._targets(key)
        r_cie = np.where(inside, is_cie[np.maximum(rec, 0)], False)
        pc_begin = inside & ~r_cie & (off == starts_all[np.maximum(rec, 0)] + 8)
        covered = np.full(len(starts_all), -1, np.int64)
        covered[rec[pc_begin]] = tgt[pc_begin]
        # relocations inside an FDE after pc_begin (the LSDA): covered function -> target
        m = inside & ~r_cie & ~pc_begin
        self.edges(covered[rec[m]], tgt[m])
        # relocations inside a CIE (the personality): every function whose FDE uses it -> target
        c = np.flatnonzero(inside & r_cie)
        if len(c):
            order = np.argsort(rec[c], kind="stable")
            crec, ctgt = rec[c][order], tgt[c][order]
            fdes = np.flatnonzero(~is_cie & (cie_rec >= 0) & (covered >= 0))
            lo = np.searchsorted(crec, cie_rec[fdes], side="left")
            n = np.searchsorted(crec, cie_rec[fdes], side="right") - lo
            tot = int(n.sum())
            if tot:
                idx = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(tot)
                self.edges(np.repeat(covered[fdes], n), ctgt[idx])
        # for the undefined-reference bookkeeping: which FDE relocations stay
        self.eh = (rec, r_cie, covered, gkey)

    def add_eh_records(self, secs, ordinal, off):
        """The records of every .eh_frame section of secs, concatenated: (starts,
        is_cie, cie_starts, records per section); each section's arrays also go to
        ctx.eh_frame_records for the FDE pruning.

        Record starts are found without walking: every FDE's pc_begin relocation sits
        at FDE+8, and its CIE is where the FDE's CIE pointer says.  Of these candidate
        starts, those whose length leads to another candidate (or the end) are taken,
        and the result is checked to tile the section from offset 0, record after
        record, exactly as the walk would find them; a section that fails the check is
        walked record by record (eh_frame_records)."""
        ns = len(secs)
        size = np.fromiter((s.size for s in secs), np.int64, ns)
        fidx = np.fromiter((s.file.file_id for s in secs), np.int64, ns)
        base = self.file_buf_base[fidx] + np.fromiter((s.offset for s in secs), np.int64, ns)
        sec_buf = self.file_buf[fidx]
        order = "<u4" if self.little else ">u4"

        def words(keys):
            o, c = keys >> _KEY_BITS, keys & 0xffffffff
            raw = self._read(sec_buf[o], base[o] + c, 8)
            w = raw.view(order).reshape(-1, 2).astype(np.int64)
            fits = c + 8 <= size[o]
            return o, c, np.where(fits, w[:, 0], -1), np.where(fits, w[:, 1], 0)

        cand = off - 8
        keys = np.concatenate([(ordinal[cand >= 0] << 32) + cand[cand >= 0], np.arange(ns) << 32])
        keys = unique(keys)
        o, c, length, cie_ptr = words(keys)
        fde = (length > 0) & (cie_ptr != 0)
        cs = c + 4 - cie_ptr
        more = fde & (cs >= 0) & (cs < size[o])
        keys = unique(np.concatenate([keys, (o[more] << 32) + cs[more]]))
        o, c, length, cie_ptr = words(keys)
        # the record each candidate would be, if it starts one
        nxt = np.where(length == 0, c + 4, c + 4 + length)
        good = (length >= 0) & (length != 0xffffffff) & ((length == 0) | (length >= 4)) & (nxt <= size[o])
        at_end = nxt == size[o]
        q = (o << 32) + nxt
        follows = keys[np.minimum(np.searchsorted(keys, q), len(keys) - 1)] == q
        take = good & (at_end | follows)
        o, c, length, cie_ptr, nxt = o[take], c[take], length[take], cie_ptr[take], nxt[take]
        # check: per section, first at 0, each record ends where the next begins, last at the end
        ok = np.ones(ns, bool)
        first = np.ones(len(o), bool)
        first[1:] = o[1:] != o[:-1]
        last = np.ones(len(o), bool)
        last[:-1] = o[1:] != o[:-1]
        ok[o[first & (c != 0)]] = False
        ok[o[last & (nxt != size[o])]] = False
        chained = np.ones(len(o), bool)
        chained[:-1] = first[1:] | (nxt[:-1] == c[1:])
        ok[o[~chained]] = False
        present = np.zeros(ns, bool)
        present[o] = True
        ok &= present | (size == 0)
        keepm = ok[o]
        is_cie = (cie_ptr == 0) | (length == 0)
        parts = []                              # (starts, ends, is_cie, cie_starts) per section
        bounds = np.searchsorted(o[keepm], np.arange(ns + 1))
        sel = np.flatnonzero(keepm)
        known = self.ctx.eh_frame_records
        for j, sec in enumerate(secs):
            if ok[j]:
                ix = sel[bounds[j]:bounds[j + 1]]
                cj = c[ix]
                arrays = (cj, nxt[ix], is_cie[ix], np.where(is_cie[ix], -1, cj + 4 - cie_ptr[ix]))
            else:
                arrays = eh_record_arrays(eh_frame_records(sec))
            known[id(sec)] = arrays
            parts.append(arrays)
        nrec = np.fromiter((len(p[0]) for p in parts), np.int64, ns)
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[2] for p in parts]),
                np.concatenate([p[3] for p in parts]), nrec)

    # -- symbols -----------------------------------------------------------------
    def symbol_nodes(self):
        """Node of each global symbol's definition; __start_/__stop_ names get a node
        that keeps every section of that name."""
        ctx = self.ctx
        syms = ctx.symtab.symbols
        G = len(syms)
        self.sym_node = np.fromiter((s.section.file.sec_base + s.section.index
                                     if s.kind == DEFINED and s.section is not None else -1
                                     for s in syms), np.int64, G)
        if ctx.config.start_stop_gc:
            return
        for name, ids in self.by_cname.items():
            v = None
            for prefix in (b"__start_", b"__stop_"):
                s = ctx.symtab.get(prefix + name.encode())
                if s is not None and s.kind == UNDEF:      # (the linker will define it)
                    if v is None:
                        v = self.new_node()
                        self.edges(np.full(len(ids), v), ids)
                    self.sym_node[s.gid] = v

    def roots(self):
        """Root nodes: the sections marked so far, and the definitions of the symbols
        the command line, scripts and the dynamic symbol table name."""
        ctx, cfg = self.ctx, self.ctx.config
        st = ctx.symtab
        names = list(cfg.undefined) + list(cfg.require_defined)
        entry = cfg.entry or ctx.script_entry or "_start"
        names.append(entry)
        names += [cfg.init, cfg.fini]
        if ctx.script is not None:
            names += getattr(ctx.script, "externs", [])
        if cfg.defsyms:
            from ldpy import expr
            for sym, node, _ in ctx.defsyms:
                names += list(expr.symbols_in(node))
        self.command_line = set()
        gids = []
        for n in names:
            s = st.get(n.encode()) if n else None
            if s is not None:
                gids.append(s.gid)
                self.command_line.add(s.gid)
        # what the dynamic symbol table exports (GNU ld: only with dynamic sections)
        if ctx.is_dynamic or cfg.gc_keep_exported:
            lib_refs = set()
            for sf in ctx.shared_files:
                lib_refs.update(n.encode() for n in sf.undefined_names)
            export_all = cfg.shared or cfg.export_dynamic or cfg.gc_keep_exported
            for s in st.symbols:
                if s.kind == DEFINED and s.section is not None and (
                        s.name in lib_refs or
                        (s.visibility in (STV_DEFAULT, STV_PROTECTED) and (export_all or s.export))):
                    gids.append(s.gid)
        nodes = self.sym_node[np.array(gids, np.int64)] if gids else np.zeros(0, np.int64)
        root = np.zeros(self.nodes, bool)
        root[:self.n] = self.root
        root[nodes[nodes >= 0]] = True
        return root

    # -- mark and sweep ----------------------------------------------------------
    def mark(self, live):
        src = np.concatenate(self.src) if self.src else np.zeros(0, np.int64)
        dst = np.concatenate(self.dst) if self.dst else np.zeros(0, np.int64)
        # edges that cannot change anything go before the sort: a section reaching
        # itself, and targets that are neither removable sections nor virtual nodes
        useful = np.ones(self.nodes + 1, bool)         # (index -1 lands on the last: False)
        useful[:self.n] = self.cand
        useful[-1] = False
        ok = (src >= 0) & useful[dst] & (src != dst)
        src, dst = src[ok], dst[ok]
        order = np.argsort(src, kind="stable")
        dst = dst[order]
        indptr = np.zeros(self.nodes + 1, np.int64)
        np.cumsum(np.bincount(src, minlength=self.nodes), out=indptr[1:])
        frontier = np.flatnonzero(live)
        # --why-live: the node that first reached each node (-1 for roots)
        self.parent = parent = np.full(self.nodes, -1, np.int64) if self.ctx.config.why_live else None
        while len(frontier):
            lo = indptr[frontier]
            n = indptr[frontier + 1] - lo
            tot = int(n.sum())
            if not tot:
                break
            reached = dst[np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(tot)]
            new = ~live[reached]
            if parent is None:
                frontier = unique(reached[new])
            else:
                sources = np.repeat(frontier, n)[new]
                frontier, first = np.unique(reached[new], return_index=True)
                parent[frontier] = sources[first]
            live[frontier] = True
        return live

    def why_live(self, live, patterns):
        """--why-live=GLOB: for each defined symbol whose name matches, the chain of
        sections that keeps its section (first reacher of each), ending at a root."""
        import fnmatch
        lines = []
        for s in self.ctx.symtab.symbols:
            name = s.name.decode("utf-8", "replace")
            if s.kind != DEFINED or s.section is None or \
                    not any(fnmatch.fnmatchcase(name, p) for p in patterns):
                continue
            node = int(self.sym_node[s.gid])
            if node < 0:
                continue
            if not live[node]:
                lines.append(f"{name} in {self._node_name(node)} is not live: nothing reaches it\n")
                continue
            lines.append(f"live symbol: {name} in {self._node_name(node)}\n")
            seen = {node}
            while self.parent[node] >= 0 and int(self.parent[node]) not in seen:
                node = int(self.parent[node])
                seen.add(node)
                lines.append(f">>> referenced by {self._node_name(node)}\n")
            lines.append(">>> which is a root (the entry point, -u, an exported symbol, KEEP, or a "
                         "section GNU ld always keeps)\n")
        return lines

    def _node_name(self, node):
        if node >= self.n:
            return "the __start_/__stop_ symbols of a section"
        sec = self.section(node)
        return f"{sec.file.name}:({sec.name})"

    def sweep(self, live):
        dead = self.cand & ~live[:self.n]
        removed = []
        if not dead.any():
            return removed
        ids = np.flatnonzero(dead).tolist()
        files = self.ctx.files
        fi = np.searchsorted(self.sec_base, np.array(ids, np.int64), side="right") - 1
        for gid, k in zip(ids, fi.tolist()):
            f = files[k]
            sec = f.sections[gid - f.sec_base]
            sec.live = False
            removed.append(sec)
        return removed

    def forget_references(self, live):
        """Undefined (or shared-library) symbols that only removed sections referenced:
        no errors for them and, as in GNU ld, no .symtab entries."""
        ctx = self.ctx
        G = len(ctx.symtab.symbols)
        dead_refs = np.zeros(G, np.int64)
        live_refs = np.zeros(G, np.int64)
        if self.rel is not None:
            sid, gkey = self.rel
            glob = gkey >= 0
            ok = live[sid]
            dead_refs += np.bincount(gkey[glob & ~ok], minlength=G)
            live_refs += np.bincount(gkey[glob & ok], minlength=G)
        if self.eh is not None:
            rec, r_cie, covered, gkey = self.eh
            glob = gkey >= 0
            cov = covered[np.maximum(rec, 0)]
            ok = r_cie | (rec < 0) | (cov < 0) | live[np.maximum(cov, 0)]
            dead_refs += np.bincount(gkey[glob & ~ok], minlength=G)
            live_refs += np.bincount(gkey[glob & ok], minlength=G)
        cand = np.flatnonzero((dead_refs > 0) & (live_refs == 0))
        syms = ctx.symtab.symbols
        cand = [g for g in cand.tolist() if syms[g].kind in (UNDEF, SHARED) and g not in self.command_line]
        if cand:
            cand = set(cand) - _nonalloc_references(ctx, cand)
        ctx.gc_unreferenced = cand = set(cand)
        for g in cand:
            s = syms[g]
            if s.kind == UNDEF:
                s.strong_ref = s.referenced = False
                ctx.symtab.undefined.discard(s.name)


def _nonalloc_references(ctx, gids):
    """Which of gids relocations in non-allocated sections (debug information) use."""
    want = np.array(sorted(gids), np.int64)
    found = set()
    files = ctx.files
    counts = np.fromiter((len(f.global_ids) for f in files), np.int64, len(files))
    all_gids = np.concatenate([f.global_ids for f in files])
    hit_files = unique(np.repeat(np.arange(len(files)), counts)[isin(all_gids, want)])
    for k in hit_files.tolist():
        f = files[k]
        idx = np.flatnonzero(isin(f.global_ids, want)) + f.first_global
        for sec in f.sections:
            if sec is None or not sec.live or sec.flags & SHF_ALLOC or sec.relocs is None:
                continue
            sym = reloc_sym(sec.relocs["r_info"])
            used = sym[isin(sym, idx)]
            found.update(f.global_ids[used - f.first_global].tolist())
    return found
