"""--icf=all|safe: identical code folding, as gold and lld do it.

Where it runs.  One pass in driver.link(), after --gc-sections and before
assign_sections.  DESIGN.md puts ICF after section assignment (mold folds
sections it has already given an output section); ldpy folds just before it,
because a folded section then ends exactly like a discarded COMDAT copy
(`live = False`): assign_sections never places it, prunes its .eh_frame FDEs
with the COMDAT/--gc-sections code, -Map lists it as discarded, and nothing
placed has to be taken back out of an output section.  What assignment would
decide and ICF needs is asked of the same placement rules: two sections only
fold when they go to the same output section (lld's rule): the script's
description that takes them (ldpy's default script or the user's; an orphan by
its name; sections a script /DISCARD/s never fold).

What may fold (the candidates).  Live, allocated, read-only SHT_PROGBITS input
sections that are not empty and are either executable (SHF_EXECINSTR) or
.gcc_except_table* (gold's set: .text*, .gnu.linkonce.t* and the LSDAs, which
must fold for functions with exception tables to fold).  Read-only data is not
folded in either mode: lld folds read-only data only when no symbol makes its
address significant, and objects without .llvm_addrsig (everything GCC makes)
make every data section's address significant for lld, so gold and lld agree
on GCC objects.  Never candidates: .init/.fini, sections named like C
identifiers (__start_/__stop_ can enumerate them), SHF_MERGE, SHF_TLS,
SHF_LINK_ORDER and SHF_WRITE sections, members of non-COMDAT section groups,
sections defining a --keep-unique symbol.

With --icf=safe, gold's heuristic (there are no .llvm_addrsig tables to read):
a function folds only when its address is not taken, i.e. every relocation
that reaches its section from an allocated section is a call or a branch,
vtables (.rodata._ZTV*, .data.rel.ro._ZTV*, and the _ZTC construction vtables)
and .eh_frame excepted as in gold: PLT kinds, or a 32-bit PC-relative relocation in
executable code right after a call (e8), jmp (e9) or jcc (0f 8x) opcode.  Absolute
kinds (x86-64's 64/32/32S/16/8), GOT-relative and GOT loads, and PC32 anywhere else (lea), take
the address (relocations against STT_OBJECT symbols do not count, as in gold).
C++ constructors and destructors fold even then, recognized by the section
name as gold does (the mangled name after the last '.' starts with _ZN/_ZZ and
ends in a C1-C5/D0-D5 ctor/dtor name): their address cannot be taken.  Also
not folded in safe mode: sections defining a symbol exported to .dynsym (other
modules may compare its address; lld's rule).

When two candidates are equal.  Same output section, same flags, same size,
same bytes, same relocations (offset, type, and target), and the same unwind
information: each FDE covering the section (its bytes but the length, the CIE
pointer, the pc_begin field and trailing DW_CFA_nop padding; its place in the
section) and the FDE's CIE (bytes and
relocations: the personality routine), with the FDE's LSDA relocation compared
like any other (gold's rule; mold's arch-x86_64-icf-personality test).
Alignment need not be equal: the kept copy takes the largest alignment of the
sections folded into it (lld; mold's icf-alignment-bug test).  Relocation
targets are equal when they are
  * in candidate sections of the same class, at the same offset (symbol value
    plus addend): the part that changes while classes are refined;
  * the same place of the same other section (a local, a section symbol or a
    global defined there);
  * the same string (or constant) of SHF_MERGE sections, which assign_sections
    will merge, possibly from different files (as gold compares them);
  * the same global symbol, for undefined, shared-library, common, ifunc and
    preemptible symbols.  A preemptible symbol (-shared, default visibility, no
    -Bsymbolic) only ever matches itself: another module may interpose it, so
    two sections calling different preemptible functions differ even when the
    callees are identical here (lld's rule; mold's icf-preemption test).  The
    sections that define preemptible functions still fold among themselves, as
    gold, lld and mold all do with -shared --icf=all.

The algorithm is lld's partition refinement, vectorized.  Every candidate's
bytes (its section, then per FDE the FDE's bytes after pc_begin) are copied
into one array, each candidate word-aligned (one slice per segment: cheaper
than per-byte index arrays over all the code of the link); all candidates are
hashed at once (segmented sums of mixed 64-bit words with position-dependent
multipliers), grouped by (output section, flags, length, hash), and every
group is checked word for word against its first member (a hash collision
falls back to sorting that group's rows exactly).  Candidates whose bytes
nobody shares stay alone.  The others get one row per relocation (position,
type, constant target part; the FDE's place and its CIE's byte id as pseudo
rows); equal row tuples get equal ids, and per number of rows the (bytes
class, row ids...) matrices are grouped: the constant classes.  All sections
of a constant class start out equal (so mutually recursive functions fold,
which gold's three checksum rounds cannot); each round regroups every class by
the classes its relocations point to, until the number of classes stops
growing.  One numpy grouping per distinct relocation count per round; Python
steps remain per candidate name (output section, ctor/dtor test), per byte
segment, per distinct CIE, per relocation to a SHF_MERGE string, and per
folded section.  llvm-big (70k candidates): about 1.2 s with --icf=all.

Folding.  In each final class with more than one member the first section in
input order is kept.  The others become `live = False` (like discarded COMDAT
copies: not placed, their FDEs pruned by assign_sections); global symbols
defined in them move to the kept section at the same offset; their local and
section symbols (and so every relocation against them) take the kept
section's address through relocs.SectionIds (ctx.icf_fold); they stay in
.symtab at the kept address, as lld and mold list them.  Debug information of
a folded section gets GNU ld's tombstone, as for --gc-sections, except in
.debug_line (lld's rule: a breakpoint on the folded function must still work).

--print-icf-sections prints gold's lines, in input order of the folded
sections, then the bytes saved; --stats prints that total too.
"""
import re
import sys

import numpy as np

from ldpy.diag import LinkError, PROG, diag
from ldpy.arch.base import K_ABS, K_GOT, B_P
from ldpy.elf.format import (reloc_sym, reloc_type, SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_MERGE, SHF_STRINGS, SHF_TLS,
                             SHF_LINK_ORDER, SHF_GROUP, SHN_LORESERVE, SHT_PROGBITS, STT_SECTION,
                             STT_OBJECT, STT_FUNC, STT_GNU_IFUNC, STV_DEFAULT, STV_PROTECTED)
from ldpy.elf.eh_frame import eh_frame_records, eh_record_arrays
from ldpy.sections import is_c_identifier
from ldpy.symbols import DEFINED, COMMON
from ldpy.util import file_buffers, unique, isin

# kinds of relocation-row targets (column a1 of a row; >= 0: the id of a section that
# is no candidate): in a candidate (compared by class), a SHF_MERGE piece, a symbol
# compared by name, no section; and the pseudo rows of an FDE (its place in the
# section) and of its CIE (the id of the CIE's bytes)
_VAR, _MERGE, _BYNAME, _NOSEC, _FDE, _CIE = -1, -2, -3, -4, -5, -6

# gold's sections whose pointers never make a function unsafe to fold (--icf=safe):
# vtables and construction vtables (a virtual function's address cannot be
# compared), and the unwind tables
_NOT_ADDRESS_TAKING = (".rodata._ZTV", ".data.rel.ro._ZTV", ".rodata._ZTC", ".data.rel.ro._ZTC",
                       ".eh_frame")


def fold_identical_code(ctx):
    icf = _Icf(ctx)
    icf.run()


class _Icf:
    def __init__(self, ctx):
        self.ctx = ctx
        self.cfg = ctx.config
        self.t = ctx.target
        self.safe = self.cfg.icf == "safe"

    # -- the whole pass ----------------------------------------------------------
    def run(self):
        ctx = self.ctx
        ctx.icf_fold = None
        ctx.icf_gfolded = None
        ctx.icf_saved = 0
        self.tables()
        self.candidates()
        n = len(self.cand_ids)
        rounds = 0
        if n >= 2:
            self.eh_frames()
            self.gather_bytes()
            cls, rounds = self.classes()
            folded, kept = self.fold(cls)
        else:
            folded = kept = np.zeros(0, np.int64)
        self.report(folded, kept, rounds)

    # -- link-wide tables --------------------------------------------------------
    def tables(self):
        ctx = self.ctx
        files = ctx.files
        base = 0
        for f in files:
            f.sec_base = base
            base += len(f.sections)
        self.N = N = base
        nf = len(files)
        self.flat = flat = [s for f in files for s in f.sections]
        self.nsec = np.fromiter((len(f.sections) for f in files), np.int64, nf)
        self.sec_base = np.fromiter((f.sec_base for f in files), np.int64, nf)
        self.fg = np.fromiter((f.first_global for f in files), np.int64, nf)
        self.nsym = np.fromiter((len(f.symbols) for f in files), np.int64, nf)
        self.lbase = np.concatenate(([0], np.cumsum(self.fg)))[:-1]
        self.gbase = np.concatenate(([0], np.cumsum(self.nsym - self.fg)))[:-1]
        if files:
            self.loc_shndx = np.concatenate([f.shndx[:f.first_global] for f in files])
            loc = [f.symbols[:f.first_global] for f in files]
            self.loc_value = np.concatenate([s["st_value"] for s in loc]).astype(np.int64)
            self.loc_type = (np.concatenate([s["st_info"] for s in loc]) & 0xf).astype(np.int64)
            self.all_gids = np.concatenate([f.global_ids for f in files]).astype(np.int64)
            shdrs = np.concatenate([f.shdrs.view(np.uint8) for f in files]).view(files[0].shdrs.dtype)
        else:
            self.loc_shndx = self.loc_value = self.loc_type = self.all_gids = np.zeros(0, np.int64)
            shdrs = np.zeros(0, [("sh_flags", np.int64), ("sh_type", np.int64), ("sh_size", np.int64),
                                 ("sh_offset", np.int64)])
        self.flags = shdrs["sh_flags"].astype(np.int64)
        self.stype = shdrs["sh_type"].astype(np.int64)
        self.size = shdrs["sh_size"].astype(np.int64)
        self.sh_offset = shdrs["sh_offset"].astype(np.int64)
        self.entsize = shdrs["sh_entsize"].astype(np.int64) if len(shdrs) else np.zeros(0, np.int64)
        self.live = np.fromiter((s is not None and s.live for s in flat), bool, N)
        self.sec_file = np.repeat(np.arange(nf), self.nsec)
        # the mapped buffers the files lie in (an archive's members share one)
        self.bufs, self.file_buf, self.file_buf_base = file_buffers(files)
        # global symbols: where they are defined, and which are compared by identity;
        # filled in for the symbols relocations name, when they first do (_global_info)
        G = self.G = len(ctx.symtab.symbols)
        self.g_known = np.zeros(G, bool)
        self.g_sec = np.full(G, -1, np.int64)
        self.g_value = np.zeros(G, np.int64)
        self.g_type = np.zeros(G, np.int64)
        self.g_byname = np.zeros(G, bool)

    def _global_info(self, gids):
        need = unique(gids[(gids >= 0)])
        need = need[~self.g_known[need]]
        if not len(need):
            return
        syms = self.ctx.symtab.symbols
        sub = [syms[g] for g in need.tolist()]
        n = len(sub)
        sec = np.fromiter((s.section.file.sec_base + s.section.index
                           if s.kind == DEFINED and s.section is not None and not s.absolute
                           else -1 for s in sub), np.int64, n)
        self.g_sec[need] = sec
        self.g_value[need] = np.fromiter((s.value & 0xffffffffffffffff for s in sub), np.uint64,
                                         n).view(np.int64)
        self.g_type[need] = np.fromiter((s.type for s in sub), np.int64, n)
        byname = np.fromiter((s.is_ifunc for s in sub), bool, n) | (sec < 0)
        if self.cfg.shared:
            byname |= self._preemptible(sub, need)
        self.g_byname[need] = byname
        self.g_known[need] = True

    def _preemptible(self, syms, gids):
        """Which of syms (ids gids) another module may interpose (relocs.SymbolKeys'
        rule)."""
        ctx, cfg = self.ctx, self.cfg
        G = len(syms)
        kind = np.fromiter((s.kind for s in syms), np.int8, G)
        vis = np.fromiter((s.visibility for s in syms), np.uint8, G)
        func = np.fromiter((s.type in (STT_FUNC, STT_GNU_IFUNC) for s in syms), bool, G)
        pre = ((kind == DEFINED) | (kind == COMMON)) & (vis == STV_DEFAULT)
        if cfg.symbolic == "all":
            pre[:] = False
        elif cfg.symbolic == "functions":
            pre &= ~func
        elif cfg.symbolic == "non-weak-functions":
            pre &= ~(func & np.fromiter((not s.weak for s in syms), bool, G))
        if ctx.dynamic_list is not None:
            pre &= isin(gids, np.fromiter(ctx.dynamic_list, np.int64, len(ctx.dynamic_list)))
        return pre

    # -- candidates --------------------------------------------------------------
    def candidates(self):
        ctx = self.ctx
        fl = self.flags
        ok = self.live & (self.stype == SHT_PROGBITS) & (self.size > 0) & ((fl & SHF_ALLOC) != 0) & \
            ((fl & (SHF_WRITE | SHF_MERGE | SHF_TLS | SHF_LINK_ORDER)) == 0)
        # non-COMDAT groups keep their members together
        for f in ctx.files:
            for _sig, is_comdat, members, _ in f.groups:
                if not is_comdat:
                    ok[f.sec_base + np.asarray(members, np.int64)] = False
        exe = (fl & SHF_EXECINSTR) != 0
        idx = np.flatnonzero(ok)
        flat = self.flat
        taker = ctx.outputs.rule_taking
        out_ids = {}
        out = np.full(self.N, -1, np.int64)
        keep = np.zeros(self.N, bool)
        for i in idx.tolist():
            sec = flat[i]
            name = sec.name
            if not exe[i] and not name.startswith(".gcc_except_table"):
                continue
            if name in (".init", ".fini") or (name[:1] != "." and is_c_identifier(name)) or \
                    sec.compressed is not None:
                continue
            st = taker(sec, sec.file)
            if st is not None and st.name == "/DISCARD/":
                continue
            where = id(st) if st is not None else name     # (an orphan: same-named ones combine)
            out[i] = out_ids.setdefault(where, len(out_ids))
            keep[i] = True
        # --keep-unique symbols
        st = ctx.symtab
        for name in self.cfg.keep_unique:
            s = st.get(name.encode())
            if s is None or s.kind != DEFINED:
                diag.warn(f"--keep-unique: could not find symbol {name}")
                continue
            if s.section is not None:
                keep[s.section.file.sec_base + s.section.index] = False
        if self.safe:
            taken = self._address_taken(keep)
            for i in np.flatnonzero(taken & exe).tolist():     # C++ constructors, destructors
                name = flat[i].name
                if _CTOR_HINT.search(name) and _is_ctor_or_dtor(name):
                    taken[i] = False
            keep &= ~taken
            keep[self._exported_sections()] = False
        self.out = out
        self.cand = keep
        self.cand_ids = np.flatnonzero(keep)
        self.cord = np.full(self.N + 1, -1, np.int64)     # (index -1 reads the last: -1)
        self.cord[self.cand_ids] = np.arange(len(self.cand_ids))

    def _exported_sections(self):
        """Sections defining symbols .dynsym will export (gc.py's roots rule)."""
        ctx, cfg = self.ctx, self.cfg
        if not (ctx.is_dynamic or cfg.export_dynamic):
            return np.zeros(0, np.int64)
        lib_refs = set()
        for sf in ctx.shared_files:
            lib_refs.update(n.encode() for n in sf.undefined_names)
        export_all = cfg.shared or cfg.export_dynamic
        out = [s.section.file.sec_base + s.section.index for s in ctx.symtab.symbols
               if s.kind == DEFINED and s.section is not None and (
                   s.name in lib_refs or
                   (s.visibility in (STV_DEFAULT, STV_PROTECTED) and (export_all or s.export)))]
        return np.array(out, np.int64)

    def _address_taken(self, cand):
        """Candidate sections some relocation takes the address of (gold's rule)."""
        t = self.t
        secs = [s for i, s in enumerate(self.flat)
                if s is not None and s.live and s.relocs is not None and len(s.relocs) and
                s.flags & SHF_ALLOC and not s.name.startswith(_NOT_ADDRESS_TAKING)] if cand.any() else []
        taken = np.zeros(self.N, bool)
        if not secs:
            return taken
        sid, off, typ, sym, addend = self._relocs(secs)
        fidx = self.sec_file[sid]
        _t, _val, _byname, gid, styp, tsec = self._resolve(fidx, sym, addend)
        hit = (tsec >= 0) & cand[np.maximum(tsec, 0)] & (styp != STT_OBJECT)
        # address-taking kinds: absolute (also GOT-relative) addresses and GOT loads
        fp_types = ((t.KIND == K_ABS) & (t.BASE != B_P)) | (t.KIND == K_GOT)
        typ_c = np.clip(typ, 0, t.NTYPES - 1)
        addr = hit & fp_types[typ_c] & (typ < t.NTYPES)
        pc = np.flatnonzero(hit & t.IS_PC32[typ_c] & (typ < t.NTYPES))
        if len(pc):
            exe = (self.flags[sid[pc]] & SHF_EXECINSTR) != 0
            o = off[pc]
            base = self.file_buf_base[fidx[pc]] + self.sh_offset[sid[pc]]
            b1 = self._bytes_at(self.file_buf[fidx[pc]], base + np.maximum(o - 1, 0))
            b2 = self._bytes_at(self.file_buf[fidx[pc]], base + np.maximum(o - 2, 0))
            branch = ((o >= 1) & ((b1 == 0xe8) | (b1 == 0xe9))) | \
                ((o >= 2) & (b2 == 0x0f) & (b1 >= 0x80) & (b1 <= 0x8f))
            addr[pc[~(exe & branch)]] = True
        taken[tsec[addr]] = True
        return taken

    # -- relocations -------------------------------------------------------------
    def _relocs(self, secs):
        """(section id, offset, type, symbol index, addend) of every relocation of secs."""
        rels = [s.relocs for s in secs]
        counts = np.fromiter(map(len, rels), np.int64, len(rels))
        rel = np.concatenate([r.view(np.uint8) for r in rels]).view(rels[0].dtype)
        ids = np.fromiter((s.file.sec_base + s.index for s in secs), np.int64, len(secs))
        info = rel["r_info"]
        sym, typ = reloc_sym(info), reloc_type(info)
        sid = np.repeat(ids, counts)
        fidx = self.sec_file[sid]
        bad = sym >= self.nsym[fidx]
        if bad.any():
            k = int(np.argmax(bad))
            sec = self.flat[int(sid[k])]
            raise LinkError(f"{sec.where(int(rel['r_offset'][k]))}: relocation refers to symbol index "
                            f"{int(sym[k])} beyond the symbol table")
        return sid, rel["r_offset"].astype(np.int64), typ, sym, rel["r_addend"].astype(np.int64)

    def _resolve(self, fidx, sym, addend):
        """Per relocation: target section id (-1: none, or compared by symbol), symbol
        value, compared-by-symbol flag, global id (-1: a local), symbol type, and the
        section the symbol is defined in even when it is compared by symbol."""
        fg = self.fg[fidx]
        local = sym < fg
        lpos = np.where(local, self.lbase[fidx] + sym, 0)
        gpos = np.where(local, 0, self.gbase[fidx] + sym - fg)
        if len(self.loc_shndx):
            lsh = self.loc_shndx[np.minimum(lpos, len(self.loc_shndx) - 1)]
            lval = self.loc_value[np.minimum(lpos, len(self.loc_shndx) - 1)]
            ltyp = self.loc_type[np.minimum(lpos, len(self.loc_shndx) - 1)]
        else:
            lsh = lval = ltyp = np.zeros(len(sym), np.int64)
        gid = np.where(local, -1, self.all_gids[np.minimum(gpos, max(len(self.all_gids) - 1, 0))]
                       if len(self.all_gids) else -1)
        self._global_info(gid)
        g = np.maximum(gid, 0)
        in_sec = local & (lsh > 0) & (lsh < self.nsec[fidx])    # (reserved indexes are negative)
        byname = ~local & (self.g_byname[g] if self.G else True)
        real = np.where(local, np.where(in_sec, self.sec_base[fidx] + lsh, -1),
                        self.g_sec[g] if self.G else -1)
        tsec = np.where(byname, -1, real)
        val = np.where(local, lval, self.g_value[g] if self.G else 0)
        styp = np.where(local, ltyp, self.g_type[g] if self.G else 0)
        return tsec, val, byname, gid, styp, real

    def _bytes_at(self, buf_ids, pos):
        """The byte at pos of buffer buf_ids, for each pair: one gather per buffer."""
        out = np.zeros(len(pos), np.uint8)
        order = np.argsort(buf_ids, kind="stable")
        sb = buf_ids[order]
        present = unique(sb)
        lo = np.searchsorted(sb, present, side="left")
        hi = np.searchsorted(sb, present, side="right")
        for b, a, e in zip(present.tolist(), lo.tolist(), hi.tolist()):
            sel = order[a:e]
            buf = self.bufs[b]
            out[sel] = buf[np.minimum(pos[sel], len(buf) - 1)]
        return out

    # -- unwind information ------------------------------------------------------
    def eh_frames(self):
        """The FDEs of candidate sections (self.fde: candidate, record, pc_begin width,
        CIE record, offset covered; records' starts, ends and sections) and the
        relocations of the .eh_frame sections (self.eh_rel).  Records come from
        --gc-sections' reading when it did, else from gc.py's vectorized reader."""
        ctx = self.ctx
        eh = [s for s in self.flat if s is not None and s.live and s.name == ".eh_frame"
              and s.relocs is not None and len(s.relocs)]
        self.fde = None
        if not eh:
            return
        sid, off, typ, sym, addend = self._relocs(eh)
        known = ctx.eh_frame_records
        if any(id(s) not in known for s in eh):
            from ldpy.gc import SectionGraph
            g = SectionGraph(ctx)
            g.load_buffers(ctx.files)
            counts = np.fromiter((len(s.relocs) for s in eh), np.int64, len(eh))
            missing = [k for k, s in enumerate(eh) if id(s) not in known]
            sel = isin(np.repeat(np.arange(len(eh)), counts), missing)
            ordmap = np.full(len(eh), -1, np.int64)
            ordmap[missing] = np.arange(len(missing))
            try:
                g.add_eh_records([eh[k] for k in missing], ordmap[np.repeat(np.arange(len(eh)), counts)[sel]],
                              off[sel])
            except (ValueError, IndexError):   # an unusual .eh_frame: walk it record by record
                for k in missing:
                    known[id(eh[k])] = eh_record_arrays(eh_frame_records(eh[k]))
        parts = [eh_record_arrays(known[id(s)]) for s in eh]
        nrec = np.fromiter((len(p[0]) for p in parts), np.int64, len(eh))
        ehid = np.fromiter((s.file.sec_base + s.index for s in eh), np.int64, len(eh))
        rsec = np.repeat(ehid, nrec)
        starts = np.concatenate([p[0] for p in parts])
        ends = np.concatenate([p[1] for p in parts])
        is_cie = np.concatenate([p[2] for p in parts])
        cie_start = np.concatenate([p[3] for p in parts])
        # records and relocations by (section id, offset) keys
        rkey = (rsec << 32) + starts
        order = np.argsort(rkey, kind="stable")
        rkey, rsec, starts, ends, is_cie, cie_start = (a[order] for a in
                                                       (rkey, rsec, starts, ends, is_cie, cie_start))
        rec = np.searchsorted(rkey, (sid << 32) + off, side="right") - 1
        inside = (rec >= 0) & (rsec[np.maximum(rec, 0)] == sid) & (off < ends[np.maximum(rec, 0)])
        rec = np.where(inside, rec, -1)
        fidx = self.sec_file[sid]
        # (the FDE belongs to the section its pc_begin symbol is defined in, even when
        # that symbol is compared by name)
        _t, val, _byname, _gid, styp, tsec = self._resolve(fidx, sym, addend)
        r = np.maximum(rec, 0)
        pcb = inside & ~is_cie[r] & (off == starts[r] + 8)
        cov = pcb & (tsec >= 0) & self.cand[np.maximum(tsec, 0)]
        k = np.flatnonzero(cov)
        width = self.t.WIDTH[np.clip(typ[k], 0, len(self.t.WIDTH) - 1)]
        width = np.where(width > 0, width, 4)
        ck = (rsec[rec[k]] << 32) + cie_start[rec[k]]
        crec = np.minimum(np.searchsorted(rkey, ck), len(rkey) - 1)
        good = (rkey[crec] == ck) & is_cie[crec]
        k, width, crec = k[good], width[good], crec[good]
        self.fde = dict(cand=self.cord[tsec[k]], rec=rec[k], width=width, cie=crec, pc=val[k] + addend[k],
                        starts=starts, ends=ends, rsec=rsec)
        self.eh_rel = dict(sid=sid, off=off, typ=typ, sym=sym, addend=addend, rec=rec, pcb=pcb)

    # -- bytes -------------------------------------------------------------------
    def gather_bytes(self):
        """Each candidate's bytes (section, then per FDE its bytes after pc_begin) in
        one array, each candidate starting on an 8-byte boundary; where each FDE went
        (for its relocation rows), and an id for the bytes of each FDE's CIE."""
        ids = self.cand_ids
        n = len(ids)
        sf = self.sec_file[ids]
        seg_k = [np.arange(n)]
        seg_ord = [np.zeros(n, np.int64)]
        seg_buf = [self.file_buf[sf]]
        seg_src = [self.file_buf_base[sf] + self.sh_offset[ids]]
        seg_len = [self.size[ids]]
        fde = self.fde
        if fde is not None and len(fde["cand"]):
            kk = fde["cand"]
            order = np.lexsort((fde["rec"], fde["pc"], kk))
            for key in ("cand", "rec", "width", "cie", "pc"):
                fde[key] = fde[key][order]
            kk = fde["cand"]
            first = np.searchsorted(kk, kk)
            rank = np.arange(len(kk)) - first
            fde["rank"] = rank
            esec = fde["rsec"][fde["rec"]]
            ef = self.sec_file[esec]
            base = self.file_buf_base[ef] + self.sh_offset[esec]
            s0, e0 = fde["starts"][fde["rec"]], fde["ends"][fde["rec"]]
            cs, ce = fde["starts"][fde["cie"]], fde["ends"][fde["cie"]]
            fde["body"] = body = s0 + 8 + fde["width"]
            # the FDE's length is left out and so are its trailing DW_CFA_nop bytes: the
            # last FDE of an object is padded to 8 bytes, the others to 4
            bf = self.file_buf[ef]
            end = e0.copy()
            floor = body + fde["width"]           # (never into pc_range)
            for _ in range(16):
                nop = (end > floor) & (self._bytes_at(bf, base + np.maximum(end - 1, 0)) == 0)
                if not nop.any():
                    break
                end -= nop
            seg_k.append(kk)
            seg_ord.append(1 + rank)
            seg_buf.append(self.file_buf[ef])
            seg_src.append(base + body)
            seg_len.append(np.maximum(end - body, 0))
            # the CIE by the id of its bytes (its relocations are rows like the FDE's)
            _, one, cinv = np.unique(fde["cie"], return_index=True, return_inverse=True)
            ids_of = {}
            cid = np.fromiter((ids_of.setdefault(self.bufs[b][a:e].tobytes(), len(ids_of))
                               for b, a, e in zip(bf[one].tolist(), (base[one] + cs[one]).tolist(),
                                                  (base[one] + ce[one]).tolist())), np.int64, len(one))
            fde["cie_id"] = cid[cinv.reshape(-1)]
        seg_k, seg_ord, seg_buf, seg_src, seg_len = (np.concatenate(x) for x in
                                                      (seg_k, seg_ord, seg_buf, seg_src, seg_len))
        order = np.lexsort((seg_ord, seg_k))
        seg_k, seg_ord, seg_buf, seg_src, seg_len = (a[order] for a in
                                                      (seg_k, seg_ord, seg_buf, seg_src, seg_len))
        L = np.bincount(seg_k, weights=seg_len, minlength=n).astype(np.int64)
        Lp = (L + 7) & ~7                             # each candidate starts on a word
        start = np.concatenate(([0], np.cumsum(Lp)))[:-1]
        within = np.cumsum(seg_len) - seg_len
        kfirst = np.searchsorted(seg_k, seg_k)
        seg_dst = within - within[kfirst]            # offset of each segment in its candidate
        # one slice per segment, concatenated in order (a Python step per segment is
        # cheaper than per-byte index arrays over all the code of the link)
        last = np.ones(len(seg_k), bool)
        last[:-1] = seg_k[1:] != seg_k[:-1]
        pad = np.where(last, (Lp - L)[seg_k], 0)
        zeros = np.zeros(8, np.uint8)
        bufs = self.bufs
        pieces = []
        add = pieces.append
        for b, a, ln, pd in zip(seg_buf.tolist(), seg_src.tolist(), seg_len.tolist(), pad.tolist()):
            add(bufs[b][a:a + ln])
            if pd:
                add(zeros[:pd])
        blob = np.concatenate(pieces) if pieces else np.zeros(0, np.uint8)
        self.blob, self.L, self.start = blob, L, start
        # where each FDE's bytes landed (for its relocations)
        if fde is not None and len(fde["cand"]):
            pos = np.flatnonzero(seg_ord > 0)
            key = (seg_k[pos] << 32) + seg_ord[pos]
            want = (fde["cand"] << 32) + 1 + fde["rank"]
            fde["dst"] = seg_dst[pos[np.searchsorted(key, want)]]

    # -- classes -----------------------------------------------------------------
    def classes(self):
        n = len(self.cand_ids)
        content = self._content_classes()
        cnt = np.bincount(content)
        active = np.flatnonzero(cnt[content] > 1)
        cls = content.copy()
        rounds = 0
        if not len(active):
            return cls, rounds
        rows = self._rows(active)
        cls, var = self._constant_classes(content, active, rows)
        # refinement: regroup by the classes of the targets until stable
        vk, vpos, vt = var
        nclass = len(unique(cls))
        while len(vk):
            rounds += 1
            cls = self._refine(cls, vk, vt)
            m = len(unique(cls))
            if m == nclass:
                break
            nclass = m
        return cls, max(rounds, 1)

    def _content_classes(self):
        """Equal (output section, flags, bytes) -> equal id.  Every candidate's words
        are hashed at once (segmented sums of mixed words, position-dependent
        multipliers); each hash group is then compared word for word with its first
        member, and a group that is not all equal (a collision) is sorted exactly."""
        ids = self.cand_ids
        n = len(ids)
        L = self.L
        head = unique_inverse(np.stack([self.out[ids], self.flags[ids] & ~SHF_GROUP, L], axis=1))
        cls = np.full(n, -1, np.int64)
        cnt = np.bincount(head)
        single = cnt[head] == 1
        cls[single] = np.arange(int(single.sum()))
        nxt = int(single.sum())
        sel = np.flatnonzero(~single)
        if not len(sel):
            return cls
        # the blob holds every candidate's words back to back: hash them all
        w = self.blob.view(np.uint64)
        lw = (L + 7) >> 3
        first = self.start >> 3
        jw = np.arange(len(w)) - np.repeat(first, lw)
        mult = _multipliers()
        with np.errstate(over="ignore"):
            x = w ^ (w >> np.uint64(29))
            x *= mult[jw & (len(mult) - 1)]
            x ^= x >> np.uint64(32)
            h = np.add.reduceat(x, first)[sel]
        key = unique_inverse(np.stack([head[sel], h.view(np.int64)], axis=1))
        rep = np.full(int(key.max()) + 1, -1, np.int64)
        rep[key[::-1]] = sel[::-1]                            # first member of each group
        repc = np.arange(n)
        repc[sel] = rep[key]
        eq = w == w[np.repeat(first[repc], lw) + jw]
        ok = np.logical_and.reduceat(eq, first)[sel]
        cls[sel] = key + nxt
        nxt += len(rep)
        if not ok.all():                    # a hash collision: those heads are sorted exactly
            blob, start = self.blob, self.start
            for hd in unique(head[sel[~ok]]).tolist():
                members = np.flatnonzero(head == hd)
                ln = int(L[members[0]])
                inv = _group_rows(blob[start[members][:, None] + np.arange(ln)])
                cls[members] = inv + nxt
                nxt += int(inv.max()) + 1
        return cls

    def _rows(self, active):
        """Relocation rows of the active candidates: (candidate, position, type, a1, a2, a3,
        variable target candidate or -1)."""
        out = []
        flat = self.flat
        ids = self.cand_ids[active]
        secs = [flat[i] for i in ids.tolist() if flat[i].relocs is not None and len(flat[i].relocs)]
        if secs:
            sid, off, typ, sym, addend = self._relocs(secs)
            k = self.cord[sid]
            out.append(self._encode(k, off, typ, sid, sym, addend))
        fde = self.fde
        if fde is not None and len(fde["cand"]):
            isact = np.zeros(len(self.cand_ids), bool)
            isact[active] = True
            fsel = np.flatnonzero(isact[fde["cand"]])
            if len(fsel):
                er = self.eh_rel
                # a pseudo row per FDE: where in the section it starts (pc_begin's target)
                kk = fde["cand"][fsel]
                z = np.zeros(len(fsel), np.int64)
                out.append((kk, fde["dst"][fsel], z - 1, z + _FDE, fde["pc"][fsel], z, z - 1))
                out.append((kk, fde["dst"][fsel], z - 2, z + _CIE, fde["cie_id"][fsel], z, z - 1))
                # relocations inside the FDE (not pc_begin: the LSDA) and inside its CIE
                rec = er["rec"]
                ok = (rec >= 0) & ~er["pcb"]
                ri = np.flatnonzero(ok)
                srt = ri[np.argsort(rec[ri], kind="stable")]
                srec = rec[srt]
                for part, col in ((1, "rec"), (2, "cie")):
                    recs = fde[col][fsel]
                    lo = np.searchsorted(srec, recs, side="left")
                    cnt = np.searchsorted(srec, recs, side="right") - lo
                    tot = int(cnt.sum())
                    if not tot:
                        continue
                    j = np.repeat(np.arange(len(fsel)), cnt)
                    e = srt[np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(tot)]
                    typ = er["typ"][e]
                    if part == 1:
                        pos = fde["dst"][fsel][j] + er["off"][e] - fde["body"][fsel][j]
                        keep = er["off"][e] >= fde["body"][fsel][j]
                        j, e, pos, typ = j[keep], e[keep], pos[keep], typ[keep]
                    else:
                        # a CIE's bytes are not in the candidate's: its relocation rows sit at
                        # the FDE, their offset in the CIE carried in the type column
                        pos = fde["dst"][fsel][j]
                        typ = typ + ((er["off"][e] - fde["starts"][recs][j] + 1) << 16)
                    enc = self._encode(kk[j], pos, typ, er["sid"][e], er["sym"][e], er["addend"][e])
                    out.append(enc)
        if not out:
            z = np.zeros(0, np.int64)
            return z, z, z, z, z, z, z
        return tuple(np.concatenate([o[c] for o in out]) for c in range(7))

    def _encode(self, k, pos, typ, sid, sym, addend):
        fidx = self.sec_file[sid]
        tsec, val, byname, gid, styp, _real = self._resolve(fidx, sym, addend)
        n = len(k)
        a1 = np.full(n, _NOSEC, np.int64)
        a2 = val + addend
        a3 = np.zeros(n, np.int64)
        vt = np.full(n, -1, np.int64)
        ts = np.maximum(tsec, 0)
        insec = tsec >= 0
        var = insec & self.cand[ts]
        a1[var] = _VAR
        vt[var] = self.cord[tsec[var]]
        other = insec & ~var
        a1[other] = tsec[other]
        bn = byname & (gid >= 0)
        a1[bn] = _BYNAME
        a2[bn] = gid[bn]
        a3[bn] = addend[bn]
        # local symbols outside sections (absolute, index 0): by value, and their section index
        ns = ~insec & ~bn
        a3[ns] = -1
        # SHF_MERGE targets: by piece contents
        merge = other & ((self.flags[ts] & SHF_MERGE) != 0)
        if merge.any():
            self._merge_pieces(np.flatnonzero(merge), tsec, val, addend, styp, a1, a2, a3)
        return k, pos, typ, a1, a2, a3, vt

    def _merge_pieces(self, idx, tsec, val, addend, styp, a1, a2, a3):
        """Relocations to SHF_MERGE sections compare the piece they point at (which
        assign_sections merges across files), not its place."""
        pieces = getattr(self, "_pieces", None)
        if pieces is None:
            pieces = self._pieces = {}
            self._sec_bytes = {}
        cache = self._sec_bytes
        flat = self.flat
        for r, s, v, ad, st in zip(idx.tolist(), tsec[idx].tolist(), val[idx].tolist(),
                                   addend[idx].tolist(), styp[idx].tolist()):
            sec = flat[s]
            data = cache.get(s)
            if data is None:
                data = cache[s] = sec.bytes().tobytes()
            es = max(int(self.entsize[s]), 1)
            if st == STT_SECTION:
                at, extra = v + ad, 0
            else:
                at, extra = v, ad
            if not 0 <= at < len(data):
                continue                        # (stays compared by place)
            if self.flags[s] & SHF_STRINGS:
                if es != 1:
                    continue
                end = data.find(b"\0", at)
                key = (1, data[at:end if end >= 0 else len(data)])
            else:
                p0 = at - at % es
                key = (es, data[p0:p0 + es])
                extra += (at - p0) << 40
            a1[r] = _MERGE
            a2[r] = pieces.setdefault(key, len(pieces))
            a3[r] = extra

    def _constant_classes(self, content, active, rows):
        """Classes of the active candidates by bytes and relocation rows (targets in
        candidate sections not yet compared: only the offset into them)."""
        k, pos, typ, a1, a2, a3, vt = rows
        n = len(self.cand_ids)
        # canonical row order in each candidate
        order = np.lexsort((a3, a2, a1, typ, pos, k))
        k, pos, typ, a1, a2, a3, vt = (x[order] for x in (k, pos, typ, a1, a2, a3, vt))
        rid = unique_inverse(np.stack([pos, typ, a1, a2, a3], axis=1)) if len(k) else np.zeros(0, np.int64)
        nrow = np.bincount(k, minlength=n)
        # per number of rows: (content class, row ids...) -> class
        cls = content.copy()
        newc = np.full(n, -1, np.int64)
        first = np.concatenate(([0], np.cumsum(nrow)))[:-1]
        tag = np.full(n, -1, np.int64)
        local = np.zeros(n, np.int64)
        act_n = nrow[active]
        for m in unique(act_n).tolist():
            members = active[act_n == m]
            if m == 0:
                tag[members] = 0
                local[members] = content[members]
                continue
            mat = np.empty((len(members), m + 1), np.int64)
            mat[:, 0] = content[members]
            mat[:, 1:] = rid[first[members][:, None] + np.arange(m)]
            tag[members] = m
            local[members] = unique_inverse(mat)
        # inactive candidates keep their (unique) content class
        inact = np.ones(n, bool)
        inact[active] = False
        tag[inact] = -1
        local[inact] = content[inact]
        newc = unique_inverse(np.stack([tag, local], axis=1))
        var = vt >= 0
        return newc, (k[var], pos[var], vt[var])

    def _refine(self, cls, vk, vt):
        """One round: split every class by the classes its variable targets are in."""
        n = len(cls)
        cnt = np.bincount(cls)
        nv = np.bincount(vk, minlength=n)
        tag = np.full(n, -1, np.int64)
        local = cls.copy()
        movable = (cnt[cls] > 1) & (nv > 0)
        first = np.concatenate(([0], np.cumsum(nv)))[:-1]
        tc = cls[vt]
        mv = np.flatnonzero(movable)
        for m in unique(nv[mv]).tolist():
            members = mv[nv[mv] == m]
            mat = np.empty((len(members), m + 1), np.int64)
            mat[:, 0] = cls[members]
            mat[:, 1:] = tc[first[members][:, None] + np.arange(m)]
            tag[members] = m
            local[members] = unique_inverse(mat)
        return unique_inverse(np.stack([tag, local], axis=1))

    # -- folding -----------------------------------------------------------------
    def fold(self, cls):
        ctx = self.ctx
        n = len(cls)
        order = np.lexsort((np.arange(n), cls))
        c = cls[order]
        head = np.concatenate(([True], c[1:] != c[:-1]))
        leader = order[np.flatnonzero(head)][np.cumsum(head) - 1]     # first member of each class
        fold = order[~head]
        kept = leader[~head]
        if not len(fold):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        fid, kid = self.cand_ids[fold], self.cand_ids[kept]
        o = np.argsort(fid)
        fid, kid = fid[o], kid[o]
        flat = self.flat
        for f, k in zip(fid.tolist(), kid.tolist()):
            fs, ks = flat[f], flat[k]
            fs.live = False
            if fs.align > ks.align:
                ks.align = fs.align
        # global symbols defined in folded sections move to the kept copies: the
        # globals of each file with folded sections, in those sections' indexes
        gfolded = np.zeros(self.G, bool)
        to = {f: k for f, k in zip(fid.tolist(), kid.tolist())}
        syms = ctx.symtab.symbols
        files = ctx.files
        ffile = self.sec_file[fid]
        for fi in unique(ffile).tolist():
            f = files[fi]
            fg = f.first_global
            hit = np.flatnonzero(isin(f.shndx[fg:], fid[ffile == fi] - f.sec_base))
            for g in f.global_ids[hit].tolist():
                s = syms[g]
                sec = s.section
                if s.kind == DEFINED and sec is not None and sec.file is f and \
                        f.sec_base + sec.index in to and not gfolded[g]:
                    s.section = flat[to[f.sec_base + sec.index]]
                    gfolded[g] = True
        ctx.icf_fold = (fid, kid)
        ctx.icf_gfolded = gfolded
        ctx.icf_saved = int(self.size[fid].sum())
        return fid, kid

    def report(self, fid, kid, rounds):
        ctx, cfg = self.ctx, self.cfg
        saved = int(self.size[fid].sum()) if len(fid) else 0
        if cfg.print_icf_sections:
            flat = self.flat
            lines = [f"{PROG}: ICF Converged after {max(rounds, 1)} iteration(s)\n"]
            lines += [f"{PROG}: ICF folding section '{flat[f].name}' in file '{flat[f].file.name}' into "
                      f"'{flat[k].name}' in file '{flat[k].file.name}'\n"
                      for f, k in zip(fid.tolist(), kid.tolist())]
            lines.append(f"{PROG}: ICF folded {len(fid)} section(s), saving {saved} bytes\n")
            sys.stderr.write("".join(lines))
        elif getattr(cfg, "stats", False):
            sys.stderr.write(f"{PROG}: ICF folded {len(fid)} section(s), saving {saved} bytes\n")


_CTOR_HINT = re.compile(r"[CD][0-5]E")      # what every constructor/destructor name has


def _is_ctor_or_dtor(section_name):
    """gold's is_function_ctor_or_dtor: the mangled name after the section's last '.'
    names a C++ constructor or destructor: _ZN <prefix> C1..C5|D0..D5 E <params>.
    The nested name is walked component by component; anything unusual (and local
    entities, _ZZ) answers False, which only keeps a section from folding."""
    name = section_name[section_name.rfind(".") + 1:]
    if not name.startswith("_ZN"):
        return False
    try:
        pos, last = _nested_components(name, 3)
    except (IndexError, ValueError):
        return False
    return last in ("C", "D")


def _nested_components(s, pos):
    """Walk <nested-name> from s[pos] (after 'N') to its 'E': (position after it, kind
    of the last component: 'C' constructor, 'D' destructor, 'n' anything else)."""
    while s[pos] in "rVKRO":
        pos += 1
    last = None
    while True:
        c = s[pos]
        if c == "E":
            return pos + 1, last
        if c.isdigit():
            j = pos
            while s[j].isdigit():
                j += 1
            pos = j + int(s[pos:j])
            last = "n"
        elif c == "C" and s[pos + 1] in "12345":
            pos, last = pos + 2, "C"
        elif c == "D" and s[pos + 1] in "012345":
            pos, last = pos + 2, "D"
        elif c == "S":
            if s[pos + 1] in "tabsiod":
                pos += 2
            else:
                pos = s.index("_", pos) + 1
            last = "n"
        elif c == "I":
            pos = _skip_template_args(s, pos + 1)
            last = "n" if last is None else last
        elif c == "L":                      # a local-name discriminator-ish form: give up
            raise ValueError
        else:
            raise ValueError


def _skip_template_args(s, pos):
    """Position after the 'E' closing template arguments that start at s[pos]."""
    depth = 1
    while depth:
        c = s[pos]
        if c == "E":
            depth -= 1
            pos += 1
        elif c.isdigit():
            j = pos
            while s[j].isdigit():
                j += 1
            pos = j + int(s[pos:j])
        elif c in "INXJF":
            depth += 1
            pos += 1
        elif c == "L":                      # literal: L <type> <value> E, or L_Z <encoding> E
            if s[pos + 1] == "_":
                raise ValueError
            pos = s.index("E", pos) + 1
        elif c in "ST":
            pos = pos + 2 if c == "S" and s[pos + 1] in "tabsiod" else s.index("_", pos) + 1
        elif c == "D":
            pos += 2
        elif c == "u":
            pos += 1
        else:
            pos += 1
    return pos


def unique_inverse(mat):
    """Group ids (0..k-1, ordered by value) of the rows of an int64 matrix (or of a
    1-D array), exactly."""
    mat = np.ascontiguousarray(mat)
    if mat.ndim == 1:
        return np.unique(mat, return_inverse=True)[1].reshape(-1)
    if not len(mat):
        return np.zeros(0, np.int64)
    order = np.lexsort(mat.T[::-1])
    s = mat[order]
    new = np.ones(len(s), bool)
    new[1:] = (s[1:] != s[:-1]).any(axis=1)
    inv = np.empty(len(s), np.int64)
    inv[order] = np.cumsum(new) - 1
    return inv


_MULT = None


def _multipliers():
    """4096 fixed random odd 64-bit multipliers for the content hash."""
    global _MULT
    if _MULT is None:
        rng = np.random.default_rng(0x1cf)
        _MULT = rng.integers(1, 2 ** 63, size=4096, dtype=np.uint64) | np.uint64(1)
    return _MULT


def _group_rows(rows):
    """Exact group ids of the rows of a uint8 matrix (equal bytes -> equal id)."""
    n, ln = rows.shape
    if n == 1:
        return np.zeros(1, np.int64)
    rows = np.ascontiguousarray(rows)
    return np.unique(rows.view(np.dtype((np.void, ln))).reshape(-1), return_inverse=True)[1].reshape(-1)
