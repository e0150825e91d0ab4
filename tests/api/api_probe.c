/*
 * api_probe.c -- a test program for the public API, run both natively and under a hook
 * library.  It is not linked against libsyscall_intercept: it finds the API functions with
 * dlsym when the library is preloaded, so the native run is really native.  Subcommands:
 *   answer expect-magic|expect-real     getppid() and syscall(SYS_getppid) see the hook's answer
 *   eacces PATH OTHER expect-denied|expect-allowed
 *                                       open/fopen/openat of PATH fail with EACCES (or work);
 *                                       OTHER always opens
 *   nointercept                         syscall_no_intercept bypasses the hook; syscall_error_code
 *   filter                              prints "allowed=<0|1> hooked=<0|1>"
 * It exits 0 when every check holds and prints each failed check; it must never report success
 * for a check it did not make.
 */
#define _GNU_SOURCE
#include <libsyscall_intercept_hook_point.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ANSWER_MAGIC 424242L

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); printf("\n"); } \
	} while (0)

/* The parent's pid as /proc says, read without getppid. */
static long
real_ppid(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	char state;
	long ppid;
	if (!p || sscanf(p + 1, " %c %ld", &state, &ppid) != 2)
		return -1;
	return ppid;
}

static void *
api(const char *name)
{
	void *f = dlsym(RTLD_DEFAULT, name);
	if (!f) {
		printf("FAIL: %s not found: is libsyscall_intercept loaded?\n", name);
		exit(1);
	}
	return f;
}

static void
do_answer(int expect_magic)
{
	long ppid = real_ppid();
	long a = getppid();
	long b = syscall(SYS_getppid);
	printf("real ppid %ld, getppid() %ld, syscall(SYS_getppid) %ld\n", ppid, a, b);
	CHECK(ppid > 0 && ppid != ANSWER_MAGIC, "cannot read the real ppid (%ld)", ppid);
	long want = expect_magic ? ANSWER_MAGIC : ppid;
	CHECK(a == want, "getppid() returned %ld, expected %ld", a, want);
	CHECK(b == want, "syscall(SYS_getppid) returned %ld, expected %ld", b, want);
}

static void
do_eacces(const char *path, const char *other, int expect_denied)
{
	errno = 0;
	int fd = open(path, O_RDONLY);
	int e = errno;
	printf("open(%s) = %d errno %d (%s)\n", path, fd, e, fd < 0 ? strerror(e) : "-");
	if (expect_denied)
		CHECK(fd == -1 && e == EACCES, "open: expected -1/EACCES, got %d/%d", fd, e);
	else
		CHECK(fd >= 0, "open failed natively: %s", strerror(e));
	if (fd >= 0)
		close(fd);

	errno = 0;
	FILE *f = fopen(path, "r");
	e = errno;
	printf("fopen(%s) = %s errno %d\n", path, f ? "FILE" : "NULL", e);
	if (expect_denied)
		CHECK(f == NULL && e == EACCES, "fopen: expected NULL/EACCES, got %p/%d",
		      (void *)f, e);
	else
		CHECK(f != NULL, "fopen failed natively: %s", strerror(e));
	if (f)
		fclose(f);

	errno = 0;
	fd = openat(AT_FDCWD, path, O_RDONLY);
	e = errno;
	if (expect_denied)
		CHECK(fd == -1 && e == EACCES, "openat: expected -1/EACCES, got %d/%d", fd, e);
	else
		CHECK(fd >= 0, "openat failed natively: %s", strerror(e));
	if (fd >= 0)
		close(fd);

	fd = open(other, O_RDONLY);
	CHECK(fd >= 0, "open(%s) of a path the hook does not deny failed: %s", other,
	      strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void
do_nointercept(void)
{
	long (*raw)(long, ...) = (long (*)(long, ...))api("syscall_no_intercept");
	long (*calls)(long) = (long (*)(long))api("answer_hook_calls");
	long ppid = real_ppid();

	long before = calls(SYS_getppid);
	long hooked = getppid();
	long mid = calls(SYS_getppid);
	CHECK(hooked == ANSWER_MAGIC, "getppid() = %ld: the hook is not active", hooked);
	CHECK(mid == before + 1, "the hook saw getppid %ld times, expected 1", mid - before);

	long r = raw(SYS_getppid);
	long after = calls(SYS_getppid);
	printf("getppid() %ld, syscall_no_intercept(SYS_getppid) %ld, real %ld\n", hooked, r, ppid);
	CHECK(r == ppid, "syscall_no_intercept(SYS_getppid) = %ld, expected the real %ld", r, ppid);
	CHECK(after == mid, "syscall_no_intercept reached the hook (%ld calls)", after - mid);

	/* Six arguments pass through: pread64 of a pipe fails with ESPIPE. */
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	char c;
	long opens = calls(SYS_pread64);
	r = raw(SYS_pread64, p[0], &c, 1L, 0L, 0L, 0L);
	CHECK(r == -ESPIPE, "raw pread64 on a pipe = %ld, expected %d", r, -ESPIPE);
	CHECK(calls(SYS_pread64) == opens, "syscall_no_intercept(pread64) reached the hook");
	r = raw(SYS_write, p[1], "xy", 2L);
	CHECK(r == 2, "raw write = %ld", r);
	r = raw(SYS_read, p[0], &c, 1L);
	CHECK(r == 1 && c == 'x', "raw read = %ld '%c'", r, c);
	close(p[0]);
	close(p[1]);

	/* syscall_error_code */
	r = raw(SYS_close, -1L);
	CHECK(r == -EBADF, "raw close(-1) = %ld", r);
	CHECK(syscall_error_code(r) == EBADF, "syscall_error_code(%ld) = %d", r,
	      syscall_error_code(r));
	r = raw(SYS_getpid);
	CHECK(r == getpid(), "raw getpid = %ld", r);
	CHECK(syscall_error_code(r) == 0, "syscall_error_code(pid %ld) = %d", r,
	      syscall_error_code(r));
	CHECK(syscall_error_code(0) == 0, "syscall_error_code(0)");
	CHECK(syscall_error_code(-1) == 1, "syscall_error_code(-1)");
	CHECK(syscall_error_code(-4095) == 4095, "syscall_error_code(-4095)");
	CHECK(syscall_error_code(-4097) == 0, "syscall_error_code(-4097)");
	CHECK(syscall_error_code(LONG_MIN) == 0, "syscall_error_code(LONG_MIN)");
	CHECK(syscall_error_code(LONG_MAX) == 0, "syscall_error_code(LONG_MAX)");
}

static void
do_filter(void)
{
	int (*allowed)(void) = (int (*)(void))api("syscall_hook_in_process_allowed");
	printf("allowed=%d hooked=%d\n", allowed(), getppid() == ANSWER_MAGIC);
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && strcmp(argv[1], "answer") == 0)
		do_answer(strcmp(argv[2], "expect-magic") == 0);
	else if (argc == 5 && strcmp(argv[1], "eacces") == 0)
		do_eacces(argv[2], argv[3], strcmp(argv[4], "expect-denied") == 0);
	else if (argc == 2 && strcmp(argv[1], "nointercept") == 0)
		do_nointercept();
	else if (argc == 2 && strcmp(argv[1], "filter") == 0)
		do_filter();
	else {
		fprintf(stderr, "usage: see the comment at the top of api_probe.c\n");
		return 2;
	}
	if (failures == 0 && strcmp(argv[1], "filter") != 0)
		printf("PASS\n");
	return failures ? 1 : 0;
}
