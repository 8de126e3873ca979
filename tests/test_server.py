"""The optional persistent link server (LDPY_SERVER=1, ldpy/server.py).

Every test has its own XDG_RUNTIME_DIR, so its own server, stopped at the end.
A link served by the server appends a line to $LDPY_SERVER_LOG."""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from e2e_util import ldpy_command, shim_dir

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

HELLO = '#include <stdio.h>\nint main(void){puts("hello from the server");return 0;}\n'


class Server:
    def __init__(self, tmp_path):
        # a short directory: a Unix socket path has at most 107 bytes
        self.rt = tempfile.mkdtemp(prefix="ldpy-rt-", dir="/tmp")
        self.log = str(tmp_path / "served.log")
        self.tmp = tmp_path
        self.env = dict(os.environ, LDPY_SERVER="1", XDG_RUNTIME_DIR=self.rt,
                        LDPY_SERVER_LOG=self.log, LDPY_SERVER_IDLE="120")
        self.env.pop("LDPY_DEBUG", None)
        self.ld = os.path.join(shim_dir(), "ld")

    # -- running things -----------------------------------------------------------
    def run(self, argv, cwd=None, env=None, umask=None, **kw):
        return subprocess.run(argv, cwd=cwd or self.tmp, env=env or self.env, capture_output=True,
                              text=True, timeout=120,
                              preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
                              **kw)

    def gcc(self, *args, **kw):
        return self.run(["gcc", "-B", shim_dir(), *args], **kw)

    def served(self):
        try:
            with open(self.log, errors="surrogateescape") as fh:
                return fh.read().count("served ")
        except FileNotFoundError:
            return 0

    def sockets(self):
        return glob.glob(os.path.join(self.rt, "ldpy", "srv-*.sock"))

    def pid(self):
        """The running server's pid (from its lock file), or None."""
        for lock in glob.glob(os.path.join(self.rt, "ldpy", "srv-*.lock")):
            sock = lock[:-len(".lock")] + ".sock"
            try:
                pid = int(open(lock).read().strip())
            except ValueError:
                continue
            if os.path.exists(sock) and _alive(pid):
                return pid
        return None

    def wait_ready(self, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.pid():
                return self.pid()
            time.sleep(0.05)
        raise AssertionError("no link server came up")

    def served_run(self, fn, *args, **kw):
        """Run fn(*args) until the server served it (a concurrent edit of ldpy's
        sources retires a server: the next one takes over)."""
        for _ in range(3):
            self.wait_ready()
            before = self.served()
            r = fn(*args, **kw)
            if self.served() == before + 1:
                return r
        raise AssertionError("the link server did not serve the link")

    def stop(self):
        self.run([*ldpy_command(), "--server-stop"])
        pid = self.pid()
        if pid:                       # (a server this test started)
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.rt, ignore_errors=True)


def _client(srv, which):
    """argv prefix of a client: the shim's `ld` (native when a C compiler built it) or
    the Python client (the sh shim's command)."""
    return [srv.ld] if which == "shim" else _python_client(srv.ld)


def _hanging_served_link(srv, tmp_path, kind):
    """A served link that hangs opening a FIFO input: (the client, the server's children)."""
    _hello_obj(srv)
    os.mkfifo(tmp_path / "fifo.o")
    srv.run([srv.ld, "--version"])
    server = srv.wait_ready()
    client = subprocess.Popen([*_client(srv, kind), "hello.o", "fifo.o", "-o", "out"],
                              cwd=tmp_path, env=srv.env, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    children = _linking_children(server, tmp_path)
    assert children, "the link was not handed to the server"
    return client, children


def _linking_children(server, cwd):
    """The server's children that run a link from `cwd` (a served link takes its
    client's working directory; the spares waiting for the next link stay in /)."""
    found = []
    for c in open(f"/proc/{server}/task/{server}/children").read().split():
        try:
            if os.readlink(f"/proc/{c}/cwd") == str(cwd):
                found.append(c)
        except OSError:
            pass
    return found


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:                              # a zombie is dead too
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def srv(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


def _hello_obj(srv):
    (srv.tmp / "hello.c").write_text(HELLO)
    subprocess.run(["gcc", "-c", "hello.c"], cwd=srv.tmp, check=True)


def test_second_link_is_served(srv):
    (srv.tmp / "hello.c").write_text(HELLO)
    r = srv.gcc("hello.c", "-o", "first")            # no server yet: links in-process, starts one
    assert r.returncode == 0, r.stderr
    assert srv.run(["./first"]).stdout == "hello from the server\n"
    srv.wait_ready()
    r = srv.served_run(srv.gcc, "hello.c", "-o", "second")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert srv.run(["./second"]).stdout == "hello from the server\n"
    line = open(srv.log).read().splitlines()[-1]
    assert line.startswith("served ") and " rc=0 " in line and "-o second" in line


def test_errors_same_message_and_status(srv, tmp_path):
    (tmp_path / "u.c").write_text("void missing(void);\nint main(void){missing();return 0;}\n")
    subprocess.run(["gcc", "-c", "u.c"], cwd=tmp_path, check=True)
    (tmp_path / "out").write_text("stale")
    plain_env = {k: v for k, v in srv.env.items() if k != "LDPY_SERVER"}
    plain = srv.run([srv.ld, "u.o", "-e", "main", "-o", "out"], env=plain_env)
    assert plain.returncode == 1
    assert not (tmp_path / "out").exists()
    (tmp_path / "out").write_text("stale")
    srv.run([srv.ld, "--version"])                  # starts the server
    served = srv.served_run(srv.run, [srv.ld, "u.o", "-e", "main", "-o", "out"])
    assert served.returncode == 1
    assert served.stderr == plain.stderr
    assert len(served.stderr.splitlines()) == 1
    assert "undefined reference to 'missing'" in served.stderr
    assert not (tmp_path / "out").exists(), "a failed link leaves no output"
    assert " rc=1 " in open(srv.log).read()


def test_cwd_and_relative_paths(srv, tmp_path):
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    (work / "bin").mkdir()
    (work / "src" / "hello.c").write_text(HELLO)
    subprocess.run(["gcc", "-c", "src/hello.c", "-o", "src/hello.o"], cwd=work, check=True)
    srv.run([srv.ld, "--version"])
    r = srv.served_run(srv.gcc, "src/hello.o", "-o", "bin/hello", cwd=work)
    assert r.returncode == 0, r.stderr
    assert (work / "bin" / "hello").exists()
    assert srv.run(["bin/hello"], cwd=work).stdout == "hello from the server\n"
    # a missing relative input is looked up in the client's cwd too
    r = srv.served_run(srv.run, [srv.ld, "nothere.o", "-o", "x"], cwd=work)
    assert r.returncode == 1 and "nothere.o" in r.stderr


@pytest.mark.parametrize("umask, mode", [(0o077, 0o700), (0o022, 0o755), (0o027, 0o750)])
def test_umask_of_the_client(srv, umask, mode):
    _hello_obj(srv)
    srv.run([srv.ld, "--version"])
    r = srv.served_run(srv.gcc, "hello.o", "-o", "prog", umask=umask)
    assert r.returncode == 0, r.stderr
    assert os.stat(srv.tmp / "prog").st_mode & 0o777 == mode


def test_environment_is_the_clients(srv, tmp_path):
    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    # COLLECT_NO_DEMANGLE is read by ldpy itself
    (tmp_path / "m.cc").write_text("void foo(int);\nint main(){foo(1);}\n")
    subprocess.run(["g++", "-c", "m.cc"], cwd=tmp_path, check=True)
    srv.run([srv.ld, "--version"])
    args = [srv.ld, "m.o", "-e", "main", "-o", "m"]
    r = srv.served_run(srv.run, args)
    assert r.returncode == 1 and "foo(int)" in r.stderr, r.stderr
    r = srv.served_run(srv.run, args, env=dict(srv.env, COLLECT_NO_DEMANGLE="1"))
    assert r.returncode == 1 and "_Z3fooi" in r.stderr, r.stderr
    # LIBRARY_PATH (gcc turns it into -L) and the server log are per client
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "f.c").write_text("int f(void){return 7;}\n")
    subprocess.run(["gcc", "-c", "f.c"], cwd=lib, check=True)
    subprocess.run(["ar", "rcs", "libf.a", "f.o"], cwd=lib, check=True)
    (tmp_path / "uf.c").write_text("int f(void);\nint main(void){return f();}\n")
    subprocess.run(["gcc", "-c", "uf.c"], cwd=tmp_path, check=True)
    other_log = str(tmp_path / "other.log")
    env = dict(srv.env, LIBRARY_PATH=str(lib), LDPY_SERVER_LOG=other_log)
    r = srv.gcc("uf.o", "-lf", "-o", "uf", env=env)
    assert r.returncode == 0, r.stderr
    assert srv.run(["./uf"]).returncode == 7
    assert "-o uf" in open(other_log).read()
    r = srv.gcc("uf.o", "-lf", "-o", "uf")
    assert r.returncode != 0


def test_killed_server_falls_back(srv):
    _hello_obj(srv)
    srv.run([srv.ld, "--version"])
    pid = srv.wait_ready()
    os.kill(pid, signal.SIGKILL)
    assert _wait_gone(pid)
    assert srv.sockets(), "the dead server's socket is left behind (stale)"
    before = srv.served()
    r = srv.gcc("hello.o", "-o", "prog")
    assert r.returncode == 0, r.stderr
    assert srv.served() == before, "linked in-process"
    assert srv.run(["./prog"]).stdout == "hello from the server\n"
    # and a new server took over
    assert srv.wait_ready() != pid
    r = srv.served_run(srv.gcc, "hello.o", "-o", "prog2")
    assert r.returncode == 0 and srv.run(["./prog2"]).returncode == 0


def test_idle_timeout(srv):
    srv.env["LDPY_SERVER_IDLE"] = "2"
    _hello_obj(srv)
    assert srv.gcc("hello.o", "-o", "prog").returncode == 0
    pid = srv.wait_ready()
    assert _wait_gone(pid, timeout=30), "the server outlived its idle timeout"
    assert not srv.sockets()


def _spares(server):
    """The server's children waiting for a link (in /, where the server runs)."""
    return _linking_children(server, "/")


def _wait_for(cond, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = cond()
        if found:
            return found
        time.sleep(0.05)
    return cond()


def test_link_runs_in_a_spare_forked_before_it(srv):
    """The server keeps a process forked ahead of the next link, with the pages that
    links write faulted in: there is one once a link reported which pages it wrote;
    the next link runs there, and a new spare takes its place; the spares leave
    with the server."""
    _hello_obj(srv)
    srv.run([srv.ld, "--version"])
    server = srv.wait_ready()
    assert _spares(server) == [], "a spare before any link told which pages to fault in"
    r = srv.served_run(srv.gcc, "hello.o", "-o", "first")     # (forked when it came)
    assert r.returncode == 0, r.stderr
    before = _wait_for(lambda: _spares(server))
    assert before, "no spare process waits for a link"
    time.sleep(1)                   # (it faults its memory in first: ~50 ms)
    r = srv.served_run(srv.gcc, "hello.o", "-o", "prog")
    assert r.returncode == 0, r.stderr
    assert srv.run(["./prog"]).stdout == "hello from the server\n"
    line = open(srv.log).read().splitlines()[-1]
    pid = line.split(" pid=")[1].split()[0]
    assert pid in before, (pid, before)
    after = _wait_for(lambda: [c for c in _spares(server) if c not in before])
    assert after, "no new spare after the first one took a link"
    r = srv.run([*ldpy_command(), "--server-stop"])
    assert r.returncode == 0
    for c in after:
        assert _wait_gone(int(c), timeout=10), "a spare outlived its server"


def test_stop_command(srv):
    srv.run([srv.ld, "--version"])
    pid = srv.wait_ready()
    r = srv.run([*ldpy_command(), "--server-stop"])
    assert r.returncode == 0
    assert "stopped 1 link server" in r.stderr
    assert _wait_gone(pid, timeout=10)
    assert not srv.sockets()
    # through the shim too (LDPY_SERVER=1 set): nothing left to stop
    r = srv.run([srv.ld, "--server-stop"])
    assert r.returncode == 0 and "stopped 0 link server" in r.stderr


def test_concurrent_first_links_start_one_server(srv):
    _hello_obj(srv)
    procs = [subprocess.Popen(["gcc", "-B", shim_dir(), "hello.o", "-o", f"p{i}"], cwd=srv.tmp,
                              env=srv.env, stderr=subprocess.PIPE, text=True) for i in range(4)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    srv.wait_ready()
    time.sleep(0.5)                 # (losers exit right after failing to take the lock)
    assert len(srv.sockets()) == 1
    locks = glob.glob(os.path.join(srv.rt, "ldpy", "srv-*.lock"))
    assert len(locks) == 1
    for i in range(4):
        assert srv.run([f"./p{i}"]).returncode == 0


@pytest.mark.parametrize("kind", ["shim", "python"])
def test_signal_stops_the_served_link(srv, tmp_path, kind):
    _hello_obj(srv)
    os.mkfifo(tmp_path / "fifo.o")   # opening it blocks: the link hangs in the server's child
    (tmp_path / "out").write_text("old output")
    srv.run([srv.ld, "--version"])
    for _ in range(3):
        server = srv.wait_ready()
        client = subprocess.Popen([*_client(srv, kind), "hello.o", "fifo.o", "-o", "out"],
                                  cwd=tmp_path, env=srv.env, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        children = _linking_children(server, tmp_path)
        if children:
            break
        client.kill()
        client.wait()
    else:
        pytest.fail("the link was never handed to the server")
    client.send_signal(signal.SIGTERM)
    assert client.wait(timeout=30) == -signal.SIGTERM
    assert "interrupted" in client.stderr.read()
    for c in children:
        assert _wait_gone(int(c), timeout=10), "the served link survived its client"
    # an interrupted link never touched the previous output, and leaves no temporary file
    assert (tmp_path / "out").read_text() == "old output"
    assert not list(tmp_path.glob(".out.ldpy-*"))
    with pytest.raises(OSError):                 # nobody reads the FIFO any more
        os.close(os.open(tmp_path / "fifo.o", os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize("kind", ["shim", "python"])
def test_client_killed_stops_the_served_link(srv, tmp_path, kind):
    client, children = _hanging_served_link(srv, tmp_path, kind)
    client.kill()                    # SIGKILL: the child sees the socket close
    client.wait()
    for c in children:
        assert _wait_gone(int(c), timeout=10)


def test_client_does_not_import_numpy(srv):
    """The `ldpy` console script's client (Python) imports no numpy; the native shim
    starts no Python at all."""
    _hello_obj(srv)
    srv.run([srv.ld, "--version"])
    env = dict(srv.env, PYTHONPROFILEIMPORTTIME="1")
    r = srv.served_run(srv.run, [*ldpy_command(), "--version"], env=env)
    imported = [line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines()
                if line.startswith("import time:")]
    assert "ldpy.server" in imported
    assert not [m for m in imported if m.startswith("numpy") or m in ("ldpy.driver", "ldpy.cli")]
    r = srv.served_run(srv.run, [srv.ld, "--version"], env=env)
    assert r.returncode == 0 and "GNU ld (ldpy" in r.stdout
    if _native(srv.ld):
        assert "import time:" not in r.stderr


def _last_warm(srv):
    line = [ln for ln in open(srv.log).read().splitlines() if ln.startswith("served ")][-1]
    return int(line.split(" warm=")[1].split()[0])


def _served_warm(srv, fn, *args, tries=40, least=1, **kw):
    """Serve fn(*args) until the server has (at least `least` of) the inputs a link
    before reported (it parses them between links); (result, inputs taken from it)."""
    for _ in range(tries):
        r = srv.served_run(fn, *args, **kw)
        if _last_warm(srv) >= least:
            return r, _last_warm(srv)
        time.sleep(0.1)
    raise AssertionError("the server never held the inputs of the links before")


CXX_COMDAT = r"""
#include <cstdio>
#include <map>
#include <string>
#include <vector>
std::string join(const std::vector<std::string> &v) { std::string s; for (auto &x : v) s += x; return s; }
int main() {
    std::map<std::string, int> m{{"b", 2}, {"a", 1}};
    std::vector<std::string> v;
    for (auto &kv : m) v.push_back(kv.first + std::to_string(kv.second));
    std::printf("%s\n", join(v).c_str());
    return 0;
}
"""


@pytest.mark.parametrize("kind", ["dynamic", "static", "cxx-static"])
def test_server_keeps_libraries_parsed_for_the_next_links(srv, kind):
    """Shared libraries, archives and the archive members that one served link read
    are parsed once in the server; later links take them from there (the log's
    warm=N) and write the same bytes as an in-process link.  The server parses
    members without COMDAT decisions: each link makes its own (C++ templates that
    the program's object and libstdc++.a members both define)."""
    if kind == "cxx-static":
        (srv.tmp / "prog.cc").write_text(CXX_COMDAT)
        subprocess.run(["g++", "-O1", "-c", "prog.cc", "-o", "prog.o"], cwd=srv.tmp, check=True)
        driver, flags, want = "g++", ["-static"], "a1b2\n"
    else:
        (srv.tmp / "hello.c").write_text(HELLO)
        subprocess.run(["gcc", "-c", "hello.c", "-o", "prog.o"], cwd=srv.tmp, check=True)
        driver, flags, want = "gcc", ["-static"] if kind == "static" else [], "hello from the server\n"
    plain = dict(srv.env)
    del plain["LDPY_SERVER"]

    def link(out, env=None):
        return srv.run([driver, "-B", shim_dir(), *flags, "prog.o", "-o", out], env=env)
    assert link("plain", env=plain).returncode == 0
    link("first")                                  # (starts the server)
    srv.wait_ready()
    srv.served_run(link, "second")
    r, n = _served_warm(srv, link, "warm", least=100 if kind != "dynamic" else 1)
    assert r.returncode == 0 and r.stderr == "", r.stderr    # (libc.so.6; libc.a and its members)
    assert open(srv.tmp / "warm", "rb").read() == open(srv.tmp / "plain", "rb").read()
    assert srv.run(["./warm"]).stdout == want


def test_server_keeps_objects_that_links_keep_naming(srv):
    """An object that two served links read by its path (crt1.o and its kin, in real
    builds) is parsed once in the server; later links take it from there (warm=N) and
    write the same bytes as an in-process link, COMDAT groups decided per link (the
    object and the link's own file both define an inline function)."""
    common = srv.tmp / "common.o"
    (srv.tmp / "common.cc").write_text(
        "inline int twice(int x) { return 2 * x; }\n"
        "int start_value = 21;\n"
        "int use_common() { return twice(start_value); }\n")
    (srv.tmp / "main.cc").write_text(
        "inline int twice(int x) { return 2 * x; }\nextern int start_value;\n"
        'extern "C" void _start() { __asm__ volatile("syscall" :: "a"(60), "D"(twice(start_value))); }\n')
    for c in ("common.cc", "main.cc"):
        subprocess.run(["g++", "-O0", "-fno-pic", "-fno-exceptions", "-fno-asynchronous-unwind-tables",
                        "-c", c], cwd=srv.tmp, check=True)
    assert "COMDAT group" in srv.run(["readelf", "-g", "common.o"]).stdout
    plain = dict(srv.env)
    del plain["LDPY_SERVER"]

    def link(out, env=None):
        return srv.run([srv.ld, "-static", str(common), "main.o", "-o", out], env=env)
    assert link("plain", env=plain).returncode == 0
    link("first")                                  # (starts the server)
    srv.wait_ready()
    srv.served_run(link, "second")                 # (two links read common.o)
    srv.served_run(link, "third")
    r, n = _served_warm(srv, link, "warm")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert n == 1                                  # (common.o; main.o by a relative path)
    assert open(srv.tmp / "warm", "rb").read() == open(srv.tmp / "plain", "rb").read()
    assert srv.run(["./warm"]).returncode == 42


@pytest.mark.parametrize("kind", ["static", "pie"])
def test_server_warms_up_with_a_link_of_its_own(srv, kind):
    """Once the server holds a static (or PIE) C link's crt objects and archives (or
    libc.so.6), it runs such a link itself, its output thrown away (so that its
    children start with numpy's first calls made and the passes' code
    specialized); served links after it write the bytes of an in-process link, and
    the warm-up leaves no file."""
    tmpdir = srv.tmp / "tmpdir"
    tmpdir.mkdir()
    srv.env["TMPDIR"] = str(tmpdir)
    (srv.tmp / "hello.c").write_text(HELLO)
    subprocess.run(["gcc", "-c", "hello.c", "-o", "prog.o"], cwd=srv.tmp, check=True)
    plain = dict(srv.env)
    del plain["LDPY_SERVER"]

    def link(out, env=None):
        return srv.run(["gcc", "-B", shim_dir(), "-" + kind, "prog.o", "-o", out], env=env)
    assert link("plain", env=plain).returncode == 0
    link("first")                                  # (starts the server)
    srv.wait_ready()
    warmed = []
    for _ in range(60):                            # (crt1.o and its kin: kept once read twice)
        srv.served_run(link, "warm")
        warmed = [ln for ln in open(srv.log).read().splitlines() if ln.startswith(f"warm-up -{kind} ")]
        if warmed:
            break
        time.sleep(0.2)
    assert warmed and warmed[0].endswith(" rc=0"), warmed
    r = srv.served_run(link, "after")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert open(srv.tmp / "after", "rb").read() == open(srv.tmp / "plain", "rb").read()
    assert srv.run(["./after"]).stdout == "hello from the server\n"
    # (the second and third warm-up runs may still be going: each removes its directory)
    assert _wait_for(lambda: list(tmpdir.iterdir()) == []), list(tmpdir.iterdir())
    assert len([ln for ln in open(srv.log) if ln.startswith("warm-up ")]) == 1      # (once)


def test_server_keeps_input_scripts_parsed(srv):
    """A linker script of input commands that links keep naming (libc.so's GROUP) is
    parsed once in the server; links take it from there (warm=N counts it) and
    write the bytes of an in-process link; the script rewritten is read again."""
    for n, v in (("one", 1), ("two", 2)):
        (srv.tmp / f"{n}.c").write_text(f"int value(void) {{ return {v}; }}\n")
        subprocess.run(["gcc", "-shared", "-fPIC", f"{n}.c", "-o", f"lib{n}.so"], cwd=srv.tmp, check=True)
    (srv.tmp / "main.c").write_text("int value(void);\nint main(void) { return 40 + value(); }\n")
    subprocess.run(["gcc", "-c", "main.c"], cwd=srv.tmp, check=True)
    script = srv.tmp / "libpick.so"
    script.write_text(f"/* a script, as libc.so */\nOUTPUT_FORMAT(elf64-x86-64)\nGROUP ( {srv.tmp}/libone.so )\n")
    plain = dict(srv.env)
    del plain["LDPY_SERVER"]

    def link(out, env=None):
        return srv.run(["gcc", "-B", shim_dir(), "main.o", "-L.", "-lpick", f"-Wl,-rpath,{srv.tmp}",
                        "-o", out], env=env)
    assert link("plain", env=plain).returncode == 0
    link("first")                                  # (starts the server)
    srv.wait_ready()
    before = 0
    srv.served_run(link, "second")
    before = _last_warm(srv)                       # (libc.so.6 and its kin, maybe)
    for _ in range(40):
        r = srv.served_run(link, "warm")
        if _last_warm(srv) >= before + 2:          # (libpick.so, the script, and libone.so)
            break
        time.sleep(0.1)
    assert _last_warm(srv) >= before + 2
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert open(srv.tmp / "warm", "rb").read() == open(srv.tmp / "plain", "rb").read()
    assert srv.run(["./warm"]).returncode == 41
    time.sleep(0.01)
    script.write_text(f"GROUP ( {srv.tmp}/libtwo.so )\n")
    r = srv.served_run(link, "rewritten")
    assert r.returncode == 0, r.stderr
    assert srv.run(["./rewritten"]).returncode == 42


def test_server_rereads_a_rebuilt_library(srv):
    """A library rebuilt at the same path after the server parsed it is read again:
    the link sees the new symbols, not the kept copy."""
    lib = srv.tmp / "libwarm.so"
    (srv.tmp / "v1.c").write_text("int one(void){return 1;}\n")
    (srv.tmp / "v2.c").write_text("int one(void){return 1;}\nint two(void){return 2;}\n")
    (srv.tmp / "m1.c").write_text('#include <stdio.h>\nint one(void);\nint main(void){printf("%d\\n", one());return 0;}\n')
    (srv.tmp / "m2.c").write_text('#include <stdio.h>\nint one(void);int two(void);\n'
                                  'int main(void){printf("%d\\n", one()+two());return 0;}\n')
    subprocess.run(["gcc", "-shared", "-fPIC", "v1.c", "-o", str(lib)], cwd=srv.tmp, check=True)
    srv.gcc("m1.c", str(lib), "-o", "m1a")          # (starts the server)
    srv.wait_ready()
    srv.served_run(srv.gcc, "m1.c", str(lib), "-o", "m1b")
    _served_warm(srv, srv.gcc, "m1.c", str(lib), "-o", "m1c")
    os.unlink(lib)                                  # (a new inode, as a build writes it)
    subprocess.run(["gcc", "-shared", "-fPIC", "v2.c", "-o", str(lib)], cwd=srv.tmp, check=True)
    r = srv.served_run(srv.gcc, "m2.c", str(lib), "-o", "m2")
    assert r.returncode == 0, r.stderr
    env = dict(srv.env, LD_LIBRARY_PATH=str(srv.tmp))
    assert srv.run(["./m2"], env=env).stdout == "3\n"


# ---------------------------------------------------------------------------
# the native client (ldpy/native/client.c): the gcc shim's `ld` when a C compiler exists

def _native(path):
    with open(path, "rb") as fh:
        return fh.read(4) == b"\x7fELF"


def _cc():
    return shutil.which("cc") or shutil.which("gcc")


def test_shim_is_the_native_client():
    assert _native(os.path.join(shim_dir(), "ld")) == bool(_cc())


def _shim_key(ld, env):
    r = subprocess.run([ld], env=dict(env, LDPY_CLIENT_PRINT_KEY="1"), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_native_key_is_the_servers(srv):
    """The KEY the C client computes is server._key() of the shim's Python: the server
    that a Python fallback link starts is the one the native client finds."""
    if not _native(srv.ld):
        pytest.skip("no C compiler: the shim is the sh script")
    key = _shim_key(srv.ld, srv.env)
    assert len(key) == 16
    _hello_obj(srv)
    r = srv.gcc("hello.o", "-o", "first")          # (in-process; starts the server)
    assert r.returncode == 0, r.stderr
    srv.wait_ready()
    assert [os.path.basename(p) for p in srv.sockets()] == [f"srv-{key}.sock"]
    r = srv.served_run(srv.gcc, "hello.o", "-o", "second")
    assert r.returncode == 0 and r.stderr == ""


def test_native_key_walks_the_tree_like_python(tmp_path):
    """Traversal order, skipped directories, symlinks, non-ASCII names: the same KEY."""
    if not _cc():
        pytest.skip("needs a C compiler")
    import numpy
    from ldpy import main, server
    tree = tmp_path / "pkg"
    for rel in ["a.py", "b.txt", "é.py", "z/__init__.py", "z/y.py", "z/deep/q.py", "m/x.py",
                "__pycache__/c.py", "shim/s.py", "sub.py/inner.py", "Zz/upper.py"]:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(rel * 3)
    os.symlink("a.py", tree / "link.py")
    os.symlink("z", tree / "zlink")               # (a link to a directory: not walked)
    os.utime(tree / "m" / "x.py", ns=(1, 1234567890123456789))
    paths = [str(tmp_path), os.path.dirname(os.path.dirname(numpy.__file__))]
    boot = "import sys; sys.path[:0] = " + repr(paths) + "; from ldpy.main import entry; entry()"
    assert main.write_shim(str(tmp_path / "shim"), paths, boot, pkg=str(tree)) == "native"
    ld = str(tmp_path / "shim" / "ld")
    want = server._key(search=server._search_path(paths), pkg=str(tree))
    assert _shim_key(ld, os.environ) == want
    (tree / "z" / "deep" / "q.py").write_text("edited, longer than before")
    changed = server._key(search=server._search_path(paths), pkg=str(tree))
    assert changed != want and _shim_key(ld, os.environ) == changed


def test_write_shim_rebuilds_only_on_change(tmp_path, monkeypatch):
    """The native `ld` is rebuilt when what it bakes in changes, else left alone;
    with no C compiler on PATH the shim is the sh script, and it works."""
    import numpy
    from ldpy import main
    src = os.path.dirname(os.path.dirname(main.__file__))
    paths = list(dict.fromkeys([src, os.path.dirname(os.path.dirname(numpy.__file__))]))
    boot = "import sys; sys.path[:0] = " + repr(paths) + "; from ldpy.main import entry; entry()"
    d = str(tmp_path / "shim")
    ld = os.path.join(d, "ld")
    if _cc():
        assert main.write_shim(d, paths, boot) == "native"
        ino = os.stat(ld).st_ino
        assert main.write_shim(d, paths, boot) == "native" and os.stat(ld).st_ino == ino
        assert main.write_shim(d, paths, boot.replace("entry()", "entry() ")) == "native"
        assert os.stat(ld).st_ino != ino and _native(ld)
        assert main.write_shim(d, paths, boot) == "native"
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    os.unlink(ld) if os.path.exists(ld) else None
    assert main.write_shim(d, paths, boot) == "sh"
    assert open(ld).read().startswith("#!/bin/sh\n")
    env = {k: v for k, v in os.environ.items() if k != "LDPY_SERVER"}
    r = subprocess.run([ld, "--version"], env=dict(env, PATH="/usr/bin:/bin"),
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("GNU ld (ldpy"), r.stderr
    assert not [f for f in os.listdir(d) if f not in ("ld", "libldpy-heap.so")], "no temporary files left"


def test_native_served_link_same_bytes(srv):
    """gcc -B shim with LDPY_SERVER=1 (served, the native client) writes the bytes an
    in-process link writes; a non-UTF-8 output name arrives unchanged."""
    _hello_obj(srv)
    plain = {k: v for k, v in srv.env.items() if k != "LDPY_SERVER"}
    srv.run(["gcc", "-B", shim_dir(), "hello.o", "-o", "plain"], env=plain, check=True)
    srv.gcc("hello.o", "-o", "first")
    r = srv.served_run(srv.gcc, "hello.o", "-o", "viaserver")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert open(srv.tmp / "viaserver", "rb").read() == open(srv.tmp / "plain", "rb").read()
    name = b"out-\xff\xc3(-\xe2\x82\xac"         # (invalid UTF-8, then a valid euro sign)
    r = srv.served_run(srv.run, [srv.ld.encode(), b"-e", b"main", b"hello.o", b"-o", name,
                                 b"--unresolved-symbols=ignore-all"])
    assert r.returncode == 0, r.stderr
    assert name in os.listdir(bytes(srv.tmp))


@pytest.mark.parametrize("kind", ["shim", "python"])
def test_second_signal_kills_the_client(srv, tmp_path, kind):
    """The first signal is forwarded; when the link does not stop (its process is
    stopped here), a second one kills the client at once, by that signal."""
    client, children = _hanging_served_link(srv, tmp_path, kind)
    for c in children:
        os.kill(int(c), signal.SIGSTOP)
    try:
        client.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert client.poll() is None, "the client waits for the link after one signal"
        client.send_signal(signal.SIGINT)
        assert client.wait(timeout=10) == -signal.SIGINT
    finally:
        for c in children:
            try:
                os.kill(int(c), signal.SIGCONT)
            except ProcessLookupError:
                pass
    for c in children:
        assert _wait_gone(int(c), timeout=15)


class _FakeServer:
    """Listens where the shim's client looks for its server; takes each request
    (marshal, with its three descriptors) and replies with the given statuses."""

    def __init__(self, rt, key, replies):
        import socket
        import threading
        d = os.path.join(rt, "ldpy")
        os.makedirs(d, mode=0o700, exist_ok=True)
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(os.path.join(d, f"srv-{key}.sock"))
        self.ls.listen(8)
        self.requests, self.replies = [], list(replies)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import marshal
        import socket
        while self.replies:
            conn, _ = self.ls.accept()
            with conn:
                head, anc, _f, _a = conn.recvmsg(9, socket.CMSG_SPACE(3 * 4))
                while len(head) < 9:
                    head += conn.recv(9 - len(head))
                fds = [int.from_bytes(data[i:i + 4], "little")
                       for _l, _t, data in anc for i in range(0, len(data), 4)]
                for fd in fds:
                    os.close(fd)
                n = int.from_bytes(head[5:], "little")
                body = b""
                while len(body) < n:
                    body += conn.recv(n - len(body))
                assert head[:5] == b"LDPY1"
                self.requests.append((len(fds), marshal.loads(body)))
                conn.sendall(self.replies.pop(0).to_bytes(4, "little"))

    def close(self):
        self.ls.close()


def _python_client(ld):
    """The sh shim's command for the same installation: python -I -S -c BOOT."""
    import numpy
    from ldpy import main
    src = os.path.dirname(os.path.dirname(main.__file__))
    paths = list(dict.fromkeys([src, os.path.dirname(os.path.dirname(numpy.__file__))]))
    return main.shim_command("import sys; sys.path[:0] = " + repr(paths) +
                             "; from ldpy.main import entry; entry()")


@pytest.mark.parametrize("locale_env", [{}, {"LANG": "C"}, {"LC_ALL": "C"}, {"LANG": "en_US.UTF-8"},
                                        {"LC_CTYPE": "C.UTF-8", "LC_ALL": ""},
                                        {"PYTHONUTF8": "0", "LANG": "POSIX"},
                                        {"PYTHONCOERCECLOCALE": "0"}, {"LC_ALL": "xx_YY.UTF-8"}])
def test_native_request_is_the_python_clients(srv, tmp_path, locale_env):
    """The request the C client sends is the Python client's (argv decoded like
    os.fsdecode, cwd, umask, environment with Python's LC_CTYPE coercion, stdio
    encodings), its three descriptors too, and the client exits with the status."""
    if not _native(srv.ld):
        pytest.skip("no C compiler: the shim is the sh script")
    key = _shim_key(srv.ld, srv.env)
    fake = _FakeServer(srv.rt, key, [7, 7])
    env = {k: v for k, v in srv.env.items() if not k.startswith(("LC_", "LANG", "PYTHONUTF8"))}
    env.update(locale_env)
    argv = [b"-o", b"x\xff\xe2\x82\xacy", "é".encode(), b"--", b""]
    try:
        for client in ([srv.ld.encode()], [a.encode() for a in _python_client(srv.ld)]):
            r = subprocess.run(client + argv, env=env, cwd=tmp_path, capture_output=True,
                               timeout=60, preexec_fn=lambda: os.umask(0o027))
            assert r.returncode == 7, r.stderr
        fake.thread.join(10)
    finally:
        fake.close()
    (nfd_c, native), (nfd_py, python) = fake.requests
    assert nfd_c == nfd_py == 3
    native.pop("argv0")
    python.pop("argv0")
    assert native == python
    assert native["argv"][1] == os.fsdecode(b"x\xff\xe2\x82\xacy") and native["umask"] == 0o027


def test_native_fallback_reply_links_in_python(srv, tmp_path):
    """A FALLBACK reply (the server could not run the link): the C client execs
    Python, whose client asks again, then links in-process."""
    if not _native(srv.ld):
        pytest.skip("no C compiler: the shim is the sh script")
    key = _shim_key(srv.ld, srv.env)
    fake = _FakeServer(srv.rt, key, [255 << 8, 255 << 8])
    try:
        r = srv.run([srv.ld, "--version"])
        fake.thread.join(10)
    finally:
        fake.close()
    assert r.returncode == 0 and r.stdout.startswith("GNU ld (ldpy"), r.stderr
    assert len(fake.requests) == 2 and srv.served() == 0


def test_spare_faults_pages_in_steps_and_stops_for_a_link():
    """A spare is ready at once and faults its hot pages in POPULATE_STEP at a time:
    once a link waits, it stops after the step in hand (the pages it returns are
    the ones done), else it does them all."""
    import mmap
    import numpy as np
    from ldpy import server
    step, page = server.POPULATE_STEP, mmap.PAGESIZE
    buf = mmap.mmap(-1, 4 * step * page, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    first = np.frombuffer(buf, np.uint8).ctypes.data // page
    hot = set(range(first, first + 3 * step)) | {first + 4 * step - 1}
    asked = []
    done = server._populate_private_memory(hot, lambda: asked.append(1) or len(asked) >= 2)
    assert done.tolist() == list(range(first, first + 2 * step)) and len(asked) == 2
    done = server._populate_private_memory(hot, lambda: False)
    assert done.tolist() == sorted(hot)
    fd = os.open("/proc/self/pagemap", os.O_RDONLY)     # (bit 63: the page is present)
    try:
        entries = np.frombuffer(os.pread(fd, 8 * 4 * step, 8 * first), np.uint64)
    finally:
        os.close(fd)
    present = np.flatnonzero(entries >> np.uint64(63)) + first
    assert set(hot) <= set(present.tolist())


def test_links_report_their_pages_when_it_can_teach_the_server_something():
    """A served link reads /proc/self/pagemap over the server's whole memory to report
    the pages it wrote (2-23 ms after its reply): the server's first links do, then
    one in REPORT_EVERY, and any link that took many page faults (what it writes was
    not faulted in beforehand)."""
    from ldpy import server
    first, every, many = server.REPORT_FIRST, server.REPORT_EVERY, server.REPORT_FAULTS
    assert all(server.should_report(n, 0) for n in range(first))
    assert not server.should_report(first + 1, 45)              # (a hello link in a spare)
    assert server.should_report(every * 3, 45)
    assert server.should_report(first + 1, many + 1)


def test_next_spare_is_forked_after_the_link_began_not_beside_its_start():
    """A spare that took a link tells the server ("T") and keeps its channel open
    until its link is done: the server forks the next spare once that link ends,
    or REFILL_AFTER seconds after it began, never in the link's first milliseconds
    (a fork of the server beside a starting link slowed it by 1-2 ms)."""
    import socket
    from ldpy import server
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    spares = server._Spares(ls, -1, -1)
    mine, theirs = socket.socketpair()
    try:
        spares.waiting[mine] = True
        assert spares.refill_in() is None and spares.ready
        theirs.sendall(b"T")
        assert spares.update([mine]) is True            # (took a link)
        assert not spares.ready and mine in spares.channels()
        wait = spares.refill_in()
        assert 0 < wait <= server._Spares.REFILL_AFTER
        spares.hot = {1}
        spares.fill()                                   # (too soon: no fork)
        assert not spares.waiting
        theirs.close()                                  # (the link is done)
        assert spares.update([mine]) is False
        assert spares.refill_in() is None and not spares.busy and not spares.channels()
        spares.busy[mine] = time.monotonic() - server._Spares.REFILL_AFTER   # (a long link)
        assert spares.refill_in() == 0
        other, peer = socket.socketpair()
        spares.busy[other] = time.monotonic()           # (a link that just began beside it)
        assert spares.refill_in() > 0
        other.close()
        peer.close()
    finally:
        spares.busy.clear()
        spares.waiting.clear()
        ls.close()
        mine.close()
