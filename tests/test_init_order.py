"""Constructors and destructors in every section GNU ld's default script puts
into .init_array/.fini_array: .ctors/.dtors (whose words run last to first, so
GNU ld copies them reversed), .ctors.N/.dtors.N, and gcc's prioritized
constructor/destructor attributes.  The order printed must be ld.bfd's."""
import os

import pytest

from e2e_util import HERE, compile_obj, link, run_exe

SRC = os.path.join(HERE, "progs_init")
EXPECTED = "ctor1 init1 ctor2 ctor3 ctor4 init2 fini2 dtor1 dtor2 dtor3 fini1 dtor4 "


@pytest.mark.parametrize("kind", [["-pie"], ["-no-pie"], ["-static"], ["-static-pie"]])
def test_ctors_in_init_array_run_in_gnu_order(tmp_path, kind):
    a = compile_obj(tmp_path, os.path.join(SRC, "ctors_sections.c"))
    b = compile_obj(tmp_path, os.path.join(SRC, "init_priorities.c"))
    mine, _ = link(tmp_path, "ctors", [a, b], kind, static=False)
    ref, _ = link(tmp_path, "ctors.bfd", [a, b], kind, static=False, linker="bfd")
    assert run_exe(ref).stdout == EXPECTED
    assert run_exe(mine).stdout == EXPECTED
