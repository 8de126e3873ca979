"""Dynamic-linking bugs of issue 20: TLS descriptors, hidden weak undefined
symbols, canonical PLT entries in .gnu.hash, copy relocations of read-only data,
IFUNC addresses and the symbols -E exports.  Every test compiles real C (or
assembly), links it with ldpy and with ld.bfd, runs both (lazily and with
LD_BIND_NOW=1) and compares their output and dynamic structure."""
import collections
import os

import pytest

from linkutil import comment_says_ldpy, dyn_tags, gcc_link, readelf, run

LINKERS = ("ldpy", "bfd")
EXE_MODES = {"pie": ["-fPIE", "-pie"], "nopie": ["-fno-pie", "-no-pie"],
             "pie-now": ["-fPIE", "-pie", "-Wl,-z,now"], "nopie-now": ["-fno-pie", "-no-pie", "-Wl,-z,now"]}


def write(tmp, name, text):
    path = os.path.join(str(tmp), name)
    with open(path, "w") as f:
        f.write(text)
    return path


def link_both(tmp, name, args):
    """The same link with ldpy and with ld.bfd, each in its own directory (so
    that libraries of the same name do not clash): {linker: path}."""
    out = {}
    for linker in LINKERS:
        os.makedirs(os.path.join(str(tmp), linker), exist_ok=True)
        out[linker] = gcc_link(tmp, os.path.join(linker, name), [a.replace("@L@", linker) for a in args],
                               linker)
    assert comment_says_ldpy(out["ldpy"])
    return out


def run_all(exe, expected=None):
    """Run lazily and with LD_BIND_NOW=1; both must agree (and equal `expected`)."""
    lazy = run([exe]).stdout
    now = run([exe], env=dict(os.environ, LD_BIND_NOW="1")).stdout
    assert lazy == now
    if expected is not None:
        assert lazy == expected
    return lazy


def dynsym_rows(path):
    """{name: (type, bind, vis, defined)} of the dynamic symbol table."""
    rows = {}
    for line in readelf("--dyn-syms", path).splitlines():
        p = line.split()
        if len(p) >= 8 and p[0].rstrip(":").isdigit() and p[0] != "0:":
            rows[p[7].split("@")[0]] = (p[3], p[4], p[5], p[6] != "UND")
    return rows


def dyn_relocs(path, names=None):
    """Multiset of (section, type, symbol) of the dynamic relocations; with `names`,
    only the RELATIVE ones and those against these symbols (crt files' own
    references are not what these tests are about)."""
    rows = collections.Counter()
    sec = None
    for line in readelf("-r", path).splitlines():
        if line.startswith("Relocation section"):
            sec = line.split("'")[1]
        p = line.split()
        if len(p) >= 3 and p[2].startswith("R_X86_64_"):
            sym = p[4].split("@")[0] if len(p) >= 7 else ""
            if names is None or sym in names or p[2] == "R_X86_64_RELATIVE":
                rows[(sec, p[2], sym)] += 1
    return rows


def sections(path):
    """{name: (type, flags)} of the section headers."""
    out = {}
    for line in readelf("-S", path).splitlines():
        line = line.replace("[ ", "[")
        p = line.split()
        if len(p) >= 8 and p[0].startswith("[") and p[0].endswith("]") and p[0] != "[Nr]":
            out[p[1]] = (p[2], p[7] if not p[7].isdigit() else "")
    return out


# -- 2. hidden / protected / internal weak undefined symbols ---------------------

WEAK_EXE = r"""
#include <stdio.h>
extern void hook(void) __attribute__((weak, visibility("hidden")));
extern void phook(void) __attribute__((weak, visibility("protected")));
extern void ihook(void) __attribute__((weak, visibility("internal")));
extern int hvar __attribute__((weak, visibility("hidden")));
void *ptrs[] = { (void *)hook, (void *)phook, (void *)ihook, &hvar };
static void *lptr = (void *)hook;
int libf(void);
int main(void) {
  if (hook) hook();
  if (phook) phook();
  printf("%d %d %d %d\n", hook != 0, phook != 0, ihook != 0, &hvar != 0);
  printf("%d %d %d %d %d\n", ptrs[0] != 0, ptrs[1] != 0, ptrs[2] != 0, ptrs[3] != 0, lptr != 0);
  printf("lib %d\n", libf());
  return 0;
}
"""

WEAK_LIB = r"""
extern void hook(void) __attribute__((weak, visibility("hidden")));
extern int hvar __attribute__((weak, visibility("hidden")));
extern int pvar __attribute__((weak, visibility("protected")));
extern void ihook(void) __attribute__((weak, visibility("internal")));
void *lptrs[] = { (void *)hook, &hvar, &pvar, (void *)ihook };
int libf(void) {
  if (hook) hook();
  if (ihook) ihook();
  return (hook != 0) + (&hvar != 0) * 2 + (&pvar != 0) * 4 + (lptrs[0] != 0) * 8 +
         (lptrs[1] != 0) * 16 + (lptrs[2] != 0) * 32 + (lptrs[3] != 0) * 64;
}
"""

ZERO_NAMES = {"hook", "phook", "ihook", "hvar", "pvar"}


@pytest.mark.parametrize("plt", ["plt", "noplt"])
def test_hidden_weak_undefined_is_zero(tmp_path, plt):
    lib_c = write(tmp_path, "weaklib.c", WEAK_LIB)
    exe_c = write(tmp_path, "weakexe.c", WEAK_EXE)
    extra = ["-fno-plt"] if plt == "noplt" else []
    libs = link_both(tmp_path, "libweak.so", ["-shared", "-fPIC", "-O1", *extra, lib_c])
    for linker, lib in libs.items():
        assert not ZERO_NAMES & set(dynsym_rows(lib)), linker
    assert dyn_relocs(libs["ldpy"], ZERO_NAMES) == dyn_relocs(libs["bfd"], ZERO_NAMES)
    assert all(r[2] == "" for r in dyn_relocs(libs["ldpy"], ZERO_NAMES))
    for mode, flags in EXE_MODES.items():
        # the program links against (and runs with) each linker's library
        exes = link_both(tmp_path, "weak-" + mode, [exe_c, "-O1", *extra, *flags, "-L", str(tmp_path / "@L@"),
                                                    "-lweak", "-Wl,-rpath," + str(tmp_path / "@L@")])
        for linker, exe in exes.items():
            run_all(exe, "0 0 0 0\n0 0 0 0 0\nlib 0\n")
            assert not ZERO_NAMES & set(dynsym_rows(exe)), (mode, linker)
        assert dyn_relocs(exes["ldpy"], ZERO_NAMES) == dyn_relocs(exes["bfd"], ZERO_NAMES), mode
