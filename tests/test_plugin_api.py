"""The rest of ELD's LinkerWrapper in ldpy's plugin façade (plugin/wrapper.py):
sorting the section-merging pool, link_sections, add_chunk_to_output, rule
queries, unbalanced moves, symbol table entries, diagnostic IDs, fatal errors,
the calls ldpy refuses, and plugins in --reproduce archives.  Modelled on ELD's
tests (test/Common/Plugin in qualcomm/eld: SortInputSectionsForMerging,
AddChunkToOutputInCreatingSections, DoesRuleMatchWithSection,
UnbalancedChunkMoves, AddPluginFileToReproduceTar, ReproducerWithFindConfigFile);
the plugins are written here in Python."""
import json
import os
import re
import subprocess
import tarfile

import pytest

from e2e_util import run, readelf, assert_no_traceback
from test_plugins import ldpy, write, compile_c, nm, sections, plugin_info, gcc_plugin_link

# every public call of ELD's include/eld/PluginAPI/LinkerWrapper.h, by ldpy's name
ELD_CALLS = """
request_garbage_collection get_uses get_linker_version get_module get_symbol
add_file_to_reproduce_tar add_link_stat add_symbol set_output_section set_preserve_symbol
create_bitcode_section set_section_name set_rule_matching_input add_referenced_symbol
run_garbage_collection get_output_section get_output_section_contents
finish_assign_output_sections get_input_sections_for_section_merging
sort_input_sections_for_section_merging reassign_virtual_addresses set_linker_fatal_error
get_plugin match_pattern is_post_lto_phase add_symbol_to_chunk create_padding_chunk
create_code_chunk create_data_chunk create_data_chunk_with_custom_name create_bss_chunk
create_chunk_with_custom_name replace_symbol_content add_chunk remove_chunk update_chunks
get_repository_version record_plugin_data get_plugin_data create_timer register_reloc
get_relocation_handler is_multi_threaded get_plugin_thread_count get_linker_script
get_file_contents get_buffer find_config_file read_ini_file write_ini_file get_tar_writer
is_timing_enabled get_input_files get_link_mode get_dwarf_info_for_input_file
delete_dwarf_info_for_input_file write_small_json_file is_32bits is_64bits get_uninit_buffer
reset_symbol create_use get_target_data set_target_data get_image_layout_checksum
get_output_file_name create_rule insert_after_rule insert_before_rule remove_symbol_table_entry
get_all_symbols get_fatal_diag_id get_error_diag_id get_warning_diag_id get_note_diag_id
get_verbose_diag_id report_diag is_chunk_movable get_current_link_state_as_str is_verbose
get_all_output_sections get_segments_for_output_section get_segment_table apply_relocations
do_relocation load_library get_function get_unbalanced_chunk_removes get_unbalanced_chunk_adds
add_chunk_to_output reset_offset get_output_section_and_rule get_env link_sections
register_command_line_option enable_visit_symbol set_rule_matching_section_name_map
get_rule_matching_section_name_map get_rule_matching_section_name get_linker_config
show_rule_matching_section_name_in_diagnostics set_auxiliary_symbol_name_map
get_output_symbol_index does_rule_match_with_section is_link_state_initializing
is_link_state_act_before_rule_matching is_link_state_before_layout
is_link_state_act_before_section_merging is_link_state_creating_sections
is_link_state_act_before_performing_layout is_link_state_creating_segments
is_link_state_after_layout is_link_state_act_before_writing_output
""".split()


def test_every_eld_linker_wrapper_call_has_a_python_counterpart():
    from ldpy.plugin.wrapper import LinkerWrapper
    missing = [n for n in ELD_CALLS if not callable(getattr(LinkerWrapper, n, None))]
    assert missing == []


def config(tmp, name, plugin_type, plugin, library):
    return write(tmp, name, f"""\
        GlobalPlugins:
          - Type: {plugin_type}
            Name: {plugin}
            Library: {library}
        """)


SORTER = """\
from ldpy.plugin import LinkerPlugin

class SortInputSectionsForMergingPlugin(LinkerPlugin):
    def act_before_section_merging(self):
        L = self.linker
        print("Before sort:")
        for s in L.get_input_sections_for_section_merging():
            if s.name.startswith(".text."):
                print("  " + s.name)
        L.sort_input_sections_for_section_merging(lambda a, b: a.name > b.name, "DescendingByName")
        print("After sort:")
        for s in L.get_input_sections_for_section_merging():
            if s.name.startswith(".text."):
                print("  " + s.name)
"""


def test_sort_input_sections_for_section_merging(tmp_path):
    """ELD's SortInputSectionsForMerging: a comparator sorts the pool section merging
    takes its input from; .text's functions come out in descending name order."""
    obj = compile_c(tmp_path, "1", "int aaa() { return 1; }\nint bbb() { return 2; }\n"
                    "int ccc() { return 3; }\nint main() { return aaa() + bbb() - ccc(); }\n")
    write(tmp_path, "sort.py", SORTER)
    config(tmp_path, "PluginConfig.yaml", "LinkerPlugin", "SortInputSectionsForMergingPlugin", "sort.py")
    r = ldpy(["-o", "out", obj, "-e", "main", "--plugin-config", "PluginConfig.yaml", "-Map", "out.map",
              "--plugin-activity-file", "act.json"], tmp_path)
    assert r.returncode == 0, r.stderr
    before, after = r.stdout.split("After sort:")
    assert before.split()[2:] == [".text.aaa", ".text.bbb", ".text.ccc", ".text.main"]
    assert after.split() == [".text.main", ".text.ccc", ".text.bbb", ".text.aaa"]
    syms = nm(tmp_path / "out")
    assert syms["main"] < syms["ccc"] < syms["bbb"] < syms["aaa"]
    m = plugin_info(tmp_path / "out.map")
    assert "[ActBeforeSectionMerging] sort_input_sections_for_merging: annotation=DescendingByName" in m
    act = json.loads((tmp_path / "act.json").read_text())
    ops = act["plugins"][0]["actions"]
    assert ops[0]["op"] == "sort_input_sections_for_merging" and ops[0]["annotation"] == "DescendingByName"
    # a whole program (gcc, crt files) sorted so still runs: the order changed, not the code
    r = gcc_plugin_link(tmp_path, "prog", [obj], wl=["--plugin-config,PluginConfig.yaml"])
    assert r.returncode == 0, r.stderr
    syms = nm(tmp_path / "prog")
    assert syms["main"] < syms["ccc"] < syms["bbb"] < syms["aaa"]
    assert run([str(tmp_path / "prog")], check=False).returncode == 1 + 2 - 3


def test_sort_with_a_key_keeps_script_rules(tmp_path):
    """A key function sorts too; each script rule still takes only its sections (the
    plugin's order applies within a rule)."""
    obj = compile_c(tmp_path, "1", "int aaa() { return 1; }\nint bbb() { return 2; }\n"
                    "int ccc() { return 3; }\nint main() { return 0; }\n")
    write(tmp_path, "sort.py", """\
        from ldpy.plugin import LinkerPlugin
        class ByKey(LinkerPlugin):
            def act_before_section_merging(self):
                order = {".text.ccc": 0, ".text.aaa": 1}
                self.linker.sort_input_sections_for_section_merging(
                    key=lambda s: order.get(s.name, 9), annotation="table")
        """)
    write(tmp_path, "script.t", """\
        SECTIONS {
          . = 0x400000;
          first : { *(.text.aaa) *(.text.bbb) }
          .text : { *(.text*) }
        }
        LINKER_PLUGIN("sort.py", "ByKey")
        """)
    r = ldpy(["-o", "out", obj, "-e", "main", "-T", "script.t"], tmp_path)
    assert r.returncode == 0, r.stderr
    syms = nm(tmp_path / "out")
    secs = sections(tmp_path / "out")
    # two rules in `first`: a rule's order is the script's, so aaa stays before bbb
    assert secs["first"][0] == syms["aaa"] < syms["bbb"]
    assert syms["ccc"] < syms["main"]


def test_sort_outside_act_before_section_merging_is_a_state_error(tmp_path):
    obj = compile_c(tmp_path, "1", "int main() { return 0; }\n")
    write(tmp_path, "late.py", """\
        from ldpy.plugin import LinkerPlugin
        class Late(LinkerPlugin):
            def act_before_performing_layout(self):
                self.linker.sort_input_sections_for_section_merging(key=lambda s: s.name)
        """)
    config(tmp_path, "c.yaml", "LinkerPlugin", "Late", "late.py")
    r = ldpy(["-o", "out", obj, "-e", "main", "--plugin-config", "c.yaml"], tmp_path)
    assert r.returncode == 1
    assert_no_traceback(r)
    assert "plugin 'Late': link state 'ActBeforePerformingLayout' is invalid for the API " \
           "'sort_input_sections_for_section_merging'; valid link states: [ActBeforeSectionMerging]" in r.stderr
    assert not (tmp_path / "out").exists()


LINKER = """\
from ldpy.plugin import LinkerPlugin

class Linker(LinkerPlugin):
    def act_before_section_merging(self):
        L = self.linker
        L.link_sections(L.get_output_section("foo"), L.get_output_section("bar"))
"""


def test_link_sections_sets_sh_link(tmp_path):
    """link_sections(A, B): A's sh_link is B's section index (ELD's linkSections)."""
    obj = compile_c(tmp_path, "1", "int foo() { return 1; }\nint bar() { return 2; }\n"
                    "int main() { return 0; }\n")
    write(tmp_path, "link.py", LINKER)
    write(tmp_path, "script.t", """\
        SECTIONS {
          . = 0x400000;
          foo : { *(.text.foo) }
          bar : { *(.text.bar) }
          .text : { *(.text*) }
        }
        LINKER_PLUGIN("link.py", "Linker")
        """)
    r = ldpy(["-o", "out", obj, "-e", "main", "-T", "script.t", "-Map", "out.map", "--verbose"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "plugin 'Linker': chaining sections foo and bar" in r.stderr
    rows = {}
    for line in readelf("-S", "-W", str(tmp_path / "out")).splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+(.*)", line)
        if m:
            rows[m.group(2)] = (int(m.group(1)), m.group(3).split())
    # readelf -S -W: Type Address Off Size ES Flg Lk Inf Al (Flg may be empty: count from the end)
    assert int(rows["foo"][1][-3]) == rows["bar"][0]
    assert int(rows["bar"][1][-3]) == 0
    assert "link_sections: output=foo, link=bar" in plugin_info(tmp_path / "out.map")


ADD_TO_OUTPUT = """\
from ldpy.plugin import LinkerPlugin

class AddChunkToOutputCSPlugin(LinkerPlugin):
    def act_before_performing_layout(self):
        L = self.linker
        buf = L.get_uninit_buffer(10)
        buf[:5] = b"Hello"
        L.add_chunk_to_output(L.create_data_chunk_with_custom_name(".plugin.bar", 1, buf))
        L.add_chunk_to_output(L.create_data_chunk_with_custom_name(".plugin.baz", 1, buf))
"""


def test_add_chunk_to_output_follows_the_script(tmp_path):
    """ELD's AddChunkToOutputInCreatingSections: .plugin.bar goes where the script's
    *(*bar*) puts it, .plugin.baz (no rule takes it) becomes an orphan section."""
    obj = compile_c(tmp_path, "1", "int foo() { return 1; }\n", flags=("-ffunction-sections",))
    write(tmp_path, "add.py", ADD_TO_OUTPUT)
    write(tmp_path, "script.t", "SECTIONS {\n  FOO : { *(*foo*) }\n  BAR : { *(*bar*) }\n}\n")
    config(tmp_path, "PluginConfig.yaml", "LinkerPlugin", "AddChunkToOutputCSPlugin", "add.py")
    r = ldpy(["-o", "out", obj, "-T", "script.t", "--plugin-config", "PluginConfig.yaml",
              "-Map", "out.map", "-e", "foo"], tmp_path)
    assert r.returncode == 0, r.stderr
    secs = sections(tmp_path / "out")
    assert secs["BAR"][1] == 10 and secs[".plugin.baz"][1] == 10
    text = (tmp_path / "out.map").read_text()
    assert re.search(r"\nBAR\s.*\n \*\(\*bar\*\)\n \.plugin\.bar ", text)
    dump = run(["objdump", "-s", "-j", "BAR", str(tmp_path / "out")]).stdout
    assert "Hello" in dump
    info = plugin_info(tmp_path / "out.map")
    assert "[ActBeforePerformingLayout] assign_to_output_section: chunk=.plugin.bar, output=BAR" in info


QUERIES = """\
import json, os
from ldpy.plugin import LinkerPlugin, OutputSectionIteratorPlugin, SUCCESS

OUT = {}

class Queries(LinkerPlugin):
    def act_before_section_merging(self):
        L = self.linker
        bar = next(s for f in L.get_input_files() for s in f.sections() if s.name == ".text.bar")
        out, rule = L.get_output_section_and_rule(bar)
        foo_rule = L.get_output_section("FOO").rules()[0]
        OUT["merging"] = [L.is_link_state_act_before_section_merging(), L.is_link_state_before_layout(),
                          L.get_current_link_state_as_str(), out.name, str(rule),
                          L.does_rule_match_with_section(rule, bar),
                          L.does_rule_match_with_section(foo_rule, bar)]

    def act_before_performing_layout(self):
        L = self.linker
        bar = L.get_symbol("bar").section
        out, rule = L.get_output_section_and_rule(bar)
        L.remove_chunk(rule, bar)
        OUT["unbalanced"] = [(c.name, r) for c, r in L.get_unbalanced_chunk_removes()]
        L.add_chunk(L.get_output_section("FOO").rules()[0], bar, "back")
        OUT["balanced"] = L.get_unbalanced_chunk_removes() == [] == L.get_unbalanced_chunk_adds()
        L.remove_symbol_table_entry(L.get_symbol("baz"))
        ident = L.get_warning_diag_id("%0 moved to %1")
        L.report_diag(ident, ".text.bar", "FOO")
        L.reset_offset(L.get_output_section("FOO"))

    def act_before_writing_output(self):
        L = self.linker
        OUT["segments"] = len(L.get_segment_table()) == len(L.get_segments())
        OUT["misc"] = [L.is_32bits(), L.is_multi_threaded(), L.get_plugin_thread_count(),
                       L.get_plugin() is self, L.is_post_lto_phase()]
        with open(os.environ["QUERY_LOG"], "w") as fh:
            json.dump(OUT, fh)
"""


def test_rule_queries_unbalanced_moves_symbol_table_and_diag_ids(tmp_path):
    """get_output_section_and_rule / does_rule_match_with_section (ELD's
    DoesRuleMatchWithSection without rule-matching names), get_unbalanced_chunk_removes
    (UnbalancedChunkMoves), remove_symbol_table_entry, ELD's diagnostic IDs,
    reset_offset's record, the is_link_state_* family."""
    obj = compile_c(tmp_path, "1", "int foo() { return 1; }\nint bar() { return 3; }\n"
                    "int baz() { return 5; }\nint main() { return foo() + bar() + baz() - 9; }\n")
    write(tmp_path, "q.py", QUERIES)
    write(tmp_path, "script.t", """\
        SECTIONS {
          . = 0x400000;
          FOO : { *(*foo*) }
          BAR : { *(*bar*) }
          .text : { *(.text*) }
        }
        LINKER_PLUGIN("q.py", "Queries")
        """)
    log = tmp_path / "q.json"
    r = ldpy(["-o", "out", obj, "-e", "main", "-T", "script.t", "-Map", "out.map"], tmp_path,
             env={"QUERY_LOG": str(log)})
    assert r.returncode == 0, r.stderr
    q = json.loads(log.read_text())
    assert q["merging"] == [True, False, "ActBeforeSectionMerging", "BAR", "*(*bar*) #Rule 0, BAR",
                            True, False]
    assert q["unbalanced"] == [[".text.bar", "*(*bar*) #Rule 0, BAR"]]
    assert q["balanced"] is True
    assert q["segments"] is True and q["misc"] == [False, False, 1, True, False]
    assert "warning: plugin 'Queries': .text.bar moved to FOO" in r.stderr
    syms = nm(tmp_path / "out")
    assert "baz" not in syms and "bar" in syms          # out of .symtab, code still there
    secs = sections(tmp_path / "out")
    assert "BAR" not in secs and syms["foo"] < syms["bar"] < secs["FOO"][0] + secs["FOO"][1]
    info = plugin_info(tmp_path / "out.map")
    assert "[ActBeforePerformingLayout] remove_symbol: symbol=baz" in info
    assert re.search(r"\[ActBeforePerformingLayout\] reset_offset: output=FOO, old_offset=\d+", info)


@pytest.mark.parametrize("call, message", [
    ("self.linker.set_linker_fatal_error()",
     "plugin 'Calls' stopped the link (set_linker_fatal_error in act_before_rule_matching)"),
    ("self.linker.register_command_line_option('--my-opt', False, print)",
     "plugin 'Calls': register_command_line_option is not supported by ldpy (ldpy refuses options"),
    ("self.linker.set_rule_matching_section_name_map(None, {})",
     "plugin 'Calls': set_rule_matching_section_name_map is not supported by ldpy (use set_output_section)"),
    ("self.linker.get_dwarf_info_for_input_file(None, False)",
     "plugin 'Calls': get_dwarf_info_for_input_file is not supported by ldpy"),
])
def test_fatal_error_and_unsupported_calls(tmp_path, call, message):
    obj = compile_c(tmp_path, "1", "int main() { return 0; }\n")
    write(tmp_path, "calls.py", f"""\
        from ldpy.plugin import LinkerPlugin
        class Calls(LinkerPlugin):
            def act_before_rule_matching(self):
                {call}
        """)
    config(tmp_path, "c.yaml", "LinkerPlugin", "Calls", "calls.py")
    r = ldpy(["-o", "out", obj, "-e", "main", "--plugin-config", "c.yaml"], tmp_path)
    assert r.returncode == 1
    assert_no_traceback(r)
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


ORDER_PLUGIN = """\
from ldpy.plugin import LinkerPlugin

class Order(LinkerPlugin):
    def act_before_section_merging(self):
        L = self.linker
        names = L.get_file_contents(L.find_config_file("order.txt")).split()
        rank = {n: i for i, n in enumerate(names)}
        L.sort_input_sections_for_section_merging(key=lambda s: rank.get(s.name, len(rank)),
                                                 annotation="order.txt")
        with open("made-by-plugin.txt", "w") as fh:
            fh.write("notes\\n")
        L.add_file_to_reproduce_tar("made-by-plugin.txt")
"""

COUNT_PLUGIN = """\
from ldpy.plugin import SectionIteratorPlugin

class Count(SectionIteratorPlugin):
    def init(self, options):
        self.n = 0
    def process_section(self, s):
        self.n += 1
    def run(self, verbose):
        self.linker.add_link_stat("sections", self.n)
        return 0
"""


@pytest.mark.slow
def test_reproduce_archive_carries_the_plugins(tmp_path):
    """--reproduce: the plugin modules (named by absolute path in --plugin-config and in a
    script given as an input file, by a bare name found on -L), the config file, a file the plugin found with
    find_config_file and one it added are in the tar; relinking from the extracted
    tar elsewhere gives the same bytes."""
    work = tmp_path / "work"
    (work / "plugins").mkdir(parents=True)
    (work / "cfg").mkdir()
    obj = compile_c(work, "m", "int foo(void) { return 1; }\nint bar(void) { return 2; }\n"
                    "int main(void) { return foo() + bar() - 3; }\n")
    write(work / "plugins", "order.py", ORDER_PLUGIN)
    write(work / "plugins", "count.py", COUNT_PLUGIN)
    (work / "order.txt").write_text(".text.bar .text.main .text.foo\n")
    config(work / "cfg", "p.yaml", "LinkerPlugin", "Order", str(work / "plugins" / "order.py"))
    write(work / "plugins", "noop.py", "from ldpy.plugin import LinkerPlugin\nclass Noop(LinkerPlugin): pass\n")
    write(work, "script.t", 'PLUGIN_ITER_SECTIONS("count", "Count")\n'
          f'LINKER_PLUGIN("{work}/plugins/noop.py", "Noop")\n')
    args = ["-o", "out", obj, "-e", "main", "--plugin-config", "cfg/p.yaml", "-L", "plugins",
            "script.t"]
    r = ldpy(args + ["--reproduce=repro.tar"], work)
    assert r.returncode == 0, r.stderr
    syms = nm(work / "out")
    assert syms["bar"] < syms["main"] < syms["foo"]
    with tarfile.open(work / "repro.tar") as tar:
        names = set(tar.getnames())
        inside = str(work).lstrip("/")
        assert {"repro/response.txt", "repro/count.py", "repro/order.txt", "repro/made-by-plugin.txt",
                f"repro/{inside}/plugins/order.py", f"repro/{inside}/cfg/p.yaml"} <= names
        cfg = tar.extractfile(f"repro/{inside}/cfg/p.yaml").read().decode()
        assert f"Library: {inside}/plugins/order.py" in cfg
        script = tar.extractfile(f"repro/{inside}/script.t").read().decode()
        assert f'LINKER_PLUGIN("{inside}/plugins/noop.py", "Noop")' in script
        assert f"repro/{inside}/plugins/noop.py" in names
        response = tar.extractfile("repro/response.txt").read().decode()
        assert f"--plugin-config\n{inside}/cfg/p.yaml" in response
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        tar.extractall(elsewhere)
    os.rename(work, tmp_path / "gone")          # the original files are not used
    root = elsewhere / "repro"
    r2 = ldpy(["@response.txt"], root)
    assert r2.returncode == 0, r2.stderr
    assert (root / "out").read_bytes() == (tmp_path / "gone" / "out").read_bytes()


KEEPER = """\
import json, os
from ldpy.plugin import SectionIteratorPlugin, SUCCESS

class Keeper(SectionIteratorPlugin):
    def init(self, options):
        self.kept, self.names, self.seen = [], [], []
    def process_section(self, s):
        self.seen.append(s.name)
        if len(self.seen) % 2:            # keep every other view
            self.kept.append(s)
            self.names.append(s.name)
    def run(self, verbose):
        with open(os.environ["KEEP_LOG"], "w") as fh:
            json.dump({"kept": [s.name for s in self.kept], "names": self.names, "seen": self.seen,
                       "distinct": len({id(s) for s in self.kept}), "live": all(s.is_live for s in self.kept)}, fh)
        return SUCCESS
"""


def test_section_views_a_plugin_keeps_stay_what_they_were(tmp_path):
    """Per-section hooks re-point one view from section to section (cheap for big
    links); a view the plugin keeps is never re-pointed."""
    obj = compile_c(tmp_path, "1", "int a() { return 1; }\nint b() { return 2; }\nint c() { return 3; }\n"
                    "int d() { return 4; }\nint main() { return 0; }\n")
    write(tmp_path, "keep.py", KEEPER)
    write(tmp_path, "script.t", 'PLUGIN_ITER_SECTIONS("keep.py", "Keeper")\n')
    log = tmp_path / "keep.json"
    r = ldpy(["-o", "out", obj, "-e", "main", "script.t"], tmp_path, env={"KEEP_LOG": str(log)})
    assert r.returncode == 0, r.stderr
    k = json.loads(log.read_text())
    assert {".text.a", ".text.b", ".text.c", ".text.d", ".text.main"} <= set(k["seen"])
    assert k["kept"] == k["names"] == k["seen"][::2]
    assert k["distinct"] == len(k["kept"]) and k["live"] is True


COPY_BLOCKS = """\
import json, os
from ldpy.plugin import ControlMemorySizePlugin, SUCCESS

class CopyBlocksPlugin(ControlMemorySizePlugin):
    def init(self, options):
        self.blocks = []
    def add_blocks(self, b):
        self.seen = {"name": b.name, "size": b.size, "address": b.address,
                     "chunks": [list(c) for c in b.chunks],
                     "uses": [[off, u.type_name, u.symbol_name] for off, u in b.uses]}
        b.name = ".pluginfoo"
        self.blocks.append(b)
    def run(self, verbose):
        with open(os.environ["COPY_LOG"], "w") as fh:
            json.dump(self.seen, fh)
        return SUCCESS
    def get_blocks(self):
        return self.blocks

def get_plugin(name):                     # (ELD's getPlugin: the plugin by its name)
    return CopyBlocksPlugin(name) if name == "COPYBLOCKS" else None
"""


def test_control_memory_size_block_with_its_relocations(tmp_path):
    """ELD's VirtualAddress test: a ControlMemorySize plugin renames its section's block
    `.pluginfoo`, which the script's `.plugin` takes.  ldpy hands the block over before
    layout: the inputs' bytes, the chunks, and the relocations those bytes still need."""
    obj = compile_c(tmp_path, "1", "int bar();\nint foo() { return bar(); }\nint bar() { return foo(); }\n"
                    "int baz() { return foo() + bar(); }\n", flags=("-O0", "-ffunction-sections"))
    write(tmp_path, "copy.py", COPY_BLOCKS)
    write(tmp_path, "script.t", """\
        SECTIONS {
          . = 0x400000;
          .foo PLUGIN_CONTROL_MEMSZ("copy.py", "COPYBLOCKS", "G0") : {
            *(.text.foo)
            . = . + 100;
            *(.text.baz)
          }
          .bar : { *(.text.bar) }
          .plugin : { *(.pluginfoo) }
        }
        """)
    log = tmp_path / "copy.json"
    r = ldpy(["-o", "out", obj, "-T", "script.t", "-e", "foo", "--trace=plugin", "-Map", "out.map"],
             tmp_path, env={"COPY_LOG": str(log)})
    assert r.returncode == 0, r.stderr
    seen = json.loads(log.read_text())
    assert seen["name"] == ".foo" and seen["address"] == 0
    assert [c[0] for c in seen["chunks"]] == [".text.foo", ".text.baz"]
    calls = [u for u in seen["uses"] if u[1] == "R_X86_64_PLT32"]
    assert [u[2] for u in calls] == ["bar", "foo", "bar"]
    assert calls[0][0] < seen["chunks"][1][1] <= calls[1][0]          # foo's call, then baz's
    secs = sections(tmp_path / "out")
    assert secs[".plugin"][1] == seen["size"] and secs[".foo"][1] == seen["size"] + 100
    text = (tmp_path / "out.map").read_text()
    assert re.search(r"\n\.plugin\s.*\n \*\(\.pluginfoo\)\n \.pluginfoo ", text)
    assert "blocks: section=.foo, count=1" in plugin_info(tmp_path / "out.map")


GC_ITER = """\
import sys
from ldpy.plugin import SectionIteratorPlugin, SUCCESS

class IterateSectionsGC(SectionIteratorPlugin):
    def init(self, options):
        self.sections = []
    def process_section(self, s):
        self.sections.append(s)
    def run(self, verbose):
        for s in self.sections:
            print(s.name, file=sys.stderr)
        return SUCCESS
"""


def test_section_iterator_skips_garbage_collected_sections(tmp_path):
    """ELD's IterateSectionsWithGC: with --gc-sections, SectionIterator plugins see only
    the sections that stay (SectionMatcher plugins run before the collection)."""
    obj = compile_c(tmp_path, "1", "int main() { return 0; }\nint foo() { return 0; }\n"
                    "int bar() { return 0; }\n")
    write(tmp_path, "gc.py", GC_ITER)
    write(tmp_path, "script.t", 'PLUGIN_ITER_SECTIONS("gc.py", "IterateSectionsGC")\n'
          "SECTIONS {\n  .text : { *(.text*) }\n}\n")
    r = ldpy(["-o", "out", obj, "-e", "main", "--gc-sections", "-T", "script.t", "--trace=plugin",
              "--defsym", "defsym_var=0x1000"], tmp_path)
    assert r.returncode == 0, r.stderr
    seen = [l for l in r.stderr.splitlines() if not l.startswith("ldpy:")]
    assert ".text.main" in seen and ".text.foo" not in seen and ".text.bar" not in seen
    assert "ldpy: trace: plugin 'IterateSectionsGC': process_section (BeforeLayout)" in r.stderr


ERROR_AT_CREATING = """\
from ldpy.plugin import OutputSectionIteratorPlugin, SUCCESS, ERROR

class ErrorOutAtCreatingSections(OutputSectionIteratorPlugin):
    def run(self, verbose):
        if self.linker.is_link_state_creating_sections():
            return ERROR
        return SUCCESS
    def last_error(self):
        return 0, "Error!"
"""


def test_run_error_at_creating_sections(tmp_path):
    """ELD's ErrorOutAtCreatingSections: run() returning ERROR in CreatingSections stops
    the link with the plugin's last error and the state; no output is left."""
    a = compile_c(tmp_path, "1", 'const char *foo() { return "Hello, foo!"; }\n')
    b = compile_c(tmp_path, "2", 'const char *bar() { return "Hello, foo!"; }\n')
    write(tmp_path, "err.py", ERROR_AT_CREATING)
    config(tmp_path, "PluginConfig.yaml", "OutputSectionIterator", "ErrorOutAtCreatingSections", "err.py")
    r = ldpy(["-o", "out", a, b, "-e", "foo", "--plugin-config", "PluginConfig.yaml", "-Map", "out.map"],
             tmp_path)
    assert r.returncode == 1
    assert_no_traceback(r)
    assert r.stderr.strip() == ("ldpy: error: plugin 'ErrorOutAtCreatingSections' (OutputSectionIterator): "
                                "run failed in CreatingSections (error 0): Error!")
    assert not (tmp_path / "out").exists()


MISC = """\
import os
from ldpy.plugin import LinkerPlugin

class Misc(LinkerPlugin):
    def act_before_rule_matching(self):
        L = self.linker
        L.set_preserve_symbol(L.get_symbol("unused"))
        self.mode = L.get_link_mode()
    def act_before_writing_output(self):
        L = self.linker
        text = next(s for f in L.get_input_files() for s in f.sections() if s.name == ".text.main")
        L.write_small_json_file(os.environ["MISC_LOG"], {
            "mode": self.mode, "version": L.get_repository_version().split()[0],
            "output": L.get_linker_config().output, "timing": L.is_timing_enabled(),
            "buffer": L.get_buffer("data.txt").decode(), "missing": L.get_buffer("no-such-file"),
            "finish": L.finish_assign_output_sections(),
            "rm_name": L.get_rule_matching_section_name(text),
            "unused": L.get_symbol("unused").address is not None})
"""


@pytest.mark.parametrize("flags, mode", [(["-static"], "StaticExecutable"), (["-pie"], "PIE"),
                                         (["-shared"], "SharedLibrary")])
def test_link_mode_config_buffers_json_and_preserve(tmp_path, flags, mode):
    """ELD's LinkMode test and the small calls: get_link_mode per kind of output,
    get_linker_config, get_buffer, write_small_json_file, set_preserve_symbol (a
    --gc-sections root), finish_assign_output_sections."""
    obj = compile_c(tmp_path, "1", "int unused(void) { return 7; }\nint main(void) { return 0; }\n",
                    flags=("-O1", "-ffunction-sections", "-fPIC"))
    write(tmp_path, "misc.py", MISC)
    (tmp_path / "data.txt").write_text("some bytes")
    config(tmp_path, "c.yaml", "LinkerPlugin", "Misc", "misc.py")
    log = tmp_path / "misc.json"
    r = ldpy(["-o", "out", obj, "-e", "main", "--gc-sections", "--plugin-config", "c.yaml", *flags],
             tmp_path, env={"MISC_LOG": str(log)})
    assert r.returncode == 0, r.stderr
    m = json.loads(log.read_text())
    assert m == {"mode": mode, "version": "ldpy", "output": "out", "timing": True, "buffer": "some bytes",
                 "missing": None, "finish": None, "rm_name": None, "unused": True}
    assert "unused" in nm(tmp_path / "out")        # kept through --gc-sections
