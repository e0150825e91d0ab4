/*
 * log_file_test.c -- tests of src/log.c linked in directly (with the formatter, and a raw
 * si_syscall6 of its own instead of the library's entry.S): the files INTERCEPT_LOG opens and
 * what ends up in them -- pid suffix, truncation, append, the log kept across execve, forked
 * children, INTERCEPT_LOG_CHILDREN=0, an unusable or symlinked path (one message, no log), mode
 * 0600, timing, and 8 threads writing concurrently (every line whole, none lost).  And the
 * si_log_before/si_log_after pair: which syscalls get their "= ?" line before the call and which
 * get both lines in one write after it, that both ways give the same text as si_log_syscall
 * (long lines, bad pointers, buffers the kernel fills), and 8 threads writing pairs.  Each scenario
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
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* dispatch.c's, for this test binary: the quick_fds scenario plays a vfork child with it. */
static bool playing_vfork_child;
bool
si_in_vfork_child(void)
{
	return playing_vfork_child;
}

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

/* ---- si_log_before / si_log_after */

/* Bytes in the file at path (0 when missing). */
static long
file_len(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* The two lines si_log_syscall gives for a call, into want (the reference text). */
static void
reference_lines(const char *log, char *want, size_t cap, const struct si_site *s, long nr,
		const long *args, long result)
{
	long before = file_len(log);
	si_log_syscall(s, nr, args, 0, false);
	si_log_syscall(s, nr, args, result, true);
	char *got = slurp(log);
	snprintf(want, cap, "%s", got ? got + before : "");
}

/*
 * Logs one call through si_log_before/si_log_after and checks: whether the "= ?" line was in the
 * file before si_log_after (expect_early), and that the two lines are exactly what
 * si_log_syscall writes for it.  kernel_writes, when not NULL, runs between the two, as the
 * kernel would (filling an output buffer).
 */
static void
check_pair(const char *log, const char *what, const struct si_site *s, long nr, const long *args,
	   long result, bool hook_runs, bool expect_early, void (*kernel_writes)(void))
{
	static char want[8192];
	if (!kernel_writes) {
		reference_lines(log, want, sizeof(want), s, nr, args, result);
	} else {
		/* the reference: "= ?" before the kernel writes, the result line after */
		long at = file_len(log);
		si_log_syscall(s, nr, args, 0, false);
		kernel_writes();
		si_log_syscall(s, nr, args, result, true);
		char *got = slurp(log);
		snprintf(want, sizeof(want), "%s", got ? got + at : "");
	}
	long start = file_len(log);
	struct si_log_pending p;
	si_log_before(&p, s, nr, args, hook_runs);
	bool early = file_len(log) > start;
	if (early != expect_early)
		FAIL("%s: \"= ?\" line %s before the call", what, early ? "written" : "not written");
	if (kernel_writes)
		kernel_writes();
	si_log_after(&p, s, nr, args, result);
	char *got = slurp(log);
	if (!got || strcmp(got + start, want) != 0)
		FAIL("%s:\n got  %s want %s", what, got ? got + start : "(none)", want);
}

static char out_buf[64];
static void
fill_out_buf(void)
{
	strcpy(out_buf, "filled by the kernel");
}

static void
pairs(void)
{
	char p[512];
	path_in_dir(p, sizeof(p), "pairs.log");
	setup_env("pairs.log", NULL, NULL);
	si_log_init();
	long none[6] = { 0 };
	/* never waits: both lines after the call, in one write */
	check_pair(p, "getppid", &site, 110, none, 77, false, false, NULL);
	/* ...unless a hook runs in between */
	check_pair(p, "getppid hooked", &site, 110, none, 77, true, true, NULL);
	/* may block (a pipe): "= ?" first; the result line reuses it, the string read once */
	int pfd[2];
	if (pipe(pfd) != 0)
		FAIL("pipe");
	long wr[6] = { pfd[1], (long)"hello\n", 6 };
	check_pair(p, "write", &site, 1, wr, 6, false, true, NULL);
	long wr_err[6] = { pfd[1], (long)"hello\n", 6 };
	check_pair(p, "write error", &site, 1, wr_err, -32, false, true, NULL);
	long bad[6] = { pfd[1], 16, 6 };	/* an unreadable buffer prints as a pointer */
	check_pair(p, "write bad pointer", &site, 1, bad, -14, false, true, NULL);
	/* buffers the kernel fills are read after the call, for both kinds */
	long rd[6] = { pfd[0], (long)out_buf, 64 };
	memset(out_buf, 0, sizeof(out_buf));
	check_pair(p, "read", &site, 0, rd, 20, false, true, fill_out_buf);
	long cwd[6] = { (long)out_buf, 64 };
	memset(out_buf, 0, sizeof(out_buf));
	check_pair(p, "getcwd", &site, 79, cwd, 21, false, false, fill_out_buf);
	/* argument-dependent entries */
	long block[6] = { 0 /* SIG_BLOCK */, (long)out_buf, 0, 8 };
	check_pair(p, "sigprocmask block", &site, 14, block, 0, false, false, NULL);
	long unblock[6] = { 1 /* SIG_UNBLOCK */, (long)out_buf, 0, 8 };
	check_pair(p, "sigprocmask unblock", &site, 14, unblock, 0, false, true, NULL);
	long anon[6] = { 0, 8192, 3, 0x22, -1, 0 };
	check_pair(p, "mmap anonymous", &site, 9, anon, 0x7f0000100000, false, false, NULL);
	long fixed[6] = { 0x7f0000100000, 8192, 3, 0x32, -1, 0 };
	check_pair(p, "mmap fixed", &site, 9, fixed, 0x7f0000100000, false, true, NULL);
	long close_pipe[6] = { pfd[0] };	/* closing a pipe may wait (the other end) */
	check_pair(p, "close", &site, 3, close_pipe, 0, false, true, NULL);
	check_pair(p, "unknown number", &site, 1000, none, -38, false, true, NULL);
	check_pair(p, "no site", NULL, 110, none, 5, false, false, NULL);

	/* lines longer than the small buffer: same text, and still whole */
	static struct si_object long_obj = { .base = 0x7f0000000000 };
	memset(long_obj.path, 'p', sizeof(long_obj.path) - 1);
	long_obj.path[0] = '/';
	struct si_site long_site = { .syscall_addr = 0x7f0000001234, .object = &long_obj };
	check_pair(p, "long getppid", &long_site, 110, none, 1, false, false, NULL);
	check_pair(p, "long write", &long_site, 1, wr, 6, false, true, NULL);
	memset(out_buf, 0, sizeof(out_buf));
	check_pair(p, "long getcwd", &long_site, 79, cwd, 21, false, false, fill_out_buf);
	/* the pair no longer fits the small buffer, each line alone still does */
	static struct si_object mid_obj = { .base = 0x7f0000000000 };
	memset(mid_obj.path, 'q', 250);
	mid_obj.path[0] = '/';
	struct si_site mid_site = { .syscall_addr = 0x7f0000001234, .object = &mid_obj };
	check_pair(p, "medium getppid", &mid_site, 110, none, 1, false, false, NULL);
	memset(out_buf, 0, sizeof(out_buf));
	check_pair(p, "medium getcwd", &mid_site, 79, cwd, 21, false, false, fill_out_buf);
	static char long_buf[1500];
	memset(long_buf, 'b', sizeof(long_buf));
	long s_long[6] = { pfd[1], (long)long_buf, 1000 };
	check_pair(p, "write long buffer", &site, 1, s_long, 1000, false, true, NULL);
}

/*
 * Reads and writes on quick descriptors (/dev/null, a file of a local file system) are paired;
 * on a pipe, or once the number names a pipe, they are not; the buffers shown are the same
 * whether they were read directly (paired, after the kernel took them) or not.
 */
static int dup_from, dup_to;
static void
do_dup2(void)
{
	if (dup2(dup_from, dup_to) != dup_to)
		FAIL("dup2");
}

static bool
local_fs(const char *path)
{
	struct statfs fs;
	return statfs(path, &fs) == 0 && (fs.f_type == 0xEF53 || fs.f_type == 0x01021994 ||
					  fs.f_type == 0x58465342 || fs.f_type == 0x9123683E ||
					  fs.f_type == 0x794C7630);
}

static void
quick_fds(void)
{
	char p[512], file[512];
	path_in_dir(p, sizeof(p), "quick.log");
	path_in_dir(file, sizeof(file), "data");
	setup_env("quick.log", NULL, NULL);
	si_log_init();
	int null_fd = open("/dev/null", O_RDWR), file_fd = open(file, O_RDWR | O_CREAT, 0600);
	int pfd[2];
	if (null_fd < 0 || file_fd < 0 || pipe(pfd) != 0)
		FAIL("setup");
	long wr_null[6] = { null_fd, (long)"to the void\n", 12 };
	check_pair(p, "write /dev/null", &site, 1, wr_null, 12, false, false, NULL);
	check_pair(p, "write /dev/null, hooked", &site, 1, wr_null, 12, true, true, NULL);
	long partial[6] = { null_fd, (long)"to the void\n", 12 };
	check_pair(p, "partial write /dev/null", &site, 1, partial, 3, false, false, NULL);
	long rd_null[6] = { null_fd, (long)out_buf, 64 };
	memset(out_buf, 0, sizeof(out_buf));
	check_pair(p, "read /dev/null", &site, 0, rd_null, 20, false, false, fill_out_buf);
	long wr_file[6] = { file_fd, (long)"data\n", 5 };
	if (local_fs(file))
		check_pair(p, "write local file", &site, 1, wr_file, 5, false, false, NULL);
	else
		printf("  (%s is not on a local file system: not checked)\n", file);
	long wr_pipe[6] = { pfd[1], (long)"x", 1 };
	check_pair(p, "write pipe", &site, 1, wr_pipe, 1, false, true, NULL);
	long high[6] = { 1500, (long)"x", 1 };
	check_pair(p, "fd beyond the table", &site, 1, high, -9, false, true, NULL);

	/* dup2 a pipe over the /dev/null number, as the program would: no longer quick */
	dup_from = pfd[1];
	dup_to = null_fd;
	long dup_args[6] = { pfd[1], null_fd };
	check_pair(p, "dup2", &site, 33, dup_args, null_fd, false, true, do_dup2);
	long wr_was_null[6] = { null_fd, (long)"x", 1 };
	check_pair(p, "write dup2'ed pipe", &site, 1, wr_was_null, 1, false, true, NULL);
	/* close is paired while no other thread can be handed the number before the lines */
	long close_args[6] = { file_fd };
	check_pair(p, "close quick fd", &site, 3, close_args, 0, false, !local_fs(file), NULL);
	int other = open("/dev/null", O_RDONLY);
	long thread_flags[6] = { 0x3d0f00 /* CLONE_VM|CLONE_FS|CLONE_FILES|... */, 0x10000 };
	si_log_syscall(&site, 56, thread_flags, 0, false);
	long close_other[6] = { other };
	check_pair(p, "close quick fd, threads", &site, 3, close_other, 0, false, true, NULL);

	/* a vfork child uses what it learns but keeps none of it: the parent's table differs */
	int fresh = open("/dev/null", O_WRONLY);
	long wr_fresh[6] = { fresh, (long)"y", 1 };
	playing_vfork_child = true;
	check_pair(p, "vfork child write", &site, 1, wr_fresh, 1, false, false, NULL);
	playing_vfork_child = false;
	dup2(pfd[1], fresh);	/* the parent's number names a pipe */
	check_pair(p, "parent write after vfork", &site, 1, wr_fresh, 1, false, true, NULL);
}

/* The pair with INTERCEPT_LOG_TIMING=1: the time goes on the result line, both ways. */
static void
pair_timing(void)
{
	char p[512];
	path_in_dir(p, sizeof(p), "pairtime.log");
	setup_env("pairtime.log", NULL, NULL);
	setenv("INTERCEPT_LOG_TIMING", "1", 1);
	si_log_init();
	int pfd[2];
	if (pipe(pfd) != 0 || dup2(pfd[0], 900) != 900)
		FAIL("pipe");
	long none[6] = { 0 }, fd3[6] = { 900 };
	struct si_log_pending a, b;
	si_log_before(&a, &site, 110, none, false);	/* pair */
	si_log_before(&b, &site, 3, fd3, false);	/* split, nested as a signal handler would */
	usleep(2000);
	si_log_after(&b, &site, 3, fd3, 0);
	si_log_after(&a, &site, 110, none, 9);
	char *got = slurp(p);
	regex_t re;
	regcomp(&re, "^/lib/libc.so.6 0x1234 -- close\\(900\\) = \\?\n"
		     "/lib/libc.so.6 0x1234 -- close\\(900\\) = 0 <0\\.00[0-9]{4}>\n"
		     "/lib/libc.so.6 0x1234 -- getppid\\(\\) = \\?\n"
		     "/lib/libc.so.6 0x1234 -- getppid\\(\\) = 9 <0\\.00[0-9]{4}>\n$",
		REG_EXTENDED);
	if (!got || regexec(&re, got, 0, NULL, 0) != 0)
		FAIL("timing lines: %s", got ? got : "(none)");
	regfree(&re);
}

/* 8 threads of pairs: every "= ?" line directly followed by its own result line. */
static void *
pair_thread_main(void *arg)
{
	long args[6] = { 0 };
	for (int i = 0; i < PER_THREAD; i++) {
		struct si_log_pending p;
		si_log_before(&p, &site, 110, args, false);
		si_log_after(&p, &site, 110, args, (long)arg);
	}
	return NULL;
}

static void
pair_threads(void)
{
	char p[512];
	path_in_dir(p, sizeof(p), "pairthreads.log");
	setup_env("pairthreads.log", NULL, NULL);
	si_log_init();
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, pair_thread_main, (void *)(i + 1));
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	FILE *f = fopen(p, "r");
	char line[256];
	int count[THREADS + 1] = { 0 }, bad = 0;
	bool pending = false;
	while (f && fgets(line, sizeof(line), f)) {
		const char *q = "/lib/libc.so.6 0x1234 -- getppid() = ?\n";
		const char *r = "/lib/libc.so.6 0x1234 -- getppid() = ";
		size_t rl = strlen(r);
		if (!pending && strcmp(line, q) == 0) {
			pending = true;
		} else if (pending && strncmp(line, r, rl) == 0 && line[rl] >= '1' &&
			   line[rl] <= '8' && line[rl + 1] == '\n') {
			count[line[rl] - '0']++;
			pending = false;
		} else if (bad++ < 3) {
			FAIL("line out of place: %s", line);
		}
	}
	if (f)
		fclose(f);
	for (int i = 1; i <= THREADS; i++)
		if (count[i] != PER_THREAD)
			FAIL("thread %d: %d pairs", i, count[i]);
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
	{ "pairs", pairs },
	{ "pair_timing", pair_timing },
	{ "pair_threads", pair_threads },
	{ "quick_fds", quick_fds },
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
