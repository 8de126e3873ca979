"""Unwind information for the PLT (ld.bfd's --ld-generated-unwind-info, its default):
the FDEs of .plt, .plt.got and .plt.sec, their call frame programs and where they
start, compared with ld.bfd's for the same program (x86-64: PIE, non-PIE, shared, the
IBT PLT; i386); .eh_frame_hdr counts them; --no-ld-generated-unwind-info leaves them
out; the programs still run and throw."""
import re
import shutil

import pytest

from linkutil import run
from e2e_util import shim_dir

PROG = ('#include <stdio.h>\n#include <stdlib.h>\n'
        'int main(int argc, char **argv) { printf("%d\\n", atoi(argc > 1 ? argv[1] : "3")); '
        'puts("done"); return 0; }\n')
LIB = "#include <stdio.h>\nint lib_call(int x) { printf(\"%d\\n\", x); return abs(x); }\nint abs(int);\n"


def _sections(path):
    """{name: (address, size)} of the PLT sections."""
    out = {}
    for line in run(["readelf", "-SW", str(path)]).stdout.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\.plt\S*)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m:
            out[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
    return out


def _fdes(path):
    """[(pc_begin, pc_end, program lines)] of every FDE in .eh_frame."""
    text = run(["readelf", "--debug-dump=frames", str(path)]).stdout
    out = []
    for block in text.split("\n\n"):
        m = re.search(r"FDE cie=\S+ pc=([0-9a-f]+)\.\.([0-9a-f]+)", block)
        if m:
            lines = [l.strip() for l in block.splitlines()[1:] if l.strip()]
            # (addresses in the advance_loc lines differ from one link to another)
            lines = [re.sub(r" to [0-9a-f]+$", "", l) for l in lines]
            out.append((int(m.group(1), 16), int(m.group(2), 16), lines))
    return out


def plt_fdes(path):
    """[(section, offset in it, length, program)] of the FDEs that cover PLT code."""
    secs = _sections(path)
    found = []
    for lo, hi, prog in _fdes(path):
        for name, (addr, size) in secs.items():
            if addr <= lo < addr + size:
                found.append((name, lo - addr, hi - lo, prog))
    return sorted(found)


def eh_frame_hdr_count(path):
    """The FDE count of .eh_frame_hdr (its third word)."""
    dump = run(["readelf", "-x", ".eh_frame_hdr", str(path)]).stdout
    words = "".join("".join(l.split()[1:5]) for l in dump.splitlines() if l.strip().startswith("0x"))
    return int.from_bytes(bytes.fromhex(words[16:24]), "little")


def link_both(tmp_path, cc, src, flags, name="p"):
    (tmp_path / "p.c").write_text(src)
    ours, ref = tmp_path / f"{name}.ldpy", tmp_path / f"{name}.bfd"
    run([cc, "-O1", "p.c", *flags, "-o", str(ours), "-B", shim_dir()], cwd=tmp_path)
    run([cc, "-O1", "p.c", *flags, "-o", str(ref), "-fuse-ld=bfd"], cwd=tmp_path)
    return ours, ref


MODES = {"pie": [], "no-pie": ["-no-pie"], "now": ["-Wl,-z,now"],
         "ibt": ["-fcf-protection", "-Wl,-z,ibtplt"], "shared": ["-shared", "-fPIC"]}


@pytest.mark.parametrize("mode", list(MODES))
def test_x86_64_plt_fdes_match_bfd(tmp_path, mode):
    src = LIB if mode == "shared" else PROG
    ours, ref = link_both(tmp_path, "gcc", src, MODES[mode])
    mine = plt_fdes(ours)
    assert mine == plt_fdes(ref)
    assert {name for name, *_ in mine} >= {".plt"} | ({".plt.sec"} if mode == "ibt" else set())
    assert any("DW_CFA_def_cfa_expression" in line for *_, prog in mine for line in prog)
    assert eh_frame_hdr_count(ours) == len(_fdes(ours))
    if mode != "shared":
        assert run([str(ours), "7"]).stdout == "7\ndone\n"


def test_no_ld_generated_unwind_info(tmp_path):
    ours, ref = link_both(tmp_path, "gcc", PROG, ["-Wl,--no-ld-generated-unwind-info"])
    assert plt_fdes(ours) == plt_fdes(ref) == []
    with_them, _ = link_both(tmp_path, "gcc", PROG, ["-Wl,--ld-generated-unwind-info"], name="q")
    assert len(plt_fdes(with_them)) == 2
    assert eh_frame_hdr_count(ours) == len(_fdes(ours)) == len(_fdes(with_them)) - 2


def test_static_program_has_no_plt_fdes(tmp_path):
    """ld.bfd makes none for a static program's IFUNC PLT (.iplt)."""
    src = ('#include <stdio.h>\nstatic int impl(void) { return 42; }\n'
           'static void *resolve(void) { return impl; }\n'
           'int f(void) __attribute__((ifunc("resolve")));\n'
           'int main(void) { printf("%d\\n", f()); return 0; }\n')
    ours, ref = link_both(tmp_path, "gcc", src, ["-static"])
    assert plt_fdes(ours) == plt_fdes(ref) == []
    assert run([str(ours)]).stdout == "42\n"


def test_exceptions_unwind_with_plt_fdes(tmp_path):
    (tmp_path / "e.cc").write_text(
        '#include <cstdio>\n#include <stdexcept>\n#include <string>\n'
        'int main() { try { throw std::runtime_error(std::string("boom")); }\n'
        ' catch (const std::exception &e) { std::printf("%s\\n", e.what()); } return 0; }\n')
    run(["g++", "-O1", "e.cc", "-o", "e", "-B", shim_dir()], cwd=tmp_path)
    assert plt_fdes(tmp_path / "e")
    assert run([str(tmp_path / "e")]).stdout == "boom\n"


@pytest.mark.skipif(not shutil.which("i686-linux-gnu-gcc"), reason="needs gcc-i686-linux-gnu (CI installs it)")
@pytest.mark.parametrize("mode", ["pie", "no-pie", "shared"])
def test_i386_plt_fdes_match_bfd(tmp_path, mode):
    src = LIB if mode == "shared" else PROG
    ours, ref = link_both(tmp_path, "i686-linux-gnu-gcc", src, MODES[mode])
    mine = plt_fdes(ours)
    assert mine == plt_fdes(ref)
    assert ".plt" in {name for name, *_ in mine}
    assert eh_frame_hdr_count(ours) == len(_fdes(ours))
    if mode != "shared":
        assert run([str(ours), "9"]).stdout == "9\ndone\n"
