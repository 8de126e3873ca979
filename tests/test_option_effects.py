"""Options that only set dynamic tags, program header fields or side files:
each is compared with what ld.bfd writes for the same command line."""
import os
import re

import pytest

from e2e_util import ld_direct, link, program_headers, readelf, run, write

FILTERS = ["-f", "aux.so", "-F", "filt.so"]          # (only with -shared, as in GNU ld)
FLAG_OPTIONS = ["--audit", "foo.so", "--depaudit", "dep.so",
                "-z", "nodefaultlib", "-z", "nodump", "-z", "origin", "-z", "interpose", "-z", "global",
                "-z", "loadfltr", "-z", "unique", "-z", "globalaudit", "-Bgroup", "-z", "initfirst",
                "-z", "nodelete", "-z", "nodlopen"]


def _dynamic(path):
    """readelf -d as (tag name, value) pairs, addresses and sizes left out."""
    out = []
    for line in readelf("-d", path).splitlines():
        m = re.match(r"\s*0x[0-9a-f]+ \((\w+)\)\s+(.*)$", line)
        if m:
            tag, value = m.groups()
            out.append((tag, value if ("[" in value or "Flags" in value or tag == "FLAGS") else ""))
    return out


@pytest.mark.parametrize("kind,extra,tags", [(["-shared"], FILTERS, 7), (["-pie"], [], 5)])
def test_dynamic_flag_and_audit_tags_match_bfd(tmp_path, kind, extra, tags):
    src = write(tmp_path, "s.c", "int f(void) { return 1; }\nint main(void) { return f() - 1; }\n")
    run(["gcc", "-fPIC", "-c", src, "-o", "s.o"], cwd=tmp_path)
    mine = ld_direct([*kind, "s.o", "-o", "mine", *extra, *FLAG_OPTIONS], tmp_path)
    ref = ld_direct([*kind, "s.o", "-o", "ref", *extra, *FLAG_OPTIONS], tmp_path, linker="bfd")
    assert mine.returncode == 0 and ref.returncode == 0, (mine.stderr, ref.stderr)
    want = [t for t in _dynamic(tmp_path / "ref") if t[0] in
            ("FILTER", "AUXILIARY", "AUDIT", "DEPAUDIT", "GNU_FLAGS_1", "FLAGS", "FLAGS_1")]
    got = [t for t in _dynamic(tmp_path / "mine") if t[0] in
           ("FILTER", "AUXILIARY", "AUDIT", "DEPAUDIT", "GNU_FLAGS_1", "FLAGS", "FLAGS_1")]
    assert len(want) == tags and got == want


def test_stack_size_sets_gnu_stack_memsz(tmp_path):
    src = write(tmp_path, "m.c", "int main(void) { return 0; }\n")
    exe, _ = link(tmp_path, "m", [src], ["-Wl,-z,stack-size=0x900000"], static=False)
    ref, _ = link(tmp_path, "m.bfd", [src], ["-Wl,-z,stack-size=0x900000"], static=False, linker="bfd")
    stack = [p for p in program_headers(exe) if p.type == "GNU_STACK"]
    assert [(p.memsz, p.flags) for p in stack] == \
        [(p.memsz, p.flags) for p in program_headers(ref) if p.type == "GNU_STACK"] == [(0x900000, "RW")]
    assert run([exe]).returncode == 0


def test_dependency_file_lists_every_file_read(tmp_path):
    src = write(tmp_path, "m.c", "int main(void) { return 0; }\n")
    write(tmp_path, "v.map", "{ global: main; local: *; };\n")
    exe, _ = link(tmp_path, "m", [src], ["-Wl,--dependency-file=deps.mk", "-Wl,--version-script=v.map"],
                  static=False)
    text = (tmp_path / "deps.mk").read_text()
    first, _, rules = text.partition("\n\n")
    deps = [l.strip().rstrip("\\").strip() for l in first.splitlines()[1:]]
    assert first.splitlines()[0] == f"{exe}: \\"
    assert "v.map" in deps and any(d.endswith("crt1.o") or d.endswith("Scrt1.o") for d in deps)
    assert any(os.path.basename(d) == "libc.so" for d in deps)
    # each dependency also gets an empty rule, as GNU ld writes them
    assert rules.split("\n\n")[0].rstrip(":") == deps[0]
    # make accepts it
    write(tmp_path, "Makefile", f"include deps.mk\n{exe}:\n\t@echo relink\n")
    assert run(["make", "-q", "-f", "Makefile", str(exe)], cwd=tmp_path, check=False).returncode in (0, 1)


def test_default_script_option_reads_the_script(tmp_path):
    """-dT SCRIPT replaces the default script: a script that puts a marker
    symbol in the layout is honoured; with -T as well, -dT is not read."""
    src = write(tmp_path, "m.c", "extern char marker[]; int main(void) { return marker == 0; }\n")
    out = run(["ldpy", "--verbose"], cwd=tmp_path).stdout
    script = out.split("=" * 50)[1]
    write(tmp_path, "d.ld", script.replace("SECTIONS\n{", "SECTIONS\n{\n  PROVIDE (marker = .);", 1))
    exe, _ = link(tmp_path, "m", [src], ["-no-pie", "-Wl,-dT,d.ld"], static=False)
    assert run([exe]).returncode == 0


@pytest.mark.parametrize("kind", [["-pie"], ["-static"]])
def test_package_metadata_note_matches_bfd(tmp_path, kind):
    src = write(tmp_path, "m.c", "int main(void) { return 0; }\n")
    flag = ["-Xlinker", '--package-metadata={"type":"deb","os":"debian","name":"ldpy-test"}']
    exe, _ = link(tmp_path, "m", [src], [*kind, *flag], static=False)
    ref, _ = link(tmp_path, "m.bfd", [src], [*kind, *flag], static=False, linker="bfd")
    dump = lambda p: readelf("-x", ".note.package", p).split("\n", 2)[2]
    assert dump(exe) == dump(ref)
    assert '"name":"ldpy-test"' in readelf("-n", exe)
    notes = lambda p: [s for s in readelf("-lW", p).splitlines() if "NOTE" in s]
    assert len(notes(exe)) == len(notes(ref))


@pytest.mark.parametrize("which", ["libh.a", "ALL", "libother.a"])
def test_exclude_libs_hides_archive_definitions_as_bfd(tmp_path, which):
    write(tmp_path, "h.c", "int helper(void) { return 7; }\n")
    write(tmp_path, "api.c", "int helper(void);\nint api(void) { return helper(); }\n")
    run(["gcc", "-fPIC", "-c", "h.c", "api.c"], cwd=tmp_path)
    run(["ar", "rcs", "libh.a", "h.o"], cwd=tmp_path)
    args = ["api.o", "libh.a", f"-Wl,--exclude-libs,{which}", "-shared"]
    mine, _ = link(tmp_path, "libm.so", args, static=False)
    ref, _ = link(tmp_path, "libr.so", args, static=False, linker="bfd")
    dyn = lambda p: sorted(l.split()[-1] for l in readelf("--dyn-syms", p).splitlines()
                           if l.split()[-1:] in (["api"], ["helper"]))
    nm = lambda p: sorted(l.split()[1:] for l in run(["nm", p]).stdout.splitlines()
                          if l.split()[-1] in ("api", "helper"))
    assert dyn(mine) == dyn(ref)
    assert ("helper" in dyn(mine)) == (which == "libother.a")
    assert nm(mine) == nm(ref)


@pytest.mark.parametrize("extra", [[], ["-soname", "libds.so"], ["--version-script", "ds.ver"],
                                   ["--version-script", "anon.ver"]])
def test_default_symver_matches_bfd(tmp_path, extra):
    write(tmp_path, "ds.c", "int foo(void) { return 1; }\nint bar(void) { return 2; }\n")
    write(tmp_path, "ds.ver", "VER1 { bar; };\n")
    write(tmp_path, "anon.ver", "{ global: foo; local: *; };\n")
    run(["gcc", "-fPIC", "-c", "ds.c"], cwd=tmp_path)
    mine = ld_direct(["-shared", "ds.o", "-o", "libm.so", "--default-symver", *extra], tmp_path)
    ref = ld_direct(["-shared", "ds.o", "-o", "libm.so.bfd", "--default-symver", *extra], tmp_path, linker="bfd")
    assert mine.returncode == 0 and ref.returncode == 0, (mine.stderr, ref.stderr)
    names = lambda p, own: sorted(l.split()[-1].replace(own, "OUT") for l in readelf("--dyn-syms", p).splitlines()
                                  if l.split()[-1:] and ("@" in l.split()[-1] or " ABS " in l))
    got, want = names(tmp_path / "libm.so", "libm.so"), names(tmp_path / "libm.so.bfd", "libm.so.bfd")
    assert got == want and any("@@" in n for n in got)


def test_omagic_packs_everything_into_one_rwx_segment(tmp_path):
    """-N / --omagic: text and data in one read-write-execute PT_LOAD, no RELRO, and the
    static program runs (ld.bfd cannot link it: __ehdr_start is left undefined there)."""
    src = write(tmp_path, "h.c", '#include <stdio.h>\nint data = 5;\nint main(void) { printf("%d\\n", data); return 0; }\n')
    exe, _ = link(tmp_path, "h", [src], ["-no-pie", "-Wl,--omagic"])
    loads = [p for p in program_headers(exe) if p.type == "LOAD"]
    assert [p.flags for p in loads] == ["RWE"]
    assert not [p for p in program_headers(exe) if p.type == "GNU_RELRO"]
    assert run([exe]).stdout == "5\n"


@pytest.mark.parametrize("mode", ["warn", "error", "discard"])
def test_orphan_handling_as_bfd(tmp_path, mode):
    """--orphan-handling: the user's orphan section gets ld.bfd's message (warn, error)
    or is left out (discard); the link's verdict is ld.bfd's."""
    write(tmp_path, "o.s", '.globl _start\n_start: ret\n.section mysec,"aw"\n.quad 1\n'
                           '.section .note.GNU-stack,"",@progbits\n')
    run(["gcc", "-c", "o.s"], cwd=tmp_path)
    mine = ld_direct(["o.o", "-o", "o", f"--orphan-handling={mode}"], tmp_path)
    ref = ld_direct(["o.o", "-o", "o.bfd", f"--orphan-handling={mode}"], tmp_path, linker="bfd")
    assert mine.returncode == ref.returncode
    line = lambda r: [l.split(": ", 1)[1] for l in r.stderr.splitlines() if "mysec" in l]
    assert line(mine) == line(ref)
    if mode == "discard":
        assert "mysec" not in readelf("-S", tmp_path / "o") and "mysec" not in readelf("-S", tmp_path / "o.bfd")
