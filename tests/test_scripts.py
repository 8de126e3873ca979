"""Linker scripts (SECTIONS, MEMORY, PHDRS, OVERLAY, INSERT, -T, -Ttext, the
default script): each layout is linked by ldpy and by ld.bfd from the same
objects and script, and the section table, load addresses, program headers
and symbols must be the same."""
import os
import random
import re
import subprocess
import sys

import pytest

from linkutil import run, shim_dir

LDPY = [sys.executable, "-m", "ldpy"]

EMBEDDED_C = r"""
extern unsigned _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];
int counter = 5;
int zeroed;
static int table[4] = {1, 2, 3, 4};
const char msg[] = "hello";
void Reset_Handler(void) {
  unsigned *s = _sidata, *d = _sdata;
  while (d < _edata) *d++ = *s++;
  for (d = _sbss; d < _ebss; ) *d++ = 0;
  for (;;) counter += zeroed + msg[0] + table[counter & 3];
}
__attribute__((section(".isr_vector"), used)) void *vectors[] = { _estack, Reset_Handler };
__attribute__((section(".text.b_second"))) int second(void) { return 2; }
__attribute__((section(".text.a_first"))) int first(void) { return 1; }
__attribute__((section(".unused_junk"), used)) int junk = 7;
"""

EMBEDDED_LD = """
MEMORY
{
  FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 256K
  RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = %(ram)s
}
REGION_ALIAS("REGION_TEXT", FLASH);
ENTRY(Reset_Handler)
_estack = ORIGIN(RAM) + LENGTH(RAM);
SECTIONS
{
  .isr_vector : { KEEP(*(.isr_vector)) } >FLASH
  .text : {
    . = ALIGN(4);
    *(SORT_BY_NAME(.text.*))
    *(.text)
    *(.rodata .rodata.*)
    . = ALIGN(4);
    _etext = .;
  } >REGION_TEXT
  _sidata = LOADADDR(.data);
  .data : {
    . = ALIGN(4);
    _sdata = .;
    *(.data .data.*)
    . = ALIGN(4);
    _edata = .;
  } >RAM AT> FLASH
  .bss : {
    . = ALIGN(4);
    _sbss = .;
    *(.bss .bss.*)
    *(COMMON)
    . = ALIGN(4);
    _ebss = .;
  } >RAM
  PROVIDE(end = .);
  PROVIDE(unused_provide = 1);
  data_size = SIZEOF(.data);
  text_end_abs = ABSOLUTE(_etext);
  ram_top = MAX(_ebss, ORIGIN(RAM) + 16);
  /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame) *(.unused_junk) }
  ASSERT(_ebss <= ORIGIN(RAM) + LENGTH(RAM), "RAM overflow")
}
"""


def _compile(tmp, name, text, flags=()):
    src = os.path.join(str(tmp), name)
    with open(src, "w") as fh:
        fh.write(text)
    obj = src.rsplit(".", 1)[0] + ".o"
    run(["gcc", "-c", "-O1", "-fno-pic", "-fno-asynchronous-unwind-tables", "-ffreestanding",
         *flags, src, "-o", obj])
    return obj


def _write(tmp, name, text):
    p = os.path.join(str(tmp), name)
    with open(p, "w") as fh:
        fh.write(text)
    return p


def _link_both(tmp, args, name="out"):
    bfd = os.path.join(str(tmp), name + ".bfd")
    ours = os.path.join(str(tmp), name + ".ldpy")
    run(["ld.bfd", *args, "-o", bfd])
    r = run([*LDPY, *args, "-o", ours], check=False)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return bfd, ours


def _sections(path):
    """(name, type, address, offset, size, flags, align) of every section but the
    symbol and string tables (their sizes depend on the symbol order)."""
    rows = []
    for line in run(["readelf", "-SW", path]).stdout.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+\S+\s+(\S*)\s+\d+\s+\d+\s+(\d+)", line)
        if m and m.group(1) not in (".symtab", ".strtab", ".shstrtab"):
            rows.append(m.groups())
    return rows


def _lmas(path):
    rows = []
    for line in run(["objdump", "-hw", path]).stdout.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[0].isdigit():
            rows.append((parts[1], parts[3], parts[4]))       # name, VMA, LMA
    return rows


def _phdrs(path):
    out = run(["readelf", "-lW", path]).stdout
    rows = [tuple(line.split()) for line in out.splitlines()
            if re.match(r"\s+(LOAD|NOTE|TLS|GNU_|PHDR|INTERP|DYNAMIC|NULL|0x)", line)]
    mapping = [line.split()[1:] for line in out.splitlines() if re.match(r"\s+\d\d\s", line)]
    return rows, mapping


def _symbols(path):
    return sorted(run(["nm", path]).stdout.splitlines())


def _assert_same_layout(bfd, ours, symbols=True):
    assert _sections(ours) == _sections(bfd)
    assert _lmas(ours) == _lmas(bfd)
    assert _phdrs(ours) == _phdrs(bfd)
    if symbols:
        assert _symbols(ours) == _symbols(bfd)


def test_embedded_memory_regions_lma_provide_discard(tmp_path):
    obj = _compile(tmp_path, "emb.c", EMBEDDED_C)
    script = _write(tmp_path, "emb.ld", EMBEDDED_LD % {"ram": "64K"})
    bfd, ours = _link_both(tmp_path, ["-T", script, obj])
    _assert_same_layout(bfd, ours)
    syms = dict((l.split()[2], l.split()[0]) for l in _symbols(ours) if len(l.split()) == 3)
    assert int(syms["_estack"], 16) == 0x20000000 + 64 * 1024
    assert "unused_provide" not in syms and "junk" not in syms
    # .data is loaded in FLASH right after .text: the startup code copies it from there
    lmas = {n: (int(v, 16), int(l, 16)) for n, v, l in _lmas(ours)}
    assert lmas[".data"][0] == 0x20000000 and lmas[".data"][1] < 0x08040000
    assert int(syms["_sidata"], 16) == lmas[".data"][1]
    # SORT_BY_NAME put .text.a_first before .text.b_second
    assert int(syms["first"], 16) < int(syms["second"], 16)


def test_region_overflow_names_region_and_bytes(tmp_path):
    obj = _compile(tmp_path, "emb.c", EMBEDDED_C)
    script = _write(tmp_path, "small.ld", EMBEDDED_LD % {"ram": "4"})
    r = run(["ld.bfd", "-T", script, obj, "-o", str(tmp_path / "b")], check=False)
    assert r.returncode != 0
    n = re.search(r"region `RAM' overflowed by (\d+) bytes", r.stderr)
    assert n, r.stderr
    out = tmp_path / "l"
    r = run([*LDPY, "-T", script, obj, "-o", str(out)], check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "region 'RAM' overflowed by %s bytes" % n.group(1) in r.stderr
    assert not out.exists()


def test_assert_failure_message(tmp_path):
    obj = _compile(tmp_path, "emb.c", EMBEDDED_C)
    text = EMBEDDED_LD % {"ram": "64K"}
    text = text.replace('ASSERT(_ebss <= ORIGIN(RAM) + LENGTH(RAM), "RAM overflow")',
                        'ASSERT(SIZEOF(.data) > 4096, "data section too small for the test")')
    script = _write(tmp_path, "assert.ld", text)
    assert run(["ld.bfd", "-T", script, obj, "-o", str(tmp_path / "b")], check=False).returncode != 0
    r = run([*LDPY, "-T", script, obj, "-o", str(tmp_path / "l")], check=False)
    assert r.returncode == 1 and "data section too small for the test" in r.stderr
    assert "assert.ld:" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_syntax_error_names_line_and_column(tmp_path):
    obj = _compile(tmp_path, "emb.c", EMBEDDED_C)
    script = _write(tmp_path, "bad.ld", "SECTIONS\n{\n  .text : { *(.text) }\n  .data : { *(.data) \n}\n")
    assert run(["ld.bfd", "-T", script, obj, "-o", str(tmp_path / "b")], check=False).returncode != 0
    r = run([*LDPY, "-T", script, obj, "-o", str(tmp_path / "l")], check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert re.search(r"bad\.ld:\d+:\d+: syntax error: expected|bad\.ld: unexpected end of script, expected",
                     r.stderr), r.stderr


def test_undefined_symbol_in_expression(tmp_path):
    obj = _compile(tmp_path, "emb.c", EMBEDDED_C)
    text = (EMBEDDED_LD % {"ram": "64K"}).replace("data_size = SIZEOF(.data);",
                                                   "data_size = no_such_symbol + 1;")
    script = _write(tmp_path, "undef.ld", text)
    assert run(["ld.bfd", "-T", script, obj, "-o", str(tmp_path / "b")], check=False).returncode != 0
    r = run([*LDPY, "-T", script, obj, "-o", str(tmp_path / "l")], check=False)
    assert r.returncode == 1 and "no_such_symbol" in r.stderr and "undef.ld:" in r.stderr


PLAIN_C = r"""
int d1 = 1, d2 = 2;
int b1, b2;
const int r1 = 3;
int f(void) { return d1 + d2 + b1 + b2 + r1; }
void _start(void) { f(); for (;;); }
"""


@pytest.mark.parametrize("script", [
    # explicit addresses and AT(): a load image separate from the run addresses
    """SECTIONS {
      .text 0x10000 : AT(0x90000) { *(.text*) }
      .rodata : { *(.rodata*) }
      .data 0x20000 : AT(LOADADDR(.rodata) + SIZEOF(.rodata)) { *(.data*) *(.bss*) *(COMMON) }
      _end = .;
      /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame) }
    }""",
])
def test_script_layouts_match_bfd(tmp_path, script):
    obj = _compile(tmp_path, "plain.c", PLAIN_C)
    path = _write(tmp_path, "s.ld", script)
    bfd, ours = _link_both(tmp_path, ["-T", path, obj])
    _assert_same_layout(bfd, ours)
    with open(bfd, "rb") as a, open(ours, "rb") as b:
        da, db = a.read(), b.read()
    for name, _, addr, off, size, _, _ in _sections(bfd):
        if name in (".rodata", ".data", ".text"):
            o, n = int(off, 16), int(size, 16)
            assert da[o:o + n] == db[o:o + n], name


def test_overlay_shares_vma_loads_in_sequence(tmp_path):
    """OVERLAY as the GNU ld manual gives it: one run address, load addresses
    one after the other from AT(), __load_start_/__load_stop_ symbols."""
    obj = _compile(tmp_path, "plain.c", PLAIN_C + "int use_symbols(void);\n")
    script = _write(tmp_path, "ov.ld", """
    SECTIONS {
      . = 0x400000;
      .text : { *(.text*) }
      OVERLAY 0x600000 : AT(0x500000) {
        .ov_a { *(.data) }
        .ov_b { *(.rodata*) }
      }
      PROVIDE(__load_start_ov_a = 0); PROVIDE(__load_stop_ov_b = 0);
      .bss 0x700000 : { *(.bss*) *(COMMON) }
      /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame) }
    }""")
    out = str(tmp_path / "ov")
    r = run([*LDPY, "-T", script, obj, "-o", out, "--defsym", "use_a=__load_start_ov_a",
             "--defsym", "use_b=__load_stop_ov_b"], check=False)
    assert r.returncode == 0, r.stderr
    lmas = {n: (int(v, 16), int(l, 16)) for n, v, l in _lmas(out)}
    secs = {s[0]: int(s[4], 16) for s in _sections(out)}
    assert lmas[".ov_a"] == (0x600000, 0x500000)
    assert lmas[".ov_b"] == (0x600000, 0x500000 + secs[".ov_a"])


FREESTANDING_S = r"""
    .section .rodata
msg: .ascii "freestanding ok\n"
    .text
    .globl _start
_start:
    mov $1, %eax
    mov $1, %edi
    lea msg(%rip), %rsi
    mov $16, %edx
    syscall
    mov counter(%rip), %edi
    mov $60, %eax
    syscall
    .data
counter: .long 7
"""

FREESTANDING_LD = """
ENTRY(_start)
SECTIONS
{
  . = 0x10000 + SIZEOF_HEADERS;
  .text : { *(.text*) }
  .rodata : { *(.rodata*) }
  . = ALIGN(CONSTANT(MAXPAGESIZE)) + (. & (CONSTANT(MAXPAGESIZE) - 1));
  .data : { *(.data*) }
  .bss : { *(.bss*) }
  /DISCARD/ : { *(.note*) *(.comment) }
}
"""


def test_freestanding_program_runs(tmp_path):
    src = _write(tmp_path, "fs.s", FREESTANDING_S)
    obj = str(tmp_path / "fs.o")
    run(["gcc", "-c", src, "-o", obj])
    script = _write(tmp_path, "fs.ld", FREESTANDING_LD)
    bfd, ours = _link_both(tmp_path, ["-T", script, obj])
    assert _sections(ours) == _sections(bfd)
    assert _symbols(ours) == _symbols(bfd)
    r = subprocess.run([ours], capture_output=True, text=True, timeout=30)
    assert r.stdout == "freestanding ok\n" and r.returncode == 7


HOSTED_C = r"""
#include <stdio.h>
__attribute__((section(".mysec"), used)) int tagged = 42;
int main(void) { printf("tagged %d\n", tagged); return 0; }
"""


def _hosted(tmp_path, extra, name):
    src = _write(tmp_path, "hosted.c", HOSTED_C)
    out = str(tmp_path / name)
    run(["gcc", "-no-pie", src, *extra, "-B", shim_dir(), "-o", out])
    r = subprocess.run([out], capture_output=True, text=True, timeout=30)
    assert r.stdout == "tagged 42\n"
    return out


def test_insert_after_places_section_like_bfd(tmp_path):
    script = _write(tmp_path, "ins.ld", "SECTIONS { .mysec : { KEEP(*(.mysec)) } } INSERT AFTER .data;\n")
    out = _hosted(tmp_path, ["-Wl,-T," + script], "ins")
    names = [s[0] for s in _sections(out)]
    assert names.index(".mysec") == names.index(".data") + 1
    bfd = str(tmp_path / "ins.bfd")
    run(["gcc", "-no-pie", str(tmp_path / "hosted.c"), "-Wl,-T," + script, "-fuse-ld=bfd", "-o", bfd])
    bnames = [s[0] for s in _sections(bfd)]
    assert bnames.index(".mysec") == bnames.index(".data") + 1


def test_ttext_and_section_start(tmp_path):
    out = _hosted(tmp_path, ["-Wl,-Ttext=0x500000", "-Wl,--section-start=.mysec=0x900000"],
                  "tt")
    secs = {s[0]: int(s[2], 16) for s in _sections(out)}
    assert secs[".text"] == 0x500000 and secs[".mysec"] == 0x900000


ROUND_TRIP_C = r"""
#include <stdio.h>
#include <string.h>
__thread int tls_init = 40;
__thread char tls_zero[24];
static int ctor_ran;
__attribute__((constructor)) static void init(void) { ctor_ran = 1; }
__attribute__((section(".mysec"), used)) int tagged = 42;
int main(void) {
  tls_zero[3] = 2;
  printf("tagged %d tls %d ctor %d len %zu\n", tagged, tls_init + tls_zero[3], ctor_ran,
         strlen("four"));       /* strlen: an IFUNC, IRELATIVE in static links */
  return 0;
}
"""

ROUND_TRIP_LIB_C = r"""
#include <stdio.h>
__thread int tls_var = 5;
static int counter;
int get(void) { return tls_var + counter++; }
void hello(void) { printf("lib %d\n", get()); }
"""

_LD_MODE = {"-no-pie": [], "-pie": ["-pie"], "-static": ["-static"],
            "-static-pie": ["-static", "-pie", "--no-dynamic-linker"], "-shared": ["-shared"]}


@pytest.mark.parametrize("mode", ["-no-pie", "-pie", "-static", "-static-pie", "-shared"])
def test_verbose_default_script_round_trip(tmp_path, mode):
    """`ldpy --verbose` prints the default script; -T of it links the same
    (IRELATIVE relocations between __rela_iplt_start/end, TLS, init arrays)."""
    text = run([*LDPY, "--verbose", *_LD_MODE[mode]]).stdout
    script = text.split("=" * 50 + "\n")[1]
    path = _write(tmp_path, "default.ld", script)
    shared = mode == "-shared"
    src = _write(tmp_path, "rt.c", ROUND_TRIP_LIB_C if shared else ROUND_TRIP_C)
    outs = []
    for name, extra in (("plain", []), ("scripted", ["-Wl,-T," + path])):
        out = str(tmp_path / name)
        run(["gcc", mode, *(["-fPIC"] if shared else []), src, *extra, "-B", shim_dir(), "-o", out])
        if not shared:
            r = subprocess.run([out], capture_output=True, text=True, timeout=30)
            assert r.stdout == "tagged 42 tls 42 ctor 1 len 4\n", (name, r.stdout, r.returncode)
        outs.append(out)
    plain, scripted = outs
    assert _sections(scripted) == _sections(plain)
    assert _phdrs(scripted) == _phdrs(plain)
    assert _symbols(scripted) == _symbols(plain)
    assert run(["readelf", "-rW", scripted]).stdout == run(["readelf", "-rW", plain]).stdout


def test_broken_scripts_fail_cleanly(tmp_path):
    """Mutated scripts: a one-line error or a link, never a traceback."""
    obj = _compile(tmp_path, "emb.c", EMBEDDED_C)
    base = EMBEDDED_LD % {"ram": "64K"}
    rng = random.Random(1234)
    tokens = ["{", "}", "(", ")", ";", ":", "=", ">", "AT", "ALIGN(", "SECTIONS", "MEMORY", ",",
              "*", "/*", "\"", "0x", "KEEP(", ". =", "\0"]
    for i in range(25):
        text = list(base)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(text))
            op = rng.random()
            if op < 0.4:
                del text[pos:pos + rng.randint(1, 8)]
            elif op < 0.8:
                text.insert(pos, rng.choice(tokens))
            else:
                text = text[:pos]
        script = _write(tmp_path, f"m{i}.ld", "".join(text))
        out = tmp_path / f"m{i}.out"
        r = run([*LDPY, "-T", script, obj, "-o", str(out)], check=False, timeout=60)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, (r.stderr, "".join(text))
        if r.returncode:
            assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
            assert not out.exists()
