"""GNU linker scripts."""
