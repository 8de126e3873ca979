"""Small numpy helpers used on hot paths."""
import numpy as np


def unique(a):
    """Sorted distinct values of a 1-D array (np.unique without its import cost)."""
    a = np.sort(np.asarray(a), kind="stable")
    if len(a) < 2:
        return a
    keep = np.empty(len(a), bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def first_of_runs(sorted_values):
    """(distinct values, index of their first occurrence) of an already sorted array."""
    a = np.asarray(sorted_values)
    if len(a) == 0:
        return a, np.zeros(0, np.int64)
    start = np.empty(len(a), bool)
    start[0] = True
    np.not_equal(a[1:], a[:-1], out=start[1:])
    idx = np.flatnonzero(start)
    return a[idx], idx


def file_buffers(files):
    """The mapped buffers the input files lie in (an archive's members share one), so
    that reads over many files become one numpy gather per buffer: (buffers, buffer
    index of each file, offset of each file in its buffer)."""
    bufs, seen = [], {}
    nf = len(files)
    file_buf = np.empty(nf, np.int64)
    file_buf_base = np.empty(nf, np.int64)
    for k, f in enumerate(files):
        if f.buf is None:
            f.buf = np.frombuffer(f.data, np.uint8)
        b = seen.get(id(f.buf))
        if b is None:
            b = seen[id(f.buf)] = len(bufs)
            bufs.append(f.buf)
        file_buf[k] = b
        file_buf_base[k] = f.buf_base
    return bufs, file_buf, file_buf_base


def section_headers(files):
    """The section header tables of files (at least one), concatenated: row
    file.sec_base + i is section i of its file (another flavour's table converted)."""
    dtype = files[0].shdrs.dtype
    return np.concatenate([(f.shdrs if f.shdrs.dtype == dtype else f.shdrs.astype(dtype)).view(np.uint8)
                           for f in files]).view(dtype)
