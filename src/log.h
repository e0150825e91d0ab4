/*
 * log.h -- INTERCEPT_LOG: the syscall log (see libsyscall_intercept(3)).  Each logged syscall
 * gives two lines, the call ending in "= ?" and the same call with its result.  The dispatcher
 * brackets an ordinary syscall with si_log_before and si_log_after, which decide when each line
 * is written (the "= ?" line before the syscall, or both together after it for syscalls that
 * can neither wait nor fail to return: see log.c); the clone family and rt_sigreturn use
 * si_log_syscall, one line per call.  Everything here is async-signal-safe: no malloc, no
 * stdio, no locks, and every line reaches the file within one write(2), whole.
 */
#ifndef SI_LOG_H
#define SI_LOG_H

#include "intercept.h"

/*
 * The log's file descriptor, -1 when there is no log (INTERCEPT_LOG unset, unusable or refused,
 * ignored in secure mode, or this process excluded by INTERCEPT_LOG_CHILDREN=0).  The
 * dispatcher checks `si_log_fd >= 0` on the hot path before calling si_log_syscall.
 */
extern int si_log_fd;

/*
 * Reads INTERCEPT_LOG, INTERCEPT_LOG_TRUNC, INTERCEPT_LOG_CHILDREN, INTERCEPT_LOG_TIMING,
 * INTERCEPT_LOG_FAILED (through si_env) and opens the log.  Called once, from the library's
 * constructor, while libc is usable (it calls getauxval and putenv) and before the program's
 * threads exist.  An unusable or refused path prints one message on stderr and leaves
 * si_log_fd at -1.
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
 * (all zero).  Async-signal-safe, one write(2) per line, about 2.7 KiB of stack for a line
 * longer than SI_LOG_KEEP, 0.6 KiB otherwise.  For the clone family and rt_sigreturn, and
 * anything else that cannot use the pair below.
 */
void si_log_syscall(const struct si_site *site, long nr, const long args[6], long result,
		    bool has_result);

/*
 * What the logger keeps between si_log_before and si_log_after of one syscall: the dispatcher
 * declares it in its own frame (so it nests with signal handlers and hooks that make syscalls
 * of their own, and needs no thread-local storage).  Its fields are log.c's.
 */
#define SI_LOG_KEEP 496
struct si_log_pending {
	long start_ns;		/* INTERCEPT_LOG_TIMING: when the syscall started; -1 without */
	unsigned short kept;	/* length of the "= ?" line kept in text, 0 when not kept */
	unsigned char mode;	/* nothing to log / "= ?" written before / both lines after */
	bool kernel_only;	/* no hook runs: the result is the kernel's, the memory as it left it */
	char text[SI_LOG_KEEP];	/* the "= ?" line, which the result line reuses */
};

/*
 * Before an ordinary syscall (one that returns to its site: not the clone family, not
 * rt_sigreturn).  hook_runs: whether any hook code (intercept_hook_point or
 * intercept_hook_point_post_kernel) will run before si_log_after; a syscall that a hook handles
 * always gets its "= ?" line first, since the hook may block or crash.  Otherwise the "= ?" line
 * of a syscall from log.c's never-waiting table is not written now but together with its result
 * line.  Call it only when si_log_fd >= 0, and then call si_log_after for the same p exactly
 * once when the syscall returns (or not at all if it never does).
 */
void si_log_before(struct si_log_pending *p, const struct si_site *site, long nr,
		   const long args[6], bool hook_runs);
/*
 * Between the two, for a syscall about to run: keeps the log's descriptor out of the program's
 * way.  The program may close every descriptor (daemons do, and closefrom()) and then open
 * enough files or sockets to be handed the log's number: the log would write into them.  So a
 * close of the log's descriptor succeeds without closing it, a close_range is run around it,
 * and a dup2/dup3 onto its number first moves the log to another.  Returns true when it has
 * made the call itself (*result set), false when the syscall is to run as it is.
 */
bool si_log_keep_fd(long nr, const long args[6], long *result);

/* After it, with the result (the kernel's or the hook's): writes what si_log_before left. */
void si_log_after(struct si_log_pending *p, const struct si_site *site, long nr,
		  const long args[6], long result);

#endif
