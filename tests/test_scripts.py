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


def test_print_memory_usage_like_bfd(tmp_path):
    obj = _compile(tmp_path, "emb.c", EMBEDDED_C)
    script = _write(tmp_path, "emb.ld", EMBEDDED_LD % {"ram": "64K"})
    rb = run(["ld.bfd", "-T", script, obj, "-o", str(tmp_path / "b"), "--print-memory-usage"])
    r = run([*LDPY, "-T", script, obj, "-o", str(tmp_path / "l"), "--print-memory-usage"])
    assert r.stdout == rb.stdout and "FLASH:" in r.stdout


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


def test_overlay_load_addresses_like_bfd(tmp_path):
    """OVERLAY: one run address; the first member loads at AT().  ld.bfd
    always makes empty .got/.got.plt/.igot.plt sections, which land (as
    orphans) between the two members: the second member's VMA is then below
    the last section's and ld.bfd leaves its LMA = VMA ("dot moved
    backwards").  The overlay's own PROVIDEs of __load_start_X come first, so
    the script's later PROVIDE(... = 0) is what the symbols end up with."""
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
    bfd, ours = _link_both(tmp_path, ["-T", script, obj, "--defsym", "use_a=__load_start_ov_a",
                                      "--defsym", "use_b=__load_stop_ov_b"])
    _assert_same_layout(bfd, ours)
    lmas = {n: (int(v, 16), int(l, 16)) for n, v, l in _lmas(ours)}
    assert lmas[".ov_a"] == (0x600000, 0x500000)
    assert lmas[".ov_b"] == (0x600000, 0x600000)


OVERLAY_C = r"""
__attribute__((section(".ov1"))) int ov1_data[3] = {1, 2, 3};
__attribute__((section(".ov1.text"))) int ov1_fn(void) { return ov1_data[1]; }
__attribute__((section(".ov2"))) int ov2_data[5] = {5, 6, 7, 8, 9};
__attribute__((section(".ov2.text"))) int ov2_fn(void) { return ov2_data[4]; }
int plain_data = 4;
int bss_var;
void _start(void) { for (;;); }
"""

OVERLAY_LD = """
ENTRY(_start)
SECTIONS {
  . = 0x400000;
  .text : { *(.text) }
  OVERLAY 0x600000 %(at)s {
    .ovl1 { *(.ov1) *(.ov1.text) }
    .ovl2 { *(.ov2) *(.ov2.text) }
  }
  .data 0x700000 : { *(.data) }
  .bss : { *(.bss) }
  /DISCARD/ : { *(.comment) *(.note*) }
}
"""


@pytest.mark.parametrize("script", [
    # members load one after the other from AT(); the LMA of .ovl2 is not aligned
    # (an overlay member's LMA follows the previous one's end); .data has an address
    # but keeps the VMA/LMA difference of the section before it
    OVERLAY_LD % {"at": ": AT(0x500000)"},
    # no AT: the first member loads at its VMA, the second after it
    OVERLAY_LD % {"at": ":"},
    # SUBALIGN sets every member input's alignment, a fill for one member
    OVERLAY_LD.replace("%(at)s {", ": AT(0x500000) SUBALIGN(32) {").replace(
        "*(.ov2.text) }", "*(.ov2.text) } =0x90909090").replace(".data 0x700000 :", ".data :"),
    # memory regions: the overlay runs in RAM and loads in FLASH, one member after
    # the other; .data then loads after them, .bss takes .data's AT> region
    """MEMORY { FLASH (rx) : ORIGIN = 0x10000000, LENGTH = 64K
              RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K }
    ENTRY(_start)
    SECTIONS {
      .text : { *(.text) } >FLASH
      OVERLAY : NOCROSSREFS {
        .ovl1 { *(.ov1) *(.ov1.text) }
        .ovl2 { *(.ov2) *(.ov2.text) }
      } >RAM AT>FLASH
      .data : { *(.data) } >RAM AT>FLASH
      .bss : { *(.bss) } >RAM
      /DISCARD/ : { *(.comment) *(.note*) }
    }""",
    # an empty first member still carries the AT(); no .bss statement: the .bss
    # orphan goes after .data, ld.bfd's own .got after .data but before it
    """ENTRY(_start)
    SECTIONS {
      . = 0x400000;
      .text : { *(.text) }
      OVERLAY 0x600000 : AT(0x500000) {
        .ovl0 { *(.nothing) }
        .ovl1 { *(.ov1) *(.ov1.text) }
        .ovl2 { *(.ov2) *(.ov2.text) }
      }
      .data : { *(.data) }
      /DISCARD/ : { *(.comment) *(.note*) }
    }""",
], ids=["at", "no-at", "subalign-fill", "regions", "empty-first"])
def test_overlay_variants_match_bfd(tmp_path, script):
    obj = _compile(tmp_path, "ov.c", OVERLAY_C)
    path = _write(tmp_path, "ov.ld", script)
    bfd, ours = _link_both(tmp_path, ["-T", path, obj])
    _assert_same_layout(bfd, ours)
    _assert_same_contents(bfd, ours, (".ovl1", ".ovl2", ".data"))


def _assert_same_contents(bfd, ours, names):
    with open(bfd, "rb") as a, open(ours, "rb") as b:
        da, db = a.read(), b.read()
    for name, typ, addr, off, size, _, _ in _sections(bfd):
        if name in names and typ != "NOBITS":
            o, n = int(off, 16), int(size, 16)
            assert da[o:o + n] == db[o:o + n], name


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


INSERT_BASE_LD = """
ENTRY(_start)
SECTIONS
{
  . = 0x400000 + SIZEOF_HEADERS;
  .text : { *(.text*) }
  .rodata : { *(.rodata*) }
  . = ALIGN(0x1000) + (. & 0xfff);
  .data : { *(.data*) }
  .bss : { *(.bss*) *(COMMON) }
  /DISCARD/ : { *(.comment) }
}
"""

INSERT_C = r"""
__attribute__((section(".table"))) int table[2] = {1, 2};
__attribute__((section(".ctable"))) const int ctable[2] = {3, 4};
__attribute__((section(".ov1"))) int o1 = 5;
__attribute__((section(".ov2"))) int o2[3] = {6, 7, 8};
"""


@pytest.mark.parametrize("overlay", [False, True], ids=["table", "table-overlay"])
def test_insert_into_user_script_like_bfd(tmp_path, overlay):
    """INSERT AFTER/BEFORE into a -T script's SECTIONS (ld.bfd wants the INSERT
    scripts first), with an OVERLAY inserted too."""
    obj = _syscall_obj(tmp_path)
    extra = _compile(tmp_path, "ins.c", INSERT_C)
    ins = _write(tmp_path, "ins.ld", """
    SECTIONS {
      .table : { table_start = .; KEEP(*(.table)) table_end = .; }
    """ + ("OVERLAY : AT(0x900000) { .ov1 { *(.ov1*) } .ov2 { *(.ov2*) } }" if overlay else "") + """
    } INSERT AFTER .data;""")
    ins2 = _write(tmp_path, "ins2.ld", "SECTIONS { .early : { *(.ctable) } } INSERT BEFORE .rodata;\n")
    base = _write(tmp_path, "base.ld", INSERT_BASE_LD)
    bfd, ours = _link_both(tmp_path, ["-T", ins, "-T", ins2, "-T", base, obj, extra])
    _assert_same_layout(bfd, ours)
    names = [s[0] for s in _sections(ours)]
    assert names.index(".early") + 1 == names.index(".rodata")
    assert names.index(".data") < names.index(".table")
    if not overlay:              # (the .ov1/.ov2 orphans go between, as ld.bfd puts them)
        _runs(ours)


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


SYSCALL_C = r"""
static long sys3(long n, long a, long b, long c)
{
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
const char greeting[] = "script ok\n";
int counter = 7;
int zeroed[4];
void _start(void)
{
  sys3(1, 1, (long)greeting, sizeof greeting - 1);
  sys3(60, counter + zeroed[2], 0, 0);
  for (;;);
}
"""


def _syscall_obj(tmp_path):
    return _compile(tmp_path, "sc.c", SYSCALL_C, ("-fno-stack-protector",))


def _runs(path):
    r = subprocess.run([path], capture_output=True, text=True, timeout=30)
    assert (r.stdout, r.returncode) == ("script ok\n", 7), (path, r.stdout, r.returncode)


def _entry(path):
    out = run(["readelf", "-hW", path]).stdout
    return re.search(r"Entry point address:\s+(\S+)", out).group(1)


CODE_FIRST_LD = """
ENTRY(_start)
SECTIONS
{
  . = SEGMENT_START("text-segment", 0x400000) + SIZEOF_HEADERS;
  .text : { *(.text*) }
  .rodata : { *(.rodata*) }
  . = ALIGN(CONSTANT(MAXPAGESIZE)) + (. & (CONSTANT(MAXPAGESIZE) - 1));
  .data : { *(.data*) }
  .bss : { *(.bss*) *(COMMON) }
  /DISCARD/ : { *(.comment) }
}
"""


@pytest.mark.parametrize("extra", [[], ["-Ttext-segment=0x600000"], ["-z", "noseparate-code"],
                                   ["-z", "max-page-size=0x200000"]],
                         ids=["default", "text-segment", "noseparate-code", "2M-pages"])
def test_code_first_after_headers_like_bfd(tmp_path, extra):
    """Code right after the headers: with -z separate-code (the default) ld.bfd
    loads the ELF and program headers in a read-only PT_LOAD of their own,
    whose p_paddr is a page below when they share the code's page."""
    obj = _syscall_obj(tmp_path)
    script = _write(tmp_path, "cf.ld", CODE_FIRST_LD)
    bfd, ours = _link_both(tmp_path, ["-T", script, obj, *extra])
    _assert_same_layout(bfd, ours)
    assert _entry(ours) == _entry(bfd)
    _runs(ours)
    loads = [r for r in _phdrs(ours)[0] if r[0] == "LOAD"]
    if not extra:
        # the header segment: file offset 0, not executable, loaded a page below
        assert loads[0][1] == "0x000000" and loads[0][6] == "R"
        assert int(loads[0][3], 16) == int(loads[0][2], 16) - 0x1000


PHDRS_SCRIPTS = {
    # the GNU ld manual's layout: PT_PHDR, a text segment with the headers, data
    "manual": """
ENTRY(_start)
PHDRS
{
  headers PT_PHDR PHDRS ;
  text PT_LOAD FILEHDR PHDRS ;
  data PT_LOAD ;
  stack PT_GNU_STACK FLAGS(6) ;
}
SECTIONS
{
  . = 0x400000 + SIZEOF_HEADERS;
  .text : { *(.text*) } :text
  .rodata : { *(.rodata*) }
  . = ALIGN(0x1000) + (. & 0xfff);
  .data : { *(.data*) } :data
  .bss : { *(.bss*) *(COMMON) }
  /DISCARD/ : { *(.comment) *(.note.GNU-stack) }
}""",
    # headers alone, FLAGS, AT() moving a data segment's load address (ld.bfd moves
    # the sections' LMAs with a warning), a section in two segments
    "flags-at": """
ENTRY(_start)
PHDRS
{
  hdr PT_LOAD FILEHDR PHDRS FLAGS(4);
  text PT_LOAD FLAGS(5);
  rodata PT_LOAD;
  data PT_LOAD FLAGS(6) AT(0x800000);
  note PT_NOTE;
}
SECTIONS
{
  . = 0x400000 + SIZEOF_HEADERS;
  .text ALIGN(0x1000) : { *(.text*) } :text
  .rodata ALIGN(0x1000) : { *(.rodata*) } :rodata
  .note.gnu.property : { *(.note.gnu.property) } :rodata :note
  . = ALIGN(0x1000) + (. & 0xfff);
  .data : { *(.data*) } :data
  .bss : { *(.bss*) *(COMMON) }
  /DISCARD/ : { *(.comment) }
}""",
}


@pytest.mark.parametrize("name", sorted(PHDRS_SCRIPTS))
def test_phdrs_scripts_match_bfd(tmp_path, name):
    obj = _syscall_obj(tmp_path)
    script = _write(tmp_path, "ph.ld", PHDRS_SCRIPTS[name])
    bfd, ours = _link_both(tmp_path, ["-T", script, obj])
    _assert_same_layout(bfd, ours)
    _runs(ours)


def test_phdrs_phdr_not_loaded_is_an_error(tmp_path):
    obj = _syscall_obj(tmp_path)
    script = _write(tmp_path, "bad.ld", """
    PHDRS { text PT_LOAD; data PT_LOAD; phdr PT_PHDR PHDRS; }
    SECTIONS {
      . = 0x500000;
      .text : { *(.text*) *(.rodata*) } :text
      . = 0x600000;
      .data : { *(.data*) *(.bss*) } :data
    }""")
    r = run(["ld.bfd", "-T", script, obj, "-o", str(tmp_path / "b")], check=False)
    assert r.returncode != 0 and "PHDR segment not covered by LOAD segment" in r.stderr
    out = tmp_path / "l"
    r = run([*LDPY, "-T", script, obj, "-o", str(out)], check=False)
    assert r.returncode == 1 and "PHDR segment not covered by LOAD segment" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("script", [
    # .bss after a section with an address and AT(): ld.bfd's empty .got sections
    # (alignment 8) sit in between and round the LMA up; .bss gets its own segment
    """SECTIONS {
      .text 0x10000 : AT(0x90000) { *(.text*) }
      .rodata : { *(.rodata*) }
      .data 0x20000 : AT(LOADADDR(.rodata) + SIZEOF(.rodata)) { *(.data*) }
      .bss : { *(.bss*) *(COMMON) }
      _end = .;
      /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame) }
    }""",
    # the same difference VMA/LMA without the rounding: one segment
    """SECTIONS {
      .text 0x10000 : AT(0x90000) { *(.text*) }
      .rodata : { *(.rodata*) }
      .data 0x20000 : AT(0x90100) { *(.data*) }
      .bss : { *(.bss*) *(COMMON) }
      /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame) }
    }""",
    # a section with an address but no AT keeps the previous section's VMA/LMA difference
    """SECTIONS {
      .text 0x10000 : AT(0x90000) { *(.text*) }
      .data 0x20000 : { *(.data*) }
      .bss : { *(.bss*) }
      /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame) }
    }""",
    # MEMORY: .bss (>RAM, no AT) takes .data's AT> region: its LMA is FLASH's
    # current address, unaligned, in a segment of its own
    """MEMORY { FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 256K
              RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K }
    SECTIONS {
      .text : { *(.text*) *(.rodata*) } >FLASH
      .data : { *(.data*) } >RAM AT> FLASH
      .bss : { *(.bss*) *(COMMON) } >RAM
      /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame) }
    }""",
], ids=["at-bss", "at-aligned", "address-no-at", "memory-at-region"])
def test_nobits_after_lma_section_like_bfd(tmp_path, script):
    obj = _compile(tmp_path, "plain.c", PLAIN_C + "long long big_bss __attribute__((aligned(16)));\n")
    path = _write(tmp_path, "s.ld", script)
    bfd, ours = _link_both(tmp_path, ["-T", path, obj])
    _assert_same_layout(bfd, ours)
    assert _entry(ours) == _entry(bfd)


CONSTRAINT_C = r"""
__attribute__((section(".table"))) %s int table[2] = {1, 2};
__attribute__((section(".ctable"))) const int ctable[2] = {3, 4};
int d = 5;
void _start(void) { for (;;); }
"""

CONSTRAINT_LD = """
ENTRY(_start)
SECTIONS {
  . = 0x400000;
  .text : { *(.text) }
  .table : ONLY_IF_RO { ro_start = .; *(.table) *(.ctable) }
  .table : ONLY_IF_RW { rw_start = .; *(.table) }
  .ctab : ONLY_IF_RO { *(.ctable) }
  .ctab : ONLY_IF_RW { *(.ctable) }
  .data : { *(.data) }
  /DISCARD/ : { *(.comment) *(.note*) }
}
"""


@pytest.mark.parametrize("const", ["", "const"], ids=["writable", "read-only"])
def test_only_if_ro_rw_like_bfd(tmp_path, const):
    """A description whose input sections are not all read-only (ONLY_IF_RO) or
    not all writable (ONLY_IF_RW) is dropped with its assignments; the next
    description of that name takes the sections."""
    obj = _compile(tmp_path, "c.c", CONSTRAINT_C % const)
    script = _write(tmp_path, "c.ld", CONSTRAINT_LD)
    bfd, ours = _link_both(tmp_path, ["-T", script, obj])
    _assert_same_layout(bfd, ours)
    syms = _symbols(ours)
    assert any(l.endswith(" rw_start") for l in syms) == (const == "")
    assert any(l.endswith(" ro_start") for l in syms) == (const == "const")


CROSSREF_C = r"""
__attribute__((section(".ov1.text"), noinline)) int ov1_fn(void) { return 1; }
__attribute__((section(".ov2.text"))) int ov2_fn(void) { return ov1_fn() + 1; }
void _start(void) { for (;;); }
"""


@pytest.mark.parametrize("head, bad", [
    ("NOCROSSREFS(.ovl1 .ovl2)", True),
    ("NOCROSSREFS_TO(.ovl1 .ovl2)", True),      # .ovl2 may not refer to .ovl1
    ("NOCROSSREFS_TO(.ovl2 .ovl1)", False),     # the other direction is allowed
    ("", False),
])
def test_nocrossrefs_like_bfd(tmp_path, head, bad):
    obj = _compile(tmp_path, "x.c", CROSSREF_C, ("-fno-stack-protector",))
    script = _write(tmp_path, "x.ld", head + """
    SECTIONS { . = 0x400000; .text : { *(.text) } .ovl1 : { *(.ov1.text) } .ovl2 : { *(.ov2.text) }
               /DISCARD/ : { *(.comment) *(.note*) } }""")
    rb = run(["ld.bfd", "-T", script, obj, "-o", str(tmp_path / "b")], check=False)
    out = tmp_path / "l"
    r = run([*LDPY, "-T", script, obj, "-o", str(out)], check=False)
    assert (rb.returncode != 0) == bad and (r.returncode != 0) == bad, (rb.stderr, r.stderr)
    if bad:
        assert "prohibited cross reference from .ovl2 to `ov1_fn' in .ovl1" in rb.stderr
        assert re.fullmatch(r"ldpy: error: \S*x\.o:\(\.ov2\.text\+0x[0-9a-f]+\): prohibited cross "
                            r"reference from \.ovl2 to 'ov1_fn' in \.ovl1\n", r.stderr), r.stderr
        assert not out.exists()


def test_overlay_nocrossrefs_like_bfd(tmp_path):
    obj = _compile(tmp_path, "x.c", CROSSREF_C, ("-fno-stack-protector",))
    script = _write(tmp_path, "x.ld", """
    SECTIONS { . = 0x400000; .text : { *(.text) }
      OVERLAY 0x600000 : NOCROSSREFS AT(0x500000) { .ovl1 { *(.ov1.text) } .ovl2 { *(.ov2.text) } }
      /DISCARD/ : { *(.comment) *(.note*) } }""")
    rb = run(["ld.bfd", "-T", script, obj, "-o", str(tmp_path / "b")], check=False)
    r = run([*LDPY, "-T", script, obj, "-o", str(tmp_path / "l")], check=False)
    assert rb.returncode != 0 and r.returncode == 1
    assert "prohibited cross reference from .ovl2 to 'ov1_fn' in .ovl1" in r.stderr


TYPES_C = r"""
int d1 = 1;
__attribute__((section(".noinit"))) int keep_me[4];
__attribute__((section(".cfg"))) const int cfg[2] = {7, 8};
__attribute__((section(".info"))) const char info[] = "info-section";
__attribute__((section(".dsect"))) const int ds[3] = {1, 2, 3};
void _start(void) { for (;;); }
"""


def test_section_types_noload_copy_info_dsect_like_bfd(tmp_path):
    """(NOLOAD) is NOBITS, allocated; (COPY), (INFO), (DSECT) are not allocated
    but still get addresses and move `.`."""
    obj = _compile(tmp_path, "ty.c", TYPES_C)
    script = _write(tmp_path, "ty.ld", """
    ENTRY(_start)
    SECTIONS {
      . = 0x400000 + SIZEOF_HEADERS;
      .text : { *(.text*) }
      .cfg (COPY) : { *(.cfg) }
      .dsect (DSECT) : { *(.dsect) }
      .info (INFO) : { *(.info) }
      . = ALIGN(0x1000);
      .data : { *(.data*) }
      .noinit (NOLOAD) : { *(.noinit) }
      after_noinit = .;
      .bss : { *(.bss*) }
      /DISCARD/ : { *(.note*) *(.comment) }
    }""")
    bfd, ours = _link_both(tmp_path, ["-T", script, obj])
    _assert_same_layout(bfd, ours)
    secs = {s[0]: s for s in _sections(ours)}
    assert secs[".noinit"][1] == "NOBITS" and secs[".cfg"][5] == ""


def test_parser_forms_reach_the_engine_like_bfd(tmp_path):
    """What the rewritten parser produces, linked like ld.bfd: quoted symbol
    names in expressions, EXCLUDE_FILE inside a list (only the next pattern),
    SORT(CONSTRUCTORS), SPECIAL, and an OVERLAY with SUBALIGN."""
    a = _compile(tmp_path, "a.c", """
int a_data = 1;
__attribute__((section(".keep"))) int a_keep = 2;
__attribute__((section(".rodata.x"))) const int a_ro = 3;
void _start(void) { for (;;); }
""")
    b = _compile(tmp_path, "b.c", """
int b_data = 4;
__attribute__((section(".keep"))) int b_keep = 5;
__attribute__((section(".rodata.x"))) const int b_ro = 6;
""")
    script = _write(tmp_path, "q.ld", """
    ENTRY(_start)
    SECTIONS {
      . = 0x400000;
      .text : { *(.text) }
      .sel : { *(EXCLUDE_FILE(*b.o) .keep .rodata.x) }
      .rest : { *(.keep) *(.rodata.x) }
      .data : { *(.data) SORT(CONSTRUCTORS) }
      "quoted sym" = ADDR(.sel) + 4;
      uses_quoted = "quoted sym" + 1;
      .special : SPECIAL { *(.bss) }
      OVERLAY : SUBALIGN(64) { .o1 { *(.nothing) LONG(1) } .o2 { LONG(2) } }
      /DISCARD/ : { *(.comment) *(.note*) }
    }""")
    bfd, ours = _link_both(tmp_path, ["-T", script, a, b])
    _assert_same_layout(bfd, ours)
    syms = {l.split()[2]: int(l.split()[0], 16) for l in _symbols(ours) if len(l.split()) == 3}
    sel, size = next((int(s[2], 16), int(s[4], 16)) for s in _sections(ours) if s[0] == ".sel")
    # b.o's .keep is excluded from .sel, its .rodata.x is not
    assert sel <= syms["b_ro"] < sel + size and not sel <= syms["b_keep"] < sel + size


def _map_assignments(text):
    """The assignment lines of a link map (not the symbols of input sections)."""
    body = text.split("Linker script and memory map", 1)[1]
    return [l for l in body.splitlines() if re.match(r" {16}(0x[0-9a-f]{16}|\[!provide\]) {16}", l)
            and not re.match(r" {16}0x[0-9a-f]{16} {16}[A-Za-z_][\w.]*$", l)]


EMBEDDED_MAP_LD = EMBEDDED_LD.replace("  .bss : {", """  PROVIDE(__data_start_copy = _sdata);
  counter_end = _edata + 0x10;
  .bss : {""")


def test_map_lists_script_assignments_like_bfd(tmp_path):
    """-Map: every assignment of the script where it is in the memory map, with
    the value (`.` after it for `.` assignments, the symbol's value), unused
    PROVIDEs as [!provide], ASSERTs with their condition, expressions printed
    as ld.bfd prints them."""
    obj = _compile(tmp_path, "emb.c", EMBEDDED_C)
    script = _write(tmp_path, "emb.ld", EMBEDDED_MAP_LD % {"ram": "64K"})
    bfd, ours = _link_both(tmp_path, ["-T", script, obj, "-Map", str(tmp_path / "MAP")], name="m")
    ours_map = (tmp_path / "MAP").read_text()
    run(["ld.bfd", "-T", script, obj, "-o", str(tmp_path / "m2"), "-Map", str(tmp_path / "BFD")])
    bfd_map = (tmp_path / "BFD").read_text()

    got, want = _map_assignments(ours_map), _map_assignments(bfd_map)
    assert got == want
    assert "                0x0000000020000000                _sdata = ." in got
    assert "                [!provide]                        PROVIDE (unused_provide = 0x1)" in got
    # and in place: the assignments of .data come right after its header
    lines = ours_map.splitlines()
    i = next(k for k, l in enumerate(lines) if l.startswith(".data "))
    assert "load address 0x00000000080" in lines[i]
    assert lines[i + 2].endswith("_sdata = .")


def _section_names(path):
    return re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", run(["readelf", "-SW", path]).stdout, re.M)


@pytest.mark.parametrize("mode", ["-no-pie", "-static"])
def test_bfd_default_script_through_ldpy(tmp_path, mode):
    """ld.bfd's own default script (`ld.bfd --verbose`) given to ldpy with -T:
    the program runs, and its orphans (.note.gnu.property after .interp, the
    other notes after the last note of their alignment) land where ld.bfd puts
    them, so the notes make the same PT_NOTE segments."""
    text = run(["ld.bfd", "--verbose", *(["-static"] if mode == "-static" else [])]).stdout
    script = _write(tmp_path, "bfd.ld", text.split("=" * 50 + "\n")[1])
    src = _write(tmp_path, "rt.c", ROUND_TRIP_C)
    outs = {}
    for linker, sel in (("ldpy", ["-B", shim_dir()]), ("bfd", ["-fuse-ld=bfd"])):
        out = outs[linker] = str(tmp_path / linker)
        run(["gcc", mode, src, "-Wl,-T," + script, *sel, "-o", out])
        r = subprocess.run([out], capture_output=True, text=True, timeout=30)
        assert r.stdout == "tagged 42 tls 42 ctor 1 len 4\n", (linker, r.stdout)
    notes = [n for n in _section_names(outs["bfd"]) if n.startswith(".note")]
    assert [n for n in _section_names(outs["ldpy"]) if n.startswith(".note")] == notes
    if mode == "-no-pie":
        assert _section_names(outs["ldpy"]) == _section_names(outs["bfd"])
        assert _phdrs(outs["ldpy"])[1] == _phdrs(outs["bfd"])[1]      # section to segment map


MIXED_C = r"""
int d1 = 1, d2 = 2;
int b1, b2[10];
const int r1[3] = {3, 4, 5};
__attribute__((section(".fast"))) int fast_fn(int x) { return x * 3 + d1; }
__attribute__((section(".tbl"))) int tbl[5] = {1};
__attribute__((section(".noinit"))) int noinit_v[8];
__attribute__((section(".cst"))) const char cst[] = "xyz";
int f(void) { return d1 + d2 + b1 + b2[3] + r1[1] + tbl[0] + cst[1]; }
void _start(void) { f(); for (;;); }
"""


def _mixed_script(seed):
    """A script from a seeded mix of the constructs embedded scripts use:
    MEMORY or a start address, SIZEOF_HEADERS, addresses, AT, AT>, ALIGN,
    SUBALIGN, data commands, symbols, OVERLAY; the inputs leave orphans."""
    rng = random.Random(seed)
    mem = rng.random() < 0.4
    out = []
    if mem:
        out.append("MEMORY { FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 1M\n"
                   "         RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 256K }")
    out.append("ENTRY(_start)\nSECTIONS {")
    if not mem:
        out.append(rng.choice(["  . = 0x400000;", "  . = 0x400000 + SIZEOF_HEADERS;",
                               '  . = SEGMENT_START("text-segment", 0x400000) + SIZEOF_HEADERS;',
                               "  . = 0x10000;"]))
    rt, rd, rb = (" >FLASH", " >RAM AT>FLASH", " >RAM") if mem else ("", "", "")
    out.append(f"  .text : {{ *(.text*) {rng.choice(['', '. = ALIGN(16);', 'etext_sym = .;'])} }}{rt}")
    if rng.random() < 0.5:
        out.append(f"  .fast {rng.choice(['', '0x30000', 'ALIGN(64)'])} : "
                   f"{rng.choice(['', 'AT(0x90000)'])} {{ *(.fast) }}{rd if rng.random() < 0.5 else rt}")
    if rng.random() < 0.7:
        out.append(f"  .rodata : {{ *(.rodata*) {rng.choice(['', '*(.cst)'])} }}{rt}")
    if not mem and rng.random() < 0.6:
        out.append(rng.choice(["  . = ALIGN(0x1000);", "  . = 0x600000;", "  sym_mid = .;",
                               "  . = ALIGN(CONSTANT(MAXPAGESIZE)) + (. & (CONSTANT(MAXPAGESIZE) - 1));"]))
    out.append(f"  .data {rng.choice(['', '0x700000', 'ALIGN(32)'])} : "
               f"{rng.choice(['', 'AT(0x80000)', 'SUBALIGN(16)'])} {{ sdata = .; *(.data*) "
               f"{rng.choice(['', '*(.tbl)', 'LONG(0x11223344)'])} edata = .; }}{rd}")
    if rng.random() < 0.7:
        out.append(f"  .bss : {{ *(.bss*) *(COMMON) {rng.choice(['', '. = ALIGN(8);'])} }}{rb}")
    if rng.random() < 0.3:
        out.append(f"  OVERLAY {rng.choice(['0x800000', ''])} : {rng.choice(['', 'AT(0xa00000)'])} "
                   f"{{ .o1 {{ *(.tbl) }} .o2 {{ *(.cst) }} }}{rd}")
    out.append(rng.choice(["  _end = .;", "  PROVIDE(end = .);", ""]))
    out.append("  /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame) }\n}")
    return "\n".join(out)


@pytest.mark.parametrize("seed", [2, 9, 11, 15, 19, 31, 33, 53, 56, 58, 94, 194, 222])
def test_mixed_scripts_match_bfd(tmp_path, seed):
    """Seeded scripts mixing addresses, LMAs, regions, overlays and orphans
    (.fast, .cst, .tbl, .noinit, .bss when not named): the same layout as
    ld.bfd, or an error from both."""
    obj = _compile(tmp_path, "mixed.c", MIXED_C, ("-fno-stack-protector",))
    path = _write(tmp_path, "mixed.ld", _mixed_script(seed))
    rb = run(["ld.bfd", "-T", path, obj, "-o", str(tmp_path / "b"), "-Map", str(tmp_path / "b.map")],
             check=False)
    out = tmp_path / "l"
    r = run([*LDPY, "-T", path, obj, "-o", str(out), "-Map", str(tmp_path / "l.map")], check=False)
    assert "Traceback" not in r.stderr
    if rb.returncode != 0:
        assert r.returncode == 1 and not out.exists(), (rb.stderr, r.stderr)
        return
    assert r.returncode == 0, r.stderr
    _assert_same_layout(str(tmp_path / "b"), str(out))
    assert _entry(str(out)) == _entry(str(tmp_path / "b"))
    assert _map_assignments((tmp_path / "l.map").read_text()) == \
        _map_assignments((tmp_path / "b.map").read_text())


@pytest.mark.parametrize("script", [False, True], ids=["no-script", "default-script"])
def test_symbols_of_empty_sections_like_bfd(tmp_path, script):
    """crtend.o's __TMC_END__ is in .tm_clone_table, empty and not output: ld.bfd
    still gives that section an address at its own alignment (8) after .data."""
    src = _write(tmp_path, "tmc.c", "int x = 1;\nint main(void) { return x - 1; }\n")
    extra = []
    if script:
        text = run([*LDPY, "--verbose"]).stdout
        extra = ["-Wl,-T," + _write(tmp_path, "d.ld", text.split("=" * 50 + "\n")[1])]
    vals = {}
    for linker, sel in (("ldpy", ["-B", shim_dir()]), ("bfd", ["-fuse-ld=bfd"])):
        out = str(tmp_path / linker)
        run(["gcc", "-no-pie", src, *sel, *(extra if linker == "ldpy" else []), "-o", out])
        syms = {l.split()[2]: int(l.split()[0], 16) for l in _symbols(out) if len(l.split()) == 3}
        vals[linker] = (syms["__TMC_END__"] - syms["x"], syms["_edata"] - syms["x"])
    assert vals["ldpy"] == vals["bfd"]


def test_reference_to_discarded_section_is_an_error(tmp_path):
    """A symbol in a section /DISCARD/ took cannot be referenced from kept code:
    ld.bfd fails, and so does ldpy, naming the symbol and both sections."""
    obj = _syscall_obj(tmp_path)
    script = _write(tmp_path, "d.ld", "SECTIONS { . = 0x400000; .text : { *(.text) } "
                                      ".rodata : { *(.rodata*) } /DISCARD/ : { *(.data*) } }\n")
    rb = run(["ld.bfd", "-T", script, obj, "-o", str(tmp_path / "b")], check=False)
    assert rb.returncode != 0 and "defined in discarded section `.data'" in rb.stderr
    out = tmp_path / "l"
    r = run([*LDPY, "-T", script, obj, "-o", str(out)], check=False)
    assert r.returncode == 1 and not out.exists()
    assert re.fullmatch(r"ldpy: error: \S*sc\.o:\(\.text\+0x[0-9a-f]+\): 'counter' referenced in "
                        r"section '\.text' of \S*sc\.o: defined in discarded section '\.data' of "
                        r"\S*sc\.o\n", r.stderr), r.stderr


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
