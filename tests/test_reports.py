"""Reports of lld and mold that GNU ld lacks: --why-extract and
--print-archive-stats (compared with ld.lld's files for the same link),
--time-trace (Chrome trace JSON), --reproduce (a tar that relinks the same
bytes elsewhere) and --why-live (the chain that keeps a section)."""
import json
import os
import shutil
import tarfile

import pytest

from e2e_util import link, ld_direct, run, write

LIB_A = "int foo(void) { return 1; }\n"
LIB_B = "int bar(void) { return 2; }\n"
MAIN = "int foo(void);\nint main(void) { return foo() - 1; }\nvoid unused(void) {}\n"


@pytest.fixture
def tree(tmp_path):
    write(tmp_path, "a.c", LIB_A)
    write(tmp_path, "b.c", LIB_B)
    write(tmp_path, "m.c", MAIN)
    run(["gcc", "-c", "-ffunction-sections", "a.c", "b.c", "m.c"], cwd=tmp_path)
    run(["ar", "rcs", "lib.a", "a.o", "b.o"], cwd=tmp_path)
    return tmp_path


def _gcc_lld(tmp, args):
    return run(["gcc", "-fuse-ld=lld", *args], cwd=tmp)


@pytest.mark.skipif(shutil.which("ld.lld") is None, reason="ld.lld is the reference for these formats")
def test_why_extract_and_archive_stats_match_lld(tree):
    link(tree, "m", ["m.o", "lib.a"], ["-Wl,--why-extract=why.tsv,--print-archive-stats=stats.tsv"],
         static=False)
    _gcc_lld(tree, ["m.o", "lib.a", "-o", "m.lld", "-Wl,--why-extract=why.lld,--print-archive-stats=stats.lld"])
    assert (tree / "why.tsv").read_text() == (tree / "why.lld").read_text()
    assert (tree / "why.tsv").read_text().splitlines()[1] == "m.o\tlib.a(a.o)\tfoo"
    mine = (tree / "stats.tsv").read_text().splitlines()
    theirs = (tree / "stats.lld").read_text().splitlines()
    assert mine[0] == theirs[0] == "members\textracted\tarchive"
    assert "2\t1\tlib.a" in mine
    # the same archives, opened as often, with the same counts
    assert sorted(mine) == sorted(theirs)


def test_time_trace_is_chrome_trace_json(tree):
    exe, _ = link(tree, "m", ["m.o", "lib.a"], ["-Wl,--time-trace,--time-trace-granularity=0"], static=False)
    trace = json.loads((tree / "m.time-trace").read_text())
    events = trace["traceEvents"]
    names = [e["name"] for e in events if e["ph"] == "X"]
    assert "load_all" in names and "write_output" in names and "Total Link" in names
    total = next(e for e in events if e["name"] == "Total Link")
    for e in events:
        if e["ph"] == "X":
            assert e["dur"] >= 0 and 0 <= e["ts"] <= total["dur"]
    r = ld_direct(["--time-trace-file=custom.json", "-e", "foo", "a.o", "-o", "x"], tree)
    assert r.returncode == 0 and json.loads((tree / "custom.json").read_text())["traceEvents"]
    r = ld_direct(["--time-trace=other.json", "-e", "foo", "a.o", "-o", "x"], tree)
    assert r.returncode == 0 and json.loads((tree / "other.json").read_text())["traceEvents"]


def test_reproduce_relinks_the_same_bytes_elsewhere(tree, tmp_path_factory):
    exe, _ = link(tree, "m", ["m.o", "lib.a"], ["-Wl,--reproduce=repro.tar"], static=False)
    elsewhere = tmp_path_factory.mktemp("replay")
    with tarfile.open(tree / "repro.tar") as tar:
        names = tar.getnames()
        assert "repro/response.txt" in names and "repro/version.txt" in names
        assert f"repro/{os.path.abspath(tree / 'lib.a').lstrip('/')}" in names
        assert any(n.endswith("/libc.so.6") for n in names)
        tar.extractall(elsewhere)
    # the originals go away: the copy must be self-contained for the inputs
    for name in ("m.o", "lib.a", "a.o", "b.o"):
        os.unlink(tree / name)
    r = ld_direct(["@response.txt"], elsewhere / "repro")
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "repro" / "m").read_bytes() == open(exe, "rb").read()


def test_why_live_prints_the_chain(tree):
    write(tree, "c.c", "int foo(void);\nint chain2(void) { return foo(); }\n")
    write(tree, "n.c", "int chain2(void);\nint main(void) { return chain2() - 1; }\nvoid unused(void) {}\n")
    run(["gcc", "-c", "-ffunction-sections", "c.c", "n.c"], cwd=tree)
    r = ld_direct(["--gc-sections", "-e", "main", "a.o", "c.o", "n.o", "-o", "x",
                   "--why-live=foo", "--why-live=unus*"], tree)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "live symbol: foo in a.o:(.text.foo)",
        ">>> referenced by c.o:(.text.chain2)",
        ">>> referenced by n.o:(.text.main)",
        ">>> which is a root (the entry point, -u, an exported symbol, KEEP, or a section GNU ld always keeps)",
        "unused in n.o:(.text.unused) is not live: nothing reaches it"]
    r = ld_direct(["-e", "main", "a.o", "c.o", "n.o", "-o", "y", "--why-live=foo"], tree)
    assert "--why-live has no effect without --gc-sections" in r.stderr
