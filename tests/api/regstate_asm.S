/*
 * regstate_asm.S -- calls a function that makes a syscall (libc's getppid, whose body only
 * touches rax, rcx and r11) with known values in every register the kernel preserves across
 * `syscall`, then records every register after it returns.  Input is rs_expected, output
 * rs_actual (struct rs_state in regstate.c; the RS_* offsets below must match it), the function
 * is rs_target, and rs_misalign is subtracted from a 16-byte aligned RSP before the call, so the
 * site runs at any RSP alignment.  Before the call it writes rs_expected.redzone into the 128
 * bytes below the site's RSP (the call's return address slot is right above them) and reads
 * them back afterwards.  One entry point per vector level: rs_run_sse (xmm0-15), rs_run_avx
 * (ymm0-15), rs_run_avx512 (zmm0-31, k0-7).  It must never run an instruction of a higher level
 * than its name says, and never write below the saved red zone while the target runs.
 *
 * rs_evil_* are stand-ins for the target that make a real getppid syscall and then deliberately
 * break one piece of state, to prove that the checker notices.
 */
	.set RS_GPR, 0
	.set RS_FLAGS, 128
	.set RS_MXCSR, 136
	.set RS_FCW, 140
	.set RS_K, 144
	.set RS_REDZONE, 208
	.set RS_VEC, 384

	.bss
	.balign 8
saved_rsp:	.quad 0
saved_mxcsr:	.long 0
saved_fcw:	.word 0
	.balign 8
evil_tmp:	.quad 0

	.text

.macro RS_RUN name, level
	.globl \name
	.type \name, @function
\name:
	.cfi_startproc
	push %rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	push %rbx
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbx, 0
	push %r12
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r12, 0
	push %r13
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r13, 0
	push %r14
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r14, 0
	push %r15
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r15, 0
	stmxcsr saved_mxcsr(%rip)
	fnstcw saved_fcw(%rip)
	mov %rsp, saved_rsp(%rip)
	/* While RSP is moved, unwinders stop here (no caller frame to find). */
	.cfi_remember_state
	.cfi_undefined %rip

	and $-16, %rsp
	sub $1024, %rsp
	sub rs_misalign(%rip), %rsp

	/* The site's RSP will be rsp - 8: its red zone is [rsp - 136, rsp - 8). */
	lea rs_expected+RS_REDZONE(%rip), %rsi
	xor %ecx, %ecx
1:	mov (%rsi,%rcx,8), %rax
	mov %rax, -136(%rsp,%rcx,8)
	inc %ecx
	cmp $16, %ecx
	jne 1b

	/* Vector registers */
.if \level == 0
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu rs_expected+RS_VEC+64*\r(%rip), %xmm\r
	.endr
.elseif \level == 1
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqu rs_expected+RS_VEC+64*\r(%rip), %ymm\r
	.endr
.else
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqu64 rs_expected+RS_VEC+64*\r(%rip), %zmm\r
	.endr
	.irp r,0,1,2,3,4,5,6,7
	kmovq rs_expected+RS_K+8*\r(%rip), %k\r
	.endr
.endif
	ldmxcsr rs_expected+RS_MXCSR(%rip)
	fldcw rs_expected+RS_FCW(%rip)

	/* General registers (rax, rcx and r11 belong to the syscall; rsp is checked apart) */
	mov rs_expected+RS_GPR+8*2(%rip), %rdx
	mov rs_expected+RS_GPR+8*3(%rip), %rbx
	mov rs_expected+RS_GPR+8*5(%rip), %rbp
	mov rs_expected+RS_GPR+8*6(%rip), %rsi
	mov rs_expected+RS_GPR+8*7(%rip), %rdi
	mov rs_expected+RS_GPR+8*8(%rip), %r8
	mov rs_expected+RS_GPR+8*9(%rip), %r9
	mov rs_expected+RS_GPR+8*10(%rip), %r10
	mov rs_expected+RS_GPR+8*12(%rip), %r12
	mov rs_expected+RS_GPR+8*13(%rip), %r13
	mov rs_expected+RS_GPR+8*14(%rip), %r14
	mov rs_expected+RS_GPR+8*15(%rip), %r15
	mov %rsp, rs_expected+RS_GPR+8*4(%rip)
	mov $0x5555555555555555, %rcx
	mov $0x6666666666666666, %r11

	/* Flags last: the moves above leave them alone.  push/pop use the return address slot. */
	pushq rs_expected+RS_FLAGS(%rip)
	popfq

	call *rs_target(%rip)

	pushfq
	pop %r11
	mov %r11, rs_actual+RS_FLAGS(%rip)
	mov %rax, rs_actual+RS_GPR+8*0(%rip)
	mov %rdx, rs_actual+RS_GPR+8*2(%rip)
	mov %rbx, rs_actual+RS_GPR+8*3(%rip)
	mov %rsp, rs_actual+RS_GPR+8*4(%rip)
	mov %rbp, rs_actual+RS_GPR+8*5(%rip)
	mov %rsi, rs_actual+RS_GPR+8*6(%rip)
	mov %rdi, rs_actual+RS_GPR+8*7(%rip)
	mov %r8, rs_actual+RS_GPR+8*8(%rip)
	mov %r9, rs_actual+RS_GPR+8*9(%rip)
	mov %r10, rs_actual+RS_GPR+8*10(%rip)
	mov %r12, rs_actual+RS_GPR+8*12(%rip)
	mov %r13, rs_actual+RS_GPR+8*13(%rip)
	mov %r14, rs_actual+RS_GPR+8*14(%rip)
	mov %r15, rs_actual+RS_GPR+8*15(%rip)
.if \level == 0
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu %xmm\r, rs_actual+RS_VEC+64*\r(%rip)
	.endr
.elseif \level == 1
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqu %ymm\r, rs_actual+RS_VEC+64*\r(%rip)
	.endr
.else
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqu64 %zmm\r, rs_actual+RS_VEC+64*\r(%rip)
	.endr
	.irp r,0,1,2,3,4,5,6,7
	kmovq %k\r, rs_actual+RS_K+8*\r(%rip)
	.endr
.endif
	stmxcsr rs_actual+RS_MXCSR(%rip)
	fnstcw rs_actual+RS_FCW(%rip)

	lea rs_actual+RS_REDZONE(%rip), %rsi
	xor %ecx, %ecx
2:	mov -136(%rsp,%rcx,8), %rax
	mov %rax, (%rsi,%rcx,8)
	inc %ecx
	cmp $16, %ecx
	jne 2b

	mov saved_rsp(%rip), %rsp
	.cfi_restore_state
	ldmxcsr saved_mxcsr(%rip)
	fldcw saved_fcw(%rip)
.if \level > 0
	vzeroupper
.endif
	pop %r15
	.cfi_adjust_cfa_offset -8
	pop %r14
	.cfi_adjust_cfa_offset -8
	pop %r13
	.cfi_adjust_cfa_offset -8
	pop %r12
	.cfi_adjust_cfa_offset -8
	pop %rbx
	.cfi_adjust_cfa_offset -8
	pop %rbp
	.cfi_adjust_cfa_offset -8
	ret
	.cfi_endproc
	.size \name, .-\name
.endm

RS_RUN rs_run_sse, 0
RS_RUN rs_run_avx, 1
RS_RUN rs_run_avx512, 2

/* Saboteurs: a real getppid, then one deliberate change the checker must report. */
.macro EVIL name
	.globl \name
	.type \name, @function
\name:
	mov $110, %eax		/* SYS_getppid */
	syscall
.endm
.macro EVIL_END name
	ret
	.size \name, .-\name
.endm

EVIL rs_evil_gpr		/* r13 inverted (not leaves the flags alone) */
	not %r13
EVIL_END rs_evil_gpr

EVIL rs_evil_rdi		/* rdi changed */
	mov $0, %edi
EVIL_END rs_evil_rdi

EVIL rs_evil_xmm		/* xmm6 (low 128 bits) changed */
	pcmpeqb %xmm6, %xmm6
EVIL_END rs_evil_xmm

EVIL rs_evil_ymm_upper		/* only the upper half of ymm3 changed (AVX) */
	vinsertf128 $1, %xmm0, %ymm3, %ymm3
EVIL_END rs_evil_ymm_upper

EVIL rs_evil_zmm31		/* zmm31 zeroed (AVX-512) */
	vpxorq %zmm31, %zmm31, %zmm31
EVIL_END rs_evil_zmm31

EVIL rs_evil_k		/* k5 set to all ones (AVX-512BW) */
	kxnorq %k5, %k5, %k5
EVIL_END rs_evil_k

EVIL rs_evil_mxcsr		/* MXCSR back to the default */
	movl $0x1f80, evil_tmp(%rip)
	ldmxcsr evil_tmp(%rip)
EVIL_END rs_evil_mxcsr

EVIL rs_evil_fcw		/* x87 control word back to the default */
	movw $0x037f, evil_tmp(%rip)
	fldcw evil_tmp(%rip)
EVIL_END rs_evil_fcw

EVIL rs_evil_redzone		/* one word of the red zone overwritten */
	movq $0, -64(%rsp)
EVIL_END rs_evil_redzone

EVIL rs_evil_flags		/* carry flag inverted */
	cmc
EVIL_END rs_evil_flags

	.section .note.GNU-stack,"",@progbits
