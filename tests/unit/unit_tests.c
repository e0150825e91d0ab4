/*
 * unit_tests.c -- unit tests of the patching pipeline's stages (si_core, see src/intercept.h):
 * si_analyse on known code, si_plan's invariants (a window never covers a jump target except at
 * its first byte, never holds two syscalls or a call, windows and padding jumps never overlap,
 * padding jumps sit in unreachable nop/int3 fill within rel8 reach), si_relocate (rel8 branches
 * widened with the same absolute target, RIP-relative operands keeping their absolute address,
 * checked by decoding with Zydis and by running the moved code; calls and rel8-only branches
 * refused), si_emit_trampoline/si_emit_window (decoded and checked against the patch), and
 * si_landing_pads (every landing pad of hand-written LSDAs found, a window never covering one,
 * and corrupt or truncated unwind data read without a single byte outside the mapped view).
 * The plan invariants are also checked over the whole text of this machine's libc.so.6 and
 * ld.so, with their landing pads.  si_plan_valid, the library's own statement of the rule, must
 * accept every plan si_plan makes and refuse hand-made wrong ones, each for its reason;
 * check_plan below is this file's independent statement of the same invariants.  Usage: unit_tests [analyse|plan|relocate|emit|landing|
 * system|all].  It only reads live text; the only code it runs is code it relocated into its
 * own mapping.  It must never patch anything.
 */
#define _GNU_SOURCE
#include "intercept.h"

#include <Zydis/Zydis.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int failures, checks, quiet;

#define CHECK(cond, ...) do { \
	checks++; \
	if (!(cond)) { failures++; if (!quiet) { printf("  FAIL %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); printf("\n"); } } \
	} while (0)

/* ---- the code of unit_code.S and ../patterns/patterns.S */
extern const uint8_t u_basic_start[], u_basic_f2[], u_basic_f3[], u_basic_end[];
extern const uint8_t u_dense_start[], u_dense_end[], u_calls_start[], u_calls_f2[], u_calls_f3[],
	u_calls_end[], u_busy_start[], u_busy_end[], u_short_start[], u_short_end[];
extern const uint64_t u_basic_marks[], u_dense_marks[], u_calls_marks[], u_short_marks[];
extern const uint8_t u_lsda_start[], u_lsda_end[];
extern const uint64_t u_lsda_marks[], u_sigframe_marks[];
extern const uint8_t u_sigframe_start[], u_sigframe_restorer[], u_sigframe_end[];
extern const uint8_t u_exec_load[], u_exec_store[], u_exec_lea[], u_exec_cmp[], u_exec_jcc[],
	u_exec_jmp[], u_odd[], u_odd_end[];
extern uint64_t u_val, u_val2;
extern const uint64_t pat_code_bounds[2];
extern const uint8_t pat_first_body[], pat_first[], pat_int3_body[], pat_int3[], pat_nop_body[],
	pat_nop[], pat_last[], pat_last_next[], pat_exit[], pat_after[], pat_at[], pat_at_ret[],
	pat_loop[], pat_riprel_before[], pat_riprel_after[], pat_endbr[], pat_endbr_tight_body[],
	pat_endbr_tight[], pat_b2b[], pat_b2b3[], pat_jcc[], pat_targets[],
	pat_far_filler_before[], pat_far[], pat_far_filler_after[], pat_lsda[],
	pat_lsda_unwind[], pat_lsda_stop[];
extern const uint64_t pat_far_sites[], pat_targets_sites[], pat_lsda_sites[], pat_lsda_pads[];

#define A(p) ((uint64_t)(uintptr_t)(p))

/* ---- helpers */

static ZydisDecoder decoder;

struct decoded {
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};

static bool
decode(const uint8_t *bytes, size_t len, struct decoded *d)
{
	return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, bytes, len, &d->zi, d->ops));
}

/* The absolute address a relative branch or RIP-relative operand refers to, for code placed at
 * `addr`; false when it has none. */
static bool
absolute_ref(const struct decoded *d, uint64_t addr, uint64_t *abs)
{
	for (int k = 0; k < d->zi.operand_count; k++) {
		const ZydisDecodedOperand *op = &d->ops[k];
		if ((op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && op->imm.is_relative) ||
		    (op->type == ZYDIS_OPERAND_TYPE_MEMORY && op->mem.base == ZYDIS_REGISTER_RIP))
			return ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&d->zi, op, addr, abs));
	}
	return false;
}

/* Analyses [start, end); with eh, the landing pads of the code's functions are targets. */
static void
analyse_eh(const void *start, const void *end, const uint64_t *starts, size_t n_starts,
	   const struct si_eh_view *eh, struct si_analysis *a)
{
	struct si_code code = { .bytes = start, .addr = A(start), .len = (size_t)(A(end) - A(start)),
				.eh = eh };
	int r = si_analyse(&code, starts, n_starts, a);
	if (r != 0) {
		printf("FAIL: si_analyse returned %d\n", r);
		exit(1);
	}
}

static void
analyse(const void *start, const void *end, const uint64_t *starts, size_t n_starts,
	struct si_analysis *a)
{
	analyse_eh(start, end, starts, n_starts, NULL, a);
}

/* The unwind view of a loaded object, as discover.c makes it: every readable PT_LOAD. */
static void
view_of(const struct dl_phdr_info *info, struct si_eh_view *v)
{
	memset(v, 0, sizeof(*v));
	for (int k = 0; k < info->dlpi_phnum; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
		if (ph->p_type == PT_GNU_EH_FRAME)
			v->eh_frame_hdr = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && v->n_seg < SI_MAX_SEGMENTS) {
			v->seg[v->n_seg].start = info->dlpi_addr + ph->p_vaddr;
			v->seg[v->n_seg].end = v->seg[v->n_seg].start + ph->p_memsz;
			v->seg[v->n_seg].bytes = (const uint8_t *)v->seg[v->n_seg].start;
			v->n_seg++;
		}
	}
}

static size_t
index_at(const struct si_analysis *a, uint64_t addr, const char *what)
{
	size_t i = si_insn_at(a, addr);
	CHECK(i != SIZE_MAX, "no instruction starts at %s (%#lx)", what, (unsigned long)addr);
	return i;
}

static bool
has(const struct si_analysis *a, size_t i, uint16_t flag)
{
	return i != SIZE_MAX && (a->insns[i].flags & flag) != 0;
}

/* ---- plan invariants */

struct range { uint64_t lo, hi; };

static int
cmp_range(const void *x, const void *y)
{
	const struct range *a = x, *b = y;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Checks every invariant of a plan; returns the counts of each method in n[3]. */
/* Plan as when other threads run while the code is patched (see plan.c). */
static bool plan_threads;

static void
check_plan(const char *what, const struct si_analysis *a, const struct si_patch *p, size_t n[3])
{
	struct range *r = calloc(2 * a->n_syscalls + 1, sizeof(*r));
	size_t nr = 0;
	int before = failures;
	n[0] = n[1] = n[2] = 0;
	for (size_t k = 0; k < a->n_syscalls && failures - before < 20; k++) {
		const struct si_patch *q = &p[k];
		size_t sys = a->syscalls[k];
		const struct si_insn *s = &a->insns[sys];
		unsigned long sa = (unsigned long)s->addr;
		CHECK(q->syscall_addr == s->addr, "%s: patch %zu is for %#lx, its site is %#lx", what,
		      k, (unsigned long)q->syscall_addr, sa);
		n[q->method <= SI_PATCH_JMP_PADDING ? q->method : 0]++;
		switch (q->method) {
		case SI_PATCH_JMP_WINDOW: {
			CHECK(q->first <= sys && sys < q->last && q->last <= a->n_insns,
			      "%s %#lx: window [%zu, %zu) does not hold the syscall %zu", what, sa,
			      q->first, q->last, sys);
			if (!(q->first <= sys && sys < q->last && q->last <= a->n_insns))
				break;
			const struct si_insn *f = &a->insns[q->first], *l = &a->insns[q->last - 1];
			CHECK(q->start == f->addr && q->end == l->addr + l->len,
			      "%s %#lx: start/end %#lx/%#lx do not match the instructions", what, sa,
			      (unsigned long)q->start, (unsigned long)q->end);
			CHECK(q->end - q->start >= 5, "%s %#lx: window of %lu bytes cannot hold a jmp rel32",
			      what, sa, (unsigned long)(q->end - q->start));
			/* what patch.c writes it with, and what its trampoline has room for */
			CHECK(q->end - q->start <= sizeof(((struct si_write *)0)->bytes),
			      "%s %#lx: window of %lu bytes does not fit a struct si_write", what, sa,
			      (unsigned long)(q->end - q->start));
			CHECK(q->last - q->first <= SI_MAX_WINDOW_INSNS,
			      "%s %#lx: window of %zu instructions", what, sa, q->last - q->first);
			CHECK(!plan_threads || f->len >= 5, "%s %#lx: with threads running, the window's "
			      "first instruction (%u bytes) leaves a boundary inside the jump", what, sa,
			      f->len);
			for (size_t i = q->first; i < q->last; i++) {
				const struct si_insn *in = &a->insns[i];
				unsigned long ia = (unsigned long)in->addr;
				if (i != q->first)
					CHECK(!(in->flags & SI_INSN_TARGET),
					      "%s %#lx: window covers the jump target %#lx", what, sa, ia);
				if (i != q->first)
					CHECK(in->addr == in[-1].addr + in[-1].len,
					      "%s %#lx: a gap in the window before %#lx", what, sa, ia);
				if (i + 1 != q->last)
					CHECK(!(in->flags & SI_INSN_NO_FALLTHROUGH),
					      "%s %#lx: window goes on after %#lx, which does not fall "
					      "through", what, sa, ia);
				if (i == sys)
					continue;
				CHECK(i == q->first || !(in->flags & SI_INSN_ENDBR),
				      "%s %#lx: window moves the endbr64 at %#lx", what, sa, ia);
				CHECK(!(in->flags & SI_INSN_SYSCALL),
				      "%s %#lx: window holds a second syscall at %#lx", what, sa, ia);
				CHECK(!(in->flags & SI_INSN_CALL), "%s %#lx: window moves the call at %#lx",
				      what, sa, ia);
				CHECK(!(in->flags & SI_INSN_INVALID),
				      "%s %#lx: window moves undecodable bytes at %#lx", what, sa, ia);
				CHECK(si_relocatable(a, i), "%s %#lx: window holds unmovable %#lx", what,
				      sa, ia);
			}
			r[nr++] = (struct range){ q->start, q->end };
			break;
		}
		case SI_PATCH_JMP_PADDING: {
			CHECK(q->first == sys && q->last == sys + 1 && q->start == s->addr &&
			      q->end == s->addr + s->len,
			      "%s %#lx: a padding patch must replace exactly the syscall", what, sa);
			int64_t rel = (int64_t)(q->pad_addr - (q->start + 2));
			CHECK(rel >= -128 && rel <= 127, "%s %#lx: padding %#lx out of rel8 reach", what,
			      sa, (unsigned long)q->pad_addr);
			size_t pi = si_insn_at(a, q->pad_addr);
			CHECK(pi != SIZE_MAX, "%s %#lx: padding jump at %#lx not at an instruction start",
			      what, sa, (unsigned long)q->pad_addr);
			if (pi == SIZE_MAX)
				break;
			for (size_t j = pi; j < a->n_insns && a->insns[j].addr < q->pad_addr + 5; j++) {
				CHECK(a->insns[j].flags & SI_INSN_PADDING,
				      "%s %#lx: padding jump overwrites non-padding %#lx", what, sa,
				      (unsigned long)a->insns[j].addr);
				CHECK(!(a->insns[j].flags & SI_INSN_TARGET),
				      "%s %#lx: padding jump overwrites the jump target %#lx", what, sa,
				      (unsigned long)a->insns[j].addr);
			}
			CHECK(q->pad_addr + 5 <= a->code.addr + a->code.len,
			      "%s %#lx: padding jump runs past the code", what, sa);
			/* nothing falls into the padding run */
			size_t b = pi;
			while (b > 0 && (a->insns[b - 1].flags & SI_INSN_PADDING))
				b--;
			CHECK(b > 0 && (a->insns[b - 1].flags & SI_INSN_NO_FALLTHROUGH),
			      "%s %#lx: padding at %#lx is reachable by falling through", what, sa,
			      (unsigned long)q->pad_addr);
			r[nr++] = (struct range){ q->start, q->end };
			r[nr++] = (struct range){ q->pad_addr, q->pad_addr + 5 };
			break;
		}
		default:
			CHECK(q->method == SI_PATCH_NONE, "%s %#lx: unknown method %d", what, sa,
			      (int)q->method);
			CHECK(q->reason && q->reason[0], "%s %#lx: unpatched without a reason", what, sa);
			break;
		}
	}
	qsort(r, nr, sizeof(*r), cmp_range);
	for (size_t i = 1; i < nr; i++)
		CHECK(r[i].lo >= r[i - 1].hi, "%s: patched bytes [%#lx, %#lx) and [%#lx, %#lx) overlap",
		      what, (unsigned long)r[i - 1].lo, (unsigned long)r[i - 1].hi,
		      (unsigned long)r[i].lo, (unsigned long)r[i].hi);
	free(r);
}

/* si_plan, and si_plan_valid on what it made: the planner keeps the rule it states. */
static struct si_patch *
plan(const struct si_analysis *a)
{
	struct si_patch *p = calloc(a->n_syscalls + 1, sizeof(*p));
	si_plan(a, p, plan_threads);
	const char *why = NULL;
	size_t site = SIZE_MAX;
	bool valid = si_plan_valid(a, p, a->n_syscalls, plan_threads, &why, &site);
	CHECK(valid, "si_plan_valid refused a plan of si_plan%s: site %#lx: %s",
	      plan_threads ? " (threads)" : "",
	      (unsigned long)(site < a->n_syscalls ? p[site].syscall_addr : 0), why ? why : "?");
	return p;
}

/* ---- trampoline checks */

/* Emits and checks the trampoline of patch q placed at out_addr; returns true when emitted. */
static bool
check_trampoline(const char *what, const struct si_analysis *a, const struct si_patch *q,
		 uint64_t out_addr, uint64_t entry_slot)
{
	static struct si_object obj;
	uint8_t buf[SI_MAX_TRAMPOLINE_LEN + 64];
	memset(buf, 0xcc, sizeof(buf));
	uint64_t moved_to[16];
	size_t len = si_emit_trampoline(a, q, &obj, entry_slot, buf, out_addr, moved_to);
	unsigned long sa = (unsigned long)q->syscall_addr;
	CHECK(len > 0 && len <= SI_MAX_TRAMPOLINE_LEN, "%s %#lx: trampoline length %zu", what, sa,
	      len);
	if (len == 0 || len > SI_MAX_TRAMPOLINE_LEN)
		return false;
	size_t sys = SIZE_MAX;
	for (size_t i = q->first; i < q->last; i++)
		if (a->insns[i].flags & SI_INSN_SYSCALL)
			sys = i;
	/*
	 * Where a thread stopped at instruction i of the window is sent (fixup.c): the moved copy
	 * of i, or for the syscall the red-zone skip that starts the call into the entry.
	 */
	for (size_t i = q->first; i < q->last && sys != SIZE_MAX; i++) {
		uint64_t at = moved_to[i - q->first];
		struct decoded d, o;
		bool in = at >= out_addr && at < out_addr + len &&
			  decode(buf + (at - out_addr), len - (at - out_addr), &d);
		ZydisMnemonic want = ZYDIS_MNEMONIC_LEA;
		const uint8_t *orig = a->code.bytes + (a->insns[i].addr - a->code.addr);
		if (i != sys && decode(orig, a->insns[i].len, &o))
			want = o.zi.mnemonic;
		bool same = in && d.zi.mnemonic == want &&
			    (i != sys || (d.ops[0].reg.value == ZYDIS_REGISTER_RSP &&
					  d.ops[1].mem.disp.value == -128));
		CHECK(same, "%s %#lx: instruction %#lx of the window is sent to %#lx, which is not "
		      "its moved copy", what, sa, (unsigned long)a->insns[i].addr, (unsigned long)at);
	}
	CHECK(sys == SIZE_MAX || q->first < sys || moved_to[0] == out_addr,
	      "%s %#lx: the window's start is not the trampoline's", what, sa);

	/* struct si_site: 8-byte aligned, after the code */
	struct si_site site;
	size_t code_len = SIZE_MAX;
	for (size_t off = 0; off + sizeof(site) <= len; off += 8) {
		memcpy(&site, buf + off, sizeof(site));
		if (site.syscall_addr == q->syscall_addr &&
		    site.return_addr == q->syscall_addr + 2 && site.object == &obj) {
			code_len = off;
			break;
		}
	}
	CHECK(code_len != SIZE_MAX, "%s %#lx: no struct si_site in the trampoline", what, sa);
	if (code_len == SIZE_MAX)
		return false;

	/* decode the code part */
	struct { uint64_t addr, abs; ZydisMnemonic m; bool has_abs; } ins[64];
	size_t n = 0, off = 0;
	bool entry_ref = false, resume_ok = false, after_ok = false;
	while (off < code_len && n < 64) {
		struct decoded d;
		if (!decode(buf + off, code_len - off, &d)) {
			CHECK(false, "%s %#lx: trampoline byte %zu does not decode", what, sa, off);
			return false;
		}
		uint64_t at = out_addr + off;
		ins[n].addr = at;
		ins[n].m = d.zi.mnemonic;
		ins[n].has_abs = absolute_ref(&d, at, &ins[n].abs);
		for (int k = 0; k < d.zi.operand_count; k++)
			if (d.ops[k].type == ZYDIS_OPERAND_TYPE_MEMORY &&
			    d.ops[k].mem.base == ZYDIS_REGISTER_RIP) {
				uint64_t t;
				if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&d.zi, &d.ops[k], at, &t)) &&
				    t == entry_slot)
					entry_ref = true;
			}
		/* The only syscalls are the stubs', run at the site's RSP (entry.S). */
		CHECK(d.zi.mnemonic != ZYDIS_MNEMONIC_SYSCALL || at == site.vfork_stub ||
		      at == site.syscall_stub,
		      "%s %#lx: trampoline holds a syscall outside its stubs", what, sa);
		if (at == site.syscall_stub) {
			/* then RCX = the site's return address, and back to resume */
			struct decoded mov, jmp;
			size_t next = off + d.zi.length;
			bool ok = decode(buf + next, code_len - next, &mov) &&
				  mov.zi.mnemonic == ZYDIS_MNEMONIC_MOV &&
				  mov.ops[0].reg.value == ZYDIS_REGISTER_RCX &&
				  (uint64_t)mov.ops[1].imm.value.u == site.return_addr &&
				  decode(buf + next + mov.zi.length, code_len - next - mov.zi.length,
					 &jmp) && jmp.zi.mnemonic == ZYDIS_MNEMONIC_JMP;
			uint64_t to = 0;
			ok = ok && ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&jmp.zi, &jmp.ops[0],
				at + d.zi.length + mov.zi.length, &to)) && to == site.resume;
			CHECK(ok, "%s %#lx: the syscall stub does not set RCX and go to resume",
			      what, sa);
		}
		resume_ok |= at == site.resume;
		after_ok |= at == site.after_call;
		off += d.zi.length;
		n++;
	}
	CHECK(entry_ref, "%s %#lx: trampoline never reads the entry slot %#lx", what, sa,
	      (unsigned long)entry_slot);
	CHECK(resume_ok || site.resume == out_addr + code_len,
	      "%s %#lx: site.resume %#lx is not an instruction of the trampoline", what, sa,
	      (unsigned long)site.resume);
	CHECK(after_ok, "%s %#lx: site.after_call %#lx is not an instruction of the trampoline",
	      what, sa, (unsigned long)site.after_call);

	/* every moved instruction appears, in order, with the same absolute reference */
	size_t cur = 0;
	for (size_t i = q->first; i < q->last; i++) {
		if (i == sys)
			continue;
		struct decoded od;
		const struct si_insn *in = &a->insns[i];
		decode(a->code.bytes + (in->addr - a->code.addr), in->len, &od);
		uint64_t oabs = 0;
		bool ohas = absolute_ref(&od, in->addr, &oabs);
		while (cur < n && !(ins[cur].m == od.zi.mnemonic && ins[cur].has_abs == ohas &&
				    (!ohas || ins[cur].abs == oabs)))
			cur++;
		CHECK(cur < n, "%s %#lx: moved instruction %#lx (%s) missing or changed", what, sa,
		      (unsigned long)in->addr, ZydisMnemonicGetString(od.zi.mnemonic));
		if (cur < n)
			cur++;
	}
	/* and the way back */
	size_t lastm = q->last - 1;
	if (lastm == sys || !(a->insns[lastm].flags & SI_INSN_NO_FALLTHROUGH)) {
		bool back = false;
		for (size_t k = 0; k < n; k++)
			back |= ins[k].m == ZYDIS_MNEMONIC_JMP && ins[k].has_abs && ins[k].abs == q->end;
		CHECK(back, "%s %#lx: no jump back to %#lx", what, sa, (unsigned long)q->end);
	}

	/* the jump(s) written over the site */
	uint8_t win[64], pad[5];
	CHECK(q->end - q->start <= sizeof(win), "%s %#lx: window too long", what, sa);
	si_emit_window(q, out_addr, win, pad);
	struct decoded d;
	uint64_t t;
	if (q->method == SI_PATCH_JMP_WINDOW) {
		CHECK(decode(win, q->end - q->start, &d) && d.zi.mnemonic == ZYDIS_MNEMONIC_JMP &&
		      absolute_ref(&d, q->start, &t) && t == out_addr,
		      "%s %#lx: window does not start with a jmp to the trampoline", what, sa);
	} else {
		CHECK(decode(win, 2, &d) && d.zi.mnemonic == ZYDIS_MNEMONIC_JMP &&
		      absolute_ref(&d, q->start, &t) && t == q->pad_addr && d.zi.length == 2,
		      "%s %#lx: the syscall is not replaced by a 2-byte jmp to the padding", what, sa);
		CHECK(decode(pad, 5, &d) && d.zi.mnemonic == ZYDIS_MNEMONIC_JMP &&
		      absolute_ref(&d, q->pad_addr, &t) && t == out_addr && d.zi.length == 5,
		      "%s %#lx: the padding does not hold a jmp to the trampoline", what, sa);
	}
	return true;
}

/* ---- analyse */

static void
test_analyse(void)
{
	struct si_analysis a;
	const uint64_t *m = u_basic_marks;
	uint64_t starts[] = { A(u_basic_start), A(u_basic_f3) };
	analyse(u_basic_start, u_basic_end, starts, 2, &a);

	CHECK(a.n_syscalls == 2, "basic: %zu syscalls found, expected 2", a.n_syscalls);
	if (a.n_syscalls == 2) {
		CHECK(a.insns[a.syscalls[0]].addr == m[0], "basic: first syscall at the wrong place");
		CHECK(a.insns[a.syscalls[1]].addr == m[1], "basic: second syscall at the wrong place");
	}
	/* instructions cover the region without gaps */
	uint64_t pc = A(u_basic_start);
	for (size_t i = 0; i < a.n_insns; i++) {
		CHECK(a.insns[i].addr == pc, "basic: gap or overlap at %#lx", (unsigned long)pc);
		pc = a.insns[i].addr + a.insns[i].len;
	}
	CHECK(pc == A(u_basic_end), "basic: instructions end at %#lx, not at the region end",
	      (unsigned long)pc);
	size_t sys1 = index_at(&a, m[0], "syscall 1"), tgt = index_at(&a, m[2], "jcc target"),
	       f2 = index_at(&a, m[3], "call target"), endbr = index_at(&a, m[4], "endbr64"),
	       lea = index_at(&a, m[5], "lea"), jnz = index_at(&a, m[6], "jnz"),
	       call = index_at(&a, m[7], "call"), pad = index_at(&a, m[8], "int3"),
	       ret = index_at(&a, m[9], "ret"), f3 = index_at(&a, A(u_basic_f3), "start f3");
	CHECK(has(&a, sys1, SI_INSN_SYSCALL), "basic: syscall not flagged");
	CHECK(has(&a, tgt, SI_INSN_TARGET), "basic: jcc target not flagged as a target");
	CHECK(has(&a, f2, SI_INSN_TARGET), "basic: call target not flagged as a target");
	CHECK(has(&a, f3, SI_INSN_TARGET), "basic: a given start not flagged as a target");
	CHECK(has(&a, index_at(&a, A(u_basic_start), "start"), SI_INSN_TARGET),
	      "basic: the first start not flagged as a target");
	CHECK(has(&a, endbr, SI_INSN_ENDBR), "basic: endbr64 not flagged");
	CHECK(has(&a, lea, SI_INSN_RIPREL), "basic: RIP-relative lea not flagged");
	CHECK(!has(&a, lea, SI_INSN_RELATIVE), "basic: lea flagged as a relative branch");
	CHECK(has(&a, jnz, SI_INSN_RELATIVE), "basic: jnz not flagged relative");
	CHECK(has(&a, call, SI_INSN_CALL), "basic: call not flagged");
	CHECK(has(&a, pad, SI_INSN_PADDING), "basic: int3 not flagged as padding");
	CHECK(has(&a, ret, SI_INSN_NO_FALLTHROUGH), "basic: ret not flagged no-fallthrough");
	CHECK(!has(&a, sys1, SI_INSN_TARGET), "basic: syscall 1 wrongly a target");
	CHECK(!has(&a, index_at(&a, m[1], "syscall 2"), SI_INSN_TARGET),
	      "basic: syscall 2 wrongly a target");
	CHECK(si_insn_at(&a, m[5] + 1) == SIZE_MAX, "si_insn_at finds an instruction mid-lea");
	si_analysis_free(&a);

	/* the patterns: every listed site found, nothing else */
	analyse((const void *)pat_code_bounds[0], (const void *)pat_code_bounds[1], NULL, 0, &a);
	CHECK(a.n_syscalls == 22, "patterns: %zu syscalls found, expected 22", a.n_syscalls);
	si_analysis_free(&a);
	printf("analyse: done\n");
}

/* ---- plan */

static void
plan_region(const char *what, const void *s, const void *e, const uint64_t *starts, size_t ns,
	    struct si_analysis *a, struct si_patch **p)
{
	size_t n[3];
	analyse(s, e, starts, ns, a);
	*p = plan(a);
	check_plan(what, a, *p, n);
	printf("plan %s: %zu sites: %zu jmp-window, %zu jmp-padding, %zu unpatched\n", what,
	       a->n_syscalls, n[SI_PATCH_JMP_WINDOW], n[SI_PATCH_JMP_PADDING], n[SI_PATCH_NONE]);
}

static const struct si_patch *
patch_for(const struct si_analysis *a, const struct si_patch *p, uint64_t addr)
{
	for (size_t k = 0; k < a->n_syscalls; k++)
		if (p[k].syscall_addr == addr)
			return &p[k];
	return NULL;
}

/* Runs check_plan on a deliberately wrong plan: it must complain. */
static void
expect_rejected(const char *mutation, const struct si_analysis *a, struct si_patch *p)
{
	int saved = failures;
	size_t n[3];
	quiet = 1;
	check_plan(mutation, a, p, n);
	quiet = 0;
	int found = failures - saved;
	failures = saved;
	CHECK(found > 0, "the plan checker accepted a plan with %s", mutation);
}

static void
set_window(const struct si_analysis *a, struct si_patch *q, size_t first, size_t last)
{
	q->method = SI_PATCH_JMP_WINDOW;
	q->first = first;
	q->last = last;
	q->start = a->insns[first].addr;
	q->end = a->insns[last - 1].addr + a->insns[last - 1].len;
}

/* Whether plan p, its patch of the site at addr made the window [first, last), is valid. */
static bool
valid_with_window(const struct si_analysis *a, const struct si_patch *p, uint64_t addr,
		  size_t first, size_t last, bool threads)
{
	struct si_patch *c = calloc(a->n_syscalls + 1, sizeof(*c));
	memcpy(c, p, a->n_syscalls * sizeof(*c));
	for (size_t k = 0; k < a->n_syscalls; k++)
		if (c[k].syscall_addr == addr)
			set_window(a, &c[k], first, last);
	bool ok = si_plan_valid(a, c, a->n_syscalls, threads, NULL, NULL);
	free(c);
	return ok;
}

/* The invariant checker itself catches broken plans (so its silence above means something). */
static void
test_plan_checker(void)
{
	struct si_analysis a;
	struct si_patch *p;
	const uint64_t *m = u_basic_marks;
	uint64_t bs[] = { A(u_basic_start), A(u_basic_f2), A(u_basic_f3) };
	analyse(u_basic_start, u_basic_end, bs, 3, &a);
	p = plan(&a);
	size_t sys2 = si_insn_at(&a, m[1]), tgt = si_insn_at(&a, m[2]);
	struct si_patch keep = p[1];
	set_window(&a, &p[1], sys2, tgt + 1);		/* syscall, jnz, neg, ret(target) */
	expect_rejected("a window over a jump target", &a, p);
	p[1] = keep;
	p[1].method = SI_PATCH_JMP_PADDING;		/* "padding" in live code */
	p[1].first = sys2;
	p[1].last = sys2 + 1;
	p[1].start = m[1];
	p[1].end = m[1] + 2;
	p[1].pad_addr = a.insns[sys2 + 1].addr;
	expect_rejected("a padding jump over live code", &a, p);
	p[1] = keep;
	p[1].method = SI_PATCH_JMP_PADDING;		/* site 2 into the nop fill after its ret... */
	p[1].first = sys2;
	p[1].last = sys2 + 1;
	p[1].start = m[1];
	p[1].end = m[1] + 2;
	p[1].pad_addr = a.insns[tgt + 1].addr + 1;
	p[1].pad_addr = si_insn_at(&a, p[1].pad_addr) == SIZE_MAX ? a.insns[tgt + 2].addr
								: p[1].pad_addr;
	p[0].method = SI_PATCH_JMP_PADDING;		/* and site 1 uses the same padding */
	p[0].first = si_insn_at(&a, m[0]);
	p[0].last = p[0].first + 1;
	p[0].start = m[0];
	p[0].end = m[0] + 2;
	p[0].pad_addr = p[1].pad_addr;
	expect_rejected("two padding jumps in the same bytes", &a, p);
	free(p);
	si_analysis_free(&a);

	uint64_t us[] = { A(u_busy_start) };
	analyse(u_busy_start, u_busy_end, us, 1, &a);
	p = plan(&a);
	size_t s0 = a.syscalls[0];
	set_window(&a, &p[0], s0 - 1, s0 + 2);		/* mov, syscall, syscall */
	expect_rejected("two syscalls in one window", &a, p);
	free(p);
	si_analysis_free(&a);

	uint64_t cs[] = { A(u_calls_start), A(u_calls_f2), A(u_calls_f3) };
	analyse(u_calls_start, u_calls_end, cs, 3, &a);
	p = plan(&a);
	size_t c0 = a.syscalls[0];
	set_window(&a, &p[0], c0 - 1, c0 + 1);		/* call, syscall */
	expect_rejected("a call in a window", &a, p);
	free(p);
	si_analysis_free(&a);
}

/* ---- si_plan_valid on hand-made wrong plans: each refused, for its own reason */

static struct si_patch *
copy_plan(const struct si_analysis *a, const struct si_patch *p)
{
	struct si_patch *c = calloc(a->n_syscalls + 1, sizeof(*c));
	memcpy(c, p, a->n_syscalls * sizeof(*c));
	return c;
}

/* An analysis with its own copy of the instructions, to change their flags. */
static struct si_analysis
copy_analysis(const struct si_analysis *a)
{
	struct si_analysis c = *a;
	c.insns = malloc(a->n_insns * sizeof(*c.insns));
	memcpy(c.insns, a->insns, a->n_insns * sizeof(*c.insns));
	return c;
}

/*
 * si_plan_valid must refuse the n patches p (with `threads`) saying something that holds
 * `keyword`; with `oracle`, check_plan must find it wrong too (the rules it states).
 */
static void
expect_invalid(const char *what, const struct si_analysis *a, struct si_patch *p, size_t n,
	       bool threads, const char *keyword, bool oracle)
{
	const char *why = NULL;
	size_t site = SIZE_MAX;
	bool ok = si_plan_valid(a, p, n, threads, &why, &site);
	CHECK(!ok, "si_plan_valid accepted %s", what);
	CHECK(ok || (why && strstr(why, keyword)), "si_plan_valid refused %s, but saying \"%s\"",
	      what, why ? why : "(nothing)");
	if (!ok)
		printf("  refused %s: %s\n", what, why ? why : "(nothing)");
	if (oracle) {
		bool saved = plan_threads;
		plan_threads = threads;
		expect_rejected(what, a, p);
		plan_threads = saved;
	}
}

/*
 * A window around some site of a, of at most 13 instructions and (when len is not 0) of len
 * bytes, that si_plan_valid refuses saying `keyword`: plan p with that window in *out (a
 * copy).  For the rules that need a certain shape of code rather than a certain site.
 */
static bool
find_refused_window(const struct si_analysis *a, const struct si_patch *p, bool threads,
		    const char *keyword, uint64_t len, struct si_patch **out)
{
	struct si_patch *c = copy_plan(a, p);
	for (size_t k = 0; k < a->n_syscalls; k++) {
		size_t sys = a->syscalls[k];
		for (size_t f = sys > 6 ? sys - 6 : 0; f <= sys; f++)
			for (size_t l = sys + 1; l <= sys + 7 && l <= a->n_insns; l++) {
				const struct si_insn *e = &a->insns[l - 1];
				if (len && e->addr + e->len - a->insns[f].addr != len)
					continue;
				memcpy(c, p, a->n_syscalls * sizeof(*c));
				set_window(a, &c[k], f, l);
				const char *why = NULL;
				if (!si_plan_valid(a, c, a->n_syscalls, threads, &why, NULL) &&
				    why && strstr(why, keyword)) {
					*out = c;
					return true;
				}
			}
	}
	free(c);
	return false;
}

/* find_refused_window, then expect_invalid on what it found. */
static void
expect_window_invalid(const char *what, const struct si_analysis *a, const struct si_patch *p,
		      bool threads, const char *keyword, uint64_t len, bool oracle)
{
	struct si_patch *c = NULL;
	bool found = find_refused_window(a, p, threads, keyword, len, &c);
	CHECK(found, "no window of this code is refused for \"%s\" (%s)", keyword, what);
	if (found)
		expect_invalid(what, a, c, a->n_syscalls, threads, keyword, oracle);
	free(c);
}

/* A padding patch of site k, to pad. */
static void
set_padding(const struct si_analysis *a, struct si_patch *q, size_t sys, uint64_t pad)
{
	q->method = SI_PATCH_JMP_PADDING;
	q->first = sys;
	q->last = sys + 1;
	q->start = a->insns[sys].addr;
	q->end = q->start + a->insns[sys].len;
	q->pad_addr = pad;
}

static void
test_plan_valid(void)
{
	struct si_analysis a;
	struct si_patch *p, *c;
	const uint64_t *m = u_basic_marks;
	uint64_t bs[] = { A(u_basic_start), A(u_basic_f2), A(u_basic_f3) };
	analyse(u_basic_start, u_basic_end, bs, 3, &a);
	p = plan(&a);
	size_t n = a.n_syscalls, sys1 = si_insn_at(&a, m[0]), sys2 = si_insn_at(&a, m[1]),
	       tgt = si_insn_at(&a, m[2]);
	CHECK(n == 2 && p[0].method == SI_PATCH_JMP_PADDING && p[0].pad_addr == m[8] &&
	      p[1].method == SI_PATCH_JMP_PADDING, "basic: the plan these cases start from changed");

	c = copy_plan(&a, p);
	set_window(&a, &c[1], sys2, tgt + 1);		/* syscall, jnz, neg, ret (the target) */
	expect_invalid("a window over a jump target", &a, c, n, false, "jump target", true);
	memcpy(c, p, n * sizeof(*c));
	set_window(&a, &c[0], sys1, sys1 + 1);
	expect_invalid("a window of the syscall alone", &a, c, n, false, "shorter", true);
	memcpy(c, p, n * sizeof(*c));
	set_window(&a, &c[1], sys2 - 1, sys2 + 1);
	c[1].start++;					/* inside the mov */
	expect_invalid("a window from inside an instruction", &a, c, n, false, "not its instr",
		       true);
	memcpy(c, p, n * sizeof(*c));
	set_window(&a, &c[1], sys2 - 1, sys2 + 1);
	c[1].last++;					/* first/last and start/end disagree */
	expect_invalid("a window whose instructions are not its bytes", &a, c, n, false,
		       "not its instr", true);
	memcpy(c, p, n * sizeof(*c));
	c[1].start = a.insns[sys2 - 1].addr;
	expect_invalid("a padding patch over more than its syscall", &a, c, n, false,
		       "exactly its syscall", true);
	memcpy(c, p, n * sizeof(*c));
	set_padding(&a, &c[1], sys2, a.insns[sys2 + 1].addr);	/* the jnz after it */
	expect_invalid("a padding jump over live code", &a, c, n, false, "fewer than 5", true);
	memcpy(c, p, n * sizeof(*c));
	set_padding(&a, &c[1], sys2, m[5] + 1);		/* inside the lea */
	expect_invalid("a padding jump inside an instruction", &a, c, n, false,
		       "not start at an instruction", true);
	memcpy(c, p, n * sizeof(*c));
	set_padding(&a, &c[0], sys1, m[1] + 200);
	expect_invalid("a padding jump out of rel8 reach", &a, c, n, false, "reach", true);
	memcpy(c, p, n * sizeof(*c));
	c[0].pad_addr = p[1].pad_addr;			/* both sites into the same padding */
	expect_invalid("two padding jumps in the same bytes", &a, c, n, false, "overlap", true);
	memcpy(c, p, n * sizeof(*c));
	c[0].pad_addr = p[0].pad_addr + 1;		/* 10 int3 after a ret: the first is free */
	expect_invalid("a padding jump past a free position nearer to its syscall", &a, c, n,
		       false, "nearer", false);
	memcpy(c, p, n * sizeof(*c));
	c[1].method = (enum si_patch_method)7;
	expect_invalid("an unknown method", &a, c, n, false, "unknown method", true);
	memcpy(c, p, n * sizeof(*c));
	c[1].method = SI_PATCH_NONE;
	c[1].reason = NULL;
	expect_invalid("an unpatched site without a reason", &a, c, n, false, "reason", true);
	memcpy(c, p, n * sizeof(*c));
	c[0].syscall_addr++;
	expect_invalid("a patch that is not at its site", &a, c, n, false, "not at its site",
		       true);
	expect_invalid("one patch fewer than sites", &a, p, n - 1, false, "one patch per", false);

	/* the same bytes, other flags: what the analysis says decides */
	struct si_analysis b = copy_analysis(&a);
	size_t pi = si_insn_at(&a, p[0].pad_addr), before = pi - 1;	/* the ret before */
	CHECK(has(&a, before, SI_INSN_NO_FALLTHROUGH), "basic: no ret before the int3 fill");
	b.insns[before].flags &= (uint16_t)~SI_INSN_NO_FALLTHROUGH;
	expect_invalid("a padding jump after an instruction that falls through", &b, p, n, false,
		       "reached", true);
	memcpy(b.insns, a.insns, a.n_insns * sizeof(*b.insns));
	b.insns[pi].flags |= SI_INSN_TARGET;
	expect_invalid("a padding jump over a jump target", &b, p, n, false, "jump target", true);
	/* a window the code allows ([mov, syscall] of site 2), each of its rules broken in turn */
	memcpy(b.insns, a.insns, a.n_insns * sizeof(*b.insns));
	memcpy(c, p, n * sizeof(*c));
	set_window(&a, &c[1], sys2 - 1, sys2 + 1);
	CHECK(si_plan_valid(&a, c, n, false, NULL, NULL), "basic: the window [mov, syscall] "
	      "of site 2 is refused: the cases below test nothing");
	static const struct { uint16_t flag; const char *what, *keyword; } broken[] = {
		{ SI_INSN_INVALID, "undecodable bytes in a window", "do not decode" },
		{ SI_INSN_CALL, "a call in a window", "call" },
		{ SI_INSN_UNMOVABLE, "an unmovable instruction in a window", "cannot be moved" },
		{ SI_INSN_NO_FALLTHROUGH, "a window going on after an instruction that does not "
		  "fall through", "does not fall through" },
		{ SI_INSN_SYSCALL, "two syscalls in a window", "second syscall" },
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		memcpy(b.insns, a.insns, a.n_insns * sizeof(*b.insns));
		b.insns[sys2 - 1].flags |= broken[i].flag;
		expect_invalid(broken[i].what, &b, c, n, false, broken[i].keyword, true);
	}
	memcpy(b.insns, a.insns, a.n_insns * sizeof(*b.insns));
	set_window(&a, &c[1], sys2, sys2 + 3);		/* syscall, jnz, neg */
	b.insns[sys2 + 2].flags |= SI_INSN_ENDBR;
	expect_invalid("an endbr64 inside a window", &b, c, n, false, "endbr64", true);
	set_window(&a, &c[1], sys2 - 2, sys2 + 1);	/* lea, mov, syscall: [mov, syscall] does */
	expect_invalid("a window larger than needed", &a, c, n, false, "smaller window", false);
	free(b.insns);
	free(c);
	free(p);
	si_analysis_free(&a);

	/* windows of real shapes, found in the code */
	uint64_t us[] = { A(u_busy_start) };
	analyse(u_busy_start, u_busy_end, us, 1, &a);
	p = plan(&a);
	size_t s0 = a.syscalls[0];
	c = copy_plan(&a, p);
	set_window(&a, &c[0], s0 - 1, s0 + 2);		/* mov, syscall, syscall */
	expect_invalid("two syscalls in one window", &a, c, a.n_syscalls, false, "second syscall",
		       true);
	free(c);
	expect_window_invalid("a window past a jmp", &a, p, false, "does not fall through", 0,
			      true);
	expect_window_invalid("a window of 12 instructions", &a, p, false, "more instructions", 0,
			      true);
	free(p);
	si_analysis_free(&a);

	uint64_t cs[] = { A(u_calls_start), A(u_calls_f2), A(u_calls_f3) };
	analyse(u_calls_start, u_calls_end, cs, 3, &a);
	p = plan(&a);
	c = copy_plan(&a, p);
	set_window(&a, &c[0], a.syscalls[0] - 1, a.syscalls[0] + 1);	/* call, syscall */
	expect_invalid("a call in a window", &a, c, a.n_syscalls, false, "call", true);
	free(c);
	free(p);
	si_analysis_free(&a);

	/* with other threads running, a window must start with 5 bytes or more */
	uint64_t ss[] = { A(u_short_start) };
	analyse(u_short_start, u_short_end, ss, 1, &a);
	p = plan(&a);		/* plan_threads is false here: a window from the 2-byte mov */
	expect_invalid("a window starting with a 2-byte instruction, threads running", &a, p,
		       a.n_syscalls, true, "other threads", true);
	/* (a window longer than a patch write holds: in libc, test_system) */
	free(p);
	si_analysis_free(&a);
	printf("plan rule: done\n");
}

static void
test_plan(void)
{
	struct si_analysis a;
	struct si_patch *p;

	uint64_t bs[] = { A(u_basic_start), A(u_basic_f2), A(u_basic_f3) };
	plan_region("basic", u_basic_start, u_basic_end, bs, 3, &a, &p);
	for (size_t k = 0; k < a.n_syscalls; k++)
		CHECK(p[k].method != SI_PATCH_NONE, "basic: site %#lx unpatched: %s",
		      (unsigned long)p[k].syscall_addr, p[k].reason);
	si_analysis_free(&a);
	free(p);

	uint64_t ds[] = { A(u_dense_start) };
	plan_region("dense", u_dense_start, u_dense_end, ds, 1, &a, &p);
	for (size_t k = 0; k < a.n_syscalls; k++)
		CHECK(p[k].method != SI_PATCH_JMP_WINDOW,
		      "dense: site %#lx got a window although both neighbours are targets",
		      (unsigned long)p[k].syscall_addr);
	si_analysis_free(&a);
	free(p);

	uint64_t cs[] = { A(u_calls_start), A(u_calls_f2), A(u_calls_f3) };
	plan_region("calls", u_calls_start, u_calls_end, cs, 3, &a, &p);
	si_analysis_free(&a);
	free(p);

	uint64_t us[] = { A(u_busy_start) };
	plan_region("busy", u_busy_start, u_busy_end, us, 1, &a, &p);
	si_analysis_free(&a);
	free(p);

	/* the patterns, with their function starts as the symbol table would give them */
	const uint8_t *fs[] = { pat_first_body, pat_first, pat_int3_body, pat_int3, pat_nop_body,
		pat_nop, pat_last, pat_last_next, pat_exit, pat_after, pat_at, pat_at_ret, pat_loop,
		pat_riprel_before, pat_riprel_after, pat_endbr, pat_endbr_tight_body, pat_endbr_tight,
		pat_b2b, pat_b2b3, pat_jcc, pat_targets, pat_far_filler_before, pat_far,
		pat_far_filler_after, pat_lsda, pat_lsda_unwind, pat_lsda_stop };
	uint64_t ps[sizeof(fs) / sizeof(fs[0])];
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		ps[i] = A(fs[i]);
	plan_region("patterns", (const void *)pat_code_bounds[0], (const void *)pat_code_bounds[1],
		    ps, sizeof(ps) / sizeof(ps[0]), &a, &p);
	for (size_t k = 0; k < a.n_syscalls; k++) {
		const struct si_patch *q = &p[k];
		if (q->syscall_addr == pat_far_sites[0]) {
			CHECK(q->method != SI_PATCH_JMP_WINDOW, "patterns far: got a window");
			CHECK(q->method == SI_PATCH_NONE, "patterns far: patched by %s with no padding "
			      "in reach", si_patch_method_name(q->method));
		} else if (q->syscall_addr == pat_targets_sites[0]) {
			CHECK(q->method == SI_PATCH_JMP_PADDING, "patterns targets: %s, expected "
			      "jmp-padding (padding right after it)", si_patch_method_name(q->method));
		} else {
			CHECK(q->method != SI_PATCH_NONE, "patterns: site %#lx unpatched: %s",
			      (unsigned long)q->syscall_addr, q->reason);
		}
	}
	CHECK(patch_for(&a, p, pat_far_sites[0]) != NULL, "patterns: far site not planned");
	si_analysis_free(&a);
	free(p);

	/*
	 * With other threads running: the same checks, plus check_plan's rule that no window
	 * leaves an instruction boundary inside its jump.
	 */
	plan_threads = true;
	plan_region("patterns (threads)", (const void *)pat_code_bounds[0],
		    (const void *)pat_code_bounds[1], ps, sizeof(ps) / sizeof(ps[0]), &a, &p);
	size_t unsafe = 0;
	for (size_t k = 0; k < a.n_syscalls; k++)
		if (p[k].method == SI_PATCH_NONE && strstr(p[k].reason, "other threads"))
			unsafe++;
	printf("plan patterns (threads): %zu sites left as not safe with threads\n", unsafe);
	si_analysis_free(&a);
	free(p);
	plan_region("basic (threads)", u_basic_start, u_basic_end, bs, 3, &a, &p);
	si_analysis_free(&a);
	free(p);
	/* Short neighbours and no padding: a window at start-up, nothing with threads running. */
	uint64_t ss[] = { A(u_short_start) };
	for (int threads = 0; threads < 2; threads++) {
		plan_threads = threads;
		plan_region(threads ? "short (threads)" : "short", u_short_start, u_short_end, ss, 1,
			    &a, &p);
		const struct si_patch *q = patch_for(&a, p, u_short_marks[0]);
		CHECK(q && q->method == (threads ? SI_PATCH_NONE : SI_PATCH_JMP_WINDOW),
		      "short%s: %s, expected %s", threads ? " (threads)" : "",
		      q ? si_patch_method_name(q->method) : "not planned",
		      threads ? "unpatched" : "jmp-window");
		CHECK(!threads || (q && q->reason && strstr(q->reason, "other threads")),
		      "short (threads): reason %s", q && q->reason ? q->reason : "none");
		si_analysis_free(&a);
		free(p);
	}
	plan_threads = false;
	test_plan_checker();
	test_plan_valid();
	printf("plan: done\n");
}

/* ---- relocate */

/* Relocates instructions [from, from + count) of fn's first `scan` bytes to a fresh mapping
 * near the code, appends `tail`, makes it executable and returns it (NULL on failure). */
static void *
relocate_run(const uint8_t *fn, size_t scan, size_t from, size_t count, const uint8_t *tail,
	     size_t tail_len, void **map)
{
	struct si_analysis a;
	uint64_t start = A(fn);
	analyse(fn, fn + scan, &start, 1, &a);
	uint8_t *mem = si_map_near(A(fn), A(fn) + scan, 4096);
	*map = mem;
	CHECK(mem != NULL, "si_map_near found no memory near %p", (const void *)fn);
	if (!mem) {
		si_analysis_free(&a);
		return NULL;
	}
	size_t n = 0;
	for (size_t i = from; i < from + count; i++) {
		int len = si_relocate(&a, i, A(mem) + n, mem + n);
		CHECK(len > 0 && len <= SI_MAX_RELOCATED_LEN, "si_relocate(%#lx) = %d",
		      (unsigned long)a.insns[i].addr, len);
		if (len <= 0) {
			si_analysis_free(&a);
			return NULL;
		}
		/* decoded, the moved instruction refers to the same absolute address */
		struct decoded od, nd;
		uint64_t oabs, nabs;
		decode(fn + (a.insns[i].addr - start), a.insns[i].len, &od);
		CHECK(decode(mem + n, (size_t)len, &nd) && nd.zi.length == len,
		      "relocated %#lx does not decode to one instruction", (unsigned long)a.insns[i].addr);
		CHECK(nd.zi.mnemonic == od.zi.mnemonic, "relocated %s became %s",
		      ZydisMnemonicGetString(od.zi.mnemonic), ZydisMnemonicGetString(nd.zi.mnemonic));
		if (absolute_ref(&od, a.insns[i].addr, &oabs)) {
			CHECK(absolute_ref(&nd, A(mem) + n, &nabs) && nabs == oabs,
			      "relocated %s refers to %#lx instead of %#lx",
			      ZydisMnemonicGetString(od.zi.mnemonic), (unsigned long)nabs,
			      (unsigned long)oabs);
			if (od.zi.meta.category == ZYDIS_CATEGORY_COND_BR ||
			    od.zi.meta.category == ZYDIS_CATEGORY_UNCOND_BR) {
				int64_t dist = (int64_t)(oabs - (A(mem) + n + 2));
				if (dist < -128 || dist > 127)
					CHECK(nd.zi.raw.imm[0].size == 32,
					      "relocated %s far from its target is not rel32",
					      ZydisMnemonicGetString(od.zi.mnemonic));
			}
		}
		n += (size_t)len;
	}
	memcpy(mem + n, tail, tail_len);
	si_analysis_free(&a);
	if (mprotect(mem, 4096, PROT_READ | PROT_EXEC) != 0) {
		CHECK(false, "mprotect");
		return NULL;
	}
	return mem;
}

static void
test_relocate(void)
{
	static const uint8_t RET[] = { 0xc3 };
	static const uint8_t MOV1_RET[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3 };
	static const uint8_t MOV22_RET[] = { 0xb8, 0x16, 0x00, 0x00, 0x00, 0xc3 };
	void *map;
	void *code;

	/* RIP-relative load */
	code = relocate_run(u_exec_load, 16, 0, 1, RET, 1, &map);
	if (code)
		CHECK(((long (*)(void))code)() == (long)u_val, "relocated RIP-relative load");
	munmap(map, 4096);
	/* RIP-relative store with an immediate after the displacement */
	u_val2 = 0;
	code = relocate_run(u_exec_store, 16, 0, 1, RET, 1, &map);
	if (code) {
		((void (*)(void))code)();
		CHECK(u_val2 == 0x5a5a5a5a, "relocated RIP-relative store wrote %#lx",
		      (unsigned long)u_val2);
	}
	munmap(map, 4096);
	/* RIP-relative lea */
	code = relocate_run(u_exec_lea, 16, 0, 1, RET, 1, &map);
	if (code)
		CHECK(((long (*)(void))code)() == (long)&u_val, "relocated RIP-relative lea");
	munmap(map, 4096);
	/* cmpb $imm, rip-rel + je rel8 (both relocated), fall-through appended */
	code = relocate_run(u_exec_cmp, 32, 0, 2, MOV22_RET, sizeof(MOV22_RET), &map);
	if (code)
		CHECK(((long (*)(void))code)() == 11, "relocated cmpb/je: taken branch");
	munmap(map, 4096);
	/* test + jz rel8: the taken branch goes back to the original target */
	code = relocate_run(u_exec_jcc, 32, 0, 2, MOV1_RET, sizeof(MOV1_RET), &map);
	if (code) {
		CHECK(((long (*)(long))code)(0) == 2, "relocated jz: taken branch");
		CHECK(((long (*)(long))code)(5) == 1, "relocated jz: fall-through");
	}
	munmap(map, 4096);
	/* jmp rel8 */
	code = relocate_run(u_exec_jmp, 16, 0, 1, RET, 1, &map);
	if (code)
		CHECK(((long (*)(void))code)() == 7, "relocated jmp rel8");
	munmap(map, 4096);

	/* Out of reach (3 GiB away): refused, never encoded wrong */
	struct si_analysis a;
	uint64_t s = A(u_exec_jcc);
	analyse(u_exec_jcc, u_exec_jcc + 32, &s, 1, &a);
	uint8_t out[SI_MAX_RELOCATED_LEN];
	uint64_t far = A(u_exec_jcc) + (3ULL << 30);
	CHECK(si_relocate(&a, 1, far, out) == -1, "jz relocated 3 GiB away");
	CHECK(si_relocate(&a, 0, far, out) == a.insns[0].len && !memcmp(out, u_exec_jcc, a.insns[0].len),
	      "test %%rdi,%%rdi (position independent) not copied as it is");
	si_analysis_free(&a);
	s = A(u_exec_load);
	analyse(u_exec_load, u_exec_load + 16, &s, 1, &a);
	CHECK(si_relocate(&a, 0, A(u_exec_load) + (3ULL << 30), out) == -1,
	      "RIP-relative mov relocated 3 GiB away");
	si_analysis_free(&a);

	/* calls and rel8-only branches stay where they are */
	s = A(u_odd);
	analyse(u_odd, u_odd_end, &s, 1, &a);
	CHECK(a.n_insns == 5, "odd: %zu instructions", a.n_insns);
	if (a.n_insns == 5) {
		const char *names[] = { "jrcxz", "loop", "call rel32", "call *rip" };
		for (size_t i = 0; i < 4; i++) {
			uint64_t near = a.insns[i].addr + 0x10000;
			int len = si_relocate(&a, i, near, out);
			if (i >= 2) {
				CHECK(!si_relocatable(&a, i), "%s is relocatable", names[i]);
				CHECK(len == -1, "%s was moved", names[i]);
			} else if (len >= 0) {
				/* rel8 only: if moved at all, it must still reach its target */
				struct decoded od, nd;
				uint64_t oabs, nabs;
				decode(u_odd + (a.insns[i].addr - s), a.insns[i].len, &od);
				absolute_ref(&od, a.insns[i].addr, &oabs);
				CHECK(decode(out, (size_t)len, &nd) && absolute_ref(&nd, near, &nabs) &&
				      nabs == oabs, "%s moved 64 KiB away with a wrong target", names[i]);
			}
		}
	}
	si_analysis_free(&a);

	/* si_map_near: read-write, not executable, within reach */
	uint64_t lo = A(u_basic_start), hi = A(u_busy_end);
	uint8_t *m = si_map_near(lo, hi, 8192);
	CHECK(m != NULL, "si_map_near");
	if (m) {
		int64_t d1 = (int64_t)(A(m) + 8192 - lo), d2 = (int64_t)(hi - A(m));
		CHECK(d1 < (1LL << 31) && d1 > -(1LL << 31) && d2 < (1LL << 31) && d2 > -(1LL << 31),
		      "si_map_near area %p is out of rel32 reach", (void *)m);
		m[0] = 1;	/* writable */
		FILE *f = fopen("/proc/self/maps", "r");
		char line[512];
		bool found = false;
		while (f && fgets(line, sizeof(line), f)) {
			unsigned long a0, a1;
			char perm[8];
			if (sscanf(line, "%lx-%lx %7s", &a0, &a1, perm) == 3 && a0 <= A(m) && A(m) < a1) {
				found = true;
				CHECK(perm[2] != 'x', "si_map_near area is executable: %s", line);
			}
		}
		if (f)
			fclose(f);
		CHECK(found, "si_map_near area not in /proc/self/maps");
		munmap(m, 8192);
	}
	printf("relocate: done\n");
}

/* ---- emit */

static void
emit_region(const char *what, const void *s, const void *e, const uint64_t *starts, size_t ns,
	    uint64_t out_addr)
{
	struct si_analysis a;
	analyse(s, e, starts, ns, &a);
	struct si_patch *p = plan(&a);
	size_t emitted = 0;
	for (size_t k = 0; k < a.n_syscalls; k++)
		if (p[k].method != SI_PATCH_NONE)
			emitted += check_trampoline(what, &a, &p[k], out_addr + 256 * k,
						    out_addr - 64);
	printf("emit %s: %zu trampolines checked\n", what, emitted);
	si_analysis_free(&a);
	free(p);
}

static void
test_emit(void)
{
	/* trampolines placed 1 GiB above the code: every rel8 neighbour must become rel32 */
	uint64_t off = 1ULL << 30;
	uint64_t bs[] = { A(u_basic_start), A(u_basic_f2), A(u_basic_f3) };
	emit_region("basic", u_basic_start, u_basic_end, bs, 3, A(u_basic_start) + off);
	uint64_t cs[] = { A(u_calls_start), A(u_calls_f2), A(u_calls_f3) };
	emit_region("calls", u_calls_start, u_calls_end, cs, 3, A(u_calls_start) + off);
	uint64_t us[] = { A(u_busy_start) };
	emit_region("busy", u_busy_start, u_busy_end, us, 1, A(u_busy_start) + off);
	emit_region("patterns", (const void *)pat_code_bounds[0], (const void *)pat_code_bounds[1],
		    NULL, 0, pat_code_bounds[0] + off);
	printf("emit: done\n");
}

/* ---- landing pads */

struct pads {
	uint64_t v[256];
	size_t n;
};

static void
collect_pad(void *ctx, uint64_t pad)
{
	struct pads *p = ctx;
	if (p->n < sizeof(p->v) / sizeof(p->v[0]))
		p->v[p->n++] = pad;
}

static bool
has_pad(const struct pads *p, uint64_t pad)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == pad)
			return true;
	return false;
}

static int
find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	for (int k = 0; k < info->dlpi_phnum; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && A(pat_lsda) >= lo && A(pat_lsda) < lo + ph->p_memsz) {
			view_of(info, data);
			return 1;
		}
	}
	return 0;
}

/* A copy of a segment between two inaccessible pages: a read outside it faults. */
struct guarded {
	uint8_t *map;
	size_t size, room;
};

static bool
guarded_init(struct guarded *g, size_t len)
{
	size_t page = 4096;
	g->room = (len + page - 1) / page * page;
	g->size = g->room + 2 * page;
	g->map = mmap(NULL, g->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		return false;
	return mprotect(g->map + page, g->room, PROT_READ | PROT_WRITE) == 0;
}

/*
 * Copies len bytes from src against the front (at_end false) or back guard page.  src is a
 * stretch of this executable's mapped image, across many objects: byte by byte and out of
 * AddressSanitizer's sight, whose red zones between globals are part of the image.
 */
__attribute__((no_sanitize("address"))) static uint8_t *
guarded_place(struct guarded *g, const uint8_t *src, size_t len, bool at_end)
{
	uint8_t *dst = g->map + 4096 + (at_end ? g->room - len : 0);
	for (size_t i = 0; i < len; i++)
		dst[i] = src[i];
	return dst;
}

/*
 * Corrupt and truncated unwind data: every FDE, CIE and LSDA byte of this executable changed at
 * random, and the view cut short at every byte, the tables copied between inaccessible pages.
 * Whatever si_landing_pads makes of it, it must read nothing outside the view.
 */
static void
test_landing_corrupt(const struct si_eh_view *live)
{
	int s = -1;
	for (int i = 0; i < live->n_seg; i++)
		if (live->eh_frame_hdr >= live->seg[i].start && live->eh_frame_hdr < live->seg[i].end)
			s = i;
	CHECK(s >= 0, "no segment holds .eh_frame_hdr");
	if (s < 0)
		return;
	const uint8_t *src = live->seg[s].bytes;
	size_t len = live->seg[s].end - live->seg[s].start;
	size_t from = live->eh_frame_hdr - live->seg[s].start;	/* unwind tables start here */
	struct guarded g;
	CHECK(guarded_init(&g, len), "no memory for the guarded copy");
	struct si_eh_view v = { .eh_frame_hdr = live->eh_frame_hdr, .n_seg = 1 };
	v.seg[0].start = live->seg[s].start;
	struct pads p = { .n = 0 };
	size_t total = 0;

	/* the copy, whole, at either end: the same pads as in place */
	struct pads want = { .n = 0 };
	si_landing_pads(live, 0, UINT64_MAX, collect_pad, &want);
	for (int at_end = 0; at_end < 2; at_end++) {
		v.seg[0].bytes = guarded_place(&g, src, len, at_end);
		v.seg[0].end = v.seg[0].start + len;
		p.n = 0;
		si_landing_pads(&v, 0, UINT64_MAX, collect_pad, &p);
		CHECK(p.n == want.n && want.n >= 4, "guarded copy: %zu pads, in place %zu", p.n,
		      want.n);
	}
	/* cut short at every byte of the tables: a read past the cut hits the guard page */
	for (size_t cut = from; cut <= len; cut++) {
		v.seg[0].bytes = guarded_place(&g, src, cut, true);
		v.seg[0].end = v.seg[0].start + cut;
		p.n = 0;
		total += si_landing_pads(&v, 0, UINT64_MAX, collect_pad, &p);
	}
	/* random bytes changed; the view alternately against either guard page */
	uint64_t rng = 0x9e3779b97f4a7c15;
	for (int round = 0; round < 20000; round++) {
		v.seg[0].bytes = guarded_place(&g, src, len, round & 1);
		v.seg[0].end = v.seg[0].start + len;
		uint8_t *b = (uint8_t *)v.seg[0].bytes;
		int flips = 1 + round % 4;
		for (int k = 0; k < flips; k++) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			size_t at = from + (size_t)(rng % (len - from));
			b[at] = (uint8_t)(rng >> 32);
			if (rng & (1ULL << 40))		/* also make lengths and offsets large */
				b[at] = (rng & (1ULL << 41)) ? 0xff : 0x80;
		}
		p.n = 0;
		total += si_landing_pads(&v, 0, UINT64_MAX, collect_pad, &p);
	}
	munmap(g.map, g.size);
	/* a view without segments, a table outside them, an empty range */
	struct si_eh_view none = { .eh_frame_hdr = live->eh_frame_hdr };
	CHECK(si_landing_pads(&none, 0, UINT64_MAX, collect_pad, &p) == 0,
	      "pads read from a view without segments");
	struct si_eh_view outside = *live;
	outside.eh_frame_hdr = 8;
	CHECK(si_landing_pads(&outside, 0, UINT64_MAX, collect_pad, &p) == 0,
	      "pads read from a .eh_frame_hdr outside the view");
	CHECK(si_landing_pads(live, A(pat_lsda), A(pat_lsda), collect_pad, &p) == 0,
	      "pads found in an empty range");
	CHECK(si_landing_pads(NULL, 0, UINT64_MAX, collect_pad, &p) == 0, "pads without a view");
	printf("landing: %zu cuts and 20000 corruptions read within bounds (%zu pads found in "
	       "them)\n", len - from + 1, total);
}

static void
test_landing(void)
{
	struct si_eh_view v;
	memset(&v, 0, sizeof(v));
	dl_iterate_phdr(find_self, &v);
	CHECK(v.eh_frame_hdr && v.n_seg > 0, "no unwind view of the test program");

	/*
	 * A signal frame's FDE starts one byte before its restorer, inside an instruction: the
	 * analysis must still decode the restorer from its first byte, and no window may start
	 * inside its first instruction.
	 */
	CHECK(si_signal_frame_at(&v, A(u_sigframe_restorer) - 1) &&
	      !si_signal_frame_at(&v, A(u_sigframe_restorer)),
	      "u_sigframe: the signal frame's FDE is not found one byte before the restorer");
	uint64_t sf_starts[] = { A(u_sigframe_start), A(u_sigframe_restorer) - 1 };
	for (int threads = 0; threads < 2; threads++) {
		struct si_analysis a;
		analyse_eh(u_sigframe_start, u_sigframe_end, sf_starts, 2, &v, &a);
		size_t r = si_insn_at(&a, A(u_sigframe_restorer));
		CHECK(r != SIZE_MAX && a.insns[r].len == 7 && r + 1 < a.n_insns &&
		      (a.insns[r + 1].flags & SI_INSN_SYSCALL),
		      "u_sigframe: the restorer is not decoded from its first byte");
		plan_threads = threads;
		struct si_patch *q = plan(&a);
		const struct si_patch *site = patch_for(&a, q, u_sigframe_marks[0]);
		CHECK(site && site->method == SI_PATCH_JMP_WINDOW &&
		      site->start == A(u_sigframe_restorer),
		      "u_sigframe: %s at %#lx, expected a window from the restorer's first byte",
		      site ? si_patch_method_name(site->method) : "no plan",
		      (unsigned long)(site ? site->start : 0));
		plan_threads = false;
		free(q);
		si_analysis_free(&a);
	}

	/* the hand-written LSDAs of unit_code.S, in every encoding they use */
	struct pads p = { .n = 0 };
	si_landing_pads(&v, A(u_lsda_start), A(u_lsda_end), collect_pad, &p);
	size_t n_marks = 0;
	for (const uint64_t *m = u_lsda_marks; *m; m++, n_marks++)
		CHECK(has_pad(&p, *m), "u_lsda: landing pad %#lx not found", (unsigned long)*m);
	CHECK(p.n == n_marks, "u_lsda: %zu landing pads found, expected %zu", p.n, n_marks);

	/* pat_lsda's, asked for by a range inside the function (the FDE before it is read) */
	p.n = 0;
	si_landing_pads(&v, A(pat_lsda) + 4, A(pat_lsda) + 5, collect_pad, &p);
	CHECK(p.n == 1 && p.v[0] == pat_lsda_pads[0], "pat_lsda: %zu pads, the first %#lx, "
	      "expected only %#lx", p.n, (unsigned long)(p.n ? p.v[0] : 0),
	      (unsigned long)pat_lsda_pads[0]);
	/* the whole object: all of them */
	p.n = 0;
	si_landing_pads(&v, 0, UINT64_MAX, collect_pad, &p);
	CHECK(has_pad(&p, pat_lsda_pads[0]) && p.n >= n_marks + 1,
	      "whole object: %zu landing pads, pat_lsda's %sfound", p.n,
	      has_pad(&p, pat_lsda_pads[0]) ? "" : "not ");

	/*
	 * The planner: the landing pad right after pat_lsda's syscall is a target, so no window
	 * covers it.  Without the LSDA the window [syscall, test] would be acceptable (the shape is
	 * real: an older plan covered the pad); the planner now also prefers the window that ends
	 * at the syscall.  Padding, which it prefers to any window, is taken out of the way.
	 */
	const uint8_t *fs[] = { pat_far_filler_after, pat_lsda, pat_lsda_unwind, pat_lsda_stop };
	uint64_t starts[4];
	for (size_t i = 0; i < 4; i++)
		starts[i] = A(fs[i]);
	uint64_t pad = pat_lsda_pads[0];
	for (int with_eh = 0; with_eh < 2; with_eh++) {
		struct si_analysis a;
		analyse_eh((const void *)pat_code_bounds[0], (const void *)pat_code_bounds[1], starts,
			   4, with_eh ? &v : NULL, &a);
		for (size_t k = 0; k < a.n_insns; k++)
			a.insns[k].flags &= (uint16_t)~SI_INSN_PADDING;
		struct si_patch *q = plan(&a);
		size_t n[3];
		check_plan(with_eh ? "lsda" : "lsda (blind)", &a, q, n);
		const struct si_patch *site = patch_for(&a, q, pat_lsda_sites[0]);
		CHECK(site && site->method == SI_PATCH_JMP_WINDOW, "pat_lsda: not a window");
		CHECK(site && !(site->start < pad && pad < site->end),
		      "pat_lsda: window %#lx-%#lx covers the landing pad %#lx",
		      (unsigned long)(site ? site->start : 0), (unsigned long)(site ? site->end : 0),
		      (unsigned long)pad);
		size_t i = si_insn_at(&a, pad), sys = si_insn_at(&a, pat_lsda_sites[0]);
		bool covering_ok = sys != SIZE_MAX &&
				   valid_with_window(&a, q, pat_lsda_sites[0], sys, sys + 2, false);
		if (with_eh) {
			CHECK(has(&a, i, SI_INSN_TARGET), "pat_lsda: landing pad not a target");
			CHECK(!covering_ok, "pat_lsda: a window over the landing pad is accepted");
		} else {
			CHECK(i == sys + 1 && covering_ok, "pat_lsda: without landing pads the window "
			      "over the pad is refused: the shape no longer tests anything");
		}
		free(q);
		si_analysis_free(&a);
	}
	test_landing_corrupt(&v);
	printf("landing: done\n");
}

/* ---- this machine's libc and ld.so */

static int
each_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size; (void)data;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (strcmp(base, "libc.so.6") != 0 && strcmp(base, "ld-linux-x86-64.so.2") != 0)
		return 0;
	for (int k = 0; k < info->dlpi_phnum; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		const uint8_t *s = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		struct si_analysis a;
		struct si_eh_view v;
		view_of(info, &v);
		analyse_eh(s, s + ph->p_memsz, NULL, 0, &v, &a);
		plan_threads = true;
		struct si_patch *p = plan(&a);
		size_t n[3];
		check_plan(base, &a, p, n);
		printf("%s with threads running: %zu jmp-window, %zu jmp-padding, %zu unpatched\n",
		       base, n[SI_PATCH_JMP_WINDOW], n[SI_PATCH_JMP_PADDING], n[SI_PATCH_NONE]);
		free(p);
		plan_threads = false;
		p = plan(&a);
		check_plan(base, &a, p, n);
		/* what a review of damaged plan files found accepted: a window of 42 bytes */
		if (!strcmp(base, "libc.so.6"))
			expect_window_invalid("a window of 42 bytes in libc", &a, p, false, "longer",
					      42, true);
		size_t emitted = 0;
		uint64_t out = A(s) + ph->p_memsz + (1ULL << 20);
		for (size_t i = 0; i < a.n_syscalls; i++)
			if (p[i].method != SI_PATCH_NONE)
				emitted += check_trampoline(base, &a, &p[i], out + 256 * i, out - 64);
		printf("%s: %zu instructions, %zu syscalls: %zu jmp-window, %zu jmp-padding, "
		       "%zu unpatched; %zu trampolines checked\n", base, a.n_insns, a.n_syscalls,
		       n[SI_PATCH_JMP_WINDOW], n[SI_PATCH_JMP_PADDING], n[SI_PATCH_NONE], emitted);
		free(p);
		si_analysis_free(&a);
		(*(int *)data)++;
	}
	return 0;
}

static void
test_system(void)
{
	int seen = 0;
	dl_iterate_phdr(each_object, &seen);
	CHECK(seen >= 2, "libc and ld.so text not both found (%d segments)", seen);
	printf("system: done\n");
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	const char *which = argc > 1 ? argv[1] : "all";
	bool all = !strcmp(which, "all");
	if (all || !strcmp(which, "analyse"))
		test_analyse();
	if (all || !strcmp(which, "plan"))
		test_plan();
	if (all || !strcmp(which, "relocate"))
		test_relocate();
	if (all || !strcmp(which, "emit"))
		test_emit();
	if (all || !strcmp(which, "landing"))
		test_landing();
	if (all || !strcmp(which, "system"))
		test_system();
	printf("%d checks, %d failed\n%s\n", checks, failures, failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
