/* Entries collected into the custom section "myset" from several objects;
   the program walks them between the linker-defined __start_myset and
   __stop_myset. */
struct myset_entry {
    const char *name;
    long value;
};
#define MYSET_ENTRY(id, n, v)                                                               \
    static const struct myset_entry id __attribute__((section("myset"), used, aligned(16))) = {n, v}
