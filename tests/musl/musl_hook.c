/*
 * musl_hook.so -- the hook of the musl test, built with musl-gcc against our public header.  It
 * answers getppid itself (4242) to show that a hook can take a syscall over inside a musl
 * process, counts every other syscall it sees and how often the clone child hook ran, and at
 * exit writes "hook: <total> syscalls, <n> writes, <c> clone children" to fd 2 with
 * syscall_no_intercept.  It must never call into musl from the hook (no stdio, no malloc).
 */
#include <libsyscall_intercept_hook_point.h>
#include <stdatomic.h>
#include <sys/syscall.h>

static atomic_long total, writes, children;

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5;
	atomic_fetch_add(&total, 1);
	if (nr == SYS_write || nr == SYS_writev)
		atomic_fetch_add(&writes, 1);
	if (nr == SYS_getppid) {
		*result = 4242;
		return 0;
	}
	return 1;
}

static void on_child(void) { atomic_fetch_add(&children, 1); }

static char *
put(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *
num(char *p, long v)
{
	char t[24];
	int n = 0;
	do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

static __attribute__((destructor)) void
report(void)
{
	char buf[128], *p = buf;
	p = put(p, "hook: ");
	p = num(p, atomic_load(&total));
	p = put(p, " syscalls, ");
	p = num(p, atomic_load(&writes));
	p = put(p, " writes, ");
	p = num(p, atomic_load(&children));
	p = put(p, " clone children\n");
	syscall_no_intercept(SYS_write, 2, buf, p - buf);
}

static __attribute__((constructor)) void
install(void)
{
	intercept_hook_point = hook;
	intercept_hook_point_clone_child = on_child;
}
