/* Thread-local variables defined in another object (tls_defs.c). */
extern __thread int t_init;
extern __thread long t_arr[4];
extern __thread int t_zero;
extern __thread char t_buf[4096];
extern __thread int t_hidden __attribute__((visibility("hidden")));

long use_sum(void)
{
    return t_init + t_arr[0] + t_arr[1] + t_arr[2] + t_arr[3] + t_zero + t_buf[0] + t_buf[4095] + t_hidden;
}

void use_set(int v)
{
    t_init += v;
    t_arr[3] = v;
    t_zero = v;
    t_buf[4095] = (char)(v & 0x7f);
    t_hidden += 1;
}

int *use_addr_init(void) { return &t_init; }
char *use_addr_buf(void) { return t_buf; }
