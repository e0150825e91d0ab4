/*
 * fixup.c -- sends a thread that was stopped inside a patch when it was swapped in (activate.c)
 * to the place in the trampoline that does what the original instruction did.  Such a thread
 * was preempted in the middle of a window, or blocked in its syscall, or is in a signal handler
 * that will return into the window; when it goes on it finds int3 where its next instruction
 * was (plan.c makes sure it never finds the middle of a jump), and the trap lands here.  The
 * table of those places only grows; the handler reads it without locks, so it must never
 * change a table once published, never free one, and never call anything that is not
 * async-signal-safe.  A trap that is not ours goes on to the handler the program had, and the
 * program keeps seeing and setting its own SIGTRAP action (rt_sigaction goes through
 * si_fixup_filter), so a crash reporter installed later does not take our traps.
 */
#define _GNU_SOURCE
#include "intercept.h"
#include "patch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

struct fixup_table {
	const struct fixup_table *next;
	size_t n;
	struct si_fixup entries[];	/* sorted by `from` */
};

static _Atomic(const struct fixup_table *) tables;
/*
 * SIGTRAP as the program believes it installed it (kernel layout): the kernel's stays ours
 * once armed, and rt_sigaction(SIGTRAP) reads and writes this instead (si_fixup_filter).
 */
static struct si_ksigaction program_action;
int si_fixup_armed;

/*
 * A table of its own pages (this file is built without vector registers, which libc's
 * <stdlib.h> does not allow everywhere), sorted by insertion: a segment has few windows.
 */
bool
si_fixup_add(const struct si_fixup *f, size_t n)
{
	if (n == 0)
		return true;
	struct fixup_table *t = mmap(NULL, sizeof(*t) + n * sizeof(*f), PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return false;
	t->n = n;
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		for (; j > 0 && t->entries[j - 1].from > f[i].from; j--)
			t->entries[j] = t->entries[j - 1];
		t->entries[j] = f[i];
	}
	/* Patching is serialised (the constructor, then ld.so's load lock): one writer. */
	t->next = atomic_load_explicit(&tables, memory_order_relaxed);
	atomic_store_explicit(&tables, t, memory_order_release);
	return true;
}

static bool
lookup(uint64_t from, uint64_t *to)
{
	const struct fixup_table *t = atomic_load_explicit(&tables, memory_order_acquire);
	for (; t; t = t->next) {
		size_t lo = 0, hi = t->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (t->entries[mid].from < from)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < t->n && t->entries[lo].from == from) {
			*to = t->entries[lo].to;
			return true;
		}
	}
	return false;
}

/* Dies of SIGTRAP as the program would have, as soon as the handler returns. */
static void
die_of_sigtrap(void)
{
	struct si_ksigaction dfl = { .handler = SIG_DFL };
	si_sys(SYS_rt_sigaction, SIGTRAP, &dfl, NULL, 8);
	long pid = si_sys(SYS_getpid), tid = si_sys(SYS_gettid);
	si_sys(SYS_tgkill, pid, tid, SIGTRAP);
}

/* Anything but one of our int3: what the program's own disposition does with it. */
static void
not_ours(int sig, siginfo_t *info, void *ctx)
{
	struct si_ksigaction act = program_action;
	if (act.handler == SIG_IGN && info->si_code != SI_KERNEL)
		return;		/* sent, and ignored */
	if (act.handler == SIG_DFL || act.handler == SIG_IGN) {
		die_of_sigtrap();	/* a trap is never ignored: the kernel kills for it */
		return;
	}
	if (act.flags & SA_RESETHAND)
		program_action.handler = SIG_DFL;
	if (act.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))act.handler)(sig, info, ctx);
	else
		((void (*)(int))act.handler)(sig);
}

static void
on_trap(int sig, siginfo_t *info, void *ctx)
{
	ucontext_t *uc = ctx;
	uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP], to;
	/* An int3 (si_code SI_KERNEL) leaves RIP just after itself. */
	if (info->si_code == SI_KERNEL && lookup(rip - 1, &to) && *(const uint8_t *)(rip - 1) == 0xcc) {
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)to;
		if (si_debug_level >= 2)
			si_dprintf(2, "syscall_intercept: a thread stopped at 0x%lx when its site was "
				   "patched goes on at 0x%lx\n", (unsigned long)(rip - 1),
				   (unsigned long)to);
		return;
	}
	not_ours(sig, info, ctx);
}

bool
si_fixup_arm(void)
{
	if (si_fixup_armed)
		return true;
	struct si_ksigaction act = {
		.handler = (void *)on_trap,
		.flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SI_SA_RESTORER,
		.restorer = (void *)si_sigreturn_restorer,
	};
	if (si_sys(SYS_rt_sigaction, SIGTRAP, &act, &program_action, 8) != 0)
		return false;
	si_fixup_armed = 1;
	return true;
}

/* Copies between the program's memory and ours without faulting: false where it is not there. */
static bool
copy_checked(void *to, const void *from, size_t len, bool to_program)
{
	struct iovec local = { to_program ? (void *)from : to, len };
	struct iovec remote = { to_program ? to : (void *)from, len };
	long pid = si_sys(SYS_getpid);
	return si_sys(to_program ? SYS_process_vm_writev : SYS_process_vm_readv, pid, &local, 1,
		      &remote, 1, 0) == (long)len;
}

int
si_fixup_filter(long nr, const long *a, long *result)
{
	if (nr != SYS_rt_sigaction || a[0] != SIGTRAP || !si_fixup_armed)
		return 0;
	if (a[3] != 8) {
		*result = -EINVAL;	/* as the kernel */
		return 1;
	}
	struct si_ksigaction act, old = program_action;
	if (a[1] && !copy_checked(&act, (const void *)a[1], sizeof(act), false)) {
		*result = -EFAULT;
		return 1;
	}
	if (a[2] && !copy_checked((void *)a[2], &old, sizeof(old), true)) {
		*result = -EFAULT;
		return 1;
	}
	if (a[1])
		program_action = act;
	*result = 0;
	return 1;
}

/* glibc 2.32 and later: false from the first pthread_create on. */
extern char __libc_single_threaded __attribute__((weak));

bool
si_other_threads(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (len <= 0) {
		/* No /proc, or no descriptor left: what libc knows, else assume they do. */
		return !&__libc_single_threaded || !__libc_single_threaded;
	}
	buf[len] = '\0';
	/* Field 20 is num_threads; the command name (field 2) may hold spaces: count after it. */
	const char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 20; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return true;
	long count = 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		count = count * 10 + (*p - '0');
	return count != 1;
}
