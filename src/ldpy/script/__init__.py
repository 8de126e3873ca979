"""GNU linker scripts: the AST, the parser, and the layout engine that follows them."""
