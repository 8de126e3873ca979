"""What a dynamic output exports, and under which version: --version-script,
--dynamic-list, --export-dynamic-symbol."""
from ldpy.diag import LinkError
from ldpy.symbols import DEFINED, COMMON


def apply_export_lists(ctx):
    """--dynamic-list and --export-dynamic-symbol(-list): in an executable the named
    symbols are exported; in a shared object only they stay interposable."""
    cfg = ctx.config
    if not (cfg.export_dynamic_symbols or cfg.dynamic_lists or cfg.export_dynamic_symbol_lists
            or cfg.dynamic_list_data):
        return
    patterns = list(cfg.export_dynamic_symbols)
    from ldpy import version_script
    for path in cfg.dynamic_lists + cfg.export_dynamic_symbol_lists:
        from ldpy.outfile import read_text_file
        text = read_text_file(path, "dynamic list").decode("utf-8", "replace")
        if "{" not in text:
            text = "{" + text + "};"
        vs = version_script.VersionScript().parse(text, path)
        for node in vs.nodes:
            patterns += [p for p, _, _ in node.globals]
    if not patterns and not cfg.dynamic_list_data:
        return
    import fnmatch
    import re
    rx = re.compile("|".join(fnmatch.translate(p) for p in patterns)) if patterns else None
    listed = set()
    for s in ctx.symtab.symbols:
        if s.kind in (DEFINED, COMMON) and (rx is not None and rx.match(s.name.decode("utf-8", "replace"))
                                            or (cfg.dynamic_list_data and s.type == 1)):
            s.export = True
            listed.add(s.gid)
    if cfg.shared and cfg.dynamic_lists:
        ctx.dynamic_list = listed          # everything else binds inside the object


def apply_version_script(ctx):
    cfg = ctx.config
    if not cfg.version_scripts:
        return
    from ldpy import version_script
    from ldpy.elf.format import STV_HIDDEN
    vs = version_script.load(cfg.version_scripts)
    ctx.version_nodes = vs.nodes
    if cfg.shared:
        # like GNU ld, each version is also an absolute symbol of that name
        from ldpy.elf.format import STT_OBJECT
        for node in vs.nodes:
            if node.name:
                vsym = ctx.symtab.define_synthetic(node.name.encode(), None, only_if_referenced=False)
                if vsym is not None:
                    vsym.absolute, vsym.type, vsym.def_version = True, STT_OBJECT, node.name
    defined = [s for s in ctx.symtab.symbols if s.kind in (DEFINED, COMMON) and b"@" not in s.name]
    hits = vs.assign([s.name for s in defined])
    for s in defined:
        hit = hits[s.name]
        if hit is None:
            continue
        node, local = hit
        if local:
            s.visibility = STV_HIDDEN          # not exported, bound inside the object
        elif node.name is not None and s.def_version is None:
            s.def_version = node.name
    if not cfg.undefined_version:
        have = {s.name.decode("utf-8", "replace") for s in defined}
        for node in vs.nodes:
            for pat, lang, quoted in node.globals:
                if lang == "C" and not any(c in pat for c in "*?[") and pat not in have:
                    raise LinkError(f"version script assignment of '{node.name or 'anonymous'}' to "
                                    f"symbol '{pat}' failed: symbol not defined")
