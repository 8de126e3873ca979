int never_called(void) { return -1; }
int unused_data[4] = {1, 2, 3, 4};
