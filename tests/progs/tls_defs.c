/* Thread-local definitions: initialized (.tdata) and zeroed (.tbss), global,
   hidden and file-local.  Compiled with several -ftls-model/-fPIC variants. */
__thread int t_init = 42;
__thread long t_arr[4] = {1, 2, 3, 4};
__thread int t_zero;
__thread char t_buf[4096];
__thread int t_hidden __attribute__((visibility("hidden"))) = 9;
static __thread int t_static = 5;
static __thread int t_static_zero;

/* Local-dynamic (several file-local variables in one function) under -fPIC. */
int defs_bump(int by)
{
    t_static += by;
    t_static_zero += 2 * by;
    t_hidden += by;
    return t_static + t_static_zero + t_hidden;
}

int *defs_addr_init(void) { return &t_init; }
char *defs_addr_buf(void) { return t_buf; }
