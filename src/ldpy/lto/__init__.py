"""Link-time optimization: ldpy hosts linker plugins (GCC's liblto_plugin.so,
LLVM's LLVMgold.so) through the plugin API of binutils' include/plugin-api.h.

plugin.py loads the plugins and implements the transfer vector (the callbacks a
plugin calls); resolution.py turns the link's symbol table into the LDPR_*
resolutions the plugin asks for after all symbols are read; ir.py enters the
symbols of claimed (IR) files into the symbol table and, after the plugin has
compiled them, hands their names over to the objects it adds."""
import os
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
    """An ELF relocatable (either class and byte order: cross targets' GCC too) with
    .gnu.lto_* sections (GCC's LTO objects, slim or fat) or .gnu.offload_lto_* ones
    (OpenMP/OpenACC code for offload targets, which GCC's plugin hands to lto-wrapper
    even when it does not claim the file).  Reads only the section name string table."""
    if len(data) < 52 or bytes(data[:4]) != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return False
    e = "<" if data[5] == 1 else ">"
    # (ELF64 / ELF32: word, e_shoff, e_shentsize, section header size, its sh_offset,
    # sh_size and sh_link)
    w, shoff_at, ent_at, hsize, off_at, size_at, link_at = \
        ("Q", 0x28, 0x3a, 64, 0x18, 0x20, 0x28) if data[4] == 2 else ("I", 0x20, 0x2e, 40, 0x10, 0x14, 0x18)
    try:
        e_type, = struct.unpack_from(e + "H", data, 16)
        shoff, = struct.unpack_from(e + w, data, shoff_at)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, ent_at)
        if e_type != 1 or shoff == 0 or shentsize != hsize:
            return False
        if shnum == 0:
            shnum, = struct.unpack_from(e + w, data, shoff + size_at)
        if shstrndx == 0xffff:
            shstrndx, = struct.unpack_from(e + "I", data, shoff + link_at)
        off, size = struct.unpack_from(e + w + w, data, shoff + shstrndx * hsize + off_at)
        names = bytes(data[off:off + size])
        return names.find(b".gnu.lto_") >= 0 or names.find(b".gnu.offload_lto_") >= 0
    except struct.error:
        return False


def is_ir_candidate(data):
    """Inputs offered to the plugins' claim-file hooks: LLVM bitcode and GCC LTO
    objects (what ld.bfd's plugins claim; plain ELF code is never offered)."""
    return is_bitcode(data) or has_lto_sections(data)


def start(config):
    """The plugin host of a link with -plugin (driver.link): a PluginHost, or a
    LazyHost when every plugin is GCC's and may wait for an input that is IR."""
    if _can_wait(config):
        return LazyHost(config)
    from ldpy.lto.plugin import PluginHost
    return PluginHost(config)


def _can_wait(config):
    """gcc passes -plugin liblto_plugin.so to every link.  That plugin does nothing
    for a link it claims nothing from (its all-symbols-read and cleanup hooks
    return at once with no claimed and no offload file), so loading it can wait
    for the first input that might be IR: that saves ctypes set-up, dlopen and
    onload (about 3 ms, 4% of a hello link).  Not under -r (the plugin counts the
    files it does not claim), nor when loading it could fail (ld.bfd reports that
    at once): a file that is no ELF shared object, or gcc's -fno-use-linker-plugin,
    which makes its onload fail."""
    if config.relocatable or "'-fno-use-linker-plugin'" in os.environ.get("COLLECT_GCC_OPTIONS", ""):
        return False
    for path in config.plugins:
        if not os.path.basename(path).startswith("liblto_plugin"):
            return False
        try:
            with open(path, "rb") as f:
                head = f.read(18)
        except OSError:
            return False
        if len(head) < 18 or head[:4] != b"\x7fELF" or head[16:18] != b"\x03\x00":
            return False
    return True


class LazyHost:
    """Stands for the PluginHost until an input might be IR (see _can_wait)."""

    def __init__(self, config):
        self.config = config
        self.ctx = None
        self.host = None

    def _host(self):
        if self.host is None:
            from ldpy.lto.plugin import PluginHost
            self.host = PluginHost(self.config)
            self.host.ctx = self.ctx
        return self.host

    def offer(self, name, path, offset, data):
        return is_ir_candidate(data) and self._host().offer(name, path, offset, data)

    def offer_member(self, ar, m, name, data):
        return is_ir_candidate(data) and self._host().offer_member(ar, m, name, data)

    def finish(self, loader):
        if self.host is not None:
            self.host.finish(loader)

    def cleanup(self):
        if self.host is not None:
            self.host.cleanup()
