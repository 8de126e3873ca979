"""i386 (elf_i386): ELF32, REL relocations, GOT-based PIC through %ebx.

Programs are built with Debian's cross compiler (i686-linux-gnu-gcc, sysroot
/usr/i686-linux-gnu), linked by ldpy through the gcc shim, and run natively
(static ones directly, dynamic ones through the target's ld-linux.so.2).  The
dynamic structure (readelf -d tags, --dyn-syms, -V, the section list) is
compared with the cross ld.bfd's (i686-linux-gnu-ld, which gcc uses without -B).
"""
import os
import re
import shutil
import subprocess
import sys

import pytest

from e2e_util import multiarch_static_libs
from linkutil import shim_dir

CC = "i686-linux-gnu-gcc"
CXX = "i686-linux-gnu-g++"
LIBDIR = "/usr/i686-linux-gnu/lib"
LOADER = LIBDIR + "/ld-linux.so.2"

pytestmark = pytest.mark.skipif(shutil.which(CC) is None or not os.path.exists(LOADER),
                                reason="needs gcc-i686-linux-gnu (CI installs it)")


def sh(cmd, cwd, check=True):
    r = subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True, timeout=300)
    assert "Traceback" not in r.stderr, r.stderr
    if check and r.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def build(tmp, out, args, cc=CC, ldpy=True):
    sh([cc, *args, "-o", out] + (["-B", shim_dir()] if ldpy else []), tmp)
    return os.path.join(str(tmp), out)


def run32(tmp, exe, static=False):
    cmd = [exe] if static else [LOADER, "--library-path", f"{LIBDIR}:{tmp}", exe]
    return sh(cmd, tmp).stdout


def sections(path):
    out = sh(["readelf", "-SW", path], ".").stdout
    rows = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("[") and "]" in line and not line.startswith("[Nr]"):
            f = line.split("]", 1)[1].split()
            if f and f[0] != "NULL":
                rows.append((f[0], f[1]))
    return rows


def dyn_tags(path):
    """The .dynamic tags present; (ldpy writes DT_RELCOUNT also when it is 0, as it
    writes DT_RELACOUNT on x86-64; ld.bfd leaves a zero count out)."""
    out = sh(["readelf", "-dW", path], ".").stdout
    rows = [l.split() for l in out.splitlines() if l.strip().startswith("0x")]
    return sorted({r[1] for r in rows if not (r[1] == "(RELCOUNT)" and r[2] == "0")})


def dyn_syms(path):
    out = sh(["readelf", "--dyn-syms", "-W", path], ".").stdout
    rows = set()
    for l in out.splitlines():
        f = l.split()
        if len(f) >= 8 and f[0].endswith(":") and f[0] != "Num:":
            rows.add((f[3], f[4], f[6] == "UND", f[7]))
    return rows


def version_names(path):
    out = sh(["readelf", "-VW", path], ".").stdout
    return sorted({l.split("Name:")[1].split()[0] for l in out.splitlines() if "Name:" in l})


HELLO = '#include <stdio.h>\nint main(void) { puts("hello from i386"); return 0; }\n'


@pytest.mark.parametrize("mode", ["-static", "-pie", "-no-pie", "-static-pie"])
def test_hello(tmp_path, mode):
    (tmp_path / "h.c").write_text(HELLO)
    flags = ["-fPIE"] if mode in ("-pie", "-static-pie") else ["-fno-pic"]
    sh([CC, *flags, "-c", "h.c"], tmp_path)
    exe = build(tmp_path, "h", [mode, "h.o"])
    assert sh(["readelf", "-h", exe], tmp_path).stdout.count("ELF32") == 1
    assert run32(tmp_path, exe, static=mode.startswith("-static")) == "hello from i386\n"
    if mode in ("-pie", "-no-pie"):
        ref = build(tmp_path, "ref", [mode, "h.o"], ldpy=False)
        assert sections(exe) == sections(ref)
        assert dyn_tags(exe) == dyn_tags(ref)
        assert dyn_syms(exe) == dyn_syms(ref)


def test_target_detected_from_first_input(tmp_path):
    """Without -m, the first input's e_machine chooses i386 (a direct link at the i386 image base)."""
    (tmp_path / "a.s").write_text(".globl _start\n_start:\n mov $1,%eax\n mov $42,%ebx\n int $0x80\n")
    sh([CC, "-c", "a.s"], tmp_path)
    r = sh([sys.executable, "-m", "ldpy", "a.o", "-o", "a"], tmp_path)
    assert r.returncode == 0
    hdr = sh(["readelf", "-h", str(tmp_path / "a")], tmp_path).stdout
    assert "ELF32" in hdr and "Intel 80386" in hdr and "Entry point address:               0x804" in hdr
    assert subprocess.run([str(tmp_path / "a")]).returncode == 42


def test_x86_64_object_in_i386_link_is_refused(tmp_path):
    (tmp_path / "a.c").write_text("int f(void) { return 1; }\n")
    sh([CC, "-c", "a.c", "-o", "a32.o"], tmp_path)
    sh(["gcc", "-c", "a.c", "-o", "a64.o"], tmp_path)
    r = sh([sys.executable, "-m", "ldpy", "-m", "elf_i386", "a32.o", "a64.o", "-o", "out"], tmp_path, check=False)
    assert r.returncode == 1
    assert "a64.o" in r.stderr and "incompatible" in r.stderr
    assert not (tmp_path / "out").exists()


CXX_SRC = r"""
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
thread_local int tl = 7;
thread_local std::string tname = "main";
static int work(int i) {
    if (i % 3 == 0) throw std::runtime_error("boom " + std::to_string(i));
    return i * tl;
}
int main() {
    std::vector<std::thread> ts;
    int results[6] = {0};
    for (int i = 0; i < 6; i++)
        ts.emplace_back([i, &results] {
            tl = i + 1; tname = "t" + std::to_string(i);
            try { results[i] = work(i); } catch (const std::exception &) { results[i] = -1; }
        });
    for (auto &t : ts) t.join();
    int sum = 0;
    for (int r : results) sum += r;
    try { work(3); } catch (const std::runtime_error &e) {
        std::printf("%s %d %s %d\n", e.what(), sum, tname.c_str(), tl);
    }
}
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["-static", "-pie", "-no-pie"])
def test_cxx_exceptions_threads_thread_local(tmp_path, mode):
    (tmp_path / "x.cc").write_text(CXX_SRC)
    sh([CXX, "-O1", "-fPIE" if mode == "-pie" else "-fno-pic", "-c", "x.cc"], tmp_path)
    exe = build(tmp_path, "x", [mode, "x.o", "-pthread"], cc=CXX)
    assert run32(tmp_path, exe, static=mode == "-static") == "boom 3 56 main 7\n"


LIB = r"""
__thread int lib_gd = 10;
static __thread int lib_ld = 20;
__thread int lib_ie_var = 30;
int lib_old(void) { return 1; }
int lib_new(void) { return 2; }
__asm__(".symver lib_old, lib_f@V1");
__asm__(".symver lib_new, lib_f@@V2");
int lib_tls_sum(void) { return lib_gd + lib_ld + lib_ie_var; }
int *lib_gd_addr(void) { return &lib_gd; }
"""
LIB_MAP = """V1 { global: lib_f; lib_gd; lib_ie_var; lib_tls_sum; lib_gd_addr; local: *; };
V2 { global: lib_f; } V1;
"""
MAIN = r"""
#include <stdio.h>
extern __thread int lib_gd;
extern __thread int lib_ie_var __attribute__((tls_model("initial-exec")));
static __thread int my_le = 5;
__thread int my_gd = 6;
int lib_f(void); int lib_tls_sum(void); int *lib_gd_addr(void);
static int impl_a(void) { return 100; }
static int impl_b(void) { return 200; }
static void *resolve(void) { return impl_b; }
int ifn(void) __attribute__((ifunc("resolve")));
int (*pifn)(void) = ifn;
int main(void) {
    lib_gd += 1; lib_ie_var += 2; my_le += 3; my_gd += 4;
    printf("%d %d %d %d %d %d %d %d %d\n", lib_f(), lib_tls_sum(), lib_gd, lib_ie_var, my_le, my_gd,
           *lib_gd_addr() == lib_gd, ifn(), pifn());
    return 0;
}
"""


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["gnu", "gnu2"])
@pytest.mark.parametrize("mode", ["-pie", "-no-pie"])
def test_shared_library_versions_tls_ifunc(tmp_path, dialect, mode):
    """A versioned shared library with TLS used in every model across the library
    boundary (GD/LD/IE inside it, IE/GD/LE in the program), both TLS dialects,
    and an IFUNC called and address-taken by the program."""
    (tmp_path / "lib.c").write_text(LIB)
    (tmp_path / "lib.map").write_text(LIB_MAP)
    (tmp_path / "main.c").write_text(MAIN)
    sh([CC, "-O1", "-fPIC", f"-mtls-dialect={dialect}", "-c", "lib.c"], tmp_path)
    sh([CC, "-O1", "-fPIE" if mode == "-pie" else "-fno-pic", f"-mtls-dialect={dialect}", "-c", "main.c"],
       tmp_path)
    os.makedirs(tmp_path / "ref")
    lib = build(tmp_path, "libt.so", ["-shared", "lib.o", "-Wl,--version-script=lib.map"])
    ref_lib = build(tmp_path, "ref/libt.so", ["-shared", "lib.o", "-Wl,--version-script=lib.map"], ldpy=False)
    exe = build(tmp_path, "m", [mode, "main.o", "-L.", "-lt"])
    ref = build(tmp_path, "ref/m", [mode, "main.o", "-Lref", "-lt"], ldpy=False)
    assert run32(tmp_path, exe) == "2 63 11 32 8 10 1 200 200\n"
    for ours, theirs in ((lib, ref_lib), (exe, ref)):
        assert sections(ours) == sections(theirs)
        assert dyn_tags(ours) == dyn_tags(theirs)
        assert dyn_syms(ours) == dyn_syms(theirs)
        assert version_names(ours) == version_names(theirs)


GOT32X_ASM = r"""
	.text
	.globl _start
_start:
	call 1f
1:	popl %ebx
	addl $_GLOBAL_OFFSET_TABLE_+[.-1b], %ebx
	movl foo@GOT(%ebx), %eax
	movl (%eax), %ecx
	testl %ecx, foo@GOT(%ebx)
	addl foo@GOT(%ebx), %edx
	subl foo@GOT(%ebx), %edx
	cmpl bar@GOT(%ebx), %esi
	xorl foo@GOT(%ebx), %edi
	call *fn@GOT(%ebx)
	addl %ecx, %eax
	movl %eax, %ebx
	movl $1, %eax
	int $0x80
fn:	movl $7, %eax
	ret
	.data
	.globl foo, bar
foo:	.long 42
bar:	.long 1
"""
GOT32X_NOBASE = "\t.text\n\t.globl f2\nf2:\tmovl foo@GOT, %eax\n\tcall *f3@GOT\nf3:\tret\n"


def _insns(path):
    """The instructions of .text with numbers blanked (the data addresses differ)."""
    out = sh(["objdump", "-d", "--no-show-raw-insn", path], ".").stdout
    rows = [l.split(":", 1)[1].strip() for l in out.splitlines() if re.match(r"\s*[0-9a-f]+:\t", l)]
    return [re.sub(r"0x[0-9a-f]+|\b[0-9a-f]{6,8}\b", "N", r) for r in rows]


@pytest.mark.parametrize("mode", [["-static"], ["-pie", "--no-dynamic-linker"]])
def test_got32x_relaxation(tmp_path, mode):
    """R_386_GOT32X loads rewritten as ld.bfd rewrites them: in a non-PIC executable
    mov, test and ALU operations take the address as an immediate (also without a
    base register), in PIC outputs mov becomes lea @GOTOFF; calls become direct;
    --emit-relocs names what each became (R_386_32, R_386_GOTOFF, R_386_PC32)."""
    (tmp_path / "g.s").write_text(GOT32X_ASM)
    (tmp_path / "n.s").write_text(GOT32X_NOBASE)
    sh(["i686-linux-gnu-as", "-mrelax-relocations=yes", "g.s", "-o", "g.o"], tmp_path)
    sh(["i686-linux-gnu-as", "-mrelax-relocations=yes", "n.s", "-o", "n.o"], tmp_path)
    objs = ["g.o"] + (["n.o"] if mode == ["-static"] else [])
    args = [*mode, "-m", "elf_i386", "-z", "noexecstack", "--emit-relocs", *objs]
    sh([sys.executable, "-m", "ldpy", *args, "-o", "l"], tmp_path)
    sh(["i686-linux-gnu-ld", *args, "-o", "b"], tmp_path)
    assert subprocess.run([str(tmp_path / "l")]).returncode == 49
    ours, ref = _insns(str(tmp_path / "l")), _insns(str(tmp_path / "b"))
    assert ours == ref
    static = mode == ["-static"]
    assert ("test   $N,%ecx" in ours) == static and ("lea    N(%ebx),%eax" in ours) == (not static)
    types = [sh(["readelf", "-rW", str(tmp_path / p)], tmp_path).stdout.split(".rel.eh_frame")[0]
             for p in ("l", "b")]
    assert types[0].count("R_386_GOT32X") == types[1].count("R_386_GOT32X") == (0 if static else 5)
    kinds = [sorted(re.findall(r"R_386_(?:32|GOTOFF|PC32|GOTPC)\b", t)) for t in types]
    assert kinds[0] == kinds[1]


@pytest.mark.parametrize("mode", ["-pie", "-static"])
def test_lto(tmp_path, mode):
    """gcc -flto through the cross driver: ELF32 objects holding GCC IR are offered
    to the cross GCC's liblto_plugin.so, which ldpy hosts; --defsym reaches the IR."""
    (tmp_path / "a.c").write_text('#include <stdio.h>\nextern void live_func(void);\nint twice(int);\n'
                                  'void dead_func(void) { printf("OK %d\\n", twice(21)); }\n'
                                  'int main(void) { live_func(); return 0; }\n')
    (tmp_path / "b.c").write_text("int twice(int x) { return 2 * x; }\n")
    sh([CC, "-flto", "-O2", "-fPIC", "-c", "a.c", "b.c"], tmp_path)
    exe = build(tmp_path, "m", [mode, "-flto", "-O2", "a.o", "b.o", "-Wl,-defsym,live_func=dead_func"])
    assert run32(tmp_path, exe, static=mode == "-static") == "OK 42\n"
    assert "ldpy" in sh(["readelf", "-p", ".comment", exe], tmp_path).stdout


IFUNC_STATIC = r"""
#include <stdio.h>
static int impl(void) { return 42; }
static void *resolve(void) { return impl; }
int ifn(void) __attribute__((ifunc("resolve")));
int (*p)(void) = ifn;
int main(void) { printf("%d %d\n", ifn(), p()); return 0; }
"""


@pytest.mark.parametrize("mode", ["-static", "-static-pie"])
def test_static_ifunc(tmp_path, mode):
    (tmp_path / "i.c").write_text(IFUNC_STATIC)
    sh([CC, "-O1", "-fPIE" if mode == "-static-pie" else "-fno-pic", "-c", "i.c"], tmp_path)
    exe = build(tmp_path, "i", [mode, "i.o"])
    assert run32(tmp_path, exe, static=True) == "42 42\n"
    secs = [n for n, _ in sections(exe)]
    assert ".rel.plt" in secs or ".rel.dyn" in secs


def test_copy_relocation_and_canonical_plt(tmp_path):
    """Non-PIC code reading a library's variable gets a COPY; taking a library
    function's address makes its PLT entry canonical."""
    (tmp_path / "l.c").write_text("int lib_var = 7; int lib_fn(void) { return lib_var * 2; }\n")
    (tmp_path / "m.c").write_text("#include <stdio.h>\nextern int lib_var; int lib_fn(void);\n"
                                 "int (*fp)(void) = lib_fn;\n"
                                 "int main(void) { lib_var++; printf(\"%d %d %d\\n\", lib_var, fp(), fp == lib_fn); }\n")
    sh([CC, "-fPIC", "-c", "l.c"], tmp_path)
    sh([CC, "-fno-pic", "-c", "m.c"], tmp_path)
    build(tmp_path, "libl.so", ["-shared", "l.o"])
    exe = build(tmp_path, "m", ["-no-pie", "m.o", "-L.", "-ll"])
    assert run32(tmp_path, exe) == "8 16 1\n"
    rel = sh(["readelf", "-rW", exe], tmp_path).stdout
    assert "R_386_COPY" in rel and "lib_var" in rel


def _gcc_m32_works():
    """gcc -m32 without gcc-multilib (which conflicts with the cross compilers on
    Debian 12): lib32gcc-12-dev and lib32stdc++-12-dev give gcc its 32-bit libgcc and
    libstdc++, libc6-dev:i386 (multiarch) the C library, libc6:i386 /lib/ld-linux.so.2."""
    r = subprocess.run(["gcc", "-m32", "-print-file-name=crtbeginS.o"], capture_output=True, text=True)
    return r.returncode == 0 and "/32/" in r.stdout and os.path.exists("/usr/lib/i386-linux-gnu/crt1.o") \
        and os.path.exists("/lib/ld-linux.so.2")


@pytest.mark.slow
@pytest.mark.skipif(not _gcc_m32_works(),
                    reason="needs lib32gcc-12-dev lib32stdc++-12-dev libc6-dev:i386 (CI installs them)")
@pytest.mark.parametrize("mode", ["-pie", "-no-pie", "-static", "-static-pie"])
def test_gcc_m32(tmp_path, mode):
    """The host gcc's -m32 passes `-m elf_i386` and its 32-bit crt files and libraries
    (/usr/lib/gcc/x86_64-linux-gnu/12/32, /usr/lib/i386-linux-gnu) through the shim:
    C and C++ (exceptions, threads, thread_local) link, run natively, and have
    ld.bfd's sections and dynamic structure."""
    (tmp_path / "h.c").write_text(HELLO)
    (tmp_path / "x.cc").write_text(CXX_SRC)
    r = sh(["gcc", "-m32", mode, "-v", "h.c", "-o", "h", "-B", shim_dir()], tmp_path)
    assert "-m elf_i386" in r.stderr
    assert sh([str(tmp_path / "h")], tmp_path).stdout == "hello from i386\n"
    sh(["g++", "-m32", "-O1", mode, "x.cc", "-o", "x", "-pthread", "-B", shim_dir()], tmp_path)
    assert sh([str(tmp_path / "x")], tmp_path).stdout == "boom 3 56 main 7\n"
    for prog, src, cc in (("h", "h.c", "gcc"), ("x", "x.cc", "g++")):
        sh([cc, "-m32", "-O1", mode, src, "-o", prog + ".bfd", "-pthread"], tmp_path)
        ours, ref = str(tmp_path / prog), str(tmp_path / (prog + ".bfd"))
        assert "ldpy" in sh(["readelf", "-p", ".comment", ours], tmp_path).stdout
        a, b = sections(ours), sections(ref)
        assert sorted(a) == sorted(b)
        assert [x for x in a if not x[0].startswith("__libc_")] == [x for x in b if not x[0].startswith("__libc_")]
        assert dyn_tags(ours) == dyn_tags(ref)
        assert dyn_syms(ours) == dyn_syms(ref)


SQLITE_ZLIB = os.path.join(os.path.dirname(__file__), "progs", "sqlite_zlib_cross.c")
SQLITE_ZLIB_OUT = "100,5050,r100,1;120.0,R080;60.0,R040; 38 9a1f4f80 1\n"


@pytest.mark.slow
def test_static_sqlite_zlib(tmp_path):
    """Debian's i386 libsqlite3.a and libz.a (multiarch -dev packages, unpacked) in a
    static program: it runs natively, and its sections are ld.bfd's (glibc's __libc_*
    orphans may come in another order among themselves: ldpy pulls archive members
    in another order)."""
    libs = multiarch_static_libs("i386", "i386-linux-gnu")
    if libs is None:
        pytest.skip("needs libsqlite3-dev:i386 and zlib1g-dev:i386 unpacked (.ci/run does it)")
    sh([CC, "-O1", "-c", SQLITE_ZLIB, "-o", "p.o"], tmp_path)
    args = ["-static", "p.o", *libs, "-lm"]
    exe = build(tmp_path, "p", args)
    ref = build(tmp_path, "p.bfd", args, ldpy=False)
    assert run32(tmp_path, exe, static=True) == run32(tmp_path, ref, static=True) == SQLITE_ZLIB_OUT
    ours, theirs = sections(exe), sections(ref)
    assert sorted(ours) == sorted(theirs)
    assert [s for s in ours if not s[0].startswith("__libc_")] == \
        [s for s in theirs if not s[0].startswith("__libc_")]


R_A = r"""
static int counter = 5;
static const char *names[] = {"zero", "one", "two"};
__thread int tls_a = 3;
static __thread int tls_b = 4;
int b_func(int);
extern int shared_val;
static int local_fn(int x) { return x + counter++; }
int a_func(int i) { return local_fn(i) + b_func(i) + shared_val + tls_a + tls_b; }
const char *name_of(int i) { return names[i % 3]; }
"""
R_B = r"""
int shared_val = 100;
static int table[4] = {1, 2, 3, 4};
static int helper(int i) { return table[i & 3]; }
int b_func(int i) { return helper(i) * 10; }
"""
R_C = r"""
#include <cstdio>
#include <stdexcept>
#include <string>
template <class T> T twice(T x) { return x + x; }
extern "C" int cxx_thing(int i) {
    try {
        if (i > 2) throw std::runtime_error("big " + std::to_string(twice(i)));
        return twice(i);
    } catch (const std::exception &e) { std::printf("caught %s\n", e.what()); return -1; }
}
"""
R_MAIN = r"""
#include <stdio.h>
int a_func(int); const char *name_of(int); int cxx_thing(int);
int main(void) { printf("%d %s %d %d\n", a_func(2), name_of(4), cxx_thing(1), cxx_thing(5)); return 0; }
"""


def section_dump(path):
    """Per section: name, type, flags, link/info/align and the bytes (readelf -x),
    but for the string tables and .symtab (whose st_name offsets follow .strtab's
    layout, which differs from ld.bfd's)."""
    out = sh(["readelf", "-SW", path], ".").stdout
    rows = []
    for line in out.splitlines():
        line = line.strip()
        if not (line.startswith("[") and "]" in line) or line.startswith("[Nr]"):
            continue
        idx = line[1:line.index("]")].strip()
        f = line.split("]", 1)[1].split()
        if not f or f[0] == "NULL":
            continue
        body = "" if f[1] in ("STRTAB", "SYMTAB", "NOBITS") else sh(["readelf", "-x", idx, path], ".").stdout
        size = "" if f[1] == "STRTAB" else f[4]         # (the offset, f[3], differs)
        rows.append((f[0], f[1], size, " ".join(f[5:]), body))
    return rows


def relocations(path):
    return [l for l in sh(["readelf", "-rW", path], ".").stdout.splitlines() if "at offset" not in l]


@pytest.mark.parametrize("pic", ["-fno-pic", "-fPIC"])
def test_relocatable_output(tmp_path, pic):
    """ldpy -r of C and C++ objects (REL relocations, addends in the section bytes,
    TLS, exceptions, COMDAT groups, -g) equals i686-linux-gnu-ld -r in every section's
    bytes, the relocations and readelf -s; a program linked from it runs."""
    for name, text in (("a.c", R_A), ("b.c", R_B), ("c.cc", R_C), ("m.c", R_MAIN)):
        (tmp_path / name).write_text(text)
    sh([CC, "-O1", "-g", pic, "-c", "a.c", "b.c", "m.c"], tmp_path)
    sh([CXX, "-O1", "-g", pic, "-c", "c.cc"], tmp_path)
    sh([sys.executable, "-m", "ldpy", "-r", "a.o", "b.o", "c.o", "-o", "r.o"], tmp_path)
    sh(["i686-linux-gnu-ld", "-r", "a.o", "b.o", "c.o", "-o", "ref.o"], tmp_path)
    ours, ref = str(tmp_path / "r.o"), str(tmp_path / "ref.o")
    assert "REL " in sh(["readelf", "-SW", ours], tmp_path).stdout
    assert relocations(ours) == relocations(ref)
    assert section_dump(ours) == section_dump(ref)
    assert sh(["readelf", "-sW", ours], tmp_path).stdout == sh(["readelf", "-sW", ref], tmp_path).stdout
    mode = "-pie" if pic == "-fPIC" else "-no-pie"
    exe = build(tmp_path, "p", [mode, "m.o", "r.o"], cc=CXX)
    assert run32(tmp_path, exe) == "caught big 10\n144 one 2 -1\n"


TLS_STATIC = r"""
#include <stdio.h>
__thread int a = 1;
static __thread int b = 2;
extern __thread int c;
__thread int c = 3;
int get(void) { return a + b + c; }
int main(void) { a += 10; b += 20; c += 30; printf("%d\n", get()); return 0; }
"""


@pytest.mark.parametrize("dialect", ["gnu", "gnu2"])
@pytest.mark.parametrize("mode", ["-static", "-static-pie"])
def test_static_tls_relaxations(tmp_path, dialect, mode):
    """GD, LD and IE sequences of PIC code relaxed to local-exec in static links."""
    (tmp_path / "t.c").write_text(TLS_STATIC)
    sh([CC, "-O1", "-fPIC", f"-mtls-dialect={dialect}", "-c", "t.c"], tmp_path)
    exe = build(tmp_path, "t", [mode, "t.o"])
    assert run32(tmp_path, exe, static=True) == "66\n"
    rel = sh(["readelf", "-rW", exe], tmp_path).stdout
    assert "TLS" not in rel


def section_aligns(path):
    """(name, type, entry size, flags, alignment) of each section."""
    out = sh(["readelf", "-SW", path], ".").stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ ([0-9a-f]{2})\s+(\S*)\s+\d+\s+\d+\s+(\d+)$",
                     line)
        if m:
            rows.append(m.groups())
    return rows


@pytest.mark.parametrize("mode", ["-no-pie", "-pie", "-shared"])
def test_dynamic_sections_word_aligned(tmp_path, mode):
    """.dynsym, .hash, .gnu.version_r/_d and .dynamic of an ELF32 output are
    4-aligned, as ld.bfd aligns them (a file word), not 8; and the flags and entry
    sizes match (.rel.dyn, which applies to no one section, has no SHF_INFO_LINK;
    .gnu.hash has entries of 4 bytes)."""
    (tmp_path / "h.c").write_text('#include <stdio.h>\nint shared_fn(void) { return 3; }\n'
                                  'int main(void) { printf("%d\\n", shared_fn()); return 0; }\n')
    (tmp_path / "v.map").write_text("V1 { global: *; };\n")
    sh([CC, "-fPIC", "-c", "h.c"], tmp_path)
    args = [mode, "h.o", "-Wl,--hash-style=both", "-Wl,--version-script=v.map"]
    ours, ref = build(tmp_path, "l", args), build(tmp_path, "b", args, ldpy=False)
    rows = section_aligns(ours)
    assert {n for n, *_ in rows} >= {".dynsym", ".hash", ".gnu.hash", ".gnu.version_d", ".gnu.version_r", ".dynamic"}
    ref_rows = section_aligns(ref)
    assert [(n, t, f, a) for n, t, _, f, a in rows] == [(n, t, f, a) for n, t, _, f, a in ref_rows]
    # (entry sizes of the linker's dynamic sections; .init_array's differ: ldpy 0, BFD 4)
    dynamic = lambda rs: [r for r in rs if r[1] in ("DYNSYM", "HASH", "GNU_HASH", "DYNAMIC", "REL")
                          or r[0].startswith(".gnu.version")]
    assert dynamic(rows) == dynamic(ref_rows)
    if mode != "-shared":
        assert run32(tmp_path, ours) == "3\n"


def test_z_rodynamic(tmp_path):
    """-z rodynamic: .dynamic read-only (flags A) and without DT_DEBUG; the layout
    settles (the read-only .dynamic is still inside RELRO) and the program runs."""
    (tmp_path / "h.c").write_text(HELLO)
    sh([CC, "-fPIE", "-c", "h.c"], tmp_path)
    exe = build(tmp_path, "h", ["-pie", "h.o", "-Wl,-z,rodynamic"])
    assert run32(tmp_path, exe) == "hello from i386\n"
    dyn = [r for r in section_aligns(exe) if r[0] == ".dynamic"]
    assert dyn == [(".dynamic", "DYNAMIC", "08", "A", "4")]
    assert "(DEBUG)" not in sh(["readelf", "-dW", exe], tmp_path).stdout
    plain = build(tmp_path, "p", ["-pie", "h.o"])
    assert "(DEBUG)" in sh(["readelf", "-dW", plain], tmp_path).stdout


ABS_GOT32X_C = r"""
#include <stdio.h>
extern char foo, bar;
void baz(void);
void print(void) { printf("Hello %p %p\n", (void *)&foo, (void *)&bar); }
int main(void) { baz(); return 0; }
"""

# the GOT slot of an absolute symbol holds the value as it is (no RELATIVE):
# read at run time by an addl, which PIC outputs keep as a GOT load; a call
# through the slot stays indirect (here never taken)
ABS_GOT32X_S = r"""
    .text
    .globl slot_value
    .type slot_value, @function
slot_value:
    push %ebx
    call 1f
1:  pop %ebx
    addl $_GLOBAL_OFFSET_TABLE_+(.-1b), %ebx
    movl abs_fn@GOT(%ebx), %ecx
    xorl %eax, %eax
    addl abs_fn@GOT(%ebx), %eax
    cmpl %eax, %ecx
    je 2f
    call *abs_fn@GOT(%ebx)
2:  pop %ebx
    ret
    .section .note.GNU-stack,"",@progbits
"""


@pytest.mark.parametrize("mode", ["-pie", "-static-pie"])
def test_got32x_of_absolute_symbol_in_pie(tmp_path, mode):
    """mov x@GOT(%reg) of an absolute symbol (--defsym foo=16) in a PIE becomes
    movl $16,%reg: a lea x@GOTOFF(%reg) would add the load base (mold's `defsym`
    test); other GOT references keep the slot, which holds the plain value."""
    (tmp_path / "a.c").write_text(ABS_GOT32X_C)
    sh([CC, "-fPIC", "-O0", "-c", "a.c"], tmp_path)
    exe = build(tmp_path, "a", [mode, "a.o", "-Wl,-defsym=foo=16", "-Wl,-defsym=bar=0x2000",
                                "-Wl,-defsym=baz=print"])
    static = mode == "-static-pie"
    assert run32(tmp_path, exe, static=static) == "Hello 0x10 0x2000\n"
    dis = sh(["objdump", "-d", exe], tmp_path).stdout
    assert "mov    $0x10,%" in dis and "mov    $0x2000,%" in dis
    (tmp_path / "c.s").write_text(ABS_GOT32X_S)
    (tmp_path / "m.c").write_text('#include <stdio.h>\nint slot_value(void);\n'
                                  'int main(void) { printf("%#x\\n", slot_value()); return 0; }\n')
    sh(["i686-linux-gnu-as", "-mrelax-relocations=yes", "c.s", "-o", "c.o"], tmp_path)
    sh([CC, "-fPIC", "-c", "m.c"], tmp_path)
    exe2 = build(tmp_path, "c", [mode, "m.o", "c.o", "-Wl,-defsym=abs_fn=0x1234"])
    assert run32(tmp_path, exe2, static=static) == "0x1234\n"
    dis2 = sh(["objdump", "-d", exe2], tmp_path).stdout
    assert "mov    $0x1234,%ecx" in dis2 and re.search(r"call\s+\*-?0x[0-9a-f]+\(%ebx\)", dis2)


PACKED_C = r"""
extern int x, y, z;
void *ptrs[] = { &x, &y, &z, &x, &y, &z };
int x = 1, y = 2, z = 3;
extern int puts(const char *);
int main(void) { puts("packed"); return 0; }
"""


def _sleb_stream(data):
    """The SLEB128 numbers after the APS2 magic."""
    assert data[:4] == b"APS2"
    vals, v, shift = [], 0, 0
    for byte in data[4:]:
        v |= (byte & 0x7f) << shift
        shift += 7
        if not byte & 0x80:
            vals.append(v - (1 << shift) if byte & 0x40 else v)
            v, shift = 0, 0
    return vals


def decode_aps2(data):
    """(r_offset, r_info, addend or None) of Android's packed relocations, as bionic
    reads them (group flags: 1 by info, 2 by offset delta, 4 by addend, 8 has addend)."""
    it = iter(_sleb_stream(data))
    count, offset, addend = next(it), next(it), 0
    rows = []
    while len(rows) < count:
        size, flags = next(it), next(it)
        delta = next(it) if flags & 2 else None
        info = next(it) if flags & 1 else None
        if flags & 8 and flags & 4:
            addend += next(it)
        for _ in range(size):
            offset += delta if delta is not None else next(it)
            r_info = info if info is not None else next(it)
            if flags & 8 and not flags & 4:
                addend += next(it)
            rows.append((offset, r_info, addend if flags & 8 else None))
    return rows


def _section(path, name):
    """(address, file offset, size, type) of section `name`."""
    for line in sh(["readelf", "-SW", path], ".").stdout.splitlines():
        f = line.split("]", 1)[-1].split()
        if f and f[0] == name:
            return int(f[2], 16), int(f[3], 16), int(f[4], 16), f[1]
    return None


@pytest.mark.parametrize("relr", [False, True])
def test_pack_dyn_relocs_android_rel(tmp_path, relr):
    """--pack-dyn-relocs=android on a REL target: .rel.dyn as SHT_ANDROID_REL with
    DT_ANDROID_REL/RELSZ, groups without addends (they stay in the relocated words),
    r_info in the ELF32 form (symbol << 8 | type); the same relocations as the plain
    .rel.dyn.  (Not run: glibc's loader does not read APS2.)"""
    (tmp_path / "a.c").write_text(PACKED_C)
    sh([CC, "-fPIC", "-c", "a.c"], tmp_path)
    opt = "android+relr" if relr else "android"
    exe = build(tmp_path, "p", ["-pie", "a.o", f"-Wl,--pack-dyn-relocs={opt}"])
    plain = build(tmp_path, "q", ["-pie", "a.o"] + (["-Wl,-z,pack-relative-relocs"] if relr else []))
    assert run32(tmp_path, plain) == "packed\n"
    addr, off, size, typ = _section(exe, ".rel.dyn")
    assert typ in ("LOOS+0x1", "ANDROID_REL")
    dyn = sh(["readelf", "-dW", exe], tmp_path).stdout
    assert re.search(rf"0x6000000f .* 0x{addr:x}\n", dyn) and re.search(rf"0x60000010 .* 0x{size:x}\n", dyn)
    data = open(exe, "rb").read()
    rows = decode_aps2(data[off:off + size])
    assert all(a is None for *_, a in rows)
    ours = sorted((i & 0xff, i >> 8) for _, i, _ in rows)
    ref = []
    for line in sh(["readelf", "-rW", plain], tmp_path).stdout.split("'.rel.plt'")[0].splitlines():
        m = re.match(r"([0-9a-f]{8})\s+([0-9a-f]{8})\s+R_386_", line)
        if m:
            ref.append((int(m[2], 16) & 0xff, int(m[2], 16) >> 8))
    assert ours == sorted(ref) and any(s for _, s in ours)
    assert (8, 0) in ours if not relr else (8, 0) not in ours
    # each RELATIVE word holds its link-time address (the addend a REL loader adds to)
    phdrs = sh(["readelf", "-lW", exe], tmp_path).stdout
    loads = [(int(m[2], 16), int(m[1], 16), int(m[3], 16))
             for m in re.finditer(r"LOAD\s+(0x\S+) (0x\S+) 0x\S+ (0x\S+)", phdrs)]
    relative = [r_offset for r_offset, info, _ in rows if info == 8]
    assert bool(relative) != relr
    for r_offset in relative:
        a, o, _s = next(seg for seg in loads if seg[0] <= r_offset < seg[0] + seg[2])
        word = int.from_bytes(data[o + r_offset - a:o + r_offset - a + 4], "little")
        assert 0 < word <= max(a + s for a, _, s in loads)
