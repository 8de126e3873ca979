"""ldpy.cli: the GNU ld command line -> Config."""
import os
import shutil
import subprocess
import sys

import pytest

from ldpy.cli import HELP_TEXT, VERSION_TEXT, Config, InputSpec, parse_args, parse_number
from ldpy.diag import LinkError

G = "/usr/lib/gcc/x86_64-linux-gnu/12"


def cmd(text):
    """A recorded command line: whitespace-separated, $G = gcc's library directory."""
    return text.replace("$G", G).split()


def inputs(config):
    return [(s.kind, s.name) for s in config.inputs]


def libs(config):
    return {s.name: s for s in config.inputs if s.kind == "lib"}


def err(argv):
    with pytest.raises(LinkError) as e:
        parse_args(argv)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


# What gcc 12.2 (Debian bookworm) runs as ld, captured with a fake `ld` under gcc -B.
PLUGIN = ("-plugin $G/liblto_plugin.so -plugin-opt=$G/lto-wrapper -plugin-opt=-fresolution=/tmp/ccX.res "
          "-plugin-opt=-pass-through=-lgcc -plugin-opt=-pass-through=-lgcc_eh -plugin-opt=-pass-through=-lc ")
LPATHS = ("-L$G -L$G/../../../x86_64-linux-gnu -L$G/../../../../lib -L/lib/x86_64-linux-gnu -L/lib/../lib "
          "-L/usr/lib/x86_64-linux-gnu -L/usr/lib/../lib -L$G/../../.. ")
GCC_STATIC = (PLUGIN + "--build-id -m elf_x86_64 --hash-style=gnu --as-needed -static -o /tmp/hout "
              "$G/../../../x86_64-linux-gnu/crt1.o $G/../../../x86_64-linux-gnu/crti.o $G/crtbeginT.o "
              + LPATHS + "/tmp/ccX.o --start-group -lgcc -lgcc_eh -lc --end-group $G/crtend.o "
              "$G/../../../x86_64-linux-gnu/crtn.o")
GCC_PIE = (PLUGIN + "--build-id --eh-frame-hdr -m elf_x86_64 --hash-style=gnu --as-needed "
           "-dynamic-linker /lib64/ld-linux-x86-64.so.2 -pie -o /tmp/hout "
           "$G/../../../x86_64-linux-gnu/Scrt1.o $G/../../../x86_64-linux-gnu/crti.o $G/crtbeginS.o "
           + LPATHS + "/tmp/ccX.o -lgcc --push-state --as-needed -lgcc_s --pop-state -lc -lgcc "
           "--push-state --as-needed -lgcc_s --pop-state $G/crtendS.o $G/../../../x86_64-linux-gnu/crtn.o")
GXX_PIE = (PLUGIN + "--build-id --eh-frame-hdr -m elf_x86_64 --hash-style=gnu --as-needed "
           "-dynamic-linker /lib64/ld-linux-x86-64.so.2 -pie -o /tmp/hout "
           "$G/../../../x86_64-linux-gnu/Scrt1.o $G/../../../x86_64-linux-gnu/crti.o $G/crtbeginS.o "
           + LPATHS + "/tmp/ccX.o -lstdc++ -lm -lgcc_s -lgcc -lc -lgcc_s -lgcc "
           "$G/crtendS.o $G/../../../x86_64-linux-gnu/crtn.o")
GCC_STATIC_PIE = (PLUGIN + "--build-id --eh-frame-hdr -m elf_x86_64 --hash-style=gnu --as-needed "
                  "-static -pie --no-dynamic-linker -z text -pie -o /tmp/hout "
                  "$G/../../../x86_64-linux-gnu/rcrt1.o $G/../../../x86_64-linux-gnu/crti.o $G/crtbeginS.o "
                  + LPATHS + "/tmp/ccX.o --start-group -lgcc -lgcc_eh -lc --end-group "
                  "$G/crtendS.o $G/../../../x86_64-linux-gnu/crtn.o")
GCC_SHARED = (PLUGIN + "--build-id --eh-frame-hdr -m elf_x86_64 --hash-style=gnu --as-needed -shared "
              "-o /tmp/libx.so $G/../../../x86_64-linux-gnu/crti.o $G/crtbeginS.o " + LPATHS +
              "-soname libx.so.1 /tmp/ccX.o -lgcc --push-state --as-needed -lgcc_s --pop-state -lc -lgcc "
              "--push-state --as-needed -lgcc_s --pop-state $G/crtendS.o $G/../../../x86_64-linux-gnu/crtn.o")
GCC_R = (PLUGIN + "--eh-frame-hdr -m elf_x86_64 --hash-style=gnu --as-needed "
         "-dynamic-linker /lib64/ld-linux-x86-64.so.2 -o /tmp/hout -r " + LPATHS + "/tmp/ccX.o")


# -- real gcc command lines ---------------------------------------------------

def test_gcc_static():
    c = parse_args(cmd(GCC_STATIC))
    assert c.output == "/tmp/hout"
    assert c.output_type == "exec" and not c.pie and not c.shared and not c.relocatable
    assert c.static
    assert c.emulation == "elf_x86_64"
    assert c.hash_style == "gnu"
    assert c.build_id == "sha1"
    assert not c.eh_frame_hdr                     # gcc -static does not ask for it
    assert c.dynamic_linker is None
    assert c.plugins == [f"{G}/liblto_plugin.so"]
    assert c.plugin_opts[0] == (0, f"{G}/lto-wrapper") and c.plugin_opts[-1] == (0, "-pass-through=-lc")
    assert c.library_paths[0] == G and len(c.library_paths) == 8
    assert inputs(c) == [
        ("file", f"{G}/../../../x86_64-linux-gnu/crt1.o"), ("file", f"{G}/../../../x86_64-linux-gnu/crti.o"),
        ("file", f"{G}/crtbeginT.o"), ("file", "/tmp/ccX.o"), ("group_start", ""),
        ("lib", "gcc"), ("lib", "gcc_eh"), ("lib", "c"), ("group_end", ""),
        ("file", f"{G}/crtend.o"), ("file", f"{G}/../../../x86_64-linux-gnu/crtn.o")]
    assert all(s.static and s.as_needed and not s.whole_archive for s in c.inputs)
    assert c.warnings == [] and c.ignored_options == []


def test_gcc_dynamic_pie():
    c = parse_args(cmd(GCC_PIE))
    assert c.output_type == "pie" and c.pie and not c.static
    assert c.dynamic_linker == "/lib64/ld-linux-x86-64.so.2" and not c.no_dynamic_linker
    assert c.eh_frame_hdr and c.build_id == "sha1"
    assert c.unresolved_symbols == "report-all"
    assert [n for k, n in inputs(c) if k == "lib"] == ["gcc", "gcc_s", "c", "gcc", "gcc_s"]
    assert not any(s.static for s in c.inputs)
    assert all(s.as_needed for s in c.inputs)     # Debian's gcc passes --as-needed first
    assert inputs(c)[0] == ("file", f"{G}/../../../x86_64-linux-gnu/Scrt1.o")


def test_gxx_pie():
    c = parse_args(cmd(GXX_PIE))
    assert c.pie
    assert [n for k, n in inputs(c) if k == "lib"] == ["stdc++", "m", "gcc_s", "gcc", "c", "gcc_s", "gcc"]


def test_gcc_static_pie():
    c = parse_args(cmd(GCC_STATIC_PIE))
    assert c.pie and c.static and c.no_dynamic_linker and c.dynamic_linker is None
    assert c.textrel_check == "error"              # -z text
    assert c.output_type == "pie"


def test_gcc_shared():
    c = parse_args(cmd(GCC_SHARED))
    assert c.shared and not c.pie and c.output_type == "shared"
    assert c.soname == "libx.so.1"
    # a shared library may keep undefined references (GNU's default for -shared)
    assert c.unresolved_symbols == "ignore-all"


def test_gcc_relocatable():
    c = parse_args(cmd(GCC_R))
    assert c.relocatable and c.output_type == "relocatable"
    assert c.build_id is None
    assert not c.check_sections                   # GNU does not check overlaps for -r
    assert c.static                               # -r: later -l find only lib*.a
    assert inputs(c) == [("file", "/tmp/ccX.o")]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("flags", [[], ["-static"], ["-static-pie"], ["-shared", "-fPIC"], ["-r"],
                                   ["-Wl,-z,relro,-z,now,--gc-sections,-soname=x,--as-needed"]])
def test_live_gcc_command_lines(tmp_path, flags):
    """Whatever this machine's gcc passes to ld must parse."""
    (tmp_path / "h.c").write_text("int main(void) { return 0; }\n")
    fake = tmp_path / "ld"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$(dirname "$0")/args"\n')
    fake.chmod(0o755)
    subprocess.run(["gcc", f"-B{tmp_path}/", *flags, str(tmp_path / "h.c"), "-o", str(tmp_path / "out")],
                   cwd=tmp_path, capture_output=True)
    argv = (tmp_path / "args").read_text().split("\n")[:-1]
    c = parse_args(argv)
    assert c.output == str(tmp_path / "out")
    assert any(s.kind == "file" and s.name.endswith(".o") for s in c.inputs)
    assert c.warnings == []


# -- response files -----------------------------------------------------------

def test_response_file_quotes_and_escapes(tmp_path):
    rsp = tmp_path / "a.rsp"
    rsp.write_text("-o 'out file'  \"b c.o\"\n  plain.o d\\ e.o 'it''s' \"x\\\"y\" '' \t-lm\n")
    c = parse_args([f"@{rsp}"])
    assert c.output == "out file"
    assert inputs(c) == [("file", "b c.o"), ("file", "plain.o"), ("file", "d e.o"), ("file", "its"),
                         ("file", 'x"y'), ("file", ""), ("lib", "m")]


def test_response_file_nested_in_place(tmp_path):
    (tmp_path / "inner.rsp").write_text("b.o -lfoo")
    (tmp_path / "outer.rsp").write_text(f"a.o @{tmp_path}/inner.rsp c.o")
    c = parse_args(["first.o", f"@{tmp_path}/outer.rsp", "last.o"])
    assert [n for _, n in inputs(c)] == ["first.o", "a.o", "b.o", "foo", "c.o", "last.o"]


def test_response_file_plain_split(tmp_path):
    rsp = tmp_path / "objs.rsp"
    rsp.write_text("\n".join(f"o{i}.o" for i in range(1000)) + "\n")
    c = parse_args(["-o", "x", f"@{rsp}"])
    assert len(c.inputs) == 1000 and c.inputs[-1].name == "o999.o"


def test_response_file_missing():
    assert err(["a.o", "@x.rsp"]) == "cannot open response file '@x.rsp': No such file or directory"


def test_response_file_recursive(tmp_path):
    rsp = tmp_path / "self.rsp"
    rsp.write_text(f"a.o @{rsp}")
    assert "too many response files" in err([f"@{rsp}"])


# -- input state ------------------------------------------------------------

def test_push_pop_state():
    c = parse_args(cmd("-lgcc --push-state --as-needed -Bstatic --whole-archive -lgcc_s --pop-state -lc"))
    l = libs(c)
    assert (l["gcc"].as_needed, l["gcc"].static, l["gcc"].whole_archive) == (False, False, False)
    assert (l["gcc_s"].as_needed, l["gcc_s"].static, l["gcc_s"].whole_archive) == (True, True, True)
    assert (l["c"].as_needed, l["c"].static, l["c"].whole_archive) == (False, False, False)


def test_push_pop_state_nested():
    c = parse_args(cmd("--as-needed --push-state --no-as-needed --push-state -static --pop-state -la "
                       "--pop-state -lb"))
    assert (libs(c)["a"].as_needed, libs(c)["a"].static) == (False, False)
    assert (libs(c)["b"].as_needed, libs(c)["b"].static) == (True, False)


def test_pop_state_without_push():
    assert "no state pushed" in err(["--pop-state"])


def test_static_dynamic_switches():
    c = parse_args(cmd("-la -Bstatic -lb -Bdynamic -lc -dn -ld -dy -le -non_shared -lf -call_shared -lg "
                       "-static -lh"))
    assert [s.static for s in c.inputs] == [False, True, False, True, False, True, False, True]
    assert c.static                               # the state at the end of the line


def test_whole_archive():
    c = parse_args(cmd("--whole-archive libx.a -ly --no-whole-archive libz.a"))
    assert [s.whole_archive for s in c.inputs] == [True, True, False]


def test_groups():
    c = parse_args(cmd("a.o --start-group -la -lb --end-group -( x.a -) c.o"))
    assert [k for k, _ in inputs(c)] == ["file", "group_start", "lib", "lib", "group_end",
                                         "group_start", "file", "group_end", "file"]


def test_group_mismatch():
    assert "--start-group" in err(cmd("a.o --start-group -lc"))
    assert "--end-group" in err(cmd("a.o --end-group"))
    assert "--end-group" in err(cmd("-( -) -)"))


def test_library_spellings():
    c = parse_args(cmd("-l:libfoo.a -lc -l m --library=z --library pthread -l :x.so"))
    assert inputs(c) == [("lib", ":libfoo.a"), ("lib", "c"), ("lib", "m"), ("lib", "z"), ("lib", "pthread"),
                         ("lib", ":x.so")]


def test_dash_l_is_always_a_library():
    # GNU rewrites -lNAME to --library=NAME before anything else
    assert inputs(parse_args(["-library"])) == [("lib", "ibrary")]
    assert inputs(parse_args(["-lstatic"])) == [("lib", "static")]


def test_scripts_are_inputs_in_order():
    c = parse_args(cmd("a.o -T one.ld --script=two.ld -Tthree.ld -dT def.ld b.o"))
    assert c.scripts == ["one.ld", "two.ld", "three.ld"]
    assert c.default_script == "def.ld"
    assert inputs(c) == [("file", "a.o"), ("script", "one.ld"), ("script", "two.ld"),
                         ("script", "three.ld"), ("file", "b.o")]


def test_just_symbols_and_R_directory(tmp_path):
    f = tmp_path / "syms.o"
    f.write_bytes(b"")
    c = parse_args(["-R", str(f), "-R", str(tmp_path), "--just-symbols", str(tmp_path / "x")])
    assert inputs(c) == [("just_symbols", str(f)), ("just_symbols", str(tmp_path / "x"))]
    assert c.rpath == [str(tmp_path)]


def test_double_dash_ends_options():
    assert inputs(parse_args(["a.o", "--", "-b.o", "--c"])) == [("file", "a.o"), ("file", "-b.o"),
                                                              ("file", "--c")]


def test_format_state():
    c = parse_args(cmd("a.o -b binary blob.bin -b default c.o"))
    assert [s.format for s in c.inputs] == [None, "binary", "default"]


# -- option syntax --------------------------------------------------------------

def test_z_joined_and_separate():
    a = parse_args(cmd("-zrelro -znow -zmax-page-size=0x200000"))
    b = parse_args(cmd("-z relro -z now -z max-page-size=0x200000"))
    for c in (a, b):
        assert c.relro and c.now and c.max_page_size == 0x200000
    assert not parse_args(cmd("-z norelro")).relro
    assert not parse_args(cmd("-z now -z lazy")).now


def test_z_unknown_keyword_warns():
    c = parse_args(cmd("-z frobnicate -z relro -z max-page-size"))
    assert c.warnings == ["-z frobnicate ignored", "-z max-page-size ignored"]
    assert c.relro


def test_z_keywords():
    c = parse_args(cmd("-z noexecstack -z separate-code -z text -z defs -z muldefs -z nodelete -z initfirst "
                       "-z interpose -z nodlopen -z nodump -z origin -z global -z combreloc "
                       "-z common-page-size=4096 -z max-page-size=4K -z stack-size=0x100000 "
                       "-z cet-report=none -z nomark-plt -z nopack-relative-relocs -z start-stop-gc "
                       "-z start-stop-visibility=protected -z nounique-symbol "
                       "-z dynamic-undefined-weak -z lam-report=none -z loadfltr -z nodefaultlib -z unique "
                       "-z globalaudit"))
    assert c.warnings == []
    assert c.execstack is False and c.separate_code and c.textrel_check == "error"
    assert c.no_undefined and c.allow_multiple_definition
    assert c.z_nodelete and c.z_initfirst and c.z_interpose and c.z_nodlopen and c.z_nodump
    assert c.z_origin and c.z_global and c.combreloc and c.z_loadfltr and c.z_nodefaultlib
    assert c.z_unique and c.z_globalaudit
    assert c.common_page_size == 4096 and c.max_page_size == 4096 and c.stack_size == 0x100000
    assert not c.mark_plt and not c.pack_relative_relocs and c.start_stop_gc
    assert c.start_stop_visibility == "protected" and not c.unique_symbol
    assert c.dynamic_undefined_weak


@pytest.mark.parametrize("words", [
    "-z mark-plt",
    "-z unique-symbol", "-z noextern-protected-data",
    "-z indirect-extern-access", "-z lam-u48", "-z report-relative-reloc",
    "-z nosectionheader", "-z lam-report=warning",
    "-z start-stop-visibility=hidden",
    "--sort-common", "--sort-section=name",
    "--copy-dt-needed-entries", "--warn-execstack",
    "--oformat=binary", "-c script.mri", "--spare-dynamic-tags=5"])
def test_options_not_supported_yet_are_refused(words):
    """No silent options: what ldpy cannot honour yet is refused by name."""
    message = err(cmd(words))
    assert "is not supported yet" in message, message
    assert words.split("=")[0].split()[0].lstrip("-") in message


def test_x86_z_keywords_of_issue_20_are_honoured():
    c = parse_args(cmd("-z ibt -z shstk -z ibtplt -z x86-64-v3 -z pack-relative-relocs -z nocopyreloc "
                       "-z nodynamic-undefined-weak -z cet-report=error"))
    assert c.ibt and c.shstk and c.ibtplt and c.x86_isa_level == 3 and c.pack_relative_relocs
    assert c.nocopyreloc and c.dynamic_undefined_weak is False and c.cet_report == "error"
    assert parse_args(cmd("--pack-dyn-relocs=relr")).pack_relative_relocs
    assert not parse_args(cmd("--pack-dyn-relocs=relr --pack-dyn-relocs=none")).pack_relative_relocs
    assert parse_args(cmd("-z isa-level-report=all")).warnings == ["-z isa-level-report=all ignored"]
    r = subprocess.run(["ld.bfd", "-z", "isa-level-report=all", "--version"], capture_output=True, text=True)
    assert "-z isa-level-report=all ignored" in r.stderr


def test_keep_text_section_prefix_as_gold_and_lld(tmp_path):
    """-z keep-text-section-prefix keeps .text.hot/.unknown/.unlikely/.startup/.exit/
    .split as output sections of their own (gold, lld; ld.bfd 2.40 ignores it on x86)."""
    asm = ".globl _start\n.text\n_start: ret\n" + "".join(
        f'.section {n}\n.ascii "{n} "\n.section {n}.foo\n.ascii "{n}.foo "\n'
        for n in (".text.hot", ".text.unknown", ".text.unlikely", ".text.startup", ".text.exit",
                  ".text", ".data"))
    (tmp_path / "a.s").write_text(asm)
    subprocess.run(["gcc", "-c", "-o", tmp_path / "a.o", tmp_path / "a.s"], check=True)
    def sections(*opts):
        exe = tmp_path / "exe"
        subprocess.run([sys.executable, "-m", "ldpy", "-o", exe, tmp_path / "a.o", *opts], check=True)
        return subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True).stdout, exe
    out, exe = sections("-z", "keep-text-section-prefix")
    for n in (".text.hot", ".text.unknown", ".text.unlikely", ".text.startup", ".text.exit"):
        assert f" {n} " in out
        dump = subprocess.run(["readelf", "-p", n, exe], capture_output=True, text=True).stdout
        assert f"{n} {n}.foo" in dump
    assert ".text.foo" not in out
    for opts in ((), ("-z", "keep-text-section-prefix", "-z", "nokeep-text-section-prefix")):
        assert ".text.hot" not in sections(*opts)[0]


def test_every_option_has_a_declared_state():
    """Each option of the table is implemented, a hint, ignored as GNU ld ignores
    it, refused, or honoured for a listed set of values; options whose action
    only records them as ignored are never 'implemented'; --help says which."""
    from ldpy import cli
    states = {cli.IMPLEMENTED, cli.HINT, cli.IGNORED, cli.UNSUPPORTED}
    for opt in cli.OPTIONS:
        assert opt.state in states or isinstance(opt.state, frozenset), opt.names
        if opt.action is cli._ignore:
            assert opt.state != cli.IMPLEMENTED, opt.names
    for key, state in cli.Z_STATES.items():
        assert key in {k for k, *_ in cli.Z_KEYWORDS}
        assert state in states or isinstance(state, frozenset)
    assert "--unique[=SECTION]          Don't merge input [SECTION | orphan] sections\n" in cli.HELP_TEXT
    assert "-c FILE, --mri-script FILE  Read MRI format linker script [not supported yet]" in cli.HELP_TEXT
    assert "-q, --emit-relocs           Generate relocations in final output\n" in cli.HELP_TEXT
    assert "[hint: no effect on the output]" in cli.HELP_TEXT


def test_z_bad_values():
    assert "power of 2" in err(cmd("-z max-page-size=3000"))
    assert "cet-report" in err(cmd("-z cet-report=loud"))
    assert "common page size" in err(cmd("-z max-page-size=0x1000 -z common-page-size=0x2000"))


def test_soname_spellings():
    for argv in (["-soname", "x"], ["-soname=x"], ["--soname=x"], ["--soname", "x"], ["-h", "x"], ["-hx"]):
        assert parse_args(argv).soname == "x", argv


def test_single_dash_long_options_are_not_split():
    c = parse_args(cmd("-static -shared -export-dynamic -nostdlib -rpath /r -rpath-link /rl -soname s "
                       "-plugin p.so -plugin-opt=-x -plugin-opt y -dynamic-linker /ld.so -init i -fini f "
                       "-Bsymbolic -Map=m.map"))
    assert c.static and c.shared and c.export_dynamic and c.nostdlib
    assert not c.strip_all and not c.relocatable and not c.trace   # not -s -t -a -t -i -c / -r
    assert c.rpath == ["/r"] and c.rpath_link == ["/rl"] and c.soname == "s"
    assert c.plugins == ["p.so"] and c.plugin_opts == [(0, "-x"), (0, "y")]
    assert c.dynamic_linker == "/ld.so" and c.init == "i" and c.fini == "f"
    assert c.symbolic == "all" and c.map_file == "m.map"


def test_long_options_with_one_or_two_dashes():
    for argv in (["-pie"], ["--pie"], ["--pic-executable"]):
        assert parse_args(argv).pie
    for argv in (["-E"], ["-export-dynamic"], ["--export-dynamic"]):
        assert parse_args(argv).export_dynamic
    assert parse_args(["-gc-sections"]).gc_sections
    assert parse_args(["--whole-a", "x.a"]).inputs[0].whole_archive      # unique abbreviation


def test_joined_and_separate_values():
    a = parse_args(cmd("-oout -L/p -emain -usym -m elf_x86_64"))
    b = parse_args(cmd("-o out -L /p -e main -u sym -melf_x86_64"))
    c = parse_args(cmd("--output=out --library-path=/p --entry=main --undefined=sym"))
    for x in (a, b, c):
        assert (x.output, x.library_paths, x.entry, x.undefined) == ("out", ["/p"], "main", ["sym"])


def test_o_options_need_two_dashes():
    c = parse_args(["-omagic"])
    assert c.output == "magic" and not c.omagic
    c = parse_args(["--omagic", "--oformat=elf64-x86-64"])
    assert c.omagic and c.oformat == "elf64-x86-64" and c.output == "a.out"
    assert parse_args(["-oformat"]).output == "format"


def test_rpath_dedup_like_gnu():
    assert parse_args(cmd("-rpath /a -rpath /a -rpath /b -R /nonexistent-dir")).rpath == \
        ["/a", "/b", "/nonexistent-dir"]


def test_grouped_short_options():
    c = parse_args(["-sS"])
    assert c.strip_debug and not c.strip_all        # the last of -s/-S wins, like GNU
    assert c.warnings == ["grouped short command line options are deprecated: -sS"]
    assert "unable to disambiguate" in err(["-sofoo"])


def test_link_type_last_wins():
    assert parse_args(["-pie", "-shared"]).output_type == "shared"
    assert parse_args(["-shared", "-pie"]).output_type == "pie"
    assert parse_args(["-pie", "-no-pie"]).output_type == "exec"
    assert parse_args(["-shared", "--no-pie"]).output_type == "exec"
    assert "-r and -pie" in err(["-pie", "-r"])
    assert "-r and -shared" in err(["-r", "-shared"])


def test_G_without_number_is_shared():
    assert parse_args(["-G", "a.o"]).shared
    assert parse_args(["-G", "8"]).gpsize == 8


def test_defsym():
    c = parse_args(["--defsym", "foo=0x1000", "--defsym=bar = foo + 4", "-defsym", "baz=ALIGN(8)"])
    assert c.defsyms == [("foo", "0x1000"), ("bar", "foo + 4"), ("baz", "ALIGN(8)")]
    assert "--defsym" in err(["--defsym", "nosign"])


def test_entry_undefined_wrap_trace():
    c = parse_args(cmd("-e start -u a --undefined b --require-defined c --wrap=malloc --wrap free "
                       "-y sym --trace-symbol=s2 -t -t"))
    assert c.entry == "start" and c.undefined == ["a", "b"] and c.require_defined == ["c"]
    assert c.wrap == ["malloc", "free"] and c.trace_symbols == ["sym", "s2"] and c.trace == 2


def test_unresolved_symbols():
    assert parse_args([]).unresolved_symbols == "report-all"
    assert parse_args(["-shared"]).unresolved_symbols == "ignore-all"
    c = parse_args(["-shared", "--no-undefined"])
    assert c.unresolved_symbols == "ignore-in-shared-libs" and c.no_undefined
    assert parse_args(["--no-undefined", "-shared"]).unresolved_symbols == "ignore-in-shared-libs"
    assert parse_args(["-shared", "-z", "defs", "--no-allow-shlib-undefined"]).unresolved_symbols == "report-all"
    assert parse_args(["--unresolved-symbols=ignore-in-object-files"]).unresolved_symbols == \
        "ignore-in-object-files"
    assert parse_args(["--warn-unresolved-symbols"]).warn_unresolved_symbols
    assert "unresolved-symbols" in err(["--unresolved-symbols=maybe"])


def test_strip_and_discard():
    c = parse_args(["-s"])
    assert c.strip_all and c.strip_debug
    c = parse_args(["-S", "-x"])
    assert not c.strip_all and c.strip_debug and c.discard_all
    c = parse_args(["-r", "-s"])                     # GNU: -r -s is -r -S -x
    assert not c.strip_all and c.strip_debug and c.discard_all
    assert parse_args(["-X"]).discard_locals and parse_args(["--discard-none"]).discard_none


def test_build_id_styles():
    assert parse_args(["--build-id"]).build_id == "sha1"
    for style in ("sha1", "md5", "uuid", "fast", "0xdeadbeef"):
        assert parse_args([f"--build-id={style}"]).build_id == style
    assert parse_args(["--build-id", "--build-id=none"]).build_id is None
    assert "build-id" in err(["--build-id=crc"])


def test_addresses_and_numbers():
    c = parse_args(cmd("-Ttext=400000 -Tdata 0x600000 -Tbss=700000 -Ttext-segment=0x10000 "
                       "--section-start=.foo=1000 --section-start .bar=0x2000 --image-base=0x1000000"))
    assert c.section_start == {".text": 0x400000, ".data": 0x600000, ".bss": 0x700000,
                               ".foo": 0x1000, ".bar": 0x2000}
    assert c.text_segment == 0x10000 and c.image_base == 0x1000000
    assert parse_number("0x10") == 16 and parse_number("010") == 8 and parse_number("10") == 10
    assert parse_number("4K") == 4096 and parse_number("2M") == 2 << 20 and parse_number("$ff") == 255
    assert parse_number("1000", base=16) == 0x1000
    assert "invalid hex number 'zz'" in err(["-Ttext=zz"])
    assert "invalid number" in err(["-z", "stack-size=big"])


def test_sysroot_and_library_paths():
    c = parse_args(cmd("--sysroot=/sr -L=/usr/lib -L$SYSROOT/lib -L/abs -Y P,/y1:/y2"))
    assert c.sysroot == "/sr"
    assert c.library_paths == ["/sr/usr/lib", "/sr/lib", "/abs", "/y1", "/y2"]


def test_map_file_names(tmp_path):
    assert parse_args(["-Map", "out.map"]).map_file == "out.map"
    assert parse_args(["-o", "prog", "-Map=%.map"]).map_file == "prog.map"
    assert parse_args(["-o", "prog", "-Map=x/%"]).map_file == "x/prog.map"
    assert parse_args(["-o", "/a/prog", f"-Map={tmp_path}"]).map_file == os.path.join(str(tmp_path), "prog.map")
    assert parse_args(["-M"]).map_file == "-"


def test_many_documented_options_are_accepted():
    c = parse_args(cmd(
        "--gc-sections --print-gc-sections --icf=none --fatal-warnings --warn-common --warn-once --error-limit=5 "
        "--allow-multiple-definition --no-undefined-version --allow-shlib-undefined --noinhibit-exec --threads=4 "
        "--no-demangle --compress-debug-sections=zlib "
        "--no-copy-dt-needed-entries --no-add-needed --hash-size=1021 --reduce-memory-overheads --no-relax --stats "
        "--print-memory-usage --retain-symbols-file keep.txt --strip-discarded -g -Qy -Qn "
        "--no-eh-frame-hdr --no-ld-generated-unwind-info -P dep.so --audit a.so "
        "--use-shlib-undefined --rpath-link=/rl --no-omagic -dc -dp --check-sections --warn-textrel "
        "--print-output-format --orphan-handling=place --no-gdb-index --cref "
        "--version-script=v.map --dynamic-list=d.list --enable-new-dtags --disable-new-dtags -O1 "
        "-Bsymbolic-functions --trace --verbose --no-warnings --no-as-needed --as-needed "
        "--eh-frame-hdr -flto -fuse-ld=bfd --no-gc-sections --thread-count 2 "
        "--dependency-file=deps.d --no-dynamic-linker "
        "--export-dynamic-symbol=foo --no-warn-rwx-segments --discard-none"))
    assert not c.gc_sections and c.print_gc_sections and c.icf == "none"
    assert not c.fatal_warnings and c.no_warnings          # -w/--no-warnings clears --fatal-warnings
    assert c.error_limit == 5 and c.allow_multiple_definition and not c.undefined_version
    assert c.unresolved_in_shared_libs == "ignore" and c.noinhibit_exec and c.threads == 2
    assert not c.demangle and c.compress_debug_sections == "zlib"
    assert not c.copy_dt_needed_entries and c.hash_size == 1021
    assert c.reduce_memory_overheads and c.relax is False and c.stats and c.print_memory_usage
    assert c.retain_symbols_file == "keep.txt" and c.strip_discarded
    assert c.eh_frame_hdr and not c.ld_generated_unwind_info and c.depaudit == ["dep.so"]
    assert c.audit == ["a.so"] and c.use_shlib_undefined and c.rpath_link == ["/rl"]
    assert not c.nmagic and c.define_common and c.check_sections and c.textrel_check == "warning"
    assert c.print_output_format and c.orphan_handling == "place" and not c.gdb_index
    assert c.cref and c.version_scripts == ["v.map"]
    assert c.dynamic_lists == ["d.list"] and not c.new_dtags and c.optimize == 1
    assert c.symbolic is None                               # --dynamic-list overrides -Bsymbolic-functions
    assert c.trace == 1 and c.verbose == 1
    assert c.dependency_file == "deps.d"
    assert c.no_dynamic_linker and c.export_dynamic_symbols == ["foo"]
    assert c.warn_rwx_segments is False and c.discard_none
    assert {"g", "Qy", "Qn", "flto", "fuse-ld"} <= set(c.ignored_options)
    assert c.inputs == [] and c.warnings == []


def test_emulations():
    for emul in ("elf_x86_64", "elf_i386", "elf32_x86_64", "aarch64linux", "aarch64elf", "elf64lriscv",
                 "elf32lriscv", "elf32ppc", "elf64ppc", "elf64lppc", "elf32ppclinux"):
        assert parse_args(["-m", emul]).emulation == emul
    assert "emulation" in err(["-m", "pdp11"])


def test_defaults():
    c = parse_args([])
    assert isinstance(c, Config)
    assert c.output == "a.out" and c.hash_style == "both" and c.relro and not c.now
    assert c.separate_code and c.max_page_size == c.common_page_size == 0x1000
    assert not c.eh_frame_hdr and c.build_id is None and c.emulation is None
    assert not (c.pie or c.shared or c.relocatable or c.static)
    assert c.entry is None and c.image_base is None and c.sysroot == ""
    assert c.inputs == [] and c.defsyms == [] and c.warnings == []


def test_input_spec_shape():
    s = InputSpec("lib", ":libfoo.a")
    assert (s.whole_archive, s.static, s.as_needed) == (False, False, False)


# -- errors -----------------------------------------------------------------

def test_unknown_option():
    assert err(["--frobnicate"]) == "unrecognized option '--frobnicate'"
    assert err(["a.o", "-jobs=3"]) == "unrecognized option '-jobs=3'"
    # a word that is no long option but starts with a short one is that short
    # option and its value, as in GNU ld: -frobnicate is -f robnicate
    assert "-f may not be used without -shared" in err(["-frobnicate"])


def test_missing_argument():
    assert err(["a.o", "-o"]) == "option '-o' requires an argument"
    assert err(["-soname"]) == "option '-soname' requires an argument"
    assert err(["--output"]) == "option '--output' requires an argument"
    assert err(["-z"]) == "option '-z' requires an argument"


def test_argument_not_allowed():
    assert err(["--as-needed=yes"]) == "option '--as-needed' doesn't allow an argument"


def test_ambiguous_abbreviation():
    msg = err(["--thr"])
    assert "ambiguous" in msg and "--threads" in msg and "--thread-count" in msg


def test_bad_choices():
    assert "hash style" in err(["--hash-style=fast"])
    assert "orphan" in err(["--orphan-handling=ignore"])
    assert "-F may not be used without -shared" in err(["-F", "libfilter.so"])


# -- --help / --version -----------------------------------------------------

def test_help_stops_parsing():
    c = parse_args(["--help", "--frobnicate"])
    assert c.help and c.inputs == []


def test_version_forms():
    v = parse_args(["-v", "a.o"])
    assert v.version and not v.version_exit and inputs(v) == [("file", "a.o")]
    v = parse_args(["a.o", "--version", "--frobnicate"])
    assert v.version and v.version_exit and v.inputs == []
    v = parse_args(["-V"])
    assert v.version and v.list_emulations
    assert parse_args(["--verbose"]).version


def test_help_and_version_text():
    assert VERSION_TEXT.splitlines()[0] == "GNU ld (ldpy 0.1.0) 2.40"
    assert "ldpy" in VERSION_TEXT.splitlines()[1] and "Python" in VERSION_TEXT.splitlines()[1]
    lines = HELP_TEXT.splitlines()
    assert lines[0] == "Usage: ldpy [options] file..."
    targets = next(l for l in lines if l.startswith("ldpy: supported targets: ")).split()[3:]
    emulations = next(l for l in lines if l.startswith("ldpy: supported emulations: ")).split()[3:]
    assert targets == ["elf64-x86-64", "elf32-i386", "elf64-littleaarch64", "elf64-littleriscv",
                       "elf32-powerpc"]
    assert emulations == ["elf_x86_64", "elf_i386", "aarch64linux", "elf64lriscv", "elf64lriscv_lp64f",
                          "elf64lriscv_lp64", "elf64lriscv_lp64d", "elf32ppclinux", "elf32ppc"]
    assert lines[-1].startswith("Report bugs")
    # what configure scripts and libtool grep for
    for needle in ("--no-whole-archive", "--version-script", "--as-needed", "--gc-sections", "-z relro",
                   "--build-id", "--hash-style", "-soname", "--eh-frame-hdr", "-rpath"):
        assert needle in HELP_TEXT, needle


def test_main_prints_version(capsys):
    from ldpy.main import main
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("GNU ld (ldpy")


def test_parse_is_fast():
    import time
    argv = cmd(GCC_PIE) * 20
    argv = [a for a in argv if a not in ("--push-state", "--pop-state")]
    t = time.perf_counter()
    parse_args(argv)
    assert time.perf_counter() - t < 0.05
