"""The cross toolchains of the target tests (test_aarch64.py, test_riscv64.py,
test_ppc32.py): compile and link with a target's gcc/g++ through ldpy's shim
(`-B "$(ldpy --print-shim-dir)"`, where the cross driver finds `ld`) or with its
ld.bfd, run the program under qemu-user, and read the outputs with its readelf."""
import os
import re
import shutil
import subprocess

import pytest

from e2e_util import LINKER, shim_dir


# programs the tests of every target build (the same results everywhere)
MAIN_C = r"""
#include <stdio.h>
extern int base;
int answer(void);
int helper(int);
int main(void) { base += 1; printf("%d %d\n", answer(), helper(21)); return 0; }
"""

LIB_C = r"""
int base = 40;
__asm__(".symver old_answer, answer@V1");
__asm__(".symver new_answer, answer@@V2");
int old_answer(void) { return 1; }
int new_answer(void) { return base + 2; }
int helper(int x) { return x * 2; }
"""
LIB_MAP = "V1 { global: answer; helper; local: *; };\nV2 { global: answer; base; } V1;\n"

TLS_LIB = r"""
__thread int lib_gd = 10;                          /* general dynamic from the program */
static __thread int lib_ld __attribute__((tls_model("local-dynamic"))) = 20;
__thread int lib_ie __attribute__((tls_model("initial-exec"))) = 30;
int lib_read(void) { return lib_gd + lib_ld + lib_ie; }
int *lib_ld_addr(void) { return &lib_ld; }
"""

TLS_MAIN = r"""
#include <stdio.h>
#include <pthread.h>
extern __thread int lib_gd;
extern __thread int lib_ie __attribute__((tls_model("initial-exec")));
__thread int own_le = 5;
static __thread int own_local = 6;
int lib_read(void);
int *lib_ld_addr(void);
static void *thr(void *p) { lib_gd = 1; lib_ie = 2; own_le = 3; *lib_ld_addr() = 4; own_local = 7;
                            return (void *)(long)(lib_read() + own_le + own_local); }
int main(void) {
    pthread_t t; void *r;
    pthread_create(&t, 0, thr, 0); pthread_join(t, &r);
    printf("%d %d %d\n", lib_read(), own_le + own_local, (int)(long)r);
    return 0;
}
"""

IFUNC = r"""
#include <stdio.h>
static int impl_a(void) { return 7; }
static int impl_b(void) { return 9; }
static int (*resolve(void))(void) { return impl_b; }
int pick(void) __attribute__((ifunc("resolve")));
int (*ptr)(void) = pick;
int main(void) { printf("%d %d %d\n", pick(), ptr(), ptr == pick); (void)impl_a; return 0; }
"""

CXX_PROG = r"""
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <mutex>
thread_local int counter = 0;
thread_local std::string tname = "main";
std::mutex m;
int total = 0;
static void work(int n) {
    tname = "worker" + std::to_string(n);
    for (int i = 0; i < 1000; i++) counter++;
    try {
        if (n % 2) throw std::runtime_error(tname);
    } catch (const std::exception &e) {
        std::lock_guard<std::mutex> g(m);
        total += counter + (int)e.what()[6] - '0';
    }
}
int main() {
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; i++) ts.emplace_back(work, i);
    for (auto &t : ts) t.join();
    try { throw std::logic_error("done"); }
    catch (const std::logic_error &e) { std::printf("%s %d %d %s\n", e.what(), total, counter, tname.c_str()); }
    return 0;
}
"""

# local-exec code that reaches an undefined weak TLS variable only when foo_used exists
WEAK_TLS = r"""
#include <stdio.h>
extern char foo_used __attribute__((weak));
extern __thread int foo __attribute__((weak, tls_model("local-exec")));
__thread int present = 3;
void set_foo(void) { if (&foo_used) foo = 1; }
int main(void) { set_foo(); printf("%d\n", present); return 0; }
"""


def run(cmd, cwd=None, check=True, timeout=600):
    """Run a command; a Python traceback or an internal error is always a failure."""
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                       errors="replace", timeout=timeout)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if check and r.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))}: status {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def write(tmp, name, text):
    p = tmp / name
    p.write_text(text)
    return str(p)


class Cross:
    """One target's tools: `triple`-gcc, -g++, -readelf, -objdump, and `qemu`
    with the sysroot /usr/`triple`."""

    def __init__(self, triple, qemu):
        self.cc, self.cxx = f"{triple}-gcc", f"{triple}-g++"
        self.readelf, self.objdump = f"{triple}-readelf", f"{triple}-objdump"
        self.qemu_bin, self.sysroot = qemu, f"/usr/{triple}"
        self.package = f"g++-{triple}"

    def needed(self):
        """The tests' skip mark: only when the toolchain or qemu-user is missing."""
        tools = (self.cc, self.cxx, self.readelf, self.objdump, self.qemu_bin)
        return pytest.mark.skipif(not all(shutil.which(t) for t in tools),
                                  reason=f"needs {self.package} and qemu-user (CI installs them)")

    def build(self, tmp, out, sources, flags=(), linker=None, cxx=False, check=True):
        """Compile and link with the cross driver; linker 'ldpy' or 'bfd'.  The
        output's path, or with check=False the finished command."""
        linker = linker or LINKER
        sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
        path = os.path.join(str(tmp), out)
        r = run([self.cxx if cxx else self.cc, *sources, *flags, "-o", path, *sel], cwd=str(tmp), check=check)
        if not check:
            return r
        if linker == "ldpy":
            assert "ldpy" in run([self.readelf, "-p", ".comment", path]).stdout, "not linked by ldpy"
        return path

    def versioned_libraries(self, tmp):
        """libv.so (the linker under test) and libv.bfd.so (ld.bfd) from LIB_C with
        LIB_MAP's versions, both with soname libv.so; the path of MAIN_C, which uses them."""
        lib = write(tmp, "lib.c", LIB_C)
        vmap = write(tmp, "lib.map", LIB_MAP)
        for linker, so in ((LINKER, "libv.so"), ("bfd", "libv.bfd.so")):
            self.build(tmp, so, [lib], ["-shared", "-fPIC", "-O2", f"-Wl,--version-script={vmap}",
                                        "-Wl,-soname,libv.so"], linker=linker)
        return write(tmp, "main.c", MAIN_C)

    def qemu(self, path, *args, cwd=None):
        """What the program prints (it must exit 0)."""
        env = dict(os.environ, QEMU_LD_PREFIX=self.sysroot)
        r = subprocess.run([self.qemu_bin, "-L", self.sysroot, path, *args], capture_output=True, text=True,
                           timeout=120, env=env, cwd=cwd)
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        return r.stdout

    def section_names(self, path):
        out = run([self.readelf, "-SW", path]).stdout
        return [m.group(1) for m in re.finditer(r"^\s*\[\s*\d+\]\s+(\S+)", out, re.M) if m.group(1) != "NULL"]

    def same_sections(self, ours, ref):
        """The same output sections in the same order; glibc's orphan sections
        (__libc_atexit, __libc_subfreeres, __libc_IO_vtables of static links) may
        come in another order among themselves: ldpy places orphans by input order
        where ld.bfd differs (the same on x86-64)."""
        self.same_section_lists(self.section_names(ours), self.section_names(ref))

    @staticmethod
    def same_section_lists(a, b):
        """same_sections for two lists of section names."""
        assert sorted(a) == sorted(b)
        assert [n for n in a if not n.startswith("__libc_")] == [n for n in b if not n.startswith("__libc_")]

    def compare_with_bfd(self, tmp, name, sources, flags=(), cxx=False, expect=None, args=(),
                         same_tags=None):
        """Build with ldpy and with ld.bfd; the same output under qemu (`expect` if
        given), the same sections, .dynamic tags (or `same_tags(ours, ref)`'s check),
        dynamic symbols and versions.  (ours, ref) paths."""
        ours = self.build(tmp, name, sources, flags, cxx=cxx)
        ref = self.build(tmp, name + ".bfd", sources, flags, linker="bfd", cxx=cxx)
        out = self.qemu(ours, *args)
        assert out == self.qemu(ref, *args)
        if expect is not None:
            assert out == expect
        self.same_sections(ours, ref)
        if same_tags is not None:
            same_tags(ours, ref)
        else:
            assert self.dyn_tags(ours) == self.dyn_tags(ref)
        assert self.dyn_syms(ours) == self.dyn_syms(ref)
        assert self.versions(ours) == self.versions(ref)
        return ours, ref

    def dyn_tags(self, path):
        tags = set()
        for line in run([self.readelf, "-dW", path]).stdout.splitlines():
            m = re.match(r"\s*0x[0-9a-f]+\s+\((\w+)\)", line)
            if m:
                tags.add(m.group(1))
        return tags

    def dyn_syms(self, path):
        """(name, type, binding, defined) of each .dynsym entry."""
        rows = set()
        for line in run([self.readelf, "--dyn-syms", "-W", path]).stdout.splitlines():
            p = line.split()
            if len(p) >= 8 and p[0].rstrip(":").isdigit() and p[0] != "0:":
                rows.add((p[7], p[3], p[4], p[6] != "UND"))
        return rows

    def versions(self, path):
        """The version names of -V's .gnu.version_d/_r sections."""
        out = run([self.readelf, "-VW", path]).stdout
        return sorted(set(re.findall(r"Name: (\S+)", out)) | set(re.findall(r"Version: \d+\s+File", out)))
