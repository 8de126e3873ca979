"""Link-time optimization: ldpy hosts linker plugins (GCC's liblto_plugin.so,
LLVM's LLVMgold.so) through the plugin API of binutils' include/plugin-api.h.

plugin.py loads the plugins and implements the transfer vector (the callbacks a
plugin calls); resolution.py turns the link's symbol table into the LDPR_*
resolutions the plugin asks for after all symbols are read; ir.py enters the
symbols of claimed (IR) files into the symbol table and, after the plugin has
compiled them, hands their names over to the objects it adds."""
import struct

LTO_ONLY_MESSAGE = "holds only LTO IR; link with the LTO plugin (-flto)"


def ir_only_message(ctx):
    """What to say of an input that is only IR and that no plugin claimed."""
    if ctx.lto is not None:
        return "holds only LTO IR that no -plugin claimed (GCC IR needs GCC's plugin, LLVM " \
               "bitcode LLVMgold.so)"
    return LTO_ONLY_MESSAGE

_BITCODE_MAGIC = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")


def is_bitcode(data):
    return bytes(data[:4]) in _BITCODE_MAGIC


def has_lto_sections(data):
    """An ELF relocatable (64-bit little-endian) with .gnu.lto_* sections: GCC's
    LTO objects, slim or fat.  Reads only the section name string table."""
    if len(data) < 64 or bytes(data[:4]) != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return False
    try:
        e_type, = struct.unpack_from("<H", data, 16)
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
        if e_type != 1 or shoff == 0 or shentsize != 64:
            return False
        if shnum == 0:
            shnum, = struct.unpack_from("<Q", data, shoff + 0x20)
        if shstrndx == 0xffff:
            shstrndx, = struct.unpack_from("<I", data, shoff + 0x28)
        off, size = struct.unpack_from("<QQ", data, shoff + shstrndx * 64 + 0x18)
        return bytes(data[off:off + size]).find(b".gnu.lto_") >= 0
    except struct.error:
        return False


def is_ir_candidate(data):
    """Inputs offered to the plugins' claim-file hooks: LLVM bitcode and GCC LTO
    objects (what ld.bfd's plugins claim; plain ELF code is never offered)."""
    return is_bitcode(data) or has_lto_sections(data)
