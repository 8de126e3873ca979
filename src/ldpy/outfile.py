"""Writing the output file safely, and the files a link reads.

Output (final links, write.py; -r, relocatable.py)

* A regular output (or a missing one, or a symlink to a regular file: like ld.bfd,
  the symlink itself is replaced) is written to a temporary file in the same
  directory, `.NAME.ldpy-XXXXXXXX`, and renamed over the -o path only when complete:
  a failed, interrupted or killed link never leaves a partial file there.  The
  temporary file is removed on errors and on SIGINT/SIGTERM/SIGHUP (only SIGKILL
  leaves it; an unnamed O_TMPFILE would not, but linking one to a name needs
  /proc/self/fd, which fails with EXDEV on some systems, or CAP_DAC_READ_SEARCH).
* The whole size is reserved first (posix_fallocate): a full disk is one error
  naming the file, never a SIGBUS in the middle of writing through the map.
* An old executable output of REUSE_MIN_BYTES or more is written over
  (`OutputFile._take_old`, as mold does): its inode is renamed to the temporary name
  and zeroed, so the link writes into page-cache pages that already exist instead
  of fresh ones (llvm-big's 100 MB: the copy of sections 420-540 -> 125-140 ms;
  fresh pages cost a zeroing each, and on a VM a host fault too; below a few MB the
  zeroing through write() costs as much as it saves).  Only when nothing else can
  see it: one link (a hard link's other name keeps its bytes), owned as a new file
  would be, not a shared object (a running program maps those), and not running
  (open for writing fails with ETXTBSY then, and a new file is made: a running
  program keeps its pages; as with mold, a program that qemu-user or valgrind loads
  itself is not seen so).  -o has no file while the image is written: a killed
  link leaves none there, never a partial one; a failed link removes the old output
  in any case, as ld.bfd does.
* An existing output that is not a regular file (/dev/null, a device, a FIFO, or a
  symlink to one) is written in place, as ld.bfd does, and never removed.
* `-o -` writes the image to standard output, as gold and lld do.
* Modes as ld.bfd leaves them: 0777 & ~umask for executables and shared objects,
  0666 & ~umask for -r objects.

Inputs (every file the link reads goes through read_input / note_read)

* -o naming a file the link reads is refused like ld.bfd ("input file 'a.o' is the
  same as output file"), comparing st_dev/st_ino, not names.
* Inputs up to READ_LIMIT (1 MB) are read into memory, not mmapped, while the link
  has read less than READ_BUDGET in all: a mapped file truncated by someone else
  during the link would kill ldpy with SIGBUS at the next access, a read() copy
  cannot change.  Bigger files (archives, of which a link uses some members; 1 GB
  debug objects) are mmapped under a SIGBUS guard (`_SigbusGuard`): a page that
  vanished is replaced by zeros and the link ends with an error naming the file at
  the next check, instead of dying.  Mapping is the cheaper of the two for big
  files: the kernel maps the page cache 16 pages per fault, where read() copies
  every byte into fresh pages (llvm-big read 64 MB of archives whole before: 45 ms
  of copying; mapped, its link is 60-90 ms faster, peak RSS the same; the small
  jobs of bench/ time the same either way, 3-5 MB less RSS).
"""
import errno
import mmap
import os
import _signal     # (not signal.py: its enum wrappers cost ~1 ms of every link's start-up)
import stat as _stat

from ldpy.diag import LinkError

READ_LIMIT = 1 << 20           # files up to this size are read, not mapped ...
READ_BUDGET = 64 << 20         # ... while the link has read less than this in all (a mapped
                               # file's untouched pages cost no memory: llvm-big's peak RSS is
                               # 57 MB lower than with a 256 MB budget, in the same time)

# outputs from this size write over an old executable (see the docstring): writing
# 100 MB into fresh pages took 300 ms here, zeroing and writing over old ones 19 ms;
# 8 MB 6.6 against 4.8 ms; 1 MB 0.8 against 1.3 ms
REUSE_MIN_BYTES = 4 << 20

_pending = set()               # named temporary outputs to remove if the link stops
_inputs = {}                   # (st_dev, st_ino) -> name: every regular file the link reads
_output_id = None              # (st_dev, st_ino) of an existing regular -o file
_output_name = None
_read_total = 0
_mapped = []                   # the inputs read through mmap (read_input), in order


class OutputIsInput(LinkError):
    """-o names a file the link reads: that file must survive the failed link."""


def reset(output=None):
    """Start of a link: forget the previous link's files (main() can run twice in
    one process); remember the existing -o file to refuse it as an input."""
    global _output_id, _output_name, _read_total
    global _cache_reads
    _inputs.clear()
    _read_cache.clear()
    _derived.clear()
    _cache_reads = True
    _read_total = 0
    del _SigbusGuard.maps[:], _SigbusGuard.faults[:]
    del _mapped[:]
    _output_id = None
    _output_name = output
    if output and output != "-":
        try:
            st = os.stat(output)
            if _stat.S_ISREG(st.st_mode):
                _output_id = (st.st_dev, st.st_ino)
        except (OSError, ValueError):
            pass


def _same_as_output(name):
    raise OutputIsInput(f"input file '{name}' is the same as output file")


def note_read(st, name):
    """Record a file the link reads (its fstat result)."""
    key = (st.st_dev, st.st_ino)
    if key == _output_id and _stat.S_ISREG(st.st_mode):
        _same_as_output(name)
    _inputs.setdefault(key, name)


def is_input(path):
    """Whether `path` is a file this link read."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) in _inputs


def check_not_output(path):
    """Raise if `path` (a file the link will read or write besides -o) is the output."""
    if _output_id is None:
        return
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return
    if (st.st_dev, st.st_ino) == _output_id:
        _same_as_output(path)


# A file read twice in one link (gcc names libgcc.a twice around -lc, and the
# --start-group loop reopens archives) is read once: regular files by identity
# and change time -> their bytes (or map), until the next reset().
_read_cache = {}
_cache_reads = False    # on from reset() to end_reads(): during a link
_derived = {}           # (id(bytes), what) -> (bytes, what was parsed from them once)


def end_reads():
    """The link is over: files read from now on (ldpy-ar in the same process) are
    read afresh."""
    global _cache_reads
    _cache_reads = False
    _read_cache.clear()
    _derived.clear()
    del _mapped[:]              # (a link server's warm-up: its maps are not kept)


def parsed_once(data, what, parse):
    """parse() of input bytes `data` (from read_input), computed once per link."""
    key = (id(data), what)
    hit = _derived.get(key)
    if hit is not None and hit[0] is data:
        return hit[1]
    value = parse()
    _derived[key] = (data, value)
    return value


def read_input(path, fh):
    """The bytes of an open input file: a read() copy, or a guarded mmap for a huge
    file (see the module docstring).  Records the file as an input."""
    global _read_total
    st = os.fstat(fh.fileno())
    note_read(st, path)
    size = st.st_size
    if not _stat.S_ISREG(st.st_mode):
        return read_bounded(fh, path)
    if size == 0:
        return b""
    key = (st.st_dev, st.st_ino, size, st.st_mtime_ns, st.st_ctime_ns)
    data = _read_cache.get(key) if _cache_reads else None
    if data is not None:
        return data
    if size <= READ_LIMIT and _read_total + size <= READ_BUDGET:
        _read_total += size
        data = fh.read()            # one copy; a shorter read (truncated meanwhile) is just short
    else:
        data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        _SigbusGuard.watch(data, path, st)
        _mapped.append(data)
    if _cache_reads:
        _read_cache[key] = data
    return data


def input_key(data):
    """(device, inode, size, modification and change times) of the regular file
    whose whole bytes `data` are (read_input during this link), or None."""
    for key, d in _read_cache.items():
        if d is data:
            return key if len(data) == key[2] else None     # (not one read short)
    return None


def release_input_pages():
    """Unmap the pages of the mapped inputs that this process has touched
    (MADV_DONTNEED): the page cache keeps them, and the next access maps them again
    (a minor fault, 16 pages at a time).  Called after reading, after the
    relocation scan and after each copied output section, so that peak memory is
    not every input page the link ever touched: llvm-big's parsing, scanning and
    copying each read a different part of 190 MB of archives (peak RSS 715 -> 577
    MB, below ld.bfd's 604; the same time)."""
    for m in _mapped:
        try:
            m.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):
            pass                # (a map closed since, or a kernel without it: just memory)


# scripts, response files, version scripts, and non-regular inputs (a FIFO, /dev/zero)
# are read whole: bounded, so that @/dev/zero is an error rather than exhausting memory
TEXT_LIMIT = 64 << 20


def read_bounded(fh, name, limit=TEXT_LIMIT):
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise LinkError(f"{name}: file too large (more than {limit >> 20} MiB)")
    return data


def read_text_file(path, what="file"):
    """A whole small file (script, response file, list) as bytes, recorded as an input."""
    try:
        with open(path, "rb") as fh:
            note_read(os.fstat(fh.fileno()), path)
            return read_bounded(fh, path)
    except OSError as e:
        raise LinkError(f"cannot open {what} {path}: {e.strerror}") from None


class _SigbusGuard:
    """A native SIGBUS handler (installed through ctypes only when a huge input is
    mapped) that replaces a page of a mapped input that no longer exists (the file
    was truncated) by a page of zeros, so the access completes; check() then turns
    it into an error naming the file.  Without it the process would die of SIGBUS."""
    maps = []                   # (start address, end address, path, fstat when mapped)
    faults = []
    _cb = None

    @classmethod
    def watch(cls, m, path, st):
        import numpy as np
        if cls._cb is None:
            cls._install()
        start = np.frombuffer(m, np.uint8).ctypes.data
        cls.maps.append((start, start + len(m), path, st))

    @classmethod
    def _install(cls):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            mm = libc.mmap
            mm.restype = ctypes.c_void_p
            mm.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                           ctypes.c_int, ctypes.c_long]
            page = mmap.PAGESIZE
            faults = cls.faults

            def handler(signum, info, _uctx):
                addr = ctypes.c_void_p.from_address(info + 16).value or 0   # siginfo.si_addr
                # PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS
                mm(addr & ~(page - 1), page, 1, 0x02 | 0x10 | 0x20, -1, 0)
                faults.append(addr)

            class SigAction(ctypes.Structure):
                _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16),
                            ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]
            cb = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(handler)
            sa = SigAction()
            sa.handler = ctypes.cast(cb, ctypes.c_void_p).value
            sa.flags = 0x4 | 0x08000000          # SA_SIGINFO | SA_ONSTACK
            if libc.sigaction(_signal.SIGBUS, ctypes.byref(sa), None) == 0:
                cls._cb = cb                     # (kept alive: the kernel calls it)
        except Exception:
            pass                                 # no ctypes: unguarded, as before

    @classmethod
    def check(cls):
        """The first mapped input that was truncated (a page vanished, or the file
        is shorter now: the tail of its last page reads as zeros without a fault)
        or rewritten in place since it was mapped."""
        if cls.faults:
            addr = cls.faults[0]
            name = next((p for s, e, p, _ in cls.maps if s <= addr < e), "an input file")
            raise LinkError(f"{name}: file truncated while the link was reading it")
        for _s, _e, path, st in cls.maps:
            try:
                now = os.stat(path)
            except OSError:
                continue                # removed or renamed: the mapped inode is intact
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                continue                # replaced by a new file: ditto
            if now.st_size < st.st_size:
                raise LinkError(f"{path}: file truncated while the link was reading it")
            if now.st_mtime_ns != st.st_mtime_ns:
                raise LinkError(f"{path}: file changed while the link was reading it")


def check_inputs():
    """Raise the error of an input truncated during the link (mapped inputs only)."""
    _SigbusGuard.check()


# ---------------------------------------------------------------------------
# the output

class OutputFile:
    """open() then map(size) or write(buffer), then commit(); abort() on failure."""

    def __init__(self, path, executable=True, reuse=False):
        self.path = path
        self.mode = 0o777 if executable else 0o666
        self.reuse = reuse        # may take the old output's inode (see the docstring)
        self.reused = False       # ... and did: its old bytes are zeroed by map()
        self.fd = -1
        self.tmp = None           # the temporary file (None: written in place)
        self.in_place = False     # not a regular file: written in place
        self.rewrite = False      # a regular file rewritten in place (unwritable directory)
        self.mm = None

    def _error(self, e):
        return LinkError(f"cannot write '{self.path}': {e.strerror or e}")

    def open(self):
        path = self.path
        if path == "-":
            # `-o -`: the image goes to standard output, as gold and lld write it
            # (ld.bfd makes a file named `-`); built in memory, written by commit()
            self.in_place = True
            try:
                self.fd = os.dup(1)
            except OSError as e:
                raise LinkError(f"cannot open output file {path}: {e.strerror}") from None
            return self
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        except OSError as e:
            raise LinkError(f"cannot open output file {path}: {e.strerror}") from None
        if st is not None and _stat.S_ISDIR(st.st_mode):
            raise LinkError(f"cannot open output file {path}: Is a directory")
        if st is not None and (st.st_dev, st.st_ino) in _inputs and _stat.S_ISREG(st.st_mode):
            _same_as_output(_inputs[(st.st_dev, st.st_ino)])
        if st is not None and not _stat.S_ISREG(st.st_mode):
            # /dev/null, a device, a FIFO (or a symlink to one): written in place, as ld.bfd
            self.in_place = True
            try:
                self.fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
            except OSError as e:
                raise LinkError(f"cannot open output file {path}: {e.strerror}") from None
            return self
        d = os.path.dirname(path) or "."
        base = os.path.basename(path)
        for _ in range(100):
            tmp = os.path.join(d, f".{base}.ldpy-{os.urandom(4).hex()}")
            held = _block_signals()          # (created and registered for removal at once)
            try:
                self.fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, self.mode)
                self.tmp = tmp
                _pending.add(tmp)
            except FileExistsError:
                continue
            except OSError as e:
                if st is not None and e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                    return self._open_in_place(e)
                raise LinkError(f"cannot open output file {path}: {e.strerror}") from None
            finally:
                _unblock_signals(held)
            if self.reuse and st is not None:
                self._take_old()
            return self
        raise LinkError(f"cannot open output file {path}: cannot create a temporary file")

    def _take_old(self):
        """The old -o file becomes the temporary file (renamed over the empty one just
        made), when nothing else sees its inode: see the module docstring."""
        try:
            st = os.lstat(self.path)
            new = os.fstat(self.fd)
            if (not _stat.S_ISREG(st.st_mode) or st.st_nlink != 1
                    or (st.st_uid, st.st_gid) != (new.st_uid, new.st_gid)):
                return
            # (ETXTBSY for a running program; O_NOFOLLOW: a symlink put there meanwhile)
            old = os.open(self.path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            return
        try:
            now = os.fstat(old)
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) or now.st_nlink != 1:
                return
            held = _block_signals()
            try:
                os.rename(self.path, self.tmp)
                old, self.fd = self.fd, old     # (the empty file's descriptor is closed below)
                self.reused = True
            finally:
                _unblock_signals(held)
            try:
                os.fchmod(self.fd, _stat.S_IMODE(new.st_mode))
            except OSError:
                pass                            # (ours: the same owner)
        except OSError:
            return
        finally:
            os.close(old)

    def _zero(self, size):
        """The reused old output's first `size` bytes zeroed through write(): its page
        cache pages are written in place and not mapped here (no memory of ours)."""
        zeros = memoryview(bytes(min(size, 1 << 20)))
        pos = 0
        try:
            while pos < size:
                pos += os.pwrite(self.fd, zeros[:size - pos], pos)
        except OSError as e:
            raise self._error(e) from None

    def _open_in_place(self, why):
        """A directory we may not create files in, holding an output we may write:
        ld.bfd rewrites the file then; so does ldpy (not atomically: no choice)."""
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_TRUNC | os.O_CLOEXEC)
        except OSError:
            raise LinkError(f"cannot open output file {self.path}: {why.strerror}") from None
        self.rewrite = True
        return self

    def reserve(self, size):
        """The file's size, allocated now: ENOSPC / EDQUOT / EFBIG here, not later."""
        if size >= 1 << 63:             # (off_t): as the kernel would say
            raise LinkError(f"cannot write '{self.path}': File too large")
        try:
            os.posix_fallocate(self.fd, 0, size) if size else None
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise self._error(e) from None
        try:
            os.ftruncate(self.fd, size)
        except OSError as e:
            raise self._error(e) from None

    def map(self, size):
        """A writable map of `size` bytes: the file's pages, or anonymous memory for an
        output written in place (written out by commit)."""
        self.size = size
        if self.in_place and size >= 1 << 63:
            raise LinkError(f"cannot write '{self.path}': File too large")
        if not self.in_place:
            self.reserve(size)
            if self.reused:
                self._zero(size)
        try:
            if self.in_place or not size:
                self.mm = mmap.mmap(-1, max(size, 1))
            else:
                self.mm = mmap.mmap(self.fd, size)
        except (OSError, ValueError, OverflowError) as e:
            raise LinkError(f"cannot write '{self.path}': cannot map {size} bytes "
                            f"({getattr(e, 'strerror', None) or e})") from None
        return self.mm

    def _write_all(self, data):
        view = memoryview(data).cast("B")
        try:
            while len(view):
                n = os.write(self.fd, view[:1 << 30])
                view = view[n:]
        except OSError as e:
            raise self._error(e) from None

    def write(self, buf):
        """The whole image from a buffer (-r outputs)."""
        size = len(memoryview(buf).cast("B"))
        if not self.in_place:
            self.reserve(size)
        self._write_all(buf)

    def commit(self, final_size=None):
        """The complete output to its name.  Signals are held while the new file
        is linked and renamed, so an interrupt leaves the old file or the new one."""
        mm, self.mm = self.mm, None
        if mm is not None:
            if self.in_place:
                self._write_all(memoryview(mm)[:self.size if final_size is None else final_size])
            try:
                mm.close()
            except BufferError:
                pass           # a numpy view still holds the map; it goes with the process
        if self.in_place:
            os.close(self.fd)
            self.fd = -1
            return
        try:
            if final_size is not None:
                os.ftruncate(self.fd, final_size)
        except OSError as e:
            raise self._error(e) from None
        if self.rewrite:
            try:
                os.fchmod(self.fd, self.mode & ~_umask())
            except OSError:
                pass                # (not ours: its mode stays)
            os.close(self.fd)
            self.fd = -1
            return
        held = _block_signals()
        try:
            os.replace(self.tmp, self.path)
            _pending.discard(self.tmp)
            self.tmp = None
        except OSError as e:
            raise LinkError(f"cannot write '{self.path}': {e.strerror}") from None
        finally:
            _unblock_signals(held)
            os.close(self.fd)
            self.fd = -1

    def abort(self):
        """Forget the unfinished output: the -o path is untouched."""
        if self.mm is not None:
            try:
                self.mm.close()
            except BufferError:
                pass
            self.mm = None
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = -1
        if self.tmp is not None:
            _remove(self.tmp)
            self.tmp = None


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def _remove(path):
    _pending.discard(path)
    try:
        os.unlink(path)
    except OSError:
        pass


def remove_pending():
    """Remove every unfinished temporary output (an error, a signal, Ctrl-C)."""
    for p in list(_pending):
        _remove(p)


_HELD = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)


def _block_signals():
    try:
        return _signal.pthread_sigmask(_signal.SIG_BLOCK, _HELD)
    except (OSError, ValueError):
        return None


def _unblock_signals(old):
    if old is not None:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, old)


def write_image(path, buf, executable=False):
    """A finished image (bytes-like) to `path`, the same way."""
    out = OutputFile(path, executable).open()
    try:
        out.write(buf)
        out.commit()
    except BaseException:
        out.abort()
        raise


# ---------------------------------------------------------------------------
# signals during a link

class Terminated(BaseException):
    """SIGTERM / SIGHUP during the link (SIGINT stays KeyboardInterrupt)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def install_signal_handlers():
    """SIGINT raises KeyboardInterrupt, SIGTERM and SIGHUP raise Terminated, once
    each link (a second signal while cleaning up is ignored), so that the temporary
    output is removed.  Signals the caller ignores stay ignored.  Returns the old
    handlers for restore_signal_handlers()."""
    fired = []

    def on_signal(signum, frame):
        if fired:
            return
        fired.append(signum)
        if signum == _signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)
    old = {}
    for sig in _HELD:
        try:
            cur = _signal.getsignal(sig)
            if cur in (_signal.SIG_DFL, _signal.default_int_handler):
                old[sig] = _signal.signal(sig, on_signal)
        except (ValueError, OSError):      # not the main thread
            pass
    return old


def restore_signal_handlers(old):
    for sig, h in old.items():
        try:
            _signal.signal(sig, h)
        except (ValueError, OSError):
            pass
