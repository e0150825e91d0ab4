/*
 * exh_regs.c -- the register-state test for sites outside libc.  exh_regs.S calls a site
 * (`mov eax,110; syscall; ret`) with a known value in every register the kernel preserves across
 * `syscall` and a pattern in the 128-byte red zone, at every RSP alignment (so the syscall runs
 * with RSP % 16 = 0, 8 and everything between), at every vector level the CPU and XCR0 enable
 * (xmm0-15; ymm0-15; zmm0-31 + k0-7), with a non-default MXCSR, x87 control word and flags;
 * afterwards all of it must be unchanged and RAX must be getppid's result.
 *   exh_regs site patched|unpatched   the site in this executable's text, which must (not) have
 *                                     been rewritten (checked on its bytes)
 *   exh_regs jit                      a generated-code copy of the same bytes
 *   exh_regs selftest                 every saboteur of xr_evil_table must be caught, each as
 *                                     exactly one difference, and the honest site must pass
 * Stdout is the same natively and under the library (states, not values, are printed); the
 * line "calls N" says how many times a target ran (one getppid each; plus one from libc at
 * start).  It must never run a vector instruction the machine lacks, nor skip a level it has.
 */
#define _GNU_SOURCE
#include "exh_jit.h"

#include <cpuid.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct xr_state {
	uint8_t vec[32][64];
	uint64_t gpr[16];	/* hardware order: rax rcx rdx rbx rsp rbp rsi rdi r8 .. r15 */
	uint64_t flags;
	uint32_t mxcsr;
	uint16_t fcw;
	uint16_t pad;
	uint64_t k[8];
	uint64_t red[16];	/* red[0] is at site RSP - 128 */
} __attribute__((aligned(64)));
_Static_assert(offsetof(struct xr_state, gpr) == 2048, "XR_GPR");
_Static_assert(offsetof(struct xr_state, flags) == 2176, "XR_FLAGS");
_Static_assert(offsetof(struct xr_state, mxcsr) == 2184, "XR_MXCSR");
_Static_assert(offsetof(struct xr_state, fcw) == 2188, "XR_FCW");
_Static_assert(offsetof(struct xr_state, k) == 2192, "XR_K");
_Static_assert(offsetof(struct xr_state, red) == 2256, "XR_RED");

/* Shared with exh_regs.S */
struct xr_state xr_in, xr_out;
void *xr_target;
long xr_misalign, xr_level;
uint64_t xr_rsp_before;
void xr_run(void);
void xr_site(void);
extern const uint8_t xr_site_tmpl[], xr_site_tmpl_end[];
struct xr_evil { void *fn; const char *what; long level; };
extern const struct xr_evil xr_evil_table[];

enum { SSE, AVX, AVX512 };
static const char *const level_name[] = { "xmm0-15", "ymm0-15", "zmm0-31 and k0-7" };
static const int vec_count[] = { 16, 16, 32 }, vec_size[] = { 16, 32, 64 };
static const char *const gpr_name[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					  "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
/* CF PF AF ZF SF OF and DF: what the kernel gives back as it found them */
#define CHECKED_FLAGS 0xcd5ull

static int
top_level(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX))
		return SSE;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	uint64_t xcr0 = ((uint64_t)hi << 32) | lo;
	if ((xcr0 & 0x6) != 0x6)
		return SSE;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return AVX;
	/* opmask state, upper zmm0-15, zmm16-31 enabled; kmovq needs AVX512BW */
	if ((b & bit_AVX512F) && (b & bit_AVX512BW) && (xcr0 & 0xe0) == 0xe0)
		return AVX512;
	return AVX;
}

static void
fill_input(unsigned seed)
{
	static const uint64_t flag_sets[] = { 0x8d5, 0x441, 0x000, 0x4d4 };
	static const uint32_t mxcsr_sets[] = { 0x5f80, 0x3fa0, 0xff80, 0x1fc0 };
	static const uint16_t fcw_sets[] = { 0x0b7f, 0x077f, 0x027f, 0x0f7f };
	memset(&xr_in, 0, sizeof(xr_in));
	for (int r = 0; r < 32; r++)
		for (int j = 0; j < 64; j++)
			xr_in.vec[r][j] = (uint8_t)(r * 64 + j * 13 + seed * 5 + 1);
	for (int i = 0; i < 16; i++)
		xr_in.gpr[i] = 0x1122334455667788ull * (uint64_t)(i + 1) + ((uint64_t)seed << 48);
	xr_in.flags = 0x2 | flag_sets[seed % 4];
	xr_in.mxcsr = mxcsr_sets[seed % 4];
	xr_in.fcw = fcw_sets[(seed / 4) % 4];
	for (int i = 0; i < 8; i++)
		xr_in.k[i] = 0x8000000000000001ull | ((uint64_t)(i + 1) << 20) | ((uint64_t)seed << 4);
	for (int i = 0; i < 16; i++)
		xr_in.red[i] = 0xbeef000000000000ull | ((uint64_t)seed << 16) | (uint64_t)i;
}

static long calls;

/* One call of target; returns the number of differing items, describing up to `show`. */
static int
run_once(void *target, int level, long misalign, long want_rax, int show)
{
	fill_input((unsigned)(level * 16 + misalign));
	memset(&xr_out, 0xa5, sizeof(xr_out));
	xr_target = target;
	xr_level = level;
	xr_misalign = misalign;
	xr_run();
	calls++;

	int n = 0;
#define DIFF(...) do { if (n++ < show) { printf("      "); printf(__VA_ARGS__); printf("\n"); } } while (0)
	if ((long)xr_out.gpr[0] != want_rax)
		DIFF("rax = %#llx, not the syscall's result %#lx",
		     (unsigned long long)xr_out.gpr[0], (unsigned long)want_rax);
	for (int i = 2; i < 16; i++) {
		if (i == 4 || i == 11)
			continue;
		if (xr_out.gpr[i] != xr_in.gpr[i])
			DIFF("%s = %#llx, was %#llx", gpr_name[i], (unsigned long long)xr_out.gpr[i],
			     (unsigned long long)xr_in.gpr[i]);
	}
	if (xr_out.gpr[4] != xr_rsp_before)
		DIFF("rsp = %#llx, was %#llx", (unsigned long long)xr_out.gpr[4],
		     (unsigned long long)xr_rsp_before);
	if ((xr_out.flags ^ xr_in.flags) & CHECKED_FLAGS)
		DIFF("rflags = %#llx, was %#llx (compared: %#llx)", (unsigned long long)xr_out.flags,
		     (unsigned long long)xr_in.flags, CHECKED_FLAGS);
	if (xr_out.mxcsr != xr_in.mxcsr)
		DIFF("mxcsr = %#x, was %#x", xr_out.mxcsr, xr_in.mxcsr);
	if (xr_out.fcw != xr_in.fcw)
		DIFF("x87 control word = %#x, was %#x", xr_out.fcw, xr_in.fcw);
	for (int i = 0; i < 16; i++)
		if (xr_out.red[i] != xr_in.red[i])
			DIFF("red zone at site rsp-%d = %#llx, was %#llx", 128 - 8 * i,
			     (unsigned long long)xr_out.red[i], (unsigned long long)xr_in.red[i]);
	for (int r = 0; r < vec_count[level]; r++)
		for (int j = 0; j < vec_size[level]; j++)
			if (xr_out.vec[r][j] != xr_in.vec[r][j]) {
				DIFF("%cmm%d byte %d = %#x, was %#x (first differing byte)",
				     "xyz"[level], r, j, xr_out.vec[r][j], xr_in.vec[r][j]);
				break;
			}
	if (level == AVX512)
		for (int i = 0; i < 8; i++)
			if (xr_out.k[i] != xr_in.k[i])
				DIFF("k%d = %#llx, was %#llx", i, (unsigned long long)xr_out.k[i],
				     (unsigned long long)xr_in.k[i]);
#undef DIFF
	return n;
}

/* Every level up to top, every RSP alignment; returns the number of failing calls. */
static int
check(const char *name, void *target, long want_rax, int top)
{
	int failed = 0;
	for (int level = SSE; level <= top; level++) {
		int bad = 0;
		for (long m = 0; m < 16; m++) {
			/* xr_run's RSP is 64-aligned minus m; the site's is 8 below it */
			long site_mod = (16 - (m + 8) % 16) % 16;
			int d = run_once(target, level, m, want_rax, 0);
			if (d) {
				printf("  FAIL %s, %s, site rsp %% 16 = %ld: %d differences:\n", name,
				       level_name[level], site_mod, d);
				run_once(target, level, m, want_rax, 8);
				bad++;
			}
		}
		printf("%s %s: %s preserved at all 16 rsp alignments\n", bad ? "FAIL" : "ok  ",
		       name, level_name[level]);
		failed += bad;
	}
	return failed;
}

static int
site_state(int want_patched)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)&xr_site;
	int intact = p[5] == 0x0f && p[6] == 0x05;
	fprintf(stderr, "exh_regs: xr_site bytes %02x %02x %02x %02x %02x %02x %02x: %s\n", p[0],
		p[1], p[2], p[3], p[4], p[5], p[6], intact ? "original" : "rewritten");
	if (intact == !want_patched)
		return 0;
	printf("FAIL: the site in the executable is %s\n", intact ? "not patched" : "patched");
	return 1;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int top = top_level();
	long ppid = getppid();
	printf("vector level: %s\n", level_name[top]);
	int fails;

	if (argc == 3 && strcmp(argv[1], "site") == 0) {
		if (site_state(strcmp(argv[2], "patched") == 0))
			return 1;
		fails = check("executable site", (void *)(uintptr_t)&xr_site, ppid, top);
	} else if (argc == 2 && strcmp(argv[1], "jit") == 0) {
		void *copy = exh_jit_make(xr_site_tmpl, (size_t)(xr_site_tmpl_end - xr_site_tmpl));
		fails = check("generated-code site", copy, ppid, top);
	} else if (argc == 2 && strcmp(argv[1], "selftest") == 0) {
		fails = 0;
		int n = 0;
		for (const struct xr_evil *e = xr_evil_table; e->fn; e++) {
			for (int level = (int)e->level; level <= top; level++)
				for (long m = 0; m < 16; m += 5) {
					int d = run_once(e->fn, level, m, ppid, 0);
					if (d != 1) {
						printf("FAIL: \"%s\" at %s, misalignment %ld: %d "
						       "differences, expected exactly 1\n", e->what,
						       level_name[level], m, d);
						run_once(e->fn, level, m, ppid, 8);
						fails++;
					}
				}
			n++;
		}
		printf("%s: %d saboteurs, each caught as exactly one difference where the CPU "
		       "has its registers\n", fails ? "FAIL" : "ok  ", n);
		fails += check("executable site", (void *)(uintptr_t)&xr_site, ppid, top);
	} else {
		fprintf(stderr, "usage: exh_regs site patched|unpatched | jit | selftest\n");
		return 2;
	}
	printf("calls %ld\n", calls);
	printf("%s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
}
