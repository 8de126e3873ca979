"""Hosting linker plugins (-plugin FILE, -plugin-opt ARG) with ctypes.

The interface is binutils' include/plugin-api.h: the linker dlopen()s the
plugin, calls its `onload` with a transfer vector (tags with values or
callback pointers), offers input files to the claim-file hook, tells the
plugin how each symbol of a claimed file was resolved when all symbols are
read (the plugin then compiles and adds objects with add_input_file), and
calls the cleanup hook at the end.  The vector is GNU ld 2.40's (checked with
a plugin that prints what it is given: no LDPT_GOLD_VERSION, so GCC's plugin
hands back its -pass-through libraries as ld.bfd expects), plus what gold and
later GNU ld offer: get_symbols v3, add_symbols v2, the claim-file hook v2,
the input section queries, the new-input hook and the --wrap list.

Every callback runs under _guard: a Python exception never crosses the C
frames of the plugin; it is kept and raised when the plugin call returns.
Plugin messages are ldpy's: LDPL_ERROR counts as an error (the link stops
when the plugin call returns), LDPL_FATAL stops the process at once (a
plugin does not expect the call to return), after running the cleanup hooks.
"""
import ctypes as C
import os
import sys

import numpy as np

from ldpy.diag import LinkError, diag, PROG

# -- plugin-api.h ---------------------------------------------------------------
LDPS_OK, LDPS_NO_SYMS, LDPS_BAD_HANDLE, LDPS_ERR = 0, 1, 2, 3
LDPL_INFO, LDPL_WARNING, LDPL_ERROR, LDPL_FATAL = 0, 1, 2, 3
LDPO_REL, LDPO_EXEC, LDPO_DYN, LDPO_PIE = 0, 1, 2, 3
LDPK_DEF, LDPK_WEAKDEF, LDPK_UNDEF, LDPK_WEAKUNDEF, LDPK_COMMON = 0, 1, 2, 3, 4
LDPV_DEFAULT, LDPV_PROTECTED, LDPV_INTERNAL, LDPV_HIDDEN = 0, 1, 2, 3

(LDPT_NULL, LDPT_API_VERSION, LDPT_GOLD_VERSION, LDPT_LINKER_OUTPUT, LDPT_OPTION,
 LDPT_REGISTER_CLAIM_FILE_HOOK, LDPT_REGISTER_ALL_SYMBOLS_READ_HOOK, LDPT_REGISTER_CLEANUP_HOOK,
 LDPT_ADD_SYMBOLS, LDPT_GET_SYMBOLS, LDPT_ADD_INPUT_FILE, LDPT_MESSAGE, LDPT_GET_INPUT_FILE,
 LDPT_RELEASE_INPUT_FILE, LDPT_ADD_INPUT_LIBRARY, LDPT_OUTPUT_NAME, LDPT_SET_EXTRA_LIBRARY_PATH,
 LDPT_GNU_LD_VERSION, LDPT_GET_VIEW, LDPT_GET_INPUT_SECTION_COUNT, LDPT_GET_INPUT_SECTION_TYPE,
 LDPT_GET_INPUT_SECTION_NAME, LDPT_GET_INPUT_SECTION_CONTENTS, LDPT_UPDATE_SECTION_ORDER,
 LDPT_ALLOW_SECTION_ORDERING, LDPT_GET_SYMBOLS_V2, LDPT_ALLOW_UNIQUE_SEGMENT_FOR_SECTIONS,
 LDPT_UNIQUE_SEGMENT_FOR_SECTIONS, LDPT_GET_SYMBOLS_V3, LDPT_GET_INPUT_SECTION_ALIGNMENT,
 LDPT_GET_INPUT_SECTION_SIZE, LDPT_REGISTER_NEW_INPUT_HOOK, LDPT_GET_WRAP_SYMBOLS,
 LDPT_ADD_SYMBOLS_V2, LDPT_GET_API_VERSION, LDPT_REGISTER_CLAIM_FILE_HOOK_V2) = range(36)

GNU_LD_VERSION = 240          # what ld.bfd 2.40 passes (major * 100 + minor)


class InputFile(C.Structure):
    _fields_ = [("name", C.c_char_p), ("fd", C.c_int), ("offset", C.c_int64),
                ("filesize", C.c_int64), ("handle", C.c_void_p)]


class _TVValue(C.Union):
    _fields_ = [("val", C.c_int), ("string", C.c_char_p), ("ptr", C.c_void_p)]


class TV(C.Structure):
    _fields_ = [("tag", C.c_int), ("u", _TVValue)]


# struct ld_plugin_symbol (x86-64): `def` is a char followed by symbol_type and
# section_kind (add_symbols v2); older plugins write an int whose low byte is def
SYMBOL = np.dtype([("name", "<u8"), ("version", "<u8"), ("def", "u1"), ("symbol_type", "u1"),
                   ("section_kind", "u1"), ("unused", "u1"), ("visibility", "<i4"),
                   ("size", "<u8"), ("comdat_key", "<u8"), ("resolution", "<i4"), ("pad", "<i4")])
assert SYMBOL.itemsize == 48

_P = C.c_void_p
_ST = C.c_int
CLAIM_HOOK = C.CFUNCTYPE(_ST, C.POINTER(InputFile), C.POINTER(C.c_int))
CLAIM_HOOK_V2 = C.CFUNCTYPE(_ST, C.POINTER(InputFile), C.POINTER(C.c_int), C.c_int)
PLAIN_HOOK = C.CFUNCTYPE(_ST)                              # all-symbols-read, cleanup
NEW_INPUT_HOOK = C.CFUNCTYPE(_ST, C.POINTER(InputFile))
_REGISTER = C.CFUNCTYPE(_ST, _P)
_SYMBOLS = C.CFUNCTYPE(_ST, _P, C.c_int, _P)               # add_symbols, get_symbols
_NAME = C.CFUNCTYPE(_ST, C.c_char_p)                       # add_input_file/library, extra path
_GET_INPUT_FILE = C.CFUNCTYPE(_ST, _P, C.POINTER(InputFile))
_GET_VIEW = C.CFUNCTYPE(_ST, _P, C.POINTER(C.c_void_p))
_RELEASE = C.CFUNCTYPE(_ST, _P)
_SECTION_COUNT = C.CFUNCTYPE(_ST, _P, C.POINTER(C.c_uint))
# struct ld_plugin_section {const void *handle; unsigned shndx} is passed by value:
# on x86-64 (two INTEGER eightbytes) exactly as two separate arguments
_SECTION_UINT = C.CFUNCTYPE(_ST, _P, C.c_uint, C.POINTER(C.c_uint))
_SECTION_NAME = C.CFUNCTYPE(_ST, _P, C.c_uint, C.POINTER(C.c_void_p))
_SECTION_CONTENTS = C.CFUNCTYPE(_ST, _P, C.c_uint, C.POINTER(C.c_void_p), C.POINTER(C.c_size_t))
_SECTION_SIZE = C.CFUNCTYPE(_ST, _P, C.c_uint, C.POINTER(C.c_uint64))
_GET_WRAP = C.CFUNCTYPE(_ST, C.POINTER(C.c_uint64), C.POINTER(C.c_void_p))
# message(int level, const char *format, ...): a closure cannot be variadic, but on
# x86-64 the variadic integer arguments sit where fixed ones would (rdx, rcx, r8,
# r9, then the stack), so extra fixed parameters read them; floats are not read
_VARARGS = 14
_MESSAGE = C.CFUNCTYPE(_ST, C.c_int, C.c_char_p, *([C.c_uint64] * _VARARGS))


_SPEC = None


def format_message(fmt, args):
    """printf for the plugin's message: flags, width, precision (also as *), the
    length modifiers and %d %i %u %o %x %X %c %s %p %%; arguments are 64-bit words."""
    import re
    global _SPEC
    if _SPEC is None:
        _SPEC = re.compile(rb"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?(hh|h|ll|l|L|q|j|z|t)?(.)", re.S)
    args = list(args)

    def take():
        return args.pop(0) if args else 0

    def as_int(v):
        return C.c_int32(v & 0xffffffff).value

    def one(m):
        flags, width, prec, length, conv = (g.decode("latin-1") if g is not None else None
                                            for g in m.groups())
        if conv == "%":
            return "%"
        if width == "*":
            width = str(as_int(take()))
        if prec == "*":
            prec = str(as_int(take()))
        spec = "%" + flags + (width or "") + ("." + prec if prec is not None else "")
        wide = length in ("l", "ll", "L", "q", "j", "z", "t")
        if conv == "s":
            p = take()
            return (spec + "s") % (C.string_at(p).decode("utf-8", "replace") if p else "(null)")
        if conv in "di":
            v = take()
            return (spec + "d") % (C.c_int64(v).value if wide else as_int(v))
        if conv in "uoxX":
            v = take()
            return (spec + ("d" if conv == "u" else conv)) % (v if wide else v & 0xffffffff)
        if conv == "c":
            return (spec + "c") % chr(take() & 0xff)
        if conv == "p":
            return hex(take())
        take()                               # (floats are not in integer registers)
        return m.group(0).decode("latin-1")
    return _format_all(fmt, one)


def _format_all(fmt, one):
    out, pos = [], 0
    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()].decode("utf-8", "replace"))
        out.append(one(m))
        pos = m.end()
    out.append(fmt[pos:].decode("utf-8", "replace"))
    return "".join(out)


def _raise_fd_limit():
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = hard if hard != resource.RLIM_INFINITY else 1 << 16
        want = min(want, 1 << 16)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


class Plugin:
    def __init__(self, path, options):
        self.path = path
        self.name = os.path.basename(path)
        self.options = options
        self.lib = None
        self.claim = None              # claim-file hook (v1 or v2: claim_v2)
        self.claim_v2 = None
        self.all_symbols_read = None
        self.cleanup = None
        self.new_input = None
        self.cleaned = False


class IRFile:
    """A claimed input: its IR symbols take part in resolution; after
    all-symbols-read the objects the plugin adds replace it."""
    is_ir = True

    def __init__(self, name, path, offset, size, data, handle):
        self.name = name              # for messages: path or lib.a(member.o)
        self.path = path              # the file holding the bytes (the archive for members)
        self.offset = offset
        self.size = size
        self.data = data
        self.handle = handle
        self.plugin = None
        self.syms = np.zeros(0, SYMBOL)
        self.names = []               # bytes, one per IR symbol (name@version when versioned)
        self.comdat_keys = []         # bytes or None
        self.gids = None              # symbol-table ids (ir.add_ir_file)
        self.discarded = None         # definitions in a COMDAT another file provides
        self.resolutions = None
        self._view = None
        self._shdrs = None

    def view(self):
        if self._view is None:
            self._view = np.frombuffer(self.data, np.uint8) if len(self.data) else np.zeros(1, np.uint8)
        return self._view

    def __repr__(self):
        return f"<IRFile {self.name}>"


class _NewInput:
    """An object added after all symbols were read, as the new-input hook sees it."""
    is_ir = False

    def __init__(self, name, data):
        self.name, self.data = name, data
        self._view = self._shdrs = None

    view = IRFile.view


def _guard(fn):
    """A callback: exceptions are kept for the host to raise, the plugin gets LDPS_ERR."""
    def wrapper(self, *args):
        try:
            r = fn(self, *args)
            return LDPS_OK if r is None else r
        except BaseException as e:          # noqa: B902 -- nothing may unwind into C
            if self.pending_error is None:
                self.pending_error = e
            return LDPS_ERR
    wrapper.__name__ = fn.__name__
    return wrapper


class PluginHost:
    def __init__(self, config):
        self.config = config
        self.ctx = None
        self.plugins = []
        self.files = []               # claimed IRFiles, in claim order
        self.by_handle = {}           # handle -> IRFile / _NewInput
        self.next_handle = 1
        self.pending_error = None
        self.current = None           # the plugin whose code is running
        self.added_files = []         # add_input_file, in order
        self.added_libraries = []     # add_input_library
        self.extra_paths = []         # set_extra_library_path
        self.fds = {}                 # path -> fd handed to plugins
        self.all_read = False
        self.insert_at = None         # index in ctx.files of the first claimed file
        self.ir_visibility = {}       # symbol id -> most constraining STV_* of IR symbols
        self.archives_at = 0          # len(ctx.archives) at the first claim: rescanned after LTO
        self.cleaned = False
        self._keep = []               # ctypes objects that must outlive the link
        self._callbacks()
        _raise_fd_limit()               # one descriptor per claimed file until all symbols are read
        by_plugin = {}
        for idx, arg in getattr(config, "plugin_opts", []):
            by_plugin.setdefault(max(idx, 0), []).append(arg)
        for i, path in enumerate(config.plugins):
            self.plugins.append(Plugin(path, by_plugin.get(i, [])))
        for p in self.plugins:
            self._load(p)

    # -- loading -------------------------------------------------------------
    def _output_kind(self):
        c = self.config
        if c.relocatable:
            return LDPO_REL
        if c.shared:
            return LDPO_DYN
        if c.pie:
            return LDPO_PIE
        return LDPO_EXEC

    def _callbacks(self):
        cb = {}
        mk = self._keep.append

        def fn(proto, method):
            f = proto(method)
            mk(f)
            return C.cast(f, C.c_void_p).value
        cb[LDPT_MESSAGE] = fn(_MESSAGE, self._message)
        cb[LDPT_REGISTER_CLAIM_FILE_HOOK] = fn(_REGISTER, self._register_claim)
        cb[LDPT_REGISTER_CLAIM_FILE_HOOK_V2] = fn(_REGISTER, self._register_claim_v2)
        cb[LDPT_REGISTER_ALL_SYMBOLS_READ_HOOK] = fn(_REGISTER, self._register_all_symbols_read)
        cb[LDPT_REGISTER_CLEANUP_HOOK] = fn(_REGISTER, self._register_cleanup)
        cb[LDPT_REGISTER_NEW_INPUT_HOOK] = fn(_REGISTER, self._register_new_input)
        cb[LDPT_ADD_SYMBOLS] = fn(_SYMBOLS, self._add_symbols)
        cb[LDPT_ADD_SYMBOLS_V2] = fn(_SYMBOLS, self._add_symbols)
        cb[LDPT_GET_INPUT_FILE] = fn(_GET_INPUT_FILE, self._get_input_file)
        cb[LDPT_GET_VIEW] = fn(_GET_VIEW, self._get_view)
        cb[LDPT_RELEASE_INPUT_FILE] = fn(_RELEASE, self._release_input_file)
        cb[LDPT_GET_SYMBOLS] = fn(_SYMBOLS, self._get_symbols_v1)
        cb[LDPT_GET_SYMBOLS_V2] = fn(_SYMBOLS, self._get_symbols_v2)
        cb[LDPT_GET_SYMBOLS_V3] = fn(_SYMBOLS, self._get_symbols_v3)
        cb[LDPT_ADD_INPUT_FILE] = fn(_NAME, self._add_input_file)
        cb[LDPT_ADD_INPUT_LIBRARY] = fn(_NAME, self._add_input_library)
        cb[LDPT_SET_EXTRA_LIBRARY_PATH] = fn(_NAME, self._set_extra_library_path)
        cb[LDPT_GET_INPUT_SECTION_COUNT] = fn(_SECTION_COUNT, self._section_count)
        cb[LDPT_GET_INPUT_SECTION_TYPE] = fn(_SECTION_UINT, self._section_type)
        cb[LDPT_GET_INPUT_SECTION_NAME] = fn(_SECTION_NAME, self._section_name)
        cb[LDPT_GET_INPUT_SECTION_CONTENTS] = fn(_SECTION_CONTENTS, self._section_contents)
        cb[LDPT_GET_INPUT_SECTION_ALIGNMENT] = fn(_SECTION_UINT, self._section_alignment)
        cb[LDPT_GET_INPUT_SECTION_SIZE] = fn(_SECTION_SIZE, self._section_size)
        cb[LDPT_GET_WRAP_SYMBOLS] = fn(_GET_WRAP, self._get_wrap_symbols)
        self.cb = cb

    def _transfer_vector(self, plugin):
        out = self.config.output or "a.out"
        self._keep.append(out.encode())
        entries = [(LDPT_MESSAGE, self.cb[LDPT_MESSAGE]),
                   (LDPT_API_VERSION, 1),
                   (LDPT_GNU_LD_VERSION, GNU_LD_VERSION),
                   (LDPT_LINKER_OUTPUT, self._output_kind()),
                   (LDPT_OUTPUT_NAME, self._keep[-1])]
        for tag in (LDPT_REGISTER_CLAIM_FILE_HOOK, LDPT_REGISTER_CLAIM_FILE_HOOK_V2,
                    LDPT_REGISTER_ALL_SYMBOLS_READ_HOOK, LDPT_REGISTER_CLEANUP_HOOK,
                    LDPT_ADD_SYMBOLS, LDPT_ADD_SYMBOLS_V2, LDPT_GET_INPUT_FILE, LDPT_GET_VIEW,
                    LDPT_RELEASE_INPUT_FILE, LDPT_GET_SYMBOLS, LDPT_GET_SYMBOLS_V2,
                    LDPT_GET_SYMBOLS_V3, LDPT_ADD_INPUT_FILE, LDPT_ADD_INPUT_LIBRARY,
                    LDPT_SET_EXTRA_LIBRARY_PATH, LDPT_GET_INPUT_SECTION_COUNT,
                    LDPT_GET_INPUT_SECTION_TYPE, LDPT_GET_INPUT_SECTION_NAME,
                    LDPT_GET_INPUT_SECTION_CONTENTS, LDPT_GET_INPUT_SECTION_ALIGNMENT,
                    LDPT_GET_INPUT_SECTION_SIZE, LDPT_REGISTER_NEW_INPUT_HOOK,
                    LDPT_GET_WRAP_SYMBOLS):
            entries.append((tag, self.cb[tag]))
        for opt in plugin.options:
            self._keep.append(opt.encode())
            entries.append((LDPT_OPTION, self._keep[-1]))
        entries.append((LDPT_NULL, 0))
        tv = (TV * len(entries))()
        for slot, (tag, value) in zip(tv, entries):
            slot.tag = tag
            if isinstance(value, bytes):
                slot.u.string = value
            elif tag in (LDPT_API_VERSION, LDPT_GNU_LD_VERSION, LDPT_LINKER_OUTPUT, LDPT_NULL):
                slot.u.val = value
            else:
                slot.u.ptr = value
        self._keep.append(tv)
        return tv

    def _load(self, plugin):
        try:
            plugin.lib = C.CDLL(plugin.path, mode=os.RTLD_NOW)
        except OSError as e:
            why = str(e)
            if why.startswith(plugin.path + ": "):
                why = why[len(plugin.path) + 2:]
            raise LinkError(f"cannot load plugin {plugin.path}: {why}") from None
        try:
            onload = plugin.lib.onload
        except AttributeError:
            raise LinkError(f"{plugin.path}: not a linker plugin (it has no 'onload' function)") from None
        onload.restype = C.c_int
        onload.argtypes = [C.POINTER(TV)]
        tv = self._transfer_vector(plugin)
        status = self._call(plugin, onload, tv)
        if status != LDPS_OK:
            raise LinkError(f"{plugin.path}: error loading plugin (onload returned {status})")

    def _call(self, plugin, fn, *args, check=True):
        """Run plugin code; then raise what its callbacks left (an exception of
        ours, or the errors it reported: errors reported before are not its)."""
        prev, self.current = self.current, plugin
        errors = diag.errors
        try:
            status = fn(*args)
        finally:
            self.current = prev
        err, self.pending_error = self.pending_error, None
        if err is not None and check:
            raise err
        if check and diag.errors > errors:
            diag.check()
        return status

    # -- what the loader calls ---------------------------------------------------
    def fd_for(self, path):
        fd = self.fds.get(path)
        if fd is None:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError as e:
                raise LinkError(f"cannot open {path}: {e.strerror}") from None
            self.fds[path] = fd
        return fd

    def claim(self, name, path, offset, data):
        """Offer one input to the claim-file hooks; the IRFile when claimed."""
        hooks = [p for p in self.plugins if p.claim is not None or p.claim_v2 is not None]
        if not hooks or self.all_read:
            return None
        handle = self.next_handle
        self.next_handle += 1
        f = IRFile(name, path, offset, len(data), data, handle)
        self.by_handle[handle] = f
        infile = InputFile(path.encode(), self.fd_for(path), offset, len(data), handle)
        claimed = C.c_int(0)
        try:
            for p in hooks:
                if p.claim_v2 is not None:
                    status = self._call(p, p.claim_v2, C.byref(infile), C.byref(claimed), 1)
                else:
                    status = self._call(p, p.claim, C.byref(infile), C.byref(claimed))
                if status != LDPS_OK:
                    raise LinkError(f"{name}: plugin {p.name} reported an error claiming the file")
                if claimed.value:
                    f.plugin = p
                    break
        finally:
            f._shdrs = None
        if not claimed.value:
            del self.by_handle[handle]
            f._view = None
            return None
        f.input = infile
        self.files.append(f)
        return f

    def offer(self, name, path, offset, data):
        """The loader's question for each input file and archive member: is it IR
        that a plugin claims?  Claimed files enter the symbol table (ir.py)."""
        from ldpy.lto import is_ir_candidate
        if not is_ir_candidate(data) and not (self.config.relocatable and bytes(data[:4]) == b"\x7fELF"):
            # (-r offers every object, as ld.bfd: GCC's plugin counts the ones it
            # does not claim, and with any it compiles to code (nolto-rel), else
            # it writes IR again)
            return False
        f = self.claim(name, path, offset, data)
        if f is None:
            return False
        from ldpy.lto.ir import add_ir_file
        add_ir_file(self.ctx, self, f)
        return True

    def offer_member(self, ar, m, name, data):
        """offer() for an archive member: the archive's file and the member's offset
        (a thin archive's member is its own file)."""
        if ar.thin:
            if m.origin:
                inner, im = ar.nested(m)
                claimed = self.offer(name, inner.path, im.data_offset, data)
            else:
                claimed = self.offer(name, m.path, 0, data)
        else:
            claimed = self.offer(name, ar.path, m.data_offset, data)
        if claimed and len(self.files) == 1:
            # the first claimed file is a member: its archive is searched again too
            self.archives_at = next((i for i, a in enumerate(self.ctx.archives) if a is ar),
                                    self.archives_at)
        return claimed

    def finish(self, loader):
        from ldpy.lto.ir import finish
        finish(loader, self)

    def notify_new_input(self, name, path, offset, data):
        """The new-input hook (gold's): each object added after all symbols were read."""
        hooks = [p for p in self.plugins if p.new_input is not None]
        if not hooks:
            return
        handle = self.next_handle
        self.next_handle += 1
        f = _NewInput(name, data)
        self.by_handle[handle] = f
        infile = InputFile(path.encode(), self.fd_for(path), offset, len(data), handle)
        self._keep.append(infile)
        for p in hooks:
            self._call(p, p.new_input, C.byref(infile))

    def run_all_symbols_read(self):
        self.all_read = True
        for p in self.plugins:
            if p.all_symbols_read is not None:
                status = self._call(p, p.all_symbols_read)
                if status != LDPS_OK:
                    raise LinkError(f"{p.path}: plugin reported error after all symbols read")

    def cleanup(self):
        """The cleanup hooks (temporary files), once, however the link ends."""
        if self.cleaned:
            return
        self.cleaned = True
        for p in self.plugins:
            if p.cleanup is not None and not p.cleaned:
                p.cleaned = True
                self._call(p, p.cleanup, check=False)     # (its messages are printed)
        self.close_fds()

    def close_fds(self):
        """The descriptors handed to the plugins (get_input_file opens them again)."""
        for fd in self.fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = {}

    # -- callbacks -----------------------------------------------------------------
    @_guard
    def _message(self, level, fmt, *args):
        text = format_message(fmt or b"", args)
        who = self.current.name if self.current is not None else "plugin"
        if level == LDPL_INFO:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        elif level == LDPL_WARNING:
            diag.warn(f"{who}: {text}")
        elif level == LDPL_ERROR:
            diag.error(f"{who}: {text}")
        else:
            self._fatal(f"{who}: {text}")
        return LDPS_OK

    def _fatal(self, msg):
        """LDPL_FATAL: the plugin does not expect to continue.  Report, clean up,
        remove the output and leave now (as ld.bfd's einfo %F does)."""
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        try:
            self.cleanup()
        except BaseException:       # noqa: B902
            pass
        out = self.config.output
        try:
            if out and os.path.isfile(out) and out not in {s.name for s in self.config.inputs}:
                os.unlink(out)
        except OSError:
            pass
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    @_guard
    def _register_claim(self, handler):
        self.current.claim = CLAIM_HOOK(handler)

    @_guard
    def _register_claim_v2(self, handler):
        self.current.claim_v2 = CLAIM_HOOK_V2(handler)

    @_guard
    def _register_all_symbols_read(self, handler):
        self.current.all_symbols_read = PLAIN_HOOK(handler)

    @_guard
    def _register_cleanup(self, handler):
        self.current.cleanup = PLAIN_HOOK(handler)

    @_guard
    def _register_new_input(self, handler):
        self.current.new_input = NEW_INPUT_HOOK(handler)

    @_guard
    def _add_symbols(self, handle, nsyms, syms):
        f = self.by_handle.get(handle)
        if not isinstance(f, IRFile) or self.all_read:
            return LDPS_BAD_HANDLE
        if nsyms <= 0:
            return LDPS_OK
        raw = np.frombuffer((C.c_char * (nsyms * SYMBOL.itemsize)).from_address(syms), SYMBOL).copy()
        names, keys = [], []
        for p, v, k in zip(raw["name"].tolist(), raw["version"].tolist(), raw["comdat_key"].tolist()):
            name = C.string_at(p) if p else b""
            if v:
                name += b"@" + C.string_at(v)
            names.append(name)
            keys.append(C.string_at(k) if k else None)
        f.syms = np.concatenate([f.syms, raw]) if len(f.syms) else raw
        f.names.extend(names)
        f.comdat_keys.extend(keys)

    def _get_symbols(self, handle, nsyms, syms, version):
        f = self.by_handle.get(handle)
        if not isinstance(f, IRFile):
            return LDPS_BAD_HANDLE
        if f.resolutions is None:
            if version >= 3:
                return LDPS_NO_SYMS
            from ldpy.lto.resolution import resolve_all
            resolve_all(self.ctx, self)
        if nsyms <= 0:
            return LDPS_OK
        out = np.frombuffer((C.c_char * (nsyms * SYMBOL.itemsize)).from_address(syms), SYMBOL)
        from ldpy.lto.resolution import for_version
        res = for_version(f.resolutions, version)
        n = min(nsyms, len(res))
        out["resolution"][:n] = res[:n]
        return LDPS_OK

    @_guard
    def _get_symbols_v1(self, handle, nsyms, syms):
        return self._get_symbols(handle, nsyms, syms, 1)

    @_guard
    def _get_symbols_v2(self, handle, nsyms, syms):
        return self._get_symbols(handle, nsyms, syms, 2)

    @_guard
    def _get_symbols_v3(self, handle, nsyms, syms):
        return self._get_symbols(handle, nsyms, syms, 3)

    @_guard
    def _get_input_file(self, handle, out):
        f = self.by_handle.get(handle)
        if not isinstance(f, IRFile):
            return LDPS_BAD_HANDLE
        o = out.contents
        o.name = f.input.name
        o.fd = self.fd_for(f.path)
        o.offset = f.offset
        o.filesize = f.size
        o.handle = handle

    @_guard
    def _release_input_file(self, handle):
        return LDPS_OK if handle in self.by_handle else LDPS_BAD_HANDLE

    @_guard
    def _get_view(self, handle, viewp):
        f = self.by_handle.get(handle)
        if f is None:
            return LDPS_BAD_HANDLE
        viewp[0] = f.view().ctypes.data

    @_guard
    def _add_input_file(self, path):
        self.added_files.append(os.fsdecode(path))

    @_guard
    def _add_input_library(self, name):
        self.added_libraries.append(os.fsdecode(name))

    @_guard
    def _set_extra_library_path(self, path):
        self.extra_paths.append(os.fsdecode(path))

    # input sections of the file being claimed (or just added)
    def _sections(self, handle):
        f = self.by_handle.get(handle)
        if f is None:
            return None, None
        if f._shdrs is None:
            from ldpy.elf.format import dtypes
            data = f.data
            if len(data) < 64 or bytes(data[:4]) != b"\x7fELF" or data[4] != 2 or data[5] != 1:
                f._shdrs = ()
            else:
                dt = dtypes(True, True)
                eh = np.frombuffer(data, dt.ehdr, 1, 0)[0]
                shoff, shnum = int(eh["e_shoff"]), int(eh["e_shnum"])
                if shoff and shnum == 0:
                    shnum = int(np.frombuffer(data, dt.shdr, 1, shoff)[0]["sh_size"])
                f._shdrs = np.frombuffer(data, dt.shdr, shnum, shoff) if shoff else ()
                f._shstrndx = int(eh["e_shstrndx"])
                if f._shstrndx == 0xffff and shnum:
                    f._shstrndx = int(f._shdrs[0]["sh_link"])
        return f, f._shdrs

    @_guard
    def _section_count(self, handle, count):
        f, sh = self._sections(handle)
        if f is None:
            return LDPS_BAD_HANDLE
        count[0] = len(sh)

    def _section(self, handle, shndx):
        f, sh = self._sections(handle)
        if f is None or shndx >= len(sh):
            return None, None
        return f, sh[shndx]

    @_guard
    def _section_type(self, handle, shndx, out):
        f, s = self._section(handle, shndx)
        if f is None:
            return LDPS_BAD_HANDLE
        out[0] = int(s["sh_type"])

    @_guard
    def _section_alignment(self, handle, shndx, out):
        f, s = self._section(handle, shndx)
        if f is None:
            return LDPS_BAD_HANDLE
        out[0] = int(s["sh_addralign"])

    @_guard
    def _section_size(self, handle, shndx, out):
        f, s = self._section(handle, shndx)
        if f is None:
            return LDPS_BAD_HANDLE
        out[0] = int(s["sh_size"])

    @_guard
    def _section_name(self, handle, shndx, out):
        f, s = self._section(handle, shndx)
        if f is None:
            return LDPS_BAD_HANDLE
        strtab = f._shdrs[f._shstrndx]
        start = int(strtab["sh_offset"]) + int(s["sh_name"])
        raw = bytes(f.data[start:int(strtab["sh_offset"]) + int(strtab["sh_size"])])
        name = raw.split(b"\0", 1)[0]
        libc = C.CDLL(None)
        libc.malloc.restype = C.c_void_p
        libc.malloc.argtypes = [C.c_size_t]
        buf = libc.malloc(len(name) + 1)          # the plugin frees it
        if not buf:
            return LDPS_ERR
        C.memmove(buf, name + b"\0", len(name) + 1)
        out[0] = buf

    @_guard
    def _section_contents(self, handle, shndx, out, size):
        f, s = self._section(handle, shndx)
        if f is None:
            return LDPS_BAD_HANDLE
        view = f.view()
        off = int(s["sh_offset"])
        out[0] = view.ctypes.data + off
        size[0] = int(s["sh_size"]) if int(s["sh_type"]) != 8 else 0     # SHT_NOBITS: no bytes

    @_guard
    def _get_wrap_symbols(self, count, listp):
        names = [w.encode() for w in self.config.wrap]
        arr = (C.c_char_p * max(len(names), 1))(*names)
        self._keep.append(arr)
        count[0] = len(names)
        listp[0] = C.cast(arr, C.c_void_p).value if names else None


class _ArConfig:
    """The little of a link's configuration a plugin sees from ldpy-ar."""
    output = ""
    relocatable = True
    shared = pie = False
    wrap = ()
    inputs = ()

    def __init__(self, path):
        self.plugins = [path]
        self.plugin_opts = []


def ir_symbol_reader(path):
    """For ldpy-ar --plugin: a function from a member's bytes to the names its IR
    defines (None when the plugin does not claim it).  The bytes reach the
    plugin through an anonymous in-memory file."""
    import atexit
    host = PluginHost(_ArConfig(path))
    atexit.register(host.cleanup)

    def read(blob):
        fd = os.memfd_create("ldpy-ar-member")
        try:
            view = memoryview(blob)
            while view:
                view = view[os.write(fd, view):]
            proc = f"/proc/self/fd/{fd}"
            host.fds[proc] = os.dup(fd)
            f = host.claim("archive member", proc, 0, blob)
        finally:
            os.close(fd)
        if f is None:
            return None
        defs = f.syms["def"].tolist()
        return [n for n, d in zip(f.names, defs) if d in (LDPK_DEF, LDPK_WEAKDEF, LDPK_COMMON)]
    return read
