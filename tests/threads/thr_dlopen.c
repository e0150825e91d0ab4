/*
 * thr_dlopen -- scenario "dlopen under blocked threads": a program that is not preloaded starts
 * a thread blocked in read() on a pipe, a thread blocked in nanosleep(30 s) and S threads
 * spinning in getppid() and write(), then dlopen()s a hook library, whose libsyscall_intercept
 * dependency patches libc while all of them run or wait inside it.  Then, by mode:
 *   plain    nothing more;
 *   restart  the reader gets a SIGUSR1 with an SA_RESTART handler: the kernel rewinds it to
 *            execute its `syscall` instruction (now patched) again;
 *   stop     a forked helper stops the whole process with SIGSTOP and continues it with SIGCONT:
 *            the kernel restarts the read by rewinding and the sleep through restart_syscall.
 * Finally the pipe gets its data (the read must return it intact), the sleeper a SIGUSR2 with a
 * handler (nanosleep must fail with EINTR and a sane remaining time), and every thread proves
 * that its later syscalls reach the hook (a second read, the spinners' marker calls).
 * Exit 0: all well; 1: a check failed; 2: the setup failed.  Every wait is bounded.  It must
 * never send a signal before the thread it targets is blocked where the mode needs it.
 *
 * usage: thr_dlopen <hook.so> plain|restart|stop [spinners]
 */
#define _GNU_SOURCE
#include "thr_common.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SPINNERS 32
#define CHUNK 16
static const char data[2 * CHUNK + 1] = "0123456789abcdefFEDCBA9876543210";

static int pipefd[2];
static struct thr_hook hook;
static atomic_int phase;	/* 1: the hook is loaded, threads may check */
static atomic_int usr1, usr2;
static atomic_int failures;
static _Atomic pid_t reader_tid, sleeper_tid;

struct spinner {
	pthread_t thread;
	int wfd;
	atomic_long iterations;
	char name[32];
};
static struct spinner spinners[MAX_SPINNERS];

#define FAIL(...) (thr_report(__VA_ARGS__), atomic_fetch_add(&failures, 1))

static void on_usr1(int sig) { (void)sig; atomic_fetch_add(&usr1, 1); }
static void on_usr2(int sig) { (void)sig; atomic_fetch_add(&usr2, 1); }

/* Reads exactly CHUNK bytes with one read() call and compares them with data[off...]. */
static void
read_chunk(int off)
{
	char buf[CHUNK];
	ssize_t n = read(pipefd[0], buf, CHUNK);
	if (n != CHUNK)
		FAIL("reader: the %s read returned %ld (negative: -errno)",
		     off ? "second" : "blocked", n < 0 ? -(long)errno : (long)n);
	else if (memcmp(buf, data + off, CHUNK) != 0)
		FAIL("reader: the %s read returned the wrong bytes", off ? "second" : "blocked");
}

static void *
reader(void *arg)
{
	(void)arg;
	atomic_store(&reader_tid, thr_gettid());
	read_chunk(0);
	while (!atomic_load(&phase))
		thr_sleep_us(100);
	long before = hook.reads(pipefd[0]);
	read_chunk(CHUNK);
	long seen = hook.reads(pipefd[0]) - before;
	if (seen != 1)
		FAIL("reader: the hook saw %ld read calls for the second read, expected 1", seen);
	return NULL;
}

static void *
sleeper(void *arg)
{
	(void)arg;
	atomic_store(&sleeper_tid, thr_gettid());
	struct timespec ts = { 30, 0 }, rem = { -1, -1 };
	int r = nanosleep(&ts, &rem);
	if (r != -1 || errno != EINTR)
		FAIL("sleeper: nanosleep returned %d (errno %d), expected -1 with EINTR", r, errno);
	else if (rem.tv_sec < 0 || rem.tv_nsec < 0 || rem.tv_nsec >= 1000000000 ||
		 rem.tv_sec > 30 || (rem.tv_sec == 30 && rem.tv_nsec > 0) ||
		 (rem.tv_sec == 0 && rem.tv_nsec == 0))
		FAIL("sleeper: nanosleep's remaining time is not in (0, 30 s]: %ld s %ld ns",
		     (long)rem.tv_sec, (long)rem.tv_nsec);
	if (atomic_load(&usr2) != 1)
		FAIL("sleeper: the SIGUSR2 handler ran %d times, expected 1", atomic_load(&usr2));
	while (!atomic_load(&phase))
		thr_sleep_us(100);
	return NULL;
}

static void *
spin(void *arg)
{
	struct spinner *s = arg;
	while (!atomic_load_explicit(&phase, memory_order_relaxed)) {
		getppid();
		if (write(s->wfd, "x", 1) != 1)
			FAIL("%s: write failed: %s", s->name, strerror(errno));
		atomic_fetch_add_explicit(&s->iterations, 1, memory_order_relaxed);
	}
	if (!thr_marker(&hook, s->name, s->wfd, -1))
		atomic_fetch_add(&failures, 1);
	return NULL;
}

static void
install(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0) {
		thr_report("sigaction(%d): %s", sig, strerror(errno));
		exit(2);
	}
}

static void
must_block(pid_t tid, const char *who, const long *nrs, int n)
{
	if (!thr_wait_in_syscall(getpid(), tid, nrs, n)) {
		thr_report("%s (tid %d) is not blocked in syscall %ld after 10 s (state %c)", who,
			   (int)tid, nrs[0], thr_task_state(getpid(), tid));
		exit(2);
	}
}

/* The forked helper of mode stop: SIGSTOP, wait until both blocked threads stopped, SIGCONT. */
static int
stop_and_continue(void)
{
	pid_t parent = getpid(), r = atomic_load(&reader_tid), s = atomic_load(&sleeper_tid);
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		int st = 0;
		kill(parent, SIGSTOP);
		long deadline = thr_now_ms() + 10000;
		while (thr_task_state(parent, r) != 'T' || thr_task_state(parent, s) != 'T')
			if (thr_now_ms() > deadline) {
				st = 1;
				break;
			}
		kill(parent, SIGCONT);
		_exit(st);
	}
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: thr_dlopen <hook.so> plain|restart|stop [spinners]\n");
		return 2;
	}
	const char *mode = argv[2];
	static char name[64];
	snprintf(name, sizeof(name), "threads_dlopen_%s", mode);
	thr_scenario = name;
	int n_spin = argc > 3 ? atoi(argv[3]) : 3;
	if (n_spin < 0 || n_spin > MAX_SPINNERS || (strcmp(mode, "plain") && strcmp(mode, "restart") &&
						     strcmp(mode, "stop"))) {
		fprintf(stderr, "thr_dlopen: bad mode or spinner count\n");
		return 2;
	}
	if (dlsym(RTLD_DEFAULT, "intercept_hook_point")) {
		thr_report("libsyscall_intercept is already loaded: run this program without it");
		return 2;
	}
	install(SIGUSR1, on_usr1, SA_RESTART);
	install(SIGUSR2, on_usr2, 0);
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		thr_report("pipe: %s", strerror(errno));
		return 2;
	}
	pthread_t rt, st;
	if (pthread_create(&rt, NULL, reader, NULL) || pthread_create(&st, NULL, sleeper, NULL))
		return 2;
	for (int i = 0; i < n_spin; i++) {
		struct spinner *s = &spinners[i];
		snprintf(s->name, sizeof(s->name), "spinner %d", i);
		s->wfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (s->wfd < 0 || pthread_create(&s->thread, NULL, spin, s) != 0)
			return 2;
	}
	long deadline = thr_now_ms() + 10000;
	while (!atomic_load(&reader_tid) || !atomic_load(&sleeper_tid))
		thr_sleep_us(100);
	const long nr_read = SYS_read, nr_sleep[] = { SYS_clock_nanosleep, SYS_nanosleep,
						      SYS_restart_syscall };
	must_block(atomic_load(&reader_tid), "the reader", &nr_read, 1);
	must_block(atomic_load(&sleeper_tid), "the sleeper", nr_sleep, 2);
	for (int i = 0; i < n_spin; i++)
		while (atomic_load(&spinners[i].iterations) < 100)
			if (thr_now_ms() > deadline) {
				thr_report("spinner %d did not start", i);
				return 2;
			}

	void *h = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		thr_report("dlopen(%s): %s", argv[1], dlerror());
		return 2;
	}
	if (!thr_hook_lookup(h, &hook)) {
		thr_report("%s has no thr_hook counters", argv[1]);
		return 2;
	}

	if (strcmp(mode, "restart") == 0) {
		pthread_kill(rt, SIGUSR1);
		deadline = thr_now_ms() + 10000;
		while (atomic_load(&usr1) == 0)
			if (thr_now_ms() > deadline) {
				thr_report("the reader's SIGUSR1 handler did not run");
				return 1;
			}
		must_block(atomic_load(&reader_tid), "the restarted reader", &nr_read, 1);
	} else if (strcmp(mode, "stop") == 0) {
		int r = stop_and_continue();
		if (r != 0) {
			thr_report("the SIGSTOP/SIGCONT helper failed (%d)", r);
			return r > 0 ? 2 : 1;
		}
		must_block(atomic_load(&reader_tid), "the continued reader", &nr_read, 1);
		must_block(atomic_load(&sleeper_tid), "the continued sleeper", nr_sleep, 3);
	}

	if (write(pipefd[1], data, 2 * CHUNK) != 2 * CHUNK) {
		thr_report("write to the pipe: %s", strerror(errno));
		return 2;
	}
	pthread_kill(st, SIGUSR2);
	atomic_store(&phase, 1);
	pthread_join(rt, NULL);
	pthread_join(st, NULL);
	for (int i = 0; i < n_spin; i++)
		pthread_join(spinners[i].thread, NULL);
	if (strcmp(mode, "restart") == 0 && atomic_load(&usr1) != 1)
		FAIL("the SIGUSR1 handler ran %d times, expected 1", atomic_load(&usr1));
	if (atomic_load(&failures))
		return 1;
	printf("%s: blocked, restarted and spinning threads survived; their syscalls reach the "
	       "hook\n", name);
	return 0;
}
