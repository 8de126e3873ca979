"""Command-line entry points: `ldpy`, `ld.ldpy`, `python -m ldpy`, and the `ld`
shim that `gcc -B DIR` runs."""
import os
import sys

from ldpy.diag import LinkError, PROG


def shim_dir():
    """A directory holding an executable `ld` that runs this ldpy with this Python.

    It lives inside the installed package when that is writable, else in the
    user's cache; it is (re)written whenever it does not point at this Python.
    The `ld` is the native client (native/client.c: with LDPY_SERVER=1 a served link
    starts no Python at all) when a C compiler builds it, else a /bin/sh script."""
    # (how the interpreter runs: SHIM_FLAGS)
    import hashlib       # (imported here: the LDPY_SERVER=1 client path must stay light)
    import numpy
    paths = list(dict.fromkeys([
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        os.path.dirname(os.path.dirname(os.path.abspath(numpy.__file__)))]))
    candidates = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "shim"),
                  os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                               "ldpy", "shim-" + hashlib.md5(sys.executable.encode()).hexdigest()[:10])]
    for d in candidates:
        # (the directory is named to entry(): it holds the heap helper, heap.py)
        boot = ("import sys; sys.path[:0] = " + repr(paths) +
                "; from ldpy.main import entry; entry(" + repr(d) + ")")
        try:
            write_shim(d, paths, boot)
            return d
        except OSError:
            continue
    raise LinkError("cannot create the gcc shim directory (no writable location)")


# The gcc shim runs the interpreter apart from the build's settings, which are made for
# the programs being built, not for ldpy: -I ignores every PYTHON* variable (a
# PYTHONPATH or PYTHONHOME of another Python) and leaves the working directory off
# sys.path (a build directory's enum.py or types.py would replace the standard
# module), -S skips site.py (ldpy's few directories are put on sys.path directly:
# tens of ms less per link).  LD_LIBRARY_PATH may name the libraries being built (a
# new libpython3.11.so.1.0, libz.so.1, libffi.so.8): the interpreter gets the value
# `ldpy --print-shim-dir` ran with (write_shim bakes it in: LDPY_LD_LIBRARY_PATH in
# the C client, a line of the sh script; unset if it had none), and the link gets the
# caller's back (LDPY_CALLER_*: _take_caller_environment).
SHIM_FLAGS = ("-I", "-S")


def shim_command(boot):
    """The interpreter command line of the gcc shim and of the link server."""
    return [sys.executable, *SHIM_FLAGS, "-c", boot]


def _sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


_interpreter_library_path = os.environ.get("LD_LIBRARY_PATH")   # (as this process started)


def interpreter_environ():
    """os.environ as the gcc shim starts the interpreter: LD_LIBRARY_PATH as this
    interpreter started with it (for the link server's start)."""
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    if _interpreter_library_path is not None:
        env["LD_LIBRARY_PATH"] = _interpreter_library_path
    return env


def _take_caller_environment():
    """Started by the gcc shim (LDPY_CALLER_ENV=1): the caller's LD_LIBRARY_PATH back
    into os.environ, for the link (-rpath-link-like searches) and what it runs (an LTO
    plugin's compiler), and PYTHONPATH's directories after the standard library's on
    sys.path (a plugin package found there, never a module of the standard library)."""
    env = os.environ
    if env.pop("LDPY_CALLER_ENV", None) != "1":
        return
    caller = env.pop("LDPY_CALLER_LD_LIBRARY_PATH", None)
    if caller is None:
        env.pop("LD_LIBRARY_PATH", None)
    else:
        env["LD_LIBRARY_PATH"] = caller
    sys.path.extend(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path)


def _c_string(s):
    """A C string literal of s's bytes (octal escapes: no trigraphs, no quoting trouble)."""
    ok = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:=,+ "
    return '"' + "".join(chr(c) if c in ok else f"\\{c:03o}"
                         for c in s.encode("utf-8", "surrogateescape")) + '"'


def write_shim(d, paths, boot, pkg=None):
    """Make d/ld run ldpy: the native client built with the system C compiler, or the
    /bin/sh script; left alone when it is already the current one.  Concurrent callers
    are safe (every file is written under a temporary name, then renamed).  Returns
    "native" or "sh".  (pkg: the tree whose .py files the KEY covers, for tests.)"""
    import shutil
    import subprocess
    from ldpy import server
    library_path = os.environ.get("LD_LIBRARY_PATH")
    script = ("#!/bin/sh\nunset LDPY_CALLER_LD_LIBRARY_PATH\n"
              'if [ -n "${LD_LIBRARY_PATH+set}" ]; then\n'
              '    LDPY_CALLER_LD_LIBRARY_PATH=$LD_LIBRARY_PATH; export LDPY_CALLER_LD_LIBRARY_PATH\nfi\n'
              "LDPY_CALLER_ENV=1; export LDPY_CALLER_ENV\n" +
              ("unset LD_LIBRARY_PATH\n" if library_path is None else
               f"LD_LIBRARY_PATH={_sh_quote(library_path)}; export LD_LIBRARY_PATH\n") +
              "exec " + " ".join(map(_sh_quote, shim_command(boot))) + ' "$@"\n')
    ld = os.path.join(d, "ld")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "native", "client.c")
    try:
        with open(source, "rb") as fh:
            code = fh.read()
    except OSError:
        code = None
    if code is not None:
        # what the sh script bakes in, and what the server KEY needs without Python
        pkg = pkg or os.path.dirname(os.path.abspath(__file__))
        search = server._search_path(paths)
        header = "".join(f"#define {name} {value}\n" for name, value in (
            ("LDPY_PYTHON", _c_string(sys.executable)),
            ("LDPY_BOOT", _c_string(boot)),
            ("LDPY_PKG", _c_string(pkg)),
            ("LDPY_STDLIB", _c_string(server._stdlib_dir())),
            ("LDPY_SEARCH", "{" + "".join(_c_string(p) + ", " for p in search) + "NULL}"),
            *([] if library_path is None else [("LDPY_LD_LIBRARY_PATH", _c_string(library_path))])))
        import hashlib
        stamp = hashlib.sha1(code + header.encode()).hexdigest()
        from ldpy import heap
        heap.build(d)           # (the heap helper beside the client: optional)
        try:
            with open(ld, "rb") as fh:
                if (b"LDPY-STAMP:" + stamp.encode()) in fh.read() and os.access(ld, os.X_OK):
                    return "native"
        except OSError:
            pass
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc:
            os.makedirs(d, exist_ok=True)
            tmp = ld + f".{os.getpid()}"
            hdr = os.path.join(d, f"client-{os.getpid()}.h")
            with open(hdr, "w") as fh:
                fh.write(header + f'#define LDPY_STAMP "{stamp}"\n')
            try:
                built = subprocess.run([cc, "-std=c99", "-O2", "-include", hdr, source, "-o", tmp],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL).returncode == 0
            except OSError:
                built = False
            finally:
                os.unlink(hdr)
            if built:
                os.chmod(tmp, 0o755)
                os.replace(tmp, ld)
                return "native"
            try:
                os.unlink(tmp)
            except OSError:
                pass
    try:
        with open(ld, "rb") as fh:
            if fh.read() == script.encode() and os.access(ld, os.X_OK):
                return "sh"
    except OSError:
        pass
    os.makedirs(d, exist_ok=True)
    tmp = ld + f".{os.getpid()}"
    with open(tmp, "w") as fh:
        fh.write(script)
    os.chmod(tmp, 0o755)
    os.replace(tmp, ld)
    return "sh"


def _remove_stale_output(config):
    """Like GNU ld: a failed link leaves no output file, not even an old one (but
    never a file the link read, nor /dev/null or another non-regular file)."""
    out = getattr(config, "output", None) if config is not None else None
    if out and os.path.isfile(out) and out not in {s.name for s in config.inputs}:
        from ldpy.outfile import is_input
        if is_input(out):
            return
        try:
            os.unlink(out)
        except OSError:
            pass


def _check_side_files(config):
    """-o naming a file the link reads (response files, version scripts, lists) or
    the -Map file: refused before anything is read or written."""
    from ldpy.outfile import check_not_output, note_read, OutputIsInput
    from ldpy.cli import RESPONSE_FILES
    for st, name in RESPONSE_FILES:
        note_read(st, name)
    for attr in ("version_scripts", "dynamic_lists", "export_dynamic_symbol_lists"):
        for path in getattr(config, attr, None) or ():
            check_not_output(path)
    for attr in ("retain_symbols_file",):
        path = getattr(config, attr, None)
        if isinstance(path, str):
            check_not_output(path)
    m = getattr(config, "map_file", None)
    if m and m != "-":
        out = config.output
        try:
            same = os.path.samefile(m, out)
        except (OSError, ValueError):
            same = os.path.abspath(m) == os.path.abspath(out)
        if same:
            raise OutputIsInput(f"map file '{m}' is the same as output file")


# numpy's modules that only attach docstrings to its functions and scalar types (the
# docstrings of nearly everything numpy defines: a link never reads one)
NUMPY_DOC_MODULES = ("numpy._core._add_newdocs", "numpy._core._add_newdocs_scalars")
# numpy's packages that numpy's own import asks only for functions (numpy.matrixlib
# and numpy.lib._polynomial_impl import a few from numpy.linalg), which a link never
# calls: numpy.linalg with numpy._typing under it is 7-9 ms of CPU
NUMPY_LAZY_MODULES = ("numpy.linalg",)
# standard modules that numpy imports but uses only when asked for something a link
# never asks (numpy.lib's file and platform helpers, ndarray.dump): ~2 ms of CPU
NUMPY_UNUSED_IMPORTS = ("platform", "textwrap", "pickle")


def _cleandoc(doc):
    """inspect.cleandoc's result: tabs expanded, the first line's leading blanks and
    the common indentation of the others removed, blank lines dropped at both ends."""
    lines = doc.expandtabs().split("\n")
    margin = min((len(line) - len(line.lstrip()) for line in lines[1:] if line.lstrip()), default=0)
    lines[0] = lines[0].lstrip()
    lines[1:] = [line[margin:] for line in lines[1:]]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines)


def _inspect_later(types):
    """A stand-in for `inspect` (with `ast`, `dis` and `tokenize` under it: ~3 ms of
    CPU) while numpy imports, which asks it only for `cleandoc` of its C functions'
    docs and `signature` of their dispatchers (set as `__signature__`).  The first
    stands in exactly; the second returns a pending mark.  It stays in sys.modules
    afterwards: the first name anything asks of it imports the real module, puts the
    real signatures in place of the marks (numpy keeps its functions in
    overrides.ARRAY_FUNCTIONS), and the stand-in becomes a copy of the real module."""
    class Pending:
        __slots__ = ("dispatcher",)

        def __init__(self, dispatcher):
            self.dispatcher = dispatcher

    class InspectLater(types.ModuleType):
        def numpy_done(self):
            if self.__dict__.get("signature") is Pending:      # (not the real one yet)
                del self.__dict__["signature"], self.__dict__["cleandoc"]

        def __getattr__(self, name):
            import importlib
            if sys.modules.get("inspect") is self:
                del sys.modules["inspect"]
            real = importlib.import_module("inspect")
            overrides = sys.modules.get("numpy._core.overrides")
            for f in getattr(overrides, "ARRAY_FUNCTIONS", ()):
                mark = getattr(f, "__dict__", {}).get("__signature__")
                if type(mark) is Pending:
                    f.__signature__ = real.signature(mark.dispatcher)
            self.__dict__.update(real.__dict__)
            return getattr(real, name)

    stand_in = InspectLater("inspect")
    stand_in.signature = Pending
    stand_in.cleandoc = _cleandoc
    return stand_in


def numpy_environment():
    """numpy's import-time settings for a link (unless the user set them):
    - ldpy never calls BLAS: no OpenBLAS thread pool started at import;
    - no madvise(MADV_HUGEPAGE) on big arrays: a link's arrays live for a
      fraction of a second, and a huge page fault zeroes (and may first compact)
      2 MiB at once: llvm-big's relocation table took 117-390 ms with it, a
      steady 135-147 ms without (bench/, a 2-core VM), the whole link 6% less."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


def import_numpy():
    """Import numpy for a link, less what it never uses (an import of numpy 2.4 costs
    about 70 ms of CPU; these save 13-15):
    - NUMPY_DOC_MODULES are stood in for by modules that import the real one as soon
      as anything asks them for a name;
    - NUMPY_LAZY_MODULES are stood in for while numpy imports: a function numpy takes
      from one is a forwarder that imports the real module when called.  The stand-in
      leaves sys.modules with numpy's import, so `numpy.linalg` is the real package
      to anything that asks for it afterwards;
    - `inspect` (_inspect_later);
    - NUMPY_UNUSED_IMPORTS too: numpy's modules keep a stand-in that imports the real
      module on its first attribute asked for, and hands that attribute on.
    Only when this process has not imported numpy yet (a server child, a test's
    in-process link)."""
    if "numpy" in sys.modules:
        return
    import types

    class DocModule(types.ModuleType):
        def __getattr__(self, name):
            import importlib
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            return getattr(importlib.import_module(self.__name__), name)

    class FunctionsLater(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            module = self.__name__

            def forwarder(*args, **kwargs):
                import importlib
                return getattr(importlib.import_module(module), name)(*args, **kwargs)
            forwarder.__name__ = forwarder.__qualname__ = name
            return forwarder
    class ImportLater(types.ModuleType):
        def __getattr__(self, name):
            import importlib
            return getattr(importlib.import_module(self.__name__), name)
    for name in NUMPY_DOC_MODULES:
        sys.modules.setdefault(name, DocModule(name))
    lazy = {name: sys.modules.setdefault(name, FunctionsLater(name)) for name in NUMPY_LAZY_MODULES}
    lazy.update((name, sys.modules.setdefault(name, ImportLater(name))) for name in NUMPY_UNUSED_IMPORTS)
    inspect = _inspect_later(types) if "inspect" not in sys.modules else None
    if inspect is not None:
        sys.modules["inspect"] = inspect
    try:
        import numpy     # noqa: F401
    finally:
        for name, stand_in in lazy.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
        if inspect is not None:
            inspect.numpy_done()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    numpy_environment()
    config = None
    from ldpy.outfile import Terminated
    try:
        from ldpy.cli import parse_args, VERSION_TEXT
        config = parse_args(argv)
        for w in getattr(config, "warnings", []):
            print(f"{PROG}: warning: {w}", file=sys.stderr)
        if getattr(config, "print_shim_dir", False):
            print(shim_dir())
            return 0
        if getattr(config, "server_stop", False):
            # the persistent link server (LDPY_SERVER=1, see ldpy/server.py)
            from ldpy.server import stop_servers
            print(f"{PROG}: stopped {stop_servers()} link server(s)", file=sys.stderr)
            return 0
        if config.help:
            from ldpy.cli import HELP_TEXT
            print(HELP_TEXT)
            return 0
        if config.version:
            print(VERSION_TEXT)
            if config.list_emulations or config.verbose:
                from ldpy.cli import emulations_text
                print(emulations_text(config.emulation))
            if config.verbose and not any(i.kind == "script" for i in config.inputs):
                # like GNU ld: the default linker script for these options, also
                # before a link that has no -T script of its own
                from ldpy.script.default import default_script_text, relocatable_script_text
                text = (relocatable_script_text if config.relocatable else default_script_text)(config)
                print("using internal linker script:\n" + "=" * 50)
                print(text + "=" * 50)
            if not config.inputs:
                return 0
        if config.print_sysroot:
            print(config.sysroot)
            return 0
        if config.print_output_format:
            from ldpy.arch.base import for_emulation
            print((for_emulation(config.emulation or "elf_x86_64") or for_emulation("elf_x86_64")).OUTPUT_FORMAT)
            return 0
        from ldpy.cli import SUPPORTED_EMULATIONS
        if config.emulation not in (None,) + SUPPORTED_EMULATIONS:
            raise LinkError(f"unsupported emulation '{config.emulation}' "
                            f"(ldpy links: {', '.join(SUPPORTED_EMULATIONS)})")
        ctf_beside = None
        if config.inputs and not config.relocatable:
            from ldpy.ctf.early import start_early
            ctf_beside = start_early(config)    # the .ctf merge, from now on, beside the link
        import_numpy()
        from ldpy.driver import link
        from ldpy import outfile
        outfile.reset(config.output)
        from ldpy.diag import diag
        diag.errors = diag.warnings = 0     # (an earlier link of this process failed: tests)
        _handlers.update(outfile.install_signal_handlers())
        _check_side_files(config)
        # a link allocates many small objects and frees them all at exit: the cyclic
        # collector would only rescan them over and over
        import gc
        gc.disable()
        try:
            link(config, ctf_beside)
        finally:
            if ctf_beside is not None:
                ctf_beside[1].cancel()      # (a link that failed before taking its result)
        _cleanup()
        return 0
    except LinkError as e:
        _cleanup()
        e = _truncated_input(e)
        if e.args and e.args[0]:
            print(f"{PROG}: error: {e.args[0]}", file=sys.stderr)
        if not _is_output_is_input(e):
            _remove_stale_output(config)
        return 1
    except KeyboardInterrupt:
        # (an interrupted link keeps the previous output: it never touched it)
        _cleanup()
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        _cleanup()
        print(f"{PROG}: error: out of memory", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `ldpy --verbose | head -1`: the reader left; GNU ld dies of SIGPIPE, quietly
        _cleanup()
        _remove_stale_output(config)
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        import signal
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
        return 141
    except Terminated as e:
        _cleanup()
        global killed_by
        killed_by = e.signum        # entry() dies of it, as without the handler
        return 128 + e.signum
    except Exception as e:     # a bug in ldpy: say so in one line; LDPY_DEBUG=1 shows the traceback
        _cleanup()
        t = _truncated_input(None)
        if t is not None:          # (zero pages where a truncated input was: not a bug)
            print(f"{PROG}: error: {t.args[0]}", file=sys.stderr)
            _remove_stale_output(config)
            return 1
        if os.environ.get("LDPY_DEBUG"):
            raise
        where = ""
        tb = e.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
        print(f"{PROG}: internal error: {type(e).__name__}: {e}{where} "
              f"(please report; LDPY_DEBUG=1 shows the traceback)", file=sys.stderr)
        _remove_stale_output(config)
        return 1


killed_by = None       # SIGTERM / SIGHUP stopped the link (after cleaning up)
_handlers = {}         # signal handlers replaced during a link


def _cleanup():
    """Remove the temporary output of an unfinished link; stop catching signals."""
    try:
        from ldpy import outfile
    except Exception:
        return
    outfile.remove_pending()
    outfile.end_reads()
    outfile.restore_signal_handlers(_handlers)
    _handlers.clear()


def _is_output_is_input(e):
    from ldpy.outfile import OutputIsInput
    return isinstance(e, OutputIsInput)


def _truncated_input(e):
    """The error of an input truncated during the link (replacing whatever its zero
    pages caused), else `e`."""
    try:
        from ldpy.outfile import check_inputs
        check_inputs()
    except LinkError as t:
        return t
    except Exception:
        pass
    return e


def entry(shim=None):
    """Console-script entry (and the gcc shim's, which names its directory: shim):
    run, then leave without interpreter teardown (freeing every table of a big link
    one by one is pure overhead)."""
    # no cyclic collector from the start: numpy's import alone ran it for ~4 ms of a
    # hello link's ~70 (main() keeps it off for the link)
    import gc
    gc.disable()
    _take_caller_environment()
    # LDPY_SERVER=1: a persistent server runs the link (ldpy/server.py); run_client()
    # exits with the link's status, or returns when the link must run here
    if os.environ.get("LDPY_SERVER") == "1":
        from ldpy.server import run_client
        run_client()
    from ldpy import heap
    heap.start(shim)        # (this process links: its page faults on another core)
    rc = main()
    for f in (sys.stdout, sys.stderr):
        try:
            if f is not None:
                f.flush()
        except Exception:
            pass
    if killed_by is not None:
        import signal
        signal.signal(killed_by, signal.SIG_DFL)
        os.kill(os.getpid(), killed_by)
    os._exit(rc)
