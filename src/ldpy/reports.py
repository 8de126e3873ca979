"""Reports that lld and mold offer and GNU ld does not, in lld's formats:

* --why-extract=FILE: one TSV row per archive member pulled into the link,
  `reference <TAB> extracted <TAB> symbol` (the file whose reference pulled it,
  `lib.a(member.o)`, the symbol);
* --print-archive-stats=FILE: one row per archive opened, `members <TAB>
  extracted <TAB> archive`;
* --time-trace: the pass timings as Chrome trace JSON (chrome://tracing and
  Perfetto open it), written to --time-trace-file or OUTPUT.time-trace;
* --reproduce=FILE.tar: every file the link read, under one root directory,
  and `response.txt` with the command line rewritten to those copies, so that
  `tar xf FILE.tar && cd ROOT && ldpy @response.txt` relinks the same output
  on another machine.  Absolute paths inside input scripts (libc.so's GROUP)
  resolve inside the copy through `--sysroot=.`.
"""
import io
import json
import os
import sys
import tarfile

from ldpy.diag import LinkError


def _open_report(path, what):
    if path == "-":
        return sys.stdout
    try:
        return open(path, "w")
    except OSError as e:
        raise LinkError(f"cannot write {what} '{path}': {e.strerror}") from None


def write_why_extract(ctx):
    fh = _open_report(ctx.config.why_extract, "--why-extract file")
    lines = ["reference\textracted\tsymbol"]
    lines += [f"{by}\t{member}\t{sym.decode('utf-8', 'replace') if isinstance(sym, bytes) else sym}"
              for member, by, sym in ctx.member_reasons]
    fh.write("\n".join(lines) + "\n")
    if fh is not sys.stdout:
        fh.close()


def write_archive_stats(ctx):
    fh = _open_report(ctx.config.print_archive_stats, "--print-archive-stats file")
    lines = ["members\textracted\tarchive"]
    for ar in ctx.archives:
        lines.append(f"{len(ar.all_members())}\t{len(ar.extracted)}\t{ar.path}")
    fh.write("\n".join(lines) + "\n")
    if fh is not sys.stdout:
        fh.close()


def write_time_trace(config, rows, start):
    """rows: (pass name, start seconds, duration seconds) from driver.Passes."""
    pid = os.getpid()
    grain = config.time_trace_granularity / 1e6
    events = [{"pid": pid, "tid": pid, "ph": "X", "name": name,
               "ts": round((t0 - start) * 1e6), "dur": round(dur * 1e6)}
              for name, t0, dur in rows if dur >= grain]
    total = max((t0 + dur for _, t0, dur in rows), default=start) - start
    events.append({"pid": pid, "tid": pid, "ph": "X", "name": "Total Link", "ts": 0,
                   "dur": round(total * 1e6)})
    events.append({"pid": pid, "tid": pid, "ph": "M", "name": "process_name",
                   "args": {"name": "ldpy"}})
    path = config.time_trace_file or config.output + ".time-trace"
    fh = _open_report(path, "--time-trace file")
    json.dump({"traceEvents": events, "beginningOfTime": round(start * 1e6)}, fh)
    if fh is not sys.stdout:
        fh.close()


# options whose argument names a file or directory the link reads
_PATH_OPTIONS = {"L", "library-path", "T", "script", "version-script", "dynamic-list", "plugin-config",
                 "export-dynamic-symbol-list", "retain-symbols-file", "R", "just-symbols",
                 "default-script", "dT", "rpath-link", "c", "mri-script"}
# options that name files the link writes besides the output, or this report itself
_DROPPED = {"Map", "M", "print-map", "dependency-file", "why-extract", "print-archive-stats", "plugin-activity-file",
            "reproduce", "time-trace", "time-trace-file", "sysroot"}


def path_inside_tar(path):
    """Where `path` lives inside the reproduction root (absolute paths, relative)."""
    return os.path.abspath(path).lstrip("/")


def _quote(word):
    if word and not any(c in word for c in " \t\n'\"\\"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _spell(name, arg):
    if name is None:
        return [arg]
    dash = "-" if len(name) == 1 else "--"
    if arg is None:
        return [dash + name]
    return [dash + name, arg]


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _reproduce_root(tar_path):
    root = os.path.basename(tar_path)
    if root.endswith(".tar"):
        root = root[:-4]
    return root or "repro"


def append_reproduce(ctx, members):
    """Add (member, path) files to the --reproduce archive written at the start of the
    link (linker plugins read files while the link runs)."""
    tar_path = ctx.config.reproduce
    root = _reproduce_root(tar_path)
    try:
        with tarfile.open(tar_path, "a") as tar:
            have = set(tar.getnames())
            for member, path in members:
                if f"{root}/{member}" not in have:
                    tar.add(os.path.realpath(path), arcname=f"{root}/{member}", recursive=False)
    except (OSError, tarfile.TarError) as e:
        raise LinkError(f"cannot add to --reproduce archive '{tar_path}': {getattr(e, 'strerror', None) or e}")


def write_reproduce(ctx):
    from ldpy.cli import VERSION_TEXT
    cfg = ctx.config
    tar_path = cfg.reproduce
    root = _reproduce_root(tar_path)
    words = []
    for name, arg in cfg.command_items:
        if name in _DROPPED:
            continue
        if name in ("o", "output"):
            arg = os.path.basename(arg)
        elif name is None or name in _PATH_OPTIONS:
            arg = path_inside_tar(arg)
        words += _spell(name, arg)
    sysroot = path_inside_tar(cfg.sysroot) if cfg.sysroot else "."
    words += ["--sysroot", sysroot]
    plugin_members, rewrites = ctx.plugins.reproduce_members(path_inside_tar) if ctx.plugins is not None else ([], {})
    files = list(dict.fromkeys(list(ctx.loaded_paths) + list(cfg.scripts) + list(cfg.version_scripts)
                               + list(cfg.dynamic_lists) + list(cfg.export_dynamic_symbol_lists)
                               + ([cfg.retain_symbols_file] if cfg.retain_symbols_file else [])))
    response = "\n".join(_quote(w) for w in words) + "\n"
    tmp = tar_path + ".tmp"
    try:
        with tarfile.open(tmp, "w") as tar:
            for member, text in (("response.txt", response),
                                 ("version.txt", VERSION_TEXT.splitlines()[0] + "\n")):
                _add_bytes(tar, f"{root}/{member}", text.encode())
            for path in files:
                if path in rewrites:              # a script naming plugin libraries by absolute path
                    _add_bytes(tar, f"{root}/{path_inside_tar(path)}", rewrites[path])
                elif os.path.isfile(path):
                    tar.add(os.path.realpath(path), arcname=f"{root}/{path_inside_tar(path)}", recursive=False)
            for member, src in plugin_members:    # plugin libraries and --plugin-config files
                if isinstance(src, bytes):
                    _add_bytes(tar, f"{root}/{member}", src)
                else:
                    tar.add(os.path.realpath(src), arcname=f"{root}/{member}", recursive=False)
        os.replace(tmp, tar_path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise LinkError(f"cannot write --reproduce archive '{tar_path}': {e.strerror}") from None
