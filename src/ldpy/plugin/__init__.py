"""Linker plugins written in Python, after ELD's plugin API (plugin API 4.0).

A plugin library is a Python module: a file given by path, a module found on
the -L directories or LDPY_PLUGIN_PATH, or an installed package's
`ldpy.plugins` entry point.  It offers its plugins either through a function
`get_plugin(name)` returning a plugin object, or as a class (or instance) of
that name.  Plugins subclass one of the six types below; the linker gives
each its own façade in `self.linker` (plugin.wrapper.LinkerWrapper) before
`init` runs.

Only links that name a plugin (script commands PLUGIN_*, LINKER_PLUGIN, or
--plugin-config) import this package.
"""

SUCCESS, ERROR = 0, 1

# the link states, in link order (ELD's names)
STATES = ("Initializing", "ActBeforeRuleMatching", "BeforeLayout", "ActBeforeSectionMerging",
          "CreatingSections", "ActBeforePerformingLayout", "CreatingSegments", "AfterLayout",
          "ActBeforeWritingOutput")


class PluginBase:
    """What every plugin has: a name, a type, the linker façade and a last error."""
    TYPE = None

    def __init__(self, name=None):
        self.name = name or type(self).__name__
        self.linker = None            # set by the linker before init()
        self.error_code = 0
        self.error_message = ""

    def get_name(self):
        return self.name

    def get_description(self):
        return self.get_name()

    def init(self, options):
        """Called once (OutputSectionIterator: once per phase) before the plugin's hooks;
        `options` is the string given at the invocation (or "")."""

    def destroy(self):
        """The last call the plugin gets."""

    def last_error(self):
        """(code, message): code 0 means no error."""
        return self.error_code, self.error_message

    def set_error(self, message, code=1):
        self.error_code, self.error_message = code, message
        return ERROR


class Plugin(PluginBase):
    """The layout plugins: init(options), their process hooks, run(verbose), destroy()."""

    def run(self, verbose):
        """The bulk of the work, after the process hooks; returns SUCCESS or ERROR."""
        return SUCCESS


class SectionIteratorPlugin(Plugin):
    """process_section(section) for every live input section, after rule matching
    and garbage collection (link state BeforeLayout)."""
    TYPE = "SectionIterator"

    def process_section(self, section):
        pass


class SectionMatcherPlugin(Plugin):
    """process_section(section) for every input section, after rule matching and
    before garbage collection (link state BeforeLayout)."""
    TYPE = "SectionMatcher"

    def process_section(self, section):
        pass


class OutputSectionIteratorPlugin(Plugin):
    """process_output_section(output) for every output section, three times: in
    BeforeLayout, CreatingSections and AfterLayout (linker.get_state() tells which);
    init, run and destroy are called in each phase."""
    TYPE = "OutputSectionIterator"

    def process_output_section(self, output):
        pass


class ControlMemorySizePlugin(Plugin):
    """Attached to one output section: add_blocks(block) gets the section's contents
    (CreatingSections), get_blocks() returns new blocks that become input sections
    placed by the script's rules like any other.

    ELD calls it after layout with the section relocated at its address and lays out
    again; ldpy calls it before layout, so the block's bytes are the inputs' bytes (no
    address yet: block.address is 0) and block.uses lists the relocations they still
    need.  ldpy applies relocations once, while writing the output (the same pass makes
    the dynamic relocations), so there is no relocated image before that; ControlFileSize
    plugins get the final, relocated bytes."""
    TYPE = "ControlMemorySize"

    def add_blocks(self, block):
        pass

    def get_blocks(self):
        return []


class ControlFileSizePlugin(Plugin):
    """Attached to one output section: add_blocks(block) gets the section's final,
    relocated bytes; the blocks get_blocks() returns replace them in the file
    (they may be smaller, not larger: compression, encryption, signing)."""
    TYPE = "ControlFileSize"

    def add_blocks(self, block):
        pass

    def get_blocks(self):
        return []


class LinkerPlugin(PluginBase):
    """Hooks over the whole link, in link order.  visit_symbol runs only after
    self.linker.enable_visit_symbol() (from init)."""
    TYPE = "LinkerPlugin"

    def visit_sections(self, input_file):
        """Each input object, once its sections are read (Initializing)."""

    def visit_symbol(self, symbol):
        """Each non-local symbol of each relocatable object (Initializing)."""

    def act_before_rule_matching(self):
        pass

    def act_before_section_merging(self):
        pass

    def act_before_performing_layout(self):
        pass

    def act_before_writing_output(self):
        pass


class Block:
    """Bytes handed to and returned by the size-control plugins."""
    __slots__ = ("name", "data", "address", "alignment", "chunks", "uses")

    def __init__(self, name, data=b"", address=0, alignment=1, chunks=(), uses=()):
        self.name = name
        self.data = bytes(data)
        self.address = address
        self.alignment = alignment
        self.chunks = list(chunks)     # (chunk name, offset, size) of what the bytes hold
        # ControlMemorySize: (offset in data, Use) of each relocation the bytes still need
        self.uses = list(uses)

    @property
    def size(self):
        return len(self.data)

    def __repr__(self):
        return f"<Block {self.name} {self.size:#x} @ {self.address:#x}>"


TYPES = {c.TYPE: c for c in (SectionIteratorPlugin, SectionMatcherPlugin, OutputSectionIteratorPlugin,
                             ControlMemorySizePlugin, ControlFileSizePlugin, LinkerPlugin)}
