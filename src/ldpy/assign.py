"""Assign input sections to output sections (the default script's rules),
merge SHF_MERGE strings, prune .eh_frame, allocate common symbols."""
import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import (SHT_REL, reloc_sym, SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_MERGE, SHF_TLS, SHF_GROUP,
                             SHT_NOBITS, SHT_NOTE, SHT_RELA, SHN_LORESERVE)
from ldpy.sections import (OutputSection, MergedSection, RANK, output_name, input_sort_key,
                           prune_eh_frame)
from ldpy.symbols import COMMON
from ldpy.synthetic import Synthetic

# Input sections that never reach the output as such.
_DROP = {".note.GNU-stack", ".note.gnu.property", ".gnu_debuglink", ".gnu.lto_.opts"}


class OutputMap:
    """Output sections by name, created on first use, ordered like the default script."""

    def __init__(self):
        self.by_name = {}
        self.merged = {}

    def get(self, name, type_, flags):
        out = self.by_name.get(name)
        if out is None:
            rank = RANK.get(name)
            if rank is None:
                rank = _orphan_rank(name, type_, flags)
            out = OutputSection(name, type_, flags & (SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR | SHF_TLS),
                                rank, len(self.by_name))
            self.by_name[name] = out
        return out

    def sorted(self):
        return sorted(self.by_name.values(), key=lambda o: (o.seg_class, o.rank, o.order))

    # the placement interface shared with script.place.ScriptOutputMap
    def place(self, sec, f):
        oname = output_name(sec)
        return oname, input_sort_key(sec, oname), None

    def output_for(self, oname, type_, flags):
        return self.get(oname, type_, flags)


def _orphan_rank(name, type_, flags):
    """GNU ld's orphan placement: after the last section of the same kind."""
    if not flags & SHF_ALLOC:
        return 10_000
    if type_ == SHT_NOTE:
        return RANK[".note.ABI-tag"] + 0.5
    if flags & SHF_EXECINSTR:
        return RANK[".text"] + 0.5
    if flags & SHF_TLS:
        return RANK[".tbss"] + 0.5
    if flags & SHF_WRITE:
        return RANK[".bss"] + 0.5 if type_ == SHT_NOBITS else RANK[".data"] + 0.5
    if type_ in (SHT_RELA, SHT_REL):
        return RANK[".rela.plt"] + 0.5
    return RANK[".rodata"] + 0.5


def _is_debug(name):
    return name.startswith((".debug", ".zdebug", ".gnu.debuglto_", ".stab", ".line"))


def assign_sections(ctx):
    strip_debug = ctx.config.strip_debug
    omap = ctx.outputs
    buckets = {}       # output name -> list of (sort key, seq, chunk)
    seq = 0
    for f in ctx.files:
        if f.has_dead_sections():
            _prune_eh_frames(f, ctx.eh_frame_records)
        for sec in f.sections:
            if sec is None or not sec.live:
                continue
            name = sec.name
            if name in _DROP or name.startswith(".gnu.warning") or name.startswith(".gnu.lto_") or \
                    (strip_debug and _is_debug(name)):
                sec.live = False
                continue
            if sec.flags & SHF_GROUP and sec.type == SHT_RELA:
                continue
            placed = omap.place(sec, f)
            if placed is None:                  # /DISCARD/
                sec.live = False
                continue
            target, sort_key, _ = placed
            oname = target if isinstance(target, str) else target.name
            if sec.name == ".eh_frame":
                # records are 4-byte aligned; padding between input sections would read
                # as a zero terminator to an unwinder walking the registered frames
                sec.align = 4
            # (pieces with relocations are not interchangeable: such sections are not merged)
            if sec.flags & SHF_MERGE and sec.entsize and not (sec.flags & SHF_WRITE) and \
                    (sec.relocs is None or not len(sec.relocs)):
                key = (target, sort_key[0] if not isinstance(target, str) else 0,
                       sec.flags & ~SHF_GROUP, sec.entsize)
                merged = omap.merged.get(key)
                if merged is None:
                    merged = omap.merged[key] = MergedSection(oname, sec.flags & ~SHF_GROUP, sec.entsize)
                    buckets.setdefault(target, []).append((sort_key, seq, merged, sec))
                    seq += 1
                merged.add(sec)
                continue
            buckets.setdefault(target, []).append((sort_key, seq, sec, sec))
            seq += 1
    for merged in omap.merged.values():
        merged.finish()
    eh_frames = [c for items in buckets.values() for _, _, c, _ in items if c.name == ".eh_frame"]
    if eh_frames:
        _drop_inner_terminators(eh_frames)
    for target, items in buckets.items():
        items.sort(key=lambda t: (t[0], t[1]))
        first = items[0][3]
        out = omap.output_for(target, first.type, first.flags)
        for key, _, chunk, _ in items:
            out.add(chunk, key[0])
        if out.name == ".init_array" or out.name == ".fini_array" or out.name == ".preinit_array":
            out.type = {".init_array": 14, ".fini_array": 15, ".preinit_array": 16}[out.name]
            if out.name != ".preinit_array":
                word = 8 if ctx.target.IS64 else 4
                for _, _, chunk, sec in items:
                    if chunk is sec and (sec.name.startswith(".ctors") or sec.name.startswith(".dtors")):
                        _reverse_words(sec, word)
    _allocate_commons(ctx)


def _reverse_words(sec, word):
    """.ctors run from the last entry to the first, .init_array from the first:
    a .ctors/.dtors section placed in .init_array/.fini_array is copied word by
    word in reverse order, its relocations mirrored with it (GNU ld's
    SEC_ELF_REVERSE_COPY)."""
    if sec.type == SHT_NOBITS or sec.size % word or sec.size <= word:
        return
    data = sec.bytes()
    sec.data = np.ascontiguousarray(data.reshape(-1, word)[::-1]).reshape(-1)
    if sec.relocs is not None and len(sec.relocs):
        rel = sec.relocs.copy()
        off = rel["r_offset"].astype(np.int64)
        rel["r_offset"] = sec.size - word - (off - off % word) + off % word
        sec.relocs = rel


def _drop_inner_terminators(chunks):
    """Only the last .eh_frame input (crtend.o's) may end in a zero terminator:
    an unwinder walking registered frames stops at the first one."""
    for sec in chunks[:-1]:
        if sec.size < 4:
            continue
        b = sec.bytes()
        if b[-4:].any():
            continue
        pos, data, order = 0, b.tobytes(), "little" if sec.file.little else "big"
        while pos + 4 <= len(data):
            n = int.from_bytes(data[pos:pos + 4], order)
            if n == 0 and pos + 4 == len(data):
                sec.data = b[:-4]
                sec.size -= 4
                break
            pos += 4 + n


def _prune_eh_frames(f, known_records):
    """Drop FDEs whose function lives in a discarded (COMDAT-loser, --gc-sections) section.
    known_records: id(section) -> its records, when --gc-sections has read them already."""
    dead = np.zeros(len(f.sections), bool)
    for i, s in enumerate(f.sections):
        if s is not None and not s.live:
            dead[i] = True
    for s in f.sections:
        if s is None or not s.live or s.name != ".eh_frame" or s.relocs is None:
            continue
        rel = s.relocs
        symidx = reloc_sym(rel["r_info"])
        if len(symidx) and int(symidx.max()) >= len(f.shndx):
            raise LinkError(f"{s.where()}: relocation refers to a symbol index beyond the symbol table")
        tshndx = f.shndx[symidx]
        in_sec = tshndx > 0
        target_dead = in_sec & dead[np.where(in_sec, tshndx, 0)]
        # a global defined in a discarded section resolved elsewhere: its FDE here is dead too
        prune_eh_frame(s, lambda k: target_dead[k], known_records.get(id(s)))


def _allocate_commons(ctx):
    """Common symbols become a COMMON chunk of .bss; TLS commons (`.tls_common`) a
    .tcommon chunk of .tbss, as in GNU ld's `*(.tcommon)`."""
    from ldpy.elf.format import STT_TLS, SHF_TLS
    commons = [s for s in ctx.symtab.symbols if s.kind == COMMON]
    if not commons:
        return
    tls = [s for s in commons if s.type == STT_TLS]
    plain = [s for s in commons if s.type != STT_TLS] if tls else commons
    for group, name, flags in ((plain, "COMMON", SHF_ALLOC | SHF_WRITE),
                               (tls, ".tcommon", SHF_ALLOC | SHF_WRITE | SHF_TLS)):
        if not group:
            continue
        chunk = Synthetic(name, type_=SHT_NOBITS, flags=flags, align=1)
        off = 0
        for s in group:
            a = max(s.align, 1)
            off = (off + a - 1) & ~(a - 1)
            s.value = off
            off += s.size
            chunk.align = max(chunk.align, a)
        chunk.size = off
        if name == "COMMON":
            ctx.commons = chunk
            out = "COMMON" if ctx.script_sections else ".bss"
        else:
            ctx.tcommons = chunk
            out = ".tcommon" if ctx.script_sections else ".tbss"
        ctx.outputs.get(out, SHT_NOBITS, flags).add(chunk)
