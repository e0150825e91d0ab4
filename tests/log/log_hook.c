/*
 * log_hook.so -- a hook for the INTERCEPT_LOG tests that answers syscall number 1000 itself
 * (result 42) and passes everything else on, so the log shows a hook-handled syscall's result.
 * It must never answer any other syscall.
 */
#include <libsyscall_intercept_hook_point.h>

static int
answer_1000(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5;
	if (nr != 1000)
		return 1;
	*result = 42;
	return 0;
}

static __attribute__((constructor)) void
install(void)
{
	intercept_hook_point = answer_1000;
}
