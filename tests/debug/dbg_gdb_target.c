/*
 * dbg_gdb_target.c -- a process for gdb to look at: the main thread blocks in read on an empty
 * pipe inside main_blocked_in_read() (called by main), a second thread blocks likewise inside
 * thread_blocked_in_read().  In "attach" mode it just stays blocked (for gdb -p; the driver
 * polls /proc/<pid>/task/<tid>/syscall and kills it afterwards; alarm() ends it after
 * SI_GDB_TARGET_LIFE seconds, 300 by default, should the driver die).  In "stop" mode, for
 * `gdb -ex run`, a watcher thread waits until /proc/self/task/<tid>/syscall shows both threads
 * in their read and then raises SIGTRAP in itself, so gdb stops the process while both are
 * blocked.  It must never sleep a fixed time instead of checking the blocked state, and never
 * return from the reads (nothing writes to the pipes).
 *
 * usage: dbg_gdb_target attach|stop
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int main_pipe[2], thread_pipe[2];
static atomic_int main_tid, thread_tid;

__attribute__((noinline)) void
main_blocked_in_read(int fd)
{
	char c;
	ssize_t r = read(fd, &c, 1);
	fprintf(stderr, "main_blocked_in_read: read returned %zd\n", r);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void
thread_blocked_in_read(int fd)
{
	char c;
	ssize_t r = read(fd, &c, 1);
	fprintf(stderr, "thread_blocked_in_read: read returned %zd\n", r);
	__asm__ volatile("" ::: "memory");
}

static void *
reader(void *unused)
{
	(void)unused;
	atomic_store(&thread_tid, (int)syscall(SYS_gettid));
	thread_blocked_in_read(thread_pipe[0]);
	return NULL;
}

static int
in_read(int tid, int fd)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *end;
	long nr = strtol(buf, &end, 10);
	return end != buf && nr == SYS_read && strtol(end, NULL, 16) == fd;
}

static void *
watcher(void *unused)
{
	(void)unused;
	for (int ms = 0; ms < 60000; ms++) {
		int t = atomic_load(&thread_tid);
		if (t && in_read(atomic_load(&main_tid), main_pipe[0]) && in_read(t, thread_pipe[0])) {
			fprintf(stderr, "dbg_gdb_target: both threads blocked in read\n");
			raise(SIGTRAP);
			return NULL;
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "dbg_gdb_target: the threads never blocked in read\n");
	_exit(1);
}

int
main(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "attach") && strcmp(argv[1], "stop"))) {
		fprintf(stderr, "usage: %s attach|stop\n", argv[0]);
		return 2;
	}
	const char *life = getenv("SI_GDB_TARGET_LIFE");
	alarm(life && atoi(life) > 0 ? (unsigned)atoi(life) : 300);
	if (pipe(main_pipe) || pipe(thread_pipe))
		return 2;
	atomic_store(&main_tid, (int)syscall(SYS_gettid));
	pthread_t t, w;
	if (pthread_create(&t, NULL, reader, NULL))
		return 2;
	if (strcmp(argv[1], "stop") == 0 && pthread_create(&w, NULL, watcher, NULL))
		return 2;
	main_blocked_in_read(main_pipe[0]);
	return 1;
}
