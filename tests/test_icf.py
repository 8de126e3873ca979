"""--icf=all|safe, --print-icf-sections, --keep-unique: identical code folding.

C++ programs compiled with -ffunction-sections -O2 (and -fno-ipa-icf, or GCC
folds them itself) are linked by ldpy and by gold (-fuse-ld=gold, the
reference: ld.bfd has no ICF); the programs must print the same, and the
functions that share an address (nm) are compared with gold's: ldpy folds
everything gold folds (and, being lld's fixpoint algorithm rather than gold's
three checksum rounds, also mutually recursive functions and deeper chains),
and never what must stay apart."""
import collections
import os
import re
import shutil
import subprocess

import pytest

from e2e_util import (run, run_exe, write, compile_obj, IS_LDPY, shim_dir, check_driver_finds_ldpy,
                      assert_no_traceback, ld_direct, readelf, section, nm_address)

pytestmark = [
    pytest.mark.skipif(not IS_LDPY, reason="ld.bfd has no --icf"),
    pytest.mark.skipif(shutil.which("ld.gold") is None, reason="gold is the reference"),
]

FLAGS = ["-O2", "-ffunction-sections", "-fno-ipa-icf", "-fno-inline"]

PROG_A = r"""
#include <cstdio>
#include <stdexcept>
#define NI __attribute__((noinline))
template<int N> NI int f(int x) { return x * 3 + 1; }
template<int N> NI int g(int x) { return x * 5 + N; }
NI int leaf1(int x) { return x * 7 - 2; }
NI int leaf2(int x) { return x * 7 - 2; }
NI int leaf3(int x) { return x * 7 + 2; }
NI int mid1(int x) { return leaf1(x) + 11; }
NI int mid2(int x) { return leaf2(x) + 11; }
NI int mid3(int x) { return leaf3(x) + 11; }
NI int top1(int x) { return mid1(x) * 13; }
NI int top2(int x) { return mid2(x) * 13; }
NI int top3(int x) { return mid3(x) * 13; }
const int table1[4] = {1, 2, 3, 4};
const int table2[4] = {1, 2, 3, 5};
NI int data1(int i) { return table1[i & 3]; }
NI int data2(int i) { return table2[i & 3]; }
NI int addr1(int x) { return x * 17 + 3; }
NI int addr2(int x) { return x * 17 + 3; }
NI int thrower1(int x) { if (x > 100) throw std::runtime_error("too big"); return x + 1; }
NI int thrower2(int x) { if (x > 100) throw std::runtime_error("too big"); return x + 1; }
NI int catcher1(int x) { try { return thrower1(x); } catch (const std::exception &) { return -1; } }
NI int catcher2(int x) { try { return thrower2(x); } catch (const std::exception &) { return -1; } }
NI int catcher3(int x) { try { return thrower1(x); } catch (const std::logic_error &) { return -2; }
                         catch (...) { return -3; } }
NI int rec2(int x);
NI int rec1(int x) { return x <= 0 ? 0 : 1 + rec2(x - 1); }
NI int rec2(int x) { return x <= 0 ? 0 : 1 + rec1(x - 1); }
int run_templates(int x);
int run_b(int x);
extern int (*volatile p_addr1)(int);
extern int (*volatile p_addr2)(int);
int main(int argc, char **) {
  int x = argc;
  long s = run_templates(x) + run_b(x);
  s += top1(x) + top2(x) + top3(x) + data1(x) + data2(x);
  s += catcher1(x) + catcher2(x) + catcher3(x) + catcher1(1000) + catcher2(1000) + catcher3(1000);
  s += p_addr1(x) + p_addr2(x);
  std::printf("sum %ld\n", s);
  std::printf("addr1==addr2 %d\n", p_addr1 == p_addr2);
  std::printf("rec %d\n", rec1(10));
  return 0;
}
"""

PROG_B = r"""
#define NI __attribute__((noinline))
template<int N> NI int f(int x) { return x * 3 + 1; }
template<int N> NI int g(int x) { return x * 5 + N; }
NI int leaf4(int x) { return x * 7 - 2; }
NI int mid4(int x) { return leaf4(x) + 11; }
NI int addr1(int x);
NI int addr2(int x);
int (*volatile p_addr1)(int) = addr1;
int (*volatile p_addr2)(int) = addr2;
int run_b(int x) { return mid4(x) + f<100>(x) + f<101>(x); }
int run_templates(int x) {
  return f<0>(x) + f<1>(x) + f<2>(x) + f<3>(x) + f<4>(x) + f<5>(x) + f<6>(x) + f<7>(x) +
         f<8>(x) + f<9>(x) + f<10>(x) + f<11>(x) + g<1>(x) + g<2>(x) + g<3>(x);
}
"""

EXPECTED = "sum 814\naddr1==addr2 {}\nrec 10\n"


def cxx_link(tmp, out, objs, flags=(), linker="ldpy", compiler="g++"):
    """Link with g++ and ldpy (the -B shim) or gold; returns (path, process)."""
    if linker == "ldpy":
        check_driver_finds_ldpy()
        drv = ["-B", shim_dir()]
    else:
        drv = [f"-fuse-ld={linker}"]
    path = os.path.join(str(tmp), out)
    # inputs in tmp by their names: the messages name them as given
    objs = [os.path.relpath(str(o), str(tmp)) if os.path.dirname(str(o)) == str(tmp) else str(o)
            for o in objs]
    r = run([compiler, *objs, *flags, "-o", path, *drv], cwd=tmp)
    assert_no_traceback(r)
    return path, r


def folded_groups(path, names=None):
    """Sets of (demangled) function names that share an address."""
    out = run(["nm", "-C", path]).stdout
    by = collections.defaultdict(set)
    for line in out.splitlines():
        p = line.split(None, 2)
        if len(p) == 3 and p[1] in "TtWw" and (names is None or p[2] in names):
            by[p[0]].add(p[2])
    return {frozenset(v) for v in by.values() if len(v) > 1}


def together(groups, *names):
    return any(set(names) <= g for g in groups)


def text_size(path):
    return section(path, ".text").size


def icf_lines(proc):
    """--print-icf-sections lines without the program name."""
    return sorted(re.sub(r"^\S*: ", "", line) for line in proc.stderr.splitlines()
                  if ": ICF folding section " in line)


@pytest.fixture(scope="module")
def objs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("icf")
    a = compile_obj(tmp, write(tmp, "icf_a.cc", PROG_A), FLAGS)
    b = compile_obj(tmp, write(tmp, "icf_b.cc", PROG_B), FLAGS)
    return tmp, [a, b]


def test_all_folds_what_gold_folds(objs):
    tmp, inputs = objs
    mine, r1 = cxx_link(tmp, "all", inputs, ["-Wl,--icf=all,--print-icf-sections"])
    ref, r2 = cxx_link(tmp, "all.gold", inputs, ["-Wl,--icf=all,--print-icf-sections"], linker="gold")
    assert run_exe(mine).stdout == run_exe(ref).stdout == EXPECTED.format(1)
    got, want = folded_groups(mine), folded_groups(ref)
    # every group gold folds is folded by ldpy too
    for grp in want:
        assert any(grp <= g for g in got), (grp, got)
    # gold's --print-icf-sections lines are ours (ldpy adds what gold's three rounds miss)
    assert set(icf_lines(r2)) <= set(icf_lines(r1))
    # the ones that must fold
    templates = {f"int f<{n}>(int)" for n in list(range(12)) + [100, 101]}
    assert together(got, *templates)
    assert together(got, "leaf1(int)", "leaf2(int)", "leaf4(int)")
    assert together(got, "mid1(int)", "mid2(int)", "mid4(int)")      # callees that fold
    assert together(got, "top1(int)", "top2(int)")                   # two levels up
    assert together(got, "addr1(int)", "addr2(int)")                 # --icf=all: address ignored
    assert together(got, "thrower1(int)", "thrower2(int)")           # with identical LSDAs
    assert together(got, "rec1(int)", "rec2(int)")                   # mutual recursion (as lld)
    # the ones that must not
    for a, b in [("leaf1(int)", "leaf3(int)"), ("mid1(int)", "mid3(int)"), ("top1(int)", "top3(int)"),
                 ("data1(int)", "data2(int)"), ("int g<1>(int)", "int g<2>(int)"),
                 ("int g<2>(int)", "int g<3>(int)"), ("catcher1(int)", "catcher3(int)")]:
        assert not together(got, a, b), (a, b)
    # the text shrinks at least as much as with gold
    none_mine, _ = cxx_link(tmp, "none", inputs, ["-Wl,--icf=none"])
    none_ref, _ = cxx_link(tmp, "none.gold", inputs, ["-Wl,--icf=none"], linker="gold")
    saved_mine = text_size(none_mine) - text_size(mine)
    saved_ref = text_size(none_ref) - text_size(ref)
    assert saved_ref > 0 and saved_mine >= saved_ref, (saved_mine, saved_ref)


def test_safe_keeps_functions_whose_address_is_taken(objs):
    tmp, inputs = objs
    mine, r1 = cxx_link(tmp, "safe", inputs, ["-Wl,--icf=safe,--print-icf-sections"])
    ref, r2 = cxx_link(tmp, "safe.gold", inputs, ["-Wl,--icf=safe,--print-icf-sections"], linker="gold")
    assert run_exe(mine).stdout == run_exe(ref).stdout == EXPECTED.format(0)
    got = folded_groups(mine)
    assert not together(got, "addr1(int)", "addr2(int)")
    assert nm_address(mine, "_Z5addr1i") != nm_address(mine, "_Z5addr2i")
    assert together(got, "leaf1(int)", "leaf2(int)", "leaf4(int)")
    assert together(got, "top1(int)", "top2(int)")
    for grp in folded_groups(ref):
        assert any(grp <= g for g in got), (grp, got)
    assert set(icf_lines(r2)) <= set(icf_lines(r1))


def test_safe_address_compared_in_same_unit(tmp_path):
    """&f == &g with both defined in the unit: R_X86_64_PC32 lea, not a call."""
    src = write(tmp_path, "eq.cc", r"""
#include <cstdio>
__attribute__((noinline)) int f1(int x) { return x * 41 + 7; }
__attribute__((noinline)) int f2(int x) { return x * 41 + 7; }
__attribute__((noinline)) int f3(int x) { return x * 43 + 7; }
__attribute__((noinline)) int f4(int x) { return x * 43 + 7; }
int (*volatile pa)(int) = nullptr;
int main(int argc, char **) {
  int (*volatile p)(int) = f1; int (*volatile q)(int) = f2;
  std::printf("%d %d\n", p == q, f3(argc) + f4(argc));
  return 0;
}
""")
    obj = compile_obj(tmp_path, src, FLAGS)
    for mode, eq in (("safe", "0"), ("all", "1")):
        mine, _ = cxx_link(tmp_path, mode, [obj], [f"-Wl,--icf={mode}"])
        ref, _ = cxx_link(tmp_path, mode + ".gold", [obj], [f"-Wl,--icf={mode}"], linker="gold")
        out = run_exe(mine).stdout
        assert out == run_exe(ref).stdout
        assert out.split()[0] == eq
        assert nm_address(mine, "_Z2f3i") == nm_address(mine, "_Z2f4i")     # only called


def test_print_icf_sections_format(objs):
    tmp, inputs = objs
    _, r = cxx_link(tmp, "fmt", inputs, ["-Wl,--icf=all", "-Wl,--print-icf-sections"])
    lines = r.stderr.splitlines()
    assert lines[0].startswith("ldpy: ICF Converged after ")
    pat = re.compile(r"^ldpy: ICF folding section '\.[\w.]+' in file '[^']+' into '\.[\w.]+' in file '[^']+'$")
    folding = [x for x in lines if "ICF folding" in x]
    assert folding and all(pat.match(x) for x in folding), folding
    assert "ldpy: ICF folding section '.text._Z5leaf2i' in file 'icf_a.o' into " \
           "'.text._Z5leaf1i' in file 'icf_a.o'" in lines
    assert "ldpy: ICF folding section '.text._Z5leaf4i' in file 'icf_b.o' into " \
           "'.text._Z5leaf1i' in file 'icf_a.o'" in lines
    m = re.match(r"ldpy: ICF folded (\d+) section\(s\), saving (\d+) bytes$", lines[-1])
    assert m and int(m.group(1)) == len(folding) and int(m.group(2)) > 0
    # --no-print-icf-sections (the last one wins), and --stats reports the bytes saved
    _, r = cxx_link(tmp, "fmt2", inputs, ["-Wl,--icf=all,--print-icf-sections,--no-print-icf-sections"])
    assert "ICF" not in r.stderr
    _, r = cxx_link(tmp, "fmt3", inputs, ["-Wl,--icf=all,--stats"])
    assert re.search(r"ldpy: ICF folded \d+ section\(s\), saving \d+ bytes", r.stderr)


def test_none_changes_nothing(objs):
    tmp, inputs = objs
    a, _ = cxx_link(tmp, "plain", inputs)
    b, r = cxx_link(tmp, "none2", inputs, ["-Wl,--icf=none,--print-icf-sections"])
    with open(a, "rb") as fa, open(b, "rb") as fb:
        assert fa.read() == fb.read()
    assert "ICF" not in r.stderr


def test_keep_unique(objs):
    tmp, inputs = objs
    mine, r = cxx_link(tmp, "ku", inputs, ["-Wl,--icf=all,--keep-unique,_Z5leaf2i,--keep-unique=_Z5nosuchv"])
    assert run_exe(mine).stdout == EXPECTED.format(1)
    got = folded_groups(mine)
    assert not any("leaf2(int)" in g for g in got)
    assert together(got, "leaf1(int)", "leaf4(int)")
    assert not together(got, "mid1(int)", "mid2(int)")      # mid2 calls the unique leaf2
    assert "could not find symbol _Z5nosuchv" in r.stderr


def test_eh_frame_and_debug_info(tmp_path):
    """Folded functions lose their FDEs (the unwinder still finds the kept one's),
    and their debug information gets the tombstone, as with --gc-sections."""
    a = compile_obj(tmp_path, write(tmp_path, "icf_a.cc", PROG_A), FLAGS + ["-g"])
    b = compile_obj(tmp_path, write(tmp_path, "icf_b.cc", PROG_B), FLAGS + ["-g"])
    mine, _ = cxx_link(tmp_path, "dbg", [a, b], ["-Wl,--icf=all,--gc-sections"])
    ref, _ = cxx_link(tmp_path, "dbg.gold", [a, b], ["-Wl,--icf=all,--gc-sections"], linker="gold")
    assert run_exe(mine).stdout == run_exe(ref).stdout == EXPECTED.format(1)
    plain, _ = cxx_link(tmp_path, "dbg.none", [a, b], ["-Wl,--gc-sections"])
    fdes = lambda p: readelf("--debug-dump=frames", p).count(" FDE ")
    assert fdes(mine) < fdes(plain)
    # DW_AT_low_pc of the folded leaf2 is the tombstone 0; leaf1 keeps its address
    info = readelf("--debug-dump=info", mine)
    low = {}
    for m in re.finditer(r"DW_AT_name\s*:.*?\b(leaf[12])\b.*?DW_AT_low_pc\s*:\s*\(addr\)\s*(0x[0-9a-f]+|0)\b", info, re.S):
        low.setdefault(m.group(1), int(m.group(2), 0))
    assert low.get("leaf2") == 0 and low.get("leaf1") == nm_address(mine, "_Z5leaf1i"), low


SHARED_SRC = r"""
int g1(int x) { return x * 7 + 1; }
int g2(int x) { return x * 7 + 1; }
__attribute__((visibility("hidden"))) int h1(int x) { return x * 9 + 1; }
__attribute__((visibility("hidden"))) int h2(int x) { return x * 9 + 1; }
static int s1(int x) { return x * 11 + 1; }
static int s2(int x) { return x * 11 + 1; }
int use(int x) { return h1(x) + h2(x) + s1(x) + s2(x); }
int call1(int x) { return g1(x) + 1; }
int call2(int x) { return g2(x) + 1; }
int hcall1(int x) { return h1(x) + 1; }
int hcall2(int x) { return h2(x) + 1; }
"""


def test_shared_preemptible_references_stay_apart(tmp_path):
    """-shared: call1/call2 call different preemptible functions (another module may
    interpose g1 or g2), so they never fold; hcall1/hcall2 call hidden ones that fold.
    g1/g2 themselves fold, as gold, lld and mold do."""
    obj = compile_obj(tmp_path, write(tmp_path, "s.c", SHARED_SRC),
                      ["-O2", "-fPIC", "-ffunction-sections", "-fno-inline", "-fno-ipa-icf"])
    so, r = cxx_link(tmp_path, "libs.so", [obj], ["-shared", "-Wl,--icf=all,--print-icf-sections"],
                     compiler="gcc")
    ref, _ = cxx_link(tmp_path, "libs.gold.so", [obj], ["-shared", "-Wl,--icf=all"], linker="gold",
                      compiler="gcc")
    names = {"g1", "g2", "h1", "h2", "s1", "s2", "use", "call1", "call2", "hcall1", "hcall2"}
    got = folded_groups(so, names)
    assert got == {frozenset({"g1", "g2"}), frozenset({"h1", "h2"}), frozenset({"s1", "s2"}),
                   frozenset({"hcall1", "hcall2"})}, got
    assert not together(folded_groups(ref, names), "call1", "call2")
    # a program interposing g2 still sees its own g2 through call2, and g1 through call1
    main = write(tmp_path, "m.c", r"""
#include <stdio.h>
int call1(int), call2(int), use(int), hcall1(int), hcall2(int);
int g2(int x) { return -x; }
int main(void) { printf("%d %d %d %d %d\n", call1(2), call2(2), use(1), hcall1(1), hcall2(1)); return 0; }
""")
    exe, _ = cxx_link(tmp_path, "m", [main, so, f"-Wl,-rpath,{tmp_path}"], compiler="gcc")
    assert run_exe(exe).stdout == "16 -1 44 11 11\n"
    # in safe mode the exported g1/g2 stay apart (other modules may compare them)
    so2, _ = cxx_link(tmp_path, "libs2.so", [obj], ["-shared", "-Wl,--icf=safe"], compiler="gcc")
    got = folded_groups(so2, names)
    assert not together(got, "g1", "g2")


PERSONALITY_ASM = r"""
.globl pers1, pers2
pers1:
  ret
pers2:
  ret
.section .text.fn1, "ax", @progbits
.globl fn1
fn1:
  .cfi_startproc
  .cfi_personality 0x1b, pers1
  ret
  .cfi_endproc
.section .text.fn2, "ax", @progbits
.globl fn2
fn2:
  .cfi_startproc
  .cfi_personality 0x1b, pers2
  ret
  .cfi_endproc
.section .text.fn3, "ax", @progbits
.globl fn3
fn3:
  .cfi_startproc
  .cfi_personality 0x1b, pers1
  ret
  .cfi_endproc
.section .text.fn4, "ax", @progbits
.globl fn4
fn4:
  .cfi_startproc
  .cfi_personality 0x1b, pers2
  nop
  ret
  .cfi_endproc
.section .text.al1, "ax", @progbits
.globl al1
.p2align 0
al1:
  .byte 0x90
  ret
.section .text.al2, "ax", @progbits
.globl al2
.p2align 6
al2:
  .byte 0x90
  ret
"""


def test_unwind_info_and_alignment(tmp_path):
    """Functions whose FDEs use different CIEs (personality routines) stay apart;
    the kept copy takes the largest alignment of its class."""
    obj = compile_obj(tmp_path, write(tmp_path, "p.s", PERSONALITY_ASM), compiler="gcc")
    main = write(tmp_path, "m.c", r"""
#include <stdio.h>
extern char fn1, fn2, fn3, al1, al2;
int main(void) { printf("%d %d %d %ld\n", &fn1 == &fn2, &fn1 == &fn3, &al1 == &al2, (long)&al1 % 64);
                 return 0; }
""")
    exe, r = cxx_link(tmp_path, "p", [obj, main], ["-Wl,--icf=all,--print-icf-sections"], compiler="gcc")
    assert run_exe(exe).stdout == "0 1 1 0\n"
    assert "'.text.fn3' in file 'p.o' into '.text.fn1' in file 'p.o'" in r.stderr
    assert "'.text.al2' in file 'p.o' into '.text.al1' in file 'p.o'" in r.stderr


def test_static_cxx_program(objs):
    """A static link folds inside libstdc++/libc as well and still runs."""
    tmp, inputs = objs
    mine, r = cxx_link(tmp, "static", inputs, ["-static", "-Wl,--icf=all,--print-icf-sections"])
    assert run_exe(mine).stdout == EXPECTED.format(1)
    assert r.stderr.count("ICF folding section") > 30


def test_errors(tmp_path, objs):
    tmp, inputs = objs
    r = ld_direct(["-r", "--icf=all", inputs[0], "-o", "x.o"], tmp)
    assert r.returncode == 1 and "may not be used with -r" in r.stderr
    r = ld_direct(["--icf=maybe", inputs[0], "-o", "x"], tmp)
    assert r.returncode == 1 and "invalid --icf value 'maybe'" in r.stderr
    r = ld_direct(["--keep-unique"], tmp)
    assert r.returncode == 1


def test_options_parse():
    from ldpy.cli import parse_args, HELP_TEXT
    c = parse_args(["--icf=safe", "--print-icf-sections", "--keep-unique", "foo", "--keep-unique=bar",
                    "a.o"])
    assert c.icf == "safe" and c.print_icf_sections and c.keep_unique == ["foo", "bar"]
    c = parse_args(["-icf=all", "--print-icf-sections", "--no-print-icf-sections", "a.o"])
    assert c.icf == "all" and not c.print_icf_sections
    assert "--print-icf-sections" in HELP_TEXT and "--keep-unique SYMBOL" in HELP_TEXT
    assert "Fold identical code sections" in HELP_TEXT
    assert "[not supported yet]" not in [l for l in HELP_TEXT.splitlines() if "--icf" in l][0]


def test_only_sections_of_one_output_section_fold(objs):
    """A script that sends .text._Z5leaf2i to its own output section keeps it apart
    (lld's rule); leaf4 still folds into leaf1."""
    tmp, inputs = objs
    script = write(tmp, "ins.ld", "SECTIONS { .special : { *(.text._Z5leaf2i) } } INSERT BEFORE .text;\n")
    mine, r = cxx_link(tmp, "ins", inputs, ["-Wl,--icf=all,--print-icf-sections", f"-Wl,-T,{script}"])
    assert run_exe(mine).stdout == EXPECTED.format(1)
    assert ".special" in readelf("-S", mine)
    got = folded_groups(mine)
    assert not any("leaf2(int)" in g for g in got) and together(got, "leaf1(int)", "leaf4(int)")
    assert not together(got, "mid1(int)", "mid2(int)")
