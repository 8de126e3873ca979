"""LEB128, the variable-length integers of DWARF and .eh_frame: the one reader
every module uses.  Each function takes a bytes-like `data`, a position and
the end of the readable range, and returns (value, next position); reading
past `end` (or a number longer than 10 bytes) raises ValueError."""


def _read(data, pos, end):
    """(magnitude, bit count, next position) of one LEB128 number."""
    end = len(data) if end is None else end
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise ValueError("truncated or overlong LEB128 number")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7f) << shift
        shift += 7
        if byte < 0x80:
            return value, shift, pos


def read_uleb(data, pos, end=None):
    value, _, pos = _read(data, pos, end)
    return value, pos


def read_sleb(data, pos, end=None):
    value, bits, pos = _read(data, pos, end)
    if value >> (bits - 1) & 1:        # the sign bit of the last byte
        value -= 1 << bits
    return value, pos


def skip_leb(data, pos, end=None):
    """The position after one LEB128 number (signed or not)."""
    end = len(data) if end is None else end
    while True:
        if pos >= end:
            raise ValueError("truncated LEB128 number")
        byte = data[pos]
        pos += 1
        if byte < 0x80:
            return pos
