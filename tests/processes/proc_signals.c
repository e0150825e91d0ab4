/*
 * proc_signals.c -- signals delivered while syscalls are running.  Cases (one per run):
 *   timer      a 100 us interval timer whose SIGALRM handler calls getpid() and write()s a byte
 *              to a pipe, while the main thread and a second thread make syscalls in a loop
 *              (getppid, read of that pipe, write to /dev/null) until 2000 signals were handled;
 *              every syscall result and the byte counts must be consistent.
 *   restart    a blocking read() on a pipe with a SA_RESTART handler: a child process sends
 *              SIGUSR1 three times, each while the parent is asleep in read(), then writes the
 *              data; read() must return that data, after 3 handler calls.
 *   norestart  the same without SA_RESTART, signalled by a thread: read() returns -1/EINTR; data
 *              written afterwards is then read intact.
 *   nanosleep  nanosleep(5 s) interrupted by a signal after 20 ms, with and without SA_RESTART:
 *              -1/EINTR both times, the remaining time strictly between 0 and 5 s.
 * Each prints deterministic lines and exits 0 when all is as expected.  Waits are bounded (the
 * waiting side gives up after 30 s and reports it).  It must never print counts that depend on
 * timing, and its handlers must never use anything but async-signal-safe calls.
 *
 * usage: proc_signals timer|restart|norestart|nanosleep
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_LIMIT_NS (30L * 1000000000L)

static int failures;

static void
check(const char *what, int ok)
{
	printf("%-68s %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
	fflush(stdout);
}

static long
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int
install(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

/* ---- timer */

static pid_t my_pid;
static int timer_pipe[2], devnull;
static atomic_long handled, written, pipe_full, handler_bad;
static atomic_long drained, loop_bad;
static atomic_int stop;

static void
on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	if (getpid() != my_pid)
		atomic_fetch_add(&handler_bad, 1);
	ssize_t r = write(timer_pipe[1], "x", 1);
	if (r == 1)
		atomic_fetch_add(&written, 1);
	else if (r < 0 && errno == EAGAIN)
		atomic_fetch_add(&pipe_full, 1);
	else
		atomic_fetch_add(&handler_bad, 1);
	atomic_fetch_add(&handled, 1);
	errno = saved;
}

static void
syscall_round(pid_t ppid, char *buf)
{
	if (getppid() != ppid)
		atomic_fetch_add(&loop_bad, 1);
	ssize_t r = read(timer_pipe[0], buf, 64);
	if (r > 0)
		atomic_fetch_add(&drained, r);
	else if (!(r < 0 && errno == EAGAIN))
		atomic_fetch_add(&loop_bad, 1);
	if (write(devnull, buf, 16) != 16)
		atomic_fetch_add(&loop_bad, 1);
}

static void *
second_thread(void *arg)
{
	pid_t ppid = *(pid_t *)arg;
	char buf[64] = "";
	while (!atomic_load(&stop))
		syscall_round(ppid, buf);
	return NULL;
}

static int
test_timer(void)
{
	my_pid = getpid();
	pid_t ppid = getppid();
	devnull = open("/dev/null", O_WRONLY);
	if (devnull < 0 || pipe2(timer_pipe, O_NONBLOCK) || install(SIGALRM, on_alarm, SA_RESTART))
		return 2;
	pthread_t t;
	if (pthread_create(&t, NULL, second_thread, &ppid))
		return 2;
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	setitimer(ITIMER_REAL, &it, NULL);
	char buf[64] = "";
	long deadline = now_ns() + WAIT_LIMIT_NS;
	while (atomic_load(&handled) < 2000 && now_ns() < deadline)
		syscall_round(ppid, buf);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	long r;
	while ((r = read(timer_pipe[0], buf, sizeof(buf))) > 0)
		atomic_fetch_add(&drained, r);
	check("timer: at least 2000 SIGALRM handled within the time limit",
	      atomic_load(&handled) >= 2000);
	check("timer: every syscall in the handlers gave the right result",
	      atomic_load(&handler_bad) == 0);
	check("timer: every syscall in the loops gave the right result", atomic_load(&loop_bad) == 0);
	check("timer: bytes read == bytes the handlers wrote", atomic_load(&drained) == atomic_load(&written));
	check("timer: handler calls == writes + full pipe",
	      atomic_load(&handled) == atomic_load(&written) + atomic_load(&pipe_full));
	if (failures)
		fprintf(stderr, "handled %ld written %ld full %ld bad %ld drained %ld loop_bad %ld\n",
			atomic_load(&handled), atomic_load(&written), atomic_load(&pipe_full),
			atomic_load(&handler_bad), atomic_load(&drained), atomic_load(&loop_bad));
	return 0;
}

/* ---- blocking read interrupted */

/* Shared with the signalling child or thread. */
struct share {
	atomic_int reading;	/* the main thread is about to block / is blocked in the call */
	atomic_int handled;	/* SIGUSR1 handler calls */
	atomic_int gave_up;	/* the signaller waited WAIT_LIMIT_NS in vain */
};
static struct share *sh;

static void
on_usr1(int sig)
{
	(void)sig;
	int saved = errno;
	(void)getpid();
	atomic_fetch_add(&sh->handled, 1);
	errno = saved;
}

/* Whether thread `tid` of process `pid` is asleep ('S') according to /proc. */
static int
asleep(pid_t pid, pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/* Waits until the main thread is asleep inside the call; 0 when it never was (gave up). */
static int
wait_blocked(pid_t pid, pid_t tid)
{
	long deadline = now_ns() + WAIT_LIMIT_NS;
	while (now_ns() < deadline) {
		if (atomic_load(&sh->reading) && asleep(pid, tid))
			return 1;
		sleep_ms(1);
	}
	atomic_store(&sh->gave_up, 1);
	return 0;
}

/*
 * Sends `count` signals, each once the target has slept for 20 ms and after the previous one
 * was handled.  The 20 ms matter for nanosleep: the kernel reports the remaining time from the
 * timer's hard expiry (request + timer slack, 50 us by default), so a signal within the first
 * 50 us would legitimately leave more than the request.
 */
static int
signal_blocked(pid_t pid, pid_t tid, int count)
{
	for (int i = 0; i < count; i++) {
		do {
			if (!wait_blocked(pid, tid))
				return 0;
			sleep_ms(20);
		} while (!asleep(pid, tid));
		int before = atomic_load(&sh->handled);
		if (tgkill(pid, tid, SIGUSR1))
			return 0;
		long deadline = now_ns() + WAIT_LIMIT_NS;
		while (atomic_load(&sh->handled) == before) {
			if (now_ns() > deadline) {
				atomic_store(&sh->gave_up, 1);
				return 0;
			}
			sleep_ms(1);
		}
	}
	return 1;
}

static int
test_restart(void)
{
	int fds[2];
	if (pipe(fds) || install(SIGUSR1, on_usr1, SA_RESTART))
		return 2;
	pid_t parent = getpid();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		int ok = signal_blocked(parent, parent, 3);
		if (ok && write(fds[1], "data\n", 5) != 5)
			ok = 0;
		_exit(ok ? 0 : 1);
	}
	close(fds[1]);
	char buf[64] = "";
	atomic_store(&sh->reading, 1);
	ssize_t r = read(fds[0], buf, sizeof(buf));
	int e = errno;
	atomic_store(&sh->reading, 0);
	int status = 0;
	int child_ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		       WEXITSTATUS(status) == 0;
	check("restart: child signalled 3 times while read() slept, then wrote",
	      child_ok && !atomic_load(&sh->gave_up));
	check("restart: read() returned the 5 bytes written after the signals",
	      r == 5 && !memcmp(buf, "data\n", 5));
	check("restart: the handler ran 3 times", atomic_load(&sh->handled) == 3);
	if (r != 5)
		fprintf(stderr, "read returned %zd errno %d, handled %d\n", r, e,
			atomic_load(&sh->handled));
	return 0;
}

struct signaller {
	pid_t pid, tid;
	int fd;		/* write end: "late\n" is written there once the main thread says so */
	atomic_int write_now;
	int ok;
};

static void *
signaller_main(void *arg)
{
	struct signaller *s = arg;
	s->ok = signal_blocked(s->pid, s->tid, 1);
	if (s->fd >= 0) {
		long deadline = now_ns() + WAIT_LIMIT_NS;
		while (!atomic_load(&s->write_now) && now_ns() < deadline)
			sleep_ms(1);
		if (write(s->fd, "late\n", 5) != 5)
			s->ok = 0;
	}
	return NULL;
}

static int
test_norestart(void)
{
	int fds[2];
	if (pipe(fds) || install(SIGUSR1, on_usr1, 0))
		return 2;
	struct signaller s = { .pid = getpid(), .tid = gettid(), .fd = fds[1] };
	pthread_t t;
	if (pthread_create(&t, NULL, signaller_main, &s))
		return 2;
	char buf[64] = "";
	atomic_store(&sh->reading, 1);
	ssize_t r = read(fds[0], buf, sizeof(buf));
	int e = errno;
	atomic_store(&sh->reading, 0);
	check("norestart: read() returned -1 with errno EINTR", r == -1 && e == EINTR);
	check("norestart: the handler ran once", atomic_load(&sh->handled) == 1);
	atomic_store(&s.write_now, 1);
	ssize_t r2 = read(fds[0], buf, sizeof(buf));
	pthread_join(t, NULL);
	check("norestart: data written after the interruption read intact",
	      r2 == 5 && !memcmp(buf, "late\n", 5));
	check("norestart: the thread signalled while read() slept", s.ok && !atomic_load(&sh->gave_up));
	if (r != -1 || e != EINTR)
		fprintf(stderr, "read returned %zd errno %d, handled %d\n", r, e,
			atomic_load(&sh->handled));
	return 0;
}

/* ---- nanosleep */

static int
one_nanosleep(int flags, const char *label)
{
	if (install(SIGUSR1, on_usr1, flags))
		return 2;
	atomic_store(&sh->handled, 0);
	struct signaller s = { .pid = getpid(), .tid = gettid(), .fd = -1 };
	pthread_t t;
	if (pthread_create(&t, NULL, signaller_main, &s))
		return 2;
	struct timespec req = { 5, 0 }, rem = { -1, -1 };
	atomic_store(&sh->reading, 1);
	int r = nanosleep(&req, &rem);
	int e = errno;
	atomic_store(&sh->reading, 0);
	pthread_join(t, NULL);
	char what[96];
	snprintf(what, sizeof(what), "nanosleep %s: -1 with errno EINTR", label);
	check(what, r == -1 && e == EINTR);
	snprintf(what, sizeof(what), "nanosleep %s: remaining time in (0, 5 s)", label);
	int rem_ok = rem.tv_sec >= 0 && rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000L &&
		     (rem.tv_sec > 0 || rem.tv_nsec > 0) && rem.tv_sec < 5;
	check(what, rem_ok);
	if (!rem_ok || r != -1 || e != EINTR)
		fprintf(stderr, "nanosleep %s returned %d errno %d, rem {%ld, %ld}\n", label, r, e,
			(long)rem.tv_sec, (long)rem.tv_nsec);
	snprintf(what, sizeof(what), "nanosleep %s: handler ran once, signalled while asleep", label);
	check(what, atomic_load(&sh->handled) == 1 && s.ok && !atomic_load(&sh->gave_up));
	return 0;
}

static int
test_nanosleep(void)
{
	int r = one_nanosleep(SA_RESTART, "(SA_RESTART)");
	if (!r)
		r = one_nanosleep(0, "(no SA_RESTART)");
	return r;
}

int
main(int argc, char **argv)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	int r;
	const char *c = argc == 2 ? argv[1] : "";
	if (!strcmp(c, "timer"))
		r = test_timer();
	else if (!strcmp(c, "restart"))
		r = test_restart();
	else if (!strcmp(c, "norestart"))
		r = test_norestart();
	else if (!strcmp(c, "nanosleep"))
		r = test_nanosleep();
	else {
		fprintf(stderr, "usage: %s timer|restart|norestart|nanosleep\n", argv[0]);
		return 2;
	}
	if (r) {
		fprintf(stderr, "setup failed: %s\n", strerror(errno));
		return r;
	}
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
