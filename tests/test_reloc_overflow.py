"""'relocation truncated to fit' errors: GNU ld's words, at the place, function and
source line of the relocation (like undefined references), for global, local
(section), absolute and C++ symbols; the same set of failing relocations as
ld.bfd reports; ten shown and the rest counted (all with --verbose); exit 1 and
no output file."""
import re
import subprocess

import pytest

from linkutil import run, shim_dir

BSS_HIGH = "-Wl,--section-start=.bss=0x100000000"


def compile_src(tmp, name, code, *flags, compiler="gcc"):
    (tmp / name).write_text(code)
    obj = name.rsplit(".", 1)[0] + ".o"
    run([compiler, "-c", "-O0", "-fno-pie", *flags, name, "-o", obj], cwd=str(tmp))
    return obj


def link_fail(tmp, objs, *flags, linker="ldpy", compiler="gcc"):
    sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
    out = tmp / f"out_{linker}"
    r = subprocess.run([compiler, "-no-pie", *objs, *flags, "-o", str(out), *sel], cwd=str(tmp),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert not out.exists()
    return r.stderr


def ours(stderr):
    return [l for l in stderr.splitlines() if "relocation truncated to fit" in l]


def overflow_set(stderr, ldpy):
    """{(section+offset, type, target)} of each truncated relocation, from either linker."""
    out = set()
    for line in stderr.splitlines():
        m = re.search(r"\((\.[\w.]+\+0x[0-9a-f]+)\):.*relocation truncated to fit: (\S+) against (.*)", line)
        if m:
            target = m.group(3).split(";")[0] if ldpy else m.group(3)
            out.add((m.group(1), m.group(2), target.replace("`", "'")))
    return out


A_C = """\
extern char big[];

int get(int i)
{
    return big[i];                      /* line 5 */
}

int main(void)
{
    return get(1);
}
"""
B_C = "char big[16];\n"
C_C = """\
extern char absval[];
static char local_buf[16];

char *pa(void)
{
    return absval;                      /* line 6 */
}

char *pl(void)
{
    return local_buf;                   /* line 11 */
}
int main(void) { return pa() != pl(); }
"""


def test_overflow_names_place_function_line_and_definition(tmp_path):
    a = compile_src(tmp_path, "a.c", A_C, "-g", "-mcmodel=small")
    b = compile_src(tmp_path, "b.c", B_C)
    err = link_fail(tmp_path, [a, b], BSS_HIGH)
    line = [l for l in ours(err) if "a.o:" in l]
    assert len(line) == 1, err
    assert line[0].startswith("ldpy: error: a.o:(.text+0xf): in function 'get': ")
    assert re.search(r" \S*/a\.c:5: relocation truncated to fit: R_X86_64_32S against symbol 'big' "
                     r"defined in \.bss section in b\.o; value 0x1000000[0-9a-f]{2} does not fit in a "
                     r"signed 32-bit field$", line[0]), line[0]
    # the same relocations as ld.bfd reports (crtbegin.o's, against its .bss, too)
    bfd = link_fail(tmp_path, [a, b], BSS_HIGH, linker="bfd")
    assert overflow_set(err, True) == overflow_set(bfd, False)
    assert len(overflow_set(err, True)) == 3


def test_overflow_against_absolute_and_section_symbols_like_bfd(tmp_path):
    c = compile_src(tmp_path, "c.c", C_C, "-g")
    flags = ["-Wl,--defsym=absval=0x200000000", "-Wl,--section-start=.bss=0x300000000"]
    err = link_fail(tmp_path, [c], *flags)
    lines = ours(err)
    pa = [l for l in lines if "in function 'pa'" in l]
    pl = [l for l in lines if "in function 'pl'" in l]
    assert len(pa) == 1 and len(pl) == 1, err
    assert "c.c:6: relocation truncated to fit: R_X86_64_32 against symbol 'absval' defined in " \
           "*ABS* section in " in pa[0]
    assert "does not fit in an unsigned 32-bit field" in pa[0]
    assert "c.c:11: relocation truncated to fit: R_X86_64_32 against '.bss'; value 0x3000000" in pl[0]
    bfd = link_fail(tmp_path, [c], *flags, linker="bfd")
    assert {(p, t, x.split(" in ")[0]) for p, t, x in overflow_set(err, True)} == \
        {(p, t, x.split(" in ")[0]) for p, t, x in overflow_set(bfd, False)}


def test_overflow_in_cxx_function_is_demangled(tmp_path):
    src = """\
extern "C" char big[];
namespace ns {
int reader(int i)
{
    return big[i];
}
}
int main() { return ns::reader(2); }
"""
    a = compile_src(tmp_path, "a.cc", src, "-g", compiler="g++")
    b = compile_src(tmp_path, "b.c", B_C)
    err = link_fail(tmp_path, [a, b], BSS_HIGH, compiler="g++")
    line = [l for l in ours(err) if "a.o:" in l]
    assert len(line) == 1 and "in function 'ns::reader(int)':" in line[0], err
    assert "a.cc:5: relocation truncated to fit:" in line[0]
    err = link_fail(tmp_path, [a, b], BSS_HIGH, "-Wl,--no-demangle", compiler="g++")
    assert "in function '_ZN2ns6readerEi':" in "\n".join(ours(err))


def test_ten_overflows_shown_then_counted(tmp_path):
    src = "extern char big[];\n" + "".join(f"int f{i}(void) {{ return big[{i}]; }}\n" for i in range(15)) + \
        "int main(void) { return f0(); }\n"
    m = compile_src(tmp_path, "many.c", src)
    b = compile_src(tmp_path, "b.c", B_C)
    err = link_fail(tmp_path, [m, b], BSS_HIGH)
    assert len(ours(err)) == 10, err               # 15 in many.o, 2 in crtbegin.o
    assert "ldpy: error: 7 additional relocation overflows omitted from the output" in err
    err = link_fail(tmp_path, [m, b], BSS_HIGH, "-Wl,--verbose")
    assert len(ours(err)) == 17
    assert "additional relocation overflows" not in err
    funcs = {re.search(r"in function '(\w+)'", l).group(1) for l in ours(err) if "many.o" in l}
    assert funcs == {f"f{i}" for i in range(15)}


def test_overflows_of_many_blocks_make_one_report(tmp_path, monkeypatch):
    """Relocations are applied a block of rows at a time (relocs.BLOCK); the
    overflows of every block are reported together, as from one block: the same
    lines, the same count of omitted ones."""
    src = "extern char big[];\n" + "".join(f"int f{i}(void) {{ return big[{i}]; }}\n" for i in range(15)) + \
        "int main(void) { return f0(); }\n"
    m = compile_src(tmp_path, "many.c", src, "-ffunction-sections")
    b = compile_src(tmp_path, "b.c", B_C)
    whole = link_fail(tmp_path, [m, b], BSS_HIGH)
    monkeypatch.setenv("LDPY_RELOC_BLOCK", "1")       # (a block per section)
    blocks = link_fail(tmp_path, [m, b], BSS_HIGH)
    assert blocks == whole and len(ours(blocks)) == 10
    assert "ldpy: error: 7 additional relocation overflows omitted from the output" in blocks


def test_overflow_in_assembly_names_the_label(tmp_path):
    (tmp_path / "s.s").write_text(".text\n.globl _start\n_start:\n  nop\nwork:\n  movl $target, %eax\n"
                                  "  ret\n.data\n.globl target\ntarget: .long 0\n")
    run(["as", "s.s", "-o", "s.o"], cwd=str(tmp_path))
    r = subprocess.run(["python3", "-m", "ldpy", "s.o", "-o", "out", "-Tdata=0x180000000"],
                       cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and not (tmp_path / "out").exists()
    assert "s.o:(.text+0x2): in function 'work': relocation truncated to fit: R_X86_64_32 against " \
           "symbol 'target' defined in .data section in s.o" in r.stderr, r.stderr
