/*
 * log_stderr.c -- an example hook library: prints one line per system call on stderr, with the
 * result the kernel returned, in a strace-like form:
 *
 *   [4711] openat(AT_FDCWD, "/etc/hostname", 0) = 3
 *   [4711] read(3, 0x7ffd5c1e7000, 0x20000) = 9
 *   [4711] openat(AT_FDCWD, "/nonexistent", 0) = -1 ENOENT
 *
 * (numbers up to 65536 in decimal, larger ones and pointers in hex).
 *
 * The line is printed from intercept_hook_point_post_kernel, which runs after the kernel has
 * answered.  Syscalls that never return (exit_group, a successful execve) are printed before
 * they run, ending in "= ?".  Set LOG_STDERR_ONLY=read,openat to print only those syscalls.
 *
 *   cc log_stderr.c -lsyscall_intercept -fpic -shared -o log_stderr.so
 *   LD_PRELOAD=./log_stderr.so cat /etc/hostname
 *
 * It must never change what a syscall does, and never write through stdio: the program may be
 * in the middle of its own printf when one of its syscalls reaches us.  Each line is formatted
 * on the stack and written with a single raw write(2) to fd 2, so lines from several threads
 * never mix.
 */
#define _GNU_SOURCE
#include <libsyscall_intercept_hook_point.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
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

/* How to print the arguments of the syscalls we know by name. */
struct syscall_desc {
	long nr;
	const char *name;
	int nargs;	/* arguments printed */
	int path;	/* index of a string argument, or -1 */
	int dirfd;	/* index of a directory fd argument (AT_FDCWD shown by name), or -1 */
};

static const struct syscall_desc known[] = {
	{ SYS_read, "read", 3, -1, -1 },
	{ SYS_write, "write", 3, -1, -1 },
	{ SYS_open, "open", 3, 0, -1 },
	{ SYS_close, "close", 1, -1, -1 },
	{ SYS_stat, "stat", 2, 0, -1 },
	{ SYS_fstat, "fstat", 2, -1, -1 },
	{ SYS_lstat, "lstat", 2, 0, -1 },
	{ SYS_lseek, "lseek", 3, -1, -1 },
	{ SYS_mmap, "mmap", 6, -1, -1 },
	{ SYS_mprotect, "mprotect", 3, -1, -1 },
	{ SYS_munmap, "munmap", 2, -1, -1 },
	{ SYS_brk, "brk", 1, -1, -1 },
	{ SYS_ioctl, "ioctl", 3, -1, -1 },
	{ SYS_pread64, "pread64", 4, -1, -1 },
	{ SYS_pwrite64, "pwrite64", 4, -1, -1 },
	{ SYS_access, "access", 2, 0, -1 },
	{ SYS_pipe2, "pipe2", 2, -1, -1 },
	{ SYS_dup2, "dup2", 2, -1, -1 },
	{ SYS_dup3, "dup3", 3, -1, -1 },
	{ SYS_socket, "socket", 3, -1, -1 },
	{ SYS_connect, "connect", 3, -1, -1 },
	{ SYS_clone, "clone", 2, -1, -1 },
	{ SYS_clone3, "clone3", 2, -1, -1 },
	{ SYS_fork, "fork", 0, -1, -1 },
	{ SYS_vfork, "vfork", 0, -1, -1 },
	{ SYS_execve, "execve", 3, 0, -1 },
	{ SYS_exit, "exit", 1, -1, -1 },
	{ SYS_exit_group, "exit_group", 1, -1, -1 },
	{ SYS_wait4, "wait4", 4, -1, -1 },
	{ SYS_fcntl, "fcntl", 3, -1, -1 },
	{ SYS_getdents64, "getdents64", 3, -1, -1 },
	{ SYS_getcwd, "getcwd", 2, -1, -1 },
	{ SYS_chdir, "chdir", 1, 0, -1 },
	{ SYS_mkdir, "mkdir", 2, 0, -1 },
	{ SYS_unlink, "unlink", 1, 0, -1 },
	{ SYS_readlink, "readlink", 3, 0, -1 },
	{ SYS_openat, "openat", 3, 1, 0 },
	{ SYS_mkdirat, "mkdirat", 3, 1, 0 },
	{ SYS_newfstatat, "newfstatat", 4, 1, 0 },
	{ SYS_unlinkat, "unlinkat", 3, 1, 0 },
	{ SYS_readlinkat, "readlinkat", 4, 1, 0 },
	{ SYS_faccessat, "faccessat", 3, 1, 0 },
	{ SYS_faccessat2, "faccessat2", 4, 1, 0 },
	{ SYS_statx, "statx", 5, 1, 0 },
	{ SYS_rt_sigaction, "rt_sigaction", 4, -1, -1 },
	{ SYS_rt_sigprocmask, "rt_sigprocmask", 4, -1, -1 },
	{ SYS_rt_sigreturn, "rt_sigreturn", 0, -1, -1 },
	{ SYS_getpid, "getpid", 0, -1, -1 },
	{ SYS_getrandom, "getrandom", 3, -1, -1 },
	{ SYS_futex, "futex", 6, -1, -1 },
	{ SYS_set_tid_address, "set_tid_address", 1, -1, -1 },
	{ SYS_set_robust_list, "set_robust_list", 2, -1, -1 },
	{ SYS_rseq, "rseq", 4, -1, -1 },
	{ SYS_prlimit64, "prlimit64", 4, -1, -1 },
	{ SYS_arch_prctl, "arch_prctl", 2, -1, -1 },
	{ SYS_uname, "uname", 1, -1, -1 },
};

/* LD_PRELOAD'ed into an arbitrary program: keep the printed set small and the code obvious. */
#define MAX_ONLY 32
static long only[MAX_ONLY];
static int n_only;
static int filtering;	/* LOG_STDERR_ONLY given: print only the syscalls in only[] */

static const struct syscall_desc *
describe(long nr)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].nr == nr)
			return &known[i];
	return NULL;
}

static int
wanted(long nr)
{
	if (!filtering)
		return 1;
	for (int i = 0; i < n_only; i++)
		if (only[i] == nr)
			return 1;
	return 0;
}

/* A small appending formatter over a fixed buffer; output past the end is dropped. */
struct line {
	char buf[512];
	size_t len;
};

static void
add(struct line *l, const char *fmt, ...)
{
	if (l->len >= sizeof(l->buf))
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n;
	if (l->len > sizeof(l->buf) - 1)
		l->len = sizeof(l->buf) - 1;
}

/* A string argument, quoted, at most 64 characters, non-printable bytes as \ooo. */
static void
add_string(struct line *l, const char *s)
{
	if (!s) {
		add(l, "NULL");
		return;
	}
	add(l, "\"");
	int i;
	for (i = 0; i < 64 && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			add(l, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			add(l, "%c", c);
		else
			add(l, "\\%03o", c);
	}
	add(l, s[i] ? "\"..." : "\"");
}

static void
format_call(struct line *l, long nr, const long args[6])
{
	const struct syscall_desc *d = describe(nr);
	add(l, "[%ld] ", syscall_no_intercept(SYS_getpid));
	if (!d) {
		add(l, "syscall_%ld(0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx, 0x%lx)", nr, args[0],
		    args[1], args[2], args[3], args[4], args[5]);
		return;
	}
	add(l, "%s(", d->name);
	for (int i = 0; i < d->nargs; i++) {
		if (i > 0)
			add(l, ", ");
		if (i == d->path)
			add_string(l, (const char *)args[i]);
		else if (i == d->dirfd && (int)args[i] == AT_FDCWD)
			add(l, "AT_FDCWD");
		else if (args[i] >= -4096 && args[i] <= 65536)
			add(l, "%ld", args[i]);
		else
			add(l, "0x%lx", args[i]);
	}
	add(l, ")");
}

static void
emit(struct line *l)
{
	add(l, "\n");
	if (l->buf[l->len - 1] != '\n')
		l->buf[l->len - 1] = '\n';	/* a truncated line still ends the line */
	/* A raw write: the hook must not re-enter stdio, and this never reaches the hook anyway. */
	syscall_no_intercept(SYS_write, 2, l->buf, l->len);
}

/* Before a syscall: only the ones that will not come back to post_kernel are printed here. */
static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)result;
	if ((nr == SYS_exit_group || nr == SYS_exit || nr == SYS_execve ||
	     nr == SYS_execveat || nr == SYS_rt_sigreturn) && wanted(nr)) {
		long args[6] = { a0, a1, a2, a3, a4, a5 };
		struct line l = { .len = 0 };
		format_call(&l, nr, args);
		add(&l, " = ?");
		emit(&l);
	}
	return 1;	/* every syscall runs as usual */
}

/* After a syscall the kernel ran and that returned: the line with its result. */
static void
post_kernel(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long result)
{
	if (!wanted(nr))
		return;
	long args[6] = { a0, a1, a2, a3, a4, a5 };
	struct line l = { .len = 0 };
	format_call(&l, nr, args);
	int err = syscall_error_code(result);
	if (err) {
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32)
		const char *name = strerrorname_np(err);	/* "ENOENT" */
#else
		const char *name = NULL;			/* older glibc: the number */
#endif
		if (name)
			add(&l, " = -1 %s", name);
		else
			add(&l, " = -1 errno %d", err);
	} else if (nr == SYS_mmap || nr == SYS_brk) {
		add(&l, " = 0x%lx", result);
	} else {
		add(&l, " = %ld", result);
	}
	emit(&l);
}

/* LOG_STDERR_ONLY=name,name,...: names from the table above, or numbers. */
static void
parse_only(const char *spec)
{
	filtering = spec && *spec;
	while (spec && *spec && n_only < MAX_ONLY) {
		size_t len = strcspn(spec, ",");
		char name[32];
		if (len > 0 && len < sizeof(name)) {
			memcpy(name, spec, len);
			name[len] = '\0';
			char *end;
			long nr = strtol(name, &end, 10);
			if (*end != '\0') {
				nr = -1;
				for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
					if (strcmp(known[i].name, name) == 0)
						nr = known[i].nr;
			}
			if (nr >= 0)
				only[n_only++] = nr;
		}
		spec += len;
		if (*spec == ',')
			spec++;
	}
}

static __attribute__((constructor)) void
init(void)
{
	parse_only(getenv("LOG_STDERR_ONLY"));
	intercept_hook_point_post_kernel = post_kernel;
	intercept_hook_point = hook;
}
