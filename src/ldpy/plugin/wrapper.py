"""LinkerWrapper: the façade each plugin gets as `self.linker`, the only way a
plugin reads or changes the link (ELD's LinkerWrapper).

Every call that depends on the link's progress names the link states it is
valid in; called at another point it raises PluginStateError, whose one line
names the plugin, the call, the current state and the valid ones.  Every
change is recorded (manager.Record) for -Map's "Linker Plugin Information"
and --plugin-activity-file.
"""
import fnmatch
import os

import numpy as np

from ldpy.diag import LinkError, diag
from ldpy.elf.format import (SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, SHT_PROGBITS, SHT_NOBITS,
                             STT_SECTION)
from ldpy.plugin import STATES
from ldpy.plugin.adt import InputFile, Section, Chunk, Rule, OutputSection, Symbol, Use, Segment

_CTX = [None]


def current_wrapper():
    return _CTX[0]


class PluginStateError(LinkError):
    """A façade call at a link state that does not allow it."""


class PluginFatal(LinkError):
    """A plugin's fatal diagnostic."""


BEFORE_MERGING = ("ActBeforeRuleMatching", "BeforeLayout", "ActBeforeSectionMerging")
CHUNK_MOVES = ("CreatingSections", "ActBeforePerformingLayout")
BEFORE_SCAN = ("Initializing",) + BEFORE_MERGING + CHUNK_MOVES
HAS_OUTPUTS = CHUNK_MOVES + ("CreatingSegments", "AfterLayout", "ActBeforeWritingOutput")
LAID_OUT = ("CreatingSegments", "AfterLayout", "ActBeforeWritingOutput")
AFTER_INPUTS = STATES


def states(*valid):
    """The link states a façade method may be called in."""
    def wrap(fn):
        def checked(self, *args, **kw):
            st = self._m.state
            if st not in valid:
                raise PluginStateError(
                    f"plugin '{self._r.name}': link state '{st}' is invalid for the API "
                    f"'{fn.__name__}'; valid link states: [{', '.join(valid)}]")
            return fn(self, *args, **kw)
        checked.__name__ = fn.__name__
        checked.__doc__ = fn.__doc__
        checked.valid_states = valid
        return checked
    return wrap


def symbols_in_section(chunk):
    """Global symbols defined in an input section chunk (any chunk: those of its inputs)."""
    ctx = current_wrapper()
    ids = {id(chunk)} | {id(s) for s in getattr(chunk, "inputs", ())}
    return [s for s in ctx.symtab.symbols if s.section is not None and id(s.section) in ids]


def global_symbols_of(f):
    ctx = current_wrapper()
    return [s for s in ctx.symtab.symbols if s.file is f]


class LinkerWrapper:
    def __init__(self, manager, record):
        self._m = manager
        self._r = record              # manager.Record of this plugin
        self._ctx = manager.ctx

    # -- the link -------------------------------------------------------------------
    def get_state(self):
        return self._m.state

    def is_state(self, name):
        return self._m.state == name

    def get_linker_version(self):
        from ldpy import __version__
        return f"ldpy {__version__}"

    def get_output_file_name(self):
        return self._ctx.config.output

    def link_mode(self):
        cfg = self._ctx.config
        if cfg.shared:
            return "SharedLibrary"
        if cfg.pie:
            return "PIE"
        return "DynamicExecutable" if self._ctx.shared_files else "StaticExecutable"

    def is_64bits(self):
        return bool(self._ctx.target.IS64)

    def is_verbose(self):
        return bool(self._ctx.config.verbose)

    def match_pattern(self, pattern, name):
        return fnmatch.fnmatchcase(name, pattern)

    def get_input_files(self):
        return [InputFile(f) for f in self._ctx.files if hasattr(f, "sections")]

    # -- diagnostics ------------------------------------------------------------------
    def fatal(self, msg):
        """Stop the link: one error line naming the plugin."""
        raise PluginFatal(f"plugin '{self._r.name}': {msg}")

    def error(self, msg):
        """An error: the link goes on to find more, then fails."""
        diag.error(f"plugin '{self._r.name}': {msg}")

    def warning(self, msg):
        diag.warn(f"plugin '{self._r.name}': {msg}")

    def note(self, msg):
        import sys
        print(f"ldpy: note: plugin '{self._r.name}': {msg}", file=sys.stderr)

    def verbose(self, msg):
        if self._ctx.config.verbose or self._m.trace:
            import sys
            print(f"ldpy: verbose: plugin '{self._r.name}': {msg}", file=sys.stderr)

    # -- symbols ----------------------------------------------------------------------
    def get_symbol(self, name):
        """The link's symbol NAME (a Symbol), or None."""
        s = self._ctx.symtab.get(name.encode())
        return Symbol(s) if s is not None else None

    def get_all_symbols(self):
        return [Symbol(s) for s in self._ctx.symtab.symbols]

    def enable_visit_symbol(self):
        """Ask for LinkerPlugin.visit_symbol calls (from init)."""
        if self._m.state != "Initializing":
            raise PluginStateError(f"plugin '{self._r.name}': link state '{self._m.state}' is invalid "
                                   f"for the API 'enable_visit_symbol'; valid link states: [Initializing]")
        self._r.visit_symbol = True

    @states("Initializing", *BEFORE_MERGING)
    def preserve_symbol(self, name):
        """Keep NAME's section through --gc-sections (a root, like -u)."""
        self._ctx.config.undefined.append(name)
        self._ctx.symtab.reference(name.encode(), soft=True)
        self._r.act("preserve_symbol", symbol=name)

    @states(*BEFORE_SCAN)
    def add_referenced_symbol(self, name):
        """Make the link reference NAME: it must be defined (inputs are read by now, so no
        archive member is pulled for it) and its section is a --gc-sections root."""
        self._ctx.symtab.reference(name.encode())
        self._ctx.config.undefined.append(name)
        self._r.act("add_referenced_symbol", symbol=name)

    @states(*BEFORE_SCAN)
    def reset_symbol(self, name, chunk, value=0):
        """Define the undefined symbol NAME at CHUNK+VALUE."""
        from ldpy.symbols import UNDEF
        s = self._ctx.symtab.get(name.encode())
        if s is not None and s.kind != UNDEF:
            raise LinkError(f"plugin '{self._r.name}': reset_symbol: '{name}' is already defined")
        self._define_at(name, chunk, value)
        self._r.act("reset_symbol", symbol=name, chunk=chunk.name, value=value)

    @states(*BEFORE_SCAN)
    def add_symbol_to_chunk(self, chunk, name, value=0):
        """A new symbol NAME at CHUNK+VALUE (global; hidden from the dynamic table)."""
        s = self._ctx.symtab.get(name.encode())
        from ldpy.symbols import UNDEF
        if s is not None and s.kind != UNDEF:
            raise LinkError(f"plugin '{self._r.name}': add_symbol_to_chunk: '{name}' is already defined")
        self._define_at(name, chunk, value)
        self._r.act("add_symbol_to_chunk", symbol=name, chunk=chunk.name, value=value)

    def _define_at(self, name, chunk, value):
        c = chunk._c
        sym = self._ctx.symtab.define_synthetic(name.encode(), c.output, only_if_referenced=False)
        self._ctx.linker_syms[sym.name] = lambda: c.output.addr + c.out_offset + value
        self._m.symbol_chunks.append((sym, c))

    @states(*BEFORE_SCAN, "CreatingSegments", "AfterLayout")
    def replace_symbol_content(self, name, data):
        """Overwrite the bytes of symbol NAME (a definition in an input section) with DATA
        (no longer than the symbol)."""
        s = self._ctx.symtab.get(name.encode())
        if s is None or s.section is None:
            raise LinkError(f"plugin '{self._r.name}': replace_symbol_content: '{name}' is not "
                            f"defined in an input section")
        data = bytes(data)
        if len(data) > s.size:
            raise LinkError(f"plugin '{self._r.name}': replace_symbol_content: {len(data)} bytes do not "
                            f"fit '{name}' ({s.size} bytes)")
        sec = s.section
        buf = np.array(sec.bytes(), np.uint8)
        buf[s.value:s.value + len(data)] = np.frombuffer(data, np.uint8)
        sec.data = buf
        self._r.act("replace_symbol_content", symbol=name, size=len(data))

    # -- chunks -----------------------------------------------------------------------
    def _new_chunk(self, name, flags, type_, alignment, data, size=None):
        from ldpy.synthetic import Synthetic
        c = Synthetic(name, type_, flags, max(int(alignment), 1))
        if type_ == SHT_NOBITS:
            c.size = int(size)
        else:
            c.data = np.frombuffer(bytes(data), np.uint8).copy()
            c.size = len(c.data)
        c.plugin = self._r.name
        self._r.act("create_chunk", chunk=name, size=c.size, alignment=c.align)
        return Chunk(c)

    @states(*BEFORE_SCAN)
    def create_code_chunk(self, name, alignment, data):
        return self._new_chunk(f".text.codechunk.{name}.{self._r.name}", SHF_ALLOC | SHF_EXECINSTR,
                               SHT_PROGBITS, alignment, data)

    @states(*BEFORE_SCAN)
    def create_data_chunk(self, name, alignment, data):
        return self._new_chunk(f".data.codechunk.{name}.{self._r.name}", SHF_ALLOC | SHF_WRITE,
                               SHT_PROGBITS, alignment, data)

    @states(*BEFORE_SCAN)
    def create_chunk_with_custom_name(self, name, alignment, data, code=False, writable=False):
        flags = SHF_ALLOC | (SHF_EXECINSTR if code else 0) | (SHF_WRITE if writable else 0)
        return self._new_chunk(name, flags, SHT_PROGBITS, alignment, data)

    @states(*BEFORE_SCAN)
    def create_bss_chunk(self, name, alignment, size):
        return self._new_chunk(f".bss.{name}.{self._r.name}", SHF_ALLOC | SHF_WRITE, SHT_NOBITS,
                               alignment, b"", size)

    @states(*BEFORE_SCAN)
    def create_padding_chunk(self, alignment, size):
        return self._new_chunk(f".bss.paddingchunk.{self._r.name}", SHF_ALLOC, SHT_PROGBITS,
                               alignment, bytes(int(size)))

    @states(*CHUNK_MOVES)
    def add_chunk(self, rule, chunk, annotation=""):
        """Add CHUNK at the end of RULE; a chunk in another rule must be removed first."""
        self._m.moves.add(self._r, rule, chunk._c, annotation)

    @states(*CHUNK_MOVES)
    def remove_chunk(self, rule, chunk, annotation=""):
        """Take CHUNK out of RULE; it must be added to some rule again before layout."""
        self._m.moves.remove(self._r, rule, chunk._c, annotation)

    @states(*CHUNK_MOVES)
    def update_chunks(self, rule, chunks, annotation=""):
        """RULE's chunks become CHUNKS, in this order (ones it had and does not get back
        must be added elsewhere)."""
        self._m.moves.update(self._r, rule, [c._c for c in chunks], annotation)

    @states(*CHUNK_MOVES)
    def create_rule(self, output, annotation):
        """A new, empty rule for OUTPUT (a script's output section), to be inserted
        with insert_after_rule / insert_before_rule."""
        if not annotation:
            raise LinkError(f"plugin '{self._r.name}': create_rule needs an annotation")
        return self._m.moves.create_rule(self._r, output, annotation)

    @states(*CHUNK_MOVES)
    def insert_after_rule(self, output, rule, new_rule):
        self._m.moves.insert_rule(self._r, output, rule, new_rule, after=True)

    @states(*CHUNK_MOVES)
    def insert_before_rule(self, output, rule, new_rule):
        self._m.moves.insert_rule(self._r, output, rule, new_rule, after=False)

    @states(*CHUNK_MOVES)
    def assign_to_output_section(self, chunk, name, annotation=""):
        """Put CHUNK (a new chunk, or one removed from its rule) at the end of output
        section NAME, made when there is none."""
        self._m.moves.assign(self._r, chunk._c, name, annotation)

    def is_chunk_movable(self, chunk):
        return self._m.state in CHUNK_MOVES

    # -- layout -----------------------------------------------------------------------
    def get_all_output_sections(self):
        """Output sections in layout order.  Before section merging: the script's
        output section statements (no chunks yet)."""
        return self._m.output_sections()

    def get_output_section(self, name_or_section):
        if isinstance(name_or_section, str):
            return next((o for o in self._m.output_sections() if o.name == name_or_section), None)
        return self._m.output_of(name_or_section._c)

    @states(*BEFORE_MERGING)
    def set_output_section(self, section, name, annotation=""):
        """Send input SECTION to output section NAME instead of where the rules put it."""
        old = self._m.output_of(section._c)
        self._m.overrides[id(section._c)] = name
        self._r.act("set_output_section", section=f"{section.file.name}({section.name})",
                    old=old.name if old is not None else None, new=name, annotation=annotation)

    def get_rules(self, output):
        return output.rules()

    @states(*LAID_OUT)
    def get_segments(self):
        return [Segment(p) for p in self._ctx.phdrs]

    @states(*LAID_OUT)
    def get_segments_for_output_section(self, output):
        return [Segment(p) for p in self._ctx.phdrs if any(o is output._o for o in p.sections)]

    @states("CreatingSegments", "AfterLayout")
    def reassign_virtual_addresses(self):
        """Lay the output out again (after changes to sizes or chunks' contents)."""
        self._m.relayout()
        self._r.act("reassign_virtual_addresses")

    @states(*LAID_OUT)
    def get_output_section_contents(self, output):
        """The bytes of OUTPUT's chunks at their offsets, before relocation."""
        o = output._o
        buf = np.zeros(o.size if o.type != SHT_NOBITS else 0, np.uint8)
        for c in o.chunks:
            b = c.bytes()
            if len(b) and len(buf):
                buf[c.out_offset:c.out_offset + len(b)] = b
        return bytes(buf)

    # -- relocations ------------------------------------------------------------------
    def get_uses(self, chunk):
        """The relocations of an input section chunk (Use objects), in offset order."""
        if self._m.state == "Initializing":
            raise PluginStateError(f"plugin '{self._r.name}': link state 'Initializing' is invalid "
                                   f"for the API 'get_uses'; valid link states: [{', '.join(STATES[1:])}]")
        return self._m.uses(chunk._c)

    @states(*BEFORE_SCAN)
    def create_use(self, chunk, offset, reloc_type, symbol, addend=0):
        """A new relocation in input section CHUNK at OFFSET against SYMBOL (a name the
        chunk's file knows)."""
        u = self._m.create_use(self._r, chunk._c, offset, reloc_type, symbol, addend)
        self._r.act("create_use", chunk=chunk.name, offset=offset, type=u.type_name, symbol=symbol,
                    addend=addend)
        return u

    def get_target_data(self, use, size=None):
        """The bytes the relocation patches, as an unsigned integer: before writing, the
        input's bytes (the implicit addend); after writing, the final value."""
        return self._m.target_data(use, size)

    @states(*BEFORE_SCAN, "CreatingSegments", "AfterLayout", "ActBeforeWritingOutput")
    def set_target_data(self, use, value, size=None):
        """Patch the place of USE: before layout the input bytes (the relocation then adds
        to them where it keeps the addend in place); after layout the final value, which
        replaces the relocation's result."""
        self._m.set_target_data(self._r, use, value, size)

    @states("Initializing", *BEFORE_MERGING, *CHUNK_MOVES)
    def register_reloc(self, reloc_type, callback):
        """CALLBACK(use) for every relocation of RELOC_TYPE (number or name) once
        addresses are known (AfterLayout); the Use carries source and target addresses."""
        t = self._m.reloc_type_number(reloc_type)
        self._r.reloc_callbacks.append((t, callback))

    # -- files, configuration, environment -------------------------------------------
    def find_config_file(self, name):
        """The path of NAME: as given, else in the -L directories, LDPY_PLUGIN_PATH and
        the directories of the link's scripts; None if not found."""
        path = self._m.find_file(name)
        if path is not None:
            self._m.config_names[path] = name
        return path

    def get_file_contents(self, path):
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise LinkError(f"plugin '{self._r.name}': cannot read '{path}': {e.strerror}")
        self._m.note_read(self._m.config_names.get(path, path), path)
        return data.decode("utf-8", "replace")

    def read_ini_file(self, path):
        """An INI file as {section: {key: value}}."""
        import configparser
        cp = configparser.ConfigParser(interpolation=None, delimiters=("=",))
        cp.optionxform = str
        try:
            with open(path) as fh:
                cp.read_file(fh)
        except OSError as e:
            raise LinkError(f"plugin '{self._r.name}': cannot read INI file '{path}': {e.strerror}")
        except configparser.Error as e:
            raise LinkError(f"plugin '{self._r.name}': {path}: bad INI file: {str(e).splitlines()[0]}")
        self._m.note_read(self._m.config_names.get(path, path), path)
        return {s: dict(cp[s]) for s in cp.sections()}

    def write_ini_file(self, data, path):
        import configparser
        cp = configparser.ConfigParser(interpolation=None)
        cp.optionxform = str
        for s, kv in data.items():
            cp[s] = {k: str(v) for k, v in kv.items()}
        try:
            with open(path, "w") as fh:
                cp.write(fh)
        except OSError as e:
            raise LinkError(f"plugin '{self._r.name}': cannot write INI file '{path}': {e.strerror}")

    def get_env(self, name, default=None):
        return os.environ.get(name, default)

    # -- garbage collection ------------------------------------------------------------
    @states("Initializing")
    def request_garbage_collection(self):
        """Run --gc-sections in this link even without the option."""
        self._ctx.config.gc_sections = True
        self._r.act("request_garbage_collection")

    # -- plugin data and statistics ------------------------------------------------------
    def record_plugin_data(self, key, data, annotation=""):
        self._m.plugin_data.setdefault(self._r.name, []).append((key, data, annotation))

    def get_plugin_data(self, plugin_name):
        return list(self._m.plugin_data.get(plugin_name, ()))

    def add_link_stat(self, name, value):
        self._r.stats.append((str(name), str(value)))

    # -- sorting before section merging (ActBeforeSectionMerging) -------------------------
    @states("ActBeforeSectionMerging")
    def get_input_sections_for_section_merging(self):
        """The live input sections in the order section merging takes them: input order,
        or the order sort_input_sections_for_section_merging left.  Each rule's sections
        are placed in this order (a script's SORT() still sorts within its rule)."""
        return list(map(Section, self._m.merge_pool()))

    @states("ActBeforeSectionMerging")
    def sort_input_sections_for_section_merging(self, less=None, annotation="", key=None):
        """Stable-sort the pool section merging takes its input from: by KEY(section), or by
        LESS(a, b) (true when a goes before b, ELD's comparator)."""
        import functools
        views = list(map(Section, self._m.merge_pool()))
        if key is None and less is None:
            raise LinkError(f"plugin '{self._r.name}': sort_input_sections_for_section_merging "
                            f"needs a comparator (less) or a key")
        if key is None:
            key = functools.cmp_to_key(lambda a, b: -1 if less(a, b) else (1 if less(b, a) else 0))
        views.sort(key=key)
        self._m.set_merge_order([v._c for v in views])
        self._r.act("sort_input_sections_for_merging", annotation=annotation, sections=len(views))

    # -- more of ELD's LinkerWrapper ----------------------------------------------------------
    @states("ActBeforeSectionMerging", *CHUNK_MOVES, "CreatingSegments")
    def link_sections(self, a, b):
        """Output section A's sh_link becomes output section B's index (ELD's linkSections)."""
        self._m.links[a.name] = b.name
        self._r.act("link_sections", output=a.name, link=b.name)
        self.verbose(f"chaining sections {a.name} and {b.name}")

    @states(*LAID_OUT)
    def get_segment_table(self):
        return [Segment(p) for p in self._ctx.phdrs]

    def get_current_link_state_as_str(self):
        return self._m.state

    def is_32bits(self):
        return not self._ctx.target.IS64

    def get_repository_version(self):
        from ldpy import __version__
        return f"ldpy {__version__} (Python {'.'.join(map(str, __import__('sys').version_info[:3]))})"

    def is_multi_threaded(self):
        return False                  # hooks run on the link's main thread

    def get_plugin_thread_count(self):
        return 1

    def is_timing_enabled(self):
        """Per-plugin CPU times are always kept (--plugin-activity-file has them)."""
        return True

    def is_post_lto_phase(self):
        return False                  # plugins run once, after LTO objects are read

    def set_linker_fatal_error(self):
        """Fail the link once the running hook returns (ELD: as soon as it can)."""
        self._m.fatal.append(self._r.name)
        self._r.act("set_linker_fatal_error")

    def get_unbalanced_chunk_removes(self):
        """(Chunk, rule text) of the chunks taken out of a rule and not put back yet."""
        return [(Chunk(c), rule) for c, rule, _ in self._m.moves.removed.values()]

    def get_unbalanced_chunk_adds(self):
        """Always empty: ldpy refuses to add a chunk that is still in another rule."""
        return []

    @states("ActBeforeSectionMerging", *CHUNK_MOVES)
    def add_chunk_to_output(self, chunk, annotation=""):
        """Put CHUNK where the script's rules (or the default layout) place it."""
        if self._m.state == "ActBeforeSectionMerging":
            raise LinkError(f"plugin '{self._r.name}': add_chunk_to_output before section merging is not "
                            f"supported by ldpy (sections are placed by the rules then): call it from "
                            f"CreatingSections or ActBeforePerformingLayout")
        self._m.moves.assign(self._r, chunk._c, None, annotation or "add_chunk_to_output")

    @states("ActBeforePerformingLayout", "CreatingSegments", "AfterLayout")
    def reset_offset(self, output):
        """Let the layout place OUTPUT again: ldpy's layout assigns every offset on each run
        (reassign_virtual_addresses), so this only records the old offset."""
        self._r.act("reset_offset", output=output.name, old_offset=output.offset)

    @states("ActBeforeSectionMerging", *HAS_OUTPUTS)
    def get_output_section_and_rule(self, section):
        """(OutputSection, Rule) that take SECTION: where it is once merged, else the
        first rule that matches it."""
        c = section._c
        if c.output is not None and hasattr(c.output, "chunks"):
            rule = self._m.moves._chunk_rule(c)
            return OutputSection(c.output), rule
        out = self._m.output_of(c)
        if out is None:
            return None, None
        return out, next((r for r in out.rules() if self._m.rule_matches(r, c)), None)

    def does_rule_match_with_section(self, rule, section):
        """Does RULE's input section description take SECTION (file and section patterns,
        flags; not which rule comes first)?"""
        return self._m.rule_matches(rule, section._c)

    @states(*BEFORE_SCAN)
    def remove_symbol_table_entry(self, symbol):
        """Leave the global SYMBOL out of .symtab (its contents stay)."""
        self._m.symtab_removed.add(symbol._s.name)
        self._r.act("remove_symbol", symbol=symbol.name)

    def add_file_to_reproduce_tar(self, path):
        """With --reproduce, FILE goes into the archive too (a file the plugin made or read)."""
        if self._ctx.config.reproduce:
            self._m.reproduce_files.append((path, path))

    def write_small_json_file(self, path, value):
        import json
        try:
            with open(path, "w") as fh:
                json.dump(value, fh, indent=1)
                fh.write("\n")
        except OSError as e:
            raise LinkError(f"plugin '{self._r.name}': cannot write '{path}': {e.strerror}")
        return True

    def get_linker_config(self):
        """The parsed command line (a read-only look: ldpy's Config)."""
        import copy
        return copy.copy(self._ctx.config)

    def get_uninit_buffer(self, size):
        return bytearray(int(size))

    def get_buffer(self, path):
        """A file's bytes (None when it cannot be read)."""
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        self._m.note_read(self._m.config_names.get(path, path), path)
        return data

    def get_plugin(self):
        return self._r.obj

    def get_link_mode(self):
        return self.link_mode()

    def set_preserve_symbol(self, symbol):
        return self.preserve_symbol(symbol.name if isinstance(symbol, Symbol) else symbol)

    @states(*BEFORE_SCAN)
    def create_data_chunk_with_custom_name(self, name, alignment, data):
        return self.create_chunk_with_custom_name(name, alignment, data, writable=True)

    # ELD's diagnostic IDs: a format with %0, %1, ... placeholders and a severity
    def _diag_id(self, severity, fmt):
        self._m.diag_formats.append((severity, fmt))
        return len(self._m.diag_formats) - 1

    def get_fatal_diag_id(self, fmt):
        return self._diag_id("fatal", fmt)

    def get_error_diag_id(self, fmt):
        return self._diag_id("error", fmt)

    def get_warning_diag_id(self, fmt):
        return self._diag_id("warning", fmt)

    def get_note_diag_id(self, fmt):
        return self._diag_id("note", fmt)

    def get_verbose_diag_id(self, fmt):
        return self._diag_id("verbose", fmt)

    def report_diag(self, diag_id, *args):
        """Issue the diagnostic DIAG_ID (from get_*_diag_id) with its %N replaced by ARGS."""
        import re
        try:
            severity, fmt = self._m.diag_formats[diag_id]
        except (IndexError, TypeError):
            raise LinkError(f"plugin '{self._r.name}': report_diag: unknown diagnostic id {diag_id!r}")
        msg = re.sub(r"%(\d+)", lambda m: str(args[int(m.group(1))]) if int(m.group(1)) < len(args)
                     else m.group(0), fmt)
        getattr(self, severity)(msg)
        return True

    def get_rule_matching_section_name(self, section):
        return None                   # ldpy matches rules by the section's own name

    def get_rule_matching_section_name_map(self, input_file):
        return None

    # -- ELD calls ldpy does not offer: one clear error each --------------------------------
    def get_module(self):
        self._unsupported("get_module", "ELD's internal module; the façade is the way in")

    def get_linker_script(self):
        self._unsupported("get_linker_script", "get_all_output_sections() and OutputSection.rules() "
                          "show the script's statements and rules")

    def create_timer(self, *args, **kw):
        self._unsupported("create_timer", "each plugin's CPU time is in --plugin-activity-file; "
                          "use time.process_time()")

    def get_relocation_handler(self):
        self._unsupported("get_relocation_handler", "Use.type_name names a relocation; "
                          "register_reloc takes a name or number")

    def delete_dwarf_info_for_input_file(self, *args, **kw):
        self._unsupported("delete_dwarf_info_for_input_file", "no DWARF reader for plugins")

    def show_rule_matching_section_name_in_diagnostics(self):
        self._unsupported("show_rule_matching_section_name_in_diagnostics",
                          "there are no rule-matching section names")

    def _unsupported(self, call, why):
        raise LinkError(f"plugin '{self._r.name}': {call} is not supported by ldpy ({why})")

    def register_command_line_option(self, option, has_value, handler):
        self._unsupported("register_command_line_option", "ldpy refuses options it does not know; "
                          "pass plugin options in the PLUGIN_* command or --plugin-config 'Options'")

    def add_symbol(self, *args, **kw):
        self._unsupported("add_symbol", "it defines bitcode symbols for an LTO plugin; use "
                          "add_symbol_to_chunk")

    def create_bitcode_section(self, *args, **kw):
        self._unsupported("create_bitcode_section", "ldpy's LTO goes through GCC/LLVM's -plugin")

    def set_section_name(self, *args, **kw):
        self._unsupported("set_section_name", "input section names are fixed once read; "
                          "set_output_section places a section elsewhere")

    def set_rule_matching_input(self, *args, **kw):
        self._unsupported("set_rule_matching_input", "it is for post-LTO sections")

    def set_rule_matching_section_name_map(self, *args, **kw):
        self._unsupported("set_rule_matching_section_name_map", "use set_output_section")

    def set_auxiliary_symbol_name_map(self, *args, **kw):
        self._unsupported("set_auxiliary_symbol_name_map", "diagnostics name symbols as read")

    def run_garbage_collection(self, phase=""):
        self._unsupported("run_garbage_collection", "--gc-sections runs once, after rule matching; "
                          "request_garbage_collection asks for it")

    def finish_assign_output_sections(self):
        """Nothing to do: set_output_section takes effect at once."""
        return None

    def apply_relocations(self, buf):
        self._unsupported("apply_relocations", "relocations are applied once, to the output file; "
                          "get_output_section_contents and ControlFileSize plugins see relocated bytes")

    def do_relocation(self):
        self._unsupported("do_relocation", "relocations are applied once, when the output is written")

    def get_dwarf_info_for_input_file(self, *args, **kw):
        self._unsupported("get_dwarf_info_for_input_file", "no DWARF reader for plugins; read "
                          "the file's .debug_* sections with Section.contents()")

    def load_library(self, name):
        self._unsupported("load_library", "a Python plugin imports what it needs")

    def get_function(self, *args, **kw):
        self._unsupported("get_function", "a Python plugin imports what it needs")

    def get_tar_writer(self, name):
        self._unsupported("get_tar_writer", "use Python's tarfile module")

    def get_image_layout_checksum(self):
        self._unsupported("get_image_layout_checksum", "no layout checksum is computed")

    def get_output_symbol_index(self, symbol):
        self._unsupported("get_output_symbol_index", ".symtab's order is decided when it is written")


for _st in STATES:
    def _is(self, _st=_st):
        return self._m.state == _st
    _is.__name__ = "is_link_state_" + "".join("_" + ch.lower() if ch.isupper() else ch for ch in _st).lstrip("_")
    setattr(LinkerWrapper, _is.__name__, _is)
del _st, _is
