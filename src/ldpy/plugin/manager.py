"""Loading and running plugins at the named points of driver.link().

The driver calls `PluginManager.point(NAME)` at each named point; what runs
there, in link order:

  inputs_read              Initializing: every plugin's init (LinkerPlugins), their
                           visit_sections per input object, visit_symbol per global symbol
  before_rule_matching     ActBeforeRuleMatching: act_before_rule_matching
  rules_matched            BeforeLayout: SectionMatcher plugins (before --gc-sections)
  before_section_merging   BeforeLayout: SectionIterator plugins, OutputSectionIterator
                           phase 1; then ActBeforeSectionMerging: act_before_section_merging
  sections_merged          CreatingSections: OutputSectionIterator phase 2,
                           ControlMemorySize plugins; ActBeforePerformingLayout:
                           act_before_performing_layout; moved chunks must all have a rule
  laid_out                 CreatingSegments (reassign_virtual_addresses may run here)
  before_writing_output    AfterLayout: OutputSectionIterator phase 3, relocation
                           callbacks; ActBeforeWritingOutput: act_before_writing_output
  output_written           ControlFileSize plugins on the written file, target data
                           patches, destroy, --plugin-activity-file

A plugin's exception stops the link with one line naming the plugin, the hook
and the exception (--verbose adds the traceback); the output is removed.
"""
import importlib.util
import os
from collections import deque
from functools import partial
from itertools import chain
from operator import attrgetter, is_not
import sys
from sys import getrefcount
import time

import numpy as np

from ldpy.diag import LinkError, diag
from ldpy.plugin import TYPES, SUCCESS, Block, PluginBase
from ldpy.plugin.adt import InputFile, Section, Chunk, Rule, OutputSection, Symbol, Use
from ldpy.plugin import wrapper as W

KEYWORD_TYPES = {"PLUGIN_SECTION_MATCHER": "SectionMatcher", "PLUGIN_ITER_SECTIONS": "SectionIterator",
                 "PLUGIN_OUTPUT_SECTION_ITER": "OutputSectionIterator", "LINKER_PLUGIN": "LinkerPlugin",
                 "PLUGIN_CONTROL_FILESZ": "ControlFileSize", "PLUGIN_CONTROL_MEMSZ": "ControlMemorySize"}


def wanted(ctx):
    """Does this link use plugins?  (Checked without importing this package.)"""
    return bool(ctx.config.plugin_configs) or (ctx.script is not None and bool(ctx.script.plugins))


class Spec:
    """One plugin invocation: from a script command or a --plugin-config entry."""
    __slots__ = ("type", "library", "name", "options", "section", "where")

    def __init__(self, type_, library, name, options="", section=None, where=""):
        self.type, self.library, self.name = type_, library, name
        self.options, self.section, self.where = options or "", section, where


class Record:
    """A loaded plugin and everything it changed (for -Map and the activity file)."""

    def __init__(self, spec, obj, path):
        self.spec, self.obj, self.path = spec, obj, path
        self.name = spec.name
        self.type = spec.type
        self.actions = []             # dicts: {"op": ..., ...}
        self.stats = []               # (name, value)
        self.visit_symbol = False
        self.reloc_callbacks = []     # (type number, callback)
        self.seconds = 0.0
        self.hook = None              # the hook running now (for messages)

    def act(self, op, **fields):
        self.actions.append({"op": op, "state": _manager[0].state if _manager[0] else "", **fields})
        m = _manager[0]
        if m is not None and m.trace:
            detail = ", ".join(f"{k}={v}" for k, v in fields.items())
            print(f"ldpy: trace: plugin '{self.name}': {op}" + (f" ({detail})" if detail else ""),
                  file=sys.stderr)


_manager = [None]


class PluginManager:
    def __init__(self, ctx):
        self.ctx = ctx
        W._CTX[0] = ctx
        _manager[0] = self
        cfg = ctx.config
        self.trace = "plugin" in cfg.trace_kinds
        self.state = "Initializing"
        self.records = []
        self.overrides = {}           # id(input section) -> output section name (set_output_section)
        self.moves = Moves(self)
        self.symbol_chunks = []       # (symbol, chunk) defined by plugins
        self.plugin_data = {}
        self.config_names = {}        # path -> the name find_config_file found it by
        self.patches = []             # (file offset, bytes): set_target_data after layout
        self.relayout_fn = None
        self.modules = {}             # library -> module
        self.point_seconds = {}       # named point -> seconds spent there (plugins and their calls)
        self.merge_order = None       # the pool section merging takes sections from (in order)
        self.merge_sorted = False     # ... sorted by sort_input_sections_for_section_merging
        self.links = {}               # link_sections: output name -> output name its sh_link names
        self.fatal = []               # plugins that called set_linker_fatal_error
        self.symtab_removed = set()   # remove_symbol_table_entry: global names .symtab leaves out
        self.reproduce_files = []     # (name the plugin used, path): files for --reproduce
        self.diag_formats = []        # get_*_diag_id: (severity, format) by id
        self.specs = self._collect_specs()
        for spec in self.specs:
            self._load(spec)

    # -- loading ---------------------------------------------------------------------
    def _collect_specs(self):
        specs = []
        script = self.ctx.script
        for cmd in (script.plugins if script is not None else ()):
            specs.append(Spec(KEYWORD_TYPES[cmd.kind], cmd.library, cmd.name, cmd.options,
                              cmd.section or None, cmd.where))
        from ldpy.plugin.config import read_plugin_config
        for path in self.ctx.config.plugin_configs:
            specs.extend(read_plugin_config(path, Spec))
        sections = {}
        for s in specs:
            if s.type in ("ControlFileSize", "ControlMemorySize"):
                if not s.section:
                    raise LinkError(f"{s.where}: {s.type} plugin '{s.name}' must be attached to an output section")
                if s.section in sections:
                    raise LinkError(f"{s.where}: output section '{s.section}' already has the plugin "
                                    f"'{sections[s.section]}' (only one output section plugin each)")
                sections[s.section] = s.name
        return specs

    def find_file(self, name, suffixes=("",)):
        if os.sep in name or os.path.isabs(name):
            return name if os.path.exists(name) else None
        dirs = [os.getcwd()] + list(self.ctx.config.library_paths) + \
            [d for d in os.environ.get("LDPY_PLUGIN_PATH", "").split(os.pathsep) if d] + \
            [os.path.dirname(p) for p in self.ctx.config.scripts]
        for d in dirs:
            for suf in suffixes:
                p = os.path.join(d, name + suf)
                if os.path.isfile(p):
                    return p
        return None

    def _module(self, spec):
        lib = spec.library
        if lib in self.modules:
            return self.modules[lib]
        path = self.find_file(lib, (".py", "")) if not lib.endswith(".py") or os.sep not in lib else \
            (lib if os.path.exists(lib) else None)
        if path is None and lib.endswith(".py"):
            path = self.find_file(lib)
        if path is not None:
            modname = "ldpy_plugin_" + "".join(c if c.isalnum() else "_" for c in os.path.abspath(path))
            try:
                sp = importlib.util.spec_from_file_location(modname, path)
                mod = importlib.util.module_from_spec(sp)
                sys.modules[modname] = mod
                sp.loader.exec_module(mod)
            except Exception as e:
                raise LinkError(self._failure(spec, "loading", e, path))
        else:
            mod = self._entry_point(lib)
            if mod is None:
                raise LinkError(f"{spec.where}: cannot find plugin library '{lib}' (a Python file, a "
                                f"module on -L or LDPY_PLUGIN_PATH, or an 'ldpy.plugins' entry point)")
            path = getattr(mod, "__file__", lib)
        if self.trace:
            print(f"ldpy: trace: plugin library '{lib}' loaded from {path}", file=sys.stderr)
        self.modules[lib] = (mod, path)
        return mod, path

    def _entry_point(self, lib):
        from importlib import metadata
        try:
            eps = metadata.entry_points(group="ldpy.plugins")
        except Exception:
            return None
        for ep in eps:
            if ep.name == lib:
                try:
                    return ep.load()
                except Exception as e:
                    raise LinkError(f"plugin library '{lib}': entry point '{ep.value}' fails to load: "
                                    f"{type(e).__name__}: {e}") from None
        return None

    def _load(self, spec):
        mod, path = self._module(spec)
        obj = None
        try:
            if hasattr(mod, "get_plugin"):
                obj = mod.get_plugin(spec.name)
            elif hasattr(mod, spec.name):
                obj = getattr(mod, spec.name)
                if isinstance(obj, type):
                    obj = obj()
        except Exception as e:
            raise LinkError(self._failure(spec, "get_plugin", e, path))
        if obj is None:
            raise LinkError(f"{spec.where}: plugin library '{spec.library}' ({path}) has no plugin '{spec.name}'")
        if not isinstance(obj, PluginBase):
            raise LinkError(f"{spec.where}: plugin '{spec.name}' in {path} is not an ldpy.plugin plugin")
        want = TYPES[spec.type]
        if not isinstance(obj, want):
            raise LinkError(f"{spec.where}: plugin '{spec.name}' is a {obj.TYPE} plugin, "
                            f"but is invoked as {spec.type}")
        if any(r.obj is obj and r.spec.section == spec.section for r in self.records):
            raise LinkError(f"{spec.where}: plugin '{spec.name}' is invoked twice")
        rec = Record(spec, obj, path)
        obj.linker = W.LinkerWrapper(self, rec)
        self.records.append(rec)
        if self.trace:
            print(f"ldpy: trace: plugin '{spec.name}' ({spec.type}) from '{spec.library}'"
                  + (f" for output section '{spec.section}'" if spec.section else "")
                  + (f", options '{spec.options}'" if spec.options else ""), file=sys.stderr)

    # -- calling plugin code ---------------------------------------------------------
    def _failure(self, spec, hook, e, path=None):
        if self.ctx.config.verbose:
            import traceback
            traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
        return f"plugin '{spec.name}' ({spec.type}, {path or spec.library}): {hook}: {type(e).__name__}: {e}"

    def call(self, rec, hook, *args):
        return self.call_each(rec, hook, (args,))

    def call_each(self, rec, hook, arg_tuples=(), single=None, views=None):
        """Call hook(*args) for each args; one exception handler and one timer for
        the whole loop (a hook per input section costs only the plugin's own code)."""
        fn = getattr(rec.obj, hook)
        rec.hook = hook
        if self.trace:
            print(f"ldpy: trace: plugin '{rec.name}': {hook} ({self.state})", file=sys.stderr)
        t0 = time.process_time()
        result = None
        try:
            if views is not None:                   # the per-section hooks
                _feed_views(fn, views[0], views[1])
                return None
            if single is not None:                  # the hot loops: map() runs them in C
                deque(map(fn, single), maxlen=0)
                return None
            for args in arg_tuples:
                result = fn(*args)
            return result
        except (W.PluginStateError, W.PluginFatal):
            raise
        except LinkError as e:
            if e.args and e.args[0] and e.args[0].startswith(f"plugin '{rec.name}'"):
                raise
            raise LinkError(self._failure(rec.spec, hook, e, rec.path)) from None
        except Exception as e:
            raise LinkError(self._failure(rec.spec, hook, e, rec.path)) from None
        finally:
            rec.seconds += time.process_time() - t0
            if self.fatal:
                name = self.fatal[0]
                self.fatal = []
                raise LinkError(f"plugin '{name}' stopped the link (set_linker_fatal_error in {hook})")

    def run(self, rec):
        status = self.call(rec, "run", bool(self.ctx.config.verbose))
        if status not in (None, SUCCESS):
            code, msg = self.call(rec, "last_error")
            raise LinkError(f"plugin '{rec.name}' ({rec.type}): run failed in {self.state}"
                            + (f" (error {code}): {msg}" if msg else f" (status {status})"))

    def of_type(self, type_):
        return [r for r in self.records if r.type == type_]

    # -- the points ------------------------------------------------------------------------
    def point(self, name, *args):
        t0 = time.process_time()
        getattr(self, "_p_" + name)(*args)
        self.point_seconds[name] = self.point_seconds.get(name, 0.0) + time.process_time() - t0

    def _p_inputs_read(self):
        self.state = "Initializing"
        lps = self.of_type("LinkerPlugin")
        for r in lps:
            self.call(r, "init", r.spec.options)
        files = [f for f in self.ctx.files if hasattr(f, "sections") and hasattr(f, "global_names")]
        for r in lps:
            self.call_each(r, "visit_sections", ((InputFile(f),) for f in files))
        visitors = [r for r in lps if r.visit_symbol]
        if visitors:
            syms = [s for s in self.ctx.symtab.symbols if s.file is not None and hasattr(s.file, "global_names")]
            for r in visitors:
                self.call_each(r, "visit_symbol", views=(Symbol, syms))

    def _p_before_rule_matching(self):
        self.state = "ActBeforeRuleMatching"
        for r in self.of_type("LinkerPlugin"):
            self.call(r, "act_before_rule_matching")
        self._install_overrides()

    def _input_sections(self, live_only):
        """The input sections in input order (ctx.files are objects; their section lists
        hold None, DISCARDED (a COMDAT group another object gave) and their own sections),
        filtered in C: no Python code runs per section.  An iterator: each section is
        read once, as the hook takes it."""
        every = filter(None, chain.from_iterable([f.sections for f in self.ctx.files]))
        if live_only:
            return filter(attrgetter("live"), every)
        from ldpy.input.object import DISCARDED
        return filter(partial(is_not, DISCARDED), every)

    def _iterate_sections(self, type_, live_only):
        for r in self.of_type(type_):
            self.call(r, "init", r.spec.options)
            self.call_each(r, "process_section", views=(Section, self._input_sections(live_only)))
            self.run(r)
            self.call(r, "destroy")

    def _p_rules_matched(self):
        self.state = "BeforeLayout"
        self._iterate_sections("SectionMatcher", False)

    def _output_iter(self):
        for r in self.of_type("OutputSectionIterator"):
            self.call(r, "init", r.spec.options)
            self.call_each(r, "process_output_section", ((o,) for o in self.output_sections()))
            self.run(r)
            self.call(r, "destroy")

    def _p_before_section_merging(self):
        self.state = "BeforeLayout"
        self._iterate_sections("SectionIterator", True)
        self._output_iter()
        self.state = "ActBeforeSectionMerging"
        for r in self.of_type("LinkerPlugin"):
            self.call(r, "act_before_section_merging")

    def _p_sections_merged(self):
        self.state = "CreatingSections"
        self._output_iter()
        for r in self.of_type("ControlMemorySize"):
            self._control_memory(r)
        self.moves.check()
        self.state = "ActBeforePerformingLayout"
        for r in self.of_type("LinkerPlugin"):
            self.call(r, "act_before_performing_layout")
        self.moves.check()
        for sym, c in self.symbol_chunks:        # (the chunk may have moved)
            sym.output = c.output

    def _p_laid_out(self, relayout):
        self.relayout_fn = relayout
        self.state = "CreatingSegments"

    def _p_before_writing_output(self, assign_values):
        self.assign_values = assign_values
        self.state = "AfterLayout"
        self._output_iter()
        self._reloc_callbacks()
        self.state = "ActBeforeWritingOutput"
        for r in self.of_type("LinkerPlugin"):
            self.call(r, "act_before_writing_output")

    def _p_output_written(self):
        self.state = "AfterLayout"
        fsz = self.of_type("ControlFileSize")
        if fsz or self.patches:
            self._rewrite_output(fsz)
        for r in self.of_type("LinkerPlugin"):
            self.call(r, "destroy")
        self._reproduce_late_files()
        if self.ctx.config.plugin_activity_file:
            self.write_activity_file(self.ctx.config.plugin_activity_file)

    def relayout(self):
        if self.relayout_fn is None:
            return
        self.relayout_fn()
        if self.state == "AfterLayout":
            self.assign_values()

    # -- output sections -------------------------------------------------------------
    def output_sections(self):
        ctx = self.ctx
        if self.state in W.HAS_OUTPUTS:
            outs = ctx.sections_out if self.state in W.LAID_OUT else ctx.outputs.sorted()
            return [OutputSection(o) for o in outs if hasattr(o, "chunks")]
        # before merging: the user script's statements, or (under the default script)
        # the statements the inputs go to, then the orphans
        omap = ctx.outputs
        if ctx.user_sections:
            return [OutputSection(st.out, st.name, st) for st in omap.statements
                    if not st.dropped and st.name != "/DISCARD/"]
        taken, orphans = set(), set()
        for s in self._input_sections(True):
            if s.flags & 2:
                name = self.overrides.get(id(s))
                st = omap.rule_taking(s, s.file) if name is None else \
                    next((t for t in omap.statements if t.name == name), None)
                if st is not None:
                    taken.add(id(st))
                else:
                    orphans.add(name or s.name)
        return [OutputSection(st.out, st.name, st) for st in omap.statements
                if id(st) in taken and st.name != "/DISCARD/"] + \
            [OutputSection(None, n) for n in sorted(orphans)]

    def output_of(self, c):
        """The OutputSection view an input section goes to (or is in)."""
        if c.output is not None and hasattr(c.output, "chunks"):
            return OutputSection(c.output)
        name = self.overrides.get(id(c))
        if name is None:
            st = self.ctx.outputs.rule_taking(c, c.file)
            if st is None:
                return None
            return OutputSection(st.out, st.name, st)
        return OutputSection(None, name)

    def merge_pool(self):
        if self.merge_order is None:
            self.merge_order = list(self._input_sections(True))
        return self.merge_order

    def set_merge_order(self, secs):
        """assign_sections takes each rule's sections in this order (merge_rank)."""
        self.merge_order = secs
        self.merge_sorted = True

    def merge_rank(self):
        """assign_sections: {id(section): position} once a plugin sorted the pool, else None."""
        if not self.merge_sorted:
            return None
        return {id(s): i for i, s in enumerate(self.merge_order)}

    def rule_matches(self, rule, c):
        f = c.file
        desc = rule._desc
        if desc is None:
            if rule.pos is not None:              # the orphans' rule
                return False
            if rule._o is None:
                return False
            st = self.ctx.outputs.rule_taking(c, f)       # (an orphan keeps its name)
            return (st.name if st is not None else c.name) == rule._o.name
        if getattr(desc, "plugin_annotation", None) is not None:
            return False                          # a plugin's rule takes only what it is given
        from ldpy.script.place import InputDescription
        d = InputDescription(None, rule.pos, desc)
        return d.file_ok(f) and d.matching_pattern(c, f) is not None

    def sh_link(self, o, link):
        """write.py: the sh_link of output O (link_sections), else LINK."""
        name = self.links.get(o.name)
        if name is None:
            return link
        return next((x.index for x in self.ctx.sections_out if x.name == name), link)

    def note_read(self, name, path):
        if self.ctx.config.reproduce:
            self.reproduce_files.append((name, path))

    def _install_overrides(self):
        """set_output_section: the output map asks us first."""
        omap = self.ctx.outputs
        place = omap.place
        overrides = self.overrides

        def plugin_place(sec, f):
            name = overrides.get(id(sec))
            if name is None:
                return place(sec, f)
            st = next((s for s in omap.statements if s.name == name and not s.dropped), None)
            if st is None:
                st = omap.orphan_statement(_Named(name, sec))
            return st, (1 << 30, ()), None
        omap.place = plugin_place

    # -- ControlMemorySize ---------------------------------------------------------------
    def _control_memory(self, r):
        outs = {o.name: o for o in self.ctx.outputs.sorted()}
        o = outs.get(r.spec.section)
        if o is None:
            raise LinkError(f"{r.spec.where}: plugin '{r.name}': no output section '{r.spec.section}'")
        data, chunks, uses, off = bytearray(), [], [], 0
        for c in _rule_order(o):
            a = max(c.align, 1)
            off = (off + a - 1) & ~(a - 1)
            data.extend(bytes(off - len(data)))
            b = bytes(c.bytes())
            data.extend(b)
            chunks.append((c.name, off, c.size))
            uses.extend((off + u.offset, u) for u in self.uses(c))
            off += c.size
        self.call(r, "init", r.spec.options)
        self.call(r, "add_blocks", Block(o.name, bytes(data), 0, o.align, chunks, uses))
        self.run(r)
        blocks = self.call(r, "get_blocks") or []
        for b in blocks:
            chunk = W.LinkerWrapper(self, r).create_chunk_with_custom_name(
                b.name, b.alignment, b.data, code=bool(o.flags & 4), writable=bool(o.flags & 1))
            self.moves.assign(r, chunk._c, None, "ControlMemorySize block")
        r.act("blocks", section=o.name, count=len(blocks), sizes=[b.size for b in blocks])
        self.call(r, "destroy")

    # -- ControlFileSize and patches after the output is written ------------------------------
    def _rewrite_output(self, fsz):
        import mmap
        ctx = self.ctx
        path = ctx.config.output
        with open(path, "r+b") as fh:
            mm = mmap.mmap(fh.fileno(), 0)
            try:
                buf = np.frombuffer(mm, np.uint8)
                for pos, data in self.patches:
                    buf[pos:pos + len(data)] = np.frombuffer(data, np.uint8)
                for r in fsz:
                    o = next((o for o in ctx.sections_out if o.name == r.spec.section), None)
                    if o is None:
                        raise LinkError(f"{r.spec.where}: plugin '{r.name}': no output section "
                                        f"'{r.spec.section}'")
                    if o.type == 8:
                        raise LinkError(f"plugin '{r.name}': output section '{o.name}' has no file contents")
                    old = bytes(buf[o.offset:o.offset + o.size])
                    self.call(r, "init", r.spec.options)
                    self.call(r, "add_blocks", Block(o.name, old, o.addr, o.align))
                    self.run(r)
                    blocks = self.call(r, "get_blocks") or []
                    new = bytearray()
                    for b in blocks:
                        a = max(b.alignment, 1)
                        new.extend(bytes(-len(new) % a))
                        new.extend(b.data)
                    if len(new) > o.size:
                        raise LinkError(f"plugin '{r.name}': the blocks returned for '{o.name}' "
                                        f"({len(new)} bytes) do not fit its {o.size} bytes")
                    buf[o.offset:o.offset + o.size] = 0
                    buf[o.offset:o.offset + len(new)] = np.frombuffer(bytes(new), np.uint8)
                    r.act("file_size", section=o.name, old_size=o.size, new_size=len(new),
                          count=len(blocks))
                    self.call(r, "destroy")
                if ctx.build_id is not None:        # the bytes changed: so does the hash
                    b = ctx.build_id
                    buf[b.output.offset + b.out_offset + 16:b.output.offset + b.out_offset + b.size] = 0
                    del buf
                    b.finalize(mm, b.output.offset + b.out_offset)
                else:
                    del buf
                mm.flush()
            finally:
                mm.close()

    # -- relocations -----------------------------------------------------------------
    def reloc_type_number(self, t):
        if isinstance(t, str):
            names = getattr(self.ctx.target, "TYPE_NAMES", {})
            for k, v in names.items():
                if v == t:
                    return k
            raise LinkError(f"unknown relocation type '{t}'")
        return int(t)

    def _type_name(self, t):
        fn = getattr(self.ctx.target, "type_name", None)
        return fn(t) if fn is not None else str(t)

    def _width(self, t):
        w = getattr(self.ctx.target, "WIDTH", None)
        return int(w[t]) if w is not None and 0 <= t < len(w) and w[t] else 4

    def uses(self, c):
        ctx = self.ctx
        f = c.file
        rel = getattr(c, "relocs", None)
        if f is None or rel is None or not len(rel):
            return []
        from ldpy.elf.format import reloc_sym, reloc_type
        syms, types = reloc_sym(rel["r_info"]), reloc_type(rel["r_info"])
        out = []
        for i, (off, t, s, a) in enumerate(zip(rel["r_offset"].tolist(), types.tolist(), syms.tolist(),
                                               rel["r_addend"].tolist())):
            out.append(Use(Chunk(c), off, t, self._type_name(t), ctx.sym_display(f, s), a, i))
        return out

    def create_use(self, rec, c, offset, reloc_type, symbol, addend):
        f = c.file
        if f is None or not hasattr(f, "global_names"):
            raise LinkError(f"plugin '{rec.name}': create_use: '{c.name}' is not an input section")
        t = self.reloc_type_number(reloc_type)
        name = symbol.encode()
        idx = None
        for i, n in enumerate(f.global_names):
            if n == name:
                idx = f.first_global + i
                break
        if idx is None:
            raise LinkError(f"plugin '{rec.name}': create_use: {f.name} has no symbol '{symbol}'")
        from ldpy.elf.format import RELOC, reloc_info
        row = np.zeros(1, c.relocs.dtype if c.relocs is not None else RELOC)
        row["r_offset"] = offset
        row["r_info"] = reloc_info(np.array([idx]), np.array([t]))
        row["r_addend"] = addend
        c.relocs = row if c.relocs is None else np.concatenate([c.relocs, row])
        return Use(Chunk(c), offset, t, self._type_name(t), symbol, addend, len(c.relocs) - 1)

    def target_data(self, use, size):
        size = size or self._width(use.type)
        c = use.chunk._c
        b = bytes(c.bytes()[use.offset:use.offset + size])
        return int.from_bytes(b, "little" if self.ctx.target.LITTLE else "big")

    def set_target_data(self, rec, use, value, size):
        size = size or self._width(use.type)
        c = use.chunk._c
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little" if self.ctx.target.LITTLE else "big")
        if self.state in W.BEFORE_SCAN:
            buf = np.array(c.bytes(), np.uint8)
            buf[use.offset:use.offset + size] = np.frombuffer(data, np.uint8)
            c.data = buf
        else:
            o = c.output
            self.patches.append((o.offset + c.out_offset + use.offset, data))
        rec.act("set_target_data", chunk=c.name, offset=use.offset, value=hex(value), size=size)

    def _reloc_callbacks(self):
        todo = [(r, t, cb) for r in self.records for t, cb in r.reloc_callbacks]
        if not todo:
            return
        ctx = self.ctx
        rt = ctx.relocs
        if rt is None or rt.empty:
            return
        addr = ctx.keys.addr
        for r, t, cb in todo:
            idx = np.flatnonzero(rt.type == t)
            for k in idx.tolist():
                sec = rt.sections[int(rt.sec_ordinal[k])]
                off = int(rt.offset[k])
                src = sec.output.addr + sec.out_offset + off if sec.output is not None else None
                u = Use(Chunk(sec), off, t, self._type_name(t), ctx.reloc_sym_display(rt, k),
                        int(rt.addend[k]), k, src, int(addr[rt.key[k]]))
                self._callback(r, cb, u)

    def _callback(self, r, cb, u):
        r.hook = "relocation callback"
        try:
            cb(u)
        except LinkError:
            raise
        except Exception as e:
            raise LinkError(self._failure(r.spec, "relocation callback", e, r.path)) from None

    # -- --reproduce ---------------------------------------------------------------------
    def reproduce_members(self, inside):
        """What --reproduce adds for the plugins: (member path under the root, file path or
        bytes), and {file path: bytes} for scripts and configs whose copies must name the
        libraries where the archive has them.  A relink runs in the root directory: a
        library named by a bare name is put there (the current directory is searched first),
        a relative path is kept, an absolute one becomes its path inside the root."""
        members, moved = [], {}
        for lib, (mod, path) in self.modules.items():
            if not os.path.isfile(str(path)):
                continue                      # an installed entry point: not copied
            if os.path.isabs(lib) or ".." in lib.split(os.sep):
                moved[lib] = inside(lib)
                members.append((inside(lib), path))
            elif os.sep in lib:
                members.append((os.path.normpath(lib), path))
            else:
                members.append((os.path.basename(path), path))
        rewrites = {}
        # (scripts come by -T or as input files: the inputs that are not ELF or archives)
        texts = list(self.ctx.config.scripts) + list(self.ctx.config.plugin_configs) + \
            list(self.ctx.loaded_paths)
        for f in dict.fromkeys(texts) if moved else ():
            if not os.path.isfile(f):
                continue
            with open(f, "rb") as fh:
                data = fh.read()
            if data[:4] == b"\x7fELF" or data[:7] in (b"!<arch>", b"!<thin>"):
                continue
            new = data
            for lib, rel in moved.items():
                new = new.replace(lib.encode(), rel.encode())
            if new != data:
                rewrites[f] = new
        for f in self.ctx.config.plugin_configs:
            if f not in self.ctx.config.scripts and os.path.isfile(f):
                members.append((inside(f), rewrites.get(f, f)))
        return members, rewrites

    def _reproduce_late_files(self):
        """Files the plugins read (or named) during the link go into the archive now."""
        if not self.reproduce_files or not self.ctx.config.reproduce:
            return
        from ldpy.reports import append_reproduce, path_inside_tar
        members = []
        for name, path in dict.fromkeys(self.reproduce_files):
            if not os.path.isfile(path):
                raise LinkError(f"plugin file for --reproduce '{path}' does not exist")
            rel = not os.path.isabs(name) and ".." not in name.split(os.sep)
            members.append((os.path.normpath(name) if rel else path_inside_tar(name), path))
        append_reproduce(self.ctx, members)

    # -- reports -----------------------------------------------------------------------
    def map_lines(self):
        lines = ["Linker Plugin Information", "", "Linker Plugins"]
        for r in self.records:
            where = f" for {r.spec.section}" if r.spec.section else ""
            opts = f" \"{r.spec.options}\"" if r.spec.options else ""
            lines.append(f"  {r.type:22} {r.name} {r.spec.library}{opts}{where}")
        lines.append("")
        for r in self.records:
            if not r.actions and not r.stats:
                continue
            lines.append(f"Plugin {r.name} ({r.type}): {len(r.actions)} modification"
                         f"{'s' if len(r.actions) != 1 else ''}")
            for a in r.actions:
                rest = ", ".join(f"{k}={_fmt(v)}" for k, v in a.items()
                                 if k not in ("op", "state") and v not in ("", None))
                lines.append(f"  [{a['state']}] {a['op']}" + (f": {rest}" if rest else ""))
            for k, v in r.stats:
                lines.append(f"  stat {k}: {v}")
            lines.append("")
        return lines

    def activity(self):
        return {"plugins": [{"name": r.name, "type": r.type, "library": r.spec.library, "path": str(r.path),
                             "options": r.spec.options, "output_section": r.spec.section,
                             "cpu_seconds": round(r.seconds, 6), "actions": r.actions,
                             "stats": dict(r.stats)} for r in self.records],
                "point_cpu_seconds": {k: round(v, 6) for k, v in self.point_seconds.items()}}

    def write_activity_file(self, path):
        import json
        try:
            with open(path, "w") as fh:
                json.dump(self.activity(), fh, indent=1, default=str)
                fh.write("\n")
        except OSError as e:
            raise LinkError(f"cannot write plugin activity file '{path}': {e.strerror}")


def _feed_views(fn, view_class, items):
    """fn(view) for each item, through one view object re-pointed at each item in turn:
    a hook that keeps its view (a reference beyond this loop's) makes the next item get
    a new one, so every view a plugin holds stays what it was.  Allocating a view per
    item would cost ldpy more than a simple hook costs itself (llvm-big: 121,243 sections).
    (Plain attribute stores: the interpreter specializes them, a descriptor call is slower.)"""
    v = view_class(None)
    if view_class.SLOT == "_c":
        for item in items:
            v._c = item
            fn(v)
            if getrefcount(v) > 2:        # (here: `v` and getrefcount's argument)
                v = view_class(None)
    else:
        for item in items:
            v._s = item
            fn(v)
            if getrefcount(v) > 2:
                v = view_class(None)


def _fmt(v):
    if isinstance(v, list):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


def _rule_order(o):
    """The chunks of an output section in layout order (rule by rule for a script's)."""
    dc = getattr(o, "desc_chunks", None)
    if dc is None:
        return list(o.chunks)
    return [c for pos in sorted(dc) for c in dc[pos]]


class _Named:
    """What ScriptOutputMap.orphan_statement needs of a section sent to a new output section."""

    def __init__(self, name, sec):
        self.name, self.type, self.flags, self.align = name, sec.type, sec.flags, sec.align


class Moves:
    """Chunk moves between rules (CreatingSections), checked for balance: a chunk
    taken out of a rule must be put in another before layout."""

    def __init__(self, m):
        self.m = m
        self.removed = {}             # id(chunk) -> (chunk, rule text, plugin name)
        self.pending = {}             # id(rule's desc) -> chunks added to a rule not inserted yet

    def _rule_chunks(self, rule):
        o = rule._o
        if rule.pos is None and rule._desc is not None:       # created, not inserted yet
            return self.pending.setdefault(id(rule._desc), [])
        if rule.pos is None:
            return o.chunks
        return o.desc_chunks.setdefault(rule.pos, [])

    def _chunk_rule(self, c):
        """The rule (output, pos) a chunk is in now, or None."""
        o = c.output
        if o is None or not hasattr(o, "chunks"):
            return None
        dc = getattr(o, "desc_chunks", None)
        if dc is None:
            return Rule(o, None)
        for pos, cs in dc.items():
            if any(x is c for x in cs):
                stmt = o.stmt
                cmds = stmt.commands if stmt is not None else []
                desc = cmds[pos] if isinstance(pos, int) and pos < len(cmds) else None
                return Rule(o, pos, desc)
        return None

    def add(self, rec, rule, c, annotation):
        cur = self._chunk_rule(c)
        if cur is not None and id(c) not in self.removed:
            raise LinkError(f"plugin '{rec.name}': the chunk '{c.name}' cannot be added to the rule "
                            f"'{rule}' because it is in the rule '{cur}' and has not been removed from there")
        self.removed.pop(id(c), None)
        o = rule._o
        if rule.pos is None and rule._desc is not None:
            self._rule_chunks(rule).append(c)
        elif rule.pos is None:
            o.add(c)
        else:
            o.add(c, rule.pos)
        rec.act("add_chunk", chunk=_chunk_name(c), rule=str(rule), annotation=annotation)

    def remove(self, rec, rule, c, annotation):
        lst = self._rule_chunks(rule)
        at = next((i for i, x in enumerate(lst) if x is c), None)
        if at is None:
            raise LinkError(f"plugin '{rec.name}': the chunk '{c.name}' is not in the rule '{rule}'")
        del lst[at]
        o = rule._o
        if rule.pos is not None:
            o.chunks[:] = [x for x in o.chunks if x is not c]
        c.output = None
        if c.is_input:
            self.removed[id(c)] = (c, str(rule), rec.name)
        rec.act("remove_chunk", chunk=_chunk_name(c), rule=str(rule), annotation=annotation)

    def update(self, rec, rule, chunks, annotation):
        before = [_chunk_name(c) for c in self._rule_chunks(rule)]
        keep = {id(c) for c in chunks}
        for c in list(self._rule_chunks(rule)):
            if id(c) not in keep and c.is_input:
                self.removed[id(c)] = (c, str(rule), rec.name)
            c.output = None
        o = rule._o
        mine = {id(c) for c in self._rule_chunks(rule)}
        for c in chunks:
            cur = self._chunk_rule(c)
            if cur is not None and id(c) not in mine and id(c) not in self.removed:
                raise LinkError(f"plugin '{rec.name}': the chunk '{c.name}' cannot be added to the rule "
                                f"'{rule}' because it is in the rule '{cur}' and has not been removed from there")
            if cur is not None and id(c) not in mine:
                self._detach(c)
        lst = self._rule_chunks(rule)
        if rule.pos is not None:
            o.chunks[:] = [x for x in o.chunks if id(x) not in mine]
        else:
            o.chunks[:] = []
        lst[:] = []
        for c in chunks:
            self.removed.pop(id(c), None)
            if rule.pos is None:
                o.add(c)
            else:
                o.add(c, rule.pos)
        rec.act("update_chunks", rule=str(rule), before=before, after=[_chunk_name(c) for c in chunks],
                annotation=annotation)

    def _detach(self, c):
        cur = self._chunk_rule(c)
        if cur is None:
            return
        lst = self._rule_chunks(cur)
        lst[:] = [x for x in lst if x is not c]
        if cur.pos is not None:
            cur._o.chunks[:] = [x for x in cur._o.chunks if x is not c]
        c.output = None

    def create_rule(self, rec, output, annotation):
        from ldpy.script import ast
        o = output._o
        if o is None or getattr(o, "stmt", None) is None or o.stmt.node is None:
            raise LinkError(f"plugin '{rec.name}': create_rule: output section '{output.name}' does not "
                            f"come from a SECTIONS statement of a linker script")
        # (the pattern only names the rule in -Map: matching is over by now)
        desc = ast.InputSectionDesc("*", [ast.SectionPattern(f"<plugin {rec.name}: {annotation}>")],
                                    where=f"plugin {rec.name}")
        desc.plugin_annotation = annotation
        return Rule(o, None, desc, annotation)

    def insert_rule(self, rec, output, rule, new_rule, after):
        o = output._o
        stmt = o.stmt
        if new_rule._o is not o or new_rule.pos is not None:
            raise LinkError(f"plugin '{rec.name}': insert rule: the rule was not created for "
                            f"'{output.name}' or is inserted already")
        at = rule.pos + 1 if after else rule.pos
        cmds = stmt.node.commands
        cmds.insert(at, new_rule._desc)
        # (chunks are kept by command position: shift those at and after the new rule)
        from ldpy.script.place import ORPHAN_POS
        shifted = {}
        for pos, cs in o.desc_chunks.items():
            shifted[pos + 1 if pos != ORPHAN_POS and pos >= at else pos] = cs
        o.desc_chunks.clear()
        o.desc_chunks.update(shifted)
        new_rule.pos = at
        o.desc_chunks.setdefault(at, [])
        for c in self.pending.pop(id(new_rule._desc), []):
            o.add(c, at)
        rec.act("insert_rule", output=output.name, rule=new_rule.text, after=str(rule) if after else None,
                before=None if after else str(rule))

    def assign(self, rec, c, name, annotation):
        """A chunk to the end of output section NAME (None: where the rules put it)."""
        ctx = self.m.ctx
        omap = ctx.outputs
        if self._chunk_rule(c) is not None and id(c) not in self.removed:
            raise LinkError(f"plugin '{rec.name}': the chunk '{c.name}' is in the rule "
                            f"'{self._chunk_rule(c)}': remove it first")
        self.removed.pop(id(c), None)
        if name is None:
            placed = omap.place(c, None)
            if placed is None:
                raise LinkError(f"plugin '{rec.name}': the script discards '{c.name}'")
            st, key = placed[0], placed[1]
        else:
            st = next((s for s in omap.statements if s.name == name and not s.dropped), None)
            if st is None:
                st = omap.orphan_statement(_Named(name, c))
            key = (1 << 30, ())
        out = omap.output_for(st, c.type, c.flags)
        out.add(c, key[0])
        rec.act("assign_to_output_section", chunk=_chunk_name(c), output=out.name, annotation=annotation)

    def check(self):
        for c, rule, plugin in self.removed.values():
            if any(x is c for cs in self.pending.values() for x in cs):
                raise LinkError(f"the chunk '{_chunk_name(c)}' was added by the plugin '{plugin}' to a rule "
                                f"that was never inserted")
            raise LinkError(f"the chunk '{_chunk_name(c)}' was removed from the rule '{rule}' by the plugin "
                            f"'{plugin}' but has not been inserted back")


def _chunk_name(c):
    f = c.file
    return f"{f.name}({c.name})" if f is not None else c.name
