"""Assign input sections to output sections (the script's rules: ldpy's default
script or the user's, through script.place.ScriptOutputMap), merge SHF_MERGE
strings, prune .eh_frame, allocate common symbols."""
import fnmatch
from itertools import chain, compress, count

import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import (reloc_sym, SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHF_MERGE, SHF_TLS, SHF_GROUP,
                             SHT_NOBITS, SHT_RELA)
from ldpy.elf.eh_frame import prune_eh_frame, prune_eh_frames
from ldpy.sections import MergedSection
from ldpy.symbols import COMMON
from ldpy.synthetic import Synthetic

# Input sections that never reach the output as such.
_DROP = {".note.GNU-stack", ".note.gnu.property", ".gnu_debuglink", ".gnu.lto_.opts"}
_DROP_PREFIXES = (".gnu.warning", ".gnu.lto_")


def is_debug_section(name):
    return name.startswith((".debug", ".zdebug", ".gnu.debuglto_", ".stab", ".line"))


def assign_sections(ctx):
    strip_debug = ctx.config.strip_debug
    omap = ctx.outputs
    if ctx.config.unique_sections or ctx.config.unique_orphan_sections:
        omap.unique = (ctx.config.unique_sections, ctx.config.unique_orphan_sections)
    buckets = {}       # output name -> list of (sort key, seq, chunk)
    eh_items = []      # (target, sort key, seq, section) of the .eh_frame inputs
    seq = 0
    _prune_all_eh_frames(ctx.files, ctx.eh_frame_records,
                         ctx.config.gc_sections or ctx.config.icf != "none")
    for f in ctx.files:
        for sec in filter(None, f.sections):        # (the Nones skipped in C)
            if not sec.live:
                continue
            name = sec.name
            if name in _DROP or name.startswith(_DROP_PREFIXES) or (strip_debug and is_debug_section(name)):
                sec.live = False
                continue
            if sec.flags & SHF_GROUP and sec.type == SHT_RELA:
                continue
            placed = omap.place(sec, f)
            if placed is None:                  # /DISCARD/
                sec.live = False
                continue
            target, sort_key, _ = placed
            oname = target.name
            if sec.name == ".eh_frame":
                # records are 4-byte aligned; padding between input sections would read
                # as a zero terminator to an unwinder walking the registered frames
                sec.align = 4
            # (pieces with relocations are not interchangeable: such sections are not merged)
            if sec.flags & SHF_MERGE and sec.entsize and not (sec.flags & SHF_WRITE) and \
                    (sec.relocs is None or not len(sec.relocs)):
                key = (target, sort_key[0],
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
            if name == ".eh_frame":
                eh_items.append((target, sort_key, seq - 1, sec))
    # a plugin's sort_input_sections_for_section_merging: each rule takes its sections in
    # the plugin's order (seq becomes the position in the sorted pool)
    order = ctx.plugins.merge_rank() if ctx.plugins is not None else None
    if order is not None:
        for items in buckets.values():
            items[:] = [(k, order.get(id(sec), len(order) + s), c, sec) for k, s, c, sec in items]
    for merged in omap.merged.values():
        merged.finish()
    # (in bucket order, then the order each bucket's list had: what a walk of buckets gives)
    bucket_at = {t: i for i, t in enumerate(buckets)}
    eh_frames = [c for *_, c in sorted(eh_items, key=lambda e: (bucket_at[e[0]], e[2]))]
    if eh_frames:
        _drop_inner_terminators(eh_frames)
    shuffle = _shuffler(ctx.config.shuffle_sections) if ctx.config.shuffle_sections else None
    for target, items in buckets.items():
        items.sort()            # by (sort key, seq): seq is unique, the chunks are never compared
        if shuffle is not None:
            shuffle(target.name, items)
        first = items[0][3]
        # an orphan is placed by the flags of all its inputs, as ld.bfd does: one writable
        # input makes the whole section writable (a read-only first input must not put it
        # in a read-only segment)
        flags = first.flags
        for item in items[1:]:
            flags |= item[3].flags & (SHF_WRITE | SHF_EXECINSTR | SHF_TLS)
        out = omap.output_for(target, first.type, flags)
        if hasattr(out, "add_sorted"):
            out.add_sorted(items)
        else:
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


# output sections whose input order carries meaning (prologue/epilogue pieces,
# constructor order, list terminators): --shuffle-sections leaves them alone, as mold
_KEEP_ORDER = {".init", ".fini", ".ctors", ".dtors", ".init_array", ".fini_array", ".preinit_array",
               ".eh_frame", ".tm_clone_table", ".jcr"}


def _shuffler(spec):
    """--shuffle-sections: a function shuffling a bucket's input sections that match
    the glob, each among those with the same sort key (script descriptions and
    SORT orders stay as they are), with a seeded generator."""
    import random
    glob, seed = spec
    rng = random.Random(seed if seed is not None else random.SystemRandom().randrange(1 << 63))

    def shuffle(oname, items):
        if oname in _KEEP_ORDER or any(sec.flags & 0x80 for *_, sec in items):   # SHF_LINK_ORDER
            return
        start = 0
        while start < len(items):
            end = start
            while end < len(items) and items[end][0] == items[start][0]:
                end += 1
            pick = [i for i in range(start, end) if fnmatch.fnmatchcase(items[i][3].name, glob)]
            moved = [items[i] for i in pick]
            rng.shuffle(moved)
            for i, it in zip(pick, moved):
                items[i] = it
            start = end
    return shuffle


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
        if b[-4:].tobytes() != b"\0\0\0\0":      # (no terminator: the usual case, checked cheaply)
            continue
        pos, data, order = 0, b.tobytes(), "little" if sec.file.little else "big"
        while pos + 4 <= len(data):
            n = int.from_bytes(data[pos:pos + 4], order)
            if n == 0 and pos + 4 == len(data):
                sec.data = b[:-4]
                sec.size -= 4
                break
            pos += 4 + n


def _prune_all_eh_frames(files, known_records, collected):
    """_prune_eh_frames for every file with discarded sections, in one batch
    (elf/eh_frame.prune_eh_frames); file by file when the batch finds anything
    unusual, so that the first file's problem is the one reported.  collected:
    --gc-sections or --icf ran (else only COMDAT and .gnu.linkonce losses are dead)."""
    dead_lists, with_dead = [], []      # each file's dead section indexes; the files
    for f in files:
        if collected or f.has_linkonce:
            d = [s is not None and not s.live for s in f.sections]
            if True in d:
                dead_lists.append(list(compress(count(), d)))
                with_dead.append(f)
        elif f.lost_comdat:
            # (without --gc-sections, --icf or .gnu.linkonce, the lost COMDAT copies are
            # the only dead sections: ObjectFile._build and take listed them)
            dead_lists.append(f.lost_comdat)
            with_dead.append(f)
    files = with_dead
    secs, owner = [], []
    for n, f in enumerate(files):
        sections = f.sections
        eh = getattr(f, "eh_frames", None)     # (ObjectFile lists them while parsing)
        for s in (sections if eh is None else [sections[i] for i in eh]):
            if s is not None and s.live and s.name == ".eh_frame" and s.relocs is not None:
                secs.append(s)
                owner.append(n)
    usual = bool(secs) and len(secs) < (1 << 20) and all(
        s.relocs.dtype == secs[0].relocs.dtype and s.file.little == secs[0].file.little and
        s.compressed is None for s in secs)
    if usual:
        # which relocation of each section points into a discarded section
        nsyms = np.fromiter((len(f.shndx) for f in files), np.int64, len(files))
        nsecs = np.fromiter((len(f.sections) for f in files), np.int64, len(files))
        sym_base = np.cumsum(nsyms) - nsyms
        sec_base = np.cumsum(nsecs) - nsecs
        shndx = np.concatenate([f.shndx for f in files])
        ndead = np.fromiter(map(len, dead_lists), np.int64, len(dead_lists))
        dead = np.zeros(int(nsecs.sum()), bool)
        dead[np.repeat(sec_base, ndead) + np.fromiter(chain.from_iterable(dead_lists), np.int64, int(ndead.sum()))] = True
        nrel = np.fromiter((len(s.relocs) for s in secs), np.int64, len(secs))
        fid = np.repeat(np.array(owner, np.int64), nrel)
        symidx = reloc_sym(np.concatenate([s.relocs["r_info"] for s in secs]))
        if len(symidx) and (symidx >= nsyms[fid]).any():
            usual = False
        else:
            tshndx = shndx[sym_base[fid] + symidx]
            in_sec = tshndx > 0
            target_dead = in_sec & dead[sec_base[fid] + np.where(in_sec, tshndx, 0)]
            usual = prune_eh_frames(secs, target_dead)
    if not usual:
        for f in files:
            _prune_eh_frames(f, known_records)


def _prune_eh_frames(f, known_records):
    """Drop FDEs whose function lives in a discarded (COMDAT-loser, --gc-sections) section.
    known_records: id(section) -> its records, when --gc-sections has read them already."""
    dead = np.fromiter((s is not None and not s.live for s in f.sections), bool, len(f.sections))
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
            out = "COMMON"
        else:
            ctx.tcommons = chunk
            out = ".tcommon"
        ctx.outputs.get(out, SHT_NOBITS, flags).add(chunk)
