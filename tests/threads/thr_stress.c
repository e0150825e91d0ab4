/*
 * thr_stress -- scenario "stress": N threads (default 8) hammer a mix of libc syscall wrappers
 * -- getppid, write/read through a pipe of their own, poll with a 1 ms timeout, nanosleep of
 * 1 us, futex through a shared mutex and condition variable (with 1 ms timed waits), openat and
 * close of /dev/null, fstat, lseek, sched_yield -- while the main thread, with
 * INTERCEPT_ALL_OBJS=1 in the environment from the start, dlopen()s thr_hook.so (the library
 * patches every loaded object under the threads and starts watching later loads) and then the
 * given modules, each of which must be patched by the time its dlopen returns.  Then all meet
 * at a barrier, and every thread proves that its syscalls through libc and through every module
 * reach the hook.  Exit 0: all well; 1: a check failed; 2: the setup failed.  Every wait is
 * bounded.  It must never let a thread stop making syscalls before the last dlopen returned.
 *
 * usage: thr_stress <thr_hook.so> [<module.so>...]   (THR_THREADS: number of threads)
 */
#define _GNU_SOURCE
#include "thr_common.h"
#include "thr_sites.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_MODULES 16
#define MAX_WORKERS 64

#define FAIL(...) (thr_report(__VA_ARGS__), atomic_fetch_add(&failures, 1))

static struct thr_hook hook;
static atomic_int failures, stop;
static thr_c_write_fn *c_write[MAX_MODULES];
static int n_modules;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long shared;
static pthread_barrier_t barrier;

struct worker {
	pthread_t thread;
	int pipefd[2], wfd, rfd;
	atomic_long iterations;
	char name[32];
};
static struct worker workers[MAX_WORKERS];

static void
one_round(struct worker *w, long i)
{
	char c = 'x';
	struct stat st;
	getppid();
	if (write(w->pipefd[1], &c, 1) != 1 || read(w->pipefd[0], &c, 1) != 1 || c != 'x')
		FAIL("%s: the pipe round trip failed: %s", w->name, strerror(errno));
	if (fstat(w->rfd, &st) != 0 || lseek(w->rfd, 0, SEEK_SET) != 0)
		FAIL("%s: fstat/lseek failed: %s", w->name, strerror(errno));
	pthread_mutex_lock(&mutex);
	shared++;
	if (i % 8 == 7) {
		/* Other threads broadcast all the time: a timed wait ends well within 1 ms. */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		int r = pthread_cond_timedwait(&cond, &mutex, &until);
		if (r != 0 && r != ETIMEDOUT)
			FAIL("%s: pthread_cond_timedwait: %s", w->name, strerror(r));
	} else {
		pthread_cond_broadcast(&cond);
	}
	pthread_mutex_unlock(&mutex);
	switch (i % 4) {
	case 0: {
		struct pollfd p = { .fd = w->pipefd[0], .events = POLLIN };
		if (poll(&p, 1, 1) != 0)
			FAIL("%s: poll of an empty pipe did not time out", w->name);
		break;
	}
	case 1: {
		const struct timespec us = { 0, 1000 };
		nanosleep(&us, NULL);
		break;
	}
	case 2: {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || close(fd) != 0)
			FAIL("%s: open/close of /dev/null failed: %s", w->name, strerror(errno));
		break;
	}
	default:
		sched_yield();
		break;
	}
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	for (long i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
		one_round(w, i);
		atomic_fetch_add_explicit(&w->iterations, 1, memory_order_relaxed);
	}
	pthread_barrier_wait(&barrier);
	if (!thr_marker(&hook, w->name, w->wfd, w->rfd))
		atomic_fetch_add(&failures, 1);
	for (int k = 0; k < n_modules; k++) {
		long before = hook.writes(w->wfd);
		for (int j = 0; j < THR_MARKER_CALLS; j++)
			c_write[k](w->wfd, "m", 1);
		long seen = hook.writes(w->wfd) - before;
		if (seen != THR_MARKER_CALLS)
			FAIL("%s: the hook saw %ld of %d write calls through module %d", w->name,
			     seen, THR_MARKER_CALLS, k + 1);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	thr_scenario = "threads_stress";
	if (argc < 2) {
		fprintf(stderr, "usage: thr_stress <thr_hook.so> [<module.so>...]\n");
		return 2;
	}
	const char *all = getenv("INTERCEPT_ALL_OBJS");
	if (!all || strcmp(all, "1") != 0) {
		thr_report("run with INTERCEPT_ALL_OBJS=1");
		return 2;
	}
	if (dlsym(RTLD_DEFAULT, "intercept_hook_point")) {
		thr_report("libsyscall_intercept is already loaded: run this program without it");
		return 2;
	}
	const char *env = getenv("THR_THREADS");
	int n = env ? atoi(env) : 8;
	n_modules = argc - 2;
	if (n < 1 || n > MAX_WORKERS || n_modules > MAX_MODULES) {
		thr_report("bad THR_THREADS or too many modules");
		return 2;
	}
	pthread_barrier_init(&barrier, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		struct worker *w = &workers[i];
		snprintf(w->name, sizeof(w->name), "worker %d", i);
		w->wfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		w->rfd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		if (w->wfd < 0 || w->rfd < 0 || pipe2(w->pipefd, O_CLOEXEC) != 0 ||
		    pthread_create(&w->thread, NULL, work, w) != 0) {
			thr_report("cannot start %s", w->name);
			return 2;
		}
	}
	long deadline = thr_now_ms() + 10000;
	for (int i = 0; i < n; i++)
		while (atomic_load(&workers[i].iterations) < 10) {
			if (thr_now_ms() > deadline) {
				thr_report("worker %d did not start", i);
				return 2;
			}
			thr_sleep_us(100);
		}

	void *h = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		thr_report("dlopen(%s): %s", argv[1], dlerror());
		return 2;
	}
	if (!thr_hook_lookup(h, &hook)) {
		thr_report("%s has no thr_hook counters", argv[1]);
		return 2;
	}
	int mfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	for (int k = 0; k < n_modules; k++) {
		void *m = dlopen(argv[2 + k], RTLD_NOW | RTLD_LOCAL);
		c_write[k] = m ? (thr_c_write_fn *)dlsym(m, "thr_c_write") : NULL;
		if (!c_write[k]) {
			thr_report("dlopen(%s): %s", argv[2 + k], m ? "no thr_c_write" : dlerror());
			return 2;
		}
		long before = hook.writes(mfd);
		for (int j = 0; j < THR_MARKER_CALLS; j++)
			c_write[k](mfd, "m", 1);
		long seen = hook.writes(mfd) - before;
		if (seen != THR_MARKER_CALLS)
			FAIL("main: right after its dlopen, the hook saw %ld of %d write calls through "
			     "module %d", seen, THR_MARKER_CALLS, k + 1);
	}
	/* The threads keep going a little after the last dlopen, all of it under the hook. */
	long seen_before = 0;
	for (int i = 0; i < n; i++)
		seen_before += atomic_load(&workers[i].iterations);
	deadline = thr_now_ms() + 10000;
	for (;;) {
		long now = 0;
		for (int i = 0; i < n; i++)
			now += atomic_load(&workers[i].iterations);
		if (now >= seen_before + 10L * n)
			break;
		if (thr_now_ms() > deadline) {
			thr_report("the workers stopped making progress after the dlopens");
			return 1;
		}
		thr_sleep_us(200);
	}
	atomic_store(&stop, 1);
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < n; i++)
		pthread_join(workers[i].thread, NULL);
	if (atomic_load(&failures))
		return 1;
	printf("threads_stress: %d threads survived the patching; their syscalls reach the hook\n",
	       n);
	return 0;
}
