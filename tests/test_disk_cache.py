"""Parsed shared libraries kept on disk between links (diskcache.py,
input/shared.py SharedFile.read): a fresh process links a program against a
library it has read before without parsing it again, gets the same output, and a
library that changed, or a damaged cache file, is parsed anew."""
import os
import shutil
import subprocess
import sys

import pytest

from linkutil import run

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def _link(tmp_path, out, libdir, env, *extra):
    """`ldpy -pie` of main.o against libw.so in libdir, in a fresh process; the
    names of the libraries it parsed (--stats' "read shared libraries" calls are
    not enough: this asks the cache files themselves)."""
    r = subprocess.run([sys.executable, "-m", "ldpy", "-pie", "-e", "main", "--no-dynamic-linker",
                        str(tmp_path / "main.o"), "-L", str(libdir), "-lw", "-o", str(tmp_path / out), *extra],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    return (tmp_path / out).read_bytes()


def _library(tmp_path, libdir, body):
    libdir.mkdir(exist_ok=True)
    (tmp_path / "w.c").write_text(body)
    run(["gcc", "-shared", "-fPIC", "-O2", str(tmp_path / "w.c"), "-o", str(libdir / "libw.so")])


def test_shared_library_parse_kept_on_disk(tmp_path):
    cache = tmp_path / "cache"
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    env.pop("LDPY_NO_DISK_CACHE", None)
    (tmp_path / "main.c").write_text("int which(void);\nint main(void) { return which(); }\n")
    run(["gcc", "-fPIE", "-c", str(tmp_path / "main.c"), "-o", str(tmp_path / "main.o")])
    libdir = tmp_path / "lib"
    _library(tmp_path, libdir, "int which(void) { return 1; }\n")

    def entries():
        return sorted((cache / "ldpy").glob("shlib-*.pickle"))

    first = _link(tmp_path, "first", libdir, env)
    kept = entries()
    assert len(kept) == 1 and str(libdir / "libw.so").encode() in kept[0].read_bytes()[:4096]
    stamp = kept[0].stat().st_mtime_ns
    second = _link(tmp_path, "second", libdir, env)
    assert entries() == kept and kept[0].stat().st_mtime_ns == stamp      # read, not written again
    plain = _link(tmp_path, "plain", libdir, dict(env, LDPY_NO_DISK_CACHE="1"))
    assert first == second == plain
    assert entries() == kept

    # a library rebuilt in place: another inode, size and times, so parsed anew
    (tmp_path / "main.c").write_text("int which(void), other(void);\nint main(void) { return which() + other(); }\n")
    run(["gcc", "-fPIE", "-c", str(tmp_path / "main.c"), "-o", str(tmp_path / "main.o")])
    _library(tmp_path, libdir, "int which(void) { return 1; }\nint other(void) { return 2; }\n")
    third = _link(tmp_path, "third", libdir, env)         # (other() undefined if the old parse were used)
    assert len(entries()) == 2
    assert b"other" in third

    # a damaged file under the key: parsed again, the same output, the file rewritten whole
    newest = max(entries(), key=lambda p: p.stat().st_mtime_ns)
    newest.write_bytes(newest.read_bytes()[:-100])
    assert _link(tmp_path, "fourth", libdir, env) == third
    assert _link(tmp_path, "fifth", libdir, env) == third


def test_cached_parse_is_the_parse(tmp_path, monkeypatch):
    """What SharedFile.read loads from the cache is what a parse gives, field by
    field (libc.so.6: versions, hidden versions, references, name tables)."""
    import numpy as np
    from ldpy import outfile
    from ldpy.input.shared import SharedFile
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    if not os.path.exists(libc):
        pytest.skip("needs x86-64 glibc")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("LDPY_NO_DISK_CACHE", raising=False)
    outfile.reset(str(tmp_path / "out"))
    try:
        with open(libc, "rb") as fh:
            data = outfile.read_input(libc, fh)
        parsed = SharedFile.read(libc, data, as_needed=True)        # (parsed, then kept)
        assert len(list((tmp_path / "ldpy").glob("shlib-*.pickle"))) == 1
        loaded = SharedFile.read(libc, data, as_needed=False)       # (loaded)
    finally:
        outfile.end_reads()
    assert loaded is not parsed and loaded.data is data
    assert (parsed.as_needed, parsed.is_needed, loaded.as_needed, loaded.is_needed) == (True, False, False, True)
    fields = set(vars(parsed)) - {"data", "as_needed", "is_needed"}
    assert fields == set(vars(loaded)) - {"data", "as_needed", "is_needed"}
    for k in fields:
        a, b = getattr(parsed, k), getattr(loaded, k)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), k
        else:
            assert a == b, k
    assert len(loaded.names) > 1000 and loaded.name_tables() == parsed.name_tables()
