"""--emit-relocs (-q): the input relocations kept in a final link, as GNU ld keeps them.

Each output section X that received relocated input gets a non-allocated `.rela.X`
(SHT_RELA, SHF_INFO_LINK, sh_link = .symtab, sh_info = X; `.rel.X`, SHT_REL, on REL
targets, whose addends are lost in the relocated bytes as in BFD's output) right after
it in the section header table.  Every relocation of the link-wide table (relocs.RelocTable) is written
there once the output is relocated:

* r_offset is the place's output address (its offset in the section for
  non-allocated sections, whose address is 0);
* a global symbol keeps its name: the index of that symbol in the output .symtab;
* a local symbol (and a global that .symtab leaves out) becomes the output section's
  STT_SECTION symbol, which .symtab then holds for every output section, with the
  addend moved so that symbol + addend is the same target (pieces of merged strings
  where they landed); an absolute local becomes symbol 0 with the value in the addend;
* a relocation against a removed section (discarded COMDAT copy, --gc-sections)
  becomes type 0 (R_*_NONE) against symbol 0, as BFD leaves it;
* the target may rename a relocation it relaxed (x86-64: a GOTPCRELX load turned into
  `lea` is a PC32 now), as BFD does; TLS sequences keep their types.

Relocations inside SHF_MERGE sections (never made by gcc) are not emitted.
Everything is whole-table numpy over the relocation table.
"""
import numpy as np


from ldpy.util import unique, isin
from ldpy.elf.format import SHT_RELA, SHT_REL, SHF_INFO_LINK, STT_SECTION
from ldpy.sections import OutputSection
from ldpy.symbols import DEFINED, COMMON, SYNTHETIC
from ldpy.synthetic import Synthetic


class RelaOutput(OutputSection):
    """An emitted .rela.X: the output section X it describes, the relocation table's
    section ordinals whose relocations it holds."""
    __slots__ = ("emit_target", "emit_ordinals")


def create_sections(ctx):
    """After the relocation scan: one .rela.X per output section with relocations
    (sized now; written by write_sections).  They join the section list in layout."""
    ctx.emit_rela = []
    rt = ctx.relocs
    if rt is None or rt.empty or ctx.symtab_sec is None:
        return
    from ldpy.elf.format import dtypes
    dt = dtypes(ctx.target.IS64, ctx.target.LITTLE)
    prefix, typ, rela_size = (".rela", SHT_RELA, dt.rela.itemsize) if ctx.target.RELA else \
        (".rel", SHT_REL, dt.rel.itemsize)
    by_out = {}
    for k, s in enumerate(rt.sections):
        if s.merge is not None or getattr(s.output, "output", None) is not None:
            continue            # (a relocation inside merged strings: not emitted)
        by_out.setdefault(id(s.output), [s.output, []])[1].append(k)
    counts = np.bincount(rt.sec_ordinal, minlength=len(rt.sections))
    for out, ords in by_out.values():
        o = RelaOutput(prefix + out.name, typ, 0, 0)
        chunk = Synthetic(o.name, typ, 0, 8 if ctx.target.IS64 else 4, rela_size)
        chunk.size = int(counts[ords].sum()) * rela_size
        o.add(chunk)
        o.size, o.align, o.entsize = chunk.size, chunk.align, rela_size
        o.emit_target = out
        o.emit_ordinals = np.array(ords, np.int64)
        ctx.emit_rela.append(o)


def with_rela_sections(ctx, outs):
    """The output section list with each .rela.X right after its X (layout)."""
    rela = ctx.emit_rela
    if not rela:
        return outs
    after = {id(o.emit_target): o for o in rela}
    res = []
    for o in outs:
        res.append(o)
        r = after.get(id(o))
        if r is not None and r.size:
            res.append(r)
    return res


def section_symbol_candidates(ctx, stays):
    """The output sections .symtab gives an STT_SECTION symbol (chosen before
    layout: those that will be output)."""
    skip = {".symtab", ".strtab", ".shstrtab"}
    return [o for o in ctx.outputs.sorted()
            if o.chunks and o.name not in skip and (any(c.size for c in o.chunks) or stays(o))]


def write_sections(ctx, out):
    """Fill every .rela.X once the output is relocated and .symtab is final."""
    rela = ctx.emit_rela
    if not rela:
        return
    rt, keys, ids, st = ctx.relocs, ctx.keys, ctx.section_ids, ctx.symtab_sec
    G = keys.G
    # S + A as write.reloc_targets computes the target (pieces of merged strings mapped)
    S = keys.addr[rt.key]
    A = rt.addend.copy()
    li = np.where(rt.is_local, rt.key - G, 0)
    sec_sym = rt.is_local & keys.loc_in_sec[li] & ((keys.loc_info[li] & 0xf) == STT_SECTION)
    m = sec_sym & ids.merge[keys.loc_gsec[li]]
    if m.any():
        S[m] = ctx.merge_map.map(keys.loc_gsec[li[m]], keys.loc_value[li[m]] + A[m])
        A[m] = 0
    target = S + A
    # output section of each target, and its section symbol's index in .symtab
    nout = len(ctx.sections_out) + 1
    out_addr = np.zeros(nout, np.int64)
    out_sym = np.zeros(nout, np.int64)
    for o in ctx.sections_out:
        out_addr[o.index] = o.addr
    for i, o in st.section_symbols_final:
        out_sym[o.index] = i
    # globals: their .symtab index, or (left out of .symtab) their output section
    gsym = np.full(G + 1, -1, np.int64)
    gsec = np.zeros(G + 1, np.int64)
    for i, s in enumerate(st.globals_local + st.globals):
        gsym[s.gid] = st.nlocal + i
    syms = ctx.symtab.symbols
    gk = np.where(rt.is_local, G, rt.key)
    for g in unique(gk[gsym[gk] < 0]).tolist():
        if g < G and syms[g].kind in (DEFINED, COMMON, SYNTHETIC):
            gsec[g] = ctx.symbol_shndx(syms[g])
    loc_out = ids.outidx[keys.loc_gsec[li]]
    sec_of = np.where(rt.is_local, np.where(keys.loc_in_sec[li], loc_out, 0), gsec[gk])
    sec_of = np.where((sec_of > 0) & (sec_of < nout), sec_of, 0)
    keep_sym = ~rt.is_local & (gsym[gk] >= 0)
    by_section = ~keep_sym & (out_sym[sec_of] > 0)
    sym = np.where(keep_sym, gsym[gk], np.where(by_section, out_sym[sec_of], 0))
    addend = np.where(keep_sym, rt.addend, np.where(by_section, target - out_addr[sec_of], target))
    # relocations against removed sections: type 0 (R_*_NONE), symbol 0 (BFD)
    dead = rt.is_local & keys.loc_in_sec[li] & ~ids.live[keys.loc_gsec[li]]
    gdead = ctx.gdead
    if gdead is not None and len(gdead):
        dead |= ~rt.is_local & gdead[np.minimum(gk, len(gdead) - 1)] & (gk < len(gdead))
    types = rt.type.copy()
    rename = getattr(ctx.target, "emitted_types", None)
    if rename is not None:
        types = rename(types, out, rt.pos, ctx=ctx)
    types[dead] = 0
    sym[dead] = 0
    addend[dead] = 0
    from ldpy.elf.format import dtypes
    dts = dtypes(ctx.target.IS64, ctx.target.LITTLE)
    dt = dts.rela if ctx.target.RELA else dts.rel
    for o in rela:
        if not o.size:
            continue
        rows = np.flatnonzero(isin(rt.sec_ordinal, o.emit_ordinals))
        rec = np.zeros(len(rows), dt)
        rec["r_offset"] = rt.P[rows].view(np.uint64) if rt.P.dtype == np.int64 else rt.P[rows]
        rec["r_info"] = ctx.target.dt.r_info(sym[rows], types[rows])
        if ctx.target.RELA:
            rec["r_addend"] = addend[rows]
        data = rec.view(np.uint8)
        out[o.offset:o.offset + len(data)] = data


def header_fields(o, idx_symtab):
    """(sh_link, sh_info, extra flags) of an emitted .rela.X section header."""
    return idx_symtab, o.emit_target.index, SHF_INFO_LINK
