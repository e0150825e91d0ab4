/*
 * exh_sigsys.c -- an application that owns SIGSYS and blocks every signal, for the exhaustive
 * mode, whose safety net itself runs on SIGSYS.  Modes:
 *   handler    installs a SIGSYS handler, blocks all signals, makes generated-code syscalls
 *              (including a raw rt_sigprocmask blocking everything), checks what sigprocmask
 *              and sigaction report, unblocks, raise(SIGSYS): its handler runs once with
 *              SI_TKILL; a SIGUSR1 handler with a full sa_mask makes generated-code syscalls
 *   samask     a handler installed with a full sa_mask: sigaction reports that mask back
 *              (SIGSYS included), and the handler can make generated-code syscalls
 *   inhandler  the SIGSYS handler itself makes generated-code syscalls and reports the signal
 *              mask it runs with
 *   pending    SIGSYS blocked by the application and raised stays pending until unblocked
 *   default    installs a handler, sets SIG_DFL back, blocks all, generated-code syscalls,
 *              unblocks, raise(SIGSYS): dies of SIGSYS
 *   untouched  raise(SIGSYS) without ever touching its disposition: dies of SIGSYS
 *   ignore     SIG_IGN, raise(SIGSYS): carries on
 * Every line printed is the same natively and under the library; the exit status (or the
 * signal) is the result.  Core dumps are switched off.  It must never print pids or addresses.
 */
#define _GNU_SOURCE
#include "exh_jit.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static long (*jit_getpid)(void);
static exh_syscall_fn jit_syscall;
static long my_pid;
static int failures;

static volatile sig_atomic_t sigsys_count, sigsys_code, sigsys_signo, handler_jit_ok = -1;
static volatile sig_atomic_t handler_sigsys_blocked = -1, handler_usr2_blocked = -1;
static volatile sig_atomic_t usr1_count, usr1_jit_ok = -1;
static int do_jit_in_handler;

static void
expect(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		failures++;
}

static int
jit_calls_ok(int n)
{
	for (int i = 0; i < n; i++)
		if (jit_getpid() != my_pid)
			return 0;
	return 1;
}

static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	sigsys_count++;
	sigsys_signo = sig == SIGSYS && si->si_signo == SIGSYS;
	sigsys_code = si->si_code;
	if (do_jit_in_handler) {
		sigset_t cur;
		sigprocmask(SIG_BLOCK, NULL, &cur);
		handler_sigsys_blocked = sigismember(&cur, SIGSYS);
		handler_usr2_blocked = sigismember(&cur, SIGUSR2);
		handler_jit_ok = jit_calls_ok(10);
	}
}

static void
on_sigusr1(int sig)
{
	(void)sig;
	usr1_count++;
	usr1_jit_ok = jit_calls_ok(10);
}

static int
blocked_now(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

static void
install_sigsys_handler(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	expect(sigaction(SIGSYS, &sa, &old) == 0, "sigaction(SIGSYS) installs a handler");
	expect(old.sa_handler == SIG_DFL, "the previous SIGSYS disposition was SIG_DFL");
	struct sigaction q;
	expect(sigaction(SIGSYS, NULL, &q) == 0 && q.sa_sigaction == on_sigsys &&
	       (q.sa_flags & SA_SIGINFO), "sigaction(SIGSYS) reports the application's handler");
}

/* Blocks everything (libc), runs generated-code syscalls, checks the reported mask. */
static void
block_all_and_call(sigset_t *saved)
{
	sigset_t all;
	sigfillset(&all);
	expect(sigprocmask(SIG_BLOCK, &all, saved) == 0 && !sigismember(saved, SIGSYS),
	       "sigprocmask(SIG_BLOCK, full set): SIGSYS was not blocked before");
	expect(blocked_now(SIGSYS) && blocked_now(SIGUSR1) && blocked_now(SIGTERM),
	       "after blocking all, sigprocmask reports SIGSYS, SIGUSR1, SIGTERM blocked");
	expect(jit_calls_ok(1000), "1000 generated-code getpid with all signals blocked");
}

static int
mode_handler(void)
{
	install_sigsys_handler();
	struct sigaction su;
	memset(&su, 0, sizeof(su));
	su.sa_handler = on_sigusr1;
	sigfillset(&su.sa_mask);
	expect(sigaction(SIGUSR1, &su, NULL) == 0, "SIGUSR1 handler with a full sa_mask");

	sigset_t saved;
	block_all_and_call(&saved);

	/* A raw rt_sigprocmask from generated code: unblock all, then block all again. */
	uint64_t none = 0, all = ~0ull, old = 0;
	expect(jit_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, (long)&old, 8, 0, 0) == 0 &&
	       (old & (1ull << (SIGSYS - 1))), "generated-code rt_sigprocmask: old set has SIGSYS");
	expect(!blocked_now(SIGSYS), "after it unblocked all: SIGSYS reported unblocked");
	expect(jit_syscall(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)&old, 8, 0, 0) == 0 &&
	       !(old & (1ull << (SIGSYS - 1))), "generated-code rt_sigprocmask blocks all again");
	expect(blocked_now(SIGSYS), "SIGSYS reported blocked");
	expect(jit_calls_ok(1000), "1000 generated-code getpid after the raw block");

	sigset_t prev;
	expect(sigprocmask(SIG_SETMASK, &saved, &prev) == 0 && sigismember(&prev, SIGSYS) &&
	       sigismember(&prev, SIGUSR1), "unblocking: the old set reports SIGSYS blocked");
	expect(!blocked_now(SIGSYS), "SIGSYS reported unblocked");
	expect(sigsys_count == 0, "the SIGSYS handler has not run so far");

	raise(SIGSYS);
	expect(sigsys_count == 1, "raise(SIGSYS): the application's handler ran once");
	expect(sigsys_signo == 1, "with signal number SIGSYS");
	expect(sigsys_code == SI_TKILL, "with si_code SI_TKILL");
	raise(SIGSYS);
	expect(sigsys_count == 2, "a second raise(SIGSYS): ran again");

	raise(SIGUSR1);
	expect(usr1_count == 1 && usr1_jit_ok == 1,
	       "SIGUSR1 handler (full sa_mask) made generated-code syscalls");
	expect(jit_calls_ok(100), "generated-code getpid after the handlers");
	return failures != 0;
}

static int
mode_samask(void)
{
	struct sigaction su, q;
	memset(&su, 0, sizeof(su));
	su.sa_handler = on_sigusr1;
	sigfillset(&su.sa_mask);
	expect(sigaction(SIGUSR1, &su, NULL) == 0, "SIGUSR1 handler with a full sa_mask");
	expect(sigaction(SIGUSR1, NULL, &q) == 0 && sigismember(&q.sa_mask, SIGSYS) == 1 &&
	       sigismember(&q.sa_mask, SIGTERM) == 1,
	       "sigaction(SIGUSR1) reports the sa_mask as installed, SIGSYS included");
	raise(SIGUSR1);
	expect(usr1_count == 1 && usr1_jit_ok == 1,
	       "SIGUSR1 handler (full sa_mask) made generated-code syscalls");
	return failures != 0;
}

static int
mode_inhandler(void)
{
	do_jit_in_handler = 1;
	install_sigsys_handler();
	raise(SIGSYS);
	expect(sigsys_count == 1, "raise(SIGSYS): the application's handler ran once");
	expect(handler_jit_ok == 1, "the SIGSYS handler made 10 generated-code getpid");
	printf("in the handler: SIGSYS blocked %d, SIGUSR2 blocked %d\n",
	       (int)handler_sigsys_blocked, (int)handler_usr2_blocked);
	expect(jit_calls_ok(100), "generated-code getpid after the handler");
	return failures != 0;
}

static int
mode_pending(void)
{
	install_sigsys_handler();
	sigset_t s, pend;
	sigemptyset(&s);
	sigaddset(&s, SIGSYS);
	expect(sigprocmask(SIG_BLOCK, &s, NULL) == 0 && blocked_now(SIGSYS), "SIGSYS blocked");
	raise(SIGSYS);
	expect(sigsys_count == 0, "raise(SIGSYS) while blocked: the handler has not run");
	sigpending(&pend);
	expect(sigismember(&pend, SIGSYS) == 1, "sigpending reports SIGSYS");
	expect(jit_calls_ok(100), "generated-code getpid while SIGSYS is pending");
	expect(sigprocmask(SIG_UNBLOCK, &s, NULL) == 0, "SIGSYS unblocked");
	expect(sigsys_count == 1, "the pending SIGSYS reached the handler once on unblocking");
	return failures != 0;
}

static int
mode_default(void)
{
	install_sigsys_handler();
	struct sigaction dfl, old;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	expect(sigaction(SIGSYS, &dfl, &old) == 0 && old.sa_sigaction == on_sigsys,
	       "SIG_DFL set back; the old disposition was the handler");
	sigset_t saved;
	block_all_and_call(&saved);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	printf("raising SIGSYS\n");
	raise(SIGSYS);
	printf("FAIL still alive after raise(SIGSYS) with SIG_DFL\n");
	return 1;
}

static int
mode_untouched(void)
{
	expect(jit_calls_ok(100), "generated-code getpid");
	printf("raising SIGSYS\n");
	raise(SIGSYS);
	printf("FAIL still alive after raise(SIGSYS) with SIG_DFL\n");
	return 1;
}

static int
mode_ignore(void)
{
	struct sigaction ign, q;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	expect(sigaction(SIGSYS, &ign, NULL) == 0, "SIGSYS set to SIG_IGN");
	expect(sigaction(SIGSYS, NULL, &q) == 0 && q.sa_handler == SIG_IGN,
	       "sigaction reports SIG_IGN");
	raise(SIGSYS);
	expect(jit_calls_ok(100), "alive after raise(SIGSYS); generated-code getpid works");
	return failures != 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct rlimit nocore = { 0, 0 };
	setrlimit(RLIMIT_CORE, &nocore);
	jit_getpid = exh_jit_getpid();
	jit_syscall = exh_jit_syscall();
	my_pid = getpid();
	if (argc == 2) {
		if (strcmp(argv[1], "handler") == 0)
			return mode_handler();
		if (strcmp(argv[1], "samask") == 0)
			return mode_samask();
		if (strcmp(argv[1], "inhandler") == 0)
			return mode_inhandler();
		if (strcmp(argv[1], "pending") == 0)
			return mode_pending();
		if (strcmp(argv[1], "default") == 0)
			return mode_default();
		if (strcmp(argv[1], "untouched") == 0)
			return mode_untouched();
		if (strcmp(argv[1], "ignore") == 0)
			return mode_ignore();
	}
	fprintf(stderr, "usage: exh_sigsys handler|samask|inhandler|pending|default|untouched|ignore\n");
	return 2;
}
