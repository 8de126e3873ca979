"""User mistakes and broken inputs: one `ldpy: error:` line naming the file and
place, exit status 1, no traceback, no output file left behind."""
import os
import subprocess
import sys

import pytest

from linkutil import gcc_link, run, shim_dir


def ldpy(args, cwd):
    return subprocess.run([sys.executable, "-m", "ldpy", *args], cwd=str(cwd), capture_output=True,
                          text=True, timeout=120)


def compile_c(tmp, name, code, *flags):
    (tmp / (name + ".c")).write_text(code)
    run(["gcc", "-c", *flags, str(tmp / (name + ".c")), "-o", str(tmp / (name + ".o"))])
    return str(tmp / (name + ".o"))


def assert_clean_failure(r, out_path, *needles):
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    errors = [l for l in r.stderr.splitlines() if l.startswith("ldpy: error:")]
    assert len(errors) >= 1, r.stderr
    for n in needles:
        assert n in r.stderr, (n, r.stderr)
    assert not os.path.exists(out_path)


START = ".globl _start\n_start:\n mov $60, %eax\n xor %edi, %edi\n syscall\n"


def asm(tmp, name, text):
    (tmp / (name + ".s")).write_text(text)
    run(["as", str(tmp / (name + ".s")), "-o", str(tmp / (name + ".o"))])
    return str(tmp / (name + ".o"))


def test_undefined_symbol(tmp_path):
    obj = compile_c(tmp_path, "main", "int foo(void);\nint main(void){return foo();}\n")
    r = ldpy(["-o", "out", obj], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "undefined reference to 'foo'", "main.o:(.text+0x")


def test_multiple_definition(tmp_path):
    a = compile_c(tmp_path, "a", "int dup = 1;\n")
    b = compile_c(tmp_path, "b", "int dup = 2;\n")
    s = asm(tmp_path, "s", START)
    r = ldpy(["-o", "out", s, a, b], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "multiple definition of 'dup'", "a.o", "b.o")


def test_garbage_input(tmp_path):
    (tmp_path / "junk.o").write_bytes(b"\x00\x01garbage\xff" * 10)
    r = ldpy(["-o", "out", "junk.o"], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "junk.o", "file format not recognized")


def test_truncated_object(tmp_path):
    obj = compile_c(tmp_path, "t", "int x(void){return 1;}\n")
    data = open(obj, "rb").read()
    (tmp_path / "cut.o").write_bytes(data[:200])
    r = ldpy(["-o", "out", "cut.o"], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "cut.o")


def test_truncated_archive(tmp_path):
    obj = compile_c(tmp_path, "t", "int x(void){return 1;}\n")
    run(["ar", "rcs", str(tmp_path / "libt.a"), obj])
    data = open(tmp_path / "libt.a", "rb").read()
    (tmp_path / "libcut.a").write_bytes(data[:len(data) // 2])
    s = asm(tmp_path, "s", START + " call x\n")
    r = ldpy(["-o", "out", s, "libcut.a"], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "libcut.a")


def test_unknown_option_and_missing_file(tmp_path):
    r = ldpy(["--frobnicate-everything", "-o", "out"], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "frobnicate")
    r = ldpy(["-o", "out", "does-not-exist.o"], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "does-not-exist.o")
    r = ldpy(["-o", "out", "-lnosuchlibrary"], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "cannot find -lnosuchlibrary")


def test_relocation_overflow(tmp_path):
    s = asm(tmp_path, "s", START + " movl $far, %eax\n")
    r = ldpy(["-o", "out", s, "--defsym", "far=0x100000000"], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "R_X86_64_32", "relocation truncated to fit", "s.o:(.text+0x",
                         "'far' defined in *ABS* section")


def test_wrong_machine(tmp_path):
    obj = compile_c(tmp_path, "m", "int x(void){return 1;}\n")
    data = bytearray(open(obj, "rb").read())
    data[18:20] = (183).to_bytes(2, "little")        # EM_AARCH64
    (tmp_path / "arm.o").write_bytes(bytes(data))
    r = ldpy(["-o", "out", "arm.o"], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "arm.o", "aarch64")


def test_old_output_removed_on_failure(tmp_path):
    (tmp_path / "out").write_text("stale")
    obj = compile_c(tmp_path, "main", "int foo(void);\nint main(void){return foo();}\n")
    r = ldpy(["-o", "out", obj], tmp_path)
    assert_clean_failure(r, tmp_path / "out", "foo")


def test_lto_only_object_is_refused_without_plugin_fat_lto_links(tmp_path):
    (tmp_path / "l.c").write_text('#include <stdio.h>\nint main(void){puts("lto ok");return 0;}\n')
    run(["gcc", "-flto", "-c", "l.c", "-o", "slim.o"], cwd=str(tmp_path))
    r = ldpy(["-o", "slim", "slim.o"], tmp_path)
    assert_clean_failure(r, tmp_path / "slim", "slim.o: holds only LTO IR; link with the LTO plugin (-flto)")
    # with the plugin gcc passes, the LTO link works (tests/test_lto.py has the rest)
    r = subprocess.run(["gcc", "-flto", "l.c", "-o", "lto", "-B", shim_dir()], cwd=str(tmp_path),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert run([str(tmp_path / "lto")]).stdout == "lto ok\n"
    run(["gcc", "-flto", "-ffat-lto-objects", "-c", "l.c", "-o", "fat.o"], cwd=str(tmp_path))
    exe = gcc_link(tmp_path, "fat", ["-fno-lto", "fat.o"], "ldpy")
    assert run([exe]).stdout == "lto ok\n"


def test_freestanding_entry_and_defsym(tmp_path):
    s = asm(tmp_path, "s", ".globl my_entry\nmy_entry:\n mov $60, %eax\n mov $answer, %edi\n syscall\n")
    r = ldpy(["-nostdlib", "-e", "my_entry", "--defsym", "answer=40+2", "-o", "out", s], tmp_path)
    assert r.returncode == 0, r.stderr
    assert run([str(tmp_path / "out")], check=False).returncode == 42


def test_response_file_and_archive_extraction(tmp_path):
    used = compile_c(tmp_path, "used", "int used_fn(void){return 3;}\n")
    unused = compile_c(tmp_path, "unused", "int unused_fn(void){return 4;}\n")
    run(["ar", "rcs", str(tmp_path / "libpick.a"), used, unused])
    s = asm(tmp_path, "s", ".globl _start\n_start:\n call used_fn\n mov %eax, %edi\n mov $60, %eax\n syscall\n")
    (tmp_path / "args.rsp").write_text(f'-o "out" {s} -L. -lpick\n')
    r = ldpy(["@args.rsp"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert run([str(tmp_path / "out")], check=False).returncode == 3
    nm = run(["nm", str(tmp_path / "out")]).stdout
    assert "used_fn" in nm and "unused_fn" not in nm
    # -u pulls the other member too
    r = ldpy(["-o", "out2", s, "-u", "unused_fn", "-L.", "-lpick"], tmp_path)
    assert r.returncode == 0 and "unused_fn" in run(["nm", str(tmp_path / "out2")]).stdout


def test_start_group_resolves_mutual_dependencies(tmp_path):
    a = compile_c(tmp_path, "a", "int b_fn(void);\nint a_fn(void){return b_fn()+1;}\n")
    b = compile_c(tmp_path, "b", "int c_fn(void);\nint b_fn(void){return c_fn()+1;}\n")
    c = compile_c(tmp_path, "c", "int a_val = 5;\nint c_fn(void){return 5;}\n")
    run(["ar", "rcs", str(tmp_path / "liba.a"), a])
    run(["ar", "rcs", str(tmp_path / "libbc.a"), b, c])
    s = asm(tmp_path, "s", ".globl _start\n_start:\n call a_fn\n mov %eax, %edi\n mov $60, %eax\n syscall\n")
    r = ldpy(["-o", "out", s, "libbc.a", "liba.a"], tmp_path)
    assert r.returncode == 1 and "b_fn" in r.stderr       # without a group: order matters
    r = ldpy(["-o", "out", s, "--start-group", "libbc.a", "liba.a", "--end-group"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert run([str(tmp_path / "out")], check=False).returncode == 7


def test_version_and_help():
    r = subprocess.run([sys.executable, "-m", "ldpy", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("GNU ld (ldpy")
    r = subprocess.run([sys.executable, "-m", "ldpy", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--start-group" in r.stdout


def test_warning_symbols(tmp_path):
    """"Linkers" part 17: .gnu.warning.SYM warns at each object that references SYM."""
    lib = asm(tmp_path, "lib", '.globl old_api\nold_api: ret\n'
                               '.section .gnu.warning.old_api\n.string "old_api is deprecated; use new_api"\n')
    user = asm(tmp_path, "user", START + " call old_api\n")
    r = ldpy(["-o", "out", user, lib], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "user.o:(.text+0x" in r.stderr and "warning: old_api is deprecated; use new_api" in r.stderr
    assert ".gnu.warning" not in run(["readelf", "-S", str(tmp_path / "out")]).stdout
    r = ldpy(["-o", "out2", user, lib, "--fatal-warnings"], tmp_path)
    assert r.returncode == 1 and not (tmp_path / "out2").exists()


def _nm_set(path, hidden=()):
    """(nm letter, name); the names in `hidden` get the letter 'h': ld.bfd 2.40 keeps
    hidden definitions GLOBAL in executables, ldpy makes them local as gold, lld and
    mold do (tests/test_symtab.py)."""
    out = run(["nm", str(path)], check=False).stdout
    return sorted(("h" if l.split()[-1] in hidden else l.split()[-2], l.split()[-1])
                  for l in out.splitlines() if l.strip())


def _global_hidden(path):
    rows = (l.split() for l in run(["readelf", "-sW", str(path)]).stdout.splitlines())
    return {r[7] for r in rows if len(r) > 7 and r[4] in ("GLOBAL", "WEAK") and r[5] in ("HIDDEN", "INTERNAL")
            and r[6] != "UND"}


@pytest.mark.parametrize("opt", ["-s", "-S", "-x", "-X"])
def test_strip_options_match_bfd(tmp_path, opt):
    """nm shows the same symbols (names and kinds) as for ld.bfd's output."""
    (tmp_path / "h.c").write_text('#include <stdio.h>\nstatic int helper(int x){return x+1;}\n'
                                  'int main(void){printf("%d\\n", helper(1));return 0;}\n')
    run(["gcc", "-g", "-O0", "-c", "h.c"], cwd=str(tmp_path))
    mine = gcc_link(tmp_path, "m", ["-static", "h.o", "-Wl," + opt], "ldpy")
    ref = gcc_link(tmp_path, "r", ["-static", "h.o", "-Wl," + opt], "bfd")
    hidden = _global_hidden(ref)
    assert _nm_set(mine, hidden) == _nm_set(ref, hidden)
    assert run([mine]).stdout == "2\n"
    if opt in ("-s", "-S"):
        assert ".debug_info" not in run(["readelf", "-S", mine]).stdout


def test_trace_and_trace_symbol(tmp_path):
    a = compile_c(tmp_path, "a", "int shared_thing = 1;\n")
    s = asm(tmp_path, "s", START + " mov shared_thing(%rip), %eax\n")
    run(["ar", "rcs", str(tmp_path / "liba.a"), a])
    r = ldpy(["-t", "-t", "-y", "shared_thing", "-o", "out", s, "liba.a"], tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert s in lines and "liba.a" in lines and "liba.a(a.o)" in lines
    assert f"ldpy: {s}: reference to shared_thing" in lines
    assert "ldpy: liba.a(a.o): definition of shared_thing" in lines


def test_map_file(tmp_path):
    (tmp_path / "h.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    exe = gcc_link(tmp_path, "h", ["-static", "h.c", "-Wl,-Map=" + str(tmp_path / "h.map")], "ldpy")
    text = (tmp_path / "h.map").read_text()
    assert "Archive member included to satisfy reference by file (symbol)" in text
    assert "libc.a(ioputs.o)" in text and "(puts)" in text
    sections = {}
    for line in run(["readelf", "-SW", exe]).stdout.splitlines():
        m = line.split("]", 1)
        if len(m) == 2 and m[1].split() and m[1].split()[0].startswith("."):
            p = m[1].split()
            sections[p[0]] = (int(p[2], 16), int(p[4], 16))
    for name in (".text", ".rodata", ".data", ".bss"):
        addr, size = sections[name]
        assert f"{name:15} 0x{addr:016x} {size:#10x}" in text, name
    main_addr = int(run(["nm", exe]).stdout.split(" T main")[0].split()[-1], 16)
    assert f"0x{main_addr:016x}                main\n" in text
    r = run(["gcc", "-static", str(tmp_path / "h.c"), "-o", str(tmp_path / "h2"), "-Wl,-M", "-B", shim_dir()])
    assert "Linker script and memory map" in r.stdout


def test_undefined_reference_messages(tmp_path):
    """Every referencing function is named, C++ names are demangled, and near names or
    a name with the other language linkage give a hint."""
    (tmp_path / "m.cpp").write_text("int helper(int);\nint compute_totl(int);\n"
                                    "int other() { return compute_totl(3); }\n"
                                    "int main() { return helper(1) + compute_totl(2) + other(); }\n")
    (tmp_path / "h.c").write_text("int helper(int x){return x;}\nint compute_total(int x){return x;}\n")
    run(["gcc", "-c", "h.c"], cwd=str(tmp_path))
    run(["g++", "-c", "m.cpp"], cwd=str(tmp_path))
    r = subprocess.run(["g++", "m.o", "h.o", "-o", "x", "-B", shim_dir()], cwd=str(tmp_path),
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith("ldpy: error:")]
    assert any("m.o:(.text+0x" in l and "in function 'main'" in l and "'helper(int)'" in l
               and 'extern "C"' in l for l in lines), lines
    totl = [l for l in lines if "compute_totl(int)" in l]
    assert len(totl) == 2 and {"in function 'main'" in l for l in totl} == {True, False}
    assert all("did you mean 'compute_total'" in l for l in totl)
    assert not (tmp_path / "x").exists()


def test_warn_common_and_retain_symbols_file(tmp_path):
    (tmp_path / "c1.c").write_text("int shared_c;\n")
    (tmp_path / "c2.c").write_text("int shared_c;\nint shared_c2 = 1;\n")
    (tmp_path / "c3.c").write_text("extern int shared_c;\nlong shared_c2;\nint main(void){return shared_c;}\n")
    run(["gcc", "-fcommon", "-c", "c1.c", "c2.c", "c3.c"], cwd=str(tmp_path))
    r = run(["gcc", "c1.o", "c2.o", "c3.o", "-o", "cc", "-Wl,--warn-common", "-B", shim_dir()], cwd=str(tmp_path))
    assert "multiple common of 'shared_c'" in r.stderr
    assert "common of 'shared_c2' overridden by definition" in r.stderr
    (tmp_path / "keep.txt").write_text("main\nshared_c\n")
    exe = gcc_link(tmp_path, "cr", ["c1.o", "c3.o", "-Wl,--retain-symbols-file=" + str(tmp_path / "keep.txt")],
                   "ldpy")
    ref = gcc_link(tmp_path, "crb", ["c1.o", "c3.o", "-Wl,--retain-symbols-file=" + str(tmp_path / "keep.txt")],
                   "bfd")
    assert [l.split()[-2:] for l in run(["nm", exe]).stdout.splitlines()] == \
        [l.split()[-2:] for l in run(["nm", ref]).stdout.splitlines()] == [["T", "main"], ["B", "shared_c"]]


def test_cref_matches_bfd_for_puts(tmp_path):
    (tmp_path / "h.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    run(["gcc", "-c", "h.c"], cwd=str(tmp_path))
    outs = {}
    for linker in ("ldpy", "bfd"):
        sel = ["-B", shim_dir()] if linker == "ldpy" else ["-fuse-ld=bfd"]
        r = run(["gcc", "-static", "h.o", "-o", "x-" + linker, "-Wl,--cref", *sel], cwd=str(tmp_path))
        lines = r.stdout.splitlines()
        i = next(k for k, l in enumerate(lines) if l.startswith("puts "))
        outs[linker] = lines[i:i + 2]
    assert outs["ldpy"] == outs["bfd"]
    assert outs["ldpy"][0].endswith("libc.a(ioputs.o)") and outs["ldpy"][1].strip() == "h.o"


def test_warn_once_section_align_memory_usage(tmp_path):
    (tmp_path / "m.c").write_text("int missing(void);\nint f(void){return missing();}\n"
                                  "int main(void){return missing() + f();}\n")
    run(["gcc", "-c", "m.c"], cwd=str(tmp_path))
    r = subprocess.run(["gcc", "m.o", "-o", "x", "-Wl,--warn-once", "-B", shim_dir()], cwd=str(tmp_path),
                       capture_output=True, text=True)
    assert len([l for l in r.stderr.splitlines() if "undefined reference to 'missing'" in l]) == 1
    r = subprocess.run(["gcc", "m.o", "-o", "x", "-B", shim_dir()], cwd=str(tmp_path), capture_output=True, text=True)
    assert len([l for l in r.stderr.splitlines() if "undefined reference to 'missing'" in l]) == 2
    (tmp_path / "h.c").write_text("int main(void){return 0;}\n")
    r = run(["gcc", "-static", "h.c", "-o", "h", "-Wl,--warn-section-align", "-Wl,--print-memory-usage",
             "-B", shim_dir()], cwd=str(tmp_path))
    assert "warning: start of section" in r.stderr and "changed by" in r.stderr
    assert "Memory region         Used Size  Region Size  %age Used" in r.stdout


RUST_V0 = ("_RNCINkXs25_NgCsbmNqQUJIY6D_4core5sliceINyB9_4IterhENuNgNoBb_4iter8iterator8Iterator9"
           "rpositionNCNgNpB9_6memchr7memrchrs_0E0Bb_")


def test_rust_v0_names_are_demangled(tmp_path):
    """An undefined Rust v0 symbol is named as rustc-demangle's short form does
    (what lld and mold print), and left alone with --no-demangle."""
    compile_c(tmp_path, "r", f"void {RUST_V0}(void);\nint main(void) {{ {RUST_V0}(); return 0; }}\n")
    r = ldpy(["-e", "main", "r.o", "-o", "r"], tmp_path)
    assert r.returncode == 1
    assert ("undefined reference to '<core::slice::Iter<u8> as core::iter::iterator::Iterator>::rposition::"
            "<core::slice::memchr::memrchr::{closure#1}>::{closure#0}'") in r.stderr, r.stderr
    r = ldpy(["--no-demangle", "-e", "main", "r.o", "-o", "r"], tmp_path)
    assert f"undefined reference to '{RUST_V0}'" in r.stderr
