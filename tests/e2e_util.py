"""Helpers for the end-to-end tests: compile C, C++ and assembly with the
system gcc/g++, link with the linker under test (ldpy through gcc's `-B` shim,
or ldpy called directly) and with ld.bfd as the reference, run the programs
with a timeout, and read the outputs back with readelf/nm into parsed data.

The linker under test is chosen by the environment variable LDPY_TEST_LINKER:

* `ldpy` (the default): gcc links through `-B "$(ldpy --print-shim-dir)"`,
  direct links call the `ldpy` console script;
* `bfd`: gcc links with `-fuse-ld=bfd`, direct links call `ld.bfd`.  Running
  the suite this way checks the tests themselves against GNU ld.
"""
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
PROGS = os.path.join(HERE, "progs")

LINKER = os.environ.get("LDPY_TEST_LINKER", "ldpy").strip().lower() or "ldpy"
if LINKER not in ("ldpy", "bfd"):
    raise RuntimeError(f"LDPY_TEST_LINKER must be 'ldpy' or 'bfd', not {LINKER!r}")
IS_LDPY = LINKER == "ldpy"

RUN_TIMEOUT = 60        # seconds for a test program
TOOL_TIMEOUT = 600      # seconds for a compile or a link (big static C++ links)


def prog(name):
    """Path of a test program source in tests/progs."""
    return os.path.join(PROGS, name)


# --------------------------------------------------------------------------
# running things

def run(cmd, *, cwd=None, check=True, timeout=TOOL_TIMEOUT, env=None, input=None):
    """Run a command, capture text stdout/stderr; with check, fail the test
    (showing the command and its output) unless it exits with status 0."""
    cmd = [str(c) for c in cmd]
    try:
        r = subprocess.run(cmd, cwd=None if cwd is None else str(cwd), env=env, input=input,
                           capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"timed out after {timeout}s: {shlex.join(cmd)}") from e
    if check and r.returncode != 0:
        raise AssertionError(f"command failed with status {r.returncode}: {shlex.join(cmd)}\n"
                             f"--- stdout:\n{r.stdout}\n--- stderr:\n{r.stderr}")
    return r


def run_exe(path, *args, check=True, timeout=RUN_TIMEOUT, cwd=None):
    """Run a linked test program.  With check, it must exit with status 0."""
    path = str(path)
    assert os.access(path, os.X_OK), f"{path} is not executable"
    return run([path, *args], check=check, timeout=timeout, cwd=cwd)


def assert_no_traceback(proc):
    for text in (proc.stdout or "", proc.stderr or ""):
        assert "Traceback (most recent call last)" not in text, text


# --------------------------------------------------------------------------
# the linker under test

@functools.lru_cache(maxsize=None)
def ldpy_command():
    """argv prefix that runs ldpy: the console script installed next to the
    Python running the tests, else the one on PATH, else `python -m ldpy`."""
    beside = os.path.join(os.path.dirname(sys.executable), "ldpy")
    if os.access(beside, os.X_OK):
        return (beside,)
    found = shutil.which("ldpy")
    if found:
        return (found,)
    return (sys.executable, "-m", "ldpy")


@functools.lru_cache(maxsize=None)
def shim_dir():
    r = run([*ldpy_command(), "--print-shim-dir"], timeout=120)
    path = r.stdout.strip()
    ld = os.path.join(path, "ld")
    assert os.path.isdir(path) and os.access(ld, os.X_OK), \
        f"ldpy --print-shim-dir gave {path!r}, which has no executable 'ld'"
    return path


def direct_linker(linker=None):
    """argv prefix for calling the linker directly (like `ld ...`)."""
    linker = linker or LINKER
    return list(ldpy_command()) if linker == "ldpy" else ["ld.bfd"]


def driver_flags(linker=None):
    """gcc/g++ flags that make the compiler driver link with `linker`."""
    linker = linker or LINKER
    return ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]


@functools.lru_cache(maxsize=None)
def check_driver_finds_ldpy():
    """gcc must really find the shim's `ld`: if the -B directory had no `ld`,
    gcc would silently fall back to the system linker and every test would
    pass without testing ldpy."""
    got = run(["gcc", "-B", shim_dir(), "-print-prog-name=ld"]).stdout.strip()
    want = os.path.join(shim_dir(), "ld")
    assert os.path.realpath(got) == os.path.realpath(want), (got, want)
    return True


def ld_direct(args, cwd, linker=None, timeout=TOOL_TIMEOUT):
    """Call the linker directly; returns the CompletedProcess (not checked)."""
    r = run([*direct_linker(linker), *args], cwd=cwd, check=False, timeout=timeout)
    assert_no_traceback(r)
    return r


# --------------------------------------------------------------------------
# compiling and linking

def _compiler_for(src):
    return "g++" if str(src).endswith((".cpp", ".cc", ".cxx", ".C")) else "gcc"


def compile_obj(tmp, src, flags=(), out=None, compiler=None):
    """Compile (or assemble) one source into an object in tmp; returns its path."""
    src = str(src)
    if out is None:
        out = os.path.splitext(os.path.basename(src))[0] + ".o"
    out = os.path.join(str(tmp), out)
    run([compiler or _compiler_for(src), "-c", *flags, "-I", PROGS, src, "-o", out], cwd=tmp)
    return out


def write(tmp, name, text):
    path = os.path.join(str(tmp), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def make_archive(tmp, name, members):
    path = os.path.join(str(tmp), name)
    run(["ar", "rcs", path, *members], cwd=tmp)
    return path


def link(tmp, out, inputs, flags=(), *, linker=None, compiler="gcc", static=True, check=True):
    """Compile-and-link with the compiler driver and `linker` (default: the one
    under test).  Returns (path, CompletedProcess); with check the link must
    succeed and produce an executable file."""
    linker = linker or LINKER
    if linker == "ldpy":
        check_driver_finds_ldpy()
    path = os.path.join(str(tmp), out)
    cmd = [compiler, *(["-static"] if static else []), "-I", PROGS, *map(str, inputs), *flags,
           "-o", path, *driver_flags(linker)]
    r = run(cmd, cwd=tmp, check=check)
    assert_no_traceback(r)
    if check:
        assert os.path.isfile(path), f"the link succeeded but wrote no {path}"
    return path, r


def build_both(tmp, name, inputs, flags=(), compiler="gcc"):
    """Link the same inputs with the linker under test and with ld.bfd.
    Returns (path under test, reference path)."""
    mine, _ = link(tmp, name, inputs, flags, compiler=compiler)
    ref, _ = link(tmp, name + ".bfd", inputs, flags, linker="bfd", compiler=compiler)
    return mine, ref


def run_both(tmp, name, inputs, flags=(), compiler="gcc"):
    """build_both, run both programs, assert identical stdout and exit
    status; returns the stdout."""
    mine, ref = build_both(tmp, name, inputs, flags, compiler)
    got = run_exe(mine, check=False)
    want = run_exe(ref, check=False)
    assert want.returncode == 0, f"the ld.bfd-linked reference failed: {want.stderr}"
    assert got.returncode == want.returncode, (got.returncode, got.stdout, got.stderr)
    assert got.stdout == want.stdout
    return got.stdout


def gcc_link_argv(tmp, inputs, flags=(), compiler="gcc", out="a.out"):
    """The argument list gcc would pass to ld for this static link (from
    `gcc -###`), without the collect2 path itself."""
    r = run([compiler, "-static", *map(str, inputs), *flags, "-o", out, "-###"], cwd=tmp)
    for line in r.stderr.splitlines():
        words = shlex.split(line)
        if words and os.path.basename(words[0]) in ("collect2", "ld"):
            return words[1:]
    raise AssertionError("no collect2 line in gcc -### output:\n" + r.stderr)


# --------------------------------------------------------------------------
# reading the outputs back

def readelf(*args):
    return run(["readelf", "-W", *map(str, args)]).stdout


def _int(text):
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def elf_header(path):
    """readelf -h as {field: value}; numeric fields of interest as ints."""
    out = {}
    for line in readelf("-h", path).splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    out["entry"] = _int(out["Entry point address"])
    return out


@dataclass
class Segment:
    type: str
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    flags: str      # "R", "R E", "RW", "RWE" ... (readelf's spelling, trailing blanks removed)
    align: int
    sections: tuple = ()

    @property
    def end(self):
        return self.vaddr + self.memsz

    def contains(self, addr, size=0):
        return self.vaddr <= addr and addr + size <= self.vaddr + self.memsz


_PHDR = re.compile(r"^\s+(\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+"
                   r"0x([0-9a-f]+)\s(.{3})\s+0x([0-9a-f]+)\s*$")


def program_headers(path):
    """Program headers in table order, each with the sections it holds."""
    text = readelf("-l", path)
    segs = []
    for line in text.splitlines():
        m = _PHDR.match(line)
        if m:
            segs.append(Segment(m.group(1), *(int(m.group(i), 16) for i in range(2, 7)),
                                m.group(7).rstrip(), int(m.group(8), 16)))
    mapping = text.split("Section to Segment mapping:", 1)
    if len(mapping) == 2:
        for line in mapping[1].splitlines():
            m = re.match(r"^\s+(\d+)\s*(.*)$", line)
            if m and int(m.group(1)) < len(segs):
                segs[int(m.group(1))].sections = tuple(m.group(2).split())
    return segs


def load_segments(path):
    return [s for s in program_headers(path) if s.type == "LOAD"]


@dataclass
class Section:
    index: int
    name: str
    type: str
    addr: int
    offset: int
    size: int
    entsize: int
    flags: str
    link: int
    info: int
    align: int


_SHDR = re.compile(r"^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+"
                   r"([0-9a-f]+)\s+([A-Za-z]*)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")


def sections(path):
    """Section headers (without the null section 0), in index order."""
    out = []
    for line in readelf("-S", path).splitlines():
        m = _SHDR.match(line)
        if m and m.group(1) != "0":
            out.append(Section(int(m.group(1)), m.group(2), m.group(3), int(m.group(4), 16),
                               int(m.group(5), 16), int(m.group(6), 16), int(m.group(7), 16),
                               m.group(8), int(m.group(9)), int(m.group(10)), int(m.group(11))))
    return out


def section(path, name):
    found = [s for s in sections(path) if s.name == name]
    assert len(found) == 1, f"{path}: {len(found)} sections named {name}"
    return found[0]


def section_data(path, name):
    s = section(path, name)
    if s.type == "NOBITS":
        return bytes(s.size)
    with open(path, "rb") as f:
        f.seek(s.offset)
        return f.read(s.size)


@dataclass
class Symbol:
    value: int
    size: int
    type: str
    bind: str
    vis: str
    ndx: str
    name: str


# readelf spells types it does not know for the file's OS/ABI like "<OS specific>: 10"
_SYM = re.compile(r"^\s*\d+:\s+([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+(<[^>]*>: \d+|\S+)\s+(<[^>]*>: \d+|\S+)"
                  r"\s+(\S+)\s+(\S+)\s?(.*)$")


def symbols(path, table=".symtab"):
    """Entries of one symbol table (.symtab by default) from readelf -s."""
    out, current = [], None
    for line in readelf("-s", path).splitlines():
        m = re.match(r"^Symbol table '([^']+)'", line)
        if m:
            current = m.group(1)
            continue
        if current != table:
            continue
        m = _SYM.match(line)
        if m:
            out.append(Symbol(int(m.group(1), 16), _int(m.group(2)), m.group(3), m.group(4), m.group(5),
                              m.group(6), m.group(7).strip()))
    return out


def symbols_named(path, name):
    return [s for s in symbols(path) if s.name == name]


@dataclass
class NmEntry:
    value: object   # int, or None for undefined symbols
    type: str
    name: str


def nm(path, *flags):
    out = []
    for line in run(["nm", *flags, str(path)]).stdout.splitlines():
        m = re.match(r"^([0-9a-f]+)?\s+(\S)\s+(.+)$", line)
        if m:
            out.append(NmEntry(None if m.group(1) is None else int(m.group(1), 16), m.group(2), m.group(3)))
    return out


def nm_names(path, *flags):
    """{name: [types]} of the symbols nm lists."""
    out = {}
    for e in nm(path, *flags):
        out.setdefault(e.name, []).append(e.type)
    return out


def nm_address(path, name):
    found = [e.value for e in nm(path) if e.name == name and e.value is not None]
    assert len(found) == 1, f"{path}: {name} defined {len(found)} times"
    return found[0]


def build_id(path):
    """The hex build ID from readelf -n, or None."""
    m = re.search(r"Build ID:\s*([0-9a-f]+)", readelf("-n", path))
    return m.group(1) if m else None


def relocations(obj):
    """[(type, symbol name)] of every relocation in an object."""
    out = []
    for line in readelf("-r", obj).splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2].startswith("R_X86_64_"):
            out.append((parts[2], parts[4] if len(parts) >= 5 and not parts[4].startswith(("+", "-")) else ""))
    return out


def relocation_offsets(obj, rtype, symbol):
    """Offsets (within the section they patch) of relocations of one type
    against one symbol."""
    out = []
    for line in readelf("-r", obj).splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[2] == rtype and parts[4] == symbol:
            out.append(int(parts[0], 16))
    return out


def string_dump(path, name):
    """The strings readelf -p prints for one section."""
    out = []
    for line in readelf("-p", name, path).splitlines():
        m = re.match(r"^\s*\[\s*[0-9a-f]+\]\s{2}(.*)$", line)
        if m:
            out.append(m.group(1))
    return out


def u64s(data):
    return [int.from_bytes(data[i:i + 8], "little") for i in range(0, len(data) - len(data) % 8, 8)]


def function_names_at(path):
    """{address: name} of the FUNC symbols in .symtab."""
    out = {}
    for s in symbols(path):
        if s.type == "FUNC" and s.ndx != "UND":
            out.setdefault(s.value, s.name)
    return out


def disassemble(path, function):
    """objdump's disassembly of one function (without raw bytes)."""
    out = run(["objdump", "-d", "--no-show-raw-insn", f"--disassemble={function}", str(path)]).stdout
    body = out.split(f"<{function}>:", 1)
    assert len(body) == 2, f"{function} not found in {path}"
    return body[1]


def multiarch_static_libs(arch, triplet):
    """libsqlite3.a and libz.a of Debian's `arch` (i386, arm64) -dev packages, unpacked
    (not installed) into ~/.cache/ldpy-tests/multiarch/ARCH by .ci/run, or here when the
    foreign architecture's package lists are there: installing libc6:arm64 or
    libc6:i386 would put that glibc build on the host's library paths, where
    qemu -L SYSROOT finds it before the cross sysroot's (ld.so and libc of two builds
    in one process hang).  (sqlite.a, z.a) paths, or None."""
    root = os.path.expanduser(f"~/.cache/ldpy-tests/multiarch/{arch}")
    libdir = os.path.join(root, "usr", "lib", triplet)
    libs = (os.path.join(libdir, "libsqlite3.a"), os.path.join(libdir, "libz.a"))
    if not all(os.path.exists(p) for p in libs):
        os.makedirs(root, exist_ok=True)
        debs = os.path.join(root, "debs")
        os.makedirs(debs, exist_ok=True)
        r = subprocess.run(["apt-get", "download", f"libsqlite3-dev:{arch}", f"zlib1g-dev:{arch}"],
                           cwd=debs, capture_output=True, timeout=300)
        if r.returncode:
            return None
        for deb in os.listdir(debs):
            subprocess.run(["dpkg-deb", "-x", os.path.join(debs, deb), root], check=True)
    return libs if all(os.path.exists(p) for p in libs) else None
