"""NOCROSSREFS(sec1 sec2 ...), NOCROSSREFS_TO(to from1 from2 ...) and
OVERLAY ... NOCROSSREFS: relocations in one of the listed output sections may
not refer to a global symbol defined in another (GNU ld checks global symbols
only, through its cross-reference table).  One whole-table pass per list."""
import numpy as np

from ldpy.diag import LinkError
from ldpy.symbols import DEFINED, COMMON


def check_nocrossrefs(ctx):
    rules = ctx.script.nocrossrefs if ctx.script is not None else []
    rt = getattr(ctx, "relocs", None)
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
        elif s.kind == COMMON and ctx.commons is not None:
            out = ctx.commons.output
        if out is not None:
            tgt_of[s.gid] = code(out.name)
    glob = ~rt.is_local & (rt.key < G)
    tgt = np.full(len(src), -1, np.int64)
    tgt[glob] = tgt_of[rt.key[glob]]
    for kind, secs in rules:
        codes = np.array([index.get(n, -2) for n in secs], np.int64)
        if kind == "to":
            bad = (tgt == codes[0]) & np.isin(src, codes[1:])
        else:
            bad = np.isin(src, codes) & np.isin(tgt, codes) & (src != tgt)
        if bad.any():
            k = int(np.argmax(bad))
            name = syms[int(rt.key[k])].display
            raise LinkError(f"{rt.where(k)}: prohibited cross reference from {names[src[k]]} "
                            f"to '{name}' in {names[tgt[k]]}")
