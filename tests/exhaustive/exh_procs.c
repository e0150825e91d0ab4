/*
 * exh_procs.c -- threads and processes whose syscalls come from generated code, for the
 * exhaustive mode (the safety net must follow every new thread and child).  Modes:
 *   threads T N     T pthreads, each N generated-code getppid
 *   fork N M        fork (libc); the child makes N generated-code getppid and exits, the parent
 *                   then makes M
 *   jitfork N M     the same, but fork(2) itself is issued from generated code
 *   vfork N         vfork (libc), exec of this program as "jitchild N"
 *   spawn N         posix_spawn of this program as "jitchild N"
 *   jitchild N      N generated-code getppid
 *   jitclone N      a raw thread made by clone(2) from generated code makes N generated-code
 *                   getppid (exh_jit.h); jitclone3: the same with clone3(2)
 * Children's pids go to stderr as "child <pid>" (so per-process counts can be found); stdout is
 * the same natively and under the library.  Exits 0 only if every result was right.  It must
 * never print anything run-dependent on stdout.
 */
#define _GNU_SOURCE
#include "exh_jit.h"

#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static long (*jit_getppid)(void);
static long calls_each;
static char *self;

/* n generated-code getppid; returns how many gave a result other than want */
static long
jit_calls(long n, long want)
{
	long bad = 0;
	for (long i = 0; i < n; i++)
		if (jit_getppid() != want)
			bad++;
	return bad;
}

static void *
thread_main(void *arg)
{
	long want = (long)arg;
	return (void *)jit_calls(calls_each, want);
}

static int
mode_threads(int t, long n)
{
	pthread_t th[64];
	long want = getppid(), bad = 0;
	calls_each = n;
	if (t > 64)
		t = 64;
	for (int i = 0; i < t; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)want) != 0) {
			printf("pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < t; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad += (long)r;
	}
	printf("%d threads x %ld generated-code getppid: %s\n", t, n, bad ? "WRONG RESULTS" : "ok");
	return bad != 0;
}

static int
wait_child(pid_t pid, const char *what)
{
	int st;
	if (waitpid(pid, &st, 0) != pid) {
		printf("%s: waitpid failed\n", what);
		return 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("%s: child ended with status %#x\n", what, st);
		return 1;
	}
	printf("%s: child exited 0\n", what);
	return 0;
}

static int
mode_fork(long n, long m, int from_jit)
{
	long parent = getpid(), grandparent = getppid();
	pid_t pid;
	if (from_jit)
		pid = (pid_t)exh_jit_syscall()(SYS_fork, 0, 0, 0, 0, 0, 0);
	else
		pid = fork();
	if (pid < 0) {
		printf("fork failed\n");
		return 1;
	}
	if (pid == 0) {
		long bad = jit_calls(n, parent);
		printf("child: %ld generated-code getppid: %s\n", n, bad ? "WRONG RESULTS" : "ok");
		exit(bad != 0);		/* exit, not _exit: hook destructors run */
	}
	fprintf(stderr, "child %d\n", (int)pid);
	int fail = wait_child(pid, from_jit ? "generated-code fork" : "fork");
	long bad = jit_calls(m, grandparent);
	printf("parent: %ld generated-code getppid: %s\n", m, bad ? "WRONG RESULTS" : "ok");
	return fail || bad;
}

static int
mode_jitchild(long n)
{
	long bad = jit_calls(n, getppid());
	printf("exec'd child: %ld generated-code getppid: %s\n", n, bad ? "WRONG RESULTS" : "ok");
	return bad != 0;
}

static int
mode_vfork(const char *n)
{
	char *argv[] = { self, "jitchild", (char *)n, NULL };
	pid_t pid = vfork();
	if (pid == 0) {
		execve(self, argv, environ);
		_exit(127);
	}
	if (pid < 0) {
		printf("vfork failed\n");
		return 1;
	}
	fprintf(stderr, "child %d\n", (int)pid);
	int fail = wait_child(pid, "vfork+execve");
	long bad = jit_calls(100, getppid());
	printf("parent after vfork: 100 generated-code getppid: %s\n", bad ? "WRONG RESULTS" : "ok");
	return fail || bad;
}

static int
mode_spawn(const char *n)
{
	char *argv[] = { self, "jitchild", (char *)n, NULL };
	pid_t pid;
	int e = posix_spawn(&pid, self, NULL, NULL, argv, environ);
	if (e != 0) {
		printf("posix_spawn failed: %s\n", strerror(e));
		return 1;
	}
	fprintf(stderr, "child %d\n", (int)pid);
	int fail = wait_child(pid, "posix_spawn");
	long bad = jit_calls(100, getppid());
	printf("parent after posix_spawn: 100 generated-code getppid: %s\n",
	       bad ? "WRONG RESULTS" : "ok");
	return fail || bad;
}

/* The raw thread: no libc (it shares the parent's TLS), only generated code. */
static long clone_want;
static atomic_int clone_done;
static long
raw_thread(void *arg)
{
	long bad = jit_calls((long)arg, clone_want);
	atomic_store(&clone_done, 1);
	return bad;
}

static int
mode_jitclone(long n, int v3)
{
	size_t size = 1 << 20;
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stack == MAP_FAILED)
		return 1;
	static _Atomic int tid_word;
	static long result = -1;
	exh_clone_fn clone_fn = v3 ? exh_jit_clone3() : exh_jit_clone();
	clone_want = getppid();
	long tid = clone_fn(raw_thread, (void *)n, stack + size, (int *)&tid_word, &result);
	if (tid <= 0) {
		printf("generated-code clone%s failed: %ld\n", v3 ? "3" : "", tid);
		return 1;
	}
	/*
	 * Spin, making no syscall: the thread shares this thread's TLS, so nothing here may run
	 * library code at the same time.  CLONE_CHILD_CLEARTID zeroes tid_word once it is gone.
	 */
	while (!atomic_load(&clone_done) || atomic_load(&tid_word) != 0)
		__builtin_ia32_pause();
	printf("raw thread from generated-code clone%s: %ld generated-code getppid: %s\n",
	       v3 ? "3" : "", n, result == 0 ? "ok" : "WRONG RESULTS");
	long bad = jit_calls(100, clone_want);
	printf("after it: 100 generated-code getppid: %s\n", bad ? "WRONG RESULTS" : "ok");
	munmap(stack, size);
	return result != 0 || bad;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	self = argv[0];
	jit_getppid = exh_jit_getppid();
	if (argc == 4 && strcmp(argv[1], "threads") == 0)
		return mode_threads(atoi(argv[2]), atol(argv[3]));
	if (argc == 4 && strcmp(argv[1], "fork") == 0)
		return mode_fork(atol(argv[2]), atol(argv[3]), 0);
	if (argc == 4 && strcmp(argv[1], "jitfork") == 0)
		return mode_fork(atol(argv[2]), atol(argv[3]), 1);
	if (argc == 3 && strcmp(argv[1], "vfork") == 0)
		return mode_vfork(argv[2]);
	if (argc == 3 && strcmp(argv[1], "spawn") == 0)
		return mode_spawn(argv[2]);
	if (argc == 3 && strcmp(argv[1], "jitchild") == 0)
		return mode_jitchild(atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "jitclone") == 0)
		return mode_jitclone(atol(argv[2]), 0);
	if (argc == 3 && strcmp(argv[1], "jitclone3") == 0)
		return mode_jitclone(atol(argv[2]), 1);
	fprintf(stderr, "usage: exh_procs threads T N | fork N M | jitfork N M | vfork N | "
		"spawn N | jitchild N | jitclone N | jitclone3 N\n");
	return 2;
}
