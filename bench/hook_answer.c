/*
 * hook_answer.c -- si_bench_answer.so, the benchmark's answering hook: it answers the
 * benchmark's three syscalls in user space (bench_answer: getppid gets BENCH_MAGIC_PPID,
 * close(-1) gets -EBADF, a read of BENCH_ZERO_FD gets zeros), so they never enter the kernel,
 * and passes everything else on.  It must never answer any other syscall: the program around
 * the measured loop has to keep working.
 */
#include <libsyscall_intercept_hook_point.h>
#include "bench.h"

static int
answer(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a3; (void)a4; (void)a5;
	return !bench_answer(nr, a0, a1, a2, result);
}

static __attribute__((constructor)) void
install(void)
{
	intercept_hook_point = answer;
}
