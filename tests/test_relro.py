"""PT_GNU_RELRO must cover exactly the sections it protects.  `.tbss` takes no
address space in the RW segment (what follows overlaps it), so a `.tbss` larger
than a page must not stretch RELRO: the loader's mprotect would then cover
`.got.plt`/`.data` ("cannot apply additional memory protection after
relocation") or the program would crash under lazy binding."""
import os

import pytest

from e2e_util import link, program_headers, run_exe, sections, write, run, driver_flags, compile_obj, ld_direct, section

PROGRAM = r"""
#include <stdio.h>
__thread int tls_init = 42;             /* .tdata */
__thread char tls_big[3 * 4096 + 17];   /* .tbss, several pages */
int counter = 5;                        /* .data after RELRO */
int main(void) {
    tls_big[sizeof tls_big - 1] = 9;
    counter += tls_init;
    printf("%d %d %d\n", tls_init, tls_big[sizeof tls_big - 1], counter);
    return 0;
}
"""

LIBRARY = r"""
__thread int lib_init = 7;
__thread char lib_big[5 * 4096];
int lib_data = 1;
int lib_get(void) { lib_big[sizeof lib_big - 1] = 3; return lib_init + lib_big[sizeof lib_big - 1] + lib_data; }
"""

USER = r"""
#include <stdio.h>
int lib_get(void);
int main(void) { printf("%d\n", lib_get()); return 0; }
"""


def _check_relro(path):
    """RELRO ends after the last non-.tbss RELRO section, on the page boundary
    where the writable rest of the segment starts."""
    phdrs = program_headers(path)
    relro = [p for p in phdrs if p.type == "GNU_RELRO"]
    assert len(relro) == 1, phdrs
    relro = relro[0]
    secs = {s.name: s for s in sections(path)}
    protected_end = max(s.addr + s.size for s in secs.values()
                        if s.name in relro.sections or (relro.vaddr <= s.addr < relro.end
                                                        and s.name != ".tbss"))
    page = 4096
    assert relro.end <= (protected_end + page - 1) // page * page, (relro, protected_end)
    tbss = secs[".tbss"]
    assert tbss.size > page
    # nothing writable after RELRO is covered by it (GNU ld may protect the three
    # reserved words at the start of .got.plt, never the PLT slots)
    for name, reserved in ((".got.plt", 24), (".data", 0), (".bss", 0)):
        if name in secs and secs[name].size > reserved:
            assert secs[name].addr + reserved >= relro.end, (name, secs[name], relro)


@pytest.mark.parametrize("kind", ["-pie", "-no-pie", "-static", "-static-pie"])
def test_large_tbss_does_not_stretch_relro(tmp_path, kind):
    src = write(tmp_path, "t.c", PROGRAM)
    exe, _ = link(tmp_path, "t", [src], [kind], static=False)
    _check_relro(exe)
    for env in ({}, {"LD_BIND_NOW": "1"}):
        r = run([exe], env={**os.environ, **env})
        assert r.stdout == "42 9 47\n"


def test_large_tbss_in_shared_library(tmp_path):
    lib = write(tmp_path, "l.c", LIBRARY)
    so, _ = link(tmp_path, "libl.so", [lib], ["-shared", "-fPIC"], static=False)
    _check_relro(so)
    user = write(tmp_path, "m.c", USER)
    # the library linked by the linker under test, the program by either
    exe, _ = link(tmp_path, "m", [user], ["-L", str(tmp_path), "-ll", f"-Wl,-rpath,{tmp_path}"],
                  static=False)
    for env in ({}, {"LD_BIND_NOW": "1"}):
        r = run([exe], env={**os.environ, **env})
        assert r.stdout == "11\n"


TABLES = r"""
    .text
    .globl _start
_start:
    movq table(%rip), %rdi
    addq $5, %rdi
    movl $60, %eax
    syscall
    .section .rodata
    .zero {pad}
    .section .init_array,"aw",@init_array
    .p2align 3
    .quad 0, 0
    .section .data.rel.ro,"aw"
    .p2align 5
table:
    .quad 7
    .zero {size} - 8
    .data
    .quad 1
"""


def _tables_exe(tmp_path, name, pad, size, relro):
    obj = compile_obj(tmp_path, write(tmp_path, f"{name}.s", TABLES.format(pad=pad, size=size)))
    exe = os.path.join(str(tmp_path), name)
    r = ld_direct(["-static", "-z", "relro" if relro else "norelro", "-e", "_start", obj, "-o", exe],
                  cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return exe


@pytest.mark.parametrize("pad", [8, 16, 24, 32])
def test_relro_end_lands_on_a_page_whatever_the_padding(tmp_path, pad):
    """RELRO sized as ld.bfd sizes it (back from the page boundary over each
    section's size and alignment, from the layout before any shift): a
    32-aligned section with less padding before it at the shifted place than at
    the unshifted one made the layout flip between two shifts forever ("does
    not converge": libffi's tests linked against its static library).  Here
    .init_array (16 bytes) and a 32-aligned .data.rel.ro, the data segment at
    each multiple of 8 modulo 32, and RELRO 8-32 bytes past a page before the
    shift.  (Nothing runs the .init_array: the program has its own _start.)"""
    # where DATA_SEGMENT_ALIGN puts the data segment before any shift: the page
    # after .rodata, at .rodata's end's offset in its page
    probe = _tables_exe(tmp_path, "probe", pad, 64, relro=True)
    rodata = section(probe, ".rodata")
    ro_end = rodata.addr + rodata.size
    base = (ro_end + 4095) // 4096 * 4096 + ro_end % 4096
    a_end = (base + 7) // 8 * 8 + 16
    b_start = a_end + (-a_end) % 32
    for over in (8, 16, 24, 32):
        page_end = (b_start + 512 + 4095) // 4096 * 4096
        size = page_end + over - b_start
        exe = _tables_exe(tmp_path, f"t{over}", pad, size, relro=True)
        relro = [p for p in program_headers(exe) if p.type == "GNU_RELRO"]
        assert len(relro) == 1
        relro = relro[0]
        secs = {s.name: s for s in sections(exe)}
        rel_ro = secs[".data.rel.ro"]
        assert relro.end % 4096 == 0, (over, relro)
        assert relro.vaddr <= rel_ro.addr and rel_ro.addr + rel_ro.size <= relro.end, (over, relro, rel_ro)
        assert secs[".data"].addr >= relro.end
        assert run([exe], check=False).returncode == 12
