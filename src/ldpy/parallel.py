"""Worker processes for the output writer (--threads=N, --no-threads, --thread-count=N).

After layout every address is known and the output is one shared mapping
(outfile.py: a MAP_SHARED map of the temporary file, or shared anonymous memory),
so the writing can be split: the link forks workers that inherit the whole
computed state, each writes its share of the image into the same mapping, and
the parent waits for them (write._copy_and_relocate).  Shares never overlap, so
the bytes are the same whatever the number of workers (tests/test_parallel.py).

A worker (Beside) talks to the parent through a socket: pickled messages, then
its result; a LinkError comes back as its one-line message (raised again in the
parent, so it reads like any other), anything else as an internal error naming
the place; nothing at all means it died.  Workers leave with os._exit: no
cleanup of the parent's (the temporary output, signal handlers, atexit) runs in
them.
"""
import os


def thread_count(config):
    """How many processes write the output: --threads=N / --thread-count=N, 1 with
    --no-threads, else every CPU this process may run on."""
    n = getattr(config, "threads", None)
    if n is None:
        try:
            n = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            n = os.cpu_count() or 1
    return max(1, int(n))


def _kill_and_reap(pid):
    import signal
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    _reap(pid)


def _reap(pid):
    """Wait for pid; its exit status, or None (already reaped: SIGCHLD ignored)."""
    try:
        return os.waitpid(pid, 0)[1]
    except OSError:
        return None


def _error_report(e):
    """A worker's exception for the parent: ("E", a LinkError's message) or ("I",
    an internal error naming the place it was raised)."""
    from ldpy.diag import LinkError
    if isinstance(e, LinkError):
        return "E", e.args[0] if e.args else ""
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}" if tb else ""
    return "I", f"{type(e).__name__}: {e}{where}"


def split_by_weight(weights, n):
    """Cut the sequence of item weights into at most n contiguous ranges of
    about equal total weight: [(start, end), ...] in order."""
    total = sum(weights)
    if n <= 1 or total <= 0 or len(weights) <= 1:
        return [(0, len(weights))]
    ranges, start, acc, k = [], 0, 0, 1
    for i, w in enumerate(weights):
        acc += w
        if acc >= total * k / n and len(ranges) < n - 1:
            ranges.append((start, i + 1))
            start = i + 1
            while k < n and acc >= total * k / n:
                k += 1
    if start < len(weights):
        ranges.append((start, len(weights)))
    return ranges


# -- the output writer's shares (write.py) --------------------------------------

PIECE = 4096            # chunks per share-able piece of a big output section
MIN_WORK = 150000       # below this much work (see _weight), one process writes all: a
                        # fork, and the copy-on-write faults after it, cost more than the
                        # work saved (openssl-static, 44k: 7% slower served with a worker)


def _weight(chunks, size):
    """Rough cost of writing: a few microseconds per chunk, one per 4 KiB copied."""
    return 8 * chunks + (size >> 12) + 1


def plan_copy(outs, n, files):
    """Step 1 of write.py (section bytes and code padding) as at most n shares,
    in output order.  An output section is one item, or with many chunks, pieces
    of PIECE chunks in address order (as `(o, Piece, padding start, last piece)`).
    A section with a FILL pattern, or whose chunks overlap, stays one item: its
    writes keep their serial order."""
    from operator import attrgetter
    import numpy as np
    from ldpy.elf.format import SHT_NOBITS
    items, weights = [], []
    piece = 2 if os.environ.get("LDPY_SPLIT_ALWAYS") else PIECE
    for o in outs:
        if o.type == SHT_NOBITS:
            continue
        chunks = o.chunks
        pieces = None
        if n > 1 and len(chunks) > piece and not getattr(o, "fill", None):
            m = len(chunks)
            off = np.fromiter(map(attrgetter("out_offset"), chunks), np.int64, m)
            size = np.fromiter(map(attrgetter("size"), chunks), np.int64, m)
            in_order = bool((off[1:] >= off[:-1]).all())
            order = np.arange(m) if in_order else np.argsort(off, kind="stable")
            starts, ends = off[order], off[order] + size[order]
            if (starts[1:] >= ends[:-1]).all():         # (sorted, so: no overlap)
                ordered = chunks if in_order else [chunks[i] for i in order.tolist()]
                source = _Sources(ordered, files)
                reach = np.maximum(np.maximum.accumulate(ends), 0)     # (padding starts after)
                firsts = range(0, m, piece)
                sums = np.add.reduceat(size[order], np.array(firsts)).tolist()
                pieces = [((o, source.piece(o.offset, starts, ends, k, k + piece, ordered),
                            int(reach[k - 1]) if k else 0, k + piece >= m),
                           _weight(min(piece, m - k), w)) for k, w in zip(firsts, sums)]
        if pieces is None:
            items.append((o, None, 0, True))
            weights.append(_weight(len(chunks), o.size))
        else:
            for p, w in pieces:
                items.append(p)
                weights.append(w)
    if sum(weights) < MIN_WORK and not os.environ.get("LDPY_SPLIT_ALWAYS"):
        n = 1               # (LDPY_SPLIT_ALWAYS=1: split small links too, for the tests)
    return [items[a:b] for a, b in split_by_weight(weights, n)]


class _Sources:
    """Where the chunks of one output section come from, as columns made before the
    workers fork (`files`: each file's bytes, by file id): a worker that read the
    chunk objects themselves would write to their pages (reference counts) and pay a
    copy-on-write fault for each page it touches, as would the parent for every page
    the worker still shares (llvm-big: the parent's write took 32k faults, 21k now)."""

    def __init__(self, chunks, files):
        from operator import attrgetter
        import numpy as np
        from ldpy.elf.format import SHT_NOBITS
        m = len(chunks)
        # plain: an input section copied straight from its file (write.copy_chunks)
        self.plain = np.fromiter(map(lambda c: c.is_input and c.data is None and c.compressed is None
                                     and c.type != SHT_NOBITS, chunks), bool, m)
        idx = np.flatnonzero(self.plain)
        plain = list(map(chunks.__getitem__, idx.tolist()))
        self.file = np.zeros(m, np.int32)
        self.src = np.zeros(m, np.int64)
        self.file[idx] = np.fromiter(map(attrgetter("file.file_id"), plain), np.int64, len(idx))
        self.src[idx] = np.fromiter(map(attrgetter("offset"), plain), np.int64, len(idx))
        self.files = files

    def piece(self, base, starts, ends, lo, hi, chunks):
        """Piece of chunks lo:hi (starts/ends: every chunk's, sorted)."""
        import numpy as np
        plain = self.plain[lo:hi]
        others = [chunks[lo + i] for i in np.flatnonzero(~plain).tolist()]
        return Piece(starts[lo:hi], ends[lo:hi], base + starts[lo:hi][plain], self.file[lo:hi][plain],
                     self.src[lo:hi][plain], (ends[lo:hi] - starts[lo:hi])[plain], others, self.files)


class Piece:
    """Chunks of an output section as columns (see _Sources): every chunk's start
    and end (for the padding between them), the plain ones' file offset in the
    output, file id, offset in that file and size, and the other chunks."""
    __slots__ = ("starts", "ends", "at", "file", "src", "size", "others", "files")

    def __init__(self, starts, ends, at, file, src, size, others, files):
        self.starts, self.ends, self.at, self.file, self.src, self.size = starts, ends, at, file, src, size
        self.others, self.files = others, files

    def copy(self, out, base):
        """The piece's bytes into `out` (the output section at file offset base)."""
        from ldpy.write import copy_chunks
        dst = memoryview(out)
        views = self.files
        for at, f, src, size in zip(self.at.tolist(), self.file.tolist(), self.src.tolist(),
                                    self.size.tolist()):
            if size:
                dst[at:at + size] = views[f][src:src + size]
        if self.others:
            copy_chunks(out, base, self.others)


def copy_share(out, items, code_fill, copy_whole):
    """Write the items of one share (see plan_copy) into `out`."""
    from ldpy.elf.format import SHF_EXECINSTR
    from ldpy.write import fill_gaps
    from ldpy.outfile import release_input_pages
    copied = 0
    for o, piece, pos, last in items:
        if piece is None:
            copy_whole(out, o, code_fill)
            copied += o.size
        else:
            if o.flags & SHF_EXECINSTR and o.size:      # padding between code is no-ops
                fill_gaps(out, o.offset, piece.starts, piece.ends, pos, o.size if last else None, code_fill)
            piece.copy(out, o.offset)
            copied += int(piece.ends[-1] - piece.starts[0]) if len(piece.starts) else 0
        if copied >= RELEASE_BYTES:
            # (the input pages just copied are not read again: a few MB of inputs
            # are mapped at a time, not all that the output holds)
            release_input_pages()
            copied = 0
    if copied:
        release_input_pages()


RELEASE_BYTES = 8 << 20     # (a release costs ~10 us per mapped input, touched or not)


MIN_ROWS = 1 << 18       # below this many relocations, one process applies them all


def plan_rows(sec_first, blocks, n):
    """The relocation table's blocks (relocs.RelocTable.blocks) as at most n shares
    of about equal row count, in row order: [[(lo, hi), ...], ...].  Shares are cut
    only where a section's rows begin (`sec_first`: the first row of each section),
    so a section's relocations stay in one process (its relaxations read its own
    bytes); a block crossing a cut becomes two."""
    total = blocks[-1][1] if blocks else 0
    if n <= 1 or (total < MIN_ROWS and not os.environ.get("LDPY_SPLIT_ALWAYS")):
        return [blocks]
    import numpy as np
    want = total * np.arange(1, n, dtype=np.int64) // n
    i = np.searchsorted(sec_first, want)
    after = sec_first[np.minimum(i, len(sec_first) - 1)]
    before = sec_first[np.maximum(i - 1, 0)]
    near = np.where(np.abs(after - want) < np.abs(want - before), after, before)
    cuts = sorted(c for c in set(near.tolist()) if 0 < c < total) + [total]
    shares, cur, k = [], [], 0
    for lo, hi in blocks:
        while lo < hi:
            end = min(hi, cuts[k])
            cur.append((lo, end))
            lo = end
            if end == cuts[k]:
                shares.append(cur)
                cur, k = [], k + 1
    if cur:
        shares.append(cur)
    return shares


SYMTAB_BESIDE = 50000   # symbols from which a worker fills .symtab (cpython's 21k: 5% slower
                        # served with the worker, the same in a fresh process; llvm-big's 108k)


def symtab_beside(ctx, n):
    """Whether a worker fills .symtab (write._copy_and_relocate) rather than the
    parent: only worth it for a big one."""
    sec = ctx.symtab_sec
    return n > 1 and sec is not None and (getattr(sec, "count", 0) >= SYMTAB_BESIDE or
                                          bool(os.environ.get("LDPY_SPLIT_ALWAYS")))


class Beside:
    """fn(receive) run in a forked process beside the link, from now on.  fn may
    call receive() once, to wait for what the parent hands over with finish(obj);
    finish returns fn's result (pickled back).  fn's LinkError is raised again in
    the parent; cancel() stops a helper whose work is not wanted.

    With talk=True, fn(receive, send) may also tell the parent how far it got:
    send(obj) is read by message() in the parent, and send(obj) in the parent by
    receive() in fn, any number of times in turn."""

    def __init__(self, fn, talk=False):
        import socket
        parent_end, child_end = socket.socketpair()
        pid = os.fork()
        if pid == 0:                        # the child
            parent_end.close()
            _beside_child(fn, child_end, talk)      # (never returns)
        child_end.close()
        self.pid, self.sock = pid, parent_end

    def send(self, obj):
        try:
            _send_obj(self.sock, obj)
        except OSError:
            pass                            # (it ended early: its error follows)

    def finish(self, obj):
        self.send(obj)
        return self.result()

    def message(self):
        """What fn sent next (talk=True); its error if it failed instead."""
        kind, value = self._next()
        if kind == "M":
            return value
        self._reap()
        if kind == "O":
            kind, value = "I", "returned without the message the link waits for"
        self._raise(kind, value)

    def result(self):
        """fn's result, once it returns (for an fn that never calls receive)."""
        kind, value = self._next()
        if kind == "M":
            kind, value = "I", "sent a message where the link waits for its result"
        self._reap()
        self._raise(kind, value)
        return value

    def _next(self):
        try:
            return _recv_obj(self.sock)
        except (EOFError, OSError):
            status = self._reap()
            if status is not None and os.WIFSIGNALED(status):
                return "I", f"killed by signal {os.WTERMSIG(status)}"
            return "I", "ended without a result"

    @staticmethod
    def _raise(kind, value):
        from ldpy.diag import LinkError
        if kind == "E":
            raise LinkError(value)
        if kind == "I":
            raise RuntimeError(f"in a worker beside the link: {value}")

    def cancel(self):
        if self.pid is None:
            return
        _kill_and_reap(self.pid)
        self.sock.close()
        self.pid = None

    def _reap(self):
        if self.pid is None:
            return None
        self.sock.close()
        status = _reap(self.pid)
        self.pid = None
        return status


def _send_obj(sock, obj):
    import pickle
    import socket
    data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    sock.sendall(len(data).to_bytes(8, "little") + data, socket.MSG_NOSIGNAL)


def _recv_obj(sock):
    import pickle
    head = _recv_exact(sock, 8)
    return pickle.loads(_recv_exact(sock, int.from_bytes(head, "little")))


def _recv_exact(sock, n):
    parts, got = [], 0
    while got < n:
        b = sock.recv(min(n - got, 1 << 20))
        if not b:
            raise EOFError
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def _beside_child(fn, sock, talk):
    import signal
    code = 0
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        receive = lambda: _recv_obj(sock)
        if talk:
            result = ("O", fn(receive, lambda obj: _send_obj(sock, ("M", obj))))
        else:
            result = ("O", fn(receive))
    except BaseException as e:          # (reported to the parent, never printed here)
        result = _error_report(e)
        code = 1
    try:
        _send_obj(sock, result)
    except BaseException:
        code = 1
    finally:
        os._exit(code)
