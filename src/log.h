/*
 * log.h -- INTERCEPT_LOG: the syscall log (see libsyscall_intercept(3)).  The dispatcher calls
 * si_log_syscall twice per logged syscall: before it runs (has_result false, the line ends in
 * "= ?") and after (with the result).  Everything here is async-signal-safe: no malloc, no
 * stdio, no locks, one write(2) per line.
 */
#ifndef SI_LOG_H
#define SI_LOG_H

#include "intercept.h"

/*
 * The log's file descriptor, -1 when there is no log (INTERCEPT_LOG unset, unusable, ignored
 * under AT_SECURE, or this process excluded by INTERCEPT_LOG_CHILDREN=0).  The dispatcher checks
 * `si_log_fd >= 0` on the hot path before calling si_log_syscall.
 */
extern int si_log_fd;

/*
 * Reads INTERCEPT_LOG, INTERCEPT_LOG_TRUNC, INTERCEPT_LOG_CHILDREN, INTERCEPT_LOG_TIMING and opens
 * the log.  Called once, from the library's constructor, while libc is usable (it calls getenv,
 * getauxval and putenv) and before the program's threads exist.  An unusable path prints one
 * message on stderr and leaves si_log_fd at -1.
 */
void si_log_init(void);
/*
 * In the child of a fork (a clone/clone3 without CLONE_VM and without CLONE_FILES, so vfork and
 * threads excluded), before the child runs any other code that may log: reopens a per-pid log
 * (path ending in '-'), or stops logging under INTERCEPT_LOG_CHILDREN=0.  Async-signal-safe.
 */
void si_log_after_fork(void);
/*
 * Writes one line: before the syscall (has_result false: "= ?") and after it (with the result,
 * also when the hook answered it).  site may be NULL (unknown origin: "? 0x0"), args may be NULL
 * (all zero).  Async-signal-safe, one write(2) per line, about 2.3 KiB of stack.
 */
void si_log_syscall(const struct si_site *site, long nr, const long args[6], long result,
		    bool has_result);

#endif
