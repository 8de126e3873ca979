"""link(config): the pass list.  Each line of link() is one pass; read it top
to bottom to find where any feature lives."""

from operator import attrgetter

import numpy as np

from ldpy.diag import LinkError, diag
from ldpy.elf.format import (SHT_PROGBITS, SHT_STRTAB, SHT_NOTE, SHF_ALLOC, SHF_WRITE, SHF_MERGE,
                             SHF_STRINGS, SHN_ABS, SHN_UNDEF, STT_SECTION, STV_HIDDEN)
from ldpy.symbols import SymbolTable, UNDEF, DEFINED, COMMON, SYNTHETIC, SHARED
from ldpy import relocs as R, util
from ldpy.outfile import release_input_pages


class Context:
    """Everything one link knows; passes read and fill it."""

    def set_target(self, target):
        """Link for `target` (arch/base.py): its image base unless --image-base."""
        self.target = target
        config = self.config
        # the target's defaults for what the command line left unsaid (ld.bfd's
        # aarch64linux: 64 KiB pages, no separate code segment)
        if "max_page_size" not in config.given:
            config.max_page_size = target.PAGE_SIZE
            if "common_page_size" not in config.given:
                config.common_page_size = min(config.common_page_size, target.PAGE_SIZE)
        if "separate_code" not in config.given:
            config.separate_code = target.SEPARATE_CODE
        self.image_base = config.image_base if config.image_base is not None else \
            (0 if config.pie or config.shared else target.EXEC_BASE)

    def __init__(self, config):
        from ldpy.arch.base import for_emulation, DEFAULT_EMULATION
        self.config = config
        # the target: -m's emulation, else the machine of the first input (see
        # Loader._adopt_target), x86-64 until an input says otherwise
        emul = getattr(config, "emulation", None)
        self.target_fixed = emul is not None and for_emulation(emul) is not None
        self.target = for_emulation(emul) if self.target_fixed else for_emulation(DEFAULT_EMULATION)
        self.symtab = SymbolTable()
        self.files = []
        self.archives = []
        self.comdat = {}
        self.outputs = None           # script.place.ScriptOutputMap: set by use_script_layout
        self.commons = None           # the COMMON chunk of .bss
        self.tcommons = None          # TLS commons: the .tcommon chunk of .tbss
        self.linker_syms = {}         # name -> function computing its value after layout
        self.provide_hidden = set()   # linker-defined names that are local in .symtab
        self.member_reasons = []      # (archive(member), referencing file, symbol) for -Map
        self.loaded_paths = []        # every input file opened, in order (-Map's LOAD lines)
        self.as_needed_reasons = []   # (soname, referencing file, symbol) for -Map
        self.defsyms = []             # (symbol, expression tree, option text)
        self.keep_empty = set()
        self.interp = None
        self.dynamic = None
        self.need_got_base = False
        self.uses_tls = False
        self.tls_start = self.tls_end = 0
        self.tls_align = 1
        self.got_base_addr = 0
        self.set_target(self.target)
        self.got = self.iplt = self.gotplt = self.rela_plt = self.plt = self.rela_dyn = None
        self.ibt_plt = False          # IBT-enabled PLT layout (.plt.sec)
        self.shared_files = []
        self.keys = None
        self.needed = []
        self.is_dynamic = False
        self.textrel = False
        self.hash_sec = self.gnu_hash_sec = self.dynsym_sec = self.dynbss = self.dynrelro = None
        self.copies = []
        self.script_entry = None
        self.got_gd = self.got_ld = None
        self.relr = None              # .relr.dyn (-z pack-relative-relocs)
        self.need_got_ld = False
        self.tlsdesc = self.tlsdesc_got = None
        self.static_tls = False
        self.version_nodes = []
        self.version_script = None    # the --version-script nodes (version_script.VersionScript)
        self.dynamic_list = None
        self.verdef_sec = None
        self.eh_frame_hdr = self.build_id = self.symtab_sec = self.gnu_property = None
        self.script = None            # script.linkscript.LinkScript of -T / implicit scripts
        self.script_symbols = {}      # name -> Symbol for what the scripts assign
        self.gc_removed = []          # --gc-sections: the input sections removed, in input order
        self.gc_unreferenced = set()  # symbol ids only removed sections referenced
        self.eh_frame_records = {}    # id(.eh_frame input) -> its records, once read
        self.lto = None               # lto.plugin.PluginHost with -plugin
        self.icf_fold = None          # --icf: (folded section ids, kept section ids)
        self.icf_gfolded = None       # --icf: by symbol id, defined in a folded section
        self.plugins = None           # plugin.manager.PluginManager when the link names plugins
        self.passes = Passes(False)   # the pass timer (--stats, --time-trace): link() sets it
        self.ctf_beside = None        # ctf.link start_early/start_beside: (.ctf keys, parallel.Beside, label)
        # filled by later passes (declared here so that no pass adds fields of its own)
        self.user_sections = False    # a user script's SECTIONS decides the layout
        self.gdead = None             # by symbol id: defined in a removed section (COMDAT loser, gc, icf)
        self.icf_saved = 0            # --icf: bytes folded away
        self.gdb_index = None         # --gdb-index: gdb_index state between sizing and writing
        self.relocs = None            # relocs.RelocTable: every relocation of the live sections
        self.section_ids = None       # relocs.SectionIds: input sections' addresses and outputs
        self.merge_map = None         # relocs.MergeMap: SHF_MERGE input offsets -> output
        self.gaddr = None             # by symbol id: final address (assign_symbol_values)
        self.dynsyms = None           # synthetic.dynamic: the .dynsym table being built
        self.dynsym_by_gid = None     #   symbol id -> .dynsym index
        self.dynstr_sec = self.versym_sec = self.verneed_sec = None
        self.dynamic_entries_plt = None   # .dynamic entries that depend on the PLT
        self.got_dyn = None           # GOT slots' dynamic relocations (symbolic, relative, irelative, TLS)
        self.n_relative = 0           # RELATIVE relocations (DT_RELACOUNT)
        self.weak_imports = None      # undefined weak symbols that may bind to a library
        self.emit_rela = []           # --emit-relocs: the .rela.X output sections
        self.sections_out = []        # output sections in file order (layout)
        self.phdrs = None             # program headers (layout)
        self.phoff = None             # program header offset when PHDRS puts them elsewhere
        self.shoff = 0                # section header table offset
        self.file_size = 0
        self.shstrtab_offsets = {}    # output section name -> its .shstrtab offset
        self.ehdr_start = None        # __ehdr_start's address under a script
        self.script_walk = None       # script.layout's walk (map file: assignments in order)
        self.relro_fixed_sections = None  # sections a script pinned inside RELRO
        self.layout_warnings = set()      # what layout warned about (it runs again for stubs, .relr.dyn)
        self.write_workers = []       # parallel.Beside workers of write.py (killed if the link fails)
        self.symtab_beside = False    # a write worker fills .symtab
        self.stub_sections = []       # AArch64: stub (veneer) sections; PowerPC: long-branch trampolines
        self.stub_groups = None       # AArch64: branch groups the stubs serve
        self.erratum_adr_sites = None # AArch64: erratum 843419 sites rewritten to ADR
        self.aarch64_plt = (False, False)  # AArch64: (BTI, PAC) PLT entries
        self.shrink = None            # shrink.Shrink: bytes a target's relaxation deleted (RISC-V)
        self.riscv_relax = None       # RISC-V: arch.riscv64.RelaxState, what relaxation made of each row

    def common_chunk(self, s):
        """The chunk a common symbol was allocated in (COMMON, or .tcommon for TLS)."""
        return self.tcommons if self.tcommons is not None and s.type == 6 else self.commons

    def sym_display(self, f, idx):
        if idx >= f.first_global:
            return f.global_names[idx - f.first_global].decode("utf-8", "replace")
        if int(f.symbols["st_info"][idx]) & 0xf == STT_SECTION:
            return f.section_names[int(f.shndx[idx])]
        return f.symbol_name(idx).decode("utf-8", "replace")

    # -- decisions the relocation scan asks for --------------------------------
    def request_copies(self, rt, refs):
        """Imported data that relocations `refs` (a mask over rt) reach directly is
        copied into the executable; a library's protected symbol cannot be (its own
        references would not follow the copy): ld.bfd's error."""
        from ldpy.util import unique
        from ldpy.elf.format import STV_PROTECTED
        keys = unique(rt.key[refs])
        syms = self.symtab.symbols
        for k in keys.tolist():
            s = syms[k]
            if int(s.file.symbols["st_other"][s.index]) & 3 == STV_PROTECTED:
                first = int(np.flatnonzero(refs & (rt.key == k))[0])
                raise LinkError(f"{rt.file_of(first).name}: copy relocation against non-copyable "
                                f"protected symbol `{s.display}' in {s.file.name}")
            s.copy = True
        self.keys.imported[keys] = False

    def refuse_copies(self, rt, refs, type_name):
        """-z nocopyreloc: references `refs` (a mask over rt) would need a copy
        relocation; ld.bfd's error for the first."""
        if not refs.any():
            return
        k = int(np.argmax(refs))
        pie = self.config.pie
        raise LinkError(f"{rt.file_of(k).name}: relocation {type_name(rt.type[k])} against symbol "
                        f"`{self.reloc_sym_display(rt, k)}' can not be used when making a "
                        f"{'PIE' if pie else 'PDE'} object; recompile with {'-fPIC' if pie else '-fPIE'}")

    def request_canonical_plt(self, keys):
        for k in keys.tolist():
            self.symtab.symbols[k].canonical_plt = True
        self.keys.canonical[keys] = True
        self.plt.add(keys)

    def textrel_at(self, rt, k):
        if not self.textrel:
            msg = (f"{rt.where(k)}: relocation against '{self.reloc_sym_display(rt, k)}' in a "
                   f"read-only section makes the output need text relocations")
            check = self.config.textrel_check
            if check == "error":
                raise LinkError(msg + " (-z text); recompile with -fPIC")
            if check == "warning":
                diag.warn(msg + "; creating DT_TEXTREL")
        self.textrel = True

    def dynsym_index(self, keys):
        return self.dynsym_by_gid[np.asarray(keys, np.int64)]

    def reloc_sym_display(self, rt, k):
        return self.sym_display(rt.file_of(k), int(rt.sym[k]))

    def symbol_shndx(self, s):
        if s.kind == DEFINED:
            if s.absolute:
                return SHN_ABS
            sec = s.section
            out = sec.output.output if sec.merge is not None else sec.output
            return out.index if out is not None else SHN_ABS
        if s.kind == COMMON:
            return self.common_chunk(s).output.index
        if s.kind == SYNTHETIC:
            return s.output.index if s.output is not None and s.output.index else SHN_ABS
        if s.kind == SHARED and s.copy:
            return self.copy_chunk(s).output.index
        return SHN_UNDEF

    def copy_chunk(self, s):
        """Where the copy of imported object s lives: .data.rel.ro (RELRO) for a
        copy of read-only data, as ld.bfd's .dynrelro, else .bss."""
        return self.dynrelro if s.copy_ro else self.dynbss


def link(config, ctf_beside=None):
    """ctf_beside: the CTF worker main.py may have started (ctf.link.start_early)."""
    if config.plugins:                      # -plugin (LTO): the cleanup hooks run however the link ends
        from ldpy.lto import start
        host = start(config)
        try:
            return _link(config, host, ctf_beside)
        finally:
            host.cleanup()
    return _link(config, None, ctf_beside)


def _link(config, lto=None, ctf_beside=None):
    from ldpy.input.load import Loader
    from ldpy.assign import assign_sections
    from ldpy.script.layout import layout_scripted
    from ldpy.write import write_output
    from ldpy.linker_symbols import define_linker_symbols
    from ldpy.checks import report_undefined, report_warning_symbols
    from ldpy.exports import apply_version_script, apply_export_lists
    diag.fatal_warnings = config.fatal_warnings
    diag.no_warnings = config.no_warnings
    diag.error_limit = max(config.error_limit or 0, 0)
    ctx = Context(config)
    ctx.lto = lto
    ctx.ctf_beside = ctf_beside
    if lto is not None:
        lto.ctx = ctx
    passes = ctx.passes = Passes(config.stats, config.time_trace)
    if config.relocatable:
        if config.icf != "none":
            raise LinkError(f"--icf={config.icf} may not be used with -r (--relocatable)")
        if config.plugin_configs:
            raise LinkError("--plugin-config may not be used with -r (--relocatable)")
        from ldpy.relocatable import link_relocatable
        return link_relocatable(ctx, passes)    # -r / -Ur: one ET_REL object, its own pass list
    passes.run(add_command_line_references, ctx)
    passes.run(Loader(ctx).load_all)        # read inputs, pull archive members, resolve symbols
    release_input_pages()                   # (headers and symbol tables are parsed: peak memory)
    if sum(map(len, map(attrgetter("view"), ctx.files))) >= util.BIG_LINK_BYTES:
        util.keep_freed_memory()            # big tables: freed temporaries reused, not unmapped
    check_target_options(ctx)               # another target's options: as GNU ld of this one
    if config.plugin_configs or (ctx.script is not None and ctx.script.plugins):
        from ldpy.plugin.manager import PluginManager
        ctx.plugins = PluginManager(ctx)    # Python linker plugins (ELD's API), loaded here
    if config.reproduce:
        from ldpy.reports import write_reproduce
        passes.run(write_reproduce, ctx)    # --reproduce: the inputs (and plugins), a response file, as a tar
    diag.check()
    plugin_point(ctx, "inputs_read")        # visit_sections, visit_symbol
    ctx.is_dynamic = bool(ctx.shared_files) or config.pie or config.shared
    passes.run(use_script_layout, ctx)      # the user's SECTIONS or ldpy's default script
    if any(f.has_ctf for f in ctx.files) or ctx.ctf_beside is not None:
        from ldpy.ctf.link import start_beside
        start_beside(ctx)                   # .ctf merged in a worker beside the passes below
    plugin_point(ctx, "before_rule_matching")
    passes.run(apply_version_script, ctx)   # --version-script: versions and local: patterns
    passes.run(apply_export_lists, ctx)     # --dynamic-list, --export-dynamic-symbol
    plugin_point(ctx, "rules_matched")      # SectionMatcher plugins (before --gc-sections)
    if config.why_live and not config.gc_sections:
        diag.warn("--why-live has no effect without --gc-sections")
    if config.gc_sections:
        from ldpy.gc import collect_garbage
        passes.run(collect_garbage, ctx)    # --gc-sections: drop what nothing reaches
    if config.icf != "none":
        from ldpy.icf import fold_identical_code
        passes.run(fold_identical_code, ctx)   # --icf=all|safe: fold identical functions
    plugin_point(ctx, "before_section_merging")   # SectionIterator, output iterators, act_before_section_merging
    passes.run(assign_sections, ctx)        # input sections -> output sections, merge strings
    plugin_point(ctx, "sections_merged")    # chunk moves, ControlMemorySize, act_before_performing_layout
    if config.gdb_index:
        from ldpy.gdb_index import create_gdb_index, write_gdb_index
        passes.run(create_gdb_index, ctx)   # --gdb-index: CUs, ranges, pubnames; sized
    passes.run(define_linker_symbols, ctx)  # __start_X, _end, __ehdr_start, ...
    from ldpy.script.linkscript import define_script_symbols
    from ldpy.script.layout import add_script_outputs
    passes.run(define_script_symbols, ctx)   # what the script assigns (PROVIDE, HIDDEN)
    add_script_outputs(ctx)                 # sections that only BYTE() or `. +=` fill
    passes.run(report_undefined, ctx)
    _defsym_aliases(ctx)                    # --defsym a=b: absolute when b is
    passes.run(scan_relocations, ctx)       # GOT / IPLT / TLS decisions for every relocation
    release_input_pages()                   # (the relocations are in one table now)
    from ldpy.script.crossrefs import check_nocrossrefs, check_discarded_references
    passes.run(check_discarded_references, ctx)   # symbols in /DISCARD/ed sections
    if ctx.script.nocrossrefs:
        passes.run(check_nocrossrefs, ctx)  # NOCROSSREFS / NOCROSSREFS_TO
    passes.run(report_warning_symbols, ctx) # .gnu.warning.SYM sections ("Linkers" part 17)
    passes.run(create_synthetic_sections, ctx)   # .got, .plt, .eh_frame_hdr, build-id, .symtab
    if any(f.has_ctf for f in ctx.files) or ctx.ctf_beside is not None:
        from ldpy.ctf.link import link_ctf
        passes.run(link_ctf, ctx)           # .ctf: types deduplicated as libctf's ctf_link
    from ldpy.synthetic.plt_unwind import add_plt_unwind
    passes.run(add_plt_unwind, ctx)         # .eh_frame records of the PLT (--ld-generated-unwind-info)
    passes.run(ctx.target.before_layout, ctx)   # the target's merged sections (RISC-V attributes)
    passes.run(layout_scripted, ctx)        # addresses, file offsets, program headers (SECTIONS, MEMORY, PHDRS)
    relayout = lambda: layout_scripted(ctx)
    passes.run(ctx.target.after_layout, ctx, relayout)   # range-extension stubs (AArch64, PowerPC)
    if ctx.rela_dyn is not None and ctx.rela_dyn.packed:
        from ldpy.synthetic.dynamic import pack_relative_relocs
        from ldpy.synthetic.android_relocs import settle
        pack_relr = (lambda: pack_relative_relocs(ctx, relayout)) if ctx.relr is not None else None
        passes.run(settle, ctx, relayout, pack_relr)      # APS2 .rela.dyn (and .relr.dyn) sized
    elif ctx.relr is not None:
        from ldpy.synthetic.dynamic import pack_relative_relocs
        passes.run(pack_relative_relocs, ctx, relayout)   # .relr.dyn sized for the final addresses
    if ctx.plugins is not None:
        plugin_point(ctx, "laid_out", relayout)
    check_address_space(ctx)                # a section past 2^64: GNU ld's "wraps around"
    if config.print_memory_usage:
        print_memory_usage(ctx)
    passes.run(assign_symbol_values, ctx)
    if config.gdb_index:
        passes.run(write_gdb_index, ctx)    # .gdb_index at output addresses
    if ctx.plugins is not None:
        plugin_point(ctx, "before_writing_output", lambda: assign_symbol_values(ctx))
    diag.check()                            # errors so far (and warnings, with --fatal-warnings)
    passes.run(write_output, ctx)           # copy, relocate, synthesize, build-id
    plugin_point(ctx, "output_written")     # ControlFileSize plugins, destroy, activity file
    if config.map_file:
        from ldpy.mapfile import write_map
        passes.run(write_map, ctx)          # -Map / -M (with --cref, the table too)
    elif config.cref:
        from ldpy.mapfile import write_cref
        passes.run(write_cref, ctx)
    if config.dependency_file:
        write_dependency_file(ctx)          # --dependency-file: make rules of every file read
    if config.why_extract or config.print_archive_stats:
        from ldpy import reports              # lld's --why-extract / --print-archive-stats
        if config.why_extract:
            reports.write_why_extract(ctx)
        if config.print_archive_stats:
            reports.write_archive_stats(ctx)
    passes.report(config)
    return ctx


def plugin_point(ctx, name, *args):
    """A named point of the link where plugins act (plugin/manager.py lists them)."""
    if ctx.plugins is not None:
        ctx.plugins.point(name, *args)


def write_dependency_file(ctx):
    """--dependency-file=FILE: a make rule naming every file the link read (inputs,
    scripts, version scripts and dynamic lists) and an empty rule for each, in
    GNU ld's format, so that a deleted input does not break the build."""
    cfg = ctx.config
    paths = list(ctx.loaded_paths) + list(cfg.scripts) + list(cfg.version_scripts) + \
        list(cfg.dynamic_lists) + list(cfg.export_dynamic_symbol_lists)
    lines = [f"{cfg.output}: \\"] + [f"  {p} \\" for p in paths]
    if paths:
        lines[-1] = lines[-1][:-2]
    text = "\n".join(lines) + "\n\n" + "".join(f"{p}:\n\n" for p in paths)
    try:
        with open(cfg.dependency_file, "w") as fh:
            fh.write(text)
    except OSError as e:
        raise LinkError(f"cannot write dependency file '{cfg.dependency_file}': {e.strerror}")


class Passes:
    """Runs passes; with --stats, reports the time of each and the process's
    peak resident memory when it ended (the pass that raised it shows the growth),
    with the steps inside a pass nested under it; with --time-trace, writes their
    start and duration as Chrome trace JSON.

    Inside a pass, `ctx.passes.lap(NAME)` ends a step that began where the pass (or
    the previous lap) did, and `ctx.passes.timed(NAME, fn)` gives a function whose
    calls add up to one step.  Both cost nothing without --stats/--time-trace."""

    def __init__(self, stats, trace=False):
        self.enabled = stats or trace
        self.stats, self.trace = stats, trace
        self.rows = []         # [name, seconds, peak RSS KiB after it, start, depth, calls]
        self.frames = []       # open passes: [row index, time of the last lap, {timed name: row}]
        if self.enabled:
            import resource
            import time
            self.clock = time.perf_counter
            self.rusage = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            # (page faults: on a VM each costs 1-3 us, and fresh memory is most of them)
            self.faults = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[6:8])
            self.start = self.rusage()
            self.t_start = self.clock()

    def run(self, fn, *args):
        if not self.enabled:
            return fn(*args)
        t0 = self.clock()
        row = [getattr(fn, "pass_name", None) or getattr(fn, "__name__", "pass"), 0.0, 0, t0, len(self.frames), 1,
               -self.faults()]
        self.rows.append(row)
        self.frames.append([row, t0, {}])
        try:
            return fn(*args)
        finally:
            _, last, _ = self.frames.pop()
            now = self.clock()
            row[1] = now - t0
            row[2] = self.rusage()
            row[6] += self.faults()
            if last != t0 and now - last > 1e-4:    # the time after the last lap
                self.rows.append(["(rest)", now - last, row[2], last, row[4] + 1, 1])

    def lap(self, name):
        """End the step `name` of the running pass."""
        if not self.enabled or not self.frames:
            return
        frame = self.frames[-1]
        now = self.clock()
        self.rows.append([name, now - frame[1], self.rusage(), frame[1], frame[0][4] + 1, 1])
        frame[1] = now

    def timed(self, name, fn):
        """fn, its calls summed into the step `name` of the pass that makes them."""
        if not self.enabled:
            return fn

        def timed_call(*args, **kwargs):
            t0 = self.clock()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = self.clock() - t0
                frame = self.frames[-1] if self.frames else None
                steps = frame[2] if frame is not None else {}
                row = steps.get(name)
                if row is None:
                    row = steps[name] = [name, 0.0, 0, t0, frame[0][4] + 1 if frame else 0, 0]
                    self.rows.append(row)
                row[1] += dt
                row[5] += 1
        return timed_call

    def report(self, config=None):
        if self.trace and config is not None:
            from ldpy.reports import write_time_trace
            write_time_trace(config, [(name, t0, t) for name, t, _, t0, _, calls, *_ in self.rows
                                      if calls == 1], self.t_start)
        if not self.stats:
            return
        import sys
        prev = self.start
        # rows in start order, each step under its pass
        order = sorted(range(len(self.rows)), key=lambda i: (self.rows[i][3], self.rows[i][4]))
        print(f"ldpy: {'pass':34s} {'time':>12s} {'peak RSS':>10s} {'growth':>9s} {'faults':>8s}", file=sys.stderr)
        for i in order:
            name, t, peak, _, depth, calls = self.rows[i][:6]
            label = "  " * depth + name + (f" (x{calls})" if calls > 1 else "")
            if depth == 0:
                print(f"ldpy: {label:34s} {t * 1000:9.1f} ms {peak / 1024:6.1f} MiB "
                      f"{(peak - prev) / 1024:5.1f} MiB {self.rows[i][6]:8d}", file=sys.stderr)
                prev = peak
            else:
                print(f"ldpy: {label:34s} {t * 1000:9.1f} ms", file=sys.stderr)
        rss = self.rusage()
        total = sum(r[1] for r in self.rows if r[4] == 0)
        print(f"ldpy: {'total':34s} {total * 1000:9.1f} ms {rss / 1024:6.1f} MiB "
              f"{'':9s} {self.faults():8d}", file=sys.stderr)


def use_script_layout(ctx):
    """Layout follows a script: the user's SECTIONS, else ldpy's default script
    (what `--verbose` prints), with the user's INSERTs and assignments spliced in."""
    cfg = ctx.config
    script = ctx.script
    from ldpy.script.linkscript import LinkScript
    from ldpy.script.place import ScriptOutputMap
    if script is None:
        script = ctx.script = LinkScript()
    ctx.user_sections = script.has_sections
    if not script.has_sections:
        from ldpy.script.default import default_script
        default = default_script(ctx)       # (parsed once per process and option set)
        # (GNU ld reads the default script after the command line: what the user's
        # scripts assign outside SECTIONS comes first)
        user = script.statements
        script.statements = []
        script.add(default)
        script.statements[:0] = user
    script.apply_inserts()
    ctx.outputs = ScriptOutputMap(script, cfg.orphan_handling)
    ctx.outputs.keep_text_prefix = cfg.keep_text_section_prefix
    ctx.outputs.apply_constraints(ctx.files)    # ONLY_IF_RO / ONLY_IF_RW


def print_memory_usage(ctx):
    """--print-memory-usage: GNU ld's table of MEMORY regions."""
    print("Memory region         Used Size  Region Size  %age Used")
    walk = ctx.script_walk
    if walk is None:
        return
    for r in walk.regions.values():
        used = r.used_end - r.origin
        pct = f"    {used * 100.0 / r.length:6.2f}%" if r.length else ""
        print(f"{r.name:>16}: {_human(used)}{_human(r.length)}{pct}")


def _human(n):
    """A size as GNU ld prints it (lang_print_memory_size), 0 included."""
    if n & 0x3fffffff == 0:
        return f"{n >> 30:10} GB"
    if n & 0xfffff == 0:
        return f"{n >> 20:10} MB"
    if n & 0x3ff == 0:
        return f"{n >> 10:10} KB"
    return f" {n:10} B"


def add_command_line_references(ctx):
    """-u symbols, the entry symbol and --defsym definitions (and what they use)."""
    ctx.symtab.wrapped = {w.encode() for w in ctx.config.wrap}
    ctx.symtab.warn_common = ctx.config.warn_common
    ctx.symtab.allow_multiple = ctx.config.allow_multiple_definition
    for name in ctx.config.undefined:
        ctx.symtab.reference(name.encode(), soft=True)
    for name in ctx.config.require_defined:
        ctx.symtab.reference(name.encode())
    if ctx.config.defsyms:
        from ldpy import expr
    for name, text in ctx.config.defsyms:
        node = expr.parse(text, f"--defsym {name}={text}")
        for used in expr.symbols_in(node):
            ctx.symtab.reference(used.encode())
        sym = ctx.symtab.define_synthetic(name.encode(), None, only_if_referenced=False)
        # a number is absolute (as lld and mold take it: not moved with a PIE's load
        # base); `alias=func` and other symbol expressions move with their section
        from ldpy.script.linkscript import constant_only
        sym.absolute = constant_only(node)
        ctx.defsyms.append((sym, node, f"--defsym {name}={text}"))
    entry = ctx.config.entry or "_start"
    if not _is_number(entry):
        ctx.symtab.reference(entry.encode(), weak=ctx.config.entry is None, soft=True)


def check_target_options(ctx):
    """Options of another target's emulation (cli.TARGET_OPTIONS): GNU ld built for
    this target ignores its -z keywords with a warning and does not know the rest."""
    from ldpy.cli import TARGET_OPTIONS
    cfg = ctx.config
    for machine, options in TARGET_OPTIONS.items():
        if machine == ctx.target.MACHINE:
            continue
        for attr, default, spelling in options:
            if getattr(cfg, attr) == default:
                continue
            if spelling.startswith("-z "):
                diag.warn(f"{spelling} ignored")
            else:
                raise LinkError(f"unrecognized option '{spelling}'")


def _is_number(s):
    try:
        int(s, 0)
        return True
    except ValueError:
        return False


def scan_relocations(ctx):
    from ldpy.synthetic import GotSection
    from ldpy.synthetic.plt import IpltSection
    ctx.keys = R.SymbolKeys(ctx)
    ctx.section_ids = R.SectionIds(ctx.files, ctx.icf_fold)
    ctx.passes.lap("symbol and section tables")
    from ldpy.synthetic.plt import PltSection
    from ldpy.synthetic.dynamic import RelaSection
    from ldpy.synthetic import KeyedTable, Synthetic
    W = ctx.target.WORD
    ctx.got = GotSection(W, ctx.target.LITTLE)
    ctx.got_gd = KeyedTable(".got", 2 * W, flags=SHF_ALLOC | SHF_WRITE, align=W)
    ctx.got_ld = Synthetic(".got", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, W)
    ctx.tlsdesc = KeyedTable(".got.plt", 2 * W)     # TLS descriptors a shared object keeps
    ctx.iplt = IpltSection(ctx.target)
    ctx.plt = PltSection(ctx.target)
    ctx.rela_dyn = RelaSection(".rela.dyn" if ctx.target.RELA else ".rel.dyn", target=ctx.target)
    ctx.relocs = R.RelocTable(ctx, ctx.section_ids)
    ctx.passes.lap("relocation table")
    if not ctx.relocs.empty:
        from ldpy import reloc_policy
        reloc_policy.scan(ctx, ctx.relocs)
        ctx.passes.lap("GOT/PLT/TLS decisions")


def _attach_symbol(ctx, name, chunk):
    """A linker-defined symbol belongs to the output section of `chunk` (for .symtab)."""
    sym = ctx.symtab.get(name)
    if sym is not None and sym.kind == SYNTHETIC:
        sym.output = chunk.output


def synthetic_output(outs, name, type_, flags, align=1):
    """The output section of a linker-made section a script may /DISCARD/."""
    return outs.get(name, type_, flags, discardable=True, align=align)


def create_synthetic_sections(ctx):
    from ldpy.synthetic import Synthetic
    from ldpy.synthetic.plt import GotPltSection, RelaPltSection
    from ldpy.synthetic.eh_frame_hdr import EhFrameHdr
    from ldpy.elf.eh_frame import count_fdes
    from ldpy.synthetic.notes import BuildIdNote
    from ldpy.synthetic.symtab import SymtabSection
    from ldpy.elf.format import dtypes
    cfg, outs, t = ctx.config, ctx.outputs, ctx.target
    # a target whose GOT starts with a header (AArch64: .got[0] = _DYNAMIC) has
    # _GLOBAL_OFFSET_TABLE_ there, and the .got whenever the GOT base is used
    ctx.got.reserved = t.GOT_HEADER
    ctx.got.freeze()
    if t.GOT_TRAILER and (len(ctx.got) or ctx.need_got_base):
        ctx.got.trailer = t.GOT_TRAILER             # (PowerPC: the header after the slots)
        ctx.got.trailer_after = t.GOT_TRAILER_REACH // t.WORD
        ctx.got.freeze()
    ctx.got_gd.freeze()
    ctx.iplt.freeze()
    if len(ctx.got) or ((t.GOT_HEADER or t.GOT_TRAILER) and ctx.need_got_base):
        outs.get(".got", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE).add(ctx.got)
    if len(ctx.got_gd):
        outs.get(".got", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE).add(ctx.got_gd)
    if ctx.need_got_ld:
        ctx.got_ld.size = 2 * t.WORD
        outs.get(".got", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE).add(ctx.got_ld)
    ctx.tlsdesc.freeze()
    lazy_tlsdesc = len(ctx.tlsdesc) and not getattr(cfg, "now", False) and t.LAZY_TLSDESC
    if lazy_tlsdesc:
        # lazily bound descriptors: the loader keeps its resolver in this .got slot
        # (DT_TLSDESC_GOT), which the TLSDESC PLT entry (DT_TLSDESC_PLT) jumps through
        ctx.tlsdesc_got = Synthetic(".got", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, t.WORD)
        ctx.tlsdesc_got.size = t.WORD
        ctx.tlsdesc_got.data = np.zeros(t.WORD, np.uint8)
        outs.get(".got", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE).add(ctx.tlsdesc_got)
    from ldpy.synthetic import notes
    notes.report_missing_cet(ctx.files, cfg, diag)      # -z cet-report
    props = notes.merge_gnu_properties(
        ctx.files, (notes.X86_FEATURE_1_IBT if cfg.ibt else 0) | (notes.X86_FEATURE_1_SHSTK if cfg.shstk else 0),
        1 << (cfg.x86_isa_level - 1) if cfg.x86_isa_level else 0)
    t.adjust_properties(ctx, props)
    # the IBT-enabled PLT: when the output is marked IBT, or -z ibtplt
    ctx.ibt_plt = bool(cfg.ibtplt or props.get(notes.X86_FEATURE_1_AND, 0) & notes.X86_FEATURE_1_IBT)
    if ctx.is_dynamic:
        from ldpy.synthetic.dynamic import create_dynamic_sections, add_dynamic_tail, tlsdesc_rows
        if not t.IRELATIVE_IN_RELA_PLT:
            ctx.rela_dyn.reserve(len(ctx.iplt))         # (write.py adds them)
        if t.PLT_GOT_ENTRIES:
            ctx.plt.split_plt_got(ctx.got.keys, ctx.keys.canonical)
        ctx.plt.options = t.plt_setup(ctx, props)
        ctx.plt.freeze_with(ctx.symtab.symbols, ctx.iplt, 2 if lazy_tlsdesc else 1 if len(ctx.tlsdesc) else 0,
                            ctx.ibt_plt)
        create_dynamic_sections(ctx)
        if ctx.plt.size:
            outs.get(t.PLT_SECTION, SHT_PROGBITS, ctx.plt.flags).add(ctx.plt)
        for extra in (ctx.plt.got_entries, ctx.plt.sec):
            if extra.size:
                o = outs.get(extra.name, SHT_PROGBITS, extra.flags)
                o.add(extra)
                o.entsize = extra.entsize
        ctx.gotplt = GotPltSection(ctx.iplt, ctx.plt, ctx.tlsdesc, word=t.WORD, target=t).freeze()
        outs.get(t.GOTPLT_SECTION, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE).add(ctx.gotplt)
        _attach_symbol(ctx, b"_GLOBAL_OFFSET_TABLE_", ctx.gotplt)
        ctx.rela_plt = RelaPltSection(ctx.gotplt, t, t.IRELATIVE_IN_RELA_PLT).freeze()
        ctx.rela_plt.dynsym_index = ctx.dynsym_index
        ctx.rela_plt.tlsdesc_rows = lambda: tlsdesc_rows(ctx)
        if ctx.rela_plt.size:
            outs.get(ctx.rela_plt.name, ctx.rela_plt.type, SHF_ALLOC).add(ctx.rela_plt)
        add_dynamic_tail(ctx)
    else:
        if len(ctx.iplt) or (ctx.need_got_base and not t.GOT_TRAILER):
            ctx.gotplt = GotPltSection(ctx.iplt, word=t.WORD, target=t).freeze()
            outs.get(t.GOTPLT_SECTION, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE).add(ctx.gotplt)
            _attach_symbol(ctx, b"_GLOBAL_OFFSET_TABLE_", ctx.gotplt)
        if len(ctx.iplt):
            outs.get(t.PLT_SECTION, SHT_PROGBITS, ctx.iplt.flags).add(ctx.iplt)
            ctx.rela_plt = RelaPltSection(ctx.gotplt, t).freeze()
            # a script sees GNU ld's input section name: `*(.rela.iplt)` sits between
            # __rela_iplt_start and __rela_iplt_end in the default scripts
            name = ctx.rela_plt.name = ctx.rela_plt.name.replace(".plt", ".iplt")
            outs.get(name, ctx.rela_plt.type, SHF_ALLOC).add(ctx.rela_plt)
    if (t.GOT_HEADER or t.GOT_TRAILER) and ctx.got.output is not None:
        _attach_symbol(ctx, b"_GLOBAL_OFFSET_TABLE_", ctx.got)
    from ldpy.synthetic.notes import GnuPropertyNote
    if props:
        ctx.gnu_property = GnuPropertyNote(props, t.IS64, t.LITTLE)
        o = synthetic_output(outs, ".note.gnu.property", SHT_NOTE, SHF_ALLOC, ctx.gnu_property.align)
        if o is not None:
            o.add(ctx.gnu_property)
        else:
            ctx.gnu_property = None
    if cfg.build_id and cfg.build_id != "none":
        ctx.build_id = BuildIdNote(cfg.build_id, t.LITTLE)
        o = synthetic_output(outs, ".note.gnu.build-id", SHT_NOTE, SHF_ALLOC, ctx.build_id.align)
        if o is not None:
            o.add(ctx.build_id)
        else:
            ctx.build_id = None
    if cfg.package_metadata:
        from ldpy.synthetic.notes import PackageNote
        note = PackageNote(cfg.package_metadata, t.LITTLE)
        o = synthetic_output(outs, ".note.package", SHT_NOTE, SHF_ALLOC, note.align)
        if o is not None:
            o.add(note)
    eh = outs.by_name.get(".eh_frame")
    # (none when the .eh_frame inputs are only terminators: BFD's _bfd_elf_eh_frame_present)
    if cfg.eh_frame_hdr and eh is not None and any(c.size > 8 for c in eh.chunks):
        ctx.eh_frame_hdr = EhFrameHdr(t.WORD, t.LITTLE)
        ctx.eh_frame_hdr.set_count(sum(count_fdes(c.bytes().tobytes(), t.LITTLE) for c in eh.chunks))
        hdr_out = outs.get(".eh_frame_hdr", SHT_PROGBITS, SHF_ALLOC)
        hdr_out.add(ctx.eh_frame_hdr)
        # GNU ld's local __GNU_EH_FRAME_HDR marks the table (libgcc's static unwinder uses it)
        sym = ctx.symtab.define_synthetic(b"__GNU_EH_FRAME_HDR", hdr_out, only_if_referenced=False)
        if sym is not None:
            ctx.linker_syms[sym.name] = lambda: hdr_out.addr
            sym.visibility = STV_HIDDEN
            ctx.provide_hidden.add(sym.name)
    # our signature in .comment, like lld and mold
    from ldpy import __version__
    comment = Synthetic(".comment", SHT_PROGBITS, SHF_MERGE | SHF_STRINGS, 1, 1)
    comment.data = np.frombuffer(f"ldpy {__version__}\0".encode(), np.uint8)
    comment.size = len(comment.data)
    o = synthetic_output(outs, ".comment", SHT_PROGBITS, SHF_MERGE | SHF_STRINGS)
    if o is not None:
        o.add(comment)
    dt = dtypes(t.IS64, t.LITTLE)
    if not cfg.strip_all:
        # (a target whose ld.bfd drops .L labels by default: RISC-V keeps them in objects for relaxation)
        ctx.symtab_sec = SymtabSection(dt, cfg.discard_locals or (t.DISCARD_L_LOCALS and not cfg.discard_none),
                                       cfg.discard_all)
        ctx.symtab_sec.prepare(ctx)
        o = outs.get(".symtab", ctx.symtab_sec.type, 0)
        o.add(ctx.symtab_sec)
        o.entsize = dt.sym.itemsize
        o2 = outs.get(".strtab", SHT_STRTAB, 0)
        o2.add(ctx.symtab_sec.strtab)
    if cfg.emit_relocs:                 # --emit-relocs: .rela.X beside each X (emit_relocs.py)
        from ldpy.emit_relocs import create_sections
        create_sections(ctx)
    names = sorted({o.name for o in outs.by_name.values()}) + [".shstrtab"] + \
        [o.name for o in ctx.emit_rela]
    if cfg.compress_debug_sections == "zlib-gnu":     # compressed ones are renamed .zdebug_*
        from ldpy.compress import output_name
        names += sorted({output_name(n, "zlib-gnu") for n in names} - set(names))
    shstr = Synthetic(".shstrtab", SHT_STRTAB, 0, 1)
    ctx.shstrtab_offsets = {}
    blob = bytearray(b"\0")
    for n in names:
        ctx.shstrtab_offsets[n] = len(blob)
        blob += n.encode() + b"\0"
    shstr.data = np.frombuffer(bytes(blob), np.uint8)
    shstr.size = len(blob)
    o3 = outs.get(".shstrtab", SHT_STRTAB, 0)
    o3.add(shstr)


def check_address_space(ctx):
    """ld.bfd's lang_check_section_addresses: an allocated section whose VMA (or
    LMA) range goes past the top of the 64-bit address space is an error."""
    top = 1 << 64
    for o in ctx.sections_out:
        if not o.flags & SHF_ALLOC:
            continue
        for what, a in (("VMA", o.addr), ("LMA", getattr(o, "lma", None))):
            if a is not None and (a >= top or a < 0 or (o.size and a + o.size >= top)):
                # an input section claiming most of the address space (a broken .bss
                # size) is named as the culprit
                big = max((c for c in o.chunks if c.is_input), key=lambda c: c.size, default=None)
                if big is not None and big.size >= 1 << 63:
                    raise LinkError(f"{big.where()}: input section of {big.size:#x} bytes: section "
                                    f"{o.name} wraps around the address space (it ends at {a + o.size:#x})")
                raise LinkError(f"section {o.name} {what} wraps around address space")


def assign_symbol_values(ctx):
    """Final addresses of every symbol: globals (gaddr, by symbol id), then locals."""
    if ctx.target.GOT_TRAILER and ctx.got.output is not None:
        ctx.got_base_addr = ctx.got.trailer_addr
    elif ctx.target.GOT_HEADER and ctx.got.output is not None:
        ctx.got_base_addr = ctx.got.addr
    elif ctx.gotplt is not None:
        ctx.got_base_addr = ctx.gotplt.addr
    elif len(ctx.got):
        ctx.got_base_addr = ctx.got.addr
    ids = ctx.section_ids
    ids.tables()
    ctx.merge_map = R.MergeMap(ids)
    syms = ctx.symtab.symbols
    n = len(syms)
    for s in syms:
        if s.kind == SYNTHETIC and s.name in ctx.linker_syms:
            s.value = ctx.linker_syms[s.name]()
    from ldpy.linker_symbols import place_synthetic_symbols
    place_synthetic_symbols(ctx, syms)
    kind = np.fromiter((s.kind for s in syms), np.int64, n)
    # (values are 64-bit addresses: read them unsigned, compute in wrapping int64)
    value = np.fromiter((s.value & 0xffffffffffffffff for s in syms), np.uint64, n).view(np.int64)
    secgid = np.fromiter((s.section.file.sec_base + s.section.index if s.section is not None else -1
                          for s in syms), np.int64, n)
    in_sec = (kind == DEFINED) & (secgid >= 0)
    g = np.where(in_sec, secgid, 0)
    gaddr = np.where(in_sec, ids.addr[g] + value, value)
    # defined in a removed section (--gc-sections, a script's /DISCARD/): no address
    ctx.gdead = in_sec & ~ids.live[g]
    gaddr[ctx.gdead] = 0
    gaddr[(kind == UNDEF)] = 0
    m = in_sec & ids.merge[g]
    if m.any():
        gaddr[m] = ctx.merge_map.map(secgid[m], value[m])
    if ctx.commons is not None or ctx.tcommons is not None:
        c = kind == COMMON
        if ctx.tcommons is not None:
            tls = np.zeros(n, bool)
            tls[[s.gid for s in syms if s.kind == COMMON and s.type == 6]] = True
            gaddr[c & tls] = R.wrap64(ctx.tcommons.addr) + value[c & tls]
            c &= ~tls
        if ctx.commons is not None:
            gaddr[c] = R.wrap64(ctx.commons.addr) + value[c]
    shared = kind == SHARED
    gaddr[shared] = 0
    for s in ctx.copies:
        gaddr[s.gid] = R.wrap64(ctx.copy_chunk(s).addr + s.value)
    if ctx.plt is not None and len(ctx.plt.call_keys()):
        # an imported function's address here is its PLT entry (definitions keep theirs)
        pk = ctx.plt.call_keys()
        outside = (kind[pk] == SHARED) | (kind[pk] == UNDEF)
        gaddr[pk[outside]] = ctx.plt.entry_addresses(pk[outside])
    ctx.gaddr = gaddr
    _evaluate_defsyms(ctx)
    R.compute_addresses(ctx, ctx.keys, ids, gaddr)


def _defsym_aliases(ctx):
    """`--defsym a=b` takes b's section as ld.bfd does: absolute when b is absolute
    (a number or a script's absolute symbol), else placed after layout."""
    for sym, node, _ in ctx.defsyms:
        src = ctx.symtab.get(node[1].encode()) if node[0] == "sym" else None
        if src is not None:
            sym.absolute = src.absolute


def _evaluate_defsyms(ctx):
    if not ctx.defsyms:
        return
    from ldpy import expr
    for sym, node, text in ctx.defsyms:
        def lookup(name):
            s = ctx.symtab.get(name.encode())
            if s is None or s.kind == UNDEF:
                raise LinkError(f"{text}: undefined symbol '{name}' in expression")
            return int(ctx.gaddr[s.gid])
        sym.value = expr.evaluate(node, lookup)
        ctx.gaddr[sym.gid] = sym.value
        if not sym.absolute:
            # `bar=foo`: in the output section its address lies in, of foo's type (ld.bfd)
            from ldpy.linker_symbols import place_synthetic_symbols
            sym.output = None
            place_synthetic_symbols(ctx, [sym])
            src = ctx.symtab.get(node[1].encode()) if node[0] == "sym" else None
            if src is not None:
                sym.type = src.type
