/*
 * primitives.c -- `si-bench primitives`: what the instructions an entry path may use cost on
 * this machine (saving and restoring vector registers by moves or by XSAVE-family
 * instructions, XGETBV(1), MXCSR and x87 control word, RFLAGS), so that the choice in
 * src/entry.S can be made from numbers measured here rather than on another CPU.  Each line is
 * "<name>\t<min ns per iteration>".  It must never run an instruction the CPU or the kernel has
 * not enabled (checked with CPUID and XCR0 first), and every sequence leaves the registers as
 * it found them.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <cpuid.h>
#include <stdio.h>

static char area[4096] __attribute__((aligned(64)));

#define MEASURE(name, ...)                                                     \
	do {                                                                   \
		double best = 1e30;                                            \
		const long n = 20000;                                          \
		for (int r = 0; r < 60; r++) {                                 \
			uint64_t t0 = now_ns();                                \
			for (long i = 0; i < n; i++) {                         \
				__VA_ARGS__;                                   \
			}                                                      \
			double per = (double)(now_ns() - t0) / (double)n;      \
			if (per < best)                                        \
				best = per;                                    \
		}                                                              \
		printf("%s\t%.1f\n", name, best);                              \
	} while (0)

static uint64_t
xcr0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

int
primitives_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	unsigned a, b, c, d;
	bool osxsave = false, avx = false, avx512 = false, xsavec = false, xgetbv1 = false;
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE)) {
		osxsave = true;
		uint64_t x = xcr0();
		avx = (c & bit_AVX) && (x & 6) == 6;
		if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
			avx512 = avx && (b & bit_AVX512F) && (b & bit_AVX512BW) &&
				 (x & 0xe0) == 0xe0;
		if (__get_cpuid_count(0xd, 1, &a, &b, &c, &d)) {
			xsavec = a & 2;
			xgetbv1 = a & 4;
		}
	}
	MEASURE("loop overhead", __asm__ volatile("" ::: "memory"));
	MEASURE("16 xmm: movaps save + restore", __asm__ volatile(
		".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n movaps %%xmm\\r, \\r*16(%0)\n .endr\n"
		".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n movaps \\r*16(%0), %%xmm\\r\n .endr\n"
		:: "r"(area) : "memory"));
	if (avx)
		MEASURE("16 ymm: vmovdqa save + restore", __asm__ volatile(
			".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
			" vmovdqa %%ymm\\r, \\r*32(%0)\n .endr\n"
			".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
			" vmovdqa \\r*32(%0), %%ymm\\r\n .endr\n"
			:: "r"(area) : "memory"));
	if (avx512)
		MEASURE("32 zmm + 8 k: vmovdqa64/kmovq save + restore", __asm__ volatile(
			".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,"
			"26,27,28,29,30,31\n vmovdqa64 %%zmm\\r, \\r*64(%0)\n .endr\n"
			".irp r,0,1,2,3,4,5,6,7\n kmovq %%k\\r, 2048+\\r*8(%0)\n .endr\n"
			".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,"
			"26,27,28,29,30,31\n vmovdqa64 \\r*64(%0), %%zmm\\r\n .endr\n"
			".irp r,0,1,2,3,4,5,6,7\n kmovq 2048+\\r*8(%0), %%k\\r\n .endr\n"
			:: "r"(area) : "memory"));
	MEASURE("fxsave + fxrstor", __asm__ volatile("fxsave (%0)\n fxrstor (%0)"
						      :: "r"(area) : "memory"));
	if (osxsave && xsavec) {
		uint32_t mask = (uint32_t)xcr0() & (avx512 ? 0xe7 : avx ? 0x7 : 0x3);
		MEASURE("xsavec + xrstor (all enabled x87/SSE/AVX/AVX-512)",
			__asm__ volatile("xsavec (%0)\n xrstor (%0)"
					 :: "r"(area), "a"(mask), "d"(0) : "memory"));
	}
	if (xgetbv1)
		MEASURE("xgetbv(1) (XINUSE)", {
			uint32_t lo, hi;
			__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
		});
	MEASURE("stmxcsr", {
		uint32_t m;
		__asm__ volatile("stmxcsr %0" : "=m"(m));
	});
	MEASURE("stmxcsr + ldmxcsr", {
		uint32_t m;
		__asm__ volatile("stmxcsr %0\n ldmxcsr %0" : "+m"(m));
	});
	MEASURE("fnstcw + fldcw", {
		uint16_t m;
		__asm__ volatile("fnstcw %0\n fldcw %0" : "+m"(m));
	});
	/* Below the red zone: this function's own locals may live there. */
	MEASURE("pushfq + popfq", __asm__ volatile("lea -128(%%rsp), %%rsp\n pushfq\n popfq\n"
						    "lea 128(%%rsp), %%rsp" ::: "memory", "cc"));
	MEASURE("rdtsc", {
		uint32_t lo, hi;
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	});
	return 0;
}
