"""32-bit PowerPC (big-endian) end to end: programs built with Debian's
powerpc-linux-gnu cross gcc/g++, linked by ldpy through the gcc shim and by
powerpc-linux-gnu-ld.bfd, run under qemu-ppc, their section lists, GOT and
relaxed TLS sequences compared."""
import os
import re
import shutil
import subprocess

import pytest

from cross_util import Cross, run, write, CXX_PROG, IFUNC, WEAK_TLS
from cross_util import TLS_LIB as TLS_SO, TLS_MAIN as TLS_PROG
from e2e_util import LINKER

X = Cross("powerpc-linux-gnu", "qemu-ppc")
CC, CXX, READELF, OBJDUMP, QEMU, SYSROOT = X.cc, X.cxx, X.readelf, X.objdump, X.qemu_bin, X.sysroot
build, qemu, section_names, same_sections = X.build, X.qemu, X.section_names, X.same_sections
pytestmark = X.needed()


def compile_obj(tmp, src, flags=()):
    obj = os.path.splitext(src)[0] + "".join(f.replace("-", "_").replace("=", "_") for f in flags) + ".o"
    run([CC, "-c", src, *flags, "-o", obj], cwd=str(tmp))
    return obj


def symbol(path, name):
    for line in run([READELF, "-sW", path]).stdout.splitlines():
        p = line.split()
        if len(p) >= 8 and p[7] == name:
            return int(p[1], 16)
    return None


def section(path, name):
    """(address, size) of an output section."""
    for line in run([READELF, "-SW", path]).stdout.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m and m.group(1) == name:
            return int(m.group(2), 16), int(m.group(3), 16)
    return None


def code(path, *functions):
    """The instructions of the functions (objdump, without addresses, and with
    the GOT-relative displacements blanked: the slot order may differ)."""
    out = run([OBJDUMP, "-d", "--no-show-raw-insn", path]).stdout
    body = "\n".join(re.search(rf"<{f}>:\n(.*?)\n\n", out, re.S).group(1) for f in functions)
    lines = []
    for line in body.splitlines():
        ins = line.split(":", 1)[-1].strip()
        ins = re.sub(r"<[^>]*>|\b[0-9a-f]{8}\b", "", ins)
        ins = re.sub(r"-?\d+\(r30\)", "N(r30)", ins)
        ins = re.sub(r"r30,r30,-?\d+", "r30,r30,N", ins)
        ins = re.sub(r"\.long 0x[0-9a-f]+", ".long N", ins)        # (the distance to the GOT)
        lines.append(ins.strip())
    return lines


HELLO = '#include <stdio.h>\nint main(void){printf("hello from powerpc %d\\n", 32);return 0;}\n'


def test_static_hello(tmp_path):
    src = write(tmp_path, "hello.c", HELLO)
    ours = build(tmp_path, "hello", [src], ["-O2", "-static"])
    ref = build(tmp_path, "hello.bfd", [src], ["-O2", "-static"], linker="bfd")
    assert qemu(ours) == qemu(ref) == "hello from powerpc 32\n"
    same_sections(ours, ref)
    hdr = run([READELF, "-hlW", ours]).stdout
    assert "Machine:                           PowerPC" in hdr and "big endian" in hdr
    assert re.search(r"Entry point address:\s+0x1000", hdr)
    assert re.search(r"LOAD\s+0x000000 0x10000000 .* R E 0x10000", hdr)
    # the GOT's three-word header follows the slots: _GLOBAL_OFFSET_TABLE_ is 12
    # bytes before the end of .got, as ld.bfd places it; the same number of slots
    for path in (ours, ref):
        addr, size = section(path, ".got")
        assert symbol(path, "_GLOBAL_OFFSET_TABLE_") == addr + size - 12
    assert section(ours, ".got")[1] == section(ref, ".got")[1]
    # crt1.o loads r13 from _SDA_BASE_: .sdata + 0x8000
    assert symbol(ours, "_SDA_BASE_") == section(ours, ".sdata")[0] + 0x8000
    notes = run([READELF, "-n", ours]).stdout
    assert "NT_GNU_BUILD_ID" in notes and "Warning" not in notes


TLS_MAIN = r"""
#include <stdio.h>
extern __thread int gd_var;
extern int lib_gd(void), lib_ld(void), lib_ie(void);
__thread int le_var = 5;
__thread char le_bss[100];
static __thread int le_static = 7;
int main(void) {
  le_bss[50] = 3;
  printf("le %d %d %d\n", le_var, le_bss[50], le_static);
  printf("gd %d ld %d ie %d\n", lib_gd(), lib_ld(), lib_ie());
  gd_var += 10;
  printf("gd_var %d\n", gd_var);
  return 0;
}
"""
TLS_LIB = r"""
__thread int gd_var = 11;
static __thread int ld_a = 21, ld_b = 22;
__thread int ie_var = 31;
void bump(void) { ld_a++; ld_b++; }
int lib_gd(void) { return gd_var; }
int lib_ld(void) { bump(); return ld_a + ld_b; }
"""
TLS_IE = "extern __thread int ie_var;\nint lib_ie(void) { return ie_var; }\n"
TLS_OUT = "le 5 3 7\ngd 11 ld 45 ie 31\ngd_var 21\n"


@pytest.mark.parametrize("pic", ["-fpic", "-fPIC"])
def test_static_tls_relaxed_to_local_exec(tmp_path, pic):
    """General-dynamic, local-dynamic and initial-exec code (-fpic: GOT16 from
    _GLOBAL_OFFSET_TABLE_; -fPIC: .got2 and PLTREL24 +0x8000) in a static
    executable: relaxed to local-exec instruction for instruction as ld.bfd does
    (short offsets from r2 without the addis)."""
    main = compile_obj(tmp_path, write(tmp_path, "main.c", TLS_MAIN), ["-O1"])
    lib = compile_obj(tmp_path, write(tmp_path, "lib.c", TLS_LIB), ["-O1", pic])
    ie = compile_obj(tmp_path, write(tmp_path, "ie.c", TLS_IE), ["-O1", pic, "-ftls-model=initial-exec"])
    relocs = run([READELF, "-rW", lib, ie]).stdout
    for t in ("GOT_TLSGD16", "GOT_TLSLD16", "GOT_TPREL16", "R_PPC_TLS ", "TLSGD", "TLSLD", "DTPREL16_HA"):
        assert t in relocs
    ours = build(tmp_path, "tls", [main, lib, ie], ["-static"])
    ref = build(tmp_path, "tls.bfd", [main, lib, ie], ["-static"], linker="bfd")
    assert qemu(ours) == qemu(ref) == TLS_OUT
    functions = ("main", "lib_gd", "lib_ld", "lib_ie")
    mine = code(ours, *functions)
    assert mine == code(ref, *functions)
    assert "addis   r3,r2,0" not in mine and "nop" in mine
    assert "bl" not in [i.split()[0] for i in code(ours, "lib_gd", "lib_ie") if i]  # (no __tls_get_addr)


def test_static_cxx_exceptions_threads_thread_local(tmp_path):
    path = write(tmp_path, "prog.cpp", CXX_PROG)
    ours = build(tmp_path, "prog", [path], ["-O2", "-pthread", "-static"], cxx=True)
    ref = build(tmp_path, "prog.bfd", [path], ["-O2", "-pthread", "-static"], linker="bfd", cxx=True)
    assert qemu(ours) == qemu(ref) == "done 2004 0 main\n"
    same_sections(ours, ref)


# _start's bl and bc to two functions 33 MiB away, each out of reach: ld.bfd gives
# them trampolines after _start's section (the two bl share one); exit status 0
# only when both arrive
FAR_ASM = """
\t.section .text.a,"ax",@progbits
\t.globl _start
_start:
\tbl far
\tbl far
\tcmpwi 3,40
\tbeq 0,far_exit
\tli 3,1
\tli 0,1
\tsc
\t.section .text.b,"ax",@progbits
\t.space GAP
\t.globl far
far:
\tli 3,40
\tblr
\t.globl far_exit
far_exit:
\taddi 3,3,-40
\tli 0,1
\tsc
"""


def far_object(tmp, gap=0x2100000):
    src = write(tmp, f"far{gap:x}.s", FAR_ASM.replace("GAP", hex(gap)))
    obj = src[:-2] + ".o"
    run(["powerpc-linux-gnu-as", src, "-o", obj])
    return obj


def link_direct(tmp, out, objs, flags=(), linker="ldpy", check=True):
    """ld itself (no gcc driver): ldpy or powerpc-linux-gnu-ld.bfd."""
    from e2e_util import ldpy_command
    cmd = [*ldpy_command()] if linker == "ldpy" else ["powerpc-linux-gnu-ld.bfd"]
    return run([*cmd, *flags, *objs, "-o", out], cwd=str(tmp), check=check)


def disassembly(path):
    """objdump -d without the file name line."""
    return run([OBJDUMP, "-d", path]).stdout.split("\n", 2)[2]


def test_long_branch_stubs_for_bl_and_bc(tmp_path):
    """A bl and a beq beyond their reach (+-32 MiB, +-32 KiB) in a program whose
    code spans more than 32 MiB: trampolines (lis/addi r12; mtctr; bctr) after the
    branches' section, one per destination, byte for byte as ld.bfd's; without
    them (--no-relax) ld.bfd's overflow messages."""
    obj = far_object(tmp_path)
    ours = os.path.join(str(tmp_path), "far")
    ref = os.path.join(str(tmp_path), "far.bfd")
    link_direct(tmp_path, ours, [obj])
    link_direct(tmp_path, ref, [obj], linker="bfd")
    assert qemu(ours) == qemu(ref) == ""
    assert disassembly(ours) == disassembly(ref)
    text = disassembly(ours)
    assert text.count("mtctr   r12") == 2 and re.search(r"bl\s+(\w+) <_start\+0x1c>\n.*bl\s+\1 ", text)
    # --emit-relocs: the same code, the input relocations kept (ld.bfd's moving them to
    # the trampolines is not done yet)
    link_direct(tmp_path, ours + ".q", [obj], ["--emit-relocs"])
    assert qemu(ours + ".q") == "" and disassembly(ours + ".q").split("\n", 1)[1] == text.split("\n", 1)[1]
    rel = run([READELF, "-rW", ours + ".q"]).stdout
    assert rel.count("R_PPC_REL24") == 2 and rel.count("R_PPC_REL14") == 1
    r = link_direct(tmp_path, ours + ".norelax", [obj], ["--no-relax"], check=False)
    assert r.returncode != 0
    assert "relocation truncated to fit: R_PPC_REL24 against symbol 'far'" in r.stderr
    assert "relocation truncated to fit: R_PPC_REL14 against symbol 'far_exit'" in r.stderr


INIT_PIECES = ("""
\t.section .init,"ax",@progbits
\t.globl _init
_init:
\tmflr 0
\tbl far
\t.section .text.a,"ax",@progbits
\t.globl _start
_start:
\tbl _init
\tli 0,1
\tsc
\t.section .text.b,"ax",@progbits
\t.space 0x2100000
\t.globl far
far:
\tli 3,0
\tblr
""", "\t.section .init,\"ax\",@progbits\n\tmtlr 0\n\tblr\n")


def test_long_branch_stub_in_pasted_init(tmp_path):
    """.init is pasted together from pieces of several objects (crti, crtn): a
    piece's trampolines start with a branch over them to the next piece, as ld.bfd's."""
    objs = []
    for i, text in enumerate(INIT_PIECES):
        src = write(tmp_path, f"init{i}.s", text)
        objs.append(src[:-2] + ".o")
        run(["powerpc-linux-gnu-as", src, "-o", objs[-1]])
    ours = os.path.join(str(tmp_path), "init")
    ref = os.path.join(str(tmp_path), "init.bfd")
    link_direct(tmp_path, ours, objs)
    link_direct(tmp_path, ref, objs, linker="bfd")
    assert qemu(ours) == ""
    assert disassembly(ours) == disassembly(ref)
    init = re.search(r"<_init>:\n(.*?)\n\n", disassembly(ours), re.S).group(1).splitlines()
    assert re.search(r"\bb\s+\w+ <_init\+0x1c>", init[2]) and "mtlr    r0" in init[7]


def test_conditional_branch_stub_only_with_relax(tmp_path):
    """A beq 64 KiB away in a small program: an overflow error as ld.bfd reports
    it (it stubs branches only when the code spans more than 32 MiB), a trampoline
    with --relax (as ld.bfd's)."""
    obj = far_object(tmp_path, 0x10000)
    r = link_direct(tmp_path, "near", [obj], check=False)
    assert r.returncode != 0
    assert "relocation truncated to fit: R_PPC_REL14 against symbol 'far_exit'" in r.stderr
    ours = os.path.join(str(tmp_path), "near")
    ref = os.path.join(str(tmp_path), "near.bfd")
    link_direct(tmp_path, ours, [obj], ["--relax"])
    link_direct(tmp_path, ref, [obj], ["--relax"], linker="bfd")
    assert qemu(ours) == ""
    assert disassembly(ours) == disassembly(ref)
    assert disassembly(ours).count("bctr") == 1         # (the bl reaches far itself)


def test_relocatable_link_keeps_far_branches(tmp_path):
    """-r makes no trampolines: the branches keep their relocations."""
    obj = far_object(tmp_path)
    link_direct(tmp_path, "r.o", [obj], ["-r"])
    rel = run([READELF, "-rW", os.path.join(str(tmp_path), "r.o")]).stdout
    assert rel.count("R_PPC_REL24") == 2 and rel.count("R_PPC_REL14") == 1
    assert section(os.path.join(str(tmp_path), "r.o"), ".text.a")[1] == 0x1c


# near and far functions 34 MiB apart (three objects, linked in this order),
# calling each other and printf
NEAR_C = r"""
#include <stdio.h>
void far_fn(int);
void far_local(int) __attribute__((visibility("hidden")));
void near_fn(int x) { printf("near %d\n", x); if (x < 2) far_fn(x + 1); else far_local(x); }
"""
GAP_C = 'void gap(void) { __asm__(".space 34*1024*1024"); }\n'
FAR_C = r"""
#include <stdio.h>
void near_fn(int);
void far_fn(int x) { printf("far %d\n", x); near_fn(x + 1); }
__attribute__((visibility("hidden"))) void far_local(int x) { printf("local %d\n", x); }
"""
FAR_MAIN = 'void near_fn(int);\nint puts(const char *);\nint main(void) { near_fn(0); puts("done"); return 0; }\n'
FAR_OUT = "near 0\nfar 1\nnear 2\nlocal 2\ndone\n"


def far_sources(tmp):
    return [write(tmp, name, text) for name, text in (("near.c", NEAR_C), ("gap.c", GAP_C), ("far.c", FAR_C))]


def shape(path, function):
    """The function's instructions with their numbers blanked (the addresses of
    data and PLT stubs differ between ldpy and ld.bfd)."""
    return [re.sub(r"-?\b(?=[0-9a-f]*\d)[0-9a-f]+\b", "N", line) for line in code(path, function)]


def trampoline_targets(path, function):
    """Where the trampolines within `function`'s objdump listing go, in order: the
    name of the function symbol there, else "stub" (a PLT call stub)."""
    out = run([OBJDUMP, "-d", path]).stdout
    body = re.search(rf"<{function}>:\n(.*?)\n\n", out, re.S).group(1)
    rows = [(int(m.group(1), 16), int(m.group(2).replace(" ", ""), 16))
            for m in re.finditer(r"^\s*([0-9a-f]+):\s+((?:[0-9a-f]{2} ){3}[0-9a-f]{2})", body, re.M)]
    funcs = {}
    for line in run([READELF, "-sW", path]).stdout.splitlines():
        p = line.split()
        if len(p) >= 8 and p[3] == "FUNC" and p[6] != "UND":
            v = int(p[1], 16)           # (of aliases, the public name: printf, not _IO_printf)
            funcs[v] = min(funcs.get(v, p[7]), p[7], key=lambda n: (n.startswith("_"), n))

    def ha_lo(hi, lo):
        return ((hi & 0xffff) << 16) + ((lo & 0xffff) ^ 0x8000) - 0x8000
    found = []
    for i, (addr, w) in enumerate(rows[:-3]):
        nxt = [r[1] for r in rows[i + 1:i + 4]]
        if w & 0xffff0000 == 0x3d800000 and nxt[0] & 0xffff0000 == 0x398c0000:    # lis/addi r12
            target = ha_lo(w, nxt[0])
        elif w == 0x429f0005 and nxt[0] == 0x7d8802a6:                          # bcl; mflr r12
            target = (addr + 4 + ha_lo(nxt[1], nxt[2])) & 0xffffffff
        else:
            continue
        found.append(funcs.get(target, "stub"))
    return found


@pytest.mark.parametrize("mode", [["-static"], ["-no-pie", "-fno-PIE"], ["-pie", "-fPIE"]])
def test_long_branch_stubs_in_programs(tmp_path, mode):
    """Calls 34 MiB away, to functions and through the PLT (to the call stubs in
    .glink): trampolines after the calling function's section, absolute or (PIE)
    PC-relative, the same instructions as ld.bfd's (their numbers differ where
    ldpy's data or .glink addresses do) going to the same places."""
    srcs = far_sources(tmp_path)
    main = write(tmp_path, "main.c", FAR_MAIN)
    flags = ["-O1", *mode]
    ours = build(tmp_path, "far", [main, *srcs], flags)
    ref = build(tmp_path, "far.bfd", [main, *srcs], flags, linker="bfd")
    assert qemu_dyn(ours) == qemu_dyn(ref) == FAR_OUT
    for fn in ("near_fn", "far_fn"):
        assert shape(ours, fn) == shape(ref, fn)
        assert trampoline_targets(ours, fn) == trampoline_targets(ref, fn)
    near = [line.split()[0] for line in shape(ours, "near_fn")]
    stub = ["mflr", "bcl", "mflr", "addis", "addi", "mtlr", "mtctr", "bctr"] if "-pie" in mode else \
        ["lis", "addi", "mtctr", "bctr"]
    assert near[-len(stub):] == stub            # (the trampolines follow the function)
    # far_fn and far_local directly, printf (in .text, after them) or its PLT call stub
    assert sorted(trampoline_targets(ours, "near_fn")) == \
        ["far_fn", "far_local", "printf" if "-static" in mode else "stub"]


def test_long_branch_stubs_in_shared_library(tmp_path):
    """-shared: PC-relative trampolines to a preemptible function's PLT call stub
    and to a local function, of ld.bfd's shape; the library works."""
    srcs = far_sources(tmp_path)
    main = write(tmp_path, "main.c", FAR_MAIN)
    flags = ["-O1", "-fPIC", "-shared"]
    build(tmp_path, "libfar.so", srcs, flags)
    ref = build(tmp_path, "libfar.bfd.so", srcs, flags, linker="bfd")
    ours = os.path.join(str(tmp_path), "libfar.so")
    exe = build(tmp_path, "main", [main, "-L.", "-lfar"], ["-O1"])
    assert qemu_dyn(exe, libdir=str(tmp_path)) == FAR_OUT
    assert shape(ours, "near_fn") == shape(ref, "near_fn")
    # printf and the preemptible far_fn through their PLT call stubs, far_local itself
    assert trampoline_targets(ours, "near_fn") == trampoline_targets(ref, "near_fn")
    assert sorted(trampoline_targets(ours, "near_fn")) == ["far_local", "stub", "stub"]


def dyn_tags(path):
    return {m.group(1) for m in re.finditer(r"^\s*0x[0-9a-f]+\s+\((\w+)\)", run([READELF, "-dW", path]).stdout, re.M)}


def dyn_syms(path, all_weak=False):
    """(name, type, binding, defined) of .dynsym.  ld.bfd also exports the undefined
    weak symbols a linked shared library refers to (crtbegin's _ITM_* when libstdc++
    or a library of the test is linked): ldpy does not, so those are left out unless
    all_weak (a PIE's own undefined weak symbols are dynamic in both)."""
    rows = set()
    for line in run([READELF, "--dyn-syms", "-W", path]).stdout.splitlines():
        p = line.split()
        if len(p) >= 8 and p[0].rstrip(":").isdigit() and p[0] != "0:" and \
                (all_weak or not (p[7].startswith("_ITM_") and p[6] == "UND")):
            rows.add((p[7], p[3], p[4], p[6] != "UND"))
    return rows


def reloc_rows(path):
    """(type, symbol) of every dynamic relocation, sorted."""
    return sorted((l.split()[2], l.split()[4] if len(l.split()) > 4 and not l.split()[2].endswith("RELATIVE")
                   else "") for l in run([READELF, "-rW", path]).stdout.splitlines() if "R_PPC_" in l)


def versions(path):
    out = run([READELF, "-VW", path]).stdout
    return sorted(set(re.findall(r"Name: (\S+)", out)) | set(re.findall(r"Version: \d+\s+File", out)))


def qemu_dyn(path, *args, libdir=None):
    env = dict(os.environ, QEMU_LD_PREFIX=SYSROOT)
    if libdir:
        env["QEMU_SET_ENV"] = f"LD_LIBRARY_PATH={libdir}"
    r = subprocess.run([QEMU, "-L", SYSROOT, path, *args], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def words(path, name):
    """The big-endian words of an output section."""
    addr, size = section(path, name)
    out = run([OBJDUMP, "-s", "-j", name, path]).stdout
    data = "".join("".join(line.split()[1:5]) for line in out.splitlines()[4:])
    return [int(data[i:i + 8], 16) for i in range(0, 8 * (size // 4), 8)]


@pytest.mark.parametrize("mode", [["-pie", "-fPIE"], ["-no-pie", "-fno-PIE"], ["-no-pie", "-fPIE"]])
def test_dynamic_hello(tmp_path, mode):
    """The secure PLT: JMP_SLOTs in .plt (a writable array of words, each starting at
    its __glink entry at the end of .text), call stubs in .text, DT_PPC_GOT naming
    _GLOBAL_OFFSET_TABLE_ (after the .got slots), the same sections, tags and
    dynamic symbols as ld.bfd."""
    src = write(tmp_path, "hello.c", HELLO)
    ours = build(tmp_path, "hello", [src], ["-O2", *mode])
    ref = build(tmp_path, "hello.bfd", [src], ["-O2", *mode], linker="bfd")
    assert qemu_dyn(ours) == qemu_dyn(ref) == "hello from powerpc 32\n"
    same_sections(ours, ref)
    assert dyn_tags(ours) == dyn_tags(ref)
    assert "PPC_GOT" in dyn_tags(ours)
    assert dyn_syms(ours, all_weak=True) == dyn_syms(ref, all_weak=True)
    assert versions(ours) == versions(ref)
    # the same dynamic relocations (a PIE's undefined weak _ITM_* pointers stay dynamic)
    assert reloc_rows(ours) == reloc_rows(ref)
    d = run([READELF, "-dW", ours]).stdout
    ppc_got = int(re.search(r"\(PPC_GOT\)\s+0x([0-9a-f]+)", d).group(1), 16)
    assert ppc_got == symbol(ours, "_GLOBAL_OFFSET_TABLE_") == sum(section(ours, ".got")) - 12
    pltgot = int(re.search(r"\(PLTGOT\)\s+0x([0-9a-f]+)", d).group(1), 16)
    assert pltgot == section(ours, ".plt")[0]
    relocs = run([READELF, "-rW", ours]).stdout
    slots = [int(m.group(1), 16) for m in re.finditer(r"^([0-9a-f]+)\s+\S+\s+R_PPC_JMP_SLOT", relocs, re.M)]
    assert sorted(slots) == [pltgot + 4 * i for i in range(len(slots))] and len(slots) >= 2
    text = section(ours, ".text")
    glink = words(ours, ".plt")
    assert all(text[0] <= w < sum(text) for w in glink)
    assert glink == [glink[0] + 4 * i for i in range(len(glink))]      # (one __glink nop each)


def test_shared_library_with_versions(tmp_path):
    main = X.versioned_libraries(tmp_path)
    a, b = str(tmp_path / "libv.so"), str(tmp_path / "libv.bfd.so")
    same_sections(a, b)
    assert dyn_tags(a) == dyn_tags(b) and dyn_syms(a) == dyn_syms(b) and versions(a) == versions(b)
    # the program (non-PIE: a copy relocation for `base`; PIE) against each library
    for so in ("libv.so", "libv.bfd.so"):
        (tmp_path / "run").mkdir(exist_ok=True)
        shutil.copy(tmp_path / so, tmp_path / "run" / "libv.so")
        for mode in ("-no-pie", "-pie"):
            flags = [mode, "-fno-PIE" if mode == "-no-pie" else "-fPIE", "-O2"]
            ours = build(tmp_path, "main", [main, a, *flags])
            ref = build(tmp_path, "main.bfd", [main, a, *flags], linker="bfd")
            libdir = str(tmp_path / "run")
            assert qemu_dyn(ours, libdir=libdir) == qemu_dyn(ref, libdir=libdir) == "43 42\n"
            assert dyn_tags(ours) == dyn_tags(ref) and dyn_syms(ours) == dyn_syms(ref)
            assert versions(ours) == versions(ref)
            if mode == "-no-pie":
                assert "R_PPC_COPY" in run([READELF, "-rW", ours]).stdout


def tls_imports(path):
    """The dynamic symbols but __tls_get_addr: ld.bfd calls glibc's __tls_get_addr_opt
    (with its own __glink stub that tests the cached offset first, and DT_PPC_OPT
    telling ld.so so) where ldpy calls __tls_get_addr, and keeps the symbol in an
    executable whose calls were all relaxed away (ldpy drops it)."""
    return {r for r in dyn_syms(path) if not r[0].startswith("__tls_get_addr")}


def tls_tags(path):
    return dyn_tags(path) - {"PPC_OPT"}


@pytest.mark.parametrize("pic", ["-fPIC", "-fpic"])
def test_tls_models_across_library(tmp_path, pic):
    lib = write(tmp_path, "tlslib.c", TLS_SO)
    main = write(tmp_path, "tlsmain.c", TLS_PROG)
    ours_so = build(tmp_path, "libtls.so", [lib], ["-shared", pic, "-O2"])
    ref_so = build(tmp_path, "libtls.bfd.so", [lib], ["-shared", pic, "-O2"], linker="bfd")
    same_sections(ours_so, ref_so)
    assert tls_tags(ours_so) == tls_tags(ref_so) and tls_imports(ours_so) == tls_imports(ref_so)
    types = run([READELF, "-rW", ours_so]).stdout
    for t in ("R_PPC_DTPMOD32", "R_PPC_DTPREL32", "R_PPC_TPREL32"):
        assert t in types
    # (-fPIC: the program's own code is general-dynamic, relaxed to IE and LE)
    for exe_flags in (["-pie", "-fPIE"], ["-no-pie", "-fno-PIE"], ["-pie", "-fPIC"], ["-no-pie", "-fPIC"]):
        ours = build(tmp_path, "tls", [main, ours_so, "-O2", *exe_flags, "-pthread", f"-Wl,-rpath,{tmp_path}"])
        ref = build(tmp_path, "tls.bfd", [main, ref_so, "-O2", *exe_flags, "-pthread",
                                          f"-Wl,-rpath,{tmp_path}"], linker="bfd")
        assert qemu_dyn(ours) == qemu_dyn(ref) == "60 11 17\n"
        assert tls_tags(ours) == tls_tags(ref) and tls_imports(ours) == tls_imports(ref)
        assert "__tls_get_addr" not in run([READELF, "-rW", "--dyn-syms", ours]).stdout


@pytest.mark.parametrize("mode", ["-pie", "-no-pie"])
def test_cxx_exceptions_threads_thread_local(tmp_path, mode):
    path = write(tmp_path, "prog.cpp", CXX_PROG)
    ours = build(tmp_path, "prog", [path], ["-O2", "-pthread", mode], cxx=True)
    ref = build(tmp_path, "prog.bfd", [path], ["-O2", "-pthread", mode], linker="bfd", cxx=True)
    assert qemu_dyn(ours) == qemu_dyn(ref) == "done 2004 0 main\n"
    same_sections(ours, ref)
    assert dyn_tags(ours) == dyn_tags(ref) and dyn_syms(ours) == dyn_syms(ref)
    hdr = run([READELF, "-lW", ours]).stdout
    assert "GNU_EH_FRAME" in hdr


def test_function_address_is_the_same_everywhere(tmp_path):
    """Non-PIC code takes printf's address with lis/addi (ADDR16_HA/LO): its call stub
    becomes printf's address (a canonical PLT entry: .dynsym gives it as the value),
    which the library then sees too."""
    lib = write(tmp_path, "lib.c", "#include <stdio.h>\nvoid *get_printf(void) { return (void *)printf; }\n")
    main = write(tmp_path, "main.c", "#include <stdio.h>\nvoid *get_printf(void);\n"
                 "int (*p)(const char *, ...) = printf;\nint main(void) { printf(\"%d %d\\n\", "
                 "(void *)printf == get_printf(), (void *)p == get_printf()); return 0; }\n")
    so = build(tmp_path, "libg.so", [lib], ["-shared", "-fPIC"])
    ours = build(tmp_path, "m", [main, so, "-O2", "-no-pie", "-fno-PIE", f"-Wl,-rpath,{tmp_path}"])
    assert qemu_dyn(ours) == "1 1\n"
    value = [l.split()[1] for l in run([READELF, "--dyn-syms", "-W", ours]).stdout.splitlines()
             if len(l.split()) >= 8 and l.split()[7].startswith("printf@")]
    text = section(ours, ".text")
    assert len(value) == 1 and text[0] <= int(value[0], 16) < sum(text)


def test_relocatable_merges_got2_addends(tmp_path):
    """-r: the PLTREL24 addends of -fPIC objects (0x8000: r30 = .got2 + 0x8000) move
    with their .got2 in the merged section, as ld.bfd writes them; the result links
    and runs."""
    main = compile_obj(tmp_path, write(tmp_path, "main.c", TLS_MAIN), ["-O1", "-fPIC"])
    lib = compile_obj(tmp_path, write(tmp_path, "lib.c", TLS_LIB), ["-O1", "-fPIC"])
    ie = compile_obj(tmp_path, write(tmp_path, "ie.c", TLS_IE), ["-O1", "-fPIC", "-ftls-model=initial-exec"])
    from e2e_util import ldpy_command
    run([*ldpy_command(), "-r", main, lib, ie, "-o", "r.o"], cwd=str(tmp_path))
    run(["powerpc-linux-gnu-ld", "-r", main, lib, ie, "-o", "r.bfd.o"], cwd=str(tmp_path))

    def relocs(path):
        out = run([READELF, "-rW", str(tmp_path / path)]).stdout
        return [(r[0], r[2], *r[4:]) for r in (l.split() for l in out.splitlines() if "R_PPC_" in l)]
    mine, theirs = relocs("r.o"), relocs("r.bfd.o")
    assert mine == theirs
    assert any(r[1] == "R_PPC_PLTREL24" and r[-1] not in ("8000", "0") for r in mine)
    exe = build(tmp_path, "r", [str(tmp_path / "r.o")], ["-static"])
    assert qemu(exe) == TLS_OUT
    exe = build(tmp_path, "r.bfd", [str(tmp_path / "r.o")], ["-pie"], linker="bfd")
    assert qemu_dyn(exe) == TLS_OUT


@pytest.mark.parametrize("mode", ["-static", "-no-pie"])
def test_small_data_sdarel16(tmp_path, mode):
    """-msdata=sysv: lwz r,x@sdarel(r13) is x's offset from _SDA_BASE_ (.sdata +
    0x8000), which crt1.o loads into r13."""
    lib = write(tmp_path, "sd.c", "int small = 3;\nstatic int s2 = 4;\nint get(void) { return small + s2; }\n")
    obj = compile_obj(tmp_path, lib, ["-O2", "-fno-PIC", "-msdata=sysv"])
    assert "R_PPC_SDAREL16" in run([READELF, "-rW", obj]).stdout
    main = write(tmp_path, "m.c", "#include <stdio.h>\nextern int small; int get(void);\n"
                 "int main(void) { small = 5; printf(\"%d\\n\", get()); return 0; }\n")
    ours = build(tmp_path, "sd", [main, obj], [mode, "-fno-PIE"])
    ref = build(tmp_path, "sd.bfd", [main, obj], [mode, "-fno-PIE"], linker="bfd")
    assert qemu_dyn(ours) == qemu_dyn(ref) == "9\n"
    assert symbol(ours, "_SDA_BASE_") == section(ours, ".sdata")[0] + 0x8000


def test_unlinked_relocation_types_refused_by_name(tmp_path):
    src = write(tmp_path, "r.s", ".text\n.globl _start\n_start: nop\n.reloc _start+2, R_PPC_EMB_SDA21, x\n"
                ".data\nx: .long 0\n")
    obj = os.path.join(str(tmp_path), "r.o")
    run(["powerpc-linux-gnu-as", src, "-o", obj])
    from e2e_util import ldpy_command
    r = run([*ldpy_command(), obj, "-o", "r"], cwd=str(tmp_path), check=False)
    assert r.returncode != 0
    assert "r.o:(.text+0x2): unsupported relocation R_PPC_EMB_SDA21 against 'x' (not supported yet)" in r.stderr


def test_got_beyond_32k_keeps_its_header_in_reach(tmp_path):
    """-fpic code reaches GOT slots with signed 16-bit offsets from
    _GLOBAL_OFFSET_TABLE_: past 8192 slots the header sits 32 KiB into .got with the
    other slots after it, as ld.bfd lays it out."""
    n = 9000
    src = write(tmp_path, "big.c", "".join(f"int v{i} = {i};\n" for i in range(n)) +
                "int sum(void) { int s = 0;\n" + "".join(f" s += v{i};\n" for i in range(n)) + " return s; }\n")
    main = write(tmp_path, "m.c", '#include <stdio.h>\nint sum(void);\nint main(void){printf("%d\\n", sum());return 0;}\n')
    so = build(tmp_path, "libbig.so", [src], ["-O1", "-fpic", "-shared"])
    ref = build(tmp_path, "libbig.bfd.so", [src], ["-O1", "-fpic", "-shared"], linker="bfd")
    for path in (so, ref):
        addr, size = section(path, ".got")
        assert symbol(path, "_GLOBAL_OFFSET_TABLE_") == addr + 0x8000 and size == 4 * (n + 3 + 1)
    exe = build(tmp_path, "m", [main, so], [f"-Wl,-rpath,{tmp_path}"])
    assert qemu_dyn(exe) == f"{sum(range(n))}\n"


def test_cxx_exception_across_library(tmp_path):
    """An exception thrown in a shared library (-fPIC, its own .got2) caught by the
    program that called it through a PLT stub."""
    lib = write(tmp_path, "thrower.cpp", "#include <stdexcept>\n#include <string>\n"
                "int thrower(int x) { if (x) throw std::runtime_error(\"x\" + std::to_string(x)); return 1; }\n")
    main = write(tmp_path, "cm.cpp", "#include <cstdio>\n#include <stdexcept>\nint thrower(int x);\n"
                 "int main() { try { thrower(3); } catch (const std::exception &e) "
                 "{ std::printf(\"caught %s\\n\", e.what()); } return 0; }\n")
    so = build(tmp_path, "libx.so", [lib], ["-O2", "-shared", "-fPIC"], cxx=True)
    for mode in (["-pie", "-fPIE"], ["-no-pie", "-fno-PIE"]):
        exe = build(tmp_path, "cm", [main, so, *mode, f"-Wl,-rpath,{tmp_path}"], cxx=True)
        assert qemu_dyn(exe) == "caught x3\n"


@pytest.mark.parametrize("mode", ["-static", "-pie", "-no-pie"])
def test_ifunc(tmp_path, mode):
    """An IFUNC gets a call stub and a slot filled by IRELATIVE; in a dynamic output
    the IRELATIVEs are in .rela.dyn, as ld.bfd writes them (ld.so applies nothing of
    .rela.plt but JMP_SLOTs when binding lazily on PowerPC)."""
    src = write(tmp_path, "ifunc.c", IFUNC)
    flags = ["-O2", mode] + (["-fno-PIE"] if mode == "-no-pie" else [])
    ours = build(tmp_path, "ifunc", [src], flags)
    ref = build(tmp_path, "ifunc.bfd", [src], flags, linker="bfd")
    assert qemu_dyn(ours) == qemu_dyn(ref) == "9 9 1\n"
    if mode != "-static":
        assert dyn_tags(ours) == dyn_tags(ref) and dyn_syms(ours) == dyn_syms(ref)
        relocs = run([READELF, "-rW", ours]).stdout
        plt_part = relocs[relocs.index("'.rela.plt'"):]
        assert "R_PPC_IRELATIVE" in relocs and "R_PPC_IRELATIVE" not in plt_part

    def types(path):
        return sorted(l.split()[2] for l in run([READELF, "-rW", path]).stdout.splitlines() if "R_PPC_" in l)
    assert types(ours) == types(ref)


def test_emulation_listed():
    from e2e_util import ldpy_command
    out = run([*ldpy_command(), "-V"]).stdout
    assert "elf32ppclinux" in out


GD_LOCAL_LIB = r"""
__attribute__((tls_model("global-dynamic"))) _Thread_local int lib_first = 7;
__attribute__((tls_model("global-dynamic"))) static _Thread_local int counter = 40;
__attribute__((tls_model("global-dynamic"))) static _Thread_local char tag[3] = "ok";
int bump(void) { return ++counter; }
const char *name(void) { return tag; }
"""
GD_LOCAL_MAIN = r"""
#include <stdio.h>
extern _Thread_local int lib_first;
int bump(void);
const char *name(void);
int main(void) { bump(); printf("%d %d %s\n", lib_first, bump(), name()); return 0; }
"""


@pytest.mark.parametrize("relax", [[], ["-Wl,--no-relax"]])
def test_general_dynamic_of_library_local_tls(tmp_path, relax):
    """A library's own (static) TLS variables reached by general-dynamic code
    (-O0 keeps GD): their GOT pair is a DTPMOD32 and an offset known at link time,
    which __tls_get_addr adds to the block's address + 0x8000, so it is biased by
    -0x8000 as a DTPREL32 would be."""
    lib = write(tmp_path, "gdlib.c", GD_LOCAL_LIB)
    main = write(tmp_path, "gdmain.c", GD_LOCAL_MAIN)
    obj = compile_obj(tmp_path, lib, ["-fPIC", "-O0"])
    assert "R_PPC_GOT_TLSGD16" in run([READELF, "-rW", str(tmp_path / obj)]).stdout
    for linker, so in ((LINKER, "libgd.so"), ("bfd", "libgd.bfd.so")):
        build(tmp_path, so, [obj], ["-shared", *relax, "-Wl,-soname,libgd.so"], linker=linker)
    ours_so, ref_so = str(tmp_path / "libgd.so"), str(tmp_path / "libgd.bfd.so")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for so in (ours_so, ref_so):
        shutil.copy(so, run_dir / "libgd.so")
        for linker in (LINKER, "bfd"):
            exe = build(tmp_path, "gd", [main, ours_so, "-O0"], linker=linker)
            assert qemu_dyn(exe, libdir=str(run_dir)) == "7 42 ok\n"
    # ldpy: the offset words of the pairs without a symbol hold offset - 0x8000
    got_addr, _ = section(ours_so, ".got")
    got = words(ours_so, ".got")
    relocs = run([READELF, "-rW", ours_so]).stdout
    pairs = [int(m.group(1), 16) for m in re.finditer(r"^([0-9a-f]+)\s+\S+\s+R_PPC_DTPMOD32\s+[0-9a-f]+\s*$", relocs, re.M)]
    assert len(pairs) == 2
    offsets = sorted((got[(p + 4 - got_addr) // 4] + 0x8000) & 0xffffffff for p in pairs)
    assert offsets == sorted([symbol(ours_so, "counter"), symbol(ours_so, "tag")])    # (TLS st_value)
    assert 0 not in offsets


NOPLT_LIB = r"""
#include <stdio.h>
static _Thread_local int total = 100;
__attribute__((noinline, visibility("hidden"))) int scaled(int x) { return 3 * x; }
static void pick_a(void) { puts("picked a"); }
static void (*resolve_pick(void))(void) { return pick_a; }
__attribute__((ifunc("resolve_pick"))) void pick(void);
int accumulate(int x) { total += x; pick(); printf("sum %d\n", scaled(total)); return total; }
"""
NOPLT_MAIN = r"""
#include <stdio.h>
int accumulate(int);
int main(void) { accumulate(5); printf("main %d\n", accumulate(7)); return 0; }
"""
NOPLT_OUT = "picked a\nsum 315\npicked a\nsum 336\nmain 112\n"


def call_shape(path, ref, function):
    """The instructions of a function with every immediate and displacement blanked
    (GOT and .plt slot orders differ), as long as ld.bfd's: ldpy's unnamed call
    stubs may follow it in objdump's listing."""
    def shape(body):
        return [re.sub(r"(?<![\w])-?(0x)?[0-9a-f]*\d[0-9a-f]*\b", "N", i) for i in body]
    ref_body = code(ref, function)
    return shape(code(path, function)[:len(ref_body)]), shape(ref_body)


@pytest.mark.parametrize("pic", ["-fPIC", "-fpic"])
def test_inline_plt_calls_of_fno_plt(tmp_path, pic):
    """-fno-plt: calls load the callee from its .plt slot (PLT16_HA/LO from r30,
    PLTSEQ on the mtctr, PLTCALL on the bctrl).  Imported functions and IFUNCs keep
    the load (from .got2 + 0x8000 or the GOT in PIC outputs, absolute in a non-PIE
    executable, as ld.bfd); the library's own hidden function becomes a bl; an
    executable's local-dynamic __tls_get_addr call is relaxed to nops and an addi."""
    lib = write(tmp_path, "noplt.c", NOPLT_LIB)
    main = write(tmp_path, "noplt_main.c", NOPLT_MAIN)
    obj = compile_obj(tmp_path, lib, [pic, "-fno-plt", "-O1", "-ftls-model=local-dynamic"])
    relocs = run([READELF, "-rW", str(tmp_path / obj)]).stdout
    for t in ("R_PPC_PLT16_HA", "R_PPC_PLT16_LO", "R_PPC_PLTSEQ", "R_PPC_PLTCALL", "R_PPC_TLSLD"):
        assert t in relocs
    # the library: every call goes through a slot or becomes direct
    for linker, so in ((LINKER, "libnoplt.so"), ("bfd", "libnoplt.bfd.so")):
        build(tmp_path, so, [obj], ["-shared", "-Wl,-soname,libnoplt.so"], linker=linker)
    ours_so, ref_so = str(tmp_path / "libnoplt.so"), str(tmp_path / "libnoplt.bfd.so")
    ours_code, ref_code = call_shape(ours_so, ref_so, "accumulate")
    assert ours_code == ref_code
    body = code(ours_so, "accumulate")
    assert any(re.match(r"bl\s", i) for i in body) and "bctrl" in body
    # (ld.bfd 2.40's library crashes under qemu, its own programs too: not run)
    for linker in (LINKER, "bfd"):
        exe = build(tmp_path, "noplt", [main, ours_so, "-fno-plt", "-fPIE", "-pie", f"-Wl,-rpath,{tmp_path}"],
                    linker=linker)
        assert qemu_dyn(exe) == NOPLT_OUT
    # linked into executables: the TLS call relaxed, the IFUNC through its IRELATIVE slot
    for mode in (["-pie"], ["-no-pie"], ["-static"]):
        ours = build(tmp_path, "noplt_exe", [main, obj, *mode])
        ref = build(tmp_path, "noplt_exe.bfd", [main, obj, *mode], linker="bfd")
        assert qemu_dyn(ours) == qemu_dyn(ref) == NOPLT_OUT
        ours_code, ref_code = call_shape(ours, ref, "accumulate")
        assert ours_code == ref_code
        assert "__tls_get_addr" not in run([READELF, "-rW", "--dyn-syms", ours]).stdout


IFUNC_DEFS = r"""
#include <stdio.h>
static void say_left(void) { printf("left "); }
static void say_right(void) { printf("right "); }
static void (*choose_left(void))(void) { return say_left; }
static void (*choose_right(void))(void) { return say_right; }
void left(void) __attribute__((ifunc("choose_left")));
void right(void) __attribute__((ifunc("choose_right")));
"""
IFUNC_PIC_GETTERS = r"""
void left(void); void right(void);
void (*left_from_pic(void))(void) { return left; }
void (*right_from_pic(void))(void) { return right; }
"""
IFUNC_USER = r"""
#include <stdio.h>
void left(void); void right(void);
void (*left_from_pic(void))(void); void (*right_from_pic(void))(void);
int main(void) {
    printf("%d %d\n", left == left_from_pic(), right == right_from_pic());
    left_from_pic()(); right(); left(); printf("\n");
    return 0;
}
"""


@pytest.mark.parametrize("mode", ["-no-pie", "-pie"])
def test_ifunc_address_same_from_pic_and_non_pic_code(tmp_path, mode):
    """Two IFUNCs of an executable whose addresses are taken both by non-PIC code
    (ADDR16_HA/LO) and by PIC code (.got2 words): one canonical address each, their
    slots filled by IRELATIVEs in .rela.dyn while .rela.plt holds only JMP_SLOTs."""
    code_flag = "-fno-PIE" if mode == "-no-pie" else "-fPIE"
    objs = [compile_obj(tmp_path, write(tmp_path, "ifdefs.c", IFUNC_DEFS), [code_flag]),
            compile_obj(tmp_path, write(tmp_path, "ifpic.c", IFUNC_PIC_GETTERS), ["-fPIC"]),
            compile_obj(tmp_path, write(tmp_path, "ifuser.c", IFUNC_USER), [code_flag])]
    ours = build(tmp_path, "ifeq", [*objs, mode])
    ref = build(tmp_path, "ifeq.bfd", [*objs, mode], linker="bfd")
    assert qemu_dyn(ours) == qemu_dyn(ref) == "1 1\nleft right left \n"
    assert "TEXTREL" not in run([READELF, "-dW", ours]).stdout
    assert reloc_rows(ours) == reloc_rows(ref)
    relocs = run([READELF, "-rW", ours]).stdout
    # (a PIE's .got2 words of the IFUNCs get IRELATIVEs too, as in ld.bfd's output)
    assert relocs.count("R_PPC_IRELATIVE") == run([READELF, "-rW", ref]).stdout.count("R_PPC_IRELATIVE") >= 2
    assert "R_PPC_IRELATIVE" not in relocs[relocs.index("'.rela.plt'"):]


@pytest.mark.parametrize("mode", ["-pie", "-static"])
def test_local_exec_of_undefined_weak_tls(tmp_path, mode):
    """Local-exec code reaching an undefined weak TLS variable: a PIE leaves its
    undefined weak symbols to the loader (as PowerPC's ld.bfd), which made this one
    "defined in a shared library" and the link an error; it is offset 0."""
    src = write(tmp_path, "weaktls.c", WEAK_TLS)
    ours = build(tmp_path, "weaktls", [src, mode])
    ref = build(tmp_path, "weaktls.bfd", [src, mode], linker="bfd")
    assert qemu(ours) == qemu(ref) == "3\n"


def fdes(path):
    """(pc_begin, pc_end, call frame instructions) of each FDE of .eh_frame, in order."""
    out = run([READELF, "--debug-dump=frames", path]).stdout
    found = []
    for m in re.finditer(r"FDE cie=\w+ pc=([0-9a-f]+)\.\.([0-9a-f]+)\n((?:  .*\n)*)", out):
        ops = [line.strip() for line in m.group(3).splitlines() if "DW_CFA_nop" not in line]
        found.append((int(m.group(1), 16), int(m.group(2), 16), ops))
    return found


def eh_frame_hdr_count(path):
    """The number of FDEs .eh_frame_hdr's table holds (None without the section)."""
    return words(path, ".eh_frame_hdr")[2] if section(path, ".eh_frame_hdr") else None


def lr_moves(path, begin):
    """Where the FDE's instructions say LR goes to r0 and back: offsets from begin."""
    at, moves = begin, []
    for op in fdes(path)[0][2]:
        m = re.search(r"to ([0-9a-f]+)", op)
        if m:
            at = int(m.group(1), 16)
        elif "r65 in r0" in op or "restore_extended: r65" in op:
            moves.append(at - begin)
    return moves


@pytest.mark.parametrize("mode", [["-no-pie", "-fno-PIE"], ["-pie", "-fPIE"], ["-static"]])
def test_plt_code_has_an_fde(tmp_path, mode):
    """The PLT code (.glink's call stubs, __glink and its resolver; a static program's
    IFUNC stubs) is covered by an FDE of its own CIE first in .eh_frame, as ld.bfd
    writes it: no instructions where LR stays put, LR in r0 around each mflr r0 ...
    mtlr r0 of the PIC resolver (and of ldpy's PIC call stubs); in .eh_frame_hdr's
    table too.  --no-ld-generated-unwind-info leaves it out."""
    src = write(tmp_path, "ifunc.c", IFUNC) if "-static" in mode else write(tmp_path, "hello.c", HELLO)
    ours = build(tmp_path, "prog", [src], ["-O2", *mode])
    ref = build(tmp_path, "prog.bfd", [src], ["-O2", *mode], linker="bfd")
    assert qemu_dyn(ours) == qemu_dyn(ref)
    begin, end, ops = fdes(ours)[0]
    ref_begin, ref_end, ref_ops = fdes(ref)[0]
    if "-static" in mode:
        assert end - begin == ref_end - ref_begin == 16          # (the IFUNC's call stub)
    else:
        # .glink ends .text: n call stubs, a __glink word each (to 16 bytes), the resolver
        n = run([READELF, "-rW", ours]).stdout.count("R_PPC_JMP_SLOT")
        stub = 32 if "-pie" in mode else 16
        assert end == sum(section(ours, ".text"))
        assert end - begin == n * stub + (4 * n + 15) // 16 * 16 + 64
        if "-no-pie" in mode:
            assert end - begin == ref_end - ref_begin
    if "-pie" in mode:
        # the resolver's mflr r0 .. mtlr r0 at the same offsets as ld.bfd's, and each
        # call stub's (mflr r0; bcl; mflr r11; mtlr r0; ...)
        assert lr_moves(ours, end - 64)[-2:] == lr_moves(ref, symbol(ref, "__glink_PLTresolve")) == [8, 24]
        assert lr_moves(ours, begin)[:-2] == [x for i in range(n) for x in (32 * i + 4, 32 * i + 16)]
    else:
        assert ops == ref_ops == []
    other = build(tmp_path, "prog.nounwind", [src], ["-O2", *mode, "-Wl,--no-ld-generated-unwind-info"])
    assert len(fdes(other)) == len(fdes(ours)) - 1
    if "-static" in mode:       # (gcc asks for .eh_frame_hdr only in dynamic links)
        assert eh_frame_hdr_count(ours) is eh_frame_hdr_count(ref) is None
    else:
        assert eh_frame_hdr_count(ours) == len(fdes(ours)) and eh_frame_hdr_count(other) == len(fdes(other))
    assert qemu_dyn(other) == qemu_dyn(ours)
