/*
 * fixup.c -- sends a thread that was stopped inside a patch when it was swapped in (activate.c)
 * to the place in the trampoline that does what the original instruction did.  Such a thread
 * was preempted in the middle of a window, or blocked in its syscall, or is in a signal handler
 * that will return into the window; when it goes on it finds int3 where its next instruction
 * was (plan.c makes sure it never finds the middle of a jump), and the trap lands here.  The
 * table of those places only grows; the handler reads it without locks, so it must never
 * change a table once published, never free one, and never call anything that is not
 * async-signal-safe.  A trap that is not ours goes on to the handler the program had.
 */
#define _GNU_SOURCE
#include "intercept.h"
#include "patch.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

struct fixup_table {
	const struct fixup_table *next;
	size_t n;
	struct si_fixup entries[];	/* sorted by `from` */
};

static _Atomic(const struct fixup_table *) tables;
static struct sigaction program_action;	/* SIGTRAP as it was before ours */
static atomic_bool armed;

static int
by_from(const void *x, const void *y)
{
	const struct si_fixup *a = x, *b = y;
	return a->from < b->from ? -1 : a->from > b->from;
}

bool
si_fixup_add(const struct si_fixup *f, size_t n)
{
	if (n == 0)
		return true;
	struct fixup_table *t = malloc(sizeof(*t) + n * sizeof(*f));
	if (!t)
		return false;
	t->n = n;
	memcpy(t->entries, f, n * sizeof(*f));
	qsort(t->entries, n, sizeof(*f), by_from);
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

/* Anything but one of our int3: what the program's own disposition would have done. */
static void
not_ours(int sig, siginfo_t *info, void *ctx)
{
	if (program_action.sa_flags & SA_SIGINFO) {
		program_action.sa_sigaction(sig, info, ctx);
		return;
	}
	if (program_action.sa_handler != SIG_DFL && program_action.sa_handler != SIG_IGN) {
		program_action.sa_handler(sig);
		return;
	}
	/*
	 * The default action (the kernel also applies it to a trap while SIGTRAP is ignored):
	 * die of SIGTRAP as soon as this handler returns.
	 */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigaction(SIGTRAP, &dfl, NULL);
	long pid = si_sys(SYS_getpid), tid = si_sys(SYS_gettid);
	si_sys(SYS_tgkill, pid, tid, SIGTRAP);
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
	if (atomic_load(&armed))
		return true;
	struct sigaction act = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	sigemptyset(&act.sa_mask);
	if (sigaction(SIGTRAP, &act, &program_action) != 0)
		return false;
	atomic_store(&armed, true);
	return true;
}

bool
si_other_threads(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;	/* cannot tell: assume they do */
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return true;
	buf[len] = '\0';
	/* Field 20 is num_threads; the command name (field 2) may hold spaces: count after it. */
	const char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 20; field++)
		p = strchr(p + 1, ' ');
	return !p || strtol(p + 1, NULL, 10) != 1;
}
