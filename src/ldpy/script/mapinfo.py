"""The memory map of a scripted link (-Map), in script order as ld.bfd prints
it: each output section with its input section descriptions, the input
sections they took, and the script's assignments where they are, e.g.

                0x0000000020000000                _sdata = .
                [!provide]                        PROVIDE (end = .)

A symbol assignment shows the symbol's final value, an assignment to `.`
the location counter after it, an ASSERT its condition; expressions are
printed the way ld.bfd prints them (hex numbers, parenthesized operators,
`NAME (args)`, constants folded as ld.bfd's parser folds them)."""
from ldpy.script import ast
from ldpy.script.place import ORPHAN_POS, TABLES

_MASK = (1 << 64) - 1
_SORT_WORDS = {"name": "SORT_BY_NAME", "alignment": "SORT_BY_ALIGNMENT",
               "init_priority": "SORT_BY_INIT_PRIORITY", "none": "SORT_NONE", "reverse": "REVERSE"}


def _h(v):
    return f"0x{v & _MASK:016x}"


# -- expressions, as ld.bfd's exp_print_tree -----------------------------------------

def _fold(e):
    """ld.bfd folds operators on two constants when it parses (not ALIGN,
    ABSOLUTE, NEXT, DATA_SEGMENT_*); returns the number or None."""
    op = e[0]
    if op == "num":
        return e[1] & _MASK
    if op == "call" and e[1] == "LOG2CEIL" and len(e[2]) == 1:
        v = _fold(e[2][0])
        return None if v is None else (0 if v <= 1 else (v - 1).bit_length())
    if op in ("u-", "u~", "u!", "u+"):
        v = _fold(e[1])
        if v is None:
            return None
        return {"u-": -v, "u~": ~v, "u!": int(not v), "u+": v}[op] & _MASK
    if op == "?":
        c = _fold(e[1])
        if c is None:
            return None
        return _fold(e[2] if c else e[3])
    if len(e) == 3 and isinstance(e[1], tuple) and isinstance(e[2], tuple) and op != "call":
        a, b = _fold(e[1]), _fold(e[2])
        if a is None or b is None:
            return None
        try:
            v = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                 "/": lambda: a // b, "%": lambda: a % b, "<<": lambda: a << b if b < 128 else 0,
                 ">>": lambda: a >> b, "&": lambda: a & b, "|": lambda: a | b, "^": lambda: a ^ b,
                 "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
                 ">": lambda: int(a > b), "<=": lambda: int(a <= b), ">=": lambda: int(a >= b),
                 "&&": lambda: int(bool(a) and bool(b)), "||": lambda: int(bool(a) or bool(b))}[op]()
        except (KeyError, ZeroDivisionError):
            return None
        return v & _MASK
    return None


def expr_text(e):
    v = _fold(e)
    if v is not None:
        return f"{v:#x}"
    op = e[0]
    if op == "sym":
        return e[1]
    if op == "str":
        return e[1]
    if op == "u+":
        return expr_text(e[1])
    if op in ("u-", "u~", "u!"):
        return f"{op[1]} ({expr_text(e[1])})"
    if op == "?":
        return f"{expr_text(e[1])}?{expr_text(e[2])}:{expr_text(e[3])}"
    if op == "call":
        fn, args = e[1], e[2]
        if fn == "SIZEOF_HEADERS":
            return fn
        if fn == "SEGMENT_START":
            return f'SEGMENT_START ("{args[0][1]}", {expr_text(args[1])})'
        if fn == "ASSERT":
            return f"ASSERT ({expr_text(args[0])}, {args[1][1]})"
        if fn == "BLOCK":
            fn = "ALIGN"
        return f"{fn} ({', '.join(expr_text(a) for a in args)})"
    return f"({expr_text(e[1])} {op} {expr_text(e[2])})"


def assignment_text(a):
    if isinstance(a, ast.Assert):
        return f"ASSERT ({expr_text(a.expr)}, {a.message})"
    src = a.expr if a.op == "=" else (a.op[:-1], ("sym", a.target), a.expr)
    if a.kind in ("PROVIDE", "PROVIDE_HIDDEN"):
        return f"PROVIDE ({a.target} = {expr_text(src)})"
    return f"{a.target} = {expr_text(src)}"


def _pattern_text(d):
    def sect(p):
        text = p.pattern
        for s in reversed(p.sort):
            text = f"{_SORT_WORDS.get(s, 'SORT')}({text})"
        if p.exclude_files:
            text = f"EXCLUDE_FILE({' '.join(p.exclude_files)}) {text}"
        return text
    f = d.file or "*"
    if d.exclude_files:
        f = f"EXCLUDE_FILE({' '.join(d.exclude_files)}) {f}"
    if d.file_sort:
        f = f"SORT({f})"
    return f" {f}({' '.join(sect(p) for p in d.patterns)})"


# -- the map body -------------------------------------------------------------------

def script_map_lines(ctx, chunk_lines):
    """Lines for "Linker script and memory map" of a scripted link;
    chunk_lines(out, chunk) gives an input section's lines (with its symbols)."""
    from ldpy.script.layout import LayoutItem
    walk = ctx.script_walk
    seen = walk.map_values
    shown = {id(o) for o in ctx.sections_out}

    def line(a):
        kind, v = seen.get(id(a), ("unused", None))
        if kind == "sym":
            sym = ctx.script_symbols.get(v.encode())
            value = sym.value if sym is not None else 0
            return f"{'':16}{_h(value):34}{assignment_text(a)}"
        if kind in ("dot", "assert"):
            return f"{'':16}{_h(v):34}{assignment_text(a)}"
        return f"{'':16}{'[!provide]':34}{assignment_text(a)}"

    lines = []
    for item in walk.items:
        if not isinstance(item, LayoutItem):
            lines.append(line(item))
            continue
        out = item.st.out
        visible = out is not None and id(out) in shown
        has_lines = any(id(c) in seen for c in item.commands)
        if not visible and not has_lines:
            for a in item.provides:
                lines.append(line(a))
            continue
        addr = out.addr if visible else item.vma
        size = out.size if visible else 0
        lma = out.lma if visible else addr
        head = f"{item.name:15} {_h(addr)} {size:#10x}" if len(item.name) < 15 else \
            f"{item.name}\n{'':15} {_h(addr)} {size:#10x}"
        if lma != addr:
            head += f" load address {_h(lma)}"
        lines.append("")
        lines.append(head)
        placed = out.desc_chunks if out is not None else {}
        data = {id(c.script_data): c for c in walk.data_chunks if getattr(c, "script_data", None) is not None}
        for pos, c in enumerate(item.commands):
            if isinstance(c, ast.InputSectionDesc):
                lines.append(_pattern_text(c))
                if visible:
                    for ch in placed.get(pos, ()):
                        lines.extend(chunk_lines(out, ch))
            elif isinstance(c, (ast.Assignment, ast.Assert)):
                lines.append(line(c))
            elif isinstance(c, ast.Data) and id(c) in data and visible:
                ch = data[id(c)]
                v = int.from_bytes(ch.data.tobytes(), "little" if ctx.target.LITTLE else "big")
                lines.append(f"{'':16}{_h(out.addr + ch.out_offset)} {ch.size:#10x} {c.size} {v:#x}")
        if visible:
            for ch in placed.get(ORPHAN_POS, ()):
                lines.extend(chunk_lines(out, ch))
        for a in item.provides:
            lines.append(line(a))
    # the linker's own tables, which no statement places (ld.bfd leaves them out;
    # listed so that the map names every section of the output)
    for o in ctx.sections_out:
        if o.name in TABLES:
            lines.append("")
            lines.append(f"{o.name:15} {_h(o.addr)} {o.size:#10x}")
            for ch in o.chunks:
                lines.extend(chunk_lines(o, ch))
    return lines
