/*
 * exh_regs.S -- the register-state probe of exh_regs.c.  xr_run loads xr_in into every register
 * the kernel preserves across `syscall` (all general registers but rax/rcx/r11, RFLAGS status
 * bits and DF, the vector registers of level xr_level: xmm0-15, ymm0-15, or zmm0-31 and k0-7,
 * MXCSR, x87 control word) and 128 bytes of red zone below the site's RSP, sets RSP to a 64-byte
 * boundary minus xr_misalign, calls *xr_target (a site: `mov eax,110; syscall; ret`), and stores
 * everything it finds afterwards into xr_out, with the RSP it had before the call in
 * xr_rsp_before.  Layout offsets below must match struct xr_state in exh_regs.c.  It must never
 * run an instruction above the level it was asked for, and never write the red zone while the
 * target runs.
 *
 * xr_site is that site in this executable's text; xr_site_tmpl (in .rodata, never executed in
 * place) is the same bytes for a generated-code copy.  xr_evil_table lists stand-in targets that
 * make the same syscall and then break exactly one piece of state: the checker must notice each.
 */
	.set XR_VEC, 0
	.set XR_GPR, 2048
	.set XR_FLAGS, 2176
	.set XR_MXCSR, 2184
	.set XR_FCW, 2188
	.set XR_K, 2192
	.set XR_RED, 2256

	.bss
	.balign 8
keep_rsp:	.quad 0
keep_mxcsr:	.long 0
keep_fcw:	.word 0
	.balign 8
evil_scratch:	.quad 0

	.text
	.globl xr_run
	.type xr_run, @function
xr_run:
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
	stmxcsr keep_mxcsr(%rip)
	fnstcw keep_fcw(%rip)
	mov %rsp, keep_rsp(%rip)
	/* RSP moves away from the frame: unwinders end their walk here until it is back. */
	.cfi_remember_state
	.cfi_undefined %rip

	and $-64, %rsp
	sub $2048, %rsp
	sub xr_misalign(%rip), %rsp

	/* The site runs with RSP = rsp - 8; its red zone is [rsp - 136, rsp - 8). */
	lea xr_in+XR_RED(%rip), %rsi
	xor %ecx, %ecx
0:	mov (%rsi,%rcx,8), %rax
	mov %rax, -136(%rsp,%rcx,8)
	inc %ecx
	cmp $16, %ecx
	jne 0b

	cmpq $1, xr_level(%rip)
	jb 1f
	je 2f
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqu64 xr_in+XR_VEC+64*\r(%rip), %zmm\r
	.endr
	.irp r,0,1,2,3,4,5,6,7
	kmovq xr_in+XR_K+8*\r(%rip), %k\r
	.endr
	jmp 3f
2:	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqu xr_in+XR_VEC+64*\r(%rip), %ymm\r
	.endr
	jmp 3f
1:	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu xr_in+XR_VEC+64*\r(%rip), %xmm\r
	.endr
3:	ldmxcsr xr_in+XR_MXCSR(%rip)
	fldcw xr_in+XR_FCW(%rip)

	mov xr_in+XR_GPR+8*2(%rip), %rdx
	mov xr_in+XR_GPR+8*3(%rip), %rbx
	mov xr_in+XR_GPR+8*5(%rip), %rbp
	mov xr_in+XR_GPR+8*6(%rip), %rsi
	mov xr_in+XR_GPR+8*7(%rip), %rdi
	mov xr_in+XR_GPR+8*8(%rip), %r8
	mov xr_in+XR_GPR+8*9(%rip), %r9
	mov xr_in+XR_GPR+8*10(%rip), %r10
	mov xr_in+XR_GPR+8*12(%rip), %r12
	mov xr_in+XR_GPR+8*13(%rip), %r13
	mov xr_in+XR_GPR+8*14(%rip), %r14
	mov xr_in+XR_GPR+8*15(%rip), %r15
	/* rax, rcx, r11 are the syscall's: give them junk the site must not depend on. */
	mov $-1, %rax
	mov $0x0c0c0c0c0c0c0c0c, %rcx
	mov $0x0b0b0b0b0b0b0b0b, %r11
	mov %rsp, xr_rsp_before(%rip)
	/* Flags last (mov leaves them alone); push/pop use the return address slot. */
	pushq xr_in+XR_FLAGS(%rip)
	popfq

	call *xr_target(%rip)

	pushfq
	popq xr_out+XR_FLAGS(%rip)
	cld
	mov %rax, xr_out+XR_GPR+8*0(%rip)
	mov %rcx, xr_out+XR_GPR+8*1(%rip)
	mov %rdx, xr_out+XR_GPR+8*2(%rip)
	mov %rbx, xr_out+XR_GPR+8*3(%rip)
	mov %rsp, xr_out+XR_GPR+8*4(%rip)
	mov %rbp, xr_out+XR_GPR+8*5(%rip)
	mov %rsi, xr_out+XR_GPR+8*6(%rip)
	mov %rdi, xr_out+XR_GPR+8*7(%rip)
	mov %r8, xr_out+XR_GPR+8*8(%rip)
	mov %r9, xr_out+XR_GPR+8*9(%rip)
	mov %r10, xr_out+XR_GPR+8*10(%rip)
	mov %r11, xr_out+XR_GPR+8*11(%rip)
	mov %r12, xr_out+XR_GPR+8*12(%rip)
	mov %r13, xr_out+XR_GPR+8*13(%rip)
	mov %r14, xr_out+XR_GPR+8*14(%rip)
	mov %r15, xr_out+XR_GPR+8*15(%rip)
	stmxcsr xr_out+XR_MXCSR(%rip)
	fnstcw xr_out+XR_FCW(%rip)

	cmpq $1, xr_level(%rip)
	jb 1f
	je 2f
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqu64 %zmm\r, xr_out+XR_VEC+64*\r(%rip)
	.endr
	.irp r,0,1,2,3,4,5,6,7
	kmovq %k\r, xr_out+XR_K+8*\r(%rip)
	.endr
	jmp 3f
2:	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqu %ymm\r, xr_out+XR_VEC+64*\r(%rip)
	.endr
	jmp 3f
1:	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu %xmm\r, xr_out+XR_VEC+64*\r(%rip)
	.endr
3:
	lea xr_out+XR_RED(%rip), %rsi
	xor %ecx, %ecx
0:	mov -136(%rsp,%rcx,8), %rax
	mov %rax, (%rsi,%rcx,8)
	inc %ecx
	cmp $16, %ecx
	jne 0b

	mov keep_rsp(%rip), %rsp
	.cfi_restore_state
	ldmxcsr keep_mxcsr(%rip)
	fldcw keep_fcw(%rip)
	cmpq $0, xr_level(%rip)
	je 4f
	vzeroupper
4:	pop %r15
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
	.size xr_run, .-xr_run

/* The site: getppid, touching nothing but rax, rcx and r11. */
.macro SITE_BODY
	mov $110, %eax
	syscall
	ret
.endm

	.globl xr_site
	.type xr_site, @function
xr_site:
	SITE_BODY
	.size xr_site, .-xr_site

/* Saboteurs: the site's syscall, then one deliberate change. */
.macro EVIL name, level, text, b1, b2, b3, b4, b5
	.text
	.type \name, @function
\name:
	mov $110, %eax
	syscall
	\b1
	\b2
	\b3
	\b4
	\b5
	ret
	.size \name, .-\name
	.section .rodata.str1.1, "aMS", @progbits, 1
evil_name_\name:
	.asciz "\text"
	.section .data.rel.ro, "aw", @progbits
	.quad \name, evil_name_\name, \level
	.text
.endm

	.section .data.rel.ro, "aw", @progbits
	.balign 8
	.globl xr_evil_table
xr_evil_table:
	.text

.irp reg,rdx,rbx,rbp,rsi,rdi,r8,r9,r10,r12,r13,r14,r15
	EVIL evil_\reg, 0, "\reg changed", "not %\reg"
.endr
.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	EVIL evil_xmm\r, 0, "xmm\r changed", "pcmpeqb %xmm\r, %xmm\r"
.endr
.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	EVIL evil_ymmhi\r, 1, "upper half of ymm\r changed", "vinsertf128 $1, %xmm\r, %ymm\r, %ymm\r"
.endr
.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	EVIL evil_zmmhi\r, 2, "upper half of zmm\r changed", "vinsertf64x4 $1, %ymm\r, %zmm\r, %zmm\r"
.endr
.irp r,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EVIL evil_zmm\r, 2, "zmm\r changed", "vpxorq %zmm\r, %zmm\r, %zmm\r"
.endr
.irp r,0,1,2,3,4,5,6,7
	EVIL evil_k\r, 2, "k\r changed", "knotw %k\r, %k\r"
.endr
	EVIL evil_mxcsr, 0, "mxcsr back to default", "movl $0x1f80, evil_scratch(%rip)", "ldmxcsr evil_scratch(%rip)"
	EVIL evil_fcw, 0, "x87 control word back to default", "movw $0x037f, evil_scratch(%rip)", "fldcw evil_scratch(%rip)"
	EVIL evil_red_top, 0, "red zone word at rsp-8 written", "movq $0, -8(%rsp)"
	EVIL evil_red_mid, 0, "red zone word at rsp-64 written", "movq $0, -64(%rsp)"
	EVIL evil_red_bottom, 0, "red zone byte at rsp-128 written", "notb -128(%rsp)"
	EVIL evil_cf, 0, "carry flag changed", "cmc"
	EVIL evil_df, 0, "direction flag changed", "lea -136(%rsp), %rsp", "pushfq", "xorq $0x400, (%rsp)", "popfq", "lea 136(%rsp), %rsp"
	EVIL evil_rax, 0, "rax not the syscall result", "lea 1(%rax), %rax"

	.section .data.rel.ro, "aw", @progbits
	.quad 0, 0, 0
	.text

/* The same site bytes, for a generated-code copy (exh_jit_make); never executed here. */
	.section .rodata
	.globl xr_site_tmpl, xr_site_tmpl_end
xr_site_tmpl:
	SITE_BODY
xr_site_tmpl_end:

	.section .note.GNU-stack,"",@progbits
