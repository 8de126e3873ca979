/* An IFUNC: the resolver runs before main (static executables apply their
   IRELATIVE relocations at startup) and picks one of two implementations. */
int ifunc_resolver_calls;
int ifunc_pick_fast = 1;

static int add_generic(int a, int b) { return a + b; }
static int add_fast(int a, int b) { return a + b + 1000; }

static void *resolve_add(void)
{
    ifunc_resolver_calls++;
    return ifunc_pick_fast ? (void *)add_fast : (void *)add_generic;
}

int ifunc_add(int a, int b) __attribute__((ifunc("resolve_add")));

/* Called from inside the defining object, too. */
int impl_call(int a, int b) { return ifunc_add(a, b); }
int (*impl_addr(void))(int, int) { return ifunc_add; }
