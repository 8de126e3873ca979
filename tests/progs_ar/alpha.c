int shared_counter;
static int hidden = 3;
int alpha(void) { return hidden + shared_counter; }
__attribute__((weak)) int tunable = 7;
