/*
 * log_format.h -- the INTERCEPT_LOG line formatter: turns one syscall (number, six raw
 * arguments, result) into one human readable text line, and the x86-64 syscall table it uses.
 * It is pure computation: it never allocates, never calls libc, never makes a syscall and never
 * dereferences a pointer that came from the traced program -- every read of the program's
 * memory goes through the si_log_read_fn the caller passes (see log.c), so a unit test can link
 * log_format.c and syscall_table.c alone.
 *
 * The line format (compatible with the original libsyscall_intercept log):
 *
 *   <object path> 0x<offset of the syscall instruction in it> -- <name>(<args>) = ?
 *   <object path> 0x<offset> -- <name>(<args>) = <result>[ <seconds>]
 *
 * An unknown site prints "? 0x0" as path and offset; an unknown syscall number prints
 * "syscall(<nr>, 0x<a0>, ... 0x<a5>)".  A failed syscall prints its raw result, the errno name and
 * the message: "= -2 ENOENT (No such file or directory)".  docs/ and log.c have the details.
 */
#ifndef SI_LOG_FORMAT_H
#define SI_LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How one argument is printed. */
enum si_arg {
	SA_END = 0,	/* no more arguments */
	SA_HEX,		/* 0x1f */
	SA_DEC,		/* signed 64-bit decimal */
	SA_UDEC,	/* unsigned 64-bit decimal (sizes, counts) */
	SA_INT,		/* signed 32-bit decimal (the upper half of the register is ignored) */
	SA_FD,		/* a file descriptor: 32-bit decimal */
	SA_ATFD,	/* a directory fd: AT_FDCWD or 32-bit decimal */
	SA_PTR,		/* (null) or 0x00007ffd12345678 */
	SA_STR,		/* NUL-terminated string: "quoted, escaped, cut at SI_LOG_STR_MAX..." */
	SA_BUF_IN,	/* buffer whose length is the next argument (write) */
	SA_BUF_OUT,	/* buffer the kernel fills, `result` bytes: shown on the after line only */
	SA_STR_OUT,	/* string the kernel fills (getcwd): shown on the after line only */
	SA_OCT,		/* mode: 0644 */
	SA_OPEN_FLAGS,	/* O_RDONLY | O_CLOEXEC */
	SA_OPEN_MODE,	/* mode printed only when the previous argument has O_CREAT or O_TMPFILE */
	SA_OPEN_HOW,	/* struct open_how * (openat2) */
	SA_AT_FLAGS,	/* AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH ... (0x200 = AT_REMOVEDIR) */
	SA_ACCESSAT_FLAGS, /* as SA_AT_FLAGS, but 0x200 = AT_EACCESS */
	SA_ACCESS,	/* F_OK or R_OK | W_OK | X_OK */
	SA_PROT,	/* PROT_READ | PROT_WRITE */
	SA_MAP_FLAGS,	/* MAP_PRIVATE | MAP_ANONYMOUS */
	SA_MREMAP_FLAGS,
	SA_MADV,	/* MADV_DONTNEED ... */
	SA_CLONE_FLAGS,	/* CLONE_VM | ... | SIGCHLD (the low byte is the exit signal) */
	SA_CLONE_ARGS,	/* struct clone_args * (clone3) */
	SA_SIG,		/* SIGTERM */
	SA_SIGHOW,	/* SIG_BLOCK ... */
	SA_WHENCE,	/* SEEK_SET ... */
	SA_FCNTL_CMD,	/* F_SETFD ... */
	SA_FD_FLAGS,	/* O_CLOEXEC | O_NONBLOCK (pipe2, dup3, eventfd2, accept4...) */
	SA_DOMAIN,	/* AF_INET ... */
	SA_SOCK_TYPE,	/* SOCK_STREAM | SOCK_CLOEXEC */
	SA_MSG_FLAGS,	/* MSG_DONTWAIT | ... */
	SA_FDPAIR,	/* int[2] the kernel fills (pipe): [3, 4] on the after line */
	SA_WAIT_OPT,	/* WNOHANG | ... */
	SA_FUTEX_OP,	/* FUTEX_WAIT_PRIVATE ... */
	SA_ARGV,	/* char *const[]: ["ls", "-l"] */
	SA_CLOCK,	/* CLOCK_MONOTONIC ... */
	SA_ARCH_PRCTL,	/* ARCH_SET_FS ... */
	SA_RLIMIT,	/* RLIMIT_NOFILE ... */
	SA_EPOLL_OP,	/* EPOLL_CTL_ADD ... */
	SA_KIND_COUNT
};

/* How the result is printed (errors, -4095..-1, always as "-N ENAME (message)"). */
enum si_ret {
	SR_DEC = 0,	/* signed decimal */
	SR_HEX,		/* 0x... */
	SR_PTR,		/* (null) or 0x0000... */
	SR_OCT,		/* 022 */
	SR_NORETURN,	/* exit, exit_group, rt_sigreturn: only the "= ?" line is ever written */
};

struct si_syscall_format {
	const char *name;	/* NULL: no syscall has this number */
	uint8_t ret;		/* enum si_ret */
	uint8_t args[6];	/* enum si_arg, SA_END after the last */
};

/* syscall_table.c: every x86-64 syscall number up to SI_SYSCALL_TABLE_LEN - 1. */
#define SI_SYSCALL_TABLE_LEN 470
extern const struct si_syscall_format si_syscall_table[SI_SYSCALL_TABLE_LEN];

/* The name of syscall nr, or NULL when the number has none (or is out of the table). */
const char *si_syscall_name(long nr);

/* "ENOENT" / "No such file or directory"; NULL for numbers without a name. */
const char *si_errno_name(long err);
const char *si_errno_message(long err);

struct si_log_call;
/*
 * Copies up to len bytes of the program's memory at addr into dst and returns how many leading
 * bytes it could read (0 when addr is not readable).  It must never fault.  call is the line
 * being formatted (log.c reads the memory call->kernel_read_* names without a syscall).
 */
typedef size_t (*si_log_read_fn)(const struct si_log_call *call, void *dst, uint64_t addr,
				 size_t len);

struct si_log_call {
	const char *path;	/* object that holds the syscall site; NULL: unknown ("?") */
	uint64_t offset;	/* of the syscall instruction in that object */
	long nr;
	long args[6];
	long result;		/* kernel (or hook) result, when has_result */
	bool has_result;	/* false: the "= ?" line before the syscall */
	long duration_ns;	/* >= 0 and has_result: " <0.000123>" (seconds) is appended */
	/*
	 * Memory the kernel has just read or written for this call without a fault (write's
	 * bytes up to the result, read's, getcwd's...), [lo, hi); empty when lo == hi.  The
	 * formatter itself ignores it; it is for the read function (log.c).
	 */
	uint64_t kernel_read_lo, kernel_read_hi;
};

/* The line buffer log.c uses (on the stack of whatever thread made the syscall). */
#define SI_LOG_LINE_MAX 2048
/* Longest string or buffer contents printed, in source bytes; longer ones end in "...". */
#define SI_LOG_STR_MAX 64
/* Most argv entries printed for execve. */
#define SI_LOG_ARGV_MAX 8
/* Smallest buffer si_log_format accepts: room for the prefix pieces, " = result" and "\n". */
#define SI_LOG_MIN_CAP 256

/* Longest "<result>[ <seconds>]\n" end of a line, "\n" included (si_log_format_result). */
#define SI_LOG_RESULT_MAX 128

/*
 * Writes the line (ending in '\n', no NUL) into buf and returns its length (<= cap).  A line that
 * does not fit gets its argument list cut with "..." but always keeps its " = result" end.
 * read may be NULL: then no memory is read and pointers print as pointers.  Returns 0 when cap
 * is below SI_LOG_MIN_CAP.
 */
size_t si_log_format(char *buf, size_t cap, const struct si_log_call *call, si_log_read_fn read);
/*
 * The same, and *cut tells whether the argument list was cut for lack of room: a line that was
 * not cut is the same whatever the cap, so a caller may format into a small buffer first and
 * fall back to SI_LOG_LINE_MAX only when *cut.
 */
size_t si_log_format_cut(char *buf, size_t cap, const struct si_log_call *call,
			 si_log_read_fn read, bool *cut);
/*
 * Only the end of the line, what follows its " = ": "<result>[ <seconds>]\n".  A result line
 * is its "= ?" line with the final "?\n" replaced by this, whenever the syscall has no argument
 * the kernel fills (si_log_reads_output false): log.c builds it so, without formatting the
 * arguments or reading the program's memory again.  Needs cap >= SI_LOG_RESULT_MAX (else 0).
 */
size_t si_log_format_result(char *buf, size_t cap, const struct si_log_call *call);
/* Whether the result line of syscall nr shows memory the kernel wrote (read's buffer...). */
bool si_log_reads_output(long nr);

/* Small helpers shared with log.c (they write at most cap bytes and return the length). */
size_t si_fmt_dec(char *buf, size_t cap, long v);
size_t si_fmt_str(char *buf, size_t cap, const char *s);

#endif
