"""What a dynamic output exports, and under which version: --version-script,
--dynamic-list, --export-dynamic-symbol."""
from ldpy.diag import LinkError, diag
from ldpy.symbols import DEFINED, COMMON


def apply_export_lists(ctx):
    """--dynamic-list and --export-dynamic-symbol(-list): in an executable the named
    symbols are exported; in a shared object only they stay interposable."""
    cfg = ctx.config
    if not (cfg.export_dynamic_symbols or cfg.dynamic_lists or cfg.export_dynamic_symbol_lists
            or cfg.dynamic_list_data):
        return
    from ldpy import version_script
    # one anonymous node of global patterns: the lists (extern "C++" blocks matched
    # against demangled names) and --export-dynamic-symbol globs
    vs = version_script.load_dynamic_list(cfg.dynamic_lists + cfg.export_dynamic_symbol_lists)
    if cfg.export_dynamic_symbols:
        node = version_script.VersionNode(None, 1)
        node.globals = [(p, version_script.C, False) for p in cfg.export_dynamic_symbols]
        vs.nodes.append(node)
    listed = set()
    defined = [s for s in ctx.symtab.symbols if s.kind in (DEFINED, COMMON)]
    hits = vs.assign([s.name for s in defined]) if vs.nodes else {}
    for s in defined:
        if hits.get(s.name) is not None or (cfg.dynamic_list_data and s.type == 1):
            s.export = True
            listed.add(s.gid)
    if cfg.shared and cfg.dynamic_lists:
        ctx.dynamic_list = listed          # everything else binds inside the object


def _force_local(s):
    """A version script's local: the symbol binds inside the output and is LOCAL in
    .symtab with the visibility it had (bfd's forced_local)."""
    from ldpy.elf.format import STV_HIDDEN
    if s.forced_local is None:
        s.forced_local = s.visibility
    s.visibility = STV_HIDDEN


def linker_symbol_local(ctx, s):
    """Whether the version script makes a linker- or script-defined symbol (defined
    after the script was applied: __bss_start, _end, ...) local, as it does in GNU ld."""
    vs = ctx.version_script
    if vs is None or b"@" in s.name or s.def_version is not None:
        return False                       # (a version's own symbol stays)
    hit = vs.assign([s.name])[s.name]
    if hit is None or not hit[1]:
        return False
    _force_local(s)
    return True


def _check_symver_nodes(ctx, nodes):
    """A shared object defines the versions its version script names: a .symver
    version outside them is GNU ld's error (an executable makes the version)."""
    known = {n.name for n in nodes if n.name}
    for s in ctx.symtab.symbols:
        if s.kind in (DEFINED, COMMON) and s.def_version and s.def_version not in known and \
                (s.symver_default or b"@" in s.name):
            shown = s.name if b"@" in s.name else s.name + b"@@" + s.def_version.encode()
            raise LinkError(f"{ctx.config.output}: version node not found for symbol "
                            f"{shown.decode('utf-8', 'replace')}")


def apply_version_script(ctx):
    _apply_version_script(ctx)
    if ctx.config.default_symver and ctx.config.shared:
        _apply_default_symver(ctx)


def _apply_default_symver(ctx):
    """--default-symver: exported symbols without a version get one named after the
    soname (or the output's file name), like a version script node of that name;
    the version is also an absolute symbol, as GNU ld makes it."""
    import os
    from ldpy.elf.format import STT_OBJECT, STV_DEFAULT, STV_PROTECTED
    cfg = ctx.config
    name = cfg.soname or os.path.basename(cfg.output)
    for s in ctx.symtab.symbols:
        if s.kind in (DEFINED, COMMON) and not s.combined and s.def_version is None and \
                b"@" not in s.name and s.visibility in (STV_DEFAULT, STV_PROTECTED):
            s.def_version = name
    vsym = ctx.symtab.define_synthetic(name.encode(), None, only_if_referenced=False, over_shared=True)
    if vsym is not None:
        vsym.absolute, vsym.type, vsym.def_version = True, STT_OBJECT, name


def _apply_version_script(ctx):
    cfg = ctx.config
    # --version-script files, then the VERSION commands of scripts (GNU ld reads both
    # into one list of nodes, the options first: they are parsed before the inputs)
    in_scripts = ctx.script.versions if ctx.script is not None else []
    vs = None
    if cfg.version_scripts or in_scripts:   # (the reader is imported only when needed)
        from ldpy import version_script
        vs = version_script.load(cfg.version_scripts)
        for text, path in in_scripts:
            vs.parse(text, path)
    where = cfg.version_scripts[0] if cfg.version_scripts else in_scripts[0][1] if in_scripts else ""
    if cfg.shared:
        _check_symver_nodes(ctx, vs.nodes if vs is not None else [])
    if vs is None:
        return
    ctx.version_nodes = vs.nodes
    ctx.version_script = vs
    if cfg.shared:
        # like GNU ld, each version is also an absolute symbol of that name
        from ldpy.elf.format import STT_OBJECT
        for node in vs.nodes:
            if node.name:
                vsym = ctx.symtab.define_synthetic(node.name.encode(), None, only_if_referenced=False,
                                                   over_shared=True)
                if vsym is not None:
                    vsym.absolute, vsym.type, vsym.def_version = True, STT_OBJECT, node.name
                else:
                    other = ctx.symtab.get(node.name.encode())
                    if other is not None and other.kind in (DEFINED, COMMON):
                        # (the version's absolute symbol clashes with it, as in GNU ld)
                        diag.error(f"{where}: version '{node.name}' is also a symbol: "
                                   f"multiple definition of '{node.name}'; first defined in {other.where()}")
    syms = [s for s in ctx.symtab.symbols if s.kind in (DEFINED, COMMON) and not s.combined]
    # a symbol .symver gave a version keeps it: the version named in the source wins
    # over the script's patterns, `local: *` included, as in gold, lld and mold
    # (ld.bfd 2.40 looks the name up in that version's node and can make it local;
    # then `foo@VER1` cannot be linked against at all); foo@ (the base version) too
    defined = [s for s in syms if s.def_version is None and b"@" not in s.name]
    hits = vs.assign([s.name for s in defined])
    for s in defined:
        hit = hits[s.name]
        if hit is None:
            continue
        node, local = hit
        if local:
            _force_local(s)                    # not exported, bound inside the object
        elif node.name is not None and s.def_version is None:
            s.def_version = node.name
    if not cfg.undefined_version:
        have = {s.name.decode("utf-8", "replace") for s in defined}
        for node in vs.nodes:
            for pat, lang, quoted in node.globals:
                if lang == "C" and not any(c in pat for c in "*?[") and pat not in have:
                    raise LinkError(f"version script assignment of '{node.name or 'anonymous'}' to "
                                    f"symbol '{pat}' failed: symbol not defined")
