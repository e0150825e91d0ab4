/*
 * reload_hook.so -- answers getppid called with the reload marker (rdi 0x5eed) with 424242,
 * and lets everything else run: a marked call that returns 424242 went through a patched site.
 */
#include <libsyscall_intercept_hook_point.h>
#include <sys/syscall.h>

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a1; (void)a2; (void)a3; (void)a4; (void)a5;
	if (nr == SYS_getppid && a0 == 0x5eed) {
		*result = 424242;
		return 0;
	}
	return 1;
}

static __attribute__((constructor)) void
init(void)
{
	intercept_hook_point = hook;
}
