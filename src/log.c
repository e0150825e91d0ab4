/*
 * log.c -- INTERCEPT_LOG: opens the log file at init (and again in forked children when the path
 * ends in '-'), and writes the two lines of each logged syscall, "= ?" and the result, each line
 * whole within one write(2).
 *
 * si_log_before, si_log_after, si_log_syscall and si_log_after_fork run inside the syscall
 * dispatcher, on any thread, in signal handlers and in fork children: they must never allocate,
 * call libc, take a lock, or read memory the program may have passed wrongly: strings and
 * buffers are fetched with process_vm_readv on our own pid, so a bad pointer only prints as a
 * pointer, except memory the kernel has just read or filled for this very call (read_self).
 * Every syscall they make is a raw si_syscall6, which is never intercepted.  They must never
 * keep a line in memory once control goes back to the program: whatever the program does next
 * (crash, be killed, hang) the lines of every syscall it returned from are in the file.
 * si_log_init runs once, in the library's constructor, and may use libc (getauxval, putenv,
 * si_env).
 *
 * What a logged syscall costs, and why it is done this way.  On machines where a syscall is
 * expensive (1 us here: page-table isolation without PCID), the log's cost is its own syscalls:
 * the write(2) of each line and the process_vm_readv of each string or buffer shown.  Buffering
 * lines across syscalls would remove most writes but lose the last lines when the program
 * crashes or is killed, so it is not done; instead each syscall costs as few of them as the
 * guarantees allow:
 *  - Both lines in one write, after the call, for the syscalls of pairable() below: those that
 *    cannot wait without bound (on another process, the network, a terminal, a file server, a
 *    timer), always return to the caller, and do nothing another thread could notice before
 *    the lines are written (unmapping memory, waking a waiter, sending a signal).  That
 *    includes I/O on "quick" descriptors (regular files of local file systems, /dev/null...,
 *    see fd_is_quick), the bulk of a syscall-heavy program.  Nothing else runs between the
 *    syscall and the write, so a crash, a kill or a hang after it cannot lose the lines; a kill
 *    that lands inside the call itself (or a signal handler delivered as it returns that never
 *    comes back) loses them.  Every other syscall (anything on a path, which may be a FIFO or
 *    on a hung NFS or FUSE server; I/O on pipes, sockets, ttys; execve, exit; kill, futex,
 *    munmap...) has its "= ?" line written before it runs, so a hang or a crash inside it
 *    still shows the call.  So does any syscall a hook will see, since the hook is arbitrary
 *    code.
 *  - Memory is read once per syscall: the result line reuses the "= ?" line's text (kept in the
 *    dispatcher's frame, struct si_log_pending), replacing its "?", unless it shows memory the
 *    kernel wrote (read's buffer, getcwd, pipe); then it is formatted again.  Besides saving a
 *    process_vm_readv per string, this also saves formatting the line twice.  Formatting after
 *    the call (paired lines, output buffers) reads what the kernel touched directly.
 *  - A line is formatted into that small buffer first, and only a line too long for it (longer
 *    than SI_LOG_KEEP) into a SI_LOG_LINE_MAX one on the stack, so the common case touches little
 *    stack: after every syscall the TLB is empty, and each page touched costs a walk.
 *  - Reading several strings of one line in one process_vm_readv was measured not to be worth
 *    it: a syscall-heavy program mostly shows one string or buffer per call, and the call stops
 *    at the first unreadable piece, which then needs the separate reads anyway.
 *  - Considered and not done: remembering pages a process_vm_readv found readable, to read
 *    paths directly next time.  It would save one syscall per path call, but unless every
 *    munmap/mprotect is seen (not so for unpatched code) a stale entry would crash the program.
 *
 * Files and truncation (documented in docs/ and the man page):
 *  - INTERCEPT_LOG=path logs to path; a path ending in '-' gets the pid appended, and a forked
 *    child then opens its own file.  Without '-' a forked child keeps writing to the inherited
 *    descriptor (O_APPEND: lines of all processes interleave whole, never mixed).
 *  - Which files it writes (open_log_file): a new one (O_CREAT|O_EXCL, mode 0600), or an
 *    existing regular file the effective user owns, or /dev/null; never another user's file,
 *    a FIFO, a device, or anything behind a symbolic link (O_NOFOLLOW), whatever the process's
 *    privileges: a root process asked to log into a file someone else prepared must not write
 *    there.  Opened O_NONBLOCK so that a FIFO cannot hang the program, checked with fstat on
 *    the descriptor itself, and only then truncated.  /dev/stdout, /dev/stderr, /dev/fd/N and
 *    /proc/self/fd/N name a descriptor the process holds: the log writes to a copy of it.
 *    Refused or failed: one message on stderr, no log, the program runs on.
 *  - The file is truncated when the first process of a process tree opens it, unless
 *    INTERCEPT_LOG_TRUNC is off.  Programs that a logged process executes (execve closes the
 *    descriptor; the library starts again in the new image) append instead: the library marks
 *    the environment with INTERCEPT_LOG_OWNER=<pid><state>:<path> so that the new image knows the
 *    log is already its tree's (and, from the state, whether a failed write of it was said).
 *  - INTERCEPT_LOG_CHILDREN off logs only the first process (all its threads): forked children
 *    and the programs they execute are not logged.  syscall-trace uses it without -f.
 *  - INTERCEPT_LOG_TIMING on appends the syscall's duration, " <seconds>", to each result line.
 *  - The booleans follow the one rule of si_parse_level (util.c).
 *  - A write that fails (a full file system, /dev/full) is said once on stderr; the log cannot
 *    be opened or could not be written whole: the file INTERCEPT_LOG_FAILED names, if set, is
 *    created (empty), which is how syscall-trace learns it, whatever the program does with its
 *    stderr or its exit status.
 *  - In secure mode (AT_SECURE: setuid and the like) every variable is ignored (si_env).
 */
#define _GNU_SOURCE
#include "log.h"
#include "log_format.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
/*
 * Not <stdlib.h>: this file is built with -mgeneral-regs-only, and older glibc headers define
 * inline floating-point functions there (atof) that such a build rejects.
 */
extern char *getenv(const char *name);
extern int putenv(char *string);
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <time.h>

/* Numbers older <sys/syscall.h> (glibc 2.31) do not name yet. */
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int si_log_fd = -1;

_Static_assert(SI_LOG_KEEP >= SI_LOG_MIN_CAP && SI_LOG_KEEP >= 2 * SI_LOG_RESULT_MAX,
	       "the small line buffer takes any result line made from a kept one");

/* INTERCEPT_LOG as read at init, made absolute (a forked child may have changed directory) */
static char log_template[PATH_MAX];
static bool per_pid;			/* the template ends in '-' */
static bool truncate_new;		/* INTERCEPT_LOG_TRUNC on (the default) */
static bool follow_children = true;	/* INTERCEPT_LOG_CHILDREN on (the default) */
static bool timing;			/* INTERCEPT_LOG_TIMING on */
/* The file this process logs to (the template, plus the pid when per_pid), for messages. */
static char log_path[PATH_MAX + 24];
/* INTERCEPT_LOG_FAILED as read at init, made absolute; empty when unset */
static char failed_mark[PATH_MAX];
/* The first failed write of this process (or of its log file, for a per-pid log) was reported. */
static int write_failure_reported;
static long self_pid;			/* for process_vm_readv */
/* bit nr: si_log_reads_output(nr), computed at init (the table scan is too slow per call) */
static uint64_t reads_output_bits[(SI_SYSCALL_TABLE_LEN + 63) / 64];

#define OWNER_VAR "INTERCEPT_LOG_OWNER="
#define OWNER_PID_DIGITS 10
/*
 * "INTERCEPT_LOG_OWNER=0000001234-:/path/of/the/template", handed to putenv (so it stays ours
 * and changes in place).  The character after the pid is '!' once a failed write of this log
 * was said on stderr: the programs this process executes, writing the same file, do not say it
 * again.
 */
static char owner_env[sizeof(OWNER_VAR) + OWNER_PID_DIGITS + 2 + PATH_MAX];
#define OWNER_STATE (sizeof(OWNER_VAR) - 1 + OWNER_PID_DIGITS)

/* ---- small raw helpers */

static size_t
str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static bool
str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* Whether s starts with prefix; then *rest is what follows it. */
static bool
starts_with(const char *s, const char *prefix, const char **rest)
{
	while (*prefix && *s == *prefix)
		s++, prefix++;
	if (*prefix)
		return false;
	*rest = s;
	return true;
}

/*
 * "syscall_intercept: INTERCEPT_LOG: <what> <path>: <why>" then the consequence; why is the
 * message of errno err when text is NULL.  One write, except for a path too long for the small
 * buffer (written in three): this may run in a signal handler on a small alternate stack.
 */
static __attribute__((noinline, cold)) void
complain(const char *what, const char *path, long err, const char *text, const char *then)
{
	char msg[640];
	size_t n = 0, cap = sizeof(msg);
	n += si_fmt_str(msg + n, cap - n, "syscall_intercept: INTERCEPT_LOG: ");
	n += si_fmt_str(msg + n, cap - n, what);
	if (str_len(path) > 320) {
		si_write_all(2, msg, n);
		si_write_all(2, path, str_len(path));
		n = 0;
	} else {
		n += si_fmt_str(msg + n, cap - n, path);
	}
	n += si_fmt_str(msg + n, cap - n, ": ");
	if (!text)
		text = si_errno_message(err);
	if (text) {
		n += si_fmt_str(msg + n, cap - n, text);
	} else {
		n += si_fmt_str(msg + n, cap - n, "error ");
		n += si_fmt_dec(msg + n, cap - n, err);
	}
	n += si_fmt_str(msg + n, cap - n, then);
	si_write_all(2, msg, n);
}

/*
 * The log is incomplete (it could not be opened, or a line could not be written whole): tell
 * whoever set INTERCEPT_LOG_FAILED (syscall-trace, to exit with status 1) by creating that
 * file.  Only ever a new, empty file: never opens, follows or changes anything already there.
 */
static void
mark_failure(void)
{
	if (!failed_mark[0])
		return;
	long fd = si_sys(SYS_openat, AT_FDCWD, failed_mark,
			 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd >= 0)
		si_sys(SYS_close, fd);
}

static void
cannot_open(const char *path, long err, const char *text)
{
	complain("cannot open ", path, err, text, "; running without a log\n");
	mark_failure();
}

/*
 * Writes buf[0..len) to the log, again after a short write or EINTR.  The first failure (a
 * full file system, /dev/full, EIO, a pipe nobody reads) is said once on stderr and marked
 * (mark_failure); later lines are still tried, so the log has a gap there, and may hold a line
 * cut short where the file system filled up.
 */
static void
log_write(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		long r = si_sys(SYS_write, fd, buf, len);
		if (r == -EINTR)
			continue;
		if (r <= 0) {
			if (!__atomic_exchange_n(&write_failure_reported, 1, __ATOMIC_RELAXED)) {
				if (owner_env[0])
					owner_env[OWNER_STATE] = '!';
				complain("cannot write ", log_path, r ? -r : 0,
					 r ? NULL : "nothing written",
					 "; the log is incomplete\n");
				mark_failure();
			}
			return;
		}
		buf += r;
		len -= (size_t)r;
	}
}

/* Fixed-width decimal, for the pid in owner_env. */
static void
put_pid_digits(char *dst, long pid)
{
	for (int i = OWNER_PID_DIGITS - 1; i >= 0; i--) {
		dst[i] = (char)('0' + pid % 10);
		pid /= 10;
	}
}

/*
 * The descriptor a name of one the process already holds stands for: /dev/stdout, /dev/stderr,
 * /dev/fd/N, /proc/self/fd/N; -1 for any other path.  These are links the log would otherwise
 * refuse to follow, and opening them anew could open something else than the descriptor.
 */
static int
inherited_fd(const char *path)
{
	const char *n;
	if (str_eq(path, "/dev/stdout"))
		return 1;
	if (str_eq(path, "/dev/stderr"))
		return 2;
	if (!starts_with(path, "/dev/fd/", &n) && !starts_with(path, "/proc/self/fd/", &n))
		return -1;
	if (!*n)
		return -1;
	long fd = 0;
	for (; *n; n++) {
		if (*n < '0' || *n > '9' || fd > 100000000)
			return -1;
		fd = fd * 10 + (*n - '0');
	}
	return (int)fd;
}

/* Whether st is the null device (character device 1:3), which takes anything harmlessly. */
static bool
is_null_device(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == 0x103;
}

static long
clear_nonblock(long fd)
{
	long fl = si_sys(SYS_fcntl, fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		si_sys(SYS_fcntl, fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

/*
 * Opens the log file at path by the rule of libsyscall_intercept(3): a new file (created 0600,
 * O_EXCL), or an existing regular file that the effective user owns (emptied when trunc), or
 * the null device.  Anything else (another user's file, a FIFO, a device, a directory, a
 * symbolic link) is refused, and never truncated or written.  A root process must not write
 * into a file because its path was named: only into one it made, or its own.  Never blocks: a
 * FIFO is opened O_NONBLOCK (and refused).  Returns the descriptor, or -errno, or -1 with *why
 * set to the reason.
 */
static long
open_log_file(const char *path, bool trunc, const char **why)
{
	const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
	/* a file removed between the two opens is created again; a few rounds of that suffice */
	for (int round = 0; round < 8; round++) {
		long fd = si_sys(SYS_openat, AT_FDCWD, path, flags | O_CREAT | O_EXCL, 0600);
		if (fd >= 0)
			return clear_nonblock(fd);
		if (fd != -EEXIST)
			return fd;
		fd = si_sys(SYS_openat, AT_FDCWD, path, flags);
		if (fd == -ENOENT)
			continue;
		if (fd == -ENXIO) {
			*why = "not a regular file";	/* a FIFO nobody reads, a device without one */
			return -1;
		}
		if (fd < 0)
			return fd;
		/* the checks are made on what was opened, so nothing can be swapped in between */
		struct stat st;
		long r = si_sys(SYS_fstat, fd, &st);
		if (r == 0 && !is_null_device(&st)) {
			if (!S_ISREG(st.st_mode))
				*why = "not a regular file";
			else if (st.st_uid != (unsigned long)si_sys(SYS_geteuid))
				*why = "a file of another user";
			else if (trunc)
				r = si_sys(SYS_ftruncate, fd, 0);
		}
		if (r < 0 || *why) {
			si_sys(SYS_close, fd);
			return r < 0 ? r : -1;
		}
		return clear_nonblock(fd);
	}
	return -EEXIST;
}

/*
 * Opens the log for this process (template + pid when per_pid) and moves it to a high
 * descriptor number, where a program that opens files after closing all of its descriptors
 * (daemons do) will not be handed the same number.  Returns the descriptor, or -1 after one
 * message on stderr.
 */
static int
open_log(bool trunc)
{
	size_t n = si_fmt_str(log_path, sizeof(log_path), log_template);
	if (per_pid)
		n += si_fmt_dec(log_path + n, sizeof(log_path) - n, self_pid);
	log_path[n] = '\0';

	/*
	 * A descriptor the process holds: a copy of it, so the program closing its own does not
	 * end the log.  Whatever it is (terminal, pipe, socket, file): the program may write it.
	 */
	const char *why = NULL;
	long fd;
	int held = inherited_fd(log_path);
	if (held >= 0) {
		long fl = si_sys(SYS_fcntl, held, F_GETFL);
		if (fl >= 0 && (fl & O_ACCMODE) == O_RDONLY) {
			why = "not open for writing";
			fd = -1;
		} else {
			fd = fl < 0 ? fl : si_sys(SYS_fcntl, held, F_DUPFD_CLOEXEC, 0);
		}
	} else {
		fd = open_log_file(log_path, trunc, &why);
	}
	if (fd < 0) {
		cannot_open(log_path, -fd, why);
		return -1;
	}
	static const int high[] = { 1000, 200, 64 };
	for (size_t i = 0; i < sizeof(high) / sizeof(high[0]); i++) {
		if (fd >= high[i])
			break;
		long moved = si_sys(SYS_fcntl, fd, F_DUPFD_CLOEXEC, high[i]);
		if (moved >= 0) {
			si_sys(SYS_close, fd);
			fd = moved;
			break;
		}
	}
	return (int)fd;
}

/* ---- timing (INTERCEPT_LOG_TIMING=1): the vDSO's clock_gettime, found without libc */

typedef int (*vdso_gettime_fn)(clockid_t, struct timespec *);
static vdso_gettime_fn vdso_gettime;

static void
find_vdso_gettime(void)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	unsigned long bias = 0, dyn = 0;
	bool have_load = false;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_load) {
			bias = base + ph[i].p_offset - ph[i].p_vaddr;
			have_load = true;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = ph[i].p_vaddr;
		}
	}
	if (!have_load || !dyn)
		return;
	const Elf64_Sym *symtab = 0;
	const char *strtab = 0;
	const Elf32_Word *hash = 0;
	for (const Elf64_Dyn *d = (const Elf64_Dyn *)(bias + dyn); d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_SYMTAB)
			symtab = (const Elf64_Sym *)(bias + d->d_un.d_ptr);
		else if (d->d_tag == DT_STRTAB)
			strtab = (const char *)(bias + d->d_un.d_ptr);
		else if (d->d_tag == DT_HASH)
			hash = (const Elf32_Word *)(bias + d->d_un.d_ptr);
	}
	if (!symtab || !strtab || !hash)
		return;
	for (Elf32_Word i = 0; i < hash[1]; i++) {
		const Elf64_Sym *s = &symtab[i];
		if (s->st_shndx != SHN_UNDEF && ELF64_ST_TYPE(s->st_info) == STT_FUNC &&
		    str_eq(strtab + s->st_name, "__vdso_clock_gettime")) {
			vdso_gettime = (vdso_gettime_fn)(bias + s->st_value);
			return;
		}
	}
}

static long
now_ns(void)
{
	struct timespec ts = { 0, 0 };
	if (!vdso_gettime || vdso_gettime(CLOCK_MONOTONIC, &ts) != 0)
		si_sys(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Start times of the syscalls this thread is inside of (a signal handler may nest a few). */
#define TIMING_DEPTH 4
static __thread long t_start[TIMING_DEPTH];
static __thread unsigned t_depth;

/* dst[0..n) = src[0..n), eight bytes at a time (no memcpy: we never call libc). */
static void
copy_bytes(char *dst, const char *src, size_t n)
{
	typedef uint64_t __attribute__((may_alias, aligned(1))) word;
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		*(word *)(dst + i) = *(const word *)(src + i);
	for (; i < n; i++)
		dst[i] = src[i];
}

/* ---- reading the program's memory without ever faulting */

/*
 * Memory the kernel has just read or written for this very call, without a fault, is read
 * directly: the program cannot have unmapped it since, because the call has not returned to it
 * yet (only a program racing its own munmap or mprotect against an unfinished syscall, or
 * another process truncating a file that backs the buffer, could pull it away in between).
 * Anything else goes through process_vm_readv on our own pid, which never faults.
 */
/*
 * The read-only segments of libc and ld.so, found at init: they stay mapped and unwritten as
 * long as the process lives, so the strings libc passes from them (fstat's "", file names) are
 * read directly too.
 */
#define RO_RANGES 8
static struct { uint64_t lo, hi; } ro_ranges[RO_RANGES];
static int n_ro_ranges;

static bool
within(uint64_t addr, size_t len, uint64_t lo, uint64_t hi)
{
	return addr >= lo && addr < hi && len <= hi - addr;
}

static bool
always_readable(uint64_t addr, size_t len)
{
	for (int i = 0; i < n_ro_ranges; i++)
		if (within(addr, len, ro_ranges[i].lo, ro_ranges[i].hi))
			return true;
	return false;
}

static int
note_ro_segments(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uint64_t libc_addr = (uint64_t)data;
	bool is_ldso = info->dlpi_addr == getauxval(AT_BASE), is_libc = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && within(libc_addr, 1, info->dlpi_addr + ph->p_vaddr,
						     info->dlpi_addr + ph->p_vaddr + ph->p_memsz))
			is_libc = true;
	}
	for (int i = 0; i < info->dlpi_phnum && (is_libc || is_ldso); i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && !(ph->p_flags & PF_W) && n_ro_ranges < RO_RANGES) {
			ro_ranges[n_ro_ranges].lo = info->dlpi_addr + ph->p_vaddr;
			ro_ranges[n_ro_ranges].hi = info->dlpi_addr + ph->p_vaddr + ph->p_filesz;
			n_ro_ranges++;
		}
	}
	return 0;
}

static size_t
read_self(const struct si_log_call *call, void *dst, uint64_t addr, size_t len)
{
	if (within(addr, len, call->kernel_read_lo, call->kernel_read_hi) ||
	    always_readable(addr, len)) {
		copy_bytes(dst, (const char *)addr, len);
		return len;
	}
	struct iovec local = { dst, len };
	struct iovec remote[2];
	size_t first = 4096 - (addr & 4095);
	int n = 1;
	if (first >= len) {
		remote[0] = (struct iovec){ (void *)addr, len };
	} else {
		/* one piece per page: a transfer stops whole at the first unreadable piece */
		remote[0] = (struct iovec){ (void *)addr, first };
		remote[1] = (struct iovec){ (void *)(addr + first), len - first };
		n = 2;
	}
	long r = si_sys(SYS_process_vm_readv, self_pid, &local, 1, remote, n, 0);
	return r < 0 ? 0 : (size_t)r;
}

/*
 * The memory the kernel read or wrote for a call that returned result, as far as the line shows
 * it: the bytes write() took or read() filled, getcwd's string, pipe's two descriptors.  Only
 * for a result that came from the kernel (no hook answered or ran after it) and is no error.
 */
static void
set_kernel_read(struct si_log_call *call)
{
	const long *a = call->args;
	long r = call->result;
	uint64_t at = 0, len = 0;
	switch (call->nr) {
	case SYS_read: case SYS_pread64: case SYS_recvfrom:
	case SYS_write: case SYS_pwrite64: case SYS_sendto: case SYS_readlink:
		at = (uint64_t)a[1];
		len = (uint64_t)r < (uint64_t)a[2] ? (uint64_t)r : (uint64_t)a[2];
		break;
	case SYS_readlinkat:
		at = (uint64_t)a[2];
		len = (uint64_t)r < (uint64_t)a[3] ? (uint64_t)r : (uint64_t)a[3];
		break;
	case SYS_getcwd:
		at = (uint64_t)a[0];
		len = (uint64_t)r < (uint64_t)a[1] ? (uint64_t)r : (uint64_t)a[1];
		break;
	case SYS_pipe: case SYS_pipe2:
		at = (uint64_t)a[0];
		len = 2 * sizeof(int);
		break;
	case SYS_socketpair:
		at = (uint64_t)a[3];
		len = 2 * sizeof(int);
		break;
	}
	if (at == 0 || at + len < at)
		return;
	call->kernel_read_lo = at;
	call->kernel_read_hi = at + len;
}

/*
 * ---- what kind of file a descriptor is
 *
 * A read or write may wait forever on a pipe, a socket, a tty or a FUSE file, but not on a
 * regular file or directory of a local file system, nor on /dev/null and its kin: calls on
 * those "quick" descriptors are logged with both lines after the call (see pairable).  Asking
 * the kernel costs a syscall or two, so the answer is kept per descriptor number until the
 * number is closed or handed out again, which this process does through syscalls the log sees
 * (close, dup2, dup3, close_range; new descriptors only ever take free numbers).  What it
 * cannot see (a raw syscall in code that is not patched) can make it treat a pipe as quick:
 * then that pipe's calls only lose their "= ?" line before the call, never a line.
 * A vfork child shares this table with its parent but not the parent's descriptors: it only
 * forgets, never learns.
 */
#define FD_KINDS 1024
enum { FD_UNKNOWN, FD_QUICK, FD_SLOW };
static uint8_t fd_kind[FD_KINDS];
/*
 * Another thread (or process) shares our descriptor table: set when one may have been running
 * at init, or a clone with CLONE_FILES is logged; a fork child starts with it clear again.
 */
static bool fd_table_shared;

static bool
local_file_system(long type)
{
	switch (type) {
	case 0xEF53:		/* ext2, ext3, ext4 */
	case 0x58465342:	/* xfs */
	case 0x9123683E:	/* btrfs */
	case 0x01021994:	/* tmpfs */
	case 0x858458F6:	/* ramfs */
	case 0x794C7630:	/* overlayfs (containers) */
	case 0xF2F52010:	/* f2fs */
	case 0x2FC12FC1:	/* zfs */
	case 0xCA451A4E:	/* bcachefs */
	case 0x4D44:		/* vfat, msdos */
	case 0x2011BAB0:	/* exfat */
	case 0x73717368:	/* squashfs */
	case 0xE0F5E1E2:	/* erofs */
	case 0x9660:		/* iso9660 */
		return true;
	default:
		return false;
	}
}

/*
 * st_dev numbers already found to hold a local file system: most files share a few.  (A number
 * freed by an unmount and given to a FUSE or NFS mount while the process runs would be taken
 * for local: only "= ?" lines before the call would be missing.)
 */
#define LOCAL_DEVS 8
static uint64_t local_devs[LOCAL_DEVS];
static unsigned local_devs_next;

static bool
on_local_file_system(int fd, uint64_t dev)
{
	for (int i = 0; i < LOCAL_DEVS; i++)
		if (__atomic_load_n(&local_devs[i], __ATOMIC_RELAXED) == dev + 1)
			return true;
	struct statfs fs;
	if (si_sys(SYS_fstatfs, fd, &fs) != 0 || !local_file_system((long)(unsigned)fs.f_type))
		return false;
	unsigned slot = __atomic_fetch_add(&local_devs_next, 1, __ATOMIC_RELAXED) % LOCAL_DEVS;
	__atomic_store_n(&local_devs[slot], dev + 1, __ATOMIC_RELAXED);	/* 0: empty */
	return true;
}

static int
classify_fd(int fd)
{
	struct stat st;
	if (si_sys(SYS_fstat, fd, &st) != 0)
		return FD_UNKNOWN;	/* not open: the call will fail at once, but learn nothing */
	if (S_ISCHR(st.st_mode)) {
		unsigned long major = ((st.st_rdev >> 8) & 0xfff) | ((st.st_rdev >> 32) & ~0xfffUL);
		unsigned long minor = (st.st_rdev & 0xff) | ((st.st_rdev >> 12) & ~0xffUL);
		/* /dev/null, zero, full, random, urandom */
		return major == 1 && (minor == 3 || minor == 5 || minor == 7 || minor == 8 ||
				      minor == 9) ? FD_QUICK : FD_SLOW;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return FD_SLOW;
	return on_local_file_system(fd, st.st_dev) ? FD_QUICK : FD_SLOW;
}

static bool
fd_is_quick(long fd)
{
	if ((unsigned long)fd >= FD_KINDS)
		return false;
	uint8_t kind = __atomic_load_n(&fd_kind[fd], __ATOMIC_RELAXED);
	if (kind == FD_UNKNOWN) {
		kind = (uint8_t)classify_fd((int)fd);
		if (kind != FD_UNKNOWN && !si_in_vfork_child())
			__atomic_store_n(&fd_kind[fd], kind, __ATOMIC_RELAXED);
	}
	return kind == FD_QUICK;
}

static void
forget_fds(long from, long to)
{
	if (from < 0)
		return;
	for (unsigned long fd = (unsigned long)from; fd <= (unsigned long)to && fd < FD_KINDS; fd++)
		__atomic_store_n(&fd_kind[fd], FD_UNKNOWN, __ATOMIC_RELAXED);
}

/*
 * The numbers a syscall may make refer to another file: those it closes, before the call (so
 * no other thread learns the old file's kind under the number meanwhile) and again after it.
 * after: also a descriptor the call returned, in case its number was freed where the log could
 * not see it.
 */
static void
forget_changed_fds(long nr, const long *a, long result, bool after)
{
	switch (nr) {
	case SYS_close:
		forget_fds(a[0], a[0]);
		return;
	case SYS_dup2: case SYS_dup3:
		forget_fds(a[1], a[1]);
		return;
	case SYS_close_range:
		forget_fds(a[0], (long)(unsigned)a[1]);
		return;
	case SYS_open: case SYS_openat: case SYS_openat2: case SYS_creat: case SYS_dup:
	case SYS_fcntl: case SYS_socket: case SYS_accept: case SYS_accept4:
	case SYS_open_by_handle_at: case SYS_memfd_create: case SYS_pidfd_getfd:
		if (after && result >= 0 && (nr != SYS_fcntl || a[1] == 0 /* F_DUPFD */ ||
					      a[1] == 1030 /* F_DUPFD_CLOEXEC */))
			forget_fds(result, result);
		return;
	}
}

/* Whether s is "" and readable without a syscall (a path libc passes from its constants). */
static bool
empty_string_here(long s)
{
	return always_readable((uint64_t)s, 1) && *(const char *)s == '\0';
}

/*
 * ---- the syscalls whose two lines are written together, after the call
 *
 * Conservative on purpose: only what cannot wait (not even for a file system server: fstat,
 * lseek, close on a FUSE or NFS file can hang: I/O only on quick descriptors), always returns
 * (not kill/tgkill, which may kill the caller, nor a sigprocmask that unblocks a pending fatal
 * signal), and changes nothing
 * another thread or process could act on before the lines are out (not munmap, mprotect, brk,
 * madvise, mmap MAP_FIXED: another thread may fault on that memory at once; not futex wakes).
 */
static bool
pairable(long nr, const long *a)
{
	switch (nr) {
	case SYS_getpid: case SYS_getppid: case SYS_gettid: case SYS_getuid: case SYS_geteuid:
	case SYS_getgid: case SYS_getegid: case SYS_getresuid: case SYS_getresgid:
	case SYS_getgroups: case SYS_getpgrp: case SYS_getpgid: case SYS_getsid:
	case SYS_getcwd: case SYS_uname: case SYS_sysinfo: case SYS_getrusage: case SYS_times:
	case SYS_getrlimit: case SYS_umask: case SYS_getpriority: case SYS_getcpu:
	case SYS_sched_getaffinity: case SYS_sched_getparam: case SYS_sched_getscheduler:
	case SYS_sched_get_priority_max: case SYS_sched_get_priority_min: case SYS_sched_yield:
	case SYS_time: case SYS_gettimeofday: case SYS_clock_gettime: case SYS_clock_getres:
	case SYS_arch_prctl: case SYS_set_tid_address: case SYS_set_robust_list:
	case SYS_get_robust_list: case SYS_rseq: case SYS_sigaltstack: case SYS_rt_sigpending:
	case SYS_capget: case SYS_dup: case SYS_pipe: case SYS_pipe2: case SYS_eventfd:
	case SYS_eventfd2: case SYS_epoll_create: case SYS_epoll_create1: case SYS_memfd_create:
	case SYS_timerfd_create:
		return true;
	case SYS_rt_sigprocmask:	/* blocking more, or only asking */
		return a[0] == 0 /* SIG_BLOCK */ || a[1] == 0;
	case SYS_fcntl:			/* F_DUPFD F_GETFD F_SETFD F_GETFL F_DUPFD_CLOEXEC */
		return (unsigned long)(int)a[1] <= 3 || (int)a[1] == 1030;
	case SYS_mmap:			/* new memory, nothing replaced or populated */
		return !(a[3] & (0x10 | 0x2000 | 0x8000)) && ((a[3] & 0x20) || fd_is_quick(a[4]));
	case SYS_read: case SYS_pread64: case SYS_readv: case SYS_preadv: case SYS_preadv2:
	case SYS_write: case SYS_pwrite64: case SYS_writev: case SYS_pwritev: case SYS_pwritev2:
	case SYS_lseek: case SYS_fstat: case SYS_getdents: case SYS_getdents64:
	case SYS_fadvise64:
		return fd_is_quick(a[0]);	/* see fd_is_quick */
	case SYS_newfstatat:		/* fstat as glibc makes it: (fd, "", buf, AT_EMPTY_PATH) */
		return (a[3] & AT_EMPTY_PATH) && empty_string_here(a[1]) && fd_is_quick(a[0]);
	case SYS_statx:
		return (a[2] & AT_EMPTY_PATH) && empty_string_here(a[1]) && fd_is_quick(a[0]);
	case SYS_close:
		/* Unless another thread could be handed the number at once, and its open be
		 * logged before this close. */
		return !__atomic_load_n(&fd_table_shared, __ATOMIC_RELAXED) && fd_is_quick(a[0]);
	case SYS_getrandom:		/* GRND_NONBLOCK or GRND_INSECURE */
		return (a[2] & 5) != 0;
	case SYS_prlimit64:		/* asking about itself */
		return a[0] == 0 && a[2] == 0;
	default:
		return false;
	}
}

/* Before a clone-like call: whether the new task will share our descriptor table. */
static void
note_clone(const struct si_log_call *call)
{
	unsigned long flags = 0;
	if (call->nr == SYS_clone)
		flags = (unsigned long)call->args[0];
	else if (call->nr == SYS_clone3 && read_self(call, &flags, (uint64_t)call->args[0],
						     sizeof(flags)) != sizeof(flags))
		flags = CLONE_FILES;	/* unreadable: the kernel refuses it, but be safe */
	if (flags & CLONE_FILES)
		__atomic_store_n(&fd_table_shared, true, __ATOMIC_RELAXED);
}

/* At init: whether this process has more than one thread already (field 20 of its stat). */
static bool
several_threads_now(void)
{
	char buf[1024];
	long fd = si_sys(SYS_open, "/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	long n = si_sys(SYS_read, fd, buf, sizeof(buf) - 1);
	si_sys(SYS_close, fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	/* after the ")" that ends the command name, fields 3.. are separated by single spaces */
	const char *p = buf + n;
	while (p > buf && *p != ')')
		p--;
	int field = 2;
	for (; *p && field < 20; p++)
		if (*p == ' ')
			field++;
	return !(p[0] == '1' && p[1] == ' ');
}

/* ---- writing lines */

static bool
reads_output(long nr)
{
	return (unsigned long)nr < SI_SYSCALL_TABLE_LEN &&
	       (reads_output_bits[nr / 64] >> (nr % 64) & 1);
}

enum { MODE_NONE, MODE_SPLIT, MODE_PAIR };

static void
fill_call(struct si_log_call *call, const struct si_site *site, long nr, const long args[6],
	  long result, bool has_result)
{
	call->path = 0;
	call->offset = 0;
	if (site && site->object) {
		call->path = site->object->path;
		call->offset = site->syscall_addr - site->object->base;
	}
	call->nr = nr;
	for (int i = 0; i < 6; i++)
		call->args[i] = args ? args[i] : 0;
	call->result = result;
	call->has_result = has_result;
	call->duration_ns = -1;
	call->kernel_read_lo = call->kernel_read_hi = 0;
}

/* A line longer than SI_LOG_KEEP: formatted again in a full-size buffer (rare, and cold). */
static __attribute__((noinline)) void
write_long_line(int fd, const struct si_log_call *call)
{
	char line[SI_LOG_LINE_MAX];
	log_write(fd, line, si_log_format(line, sizeof(line), call, read_self));
}

/*
 * Writes the line of call; formats it into buf (SI_LOG_KEEP bytes) first.  Returns its length
 * when it is there, whole, or 0 when it was too long and went through write_long_line.
 */
static size_t
write_line(int fd, const struct si_log_call *call, char *buf)
{
	bool cut;
	size_t n = si_log_format_cut(buf, SI_LOG_KEEP, call, read_self, &cut);
	if (cut) {
		write_long_line(fd, call);
		return 0;
	}
	log_write(fd, buf, n);
	return n;
}

/*
 * The result line made from the "= ?" line in buf[0..len): its "?\n" replaced by the result.
 * Returns the new length, or 0 when it does not fit.
 */
static size_t
result_from_before(char *buf, size_t len, const struct si_log_call *call)
{
	if (len < 2 || len - 2 + SI_LOG_RESULT_MAX > SI_LOG_KEEP)
		return 0;
	return len - 2 + si_log_format_result(buf + len - 2, SI_LOG_KEEP - (len - 2), call);
}

/* ---- the interface of log.h */

/*
 * dst = path, made absolute with the current directory (a forked child may change directory
 * before it opens its own file); false when it does not fit with room for a pid.
 */
static bool
make_absolute(char *dst, size_t cap, const char *path)
{
	size_t len = str_len(path), n = 0;
	if (path[0] != '/') {
		long r = si_sys(SYS_getcwd, dst, cap);
		if (r > 1) {
			n = (size_t)r - 1;	/* the kernel counts the NUL */
			dst[n++] = '/';
		}
	}
	if (n + len + 24 >= cap)
		return false;
	n += si_fmt_str(dst + n, cap - n, path);
	dst[n] = '\0';
	return true;
}

void
si_log_init(void)
{
	si_log_fd = -1;
	const char *path = si_env("INTERCEPT_LOG");	/* NULL in secure mode */
	if (!path || !*path)
		return;
	const char *failed = si_env("INTERCEPT_LOG_FAILED");
	if (!failed || !*failed || !make_absolute(failed_mark, sizeof(failed_mark), failed))
		failed_mark[0] = '\0';
	if (!make_absolute(log_template, sizeof(log_template), path)) {
		si_write_str(2, "syscall_intercept: INTERCEPT_LOG: path too long; running without a log\n");
		mark_failure();
		return;
	}
	per_pid = path[str_len(path) - 1] == '-';

	truncate_new = si_env_level("INTERCEPT_LOG_TRUNC", 1) > 0;
	follow_children = si_env_level("INTERCEPT_LOG_CHILDREN", 1) > 0;
	timing = si_env_level("INTERCEPT_LOG_TIMING", 0) > 0;
	self_pid = si_sys(SYS_getpid);

	/* Was this log opened before, in this process tree (before an execve)? */
	long owner = -1;
	const char *mark = si_env("INTERCEPT_LOG_OWNER");
	if (mark && str_len(mark) > OWNER_PID_DIGITS + 1 && mark[OWNER_PID_DIGITS + 1] == ':' &&
	    str_eq(mark + OWNER_PID_DIGITS + 2, path)) {
		owner = 0;
		for (int i = 0; i < OWNER_PID_DIGITS; i++)
			owner = owner * 10 + (mark[i] - '0');
	}
	if (owner >= 0 && !follow_children && owner != self_pid)
		return;	/* a descendant of the logged process */
	bool known = owner >= 0 && (!per_pid || owner == self_pid);
	bool said = known && mark[OWNER_PID_DIGITS] == '!';	/* the same file, already said */

	if (timing)
		find_vdso_gettime();
	fd_table_shared = several_threads_now();
	dl_iterate_phdr(note_ro_segments, (void *)(uintptr_t)&getenv);
	for (long nr = 0; nr < SI_SYSCALL_TABLE_LEN; nr++)
		if (si_log_reads_output(nr))
			reads_output_bits[nr / 64] |= 1ULL << (nr % 64);
	write_failure_reported = said;
	si_log_fd = open_log(truncate_new && !known);
	if (si_log_fd < 0)
		return;

	size_t m = si_fmt_str(owner_env, sizeof(owner_env), OWNER_VAR);
	put_pid_digits(owner_env + m, self_pid);
	m += OWNER_PID_DIGITS;
	owner_env[m++] = said ? '!' : '-';
	owner_env[m++] = ':';
	m += si_fmt_str(owner_env + m, sizeof(owner_env) - m, path);
	owner_env[m] = '\0';
	putenv(owner_env);
}

void
si_log_after_fork(void)
{
	if (si_log_fd < 0)
		return;
	self_pid = si_sys(SYS_getpid);
	t_depth = 0;
	fd_table_shared = false;
	if (!follow_children) {
		si_sys(SYS_close, si_log_fd);
		si_log_fd = -1;
		return;
	}
	put_pid_digits(owner_env + sizeof(OWNER_VAR) - 1, self_pid);
	if (per_pid) {
		si_sys(SYS_close, si_log_fd);
		write_failure_reported = 0;	/* a file of its own, with failures of its own */
		owner_env[OWNER_STATE] = '-';
		si_log_fd = open_log(truncate_new);
	}
}

void
si_log_syscall(const struct si_site *site, long nr, const long args[6], long result,
	       bool has_result)
{
	int fd = si_log_fd;
	if (fd < 0)
		return;

	struct si_log_call call;
	fill_call(&call, site, nr, args, result, has_result);
	if (!has_result && args)
		note_clone(&call);
	if (timing && has_result) {
		long end = now_ns();
		if (t_depth > 0 && --t_depth < TIMING_DEPTH)
			call.duration_ns = end - t_start[t_depth];
	}

	char line[SI_LOG_KEEP];
	write_line(fd, &call, line);

	if (timing && !has_result && !(nr >= 0 && nr < SI_SYSCALL_TABLE_LEN &&
					 si_syscall_table[nr].ret == SR_NORETURN)) {
		if (t_depth < TIMING_DEPTH)
			t_start[t_depth] = now_ns();
		t_depth++;
	}
}

bool
si_log_keep_fd(long nr, const long a[6], long *result)
{
	int fd = si_log_fd;
	if (fd < 0)
		return false;
	switch (nr) {
	case SYS_close:
		if ((int)a[0] != fd)
			return false;
		*result = 0;	/* the log stays open, the program sees its close succeed */
		return true;
	case SYS_close_range: {
		unsigned lo = (unsigned)a[0], hi = (unsigned)a[1], flags = (unsigned)a[2];
		/* CLOSE_RANGE_CLOEXEC closes nothing now; the log is close-on-exec already */
		if (lo > (unsigned)fd || hi < (unsigned)fd || (flags & 4))
			return false;
		long r = 0;
		if (lo < (unsigned)fd)
			r = si_sys(SYS_close_range, lo, (unsigned)fd - 1, flags);
		if (r == 0 && hi > (unsigned)fd)
			r = si_sys(SYS_close_range, (unsigned)fd + 1, hi, flags);
		*result = r;
		return true;
	}
	case SYS_dup2: case SYS_dup3:
		/*
		 * Not in a vfork child: its descriptors are not its parent's, but si_log_fd is.  A
		 * line another thread writes between the move and the program's dup2 still goes to
		 * the old number: a race with the program replacing a descriptor it never opened.
		 */
		if ((int)a[1] == fd && (int)a[0] != fd && !si_in_vfork_child()) {
			long moved = si_sys(SYS_fcntl, fd, F_DUPFD_CLOEXEC, fd + 1);
			if (moved >= 0)
				__atomic_store_n(&si_log_fd, (int)moved, __ATOMIC_RELAXED);
		}
		return false;
	default:
		return false;
	}
}

void
si_log_before(struct si_log_pending *p, const struct si_site *site, long nr,
	      const long args[6], bool hook_runs)
{
	int fd = si_log_fd;
	p->mode = MODE_NONE;
	p->kept = 0;
	p->start_ns = -1;
	p->kernel_only = !hook_runs;
	if (fd < 0)
		return;
	bool pair = !hook_runs && pairable(nr, args);	/* with what is known so far */
	forget_changed_fds(nr, args, 0, false);
	if (pair) {
		p->mode = MODE_PAIR;
	} else {
		p->mode = MODE_SPLIT;
		struct si_log_call call;
		fill_call(&call, site, nr, args, 0, false);
		size_t n = write_line(fd, &call, p->text);
		if (!reads_output(nr))
			p->kept = (unsigned short)n;
	}
	if (timing)
		p->start_ns = now_ns();
}

void
si_log_after(struct si_log_pending *p, const struct si_site *site, long nr,
	     const long args[6], long result)
{
	int fd = si_log_fd;
	if (p->mode == MODE_NONE || fd < 0)
		return;
	struct si_log_call call;
	fill_call(&call, site, nr, args, result, true);
	if (p->start_ns >= 0)
		call.duration_ns = now_ns() - p->start_ns;
	forget_changed_fds(nr, args, result, true);
	if (p->kernel_only && !(result < 0 && result >= -4095))
		set_kernel_read(&call);

	size_t n;
	if (p->mode == MODE_SPLIT) {
		n = p->kept ? result_from_before(p->text, p->kept, &call) : 0;
		if (n)
			log_write(fd, p->text, n);
		else
			write_line(fd, &call, p->text);
		return;
	}

	/* MODE_PAIR: "= ?" line then result line, in one write when both fit in p->text */
	struct si_log_call before = call;
	before.has_result = false;
	before.duration_ns = -1;
	bool cut;
	size_t len = si_log_format_cut(p->text, SI_LOG_KEEP, &before, read_self, &cut);
	if (!cut) {
		char *second = p->text + len;
		size_t room = SI_LOG_KEEP - len;
		n = 0;
		if (!reads_output(nr)) {
			if (len - 2 + SI_LOG_RESULT_MAX <= room) {
				copy_bytes(second, p->text, len - 2);
				n = len - 2 + si_log_format_result(second + len - 2,
								  room - (len - 2), &call);
			}
		} else if (room >= SI_LOG_MIN_CAP) {
			bool cut2;
			n = si_log_format_cut(second, room, &call, read_self, &cut2);
			if (cut2)
				n = 0;
		}
		if (n) {
			log_write(fd, p->text, len + n);
			return;
		}
	}
	/* Too long for one buffer: two writes, both still after the call, both lines whole. */
	if (cut)
		write_long_line(fd, &before);
	else
		log_write(fd, p->text, len);
	write_line(fd, &call, p->text);
}
