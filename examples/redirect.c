/*
 * redirect.c -- an example hook library: serves every path under one prefix from another
 * directory, the core of a user-space file system.  With
 *
 *   REDIRECT_FROM=/data REDIRECT_TO=/home/me/testdata LD_PRELOAD=./redirect.so ls -l /data
 *
 * `ls` lists /home/me/testdata, `cat /data/x` reads /home/me/testdata/x, and so on, while the
 * program believes it works on /data (which need not exist).  Opens (so also directory
 * listings, which read an opened directory), stats, access checks, extended attributes,
 * readlink, chdir, mkdir, unlink, rmdir, truncate, chmod, chown and utimes are redirected.  A path is redirected when it is REDIRECT_FROM
 * itself or starts with REDIRECT_FROM followed by '/'; only absolute paths are rewritten
 * (relative ones resolve against the working directory, which a redirected chdir already set to
 * the real place).  Not handled, to keep the example short: the two-path syscalls (rename,
 * link, symlink), execve, and paths that reach the prefix through "..", symbolic links or
 * getcwd().
 *
 *   cc redirect.c -lsyscall_intercept -fpic -shared -o redirect.so
 *
 * It must never touch a path outside the prefix, and never modify the program's memory: the
 * rewritten path is built in a buffer of its own and the syscall is made from the hook with
 * syscall_no_intercept().
 */
#define _GNU_SOURCE
#include <libsyscall_intercept_hook_point.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

/* Newer than some C libraries' headers (glibc 2.31): the kernel's numbers on x86-64. */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

static char from[PATH_MAX];	/* without a trailing '/' */
static size_t from_len;
static char to[PATH_MAX];
static size_t to_len;

/* Which argument of a syscall is the path it works on; -1 for syscalls we leave alone. */
static int
path_argument(long nr)
{
	switch (nr) {
	case SYS_open:
	case SYS_creat:
	case SYS_stat:
	case SYS_lstat:
	case SYS_access:
	case SYS_readlink:
	case SYS_chdir:
	case SYS_mkdir:
	case SYS_unlink:
	case SYS_rmdir:
	case SYS_truncate:
	case SYS_chmod:
	case SYS_chown:
	case SYS_lchown:
	case SYS_utimes:
	case SYS_getxattr:
	case SYS_lgetxattr:
	case SYS_listxattr:
	case SYS_llistxattr:
	case SYS_setxattr:
	case SYS_lsetxattr:
	case SYS_removexattr:
	case SYS_lremovexattr:
		return 0;
	case SYS_openat:
	case SYS_openat2:
	case SYS_newfstatat:
	case SYS_statx:
	case SYS_faccessat:
	case SYS_faccessat2:
	case SYS_readlinkat:
	case SYS_mkdirat:
	case SYS_unlinkat:
	case SYS_fchmodat:
	case SYS_fchownat:
	case SYS_utimensat:
		return 1;
	default:
		return -1;
	}
}

/*
 * Writes the redirected form of `path` into out (PATH_MAX bytes) and returns 1, or returns 0
 * when the path is outside the prefix (or the result would not fit: then the original is used).
 */
static int
rewrite(const char *path, char *out)
{
	if (!path || strncmp(path, from, from_len) != 0)
		return 0;
	const char *rest = path + from_len;	/* "" or "/..." for a match */
	if (*rest != '\0' && *rest != '/')
		return 0;	/* /data2 is not under /data */
	size_t rest_len = strlen(rest);
	if (to_len + rest_len + 1 > PATH_MAX)
		return 0;
	memcpy(out, to, to_len);
	memcpy(out + to_len, rest, rest_len + 1);
	return 1;
}

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	int idx = path_argument(nr);
	if (idx < 0)
		return 1;
	long args[6] = { a0, a1, a2, a3, a4, a5 };
	char path[PATH_MAX];
	if (!rewrite((const char *)args[idx], path))
		return 1;	/* not ours: the kernel sees the original path */
	/* The same syscall with the new path; its result is what the program gets. */
	args[idx] = (long)path;
	*result = syscall_no_intercept(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
	return 0;
}

static __attribute__((constructor)) void
init(void)
{
	const char *f = getenv("REDIRECT_FROM");
	const char *t = getenv("REDIRECT_TO");
	if (!f || f[0] != '/' || !t || !*t || strlen(f) >= PATH_MAX || strlen(t) >= PATH_MAX)
		return;	/* not configured: do nothing at all */
	strcpy(from, f);
	from_len = strlen(from);
	while (from_len > 1 && from[from_len - 1] == '/')
		from[--from_len] = '\0';
	if (from_len == 1)
		return;	/* redirecting "/" itself is not supported */
	strcpy(to, t);
	to_len = strlen(to);
	while (to_len > 1 && to[to_len - 1] == '/')
		to[--to_len] = '\0';
	intercept_hook_point = hook;
}
