"""The CTF worker's early start: right after the options are read, a quick look at
the objects named on the command line decides whether their .ctf merge starts now,
in a forked worker, beside the interpreter's start-up and the whole link (link.py
does the merge).  This module stays light: links without .ctf import nothing else
of ldpy.ctf, and nothing here needs numpy."""


# the merge of big .ctf inputs starts in a worker as soon as the command line is read
BESIDE_MIN_BYTES = 64 << 10


def may_run_beside(config):
    from ldpy import parallel
    return parallel.thread_count(config) >= 2 and not config.relocatable


def start_early(config):
    """Right after the options are parsed, before numpy is even imported: when the
    objects named on the command line hold big .ctf sections, fork the worker that
    reads and deduplicates them (CTF needs no numpy), so that the merge runs beside
    the interpreter's start-up and the whole link.  link_ctf takes its result only
    if the link's .ctf inputs turn out to be exactly those (not when archive members,
    LTO output or a script change them); start_beside cancels it under SECTIONS or
    plugins.  Returns the handle for Context.ctf_beside, or None."""
    import os
    if not may_run_beside(config) or config.plugin_configs:
        return None
    found = []
    for spec in config.inputs:
        if spec.kind == "script":
            return None                     # (a script may place or discard .ctf)
        if spec.kind != "file" or spec.format is not None:
            continue
        got = _ctf_sections_in_file(spec.name)
        if got is None:
            return None                     # not an ELF file: perhaps a script
        found.extend((os.path.abspath(spec.name), spec.name, *g, None) for g in got)
    total = sum(f[4] for f in found)
    if not found or (total < BESIDE_MIN_BYTES and not os.environ.get("LDPY_SPLIT_ALWAYS")):
        return None
    from ldpy.ctf.link import start_worker
    return start_worker(config, found, "started with the command line")


def _ctf_sections_in_file(path):
    """[(index, file offset, size, little, is64)] of the .ctf sections of a relocatable
    ELF object ([] for other ELF files and archives), read from its headers only;
    None for what may be a linker script or what this quick look cannot take
    (a compressed .ctf, extended section numbering, a broken header)."""
    import os
    import struct
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return []                           # (the link reports it)
    try:
        head = os.pread(fd, 64, 0)
        if head[:8] == b"!<arch>\n" or head[:8] == b"!<thin>\n":
            return []
        if head[:4] != b"\x7fELF" or len(head) < 52 or head[4] not in (1, 2) or head[5] not in (1, 2):
            return None
        is64, e = head[4] == 2, "<" if head[5] == 1 else ">"
        if struct.unpack_from(e + "H", head, 16)[0] != 1:
            return []                       # not ET_REL
        if is64:
            shoff, = struct.unpack_from(e + "Q", head, 40)
            shentsize, shnum, shstrndx = struct.unpack_from(e + "3H", head, 58)
            shfmt = e + "IIQQQQIIQQ"
        else:
            shoff, = struct.unpack_from(e + "I", head, 32)
            shentsize, shnum, shstrndx = struct.unpack_from(e + "3H", head, 46)
            shfmt = e + "IIIIIIIIII"
        if shnum == 0 or shstrndx >= shnum or shentsize != struct.calcsize(shfmt):
            return None
        file_size = os.fstat(fd).st_size
        if shoff + shentsize * shnum > file_size:
            return None                     # (a broken header: the link reports it)
        table = os.pread(fd, shentsize * shnum, shoff)
        if len(table) != shentsize * shnum:
            return None
        hdrs = [struct.unpack_from(shfmt, table, i * shentsize) for i in range(shnum)]
        str_off, str_size = hdrs[shstrndx][4], hdrs[shstrndx][5]
        if str_off + str_size > file_size:
            return None
        strs = os.pread(fd, str_size, str_off)
        out = []
        for i, (name, typ, flags, _, off, size, *_rest) in enumerate(hdrs):
            if strs[name:name + 5] == b".ctf\0" and typ == 1 and size:
                if flags & 0x800:           # SHF_COMPRESSED
                    return None
                out.append((i, off, size, e == "<", is64))
        return out
    except (OSError, struct.error, IndexError):
        return None
    finally:
        os.close(fd)
