"""The reporting options of issue 7, end to end: --error-limit, --demangle,
--unresolved-symbols, -z defs, --noinhibit-exec, multiple definitions allowed,
--no-warnings/--fatal-warnings, --print-map, --stats, --verbose and
--strip-discarded. Where GNU ld has the option, the exit status (and, for
symbol tables, nm's view) is compared with ld.bfd's for the same inputs."""
import os
import subprocess
import sys

import pytest

from linkutil import run, shim_dir

START = ".globl _start\n_start:\n mov $60, %eax\n xor %edi, %edi\n syscall\n"


def ldpy(args, cwd):
    return subprocess.run([sys.executable, "-m", "ldpy", *args], cwd=str(cwd), capture_output=True,
                          text=True, timeout=120)


def bfd(args, cwd):
    return subprocess.run(["ld.bfd", *args], cwd=str(cwd), capture_output=True, text=True, timeout=120)


def gcc(args, cwd, linker="ldpy", compiler="gcc"):
    sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
    return subprocess.run([compiler, *args, *sel], cwd=str(cwd), capture_output=True, text=True, timeout=120)


def asm(tmp, name, text):
    (tmp / (name + ".s")).write_text(text)
    run(["as", str(tmp / (name + ".s")), "-o", str(tmp / (name + ".o"))])
    return name + ".o"


def errors(r):
    assert "Traceback" not in r.stderr, r.stderr
    return [l for l in r.stderr.splitlines() if l.startswith("ldpy: error:")]


FOUR_MISSING = "int f1(void); int f2(void); int f3(void); int f4(void);\n" \
               "int main(void){return f1()+f2()+f3()+f4();}\n"


def test_error_limit(tmp_path):
    (tmp_path / "u.c").write_text(FOUR_MISSING)
    run(["gcc", "-c", "u.c"], cwd=str(tmp_path))
    r = gcc(["u.o", "-o", "x", "-Wl,--error-limit=2"], tmp_path)
    lines = errors(r)
    assert r.returncode != 0 and not (tmp_path / "x").exists()
    assert [l.split("'")[-2] for l in lines[:2]] == ["f1", "f2"]
    assert len(lines) == 3 and "too many errors" in lines[2] and "--error-limit=0" in lines[2]
    r = gcc(["u.o", "-o", "x", "-Wl,--error-limit=0"], tmp_path)
    assert [l.split("'")[-2] for l in errors(r)] == ["f1", "f2", "f3", "f4"]


def test_demangle_and_no_demangle(tmp_path):
    (tmp_path / "m.cpp").write_text("int missing_fn(int, char);\nint main(){return missing_fn(1, 'a');}\n")
    run(["g++", "-c", "m.cpp"], cwd=str(tmp_path))
    r = gcc(["m.o", "-o", "x"], tmp_path, compiler="g++")
    assert any("undefined reference to 'missing_fn(int, char)'" in l for l in errors(r)), r.stderr
    r = gcc(["m.o", "-o", "x", "-Wl,--no-demangle"], tmp_path, compiler="g++")
    assert any("undefined reference to '_Z10missing_fnic'" in l for l in errors(r)), r.stderr
    r = gcc(["m.o", "-o", "x", "-Wl,--no-demangle", "-Wl,--demangle"], tmp_path, compiler="g++")
    assert any("'missing_fn(int, char)'" in l for l in errors(r)), r.stderr


@pytest.mark.parametrize("opts,links,says", [
    (["--unresolved-symbols=ignore-all"], True, False),
    (["--unresolved-symbols=ignore-in-object-files"], True, False),
    (["--unresolved-symbols=ignore-in-shared-libs"], False, True),
    (["--unresolved-symbols=report-all"], False, True),
    (["--warn-unresolved-symbols"], True, True),
    (["--noinhibit-exec"], True, True),
])
def test_unresolved_symbol_policies(tmp_path, opts, links, says):
    """Exit status and output as ld.bfd's; the message when the policy reports."""
    main = asm(tmp_path, "s", START + " call not_defined_anywhere\n")
    r = ldpy([*opts, "-o", "out", main], tmp_path)
    ref = bfd([*opts, "-o", "ref", main], tmp_path)
    assert "Traceback" not in r.stderr
    assert (r.returncode == 0) == (ref.returncode == 0) == links, (r.stderr, ref.stderr)
    assert (tmp_path / "out").exists() == links == (tmp_path / "ref").exists()
    assert ("s.o:(.text+0xa): in function '_start': undefined reference to 'not_defined_anywhere'"
            in r.stderr) == says, r.stderr
    if links and says:
        assert "ldpy: warning:" in r.stderr and not errors(r)


def test_z_defs_for_shared_libraries(tmp_path):
    (tmp_path / "l.c").write_text("int elsewhere(void);\nint api(void){return elsewhere();}\n")
    run(["gcc", "-fPIC", "-c", "l.c"], cwd=str(tmp_path))
    for opts, ok in (([], True), (["-z", "defs"], False), (["--no-undefined"], False),
                     (["-z", "defs", "-z", "undefs"], True)):
        r = ldpy(["-shared", *opts, "-o", "libl.so", "l.o"], tmp_path)
        ref = bfd(["-shared", *opts, "-o", "libr.so", "l.o"], tmp_path)
        assert (r.returncode == 0) == (ref.returncode == 0) == ok, (opts, r.stderr)
        if not ok:
            assert any("l.o:(.text+0x" in l and "in function 'api'" in l and "'elsewhere'" in l
                       for l in errors(r)), r.stderr
            assert not (tmp_path / "libl.so").exists()
        (tmp_path / "libl.so").unlink(missing_ok=True)


@pytest.mark.parametrize("opt", ["--allow-multiple-definition", "-zmuldefs"])
def test_multiple_definitions_allowed(tmp_path, opt):
    """The first definition wins, as in ld.bfd: the program prints its value."""
    (tmp_path / "a.c").write_text('#include <stdio.h>\nint value(void){return 1;}\n'
                                  'int main(void){printf("%d\\n", value());return 0;}\n')
    (tmp_path / "b.c").write_text("int value(void){return 2;}\n")
    run(["gcc", "-c", "a.c", "b.c"], cwd=str(tmp_path))
    r = gcc(["a.o", "b.o", "-o", "x"], tmp_path)
    assert r.returncode != 0 and any("multiple definition of 'value'" in l for l in errors(r))
    for linker in ("ldpy", "bfd"):
        r = gcc(["b.o", "a.o", "-o", "x-" + linker, "-Wl," + opt], tmp_path, linker)
        assert r.returncode == 0, r.stderr
        assert run([str(tmp_path / ("x-" + linker))]).stdout == "2\n"


def test_no_warnings_and_fatal_warnings(tmp_path):
    lib = asm(tmp_path, "lib", ".globl old_api\nold_api: ret\n"
                               '.section .gnu.warning.old_api\n.string "old_api is going away"\n')
    user = asm(tmp_path, "user", START + " call old_api\n")
    r = ldpy(["-o", "out", user, lib], tmp_path)
    assert r.returncode == 0 and "warning: old_api is going away" in r.stderr
    r = ldpy(["--no-warnings", "-o", "out", user, lib], tmp_path)
    assert r.returncode == 0 and r.stderr == "" and (tmp_path / "out").exists()
    r = ldpy(["--fatal-warnings", "-o", "out2", user, lib], tmp_path)
    assert r.returncode == 1 and "old_api is going away" in r.stderr and not (tmp_path / "out2").exists()
    assert bfd(["--fatal-warnings", "-o", "ref", user, lib], tmp_path).returncode == 1


def test_print_map_to_stdout(tmp_path):
    main = asm(tmp_path, "s", START + ".data\nvar: .quad 5\n")
    r = ldpy(["--print-map", "-o", "out", main], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Linker script and memory map" in r.stdout
    text_addr = int(run(["readelf", "-SW", str(tmp_path / "out")]).stdout.split(" .text ")[1].split()[1], 16)
    assert f".text           0x{text_addr:016x}" in r.stdout
    assert " .text          0x" in r.stdout and "s.o" in r.stdout


def test_stats_reports_each_pass(tmp_path):
    main = asm(tmp_path, "s", START)
    r = ldpy(["--stats", "-o", "out", main], tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {l.split()[1]: l for l in r.stderr.splitlines() if l.startswith("ldpy: ")}
    for name in ("load_all", "layout", "write_output", "total"):
        assert name in rows and " ms " in rows[name] and "MiB" in rows[name], r.stderr


def test_stats_nests_steps_under_their_pass(tmp_path):
    """Steps inside a pass (read/resolve per object, relocate, ...) are indented under
    it, and their times add up to no more than the pass's."""
    (tmp_path / "h.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    run(["gcc", "-c", "h.c"], cwd=str(tmp_path))
    r = gcc(["h.o", "-o", "h", "-Wl,--stats"], tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [l[len("ldpy: "):] for l in r.stderr.splitlines() if l.startswith("ldpy: ")][1:]
    tree, parent = {}, None
    for l in lines:
        ms = float(l.split(" ms")[0].split()[-1])
        if l.startswith("  "):
            tree[parent][1][l.split(" (x")[0].split("  ")[1].strip()] = ms
        else:
            parent = l.split()[0]
            tree[parent] = (ms, {})
    load_ms, load_steps = tree["load_all"]
    assert {"read objects", "resolve symbols", "read shared libraries"} <= set(load_steps), r.stderr
    write_ms, write_steps = tree["write_output"]
    assert {"copy sections", "relocate", "synthesize"} <= set(write_steps), r.stderr
    for ms, steps in tree.values():
        assert sum(steps.values()) <= ms + 0.5, r.stderr
    assert "read objects (x" in r.stderr        # summed over calls, with their count


def test_verbose_shows_script_and_library_search(tmp_path):
    (tmp_path / "h.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    run(["gcc", "-c", "h.c"], cwd=str(tmp_path))
    r = gcc(["h.o", "-o", "h", "-Wl,--verbose"], tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("GNU ld (ldpy")
    assert "using internal linker script:" in lines and "SECTIONS" in lines
    assert "attempt to open h.o succeeded" in lines
    libc = [l for l in lines if l.startswith("attempt to open") and "/libc." in l]
    assert any(l.endswith("/libc.so failed") for l in libc)
    found = next(l.split()[3] for l in libc if l.endswith("/libc.so succeeded"))
    assert f"opened script file {found}" in lines and found in lines
    assert run([str(tmp_path / "h")]).stdout == "hi\n"
    (tmp_path / "t.ld").write_text("SECTIONS { .text 0x400000 : { *(.text) } }\n")
    main = asm(tmp_path, "s", START)
    r = ldpy(["--verbose", "-T", "t.ld", "-o", "out", main], tmp_path)
    assert r.returncode == 0 and "opened script file t.ld" in r.stdout.splitlines()
    assert "using internal linker script:" not in r.stdout


@pytest.mark.parametrize("opt", ["--strip-discarded", "--no-strip-discarded"])
def test_strip_discarded_matches_bfd(tmp_path, opt):
    """Symbols of a COMDAT copy that lost and of sections --gc-sections removed:
    nm lists the same symbols as for ld.bfd's output."""
    grp = '.section .text.grp,"axG",@progbits,grp,comdat\n.globl gfn\ngfn:\n{0}: ret\n'
    a = asm(tmp_path, "a", grp.format("first_copy_label") + ".text\n" + START + " call gfn\n"
            '.section .text.dead,"ax",@progbits\n.globl dead_global\ndead_global:\ndead_local: ret\n')
    b = asm(tmp_path, "b", grp.format("second_copy_label"))
    r = ldpy(["--gc-sections", opt, "-o", "out", a, b], tmp_path)
    ref = bfd(["--gc-sections", opt, "-o", "ref", a, b], tmp_path)
    assert r.returncode == 0 and ref.returncode == 0, r.stderr
    nm = lambda p: sorted(l.split()[-2:] for l in run(["nm", str(tmp_path / p)]).stdout.splitlines())
    names = [n for _, n in nm("out")]
    assert "first_copy_label" in names and "second_copy_label" not in names and "dead_global" not in names
    assert nm("out") == nm("ref")


@pytest.mark.parametrize("mode", [[], ["-static"]], ids=["dynamic", "static"])
def test_glibc_gets_warning(tmp_path, mode):
    """glibc's .gnu.warning.gets: the warning names the referencing object and place."""
    (tmp_path / "g.c").write_text("char *gets(char *);\nint main(void){char b[8]; return gets(b) != 0;}\n")
    run(["gcc", "-c", "g.c"], cwd=str(tmp_path))
    r = gcc([*mode, "g.o", "-o", "g"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "g.o:(.text+0x10): in function 'main': warning: the `gets' function is dangerous" in r.stderr, r.stderr
    r = gcc([*mode, "g.o", "-o", "g2", "-Wl,--fatal-warnings"], tmp_path)
    assert r.returncode != 0 and not (tmp_path / "g2").exists()


def test_object_warning_section_from_archive_member(tmp_path):
    """A plain .gnu.warning section warns when its object is linked, as GNU ld does."""
    asm(tmp_path, "w", '.section .gnu.warning\n.string "this object is obsolete"\n'
                       ".text\n.globl helper\nhelper: ret\n")
    run(["ar", "rcs", "libw.a", "w.o"], cwd=str(tmp_path))
    main = asm(tmp_path, "m", START + " call helper\n")
    r = ldpy(["-o", "out", main, "libw.a"], tmp_path)
    ref = bfd(["-o", "ref", main, "libw.a"], tmp_path)
    assert r.returncode == ref.returncode == 0
    assert "libw.a(w.o): warning: this object is obsolete" in r.stderr
    assert "libw.a(w.o): warning: this object is obsolete" in ref.stderr
    unused = asm(tmp_path, "n", START)
    r = ldpy(["-o", "out2", unused, "libw.a"], tmp_path)
    assert r.returncode == 0 and "obsolete" not in r.stderr       # member not pulled: no warning


@pytest.mark.parametrize("order", [["c4.o", "c4b.o"], ["c4.o", "c8.o"], ["c8.o", "c4.o"], ["c4.o", "d.o"],
                                   ["d.o", "c4.o"], ["c4.o", "liba.a"]])
def test_warn_common_cases_match_bfd(tmp_path, order):
    """"Linkers" part 12's common-symbol cases: the same files and words as GNU ld's
    --warn-common (quotes aside)."""
    for name, code in (("c4", "int x;\n"), ("c8", "long x;\n"), ("d", "int x = 1;\n"),
                       ("m", "extern int x;\nint use(void){return x;}\n")):
        (tmp_path / f"{name}.c").write_text(code)
    run(["gcc", "-fcommon", "-c", "c4.c", "c8.c", "d.c", "m.c"], cwd=str(tmp_path))
    (tmp_path / "c4b.o").write_bytes((tmp_path / "c4.o").read_bytes())
    run(["ar", "rcs", "liba.a", "d.o"], cwd=str(tmp_path))
    main = asm(tmp_path, "s", START + " call use\n" + '.section .note.GNU-stack,"",@progbits\n')
    r = ldpy(["--warn-common", "-o", "out", main, "m.o", *order], tmp_path)
    ref = bfd(["--warn-common", "-o", "ref", main, "m.o", *order], tmp_path)
    assert r.returncode == ref.returncode == 0, r.stderr
    mine = [l.replace("ldpy: warning: ", "") for l in r.stderr.splitlines()]
    theirs = [l.replace("ld.bfd: ", "").replace("warning: ", "").replace("`", "'") for l in ref.stderr.splitlines()]
    assert mine == theirs and len(mine) == 1     # (a common pulls liba.a(d.o), as in GNU ld)
