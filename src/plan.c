/*
 * plan.c -- decides, for every syscall site, which bytes to overwrite and how: a 2-byte jump in
 * place of the syscall to a 5-byte jump placed in unreachable padding nearby, else a 5-byte jump
 * over the syscall and neighbouring whole instructions, else nothing (with the reason); and
 * states, in si_plan_valid, the one rule every plan must meet before it is emitted, whether the
 * planner just made it or the plan cache read it back.  It never writes code and never lets a
 * patch cover an address something may jump to, except at the patch's first byte.
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

/* instructions considered on each side of the syscall: a window holds SI_MAX_WINDOW_INSNS */
#define MAX_AROUND ((SI_MAX_WINDOW_INSNS - 1) / 2)
#define JMP32_LEN 5
#define JMP8_LEN 2
/*
 * Two patches whose syscalls are this far apart cannot share a byte: each patch's bytes lie
 * within its window (SI_MAX_WINDOW_LEN around the syscall) or its pad (rel8 reach plus 5).
 */
#define NEAR (2 * (128 + JMP32_LEN + SI_MAX_WINDOW_LEN))

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

/*
 * Why instructions [first, last) of a, holding the syscall `sys`, cannot be a window, or NULL
 * when they can.  The planner and si_plan_valid both ask this: it is the rule for a window.
 */
static const char *
window_fault(const struct si_analysis *a, size_t first, size_t last, size_t sys, bool threads)
{
	if (first >= last || last > a->n_insns || sys < first || sys >= last)
		return "the window does not hold its syscall";
	const struct si_insn *f = &a->insns[first], *l = &a->insns[last - 1];
	/* What emit.c, patch.c and struct si_write can hold. */
	if (last - first > SI_MAX_WINDOW_INSNS)
		return "the window holds more instructions than a trampoline takes";
	if (l->addr + l->len < f->addr + JMP32_LEN)
		return "the window is shorter than its 5-byte jump";
	if (l->addr + l->len > f->addr + SI_MAX_WINDOW_LEN)
		return "the window is longer than a patch write holds";
	/* No instruction boundary inside the jump: see the top of this file. */
	if (threads && f->len < JMP32_LEN)
		return "with other threads running, the window starts with an instruction shorter "
		       "than its jump";
	for (size_t i = first; i < last; i++) {
		const struct si_insn *in = &a->insns[i];
		if (i > first && in->addr != a->insns[i - 1].addr + a->insns[i - 1].len)
			return "the window's instructions do not follow each other";
		if ((in->flags & SI_INSN_TARGET) && i != first)
			return "the window covers a jump target past its first byte";
		if ((in->flags & SI_INSN_SYSCALL) && i != sys)
			return "the window holds a second syscall";
		/* Code after a ret/jmp in the window would only be reachable by a jump into it. */
		if ((in->flags & SI_INSN_NO_FALLTHROUGH) && i + 1 < last)
			return "an instruction inside the window does not fall through";
		if (i == sys)
			continue;
		if (in->flags & SI_INSN_INVALID)
			return "the window holds bytes that do not decode";
		if (in->flags & SI_INSN_CALL)
			return "the window holds a call (it pushes its own address)";
		if (!si_relocatable(a, i))
			return "the window holds an instruction that cannot be moved";
		/*
		 * An endbr64 marks a place reached indirectly; moving it would leave that entry
		 * pointing into our jump unless it is the window's first byte, where the jump sits.
		 */
		if ((in->flags & SI_INSN_ENDBR) && i != first)
			return "the window holds an endbr64 past its first byte";
	}
	return NULL;
}

/*
 * Tries the window of instructions [first, last); returns true when it is patchable and none of
 * its instructions serves another patch yet.
 */
static bool
window_ok(const struct si_analysis *a, const uint8_t *used, size_t first, size_t last, size_t sys,
	  bool threads)
{
	for (size_t i = first; i < last && i < a->n_insns; i++)
		if (used[i])
			return false;
	return window_fault(a, first, last, sys, threads) == NULL;
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

/* Whether a proper part of window [first, last) around sys would itself do. */
static bool
smaller_window_exists(const struct si_analysis *a, size_t first, size_t last, size_t sys,
		      bool threads)
{
	for (size_t f = first; f <= sys; f++)
		for (size_t l = sys + 1; l <= last; l++)
			if ((f != first || l != last) && !window_fault(a, f, l, sys, threads))
				return true;
	return false;
}

/*
 * Why the padding patch q of the syscall `sys` is wrong, or NULL.  The jump goes into padding
 * that nothing reaches: nop/int3 instructions that no jump targets, after an instruction that
 * does not fall through (the run may hold other padding patches' jumps: they do not fall
 * through either).
 */
static const char *
pad_fault(const struct si_analysis *a, const struct si_patch *q, size_t sys)
{
	const struct si_insn *s = &a->insns[sys];
	if (q->first != sys || q->last != sys + 1 || q->start != s->addr ||
	    q->end != s->addr + s->len)
		return "a padding patch must replace exactly its syscall";
	int64_t rel = (int64_t)(q->pad_addr - (q->start + JMP8_LEN));
	if (rel < -128 || rel > 127)
		return "the padding is out of the syscall's rel8 reach";
	size_t pi = si_insn_at(a, q->pad_addr);
	if (pi == SIZE_MAX)
		return "the padding jump does not start at an instruction";
	uint64_t at = q->pad_addr;
	for (size_t j = pi; at < q->pad_addr + JMP32_LEN; j++) {
		const struct si_insn *in = &a->insns[j];
		if (j >= a->n_insns || in->addr != at || !(in->flags & SI_INSN_PADDING))
			return "fewer than 5 bytes of padding at the padding jump";
		if (in->flags & SI_INSN_TARGET)
			return "the padding jump covers a jump target";
		at += in->len;
	}
	size_t b = pi;
	while (b > 0 && (a->insns[b - 1].flags & SI_INSN_PADDING) &&
	       !(a->insns[b - 1].flags & SI_INSN_TARGET) &&
	       a->insns[b - 1].addr + a->insns[b - 1].len == a->insns[b].addr)
		b--;
	if (b == 0 || !(a->insns[b - 1].flags & SI_INSN_NO_FALLTHROUGH) ||
	    a->insns[b - 1].addr + a->insns[b - 1].len != a->insns[b].addr)
		return "the padding can be reached: it does not follow an instruction that does not "
		       "fall through";
	return NULL;
}

/* Why patch k of p is wrong on its own, or NULL. */
static const char *
patch_fault(const struct si_analysis *a, const struct si_patch *p, size_t k, bool threads)
{
	const struct si_patch *q = &p[k];
	size_t sys = a->syscalls[k];
	if (q->syscall_addr != a->insns[sys].addr)
		return "the patch is not at its site's syscall";
	switch (q->method) {
	case SI_PATCH_NONE:
		return q->reason ? NULL : "left unpatched without a reason";
	case SI_PATCH_JMP_PADDING:
		return pad_fault(a, q, sys);
	case SI_PATCH_JMP_WINDOW:
		break;
	default:
		return "an unknown method";
	}
	if (q->first >= q->last || q->last > a->n_insns)
		return "the window's instructions are not in the code";
	const struct si_insn *f = &a->insns[q->first], *l = &a->insns[q->last - 1];
	if (q->start != f->addr || q->end != l->addr + l->len)
		return "the window's bytes are not its instructions'";
	const char *why = window_fault(a, q->first, q->last, sys, threads);
	if (why)
		return why;
	/* The planner takes the window with the fewest instructions (smallest_window). */
	if (smaller_window_exists(a, q->first, q->last, sys, threads))
		return "a smaller window inside it would do";
	return NULL;
}

static bool
overlap(uint64_t lo1, uint64_t hi1, uint64_t lo2, uint64_t hi2)
{
	return lo1 < hi2 && lo2 < hi1;
}

/* Whether patches q and r (both patched, each valid on its own) write a byte in common. */
static bool
patches_overlap(const struct si_patch *q, const struct si_patch *r)
{
	bool qp = q->method == SI_PATCH_JMP_PADDING, rp = r->method == SI_PATCH_JMP_PADDING;
	uint64_t qe = q->pad_addr + JMP32_LEN, re = r->pad_addr + JMP32_LEN;
	return overlap(q->start, q->end, r->start, r->end) ||
	       (qp && overlap(q->pad_addr, qe, r->start, r->end)) ||
	       (rp && overlap(r->pad_addr, re, q->start, q->end)) ||
	       (qp && rp && overlap(q->pad_addr, qe, r->pad_addr, re)) ||
	       (qp && overlap(q->pad_addr, qe, q->start, q->end)) ||
	       (rp && overlap(r->pad_addr, re, r->start, r->end));
}

/*
 * Whether bytes [lo, hi) belong to a patch of p other than k: 0 no, 1 a padding jump's, 2 a
 * window's or a syscall's.  Only patches near k's syscall can (NEAR).
 */
static int
covered(const struct si_patch *p, size_t n, size_t k, uint64_t lo, uint64_t hi)
{
	int found = 0;
	size_t j = k;
	while (j > 0 && p[k].syscall_addr - p[j - 1].syscall_addr < NEAR)
		j--;
	for (; j < n && (j <= k || p[j].syscall_addr - p[k].syscall_addr < NEAR); j++) {
		if (j == k || p[j].method == SI_PATCH_NONE)
			continue;
		if (overlap(lo, hi, p[j].start, p[j].end))
			return 2;
		if (p[j].method == SI_PATCH_JMP_PADDING &&
		    overlap(lo, hi, p[j].pad_addr, p[j].pad_addr + JMP32_LEN))
			found = 1;
	}
	return found;
}

/*
 * Whether the padding jump of patch k could go at instruction i of its run of padding
 * [b, e), as plan_padding sees it with the other patches of p in place: 5 bytes of padding
 * no other patch uses from i, and before i, padding no other patch uses back to the
 * instruction that does not fall through or to another padding jump.
 */
static bool
pad_candidate(const struct si_analysis *a, const struct si_patch *p, size_t n, size_t k,
	      size_t b, size_t e, size_t i)
{
	uint64_t room = 0;
	for (size_t j = i; j < e && room < JMP32_LEN; j++) {
		const struct si_insn *in = &a->insns[j];
		if (covered(p, n, k, in->addr, in->addr + in->len))
			return false;
		room += in->len;
	}
	if (room < JMP32_LEN)
		return false;
	for (size_t j = i; j > b; j--) {
		const struct si_insn *in = &a->insns[j - 1];
		int c = covered(p, n, k, in->addr, in->addr + in->len);
		if (c)
			return c == 1;
	}
	return true;
}

/*
 * Why padding patch k of p is not where the planner puts it, or NULL: plan_padding takes the
 * position nearest to the syscall (the lower one of two as near), of every run of padding in
 * reach; of its own run, no position nearer may be free.  The run is seen as far as `a`
 * decodes it.
 */
static const char *
pad_nearest_fault(const struct si_analysis *a, const struct si_patch *p, size_t n, size_t k)
{
	const struct si_patch *q = &p[k];
	uint64_t from = q->start + JMP8_LEN;
	size_t pi = si_insn_at(a, q->pad_addr), b = pi, e = pi;
	while (b > 0 && (a->insns[b - 1].flags & SI_INSN_PADDING) &&
	       !(a->insns[b - 1].flags & SI_INSN_TARGET))
		b--;
	while (e < a->n_insns && (a->insns[e].flags & SI_INSN_PADDING) &&
	       !(a->insns[e].flags & SI_INSN_TARGET) &&
	       a->insns[e].addr == a->insns[e - 1].addr + a->insns[e - 1].len)
		e++;
	uint64_t dist = q->pad_addr < from ? from - q->pad_addr : q->pad_addr - from;
	for (size_t i = b; i < e; i++) {
		uint64_t at = a->insns[i].addr;
		int64_t rel = (int64_t)(at - from);
		uint64_t d = at < from ? from - at : at - from;
		if (i == pi || rel < -128 || rel > 127 || d > dist || (d == dist && at > q->pad_addr))
			continue;
		if (pad_candidate(a, p, n, k, b, e, i))
			return "a position in the same padding nearer to the syscall is free (the "
			       "planner takes the nearest)";
	}
	return NULL;
}

bool
si_plan_valid(const struct si_analysis *a, const struct si_patch *p, size_t n, bool threads,
	      const char **why, size_t *site)
{
	const char *fault = NULL;
	size_t k = SIZE_MAX;
	if (n != a->n_syscalls) {
		fault = "the plan does not have one patch per syscall site";
		goto refused;
	}
	for (k = 0; k < n; k++)
		if ((fault = patch_fault(a, p, k, threads)) != NULL)
			goto refused;
	/* Sites are in address order; only near ones can share bytes (NEAR). */
	for (k = 0; k < n; k++) {
		if (p[k].method == SI_PATCH_NONE)
			continue;
		for (size_t j = k + 1; j < n && p[j].syscall_addr - p[k].syscall_addr < NEAR; j++)
			if (p[j].method != SI_PATCH_NONE && patches_overlap(&p[k], &p[j])) {
				fault = "its bytes overlap another patch's";
				goto refused;
			}
	}
	for (k = 0; k < n; k++)
		if (p[k].method == SI_PATCH_JMP_PADDING &&
		    (fault = pad_nearest_fault(a, p, n, k)) != NULL)
			goto refused;
	return true;
refused:
	if (why)
		*why = fault;
	if (site)
		*site = k;
	return false;
}
