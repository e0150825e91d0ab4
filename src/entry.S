/*
 * entry.S -- the assembly between a patched syscall site and the C dispatcher, and the raw
 * syscall.  A trampoline enters here with:
 *   rsp   site RSP - 128 (red zone skipped) - 8, [rsp] = trampoline return address
 *   r11   the site's struct si_site (r11 and rcx are dead: `syscall` clobbers them anyway)
 *   rax   syscall number, rdi rsi rdx r10 r8 r9 = arguments, everything else = program state
 * It saves every register the kernel would preserve that C code may clobber (argument registers,
 * RFLAGS, the vector registers XCR0 enables, MXCSR, x87 control word), calls the dispatcher on a
 * 64-byte aligned stack, restores, and returns with RAX = result, RCX = the original return
 * address, R11 = RFLAGS, as the kernel would.  It must never touch the red zone or any memory
 * above the site's RSP, and must never assume RSP alignment at entry.
 *
 * Three special cases run the syscall here, with the exact program registers (si_dispatch
 * returns a nonzero action in RDX and the syscall number in RAX):
 *   SIGRETURN    rt_sigreturn needs RSP exactly at the signal frame.
 *   CLONE_STACK  clone/clone3 with a new stack: the child starts on that stack and can never
 *                return through this frame.  The dispatcher stored site->resume at
 *                [child_sp - 8], the site at [child_sp - 16], the number at [child_sp - 24].
 *   VFORK        the child borrows the parent's stack until exec/_exit and overwrites whatever
 *                lies below the site's RSP: run at the site's RSP, keep nothing in memory
 *                below it; the site is found again through thread-local si_vfork_site.
 */
#include "entry_layout.h"

	.text

/* Frame built on entry; field offsets are the FRAME_* constants of entry_layout.h. */
.macro PUSH_FRAME
	pushfq
	.cfi_adjust_cfa_offset 8
	push %r11		/* site */
	.cfi_adjust_cfa_offset 8
	push %r9
	.cfi_adjust_cfa_offset 8
	push %r8
	.cfi_adjust_cfa_offset 8
	push %r10
	.cfi_adjust_cfa_offset 8
	push %rdx
	.cfi_adjust_cfa_offset 8
	push %rsi
	.cfi_adjust_cfa_offset 8
	push %rdi
	.cfi_adjust_cfa_offset 8
	push %rax		/* syscall number */
	.cfi_adjust_cfa_offset 8
	push %rax		/* result slot */
	.cfi_adjust_cfa_offset 8
	push %rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	mov %rsp, %rbp		/* rbp: the frame, for the rest of the entry */
	.cfi_def_cfa_register %rbp
	cld			/* the C ABI wants DF clear; RFLAGS is restored on the way out */
.endm

/*
 * Vector state save/restore, one pair per CPU level; rsp is 64-byte aligned afterwards.
 * Restores may use r8 r9 r10 as scratch (they are reloaded from the frame afterwards) and must
 * keep rax and rdx.  MXCSR and the x87 control word are reloaded only when the hook changed
 * them: ldmxcsr/fldcw are slow, a well-behaved hook never changes them.
 */
.macro SAVE_CTRL ctrl
	stmxcsr \ctrl(%rsp)
	fnstcw \ctrl+4(%rsp)
.endm
.macro RESTORE_CTRL ctrl
	stmxcsr \ctrl+8(%rsp)
	mov \ctrl+8(%rsp), %r8d
	cmp \ctrl(%rsp), %r8d
	je 71f
	ldmxcsr \ctrl(%rsp)
71:	fnstcw \ctrl+12(%rsp)
	mov \ctrl+12(%rsp), %r8w
	cmp \ctrl+4(%rsp), %r8w
	je 72f
	fldcw \ctrl+4(%rsp)
72:
.endm

.macro SAVE_SSE
	and $-64, %rsp
	sub $VEC_AREA_SSE, %rsp
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movaps %xmm\r, \r*16(%rsp)
	.endr
	SAVE_CTRL VEC_CTRL_SSE
.endm
.macro RESTORE_SSE
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movaps \r*16(%rsp), %xmm\r
	.endr
	RESTORE_CTRL VEC_CTRL_SSE
.endm

/*
 * AVX and AVX-512 save only the components XGETBV(1) (XINUSE) reports in use: a component in
 * its initial state is all zeros and needs no copy.  On the way out a component that was
 * initial at entry but was dirtied by the hook is zeroed again (vzeroupper for the upper
 * halves of registers 0-15, which also returns them to the initial state).
 */
#define XINUSE_YMM 0x04
#define XINUSE_OPMASK 0x20
#define XINUSE_ZMM_HI256 0x40
#define XINUSE_HI16_ZMM 0x80

.macro SAVE_AVX
	and $-64, %rsp
	sub $VEC_AREA_AVX, %rsp
	mov $1, %ecx
	xgetbv				/* eax = XINUSE (rax, rdx are saved in the frame) */
	mov %eax, VEC_CTRL_AVX+16(%rsp)
	test $XINUSE_YMM, %al
	jz 81f
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa %ymm\r, \r*32(%rsp)
	.endr
	jmp 82f
81:	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa %xmm\r, \r*32(%rsp)
	.endr
82:	SAVE_CTRL VEC_CTRL_AVX
.endm
.macro RESTORE_AVX
	testb $XINUSE_YMM, VEC_CTRL_AVX+16(%rsp)
	jz 83f
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa \r*32(%rsp), %ymm\r
	.endr
	jmp 84f
83:	vzeroupper
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa \r*32(%rsp), %xmm\r
	.endr
84:	RESTORE_CTRL VEC_CTRL_AVX
.endm

.macro SAVE_AVX512
	and $-64, %rsp
	sub $VEC_AREA_AVX512, %rsp
	mov $1, %ecx
	xgetbv				/* eax = XINUSE */
	mov %eax, VEC_CTRL_AVX512+16(%rsp)
	test $XINUSE_ZMM_HI256, %al
	jnz 85f
	test $XINUSE_YMM, %al
	jnz 86f
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa %xmm\r, \r*64(%rsp)
	.endr
	jmp 87f
86:	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa %ymm\r, \r*64(%rsp)
	.endr
	jmp 87f
85:	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa64 %zmm\r, \r*64(%rsp)
	.endr
87:	test $XINUSE_HI16_ZMM, %al
	jz 88f
	.irp r,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqa64 %zmm\r, \r*64(%rsp)
	.endr
88:	test $XINUSE_OPMASK, %al
	jz 89f
	.irp r,0,1,2,3,4,5,6,7
	kmovq %k\r, 2048+\r*8(%rsp)
	.endr
89:	SAVE_CTRL VEC_CTRL_AVX512
.endm
.macro RESTORE_AVX512
	mov VEC_CTRL_AVX512+16(%rsp), %r10d	/* in use at entry */
	test $XINUSE_ZMM_HI256, %r10b
	jnz 85f
	test $XINUSE_YMM, %r10b
	jnz 86f
	vzeroupper
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa \r*64(%rsp), %xmm\r
	.endr
	jmp 87f
86:	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa \r*64(%rsp), %ymm\r		/* VEX: also zeroes bits 256-511 */
	.endr
	jmp 87f
85:	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa64 \r*64(%rsp), %zmm\r
	.endr
87:	test $(XINUSE_HI16_ZMM | XINUSE_OPMASK), %r10b
	jnz 88f
	/* Neither was in use at entry: zero them only if the hook dirtied them. */
	mov %rax, %r8
	mov %rdx, %r9
	mov $1, %ecx
	xgetbv
	mov %eax, %ecx				/* in use now */
	mov %r8, %rax
	mov %r9, %rdx
	test $(XINUSE_HI16_ZMM | XINUSE_OPMASK), %cl
	jz 89f
88:	/* slow path: each component by its entry state */
	test $XINUSE_HI16_ZMM, %r10b
	jz 90f
	.irp r,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqa64 \r*64(%rsp), %zmm\r
	.endr
	jmp 91f
90:	.irp r,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vpxord %zmm\r, %zmm\r, %zmm\r
	.endr
91:	test $XINUSE_OPMASK, %r10b
	jz 92f
	.irp r,0,1,2,3,4,5,6,7
	kmovq 2048+\r*8(%rsp), %k\r
	.endr
	jmp 89f
92:	.irp r,0,1,2,3,4,5,6,7
	kxorq %k\r, %k\r, %k\r
	.endr
89:	RESTORE_CTRL VEC_CTRL_AVX512
.endm

/* Full saves for CPUs without XGETBV(1). */
.macro SAVE_AVX_FULL
	and $-64, %rsp
	sub $VEC_AREA_AVX, %rsp
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa %ymm\r, \r*32(%rsp)
	.endr
	SAVE_CTRL VEC_CTRL_AVX
.endm
.macro RESTORE_AVX_FULL
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa \r*32(%rsp), %ymm\r
	.endr
	RESTORE_CTRL VEC_CTRL_AVX
.endm
.macro SAVE_AVX512_FULL
	and $-64, %rsp
	sub $VEC_AREA_AVX512, %rsp
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqa64 %zmm\r, \r*64(%rsp)
	.endr
	.irp r,0,1,2,3,4,5,6,7
	kmovq %k\r, 2048+\r*8(%rsp)
	.endr
	SAVE_CTRL VEC_CTRL_AVX512
.endm
.macro RESTORE_AVX512_FULL
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vmovdqa64 \r*64(%rsp), %zmm\r
	.endr
	.irp r,0,1,2,3,4,5,6,7
	kmovq 2048+\r*8(%rsp), %k\r
	.endr
	RESTORE_CTRL VEC_CTRL_AVX512
.endm

/* For hooks that promise to leave vector and x87 state alone: only align the stack. */
.macro SAVE_NONE
	and $-64, %rsp
.endm
.macro RESTORE_NONE
.endm

.macro ENTRY name, save, restore
	.globl \name
	.hidden \name
	.type \name, @function
	.p2align 5
\name:
	.cfi_startproc
	PUSH_FRAME
	\save
	mov %rbp, %rdi
	call si_dispatch		/* rax = result (or nr), rdx = action */
	test %rdx, %rdx
	jnz .Lspecial_\name

.Lreturn_\name:				/* rax = result; vectors saved at rsp */
	\restore
	mov %rbp, %rsp
	pop %rbp
	.cfi_def_cfa %rsp, FRAME_SIZE - 8
	.cfi_restore %rbp
	lea 16(%rsp), %rsp		/* result and number slots */
	pop %rdi
	pop %rsi
	pop %rdx
	pop %r10
	pop %r8
	pop %r9
	pop %r11			/* site */
	.cfi_def_cfa %rsp, 16
	mov SITE_RETURN_ADDR(%r11), %rcx
	mov (%rsp), %r11		/* R11 = RFLAGS, as after a real syscall */
	popfq
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_def_cfa %rbp, FRAME_SIZE
	.cfi_offset %rbp, -FRAME_SIZE

.Lspecial_\name:			/* rax = syscall number, rdx = action */
	\restore
	mov %rdx, %rcx
	mov %rbp, %rsp
	.cfi_def_cfa %rsp, FRAME_SIZE
	mov FRAME_RDI(%rsp), %rdi
	mov FRAME_RSI(%rsp), %rsi
	mov FRAME_RDX(%rsp), %rdx
	mov FRAME_R10(%rsp), %r10
	mov FRAME_R8(%rsp), %r8
	mov FRAME_R9(%rsp), %r9
	cmp $SI_ACTION_CLONE_STACK, %rcx
	je .Lclone_stack_\name
	cmp $SI_ACTION_VFORK, %rcx
	je .Lvfork_\name

	/* SIGRETURN: with RSP at the signal frame; never returns. */
	mov (%rsp), %rbp
	lea FRAME_SIZE+128(%rsp), %rsp
	syscall
	ud2

.Lclone_stack_\name:
	/* The parent keeps this frame: it waits in the syscall with rsp = frame base. */
	pushq FRAME_RFLAGS(%rsp)
	popfq
	mov (%rsp), %rbp
	syscall
	mov %rax, %rcx			/* jrcxz: branch without touching RFLAGS */
	jrcxz 7f
	jmp 8f
7:	jmp .Lclone_child_\name
8:	mov %rsp, %rbp
	.cfi_def_cfa_register %rbp
	mov %rax, FRAME_RESULT(%rbp)
	\save
	mov %rbp, %rdi
	call si_dispatch_post
	jmp .Lreturn_\name

.Lclone_child_\name:
	/*
	 * New stack: [rsp - 8] = site->resume, becomes our return address; [rsp - 16] = site,
	 * [rsp - 24] = syscall number.
	 */
	.cfi_undefined %rip		/* the first frame of a new thread */
	lea -8(%rsp), %rsp
	mov -8(%rsp), %r11		/* site */
	mov -16(%rsp), %rax		/* syscall number, for the frame; the result is 0 */
	PUSH_FRAME
	movq $0, FRAME_RESULT(%rbp)
	\save
	mov %rbp, %rdi
	call si_dispatch_clone_child
	jmp .Lreturn_\name

.Lvfork_\name:
	.cfi_def_cfa %rsp, FRAME_SIZE
	pushq FRAME_RFLAGS(%rsp)
	popfq
	mov (%rsp), %rbp
	lea FRAME_SIZE+128(%rsp), %rsp	/* the site's own RSP */
	syscall
	/* Child first, then the parent once the child has gone: both rebuild a frame. */
	lea -128(%rsp), %rsp
	mov si_vfork_site@gottpoff(%rip), %r11
	mov %fs:(%r11), %r11
	pushq SITE_AFTER_CALL(%r11)
	.cfi_def_cfa %rsp, 8
	PUSH_FRAME
	\save
	mov %rbp, %rdi
	call si_dispatch_vfork_post
	jmp .Lreturn_\name
	.cfi_endproc
	.size \name, . - \name
.endm

ENTRY si_entry_sse, SAVE_SSE, RESTORE_SSE
ENTRY si_entry_avx, SAVE_AVX, RESTORE_AVX
ENTRY si_entry_avx512, SAVE_AVX512, RESTORE_AVX512
ENTRY si_entry_avx_full, SAVE_AVX_FULL, RESTORE_AVX_FULL
ENTRY si_entry_avx512_full, SAVE_AVX512_FULL, RESTORE_AVX512_FULL
ENTRY si_entry_novec, SAVE_NONE, RESTORE_NONE

/*
 * long syscall_no_intercept(long nr, ...) and the library's own si_syscall6: the C arguments
 * (rdi, rsi, rdx, rcx, r8, r9, stack) move to the kernel's (rax, rdi, rsi, rdx, r10, r8, r9).
 * This `syscall` lies in our own text, which is never patched.
 */
	.globl syscall_no_intercept
	.type syscall_no_intercept, @function
	.globl si_syscall6
	.hidden si_syscall6
	.type si_syscall6, @function
	.p2align 4
syscall_no_intercept:
si_syscall6:
	.cfi_startproc
	mov %rdi, %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	mov 8(%rsp), %r9
	syscall
	ret
	.cfi_endproc
	.size syscall_no_intercept, . - syscall_no_intercept
	.size si_syscall6, . - si_syscall6

/* The safety net's SIGSYS handler returns through here: rt_sigreturn from inside our text. */
	.globl si_sigreturn_restorer
	.hidden si_sigreturn_restorer
	.type si_sigreturn_restorer, @function
	.p2align 4
si_sigreturn_restorer:
	mov $15, %eax		/* __NR_rt_sigreturn */
	syscall
	ud2
	.size si_sigreturn_restorer, . - si_sigreturn_restorer

	.section .note.GNU-stack, "", @progbits
