"""The CTF pass: the inputs' ``.ctf`` dictionaries become one output ``.ctf``,
as GNU ld's ``ctf_link`` makes it (ld/ldlang.c's lang_merge_ctf / lang_write_ctf).

Inputs are read in link order (archives from ``-r`` with their children),
deduplicated (dedup.py), and written as one dictionary when no type conflicts,
else as a CTF archive whose member ``.ctf`` is the shared parent and whose other
members are per-CU children named after their CU.  Final links report the
dynamic symbols and ``.dynstr`` (libctf's ctf_link_add_linker_symbol and
ctf_link_add_strtab); ``-r`` reports neither.  A dictionary that cannot be read
is dropped with a warning naming its file, as ld.bfd does.
"""
from ldpy import diag
from ldpy.ctf import format as fmt
from ldpy.ctf.dedup import Dedup
from ldpy.ctf.early import BESIDE_MIN_BYTES, may_run_beside
from ldpy.ctf.write import serialize, finished, archive, TypeWords, STT_OBJECT, STT_FUNC

COMPRESSION_THRESHOLD = 4096      # ld's CTF_COMPRESSION_THRESHOLD: larger dicts are zlib'd


def input_ctf_sections(files):
    """The live .ctf input sections, in link order."""
    out = []
    for f in files:
        for s in getattr(f, "sections", None) or ():
            if getattr(s, "name", None) == ".ctf" and s.live and s.size:
                out.append(s)
    return out


def section_keys(secs):
    """What identifies the .ctf inputs whatever process read them: (path, section index)."""
    import os
    return [(os.path.abspath(s.file.name), s.index) for s in secs]


def read_inputs(blobs, warn=diag.warn):
    """blobs: [(file name, .ctf bytes)] -> the dictionaries that could be read."""
    dicts = []
    for origin, data in blobs:
        try:
            dicts.extend(fmt.read_section(data, origin))
        except fmt.BadCTF as e:
            warn(f"CTF section in {origin} not loaded; its types will be discarded: {e}")
    return dicts


class Merge:
    """One merge in two steps: read and deduplicate DICTS now; output(reported, ext)
    then writes the bytes (None when there is nothing to write).  The final link
    knows the dynamic symbols and .dynstr only after its synthetic sections, so the
    first step can run beside the link's other passes (start_beside)."""

    def __init__(self, dicts, *, share_duplicated=False, variables=False, little=True,
                 model=fmt.CTF_MODEL_LP64, lap=lambda step: None):
        self.dicts, self.little, self.model = dicts, little, model
        self.parent, self.kids, self.type_words = None, [], None
        if not dicts:
            return
        d = Dedup(dicts, share_duplicated)
        d.hash_all()
        lap("CTF hash types")
        d.detect_conflicts()
        lap("CTF conflicts")
        self.parent, children = d.emit()
        lap("CTF emit types")
        d.link_symbols()
        if variables:
            d.link_variables()
        lap("CTF symbols and variables")
        if len(dicts) == 1 and not children:
            self.parent.cuname = dicts[0].cuname     # one CU: the output keeps its name
        self.kids = sorted(children.values(), key=lambda c: c.order)

    def prepare_output(self):
        """The type sections' words, which do not depend on what output() is given:
        a worker makes them while it waits for the link's symbols."""
        if self.parent is not None and self.type_words is None:
            self.type_words = [TypeWords(d) for d in [self.parent] + self.kids]

    def output(self, reported=None, ext=None):
        if self.parent is None:
            return None
        self.prepare_output()
        tw = self.type_words
        blob = serialize(self.parent, "", reported, ext, self.little, COMPRESSION_THRESHOLD, tw[0])
        if not self.kids:
            return finished(blob)
        members = [(".ctf", blob)] + [
            (c.cuname, serialize(c, ".ctf", reported, ext, self.little, COMPRESSION_THRESHOLD, t))
            for c, t in zip(self.kids, tw[1:])]
        return archive([(name, finished(b)) for name, b in members], self.model)


def merge(dicts, *, share_duplicated=False, variables=False, reported=None, ext=None,
          little=True, model=fmt.CTF_MODEL_LP64, lap=lambda step: None):
    """The output .ctf bytes for DICTS, or None when there is nothing to write.
    lap(STEP) closes each step for --stats."""
    return Merge(dicts, share_duplicated=share_duplicated, variables=variables, little=little,
                 model=model, lap=lap).output(reported, ext)


def link_ctf(ctx):
    """Final links: the first input .ctf carries the merged bytes, the others leave."""
    secs = input_ctf_sections(ctx.files)
    beside, ctx.ctf_beside = ctx.ctf_beside, None
    if not secs or secs[0].output is None:
        if beside is not None:
            beside[1].cancel()
        return                                    # none, or discarded by a script
    reported, ext = [], None
    dyn = ctx.dynsyms
    if dyn is not None:
        from ldpy.symbols import SHARED, UNDEF
        reported = [("", -1)]
        for s in dyn.symbols[1:]:
            defined = not (s.kind in (SHARED, UNDEF) and not s.copy)
            typ = s.type if defined and s.type in (STT_OBJECT, STT_FUNC) else -1
            reported.append((s.dyn_name.decode("utf-8", "surrogateescape"), typ))
        ext = {k.decode("utf-8", "surrogateescape"): v for k, v in dyn.dynstr.offsets.items() if k}
    if beside is not None and beside[0] == section_keys(secs):
        data, warnings = beside[1].finish((reported, ext))
        for w in warnings:
            diag.warn(w)
        if data is None:
            _zero(secs)
        ctx.passes.lap(f"CTF from the worker {beside[2]}")
    else:
        if beside is not None:                    # (the inputs changed since it started)
            beside[1].cancel()
        data = build(ctx, secs, reported, ext)
    carry(secs, data)


def start_beside(ctx):
    """With more than one thread, no script SECTIONS and no plugins: read and
    deduplicate the inputs' CTF in a forked worker while the link goes on (unless
    start_early's worker already does); link_ctf takes the result if the .ctf inputs
    are still the same."""
    early = ctx.ctf_beside
    if not may_run_beside(ctx.config) or ctx.user_sections or ctx.plugins is not None:
        if early is not None:
            early[1].cancel()
            ctx.ctf_beside = None
        return
    secs = input_ctf_sections(ctx.files)
    if early is not None:
        if secs and early[0] == section_keys(secs):
            return                          # already under way since the command line
        early[1].cancel()
        ctx.ctf_beside = None
    import os
    if sum(s.size for s in secs) < BESIDE_MIN_BYTES and not os.environ.get("LDPY_SPLIT_ALWAYS"):
        return                      # (tests set LDPY_SPLIT_ALWAYS to take this path with small inputs)
    if not secs:
        return
    f = secs[0].file
    found = [(key[0], s.file.name, key[1], None, s.size, getattr(f, "little", True), getattr(f, "is64", True), s)
             for key, s in zip(section_keys(secs), secs)]
    ctx.ctf_beside = start_worker(ctx.config, found, "beside the link")


def start_worker(config, found, label):
    """The worker: found = [(abs path, name, index, offset, size, little, is64, section)];
    the bytes are read in the worker (from the file when no section object is given)."""
    from ldpy import parallel
    keys = [(f[0], f[2]) for f in found]

    def work(receive):
        import gc
        gc.disable()            # (as in the link: the merge makes many objects, frees none)
        warnings = []
        blobs = []
        for path, name, _, offset, size, _, _, sec in found:
            if sec is not None:
                blobs.append((name, bytes(sec.bytes())))
            else:
                with open(path, "rb") as fh:
                    blobs.append((name, os.pread(fh.fileno(), size, offset)))
        merge = prepare(config, blobs, found[0][5], found[0][6], warnings.append)
        if isinstance(merge, Merge):
            merge.prepare_output()          # (while the link makes its symbol tables)
        reported, ext = receive()
        return finish(merge, reported, ext, warnings.append), warnings
    import os
    return keys, parallel.Beside(work), label


def link_ctf_relocatable(ctx):
    """-r: the same, with name-indexed symbol tables and no string sharing."""
    secs = input_ctf_sections(ctx.files)
    if secs and secs[0].output is not None:
        carry(secs, build(ctx, secs, None, None))


def _zero(secs):
    """No input could be read: ld.bfd keeps the sections' room, zeroed."""
    import numpy as np
    for s in secs:
        s.data = np.zeros(s.size, np.uint8)


def build(ctx, secs, reported, ext):
    """The merged bytes; None when no input could be read (the sections stay, zeroed);
    an empty dictionary when the merge fails.  Both as ld.bfd."""
    f = secs[0].file                              # the output's class and byte order
    merge = prepare(ctx.config, [(s.file.name, s.bytes()) for s in secs], getattr(f, "little", True),
                    getattr(f, "is64", True), diag.warn, ctx.passes.lap)
    if merge is None:
        _zero(secs)
    return finish(merge, reported, ext, diag.warn)


def prepare(cfg, blobs, little, is64, warn, lap=lambda step: None):
    """The first step of build(): a Merge, None when no input could be read, or the
    BadCTF of a merge that failed."""
    dicts = read_inputs(blobs, warn)
    lap("CTF read inputs")
    if not dicts:
        return None
    model = fmt.CTF_MODEL_LP64 if is64 else fmt.CTF_MODEL_ILP32
    try:
        return Merge(dicts, share_duplicated=cfg.ctf_share_types == "share-duplicated",
                     variables=cfg.ctf_variables, little=little, model=model, lap=lap)
    except fmt.BadCTF as e:
        e.little = little
        return e


def finish(merge, reported, ext, warn):
    if merge is None:
        return None
    if isinstance(merge, fmt.BadCTF):
        warn(f"CTF linking failed; output will have no CTF section: {merge}")
        from ldpy.ctf.dedup import Out
        return finished(serialize(Out(False), "", reported, None, merge.little, COMPRESSION_THRESHOLD))
    return merge.output(reported, ext)


def carry(secs, data):
    """The first input .ctf (which keeps its place in the output and in the file
    order of -r) holds DATA; the other inputs' .ctf leave their output sections."""
    import numpy as np
    if data is None:
        return
    for s in secs[1:]:
        out = s.output
        if out is None:
            continue
        out.chunks = [c for c in out.chunks if c is not s]
        by_pos = getattr(out, "desc_chunks", None)        # script output sections
        if by_pos:
            for k, v in by_pos.items():
                by_pos[k] = [c for c in v if c is not s]
        s.output = None
    first = secs[0]
    first.data = np.frombuffer(data, np.uint8)
    first.size = len(data)
