"""Small, dependency-free readers and patchers for ELF files (either class, either
byte order) and ar archives, used by the hostile-input tests and the fuzzer to
corrupt one field of a real gcc-compiled input at the right offset.

The field tables below are ELF64 little-endian's and name the fields; an `Elf`
of another flavour reads and writes the same names at its own offsets and sizes
(`Elf.symsize`, `relasize`, `dynsize`, `shentsize` give its entry sizes)."""
import struct

# Elf64_Ehdr fields: (offset, struct format)
EHDR = {"e_type": (16, "<H"), "e_machine": (18, "<H"), "e_shoff": (0x28, "<Q"),
        "e_shentsize": (0x3a, "<H"), "e_shnum": (0x3c, "<H"), "e_shstrndx": (0x3e, "<H")}
# Elf64_Shdr, 64 bytes
SHDR = {"sh_name": (0, "<I"), "sh_type": (4, "<I"), "sh_flags": (8, "<Q"), "sh_addr": (16, "<Q"),
        "sh_offset": (24, "<Q"), "sh_size": (32, "<Q"), "sh_link": (40, "<I"), "sh_info": (44, "<I"),
        "sh_addralign": (48, "<Q"), "sh_entsize": (56, "<Q")}
# Elf64_Sym, 24 bytes
SYM = {"st_name": (0, "<I"), "st_info": (4, "<B"), "st_other": (5, "<B"), "st_shndx": (6, "<H"),
       "st_value": (8, "<Q"), "st_size": (16, "<Q")}
# Elf64_Rela, 24 bytes (r_info: symbol index in the high 32 bits, type in the low)
RELA = {"r_offset": (0, "<Q"), "r_info": (8, "<Q"), "r_type": (8, "<I"), "r_sym": (12, "<I"),
        "r_addend": (16, "<q")}
# Elf64_Dyn, 16 bytes
DYN = {"d_tag": (0, "<q"), "d_val": (8, "<Q")}

SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_DYNAMIC, SHT_DYNSYM, SHT_GROUP = 2, 3, 4, 6, 11, 17
SHT_REL = 9

# ELF32: the same fields (r_info: symbol index in the high 24 bits, type in the low 8)
EHDR32 = {"e_type": (16, "H"), "e_machine": (18, "H"), "e_shoff": (0x20, "I"),
          "e_shentsize": (0x2e, "H"), "e_shnum": (0x30, "H"), "e_shstrndx": (0x32, "H")}
SHDR32 = {"sh_name": (0, "I"), "sh_type": (4, "I"), "sh_flags": (8, "I"), "sh_addr": (12, "I"),
          "sh_offset": (16, "I"), "sh_size": (20, "I"), "sh_link": (24, "I"), "sh_info": (28, "I"),
          "sh_addralign": (32, "I"), "sh_entsize": (36, "I")}
SYM32 = {"st_name": (0, "I"), "st_value": (4, "I"), "st_size": (8, "I"), "st_info": (12, "B"),
         "st_other": (13, "B"), "st_shndx": (14, "H")}
RELA32 = {"r_offset": (0, "I"), "r_info": (4, "I"), "r_addend": (8, "i")}
DYN32 = {"d_tag": (0, "i"), "d_val": (4, "I")}


def _flavour(tables, order):
    """The tables with every format in byte order `order` ("<" or ">")."""
    return {name: {f: (off, order + fmt.lstrip("<>")) for f, (off, fmt) in t.items()}
            for name, t in tables.items()}


class Elf:
    """An ELF file as a mutable bytearray with field access by name (the tables
    of this module); its class and byte order come from e_ident."""

    def __init__(self, data):
        self.b = bytearray(data)
        self.is64 = len(data) < 5 or data[4] != 1
        self.little = len(data) < 6 or data[5] != 2
        self.order = "<" if self.little else ">"
        if self.is64:
            names = {"EHDR": EHDR, "SHDR": SHDR, "SYM": SYM, "RELA": RELA, "DYN": DYN}
        else:
            names = {"EHDR": EHDR32, "SHDR": SHDR32, "SYM": SYM32, "RELA": RELA32, "DYN": DYN32}
        mine = _flavour(names, self.order)
        self._tables = {id(EHDR): mine["EHDR"], id(SHDR): mine["SHDR"], id(SYM): mine["SYM"],
                        id(RELA): mine["RELA"], id(DYN): mine["DYN"]}
        self.shentsize, self.symsize = (64, 24) if self.is64 else (40, 16)
        self.relasize, self.relsize, self.dynsize = (24, 16, 16) if self.is64 else (12, 8, 8)

    def __bytes__(self):
        return bytes(self.b)

    # -- raw fields -----------------------------------------------------------
    def _info_split(self):
        """(bits of the type, mask of the type) in r_info."""
        return (32, 0xffffffff) if self.is64 else (8, 0xff)

    def bits(self, table, field):
        """The width of a field in this flavour."""
        if field in ("r_type", "r_sym") and not (self.is64 and self.little):
            shift, _ = self._info_split()
            return shift if field == "r_type" else (32 if self.is64 else 24)
        return 8 * struct.calcsize(self._tables.get(id(table), table)[field][1])

    def get(self, table, base, field):
        if field in ("r_type", "r_sym") and not (self.is64 and self.little):
            shift, mask = self._info_split()
            info = self.get(table, base, "r_info")
            return info & mask if field == "r_type" else info >> shift
        off, fmt = self._tables.get(id(table), table)[field]
        return struct.unpack_from(fmt, self.b, base + off)[0]

    def put(self, table, base, field, value):
        if field in ("r_type", "r_sym") and not (self.is64 and self.little):
            shift, mask = self._info_split()
            info = self.get(table, base, "r_info")
            sym_mask = (1 << (8 * struct.calcsize(self._tables[id(RELA)]["r_info"][1]) - shift)) - 1
            info = (info & ~mask | value & mask) if field == "r_type" else (info & mask | (value & sym_mask) << shift)
            return self.put(table, base, "r_info", info)
        off, fmt = self._tables.get(id(table), table)[field]
        size = struct.calcsize(fmt)
        mask = (1 << (8 * size)) - 1
        if fmt[-1].islower() and fmt[-1] != "b":     # signed fields: wrap into range
            value = ((value + (1 << (8 * size - 1))) & mask) - (1 << (8 * size - 1))
        else:
            value &= mask
        struct.pack_into(fmt, self.b, base + off, value)

    # -- headers ----------------------------------------------------------------
    def ehdr(self, field):
        return self.get(EHDR, 0, field)

    def set_ehdr(self, field, value):
        self.put(EHDR, 0, field, value)

    @property
    def shnum(self):
        return self.ehdr("e_shnum")

    def shdr_base(self, i):
        return self.ehdr("e_shoff") + self.shentsize * i

    def shdr(self, i, field):
        return self.get(SHDR, self.shdr_base(i), field)

    def set_shdr(self, i, field, value):
        self.put(SHDR, self.shdr_base(i), field, value)

    def section_name(self, i):
        strtab = self.ehdr("e_shstrndx")
        off = self.shdr(strtab, "sh_offset") + self.shdr(i, "sh_name")
        return bytes(self.b[off:self.b.index(0, off)]).decode()

    def section(self, name):
        for i in range(self.shnum):
            if self.section_name(i) == name:
                return i
        raise KeyError(name)

    def sections_of_type(self, sh_type):
        return [i for i in range(self.shnum) if self.shdr(i, "sh_type") == sh_type]

    def contents(self, i):
        off, size = self.shdr(i, "sh_offset"), self.shdr(i, "sh_size")
        return off, size

    # -- symbols ----------------------------------------------------------------
    def symtab(self, dynamic=False):
        (i,) = self.sections_of_type(SHT_DYNSYM if dynamic else SHT_SYMTAB)
        return i

    def symbol(self, name, dynamic=False):
        """Index of the symbol called name in .symtab (or .dynsym)."""
        st = self.symtab(dynamic)
        off, size = self.contents(st)
        stroff = self.shdr(self.shdr(st, "sh_link"), "sh_offset")
        for k in range(size // self.symsize):
            n = self.get(SYM, off + self.symsize * k, "st_name")
            if bytes(self.b[stroff + n:self.b.index(0, stroff + n)]) == name.encode():
                return k
        raise KeyError(name)

    def sym_base(self, k, dynamic=False):
        return self.shdr(self.symtab(dynamic), "sh_offset") + self.symsize * k

    def sym(self, k, field, dynamic=False):
        return self.get(SYM, self.sym_base(k, dynamic), field)

    def set_sym(self, k, field, value, dynamic=False):
        self.put(SYM, self.sym_base(k, dynamic), field, value)

    # -- relocations -----------------------------------------------------------
    def rela_base(self, sec, k):
        i = self.section(sec) if isinstance(sec, str) else sec
        return self.shdr(i, "sh_offset") + self.relasize * k

    def rela(self, sec, k, field):
        return self.get(RELA, self.rela_base(sec, k), field)

    def set_rela(self, sec, k, field, value):
        self.put(RELA, self.rela_base(sec, k), field, value)

    def rela_count(self, sec):
        i = self.section(sec) if isinstance(sec, str) else sec
        return self.shdr(i, "sh_size") // self.relasize

    # -- SHT_GROUP ---------------------------------------------------------------
    def group_words(self, i):
        off, size = self.contents(i)
        return list(struct.unpack_from(f"{self.order}{size // 4}I", self.b, off))

    def set_group_word(self, i, k, value):
        struct.pack_into(self.order + "I", self.b, self.shdr(i, "sh_offset") + 4 * k, value & 0xffffffff)

    # -- .dynamic ----------------------------------------------------------------
    def dyn_entries(self):
        (i,) = self.sections_of_type(SHT_DYNAMIC)
        off, size = self.contents(i)
        n = self.dynsize
        return [(off + n * k, self.get(DYN, off + n * k, "d_tag"), self.get(DYN, off + n * k, "d_val"))
                for k in range(size // n)]


# -- ar archives --------------------------------------------------------------------

class ArMember:
    def __init__(self, offset, raw_name, size):
        self.offset = offset              # header offset
        self.raw_name = raw_name
        self.size = size
        self.data_offset = offset + 60


def ar_members(data):
    """Every member header of a regular archive, special members included."""
    assert data[:8] in (b"!<arch>\n", b"!<thin>\n")
    thin = data[:8] == b"!<thin>\n"
    pos, out = 8, []
    while pos + 60 <= len(data):
        hdr = data[pos:pos + 60]
        name = hdr[:16].rstrip(b" ")
        size = int(hdr[48:58].strip())
        out.append(ArMember(pos, name, size))
        stored = size if (not thin or name in (b"/", b"//", b"/SYM64/")) else 0
        pos += 60 + stored
        pos += pos & 1
    return out


def ar_member(data, raw_name):
    for m in ar_members(data):
        if m.raw_name == raw_name:
            return m
    raise KeyError(raw_name)


def ar_set_field(b, member, field, text):
    """Overwrite a header field (name 0-16, date 16-28, uid 28-34, gid 34-40,
    mode 40-48, size 48-58, fmag 58-60) with text, space padded."""
    start, end = {"name": (0, 16), "date": (16, 28), "uid": (28, 34), "gid": (34, 40),
                  "mode": (40, 48), "size": (48, 58), "fmag": (58, 60)}[field]
    if isinstance(text, str):
        text = text.encode()
    b[member.offset + start:member.offset + end] = text[:end - start].ljust(end - start, b" ")
