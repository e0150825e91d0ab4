/*
 * thr_common.c -- helpers shared by the thread test programs: failure reports, bounded waits on
 * other threads' state in /proc, and the marker check (see thr_common.h).  Everything here may
 * run on any thread while the library patches libc, so it only uses plain libc calls; it must
 * never wait without a bound and never hide a failed check.
 */
#define _GNU_SOURCE
#include "thr_common.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const char *thr_scenario = "threads";

void
thr_report(const char *fmt, ...)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "FAIL: %s: ", thr_scenario);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(buf))
		n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per report: lines of threads failing together stay whole. */
	if (write(2, buf, (size_t)n) < 0)
		return;
}

pid_t
thr_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

void
thr_sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

long
thr_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t
read_proc(pid_t pid, pid_t tid, const char *what, char *buf, size_t cap)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)pid, (int)tid, what);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

char
thr_task_state(pid_t pid, pid_t tid)
{
	char buf[512];
	if (read_proc(pid, tid, "stat", buf, sizeof(buf)) <= 0)
		return '?';
	/* "pid (comm) S ...": comm may hold spaces and parentheses, the last ')' ends it. */
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

bool
thr_wait_in_syscall(pid_t pid, pid_t tid, const long *nrs, int n)
{
	long deadline = thr_now_ms() + 10000;
	do {
		char buf[256];
		/* Blocked: state S (or D) and "<nr> <args...>"; running shows "running". */
		char st = thr_task_state(pid, tid);
		if ((st == 'S' || st == 'D') && read_proc(pid, tid, "syscall", buf, sizeof(buf)) > 0) {
			char *end;
			long nr = strtol(buf, &end, 10);
			if (end != buf && *end == ' ')
				for (int i = 0; i < n; i++)
					if (nr == nrs[i])
						return true;
		}
		thr_sleep_us(200);
	} while (thr_now_ms() < deadline);
	return false;
}

bool
thr_hook_lookup(void *handle, struct thr_hook *h)
{
	h->reads = (thr_hook_count_fn *)dlsym(handle, "thr_hook_reads");
	h->writes = (thr_hook_count_fn *)dlsym(handle, "thr_hook_writes");
	h->calls = (thr_hook_nr_fn *)dlsym(handle, "thr_hook_calls");
	return h->reads && h->writes && h->calls;
}

bool
thr_marker(const struct thr_hook *h, const char *who, int wfd, int rfd)
{
	bool ok = true;
	char buf[8] = "marker";
	if (wfd >= 0) {
		long before = h->writes(wfd);
		for (int i = 0; i < THR_MARKER_CALLS; i++)
			if (write(wfd, buf, 1) != 1) {
				thr_report("%s: write(%d) failed: %s", who, wfd, strerror(errno));
				return false;
			}
		long seen = h->writes(wfd) - before;
		if (seen != THR_MARKER_CALLS) {
			thr_report("%s: the hook saw %ld of its %d write(%d) calls", who, seen,
				   THR_MARKER_CALLS, wfd);
			ok = false;
		}
	}
	if (rfd >= 0) {
		long before = h->reads(rfd);
		for (int i = 0; i < THR_MARKER_CALLS; i++)
			if (read(rfd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
				thr_report("%s: read(%d) failed: %s", who, rfd, strerror(errno));
				return false;
			}
		long seen = h->reads(rfd) - before;
		if (seen != THR_MARKER_CALLS) {
			thr_report("%s: the hook saw %ld of its %d read(%d) calls", who, seen,
				   THR_MARKER_CALLS, rfd);
			ok = false;
		}
	}
	return ok;
}
