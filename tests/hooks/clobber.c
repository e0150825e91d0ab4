/*
 * clobber.so -- passes every syscall on, but first destroys every piece of register state a
 * C function is allowed to destroy (all vector registers the CPU has, mask registers, the
 * caller-saved general registers) and also MXCSR and the x87 control word, which a hook should
 * not change but might.  A program whose registers survive a syscall under this hook shows that
 * the library preserves them.  It must never run instructions the CPU lacks.
 */
#include <libsyscall_intercept_hook_point.h>
#include <cpuid.h>
#include <stdint.h>

static int has_avx, has_avx512;

static uint64_t
xcr0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static void
detect(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return;
	uint64_t x = xcr0();
	has_avx = (c & bit_AVX) && (x & 6) == 6;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
		has_avx512 = has_avx && (b & bit_AVX512F) && (x & 0xe0) == 0xe0;
}

__attribute__((noinline)) static void
clobber_sse(void)
{
	__asm__ volatile(
		"pcmpeqd %%xmm0, %%xmm0\n"
		"movdqa %%xmm0, %%xmm1\n movdqa %%xmm0, %%xmm2\n movdqa %%xmm0, %%xmm3\n"
		"movdqa %%xmm0, %%xmm4\n movdqa %%xmm0, %%xmm5\n movdqa %%xmm0, %%xmm6\n"
		"movdqa %%xmm0, %%xmm7\n movdqa %%xmm0, %%xmm8\n movdqa %%xmm0, %%xmm9\n"
		"movdqa %%xmm0, %%xmm10\n movdqa %%xmm0, %%xmm11\n movdqa %%xmm0, %%xmm12\n"
		"movdqa %%xmm0, %%xmm13\n movdqa %%xmm0, %%xmm14\n movdqa %%xmm0, %%xmm15\n"
		::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
		"xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

__attribute__((noinline, target("avx2"))) static void
clobber_avx(void)
{
	__asm__ volatile(
		"vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n"
		"vmovdqa %%ymm0, %%ymm1\n vmovdqa %%ymm0, %%ymm2\n vmovdqa %%ymm0, %%ymm3\n"
		"vmovdqa %%ymm0, %%ymm4\n vmovdqa %%ymm0, %%ymm5\n vmovdqa %%ymm0, %%ymm6\n"
		"vmovdqa %%ymm0, %%ymm7\n vmovdqa %%ymm0, %%ymm8\n vmovdqa %%ymm0, %%ymm9\n"
		"vmovdqa %%ymm0, %%ymm10\n vmovdqa %%ymm0, %%ymm11\n vmovdqa %%ymm0, %%ymm12\n"
		"vmovdqa %%ymm0, %%ymm13\n vmovdqa %%ymm0, %%ymm14\n vmovdqa %%ymm0, %%ymm15\n"
		::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
		"xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

__attribute__((noinline, target("avx512f"))) static void
clobber_avx512(void)
{
	__asm__ volatile(
		"vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n"
		".irp r,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
		"vmovdqa64 %%zmm0, %%zmm\\r\n"
		".endr\n"
		"kxnorw %%k0, %%k0, %%k0\n"
		".irp r,1,2,3,4,5,6,7\n kxnorw %%k0, %%k0, %%k\\r\n .endr\n"
		::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
		"xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
		"xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
		"xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

static int
clobber(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)nr; (void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)result;
	clobber_sse();
	if (has_avx)
		clobber_avx();
	if (has_avx512)
		clobber_avx512();
	/* Round toward zero, all exceptions unmasked; x87 single precision, round up. */
	uint32_t mxcsr = 0x6000;
	uint16_t fcw = 0x0840;
	__asm__ volatile("ldmxcsr %0\n fldcw %1" :: "m"(mxcsr), "m"(fcw));
	/* The general registers a C function may destroy. */
	__asm__ volatile("mov $-1, %%rdi\n mov $-1, %%rsi\n mov $-1, %%rdx\n mov $-1, %%rcx\n"
			 "mov $-1, %%r8\n mov $-1, %%r9\n mov $-1, %%r10\n mov $-1, %%r11\n"
			 ::: "rdi", "rsi", "rdx", "rcx", "r8", "r9", "r10", "r11");
	return 1;
}

static void clobber_child(void) { clobber(0, 0, 0, 0, 0, 0, 0, 0); }
static void clobber_parent(long pid) { (void)pid; clobber(0, 0, 0, 0, 0, 0, 0, 0); }
static void
clobber_post(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long r)
{
	(void)r;
	clobber(nr, a0, a1, a2, a3, a4, a5, 0);
}

static __attribute__((constructor)) void
install(void)
{
	detect();
	intercept_hook_point = clobber;
	intercept_hook_point_clone_child = clobber_child;
	intercept_hook_point_clone_parent = clobber_parent;
	intercept_hook_point_post_kernel = clobber_post;
}
