__thread int lib_tls = 40;
__thread int lib_tls_zero;
int lib_counter = 7;
int lib_get(void) { return lib_tls + lib_counter; }
