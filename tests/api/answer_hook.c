/*
 * answer_hook.c -- a hook that answers in user space: getppid gets ANSWER_MAGIC instead of the
 * parent's pid, and openat/open of the path in SI_DENY_PATH fail with EACCES without reaching
 * the kernel.  It counts, per syscall number, how often it ran, and exports that count as
 * answer_hook_calls() for the test program.  It must never change any other syscall, and never
 * allocate or call libc functions that make syscalls inside the hook.
 */
#include <libsyscall_intercept_hook_point.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#define ANSWER_MAGIC 424242L
#define MAX_NR 1024

static atomic_long calls[MAX_NR];
static char deny_path[4096];

long answer_hook_calls(long nr);

long
answer_hook_calls(long nr)
{
	return nr >= 0 && nr < MAX_NR ? atomic_load(&calls[nr]) : -1;
}

static int
denied(const char *path)
{
	return deny_path[0] != '\0' && path != NULL && strcmp(path, deny_path) == 0;
}

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a2; (void)a3; (void)a4; (void)a5;
	if (nr >= 0 && nr < MAX_NR)
		atomic_fetch_add(&calls[nr], 1);
	if (nr == SYS_getppid) {
		*result = ANSWER_MAGIC;
		return 0;
	}
	if ((nr == SYS_openat && denied((const char *)a1)) ||
	    (nr == SYS_open && denied((const char *)a0))) {
		*result = -EACCES;
		return 0;
	}
	return 1;
}

static __attribute__((constructor)) void
init(void)
{
	const char *p = getenv("SI_DENY_PATH");
	if (p != NULL && strlen(p) < sizeof(deny_path))
		strcpy(deny_path, p);
	intercept_hook_point = hook;
}
