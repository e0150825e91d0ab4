/*
 * log_file_test.c -- tests of src/log.c linked in directly (with the formatter, and a raw
 * si_syscall6 of its own instead of the library's entry.S): the files INTERCEPT_LOG opens and
 * what ends up in them -- pid suffix, truncation, append, the log kept across execve, forked
 * children, INTERCEPT_LOG_CHILDREN=0, an unusable or symlinked path (one message, no log), mode
 * 0600, timing, and 8 threads writing concurrently (every line whole, none lost).  Each scenario
 * runs in a forked child of its own, so the logger's state starts fresh every time.  It writes
 * only in its own temporary directory and never loads the library.
 *   usage: log_file_test [scenario]      (no scenario: all of them)
 */
#define _GNU_SOURCE
#include "log.h"
#include "log_format.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The library's raw syscall, for this test binary. */
long
si_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static char dir[256];
static int failed;

#define FAIL(...)                                                   \
	do {                                                        \
		fprintf(stderr, "  %s:%d: ", __func__, __LINE__);   \
		fprintf(stderr, __VA_ARGS__);                       \
		fprintf(stderr, "\n");                              \
		failed = 1;                                         \
	} while (0)

static struct si_object libc_obj = { .path = "/lib/libc.so.6", .base = 0x7f0000000000 };
static struct si_site site = { .syscall_addr = 0x7f0000001234, .object = &libc_obj };

/* A getpid line: "/lib/libc.so.6 0x1234 -- getpid() = <result>" */
static void
log_getpid(long result)
{
	long args[6] = { 0 };
	si_log_syscall(&site, 39, args, result, true);
}

static char *
slurp(const char *path)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

static void
expect_file(const char *path, const char *content)
{
	char *got = slurp(path);
	if (!got)
		FAIL("%s: missing", path);
	else if (strcmp(got, content) != 0)
		FAIL("%s: expected\n%s  got\n%s", path, content, got);
}

static void
path_in_dir(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (write(fd, s, strlen(s)) < 0)
		FAIL("write %s", path);
	close(fd);
}

static void
setup_env(const char *logname, const char *trunc, const char *children)
{
	char p[512];
	path_in_dir(p, sizeof(p), logname);
	setenv("INTERCEPT_LOG", p, 1);
	if (trunc)
		setenv("INTERCEPT_LOG_TRUNC", trunc, 1);
	else
		unsetenv("INTERCEPT_LOG_TRUNC");
	if (children)
		setenv("INTERCEPT_LOG_CHILDREN", children, 1);
	else
		unsetenv("INTERCEPT_LOG_CHILDREN");
	unsetenv("INTERCEPT_LOG_OWNER");
	unsetenv("INTERCEPT_LOG_TIMING");
}

static const char *self_exe;

/* Runs this binary again (as a logged program's execve would), in a child; returns its status. */
static int
exec_again(const char *mode, bool in_same_process)
{
	char *argv[] = { (char *)self_exe, (char *)mode, NULL };
	if (in_same_process) {
		execv(self_exe, argv);
		_exit(99);
	}
	pid_t pid = fork();
	if (pid == 0) {
		si_log_after_fork();
		execv(self_exe, argv);
		_exit(99);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

/* ---- scenarios */

static void
pid_suffix(void)
{
	setup_env("trace.log-", NULL, NULL);
	si_log_init();
	if (si_log_fd < 0)
		FAIL("no log");
	log_getpid(getpid());
	char p[512], line[128];
	snprintf(p, sizeof(p), "%s/trace.log-%d", dir, getpid());
	snprintf(line, sizeof(line), "/lib/libc.so.6 0x1234 -- getpid() = %d\n", getpid());
	expect_file(p, line);
	struct stat st;
	if (stat(p, &st) != 0 || (st.st_mode & 0777) != 0600)
		FAIL("mode %o, not 0600", st.st_mode & 0777);
	if (si_log_fd < 64)
		FAIL("log descriptor %d not moved out of the program's way", si_log_fd);
}

static void
truncates(void)
{
	char p[512];
	path_in_dir(p, sizeof(p), "t.log");
	write_file(p, "old line\n");
	setup_env("t.log", NULL, NULL);
	si_log_init();
	log_getpid(1);
	expect_file(p, "/lib/libc.so.6 0x1234 -- getpid() = 1\n");
}

static void
appends(void)
{
	char p[512];
	path_in_dir(p, sizeof(p), "a.log");
	write_file(p, "old line\n");
	setup_env("a.log", "0", NULL);
	si_log_init();
	log_getpid(1);
	expect_file(p, "old line\n/lib/libc.so.6 0x1234 -- getpid() = 1\n");
}

/* execve: the new image opens the log again, and appends (the tree's first open truncated). */
static void
exec_keeps_log(void)
{
	char p[512];
	path_in_dir(p, sizeof(p), "e.log");
	write_file(p, "stale\n");
	setup_env("e.log", NULL, NULL);
	si_log_init();
	log_getpid(1);
	pid_t pid = fork();
	if (pid == 0) {
		si_log_after_fork();
		log_getpid(2);
		exec_again("exec_child", true);	/* logs 3, in the same process */
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		FAIL("exec'd child did not log");
	expect_file(p, "/lib/libc.so.6 0x1234 -- getpid() = 1\n"
		       "/lib/libc.so.6 0x1234 -- getpid() = 2\n"
		       "/lib/libc.so.6 0x1234 -- getpid() = 3\n");
}

/* Same with a per-pid log: the exec'd image is the same process and appends to its own file. */
static void
exec_keeps_pid_log(void)
{
	setup_env("p.log-", NULL, NULL);
	si_log_init();
	pid_t pid = fork();
	if (pid == 0) {
		si_log_after_fork();
		log_getpid(2);
		exec_again("exec_child", true);
	}
	int st;
	waitpid(pid, &st, 0);
	char p[512];
	snprintf(p, sizeof(p), "%s/p.log-%d", dir, pid);
	expect_file(p, "/lib/libc.so.6 0x1234 -- getpid() = 2\n"
		       "/lib/libc.so.6 0x1234 -- getpid() = 3\n");
	snprintf(p, sizeof(p), "%s/p.log-%d", dir, getpid());
	expect_file(p, "");
}

static void
fork_shares_log(void)
{
	char p[512];
	path_in_dir(p, sizeof(p), "f.log");
	setup_env("f.log", NULL, NULL);
	si_log_init();
	pid_t pid = fork();
	if (pid == 0) {
		si_log_after_fork();
		log_getpid(2);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	log_getpid(1);
	expect_file(p, "/lib/libc.so.6 0x1234 -- getpid() = 2\n"
		       "/lib/libc.so.6 0x1234 -- getpid() = 1\n");
}

static void
children_off(void)
{
	char p[512];
	path_in_dir(p, sizeof(p), "c.log");
	setup_env("c.log", NULL, "0");
	pid_t logged = fork();
	if (logged == 0) {
		/* the logged process: its forked children and their programs are not logged */
		si_log_init();
		log_getpid(1);
		pid_t pid = fork();
		if (pid == 0) {
			si_log_after_fork();
			_exit(si_log_fd == -1 ? 0 : 1);
		}
		int st;
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			_exit(5);
		if (exec_again("exec_child", false) != 3)
			_exit(6);
		/* but the logged process itself, after an execve, still is */
		exec_again("exec_child", true);
	}
	int st;
	waitpid(logged, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		FAIL("status %d (5: forked child logs, 6: its program logs, 3: exec not logged)",
		     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	expect_file(p, "/lib/libc.so.6 0x1234 -- getpid() = 1\n"
		       "/lib/libc.so.6 0x1234 -- getpid() = 3\n");
}

/* An unusable path: no log, one message on stderr, nothing else. */
static void
check_unusable(const char *logname, const char *reason)
{
	char err[512];
	path_in_dir(err, sizeof(err), "stderr.txt");
	int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int saved = dup(2);
	dup2(fd, 2);
	close(fd);
	setup_env(logname, NULL, NULL);
	si_log_init();
	log_getpid(1);	/* must not crash or write anywhere */
	dup2(saved, 2);
	close(saved);
	if (si_log_fd != -1)
		FAIL("%s: log open", logname);
	char *msg = slurp(err);
	int lines = 0;
	for (char *c = msg; c && *c; c++)
		lines += *c == '\n';
	if (!msg || lines != 1 || !strstr(msg, "INTERCEPT_LOG") || !strstr(msg, reason))
		FAIL("%s: message: %s", logname, msg ? msg : "(none)");
}

static void
unusable_path(void)
{
	check_unusable("no/such/dir/x.log", "No such file or directory");
}

static void
symlink_refused(void)
{
	char target[512], link[512];
	path_in_dir(target, sizeof(target), "target");
	path_in_dir(link, sizeof(link), "link.log");
	write_file(target, "precious\n");
	if (symlink(target, link) != 0)
		FAIL("symlink");
	check_unusable("link.log", "Too many levels of symbolic links");
	expect_file(target, "precious\n");
}

static void
timing(void)
{
	char p[512];
	path_in_dir(p, sizeof(p), "time.log");
	setup_env("time.log", NULL, NULL);
	setenv("INTERCEPT_LOG_TIMING", "1", 1);
	si_log_init();
	long args[6] = { 0 };
	si_log_syscall(&site, 39, args, 0, false);
	usleep(2000);
	si_log_syscall(&site, 39, args, 7, true);
	char *got = slurp(p);
	regex_t re;
	regcomp(&re, "^/lib/libc.so.6 0x1234 -- getpid\\(\\) = \\?\n"
		     "/lib/libc.so.6 0x1234 -- getpid\\(\\) = 7 <[0-9]+\\.[0-9]{6}>\n$",
		REG_EXTENDED);
	if (!got || regexec(&re, got, 0, NULL, 0) != 0)
		FAIL("timing lines: %s", got ? got : "(none)");
	else if (strtod(strrchr(got, '<') + 1, NULL) < 0.0019)	/* it slept 2 ms */
		FAIL("time too short: %s", got);
	regfree(&re);
}

#define THREADS 8
#define PER_THREAD 1000

static void *
thread_main(void *arg)
{
	long args[6] = { (long)arg, 0 };
	for (int i = 0; i < PER_THREAD; i++) {
		si_log_syscall(&site, 110, args, 0, false);
		si_log_syscall(&site, 110, args, (long)arg, true);
	}
	return NULL;
}

static void
threads(void)
{
	char p[512];
	path_in_dir(p, sizeof(p), "threads.log");
	setup_env("threads.log", NULL, NULL);
	si_log_init();
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, thread_main, (void *)(i + 1));
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	FILE *f = fopen(p, "r");
	regex_t re;
	regcomp(&re, "^/lib/libc\\.so\\.6 0x1234 -- getppid\\(\\) = (\\?|[1-8])$", REG_EXTENDED);
	char line[256];
	int before = 0, after[THREADS + 1] = { 0 }, bad = 0;
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (regexec(&re, line, 0, NULL, 0) != 0) {
			if (bad++ < 3)
				FAIL("malformed line: %s", line);
			continue;
		}
		char last = line[strlen(line) - 1];
		if (last == '?')
			before++;
		else
			after[last - '0']++;
	}
	if (f)
		fclose(f);
	regfree(&re);
	if (before != THREADS * PER_THREAD)
		FAIL("%d before lines, expected %d", before, THREADS * PER_THREAD);
	for (int i = 1; i <= THREADS; i++)
		if (after[i] != PER_THREAD)
			FAIL("thread %d: %d result lines", i, after[i]);
}

/* A relative path means the directory current at init, also for a child that moved away. */
static void
relative_path(void)
{
	if (chdir(dir) != 0)
		FAIL("chdir");
	setenv("INTERCEPT_LOG", "rel.log-", 1);
	unsetenv("INTERCEPT_LOG_OWNER");
	si_log_init();
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir("/") != 0)
			_exit(1);
		si_log_after_fork();
		log_getpid(2);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	char p[512];
	snprintf(p, sizeof(p), "%s/rel.log-%d", dir, pid);
	expect_file(p, "/lib/libc.so.6 0x1234 -- getpid() = 2\n");
}

static void
no_log(void)
{
	setup_env("x", NULL, NULL);
	unsetenv("INTERCEPT_LOG");
	si_log_init();
	if (si_log_fd != -1)
		FAIL("log without INTERCEPT_LOG");
	log_getpid(1);
	setenv("INTERCEPT_LOG", "", 1);
	si_log_init();
	if (si_log_fd != -1)
		FAIL("log with an empty INTERCEPT_LOG");
}

static const struct {
	const char *name;
	void (*fn)(void);
} scenarios[] = {
	{ "pid_suffix", pid_suffix },
	{ "truncates", truncates },
	{ "appends", appends },
	{ "exec_keeps_log", exec_keeps_log },
	{ "exec_keeps_pid_log", exec_keeps_pid_log },
	{ "fork_shares_log", fork_shares_log },
	{ "children_off", children_off },
	{ "unusable_path", unusable_path },
	{ "symlink_refused", symlink_refused },
	{ "timing", timing },
	{ "threads", threads },
	{ "relative_path", relative_path },
	{ "no_log", no_log },
};

int
main(int argc, char **argv)
{
	self_exe = "/proc/self/exe";
	if (argc > 1 && strncmp(argv[1], "exec_child", 10) == 0) {
		/* the program a logged process executed: logs "3" if the log is its to write */
		si_log_init();
		if (si_log_fd < 0)
			return 3;
		log_getpid(3);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s/si_log_test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
									  : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	int passed = 0, failures = 0;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (argc > 1 && strcmp(argv[1], scenarios[i].name) != 0)
			continue;
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			scenarios[i].fn();
			fflush(NULL);
			_exit(failed);
		}
		int st;
		waitpid(pid, &st, 0);
		bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		printf("%s %s\n", ok ? "ok  " : "FAIL", scenarios[i].name);
		ok ? passed++ : failures++;
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
