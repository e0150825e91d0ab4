/*
 * log_format.c -- formats one INTERCEPT_LOG line (see log_format.h for the format): the site
 * prefix, the syscall name, every argument decoded by its kind (strings quoted and escaped,
 * flags as symbolic names joined by " | ", out-buffers only once the result is known), and the
 * result (errors as "-2 ENOENT (No such file or directory)").
 *
 * It runs inside the syscall dispatcher, possibly in a signal handler or a vfork child, so it
 * must never allocate, call libc (not even memcpy: the library is built with -fno-builtin and
 * every copy here is a loop), make a syscall, or touch the program's memory except through the
 * caller's reader.  It never writes past `cap`.
 */
#include "log_format.h"

/* ---- output cursor: writes stop silently at `end`, and `full` remembers that they did */

struct out {
	char *p;
	char *end;
	bool full;
};

static void
put_c(struct out *o, char c)
{
	if (o->p < o->end)
		*o->p++ = c;
	else
		o->full = true;
}

/* n bytes; the common case (room for all) checks the end once. */
static void
put_n(struct out *o, const char *s, size_t n)
{
	if ((size_t)(o->end - o->p) < n) {
		n = (size_t)(o->end - o->p);
		o->full = true;
	}
	char *p = o->p;
	for (size_t i = 0; i < n; i++)
		p[i] = s[i];
	o->p = p + n;
}

static void
put_s(struct out *o, const char *s)
{
	char *p = o->p, *end = o->end;
	while (*s && p < end)
		*p++ = *s++;
	if (*s)
		o->full = true;
	o->p = p;
}

static void
put_udec(struct out *o, unsigned long v)
{
	char tmp[24];
	int n = sizeof(tmp);
	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_n(o, tmp + n, sizeof(tmp) - (size_t)n);
}

static void
put_dec(struct out *o, long v)
{
	if (v < 0) {
		put_c(o, '-');
		put_udec(o, -(unsigned long)v);
	} else {
		put_udec(o, (unsigned long)v);
	}
}

/* Hex digits of v, at least `width` of them (at most 16), no prefix. */
static void
put_hexdigits(struct out *o, unsigned long v, int width)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	int n = sizeof(tmp);
	do {
		tmp[--n] = digits[v & 15];
		v >>= 4;
	} while (v);
	while (n > (int)sizeof(tmp) - width)
		tmp[--n] = '0';
	put_n(o, tmp + n, sizeof(tmp) - (size_t)n);
}

static void
put_hex(struct out *o, unsigned long v)
{
	put_s(o, "0x");
	put_hexdigits(o, v, 1);
}

/* As the original log: (null), or all 16 digits. */
static void
put_ptr(struct out *o, unsigned long v)
{
	if (v == 0) {
		put_s(o, "(null)");
		return;
	}
	put_s(o, "0x");
	put_hexdigits(o, v, 16);
}

static void
put_oct(struct out *o, unsigned long v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + (v & 7));
		v >>= 3;
	} while (v);
	put_c(o, '0');
	while (n)
		put_c(o, tmp[--n]);
}

/* ---- symbolic names */

struct flag {
	unsigned long v;
	const char *name;
};

struct value {
	long v;
	const char *name;
};

/*
 * Every entry whose bits are all set is printed (in table order; put a multi-bit value before
 * its parts) and its bits removed; what is left over follows in hex.  `first` says whether
 * nothing precedes (else a " | " goes first).  Returns whether it printed anything.
 */
static bool
put_flag_list(struct out *o, const struct flag *t, unsigned long v, bool first)
{
	bool any = false;
	for (; t->name; t++) {
		if (t->v && (v & t->v) == t->v) {
			if (!first || any)
				put_s(o, " | ");
			put_s(o, t->name);
			v &= ~t->v;
			any = true;
		}
	}
	if (v) {
		if (!first || any)
			put_s(o, " | ");
		put_hex(o, v);
		any = true;
	}
	return any;
}

/* The flags set in v, or "0". */
static void
put_flags(struct out *o, const struct flag *t, unsigned long v)
{
	if (!put_flag_list(o, t, v, true))
		put_c(o, '0');
}

static const char *
find_value(const struct value *t, long v)
{
	for (; t->name; t++)
		if (t->v == v)
			return t->name;
	return 0;
}

/* The name, or the number in decimal. */
static void
put_value(struct out *o, const struct value *t, long v)
{
	const char *name = find_value(t, v);
	if (name)
		put_s(o, name);
	else
		put_dec(o, v);
}

#define F(name, v) { (unsigned long)(v), name }

static const struct flag open_flags[] = {
	F("O_CREAT", 0100), F("O_EXCL", 0200), F("O_NOCTTY", 0400), F("O_TRUNC", 01000),
	F("O_APPEND", 02000), F("O_NONBLOCK", 04000), F("O_SYNC", 04010000), F("O_DSYNC", 010000),
	F("O_ASYNC", 020000), F("O_DIRECT", 040000), F("O_LARGEFILE", 0100000),
	F("O_TMPFILE", 020200000), F("O_DIRECTORY", 0200000), F("O_NOFOLLOW", 0400000),
	F("O_NOATIME", 01000000), F("O_CLOEXEC", 02000000), F("O_PATH", 010000000),
	{ 0, 0 }
};
#define SI_O_CREAT 0100
#define SI_O_TMPFILE 020000000 /* the bit of its own; O_TMPFILE also has O_DIRECTORY */

static const struct flag fd_flags[] = {
	F("O_NONBLOCK", 04000), F("O_DIRECT", 040000), F("O_CLOEXEC", 02000000), { 0, 0 }
};

static const struct flag at_flags[] = {
	F("AT_SYMLINK_NOFOLLOW", 0x100), F("AT_REMOVEDIR", 0x200), F("AT_SYMLINK_FOLLOW", 0x400),
	F("AT_NO_AUTOMOUNT", 0x800), F("AT_EMPTY_PATH", 0x1000), F("AT_STATX_FORCE_SYNC", 0x2000),
	F("AT_STATX_DONT_SYNC", 0x4000), F("AT_RECURSIVE", 0x8000), { 0, 0 }
};

static const struct flag accessat_flags[] = {
	F("AT_SYMLINK_NOFOLLOW", 0x100), F("AT_EACCESS", 0x200), F("AT_EMPTY_PATH", 0x1000),
	{ 0, 0 }
};

static const struct flag access_flags[] = {
	F("R_OK", 4), F("W_OK", 2), F("X_OK", 1), { 0, 0 }
};

static const struct flag prot_flags[] = {
	F("PROT_READ", 1), F("PROT_WRITE", 2), F("PROT_EXEC", 4), F("PROT_SEM", 8),
	F("PROT_GROWSDOWN", 0x01000000), F("PROT_GROWSUP", 0x02000000), { 0, 0 }
};

static const struct value map_types[] = {
	{ 1, "MAP_SHARED" }, { 2, "MAP_PRIVATE" }, { 3, "MAP_SHARED_VALIDATE" },
	{ 8, "MAP_DROPPABLE" }, { 0, 0 }
};

static const struct flag map_flags[] = {
	F("MAP_FIXED", 0x10), F("MAP_ANONYMOUS", 0x20), F("MAP_32BIT", 0x40),
	F("MAP_GROWSDOWN", 0x100), F("MAP_DENYWRITE", 0x800), F("MAP_EXECUTABLE", 0x1000),
	F("MAP_LOCKED", 0x2000), F("MAP_NORESERVE", 0x4000), F("MAP_POPULATE", 0x8000),
	F("MAP_NONBLOCK", 0x10000), F("MAP_STACK", 0x20000), F("MAP_HUGETLB", 0x40000),
	F("MAP_SYNC", 0x80000), F("MAP_FIXED_NOREPLACE", 0x100000), { 0, 0 }
};

static const struct flag mremap_flags[] = {
	F("MREMAP_MAYMOVE", 1), F("MREMAP_FIXED", 2), F("MREMAP_DONTUNMAP", 4), { 0, 0 }
};

static const struct value madvise_advice[] = {
	{ 0, "MADV_NORMAL" }, { 1, "MADV_RANDOM" }, { 2, "MADV_SEQUENTIAL" },
	{ 3, "MADV_WILLNEED" }, { 4, "MADV_DONTNEED" }, { 8, "MADV_FREE" }, { 9, "MADV_REMOVE" },
	{ 10, "MADV_DONTFORK" }, { 11, "MADV_DOFORK" }, { 12, "MADV_MERGEABLE" },
	{ 13, "MADV_UNMERGEABLE" }, { 14, "MADV_HUGEPAGE" }, { 15, "MADV_NOHUGEPAGE" },
	{ 16, "MADV_DONTDUMP" }, { 17, "MADV_DODUMP" }, { 18, "MADV_WIPEONFORK" },
	{ 19, "MADV_KEEPONFORK" }, { 20, "MADV_COLD" }, { 21, "MADV_PAGEOUT" },
	{ 22, "MADV_POPULATE_READ" }, { 23, "MADV_POPULATE_WRITE" },
	{ 24, "MADV_DONTNEED_LOCKED" }, { 25, "MADV_COLLAPSE" }, { 100, "MADV_HWPOISON" },
	{ 101, "MADV_SOFT_OFFLINE" }, { 102, "MADV_GUARD_INSTALL" }, { 103, "MADV_GUARD_REMOVE" },
	{ 0, 0 }
};

/* clone and clone3 flags; for clone the low byte (CSIGNAL) is the exit signal instead. */
static const struct flag clone_flags[] = {
	F("CLONE_NEWTIME", 0x80), F("CLONE_VM", 0x100), F("CLONE_FS", 0x200),
	F("CLONE_FILES", 0x400), F("CLONE_SIGHAND", 0x800), F("CLONE_PIDFD", 0x1000),
	F("CLONE_PTRACE", 0x2000), F("CLONE_VFORK", 0x4000), F("CLONE_PARENT", 0x8000),
	F("CLONE_THREAD", 0x10000), F("CLONE_NEWNS", 0x20000), F("CLONE_SYSVSEM", 0x40000),
	F("CLONE_SETTLS", 0x80000), F("CLONE_PARENT_SETTID", 0x100000),
	F("CLONE_CHILD_CLEARTID", 0x200000), F("CLONE_DETACHED", 0x400000),
	F("CLONE_UNTRACED", 0x800000), F("CLONE_CHILD_SETTID", 0x1000000),
	F("CLONE_NEWCGROUP", 0x2000000), F("CLONE_NEWUTS", 0x4000000),
	F("CLONE_NEWIPC", 0x8000000), F("CLONE_NEWUSER", 0x10000000),
	F("CLONE_NEWPID", 0x20000000), F("CLONE_NEWNET", 0x40000000), F("CLONE_IO", 0x80000000),
	F("CLONE_CLEAR_SIGHAND", 0x100000000), F("CLONE_INTO_CGROUP", 0x200000000), { 0, 0 }
};

static const char *const signal_names[32] = {
	0, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
	"SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
	"SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
	"SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"
};

static const struct value sighow_values[] = {
	{ 0, "SIG_BLOCK" }, { 1, "SIG_UNBLOCK" }, { 2, "SIG_SETMASK" }, { 0, 0 }
};

static const struct value whence_values[] = {
	{ 0, "SEEK_SET" }, { 1, "SEEK_CUR" }, { 2, "SEEK_END" }, { 3, "SEEK_DATA" },
	{ 4, "SEEK_HOLE" }, { 0, 0 }
};

static const struct value fcntl_cmds[] = {
	{ 0, "F_DUPFD" }, { 1, "F_GETFD" }, { 2, "F_SETFD" }, { 3, "F_GETFL" }, { 4, "F_SETFL" },
	{ 5, "F_GETLK" }, { 6, "F_SETLK" }, { 7, "F_SETLKW" }, { 8, "F_SETOWN" },
	{ 9, "F_GETOWN" }, { 10, "F_SETSIG" }, { 11, "F_GETSIG" }, { 15, "F_SETOWN_EX" },
	{ 16, "F_GETOWN_EX" }, { 17, "F_GETOWNER_UIDS" }, { 36, "F_OFD_GETLK" },
	{ 37, "F_OFD_SETLK" }, { 38, "F_OFD_SETLKW" }, { 1024, "F_SETLEASE" },
	{ 1025, "F_GETLEASE" }, { 1026, "F_NOTIFY" }, { 1027, "F_DUPFD_QUERY" },
	{ 1028, "F_CREATED_QUERY" }, { 1030, "F_DUPFD_CLOEXEC" }, { 1031, "F_SETPIPE_SZ" },
	{ 1032, "F_GETPIPE_SZ" }, { 1033, "F_ADD_SEALS" }, { 1034, "F_GET_SEALS" },
	{ 1035, "F_GET_RW_HINT" }, { 1036, "F_SET_RW_HINT" }, { 1037, "F_GET_FILE_RW_HINT" },
	{ 1038, "F_SET_FILE_RW_HINT" }, { 0, 0 }
};

static const struct value domains[] = {
	{ 0, "AF_UNSPEC" }, { 1, "AF_UNIX" }, { 2, "AF_INET" }, { 4, "AF_IPX" },
	{ 5, "AF_APPLETALK" }, { 10, "AF_INET6" }, { 15, "AF_KEY" }, { 16, "AF_NETLINK" },
	{ 17, "AF_PACKET" }, { 29, "AF_CAN" }, { 31, "AF_BLUETOOTH" }, { 38, "AF_ALG" },
	{ 40, "AF_VSOCK" }, { 44, "AF_XDP" }, { 0, 0 }
};

static const struct value sock_types[] = {
	{ 1, "SOCK_STREAM" }, { 2, "SOCK_DGRAM" }, { 3, "SOCK_RAW" }, { 4, "SOCK_RDM" },
	{ 5, "SOCK_SEQPACKET" }, { 6, "SOCK_DCCP" }, { 10, "SOCK_PACKET" }, { 0, 0 }
};

static const struct flag sock_flags[] = {
	F("SOCK_NONBLOCK", 04000), F("SOCK_CLOEXEC", 02000000), { 0, 0 }
};

static const struct flag msg_flags[] = {
	F("MSG_OOB", 1), F("MSG_PEEK", 2), F("MSG_DONTROUTE", 4), F("MSG_CTRUNC", 8),
	F("MSG_PROXY", 0x10), F("MSG_TRUNC", 0x20), F("MSG_DONTWAIT", 0x40), F("MSG_EOR", 0x80),
	F("MSG_WAITALL", 0x100), F("MSG_FIN", 0x200), F("MSG_SYN", 0x400),
	F("MSG_CONFIRM", 0x800), F("MSG_RST", 0x1000), F("MSG_ERRQUEUE", 0x2000),
	F("MSG_NOSIGNAL", 0x4000), F("MSG_MORE", 0x8000), F("MSG_WAITFORONE", 0x10000),
	F("MSG_BATCH", 0x40000), F("MSG_ZEROCOPY", 0x4000000), F("MSG_FASTOPEN", 0x20000000),
	F("MSG_CMSG_CLOEXEC", 0x40000000), { 0, 0 }
};

static const struct flag wait_flags[] = {
	F("WNOHANG", 1), F("WUNTRACED", 2), F("WEXITED", 4), F("WCONTINUED", 8),
	F("WNOWAIT", 0x01000000), F("__WNOTHREAD", 0x20000000), F("__WALL", 0x40000000),
	F("__WCLONE", 0x80000000), { 0, 0 }
};

static const struct value futex_cmds[] = {
	{ 0, "FUTEX_WAIT" }, { 1, "FUTEX_WAKE" }, { 2, "FUTEX_FD" }, { 3, "FUTEX_REQUEUE" },
	{ 4, "FUTEX_CMP_REQUEUE" }, { 5, "FUTEX_WAKE_OP" }, { 6, "FUTEX_LOCK_PI" },
	{ 7, "FUTEX_UNLOCK_PI" }, { 8, "FUTEX_TRYLOCK_PI" }, { 9, "FUTEX_WAIT_BITSET" },
	{ 10, "FUTEX_WAKE_BITSET" }, { 11, "FUTEX_WAIT_REQUEUE_PI" },
	{ 12, "FUTEX_CMP_REQUEUE_PI" }, { 13, "FUTEX_LOCK_PI2" }, { 0, 0 }
};

static const struct value clocks[] = {
	{ 0, "CLOCK_REALTIME" }, { 1, "CLOCK_MONOTONIC" }, { 2, "CLOCK_PROCESS_CPUTIME_ID" },
	{ 3, "CLOCK_THREAD_CPUTIME_ID" }, { 4, "CLOCK_MONOTONIC_RAW" },
	{ 5, "CLOCK_REALTIME_COARSE" }, { 6, "CLOCK_MONOTONIC_COARSE" }, { 7, "CLOCK_BOOTTIME" },
	{ 8, "CLOCK_REALTIME_ALARM" }, { 9, "CLOCK_BOOTTIME_ALARM" }, { 11, "CLOCK_TAI" },
	{ 0, 0 }
};

static const struct value arch_prctl_codes[] = {
	{ 0x1001, "ARCH_SET_GS" }, { 0x1002, "ARCH_SET_FS" }, { 0x1003, "ARCH_GET_FS" },
	{ 0x1004, "ARCH_GET_GS" }, { 0x1011, "ARCH_GET_CPUID" }, { 0x1012, "ARCH_SET_CPUID" },
	{ 0x1021, "ARCH_GET_XCOMP_SUPP" }, { 0x1022, "ARCH_GET_XCOMP_PERM" },
	{ 0x1023, "ARCH_REQ_XCOMP_PERM" }, { 0x1024, "ARCH_GET_XCOMP_GUEST_PERM" },
	{ 0x1025, "ARCH_REQ_XCOMP_GUEST_PERM" }, { 0x2001, "ARCH_MAP_VDSO_X32" },
	{ 0x2002, "ARCH_MAP_VDSO_32" }, { 0x2003, "ARCH_MAP_VDSO_64" },
	{ 0x4001, "ARCH_GET_UNTAG_MASK" }, { 0x4002, "ARCH_ENABLE_TAGGED_ADDR" },
	{ 0x4003, "ARCH_GET_MAX_TAG_BITS" }, { 0x4004, "ARCH_FORCE_TAGGED_SVA" },
	{ 0x5001, "ARCH_SHSTK_ENABLE" }, { 0x5002, "ARCH_SHSTK_DISABLE" },
	{ 0x5003, "ARCH_SHSTK_LOCK" }, { 0x5004, "ARCH_SHSTK_UNLOCK" },
	{ 0x5005, "ARCH_SHSTK_STATUS" }, { 0, 0 }
};

static const struct value rlimits[] = {
	{ 0, "RLIMIT_CPU" }, { 1, "RLIMIT_FSIZE" }, { 2, "RLIMIT_DATA" }, { 3, "RLIMIT_STACK" },
	{ 4, "RLIMIT_CORE" }, { 5, "RLIMIT_RSS" }, { 6, "RLIMIT_NPROC" }, { 7, "RLIMIT_NOFILE" },
	{ 8, "RLIMIT_MEMLOCK" }, { 9, "RLIMIT_AS" }, { 10, "RLIMIT_LOCKS" },
	{ 11, "RLIMIT_SIGPENDING" }, { 12, "RLIMIT_MSGQUEUE" }, { 13, "RLIMIT_NICE" },
	{ 14, "RLIMIT_RTPRIO" }, { 15, "RLIMIT_RTTIME" }, { 0, 0 }
};

static const struct value epoll_ops[] = {
	{ 1, "EPOLL_CTL_ADD" }, { 2, "EPOLL_CTL_DEL" }, { 3, "EPOLL_CTL_MOD" }, { 0, 0 }
};

/* errno names and glibc's messages, 1..133 */
static const char *const errnos[][2] = {
	[1] = { "EPERM", "Operation not permitted" },
	[2] = { "ENOENT", "No such file or directory" },
	[3] = { "ESRCH", "No such process" },
	[4] = { "EINTR", "Interrupted system call" },
	[5] = { "EIO", "Input/output error" },
	[6] = { "ENXIO", "No such device or address" },
	[7] = { "E2BIG", "Argument list too long" },
	[8] = { "ENOEXEC", "Exec format error" },
	[9] = { "EBADF", "Bad file descriptor" },
	[10] = { "ECHILD", "No child processes" },
	[11] = { "EAGAIN", "Resource temporarily unavailable" },
	[12] = { "ENOMEM", "Cannot allocate memory" },
	[13] = { "EACCES", "Permission denied" },
	[14] = { "EFAULT", "Bad address" },
	[15] = { "ENOTBLK", "Block device required" },
	[16] = { "EBUSY", "Device or resource busy" },
	[17] = { "EEXIST", "File exists" },
	[18] = { "EXDEV", "Invalid cross-device link" },
	[19] = { "ENODEV", "No such device" },
	[20] = { "ENOTDIR", "Not a directory" },
	[21] = { "EISDIR", "Is a directory" },
	[22] = { "EINVAL", "Invalid argument" },
	[23] = { "ENFILE", "Too many open files in system" },
	[24] = { "EMFILE", "Too many open files" },
	[25] = { "ENOTTY", "Inappropriate ioctl for device" },
	[26] = { "ETXTBSY", "Text file busy" },
	[27] = { "EFBIG", "File too large" },
	[28] = { "ENOSPC", "No space left on device" },
	[29] = { "ESPIPE", "Illegal seek" },
	[30] = { "EROFS", "Read-only file system" },
	[31] = { "EMLINK", "Too many links" },
	[32] = { "EPIPE", "Broken pipe" },
	[33] = { "EDOM", "Numerical argument out of domain" },
	[34] = { "ERANGE", "Numerical result out of range" },
	[35] = { "EDEADLK", "Resource deadlock avoided" },
	[36] = { "ENAMETOOLONG", "File name too long" },
	[37] = { "ENOLCK", "No locks available" },
	[38] = { "ENOSYS", "Function not implemented" },
	[39] = { "ENOTEMPTY", "Directory not empty" },
	[40] = { "ELOOP", "Too many levels of symbolic links" },
	[42] = { "ENOMSG", "No message of desired type" },
	[43] = { "EIDRM", "Identifier removed" },
	[44] = { "ECHRNG", "Channel number out of range" },
	[45] = { "EL2NSYNC", "Level 2 not synchronized" },
	[46] = { "EL3HLT", "Level 3 halted" },
	[47] = { "EL3RST", "Level 3 reset" },
	[48] = { "ELNRNG", "Link number out of range" },
	[49] = { "EUNATCH", "Protocol driver not attached" },
	[50] = { "ENOCSI", "No CSI structure available" },
	[51] = { "EL2HLT", "Level 2 halted" },
	[52] = { "EBADE", "Invalid exchange" },
	[53] = { "EBADR", "Invalid request descriptor" },
	[54] = { "EXFULL", "Exchange full" },
	[55] = { "ENOANO", "No anode" },
	[56] = { "EBADRQC", "Invalid request code" },
	[57] = { "EBADSLT", "Invalid slot" },
	[59] = { "EBFONT", "Bad font file format" },
	[60] = { "ENOSTR", "Device not a stream" },
	[61] = { "ENODATA", "No data available" },
	[62] = { "ETIME", "Timer expired" },
	[63] = { "ENOSR", "Out of streams resources" },
	[64] = { "ENONET", "Machine is not on the network" },
	[65] = { "ENOPKG", "Package not installed" },
	[66] = { "EREMOTE", "Object is remote" },
	[67] = { "ENOLINK", "Link has been severed" },
	[68] = { "EADV", "Advertise error" },
	[69] = { "ESRMNT", "Srmount error" },
	[70] = { "ECOMM", "Communication error on send" },
	[71] = { "EPROTO", "Protocol error" },
	[72] = { "EMULTIHOP", "Multihop attempted" },
	[73] = { "EDOTDOT", "RFS specific error" },
	[74] = { "EBADMSG", "Bad message" },
	[75] = { "EOVERFLOW", "Value too large for defined data type" },
	[76] = { "ENOTUNIQ", "Name not unique on network" },
	[77] = { "EBADFD", "File descriptor in bad state" },
	[78] = { "EREMCHG", "Remote address changed" },
	[79] = { "ELIBACC", "Can not access a needed shared library" },
	[80] = { "ELIBBAD", "Accessing a corrupted shared library" },
	[81] = { "ELIBSCN", ".lib section in a.out corrupted" },
	[82] = { "ELIBMAX", "Attempting to link in too many shared libraries" },
	[83] = { "ELIBEXEC", "Cannot exec a shared library directly" },
	[84] = { "EILSEQ", "Invalid or incomplete multibyte or wide character" },
	[85] = { "ERESTART", "Interrupted system call should be restarted" },
	[86] = { "ESTRPIPE", "Streams pipe error" },
	[87] = { "EUSERS", "Too many users" },
	[88] = { "ENOTSOCK", "Socket operation on non-socket" },
	[89] = { "EDESTADDRREQ", "Destination address required" },
	[90] = { "EMSGSIZE", "Message too long" },
	[91] = { "EPROTOTYPE", "Protocol wrong type for socket" },
	[92] = { "ENOPROTOOPT", "Protocol not available" },
	[93] = { "EPROTONOSUPPORT", "Protocol not supported" },
	[94] = { "ESOCKTNOSUPPORT", "Socket type not supported" },
	[95] = { "EOPNOTSUPP", "Operation not supported" },
	[96] = { "EPFNOSUPPORT", "Protocol family not supported" },
	[97] = { "EAFNOSUPPORT", "Address family not supported by protocol" },
	[98] = { "EADDRINUSE", "Address already in use" },
	[99] = { "EADDRNOTAVAIL", "Cannot assign requested address" },
	[100] = { "ENETDOWN", "Network is down" },
	[101] = { "ENETUNREACH", "Network is unreachable" },
	[102] = { "ENETRESET", "Network dropped connection on reset" },
	[103] = { "ECONNABORTED", "Software caused connection abort" },
	[104] = { "ECONNRESET", "Connection reset by peer" },
	[105] = { "ENOBUFS", "No buffer space available" },
	[106] = { "EISCONN", "Transport endpoint is already connected" },
	[107] = { "ENOTCONN", "Transport endpoint is not connected" },
	[108] = { "ESHUTDOWN", "Cannot send after transport endpoint shutdown" },
	[109] = { "ETOOMANYREFS", "Too many references: cannot splice" },
	[110] = { "ETIMEDOUT", "Connection timed out" },
	[111] = { "ECONNREFUSED", "Connection refused" },
	[112] = { "EHOSTDOWN", "Host is down" },
	[113] = { "EHOSTUNREACH", "No route to host" },
	[114] = { "EALREADY", "Operation already in progress" },
	[115] = { "EINPROGRESS", "Operation now in progress" },
	[116] = { "ESTALE", "Stale file handle" },
	[117] = { "EUCLEAN", "Structure needs cleaning" },
	[118] = { "ENOTNAM", "Not a XENIX named type file" },
	[119] = { "ENAVAIL", "No XENIX semaphores available" },
	[120] = { "EISNAM", "Is a named type file" },
	[121] = { "EREMOTEIO", "Remote I/O error" },
	[122] = { "EDQUOT", "Disk quota exceeded" },
	[123] = { "ENOMEDIUM", "No medium found" },
	[124] = { "EMEDIUMTYPE", "Wrong medium type" },
	[125] = { "ECANCELED", "Operation canceled" },
	[126] = { "ENOKEY", "Required key not available" },
	[127] = { "EKEYEXPIRED", "Key has expired" },
	[128] = { "EKEYREVOKED", "Key has been revoked" },
	[129] = { "EKEYREJECTED", "Key was rejected by service" },
	[130] = { "EOWNERDEAD", "Owner died" },
	[131] = { "ENOTRECOVERABLE", "State not recoverable" },
	[132] = { "ERFKILL", "Operation not possible due to RF-kill" },
	[133] = { "EHWPOISON", "Memory page has hardware error" },
};
#define N_ERRNOS ((long)(sizeof(errnos) / sizeof(errnos[0])))

const char *
si_errno_name(long err)
{
	return err > 0 && err < N_ERRNOS ? errnos[err][0] : 0;
}

const char *
si_errno_message(long err)
{
	return err > 0 && err < N_ERRNOS ? errnos[err][1] : 0;
}

/* ---- reading the program's memory */

struct ctx {
	struct out *o;
	const struct si_log_call *call;
	si_log_read_fn read;
};

static size_t
read_mem(const struct ctx *c, void *dst, unsigned long addr, size_t len)
{
	if (!c->read || addr == 0 || len == 0)
		return 0;
	size_t n = c->read(c->call, dst, addr, len);
	return n > len ? len : n;
}

/* The bytes of s[0..len) in double quotes, C-escaped, "..." before the closing quote if cut. */
static void
put_quoted(struct out *o, const unsigned char *s, size_t len, bool cut)
{
	put_c(o, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = s[i];
		switch (ch) {
		case '"': put_s(o, "\\\""); break;
		case '\\': put_s(o, "\\\\"); break;
		case '\n': put_s(o, "\\n"); break;
		case '\t': put_s(o, "\\t"); break;
		case '\r': put_s(o, "\\r"); break;
		case '\v': put_s(o, "\\v"); break;
		case '\f': put_s(o, "\\f"); break;
		case '\a': put_s(o, "\\a"); break;
		case '\b': put_s(o, "\\b"); break;
		case '\0': put_s(o, "\\0"); break;
		default:
			if (ch >= 0x20 && ch < 0x7f) {
				put_c(o, (char)ch);
			} else {
				put_s(o, "\\x");
				put_hexdigits(o, ch, 2);
			}
		}
	}
	if (cut)
		put_s(o, "...");
	put_c(o, '"');
}

/* A NUL-terminated string of the program; its address when nothing of it can be read. */
static void
put_cstring(const struct ctx *c, unsigned long addr)
{
	unsigned char tmp[SI_LOG_STR_MAX + 1];
	if (addr == 0) {
		put_s(c->o, "(null)");
		return;
	}
	size_t n = read_mem(c, tmp, addr, sizeof(tmp));
	if (n == 0) {
		put_ptr(c->o, addr);
		return;
	}
	size_t len = 0;
	while (len < n && tmp[len] != 0)
		len++;
	if (len > SI_LOG_STR_MAX)
		len = SI_LOG_STR_MAX;
	/* cut: no terminator among the bytes read (too long, or unreadable after them) */
	put_quoted(c->o, tmp, len, len == n || len == SI_LOG_STR_MAX);
}

/* `size` bytes of the program at addr: the first SI_LOG_STR_MAX of them, or the address. */
static void
put_buffer(const struct ctx *c, unsigned long addr, unsigned long size)
{
	unsigned char tmp[SI_LOG_STR_MAX];
	size_t want = size > SI_LOG_STR_MAX ? SI_LOG_STR_MAX : size;
	if (addr == 0) {
		put_s(c->o, "(null)");
		return;
	}
	if (want > 0 && read_mem(c, tmp, addr, want) < want) {
		put_ptr(c->o, addr);
		return;
	}
	put_quoted(c->o, tmp, want, size > want);
}

static bool
is_error(long r)
{
	return r < 0 && r >= -4095;
}

/* Whether the after line shows what the kernel wrote: a result known and not an error. */
static bool
output_known(const struct si_log_call *call)
{
	return call->has_result && !is_error(call->result) && call->result >= 0;
}

static void
put_signal(struct out *o, long sig)
{
	if (sig > 0 && sig < 32) {
		put_s(o, signal_names[sig]);
	} else if (sig >= 32 && sig <= 64) {
		put_s(o, "SIGRT_");
		put_dec(o, sig - 32);
	} else {
		put_dec(o, sig);
	}
}

static void
put_open_flags(struct out *o, unsigned long v)
{
	static const char *const modes[4] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	v &= 0xffffffffUL;
	put_s(o, modes[v & 3]);
	put_flag_list(o, open_flags, v & ~3UL, false);
}

static void
put_clone3_args(const struct ctx *c, unsigned long addr)
{
	struct out *o = c->o;
	unsigned long a[8];	/* flags pidfd child_tid parent_tid exit_signal stack stack_size tls */
	if (read_mem(c, a, addr, sizeof(a)) < sizeof(a)) {
		put_ptr(o, addr);
		return;
	}
	put_s(o, "{flags=");
	put_flags(o, clone_flags, a[0]);
	put_s(o, ", exit_signal=");
	put_signal(o, (long)a[4]);
	put_s(o, ", stack=");
	put_ptr(o, a[5]);
	put_s(o, ", stack_size=");
	put_hex(o, a[6]);
	if (a[0] & 0x80000) {	/* CLONE_SETTLS */
		put_s(o, ", tls=");
		put_ptr(o, a[7]);
	}
	put_c(o, '}');
}

static void
put_open_how(const struct ctx *c, unsigned long addr)
{
	struct out *o = c->o;
	unsigned long h[3];	/* flags mode resolve */
	if (read_mem(c, h, addr, sizeof(h)) < sizeof(h)) {
		put_ptr(o, addr);
		return;
	}
	put_s(o, "{flags=");
	put_open_flags(o, h[0]);
	put_s(o, ", mode=");
	put_oct(o, h[1]);
	put_s(o, ", resolve=");
	put_hex(o, h[2]);
	put_c(o, '}');
}

static void
put_argv(const struct ctx *c, unsigned long addr)
{
	struct out *o = c->o;
	unsigned long ptrs[SI_LOG_ARGV_MAX + 1];
	if (addr == 0) {
		put_s(o, "(null)");
		return;
	}
	size_t n = read_mem(c, ptrs, addr, sizeof(ptrs)) / sizeof(ptrs[0]);
	if (n == 0) {
		put_ptr(o, addr);
		return;
	}
	put_c(o, '[');
	size_t i;
	for (i = 0; i < n && i < SI_LOG_ARGV_MAX && ptrs[i] != 0; i++) {
		if (i)
			put_s(o, ", ");
		put_cstring(c, ptrs[i]);
	}
	if (i == n || (i == SI_LOG_ARGV_MAX && ptrs[i] != 0))
		put_s(o, i ? ", ..." : "...");
	put_c(o, ']');
}

static void
put_futex_op(struct out *o, unsigned long op)
{
	op &= 0xffffffffUL;
	const char *name = find_value(futex_cmds, (long)(op & 0x7f));
	if (!name) {
		put_hex(o, op);
		return;
	}
	put_s(o, name);
	if (op & 128)
		put_s(o, "_PRIVATE");
	if (op & 256)
		put_s(o, " | FUTEX_CLOCK_REALTIME");
	if (op & ~0x1ffUL) {
		put_s(o, " | ");
		put_hex(o, op & ~0x1ffUL);
	}
}

static void
put_arg(const struct ctx *c, int i, enum si_arg kind)
{
	struct out *o = c->o;
	const struct si_log_call *call = c->call;
	unsigned long v = (unsigned long)call->args[i];

	switch (kind) {
	case SA_END:
	case SA_KIND_COUNT:
	case SA_HEX:
		put_hex(o, v);
		break;
	case SA_DEC:
		put_dec(o, (long)v);
		break;
	case SA_UDEC:
		put_udec(o, v);
		break;
	case SA_INT:
	case SA_FD:
		put_dec(o, (int)v);
		break;
	case SA_ATFD:
		if ((int)v == -100)
			put_s(o, "AT_FDCWD");
		else
			put_dec(o, (int)v);
		break;
	case SA_PTR:
		put_ptr(o, v);
		break;
	case SA_STR:
		put_cstring(c, v);
		break;
	case SA_BUF_IN:
		put_buffer(c, v, i < 5 ? (unsigned long)call->args[i + 1] : 0);
		break;
	case SA_BUF_OUT:
		if (output_known(call) && v != 0)
			put_buffer(c, v, (unsigned long)call->result);
		else
			put_ptr(o, v);
		break;
	case SA_STR_OUT:
		if (output_known(call) && v != 0)
			put_cstring(c, v);
		else
			put_ptr(o, v);
		break;
	case SA_OCT:
	case SA_OPEN_MODE:
		put_oct(o, v & 0xffffffffUL);
		break;
	case SA_OPEN_FLAGS:
		put_open_flags(o, v);
		break;
	case SA_OPEN_HOW:
		put_open_how(c, v);
		break;
	case SA_AT_FLAGS:
		put_flags(o, at_flags, v & 0xffffffffUL);
		break;
	case SA_ACCESSAT_FLAGS:
		put_flags(o, accessat_flags, v & 0xffffffffUL);
		break;
	case SA_ACCESS:
		if ((v & 0xffffffffUL) == 0)
			put_s(o, "F_OK");
		else
			put_flags(o, access_flags, v & 0xffffffffUL);
		break;
	case SA_PROT:
		if (v == 0)
			put_s(o, "PROT_NONE");
		else
			put_flags(o, prot_flags, v);
		break;
	case SA_MAP_FLAGS: {
		const char *type = find_value(map_types, (long)(v & 0xf));
		if (type) {
			put_s(o, type);
			put_flag_list(o, map_flags, v & ~0xfUL, false);
		} else {
			put_flags(o, map_flags, v);
		}
		break;
	}
	case SA_MREMAP_FLAGS:
		put_flags(o, mremap_flags, v);
		break;
	case SA_MADV:
		put_value(o, madvise_advice, (int)v);
		break;
	case SA_CLONE_FLAGS:
		if ((v & ~0xffUL) == 0 && (v & 0xff) != 0) {
			put_signal(o, (long)(v & 0xff));
		} else {
			unsigned long f = v & ~0xffUL;
			put_flags(o, clone_flags, f);
			if (v & 0xff) {
				put_s(o, " | ");
				put_signal(o, (long)(v & 0xff));
			}
		}
		break;
	case SA_CLONE_ARGS:
		put_clone3_args(c, v);
		break;
	case SA_SIG:
		put_signal(o, (int)v);
		break;
	case SA_SIGHOW:
		put_value(o, sighow_values, (int)v);
		break;
	case SA_WHENCE:
		put_value(o, whence_values, (int)v);
		break;
	case SA_FCNTL_CMD:
		put_value(o, fcntl_cmds, (int)v);
		break;
	case SA_FD_FLAGS:
		put_flags(o, fd_flags, v & 0xffffffffUL);
		break;
	case SA_DOMAIN:
		put_value(o, domains, (int)v);
		break;
	case SA_SOCK_TYPE: {
		const char *type = find_value(sock_types, (long)(v & 0xf));
		if (type) {
			put_s(o, type);
			put_flag_list(o, sock_flags, v & ~0xfUL & 0xffffffffUL, false);
		} else {
			put_flags(o, sock_flags, v & 0xffffffffUL);
		}
		break;
	}
	case SA_MSG_FLAGS:
		put_flags(o, msg_flags, v & 0xffffffffUL);
		break;
	case SA_FDPAIR: {
		int fds[2];
		if (output_known(call) && read_mem(c, fds, v, sizeof(fds)) == sizeof(fds)) {
			put_c(o, '[');
			put_dec(o, fds[0]);
			put_s(o, ", ");
			put_dec(o, fds[1]);
			put_c(o, ']');
		} else {
			put_ptr(o, v);
		}
		break;
	}
	case SA_WAIT_OPT:
		put_flags(o, wait_flags, v & 0xffffffffUL);
		break;
	case SA_FUTEX_OP:
		put_futex_op(o, v);
		break;
	case SA_ARGV:
		put_argv(c, v);
		break;
	case SA_CLOCK:
		put_value(o, clocks, (int)v);
		break;
	case SA_ARCH_PRCTL:
		put_value(o, arch_prctl_codes, (int)v);
		break;
	case SA_RLIMIT:
		put_value(o, rlimits, (int)v);
		break;
	case SA_EPOLL_OP:
		put_value(o, epoll_ops, (int)v);
		break;
	}
}

static void
put_result(struct out *o, const struct si_log_call *call, enum si_ret kind)
{
	long r = call->result;
	if (!call->has_result) {
		put_c(o, '?');
		return;
	}
	if (is_error(r)) {
		put_dec(o, r);
		const char *name = si_errno_name(-r);
		if (name) {
			put_c(o, ' ');
			put_s(o, name);
			put_s(o, " (");
			put_s(o, si_errno_message(-r));
			put_c(o, ')');
		} else {
			put_s(o, " (Unknown error ");
			put_dec(o, -r);
			put_c(o, ')');
		}
		return;
	}
	switch (kind) {
	case SR_HEX:
		put_hex(o, (unsigned long)r);
		break;
	case SR_PTR:
		put_ptr(o, (unsigned long)r);
		break;
	case SR_OCT:
		put_oct(o, (unsigned long)r);
		break;
	case SR_DEC:
	case SR_NORETURN:
		put_dec(o, r);
		break;
	}
}

/* Room kept after the arguments for "...)", " = <result>", the time and "\n". */
#define TAIL_RESERVE 160
_Static_assert(TAIL_RESERVE >= 5 + SI_LOG_RESULT_MAX, "the tail always fits");
_Static_assert(SI_LOG_MIN_CAP > TAIL_RESERVE + 64, "room for the prefix");

/* "<result>[ <seconds>]\n": the end of a line, after its " = ". */
static void
put_tail(struct out *o, const struct si_log_call *call, enum si_ret ret)
{
	put_result(o, call, ret);
	if (call->has_result && call->duration_ns >= 0) {
		put_s(o, " <");
		put_udec(o, (unsigned long)call->duration_ns / 1000000000UL);
		put_c(o, '.');
		unsigned long us = ((unsigned long)call->duration_ns % 1000000000UL) / 1000UL;
		for (unsigned long d = 100000; d; d /= 10)
			put_c(o, (char)('0' + us / d % 10));
		put_c(o, '>');
	}
}

static enum si_ret
ret_kind(long nr)
{
	return si_syscall_name(nr) ? (enum si_ret)si_syscall_table[nr].ret : SR_DEC;
}

size_t
si_log_format_cut(char *buf, size_t cap, const struct si_log_call *call, si_log_read_fn read,
		  bool *cut)
{
	*cut = false;
	if (cap < SI_LOG_MIN_CAP)
		return 0;
	struct out o = { buf, buf + cap - TAIL_RESERVE, false };
	struct ctx c = { &o, call, read };

	/* "/lib/x86_64-linux-gnu/libc.so.6 0xe2f4 -- " */
	if (call->path) {
		put_s(&o, call->path);
		put_c(&o, ' ');
		put_hex(&o, call->offset);
	} else {
		put_s(&o, "? 0x0");
	}
	put_s(&o, " -- ");

	const char *name = si_syscall_name(call->nr);
	const struct si_syscall_format *f = name ? &si_syscall_table[call->nr] : 0;
	if (f) {
		put_s(&o, name);
		put_c(&o, '(');
		for (int i = 0; i < 6 && f->args[i] != SA_END; i++) {
			enum si_arg kind = (enum si_arg)f->args[i];
			if (kind == SA_OPEN_MODE &&
			    !(call->args[i - 1] & (SI_O_CREAT | SI_O_TMPFILE)))
				break;
			if (i)
				put_s(&o, ", ");
			put_arg(&c, i, kind);
			if (o.full)
				break;
		}
	} else {
		put_s(&o, "syscall(");
		put_dec(&o, call->nr);
		for (int i = 0; i < 6; i++) {
			put_s(&o, ", ");
			put_hex(&o, (unsigned long)call->args[i]);
		}
	}

	/* From here on the whole buffer may be used. */
	o.end = buf + cap;
	if (o.full)
		put_s(&o, "...");
	*cut = o.full;
	o.full = false;
	put_s(&o, ") = ");
	put_tail(&o, call, f ? (enum si_ret)f->ret : SR_DEC);
	if (o.p >= buf + cap)	/* cannot happen with TAIL_RESERVE, but never lose the '\n' */
		o.p = buf + cap - 1;
	*o.p++ = '\n';
	return (size_t)(o.p - buf);
}

size_t
si_log_format(char *buf, size_t cap, const struct si_log_call *call, si_log_read_fn read)
{
	bool cut;
	return si_log_format_cut(buf, cap, call, read, &cut);
}

size_t
si_log_format_result(char *buf, size_t cap, const struct si_log_call *call)
{
	if (cap < SI_LOG_RESULT_MAX)
		return 0;
	struct out o = { buf, buf + cap - 1, false };
	put_tail(&o, call, ret_kind(call->nr));
	*o.p++ = '\n';
	return (size_t)(o.p - buf);
}

bool
si_log_reads_output(long nr)
{
	if (!si_syscall_name(nr))
		return false;
	for (int i = 0; i < 6; i++) {
		uint8_t k = si_syscall_table[nr].args[i];
		if (k == SA_BUF_OUT || k == SA_STR_OUT || k == SA_FDPAIR)
			return true;
	}
	return false;
}

size_t
si_fmt_dec(char *buf, size_t cap, long v)
{
	struct out o = { buf, buf + cap, false };
	put_dec(&o, v);
	return (size_t)(o.p - buf);
}

size_t
si_fmt_str(char *buf, size_t cap, const char *s)
{
	struct out o = { buf, buf + cap, false };
	put_s(&o, s);
	return (size_t)(o.p - buf);
}
