/*
 * log_target.c -- a program for the INTERCEPT_LOG integration tests (check_log.py) to run under
 * the library.  Each mode makes a known set of syscalls through libc:
 *   decoded DIR  open/openat/write/read/mmap/fork (clone)/pthread (clone3)/syscall(1000)/a failing
 *                execve, then execve of itself ("after_exec"), which prints "exec ok"
 *   threads      8 threads, 1000 getppid() each
 *   quiet        prints "hello from the program" and exits with status 7
 *   forker       forks one child; both print their pid ("parent N" / "child N")
 *   hooked       syscall(1000, 1, 2, 3), which log_hook.so answers; prints "result N"
 *   signals      20000 getpid() while a 200us timer's SIGALRM handler calls getppid(); prints
 *                "handled N", the number of handler runs
 *   blocked      3 getppid(), then read(0, buf, 1), which waits until the test writes a byte
 *   closefds DIR closes every descriptor from 3 up (close_range), calls getppid, then opens files
 *                in DIR until it holds a number above the log's, writing "data\n" to each;
 *                closes them, dup2()s a pipe onto the log's old number and writes "x" through
 *                it; prints "ok" when the pipe got it
 *   quick_io DIR 8 threads, 1000 times each: write(/dev/null, "abc", 3), pread64 and fstat of a
 *                file in DIR, write and read of 1 byte through a pipe of its own
 * Its checks live in check_log.py; it only makes the calls, and reports failures by its status.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void *
nothing(void *arg)
{
	return arg;
}

static int
decoded(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/target-file", dir);

	syscall(SYS_open, "/nonexistent/log-target", O_RDONLY);
	int fd = openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, "hello\n", 6) != 6)
		return 1;
	close(fd);
	fd = openat(AT_FDCWD, path, O_RDONLY);
	char buf[100];
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 6)
		return 1;
	close(fd);
	void *m = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	munmap(m, 8192);

	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	pthread_t t;
	pthread_create(&t, NULL, nothing, NULL);
	pthread_join(t, NULL);

	syscall(1000, 1, 2, 3);

	char *args[] = { "no-such-program", NULL };
	execve("/nonexistent/no-such-program", args, environ);
	char *again[] = { "/proc/self/exe", "after_exec", NULL };
	fflush(stdout);
	execve("/proc/self/exe", again, environ);
	return 1;
}

#define THREADS 8
#define PER_THREAD 1000

static void *
getppid_loop(void *arg)
{
	for (int i = 0; i < PER_THREAD; i++)
		getppid();
	return arg;
}

/* The descriptor INTERCEPT_LOG writes to: the one whose link names the log file. */
static int
log_descriptor(void)
{
	char want[4096], link[64], got[4096];
	const char *path = getenv("INTERCEPT_LOG");
	if (!path || !realpath(path, want))
		return -1;
	for (int fd = 3; fd < 4096; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, got, sizeof(got) - 1);
		if (n > 0) {
			got[n] = '\0';
			if (strcmp(got, want) == 0)
				return fd;
		}
	}
	return -1;
}

static int
closefds(const char *dir)
{
	int log_fd = log_descriptor();
	if (log_fd < 0)
		return 10;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)log_fd + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (syscall(436 /* close_range */, 3, ~0U, 0) != 0)
		return 11;
	getppid();
	static int fds[8192];
	int n = 0, top = -1;
	char path[4096];
	while (top <= log_fd && n < 8192) {
		snprintf(path, sizeof(path), "%s/f%d", dir, n);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return 12;
		if (write(fd, "data\n", 5) != 5)
			return 13;
		fds[n++] = top = fd;
	}
	getppid();
	for (int i = 0; i < n; i++)
		close(fds[i]);
	int p[2];
	char c = 0;
	if (pipe(p) != 0 || dup2(p[1], log_fd) != log_fd || write(log_fd, "x", 1) != 1 ||
	    read(p[0], &c, 1) != 1 || c != 'x')
		return 14;
	getppid();
	printf("ok\n");
	return 0;
}

static int null_fd, file_fd;

static void *
quick_io_loop(void *arg)
{
	int p[2];
	char c, buf[4];
	struct stat st;
	if (pipe(p) != 0)
		return (void *)1;
	for (int i = 0; i < PER_THREAD; i++) {
		if (write(null_fd, "abc", 3) != 3 || pread(file_fd, buf, 4, 0) != 4 ||
		    fstat(file_fd, &st) != 0 || write(p[1], "p", 1) != 1 || read(p[0], &c, 1) != 1)
			return (void *)1;
	}
	close(p[0]);
	close(p[1]);
	return arg;
}

static int
quick_io(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/quick-file", dir);
	null_fd = open("/dev/null", O_WRONLY);
	file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (null_fd < 0 || file_fd < 0 || write(file_fd, "data", 4) != 4)
		return 1;
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, quick_io_loop, NULL);
	int bad = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad |= r != NULL;
	}
	return bad;
}

static volatile sig_atomic_t handled;

static void
on_alarm(int sig)
{
	(void)sig;
	getppid();
	handled++;
}

static int
signals(void)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 20000; i++)
		getpid();
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	printf("handled %d\n", (int)handled);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "decoded") == 0 && argc > 2)
		return decoded(argv[2]);
	if (strcmp(mode, "closefds") == 0 && argc > 2)
		return closefds(argv[2]);
	if (strcmp(mode, "quick_io") == 0 && argc > 2)
		return quick_io(argv[2]);
	if (strcmp(mode, "after_exec") == 0) {
		printf("exec ok\n");
		return 0;
	}
	if (strcmp(mode, "threads") == 0) {
		pthread_t t[THREADS];
		for (int i = 0; i < THREADS; i++)
			pthread_create(&t[i], NULL, getppid_loop, NULL);
		for (int i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
	if (strcmp(mode, "quiet") == 0) {
		printf("hello from the program\n");
		return 7;
	}
	if (strcmp(mode, "forker") == 0) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			printf("child %d\n", getpid());
			return 0;
		}
		waitpid(pid, NULL, 0);
		printf("parent %d\n", getpid());
		return 0;
	}
	if (strcmp(mode, "signals") == 0)
		return signals();
	if (strcmp(mode, "blocked") == 0) {
		char c;
		for (int i = 0; i < 3; i++)
			getppid();
		return read(0, &c, 1) == 1 && c == 'x' ? 0 : 1;
	}
	if (strcmp(mode, "hooked") == 0) {
		printf("result %ld\n", syscall(1000, 1, 2, 3));
		return 0;
	}
	fprintf(stderr, "usage: log_target decoded DIR | threads | quiet | forker | hooked | signals | "
			"blocked | quick_io DIR | closefds DIR\n");
	return 2;
}
