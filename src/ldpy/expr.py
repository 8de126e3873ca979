"""--defsym expressions: parse() gives the script parser's tuple tree (see
ldpy.script.ast); evaluate() walks it after layout with a callback that returns
symbol values.  (Scripted layouts evaluate their own expressions: script.evaluate.)"""
from ldpy.diag import LinkError

def parse(text, where="expression"):
    """One expression in linker-script syntax (the script parser's grammar)."""
    from ldpy.script.parser import parse_expression
    return parse_expression(text, where)


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
