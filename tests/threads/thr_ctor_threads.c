/*
 * libthr_ctor_threads.so -- scenario "constructor threads": a library whose constructor starts
 * threads that make syscalls through libc in tight loops (getppid; read of /dev/zero and write
 * to /dev/null; clock_nanosleep of 1 us; a mix with sched_yield), and returns only once every
 * thread is running.  thr_ctor_hook.so lists it after libsyscall_intercept.so in DT_NEEDED, so
 * its constructor runs first and the library patches libc while these threads run.  The
 * constructor checks that order (syscall_hook_in_process_allowed() must still be 0) and exits
 * with status 3 when it is wrong: the test would then not test anything.  thr_ctor_finish(),
 * called by the program's main, stops the threads; each then proves with the marker check that
 * its syscalls reach the hook.  It must never stop the threads before main runs, and never
 * block them in a way that would let patching happen while none of them runs.
 */
#define _GNU_SOURCE
#include "thr_common.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_THREADS 64

struct worker {
	pthread_t thread;
	int kind, rfd, wfd;
	atomic_long iterations;
	atomic_int failed;
	char name[32];
};

static struct worker workers[MAX_THREADS];
static int n_workers;
static atomic_int stop;
static struct thr_hook hook;

static void *
work(void *arg)
{
	struct worker *w = arg;
	char buf[64];
	const struct timespec tiny = { 0, 1000 };
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		switch (w->kind) {
		case 0:
			for (int i = 0; i < 16; i++)
				getppid();
			break;
		case 1:
			if (read(w->rfd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
			    write(w->wfd, buf, 1) != 1)
				atomic_store(&w->failed, 1);
			break;
		case 2:
			clock_nanosleep(CLOCK_MONOTONIC, 0, &tiny, NULL);
			break;
		default:
			getppid();
			if (read(w->rfd, buf, 8) != 8 || write(w->wfd, buf, 1) != 1)
				atomic_store(&w->failed, 1);
			sched_yield();
			break;
		}
		atomic_fetch_add_explicit(&w->iterations, 1, memory_order_relaxed);
	}
	if (atomic_load(&w->failed))
		thr_report("%s: a read or write failed while looping", w->name);
	else if (!thr_marker(&hook, w->name, w->wfd, w->rfd))
		atomic_store(&w->failed, 1);
	return NULL;
}

static int
allowed(void)
{
	int (*fn)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "syscall_hook_in_process_allowed");
	return fn ? fn() : -1;
}

static __attribute__((constructor)) void
start(void)
{
	thr_scenario = "threads_ctor";
	const char *env = getenv("THR_THREADS");
	n_workers = env ? atoi(env) : 4;
	if (n_workers < 1 || n_workers > MAX_THREADS)
		n_workers = 4;
	for (int i = 0; i < n_workers; i++) {
		struct worker *w = &workers[i];
		w->kind = i % 4;
		snprintf(w->name, sizeof(w->name), "constructor thread %d", i);
		w->rfd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		w->wfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (w->rfd < 0 || w->wfd < 0 || pthread_create(&w->thread, NULL, work, w) != 0) {
			thr_report("cannot start %s", w->name);
			_exit(2);
		}
	}
	long deadline = thr_now_ms() + 10000;
	for (int i = 0; i < n_workers; i++)
		while (atomic_load(&workers[i].iterations) < 10) {
			if (thr_now_ms() > deadline) {
				thr_report("constructor thread %d did not start looping", i);
				_exit(2);
			}
			thr_sleep_us(100);
		}
	if (allowed() != 0) {
		thr_report("libsyscall_intercept's constructor ran before ours (in-process-allowed "
			   "%d): the threads would not run while libc is patched", allowed());
		_exit(3);
	}
}

/* Stops the threads, each checks its marker calls; returns the number of failed threads. */
EXPORT int
thr_ctor_finish(void)
{
	int failures = 0;
	if (allowed() != 1) {
		thr_report("the library is not active in main (in-process-allowed %d)", allowed());
		failures++;
	}
	if (!thr_hook_lookup(RTLD_DEFAULT, &hook)) {
		thr_report("thr_hook's counters not found: is thr_ctor_hook.so preloaded?");
		_exit(2);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < n_workers; i++) {
		pthread_join(workers[i].thread, NULL);
		failures += atomic_load(&workers[i].failed) != 0;
	}
	return failures;
}
