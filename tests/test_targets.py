"""Targets as data: REL-format inputs read with their addends in the section bytes,
and the target chosen from the inputs."""
import os
import struct
import subprocess

import pytest

from linkutil import gcc_link, run

SHT_RELA, SHT_REL = 4, 9
# bytes of the field each x86-64 relocation type patches, for the types gcc and as
# emit here (the addend moves into these bytes in the REL form)
X86_64_FIELD = {1: 8, 2: 4, 4: 4, 9: 4, 10: 4, 11: 4, 12: 2, 13: 2, 14: 1, 15: 1, 17: 8,
                19: 4, 20: 4, 21: 4, 22: 4, 23: 4, 24: 8, 26: 4, 32: 4, 33: 8, 34: 4,
                41: 4, 42: 4}


def rela_to_rel(src, dst):
    """Rewrite every SHT_RELA section of an ELF64 little-endian object as SHT_REL:
    entries lose r_addend (in place, the section shrinks to 16 bytes an entry) and
    each addend is written into the bytes its relocation patches."""
    b = bytearray(open(src, "rb").read())
    shoff, = struct.unpack_from("<Q", b, 0x28)
    shnum, = struct.unpack_from("<H", b, 0x3c)
    hdr = [struct.unpack_from("<IIQQQQIIQQ", b, shoff + 64 * i) for i in range(shnum)]
    converted = 0
    for i, (name, typ, flags, addr, off, size, link, info, align, ent) in enumerate(hdr):
        if typ != SHT_RELA:
            continue
        target_off = hdr[info][4]
        n = size // 24
        rows = [struct.unpack_from("<QQq", b, off + 24 * k) for k in range(n)]
        for k, (r_off, r_info, addend) in enumerate(rows):
            w = X86_64_FIELD.get(r_info & 0xffffffff, 0)
            if w:
                b[target_off + r_off:target_off + r_off + w] = \
                    (addend & ((1 << (8 * w)) - 1)).to_bytes(w, "little")
            else:
                assert addend == 0, f"type {r_info & 0xffffffff} carries an addend"
            struct.pack_into("<QQ", b, off + 16 * k, r_off, r_info)
        b[off + 16 * n:off + size] = bytes(size - 16 * n)
        struct.pack_into("<IIQQQQIIQQ", b, shoff + 64 * i, name, SHT_REL, flags, addr, off, 16 * n,
                         link, info, align, 16)
        converted += 1
    open(dst, "wb").write(bytes(b))
    return converted


SRC = r"""
#include <stdio.h>
#include <string.h>
struct item { const char *name; int value; };
static struct item table[] = { {"one", 1}, {"two", 2}, {"three", 3} };
const char *names[] = { "alpha" + 1, "beta" + 2, "gamma" };
static __thread int counter = 5;
__thread int shared_counter;
int big[100];
static int bump(int x) { return x + table[x % 3].value; }
int (*fp)(int) = bump;
int main(void) {
    int s = 0;
    for (int i = 0; i < 3; i++)
        s += fp(i) + (int)strlen(table[i].name) + big[i + 10];
    counter += s;
    shared_counter = counter * 2;
    printf("%s %s %s %d %d %d\n", names[0], names[1], names[2], s, counter, shared_counter);
    return 0;
}
"""


@pytest.mark.parametrize("mode", ["-no-pie", "-pie", "-static"])
def test_rel_object_links_like_its_rela_twin(tmp_path, mode):
    src = tmp_path / "p.c"
    src.write_text(SRC)
    pic = "-fPIE" if mode == "-pie" else "-fno-pic"
    run(["gcc", "-O1", "-g", pic, "-c", str(src), "-o", str(tmp_path / "rela.o")])
    assert rela_to_rel(tmp_path / "rela.o", tmp_path / "rel.o") >= 2
    sections = run(["readelf", "-SW", str(tmp_path / "rel.o")]).stdout
    assert " REL " in sections and " RELA " not in sections
    a = gcc_link(tmp_path, "a", [mode, "rela.o"])
    b = gcc_link(tmp_path, "b", [mode, "rel.o"])
    assert open(a, "rb").read() == open(b, "rb").read()
    out = subprocess.run([b], capture_output=True, text=True, check=True).stdout
    assert out == "lpha ta gamma 20 25 50\n"


def test_rel_shared_object_with_tls(tmp_path):
    """-shared keeps the dynamic TLS models (GD, LD pairs): their addends come from
    the instruction bytes too."""
    src = tmp_path / "s.c"
    src.write_text("static __thread int a = 1; __thread int b = 2;\n"
                   "int get(void) { return a + b; }\n"
                   "int *ptr(void) { static int x; return &x; }\n")
    run(["gcc", "-O1", "-fPIC", "-c", str(src), "-o", str(tmp_path / "rela.o")])
    rela_to_rel(tmp_path / "rela.o", tmp_path / "rel.o")
    a = gcc_link(tmp_path, "a.so", ["-shared", "rela.o"])
    b = gcc_link(tmp_path, "b.so", ["-shared", "rel.o"])
    assert open(a, "rb").read() == open(b, "rb").read()


def test_emulation_of_another_target_is_refused_for_x86_64_inputs(tmp_path):
    src = tmp_path / "x.c"
    src.write_text("int main(void) { return 0; }\n")
    run(["gcc", "-c", str(src), "-o", str(tmp_path / "x.o")])
    r = subprocess.run(["python3", "-m", "ldpy", "-m", "elf_i386", str(tmp_path / "x.o"),
                        "-o", str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert not os.path.exists(tmp_path / "x")
