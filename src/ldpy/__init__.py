"""ldpy: a GNU-ld-compatible ELF linker written in Python."""
__version__ = "0.1.0"
