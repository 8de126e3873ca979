"""Reading archive members ahead of the link, on another core (--threads > 1).

A pass of load.Loader.scan_archive knows, before it loads the first of them, every
member it is about to load: those defining a symbol that is undefined now.  A
worker process (forked at the first pass with AHEAD_MIN members or more) reads
them in that order, in its own map of the same archive, and sends back what
ObjectFile.facts_of finds: the link-independent part of reading an object (headers
checked, sections sorted, symbols and groups read, section names), about 60% of
it.  The link takes a member's facts as it loads the member (ObjectFile(...,
facts=)): COMDAT decisions, the section objects and symbol resolution stay here,
in link order, so the link is the one a single process makes.

A member the worker could not read (a broken file: its facts are None) is read
here, which reports the error as always; one loaded without a request (a common's
archive member, -u globs, a member that a pass found no longer wanted) is read
here too, and the facts of a requested member the pass skipped are dropped.
Only archives read_input mapped are read ahead: the worker maps the file again
and uses it only if it is still the same (device, inode, size, times).
"""
import marshal
import os
from collections import deque

AHEAD_MIN = 32      # members of one pass from which the worker reads them (llvm-big's
                    # first passes over the LLVM archives: dozens to hundreds; libc.a's: a few)


def minimum():
    """AHEAD_MIN; 1 with LDPY_SPLIT_ALWAYS=1 (the tests: every pass read ahead)."""
    return 1 if os.environ.get("LDPY_SPLIT_ALWAYS") else AHEAD_MIN


def _frame(data):
    return len(data).to_bytes(8, "little") + data


class ReadAhead:
    """The worker and what the link asked it for (see the module docstring)."""

    def __init__(self):
        import socket
        parent_end, child_end = socket.socketpair()
        for s in (parent_end, child_end):
            for opt in (socket.SO_SNDBUF, socket.SO_RCVBUF):
                try:
                    s.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)
                except OSError:
                    pass
        pid = os.fork()
        if pid == 0:                        # the worker
            parent_end.close()
            _worker(child_end)              # (never returns)
        child_end.close()
        self.pid, self.sock = pid, parent_end
        self.archives = {}                  # id(archive map) -> (map, number the worker knows it by)
        self.pending = deque()              # (archive number, member offset) asked for, in order
        self.asked = set()
        self.buffer = bytearray()

    @staticmethod
    def wanted(config, ar, count):
        """Whether a pass loading `count` members of `ar` is read ahead."""
        from ldpy import outfile
        from ldpy.parallel import thread_count
        return (count >= minimum() and not ar.thin and not ar.warm_members
                and not config.relocatable and thread_count(config) > 1
                and outfile.map_origin(ar.data) is not None)

    def request(self, ar, members):
        """Have the worker read these members of `ar` (archive.Member), in order."""
        from ldpy import outfile
        if self.pid is None:
            return
        known = self.archives.get(id(ar.data))
        if known is None or known[0] is not ar.data:
            known = self.archives[id(ar.data)] = (ar.data, len(self.archives))
            path, key = outfile.map_origin(ar.data)
            if not self._send(("archive", known[1], path, key)):
                return
        number = known[1]
        todo = [m for m in members if (number, m.offset) not in self.asked]
        if not todo or not self._send(("read", number, [(m.offset, m.data_offset, m.size, ar.member_display(m))
                                                         for m in todo])):
            return
        for m in todo:
            self.pending.append((number, m.offset))
            self.asked.add((number, m.offset))

    def facts(self, ar, m):
        """The worker's facts of member m of ar, or None (not asked for, or not readable
        there: the link reads it itself)."""
        known = self.archives.get(id(ar.data))
        if known is None or known[0] is not ar.data or (known[1], m.offset) not in self.asked:
            return None
        want = (known[1], m.offset)
        self.asked.discard(want)
        while self.pending:
            got = self.pending.popleft()
            try:
                facts = self._receive()
            except (EOFError, OSError, ValueError):
                self._lost()
                return None
            self.asked.discard(got)
            if got == want:
                return facts
        return None

    def close(self):
        if self.pid is not None:
            from ldpy.parallel import kill_and_reap
            kill_and_reap(self.pid)
            self.sock.close()
            self.pid = None

    def _lost(self):
        """The worker is gone (killed, out of memory): the link reads everything itself."""
        self.close()
        self.pending.clear()
        self.asked.clear()

    def _send(self, message):
        try:
            self.sock.sendall(_frame(marshal.dumps(message)))
            return True
        except OSError:
            self._lost()
            return False

    def _receive(self):
        head = self._read(8)
        return marshal.loads(self._read(int.from_bytes(head, "little")))

    def _read(self, n):
        buf = self.buffer
        while len(buf) < n:
            chunk = self.sock.recv(max(n - len(buf), 1 << 20))
            if not chunk:
                raise EOFError("the read-ahead worker ended")
            buf += chunk
        out = bytes(buf[:n])
        del buf[:n]
        return out


def _worker(sock):
    """The worker's loop: map archives, read members, send their facts; ends when
    the link closes its end (or dies)."""
    import mmap
    import signal
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        from ldpy import outfile
        from ldpy.input.object import ObjectFile
        maps = {}
        buffer = bytearray()
        while True:
            while len(buffer) < 8 or len(buffer) < 8 + int.from_bytes(buffer[:8], "little"):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    raise SystemExit
                buffer += chunk
            size = int.from_bytes(buffer[:8], "little")
            message = marshal.loads(bytes(buffer[8:8 + size]))
            del buffer[:8 + size]
            if message[0] == "archive":
                _, number, path, key = message
                maps[number] = None
                try:
                    with open(path, "rb") as fh:
                        if outfile.stat_key(os.fstat(fh.fileno())) == tuple(key):
                            maps[number] = memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
                except (OSError, ValueError):
                    pass
                continue
            _, number, members = message
            data = maps.get(number)
            for _moff, data_offset, size, name in members:
                facts = None
                if data is not None and data_offset + size <= len(data):
                    try:
                        facts = ObjectFile.facts_of(name, data[data_offset:data_offset + size])
                    except Exception:
                        facts = None        # (the link reads it again, and reports it)
                sock.sendall(_frame(marshal.dumps(facts)))    # (at once: the link may be waiting)
    except BaseException:
        pass                                # (the link reads whatever it did not get)
    finally:
        os._exit(0)
