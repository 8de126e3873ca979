/* Constructors and destructors with priorities, first object. */
#include <stdio.h>
#include <unistd.h>
#include <string.h>

/* Destructors run after stdout may be flushed/closed: write(2) directly. */
void say(const char *s)
{
    write(1, s, strlen(s));
    write(1, "\n", 1);
}

__attribute__((constructor(102))) static void a_ctor_102(void) { say("ctor 102 a"); }
__attribute__((constructor)) static void a_ctor_default(void) { say("ctor default a"); }
__attribute__((constructor(500))) static void a_ctor_500(void) { say("ctor 500 a"); }
__attribute__((destructor(102))) static void a_dtor_102(void) { say("dtor 102 a"); }
__attribute__((destructor)) static void a_dtor_default(void) { say("dtor default a"); }

/* .preinit_array runs before every .init_array entry (executables only). */
static void a_preinit(void) { say("preinit a"); }
__attribute__((section(".preinit_array"), used)) static void (*a_preinit_entry)(void) = a_preinit;

/* Old-style .ctors.NNNNN / .dtors.NNNNN: priority 65535 - NNNNN = 202. */
static void a_ctors_202(void) { say("ctor 202 a (.ctors.65333)"); }
__attribute__((section(".ctors.65333"), used)) static void (*a_ctors_entry)(void) = a_ctors_202;
static void a_dtors_202(void) { say("dtor 202 a (.dtors.65333)"); }
__attribute__((section(".dtors.65333"), used)) static void (*a_dtors_entry)(void) = a_dtors_202;
