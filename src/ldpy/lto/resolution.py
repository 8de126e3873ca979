"""The LDPR_* resolution of every symbol of every claimed file, as GNU ld 2.40
computes them (ld/plugin.c get_symbols) from the link's symbol table once all
symbols are read:

* a reference (or common) of an IR file: LDPR_UNDEF when nothing defines the
  symbol, RESOLVED_DYN (a shared library), RESOLVED_IR (another IR file),
  RESOLVED_EXEC (a regular object, --defsym, the linker); a common of this file
  that prevails counts as this file's definition;
* a definition of an IR file: PREVAILING_DEF_IRONLY when this very definition
  won, PREEMPTED_IR / PREEMPTED_REG when another IR file's / a regular one did;
* a prevailing definition becomes PREVAILING_DEF when a regular object, the
  command line (-u, -e, --defsym), a script or --wrap (__real_SYM, __wrap_SYM)
  refers to it, and PREVAILING_DEF_IRONLY_EXP (PREVAILING_DEF for get_symbols
  v1) when the output can export it: -shared, --export-dynamic, a shared
  library that references or defines it, --dynamic-list and
  --export-dynamic-symbol; a version script's local: pattern, or hidden or
  internal visibility, keeps it IR-only."""
import os
import sys

import numpy as np

from ldpy.elf.format import SHN_UNDEF, SHX_COMMON, STV_DEFAULT, STV_PROTECTED
from ldpy.symbols import UNDEF, DEFINED, COMMON, SHARED, merge_visibility
from ldpy.lto.plugin import LDPK_UNDEF, LDPK_WEAKUNDEF, LDPK_COMMON

(LDPR_UNKNOWN, LDPR_UNDEF, LDPR_PREVAILING_DEF, LDPR_PREVAILING_DEF_IRONLY, LDPR_PREEMPTED_REG,
 LDPR_PREEMPTED_IR, LDPR_RESOLVED_IR, LDPR_RESOLVED_EXEC, LDPR_RESOLVED_DYN,
 LDPR_PREVAILING_DEF_IRONLY_EXP) = range(10)

NAMES = ["UNKNOWN", "UNDEF", "PREVAILING_DEF", "PREVAILING_DEF_IRONLY", "PREEMPTED_REG",
         "PREEMPTED_IR", "RESOLVED_IR", "RESOLVED_EXEC", "RESOLVED_DYN", "PREVAILING_DEF_IRONLY_EXP"]


def for_version(res, version):
    """get_symbols v1 knows no PREVAILING_DEF_IRONLY_EXP: such symbols are PREVAILING_DEF."""
    if version >= 2:
        return res
    return np.where(res == LDPR_PREVAILING_DEF_IRONLY_EXP, LDPR_PREVAILING_DEF, res)


def _non_ir_references(ctx):
    """By symbol id: referenced from outside the IR (regular objects' references
    and commons, discarded COMDAT copies, -u, -e, --defsym, scripts)."""
    syms = ctx.symtab.symbols
    ref = np.fromiter((s.referenced for s in syms), bool, len(syms))
    for f in ctx.files:
        gids = getattr(f, "global_ids", None)
        if gids is None or not len(gids):
            continue
        shndx = f.shndx[f.first_global:]
        sel = (shndx == SHN_UNDEF) | (shndx == SHX_COMMON)
        ref[gids[sel[:len(gids)]]] = True
    return ref


class _Exports:
    """Which names the output may export (is_visible_from_outside in ld/plugin.c)."""

    def __init__(self, ctx, names):
        cfg = ctx.config
        self.all = cfg.shared or cfg.export_dynamic or cfg.relocatable
        self.relocatable = cfg.relocatable
        self.local = set()
        if cfg.version_scripts and names:
            from ldpy import version_script
            vs = version_script.load(cfg.version_scripts)
            plain = [n for n in names if b"@" not in n]
            for n, hit in vs.assign(plain).items():
                if hit is not None and hit[1]:
                    self.local.add(n)
        self.listed = None
        self.data = cfg.dynamic_list_data
        patterns = list(cfg.export_dynamic_symbols)
        lists = list(cfg.dynamic_lists) + list(cfg.export_dynamic_symbol_lists)
        if lists:
            from ldpy import version_script
            from ldpy.diag import LinkError
            for path in lists:
                try:
                    text = open(path).read()
                except OSError as e:
                    raise LinkError(f"cannot open dynamic list {path}: {e.strerror}")
                if "{" not in text:
                    text = "{" + text + "};"
                for node in version_script.VersionScript().parse(text, path).nodes:
                    patterns += [p for p, _, _ in node.globals]
        if patterns:
            import fnmatch
            import re
            self.listed = re.compile("|".join(fnmatch.translate(p) for p in patterns))

    def visible(self, sym, vis, is_data):
        if self.relocatable:
            return True
        exported = self.all or sym.dyn_ref or sym.export or (self.data and is_data) or \
            (self.listed is not None and self.listed.match(sym.name.decode("utf-8", "replace")))
        if not exported or sym.name in self.local:
            return False
        return vis in (STV_DEFAULT, STV_PROTECTED)


def resolve_all(ctx, host):
    """Fill `resolutions` (int32 per IR symbol) of every claimed file."""
    syms = ctx.symtab.symbols
    non_ir = _non_ir_references(ctx)
    wrapped = ctx.symtab.wrapped
    prevailing = [syms[g].name for f in host.files for g in (f.gids.tolist() if f.gids is not None else ())
                  if syms[g].file is f]
    exports = _Exports(ctx, prevailing)
    ir_vis = host.ir_visibility
    for f in host.files:
        n = len(f.names)
        res = np.full(n, LDPR_UNKNOWN, np.int32)
        if f.gids is None:
            f.resolutions = res
            continue
        defs = f.syms["def"].tolist()
        types = f.syms["symbol_type"].tolist()
        for i, (gid, d) in enumerate(zip(f.gids.tolist(), defs)):
            s = syms[gid]
            k = s.kind
            mine = s.file is f and k in (DEFINED, COMMON)      # (ld.bfd: owner == abfd)
            if k == UNDEF:
                r = LDPR_UNDEF
            elif d in (LDPK_UNDEF, LDPK_WEAKUNDEF, LDPK_COMMON):
                if mine:
                    r = LDPR_PREVAILING_DEF_IRONLY
                elif k == SHARED:
                    r = LDPR_RESOLVED_DYN
                elif k in (DEFINED, COMMON) and getattr(s.file, "is_ir", False):
                    r = LDPR_RESOLVED_IR
                else:
                    r = LDPR_RESOLVED_EXEC
            elif mine:
                r = LDPR_PREVAILING_DEF_IRONLY
            elif k in (DEFINED, COMMON) and getattr(s.file, "is_ir", False):
                r = LDPR_PREEMPTED_IR
            else:
                r = LDPR_PREEMPTED_REG
            if r == LDPR_PREVAILING_DEF_IRONLY:
                name = s.name
                if non_ir[gid] or (wrapped and (name in wrapped or
                                                (name.startswith(b"__wrap_") and name[7:] in wrapped))):
                    r = LDPR_PREVAILING_DEF
                elif exports.visible(s, merge_visibility(s.visibility, ir_vis.get(gid, STV_DEFAULT)),
                                     types[i] == 2):
                    r = LDPR_PREVAILING_DEF_IRONLY_EXP
            res[i] = r
        f.resolutions = res
    if os.environ.get("LDPY_LTO_RESOLUTIONS"):
        _dump(host)


def _dump(host):
    """LDPY_LTO_RESOLUTIONS=1: every claimed file's symbols and resolutions on stderr."""
    for f in host.files:
        print(f"{f.name} {len(f.names)}", file=sys.stderr)
        for name, r in zip(f.names, f.resolutions.tolist()):
            print(f"  {NAMES[r]} {name.decode('utf-8', 'replace')}", file=sys.stderr)

