/*
 * passthrough.so -- a hook that passes every syscall on to the kernel.  It measures the library
 * alone: any difference from a native run is the library's doing.  It must never answer a
 * syscall itself.
 */
#include <libsyscall_intercept_hook_point.h>

static int
pass(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)nr; (void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)result;
	return 1;
}

static __attribute__((constructor)) void
install(void)
{
	intercept_hook_point = pass;
}
