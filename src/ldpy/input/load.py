"""Reading the inputs in command-line order: objects, archives (members pulled
on demand, --whole-archive, --start-group iteration), library search, COMDAT
group selection, and symbol resolution of every loaded object."""
import copy
import os

from ldpy.diag import LinkError, diag
from ldpy.input.archive import Archive, is_archive
from ldpy.elf.format import MACHINE_NAMES
from ldpy.symbols import UNDEF
from ldpy.input.object import ObjectFile, check_elf_header
from ldpy.lto import is_bitcode, ir_only_message
from ldpy.outfile import read_input, note_read
from ldpy.input import warm

DEFAULT_SEARCH_DIRS = ["/usr/local/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
                       "/usr/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu64",
                       "/usr/local/lib64", "/lib64", "/usr/lib64", "/usr/local/lib", "/lib",
                       "/usr/lib", "/usr/x86_64-linux-gnu/lib64", "/usr/x86_64-linux-gnu/lib"]


def map_file(path, what="input file"):
    try:
        with open(path, "rb") as fh:
            return read_input(path, fh)     # (outfile.py: why read, not mmapped)
    except FileNotFoundError:
        raise LinkError(f"cannot find {path}: No such file or directory")
    except IsADirectoryError:
        raise LinkError(f"{path}: is a directory, not an {what}")
    except OSError as e:
        raise LinkError(f"cannot open {path}: {e.strerror}")


_MAX_SCRIPT_DEPTH = 64          # input scripts naming input scripts
_MAX_SCRIPT_LOADS = 10_000      # in all: scripts naming two others each, 64 deep, would never end


class _Spec:
    def __init__(self, name, static):
        self.name, self.static = name, static


class Loader:
    def __init__(self, ctx):
        self.ctx = ctx
        self._common_probes = set()
        self._scripts = []                 # real paths of the input scripts being read
        self._script_loads = 0
        # --stats steps of the load pass (plain calls without --stats)
        timed = ctx.passes.timed
        self.read_object = timed("read objects", ObjectFile)
        self.take_object = timed("objects the server read", ObjectFile.take)
        self.resolve_object = timed("resolve symbols", ctx.symtab.add_file)
        cfg = ctx.config
        self.search_dirs = list(cfg.library_paths)
        if not cfg.nostdlib:
            sysroot = cfg.sysroot or ""
            self.search_dirs += [sysroot + d for d in (ctx.target.SEARCH_DIRS or DEFAULT_SEARCH_DIRS)]

    # -- library search ---------------------------------------------------
    def find_library(self, spec):
        name = spec.name
        if name.startswith(":"):
            candidates = [name[1:]]
        elif spec.static:
            candidates = [f"lib{name}.a"]
        else:
            candidates = [f"lib{name}.so", f"lib{name}.a"]
        verbose = self.ctx.config.verbose
        for d in self.search_dirs:
            for c in candidates:
                p = os.path.join(d, c)
                found = os.path.isfile(p)
                if verbose:                    # --verbose: the search, as GNU ld shows it
                    print(f"attempt to open {p} {'succeeded' if found else 'failed'}")
                if found:
                    return p
        raise LinkError(f"cannot find -l{name}")

    # -- the main loop ------------------------------------------------------
    def load_all(self):
        self.groups = []                   # stack of lists of archives in open groups
        self.lazy = None                   # the --start-lib group being read
        self.lazy_groups = []
        for spec in self.ctx.config.inputs:
            self.process(spec.kind, spec.name, spec)
        if self.groups:
            raise LinkError("--start-group without a matching --end-group")
        # lld: a lazy object is also taken for references that come after its group,
        # and --undefined-glob takes whatever defines a matching name
        if self.ctx.config.undefined_globs:
            self._undefined_globs(self.ctx.config.undefined_globs)
        while any([self._scan_lazy(g) for g in self.lazy_groups]):
            pass
        warm.flush()                           # (a server child: the members it parsed)
        if self.ctx.lto is not None:
            self.ctx.lto.finish(self)          # LTO: resolutions, compile, the plugin's objects in
        if not self.ctx.files and not self.ctx.archives and not self.ctx.shared_files:
            raise LinkError("no input files")   # (an archive nothing was taken from links, as in GNU ld)

    def process(self, kind, name, spec):
        if kind == "lib_start":
            self.lazy = LazyObjects()
        elif kind == "lib_end":
            self.lazy_groups.append(self.lazy)
            self._scan_lazy(self.lazy)
            self.lazy = None
        elif kind == "file" and self.lazy is not None and self._add_lazy(name):
            pass
        elif kind == "group_start":
            self.groups.append([])
        elif kind == "group_end":
            if not self.groups:
                raise LinkError("--end-group without a matching --start-group")
            archives = self.groups.pop()
            self.iterate_group(archives)
            if self.groups:
                self.groups[-1].extend(archives)
        elif kind in ("file", "lib"):
            path = self.find_library(_Spec(name, spec.static)) if kind == "lib" else name
            if kind == "file" and self.ctx.config.verbose:
                print(f"attempt to open {path} {'succeeded' if os.path.isfile(path) else 'failed'}")
            # a library without DT_SONAME is needed by the name it was given: the
            # file name for -l, else the path as written (GNU ld, gold, lld, mold)
            ar = self.load_path(path, spec, os.path.basename(path) if kind == "lib" else path)
            if ar is not None and self.groups:
                self.groups[-1].append(ar)
        elif kind == "script":                 # -T FILE: a script, whatever it holds
            path = name
            if not os.path.exists(path) and not os.path.isabs(path):
                path = next((os.path.join(d, name) for d in self.search_dirs
                             if os.path.isfile(os.path.join(d, name))), name)
            data = map_file(path, "linker script")
            try:
                text = bytes(data).decode("utf-8")
            except UnicodeDecodeError:
                raise LinkError(f"{path}: not a linker script (not text)")
            self._load_script(path, text, spec)

    def load_path(self, path, spec, needed_name=None):
        cfg = self.ctx.config
        held = None
        if warm.held():
            held = warm.lookup(path)            # (a link server's child: parsed by the server)
        if held is not None:
            kind, parsed, st = held
            note_read(st, path)
            data = parsed.data
        else:
            data = map_file(path)
        if cfg.trace or cfg.verbose:
            print(path)                        # -t: every file opened, as GNU ld prints it
        self.ctx.loaded_paths.append(path)     # -Map's LOAD lines
        if is_archive(data):
            if held is not None:
                ar = parsed.fresh_copy()
            else:
                ar = Archive(path, data)
                warm.report("archive", path)
            self.ctx.archives.append(ar)
            if spec.whole_archive:
                for m in ar.all_members():
                    self._load_member(ar, m)
            else:
                if not ar.has_index and ar.has_members():
                    raise LinkError(f"{path}: archive has no index; run ranlib to add one")
                self.scan_archive(ar)
            return ar
        if self.ctx.lto is not None and self.ctx.lto.offer(path, path, 0, data):
            return None                        # claimed by an LTO plugin: IR symbols only
        if bytes(data[:4]) == b"\x7fELF":
            check_elf_header(data, path)
            self._adopt_target(data)
            self._check_x86_arch(data, path)
            if len(data) > 17 and data[16] == 3 and data[17] == 0 or \
                    len(data) > 17 and data[17] == 3 and data[16] == 0:
                self.add_shared(path, data, spec, needed_name, parsed=parsed if held is not None else None)
            elif held is not None and kind == "object" and not parsed.taken and not cfg.relocatable:
                self.add_object(self.take_object(parsed, self.ctx.comdat, None, None))   # (input/warm.py)
            else:
                self.add_object(self.read_object(path, data, comdat=self.ctx.comdat, keep_ir=cfg.relocatable))
                if not cfg.relocatable:
                    warm.report("object", path)     # (crt1.o and its kin: every link names them)
            return None
        if len(data) == 0:
            raise LinkError(f"{path}: file is empty")
        if held is not None and kind == "script":
            self._load_script(path, parsed.text, spec, parsed.script)     # (input/warm.py)
            return None
        if _looks_like_text(data):
            self._load_script(path, bytes(data).decode("utf-8"), spec)
            warm.report("script", path)         # (libc.so and its kin: every link names them)
            return None
        if is_bitcode(data):
            raise LinkError(f"{path}: {ir_only_message(self.ctx)}")
        raise LinkError(f"{path}: file format not recognized")

    def _load_script(self, path, text, spec, script=None):
        """A linker script: its input commands act here, in command-line order;
        its layout commands (SECTIONS, MEMORY, PHDRS, assignments) go to ctx.script.
        A script that names itself, directly or through others (libfoo.so holding
        GROUP(libfoo.so) or INPUT(-lfoo)), is an error, not an endless loop."""
        stack = self._scripts
        real = os.path.realpath(path)
        if real in stack:
            chain = " -> ".join([os.path.basename(p) for p in stack[stack.index(real):]] +
                                [os.path.basename(real)])
            raise LinkError(f"{path}: linker script includes itself ({chain})")
        self._script_loads += 1
        if self._script_loads > _MAX_SCRIPT_LOADS:
            raise LinkError(f"{path}: more than {_MAX_SCRIPT_LOADS} linker scripts read in one link "
                            f"(scripts naming each other over and over)")
        if len(stack) >= _MAX_SCRIPT_DEPTH:
            raise LinkError(f"{path}: linker scripts nested too deeply (more than "
                            f"{_MAX_SCRIPT_DEPTH} scripts naming each other)")
        stack.append(real)
        try:
            self._run_script(path, text, spec, script)
        finally:
            stack.pop()

    def _run_script(self, path, text, spec, script=None):
        from ldpy.script.cache import parse_script_file
        from ldpy.script import ast
        if self.ctx.config.verbose:
            print(f"opened script file {path}")
        if script is None:
            script = parse_script_file(text, path, [os.path.dirname(path)] + self.search_dirs)
        if self.ctx.script is None:
            from ldpy.script.linkscript import LinkScript
            self.ctx.script = LinkScript()
        self.ctx.script.add(script)
        for cmd in script.commands:
            if isinstance(cmd, (ast.Input, ast.Group)):
                items = [("group_start", "", False)] if isinstance(cmd, ast.Group) else []
                for it in cmd.items:
                    items.append(("lib" if it.is_lib else "file", it.name, it.as_needed))
                if isinstance(cmd, ast.Group):
                    items.append(("group_end", "", False))
                for kind, name, as_needed in items:
                    if kind == "file":
                        name = self._script_file(name, path)
                    item_spec = spec
                    if as_needed and not spec.as_needed:
                        item_spec = copy.copy(spec)
                        item_spec.as_needed = True
                    self.process(kind, name, item_spec)
            elif isinstance(cmd, ast.Command):
                self._script_command(cmd, path, spec)

    def _script_command(self, cmd, path, spec):
        name, args = cmd.name, cmd.args
        if name == "SEARCH_DIR" and args:
            self.search_dirs.insert(0, args[0])
        elif name == "ENTRY" and args:
            if not self.ctx.config.entry:
                self.ctx.script_entry = args[0]
                # GNU ld makes a script's entry symbol an undefined reference only
                # for executables (after_parse_default): a shared object's _start stays out
                if not self.ctx.config.shared:
                    self.ctx.symtab.reference(args[0].encode(), soft=True)
        elif name == "EXTERN":
            for a in args:
                self.ctx.symtab.reference(a.encode(), soft=True)
        elif name == "STARTUP" and args:
            self.process("file", self._script_file(args[0], path), spec)
        elif name == "OUTPUT" and args:
            if self.ctx.config.output == "a.out":   # -o wins over OUTPUT()
                self.ctx.config.output = args[0]

    def _script_file(self, name, script_path):
        """A file INPUT/GROUP/STARTUP names, found as GNU ld finds it
        (lang_add_input_file, ldfile_open_file): `=/x` and `$SYSROOT/x` are in the
        sysroot; an absolute name from a script inside the sysroot is looked for
        there only; a relative one in the script's directory, the current one,
        then the library search path."""
        sysroot = self.ctx.config.sysroot or ""
        if name.startswith("="):
            name = sysroot + name[1:]
        elif name.startswith("$SYSROOT"):
            name = sysroot + name[len("$SYSROOT"):]
        elif os.path.isabs(name) and _inside(script_path, sysroot):
            rooted = sysroot + name
            if os.path.exists(rooted):
                return rooted
            raise LinkError(f"cannot find {name} inside {sysroot}")
        candidates = []
        if not os.path.isabs(name):
            # ('./NAME' beside a script in the current directory, as GNU ld writes it)
            local = os.path.join(os.path.dirname(script_path) or ".", name)
            if os.path.isfile(local):
                candidates.append(local)
        if os.path.exists(name):
            candidates.append(name)
        if not os.path.isabs(name):
            candidates += [p for p in (os.path.join(d, name) for d in self.search_dirs) if os.path.isfile(p)]
        if not candidates:
            raise LinkError(f"cannot find {name}: No such file or directory")
        # like ldfile_try_open_bfd: an object of another machine is passed over for
        # the next one the search finds (a 32-bit a.o here, the 64-bit one in -L dir);
        # when every one is foreign the first is taken (and fixes the target or fails)
        for i, p in enumerate(candidates):
            if self._compatible_elf(p):
                for skipped in candidates[:i]:
                    diag.warn(f"skipping incompatible {skipped} when searching for {name}")
                return p
        return candidates[0]

    def _compatible_elf(self, path):
        """False for an ELF file of another machine or class than the link's target."""
        try:
            with open(path, "rb") as fh:
                head = fh.read(20)
        except OSError:
            return True
        if len(head) < 20 or head[:4] != b"\x7fELF" or head[5] not in (1, 2):
            return True
        t = self.ctx.target
        machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
        return machine == t.MACHINE and (head[4] == 2) == t.IS64

    def scan_archive(self, ar):
        """Pull members that define currently undefined symbols, until none does."""
        symtab = self.ctx.symtab
        undefined = symtab.undefined
        index = ar.index
        pulled_any = False
        while True:
            wanted = undefined & index.keys()     # (in C, over the smaller side)
            from_libraries = symtab.wanted_by_libraries(index.keys()) if symtab.shlib_strong_refs else ()
            if from_libraries:
                wanted |= from_libraries
            if not wanted:
                if not self._pull_for_commons(ar):
                    return pulled_any
                pulled_any = True
                continue
            progress = False
            for name in sorted(wanted, key=index.__getitem__):
                if name not in undefined and not (name in from_libraries and
                                                  symtab.wanted_by_libraries({name})):
                    continue
                moff = index[name]
                if moff in ar.extracted:
                    continue
                m = ar.member_at(moff)
                if m is None:
                    raise LinkError(f"{ar.path}: symbol index points to offset {moff:#x}, "
                                    f"which is not a member")
                self._load_member(ar, m, reason=name)
                progress = pulled_any = True
            if not progress and not self._pull_for_commons(ar):
                return pulled_any
            pulled_any = True

    # -- --start-lib / --end-lib and --undefined-glob (lld) ------------------------------
    def _add_lazy(self, path):
        """An ELF object inside --start-lib: indexed by what it defines, loaded when a
        reference wants it.  Anything else (archives, libraries) loads as usual."""
        data = map_file(path)
        if bytes(data[:4]) != b"\x7fELF" or len(data) < 18 or data[16] != 1 or data[17] != 0:
            return False
        check_elf_header(data, path)
        self._check_x86_arch(data, path)
        if self.ctx.config.trace or self.ctx.config.verbose:
            print(path)
        self.ctx.loaded_paths.append(path)
        probe = self.read_object(path, data)
        self.lazy.add(path, data, probe.defined_global_names())
        return True

    def _scan_lazy(self, group):
        """Load the objects of a lazy group that define undefined symbols, until none does."""
        undefined = self.ctx.symtab.undefined
        pulled = False
        while True:
            wanted = [i for i in sorted({group.index[n] for n in undefined & group.index.keys()})
                      if i not in group.loaded]
            if not wanted:
                return pulled
            for i in wanted:
                group.loaded.add(i)
                path, data = group.files[i]
                self.add_object(self.read_object(path, data, comdat=self.ctx.comdat))
            pulled = True

    def _undefined_globs(self, patterns):
        """--undefined-glob: every name matching a pattern is a -u symbol (a --gc-sections
        root); archive members and lazy objects that define one are loaded."""
        import fnmatch
        import re
        rx = re.compile("|".join(fnmatch.translate(p) for p in patterns).encode("latin-1"), re.S)
        cfg, st = self.ctx.config, self.ctx.symtab
        names = {n for n in st.by_name if rx.match(n)}
        for ar in self.ctx.archives:
            for name, moff in ar.index.items():
                sym = st.get(name)
                if rx.match(name) and (sym is None or sym.kind == UNDEF) and moff not in ar.extracted:
                    m = ar.member_at(moff)
                    if m is not None:
                        names.add(name)
                        self._load_member(ar, m, reason=None)
        for g in self.lazy_groups:
            for name, i in g.index.items():
                if rx.match(name) and i not in g.loaded:
                    names.add(name)
                    g.loaded.add(i)
                    self.add_object(self.read_object(g.files[i][0], g.files[i][1], comdat=self.ctx.comdat))
        for name in sorted(names):
            st.reference(name, soft=True)
            if name.decode("utf-8", "replace") not in cfg.undefined:
                cfg.undefined.append(name.decode("utf-8", "replace"))
        self.iterate_group(self.ctx.archives)

    def _pull_for_commons(self, ar):
        """GNU ld's rule ("Linkers" part 12): a common symbol pulls an archive member
        that defines it for real, as global data (elf_link_is_defined_archive_symbol)."""
        commons = self.ctx.symtab.commons
        if not commons:
            return False
        probed = self._common_probes           # (archive, member, name) found not to qualify
        for name in sorted(commons & ar.index.keys(), key=ar.index.__getitem__):
            moff = ar.index[name]
            if name not in commons or moff in ar.extracted or (id(ar), moff, name) in probed:
                continue
            m = ar.member_at(moff)
            if m is None:
                continue                       # scan_archive reports a bad index
            if bytes(ar.member_data(m)[:4]) != b"\x7fELF":
                continue                       # LTO IR (bitcode): no common to compare with
            probe = self.read_object(ar.member_display(m), ar.member_data(m), archive=ar, member=m)
            probed.add((id(ar), moff, name))
            if probe.defines_global_data(name):
                self._load_member(ar, m, reason=name)
                return True
        return False

    def iterate_group(self, archives):
        while True:
            if not any([self.scan_archive(ar) for ar in archives]):
                return

    def _load_member(self, ar, m, reason=None):
        ar.extracted.add(m.offset)
        ctx = self.ctx
        held = ar.warm_members.get(m.offset) if ar.warm_members and not ctx.config.relocatable else None
        if held is not None and held.taken:
            held = None                         # (a second use parses the bytes anew)
        if held is not None and ctx.lto is None:
            # parsed by the link server (input/warm.py): an ELF object of this member's
            # bytes, so only what depends on this link is looked at
            self._note_member(held.name, reason)
            self._adopt_machine(held.machine, held.is64)
            self._check_x86_machine(held.machine, 2 if held.is64 else 1, held.name)
        else:
            name = ar.member_display(m)
            self._note_member(name, reason)
            data = ar.member_data(m)
            if is_archive(data):
                raise LinkError(f"{name}: nested archives are only supported in thin archives")
            if ctx.lto is not None and ctx.lto.offer_member(ar, m, name, data):
                return                         # claimed by an LTO plugin: IR symbols only
            if is_bitcode(data):
                raise LinkError(f"{name}: {ir_only_message(ctx)}")
            if bytes(data[:4]) == b"\x7fELF" and len(data) > 20:
                self._adopt_target(data)
                self._check_x86_arch(data, name)
        if held is not None:
            f = self.take_object(held, ctx.comdat, ar, m)
            warm.hits += 1
        else:
            f = self.read_object(name, data, archive=ar, member=m, comdat=ctx.comdat,
                                 keep_ir=ctx.config.relocatable)
            if not ar.thin and not ctx.config.relocatable:
                warm.report_member(ar.path, m.offset)
        excluded = ctx.config.exclude_libs
        if excluded and ("ALL" in excluded or os.path.basename(ar.path) in excluded):
            f.no_export = True                 # --exclude-libs: its definitions become hidden
        self.add_object(f)

    def _note_member(self, name, reason):
        """-t prints the member; -Map's archive list says which symbol pulled it."""
        ctx = self.ctx
        if reason is not None:
            sym = ctx.symtab.get(reason)
            by = sym.ref_file.name if sym is not None and sym.ref_file is not None else "--undefined"
            ctx.member_reasons.append((name, by, reason))
        if ctx.config.trace:
            print(name)       # archive members: gold and lld at -t (ld.bfd at -t -t)

    def _adopt_target(self, data):
        """Without -m, the first ELF input names the target (as GNU ld's default
        emulation would be chosen for it)."""
        if len(data) >= 20:
            self._adopt_machine(int.from_bytes(bytes(data[18:20]), "little" if data[5] == 1 else "big"),
                                data[4] == 2)

    def _adopt_machine(self, machine, is64):
        ctx = self.ctx
        if ctx.target_fixed or ctx.files or ctx.shared_files:
            return
        from ldpy.arch.base import for_machine
        t = for_machine(machine)
        if t is not None and t.IS64 == is64:
            ctx.set_target(t)
        ctx.target_fixed = True

    def _check_x86_arch(self, data, name):
        """An i386 or x32 object in an x86-64 link: GNU ld's message (BFD knows both)."""
        if len(data) >= 20:
            self._check_x86_machine(int.from_bytes(bytes(data[18:20]), "little" if data[5] == 1 else "big"),
                                    data[4], name)

    def _check_x86_machine(self, machine, elf_class, name):
        if self.ctx.target.NAME != "x86-64":
            return
        arch = _OTHER_X86.get((machine, elf_class))
        if arch is not None:
            raise LinkError(f"{arch} architecture of input file '{name}' is incompatible "
                            f"with i386:x86-64 output")

    def add_object(self, f):
        ctx = self.ctx
        if f.machine != ctx.target.MACHINE or f.is64 != ctx.target.IS64:
            raise LinkError(f"{f.name}: incompatible object: it is for {f.machine_name()} "
                            f"({'64' if f.is64 else '32'}-bit), the output is {ctx.target.NAME}")
        if f.is_lto_only() and not ctx.config.relocatable:      # (-r copies IR through, as ld.bfd)
            raise LinkError(f"{f.name}: {ir_only_message(ctx)}")
        self._select_comdat(f)
        f.file_id = len(ctx.files)
        ctx.files.append(f)
        if ctx.config.trace_symbols:
            self._trace_symbols(f.name, f.global_names, f.shndx[f.first_global:].tolist())
        self.resolve_object(f)

    def add_shared(self, path, data, spec, needed_name=None, parsed=None):
        from ldpy.input.shared import SharedFile
        ctx = self.ctx
        if spec.static and not getattr(spec, "found_by_search", False):
            raise LinkError(f"attempted static link of dynamic object '{path}'")
        as_needed = getattr(spec, "as_needed", False)
        if parsed is not None:
            sf = parsed.fresh_copy(as_needed)
        else:
            read_shared = ctx.passes.timed("read shared libraries", SharedFile.read)
            sf = read_shared(path, data, as_needed=as_needed)
            warm.report("shared", path)
        if not sf.has_soname:
            sf.soname = needed_name or path
        if sf.machine != ctx.target.MACHINE or sf.is64 != ctx.target.IS64:
            raise LinkError(f"{path}: incompatible shared object: it is for "
                            f"{MACHINE_NAMES.get(sf.machine, sf.machine)}, the output is {ctx.target.NAME}")
        if any(o.soname == sf.soname for o in ctx.shared_files):
            return
        ctx.shared_files.append(sf)
        if ctx.config.trace_symbols:
            self._trace_symbols(sf.name, sf.names, [1] * len(sf.names))
            self._trace_symbols(sf.name, [n.encode() for n in sf.undefined_names], [0] * len(sf.undefined_names))
        ctx.symtab.add_shared(sf)

    def _trace_symbols(self, where, names, shndxs):
        """-y SYM: say where each traced symbol is defined and referenced."""
        from ldpy.diag import PROG
        wanted = {n.encode() for n in self.ctx.config.trace_symbols}
        for name, shndx in zip(names, shndxs):
            if name in wanted:
                what = "reference to" if shndx == 0 else \
                    "common definition of" if shndx == -0xfff2 else "definition of"
                print(f"{PROG}: {where}: {what} {name.decode('utf-8', 'replace')}")

    def _select_comdat(self, f):
        """.gnu.linkonce.* sections: the first of each name wins (COMDAT groups
        were decided while the object was read)."""
        if not getattr(f, "has_linkonce", True):
            return                      # (no such name in its section name table)
        comdat = self.ctx.comdat
        for s in f.sections:
            if s is not None and s.live and s.name.startswith(".gnu.linkonce."):
                owner = comdat.get(s.name)
                if owner is None:
                    comdat[s.name] = f
                elif owner is not f:
                    s.live = False


# (e_machine, EI_CLASS) of the x86 flavours an x86-64 link refuses, by GNU ld's names
_OTHER_X86 = {(3, 1): "i386", (62, 1): "i386:x64-32", (6, 1): "i386"}


class LazyObjects:
    """The objects of one --start-lib ... --end-lib group: like archive members they
    join the link only for a symbol something references (lld's lazy objects)."""

    def __init__(self):
        self.files = []           # (path, data)
        self.index = {}           # defined global name (bytes) -> position in files (first wins)
        self.loaded = set()

    def add(self, path, data, names):
        i = len(self.files)
        self.files.append((path, data))
        for n in names:
            self.index.setdefault(n, i)


def _inside(path, sysroot):
    """Is `path` (a script) inside the sysroot?  Real paths compared, as bfd's
    is_sysrooted_pathname does (symlinks, `..`, a trailing slash)."""
    if not sysroot:
        return False
    root = os.path.realpath(sysroot)
    real = os.path.realpath(path)
    return len(real) > len(root) and real.startswith(root) and real[len(root)] == os.sep \
        if root != os.sep else real.startswith(os.sep)


def _looks_like_text(data):
    """Linker scripts are text: no NUL bytes and valid UTF-8 in the first 512 bytes."""
    head = bytes(data[:512])
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
