"""Linker plugins written in Python (ldpy/plugin), modelled on ELD's plugin tests
(test/Common/Plugin in qualcomm/eld): every plugin type and hook, every group
of the LinkerWrapper façade, the link-state errors, the map records, and the
example plugins of examples/plugins on real programs."""
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from e2e_util import run, run_exe, shim_dir, readelf, assert_no_traceback

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples", "plugins")

C_SRC = """\
int foo() { return 1; }
int foo_1() { return 2; }
int foo_2() { return 3; }
int bar() { return 5; }
int bar_1() { return 7; }
int main() { return foo() + bar() - 6; }
"""

SCRIPT_FOO_BAR = """\
SECTIONS {
  foo : {
    *(.text.foo)
    . = . + 16;
    *(.text.foo_*)
  }
  bar : {
    *(.text.bar)
    *(.text.bar*)
  }
  .text : { *(.text*) }
}
"""


def ldpy(args, cwd, env=None, check=False):
    e = dict(os.environ)
    if env:
        e.update(env)
    r = subprocess.run([sys.executable, "-m", "ldpy", *map(str, args)], cwd=str(cwd), env=e,
                       capture_output=True, text=True, timeout=600)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def write(tmp, name, text):
    p = tmp / name
    p.write_text(textwrap.dedent(text))
    return p


def compile_c(tmp, name, src, flags=("-O1", "-ffunction-sections")):
    c = write(tmp, name + ".c", src)
    run(["gcc", "-c", *flags, str(c), "-o", str(tmp / (name + ".o"))])
    return name + ".o"             # (links run in tmp: the map names the file so)


def nm(path):
    """{name: address} of the defined symbols."""
    out = {}
    for line in run(["nm", str(path)]).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            out[parts[2]] = int(parts[0], 16)
    return out


def sections(path):
    """{name: (addr, size)} from readelf -S."""
    out = {}
    for line in readelf("-S", str(path)).splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m:
            out[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
    return out


def plugin_info(map_path):
    text = map_path.read_text()
    assert "Linker Plugin Information" in text
    return text[text.index("Linker Plugin Information"):]


def gcc_plugin_link(tmp, out, inputs, wl=(), flags=()):
    args = ["gcc", "-B", shim_dir(), *flags, *map(str, inputs), "-o", str(tmp / out)]
    args += [f"-Wl,{w}" for w in wl]
    r = subprocess.run(args, cwd=str(tmp), capture_output=True, text=True, timeout=600)
    return r


CHUNK_MOVER = """\
from ldpy.plugin import OutputSectionIteratorPlugin, SUCCESS

class BasicChunkMover(OutputSectionIteratorPlugin):
    def init(self, options):
        self.foo = self.bar = None
    def process_output_section(self, o):
        if not self.linker.is_state("CreatingSections"):
            return
        if o.name == "foo": self.foo = o
        elif o.name == "bar": self.bar = o
    def run(self, verbose):
        if not self.linker.is_state("CreatingSections"):
            return SUCCESS
        L = self.linker
        rule = L.create_rule(self.foo, "Move chunks from bar to foo")
        for r in self.bar.rules():
            for c in r.chunks():
                L.remove_chunk(r, c)
                L.add_chunk(rule, c)
        L.insert_after_rule(self.foo, self.foo.rules()[0], rule)
        return SUCCESS
"""


def test_output_section_iterator_moves_chunks_between_rules(tmp_path):
    """ELD's BasicChunkMover: bar's chunks move into a new rule of foo, inserted
    after foo's first rule (before the gap the script leaves)."""
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "BasicChunkMover.py", CHUNK_MOVER)
    write(tmp_path, "script.t", SCRIPT_FOO_BAR +
          'PLUGIN_OUTPUT_SECTION_ITER("BasicChunkMover.py", "BasicChunkMover")\n')
    r = ldpy(["-o", "out", obj, "-T", "script.t", "-Map", "out.map", "-e", "main"], tmp_path)
    assert r.returncode == 0, r.stderr
    syms = nm(tmp_path / "out")
    assert syms["foo"] < syms["bar"] < syms["bar_1"] < syms["foo_1"] < syms["foo_2"]
    assert syms["foo_1"] - (syms["bar_1"] + 6) == 16        # the script's gap after the new rule
    secs = sections(tmp_path / "out")
    assert "bar" not in secs and secs["foo"][1] == 5 * 6 + 16
    text = (tmp_path / "out.map").read_text()
    assert re.search(r"foo\s+0x0+ +0x2e\n \*\(\.text\.foo\)\n \.text\.foo .*\n.*foo\n"
                     r" \*\(<plugin BasicChunkMover: Move chunks from bar to foo>\)\n \.text\.bar ", text)
    info = plugin_info(tmp_path / "out.map")
    assert "OutputSectionIterator  BasicChunkMover BasicChunkMover.py" in info
    assert "[CreatingSections] remove_chunk: chunk=1.o(.text.bar), rule=*(.text.bar) #Rule 0, bar" in info
    assert "[CreatingSections] insert_rule: output=foo" in info


HOOK_LOGGER = """\
import json, os
from ldpy import plugin as P

LOG = []

def log(*what):
    LOG.append(list(what))
    with open(os.environ["HOOK_LOG"], "w") as fh:
        json.dump(LOG, fh)

class Hooks(P.LinkerPlugin):
    def init(self, options):
        log("init", self.linker.get_state(), options)
        if options == "symbols":
            self.linker.enable_visit_symbol()
    def visit_sections(self, f):
        log("visit_sections", self.linker.get_state(), os.path.basename(f.name),
            sorted(s.name for s in f.sections() if s.name.startswith(".text.")))
    def visit_symbol(self, s):
        log("visit_symbol", s.name, s.is_defined)
    def act_before_rule_matching(self):
        log("act_before_rule_matching", self.linker.get_state(),
            [o.name for o in self.linker.get_all_output_sections()][:3])
    def act_before_section_merging(self):
        log("act_before_section_merging", self.linker.get_state())
    def act_before_performing_layout(self):
        log("act_before_performing_layout", self.linker.get_state(),
            self.linker.get_output_section(".text").size)
    def act_before_writing_output(self):
        L = self.linker
        log("act_before_writing_output", L.get_state(), L.get_symbol("main").address,
            [s.type for s in L.get_segments()][:1])
    def destroy(self):
        log("destroy", self.linker.get_state())

class Matcher(P.SectionMatcherPlugin):
    def init(self, o): log("matcher.init", self.linker.get_state())
    def process_section(self, s):
        if s.name == ".text.bar": log("matcher.process", s.name, self.linker.get_output_section(s).name)
    def run(self, v): log("matcher.run"); return P.SUCCESS
    def destroy(self): log("matcher.destroy")

class Iter(P.SectionIteratorPlugin):
    def init(self, o): log("iter.init", self.linker.get_state())
    def process_section(self, s):
        if s.name == ".text.foo": log("iter.process", s.name, s.is_live)
    def run(self, v): log("iter.run"); return P.SUCCESS
    def destroy(self): log("iter.destroy")

class Outs(P.OutputSectionIteratorPlugin):
    def init(self, o): log("outs.init", self.linker.get_state())
    def process_output_section(self, o):
        if o.name == "bar": log("outs.process", self.linker.get_state(), o.name, len(o.chunks()),
                                [r.text for r in o.rules()])
    def run(self, v): log("outs.run", self.linker.get_state()); return P.SUCCESS
    def destroy(self): log("outs.destroy", self.linker.get_state())

class Mem(P.ControlMemorySizePlugin):
    def init(self, o): log("mem.init", self.linker.get_state(), o)
    def add_blocks(self, b):
        self.b = b
        log("mem.add_blocks", b.name, b.size, [c[0] for c in b.chunks])
        log("mem.uses", [(off, u.type_name, u.symbol_name) for off, u in b.uses])
    def run(self, v): log("mem.run"); return P.SUCCESS
    def get_blocks(self):
        log("mem.get_blocks")
        return [P.Block(".bar.copy", self.b.data[::-1], alignment=4)]
    def destroy(self): log("mem.destroy")

class FileSz(P.ControlFileSizePlugin):
    def init(self, o): log("filesz.init", self.linker.get_state())
    def add_blocks(self, b):
        self.b = b
        log("filesz.add_blocks", b.name, b.size, hex(b.address))
    def run(self, v): log("filesz.run"); return P.SUCCESS
    def get_blocks(self):
        log("filesz.get_blocks")
        return [P.Block("half", bytes(len(self.b.data) // 2))]
    def destroy(self): log("filesz.destroy")
"""


def test_every_plugin_type_and_hook_in_link_order(tmp_path):
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "hooks.py", HOOK_LOGGER)
    write(tmp_path, "script.t", """\
        SECTIONS {
          foo : { *(.text.foo*) }
          bar PLUGIN_CONTROL_MEMSZ("hooks", "Mem", "m") : { *(.text.bar*) }
          .text : { *(.text*) }
          .data PLUGIN_CONTROL_FILESZ("hooks", "FileSz") : { *(.data*) }
        }
        PLUGIN_SECTION_MATCHER("hooks", "Matcher")
        PLUGIN_ITER_SECTIONS("hooks", "Iter")
        PLUGIN_OUTPUT_SECTION_ITER("hooks", "Outs")
        """)
    write(tmp_path, "d.c", "long d[8] = {1, 2, 3, 4, 5, 6, 7, 8};\n")
    run(["gcc", "-c", "d.c", "-o", "d.o"], cwd=tmp_path)
    write(tmp_path, "lp.yaml", """\
        ---
        GlobalPlugins:   # a LinkerPlugin with visit_symbol enabled
          - Type: LinkerPlugin
            Name: Hooks
            Library: hooks
            Options: "symbols"
        """)
    r = ldpy(["-o", "out", obj, "d.o", "-T", "script.t", "-e", "main", "--plugin-config", "lp.yaml",
              "-Map", "out.map", "-L", tmp_path], tmp_path, {"HOOK_LOG": str(tmp_path / "log.json")})
    assert r.returncode == 0, r.stderr
    log = json.loads((tmp_path / "log.json").read_text())
    names = [e[0] for e in log]
    assert log[0] == ["init", "Initializing", "symbols"]
    assert log[1] == ["visit_sections", "Initializing", "1.o", [".text.bar", ".text.bar_1", ".text.foo",
                                                                 ".text.foo_1", ".text.foo_2", ".text.main"]]
    assert ["visit_symbol", "bar_1", True] in log
    want = ["act_before_rule_matching", "matcher.init", "matcher.process", "matcher.run", "matcher.destroy",
            "iter.init", "iter.process", "iter.run", "iter.destroy",
            "outs.init", "outs.process", "outs.run", "outs.destroy", "act_before_section_merging",
            "outs.init", "outs.process", "outs.run", "outs.destroy",
            "mem.init", "mem.add_blocks", "mem.uses", "mem.run", "mem.get_blocks", "mem.destroy",
            "act_before_performing_layout",
            "outs.init", "outs.process", "outs.run", "outs.destroy", "act_before_writing_output",
            "filesz.init", "filesz.add_blocks", "filesz.run", "filesz.get_blocks", "filesz.destroy", "destroy"]
    assert [n for n in names if n not in ("init", "visit_sections", "visit_symbol")] == want
    entry = {e[0] + (e[1] if e[0] in ("outs.init", "outs.process") else ""): e for e in log}
    assert entry["act_before_rule_matching"] == ["act_before_rule_matching", "ActBeforeRuleMatching",
                                                 ["foo", "bar", ".text"]]
    assert entry["matcher.process"] == ["matcher.process", ".text.bar", "bar"]
    assert entry["iter.process"] == ["iter.process", ".text.foo", True]
    assert entry["outs.processBeforeLayout"][3:] == [0, ["*(.text.bar*)"]]
    assert entry["outs.processCreatingSections"][3:] == [2, ["*(.text.bar*)"]]
    assert entry["mem.add_blocks"] == ["mem.add_blocks", "bar", 12, [".text.bar", ".text.bar_1"]]
    assert entry["mem.uses"] == ["mem.uses", []]      # (bar and bar_1 call nothing)
    syms = nm(tmp_path / "out")
    assert entry["act_before_writing_output"][2] == syms["main"]
    assert log[-1] == ["destroy", "ActBeforeWritingOutput"] or log[-1][0] == "destroy"
    # MEMSZ: the block became an input section of its own output section (an orphan)
    secs = sections(tmp_path / "out")
    assert ".bar.copy" in secs and secs[".bar.copy"][1] == 12
    bar = run(["objcopy", "-O", "binary", "--only-section=bar", "out", "bar.bin"], cwd=tmp_path)
    copy = run(["objcopy", "-O", "binary", "--only-section=.bar.copy", "out", "copy.bin"], cwd=tmp_path)
    assert bar and copy and (tmp_path / "copy.bin").read_bytes() == (tmp_path / "bar.bin").read_bytes()[::-1]
    # FILESZ: the file holds what the plugin returned (zeros for half, zero-filled rest)
    run(["objcopy", "-O", "binary", "--only-section=.data", "out", "data.bin"], cwd=tmp_path)
    assert (tmp_path / "data.bin").read_bytes() == bytes(64)
    info = plugin_info(tmp_path / "out.map")
    assert "ControlMemorySize      Mem hooks \"m\" for bar" in info
    assert "file_size: section=.data, old_size=64, new_size=32, count=1" in info


def test_visit_symbol_is_off_unless_enabled(tmp_path):
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "hooks.py", HOOK_LOGGER)
    write(tmp_path, "s.t", 'LINKER_PLUGIN("hooks", "Hooks", "plain")\n')
    r = ldpy(["-o", "out", obj, "s.t", "-e", "main"], tmp_path, {"HOOK_LOG": str(tmp_path / "log.json")})
    assert r.returncode == 0, r.stderr
    log = json.loads((tmp_path / "log.json").read_text())
    assert not [e for e in log if e[0] == "visit_symbol"]
    assert [e[0] for e in log][-2:] == ["act_before_writing_output", "destroy"]
    assert next(e for e in log if e[0] == "act_before_rule_matching")[2][:1] == [".text"]


STATE_PLUGINS = """\
from ldpy.plugin import SectionIteratorPlugin, OutputSectionIteratorPlugin, LinkerPlugin, SUCCESS

class ChunkMovesInBeforeLayout(SectionIteratorPlugin):
    def process_section(self, s):
        if s.name == ".text.foo": self.foo = s
    def run(self, verbose):
        rule = self.linker.get_output_section(self.foo).rules()[0]
        self.linker.remove_chunk(rule, self.foo.chunks()[0])
        return SUCCESS

class ChunkMovesInAfterLayout(OutputSectionIteratorPlugin):
    def process_output_section(self, o):
        if o.name == "FOO": self.foo = o
    def run(self, verbose):
        if self.linker.is_state("AfterLayout"):
            self.linker.add_chunk(self.foo.rules()[0], self.foo.chunks()[0])
        return SUCCESS

class OverrideTooLate(LinkerPlugin):
    def act_before_performing_layout(self):
        s = self.linker.get_symbol("foo").section
        self.linker.set_output_section(s, "BAR")

class GcTooLate(LinkerPlugin):
    def act_before_section_merging(self):
        self.linker.request_garbage_collection()

class Unbalanced(OutputSectionIteratorPlugin):
    def process_output_section(self, o):
        if o.name == "BAR" and self.linker.is_state("CreatingSections"):
            r = o.rules()[0]
            self.linker.remove_chunk(r, r.chunks()[0])

class AddTwice(LinkerPlugin):
    def act_before_performing_layout(self):
        foo = self.linker.get_output_section("FOO")
        bar = self.linker.get_output_section("BAR")
        self.linker.add_chunk(foo.rules()[0], bar.chunks()[0])

class RunFails(SectionIteratorPlugin):
    def run(self, verbose):
        return self.set_error("the table has no entry for .text.foo", 7)
"""


@pytest.mark.parametrize("kind,name,message", [
    ("PLUGIN_ITER_SECTIONS", "ChunkMovesInBeforeLayout",
     "plugin 'ChunkMovesInBeforeLayout': link state 'BeforeLayout' is invalid for the API 'remove_chunk'; "
     "valid link states: [CreatingSections, ActBeforePerformingLayout]"),
    ("PLUGIN_OUTPUT_SECTION_ITER", "ChunkMovesInAfterLayout",
     "plugin 'ChunkMovesInAfterLayout': link state 'AfterLayout' is invalid for the API 'add_chunk'; "
     "valid link states: [CreatingSections, ActBeforePerformingLayout]"),
    ("LINKER_PLUGIN", "OverrideTooLate",
     "plugin 'OverrideTooLate': link state 'ActBeforePerformingLayout' is invalid for the API "
     "'set_output_section'; valid link states: [ActBeforeRuleMatching, BeforeLayout, ActBeforeSectionMerging]"),
    ("LINKER_PLUGIN", "GcTooLate",
     "plugin 'GcTooLate': link state 'ActBeforeSectionMerging' is invalid for the API "
     "'request_garbage_collection'; valid link states: [Initializing]"),
    ("PLUGIN_OUTPUT_SECTION_ITER", "Unbalanced",
     "the chunk '1.o(.text.bar)' was removed from the rule '*(.text.bar*) #Rule 0, BAR' by the plugin "
     "'Unbalanced' but has not been inserted back"),
    ("LINKER_PLUGIN", "AddTwice",
     "plugin 'AddTwice': the chunk '.text.bar' cannot be added to the rule '*(.text.foo*) #Rule 0, FOO' "
     "because it is in the rule '*(.text.bar*) #Rule 0, BAR' and has not been removed from there"),
    ("PLUGIN_ITER_SECTIONS", "RunFails",
     "plugin 'RunFails' (SectionIterator): run failed in BeforeLayout (error 7): the table has no entry for .text.foo"),
])
def test_link_state_and_chunk_move_errors(tmp_path, kind, name, message):
    """ELD's ChunkMovesInInvalidLinkStates and its kin: one error line naming the
    plugin and the call, exit 1, no output (not even an older one)."""
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "states.py", STATE_PLUGINS)
    write(tmp_path, "s.t", "SECTIONS { FOO : { *(.text.foo*) } BAR : { *(.text.bar*) } .text : { *(.text*) } }\n"
          f'{kind}("states", "{name}")\n')
    (tmp_path / "out").write_bytes(b"old")
    r = ldpy(["-o", "out", obj, "s.t", "-e", "main"], tmp_path)
    assert r.returncode == 1
    assert r.stderr == f"ldpy: error: {message}\n"
    assert not (tmp_path / "out").exists()


BOOM = """\
from ldpy.plugin import LinkerPlugin

class Boom(LinkerPlugin):
    def act_before_section_merging(self):
        {}.get("x").strip()
"""


def test_plugin_exception_is_one_line_and_removes_output(tmp_path):
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "boom.py", BOOM)
    write(tmp_path, "s.t", 'LINKER_PLUGIN("boom.py", "Boom")\n')
    (tmp_path / "out").write_bytes(b"old")
    r = ldpy(["-o", "out", obj, "s.t", "-e", "main"], tmp_path)
    assert r.returncode == 1 and not (tmp_path / "out").exists()
    path = tmp_path / "boom.py"
    assert r.stderr == (f"ldpy: error: plugin 'Boom' (LinkerPlugin, {path}): act_before_section_merging: "
                        f"AttributeError: 'NoneType' object has no attribute 'strip'\n")
    r = ldpy(["-o", "out", obj, "s.t", "-e", "main", "--verbose"], tmp_path)
    assert r.returncode == 1
    assert "Traceback (most recent call last)" in r.stderr and 'boom.py", line 5, in act_before_section_merging' \
        in r.stderr
    assert r.stderr.splitlines()[-1].startswith("ldpy: error: plugin 'Boom'")


@pytest.mark.parametrize("config,message", [
    ("GlobalPlugins:\n  - Type: Linker\n    Name: X\n    Library: y\n",
     "c.yaml: GlobalPlugins[0]: unknown plugin type 'Linker' (one of LinkerPlugin, SectionIterator, "
     "SectionMatcher, OutputSectionIterator, ControlMemorySize, ControlFileSize)"),
    ("GlobalPlugins:\n  - Type: LinkerPlugin\n    Library: y\n", "c.yaml: GlobalPlugins[0]: missing 'Name'"),
    ("Plugins:\n  - Type: LinkerPlugin\n", "c.yaml:1: unknown plugin list 'Plugins'"),
    ("GlobalPlugins:\n  - Type: ControlFileSize\n    Name: X\n    Library: y\n",
     "c.yaml: GlobalPlugins[0]: ControlFileSize plugins belong in OutputSectionPlugins"),
    ("GlobalPlugins:\n  - Type: LinkerPlugin\n    Name: X\n    Library: nosuchlib\n",
     "c.yaml: GlobalPlugins[0]: cannot find plugin library 'nosuchlib' (a Python file, a module on -L or "
     "LDPY_PLUGIN_PATH, or an 'ldpy.plugins' entry point)"),
    ("GlobalPlugins:\n  - Type: SectionIterator\n    Name: Boom\n    Library: boom.py\n",
     "c.yaml: GlobalPlugins[0]: plugin 'Boom' is a LinkerPlugin plugin, but is invoked as SectionIterator"),
    ("GlobalPlugins:\n  - Type: LinkerPlugin\n    Name: Nope\n    Library: boom.py\n",
     "c.yaml: GlobalPlugins[0]: plugin library 'boom.py' ({tmp}/boom.py) has no plugin 'Nope'"),
])
def test_plugin_config_errors(tmp_path, config, message):
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "boom.py", BOOM)
    write(tmp_path, "c.yaml", config)
    r = ldpy(["-o", "out", obj, "-e", "main", "--plugin-config", "c.yaml"], tmp_path)
    assert r.returncode == 1
    assert r.stderr == f"ldpy: error: {message.format(tmp=tmp_path)}\n"


FACADE = r'''
import os
from ldpy.plugin import LinkerPlugin

class Facade(LinkerPlugin):
    def init(self, options):
        L = self.linker
        L.request_garbage_collection()          # GC requests
        L.preserve_symbol("kept_unused")
        L.add_referenced_symbol("target_a")
        ini = L.find_config_file("settings.ini")  # found on -L
        self.cfg = L.read_ini_file(ini)
        self.greeting = L.get_file_contents(L.find_config_file("greeting.txt")).strip()
        L.record_plugin_data(1, {"env": L.get_env("FACADE_ENV")}, "environment")
        L.register_reloc("R_X86_64_PLT32", self.on_call)
        self.calls = []

    def on_call(self, use):
        if use.symbol_name == "plugin_code":
            self.calls.append((use.source_address, use.target_address, use.type_name))

    def act_before_performing_layout(self):
        L = self.linker
        code = L.create_code_chunk("answer", 16, bytes.fromhex(self.cfg["code"]["bytes"]))
        L.assign_to_output_section(code, ".text")
        L.add_symbol_to_chunk(code, "plugin_code", 0)
        blob = L.create_data_chunk("blob", 8, self.greeting.encode() + b"\0")
        L.assign_to_output_section(blob, ".data")
        L.reset_symbol("plugin_blob", blob)
        bss = L.create_bss_chunk("scratch", 64, 4096)
        L.assign_to_output_section(bss, ".bss")
        pad = L.create_padding_chunk(16, 32)
        L.assign_to_output_section(pad, ".rodata")
        L.replace_symbol_content("message", b"replaced")
        slot = L.get_symbol("slot")
        use = L.create_use(slot.chunk, slot.value, "R_X86_64_64", "target_b")
        self.uses_main = [(u.type_name, u.symbol_name) for u in L.get_uses(L.get_symbol("main").chunk)]
        L.add_link_stat("chunks created", 4)

    def act_before_writing_output(self):
        L = self.linker
        ptr = L.get_symbol("ptr")
        use = next(u for u in L.get_uses(ptr.chunk) if u.offset == ptr.value)
        L.set_target_data(use, L.get_symbol("target_b").address, 8)
        out = {"uses_main": self.uses_main, "calls": self.calls,
               "plugin_code": L.get_symbol("plugin_code").address,
               "data": L.get_plugin_data("Facade"), "mode": L.link_mode(),
               "version": L.get_linker_version(), "output": L.get_output_file_name(),
               "bss": [c.size for c in L.get_output_section(".bss").chunks()][-1],
               "segments": len(L.get_segments()) > 2,
               "files": [f.name for f in L.get_input_files() if f.name.endswith("f.o")],
               "syms": sum(1 for s in L.get_all_symbols() if s.is_function and s.is_defined) > 3,
               "glob": L.match_pattern("*.data", ".rw.data") and L.is_64bits(),
               "file_syms": sorted(s.name for f in L.get_input_files() if f.name == "f.o"
                                   for s in f.symbols() if s.name.startswith("target"))}
        L.write_ini_file({"result": {k: repr(v) for k, v in out.items()}}, "result.ini")
'''

FACADE_C = r"""
#include <stdio.h>
extern int plugin_code(void);
extern const char plugin_blob[];
const char message[16] = "original";
int target_a = 1, target_b = 2;
int *ptr = &target_a;
void *slot = (void *)1;
void unused(void) { puts("unused"); }
void kept_unused(void) { puts("kept"); }
int main(void) {
  printf("%d %s %s %d %d\n", plugin_code(), plugin_blob, message, *ptr, slot == &target_b);
  return 0;
}
"""


def test_facade_groups_on_a_running_program(tmp_path):
    """Symbols, chunks, layout, relocations, files/config/env, GC requests, plugin
    data and stats: a plugin builds part of a program that then runs."""
    (tmp_path / "cfg").mkdir()
    write(tmp_path / "cfg", "settings.ini", "[code]\nbytes = b82a000000c3\n")   # mov $42,%eax; ret
    write(tmp_path / "cfg", "greeting.txt", "hello from a plugin\n")
    write(tmp_path, "facade.py", FACADE)
    write(tmp_path, "c.yaml", "GlobalPlugins:\n  - Type: LinkerPlugin\n    Name: Facade\n"
          "    Library: facade.py\n")
    src = write(tmp_path, "f.c", FACADE_C)
    run(["gcc", "-c", "-O1", "-fno-pie", "-ffunction-sections", "-fdata-sections", str(src), "-o", "f.o"],
        cwd=tmp_path)
    env = dict(os.environ, FACADE_ENV="xyz")
    r = subprocess.run(["gcc", "-B", shim_dir(), "-no-pie", "f.o", "-o", "f", "-Wl,--plugin-config,c.yaml",
                        "-Wl,-L,cfg", "-Wl,-Map,f.map", "-Wl,--plugin-activity-file,act.json"],
                       cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert run_exe(tmp_path / "f").stdout == "42 hello from a plugin replaced 2 1\n"
    syms = nm(tmp_path / "f")
    assert "unused" not in syms and "kept_unused" in syms          # GC requested, symbol preserved
    res = (tmp_path / "result.ini").read_text()
    assert "('R_X86_64_PC32', 'plugin_code')" in res or "('R_X86_64_PLT32', 'plugin_code')" in res
    assert f"plugin_code = {syms['plugin_code']}" in res
    assert f", {syms['plugin_code']}, 'R_X86_64_PLT32')]" in res      # the relocation callback's target
    assert "data = [(1, {'env': 'xyz'}, 'environment')]" in res
    assert "mode = 'StaticExecutable'" not in res and "mode = 'DynamicExecutable'" in res
    assert "bss = 4096" in res and "segments = True" in res
    assert "files = ['f.o']" in res and "syms = True" in res and "glob = True" in res
    assert "file_syms = ['target_a', 'target_b']" in res and "add_referenced_symbol: symbol=target_a" in \
        (tmp_path / "f.map").read_text()
    info = plugin_info(tmp_path / "f.map")
    for rec in ("create_chunk: chunk=.text.codechunk.answer.Facade, size=6, alignment=16",
                "assign_to_output_section: chunk=.data.codechunk.blob.Facade, output=.data",
                "reset_symbol: symbol=plugin_blob", "replace_symbol_content: symbol=message, size=8",
                "create_use: chunk=.data.slot, offset=0, type=R_X86_64_64, symbol=target_b",
                "[ActBeforeWritingOutput] set_target_data: chunk=.data.ptr", "request_garbage_collection",
                "preserve_symbol: symbol=kept_unused", "stat chunks created: 4"):
        assert rec in info, rec
    assert re.search(r"\.text\.codechunk\.answer\.Facade\n?\s+0x[0-9a-f]+ +0x6 <plugin Facade>",
                     (tmp_path / "f.map").read_text())
    act = json.loads((tmp_path / "act.json").read_text())
    p = act["plugins"][0]
    assert p["name"] == "Facade" and p["type"] == "LinkerPlugin" and p["stats"] == {"chunks created": "4"}
    assert [a["op"] for a in p["actions"]][:2] == ["request_garbage_collection", "preserve_symbol"]


DIAGS = """\
from ldpy.plugin import LinkerPlugin

class Diags(LinkerPlugin):
    def init(self, options):
        self.mode = options
    def act_before_section_merging(self):
        L = self.linker
        L.note("looking")
        L.verbose("details")
        L.warning("careful")
        if self.mode == "error":
            L.error("first problem")
            L.error("second problem")
        if self.mode == "fatal":
            L.fatal("cannot go on")
            raise AssertionError("not reached")
"""


@pytest.mark.parametrize("mode", ["ok", "error", "fatal"])
def test_typed_diagnostics(tmp_path, mode):
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "diags.py", DIAGS)
    write(tmp_path, "s.t", f'LINKER_PLUGIN("diags.py", "Diags", "{mode}")\n')
    r = ldpy(["-o", "out", obj, "s.t", "-e", "main"], tmp_path)
    lines = r.stderr.splitlines()
    assert lines[:2] == ["ldpy: note: plugin 'Diags': looking", "ldpy: warning: plugin 'Diags': careful"]
    if mode == "ok":
        assert r.returncode == 0 and len(lines) == 2
    elif mode == "error":
        assert r.returncode == 1 and lines[2:] == ["ldpy: error: plugin 'Diags': first problem",
                                                  "ldpy: error: plugin 'Diags': second problem"]
    else:
        assert r.returncode == 1 and lines[2:] == ["ldpy: error: plugin 'Diags': cannot go on"]
    assert (tmp_path / "out").exists() == (mode == "ok")
    r = ldpy(["-o", "out", obj, "s.t", "-e", "main", "--verbose"], tmp_path)
    assert "ldpy: verbose: plugin 'Diags': details" in r.stderr


def test_trace_plugin(tmp_path):
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "BasicChunkMover.py", CHUNK_MOVER)
    write(tmp_path, "script.t", SCRIPT_FOO_BAR +
          'PLUGIN_OUTPUT_SECTION_ITER("BasicChunkMover.py", "BasicChunkMover", "x")\n')
    r = ldpy(["-o", "out", obj, "-T", "script.t", "-e", "main", "--trace=plugin"], tmp_path)
    assert r.returncode == 0
    lines = r.stderr.splitlines()
    assert lines[0] == f"ldpy: trace: plugin library 'BasicChunkMover.py' loaded from {tmp_path}/BasicChunkMover.py"
    assert lines[1] == ("ldpy: trace: plugin 'BasicChunkMover' (OutputSectionIterator) from "
                        "'BasicChunkMover.py', options 'x'")
    assert "ldpy: trace: plugin 'BasicChunkMover': run (CreatingSections)" in lines
    assert any(l.startswith("ldpy: trace: plugin 'BasicChunkMover': remove_chunk (chunk=1.o(.text.bar)")
               for l in lines)
    r = ldpy(["-o", "out", obj, "-e", "main", "--trace=files"], tmp_path)
    assert r.returncode == 1 and r.stderr == "ldpy: error: --trace=files: unknown trace kind (known: plugin)\n"


def test_library_lookup_on_plugin_path_and_entry_point(tmp_path):
    """A library named without a path: a module on LDPY_PLUGIN_PATH, or an
    installed package's `ldpy.plugins` entry point."""
    obj = compile_c(tmp_path, "1", C_SRC)
    (tmp_path / "pp").mkdir()
    write(tmp_path / "pp", "movers.py", CHUNK_MOVER)
    write(tmp_path, "script.t", SCRIPT_FOO_BAR + 'PLUGIN_OUTPUT_SECTION_ITER("movers", "BasicChunkMover")\n')
    r = ldpy(["-o", "out", obj, "-T", "script.t", "-e", "main"], tmp_path,
             {"LDPY_PLUGIN_PATH": str(tmp_path / "pp")})
    assert r.returncode == 0, r.stderr
    assert nm(tmp_path / "out")["bar"] < nm(tmp_path / "out")["foo_1"]
    site = tmp_path / "site"
    (site / "moverpkg-1.0.dist-info").mkdir(parents=True)
    write(site / "moverpkg-1.0.dist-info", "METADATA", "Metadata-Version: 2.1\nName: moverpkg\nVersion: 1.0\n")
    write(site / "moverpkg-1.0.dist-info", "entry_points.txt", "[ldpy.plugins]\nchunkmover = moverpkg_impl\n")
    write(site, "moverpkg_impl.py", CHUNK_MOVER)
    write(tmp_path, "script2.t", SCRIPT_FOO_BAR + 'PLUGIN_OUTPUT_SECTION_ITER("chunkmover", "BasicChunkMover")\n')
    r = ldpy(["-o", "out2", obj, "-T", "script2.t", "-e", "main"], tmp_path,
             {"PYTHONPATH": os.pathsep.join([os.environ.get("PYTHONPATH", ""), str(site)])})
    assert r.returncode == 0, r.stderr
    assert nm(tmp_path / "out2")["bar"] < nm(tmp_path / "out2")["foo_1"]


def test_script_plugin_command_syntax_errors(tmp_path):
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "s.t", 'PLUGIN_ITER_SECTIONS("lib")\n')
    r = ldpy(["-o", "out", obj, "s.t", "-e", "main"], tmp_path)
    assert r.returncode == 1 and "PLUGIN_ITER_SECTIONS takes (\"library\", \"name\" [, \"options\"])" in r.stderr
    write(tmp_path, "s2.t", 'SECTIONS { .text : { *(.text*) } }\nPLUGIN_CONTROL_MEMSZ("a", "b")\n')
    r = ldpy(["-o", "out", obj, "-T", "s2.t", "-e", "main"], tmp_path)
    assert r.returncode == 1 and r.stderr.startswith("ldpy: error: s2.t:2:")
    assert_no_traceback(r)


def test_no_plugin_link_does_not_import_plugin_support(tmp_path):
    obj = compile_c(tmp_path, "1", C_SRC)
    code = ("import sys; from ldpy.main import main; rc = main(['-o', 'out', '1.o', '-e', 'main']); "
            "print(rc, sorted(m for m in sys.modules if m.startswith('ldpy.plugin')))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert r.stdout.strip() == "0 []", r.stderr


# -- the examples -------------------------------------------------------------------------

PROGRAM = r"""
#include <stdio.h>
#include <string.h>
__attribute__((noinline)) int isr_timer(int x) { return x * 3; }
__attribute__((noinline)) int isr_uart(int x) { return x + 11; }
__attribute__((noinline)) int work(int x) { int s = 0; for (int i = 0; i < x; i++) s += i ^ x; return s; }
static const char table[64] = "lookup table";
__attribute__((noinline)) const char *lookup(int i) { return table + i; }
#define F(n) __attribute__((noinline)) int f##n(int x) { volatile int a[40]; for (int i = 0; i < 40; i++) a[i] = x + i * n; return a[n % 40]; }
F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11) F(12)
int main(void) {
  int s = f1(1)+f2(2)+f3(3)+f4(4)+f5(5)+f6(6)+f7(7)+f8(8)+f9(9)+f10(10)+f11(11)+f12(12);
  printf("%d %d %d %s %d\n", isr_timer(2), isr_uart(3), work(10), lookup(0), s);
  return 0;
}
"""


def _example_program(tmp_path):
    src = write(tmp_path, "p.c", PROGRAM)
    run(["gcc", "-c", "-O1", "-ffunction-sections", "-fdata-sections", str(src), "-o", "p.o"], cwd=tmp_path)
    r = gcc_plugin_link(tmp_path, "ref", ["p.o"])
    assert r.returncode == 0, r.stderr
    return run_exe(tmp_path / "ref").stdout


def test_example_section_table(tmp_path):
    want = _example_program(tmp_path)
    write(tmp_path, "table.txt", "# pattern  output\n.text.isr_*  .fast_text\n*p.o(.rodata.table)  .fast_data\n")
    write(tmp_path, "s.t", f'PLUGIN_SECTION_MATCHER("{EXAMPLES}/section_table.py", "PlaceByTable", "table.txt")\n')
    r = gcc_plugin_link(tmp_path, "p", ["p.o", "s.t"], ["-Map,p.map"])
    assert r.returncode == 0, r.stderr
    assert run_exe(tmp_path / "p").stdout == want
    secs, syms = sections(tmp_path / "p"), nm(tmp_path / "p")
    lo, size = secs[".fast_text"]
    assert size == syms["isr_uart"] + 4 - lo or lo <= syms["isr_uart"] < lo + size
    assert lo <= syms["isr_timer"] < lo + size and not lo <= syms["work"] < lo + size
    assert secs[".fast_data"][1] == 64
    info = plugin_info(tmp_path / "p.map")
    assert "set_output_section: section=p.o(.text.isr_timer), old=.text, new=.fast_text, " \
           "annotation=table: .text.isr_*" in info
    assert "stat sections placed by table: 3" in info


def test_example_text_blocks(tmp_path):
    want = _example_program(tmp_path)
    write(tmp_path, "s.t", f'PLUGIN_OUTPUT_SECTION_ITER("{EXAMPLES}/text_blocks.py", "SplitText", "size=0x200")\n')
    r = gcc_plugin_link(tmp_path, "p", ["p.o", "s.t"], ["-Map,p.map"])
    assert r.returncode == 0, r.stderr
    assert run_exe(tmp_path / "p").stdout == want
    secs = sections(tmp_path / "p")
    blocks = sorted(n for n in secs if n.startswith(".text.block"))
    assert blocks and all(secs[n][1] <= 0x200 for n in blocks) and secs[".text"][1] <= 0x200
    info = plugin_info(tmp_path / "p.map")
    assert f"stat blocks: {len(blocks) + 1}" in info
    assert "assign_to_output_section: chunk=p.o(.text.f" in info


@pytest.mark.slow
def test_example_function_order_on_sqlite(tmp_path):
    """The sqlite bench program, relinked with a profile-ordered .text: still runs,
    the profiled functions come first (cold last), the map shows the move."""
    src = write(tmp_path, "sq.c", r"""
        #include <stdio.h>
        #include <sqlite3.h>
        static int cb(void *u, int n, char **v, char **c) {
          for (int i = 0; i < n; i++) printf("%s%s", i ? "," : "", v[i] ? v[i] : "NULL");
          printf("\n"); return 0; }
        int main(void) {
          sqlite3 *db; char *err = 0;
          if (sqlite3_open(":memory:", &db)) return 1;
          if (sqlite3_exec(db, "create table t(a int, b text); insert into t values(1,'one'),(2,'two');"
                           "select a, b, length(b) from t order by a desc;", cb, 0, &err)) return 2;
          sqlite3_close(db); return 0; }
        """)
    run(["gcc", "-c", "-O2", "-ffunction-sections", str(src), "-o", "sq.o"], cwd=tmp_path)
    write(tmp_path, "profile.txt", "main\nsqlite3_exec\nsqlite3_prepare_v2\n--- cold\nsqlite3_close\n")
    write(tmp_path, "order.yaml", f"GlobalPlugins:\n  - Type: LinkerPlugin\n    Name: FunctionOrder\n"
          f"    Library: {EXAMPLES}/function_order.py\n    Options: profile.txt\n")
    r = gcc_plugin_link(tmp_path, "sq", ["sq.o"], ["-Bstatic", "-lsqlite3", "-Bdynamic", "-lm",
                                                   "--plugin-config,order.yaml", "-Map,sq.map"])
    assert r.returncode == 0, r.stderr
    assert run_exe(tmp_path / "sq").stdout == "2,two,3\n1,one,3\n"
    syms = nm(tmp_path / "sq")
    text_lo = sections(tmp_path / "sq")[".text"][0]
    assert syms["main"] == text_lo
    assert syms["main"] < syms["sqlite3_exec"] < syms["sqlite3_prepare_v2"] < syms["_start"]
    info = plugin_info(tmp_path / "sq.map")
    # (the first rule of .text: `*(.text)` built in, the default script's `*(.text.unlikely ...)`)
    assert re.search(r"\[ActBeforePerformingLayout\] update_chunks: rule=\*\([^)]*\) #Rule 0, \.text, before=\[", info)
    assert "stat hot chunks placed: 3" in info


LAYOUT = """\
import json, os
from ldpy.plugin import OutputSectionIteratorPlugin, SUCCESS

class Layout(OutputSectionIteratorPlugin):
    def init(self, options):
        self.seen = []
    def process_output_section(self, o):
        if o.name == "foo":
            self.foo = o
    def run(self, verbose):
        L = self.linker
        if not L.is_state("AfterLayout"):
            return SUCCESS
        before = self.foo.address
        L.reassign_virtual_addresses()
        segs = L.get_segments_for_output_section(self.foo)
        out = {"same": before == self.foo.address, "contents": L.get_output_section_contents(self.foo).hex(),
               "seg": [(s.vaddr <= self.foo.address < s.vaddr + s.memsz, s.flags & 1) for s in segs if s.type == 1],
               "chunks": [(c.name, c.offset, c.address) for c in self.foo.chunks()],
               "rules": [str(r) for r in self.foo.rules()]}
        with open("layout.json", "w") as fh:
            json.dump(out, fh)
        return SUCCESS
"""


def test_layout_group_after_layout(tmp_path):
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "layout.py", LAYOUT)
    write(tmp_path, "s.t", "SECTIONS { . = 0x400000; foo : { *(.text.foo) *(.text.foo_*) } .text : { *(.text*) } }\n"
          'PLUGIN_OUTPUT_SECTION_ITER("layout.py", "Layout")\n')
    r = ldpy(["-o", "out", obj, "s.t", "-e", "main", "-Map", "out.map"], tmp_path)
    assert r.returncode == 0, r.stderr
    got = json.loads((tmp_path / "layout.json").read_text())
    syms = nm(tmp_path / "out")
    assert got["same"] and got["seg"] == [[True, 1]]
    assert got["chunks"] == [[".text.foo", 0, syms["foo"]], [".text.foo_1", 6, syms["foo_1"]],
                             [".text.foo_2", 12, syms["foo_2"]]]
    assert got["rules"] == ["*(.text.foo) #Rule 0, foo", "*(.text.foo_*) #Rule 1, foo"]
    run(["objcopy", "-O", "binary", "--only-section=foo", "out", "foo.bin"], cwd=tmp_path)
    assert (tmp_path / "foo.bin").read_bytes().hex() == got["contents"]     # (no relocations in foo)
    assert "[AfterLayout] reassign_virtual_addresses" in plugin_info(tmp_path / "out.map")


OVERRIDE = """\
from ldpy.plugin import SectionMatcherPlugin, SUCCESS

class Override(SectionMatcherPlugin):
    def process_section(self, s):
        if s.name == ".text.foo_1":
            self.linker.set_output_section(s, "bar", "to an existing statement")
        elif s.name == ".text.foo_2":
            self.linker.set_output_section(s, "newsec", "to a new output section")
"""


def test_section_matcher_overrides_script_rules(tmp_path):
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "ov.py", OVERRIDE)
    write(tmp_path, "s.t", "SECTIONS { foo : { *(.text.foo*) } bar : { *(.text.bar*) } .text : { *(.text*) } }\n"
          'PLUGIN_SECTION_MATCHER("ov.py", "Override")\n')
    r = ldpy(["-o", "out", obj, "s.t", "-e", "main", "-Map", "out.map"], tmp_path)
    assert r.returncode == 0, r.stderr
    secs, syms = sections(tmp_path / "out"), nm(tmp_path / "out")
    inside = lambda sym, sec: secs[sec][0] <= syms[sym] < secs[sec][0] + secs[sec][1]
    assert inside("foo", "foo") and inside("foo_1", "bar") and inside("foo_2", "newsec")
    assert secs["foo"][1] == 6 and secs["newsec"][1] == 6
    info = plugin_info(tmp_path / "out.map")
    assert "[BeforeLayout] set_output_section: section=1.o(.text.foo_1), old=foo, new=bar" in info


def test_plugin_config_refused_with_relocatable(tmp_path):
    obj = compile_c(tmp_path, "1", C_SRC)
    write(tmp_path, "c.yaml", "GlobalPlugins:\n  - Type: LinkerPlugin\n    Name: X\n    Library: y\n")
    r = ldpy(["-r", "-o", "out.o", obj, "--plugin-config", "c.yaml"], tmp_path)
    assert r.returncode == 1 and r.stderr == "ldpy: error: --plugin-config may not be used with -r (--relocatable)\n"
