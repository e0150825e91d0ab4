/*
 * thr_hook.so -- the hook library of the thread tests.  It passes every syscall on and counts
 * what reached the hook: per syscall number, and per file descriptor the read and write
 * syscalls, so that a thread that owns a descriptor can tell exactly how many of its own calls
 * the hook saw while other threads keep making syscalls.  The counts are read through
 * thr_hook_reads(), thr_hook_writes() and thr_hook_calls() (see thr_hook.h).  It must never
 * allocate, take a lock or answer a syscall: it runs on many threads at once, also while the
 * library is still patching other objects.
 */
#include <libsyscall_intercept_hook_point.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include "thr_hook.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_NR 1024

static atomic_long per_nr[MAX_NR];
static atomic_long reads[THR_HOOK_MAX_FD], writes[THR_HOOK_MAX_FD];

static int
count(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)result;
	if (nr >= 0 && nr < MAX_NR)
		atomic_fetch_add_explicit(&per_nr[nr], 1, memory_order_relaxed);
	/* The kernel reads an fd as an int: compare the low 32 bits only. */
	int fd = (int)a0;
	if (fd >= 0 && fd < THR_HOOK_MAX_FD) {
		if (nr == SYS_read)
			atomic_fetch_add_explicit(&reads[fd], 1, memory_order_relaxed);
		else if (nr == SYS_write)
			atomic_fetch_add_explicit(&writes[fd], 1, memory_order_relaxed);
	}
	return 1;
}

EXPORT long
thr_hook_reads(int fd)
{
	return fd >= 0 && fd < THR_HOOK_MAX_FD ? atomic_load(&reads[fd]) : -1;
}

EXPORT long
thr_hook_writes(int fd)
{
	return fd >= 0 && fd < THR_HOOK_MAX_FD ? atomic_load(&writes[fd]) : -1;
}

EXPORT long
thr_hook_calls(long nr)
{
	return nr >= 0 && nr < MAX_NR ? atomic_load(&per_nr[nr]) : -1;
}

static __attribute__((constructor)) void
install(void)
{
	intercept_hook_point = count;
}
