/*
 * dbg_backtrace.c -- takes backtrace() inside a SIGALRM handler that interrupted a blocking
 * system call (read on an empty pipe, or nanosleep) made by blocked_in_read() or
 * blocked_in_nanosleep(), which main() calls.  A watcher thread waits until
 * /proc/self/task/<tid>/syscall shows the main thread blocked in that very call, then sends the
 * signal.  The program checks that the symbolized stack (linked with -rdynamic) holds the
 * calling function, then main, and that the frames after main are exactly the ones a backtrace
 * taken in main itself shows (__libc_start_call_main, __libc_start_main, _start), and prints
 * "frames <n>" so the driver script can compare n with a native run.  "vfork": 300 times,
 * in_vfork() vforks a child that exits at once; the SIGCHLD handler (often run right at the
 * return of the intercepted vfork) takes the backtrace, which must end in main and the same
 * start-up frames, whatever it interrupted.  It must never pass
 * without having seen the interrupted call return EINTR from the handled signal, and never
 * sleep a fixed time instead of checking the blocked state.
 *
 * usage: dbg_backtrace read|nanosleep|vfork
 * exit: 0 all checks passed, 1 a check failed, 2 usage or setup error
 */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAMES 128
#define WAIT_MS 30000

static void *handler_frames[MAX_FRAMES];
static volatile sig_atomic_t handler_count = -1;
static pid_t main_tid;
static long want_nr[2];		/* the syscall numbers that count as "blocked" */
static long want_arg0 = -1;	/* and its first argument, when it is known (-1: any) */
static volatile int call_result, call_errno;

static void
on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	handler_count = backtrace(handler_frames, MAX_FRAMES);
	errno = saved;
}

/* Reads /proc/self/task/<tid>/syscall: true when it shows a wanted syscall in progress. */
static int
blocked_now(void)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)main_tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *end;
	long nr = strtol(buf, &end, 10);
	if (end == buf || (nr != want_nr[0] && nr != want_nr[1]))
		return 0;
	if (want_arg0 < 0)
		return 1;
	return strtol(end, NULL, 16) == want_arg0;
}

static void *
watcher(void *unused)
{
	(void)unused;
	for (int ms = 0; ms < WAIT_MS; ms++) {
		if (blocked_now()) {
			syscall(SYS_tgkill, getpid(), main_tid, SIGALRM);
			return NULL;
		}
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, NULL);
	}
	fprintf(stderr, "FAIL: the main thread never showed as blocked in syscall %ld\n",
		want_nr[0]);
	_exit(1);
}

__attribute__((noinline)) void
blocked_in_read(int fd)
{
	char c;
	call_result = (int)read(fd, &c, 1);
	call_errno = errno;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void
blocked_in_nanosleep(void)
{
	struct timespec t = { 600, 0 }, rem;
	call_result = nanosleep(&t, &rem);
	call_errno = errno;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) pid_t
in_vfork(void)
{
	pid_t pid = vfork();
	if (pid == 0)
		_exit(0);
	__asm__ volatile("" ::: "memory");
	return pid;
}

/* Index of the last frame whose symbol is "(<name>+", or -1. */
static int
find_frame(char **syms, int n, const char *name)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "(%s+", name);
	int at = -1;
	for (int i = 0; i < n; i++)
		if (strstr(syms[i], pat))
			at = i;
	return at;
}

/* The frames after main's (at_main) equal those after main in main's own backtrace. */
static int
same_tail(int n, int at_main, void **ref, int ref_n, int ref_main)
{
	int tail = n - at_main - 1, ref_tail = ref_n - ref_main - 1;
	int same = tail == ref_tail;
	for (int i = 1; same && i <= tail; i++)
		same = handler_frames[at_main + i] == ref[ref_main + i];
	return same;
}

static int
vfork_rounds(void **ref, int ref_n, int ref_main)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL))
		return 2;
	int failed = 0;
	for (int r = 0; r < 300; r++) {
		handler_count = -1;
		pid_t pid = in_vfork();
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			return 2;
		int n = handler_count;
		if (n <= 0) {
			fprintf(stderr, "FAIL: round %d: no SIGCHLD handled before waitpid returned\n",
				r);
			return 1;
		}
		char **syms = backtrace_symbols(handler_frames, n);
		if (!syms)
			return 2;
		int at_main = find_frame(syms, n, "main");
		if (at_main < 0 || !same_tail(n, at_main, ref, ref_n, ref_main)) {
			if (failed++ < 5) {
				fprintf(stderr, "FAIL: round %d: the SIGCHLD handler's backtrace does "
					"not end in main and the start-up frames:\n", r);
				for (int i = 0; i < n; i++)
					fprintf(stderr, "  #%d %s\n", i, syms[i]);
			}
		}
		free(syms);
	}
	if (failed) {
		fprintf(stderr, "FAIL: %d of 300 backtraces broken\n", failed);
		return 1;
	}
	printf("ok\n");
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "read") && strcmp(argv[1], "nanosleep") &&
			  strcmp(argv[1], "vfork"))) {
		fprintf(stderr, "usage: %s read|nanosleep|vfork\n", argv[0]);
		return 2;
	}
	const int is_read = strcmp(argv[1], "read") == 0;
	const char *caller = is_read ? "blocked_in_read" : "blocked_in_nanosleep";

	/* The reference: the frames after main as seen from main itself.  The first call also
	 * loads libgcc_s, which backtrace() must not do inside the handler. */
	void *ref[MAX_FRAMES];
	int ref_n = backtrace(ref, MAX_FRAMES);
	char **ref_syms = backtrace_symbols(ref, ref_n);
	if (!ref_syms)
		return 2;
	int ref_main = find_frame(ref_syms, ref_n, "main");
	if (ref_main < 0) {
		fprintf(stderr, "FAIL: backtrace() in main does not show main (built with -rdynamic?)\n");
		return 2;
	}
	if (strcmp(argv[1], "vfork") == 0)
		return vfork_rounds(ref, ref_n, ref_main);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: the call must return EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL))
		return 2;

	int p[2] = { -1, -1 };
	main_tid = (pid_t)syscall(SYS_gettid);
	if (is_read) {
		if (pipe(p))
			return 2;
		want_nr[0] = want_nr[1] = SYS_read;
		want_arg0 = p[0];
	} else {
		want_nr[0] = SYS_clock_nanosleep;
		want_nr[1] = SYS_nanosleep;
	}
	pthread_t w;
	if (pthread_create(&w, NULL, watcher, NULL))
		return 2;
	if (is_read)
		blocked_in_read(p[0]);
	else
		blocked_in_nanosleep();
	pthread_join(w, NULL);

	int ok = 1;
	if (call_result != -1 || call_errno != EINTR) {
		fprintf(stderr, "FAIL: %s: the call returned %d (errno %d), not -1 EINTR\n", caller,
			call_result, call_errno);
		ok = 0;
	}
	int n = handler_count;
	if (n <= 0) {
		fprintf(stderr, "FAIL: the handler did not run or backtrace() returned %d\n", n);
		return 1;
	}
	char **syms = backtrace_symbols(handler_frames, n);
	if (!syms)
		return 2;
	fprintf(stderr, "backtrace from the handler (%d frames):\n", n);
	for (int i = 0; i < n; i++)
		fprintf(stderr, "  #%d %s\n", i, syms[i]);

	int at_caller = find_frame(syms, n, caller);
	int at_main = find_frame(syms, n, "main");
	if (at_caller < 0) {
		fprintf(stderr, "FAIL: no frame of the caller %s\n", caller);
		ok = 0;
	}
	if (at_main < 0) {
		fprintf(stderr, "FAIL: no frame of main\n");
		ok = 0;
	} else if (at_caller >= 0 && at_caller > at_main) {
		fprintf(stderr, "FAIL: %s (#%d) is not below main (#%d)\n", caller, at_caller,
			at_main);
		ok = 0;
	}
	if (at_main >= 0) {
		/* After main: exactly the start-up frames main's own backtrace shows. */
		if (!same_tail(n, at_main, ref, ref_n, ref_main)) {
			fprintf(stderr, "FAIL: the frames after main differ from main's own:\n");
			for (int i = ref_main + 1; i < ref_n; i++)
				fprintf(stderr, "  expected %s\n", ref_syms[i]);
			ok = 0;
		}
		if (find_frame(syms, n, "__libc_start_main") <= at_main ||
		    find_frame(syms, n, "_start") != n - 1) {
			fprintf(stderr, "FAIL: the stack does not end in __libc_start_main, _start\n");
			ok = 0;
		}
	}
	printf("frames %d\n", n);
	free(syms);
	free(ref_syms);
	if (ok)
		printf("ok\n");
	return ok ? 0 : 1;
}
