"""Evaluating linker-script expressions during layout.

A value carries its "section" the way GNU ld's does, because that decides
whether a symbol the script defines is absolute (nm's `A`) or belongs to an
output section:

* NUM: a plain number (SIZEOF, LENGTH, comparisons; literals inside an
  output section);
* ABS: an absolute address (ABSOLUTE(), LOADADDR(), literals outside sections);
* an OutputSection: an address in that section (ADDR(), symbols defined in it,
  `.` inside it).

Binary operators: values of two different sections both become absolute; a
number keeps the other operand's section; two values of one section give a
number inside an output section and an absolute outside.  `.`, ORIGIN(),
SEGMENT_START() and ALIGN() outside sections give absolute values that are
"relative to dot": a symbol set from them becomes relative to the section
next to that point of the script (env.rel_from_abs records it).
"""
from ldpy.diag import LinkError

NUM, ABS = "num", "abs"

_MASK = (1 << 64) - 1


class Value:
    __slots__ = ("v", "sec")

    def __init__(self, v, sec=NUM):
        self.v, self.sec = v, sec

    @property
    def relative(self):
        return self.sec is not NUM and self.sec is not ABS


def _align_up(x, a):
    if a <= 0:
        return x
    return (x + a - 1) // a * a


def log2ceil(x):
    return 0 if x <= 1 else (x - 1).bit_length()


class Evaluator:
    """Evaluates expression trees against a layout in progress.

    `env` provides: dot() -> Value, symbol(name, where) -> Value or None,
    section(name) -> OutputSection or None, region(name) -> MemoryRegion,
    sizeof_headers(), max_page_size, common_page_size, segment_start(name)
    -> int or None, data_segment_align(maxpage, commonpage) -> int,
    data_segment_relro_end(offset, pagesize) -> int, defined(name) -> bool."""

    def __init__(self, env):
        self.env = env

    def eval(self, node, where):
        self.rel_from_abs = False
        return self._e(node, where)

    def value(self, node, where):
        return self._e(node, where).v

    def _e(self, n, where):
        op = n[0]
        if op == "num":
            return Value(n[1], NUM if self.env.inside() else ABS)
        if op == "sym":
            if n[1] == ".":
                return self._dotlike(self.env.dot().v)
            val = self.env.symbol(n[1], where)
            if val is None:
                raise LinkError(f"{where}: undefined symbol '{n[1]}' referenced in expression")
            return val
        if op == "str":
            raise LinkError(f"{where}: a string is not a value here")
        if op == "call":
            return self._call(n[1], n[2], where)
        if op == "?":
            c = self._e(n[1], where)
            return self._e(n[2] if c.v else n[3], where)
        if op[0] == "u" and len(n) == 2:
            a = self._e(n[1], where)
            v = {"u-": lambda x: -x, "u+": lambda x: x, "u!": lambda x: int(not x),
                 "u~": lambda x: ~x & _MASK}[op](a.v)
            return Value(v, a.sec)
        a = self._e(n[1], where)
        b = self._e(n[2], where)
        if a.sec is not NUM and b.sec is not NUM and a.sec is not b.sec:
            self.rel_from_abs = False        # made absolute: no longer "from dot"
        return _binary(op, a, b, where, self.env.inside())

    def _dotlike(self, v):
        """`.`, ORIGIN, SEGMENT_START, ALIGN: in the current section inside one."""
        out = self.env.current_section()
        if out is not None:
            return Value(v, out)
        self.rel_from_abs = True
        return Value(v, ABS)

    def _section_arg(self, args, fn, where):
        if len(args) != 1 or args[0][0] != "sym":
            raise LinkError(f"{where}: {fn} expects a section name")
        name = args[0][1]
        sec = self.env.section(name)
        return name, sec

    def _call(self, fn, args, where):
        env = self.env
        ev = lambda i: self._e(args[i], where)
        nargs = {"ABSOLUTE": 1, "ALIGN": (1, 2), "BLOCK": 1, "NEXT": 1, "MAX": 2, "MIN": 2,
                 "LOG2CEIL": 1, "DATA_SEGMENT_ALIGN": 2, "DATA_SEGMENT_END": 1,
                 "DATA_SEGMENT_RELRO_END": 2, "SEGMENT_START": 2, "CONSTANT": 1,
                 "SIZEOF_HEADERS": 0, "DEFINED": 1, "ORIGIN": 1, "LENGTH": 1, "ADDR": 1,
                 "LOADADDR": 1, "SIZEOF": 1, "ALIGNOF": 1, "ASSERT": 2}.get(fn)
        if nargs is None:
            raise LinkError(f"{where}: unknown function {fn}()")
        if (len(args) not in nargs) if isinstance(nargs, tuple) else len(args) != nargs:
            raise LinkError(f"{where}: wrong number of arguments to {fn}()")
        if fn == "ABSOLUTE":
            return Value(ev(0).v, ABS)
        if fn in ("ALIGN", "BLOCK", "NEXT"):
            if len(args) == 2:
                base = ev(0)
                return Value(_align_up(base.v, ev(1).v), base.sec)
            v = _align_up(env.dot().v, ev(0).v)
            return Value(v, ABS) if fn == "NEXT" else self._dotlike(v)
        if fn in ("MAX", "MIN"):
            a, b = ev(0), ev(1)
            pick = max if fn == "MAX" else min
            if a.sec is not b.sec and a.sec is not NUM and b.sec is not NUM:
                self.rel_from_abs = False
                return Value(pick(a.v, b.v), ABS)
            sec = a.sec if a.sec is not NUM else b.sec
            return Value(pick(a.v, b.v), sec)
        if fn == "LOG2CEIL":
            return Value(log2ceil(ev(0).v), NUM)
        if fn == "CONSTANT":
            name = args[0][1] if args[0][0] == "sym" else ""
            if name == "MAXPAGESIZE":
                return Value(env.max_page_size, NUM)
            if name == "COMMONPAGESIZE":
                return Value(env.common_page_size, NUM)
            raise LinkError(f"{where}: unknown constant '{name}'")
        if fn == "SIZEOF_HEADERS":
            return Value(env.sizeof_headers(), NUM)
        if fn == "DEFINED":
            name = args[0][1] if args[0][0] == "sym" else None
            if name is None:
                raise LinkError(f"{where}: DEFINED expects a symbol name")
            return Value(int(env.defined(name)), NUM)
        if fn in ("ORIGIN", "LENGTH"):
            name = args[0][1] if args[0][0] == "sym" else None
            region = env.region(name, where)
            return self._dotlike(region.origin) if fn == "ORIGIN" else Value(region.length, NUM)
        if fn in ("ADDR", "LOADADDR", "SIZEOF", "ALIGNOF"):
            name, sec = self._section_arg(args, fn, where)
            if sec is None:
                if fn == "SIZEOF":
                    return Value(0, NUM)
                raise LinkError(f"{where}: undefined section '{name}' referenced in expression")
            if fn == "ADDR":
                return Value(sec.addr, sec)
            if fn == "LOADADDR":
                return Value(sec.lma, ABS)
            if fn == "SIZEOF":
                return Value(sec.size, NUM)
            return Value(sec.align, NUM)
        if fn == "SEGMENT_START":
            name = args[0][1]
            given = env.segment_start(name)
            return self._dotlike(given if given is not None else ev(1).v)
        if fn == "DATA_SEGMENT_ALIGN":
            return env.data_segment_align(ev(0).v, ev(1).v)
        if fn == "DATA_SEGMENT_RELRO_END":
            return env.data_segment_relro_end(ev(0).v, ev(1).v)
        if fn == "DATA_SEGMENT_END":
            return ev(0)
        if fn == "ASSERT":
            c = ev(0)
            if not c.v:
                msg = args[1][1] if args[1][0] in ("str", "sym") else "assertion failed"
                env.assert_failed(msg, where)
            return c
        raise LinkError(f"{where}: unknown function {fn}()")


def _binary(op, a, b, where, inside):
    x, y = a.v, b.v
    if op in ("/", "%") and y == 0:
        raise LinkError(f"{where}: division by zero in expression")
    if op == "+":
        v = x + y
        if v > _MASK:          # bfd_vma arithmetic: a sum past 2^64 wraps
            v &= _MASK
    elif op == "-":
        v = x - y
    elif op == "*":
        v = x * y
        if v > _MASK:
            v &= _MASK
    elif op == "/":
        v = x // y
    elif op == "%":
        v = x % y
    elif op == "<<":
        v = (x << y) & _MASK if y < 128 else 0
    elif op == ">>":
        v = x >> y
    elif op == "&":
        v = x & y
    elif op == "|":
        v = x | y
    elif op == "^":
        v = x ^ y
    elif op in ("==", "!=", "<", "<=", ">", ">=", "&&", "||"):
        v = {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y,
             "&&": bool(x) and bool(y), "||": bool(x) or bool(y)}[op]
        return Value(int(v), NUM)
    else:
        raise LinkError(f"{where}: unknown operator '{op}'")
    if a.sec is NUM:
        return Value(v, b.sec)
    if b.sec is NUM:
        return Value(v, a.sec)
    if a.sec is not b.sec:
        return Value(v, ABS)
    return Value(v, NUM if inside else ABS)      # two values of one section
