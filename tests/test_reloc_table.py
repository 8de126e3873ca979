"""relocs.RelocTable: the link-wide relocation table is built from the section
header tables (plain SHT_RELA views, gathered per buffer) plus the sections whose
relocations were set after reading (pruned .eh_frame, reversed .ctors) or whose
bytes are compressed.  Whatever the path, it must hold exactly what the section
objects hold, in section id order."""
import numpy as np
import pytest

from e2e_util import compile_obj, gcc_link_argv, prog, run_exe, write, IS_LDPY

from ldpy import driver
from ldpy.elf.format import SHT_NOBITS, reloc_sym, reloc_type

pytestmark = pytest.mark.skipif(not IS_LDPY, reason="ldpy's internal tables")

CTORS = r"""
#include <stdio.h>
static void first(void) { puts("ctor first"); }
static void second(void) { puts("ctor second"); }
/* two words in one .ctors input: placed in .init_array, copied in reverse with
   its relocations (an edited relocation array) */
__attribute__((section(".ctors"), used)) static void (*ctors[2])(void) = { first, second };
"""


def _reference(ctx):
    """The placed sections with relocations and their relocations, read from the
    section objects one by one (what the table stands for)."""
    secs = [s for f in ctx.files for s in f.sections
            if s is not None and s.live and s.relocs is not None and len(s.relocs)
            and s.output is not None and s.type != SHT_NOBITS]
    rel = np.concatenate([s.relocs for s in secs])
    return secs, rel


def _program_capturing_the_table(tmp_path, monkeypatch, seen):
    """The C++ program (exceptions, TLS, -g, -gz, reversed .ctors) compiled in tmp_path:
    its link argv; every in-process link then calls seen(ctx) after scan_relocations."""
    flags = ["-O1", "-g", "-gz", "-ffunction-sections", "-fdata-sections"]
    objs = [compile_obj(tmp_path, prog(s), flags) for s in ("cxx_main.cpp", "cxx_lib.cpp")]
    objs.append(compile_obj(tmp_path, write(tmp_path, "ctors.c", CTORS), flags))
    real = driver.scan_relocations

    def capture(ctx):
        real(ctx)
        seen(ctx)
    monkeypatch.setattr(driver, "scan_relocations", capture)
    monkeypatch.chdir(tmp_path)
    return gcc_link_argv(tmp_path, objs, ["-pthread"], compiler="g++")


@pytest.mark.slow
def test_table_matches_the_section_objects(tmp_path, monkeypatch):
    seen = {}
    argv = _program_capturing_the_table(tmp_path, monkeypatch, lambda ctx: seen.update(ctx=ctx))
    from ldpy.main import main
    assert main([*argv, "--gc-sections", "-o", "prog"]) == 0
    out = run_exe(tmp_path / "prog").stdout
    assert "caught" in out and out.index("ctor second") < out.index("ctor first")

    ctx = seen["ctx"]
    rt = ctx.relocs
    secs, rel = _reference(ctx)
    assert len(rt.sections) == len(secs) and all(a is b for a, b in zip(rt.sections, secs))
    assert np.array_equal(rt.offset, rel["r_offset"].astype(np.int64))
    assert np.array_equal(rt.sym, reloc_sym(rel["r_info"]))
    assert np.array_equal(rt.type, reloc_type(rel["r_info"]))
    assert np.array_equal(rt.addend, rel["r_addend"].astype(np.int64))
    counts = np.bincount(rt.sec_ordinal, minlength=len(secs))
    assert counts.tolist() == [len(s.relocs) for s in secs]
    assert rt.sec_size.tolist() == [s.size for s in secs]
    assert rt.file_id.tolist() == np.repeat([s.file.file_id for s in secs], counts).tolist()
    # each section's bytes as read: the file's, or the inflated copy of a compressed one
    for j, s in enumerate(secs):
        buf, off = rt.buffers[rt.sec_buffer[j]], int(rt.sec_bufoff[j])
        if s.compressed is not None:
            assert buf is s.bytes() and off == 0
        else:
            n = min(16, s.size)
            assert bytes(buf[off:off + n]) == bytes(s.file.data[s.offset:s.offset + n])
    # both paths were taken: plain views, and sections whose relocations changed
    # after reading (the reversed .ctors, pruned .eh_frame) or whose bytes are compressed
    elsewhere = {(id(f), i) for f in ctx.files for i in f.relocs_elsewhere}
    taken = [(id(s.file), s.index) in elsewhere for s in secs]
    assert any(taken) and not all(taken)
    assert any(s.name == ".ctors" for s, t in zip(secs, taken) if t)
    assert any(s.compressed is not None for s, t in zip(secs, taken) if t)


@pytest.mark.slow
def test_blocks_of_rows_give_the_same_table_and_bytes(tmp_path, monkeypatch):
    """The table is filled, and relocate_all applies it, a block of rows at a time
    (relocs.BLOCK, whole sections per block): blocks of a few rows give the same
    columns and the same output as one block (a PIE: RELATIVE relocations kept in
    row order; --gc-sections with -g: tombstones; -gz: relocations of compressed
    sections; the reversed .ctors: edited ones)."""
    from ldpy import relocs
    tables = {}
    argv = _program_capturing_the_table(tmp_path, monkeypatch,
                                        lambda ctx: tables.__setitem__(relocs.BLOCK, ctx.relocs))
    from ldpy.main import main
    for block, name in ((1 << 30, "whole"), (3, "blocks")):
        monkeypatch.setattr(relocs, "BLOCK", block)
        assert main([*argv, "--gc-sections", "-o", name]) == 0
    assert (tmp_path / "whole").read_bytes() == (tmp_path / "blocks").read_bytes()
    out = run_exe(tmp_path / "blocks").stdout
    assert "caught" in out and out.index("ctor second") < out.index("ctor first")
    whole, small = tables[1 << 30], tables[3]
    assert len(whole.blocks) == 1 and len(small.blocks) > 100
    for col in ("sec_ordinal", "offset", "sym", "type", "addend", "key", "is_local", "alloc",
                "writable", "P", "pos"):
        assert np.array_equal(getattr(whole, col), getattr(small, col)), col


@pytest.mark.parametrize("long_runs", [1, 10 ** 9], ids=["slices", "fancy-index"])
def test_records_gathered_by_slices_or_by_index(monkeypatch, long_runs):
    """_gather_records copies a few long runs of records as byte slices and many short
    ones by one fancy index per buffer: the same table either way, records at odd
    (2-byte aligned) offsets of several buffers, in any order of buffers."""
    from ldpy import relocs
    from ldpy.elf.format import RELOC
    rng = np.random.default_rng(7)
    buffers = [rng.integers(0, 256, 5000, dtype=np.uint8).tobytes() for _ in range(3)]
    size = RELOC.itemsize
    counts = np.array([3, 1, 7, 2, 5], np.int64)
    buffer = np.array([2, 0, 1, 2, 0], np.int64)
    pos = np.array([6, 2, 100, 1000, 4002], np.int64)
    first = np.concatenate(([0], np.cumsum(counts)[:-1])) + np.array([0, 2, 2, 4, 4])    # (gaps)
    want = np.zeros(int(first[-1] + counts[-1]) + 1, RELOC)
    for f, n, b, p in zip(first, counts, buffer, pos):
        want[f:f + n] = np.frombuffer(buffers[b], RELOC, n, p)
    got = np.zeros_like(want)
    monkeypatch.setattr(relocs, "LONG_RUNS", long_runs)
    relocs._gather_records(got, first, counts, buffer, pos, buffers)
    assert got.tobytes() == want.tobytes()
