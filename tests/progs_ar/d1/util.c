int d1_util(void) { return 100; }
