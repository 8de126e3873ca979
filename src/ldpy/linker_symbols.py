"""Symbols the linker defines itself (__start_X/__stop_X, _end, __ehdr_start,
_GLOBAL_OFFSET_TABLE_, ...) and the output sections they belong to."""
from ldpy.elf.format import SHF_ALLOC, SHF_WRITE, STV_HIDDEN
from ldpy.symbols import SYNTHETIC


def define_linker_symbols(ctx):
    st = ctx.symtab
    outs = ctx.outputs.by_name

    def out_start(name):
        return lambda: outs[name].addr if name in outs and outs[name].index else _fallback(ctx)

    def out_end(name):
        return lambda: (outs[name].addr + outs[name].size) if name in outs and outs[name].index \
            else _fallback(ctx)

    def define(name, fn, output=None, always=False, hidden=False):
        sym = st.define_synthetic(name.encode(), output, only_if_referenced=not always)
        if sym is not None:
            ctx.linker_syms[sym.name] = fn
            if hidden:                      # PROVIDE_HIDDEN in GNU ld's default script
                sym.visibility = STV_HIDDEN
                ctx.provide_hidden.add(sym.name)

    # (the script defines _end, __init_array_start, __executable_start, ...)
    define("__ehdr_start", lambda: _first_load(ctx), hidden=True)
    static_irel = lambda end: (lambda: (ctx.rela_plt.addr + (ctx.rela_plt.size if end else 0))
                               if ctx.rela_plt is not None and not ctx.is_dynamic
                               and ctx.rela_plt.output is not None and ctx.rela_plt.output.index else 0)
    if not ctx.is_dynamic:      # (GNU ld's PIE and shared scripts do not provide them)
        start, end = ctx.target.IPLT_SYMBOLS        # (__rela_iplt_*, __rel_iplt_* on REL targets)
        define(start.decode(), static_irel(False), hidden=True)
        define(end.decode(), static_irel(True), hidden=True)
    if ctx.is_dynamic:      # always there, and local, as GNU ld's ELF backend makes it
        define("_DYNAMIC", lambda: ctx.dynamic.addr, always=True, hidden=True)
    if st.get(b"_GLOBAL_OFFSET_TABLE_") is not None:
        ctx.need_got_base = True
    define("_GLOBAL_OFFSET_TABLE_", lambda: ctx.got_base_addr, hidden=True)
    # TLS descriptors relaxed to local-exec add DTPOFF values that are already TP-relative
    # in an executable: there the module base sits at the thread pointer
    define("_TLS_MODULE_BASE_", lambda: ctx.tls_start if ctx.config.shared else ctx.tls_end)
    ctx.target.define_symbols(ctx, define)         # (the target's own: PowerPC's _SDA_BASE_)
    from ldpy.sections import is_c_identifier
    for name, out in outs.items():
        if is_c_identifier(name):
            define(f"__start_{name}", out_start(name), out)
            define(f"__stop_{name}", out_end(name), out)


def _first_load(ctx):
    """__ehdr_start: the address of the segment that loads the
    ELF header (GNU ld leaves it undefined when none does)."""
    from ldpy.elf.format import PT_LOAD
    start = ctx.ehdr_start
    if start is not None:
        return start
    return next((p.vaddr for p in ctx.phdrs if p.type == PT_LOAD), 0)


def _fallback(ctx):
    rw = [o.addr for o in ctx.sections_out if o.flags & SHF_WRITE and o.flags & SHF_ALLOC]
    return min(rw) if rw else ctx.image_base


_END_NAMES = {b"_edata", b"edata", b"_etext", b"etext", b"__etext"}
# the image boundaries of GNU ld's default script: ordinary global symbols, which
# -E (and, when something references them, -shared) exports and a shared object
# reaches through its GOT like any default-visibility definition
BOUNDARY_NAMES = _END_NAMES | {b"_end", b"end", b"__bss_start", b"__executable_start"}
_IPLT_ENDS = {b"__rela_iplt_end", b"__rel_iplt_end"}


def place_synthetic_symbols(ctx, syms):
    """Linker-defined symbols such as _end or __bss_start belong to the output
    section that holds (or ends at) their address, as in GNU ld's symbol table."""
    alloc = [o for o in ctx.sections_out if o.flags & SHF_ALLOC and not o.flags & 0x400]
    for s in syms:
        if s.kind != SYNTHETIC or s.output is not None or s.absolute:
            continue
        v = s.value
        best = None
        # _edata: the section it ends, as in GNU ld; so too __rela_iplt_end, which the
        # default script sets inside .rela.plt (it matters when code follows at once: -N)
        ends = s.name in _END_NAMES or s.name in _IPLT_ENDS
        for o in alloc:
            if o.addr <= v <= o.addr + o.size:
                if ends and best is not None and best.addr + best.size == v:
                    continue
                best = o
        if best is None:            # before the first section (__ehdr_start): the next one
            best = min((o for o in alloc if o.addr >= v), key=lambda o: o.addr, default=None)
        s.output = best
