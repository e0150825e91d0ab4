/*
 * deny_getdents.c -- the example of libsyscall_intercept(3): directory listings fail with
 * ENOTSUP, every other syscall runs as usual.
 *
 *   cc deny_getdents.c -lsyscall_intercept -fpic -shared -o deny_getdents.so
 *   LD_PRELOAD=./deny_getdents.so ls      # ls: reading directory '.': Operation not supported
 */
#include <errno.h>
#include <libsyscall_intercept_hook_point.h>
#include <sys/syscall.h>

static int
hook(long syscall_number, long arg0, long arg1, long arg2, long arg3, long arg4, long arg5,
     long *result)
{
	(void)arg0; (void)arg1; (void)arg2; (void)arg3; (void)arg4; (void)arg5;
	if (syscall_number == SYS_getdents || syscall_number == SYS_getdents64) {
		/* As if the kernel had answered ENOTSUP. */
		*result = -ENOTSUP;
		return 0;
	}
	return 1;	/* everything else goes to the kernel */
}

static __attribute__((constructor)) void
init(void)
{
	intercept_hook_point = hook;
}
