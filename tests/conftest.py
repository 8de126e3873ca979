"""Shared pytest setup.  Kept deliberately small: every test module in this
directory sees it.  The end-to-end tests' helpers live in e2e_util.py."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


def pytest_report_header(config):
    linker = os.environ.get("LDPY_TEST_LINKER", "ldpy") or "ldpy"
    note = "" if linker == "ldpy" else " (validating the end-to-end tests against GNU ld)"
    return f"end-to-end linker under test (LDPY_TEST_LINKER): {linker}{note}"
