"""Linker-script expressions (C operators and precedence), used by --defsym
now and by SECTIONS later.  parse() gives a tree of tuples; evaluate() walks it
with a callback that returns symbol values."""
from ldpy.diag import LinkError
from ldpy.input.script.lexer import tokenize

_BINARY = [  # lowest to highest precedence
    ("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="),
    ("<<", ">>"), ("+", "-"), ("*", "/", "%"),
]


def parse_number(text):
    """A number as GNU ld reads it: 0x hex, 0 octal, decimal, K/M suffix, h/o/b suffixes."""
    t = text.lower()
    mult = 1
    if t.endswith("k"):
        mult, t = 1024, t[:-1]
    elif t.endswith("m"):
        mult, t = 1024 * 1024, t[:-1]
    if t.startswith("0x") or t.startswith("$"):
        return int(t[2:] if t.startswith("0x") else t[1:], 16) * mult
    if t.endswith("h") and t[:-1] and all(c in "0123456789abcdef" for c in t[:-1]):
        return int(t[:-1], 16) * mult
    if len(t) > 1 and t.startswith("0") and t.isdigit():
        return int(t, 8) * mult
    return int(t, 10) * mult


class Parser:
    def __init__(self, text, where):
        self.toks = tokenize(text, where, mode="expr")
        self.i = 0
        self.where = where

    def peek(self):
        return self.toks[self.i].text if self.i < len(self.toks) else None

    def take(self):
        if self.i >= len(self.toks):
            raise LinkError(f"{self.where}: unexpected end of expression")
        t = self.toks[self.i]
        self.i += 1
        return t

    def parse(self):
        node = self.ternary()
        if self.i != len(self.toks):
            t = self.toks[self.i]
            raise LinkError(f"{self.where}: syntax error at '{t.text}' (column {t.col})")
        return node

    def ternary(self):
        cond = self.binary(0)
        if self.peek() == "?":
            self.take()
            a = self.ternary()
            if self.take().text != ":":
                raise LinkError(f"{self.where}: expected ':' in conditional expression")
            b = self.ternary()
            return ("?", cond, a, b)
        return cond

    def binary(self, level):
        if level == len(_BINARY):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek() in _BINARY[level]:
            op = self.take().text
            node = (op, node, self.binary(level + 1))
        return node

    def unary(self):
        t = self.peek()
        if t in ("-", "!", "~", "+"):
            self.take()
            return ("u" + t, self.unary())
        if t == "(":
            self.take()
            node = self.ternary()
            if self.take().text != ")":
                raise LinkError(f"{self.where}: expected ')'")
            return node
        tok = self.take()
        text = tok.text
        if tok.kind == "op":
            raise LinkError(f"{self.where}: syntax error at '{text}' (column {tok.col})")
        if text[0].isdigit() or (text[0] == "$" and len(text) > 1):
            try:
                return ("num", parse_number(text))
            except ValueError:
                raise LinkError(f"{self.where}: bad number '{text}'")
        if self.peek() == "(":
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.ternary())
                if self.peek() == ",":
                    self.take()
            self.take()
            return ("call", text, args)
        return ("sym", text)


def parse(text, where="expression"):
    return Parser(text, where).parse()


def symbols_in(node):
    if node[0] == "sym":
        yield node[1]
    elif node[0] == "call":
        for a in node[2]:
            yield from symbols_in(a)
    elif node[0] != "num":
        for a in node[1:]:
            if isinstance(a, tuple):
                yield from symbols_in(a)


_OPS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a // b if b else _div0(), "%": lambda a, b: a % b if b else _div0(),
    "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b, "&": lambda a, b: a & b,
    "|": lambda a, b: a | b, "^": lambda a, b: a ^ b, "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b), "<": lambda a, b: int(a < b), "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b), ">=": lambda a, b: int(a >= b),
    "&&": lambda a, b: int(bool(a) and bool(b)), "||": lambda a, b: int(bool(a) or bool(b)),
}


def _div0():
    raise LinkError("division by zero in expression")


def evaluate(node, lookup, call=None):
    op = node[0]
    if op == "num":
        return node[1]
    if op == "sym":
        return lookup(node[1])
    if op == "?":
        return evaluate(node[2] if evaluate(node[1], lookup, call) else node[3], lookup, call)
    if op == "u-":
        return -evaluate(node[1], lookup, call)
    if op == "u+":
        return evaluate(node[1], lookup, call)
    if op == "u!":
        return int(not evaluate(node[1], lookup, call))
    if op == "u~":
        return ~evaluate(node[1], lookup, call)
    if op == "call":
        if call is None:
            raise LinkError(f"function {node[1]}() is not allowed here")
        return call(node[1], [evaluate(a, lookup, call) for a in node[2]])
    return _OPS[op](evaluate(node[1], lookup, call), evaluate(node[2], lookup, call))
