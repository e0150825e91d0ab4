/*
 * proc_thread_hooks.c -- creates threads and processes in every way (pthread_create, which uses
 * clone3; a thread started by a thread; clone() with a new stack, with and without CLONE_VM;
 * fork; vfork; posix_spawn) and, when proc_hook.so is loaded, checks what it recorded: the clone
 * child hook ran exactly once in every new thread and in every child process, before the
 * thread's own code, on that thread; the clone parent hook ran exactly once per child, on the
 * creating thread, with the child's id as pthread/fork/vfork/clone report it; no syscall made
 * inside a hook re-entered the hook.  The fork child also reports its tid through a pipe written
 * by the hook with syscall_no_intercept.  Without proc_hook.so it checks only what the program
 * itself sees and prints "hook: not loaded".  It must never print pids or tids (they differ
 * between runs) and never let a record of one case satisfy the check of another.
 *
 * usage: proc_thread_hooks             run all cases
 *        proc_thread_hooks --exit N    exit with status N (the program posix_spawn starts)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "proc_hook.h"

extern char **environ;

#define N_THREADS 8

static proc_hook_records_fn *hook_records;
static proc_hook_reentries_fn *hook_reentries;
static proc_hook_set_marker_fd_fn *hook_set_marker_fd;
static int failures;

static void
check(const char *what, int ok)
{
	printf("%-58s %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
	fflush(stdout);
}

/* How many complete records of `kind` have tid (CHILD) or id (PARENT) == key. */
static int
count_records(long kind, long key, const struct proc_hook_record **found)
{
	const struct proc_hook_record *r;
	long n = hook_records(&r);
	int c = 0;
	for (long i = 0; i < n; i++) {
		if (__atomic_load_n(&r[i].kind, __ATOMIC_ACQUIRE) != kind)
			continue;
		if ((kind == PROC_HOOK_CHILD ? r[i].tid : r[i].id) == key) {
			c++;
			if (found)
				*found = &r[i];
		}
	}
	return c;
}

static int
count_kind(long kind)
{
	const struct proc_hook_record *r;
	long n = hook_records(&r);
	int c = 0;
	for (long i = 0; i < n; i++)
		if (__atomic_load_n(&r[i].kind, __ATOMIC_ACQUIRE) == kind)
			c++;
	return c;
}

/*
 * Checks the records for one child: the child hook ran once, on the child (tid `child`, in
 * process `child_pid`), and the parent hook once, on thread `creator`, with id `child`.
 * `child_in_memory` is 0 when the child's record lives in another address space (fork).
 */
static int
child_recorded(long child, long child_pid, long creator, int child_in_memory)
{
	const struct proc_hook_record *c = NULL, *p = NULL;
	int ok = 1;
	if (child_in_memory)
		ok &= count_records(PROC_HOOK_CHILD, child, &c) == 1 && c->pid == child_pid;
	ok &= count_records(PROC_HOOK_PARENT, child, &p) == 1 && p->tid == creator &&
	      p->pid == getpid();
	return ok;
}

/* ---- threads */

struct thread_info {
	pthread_t thread;
	long tid, creator;
	int hook_ran_first;	/* the child hook's record existed when the thread's code began */
	struct thread_info *nested;
};

static void *
thread_main(void *arg)
{
	struct thread_info *t = arg;
	t->tid = gettid();
	if (hook_records)
		t->hook_ran_first = count_records(PROC_HOOK_CHILD, t->tid, NULL) == 1;
	if (t->nested) {
		t->nested->creator = t->tid;
		if (pthread_create(&t->nested->thread, NULL, thread_main, t->nested) ||
		    pthread_join(t->nested->thread, NULL))
			t->nested->tid = -1;
	}
	return NULL;
}

static struct thread_info threads[N_THREADS + 1];

static void
test_threads(void)
{
	long me = gettid();
	int ok = 1;
	threads[0].nested = &threads[N_THREADS];
	for (int i = 0; i < N_THREADS; i++) {
		threads[i].creator = me;
		if (pthread_create(&threads[i].thread, NULL, thread_main, &threads[i]))
			ok = 0;
	}
	for (int i = 0; i < N_THREADS; i++)
		if (ok && pthread_join(threads[i].thread, NULL))
			ok = 0;
	for (int i = 0; i <= N_THREADS; i++) {
		if (threads[i].tid <= 0 || threads[i].tid == me)
			ok = 0;
		for (int j = 0; j < i; j++)
			if (threads[i].tid == threads[j].tid)
				ok = 0;
	}
	check("pthread_create: 8 threads and 1 nested, distinct tids", ok);
	if (!hook_records)
		return;
	int first = 1, rec = 1;
	for (int i = 0; i <= N_THREADS; i++) {
		first &= threads[i].hook_ran_first;
		rec &= child_recorded(threads[i].tid, getpid(), threads[i].creator, 1);
	}
	check("hook: child hook ran in each thread before its code", first);
	check("hook: child/parent hooks once per thread, right tids", rec);
}

/* ---- clone() with a new stack */

static long *shared;	/* MAP_SHARED: [0] child's gettid, [1] child's own check */

static int
clone_child_fn(void *arg)
{
	(void)arg;
	shared[0] = gettid();
	if (hook_records)
		shared[1] = count_records(PROC_HOOK_CHILD, shared[0], NULL) == 1;
	return 21;
}

static void
test_clone(int flags, const char *what, const char *hook_what)
{
	size_t size = 256 * 1024;
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	shared[0] = shared[1] = 0;
	pid_t pid = stack == MAP_FAILED ? -1 : clone(clone_child_fn, stack + size, flags | SIGCHLD, NULL);
	int status = 0;
	int ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		 WEXITSTATUS(status) == 21 && shared[0] == pid;
	check(what, ok);
	if (hook_records && pid > 0) {
		int in_memory = (flags & CLONE_VM) != 0;
		check(hook_what, shared[1] == 1 && child_recorded(pid, pid, gettid(), in_memory));
	}
	if (stack != MAP_FAILED)
		munmap(stack, size);
}

/* ---- fork, vfork, posix_spawn */

static void
test_fork(void)
{
	int fds[2];
	if (pipe(fds)) {
		check("fork: pipe", 0);
		return;
	}
	if (hook_set_marker_fd)
		hook_set_marker_fd(fds[1]);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int ok = 1;
		if (hook_records)
			ok = count_records(PROC_HOOK_CHILD, getpid(), NULL) == 1;
		_exit(ok ? 0 : 1);
	}
	if (hook_set_marker_fd)
		hook_set_marker_fd(-1);
	close(fds[1]);
	int status = 0;
	int ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status);
	check("fork: child exits", ok);
	if (hook_records) {
		check("hook: fork child found its child-hook record",
		      ok && WEXITSTATUS(status) == 0);
		long marker = 0, extra;
		int got = (int)read(fds[0], &marker, sizeof(marker)) == (int)sizeof(marker);
		int more = (int)read(fds[0], &extra, sizeof(extra));
		check("hook: fork child hook wrote its tid to the marker pipe",
		      got && marker == pid && more == 0);
		check("hook: fork parent hook once with the child's pid",
		      pid > 0 && child_recorded(pid, pid, gettid(), 0));
	}
	close(fds[0]);
}

static volatile long vfork_seen;

static void
test_vfork(void)
{
	vfork_seen = 0;
	pid_t pid = vfork();
	if (pid == 0) {
		vfork_seen = getpid();
		_exit(0);
	}
	int status = 0;
	int ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		 WEXITSTATUS(status) == 0 && vfork_seen == pid;
	check("vfork: child exits, its write is seen", ok);
	if (hook_records)
		check("hook: vfork child/parent hooks once, right ids",
		      pid > 0 && child_recorded(pid, pid, gettid(), 1));
}

static void
test_spawn(const char *self)
{
	pid_t pid = -1;
	char *argv[] = { (char *)self, "--exit", "0", NULL };
	int e = posix_spawn(&pid, self, NULL, NULL, argv, environ);
	int status = 0;
	int ok = e == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		 WEXITSTATUS(status) == 0;
	check("posix_spawn: child exits", ok);
	if (hook_records)
		check("hook: posix_spawn child/parent hooks once, right ids",
		      e == 0 && child_recorded(pid, pid, gettid(), 1));
}

int
main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--exit"))
		return atoi(argv[2]);
	static char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	fprintf(stderr, "pid %d\n", (int)getpid());	/* for the script: the count file's name */
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 2;

	hook_records = (proc_hook_records_fn *)dlsym(RTLD_DEFAULT, "proc_hook_records");
	hook_reentries = (proc_hook_reentries_fn *)dlsym(RTLD_DEFAULT, "proc_hook_reentries");
	hook_set_marker_fd =
		(proc_hook_set_marker_fd_fn *)dlsym(RTLD_DEFAULT, "proc_hook_set_marker_fd");
	if (!hook_records || !hook_reentries || !hook_set_marker_fd) {
		hook_records = NULL;
		hook_reentries = NULL;
		hook_set_marker_fd = NULL;
		printf("hook: not loaded\n");
	}

	test_threads();
	test_clone(0, "clone with new stack: child exits", "hook: clone child/parent hooks once, right ids");
	test_clone(CLONE_VM | CLONE_VFORK, "clone CLONE_VM|CLONE_VFORK: child exits",
		   "hook: clone(VM|VFORK) child/parent hooks once, right ids");
	test_fork();
	test_vfork();
	test_spawn(self);
	if (hook_records) {
		/* 9 threads + clone(VM|VFORK) + vfork + posix_spawn ran in this address space. */
		int children = count_kind(PROC_HOOK_CHILD), parents = count_kind(PROC_HOOK_PARENT);
		check("hook: 12 child-hook records here, no others", children == 12);
		check("hook: 14 parent-hook records, no others", parents == 14);
		check("hook: no syscall of a hook re-entered the hook", hook_reentries() == 0);
		if (children != 12 || parents != 14)
			fprintf(stderr, "child records %d, parent records %d\n", children, parents);
	}
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
