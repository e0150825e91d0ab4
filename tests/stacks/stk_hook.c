/*
 * stk_hook.so -- the hook of the small-stack tests.  It passes every syscall on, with a
 * post-kernel hook (so that the library runs each syscall from its dispatcher and a signal
 * arriving meanwhile interrupts the library, not the program), except two numbers no kernel
 * has, which only a hook can answer:
 *   STK_NR_PING (1000)  answered with STK_PING_ANSWER: a program asks whether the hook is
 *                       still reached (it is not after a longjmp out of a hook left the
 *                       library believing the hook still runs);
 *   STK_NR_WAIT (1001)  the hook waits in pause() until a signal comes, whose handler is
 *                       expected to longjmp out of the hook; answered -EINTR if it returns.
 * With STK_BIG=1 in the environment, every call of the hook also uses 64 KiB of its own stack
 * (a volatile array it fills and sums), malloc and free, and formats with vsnprintf, floating
 * point included, and every 256th call prints such a line to /dev/null with dprintf: what a
 * real hook might do, which must fit on the library's stack, whatever the program's stack is.
 * It must never change what a syscall does except for the two numbers above.
 */
#include <libsyscall_intercept_hook_point.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STK_NR_PING 1000
#define STK_NR_WAIT 1001
#define STK_PING_ANSWER 4242
#define BIG 65536

static int big, devnull = -1;
static unsigned long calls;

static void
format(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

/* 64 KiB of stack, the heap and stdio's formatting, from inside a hook. */
static __attribute__((noinline)) void
heavy(long nr)
{
	volatile unsigned char area[BIG];
	unsigned sum = 0;
	for (size_t i = 0; i < BIG; i++)
		area[i] = (unsigned char)(i + nr);
	for (size_t i = 0; i < BIG; i += 64)
		sum += area[i];
	char *p = malloc(256);
	if (p) {
		format(p, 256, "syscall %ld sum %u ratio %.3f", nr, sum, sum / 3.0);
		if (__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED) % 256 == 0 && devnull >= 0)
			dprintf(devnull, "%s %s\n", p, "hook");
		free(p);
	}
}

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5;
	if (big)
		heavy(nr);
	if (nr == STK_NR_PING) {
		*result = STK_PING_ANSWER;
		return 0;
	}
	if (nr == STK_NR_WAIT) {
		pause();	/* the handler of the signal that ends it may longjmp out of here */
		*result = -EINTR;
		return 0;
	}
	return 1;
}

static void
post(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long r)
{
	(void)nr; (void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)r;
}

static __attribute__((constructor)) void
install(void)
{
	const char *b = getenv("STK_BIG");
	big = b && strcmp(b, "1") == 0;
	if (big)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	intercept_hook_point = hook;
	intercept_hook_point_post_kernel = post;
}
