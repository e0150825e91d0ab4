/*
 * regclobber_hook.c -- for the register-state test: a hook that answers getppid itself (with
 * REGCLOBBER_PPID, never asking the kernel) and passes everything else on, and that first
 * destroys all state a C function may destroy: every vector register the CPU has (xmm/ymm/zmm,
 * k masks), the caller-saved general registers, and also MXCSR and the x87 control word.  It
 * covers the path where the hook answers, which clobber.so (always pass-through) does not.  It
 * must never run an instruction the CPU or the OS (XCR0) does not enable.
 */
#include <libsyscall_intercept_hook_point.h>
#include <cpuid.h>
#include <stdint.h>
#include <sys/syscall.h>

#define REGCLOBBER_PPID 4242

static int level;	/* 0 sse, 1 avx, 2 avx512 */

__attribute__((noinline)) static void
wipe_sse(void)
{
	__asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n"
			 ".irp r,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
			 "movdqa %%xmm0, %%xmm\\r\n"
			 ".endr\n"
			 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			 "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

__attribute__((noinline, target("avx"))) static void
wipe_avx(void)
{
	__asm__ volatile("vpcmpeqd %%xmm0, %%xmm0, %%xmm0\n"
			 "vinsertf128 $1, %%xmm0, %%ymm0, %%ymm0\n"
			 ".irp r,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
			 "vmovdqa %%ymm0, %%ymm\\r\n"
			 ".endr\n"
			 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			 "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

__attribute__((noinline, target("avx512f,avx512bw"))) static void
wipe_avx512(void)
{
	__asm__ volatile("vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\n"
			 ".irp r,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
			 "vmovdqa64 %%zmm0, %%zmm\\r\n"
			 ".endr\n"
			 ".irp r,0,1,2,3,4,5,6,7\n"
			 "kxorq %%k\\r, %%k\\r, %%k\\r\n"
			 ".endr\n"
			 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			 "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
			 "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
			 "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5;
	wipe_sse();
	if (level >= 1)
		wipe_avx();
	if (level >= 2)
		wipe_avx512();
	uint32_t mxcsr = 0x7f80;	/* flush to zero off, round toward zero */
	uint16_t fcw = 0x0c7f;		/* x87 round toward zero, single precision */
	__asm__ volatile("ldmxcsr %0\n fldcw %1" :: "m"(mxcsr), "m"(fcw));
	__asm__ volatile("xor %%edi, %%edi\n xor %%esi, %%esi\n xor %%edx, %%edx\n"
			 "xor %%ecx, %%ecx\n xor %%r8d, %%r8d\n xor %%r9d, %%r9d\n"
			 "xor %%r10d, %%r10d\n xor %%r11d, %%r11d\n"
			 ::: "rdi", "rsi", "rdx", "rcx", "r8", "r9", "r10", "r11", "cc");
	if (nr == SYS_getppid) {
		*result = REGCLOBBER_PPID;
		return 0;
	}
	return 1;
}

static __attribute__((constructor)) void
init(void)
{
	unsigned a, b, c, d;
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) && (c & bit_AVX)) {
		uint32_t lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		if ((lo & 6) == 6) {
			level = 1;
			if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX512F) &&
			    (b & bit_AVX512BW) && (lo & 0xe0) == 0xe0)
				level = 2;
		}
	}
	intercept_hook_point = hook;
}
