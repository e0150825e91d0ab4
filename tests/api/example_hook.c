/*
 * example_hook.c -- the example hook of libsyscall_intercept(3), as the man page prints it,
 * extended to getdents64 (what today's libc actually calls): it makes every directory read
 * fail with ENOTSUP and passes every other syscall on.  It must never answer anything else.
 */
#include <libsyscall_intercept_hook_point.h>
#include <errno.h>
#include <sys/syscall.h>

static int
hook(long syscall_number,
     long arg0, long arg1,
     long arg2, long arg3,
     long arg4, long arg5,
     long *result)
{
	(void)arg0; (void)arg1; (void)arg2; (void)arg3; (void)arg4; (void)arg5;
	if (syscall_number == SYS_getdents || syscall_number == SYS_getdents64) {
		/*
		 * Prevent the application from using the getdents syscalls.  From the point
		 * of view of the calling process, it is as if the kernel returned ENOTSUP.
		 */
		*result = -ENOTSUP;
		return 0;
	}
	/* Ignore any other syscall: pass it on to the kernel as would normally happen. */
	return 1;
}

static __attribute__((constructor)) void
init(void)
{
	/* Set up the callback function */
	intercept_hook_point = hook;
}
