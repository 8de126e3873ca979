"""Diagnostics: one-line errors and warnings that name the file and the place.

User mistakes and broken inputs raise LinkError; main() prints it as
``ldpy: error: <message>`` and exits 1.  Nothing here prints a traceback.
"""
import sys

PROG = "ldpy"


class LinkError(Exception):
    """A user-facing link failure: the message is the whole story."""


class Diagnostics:
    """Counts warnings and errors; honours --fatal-warnings and --no-warnings."""

    def __init__(self):
        self.fatal_warnings = False
        self.no_warnings = False
        self.warnings = 0
        self.errors = 0
        self.error_limit = 20

    def warn(self, msg: str) -> None:
        if self.no_warnings:
            return
        self.warnings += 1
        # (a message that carries its own "warning:" after the location keeps it there)
        tag = "" if ": warning: " in msg else "warning: "
        if self.fatal_warnings:
            self.errors += 1
            print(f"{PROG}: error: {msg}", file=sys.stderr)
        else:
            print(f"{PROG}: {tag}{msg}", file=sys.stderr)

    def note(self, msg: str) -> None:
        """A line that belongs to the warning just given (shown, or not, with it)."""
        if not self.no_warnings:
            print(f"{PROG}: {msg}", file=sys.stderr)

    def error(self, msg: str) -> None:
        """Report a non-fatal error: the link continues to find more, then fails."""
        self.errors += 1
        if not self.error_limit or self.errors <= self.error_limit:
            print(f"{PROG}: error: {msg}", file=sys.stderr)

    def check(self) -> None:
        """Stop the link if any error was reported so far."""
        if self.errors:
            if self.error_limit and self.errors > self.error_limit:
                print(f"{PROG}: error: too many errors, the rest not shown "
                      f"(--error-limit={self.error_limit}; --error-limit=0 shows all)", file=sys.stderr)
            raise LinkError(None)


diag = Diagnostics()


def error(msg: str):
    raise LinkError(msg)


def warn(msg: str) -> None:
    diag.warn(msg)
