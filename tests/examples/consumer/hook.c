/*
 * hook.c -- the consumer project's hook library: mkdir and mkdirat fail with EROFS, as on a
 * read-only file system; everything else runs as usual.  Built against an install by CMake
 * (find_package) and by pkg-config in install_consumer.sh.  It must never touch any other
 * syscall.
 */
#include <errno.h>
#include <libsyscall_intercept_hook_point.h>
#include <sys/syscall.h>

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5;
	if (nr == SYS_mkdir || nr == SYS_mkdirat) {
		*result = -EROFS;
		return 0;
	}
	return 1;
}

static __attribute__((constructor)) void
init(void)
{
	intercept_hook_point = hook;
}
