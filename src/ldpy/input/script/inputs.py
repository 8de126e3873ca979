"""The input-describing commands of linker scripts used as libraries (Debian's
libc.so, libm.a): INPUT, GROUP, AS_NEEDED, OUTPUT_FORMAT, OUTPUT_ARCH,
SEARCH_DIR, ENTRY, TARGET.  The full script language builds on the lexer."""
from ldpy.diag import LinkError
from ldpy.input.script.lexer import tokenize

IGNORED_ONE_ARG = {"OUTPUT_ARCH", "TARGET"}


class ScriptInputs:
    def __init__(self):
        self.items = []          # ('file'|'lib'|'group_start'|'group_end', name, as_needed)
        self.search_dirs = []
        self.entry = None
        self.output_format = None


def parse_input_script(text, path):
    toks = tokenize(text, path)
    res = ScriptInputs()
    i = 0

    def err(tok, msg):
        raise LinkError(f"{path}:{tok.line}:{tok.col}: {msg}")

    def expect(i, text):
        if i >= len(toks):
            raise LinkError(f"{path}: unexpected end of script, expected '{text}'")
        if toks[i].text != text:
            err(toks[i], f"syntax error: expected '{text}', found '{toks[i].text}'")
        return i + 1

    def file_list(i, as_needed):
        while True:
            if i >= len(toks):
                raise LinkError(f"{path}: unexpected end of script, expected ')'")
            t = toks[i]
            if t.text == ")":
                return i + 1
            if t.text == ",":
                i += 1
                continue
            if t.text == "AS_NEEDED":
                i = expect(i + 1, "(")
                i = file_list(i, True)
                continue
            name = t.text
            if name.startswith("-l"):
                res.items.append(("lib", name[2:], as_needed))
            else:
                res.items.append(("file", name, as_needed))
            i += 1

    while i < len(toks):
        t = toks[i]
        cmd = t.text
        if cmd == ";":
            i += 1
        elif cmd in ("INPUT", "GROUP"):
            i = expect(i + 1, "(")
            if cmd == "GROUP":
                res.items.append(("group_start", "", False))
            i = file_list(i, False)
            if cmd == "GROUP":
                res.items.append(("group_end", "", False))
        elif cmd in ("OUTPUT_FORMAT", "OUTPUT_ARCH", "TARGET", "SEARCH_DIR", "ENTRY"):
            i = expect(i + 1, "(")
            args = []
            while i < len(toks) and toks[i].text != ")":
                if toks[i].text != ",":
                    args.append(toks[i].text)
                i += 1
            i = expect(i, ")")
            if not args:
                err(t, f"{cmd} needs an argument")
            if cmd == "SEARCH_DIR":
                res.search_dirs.append(args[0])
            elif cmd == "ENTRY":
                res.entry = args[0]
            elif cmd == "OUTPUT_FORMAT":
                res.output_format = args[0]
        else:
            err(t, f"linker script command '{cmd}' is not supported in an input script")
    return res


def looks_like_script(data):
    head = bytes(data[:512])
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
