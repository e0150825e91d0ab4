/*
 * stack.h -- the frame entry.S builds for each intercepted syscall, and the per-thread library
 * stacks it builds it on (stack.c; the layout is in entry_layout.h).
 */
#ifndef SI_STACK_H
#define SI_STACK_H

#include "intercept.h"

/* The saved registers and what the entry needs to go back; see entry_layout.h (FRAME_*). */
struct si_frame {
	long rbp, result, nr;
	long args[6];		/* rdi rsi rdx r10 r8 r9 */
	const struct si_site *site;
	long rbx;
	uintptr_t prog_rsp;	/* R: [R] RFLAGS, [R + 8] return into the trampoline */
};

/*
 * entry.S's slow path, with f built on a level it has just claimed (or on the interrupted
 * stack when every level was taken): frees the levels of activations that can no longer
 * return (left by a longjmp out of a hook, or by a vfork child that exec'd from inside one).
 */
void si_stack_check(struct si_frame *f);

/* Whether f's activation owns a level, and which: 0 .. STK_LEVELS - 1, or -1. */
int si_stack_level_of(const struct si_frame *f);
/* The levels owned now (bit k: level k), f's own excluded (f may be NULL). */
unsigned si_stack_busy(const struct si_frame *f);
/*
 * Before a vfork-like call: notes the levels owned now (f's excluded when entry.S releases it
 * before the call).  In the parent, once the child has exec'd or exited: releases the levels
 * the child left owned (owned now but not then, f's own excluded), and ends the child's
 * borrowing of this TLS.  (For vfork itself the parent's vfork-post entry has released them
 * already, in entry.S, before claiming a level.)
 */
void si_stack_before_vfork(const struct si_frame *f);
void si_stack_after_vfork(const struct si_frame *f);
/* First thing in the child of a clone with CLONE_VM and without CLONE_SETTLS. */
void si_stack_tls_shared(unsigned long clone_flags);
/* For the exit syscall: may entry.S unmap this thread's stacks (SI_ACTION_EXIT)? */
bool si_stack_may_free(const struct si_frame *f);

/* dispatch.c: the hook state to have once no hook can be running on this thread any more. */
void si_hooks_left_by_longjmp(void);

#endif
