"""Output safety (issue 13): atomic outputs, -o naming an input, outputs that are
devices or FIFOs, full disks, inputs truncated during the link, signals and kills
during a link, and GNU ld's messages where ldpy used to fail internally.

The behaviours copied from ld.bfd 2.40 were checked by hand:
* a failed link (an undefined symbol) deletes the previous output;
* an executable gets mode 0777 & ~umask, a -r object 0666 & ~umask;
* -o naming an input: "input file 'a.o' is the same as output file", status 1
  (ld.bfd compares resolved names; ldpy st_dev/st_ino, which also catches a hard link);
* -o /dev/null, or a symlink to it, is written in place; a symlink to a regular file
  is replaced by the new regular file (its target is untouched);
* a NUL byte ends a response file (libiberty reads it as a C string).
"""
import os
import resource
import signal
import stat
import subprocess
import sys
import time

import pytest

from e2e_util import ldpy_command, run, shim_dir

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")

MAIN_C = "int helper(int);\nint main(void) { return helper(1) - 2; }\n"
HELPER_C = "int helper(int x) { return x + 1; }\n"
START_C = "void _start(void) { for (;;) ; }\n"


def ldpy(args, cwd, check=False, **kw):
    r = subprocess.run([*ldpy_command(), *map(str, args)], cwd=cwd, capture_output=True,
                       text=True, timeout=300, **kw)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stderr
    return r


def leftovers(d):
    return sorted(p.name for p in d.iterdir() if ".ldpy-" in p.name)


@pytest.fixture
def objs(tmp_path):
    (tmp_path / "main.c").write_text(MAIN_C)
    (tmp_path / "helper.c").write_text(HELPER_C)
    (tmp_path / "start.c").write_text(START_C)
    run(["gcc", "-c", "-O1", "main.c", "helper.c", "start.c"], cwd=tmp_path)
    return tmp_path


# -- atomic output, modes -------------------------------------------------------------

def _umask(mask):
    return lambda: os.umask(mask)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_modes_follow_the_umask_like_ld_bfd(objs, mask):
    r = ldpy(["-o", "exe", "start.o", "helper.o"], objs, preexec_fn=_umask(mask))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(objs / "exe").st_mode) == 0o777 & ~mask
    r = ldpy(["-r", "-o", "rel.o", "helper.o"], objs, preexec_fn=_umask(mask))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(objs / "rel.o").st_mode) == 0o666 & ~mask
    r = ldpy(["-shared", "-o", "lib.so", "helper.o"], objs, preexec_fn=_umask(mask))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(objs / "lib.so").st_mode) == 0o777 & ~mask
    assert leftovers(objs) == []


# 6 MiB of .data: an output that is written over its old file (outfile.REUSE_MIN_BYTES)
BIG_DATA_C = "char big_data[6 << 20] = {1};\nint helper2(void) { return big_data[1]; }\n"


@pytest.fixture
def big_objs(objs):
    from ldpy.outfile import REUSE_MIN_BYTES
    assert 6 << 20 >= REUSE_MIN_BYTES
    (objs / "bigdata.c").write_text(BIG_DATA_C)
    run(["gcc", "-c", "bigdata.c"], cwd=objs)
    return objs


def test_old_executable_is_written_over_with_no_stale_bytes(big_objs):
    """A big old executable that nothing else sees is written over, as mold does
    (its page cache is reused: outfile.py): the same inode, every old byte gone, the
    same bytes and mode as a link to a new name.  A small one gets a new file."""
    objs = big_objs
    (objs / "exe").write_bytes(b"\xff" * (7 << 20))
    os.chmod(objs / "exe", 0o600)
    old = os.stat(objs / "exe").st_ino
    for out in ("exe", "fresh"):
        ldpy(["-o", out, "start.o", "helper.o", "bigdata.o"], objs, check=True, preexec_fn=_umask(0o022))
    assert os.stat(objs / "exe").st_ino == old
    assert (objs / "exe").read_bytes() == (objs / "fresh").read_bytes()
    assert stat.S_IMODE(os.stat(objs / "exe").st_mode) == 0o755
    ldpy(["-o", "exe", "start.o", "helper.o"], objs, check=True)          # (a few KB)
    assert os.stat(objs / "exe").st_ino != old
    assert leftovers(objs) == []


SLOW_C = r"""
#include <stdio.h>
char pad[6 << 20] = {1};          /* a big output: one that could be written over */
int main(void) { getchar(); puts(WORD); return pad[0] - 1; }   /* runs until stdin closes */
"""


def test_running_program_keeps_its_pages(objs):
    """A running program's file cannot be opened for writing (ETXTBSY): the new
    output is a new inode, and the program runs on from the old one."""
    (objs / "slow.c").write_text(SLOW_C)
    gcc = ["gcc", "-B", shim_dir(), "-O1", "-o", "prog", "slow.c"]
    run([*gcc, '-DWORD="old"'], cwd=objs)
    old = os.stat(objs / "prog").st_ino
    p = subprocess.Popen([str(objs / "prog")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    run([*gcc, '-DWORD="new"'], cwd=objs)
    assert p.communicate("", timeout=60)[0] == "old\n" and p.returncode == 0
    new = os.stat(objs / "prog").st_ino
    assert new != old
    assert run([str(objs / "prog")]).stdout == "new\n"
    run([*gcc, '-DWORD="again"'], cwd=objs)                  # (no longer running: written over)
    assert run([str(objs / "prog")]).stdout == "again\n"
    assert os.stat(objs / "prog").st_ino == new
    assert leftovers(objs) == []


def test_output_seen_elsewhere_gets_a_new_file(big_objs):
    """A hard link's other name keeps the old bytes, and a shared object (which
    running programs map) is replaced by a new inode, as ld.bfd does."""
    objs = big_objs
    (objs / "exe").write_bytes(b"old")
    os.link(objs / "exe", objs / "other")
    ldpy(["-o", "exe", "start.o", "helper.o", "bigdata.o"], objs, check=True)
    assert (objs / "other").read_bytes() == b"old"
    assert (objs / "exe").read_bytes()[:4] == b"\x7fELF"
    (objs / "lib.so").write_bytes(b"old")
    old = os.stat(objs / "lib.so").st_ino
    run(["gcc", "-c", "-fPIC", "bigdata.c", "-o", "bigpic.o"], cwd=objs)
    ldpy(["-shared", "-o", "lib.so", "bigpic.o"], objs, check=True)
    assert os.stat(objs / "lib.so").st_ino != old
    assert leftovers(objs) == []


def test_failed_link_removes_the_old_output_like_ld_bfd(objs):
    (objs / "exe").write_bytes(b"old")
    r = ldpy(["-o", "exe", "start.o", "main.o"], objs)          # helper undefined
    assert r.returncode == 1 and "undefined reference to 'helper'" in r.stderr
    assert not (objs / "exe").exists()
    assert leftovers(objs) == []
    (objs / "rel.o").write_bytes(b"old")
    r = ldpy(["-r", "-o", "rel.o", "main.o", "nothere.o"], objs)
    assert r.returncode == 1 and not (objs / "rel.o").exists() and leftovers(objs) == []


def test_symlink_output_like_ld_bfd(objs):
    (objs / "target").write_bytes(b"keep me")
    os.symlink("target", objs / "lnk")
    ldpy(["-o", "lnk", "start.o", "helper.o"], objs, check=True)
    assert not os.path.islink(objs / "lnk") and (objs / "lnk").read_bytes()[:4] == b"\x7fELF"
    assert (objs / "target").read_bytes() == b"keep me"
    os.symlink("/dev/null", objs / "null")           # a symlink to a device: written through
    ldpy(["-o", "null", "start.o", "helper.o"], objs, check=True)
    assert os.readlink(objs / "null") == "/dev/null"
    assert leftovers(objs) == []


# -- outputs that are not regular files -----------------------------------------------------

def test_dev_null_output_is_written_in_place(objs):
    before = os.stat("/dev/null")
    for args in (["start.o", "helper.o"], ["-r", "helper.o"], ["-shared", "helper.o"]):
        r = ldpy(["-o", "/dev/null", *args], objs)
        assert r.returncode == 0, r.stderr
        after = os.stat("/dev/null")
        assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
        assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)
    # a failed link leaves it alone too
    r = ldpy(["-o", "/dev/null", "start.o", "main.o"], objs)
    assert r.returncode == 1 and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_fifo_output_gets_the_whole_image(objs):
    ref = objs / "ref"
    ldpy(["-o", ref, "start.o", "helper.o"], objs, check=True)
    os.mkfifo(objs / "pipe")
    reader = subprocess.Popen(["cat", str(objs / "pipe")], stdout=subprocess.PIPE)
    r = ldpy(["-o", "pipe", "start.o", "helper.o"], objs)
    got = reader.communicate(timeout=60)[0]
    assert r.returncode == 0, r.stderr
    assert got == ref.read_bytes()
    assert stat.S_ISFIFO(os.stat(objs / "pipe").st_mode)


# -- -o naming an input ---------------------------------------------------------------------

def _same(r, name):
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == f"ldpy: error: input file '{name}' is the same as output file"


def test_output_naming_an_input_is_refused(objs):
    d = objs
    keep = (d / "helper.o").read_bytes()
    _same(ldpy(["-o", "helper.o", "start.o", "helper.o"], d), "helper.o")
    _same(ldpy(["-r", "-o", "helper.o", "helper.o"], d), "helper.o")
    assert (d / "helper.o").read_bytes() == keep
    # through another name: ./, a hard link, a symlink
    _same(ldpy(["-o", "./helper.o", "start.o", "helper.o"], d), "helper.o")
    os.link(d / "helper.o", d / "hard.o")
    _same(ldpy(["-o", "hard.o", "start.o", "helper.o"], d), "helper.o")
    os.symlink("helper.o", d / "soft.o")
    _same(ldpy(["-o", "soft.o", "start.o", "helper.o"], d), "helper.o")
    assert (d / "helper.o").read_bytes() == keep
    # an archive found by -l
    run(["ar", "rcs", "libh.a", "helper.o"], cwd=d)
    lib = (d / "libh.a").read_bytes()
    r = ldpy(["-o", "libh.a", "start.o", "-L.", "-lh"], d)
    _same(r, "./libh.a")
    assert (d / "libh.a").read_bytes() == lib
    # a shared library
    ldpy(["-shared", "-o", "libs.so", "helper.o"], d, check=True)
    so = (d / "libs.so").read_bytes()
    _same(ldpy(["-o", "libs.so", "start.o", "libs.so"], d), "libs.so")
    assert (d / "libs.so").read_bytes() == so
    assert leftovers(d) == []


def test_output_naming_a_script_or_side_file_is_refused(objs):
    d = objs
    (d / "s.ld").write_text("SECTIONS { .text : { *(.text) } }\n")
    _same(ldpy(["-o", "s.ld", "-T", "s.ld", "start.o", "helper.o"], d), "s.ld")
    assert "SECTIONS" in (d / "s.ld").read_text()
    (d / "inc.ld").write_text("INCLUDE s.ld\n")
    _same(ldpy(["-o", "s.ld", "-T", "inc.ld", "start.o", "helper.o"], d), "s.ld")
    (d / "v.map").write_text("V { global: *; };\n")
    _same(ldpy(["-shared", "-o", "v.map", "--version-script", "v.map", "helper.o"], d), "v.map")
    assert "global" in (d / "v.map").read_text()
    (d / "dl").write_text("{ helper; };\n")
    _same(ldpy(["-o", "dl", "--dynamic-list", "dl", "start.o", "helper.o"], d), "dl")
    (d / "rsp").write_text("start.o helper.o -o rsp\n")
    _same(ldpy(["@rsp"], d), "rsp")
    assert "helper.o" in (d / "rsp").read_text()
    (d / "m.map").write_text("keep")
    r = ldpy(["-o", "m.map", "-Map", "m.map", "start.o", "helper.o"], d)
    assert r.returncode == 1 and "ldpy: error: map file 'm.map' is the same as output file" in r.stderr
    assert (d / "m.map").read_text() == "keep"
    assert leftovers(d) == []


# -- response files -------------------------------------------------------------------------

def test_response_file_nul_ends_it_like_libiberty(objs):
    (objs / "rsp").write_bytes(b"start.o helper.o -o out\0garbage \xff\0 more")
    r = ldpy(["@rsp"], objs)
    assert r.returncode == 0, r.stderr
    assert (objs / "out").read_bytes()[:4] == b"\x7fELF"


def test_response_file_from_dev_zero_is_bounded(objs):
    r = ldpy(["@/dev/zero"], objs, preexec_fn=_limit_memory)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "ldpy: error: response file '@/dev/zero': file too large (more than 64 MiB)"]


def _limit_memory():
    lim = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))


def test_script_from_dev_zero_is_bounded(objs):
    r = ldpy(["-o", "out", "-T", "/dev/zero", "start.o"], objs, preexec_fn=_limit_memory)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr


# -- full disk ------------------------------------------------------------------------------

def _full_disk_check(d, objs, r, out):
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"ldpy: error: cannot write '{out}': "), lines[0]
    assert not os.path.exists(os.path.join(d, os.path.basename(out)))
    assert [p for p in os.listdir(d) if ".ldpy-" in p] == []


def test_file_size_limit_leaves_nothing(objs):
    """RLIMIT_FSIZE: the reservation fails with EFBIG (Python ignores SIGXFSZ)."""
    def small():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    for args in (["start.o", "helper.o"], ["-r", "start.o", "helper.o", "main.o"]):
        r = ldpy(["-o", "out", "--no-warnings", "-z", "max-page-size=0x10000", *args], objs,
                 preexec_fn=small)
        if "-r" in args and r.returncode == 0:
            continue            # (a -r object this small fits)
        _full_disk_check(str(objs), objs, r, "out")
        assert "File too large" in r.stderr


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (RLIMIT_FSIZE is tested without it)")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)])


def test_full_filesystem_leaves_nothing(objs, small_tmpfs):
    (small_tmpfs / "filler").write_bytes(b"x" * 40960)
    out = str(small_tmpfs / "out")
    r = ldpy(["-o", out, "--no-warnings", "-z", "max-page-size=0x10000", "start.o", "helper.o"], objs)
    _full_disk_check(str(small_tmpfs), objs, r, out)
    assert "No space left on device" in r.stderr
    # -r: a big enough object
    (objs / "big.c").write_text("char big[1 << 17] = {1};\n")
    run(["gcc", "-c", "big.c"], cwd=objs)
    r = ldpy(["-r", "-o", out, "big.o"], objs)
    _full_disk_check(str(small_tmpfs), objs, r, out)
    # an old output on the full disk: an error removes it (as ld.bfd), and no temporary stays
    (small_tmpfs / "filler").unlink()
    (small_tmpfs / "out").write_bytes(b"o" * 30000)
    (small_tmpfs / "filler").write_bytes(b"x" * 20480)
    r = ldpy(["-o", out, "--no-warnings", "-z", "max-page-size=0x10000", "start.o", "helper.o"], objs)
    _full_disk_check(str(small_tmpfs), objs, r, out)


# -- inputs truncated during the link ----------------------------------------------------------

TRUNCATE_DURING_LINK = r"""
import os, sys
sys.path.insert(0, {src!r})
import ldpy.outfile as o
o.READ_LIMIT = {limit}
from ldpy.input import load
orig = load.Loader.load_all
def load_all(self):
    orig(self)
    os.truncate("helper.o", {size})      # someone rebuilds it while we link
load.Loader.load_all = load_all
from ldpy.main import main
sys.exit(main(["-o", "out", "start.o", "helper.o"]))
"""


@pytest.mark.parametrize("mapped,size", [(False, 0), (True, 0), (True, 64)],
                         ids=["read", "mapped-sigbus", "mapped-same-page"])
def test_input_truncated_during_the_link(objs, mapped, size):
    """Read inputs (the default) are a private copy: the link completes with the
    contents it read.  A mapped one (files above READ_LIMIT) gives an error naming
    it, never a SIGBUS."""
    code = TRUNCATE_DURING_LINK.format(src=SRC, limit=0 if mapped else 64 << 20, size=size)
    r = subprocess.run([sys.executable, "-c", code], cwd=objs, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode in (0, 1), (r.returncode, r.stderr)      # not -SIGBUS
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if mapped:
        assert r.returncode == 1
        assert r.stderr.strip().splitlines()[-1] == \
            "ldpy: error: helper.o: file truncated while the link was reading it"
        assert not (objs / "out").exists()
    else:
        assert r.returncode == 0, r.stderr
        assert (objs / "out").read_bytes()[:4] == b"\x7fELF"
    assert leftovers(objs) == []


def _resident_kb(m):
    """Resident memory of map m in this process (its /proc/self/smaps entry), in KiB."""
    import numpy as np
    start = np.frombuffer(m, np.uint8).ctypes.data
    found = None
    with open("/proc/self/smaps") as fh:
        for line in fh:
            head = line.split()[0]
            if "-" in head and ":" not in head:
                lo, hi = (int(x, 16) for x in head.split("-"))
                found = lo <= start < hi
            elif found and line.startswith("Rss:"):
                return int(line.split()[1])
    raise AssertionError("map not found in /proc/self/smaps")


def test_released_input_pages_leave_memory_and_read_again(tmp_path):
    """A mapped input's pages leave the process when a pass is done with them
    (release_input_pages: peak memory is not every page the link ever read), and
    the next access reads the same bytes."""
    import mmap
    from ldpy import outfile
    data = os.urandom(3 << 20)            # above READ_LIMIT: mapped
    (tmp_path / "big.bin").write_bytes(data)
    outfile.reset()
    try:
        with open(tmp_path / "big.bin", "rb") as fh:
            m = outfile.read_input(str(tmp_path / "big.bin"), fh)
        assert isinstance(m, mmap.mmap)
        assert sum(m[i] for i in range(0, len(m), 4096)) >= 0       # every page touched
        assert _resident_kb(m) >= 3 << 10
        outfile.release_input_pages()
        assert _resident_kb(m) == 0
        assert m[:] == data
    finally:
        outfile.end_reads()


ALL_MAPPED = r"""
import sys
sys.path.insert(0, {src!r})
import ldpy.outfile as o
o.READ_LIMIT = 0                    # every input mapped, so that every release drops pages
from ldpy.main import main
sys.exit(main({args!r}))
"""


@pytest.mark.parametrize("threads", ["1", "2"])
def test_link_from_released_mapped_inputs_is_the_same(tmp_path, threads):
    """Inputs mapped and released between passes and after each copied section
    give the bytes a link from read() copies gives, serial or split over workers."""
    src = "".join(f"const char s{i}[] = \"{i:04}-string\";\n"
                  f"int f{i}(int x) {{ return x * {i} + s{i}[0]; }}\n" for i in range(200))
    src += "#include <stdio.h>\nint main(void) { long t = 0;\n"
    src += "".join(f"t += f{i}({i});\n" for i in range(200)) + 'printf("%ld\\n", t); return 0; }\n'
    (tmp_path / "p.c").write_text(src)
    run(["gcc", "-O1", "-ffunction-sections", "-fdata-sections", "-c", "p.c"], cwd=tmp_path)
    base = ["-m", "elf_x86_64", "-static", "--threads=" + threads]
    f = lambda name: subprocess.run(["gcc", "-print-file-name=" + name], capture_output=True,
                                    text=True).stdout.strip()
    ins = [f("crt1.o"), f("crti.o"), f("crtbeginT.o"), "p.o", "--start-group", f("libgcc.a"),
           f("libgcc_eh.a"), f("libc.a"), "--end-group", f("crtend.o"), f("crtn.o")]
    env = dict(os.environ, LDPY_SPLIT_ALWAYS="1")
    ldpy(["-o", "read.out", *base, *ins], tmp_path, check=True, env=env)
    code = ALL_MAPPED.format(src=SRC, args=["-o", "mapped.out", *base, *ins])
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert (tmp_path / "mapped.out").read_bytes() == (tmp_path / "read.out").read_bytes()
    out = subprocess.run([str(tmp_path / "mapped.out")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert int(out.stdout) == sum(i * i + ord(str(i).zfill(4)[0]) for i in range(200))


# -- signals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_while_blocked_keeps_the_old_output(objs, sig):
    """A link stopped by a signal (here while it waits on a FIFO input) removes its
    temporary file and keeps the previous output; SIGTERM/SIGHUP still kill it."""
    (objs / "exe").write_bytes(b"previous output")
    os.mkfifo(objs / "fifo.o")
    # (the signal at its default in the link, whatever the test runner has: a shell
    # starts background jobs with SIGINT ignored, and a link keeps an ignored signal so)
    p = subprocess.Popen([*ldpy_command(), "-o", "exe", "start.o", "helper.o", "fifo.o"],
                         cwd=objs, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))
    time.sleep(1.5)
    p.send_signal(sig)
    rc = p.wait(timeout=60)
    err = p.stderr.read()
    assert "Traceback" not in err
    assert rc == (130 if sig == signal.SIGINT else -sig), (rc, err)
    assert (objs / "exe").read_bytes() == b"previous output"
    assert leftovers(objs) == []


def test_sighup_ignored_by_the_caller_stays_ignored(objs):
    p = subprocess.Popen([*ldpy_command(), "-o", "exe", "start.o", "helper.o"], cwd=objs,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    p.send_signal(signal.SIGHUP)
    assert p.wait(timeout=60) == 0, p.stderr.read()


# -- GNU ld's messages where ldpy failed internally -------------------------------------------

BIG_C = "char d[8192] = {1};\nvoid _start(void) { for (;;) ; }\n"


@pytest.fixture
def big(tmp_path):
    (tmp_path / "big.c").write_text(BIG_C)
    run(["gcc", "-c", "big.c"], cwd=tmp_path)
    return tmp_path


def _one_error(r, text):
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines() == [f"ldpy: error: {text}"], r.stderr


@pytest.mark.parametrize("script,flags,message", [
    ("SECTIONS { . = 0xfffffffffffff000; .text : { *(.text) } .data : { *(.data) } }", [],
     "section .data VMA wraps around address space"),
    ("SECTIONS { . = 0x10000000000000000; .text : { *(.text) } }", [],
     "section .text VMA wraps around address space"),
    ("SECTIONS { .text 0x10000000000000000 : { *(.text) } }", [],
     "section .text VMA wraps around address space"),
    (None, ["-Ttext=0x10000000000000000"], "section .text VMA wraps around address space"),
])
def test_addresses_past_2_64_are_gnu_errors(big, script, flags, message):
    if script:
        (big / "s.ld").write_text(script + "\n")
        flags = flags + ["-T", "s.ld"]
    _one_error(ldpy(["-o", "out", *flags, "big.o", "--no-warn-rwx-segments"], big), message)
    assert not (big / "out").exists() and leftovers(big) == []


@pytest.mark.parametrize("script,flags", [
    ("SECTIONS { . = 0x8000000000000000; .text : { *(.text) } .data : { *(.data) } }", []),
    ("SECTIONS { . = 0xffffffffffffffff + 2; .text : { *(.text) } }", []),   # wraps to 1, as bfd_vma
    (None, ["-Ttext=0x8000000000000000"]),
])
def test_addresses_from_2_63_link_like_ld_bfd(big, script, flags):
    if script:
        (big / "s.ld").write_text(script + "\n")
        flags = flags + ["-T", "s.ld"]
    r = ldpy(["-o", "out", "--no-warnings", *flags, "big.o"], big)
    assert r.returncode == 0, r.stderr
    b = subprocess.run(["ld.bfd", "-o", "ref", "--no-warnings", *flags, "big.o"], cwd=big,
                       capture_output=True, text=True)
    assert b.returncode == 0, b.stderr
    text = lambda p: [l.split()[3] for l in run(["readelf", "-SW", p], cwd=big).stdout.splitlines()
                      if ".text" in l]
    assert text("out") == text("ref")


def test_input_sections_in_version_section_names(big):
    (big / "s.ld").write_text("SECTIONS { .gnu.version_d : { *(.text) } .gnu.version_r : { *(.data) } }\n")
    for flags in ([], ["-shared"]):
        r = ldpy(["-o", "out", "-T", "s.ld", *flags, "big.o"], big)
        assert r.returncode == 0, r.stderr


def test_output_too_large(big):
    (big / "s.ld").write_text("SECTIONS { .text 0x1000 : { *(.text) . += 0x100000000000; } .data : { *(.data) } }\n")
    # (its one segment is RWX, which ld.bfd also warns about: not what this checks)
    r = ldpy(["-o", "out", "-T", "s.ld", "big.o", "--no-warn-rwx-segments"], big)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("ldpy: error: cannot write 'out': ")
    assert not (big / "out").exists() and leftovers(big) == []
    r = ldpy(["-o", "/dev/null", "-T", "s.ld", "big.o", "--no-warn-rwx-segments"], big)
    assert r.returncode == 1 and r.stderr.startswith("ldpy: error: cannot write '/dev/null': "), r.stderr


# -- -u / -e of undefined symbols, static .rela.plt -------------------------------------------

def test_undefined_u_symbol_links_like_ld_bfd(objs):
    r = ldpy(["-o", "out", "-u", "nosuch", "start.o"], objs)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert " U nosuch" in run(["nm", "out"], cwd=objs).stdout
    (objs / "x.ld").write_text("EXTERN(nosuch2)\n")
    r = ldpy(["-o", "out", "start.o", "x.ld"], objs)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    # still an error when an object references it too, and for --require-defined
    (objs / "ref.c").write_text("int nosuch(void); int f(void) { return nosuch(); }\n")
    run(["gcc", "-c", "ref.c"], cwd=objs)
    r = ldpy(["-o", "out", "-u", "nosuch", "start.o", "ref.o"], objs)
    assert r.returncode == 1 and "undefined reference to 'nosuch'" in r.stderr
    r = ldpy(["-o", "out", "--require-defined", "nosuch", "start.o"], objs)
    assert r.returncode == 1


def test_undefined_entry_symbol_warns_like_ld_bfd(objs):
    r = ldpy(["-o", "out", "-e", "nosuch", "start.o"], objs)
    b = subprocess.run(["ld.bfd", "-o", "ref", "-e", "nosuch", "start.o"], cwd=objs,
                       capture_output=True, text=True)
    assert r.returncode == 0 == b.returncode
    assert r.stderr.replace("ldpy: ", "") == b.stderr.replace("ld.bfd: ", "")
    assert r.stderr.strip() == "ldpy: warning: cannot find entry symbol nosuch; defaulting to 0000000000401000"


def _shdr_links(path):
    """{section name: sh_link name} from readelf -S."""
    rows = {}
    for line in run(["readelf", "-SW", path]).stdout.splitlines():
        line = line.replace("[ ", "[")
        parts = line.split()
        if len(parts) > 9 and parts[0].startswith("[") and parts[0] != "[Nr]":
            rows[int(parts[0].strip("[]"))] = parts
    names = {i: p[1] for i, p in rows.items()}
    return {p[1]: names.get(int(p[-3]), "") if p[-3].isdigit() else None for p in rows.values()}


def test_static_rela_plt_links_symtab_like_ld_bfd(tmp_path):
    (tmp_path / "hi.c").write_text('#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n')
    for strip in ([], ["-s"]):
        run(["gcc", "-static", *strip, "-B", shim_dir(), "hi.c", "-o", "mine"], cwd=tmp_path)
        run(["gcc", "-static", *strip, "-fuse-ld=bfd", "hi.c", "-o", "ref"], cwd=tmp_path)
        mine, ref = _shdr_links(str(tmp_path / "mine")), _shdr_links(str(tmp_path / "ref"))
        assert ".rela.plt" in ref
        assert mine[".rela.plt"] == ref[".rela.plt"] == ("" if strip else ".symtab")


def test_stdout_closed_early_is_no_internal_error(tmp_path):
    """`ldpy --verbose | head -1`: GNU ld dies of SIGPIPE; ldpy stops quietly."""
    p = subprocess.Popen([*ldpy_command(), "--verbose"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    p.stdout.readline()
    p.stdout.close()
    rc = p.wait(timeout=60)
    err = p.stderr.read()
    assert "internal error" not in err and "Traceback" not in err, err
    assert rc in (0, 141, -13), rc           # (-13: died of SIGPIPE, as GNU ld does)


# -- killing a big link at many points ---------------------------------------------------------

SQLITE_MAIN = r"""#include <sqlite3.h>
#include <stdio.h>
static int row(void *u, int n, char **v, char **c) { (void)u; (void)n; (void)c; puts(v[0]); return 0; }
int main(void) {
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db)) return 1;
    sqlite3_exec(db, "create table t(x); insert into t values(6*7); select x from t;", row, 0, 0);
    return sqlite3_close(db);
}
"""


@pytest.fixture(scope="module")
def big_link(tmp_path_factory):
    """A static sqlite link (about 1.5 MB of output): its argv and a reference output."""
    from e2e_util import gcc_link_argv
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/libsqlite3.a"):
        pytest.skip("needs libsqlite3.a (libsqlite3-dev)")
    d = tmp_path_factory.mktemp("kill")
    (d / "main.c").write_text(SQLITE_MAIN)
    run(["gcc", "-O1", "-c", "main.c"], cwd=d)
    argv = gcc_link_argv(d, ["main.o"], ["-lsqlite3", "-lm"], out="out")
    times = []
    for _ in range(2):
        t0 = time.monotonic()
        r = ldpy([*argv, "--no-warnings"], d)
        times.append(time.monotonic() - t0)
        assert r.returncode == 0, r.stderr
    elapsed = min(times)
    assert run([str(d / "out")]).stdout == "42\n"
    os.rename(d / "out", d / "ref")
    return d, argv + ["--no-warnings"], (d / "ref").read_bytes(), elapsed


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_link_leaves_old_complete_or_no_output(big_link, sig):
    d, argv, ref, elapsed = big_link
    previous = b"\x7fELF previous output " * 1000
    outcomes = []
    for i in range(16):
        (d / "out").write_bytes(previous)
        delay = elapsed * (0.05 + 1.2 * i / 15)      # (the last ones land after the link)
        p = subprocess.Popen([*ldpy_command(), *argv], cwd=d, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        p.send_signal(sig)
        rc = p.wait(timeout=120)
        err = p.stderr.read()
        assert "Traceback" not in err and "internal error" not in err, err
        # (none while the image is written into the old output's inode: outfile.py)
        got = (d / "out").read_bytes() if (d / "out").exists() else None
        assert got in (previous, ref, None), f"partial output after {sig!r} at {delay:.3f}s (rc {rc})"
        outcomes.append("new" if got == ref else "old" if got == previous else "none")
        if got == ref:
            assert rc in (0, -sig), rc
        else:
            assert rc == -sig, (rc, err)
        left = leftovers(d)
        if sig == signal.SIGTERM:
            assert left == [], left           # the handler removed its temporary file
        for name in left:                     # SIGKILL: nothing can remove it (never at -o)
            os.unlink(d / name)
    assert "old" in outcomes, outcomes        # (the kills did land during links)


UNWRITABLE_DIR = r"""
import errno, os, sys
sys.path.insert(0, {src!r})
import ldpy.outfile as o
real_open = os.open
def fake_open(path, flags, *a, **k):
    if ".ldpy-" in str(path):        # as in a directory we may not create files in
        raise PermissionError(errno.EACCES, "Permission denied", path)
    return real_open(path, flags, *a, **k)
o.os.open = fake_open
from ldpy.main import main
sys.exit(main({argv!r}))
"""


def test_unwritable_directory_rewrites_a_writable_output_like_ld_bfd(objs):
    """ld.bfd cannot unlink the old output there, and rewrites it in place: so does ldpy
    (no temporary file possible); with no old output it is ld.bfd's open error."""
    (objs / "exe").write_bytes(b"old")
    ino = os.stat(objs / "exe").st_ino
    for argv in (["-o", "exe", "start.o", "helper.o"], ["-r", "-o", "exe", "helper.o"]):
        r = subprocess.run([sys.executable, "-c", UNWRITABLE_DIR.format(src=SRC, argv=argv)],
                           cwd=objs, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert (objs / "exe").read_bytes()[:4] == b"\x7fELF" and os.stat(objs / "exe").st_ino == ino
    r = subprocess.run([sys.executable, "-c", UNWRITABLE_DIR.format(
        src=SRC, argv=["-o", "new", "start.o", "helper.o"])], cwd=objs, capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.strip() == "ldpy: error: cannot open output file new: Permission denied"


def test_file_offsets_past_2_63_are_an_error(objs):
    """Found by the script fuzzer: `. = . + ALIGN(1 << 63)` inside an inserted section
    (posix_fallocate and the copy relocation's address overflowed)."""
    (objs / "s.ld").write_text("SECTIONS { .extra : { LONG(1) . = . + ALIGN(0x8000000000000000); } }\n"
                               "INSERT AFTER .text;\n")
    for flags in ([], ["-shared"], ["-pie"]):
        r = ldpy(["-o", "out", "-T", "s.ld", *flags, "start.o", "helper.o"], objs)
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not (objs / "out").exists() and leftovers(objs) == []
