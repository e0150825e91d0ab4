/*
 * plan.c -- decides, for every syscall site, which bytes to overwrite and how: a 2-byte jump in
 * place of the syscall to a 5-byte jump placed in unreachable padding nearby, else a 5-byte jump
 * over the syscall and neighbouring whole instructions, else nothing (with the reason).  It
 * never writes code and never lets a patch cover an address something may jump to, except at
 * the patch's first byte.
 *
 * Every plan is safe to activate while other threads run (activate.c): a thread may be stopped
 * at any instruction boundary of the original code -- preempted there, blocked in the syscall
 * (it resumes after it, or at it when the kernel restarts the call), or in a signal handler
 * that will return there -- and must find valid code when it goes on.  A padding patch replaces
 * exactly the syscall, so no original boundary lies inside it.  A window's jump fills its first
 * five bytes; the rest is int3.  So with other threads running a window is planned only when
 * no original boundary lies inside the jump (its first instruction is at least five bytes
 * long): a thread stopped at any later boundary traps on an int3 and fixup.c sends it to the
 * same place in the trampoline.  Windows that end at the syscall are preferred, since a thread
 * blocked in the call then resumes on untouched code.  A process's only thread is busy patching
 * and stopped nowhere in the object, so then any window will do.
 */
#include "intercept.h"

#include <stdlib.h>
#include <string.h>

#define MAX_AROUND 5		/* instructions considered on each side of the syscall */
#define JMP32_LEN 5
#define JMP8_LEN 2

/* What an instruction already serves (the `used` array of si_plan). */
enum { FREE = 0, USED_WINDOW = 1, USED_PAD_JUMP = 2 };

const char *
si_patch_method_name(enum si_patch_method m)
{
	switch (m) {
	case SI_PATCH_JMP_WINDOW:
		return "jmp-window";
	case SI_PATCH_JMP_PADDING:
		return "jmp-padding";
	default:
		return "unpatched";
	}
}

/* Can instruction i be moved into a trampoline as a non-first member of a window? */
static bool
movable_inside(const struct si_analysis *a, const uint8_t *used, size_t i, bool first)
{
	const struct si_insn *in = &a->insns[i];
	if (used && used[i])
		return false;
	if ((in->flags & SI_INSN_TARGET) && !first)
		return false;
	if (in->flags & SI_INSN_SYSCALL)
		return true;	/* checked by the caller: only the site itself */
	if (in->flags & (SI_INSN_UNMOVABLE | SI_INSN_CALL | SI_INSN_INVALID))
		return false;
	/*
	 * An endbr64 marks a place reached indirectly; moving it would leave that entry pointing
	 * into our jump unless it is the window's first byte, where the jump itself sits.
	 */
	if ((in->flags & SI_INSN_ENDBR) && !first)
		return false;
	return true;
}

/*
 * Tries the window of instructions [first, last); returns true when it is patchable.  used may
 * be NULL: no instruction serves another patch yet.
 */
static bool
window_ok(const struct si_analysis *a, const uint8_t *used, size_t first, size_t last, size_t sys,
	  bool threads)
{
	uint64_t len = a->insns[last - 1].addr + a->insns[last - 1].len - a->insns[first].addr;
	if (len < JMP32_LEN)
		return false;
	/* No instruction boundary inside the jump: see the top of this file. */
	if (threads && a->insns[first].len < JMP32_LEN)
		return false;
	for (size_t i = first; i < last; i++) {
		if (!movable_inside(a, used, i, i == first))
			return false;
		if ((a->insns[i].flags & SI_INSN_SYSCALL) && i != sys)
			return false;
		/* Code after a ret/jmp in the window would only be reachable by a jump into it. */
		if (i + 1 < last && (a->insns[i].flags & SI_INSN_NO_FALLTHROUGH))
			return false;
	}
	return true;
}

bool
si_window_ok(const struct si_analysis *a, size_t first, size_t last, size_t sys, bool threads)
{
	return first < last && last <= a->n_insns && window_ok(a, NULL, first, last, sys, threads);
}

/* The window with the fewest instructions and at most max_after after the syscall. */
static size_t
smallest_window(const struct si_analysis *a, const uint8_t *used, size_t sys, size_t max_after,
		bool threads, size_t *best_first, size_t *best_last)
{
	size_t best_count = SIZE_MAX;
	for (size_t before = 0; before <= MAX_AROUND && before <= sys; before++) {
		for (size_t after = 0; after <= max_after && sys + 1 + after <= a->n_insns; after++) {
			size_t first = sys - before, last = sys + 1 + after;
			if (before + after + 1 >= best_count)
				break;
			if (window_ok(a, used, first, last, sys, threads)) {
				*best_first = first;
				*best_last = last;
				best_count = before + after + 1;
				break;
			}
		}
	}
	return best_count;
}

/* A window that ends at the syscall if there is one: a thread blocked in the call then resumes
 * on untouched bytes. */
static bool
plan_window(const struct si_analysis *a, uint8_t *used, size_t sys, bool threads,
	    struct si_patch *p)
{
	size_t best_first = 0, best_last = 0;
	size_t best_count = smallest_window(a, used, sys, 0, threads, &best_first, &best_last);
	if (best_count == SIZE_MAX)
		best_count = smallest_window(a, used, sys, MAX_AROUND, threads, &best_first,
					     &best_last);
	if (best_count == SIZE_MAX)
		return false;
	p->method = SI_PATCH_JMP_WINDOW;
	p->first = best_first;
	p->last = best_last;
	for (size_t i = best_first; i < best_last; i++)
		used[i] = USED_WINDOW;
	return true;
}

/*
 * Padding that can host a 5-byte jump: nop/int3 instructions that are not targets, reached by
 * nothing (they follow an instruction that does not fall through), not yet used.
 */
static bool
plan_padding(const struct si_analysis *a, uint8_t *used, size_t sys, struct si_patch *p)
{
	const struct si_insn *s = &a->insns[sys];
	if (used[sys])
		return false;
	uint64_t from = s->addr + JMP8_LEN;
	size_t best = SIZE_MAX;
	uint64_t best_dist = UINT64_MAX;
	size_t lo = 0, hi = a->n_insns;
	while (lo < hi) {	/* first instruction at or after from - 128 */
		size_t mid = lo + (hi - lo) / 2;
		if (a->insns[mid].addr + 128 < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo ? lo : 1; i < a->n_insns; i++) {
		const struct si_insn *in = &a->insns[i];
		if (in->addr > from + 127)
			break;
		/* start of an unreachable padding run? */
		if (!(in->flags & SI_INSN_PADDING) || (in->flags & SI_INSN_TARGET) || used[i])
			continue;
		size_t prev = i - 1;
		while (prev > 0 && (a->insns[prev].flags & SI_INSN_PADDING) &&
		       !(a->insns[prev].flags & SI_INSN_TARGET) && !used[prev])
			prev--;
		if (!(a->insns[prev].flags & SI_INSN_NO_FALLTHROUGH) && used[prev] != USED_PAD_JUMP)
			continue;
		/* enough room in [i, ...) */
		uint64_t room = 0;
		for (size_t j = i; j < a->n_insns && room < JMP32_LEN; j++) {
			const struct si_insn *pj = &a->insns[j];
			if (!(pj->flags & SI_INSN_PADDING) || (pj->flags & SI_INSN_TARGET) || used[j])
				break;
			room += pj->len;
		}
		if (room < JMP32_LEN)
			continue;
		int64_t rel = (int64_t)(in->addr - from);
		if (rel < -128 || rel > 127)
			continue;
		uint64_t dist = rel < 0 ? (uint64_t)-rel : (uint64_t)rel;
		if (dist < best_dist) {
			best = i;
			best_dist = dist;
		}
	}
	if (best == SIZE_MAX)
		return false;
	p->method = SI_PATCH_JMP_PADDING;
	p->first = sys;
	p->last = sys + 1;
	p->pad_addr = a->insns[best].addr;
	used[sys] = USED_WINDOW;
	uint64_t room = 0;
	for (size_t j = best; room < JMP32_LEN; j++) {
		used[j] = USED_PAD_JUMP;
		room += a->insns[j].len;
	}
	return true;
}

/* Whether a window would be found if no other thread ran (for the reason a site is left). */
static bool
unsafe_window_exists(const struct si_analysis *a, const uint8_t *used, size_t sys)
{
	size_t first, last;
	return smallest_window(a, used, sys, MAX_AROUND, false, &first, &last) != SIZE_MAX;
}

/*
 * Padding is preferred (nothing of the original code stays inside a padding patch), but it is
 * scarce: sites that have no window take theirs first.
 */
void
si_plan(const struct si_analysis *a, struct si_patch *out, bool threads)
{
	uint8_t *used = calloc(a->n_insns + 1, 1);
	for (size_t k = 0; k < a->n_syscalls; k++) {
		memset(&out[k], 0, sizeof(out[k]));
		out[k].syscall_addr = a->insns[a->syscalls[k]].addr;
		out[k].method = SI_PATCH_NONE;
		out[k].reason = "out of memory";
	}
	for (int pass = 0; used && pass < 2; pass++) {
		for (size_t k = 0; k < a->n_syscalls; k++) {
			size_t sys = a->syscalls[k], first, last;
			struct si_patch *p = &out[k];
			bool has_window = smallest_window(a, used, sys, MAX_AROUND, threads, &first,
							  &last) != SIZE_MAX;
			if (has_window != (pass == 1))
				continue;
			if (!plan_padding(a, used, sys, p) && !plan_window(a, used, sys, threads, p)) {
				p->reason = (a->insns[sys].flags & SI_INSN_TARGET)
					? "jump targets on both sides and no padding within 127 bytes"
					: threads && unsafe_window_exists(a, used, sys)
					? "not safe while other threads run: no padding within 127 "
					  "bytes, and every window starts with an instruction shorter "
					  "than its jump"
					: "no 5-byte window of movable instructions and no padding "
					  "within 127 bytes";
				continue;
			}
			p->reason = NULL;
			p->start = a->insns[p->first].addr;
			p->end = a->insns[p->last - 1].addr + a->insns[p->last - 1].len;
		}
	}
	free(used);
}
