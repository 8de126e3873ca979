"""`.eh_frame` (DWARF call frame information as GCC emits it): the one reader of its
records for every pass: input records (gc's FDE edges, icf's hashes, -r's edits, FDE
pruning of discarded functions) and the output image (.eh_frame_hdr's count and the
pointer encodings its table reads)."""
import struct
import sys

import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.leb128 import read_uleb

# -- input records ---------------------------------------------------------------

def eh_frame_records(sec, data=None):
    """The records of an input .eh_frame: a list of (start, end, is_cie, cie_start);
    a zero terminator counts as a CIE, an FDE's cie_start is where its CIE begins."""
    if data is None:
        data = sec.bytes().tobytes()
    order = "little" if sec.file.little else "big"
    if len(data) % 4 == 0:
        fast = _eh_frame_records_words(data, order)
        if fast is not None:
            return fast
    records = []
    pos, end = 0, len(data)
    while pos + 4 <= end:
        length = int.from_bytes(data[pos:pos + 4], order)
        if length == 0:
            records.append((pos, pos + 4, True, -1))    # terminator: keep
            pos += 4
            continue
        if length == 0xffffffff:
            raise LinkError(f"{sec.where(pos)}: 64-bit DWARF .eh_frame records are not supported")
        rec_end = pos + 4 + length
        if rec_end > end or length < 4:
            raise LinkError(f"{sec.where(pos)}: corrupt .eh_frame record (length {length:#x})")
        cie_ptr = int.from_bytes(data[pos + 4:pos + 8], order)
        if cie_ptr == 0:
            records.append((pos, rec_end, True, -1))
        else:
            records.append((pos, rec_end, False, pos + 4 - cie_ptr))
        pos = rec_end
    return records


def _eh_frame_records_words(data, order):
    """eh_frame_records for the usual layout (every length a multiple of 4): the walk
    steps through a list of 32-bit words.  None when anything looks unusual; the
    byte walk then gives the precise error."""
    if order == sys.byteorder:
        w = memoryview(data).cast("I")      # (indexed a record at a time: no list of every word)
    else:
        w = np.frombuffer(data, "<u4" if order == "little" else ">u4").tolist()
    n = len(w)
    records = []
    i = 0
    while i < n:
        length = w[i]
        if length == 0:
            records.append((4 * i, 4 * i + 4, True, -1))
            i += 1
            continue
        if length & 3 or length < 4 or length == 0xffffffff or i + 1 + (length >> 2) > n:
            return None
        cie = w[i + 1]
        nxt = i + 1 + (length >> 2)
        records.append((4 * i, 4 * nxt, cie == 0, -1 if cie == 0 else 4 * i + 4 - cie))
        i = nxt
    return records


def eh_record_arrays(records):
    """(starts, ends, is_cie, cie_starts) arrays of a records list (see eh_frame_records)."""
    if isinstance(records, tuple):
        return records
    n = len(records)
    cols = list(zip(*records)) if n else [(), (), (), ()]
    return (np.array(cols[0], np.int64), np.array(cols[1], np.int64), np.array(cols[2], bool),
            np.array(cols[3], np.int64))


def prune_eh_frame(sec, is_dead_target, records=None):
    """Drop the FDEs of discarded functions from an input .eh_frame.

    is_dead_target(reloc_indexes) -> bool array tells which pc_begin relocations
    point into a discarded section.  The section's bytes and relocations are
    rewritten with whole-array operations; CIE pointers of kept FDEs are fixed up.
    records: the section's records (a list from eh_frame_records, or its arrays),
    when already known.
    """
    raw = sec.bytes()
    rel = sec.relocs
    roffs = rel["r_offset"].astype(np.int64) if rel is not None else np.zeros(0, np.int64)
    if records is None:
        records = eh_frame_records(sec, raw.tobytes())      # (start, end, is_cie, cie_start)
    starts, ends, is_cie, cie_starts = eh_record_arrays(records)
    if not len(starts):
        return
    # which record each relocation belongs to; a relocation at FDE+8 is its pc_begin
    rec_of_rel = np.maximum(np.searchsorted(starts, roffs, side="right") - 1, 0)
    at_pc_begin = np.flatnonzero(roffs == starts[rec_of_rel] + 8)
    has_live_target = np.zeros(len(starts), bool)
    has_live_target[rec_of_rel[at_pc_begin[~is_dead_target(at_pc_begin)]]] = True
    keep = is_cie | has_live_target
    if keep.all():
        return
    k = np.flatnonzero(keep)
    sizes = ends[k] - starts[k]
    total = int(sizes.sum())
    new_start = np.full(len(starts), -1, np.int64)
    new_start[k] = np.cumsum(sizes) - sizes
    out = raw[np.repeat(starts[k] - new_start[k], sizes) + np.arange(total)]
    # each kept FDE's CIE pointer: the distance back to its CIE's new place
    fde = k[~is_cie[k]]
    ci = np.minimum(np.searchsorted(starts, cie_starts[fde]), len(starts) - 1)
    missing = (starts[ci] != cie_starts[fde]) | ~keep[ci]
    if missing.any():
        raise LinkError(f"{sec.where(int(starts[fde[np.argmax(missing)]]))}: .eh_frame FDE points to a missing CIE")
    ptr = (new_start[fde] + 4 - new_start[ci]).astype("<u4" if sec.file.little else ">u4")
    out[(new_start[fde] + 4)[:, None] + np.arange(4)] = ptr.view(np.uint8).reshape(-1, 4)
    sec.data = out
    sec.size = total
    if rel is not None:
        kept_rel = keep[rec_of_rel]
        rel = rel[kept_rel].copy()
        ri = rec_of_rel[kept_rel]
        old = rel["r_offset"].astype(np.int64)
        rel["r_offset"] = (old + new_start[ri] - starts[ri]).astype(rel["r_offset"].dtype)
        sec.relocs = rel


def records_of_sections(secs):
    """The records of many input .eh_frame sections of one byte order, walked one
    length word at a time and otherwise read with whole-array operations: (raw, sizes,
    base, nrec, starts, ends, is_cie, cie_starts), with `raw` their bytes concatenated,
    `sizes` and `base` each section's size and place in it, `nrec` each one's record
    count and the record columns (as eh_frame_records gives them) in the
    concatenation's offsets.  None
    when a section is unusual (a length not a multiple of 4, a record running past
    its section's end, 64-bit DWARF): eh_frame_records then says precisely what."""
    sizes = np.fromiter((s.size for s in secs), np.int64, len(secs))
    if (sizes & 3).any():
        return None
    base = np.cumsum(sizes) - sizes
    raw = np.concatenate([s.bytes() for s in secs]) if secs else np.zeros(0, np.uint8)
    little = secs[0].file.little if secs else True
    native = little == (sys.byteorder == "little")
    words = raw.view("<u4" if little else ">u4")
    w = memoryview(raw).cast("I") if native else words.tolist()
    flat = []
    record = flat.append
    counts = []
    for b, size in zip((base >> 2).tolist(), (sizes >> 2).tolist()):
        i, end = b, b + size
        while i < end:
            record(i)
            i += 1 + (w[i] >> 2)
        if i != end:
            return None
        counts.append(len(flat))
    nrec = np.diff(np.array([0] + counts, np.int64))
    at = np.array(flat, np.int64)
    length = words[at].astype(np.int64)
    term = length == 0
    if (~term & (((length & 3) != 0) | (length < 4) | (length == 0xffffffff))).any():
        return None
    cie_ptr = np.zeros(len(at), np.int64)
    cie_ptr[~term] = words[at[~term] + 1]
    is_cie = term | (cie_ptr == 0)
    starts = at << 2
    ends = starts + 4 + length
    cie_starts = np.where(is_cie, -1, starts + 4 - cie_ptr)
    return raw, sizes, base, nrec, starts, ends, is_cie, cie_starts


def prune_eh_frames(secs, target_dead):
    """prune_eh_frame for many input .eh_frame sections at once: their records,
    relocations and bytes concatenated, every step one array operation for all of
    them; then each changed section gets its slice.  target_dead: for the
    concatenated relocations, whether each points into a discarded section.
    Returns False (nothing changed) when an input is unusual (see
    records_of_sections; a relocation outside its section, an FDE whose CIE is
    missing or in another section, a section without records but with
    relocations): the caller then prunes section by section, which reports the
    error."""
    got = records_of_sections(secs)
    if got is None:
        return False
    raw, sizes, base, nrec, starts, ends, is_cie, cie_starts = got
    nrel = np.fromiter((len(s.relocs) for s in secs), np.int64, len(secs))
    if ((nrec == 0) & (nrel > 0)).any():
        return False
    rec_sec = np.repeat(np.arange(len(secs)), nrec)
    rel = np.concatenate([s.relocs.view(np.uint8) for s in secs]).view(secs[0].relocs.dtype)
    local = rel["r_offset"].astype(np.int64)
    rel_sec = np.repeat(np.arange(len(secs)), nrel)
    if len(local) and ((local < 0) | (local >= sizes[rel_sec])).any():
        return False
    roffs = local + base[rel_sec]
    rec_of_rel = np.maximum(np.searchsorted(starts, roffs, side="right") - 1, 0)
    at_pc_begin = np.flatnonzero(roffs == starts[rec_of_rel] + 8)
    has_live_target = np.zeros(len(starts), bool)
    has_live_target[rec_of_rel[at_pc_begin[~target_dead[at_pc_begin]]]] = True
    keep = is_cie | has_live_target
    if keep.all():
        return True
    # the CIE of every kept FDE: kept, and in the FDE's own section
    k = np.flatnonzero(keep)
    fde = k[~is_cie[k]]
    ci = np.minimum(np.searchsorted(starts, cie_starts[fde]), len(starts) - 1)
    if ((starts[ci] != cie_starts[fde]) | ~keep[ci] | (rec_sec[ci] != rec_sec[fde])).any():
        return False
    lens = ends[k] - starts[k]
    new_start = np.full(len(starts), -1, np.int64)
    new_start[k] = np.cumsum(lens) - lens               # in the concatenation of the results
    # the kept records' bytes, in order: a mask over the concatenation (+1 where a
    # kept record starts, -1 where it ends) is cheaper than an index per byte
    edge = np.zeros(len(raw) + 1, np.int8)
    edge[starts[k]] += 1
    edge[ends[k]] -= 1
    out = raw[np.cumsum(edge[:-1], dtype=np.int8) > 0]
    little = secs[0].file.little
    ptr = (new_start[fde] + 4 - new_start[ci]).astype("<u4" if little else ">u4")
    out[(new_start[fde] + 4)[:, None] + np.arange(4)] = ptr.view(np.uint8).reshape(-1, 4)
    kept_rel = keep[rec_of_rel]
    new_rel = rel[kept_rel].copy()
    ri = rec_of_rel[kept_rel]
    # kept bytes and relocations per section; a section keeps its first record's new place
    kept_bytes = np.bincount(rec_sec[k], lens, len(secs)).astype(np.int64)
    out_base = np.cumsum(kept_bytes) - kept_bytes
    new_rel["r_offset"] = (new_rel["r_offset"].astype(np.int64) + new_start[ri] - starts[ri]
                           - out_base[rel_sec[kept_rel]] + base[rel_sec[kept_rel]]).astype(new_rel["r_offset"].dtype)
    kept_rels = np.bincount(rel_sec[kept_rel], minlength=len(secs))
    rel_base = np.cumsum(kept_rels) - kept_rels
    changed = np.bincount(rec_sec, ~keep, len(secs)) > 0
    for j in np.flatnonzero(changed).tolist():
        s = secs[j]
        a, n = int(out_base[j]), int(kept_bytes[j])
        s.data = out[a:a + n]
        s.size = n
        r = int(rel_base[j])
        s.relocs = new_rel[r:r + int(kept_rels[j])]
    return True


# -- the output image ----------------------------------------------------------------

def count_fdes(data, little=True):
    """Number of FDEs in an .eh_frame image (walks the record lengths)."""
    if len(data) % 4 == 0 and little == (sys.byteorder == "little"):
        w = memoryview(data).cast("I")      # (the usual image: every length a multiple of 4)
        i, n, last = 0, 0, len(w) - 1
        while i < last:
            length = w[i]
            if length & 3:
                break                       # (unusual: walked byte-wise below)
            if length and w[i + 1]:
                n += 1
            i += 1 + (length >> 2)
        else:
            return n
    fmt = "<I" if little else ">I"
    pos, end, n = 0, len(data), 0
    while pos + 8 <= end:
        length = struct.unpack_from(fmt, data, pos)[0]
        if length == 0:
            pos += 4
            continue
        if struct.unpack_from(fmt, data, pos + 4)[0] != 0:
            n += 1
        pos += 4 + length
    return n


_SIZES = {0x00: 8, 0x02: 2, 0x03: 4, 0x04: 8, 0x0a: 2, 0x0b: 4, 0x0c: 8}


def fde_pointer_encoding(data, pos, where, word=8):
    """The pointer encoding an FDE of the CIE at pos uses for pc_begin."""
    p = pos + 8
    version = data[p]
    p += 1
    aug_end = data.index(b"\0", p)
    aug = data[p:aug_end]
    p = aug_end + 1
    if version == 4:
        p += 2
    _, p = read_uleb(data, p)           # code alignment
    _, p = read_uleb(data, p)           # data alignment (sleb, same length)
    if version == 1:
        p += 1
    else:
        _, p = read_uleb(data, p)
    if not aug.startswith(b"z"):
        return 0x00
    _, p = read_uleb(data, p)
    for c in aug[1:]:
        if c == ord("R"):
            return data[p]
        if c == ord("P"):
            enc = data[p]
            p += 1 + (word if enc & 0x0f == 0 else _SIZES.get(enc & 0x0f, 8))   # (absptr: an address)
        elif c == ord("L"):
            p += 1
        elif c in (ord("S"), ord("B"), ord("G")):
            continue
        else:
            raise LinkError(f"{where}: unknown .eh_frame augmentation '{aug.decode()}'")
    return 0x00
