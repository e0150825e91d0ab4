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
 * Four special cases run the syscall outside C, with the exact program registers (si_dispatch
 * returns a nonzero action in RDX and the syscall number in RAX):
 *   SIGRETURN    rt_sigreturn needs RSP exactly at the signal frame.
 *   CLONE_STACK  clone/clone3 with a new stack: the child starts on that stack and can never
 *                return through this frame.  The dispatcher stored site->resume at
 *                [child_sp - 8], the site at [child_sp - 16], the number at [child_sp - 24],
 *                the clone flags at [child_sp - 32].
 *   SYSCALL      the common case, a syscall to run with nothing to do after it: it runs in a
 *                stub of the site's trampoline, at the site's RSP, which goes straight back
 *                to the program.
 *   VFORK        the child borrows the parent's stack until exec/_exit and overwrites whatever
 *                lies below the site's RSP: the syscall runs at the site's RSP in a stub of
 *                the site's own trampoline, keeping nothing in memory below it; the stub
 *                then enters <entry>_vfork_post.
 */
#include "entry_layout.h"

	.text

/*
 * Frame built on entry; field offsets are the FRAME_* constants of entry_layout.h.  The CFI
 * says where the program's argument registers are kept: an unwinder stepping out of our frames
 * must find them (glibc's vfork, for one, keeps its return address in rdi across the syscall).
 */
.macro PUSH_FRAME
	pushfq
	.cfi_adjust_cfa_offset 8
	push %r11		/* site */
	.cfi_adjust_cfa_offset 8
	push %r9
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r9, 0
	push %r8
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r8, 0
	push %r10
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r10, 0
	push %rdx
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rdx, 0
	push %rsi
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rsi, 0
	push %rdi
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rdi, 0
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
 * Restores must keep rax and rdx.  MXCSR and the x87 control word are reloaded unconditionally:
 * ldmxcsr/fldcw are cheap, while reading MXCSR again to compare (stmxcsr) costs ~4 ns here.
 */
.macro SAVE_CTRL ctrl
	stmxcsr \ctrl(%rsp)
	fnstcw \ctrl+4(%rsp)
.endm
.macro RESTORE_CTRL ctrl
	ldmxcsr \ctrl(%rsp)
	fldcw \ctrl+4(%rsp)
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
 * AVX and AVX-512: all registers with plain aligned moves.  (Skipping components XGETBV(1)
 * reports unused was measured: XGETBV(1) alone costs more than the 40 moves it might save, and
 * in real processes glibc's string functions keep zmm16-31 and the mask registers in use.)
 */
.macro SAVE_AVX
	and $-64, %rsp
	sub $VEC_AREA_AVX, %rsp
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa %ymm\r, \r*32(%rsp)
	.endr
	SAVE_CTRL VEC_CTRL_AVX
.endm
.macro RESTORE_AVX
	.irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vmovdqa \r*32(%rsp), %ymm\r
	.endr
	RESTORE_CTRL VEC_CTRL_AVX
.endm
.macro SAVE_AVX512
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
.macro RESTORE_AVX512
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
	/*
	 * RFLAGS back as at the site.  popfq is slow (~6 ns); the arithmetic flags are restored
	 * with sahf and an overflowing add instead, unless TF, DF or AC were set at the site (or
	 * the CPU lacks sahf in 64-bit mode).  From here on nothing may change the flags.
	 */
	mov FRAME_RFLAGS-8(%rsp), %r11
	test $0x40500, %r11d		/* TF | DF | AC */
	jnz 93f
	cmpb $0, si_have_sahf(%rip)
	je 93f
	mov %r11d, %edx
	and $0x800, %edx		/* OF */
	shl $20, %edx
	add %edx, %edx			/* OF = the saved OF */
	mov %rax, %rcx
	movzbl %r11b, %eax
	xchg %al, %ah
	sahf				/* SF ZF AF PF CF */
	mov %rcx, %rax
	.cfi_remember_state
94:	lea 16(%rsp), %rsp		/* result and number slots */
	.cfi_adjust_cfa_offset -16
	pop %rdi
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rdi
	pop %rsi
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rsi
	pop %rdx
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rdx
	pop %r10
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r10
	pop %r8
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r8
	pop %r9
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r9
	pop %r11			/* site */
	.cfi_adjust_cfa_offset -8
	mov SITE_RETURN_ADDR(%r11), %rcx
	mov (%rsp), %r11		/* R11 = RFLAGS, as after a real syscall */
	lea 8(%rsp), %rsp
	.cfi_adjust_cfa_offset -8
	ret
	.cfi_restore_state
93:	pushq FRAME_RFLAGS-8(%rsp)	/* into the freed rbp slot */
	.cfi_adjust_cfa_offset 8
	popfq
	.cfi_adjust_cfa_offset -8
	jmp 94b
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
	cmp $SI_ACTION_SYSCALL, %rcx
	je .Lsyscall_\name

	/* SIGRETURN: with RSP at the signal frame; never returns. */
	mov (%rsp), %rbp
	lea FRAME_SIZE+128(%rsp), %rsp
	.cfi_undefined %rip
	syscall
	ud2
	.cfi_def_cfa %rsp, FRAME_SIZE
	.cfi_offset %rip, -8

.Lclone_stack_\name:
	/* The parent keeps this frame: it waits in the syscall with rsp = frame base. */
	pushq FRAME_RFLAGS(%rsp)
	.cfi_adjust_cfa_offset 8
	popfq
	.cfi_adjust_cfa_offset -8
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
	 * [rsp - 24] = syscall number, [rsp - 32] = clone flags (the child must not read clone3's
	 * struct: it lies in the parent's stack, which the parent may already have reused).
	 */
	.cfi_remember_state
	.cfi_undefined %rip		/* the first frame of a new thread */
	lea -8(%rsp), %rsp
	mov -8(%rsp), %r11		/* site */
	mov -16(%rsp), %rax		/* syscall number, for the frame; the result is 0 */
	mov -24(%rsp), %rcx		/* clone flags (rcx is dead after syscall) */
	PUSH_FRAME
	movq $0, FRAME_RESULT(%rbp)
	\save
	mov %rbp, %rdi
	mov %rcx, %rsi
	call si_dispatch_clone_child
	jmp .Lreturn_\name
	.cfi_restore_state

.Lvfork_\name:
	/*
	 * The syscall runs in the site's own vfork stub (emit.c), at the site's RSP with every
	 * register as the program had it: the child returns there, and so does the parent once the
	 * child has gone; the stub then calls \name\()_vfork_post below.  Unwinding from the stub is
	 * described by the trampoline's own unwind info.
	 */
	.cfi_def_cfa %rsp, FRAME_SIZE
	mov si_sud_selector@gottpoff(%rip), %rcx
	movb $0, %fs:(%rcx)		/* the safety net lets the stub's syscall through */
	mov $SITE_VFORK_STUB, %ecx
	jmp .Lto_stub_\name

.Lsyscall_\name:
	/*
	 * The syscall runs in the site's syscall stub (emit.c), the same way; the stub returns to
	 * the trampoline's resume point, so nothing of ours runs after the kernel returns.
	 */
	mov $SITE_SYSCALL_STUB, %ecx

.Lto_stub_\name:			/* rcx = where the site keeps the stub's address */
	mov FRAME_SITE(%rsp), %r11	/* (the kernel sets r11 anyway) */
	pushq FRAME_RFLAGS(%rsp)
	.cfi_adjust_cfa_offset 8
	popfq
	.cfi_adjust_cfa_offset -8
	mov (%rsp), %rbp
	lea FRAME_SIZE+128(%rsp), %rsp	/* the site's own RSP */
	.cfi_undefined %rip
	jmp *(%r11,%rcx)
	.cfi_endproc
	.size \name, . - \name

	/* Called by a vfork stub after the syscall: rax = result, r11 = site. */
	.globl \name\()_vfork_post
	.hidden \name\()_vfork_post
	.type \name\()_vfork_post, @function
	.p2align 4
\name\()_vfork_post:
	.cfi_startproc
	PUSH_FRAME
	\save
	mov %rbp, %rdi
	call si_dispatch_vfork_post
	jmp .Lreturn_\name
	.cfi_endproc
	.size \name\()_vfork_post, . - \name\()_vfork_post
.endm

ENTRY si_entry_sse, SAVE_SSE, RESTORE_SSE
ENTRY si_entry_avx, SAVE_AVX, RESTORE_AVX
ENTRY si_entry_avx512, SAVE_AVX512, RESTORE_AVX512
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
