"""The heap helper of a fresh link process (ldpy/heap.py, native/heap.c): built beside
the gcc shim, it moves a big link's page faults to another thread and never changes
what the link writes."""
import os
import subprocess
import sys

import pytest

from e2e_util import compile_obj, link, run_exe, write, shim_dir

from ldpy import heap

SRC = os.path.dirname(os.path.dirname(os.path.abspath(heap.__file__)))


def _kernel_populates():
    """MADV_POPULATE_WRITE came with Linux 5.14."""
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return (major, minor) >= (5, 14)


def _python(code, env=None):
    """Run code in a fresh `python -S` with ldpy importable, as the shim starts links."""
    r = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path[:0] = [{SRC!r}]\n" + code],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("heap"))
    if not heap.build(d):
        pytest.fail("the heap helper did not build (the tests' machine has gcc)")
    assert heap.build(d), "a second build keeps the library of this source"
    return d


def test_shim_dir_holds_the_heap_helper():
    """`ldpy --print-shim-dir` builds the helper beside the native `ld`, whose
    Python entry names that directory."""
    d = shim_dir()
    assert os.path.exists(os.path.join(d, heap.LIBRARY))
    with open(os.path.join(d, "ld"), "rb") as fh:
        assert f"entry({d!r})".encode() in fh.read()


@pytest.mark.skipif(not _kernel_populates(), reason="MADV_POPULATE_WRITE needs Linux 5.14")
def test_a_big_heap_is_faulted_in_by_the_helper_thread(library):
    """Once the heap passes LDPY_HEAP_BIG, the thread faults in its new pages; the
    objects living there stay intact (every Python object's arena is malloc's)."""
    out = _python(f"""
import time
from ldpy import heap
lib = heap.start({library!r})
assert lib is not None
blocks = [bytearray(b"%d" % i) * 100 for i in range(200000)]    # (~50 MB of heap)
for _ in range(200):
    if lib.ldpy_heap_populated() > (8 << 20):
        break
    time.sleep(0.01)
assert all(b == bytearray(b"%d" % i) * 100 for i, b in enumerate(blocks))
print(lib.ldpy_heap_running(), lib.ldpy_heap_populated())
""", env=dict(os.environ, LDPY_HEAP_BIG=str(16 << 20)))
    running, populated = map(int, out.split())
    assert running == 1 and populated > (8 << 20)


def test_the_thread_ends_when_stopped(library):
    """heap.stop() (the writer, before it forks its workers) ends the thread, and
    the heap keeps working without it; a forked child, which has no thread, does not
    wait for one."""
    out = _python(f"""
import os, time
from ldpy import heap
lib = heap.start({library!r})
assert lib is not None
before = lib.ldpy_heap_running()
pid = os.fork()
if pid == 0:
    t = time.monotonic()
    heap.stop()
    os._exit(0 if time.monotonic() - t < 0.05 and not lib.ldpy_heap_running() else 1)
assert os.waitpid(pid, 0)[1] == 0
heap.stop()
blocks = [bytearray(b"%d" % i) * 100 for i in range(50000)]
print(before, lib.ldpy_heap_running(), sum(map(len, blocks)) > 0)
""")
    assert out.split() == ["1", "0", "True"]


def test_python_objects_of_every_arena_are_freed_and_reused(library):
    """Arenas made before the switch (mmap'd) are given back to their allocator,
    the helper's own to malloc: many rounds of making and dropping objects keep
    every value, and the interpreter shuts down normally."""
    out = _python(f"""
import gc
before = [{{"k%d" % i: [i, str(i)]}} for i in range(100000)]
from ldpy import heap
assert heap.start({library!r}) is not None
total = 0
for round in range(20):
    made = [(i, str(i) * 3, [i] * 4) for i in range(50000)]
    total += sum(t[0] + len(t[1]) + len(t[2]) for t in made)
    if round == 5:
        del before
        gc.collect()
    del made
print(total)
""")
    want = sum(i + len(str(i) * 3) + 4 for i in range(50000)) * 20
    assert int(out) == want


def test_without_the_library_nothing_starts(tmp_path):
    out = _python(f"from ldpy import heap; print(heap.start({str(tmp_path)!r}))")
    assert out.strip() == "None"
    out = _python(f"from ldpy import heap; print(heap.start())",
                  env=dict(os.environ, LDPY_HEAP_HELPER="0"))
    assert out.strip() == "None"


@pytest.mark.slow
def test_a_big_link_writes_the_same_bytes_with_and_without_the_helper(tmp_path, monkeypatch):
    """A C++ program with many sections linked through the shim with the helper on
    (made big from 4 MB of heap) and off: the same output, and it runs."""
    srcs = []
    for k in range(24):
        body = "".join(f"template<int N> struct T{k}_{j} {{ static int f(int x) {{ return x * N + {j}; }} }};\n"
                       f"int g{k}_{j}(int x) {{ return T{k}_{j}<{k + j}>::f(x) + (int)std::string(\"s{j}\").size(); }}\n"
                       for j in range(60))
        srcs.append(write(tmp_path, f"m{k}.cc", "#include <string>\n" + body))
    calls = "".join(f"int g{k}_{j}(int);\n" for k in range(24) for j in range(60))
    total = " + ".join(f"g{k}_{j}(1)" for k in range(24) for j in range(60))
    main = write(tmp_path, "main.cc", "#include <cstdio>\n" + calls +
                 f"int main() {{ std::printf(\"%d\\n\", {total}); return 0; }}\n")
    objs = [compile_obj(tmp_path, s, ["-O1", "-ffunction-sections", "-fdata-sections"]) for s in srcs + [main]]
    outs = []
    for name, env in (("on", {"LDPY_HEAP_BIG": str(4 << 20)}), ("off", {"LDPY_HEAP_HELPER": "0"})):
        with monkeypatch.context() as m:
            for k, v in env.items():
                m.setenv(k, v)
            outs.append(link(tmp_path, f"prog-{name}", objs, compiler="g++", static=False)[0])
    with open(outs[0], "rb") as a, open(outs[1], "rb") as b:
        assert a.read() == b.read()
    want = sum(1 * (k + j) + j + len(f"s{j}") for k in range(24) for j in range(60))
    assert run_exe(outs[0]).stdout.strip() == str(want)


@pytest.mark.skipif(not _kernel_populates(), reason="MADV_POPULATE_WRITE needs Linux 5.14")
def test_a_spare_faults_in_what_its_link_takes_first_and_stops_for_a_link(library):
    """A link server's spare (server.py _spare) faults in SPARE_HEAP bytes of heap and
    SPARE_ARENAS of arena space before its link, a step at a time, and stops after
    one step when a link is waiting; the memory is malloc's again afterwards."""
    out = _python(f"""
from ldpy import heap
lib = heap.start({library!r}, thread=False)
keep = [str(i) * 10 for i in range(100000)]          # (arenas carved from a region)
heap.prepare_spare(lambda: True)                     # a link came at once
first = lib.ldpy_heap_populated()
print(first)
""")
    assert 0 < int(out) <= (2 << 20), "one step (1 MB) at most when a link waits"
    out = _python(f"""
from ldpy import heap
lib = heap.start({library!r}, thread=False)
keep = [str(i) * 10 for i in range(100000)]
heap.prepare_spare(lambda: False)
done = lib.ldpy_heap_populated()
more = [bytearray(1000) for _ in range(20000)]      # (from the faulted-in heap)
assert all(len(b) == 1000 for b in more) and keep[99999] == "99999" * 10
print(done, heap.SPARE_HEAP + heap.SPARE_ARENAS)
""")
    done, want = map(int, out.split())
    assert done >= want - (1 << 20)
