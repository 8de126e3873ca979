"""End to end: x86-64 static executables (`gcc -static`) linked by the linker
under test, run, and compared with the same program linked by ld.bfd and with
known output; structure checked with readelf and nm.

LDPY_TEST_LINKER=bfd runs everything with ld.bfd instead, which checks the
tests themselves (see e2e_util.py)."""
import os
import re
import struct

import pytest

from e2e_util import (IS_LDPY, build_id, compile_obj, disassemble, driver_flags,
                      elf_header, function_names_at, gcc_link_argv, ld_direct, link, load_segments,
                      make_archive, nm_address, nm_names, prog, program_headers, readelf,
                      relocations, run, run_both, run_exe, section, section_data, sections,
                      shim_dir, string_dump, symbols, u64s, write)

PAGE = 0x1000


# --------------------------------------------------------------------------
# 1. the driver really links with the linker under test; hello world

def test_gcc_uses_the_linker_under_test(tmp_path):
    """collect2 prints the ld it runs when that ld gets --version: it must be
    the shim's ld (or ld.bfd when validating against GNU ld)."""
    exe = tmp_path / "hello"
    r = run(["gcc", "-static", prog("hello.c"), "-o", exe, *driver_flags(), "-Wl,--version"], cwd=tmp_path)
    ld_lines = [l.split()[0] for l in r.stderr.splitlines() if " -static " in l and " -o " in l]
    assert len(ld_lines) == 1, r.stderr
    if IS_LDPY:
        assert os.path.realpath(ld_lines[0]) == os.path.realpath(os.path.join(shim_dir(), "ld"))
        assert r.stdout.startswith("GNU ld (") and "ldpy" in r.stdout.splitlines()[0]
        got = run(["gcc", "-B", shim_dir(), "-print-prog-name=ld"]).stdout.strip()
        assert os.path.realpath(got) == os.path.realpath(os.path.join(shim_dir(), "ld"))
    else:
        assert os.path.basename(ld_lines[0]) == "ld.bfd"
        assert "GNU Binutils" in r.stdout.splitlines()[0]


def test_hello_world(tmp_path):
    out = run_both(tmp_path, "hello", [prog("hello.c")], ["-O2"])
    assert out == "Hello, static world! 42\n"
    exe = tmp_path / "hello"
    if IS_LDPY:   # README: every output names ldpy in .comment
        assert any(s.startswith("ldpy") for s in string_dump(exe, ".comment"))


def test_output_is_executable(tmp_path):
    exe, _ = link(tmp_path, "hello", [prog("hello.c")])
    assert os.access(exe, os.X_OK)
    mode = os.stat(exe).st_mode
    assert mode & 0o100, oct(mode)


# --------------------------------------------------------------------------
# 2. TLS, IFUNC, constructors and destructors

TLS_EXPECTED = """\
main: sum=61 t_init=42 aligned=7 align_ok=1
main: after set sum=3262 bump=415
thread 0: before=61 after=98 bump=19 same_addr=1 aligned_ok=1 zero_ok=1
thread 1: before=61 after=138 bump=23 same_addr=1 aligned_ok=1 zero_ok=1
thread 2: before=61 after=178 bump=27 same_addr=1 aligned_ok=1 zero_ok=1
thread 3: before=61 after=218 bump=31 same_addr=1 aligned_ok=1 zero_ok=1
main: sum=3262 t_init=1042 distinct=1
"""

# variant: (flags for tls_defs.c and tls_use.c, relocation types they must contain)
TLS_VARIANTS = {
    "local-exec": ("-O2 -fno-pic -ftls-model=local-exec", {"R_X86_64_TPOFF32"}),
    "initial-exec": ("-O2 -fno-pic -ftls-model=initial-exec", {"R_X86_64_GOTTPOFF"}),
    "initial-exec-pic": ("-O2 -fPIC -ftls-model=initial-exec", {"R_X86_64_GOTTPOFF"}),
    "pie-default": ("-O2 -fPIE", {"R_X86_64_GOTTPOFF", "R_X86_64_TPOFF32"}),
    "general-dynamic": ("-O2 -fPIC", {"R_X86_64_TLSGD", "R_X86_64_TLSLD", "R_X86_64_DTPOFF32",
                                       "R_X86_64_PLT32"}),
    "general-dynamic-O0": ("-O0 -fPIC", {"R_X86_64_TLSGD", "R_X86_64_PLT32"}),
    "local-dynamic": ("-O2 -fPIC -ftls-model=local-dynamic", {"R_X86_64_TLSLD", "R_X86_64_DTPOFF32"}),
    "tlsdesc": ("-O2 -fPIC -mtls-dialect=gnu2", {"R_X86_64_GOTPC32_TLSDESC", "R_X86_64_TLSDESC_CALL"}),
    "no-plt": ("-O2 -fPIC -fno-plt", {"R_X86_64_TLSGD", "R_X86_64_GOTPCRELX"}),
    "large-model": ("-O2 -fPIC -mcmodel=large", {"R_X86_64_TLSGD", "R_X86_64_PLTOFF64",
                                                  "R_X86_64_GOTPC64"}),
}


@pytest.mark.parametrize("variant", list(TLS_VARIANTS))
def test_tls_across_objects_and_threads(tmp_path, variant):
    """__thread (.tdata and .tbss) defined in one object, used from others
    compiled for every TLS access model; GD/LD/TLSDESC code sequences of -fPIC
    objects must be relaxed for the static executable."""
    flags, want_relocs = TLS_VARIANTS[variant]
    defs = compile_obj(tmp_path, prog("tls_defs.c"), flags.split())
    use = compile_obj(tmp_path, prog("tls_use.c"), flags.split())
    main = compile_obj(tmp_path, prog("tls_main.c"), ["-O2"])
    have = {t for t, _ in relocations(defs) + relocations(use)}
    assert want_relocs <= have, f"the compiler did not emit {want_relocs - have}"
    out = run_both(tmp_path, "tls", [main, defs, use], ["-pthread"])
    assert out == TLS_EXPECTED

    exe = tmp_path / "tls"
    tls = [s for s in program_headers(exe) if s.type == "TLS"]
    assert len(tls) == 1
    tls = tls[0]
    tdata, tbss = section(exe, ".tdata"), section(exe, ".tbss")
    assert tls.align >= 64 and tls.vaddr % tls.align == 0      # t_aligned is aligned(64)
    assert tls.vaddr == tdata.addr and tls.filesz == tdata.size
    assert tls.memsz >= tdata.size + tbss.size and tls.memsz >= 4096 + 64
    assert "T" in tdata.flags and "T" in tbss.flags and tbss.type == "NOBITS"
    # The GD/LD/TLSDESC sequences were relaxed: these leaf functions call
    # nothing any more (neither __tls_get_addr nor a TLS descriptor).
    for fn in ("use_sum", "use_set", "defs_bump", "use_addr_init", "defs_addr_init"):
        body = disassemble(exe, fn)
        assert "call" not in body and "__tls_get_addr" not in body, body


IFUNC_EXPECTED = """\
direct=1003
pointer=1005
data pointer=1007
other object=1009 table=1011
impl object=1013
resolver ran=1
equal main/other=1 main/data=1 main/table=1
equal main/impl=1
"""


@pytest.mark.parametrize("main_flags,other_flags", [
    ("-fno-pie", "-fno-pie"), ("-fPIE", "-fPIE"), ("-fno-pie", "-fPIC"), ("-fPIC", "-fPIC")])
def test_ifunc(tmp_path, main_flags, other_flags):
    """An IFUNC called directly, through function pointers (code and data
    relocations) and from several objects; its address is the same everywhere."""
    objs = [compile_obj(tmp_path, prog("ifunc_main.c"), ["-O2", main_flags]),
            compile_obj(tmp_path, prog("ifunc_other.c"), ["-O2", other_flags]),
            compile_obj(tmp_path, prog("ifunc_impl.c"), ["-O2", other_flags])]
    assert run_both(tmp_path, "ifunc", objs) == IFUNC_EXPECTED
    exe = tmp_path / "ifunc"
    # Like GNU ld, an output with STT_GNU_IFUNC symbols is marked ELFOSABI_GNU
    # (without it readelf shows the type as "<OS specific>: 10").
    assert elf_header(exe)["OS/ABI"] == "UNIX - GNU"
    assert [s.type for s in symbols(exe) if s.name == "ifunc_add"] == ["IFUNC"]
    assert [s.type for s in symbols(exe) if s.name == "resolve_add"] == ["FUNC"]


CTORS_EXPECTED = """\
preinit a
ctor 101 b
ctor 102 a
ctor 102 b
ctor 202 a (.ctors.65333)
ctor 500 a
ctor default a
ctor 65535 b
ctor b (.ctors)
main
atexit handler
dtor default b
dtor default a
dtor 500 b
dtor 202 a (.dtors.65333)
dtor 102 a
dtor 101 b
"""

CTOR_SOURCES = [prog("ctors_main.c"), prog("ctors_a.c"), prog("ctors_b.c")]


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_constructor_destructor_priorities(tmp_path, opt):
    assert run_both(tmp_path, "ctors", CTOR_SOURCES, [opt]) == CTORS_EXPECTED


def test_init_array_sorted_by_priority(tmp_path):
    """.preinit_array, .init_array and .fini_array hold the entries sorted by
    priority (.init_array.NNNNN and .ctors.(65535-N) merged), then the
    unprioritized ones in command-line order; __init_array_start/_end bracket
    the section."""
    exe, _ = link(tmp_path, "ctors", CTOR_SOURCES, ["-O2"])
    names = function_names_at(exe)

    def ours(sec):
        return [names.get(a, hex(a)) for a in u64s(section_data(exe, sec))
                if names.get(a, "").startswith(("a_", "b_"))]

    assert ours(".preinit_array") == ["a_preinit"]
    assert ours(".init_array") == ["b_ctor_101", "a_ctor_102", "b_ctor_102", "a_ctors_202", "a_ctor_500",
                                   "a_ctor_default", "b_ctor_65535", "b_ctors_plain"]
    assert ours(".fini_array") == ["b_dtor_101", "a_dtor_102", "a_dtors_202", "b_dtor_500",
                                   "a_dtor_default", "b_dtor_default"]
    init = section(exe, ".init_array")
    syms = {s.name: s.value for s in symbols(exe)}
    if "__init_array_start" in syms:
        assert syms["__init_array_start"] == init.addr
        assert syms["__init_array_end"] == init.addr + init.size
    assert all(a != 0 for a in u64s(section_data(exe, ".init_array")))


# --------------------------------------------------------------------------
# 3. C++

CXX_EXPECTED = """\
tl ctor global
caught AppError what=bad token code=2 is ParseError=1 line=42
unwind 0
unwind 1
unwind 2
unwind 3
caught std::exception deep dynamic=8AppError
caught out_of_range
caught invalid_argument
rethrowing
caught int 17
Square area 4 typeid 6Square square? 1 circle? 0
Circle area 3 typeid 6Circle square? 0 circle? 1
typeid equal 1
main accumulate 14 lib accumulate 20
twice abab cdcd
one=1;three=3;two=2;
Counter ctor
main counter 5 lib 101
tl ctor thread
Counter ctor
worker 1 counter 6 lib 101
Counter dtor 101
tl dtor worker1
tl ctor thread
Counter ctor
worker 2 counter 7 lib 101
Counter dtor 101
tl dtor worker2
tl ctor thread
Counter ctor
worker 3 counter 8 lib 101
Counter dtor 101
tl dtor worker3
tl ctor thread
main tracer thread counter 5
tl dtor thread
Counter dtor 101
tl dtor global
"""


@pytest.mark.slow
@pytest.mark.parametrize("flags", ["-O2", "-O0 -g", "-O2 -Wl,--eh-frame-hdr"])
def test_cxx_program(tmp_path, flags):
    """Exceptions across objects and out of libstdc++, RTTI, templates,
    iostream, thread_local objects with constructors/destructors in std::threads."""
    objs = [compile_obj(tmp_path, prog(s), [f for f in flags.split() if not f.startswith("-Wl")])
            for s in ("cxx_main.cpp", "cxx_lib.cpp")]
    out = run_both(tmp_path, "cxx", objs, [f for f in flags.split() if f.startswith("-Wl")] + ["-pthread"],
                   compiler="g++")
    assert out == CXX_EXPECTED


@pytest.mark.slow
def test_cxx_comdat_template_kept_once(tmp_path):
    """Template instantiations emitted (as COMDAT groups) by both objects end
    up once in the executable."""
    objs = [compile_obj(tmp_path, prog(s), ["-O0"]) for s in ("cxx_main.cpp", "cxx_lib.cpp")]
    wanted = ["int twice_shared<int>(int)", "Accumulator<int>::total() const", "Accumulator<int>::add(int const&)"]
    for o in objs:
        defined = nm_names(o, "-C", "--defined-only")
        for w in wanted:
            assert defined.get(w) == ["W"], (o, w)
        assert "COMDAT" in readelf("-g", o)
    exe, _ = link(tmp_path, "cxx", objs, ["-pthread"], compiler="g++")
    assert run_exe(exe).stdout == CXX_EXPECTED
    defs = nm_names(exe, "-C", "--defined-only")
    for w in wanted:
        assert len(defs.get(w, [])) == 1, (w, defs.get(w))
    fsyms = [s for s in symbols(exe) if s.name == "_Z12twice_sharedIiET_S0_"]
    assert len(fsyms) == 1 and fsyms[0].type == "FUNC"


# --------------------------------------------------------------------------
# 4. real static libraries

@pytest.mark.slow
def test_sqlite(tmp_path):
    out = run_both(tmp_path, "sqlite", [prog("sqlite_demo.c")], ["-O2", "-lsqlite3", "-lm", "-lpthread", "-ldl"])
    assert out == ("id=3 name=cherry price=7.0\n"
                   "id=1 name=apple price=1.25\n"
                   "id=2 name=banana price=0.5\n"
                   "n=3 total=8.75 names=apple+banana+cherry\n"
                   "u=APPLE x=5\n"
                   "u=BANANA x=12\n"
                   "bound: 42 bound!\n"
                   "threadsafe=1\n")


def test_zlib(tmp_path):
    out = run_both(tmp_path, "zlib", [prog("zlib_demo.c")], ["-O2", "-lz"])
    assert out == ("crc32=414fa339\n"
                   "adler32=5bdc0fda\n"
                   "round trip ok=1 len=100000 smaller=1\n"
                   "crc32 data=3bf3ecce\n")


@pytest.mark.slow
def test_libcrypto_sha256(tmp_path):
    out = run_both(tmp_path, "sha", [prog("sha256_demo.c")], ["-O2", "-lcrypto", "-lpthread", "-ldl"])
    assert out == (
        'SHA256("abc")=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n'
        'SHA256("")=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n'
        'SHA256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")='
        '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1\n'
        'SHA1("abc")=a9993e364706816aba3e25717850c26c9cd0d89d\n'
        'MD5("abc")=900150983cd24fb0d6963f7d28e17f72\n')


# --------------------------------------------------------------------------
# 5. structure

@pytest.fixture
def hello(tmp_path):
    exe, _ = link(tmp_path, "hello", [prog("hello.c")], ["-O2", "-Wl,--build-id", "-Wl,--eh-frame-hdr"])
    assert run_exe(exe).stdout == "Hello, static world! 42\n"
    return str(exe)


def test_elf_header(hello):
    h = elf_header(hello)
    assert h["Class"] == "ELF64"
    assert h["Data"].startswith("2's complement, little endian")
    assert h["Type"].startswith("EXEC")
    assert h["Machine"] == "Advanced Micro Devices X86-64"
    assert h["OS/ABI"] in ("UNIX - System V", "UNIX - GNU")


def test_load_segments_like_separate_code(hello):
    """Four PT_LOADs, R / R E / R / RW, as ld's -z separate-code lays them out,
    well formed: page-congruent, increasing, not overlapping, headers in the
    first one, code only in the executable one."""
    loads = load_segments(hello)
    assert [s.flags for s in loads] == ["R", "R E", "R", "RW"]
    assert loads[0].offset == 0 and loads[0].vaddr == 0x400000
    prev_end = 0
    for s in loads:
        assert s.align == PAGE
        assert s.offset % PAGE == s.vaddr % PAGE
        assert s.filesz <= s.memsz
        assert s.vaddr >= prev_end
        prev_end = s.end
    # code pages and data pages never share a page
    assert loads[1].vaddr % PAGE == 0 and loads[2].vaddr % PAGE == 0
    assert ".text" in loads[1].sections and ".init" in loads[1].sections and ".fini" in loads[1].sections
    assert ".rodata" in loads[2].sections and ".eh_frame" in loads[2].sections
    assert ".data" in loads[3].sections and ".bss" in loads[3].sections
    assert loads[3].memsz > loads[3].filesz       # .bss
    for name in (".text", ".rodata", ".data", ".bss", ".tdata", ".init_array", ".got"):
        s = section(hello, name)
        assert any(l.contains(s.addr, s.size) for l in loads), name
    for s in sections(hello):
        if "X" in s.flags:
            assert loads[1].contains(s.addr, s.size), s.name
        if "W" in s.flags and "A" in s.flags and not ("T" in s.flags and s.type == "NOBITS"):
            assert loads[3].contains(s.addr, s.size), s.name


def test_other_program_headers(hello):
    segs = program_headers(hello)
    types = [s.type for s in segs]
    for t in ("NOTE", "TLS", "GNU_STACK", "GNU_RELRO", "GNU_EH_FRAME"):
        assert t in types, t
    assert "INTERP" not in types and "DYNAMIC" not in types
    stack = [s for s in segs if s.type == "GNU_STACK"][0]
    assert "E" not in stack.flags and stack.flags == "RW"
    notes = [n for s in segs if s.type == "NOTE" for n in s.sections]
    assert ".note.gnu.build-id" in notes and ".note.ABI-tag" in notes
    relro = [s for s in segs if s.type == "GNU_RELRO"][0]
    rw = load_segments(hello)[3]
    assert rw.vaddr <= relro.vaddr and relro.end <= rw.end
    assert relro.end % PAGE == 0                   # mprotect can cover the whole range
    for name in (".init_array", ".fini_array", ".got", ".tdata"):
        s = section(hello, name)
        assert relro.contains(s.addr, s.size), name
    for name in (".data", ".bss"):
        assert not relro.contains(section(hello, name).addr, 1), name


def test_eh_frame_hdr(hello):
    """PT_GNU_EH_FRAME covers .eh_frame_hdr, whose binary search table points
    into .eh_frame and is sorted."""
    seg = [s for s in program_headers(hello) if s.type == "GNU_EH_FRAME"][0]
    hdr = section(hello, ".eh_frame_hdr")
    eh = section(hello, ".eh_frame")
    assert seg.vaddr == hdr.addr and seg.memsz == hdr.size and seg.sections == (".eh_frame_hdr",)
    data = section_data(hello, ".eh_frame_hdr")
    version, ptr_enc, count_enc, table_enc = data[:4]
    assert version == 1 and ptr_enc == 0x1b and count_enc == 0x03 and table_enc == 0x3b
    eh_ptr = hdr.addr + 4 + struct.unpack_from("<i", data, 4)[0]
    assert eh_ptr == eh.addr
    count = struct.unpack_from("<I", data, 8)[0]
    assert count > 10 and len(data) == 12 + 8 * count
    table = [struct.unpack_from("<ii", data, 12 + 8 * i) for i in range(count)]
    starts = [hdr.addr + a for a, _ in table]
    assert starts == sorted(starts) and len(set(starts)) == count
    assert nm_address(hello, "main") in starts
    for _, fde in table:
        assert eh.addr <= hdr.addr + fde < eh.addr + eh.size


@pytest.mark.parametrize("style,length", [("", 40), ("=sha1", 40), ("=md5", 32), ("=0x0123456789abcdef", 16),
                                          ("=uuid", 32)])
def test_build_id(tmp_path, style, length):
    exe, _ = link(tmp_path, "hello", [prog("hello.c")], [f"-Wl,--build-id{style}"])
    bid = build_id(exe)
    assert bid is not None and len(bid) == length, bid
    if style.startswith("=0x"):
        assert bid == style[3:]
    note = section(exe, ".note.gnu.build-id")
    assert note.type == "NOTE" and note.size == 16 + length // 2
    if style in ("", "=sha1", "=md5"):
        assert bid != "0" * length
        again, _ = link(tmp_path, "hello2", [prog("hello.c")], [f"-Wl,--build-id{style}"])
        assert build_id(again) == bid                         # a function of the contents
        other, _ = link(tmp_path, "other", [prog("hello.c"), "-O1"], [f"-Wl,--build-id{style}"])
        assert build_id(other) != bid
    assert run_exe(exe).stdout == "Hello, static world! 42\n"


def test_symtab_and_entry_point(hello):
    syms = symbols(hello)
    by_name = {}
    for s in syms:
        by_name.setdefault(s.name, []).append(s)
    main = by_name["main"]
    assert len(main) == 1 and main[0].type == "FUNC" and main[0].bind == "GLOBAL" and main[0].size > 0
    helper = by_name["hello_local_helper"]
    assert len(helper) == 1 and helper[0].bind == "LOCAL" and helper[0].type == "FUNC"
    counter = by_name["hello_global_counter"]
    assert counter[0].type == "OBJECT" and counter[0].bind == "GLOBAL" and counter[0].size == 4
    assert any(s.type == "FILE" and s.name == "hello.c" for s in syms)
    # locals come before globals, as the ELF spec requires
    binds = [s.bind for s in syms]
    assert "LOCAL" not in binds[binds.index("GLOBAL"):]
    text = section(hello, ".text")
    assert text.addr <= main[0].value < text.addr + text.size
    data = section(hello, ".data")
    assert data.addr <= counter[0].value < data.addr + data.size
    assert elf_header(hello)["entry"] == nm_address(hello, "_start")


@pytest.mark.parametrize("gc", [False, True], ids=["plain", "gc-sections"])
def test_start_stop_custom_section(tmp_path, gc):
    flags = ["-O2"] + (["-Wl,--gc-sections", "-ffunction-sections", "-fdata-sections"] if gc else [])
    out = run_both(tmp_path, "myset", [prog("myset_main.c"), prog("myset_other.c")], flags)
    lines = out.splitlines()
    assert sorted(lines[:-1]) == ["entry main-first 1", "entry main-second 20", "entry other 300"]
    assert lines[-1] == "entries=3 sum=321 bytes=48"
    exe = tmp_path / "myset"
    sec = section(exe, "myset")
    syms = {s.name: s for s in symbols(exe)}
    assert syms["__start_myset"].value == sec.addr
    assert syms["__stop_myset"].value == sec.addr + sec.size == sec.addr + 48


def test_rodata_string_and_constant_merging(tmp_path):
    literal = b"ldpy merges identical string literals"
    objs = [compile_obj(tmp_path, prog(s), ["-O2"]) for s in ("strmerge_a.c", "strmerge_b.c")]
    dbl = struct.pack("<d", 1234.56789012345678)
    for o in objs:
        names = [s.name for s in sections(o)]
        assert any(n.startswith(".rodata.str1.") for n in names) and ".rodata.cst8" in names
        data = open(o, "rb").read()
        assert data.count(literal + b"\0") == 1 and data.count(dbl) == 1
    out = run_both(tmp_path, "merge", objs)
    assert out == f"{literal.decode()}|{literal.decode()}\n1234.567890123457 1234.567890123457\n"
    exe = tmp_path / "merge"
    data = open(exe, "rb").read()
    assert data.count(literal + b"\0") == 1
    assert data.count(dbl) == 1
    assert [s for s in string_dump(exe, ".rodata") if literal.decode() in s] == [literal.decode()]


# --------------------------------------------------------------------------
# 7. options

def test_response_file_through_gcc(tmp_path):
    """With an @file on its command line gcc hands ld the whole argument list
    as one response file (@/tmp/ccXXXX), backslash-escaping blanks."""
    write(tmp_path, "link.rsp", "--defsym=rsp_marker=0x1234\n-Map\n'link map.txt'\n")
    os.mkdir(tmp_path / "out dir")
    exe, _ = link(tmp_path, "out dir/hello prog", [prog("hello.c")], ["-Wl,@link.rsp"])
    assert run_exe(exe).stdout == "Hello, static world! 42\n"
    marker = [s for s in symbols(exe) if s.name == "rsp_marker"]
    assert len(marker) == 1 and marker[0].value == 0x1234 and marker[0].ndx == "ABS"
    assert "main" in open(tmp_path / "link map.txt").read()


def test_response_file_direct(tmp_path):
    """Response files given to the linker itself: quoting, escapes, nesting,
    and a whole gcc static link line read from one."""
    compile_obj(tmp_path, prog("start.s"))
    write(tmp_path, "inner.rsp", '-e _start "--defsym=answer=42"\n')
    write(tmp_path, "outer.rsp", "-nostdlib -static\n-o 'hello world'   start.o\n@inner.rsp\n"
                                 "-Map map\\ file.txt\n")
    r = ld_direct(["@outer.rsp"], tmp_path)
    assert r.returncode == 0, r.stderr
    exe = tmp_path / "hello world"
    p = run_exe(exe, check=False)
    assert p.returncode == 7 and p.stdout == "hello from _start\n"
    assert {s.name: s.value for s in symbols(exe)}["answer"] == 42
    assert "_start" in open(tmp_path / "map file.txt").read()

    hello = compile_obj(tmp_path, prog("hello.c"), ["-O2"])
    argv = gcc_link_argv(tmp_path, [hello], out="from-rsp")
    write(tmp_path, "gcc.rsp", "\n".join(re.sub(r"([\s\\'\"])", r"\\\1", a) for a in argv) + "\n")
    r = ld_direct(["@gcc.rsp"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert run_exe(tmp_path / "from-rsp").stdout == "Hello, static world! 42\n"


@pytest.mark.parametrize("spelling", [["-Wl,-e,alt_entry"], ["-Wl,--entry=alt_entry"], ["-Wl,-ealt_entry"]])
def test_custom_entry(tmp_path, spelling):
    exe, _ = link(tmp_path, "alt", [prog("hello.c"), prog("alt_entry.s")], spelling)
    assert elf_header(exe)["entry"] == nm_address(exe, "alt_entry") != nm_address(exe, "_start")
    p = run_exe(exe, check=False)
    assert (p.returncode, p.stdout) == (3, "entered at alt_entry\n")


ARCHIVE_MAIN = r"""
#include <stdio.h>
int needed_fn(void);
int main(void) { printf("needed=%d\n", needed_fn()); return 0; }
"""


def _archive(tmp_path):
    write(tmp_path, "main.c", ARCHIVE_MAIN)
    write(tmp_path, "needed.c", "int needed_fn(void) { return 40; }\n")
    write(tmp_path, "unneeded.c", "int unneeded_fn(void) { return 13; }\nint unneeded_data = 5;\n")
    write(tmp_path, "forced.c", '#include <stdio.h>\nint forced_fn(void) { return 2; }\n'
                                '__attribute__((constructor)) static void forced_ctor(void)'
                                ' { puts("forced member linked"); }\n')
    members = [compile_obj(tmp_path, tmp_path / f) for f in ("needed.c", "unneeded.c", "forced.c")]
    lib = make_archive(tmp_path, "libtwo.a", members)
    return compile_obj(tmp_path, tmp_path / "main.c"), lib


def test_archive_members_extracted_on_demand(tmp_path):
    main, lib = _archive(tmp_path)
    exe, _ = link(tmp_path, "demand", [main, lib])
    assert run_exe(exe).stdout == "needed=40\n"
    names = nm_names(exe)
    assert "needed_fn" in names
    for absent in ("unneeded_fn", "unneeded_data", "forced_fn", "forced_ctor"):
        assert absent not in names, absent
    assert "unneeded.c" not in [s.name for s in symbols(exe) if s.type == "FILE"]
    # -L/-l finds the same archive
    exe2, _ = link(tmp_path, "demand2", [main, "-L.", "-ltwo"])
    assert run_exe(exe2).stdout == "needed=40\n" and "unneeded_fn" not in nm_names(exe2)
    # --whole-archive takes every member
    exe3, _ = link(tmp_path, "whole", [main, "-Wl,--whole-archive", lib, "-Wl,--no-whole-archive"])
    assert run_exe(exe3).stdout == "forced member linked\nneeded=40\n"
    assert {"unneeded_fn", "unneeded_data", "forced_fn"} <= set(nm_names(exe3))


def test_undefined_option_pulls_member(tmp_path):
    main, lib = _archive(tmp_path)
    exe, _ = link(tmp_path, "plain", [main, lib])
    assert "forced_fn" not in nm_names(exe)
    for spelling in (["-Wl,-u,forced_fn"], ["-Wl,--undefined=forced_fn"]):
        exe, _ = link(tmp_path, "forced", [main, lib], spelling)
        assert run_exe(exe).stdout == "forced member linked\nneeded=40\n"
        names = nm_names(exe)
        assert names.get("forced_fn") == ["T"] and "unneeded_fn" not in names


def test_defsym(tmp_path):
    write(tmp_path, "d.c", r"""
#include <stdio.h>
extern char defsym_abs[], defsym_expr[];
int defsym_alias(int);
int real_impl(int x) { return x * 7; }
int main(void)
{
    printf("abs=%#lx expr=%#lx alias=%d\n", (unsigned long)defsym_abs, (unsigned long)defsym_expr,
           defsym_alias(6));
    return 0;
}
""")
    flags = ["-O2", "-Wl,--defsym=defsym_abs=0x12345", "-Wl,--defsym", "-Wl,defsym_expr=defsym_abs+0x100",
             "-Wl,--defsym=defsym_alias=real_impl"]
    out = run_both(tmp_path, "defsym", [tmp_path / "d.c"], flags)
    assert out == "abs=0x12345 expr=0x12445 alias=42\n"
    exe = tmp_path / "defsym"
    syms = {s.name: s for s in symbols(exe)}
    assert syms["defsym_abs"].value == 0x12345 and syms["defsym_abs"].ndx == "ABS"
    assert syms["defsym_alias"].value == syms["real_impl"].value


def test_start_group(tmp_path):
    """liba's member needs libb, whose member needs another member of liba."""
    write(tmp_path, "a1.c", "int b_fn(int);\nint a_entry(int x) { return b_fn(x) + 1; }\n")
    write(tmp_path, "a2.c", "int a_helper(int x) { return x * 2; }\n")
    write(tmp_path, "b.c", "int a_helper(int);\nint b_fn(int x) { return a_helper(x) + 10; }\n")
    write(tmp_path, "m.c", '#include <stdio.h>\nint a_entry(int);\n'
                           'int main(void) { printf("group=%d\\n", a_entry(5)); return 0; }\n')
    liba = make_archive(tmp_path, "liba.a", [compile_obj(tmp_path, tmp_path / f) for f in ("a1.c", "a2.c")])
    libb = make_archive(tmp_path, "libb.a", [compile_obj(tmp_path, tmp_path / "b.c")])
    main = compile_obj(tmp_path, tmp_path / "m.c")
    exe, r = link(tmp_path, "nogroup", [main, liba, libb], check=False)
    assert r.returncode != 0 and "a_helper" in r.stderr and not os.path.exists(exe)
    for group in (["-Wl,--start-group", liba, libb, "-Wl,--end-group"], ["-Wl,-(", libb, liba, "-Wl,-)"]):
        exe, _ = link(tmp_path, "group", [main, *group])
        assert run_exe(exe).stdout == "group=21\n"


@pytest.mark.parametrize("how", ["console-script", "python-m"])
def test_nostdlib_asm_direct(tmp_path, how):
    """A freestanding assembly program linked by calling the linker directly."""
    start = compile_obj(tmp_path, prog("start.s"))
    if how == "python-m" and IS_LDPY:
        import sys
        r = run([sys.executable, "-m", "ldpy", "-nostdlib", "-static", "-o", "prog", start], cwd=tmp_path,
                check=False)
    else:
        r = ld_direct(["-nostdlib", "-static", "-o", "prog", start], tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    exe = tmp_path / "prog"
    assert os.access(exe, os.X_OK)
    p = run_exe(exe, check=False)
    assert (p.returncode, p.stdout) == (7, "hello from _start\n")
    h = elf_header(exe)
    assert h["Type"].startswith("EXEC") and h["entry"] == nm_address(exe, "_start")
    loads = load_segments(exe)
    assert [s.flags for s in loads] == ["R", "R E", "R", "RW"]
    assert "GNU_STACK" in [s.type for s in program_headers(exe)]


# --------------------------------------------------------------------------
# 8. LTO

LTO_MAIN = '#include <stdio.h>\nint lto_helper(int);\nint main(void){printf("lto=%d\\n", lto_helper(20));return 0;}\n'
LTO_HELPER = "int lto_helper(int x) { return x * 2 + 2; }\n"


def test_slim_lto_objects_link_through_the_plugin_and_are_rejected_without(tmp_path):
    write(tmp_path, "m.c", LTO_MAIN)
    write(tmp_path, "h.c", LTO_HELPER)
    objs = [compile_obj(tmp_path, tmp_path / f, ["-O2", "-flto"]) for f in ("m.c", "h.c")]
    for o in objs:
        names = [s.name for s in sections(o)]
        assert any(n.startswith(".gnu.lto_") for n in names)
        assert not [s for s in symbols(o) if s.type == "FUNC"]      # bytecode only
    # gcc passes its LTO plugin (-plugin liblto_plugin.so): the IR is compiled at link time
    assert run_both(tmp_path, "lto", objs, ["-flto", "-O2"]) == "lto=42\n"
    if not IS_LDPY:
        pytest.skip("ld.bfd's own message for IR without a plugin")
    d = ld_direct(["-o", "direct", "-static", "h.o"], tmp_path)
    assert d.returncode == 1 and not os.path.exists(tmp_path / "direct")
    errors = [l for l in d.stderr.splitlines() if l.startswith("ldpy: error:")]
    assert len(errors) == 1 and "LTO" in errors[0] and "h.o" in errors[0], d.stderr


def test_fat_lto_objects_link(tmp_path):
    write(tmp_path, "m.c", LTO_MAIN)
    write(tmp_path, "h.c", LTO_HELPER)
    objs = [compile_obj(tmp_path, tmp_path / f, ["-O2", "-flto", "-ffat-lto-objects"]) for f in ("m.c", "h.c")]
    for o in objs:
        assert any(n.startswith(".gnu.lto_") for n in (s.name for s in sections(o)))
        assert [s for s in symbols(o) if s.type == "FUNC"]           # and machine code
    assert run_both(tmp_path, "lto", objs, ["-flto", "-O2"]) == "lto=42\n"
