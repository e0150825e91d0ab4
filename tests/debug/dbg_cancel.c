/*
 * dbg_cancel.c -- pthread_cancel of threads blocked in cancellable system calls: read on an
 * empty pipe, nanosleep, accept on a listening socket of 127.0.0.1, a futex wait
 * (pthread_cond_wait), and asynchronous cancellation of a thread spinning on getppid().  For the
 * blocking cases the main thread waits until /proc/self/task/<tid>/syscall shows the thread in
 * the call, then cancels it, joins it and checks it ended with PTHREAD_CANCELED and that its
 * two cleanup handlers (pthread_cleanup_push) ran, innermost first.  Built a second time with
 * -fexceptions (dbg_cancel_eh): there pthread_cleanup_push and a __attribute__((cleanup))
 * variable of the blocking function itself (not for the spinning case: getppid() is nothrow,
 * so no landing pad covers it) run only if the unwinder really walks from the signal frame
 * through every frame in between, so a stack walk that stops early fails.  It
 * prints one deterministic line per case for comparison with a native run.  It must never
 * sleep a fixed time instead of checking the blocked state, and never count a thread that was
 * not canceled as a success.
 *
 * "asyncexit" is the asynchronous case with the cancellation's mechanism made visible: a
 * SIGUSR1 handler notes the interrupted instruction and calls pthread_exit (the same forced
 * unwind from a signal frame), so a failure names the instruction whose unwind info is wrong.
 *
 * usage: dbg_cancel read|nanosleep|accept|condwait|async|asyncexit [rounds]
 * exit: 0 all checks passed, 1 a check failed, 2 usage or setup error
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define WAIT_MS 30000

enum kind { K_READ, K_NANOSLEEP, K_ACCEPT, K_CONDWAIT, K_ASYNC, K_ASYNCEXIT };
#define K_COUNT 6
static const char *const kind_names[] = { "read", "nanosleep", "accept", "condwait", "async",
					  "asyncexit" };

struct job {
	enum kind kind;
	int fd;
	atomic_int tid;
	atomic_long spins;
	/* The order in which the cleanups ran: digits appended, innermost first expected. */
	atomic_int order;
	int returned;
};

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int never;	/* the predicate pthread_cond_wait waits for; never set */

static void
note(struct job *j, int digit)
{
	int old = atomic_load(&j->order);
	while (!atomic_compare_exchange_weak(&j->order, &old, old * 10 + digit))
		;
}

static void cleanup_outer(void *p) { note(p, 1); }
static void cleanup_inner(void *p) { note(p, 2); }
static void cleanup_unlock(void *p) { pthread_mutex_unlock(p); }

#ifdef __EXCEPTIONS
/* Runs only when the unwinder walks through the blocking function's frame. */
static void frame_cleanup(struct job **j) { note(*j, 3); }
#define FRAME_GUARD(j) \
	struct job *guard __attribute__((cleanup(frame_cleanup))) = (j); (void)guard
#define FRAME_DIGIT "3"
#else
#define FRAME_GUARD(j) (void)(j)
#define FRAME_DIGIT ""
#endif

__attribute__((noinline)) int
blocking_call(struct job *j)
{
	FRAME_GUARD(j);
	char c;
	struct timespec t = { 600, 0 };
	int r = -1;
	switch (j->kind) {
	case K_READ:
		r = (int)read(j->fd, &c, 1);
		break;
	case K_NANOSLEEP:
		r = nanosleep(&t, NULL);
		break;
	case K_ACCEPT:
		r = accept(j->fd, NULL, NULL);
		break;
	case K_CONDWAIT:
		pthread_mutex_lock(&mutex);
		pthread_cleanup_push(cleanup_unlock, &mutex);
		while (!never)
			r = pthread_cond_wait(&cond, &mutex);
		pthread_cleanup_pop(1);
		break;
	case K_ASYNC:
	case K_ASYNCEXIT:
		if (j->kind == K_ASYNC)
			pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
		for (;;) {
			getppid();
			atomic_fetch_add_explicit(&j->spins, 1, memory_order_relaxed);
		}
	}
	__asm__ volatile("" ::: "memory");
	return r;
}

static void *
thread_main(void *p)
{
	struct job *j = p;
	atomic_store(&j->tid, (int)syscall(SYS_gettid));
	pthread_cleanup_push(cleanup_outer, j);
	pthread_cleanup_push(cleanup_inner, j);
	blocking_call(j);
	j->returned = 1;
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

/* True when /proc/self/task/<tid>/syscall shows syscall nr (or alt) with first argument arg0
 * (arg0 < 0: any). */
static int
blocked_in(int tid, long nr, long alt, long arg0)
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
	long got = strtol(buf, &end, 10);
	if (end == buf || (got != nr && got != alt))
		return 0;
	return arg0 < 0 || strtol(end, NULL, 16) == arg0;
}

/* asyncexit: the interrupted instruction, then the same forced unwind as a cancellation. */
static volatile uintptr_t interrupted_pc;

static void
exit_from_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	interrupted_pc = (uintptr_t)((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];
	pthread_exit(PTHREAD_CANCELED);
}

/* "object+0xoffset" (or the address alone) of the interrupted instruction, for a failure. */
static void
print_pc(void)
{
	Dl_info d;
	uintptr_t pc = interrupted_pc;
	if (dladdr((void *)pc, &d) && d.dli_fname)
		fprintf(stderr, "  interrupted at %#lx = %s+%#lx (%s)\n", (unsigned long)pc,
			d.dli_fname, (unsigned long)(pc - (uintptr_t)d.dli_fbase),
			d.dli_sname ? d.dli_sname : "no symbol");
	else
		fprintf(stderr, "  interrupted at %#lx (no object: generated code)\n",
			(unsigned long)pc);
}

static void
pause_ms(void)
{
	struct timespec t = { 0, 1000000 };
	nanosleep(&t, NULL);
}

/* One round: start the thread, wait until it blocks (or spins), cancel, join, check. */
static int
round_of(enum kind k, int round)
{
	struct job j;
	memset(&j, 0, sizeof(j));
	j.kind = k;
	j.fd = -1;
	int p[2] = { -1, -1 };
	long nr = -1, alt = -1, arg0 = -1;
	switch (k) {
	case K_READ:
		if (pipe(p))
			return 2;
		j.fd = p[0];
		nr = alt = SYS_read;
		arg0 = j.fd;
		break;
	case K_NANOSLEEP:
		nr = SYS_clock_nanosleep;
		alt = SYS_nanosleep;
		break;
	case K_ACCEPT: {
		struct sockaddr_in a;
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		j.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (j.fd < 0 || bind(j.fd, (struct sockaddr *)&a, sizeof(a)) || listen(j.fd, 4)) {
			perror("socket/bind/listen on 127.0.0.1:0");
			return 2;
		}
		nr = SYS_accept;
		alt = SYS_accept4;
		arg0 = j.fd;
		break;
	}
	case K_CONDWAIT:
		nr = alt = SYS_futex;
		break;
	case K_ASYNC:
	case K_ASYNCEXIT:
		break;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, thread_main, &j))
		return 2;
	int ready = 0;
	for (int ms = 0; ms < WAIT_MS && !ready; ms++) {
		int tid = atomic_load(&j.tid);
		if (k == K_ASYNC || k == K_ASYNCEXIT)
			/* A varying number of calls, so the cancel lands at varying points. */
			ready = atomic_load(&j.spins) > 200 + (round * 37) % 500;
		else
			ready = tid && blocked_in(tid, nr, alt, arg0);
		if (!ready)
			pause_ms();
	}
	if (!ready) {
		fprintf(stderr, "FAIL: %s round %d: the thread never got %s\n", kind_names[k],
			round, k >= K_ASYNC ? "going" : "blocked in its call");
		return 1;	/* left blocked: the process exits */
	}
	int ok = 1;
	void *res = NULL;
	interrupted_pc = 0;
	if ((k == K_ASYNCEXIT ? pthread_kill(t, SIGUSR1) : pthread_cancel(t)) ||
	    pthread_join(t, &res)) {
		fprintf(stderr, "FAIL: %s round %d: cancel/join failed\n", kind_names[k], round);
		return 1;
	}
	if (res != PTHREAD_CANCELED || j.returned) {
		fprintf(stderr, "FAIL: %s round %d: the thread was not canceled (returned %d)\n",
			kind_names[k], round, j.returned);
		ok = 0;
	}
	/* getppid() is declared nothrow, so the spinning frame has no landing pad for it: its
	 * own cleanup does not run on asynchronous cancellation, natively either. */
	int want = k >= K_ASYNC ? 21 : atoi(FRAME_DIGIT "21");
	if (atomic_load(&j.order) != want) {
		fprintf(stderr, "FAIL: %s round %d: cleanups ran as %d, expected %d\n",
			kind_names[k], round, atomic_load(&j.order), want);
		ok = 0;
	}
	if (!ok && k == K_ASYNCEXIT)
		print_pc();
	if (k == K_CONDWAIT) {
		if (pthread_mutex_trylock(&mutex)) {
			fprintf(stderr, "FAIL: condwait: the mutex is still locked\n");
			ok = 0;
		} else {
			pthread_mutex_unlock(&mutex);
		}
	}
	if (p[1] >= 0)
		close(p[1]);
	if (j.fd >= 0)
		close(j.fd);
	return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
	int k = -1;
	for (int i = 0; argc >= 2 && i < K_COUNT; i++)
		if (strcmp(argv[1], kind_names[i]) == 0)
			k = i;
	int rounds = argc >= 3 ? atoi(argv[2]) : 3;
	if (k < 0 || argc > 3 || rounds <= 0) {
		fprintf(stderr, "usage: %s read|nanosleep|accept|condwait|async|asyncexit "
			"[rounds]\n", argv[0]);
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = exit_from_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		return 2;
	for (int r = 0; r < rounds; r++) {
		int st = round_of((enum kind)k, r);
		if (st)
			return st;
	}
	printf("%s: %d rounds canceled, cleanups %s21 ran\n", kind_names[k], rounds,
	       k >= K_ASYNC ? "" : FRAME_DIGIT);
	return 0;
}
