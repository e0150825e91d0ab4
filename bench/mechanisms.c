/*
 * mechanisms.c -- the interception mechanisms a user could pick instead of hot-patching, built
 * into the benchmark so they are measured on the same machine in the same run: seccomp-bpf with
 * SECCOMP_RET_TRAP and a SIGSYS handler, and Syscall User Dispatch (SUD) with a SIGSYS handler.
 * (The ptrace tracer lives in spawn.c: it runs in the parent.)  Each handler either forwards the
 * trapped syscall to the kernel or answers it in user space (bench_answer), the same two jobs the
 * library's pass-through and answering hooks do.  These run only in a benchmark child process:
 * they must never be installed in the orchestrator, and a handler must never call anything that
 * is not async-signal-safe.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <ucontext.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#define SYSCALL_DISPATCH_FILTER_ALLOW 0
#define SYSCALL_DISPATCH_FILTER_BLOCK 1
#endif

/*
 * long fwd_syscall3(long nr, long a0, long a1, long a2): the one `syscall` the seccomp filter
 * lets through for the trapped number.  The filter recognises it by the instruction pointer the
 * kernel reports, which is the address right after the instruction: fwd_syscall3_after.
 */
__asm__(".text\n"
	".type fwd_syscall3, @function\n"
	"fwd_syscall3:\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	mov %rdx, %rsi\n"
	"	mov %rcx, %rdx\n"
	"	syscall\n"
	"fwd_syscall3_after:\n"
	"	ret\n"
	".size fwd_syscall3, . - fwd_syscall3\n");
long fwd_syscall3(long nr, long a0, long a1, long a2);
extern const char fwd_syscall3_after[];

long
raw_syscall3(long nr, long a0, long a1, long a2)
{
	long ret;
	register long rdx __asm__("rdx") = a2;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "r"(rdx)
			 : "rcx", "r11", "memory");
	return ret;
}

static volatile char sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
volatile bool mech_sud_active;
static bool answer_mode;

void
mech_sud_block(void)
{
	sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
}

static void
on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	long nr = si->si_syscall, result;
	/* SUD: let our own syscalls and the coming rt_sigreturn through; the loop re-blocks. */
	if (mech_sud_active)
		sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	if (!answer_mode || !bench_answer(nr, g[REG_RDI], g[REG_RSI], g[REG_RDX], &result))
		result = fwd_syscall3(nr, g[REG_RDI], g[REG_RSI], g[REG_RDX]);
	g[REG_RAX] = result;
}

static int
install_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0) {
		perror("si-bench: sigaction(SIGSYS)");
		return -1;
	}
	return 0;
}

/* Traps `nr` unless it comes from fwd_syscall3; everything else runs as usual. */
static int
install_seccomp(long nr)
{
	uint64_t ip = (uint64_t)(uintptr_t)fwd_syscall3_after;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, instruction_pointer)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, instruction_pointer) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
		perror("si-bench: seccomp");
		return -1;
	}
	return 0;
}

int
mech_install(enum mech m, long nr)
{
	answer_mode = (m == MECH_SECCOMP_ANSWER || m == MECH_SUD_ANSWER);
	if (install_handler() != 0)
		return -1;
	if (m == MECH_SECCOMP_FWD || m == MECH_SECCOMP_ANSWER)
		return install_seccomp(nr);
	/* SUD: every syscall while the selector says BLOCK raises SIGSYS; no exempt range. */
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0,
		  &sud_selector) != 0) {
		perror("si-bench: prctl(PR_SET_SYSCALL_USER_DISPATCH)");
		return -1;
	}
	mech_sud_active = true;
	return 0;
}
