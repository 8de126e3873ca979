"""Corrupted, truncated and hostile inputs (issue 7, robustness).

Each case takes a real gcc-compiled object, archive or shared library, breaks
one specific field at its ELF (or ar) offset, and links it with ldpy in a
subprocess: the link must fail with exactly one line
``ldpy: error: FILE: what is wrong`` naming the file and the problem, exit
status 1, no traceback, no output file, within a timeout and a memory limit
(claims of 2^40-byte tables must not be believed).

Every case was also linked with ld.bfd 2.40 by hand, and its verdict is
checked again here (the case's `bfd`): "fails" means ld.bfd rejects the input
too; "warns" means ld.bfd links it after a warning that the file is corrupt
(a corrupt e_shstrndx: every section loses its name); "links" means ld.bfd
links it silently, and those are inputs no tool writes and that ld.bfd only
survives by guessing (a symbol in section 1280 of a 12-section file becomes
absolute, an archive member of size -60 or 999999999 is read to the end of the
file anyway, a long-name reference past the name table): ldpy refuses them
with a message instead of guessing.  None: ld.bfd is not run (given a library
script that names itself, or a script that INPUTs itself, ld.bfd 2.40 was still
running after 20 s).
"""
import os
import resource
import shutil
import subprocess
import sys

import pytest

from elfpatch import Elf, ar_member, ar_members, ar_set_field, SHT_GROUP, SHT_STRTAB

A_C = """int counter = 3;
int zeroed[4];
static const char *msg = "hostile strings";
extern int other(int);
int work(int x) { return other(x) + counter + msg[0] + zeroed[x]; }
"""
B_C = "int other(int x) { return x * 2; }\nvoid _start(void) { for (;;) ; }\n"
# an inline function kept out of line at -O0: a COMDAT group (.group, GRP_COMDAT)
C_CC = "inline int twice(int x) { return 2 * x; }\nint use_c(int x) { return twice(x); }\n"
LIB_C = "int lib_data = 5;\nint lib_fn(int x) { return x + lib_data; }\n"
MAIN_C = "extern int lib_data; int lib_fn(int);\nvoid _start(void) { lib_fn(lib_data); for (;;) ; }\n"

LONG_NAME = "a_member_with_a_long_name.o"
MEMORY_LIMIT = 3 << 30          # address space of one ldpy run: a claim of 2^40 bytes must not fit


def build_corpus(d):
    """a.o, b.o (static link), c.o (C++ with a COMDAT group), m.o + libl.so
    (dynamic link), libab.a (a.o, b.o and a long-named member)."""
    for name, code in (("a.c", A_C), ("b.c", B_C), ("c.cc", C_CC), ("l.c", LIB_C), ("m.c", MAIN_C)):
        (d / name).write_text(code)

    def sh(*cmd):
        subprocess.run(cmd, cwd=d, check=True, capture_output=True)
    sh("gcc", "-O1", "-c", "a.c", "b.c", "m.c")
    sh("g++", "-O0", "-fno-exceptions", "-fno-asynchronous-unwind-tables", "-c", "c.cc")
    sh("gcc", "-shared", "-fPIC", "-Wl,-soname,libl.so", "l.c", "-o", "libl.so")
    shutil.copy(d / "c.o", d / LONG_NAME)
    sh("ar", "rcs", "libab.a", "a.o", "b.o", LONG_NAME)
    return d


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("hostile"))


class Case:
    """One hostile input: `make(c)` writes the broken file(s) into the test
    directory `c` and returns the ldpy arguments (after -o out)."""

    def __init__(self, name, make, culprit, needles, bfd="fails"):
        self.name, self.make, self.culprit, self.needles, self.bfd = name, make, culprit, needles, bfd


def _copy(corpus, tmp, *names):
    for n in names:
        shutil.copy(corpus / n, tmp / n)


def _obj(tmp, src, dst, patch):
    """Copy object src to dst with patch(Elf) applied; return dst."""
    e = Elf((tmp / src).read_bytes())
    patch(e)
    (tmp / dst).write_bytes(bytes(e))
    return dst


def obj_case(patch):
    """The object a.o broken by patch, linked with b.o and c.o (static)."""
    def make(tmp):
        return [_obj(tmp, "a.o", "bad.o", patch), "b.o", "c.o"]
    return make


def comdat_case(patch):
    def make(tmp):
        return ["a.o", "b.o", _obj(tmp, "c.o", "bad.o", patch)]
    return make


def _set_sec(name, field, value):
    def patch(e):
        i = e.section(name)
        e.set_shdr(i, field, value(e, i) if callable(value) else value)
    return patch


def _set_sym(name, field, value):
    def patch(e):
        k = e.symbol(name)
        e.set_sym(k, field, value(e, k) if callable(value) else value)
    return patch


def _rela_to(sym):
    """The first .rela.text entry of a.o that refers to symbol `sym`."""
    def find(e):
        k_sym = e.symbol(sym)
        for k in range(e.rela_count(".rela.text")):
            if e.rela(".rela.text", k, "r_sym") == k_sym:
                return k
        raise KeyError(sym)
    return find


def _set_rela(which, field, value):
    def patch(e):
        k = which(e)
        e.set_rela(".rela.text", k, field, value(e) if callable(value) else value)
    return patch


def _retype(sym, r_type, r_offset):
    """The relocation against sym made type r_type at r_offset (from the end of
    .text when negative)."""
    def patch(e):
        k = _rela_to(sym)(e)
        size = e.shdr(e.section(".text"), "sh_size")
        e.set_rela(".rela.text", k, "r_type", r_type)
        e.set_rela(".rela.text", k, "r_offset", r_offset if r_offset >= 0 else size + r_offset)
    return patch


def _file_size(e):
    return len(e.b)


def _group_patch(fn):
    def patch(e):
        (g,) = e.sections_of_type(SHT_GROUP)
        fn(e, g)
    return patch


def _unterminate(name):
    """Every NUL of the string table's last string made a letter."""
    def patch(e):
        off, size = e.contents(e.section(name))
        p = off + size - 1
        while e.b[p] == 0:
            e.b[p] = 0x41
            p -= 1
    return patch


# -- archives -------------------------------------------------------------------------

def archive_case(patch, args=("-u", "work")):
    """libab.a (a.o, b.o, a long-named member) broken by patch(bytearray)."""
    def make(tmp):
        b = bytearray((tmp / "libab.a").read_bytes())
        patch(b)
        (tmp / "libbad.a").write_bytes(bytes(b))
        return [*args, "libbad.a"]
    return make


def _member_field(raw_name, field, text):
    def patch(b):
        ar_set_field(b, ar_member(bytes(b), raw_name), field, text)
    return patch


def _member_contents(raw_name, data):
    def patch(b):
        m = ar_member(bytes(b), raw_name)
        b[m.data_offset:m.data_offset + len(data)] = data
    return patch


def _index_count(value):
    def patch(b):
        m = ar_member(bytes(b), b"/")
        b[m.data_offset:m.data_offset + 4] = value(m).to_bytes(4, "big")
    return patch


def _index_offsets(value):
    """Every member offset of the symbol index set to value."""
    def patch(b):
        m = ar_member(bytes(b), b"/")
        count = int.from_bytes(b[m.data_offset:m.data_offset + 4], "big")
        for k in range(count):
            p = m.data_offset + 4 + 4 * k
            b[p:p + 4] = value.to_bytes(4, "big")
    return patch


def _long_name_ref(text):
    def patch(b):
        m = next(m for m in ar_members(bytes(b)) if m.raw_name.startswith(b"/") and
                 m.raw_name not in (b"/", b"//"))
        ar_set_field(b, m, "name", text)
    return patch


def thin_missing_member(tmp):
    sub = tmp / "thin"
    sub.mkdir()
    for n in ("a.o", "b.o"):
        shutil.copy(tmp / n, sub / n)
    subprocess.run(["ar", "rcsT", "libthin.a", "a.o", "b.o"], cwd=sub, check=True)
    os.unlink(sub / "b.o")
    return ["-u", "work", "thin/libthin.a"]


# -- linker scripts ---------------------------------------------------------------------

def script_lib(text):
    def make(tmp):
        (tmp / "libloop.so").write_text(text)
        return ["a.o", "b.o", "-L.", "-lloop"]
    return make


def script_include_self(tmp):
    (tmp / "self.ld").write_text("INCLUDE self.ld\n")
    return ["a.o", "b.o", "-T", "self.ld"]


def script_input_self(tmp):
    (tmp / "loop.ld").write_text("INPUT(loop.ld)\n")
    return ["a.o", "b.o", "loop.ld"]


def script_mutual(tmp):
    (tmp / "one.ld").write_text("INPUT(two.ld)\n")
    (tmp / "two.ld").write_text("GROUP(one.ld)\n")
    return ["a.o", "b.o", "one.ld"]


# -- shared libraries -------------------------------------------------------------------

def shared_case(patch):
    def make(tmp):
        return ["-pie", "m.o", _obj(tmp, "libl.so", "libbad.so", patch)]
    return make


def _dyn_entry(tag, value):
    def patch(e):
        off = next(o for o, t, _ in e.dyn_entries() if t == tag)
        e.put({"d_val": (8, "<Q")}, off, "d_val", value(e) if callable(value) else value)
    return patch


def _dynsym_name(name, value):
    def patch(e):
        k = e.symbol(name, dynamic=True)
        e.set_sym(k, "st_name", value, dynamic=True)
    return patch


BIG = 1 << 40

CASES = [
    # -- section headers and the ELF header
    Case("sh_offset_past_eof", obj_case(_set_sec(".data", "sh_offset", lambda e, i: _file_size(e) + 0x100)),
         "bad.o", ["section", ".data", "past the end of the file"]),
    Case("sh_size_past_eof", obj_case(_set_sec(".text", "sh_size", 0x100000)),
         "bad.o", ["section", ".text", "past the end of the file"]),
    Case("sh_offset_plus_size_wraps", obj_case(_set_sec(".text", "sh_offset", (1 << 64) - 16)),
         "bad.o", ["section", ".text", "past the end of the file"]),
    # (ld.bfd takes an alignment of 3; ldpy refuses it, as lld does)
    Case("sh_addralign_3", obj_case(_set_sec(".data", "sh_addralign", 3)),
         "bad.o", ["section", ".data", "bad alignment 0x3"], bfd=None),
    Case("sh_addralign_2_40", obj_case(_set_sec(".data", "sh_addralign", BIG)),
         "bad.o", ["section", ".data", "bad alignment 0x10000000000"]),
    Case("e_shoff_past_eof", obj_case(lambda e: e.set_ehdr("e_shoff", len(e.b) + 64)),
         "bad.o", ["section header table", "past the end of the file"]),
    # (also read before the link by the early look for .ctf sections: a number past
    # 2**63, a name table of 2**62 bytes must not escape as an overflow or out of memory)
    Case("e_shoff_2_63", obj_case(lambda e: e.set_ehdr("e_shoff", 0x84db8bc6d1d6e349)),
         "bad.o", ["section header table", "past the end of the file"]),
    Case("shstrtab_size_2_62", obj_case(lambda e: e.set_shdr(e.ehdr("e_shstrndx"), "sh_size", 1 << 62)),
         "bad.o", ["past the end of the file"]),
    Case("e_shnum_past_eof", obj_case(lambda e: e.set_ehdr("e_shnum", e.shnum + 40)),
         "bad.o", ["section header table", "past the end of the file"]),
    Case("e_shnum_ffff", obj_case(lambda e: e.set_ehdr("e_shnum", 0xffff)),
         "bad.o", ["section"]),
    Case("e_shentsize_bad", obj_case(lambda e: e.set_ehdr("e_shentsize", 40)),
         "bad.o", ["section header size"]),
    Case("e_shnum_0_extended_count_2_40", obj_case(lambda e: (e.set_ehdr("e_shnum", 0),
                                                             e.set_shdr(0, "sh_size", BIG))),
         "bad.o", ["section header table", "past the end of the file"]),
    Case("e_shstrndx_out_of_range", obj_case(lambda e: e.set_ehdr("e_shstrndx", 0x7000)),
         "bad.o", ["section name string table", "index"], bfd="warns"),
    Case("e_shstrndx_not_strtab", obj_case(lambda e: e.set_ehdr("e_shstrndx", e.section(".text"))),
         "bad.o", ["section name string table", "not a string table"], bfd="warns"),
    # a .bss needs no file bytes: 2^62 of them is an odd but linkable claim (both linkers
    # write a small file); one that wraps around the address space is not
    Case("bss_size_2_62", obj_case(_set_sec(".bss", "sh_size", 1 << 62)), "bad.o", None, bfd="links"),
    Case("bss_size_wraps", obj_case(_set_sec(".bss", "sh_size", (1 << 64) - 16)),
         "bad.o", ["(.bss)", "wraps around the address space"]),
    # -- the symbol table
    Case("symtab_size_2_40", obj_case(_set_sec(".symtab", "sh_size", BIG)),
         "bad.o", ["section", ".symtab", "past the end of the file"]),
    Case("symtab_entsize_0", obj_case(_set_sec(".symtab", "sh_entsize", 0)),
         "bad.o", ["symbol table", "entry size 0"]),
    Case("dynsym_entsize_0", shared_case(lambda e: e.set_shdr(e.symtab(True), "sh_entsize", 0)),
         "libbad.so", [".dynsym", "entry size 0"]),
    Case("symtab_entsize_odd", obj_case(_set_sec(".symtab", "sh_entsize", 7)),
         "bad.o", ["symbol table", "entry size"]),
    # (the partial last entry is ignored, as ld.bfd does: then a relocation refers to it)
    Case("symtab_size_not_multiple", obj_case(_set_sec(".symtab", "sh_size", lambda e, i: e.shdr(i, "sh_size") - 5)),
         "bad.o", ["relocation", "symbol index", "beyond the symbol table"]),
    Case("symtab_sh_info_past_end", obj_case(_set_sec(".symtab", "sh_info", 0x10000)),
         "bad.o", ["symbol table", "local symbols"]),
    Case("st_shndx_out_of_range", obj_case(_set_sym("work", "st_shndx", 0x500)),
         "bad.o", ["symbol", "work", "section index 1280"], bfd="links"),
    Case("st_shndx_reserved", obj_case(_set_sym("counter", "st_shndx", 0xff10)),
         "bad.o", ["symbol", "counter", "section index 0xff10"], bfd="links"),
    Case("st_name_past_strtab", obj_case(_set_sym("work", "st_name", 0x7fff0000)),
         "bad.o", ["symbol", "name", "string table"]),
    # (found by tests/test_fuzz.py: an unterminated .strtab crashed the output .symtab)
    Case("strtab_not_terminated", obj_case(_unterminate(".strtab")), "bad.o",
         ["string table", ".strtab", "NUL"]),
    Case("shstrtab_not_terminated", obj_case(_unterminate(".shstrtab")), "bad.o",
         ["section name string table", "NUL"]),
    Case("sh_name_past_shstrtab", obj_case(_set_sec(".data", "sh_name", 0x7fff0000)),
         "bad.o", ["section name", "string table"]),
    Case("symtab_link_not_strtab", obj_case(_set_sec(".symtab", "sh_link", lambda e, i: e.section(".text"))),
         "bad.o", ["symbol table", "string table", "link"]),
    Case("symtab_link_out_of_range", obj_case(_set_sec(".symtab", "sh_link", 999)),
         "bad.o", ["symbol table", "string table", "link"]),
    # -- relocations
    Case("r_sym_out_of_range", obj_case(_set_rela(_rela_to("counter"), "r_sym", 0x123456)),
         "bad.o", ["relocation", "symbol index 1193046", "beyond the symbol table"]),
    # (the table keeps them in 32-bit columns: unsigned, so these cannot read as negative)
    Case("r_sym_2_31", obj_case(_set_rela(_rela_to("counter"), "r_sym", 0x80000001)),
         "bad.o", ["relocation", "symbol index 2147483649", "beyond the symbol table"]),
    Case("r_type_2_31", obj_case(_set_rela(_rela_to("counter"), "r_type", 0xfffffffe)),
         "bad.o", ["relocation", "4294967294"]),
    Case("r_offset_past_section", obj_case(_set_rela(_rela_to("counter"), "r_offset", 0x10000)),
         "bad.o", ["relocation", "(.text+0x10000)", "out of range"]),
    Case("r_offset_straddles_end", obj_case(_set_rela(_rela_to("counter"), "r_offset",
                                                      lambda e: e.shdr(e.section(".text"), "sh_size") - 2)),
         "bad.o", ["relocation", ".text", "out of range"]),
    Case("r_offset_negative", obj_case(_set_rela(_rela_to("counter"), "r_offset", (1 << 64) - 8)),
         "bad.o", ["relocation", ".text", "out of range"]),
    Case("r_type_unknown", obj_case(_set_rela(_rela_to("counter"), "r_type", 200)),
         "bad.o", ["relocation", "200"]),
    # relocations whose code sequences (TLS, GOTPCRELX) do not fit before/after their offset
    Case("tlsgd_at_section_start", obj_case(_retype("counter", 19, 0)), "bad.o",
         ["(.text+0x0)", "R_X86_64_TLSGD"]),
    Case("tlsld_at_section_end", obj_case(_retype("counter", 20, -4)), "bad.o",
         ["(.text+", "R_X86_64_TLSLD"]),
    Case("tlsdesc_call_at_section_end", obj_case(_retype("counter", 35, -1)), "bad.o",
         ["R_X86_64_TLSDESC_CALL", "end of its section"]),
    # (no room for the opcode: neither linker relaxes it, both link)
    Case("rex_gotpcrelx_at_offset_1", obj_case(_retype("counter", 42, 1)), "bad.o", None, bfd="links"),
    Case("rela_sh_info_out_of_range", obj_case(_set_sec(".rela.text", "sh_info", 999)),
         "bad.o", ["relocation section", ".rela.text", "999"]),
    Case("rela_size_2_40", obj_case(_set_sec(".rela.text", "sh_size", BIG)),
         "bad.o", ["section", ".rela.text", "past the end of the file"]),
    Case("rela_entsize_odd", obj_case(_set_sec(".rela.text", "sh_entsize", 7)),
         "bad.o", ["relocation section", ".rela.text", "entry size"]),
    # -- COMDAT groups
    Case("group_member_out_of_range", comdat_case(_group_patch(lambda e, g: e.set_group_word(g, 1, 999))),
         "bad.o", ["group section", "member", "999"]),
    Case("group_member_is_itself", comdat_case(_group_patch(lambda e, g: e.set_group_word(g, 1, g))),
         "bad.o", ["group section", "member", "itself"]),
    Case("group_signature_out_of_range", comdat_case(_set_sec(".group", "sh_info", 0x4000)),
         "bad.o", ["group section", "signature symbol"]),
    Case("group_size_2_40", comdat_case(_set_sec(".group", "sh_size", BIG)),
         "bad.o", ["section", ".group", "past the end of the file"]),
    # -- linker scripts that name themselves
    Case("libloop_group_self", script_lib("GROUP(libloop.so)\n"), "libloop.so",
         ["libloop.so", "includes itself"], bfd=None),
    Case("libloop_input_lself", script_lib("INPUT(-lloop)\n"), "libloop.so",
         ["libloop.so", "includes itself"], bfd=None),
    Case("script_input_self", script_input_self, "loop.ld", ["loop.ld", "includes itself"], bfd=None),
    Case("script_mutual_recursion", script_mutual, "one.ld", ["one.ld", "includes itself"], bfd=None),
    Case("script_include_self", script_include_self, "self.ld", ["self.ld", "INCLUDE", "includes itself"]),
    # -- archives
    Case("ar_size_not_numeric", archive_case(_member_field(b"a.o/", "size", "12x4")), "libbad.a",
         ["member size", "offset"]),
    Case("ar_size_negative", archive_case(_member_field(b"a.o/", "size", "-60")), "libbad.a",
         ["member size", "offset"], bfd="links"),
    Case("ar_size_past_eof", archive_case(_member_field(b"b.o/", "size", "999999999")), "libbad.a",
         ["archive member", "truncated"], bfd="links"),
    Case("ar_bad_fmag", archive_case(_member_field(b"a.o/", "fmag", "xx")), "libbad.a",
         ["malformed archive member header"]),
    Case("ar_index_count_too_big", archive_case(_index_count(lambda m: 0x7fffffff)), "libbad.a",
         ["archive symbol index", "symbols"]),
    Case("ar_index_offsets_past_eof", archive_case(_index_offsets(0x7ffffff0)), "libbad.a",
         ["symbol index", "offset", "not a member"]),
    Case("ar_index_offset_inside_member", archive_case(_index_offsets(0x100)), "libbad.a",
         ["offset 0x100"]),
    Case("ar_long_name_past_table", archive_case(_long_name_ref("/9999"), args=("--whole-archive",)),
         "libbad.a", ["long-name", "name table"], bfd="links"),
    Case("ar_member_not_elf", archive_case(_member_contents(b"b.o/", b"garbage!" * 8)), "libbad.a(b.o)",
         ["file format not recognized"]),
    Case("ar_index_size_past_eof", archive_case(_member_field(b"/", "size", "99999999")), "libbad.a",
         ["truncated"]),
    Case("thin_missing_member", thin_missing_member, "thin/libthin.a", ["b.o", "No such file"]),
    # -- shared libraries
    Case("dynsym_truncated", shared_case(lambda e: e.set_shdr(e.symtab(True), "sh_size", BIG)),
         "libbad.so", [".dynsym", "past the end of the file"]),
    # (found by tests/test_fuzz.py: a library whose .dynsym lost its type crashed)
    Case("shared_without_dynsym", shared_case(lambda e: e.set_shdr(e.symtab(True), "sh_type", 0x7fffffff)),
         "libbad.so", ["without a dynamic symbol table"]),
    Case("dynsym_link_out_of_range", shared_case(lambda e: e.set_shdr(e.symtab(True), "sh_link", 999)),
         "libbad.so", [".dynsym", "string table", "link"]),
    Case("dynsym_name_past_dynstr", shared_case(_dynsym_name("lib_fn", 0x7fff0000)),
         "libbad.so", ["symbol", "string table"]),
    Case("dt_soname_past_dynstr", shared_case(_dyn_entry(14, 0x7fff0000)), "libbad.so",
         ["DT_SONAME", "string table"]),
    # ld.bfd and ldpy read a library's symbols through its section headers: a wrong
    # DT_STRTAB (only the dynamic loader's business) does not matter to either
    Case("dt_strtab_garbage", shared_case(_dyn_entry(5, 0x7fff0000)), "libbad.so", None, bfd="links"),
    Case("dynamic_link_out_of_range",
         shared_case(lambda e: e.set_shdr(e.sections_of_type(6)[0], "sh_link", 999)),
         "libbad.so", [".dynamic", "string table", "link"]),
]


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _link(cmd, tmp, limit=True):
    return subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=60,
                          preexec_fn=_limit_memory if limit else None)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(corpus, tmp_path, case):
    _copy(corpus, tmp_path, "a.o", "b.o", "c.o", "m.o", "libl.so", "libab.a")
    args = case.make(tmp_path)
    if case.bfd is not None:
        b = _link(["ld.bfd", "-o", "out.bfd", *args], tmp_path, limit=False)
        if case.bfd == "fails":
            assert b.returncode != 0, f"ld.bfd accepts the input: {args}\n{b.stderr}"
        elif case.bfd == "warns":
            assert b.returncode == 0 and "corrupt" in b.stderr, b.stderr
        else:
            assert b.returncode == 0, b.stderr
    r = _link([sys.executable, "-m", "ldpy", "-o", "out", *args], tmp_path)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if case.needles is None:            # a link ld.bfd makes too: ldpy links it
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "out").exists()
        return
    assert r.returncode == 1, f"status {r.returncode}\n{r.stderr}"
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("ldpy: error: "), r.stderr
    line = lines[0]
    assert case.culprit in line, line
    for n in case.needles:
        assert n in line, f"{n!r} not in {line!r}"
    assert not (tmp_path / "out").exists()


def test_valid_inputs_link(corpus, tmp_path):
    """The unbroken corpus links (so each case's failure is its own corruption)."""
    _copy(corpus, tmp_path, "a.o", "b.o", "c.o", "m.o", "libl.so", "libab.a")
    for args in (["a.o", "b.o", "c.o"], ["-u", "work", "libab.a"], ["--whole-archive", "libab.a"],
                 ["-pie", "m.o", "libl.so"]):
        r = _link([sys.executable, "-m", "ldpy", "-o", "out", *args], tmp_path)
        assert r.returncode == 0, (args, r.stderr)
        os.unlink(tmp_path / "out")


def test_scripts_naming_scripts_without_end(tmp_path):
    """Input scripts that each name the next one twice (no cycle, 2^20 loads): a
    bounded, clean error rather than a link that never ends."""
    for i in range(20):
        (tmp_path / f"libs{i}.so").write_text(f"INPUT(libs{i + 1}.so libs{i + 1}.so)\n")
    (tmp_path / "libs20.so").write_text("/* empty */\n")
    r = subprocess.run([sys.executable, "-m", "ldpy", "-o", "out", "-L.", "-ls0"], cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "more than 10000 linker scripts read in one link" in r.stderr
    assert not (tmp_path / "out").exists()
