"""The heap helper of a fresh link process (native/heap.c, built beside the gcc shim):
Python's arenas carved from big regions and kept when freed, malloc's freed memory
kept, and a thread that faults in new heap and arena pages on another core before the
link writes them.  A big link's page faults then stall the link much less (llvm-big:
the linking thread's faults 142k -> 61k, its CPU time 1.8-1.9 -> 1.7 s; the link 4-7%
faster, for ~10 MB more peak memory).  Nothing the link computes changes.

Started by main.entry() before numpy's import.  A link server takes its arenas from
the helper as it starts (no thread), and each spare it forks faults in, before its
link comes, the heap and arena pages a link takes first (prepare_spare).  Nothing
happens without the library (no C compiler when the shim was written) or with
LDPY_HEAP_HELPER=0.  LDPY_HEAP_BIG=BYTES sets the heap and arena size from which a
link counts as big (64 MiB; the tests make small links big with it)."""
import os
import sys

LIBRARY = "libldpy-heap.so"
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "native", "heap.c")
_loaded = []


def default_dir():
    """Where main.shim_dir() puts the library when the package is writable."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim")


def start(shim=None, thread=True):
    """Load the helper, take Python's arenas from it and (with thread) start its
    thread; returns the library (None when it does not run)."""
    if os.environ.get("LDPY_HEAP_HELPER") == "0" or _loaded:
        return _loaded[0] if _loaded else None
    path = os.path.join(shim or default_dir(), LIBRARY)
    if shim is None and not os.path.exists(path):
        # (a read-only install: main.shim_dir() used the user's cache)
        try:
            from _md5 import md5            # (cheaper to import than hashlib)
        except ImportError:
            from hashlib import md5
        path = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "ldpy",
                            "shim-" + md5(sys.executable.encode()).hexdigest()[:10], LIBRARY)
    if not os.path.exists(path):
        return None
    import ctypes           # (numpy imports it too: nothing more to pay)

    class Arenas(ctypes.Structure):          # PyObjectArenaAllocator
        _fields_ = [("ctx", ctypes.c_void_p), ("alloc", ctypes.c_void_p), ("free", ctypes.c_void_p)]
    try:
        lib = ctypes.CDLL(path)
        lib.ldpy_arenas.restype = ctypes.c_void_p
        lib.ldpy_heap_populated.restype = ctypes.c_size_t
        api = ctypes.pythonapi
        current = Arenas()
        api.PyObject_GetArenaAllocator(ctypes.byref(current))
    except (OSError, AttributeError):
        return None             # (a library of another build, or a Python without the API)
    api.PyObject_SetArenaAllocator(ctypes.c_void_p(lib.ldpy_arenas(ctypes.byref(current))))
    if thread:
        big = os.environ.get("LDPY_HEAP_BIG", "")
        lib.ldpy_heap_start(ctypes.c_size_t(int(big) if big.isdigit() else 0))
    _loaded.append(lib)
    return lib


def stop():
    """End the helper's thread, if it runs (write.py: before forking the workers)."""
    if _loaded:
        _loaded[0].ldpy_heap_stop()


# what a link server's spare faults in for its link, beyond the server's memory
SPARE_HEAP = 32 << 20       # of malloc's heap (cpython-static-libpython's link adds ~40 MB)
SPARE_ARENAS = 8 << 20      # of arena space


def prepare_spare(link_waits):
    """In a link server's spare (its server loaded the helper: start(thread=False)),
    fault in the memory its link will take first, 1 MB at a time until done or until
    link_waits() (a link came: it waits at most one step)."""
    if not _loaded:
        return
    import ctypes
    prepare = _loaded[0].ldpy_heap_prepare
    heap, arenas = ctypes.c_size_t(SPARE_HEAP), ctypes.c_size_t(SPARE_ARENAS)
    while prepare(heap, arenas) and not link_waits():
        pass
    prepare(ctypes.c_size_t(0), ctypes.c_size_t(0))


def build(d):
    """Build the library into directory d with the system C compiler, unless the
    one there is of this source; True when d has it.  (Written under a temporary
    name, then renamed: concurrent builders are safe.)"""
    import hashlib
    import shutil
    import subprocess
    try:
        with open(SOURCE, "rb") as fh:
            stamp = hashlib.sha1(fh.read()).hexdigest()
    except OSError:
        return False
    lib = os.path.join(d, LIBRARY)
    try:
        with open(lib, "rb") as fh:
            if (b"LDPY-STAMP:" + stamp.encode()) in fh.read():
                return True
    except OSError:
        pass
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return False
    tmp = lib + f".{os.getpid()}"
    try:
        os.makedirs(d, exist_ok=True)
        built = subprocess.run([cc, "-std=c99", "-O2", "-shared", "-fPIC", "-pthread",
                                f'-DLDPY_STAMP="{stamp}"', SOURCE, "-o", tmp],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL).returncode == 0
    except OSError:
        built = False
    if built:
        os.replace(tmp, lib)
        return True
    for stale in (tmp, lib):         # (an old library of another source: not used)
        try:
            os.unlink(stale)
        except OSError:
            pass
    return False
