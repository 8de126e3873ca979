"""What a target provides, and the generic relocation kinds its table maps to.

A target is one object (a `Target` subclass instance, one per machine) holding:

* its ELF flavour: class, byte order, REL or RELA, the dtypes of `elf.format.dtypes`
  (`self.dt`), page size, default image base, dynamic linker, emulation names;
* its relocation table: one row per type giving the generic kind, the base the
  value is taken relative to, the width of the field and its overflow class
  (`RELOCS`, turned into the arrays KIND, BASE, WIDTH, CHECK, SUPPORTED);
* the numbers of its dynamic relocation types (`R_ABS`, `R_RELATIVE`, ...);
* its PLT/GOT templates and code padding;
* its instruction rewrites (GOT-load and TLS relaxations), called by the generic
  passes in `ldpy/reloc_policy.py` at fixed points.

Generic code never tests a machine number or a relocation number: it reads the
kind arrays and calls these methods.  docs/adding-a-target.md lists what a new
target file must fill in.
"""
import numpy as np

from ldpy.elf.format import dtypes, RELOC, reloc_sym, reloc_type

# -- generic relocation kinds ---------------------------------------------------------
# The value stored is  X + A - B : the kind says what X is (and how the reference
# is bound: GOT slot, PLT entry, TLS model), BASE says what B is.
K_NONE = 0          # nothing stored (R_*_NONE, markers)
K_ABS = 1           # X = S: the symbol's address (absolute or, with B_P, PC-relative data)
K_PLT = 2           # X = S, or the symbol's PLT entry when it is imported: a call
K_GOT = 3           # X = address of the symbol's GOT slot
K_GOTBASE = 4       # X = the GOT base (_GLOBAL_OFFSET_TABLE_)
K_SIZE = 5          # X = the symbol's size
K_TPOFF = 6         # X = S - TP: local-exec TLS offset from the thread pointer
K_TPOFF_NEG = 7     # X = TP - S (stored negated: i386's R_386_TLS_LE_32), A subtracted too
K_DTPOFF = 8        # X = S - start of the module's TLS block
K_TLS_GD = 9        # X = the symbol's general-dynamic GOT pair
K_TLS_LD = 10       # X = the module's local-dynamic GOT pair
K_TLS_IE = 11       # X = the GOT slot holding the symbol's TP offset (initial-exec)
K_TLS_DESC = 12     # X = the symbol's TLS descriptor (two words)
K_TLS_DESC_CALL = 13  # marker on the descriptor call: rewritten when relaxed, else nothing
KIND_NAMES = ("none", "abs", "plt", "got", "gotbase", "size", "tpoff", "tpoff_neg", "dtpoff",
              "tls_gd", "tls_ld", "tls_ie", "tls_desc", "tls_desc_call")

# what is subtracted
B_NONE, B_P, B_GOT = 0, 1, 2          # nothing, the place P, the GOT base

# overflow classes of the stored field
C_NONE, C_S32, C_U32, C_16, C_8, C_S16 = 0, 1, 2, 3, 4, 5
RANGES = {C_S32: (-(1 << 31), (1 << 31) - 1), C_U32: (0, (1 << 32) - 1),
          C_16: (-(1 << 15), (1 << 16) - 1), C_8: (-(1 << 7), (1 << 8) - 1),
          C_S16: (-(1 << 15), (1 << 15) - 1)}
FIELDS = {C_S32: "a signed 32-bit", C_U32: "an unsigned 32-bit", C_16: "a 16-bit", C_8: "an 8-bit",
          C_S16: "a signed 16-bit"}

_REGISTRY = {}
DEFAULT_EMULATION = "elf_x86_64"      # without -m, until the first input names its machine


def register(target):
    """Make a target findable by machine number and emulation name."""
    _REGISTRY[target.MACHINE] = target
    return target


# the module of each target, by e_machine and by emulation name: a link imports only
# its own target (tests/test_architecture.py checks these against the modules)
TARGET_MODULES = {62: "x86_64", 3: "i386", 183: "aarch64", 243: "riscv64", 20: "ppc32"}
EMULATION_MODULES = {"elf_x86_64": "x86_64", "elf_i386": "i386",
                     **{e: "ppc32" for e in ("elf32ppclinux", "elf32ppc", "elf32ppcsim")},
                     **{e: "aarch64" for e in ("aarch64linux", "aarch64elf", "aarch64linuxb",
                                               "aarch64elfb", "aarch64linux32", "aarch64linux32b",
                                               "aarch64elf32", "aarch64elf32b")},
                     **{e: "riscv64" for e in ("elf64lriscv", "elf64lriscv_lp64d", "elf64lriscv_lp64f",
                                               "elf64lriscv_lp64")}}


def _load(module):
    # (each target module registers itself on import)
    import importlib
    importlib.import_module("ldpy.arch." + module)


def _load_all():
    for m in dict.fromkeys(TARGET_MODULES.values()):
        _load(m)


def for_machine(machine):
    """The target of ELF e_machine `machine`, or None."""
    if machine not in _REGISTRY and machine in TARGET_MODULES:
        _load(TARGET_MODULES[machine])
    return _REGISTRY.get(machine)


def for_emulation(name):
    """The target of a GNU ld emulation name (-m), or None."""
    if name in EMULATION_MODULES:
        _load(EMULATION_MODULES[name])
    for t in _REGISTRY.values():
        if name in t.EMULATIONS:
            return t
    return None


def all_targets():
    _load_all()
    return list(_REGISTRY.values())


class Target:
    """Base of every target; subclasses set the class attributes below."""
    MACHINE = None                  # ELF e_machine
    NAME = ""                       # for messages ("x86-64")
    IS64, LITTLE, RELA = True, True, True
    EMULATIONS = ()                 # -m names, the first is the default one
    OUTPUT_FORMAT = ""              # --print-output-format, OUTPUT_FORMAT of the default script
    BFD_ARCH = ""                   # OUTPUT_ARCH
    OUTPUT_FORMATS = ()             # the default script's OUTPUT_FORMAT (default, big, little)
    PAGE_SIZE = 0x1000              # max page size (segment alignment)
    EXEC_BASE = 0x400000            # image base of non-PIE executables
    DYNAMIC_LINKER = ""
    SEARCH_DIRS = ()                # GNU ld's default SEARCH_DIRs for the emulation
    TLS_GET_ADDR = b"__tls_get_addr"
    LAZY_TLSDESC = False            # lazily bound TLS descriptors: a tlsdesc_plt_entry template
    IPLT_SYMBOLS = (b"__rela_iplt_start", b"__rela_iplt_end")   # static IRELATIVE bounds
    PLT_ENTRY_SIZE = 16
    PLT_HEADER_SIZE = 16
    PLT_SH_ENTSIZE = 16             # .plt's sh_entsize as ld.bfd writes it
    GOTPLT_RESERVED = 3             # .got.plt words before the jump slots
    GOTPLT_FIRST = None             # .got.plt[0]: None for _DYNAMIC (x86), else this value (RISC-V: -1)
    PLTGOT_NEEDS_PLT = False        # DT_PLTGOT only with PLT entries (BFD's default; x86: with .got.plt)
    # where the PLT code and its slots go: the input-section names the default script
    # places (PowerPC's secure PLT: the code `.glink` at the end of .text, the slots
    # in a writable `.plt`; PLT_IN_TEXT drops the script's code-area .plt statement)
    PLT_SECTION, GOTPLT_SECTION, PLT_IN_TEXT = ".plt", ".got.plt", False
    # a dynamic output's IRELATIVEs of its IFUNCs' slots go to .rela.plt (else .rela.dyn:
    # PowerPC's ld.so applies nothing of .rela.plt lazily)
    IRELATIVE_IN_RELA_PLT = True
    PIE_UNDEF_WEAK_DYNAMIC = False  # a PIE's undefined weak symbols are dynamic (PowerPC ld.bfd)
    TLSDESC_PLT_SIZE = 16           # the lazy TLS descriptor entry at the end of .plt
    PLT_GOT_ENTRIES = True          # .plt.got entries for functions that also have a .got slot (x86)
    DYNSYM_SECTION_SYMBOLS = False  # .dynsym keeps two section symbols in PIE/shared (AArch64 ld.bfd),
    #                                 "text": only the text one (RISC-V and PowerPC ld.bfd)
    RELACOUNT_WHEN_NONE = True      # DT_RELACOUNT 0 when there is no RELATIVE relocation (x86 ld.bfd)
    IE_STATIC_TLS_FLAG = True       # initial-exec TLS in a shared object sets DF_STATIC_TLS (x86 ld.bfd);
    #                                 "pic": in a PIE too (RISC-V ld.bfd)
    SEPARATE_CODE = True            # -z separate-code by default
    MISSING_STACK_NOTE_EXECUTABLE = True    # an object without .note.GNU-stack asks for an
    #                                 executable stack (ld.bfd's default_execstack; not AArch64, RISC-V)
    GOT_HEADER = 0                  # .got words before the slots (AArch64: 1, .got[0] = _DYNAMIC,
    #                                 and _GLOBAL_OFFSET_TABLE_ is the start of .got)
    GOT_TRAILER = 0                 # .got words after the slots (PowerPC: 3); _GLOBAL_OFFSET_TABLE_
    #                                 is the first of them and holds _DYNAMIC
    GOT_TRAILER_REACH = 0x8000      # bytes of slots at most before the trailer (the rest follow it)
    # default-script lines of the target's own sections (PowerPC: .got2, small data)
    SCRIPT_RODATA_TAIL = ""         # after .rodata1
    SCRIPT_RELRO_TAIL = ""          # after .data.rel.ro
    SCRIPT_SMALL_DATA = ""          # after .data1
    SCRIPT_SMALL_BSS = ""           # after __bss_start, before .bss
    # REL inputs: bytes holding the addend where they differ from the stored width
    # (a marker type that stores nothing may still carry an addend in its field)
    ADDEND_WIDTH = {}
    LARGE_COMMON = None             # a second SHN_COMMON-like index (SHN_X86_64_LCOMMON)
    SMALL_DATA = False              # the default script's data as RISC-V's: .got after .data,
    #                                 .sdata/.sbss and __global_pointer$ (ld.bfd's elf64lriscv)
    TLS_RELAX = True                # executables relax GD/IE TLS sequences (x86, AArch64); False:
    #                                 every model stays as the code has it (GOT pairs and slots)
    DTP_OFFSET = 0                  # bias of DTP-relative values (RISC-V glibc: 0x800)
    DTREL_EXCLUDES_PLT = True       # DT_RELA/DT_RELASZ cover .rela.dyn only (x86, AArch64 ld.bfd;
    #                                 BFD's default, RISC-V: .rela.plt too)
    DISCARD_L_LOCALS = False        # .symtab drops .L labels by default (RISC-V ld.bfd), as with -X
    DSO_REFS_DYNAMIC = False        # an undefined weak symbol a library refers to stays dynamic in an
    #                                 executable (BFD's generic rule; x86 ld.bfd drops it)
    FUNC_POINTERS_CANONICAL = False # a non-PIE executable's pointer words to imported functions, in
    #                                 writable data too, hold their canonical PLT entries (RISC-V)
    WEAK_ALIASES_DYNAMIC = False    # an imported weak object's strong aliases in its library are
    #                                 imported too (BFD's weakdef; x86 gets them from copy relocations)
    GOT_EXPORTS = False             # a symbol with a GOT slot is dynamic (RISC-V ld.bfd)
    SECTION_SEGMENTS = {}           # a non-allocated section type -> the segment over it
    #                                 (RISC-V: .riscv.attributes in PT_RISCV_ATTRIBUTES)
    NTYPES = 64                     # relocation numbers below this index the tables
    RELOCS = {}                     # type -> (name, kind, base, width, check)
    NOT_YET = frozenset()           # types of the ABI ldpy does not link yet (their message says so)
    # the call to __tls_get_addr right after a GD/LD relocation belongs to the
    # sequence (x86): it is rewritten with it when the sequence is relaxed
    TLS_CALL_FOLLOWS = False
    # apply (relax, check_overflow, store) may run a block of the relocation table at
    # a time (write.relocate_all): nothing it does reads or writes outside the
    # block's sections, and it keeps no row numbers of the whole table
    APPLY_IN_BLOCKS = True
    # DTPOFF in an executable's code follows a local-dynamic sequence relaxed to
    # TP-relative addressing, so it is stored TP-relative too (x86)
    DTPOFF_RELAXED_IN_EXEC = False
    # st_other bits besides the visibility that the target gives a meaning
    # (AArch64's STO_AARCH64_VARIANT_PCS): copied from a symbol's definition, in an
    # object or a shared library, to its .symtab and .dynsym entries (ld.bfd)
    STO_FLAGS = 0
    # dynamic relocation numbers (None: the target has none of that kind)
    R_NONE = 0
    R_ABS = R_RELATIVE = R_GLOB_DAT = R_JUMP_SLOT = R_COPY = R_IRELATIVE = None
    R_DTPMOD = R_DTPOFF = R_TPOFF = R_TLSDESC = None
    # the absolute relocation of one address-sized word (the one that can become
    # a dynamic R_ABS / R_RELATIVE): set by __init__ from R_ABS

    def __init__(self):
        self.dt = dtypes(self.IS64, self.LITTLE)
        if not self.OUTPUT_FORMATS:
            self.OUTPUT_FORMATS = (self.OUTPUT_FORMAT,) * 3
        self.WORD = 8 if self.IS64 else 4
        n = self.NTYPES
        self.KIND = np.zeros(n, np.int8)
        self.BASE = np.zeros(n, np.int8)
        self.WIDTH = np.zeros(n, np.int64)
        self.CHECK = np.zeros(n, np.int8)
        self.SUPPORTED = np.zeros(n, bool)
        self.TYPE_NAMES = {}
        for t, (name, kind, base, width, check) in self.RELOCS.items():
            self.TYPE_NAMES[t] = name
            self.KIND[t] = K_NONE if kind is None else kind
            self.BASE[t], self.WIDTH[t], self.CHECK[t] = base, width, check
            # a type is linked when the generic code knows what to store for it (kind
            # None: a dynamic relocation type, never found in a relocatable input)
            self.SUPPORTED[t] = kind is not None and (width > 0 or kind in (K_NONE, K_TLS_LD, K_TLS_DESC_CALL))
        self.IMPLICIT_WIDTH = self.WIDTH.copy()
        for t, w in self.ADDEND_WIDTH.items():
            self.IMPLICIT_WIDTH[t] = w
        k = self.KIND
        # derived masks the generic passes use
        self.IS_PLT_CALL = k == K_PLT
        self.IS_GOT = k == K_GOT
        # data accessed directly (needs a copy relocation when imported into an executable):
        # S-relative stores narrower than a pointer, and PC-relative ones
        self.IS_DIRECT_DATA = (k == K_ABS) & ((self.BASE == B_P) | (self.WIDTH < self.WORD)) & \
            (self.BASE != B_GOT) & (self.WIDTH > 0)
        self.IS_ABS_WORD = (k == K_ABS) & (self.BASE == B_NONE) & (self.WIDTH == self.WORD)
        # 32-bit references that take the address of an imported function: the PLT
        # entry becomes its address in a non-PIE executable (canonical PLT)
        self.CANON_REF = self.IS_DIRECT_DATA & (self.WIDTH == 4)
        self.IS_PC32 = (k == K_ABS) & (self.BASE == B_P) & (self.WIDTH == 4)
        # absolute 32-bit fields narrower than a pointer: cannot be relocated at run time
        self.IS_ABS_NARROW32 = (k == K_ABS) & (self.BASE == B_NONE) & (self.WIDTH == 4) & (self.WORD > 4)
        self.NEEDS_GOT_BASE = (self.BASE == B_GOT) | (k == K_GOTBASE)
        self.IS_TLS = k >= K_TPOFF
        self.TLS_SEQUENCE = (k == K_TLS_GD) | (k == K_TLS_LD)
        self.TLS_SEQUENCE_TYPES = tuple(int(t) for t in np.flatnonzero(self.TLS_SEQUENCE))
        # dynamic relocation numbers by name (synthetic/dynamic.py)
        self.DYNAMIC_RELOCS = dict(R64=self.R_ABS, RELATIVE=self.R_RELATIVE, GLOB_DAT=self.R_GLOB_DAT,
                                   JUMP_SLOT=self.R_JUMP_SLOT, COPY=self.R_COPY,
                                   TPOFF64=self.R_TPOFF, DTPMOD64=self.R_DTPMOD,
                                   DTPOFF64=self.R_DTPOFF, IRELATIVE=self.R_IRELATIVE)
        self.JUMP_SLOT, self.IRELATIVE, self.TLSDESC = self.R_JUMP_SLOT, self.R_IRELATIVE, self.R_TLSDESC

    # -- names ----------------------------------------------------------------------
    def type_name(self, t):
        return self.TYPE_NAMES.get(int(t), f"type {int(t)}, unknown to the {self.NAME} target")

    def types_of(self, mask):
        """Relocation numbers selected by a boolean table such as IS_GOT."""
        return np.flatnonzero(mask)

    # -- REL inputs -----------------------------------------------------------------
    def implicit_addends(self, data, pos, types):
        """Addends of REL relocations: the signed field each type patches, read
        from the section contents at file positions pos (one gather per width)."""
        out = np.zeros(len(pos), np.int64)
        if not len(pos):
            return out
        buf = np.frombuffer(data, np.uint8)
        width = self.IMPLICIT_WIDTH.take(types, mode="clip")
        e = "<" if self.LITTLE else ">"
        for w in (1, 2, 4, 8):
            m = (width == w) & (pos + w <= len(buf))
            if m.any():
                b = buf[pos[m][:, None] + np.arange(w)]
                out[m] = np.ascontiguousarray(b).view(f"{e}i{w}").reshape(-1)
        return out

    # -- output encodings -------------------------------------------------------------
    @property
    def dynrel_size(self):
        """Bytes of one dynamic relocation (Elf_Rela or Elf_Rel of the flavour)."""
        return (self.dt.rela if self.RELA else self.dt.rel).itemsize

    def dynrel_bytes(self, rows):
        """Dynamic relocations (in-memory RELOC rows) encoded in this flavour; REL
        targets leave the addends to the places (write.py)."""
        dt = self.dt.rela if self.RELA else self.dt.rel
        if dt == RELOC:
            return rows.view(np.uint8)
        out = np.zeros(len(rows), dt)
        out["r_offset"] = rows["r_offset"]
        out["r_info"] = self.dt.r_info(reloc_sym(rows["r_info"]), reloc_type(rows["r_info"]))
        if self.RELA:
            out["r_addend"] = rows["r_addend"]
        return out.view(np.uint8)

    def words(self, values):
        """Address-sized words in this flavour's byte order."""
        return np.asarray(values, np.int64).astype(self.dt.saddr).view(np.uint8).reshape(-1)

    # -- hooks for the generic passes (reloc_policy.py); the defaults do nothing ------
    def scan_got_relax(self, ctx, rt, plan):
        """Mark GOT loads to rewrite as direct (plan.relax_gotx) or as a load of 0
        (plan.gotx_zero), before GOT slots are counted."""

    def relaxed_tls_calls(self, ctx, rt):
        """A mask of the calls to __tls_get_addr that the TLS relaxation rewrites
        (they take no PLT entry and store nothing), or None (x86 marks them with
        TLS_CALL_FOLLOWS instead)."""
        return None

    def direct_branches(self, rt, idx):
        """Which PC-relative 32-bit relocations idx sit in a call or jump instruction
        (they reach a function, they do not take its address)."""
        return np.zeros(len(idx), bool)

    def relax(self, ctx, rt, S, A, val, width, out):
        """Instruction rewrites while applying: GOT loads and TLS sequences."""

    def tp_offset(self, ctx, addr):
        """Offsets of TLS addresses from the thread pointer (default: TLS variant II,
        the thread pointer at the end of the block)."""
        return addr - ctx.tls_end

    def dynamic_exports(self, ctx):
        """Symbol ids the target's ld.bfd puts in .dynsym besides the usual ones."""
        return ()

    def output_flags(self, ctx):
        """The output's e_flags (from the inputs' flags)."""
        return 0

    # where the PLT's unwind records go in .eh_frame: after the first input object's
    # records (BFD's linker-created .eh_frame belongs to that object), or first
    PLT_UNWIND_FIRST = False

    def plt_unwind(self, ctx):
        """The PLT's unwind records as ld.bfd writes them (--ld-generated-unwind-info):
        (CIE bytes, [(PLT chunk, FDE call frame program)]) or None
        (synthetic/plt_unwind.py)."""
        return None

    def before_layout(self, ctx):
        """Input sections placed, synthetic ones made: what the target merges or
        rewrites before addresses are given (RISC-V: .riscv.attributes)."""

    def after_layout(self, ctx, relayout):
        """Once laid out: add what depends on addresses (stubs) and call relayout()
        while that changes the layout."""

    def relocatable_addends(self, rt, sections, addend):
        """-r: move the addends that address something else than their symbol
        (PowerPC's PLTREL24 naming the input's .got2) to the merged output."""

    def define_symbols(self, ctx, define):
        """The target's own linker-defined symbols: define(name, value function,
        output=None, always=False, hidden=False) as linker_symbols.py's."""

    def dynamic_tags(self, ctx):
        """The target's own .dynamic entries: (tag, value) pairs."""
        return ()

    def adjust_properties(self, ctx, props):
        """The target's changes to the merged GNU properties (-z options)."""

    def plt_setup(self, ctx, props):
        """Options of this link's PLT templates (from the merged GNU properties and
        -z flags), passed to plt_lazy; may change ctx.plt.entry_size."""
        return {}

    def plt_tail_size(self, n):
        """Bytes of PLT code after the n entries (PowerPC's __glink and resolver)."""
        return 0

    def gotplt_lazy_values(self, plt, n):
        """Initial values of the n lazy .got.plt slots: each entry's push (x86)."""
        return plt.addr + 16 * np.arange(1, n + 1) + (0 if plt.ibt else 6)

    def check_overflow(self, ctx, rt, tt, val, width):
        """Report values outside their field (default: the CHECK classes)."""
        from ldpy import reloc_policy
        reloc_policy.check_overflow(ctx, rt, tt, val, width)

    def store(self, out, pos, tt, val, width):
        """Write every computed value (width 0: nothing).  The default stores data
        fields; a target with instruction immediates (AArch64) encodes them here."""
        from ldpy import reloc_policy
        reloc_policy.store(out, pos, val, width, self.LITTLE)

    def code_fill(self, n):
        """n bytes of padding for a code section."""
        return np.zeros(n, np.uint8)
