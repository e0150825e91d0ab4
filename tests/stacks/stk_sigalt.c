/*
 * stk_sigalt.c -- a SIGALRM handler on a small alternate signal stack (sigaltstack,
 * SA_ONSTACK) making syscalls through libc's wrappers (getpid, write, getppid), raised every
 * 200 us by an interval timer while the main code makes syscalls too (write to /dev/null, read
 * from /dev/zero, getppid), until 1000 signals were handled.  The alternate stack is
 * sysconf(_SC_MINSIGSTKSZ), the kernel's minimum for its signal frame on this CPU (the
 * MINSIGSTKSZ of glibc's dynamic definition, without SIGSTKSZ's fourfold margin), plus 1 KiB
 * for the handler's own frames, with a PROT_NONE page right below it: a library that needs
 * more makes the run die of SIGSEGV.  The stack is filled with a pattern first; the bytes
 * the handlers changed, from its top to the lowest changed one, are printed as "touched <n>"
 * for the test script to compare with the native run.  Under a hook with a post-kernel part,
 * or INTERCEPT_LOG, most signals interrupt the library while it runs the main code's syscall
 * on its own stack.  Every other line is deterministic; the exit status is 0 when every
 * result was as expected.  Its handler uses async-signal-safe calls only.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

#define SIGNALS 1000
#define HANDLER_ROOM 1024
#define PATTERN 0xa5
#define LIMIT_NS (20L * 1000000000L)

static pid_t pid, ppid;
static int devnull, zero;
static atomic_long handled, handler_bad;

static void
on_alarm(int sig)
{
	(void)sig;
	if (getpid() != pid || getppid() != ppid || write(devnull, "x", 1) != 1)
		atomic_fetch_add(&handler_bad, 1);
	atomic_fetch_add(&handled, 1);
}

static long
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid = getpid();
	ppid = getppid();
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || zero < 0) {
		perror("stk_sigalt: open");
		return 2;
	}

	long page = sysconf(_SC_PAGESIZE);
#ifdef _SC_MINSIGSTKSZ
	long min = sysconf(_SC_MINSIGSTKSZ);
#else
	/* glibc before 2.34: the kernel's own figure (Linux 5.14 and later), else the constant. */
	long min = (long)getauxval(AT_MINSIGSTKSZ);
#endif
	if (min <= 0)
		min = MINSIGSTKSZ;
	size_t size = (size_t)min + HANDLER_ROOM;
	size_t span = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
	char *m = mmap(NULL, span + (size_t)page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m, (size_t)page, PROT_NONE) != 0) {
		perror("stk_sigalt: mmap");
		return 2;
	}
	/* [m + page, m + page + size): the guard page is right below */
	unsigned char *alt = (unsigned char *)m + page;
	memset(alt, PATTERN, size);
	stack_t ss = { .ss_sp = alt, .ss_size = size, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL) != 0) {
		perror("stk_sigalt: sigaltstack");
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	setitimer(ITIMER_REAL, &it, NULL);

	long bad = 0, start = now_ns();
	char buf[16];
	memset(buf, 'y', sizeof(buf));
	while (atomic_load(&handled) < SIGNALS && now_ns() - start < LIMIT_NS) {
		bad += write(devnull, buf, sizeof(buf)) != sizeof(buf);
		bad += read(zero, buf, sizeof(buf)) != sizeof(buf);
		bad += getppid() != ppid;
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	long got = atomic_load(&handled);

	printf("SIGALRM handler on a MINSIGSTKSZ + %d alternate stack, %d signals: %s\n",
	       HANDLER_ROOM, SIGNALS, got >= SIGNALS ? "ok" : "FAILED (timed out)");
	printf("the handler's getpid/getppid/write: %s\n", atomic_load(&handler_bad) ? "FAILED" : "ok");
	printf("the main code's write/read/getppid: %s\n", bad ? "FAILED" : "ok");
	size_t lowest = 0;
	while (lowest < size && alt[lowest] == PATTERN)
		lowest++;
	printf("touched %zu\n", size - lowest);
	return got >= SIGNALS && !handler_bad && !bad ? 0 : 1;
}
