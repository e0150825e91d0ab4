/*
 * patch.c -- runs the pipeline over one object: for each executable segment, analyse, plan,
 * emit trampolines into memory near it, activate the jumps; then report (INTERCEPT_DEBUG_DUMP).
 * Also picks the entry code that saves this CPU's vector state.  A site that cannot be patched
 * is reported and left working as before: nothing here may abort the program.
 */
#define _GNU_SOURCE
#include "intercept.h"
#include "discover.h"
#include "patch.h"
#include "plan_cache.h"
#include "unwind.h"

#include <cpuid.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* entry.S: per CPU level, the entry and the vfork stubs' second entry */
void si_entry_sse(void), si_entry_sse_vfork_post(void);
void si_entry_avx(void), si_entry_avx_vfork_post(void);
void si_entry_avx512(void), si_entry_avx512_vfork_post(void);
void si_entry_novec(void), si_entry_novec_vfork_post(void);

int si_debug_level;
/* entry.S restores RFLAGS with sahf when the CPU has it in 64-bit mode (CPUID LAHF_LM). */
SI_HIDDEN char si_have_sahf;
static void (*si_entry[2])(void);	/* the entry, its vfork-post entry */

void (**si_entry_functions(void))(void)
{
	return si_entry;
}

static uint64_t
read_xcr0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * The entry that saves exactly the vector state this CPU and kernel have enabled (XCR0).  With
 * no_vectors the hook has promised to leave vector and x87 state alone.
 */
static void
choose_entry(bool no_vectors)
{
	unsigned a, b, c, d;
	bool avx = false, avx512 = false;
	if (!no_vectors && __get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE)) {
		uint64_t xcr0 = read_xcr0();
		avx = (c & bit_AVX) && (xcr0 & 0x6) == 0x6;
		if (avx && __get_cpuid_count(7, 0, &a, &b, &c, &d))
			avx512 = (b & bit_AVX512F) && (xcr0 & 0xe0) == 0xe0;
	}
	const char *saves;
	if (no_vectors) {
		si_entry[0] = si_entry_novec;
		si_entry[1] = si_entry_novec_vfork_post;
		saves = "no vector state (INTERCEPT_NO_VECTOR_SAVE)";
	} else if (avx512) {
		si_entry[0] = si_entry_avx512;
		si_entry[1] = si_entry_avx512_vfork_post;
		saves = "zmm0-31, k0-7, MXCSR, x87 CW";
	} else if (avx) {
		si_entry[0] = si_entry_avx;
		si_entry[1] = si_entry_avx_vfork_post;
		saves = "ymm0-15, MXCSR, x87 CW";
	} else {
		si_entry[0] = si_entry_sse;
		si_entry[1] = si_entry_sse_vfork_post;
		saves = "xmm0-15, MXCSR, x87 CW";
	}
	if (si_debug_level >= 2)
		si_dprintf(2, "syscall_intercept: entry saves %s\n", saves);
}

static void
report(struct si_object *o, const struct si_analysis *a, const struct si_patch *p)
{
	for (size_t k = 0; k < a->n_syscalls; k++) {
		o->n_sites++;
		switch (p[k].method) {
		case SI_PATCH_JMP_WINDOW:
			o->n_window++;
			break;
		case SI_PATCH_JMP_PADDING:
			o->n_padding++;
			break;
		default:
			o->n_unpatched++;
			break;
		}
		if (p[k].method == SI_PATCH_NONE && si_debug_level >= 1)
			si_dprintf(2, "syscall_intercept: unpatched %s 0x%lx: %s\n", o->path,
				   (unsigned long)(p[k].syscall_addr - o->base), p[k].reason);
		else if (si_debug_level >= 2 && p[k].method == SI_PATCH_JMP_PADDING)
			si_dprintf(2, "syscall_intercept: site %s 0x%lx: %s 0x%lx-0x%lx pad 0x%lx\n",
				   o->path, (unsigned long)(p[k].syscall_addr - o->base),
				   si_patch_method_name(p[k].method),
				   (unsigned long)(p[k].start - o->base),
				   (unsigned long)(p[k].end - o->base),
				   (unsigned long)(p[k].pad_addr - o->base));
		else if (si_debug_level >= 2)	/* which bytes change: see the man page */
			si_dprintf(2, "syscall_intercept: site %s 0x%lx: %s 0x%lx-0x%lx\n", o->path,
				   (unsigned long)(p[k].syscall_addr - o->base),
				   si_patch_method_name(p[k].method),
				   (unsigned long)(p[k].start - o->base),
				   (unsigned long)(p[k].end - o->base));
	}
}

/*
 * Where fixup.c sends a thread found at an int3 of window p: every original boundary of the
 * window past its jump (those inside the jump cannot be reached: plan.c).
 */
static size_t
window_fixups(const struct si_analysis *a, const struct si_patch *p, const uint64_t *moved_to,
	      struct si_fixup *out)
{
	size_t n = 0;
	if (p->method != SI_PATCH_JMP_WINDOW)
		return 0;	/* a padding patch replaces exactly the syscall */
	for (size_t i = p->first + 1; i < p->last; i++)
		if (a->insns[i].addr >= p->start + 5)
			out[n++] = (struct si_fixup){ a->insns[i].addr, moved_to[i - p->first] };
	return n;
}

static void
patch_segment(struct si_object *o, int seg, const uint64_t *starts, size_t n_starts, bool threads)
{
	struct si_code code = {
		.bytes = (const uint8_t *)o->text[seg].start,
		.addr = o->text[seg].start,
		.len = o->text[seg].end - o->text[seg].start,
		.sparse = true,
		.eh = &o->eh,
	};
	struct si_analysis a;
	struct si_patch *p = NULL;
	bool cached = si_plan_cache_load(o, &code, starts, n_starts, &a, &p, threads);
	if (!cached && (si_analyse(&code, starts, n_starts, &a) != 0 || a.n_syscalls == 0)) {
		si_analysis_free(&a);
		return;
	}
	if (!cached && (p = calloc(a.n_syscalls, sizeof(*p))) != NULL) {
		si_plan(&a, p, threads);
#ifndef NDEBUG
		/* The planner keeps the rule the plan cache holds plans read back to. */
		const char *why;
		size_t bad;
		if (!si_plan_valid(&a, p, a.n_syscalls, threads, &why, &bad)) {
			si_dprintf(2, "syscall_intercept: %s: invalid plan, site %zu: %s\n", o->path,
				   bad, why);
			si_fatal("the planner broke the plan rule (si_plan_valid)");
		}
#endif
		si_plan_cache_store(o, code.addr, code.addr + code.len, &a, p, threads);
	}
	struct si_write *w = calloc(a.n_syscalls * 2, sizeof(*w));
	size_t *write_site = calloc(a.n_syscalls * 2, sizeof(*write_site));
	bool *done = calloc(a.n_syscalls * 2, sizeof(*done));
	/* A window holds at most SI_MAX_WINDOW_INSNS instructions (si_plan_valid). */
	struct si_fixup *fix = calloc(a.n_syscalls * SI_MAX_WINDOW_INSNS, sizeof(*fix));
	size_t n_fix = 0;
	uint8_t *area = NULL;
	size_t area_size = 16 + a.n_syscalls * SI_MAX_TRAMPOLINE_LEN;
	if (p && w && write_site && done && fix)
		area = si_map_near(code.addr, code.addr + code.len, area_size);
	if (!area) {
		for (size_t k = 0; p && k < a.n_syscalls; k++)
			if (p[k].method != SI_PATCH_NONE) {
				p[k].method = SI_PATCH_NONE;
				p[k].reason = "no memory for trampolines within 2 GiB";
			}
		goto done;
	}

	uint64_t slot = (uint64_t)area;
	memcpy(area, si_entry, sizeof(si_entry));	/* the slots trampolines call through */
	size_t used = 16, n_w = 0;
	struct si_unwind unwind;
	si_unwind_init(&unwind);
	for (size_t k = 0; k < a.n_syscalls; k++) {
		if (p[k].method == SI_PATCH_NONE)
			continue;
		uint64_t moved_to[SI_MAX_WINDOW_INSNS];
		size_t len = si_emit_trampoline(&a, &p[k], o, slot, area + used, (uint64_t)area + used,
						moved_to);
		if (len == 0) {
			p[k].method = SI_PATCH_NONE;
			p[k].reason = "an instruction next to it cannot be relocated";
			continue;
		}
		/* Trampoline layout (emit.c): ... lea -128 (5), lea r11 (7), call (6), after_call. */
		uint64_t code = (uint64_t)area + used;
		struct si_site site;
		memcpy(&site, area + used + len - sizeof(site), sizeof(site));
		uint32_t rsp_changes[3] = {	/* RSP -128, back, -128 again in the vfork stub */
			(uint32_t)(site.after_call - 13 - code), (uint32_t)(site.resume - code),
			(uint32_t)(site.vfork_stub + 7 - code) };
		si_unwind_add(&unwind, o, p[k].start, code, rsp_changes, 3, len - sizeof(site));
		n_fix += window_fixups(&a, &p[k], moved_to, fix + n_fix);
		write_site[n_w] = k;
		struct si_write *win = &w[n_w++];
		uint8_t pad[5];
		win->addr = p[k].start;
		win->len = (uint8_t)(p[k].end - p[k].start);
		si_emit_window(&p[k], (uint64_t)area + used, win->bytes, pad);
		if (p[k].method == SI_PATCH_JMP_PADDING) {
			write_site[n_w] = k;
			struct si_write *pw = &w[n_w++];
			pw->addr = p[k].pad_addr;
			pw->len = 5;
			memcpy(pw->bytes, pad, 5);
		}
		used = (used + len + 15) & ~(size_t)15;
	}
	si_unwind_register(&unwind);
	/* Protocol steps 1 and 2 (activate.c): fixups published, trampolines executable. */
	if (mprotect(area, area_size, PROT_READ | PROT_EXEC) == 0 &&
	    (!threads || si_fixup_add(fix, n_fix)))
		si_activate(w, n_w, o->text[seg].prot, done);
	for (size_t j = 0; j < n_w; j++)
		if (!done[j]) {
			p[write_site[j]].method = SI_PATCH_NONE;
			p[write_site[j]].reason = "the patched pages could not be put in place";
		}
done:
	if (p)
		report(o, &a, p);
	free(p);
	free(w);
	free(write_site);
	free(done);
	free(fix);
	si_analysis_free(&a);
}

static long
elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000 + (b->tv_nsec - a->tv_nsec) / 1000;
}

void
si_patch_object(struct si_object *o, bool threads)
{
	struct timespec t0, t1, t2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t *starts = NULL;
	size_t n_starts = si_read_object(o, &starts);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int seg = 0; seg < o->n_text; seg++)
		patch_segment(o, seg, starts, n_starts, threads);
	free(starts);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (si_debug_level >= 1)
		si_dprintf(2, "syscall_intercept: patched %s%s: %zu sites, %zu jmp-window, "
			   "%zu jmp-padding, %zu unpatched\n", o->path,
			   threads ? " (other threads running)" : "", o->n_sites, o->n_window,
			   o->n_padding, o->n_unpatched);
	if (si_debug_level >= 2)
		si_dprintf(2, "syscall_intercept: time %s: %ld us (%ld us reading symbols)\n",
			   o->path, elapsed_us(&t0, &t2), elapsed_us(&t0, &t1));
}

void
si_choose_entry(bool no_vectors)
{
	unsigned a, b, c, d;
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		si_have_sahf = (c & bit_LAHF_LM) != 0;
	choose_entry(no_vectors);
}
