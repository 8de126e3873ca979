"""DT_NEEDED of a shared library that has no DT_SONAME: the name it was given
on the command line or in a script (the path as written), the file name only
for -l.  Compared with ld.bfd for each way of naming the library; the
programs run from the link directory."""
import os

import pytest

from e2e_util import link, run, write
from linkutil import needed

CASES = {
    "relative path": ["out/dir/libx.so"],
    "absolute path": ["{tmp}/out/dir/libx.so"],
    "dot path": ["./out/dir/libx.so"],
    "-l": ["-Lout/dir", "-lx"],
    "-l:": ["-Lout/dir", "-l:libx.so"],
    "script INPUT(path)": ["s_path.ld"],
    "script INPUT(name) via -L": ["-Lout/dir", "s_name.ld"],
    "script INPUT(-l)": ["-Lout/dir", "s_lib.ld"],
    "script beside the library": ["out/dir/s_beside.ld"],
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("needed")
    os.makedirs(tmp / "out" / "dir")
    write(tmp, "x.c", "int x(void) { return 3; }\n")
    run(["gcc", "-shared", "-fPIC", "x.c", "-o", "out/dir/libx.so"], cwd=tmp)
    write(tmp, "m.c", '#include <stdio.h>\nint x(void);\nint main(void) { printf("%d\\n", x()); return 0; }\n')
    run(["gcc", "-c", "m.c"], cwd=tmp)
    write(tmp, "s_path.ld", "INPUT(out/dir/libx.so)\n")
    write(tmp, "s_name.ld", "INPUT(libx.so)\n")
    write(tmp, "s_lib.ld", "INPUT(-lx)\n")
    write(tmp, "out/dir/s_beside.ld", "INPUT(libx.so)\n")
    return tmp


@pytest.mark.parametrize("case", sorted(CASES))
def test_needed_name_of_library_without_soname(tree, case):
    args = [a.format(tmp=tree) for a in CASES[case]]
    name = "p_" + "".join(c if c.isalnum() else "_" for c in case)
    mine, _ = link(tree, name, ["m.o", *args], static=False)
    ref, _ = link(tree, name + ".bfd", ["m.o", *args], static=False, linker="bfd")
    assert needed(mine)[0] == needed(ref)[0]
    # a bare name is found through LD_LIBRARY_PATH, a path from the current directory
    env = {**os.environ, "LD_LIBRARY_PATH": str(tree / "out" / "dir")}
    assert run([mine], cwd=tree, env=env).stdout == "3\n"
