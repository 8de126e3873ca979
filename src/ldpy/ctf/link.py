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
from ldpy.ctf.write import serialize, archive, STT_OBJECT, STT_FUNC

COMPRESSION_THRESHOLD = 4096      # ld's CTF_COMPRESSION_THRESHOLD: larger dicts are zlib'd


def input_ctf_sections(files):
    """The live .ctf input sections, in link order."""
    out = []
    for f in files:
        for s in getattr(f, "sections", None) or ():
            if getattr(s, "name", None) == ".ctf" and s.live and s.size:
                out.append(s)
    return out


def read_inputs(secs):
    dicts = []
    for s in secs:
        try:
            dicts.extend(fmt.read_section(s.bytes(), s.file.name))
        except fmt.BadCTF as e:
            diag.warn(f"CTF section in {s.file.name} not loaded; its types will be discarded: {e}")
    return dicts


def merge(dicts, *, share_duplicated=False, variables=False, reported=None, ext=None,
          little=True, model=fmt.CTF_MODEL_LP64):
    """The output .ctf bytes for DICTS, or None when there is nothing to write."""
    if not dicts:
        return None
    d = Dedup(dicts, share_duplicated)
    d.hash_all()
    d.detect_conflicts()
    parent, children = d.emit()
    d.link_symbols()
    if variables:
        d.link_variables()
    if len(dicts) == 1 and not children:
        parent.cuname = dicts[0].cuname          # one CU: the output keeps its name
    kids = sorted(children.values(), key=lambda c: c.order)
    blob = serialize(parent, "", reported, ext, little, COMPRESSION_THRESHOLD)
    if not kids:
        return blob
    members = [(".ctf", blob)] + [
        (c.cuname, serialize(c, ".ctf", reported, ext, little, COMPRESSION_THRESHOLD)) for c in kids]
    return archive(members, model)


def link_ctf(ctx):
    """Final links: the first input .ctf carries the merged bytes, the others leave."""
    secs = input_ctf_sections(ctx.files)
    if not secs or secs[0].output is None:
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
    carry(secs, build(ctx, secs, reported, ext))


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
    cfg = ctx.config
    dicts = read_inputs(secs)
    if not dicts:
        _zero(secs)
        return None
    f = secs[0].file                              # the output's class and byte order
    little = getattr(f, "little", True)
    model = fmt.CTF_MODEL_LP64 if getattr(f, "is64", True) else fmt.CTF_MODEL_ILP32
    try:
        return merge(dicts, share_duplicated=cfg.ctf_share_types == "share-duplicated",
                     variables=cfg.ctf_variables, reported=reported, ext=ext, little=little,
                     model=model)
    except fmt.BadCTF as e:
        diag.warn(f"CTF linking failed; output will have no CTF section: {e}")
        from ldpy.ctf.dedup import Out
        return serialize(Out(False), "", reported, None, little, COMPRESSION_THRESHOLD)


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
