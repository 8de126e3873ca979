"""ldpy-ar and ldpy-ranlib: GNU ar's command line over ldpy's archive writer.

    ldpy-ar [-]{dmpqrstx}[abcDiosSTuUvV] [--thin] [--output DIR] [member] archive [file...]
    ldpy-ranlib [-DUt] archive...

Operations, modifiers and their quirks follow GNU ar 2.40 (binutils/ar.c):
keyletters may come without a dash, options may follow the archive name,
``@file`` arguments are replaced by the file's words, ``q`` with ``s`` or
``S`` becomes ``r``, ``m`` with ``c`` becomes ``r``, a symbol index is written
unless ``S`` is given, deterministic mode (``D``) is the default and ``U``
turns it off, ``u`` only replaces members older than the file.
With ``T`` (``--thin``) the archive holds proxies, and an archive named on
the command line is flattened into its members.
Set LDPY_AR_SYM64=1 to force the 64-bit symbol index (/SYM64/).

Every error is one line, ``ldpy-ar: error: ...``, and exits with status 1.
"""
import os
import shlex
import stat
import sys
import time

from ldpy.ar.writer import Entry, entries_of, write_archive
from ldpy.diag import LinkError
from ldpy.input.archive import Archive, is_archive, map_archive

PROG = "ldpy-ar"
VERSION = "ldpy-ar (ldpy 0.1.0), compatible with GNU ar 2.40"
OPERATIONS = "dmpqrtx"
MODIFIERS = "abcDiosSTuUvVh"
UNSUPPORTED = {"M": "MRI scripts", "N": "counted names", "f": "truncated names",
               "P": "full path names", "O": "offsets", "l": "library dependencies (__.LIBDEP)"}

USAGE = f"""\
Usage: {PROG} [-]{{dmpqrstx}}[abcDiosSTuUvV] [--thin] [--output DIR] [member-name] archive-file file...
 commands:
  d            - delete file(s) from the archive
  m[ab]        - move file(s) in the archive
  p            - print file(s) found in the archive
  q            - quick append file(s) to the archive
  r[ab][u]     - replace existing or insert new file(s) into the archive
  s            - act as ranlib
  t[v]         - display contents of the archive
  x[o]         - extract file(s) from the archive
 command specific modifiers:
  [a]          - put file(s) after [member-name]
  [b]          - put file(s) before [member-name] (same as [i])
  [D]          - use zero for timestamps and uids/gids (default)
  [U]          - use actual timestamps and uids/gids
  [o]          - preserve original dates
  [u]          - only replace files that are newer than current archive contents
 generic modifiers:
  [c]          - do not warn if the library had to be created
  [s]          - create an archive index (cf. ranlib)
  [S]          - do not build a symbol table
  [T]          - make a thin archive (same as --thin)
  [v]          - be verbose
  [V]          - display the version number
  @<file>      - read options from <file>
  --output=DIRNAME - specify the output directory for extraction operations
  --thin       - make a thin archive
 environment:
  LDPY_AR_SYM64=1  - always write the 64-bit symbol index (/SYM64/)
"""


class UsageError(Exception):
    pass


def _out(text):
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))


def _note(text):
    sys.stdout.flush()
    sys.stderr.write(f"{PROG}: {text}\n")


# -- command line --------------------------------------------------------------
def expand_response_files(args, depth=0):
    """Replace each readable @file by its words (libiberty's expandargv)."""
    out = []
    for a in args:
        if a.startswith("@") and len(a) > 1 and depth < 32:
            try:
                with open(a[1:], encoding="utf-8", errors="surrogateescape") as f:
                    text = f.read()
            except OSError:
                out.append(a)
                continue
            try:
                words = shlex.split(text, comments=False, posix=True)
            except ValueError as e:
                raise LinkError(f"{a[1:]}: {e}")
            out.extend(expand_response_files(words, depth + 1))
        else:
            out.append(a)
    return out


class Options:
    def __init__(self):
        self.operation = None
        self.armap = 0                # 1: s, -1: S, 0: default (write one)
        self.create_quietly = False
        self.verbose = False
        self.newer_only = False
        self.preserve_dates = False
        self.position = None          # "after" / "before"
        self.thin = False
        self.deterministic = None     # None: default (True)
        self.output_dir = None
        self.help = self.version = False
        self.positional = []

    def letter(self, c):
        if c in OPERATIONS:
            if self.operation is not None and self.operation != c:
                raise LinkError("two different operation options specified")
            self.operation = c
        elif c == "c":
            self.create_quietly = True
        elif c == "s":
            self.armap = 1
        elif c == "S":
            self.armap = -1
        elif c == "u":
            self.newer_only = True
        elif c == "v":
            self.verbose = True
        elif c == "a":
            self.position = "after"
        elif c in "bi":
            self.position = "before"
        elif c == "o":
            self.preserve_dates = True
        elif c == "T":
            self.thin = True
        elif c == "D":
            self.deterministic = True
        elif c == "U":
            self.deterministic = False
        elif c == "V":
            self.version = True
        elif c == "h":
            self.help = True
        elif c in UNSUPPORTED:
            raise LinkError(f"modifier '{c}' ({UNSUPPORTED[c]}) is not supported by {PROG}")
        else:
            raise UsageError(f"invalid option -- '{c}'")


LONG_WITH_ARG = ("output", "target", "plugin", "record-libdeps")
LONG_FLAGS = ("help", "version", "thin")


def _use_plugin(path):
    """--plugin FILE: LTO IR members are indexed by the symbols the plugin reads
    from them (GCC's liblto_plugin.so, LLVMgold.so), as GNU ar does."""
    from ldpy.ar import symtab
    from ldpy.lto.plugin import ir_symbol_reader
    try:
        symtab.ir_names = ir_symbol_reader(path)
    except LinkError:
        pass            # a plugin that cannot be used: the members' ELF symbols, as without one


def parse_args(args):
    opts = Options()
    if args and not args[0].startswith("-"):
        args = ["-" + c for c in args[0]] + args[1:]
    i = 0
    only_positional = False
    while i < len(args):
        a = args[i]
        i += 1
        if only_positional or a == "-" or not a.startswith("-"):
            opts.positional.append(a)
        elif a == "--":
            only_positional = True
        elif a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            matches = [o for o in LONG_WITH_ARG + LONG_FLAGS if o.startswith(name)]
            if name in LONG_WITH_ARG + LONG_FLAGS:
                matches = [name]
            if len(matches) != 1:
                raise UsageError(f"unrecognized option '{a}'" if not matches else f"option '{a}' is ambiguous")
            name = matches[0]
            if name in LONG_WITH_ARG:
                if not eq:
                    if i >= len(args):
                        raise UsageError(f"option '--{name}' requires an argument")
                    value, i = args[i], i + 1
                if name == "output":
                    opts.output_dir = value
                elif name == "record-libdeps":
                    raise LinkError(f"--record-libdeps is not supported by {PROG}")
                elif name == "plugin":
                    _use_plugin(value)
                # --target: ldpy-ar reads ELF only
            elif eq:
                raise UsageError(f"option '--{name}' doesn't allow an argument")
            elif name == "thin":
                opts.thin = True
            else:
                setattr(opts, name, True)
        else:
            for c in a[1:]:
                opts.letter(c)
    # GNU ar accepts dash-less keyletters after leading long options (PR 13256)
    if opts.operation is None and opts.armap != 1 and opts.positional and not (opts.help or opts.version):
        for c in opts.positional.pop(0):
            opts.letter(c)
    return opts


# -- the archive being worked on -------------------------------------------------------
class Work:
    """The archive named on the command line, its members as entries, and the
    options that shape what the operations do."""

    def __init__(self, opts, path, posname=None):
        self.opts, self.path, self.posname = opts, path, posname
        self.entries, self.thin, self.created = [], False, False

    def open(self, alters):
        path = self.path
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if not alters:
                raise LinkError(f"{path}: No such file or directory")
            if not self.opts.create_quietly:
                _note(f"creating {path}")
            self.created = True
            return
        except OSError as e:
            raise LinkError(f"{path}: {e.strerror}")
        if stat.S_ISDIR(st.st_mode):
            raise LinkError(f"{path}: is a directory")
        data = map_archive(path, "archive")
        if not is_archive(data):
            raise LinkError(f"{path}: file format not recognized")
        ar = Archive(path, data)
        self.archive = ar                 # keeps the mapping alive while entries point into it
        self.thin = ar.thin
        self.entries = entries_of(ar)

    def insertion_point(self, default_pos, default_name=None):
        """BFD ar's get_pos_bfd: where new or moved members go."""
        pos, name = default_pos, default_name
        if self.opts.position is not None:
            pos, name = self.opts.position, self.posname
        if pos == "end":
            return len(self.entries)
        for i, e in enumerate(self.entries):
            if e.name == name:
                return i + 1 if pos == "after" else i
        return len(self.entries)

    def write(self):
        write_archive(self.path, self.entries, thin=self.thin or self.opts.thin,
                      symbols=self.opts.armap >= 0,
                      deterministic=self.opts.deterministic is not False)

    def finish_unchanged(self):
        """A created archive that nothing was put in is still created, empty."""
        if self.created:
            write_archive(self.path, [], thin=False, symbols=False)


def _basename(name):
    return os.path.basename(name)


def _verbose(opts, text):
    if opts.verbose:
        _out(text + "\n")


def _append(work, at, path):
    """Add a file (flattened, if it is an archive and the output is thin)."""
    opts, entries = work.opts, work.entries
    if opts.thin:
        try:
            with open(path, "rb") as f:
                magic = f.read(8)
        except OSError as e:
            raise LinkError(f"{path}: {e.strerror}")
        if is_archive(magic):
            inner = Archive(path, map_archive(path, "archive"))
            elts = entries_of(inner)
            for k, e in enumerate(elts):
                entries.insert(at + k, e)
                _verbose(opts, f"a - {e.name}")
            return bool(elts)
    entries.insert(at, Entry.from_file(path))
    _verbose(opts, f"a - {path}")
    return True


def op_replace(work, files, quick):
    """r and q: replace members in place (r), add the others at the end or at the
    position asked for.  `u` keeps members at least as new as the file."""
    opts, entries = work.opts, work.entries
    changed = False
    for f in files:
        handled = False
        for i, cur in enumerate([] if quick else entries):
            # only members that were in an archive match (a file may be added twice)
            if cur.is_new or _basename(f) != _basename(cur.name):
                continue
            handled = True
            if opts.newer_only:
                try:
                    if int(os.stat(f).st_mtime) <= cur.mtime():
                        break
                except FileNotFoundError:
                    break
                except OSError as e:
                    raise LinkError(f"{f}: {e.strerror}")
            at = work.insertion_point("after", cur.name)
            entries.insert(at, Entry.from_file(f))
            _verbose(opts, f"r - {f}")
            # GNU ar then unlinks whatever follows the link that led to `cur`
            del entries[i + 1 if at < i else i]
            changed = True
            break
        if not handled:
            changed |= _append(work, work.insertion_point("end"), f)
    return changed


def op_delete(work, files):
    changed = False
    for f in files:
        for i, e in enumerate(work.entries):
            if _basename(f) == e.name:
                _verbose(work.opts, f"d - {f}")
                del work.entries[i]
                changed = True
                break
        else:
            if work.opts.verbose:
                _out(f"No member named `{f}'\n")
    return changed


def op_move(work, files):
    for f in files:
        for i, e in enumerate(work.entries):
            if _basename(f) == e.name:
                del work.entries[i]
                work.entries.insert(work.insertion_point("end"), e)
                _verbose(work.opts, f"m - {f}")
                break
        else:
            raise LinkError(f"no entry {f} in archive {work.path}!")


def select_members(work, files):
    """GNU ar's map_over_members: all entries, or the first unused match of each name;
    returns the entries and the names not found."""
    if not files:
        return list(work.entries), []
    used, chosen, missing = set(), [], []
    for f in files:
        for i, e in enumerate(work.entries):
            if i in used:
                continue
            name = _basename(e.name) if work.thin else e.name
            if _basename(f) == name:
                used.add(i)
                chosen.append(e)
                break
        else:
            missing.append(f)
    return chosen, missing


def _header_number(e, lo, hi, base=10):
    try:
        return int(e.header[lo:hi].split()[0], base) if e.header is not None else 0
    except (ValueError, IndexError):
        return 0


def describe(e, verbose):
    if not verbose:
        return e.name
    mode = _header_number(e, 40, 48, 8)
    uid, gid = _header_number(e, 28, 34), _header_number(e, 34, 40)
    when = time.ctime(e.mtime())
    return (f"{stat.filemode(mode)[1:]} {uid}/{gid} {e.size:6d} "
            f"{when[4:16]} {when[20:24]} {e.name}")


def _valid_member_path(name):
    """GNU ar's is_valid_archive_path: relative, and never climbing out with '..'."""
    if not name or os.path.isabs(name):
        return False
    return ".." not in name.split("/")


def extract(work, e):
    opts = work.opts
    out = e.name
    if not _valid_member_path(out):
        base = _basename(out)
        _note(f"illegal output pathname for archive member: {out}, using '{base}' instead")
        out = base
    if opts.output_dir:
        out = os.path.join(opts.output_dir, out)
    _verbose(opts, f"x - {out}")
    data = e.data()
    try:
        with open(out, "wb") as f:
            f.write(data)
        os.chmod(out, stat.S_IMODE(_header_number(e, 40, 48, 8)))
        if opts.preserve_dates:
            os.utime(out, (e.mtime(), e.mtime()))
    except OSError as err:
        raise LinkError(f"{out}: {err.strerror}")


def ranlib(path, opts):
    """ar s / ranlib: rewrite the archive with a fresh symbol index."""
    try:
        if os.path.getsize(path) < 1:
            raise LinkError(f"'{path}': is empty")
    except OSError:
        raise LinkError(f"'{path}': No such file")
    opts.armap = 1
    work = Work(opts, path)
    work.open(alters=False)
    work.write()
    return 0


def run(opts):
    if opts.help:
        _out(USAGE)
        return 0
    if opts.version:
        _out(VERSION + "\n")
        return 0
    args = list(opts.positional)
    op = opts.operation
    if op == "q" and opts.armap:
        op = "r"
    if op in (None, "t") and opts.armap == 1:
        if not args:
            raise UsageError("no archive named")
        return ranlib(args[0], opts)
    if op is None:
        raise LinkError("no operation specified")
    if opts.newer_only and op != "r":
        raise LinkError("`u' is only meaningful with the `r' option.")
    if opts.newer_only and opts.deterministic:
        raise LinkError("`u' is not meaningful with the `D' option.")
    if opts.newer_only and opts.deterministic is None:
        _note("`u' modifier ignored since `D' is the default (see `U')")
    posname = None
    if opts.position is not None:
        if not args:
            raise LinkError("missing position arg.")
        posname = args.pop(0)
    if not args:
        raise UsageError("no archive named")
    path, files = args[0], args[1:]
    alters = op in "dmqr"
    work = Work(opts, path, posname)
    work.open(alters)
    if op in "rq" and work.entries:
        if opts.thin and not work.thin:
            raise LinkError(f"Cannot convert existing library {path} to thin format")
        if not opts.thin and work.thin:
            raise LinkError(f"Cannot convert existing thin library {path} to normal format")
    if alters and opts.thin and work.entries and not work.thin:
        raise LinkError(f"Cannot convert existing library {path} to thin format")
    if op == "x" and work.thin:
        raise LinkError("`x' cannot be used on thin archives.")

    status = 0
    if op in "tpx":
        chosen, missing = select_members(work, files)
        for e in chosen:
            if op == "t":
                _out(describe(e, opts.verbose) + "\n")
            elif op == "p":
                if opts.verbose:
                    _out(f"\n<{e.name}>\n\n")
                sys.stdout.flush()
                sys.stdout.buffer.write(e.data())
            else:
                extract(work, e)
        for f in missing:
            sys.stdout.flush()
            sys.stderr.write(f"{PROG}: error: no entry {f} in archive {path}\n")
            status = 1
        return status

    if op == "m" and not opts.create_quietly:
        changed = bool(files)
        if files:
            op_move(work, files)
    elif op == "d":
        changed = op_delete(work, files)
    elif files or opts.armap > 0:                     # r, q (and m with c, as GNU ar)
        changed = op_replace(work, files, quick=(op == "q")) or opts.armap > 0
    else:
        changed = False
    if changed:
        work.write()
    else:
        work.finish_unchanged()
    return status


def _guard(fn):
    try:
        return fn()
    except UsageError as e:
        sys.stderr.write(f"{PROG}: error: {e} (try --help)\n")
        return 1
    except LinkError as e:
        sys.stdout.flush()
        sys.stderr.write(f"{PROG}: error: {e}\n")
        return 1
    except BrokenPipeError:
        try:
            sys.stdout = None
        finally:
            return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except RecursionError:
        sys.stderr.write(f"{PROG}: error: archives nested too deeply\n")
        return 1
    except Exception as e:        # a bug: still one line, never a traceback
        sys.stderr.write(f"{PROG}: error: internal error: {type(e).__name__}: {e}\n")
        return 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)

    def go():
        args = expand_response_files(argv)
        if not args:
            raise UsageError("no operation specified")
        return run(parse_args(args))
    return _guard(go)


def ranlib_main(argv=None):
    """ldpy-ranlib [-D|-U] [-t] archive...: ar s on each archive."""
    global PROG
    PROG = "ldpy-ranlib"
    argv = sys.argv[1:] if argv is None else list(argv)

    def go():
        opts = Options()
        touch = False
        archives = []
        args = expand_response_files(argv)
        while args:
            a = args.pop(0)
            if a in ("-h", "-H", "--help"):
                _out(f"Usage: {PROG} [options] archive\n Generate an index to speed access to archives\n"
                     " The options are:\n  @<file>  Read options from <file>\n"
                     "  -D       Use zero for symbol map timestamp (default)\n"
                     "  -U       Use an actual symbol map timestamp\n"
                     "  -t       Update the archive's symbol map timestamp\n")
                return 0
            if a in ("-v", "-V", "--version"):
                _out(VERSION.replace("ldpy-ar", PROG) + "\n")
                return 0
            if a.startswith("-") and len(a) > 1 and not a.startswith("--"):
                for c in a[1:]:
                    if c == "D":
                        opts.deterministic = True
                    elif c == "U":
                        opts.deterministic = False
                    elif c == "t":
                        touch = True
                    else:
                        raise UsageError(f"invalid option -- '{c}'")
            elif a.startswith("--plugin") or a.startswith("--target"):
                value = a.partition("=")[2] if "=" in a else (args.pop(0) if args else None)
                if a.startswith("--plugin") and value:
                    _use_plugin(value)
            elif a.startswith("--"):
                raise UsageError(f"unrecognized option '{a}'")
            else:
                archives.append(a)
        if not archives:
            raise UsageError("no archive named")
        for path in archives:
            if touch:          # ELF archives carry no index timestamp to update
                data = map_archive(path, "archive")
                if not is_archive(data) or not Archive(path, data).has_index:
                    raise LinkError(f"{path}: no archive map to update")
            else:
                ranlib(path, opts)
        return 0
    return _guard(go)


def entry():
    sys.exit(main())


def ranlib_entry():
    sys.exit(ranlib_main())


if __name__ == "__main__":
    entry()
