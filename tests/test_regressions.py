"""Bugs found while bringing ldpy up, each pinned by a real link."""
import os

from linkutil import HERE, gcc_link, run


def test_static_cxx_exceptions_without_eh_frame_hdr(tmp_path):
    """gcc -static passes no --eh-frame-hdr: libgcc then finds FDEs through the
    frames crtbeginT.o registers, walking .eh_frame from __EH_FRAME_BEGIN__ to the
    first zero word. Alignment padding between inputs must not look like one."""
    (tmp_path / "a.cpp").write_text(
        '#include <cstdio>\n#include <stdexcept>\nvoid thrower(int);\n'
        'int main(){try{thrower(3);}catch(const std::exception&e){std::printf("caught %s\\n", e.what());}'
        'return 0;}\n')
    (tmp_path / "b.cpp").write_text(
        '#include <stdexcept>\nvoid thrower(int x){if(x>2) throw std::runtime_error("boom");}\n')
    for opt in ("-O0", "-O2 -g"):
        exe = gcc_link(tmp_path, "x", ["-static", *opt.split(), "a.cpp", "b.cpp"], "ldpy", "g++")
        assert run([exe]).stdout == "caught boom\n"


def test_merge_section_with_relocations_is_not_merged(tmp_path):
    """SHF_MERGE sections that carry relocations (constant pools of addresses) keep
    every copy: identical bytes with different relocation targets are not equal."""
    asm = """
        .section .rodata.cst8,"aM",@progbits,8
        .p2align 3
    slot_a: .quad target_a
    slot_b: .quad target_b
        .text
        .globl get_a, get_b
    get_a: mov slot_a(%rip), %rax
        ret
    get_b: mov slot_b(%rip), %rax
        ret
        .data
        .globl target_a, target_b
    target_a: .quad 11
    target_b: .quad 22
    """
    (tmp_path / "p.s").write_text(asm)
    (tmp_path / "m.c").write_text('#include <stdio.h>\nlong *get_a(void); long *get_b(void);\n'
                                  'int main(void){printf("%ld %ld\\n", *get_a(), *get_b());return 0;}\n')
    exe = gcc_link(tmp_path, "m", ["-no-pie", "m.c", "p.s"])
    assert run([exe]).stdout == "11 22\n"


def test_build_id_hashers_agree():
    """Small images hash with CPython's built-in sha1/md5, big ones with OpenSSL's: same ids."""
    import hashlib
    from ldpy.synthetic.notes import _hasher
    data = bytes(range(256)) * 64
    for name in ("sha1", "md5"):
        assert _hasher(name, 100)(data).digest() == getattr(hashlib, name)(data).digest()
        assert _hasher(name, 10 << 20)(data).digest() == getattr(hashlib, name)(data).digest()


def test_big_output_build_id_is_a_hash_tree_whatever_the_thread_count(tmp_path):
    """From TREE_MIN bytes the build-id is the hash of the TREE_CHUNK chunks' hashes
    (as lld and mold make it, so that threads can share it): checked against the
    file's bytes, and the same with one process as with two."""
    import hashlib
    import re
    from ldpy.synthetic.notes import TREE_MIN, TREE_CHUNK
    (tmp_path / "big.c").write_text(
        f"char big[{TREE_MIN + TREE_CHUNK // 2}] = {{1}};\n"
        "int main(void) { return big[0] - 1; }\n")
    ids = []
    for threads in (1, 2):
        for style in ("sha1", "md5"):
            exe = gcc_link(tmp_path, f"x{threads}{style}", ["big.c", f"-Wl,--build-id={style}",
                                                              f"-Wl,--threads={threads}"], "ldpy")
            assert run([exe]).returncode == 0
            note = run(["readelf", "-n", exe]).stdout
            bid = bytes.fromhex(re.search(r"Build ID: ([0-9a-f]+)", note).group(1))
            data = bytearray(open(exe, "rb").read())
            assert len(data) >= TREE_MIN
            at = data.find(bid)
            data[at:at + len(bid)] = bytes(len(bid))
            new = getattr(hashlib, style)
            tree = new(b"".join(new(data[o:o + TREE_CHUNK]).digest()
                                for o in range(0, len(data), TREE_CHUNK))).digest()
            assert bid == tree != new(data).digest()
            ids.append(bid)
    assert ids[:2] == ids[2:]


def test_orphan_written_by_a_later_input_is_writable(tmp_path):
    """An orphan whose first input is read-only and a later one writable goes to a
    writable segment (ld.bfd places orphans by the flags of all inputs): gcc -fopenmp
    offload tables (.gnu.offload_funcs) look like this, and storing crashed."""
    (tmp_path / "a.s").write_text(
        '.section .myorph,"a"\n.text\n.globl main\nmain:\n'
        'leaq p(%rip), %rax\nmovq $7, (%rax)\nmovq p(%rip), %rax\nsub $7, %eax\nret\n'
        '.section .note.GNU-stack,"",@progbits\n')
    (tmp_path / "b.s").write_text(
        '.section .myorph,"aw"\n.globl p\np: .quad 0\n.section .note.GNU-stack,"",@progbits\n')
    exe = gcc_link(tmp_path, "x", ["-no-pie", "a.s", "b.s"], "ldpy")
    assert run([exe]).returncode == 0
    flags = [l.split() for l in run(["readelf", "-SW", exe]).stdout.splitlines() if ".myorph" in l]
    assert flags and "WA" in flags[0]


def test_gnu_linkonce_sections_keep_the_first_copy(tmp_path):
    """.gnu.linkonce.* sections (the pre-COMDAT way to deduplicate): of two inputs
    with the same section name, the first object's copy is linked and the other
    dropped, as GNU ld does; an object with no such section is not scanned for them."""
    def asm(value):
        return f"""
        .section .gnu.linkonce.t.answer,"ax",@progbits
        .globl answer
        .weak answer
    answer: mov ${value}, %eax
        ret
        """
    (tmp_path / "one.s").write_text(asm(41))
    (tmp_path / "two.s").write_text(asm(42))
    (tmp_path / "main.c").write_text('#include <stdio.h>\nint answer(void);\n'
                                     'int main(void){printf("%d\\n", answer());return 0;}\n')
    for order, want in ((["one.s", "two.s"], "41\n"), (["two.s", "one.s"], "42\n")):
        exe = gcc_link(tmp_path, "x" + order[0][0], ["main.c", *order], "ldpy", "gcc")
        assert run([exe]).stdout == want
        text = run(["objdump", "-d", "-j", ".text", exe]).stdout
        assert text.count("<answer>:") == 1
        assert "$0x29" not in text if want == "42\n" else "$0x2a" not in text


def test_merged_strings_dedup_and_unterminated_string(tmp_path):
    """C strings of SHF_MERGE|SHF_STRINGS sections are merged across inputs (one copy
    of each, tails not shared as ld.bfd does at -O0), empty ones and strings of
    4-byte units are kept right, and a last string without its NUL gets one, as in
    ld.bfd."""
    import subprocess
    import sys
    a = """
        .section .rodata.str1.1,"aMS",@progbits,1
    sa: .asciz "hello"
    sb: .asciz "world"
        .section .rodata.str1.8,"aMS",@progbits,1
        .section .rodata.str2.2,"aMS",@progbits,2
        .section .rodata.str4.4,"aMS",@progbits,4
        .p2align 2
        .globl wide
    wide: .long 0x41, 0x42, 0
        .text
        .globl get_a
    get_a: lea sa(%rip), %rax
        ret
    """
    b = """
        .section .rodata.str1.1,"aMS",@progbits,1
    sc: .asciz "world"
    sd: .asciz "hello"
        .text
        .globl get_b
    get_b: lea sc(%rip), %rax
        ret
    """
    (tmp_path / "a.s").write_text(a)
    (tmp_path / "b.s").write_text(b)
    (tmp_path / "m.c").write_text('#include <stdio.h>\nconst char *get_a(void); const char *get_b(void);\n'
                                  'extern const int wide[];\n'
                                  'int main(void){printf("%s %s %c%c\\n", get_a(), get_b(), wide[0], wide[1]);return 0;}\n')
    exe = gcc_link(tmp_path, "m", ["m.c", "a.s", "b.s"])
    assert run([exe]).stdout == "hello world AB\n"
    run(["objcopy", "-O", "binary", "--only-section=.rodata", exe, "rodata.bin"], cwd=tmp_path)
    rodata = (tmp_path / "rodata.bin").read_bytes()
    assert rodata.count(b"hello\0") == 1 and rodata.count(b"world\0") == 1
    (tmp_path / "bad.s").write_text('.section .rodata.str1.1,"aMS",@progbits,1\n.ascii "abc"\n'
                                    '.text\n.globl _start\n_start: ret\n')
    run(["as", "bad.s", "-o", "bad.o"], cwd=tmp_path)
    # a last string without its NUL gets one, as ld.bfd's merge gives it (ldpy refused
    # such a section before; ld.bfd links it)
    for linker, out in ((None, "bad"), ("ld.bfd", "bad-bfd")):
        cmd = [sys.executable, "-m", "ldpy"] if linker is None else [linker]
        r = subprocess.run([*cmd, "bad.o", "-o", out], cwd=tmp_path, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        run(["objcopy", "-O", "binary", "--only-section=.rodata", out, out + ".bin"], cwd=tmp_path)
        assert (tmp_path / (out + ".bin")).read_bytes() == b"abc\0", linker


def test_server_held_objects_keep_their_string_pieces(tmp_path, monkeypatch):
    """A link server's object (input/warm.prepare) has its mergeable sections split
    once (sections.split_held); a link that takes it merges from those pieces, with
    the result of splitting them itself (one whose last string has no NUL too: the
    NUL is added, as ld.bfd's merge adds it)."""
    import numpy as np
    from ldpy import sections
    from ldpy.input import warm
    from ldpy.input.object import ObjectFile
    from ldpy.symbols import global_columns
    (tmp_path / "s.s").write_text(
        '.section .rodata.str1.1,"aMS",@progbits,1\n.asciz "hello"\n.asciz "world"\n.asciz "hello"\n'
        '.section .rodata.cst4,"aM",@progbits,4\n.long 1, 2, 1\n'
        '.section .rodata.bad,"aMS",@progbits,1\n.ascii "abc"\n'
        '.text\n.globl f, g\n.hidden g\nf: call g\ng: ret\n')
    run(["as", "s.s", "-o", "s.o"], cwd=tmp_path)
    data = (tmp_path / "s.o").read_bytes()

    def merged(f):
        out = {}
        for sec in f.sections:
            if sec is not None and sec.name in (".rodata.str1.1", ".rodata.cst4", ".rodata.bad"):
                m = sections.MergedSection(sec.name, sec.flags, sec.entsize)
                m.add(sec)
                m.finish()
                out[sec.name] = (m.data.tobytes(), sec.merge[0].tolist(), sec.merge[1].tolist())
        return out
    plain = merged(ObjectFile("s.o", data))
    held = warm.prepare(ObjectFile("s.o", data, comdat=None))
    assert held.held_columns == global_columns(ObjectFile("s.o", data))
    names = {held.sections[i].name for i in held.merge_pieces}
    assert names == {".rodata.str1.1", ".rodata.cst4", ".rodata.bad"}
    monkeypatch.setattr(sections, "split_pieces", lambda sec: (_ for _ in ()).throw(AssertionError(sec.name)))
    assert merged(held) == plain
    assert plain[".rodata.str1.1"][0] == b"hello\0world\0" and plain[".rodata.cst4"][0] == \
        np.array([1, 2], "<u4").tobytes()


def test_global_names_read_in_one_split_or_one_by_one():
    """Global symbol names that lie one after the other in the string table are cut
    by one split (object._names_in_a_row); any other layout (a shared tail, another
    order) is left to strings_at, and both give the same names."""
    import numpy as np
    from ldpy.input.object import _names_in_a_row, strings_at
    names = [b"alpha", b"beta", b"gamma_long_name", b"d", b"e", b"f", b"g", b"h", b"i"]
    table = b"\0local\0" + b"".join(n + b"\0" for n in names)
    offs = np.cumsum([7] + [len(n) + 1 for n in names[:-1]])
    assert _names_in_a_row(table, offs) == names == strings_at(table, offs.tolist(), "t", "name")
    shared = np.append(offs[:-1], offs[2] + len(b"gamma_"))     # "long_name": a tail of another
    assert _names_in_a_row(table, shared) is None
    assert strings_at(table, shared.tolist(), "t", "name")[-1] == b"long_name"
    assert _names_in_a_row(table, offs[::-1]) is None
    assert _names_in_a_row(table[:-1], offs) is None                # (no NUL at the end)
