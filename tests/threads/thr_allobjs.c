/*
 * thr_allobjs -- scenarios "ALL_OBJS": threads call libthr_sites_b.so's inline-asm syscalls
 * (write, getppid) in a loop, and one sits blocked in its inline-asm read on a pipe, while the
 * main thread dlopen()s the thr_sites_c<k>.so modules one after the other; as each is loaded
 * the threads start calling into it too.  With INTERCEPT_ALL_OBJS=1 in the environment:
 *   preload  thr_hook.so is preloaded: every object is patched before main, and each module
 *            must be patched by the time its dlopen returns, while threads run elsewhere;
 *   late     the program is not preloaded and dlopen()s thr_hook.so first: the library then
 *            patches this program and libthr_sites_b.so while the threads run and wait in them.
 * After each module's dlopen the main thread checks that the module's syscalls reach the hook;
 * at the end the pipe gets its data (the blocked read must return it intact) and every thread
 * checks that its syscalls through libthr_sites_b.so and every module reach the hook.
 * Exit 0: all well; 1: a check failed; 2: the setup failed.  Every wait is bounded.  It must
 * never call a module before its dlopen returned.
 *
 * usage: thr_allobjs preload|late <thr_hook.so> <module.so>...
 */
#define _GNU_SOURCE
#include "thr_common.h"
#include "thr_sites.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_MODULES 16
#define MAX_WORKERS 32
#define CHUNK 16
static const char data[2 * CHUNK + 1] = "0123456789abcdefFEDCBA9876543210";

#define FAIL(...) (thr_report(__VA_ARGS__), atomic_fetch_add(&failures, 1))

static struct thr_hook hook;
static atomic_int failures, phase;
static _Atomic(thr_c_write_fn *) c_write[MAX_MODULES];
static _Atomic(thr_c_getppid_fn *) c_getppid[MAX_MODULES];
static atomic_int n_loaded;
static int pipefd[2];
static _Atomic pid_t reader_tid;

struct worker {
	pthread_t thread;
	int wfd;
	atomic_long iterations;
	atomic_int modules_called;	/* how many modules it has called into so far */
	char name[32];
};
static struct worker workers[MAX_WORKERS];

/* K write()s to fd through `write`, each of which must reach the hook once. */
static bool
marker(const char *who, const char *where, thr_c_write_fn *write_fn, int fd)
{
	long before = hook.writes(fd);
	for (int i = 0; i < THR_MARKER_CALLS; i++)
		if (write_fn(fd, "m", 1) != 1) {
			FAIL("%s: write through %s failed", who, where);
			return false;
		}
	long seen = hook.writes(fd) - before;
	if (seen != THR_MARKER_CALLS) {
		FAIL("%s: the hook saw %ld of %d write calls made through %s", who, seen,
		     THR_MARKER_CALLS, where);
		return false;
	}
	return true;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	while (!atomic_load_explicit(&phase, memory_order_relaxed)) {
		if (thr_b_write(w->wfd, "x", 1) != 1)
			FAIL("%s: libthr_sites_b.so's write failed", w->name);
		thr_b_getppid();
		int n = atomic_load(&n_loaded);
		for (int j = 0; j < n; j++) {
			if (atomic_load(&c_write[j])(w->wfd, "x", 1) != 1)
				FAIL("%s: module %d's write failed", w->name, j + 1);
			atomic_load(&c_getppid[j])();
		}
		atomic_store(&w->modules_called, n);
		getppid();
		atomic_fetch_add_explicit(&w->iterations, 1, memory_order_relaxed);
	}
	char where[32];
	marker(w->name, "libthr_sites_b.so", thr_b_write, w->wfd);
	for (int j = 0; j < atomic_load(&n_loaded); j++) {
		snprintf(where, sizeof(where), "module %d", j + 1);
		marker(w->name, where, atomic_load(&c_write[j]), w->wfd);
	}
	return NULL;
}

static void
read_chunk(int off)
{
	char buf[CHUNK];
	long n = thr_b_read(pipefd[0], buf, CHUNK);
	if (n != CHUNK)
		FAIL("reader: the %s read returned %ld", off ? "second" : "blocked", n);
	else if (memcmp(buf, data + off, CHUNK) != 0)
		FAIL("reader: the %s read returned the wrong bytes", off ? "second" : "blocked");
}

static void *
reader(void *arg)
{
	(void)arg;
	atomic_store(&reader_tid, thr_gettid());
	read_chunk(0);
	while (!atomic_load(&phase))
		thr_sleep_us(100);
	long before = hook.reads(pipefd[0]);
	read_chunk(CHUNK);
	long seen = hook.reads(pipefd[0]) - before;
	if (seen != 1)
		FAIL("reader: the hook saw %ld read calls for the second read, expected 1", seen);
	return NULL;
}

int
main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "preload") && strcmp(argv[1], "late"))) {
		fprintf(stderr, "usage: thr_allobjs preload|late <thr_hook.so> <module.so>...\n");
		return 2;
	}
	bool late = strcmp(argv[1], "late") == 0;
	thr_scenario = late ? "threads_allobjs_late_hook" : "threads_allobjs_dlopen";
	const char *all = getenv("INTERCEPT_ALL_OBJS");
	if (!all || strcmp(all, "1") != 0) {
		thr_report("run with INTERCEPT_ALL_OBJS=1");
		return 2;
	}
	int n_modules = argc - 3;
	const char *env = getenv("THR_THREADS");
	int n_workers = env ? atoi(env) : 4;
	if (n_modules > MAX_MODULES || n_workers < 1 || n_workers > MAX_WORKERS) {
		thr_report("too many modules or a bad THR_THREADS");
		return 2;
	}
	bool preloaded = dlsym(RTLD_DEFAULT, "intercept_hook_point") != NULL;
	if (preloaded == late) {
		thr_report(late ? "the library is already loaded: run without LD_PRELOAD"
				: "thr_hook.so is not preloaded");
		return 2;
	}
	if (!late && !thr_hook_lookup(RTLD_DEFAULT, &hook)) {
		thr_report("thr_hook's counters not found");
		return 2;
	}
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return 2;
	pthread_t rt;
	if (pthread_create(&rt, NULL, reader, NULL) != 0)
		return 2;
	for (int i = 0; i < n_workers; i++) {
		struct worker *w = &workers[i];
		snprintf(w->name, sizeof(w->name), "worker %d", i);
		w->wfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (w->wfd < 0 || pthread_create(&w->thread, NULL, work, w) != 0)
			return 2;
	}
	int mfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (mfd < 0)
		return 2;
	long deadline = thr_now_ms() + 10000;
	while (!atomic_load(&reader_tid))
		thr_sleep_us(100);
	const long nr_read = SYS_read;
	if (!thr_wait_in_syscall(getpid(), atomic_load(&reader_tid), &nr_read, 1)) {
		thr_report("the reader is not blocked in read after 10 s");
		return 2;
	}
	for (int i = 0; i < n_workers; i++)
		while (atomic_load(&workers[i].iterations) < 10) {
			if (thr_now_ms() > deadline) {
				thr_report("worker %d did not start", i);
				return 2;
			}
			thr_sleep_us(100);
		}

	if (late) {
		void *h = dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL);
		if (!h) {
			thr_report("dlopen(%s): %s", argv[2], dlerror());
			return 2;
		}
		if (!thr_hook_lookup(h, &hook)) {
			thr_report("%s has no thr_hook counters", argv[2]);
			return 2;
		}
		if (!marker("main", "libthr_sites_b.so", thr_b_write, mfd))
			return 1;
	}
	for (int k = 0; k < n_modules; k++) {
		const char *path = argv[3 + k];
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			thr_report("dlopen(%s): %s", path, dlerror());
			return 2;
		}
		thr_c_write_fn *wr = (thr_c_write_fn *)dlsym(h, "thr_c_write");
		thr_c_getppid_fn *gp = (thr_c_getppid_fn *)dlsym(h, "thr_c_getppid");
		thr_c_id_fn *id = (thr_c_id_fn *)dlsym(h, "thr_c_id");
		if (!wr || !gp || !id || id() != k + 1) {
			thr_report("%s is not module %d", path, k + 1);
			return 2;
		}
		char where[32];
		snprintf(where, sizeof(where), "module %d", k + 1);
		/* Right after dlopen returned, before any other thread has called into it. */
		if (!marker("main", where, wr, mfd))
			return 1;
		atomic_store(&c_write[k], wr);
		atomic_store(&c_getppid[k], gp);
		atomic_store(&n_loaded, k + 1);
		/* Every thread runs in the modules so far while the next one is loaded. */
		deadline = thr_now_ms() + 10000;
		for (int i = 0; i < n_workers; i++)
			while (atomic_load(&workers[i].modules_called) < k + 1) {
				if (thr_now_ms() > deadline) {
					thr_report("worker %d never called module %d", i, k + 1);
					return 1;
				}
				thr_sleep_us(100);
			}
	}

	if (write(pipefd[1], data, 2 * CHUNK) != 2 * CHUNK)
		return 2;
	atomic_store(&phase, 1);
	pthread_join(rt, NULL);
	for (int i = 0; i < n_workers; i++)
		pthread_join(workers[i].thread, NULL);
	if (atomic_load(&failures))
		return 1;
	printf("%s: threads in libthr_sites_b.so and %d modules survived; every site reaches the "
	       "hook\n", thr_scenario, n_modules);
	return 0;
}
