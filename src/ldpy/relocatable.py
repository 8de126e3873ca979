"""Relocatable output: `ld -r` / `-i` / `--relocatable` / `-Ur`, as GNU ld 2.40 makes it.

The inputs are combined into one ET_REL object instead of a program:

* placement is the script engine's (script/place.py, script/layout.py), as in a final
  link: the user's SECTIONS (`ld -r -T module.lds`, with INSERT, /DISCARD/, SORT, KEEP,
  ALIGN, data commands and symbol assignments) or ldpy's default script for -r
  (`ldpy --verbose -r`, script/default.py); every other section is an orphan that keeps
  its own name (same-named orphans combine) and goes after the output section of its
  kind (.text, .rodata, .tdata, .data, .bss, .interp, .comment) as ldelf_place_orphan
  puts it.  Nothing is merged (GNU ld -r merges no SHF_MERGE strings), addresses stay
  0 (unless a user script gives others), there are no program headers;
* COMDAT groups stay groups: the members of each kept group are output sections of
  their own (SHF_GROUP) listed by an SHT_GROUP section; later copies of a group are
  discarded as in a final link, and so are the .eh_frame FDEs of their functions
  (the FDE's relocation turns into the target's NONE type, as BFD leaves it);
* relocations are kept, one SHT_RELA (SHT_REL on REL targets: i386) per output section:
  r_offset moves by the input
  section's offset in its output section, symbol indexes are renumbered for the
  output symbol table, and a relocation against a section symbol is rewritten to the
  output section's symbol with the input section's offset added to the addend.  A
  relocation against a symbol of a discarded section is pointed at the kept copy of
  that section when it has the same size (BFD's "pretend"; outside debug sections the
  reference is also an error), else becomes the NONE type (in debug sections it is
  dropped), as BFD's RELOC_AGAINST_DISCARDED_SECTION does.  REL outputs keep each
  addend in the field the relocation patches: where the rewrite changed an addend
  (section symbols, kept copies) the new value is written into the section bytes,
  as elf_i386_relocate_section does for -r;
* --gc-sections starts from the -e / -u symbols only (gc.py's mark and sweep), and a
  CIE goes when no kept FDE uses it;
* the global symbols come in the order BFD's link hash table walks them and each
  file's locals when BFD meets the file, so the symbol table equals ld.bfd's;
* the symbol table holds a section symbol per output section, each file's locals
  (-x / -X / -s honoured; locals a relocation needs always stay), and the global
  symbols: definitions, commons (SHN_COMMON unless -d / FORCE_COMMON_ALLOCATION puts
  them in .bss) and every undefined reference, which is no error here.

All relocation rewriting is whole-table numpy over the link-wide relocation table
(relocs.RelocTable); the Python loops are per output section, per input section and
per global symbol.
"""
import os

import numpy as np

from ldpy.util import unique as unique_values
from ldpy.diag import LinkError, diag
from ldpy.elf.leb128 import read_uleb, skip_leb
from ldpy.elf.format import (reloc_sym, ET_REL,
                             SHT_NULL, SHT_PROGBITS, SHT_NOBITS, SHT_RELA, SHT_REL, SHT_GROUP,
                             SHT_SYMTAB, SHT_STRTAB, SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_MERGE,
                             SHF_STRINGS, SHF_INFO_LINK, SHF_LINK_ORDER, SHF_GROUP, SHF_TLS, SHF_GNU_RETAIN,
                             SHN_UNDEF, SHN_ABS, SHN_COMMON, SHN_LORESERVE, STT_SECTION,
                             STT_GNU_IFUNC, STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE, STT_NOTYPE,
                             GRP_COMDAT, dtypes)
from ldpy.symbols import UNDEF, DEFINED, COMMON, SYNTHETIC
from ldpy import relocs as R
from ldpy.script.place import TABLES

_KEEP_FLAGS = SHF_WRITE | SHF_ALLOC | SHF_EXECINSTR | SHF_TLS | SHF_GROUP | SHF_INFO_LINK | \
    SHF_LINK_ORDER | SHF_GNU_RETAIN | 0x0ff00000 | 0xf0000000      # (OS and processor flags: SHF_X86_64_LARGE)
R_NONE = 0


def is_debugging(name):
    """BFD's SEC_DEBUGGING, which it decides by name."""
    return name.startswith((".debug", ".gnu.debuglto_.debug_", ".gnu.linkonce.wi.", ".zdebug",
                            ".line", ".stab")) or name == ".gdb_index"


class RSection:
    """A section the -r link makes itself: SHT_GROUP, relocations, symbol and string
    tables (its bytes in `data`)."""
    __slots__ = ("name", "type", "flags", "align", "entsize", "chunks", "size", "index", "offset",
                 "link", "info", "data", "addr", "group_of", "target", "rela", "symidx")

    def __init__(self, name, type_, flags=0, align=1, entsize=0):
        self.name, self.type, self.flags, self.align, self.entsize = name, type_, flags, align, entsize
        self.chunks = ()
        self.size = self.index = self.offset = self.link = self.info = self.addr = self.symidx = 0
        self.data = None
        self.rela = None
        self.group_of = None      # an SHT_GROUP: (file, group section index, COMDAT?, members)
        self.target = None        # a relocation section: the section it relocates

    def bytes(self):
        return self.data

    def __repr__(self):
        return f"<RSection [{self.index}] {self.name} size={self.size:#x}>"


def _output_class():
    """The output section of a -r link: a script output section (the engine places
    input sections into it and lays it out) that keeps what an ET_REL section keeps
    of its inputs: the first one's type and flags (SHF_GROUP, SHF_INFO_LINK,
    SHF_LINK_ORDER, OS and processor bits) and SHF_MERGE/SHF_STRINGS and sh_entsize
    while all inputs agree; also its relocation section and section symbol."""
    from ldpy.script.place import ORPHAN_POS
    from ldpy.sections import OutputSection

    class RelocOutput(OutputSection):
        # (a ScriptOutput's fields, in slots: -r makes one of these per COMDAT member)
        __slots__ = ("stmt", "lma", "fill", "region", "noload", "phdr_names", "desc_chunks", "next_pos",
                     "merge_ok", "first", "rela", "symidx", "group_of", "target", "data")

        def __init__(self, name, type_, flags, order, stmt):
            self.name, self.type, self.flags, self.order, self.stmt = name, type_, flags, order, stmt
            self.align = 1
            self.chunks = []
            self.addr = self.offset = self.size = self.index = self.entsize = 0
            self.link = self.info = self.lma = 0
            self.fill = self.region = None
            self.noload = False
            self.phdr_names = []
            self.desc_chunks = {}
            self.next_pos = ORPHAN_POS
            self.merge_ok = True
            self.first = None
            self.rela = None          # RSection of its relocations
            self.symidx = 0           # its section symbol
            self.group_of = self.target = self.data = None

        def add(self, sec, desc_pos=None):
            if self.first is None:
                self.first = sec
                self.type = sec.type
                self.flags = sec.flags & (_KEEP_FLAGS | SHF_MERGE | SHF_STRINGS)
                self.entsize = sec.entsize
            else:
                if sec.type != SHT_NOBITS and self.type == SHT_NOBITS:
                    self.type = sec.type
                self.flags |= sec.flags & _KEEP_FLAGS
                if (sec.flags ^ self.flags) & (SHF_MERGE | SHF_STRINGS) or sec.entsize != self.entsize:
                    self.merge_ok = False
            if sec.align > self.align:
                self.align = sec.align
            self.chunks.append(sec)
            sec.output = self
            pos = self.next_pos if desc_pos is None else desc_pos
            run = self.desc_chunks.get(pos)
            if run is None:
                run = self.desc_chunks[pos] = []
            run.append(sec)

        def finish_flags(self, groups=True):
            if not self.merge_ok:
                self.flags &= ~(SHF_MERGE | SHF_STRINGS)
            if not groups:
                self.flags &= ~SHF_GROUP

        def bytes(self):
            return self.data

        def __repr__(self):
            return f"<RelocOutput [{self.index}] {self.name} size={self.size:#x}>"

    return RelocOutput


def use_script_r(ctx):
    """The layout script of a -r link: the user's SECTIONS, else ldpy's default
    script for -r, with the user's INSERTs and assignments spliced in; the engine's
    output map with GNU ld's -r rules (script/place.py)."""
    from ldpy.script.linkscript import LinkScript, define_script_symbols
    from ldpy.script.place import ScriptOutputMap
    script = ctx.script
    if script is None:
        script = ctx.script = LinkScript()
    ctx.user_sections = script.has_sections
    if not script.has_sections:
        from ldpy.script.default import relocatable_script
        user = script.statements
        script.statements = []
        script.add(relocatable_script(ctx))
        script.statements[:0] = user
    script.apply_inserts()
    omap = ctx.outputs = ScriptOutputMap(script, ctx.config.orphan_handling, relocatable=True)
    omap.output_class = _output_class()
    if ctx.config.unique_sections or ctx.config.unique_orphan_sections:
        omap.unique = (ctx.config.unique_sections, ctx.config.unique_orphan_sections)
    define_script_symbols(ctx)


def link_relocatable(ctx, passes):
    """The pass list of a -r link (driver.link() hands over right after Context)."""
    from ldpy.input.load import Loader
    passes.run(add_references, ctx)
    passes.run(Loader(ctx).load_all)        # inputs, archive members, COMDAT choice, resolution
    diag.check()
    passes.run(use_script_r, ctx)           # the default -r script, or the user's SECTIONS
    if ctx.config.gc_sections:
        passes.run(collect_garbage_r, ctx)  # --gc-sections: roots only -e / -u, as ld.bfd -r
    passes.run(ctx.target.before_layout, ctx)   # the target's merged sections (RISC-V attributes)
    out = RelocatableOutput(ctx)
    passes.run(out.place_sections)          # the -r script's placement, groups, orphans
    if any(getattr(f, "has_ctf", False) for f in ctx.files):
        from ldpy.ctf.link import link_ctf_relocatable
        passes.run(link_ctf_relocatable, ctx)   # .ctf: one deduplicated dictionary or archive
    passes.run(out.build_symbols)           # section symbols, locals, globals, commons
    passes.run(out.rewrite_relocations)     # whole-table renumbering of every relocation
    passes.run(out.write)                   # ET_REL image, written in one go
    diag.check()
    if ctx.config.map_file or ctx.config.cref:
        passes.run(out.write_map)           # -Map / -M / --cref: mapfile.py over the -r layout
    passes.report(ctx.config)
    return ctx


def collect_garbage_r(ctx):
    """--gc-sections under -r: GNU ld's mark and sweep (gc.py) from the -e and -u
    symbols only; without either there is nothing to start from."""
    from ldpy.gc import collect_garbage
    cfg = ctx.config
    roots = [n for n in cfg.undefined + cfg.require_defined + ([cfg.entry] if cfg.entry else [])
             if (s := ctx.symtab.get(n.encode())) is not None and s.kind == DEFINED]
    if not roots:
        raise LinkError("--gc-sections requires a defined symbol root specified by -e or -u")
    if not cfg.entry:
        ctx.script_entry = "\0"          # (no entry symbol of a program is a root here)
    # the undefined symbols only removed sections used stay in a -r output's table
    undef = [(s, s.referenced, s.strong_ref) for s in ctx.symtab.symbols if s.kind == UNDEF]
    collect_garbage(ctx)
    for s, referenced, strong in undef:
        s.referenced, s.strong_ref = referenced, strong
    ctx.gc_unreferenced = set()


def add_references(ctx):
    """-u symbols, --defsym and an -e entry named on the command line (GNU ld -r leaves
    the entry an undefined reference; without -e there is none)."""
    cfg = ctx.config
    st = ctx.symtab
    st.wrapped = {w.encode() for w in cfg.wrap}
    st.warn_common = cfg.warn_common
    st.allow_multiple = cfg.allow_multiple_definition
    st.verbatim_versions = True       # (BFD binds versions in final links only)
    for name in cfg.undefined + cfg.require_defined:
        st.reference(name.encode())
    if cfg.defsyms:
        from ldpy import expr
    for name, text in cfg.defsyms:
        node = expr.parse(text, f"--defsym {name}={text}")
        for used in expr.symbols_in(node):
            st.reference(used.encode())
        sym = st.define_synthetic(name.encode(), None, only_if_referenced=False)
        sym.absolute = True
        ctx.defsyms.append((sym, node, f"--defsym {name}={text}"))
    if cfg.entry:
        try:
            int(cfg.entry, 0)
        except ValueError:
            st.reference(cfg.entry.encode())


_PRIMES = [31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139,
           524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689,
           268435399, 536870909, 1073741789, 2147483647, 4294967291]


def bfd_hash_order(names):
    """The order in which BFD's link hash table walks names inserted in this order
    (bfd/hash.c: bfd_hash_hash, a 4051-slot table that grows to the next prime past
    3/4 full, new entries at the head of their chain).  GNU ld writes the global
    symbols of its output in this order.  Returns indexes into `names`."""
    n = len(names)
    if not n:
        return []
    lens = np.fromiter((len(x) for x in names), np.int64, n)
    by_len = np.argsort(-lens, kind="stable")
    blob = np.frombuffer(b"".join(names), np.uint8)
    starts = np.cumsum(lens) - lens
    h = np.zeros(n, np.uint64)
    sl, ss = lens[by_len], starts[by_len]
    for col in range(int(lens.max())):
        k = int(np.searchsorted(-sl, -col, side="left"))      # rows longer than col
        if k == 0:
            break
        c = blob[ss[:k] + col].astype(np.uint64)
        x = h[:k] + c + (c << np.uint64(17))
        h[:k] = x ^ (x >> np.uint64(2))
    ln = sl.astype(np.uint64)
    h = h + ln + (ln << np.uint64(17))
    h ^= h >> np.uint64(2)
    hashes = np.empty(n, np.uint64)
    hashes[by_len] = h
    # the walk as sort keys: inserting puts an entry at the head of its chain; growing
    # takes the old walk's runs of equal full hash (adjacent in a chain) one by one to
    # the head of their new chain
    sizes = [4051]
    while n > sizes[-1] * 3 // 4:
        sizes.append(next(p for p in _PRIMES if p > sizes[-1]))
    idx = np.arange(n)
    order = None                      # the walk when the table last grew
    for g, size in enumerate(sizes):
        upto = n if g == len(sizes) - 1 else sizes[g] * 3 // 4 + 1    # entries when it grows
        bucket = (hashes[:upto] % np.uint64(size)).astype(np.int64)
        late = -idx[:upto]
        tie = np.zeros(upto, np.int64)
        sub = np.zeros(upto, np.int64)
        if order is not None:
            old = len(order)
            hv = hashes[order]
            head = np.ones(old, bool)
            head[1:] = hv[1:] != hv[:-1]
            run = np.cumsum(head) - 1
            late[order] = -np.flatnonzero(head)[run]
            tie[order] = np.arange(old)
            sub[:old] = 1
        order = np.lexsort((tie, late, sub, bucket))
    return order.tolist()


def _align(x, a):
    return (x + a - 1) & -a if a > 1 else x



# -- .eh_frame editing (BFD's eh_frame.c, which runs for -r too) --------------------------

def _pe_width(enc, ptr):
    if (enc & 0x60) == 0x60:
        return 0
    return {2: 2, 3: 4, 4: 8, 0: ptr}.get(enc & 7, 0)


# operand kinds of the CFA opcodes below 0x40: 0 none, 1 one leb128, 2 two, 3 a block,
# 4 leb128 and a block, 5 the pointer width (set_loc), n+10 n fixed bytes; -1 unknown
_CFA_KIND = [-1] * 0x40
for _op, _k in {0x00: 0, 0x01: 5, 0x02: 11, 0x03: 12, 0x04: 14, 0x05: 2, 0x06: 1, 0x07: 1, 0x08: 1,
                0x09: 2, 0x0a: 0, 0x0b: 0, 0x0c: 2, 0x0d: 1, 0x0e: 1, 0x0f: 3, 0x10: 4, 0x11: 2,
                0x12: 2, 0x13: 1, 0x14: 2, 0x15: 2, 0x16: 4, 0x1d: 18, 0x2d: 0, 0x2e: 1, 0x2f: 2}.items():
    _CFA_KIND[_op] = _k


def _insns_end(data, pos, end, ptr_width):
    """skip_non_nops: the end of the last CFA instruction that is not a DW_CFA_nop
    (ValueError when an instruction is unknown or runs past the record)."""
    last = pos
    kinds = _CFA_KIND
    while pos < end:
        op = data[pos]
        pos += 1
        if op == 0:
            continue
        if op >= 0x40:
            if op >= 0x80 and op < 0xc0:        # DW_CFA_offset: one leb128
                while data[pos] & 0x80:
                    pos += 1
                pos += 1
        else:
            k = kinds[op]
            if k == 1 or k == 2:
                for _ in range(k):
                    while data[pos] & 0x80:
                        pos += 1
                    pos += 1
            elif k >= 10:
                pos += k - 10
            elif k == 5:
                pos += ptr_width
            elif k == 3 or k == 4:
                if k == 4:
                    while data[pos] & 0x80:
                        pos += 1
                    pos += 1
                n, pos = read_uleb(data, pos, end)
                pos += n
            elif k < 0:
                raise ValueError
        if pos > end:
            raise ValueError
        last = pos
    return last


def _parse_cie(data, start, end, ptr):
    """(fde pointer encoding, has 'z', start of the CIE's instructions, 8-aligned)."""
    pos = start + 8
    version = data[pos]
    pos += 1
    aug_end = data.index(b"\0", pos, end)
    aug = data[pos:aug_end].decode("latin-1")
    pos = aug_end + 1
    if aug == "eh":
        raise ValueError
    pos = skip_leb(data, pos, end)
    pos = skip_leb(data, pos, end)
    pos = pos + 1 if version == 1 else skip_leb(data, pos, end)
    fde_enc, aligned8 = 0, False
    if aug.startswith("z"):
        n, pos = read_uleb(data, pos, end)
        adata, pos = pos, pos + n
        for c in aug[1:]:
            if c == "R":
                fde_enc = data[adata]
                adata += 1
            elif c == "L":
                adata += 1
            elif c == "P":
                penc = data[adata]
                w = _pe_width(penc, ptr)
                adata += 1
                if (penc & 0x70) == 0x50:
                    adata = (adata + w - 1) & -w
                    aligned8 = w == 8
                adata += w
            elif c in "SB":
                pass
            else:
                raise ValueError
    elif aug:
        raise ValueError
    return fde_enc, aug.startswith("z"), pos, aligned8


def _zero_range_fdes(raw, pc, w, roffs):
    """FDEs (pc_begin fields at pc, pointer width w) whose address range is 0 and
    carries no relocation: BFD discards them ("discarding zero address range FDE")."""
    rng = pc + w
    nonzero = np.zeros(len(pc), bool)
    for k in range(int(w.max()) if len(w) else 0):
        nonzero |= (k < w) & (raw[np.minimum(rng + k, len(raw) - 1)] != 0)
    if len(roffs):
        k = np.minimum(np.searchsorted(roffs, rng), len(roffs) - 1)
        return ~nonzero & (roffs[k] != rng)
    return ~nonzero


def edit_eh_frame(sec, target_dead, last, ptr=8):
    """BFD's .eh_frame editing of one input section for a -r output: FDEs of discarded
    functions go, the DW_CFA_nop padding of every record is trimmed and the records
    packed at 4-byte alignment (a zero terminator stays only in the last input).
    Returns (bytes, relocations, start of the last record) or None when the section
    is left as it is (BFD's 'no .eh_frame_hdr table' case).  Whole-array work but
    for the CIEs and the CFA programs that end in padding, which are read one by one."""
    from ldpy.elf.eh_frame import eh_frame_records, eh_record_arrays
    raw = sec.bytes()
    data = raw.tobytes()
    rel = sec.relocs
    try:
        records = eh_frame_records(sec, data)
    except LinkError:
        return None
    starts, ends, is_cie, cie_starts = eh_record_arrays(records)
    n = len(starts)
    if not n:
        return None
    term = ends - starts == 4
    roffs = rel["r_offset"].astype(np.int64) if rel is not None else np.zeros(0, np.int64)
    sizes = ends - starts
    aligns = np.full(n, 4, np.int64)
    keep = np.ones(n, bool)
    keep[term] = last
    try:
        cies = np.flatnonzero(is_cie & ~term)
        cie_w = np.zeros(n, np.int64)
        cie_z = np.zeros(n, bool)
        for i in cies.tolist():
            a, b = int(starts[i]), int(ends[i])
            enc, z, insns, aligned8 = _parse_cie(data, a, b, ptr)
            cie_w[i], cie_z[i] = _pe_width(enc, ptr), z
            if aligned8:
                aligns[i] = 8
            if data[b - 1] == 0:
                sizes[i] = _insns_end(data, insns, b, cie_w[i]) - a
        fde = np.flatnonzero(~is_cie)
        if not len(fde):
            keep[cies] = False               # (CIEs no FDE uses go)
        else:
            ci = np.minimum(np.searchsorted(starts, cie_starts[fde]), n - 1)
            if ((starts[ci] != cie_starts[fde]) | ~is_cie[ci] | term[ci]).any():
                return None
            w = cie_w[ci]
            if not w.all():
                return None
            aligns[fde] = np.maximum(w, 4)
            # an FDE whose function is in a discarded section goes (its pc_begin relocation)
            pc = starts[fde] + 8
            k = np.minimum(np.searchsorted(roffs, pc), max(len(roffs) - 1, 0))
            if len(roffs):
                at = roffs[k] == pc
                keep[fde[at & target_dead[k]]] = False
            keep[fde[_zero_range_fdes(raw, pc, w, roffs)]] = False
            # a CIE stays only while a kept FDE uses it (BFD keeps the CIEs its FDEs find)
            used = np.zeros(n, bool)
            used[ci[keep[fde]]] = True
            keep[cies] = used[cies]
            pad = fde[raw[ends[fde] - 1] == 0]
            wz = w[raw[ends[fde] - 1] == 0]
            zz = cie_z[ci[raw[ends[fde] - 1] == 0]]
            for i, wi, zi in zip(pad.tolist(), wz.tolist(), zz.tolist()):
                a, b = int(starts[i]), int(ends[i])
                pos = a + 8 + 2 * wi
                if zi:
                    m, pos = read_uleb(data, pos, b)
                    pos += m
                sizes[i] = _insns_end(data, pos, b, wi) - a
    except (ValueError, IndexError):
        return None
    kk = np.flatnonzero(keep)
    ks = sizes[kk]
    ka = aligns[kk]
    if (ka == 4).all():
        step = (ks + 3) & -4
        new_k = np.cumsum(step) - step
        total = int(step.sum())
    else:
        new_k = np.zeros(len(kk), np.int64)
        off = 0
        for j, (sz, al) in enumerate(zip(ks.tolist(), ka.tolist())):
            off = (off + al - 1) & -al
            new_k[j] = off
            off += sz
        total = (off + 3) & -4
    new_start = np.full(n, -1, np.int64)
    new_start[kk] = new_k
    out = np.zeros(total, np.uint8)
    tot = int(ks.sum())
    if tot:
        rep = np.repeat(starts[kk] - new_k, ks)
        dst = np.repeat(new_k, ks) + (np.arange(tot) - np.repeat(np.cumsum(ks) - ks, ks))
        out[dst] = raw[dst + rep]
    order = "<u4" if sec.file.little else ">u4"
    nt = kk[~term[kk]]
    if len(nt):
        ns = new_start[nt]
        nxt = np.append(new_k[1:], total)[~term[kk]]
        out[ns[:, None] + np.arange(4)] = (nxt - ns - 4).astype(order).view(np.uint8).reshape(-1, 4)
        f2 = nt[~is_cie[nt]]
        if len(f2):
            ci2 = np.searchsorted(starts, cie_starts[f2])
            val = new_start[f2] + 4 - new_start[ci2]
            out[(new_start[f2] + 4)[:, None] + np.arange(4)] = val.astype(order).view(np.uint8).reshape(-1, 4)
    new_rel = None
    if rel is not None and len(rel):
        rec_of_rel = np.maximum(np.searchsorted(starts, roffs, side="right") - 1, 0)
        new_rel = rel.copy()
        kept = keep[rec_of_rel]
        moved = roffs - starts[rec_of_rel] + new_start[rec_of_rel]
        idx = np.arange(len(roffs))
        lastk = np.maximum.accumulate(np.where(kept, idx, -1))
        prev = np.where(lastk >= 0, moved[np.maximum(lastk, 0)], 0)
        new_rel["r_offset"] = np.where(kept, moved, prev).astype(new_rel["r_offset"].dtype)
        new_rel["r_info"][~kept] = 0
        new_rel["r_addend"][~kept] = 0
    return out, new_rel, (int(new_start[nt[-1]]) if len(nt) else -1)


class _NotPlain(Exception):
    """Some .eh_frame input needs the careful one-section-at-a-time path."""


def edit_eh_frames(secs, target_dead, out_align, ptr):
    """edit_eh_frame for every .eh_frame input of one output section at once (the
    whole-array version): secs in output order, target_dead[j] a bool per relocation
    of secs[j].  Returns [(bytes, relocations)] per section, every section but the
    last non-empty one padded inside its last record to `out_align`.  Raises
    _NotPlain for inputs BFD would leave unedited or that need 8-byte records."""
    from ldpy.elf.eh_frame import eh_frame_records, eh_record_arrays
    ns = len(secs)
    datas = [s.bytes() for s in secs]
    ssize = np.fromiter((len(d) for d in datas), np.int64, ns)
    base = np.cumsum(ssize) - ssize
    raw = np.concatenate(datas) if ns > 1 else datas[0]
    data = raw.tobytes()
    st, en, ic, cs, rels, dead = [], [], [], [], [], []
    for j, s in enumerate(secs):
        b0 = int(base[j])
        try:
            recs = eh_frame_records(s, data[b0:b0 + int(ssize[j])])
        except LinkError:
            raise _NotPlain
        a = eh_record_arrays(recs)
        st.append(a[0] + b0)
        en.append(a[1] + b0)
        ic.append(a[2])
        cs.append(np.where(a[3] >= 0, a[3] + b0, -1))
        if s.relocs is not None and len(s.relocs):
            rels.append(s.relocs)
            dead.append(target_dead[j])
    starts, ends, is_cie, cie_starts = (np.concatenate(x) for x in (st, en, ic, cs))
    rcount = np.fromiter((len(r) for r in st), np.int64, ns)
    sid = np.repeat(np.arange(ns), rcount)
    n = len(starts)
    if not n:
        raise _NotPlain
    relcounts = np.fromiter((len(s.relocs) if s.relocs is not None else 0 for s in secs), np.int64, ns)
    if rels:
        rel = np.concatenate([r.view(np.uint8) for r in rels]).view(rels[0].dtype)
        tdead = np.concatenate(dead)
        roffs = rel["r_offset"].astype(np.int64) + np.repeat(base, relcounts)
        if (np.diff(roffs) < 0).any():
            raise _NotPlain                  # (unsorted relocations: the careful path)
    else:
        rel, tdead, roffs = None, np.zeros(0, bool), np.zeros(0, np.int64)
    term = ends - starts == 4
    sizes = ends - starts
    keep = np.ones(n, bool)
    keep[term] = sid[term] == ns - 1         # a zero terminator stays only at the very end
    try:
        cies = np.flatnonzero(is_cie & ~term)
        cie_w = np.zeros(n, np.int64)
        cie_z = np.zeros(n, bool)
        for i in cies.tolist():
            a, b = int(starts[i]), int(ends[i])
            enc, z, insns, aligned8 = _parse_cie(data, a, b, ptr)
            if aligned8:
                raise _NotPlain
            cie_w[i], cie_z[i] = _pe_width(enc, ptr), z
            if data[b - 1] == 0:
                sizes[i] = _insns_end(data, insns, b, cie_w[i]) - a
        fde = np.flatnonzero(~is_cie)
        if not len(fde):
            keep[cies] = False               # (CIEs no FDE uses go)
        else:
            ci = np.minimum(np.searchsorted(starts, cie_starts[fde]), n - 1)
            if ((starts[ci] != cie_starts[fde]) | ~is_cie[ci] | term[ci] | (sid[ci] != sid[fde])).any():
                raise _NotPlain
            w = cie_w[ci]
            if not w.all() or (w > 4).any():
                raise _NotPlain
            pc = starts[fde] + 8
            if len(roffs):
                k = np.minimum(np.searchsorted(roffs, pc), len(roffs) - 1)
                at = roffs[k] == pc
                keep[fde[at & tdead[k]]] = False
            keep[fde[_zero_range_fdes(raw, pc, w, roffs)]] = False
            # a CIE stays only while a kept FDE uses it (BFD keeps the CIEs its FDEs find)
            used = np.zeros(n, bool)
            used[ci[keep[fde]]] = True
            keep[cies] = used[cies]
            padded = raw[ends[fde] - 1] == 0
            seen = {}                        # (the same CFA program recurs in many FDEs)
            for i, wi, zi in zip(fde[padded].tolist(), w[padded].tolist(), cie_z[ci[padded]].tolist()):
                a, b = int(starts[i]), int(ends[i])
                pos = a + 8 + 2 * wi
                if zi:
                    m, pos = read_uleb(data, pos, b)
                    pos += m
                prog = data[pos:b]
                end = seen.get(prog)
                if end is None:
                    end = seen[prog] = _insns_end(prog, 0, len(prog), wi)
                sizes[i] = pos + end - a
    except (ValueError, IndexError):
        raise _NotPlain
    # packing: records at 4-byte steps inside each section; sections one after another
    kk = np.flatnonzero(keep)
    ks = sizes[kk]
    ksid = sid[kk]
    step = (ks + 3) & -4
    excl = np.cumsum(step) - step
    first = np.searchsorted(ksid, np.arange(ns))
    sec_excl = np.append(excl, step.sum())[first]
    total = np.append(sec_excl[1:], step.sum()) - sec_excl
    real = np.flatnonzero(total > 4)
    if len(real):
        pad = np.arange(ns) < real[-1]
        total[pad] = (total[pad] + out_align - 1) & -out_align
    nbase = np.cumsum(total) - total
    gpos = nbase[ksid] + excl - sec_excl[ksid]
    new_start = np.full(n, -1, np.int64)
    new_start[kk] = gpos
    out = np.zeros(int(total.sum()), np.uint8)
    tot = int(ks.sum())
    if tot:
        within = np.arange(tot) - np.repeat(np.cumsum(ks) - ks, ks)
        out[np.repeat(gpos, ks) + within] = raw[np.repeat(starts[kk], ks) + within]
    nt = ~term[kk]
    same = np.append(ksid[1:] == ksid[:-1], False)
    nxt = np.where(same, np.append(gpos[1:], 0), nbase[ksid] + total[ksid])
    g, x = gpos[nt], nxt[nt]
    out[g[:, None] + np.arange(4)] = (x - g - 4).astype("<u4").view(np.uint8).reshape(-1, 4)
    f2 = kk[nt & ~is_cie[kk]]
    if len(f2):
        ci2 = np.searchsorted(starts, cie_starts[f2])
        val = new_start[f2] + 4 - new_start[ci2]
        out[(new_start[f2] + 4)[:, None] + np.arange(4)] = val.astype("<u4").view(np.uint8).reshape(-1, 4)
    # relocations follow their records; those of dropped records become R_NONE at the
    # offset of the entry before them in the same section
    new_rels = [None] * ns
    if rel is not None:
        rec = np.maximum(np.searchsorted(starts, roffs, side="right") - 1, 0)
        kept = keep[rec]
        rsid = sid[rec]
        moved = roffs - starts[rec] + new_start[rec] - nbase[rsid]
        idx = np.arange(len(roffs))
        lastk = np.maximum.accumulate(np.where(kept, idx, -1))
        ok = (lastk >= 0) & (rsid[np.maximum(lastk, 0)] == rsid)
        prev = np.where(ok, moved[np.maximum(lastk, 0)], 0)
        new = rel.copy()
        new["r_offset"] = np.where(kept, moved, prev).astype(new["r_offset"].dtype)
        new["r_info"][~kept] = 0
        new["r_addend"][~kept] = 0
        pieces = np.split(new, np.cumsum(relcounts)[:-1])
        new_rels = [p if relcounts[j] else None for j, p in enumerate(pieces)]
    return [(out[int(nbase[j]):int(nbase[j] + total[j])], new_rels[j]) for j in range(ns)]


class RelocatableOutput:
    def __init__(self, ctx):
        self.ctx = ctx
        self.cfg = ctx.config
        self.t = ctx.target
        self.dt = dtypes(self.t.IS64, self.t.LITTLE)
        # the output's relocation sections: .rela.X (Elf_Rela) or, on REL targets, .rel.X
        self.rel_prefix, self.rel_type, self.rel_dt = (".rela", SHT_RELA, self.dt.rela) if self.t.RELA \
            else (".rel", SHT_REL, self.dt.rel)
        self.omap = ctx.outputs       # the script engine's output map (use_script_r)
        self.groups = []              # RSection of each SHT_GROUP kept
        self.group_out = {}           # (file_id, group section index) -> RSection
        self.commons = None
        self.walk = None              # the script walk (script/layout.py): symbol values

    # -- placement ------------------------------------------------------------------
    def place_sections(self):
        """Every input section to its output section through the script engine (in
        each file's section order, as ld.bfd's wildcard walk meets them), COMDAT
        groups kept as SHT_GROUP sections, then the SECTIONS walk for the offsets."""
        ctx, cfg, omap = self.ctx, self.cfg, self.omap
        from ldpy.assign import is_debug_section
        force_groups = cfg.force_group_allocation
        strip_debug = cfg.strip_debug
        unique = set()
        group_rows = []
        for f in ctx.files:
            for signature, is_comdat, members, gidx in f.groups:
                live = [m for m in members if m < len(f.sections) and f.sections[m] is not None
                        and f.sections[m].live and not (strip_debug and is_debug_section(f.sections[m].name))]
                if not live or force_groups:
                    continue
                group_rows.append((f, gidx, is_comdat, members))
                unique.update((f.file_id, m) for m in live)
        omap.group_members = frozenset(unique)
        omap.apply_constraints(ctx.files)       # ONLY_IF_RO / ONLY_IF_RW (the exception tables)
        note_stack = exec_stack = False
        props = None
        for f in ctx.files:
            has_note = False
            for sec in f.sections:
                if sec is None or not sec.live:
                    continue
                if sec.name == ".note.GNU-stack":
                    has_note = True
                    exec_stack |= bool(sec.flags & SHF_EXECINSTR)
            if has_note:
                note_stack = True
            elif any(s is not None for s in f.sections):
                exec_stack = True       # (an object without the note asks for an executable stack)
        if any(s is not None and s.name == ".note.gnu.property" for f in ctx.files for s in f.sections):
            from ldpy.synthetic import notes
            c = ctx.config      # (-z ibt/shstk/x86-64-vN: as ld.bfd -r, only where notes are)
            props = notes.merge_gnu_properties(
                ctx.files, (notes.X86_FEATURE_1_IBT if c.ibt else 0) | (notes.X86_FEATURE_1_SHSTK if c.shstk else 0),
                1 << (c.x86_isa_level - 1) if c.x86_isa_level else 0)
        self.buckets = {}             # statement -> [(sort key, seq, chunk)]
        self.seq = 0
        place = omap.place
        buckets = self.buckets
        seq = 0
        orphan = omap.group_orphan
        direct = not omap.has_discard and cfg.orphan_handling == "place" and omap.unique is None
        singles = []
        gi = 0
        for f in ctx.files:
            # this file's groups first: they are numbered before everything else anyway
            while gi < len(group_rows) and group_rows[gi][0] is f:
                _, gidx, is_comdat, members = group_rows[gi]
                g = RSection(".group", SHT_GROUP, 0, 4, 4)
                g.group_of = (f, gidx, is_comdat, members)
                self.groups.append(g)
                self.group_out[(f.file_id, gidx)] = g
                gi += 1
            for sec in f.sections:
                if sec is None or not sec.live:
                    continue
                name = sec.name
                if strip_debug and is_debug_section(name):
                    sec.live = False
                    continue
                if name == ".note.gnu.property":
                    sec.live = False
                    if props:
                        self.seq = seq
                        self._add_property_note(props)
                        seq = self.seq
                        props = None
                    continue
                if sec.type in (SHT_RELA, SHT_REL, SHT_GROUP, SHT_SYMTAB, SHT_STRTAB, SHT_NULL):
                    sec.live = False        # (the loader keeps none of these as contents)
                    continue
                if direct and (f.file_id, sec.index) in unique:
                    # a group member: an output section of its own (what place() gives it
                    # when no /DISCARD/ and no --orphan-handling can take it)
                    singles.append((orphan(sec), sec))
                    continue
                placed = place(sec, f)
                if placed is None:
                    sec.live = False        # (/DISCARD/, --orphan-handling=discard)
                    continue
                st = placed[0]
                bucket = buckets.get(st)
                if bucket is None:
                    bucket = buckets[st] = []
                bucket.append((placed[1], seq, sec))
                seq += 1
        self.seq = seq
        self.build_id = None
        if cfg.build_id and cfg.build_id != "none":
            # --build-id under -r: BFD writes the note too (its statement in the -r script)
            from ldpy.synthetic.notes import BuildIdNote
            self.build_id = BuildIdNote(cfg.build_id, self.t.LITTLE)
            if not self._place(self.build_id, None):
                self.build_id = None
        self._stack_note = (note_stack, exec_stack)
        if cfg.execstack is not None and not note_stack:
            # -z [no]execstack with no input note: BFD makes the note itself, last
            from ldpy.synthetic import Synthetic
            from ldpy.script.place import Statement
            note = Synthetic(".note.GNU-stack", SHT_PROGBITS, SHF_EXECINSTR if cfg.execstack else 0, 1)
            st = Statement(None, ".note.GNU-stack")
            omap.finish_orphans()
            omap.statements.append(st)
            self.buckets[st] = [((0, ()), 0, note)]
        self._allocate_commons()
        omap.finish_orphans()               # (the orphan statements into the list, in place)
        # the chunks in each output section: by description, then sort order, then input order
        for st, items in self.buckets.items():
            if len(items) > 1:
                items.sort()                # (by sort key, then input order: seq is unique)
            first = items[0][2]
            out = omap.output_for(st, first.type, first.flags)
            for key, _, chunk in items:
                out.add(chunk, key[0])
        del self.buckets
        from ldpy.script.place import ORPHAN_POS
        make, by_name = omap.output_class, omap.by_name
        for st, sec in singles:             # (output_for, once per statement)
            out = st.out = make(st.name, sec.type, 0, 0, st)
            by_name.setdefault(st.name, out)
            out.add(sec, ORPHAN_POS)
        self._layout_contents()
        self._number_sections()

    def _place(self, sec, f):
        """One chunk into the bucket of the statement the engine gives it."""
        placed = self.omap.place(sec, f)
        if placed is None:
            return False
        st, key = placed[0], placed[1]
        bucket = self.buckets.get(st)
        if bucket is None:
            bucket = self.buckets[st] = []
        bucket.append((key, self.seq, sec))
        self.seq += 1
        return True

    def _add_property_note(self, props):
        from ldpy.synthetic.notes import GnuPropertyNote
        note = GnuPropertyNote(props, self.t.IS64, self.t.LITTLE)
        note.file = None
        self._place(note, None)

    def _allocate_commons(self):
        """-d / -dc / -dp / FORCE_COMMON_ALLOCATION: commons become .bss definitions."""
        ctx = self.ctx
        force = self.cfg.define_common or getattr(ctx.script, "force_common_allocation", False)
        if not force or getattr(ctx.script, "inhibit_common_allocation", False):
            return
        commons = [s for s in ctx.symtab.symbols if s.kind == COMMON]
        if not commons:
            return
        from ldpy.synthetic import Synthetic
        # one COMMON chunk per file owning commons, where the script puts COMMON (the
        # -r script does not name it: an orphan that .bss takes), after every .bss input
        # (BFD attaches each file's COMMON section to .bss), filled in the order of BFD's
        # hash table
        by_file = {}
        for s in commons:
            by_file.setdefault(s.file.file_id if s.file is not None else -1, []).append(s)
        self.commons = {}
        syms = ctx.symtab.symbols
        walk = {g: i for i, g in enumerate(bfd_hash_order([x.name for x in syms]))}
        for fid in sorted(by_file):
            chunk = Synthetic("COMMON", type_=SHT_NOBITS, flags=SHF_ALLOC | SHF_WRITE, align=1)
            group = sorted(by_file[fid], key=lambda s: walk[s.gid])      # lang_common's hash walk
            off = 0
            for s in group:
                a = max(s.align, 1)
                off = _align(off, a)
                s.value = off
                off += s.size
                chunk.align = max(chunk.align, a)
                self.commons[s.gid] = chunk
            chunk.size = off
            self._place(chunk, None)

    def _layout_contents(self):
        """.eh_frame editing (sizes change), the outputs' flags, then the SECTIONS walk
        (script/layout.py) for every input section's offset and each output's size."""
        note_stack, exec_stack = self._stack_note
        groups = not self.cfg.force_group_allocation
        omap = self.omap
        plain = omap.plain_r(self.cfg.section_start)
        if not plain:
            from ldpy.script.layout import add_script_outputs
            add_script_outputs(self.ctx)    # (statements that only data commands or `.` fill)
        outs = [o for o in omap.sorted() if o.name not in TABLES]
        for o in outs:
            if o.name == ".eh_frame" and o.type in (SHT_PROGBITS, 0x70000001):     # (SHT_X86_64_UNWIND)
                self._edit_eh_frames(o)
            o.finish_flags(groups)
        if plain:
            for o in outs:                  # (what the walk would do: inputs one after another)
                off = 0
                for c in o.chunks:
                    a = c.align
                    if a > 1:
                        off = (off + a - 1) & -a
                    c.out_offset = off
                    off += c.size
                o.addr, o.size = 0, off
        else:
            from ldpy.script.layout import layout_relocatable
            self.walk = layout_relocatable(self.ctx)
        for o in outs:
            if o.size >= 1 << 62:
                c = max(o.chunks, key=lambda c: c.size)
                where = c.where() if hasattr(c, "where") else c.name
                raise LinkError(f"{where}: section of {c.size:#x} bytes makes output section "
                                f"{o.name} too large")
            if o.name == ".note.GNU-stack" and note_stack and exec_stack:
                o.flags |= SHF_EXECINSTR

    def _number_sections(self):
        """Section indexes as BFD numbers them: SHT_GROUP sections first, then each
        section followed by its relocations, then .symtab, .strtab, .shstrtab."""
        self.contents = [o for o in self.omap.sorted() if o.name not in TABLES]
        self.relocs_of = {}
        idx = 1
        for g in self.groups:
            g.index = idx
            idx += 1
        self.sections = list(self.groups)
        # which outputs get relocations: any live input with a non-empty table
        for o in self.contents:
            has_rel = any(getattr(c, "relocs", None) is not None and len(c.relocs) and c.type != SHT_NOBITS
                          for c in o.chunks)
            o.index = idx
            idx += 1
            self.sections.append(o)
            if has_rel:
                r = RSection(self.rel_prefix + o.name, self.rel_type, SHF_INFO_LINK | (o.flags & SHF_GROUP),
                             8 if self.t.IS64 else 4, self.rel_dt.itemsize)
                r.index = idx
                idx += 1
                o.rela = r
                r.target = o
                self.sections.append(r)
        self.symtab = RSection(".symtab", SHT_SYMTAB, 0, 8 if self.t.IS64 else 4, self.dt.sym.itemsize)
        self.strtab = RSection(".strtab", SHT_STRTAB, 0, 1)
        self.shstrtab = RSection(".shstrtab", SHT_STRTAB, 0, 1)
        tables = [self.symtab, self.strtab, self.shstrtab]
        self.symtab_shndx = None
        if idx + 3 >= SHN_LORESERVE:
            # extended section indexes: symbols' real indexes in .symtab_shndx (BFD's place)
            self.symtab_shndx = RSection(".symtab_shndx", 18, 0, 4, 4)    # SHT_SYMTAB_SHNDX
            tables.insert(1, self.symtab_shndx)
        for o in tables:
            o.index = idx
            idx += 1
            self.sections.append(o)
        for o in self.contents:
            c = o.first
            if c is None:
                continue
            if o.flags & SHF_LINK_ORDER and c.is_input:
                linked = c.file.sections[c.link] if 0 < c.link < len(c.file.sections) else None
                o.link = linked.output.index if linked is not None and linked.output is not None else 0
            elif c.is_input and o.flags & SHF_INFO_LINK and c.type not in (SHT_RELA, SHT_REL):
                o.info = c.info

    def _edit_eh_frames(self, o):
        """Every .eh_frame input of output `o` edited as BFD does (edit_eh_frame); all
        but the last non-empty one are padded, inside their last record, to the
        output section's alignment so that no zero padding reads as a terminator."""
        chunks = [c for c in o.chunks if c.is_input and c.size]
        if not chunks:
            return
        dead_lists = [self._target_dead(s) for s in chunks]
        align = o.align if o.align > 1 else max((c.align for c in o.chunks), default=1)
        if all(s.file.little and s.file.is64 for s in chunks):
            try:
                res = edit_eh_frames(chunks, dead_lists, align, 8)
            except _NotPlain:
                res = None
            if res is not None:
                for s, (data, rel) in zip(chunks, res):
                    s.data, s.size = data, len(data)
                    if rel is not None:
                        s.relocs = rel
                return
        edited = []
        for i, s in enumerate(chunks):
            f = s.file
            res = edit_eh_frame(s, dead_lists[i], i == len(chunks) - 1, 8 if f.is64 else 4)
            if res is None:
                edited.append((s, -1))
                continue
            data, rel2, last_rec = res
            s.data, s.size = data, len(data)
            if rel2 is not None:
                s.relocs = rel2
            edited.append((s, last_rec))
        # padding: every section before the last one larger than a terminator
        real = [k for k, (s, _) in enumerate(edited) if s.size > 4]
        for k in real[:-1]:
            s, last_rec = edited[k]
            size = (s.size + align - 1) & -align
            if size == s.size:
                continue
            data = np.zeros(size, np.uint8)
            data[:s.size] = s.bytes()
            if last_rec >= 0:
                order = "<u4" if s.file.little else ">u4"
                data[last_rec:last_rec + 4] = np.array([size - last_rec - 4], order).view(np.uint8)
            s.data, s.size = data, size

    def _target_dead(self, s):
        """Per relocation of input section s: does it point into a discarded section?"""
        f = s.file
        dead = getattr(f, "_dead_mask", None)
        if dead is None:
            dead = f._dead_mask = np.fromiter((x is not None and not x.live for x in f.sections),
                                              bool, len(f.sections))
        rel = s.relocs
        if rel is None or not len(rel):
            return np.zeros(0, bool)
        if not dead.any():
            return np.zeros(len(rel), bool)
        symidx = reloc_sym(rel["r_info"])
        if int(symidx.max()) >= len(f.shndx):
            raise LinkError(f"{s.where()}: relocation refers to a symbol index beyond the symbol table")
        tshndx = f.shndx[symidx]
        in_sec = (tshndx > 0) & (tshndx < len(dead))
        return in_sec & dead[np.where(in_sec, tshndx, 0)]

    # -- symbols ------------------------------------------------------------------------
    def build_symbols(self):
        ctx, cfg, dt = self.ctx, self.cfg, self.dt
        from ldpy.synthetic.symtab import gather_strings
        keys = self.keys = R.SymbolKeys(ctx)
        ids = self.ids = R.SectionIds(ctx.files)
        G = keys.G
        # per input section (global ids): output index and offset
        n = ids.n
        sec_out = np.full(n, -1, np.int64)
        sec_off = np.zeros(n, np.int64)
        for gid, s in enumerate(ids.sections):
            if s is not None and s.live and s.output is not None:
                sec_out[gid] = s.output.index
                sec_off[gid] = s.out_offset
        for (fid, gidx), g in self.group_out.items():
            sec_out[ctx.files[fid].sec_base + gidx] = g.index
        self.sec_out, self.sec_off = sec_out, sec_off
        self.rt = rt = R.RelocTable(ctx, ids)
        # section symbols: one per output section with contents, in index order
        secsyms = [o for o in self.sections if o.type not in (SHT_RELA, SHT_REL, SHT_SYMTAB, SHT_STRTAB, 18)]
        symidx_of_out = np.zeros(len(self.sections) + 1, np.int64)
        for i, o in enumerate(secsyms):
            o.symidx = i + 1
            symidx_of_out[o.index] = i + 1
        nsec = len(secsyms)
        # locals of every file
        NL = keys.n - G
        info = keys.loc_info
        typ = info & 0xf
        shndx = keys.loc_shndx
        files = ctx.files
        sec_base = np.fromiter((f.sec_base for f in files), np.int64, len(files))
        lbase = np.fromiter((f.local_base for f in files), np.int64, len(files))
        in_sec = shndx > 0                  # (reserved values are negated: elf.format.SHX_*)
        gsec = sec_base[keys.loc_file] + np.where(in_sec, shndx, 0) if NL else np.zeros(0, np.int64)
        nsecs = np.fromiter((len(f.sections) for f in files), np.int64, len(files))
        in_sec &= shndx < nsecs[keys.loc_file] if NL else in_sec
        gsec = np.where(in_sec, gsec, 0)
        target_out = np.where(in_sec, sec_out[gsec] if n else -1, -1)
        live = ~in_sec | (target_out >= 0)
        first = np.zeros(NL, bool)
        if NL:
            first[lbase[np.flatnonzero(np.fromiter((f.first_global > 0 for f in files), bool, len(files)))]] = True
        is_sec = typ == STT_SECTION
        candidate = ~first & ~is_sec & live & (shndx != SHN_UNDEF)
        keep = candidate.copy()
        if cfg.discard_all:
            keep[:] = False
        elif cfg.discard_locals:
            for fi, f in enumerate(files):
                lo, hi = f.local_base, f.local_base + f.first_global
                if hi > lo and len(f.strtab):
                    st = np.frombuffer(f.strtab, np.uint8)
                    no = np.minimum(f.symbols["st_name"][:f.first_global].astype(np.int64), len(st) - 2)
                    label = (st[no] == ord(".")) & (st[no + 1] == ord("L"))
                    keep[lo:hi] &= ~label
        base_keep = keep.copy()
        sig = np.zeros(NL, bool)
        for g in self.groups:                   # local group signatures are needed too
            f, gidx = g.group_of[0], g.group_of[1]
            info = int(f.rows[gidx][7])
            if info < f.first_global and candidate[f.local_base + info]:
                sig[f.local_base + info] = True
        keep |= sig
        # relocations: which locals they need (kept even under -x / -X); BFD writes
        # those after the file's other locals, in the order the relocations meet them
        first_ref = np.zeros(NL, np.int64)
        if not rt.empty:
            lk = rt.key - G
            loc = rt.is_local
            lki = np.where(loc, lk, 0)
            needed = loc & candidate[lki]
            keep[lki[needed]] = True
            forced = keep & ~base_keep & ~sig
            if forced.any():
                uk, first = np.unique(lki[needed], return_index=True)
                first_ref[uk] = first + 1
                first_ref[~forced] = 0
        # BFD writes each file's locals when it first meets one of the file's sections,
        # walking the output sections in order; a file it never meets has none out
        order = self._file_order()
        rank = np.full(len(files), len(files), np.int64)
        rank[order] = np.arange(len(order))
        if NL:
            visited = rank[keys.loc_file] < len(files)
            keep &= visited
            base_keep &= visited
        sel = np.flatnonzero(keep)
        lr = rank[keys.loc_file[sel]] if len(sel) else np.zeros(0, np.int64)
        o = np.lexsort((first_ref[sel], lr))
        sel, lr = sel[o], lr[o]
        bounds = np.searchsorted(lr, np.arange(len(order) + 1))
        # like BFD, a file whose first local out is not an STT_FILE gets one named after it
        bsel = np.flatnonzero(base_keep)
        bf = keys.loc_file[bsel] if len(bsel) else np.zeros(0, np.int64)
        firsts = np.searchsorted(bf, np.arange(len(files)))
        has = firsts < len(bsel)
        needs_file = np.zeros(len(files), bool)
        if has.any():
            needs_file[has] = typ[bsel[firsts[has]]] != 4       # STT_FILE
            needs_file[has] &= bf[firsts[has]] == np.flatnonzero(has)
        needs_r = needs_file[order] if len(order) else np.zeros(0, bool)
        cum_extra = np.cumsum(needs_r.astype(np.int64))
        out_of_key = np.full(keys.n, -1, np.int64)
        out_of_key[G + sel] = 1 + nsec + np.arange(len(sel)) + (cum_extra[lr] if len(sel) else 0)
        out_of_key[G + lbase[np.flatnonzero(np.fromiter((f.first_global > 0 for f in files), bool,
                                                          len(files)))]] = 0
        adj = np.zeros(keys.n, np.int64)
        secl = np.flatnonzero(is_sec & in_sec & (target_out >= 0))
        out_of_key[G + secl] = symidx_of_out[target_out[secl]]
        adj[G + secl] = sec_off[gsec[secl]]
        dead = np.zeros(keys.n, bool)
        dead[G:] = in_sec & (target_out < 0)
        nlocal = 1 + nsec + len(sel) + int(needs_file.sum())
        self._evaluate_defsyms()
        self._script_symbol_rows()
        # globals
        syms = ctx.symtab.symbols
        glist = [syms[g] for g in bfd_hash_order([s.name for s in syms]) if self._emit_global(syms[g])]
        gids = np.fromiter((s.gid for s in glist), np.int64, len(glist))
        first_global = nlocal
        out_of_key[gids] = first_global + np.arange(len(glist))
        self.out_of_key, self.adj, self.dead = out_of_key, adj, dead
        # the table itself
        count = first_global + len(glist)
        out = np.zeros(count, dt.sym)
        parts = [np.zeros(1, np.uint8)]
        strsize = 1
        # section symbols
        ss = out[1:1 + nsec]
        ss["st_info"] = STT_SECTION
        # section indexes as int64 (special ones negated) until extended indexes are known
        shx = np.zeros(count, np.int64)
        shx[1:1 + nsec] = np.fromiter((o.index for o in secsyms), np.int64, nsec)
        # locals, file by file (names gathered from each input string table)
        pos = 1 + nsec
        for r, fi in enumerate(order.tolist()):
            f = files[fi]
            a, b = int(bounds[r]), int(bounds[r + 1])
            if needs_file[fi]:
                name = (f.member.name if getattr(f, "member", None) is not None else f.name)
                name = os.path.basename(name.rstrip("/")).encode() + b"\0"
                out[pos]["st_name"] = strsize
                out[pos]["st_info"] = 4
                shx[pos] = -SHN_ABS
                parts.append(np.frombuffer(name, np.uint8))
                strsize += len(name)
                pos += 1
            if a == b:
                continue
            li = sel[a:b] - f.local_base
            src = f.symbols[li]
            names, offs = gather_strings(np.frombuffer(f.strtab, np.uint8), src["st_name"].astype(np.int64))
            parts.append(names)
            dst = out[pos:pos + (b - a)]
            dst["st_name"] = offs + strsize
            strsize += len(names)
            dst["st_info"] = src["st_info"]
            dst["st_other"] = src["st_other"]
            dst["st_size"] = src["st_size"]
            k = sel[a:b]
            to = target_out[k]
            shx[pos:pos + (b - a)] = np.where(in_sec[k], to, shndx[k])   # (reserved: negated)
            dst["st_value"] = src["st_value"] + np.where(in_sec[k], sec_off[gsec[k]], 0).astype(np.uint64)
            pos += b - a
        # globals
        ng = len(glist)
        if ng:
            gnames = [self._global_name(s) for s in glist]
            blob = b"\0".join(gnames) + b"\0"
            lens = np.fromiter((len(x) + 1 for x in gnames), np.int64, ng)
            dst = out[first_global:]
            dst["st_name"] = strsize + np.cumsum(lens) - lens
            parts.append(np.frombuffer(blob, np.uint8))
            strsize += len(blob)
            shx[first_global:] = self._global_rows(glist, dst)
        out["st_shndx"] = np.where(shx < 0, -shx, np.where(shx >= SHN_LORESERVE, 0xffff, shx))
        if self.symtab_shndx is not None:
            xt = np.where(shx >= SHN_LORESERVE, shx, 0).astype(dt.word)
            self.symtab_shndx.data = xt.view(np.uint8)
            self.symtab_shndx.size = xt.nbytes
        self.symtab.data = out.view(np.uint8)
        self.symtab.size = out.nbytes
        self.symtab.info = first_global
        self.strtab.data = np.concatenate(parts)
        self.strtab.size = len(self.strtab.data)
        self.osabi_gnu = bool(ng and (((out["st_info"][first_global:] >> 4) == STB_GNU_UNIQUE) |
                                      ((out["st_info"][first_global:] & 0xf) == STT_GNU_IFUNC)).any())
        self.symidx_of_out = symidx_of_out
        self._group_contents(out_of_key, symidx_of_out)

    def _script_symbol_rows(self):
        """What the script assigns, as ld.bfd -r writes it: a value inside an output
        section (or set from `.` after one) is relative to that section, anything else
        absolute."""
        walk = self.walk
        for bname, sym in self.ctx.script_symbols.items():
            v = walk.values.get(bname.decode()) if walk is not None else None
            if v is None:
                continue
            sec = v.sec
            index = getattr(sec, "index", 0) if getattr(sec, "stmt", None) is not None else 0
            if v.relative and index:
                row = (index, (v.v - sec.addr) & 0xffffffffffffffff, sym.type)
            else:
                row = (-SHN_ABS, v.v & 0xffffffffffffffff, sym.type)
            sym.value = row[1]
            self.defsym_rows[sym.gid] = row

    def _evaluate_defsyms(self):
        """--defsym under -r, as ld.bfd -r writes them: NAME=SYMBOL is SYMBOL's place
        (same section and value), any other expression an absolute value computed from
        section-relative values; an expression naming one symbol takes its type."""
        self.defsym_rows = {}       # symbol id -> (output section index or -SHN_ABS, value, type)
        if not self.ctx.defsyms:
            return
        from ldpy import expr
        st = self.ctx.symtab
        for sym, node, text in self.ctx.defsyms:
            used = list(dict.fromkeys(expr.symbols_in(node)))

            def place(name):
                s = st.get(name.encode())
                if s is None or s.kind == UNDEF:
                    raise LinkError(f"{text}: undefined symbol '{name}' in expression")
                if s.kind == DEFINED and s.section is not None and not s.absolute:
                    return s.value + s.section.out_offset, s.section.output.index, s.type
                if s.kind == SYNTHETIC and s.gid in self.defsym_rows:
                    return self.defsym_rows[s.gid][1], self.defsym_rows[s.gid][0], self.defsym_rows[s.gid][2]
                return s.value, -SHN_ABS, s.type
            value = expr.evaluate(node, lambda n: place(n)[0])
            stype = place(used[0])[2] if len(used) == 1 else STT_NOTYPE
            shndx = place(node[1])[1] if node[0] == "sym" else -SHN_ABS
            sym.value = value
            self.defsym_rows[sym.gid] = (shndx, value & 0xffffffffffffffff, stype)

    def _file_order(self):
        """File ids in the order BFD's elf_link_input_bfd meets them: the output
        sections in their list order (SHT_GROUP ones with the non-allocated orphans),
        the input sections of each in order."""
        seen = {}
        files = self.ctx.files
        prop_owner = next((f for f in files for x in f.sections
                           if x is not None and x.name == ".note.gnu.property"), None)
        # (SHT_GROUP sections where the -r script's non-allocated orphans go: after .comment)
        outs = []
        stmts = [st for st in self.omap.statements if not st.dropped]
        at = max((i for i, st in enumerate(stmts) if st.name == ".comment" and st.node is not None),
                 default=len(stmts) - 1)
        for i, st in enumerate(stmts):
            if st.out is not None and st.name not in TABLES:
                outs.append(st.out)
            if i == at:
                outs.extend(self.groups)
        if not stmts:
            outs.extend(self.groups)
        for o in outs:
            if o.type == SHT_GROUP:
                f = o.group_of[0]
                seen.setdefault(f.file_id, None)
                continue
            for c in o.chunks:
                f = c.file
                if f is None and c.name == ".note.gnu.property":
                    f = prop_owner
                if f is None and c.name == "COMMON":
                    continue
                if f is not None:
                    seen.setdefault(f.file_id, None)
        return np.fromiter(seen, np.int64, len(seen))

    def _emit_global(self, s):
        if s.kind == DEFINED:
            return s.section is None or (s.section.live and s.section.output is not None)
        if s.kind == UNDEF:
            return s.referenced
        return s.kind in (COMMON, SYNTHETIC)

    def _global_name(self, s):
        if s.def_version and not s.version_hidden and b"@" not in s.name:
            return s.name + b"@@" + s.def_version.encode()
        return s.name

    def _global_rows(self, glist, dst):
        """st_info, st_other, st_shndx, st_value, st_size of the globals: a definition
        keeps its input entry's binding and type (GNU_UNIQUE included), a common stays
        SHN_COMMON with its alignment as value (or lands in .bss with -d), an undefined
        symbol is weak only when every reference is."""
        files = self.ctx.files
        ng = len(glist)
        kind = np.fromiter((s.kind for s in glist), np.int64, ng)
        fid = np.fromiter((s.file.file_id if s.file is not None and s.kind in (DEFINED, COMMON) else -1
                           for s in glist), np.int64, ng)
        index = np.fromiter((s.index for s in glist), np.int64, ng)
        vis = np.fromiter((s.visibility for s in glist), np.uint8, ng)
        value = np.fromiter((s.value & 0xffffffffffffffff for s in glist), np.uint64, ng)
        size = np.fromiter((s.size for s in glist), np.uint64, ng)
        sec = [s.section if s.kind == DEFINED and not s.absolute else None for s in glist]
        shn = np.fromiter((c.output.index if c is not None else -SHN_ABS for c in sec), np.int64, ng)
        off = np.fromiter((c.out_offset if c is not None else 0 for c in sec), np.uint64, ng)
        counts = np.fromiter((len(f.symbols) for f in files), np.int64, len(files))
        fbase = np.cumsum(counts) - counts
        allinfo = np.concatenate([f.symbols["st_info"] for f in files])
        allother = np.concatenate([f.symbols["st_other"] for f in files])
        has = fid >= 0
        gi = np.where(has, fbase[np.maximum(fid, 0)] + index, 0)
        info = np.where(has, allinfo[gi], STB_GLOBAL << 4).astype(np.uint8)
        other = np.where(has, (allother[gi] & ~np.uint8(3)) | vis, vis).astype(np.uint8)
        und = kind == UNDEF
        if und.any():
            strong = np.fromiter((s.strong_ref for s in glist), bool, ng)
            utype = np.fromiter((self._undef_type(s) if s.kind == UNDEF else 0 for s in glist), np.uint8, ng)
            info[und] = ((np.where(strong, STB_GLOBAL, STB_WEAK) << 4) | utype)[und]
            shn[und] = -SHN_UNDEF
            value[und] = 0
            size[und] = 0
        value = value + off
        syn = kind == SYNTHETIC
        if syn.any():
            info[syn] = (STB_GLOBAL << 4) | STT_NOTYPE
            size[syn] = 0
            for i in np.flatnonzero(syn).tolist():
                row = self.defsym_rows.get(glist[i].gid)
                if row is not None:
                    shn[i], value[i] = row[0], row[1]
                    info[i] = (STB_GLOBAL << 4) | row[2]
        com = np.flatnonzero(kind == COMMON)
        for i in com.tolist():
            s = glist[i]
            if self.commons is not None:
                c = self.commons[s.gid]
                shn[i], value[i] = c.output.index, c.out_offset + s.value
            else:
                shn[i], value[i] = -SHN_COMMON, s.align
        dst["st_info"] = info
        dst["st_other"] = other
        dst["st_value"] = value
        dst["st_size"] = size
        return shn                       # (special indexes negated: see build_symbols)

    def _undef_type(self, s):
        types = getattr(self, "_utypes", None)
        if types is None:
            types = self._utypes = {}
            for f in self.ctx.files:
                fg = f.first_global
                if len(f.symbols) <= fg:
                    continue
                t = f.symbols["st_info"][fg:] & 0xf
                m = (f.shndx[fg:] == SHN_UNDEF) & (t != STT_NOTYPE)
                for gid, ty in zip(f.global_ids[m].tolist(), t[m].tolist()):
                    types.setdefault(gid, ty)
        return types.get(s.gid, STT_NOTYPE)

    def _group_contents(self, out_of_key, symidx_of_out):
        """Each SHT_GROUP: its flag word and output member indexes; sh_info names the
        signature symbol in the output table."""
        G = self.keys.G
        word = np.dtype(self.dt.word)
        for g in self.groups:
            f, gidx, is_comdat, members = g.group_of
            idx = []
            for m in members:
                s = f.sections[m] if m < len(f.sections) else None
                if s is None or not s.live or s.output is None:
                    continue
                o = s.output
                if o.index not in idx:
                    idx.append(o.index)
                    if o.rela is not None:
                        idx.append(o.rela.index)
            g.data = np.array([GRP_COMDAT if is_comdat else 0] + idx, word).view(np.uint8)
            g.size = len(g.data)
            info = int(f.rows[gidx][7])
            if info < f.first_global:
                if int(f.symbols["st_info"][info]) & 0xf == STT_SECTION:
                    tgt = int(f.shndx[info])
                    t_out = self.sec_out[f.sec_base + tgt] if 0 < tgt < len(f.sections) else -1
                    g.info = int(symidx_of_out[t_out]) if t_out >= 0 else 0
                else:
                    g.info = int(out_of_key[G + f.local_base + info])
            else:
                g.info = int(out_of_key[f.global_ids[info - f.first_global]])
            g.info = max(g.info, 0)
            g.link = self.symtab.index

    # -- relocations ------------------------------------------------------------------------
    def rewrite_relocations(self):
        rt = self.rt
        self.rel_out = {}
        self.clear = []
        self.addends = {}             # REL output: output section index -> (offsets, types, addends)
        if rt.empty:
            return
        secs = rt.sections
        ns = len(secs)
        s_out = np.fromiter((s.output.index for s in secs), np.int64, ns)
        s_off = np.fromiter((s.out_offset for s in secs), np.int64, ns)
        s_dbg = np.fromiter((is_debugging(s.name) for s in secs), bool, ns)
        so = rt.sec_ordinal
        key = rt.key
        # the types BFD 2.40 knows for x86-64 (its howto table, and the two vtable ones)
        T = self.t if hasattr(self, "t") else None
        if T is not None and T.MACHINE != 62:
            # (the types the target's table names; dynamic-only ones are not in inputs)
            known = np.zeros(T.NTYPES, bool)
            known[list(T.TYPE_NAMES)] = True
            bad = (rt.type >= T.NTYPES) | ~known[np.minimum(rt.type, T.NTYPES - 1)]
        else:
            bad = (rt.type >= 43) & (rt.type != 250) & (rt.type != 251)
        if bad.any():
            k = int(np.argmax(bad))
            raise LinkError(f"{rt.where(k)}: unsupported relocation type {int(rt.type[k])} "
                            f"({int(rt.type[k]):#x})")
        sym = self.out_of_key[key]
        addend = rt.addend + self.adj[key]
        self.t.relocatable_addends(rt, secs, addend)
        offset = rt.offset + s_off[so]
        typ = rt.type.copy()
        dead = self.dead[key] | (sym < 0)
        dead &= ~((rt.type == R_NONE) & (rt.sym == 0))
        if dead.any():
            dead = self._pretend_kept(dead, secs, so, key, sym, addend, s_dbg)
        if dead.any():
            # the field is cleared (.debug_ranges gets 1: 0 would end its list)
            d = np.flatnonzero(dead)
            self.clear = [(secs[i].output, int(o), int(t)) for i, o, t in
                          zip(so[d].tolist(), offset[d].tolist(), typ[d].tolist())]
            sym[d] = 0
            addend[d] = 0
            typ[d] = R_NONE
        outk = s_out[so]
        # one table per output section, sorted by offset as elf_link_adjust_relocs does (stably)
        order = np.lexsort((offset, outk))
        outk_sorted = outk[order]
        dd = (dead & s_dbg[so])[order]
        if dd.any():
            # BFD drops them from debug sections, but never the last entry of one
            heads = np.flatnonzero(np.concatenate(([True], outk_sorted[1:] != outk_sorted[:-1])))
            kept = np.add.reduceat((~dd).astype(np.int64), heads)
            ends = np.append(heads[1:], len(order)) - 1
            dd[ends[kept == 0]] = False
            order, outk_sorted = order[~dd], outk_sorted[~dd]
        tab = np.zeros(len(order), self.rel_dt)
        tab["r_offset"] = offset[order]
        tab["r_info"] = self.dt.r_info(sym[order], typ[order])
        if self.t.RELA:
            tab["r_addend"] = addend[order]
        else:
            # the addends live in the fields: those the rewrite changed are written back
            moved = (addend != rt.addend) & ~dead & (self.t.IMPLICIT_WIDTH.take(typ, mode="clip") > 0)
            m = np.flatnonzero(moved)
            for k in unique_values(outk[m]).tolist():
                mk = m[outk[m] == k]
                self.addends[k] = (offset[mk], typ[mk], addend[mk])
        raw = tab.view(np.uint8)
        es = self.rel_dt.itemsize
        bounds = np.flatnonzero(np.diff(outk_sorted)) + 1
        starts = np.concatenate(([0], bounds)).tolist()
        ends = np.concatenate((bounds, [len(order)])).tolist()
        by_index = {o.index: o for o in self.contents}
        for a, b, k in zip(starts, ends, outk_sorted[starts].tolist() if len(order) else []):
            r = by_index[k].rela
            r.data = raw[a * es:b * es]
            r.size = (b - a) * es

    def write_map(self):
        """-Map / -M / --cref with -r: ldpy's link map (mapfile.py) over the output
        sections of this object, addresses relative to 0 as in the object."""
        from ldpy.mapfile import write_map, write_cref
        ctx = self.ctx
        ctx.sections_out = [o for o in self.sections if o.type not in (SHT_RELA, SHT_REL, SHT_SYMTAB, SHT_STRTAB, 18)]
        syms = ctx.symtab.symbols
        gaddr = np.zeros(len(syms), np.int64)
        for sym in syms:
            if sym.kind == DEFINED and sym.section is not None and sym.section.output is not None:
                gaddr[sym.gid] = sym.value + sym.section.out_offset
        ctx.gaddr = gaddr
        if ctx.config.map_file:
            write_map(ctx)
        else:
            write_cref(ctx)

    def _write_addends(self, buf, base, o):
        """REL output: the changed addends of output section o's relocations stored
        in the fields they patch (each type's implicit-addend width)."""
        rows = self.addends.get(o.index)
        if rows is None or o.type == SHT_NOBITS:
            return
        off, typ, addend = rows
        width = self.t.IMPLICIT_WIDTH.take(typ, mode="clip")
        e = "<" if self.t.LITTLE else ">"
        for w in (1, 2, 4, 8):
            m = width == w
            if m.any():
                if (off[m] + w > o.size).any():
                    raise LinkError(f"{o.name}: relocation field beyond the end of the section")
                v = addend[m].astype(f"{e}i8").view(np.uint8).reshape(-1, 8)
                v = v[:, :w] if self.t.LITTLE else v[:, 8 - w:]
                buf[base + off[m][:, None] + np.arange(w)] = v

    def _clear_field(self, buf, base, o, off, typ):
        """The field of a relocation against a discarded section is cleared (BFD's
        _bfd_clear_contents; in .debug_ranges it becomes 1, 0 would end the list)."""
        _clear_field_impl(self.t, buf, base, o, off, typ)

    def _compress_debug_sections(self, names):
        """--compress-debug-sections with -r: each .debug_* section compressed (when that
        makes it smaller), relocations unchanged, as ld.bfd -r does."""
        import zlib
        from ldpy import compress as Z
        style, t = self.cfg.compress_debug_sections, self.t
        for o in self.contents:
            if not (o.name.startswith(".debug_") and not o.flags & SHF_ALLOC and
                    o.type != SHT_NOBITS and o.size):
                continue
            raw = np.zeros(o.size, np.uint8)
            for c in o.chunks:
                b = c.bytes()
                raw[c.out_offset:c.out_offset + len(b)] = b
            self._write_addends(raw, 0, o)
            for oo, off, typ in self.clear:
                if oo is o:
                    self._clear_field(raw, 0, o, off, typ)
            data = raw.tobytes()
            stream = Z._zstd_compress(data, f"output section {o.name}") if style == "zstd" \
                else zlib.compress(data)
            if style == "zlib-gnu":
                blob = Z.GNU_MAGIC + len(data).to_bytes(8, "big") + stream
            else:
                kind = Z.ELFCOMPRESS_ZSTD if style == "zstd" else Z.ELFCOMPRESS_ZLIB
                order = "little" if t.LITTLE else "big"
                blob = kind.to_bytes(4, order) + bytes(4) + len(data).to_bytes(8, order) + \
                    max(o.align, 1).to_bytes(8, order)
                blob += stream
            if len(blob) >= len(data):
                continue                     # (BFD keeps a section plain when it does not shrink)
            o.data = np.frombuffer(blob, np.uint8)
            o.size = len(blob)
            if style == "zlib-gnu":
                o.name = Z.output_name(o.name, style)
                if o.rela is not None:
                    o.rela.name = self.rel_prefix + o.name
            else:
                o.flags |= 0x800             # SHF_COMPRESSED
                o.align = 8
        blob = bytearray(b"\0")
        names.clear()
        for o in self.sections:
            if o.name not in names:
                names[o.name] = len(blob)
                blob += o.name.encode() + b"\0"
        self.shstrtab.data = np.frombuffer(bytes(blob), np.uint8)
        self.shstrtab.size = len(blob)

    def _pretend_kept(self, dead, secs, so, key, sym, addend, s_dbg):
        """BFD's answer to a relocation against a symbol of a discarded section
        (elf_link_input_bfd, action_discarded): outside .eh_frame and .gcc_except_table
        the symbol is taken to be in the kept copy of that section (the same-named member
        of the group that won, or the .gnu.linkonce section that did), when its size is
        the same; outside debugging sections the reference is also an error.  Updates
        sym and addend in place; returns the relocations still against nothing."""
        ctx, keys = self.ctx, self.keys
        G = keys.G
        d = np.flatnonzero(dead)
        names = [secs[i].name for i in so[d].tolist()]
        pretend = np.fromiter((n not in (".eh_frame", ".gcc_except_table") for n in names), bool, len(d))
        cache = {}
        discarded = self.omap.discarded_ids
        syms = ctx.symtab.symbols
        for j, (i, k) in enumerate(zip(d.tolist(), key[d].tolist())):
            if k < G:
                # a global defined in a section /DISCARD/ took: an error outside debug sections
                s = syms[k]
                if discarded and s.kind == DEFINED and s.section is not None and \
                        id(s.section) in discarded and not s_dbg[so[i]]:
                    src = secs[so[i]]
                    diag.error(f"'{s.display}' referenced in section '{src.name}' of {src.file.name}: "
                               f"defined in discarded section '{s.section.name}' of {s.section.file.name}")
                continue
            if not pretend[j]:
                continue
            li = k - G
            fi, shndx = int(keys.loc_file[li]), int(keys.loc_shndx[li])
            f = ctx.files[fi]
            if not 0 < shndx < len(f.sections):
                continue
            kept = cache.get((fi, shndx), False)
            if kept is False:
                kept = cache[(fi, shndx)] = self._kept_section(f, shndx)
            if not s_dbg[so[i]]:
                src = secs[so[i]]
                diag.error(f"'{ctx.sym_display(f, li - f.local_base)}' referenced in section "
                           f"'{src.name}' of {src.file.name}: defined in discarded section "
                           f"'{f.section_names[shndx]}' of {f.name}")
            if kept is None:
                continue
            sym[i] = self.symidx_of_out[kept.output.index]
            value = 0 if int(keys.loc_info[li]) & 0xf == STT_SECTION else int(keys.loc_value[li])
            addend[i] += kept.out_offset + value
            dead[i] = False
        return dead

    def _kept_section(self, f, i):
        """The kept copy of f's discarded section i (bfd's _bfd_elf_check_kept_section)."""
        ctx = self.ctx
        name, size = f.section_names[i], f.rows[i][5]
        kept = None
        for signature, is_comdat, members, _ in f.groups:
            if i in members:
                owner = ctx.comdat.get(signature)
                if owner is None or owner is f:
                    return None
                for sig2, _, members2, _ in owner.groups:
                    if sig2 == signature:
                        for m in members2:
                            s = owner.sections[m] if m < len(owner.sections) else None
                            if s is not None and s.live and s.output is not None and s.name == name:
                                kept = s
                                break
                        break
                break
        else:
            if name.startswith(".gnu.linkonce."):
                owner = ctx.comdat.get(name)
                if owner is not None and owner is not f:
                    kept = next((s for s in owner.sections if s is not None and s.live and
                                 s.name == name and s.output is not None), None)
        if kept is None or kept.size != size:
            return None
        return kept

    # -- writing ------------------------------------------------------------------------------
    def write(self):
        ctx, dt, t = self.ctx, self.dt, self.t
        secs = self.sections
        # .shstrtab
        names = {}
        blob = bytearray(b"\0")
        for o in secs:
            if o.name not in names:
                names[o.name] = len(blob)
                blob += o.name.encode() + b"\0"
        self.shstrtab.data = np.frombuffer(bytes(blob), np.uint8)
        self.shstrtab.size = len(blob)
        for o in secs:
            if o.type == self.rel_type and o.data is None:
                o.data = np.zeros(0, np.uint8)
        if self.cfg.compress_debug_sections != "none":
            self._compress_debug_sections(names)
        # file layout: header, contents in index order, section headers
        pos = dt.ehdr.itemsize
        for o in secs:
            a = max(o.align, 1)
            pos = _align(pos, a)
            o.offset = pos
            if o.type != SHT_NOBITS:
                pos += o.size
        shoff = _align(pos, 8)
        total = shoff + dt.shdr.itemsize * (len(secs) + 1)
        buf = np.zeros(total, np.uint8)
        from ldpy.write import copy_output_section, elf_ident
        for o in secs:
            if o.type == SHT_NOBITS or not o.size:
                continue
            if o.data is not None:
                buf[o.offset:o.offset + o.size] = o.data
                continue
            copy_output_section(buf, o, t.code_fill)    # (a script's fill, code padding, inputs)
        for o in self.contents:
            if o.data is None:
                self._write_addends(buf, o.offset, o)
        for o, off, typ in self.clear:
            if o.data is None:
                self._clear_field(buf, o.offset, o, off, typ)
        # section headers
        sh = np.zeros(len(secs) + 1, dt.shdr)
        for o in secs:
            link, info = o.link, o.info
            if o.type == self.rel_type:
                link = self.symtab.index
                info = o.target.index
            elif o.type == SHT_SYMTAB:
                link = self.strtab.index
            elif o is self.symtab_shndx:
                link = self.symtab.index
            sh[o.index] = (names[o.name], o.type, o.flags, o.addr, o.offset, o.size, link, info,
                           max(o.align, 1) if o.type != SHT_NULL else 0, o.entsize)
        nsh = len(secs) + 1
        if nsh >= SHN_LORESERVE:            # the counts live in section header 0
            sh[0]["sh_size"] = nsh
        if self.shstrtab.index >= SHN_LORESERVE:
            sh[0]["sh_link"] = self.shstrtab.index
        buf[shoff:shoff + sh.nbytes] = sh.view(np.uint8)
        eh = np.zeros(1, dt.ehdr)
        # (BFD marks the object GNU for IFUNC or unique symbols and for SHF_GNU_RETAIN sections)
        eh["e_ident"] = elf_ident(t, self.osabi_gnu or any(o.flags & SHF_GNU_RETAIN for o in secs))
        eh["e_type"] = ET_REL
        eh["e_machine"] = t.MACHINE
        eh["e_version"] = 1
        eh["e_shoff"] = shoff
        eh["e_flags"] = ctx.files[0].eflags if ctx.files else 0
        eh["e_ehsize"] = dt.ehdr.itemsize
        eh["e_shentsize"] = dt.shdr.itemsize
        eh["e_shnum"] = nsh if nsh < SHN_LORESERVE else 0
        eh["e_shstrndx"] = self.shstrtab.index if self.shstrtab.index < SHN_LORESERVE else 0xffff
        buf[:dt.ehdr.itemsize] = eh.view(np.uint8)
        if self.build_id is not None:
            self.build_id.finalize(buf, self.build_id.output.offset + self.build_id.out_offset)
        _write_file(self.cfg.output, buf)


def _clear_field_impl(t, buf, base, o, off, typ):
    w = int(t.WIDTH[typ]) if typ < len(t.WIDTH) else 0
    if w and o.type != SHT_NOBITS and off + w <= o.size:
        p = base + off
        buf[p:p + w] = 0
        if o.name == ".debug_ranges":
            buf[p if t.LITTLE else p + w - 1] = 1


def _write_file(path, buf):
    """The whole image in one write to a temporary file renamed over `path` when
    complete (outfile.py); mode 0666 & ~umask, as ld.bfd leaves a -r object."""
    from ldpy.outfile import write_image, check_inputs
    check_inputs()
    write_image(path, buf, executable=False)
