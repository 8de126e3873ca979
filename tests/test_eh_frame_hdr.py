""".eh_frame_hdr's table: the whole-array reader (synthetic/eh_frame_hdr._fde_table_aligned)
gives what the record-by-record walk gives, for every pointer encoding an FDE's pc_begin
may use, and leaves sections it cannot read to that walk."""
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
