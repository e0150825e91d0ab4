/*
 * thr_common.h -- helpers shared by the thread test programs (thr_common.c): failure reports,
 * bounded waits on other threads' state in /proc, and the marker check that proves a thread's
 * syscalls reach thr_hook.so.  Only declarations; it must never define storage.
 */
#ifndef THR_COMMON_H
#define THR_COMMON_H

#include <stdbool.h>
#include <sys/types.h>
#include "thr_hook.h"

/* Marker calls each thread makes once the library is active (see thr_marker). */
#define THR_MARKER_CALLS 64

/* Prints "FAIL: <scenario>: ..." on stderr; the program then exits non-zero. */
void thr_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The name thr_report puts first (argv[0]'s scenario). */
extern const char *thr_scenario;

pid_t thr_gettid(void);
void thr_sleep_us(long us);
long thr_now_ms(void);

/*
 * Waits (at most 10 s) until thread tid of process pid is blocked in a syscall whose number is
 * one of nrs[0..n) (/proc/<pid>/task/<tid>/syscall); true when it is.
 */
bool thr_wait_in_syscall(pid_t pid, pid_t tid, const long *nrs, int n);
/* The state letter of /proc/<pid>/task/<tid>/stat ('R', 'S', 'T'...), '?' when unreadable. */
char thr_task_state(pid_t pid, pid_t tid);

/* The hook's counters, looked up in handle (RTLD_DEFAULT for a preloaded hook). */
struct thr_hook {
	thr_hook_count_fn *reads, *writes;
	thr_hook_nr_fn *calls;
};
bool thr_hook_lookup(void *handle, struct thr_hook *h);

/*
 * The marker check, run by a thread on descriptors only it uses (wfd open for writing on
 * /dev/null, rfd for reading /dev/zero; either may be -1): THR_MARKER_CALLS write()s and read()s
 * through libc, each of which must reach the hook exactly once.  Reports and returns false
 * otherwise.
 */
bool thr_marker(const struct thr_hook *h, const char *who, int wfd, int rfd);

#endif
