"""Tokens of the GNU linker script language, with line and column for errors."""
import re

from ldpy.diag import LinkError

_WS_COMMENT_STRING = r"""
    (?P<ws>\s+)
  | (?P<comment>/\*.*?(\*/|\Z))
  | (?P<string>"[^"]*")
"""
_OP = r"""(?P<op><<=|>>=|<<|>>|==|!=|<=|>=|&&|\|\||\+=|-=|\*=|/=|&=|\|=|[(){};,:=<>+\-*/%&|!~?^])"""
_NAME = r"""(?P<name>[A-Za-z0-9_.$/\\~\[\]*?!^@:+-][A-Za-z0-9_.$/\\~\[\]*?!^@:+\-=]*)"""
# file-name mode (INPUT, GROUP, input section specs): a name may start with '/' or '-'
_TOKEN_NAMES = re.compile(_WS_COMMENT_STRING + "|" + _NAME + "|" + _OP, re.X | re.S)
# expression mode: operators split names
_NAME_EXPR = r"""(?P<name>[A-Za-z0-9_.$][A-Za-z0-9_.$]*)"""
_TOKEN_EXPR = re.compile(_WS_COMMENT_STRING + "|" + _OP + "|" + _NAME_EXPR, re.X | re.S)


class Token:
    __slots__ = ("kind", "text", "line", "col")

    def __init__(self, kind, text, line, col):
        self.kind, self.text, self.line, self.col = kind, text, line, col

    def __repr__(self):
        return f"{self.kind}:{self.text!r}@{self.line}:{self.col}"


def tokenize(text, path, mode="names"):
    """Split a script into tokens.  In this first form a name token runs over
    characters GNU ld accepts in file names; operators split only where a name
    cannot continue."""
    tokens = []
    pos, line, line_start = 0, 1, 0
    n = len(text)
    pattern = _TOKEN_NAMES if mode == "names" else _TOKEN_EXPR
    while pos < n:
        m = pattern.match(text, pos)
        if m is None:
            raise LinkError(f"{path}:{line}:{pos - line_start + 1}: syntax error: "
                            f"unexpected character {text[pos]!r}")
        kind = m.lastgroup
        s = m.group()
        if kind == "comment" and not s.endswith("*/"):
            raise LinkError(f"{path}:{line}:{pos - line_start + 1}: unterminated comment")
        if kind not in ("ws", "comment"):
            tokens.append(Token(kind, s[1:-1] if kind == "string" else s, line, pos - line_start + 1))
        nl = s.count("\n")
        if nl:
            line += nl
            line_start = pos + s.rfind("\n") + 1
        pos = m.end()
    return tokens
