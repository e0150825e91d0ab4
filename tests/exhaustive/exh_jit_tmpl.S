/*
 * exh_jit_tmpl.S -- code templates that exh_jit.c copies into generated-code mappings.  They
 * live in .rodata, never in .text: with INTERCEPT_ALL_OBJS the executable's text is patched,
 * and a copy of patched bytes would not be the code we meant.  Every template must be position
 * independent (no RIP-relative data, no branch leaving the template), and nothing may ever
 * execute them where they are.
 */
	.section .rodata
	.balign 16

/* long syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5) */
	.globl exh_tmpl_syscall6, exh_tmpl_syscall6_end
exh_tmpl_syscall6:
	mov %rdi, %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	mov 8(%rsp), %r9
	syscall
	ret
exh_tmpl_syscall6_end:

/*
 * The new thread of exh_jit_clone/exh_jit_clone3: on entry RSP = stack_top - 32, and above it
 * [rsp+8] = result pointer, [rsp+16] = arg, [rsp+24] = fn.  Calls fn(arg) on a 16-byte aligned
 * stack, stores the result and exits the thread.
 */
.macro CHILD_BODY
	mov 16(%rsp), %rdi
	call *24(%rsp)
	mov 8(%rsp), %rdx
	mov %rax, (%rdx)
	xor %edi, %edi
	mov $60, %eax		/* exit: this thread only */
	syscall
	ud2
.endm

/* The thread flags: VM FS FILES SIGHAND THREAD SYSVSEM PARENT_SETTID CHILD_CLEARTID */
	.set THREAD_FLAGS, 0x350f00

/* long clone(fn, arg, stack_top, tid_word, result): rdi rsi rdx rcx r8 */
	.globl exh_tmpl_clone, exh_tmpl_clone_end
exh_tmpl_clone:
	mov %rdi, -8(%rdx)
	mov %rsi, -16(%rdx)
	mov %r8, -24(%rdx)
	lea -32(%rdx), %rsi		/* the child's stack pointer */
	mov %rcx, %rdx			/* parent_tid */
	mov %rcx, %r10			/* child_tid */
	xor %r8d, %r8d			/* tls: unchanged (no CLONE_SETTLS) */
	mov $THREAD_FLAGS, %edi
	mov $56, %eax
	syscall
	test %rax, %rax
	jnz 1f
	CHILD_BODY
1:	ret
exh_tmpl_clone_end:

/* The same with clone3 and a struct clone_args (88 bytes) on the caller's stack. */
	.globl exh_tmpl_clone3, exh_tmpl_clone3_end
exh_tmpl_clone3:
	mov %rdi, -8(%rdx)
	mov %rsi, -16(%rdx)
	mov %r8, -24(%rdx)
	lea -32(%rdx), %r9		/* the child's stack pointer: stack + stack_size */
	sub $96, %rsp
	movq $THREAD_FLAGS, 0(%rsp)	/* flags */
	movq $0, 8(%rsp)		/* pidfd */
	mov %rcx, 16(%rsp)		/* child_tid */
	mov %rcx, 24(%rsp)		/* parent_tid */
	movq $0, 32(%rsp)		/* exit_signal */
	lea -16384(%r9), %rax
	mov %rax, 40(%rsp)		/* stack */
	movq $16384, 48(%rsp)		/* stack_size */
	movq $0, 56(%rsp)		/* tls */
	movq $0, 64(%rsp)		/* set_tid */
	movq $0, 72(%rsp)		/* set_tid_size */
	movq $0, 80(%rsp)		/* cgroup */
	mov %rsp, %rdi
	mov $88, %esi
	mov $435, %eax
	syscall
	test %rax, %rax
	jnz 1f
	CHILD_BODY
1:	add $96, %rsp
	ret
exh_tmpl_clone3_end:

	.section .note.GNU-stack,"",@progbits
