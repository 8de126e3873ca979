"""-Map for the static and dynamic hello programs: every input section with its address
and size, archive-member and as-needed reasons, LOAD lines, all agreeing with
readelf -S of the output and with GNU ld's map where the two must agree."""
import re

import pytest

from linkutil import gcc_link, run

HELLO = '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n'
SECTION_LINE = re.compile(r"^ (\S+)\s*$|^ (\S+)\s+(0x[0-9a-f]{16})\s+(0x[0-9a-f]+) (.+)$")
OUTPUT_LINE = re.compile(r"^(\.\S+)\s+(0x[0-9a-f]{16})\s+(0x[0-9a-f]+)\s*$")


def parse_map(text):
    """({output name: (addr, size, [(input name, addr, size, file)])}, LOAD paths)."""
    lines = text.splitlines()
    start = lines.index("Linker script and memory map")
    outputs, current, pending = {}, None, None
    for line in lines[start + 1:]:
        if line.startswith("LOAD ") or not line.strip():
            continue
        if pending is not None and line.split()[0].startswith("0x"):   # a long name's second line
            kind, name = pending
            pending = None
            addr, size, *owner = line.split(None, 2)
            if kind == "out":
                current = name
                outputs[name] = (int(addr, 16), int(size, 16), [])
            else:
                outputs[current][2].append((name, int(addr, 16), int(size, 16), owner[0]))
            continue
        pending = None
        words = line.split(None, 3)
        if not line.startswith(" "):                 # an output section
            if len(words) == 1 and "(" not in line:
                pending = ("out", words[0])
            elif len(words) < 3 or not words[1].startswith("0x"):
                current = None                       # START GROUP, OUTPUT(...), ...
            elif len(words) == 1:
                pending = ("out", words[0])
            else:
                current = words[0]
                outputs[current] = (int(words[1], 16), int(words[2], 16), [])
        elif current is not None and line[1] != " " and line[1] != "*":
            if len(words) == 1:
                pending = ("in", words[0])
            elif len(words) == 4:
                outputs[current][2].append((words[0], int(words[1], 16), int(words[2], 16), words[3]))
        # other lines: symbols ("  0xADDR   name") and notes
    loads = [l[5:] for l in lines if l.startswith("LOAD ")]
    return outputs, loads


def readelf_sections(path):
    out = {}
    for line in run(["readelf", "-SW", path]).stdout.splitlines():
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m and m.group(1) != "NULL":
            out[m.group(1)] = (int(m.group(3), 16), int(m.group(5), 16))
    return out


def alloc_input_sections(obj):
    """(name, size) of the allocated, non-empty sections of an object file."""
    res = []
    for line in run(["readelf", "-SW", obj]).stdout.splitlines():
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if m and "A" in m.group(4) and int(m.group(3), 16) and m.group(2) not in ("NOTE", "GROUP"):
            res.append((m.group(1), int(m.group(3), 16)))
    return res


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_map_lists_every_input_section(tmp_path, mode):
    (tmp_path / "h.c").write_text(HELLO)
    run(["gcc", "-c", "h.c"], cwd=str(tmp_path))
    flags = ["-static"] if mode == "static" else []
    exe = gcc_link(tmp_path, "h", [*flags, "h.o", "-Wl,-Map=" + str(tmp_path / "h.map")], "ldpy")
    ref = gcc_link(tmp_path, "hb", [*flags, "h.o", "-Wl,-Map=" + str(tmp_path / "hb.map")], "bfd")
    assert run([exe]).stdout == "hi\n"
    text = (tmp_path / "h.map").read_text()
    ref_text = (tmp_path / "hb.map").read_text()
    outputs, loads = parse_map(text)
    _, ref_loads = parse_map(ref_text)
    assert loads == ref_loads                      # the same files opened, in the same order

    # every output section of readelf -S is in the map with its address and size, and its
    # input sections lie inside it (merged string/constant sections share their pieces)
    real = readelf_sections(exe)
    for name, (addr, size) in real.items():
        assert name in outputs, name
        o_addr, o_size, inputs = outputs[name]
        assert (o_addr, o_size) == (addr, size), name
        for iname, i_addr, i_size, owner in inputs:
            assert o_addr <= i_addr <= o_addr + o_size, (name, iname, owner)
            assert i_addr + i_size <= o_addr + o_size or name == ".comment", (name, iname, owner)
        # an output section with contents from inputs names them
        if size and name not in (".shstrtab", ".symtab", ".strtab"):
            assert inputs, name

    # every allocated section of h.o and the crt objects is listed with its file and size
    listed = {(iname, owner): i_size for o in outputs.values() for iname, _, i_size, owner in o[2]}
    assert "h.o" in loads
    for obj in [p for p in loads if p.endswith(".o")]:
        for name, size in alloc_input_sections(str(tmp_path / obj)):
            if name == ".eh_frame":
                continue                           # FDEs may be pruned: size changes
            key = (name, obj)
            assert key in listed, key
            assert listed[key] == size, key

    if mode == "static":
        # archive members: the member, and the file and symbol that pulled it in
        assert "Archive member included to satisfy reference by file (symbol)" in text
        m = re.search(r"^(\S*libc\.a\(ioputs\.o\))\n\s+(\S+) \(puts\)$", text, re.M)
        assert m and m.group(2) == "h.o", text[:2000]
        members = set(re.findall(r"^(\S+\.a\([^)]+\))$", text, re.M))
        owners = {owner for o in outputs.values() for _, _, _, owner in o[2]}
        # every member pulled in contributes sections (or is listed as discarded)
        for member in members:
            assert member in owners or member in text.split("Linker script and memory map")[0] \
                .split("Discarded input sections")[-1], member
        assert members == set(re.findall(r"^(\S+\.a\([^)]+\))$", ref_text, re.M))
    else:
        line = "libc.so.6                     h.o (puts@@GLIBC_2.2.5)"
        assert line in text and line in ref_text


def test_map_allocates_common_symbols_like_bfd(tmp_path):
    """'Allocating common symbols': name, size and file as GNU ld lists them (a name of
    19 characters or more on its own line); GNU ld's order is its hash table's, so
    the lines are compared as a set."""
    (tmp_path / "c.c").write_text("int comm_var;\nint a_rather_long_common_name[10];\n"
                                  "int main(void){return comm_var + a_rather_long_common_name[1];}\n")
    run(["gcc", "-fcommon", "-c", "c.c"], cwd=str(tmp_path))
    blocks = {}
    for linker in ("ldpy", "bfd"):
        gcc_link(tmp_path, "c-" + linker, ["c.o", f"-Wl,-Map={tmp_path}/{linker}.map"], linker)
        text = (tmp_path / f"{linker}.map").read_text()
        block = text.split("Allocating common symbols\n", 1)[1].split("\n\n", 2)[1]
        entries = block.replace("\n" + " " * 20, " " * 20).splitlines()   # join long names
        blocks[linker] = sorted(entries)
    assert blocks["ldpy"] == blocks["bfd"]
    assert any(e.startswith("a_rather_long_common_name") and "0x28" in e for e in blocks["ldpy"])
