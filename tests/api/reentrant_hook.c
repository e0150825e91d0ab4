/*
 * reentrant_hook.c -- a hook that calls libc from inside the hook: on every getppid it mallocs,
 * opens and reads /proc/self/status with stdio, and printfs what it read.  Those calls make
 * syscalls (openat, read, write, maybe mmap); the library must run them straight in the kernel
 * instead of re-entering the hook.  The hook counts its nesting depth per thread and exports the
 * deepest it saw (reentrant_max_depth) and its getppid calls (reentrant_getppid_calls).
 * After reentrant_hold_next(), the next getppid stays inside the hook (up to 10 s) until another
 * thread's getppid has reached the hook: the guard is per thread, so it must
 * (reentrant_cross_thread_seen).  It must never pass or answer a syscall differently from the
 * kernel.
 */
#include <libsyscall_intercept_hook_point.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

static __thread int depth, is_holder;
static atomic_int max_depth, hold_next, holding, cross_thread_seen;
static atomic_long getppid_calls, nested_libc_calls;

int reentrant_max_depth(void);
long reentrant_getppid_calls(void);
long reentrant_nested_libc_calls(void);

int reentrant_max_depth(void) { return atomic_load(&max_depth); }
long reentrant_getppid_calls(void) { return atomic_load(&getppid_calls); }
long reentrant_nested_libc_calls(void) { return atomic_load(&nested_libc_calls); }
void reentrant_hold_next(void);
int reentrant_holding(void);
int reentrant_cross_thread_seen(void);
void reentrant_hold_next(void) { atomic_store(&hold_next, 1); }
int reentrant_holding(void) { return atomic_load(&holding); }
int reentrant_cross_thread_seen(void) { return atomic_load(&cross_thread_seen); }

/* Inside the hook: wait until another thread's getppid reached the hook, 10 s at most. */
static void
hold(void)
{
	is_holder = 1;
	atomic_store(&holding, 1);
	struct timespec ms = { 0, 1000000 };
	for (int i = 0; i < 10000 && !atomic_load(&cross_thread_seen); i++)
		nanosleep(&ms, NULL);
	atomic_store(&holding, 0);
	is_holder = 0;
}

static void
use_libc(void)
{
	char *buf = malloc(4096);
	if (!buf)
		return;
	FILE *f = fopen("/proc/self/status", "r");
	if (f) {
		if (fgets(buf, 4096, f)) {
			buf[strcspn(buf, "\n")] = '\0';
			printf("hook: read '%s'\n", buf);
			fflush(stdout);
			atomic_fetch_add(&nested_libc_calls, 1);
		}
		fclose(f);
	}
	/* A large allocation: malloc goes to mmap/munmap. */
	void *big = malloc(1 << 22);
	free(big);
	free(buf);
}

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)result;
	int d = ++depth;
	int m = atomic_load(&max_depth);
	while (d > m && !atomic_compare_exchange_weak(&max_depth, &m, d))
		;
	if (nr == SYS_getppid) {
		atomic_fetch_add(&getppid_calls, 1);
		if (atomic_load(&holding) && !is_holder)
			atomic_store(&cross_thread_seen, 1);
		use_libc();
		if (atomic_exchange(&hold_next, 0))
			hold();
	}
	--depth;
	return 1;
}

static __attribute__((constructor)) void
init(void)
{
	intercept_hook_point = hook;
}
