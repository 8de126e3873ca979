int d2_util(void) { return 200; }
