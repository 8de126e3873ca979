"""ldpy's default linker script: the layout of every link without SECTIONS,
written in the script language (`ldpy --verbose` prints it; `-T` of the
printed text links the same).  Like GNU ld's, it varies with the options:
PIE/shared start at 0, -z separate-code adds page breaks around code, -z now
puts .got.plt under RELRO, -N (--omagic) and -n (--nmagic) drop the page breaks
(one segment), -N the data segment's page step and RELRO too, as GNU ld's
scripts for -N and -n do."""

_TREES = {}             # a link server's: script text -> the tree, for its children


def default_script(ctx):
    """The parsed default script for this link's options (script/cache.py: parsed
    once per process for each option set that gives a different text, and kept on
    disk, so that a fresh process neither imports the parser nor parses: about 6
    ms); a link server's child, one link in a copy of the server's memory, takes
    the server's tree itself (_TREES: what it marks is its own; 0.5 ms of a served
    hello link)."""
    from ldpy.script.cache import parsed
    text = default_script_text(ctx)
    if _TREES:
        from ldpy.input import warm
        tree = _TREES.pop(text, None) if warm.reporting() else None
        if tree is not None:
            return tree

    def parse():
        from ldpy.script.parser import parse_script
        return parse_script(text, "<default script>")
    return parsed(text, "<default script>", parse, kind="default-script")


def warm_default_scripts():
    """Parse the default scripts of the usual links (executable, PIE, shared object;
    with and without -z now) into the cache, and their patterns compiled: the link
    server calls this before it forks a child per link, so the children start with
    them ready."""
    from ldpy.cli import parse_args
    from ldpy.script.place import warm_patterns
    for kind in ((), ("-pie",), ("-shared",)):
        for now in ((), ("-z", "now")):
            try:
                cfg = parse_args([*kind, *now, "-o", "a.out", "a.o"])
                tree = _TREES[default_script_text(cfg)] = default_script(cfg)
                warm_patterns(tree)
            except Exception:
                pass                    # (a link will parse it, and report any error)


def default_script_text(ctx_or_config):
    cfg = getattr(ctx_or_config, "config", ctx_or_config)
    t = getattr(ctx_or_config, "target", None)
    if t is None:
        from ldpy.arch.base import for_emulation
        t = for_emulation(getattr(cfg, "emulation", None) or "elf_x86_64") or for_emulation("elf_x86_64")
    r = ".rela" if t.RELA else ".rel"           # dynamic relocation sections' prefix
    formats = ", ".join(f'"{f}"' for f in t.OUTPUT_FORMATS)
    # x86-64's PLT variants and large-model sections
    plt_extra = "  .plt.got        : { *(.plt.got) }\n  .plt.sec        : { *(.plt.sec) }\n" \
        if t.PLT_GOT_ENTRIES else ""
    large = ("  .lbss           : { *(.dynlbss) *(.lbss .lbss.* .gnu.linkonce.lb.*) *(LARGE_COMMON) }\n"
             "  .lrodata        : { *(.lrodata .lrodata.* .gnu.linkonce.lr.*) }\n"
             "  .ldata          : { *(.ldata .ldata.* .gnu.linkonce.l.*) }\n") if t.LARGE_COMMON is not None else ""
    base = "0" if (cfg.pie or cfg.shared) else hex(t.EXEC_BASE)
    if getattr(cfg, "image_base", None) is not None:
        base = hex(cfg.image_base)
    sep = cfg.separate_code if "separate_code" in getattr(cfg, "given", ()) else t.SEPARATE_CODE
    omagic, nmagic = getattr(cfg, "omagic", False), getattr(cfg, "nmagic", False)
    if omagic or nmagic:
        sep = False                             # (GNU ld's -N and -n scripts: no separate code)
    page_break = "  . = ALIGN(CONSTANT (MAXPAGESIZE));\n" if sep else ""
    rodata_start = ('  . = SEGMENT_START("rodata-segment", ALIGN(CONSTANT (MAXPAGESIZE)) + '
                    '(. & (CONSTANT (MAXPAGESIZE) - 1)));\n') if sep else ""
    now = getattr(cfg, "now", False)
    relro_end = "  . = DATA_SEGMENT_RELRO_END (0, .);\n"
    data_align = "  . = DATA_SEGMENT_ALIGN (CONSTANT (MAXPAGESIZE), CONSTANT (COMMONPAGESIZE));\n"
    data_end = "  . = DATA_SEGMENT_END (.);\n"
    if omagic:
        # -N: the data follow the text at once, nothing under RELRO
        data_align, relro_end, data_end = "  . = .;\n", "", ""
    kind = "-N" if omagic else "-n" if nmagic else \
        ("-z separate-code" if sep else "-z noseparate-code") + (", -z now" if now else "")
    # static executables apply their IRELATIVE relocations between these (GNU ld's
    # PIE and shared-object scripts leave them out)
    static = not (cfg.pie or cfg.shared)
    # shared objects define _edata, __bss_start and _end only when used
    provide = (lambda n: f"PROVIDE ({n} = .);") if cfg.shared else (lambda n: f"{n} = .;")
    iplt_start = f"    PROVIDE_HIDDEN ({t.IPLT_SYMBOLS[0].decode()} = .);\n" if static else ""
    iplt_end = f"    PROVIDE_HIDDEN ({t.IPLT_SYMBOLS[1].decode()} = .);\n" if static else ""
    relr = "  .relr.dyn : { *(.relr.dyn) }\n" if getattr(cfg, "pack_relative_relocs", False) else ""
    # the PLT code in .text (its `.glink`) and the slots in .plt, where .got.plt
    # would be (PowerPC's secure PLT), or the PLT code after .init
    code_plt = "" if t.PLT_IN_TEXT else "  .plt            : { *(.plt) *(.iplt) }\n"
    glink = f"\n    *({t.PLT_SECTION})" if t.PLT_IN_TEXT else ""
    gotplt = "  .plt            : { *(.plt) *(.iplt) }\n" if t.PLT_IN_TEXT else \
        "  .got.plt        : { *(.got.plt) *(.igot.plt) }\n"
    if t.SMALL_DATA:
        # the GOT after the data, then the small data a global pointer reaches
        # (ld.bfd's RISC-V script: __global_pointer$ 0x800 into them; shared
        # objects have no global pointer)
        gp = lambda text: "" if cfg.shared else text
        got_and_data = f"""{relro_end}  .data           :
  {{
{gp("    __DATA_BEGIN__ = .;" + chr(10))}    *(.data .data.* .gnu.linkonce.d.*)
  }}
  .data1          : {{ *(.data1) }}
  .got            : {{ *(.got.plt) *(.igot.plt) *(.got) *(.igot) }}
  .sdata          :
  {{
{gp("    __SDATA_BEGIN__ = .;" + chr(10))}    *(.srodata.cst16) *(.srodata.cst8) *(.srodata.cst4) *(.srodata.cst2) *(.srodata .srodata.*)
    *(.sdata .sdata.* .gnu.linkonce.s.*)
  }}
  {provide('_edata')}
  PROVIDE (edata = .);
  . = .;
  {provide('__bss_start')}
  .sbss           : {{ *(.dynsbss) *(.sbss .sbss.* .gnu.linkonce.sb.*) *(.scommon) }}
  .bss            :
  {{
    *(.dynbss) *(.bss .bss.* .gnu.linkonce.b.*) *(COMMON)
    . = ALIGN(. != 0 ? {t.WORD} : 1);
  }}
  . = ALIGN({t.WORD});
{gp("  __BSS_END__ = .;" + chr(10) + "  __global_pointer$ = MIN(__SDATA_BEGIN__ + 0x800, "
    "MAX(__DATA_BEGIN__ + 0x800, __BSS_END__ - 0x800));" + chr(10))}"""
    else:
        got_and_data = f"""  .got            : {{ *(.got) *(.igot) }}
{'' if now else relro_end}{gotplt}{relro_end if now else ''}  .data           : {{ *(.data .data.* .gnu.linkonce.d.*) }}
  .data1          : {{ *(.data1) }}
{t.SCRIPT_SMALL_DATA}  {provide('_edata')}
  PROVIDE (edata = .);
  . = .;
  {provide('__bss_start')}
{t.SCRIPT_SMALL_BSS}  .bss            : {{ *(.dynbss) *(.bss .bss.* .gnu.linkonce.b.*) *(COMMON) }}
{large}"""
    return f"""/* ldpy default linker script: ELF {t.NAME}, {kind} */
OUTPUT_FORMAT({formats})
OUTPUT_ARCH({t.BFD_ARCH})
ENTRY(_start)
SECTIONS
{{
  PROVIDE (__executable_start = SEGMENT_START("text-segment", {base}));
  . = SEGMENT_START("text-segment", {base}) + SIZEOF_HEADERS;
  .interp         : {{ *(.interp) }}
  .note.gnu.property : {{ *(.note.gnu.property) }}
  .note.gnu.build-id : {{ *(.note.gnu.build-id) }}
  .note.ABI-tag   : {{ *(.note.ABI-tag) }}
  .hash           : {{ *(.hash) }}
  .gnu.hash       : {{ *(.gnu.hash) }}
  .dynsym         : {{ *(.dynsym) }}
  .dynstr         : {{ *(.dynstr) }}
  .gnu.version    : {{ *(.gnu.version) }}
  .gnu.version_d  : {{ *(.gnu.version_d) }}
  .gnu.version_r  : {{ *(.gnu.version_r) }}
  {(r + '.dyn').ljust(16)}: {{ *({r}.dyn) }}
  {(r + '.plt').ljust(16)}:
  {{
    *({r}.plt)
{iplt_start}    *({r}.iplt)
{iplt_end}  }}
{relr}{page_break}  .init           : {{ KEEP (*(SORT_NONE(.init))) }}
{code_plt}{plt_extra}  .text           :
  {{
    *(.text.unlikely .text.unlikely.*)
    *(.text.exit .text.exit.*)
    *(.text.startup .text.startup.*)
    *(.text.hot .text.hot.*)
    *(SORT(.text.sorted.*))
    *(.text .stub .text.* .gnu.linkonce.t.*){glink}
  }}
  .fini           : {{ KEEP (*(SORT_NONE(.fini))) }}
  PROVIDE (__etext = .);
  PROVIDE (_etext = .);
  PROVIDE (etext = .);
{page_break}{rodata_start}  .rodata         : {{ *(.rodata .rodata.* .gnu.linkonce.r.*) }}
  .rodata1        : {{ *(.rodata1) }}
{t.SCRIPT_RODATA_TAIL}  .eh_frame_hdr   : {{ *(.eh_frame_hdr) }}
  .eh_frame       : {{ KEEP (*(.eh_frame)) }}
  .gcc_except_table : {{ *(.gcc_except_table .gcc_except_table.*) }}
{data_align}  .tdata          : {{ *(.tdata .tdata.* .gnu.linkonce.td.*) }}
  .tbss           : {{ *(.tbss .tbss.* .gnu.linkonce.tb.*) *(.tcommon) }}
  .preinit_array  :
  {{
    PROVIDE_HIDDEN (__preinit_array_start = .);
    KEEP (*(.preinit_array))
    PROVIDE_HIDDEN (__preinit_array_end = .);
  }}
  .init_array     :
  {{
    PROVIDE_HIDDEN (__init_array_start = .);
    KEEP (*(SORT_BY_INIT_PRIORITY(.init_array.*) SORT_BY_INIT_PRIORITY(.ctors.*)))
    KEEP (*(.init_array EXCLUDE_FILE (*crtbegin.o *crtbegin?.o *crtend.o *crtend?.o ) .ctors))
    PROVIDE_HIDDEN (__init_array_end = .);
  }}
  .fini_array     :
  {{
    PROVIDE_HIDDEN (__fini_array_start = .);
    KEEP (*(SORT_BY_INIT_PRIORITY(.fini_array.*) SORT_BY_INIT_PRIORITY(.dtors.*)))
    KEEP (*(.fini_array EXCLUDE_FILE (*crtbegin.o *crtbegin?.o *crtend.o *crtend?.o ) .dtors))
    PROVIDE_HIDDEN (__fini_array_end = .);
  }}
  .ctors          : {{ KEEP (*(.ctors)) }}
  .dtors          : {{ KEEP (*(.dtors)) }}
  .data.rel.ro    : {{ *(.data.rel.ro .data.rel.ro.* .gnu.linkonce.d.rel.ro.*) }}
{t.SCRIPT_RELRO_TAIL}  .dynamic        : {{ *(.dynamic) }}
{got_and_data}  {provide('_end')}
  PROVIDE (end = .);
{data_end}  .comment      0 : {{ *(.comment) }}
}}
"""


# -- the script for -r -------------------------------------------------------------------
# One table gives both the text `ldpy --verbose -r` prints and the parsed tree a -r link
# uses (built directly: a -r link then needs neither the script parser nor a parse;
# tests/test_relocatable.py checks that parsing the text gives the same tree).

_DEBUG_R = (".debug", ".line", ".debug_srcinfo", ".debug_sfnames", ".debug_aranges", ".debug_pubnames",
            ".debug_info", ".debug_abbrev", ".debug_line", ".debug_frame", ".debug_str", ".debug_loc",
            ".debug_macinfo", ".debug_weaknames", ".debug_funcnames", ".debug_typenames",
            ".debug_varnames", ".debug_pubtypes", ".debug_ranges", ".debug_addr", ".debug_line_str",
            ".debug_loclists", ".debug_macro", ".debug_names", ".debug_rnglists", ".debug_str_offsets",
            ".debug_sup")


def _r_statements(t):
    """The -r script's output statements: (name, at 0?, constraint, ALIGN, descriptions),
    a description (KEEP?, [section pattern or (pattern, "none") for SORT_NONE])."""
    def plain(*names):
        return [(n, True, None, None, [(False, [n])]) for n in names]
    rows = plain(".interp", ".note.gnu.build-id", ".hash", ".gnu.hash", ".dynsym", ".dynstr",
                 ".gnu.version", ".gnu.version_d", ".gnu.version_r")
    rows.append((".init", True, None, None, [(True, [(".init", "none")])]))
    if t.PLT_GOT_ENTRIES:
        rows += plain(".plt", ".plt.got", ".plt.sec")
    else:
        rows.append((".plt", True, None, 16, [(False, [".plt"])]))
    rows.append((".text", True, None, None, [(False, [".text", ".stub"]), (False, [".gnu.warning"])]))
    rows.append((".fini", True, None, None, [(True, [(".fini", "none")])]))
    rows += plain(".rodata", ".rodata1", ".eh_frame_hdr")
    # the exception tables twice: ONLY_IF_RO, then ONLY_IF_RW (GNU ld's order of each)
    for c, names in (("ONLY_IF_RO", (".eh_frame", ".sframe", ".gcc_except_table", ".gnu_extab",
                                     ".exception_ranges")),
                     ("ONLY_IF_RW", (".eh_frame", ".sframe", ".gnu_extab", ".gcc_except_table",
                                     ".exception_ranges"))):
        for n in names:
            pat = ".gnu_extab*" if n == ".gnu_extab" and c == "ONLY_IF_RO" else n
            rows.append((n, True, c, None, [(n == ".eh_frame", [pat])]))
    rows += plain(".tdata", ".tbss")
    rows.append((".jcr", True, None, None, [(True, [".jcr"])]))
    rows += plain(".dynamic", ".got", ".got.plt", ".data", ".data1", ".bss")
    if t.LARGE_COMMON is not None:
        rows += plain(".lbss", ".lrodata", ".ldata")
    rows += plain(".stab", ".stabstr", ".stab.excl", ".stab.exclstr", ".stab.index", ".stab.indexstr",
                  ".comment")
    rows.append((".gnu.build.attributes", False, None, None, [(False, [".gnu.build.attributes"])]))
    rows += plain(*_DEBUG_R)
    rows.append((".gnu.attributes", True, None, None, [(True, [".gnu.attributes"])]))
    return rows


def _target_of(ctx_or_config):
    cfg = getattr(ctx_or_config, "config", ctx_or_config)
    t = getattr(ctx_or_config, "target", None)
    if t is None:
        from ldpy.arch.base import for_emulation
        t = for_emulation(getattr(cfg, "emulation", None) or "elf_x86_64") or for_emulation("elf_x86_64")
    return t


def relocatable_script(ctx):
    """The parsed default script of a -r link, built from the table."""
    from ldpy.script import ast
    where = "<default script>"
    statements = []
    for name, at0, constraint, align, descs in _r_statements(_target_of(ctx)):
        commands = [ast.InputSectionDesc("*", [ast.SectionPattern(p, ()) if isinstance(p, str) else
                                               ast.SectionPattern(p[0], (p[1],)) for p in pats],
                                         keep, where=where)
                    for keep, pats in descs]
        statements.append(ast.OutputSection(name, commands, address=("num", 0) if at0 else None,
                                            align=("num", align) if align else None,
                                            constraint=constraint, where=where))
    return ast.Script(where, [ast.Sections(statements, where=where)])


def relocatable_script_text(ctx_or_config):
    """ldpy's script for -r (`ldpy --verbose -r`), GNU ld's -r rules: every output
    section at address 0, input sections of the listed names only (no `.text.*`:
    function sections keep their names as orphans), the exception tables twice,
    ONLY_IF_RO then ONLY_IF_RW.  GNU ld's script also lists the `.rela.*` sections;
    ldpy leaves them out, since a -r link keeps each relocation section with the
    section it relocates (relocatable.py) rather than placing it."""
    t = _target_of(ctx_or_config)
    formats = ", ".join(f'"{f}"' for f in t.OUTPUT_FORMATS)
    lines = []
    for name, at0, constraint, align, descs in _r_statements(t):
        head = f"  {name.ljust(13)} {'0 ' if at0 else ''}:"
        if align:
            head += f" ALIGN({align})"
        if constraint:
            head += f" {constraint}"
        body = []
        for keep, pats in descs:
            text = "*(" + " ".join(p if isinstance(p, str) else f"SORT_NONE({p[0]})" for p in pats) + ")"
            body.append(f"KEEP ({text})" if keep else text)
        if len(body) == 1:
            lines.append(f"{head} {{ {body[0]} }}")
        else:
            lines.append(head + "\n  {\n" + "".join(f"    {b}\n" for b in body) + "  }")
    statements = "\n".join(lines)
    return f"""/* ldpy default linker script for -r: ELF {t.NAME} */
OUTPUT_FORMAT({formats})
OUTPUT_ARCH({t.BFD_ARCH})
SECTIONS
{{
{statements}
}}
"""
