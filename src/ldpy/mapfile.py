"""-Map FILE and -M: GNU ld's link map: why each archive member was loaded,
what was discarded, and every output section with its input sections, their
addresses and sizes, and the symbols they define."""
import sys

from ldpy.diag import LinkError
from ldpy.symbols import DEFINED, COMMON, SYNTHETIC


def _h(v, width=16):
    return f"0x{v:0{width}x}"


def _section_line(name, addr, size, owner):
    """ NAME ADDRESS SIZE FILE, a name of 14 characters or more on a line of its own."""
    if len(name) < 14:
        return f" {name:14} {_h(addr)} {size:#10x} {owner}"
    return f" {name}\n{'':15} {_h(addr)} {size:#10x} {owner}"


def cref_lines(ctx):
    """--cref: each global symbol, the file that defines it, then those that use it."""
    refs = {}
    for f in ctx.files:
        for name, shndx in zip(f.global_names, f.shndx[f.first_global:].tolist()):
            refs.setdefault(name, []).append((shndx == 0, f.name))
    lines = ["Cross Reference Table", "", f"{'Symbol':50}File"]
    for name in sorted(refs):
        sym = ctx.symtab.get(name)
        if sym is None:
            continue
        entries = refs[name]
        defining = [n for undef, n in entries if not undef]
        using = [n for undef, n in entries if undef]
        if sym.file is not None and sym.file.name not in defining and sym.kind != 0:
            defining.insert(0, sym.file.name)
        files = defining[:1] + [n for n in defining[1:] + using]
        display = name.decode("utf-8", "replace")
        for i, fn in enumerate(files):
            lines.append(f"{display if i == 0 else '':50}{fn}" if len(display) < 50 or i else f"{display}\n{'':50}{fn}")
    return lines + [""]


def write_cref(ctx):
    """--cref without -Map: the table goes to standard output."""
    if not ctx.config.map_file:
        sys.stdout.write("\n".join(cref_lines(ctx)) + "\n")


def write_map(ctx):
    lines = []
    if ctx.member_reasons:
        lines += ["Archive member included to satisfy reference by file (symbol)", ""]
        for member, by, sym in ctx.member_reasons:
            lines.append(member)
            lines.append(f"{'':30}{by} ({sym.decode('utf-8', 'replace')})")
        lines.append("")
    if ctx.as_needed_reasons:
        lines += ["As-needed library included to satisfy reference by file (symbol)", ""]
        for lib, by, sym in ctx.as_needed_reasons:
            lines.append(f"{lib:29} {by} ({sym})" if len(lib) < 30 else f"{lib}\n{'':30}{by} ({sym})")
        lines.append("")
    commons = [s for s in ctx.symtab.symbols if s.kind == COMMON]
    if commons:
        lines += ["Allocating common symbols", "Common symbol       size              file", ""]
        for s in commons:
            size = f"{s.size:#x}"
            name = s.display if len(s.display) < 19 else s.display + "\n" + " " * 20   # long: own line
            lines.append(f"{name:20}{size:18}{s.file.name}")
        lines.append("")
    discarded = [(f, sec) for f in ctx.files for sec in f.sections
                 if sec is not None and sec.file is f and not sec.live]
    if discarded and ctx.config.print_map_discarded:
        lines += ["Discarded input sections", ""]
        for f, sec in discarded:
            lines.append(_section_line(sec.name, 0, sec.size, f.name))
        lines.append("")
    lines += ["Linker script and memory map", ""]
    lines += [f"LOAD {p}" for p in ctx.loaded_paths]
    if ctx.loaded_paths:
        lines.append("")
    # global definitions per input section, in address order
    by_section = {}
    for s in ctx.symtab.symbols:
        if s.kind == DEFINED and s.section is not None:
            by_section.setdefault(id(s.section), []).append(s)

    def chunk_lines(o, c):
        lines = []
        addr = o.addr + c.out_offset
        inputs = getattr(c, "inputs", None)
        if inputs is None:
            owner = c.file
            lines.append(_section_line(c.name, addr, c.size, owner.name if owner is not None
                                       else f"<plugin {c.plugin}>" if getattr(c, "plugin", None)
                                       else "<linker>"))
        else:
            # SHF_MERGE inputs share one deduplicated chunk: each is listed with
            # the address of its first piece and its size before merging
            for sec in inputs:
                first = addr + int(sec.merge[1][0]) if len(sec.merge[1]) else addr
                lines.append(_section_line(sec.name, first, sec.size, sec.file.name))
        for sec in ([c] if inputs is None else inputs):
            for s in sorted(by_section.get(id(sec), []), key=lambda s: ctx.gaddr[s.gid]):
                lines.append(f"{'':16}{_h(int(ctx.gaddr[s.gid]))}{'':16}{s.display}")
        return lines

    if not ctx.config.relocatable:
        # the map follows the script's statements (ours or the user's), assignments in place
        from ldpy.script.mapinfo import script_map_lines
        lines += script_map_lines(ctx, chunk_lines)
        lines.append("")
    for o in ctx.sections_out if ctx.config.relocatable else ():     # (-r: relocatable.py's sections)
        lines.append(f"{o.name:15} {_h(o.addr)} {o.size:#10x}" if len(o.name) < 15 else
                     f"{o.name}\n{'':15} {_h(o.addr)} {o.size:#10x}")
        for c in o.chunks:
            lines.extend(chunk_lines(o, c))
        for s in ctx.symtab.symbols:
            if s.kind == SYNTHETIC and s.output is o:
                lines.append(f"{'':16}{_h(s.value)}{'':16}{s.display}")
        lines.append("")
    if ctx.plugins is not None:
        lines += ctx.plugins.map_lines()      # ELD's "Linker Plugin Information"
    if ctx.config.cref:
        lines += cref_lines(ctx)
    text = "\n".join(lines) + "\n"
    if ctx.config.map_file == "-":
        sys.stdout.write(text)
        return
    try:
        with open(ctx.config.map_file, "w") as fh:
            fh.write(text)
    except OSError as e:
        raise LinkError(f"cannot open map file {ctx.config.map_file}: {e.strerror}")
