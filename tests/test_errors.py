"""ldpy called directly on broken links and broken inputs: exit status 1,
exactly one `ldpy: error:` line naming the file (and the place, where there
is one), no Python traceback, and no output file left behind.

These always run ldpy (LDPY_TEST_LINKER does not apply); each one first
checks with ld.bfd that the input really is an error for GNU ld too."""
import os

import pytest

from e2e_util import ldpy_command, readelf, relocation_offsets, run, write

START = """\
        .text
        .globl  _start
_start: call    main
        mov     $60, %eax
        xor     %edi, %edi
        syscall
        .section .note.GNU-stack,"",@progbits
"""


def ldpy(args, cwd):
    return run([*ldpy_command(), *args], cwd=cwd, check=False, timeout=300)


def bfd(args, cwd):
    """The same link with GNU ld: it must fail too (the test's premise)."""
    r = run(["ld.bfd", *args], cwd=cwd, check=False)
    assert r.returncode != 0, f"ld.bfd accepted {args}: the test input is not an error"
    for f in ("out", "out.bfd"):
        if os.path.exists(os.path.join(cwd, f)):
            os.unlink(os.path.join(cwd, f))
    return r


def check_failure(r, out_path, *needles):
    """The one-line error contract; returns the error line."""
    assert "Traceback (most recent call last)" not in r.stderr + r.stdout, r.stderr
    assert r.returncode == 1, f"status {r.returncode}\nstderr: {r.stderr}"
    errors = [l for l in r.stderr.splitlines() if l.startswith("ldpy: error:")]
    assert len(errors) == 1, r.stderr
    for n in needles:
        assert n in errors[0], f"{n!r} not in {errors[0]!r}"
    assert not os.path.exists(out_path), f"{out_path} was left behind"
    return errors[0]


def cc(tmp, name, code, *flags):
    write(tmp, name + ".c", code)
    run(["gcc", "-c", *flags, name + ".c", "-o", name + ".o"], cwd=tmp)
    return name + ".o"


def asm(tmp, name, text, *flags):
    write(tmp, name + ".s", text)
    run(["as", *flags, name + ".s", "-o", name + ".o"], cwd=tmp)
    return name + ".o"


def link_args(*inputs, out="out"):
    return ["-static", "-o", out, *inputs]


# --------------------------------------------------------------------------

@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_undefined_symbol(tmp_path, opt):
    start = asm(tmp_path, "start", START)
    main = cc(tmp_path, "main", "int foo(void);\nint main(void) { return foo() + 1; }\n", opt,
              "-fno-reorder-functions")
    (off,) = relocation_offsets(tmp_path / main, "R_X86_64_PLT32", "foo")
    args = link_args(start, main)
    bfd(args, tmp_path)
    line = check_failure(ldpy(args, tmp_path), tmp_path / "out", "undefined reference", "foo",
                         f"main.o:(.text+{off:#x})")
    assert "'foo'" in line or "`foo'" in line


def test_undefined_symbol_through_gcc(tmp_path):
    """The same error reached the usual way, through gcc's collect2."""
    from e2e_util import shim_dir
    write(tmp_path, "u.c", "int missing_function(int);\nint main(void) { return missing_function(3); }\n")
    r = run(["gcc", "-static", "-B", shim_dir(), "u.c", "-o", "out"], cwd=tmp_path, check=False)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    errors = [l for l in r.stderr.splitlines() if l.startswith("ldpy: error:")]
    assert len(errors) == 1 and "missing_function" in errors[0] and "undefined reference" in errors[0], r.stderr
    assert not os.path.exists(tmp_path / "out")


def test_multiple_definition(tmp_path):
    start = asm(tmp_path, "start", START)
    main = cc(tmp_path, "main", "int main(void) { return 0; }\n")
    a = cc(tmp_path, "a", "int dup_thing = 1;\nint fa(void) { return dup_thing; }\n")
    b = cc(tmp_path, "b", "int dup_thing = 2;\nint fb(void) { return dup_thing; }\n")
    args = link_args(start, main, a, b)
    bfd(args, tmp_path)
    line = check_failure(ldpy(args, tmp_path), tmp_path / "out", "multiple definition", "dup_thing")
    assert "a.o" in line and "b.o" in line


def test_multiple_definition_of_function(tmp_path):
    start = asm(tmp_path, "start", START)
    a = cc(tmp_path, "one", "int main(void) { return 0; }\nint twice(void) { return 1; }\n")
    b = cc(tmp_path, "two", "int twice(void) { return 2; }\n")
    args = link_args(start, a, b)
    bfd(args, tmp_path)
    line = check_failure(ldpy(args, tmp_path), tmp_path / "out", "multiple definition", "twice")
    assert "one.o" in line and "two.o" in line


@pytest.mark.parametrize("content", [b"junk\n", b"\x00\x01\x02\x03garbage\xff\xfe" * 20,
                                     b"\x7fELF\x02\x01\x01\x00junk", b"!<arch>\njunk"],
                         ids=["text", "binary", "elf-magic", "ar-magic"])
def test_garbage_input(tmp_path, content):
    start = asm(tmp_path, "start", START.replace("call    main", "nop"))
    (tmp_path / "x.o").write_bytes(content)
    args = link_args(start, "x.o")
    bfd(args, tmp_path)
    check_failure(ldpy(args, tmp_path), tmp_path / "out", "x.o")


@pytest.mark.parametrize("size", [100, 20, 64])
def test_truncated_object(tmp_path, size):
    start = asm(tmp_path, "start", START)
    main = cc(tmp_path, "main", "int main(void) { return 0; }\n")
    data = (tmp_path / main).read_bytes()
    (tmp_path / "cut.o").write_bytes(data[:size])
    args = link_args(start, "cut.o")
    bfd(args, tmp_path)
    check_failure(ldpy(args, tmp_path), tmp_path / "out", "cut.o")


@pytest.mark.parametrize("where", ["member-data", "member-header", "symbol-index"])
def test_truncated_archive(tmp_path, where):
    start = asm(tmp_path, "start", START)
    main = cc(tmp_path, "main", "int x(void);\nint main(void) { return x(); }\n")
    member = cc(tmp_path, "member", "int x(void) { return 1; }\n")
    run(["ar", "rcs", "libfull.a", member], cwd=tmp_path)
    data = (tmp_path / "libfull.a").read_bytes()
    index_size = int(data[8 + 48:8 + 58].decode().strip())
    first_member = 8 + 60 + index_size + (index_size & 1)
    cut = {"member-data": len(data) - 40, "member-header": first_member + 30, "symbol-index": 8 + 60 + 6}[where]
    (tmp_path / "libcut.a").write_bytes(data[:cut])
    args = link_args(start, main, "libcut.a")
    bfd(args, tmp_path)
    check_failure(ldpy(args, tmp_path), tmp_path / "out", "libcut.a")


@pytest.mark.parametrize("option", ["--no-such-option-xyz", "--entry-point-please=main", "-Wl,-static"])
def test_unknown_option(tmp_path, option):
    start = asm(tmp_path, "start", START.replace("call    main", "nop"))
    args = [option, *link_args(start)]
    bfd(args, tmp_path)
    check_failure(ldpy(args, tmp_path), tmp_path / "out", option.split("=")[0].split(",")[0])


@pytest.mark.parametrize("missing", ["nothere.o", "-lnosuchlib_xyz", "dir/also_missing.a"])
def test_missing_input(tmp_path, missing):
    start = asm(tmp_path, "start", START.replace("call    main", "nop"))
    args = link_args(start, missing)
    bfd(args, tmp_path)
    name = missing[2:] if missing.startswith("-l") else missing
    check_failure(ldpy(args, tmp_path), tmp_path / "out", name)


@pytest.mark.parametrize("insn,rtype,value", [
    ("movl $far, %eax", "R_X86_64_32", "0x100000000"),
    ("movq $far, %rax", "R_X86_64_32S", "0x80000000"),
    ("call far", "R_X86_64_PLT32", "0x100000000"),
    ("lea far(%rip), %rax", "R_X86_64_PC32", "0x100000000"),
])
def test_relocation_overflow(tmp_path, insn, rtype, value):
    obj = asm(tmp_path, "ovf", f".text\n.globl _start\n_start: nop\n {insn}\n mov $60, %eax\n syscall\n")
    (off,) = relocation_offsets(tmp_path / obj, rtype, "far")
    args = [f"--defsym=far={value}", *link_args(obj)]
    bfd(args, tmp_path)
    check_failure(ldpy(args, tmp_path), tmp_path / "out", f"ovf.o:(.text+{off:#x})", rtype, "far")
    # the largest value that fits links fine
    fits = {"R_X86_64_32": "0xffffffff", "R_X86_64_32S": "0x7fffffff"}.get(rtype)
    if fits:
        r = ldpy([f"--defsym=far={fits}", *link_args(obj, out="ok")], tmp_path)
        assert r.returncode == 0 and os.path.exists(tmp_path / "ok"), r.stderr


def test_elf32_input(tmp_path):
    obj = asm(tmp_path, "s32", ".text\n.globl helper32\nhelper32: ret\n", "--32")
    assert "ELF32" in readelf("-h", tmp_path / obj)
    start = asm(tmp_path, "start", START.replace("call    main", "nop"))
    args = link_args(start, obj)
    bfd(args, tmp_path)
    check_failure(ldpy(args, tmp_path), tmp_path / "out", "s32.o")


@pytest.mark.parametrize("machine", [183, 62 + 1000, 3], ids=["aarch64", "bogus", "i386-in-elf64"])
def test_foreign_machine(tmp_path, machine):
    start = asm(tmp_path, "start", START)
    main = cc(tmp_path, "main", "int main(void) { return 0; }\n")
    data = bytearray((tmp_path / main).read_bytes())
    data[18:20] = machine.to_bytes(2, "little")          # e_machine
    (tmp_path / "foreign.o").write_bytes(bytes(data))
    args = link_args(start, "foreign.o")
    bfd(args, tmp_path)
    check_failure(ldpy(args, tmp_path), tmp_path / "out", "foreign.o")


def test_error_leaves_no_partial_output_after_layout(tmp_path):
    """An error found late (while applying relocations) still removes the
    output, also when a previous output of that name existed."""
    obj = asm(tmp_path, "ovf", ".text\n.globl _start\n_start: movl $far, %eax\n mov $60, %eax\n syscall\n")
    # GNU ld removes an existing output when the link fails
    assert run(["ld.bfd", "--defsym=far=0x1000", *link_args(obj, out="out.bfd")], cwd=tmp_path).returncode == 0
    assert run(["ld.bfd", "--defsym=far=0x100000000", *link_args(obj, out="out.bfd")], cwd=tmp_path,
               check=False).returncode == 1
    assert not os.path.exists(tmp_path / "out.bfd")
    ok = ldpy(["--defsym=far=0x1000", *link_args(obj)], tmp_path)
    assert ok.returncode == 0 and os.path.exists(tmp_path / "out")
    r = ldpy(["--defsym=far=0x100000000", *link_args(obj)], tmp_path)
    check_failure(r, tmp_path / "out", "ovf.o", "R_X86_64_32", "far")


def test_endless_version_script_is_an_error(tmp_path):
    """--version-script=/dev/zero: one line and exit 1, not a read until memory runs out."""
    write(tmp_path, "a.c", "int f(void) { return 1; }\n")
    run(["gcc", "-fPIC", "-c", "a.c"], cwd=tmp_path)
    r = ldpy(["-shared", "a.o", "-o", "a.so", "--version-script=/dev/zero"], tmp_path)
    assert r.returncode == 1 and "/dev/zero: file too large" in r.stderr, r.stderr
    assert not (tmp_path / "a.so").exists()
