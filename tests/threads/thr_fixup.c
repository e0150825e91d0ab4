/*
 * thr_fixup -- a thread blocked in a syscall whose site is patched with a window while it waits,
 * then restarted there by a SA_RESTART signal: the kernel sends it back to the `syscall`
 * instruction, which is now int3, and the library must move it to the site's trampoline.  The
 * read must then return the right byte, and reach the hook (the restarted call goes through
 * the trampoline).  Threads spinning in fx_getppid meanwhile may be stopped between the
 * window's instructions.  Run under INTERCEPT_ALL_OBJS=1 with the hook dlopen'ed (argv[1]) while
 * the threads run.  The program installs its own SIGTRAP handler after the library installed
 * its own: it must see its own action read back, get its own traps (raise, int3), and the
 * library must still get the trap of the restarted read.  It must never pass when the read
 * returned early or wrong.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "thr_common.h"
#include "thr_hook.h"

long fx_read(int fd, void *buf, unsigned long n);
long fx_getppid(void);

static int pipe_fds[2];
static atomic_int stop;
static atomic_int reader_tid;

static void *
reader(void *unused)
{
	(void)unused;
	char c = 0;
	reader_tid = thr_gettid();
	long r = fx_read(pipe_fds[0], &c, 1);
	return (void *)(long)(r == 1 && c == 'x');
}

static void *
spinner(void *unused)
{
	(void)unused;
	pid_t want = getppid();
	while (!stop)
		if (fx_getppid() != want)
			return (void *)0;
	return (void *)1;
}

static void
on_usr1(int sig)
{
	(void)sig;
}

static volatile sig_atomic_t program_traps;

static void
on_trap(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)info;
	(void)ctx;
	program_traps++;
}

/* The program's own SIGTRAP handling, installed after the library's: all of it must work. */
static bool
program_sigtrap_works(void)
{
	struct sigaction mine = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO }, back;
	sigemptyset(&mine.sa_mask);
	if (sigaction(SIGTRAP, &mine, NULL) != 0 || sigaction(SIGTRAP, NULL, &back) != 0 ||
	    back.sa_sigaction != on_trap || !(back.sa_flags & SA_SIGINFO)) {
		thr_report("the program's SIGTRAP action does not read back");
		return false;
	}
	raise(SIGTRAP);
	__asm__ volatile("int3");
	if (program_traps != 2) {
		thr_report("the program's SIGTRAP handler ran %d times for raise and int3, not 2",
			   (int)program_traps);
		return false;
	}
	return true;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || pipe(pipe_fds) != 0)
		return 2;
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t r, s[3];
	pthread_create(&r, NULL, reader, NULL);
	for (int i = 0; i < 3; i++)
		pthread_create(&s[i], NULL, spinner, NULL);
	static const long read_nr[] = { SYS_read };
	while (!reader_tid)
		thr_sleep_us(1000);
	if (!thr_wait_in_syscall(getpid(), reader_tid, read_nr, 1)) {
		thr_report("the reader never blocked in read");
		return 1;
	}
	void *hook = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!hook) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	struct thr_hook h;
	if (!thr_hook_lookup(hook, &h) || !program_sigtrap_works())
		return 1;
	pthread_kill(r, SIGUSR1);	/* the kernel restarts the read at its syscall instruction */
	thr_sleep_us(20000);
	if (!thr_wait_in_syscall(getpid(), reader_tid, read_nr, 1)) {
		thr_report("the reader did not block in read again after the signal");
		return 1;
	}
	if (write(pipe_fds[1], "x", 1) != 1)
		return 2;
	void *read_ok, *spin_ok;
	int bad_spinners = 0;
	pthread_join(r, &read_ok);
	stop = 1;
	for (int i = 0; i < 3; i++) {
		pthread_join(s[i], &spin_ok);
		bad_spinners += !spin_ok;
	}
	long seen = h.reads(pipe_fds[0]);
	printf("read %s, restarted read seen by the hook %ld time(s), spinners %s\n",
	       read_ok ? "right" : "WRONG", seen, bad_spinners ? "WRONG" : "right");
	if (program_traps != 2)
		thr_report("the program's SIGTRAP handler got the library's trap");
	return read_ok && seen == 1 && !bad_spinners && program_traps == 2 ? 0 : 1;
}
