/*
 * stk_longjmp.c -- signal handlers that longjmp out of syscalls the library is running, and out
 * of a hook, 100 times each; then the library must still give its stack to the program's
 * syscalls and still call the hook.  Cases, in one run:
 *   read     a read() of an empty pipe, interrupted by SIGALRM whose handler (on the thread's
 *            own stack) siglongjmps back before it; under a hook with a post-kernel part the
 *            read waits inside the library, on the library's stack;
 *   altstack the same with the handler on an alternate signal stack (SA_ONSTACK);
 *   hook     syscall 1001, which stk_hook.so answers by waiting in pause() inside the hook:
 *            the handler siglongjmps out of the hook itself (without the hook, the call fails
 *            at once with ENOSYS, which is what is checked then);
 *   ping     after each case, syscall 1000 must be answered by the hook (4242) when
 *            STK_EXPECT_HOOK=1, and fail with ENOSYS otherwise;
 *   small    finally a coroutine on a 2 KiB stack, guarded below, makes file syscalls: the
 *            library must run them on its own stack (none of its stacks left "in use").
 * Every line is deterministic and the same with and without the library; the exit status is 0
 * when all is as expected.  Waits are bounded: a one-shot 2 ms timer ends each wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#define ROUNDS 100
#define STK_NR_PING 1000
#define STK_NR_WAIT 1001
#define STK_PING_ANSWER 4242

static sigjmp_buf env;
static volatile int jumps;
static int expect_hook, failures;

static void
check(const char *what, int ok)
{
	printf("%-64s %s\n", what, ok ? "ok" : "FAILED");
	failures += !ok;
}

static void
on_alarm(int sig)
{
	(void)sig;
	jumps++;
	siglongjmp(env, 1);
}

static void
handler(int onstack)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = onstack ? SA_ONSTACK : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

static void
arm(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 2000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static int
ping_ok(void)
{
	long r = syscall(STK_NR_PING);
	return expect_hook ? r == STK_PING_ANSWER : r == -1 && errno == ENOSYS;
}

/* Waits in read(fd) ROUNDS times, each wait ended by the handler's siglongjmp. */
static int
read_rounds(int fd)
{
	char c;
	jumps = 0;
	for (int i = 0; i < ROUNDS; i++) {
		if (sigsetjmp(env, 1) == 0) {
			arm();
			if (read(fd, &c, 1) >= 0)	/* never: the pipe stays empty */
				return 0;
			return 0;
		}
	}
	return jumps == ROUNDS;
}

static int
hook_rounds(void)
{
	jumps = 0;
	if (!expect_hook) {
		long r = syscall(STK_NR_WAIT);
		return r == -1 && errno == ENOSYS;
	}
	for (int i = 0; i < ROUNDS; i++) {
		if (sigsetjmp(env, 1) == 0) {
			arm();
			syscall(STK_NR_WAIT);
			return 0;	/* the hook returned: no longjmp happened */
		}
	}
	return jumps == ROUNDS;
}

static ucontext_t main_ctx, coro_ctx;
static int coro_ok;
static char path[4096], buf[64];

static void
coroutine(void)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	coro_ok = fd >= 0 && write(fd, "small\n", 6) == 6 && lseek(fd, 0, SEEK_SET) == 0 &&
		  read(fd, buf, sizeof(buf)) == 6 && close(fd) == 0 && unlink(path) == 0;
}

static int
small_stack_round(const char *dir)
{
	long page = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m, page, PROT_NONE) != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/small", dir);
	getcontext(&coro_ctx);
	coro_ctx.uc_stack.ss_sp = m + page;
	coro_ctx.uc_stack.ss_size = 2048;
	coro_ctx.uc_link = &main_ctx;
	makecontext(&coro_ctx, coroutine, 0);
	swapcontext(&main_ctx, &coro_ctx);
	return coro_ok;
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: stk_longjmp <directory>\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *e = getenv("STK_EXPECT_HOOK");
	expect_hook = e && strcmp(e, "1") == 0;
	int p[2];
	if (pipe(p) != 0)
		return 2;

	check("the hook is reached at the start", ping_ok());
	handler(0);
	check("100 siglongjmps out of a waiting read(), handler on the stack", read_rounds(p[0]));
	check("the hook is still reached", ping_ok());

	stack_t ss = { .ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0 };
	sigaltstack(&ss, NULL);
	handler(1);
	check("100 siglongjmps out of a waiting read(), handler on sigaltstack", read_rounds(p[0]));
	check("the hook is still reached", ping_ok());

	handler(0);
	check("100 siglongjmps out of a hook waiting in pause()", hook_rounds());
	check("the hook is still reached", ping_ok());
	handler(1);
	check("100 siglongjmps out of a hook, handler on sigaltstack", hook_rounds());
	check("the hook is still reached", ping_ok());

	check("then a coroutine on a 2 KiB stack makes file syscalls", small_stack_round(argv[1]));
	return failures ? 1 : 0;
}
