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


def isin(a, b):
    """np.isin for integer arrays, by binary search: numpy's own goes through
    np.unique, whose masked-array test imports numpy.ma (5 ms of a fresh link, and
    of every served link: the server never imports it)."""
    a = np.asarray(a)
    b = np.sort(np.asarray(b).reshape(-1))
    if len(b) == 0:
        return np.zeros(a.shape, bool)
    if np.result_type(a, b).kind not in "iub":
        return np.isin(a, b)        # (uint64 against signed: no exact common type)
    i = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return b[i] == a


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


# Loaded object bytes from which a link keeps the memory it frees (keep_freed_memory).
BIG_LINK_BYTES = 128 << 20


def keep_freed_memory():
    """Let freed memory be used again rather than handed back to the kernel.  glibc's
    malloc gives each block above 32 MB (its largest mmap threshold) its own mapping
    and unmaps it on free, so every whole-table temporary of a big link (62 MB per
    int64 column at 7.8M relocations) was fresh pages, faulted in afresh each time;
    with mmap off and trimming off, they come from the heap, whose freed pages the
    next temporary reuses.  Peak RSS is the same (llvm-big-x4 +0-1%); llvm-big-x4
    links 2% faster (medians of 3 alternating rounds, 9.04 -> 8.87 s; 13% in a
    first pair of runs), llvm-big the same.  Links under BIG_LINK_BYTES do not call
    it (ctypes costs 2 ms of start-up, and their temporaries stay under 32 MB)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        libc.mallopt(-4, 0)                 # M_MMAP_MAX: no mmap'd blocks
        libc.mallopt(-1, 2**31 - 1)         # M_TRIM_THRESHOLD: never give the heap back
    except (OSError, AttributeError):
        pass                                # (not glibc: its allocator's defaults)
