"""ldpy-ar / ldpy-ranlib against GNU ar 2.40, and thin/nested archives in links.

Every byte-for-byte test runs the same shell script twice, once with GNU ar and
once with ldpy-ar, in two copies of the same tree (mtimes preserved), and
compares every archive it made.  Other tests check that GNU ar, nm, ld.bfd,
gold, lld and mold read ldpy-ar's archives, that ldpy links GNU ar's, and that
a thin archive of libgcc.a + libgcc_eh.a + libc.a replaces the static group.
"""
import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from linkutil import HERE, run

PROGS = os.path.join(HERE, "progs_ar")
LIB_OBJECTS = ["alpha.o", "beta.o", "a_rather_long_member_file_name.o", "exact_fifteen.o",
               "d1/util.o", "d2/util.o", "unused.o"]
EXPECTED = "alpha=8 beta=23 gamma=42 exact=15 d1=100 d2=200 counter=5\n"

pytestmark = pytest.mark.skipif(shutil.which("ar") is None or shutil.which("gcc") is None,
                                reason="needs GNU ar and gcc")


def have(tool):
    return shutil.which(tool) is not None


def ldpy_ar(*args, cwd=None, env=None, check=True):
    r = run([sys.executable, "-m", "ldpy.ar.main", *map(str, args)], cwd=cwd, env=env, check=check)
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.fixture
def tree(tmp_path):
    """tmp/src: the objects of progs_ar compiled in place (with d1/ and d2/), a text member."""
    src = tmp_path / "src"
    shutil.copytree(PROGS, src)
    for c in src.rglob("*.c"):
        run(["gcc", "-O1", "-fcommon", "-c", str(c), "-o", str(c.with_suffix(".o"))])
    return src


def tool_dir(tmp_path):
    """A directory with ldpy-ar and ldpy-ranlib commands running this checkout's code."""
    bin_dir = tmp_path / "bin"
    if not bin_dir.exists():
        bin_dir.mkdir()
        for name, fn in (("ldpy-ar", "main"), ("ldpy-ranlib", "ranlib_main")):
            (bin_dir / name).write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -c "
                                        f"'import sys; from ldpy.ar.main import {fn}; sys.exit({fn}())' \"$@\"\n")
            (bin_dir / name).chmod(0o755)
    return bin_dir


def gnu_and_ldpy(tmp_path, tree, script, env=None):
    """Run `script` with $AR = GNU ar in tmp/g and = ldpy-ar in tmp/l (identical copies
    of the tree); return both directories and both results."""
    out = {}
    bin_dir = tool_dir(tmp_path)
    for side, ar, ranlib in (("g", "ar", "ranlib"), ("l", bin_dir / "ldpy-ar", bin_dir / "ldpy-ranlib")):
        d = tmp_path / side
        shutil.copytree(tree, d, copy_function=shutil.copy2)
        e = dict(os.environ, AR=str(ar), RANLIB=str(ranlib), **(env or {}))
        out[side] = subprocess.run(["bash", "-c", script], cwd=d, env=e, capture_output=True, text=True)
        assert "Traceback" not in out[side].stderr, out[side].stderr
    return tmp_path / "g", tmp_path / "l", out["g"], out["l"]


def archives(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*.a"))


def mask_armap_date(data):
    """U mode stamps the symbol index with the current time: blank it."""
    if data[8:10] == b"/ " or data[8:15] == b"/SYM64/":
        return data[:24] + b" " * 12 + data[36:]
    return data


def assert_same_archives(g, l, masked=False):
    names = archives(g)
    assert names, "the script made no archive"
    assert archives(l) == names
    for name in names:
        a, b = (g / name).read_bytes(), (l / name).read_bytes()
        if masked:
            a, b = mask_armap_date(a), mask_armap_date(b)
        assert a == b, f"{name} differs from GNU ar's"


def same_output(gres, lres):
    """stdout equal, and both failed or both succeeded."""
    assert lres.stdout == gres.stdout
    assert (gres.returncode == 0) == (lres.returncode == 0), (gres.stderr, lres.stderr)


L = " ".join(LIB_OBJECTS)

SCRIPTS = {
    "rcs": f"$AR rcs lib.a {L}",
    "rc_default_index": f"$AR rc lib.a {L} notes.txt",
    "r_creates": "$AR r lib.a alpha.o beta.o",
    "S_no_index": f"$AR rcS lib.a {L}",
    "q": "$AR rc lib.a alpha.o beta.o; $AR q lib.a alpha.o notes.txt unused.o",
    "qs_is_r": "$AR rc lib.a alpha.o beta.o; $AR qs lib.a alpha.o unused.o",
    "d": f"$AR rc lib.a {L} alpha.o; $AR d lib.a alpha.o; $AR dv lib.a nothere.o util.o exact_fifteen.o",
    "m_to_end": f"$AR rc lib.a {L}; $AR m lib.a alpha.o a_rather_long_member_file_name.o",
    "m_after": f"$AR rc lib.a {L}; $AR ma beta.o lib.a alpha.o unused.o",
    "m_before": f"$AR rc lib.a {L}; $AR mb alpha.o lib.a unused.o exact_fifteen.o",
    "m_insert": f"$AR rc lib.a {L}; $AR mi beta.o lib.a unused.o",
    "r_replace_in_place": f"$AR rc lib.a {L}; touch beta.o; $AR r lib.a beta.o",
    "r_after": "$AR rc lib.a alpha.o beta.o; $AR ra alpha.o lib.a unused.o exact_fifteen.o",
    "r_before": "$AR rc lib.a alpha.o beta.o; $AR rb beta.o lib.a unused.o alpha.o",
    "r_u_default_D": "$AR rc lib.a alpha.o beta.o; $AR ru lib.a beta.o",
    "r_u_with_U": ("$AR rcU lib.a alpha.o beta.o unused.o; touch -d 2001-01-01 beta.o; "
                   "touch -d 2030-01-01 alpha.o; $AR ruU lib.a alpha.o beta.o exact_fifteen.o"),
    "U_mode": "$AR rcU lib.a alpha.o notes.txt",
    "long_names": "$AR rc lib.a a_rather_long_member_file_name.o exact_fifteen.o alpha.o "
                  "a_rather_long_member_file_name.o",
    "same_name_dirs": "$AR rc lib.a d1/util.o d2/util.o alpha.o",
    "text_only_no_index": "$AR rc lib.a notes.txt",
    "empty": "$AR rc lib.a",
    "ranlib": f"$AR rcS lib.a {L}; $RANLIB lib.a",
    "ar_s": f"$AR rcS lib.a {L}; $AR s lib.a",
    "thin": f"$AR rcT lib.a {L} notes.txt",
    "thin_long_option": f"$AR rc --thin lib.a {L}",
    "thin_same_path_twice": "$AR qcT lib.a alpha.o alpha.o beta.o",
    "thin_in_subdir": "mkdir out; $AR rcT out/lib.a alpha.o d1/util.o d2/util.o exact_fifteen.o",
    "thin_add_replace": "$AR rcT lib.a alpha.o beta.o; $AR rT lib.a unused.o alpha.o",
    "thin_delete": "$AR rcT lib.a alpha.o beta.o unused.o; $AR d lib.a beta.o",
    "thin_flatten_regular": ("$AR rc inner.a alpha.o a_rather_long_member_file_name.o exact_fifteen.o; "
                             "$AR rcT lib.a beta.o inner.a unused.o"),
    "thin_flatten_thin": "mkdir sub; $AR rcT sub/inner.a d1/util.o alpha.o; $AR rcT lib.a beta.o sub/inner.a",
    "thin_flatten_both": ("mkdir sub; $AR rc sub/reg.a alpha.o exact_fifteen.o; "
                          "$AR rcT sub/thin.a beta.o sub/reg.a d2/util.o; "
                          "$AR rcT lib.a sub/thin.a d1/util.o; $AR rT lib.a unused.o"),
    "response_file": f"echo 'rcs lib.a {L}' > args; $AR @args",
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_byte_for_byte(tmp_path, tree, name):
    g, l, gres, lres = gnu_and_ldpy(tmp_path, tree, SCRIPTS[name])
    assert gres.returncode == 0, gres.stderr
    assert lres.returncode == 0, lres.stderr
    assert_same_archives(g, l, masked="U" in name)
    same_output(gres, lres)


LISTINGS = {
    "t": f"$AR rc lib.a {L} notes.txt; $AR t lib.a",
    "tv": f"$AR rcU lib.a {L} notes.txt; $AR tv lib.a; $AR tv lib.a util.o notes.txt util.o",
    "t_thin": ("mkdir sub; $AR rc sub/reg.a alpha.o exact_fifteen.o; "
               "$AR rcT sub/thin.a beta.o sub/reg.a d2/util.o; $AR t sub/thin.a; $AR tv sub/thin.a"),
    "p": "$AR rc lib.a notes.txt alpha.o; $AR p lib.a notes.txt; $AR pv lib.a notes.txt",
    "verbose_ops": (f"$AR rcv lib.a {L}; $AR rv lib.a alpha.o; $AR dv lib.a unused.o; "
                    "$AR mv lib.a alpha.o; $AR qv lib.a notes.txt"),
    "thin_verbose_flatten": "$AR rc in.a alpha.o beta.o; $AR rcvT lib.a in.a unused.o",
}


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_listings_match_gnu(tmp_path, tree, name):
    g, l, gres, lres = gnu_and_ldpy(tmp_path, tree, LISTINGS[name])
    assert gres.returncode == 0 and lres.returncode == 0, (gres.stderr, lres.stderr)
    same_output(gres, lres)
    assert_same_archives(g, l, masked=True)


def test_extract_matches_gnu(tmp_path, tree):
    script = (f"$AR rcU lib.a {L} notes.txt; chmod 600 notes.txt; $AR rU lib.a notes.txt; mkdir x o; "
              "cd x && $AR xv ../lib.a && cd .. && $AR x --output o lib.a util.o notes.txt")
    g, l, gres, lres = gnu_and_ldpy(tmp_path, tree, script)
    same_output(gres, lres)
    for d in ("x", "o"):
        names = sorted(os.listdir(g / d))
        assert sorted(os.listdir(l / d)) == names
        for n in names:
            assert (g / d / n).read_bytes() == (l / d / n).read_bytes()
            assert os.stat(g / d / n).st_mode == os.stat(l / d / n).st_mode, n


# -- other tools read ldpy-ar's archives -------------------------------------------------
def link_and_run(tree, out, libs, linker):
    """Link main.o against `libs` with gcc driving `linker` (or ldpy through its shim), run."""
    if linker == "ldpy":
        from linkutil import shim_dir
        sel = ["-B", shim_dir()]
    else:
        sel = [f"-fuse-ld={linker}"]
    r = run(["gcc", "main.o", *libs, "-o", out, *sel], cwd=tree, check=False)
    assert r.returncode == 0, f"{linker}: {r.stderr}"
    assert "Traceback" not in r.stderr
    return run([os.path.join(tree, out)]).stdout


LINKERS = ["bfd", "gold", "lld", "mold", "ldpy"]


def _linker_available(linker):
    return linker == "ldpy" or have({"bfd": "ld.bfd", "gold": "ld.gold", "lld": "ld.lld",
                                     "mold": "mold"}[linker])


@pytest.mark.parametrize("linker", LINKERS)
def test_linkers_read_ldpy_regular_and_thin(tree, linker):
    if not _linker_available(linker):
        pytest.skip(f"{linker} not installed")
    ldpy_ar("rcs", "libreg.a", *LIB_OBJECTS, "notes.txt", cwd=tree)
    ldpy_ar("rcsT", "libthin.a", *LIB_OBJECTS, cwd=tree)
    assert link_and_run(tree, "reg", ["libreg.a"], linker) == EXPECTED
    assert link_and_run(tree, "thin", ["libthin.a"], linker) == EXPECTED


@pytest.mark.parametrize("linker", ["bfd", "gold", "ldpy"])
def test_linkers_read_ldpy_flattened_thin(tree, linker):
    """GNU's nested form (/N:OFFSET proxies) is understood by ld.bfd and gold (and ldpy);
    lld and mold do not read it, whoever wrote it."""
    if not _linker_available(linker):
        pytest.skip(f"{linker} not installed")
    os.makedirs(tree / "lib")
    ldpy_ar("rc", "lib/inner.a", "alpha.o", "a_rather_long_member_file_name.o", "d1/util.o", cwd=tree)
    ldpy_ar("rcT", "lib/mid.a", "beta.o", "lib/inner.a", cwd=tree)
    # q, not r: r would replace the flattened util.o (from d1) by d2/util.o, as GNU ar does
    ldpy_ar("qcT", "lib/outer.a", "lib/mid.a", "exact_fifteen.o", "d2/util.o", cwd=tree)
    assert link_and_run(tree, "nested", ["lib/outer.a"], linker) == EXPECTED


def test_gnu_tools_read_ldpy_archives(tree):
    ldpy_ar("rcs", "lib.a", *LIB_OBJECTS, "notes.txt", cwd=tree)
    names = ["alpha.o", "beta.o", "a_rather_long_member_file_name.o", "exact_fifteen.o",
             "util.o", "util.o", "unused.o", "notes.txt"]
    assert run(["ar", "t", "lib.a"], cwd=tree).stdout.split() == names
    assert run([sys.executable, "-m", "ldpy.ar.main", "t", "lib.a"], cwd=tree).stdout.split() == names
    os.makedirs(tree / "x")
    run(["ar", "x", "../lib.a", "alpha.o", "a_rather_long_member_file_name.o", "notes.txt"], cwd=tree / "x")
    for n in ("alpha.o", "a_rather_long_member_file_name.o", "notes.txt"):
        assert (tree / "x" / n).read_bytes() == (tree / n).read_bytes()
    index = run(["nm", "-s", "lib.a"], cwd=tree).stdout
    for line in ("alpha in alpha.o", "shared_counter in alpha.o", "tunable in alpha.o",
                 "gamma_from_long_name in a_rather_long_member_file_name.o", "exact in exact_fifteen.o",
                 "d1_util in util.o", "d2_util in util.o", "never_called in unused.o"):
        assert line in index
    assert "hidden" not in index
    # GNU ar's index of the same members is the same
    run(["ar", "rcs", "gnu.a", *LIB_OBJECTS, "notes.txt"], cwd=tree)
    assert run(["nm", "-s", "gnu.a"], cwd=tree).stdout.replace("gnu.a", "lib.a") == index


def test_ldpy_links_gnu_archives(tree):
    """ldpy reads GNU ar's regular, thin and flattened thin archives."""
    os.makedirs(tree / "lib")
    run(["ar", "rcs", "libreg.a", *LIB_OBJECTS], cwd=tree)
    run(["ar", "rcsT", "libthin.a", *LIB_OBJECTS], cwd=tree)
    run(["ar", "rc", "lib/inner.a", "alpha.o", "a_rather_long_member_file_name.o", "d1/util.o"], cwd=tree)
    run(["ar", "qcT", "lib/outer.a", "beta.o", "lib/inner.a", "exact_fifteen.o", "d2/util.o"], cwd=tree)
    for lib in ("libreg.a", "libthin.a", "lib/outer.a"):
        assert link_and_run(tree, "p", [lib], "ldpy") == EXPECTED, lib


# -- paths, nesting, changes on disk -----------------------------------------------------
def test_thin_archive_elsewhere_links_from_any_directory(tmp_path, tree):
    """Proxy names are relative to the archive's directory, not to the current one."""
    os.makedirs(tree / "deep" / "er")
    ldpy_ar("rc", "deep/inner.a", "alpha.o", "d1/util.o", cwd=tree)
    ldpy_ar("qcT", "deep/er/lib.a", "deep/inner.a", "beta.o", "a_rather_long_member_file_name.o",
            "exact_fifteen.o", "d2/util.o", os.path.join(tree, "unused.o"), cwd=tree)
    data = (tree / "deep/er/lib.a").read_bytes()
    assert b"../inner.a/\n" in data and b"../../beta.o/\n" in data and b"../../d2/util.o/\n" in data
    assert (str(tree) + "/unused.o/\n").encode() in data          # absolute stays absolute
    # link from an unrelated directory, naming the archive by a relative path
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(tree / "main.o", elsewhere)
    rel = os.path.relpath(tree / "deep/er/lib.a", elsewhere)
    for linker in ("ldpy", "bfd"):
        assert link_and_run(elsewhere, "p_" + linker, [rel], linker) == EXPECTED
    listing = ldpy_ar("t", rel, cwd=elsewhere).stdout.split()
    assert listing == run(["ar", "t", rel], cwd=elsewhere).stdout.split()


def test_thin_archive_named_by_absolute_path_from_elsewhere(tmp_path, tree):
    """GNU ar stores a relative member name as given when the archive's own path is
    absolute, which breaks unless the current directory is the archive's; ldpy-ar
    stores it relative to the archive's directory (same bytes when they coincide)."""
    os.makedirs(tree / "out")
    ldpy_ar("rcT", tree / "out/lib.a", *LIB_OBJECTS, cwd=tree)
    assert b"\n../alpha.o/\n" in (tree / "out/lib.a").read_bytes()
    assert link_and_run(tree, "abs", ["out/lib.a"], "ldpy") == EXPECTED
    ldpy_ar("rcT", tree / "same.a", *LIB_OBJECTS, cwd=tree)
    run(["ar", "rcT", tree / "gnu.a", *LIB_OBJECTS], cwd=tree)
    assert (tree / "same.a").read_bytes() == (tree / "gnu.a").read_bytes()


def test_same_name_in_different_directories(tree):
    """Two util.o: both kept, both indexed, both linked (regular and thin)."""
    ldpy_ar("rcs", "reg.a", "d1/util.o", "d2/util.o", cwd=tree)
    ldpy_ar("rcsT", "thin.a", "d1/util.o", "d2/util.o", cwd=tree)
    assert ldpy_ar("t", "reg.a", cwd=tree).stdout.split() == ["util.o", "util.o"]
    assert ldpy_ar("t", "thin.a", cwd=tree).stdout.split() == ["d1/util.o", "d2/util.o"]
    rest = ["alpha.o", "beta.o", "a_rather_long_member_file_name.o", "exact_fifteen.o"]
    for lib in ("reg.a", "thin.a"):
        assert link_and_run(tree, "p", rest + [lib], "ldpy") == EXPECTED


def test_changed_nested_member_is_a_clear_error(tree):
    ldpy_ar("rc", "inner.a", "alpha.o", "beta.o", cwd=tree)
    ldpy_ar("rcT", "outer.a", "inner.a", "a_rather_long_member_file_name.o", "exact_fifteen.o",
            "d1/util.o", "d2/util.o", cwd=tree)
    assert link_and_run(tree, "ok", ["outer.a"], "ldpy") == EXPECTED
    # rebuild inner.a with other contents: the offsets recorded in outer.a go stale
    (tree / "big.c").write_text("int alpha(void) { return 1; }\nint shared_counter; int pad[64] = {1};\n")
    run(["gcc", "-c", "big.c", "-o", "alpha.o"], cwd=tree)
    ldpy_ar("rc", "inner.a", "alpha.o", cwd=tree)
    from linkutil import shim_dir
    r = run(["gcc", "main.o", "outer.a", "-o", "bad", "-B", shim_dir()], cwd=tree, check=False)
    assert r.returncode != 0
    errors = [l for l in r.stderr.splitlines() if "ldpy" in l]
    assert len(errors) == 1 and "changed on disk" in errors[0] and "inner.a" in errors[0], r.stderr
    assert "Traceback" not in r.stderr
    r = ldpy_ar("t", "outer.a", cwd=tree, check=False)
    assert r.returncode == 1 and r.stderr.startswith("ldpy-ar: error: ") and "changed on disk" in r.stderr


def test_missing_thin_member_names_the_proxy(tree):
    os.makedirs(tree / "lib")
    ldpy_ar("rcsT", "lib/thin.a", *LIB_OBJECTS, cwd=tree)
    os.remove(tree / "beta.o")
    from linkutil import shim_dir
    r = run(["gcc", "main.o", "lib/thin.a", "-o", "bad", "-B", shim_dir()], cwd=tree, check=False)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "lib/../beta.o" in r.stderr and "No such file" in r.stderr


# -- the proof: a thin archive for the C library group -------------------------------
def _gcc_static_args(tree):
    """ld's arguments for `gcc -static main.o`, from gcc -###, without the LTO plugin."""
    r = run(["gcc", "-static", "-###", "main.o", "-o", "PROGRAM"], cwd=tree)
    line = next(l for l in r.stderr.splitlines() if "collect2" in l or l.lstrip().startswith('"/'))
    words = shlex.split(line)[1:]
    args, i = [], 0
    while i < len(words):
        w = words[i]
        if w == "-plugin":
            i += 2
            continue
        if not w.startswith("-plugin-opt"):
            args.append(w)
        i += 1
    return args


C_LIBS = [run(["gcc", "-print-libgcc-file-name"]).stdout.strip(),
          run(["gcc", "-print-file-name=libgcc_eh.a"]).stdout.strip(),
          "/usr/lib/x86_64-linux-gnu/libc.a"] if have("gcc") else []


@pytest.mark.skipif(not all(os.path.isabs(p) and os.path.exists(p) for p in C_LIBS),
                    reason="needs static libgcc, libgcc_eh and libc")
def test_thin_c_library_replaces_the_static_group(tmp_path, tree):
    (tree / "hello.c").write_text('#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n'
                                  'int main(int argc, char **argv) { char *p = strdup(argv[0]);\n'
                                  '  printf("hello %d %zu %g\\n", argc, strlen(p) > 0, atof("2.5"));'
                                  ' free(p); return 0; }\n')
    run(["gcc", "-O1", "-c", "hello.c", "-o", "main.o"], cwd=tree)
    t0 = time.perf_counter()
    ldpy_ar("rcT", "libclib.a", *C_LIBS, cwd=tree)
    ours = time.perf_counter() - t0
    run(["ar", "rcT", "gnu.a", *C_LIBS], cwd=tree)
    assert (tree / "libclib.a").read_bytes() == (tree / "gnu.a").read_bytes()

    args = _gcc_static_args(tree)
    group = ["--start-group", "-lgcc", "-lgcc_eh", "-lc", "--end-group"]
    at = next(i for i in range(len(args)) if args[i:i + len(group)] == group)
    args[at:at + len(group)] = [str(tree / "libclib.a")]
    out = args.index("PROGRAM")
    args[out] = str(tree / "hello")
    r = run(["ldpy", *args], cwd=tree, check=False) if have("ldpy") else \
        run([sys.executable, "-m", "ldpy", *args], cwd=tree, check=False)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert run([str(tree / "hello"), "x"]).stdout == "hello 2 1 2.5\n"
    assert ours < 5, ours        # the whole command, Python start-up included


def test_index_of_libc_sized_input_is_fast():
    """Building the symbol index over libgcc.a, libgcc_eh.a and libc.a (2000+ members)."""
    from ldpy.ar.symtab import index_symbols
    from ldpy.ar.writer import entries_of
    from ldpy.input.archive import Archive, map_archive
    if not all(os.path.exists(p) for p in C_LIBS):
        pytest.skip("needs the static C library")
    entries = []
    for p in C_LIBS:
        entries += entries_of(Archive(p, map_archive(p, "archive")))
    blobs = [e.data() for e in entries]
    t0 = time.perf_counter()
    index = index_symbols(blobs)
    elapsed = time.perf_counter() - t0
    assert len(blobs) > 2000 and index.total > 4000
    assert elapsed < 0.5, elapsed


# -- the 64-bit index -----------------------------------------------------------------------
def test_forced_sym64_index_is_read_by_everyone(tree):
    env = dict(os.environ, LDPY_AR_SYM64="1")
    ldpy_ar("rcs", "lib64.a", *LIB_OBJECTS, cwd=tree, env=env)
    data = (tree / "lib64.a").read_bytes()
    assert data[8:15] == b"/SYM64/"
    size = int(data[8 + 48:8 + 58])
    assert size % 8 == 0
    count = int.from_bytes(data[68:76], "big")
    first = int.from_bytes(data[76:84], "big")
    assert count > 8 and data[first + 58:first + 60] == b"`\n"
    assert "alpha in alpha.o" in run(["nm", "-s", "lib64.a"], cwd=tree).stdout
    assert run(["ar", "t", "lib64.a"], cwd=tree).stdout.split()[0] == "alpha.o"
    for linker in ("ldpy", "bfd"):
        assert link_and_run(tree, "p64" + linker, ["lib64.a"], linker) == EXPECTED
    # ldpy-ar rewrites it with a 32-bit index again when not asked
    ldpy_ar("s", "lib64.a", cwd=tree)
    run(["ar", "rcs", "gnu.a", *LIB_OBJECTS], cwd=tree)
    assert (tree / "lib64.a").read_bytes() == (tree / "gnu.a").read_bytes()


# -- errors: one line, never a traceback ---------------------------------------------------
ERRORS = [
    (["rc", "lib.a", "nothere.o"], "nothere.o: No such file or directory"),
    (["t", "nothere.a"], "nothere.a: No such file or directory"),
    (["t", "alpha.o"], "file format not recognized"),
    (["rcZ", "lib.a", "alpha.o"], "invalid option"),
    (["zz.a"], "invalid option"),
    (["--bogus", "rc", "lib.a"], "unrecognized option"),
    (["-v"], "no operation specified"),
    (["rd", "lib.a"], "two different operation options specified"),
    (["ra"], "missing position arg."),
    (["rcN", "1", "lib.a", "alpha.o"], "not supported"),
    (["ru", "-D", "lib.a", "alpha.o"], "`u' is not meaningful with the `D' option."),
    (["xu", "lib.a"], "`u' is only meaningful with the `r' option."),
    ([], "no operation specified"),
]


@pytest.mark.parametrize("args,message", ERRORS, ids=[" ".join(a) or "none" for a, _ in ERRORS])
def test_errors_are_one_line(tree, args, message):
    r = ldpy_ar(*args, cwd=tree, check=False)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ldpy-ar: error: ") and message in lines[0], r.stderr
    assert not (tree / "lib.a").exists()        # a failed command leaves no archive behind


def test_archive_errors(tree):
    ldpy_ar("rcT", "thin.a", "alpha.o", cwd=tree)
    ldpy_ar("rc", "reg.a", "alpha.o", cwd=tree)
    for args, message in ((["x", "thin.a"], "`x' cannot be used on thin archives."),
                          (["rT", "reg.a", "beta.o"], "Cannot convert existing library reg.a to thin format"),
                          (["r", "thin.a", "beta.o"], "Cannot convert existing thin library thin.a to normal format"),
                          (["m", "reg.a", "beta.o"], "no entry beta.o in archive reg.a!"),
                          (["x", "reg.a", "beta.o"], "no entry beta.o in archive reg.a")):
        before = [(tree / n).read_bytes() for n in ("thin.a", "reg.a")]
        r = ldpy_ar(*args, cwd=tree, check=False)
        assert r.returncode == 1 and r.stderr.splitlines() == [f"ldpy-ar: error: {message}"], r.stderr
        assert [(tree / n).read_bytes() for n in ("thin.a", "reg.a")] == before
    (tree / "junk.a").write_bytes(b"!<arch>\nthis is not a header at all, not at all, no no no no no\n")
    r = ldpy_ar("t", "junk.a", cwd=tree, check=False)
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and "truncated archive member header" in r.stderr


def test_creating_message_and_quiet_c(tree):
    r = ldpy_ar("r", "new.a", "alpha.o", cwd=tree)
    assert r.stderr == "ldpy-ar: creating new.a\n"
    assert ldpy_ar("rc", "new2.a", "alpha.o", cwd=tree).stderr == ""


# -- every ELF flavour, options ---------------------------------------------------------------
def byteswap_elf(src, dst):
    """A big-endian twin of a little-endian object: headers, section headers and
    symbol table swapped (enough for an archive index; the code stays as it is)."""
    import numpy as np
    from ldpy.elf.format import dtypes
    data = bytearray(open(src, "rb").read())
    le, be = dtypes(data[4] == 2, True), dtypes(data[4] == 2, False)
    eh = np.frombuffer(bytes(data), le.ehdr, 1, 0)
    shoff, shnum = int(eh["e_shoff"][0]), int(eh["e_shnum"][0])
    sh = np.frombuffer(bytes(data), le.shdr, shnum, shoff)
    for row in sh[sh["sh_type"] == 2]:
        off, size = int(row["sh_offset"]), int(row["sh_size"])
        data[off:off + size] = np.frombuffer(bytes(data), le.sym, size // le.sym.itemsize, off) \
            .astype(be.sym).tobytes()
    data[shoff:shoff + sh.nbytes] = sh.astype(be.shdr).tobytes()
    data[:le.ehdr.itemsize] = eh.astype(be.ehdr).tobytes()
    data[5] = 2
    open(dst, "wb").write(bytes(data))


def test_elf32_and_big_endian_members(tmp_path, tree):
    (tree / "t32.s").write_text(".globl f32\nf32: ret\n.comm c32,4\n.weak w32\nw32: ret\n.local l32\nl32: ret\n")
    run(["as", "--32", "t32.s", "-o", "t32.o"], cwd=tree)
    byteswap_elf(tree / "t32.o", tree / "t32be.o")
    byteswap_elf(tree / "alpha.o", tree / "alphabe.o")
    g, l, gres, lres = gnu_and_ldpy(tmp_path, tree, "$AR rc lib.a t32.o alphabe.o beta.o t32be.o notes.txt")
    assert gres.returncode == 0 and lres.returncode == 0, (gres.stderr, lres.stderr)
    assert_same_archives(g, l)
    index = run(["nm", "-s", "lib.a"], cwd=l).stdout.strip().split("\n\n")[0].splitlines()
    assert index[0] == "Archive index:"
    assert "f32 in t32be.o" in index and "alpha in alphabe.o" in index
    assert not any(line.startswith("l32 ") for line in index)


def test_ranlib_and_options(tmp_path, tree):
    bin_dir = tool_dir(tmp_path)
    ldpy_ar("rcS", "lib.a", *LIB_OBJECTS, cwd=tree)
    r = run([str(bin_dir / "ldpy-ranlib"), "--plugin", "/nonexistent/plugin.so", "-D", "lib.a"], cwd=tree)
    assert r.stderr == ""
    run(["ar", "rcs", "gnu.a", *LIB_OBJECTS], cwd=tree)
    assert (tree / "lib.a").read_bytes() == (tree / "gnu.a").read_bytes()
    r = run([str(bin_dir / "ldpy-ranlib"), "nothere.a"], cwd=tree, check=False)
    assert r.returncode == 1 and r.stderr.splitlines() == ["ldpy-ranlib: error: 'nothere.a': No such file"]
    # nested response files, quoting; options after the archive name, as getopt permutes
    (tree / "inner.rsp").write_text("'exact_fifteen.o' \"d1/util.o\"\n")
    (tree / "outer.rsp").write_text("alpha.o @inner.rsp\n")
    ldpy_ar("r", "resp.a", "@outer.rsp", "-c", cwd=tree)
    assert ldpy_ar("t", "resp.a", cwd=tree).stdout.split() == ["alpha.o", "exact_fifteen.o", "util.o"]
    # --target and --plugin take an argument and change nothing
    ldpy_ar("--target=elf64-x86-64", "--plugin", "x.so", "rc", "plug.a", "alpha.o", cwd=tree)
    assert ldpy_ar("t", "plug.a", cwd=tree).stdout == "alpha.o\n"
    assert ldpy_ar("--version", cwd=tree).stdout.startswith("ldpy-ar")
    assert "--thin" in ldpy_ar("--help", cwd=tree).stdout


def test_sym64_chosen_when_a_member_with_symbols_lies_past_4gib(tree, monkeypatch):
    """Layout only: a 5 GiB member is declared but never written."""
    from ldpy.ar.writer import Entry, serialize
    monkeypatch.delenv("LDPY_AR_SYM64", raising=False)
    alpha = lambda: Entry.from_file(str(tree / "alpha.o"))
    big = lambda: Entry("huge.bin", size=5 << 30, data=b"not an object")
    for members, wide in (([alpha(), big()], False), ([big(), alpha()], True)):
        chunks = serialize("lib.a", members)
        magic, armap = next(chunks), next(chunks)
        assert magic == b"!<arch>\n"
        assert armap.startswith(b"/SYM64/ " if wide else b"/ ")
        width = 8 if wide else 4
        count = int.from_bytes(armap[60:60 + width], "big")
        offsets = [int.from_bytes(armap[60 + width * (k + 1):60 + width * (k + 2)], "big") for k in range(count)]
        first = 8 + len(armap)
        assert set(offsets) == {first + 60 + (5 << 30) if wide else first}
