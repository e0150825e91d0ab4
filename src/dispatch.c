/*
 * dispatch.c -- what happens to an intercepted syscall: the hooks are called, the syscall runs
 * (or not), the log is written.  Called from entry.S with the saved register frame, on the
 * thread's library stack (stack.c).  This is the per-syscall hot path: it must never take a
 * lock, allocate, or call libc; everything it needs is a raw syscall (si_syscall6) and
 * thread-local state.
 */
#include "intercept.h"
#include "entry_layout.h"
#include "log.h"
#include "patch.h"
#include "stack.h"

#include <linux/sched.h>
#include <stddef.h>
#include <sys/syscall.h>

/* The public hooks. */
__attribute__((visibility("default"))) int (*intercept_hook_point)(long, long, long, long, long,
								  long, long, long *);
__attribute__((visibility("default"))) void (*intercept_hook_point_clone_child)(void);
__attribute__((visibility("default"))) void (*intercept_hook_point_clone_parent)(long);
__attribute__((visibility("default"))) void (*intercept_hook_point_post_kernel)(long, long, long,
									       long, long, long,
									       long, long);

_Static_assert(offsetof(struct si_frame, result) == FRAME_RESULT, "frame layout");
_Static_assert(offsetof(struct si_frame, nr) == FRAME_NR, "frame layout");
_Static_assert(offsetof(struct si_frame, args) == FRAME_RDI, "frame layout");
_Static_assert(offsetof(struct si_frame, args[5]) == FRAME_R9, "frame layout");
_Static_assert(offsetof(struct si_frame, site) == FRAME_SITE, "frame layout");
_Static_assert(offsetof(struct si_frame, prog_rsp) == FRAME_PROG_RSP, "frame layout");
_Static_assert(sizeof(struct si_frame) == FRAME_SIZE, "frame layout");
_Static_assert(offsetof(struct si_site, resume) == SITE_RESUME, "site layout");
_Static_assert(offsetof(struct si_site, after_call) == SITE_AFTER_CALL, "site layout");
_Static_assert(offsetof(struct si_site, return_addr) == SITE_RETURN_ADDR, "site layout");
_Static_assert(offsetof(struct si_site, vfork_stub) == SITE_VFORK_STUB, "site layout");
_Static_assert(offsetof(struct si_site, syscall_stub) == SITE_SYSCALL_STUB, "site layout");

/* Returned in RAX:RDX to entry.S. */
struct si_ret {
	long value;		/* the result, or the syscall number for an in-place action */
	long action;		/* SI_ACTION_* */
};

/*
 * Nonzero while a hook runs on this thread: syscalls it makes (through libc) go straight to
 * the kernel instead of recursing into the hook.
 */
static __thread int in_hook;
/* The part of in_hook that si_internal_begin holds (the library's own work, not a hook). */
static __thread int internal;
/*
 * The number of a vfork-like syscall in progress (the vfork-post frame holds only registers).
 * The child runs on its parent's thread memory, so it sees it set until it execs or exits; the
 * parent clears it once the call returned to it.
 */
static __thread long vfork_nr;

bool
si_in_vfork_child(void)
{
	return vfork_nr != 0;
}

/* The library's own syscalls (patching objects at init or after dlopen) skip hooks and log. */
void
si_internal_begin(void)
{
	in_hook++;
	internal++;
}

void
si_internal_end(void)
{
	in_hook--;
	internal--;
}

/*
 * stack.c found that every activation that could have been running a hook on this thread was
 * left by a longjmp (out of a hook, or out of a signal handler that interrupted one): the
 * hooks are enabled again, as after a hook's return.
 */
void
si_hooks_left_by_longjmp(void)
{
	in_hook = internal;
}

/*
 * Around every call of a user hook.  If the hook is left by unwinding instead of a return (a
 * C++ exception thrown through it, pthread_exit or cancellation inside it), the cleanup runs
 * (this file is built with -fexceptions): it says so loudly and leaves the thread's state
 * consistent (hooks enabled again) instead of silently disabling the hooks for good.  On a
 * normal return in_hook is already 0 and the cleanup costs one test.
 */
static void
unwound_out_of_hook(void)
{
	in_hook = 0;
	si_write_str(2, "syscall_intercept: a hook was left by unwinding (a C++ exception, or "
			"pthread_exit or cancellation inside it); exceptions must not leave a hook "
			"(libsyscall_intercept(3))\n");
}

static inline void
check_hook_left(int *unused)
{
	(void)unused;
	if (__builtin_expect(in_hook != 0, 0))
		unwound_out_of_hook();
}
#define HOOK_ENTER int hook_guard __attribute__((cleanup(check_hook_left))) = 0; \
	(void)hook_guard; in_hook = 1
#define HOOK_LEAVE in_hook = 0

/* Syscalls that need more than "call the hook, run it, return": see entry.S. */
#define SPECIAL_LOW_MASK ((1ul << SYS_rt_sigreturn) | (1ul << SYS_clone) | (1ul << SYS_fork) | \
			  (1ul << SYS_vfork) | (1ul << SYS_exit))
static inline int
is_special(long nr)
{
	return ((unsigned long)nr < 64 && ((1ul << nr) & SPECIAL_LOW_MASK)) || nr == SYS_clone3;
}

static inline long
kernel(long nr, const long *a)
{
	return si_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* Whether intercept_hook_point, when set, is to see this syscall. */
static inline bool
hook_may_see(const struct si_frame *f)
{
	return !in_hook && !(f->site->flags & SI_SITE_NO_HOOK);
}

/* Calls intercept_hook_point; returns 1 when the syscall should run, 0 when *result is set. */
static inline int
call_hook(const struct si_frame *f, long nr, const long *a, long *result)
{
	int (*hook)(long, long, long, long, long, long, long, long *) = intercept_hook_point;
	if (!hook || !hook_may_see(f))
		return 1;
	HOOK_ENTER;
	int run = hook(nr, a[0], a[1], a[2], a[3], a[4], a[5], result);
	HOOK_LEAVE;
	return run;
}

static inline void
call_post_kernel(long nr, const long *a, long result)
{
	void (*post)(long, long, long, long, long, long, long, long) =
		intercept_hook_point_post_kernel;
	if (!post || in_hook)
		return;
	HOOK_ENTER;
	post(nr, a[0], a[1], a[2], a[3], a[4], a[5], result);
	HOOK_LEAVE;
}

static inline void
log_line(const struct si_frame *f, long nr, const long *a, long result, bool has_result)
{
	if (__builtin_expect(si_log_fd >= 0, 0))
		si_log_syscall(f->site, nr, a, result, has_result);
}

/*
 * After a clone-like syscall returned result: in the child (0) or the parent.  In the child it
 * must run before anything is logged there: the log may have to move to the child's own file.
 * Only a child with its own memory and its own descriptor table may touch the log's state
 * (a vfork child writes the parent's memory; a CLONE_FILES child would close the parent's fd).
 */
static void
after_clone(const struct si_frame *f, long nr, const long *a, long result, unsigned long flags)
{
	if (result == 0) {
		/* Syscall User Dispatch is not inherited: a new task arms it again. */
		si_safety_net_thread_start();
		if (!(flags & (CLONE_VM | CLONE_FILES)))
			si_log_after_fork();
		log_line(f, nr, a, result, true);
		void (*child)(void) = intercept_hook_point_clone_child;
		if (child && !in_hook) {
			HOOK_ENTER;
			child();
			HOOK_LEAVE;
		}
		return;
	}
	log_line(f, nr, a, result, true);
	if (result > 0) {
		void (*parent)(long) = intercept_hook_point_clone_parent;
		if (parent && !in_hook) {
			HOOK_ENTER;
			parent(result);
			HOOK_LEAVE;
		}
	}
	call_post_kernel(nr, a, result);
}

/* What a clone-like call will do with the stack: a new one, the parent's shared one, or a copy. */
enum clone_kind { CLONE_COPY, CLONE_NEW_STACK, CLONE_SHARED_STACK };

static enum clone_kind
classify_clone(long nr, const long *a, unsigned long *child_sp, unsigned long *flags_out)
{
	unsigned long flags = 0;
	*child_sp = 0;
	*flags_out = 0;
	switch (nr) {
	case SYS_fork:
		return CLONE_COPY;
	case SYS_vfork:
		*flags_out = CLONE_VM | CLONE_VFORK;
		return CLONE_SHARED_STACK;
	case SYS_clone:
		flags = (unsigned long)a[0];
		*child_sp = (unsigned long)a[1];
		break;
	case SYS_clone3: {
		const struct clone_args *ca = (const struct clone_args *)a[0];
		/* Too small or no struct: the kernel will refuse it; run it like a fork. */
		if (!ca || (unsigned long)a[1] < CLONE_ARGS_SIZE_VER0)
			return CLONE_COPY;
		flags = ca->flags;
		if (ca->stack)
			*child_sp = ca->stack + ca->stack_size;
		break;
	}
	}
	*flags_out = flags;
	if (*child_sp)
		return CLONE_NEW_STACK;
	return (flags & CLONE_VM) ? CLONE_SHARED_STACK : CLONE_COPY;
}

static struct si_ret dispatch_exit(struct si_frame *f);

/* Out of line: its frame would otherwise weigh on every syscall's path through si_dispatch. */
static __attribute__((noinline)) struct si_ret
dispatch_special(struct si_frame *f)
{
	long nr = f->nr, result = 0;
	const long *a = f->args;

	if (nr == SYS_exit)
		return dispatch_exit(f);
	log_line(f, nr, a, 0, false);
	if (nr == SYS_rt_sigreturn) {
		/* Shown to the hook, but it cannot be answered: it must run, and never returns. */
		call_hook(f, nr, a, &result);
		return (struct si_ret){ nr, SI_ACTION_SIGRETURN };
	}
	if (!call_hook(f, nr, a, &result)) {
		log_line(f, nr, a, result, true);
		return (struct si_ret){ result, SI_ACTION_RETURN };
	}

	unsigned long child_sp, flags;
	switch (classify_clone(nr, a, &child_sp, &flags)) {
	case CLONE_NEW_STACK:
		((uint64_t *)child_sp)[-1] = f->site->resume;
		((const struct si_site **)child_sp)[-2] = f->site;
		((long *)child_sp)[-3] = nr;
		((unsigned long *)child_sp)[-4] = flags;
		if (flags & CLONE_VFORK)
			si_stack_before_vfork(NULL);	/* f's level included: kept */
		return (struct si_ret){ nr, SI_ACTION_CLONE_STACK };
	case CLONE_SHARED_STACK:
		vfork_nr = nr;
		si_stack_before_vfork(f);	/* f's level is released before the stub */
		return (struct si_ret){ nr, SI_ACTION_VFORK };
	case CLONE_COPY:
		break;
	}
	result = kernel(nr, a);
	after_clone(f, nr, a, result, flags);
	return (struct si_ret){ result, SI_ACTION_RETURN };
}

/*
 * Whether a syscall the hook let through must go past a filter that keeps the library's own
 * signal handling: every signal syscall while the safety net is armed (SIGSYS), rt_sigaction
 * once fixup.c's SIGTRAP handler is installed.
 */
static inline bool
needs_signal_filter(long nr)
{
	return si_safety_net_armed || (nr == SYS_rt_sigaction && si_fixup_armed);
}

/* The kernel's part of a syscall the hook let through, then the post-kernel hook. */
static inline long
run_in_kernel(struct si_frame *f, long nr, const long *a)
{
	long result;
	if (__builtin_expect(needs_signal_filter(nr), 0) &&
	    (si_fixup_filter(nr, f->args, &result) ||
	     (si_safety_net_armed && si_safety_net_filter(nr, f->args, &result))))
		;	/* a signal syscall, kept from changing the library's SIGTRAP or SIGSYS */
	else
		result = kernel(nr, a);
	call_post_kernel(nr, a, result);
	return result;
}


/* Whether hook code will run between the two log lines of this syscall (see log.h). */
static inline bool
hook_runs(const struct si_frame *f)
{
	return (intercept_hook_point && hook_may_see(f)) ||
	       (intercept_hook_point_post_kernel && !in_hook);
}

/* si_dispatch under INTERCEPT_LOG: its own function, so only it has the logger's frame. */
static __attribute__((noinline)) struct si_ret
dispatch_logged(struct si_frame *f)
{
	long nr = f->nr;
	const long *a = f->args;
	struct si_log_pending lp;
	si_log_before(&lp, f->site, nr, a, hook_runs(f));
	long result;
	if (call_hook(f, nr, a, &result)) {
		if (si_log_keep_fd(nr, a, &result))
			call_post_kernel(nr, a, result);	/* done around the log's descriptor */
		else
			result = run_in_kernel(f, nr, a);
	}
	si_log_after(&lp, f->site, nr, a, result);
	return (struct si_ret){ result, SI_ACTION_RETURN };
}

/*
 * A thread's exit syscall: as any other syscall, but when it runs, the thread's library stacks
 * go with it (entry.S unmaps them, then makes the call) unless they may still be needed: a TLS
 * block shared with another thread, a vfork child on its parent's, an exit made from code
 * running on a library stack.  Those are left mapped.
 */
static __attribute__((noinline)) struct si_ret
dispatch_exit(struct si_frame *f)
{
	long nr = f->nr, result;
	const long *a = f->args;
	if (__builtin_expect(si_log_fd >= 0, 0)) {
		struct si_log_pending lp;
		si_log_before(&lp, f->site, nr, a, hook_runs(f));
		if (!call_hook(f, nr, a, &result)) {
			si_log_after(&lp, f->site, nr, a, result);
			return (struct si_ret){ result, SI_ACTION_RETURN };
		}
	} else if (!call_hook(f, nr, a, &result)) {
		return (struct si_ret){ result, SI_ACTION_RETURN };
	}
	if (si_stack_may_free(f))
		return (struct si_ret){ nr, SI_ACTION_EXIT };
	result = run_in_kernel(f, nr, a);	/* returns only if the kernel refused */
	return (struct si_ret){ result, SI_ACTION_RETURN };
}

/*
 * The common case: a syscall the hook (if any) lets through, with nothing to do after it.  The
 * entry then restores every register and runs it in the site's own syscall stub, at the site's
 * RSP, which returns straight to the program.  Besides saving the trip back through C and the
 * entry, this matters where a syscall flushes the TLB (page-table isolation without PCID): the
 * only page the stub touches after the kernel returns is the trampoline's own.
 */
SI_HIDDEN struct si_ret
si_dispatch(struct si_frame *f)
{
	long nr = f->nr, result;
	if (__builtin_expect(is_special(nr), 0))
		return dispatch_special(f);
	if (__builtin_expect(si_log_fd >= 0, 0))
		return dispatch_logged(f);
	if (!call_hook(f, nr, f->args, &result))
		return (struct si_ret){ result, SI_ACTION_RETURN };
	if (__builtin_expect(!needs_signal_filter(nr) && !intercept_hook_point_post_kernel &&
			     f->site->syscall_stub, 1))
		return (struct si_ret){ nr, SI_ACTION_SYSCALL };
	result = run_in_kernel(f, nr, f->args);
	return (struct si_ret){ result, SI_ACTION_RETURN };
}

/* CLONE_STACK, in the parent, after the syscall returned (the child runs on its own stack). */
SI_HIDDEN struct si_ret
si_dispatch_post(struct si_frame *f)
{
	unsigned long child_sp, flags;
	classify_clone(f->nr, f->args, &child_sp, &flags);
	if ((flags & (CLONE_VM | CLONE_VFORK)) == (CLONE_VM | CLONE_VFORK))
		si_stack_after_vfork(f);	/* the child has exec'd or exited */
	after_clone(f, f->nr, f->args, f->result, flags);
	return (struct si_ret){ f->result, SI_ACTION_RETURN };
}

/* CLONE_STACK, first thing in the new thread, on its new stack; flags as stored by the parent. */
SI_HIDDEN struct si_ret
si_dispatch_clone_child(struct si_frame *f, unsigned long flags)
{
	if ((flags & CLONE_VM) && !(flags & CLONE_SETTLS))
		si_stack_tls_shared(flags);	/* before anything here uses a library stack */
	after_clone(f, f->nr, f->args, 0, flags);
	return (struct si_ret){ 0, SI_ACTION_RETURN };
}

/* VFORK: in the child (result 0), then in the parent once the child has exec'd or exited. */
SI_HIDDEN struct si_ret
si_dispatch_vfork_post(struct si_frame *f)
{
	long result = f->result, nr = vfork_nr;
	si_sud_selector = 1;	/* entry.S allowed the stub's syscall (safety net) */
	if (result != 0) {
		vfork_nr = 0;	/* the parent, or no child at all */
		si_stack_after_vfork(f);
	}
	after_clone(f, nr, f->args, result, CLONE_VM);
	return (struct si_ret){ result, SI_ACTION_RETURN };
}
