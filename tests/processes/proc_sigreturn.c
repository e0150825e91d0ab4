/*
 * proc_sigreturn.c -- signal handlers must return (rt_sigreturn) to exactly the interrupted
 * state.  A 100 us interval timer delivers SIGALRM, whose handler makes syscalls through libc
 * and clobbers registers, while the main thread runs, in turn:
 *   1. an assembly loop holding canaries in all 15 general registers besides rsp, in xmm0-14
 *      (when the CPU has SSE4.1 for the check) and in the 128-byte red zone, checking them all
 *      on every iteration, until 3000 signals were handled;
 *   2. an assembly loop calling getppid() through libc with canaries in the callee-saved
 *      registers, checking them and the result after every call (signals then often arrive
 *      inside the library's code), for 3000 more signals;
 *   3. loop 1 again with the handler on an alternate signal stack (SA_ONSTACK).
 * Prints one deterministic line per phase and exits 0 when nothing changed.  Each phase gives up
 * after 30 s (reported as a failure).  It must never print counts that depend on timing, and the
 * assembly must never touch memory below rsp-128.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SIGNALS_PER_PHASE 3000
#define PHASE_LIMIT_NS (30L * 1000000000L)

/* Canaries for rax rbx rcx rdx rsi rdi rbp r8-r15 (the red zone reuses them). */
const long sr_canary[15] = {
	0x0a0a0a0a11111111, 0x0b0b0b0b22222222, 0x0c0c0c0c33333333, 0x0d0d0d0d44444444,
	0x0e0e0e0e55555555, 0x0f0f0f0f66666666, 0x1010101077777777, 0x1818181888888888,
	0x1919191999999999, 0x1a1a1a1aaaaaaaaa, 0x1b1b1b1bbbbbbbbb, 0x1c1c1c1ccccccccc,
	0x1d1d1d1ddddddddd, 0x1e1e1e1eeeeeeeee, 0x1f1f1f1f12345678,
};
__attribute__((aligned(16))) const long sr_xmm[16][2] = {
	{ 0x4000000000000001, 0x4100000000000001 }, { 0x4000000000000002, 0x4100000000000002 },
	{ 0x4000000000000003, 0x4100000000000003 }, { 0x4000000000000004, 0x4100000000000004 },
	{ 0x4000000000000005, 0x4100000000000005 }, { 0x4000000000000006, 0x4100000000000006 },
	{ 0x4000000000000007, 0x4100000000000007 }, { 0x4000000000000008, 0x4100000000000008 },
	{ 0x4000000000000009, 0x4100000000000009 }, { 0x400000000000000a, 0x410000000000000a },
	{ 0x400000000000000b, 0x410000000000000b }, { 0x400000000000000c, 0x410000000000000c },
	{ 0x400000000000000d, 0x410000000000000d }, { 0x400000000000000e, 0x410000000000000e },
	{ 0x400000000000000f, 0x410000000000000f }, { 0x4000000000000010, 0x4100000000000010 },
};
int sr_have_sse41;
long sr_fail_regs[15];	/* the registers when a check failed, in sr_canary's order */

long spin_check(long iterations);		/* 0, or 1 when something changed */
long call_check(long iterations, long ppid);	/* 0, or 1 when something changed */

#define SR_SAVE_REGS \
	"	mov %rax, sr_fail_regs+0(%rip)\n mov %rbx, sr_fail_regs+8(%rip)\n" \
	"	mov %rcx, sr_fail_regs+16(%rip)\n mov %rdx, sr_fail_regs+24(%rip)\n" \
	"	mov %rsi, sr_fail_regs+32(%rip)\n mov %rdi, sr_fail_regs+40(%rip)\n" \
	"	mov %rbp, sr_fail_regs+48(%rip)\n mov %r8, sr_fail_regs+56(%rip)\n" \
	"	mov %r9, sr_fail_regs+64(%rip)\n mov %r10, sr_fail_regs+72(%rip)\n" \
	"	mov %r11, sr_fail_regs+80(%rip)\n mov %r12, sr_fail_regs+88(%rip)\n" \
	"	mov %r13, sr_fail_regs+96(%rip)\n mov %r14, sr_fail_regs+104(%rip)\n" \
	"	mov %r15, sr_fail_regs+112(%rip)\n"

#define SR_PROLOGUE(frame) \
	".cfi_startproc\n" \
	"	push %rbp\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %rbp, 0\n" \
	"	push %rbx\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %rbx, 0\n" \
	"	push %r12\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r12, 0\n" \
	"	push %r13\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r13, 0\n" \
	"	push %r14\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r14, 0\n" \
	"	push %r15\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r15, 0\n" \
	"	sub $" #frame ", %rsp\n .cfi_adjust_cfa_offset " #frame "\n"

#define SR_EPILOGUE(frame) \
	"	add $" #frame ", %rsp\n .cfi_adjust_cfa_offset -" #frame "\n" \
	"	pop %r15\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r15\n" \
	"	pop %r14\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r14\n" \
	"	pop %r13\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r13\n" \
	"	pop %r12\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r12\n" \
	"	pop %rbx\n .cfi_adjust_cfa_offset -8\n .cfi_restore %rbx\n" \
	"	pop %rbp\n .cfi_adjust_cfa_offset -8\n .cfi_restore %rbp\n" \
	"	ret\n" \
	".cfi_endproc\n"

/* One register's check, and the store and check of red zone word j (register j mod 15). */
#define REG_CHECK(i, reg) "	cmp sr_canary+8*" #i "(%rip), %" #reg "\n	jne 9f\n"
#define RZ_STORE(j, reg) "	mov %" #reg ", -(8+8*" #j ")(%rsp)\n"
#define RZ_CHECK(j, reg) "	cmp -(8+8*" #j ")(%rsp), %" #reg "\n	jne 9f\n"
#define ALL_REGS(M) \
	M(0, rax) M(1, rbx) M(2, rcx) M(3, rdx) M(4, rsi) M(5, rdi) M(6, rbp) M(7, r8) \
	M(8, r9) M(9, r10) M(10, r11) M(11, r12) M(12, r13) M(13, r14) M(14, r15)
#define LOAD_REG(i, reg) "	mov sr_canary+8*" #i "(%rip), %" #reg "\n"

/*
 * spin_check: frame word 0(%rsp) counts the iterations down.  Red zone word j, at
 * -(8+8j)(%rsp), holds the canary of register j mod 15, so `cmp` checks it against the register.
 */
__asm__(
	".text\n"
	".globl spin_check\n"
	".type spin_check, @function\n"
	"spin_check:\n"
	SR_PROLOGUE(8)
	"	mov %rdi, 0(%rsp)\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	movdqa sr_xmm+16*\\i(%rip), %xmm\\i\n"
	"	.endr\n"
	ALL_REGS(LOAD_REG)
	ALL_REGS(RZ_STORE)
	RZ_STORE(15, rax)
	"1:\n"
	ALL_REGS(REG_CHECK)
	ALL_REGS(RZ_CHECK)
	RZ_CHECK(15, rax)
	"	cmpl $0, sr_have_sse41(%rip)\n"
	"	je 2f\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14\n"
	"	movdqa %xmm\\i, %xmm15\n"
	"	pxor sr_xmm+16*\\i(%rip), %xmm15\n"
	"	ptest %xmm15, %xmm15\n"
	"	jnz 9f\n"
	"	.endr\n"
	"	movdqa sr_xmm+16*15(%rip), %xmm15\n"
	"2:\n"
	"	decq 0(%rsp)\n"
	"	jnz 1b\n"
	"	xor %eax, %eax\n"
	"	jmp 8f\n"
	"9:\n"
	SR_SAVE_REGS
	"	mov $1, %eax\n"
	"8:\n"
	SR_EPILOGUE(8)
	".size spin_check, .-spin_check\n");

#define CS_CHECK(i, reg) "	cmp sr_canary+8*" #i "(%rip), %" #reg "\n	jne 9f\n"
#define CALLEE_SAVED(M) M(1, rbx) M(6, rbp) M(11, r12) M(12, r13) M(13, r14) M(14, r15)

/*
 * call_check: frame words 0(%rsp) the iteration counter, 8(%rsp) the expected getppid() result.
 * Six pushes and 24 bytes keep the calls on a 16-byte aligned stack.
 */
__asm__(
	".text\n"
	".globl call_check\n"
	".type call_check, @function\n"
	"call_check:\n"
	SR_PROLOGUE(24)
	"	mov %rdi, 0(%rsp)\n"
	"	mov %rsi, 8(%rsp)\n"
	CALLEE_SAVED(LOAD_REG)
	"1:\n"
	"	call *getppid@GOTPCREL(%rip)\n"
	"	cmp 8(%rsp), %rax\n"
	"	jne 9f\n"
	CALLEE_SAVED(CS_CHECK)
	"	decq 0(%rsp)\n"
	"	jnz 1b\n"
	"	xor %eax, %eax\n"
	"	jmp 8f\n"
	"9:\n"
	SR_SAVE_REGS
	"	mov $1, %eax\n"
	"8:\n"
	SR_EPILOGUE(24)
	".size call_check, .-call_check\n");

static const char *const reg_names[15] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
	"r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static atomic_long handled, handler_bad;
static pid_t my_pid;
static int devnull;

static void
on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	volatile char junk[512];
	memset((char *)junk, 0xa5, sizeof(junk));
	volatile double d = 1.0;
	for (int i = 0; i < 8; i++)
		d = d * 1.5 + junk[i];
	if (getpid() != my_pid || write(devnull, (char *)junk, sizeof(junk)) != sizeof(junk))
		atomic_fetch_add(&handler_bad, 1);
	atomic_fetch_add(&handled, 1);
	errno = saved;
}

static long
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int failures;

static void
check(const char *what, int ok)
{
	printf("%-72s %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
	fflush(stdout);
}

/* Prints the checked registers that differ; call_check checks rax against the ppid instead. */
static void
print_fail_regs(int use_call, long ppid)
{
	static const int callee_saved[] = { 1, 6, 11, 12, 13, 14 };
	if (use_call) {
		if (sr_fail_regs[0] != ppid)
			fprintf(stderr, "  getppid() returned %ld, expected %ld\n", sr_fail_regs[0], ppid);
		for (int k = 0; k < 6; k++) {
			int i = callee_saved[k];
			if (sr_fail_regs[i] != sr_canary[i])
				fprintf(stderr, "  %s = %#lx (canary %#lx)\n", reg_names[i],
					(unsigned long)sr_fail_regs[i], (unsigned long)sr_canary[i]);
		}
		return;
	}
	for (int i = 0; i < 15; i++)
		if (sr_fail_regs[i] != sr_canary[i])
			fprintf(stderr, "  %s = %#lx (canary %#lx)\n", reg_names[i],
				(unsigned long)sr_fail_regs[i], (unsigned long)sr_canary[i]);
}

/* Runs `step` until SIGNALS_PER_PHASE more signals were handled; 1 when all checks passed. */
static int
phase(const char *name, int use_call)
{
	long target = atomic_load(&handled) + SIGNALS_PER_PHASE;
	long deadline = now_ns() + PHASE_LIMIT_NS;
	pid_t ppid = getppid();
	while (atomic_load(&handled) < target) {
		if (now_ns() > deadline) {
			fprintf(stderr, "%s: only %ld of %d signals within the limit\n", name,
				atomic_load(&handled) - (target - SIGNALS_PER_PHASE), SIGNALS_PER_PHASE);
			return 0;
		}
		long bad = use_call ? call_check(2000, ppid) : spin_check(100000);
		if (bad) {
			fprintf(stderr, "%s: register or stack changed (a red zone word or an xmm register when"
				" no general register is listed):\n", name);
			print_fail_regs(use_call, ppid);
			return 0;
		}
	}
	return 1;
}

static int
install(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGALRM, &sa, NULL);
}

int
main(void)
{
	unsigned a, b, c, d;
	sr_have_sse41 = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_1);
	my_pid = getpid();
	devnull = open("/dev/null", O_WRONLY);
	if (devnull < 0 || install(SA_RESTART))
		return 2;
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	setitimer(ITIMER_REAL, &it, NULL);

	check("registers, vector registers and red zone survive 3000 signals",
	      phase("spin", 0));
	check("callee-saved registers and results of getppid() survive 3000 signals",
	      phase("getppid", 1));

	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	if (sigaltstack(&ss, NULL) || install(SA_RESTART | SA_ONSTACK))
		return 2;
	check("the same with the handler on an alternate stack", phase("spin/altstack", 0));

	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	check("every syscall in the handler gave the right result", atomic_load(&handler_bad) == 0);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
