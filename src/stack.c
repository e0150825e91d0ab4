/*
 * stack.c -- the library's own per-thread stacks.  entry.S runs the saved registers, the vector
 * state, the dispatcher, the hooks and the logger on them instead of on the stack of the code
 * that made the syscall, which may be a 2 KiB goroutine or coroutine stack or a small signal
 * stack.  entry.S maps, claims and releases them itself (raw syscalls, and no C: libc may be
 * the code being intercepted, and before the switch there is no stack to run C on); this file
 * keeps their thread-local state and does the rare work in C: noticing activations that a
 * longjmp left behind so their levels serve again, the clone and vfork cases, and whether a
 * thread's stacks may be freed when it exits.  It must never call libc or allocate, and never
 * release a level whose activation may still return.
 *
 * Sizes: STK_LEVELS (4) levels of 256 KiB each, 1 MiB of address space per thread, mapped
 * PROT_NONE; a level becomes read-write (all but its lowest page, the guard) when first used
 * (levels 0 and 1 at once), and only the pages touched cost memory.  Level 0 serves the
 * syscalls of the thread's own code; the others serve activations that start while one is
 * already running without being on its stack: a signal handler on an alternate signal stack
 * (sigaltstack) interrupting a hook, code a hook switches to (its own coroutines), a vfork
 * child.
 */
#include "intercept.h"
#include "entry_layout.h"
#include "stack.h"

#include <errno.h>
#include <linux/sched.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/uio.h>

struct si_stack_tls {
	uintptr_t fast;		/* level 0's top, or si_stack_no_level + STK_RECORD */
	uintptr_t base;		/* the reservation (STK_MAP bytes), 0 when none */
	uint32_t ready;		/* bit k: level k is read-write */
	uint32_t flags;		/* STK_SHARED, STK_BORROWED */
	/*
	 * The levels owned when a vfork-like call started (the caller's own excluded when it
	 * releases it first): once the child has gone, the parent releases every other level,
	 * which the child left owned if it exec'd from inside an activation.
	 */
	uint32_t vfork;
};
/*
 * A record that is never free: `fast` points past it while the thread has no level 0 to try
 * (no reservation yet, or a TLS block shared by running threads), so the entry's fast path
 * needs no other test.  entry.S uses it too.
 */
SI_HIDDEN const uintptr_t si_stack_no_level = REC_BUILDING;
#define NO_LEVEL ((uintptr_t)&si_stack_no_level + STK_RECORD)

/* Initial-exec TLS, read by entry.S (si_stack@gottpoff); a new thread's starts like this. */
__thread struct si_stack_tls si_stack SI_HIDDEN = { .fast = NO_LEVEL };

_Static_assert(offsetof(struct si_stack_tls, fast) == STK_FAST, "stack TLS layout");
_Static_assert(offsetof(struct si_stack_tls, base) == STK_BASE, "stack TLS layout");
_Static_assert(offsetof(struct si_stack_tls, ready) == STK_READY, "stack TLS layout");
_Static_assert(offsetof(struct si_stack_tls, flags) == STK_FLAGS, "stack TLS layout");
_Static_assert(offsetof(struct si_stack_tls, vfork) == STK_VFORK, "stack TLS layout");
_Static_assert(STK_MAP == STK_LEVELS * STK_STRIDE, "stack layout");
_Static_assert(sizeof(struct si_frame) == FRAME_SIZE, "frame layout");
_Static_assert(offsetof(struct si_frame, rbx) == FRAME_RBX, "frame layout");
_Static_assert(offsetof(struct si_frame, prog_rsp) == FRAME_PROG_RSP, "frame layout");
_Static_assert(FRAME_SIZE - FRAME_PROG_RSP == STK_RECORD, "a level's record is its frame's R");

/*
 * Two activations whose R lie this close share the same memory: the later one's entry wrote
 * over the earlier one's saved RFLAGS and return address, or its code runs where the earlier
 * one's site had its red zone, so the earlier one cannot return any more.  Distinct stacks
 * cannot come this close: each holds at least [R, the site's RSP) in use, PROG_CFA + 128 bytes.
 */
#define SAME_PLACE (PROG_CFA + 128)

static uintptr_t
level_top(uintptr_t base, int k)
{
	return base + STK_MAP - (uintptr_t)k * STK_STRIDE;
}

static volatile struct si_frame *
level_frame(uintptr_t base, int k)
{
	return (volatile struct si_frame *)(level_top(base, k) - FRAME_SIZE);
}

int
si_stack_level_of(const struct si_frame *f)
{
	uintptr_t base = si_stack.base;
	if (!base)
		return -1;
	for (int k = 0; k < STK_LEVELS; k++)
		if ((uintptr_t)(f + 1) == level_top(base, k))
			return k;
	return -1;
}

unsigned
si_stack_busy(const struct si_frame *f)
{
	uintptr_t base = si_stack.base;
	int own = f ? si_stack_level_of(f) : -1;
	unsigned busy = 0;
	if (!base)
		return 0;
	for (int k = 0; k < STK_LEVELS; k++)
		if (k != own && (si_stack.ready & (1u << k)) && level_frame(base, k)->prog_rsp)
			busy |= 1u << k;
	return busy;
}

static void
release(int k, uintptr_t rec)
{
	volatile struct si_frame *o = level_frame(si_stack.base, k);
	if (o->prog_rsp == rec)	/* else claimed anew meanwhile, by a handler that returned */
		o->prog_rsp = 0;
}

/*
 * Reads n words at addr, which may no longer be mapped: 1 when read, 0 when the address is bad,
 * -1 when the kernel would not say (process_vm_readv refused, e.g. by a seccomp filter).
 */
static int
read_words(uintptr_t addr, uintptr_t *out, size_t n)
{
	struct iovec local = { out, n * sizeof(*out) };
	struct iovec remote = { (void *)addr, n * sizeof(*out) };
	long pid = si_sys(SYS_getpid);
	long r = si_sys(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0);
	if (r == (long)(n * sizeof(*out)))
		return 1;
	return r == -EFAULT ? 0 : -1;
}

/* Rate of the memory check below, per thread: the first time, then every 64th. */
static __thread unsigned memory_checks;

/*
 * Can the activation that owns level k (record rec) no longer return, seen from an activation
 * at R that came from outside the library stacks?  True when sure: the two share memory, or the
 * return into the trampoline the owner keeps at rec + 8 has been overwritten or unmapped: the
 * code that would return there is gone.  An activation still writing its frame
 * (REC_BUILDING) is never judged.
 */
static bool
left_behind(volatile struct si_frame *o, uintptr_t rec, uintptr_t R)
{
	if (rec == REC_BUILDING)
		return false;
	if (rec < R + SAME_PLACE && R < rec + SAME_PLACE)
		return true;
	if (memory_checks++ % 64 != 0)
		return false;
	uintptr_t w[2];
	int r = read_words(rec, w, 2);
	if (r != 1)
		return r == 0;
	const struct si_site *s = o->site;
	uintptr_t ret = w[PROG_RET / 8];
	return ret != s->after_call && ret != s->vfork_stub + SI_VFORK_STUB_CALL_END;
}

void
si_stack_check(struct si_frame *f)
{
	uintptr_t base = si_stack.base;
	/*
	 * A vfork child: the other levels belong to its suspended parent, which will return to
	 * them; the child has nothing to free (and must not spend syscalls finding that out).
	 */
	if (!base || (si_stack.flags & STK_BORROWED) || si_in_vfork_child())
		return;
	int own = si_stack_level_of(f);
	bool freed = false, live = false;
	for (int k = 0; k < STK_LEVELS; k++) {
		if (k == own || !(si_stack.ready & (1u << k)))
			continue;
		volatile struct si_frame *o = level_frame(base, k);
		uintptr_t rec = o->prog_rsp;
		if (!rec)
			continue;
		if (left_behind(o, rec, f->prog_rsp)) {
			release(k, rec);
			freed = true;
		} else {
			live = true;
		}
	}
	/*
	 * Every activation that came from outside is gone but this one, which has not called a
	 * hook yet: no hook can still be running on this thread (one was left by longjmp).
	 */
	if (freed && !live)
		si_hooks_left_by_longjmp();
}

void
si_stack_before_vfork(const struct si_frame *f)
{
	si_stack.vfork = si_stack_busy(f);
}

void
si_stack_after_vfork(const struct si_frame *f)
{
	unsigned left = si_stack_busy(f) & ~si_stack.vfork;
	for (int k = 0; k < STK_LEVELS; k++)
		if (left & (1u << k))
			release(k, level_frame(si_stack.base, k)->prog_rsp);
	si_stack.flags &= ~(uint32_t)STK_BORROWED;
}

void
si_stack_tls_shared(unsigned long clone_flags)
{
	if (clone_flags & CLONE_VFORK) {
		/* The parent waits until this child has gone: the free levels are the child's. */
		si_stack.flags |= STK_BORROWED;
		return;
	}
	/*
	 * Two running threads on one TLS block cannot tell their levels apart without a syscall:
	 * from now on every thread of this block runs the library on its own stack, as it did
	 * before the library had stacks, and the reservation is never freed.
	 */
	si_stack.flags |= STK_SHARED;
	si_stack.fast = NO_LEVEL;
}

bool
si_stack_may_free(const struct si_frame *f)
{
	return si_stack.base && si_stack_level_of(f) >= 0 &&
	       !(si_stack.flags & (STK_SHARED | STK_BORROWED)) && !si_in_vfork_child();
}
