/*
 * proc_threads.c -- starts T threads (default 16) that each call getppid() through libc C times
 * (default 1,000,000), all at once behind a barrier, and checks every result.  Prints a fixed
 * summary and exits 0 when all calls returned the parent's pid.  The test script compares the
 * output with a native run and, under counting.so, checks that exactly T*C getppid syscalls were
 * seen.  It must never call getppid anywhere else (the count would no longer be exact) and never
 * print anything that depends on timing.
 *
 * usage: proc_threads [threads [calls_per_thread]]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 256

static long calls;
static pid_t expected_ppid;
static pthread_barrier_t start_line;

struct worker {
	pthread_t thread;
	long bad;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	pthread_barrier_wait(&start_line);
	for (long i = 0; i < calls; i++)
		if (getppid() != expected_ppid)
			w->bad++;
	return NULL;
}

int
main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 16;
	calls = argc > 2 ? atol(argv[2]) : 1000000;
	if (nthreads < 1 || nthreads > MAX_THREADS || calls < 0) {
		fprintf(stderr, "usage: %s [threads(1-%d) [calls]]\n", argv[0], MAX_THREADS);
		return 2;
	}
	/* The parent's pid, read without the getppid syscall: /proc/self/stat field 4. */
	FILE *f = fopen("/proc/self/stat", "r");
	if (!f || fscanf(f, "%*d (%*[^)]) %*c %d", &expected_ppid) != 1) {
		perror("/proc/self/stat");
		return 2;
	}
	fclose(f);

	static struct worker w[MAX_THREADS];
	pthread_barrier_init(&start_line, NULL, (unsigned)nthreads);
	for (int i = 0; i < nthreads; i++) {
		int e = pthread_create(&w[i].thread, NULL, work, &w[i]);
		if (e) {
			fprintf(stderr, "pthread_create: error %d\n", e);
			return 2;
		}
	}
	long bad = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].thread, NULL);
		bad += w[i].bad;
	}
	printf("threads %d, getppid calls per thread %ld, total %ld, wrong results %ld\n",
	       nthreads, calls, nthreads * calls, bad);
	return bad ? 1 : 0;
}
