/*
 * log.h -- INTERCEPT_LOG: the syscall log (see libsyscall_intercept(3)).  The dispatcher calls
 * si_log_syscall twice per logged syscall: before it runs (has_result false, the line ends in
 * "= ?") and after (with the result).  Everything here is async-signal-safe: no malloc, no
 * stdio, no locks, one write(2) per line.
 */
#ifndef SI_LOG_H
#define SI_LOG_H

#include "intercept.h"

/* Nonzero when INTERCEPT_LOG opened a log file; read on the hot path, so just a flag. */
extern int si_log_fd;

/* Reads INTERCEPT_LOG / INTERCEPT_LOG_TRUNC and opens the log; called once at init. */
void si_log_init(void);
/* In a forked child: reopen a per-pid log when the path ends in '-'. */
void si_log_after_fork(void);
void si_log_syscall(const struct si_site *site, long nr, const long args[6], long result,
		    bool has_result);

#endif
