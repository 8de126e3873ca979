"""Checks of references against the script: NOCROSSREFS(sec1 sec2 ...),
NOCROSSREFS_TO(to from1 from2 ...) and OVERLAY ... NOCROSSREFS (relocations in
one of the listed output sections may not refer to a global symbol defined in
another; GNU ld checks global symbols only, through its cross-reference
table), and references to symbols in sections /DISCARD/ dropped.  Whole-table
passes over the relocations."""
import numpy as np

from ldpy.util import unique, isin
from ldpy.diag import LinkError
from ldpy.symbols import DEFINED, COMMON


def check_nocrossrefs(ctx):
    rules = ctx.script.nocrossrefs if ctx.script is not None else []
    rt = ctx.relocs
    if not rules or rt is None or rt.empty:
        return
    syms = ctx.symtab.symbols
    G = len(syms)
    # output section name of each relocation's section, and of each global's definition
    names = []
    index = {}

    def code(name):
        c = index.get(name)
        if c is None:
            c = index[name] = len(names)
            names.append(name)
        return c

    sec_code = np.fromiter((code(s.output.name) for s in rt.sections), np.int64, len(rt.sections))
    src = sec_code[rt.sec_ordinal]
    tgt_of = np.full(G, -1, np.int64)
    for s in syms:
        out = None
        if s.kind == DEFINED and s.section is not None and s.section.output is not None:
            sec = s.section
            out = sec.output.output if sec.merge is not None else sec.output
        elif s.kind == COMMON and ctx.common_chunk(s) is not None:
            out = ctx.common_chunk(s).output
        if out is not None:
            tgt_of[s.gid] = code(out.name)
    glob = ~rt.is_local & (rt.key < G)
    tgt = np.full(len(src), -1, np.int64)
    tgt[glob] = tgt_of[rt.key[glob]]
    for kind, secs in rules:
        codes = np.array([index.get(n, -2) for n in secs], np.int64)
        if kind == "to":
            bad = (tgt == codes[0]) & isin(src, codes[1:])
        else:
            bad = isin(src, codes) & isin(tgt, codes) & (src != tgt)
        if bad.any():
            k = int(np.argmax(bad))
            name = syms[int(rt.key[k])].display
            raise LinkError(f"{rt.where(k)}: prohibited cross reference from {names[src[k]]} "
                            f"to '{name}' in {names[tgt[k]]}")


def check_discarded_references(ctx):
    """A relocation in a kept, allocated section (not .eh_frame) that refers to a
    symbol defined in a section /DISCARD/ took is an error, as in GNU ld."""
    omap = ctx.outputs
    gone = getattr(omap, "discarded_ids", None)
    rt = ctx.relocs
    if not gone or rt is None or rt.empty:
        return
    syms = ctx.symtab.symbols
    G = len(syms)
    files = ctx.files
    # the section each relocation's symbol is defined in, as an input section object
    src_ok = np.fromiter((bool(s.flags & 2) and s.name != ".eh_frame" for s in rt.sections),
                         bool, len(rt.sections))[rt.sec_ordinal]
    bad = np.zeros(len(rt.key), bool)
    glob_gone = np.zeros(G, bool)
    for s in syms:
        if s.kind == DEFINED and s.section is not None and id(s.section) in gone:
            glob_gone[s.gid] = True
    glob = ~rt.is_local
    bad[glob] = glob_gone[rt.key[glob]]
    for fid in unique(rt.file_id[rt.is_local]).tolist():
        f = files[fid]
        flags = np.fromiter((s is not None and id(s) in gone for s in f.sections), bool, len(f.sections))
        if not flags.any():
            continue
        m = rt.is_local & (rt.file_id == fid)
        shndx = f.shndx[rt.sym[m]].astype(np.int64)
        inside = (shndx > 0) & (shndx < len(f.sections))
        hit = np.zeros(len(shndx), bool)
        hit[inside] = flags[shndx[inside]]
        bad[np.flatnonzero(m)[hit]] = True
    bad &= src_ok
    if bad.any():
        k = int(np.argmax(bad))
        src = rt.sections[rt.sec_ordinal[k]]
        f = src.file
        if rt.is_local[k]:
            idx = int(rt.sym[k])
            tsec = f.sections[int(f.shndx[idx])]
            name = ctx.sym_display(f, idx)
        else:
            sym = syms[int(rt.key[k])]
            tsec, name = sym.section, sym.display
        raise LinkError(f"{rt.where(k)}: '{name}' referenced in section '{src.name}' of {f.name}: "
                        f"defined in discarded section '{tsec.name}' of {tsec.file.name}")
