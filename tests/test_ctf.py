"""CTF (.ctf) linking: ldpy's output against the inputs, ld.bfd's output and libctf.

C programs of several CUs (shared types, a struct name with two layouts, bitfields,
enums, function pointers, anonymous and recursive types) are compiled with
``gcc -gctf`` and linked by ldpy and ld.bfd.  Checked: ``objdump --ctf`` reads the
output without a warning; libctf (libctf.so.0 through ctypes) opens it and walks
every type; every CU's types read back as in its object; every exported symbol's
type reads back as in its object; the type counts of parent and children are
within a few of ld.bfd's (both printed).
"""
import ctypes
import os
import re
import struct
import subprocess
import sys

import pytest

from e2e_util import shim_dir

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

COMMON = r"""
typedef unsigned long size_t;
struct list { struct list *next, *prev; };
struct node { int key; struct node *left, *right; struct list link; };
enum color { RED, GREEN = 5, BLUE };
struct flags { unsigned a:1, b:3; int c:12; enum color col:4; };
typedef int (*cmp_fn)(const void *, const void *);
union val { int i; double d; char s[8]; };
struct anon_holder { struct { int x, y; } pos; union { long l; float f; }; };
"""
M1 = r"""#include "common.h"
struct conf { int version; const char *name; };
struct conf global_conf = {1, "one"};
struct node *root;
struct flags fl;
cmp_fn comparator;
union val v1;
struct anon_holder ah;
static int local_counter;
int api_count(struct node *n) { return n ? 1 + api_count(n->left) + local_counter : 0; }
int vfn(int n, ...) { return n; }
"""
M2 = r"""#include "common.h"
struct conf { long version; double ratio; char tag[4]; };
struct conf other_conf;
enum color favourite = BLUE;
const volatile int cv_int;
int *restrict rp;
struct node *insert(struct node *r, int key) { return r; }
double apply(cmp_fn f, union val *v) { return v->d; }
typedef struct conf conf_t;
conf_t *conf_ptr;
"""
M3 = r"""#include "common.h"
struct opaque;
struct opaque *handle;
struct list head;
int m3_table[10][3];
int (*fparr[4])(int);
struct conf *maybe;
typedef enum { A1, A2 } anon_enum_t;
anon_enum_t ae;
int main(void) { return 0; }
"""


def sh(cmd, cwd, check=True):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, f"{cmd}: {r.stderr}"
    return r


@pytest.fixture(scope="module")
def objs(tmp_path_factory):
    d = tmp_path_factory.mktemp("ctf")
    for name, text in (("common.h", COMMON), ("m1.c", M1), ("m2.c", M2), ("m3.c", M3)):
        (d / name).write_text(text)
    for m in ("m1", "m2", "m3"):
        sh(["gcc", "-gctf", "-c", f"{m}.c", "-o", f"{m}.o"], d)
        sh(["gcc", "-gctf", "-fPIC", "-c", f"{m}.c", "-o", f"{m}p.o"], d)
    return d


def link(d, out, args, linker):
    sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
    sh(["gcc", *args, "-o", out, *sel], d)
    return str(d / out)


def ldpy(d, *args):
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "src"))
    return subprocess.run([sys.executable, "-m", "ldpy", *args], cwd=d, capture_output=True,
                          text=True, env=env, timeout=600)


def objdump_ctf(path):
    r = subprocess.run(["objdump", "--ctf", path], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "CTF error" not in r.stdout and "warning" not in r.stdout.lower()
    return r.stdout


def type_counts(dump):
    """{member name: number of types} from objdump --ctf (the parent is '.ctf')."""
    counts, cur = {}, ".ctf"
    for line in dump.splitlines():
        m = re.match(r"CTF archive member: (.*):$", line)
        if m:
            cur = m.group(1)
        elif re.match(r"    0x[0-9a-f]+: \(kind", line):
            counts[cur] = counts.get(cur, 0) + 1
    return counts


def objdump_symbol_tables(path):
    """{(dictionary, symbol): C type} from objdump --ctf's data-object and function tables."""
    out, on, cur = {}, False, ".ctf"
    for line in objdump_ctf(path).splitlines():
        m = re.match(r"CTF archive member: (.*):$", line)
        if m:
            cur = m.group(1)
        if line.startswith("  Data objects:") or line.startswith("  Function objects:"):
            on = True
        elif line.startswith("  ") and not line.startswith("    "):
            on = False
        elif on:
            m = re.match(r"    (\S+) -> 0x[0-9a-f]+: \(kind \d+\) (.*?) "
                         r"\((?:size 0x|aligned at|format 0x)", line)
            if m:
                out[(cur, m.group(1))] = m.group(2)
    return out


def objdump_symbols(path):
    """{symbol: C type}, the parent's first (where libctf's lookup finds it)."""
    out = {}
    for (_, sym), typ in objdump_symbol_tables(path).items():
        out.setdefault(sym, typ)
    return out


# -- libctf through ctypes ------------------------------------------------------

class LibCTF:
    def __init__(self):
        L = self.L = ctypes.CDLL("libctf.so.0")
        self.libc = ctypes.CDLL(None)
        self.libc.free.argtypes = [ctypes.c_void_p]
        vp, cid, ip = ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_int)
        self.ERR = cid(-1).value

        def sig(name, res, *args):
            f = getattr(L, name)
            f.restype, f.argtypes = res, list(args)
        sig("ctf_open", vp, ctypes.c_char_p, ctypes.c_char_p, ip)
        sig("ctf_close", None, vp)
        sig("ctf_archive_next", vp, vp, ctypes.POINTER(vp), ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int, ip)
        sig("ctf_type_next", cid, vp, ctypes.POINTER(vp), ip, ctypes.c_int)
        sig("ctf_type_aname", vp, vp, cid)
        sig("ctf_type_kind", ctypes.c_int, vp, cid)
        sig("ctf_type_size", ctypes.c_ssize_t, vp, cid)
        sig("ctf_member_next", ctypes.c_ssize_t, vp, cid, ctypes.POINTER(vp),
            ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(cid), ctypes.c_int)
        sig("ctf_enum_next", ctypes.c_char_p, vp, cid, ctypes.POINTER(vp), ip)
        sig("ctf_arc_lookup_symbol_name", vp, vp, ctypes.c_char_p, ctypes.POINTER(cid), ip)
        sig("ctf_errmsg", ctypes.c_char_p, ctypes.c_int)
        sig("ctf_errno", ctypes.c_int, vp)

    def aname(self, fp, t):
        p = self.L.ctf_type_aname(fp, t)
        assert p, f"ctf_type_aname({t:#x}): {self.L.ctf_errmsg(self.L.ctf_errno(fp))}"
        s = ctypes.string_at(p).decode()
        self.libc.free(p)
        return s

    def describe(self, fp, t):
        """(kind, C name, size, members or enumerators) of one type."""
        L = self.L
        kind = L.ctf_type_kind(fp, t)
        assert kind >= 0
        size = L.ctf_type_size(fp, t) if kind != 9 else -1
        extra = ()
        if kind in (6, 7):
            it, name, mt, out = ctypes.c_void_p(), ctypes.c_char_p(), ctypes.c_ulong(), []
            while True:
                off = L.ctf_member_next(fp, t, ctypes.byref(it), ctypes.byref(name),
                                        ctypes.byref(mt), 0)
                if off < 0:
                    break
                out.append(((name.value or b"").decode(), off, self.aname(fp, mt.value)))
            extra = tuple(out)
        elif kind == 8:
            it, val, out = ctypes.c_void_p(), ctypes.c_int(), []
            while True:
                n = L.ctf_enum_next(fp, t, ctypes.byref(it), ctypes.byref(val))
                if n is None:
                    break
                out.append((n.decode(), val.value))
            extra = tuple(out)
        return (kind, self.aname(fp, t), size, extra)

    def walk(self, path):
        """{dict name: set of type descriptions}, walking every type of every dict."""
        L = self.L
        err = ctypes.c_int()
        arc = L.ctf_open(str(path).encode(), None, ctypes.byref(err))
        assert arc, f"libctf cannot open {path}: {L.ctf_errmsg(err.value)}"
        out = {}
        it, name = ctypes.c_void_p(), ctypes.c_char_p()
        while True:
            fp = L.ctf_archive_next(arc, ctypes.byref(it), ctypes.byref(name), 0, ctypes.byref(err))
            if not fp:
                break
            ti, flag, types = ctypes.c_void_p(), ctypes.c_int(), set()
            while True:
                t = L.ctf_type_next(fp, ctypes.byref(ti), ctypes.byref(flag), 1)
                if t == self.ERR:
                    break
                types.add(self.describe(fp, t))
            out[name.value.decode()] = types
        L.ctf_close(arc)
        return out

    def symbol_types(self, path, names):
        L = self.L
        err = ctypes.c_int()
        arc = L.ctf_open(str(path).encode(), None, ctypes.byref(err))
        assert arc
        out = {}
        for n in names:
            tid = ctypes.c_ulong()
            fp = L.ctf_arc_lookup_symbol_name(arc, n.encode(), ctypes.byref(tid), ctypes.byref(err))
            if fp:
                out[n] = self.aname(fp, tid.value)
        L.ctf_close(arc)
        return out


@pytest.fixture(scope="module")
def libctf():
    return LibCTF()


def cu_view(walked, cu):
    """The types a CU sees in a linked output: the parent's and its child's."""
    return walked.get(".ctf", set()) | walked.get(cu, set())


def assert_cus_read_back(libctf, out, objects):
    walked = libctf.walk(out)
    for o in objects:
        (cu,) = [n for n in subprocess.run(["objdump", "--ctf", o], capture_output=True,
                                           text=True).stdout.splitlines()
                 if "Compilation unit name:" in n]
        cu = cu.split(": ", 1)[1]
        # a type citing a struct whose name has two layouts cites a forward of it
        # in the parent, so its size is unknown there (libctf's rule, ld.bfd's output)
        view = {}
        for t in cu_view(walked, cu):
            view.setdefault((t[0], t[1], t[3]), set()).add(t[2])
        missing = [t for t in libctf.walk(o)[".ctf"] if t[0] != 9      # forwards may be resolved
                   and not view.get((t[0], t[1], t[3]), set()) & {t[2], -1}]
        assert not missing, f"{o} ({cu}): types not in the output: {sorted(missing)[:5]}"
    return walked


def assert_counts_close(ours, bfd, slack=3):
    print(f"type counts: ldpy {ours}  ld.bfd {bfd}")
    assert set(ours) == set(bfd)
    for k in bfd:
        assert abs(ours[k] - bfd[k]) <= slack, (k, ours[k], bfd[k])


def test_executable(objs, libctf):
    out = link(objs, "e_ldpy", ["m1.o", "m2.o", "m3.o"], "ldpy")
    ref = link(objs, "e_bfd", ["m1.o", "m2.o", "m3.o"], "bfd")
    dump = objdump_ctf(out)
    counts = type_counts(dump)
    assert_counts_close(counts, type_counts(objdump_ctf(ref)))
    # struct conf has two layouts: a forward in the parent, each CU's in its child
    assert set(counts) == {".ctf", str(objs / "m1.c"), str(objs / "m2.c")}
    walked = assert_cus_read_back(libctf, out, [str(objs / f"m{i}.o") for i in (1, 2, 3)])
    assert (9, "struct conf", -1, ()) in walked[".ctf"]
    sizes = {cu: [t[2] for t in walked[cu] if t[1] == "struct conf"] for cu in walked if cu != ".ctf"}
    assert sorted(sizes.values()) == [[16], [24]]
    # the shared, recursive and anonymous types are once, in the parent
    names = [t[1] for t in walked[".ctf"]]
    for n in ("struct node", "struct list", "struct flags", "union val", "cmp_fn",
              "struct anon_holder", "anon_enum_t"):
        assert names.count(n) == 1, n
    enums = [t for t in walked[".ctf"] if t[1] == "enum color" and t[3]]     # (and a bitfield slice)
    assert enums[0][3] == (("RED", 0), ("GREEN", 5), ("BLUE", 6))
    flags = [t for t in walked[".ctf"] if t[1] == "struct flags"][0]
    assert [m[:2] for m in flags[3]] == [("a", 0), ("b", 1), ("c", 4), ("col", 16)]
    # the whole output as ld.bfd writes it (same symbol tables: no dynamic symbols)
    assert dump.split("\n", 2)[2] == objdump_ctf(ref).split("\n", 2)[2]


def test_shared_library_symbols(objs, libctf):
    out = link(objs, "libs_ldpy.so", ["-shared", "m1p.o", "m2p.o"], "ldpy")
    ref = link(objs, "libs_bfd.so", ["-shared", "m1p.o", "m2p.o"], "bfd")
    assert_counts_close(type_counts(objdump_ctf(out)), type_counts(objdump_ctf(ref)))
    assert_cus_read_back(libctf, out, [str(objs / "m1p.o"), str(objs / "m2p.o")])
    dyn = subprocess.run(["readelf", "-W", "--dyn-syms", out], capture_output=True, text=True).stdout
    exported = [ln.split()[7] for ln in dyn.splitlines()
                if len(ln.split()) >= 8 and ln.split()[3] in ("OBJECT", "FUNC") and ln.split()[6] != "UND"]
    assert {"global_conf", "other_conf", "api_count", "insert", "apply", "fl", "favourite"} <= set(exported)
    want = {}
    for o in ("m1p.o", "m2p.o"):      # (libctf's name lookup in an object misses some)
        want.update({k: v for k, v in objdump_symbols(str(objs / o)).items() if k in exported})
    got = libctf.symbol_types(out, exported)
    assert objdump_symbols(out) == got
    assert got == want
    assert got["global_conf"] == "struct conf" and got["vfn"] == "int (*) (int, ...)"
    # symbol tables in .dynsym order: unindexed and sorted (CTF_F_IDXSORTED)
    assert "CTF_F_IDXSORTED" in objdump_ctf(out).split("Types:")[0]


def test_relocatable_then_final(objs, libctf):
    r = ldpy(objs, "-r", "m1.o", "m2.o", "-o", "r_ldpy.o")
    assert r.returncode == 0, r.stderr
    sh(["ld.bfd", "-r", "m1.o", "m2.o", "-o", "r_bfd.o"], objs)
    dump = objdump_ctf(str(objs / "r_ldpy.o"))
    assert "CTF archive member" in dump and "Object index section" in dump
    assert_counts_close(type_counts(dump), type_counts(objdump_ctf(str(objs / "r_bfd.o"))))
    assert_cus_read_back(libctf, str(objs / "r_ldpy.o"), [str(objs / "m1.o"), str(objs / "m2.o")])
    out = link(objs, "rr_ldpy", ["r_ldpy.o", "m3.o"], "ldpy")
    ref = link(objs, "rr_bfd", ["r_bfd.o", "m3.o"], "bfd")
    assert objdump_ctf(out).split("\n", 2)[2] == objdump_ctf(ref).split("\n", 2)[2]
    assert_cus_read_back(libctf, out, [str(objs / f"m{i}.o") for i in (1, 2, 3)])


@pytest.mark.parametrize("opt", ["--ctf-variables", "--ctf-share-types=share-duplicated",
                                 "--ctf-share-types=share-unconflicted", "--no-ctf-variables"])
def test_options_as_ld_bfd(objs, libctf, opt):
    out = link(objs, "o_ldpy", [f"-Wl,{opt}", "m1.o", "m2.o", "m3.o"], "ldpy")
    ref = link(objs, "o_bfd", [f"-Wl,{opt}", "m1.o", "m2.o", "m3.o"], "bfd")
    assert objdump_ctf(out).split("\n", 2)[2] == objdump_ctf(ref).split("\n", 2)[2]
    libctf.walk(out)


def test_option_values(objs):
    r = ldpy(objs, "--ctf-share-types=bogus", "m3.o", "-o", "x")
    assert r.returncode == 1 and r.stderr.strip() == "ldpy: error: bad --ctf-share-types option: bogus"


@pytest.mark.parametrize("strip", ["-s", "-S", "--strip-debug"])
def test_strip_keeps_ctf(objs, libctf, strip):
    """ld.bfd 2.40 keeps .ctf under -s, -S and --strip-debug."""
    out = link(objs, "s_ldpy", [f"-Wl,{strip}", "m1.o", "m3.o"], "ldpy")
    ref = link(objs, "s_bfd", [f"-Wl,{strip}", "m1.o", "m3.o"], "bfd")
    assert objdump_ctf(out).split("\n", 2)[2] == objdump_ctf(ref).split("\n", 2)[2]


def _ctf_offset(path):
    out = subprocess.run(["readelf", "-W", "-S", path], capture_output=True, text=True).stdout
    for ln in out.splitlines():
        if " .ctf " in ln:
            return int(ln.split(".ctf")[1].split()[2], 16)
    raise AssertionError("no .ctf")


@pytest.mark.parametrize("damage", ["magic", "offsets", "type"])
def test_broken_ctf(objs, libctf, damage):
    """As ld.bfd: an unreadable dictionary is dropped with a warning naming its file;
    one that breaks the deduplication drops the output's CTF with a warning."""
    data = bytearray((objs / "m1.o").read_bytes())
    off = _ctf_offset(str(objs / "m1.o"))
    if damage == "magic":
        data[off] = 0
    elif damage == "offsets":
        data[off + 44:off + 48] = b"\xff\xff\xff\x7f"          # cth_typeoff past the end
    else:
        stroff = struct.unpack_from("<I", data, off + 44)[0]
        data[off + 52 + stroff - 8:off + 52 + stroff] = b"\xff" * 8   # last record's type ids
    (objs / f"bad_{damage}.o").write_bytes(bytes(data))
    r = ldpy(objs, f"bad_{damage}.o", "m2.o", "m3.o", "-e", "main", "-o", f"bad_{damage}")
    assert r.returncode == 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ldpy: warning: CTF ") and f"bad_{damage}.o" in lines[0]
    if damage == "type":
        # ld.bfd's output then holds an empty dictionary
        assert "output will have no CTF section" in lines[0]
        dump = objdump_ctf(str(objs / "bad_type"))
        assert "String section:\t0x0 -- 0x1 " in dump and "Type section" not in dump
    else:
        assert "not loaded; its types will be discarded" in lines[0]
        walked = libctf.walk(str(objs / f"bad_{damage}"))
        assert any(t[1] == "struct conf" and t[2] == 24 for t in walked[".ctf"])


def test_no_readable_ctf(objs):
    """No input dictionary loads: the section keeps its size, zeroed, as ld.bfd's."""
    data = bytearray((objs / "m3.o").read_bytes())
    off = _ctf_offset(str(objs / "m3.o"))
    data[off] = 0
    (objs / "bad3.o").write_bytes(bytes(data))
    r = ldpy(objs, "bad3.o", "-e", "main", "-o", "bad3")
    assert r.returncode == 0 and "CTF section in bad3.o not loaded" in r.stderr
    sh(["ld.bfd", "bad3.o", "-e", "main", "-o", "bad3_bfd"], objs)
    for out in ("bad3", "bad3_bfd"):
        sh(["objcopy", "--dump-section", f".ctf={out}.ctf", out, f"{out}.tmp"], objs)
    ours = (objs / "bad3.ctf").read_bytes()
    assert ours == (objs / "bad3_bfd.ctf").read_bytes() and len(ours) > 100 and not any(ours)


def test_linker_script(objs):
    """With -T (ldpy's own default script) the output's .ctf is ld.bfd's."""
    script = ldpy(objs, "--verbose").stdout.split("=" * 50)[1]
    (objs / "def.ld").write_text(script)
    out = link(objs, "t_ldpy", ["-Wl,-T,def.ld", "m1.o", "m2.o", "m3.o"], "ldpy")
    ref = link(objs, "t_bfd", ["m1.o", "m2.o", "m3.o"], "bfd")
    assert objdump_ctf(out).split("\n", 2)[2] == objdump_ctf(ref).split("\n", 2)[2]


def test_big_endian_dictionary(objs):
    """A big-endian dictionary (powerpc) reads and merges like a little-endian one."""
    from ldpy.ctf import format as fmt
    from ldpy.ctf.link import merge
    sh(["powerpc-linux-gnu-gcc", "-gctf", "-c", "m1.c", "-o", "be1.o"], objs)
    sh(["powerpc-linux-gnu-gcc", "-gctf", "-c", "m3.c", "-o", "be3.o"], objs)
    dicts = []
    for o in ("be1.o", "be3.o"):
        sh(["powerpc-linux-gnu-objcopy", "--dump-section", f".ctf={o}.ctf", o, f"{o}.tmp"], objs)
        raw = (objs / f"{o}.ctf").read_bytes()
        assert raw[:2] == b"\xdf\xf2"
        dicts += fmt.read_section(raw, o)
    names = {t.name for d in dicts for t in d.types[1:] if t.kind != fmt.K_FUNCTION}
    assert {"node", "list", "flags", "color", "cmp_fn", "conf", "anon_enum_t"} <= names
    for little in (True, False):
        out = merge(dicts, reported=None, little=little)
        (back,) = fmt.read_section(out, "merged")
        assert {t.name for t in back.types[1:] if t.kind != fmt.K_FUNCTION} == names
        assert dict(back.objt)["global_conf"] and dict(back.func)["api_count"]


@pytest.mark.parametrize("case", ["plain", "shared", "broken", "unreadable", "archive", "script",
                                  "discarded"])
def test_merge_beside_the_link(objs, case):
    """With two threads a big CTF merge runs in a worker beside the other passes
    (LDPY_SPLIT_ALWAYS takes that path for these small inputs): the output and the
    warnings are those of the serial merge.  When every .ctf input is an object named
    on the command line, the worker starts right after the options are read (before
    numpy is imported); an archive member or a linker script among the inputs makes
    the link start it later, from the sections it really links."""
    data = bytearray((objs / "m1.o").read_bytes())
    data[_ctf_offset(str(objs / "m1.o"))] = 0
    (objs / "nomagic.o").write_bytes(bytes(data))
    if not (objs / "libm3.a").exists():
        sh(["ar", "rcs", "libm3.a", "m3.o"], objs)
        (objs / "plain.t").write_text("INPUT(m3.o)\n")
        (objs / "discard.t").write_text("SECTIONS { /DISCARD/ : { *(.ctf) } }\nINSERT AFTER .text;\n")
    args = {"plain": ["m1.o", "m2.o", "m3.o", "-e", "main"],
            "shared": ["-shared", "m1p.o", "m2p.o", "m3p.o"],
            "broken": ["nomagic.o", "m2.o", "m3.o", "-e", "main"],
            "unreadable": ["nomagic.o", "-e", "main"],
            "archive": ["m1.o", "m2.o", "libm3.a", "-e", "main"],
            "script": ["m1.o", "m2.o", "plain.t", "-e", "main"],
            "discarded": ["m1.o", "m2.o", "m3.o", "-T", "discard.t", "-e", "main"]}[case]
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "src"))
    runs = {}
    for threads, split in (("1", ""), ("2", "1")):
        out = f"beside_{case}_{threads}"
        r = subprocess.run([sys.executable, "-m", "ldpy", f"--threads={threads}", "--stats", *args,
                            "-o", out], cwd=objs, capture_output=True, text=True, timeout=600,
                           env=dict(env, LDPY_SPLIT_ALWAYS=split))
        assert r.returncode == 0, r.stderr
        warnings = [l for l in r.stderr.splitlines() if l.startswith("ldpy: warning:")]
        runs[threads] = ((objs / out).read_bytes(), warnings, r.stderr)
    assert runs["1"][0] == runs["2"][0]
    assert runs["1"][1] == runs["2"][1]
    assert "CTF from the worker" not in runs["1"][2]
    if case == "discarded":         # (a script that places sections: no worker)
        assert ".ctf" not in subprocess.run(["readelf", "-SW", str(objs / "beside_discarded_2")],
                                            capture_output=True, text=True).stdout
        assert "CTF from the worker" not in runs["2"][2]
        return
    early = case not in ("archive", "script")
    assert ("CTF from the worker started with the command line" in runs["2"][2]) == early
    assert ("CTF from the worker beside the link" in runs["2"][2]) == (not early)
    if case in ("broken", "unreadable"):
        assert sum("nomagic.o not loaded" in w for w in runs["2"][1]) == 1


def test_stats_and_lazy_import(objs):
    r = ldpy(objs, "--stats", "m1.o", "m3.o", "-e", "main", "-o", "st")
    assert re.search(r"^ldpy: link_ctf\s", r.stderr, re.M), r.stderr
    sh(["gcc", "-c", "m3.c", "-o", "plain.o"], objs)
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "src"))
    code = ("import sys; sys.argv = ['ldpy', 'plain.o', '-e', 'main', '-o', 'plain']\n"
            "from ldpy.main import main\n"
            "assert main() == 0\n"
            "print(sorted(m for m in sys.modules if m.startswith('ldpy.ctf')))")
    r = subprocess.run([sys.executable, "-c", code], cwd=objs, capture_output=True, text=True, env=env)
    # (only the light look at the command line, ctf/early.py, which found nothing)
    assert r.stdout.strip().splitlines()[-1] == "['ldpy.ctf', 'ldpy.ctf.early']", r.stdout + r.stderr


# -- a real code base: SQLite's amalgamation and the sqlean extensions ---------------

SQLEAN = "sqlean.py==3.50.4.5"       # an sdist with sqlite3.c, shell.c and 13 extensions


def _type_names(dump):
    return {m.group(1).strip() for m in re.finditer(r"^ +0x[0-9a-f]+: \(kind \d+\) (.*?)(?: \(|$)",
                                                   dump, re.M)}


@pytest.mark.slow
def test_sqlite_code_base(tmp_path_factory, libctf):
    """357k lines of C (sqlite3.c alone is 263k) compiled with -gctf: ldpy's shared
    library shows the set of type names ld.bfd's does, and libctf walks it."""
    d = tmp_path_factory.mktemp("sqlean")
    sh([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "-q",
        "-d", str(d), SQLEAN], d)
    (tgz,) = list(d.glob("sqlean_py-*.tar.gz"))
    sh(["tar", "xzf", tgz.name], d)
    src = next(p for p in d.glob("sqlean_py-*") if p.is_dir()) / "sqlite"
    sources = sorted(p.name for p in src.glob("*.c"))
    lines = sum(len((src / s).read_bytes().splitlines()) for s in sources)
    assert lines >= 100_000 and "sqlite3.c" in sources
    flags = ["-gctf", "-O1", "-fPIC", "-I.", "-DPCRE2_CODE_UNIT_WIDTH=8", "-DPCRE2_STATIC",
             "-DHAVE_CONFIG_H"]
    procs = []
    for s in sources:                          # two at a time: the machine has two cores
        procs.append(subprocess.Popen(["gcc", *flags, "-c", s, "-o", s[:-2] + ".o"], cwd=src))
        if len(procs) == 2:
            assert all(p.wait() == 0 for p in procs)
            procs = []
    assert all(p.wait() == 0 for p in procs)
    objects = [s[:-2] + ".o" for s in sources]
    out = link(src, "libbig_ldpy.so", ["-shared", *objects, "-lm"], "ldpy")
    ref = link(src, "libbig_bfd.so", ["-shared", *objects, "-lm"], "bfd")
    ours, theirs = objdump_ctf(out), objdump_ctf(ref)
    assert _type_names(ours) == _type_names(theirs)
    assert len(_type_names(ours)) > 1500
    assert_counts_close(type_counts(ours), type_counts(theirs), slack=0)
    walked = libctf.walk(out)
    assert set(walked) == set(type_counts(ours))          # the parent and each CU's child
    # each dictionary's symbol types are ld.bfd's (a symbol whose type differs between
    # the CU declaring it and the one defining it is in the parent and in a child)
    assert objdump_symbol_tables(out) == objdump_symbol_tables(ref)
    assert objdump_symbols(out) == libctf.symbol_types(out, list(objdump_symbols(out)))
