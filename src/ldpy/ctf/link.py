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
          little=True, model=fmt.CTF_MODEL_LP64, origin=""):
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
    """Final links: replace the .ctf output section's contents."""
    secs = input_ctf_sections(ctx.files)
    if not secs:
        return
    out = secs[0].output
    if out is None:
        return                                    # discarded by a script
    cfg = ctx.config
    reported, ext = [], None
    dyn = getattr(ctx, "dynsyms", None)
    if dyn is not None:
        from ldpy.symbols import SHARED, UNDEF
        reported = [("", -1)]
        for s in dyn.symbols[1:]:
            defined = not (s.kind in (SHARED, UNDEF) and not s.copy)
            typ = s.type if defined and s.type in (STT_OBJECT, STT_FUNC) else -1
            reported.append((s.dyn_name.decode("utf-8", "surrogateescape"), typ))
        ext = {k.decode("utf-8", "surrogateescape"): v for k, v in dyn.dynstr.offsets.items() if k}
    data = build(ctx, secs, reported, ext)
    replace_contents(out, secs, data)


def link_ctf_relocatable(ctx):
    """-r: the merged dictionary or archive, with name-indexed symbol tables,
    replaces the first input .ctf (which keeps its place in the file order)."""
    import numpy as np
    secs = input_ctf_sections(ctx.files)
    if not secs or secs[0].output is None:
        return
    data = build(ctx, secs, None, None)
    first = secs[0]
    out = first.output
    drop = {id(s) for s in secs[1:]}
    out.chunks = [c for c in out.chunks if id(c) not in drop]
    for s in secs[1:]:
        s.output = None
    if data is None:
        out.chunks.remove(first)
        first.output = None
        return
    first.data = np.frombuffer(data, np.uint8)
    first.size = len(data)


def build(ctx, secs, reported, ext):
    cfg = ctx.config
    dicts = read_inputs(secs)
    try:
        return merge(dicts, share_duplicated=cfg.ctf_share_types == "share-duplicated",
                     variables=cfg.ctf_variables, reported=reported, ext=ext,
                     little=getattr(ctx.target, "little", True))
    except fmt.BadCTF as e:
        diag.warn(f"CTF linking failed; output will have no CTF section: {e}")
        return None


def replace_contents(out, secs, data):
    """The output section holds DATA instead of the concatenated inputs."""
    import numpy as np
    from ldpy.synthetic import Synthetic
    from ldpy.elf.format import SHT_PROGBITS
    ids = {id(s) for s in secs}
    out.chunks = [c for c in out.chunks if id(c) not in ids]
    for s in secs:
        s.output = None
    if data is None:
        return
    syn = Synthetic(".ctf", SHT_PROGBITS, 0, 1)
    syn.data = np.frombuffer(data, np.uint8)
    syn.size = len(data)
    out.add(syn)
