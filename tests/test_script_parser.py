"""The linker script parser alone (src/ldpy/script/parser.py): AST shapes for every
construct, expression precedence, GNU ld's own scripts, errors, and a fuzz test.
No linking here."""
import glob
import random
import re
import subprocess
import time

import pytest

from ldpy.diag import LinkError
from ldpy.script import ast
from ldpy.script.parser import parse_expression, parse_script


def P(text, **kw):
    return parse_script(text, "t.ld", **kw).commands


def sections(text):
    (sec,) = P("SECTIONS {\n" + text + "\n}")
    assert isinstance(sec, ast.Sections)
    return sec.statements


def body(text):
    """The commands of one output section whose body is TEXT."""
    (osec,) = sections(".o : { " + text + " }")
    return osec.commands


def E(text):
    return parse_expression(text, "e")


def error(text, **kw):
    with pytest.raises(LinkError) as ei:
        parse_script(text, "t.ld", **kw)
    msg = str(ei.value)
    assert "\n" not in msg
    return msg


def sym(n):
    return ("sym", n)


def num(n):
    return ("num", n)


def pat(p, sort=(), excl=None):
    return ast.SectionPattern(p, sort, excl or [])


def desc(file, *patterns, **kw):
    return ast.InputSectionDesc(file, list(patterns), **kw)


def strip_where(node):
    """Compare ASTs without positions."""
    if isinstance(node, list):
        return [strip_where(n) for n in node]
    if type(node).__module__ == "ldpy.script.ast":
        d = {k: strip_where(v) for k, v in vars(node).items() if k != "where"}
        return (type(node).__name__, d)
    return node


def same(a, b):
    assert strip_where(a) == strip_where(b)


# -- top-level commands -------------------------------------------------------------------

def test_simple_commands():
    cmds = P('ENTRY(_start) OUTPUT(a.out) OUTPUT_FORMAT("elf64-x86-64")\n'
             'OUTPUT_FORMAT(elf64-x86-64, elf64-big, "elf64-little")\n'
             'OUTPUT_ARCH(i386:x86-64) TARGET(binary) SEARCH_DIR("=/usr/lib") SEARCH_DIR(=/lib64)\n'
             'STARTUP(crt0.o) FORCE_COMMON_ALLOCATION INHIBIT_COMMON_ALLOCATION\n'
             'LD_FEATURE("SANE_EXPR") REGION_ALIAS("REGION_TEXT", rom) MAP(out.map)')
    got = [(c.name, c.args) for c in cmds]
    assert got == [("ENTRY", ["_start"]), ("OUTPUT", ["a.out"]), ("OUTPUT_FORMAT", ["elf64-x86-64"]),
                   ("OUTPUT_FORMAT", ["elf64-x86-64", "elf64-big", "elf64-little"]),
                   ("OUTPUT_ARCH", ["i386:x86-64"]), ("TARGET", ["binary"]),
                   ("SEARCH_DIR", ["=/usr/lib"]), ("SEARCH_DIR", ["=/lib64"]), ("STARTUP", ["crt0.o"]),
                   ("FORCE_COMMON_ALLOCATION", []), ("INHIBIT_COMMON_ALLOCATION", []),
                   ("LD_FEATURE", ["SANE_EXPR"]), ("REGION_ALIAS", ["REGION_TEXT", "rom"]),
                   ("MAP", ["out.map"])]
    assert cmds[0].where == "t.ld:1:1" and cmds[2].where == "t.ld:1:29"


def test_name_lists():
    cmds = P("EXTERN(a b, c) NOCROSSREFS(.text .data) NOCROSSREFS_TO(.a, .b .c) NOCROSSREFS()")
    assert [(c.name, c.args) for c in cmds] == [
        ("EXTERN", ["a", "b", "c"]), ("NOCROSSREFS", [".text", ".data"]),
        ("NOCROSSREFS_TO", [".a", ".b", ".c"]), ("NOCROSSREFS", [])]


def test_output_format_needs_one_or_three_args():
    assert "expected ','" in error("OUTPUT_FORMAT(a, b)")


def test_input_and_group():
    cmds = P('INPUT(a.o, "b c.o" -lm)\n'
             'GROUP ( /lib/libc.so.6 /usr/lib/libc_nonshared.a  AS_NEEDED ( /lib64/ld-linux.so.2 -lgcc_s ) x.a )')
    same(cmds[0], ast.Input([ast.InputItem("a.o"), ast.InputItem("b c.o"), ast.InputItem("m", True)]))
    same(cmds[1], ast.Group([ast.InputItem("/lib/libc.so.6"), ast.InputItem("/usr/lib/libc_nonshared.a"),
                             ast.InputItem("/lib64/ld-linux.so.2", False, True),
                             ast.InputItem("gcc_s", True, True), ast.InputItem("x.a")]))
    assert cmds[1].where == "t.ld:2:1"


def test_libc_so_style_script():
    text = ("/* GNU ld script\n   Use the shared library. */\nOUTPUT_FORMAT(elf64-x86-64)\n"
            "GROUP ( /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc_nonshared.a "
            " AS_NEEDED ( /lib64/ld-linux-x86-64.so.2 ) )\n")
    cmds = P(text)
    assert cmds[0].args == ["elf64-x86-64"] and len(cmds[1].items) == 3


@pytest.mark.parametrize("text", ["GROUP()", "INPUT(a.o", "INPUT(-l)", "INPUT(AS_NEEDED())"])
def test_bad_input_lists(text):
    assert error(text).startswith("t.ld")


# -- assignments and ASSERT -----------------------------------------------------------------

@pytest.mark.parametrize("op", ["=", "+=", "-=", "*=", "/=", "<<=", ">>=", "&=", "|="])
def test_assignment_operators(op):
    (a,) = P(f"sym {op} 4;")
    same(a, ast.Assignment("sym", op, num(4)))
    (s,) = sections(f". {op} 4;")
    same(s, ast.Assignment(".", op, num(4)))
    (b,) = body(f"x {op} 1,")
    same(b, ast.Assignment("x", op, num(1)))


def test_provide_hidden_and_where():
    cmds = P("PROVIDE(a = 1);\n  PROVIDE_HIDDEN (b = .);\nHIDDEN(c = a + 1);")
    assert [(c.target, c.kind) for c in cmds] == [("a", "PROVIDE"), ("b", "PROVIDE_HIDDEN"), ("c", "HIDDEN")]
    assert [c.where for c in cmds] == ["t.ld:1:1", "t.ld:2:3", "t.ld:3:1"]
    (p,) = body("PROVIDE(__start = .);")
    same(p, ast.Assignment("__start", "=", sym("."), "PROVIDE"))


def test_assignment_targets_keep_script_words():
    # GNU ld reads a statement's first word as a script word: `foo-bar = 5` assigns foo-bar
    (a,) = sections("foo-bar = 5;")
    assert a.target == "foo-bar"
    (a,) = P('"odd name" = 1;')
    assert a.target == "odd name"
    (a,) = P("x=y-1;")
    same(a, ast.Assignment("x", "=", ("-", sym("y"), num(1))))


def test_compact_spelling():
    (sec,) = P("SECTIONS{.text:{*(.text)}.=ALIGN(8);.data 0x100:AT(0x200){x=.;}>ram}")
    a, dot, b = sec.statements
    assert a.commands[0].patterns == [pat(".text")] and dot.target == "." and b.lma == num(0x200)
    assert b.commands[0].target == "x" and b.region == "ram"
    (p,) = P("PROVIDE(foo-bar = .);")
    assert p.target == "foo-bar"


def test_assignment_needs_separator():
    assert error("a = 1;\nb = 2\nc = 3;") == "t.ld:3:1: syntax error: expected ';', found 'c'"
    assert error("SECTIONS { .o : { . = 4 } }") == "t.ld:1:25: syntax error: expected ';', found '}'"
    assert len(sections("a = 1, b = 2;")) == 2


def test_assert_everywhere():
    (a,) = P('ASSERT(. < 0x1000, "too big")')
    same(a, ast.Assert(("<", sym("."), num(0x1000)), "too big"))
    (s,) = sections("ASSERT(x, msg)")
    same(s, ast.Assert(sym("x"), "msg"))
    (b,) = body('ASSERT(SIZEOF(.o) > 0, "empty");')
    assert isinstance(b, ast.Assert) and b.message == "empty"
    (c,) = P('x = ASSERT(y, "m");')
    assert c.expr == ("call", "ASSERT", [sym("y"), ("str", "m")])


# -- INCLUDE ------------------------------------------------------------------------------------

def test_include_everywhere(tmp_path):
    (tmp_path / "top.ld").write_text("ENTRY(main)\n")
    (tmp_path / "secs.ld").write_text(".inc : { *(.inc) }\nincsym = 1;\n")
    (tmp_path / "stmts.ld").write_text("*(.x) LONG(1)\n")
    (tmp_path / "mem.ld").write_text("ram : ORIGIN = 0, LENGTH = 4K\n")
    cmds = P("INCLUDE top.ld\nMEMORY { rom : o = 0, l = 1K INCLUDE mem.ld }\n"
             "SECTIONS { INCLUDE secs.ld .o : { INCLUDE stmts.ld } }", include_dirs=[str(tmp_path)])
    assert cmds[0].name == "ENTRY" and cmds[0].where == f"{tmp_path}/top.ld:1:1"
    assert [r.name for r in cmds[1].regions] == ["rom", "ram"]
    stmts = cmds[2].statements
    assert [type(s).__name__ for s in stmts] == ["OutputSection", "Assignment", "OutputSection"]
    assert [type(c).__name__ for c in stmts[2].commands] == ["InputSectionDesc", "Data"]


def test_include_as_given_then_dirs(tmp_path, monkeypatch):
    (tmp_path / "here.ld").write_text("x = 1;")
    monkeypatch.chdir(tmp_path)
    assert P("INCLUDE here.ld")[0].target == "x"
    assert P(f'INCLUDE "{tmp_path}/here.ld"')[0].target == "x"


def test_include_errors(tmp_path):
    assert error("x = 1;\n  INCLUDE nowhere.ld") == "t.ld:2:3: cannot find INCLUDE file nowhere.ld"
    (tmp_path / "loop.ld").write_text("INCLUDE loop.ld\n")
    assert "INCLUDE loop.ld: the script includes itself" in error("INCLUDE loop.ld", include_dirs=[str(tmp_path)])
    for i in range(12):                 # a chain without a cycle, deeper than GNU ld's 10
        (tmp_path / f"d{i}.ld").write_text(f"INCLUDE d{i + 1}.ld\n")
    (tmp_path / "d12.ld").write_text("x = 1;\n")
    assert "nested too deeply" in error("INCLUDE d0.ld", include_dirs=[str(tmp_path)])
    (tmp_path / "bad.ld").write_text("x = ;\n")
    assert error("INCLUDE bad.ld", include_dirs=[str(tmp_path)]) == \
        f"{tmp_path}/bad.ld:1:5: syntax error: expected an expression, found ';'"


# -- MEMORY and PHDRS -------------------------------------------------------------------------

def test_memory():
    (m,) = P("MEMORY\n{\n  rom (rx) : ORIGIN = 0x08000000, LENGTH = 256K\n"
             "  ram (!w) : org = 0x20000000, len = 64K\n  xx : o = 1 l = 2M, yy (RWX!IL) : ORIGIN = 4, LENGTH = 5\n}")
    got = [(r.name, r.attrs, r.origin, r.length, r.where) for r in m.regions]
    assert got == [("rom", "rx", num(0x08000000), num(256 * 1024), "t.ld:3:3"),
                   ("ram", "!w", num(0x20000000), num(64 * 1024), "t.ld:4:3"),
                   ("xx", "", num(1), num(2 << 20), "t.ld:5:3"),
                   ("yy", "RWX!IL", num(4), num(5), "t.ld:5:22")]
    assert "invalid memory attributes 'rq'" in error("MEMORY { r (rq) : ORIGIN = 0, LENGTH = 1 }")
    assert "expected ORIGIN" in error("MEMORY { r : LENGTH = 0, ORIGIN = 1 }")


def test_phdrs():
    (p,) = P("PHDRS\n{\n  headers PT_PHDR PHDRS ;\n  interp PT_INTERP ;\n"
             "  text PT_LOAD FILEHDR PHDRS AT(0x1000) FLAGS(5);\n  eh PT_GNU_EH_FRAME;\n"
             "  st PT_GNU_STACK FLAGS(6); rel PT_GNU_RELRO; prop PT_GNU_PROPERTY; tls PT_TLS;\n"
             "  custom 0x60000000 + 1;\n  n PT_NULL; d PT_DYNAMIC; no PT_NOTE; sh PT_SHLIB;\n}")
    h = {x.name: x for x in p.headers}
    assert h["headers"].type == num(6) and h["headers"].phdrs and not h["headers"].filehdr
    assert h["text"].type == num(1) and h["text"].filehdr and h["text"].at == num(0x1000)
    assert h["text"].flags == num(5) and h["text"].where == "t.ld:5:3"
    assert [h[n].type[1] for n in ("eh", "st", "rel", "prop", "tls", "n", "d", "no", "sh", "interp")] == \
        [0x6474e550, 0x6474e551, 0x6474e552, 0x6474e553, 7, 0, 2, 4, 5, 3]
    assert h["custom"].type == ("+", num(0x60000000), num(1))
    assert "unknown phdr type 'PT_FOO'" in error("PHDRS { a PT_FOO; }")
    assert "expected FILEHDR, PHDRS, AT, FLAGS or ';'" in error("PHDRS { a PT_LOAD BOGUS; }")


# -- SECTIONS: output section descriptions ----------------------------------------------------

def test_output_section_full_form():
    (o,) = sections(".text 0x1000 (NOLOAD) : AT(0x8000) ALIGN(16) ALIGN_WITH_INPUT SUBALIGN(4) ONLY_IF_RO\n"
                    "  { *(.text) } >rom AT>flash :text :data =0x90909090,")
    assert (o.name, o.address, o.type, o.lma, o.align, o.align_with_input, o.subalign, o.constraint) == \
        (".text", num(0x1000), "NOLOAD", num(0x8000), num(16), True, num(4), "ONLY_IF_RO")
    assert (o.region, o.lma_region, o.phdrs, o.fill) == ("rom", "flash", ["text", "data"], num(0x90909090))
    assert o.where == "t.ld:2:1"


@pytest.mark.parametrize("t", ["NOLOAD", "DSECT", "COPY", "INFO", "OVERLAY", "READONLY"])
def test_section_types(t):
    (o,) = sections(f".x ({t}) : {{ }}")
    assert o.type == t and o.address is None
    (o,) = sections(f".x 0x10({t}):{{}}")
    assert o.type == t and o.address == num(16)


def test_section_address_forms():
    a, b, c, d = sections(".a (0x100) : {} .b () : {} .c ALIGN(8) + 4 : {} .d ADDR(.a) + SIZEOF(.a) : {}")
    assert a.address == num(0x100) and b.address is None and b.type is None
    assert c.address == ("+", ("call", "ALIGN", [num(8)]), num(4))
    assert d.address == ("+", ("call", "ADDR", [sym(".a")]), ("call", "SIZEOF", [sym(".a")]))


def test_section_type_combinations_rejected():
    assert error("SECTIONS { .a (READONLY NOLOAD) : { } }") == \
        "t.ld:1:25: syntax error: expected ')' after section type READONLY, found 'NOLOAD'"
    assert "not supported" in error("SECTIONS { .a (TYPE = 1) : { } }")


def test_section_clause_order_is_gnu_order():
    assert error("SECTIONS { .a : ALIGN(4) AT(0) { } }") == \
        "t.ld:1:26: syntax error: expected '{', found 'AT'"


def test_section_names_and_separators():
    stmts = sections(".note.gnu.build-id : { *(.note.gnu.build-id) }, /DISCARD/ : { *(.comment) } ;\n"
                     '"quoted sec" : { }\n.text:{*(.text)}')
    assert [s.name for s in stmts] == [".note.gnu.build-id", "/DISCARD/", "quoted sec", ".text"]
    assert stmts[0].commands[0].patterns == [pat(".note.gnu.build-id")]


def test_fill_then_next_section():
    a, b = sections(".a : { } =0x90 .b : { } > ram")
    assert a.fill == num(0x90) and b.name == ".b" and b.region == "ram"


def test_entry_inside_sections():
    s, o = sections("ENTRY(start) .t : {}")
    same(s, ast.Command("ENTRY", ["start"]))


def test_overlay():
    (ov,) = sections("OVERLAY 0x1000 : NOCROSSREFS AT(0x4000) SUBALIGN(4)\n{\n"
                     "  .ov1 { o1/*.o(.text) } :p1 =0x11,\n  .ov2 { o2/*.o(.text) }\n} >ram AT>rom :p2 =0x22")
    assert (ov.address, ov.nocrossrefs, ov.lma, ov.subalign) == (num(0x1000), True, num(0x4000), num(4))
    assert (ov.region, ov.lma_region, ov.phdrs, ov.fill) == ("ram", "rom", ["p2"], num(0x22))
    s1, s2 = ov.sections
    assert (s1.name, s1.phdrs, s1.fill, s1.where) == (".ov1", ["p1"], num(0x11), "t.ld:4:3")
    same(s2.commands, [desc("o2/*.o", pat(".text"))])
    (ov,) = sections("OVERLAY : { .a { *(.a) } }")
    assert ov.address is None and not ov.nocrossrefs and [s.name for s in ov.sections] == [".a"]


def test_insert():
    cmds = P("SECTIONS { .x : { *(.x) } } INSERT AFTER .text;\nSECTIONS { .y : {} }\nINSERT BEFORE .data")
    assert cmds[0].insert == ast.Insert(True, ".text", "t.ld:1:29")
    assert cmds[1].insert.after is False and cmds[1].insert.section == ".data"
    assert len(cmds) == 2
    assert error("INSERT AFTER .text") == "t.ld:1:1: INSERT must follow a SECTIONS command"
    assert "expected AFTER or BEFORE" in error("SECTIONS { } INSERT .text")


# -- input section descriptions ----------------------------------------------------------------

def test_input_section_basics():
    got = body("*(.text .text.*) *(.a, .b) foo.o bar.o(.data) *crtbegin?.o(.ctors) "
               "libc.a:printf.o(.text) libm.a:(.text) *(COMMON) COMMON \"sp ace.o\"(\"s p\")")
    same(got, [desc("*", pat(".text"), pat(".text.*")), desc("*", pat(".a"), pat(".b")),
               desc("foo.o", pat("*")), desc("bar.o", pat(".data")), desc("*crtbegin?.o", pat(".ctors")),
               desc("libc.a:printf.o", pat(".text")), desc("libm.a:", pat(".text")),
               desc("*", pat("COMMON")), desc("*", pat("COMMON")), desc("sp ace.o", pat("s p"))])


def test_keep_and_globs():
    got = body("KEEP(*(.init)) KEEP (*(.text.[a-z]* .x[!0-9]?))")
    same(got, [desc("*", pat(".init"), keep=True),
               desc("*", pat(".text.[a-z]*"), pat(".x[!0-9]?"), keep=True)])


def test_exclude_file():
    got = body("EXCLUDE_FILE(*crtend.o *otherfile.o) *(.ctors) "
               "*(EXCLUDE_FILE (*crtbegin.o *crtend?.o ) .ctors .dtors)")
    same(got, [desc("*", pat(".ctors"), exclude_files=["*crtend.o", "*otherfile.o"]),
               # inside the list it covers the next section pattern only, as in GNU ld
               desc("*", pat(".ctors", excl=["*crtbegin.o", "*crtend?.o"]), pat(".dtors"))])


def test_sorting():
    got = body("*(SORT(.a.*)) *(SORT_BY_NAME(.b) SORT_BY_ALIGNMENT(.c)) "
               "*(SORT_BY_NAME(SORT_BY_ALIGNMENT(.d))) *(SORT_BY_ALIGNMENT(SORT_BY_NAME(.e))) "
               "*(SORT_BY_INIT_PRIORITY(.init_array.*)) *(SORT_NONE(.init)) *(REVERSE(SORT_BY_NAME(.f))) "
               "*(SORT(EXCLUDE_FILE(x.o) .g))")
    pats = [p for d in got for p in d.patterns]
    assert [(p.pattern, p.sort) for p in pats] == [
        (".a.*", ("name",)), (".b", ("name",)), (".c", ("alignment",)),
        (".d", ("name", "alignment")), (".e", ("alignment", "name")),
        (".init_array.*", ("init_priority",)), (".init", ("none",)), (".f", ("reverse", "name")),
        (".g", ("name",))]
    assert pats[-1].exclude_files == ["x.o"]


def test_file_sorting():
    a, b, c = body("SORT(*)(.text) SORT_BY_NAME(EXCLUDE_FILE(a.o) *.o)(.data) SORT_NONE(SORT(lib*.a:*))(.x)")
    assert (a.file, a.file_sort) == ("*", ("name",))
    assert (b.file, b.file_sort, b.exclude_files) == ("*.o", ("name",), ["a.o"])
    assert (c.file, c.file_sort) == ("lib*.a:*", ("none", "name"))
    assert "expected '('" in error("SECTIONS { .o : { SORT(*.o) } }")


def test_sort_nesting_limit():
    assert "nested too deeply" in error("SECTIONS { .o : { *(SORT(SORT(SORT(.x)))) } }")


def test_input_section_flags():
    a, b = body("INPUT_SECTION_FLAGS(SHF_ALLOC & !SHF_WRITE) *(.text) INPUT_SECTION_FLAGS(SHF_TLS) foo.o")
    assert (a.flags, a.file, a.patterns) == (["SHF_ALLOC", "!SHF_WRITE"], "*", [pat(".text")])
    assert (b.flags, b.file) == (["SHF_TLS"], "foo.o")


def test_data_and_other_statements():
    got = body("BYTE(1) SHORT(2) LONG(3) QUAD(4) SQUAD(-5); FILL(0x90) CONSTRUCTORS "
               "SORT(CONSTRUCTORS) CREATE_OBJECT_SYMBOLS . = ALIGN(8);")
    same(got, [ast.Data("BYTE", num(1)), ast.Data("SHORT", num(2)), ast.Data("LONG", num(3)),
               ast.Data("QUAD", num(4)), ast.Data("SQUAD", ("u-", num(5))), ast.Fill(num(0x90)),
               ast.Command("CONSTRUCTORS", []), ast.Command("CONSTRUCTORS", ["SORT_BY_NAME"]),
               ast.Command("CREATE_OBJECT_SYMBOLS", []),
               ast.Assignment(".", "=", ("call", "ALIGN", [num(8)]))])


def test_statement_positions():
    (o,) = sections(".o :\n{\n  *(.a)\n    KEEP(*(.b))\n  x = .;\n}")
    assert [c.where for c in o.commands] == ["t.ld:4:3", "t.ld:5:5", "t.ld:6:3"]


# -- expressions --------------------------------------------------------------------------------

@pytest.mark.parametrize("text,tree", [
    ("1 + 2 * 3", ("+", num(1), ("*", num(2), num(3)))),
    ("1 - 2 - 3", ("-", ("-", num(1), num(2)), num(3))),
    ("8 / 2 % 3", ("%", ("/", num(8), num(2)), num(3))),
    ("1 << 2 + 3", ("<<", num(1), ("+", num(2), num(3)))),
    ("1 < 2 << 3", ("<", num(1), ("<<", num(2), num(3)))),
    ("1 == 2 < 3", ("==", num(1), ("<", num(2), num(3)))),
    ("1 & 2 == 3", ("&", num(1), ("==", num(2), num(3)))),
    ("1 ^ 2 & 3", ("^", num(1), ("&", num(2), num(3)))),
    ("1 | 2 ^ 3", ("|", num(1), ("^", num(2), num(3)))),
    ("1 && 2 | 3", ("&&", num(1), ("|", num(2), num(3)))),
    ("1 || 2 && 3", ("||", num(1), ("&&", num(2), num(3)))),
    ("a ? b : c ? d : e", ("?", sym("a"), sym("b"), ("?", sym("c"), sym("d"), sym("e")))),
    ("a || b ? c + 1 : d", ("?", ("||", sym("a"), sym("b")), ("+", sym("c"), num(1)), sym("d"))),
    ("-a * b", ("*", ("u-", sym("a")), sym("b"))),
    ("!a + ~b", ("+", ("u!", sym("a")), ("u~", sym("b")))),
    ("+ - 1", ("u+", ("u-", num(1)))),
    ("(1 + 2) * 3", ("*", ("+", num(1), num(2)), num(3))),
    ("a >= b != c <= d", ("!=", (">=", sym("a"), sym("b")), ("<=", sym("c"), sym("d")))),
    ("a > b >> 1", (">", sym("a"), (">>", sym("b"), num(1)))),
])
def test_precedence(text, tree):
    assert E(text) == tree


def test_gnu_expression_names():
    assert E("a-b") == ("-", sym("a"), sym("b"))            # '-' always splits in expressions
    assert E(".-1") == ("-", sym("."), num(1))
    assert E("a.b$c_d") == sym("a.b$c_d")
    assert E("a/b") == sym("a/b") and E("a~b") == sym("a~b")  # GNU ld: one name each
    assert E("a / b") == ("/", sym("a"), sym("b"))
    assert E('"with space"') == sym("with space")
    assert E("x/* comment */+1") == ("+", sym("x"), num(1))


@pytest.mark.parametrize("text,value", [
    ("0x1F", 31), ("0X10", 16), ("017", 15), ("10", 10), ("08", 0), ("4K", 4096), ("4k", 4096),
    ("2M", 2 << 20), ("0x10K", 0x4000), ("$ff", 255), ("$10K", 16 * 1024), ("10h", 16), ("ABh", 0xab),
    ("17o", 15), ("101b", 5), ("12d", 12), ("0xffffffffffffffffffff", 2 ** 80 - 1),
])
def test_numbers(text, value):
    assert E(text) == num(value)


def test_builtin_functions():
    calls = {
        "ABSOLUTE(.)": ("call", "ABSOLUTE", [sym(".")]),
        "ADDR(.note.gnu.build-id)": ("call", "ADDR", [sym(".note.gnu.build-id")]),
        "ALIGN(8)": ("call", "ALIGN", [num(8)]),
        "ALIGN(., 8)": ("call", "ALIGN", [sym("."), num(8)]),
        "ALIGNOF(.tdata)": ("call", "ALIGNOF", [sym(".tdata")]),
        "BLOCK(4)": ("call", "BLOCK", [num(4)]),
        "DATA_SEGMENT_ALIGN(CONSTANT(MAXPAGESIZE), CONSTANT (COMMONPAGESIZE))":
            ("call", "DATA_SEGMENT_ALIGN", [("call", "CONSTANT", [sym("MAXPAGESIZE")]),
                                            ("call", "CONSTANT", [sym("COMMONPAGESIZE")])]),
        "DATA_SEGMENT_END(.)": ("call", "DATA_SEGMENT_END", [sym(".")]),
        "DATA_SEGMENT_RELRO_END(0, .)": ("call", "DATA_SEGMENT_RELRO_END", [num(0), sym(".")]),
        "DEFINED(foo)": ("call", "DEFINED", [sym("foo")]),
        "LENGTH(ram)": ("call", "LENGTH", [sym("ram")]),
        "LOADADDR(.data)": ("call", "LOADADDR", [sym(".data")]),
        "LOG2CEIL(5)": ("call", "LOG2CEIL", [num(5)]),
        "MAX(1, 2)": ("call", "MAX", [num(1), num(2)]),
        "MIN(1, 2)": ("call", "MIN", [num(1), num(2)]),
        "NEXT(0x100)": ("call", "NEXT", [num(256)]),
        "ORIGIN(rom-1)": ("call", "ORIGIN", [sym("rom-1")]),
        'SEGMENT_START("text-segment", 0x400000)':
            ("call", "SEGMENT_START", [("str", "text-segment"), num(0x400000)]),
        "SEGMENT_START(ldata-segment, .)": ("call", "SEGMENT_START", [("str", "ldata-segment"), sym(".")]),
        "SIZEOF(.rela.dyn)": ("call", "SIZEOF", [sym(".rela.dyn")]),
        "SIZEOF_HEADERS": ("call", "SIZEOF_HEADERS", []),
        'ASSERT(1, "m")': ("call", "ASSERT", [num(1), ("str", "m")]),
    }
    for text, tree in calls.items():
        assert E(text) == tree, text
    assert E("SIZEOF_HEADERS + 1") == ("+", ("call", "SIZEOF_HEADERS", []), num(1))


@pytest.mark.parametrize("text,expected", [
    ("MAX(1)", "expected ','"), ("ALIGN(1, 2, 3)", "expected ')'"), ("CONSTANT(FOO)",
     "expected MAXPAGESIZE or COMMONPAGESIZE"), ("KEEP", "expected an expression"),
    ("ALIGN", "expected an expression"), ("FOO(1)", "expected an operator or the end"),
    ("1 +", "unexpected end of expression, expected an expression"), ("(1", "expected ')'"),
    ("a ? b", "expected ':'"),
])
def test_expression_errors(text, expected):
    with pytest.raises(LinkError) as ei:
        E(text)
    assert str(ei.value).startswith("e") and expected in str(ei.value)


# -- GNU ld's own scripts --------------------------------------------------------------------------

def _verbose_script(*args):
    out = subprocess.run(["ld", "--verbose", *args], capture_output=True, text=True).stdout
    parts = out.split("=" * 50)
    assert len(parts) >= 3, out[:200]
    return parts[1]


@pytest.mark.parametrize("args", [(), ("-shared",), ("-pie",), ("-z", "separate-code"), ("-r",),
                                  ("-m", "elf_i386"), ("-z", "relro", "-z", "now")])
def test_ld_verbose_scripts_parse(args):
    script = parse_script(_verbose_script(*args), "ld --verbose")
    sec = [c for c in script.commands if isinstance(c, ast.Sections)]
    assert sec and len(sec[0].statements) > 20


LDSCRIPTS = sorted(glob.glob("/usr/lib/x86_64-linux-gnu/ldscripts/*") +
                   glob.glob("/usr/lib/ldscripts/*") + glob.glob("/usr/x86_64-linux-gnu/lib/ldscripts/*"))


@pytest.mark.skipif(not LDSCRIPTS, reason="no ldscripts directory")
def test_all_installed_ldscripts_parse():
    for path in LDSCRIPTS:
        with open(path, encoding="utf-8", errors="replace") as fh:
            parse_script(fh.read(), path)


def test_default_script_shape():
    script = parse_script(_verbose_script(), "v")
    stmts = {s.name: s for s in script.commands[-1].statements if isinstance(s, ast.OutputSection)}
    init_array = stmts[".init_array"].commands
    assert init_array[0].kind == "PROVIDE_HIDDEN" and init_array[1].keep
    assert init_array[2].patterns[1] == pat(".ctors", excl=["*crtbegin.o", "*crtbegin?.o", "*crtend.o",
                                                            "*crtend?.o"])
    assert stmts[".debug_info"].address == num(0)
    assert stmts["/DISCARD/"].commands[0].patterns[0].pattern == ".note.GNU-stack"


# -- errors ----------------------------------------------------------------------------------------

def test_error_positions_and_expected_text():
    # the missing '}' is noticed where `.data :` cannot continue a section's commands
    assert error("SECTIONS\n{\n  .text : { *(.text) \n  .data : { *(.data) }\n}\n") == \
        "t.ld:4:11: syntax error: expected a file name pattern, found '{'"
    assert error("SECTIONS { .text : { *(.text) }") == "t.ld: unexpected end of script, expected '}'"
    assert error("ENTRY(") == "t.ld: unexpected end of script, expected a symbol name"
    assert error("FOO") == "t.ld:1:1: syntax error: expected a linker script command, found 'FOO'"
    assert error("x = 1;\n  y = ;") == "t.ld:2:7: syntax error: expected an expression, found ';'"
    assert error("SECTIONS {\n .a : { } >\n}") == "t.ld:3:1: syntax error: expected a memory region name, found '}'"
    assert error("MEMORY { ram : ORIGIN 0 }") == "t.ld:1:23: syntax error: expected '=', found '0'"
    assert error("x = 1; /* open") == "t.ld:1:8: syntax error: unterminated comment"
    assert error('ASSERT(1, "open') == "t.ld:1:11: syntax error: unterminated string"
    assert error("VERSION { v1 { global: x; };") == "t.ld: unexpected end of script, expected '}' to end VERSION"
    assert error("VERSION v1") == "t.ld:1:9: syntax error: expected '{', found 'v1'"
    # VERSION keeps its text (with the lines before it) for the version script reader
    (cmd,) = parse_script("/* a */\nVERSION { v1 { global: x; /* } */ }; }", "t.ld").commands
    assert cmd.name == "VERSION" and cmd.args == ["\n v1 { global: x; /* } */ }; "]


def test_binary_garbage_and_deep_nesting():
    assert error("\x00\x01\x7fELF").startswith("t.ld:1:1: syntax error: expected a linker script command, found '\\x00")
    assert "nested too deeply" in error("x = " + "(" * 5000 + "1" + ")" * 5000 + ";")
    assert "nested too deeply" in error("x = " + "-" * 5000 + "1;")
    assert "nested too deeply" in error("x = " + "1 ? " * 3000 + "1" + " : 1" * 3000 + ";")
    assert P("x = " + "1 + " * 5000 + "1;")[0].target == "x"          # long, not deep


# -- fuzz ------------------------------------------------------------------------------------------

_SEEDS = [
    'OUTPUT_FORMAT("elf64-x86-64")\nENTRY(_start)\nINPUT(a.o -lc)\nGROUP(libc.so AS_NEEDED(ld.so))\n',
    "MEMORY { rom (rx) : ORIGIN = 0x0, LENGTH = 64K\n ram (!x) : org = 0x20000000, l = 8K }\n",
    "PHDRS { text PT_LOAD FILEHDR PHDRS; data PT_LOAD FLAGS(6); }\n",
    "SECTIONS {\n  . = 0x10000 + SIZEOF_HEADERS;\n  .text : AT(0x100) ALIGN(16) { KEEP(*(.init)) "
    "*(.text .text.*) *(EXCLUDE_FILE(*crt?.o) .x) } >rom AT>ram :text =0x90\n"
    "  OVERLAY : { .o1 { a.o(.text) } .o2 { b.o(.text) } } >ram\n"
    "  .bss (NOLOAD) : { *(SORT_BY_NAME(SORT_BY_ALIGNMENT(.bss*))) *(COMMON) LONG(0) }\n"
    "  PROVIDE(end = .); ASSERT(. < 0x20000, \"overflow\")\n  /DISCARD/ : { *(.comment) }\n}\n"
    "INSERT AFTER .data\n",
]


def _mutate(rng, text):
    pieces = re.findall(r"\w+|\s+|.", text, re.S)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randrange(len(pieces) + 1)
        if op < 0.25 and pieces:
            del pieces[min(pos, len(pieces) - 1)]
        elif op < 0.45:
            pieces.insert(pos, rng.choice(["{", "}", "(", ")", ";", ":", "=", ">", ",", "AT", "ALIGN(",
                                           "SECTIONS", "KEEP(", "*", "/*", "*/", '"', "0x", ". =", "-",
                                           "INCLUDE", "SORT(", "EXCLUDE_FILE(", "?", "OVERLAY", "\n"]))
        elif op < 0.6 and len(pieces) > 1:
            i = rng.randrange(len(pieces) - 1)
            pieces[i], pieces[i + 1] = pieces[i + 1], pieces[i]
        elif op < 0.75:
            s = "".join(pieces)
            i = rng.randrange(len(s) + 1)
            s = s[:i] + s[i + rng.randint(1, 5):]
            pieces = [s]
        elif op < 0.85:
            pieces = ["".join(pieces)[:rng.randrange(len(text) + 1)]]
        else:
            garbage = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            pieces.insert(pos, garbage.decode("utf-8", errors="replace"))
    return "".join(pieces)


def test_fuzz_mutated_scripts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)          # an inserted INCLUDE finds nothing by accident
    rng = random.Random(20240601)
    path = str(tmp_path / "fuzz.ld")
    deadline = time.monotonic() + 2.0
    runs = 0
    while runs < 15000 and time.monotonic() < deadline:
        text = _mutate(rng, rng.choice(_SEEDS))
        runs += 1
        try:
            result = parse_script(text, path, include_dirs=[str(tmp_path)])
        except LinkError as e:
            msg = str(e)
            assert msg.startswith(path) and "\n" not in msg, (msg, text)
        else:
            assert isinstance(result, ast.Script)
    assert runs > 200
