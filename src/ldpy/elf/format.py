"""ELF constants and numpy dtypes, built once per (class, byte order).

Byte order lives in the dtype ('<' or '>'), so the readers and writers are the
same code for little- and big-endian targets.
"""
from functools import lru_cache

import numpy as np

# e_ident
ELFMAG = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2

# e_type
ET_REL, ET_EXEC, ET_DYN = 1, 2, 3

# e_machine
EM_386, EM_X86_64, EM_AARCH64, EM_RISCV, EM_PPC, EM_PPC64 = 3, 62, 183, 243, 20, 21
MACHINE_NAMES = {EM_386: "i386", EM_X86_64: "x86-64", EM_AARCH64: "aarch64",
                 EM_RISCV: "riscv", EM_PPC: "powerpc", EM_PPC64: "powerpc64"}

# section types
SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_HASH = 0, 1, 2, 3, 4, 5
SHT_DYNAMIC, SHT_NOTE, SHT_NOBITS, SHT_REL, SHT_SHLIB, SHT_DYNSYM = 6, 7, 8, 9, 10, 11
SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY, SHT_GROUP = 14, 15, 16, 17
SHT_SYMTAB_SHNDX = 18
SHT_GNU_ATTRIBUTES = 0x6ffffff5
SHT_GNU_HASH = 0x6ffffff6
SHT_GNU_verdef, SHT_GNU_verneed, SHT_GNU_versym = 0x6ffffffd, 0x6ffffffe, 0x6fffffff
SHT_X86_64_UNWIND = 0x70000001

# section flags
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHF_MERGE, SHF_STRINGS, SHF_INFO_LINK, SHF_LINK_ORDER = 0x10, 0x20, 0x40, 0x80
SHF_GROUP, SHF_TLS, SHF_COMPRESSED = 0x200, 0x400, 0x800
SHF_GNU_RETAIN = 0x200000
SHF_EXCLUDE = 0x80000000

GRP_COMDAT = 1

# special section indexes
SHN_UNDEF, SHN_LORESERVE, SHN_ABS, SHN_COMMON, SHN_XINDEX = 0, 0xff00, 0xfff1, 0xfff2, 0xffff
# ObjectFile.shndx, a symbol's section with SHN_XINDEX resolved: every real section is
# > 0, however many the object has (past 0xff00 too); the reserved values are negated
SHX_ABS, SHX_COMMON = -SHN_ABS, -SHN_COMMON

# symbol binding / type / visibility
STB_LOCAL, STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE = 0, 1, 2, 10
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4
STT_COMMON, STT_TLS, STT_GNU_IFUNC = 5, 6, 10
STV_DEFAULT, STV_INTERNAL, STV_HIDDEN, STV_PROTECTED = 0, 1, 2, 3

# program headers
PT_NULL, PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_PHDR, PT_TLS = 0, 1, 2, 3, 4, 6, 7
PT_GNU_EH_FRAME, PT_GNU_STACK, PT_GNU_RELRO = 0x6474e550, 0x6474e551, 0x6474e552
PT_GNU_PROPERTY = 0x6474e553
PF_X, PF_W, PF_R = 1, 2, 4

NT_GNU_BUILD_ID = 3
NT_GNU_PROPERTY_TYPE_0 = 5


@lru_cache(maxsize=None)
def dtypes(is64: bool, little: bool):
    """The structured dtypes of one ELF flavour, as a small namespace."""
    e = "<" if little else ">"
    a = f"{e}u8" if is64 else f"{e}u4"          # address / offset / xword-ish
    sa = f"{e}i8" if is64 else f"{e}i4"
    h, w, x = f"{e}u2", f"{e}u4", f"{e}u8"
    ns = _DT()
    ns.ehdr = np.dtype([("e_ident", "16u1"), ("e_type", h), ("e_machine", h), ("e_version", w),
                        ("e_entry", a), ("e_phoff", a), ("e_shoff", a), ("e_flags", w),
                        ("e_ehsize", h), ("e_phentsize", h), ("e_phnum", h),
                        ("e_shentsize", h), ("e_shnum", h), ("e_shstrndx", h)])
    ns.shdr = np.dtype([("sh_name", w), ("sh_type", w), ("sh_flags", a), ("sh_addr", a),
                        ("sh_offset", a), ("sh_size", a), ("sh_link", w), ("sh_info", w),
                        ("sh_addralign", a), ("sh_entsize", a)])
    if is64:
        ns.sym = np.dtype([("st_name", w), ("st_info", "u1"), ("st_other", "u1"),
                           ("st_shndx", h), ("st_value", x), ("st_size", x)])
        ns.phdr = np.dtype([("p_type", w), ("p_flags", w), ("p_offset", x), ("p_vaddr", x),
                            ("p_paddr", x), ("p_filesz", x), ("p_memsz", x), ("p_align", x)])
        ns.rela = np.dtype([("r_offset", x), ("r_info", x), ("r_addend", f"{e}i8")])
        ns.rel = np.dtype([("r_offset", x), ("r_info", x)])
        ns.dyn = np.dtype([("d_tag", f"{e}i8"), ("d_val", x)])
    else:
        ns.sym = np.dtype([("st_name", w), ("st_value", w), ("st_size", w),
                           ("st_info", "u1"), ("st_other", "u1"), ("st_shndx", h)])
        ns.phdr = np.dtype([("p_type", w), ("p_offset", w), ("p_vaddr", w), ("p_paddr", w),
                            ("p_filesz", w), ("p_memsz", w), ("p_flags", w), ("p_align", w)])
        ns.rela = np.dtype([("r_offset", w), ("r_info", w), ("r_addend", f"{e}i4")])
        ns.rel = np.dtype([("r_offset", w), ("r_info", w)])
        ns.dyn = np.dtype([("d_tag", f"{e}i4"), ("d_val", w)])
    ns.addr, ns.saddr, ns.half, ns.word, ns.xword = a, sa, h, w, x
    ns.is64, ns.little, ns.endian = is64, little, e
    ns.addr_size = 8 if is64 else 4
    ns.sym_shift, ns.type_mask = (32, 0xffffffff) if is64 else (8, 0xff)
    return ns


class _DT:
    """Namespace of dtypes for one ELF flavour (see dtypes()), with its r_info
    packing: ELF64 keeps the symbol in the high 32 bits, ELF32 above the low 8."""

    def r_sym(self, info):
        """Symbol index of each r_info (numpy array of this flavour's r_info)."""
        return (np.asarray(info).astype(np.uint64) >> np.uint64(self.sym_shift)).astype(np.int64)

    def r_type(self, info):
        return (np.asarray(info).astype(np.uint64) & np.uint64(self.type_mask)).astype(np.int64)

    def r_info(self, sym, typ):
        """r_info words (int64 holding the bits) of symbol indexes and types."""
        return (np.asarray(sym, np.int64) << self.sym_shift) | np.asarray(typ, np.int64)


# Relocations in memory.  Every input relocation section (RELA or REL, ELF32 or
# ELF64, either byte order) is read into this one native layout, with the symbol
# in r_info's high 32 bits and REL addends taken from the section contents
# (input/object.py).  For x86-64 inputs this is a view of the file, no copy.
# Passes decode r_info with reloc_sym / reloc_type only.
RELOC = np.dtype([("r_offset", "<u8"), ("r_info", "<u8"), ("r_addend", "<i8")])


def reloc_sym(info):
    """Symbol indexes of in-memory (RELOC) r_info words."""
    return (np.asarray(info, np.uint64) >> np.uint64(32)).astype(np.int64)


def reloc_type(info):
    """Relocation types of in-memory (RELOC) r_info words."""
    return (np.asarray(info, np.uint64) & np.uint64(0xffffffff)).astype(np.int64)


def reloc_info(sym, typ):
    """In-memory (RELOC) r_info words of symbol indexes and types."""
    return (np.asarray(sym, np.uint64) << np.uint64(32)) | np.asarray(typ, np.uint64)
