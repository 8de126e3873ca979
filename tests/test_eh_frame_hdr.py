""".eh_frame_hdr's table: the whole-array reader (synthetic/eh_frame_hdr._fde_table_aligned)
gives what the record-by-record walk gives, for every pointer encoding an FDE's pc_begin
may use, and leaves sections it cannot read to that walk; the link-wide reader of input
records (FDE pruning) agrees with the walk too; merged SHF_MERGE pieces of mixed
alignments land where a piece-by-piece layout puts them."""
import struct

import numpy as np
import pytest

from ldpy.synthetic.eh_frame_hdr import _fde_table, _fde_table_aligned

# DW_EH_PE format -> (struct code, size)
FORMS = {0x00: ("Q", 8), 0x02: ("H", 2), 0x03: ("I", 4), 0x04: ("Q", 8),
         0x0a: ("h", 2), 0x0b: ("i", 4), 0x0c: ("q", 8)}


def _pad4(b):
    return b + b"\0" * (-len(b) % 4)


def _cie(enc):
    body = struct.pack("<I", 0) + bytes([1]) + b"zR\0" + bytes([1, 0x78, 16, 1, enc])
    body = _pad4(body + b"\0" * ((-len(body) - 4) % 4))
    return struct.pack("<I", len(body)) + body


def _fde(pos, cie_pos, enc, value, word=8):
    code, size = FORMS[enc & 0x0f] if enc & 0x0f else (("Q", 8) if word == 8 else ("I", 4))
    body = struct.pack("<I", pos + 4 - cie_pos) + struct.pack("<" + code, value) \
        + struct.pack("<" + code.upper(), 16) + b"\0"
    body = _pad4(body)
    return struct.pack("<I", len(body)) + body


def _section(encodings, per_cie=3, word=8):
    rng = np.random.default_rng(7)
    data = b""
    for enc in encodings:
        cie_pos = len(data)
        data += _cie(enc)
        for _ in range(per_cie):
            code = FORMS.get(enc & 0x0f, ("Q", 8))[0] if enc & 0x0f else ("Q" if word == 8 else "I")
            lo, hi = {"H": (0, 1 << 16), "h": (-(1 << 15), 1 << 15), "I": (0, 1 << 32),
                      "i": (-(1 << 31), 1 << 31), "Q": (0, 1 << 62), "q": (-(1 << 62), 1 << 62)}[code]
            data += _fde(len(data), cie_pos, enc, int(rng.integers(lo, hi)), word)
        data += b"\0\0\0\0" if enc == 0x03 else b""          # a zero terminator inside
    return data


@pytest.mark.parametrize("word", [8, 4])
@pytest.mark.parametrize("encodings", [[0x1b], [0x1b, 0x03, 0x0b], [0x00, 0x04, 0x0c],
                                       [0x02, 0x0a, 0x12, 0x1a], [0x1c, 0x14, 0x10, 0x1b]])
def test_whole_array_reader_matches_the_walk(encodings, word):
    data = _section(encodings, word=word)
    want_locs, want_fdes = _fde_table(data, 0x401000, word)
    got = _fde_table_aligned(data, 0x401000, word)
    assert got is not None
    locs, fdes = got
    assert len(want_locs) == 3 * len(encodings)
    assert np.asarray(locs, np.uint64).tolist() == [int(v) for v in want_locs]
    assert np.asarray(fdes).tolist() == want_fdes


def test_unaligned_records_go_to_the_walk():
    data = _section([0x1b])
    odd = struct.pack("<I", 5) + b"\0\0\0\0\0"     # a 9-byte CIE-like record: lengths not by 4
    assert _fde_table_aligned(odd + data, 0, 8) is None
    assert _fde_table_aligned(data[:-2], 0, 8) is None       # size not a multiple of 4


@pytest.mark.parametrize("encodings", [[0x1b], [0x1b, 0x03, 0x0b], [0x00, 0x04, 0x0c]])
def test_fde_count_and_input_records(encodings):
    """The FDE count that sizes .eh_frame_hdr, and the input-record reader, on the
    word walk and on the byte walk (a section whose size is not a multiple of 4)."""
    from ldpy.elf.eh_frame import count_fdes, eh_frame_records

    class Sec:
        class file:
            little = True

        def where(self, pos=None):
            return "test.o:(.eh_frame)"
    data = _section(encodings)
    n = 3 * len(encodings)
    assert count_fdes(data) == n
    assert count_fdes(data + b"\0\0") == n                # (byte walk)
    words = eh_frame_records(Sec(), data)
    assert sum(not is_cie for _, _, is_cie, _ in words) == n
    assert words == eh_frame_records(Sec(), data + b"\0\0")[:len(words)]


class _EhSec:
    """An input .eh_frame of `data` (what records_of_sections reads of a section)."""
    def __init__(self, data, little=True):
        self.data, self.size = np.frombuffer(data, np.uint8), len(data)
        self.file = type("F", (), {"little": little})()

    def bytes(self):
        return self.data

    def where(self, pos=None):
        return "test.o:(.eh_frame)"


@pytest.mark.parametrize("little", [True, False])
def test_records_of_many_sections_match_the_walk(little):
    """FDE pruning's link-wide reader (elf/eh_frame.records_of_sections) gives each
    section's records as eh_frame_records walks them, at the section's place in the
    concatenation, in either byte order."""
    from ldpy.elf.eh_frame import eh_frame_records, records_of_sections

    def swap(data):             # (the same records, every length and CIE pointer big-endian)
        if little:
            return data
        out, pos = bytearray(data), 0
        while pos < len(data):
            n = struct.unpack_from("<I", data, pos)[0]
            struct.pack_into(">I", out, pos, n)
            if n:
                struct.pack_into(">I", out, pos + 4, struct.unpack_from("<I", data, pos + 4)[0])
            pos += 4 + n
        return bytes(out)
    parts = [swap(_section(e)) for e in ([0x1b], [0x1b, 0x03, 0x0b], [0x00, 0x04, 0x0c])]
    secs = [_EhSec(p, little) for p in parts] + [_EhSec(b"", little)]
    raw, sizes, base, nrec, starts, ends, is_cie, cie_starts = records_of_sections(secs)
    assert sizes.tolist() == [len(p) for p in parts] + [0]
    assert raw.tobytes() == b"".join(parts) and base.tolist() == [0, len(parts[0]), len(parts[0]) + len(parts[1]),
                                                                   sum(map(len, parts))]
    at = 0
    for j, sec in enumerate(secs):
        want = eh_frame_records(sec, sec.bytes().tobytes())
        assert nrec[j] == len(want)
        got = [(int(s) - base[j], int(e) - base[j], bool(c), -1 if c else int(p) - base[j])
               for s, e, c, p in zip(starts[at:at + nrec[j]], ends[at:at + nrec[j]],
                                     is_cie[at:at + nrec[j]], cie_starts[at:at + nrec[j]])]
        assert got == [(s, e, c, -1 if c else p) for s, e, c, p in want]
        at += nrec[j]
    assert nrec[1] == 3 * 4 + 1                 # (the terminator inside counts as a record)


def test_records_of_unusual_sections_go_to_the_walk():
    """A length that is not a multiple of 4, a record past its section's end and a
    size not a multiple of 4 make the batch reader give up (None): the section by
    section pruning then reports the precise error."""
    from ldpy.elf.eh_frame import records_of_sections
    good = _section([0x1b])
    assert records_of_sections([_EhSec(good)]) is not None
    assert records_of_sections([_EhSec(good), _EhSec(struct.pack("<I", 6) + b"\0" * 8)]) is None
    assert records_of_sections([_EhSec(good + struct.pack("<I", 64) + b"\0" * 4)]) is None
    assert records_of_sections([_EhSec(good + b"\0\0")]) is None
    assert records_of_sections([_EhSec(struct.pack("<I", 0xffffffff) + b"\0" * 12)]) is None


_SHORT_RUNS = [(b"abc\0hello\0", 1), (b"hello\0xy\0", 8), (b"z\0abc\0", 1), (b"xy\0q\0", 16),
               (b"longer string\0z\0", 8)]
# (long runs of one alignment: placed a run at a time, not piece by piece)
_LONG_RUNS = [(b"".join(b"s%d.%d\0" % (k, i) for i in range(300)) + b"abc\0", a)
              for k, a in enumerate((1, 1, 8, 4))] + [(b"abc\0s0.7\0", 16)]


@pytest.mark.parametrize("inputs", [_SHORT_RUNS, _LONG_RUNS], ids=["short-runs", "long-runs"])
def test_merged_pieces_with_mixed_alignments(inputs):
    """SHF_MERGE inputs of different alignments in one merged section: each piece's
    first copy goes to its input's alignment after the pieces before it, copies map
    to it, and the padding between pieces is zeros (as a piece-by-piece layout)."""
    from ldpy.sections import MergedSection

    class Sec:
        flags, entsize, type, compressed = 0x32, 1, 1, None     # SHF_MERGE | SHF_STRINGS | SHF_ALLOC
        is_input = False                # (no object's section: no server-held pieces)

        def __init__(self, data, align):
            self.raw, self.align, self.size = np.frombuffer(data, np.uint8), align, len(data)

        def bytes(self):
            return self.raw

        def where(self, offset=None):
            return "t.o:(.rodata.str)"
    m = MergedSection(".rodata", 0x32, 1)
    secs = [Sec(d, a) for d, a in inputs]
    for s in secs:
        m.add(s)
    m.finish()
    # the reference: pieces in input order, a new one at its input's alignment
    where, size = {}, 0
    for d, a in inputs:
        for p in d.split(b"\0")[:-1]:
            p += b"\0"
            if p not in where:
                size = (size + a - 1) & -a
                where[p] = size
                size += len(p)
    assert m.size == size and m.align == 16
    image = m.data.tobytes()
    for p, off in where.items():
        assert image[off:off + len(p)] == p
    assert image.count(b"\0") == len(image) - sum(len(p) - 1 for p in where)   # padding is zeros
    for s, (d, _) in zip(secs, inputs):
        starts, offsets = s.merge
        pieces = [p + b"\0" for p in d.split(b"\0")[:-1]]
        assert starts.tolist() == [sum(map(len, pieces[:k])) for k in range(len(pieces))]
        assert offsets.tolist() == [where[p] for p in pieces]
