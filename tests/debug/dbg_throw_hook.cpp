/*
 * dbg_throw_hook.cpp -- a hook that breaks the rules on purpose: the first getppid it sees
 * throws a C++ exception out of the hook; later ones are answered with 777.  Used to show that
 * the library reports the escape and keeps the hooks working.  Never use this as an example.
 */
#include <libsyscall_intercept_hook_point.h>
#include <stdexcept>
#include <sys/syscall.h>

static int seen;

static int
hook(long nr, long, long, long, long, long, long, long *result)
{
	if (nr != SYS_getppid)
		return 1;
	if (++seen == 1)
		throw std::runtime_error("thrown from a hook");
	*result = 777;
	return 0;
}

static struct install {
	install() { intercept_hook_point = hook; }
} installer;
