"""The GNU ld command line -> one `Config`.

    config = parse_args(argv)       # argv without the program name

One table (`OPTIONS`) drives everything: each entry names the spellings of an
option, whether it takes an argument, what it does and its --help line; the -z
keywords have their own table (`Z_KEYWORDS`).  The matching rules are GNU ld's
(getopt_long_only as used by ld/lexsup.c):

* long options take one or two dashes (`-shared`, `--shared`, `-soname=x`),
  except a few (`-omagic` is `-o magic`, `-oformat` is `-o format`);
* a single-dash word is tried as a long option (exact, then unique abbreviation)
  before it is split into a short option and its value (`-static` is not `-s`...,
  but `-zrelro` is `-z relro` and `-ofoo` is `-o foo`);
* `-lNAME` is always `--library=NAME`, whatever NAME is;
* `@FILE` anywhere is replaced by the words of FILE (libiberty's `expandargv`).

Only the standard library and ldpy.diag are imported: this runs on every link.
"""
from __future__ import annotations     # (Config's ~190 annotations stay strings: no cost at start-up)

import os
from bisect import bisect_left

from ldpy import __version__
from ldpy.diag import LinkError

__all__ = ["parse_args", "Config", "InputSpec", "HELP_TEXT", "VERSION_TEXT",
           "EMULATIONS_TEXT", "parse_number", "expand_response_files"]


# ---------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------

class _Factory:
    __slots__ = ("make",)

    def __init__(self, make):
        self.make = make


def field(default_factory):
    return _Factory(default_factory)


def dataclass(cls=None, eq=True):
    """A light stand-in for dataclasses.dataclass: the real one compiles an
    __init__ of Config's ~190 fields on every run (tens of ms at start-up)."""
    def wrap(cls):
        names = list(cls.__dict__.get("__annotations__", {}))
        factories = {n: v.make for n, v in cls.__dict__.items() if isinstance(v, _Factory)}
        for n in factories:
            delattr(cls, n)
        required = [n for n in names if n not in cls.__dict__ and n not in factories]

        def __init__(self, *args, **kw):
            for n, v in zip(names, args):
                kw[n] = v
            for n in required:
                if n not in kw:
                    raise TypeError(f"{cls.__name__}() missing argument '{n}'")
            for n, make in factories.items():
                if n not in kw:
                    setattr(self, n, make())
            for n, v in kw.items():
                setattr(self, n, v)

        def __repr__(self):
            return f"{cls.__name__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in names) + ")"

        cls.__init__ = __init__
        cls.__repr__ = __repr__
        if eq:
            cls.__eq__ = lambda a, b: (type(a) is type(b) and
                                       all(getattr(a, n) == getattr(b, n) for n in names))
            cls.__hash__ = None
        return cls
    return wrap(cls) if cls is not None else wrap

@dataclass
class InputSpec:
    """One positional input, with the input state (-Bstatic, --whole-archive,
    --as-needed, -b) that was in effect where it appeared."""
    # 'file' | 'lib' | 'group_start' | 'group_end' | 'script' (-T, in order)
    # | 'lib_start' | 'lib_end' (--start-lib / --end-lib)
    # | 'just_symbols' (-R FILE / --just-symbols)
    kind: str
    name: str = ''                 # path for 'file'/'script'; NAME of -lNAME (keeps ':' of -l:foo.a)
    whole_archive: bool = False    # --whole-archive in effect
    static: bool = False           # -Bstatic/-static/-dn/-non_shared in effect (search only lib*.a)
    as_needed: bool = False        # --as-needed in effect
    format: str | None = None      # -b/--format in effect (e.g. 'binary'), None = auto


def _no_demangle_env():
    # GNU ld: demangling is on unless the environment says COLLECT_NO_DEMANGLE
    return os.environ.get("COLLECT_NO_DEMANGLE") is None


@dataclass(eq=False)
class Config:
    """Everything the command line says.  Defaults are GNU ld's on Debian x86-64."""
    # -- what to build --------------------------------------------------------
    output: str = "a.out"                     # -o
    emulation: str | None = None              # -m
    shared: bool = False                      # -shared / -Bshareable
    pie: bool = False                         # -pie / --pic-executable (-no-pie undoes)
    relocatable: bool = False                 # -r / -i / -Ur
    build_constructors: bool = False          # -Ur
    static: bool = False                      # -Bstatic state at the end of the line (per input: InputSpec.static)
    emit_relocs: bool = False                 # -q / --emit-relocs
    nmagic: bool = False                      # -n
    omagic: bool = False                      # -N
    oformat: str | None = None                # --oformat
    architecture: str | None = None           # -A
    endian: str | None = None                 # -EB / -EL: 'big' | 'little'
    entry: str | None = None                  # -e (None: _start, weakly)
    init: str = "_init"                       # -init
    fini: str = "_fini"                       # -fini
    soname: str | None = None                 # -soname / -h
    dynamic_linker: str | None = None         # -dynamic-linker / -I
    no_dynamic_linker: bool = False           # --no-dynamic-linker (static-pie)
    # -- inputs and search ------------------------------------------------------
    inputs: list = field(default_factory=list)          # [InputSpec] in command-line order
    scripts: list = field(default_factory=list)         # -T / --script, in order (also in inputs)
    default_script: str | None = None                   # -dT / --default-script
    mri_scripts: list = field(default_factory=list)     # -c
    library_paths: list = field(default_factory=list)   # -L (then -Y), '=' prefix resolved against sysroot
    sysroot: str = ""                                   # --sysroot
    nostdlib: bool = False                              # -nostdlib
    rpath: list = field(default_factory=list)           # -rpath / -R DIR (DT_RUNPATH = ':'.join)
    rpath_link: list = field(default_factory=list)      # -rpath-link
    plugins: list = field(default_factory=list)         # -plugin
    plugin_opts: list = field(default_factory=list)     # -plugin-opt / -mllvm -> (plugin index, ARG)
    remap_inputs: list = field(default_factory=list)    # --remap-inputs PATTERN=FILE -> (PATTERN, FILE)
    remap_inputs_files: list = field(default_factory=list)
    copy_dt_needed_entries: bool = False                # --copy-dt-needed-entries / --add-needed
    # -- symbols ------------------------------------------------------------------
    undefined: list = field(default_factory=list)       # -u
    undefined_globs: list = field(default_factory=list)  # --undefined-glob (lld)
    shuffle_sections: tuple | None = None     # --shuffle-sections: (section glob, seed or None)
    require_defined: list = field(default_factory=list) # --require-defined
    defsyms: list = field(default_factory=list)         # --defsym -> (name, expression text)
    wrap: list = field(default_factory=list)            # --wrap
    trace_symbols: list = field(default_factory=list)   # -y
    ignore_unresolved_symbols: list = field(default_factory=list)
    exclude_libs: list = field(default_factory=list)    # --exclude-libs (split at ',' and ':')
    export_dynamic: bool = False                        # -E / --export-dynamic
    export_dynamic_symbols: list = field(default_factory=list)
    export_dynamic_symbol_lists: list = field(default_factory=list)
    dynamic_lists: list = field(default_factory=list)   # --dynamic-list FILE
    dynamic_list_data: bool = False
    dynamic_list_cpp_new: bool = False
    dynamic_list_cpp_typeinfo: bool = False
    version_scripts: list = field(default_factory=list)
    symbolic: str | None = None                         # -Bsymbolic: 'all', -Bsymbolic-functions: 'functions'
    undefined_version: bool = True                      # --undefined-version / --no-undefined-version
    default_symver: bool = False
    default_imported_symver: bool = False
    allow_multiple_definition: bool = False             # --allow-multiple-definition / -z muldefs
    disable_multiple_abs_defs: bool = False
    # unresolved symbols, like GNU's two RM_* settings: 'report' | 'ignore'
    unresolved_in_objects: str = "report"
    no_allow_shlib_undefined: bool = False   # --no-allow-shlib-undefined given
    unresolved_in_shared_libs: str = "report"
    unresolved_symbols: str = "report-all"   # the same two as one --unresolved-symbols word
    no_undefined: bool = False               # unresolved_in_objects explicitly 'report' (--no-undefined, -z defs)
    warn_unresolved_symbols: bool = False    # --warn-unresolved-symbols
    use_shlib_undefined: bool = False
    define_common: bool = False              # -d / -dc / -dp
    force_group_allocation: bool = False     # -r: COMDAT groups dissolved, members placed as usual
    no_define_common: bool = False
    sort_common: str | None = None           # --sort-common[=ascending|descending]
    # -- dynamic section --------------------------------------------------------
    hash_style: str = "both"                 # sysv | gnu | both (Debian's ld: both; gcc passes gnu)
    hash_size: int | None = None
    new_dtags: bool = True                   # Debian's ld: DT_RUNPATH by default
    audit: list = field(default_factory=list)           # --audit
    depaudit: list = field(default_factory=list)        # -P / --depaudit
    auxiliary: list = field(default_factory=list)       # -f / --auxiliary
    filter: list = field(default_factory=list)          # -F / --filter (each one a DT_FILTER, as lld and mold)
    spare_dynamic_tags: int = 5
    # -- sections and layout ----------------------------------------------------
    gc_sections: bool = False
    print_gc_sections: bool = False
    gc_keep_exported: bool = False
    icf: str = "none"                        # --icf=none|all|safe
    print_icf_sections: bool = False         # --print-icf-sections
    keep_unique: list = field(default_factory=list)     # --keep-unique SYMBOL (with --icf)
    section_start: dict = field(default_factory=dict)  # -Ttext/-Tdata/-Tbss/--section-start: name -> addr
    text_segment: int | None = None          # -Ttext-segment
    rodata_segment: int | None = None        # -Trodata-segment
    ldata_segment: int | None = None         # -Tldata-segment
    image_base: int | None = None            # --image-base
    sort_section: str | None = None          # name | alignment
    orphan_handling: str = "place"           # place | warn | error | discard
    unique_sections: list = field(default_factory=list)  # --unique=SECTION
    unique_orphan_sections: bool = False     # --unique
    check_sections: bool = True
    eh_frame_hdr: bool = False
    ld_generated_unwind_info: bool = True
    build_id: str | None = None              # sha1 | md5 | uuid | fast | 0xHEX; None = no note
    package_metadata: str | None = None
    compress_debug_sections: str = "none"
    gdb_index: bool = False
    ctf_variables: bool = False              # --ctf-variables: keep CTF's variable section
    ctf_share_types: str = "share-unconflicted"   # --ctf-share-types=
    relax: bool | None = None                # --relax / --no-relax (None: target default)
    optimize: int = 0                        # -O N
    gpsize: int | None = None                # -G N
    # -- symbol table of the output ---------------------------------------------
    strip_all: bool = False                  # -s (the last of -s/-S wins, like GNU)
    strip_debug: bool = False                # -S, and implied by strip_all
    strip_discarded: bool = True
    discard_all: bool = False                # -x
    discard_locals: bool = False             # -X
    discard_none: bool = False               # --discard-none
    retain_symbols_file: str | None = None
    # -- -z keywords ----------------------------------------------------------------
    relro: bool = True
    now: bool = False                        # -z now (False: lazy binding)
    execstack: bool | None = None            # -z execstack / noexecstack (None: from the inputs)
    separate_code: bool = True                # (--rosegment / --no-rosegment set it too)
    rodynamic: bool = False                   # -z rodynamic (lld): read-only .dynamic, no DT_DEBUG
    given: set = field(default_factory=set)  # target-dependent settings given explicitly (-z ...)
    textrel_check: str = "warning"           # -z text: 'error', -z notext/textoff: 'none'
    max_page_size: int = 0x1000
    common_page_size: int = 0x1000
    stack_size: int | None = None
    combreloc: bool = True
    nocopyreloc: bool = False
    elf_stt_common: bool | None = None       # -z common / nocommon
    unique_symbol: bool = False
    start_stop_gc: bool = False
    start_stop_visibility: str = "protected"
    section_header: bool = True              # -z nosectionheader (implies strip_all)
    keep_text_section_prefix: bool = False
    z_global: bool = False                   # DF_1_* markers
    z_initfirst: bool = False
    z_interpose: bool = False
    z_loadfltr: bool = False
    z_nodefaultlib: bool = False
    z_nodelete: bool = False
    z_nodlopen: bool = False
    z_nodump: bool = False
    z_origin: bool = False
    z_unique: bool = False
    z_globalaudit: bool = False
    z_group: bool = False                    # -Bgroup
    extern_protected_data: bool = True       # -z noextern-protected-data
    indirect_extern_access: bool = False
    dynamic_undefined_weak: bool | None = None
    reloc_overflow_check: bool = True        # -z noreloc-overflow
    call_nop: str | None = None              # -z call-nop=PADDING
    ibtplt: bool = False
    force_bti: bool = False                  # -z force-bti (AArch64)
    pac_plt: bool = False                    # -z pac-plt (AArch64)
    fix_cortex_a53_843419: str | None = None  # --fix-cortex-a53-843419[=full|adr|adrp] (AArch64)
    fix_cortex_a53_835769: bool = False
    stub_group_size: int = 1                 # --stub-group-size (AArch64; +-1: the default)
    pic_veneer: bool = False
    no_apply_dynamic_relocs: bool = False
    no_enum_size_warning: bool = False
    no_wchar_size_warning: bool = False
    secure_plt: bool = False                 # --secure-plt (PowerPC: gcc passes it; the default)
    bss_plt: bool = False                    # --bss-plt (PowerPC: refused, not supported yet)
    ibt: bool = False
    shstk: bool = False
    bndplt: bool = False
    cet_report: str = "none"
    report_relative_reloc: bool = False
    x86_isa_level: int = 0                   # -z x86-64-baseline: 1, -v2: 2, -v3: 3, -v4: 4
    isa_level_report: str = "none"
    lam_u48: bool = False
    lam_u57: bool = False
    lam_u48_report: str = "none"
    lam_u57_report: str = "none"
    pack_relative_relocs: bool = False
    use_android_relr_tags: bool = False      # lld: DT_ANDROID_RELR* instead of DT_RELR*
    pack_dyn_android: bool = False           # lld's --pack-dyn-relocs=android: .rela.dyn as APS2
    mark_plt: bool = False
    memory_seal: bool = False
    # -- diagnostics and reports ------------------------------------------------------
    map_file: str | None = None              # -Map FILE ('%' and directories resolved); -M: '-'
    cref: bool = False
    print_map_discarded: bool = True
    print_map_locals: bool = False
    trace: int = 0                           # -t (twice: archive members too)
    verbose: int = 0                         # --verbose[=N]
    fatal_warnings: bool = False
    no_warnings: bool = False                # -w / --no-warnings
    warn_common: bool = False
    warn_once: bool = False
    warn_constructors: bool = False
    warn_section_align: bool = False
    warn_alternate_em: bool = False
    warn_mismatch: bool = True
    warn_search_mismatch: bool = True
    warn_execstack: bool | None = None
    warn_rwx_segments: bool | None = None
    error_limit: int = 20                    # 0: unlimited
    noinhibit_exec: bool = False
    demangle: bool = field(default_factory=_no_demangle_env)
    stats: bool = False
    print_memory_usage: bool = False
    reduce_memory_overheads: bool = False
    threads: int | None = None               # None: default; 1 = --no-threads
    dependency_file: str | None = None
    error_handling_script: str | None = None
    linker_version: bool = False             # --enable-linker-version
    # -- things to print instead of (or before) linking ----------------------------
    help: bool = False                       # --help / --target-help (parsing stopped there)
    version: bool = False                    # -v / --version / -V / --verbose
    version_exit: bool = False               # --version: print and exit, never link
    list_emulations: bool = False            # -V: also print EMULATIONS_TEXT
    print_sysroot: bool = False
    print_output_format: bool = False
    print_shim_dir: bool = False             # ldpy: print the gcc -B shim directory and exit
    server_stop: bool = False                # ldpy: stop the LDPY_SERVER=1 link servers and exit
    # -- notes for the caller -------------------------------------------------------
    warnings: list = field(default_factory=list)         # printed by main (e.g. '-z foo ignored')
    ignored_options: list = field(default_factory=list)  # accepted for compatibility, no effect
    command_items: list = field(default_factory=list)    # (option name or None for a file, argument)
    # reports of lld and mold that GNU ld lacks
    why_extract: str | None = None            # --why-extract=FILE ('-': stdout)
    print_archive_stats: str | None = None    # --print-archive-stats=FILE
    why_live: list = field(default_factory=list)   # --why-live=SYMBOL (glob patterns)
    reproduce: str | None = None              # --reproduce=FILE.tar
    time_trace: bool = False                  # --time-trace
    time_trace_file: str | None = None        # --time-trace-file=FILE (default OUTPUT.time-trace)
    time_trace_granularity: int = 500         # microseconds: shorter passes are left out
    # linker plugins written in Python (ldpy/plugin, ELD's plugin API)
    plugin_configs: list = field(default_factory=list)   # --plugin-config FILE (YAML)
    plugin_activity_file: str | None = None   # --plugin-activity-file FILE (JSON of what plugins did)
    trace_kinds: list = field(default_factory=list)      # --trace=plugin

    @property
    def output_type(self):
        """'relocatable' | 'shared' | 'pie' | 'exec'."""
        if self.relocatable:
            return "relocatable"
        return "shared" if self.shared else "pie" if self.pie else "exec"


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------

def parse_number(text, what="number", base=0):
    """An integer the way ld reads one.

    base 0 (sizes, counts): 0x/0X hex, $hex, leading-0 octal, decimal, with an
    optional K (x1024) or M (x1024*1024) suffix as in linker scripts.
    base 16 (-Ttext, --section-start, ...): GNU's bfd_scan_vma reads hex even
    without 0x, so -Ttext=400000 means 0x400000."""
    s = text.strip()
    try:
        if base == 16:
            if s[:2] in ("0x", "0X"):
                s = s[2:]
            if not s or s[0] in "+-":
                raise ValueError
            return int(s, 16)
        mult = 1
        if s[-1:] in ("K", "k"):
            mult, s = 1024, s[:-1]
        elif s[-1:] in ("M", "m"):
            mult, s = 1024 * 1024, s[:-1]
        if not s or s[0] in "+-":
            raise ValueError
        if s[:2] in ("0x", "0X"):
            v = int(s[2:], 16)
        elif s[0] == "$":
            v = int(s[1:], 16)
        elif len(s) > 1 and s[0] == "0":
            v = int(s[1:], 8)
        else:
            v = int(s, 10)
        return v * mult
    except ValueError:
        kind = "hex number" if base == 16 else "number"
        raise LinkError(f"{what}: invalid {kind} '{text}'") from None


def _leading_int(text):
    """strtoul(text, NULL, 0) without the error: what GNU does for -O."""
    digits = ""
    for ch in text.strip():
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


# ---------------------------------------------------------------------------
# Response files
# ---------------------------------------------------------------------------

_RSP_SPACE = " \t\n\v\f\r"          # libiberty's ISSPACE
_RSP_MAX_EXPANSIONS = 2000          # libiberty's limit; also stops @a containing @a
_RSP_MAX_BYTES = 64 << 20           # one response file (@/dev/zero is an error, not a hang)
RESPONSE_FILES = []                 # (stat, name) of the response files of the last command line


def _split_response(text):
    """libiberty buildargv: whitespace separates; '...' and "..." group;
    a backslash takes the next character literally, even inside quotes."""
    if not any(c in text for c in "'\"\\") and text.isascii() and \
            not any(c in text for c in "\x1c\x1d\x1e\x1f"):
        return text.split()          # the common case; str.split() == ISSPACE here
    args = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _RSP_SPACE:
            i += 1
        if i >= n:
            return args
        buf = []
        squote = dquote = bsquote = False
        while i < n:
            ch = text[i]
            if bsquote:
                bsquote = False
                buf.append(ch)
            elif ch == "\\":
                bsquote = True
            elif squote:
                if ch == "'":
                    squote = False
                else:
                    buf.append(ch)
            elif dquote:
                if ch == '"':
                    dquote = False
                else:
                    buf.append(ch)
            elif ch in _RSP_SPACE:
                break
            elif ch == "'":
                squote = True
            elif ch == '"':
                dquote = True
            else:
                buf.append(ch)
            i += 1
        args.append("".join(buf))


def expand_response_files(argv):
    """Replace every @FILE by the words in FILE, recursively, in place."""
    RESPONSE_FILES.clear()
    if not any(a[:1] == "@" for a in argv):
        return list(argv)
    args = list(argv)
    i = expansions = 0
    while i < len(args):
        a = args[i]
        if a[:1] != "@":
            i += 1
            continue
        expansions += 1
        if expansions > _RSP_MAX_EXPANSIONS:
            raise LinkError(f"too many response files (does '{a}' include itself?)")
        try:
            with open(a[1:], "rb") as fh:
                st = os.fstat(fh.fileno())
                RESPONSE_FILES.append((st, a[1:]))      # (-o naming it is refused: outfile.py)
                from ldpy.outfile import read_bounded
                data = read_bounded(fh, f"response file '{a}'", _RSP_MAX_BYTES)
        except OSError as e:
            raise LinkError(f"cannot open response file '{a}': {e.strerror}") from None
        # libiberty reads the file as a C string: a NUL byte ends it, as in ld.bfd
        text = os.fsdecode(data.split(b"\0", 1)[0])
        args[i:i + 1] = _split_response(text)      # re-scanned: nested @files expand too
    return args


# ---------------------------------------------------------------------------
# Option table machinery
# ---------------------------------------------------------------------------

NONE, REQ, OPT = 0, 1, 2           # no argument, required argument, optional (only as --opt=VAL)


class Opt:
    """One option: its spellings, argument kind, action and --help line.

    `names` is the --help spelling, space separated: '-x' is a short option;
    '-name' and '--name' are long options that take one or two dashes (shown
    with as many as given).  `action(p, arg, name)` gets the parser, the
    argument (None if none) and the canonical name that matched (without dashes).
    `help=None` hides the option from --help."""
    __slots__ = ("names", "arg", "action", "help", "metavar", "emul", "state")

    def __init__(self, names, arg, action, help=None, metavar=None, emul=False):
        self.names, self.arg, self.action = names.split(), arg, action
        self.help, self.metavar, self.emul = help, metavar, emul
        self.state = IMPLEMENTED         # set from OPTION_STATES below


# Long options that only work with two dashes (GNU's EXACTLY_TWO_DASHES), so that
# "-omagic" sets the output to "magic" and "-oformat" writes a file called "format".
# (-orphan-handling=warn is still the long option, as in GNU ld.)
_TWO_DASH_ONLY = frozenset({"omagic", "no-omagic", "output", "oformat", "undefined-version",
                            "export-dynamic-symbol", "export-dynamic-symbol-list"})


def _set(attr, value=True):
    def action(p, arg, name):
        setattr(p.c, attr, value)
    return action


def _store(attr, conv=None):
    def action(p, arg, name):
        setattr(p.c, attr, conv(arg, name) if conv else arg)
    return action


def _append(attr):
    def action(p, arg, name):
        getattr(p.c, attr).append(arg)
    return action


def _append_command_file(attr):
    """--version-script, --dynamic-list: GNU ld reads the file at once, trying the name,
    then each -L directory given before it (ldfile_find_command_file)."""
    def action(p, arg, name):
        path = arg
        if not os.path.exists(arg) and not os.path.isabs(arg):
            for d in p.c.library_paths:
                if d.startswith("="):
                    d = p.c.sysroot + d[1:]
                elif d.startswith("$SYSROOT"):
                    d = p.c.sysroot + d[8:]
                if os.path.isfile(os.path.join(d, arg)):
                    path = os.path.join(d, arg)
                    break
        getattr(p.c, attr).append(path)
    return action


def _plugin_opt(p, arg, name):
    """-plugin-opt ARG belongs to the last -plugin before it (GNU ld: an error
    without one); -mllvm ARG (lld and mold take it) likewise, or the first plugin."""
    if name == "plugin-opt" and not p.c.plugins:
        raise LinkError(f"-plugin-opt {arg}: no -plugin before it")
    p.c.plugin_opts.append((len(p.c.plugins) - 1, arg))


def _ctf_share_types(p, arg, name):
    if arg not in ("share-unconflicted", "share-duplicated"):
        raise LinkError(f"bad --ctf-share-types option: {arg}")
    p.c.ctf_share_types = arg


def _ignore(p, arg, name):
    p.c.ignored_options.append(name)


def _pack_dyn_relocs(p, arg, name):
    """lld's --pack-dyn-relocs: relr is -z pack-relative-relocs, none its opposite,
    android packs .rela.dyn as APS2 (android+relr: both)."""
    if arg not in ("relr", "none", "android", "android+relr"):
        raise LinkError(f"unknown --pack-dyn-relocs format: {arg}")
    p.c.pack_relative_relocs = arg in ("relr", "android+relr")
    p.c.pack_dyn_android = arg.startswith("android")


def _choice(attr, choices, msg, lower=False, default=None):
    """Store one of `choices`; OPT options given bare store `default`."""
    def action(p, arg, name):
        if arg is None:
            arg = default
        v = arg.lower() if lower else arg
        if v not in choices:
            raise LinkError(msg.format(arg))
        setattr(p.c, attr, v)
    return action


def _num(what, base=0):
    def conv(arg, name):
        return parse_number(arg, what, base)
    return conv


def _state(attr, value):
    def action(p, arg, name):
        setattr(p, attr, value)
    return action


# -- actions that need more than one assignment ------------------------------

def _library(p, arg, name):
    p.add_input("lib", arg)


def _script(p, arg, name):
    p.c.scripts.append(arg)
    p.add_input("script", arg)


def _start_group(p, arg, name):
    p.group_depth += 1
    p.add_input("group_start")


def _shuffle_sections(p, arg, name):
    """mold's --shuffle-sections[=SEED] and lld's --shuffle-sections=GLOB=SEED."""
    glob, _, seed = (arg or "").rpartition("=")
    if seed and not seed.lstrip("-").isdigit():
        raise LinkError(f"--shuffle-sections: expected a number for the seed, got '{seed}'")
    p.c.shuffle_sections = (glob or "*", int(seed) if seed else None)


def _start_lib(p, arg, name):
    if p.in_lib:
        raise LinkError("nested --start-lib")
    p.in_lib = True
    p.add_input("lib_start")


def _end_lib(p, arg, name):
    if not p.in_lib:
        raise LinkError("stray --end-lib")
    p.in_lib = False
    p.add_input("lib_end")


def _end_group(p, arg, name):
    if p.group_depth == 0:
        raise LinkError("--end-group without a matching --start-group")
    p.group_depth -= 1
    p.add_input("group_end")


def _push_state(p, arg, name):
    p.stack.append(p.input_state())


def _pop_state(p, arg, name):
    if not p.stack:
        raise LinkError("--pop-state: no state pushed before popping")
    p.whole_archive, p.static, p.as_needed, p.copy_dt_needed = p.stack.pop()


def _set_static(p, arg, name):
    p.static = True


def _set_dynamic(p, arg, name):
    p.static = False


def _a_keyword(p, arg, name):
    # HP/UX: -a archive | shared | default
    if arg == "archive":
        p.static = True
    elif arg in ("shared", "default"):
        p.static = False
    else:
        raise LinkError(f"unrecognized -a option '{arg}'")


def _assert(p, arg, name):
    if arg not in ("definitions", "nodefinitions", "nosymbolic", "pure-text"):
        raise LinkError(f"unrecognized -assert option '{arg}'")
    p.c.ignored_options.append(name)


def _relocatable(p, arg, name):
    # -r, -i and -Ur; GNU checks the order: "-pie -r" and "-r -pie" both fail
    if p.link_type != "exec":
        raise LinkError(f"-r and -{p.link_type} may not be used together")
    p.relocatable = True
    p.static = True                  # like GNU: -r searches only lib*.a from here on
    if name in ("Ur", "task-link"):
        p.c.build_constructors = True


def _shared(p, arg, name):
    if p.relocatable:
        raise LinkError("-r and -shared may not be used together")
    p.link_type = "shared"
    # a shared library may leave references undefined, unless told otherwise
    if p.unres_obj is None:
        p.unres_obj = "ignore"
    if p.unres_shl is None:
        p.unres_shl = "ignore"


def _pie(p, arg, name):
    if p.relocatable:
        raise LinkError("-r and -pie may not be used together")
    p.link_type = "pie"


def _no_pie(p, arg, name):
    p.link_type = "exec"


def _magic(p, arg, name):
    # -n / -N also switch later -l searches to static archives (GNU)
    p.c.nmagic, p.c.omagic = name in ("n", "nmagic"), name in ("N", "omagic")
    p.static = True


def _no_omagic(p, arg, name):
    p.c.nmagic = p.c.omagic = False


def _just_symbols(p, arg, name):
    # GNU: -R FILE links only FILE's symbols, but -R DIR is Solaris' -rpath DIR;
    # a path that does not exist counts as a directory.
    if name == "R" and (not os.path.exists(arg) or os.path.isdir(arg)):
        _rpath(p, arg, name)
    else:
        p.add_input("just_symbols", arg)


def _rpath(p, arg, name):
    # GNU appends each -rpath unless it is already one of the ':' parts
    have = ":".join(p.c.rpath).split(":") if p.c.rpath else []
    if arg not in have:
        p.c.rpath.append(arg)


def _soname(p, arg, name):
    if arg == "" and p.c.soname:
        p.c.warnings.append("SONAME must not be empty string; keeping previous one")
    else:
        p.c.soname = arg


def _dynamic_linker(p, arg, name):
    p.c.dynamic_linker = arg
    p.c.no_dynamic_linker = False


def _emulation(p, arg, name):
    if arg not in KNOWN_EMULATIONS:
        raise LinkError(f"unrecognised emulation mode: {arg}; "
                        f"supported emulations: {' '.join(SUPPORTED_EMULATIONS)}")
    p.c.emulation = arg


def _defsym(p, arg, name):
    sym, eq, expr = arg.partition("=")
    sym, expr = sym.strip(), expr.strip()
    if not eq or not sym or not expr:
        raise LinkError(f"--defsym: expected SYMBOL=EXPRESSION, got '{arg}'")
    p.c.defsyms.append((sym, expr))


def _section_start(p, arg, name):
    sec, eq, addr = arg.partition("=")
    if not eq:
        raise LinkError(f"invalid argument to option --section-start: '{arg}'")
    if not sec or not addr:
        raise LinkError(f"missing argument(s) to option --section-start: '{arg}'")
    p.c.section_start[sec] = parse_number(addr, "--section-start", 16)


_T_SECTIONS = {"Ttext": ".text", "Tdata": ".data", "Tbss": ".bss"}
_T_SEGMENTS = {"Ttext-segment": "text_segment", "Trodata-segment": "rodata_segment",
               "Tldata-segment": "ldata_segment"}


def _t_address(p, arg, name):
    value = parse_number(arg, "-" + name, 16)
    if name in _T_SECTIONS:
        p.c.section_start[_T_SECTIONS[name]] = value
    else:
        setattr(p.c, _T_SEGMENTS[name], value)


def _map_file(p, arg, name):
    p.c.map_file = "-" if name in ("M", "print-map") else arg


def _trace(p, arg, name):
    if arg is None:
        p.c.trace += 1
    elif arg == "plugin":
        p.c.trace_kinds.append(arg)
    else:
        raise LinkError(f"--trace={arg}: unknown trace kind (known: plugin)")


def _strip(p, arg, name):
    p.strip = "all" if name in ("s", "strip-all") else "debug"


def _discard(p, arg, name):
    p.discard = {"x": "all", "discard-all": "all", "X": "locals",
                 "discard-locals": "locals"}.get(name, "none")


def _symbolic(p, arg, name):
    p.c.symbolic = {"Bsymbolic": "all", "Bsymbolic-functions": "functions",
                    "Bsymbolic-non-weak-functions": "non-weak-functions"}.get(name)


def _no_undefined(p, arg, name):
    p.unres_obj = "report"


def _shlib_undefined(p, arg, name):
    p.unres_shl = "ignore" if name == "allow-shlib-undefined" else "report"


def _unresolved(p, arg, name):
    try:
        p.unres_obj, p.unres_shl = {
            "ignore-all": ("ignore", "ignore"), "report-all": ("report", "report"),
            "ignore-in-object-files": ("ignore", "report"),
            "ignore-in-shared-libs": ("report", "ignore")}[arg]
    except KeyError:
        raise LinkError(f"bad --unresolved-symbols option: {arg}") from None


def _bgroup(p, arg, name):
    p.c.z_group = True
    p.unres_obj = p.unres_shl = "report"      # groups must be self-contained


def _copy_dt_needed(p, arg, name):
    p.copy_dt_needed = name in ("copy-dt-needed-entries", "add-needed")


def _demangle(p, arg, name):
    if arg is not None and arg not in ("none", "auto", "gnu-v3", "java", "gnat", "dlang", "rust"):
        raise LinkError(f"unknown demangling style '{arg}'")
    p.c.demangle = True


def _verbose(p, arg, name):
    level = 1
    if arg is not None:
        level = parse_number(arg, "--verbose")
    p.c.verbose = max(level, 1)
    p.c.version = True        # GNU prints its version first; no inputs then means exit 0


def _version(p, arg, name):
    p.c.version = True
    if name == "V":
        p.c.list_emulations = True
    elif name == "version":   # --version prints and exits right there (GNU)
        p.c.version_exit = True
        p.stop = True


def _help(p, arg, name):
    p.c.help = True
    p.stop = True              # like GNU: print help at once, ignore the rest


def _fix_843419(p, arg, name):
    if arg not in (None, "full", "adr", "adrp"):
        raise LinkError(f"unrecognized option '--fix-cortex-a53-843419={arg}'")
    p.c.fix_cortex_a53_843419 = arg or "full"


def _stub_group_size(p, arg, name):
    p.c.stub_group_size = parse_number(arg, "--stub-group-size")


def _build_id(p, arg, name):
    style = "sha1" if arg is None else arg
    if style == "tree":        # lld's name for its default
        style = "sha1"
    if style == "none":
        p.c.build_id = None
        return
    if style.startswith(("0x", "0X")):
        digits = style[2:]
        if not digits or len(digits) % 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise LinkError(f"invalid build-id style '{arg}': 0x needs an even number of hex digits")
    elif style not in ("sha1", "md5", "uuid", "fast"):
        raise LinkError(f"invalid build-id style '{arg}' (use sha1, md5, uuid, fast, 0xHEX or none)")
    p.c.build_id = style


def _package_metadata(p, arg, name):
    p.c.package_metadata = arg or None


def _sort_common(p, arg, name):
    if arg in (None, "descending"):
        p.c.sort_common = "descending"
    elif arg == "ascending":
        p.c.sort_common = "ascending"
    else:
        raise LinkError(f"invalid common section sorting option: {arg}")


def _unique(p, arg, name):
    if arg is None:
        p.c.unique_orphan_sections = True
    else:
        p.c.unique_sections.append(arg)


def _threads(p, arg, name):
    if name == "no-threads":
        p.c.threads = 1
    elif arg is None:
        p.c.threads = None
    else:
        n = parse_number(arg, "--" + name)
        if n < 1:
            raise LinkError(f"--{name}: expected a positive number, got '{arg}'")
        p.c.threads = n


def _time_trace_file(p, arg, name):
    """--time-trace[=FILE] and --time-trace-file=FILE (lld's spelling)."""
    if arg is not None:
        p.c.time_trace_file = arg
    p.c.time_trace = True


def _error_limit(p, arg, name):
    p.c.error_limit = parse_number(arg, "--error-limit")


def _positive(what):
    def conv(arg, name):
        n = parse_number(arg, what)
        if n <= 0:
            raise LinkError(f"{what} needs a positive number, got '{arg}'")
        return n
    return conv


def _exclude_libs(p, arg, name):
    p.c.exclude_libs.extend(x for x in arg.replace(":", ",").split(",") if x)


def _colon_list(attr):
    def action(p, arg, name):
        getattr(p.c, attr).extend(x for x in arg.split(":") if x)
    return action


def _y_path(p, arg, name):
    # Solaris -Y P,DIR:DIR: default search directories, searched after every -L
    if arg.startswith("P,"):
        arg = arg[2:]
    p.y_dirs = [d for d in arg.split(":") if d]


def _remap(p, arg, name):
    pattern, eq, target = arg.partition("=")
    if not eq:
        raise LinkError(f"invalid argument to option --remap-inputs: '{arg}'")
    p.c.remap_inputs.append((pattern, target))


def _warn_textrel(p, arg, name):
    p.c.textrel_check = "warning"


def _format(p, arg, name):
    p.format = arg


def _gpsize(p, arg, name):
    p.c.gpsize = parse_number(arg, "-G")


def _optimize(p, arg, name):
    p.c.optimize = _leading_int(arg)


def _no_warnings(p, arg, name):
    p.c.no_warnings = True
    p.c.fatal_warnings = False


def _z(p, arg, name):
    key, eq, value = arg.partition("=")
    entry = _Z_INDEX.get(key)
    if entry is None or (entry[1] is not None) != bool(eq):
        # GNU: an unknown -z keyword is a warning, not an error
        p.c.warnings.append(f"-z {arg} ignored")
        return
    state = Z_STATES.get(key, IMPLEMENTED)
    if state == IGNORED:
        p.c.warnings.append(f"-z {arg} ignored")     # GNU ld's word for it on x86-64
        return
    if state == UNSUPPORTED or (isinstance(state, frozenset) and value not in state):
        raise LinkError(f"option '-z {arg}' is not supported yet")
    entry[2](p, value if eq else None)


# ---------------------------------------------------------------------------
# -z keywords
# ---------------------------------------------------------------------------

def _zset(attr, value=True):
    def action(p, v):
        setattr(p.c, attr, value)
    return action


def _zgiven(attr, value):
    """A -z flag whose default depends on the target: remember it was given."""
    def action(p, v):
        setattr(p.c, attr, value)
        p.c.given.add(attr)
    return action


def _zpage(attr, what):
    def action(p, v):
        n = parse_number(v, f"-z {what}")
        if n <= 0 or n & (n - 1):
            raise LinkError(f"invalid {what.replace('-', ' ')} '{v}' (must be a power of 2)")
        setattr(p.c, attr, n)
        p.page_size_set.add(attr)
        p.c.given.add(attr)
    return action


def _zchoice(attrs, choices, key):
    def action(p, v):
        if v not in choices:
            raise LinkError(f"invalid -z {key} value '{v}' (one of {', '.join(choices)})")
        for a in attrs:
            setattr(p.c, a, v)
    return action


def _z_defs(p, v):
    p.unres_obj = "report"


def _z_undefs(p, v):
    p.unres_obj = "ignore"


def _z_stack_size(p, v):
    p.c.stack_size = parse_number(v, "-z stack-size")


def _z_call_nop(p, v):
    ok = v in ("prefix-addr", "prefix-nop", "suffix-nop")
    if not ok and v[:7] in ("prefix-", "suffix-"):
        try:
            ok = 0 <= parse_number(v[7:], "-z call-nop") <= 0xff
        except LinkError:
            ok = False
    if not ok:
        raise LinkError(f"invalid number for -z call-nop=prefix-: {v}")
    p.c.call_nop = v


def _z_isa(level):
    def action(p, v):
        p.c.x86_isa_level = level
    return action


def _z_nosectionheader(p, v):
    p.c.section_header = False


_REPORT = ("none", "warning", "error")

# keyword, VALUE name if it is written keyword=VALUE (else None), action(p, value),
# --help text (None: hidden)
Z_KEYWORDS = [
    ("common-page-size", "SIZE", _zpage("common_page_size", "common-page-size"), "Set common page size to SIZE"),
    ("max-page-size", "SIZE", _zpage("max_page_size", "max-page-size"), "Set maximum page size to SIZE"),
    ("defs", None, _z_defs, "Report unresolved symbols in object files"),
    ("undefs", None, _z_undefs, "Ignore unresolved symbols in object files"),
    ("muldefs", None, _zset("allow_multiple_definition"), "Allow multiple definitions"),
    ("stack-size", "SIZE", _z_stack_size, "Set size of stack segment"),
    ("execstack", None, _zset("execstack", True), "Mark executable as requiring executable stack"),
    ("noexecstack", None, _zset("execstack", False), "Mark executable as not requiring executable stack"),
    ("unique-symbol", None, _zset("unique_symbol", True), "Avoid duplicated local symbol names"),
    ("nounique-symbol", None, _zset("unique_symbol", False), "Keep duplicated local symbol names (default)"),
    ("globalaudit", None, _zset("z_globalaudit"), "Mark executable requiring global auditing"),
    ("start-stop-gc", None, _zset("start_stop_gc", True), "Enable garbage collection on __start/__stop"),
    ("nostart-stop-gc", None, _zset("start_stop_gc", False), "Don't garbage collect __start/__stop (default)"),
    ("start-stop-visibility", "V",
     _zchoice(("start_stop_visibility",), ("default", "internal", "hidden", "protected"), "start-stop-visibility"),
     "Set visibility of built-in __start/__stop symbols to DEFAULT, PROTECTED, HIDDEN or INTERNAL"),
    ("sectionheader", None, _zset("section_header", True), "Generate section header (default)"),
    ("nosectionheader", None, _z_nosectionheader, "Do not generate section header"),
    ("combreloc", None, _zset("combreloc", True), "Merge dynamic relocs into one section and sort"),
    ("nocombreloc", None, _zset("combreloc", False), "Don't merge dynamic relocs into one section"),
    ("global", None, _zset("z_global"), "Make symbols in DSO available for subsequently loaded objects"),
    ("initfirst", None, _zset("z_initfirst"), "Mark DSO to be initialized first at runtime"),
    ("interpose", None, _zset("z_interpose"), "Mark object to interpose all DSOs but executable"),
    ("unique", None, _zset("z_unique", True), "Mark DSO to be loaded at most once by default"),
    ("nounique", None, _zset("z_unique", False), "Don't mark DSO as a loadable at most once"),
    ("lazy", None, _zset("now", False), "Mark object lazy runtime binding (default)"),
    ("loadfltr", None, _zset("z_loadfltr"), "Mark object requiring immediate process"),
    ("nocopyreloc", None, _zset("nocopyreloc"), "Don't create copy relocs"),
    ("nodefaultlib", None, _zset("z_nodefaultlib"), "Mark object not to use default search paths"),
    ("nodelete", None, _zset("z_nodelete"), "Mark DSO non-deletable at runtime"),
    ("nodlopen", None, _zset("z_nodlopen"), "Mark DSO not available to dlopen"),
    ("nodump", None, _zset("z_nodump"), "Mark DSO not available to dldump"),
    ("now", None, _zset("now", True), "Mark object non-lazy runtime binding"),
    ("origin", None, _zset("z_origin"), "Mark object requiring immediate $ORIGIN processing at runtime"),
    ("relro", None, _zset("relro", True), "Create RELRO program header (default)"),
    ("norelro", None, _zset("relro", False), "Don't create RELRO program header"),
    ("separate-code", None, _zgiven("separate_code", True), "Create separate code program header (default)"),
    ("noseparate-code", None, _zgiven("separate_code", False), "Don't create separate code program header"),
    ("rodynamic", None, _zset("rodynamic", True), "Make .dynamic read-only, without DT_DEBUG (lld)"),
    ("common", None, _zset("elf_stt_common", True), "Generate common symbols with STT_COMMON type"),
    ("nocommon", None, _zset("elf_stt_common", False), "Generate common symbols with STT_OBJECT type"),
    ("text", None, _zset("textrel_check", "error"), "Treat DT_TEXTREL in output as error"),
    ("notext", None, _zset("textrel_check", "none"), "Don't treat DT_TEXTREL in output as error"),
    ("textoff", None, _zset("textrel_check", "none"), "Don't treat DT_TEXTREL in output as error"),
    ("keep-text-section-prefix", None, _zset("keep_text_section_prefix", True),
     "Keep .text.hot/.text.unlikely/.text.startup/.text.exit prefixes"),
    ("nokeep-text-section-prefix", None, _zset("keep_text_section_prefix", False), None),
    # x86-64 (elf_x86_64 emulation)
    ("noextern-protected-data", None, _zset("extern_protected_data", False),
     "Do not treat protected data symbol as external"),
    ("indirect-extern-access", None, _zset("indirect_extern_access", True), "Enable indirect external access"),
    ("noindirect-extern-access", None, _zset("indirect_extern_access", False),
     "Disable indirect external access (default)"),
    ("dynamic-undefined-weak", None, _zset("dynamic_undefined_weak", True), "Make undefined weak symbols dynamic"),
    ("nodynamic-undefined-weak", None, _zset("dynamic_undefined_weak", False),
     "Do not make undefined weak symbols dynamic"),
    ("noreloc-overflow", None, _zset("reloc_overflow_check", False), "Disable relocation overflow check"),
    ("call-nop", "PADDING", _z_call_nop, "Use PADDING as 1-byte NOP for branch"),
    ("ibtplt", None, _zset("ibtplt"), "Generate IBT-enabled PLT entries"),
    ("ibt", None, _zset("ibt"), "Generate GNU_PROPERTY_X86_FEATURE_1_IBT"),
    ("shstk", None, _zset("shstk"), "Generate GNU_PROPERTY_X86_FEATURE_1_SHSTK"),
    ("bndplt", None, _zset("bndplt"), None),
    ("cet-report", "[none|warning|error]", _zchoice(("cet_report",), _REPORT, "cet-report"),
     "Report missing IBT and SHSTK properties (default: none)"),
    ("report-relative-reloc", None, _zset("report_relative_reloc"), "Report relative relocations"),
    ("x86-64-baseline", None, _z_isa(1), "Mark x86-64-baseline ISA level as needed"),
    ("x86-64-v2", None, _z_isa(2), "Mark x86-64-v2 ISA level as needed"),
    ("x86-64-v3", None, _z_isa(3), "Mark x86-64-v3 ISA level as needed"),
    ("x86-64-v4", None, _z_isa(4), "Mark x86-64-v4 ISA level as needed"),
    ("isa-level-report", "[none|all|needed|used]", _zchoice(("isa_level_report",), ("none", "all", "needed", "used"),
                                        "isa-level-report"), None),
    ("lam-u48", None, _zset("lam_u48"), "Generate GNU_PROPERTY_X86_FEATURE_1_LAM_U48"),
    ("lam-u48-report", "[none|warning|error]", _zchoice(("lam_u48_report",), _REPORT, "lam-u48-report"),
     "Report missing LAM_U48 property (default: none)"),
    ("lam-u57", None, _zset("lam_u57"), "Generate GNU_PROPERTY_X86_FEATURE_1_LAM_U57"),
    ("lam-u57-report", "[none|warning|error]", _zchoice(("lam_u57_report",), _REPORT, "lam-u57-report"),
     "Report missing LAM_U57 property (default: none)"),
    ("lam-report", "[none|warning|error]", _zchoice(("lam_u48_report", "lam_u57_report"), _REPORT, "lam-report"),
     "Report missing LAM_U48 and LAM_U57 properties (default: none)"),
    ("pack-relative-relocs", None, _zset("pack_relative_relocs", True), "Pack relative relocations"),
    ("nopack-relative-relocs", None, _zset("pack_relative_relocs", False),
     "Do not pack relative relocations (default)"),
    ("mark-plt", None, _zset("mark_plt", True), "Mark PLT with dynamic tags"),
    ("nomark-plt", None, _zset("mark_plt", False), "Do not mark PLT with dynamic tags (default)"),
    ("memory-seal", None, _zset("memory_seal", True), None),
    # aarch64linux
    ("force-bti", None, _zset("force_bti"),
     "Turn on Branch Target Identification mechanism and generate PLTs with BTI (AArch64)"),
    ("pac-plt", None, _zset("pac_plt"), "Protect PLTs with Pointer Authentication (AArch64)"),
    ("nomemory-seal", None, _zset("memory_seal", False), None),
]
_Z_INDEX = {entry[0]: entry for entry in Z_KEYWORDS}


# ---------------------------------------------------------------------------
# What ldpy does with each option it accepts (no silent options)
# ---------------------------------------------------------------------------
# IMPLEMENTED: honoured.  HINT: cannot change the output (a resource or speed
# hint), accepted.  IGNORED: GNU ld 2.40 ignores it too on x86-64 ELF.
# UNSUPPORTED: refused with "option '--X' is not supported yet", exit 1.  A
# frozenset instead of a state: the values that are honoured; others are refused.
IMPLEMENTED, HINT, IGNORED, UNSUPPORTED = "implemented", "hint", "ignored", "unsupported"

OPTION_STATES = {
    # not supported yet
    "--mri-script": UNSUPPORTED, "--remap-inputs": UNSUPPORTED,
    "--remap-inputs-file": UNSUPPORTED, "--copy-dt-needed-entries": UNSUPPORTED, "--add-needed": UNSUPPORTED,
    "--dynamic-list-cpp-new": UNSUPPORTED, "--dynamic-list-cpp-typeinfo": UNSUPPORTED,
    "--default-imported-symver": UNSUPPORTED, "--disable-multiple-abs-defs": UNSUPPORTED,
    "--no-define-common": UNSUPPORTED, "--sort-common": UNSUPPORTED, "--sort_common": UNSUPPORTED,
    "--sort-section": UNSUPPORTED,
    "--error-handling-script": UNSUPPORTED, "--enable-linker-version": UNSUPPORTED,
    "--print-map-locals": UNSUPPORTED, "--warn-execstack": UNSUPPORTED,
    "--no-warn-mismatch": UNSUPPORTED, "--enable-non-contiguous-regions": UNSUPPORTED,
    "--split-by-file": UNSUPPORTED, "--split-by-reloc": UNSUPPORTED, "--version-exports-section": UNSUPPORTED,
    "--fix-cortex-a53-835769": UNSUPPORTED, "--no-apply-dynamic-relocs": UNSUPPORTED,
    "--bss-plt": UNSUPPORTED,
    # honoured for these values only
    "--oformat": frozenset({"elf64-x86-64"}),
    "--spare-dynamic-tags": frozenset({"0"}),
    # hints: they cannot change what ldpy writes
    "--no-keep-memory": HINT,
    "--reduce-memory-overheads": HINT, "--hash-size": HINT, "--max-cache-size": HINT, "-O": HINT,
    "-rpath-link": HINT,        # ldpy does not read the DT_NEEDED libraries of shared libraries
    "--no-warn-search-mismatch": HINT, "--accept-unknown-input-arch": HINT,
    "--no-accept-unknown-input-arch": HINT, "--enable-non-contiguous-regions-warnings": HINT,
    "--traditional-format": HINT, "--map-whole-files": HINT, "--no-map-whole-files": HINT,
    # GNU ld ignores these on x86-64 ELF as well
    "--architecture": IGNORED, "--gpsize": IGNORED, "-g": IGNORED, "-Qy": IGNORED, "-Qn": IGNORED,
    "-flto": IGNORED, "-flto-partition": IGNORED, "-fuse-ld": IGNORED, "--out-implib": IGNORED,
    "--embedded-relocs": IGNORED, "--force-exe-suffix": IGNORED, "-qmagic": IGNORED, "-assert": IGNORED,
    "--warn-constructors": IGNORED, "--warn-alternate-em": IGNORED, "--warn-multiple-gp": IGNORED,
    "--use-shlib-undefined": IGNORED,
    # (GNU ld's AArch64 emulation accepts and ignores these ARM options; its stubs are PIC)
    "--pic-veneer": IGNORED, "--no-enum-size-warning": IGNORED, "--no-wchar-size-warning": IGNORED,
}

Z_STATES = {
    "unique-symbol": UNSUPPORTED, "nosectionheader": UNSUPPORTED, "common": UNSUPPORTED,
    "noextern-protected-data": UNSUPPORTED,
    "indirect-extern-access": UNSUPPORTED,
    "noreloc-overflow": UNSUPPORTED,
    "bndplt": UNSUPPORTED, "report-relative-reloc": UNSUPPORTED, "lam-u48": UNSUPPORTED,
    "lam-u57": UNSUPPORTED, "mark-plt": UNSUPPORTED,
    "memory-seal": UNSUPPORTED,
    "start-stop-visibility": frozenset({"protected"}), "call-nop": frozenset({"prefix-addr"}),
    "isa-level-report": IGNORED,        # ld.bfd 2.40: "-z isa-level-report=all ignored"
    "lam-u48-report": frozenset({"none"}), "lam-u57-report": frozenset({"none"}),
    "lam-report": frozenset({"none"}),
}

# options of one target's emulation: (config attribute, its default, spelling) by e_machine
TARGET_OPTIONS = {
    183: [("force_bti", False, "-z force-bti"), ("pac_plt", False, "-z pac-plt"),
          ("fix_cortex_a53_843419", None, "--fix-cortex-a53-843419"),
          ("fix_cortex_a53_835769", False, "--fix-cortex-a53-835769"),
          ("stub_group_size", 1, "--stub-group-size"), ("pic_veneer", False, "--pic-veneer"),
          ("no_enum_size_warning", False, "--no-enum-size-warning"),
          ("no_wchar_size_warning", False, "--no-wchar-size-warning")],
    20: [("secure_plt", False, "--secure-plt"), ("bss_plt", False, "--bss-plt")],
}

_STATE_NOTE = {HINT: " [hint: no effect on the output]", IGNORED: " [ignored, as by GNU ld]",
               UNSUPPORTED: " [not supported yet]"}


# ---------------------------------------------------------------------------
# Emulations
# ---------------------------------------------------------------------------

SUPPORTED_EMULATIONS = ("elf_x86_64", "elf_i386", "aarch64linux", "elf64lriscv",
                       "elf64lriscv_lp64f", "elf64lriscv_lp64", "elf64lriscv_lp64d",
                       "elf32ppclinux", "elf32ppc")   # what ldpy links (arch/); -V and --help list these
# -m accepts every GNU ELF emulation name (stored in config.emulation; the driver decides)
KNOWN_EMULATIONS = frozenset("""
elf_x86_64 elf32_x86_64 elf_i386 elf_iamcu elf_x86_64_fbsd elf_i386_fbsd elf_x86_64_sol2
elf_i386_sol2 elf_i386_ldso elf_i386_vxworks i386pep i386pe
aarch64linux aarch64linuxb aarch64elf aarch64elfb aarch64linux32 aarch64linux32b
aarch64elf32 aarch64elf32b aarch64fbsd aarch64fbsdb aarch64pe
armelf armelfb armelf_linux armelfb_linux armelf_linux_eabi armelfb_linux_eabi
armelf_linux_fdpiceabi armelfb_linux_fdpiceabi armelf_fbsd armelfb_fbsd
elf64lriscv elf32lriscv elf64briscv elf32briscv elf64lriscv_lp64 elf64lriscv_lp64f
elf64lriscv_lp64d elf32lriscv_ilp32 elf32lriscv_ilp32f elf32lriscv_ilp32d
elf64briscv_lp64 elf64briscv_lp64f elf32briscv_ilp32 elf32briscv_ilp32f
elf32ppc elf32ppclinux elf32lppc elf32lppclinux elf32ppcvxworks elf32ppcsim
elf64ppc elf64lppc
elf_s390 elf64_s390 elf64loongarch elf32loongarch elf64alpha
elf32_sparc elf64_sparc elf32_sparc_sol2 elf64_sparc_sol2
elf32btsmip elf32ltsmip elf32btsmipn32 elf32ltsmipn32 elf64btsmip elf64ltsmip
elf32bmip elf32lmip elf32bmipn32 elf32lmipn32 elf64bmip elf64lmip
m68kelf hppalinux hppa64linux elf64_ia64 shlelf_linux shelf_linux elf32_tic6x_le
""".split())


# ---------------------------------------------------------------------------
# The option table (in GNU ld's --help order)
# ---------------------------------------------------------------------------

OPTIONS = [
    Opt("-a", REQ, _a_keyword, "Shared library control for HP/UX compatibility", "KEYWORD"),
    Opt("-A --architecture", REQ, _store("architecture"), "Set architecture", "ARCH"),
    Opt("-b --format", REQ, _format, "Specify target for following input files", "TARGET"),
    Opt("-c --mri-script", REQ, _append("mri_scripts"), "Read MRI format linker script", "FILE"),
    Opt("-d -dc -dp", NONE, _set("define_common"), "Force common symbols to be defined"),
    Opt("--dependency-file", REQ, _store("dependency_file"), "Write dependency file", "FILE"),
    Opt("--force-group-allocation", NONE, _set("force_group_allocation"), "Force group members out of groups"),
    Opt("-e --entry", REQ, _store("entry"), "Set start address", "ADDRESS"),
    Opt("-E --export-dynamic", NONE, _set("export_dynamic"), "Export all dynamic symbols"),
    Opt("--no-export-dynamic", NONE, _set("export_dynamic", False), "Undo the effect of --export-dynamic"),
    Opt("--enable-non-contiguous-regions", NONE, _ignore, "Enable support of non-contiguous memory regions"),
    Opt("--enable-non-contiguous-regions-warnings", NONE, _ignore,
        "Enable warnings when --enable-non-contiguous-regions may cause unexpected behaviour"),
    Opt("--disable-linker-version", NONE, _set("linker_version", False),
        "Disable the LINKER_VERSION linker script directive"),
    Opt("--enable-linker-version", NONE, _set("linker_version", True),
        "Enable the LINKER_VERSION linker script directive"),
    Opt("-EB", NONE, _set("endian", "big"), "Link big-endian objects"),
    Opt("-EL", NONE, _set("endian", "little"), "Link little-endian objects"),
    Opt("-f --auxiliary", REQ, _append("auxiliary"), "Auxiliary filter for shared object symbol table", "SHLIB"),
    Opt("-F --filter", REQ, _append("filter"), "Filter for shared object symbol table", "SHLIB"),
    Opt("-g", NONE, _ignore, "Ignored"),
    Opt("-G --gpsize", REQ, _gpsize, "Small data size (if no size, same as --shared)", "SIZE"),
    Opt("-h -soname", REQ, _soname, "Set internal name of shared library", "FILENAME"),
    Opt("-I --dynamic-linker", REQ, _dynamic_linker, "Set PROGRAM as the dynamic linker to use", "PROGRAM"),
    Opt("--no-dynamic-linker", NONE, _set("no_dynamic_linker"),
        "Produce an executable with no program interpreter header"),
    Opt("-l --library", REQ, _library, "Search for library LIBNAME", "LIBNAME"),
    Opt("-L --library-path", REQ, _append("library_paths"), "Add DIRECTORY to library search path", "DIRECTORY"),
    Opt("--sysroot", REQ, _store("sysroot"), "Override the default sysroot location", "=<DIRECTORY>"),
    Opt("-m", REQ, _emulation, "Set emulation", "EMULATION"),
    Opt("-M --print-map", NONE, _map_file, "Print map file on standard output"),
    Opt("-n --nmagic", NONE, _magic, "Do not page align data"),
    Opt("-N --omagic", NONE, _magic, "Do not page align data, do not make text readonly"),
    Opt("--no-omagic", NONE, _no_omagic, "Page align data, make text readonly"),
    Opt("-o --output", REQ, _store("output"), "Set output file name", "FILE"),
    Opt("-O", REQ, _optimize, "Optimize output file"),
    Opt("--out-implib", REQ, _ignore, "Generate import library (PE only; ignored)", "FILE"),
    Opt("-plugin", REQ, _append("plugins"), "Load named plugin", "PLUGIN"),
    Opt("-plugin-opt", REQ, _plugin_opt, "Send arg to last-loaded plugin", "ARG"),
    Opt("-mllvm", REQ, _plugin_opt, None),
    Opt("-flto", OPT, _ignore, "Ignored for GCC LTO option compatibility"),
    Opt("-flto-partition", REQ, _ignore, "Ignored for GCC LTO option compatibility", "="),
    Opt("-fuse-ld", REQ, _ignore, "Ignored for GCC linker option compatibility", "="),
    Opt("--map-whole-files", OPT, _ignore, "Ignored for gold option compatibility"),
    Opt("--no-map-whole-files", OPT, _ignore, "Ignored for gold option compatibility"),
    Opt("-Qy", NONE, _ignore, "Ignored for SVR4 compatibility"),
    Opt("-Qn", NONE, _ignore, None),
    Opt("-q --emit-relocs", NONE, _set("emit_relocs"), "Generate relocations in final output"),
    Opt("-r -i --relocatable", NONE, _relocatable, "Generate relocatable output"),
    Opt("-R --just-symbols", REQ, _just_symbols, "Just link symbols (if directory, same as --rpath)", "FILE"),
    Opt("--remap-inputs-file", REQ, _append("remap_inputs_files"), "Provide a FILE containing input remapings",
        "FILE"),
    Opt("--remap-inputs", REQ, _remap, "Remap input files matching PATTERN to FILE", "PATTERN=FILE"),
    Opt("-s --strip-all", NONE, _strip, "Strip all symbols"),
    Opt("-S --strip-debug", NONE, _strip, "Strip debugging symbols"),
    Opt("--strip-discarded", NONE, _set("strip_discarded", True), "Strip symbols in discarded sections"),
    Opt("--no-strip-discarded", NONE, _set("strip_discarded", False), "Do not strip symbols in discarded sections"),
    Opt("-t", NONE, _trace, "Trace file opens"),
    Opt("--trace", OPT, _trace, "Trace file opens; --trace=plugin: what linker plugins do", "[=plugin]"),
    Opt("-T --script", REQ, _script, "Read linker script", "FILE"),
    Opt("--default-script -dT", REQ, _store("default_script"), "Read default linker script", "FILE"),
    Opt("-u --undefined", REQ, _append("undefined"), "Start with undefined reference to SYMBOL", "SYMBOL"),
    Opt("--require-defined", REQ, _append("require_defined"), "Require SYMBOL be defined in the final output",
        "SYMBOL"),
    Opt("--unique", OPT, _unique, "Don't merge input [SECTION | orphan] sections", "[=SECTION]"),
    Opt("-Ur", NONE, _relocatable, "Build global constructor/destructor tables"),
    Opt("-v --version", NONE, _version, "Print version information"),
    Opt("-V", NONE, _version, "Print version and emulation information"),
    Opt("-x --discard-all", NONE, _discard, "Discard all local symbols"),
    Opt("-X --discard-locals", NONE, _discard, "Discard temporary local symbols (default)"),
    Opt("--discard-none", NONE, _discard, "Don't discard any local symbols"),
    Opt("-y --trace-symbol", REQ, _append("trace_symbols"), "Trace mentions of SYMBOL", "SYMBOL"),
    Opt("-Y", REQ, _y_path, "Default search path for Solaris compatibility", "PATH"),
    Opt("-( --start-group", NONE, _start_group, "Start a group"),
    Opt("-) --end-group", NONE, _end_group, "End a group"),
    Opt("--accept-unknown-input-arch", NONE, _ignore,
        "Accept input files whose architecture cannot be determined"),
    Opt("--no-accept-unknown-input-arch", NONE, _ignore, "Reject input files whose architecture is unknown"),
    Opt("--add-needed", NONE, _copy_dt_needed, None),
    Opt("--no-add-needed", NONE, _copy_dt_needed, None),
    Opt("--as-needed", NONE, _state("as_needed", True), "Only set DT_NEEDED for following dynamic libs if used"),
    Opt("--no-as-needed", NONE, _state("as_needed", False),
        "Always set DT_NEEDED for dynamic libraries mentioned on the command line"),
    Opt("-assert", REQ, _assert, "Ignored for SunOS compatibility", "KEYWORD"),
    Opt("-Bdynamic -dy -call_shared", NONE, _set_dynamic, "Link against shared libraries"),
    Opt("-Bstatic -dn -non_shared -static", NONE, _set_static, "Do not link against shared libraries"),
    Opt("-Bno-symbolic", NONE, _symbolic, "Don't bind global references locally"),
    Opt("-Bsymbolic", NONE, _symbolic, "Bind global references locally"),
    Opt("-Bsymbolic-functions", NONE, _symbolic, "Bind global function references locally"),
    Opt("-Bsymbolic-non-weak-functions", NONE, _symbolic,
        "Bind global non-weak function references locally (lld)"),
    Opt("--check-sections", NONE, _state("check_sections", True), "Check section addresses for overlaps (default)"),
    Opt("--no-check-sections", NONE, _state("check_sections", False), "Do not check section addresses for overlaps"),
    Opt("--copy-dt-needed-entries", NONE, _copy_dt_needed, "Copy DT_NEEDED links mentioned inside DSOs that follow"),
    Opt("--no-copy-dt-needed-entries", NONE, _copy_dt_needed,
        "Do not copy DT_NEEDED links mentioned inside DSOs that follow"),
    Opt("--cref", NONE, _set("cref"), "Output cross reference table"),
    Opt("--defsym", REQ, _defsym, "Define a symbol", "SYMBOL=EXPRESSION"),
    Opt("--demangle", OPT, _demangle, "Demangle symbol names [using STYLE]", "[=STYLE]"),
    Opt("--disable-multiple-abs-defs", NONE, _set("disable_multiple_abs_defs"),
        "Do not allow multiple definitions with symbols included in filename invoked by -R or --just-symbols"),
    Opt("--embedded-relocs", NONE, _ignore, "Generate embedded relocs"),
    Opt("--fatal-warnings", NONE, _set("fatal_warnings", True), "Treat warnings as errors"),
    Opt("--no-fatal-warnings", NONE, _set("fatal_warnings", False), "Do not treat warnings as errors (default)"),
    Opt("-fini", REQ, _store("fini"), "Call SYMBOL at unload-time", "SYMBOL"),
    Opt("--force-exe-suffix", NONE, _ignore, "Force generation of file with .exe suffix"),
    Opt("--gc-sections", NONE, _set("gc_sections", True), "Remove unused sections (on some targets)"),
    Opt("--no-gc-sections", NONE, _set("gc_sections", False), "Don't remove unused sections (default)"),
    Opt("--print-gc-sections", NONE, _set("print_gc_sections", True), "List removed unused sections on stderr"),
    Opt("--no-print-gc-sections", NONE, _set("print_gc_sections", False), "Do not list removed unused sections"),
    Opt("--gc-keep-exported", NONE, _set("gc_keep_exported"), "Keep exported symbols when removing unused sections"),
    Opt("--hash-size", REQ, _store("hash_size", _positive("--hash-size")),
        "Set default hash table size close to <NUMBER>", "=<NUMBER>"),
    Opt("--help", NONE, _help, "Print option help"),
    Opt("-init", REQ, _store("init"), "Call SYMBOL at load-time", "SYMBOL"),
    Opt("-Map", REQ, _map_file, "Write a linker map to FILE or DIR/<outputname>.map", "FILE/DIR"),
    Opt("--no-define-common", NONE, _set("no_define_common"), "Do not define Common storage"),
    Opt("--no-demangle", NONE, _set("demangle", False), "Do not demangle symbol names"),
    Opt("--no-keep-memory", NONE, _ignore, "Use less memory and more disk I/O"),
    Opt("--no-undefined", NONE, _no_undefined, "Do not allow unresolved references in object files"),
    Opt("-w --no-warnings", NONE, _no_warnings, "Do not display any warning or error messages"),
    Opt("--allow-shlib-undefined", NONE, _shlib_undefined, "Allow unresolved references in shared libraries"),
    Opt("--no-allow-shlib-undefined", NONE, _shlib_undefined, "Do not allow unresolved references in shared libs"),
    Opt("--use-shlib-undefined", NONE, _set("use_shlib_undefined"), None),
    Opt("--allow-multiple-definition", NONE, _set("allow_multiple_definition"), "Allow multiple definitions"),
    Opt("--error-handling-script", REQ, _store("error_handling_script"),
        "Provide a script to help with undefined symbol errors", "SCRIPT"),
    Opt("--undefined-version", NONE, _set("undefined_version", True), "Allow undefined version"),
    Opt("--no-undefined-version", NONE, _set("undefined_version", False), "Disallow undefined version"),
    Opt("--default-symver", NONE, _set("default_symver"), "Create default symbol version"),
    Opt("--default-imported-symver", NONE, _set("default_imported_symver"),
        "Create default symbol version for imported symbols"),
    Opt("--no-warn-mismatch", NONE, _set("warn_mismatch", False), "Don't warn about mismatched input files"),
    Opt("--no-warn-search-mismatch", NONE, _set("warn_search_mismatch", False),
        "Don't warn on finding an incompatible library"),
    Opt("--whole-archive", NONE, _state("whole_archive", True), "Include all objects from following archives"),
    Opt("--no-whole-archive", NONE, _state("whole_archive", False), "Turn off --whole-archive"),
    Opt("--noinhibit-exec", NONE, _set("noinhibit_exec"), "Create an output file even if errors occur"),
    Opt("--noinhibit_exec", NONE, _set("noinhibit_exec"), None),
    Opt("-nostdlib", NONE, _set("nostdlib"), "Only use library directories specified on the command line"),
    Opt("--oformat", REQ, _store("oformat"), "Specify target of output file", "TARGET"),
    Opt("--print-output-format", NONE, _set("print_output_format"), "Print default output format"),
    Opt("--print-sysroot", NONE, _set("print_sysroot"), "Print current sysroot"),
    Opt("-qmagic", NONE, _ignore, "Ignored for Linux compatibility"),
    Opt("--reduce-memory-overheads", NONE, _set("reduce_memory_overheads"),
        "Reduce memory overheads, possibly taking much longer"),
    Opt("--max-cache-size", REQ, _ignore, "Set the maximum cache size to SIZE bytes", "=SIZE"),
    Opt("--relax", NONE, _set("relax", True), "Reduce code size by using target specific optimizations"),
    Opt("--no-relax", NONE, _set("relax", False), "Do not use relaxation techniques to reduce code size"),
    Opt("--retain-symbols-file", REQ, _store("retain_symbols_file"), "Keep only symbols listed in FILE", "FILE"),
    Opt("-rpath", REQ, _rpath, "Set runtime shared library search path", "PATH"),
    Opt("-rpath-link", REQ, _append("rpath_link"), "Set link time shared library search path", "PATH"),
    Opt("-shared -Bshareable", NONE, _shared, "Create a shared library"),
    Opt("-pie --pic-executable", NONE, _pie, "Create a position independent executable"),
    Opt("-no-pie", NONE, _no_pie, "Create a position dependent executable (default)"),
    Opt("--sort-common", OPT, _sort_common, "Sort common symbols by alignment [in specified order]",
        "[=ascending|descending]"),
    Opt("--sort_common", NONE, _sort_common, None),
    Opt("--sort-section", REQ, _choice("sort_section", ("name", "alignment"), "invalid section sorting option: {}"),
        "Sort sections by name or maximum alignment", "name|alignment"),
    Opt("--spare-dynamic-tags", REQ, _store("spare_dynamic_tags", _num("--spare-dynamic-tags")),
        "How many tags to reserve in .dynamic section", "COUNT"),
    Opt("--split-by-file", OPT, _ignore, "Split output sections every SIZE octets", "[=SIZE]"),
    Opt("--split-by-reloc", OPT, _ignore, "Split output sections every COUNT relocs", "[=COUNT]"),
    Opt("--stats", NONE, _set("stats"), "Print memory usage statistics"),
    Opt("--target-help", NONE, _help, "Display target specific options"),
    Opt("--task-link", REQ, _relocatable, "Do task level linking", "SYMBOL"),
    Opt("--traditional-format", NONE, _ignore, "Use same format as native linker"),
    Opt("--section-start", REQ, _section_start, "Set address of named section", "SECTION=ADDRESS"),
    Opt("-Tbss", REQ, _t_address, "Set address of .bss section", "ADDRESS"),
    Opt("-Tdata", REQ, _t_address, "Set address of .data section", "ADDRESS"),
    Opt("-Ttext", REQ, _t_address, "Set address of .text section", "ADDRESS"),
    Opt("-Ttext-segment", REQ, _t_address, "Set address of text segment", "ADDRESS"),
    Opt("-Trodata-segment", REQ, _t_address, "Set address of rodata segment", "ADDRESS"),
    Opt("-Tldata-segment", REQ, _t_address, "Set address of ldata segment", "ADDRESS"),
    Opt("--unresolved-symbols", REQ, _unresolved,
        "How to handle unresolved symbols.  <method> is: ignore-all, report-all, "
        "ignore-in-object-files, ignore-in-shared-libs", "=<method>"),
    Opt("--verbose", OPT, _verbose, "Output lots of information during link", "[=NUMBER]"),
    Opt("--dll-verbose", NONE, _verbose, None),
    Opt("--version-script", REQ, _append_command_file("version_scripts"), "Read version information script", "FILE"),
    Opt("--version-exports-section", REQ, _ignore,
        "Take export symbols list from .exports, using SYMBOL as the version.", "SYMBOL"),
    Opt("--dynamic-list-data", NONE, _set("dynamic_list_data"), "Add data symbols to dynamic list"),
    Opt("--dynamic-list-cpp-new", NONE, _set("dynamic_list_cpp_new"), "Use C++ operator new/delete dynamic list"),
    Opt("--dynamic-list-cpp-typeinfo", NONE, _set("dynamic_list_cpp_typeinfo"), "Use C++ typeinfo dynamic list"),
    Opt("--dynamic-list", REQ, _append_command_file("dynamic_lists"), "Read dynamic list", "FILE"),
    Opt("--export-dynamic-symbol", REQ, _append("export_dynamic_symbols"), "Export the specified symbol", "SYMBOL"),
    Opt("--export-dynamic-symbol-list", REQ, _append_command_file("export_dynamic_symbol_lists"),
        "Read export dynamic symbol list", "FILE"),
    Opt("--warn-common", NONE, _set("warn_common"), "Warn about duplicate common symbols"),
    Opt("--warn-constructors", NONE, _set("warn_constructors"), "Warn if global constructors/destructors are seen"),
    Opt("--warn-execstack", NONE, _set("warn_execstack", True), "Warn when creating an executable stack"),
    Opt("--no-warn-execstack", NONE, _set("warn_execstack", False), "Do not warn when creating an executable stack"),
    Opt("--warn-rwx-segments", NONE, _set("warn_rwx_segments", True), "Warn when creating executable segments"),
    Opt("--no-warn-rwx-segments", NONE, _set("warn_rwx_segments", False),
        "Do not warn when creating executable segments"),
    Opt("--warn-multiple-gp", NONE, _ignore, "Warn if the multiple GP values are used"),
    Opt("--warn-once", NONE, _set("warn_once"), "Warn only once per undefined symbol"),
    Opt("--warn-section-align", NONE, _set("warn_section_align"), "Warn if start of section changes due to alignment"),
    Opt("--warn-textrel", NONE, _warn_textrel, "Warn if output has DT_TEXTREL (default)"),
    Opt("--warn-shared-textrel", NONE, _warn_textrel, None),
    Opt("--warn-alternate-em", NONE, _set("warn_alternate_em"), "Warn if an object has alternate ELF machine code"),
    Opt("--warn-unresolved-symbols", NONE, _set("warn_unresolved_symbols", True),
        "Report unresolved symbols as warnings"),
    Opt("--error-unresolved-symbols", NONE, _set("warn_unresolved_symbols", False),
        "Report unresolved symbols as errors"),
    Opt("--wrap", REQ, _append("wrap"), "Use wrapper functions for SYMBOL", "SYMBOL"),
    Opt("--ignore-unresolved-symbol", REQ, _append("ignore_unresolved_symbols"),
        "Unresolved SYMBOL will not cause an error or warning", "SYMBOL"),
    Opt("--push-state", NONE, _push_state, "Push state of flags governing input file handling"),
    Opt("--pop-state", NONE, _pop_state, "Pop state of flags governing input file handling"),
    Opt("--print-memory-usage", NONE, _set("print_memory_usage"), "Report target memory usage"),
    Opt("--orphan-handling", REQ, _choice("orphan_handling", ("place", "warn", "error", "discard"),
                                          "invalid argument to option --orphan-handling: '{}'", lower=True),
        "Control how orphan sections are handled.", "=MODE"),
    Opt("--print-map-discarded", NONE, _set("print_map_discarded", True),
        "Show discarded sections in map file output (default)"),
    Opt("--no-print-map-discarded", NONE, _set("print_map_discarded", False),
        "Do not show discarded sections in map file output"),
    Opt("--print-map-locals", NONE, _set("print_map_locals", True), "Show local symbols in map file output"),
    Opt("--no-print-map-locals", NONE, _set("print_map_locals", False),
        "Do not show local symbols in map file output (default)"),
    Opt("--ctf-variables", NONE, _set("ctf_variables"), "Emit names and types of static variables in CTF"),
    Opt("--no-ctf-variables", NONE, _set("ctf_variables", False),
        "Do not emit names and types of static variables in CTF"),
    Opt("--ctf-share-types", REQ, _ctf_share_types, "How to share CTF types between translation units",
        "=<method>"),
    # options of other linkers that build systems pass to ld
    Opt("--threads", OPT, _threads, "Write the output with N processes (default: every CPU)", "[=N]"),
    Opt("--no-threads", NONE, _threads, "Write the output with one process"),
    Opt("--thread-count", REQ, _threads, "Write the output with N processes", "N"),
    Opt("--icf", REQ, _choice("icf", ("none", "all", "safe"), "invalid --icf value '{}' (none, all or safe)"),
        "Fold identical code sections", "=none|all|safe"),
    Opt("--print-icf-sections", NONE, _set("print_icf_sections", True),
        "List folded identical sections on stderr"),
    Opt("--no-print-icf-sections", NONE, _set("print_icf_sections", False),
        "Do not list folded identical sections"),
    Opt("--keep-unique", REQ, _append("keep_unique"), "Do not fold the section defining SYMBOL (--icf)",
        "SYMBOL"),
    Opt("--gdb-index", NONE, _set("gdb_index", True), "Generate .gdb_index section"),
    Opt("--pack-dyn-relocs", REQ, _pack_dyn_relocs,
        "Pack dynamic relocations (lld): relr, android, android+relr or none", "=relr|android|android+relr|none"),
    Opt("--use-android-relr-tags", NONE, _set("use_android_relr_tags", True),
        "Use DT_ANDROID_RELR* tags instead of DT_RELR* (lld)"),
    Opt("--no-use-android-relr-tags", NONE, _set("use_android_relr_tags", False), None),
    Opt("--no-gdb-index", NONE, _set("gdb_index", False), None),
    Opt("--error-limit", REQ, _error_limit, "Stop after N errors (0: no limit)", "=N"),
    Opt("--image-base", REQ, _store("image_base", _num("--image-base")), "Set the base address of the image",
        "ADDRESS"),
    Opt("--shuffle-sections", OPT, _shuffle_sections,
        "Shuffle input sections (matching GLOB) inside their output sections, with SEED (mold, lld)",
        "[=[GLOB=]SEED]"),
    Opt("--start-lib", NONE, _start_lib, "Start a group of objects linked like archive members (lld)"),
    Opt("--end-lib", NONE, _end_lib, "End a group of objects linked like archive members (lld)"),
    Opt("--undefined-glob", REQ, _append("undefined_globs"),
        "Force symbols matching PATTERN to be undefined, extracting what defines them (lld)", "=PATTERN"),
    Opt("--rosegment", NONE, lambda p, arg, name: _zgiven("separate_code", True)(p, None),
        "Put read-only data in a segment of its own, apart from code (lld; as -z separate-code)"),
    Opt("--no-rosegment", NONE, lambda p, arg, name: _zgiven("separate_code", False)(p, None),
        "Put read-only data in the code segment (lld; as -z noseparate-code)"),
    # reports of lld and mold (not in GNU ld)
    Opt("--why-extract", REQ, _store("why_extract"),
        "Write why each archive member was extracted to FILE (TSV; - for stdout)", "=FILE"),
    Opt("--print-archive-stats", REQ, _store("print_archive_stats"),
        "Write each archive's member and extracted counts to FILE (TSV; - for stdout)", "=FILE"),
    Opt("--why-live", REQ, _append("why_live"),
        "With --gc-sections, print why sections defining SYMBOL (a glob) are kept", "=SYMBOL"),
    Opt("--reproduce", REQ, _store("reproduce"),
        "Write a tar of the inputs and a response file that relinks them", "=FILE.tar"),
    Opt("--time-trace", OPT, _time_trace_file,
        "Write the pass timings as Chrome trace JSON [to FILE]", "[=FILE]"),
    Opt("--time-trace-file", REQ, _time_trace_file, "Where --time-trace writes (default: OUTPUT.time-trace)",
        "=FILE"),
    Opt("--time-trace-granularity", REQ, _store("time_trace_granularity", _num("--time-trace-granularity")),
        "Leave out passes shorter than N microseconds (default 500)", "=N"),
    Opt("--plugin-config", REQ, _append("plugin_configs"),
        "Run the Python linker plugins a YAML file lists (ELD's format)", "FILE"),
    Opt("--plugin-activity-file", REQ, _store("plugin_activity_file"),
        "Write what each linker plugin did as JSON", "FILE"),
    Opt("--print-shim-dir", NONE, _set("print_shim_dir"),
        "Print a directory for gcc -B that makes gcc link with ldpy, and exit"),
    Opt("--server-stop", NONE, _set("server_stop"),
        "Stop the persistent link servers of LDPY_SERVER=1, and exit"),
    # ELF emulation options (printed under "emulation specific options")
    Opt("--ld-generated-unwind-info", NONE, _set("ld_generated_unwind_info", True),
        "Generate exception handling info for PLT", emul=True),
    Opt("--no-ld-generated-unwind-info", NONE, _set("ld_generated_unwind_info", False),
        "Don't generate exception handling info for PLT", emul=True),
    Opt("--build-id", OPT, _build_id, "Generate build ID note", "[=STYLE]", emul=True),
    Opt("--package-metadata", OPT, _package_metadata, "Generate package metadata note", "[=JSON]", emul=True),
    Opt("--compress-debug-sections", REQ,
        _choice("compress_debug_sections", ("none", "zlib", "zlib-gnu", "zlib-gabi", "zstd"),
                "invalid --compress-debug-sections option: '{}'", lower=True),
        "Compress DWARF debug sections", "=[none|zlib|zlib-gnu|zlib-gabi|zstd]", emul=True),
    Opt("-z", REQ, _z, "Set the KEYWORD option (see below)", "KEYWORD", emul=True),
    Opt("--audit", REQ, _colon_list("audit"), "Specify a library to use for auditing", "=AUDITLIB", emul=True),
    Opt("-Bgroup", NONE, _bgroup, "Selects group name lookup rules for DSO", emul=True),
    Opt("--disable-new-dtags", NONE, _set("new_dtags", False), "Disable new dynamic tags", emul=True),
    Opt("--enable-new-dtags", NONE, _set("new_dtags", True), "Enable new dynamic tags", emul=True),
    Opt("--eh-frame-hdr", NONE, _set("eh_frame_hdr", True), "Create .eh_frame_hdr section", emul=True),
    Opt("--no-eh-frame-hdr", NONE, _set("eh_frame_hdr", False), "Do not create .eh_frame_hdr section", emul=True),
    Opt("--exclude-libs", REQ, _exclude_libs, "Make all symbols in LIBS hidden", "=LIBS", emul=True),
    Opt("--hash-style", REQ, _choice("hash_style", ("sysv", "gnu", "both"), "invalid hash style '{}'"),
        "Set hash style to sysv/gnu/both.  Default: both", "=STYLE", emul=True),
    Opt("-P --depaudit", REQ, _colon_list("depaudit"), "Specify a library to use for auditing dependencies",
        "AUDITLIB", emul=True),
    # aarch64linux (refused when the link's target is another machine: driver.py)
    Opt("--fix-cortex-a53-843419", OPT, _fix_843419,
        "Fix erratum 843419 (AArch64): full (default), adr or adrp", "[=full|adr|adrp]", emul=True),
    Opt("--fix-cortex-a53-835769", NONE, _set("fix_cortex_a53_835769"), "Fix erratum 835769 (AArch64)",
        emul=True),
    Opt("--stub-group-size", REQ, _stub_group_size,
        "Maximum size of a group of input sections that can be handled by one stub section (AArch64)",
        "=N", emul=True),
    Opt("--pic-veneer", NONE, _set("pic_veneer"), "Always generate PIC interworking veneers (AArch64)",
        emul=True),
    Opt("--no-apply-dynamic-relocs", NONE, _set("no_apply_dynamic_relocs"),
        "Do not apply link-time values for dynamic relocations (AArch64)", emul=True),
    Opt("--no-enum-size-warning", NONE, _set("no_enum_size_warning"),
        "Don't warn about objects with incompatible enum sizes (AArch64)", emul=True),
    Opt("--no-wchar-size-warning", NONE, _set("no_wchar_size_warning"),
        "Don't warn about objects with incompatible wchar_t sizes (AArch64)", emul=True),
    # elf32ppclinux
    Opt("--secure-plt", NONE, _set("secure_plt"), "Use new-style PLT if possible (PowerPC)", emul=True),
    Opt("--bss-plt", NONE, _set("bss_plt"), "Always use old-style PLT (PowerPC)", emul=True),
]


def _apply_states():
    by_spelling = {n: opt for opt in OPTIONS for n in opt.names}
    for spelling, state in OPTION_STATES.items():
        by_spelling[spelling].state = state         # (a KeyError here is a typo in the table)
    for key in Z_STATES:
        assert key in _Z_INDEX, key


_apply_states()


def _index():
    long, short = {}, {}
    for opt in OPTIONS:
        for n in opt.names:
            if n.startswith("--"):
                long[n[2:]] = opt
            elif len(n) == 2:
                short[n[1]] = opt
            else:
                long[n[1:]] = opt
    assert _TWO_DASH_ONLY <= long.keys()
    return long, short, sorted(long)


_LONG, _SHORT, _LONG_SORTED = _index()


def _match_long(name, two_dashes, typed):
    """The option for long name `name` (an exact name or a unique abbreviation,
    as getopt allows), or None.  Single-dash words never match two-dash-only
    options."""
    opt = _LONG.get(name)
    if opt is not None and (two_dashes or name not in _TWO_DASH_ONLY):
        return opt, name
    if not name:
        return None, None
    found = {}
    i = bisect_left(_LONG_SORTED, name)
    while i < len(_LONG_SORTED) and _LONG_SORTED[i].startswith(name):
        full = _LONG_SORTED[i]
        if two_dashes or full not in _TWO_DASH_ONLY:
            found.setdefault(id(_LONG[full]), full)
        i += 1
    if len(found) == 1:
        full = next(iter(found.values()))
        return _LONG[full], full
    if found:
        dash = "--" if two_dashes else "-"
        raise LinkError(f"option '{typed}' is ambiguous; possibilities: "
                        + " ".join(f"'{dash}{n}'" for n in sorted(found.values())))
    return None, None


# ---------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------

class _Parser:
    def __init__(self):
        self.c = Config()
        # state that applies to the inputs that follow (push/pop-state saves it)
        self.whole_archive = self.static = self.as_needed = self.copy_dt_needed = False
        self.format = None
        self.stack = []
        self.group_depth = 0
        self.in_lib = False               # between --start-lib and --end-lib
        self.link_type = "exec"          # 'exec' | 'pie' | 'shared' (the last of -pie/-shared/-no-pie)
        self.relocatable = False
        self.unres_obj = self.unres_shl = None    # None: not set yet (GNU's RM_NOT_YET_SET)
        self.strip = None                # 'all' | 'debug'
        self.discard = None              # 'all' | 'locals' | 'none'
        self.page_size_set = set()
        self.y_dirs = []
        self.check_sections = None
        self.stop = False

    def input_state(self):
        return (self.whole_archive, self.static, self.as_needed, self.copy_dt_needed)

    def add_input(self, kind, name=""):
        self.c.inputs.append(InputSpec(kind, name, self.whole_archive, self.static,
                                       self.as_needed, self.format))

    def run(self, opt, arg, name):
        self.c.command_items.append((name, arg))
        state = opt.state
        if state != IMPLEMENTED and state != HINT and state != IGNORED and \
                (state == UNSUPPORTED or arg not in state):
            spelled = ("-" if len(name) == 1 else "--") + name + (f"={arg}" if arg is not None else "")
            raise LinkError(f"option '{spelled}' is not supported yet")
        opt.action(self, arg, name)

    def parse(self, args):
        n = len(args)
        i = 0
        while i < n and not self.stop:
            a = args[i]
            i += 1
            if a[:1] != "-" or a == "-":
                self.add_input("file", a)
                self.c.command_items.append((None, a))
                continue
            if a == "--":                       # getopt: everything after is a file
                for rest in args[i:]:
                    self.add_input("file", rest)
                    self.c.command_items.append((None, rest))
                break
            if a[1] == "-":
                i = self._long(a, a[2:], True, args, i)
                continue
            body = a[1:]
            if body[0] == "l" and len(body) > 1:
                # GNU rewrites every -lNAME to --library=NAME before parsing, so
                # -library is a library called "ibrary", never --library.
                self.add_input("lib", body[1:])
                self.c.command_items.append(("l", body[1:]))
                continue
            if body == "G" and (i >= n or not args[i][:1].isdigit()):
                self.run(_LONG["shared"], None, "shared")   # Solaris-style -G = -shared
                continue
            if len(body) == 1 and body in _SHORT:
                i = self._short(a, body, args, i)
                continue
            name = body.partition("=")[0]
            opt, full = _match_long(name, False, "-" + name)
            if opt is not None:
                i = self._long(a, body, False, args, i, opt, full)
            elif body[0] in _SHORT:
                i = self._short(a, body, args, i)
            else:
                raise LinkError(f"unrecognized option '{a}'")
        return self.finish()

    def _long(self, a, body, two_dashes, args, i, opt=None, full=None):
        name, eq, value = body.partition("=")
        typed = ("--" if two_dashes else "-") + name
        if opt is None:
            opt, full = _match_long(name, two_dashes, typed)
            if opt is None:
                raise LinkError(f"unrecognized option '{a}'")
        if opt.arg == NONE:
            if eq:
                raise LinkError(f"option '{typed}' doesn't allow an argument")
            self.run(opt, None, full)
        elif opt.arg == OPT:
            self.run(opt, value if eq else None, full)
        else:
            if not eq:
                if i >= len(args):
                    raise LinkError(f"option '{typed}' requires an argument")
                value = args[i]
                i += 1
            self.run(opt, value, full)
        return i

    def _short(self, a, body, args, i):
        opt = _SHORT[body[0]]
        if opt.arg != NONE:
            value = body[1:]
            if not value:
                if i >= len(args):
                    raise LinkError(f"option '-{body[0]}' requires an argument")
                value = args[i]
                i += 1
            self.run(opt, value, body[0])
            return i
        # grouped flags like -sS: GNU still takes them (with a warning), but a
        # letter that wants an argument makes the word ambiguous.
        todo = [(opt, body[0])]
        for ch in body[1:]:
            o = _SHORT.get(ch)
            if o is None:
                raise LinkError(f"unrecognized option '{a}'")
            if o.arg != NONE:
                raise LinkError(f"unable to disambiguate: {a} (did you mean -{a} ?)")
            todo.append((o, ch))
        if len(todo) > 1:
            self.c.warnings.append(f"grouped short command line options are deprecated: {a}")
        for o, ch in todo:
            self.run(o, None, ch)
        return i

    def finish(self):
        c = self.c
        if self.stop:                     # --help / --version: nothing else matters
            fresh = Config(help=c.help, version=c.version, version_exit=c.version_exit,
                           list_emulations=c.list_emulations)
            fresh.warnings = c.warnings
            return fresh
        if self.group_depth:
            raise LinkError("--start-group without a matching --end-group")
        if self.in_lib:
            raise LinkError("--start-lib without a matching --end-lib")
        if c.default_script and not c.scripts:
            # -dT: the default script, read after the whole command line; a -T script
            # replaces the default one, so then it is not read at all (GNU ld)
            c.scripts.append(c.default_script)
            self.add_input("script", c.default_script)
        c.relocatable = self.relocatable
        c.shared = self.link_type == "shared"
        c.pie = self.link_type == "pie"
        c.static = self.static
        c.copy_dt_needed_entries = self.copy_dt_needed
        c.no_undefined = self.unres_obj == "report"     # --no-undefined, -z defs, -Bgroup, ...
        c.unresolved_in_objects = self.unres_obj or "report"
        c.unresolved_in_shared_libs = self.unres_shl or "report"
        c.no_allow_shlib_undefined = self.unres_shl == "report"    # said explicitly
        c.unresolved_symbols = {
            ("report", "report"): "report-all", ("ignore", "ignore"): "ignore-all",
            ("ignore", "report"): "ignore-in-object-files",
            ("report", "ignore"): "ignore-in-shared-libs"}[c.unresolved_in_objects, c.unresolved_in_shared_libs]
        if c.relocatable and c.gdb_index:
            raise LinkError("-r and --gdb-index may not be used together")     # (as ld.lld)
        if not c.section_header:          # -z nosectionheader implies --strip-all
            if c.relocatable:
                raise LinkError("-r and -z nosectionheader may not be used together")
            self.strip = "all"
        if c.dynamic_lists or c.dynamic_list_data or c.dynamic_list_cpp_new or c.dynamic_list_cpp_typeinfo:
            c.symbolic = None             # GNU: a dynamic list overrides -Bsymbolic[-functions]
        strip, discard = self.strip, self.discard
        if c.relocatable and strip == "all":
            # GNU: ld -r -s is ld -r -S -x, since global symbols must stay
            strip = "debug"
            discard = discard or "all"
        c.strip_all = strip == "all"
        c.strip_debug = strip in ("all", "debug")
        c.discard_all = discard == "all"
        c.discard_locals = discard == "locals"
        c.discard_none = discard == "none"
        # GNU checks section overlaps unless told not to, or unless this is -r
        c.check_sections = self.check_sections if self.check_sections is not None else not c.relocatable
        if not c.shared:
            if c.filter:
                raise LinkError("-F may not be used without -shared")
            if c.auxiliary:
                raise LinkError("-f may not be used without -shared")
        if c.common_page_size > c.max_page_size:
            if "max_page_size" in self.page_size_set and "common_page_size" not in self.page_size_set:
                c.common_page_size = c.max_page_size
            elif "common_page_size" in self.page_size_set and "max_page_size" not in self.page_size_set:
                c.max_page_size = c.common_page_size
            else:
                raise LinkError(f"common page size ({c.common_page_size:#x}) > "
                                f"maximum page size ({c.max_page_size:#x})")
        if c.soname == "":
            c.warnings.append("SONAME must not be empty string; ignored")
            c.soname = None
        # -L=DIR and -L$SYSROOT/DIR are relative to the sysroot; -Y directories come last
        paths = []
        for d in c.library_paths + self.y_dirs:
            if d.startswith("="):
                d = c.sysroot + d[1:]
            elif d.startswith("$SYSROOT"):
                d = c.sysroot + d[8:]
            paths.append(d)
        c.library_paths = paths
        if c.map_file and c.map_file != "-":
            c.map_file = _map_name(c.map_file, c.output)
        return c


def _map_name(name, output):
    """GNU's -Map rules: '%' stands for the output name (a trailing '%' adds
    '.map'); a directory gets <output basename>.map inside it."""
    if "%" in name:
        head, _, tail = name.partition("%")
        return head + output + (tail or ".map")
    if os.path.isdir(name):
        return os.path.join(name, os.path.basename(output) + ".map")
    return name


def parse_args(argv):
    """GNU ld's command line (without the program name) -> Config.
    Raises LinkError with a one-line message on bad usage."""
    return _Parser().parse(expand_response_files(argv))


# ---------------------------------------------------------------------------
# --help and --version
# ---------------------------------------------------------------------------

VERSION_TEXT = (f"GNU ld (ldpy {__version__}) 2.40\n"
                f"ldpy {__version__}: a GNU-ld-compatible ELF linker written in Python "
                f"(not GNU ld; it accepts GNU ld's command line).\n"
                f"This program is free software; you may redistribute it under the terms of the MIT license.")

EMULATIONS_TEXT = "  Supported emulations:\n" + "\n".join(f"   {e}" for e in SUPPORTED_EMULATIONS)


def emulations_text(emulation=None):
    """-V's list, the emulation of -m first (GNU ld lists its own first)."""
    names = list(SUPPORTED_EMULATIONS)
    if emulation in names:
        names.remove(emulation)
        names.insert(0, emulation)
    return "  Supported emulations:\n" + "\n".join(f"   {e}" for e in names)


def _help_line(left, text):
    left = "  " + left
    if len(left) <= 29:
        return left.ljust(30) + text
    return left + "\n" + " " * 30 + text


def _opt_left(opt):
    parts = []
    for n in opt.names:
        m = opt.metavar
        if m is None:
            parts.append(n)
        elif m[0] in "=[":
            parts.append(n + m)
        else:
            parts.append(f"{n} {m}")
    return ", ".join(parts)


def _state_note(state):
    if isinstance(state, frozenset):
        return " [only " + ", ".join(sorted(state)) + " supported yet]"
    return _STATE_NOTE.get(state, "")


def _make_help():
    lines = ["Usage: ldpy [options] file...", "Options:"]
    for opt in OPTIONS:
        if opt.help is not None and not opt.emul:
            lines.append(_help_line(_opt_left(opt), opt.help + _state_note(opt.state)))
    lines.append(_help_line("@FILE", "Read options from FILE"))
    lines.append("ldpy: supported targets: elf64-x86-64 elf32-i386 elf64-littleaarch64 elf64-littleriscv "
                 "elf32-powerpc")
    lines.append("ldpy: supported emulations: " + " ".join(SUPPORTED_EMULATIONS))
    lines.append("ldpy: emulation specific options:")
    lines.append("ELF emulations:")
    for opt in OPTIONS:
        if opt.help is not None and opt.emul and opt.names != ["-z"]:
            lines.append(_help_line(_opt_left(opt), opt.help + _state_note(opt.state)))
    for key, metavar, _, text in Z_KEYWORDS:
        if text is not None:
            lines.append(_help_line(f"-z {key}" + (f"={metavar}" if metavar else ""),
                                    text + _state_note(Z_STATES.get(key, IMPLEMENTED))))
    lines.append("")
    lines.append("Report bugs to the ldpy issue tracker; LDPY_DEBUG=1 shows the traceback of an internal error.")
    return "\n".join(lines)


def __getattr__(name):
    # HELP_TEXT is built when first asked for (--help, the tests), not by every link
    if name == "HELP_TEXT":
        global HELP_TEXT
        HELP_TEXT = _make_help()
        return HELP_TEXT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
