"""On-demand tokens for the GNU linker script parser.

GNU ld's flex lexer changes state with the grammar: in an expression `a-b` is
three tokens, while a section name keeps `.note.gnu.build-id` whole and an
input section pattern keeps `*crtbegin?.o` and `libc.a:printf.o` whole.  So
this lexer never tokenizes ahead: the parser asks for the kind of word it
expects at the current position (one of the modes below), and may look at the
same position in several modes before deciding.

Nothing here raises anything but LinkError, always one line starting with
"path:line:col:".
"""
import bisect
import re

from ldpy.diag import LinkError

_NOT_COMMENT = r"(?!/\*)"
# Symbol names in expressions (GNU: `a-b` subtracts, but `a/b` and `a~b` are names).
EXPR = re.compile(r"[A-Za-z_.$\\](?:" + _NOT_COMMENT + r"[A-Za-z0-9_.$/\\~])*")
# Output section, memory region and phdr names; arguments of ADDR() and friends.
SECTION = re.compile(r"(?:" + _NOT_COMMENT + r"[A-Za-z0-9_.$/\\~+\-\[\]?*^!])+")
# Input section descriptions: file and section globs, `archive:member`.
# (GNU ld reads `o1/*.o` here as one glob, as the manual's OVERLAY example needs.)
WILD = re.compile(r"[A-Za-z0-9_.$/\\~+\-\[\]?*^!:]+")
# File names in INPUT, GROUP, INCLUDE, SEARCH_DIR, ...: anything up to a delimiter.
FILE = re.compile(r"(?:" + _NOT_COMMENT + r"[^\s(),;\"{}])+")

_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_OPS = re.compile(r"<<=|>>=|<<|>>|==|!=|<=|>=|&&|\|\||\+=|-=|\*=|/=|&=|\|=|[-+*/%&|^!~?:;,=<>(){}\[\]]")

# GNU ld's three number rules; the longest match wins, ties go to the earlier rule.
_NUM_DOLLAR = re.compile(r"\$[0-9A-Fa-f]+")
_NUM_SUFFIX = re.compile(r"[0-9A-Fa-f]+[HhXxBbOoDd]")
_NUM_PLAIN = re.compile(r"(?:(?:\$|0[xX])[0-9A-Fa-f]+|[0-9]+)[MmKk]?")
_SUFFIX_BASE = {"h": 16, "x": 16, "o": 8, "b": 2, "d": 10}


def _scan(digits, base):
    """The value of the longest prefix of DIGITS valid in BASE (like strtoull)."""
    if base == 0:
        if digits[:2] in ("0x", "0X"):
            base, digits = 16, digits[2:]
        elif digits.startswith("0"):
            base = 8
        else:
            base = 10
    elif base == 16 and digits[:2] in ("0x", "0X"):
        digits = digits[2:]
    n = 0
    for c in digits:
        d = int(c, 16) if c in "0123456789abcdefABCDEF" else 99
        if d >= base:
            break
        n = n * base + d
    return n


def number_value(text):
    """The value GNU ld gives a number token (see _NUM_* for the forms)."""
    last = text[-1].lower()
    if text.startswith("$"):
        mult = {"k": 1024, "m": 1 << 20}.get(last, 1)
        return int(text[1:-1] if mult != 1 else text[1:], 16) * mult
    if _NUM_SUFFIX.fullmatch(text) and not _NUM_PLAIN.fullmatch(text):
        return _scan(text, _SUFFIX_BASE[last])
    mult = {"k": 1024, "m": 1 << 20}.get(last, 1)
    return _scan(text[:-1] if mult != 1 else text, 0) * mult


def _show(s):
    """A token for an error message: short, on one line, control bytes escaped."""
    s = s[:30] + ("..." if len(s) > 30 else "")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


class Lexer:
    """A cursor over the script text with mode-dependent token readers."""

    def __init__(self, text, path, what="script"):
        self.text, self.path, self.pos = text, path, 0
        self.what = what                # "script" or "expression", for end-of-text errors
        self._lines = [0] + [m.end() for m in re.finditer("\n", text)]

    # -- positions and errors ----------------------------------------------------
    def where(self, pos=None):
        pos = self.pos if pos is None else pos
        line = bisect.bisect_right(self._lines, pos)
        return f"{self.path}:{line}:{pos - self._lines[line - 1] + 1}"

    def fail(self, msg, pos=None):
        raise LinkError(f"{self.where(pos)}: {msg}")

    @staticmethod
    def fail_at(where, msg):
        raise LinkError(f"{where}: {msg}")

    def error(self, expected):
        """Raise 'syntax error: expected EXPECTED, found ...' at the next token."""
        self.skip()
        if self.pos >= len(self.text):
            raise LinkError(f"{self.path}: unexpected end of {self.what}, expected {expected}")
        self.fail(f"syntax error: expected {expected}, found '{_show(self._next_text())}'")

    def _next_text(self):
        t, p = self.text, self.pos
        if t[p] == '"':
            end = t.find('"', p + 1)
            return t[p:end + 1] if end >= 0 else t[p:]
        m = FILE.match(t, p)
        if m and not _OPS.match(t, p):
            return m.group()
        m = _OPS.match(t, p)
        return m.group() if m else t[p]

    # -- white space and comments ------------------------------------------------
    def skip(self):
        t, p = self.text, self.pos
        while True:
            m = _SPACE.match(t, p)
            if m:
                p = m.end()
            if t.startswith("/*", p):
                end = t.find("*/", p + 2)
                if end < 0:
                    self.fail("syntax error: unterminated comment", p)
                p = end + 2
                continue
            break
        self.pos = p

    def at_end(self):
        self.skip()
        return self.pos >= len(self.text)

    # -- operators -----------------------------------------------------------------
    def peek_op(self):
        """The operator at the cursor (longest match), without taking it."""
        self.skip()
        m = _OPS.match(self.text, self.pos)
        return m.group() if m else None

    def accept(self, op):
        if self.peek_op() == op:
            self.pos += len(op)
            return True
        return False

    def expect(self, op):
        if not self.accept(op):
            self.error(f"'{op}'")

    # -- words -----------------------------------------------------------------------
    def peek_word(self, mode):
        """The unquoted word of MODE at the cursor, or None."""
        self.skip()
        m = mode.match(self.text, self.pos)
        return m.group() if m else None

    def keyword(self, kw, mode=SECTION):
        """Take KW when it is the whole next word of MODE."""
        if self.peek_word(mode) == kw:
            self.pos += len(kw)
            return True
        return False

    def at_string(self):
        self.skip()
        return self.text.startswith('"', self.pos)

    def string(self):
        """A quoted string: what is between the quotes, as GNU ld gives it."""
        start = self.pos
        end = self.text.find('"', start + 1)
        if end < 0:
            self.fail("syntax error: unterminated string", start)
        self.pos = end + 1
        return self.text[start + 1:end]

    def name(self, mode, what):
        """A word of MODE or a quoted string; a syntax error naming WHAT otherwise."""
        if self.at_string():
            return self.string()
        w = self.peek_word(mode)
        if w is None:
            self.error(what)
        self.pos += len(w)
        return w

    # -- expression atoms ----------------------------------------------------------
    def peek_atom(self):
        """('num', value, text) or ('name', text, text) at the cursor, or None.

        Numbers and names compete the way flex rules do in GNU ld: the longest
        match wins and a tie goes to the number (so `ABh` is 0xab)."""
        self.skip()
        t, p = self.text, self.pos
        best = None
        for rx in (_NUM_DOLLAR, _NUM_SUFFIX, _NUM_PLAIN):
            m = rx.match(t, p)
            if m and (best is None or len(m.group()) > len(best)):
                best = m.group()
        m = EXPR.match(t, p)
        if m and (best is None or len(m.group()) > len(best)):
            return ("name", m.group(), m.group())
        if best is None:
            return None
        return ("num", number_value(best), best)
