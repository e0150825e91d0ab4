/*
 * regstate.c -- the register-state test.  regstate_asm.S calls libc's getppid and getuid (each
 * a `mov eax, N; syscall; ret` that touches nothing but rax, rcx and r11) with distinct values
 * in every general register but rax/rcx/r11, in every vector register the CPU and XCR0 enable
 * (xmm0-15; ymm0-15; zmm0-31 and k0-7), a non-default MXCSR and x87 control word, status flags,
 * and a pattern in the 128-byte red zone below the site's RSP, at all 16 RSP alignments.  After
 * the call every one of them must be unchanged and RAX must hold the syscall's result.
 *   regstate native      natively: the checker passes; prints the offset of `syscall` in getppid
 *   regstate patched K   under the library (e.g. clobber.so): getppid's `syscall` at offset K
 *                        must be patched, and every check must still pass
 *   regstate selftest    natively, stand-ins that break one piece of state each must be caught
 * It must never skip a vector level the machine has, nor run one it lacks.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rs_state {
	uint64_t gpr[16];	/* by hardware number: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
	uint64_t flags;
	uint32_t mxcsr;
	uint16_t fcw;
	uint16_t pad0;
	uint64_t k[8];
	uint64_t redzone[16];
	uint8_t pad1[48];
	uint8_t vec[32][64];
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct rs_state, flags) == 128, "RS_FLAGS");
_Static_assert(offsetof(struct rs_state, mxcsr) == 136, "RS_MXCSR");
_Static_assert(offsetof(struct rs_state, fcw) == 140, "RS_FCW");
_Static_assert(offsetof(struct rs_state, k) == 144, "RS_K");
_Static_assert(offsetof(struct rs_state, redzone) == 208, "RS_REDZONE");
_Static_assert(offsetof(struct rs_state, vec) == 384, "RS_VEC");

/* Shared with regstate_asm.S */
struct rs_state rs_expected, rs_actual;
void *rs_target;
long rs_misalign;
void rs_run_sse(void);
void rs_run_avx(void);
void rs_run_avx512(void);
void rs_evil_gpr(void), rs_evil_rdi(void), rs_evil_xmm(void), rs_evil_ymm_upper(void),
	rs_evil_zmm31(void), rs_evil_k(void), rs_evil_mxcsr(void), rs_evil_fcw(void),
	rs_evil_redzone(void), rs_evil_flags(void);

enum { SSE, AVX, AVX512 };
static const char *level_name[] = { "sse (xmm0-15)", "avx (ymm0-15)", "avx512 (zmm0-31, k0-7)" };
static void (*const runner[])(void) = { rs_run_sse, rs_run_avx, rs_run_avx512 };
static const int vec_regs[] = { 16, 16, 32 }, vec_bytes[] = { 16, 32, 64 };

/* CF PF AF ZF SF OF: what the kernel hands back unchanged */
#define STATUS_FLAGS 0x8d5UL
static const char *gpr_name[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
				    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

static int
max_level(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX))
		return SSE;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	uint64_t xcr0 = ((uint64_t)hi << 32) | lo;
	if ((xcr0 & 6) != 6)
		return SSE;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return AVX;
	/* kmovq needs AVX512BW; every AVX-512 CPU but the Xeon Phi has it */
	if ((b & bit_AVX512F) && (b & bit_AVX512BW) && (xcr0 & 0xe0) == 0xe0)
		return AVX512;
	return AVX;
}

static void
fill_expected(unsigned seed)
{
	memset(&rs_expected, 0, sizeof(rs_expected));
	for (int i = 0; i < 16; i++)
		rs_expected.gpr[i] = 0x0123456789abcdefULL ^ (0x1010101010101010ULL * (i + 1)) ^
				     ((uint64_t)seed << 40) ^ (uint64_t)i;
	rs_expected.flags = 0x2 | STATUS_FLAGS;	/* bit 1 is always set; DF and TF clear */
	rs_expected.mxcsr = 0x5f80;		/* round up, exceptions masked */
	rs_expected.fcw = 0x0b7f;		/* x87 extended precision, round up */
	for (int i = 0; i < 8; i++)
		rs_expected.k[i] = 0xfedcba9876543210ULL ^ (0x0101010101010101ULL * (i + 3)) ^ seed;
	for (int i = 0; i < 16; i++)
		rs_expected.redzone[i] = 0xaaaa000000000000ULL | ((uint64_t)seed << 16) | (uint64_t)i;
	for (int r = 0; r < 32; r++)
		for (int j = 0; j < 64; j++)
			rs_expected.vec[r][j] = (uint8_t)((r * 64 + j) * 7 + 0x11 + seed);
}

/* Runs target once at `level` and `misalign`; returns the number of differences (printed
 * when `verbose`). */
static int
run_once(void *target, long want_rax, int level, long misalign, int verbose)
{
	fill_expected((unsigned)misalign * 3 + (unsigned)level);
	memset(&rs_actual, 0x5a, sizeof(rs_actual));
	rs_target = target;
	rs_misalign = misalign;
	runner[level]();

	int diffs = 0;
#define DIFF(...) do { diffs++; if (verbose) { printf("    "); printf(__VA_ARGS__); printf("\n"); } } while (0)
	if ((long)rs_actual.gpr[0] != want_rax)
		DIFF("rax = %ld, expected the syscall result %ld", (long)rs_actual.gpr[0], want_rax);
	for (int i = 2; i < 16; i++) {
		if (i == 11)
			continue;
		if (rs_actual.gpr[i] != rs_expected.gpr[i])
			DIFF("%s = %#llx, expected %#llx", gpr_name[i],
			     (unsigned long long)rs_actual.gpr[i], (unsigned long long)rs_expected.gpr[i]);
	}
	if ((rs_actual.flags & STATUS_FLAGS) != (rs_expected.flags & STATUS_FLAGS))
		DIFF("rflags = %#llx, expected status flags %#lx", (unsigned long long)rs_actual.flags,
		     (unsigned long)(rs_expected.flags & STATUS_FLAGS));
	if (rs_actual.mxcsr != rs_expected.mxcsr)
		DIFF("mxcsr = %#x, expected %#x", rs_actual.mxcsr, rs_expected.mxcsr);
	if (rs_actual.fcw != rs_expected.fcw)
		DIFF("x87 control word = %#x, expected %#x", rs_actual.fcw, rs_expected.fcw);
	for (int i = 0; i < 16; i++)
		if (rs_actual.redzone[i] != rs_expected.redzone[i])
			DIFF("red zone word at site rsp-%d = %#llx, expected %#llx", 128 - 8 * i,
			     (unsigned long long)rs_actual.redzone[i],
			     (unsigned long long)rs_expected.redzone[i]);
	static const char prefix[] = { 'x', 'y', 'z' };
	for (int r = 0; r < vec_regs[level]; r++)
		for (int j = 0; j < vec_bytes[level]; j++)
			if (rs_actual.vec[r][j] != rs_expected.vec[r][j]) {
				DIFF("%cmm%d byte %d = %#x, expected %#x (first differing byte)",
				     prefix[level], r, j, rs_actual.vec[r][j], rs_expected.vec[r][j]);
				break;
			}
	if (level == AVX512)
		for (int i = 0; i < 8; i++)
			if (rs_actual.k[i] != rs_expected.k[i])
				DIFF("k%d = %#llx, expected %#llx", i, (unsigned long long)rs_actual.k[i],
				     (unsigned long long)rs_expected.k[i]);
	return diffs;
}

/* All levels and alignments for one target; returns the number of failing runs. */
static int
check_target(const char *name, void *target, long want_rax, int top)
{
	int failed = 0;
	for (int level = SSE; level <= top; level++) {
		int bad = 0;
		for (long m = 0; m < 16; m++) {
			int d = run_once(target, want_rax, level, m, 0);
			if (d) {
				printf("  FAIL %s, %s, site rsp %% 16 = %ld: %d differences\n", name,
				       level_name[level], (8 - m + 16) % 16, d);
				run_once(target, want_rax, level, m, 1);
				bad++;
			}
		}
		printf("%s %s: %s at all 16 rsp alignments\n", bad ? "FAIL" : "ok  ", name,
		       level_name[level]);
		failed += bad;
	}
	return failed;
}

static int
find_syscall(const void *fn)
{
	const unsigned char *p = fn;
	for (int i = 0; i < 15; i++)
		if (p[i] == 0x0f && p[i + 1] == 0x05)
			return i;
	return -1;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	void *gpp = dlsym(RTLD_DEFAULT, "getppid");
	void *guid = dlsym(RTLD_DEFAULT, "getuid");
	if (!gpp || !guid) {
		printf("FAIL: getppid/getuid not found\n");
		return 1;
	}
	int top = max_level();
	printf("vector level: %s\n", level_name[top]);
	long ppid = getppid(), uid = getuid();

	if (argc == 2 && strcmp(argv[1], "native") == 0) {
		int k = find_syscall(gpp);
		if (k < 0) {
			printf("FAIL: no syscall instruction in getppid's first bytes\n");
			return 1;
		}
		int fails = check_target("getppid", gpp, ppid, top) +
			    check_target("getuid", guid, uid, top);
		printf("syscall-offset %d\n", k);
		printf("%s\n", fails ? "FAIL" : "PASS");
		return fails ? 1 : 0;
	}
	if (argc == 3 && strcmp(argv[1], "patched") == 0) {
		int k = atoi(argv[2]);
		const unsigned char *p = (const unsigned char *)gpp + k;
		if (p[0] == 0x0f && p[1] == 0x05) {
			printf("FAIL: getppid's syscall at +%d is not patched (is the library loaded?)\n", k);
			return 1;
		}
		printf("getppid's syscall at +%d is patched (%02x %02x)\n", k, p[0], p[1]);
		printf("getppid() = %ld\n", ppid);
		int fails = check_target("getppid", gpp, ppid, top) +
			    check_target("getuid", guid, uid, top);
		printf("%s\n", fails ? "FAIL" : "PASS");
		return fails ? 1 : 0;
	}
	if (argc == 2 && strcmp(argv[1], "selftest") == 0) {
		struct { const char *what; void (*fn)(void); int min_level; } evil[] = {
			{ "r13 changed", rs_evil_gpr, SSE },
			{ "rdi changed", rs_evil_rdi, SSE },
			{ "xmm6 changed", rs_evil_xmm, SSE },
			{ "upper half of ymm3 changed", rs_evil_ymm_upper, AVX },
			{ "zmm31 changed", rs_evil_zmm31, AVX512 },
			{ "k5 changed", rs_evil_k, AVX512 },
			{ "mxcsr changed", rs_evil_mxcsr, SSE },
			{ "x87 control word changed", rs_evil_fcw, SSE },
			{ "red zone written", rs_evil_redzone, SSE },
			{ "carry flag changed", rs_evil_flags, SSE },
		};
		int missed = 0;
		for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++)
			for (int level = evil[i].min_level; level <= top; level++) {
				for (long m = 0; m < 16; m += 7) {
					int d = run_once((void *)evil[i].fn, ppid, level, m, 0);
					if (d == 0) {
						printf("FAIL: %s not detected at %s\n", evil[i].what,
						       level_name[level]);
						missed++;
					}
				}
				printf("ok   detected: %s at %s\n", evil[i].what, level_name[level]);
			}
		/* and the honest target passes */
		int fails = check_target("getppid", gpp, ppid, top);
		printf("%s\n", missed || fails ? "FAIL" : "PASS");
		return missed || fails ? 1 : 0;
	}
	fprintf(stderr, "usage: regstate native | patched K | selftest\n");
	return 2;
}
