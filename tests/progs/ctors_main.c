#include <stdlib.h>
void say(const char *s);
static void at_exit_handler(void) { say("atexit handler"); }
int main(void)
{
    say("main");
    atexit(at_exit_handler);
    return 0;
}
