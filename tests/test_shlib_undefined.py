"""Undefined symbols of a shared library on the command line pull archive
members that define them (the member's definition is exported so the library
binds to it), as in GNU ld; weak references of the library pull nothing, and
a definition in a later shared library (libgcc_s before libgcc.a) wins."""
import os

from e2e_util import link, run, write


def _tree(tmp, weak):
    decl = "extern int foo __attribute__((weak));" if weak else "extern int foo;"
    body = "return &foo ? foo : 1;" if weak else "return foo;"
    write(tmp, "a.c", f"{decl}\nint bar = 5;\nint baz(void) {{ {body} }}\n")
    run(["gcc", "-fPIC", "-shared", "a.c", "-o", "libb.so"], cwd=tmp)
    write(tmp, "c.c", "int foo = 3;\n")
    run(["gcc", "-c", "c.c"], cwd=tmp)
    run(["ar", "rcs", "libd.a", "c.o"], cwd=tmp)
    write(tmp, "e.c", '#include <stdio.h>\nextern int bar; int baz(void);\n'
                      'int main(void) { printf("%d %d\\n", bar, baz()); return 0; }\n')
    run(["gcc", "-c", "e.c"], cwd=tmp)


def _dynsym_names(path):
    out = run(["readelf", "-W", "--dyn-syms", path]).stdout
    return {line.split()[-1].split("@")[0] for line in out.splitlines() if line[:8].strip().endswith(":")}


def _link_both(tmp):
    args = ["e.o", "./libb.so", "libd.a"]
    mine, _ = link(tmp, "exe", args, static=False)
    ref, _ = link(tmp, "exe.bfd", args, static=False, linker="bfd")
    return mine, ref


def test_library_reference_pulls_archive_member(tmp_path):
    _tree(tmp_path, weak=False)
    mine, ref = _link_both(tmp_path)
    assert "foo" in _dynsym_names(ref)
    assert "foo" in _dynsym_names(mine)
    assert run([mine], cwd=tmp_path).stdout == run([ref], cwd=tmp_path).stdout == "5 3\n"


def test_weak_library_reference_pulls_nothing(tmp_path):
    _tree(tmp_path, weak=True)
    mine, ref = _link_both(tmp_path)
    assert "foo" not in _dynsym_names(ref)
    assert "foo" not in _dynsym_names(mine)
    assert run([mine], cwd=tmp_path).stdout == run([ref], cwd=tmp_path).stdout == "5 1\n"
