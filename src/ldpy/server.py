"""Optional persistent link server (a "zygote"): links without the start-up cost.

Every ldpy run pays for starting Python and importing numpy (~90 ms), more than a
small link itself.  With ``LDPY_SERVER=1`` in the environment, ``ldpy`` and the gcc
``-B`` shim hand the link to a server process that has already imported numpy and all
of ldpy; every link runs in a process of its own, forked from the server: a spare
forked ahead of it (see _Spares: already faulted in, it starts at once), else one
forked when the link comes.

How it works

* The client (this module's top level: it imports only ``os``, ``sys``, ``_socket``,
  ``marshal``, ``zlib`` and ``_signal``, never numpy) connects to
  ``$XDG_RUNTIME_DIR/ldpy/`` (else ``/tmp/ldpy-$UID/``; mode 0700, owned by the user,
  else no server is used; the socket path must fit in 100 bytes) ``srv-KEY.sock``.
  KEY hashes the real ``sys.executable`` (its size and mtime), the directories of the
  standard library and of ldpy and numpy (their mtimes: a pip install changes them)
  and the size and mtime of every ldpy source file, so an edited or upgraded ldpy,
  numpy or Python never serves stale code; the ``ldpy`` console script and the gcc
  shim of one installation share a server.
* The gcc shim's ``ld`` is this client in C (``native/client.c``, built by
  ``main.shim_dir()`` with the system C compiler, with the Python executable, the
  boot program and the directories baked in; a /bin/sh script that execs Python when
  no compiler builds it): a served link starts no Python at all.  It computes the
  same KEY byte for byte (``LDPY_CLIENT_PRINT_KEY=1`` prints it), sends the same
  request (marshal written by hand; argv and cwd decoded like ``os.fsdecode``, the
  stdio encodings and the ``LC_CTYPE`` coercion of Python's start-up) and forwards
  signals the same way.  Where this client would link in-process (no server, a
  FALLBACK reply, trouble, a locale whose encoding is not UTF-8,
  ``PYTHONIOENCODING``), it execs Python on ldpy's entry, which then does just that.
  Without ``LDPY_SERVER=1`` it execs Python at once.
* It sends, in one message, argv, cwd, umask, the environment and its stdin, stdout
  and stderr descriptors (SCM_RIGHTS).  The server's child checks the peer's uid,
  sets umask, cwd, ``os.environ`` and fds 0/1/2, runs ``ldpy.main.main(argv)`` and
  sends back the exit status.
* No server (or a stale socket): the client starts one (double fork, setsid, stdio on
  /dev/null) and links in-process.  Concurrent starts are harmless: a server must hold
  an exclusive ``flock`` on ``srv-KEY.lock`` (which holds its pid) before binding, the
  losers exit at once.  Anything going wrong before the server's child runs the link
  (refused connection, protocol error, server killed) falls back to an in-process link.
* SIGINT, SIGTERM and SIGHUP received by the client are forwarded; the child stops the
  link (as on Ctrl-C: no output file is left), then the client dies of that signal
  (a second signal: at once).  If the client disappears (even SIGKILL), the child sees
  the socket close and stops too.
* The server exits after ``LDPY_SERVER_IDLE`` seconds (default 300) without a
  connection, when its KEY changes (ldpy edited: checked while idle; new clients use
  the new KEY's server at once), on SIGTERM, or on
  ``ldpy --server-stop`` (which stops every server of the user's directory).  Children
  are reaped by the kernel (SIGCHLD ignored): no zombies.
* ``LDPY_SERVER_LOG=FILE`` (in the client's environment): each link served appends a
  line ``served pid=CHILD server=SERVER rc=N warm=K argv...`` to FILE (for tests; K:
  the inputs the link took already parsed from the server, input/warm.py).

Differences from an in-process link: resource limits, scheduling priority, the
controlling terminal, supplementary groups and environment variables read when numpy
is imported come from the server (i.e. from the client that started it), not from the
client of each link.
"""
import os
import sys
import marshal
import time
import zlib
import _socket

MAGIC = b"LDPY1"
FALLBACK = 255 << 8          # reply: "the link did not run, do it yourself"


# ---------------------------------------------------------------------------
# shared: where the socket lives and what it is called

def _runtime_dir():
    base = os.environ.get("XDG_RUNTIME_DIR")
    d = os.path.join(base, "ldpy") if base and os.path.isabs(base) else f"/tmp/ldpy-{os.getuid()}"
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(d)
    # a directory somebody else could write into would let them impersonate the server
    if (st.st_mode & 0o170000) != 0o040000 or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise OSError(f"{d}: not a private directory")
    return d


def _search_path(entries=None):
    """The server's sys.path (before python -S's own): where this ldpy and numpy are,
    like the gcc shim's, so `ldpy` and the shim share a server; else the client's
    absolute sys.path entries (an editable install may reach ldpy through an import
    hook that -S skips: its directory comes first anyway).  `entries`: another
    sys.path than this process's (the native shim's, main.shim_dir())."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    entries = [p for p in (sys.path if entries is None else entries) if p and os.path.isabs(p)]
    for p in entries:
        if os.path.isfile(os.path.join(p, "numpy", "__init__.py")):
            return list(dict.fromkeys([here, p]))
    return list(dict.fromkeys([here] + entries))


def _key(search=None, pkg=None):
    """Changes whenever the code the server would run changes: the Python executable
    (its size and mtime: an upgraded interpreter), the directories of the standard
    library, ldpy and numpy (their mtimes: a pip install changes them) and every ldpy
    source file.  The native shim (native/client.c) computes the same string, byte
    for byte: change both together."""
    exe = os.path.realpath(sys.executable)
    st = os.stat(exe)
    parts = [exe, f"{st.st_size}:{st.st_mtime_ns}"]
    for p in [_stdlib_dir()] + (_search_path() if search is None else search):
        try:
            parts.append(f"{p}:{os.stat(p).st_mtime_ns}")
        except OSError:
            parts.append(p)
    stack = [pkg or os.path.dirname(os.path.abspath(__file__))]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in sorted(it, key=lambda e: e.name):
                if e.is_dir(follow_symlinks=False):
                    if e.name not in ("__pycache__", "shim"):
                        stack.append(e.path)
                elif e.name.endswith(".py"):
                    st = e.stat()
                    parts.append(f"{e.path}:{st.st_size}:{st.st_mtime_ns}")
    blob = "\0".join(parts).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(blob):08x}{zlib.adler32(blob):08x}"


def _stdlib_dir():
    return os.path.dirname(getattr(os, "__file__", None) or "")


def _paths():
    d = _runtime_dir()
    k = _key()
    sock = os.path.join(d, f"srv-{k}.sock")
    if len(sock.encode()) > 100:
        raise OSError("socket path too long")
    return d, k, sock, os.path.join(d, f"srv-{k}.lock")


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


# ---------------------------------------------------------------------------
# client

def run_client(argv=None):
    """Have the server run this link and exit with its status.  Returns (only) when
    the link must run in this process: no server yet (one is started), or trouble."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--server-stop" in argv:
        return
    try:
        _d, _k, path, _lock = _paths()
    except OSError:
        return
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError:
        s.close()
        _spawn_server()
        return
    try:
        _send_request(s, {"op": "link", "argv": argv, "argv0": sys.argv[0] if sys.argv else "ldpy"},
                      fds=[0, 1, 2])
    except OSError:
        s.close()
        return
    # from here on the server may be running the link: forward signals to it
    import _signal
    got = []

    def forward(signum, frame):
        if got:                  # a second signal: give up waiting (the child sees EOF)
            _die(signum)
        got.append(signum)
        try:
            s.send(bytes([signum]))
        except OSError:
            pass
    old = {sig: _signal.signal(sig, forward)
           for sig in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)}
    try:
        reply = _recv_exact(s, 4)
        status = int.from_bytes(reply, "little")
    except (OSError, EOFError):
        status = FALLBACK if not got else 128 + got[0]
    s.close()
    if got:
        _die(got[0])
    for sig, h in old.items():
        _signal.signal(sig, h)
    if status == FALLBACK:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status & 0xff)


def _die(signum):
    """Leave the way this process would have without the server: killed by signum."""
    import _signal
    _signal.signal(signum, _signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)


def _send_request(s, req, fds=()):
    um = os.umask(0)
    os.umask(um)
    req.update(cwd=os.getcwd(), umask=um, env=dict(os.environb),
               enc=[(f.encoding, f.errors) if f else None for f in (sys.stdout, sys.stderr)])
    for fd in fds:
        os.fstat(fd)                 # a closed stdio descriptor: link in-process instead
    body = marshal.dumps(req)
    msg = MAGIC + len(body).to_bytes(4, "little") + body
    anc = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
            b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds))] if fds else []
    sent = s.sendmsg([msg], anc)
    if sent < len(msg):
        s.sendall(msg[sent:])


def _spawn_server():
    """Start a detached server (it links nothing for us: this link runs here)."""
    boot = ("import sys; sys.path[:0] = " + repr(_search_path()) +
            "; from ldpy.server import serve; serve()")
    try:
        pid = os.fork()
    except OSError:
        return
    if pid == 0:
        try:
            os.setsid()
            if os.fork():
                os._exit(0)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            # no inherited descriptor may stay open (a make jobserver pipe, a pipe
            # somebody reads to its end...)
            os.closerange(3, max(os.sysconf("SC_OPEN_MAX"), 65536))
            from ldpy.main import shim_command, interpreter_environ
            os.execve(sys.executable, shim_command(boot), interpreter_environ())
        finally:
            os._exit(127)
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass


def stop_servers():
    """`ldpy --server-stop`: stop every server in the user's directory; the number stopped."""
    import time
    try:
        d = _runtime_dir()
    except OSError:
        return 0
    stopped = 0
    for name in sorted(os.listdir(d)):
        if not (name.startswith("srv-") and name.endswith(".sock")):
            continue
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            s.settimeout(5)
            s.connect(os.path.join(d, name))
            _send_request(s, {"op": "stop"})
            pid = int.from_bytes(_recv_exact(s, 4), "little")
        except (OSError, EOFError):
            continue
        finally:
            s.close()
        stopped += 1
        for _ in range(500):          # wait (up to 5 s) until it is gone
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.01)
    return stopped


# ---------------------------------------------------------------------------
# server

def serve():
    import fcntl
    import gc
    import select
    import time
    import signal
    import socket
    _d, key, path, lockpath = _paths()
    lock = os.open(lockpath, os.O_RDWR | os.O_CREAT, 0o600)
    for _ in range(20):
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            time.sleep(0.01)
    else:
        return                      # another server (or one starting): it serves
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())
    os.chdir("/")
    from ldpy import heap
    heap.start(thread=False)        # (arenas from the heap helper: see _spare)
    _preload()

    tmp = f"{path}.{os.getpid()}"
    try:
        os.unlink(tmp)
    except OSError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(tmp)
    os.chmod(tmp, 0o600)
    ls.listen(128)
    os.replace(tmp, path)            # clients see a socket only once it is listening
    ino = os.stat(path).st_ino

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)       # the kernel reaps children

    def terminate(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        idle = float(os.environ.get("LDPY_SERVER_IDLE", "300"))
    except ValueError:
        idle = 300.0
    last = time.monotonic()
    # children report the libraries and archives they read on this pipe; the server
    # parses them while no link waits, for the next links (input/warm.py)
    from ldpy.input import warm
    reports_r, reports_w = os.pipe()
    os.set_blocking(reports_r, False)
    os.set_blocking(reports_w, False)    # (a full pipe drops a report, never stalls a link)
    tail, pending = b"", {}
    warm_queue = []                 # (argv, run) of the warm-up links still to run (_warm_up)
    spares = _Spares(ls, lock, reports_w)
    held = warm.held_bytes()
    try:
        while True:
            left = last + idle - time.monotonic()
            if left <= 0:
                break
            spares.fill()
            # (the server accepts only when no spare is waiting: a burst of links, a
            # spare still getting ready, or none that could be made)
            watched = [reports_r, *spares.channels()] + ([] if spares.ready else [ls])
            try:
                # (a warm-up link runs after 50 ms without news: not while links come)
                wait = 0 if pending else WARM_UP_QUIET if warm_queue else min(left, 5.0)
                refill = spares.refill_in()
                ready = select.select(watched, [], [], wait if refill is None else min(wait, refill))[0]
            except InterruptedError:
                continue
            if spares.update(ready):
                last = time.monotonic()             # (a spare took a link)
                _count_link()
            if reports_r in ready:
                try:
                    tail = warm.parse_reports(tail + os.read(reports_r, 65536), pending, spares.add_hot)
                except BlockingIOError:
                    pass
            if ls not in ready:
                if pending:
                    kind, what = item = next(iter(pending))     # (in report order: an
                    del pending[item]                            # archive before its members)
                    warm.warm(kind, what)
                    if not pending:
                        warm_queue += [(argv, run) for argv in warm.warm_up_links()
                                       for run in range(WARM_UP_RUNS)]
                        gc.collect()
                        gc.freeze()          # (the new objects' pages stay shared too)
                        if warm.held_bytes() != held:
                            held = warm.held_bytes()
                            spares.retire()  # (the next ones have the new inputs parsed)
                    continue
                if warm_queue and not ready:
                    argv, run = warm_queue.pop(0)
                    _warm_up(argv, log=run == 0)
                    if not warm_queue:
                        gc.collect()
                        gc.freeze()
                        spares.retire()      # (the next ones start warm)
                    continue
                if ready:
                    continue
                try:                 # ldpy edited or reinstalled: newer clients go elsewhere
                    if _key() != key or os.stat(path).st_ino != ino:
                        break
                except OSError:
                    break
                continue
            try:
                conn, _ = ls.accept()
            except (BlockingIOError, InterruptedError):
                continue
            conn.setblocking(True)
            last = time.monotonic()
            _fork_child(ls, conn, lock, reports_w)
            _count_link()
    except SystemExit:
        pass
    finally:
        spares.retire()
        # stop being found, then serve whatever already queued up
        try:
            if os.stat(path).st_ino == ino:
                os.unlink(path)
        except OSError:
            pass
        ls.setblocking(False)
        while True:
            try:
                conn, _ = ls.accept()
            except OSError:
                break
            conn.setblocking(True)
            _fork_child(ls, conn, lock)
        ls.close()
    os._exit(0)


class _Spares:
    """Link processes forked ahead of the links ("pre-forking"): a spare waits on the
    listening socket, and meanwhile faults in its own copy of the server's pages that
    links write (MADV_POPULATE_WRITE: the copy-on-write faults a served link would
    take one by one, 2,000 for a hello link, 5,000 for a static one, ~2 us each; in
    steps, so that a link that comes earlier starts at once with what is done), so a
    link starts in a process that is already forked and faulted in.  Which
    pages: those that earlier links wrote (each reports them after its reply, from
    /proc/self/pagemap: _own_pages; a spare's link, those outside what it faulted
    in), so there are no spares until the first link reported.  The server makes
    the next spare when the link a spare took is done, or REFILL_AFTER after it
    began (not beside the link's start, which the fork would slow), and accepts
    links itself (forking as before) while no spare is ready.  Each spare has a
    socket pair to the server: b"R" ready, b"T" took a link, end-of-file when its
    link is done (or it died); the server closes its end to retire a spare."""

    COUNT = 1           # (a second link at the same moment is forked by the server)
    REFILL_AFTER = 0.05     # seconds after a spare took a link, or when the link is done if
                            # sooner, the server forks the next spare: the fork (and the new
                            # spare's faulting-in) beside a link that just began took 1-2 ms
                            # of a served hello link's 3 ms between accept() and the link
    HOT_PAGES = 1 << 15     # (128 MB of 4 KiB pages; a hello link writes 2,100)

    def __init__(self, ls, lock, reports):
        self.ls, self.lock, self.reports = ls, lock, reports
        self.waiting = {}           # the server's end of each spare's socket pair -> ready
        self.busy = {}              # ... of a spare running a link -> when it took it
        ls.setblocking(False)       # (spares and server may race for a connection)
        self.failed = False
        self.hot = set()            # page numbers links wrote (their reports: _own_pages)

    def add_hot(self, runs):
        """Pages a link reported, up to HOT_PAGES in all (a big link that wrote the
        whole of a server holding big archives would make every spare a copy of it)."""
        for first, count in runs:
            room = self.HOT_PAGES - len(self.hot)
            if room <= 0:
                return
            self.hot.update(range(first, first + min(count, room)))

    @property
    def ready(self):
        return any(self.waiting.values())

    def channels(self):
        return list(self.waiting) + list(self.busy)

    def refill_in(self):
        """Seconds until fill() makes the next spare (None: no spare is busy): none
        before REFILL_AFTER has passed since the latest link a spare took."""
        if not self.busy or len(self.waiting) >= self.COUNT:
            return None
        return max(0.0, max(self.busy.values()) + self.REFILL_AFTER - time.monotonic())

    def fill(self):
        import socket
        if self.refill_in():
            return              # (a link just began: forking the server now would slow it)
        # (the first links are forked as they come: their reports give the pages to fault in)
        while len(self.waiting) < self.COUNT and not self.failed and self.hot:
            mine, theirs = socket.socketpair()
            try:
                pid = os.fork()
            except OSError:
                mine.close()
                theirs.close()
                self.failed = True          # (no memory for a copy: the server forks per link)
                return
            if pid:
                theirs.close()
                self.waiting[mine] = False
                continue
            def spare():
                mine.close()
                for other in self.waiting:
                    other.close()
                return _spare(self.ls, self.lock, self.reports, theirs, self.hot)
            _exit_after(spare)

    def update(self, readable):
        """Read the spares' news; True when one took a link."""
        took = False
        for ch in [c for c in readable if c in self.waiting or c in self.busy]:
            try:
                news = ch.recv(16)
            except OSError:
                news = b""
            if ch in self.busy:
                if not news:                # (its link is done)
                    del self.busy[ch]
                    ch.close()
                continue
            if not news and not self.waiting[ch]:
                self.failed = True          # (died getting ready: the server forks per link)
            if news.endswith(b"R"):
                self.waiting[ch] = True
            if not news or b"T" in news:        # took a link, or died
                del self.waiting[ch]
                if b"T" in news:
                    took = True
                    self.busy[ch] = time.monotonic()
                else:
                    ch.close()
        return took

    def retire(self):
        """Let the waiting spares go (they exit; one that just took a link serves it)."""
        for ch in list(self.waiting) + list(self.busy):
            ch.close()
        self.waiting.clear()
        self.busy.clear()


POPULATE_STEP = 256     # pages faulted in per call (~1 MB, under a millisecond): a link that
                        # comes meanwhile waits at most one step (see _spare)


def _populate_private_memory(hot, link_waits=None):
    """Fault in a private copy of the pages earlier links wrote (`hot`: page numbers;
    see _Spares), POPULATE_STEP pages at a time, stopping early once `link_waits()`
    says a link (or the server) wants this process; returns the pages faulted in,
    sorted."""
    import numpy as np
    pages = np.sort(np.fromiter(hot, np.int64, len(hot)))
    try:
        import ctypes
        madvise = ctypes.CDLL(None, use_errno=True).madvise
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    except (ImportError, OSError, AttributeError):
        return pages                    # (a spare all the same: the fork is done)
    MADV_POPULATE_WRITE = 23            # (Linux 5.14; older kernels refuse it: no harm)
    page = os.sysconf("SC_PAGE_SIZE")
    # runs of consecutive pages, cut at every POPULATE_STEP pages: one call each
    cut = np.flatnonzero((np.diff(pages) != 1) | (np.arange(1, len(pages)) % POPULATE_STEP == 0)) + 1
    firsts = pages[np.concatenate(([0], cut))]
    ends = pages[np.concatenate((cut - 1, [len(pages) - 1]))] + 1
    done = 0
    since_check = 0
    for first, end in zip(firsts.tolist(), ends.tolist()):
        if link_waits is not None and since_check >= POPULATE_STEP:
            if link_waits():
                break
            since_check = 0
        madvise(first * page, (end - first) * page, MADV_POPULATE_WRITE)   # (unmapped here: refused)
        done += end - first
        since_check += end - first
    return pages[:done]


def _spare(ls, lock, reports, channel, hot):
    """A spare's life: ready at once, then fault in the pages links write until a link
    comes (a big server's hot pages take ~80 ms, which no link should wait for), wait
    for a link (or to be retired), serve it."""
    import select
    os.close(lock)
    mapped = _private_mappings()      # (the server's memory, as the link will start)
    channel.sendall(b"R")
    link_waits = lambda: bool(select.select([ls, channel], [], [], 0)[0])
    faulted_in = _populate_private_memory(hot, link_waits)
    if not link_waits():
        from ldpy import heap
        heap.prepare_spare(link_waits)  # (and the new memory a link takes first)
    while True:
        try:
            ready = select.select([ls, channel], [], [])[0]
        except InterruptedError:
            continue
        if channel in ready:
            return 0                    # retired, or the server is gone
        try:
            conn, _ = ls.accept()
        except (BlockingIOError, InterruptedError):
            continue                    # (another process took it)
        break
    try:
        channel.sendall(b"T")
    except OSError:
        pass
    ls.close()              # (channel stays open: the server sees its end when the link is done)
    conn.setblocking(True)
    from ldpy.input import warm
    warm.child_started(reports)
    return _child(conn, spare=faulted_in, mapped=mapped)


def _preload():
    """Import numpy and every ldpy module, so that a child starts ready to link."""
    from ldpy.main import numpy_environment
    numpy_environment()         # (as main(): before numpy's import reads it)
    import importlib
    import io            # noqa: F401  (the child rebuilds sys.stdout with it)
    import _thread       # noqa: F401
    import resource      # noqa: F401  (a child counts its page faults: should_report)
    import numpy         # noqa: F401
    import hashlib       # noqa: F401  (--build-id's hashers: synthetic/notes.py)
    for name in ("_sha1", "_md5"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    pkg = os.path.dirname(os.path.abspath(__file__))
    for root, dirs, files in os.walk(pkg):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "shim"))
        rel = os.path.relpath(root, os.path.dirname(pkg)).replace(os.sep, ".")
        for f in sorted(files):
            if f.endswith(".py") and f != "__main__.py":
                name = rel if f == "__init__.py" else f"{rel}.{f[:-3]}"
                try:
                    importlib.import_module(name)
                except Exception:
                    pass                        # an in-process link would fail the same way
    from ldpy.script.default import warm_default_scripts
    warm_default_scripts()  # the usual links' default scripts, parsed once for every child
    import gc
    gc.collect()
    gc.freeze()          # keep the preloaded objects' pages shared with the children


WARM_UP_RUNS = 3       # (one run makes numpy's first calls; specialization wants a few)
WARM_UP_QUIET = 0.05   # seconds without news before a warm-up run


def _warm_up(argv, log=True):
    """Run one link in the server itself, its output thrown away (warm.warm_up_links):
    what the first link of a process does once, every child of the server would
    do again (numpy's first call of each function, 25-80 us each; the
    interpreter specializing the passes' code), unless the server has done it.
    Served static links are 4-8% faster after it (hyperfine, sqlite-static 32.4 ->
    31.0 ms, hello-c-static 35.2 -> 32.9 ms).  The server runs one at a time, when
    no link has come for WARM_UP_QUIET: it forks no child meanwhile."""
    import gc
    import shutil
    import tempfile
    from ldpy.input import warm
    from ldpy.main import main
    try:
        d = tempfile.mkdtemp(prefix="ldpy-warm-up-")
    except OSError:
        return                  # (nowhere to write: the children link as before)
    enabled = gc.isenabled()
    rc = None
    try:
        with warm.hidden():
            rc = main([*argv, "-o", os.path.join(d, "a.out")])
        if rc >= 128:
            raise SystemExit(0)     # (a signal stopped it: one that stops the server)
    except SystemExit:
        raise
    except BaseException:
        pass                    # (nothing depends on it: the children link as before)
    finally:
        if enabled:
            gc.enable()         # (main() turns the collector off for its link)
        shutil.rmtree(d, ignore_errors=True)
    log = log and os.environ.get("LDPY_SERVER_LOG")
    if log:
        try:
            with open(log, "a") as fh:
                fh.write(f"warm-up {argv[0] if argv[0] in ('-static', '-pie') else ''} "
                         f"server={os.getpid()} rc={rc}\n")
        except OSError:
            pass


def _fork_child(ls, conn, lock, reports=None):
    try:
        pid = os.fork()
    except OSError:
        conn.close()     # the client falls back to linking in-process
        return
    if pid:
        conn.close()
        return

    def child():
        ls.close()
        os.close(lock)
        if reports is not None:
            from ldpy.input import warm
            warm.child_started(reports)
        return _child(conn)
    _exit_after(child)


def _exit_after(work):
    """In a forked child: run work(), flush stdio and leave with its status (1 after
    any exception), running none of the server's cleanup."""
    status = 1
    try:
        status = work()
    except BaseException:
        status = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(status)


def _child(conn, spare=None, mapped=None):
    """Run the link a client sent on `conn` (spare: the pages a spare faulted in;
    mapped: the private mappings as the link starts, _private_mappings)."""
    import signal
    import time
    import io
    import _thread
    if mapped is None:
        mapped = _private_mappings()  # (the server's memory, before the link adds any)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    conn.settimeout(30)
    cred = conn.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    if int.from_bytes(cred[4:8], sys.byteorder) != os.getuid():
        return 1
    fds = []
    head, ancdata, _flags, _addr = conn.recvmsg(len(MAGIC) + 4, _socket.CMSG_SPACE(3 * 4))
    for level, typ, data in ancdata:
        if level == _socket.SOL_SOCKET and typ == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(data[i:i + 4], sys.byteorder)
                    for i in range(0, len(data) - len(data) % 4, 4)]
    if len(head) < len(MAGIC) + 4:
        head += _recv_exact(conn, len(MAGIC) + 4 - len(head))
    if head[:len(MAGIC)] != MAGIC:
        return 1
    req = marshal.loads(_recv_exact(conn, int.from_bytes(head[len(MAGIC):], "little")))

    def reply(n):
        try:
            conn.sendall(int(n).to_bytes(4, "little"))
        except OSError:
            pass
    if req.get("op") == "stop":
        reply(os.getppid())
        os.kill(os.getppid(), signal.SIGTERM)
        return 0
    if req.get("op") != "link" or len(fds) != 3:
        reply(FALLBACK)
        return 1
    # -- become the client's process ----------------------------------------------
    try:
        os.chdir(req["cwd"])
        os.umask(req["umask"])
        env, now = req["env"], os.environb       # (the client's environment: changes only)
        for k in [k for k in now if k not in env]:
            del now[k]
        for k, v in env.items():
            if now.get(k) != v:
                now[k] = v
        for i, fd in enumerate(fds):
            os.dup2(fd, i)
            os.close(fd)
        enc = req.get("enc") or [None, None]
        sys.stdin = None
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False),
                                      *(enc[0] or ("utf-8", "strict")),
                                      line_buffering=os.isatty(1))
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False),
                                      *(enc[1] or ("utf-8", "backslashreplace")),
                                      line_buffering=True, write_through=True)
        sys.argv = [req["argv0"]] + list(req["argv"])
    except Exception:
        reply(FALLBACK)
        return 1

    # the client got a signal, or went away: stop the link like Ctrl-C does (a real
    # SIGINT to the main thread also breaks a blocking system call, e.g. a FIFO input)
    main_thread = _thread.get_ident()
    done = []

    def watch():
        try:
            conn.settimeout(None)
            conn.recv(16)
        except OSError:
            pass
        if done:                 # the client read the status and left
            return
        signal.pthread_kill(main_thread, signal.SIGINT)
        time.sleep(10)
        os._exit(130)            # still not stopped (stuck in C code): give up
    _thread.start_new_thread(watch, ())

    from ldpy.main import main
    import resource
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    try:
        rc = main(list(req["argv"]))
    except KeyboardInterrupt:
        rc = 130
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        pass
    log = os.environ.get("LDPY_SERVER_LOG")
    if log:
        try:
            with open(log, "a", errors="surrogateescape") as fh:   # (argv may not be UTF-8)
                from ldpy.input import warm
                fh.write(f"served pid={os.getpid()} server={os.getppid()} rc={rc} warm={warm.hits} "
                         + " ".join(req["argv"]) + "\n")
        except (OSError, ValueError):
            pass
    done.append(True)
    reply(rc)

    from ldpy.input import warm
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    if warm.reporting() and should_report(_links, faults):
        try:            # (the client has its answer: this costs the link nothing)
            warm.report_pages(_own_pages(mapped, spare))
        except (OSError, ValueError):
            pass
    return 0


# Which links report the pages they wrote (_own_pages reads /proc/self/pagemap over
# the server's whole memory: 2-3 ms of a 50 MB server's child, 10-23 ms of a 440 MB
# one, each link, on a CPU the next link may want): the server's first links, every
# REPORT_EVERY-th, and any link that took more than REPORT_FAULTS page faults (its
# working set was not faulted in beforehand: a new kind of link, or a big one).
REPORT_FIRST = 8
REPORT_EVERY = 16
REPORT_FAULTS = 1000
_links = 0          # (in the server: links handed to children; a child sees the count at its fork)


def _count_link():
    global _links
    _links += 1


def should_report(links_before, faults):
    """Whether a link that `links_before` links followed, and took `faults` minor page
    faults, reports its pages (see REPORT_FIRST)."""
    return links_before < REPORT_FIRST or links_before % REPORT_EVERY == 0 or faults > REPORT_FAULTS


def _private_mappings():
    """{first page: end page} of this process's private writable mappings."""
    page = os.sysconf("SC_PAGE_SIZE")
    found = {}
    with open("/proc/self/maps") as fh:
        for line in fh.read().splitlines():
            fields = line.split()
            if fields[1] == "rw-p" and not (len(fields) > 5 and fields[5].startswith("[v")):
                start, end = (int(x, 16) // page for x in fields[0].split("-"))
                found[start] = end          # ([vvar], [vdso]: not memory of ours)
    return found


def _own_pages(at_start, faulted_in=None):
    """Runs (first page number, count) of the private writable pages of the server's
    memory (`at_start`: the mappings when the link began) that this process owns
    alone, i.e. that the link wrote, from /proc/self/pagemap (bit 63: present, bit
    56: exclusively mapped), less those a spare faulted in itself (`faulted_in`,
    sorted page numbers).  The server's next spares fault these in (_Spares)."""
    import numpy as np
    from ldpy.util import isin
    firsts, counts = [], []
    fd = os.open("/proc/self/pagemap", os.O_RDONLY)
    try:
        for start, end in _private_mappings().items():
            end = min(end, at_start.get(start, start))      # (what the link added: not the server's)
            if end <= start:
                continue
            entries = np.frombuffer(os.pread(fd, 8 * (end - start), 8 * start), np.uint64)
            own = np.flatnonzero((entries >> np.uint64(56)) & np.uint64(0x81) == 0x81)
            if faulted_in is not None and len(own):
                own = own[~isin(own + start, faulted_in)]
            if not len(own):
                continue
            cut = np.flatnonzero(np.diff(own) != 1) + 1
            run_first = own[np.concatenate(([0], cut))]
            run_end = own[np.concatenate((cut - 1, [len(own) - 1]))] + 1
            firsts.append(start + run_first)
            counts.append(run_end - run_first)
    finally:
        os.close(fd)
    if not firsts:
        return []
    return list(zip(np.concatenate(firsts).tolist(), np.concatenate(counts).tolist()))
