/*
 * fault_inject.c -- an example hook library: makes chosen writes fail with a chosen errno, to
 * test how a program copes with a full disk (ENOSPC), an I/O error (EIO), a quota (EDQUOT)...
 * Configured by environment variables:
 *
 *   FAULT_ERRNO=ENOSPC   the error to return: a name from the table below or a number
 *                        (default EIO)
 *   FAULT_PATH=pattern   only writes to files whose path matches this fnmatch(3) pattern are
 *                        considered, e.g. '*.db' or '*.log' (default: every write,
 *                        including to pipes, sockets and terminals)
 *   FAULT_NTH=N          only the Nth considered write fails, the others succeed; without it
 *                        every considered write fails
 *
 * With neither FAULT_PATH nor FAULT_NTH set the library does nothing.  "Writes" are write,
 * pwrite64, writev, pwritev, pwritev2, and the copies into a file that cp(1) and friends use:
 * copy_file_range, sendfile, splice.  The count is per process (a forked child starts from
 * the count its parent had) and counts across threads.
 *
 *   cc fault_inject.c -lsyscall_intercept -fpic -shared -o fault_inject.so
 *   FAULT_PATH='*.out' FAULT_ERRNO=ENOSPC LD_PRELOAD=./fault_inject.so cp a.txt b.out
 *   cp: error writing 'b.out': No space left on device
 *
 * It must never fail anything but the writes it was asked to fail, and a failed write must
 * leave the file untouched: the kernel never sees it.
 */
#define _GNU_SOURCE
#include <libsyscall_intercept_hook_point.h>

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EDQUOT", EDQUOT }, { "EFBIG", EFBIG },
	{ "EPIPE", EPIPE }, { "EAGAIN", EAGAIN }, { "EINTR", EINTR }, { "EBADF", EBADF },
	{ "EACCES", EACCES }, { "EPERM", EPERM }, { "EROFS", EROFS }, { "ENOMEM", ENOMEM },
	{ "EINVAL", EINVAL }, { "ECONNRESET", ECONNRESET },
};

static int fault_errno = EIO;
static char pattern_buf[PATH_MAX];
static const char *pattern;	/* NULL: every write is considered */
static long nth;		/* 0: every considered write fails */
static long counted;		/* considered writes so far (atomic) */

/* The fd a syscall writes to, or -1 when it is not a write. */
static long
written_fd(long nr, const long args[6])
{
	switch (nr) {
	case SYS_write:
	case SYS_pwrite64:
	case SYS_writev:
	case SYS_pwritev:
	case SYS_pwritev2:
	case SYS_sendfile:		/* sendfile(out_fd, in_fd, ...) */
		return args[0];
	case SYS_copy_file_range:	/* copy_file_range(fd_in, off_in, fd_out, ...) */
	case SYS_splice:		/* splice(fd_in, off_in, fd_out, ...) */
		return args[2];
	default:
		return -1;
	}
}

/* Does the file behind fd match the pattern?  /proc/self/fd/N names what fd refers to. */
static int
fd_matches(long fd)
{
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
	long n = syscall_no_intercept(SYS_readlink, link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return fnmatch(pattern, target, 0) == 0;
}

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	const long args[6] = { a0, a1, a2, a3, a4, a5 };
	long fd = written_fd(nr, args);
	if (fd < 0)
		return 1;
	if (pattern && !fd_matches(fd))
		return 1;
	long number = __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
	if (nth != 0 && number != nth)
		return 1;	/* not the one: the write runs */
	*result = -fault_errno;	/* as if the kernel had failed it */
	return 0;
}

static int
parse_errno(const char *s)
{
	if (!s || !*s)
		return EIO;
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcmp(errnos[i].name, s) == 0)
			return errnos[i].value;
	char *end;
	long v = strtol(s, &end, 10);
	if (*end == '\0' && v > 0 && v < 4096)
		return (int)v;
	fprintf(stderr, "fault_inject: unknown FAULT_ERRNO '%s', using EIO\n", s);
	return EIO;
}

static __attribute__((constructor)) void
init(void)
{
	const char *p = getenv("FAULT_PATH");
	const char *n = getenv("FAULT_NTH");
	if (p && *p && strlen(p) < sizeof(pattern_buf)) {
		strcpy(pattern_buf, p);	/* the program may change its environment later */
		pattern = pattern_buf;
	}
	if (n && *n) {
		char *end;
		nth = strtol(n, &end, 10);
		if (*end != '\0' || nth <= 0) {
			fprintf(stderr, "fault_inject: FAULT_NTH must be a positive number\n");
			return;
		}
	}
	if (!pattern && nth == 0)
		return;	/* nothing asked for */
	fault_errno = parse_errno(getenv("FAULT_ERRNO"));
	intercept_hook_point = hook;
}
