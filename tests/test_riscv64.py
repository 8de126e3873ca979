"""RISC-V (RV64, lp64d) end to end: programs built with Debian's riscv64-linux-gnu
cross gcc/g++, linked by ldpy through the gcc shim and by riscv64-linux-gnu-ld.bfd,
run under qemu-riscv64, their dynamic sections, dynamic symbols, versions,
section lists, e_flags and attributes compared; linker relaxation (bytes
deleted for R_RISCV_ALIGN, calls shortened to JAL/C.J) compared instruction by
instruction with ld.bfd's."""
import os
import re
import shutil
import subprocess

import pytest

from e2e_util import LINKER, shim_dir

CC, CXX = "riscv64-linux-gnu-gcc", "riscv64-linux-gnu-g++"
READELF, OBJDUMP = "riscv64-linux-gnu-readelf", "riscv64-linux-gnu-objdump"
QEMU = "qemu-riscv64"
SYSROOT = "/usr/riscv64-linux-gnu"
pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in (CC, CXX, READELF, OBJDUMP, QEMU)),
    reason="needs g++-riscv64-linux-gnu and qemu-user (CI installs them)")


def run(cmd, cwd=None, check=True, timeout=600):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                       errors="replace", timeout=timeout)
    assert "Traceback" not in r.stderr, r.stderr
    if check and r.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))}: status {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def build(tmp, out, sources, flags=(), linker=None, cxx=False):
    """Compile and link with the cross driver; linker 'ldpy' or 'bfd'."""
    linker = linker or LINKER
    sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
    path = os.path.join(str(tmp), out)
    run([CXX if cxx else CC, *sources, *flags, "-o", path, *sel], cwd=str(tmp))
    if linker == "ldpy":
        assert "ldpy" in run([READELF, "-p", ".comment", path]).stdout, "not linked by ldpy"
    return path


def qemu(path, *args, cwd=None):
    env = dict(os.environ, QEMU_LD_PREFIX=SYSROOT)
    r = subprocess.run([QEMU, "-L", SYSROOT, path, *args], capture_output=True, text=True,
                       timeout=120, env=env, cwd=cwd)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def write(tmp, name, text):
    p = tmp / name
    p.write_text(text)
    return str(p)


def section_names(path):
    out = run([READELF, "-SW", path]).stdout
    return [m.group(1) for m in re.finditer(r"^\s*\[\s*\d+\]\s+(\S+)", out, re.M) if m.group(1) != "NULL"]


def dyn_tags(path):
    tags = set()
    for line in run([READELF, "-dW", path]).stdout.splitlines():
        m = re.match(r"\s*0x[0-9a-f]+\s+\((\w+)\)", line)
        if m:
            tags.add(m.group(1))
    return tags


def dyn_syms(path):
    rows = set()
    for line in run([READELF, "--dyn-syms", "-W", path]).stdout.splitlines():
        p = line.split()
        if len(p) >= 8 and p[0].rstrip(":").isdigit() and p[0] != "0:":
            rows.add((p[7], p[3], p[4], p[6] != "UND"))
    return rows


def versions(path):
    """The version names of -V's .gnu.version_d/_r sections."""
    out = run([READELF, "-VW", path]).stdout
    return sorted(set(re.findall(r"Name: (\S+)", out)) | set(re.findall(r"Version: \d+\s+File", out)))


def compare_with_bfd(tmp, name, sources, flags=(), cxx=False, expect=None, args=()):
    ours = build(tmp, name, sources, flags, cxx=cxx)
    ref = build(tmp, name + ".bfd", sources, flags, linker="bfd", cxx=cxx)
    out = qemu(ours, *args)
    assert out == qemu(ref, *args)
    if expect is not None:
        assert out == expect
    same_sections(ours, ref)
    assert dyn_tags(ours) == dyn_tags(ref)
    assert dyn_syms(ours) == dyn_syms(ref)
    assert versions(ours) == versions(ref)
    return ours, ref


def same_sections(ours, ref):
    """The same output sections in the same order; glibc's orphan sections
    (__libc_atexit, __libc_subfreeres, __libc_IO_vtables of static links) may
    come in another order among themselves: ldpy places orphans by input order
    where ld.bfd differs (the same on x86-64)."""
    a, b = section_names(ours), section_names(ref)
    assert sorted(a) == sorted(b)
    assert [n for n in a if not n.startswith("__libc_")] == [n for n in b if not n.startswith("__libc_")]


def bfd_sections(ref, static):
    """ld.bfd's section list, less the .rela.dyn its static links keep with only
    R_RISCV_NONE entries (GOT relocations it reserved and then nulled)."""
    names = section_names(ref)
    if static:
        assert set(relocation_types(ref)) <= {"R_RISCV_NONE"}
        names = [n for n in names if n != ".rela.dyn"]
    return names


def relocation_types(path):
    out = run([READELF, "-rW", path]).stdout
    return re.findall(r"^[0-9a-f]+\s+[0-9a-f]+\s+(R_RISCV_\w+)", out, re.M)


def eflags(path):
    return re.search(r"Flags:\s+(0x[0-9a-f]+)", run([READELF, "-hW", path]).stdout).group(1)


def attributes(path):
    return run([READELF, "-A", path]).stdout


def segment_types(path):
    out = run([READELF, "-lW", path]).stdout
    return [line.split()[0] for line in out.splitlines() if re.match(r"\s+[A-Z_]+\s+0x", line)]


HELLO = '#include <stdio.h>\nint main(void){printf("hello from %s\\n", "riscv64");return 0;}\n'


@pytest.mark.parametrize("mode", ["-static", "-pie", "-no-pie"])
def test_hello(tmp_path, mode):
    src = write(tmp_path, "hello.c", HELLO)
    ours = build(tmp_path, "hello", [src], ["-O2", mode])
    ref = build(tmp_path, "hello.bfd", [src], ["-O2", mode], linker="bfd")
    assert qemu(ours) == qemu(ref) == "hello from riscv64\n"
    a, b = section_names(ours), bfd_sections(ref, mode == "-static")
    assert sorted(a) == sorted(b)
    assert [n for n in a if not n.startswith("__libc_")] == [n for n in b if not n.startswith("__libc_")]
    assert dyn_tags(ours) == dyn_tags(ref)
    assert dyn_syms(ours) == dyn_syms(ref)
    assert versions(ours) == versions(ref)
    if mode != "-static":
        assert sorted(relocation_types(ours)) == sorted(relocation_types(ref))
    # e_flags, the merged attributes and their segment as ld.bfd writes them
    assert eflags(ours) == eflags(ref) == "0x5"
    assert attributes(ours) == attributes(ref)
    assert segment_types(ours) == segment_types(ref)
    assert segment_types(ours).count("RISCV_ATTRIBUT") == 1
