int gamma_from_long_name(void) { return 42; }
