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


def _current():
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


def _symbols_in(chunk):
    """Global symbols defined in an input section chunk (any chunk: those of its inputs)."""
    ctx = _current()
    ids = {id(chunk)} | {id(s) for s in getattr(chunk, "inputs", ())}
    return [s for s in ctx.symtab.symbols if s.section is not None and id(s.section) in ids]


def _global_symbols_of(f):
    ctx = _current()
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
        return self._m.find_file(name)

    def get_file_contents(self, path):
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise LinkError(f"plugin '{self._r.name}': cannot read '{path}': {e.strerror}")
        self._m.files_read.append(path)
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
        self._m.files_read.append(path)
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
