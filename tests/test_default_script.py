"""The default layout (ldpy's default script, run by the script engine) and `-T` of
the default script (`ldpy --verbose` prints it) give byte-identical outputs: real
programs (C static, PIE, -static-pie, a shared library, C++ with exceptions,
thread_local, IFUNC, constructors; -N, -n, --unique, -z keep-text-section-prefix)
linked both ways through gcc with the same objects, compared with cmp and run."""
import filecmp
import os
import re
import subprocess
import sys

import pytest

from linkutil import run, shim_dir

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = "=" * 50 + "\n"


def src(d, name):
    return os.path.join(HERE, d, name)


# (id, compiler, compile options, link options, sources, expected output head)
PROGRAMS = [
    ("c-static", "gcc", ["-O1"], ["-static", "-pthread"],
     [src("progs_static", "tls_ifunc_ctors_main.c"), src("progs_static", "tls_ifunc_ctors_other.c")],
     "ctor 101"),
    ("c-pie", "gcc", ["-O1", "-fPIE"], ["-pie"],
     [src("progs", "tls_main.c"), src("progs", "tls_defs.c"), src("progs", "tls_use.c")], None),
    ("c-nopie-ifunc", "gcc", ["-O1", "-fno-PIE"], ["-no-pie"],
     [src("progs", "ifunc_main.c"), src("progs", "ifunc_impl.c"), src("progs", "ifunc_other.c")], None),
    ("c-static-pie", "gcc", ["-O1", "-fPIE"], ["-static-pie"],
     [src("progs", "ctors_main.c"), src("progs", "ctors_a.c"), src("progs", "ctors_b.c")], None),
    ("shared-lib", "gcc", ["-O1", "-fPIC"], ["-shared", "-Wl,-z,now"],
     [src("progs_dyn", "tls_lib.c")], None),
    ("cxx-static-eh-tls", "g++", ["-O1"], ["-static", "-pthread"],
     [src("progs_static", "cxx_main.cpp"), src("progs_static", "cxx_thrower.cpp")], None),
    ("cxx-pie-eh-tls", "g++", ["-O1", "-fPIE"], ["-pie", "-pthread"],
     [src("progs", "cxx_main.cpp"), src("progs", "cxx_lib.cpp")], None),
    # -N / -n: one RWX segment (the script --verbose prints for them has no page
    # breaks; -N no data-segment step), the headers loaded so __ehdr_start exists
    ("c-static-omagic", "gcc", ["-O1"], ["-static", "-pthread", "-Wl,-N"],
     [src("progs_static", "tls_ifunc_ctors_main.c"), src("progs_static", "tls_ifunc_ctors_other.c")],
     "ctor 101"),
    ("cxx-static-nmagic", "g++", ["-O1"], ["-static", "-pthread", "-Wl,--nmagic"],
     [src("progs_static", "cxx_main.cpp"), src("progs_static", "cxx_thrower.cpp")], "caught"),
    # --unique: input sections that are output sections of their own (orphans, even
    # of a name the script lists: .text, .data.rel.ro and .tdata ones, RELRO or not as
    # where orphans land); bare --unique: every orphan (glibc's __libc_* sections)
    ("c-static-unique", "gcc", ["-O1"], ["-static", "-pthread", "-Wl,--unique=.text,--unique=.data*,--unique=.tdata*"],
     [src("progs_static", "tls_ifunc_ctors_main.c"), src("progs_static", "tls_ifunc_ctors_other.c")],
     "ctor 101"),
    ("cxx-static-unique-orphans", "g++", ["-O1"], ["-static", "-pthread", "-Wl,--unique"],
     [src("progs_static", "cxx_main.cpp"), src("progs_static", "cxx_thrower.cpp")], "caught"),
    # -z keep-text-section-prefix: .text.hot/.unlikely/.startup output sections after .text
    ("c-static-keep-text-prefix", "gcc", ["-O2", "-ffunction-sections"],
     ["-static", "-Wl,-z,keep-text-section-prefix"], [src("progs", "text_prefix.c")], "ctor\n16 0"),
    ("c-pie-keep-text-prefix", "gcc", ["-O2", "-ffunction-sections", "-fPIE"],
     ["-pie", "-Wl,-z,keep-text-section-prefix"], [src("progs", "text_prefix.c")], "ctor\n16 0"),
    ("c-pie-unique", "gcc", ["-O1", "-fPIE"], ["-pie", "-Wl,--unique=.data*,--unique=.rodata*"],
     [src("progs", "tls_main.c"), src("progs", "tls_defs.c"), src("progs", "tls_use.c")], None),
]


def _default_script(cc, link, objs, tmp_path):
    """The default script for exactly this link, as `--verbose` prints it before linking."""
    out = tmp_path / "verbose.out"
    r = run([cc, *link, *objs, "-B", shim_dir(), "-Wl,--verbose", "-o", str(out)])
    assert r.stdout.count(SEP) >= 2, r.stdout[:2000]
    script = r.stdout.split(SEP)[1]
    assert "SECTIONS" in script
    path = tmp_path / "default.ld"
    path.write_text(script)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name,cc,copts,link,sources,expect", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_default_script_is_the_default_layout(tmp_path, name, cc, copts, link, sources, expect):
    objs = []
    for i, s in enumerate(sources):
        o = tmp_path / f"{i}.o"
        run([cc, *copts, "-c", s, "-o", str(o)])
        objs.append(str(o))
    script = _default_script(cc, link, objs, tmp_path)
    plain, scripted = tmp_path / "plain", tmp_path / "scripted"
    run([cc, *link, *objs, "-B", shim_dir(), "-o", str(plain)])
    run([cc, *link, *objs, "-B", shim_dir(), f"-Wl,-T,{script}", "-o", str(scripted)])
    if "-shared" not in link:
        outs = [subprocess.run([str(p)], capture_output=True, text=True, timeout=60) for p in (plain, scripted)]
        assert outs[0].returncode == 0 and outs[0].stdout, outs[0]
        assert outs[1].stdout == outs[0].stdout
        if expect is not None:
            assert expect in outs[0].stdout
    assert filecmp.cmp(plain, scripted, shallow=False), \
        run(["cmp", "-l", str(plain), str(scripted)], check=False).stdout[:2000]
    if "static-unique" in name:
        names = re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", run(["readelf", "-SW", str(plain)]).stdout, re.M)
        assert len(names) > len(set(names)), names       # several output sections share a name
    if "keep-text" in name:
        names = re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", run(["readelf", "-SW", str(plain)]).stdout, re.M)
        at = names.index(".text")
        assert names[at + 1:at + 4] == [".text.unlikely", ".text.hot", ".text.startup"], names
    if "magic" in name:
        loads = [l.split() for l in run(["readelf", "-lW", str(plain)]).stdout.splitlines()
                 if l.split()[:1] == ["LOAD"]]
        assert len(loads) == 1 and loads[0][-2] == "RWE" and loads[0][1] == "0x000000", loads


def test_default_script_parsed_once_per_option_set(monkeypatch):
    """The default script is parsed once per process for each option set that gives
    another text; each link gets its own copy, so what a link marks in the tree
    (a dropped statement) is not seen by the next."""
    import pickle
    from ldpy.arch.base import for_emulation
    from ldpy.cli import parse_args
    from ldpy.script import cache, default, parser
    calls = []
    real = parser.parse_script
    monkeypatch.setattr(parser, "parse_script", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    monkeypatch.setattr(cache, "_PARSED", {})
    monkeypatch.setenv("LDPY_NO_SCRIPT_CACHE", "1")      # (the process's own cache only)

    class Link:
        def __init__(self, *args):
            self.config = parse_args([*args, "-o", "x", "a.o"])
            self.target = for_emulation("elf_x86_64")

    trees = [default.default_script(Link(*opts)) for opts in ((), ("-pie",), (), ("-pie",), ())]
    assert len(calls) == 2
    assert len({id(t) for t in trees}) == 5
    # (one round trip first: equal strings may or may not be one object in a tree,
    # which changes the pickle's bytes, not the tree)
    blobs = [pickle.dumps(pickle.loads(pickle.dumps(t))) for t in trees]
    assert blobs[0] == blobs[2] == blobs[4] and blobs[1] == blobs[3] and blobs[0] != blobs[1]
    sections = [c for c in trees[2].commands if type(c).__name__ == "Sections"][0]
    sections.statements[0].dropped = True
    again = default.default_script(Link())
    assert not getattr([c for c in again.commands if type(c).__name__ == "Sections"][0].statements[0],
                       "dropped", False)
    assert len(calls) == 2


def test_link_server_warms_the_usual_default_scripts(monkeypatch):
    """The link server parses the default scripts of the usual links before it forks:
    a child linking a PIE (or a -z now shared object) parses none."""
    from ldpy.arch.base import for_emulation
    from ldpy.cli import parse_args
    from ldpy.script import cache, default, parser
    calls = []
    real = parser.parse_script
    monkeypatch.setattr(parser, "parse_script", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    monkeypatch.setattr(cache, "_PARSED", {})
    monkeypatch.setenv("LDPY_NO_SCRIPT_CACHE", "1")
    default.warm_default_scripts()
    assert len(calls) == 6

    class Link:
        def __init__(self, *args):
            self.config = parse_args([*args, "-o", "x", "a.o"])
            self.target = for_emulation("elf_x86_64")

    for opts in (("-pie",), ("-shared", "-z", "now"), ()):
        default.default_script(Link(*opts))
    assert len(calls) == 6
    default.default_script(Link("-N"))
    assert len(calls) == 7


def test_default_script_kept_on_disk(tmp_path):
    """A fresh process reads the parsed default script from the cache directory and
    imports no parser; a damaged or foreign cache file is parsed again and replaced,
    and the output is the same whichever way the tree came."""
    obj = tmp_path / "m.o"
    (tmp_path / "m.c").write_text("int main(void) { return 0; }\n")
    run(["gcc", "-c", str(tmp_path / "m.c"), "-o", str(obj)])
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("LDPY_NO_SCRIPT_CACHE", None)
    cmd = [sys.executable, "-X", "importtime", "-m", "ldpy", "-pie", "-e", "main", str(obj), "-o"]

    def link(out):
        r = subprocess.run([*cmd, str(tmp_path / out)], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr[-2000:]
        return "ldpy.script.parser" in r.stderr          # (importtime's lines)

    assert link("first")                                 # parsed, then kept
    files = list((tmp_path / "cache" / "ldpy").glob("default-script-*.pickle"))
    assert len(files) == 1 and files[0].read_bytes().startswith(b"default-script\0/* ldpy default linker script")
    assert not link("second")                            # read back: no parser
    files[0].write_bytes(b"/* another script */\0garbage")
    for k in range(40):                                  # other option sets' and versions' files
        old = tmp_path / "cache" / "ldpy" / f"default-script-{k:08x}-1.pickle"
        old.write_bytes(b"x")
        os.utime(old, (1000 + k, 1000 + k))
    assert link("third")                                 # not its text: parsed again
    assert files[0].read_bytes().startswith(b"default-script\0/* ldpy default linker script")
    kept = sorted(p.name for p in (tmp_path / "cache" / "ldpy").glob("default-script-*.pickle"))
    assert len(kept) == 32 and files[0].name in kept and "default-script-00000000-1.pickle" not in kept
    files[0].write_bytes(files[0].read_bytes()[:-40])     # a truncated tree
    assert link("fourth")
    assert not link("fifth")
    outs = [(tmp_path / n).read_bytes() for n in ("first", "second", "third", "fourth", "fifth")]
    assert all(o == outs[0] for o in outs)


def test_input_scripts_kept_on_disk(tmp_path):
    """An input script (glibc's libc.so is one) is parsed once and kept on disk too:
    a fresh process that reads it again imports no parser.  The key is the script's
    text and path: an edited script is parsed anew, and one that INCLUDEs files is
    never kept (their text is not part of the key)."""
    (tmp_path / "m.c").write_text("int which(void);\nint main(void) { return which(); }\n")
    for n in (1, 2):
        (tmp_path / f"w{n}.c").write_text(f"int which(void) {{ return {n}; }}\n")
        run(["gcc", "-O2", "-c", str(tmp_path / f"w{n}.c"), "-o", str(tmp_path / f"w{n}.o")])
        run(["ar", "rc", str(tmp_path / f"libw{n}.a"), str(tmp_path / f"w{n}.o")])
    run(["gcc", "-c", str(tmp_path / "m.c"), "-o", str(tmp_path / "m.o")])
    script = tmp_path / "pick.ld"
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("LDPY_NO_SCRIPT_CACHE", None)

    def link(text):
        script.write_text(text)
        out = tmp_path / "prog"
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "ldpy", "-static", "-e", "main",
                            str(tmp_path / "m.o"), "-L", str(tmp_path), str(script), "-o", str(out)],
                           capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr[-2000:]
        code = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(out)], capture_output=True,
                              text=True).stdout.split("<which>:")[1].split("\n")[1]
        return "ldpy.script.parser" in r.stderr, code.split("mov")[-1].strip()

    assert link("GROUP ( libw1.a )\n") == (True, "$0x1,%eax")
    assert len(list((tmp_path / "cache" / "ldpy").glob("script-*.pickle"))) == 1
    assert link("GROUP ( libw1.a )\n") == (False, "$0x1,%eax")        # read back: no parser
    assert link("GROUP ( libw2.a )\n") == (True, "$0x2,%eax")         # edited: parsed
    assert link("GROUP ( libw2.a )\n") == (False, "$0x2,%eax")
    (tmp_path / "inc.ld").write_text("GROUP ( libw1.a )\n")
    assert link("INCLUDE inc.ld\n") == (True, "$0x1,%eax")
    assert link("INCLUDE inc.ld\n")[0]                                  # never kept
    assert len(list((tmp_path / "cache" / "ldpy").glob("script-*.pickle"))) == 2


def _orphans_program(tmp, n):
    """An object with n orphan sections of the four allocated kinds in turn, each
    with a symbol, and a main that reads the last one."""
    kinds = ['"ax",@progbits', '"a",@progbits', '"aw",@progbits', '"aw",@nobits']
    body = "".join(f".section .o{i},{kinds[i % 4]}\n.globl s{i}\ns{i}: .zero 4\n" for i in range(n))
    body += (f".text\n.globl main\nmain: movl s{n - 2}(%rip), %eax\nret\n"
             '.section .note.GNU-stack,"",@progbits\n')
    (tmp / "orphans.s").write_text(body)
    run(["gcc", "-c", "orphans.s", "-o", "orphans.o"], cwd=str(tmp))
    return str(tmp / "orphans.o")


def _section_names(path):
    out = run(["readelf", "-SW", path]).stdout
    return re.findall(r"^\s*\[\s*\d+\]\s+(\S+)", out, re.M)


def test_thousands_of_orphans_placed_as_ld_bfd_places_them(tmp_path):
    """3000 orphan sections (text, read-only, data, bss) each go after their
    kind's anchor and after the orphans placed there before, in input order: the
    same section list as ld.bfd's (each orphan used to search the whole statement
    list for its name and its anchor)."""
    obj = _orphans_program(tmp_path, 3000)
    ours = tmp_path / "ours"
    ref = tmp_path / "ref"
    run(["gcc", "-B", shim_dir(), obj, "-o", str(ours)])
    run(["gcc", "-fuse-ld=bfd", obj, "-o", str(ref)])
    assert run([str(ours)], check=False).returncode == 0
    names = _section_names(str(ours))
    assert names == _section_names(str(ref))
    assert sum(n.startswith(".o") and n[2:].isdigit() for n in names) == 3000


def test_too_many_output_sections_is_an_error(tmp_path):
    """More output sections than ELF section indexes below SHN_LORESERVE (0xff00)
    in an executable: refused in one line, as ld.bfd and mold do, no output."""
    obj = _orphans_program(tmp_path, 66000)
    out = tmp_path / "prog"
    r = run(["gcc", "-B", shim_dir(), obj, "-o", str(out)], check=False)
    assert r.returncode != 0
    assert re.search(r"ldpy: error: too many output sections: 660\d\d section headers \(at most 65279\)",
                     r.stderr), r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


def test_text_sorted_sections_in_name_order(tmp_path):
    """`.text.sorted.*` input sections go by name (ld.bfd's `*(SORT(.text.sorted.*))`),
    whatever order the inputs give them, before plain .text."""
    (tmp_path / "s.s").write_text(
        "".join(f'.section .text.sorted.{n},"ax",@progbits\n.globl f{n}\nf{n}: ret\n.p2align 4\n'
                for n in ("0003", "0001", "0002"))
        + '.text\n.globl _start\n_start: call f0001\ncall f0002\ncall f0003\n1: jmp 1b\n')
    run(["as", "s.s", "-o", "s.o"], cwd=tmp_path)
    order = {}
    for linker in ("ldpy", "ld.bfd"):
        run([linker, "-o", f"out.{linker}", "s.o"], cwd=tmp_path)
        rows = [l.split() for l in run(["nm", "-n", f"out.{linker}"], cwd=tmp_path).stdout.splitlines()]
        order[linker] = [r[2] for r in rows if len(r) == 3 and r[2] in ("f0001", "f0002", "f0003", "_start")]
    assert order["ldpy"] == ["f0001", "f0002", "f0003", "_start"]
    assert order["ldpy"] == order["ld.bfd"]
