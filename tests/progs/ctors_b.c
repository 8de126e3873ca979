/* Constructors and destructors with priorities, second object: its 101 must
   run before ctors_a.c's 102 although it comes later on the command line. */
void say(const char *s);

__attribute__((constructor(101))) static void b_ctor_101(void) { say("ctor 101 b"); }
__attribute__((constructor(102))) static void b_ctor_102(void) { say("ctor 102 b"); }
__attribute__((constructor(65535))) static void b_ctor_65535(void) { say("ctor 65535 b"); }
__attribute__((destructor(101))) static void b_dtor_101(void) { say("dtor 101 b"); }
__attribute__((destructor(500))) static void b_dtor_500(void) { say("dtor 500 b"); }
__attribute__((destructor)) static void b_dtor_default(void) { say("dtor default b"); }

/* A plain .ctors entry from a regular object lands in .init_array as well. */
static void b_ctors_plain(void) { say("ctor b (.ctors)"); }
__attribute__((section(".ctors"), used)) static void (*b_ctors_entry)(void) = b_ctors_plain;
