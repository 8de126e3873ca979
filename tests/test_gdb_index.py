"""--gdb-index: ldpy's .gdb_index against ld.lld's for the same objects
(`gcc -fuse-ld=lld -Wl,--gdb-index`): the same CU list, the same symbols with
the same attributes in the same hash-table slots, address areas that cover the
same functions (the layouts differ); gdb reads the index ("maint print
objfiles" says ".gdb_index: version 7") and finds lines without complaint.

Objects mix DWARF 4 and 5, -gz, -ffunction-sections, split DWARF, clang's
DW_FORM_rnglistx; outputs are executables and shared libraries, with and
without --compress-debug-sections.  Broken DWARF gives warnings, not tracebacks.
The hash and the open-addressing table are checked against lld's sequential
definitions directly."""
import os
import random
import re
import shutil
import struct
import subprocess

import numpy as np
import pytest

from elfpatch import Elf
from linkutil import run, shim_dir

HAVE_LLD = shutil.which("ld.lld") is not None
HAVE_GDB = shutil.which("gdb") is not None
HAVE_CLANG = shutil.which("clang") is not None
needs_lld = pytest.mark.skipif(not HAVE_LLD, reason="ld.lld not installed")
needs_gdb = pytest.mark.skipif(not HAVE_GDB, reason="gdb not installed")

SOURCES = {
    "a.c": """\
void fn3(void);
struct point { int x, y; };
struct point origin;
static int calls;
int counter = 3;

static void fn2(void)
{
    calls++;
    fn3();
}

void fn1(void)
{
    fn2();
}
""",
    "b.c": """\
#include <stdio.h>
typedef unsigned long ulong_t;
void fn5(void);
ulong_t total;

static void fn4(void)
{
    total += 2;
    fn5();
}

void fn3(void)
{
    fn4();
}
""",
    "c.c": """\
#include <stdio.h>
void trap(void) {}

static void fn6(void)
{
    printf("Hello world\\n");
    trap();
}

void fn5(void)
{
    fn6();
}
""",
    "m.c": """\
void fn1(void);

int main(void)
{
    fn1();
    return 0;
}
""",
}

# (source, compiler flags): DWARF 4 and 5, -gz, -ffunction-sections mixed
MIXED = {"a.c": ["-gdwarf-5", "-ffunction-sections"], "b.c": ["-gdwarf-4", "-gz"],
         "c.c": ["-gdwarf-5", "-gz", "-ffunction-sections"], "m.c": ["-gdwarf-4"]}


def compile_all(tmp, flags_of, common=("-g", "-ggnu-pubnames", "-fPIC", "-O0"), compiler="gcc"):
    objs = []
    for src, flags in flags_of.items():
        (tmp / src).write_text(SOURCES[src])
        obj = src[:-2] + ".o"
        run([compiler, "-c", *common, *flags, src, "-o", obj], cwd=str(tmp))
        objs.append(obj)
    return objs


def link(tmp, out, args, linker="ldpy", compiler="gcc"):
    sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=lld"]
    r = run([compiler, *sel, *args, "-o", out], cwd=str(tmp))
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    return str(tmp / out)


def gdb_index(path):
    """(CU lengths, [(cu, lo, hi)], {name: [(cu, attrs)]}, [(slot, name)]) from readelf."""
    text = run(["readelf", "--debug-dump=gdb_index", path]).stdout
    assert "Version 7" in text, text
    cus, areas, syms, slots = [], [], {}, []
    part, name = None, None
    for line in text.splitlines():
        head = line.split(":")[0]
        if head in ("CU table", "TU table", "Address table", "Symbol table"):
            part = head
            continue
        if part == "CU table" and line.startswith("["):
            lo, hi = re.match(r"\[\s*\d+\] (\S+) - (\S+)", line).groups()
            cus.append(int(hi, 16) - int(lo, 16) + 1)
        elif part == "Address table" and line.strip():
            lo, hi, cu = line.split()
            areas.append((int(cu), int(lo, 16), int(hi, 16)))
        elif part == "Symbol table" and line.strip():
            m = re.match(r"\[\s*(\d+)\] (.*?):(.*)$", line)
            if m:
                name = m.group(2)
                slots.append((int(m.group(1)), name))
                rest = m.group(3).strip()
                syms[name] = [rest] if rest else []
            else:
                syms[name].append(line.strip())
    syms = {k: sorted(v) for k, v in syms.items()}
    return cus, areas, syms, slots


def functions(path):
    """{address: [names]} of the text symbols."""
    out = {}
    for line in run(["nm", path]).stdout.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "Tt":
            out.setdefault(int(p[0], 16), []).append(p[2])
    return out


def areas_by_function(path, areas):
    """Per CU, the sorted (functions starting in the range, range size)."""
    fns = functions(path)
    addrs = sorted(fns)
    per_cu = {}
    for cu, lo, hi in areas:
        inside = tuple(sorted(n for a in addrs if lo <= a < hi for n in fns[a]))
        per_cu.setdefault(cu, []).append((inside, hi - lo))
    return {cu: sorted(v) for cu, v in per_cu.items()}


def assert_same_as_lld(ours, lld, exact_cu_lengths=True):
    a, b = gdb_index(ours), gdb_index(lld)
    if exact_cu_lengths:
        assert a[0] == b[0], "CU lists differ"
    else:
        assert len(a[0]) == len(b[0])
    assert a[2] == b[2], "symbols differ"
    assert a[3] == b[3], "hash table slots differ"
    assert areas_by_function(ours, a[1]) == areas_by_function(lld, b[1])
    return a


def assert_functions_in_their_cu(path):
    """Every function the index names lies in an address range of its CU."""
    _, areas, syms, _ = gdb_index(path)
    fns = functions(path)
    by_name = {n: a for a, names in fns.items() for n in names}
    checked = 0
    for name, entries in syms.items():
        if name not in by_name:
            continue
        for e in entries:
            m = re.match(r"(\d+) \[(global|static), function\]", e)
            if not m:
                continue
            cu = int(m.group(1))
            addr = by_name[name]
            assert any(c == cu and lo <= addr < hi for c, lo, hi in areas), (name, hex(addr), cu)
            checked += 1
    assert checked


def assert_gdb_reads(path, fn, src, cwd=None):
    r = subprocess.run(["gdb", "-nx", "-batch", "-ex", "maint print objfiles", "-ex", f"info line {fn}",
                        "-ex", f"info functions ^{fn}$", path],
                       capture_output=True, text=True, timeout=120, cwd=cwd,
                       env=dict(os.environ, DEBUGINFOD_URLS=""))
    assert ".gdb_index: version 7" in r.stdout, r.stdout
    assert re.search(rf'Line \d+ of "[^"]*{re.escape(src)}" starts at address', r.stdout), r.stdout
    assert f"File {src}:" in r.stdout or src in r.stdout
    bad = [ln for ln in r.stderr.splitlines() if ln.strip() and "debuginfod" not in ln.lower()]
    assert not bad, r.stderr


# -- against lld ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mixed")
    compile_all(tmp, MIXED)
    return tmp


@needs_lld
@pytest.mark.slow
def test_shared_library_and_executable_match_lld(mixed):
    tmp = mixed
    lib = ["-shared", "a.o", "b.o", "c.o", "-Wl,--gdb-index"]
    ours, theirs = link(tmp, "libx.so", lib), link(tmp, "liby.so", lib, linker="lld")
    cus, areas, syms, _ = assert_same_as_lld(ours, theirs)
    assert len(cus) == 3 and len(areas) >= 4
    assert syms["fn1"] == ["0 [global, function]"]
    assert syms["fn4"] == ["1 [static, function]"]
    assert syms["counter"] == ["0 [global, variable]"]
    assert "0 [static, type]" in syms["point"] and "1 [static, type]" in syms["ulong_t"]
    assert_functions_in_their_cu(ours)
    exe = ["m.o", "libx.so", "-Wl,-rpath,$ORIGIN", "-Wl,--gdb-index"]
    ours_exe = link(tmp, "x", exe)
    theirs_exe = link(tmp, "y", ["m.o", "libx.so", "-Wl,-rpath,$ORIGIN", "-Wl,--gdb-index"], linker="lld")
    assert_same_as_lld(ours_exe, theirs_exe)
    assert run([ours_exe]).stdout == "Hello world\n"
    if HAVE_GDB:
        assert_gdb_reads(ours, "fn3", "b.c")
        assert_gdb_reads(ours_exe, "main", "m.c")


@needs_lld
@pytest.mark.slow
def test_static_executable_of_all_units_matches_lld(mixed):
    args = ["a.o", "b.o", "c.o", "m.o", "-Wl,--gdb-index"]
    ours, theirs = link(mixed, "all", args), link(mixed, "all-lld", args, linker="lld")
    cus, areas, syms, _ = assert_same_as_lld(ours, theirs)
    assert len(cus) >= 4
    assert syms["main"] == ["3 [global, function]"]
    assert_functions_in_their_cu(ours)
    # .debug_gnu_pub* served the index and are not copied (lld drops them too)
    secs = run(["readelf", "-SW", ours]).stdout
    assert ".gdb_index" in secs and ".debug_gnu_pubnames" not in secs
    if HAVE_GDB:
        assert_gdb_reads(ours, "fn1", "a.c")
        assert_gdb_reads(ours, "fn6", "c.c")


@needs_lld
@pytest.mark.slow
def test_gc_sections_and_compressed_output_match_lld(mixed):
    args = ["a.o", "b.o", "c.o", "m.o", "-Wl,--gdb-index", "-Wl,--gc-sections",
            "-Wl,--compress-debug-sections=zlib"]
    ours, theirs = link(mixed, "gcz", args), link(mixed, "gcz-lld", args, linker="lld")
    assert_same_as_lld(ours, theirs)
    assert_functions_in_their_cu(ours)
    flags = run(["readelf", "-SW", ours]).stdout
    assert re.search(r"\.debug_info .* C ", flags) or re.search(r"\.debug_info\s.*\bC\b", flags)
    if HAVE_GDB:
        assert_gdb_reads(ours, "fn5", "c.c")


@needs_lld
@pytest.mark.parametrize("dwarf", ["2", "3", "4", "5"])
def test_each_dwarf_version_matches_lld(tmp_path, dwarf):
    compile_all(tmp_path, {"a.c": [f"-gdwarf-{dwarf}", "-ffunction-sections"],
                           "b.c": [f"-gdwarf-{dwarf}"], "c.c": [f"-gdwarf-{dwarf}", "-gz"]})
    args = ["-shared", "a.o", "b.o", "c.o", "-Wl,--gdb-index"]
    assert_same_as_lld(link(tmp_path, "x.so", args), link(tmp_path, "y.so", args, linker="lld"))


@needs_lld
def test_without_pubnames_cu_list_and_addresses_only(tmp_path):
    compile_all(tmp_path, {"a.c": ["-gdwarf-5"], "b.c": ["-gdwarf-4", "-ffunction-sections"]},
                common=("-g", "-fPIC"))
    args = ["-shared", "a.o", "b.o", "-Wl,--gdb-index"]
    cus, areas, syms, _ = assert_same_as_lld(link(tmp_path, "x.so", args),
                                             link(tmp_path, "y.so", args, linker="lld"))
    assert len(cus) == 2 and areas and not syms


@needs_lld
@pytest.mark.parametrize("dwarf", ["4", "5"])
def test_split_dwarf_skeletons_match_lld(tmp_path, dwarf):
    compile_all(tmp_path, {"a.c": [f"-gdwarf-{dwarf}", "-gsplit-dwarf"],
                           "b.c": [f"-gdwarf-{dwarf}", "-gsplit-dwarf", "-ffunction-sections"],
                           "c.c": ["-gdwarf-5"], "m.c": ["-gdwarf-5", "-gsplit-dwarf", "-gz"]})
    args = ["a.o", "b.o", "c.o", "m.o", "-Wl,--gdb-index"]
    ours = link(tmp_path, "x", args)
    _, areas, syms, _ = assert_same_as_lld(ours, link(tmp_path, "y", args, linker="lld"))
    assert areas and syms["fn1"] == ["0 [global, function]"]
    assert_functions_in_their_cu(ours)
    if HAVE_GDB:
        assert_gdb_reads(ours, "fn3", "b.c", cwd=str(tmp_path))


@needs_lld
@pytest.mark.skipif(not HAVE_CLANG, reason="clang not installed")
def test_clang_rnglistx_matches_lld(tmp_path):
    """clang's DWARF 5 units name their ranges with DW_FORM_rnglistx (through
    DW_AT_rnglists_base) and their addresses with DW_FORM_addrx."""
    compile_all(tmp_path, {"a.c": ["-gdwarf-5", "-ffunction-sections"], "b.c": ["-gdwarf-5", "-O1"],
                           "c.c": ["-gdwarf-4"], "m.c": ["-gdwarf-5"]}, compiler="clang")
    dump = run(["readelf", "--debug-dump=info", str(tmp_path / "a.o")]).stdout
    assert re.search(r"DW_AT_ranges\s*: \(index", dump), dump      # DW_FORM_rnglistx
    args = ["a.o", "b.o", "c.o", "m.o", "-Wl,--gdb-index"]
    ours = link(tmp_path, "x", args, compiler="clang")
    assert_same_as_lld(ours, link(tmp_path, "y", args, linker="lld", compiler="clang"))
    assert_functions_in_their_cu(ours)


@needs_gdb
def test_dwarf64_units_are_listed_whole_and_gdb_reads_them(tmp_path):
    """lld lists a DWARF64 unit as length + 4 bytes, and gdb then aborts; ldpy
    lists the whole unit (length + 12), as mold and gdb's own writer do."""
    compile_all(tmp_path, {"a.c": ["-gdwarf-5", "-gdwarf64", "-ffunction-sections"],
                           "b.c": ["-gdwarf-4", "-gdwarf64"], "c.c": ["-gdwarf-5"]})
    ours = link(tmp_path, "x.so", ["-shared", "a.o", "b.o", "c.o", "-Wl,--gdb-index"])
    cus, _, syms, _ = gdb_index(ours)
    info = run(["readelf", "--debug-dump=info", ours]).stdout
    lengths = [int(x, 16) for x in re.findall(r"Length:\s+(0x[0-9a-f]+) \(64-bit\)", info)]
    assert cus[:2] == [n + 12 for n in lengths[:2]]
    assert syms["fn3"] == ["1 [global, function]"]
    assert_gdb_reads(ours, "fn3", "b.c")


def test_no_gdb_index_and_strip_debug_give_no_section(mixed):
    for extra in (["-Wl,--gdb-index", "-Wl,--no-gdb-index"], ["-Wl,--gdb-index", "-Wl,-S"], []):
        out = link(mixed, "plain", ["a.o", "b.o", "c.o", "m.o", *extra])
        secs = run(["readelf", "-SW", out]).stdout
        assert ".gdb_index" not in secs
        assert (".debug_gnu_pubnames" in secs) == ("-Wl,-S" not in extra)


def test_relocatable_link_refuses_gdb_index(mixed):
    r = subprocess.run(["gcc", "-B", shim_dir(), "-r", "a.o", "-Wl,--gdb-index", "-o", "r.o"],
                       cwd=str(mixed), capture_output=True, text=True)
    assert r.returncode != 0 and "-r and --gdb-index may not be used together" in r.stderr


# -- broken DWARF: warnings, the link goes on --------------------------------------------
def _corrupt(tmp, src_obj, section, edit):
    e = Elf((tmp / src_obj).read_bytes())
    i = e.section(section)
    off, size = e.contents(i)
    edit(e, i, off, size)
    out = tmp / f"bad-{section.strip('.')}.o"
    out.write_bytes(bytes(e))
    return out.name


@pytest.mark.parametrize("section,edit,message", [
    (".debug_info", lambda e, i, off, size: struct.pack_into("<I", e.b, off, size + 100),
     "extends past section size"),
    (".debug_info", lambda e, i, off, size: struct.pack_into("<H", e.b, off + 4, 9),
     "unsupported version 9"),
    (".debug_gnu_pubnames", lambda e, i, off, size: e.set_shdr(i, "sh_size", size - 7),
     "name lookup table at offset 0x0 parsing failed"),
    (".debug_abbrev", lambda e, i, off, size: e.set_shdr(i, "sh_size", 2),
     "(.debug_info): truncated abbreviation table"),
])
def test_broken_dwarf_is_a_warning(tmp_path, section, edit, message):
    compile_all(tmp_path, {"a.c": ["-gdwarf-5", "-ffunction-sections"], "b.c": ["-gdwarf-4"]})
    bad = _corrupt(tmp_path, "a.o", section, edit)
    r = subprocess.run(["gcc", "-B", shim_dir(), "-shared", bad, "b.o", "-Wl,--gdb-index", "-o", "x.so"],
                       cwd=str(tmp_path), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert "warning:" in r.stderr and message in r.stderr, r.stderr
    cus, _, syms, _ = gdb_index(str(tmp_path / "x.so"))
    assert "fn3" in syms                            # b.o's part of the index is whole


def test_broken_range_lists_leave_out_that_objects_addresses(tmp_path):
    compile_all(tmp_path, {"a.c": ["-gdwarf-5", "-ffunction-sections"], "b.c": ["-gdwarf-4"]})

    def edit(e, i, off, size):                      # every rnglists entry kind -> unknown 0x3f
        e.b[off + 12:off + size] = bytes([0x3f]) * (size - 12)
    bad = _corrupt(tmp_path, "a.o", ".debug_rnglists", edit)
    r = subprocess.run(["gcc", "-B", shim_dir(), "-shared", bad, "b.o", "-Wl,--gdb-index", "-o", "x.so"],
                       cwd=str(tmp_path), capture_output=True, text=True)
    assert r.returncode == 0 and "unknown rnglists encoding 0x3f" in r.stderr, r.stderr
    cus, areas, _, _ = gdb_index(str(tmp_path / "x.so"))
    assert len(cus) == 2 and areas and all(cu == 1 for cu, _, _ in areas)


# -- the hash and the table, against lld's definitions ----------------------------------
def _lld_hash(s):
    h = 0
    for c in s:
        c = c + 32 if 65 <= c <= 90 else c
        h = (h * 67 + c - 113) & 0xffffffff
    return h


def test_gdb_hash_is_mapped_index_string_hash():
    from ldpy.gdb_index import _gdb_hash
    rng = random.Random(5)
    names = [b"main", b"", b"Fn1", b"std::vector<int, std::allocator<int> >::push_back",
             bytes(rng.randrange(1, 256) for _ in range(300))] + \
        [bytes(rng.choice(b"abcXYZ_:<>0123") for _ in range(rng.randrange(1, 40))) for _ in range(500)]
    buf = b"\0".join(names) + b"\0"
    starts = np.cumsum([0] + [len(n) + 1 for n in names[:-1]])
    ends = starts + np.array([len(n) for n in names])
    got = _gdb_hash(np.frombuffer(buf, np.uint8), starts, ends)
    assert got.tolist() == [_lld_hash(n) for n in names]


@pytest.mark.parametrize("n,size", [(700, 1024), (3000, 4096), (12000, 16384), (1500, 2048)])
def test_hash_table_rounds_equal_sequential_insertion(n, size):
    from ldpy.gdb_index import _hash_table
    rng = np.random.default_rng(n)
    h = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    h[n // 2:n // 2 + 50] = h[:50]                  # identical hashes: long probe chains
    mask = size - 1
    table = [-1] * size
    for k, v in enumerate(h.tolist()):
        i, step = v & mask, ((v * 17) & mask) | 1
        while table[i] != -1:
            i = (i + step) & mask
        table[i] = k
    slot = _hash_table(h, size)
    expect = np.empty(n, np.int64)
    for s, k in enumerate(table):
        if k >= 0:
            expect[k] = s
    assert slot.tolist() == expect.tolist()


def _pub_reference(raw, sets):
    """LLVM's DWARFDebugPubTable loop over each set's entries."""
    out, ended = [], []
    for k, (p, end, o) in enumerate(sets):
        ok = False
        while p + o <= end:
            if int.from_bytes(raw[p:p + o], "little") == 0:
                ok = True
                break
            q = p + o + 1
            z = raw.find(b"\0", q, end) if q <= end else -1
            if z < 0:
                break
            out.append((k, q, z, raw[p + o]))
            p = z + 1
        ended.append(ok)
    return out, ended


@pytest.mark.parametrize("nsets,most,seed", [(200, 60, 1), (3, 3000, 2), (40, 2, 3), (1, 20000, 4),
                                             (100, 5, 5)])
def test_pub_entries_equal_the_sequential_reading(nsets, most, seed):
    """Entries found by the vectorized walk (all sets stepping together, then
    pointer doubling over the long ones) are LLVM's sequential ones, for 32- and
    64-bit sets, die offsets with NUL bytes, empty names and truncated sets."""
    from ldpy.gdb_index import _pub_entries
    rng = random.Random(seed)
    parts, sets, pos = [], [], 0
    for s in range(nsets):
        o = rng.choice((4, 4, 8))
        body = b""
        for i in range(rng.randrange(most)):
            die = rng.choice([i + 1, 0x100, 0x10000, 0x1000000, rng.randrange(1, 1 << (8 * o))])
            name = rng.choice([b"", b"a", f"n{s}_{i}".encode(), b"\x01" * rng.randrange(6)])
            body += die.to_bytes(o, "little") + bytes([rng.randrange(256)]) + name + b"\0"
        body += bytes(o)
        end = pos + 20 + len(body)
        if rng.random() < 0.2:
            end -= rng.randrange(1, min(len(body), 12) + 1)      # a truncated set
        sets.append((pos + 20, end, o))
        parts.append(b"\x07" * 20 + body)
        pos += 20 + len(body)
    raw = b"".join(parts)
    expect, ended = _pub_reference(raw, sets)
    got = _pub_entries(np.frombuffer(raw, np.uint8), [(a, b, o, 0, None, 0, b, 0) for a, b, o in sets])
    sid, q, z, flags, got_ended, _ = got
    assert list(zip(sid.tolist(), q.tolist(), z.tolist(), flags.tolist())) == expect
    assert got_ended.tolist() == ended


def _names_buffer(names):
    buf = b"\0".join(names) + b"\0"
    starts = np.cumsum([0] + [len(n) + 1 for n in names[:-1]]).astype(np.int64)
    return np.frombuffer(buf, np.uint8), starts, starts + np.array([len(n) for n in names], np.int64)


@pytest.mark.parametrize("collide", [False, True])
def test_unique_names_are_exact_and_in_first_seen_order(monkeypatch, collide):
    """Names are grouped by hashes and checked byte for byte; when hashes collide
    (forced here) the exact dictionary takes over."""
    import ldpy.gdb_index as G
    rng = random.Random(9)
    pool = [b"int", b"Int", b"char", b"", b"x" * 300, b"std::string"] + \
        [bytes(rng.choice(b"abAB_:") for _ in range(rng.randrange(1, 8))) for _ in range(400)]
    names = [rng.choice(pool) for _ in range(3000)]
    if collide:
        real = G._gdb_hash

        def flat(buf, s, e, second=False):
            h = real(buf, s, e)
            return (h, np.zeros(len(s), np.uint64)) if second else h
        monkeypatch.setattr(G, "_gdb_hash", flat)
    buf, s, e = _names_buffer(names)
    ids, first, _ = G._unique_names(buf, s, e)
    seen = {}
    expect = [seen.setdefault(n, len(seen)) for n in names]
    assert ids.tolist() == expect
    assert [names[i] for i in first.tolist()] == list(seen)


def test_script_layout_places_the_index_with_the_debug_sections(mixed):
    """Under ldpy's default script (-Ttext-segment) the index follows the debug
    sections and its addresses are the script layout's."""
    out = link(mixed, "scripted", ["a.o", "b.o", "c.o", "m.o", "-Wl,--gdb-index",
                                   "-Wl,-Ttext-segment=0x800000"])
    names = [ln.split()[1] for ln in run(["readelf", "-SW", out]).stdout.splitlines()
             if re.match(r"\s*\[\s*\d+\]", ln) and len(ln.split()) > 1]
    names = [n for n in names if n.startswith(".")]
    assert ".gdb_index" in names and ".debug_gnu_pubnames" not in names
    assert names.index(".gdb_index") > names.index(".debug_info")
    _, areas, _, _ = gdb_index(out)
    assert areas and all(lo >= 0x800000 for _, lo, _ in areas)
    assert_functions_in_their_cu(out)
