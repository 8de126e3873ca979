"""Compressed debug sections: objects built with `gcc -g -gz` (SHF_COMPRESSED,
zlib), `-gz=zlib-gnu` (.zdebug_*) and `as --compress-debug-sections=zstd` link
(static, PIE, static-pie), run, and their output DWARF reads back like ld.bfd's
link of the same objects; --compress-debug-sections=... compresses the output the
way ld.bfd does; a corrupted compressed section is a one-line error."""
import hashlib
import os
import re
import subprocess
import sys

import pytest

from linkutil import run, shim_dir

STYLES = {"zlib": ["-gz"], "zlib-gnu": ["-gz=zlib-gnu"],
          "zstd": ["-Wa,--compress-debug-sections=zstd"]}

MAIN = """\
#include <stdio.h>
int scale(int);
static const char *label = "total";

int main(void)
{
    int t = 0;
    for (int i = 1; i <= 4; i++)
        t += scale(i);                  /* line 9 */
    printf("%s %d\\n", label, t);
    return 0;
}
"""
LIB = """\
int factor = 3;

int scale(int x)
{
    return x * factor;                  /* line 5 */
}
"""


def build(tmp, style):
    (tmp / "m.c").write_text(MAIN)
    (tmp / "s.c").write_text(LIB)
    for n in ("m", "s"):
        run(["gcc", "-g", "-O0", "-c", *STYLES[style], f"{n}.c", "-o", f"{n}.o"], cwd=str(tmp))
    return ["m.o", "s.o"]


def link(tmp, out, objs, *flags, linker="ldpy"):
    sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
    r = run(["gcc", *flags, *objs, "-o", out, *sel], cwd=str(tmp))
    assert "Traceback" not in r.stderr
    return str(tmp / out)


def decoded_lines(path):
    """(file, line, address - address of main) of every row of our units."""
    nm = run(["nm", path]).stdout
    main = int(re.search(r"^([0-9a-f]+) T main$", nm, re.M).group(1), 16)
    rows = []
    for line in run(["objdump", "--dwarf=decodedline", path]).stdout.splitlines():
        p = line.split()
        if len(p) >= 3 and p[0] in ("m.c", "s.c") and p[2].startswith("0x"):
            rows.append((p[0], p[1], int(p[2], 16) - main))
    return rows


def info_names(path):
    """The DW_AT_name / comp_dir / decl_line values of readelf's .debug_info dump."""
    out = []
    for line in run(["readelf", "--debug-dump=info", path]).stdout.splitlines():
        m = re.search(r"(DW_AT_(?:name|comp_dir|decl_line|decl_file))\s*:\s*(?:\(.*?\):\s*)?(.*)", line)
        if m:
            out.append((m.group(1), m.group(2).strip()))
    return out


def section_flags(path):
    """{name: flags} from readelf -S."""
    res = {}
    for line in run(["readelf", "-SW", path]).stdout.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+(\S*)", line)
        if m and m.group(1) != "NULL":
            flags = m.group(2) if not m.group(2).isdigit() else ""
            res[m.group(1)] = flags
    return res


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("mode", ["pie", "static", "static-pie"])
def test_compressed_inputs_link_run_and_read_back_like_bfd(tmp_path, style, mode):
    objs = build(tmp_path, style)
    flags = {"pie": [], "static": ["-static"], "static-pie": ["-static-pie"]}[mode]
    ours = link(tmp_path, "ours", objs, *flags)
    bfd = link(tmp_path, "bfd", objs, *flags, linker="bfd")
    assert run([ours]).stdout == "total 30\n"
    lines = decoded_lines(ours)
    assert ("m.c", "9", lines[[r[:2] for r in lines].index(("m.c", "9"))][2]) in lines
    assert {r[:2] for r in lines} >= {("m.c", "9"), ("s.c", "5")}
    assert lines == decoded_lines(bfd)
    names = info_names(ours)
    assert ("DW_AT_name", "m.c") in names and ("DW_AT_name", "scale") in names
    assert names == info_names(bfd)
    # the output is plain, as ld.bfd writes it by default
    secs = section_flags(ours)
    assert not [n for n in secs if n.startswith(".zdebug")]
    assert not [n for n, f in secs.items() if "C" in f]
    assert ".debug_info" in secs and ".debug_str" in secs


@pytest.mark.parametrize("how", ["zlib", "zlib-gabi", "zlib-gnu", "zstd", "none"])
def test_compress_debug_sections_output_like_bfd(tmp_path, how):
    objs = build(tmp_path, "zlib")
    plain = link(tmp_path, "plain", objs)
    ours = link(tmp_path, "ours", objs, f"-Wl,--compress-debug-sections={how}", "-Wl,--build-id")
    bfd = link(tmp_path, "bfd", objs, f"-Wl,--compress-debug-sections={how}", linker="bfd")
    assert run([ours]).stdout == "total 30\n"
    mine, theirs = section_flags(ours), section_flags(bfd)
    compressed = lambda secs: sorted(n for n, f in secs.items()
                                     if "C" in f or n.startswith(".zdebug"))
    # which sections shrink enough to be compressed, and how they are marked and named
    assert compressed(mine) == compressed(theirs)
    if how == "none":
        assert compressed(mine) == []
    else:
        assert ".debug_info" in compressed(mine) or ".zdebug_info" in compressed(mine)
    # readers see the same DWARF as in the plain link
    assert decoded_lines(ours) == decoded_lines(plain)
    assert info_names(ours) == info_names(plain)
    # the build-id is the hash of the final (compressed, packed) file
    data = bytearray(open(ours, "rb").read())
    note = run(["readelf", "-n", ours]).stdout
    bid = bytes.fromhex(re.search(r"Build ID: ([0-9a-f]+)", note).group(1))
    at = data.find(bid)
    assert at > 0
    data[at:at + len(bid)] = bytes(len(bid))
    assert hashlib.sha1(data).digest() == bid
    # the section header table ends the file
    hdr = run(["readelf", "-hW", ours]).stdout
    shoff = int(re.search(r"Start of section headers:\s+(\d+)", hdr).group(1))
    shnum = int(re.search(r"Number of section headers:\s+(\d+)", hdr).group(1))
    assert shoff + 64 * shnum == len(data)
    if how != "none":
        assert len(data) < os.path.getsize(plain)


def _corrupt(tmp, obj, section, patch):
    """A copy of obj with `patch(bytearray, section offset, size)` applied."""
    data = bytearray((tmp / obj).read_bytes())
    for line in run(["readelf", "-SW", str(tmp / obj)]).stdout.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m and m.group(1) == section:
            patch(data, int(m.group(2), 16), int(m.group(3), 16))
            out = tmp / ("bad_" + obj)
            out.write_bytes(data)
            return out.name
    raise AssertionError(f"no {section} in {obj}")


def _fail(tmp, *args):
    r = subprocess.run([sys.executable, "-m", "ldpy", *args, "-o", "out"], cwd=str(tmp),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert not (tmp / "out").exists()
    errs = [l for l in r.stderr.splitlines() if l.startswith("ldpy: error:")]
    assert len(errs) == 1, r.stderr
    return errs[0]


def _set(data, at, value):
    data[at:at + len(value)] = value


@pytest.mark.parametrize("case,section,patch,expect", [
    ("stream", ".debug_info", lambda d, o, n: _set(d, o + 24 + 4, b"\xff" * 12),
     "bad_m.o:(.debug_info): corrupted zlib-compressed data"),
    ("type", ".debug_info", lambda d, o, n: _set(d, o, (9).to_bytes(4, "little")),
     "bad_m.o:(.debug_info): unknown compression type 9"),
    ("size", ".debug_str", lambda d, o, n: _set(d, o + 8, (1 << 42).to_bytes(8, "little")),
     "bad_m.o:(.debug_str): compression header claims 0x40000000000 bytes"),
    ("short", ".debug_line", lambda d, o, n: _set(d, o + 8, (n * 2).to_bytes(8, "little")),
     "bad_m.o:(.debug_line): compressed data inflates to"),
])
def test_corrupted_compressed_section_is_one_line_error(tmp_path, case, section, patch, expect):
    build(tmp_path, "zlib")
    bad = _corrupt(tmp_path, "m.o", section, patch)
    msg = _fail(tmp_path, bad, "s.o", "-e", "main", "--unresolved-symbols=ignore-all")
    assert expect in msg, msg


def test_corrupted_gnu_zdebug_section_is_one_line_error(tmp_path):
    build(tmp_path, "zlib-gnu")
    bad = _corrupt(tmp_path, "m.o", ".zdebug_info", lambda d, o, n: _set(d, o + 12 + 3, b"\x00" * 16))
    msg = _fail(tmp_path, bad, "s.o", "-e", "main", "--unresolved-symbols=ignore-all")
    assert "bad_m.o:(.debug_info): " in msg and "zlib-compressed data" in msg, msg


def test_strip_debug_never_inflates(tmp_path):
    """-S drops the debug sections unread: a broken stream does not matter then (as in ld.bfd)."""
    build(tmp_path, "zlib")
    bad = _corrupt(tmp_path, "m.o", ".debug_info", lambda d, o, n: _set(d, o + 24 + 4, b"\xff" * 12))
    out = link(tmp_path, "stripped", [bad, "s.o"], "-Wl,-S")
    assert run([out]).stdout == "total 30\n"
    assert not [n for n in section_flags(out) if "debug" in n]
