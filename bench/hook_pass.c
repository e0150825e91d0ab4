/*
 * hook_pass.c -- si_bench_pass.so, the benchmark's pass-through hook: every syscall goes on to
 * the kernel, so any difference from native is the library's own cost.  It must never answer a
 * syscall, and never do any work in the hook (no counting, no memory writes).
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
