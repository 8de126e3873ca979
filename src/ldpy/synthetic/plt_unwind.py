"""Unwind information for the PLT: the `.eh_frame` records GNU ld writes for the code
it makes itself (--ld-generated-unwind-info, its default), so that a profiler or a
debugger stopped in a PLT entry can walk the stack.

The target gives a CIE and, per PLT section, the call frame program of its FDE
(`Target.plt_unwind`); this module makes one `.eh_frame` chunk of them, placed
where ld.bfd's linker-created .eh_frame lands: after the first input object's own
.eh_frame (BFD attaches it to that object), or before all of them when the target
says so (`Target.PLT_UNWIND_FIRST`).  Each FDE's pc_begin is PC-relative sdata4,
as the CIE's augmentation "zR" with 0x1b says; the chunk's bytes are made at write
time, when the addresses are known."""
import numpy as np

from ldpy.synthetic import Synthetic

FDE_HEAD = 13           # after the length word: CIE pointer, pc_begin, pc_range, augmentation length


def fde_length(program):
    """The FDE's length field for a call frame program: padded with DW_CFA_nop so
    that the record (length word included) is a multiple of 4 bytes.  (A target
    whose ld.bfd template has more padding gives the DW_CFA_nops in the program.)"""
    body = FDE_HEAD + len(program)
    return body + (-body % 4)


class PltUnwind(Synthetic):
    """The CIE and the FDEs of the linker's PLT sections, in one .eh_frame chunk."""

    def __init__(self, cie, entries, little):
        super().__init__(".eh_frame", align=4)
        self.cie, self.entries, self.order = cie, entries, "little" if little else "big"
        self.size = len(cie) + sum(4 + fde_length(p) for _, p in entries)
        self.data = np.zeros(0, np.uint8)      # (not None: the writer asks bytes() for it)

    def bytes(self):
        out = bytearray(self.cie)
        word = lambda v: (v & 0xffffffff).to_bytes(4, self.order)
        for chunk, program in self.entries:
            at = len(out)
            length = fde_length(program)
            out += word(length) + word(at + 4)                 # (CIE pointer: back to offset 0)
            out += word(chunk.addr - (self.addr + at + 8)) + word(chunk.size)
            out += b"\0" + program                             # (no augmentation data)
            out += b"\0" * (at + 4 + length - len(out))        # DW_CFA_nop
        return np.frombuffer(bytes(out), np.uint8)


def add_plt_unwind(ctx):
    """The PLT's unwind records, when the target has them for this link, the output has
    an .eh_frame and --no-ld-generated-unwind-info is not given."""
    if not ctx.config.ld_generated_unwind_info:
        return
    eh = ctx.outputs.by_name.get(".eh_frame")
    if eh is None or not eh.chunks:
        return
    got = ctx.target.plt_unwind(ctx)
    if not got:
        return
    cie, entries = got
    entries = [(c, p) for c, p in entries if c is not None and c.size and c.output is not None]
    if not entries:
        return
    from ldpy.synthetic import insert_after
    chunk = PltUnwind(cie, entries, ctx.target.LITTLE)
    first = ctx.files[0] if ctx.files else None
    mine = [c for c in eh.chunks if c.is_input and c.file is first]
    if mine and not ctx.target.PLT_UNWIND_FIRST:
        insert_after(mine[-1], chunk)
    else:
        insert_after(eh.chunks[0], chunk, before=True)
    if ctx.eh_frame_hdr is not None:
        ctx.eh_frame_hdr.set_count(ctx.eh_frame_hdr.fde_count + len(entries))
