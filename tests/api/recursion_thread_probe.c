/*
 * recursion_thread_probe.c -- the recursion guard is per thread: while the main thread is held
 * inside the hook (reentrant_hook.so's reentrant_hold_next), a second thread's getppid must still
 * reach the hook, and the main thread's own syscalls made from the hook must not.  It must never
 * report success when the second thread's syscall bypassed the hook.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int (*holding)(void);

static void *
second(void *arg)
{
	(void)arg;
	struct timespec ms = { 0, 1000000 };
	for (int i = 0; i < 10000 && !holding(); i++)
		nanosleep(&ms, NULL);
	getppid();
	return NULL;
}

int
main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	void (*hold_next)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "reentrant_hold_next");
	int (*cross)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "reentrant_cross_thread_seen");
	int (*max_depth)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "reentrant_max_depth");
	holding = (int (*)(void))dlsym(RTLD_DEFAULT, "reentrant_holding");
	if (!hold_next || !cross || !max_depth || !holding) {
		printf("FAIL: reentrant_hook.so is not preloaded\n");
		return 1;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, second, NULL) != 0) {
		printf("FAIL: pthread_create\n");
		return 1;
	}
	hold_next();
	getppid();	/* stays in the hook until the second thread's getppid reached it */
	pthread_join(t, NULL);
	printf("second thread's getppid reached the hook while the first was in it: %s; "
	       "max depth %d\n", cross() ? "yes" : "no", max_depth());
	int fail = !cross() || max_depth() != 1;
	printf("%s\n", fail ? "FAIL" : "PASS");
	return fail;
}
