"""A bounded mutation fuzzer: corrupted objects, archives and shared libraries
must either link or fail with a clean ``ldpy: error:`` line: never a traceback
or internal error, never a hang, never a memory blow-up, never an output file
left behind by a failed link.

The corpus is compiled here with gcc/g++: a.o (data, a static string, TLS, a
call to another object), b.o (the callee and _start), c1.o and c2.o (C++ with
the same inline function: COMDAT groups, one copy discarded), libab.a (a.o,
b.o and c1.o under a long member name: symbol index and `//` name table),
m.o + libl.so (a PIE against a shared library with data, TLS and versions).
The targets aarch64, riscv64, i386 and ppc32 compile the same programs with the
cross gcc (ELF32 and big-endian inputs: elfpatch.Elf reads every flavour) and
mutate an object or the shared library of a `-m EMULATION` link.

Each input gets one mutation, chosen among: random bytes anywhere, an ELF
header field, a section header field, a .symtab/.dynsym entry field (st_name,
st_info, st_shndx, st_value, st_size), a .rela entry field (r_offset, the
symbol index and the type of r_info, r_addend), string table bytes (.strtab,
.shstrtab, .dynstr), SHT_GROUP words, .dynamic entries and .gnu.version
entries, truncation; for archives also member header fields (name, size,
fmag, ...), the symbol index (count, member offsets, names), the long-name
table and its references, and any ELF mutation applied to one member in place.
Field values are drawn from boundary values (0, 1, -1, 2^31, 2^32-1, 2^63,
the file size and its neighbours, the field's value plus or minus a little)
and random ones.

Links run in a forked child of this process (ldpy is imported once, so an
iteration costs a fork and a link, not a Python start): the child runs
``ldpy.main.main(argv)`` with LDPY_DEBUG=1, so any exception other than the
linker's own errors propagates and counts as a crash; SIGALRM bounds a hang
and an address-space limit bounds memory (an "out of memory" error counts as a
crash too).

LDPY_FUZZ_ITERATIONS (default 40) sets the inputs per target, LDPY_FUZZ_SEED
the seed; with ``-s`` the test prints, per target, the inputs tried, clean
errors, successful links and crashes, and the mutation kinds that led to each
(LDPY_FUZZ_REPORT=FILE appends the same lines to FILE, e.g. under pytest -n 2).
A long run by hand, about 3 minutes per 2000 inputs and target on one core:

    LDPY_FUZZ_ITERATIONS=2000 LDPY_FUZZ_REPORT=/tmp/fuzz.txt python3 -m pytest -n 2 tests/test_fuzz.py
Crashing inputs are kept in the test's directory (crash-N.*) with their
command line.

Linker scripts and response files (test_mutated_scripts_fail_cleanly) get
token-level mutations instead: one to three of deleting, duplicating, swapping or
replacing a token (by another token of the same text, or by a boundary value,
keyword or punctuation: 2^64, 0xffffffffffffffff, /DISCARD/, .gnu.version_d, a NUL
byte ...), or inserting one.  Scripts: ldpy's own default scripts (`ldpy --verbose`
for an executable, -pie and -shared) and hand-written ones with MEMORY, PHDRS,
OVERLAY, AT and INSERT; response files: a link's arguments with options, quotes,
backslashes, @files (itself, /dev/zero) and output names mixed in.  Each verdict
(links / fails) is compared with ld.bfd's when it is installed: the agreement is
reported, not asserted (ldpy refuses some scripts ld.bfd accepts, and the reverse).
A failed link must leave neither its output nor a temporary `.out.ldpy-*` file.
LDPY_FUZZ_SCRIPT_ITERATIONS (default: LDPY_FUZZ_ITERATIONS) sets the scripts and
response files per target; the report adds the agreement with ld.bfd."""
import io
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import traceback
from collections import Counter

import pytest

from elfpatch import (Elf, ar_members, EHDR, SHDR, SYM, RELA, DYN, SHT_SYMTAB, SHT_STRTAB, SHT_RELA,
                      SHT_REL, SHT_DYNAMIC, SHT_DYNSYM, SHT_GROUP)

ITERATIONS = int(os.environ.get("LDPY_FUZZ_ITERATIONS", "40"))
SEED = int(os.environ.get("LDPY_FUZZ_SEED", "0"))
LINK_TIMEOUT = 30                 # seconds per link: a hang is a crash
MEMORY_HEADROOM = 2 << 30         # bytes of address space a link may add to the test process

A_C = """int counter = 3;
static const char *msg = "fuzzing strings";
__thread int tv = 1;
extern int other(int);
int work(int x) { return other(x) + counter + msg[0] + tv; }
"""
B_C = "int other(int x) { return x * 2; }\nvoid _start(void) { for (;;) ; }\n"
C_CC = "inline int twice(int x) { return 2 * x; }\nextern \"C\" int use_c%d(int x) { return twice(x) + %d; }\n"
LIB_C = """int lib_data = 5; __thread int lib_tls = 2;
__asm__(".symver lib_old, lib_fn@VER_1");
__asm__(".symver lib_new, lib_fn@@VER_2");
int lib_old(int x) { return x; }
int lib_new(int x) { return x + lib_data + lib_tls; }
"""
LIB_MAP = "VER_1 { global: lib_data; lib_tls; local: *; };\nVER_2 { } VER_1;\n"
MAIN_C = "extern int lib_data; int lib_fn(int);\nvoid _start(void) { lib_fn(lib_data); for (;;) ; }\n"
LONG_NAME = "c_member_with_a_long_name.o"


def build_corpus(d, triple=None):
    """The corpus, compiled by the host's gcc or by `triple`-gcc (no archive then)."""
    for name, code in (("a.c", A_C), ("b.c", B_C), ("l.c", LIB_C), ("m.c", MAIN_C),
                       ("c1.cc", C_CC % (1, 1)), ("c2.cc", C_CC % (2, 2)), ("l.map", LIB_MAP)):
        (d / name).write_text(code)

    def sh(*cmd):
        subprocess.run(cmd, cwd=d, check=True, capture_output=True)
    cc, cxx = (f"{triple}-gcc", f"{triple}-g++") if triple else ("gcc", "g++")
    sh(cc, "-O1", "-fno-pie", "-c", "a.c", "b.c")
    sh(cc, "-O1", "-fPIE", "-c", "m.c")
    sh(cxx, "-O0", "-fno-exceptions", "-c", "c1.cc", "c2.cc")
    sh(cc, "-shared", "-fPIC", "-Wl,--version-script=l.map", "l.c", "-o", "libl.so")
    if not triple:
        shutil.copy(d / "c1.o", d / LONG_NAME)
        sh("ar", "rcs", "libab.a", "a.o", "b.o", LONG_NAME)


# -- values -------------------------------------------------------------------------

def interesting(rng, bits, orig=None, size=None):
    """A value for a field of `bits` bits: boundaries, the file size, near the
    original value, or random."""
    top = (1 << bits) - 1
    cands = [0, 1, 2, 7, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
             1 << 40, (1 << 63), top, top - 1, top >> 1]
    if size is not None:
        cands += [size, size - 1, size + 1, size // 2, size - 8]
    if orig is not None:
        cands += [orig + d for d in (-64, -8, -4, -1, 1, 4, 8, 64, 0x1000)] + [orig * 2, orig ^ (1 << rng.randrange(bits))]
    if rng.random() < 0.25:
        return rng.getrandbits(bits)
    return rng.choice(cands) & top


def _set(e, table, base, field, rng):
    bits = e.bits(table, field)
    orig = e.get(table, base, field)
    e.put(table, base, field, interesting(rng, bits, orig if orig >= 0 else orig & ((1 << bits) - 1), len(e.b)))


# -- ELF mutations ---------------------------------------------------------------------

def _sections(e, types):
    try:
        return [i for i in range(e.shnum) if e.shdr(i, "sh_type") in types
                and e.shdr(i, "sh_offset") + e.shdr(i, "sh_size") <= len(e.b)]
    except struct.error:
        return []


def m_bytes(e, rng):
    for _ in range(rng.randint(1, 8)):
        e.b[rng.randrange(len(e.b))] = rng.randrange(256)


def m_ehdr(e, rng):
    field = rng.choice(["e_shoff", "e_shnum", "e_shstrndx", "e_shentsize", "e_type", "e_machine"])
    if field == "e_machine" and rng.random() < 0.8:
        field = "e_shnum"
    _set(e, EHDR, 0, field, rng)


def m_shdr(e, rng):
    i = rng.randrange(e.shnum)
    field = rng.choice(["sh_name", "sh_type", "sh_flags", "sh_offset", "sh_size", "sh_link", "sh_info",
                        "sh_addralign", "sh_entsize", "sh_size", "sh_offset", "sh_link", "sh_info"])
    base = e.shdr_base(i)
    if field == "sh_link" or field == "sh_info":
        if rng.random() < 0.5:      # another section's index: plausible but wrong
            e.put(SHDR, base, field, rng.randrange(e.shnum + 2))
            return
    _set(e, SHDR, base, field, rng)


def m_sym(e, rng):
    tabs = _sections(e, (SHT_SYMTAB, SHT_DYNSYM))
    if not tabs:
        return m_bytes(e, rng)
    t = rng.choice(tabs)
    n = e.shdr(t, "sh_size") // e.symsize
    if not n:
        return m_bytes(e, rng)
    base = e.shdr(t, "sh_offset") + e.symsize * rng.randrange(n)
    field = rng.choice(["st_name", "st_info", "st_other", "st_shndx", "st_shndx", "st_value", "st_size"])
    if field == "st_shndx" and rng.random() < 0.5:
        e.put(SYM, base, field, rng.choice([rng.randrange(e.shnum + 3), 0xfff1, 0xfff2, 0xff02,
                                             0xff00, 0xffff, 0xfff3]))
    elif field == "st_info" and rng.random() < 0.6:
        e.put(SYM, base, field, rng.choice([0, 1, 2, 10]) << 4 | rng.choice([0, 1, 2, 3, 4, 5, 6, 10]))
    else:
        _set(e, SYM, base, field, rng)


# relocation types each machine knows (e_machine -> ranges), for mutations that stay plausible
_RELOC_TYPES = {62: [range(45)], 3: [range(44)], 183: [range(257, 314), range(512, 581), range(1024, 1033)],
                243: [range(62)], 20: [range(116)]}


def m_rela(e, rng):
    secs = _sections(e, (SHT_RELA, SHT_REL))
    if not secs:
        return m_bytes(e, rng)
    s = rng.choice(secs)
    rel = e.shdr(s, "sh_type") == SHT_REL
    size = e.relsize if rel else e.relasize
    n = e.shdr(s, "sh_size") // size
    if not n:
        return m_bytes(e, rng)
    base = e.shdr(s, "sh_offset") + size * rng.randrange(n)
    field = rng.choice(["r_offset", "r_sym", "r_type"] + ([] if rel else ["r_addend"]))
    if field == "r_type" and rng.random() < 0.7:
        types = rng.choice(_RELOC_TYPES.get(e.ehdr("e_machine"), [range(256)]))
        e.put(RELA, base, field, rng.choice(types))       # the machine's known types, mostly
    elif field == "r_sym" and rng.random() < 0.5:
        e.put(RELA, base, field, rng.randrange(64))
    elif field == "r_offset" and rng.random() < 0.5:
        target = e.shdr(s, "sh_info")
        size = e.shdr(target, "sh_size") if target < e.shnum else 0
        e.put(RELA, base, field, rng.choice([size, size - 1, size - 2, size - 4, size + 4, 0, 1 << 63]))
    else:
        _set(e, RELA, base, field, rng)


def m_strtab(e, rng):
    secs = _sections(e, (SHT_STRTAB,))
    if not secs:
        return m_bytes(e, rng)
    s = rng.choice(secs)
    off, size = e.shdr(s, "sh_offset"), e.shdr(s, "sh_size")
    if not size:
        return m_bytes(e, rng)
    r = rng.random()
    if r < 0.3:                   # remove every NUL of the table's tail: unterminated strings
        for p in range(off + rng.randrange(size), off + size):
            if e.b[p] == 0:
                e.b[p] = 0x41
    elif r < 0.5:                 # the first byte (must be NUL) made a letter
        e.b[off] = 0x41
    else:
        for _ in range(rng.randint(1, 4)):
            e.b[off + rng.randrange(size)] = rng.choice([0, 0xff, 0x80, 0x41, rng.randrange(256)])


def m_group(e, rng):
    secs = _sections(e, (SHT_GROUP,))
    if not secs:
        return m_shdr(e, rng)
    g = rng.choice(secs)
    n = e.shdr(g, "sh_size") // 4
    if not n:
        return m_shdr(e, rng)
    k = rng.randrange(n)
    value = rng.choice([0, 1, g, e.shnum, e.shnum - 1, 0xffffffff, rng.randrange(e.shnum + 4),
                        interesting(rng, 32)])
    e.set_group_word(g, k, value)


def m_dynamic(e, rng):
    secs = _sections(e, (SHT_DYNAMIC,))
    if not secs:
        return m_sym(e, rng)
    d = secs[0]
    n = e.shdr(d, "sh_size") // e.dynsize
    if not n:
        return m_bytes(e, rng)
    base = e.shdr(d, "sh_offset") + e.dynsize * rng.randrange(n)
    if rng.random() < 0.3:
        e.put(DYN, base, "d_tag", rng.choice([0, 1, 5, 6, 10, 14, 0x6ffffffc, 0x6ffffffe, 0x6ffffff0]))
    else:
        _set(e, DYN, base, "d_val", rng)


def m_versym(e, rng):
    secs = _sections(e, (0x6fffffff, 0x6ffffffd, 0x6ffffffe))       # versym, verdef, verneed
    if not secs:
        return m_sym(e, rng)
    s = rng.choice(secs)
    off, size = e.shdr(s, "sh_offset"), e.shdr(s, "sh_size")
    if size < 2:
        return m_bytes(e, rng)
    p = off + 2 * rng.randrange(size // 2)
    struct.pack_into(e.order + "H", e.b, p, interesting(rng, 16))


ELF_MUTATIONS = {"bytes": (m_bytes, 3), "ehdr": (m_ehdr, 1), "shdr": (m_shdr, 3), "sym": (m_sym, 3),
                 "rela": (m_rela, 3), "strtab": (m_strtab, 2), "group": (m_group, 2)}
SHARED_MUTATIONS = {**{k: v for k, v in ELF_MUTATIONS.items() if k not in ("rela", "group")},
                    "dynamic": (m_dynamic, 2), "versym": (m_versym, 1)}


def _pick(rng, table):
    kinds = list(table)
    return rng.choices(kinds, weights=[table[k][1] for k in kinds])[0]


def mutate_elf(data, rng, table=ELF_MUTATIONS, truncate=True):
    """(mutated bytes, mutation kind)."""
    if truncate and rng.random() < 0.1:
        return data[:rng.randrange(len(data))], "truncate"
    kind = _pick(rng, table)
    e = Elf(data)
    try:
        table[kind][0](e, rng)
    except (struct.error, IndexError, ValueError, KeyError):
        m_bytes(e, rng)                  # the table is beyond this helper: random bytes instead
        kind = "bytes"
    return bytes(e.b), kind


def mutate(data, rng):
    """One mutation of an ELF file's bytes (tests/test_gc_sections.py uses it too)."""
    return mutate_elf(data, rng)[0]


# -- archive mutations -----------------------------------------------------------------

def a_header(b, members, rng):
    m = rng.choice(members)
    field, (start, end) = rng.choice(list({"name": (0, 16), "date": (16, 28), "mode": (40, 48),
                                          "size": (48, 58), "size ": (48, 58), "fmag": (58, 60)}.items()))
    width = end - start
    if field.startswith("size"):
        text = rng.choice([str(m.size + rng.randint(-70, 70)), "-" + str(m.size), "0", "99999999999",
                           "12x", " ", "1_0", "+5", str(m.size * 2), str(rng.getrandbits(33)),
                           str(max(m.size - 1, 0))])
    elif field == "name":
        text = rng.choice(["/", "//", "/SYM64/", "/0", "/9999", "/1:2", "/x", "x" * 16, "a.o/",
                           "/" + str(rng.randrange(64)), ""])
    elif field == "fmag":
        text = rng.choice(["`\n", "  ", "\n`", "xx"])
    else:
        text = "".join(rng.choice("0123456789 -x") for _ in range(width))
    b[m.offset + start:m.offset + end] = text.encode()[:width].ljust(width, b" ")


def a_index(b, members, rng):
    idx = next((m for m in members if m.raw_name == b"/"), None)
    if idx is None or idx.size < 4:
        return a_header(b, members, rng)
    off = idx.data_offset
    count = int.from_bytes(b[off:off + 4], "big")
    r = rng.random()
    if r < 0.3:
        b[off:off + 4] = interesting(rng, 32, count, idx.size // 4).to_bytes(4, "big")
    elif r < 0.7 and count:
        k = rng.randrange(min(count, (idx.size - 4) // 4))
        p = off + 4 + 4 * k
        cur = int.from_bytes(b[p:p + 4], "big")
        mem_offsets = [m.offset for m in members]
        b[p:p + 4] = (rng.choice([cur + 1, cur + 2, cur + 60, cur - 2, 0, 8, len(b), len(b) - 2,
                                  rng.choice(mem_offsets), 0xffffffff, interesting(rng, 32)])
                      & 0xffffffff).to_bytes(4, "big")
    else:                                   # the name strings
        start = off + 4 + 4 * count
        if start < off + idx.size:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(start, off + idx.size)] = rng.choice([0, 0x41, 0xff])


def a_longnames(b, members, rng):
    ln = next((m for m in members if m.raw_name == b"//"), None)
    if ln is None or not ln.size or rng.random() < 0.4:
        refs = [m for m in members if m.raw_name.startswith(b"/") and m.raw_name not in (b"/", b"//")]
        if not refs:
            return a_header(b, members, rng)
        m = rng.choice(refs)
        text = rng.choice(["/" + str(ln.size if ln else 0), "/" + str(rng.randrange(200)), "/-1",
                           "/99999999999999", "/1"])
        b[m.offset:m.offset + 16] = text.encode().ljust(16, b" ")
    else:
        for _ in range(rng.randint(1, 4)):
            b[ln.data_offset + rng.randrange(ln.size)] = rng.choice([0, 0x0a, 0x2f, 0x41])


def a_member_elf(b, members, rng):
    objs = [m for m in members if m.raw_name not in (b"/", b"//", b"/SYM64/")]
    if not objs:
        return a_header(b, members, rng)
    m = rng.choice(objs)
    data = bytes(b[m.data_offset:m.data_offset + m.size])
    new, _ = mutate_elf(data, rng, truncate=False)
    b[m.data_offset:m.data_offset + m.size] = new


ARCHIVE_MUTATIONS = {"ar_header": (a_header, 3), "ar_index": (a_index, 3), "ar_longnames": (a_longnames, 2),
                     "ar_member_elf": (a_member_elf, 5), "bytes": (None, 1)}


def mutate_archive(data, rng):
    if rng.random() < 0.08:
        return data[:rng.randrange(len(data))], "truncate"
    kind = _pick(rng, ARCHIVE_MUTATIONS)
    b = bytearray(data)
    if kind == "bytes":
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    else:
        ARCHIVE_MUTATIONS[kind][0](b, ar_members(data), rng)
    return bytes(b), kind


# -- running links in forked children -----------------------------------------------------

def _vm_size():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def link_in_child(argv, cwd):
    """Run ldpy.main.main(argv) in a forked child: ('linked' | 'clean' | 'crash', stderr)."""
    import ldpy.main                               # (imported once, before the forks)
    rfd, wfd = os.pipe()
    err_path = os.path.join(cwd, "stderr.txt")
    pid = os.fork()
    if pid == 0:                                   # the child: never returns
        status = "crash"
        try:
            os.close(rfd)
            os.chdir(cwd)
            fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 2)
            os.dup2(fd, 1)
            # (the encoding and error handler of a real stderr: names of archive members
            # are decoded with surrogateescape and printed with backslashreplace)
            sys.stdout = sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), "utf-8",
                                                       "backslashreplace", line_buffering=True,
                                                       write_through=True)
            os.environ["LDPY_DEBUG"] = "1"         # exceptions propagate: a crash, not a message
            limit = _vm_size() + MEMORY_HEADROOM
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(LINK_TIMEOUT)
            try:
                rc = ldpy.main.main(list(argv))
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else 1
            status = {0: "linked", 1: "clean"}.get(rc, f"status {rc}")
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stderr.flush()
                os.write(wfd, status.encode())
            finally:
                os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as fh:
        status = fh.read().decode()
    _, st = os.waitpid(pid, 0)
    try:
        with open(err_path, errors="replace") as fh:
            stderr = fh.read()
    except OSError:
        stderr = ""
    if os.WIFSIGNALED(st):
        sig = os.WTERMSIG(st)
        return "crash", stderr + ("\n[hang: killed after %d s]" % LINK_TIMEOUT if sig == signal.SIGALRM
                                  else f"\n[killed by signal {sig}]")
    if status == "clean":
        lines = stderr.splitlines()
        if any(bad in stderr for bad in ("Traceback", "internal error", "out of memory")):
            return "crash", stderr
        if not any(l.startswith("ldpy: error: ") for l in lines):
            return "crash", stderr + "\n[status 1 without an 'ldpy: error:' line]"
    elif status != "linked":
        return "crash", stderr + f"\n[{status}]"
    return status, stderr


# -- the test ---------------------------------------------------------------------------

TARGETS = {"object": 11, "archive": 12, "shared": 13,
           "aarch64": 14, "riscv64": 15, "i386": 16, "ppc32": 17}
# the other targets' objects and libraries: (cross triple, emulation); each input is a
# mutated object (in 7 of 10) or a mutated shared library
CROSS = {"aarch64": ("aarch64-linux-gnu", "aarch64linux"), "riscv64": ("riscv64-linux-gnu", "elf64lriscv"),
         "i386": ("i686-linux-gnu", "elf_i386"), "ppc32": ("powerpc-linux-gnu", "elf32ppclinux")}


def fuzz(target, d, iterations, seed=SEED):
    """Returns (counts, kinds, crashes) for `iterations` mutated inputs."""
    rng = random.Random(TARGETS[target] * 1_000_003 + seed)
    counts = Counter()
    kinds = Counter()
    crashes = []
    out = d / "out"
    emulation = ["-m", CROSS[target][1]] if target in CROSS else []
    for it in range(iterations):
        if target in CROSS:
            target_now = "object" if rng.random() < 0.7 else "shared"
        else:
            target_now = target
        if target_now == "object":
            victim = rng.choice(["a.o", "b.o", "c1.o", "c1.o"])
            data, kind = mutate_elf((d / victim).read_bytes(), rng)
            mut = "mut.o"
            inputs = [mut if v == victim else v for v in ["a.o", "b.o", "c1.o", "c2.o"]]
        elif target_now == "archive":
            data, kind = mutate_archive((d / "libab.a").read_bytes(), rng)
            mut = "libmut.a"
            whole = rng.random() < 0.25
            inputs = ["-u", "work", "-u", "use_c1"] + (["--whole-archive"] if whole else []) + [mut]
        else:
            data, kind = mutate_elf((d / "libl.so").read_bytes(), rng, SHARED_MUTATIONS)
            mut = "libmut.so"
            inputs = ["-pie", "m.o", mut]
        (d / mut).write_bytes(data)
        argv = [*emulation, "-o", "out", *inputs]
        status, stderr = link_in_child(argv, str(d))
        if status == "clean" and out.exists():
            status, stderr = "crash", stderr + "\n[failed link left its output file]"
        if list(d.glob(".out.ldpy-*")):
            status, stderr = "crash", stderr + "\n[a temporary output file was left behind]"
        if status == "linked" and not out.exists():
            status, stderr = "crash", stderr + "\n[status 0 without an output file]"
        counts["inputs"] += 1
        counts[status] += 1
        kinds[(kind, status)] += 1
        if status == "crash":
            keep = d / f"crash-{len(crashes)}{os.path.splitext(mut)[1]}"
            shutil.copy(d / mut, keep)
            crashes.append((it, kind, keep.name, " ".join(argv), stderr.strip()[-4000:]))
        if out.exists():
            out.unlink()
    return counts, kinds, crashes


def report(target, counts, kinds):
    line = (f"fuzz {target}: {counts['inputs']} inputs tried, {counts['clean']} clean errors, "
            f"{counts['linked']} successful links, {counts['crash']} crashes")
    by_kind = {}
    for (kind, status), n in kinds.items():
        by_kind.setdefault(kind, Counter())[status] += n
    detail = "; ".join(f"{k}: " + "/".join(f"{s} {n}" for s, n in sorted(c.items()))
                       for k, c in sorted(by_kind.items()))
    return line + "\n    " + detail


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzzcorpus")
    build_corpus(d)
    return d


def _cross_tools_missing(target):
    if target not in CROSS:
        return False
    triple = CROSS[target][0]
    return not (shutil.which(f"{triple}-gcc") and shutil.which(f"{triple}-g++"))


@pytest.mark.slow
@pytest.mark.parametrize("target", [pytest.param(t, marks=pytest.mark.skipif(
    _cross_tools_missing(t), reason="needs the cross compiler (CI installs it)")) for t in TARGETS])
def test_mutated_inputs_fail_cleanly(corpus, tmp_path, target):
    if target in CROSS:
        build_corpus(tmp_path, CROSS[target][0])
        links = (["a.o", "b.o", "c1.o", "c2.o"], ["-pie", "m.o", "libl.so"])
        emulation = ["-m", CROSS[target][1]]
    else:
        for f in corpus.iterdir():
            if f.suffix in (".o", ".a", ".so"):
                shutil.copy(f, tmp_path / f.name)
        links = (["a.o", "b.o", "c1.o", "c2.o"], ["-u", "work", "-u", "use_c1", "libab.a"],
                 ["-pie", "m.o", "libl.so"])
        emulation = []
    # the unbroken corpus links: each mutation is the only thing wrong
    for status, _ in [link_in_child([*emulation, "-o", "out", *inputs], str(tmp_path)) for inputs in links]:
        assert status == "linked", _
    counts, kinds, crashes = fuzz(target, tmp_path, ITERATIONS)
    text = report(target, counts, kinds)
    print("\n" + text)
    if os.environ.get("LDPY_FUZZ_REPORT"):      # (a file: pytest -n hides the workers' output)
        with open(os.environ["LDPY_FUZZ_REPORT"], "a") as fh:
            fh.write(f"{text}\n    seed {SEED}, corpus {tmp_path}, {len(crashes)} crashes kept there\n")
    assert not crashes, "\n\n".join(f"iteration {it} ({kind}), input {tmp_path / name}: ldpy {argv}\n{err}"
                                    for it, kind, name, argv, err in crashes[:5])
    assert counts["clean"] > 0          # the fuzzer did reach the error paths


# -- version scripts: ldpy's verdict against ld.bfd's ----------------------------------------
#
# Mutated version scripts (token and character edits of valid seeds: a token deleted,
# doubled, swapped, replaced or inserted from the script vocabulary, a node doubled, a
# dependency renamed, truncation, two seeds joined) are given to `-shared v.o
# --version-script=...` for ldpy (in a forked child, as above) and for ld.bfd: both must
# accept or both reject, and ldpy must never crash.  Twice LDPY_FUZZ_ITERATIONS scripts are
# tried (a long run of 2000: LDPY_FUZZ_ITERATIONS=1000 LDPY_FUZZ_REPORT=/tmp/vs.txt
# python3 -m pytest tests/test_fuzz.py -k version_scripts; the report counts agreements).

VS_SEEDS = [
    "V1 { global: func; foo; local: *; };\n",
    "VERS_1.0 {\n  global:\n    func;\n  local:\n    *;\n};\nVERS_2.0 {\n  global: foo;\n} VERS_1.0;\n",
    "{ global: func; local: *; };\n",
    "V1 { func; };\nV2 { foo; bar; } V1;\nV3 { global: data; } V2 V1;\n",
    'V1 { global: extern "C++" { ns::f*; "ns::g(int)"; }; func; local: *; };\n',
    "# a comment\nV1 {\n  global: f*; ?oo; [b]ar;\n  local: *;\n}; /* c */\n",
    "V1 { };\nV2 { local: *; } V1;\n",
    'V1 { global: "func"; extern "C" { foo; }; local: bar; };\n',
]
VS_VOCAB = ["{", "}", ";", ":", ",", "global", "local", "extern", '"C++"', '"C"', '"Java"', '"Foo"',
            "*", "func", "foo", "V1", "V2", "V3", "VERS_1.0", '"quoted name"', "#c\n", "/* c */", "/*",
            '"', "@", "-", "1", "\n", "::", "f*", "?oo", "\\", "global:", "local:", "}; ", "{ "]
_VS_TOKEN = None


def _vs_tokens(text):
    import re
    global _VS_TOKEN
    if _VS_TOKEN is None:
        _VS_TOKEN = re.compile(r'"[^"]*"|/\*.*?\*/|#[^\n]*\n|[A-Za-z_.$*?\[\]0-9:\\-]+|\s+|.', re.S)
    return _VS_TOKEN.findall(text)


def mutate_version_script(rng):
    text = rng.choice(VS_SEEDS)
    kind = rng.choice(["delete", "double", "swap", "replace", "insert", "insert", "node", "dep",
                       "truncate", "join", "char"])
    toks = _vs_tokens(text)
    solid = [i for i, t in enumerate(toks) if t.strip()]
    i = rng.choice(solid)
    if kind == "delete":
        del toks[i]
    elif kind == "double":
        toks.insert(i, toks[i] + " ")
    elif kind == "swap":
        j = solid[min(solid.index(i) + 1, len(solid) - 1)]
        toks[i], toks[j] = toks[j], toks[i]
    elif kind == "replace":
        toks[i] = rng.choice(VS_VOCAB)
    elif kind == "insert":
        toks.insert(rng.randrange(len(toks) + 1), " " + rng.choice(VS_VOCAB) + " ")
    elif kind == "node":                        # a node twice (duplicate tag, expressions)
        nodes = [n + "};" for n in "".join(toks).split("};") if n.strip()]
        toks = ["".join(nodes + [rng.choice(nodes)])]
    elif kind == "dep":
        toks = ["".join(toks).replace("} V1;", "} " + rng.choice(["V9", "V3", "V1 V1", "V2"]) + ";")
                .replace("};", rng.choice(["};", "} V1;", "} V0;"]), 1)]
    elif kind == "truncate":
        s = "".join(toks)
        toks = [s[:rng.randrange(len(s) + 1)]]
    elif kind == "join":
        toks.append(rng.choice(VS_SEEDS))
    else:
        s = "".join(toks)
        k = rng.randrange(len(s) + 1)
        toks = [s[:k] + rng.choice('{};:,"*@#/\\-1\n xV') + s[k + rng.choice([0, 0, 1]):]]
    return "".join(toks), kind


def _bfd_version_script_verdict(argv, cwd):
    r = subprocess.run(["ld.bfd", *argv], cwd=cwd, capture_output=True, text=True, timeout=60)
    return "linked" if r.returncode == 0 else "clean", r.stderr


@pytest.fixture(scope="module")
def vs_object(tmp_path_factory):
    d = tmp_path_factory.mktemp("vscorpus")
    (d / "v.cpp").write_text('extern "C" { int func(void) { return 1; } int foo(void) { return 2; }\n'
                             'int bar(void) { return 3; } int data = 4; }\n'
                             'namespace ns { int f(int x) { return x; } int g(int x) { return x; } }\n')
    subprocess.run(["g++", "-fPIC", "-c", "v.cpp", "-o", "v.o"], cwd=d, check=True)
    return d


@pytest.mark.slow
def test_mutated_version_scripts_agree_with_bfd(vs_object, tmp_path):
    shutil.copy(vs_object / "v.o", tmp_path / "v.o")
    rng = random.Random(14 * 1_000_003 + SEED)
    counts, kinds = Counter(), Counter()
    disagreements, crashes = [], []
    for seed_text in VS_SEEDS:                   # the seeds themselves: accepted by both
        (tmp_path / "t.map").write_text(seed_text)
        argv = ["-shared", "v.o", "--version-script=t.map", "-o", "out.so"]
        assert _bfd_version_script_verdict(argv, tmp_path)[0] == "linked", seed_text
        assert link_in_child(argv, str(tmp_path))[0] == "linked", seed_text
    for it in range(ITERATIONS * 2):
        text, kind = mutate_version_script(rng)
        (tmp_path / "t.map").write_text(text)
        argv = ["-shared", "v.o", "--version-script=t.map", "-o", "out.so"]
        want, bfd_err = _bfd_version_script_verdict(argv, tmp_path)
        got, err = link_in_child(argv, str(tmp_path))
        counts["scripts"] += 1
        counts[want] += 1
        kinds[(kind, got == want)] += 1
        if got == "crash":
            crashes.append((it, text, err.strip()[-2000:]))
        elif got != want:
            disagreements.append((it, text, want, bfd_err.strip(), err.strip()))
        else:
            counts["agree"] += 1
    text = (f"fuzz version scripts: {counts['scripts']} scripts, ld.bfd accepted {counts['linked']} and "
            f"rejected {counts['clean']}; ldpy agreed on {counts['agree']}, disagreed on "
            f"{len(disagreements)}, crashed on {len(crashes)}")
    print("\n" + text)
    if os.environ.get("LDPY_FUZZ_REPORT"):
        with open(os.environ["LDPY_FUZZ_REPORT"], "a") as fh:
            fh.write(text + "\n" + "".join(f"  #{it} bfd {w}: {t!r}\n    bfd: {b}\n    ldpy: {e}\n"
                                           for it, t, w, b, e in disagreements) + "\n")
    assert not crashes, "\n\n".join(f"iteration {it}: {t!r}\n{e}" for it, t, e in crashes[:5])
    assert not disagreements, "\n\n".join(f"iteration {it}: {t!r}: ld.bfd {w}\nbfd: {b}\nldpy: {e}"
                                          for it, t, w, b, e in disagreements[:5])
    assert counts["clean"] > 0 and counts["linked"] > 0


# -- linker scripts and response files -------------------------------------------------------

SCRIPT_ITERATIONS = int(os.environ.get("LDPY_FUZZ_SCRIPT_ITERATIONS", str(ITERATIONS)))

HAND_SCRIPTS = {
    "memory.ld": """MEMORY { rom (rx) : ORIGIN = 0x400000, LENGTH = 1M
         ram (rw!x) : ORIGIN = 0x800000, LENGTH = 1M }
ENTRY(_start)
SECTIONS {
  .text : { *(.text .text.*) } > rom
  .rodata : { *(.rodata*) . = ALIGN(8); } > rom
  .eh_frame : { KEEP(*(.eh_frame)) } > rom
  .data : AT(LOADADDR(.eh_frame) + SIZEOF(.eh_frame)) { *(.data*) } > ram
  .tdata : { *(.tdata*) } > ram
  .tbss : { *(.tbss*) } > ram
  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > ram
  /DISCARD/ : { *(.comment) *(.note.GNU-stack) }
  ASSERT(SIZEOF(.text) > 0, "no text")
}
""",
    "phdrs.ld": """PHDRS { headers PT_PHDR PHDRS; text PT_LOAD FILEHDR PHDRS; data PT_LOAD; tls PT_TLS; }
SECTIONS {
  . = 0x10000 + SIZEOF_HEADERS;
  .text : { KEEP(*(.text*)) PROVIDE(etext = .); } :text
  .rodata : { *(SORT_BY_NAME(.rodata*)) } :text
  . = ALIGN(CONSTANT(MAXPAGESIZE));
  .tdata : { *(.tdata*) } :data :tls
  .tbss : { *(.tbss*) } :data :tls
  .data : { *(.data*) __data_end = .; } :data
  .bss : { *(.bss*) . += 0x100; } :data
  _end = .;
}
""",
    "overlay.ld": """SECTIONS {
  . = 0x200000;
  .text : { *(.text*) }
  OVERLAY 0x300000 : AT(0x400000) { .ov1 { *(.rodata*) } .ov2 { *(.data*) } }
  .tdata : { *(.tdata*) }
  .bss : { *(.bss*) }
  HIDDEN(top = . + 0x1000);
}
""",
    "insert.ld": """SECTIONS { .extra : { LONG(0x12345678) QUAD(ADDR(.text)) BYTE(1) FILL(0x90) . = . + 16; } }
INSERT AFTER .text;
""",
}

SCRIPT_TOKENS = ["0", "1", "-1", "0x1000", "0x7fffffffffffffff", "0x8000000000000000", "0xffffffffffffffff",
                 "0xfffffffffffff000", "0x10000000000000000", "99999999999999999999999", "1 << 63", "1/0",
                 "(", ")", "{", "}", ";", ":", ",", "=", "+=", "-=", "*=", ".", "*", "?", "%", "<<", ">>",
                 "/DISCARD/", "KEEP", "SORT", "ALIGN", "ALIGN(0)", "ALIGN(3)", "ALIGN(0x8000000000000000)",
                 "AT", ">", "AT>", "ORIGIN", "LENGTH", "ADDR(.text)", "SIZEOF(.nonexistent)", "LOADADDR(.data)",
                 ".gnu.version_d", ".gnu.version_r", ".gnu.version", ".dynamic", ".dynsym", ".interp", ".got",
                 ".got.plt", ".plt", ".rela.plt", ".rela.dyn", ".eh_frame", ".eh_frame_hdr", ".tbss", ".tdata",
                 ".text", ".data", ".bss", ".symtab", ".shstrtab", "NOLOAD", "(NOLOAD)", "(INFO)", "(COPY)",
                 "OVERLAY", "PROVIDE", "PROVIDE_HIDDEN", "HIDDEN", "ASSERT(0, \"x\")", "INCLUDE", "\"str\"",
                 "MEMORY", "PHDRS", "INSERT", "AFTER", "BEFORE", "__start", "_end", "ENTRY(nosuch)",
                 "SEGMENT_START(\"text-segment\", 0)", "DATA_SEGMENT_ALIGN(0, 0)",
                 "DATA_SEGMENT_RELRO_END(0, .)", "DATA_SEGMENT_END(.)", "CONSTANT(MAXPAGESIZE)",
                 "CONSTANT(COMMONPAGESIZE)", "MAX(.,0)", "MIN(0,.)", "ABSOLUTE(.)", "DEFINED(x)", "LONG(1)",
                 "QUAD(-1)", "SQUAD(0)", "BYTE(256)", "FILL(0x90)", "=0x90909090", "SUBALIGN(0)",
                 "ONLY_IF_RO", "ONLY_IF_RW", "EXCLUDE_FILE(*)", "SORT_BY_ALIGNMENT", "CREATE_OBJECT_SYMBOLS",
                 "CONSTRUCTORS", "NOCROSSREFS(.text .data)", "REGION_ALIAS(\"r\", ram)", "\0", "\xff", "/*",
                 "*/", "\"", "\\", "#", "TARGET(binary)", "OUTPUT_FORMAT(binary)", "STARTUP(nosuch.o)",
                 "GROUP(", "INPUT(", "SEARCH_DIR(.)", "AS_NEEDED(", "-lnosuch"]

RSP_TOKENS = ["-o", "out", "null", "a.o", "b.o", "c1.o", "c2.o", "m.o", "libl.so", "-T", "t.ld", "-Map",
              "map.txt", "-L.", "-ll", "-lnosuch", "--defsym", "x=1", "x=nosuch+1", "-e", "nosuch", "-u",
              "use_c1", "-z", "relro", "now", "norelro", "-Ttext=0x10000000000000000", "-Ttext", "0xfffffffffffff000",
              "-Tdata=0x8000000000000000", "--section-start=.data=0x0", "-static", "-shared", "-pie", "-r",
              "--gc-sections", "--build-id=sha1", "--build-id=0x", "--wrap=other", "--start-group",
              "--end-group", "--whole-archive", "--no-whole-archive", "--as-needed", "@rsp", "@/dev/zero",
              "@nosuch", "'quoted word'", "\"dq\\\"x\"", "back\\slash", "\\", "'", "\"", "\0", "\xff", "=",
              "--", "-", "--error-limit=0", "--fatal-warnings", "-M", "--verbose", "-s", "-S", "--emit-relocs",
              "-q", "--no-undefined", "--unresolved-symbols=ignore-all", "-Bsymbolic", "--hash-style=gnu",
              "--compress-debug-sections=zlib", "-soname", "x", "--print-memory-usage", "-N", "-n",
              "--no-relax", "-O2", "--sort-section=name", "-nostdlib", "--image-base=0x8000000000000000",
              "--image-base=-1", "-zmax-page-size=0", "-zmax-page-size=3", "-zcommon-page-size=0x100000"]

_TOKEN = re.compile(r'"[^"\n]*"|/\*.*?\*/|[A-Za-z0-9_.$*?\[\]/\\~-]+|<<|>>|==|!=|<=|>=|&&|\|\||[-+*/]=|\S',
                    re.S)


def mutate_text(text, rng, pool):
    """One to three token edits of `text` (spans of the original text: what is
    not edited keeps its bytes)."""
    kinds = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        spans = [m.span() for m in _TOKEN.finditer(text)]
        if not spans:
            text = rng.choice(pool)
            kinds.append("replace-all")
            continue
        i = rng.randrange(len(spans))
        a, b = spans[i]
        tok = text[a:b]
        op = rng.choice(["delete", "duplicate", "swap", "same-text", "pool", "pool", "insert"])
        if op == "delete":
            text = text[:a] + text[b:]
        elif op == "duplicate":
            text = text[:b] + " " + tok + text[b:]
        elif op == "swap" and i + 1 < len(spans):
            c, d = spans[i + 1]
            text = text[:a] + text[c:d] + text[b:c] + tok + text[d:]
        elif op == "same-text":
            c, d = spans[rng.randrange(len(spans))]
            text = text[:a] + text[c:d] + text[b:]
        elif op == "insert":
            text = text[:a] + rng.choice(pool) + " " + text[a:]
        else:
            op = "pool"
            text = text[:a] + rng.choice(pool) + text[b:]
        kinds.append(op)
    return text, "+".join(kinds)


def default_scripts(d):
    """ldpy's default scripts (ldpy --verbose) for an executable, -pie and -shared."""
    import ldpy.main                   # noqa: F401  (the same ldpy the children run)
    from ldpy.cli import parse_args
    from ldpy.script.default import default_script_text
    return {f"default{tag}.ld": default_script_text(parse_args(list(flags) + ["x.o"]))
            for tag, flags in (("", ()), ("-pie", ("-pie",)), ("-shared", ("-shared",)))}


def _bfd_verdict(argv, d):
    if not shutil.which("ld.bfd"):
        return None
    try:
        r = subprocess.run(["ld.bfd", *argv], cwd=d, capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "hang"
    return "linked" if r.returncode == 0 else "clean"


SCRIPT_LINKS = {       # script name -> the links it is used in (its -T comes first)
    "default.ld": [["-static", "a.o", "b.o", "c1.o", "c2.o"]],
    "default-pie.ld": [["-pie", "m.o", "libl.so"]],
    "default-shared.ld": [["-shared", "c1.o", "c2.o"]],
    "memory.ld": [["a.o", "b.o", "c1.o", "c2.o"]],
    "phdrs.ld": [["a.o", "b.o", "c1.o", "c2.o"]],
    "overlay.ld": [["a.o", "b.o", "c1.o", "c2.o"]],
    "insert.ld": [["a.o", "b.o", "c1.o", "c2.o"]],
}
RSP_BASE = "-o out -L. a.o b.o --start-group c1.o c2.o --end-group -u use_c1 -z noexecstack\n"


def _pristine(d, corpus):
    """Restore what a mutated command line may have overwritten (-o a.o, -o t.ld ...)."""
    for f in corpus.iterdir():
        if f.is_file() and (f.suffix in (".o", ".a", ".so") or f.name == "t.ld"):
            tgt = d / f.name
            if not tgt.exists() or tgt.stat().st_size != f.stat().st_size or tgt.stat().st_mtime != f.stat().st_mtime:
                shutil.copy2(f, tgt)


def fuzz_text(target, d, corpus, iterations, seed=SEED):
    """Mutated scripts (target "script") or response files ("response"): (counts,
    kinds, crashes, agreement Counter with ld.bfd)."""
    rng = random.Random((21 if target == "script" else 22) * 1_000_003 + seed)
    counts, kinds, agree = Counter(), Counter(), Counter()
    crashes = []
    scripts = {**default_scripts(d), **HAND_SCRIPTS}
    out = d / "out"
    bfd_dir = d / "bfd"
    bfd_dir.mkdir(exist_ok=True)
    for it in range(iterations):
        _pristine(d, corpus)
        if target == "script":
            name = rng.choice(sorted(scripts))
            text, kind = mutate_text(scripts[name], rng, SCRIPT_TOKENS)
            mut = "mut.ld"
            (d / mut).write_bytes(text.encode("utf-8", "surrogateescape"))
            argv = ["-o", "out", "-T", mut, *rng.choice(SCRIPT_LINKS[name])]
            kind = f"{name.split('.')[0]}:{kind.split('+')[0]}"
        else:
            text, kind = mutate_text(RSP_BASE, rng, RSP_TOKENS)
            mut = "rsp"
            (d / mut).write_bytes(text.encode("utf-8", "surrogateescape"))
            argv = ["@rsp"]
            kind = kind.split("+")[0]
        status, stderr = link_in_child(argv, str(d))
        if status == "clean" and out.exists():
            status, stderr = "crash", stderr + "\n[failed link left its output file]"
        left = [p.name for p in d.iterdir() if ".ldpy-" in p.name]
        if left:
            status, stderr = "crash", stderr + f"\n[temporary files left behind: {left}]"
            for p in left:
                os.unlink(d / p)
        if os.geteuid() == 0 and (d / "null").exists() and not stat_is_chr(d / "null"):
            status, stderr = "crash", stderr + "\n[a device output was replaced]"
            (d / "null").unlink()
            _null_device(d)
        counts["inputs"] += 1
        counts[status] += 1
        kinds[(kind, status)] += 1
        if status in ("linked", "clean"):
            _pristine(bfd_dir, corpus)
            shutil.copy(d / mut, bfd_dir / mut)
            b = _bfd_verdict(argv, bfd_dir)
            if b is not None:
                agree["compared"] += 1
                agree["same" if b == status else f"ldpy {status}, ld.bfd {b}"] += 1
        if status == "crash":
            keep = d / f"crash-{len(crashes)}-{mut}"
            shutil.copy(d / mut, keep)
            crashes.append((it, kind, keep.name, " ".join(argv), stderr.strip()[-4000:]))
        for f in ("out", "map.txt"):
            if (d / f).exists() and not (d / f).is_dir():
                (d / f).unlink()
        if not (d / "null").exists():
            _null_device(d)
    return counts, kinds, crashes, agree


def _null_device(d):
    """A private null device `null` (the response files' -o null): outputs that are
    devices must be written in place, and the system's /dev/null is never at stake."""
    try:
        os.mknod(d / "null", 0o666 | __import__("stat").S_IFCHR, os.makedev(1, 3))
    except OSError:
        pass                      # (not root: -o null is then a regular file)


def stat_is_chr(path):
    import stat as st
    return st.S_ISCHR(os.stat(path).st_mode)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["script", "response"])
def test_mutated_scripts_fail_cleanly(corpus, tmp_path, target):
    for f in corpus.iterdir():
        if f.suffix in (".o", ".a", ".so"):
            shutil.copy2(f, tmp_path / f.name)
    (corpus / "t.ld").write_text(HAND_SCRIPTS["phdrs.ld"])
    shutil.copy2(corpus / "t.ld", tmp_path / "t.ld")
    # the unmutated scripts and response file link: each mutation is the only thing wrong
    scripts = {**default_scripts(tmp_path), **HAND_SCRIPTS}
    for name, links in SCRIPT_LINKS.items():
        (tmp_path / "mut.ld").write_text(scripts[name])
        status, err = link_in_child(["-o", "out", "-T", "mut.ld", *links[0]], str(tmp_path))
        assert status == "linked", (name, err)
    (tmp_path / "bfd").mkdir()
    _null_device(tmp_path)
    _null_device(tmp_path / "bfd")
    (tmp_path / "rsp").write_text(RSP_BASE)
    status, err = link_in_child(["@rsp"], str(tmp_path))
    assert status == "linked", err
    (tmp_path / "out").unlink()
    counts, kinds, crashes, agree = fuzz_text(target, tmp_path, corpus, SCRIPT_ITERATIONS)
    text = report(target, counts, kinds)
    if agree["compared"]:
        text += (f"\n    verdicts compared with ld.bfd: {agree['compared']}, same {agree['same']}; "
                 + ", ".join(f"{k} {n}" for k, n in sorted(agree.items()) if k not in ("compared", "same")))
    print("\n" + text)
    if os.environ.get("LDPY_FUZZ_REPORT"):
        with open(os.environ["LDPY_FUZZ_REPORT"], "a") as fh:
            fh.write(f"{text}\n    seed {SEED}, corpus {tmp_path}, {len(crashes)} crashes kept there\n")
    assert not crashes, "\n\n".join(f"iteration {it} ({kind}), input {tmp_path / name}: ldpy {argv}\n{err}"
                                    for it, kind, name, argv, err in crashes[:5])
    assert counts["clean"] > 0
