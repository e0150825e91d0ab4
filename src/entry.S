/*
 * entry.S -- the assembly between a patched syscall site and the C dispatcher, and the raw
 * syscall.  A trampoline enters here with:
 *   rsp   S - 136, where S is the site's RSP (the red zone skipped), [rsp] = trampoline return
 *   r11   the site's struct si_site (r11 and rcx are dead: `syscall` clobbers them anyway)
 *   rax   syscall number, rdi rsi rdx r10 r8 r9 = arguments, everything else = program state
 * It saves every register the kernel would preserve that C code may clobber (argument registers,
 * RFLAGS, the vector registers XCR0 enables, MXCSR, x87 control word), calls the dispatcher on a
 * 64-byte aligned stack, restores, and returns with RAX = result, RCX = the original return
 * address, R11 = RFLAGS, as the kernel would.  It must never touch the red zone or any memory
 * above the site's RSP, never write more than 256 bytes below the site's RSP, and must never
 * assume RSP alignment at entry.
 *
 * The stack switch.  Of the interrupted stack the entry uses 16 bytes below the red zone: the
 * trampoline's return address, and RFLAGS, pushed first thing (so they are safe before any
 * instruction that changes them).  Call that address R = S - 144:
 *   [R] RFLAGS   [R + 8] return into the trampoline   R + 16 = the caller's RSP (S - 128)
 * Everything else (the frame of saved registers, the vector state, the dispatcher, the hooks,
 * the logger) runs on a stack of the library's own, per thread (stack.c, entry_layout.h): a
 * reservation of STK_LEVELS stacks of 256 KiB with a guard page below each, made by the entry
 * itself (raw mmap) the first time the thread needs it.  A level belongs to one activation
 * (one trip through the entry that came from outside the library stacks): its record, the
 * word at the level's top - 8, is 0 when the level is free, REC_BUILDING while its owner
 * writes its frame, then the owner's R.  The decision, with rcx as scratch:
 *   - level 0's record is 0 (the common case: si_stack.fast is level 0's top): the frame goes
 *     at its top;
 *   - else (slow path, where the site moves below R to free r11 as well): RSP already inside
 *     the reservation (a signal handler that interrupted a hook, or code a hook runs, made
 *     this syscall): the frame goes right below, on the same stack; else the first free level
 *     (made read-write if it never was), and stack.c's si_stack_check frees the levels of
 *     activations that a longjmp left behind, so "in use" never sticks;
 *   - no reservation yet (fast points at a record that is never free): it is made (raw
 *     syscalls); if memory has run out, the syscall goes to the kernel as it is (the hooks do
 *     not see it; one message on stderr);
 *   - the TLS block shared with another running thread (a clone with CLONE_VM but without
 *     CLONE_SETTLS), or every level taken: the frame goes on the interrupted stack, as before.
 * The frame is written with mov (the first store, REC_BUILDING into the record, is the claim;
 * the last, R, completes it), then RSP moves into it.  A signal handler that interrupts any of
 * this and makes syscalls either completes its own activation before the interrupted one
 * resumes, or finds the level claimed: the levels are safe against nesting without atomic
 * instructions.  On the way out the registers are reloaded, RSP goes back to R, and only then
 * is the level released (its record set to 0).
 *
 * Frame (FRAME_* of entry_layout.h), rbp points at it from the prologue to the epilogue:
 *   rbp  result  nr  rdi rsi rdx r10 r8 r9  site  rbx  R (FRAME_PROG_RSP)
 * Its CFI gives the unwinder the CFA as [rbp + FRAME_PROG_RSP] + 16 (DW_CFA_def_cfa_expression)
 * and each saved register at its slot (DW_CFA_expression), so backtraces, gdb, pthread_cancel
 * and C++ unwinding walk from a hook across the stack switch into the program.  The entry's FDE
 * is marked as a signal frame: gdb refuses a caller whose frame lies below its callee's, which
 * after a switch between two stacks depends on where they were mapped, except across a signal
 * frame.
 *
 * Register roles through the entry:
 *   rax   syscall number (the vfork-post entry: the vfork result) until the frame holds it, then
 *         the dispatcher's result (or number, for an in-place action)
 *   rcx   scratch: the TLS offset of si_stack, level 0's top, the action; at the end the return
 *         address the kernel would have left
 *   r11   the site until the frame holds it (the slow path keeps it at [R - 8] and uses r11 for
 *         the reservation's base, then the frame's top); the stub to jump to; at the end RFLAGS
 *   rdx   the dispatcher's action (SI_ACTION_*) on return, else the program's
 *   rbx   R from the frame's completion to the epilogue (program rbx saved in the frame): the
 *         way back to the interrupted stack without waiting for a load
 *   rbp   the frame (program rbp saved in it)
 *   rsp   S - 136, R, then the frame and the vector save area below it
 *   rdi rsi r10 r8 r9, r12-r15  the program's (C code preserves rbx rbp r12-r15)
 *
 * Five special cases run the syscall outside C, with the exact program registers (si_dispatch
 * returns a nonzero action in RDX and the syscall number in RAX):
 *   SIGRETURN    rt_sigreturn needs RSP exactly at the signal frame.
 *   CLONE_STACK  clone/clone3 with a new stack: the child starts on that stack and can never
 *                return through this frame.  The dispatcher stored site->resume at
 *                [child_sp - 8], the site at [child_sp - 16], the number at [child_sp - 24],
 *                the clone flags at [child_sp - 32].  The parent waits in the syscall on the
 *                library stack, its level kept; the child runs its part on its own new stack
 *                (it may share the parent's TLS, and so its levels).
 *   SYSCALL      the common case, a syscall to run with nothing to do after it: it runs in a
 *                stub of the site's trampoline, at the site's RSP, which goes straight back
 *                to the program.  The level is released before.
 *   VFORK        the child borrows the parent's stack until exec/_exit and overwrites whatever
 *                lies below the site's RSP: the syscall runs at the site's RSP in a stub of
 *                the site's own trampoline, keeping nothing in memory below it (the level is
 *                released first); the stub then enters <entry>_vfork_post.
 *   EXIT         a thread's exit syscall, when its library stacks may be freed: they are
 *                unmapped from the interrupted stack, then exit runs from here.
 */
#include "entry_layout.h"

#define NR_write	1
#define NR_mmap		9
#define NR_mprotect	10
#define NR_munmap	11
#define NR_rt_sigreturn	15
#define NR_clone	56
#define NR_fork		57
#define NR_vfork	58
#define NR_exit		60
#define NR_clone3	435

	.text

/* DWARF register numbers, and DW_OP_breg0 (breg<n> = DW_OP_BREG + n) */
#define DW_RDX	1
#define DW_RCX	2
#define DW_RBX	3
#define DW_RSI	4
#define DW_RDI	5
#define DW_RBP	6
#define DW_R8	8
#define DW_R9	9
#define DW_R10	10
#define DW_R11	11
#define DW_OP_BREG 0x70

#if FRAME_PROG_RSP != 88 || PROG_CFA != 16 || FRAME_R9 != 64 || FRAME_RBX != 80 || \
    FRAME_SIZE != 96
#error "the CFI escapes below encode these offsets"
#endif

/*
 * CFA = [\breg + \off] + PROG_CFA: \off the frame's FRAME_PROG_RSP from that register, as a
 * two-byte SLEB128 (0xd8 0x00 = 88, 0xe0 0x00 = 96).  rbx is kept at the frame's FRAME_RBX.
 */
.macro CFA_VIA breg, off0, off1, rbx0, rbx1
	.cfi_escape 0x0f, 6, \breg, \off0, \off1, 0x06, 0x23, PROG_CFA
	.cfi_escape 0x10, DW_RBX, 3, \breg, \rbx0, \rbx1
.endm
/* rsp or rbp pointing at the frame; with rbp, where each register the frame holds is kept */
.macro CFA_VIA_RSP
	CFA_VIA 0x77, 0xd8, 0x00, 0xd0, 0x00
.endm
.macro CFA_VIA_RBP
	CFA_VIA 0x76, 0xd8, 0x00, 0xd0, 0x00
	.cfi_escape 0x10, DW_RBP, 2, 0x76, FRAME_RBP
	.cfi_escape 0x10, DW_RDI, 2, 0x76, FRAME_RDI
	.cfi_escape 0x10, DW_RSI, 2, 0x76, FRAME_RSI
	.cfi_escape 0x10, DW_RDX, 2, 0x76, FRAME_RDX
	.cfi_escape 0x10, DW_R10, 2, 0x76, FRAME_R10
	.cfi_escape 0x10, DW_R8, 2, 0x76, FRAME_R8
	.cfi_escape 0x10, DW_R9, 3, 0x76, 0xc0, 0x00
.endm
/* the argument registers hold the program's values again */
.macro CFI_ARGS_IN_PLACE
	.irp r,rdi,rsi,rdx,r10,r8,r9
	.cfi_restore %\r
	.endr
.endm
/* on the interrupted stack, RSP = R + \off, every program register in place */
.macro CFA_AT_R off=0
	.cfi_def_cfa %rsp, PROG_CFA+\off
	.cfi_offset %rip, -8
	.cfi_restore %rbx
	.cfi_restore %rbp
	CFI_ARGS_IN_PLACE
.endm
/* on the library stack, rbp = the frame, the argument registers reloaded from it */
.macro CFA_FRAME_ARGS_BACK
	CFA_VIA_RBP
	.cfi_offset %rip, -8
	CFI_ARGS_IN_PLACE
.endm
/* the program's argument registers back from the frame (rbp) */
.macro RELOAD_ARGS
	mov FRAME_RDI(%rbp), %rdi
	mov FRAME_RSI(%rbp), %rsi
	mov FRAME_RDX(%rbp), %rdx
	mov FRAME_R10(%rbp), %r10
	mov FRAME_R8(%rbp), %r8
	mov FRAME_R9(%rbp), %r9
	CFI_ARGS_IN_PLACE
.endm

/*
 * The frame at \top - FRAME_SIZE (\top 16-byte aligned, \dw its DWARF number), with rsp = R and
 * \site the site.  The first store claims a level when \top is a level's top (its record
 * becomes REC_BUILDING); the last one, R, tells stack.c the frame is complete.  Then rsp and
 * rbp move to the frame, and rbx takes R.  The result slot is filled here only for the
 * vfork-post entry, whose rax is a result; the other paths that use it fill it themselves.
 */
.macro BUILD_FRAME top, site, dw, result=0
	movq $REC_BUILDING, FRAME_PROG_RSP-FRAME_SIZE(\top)
	mov %rbp, FRAME_RBP-FRAME_SIZE(\top)
	mov %rax, FRAME_NR-FRAME_SIZE(\top)
.if \result
	mov %rax, FRAME_RESULT-FRAME_SIZE(\top)
.endif
	mov %rdi, FRAME_RDI-FRAME_SIZE(\top)
	mov %rsi, FRAME_RSI-FRAME_SIZE(\top)
	mov %rdx, FRAME_RDX-FRAME_SIZE(\top)
	mov %r10, FRAME_R10-FRAME_SIZE(\top)
	mov %r8, FRAME_R8-FRAME_SIZE(\top)
	mov %r9, FRAME_R9-FRAME_SIZE(\top)
	mov \site, FRAME_SITE-FRAME_SIZE(\top)
	mov %rbx, FRAME_RBX-FRAME_SIZE(\top)
	mov %rsp, %rbx			/* R, kept through the C calls (rbx is callee-saved) */
	.cfi_escape 0x10, DW_RBX, 2, DW_OP_BREG+\dw, (FRAME_RBX-FRAME_SIZE)&0x7f
	mov %rsp, FRAME_PROG_RSP-FRAME_SIZE(\top)
	lea -FRAME_SIZE(\top), %rsp
	CFA_VIA_RSP
	mov %rsp, %rbp
	CFA_VIA_RBP
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

/*
 * From the trampoline's call to the C function \dispatch(frame), the frame built and the vector
 * state saved.  \tag names the labels; \post is 1 for the vfork-post entry (rax holds the vfork
 * result).  The paths that leave the fast one are ENTER_SLOW's, emitted after the function's
 * main body; they come back at .Lbuilt_\tag.
 */
.macro ENTER_FAST tag, save, dispatch, post=0
	pushfq				/* [R] = RFLAGS, before anything changes them */
	.cfi_adjust_cfa_offset 8
.if \post
	test %rax, %rax
	jz .Lretry_\tag			/* the child */
	call si_stack_vfork_release	/* the parent, its child gone */
.endif
.Lretry_\tag:				/* r11 = the site */
	mov si_stack@gottpoff(%rip), %rcx
	mov %fs:STK_FAST(%rcx), %rcx	/* level 0's top, or a record that is never free */
	/*
	 * Level 0 free: RSP cannot be on it (a level nobody owns runs no code), and if it is on
	 * another level, level 0 is as good as any free one.
	 */
	cmpq $0, -STK_RECORD(%rcx)
	jne .Lslow_\tag
	BUILD_FRAME %rcx, %r11, DW_RCX, \post
.Lbuilt_\tag:
	\save
	mov %rbp, %rdi
	call \dispatch
.endm

/*
 * The ways into a frame other than level 0: rsp = R, r11 = the site, rcx scratch.  The site
 * goes below R first ([R - 8]), freeing r11; each way ends at .Lbuilt_\tag.
 */
.macro ENTER_SLOW tag, post
	CFA_AT_R
.Lslow_\tag:
	push %r11
	.cfi_adjust_cfa_offset 8
	mov si_stack@gottpoff(%rip), %rcx
	mov %fs:STK_BASE(%rcx), %r11
	mov %rsp, %rcx
	sub %r11, %rcx
	cmp $STK_MAP, %rcx
	jb .Lhere_\tag			/* already on a library stack: stay on it */
	mov si_stack@gottpoff(%rip), %rcx
	testl $STK_SHARED, %fs:STK_FLAGS(%rcx)
	jnz .Lhere_\tag			/* another thread runs on this TLS: no level is ours */
	test %r11, %r11
	jz .Lalloc_\tag
	/* The first free level: never made read-write yet, or its record 0. */
	push %rax
	.cfi_adjust_cfa_offset 8
	mov %fs:STK_READY(%rcx), %eax
	add $STK_MAP, %r11		/* r11 = top of level k, ecx = k */
	xor %ecx, %ecx
1:	bt %ecx, %eax
	jnc 2f
	cmpq $0, -STK_RECORD(%r11)
	je 3f
	sub $STK_STRIDE, %r11
	inc %ecx
	cmp $STK_LEVELS, %ecx
	jb 1b
	pop %rax			/* every level is taken: the interrupted stack, this once */
	.cfi_adjust_cfa_offset -8
	jmp .Lhere_check_\tag
	.cfi_adjust_cfa_offset 8
2:	call si_stack_grow		/* level ecx at r11: read-write, or rcx != 0 */
	test %rcx, %rcx
	jz 3f
	pop %rax
	.cfi_adjust_cfa_offset -8
	jmp .Lhere_check_\tag
	.cfi_adjust_cfa_offset 8
3:	pop %rax
	.cfi_adjust_cfa_offset -8
	pop %rcx			/* the site */
	.cfi_adjust_cfa_offset -8
	BUILD_FRAME %r11, %rcx, DW_R11, \post
	mov %rbp, %rdi
	call si_stack_check		/* frees levels that longjmp left behind */
	jmp .Lbuilt_\tag

	CFA_AT_R 8
.Lhere_check_\tag:			/* [R - 8] = the site */
	pop %rcx
	.cfi_adjust_cfa_offset -8
	mov %rsp, %r11
	and $-16, %r11
	BUILD_FRAME %r11, %rcx, DW_R11, \post
	mov %rbp, %rdi
	call si_stack_check
	jmp .Lbuilt_\tag

	CFA_AT_R 8
.Lhere_\tag:				/* the frame right below, on the stack we are on */
	pop %rcx
	.cfi_adjust_cfa_offset -8
	mov %rsp, %r11
	and $-16, %r11
	BUILD_FRAME %r11, %rcx, DW_R11, \post
	jmp .Lbuilt_\tag

	CFA_AT_R 8
.Lalloc_\tag:				/* this thread's first need of a library stack */
	call si_stack_alloc		/* r11 = the reservation, or 0 */
	test %r11, %r11
	pop %r11			/* the site (pop keeps the flags) */
	.cfi_adjust_cfa_offset -8
	jnz .Lretry_\tag
.if \post
	push %r11
	.cfi_adjust_cfa_offset 8
	jmp .Lhere_\tag
.else
	/*
	 * Out of memory: the kernel runs the syscall as it is.  rt_sigreturn from here at the
	 * site's RSP; the clone family needs the full path (its child starts in a stub), on the
	 * interrupted stack as before; anything else from here, with the program's RFLAGS.
	 */
	cmp $NR_rt_sigreturn, %rax
	je 4f
	cmp $NR_clone, %rax
	je 5f
	cmp $NR_fork, %rax
	je 5f
	cmp $NR_vfork, %rax
	je 5f
	cmp $NR_clone3, %rax
	je 5f
	mov %r11, -8(%rsp)		/* the site, where no signal frame goes (red zone) */
	popfq
	.cfi_adjust_cfa_offset -8
	syscall				/* rax = result, r11 = RFLAGS as the kernel leaves it */
	mov -16(%rsp), %rcx
	mov SITE_RETURN_ADDR(%rcx), %rcx
	ret
	CFA_AT_R
4:	lea PROG_CFA+128(%rsp), %rsp	/* the site's RSP: the signal frame */
	.cfi_undefined %rip
	syscall
	ud2
	CFA_AT_R
5:	push %r11
	.cfi_adjust_cfa_offset 8
	jmp .Lhere_\tag
.endif
.endm

/* Back on the interrupted stack at R, rbx and rbp the program's again, the level released. */
.macro LEAVE_FRAME
	mov %rbx, %rsp
	.cfi_def_cfa %rsp, PROG_CFA
	mov FRAME_RBX(%rbp), %rbx
	.cfi_restore %rbx
	mov %rbp, %rcx
	mov FRAME_RBP(%rcx), %rbp
	.cfi_restore %rbp
	movq $0, FRAME_PROG_RSP(%rcx)	/* the level is free */
.endm

.macro ENTRY name, save, restore
	.globl \name
	.hidden \name
	.type \name, @function
	.p2align 5
\name:
	.cfi_startproc
	.cfi_signal_frame
	ENTER_FAST \name, \save, si_dispatch	/* rax = result (or nr), rdx = action */
	test %rdx, %rdx
	jnz .Lspecial_\name

.Lreturn_\name:				/* rax = result; vectors saved at rsp; rbp = the frame */
	\restore
	RELOAD_ARGS
	mov %rbx, %rsp			/* back at R; the level stays ours until released */
	.cfi_def_cfa %rsp, PROG_CFA
	mov FRAME_RBX(%rbp), %rbx
	.cfi_restore %rbx
	/*
	 * RFLAGS back as at the site.  popfq is slow (~6 ns); the arithmetic flags are restored
	 * with sahf and an overflowing add instead, unless TF, DF or AC were set at the site (or
	 * the CPU lacks sahf in 64-bit mode).  From here on nothing may change the flags.
	 */
	mov PROG_RFLAGS(%rsp), %r11
	test $0x40500, %r11d		/* TF | DF | AC */
	jnz 93f
	cmpb $0, si_have_sahf(%rip)
	je 93f
	mov %r11d, %ecx
	and $0x800, %ecx		/* OF */
	shl $20, %ecx
	add %ecx, %ecx			/* OF = the saved OF */
	mov %rax, %rcx
	movzbl %r11b, %eax
	xchg %al, %ah
	sahf				/* SF ZF AF PF CF */
	mov %rcx, %rax
	.cfi_remember_state
94:	mov FRAME_SITE(%rbp), %rcx
	mov SITE_RETURN_ADDR(%rcx), %rcx	/* RCX as the kernel leaves it */
	mov %rbp, %r11
	mov FRAME_RBP(%r11), %rbp
	.cfi_restore %rbp
	movq $0, FRAME_PROG_RSP(%r11)	/* the level is free */
	pop %r11			/* R11 = RFLAGS, as after a real syscall */
	.cfi_adjust_cfa_offset -8
	ret
	.cfi_restore_state
93:	pushq PROG_RFLAGS(%rsp)
	.cfi_adjust_cfa_offset 8
	popfq
	.cfi_adjust_cfa_offset -8
	jmp 94b

	CFA_VIA_RBP
	.cfi_offset %rip, -8
.Lspecial_\name:			/* rax = syscall number, rdx = action; rbp = the frame */
	\restore
	mov %rdx, %rcx
	RELOAD_ARGS
	cmp $SI_ACTION_CLONE_STACK, %ecx
	je .Lclone_stack_\name
	cmp $SI_ACTION_EXIT, %ecx
	je .Lexit_\name
	mov FRAME_SITE(%rbp), %r11
	cmp $SI_ACTION_SYSCALL, %ecx
	jne 1f
	/*
	 * The syscall runs in the site's syscall stub (emit.c), at the site's RSP with every
	 * register as the program had it; the stub returns to the trampoline's resume point, so
	 * nothing of ours runs after the kernel returns.
	 */
	mov SITE_SYSCALL_STUB(%r11), %r11
	jmp .Lto_stub_\name
1:	cmp $SI_ACTION_VFORK, %ecx
	jne .Lsigreturn_\name
	/*
	 * The syscall runs in the site's own vfork stub (emit.c), the same way: the child returns
	 * there, and so does the parent once the child has gone; the stub then calls
	 * \name\()_vfork_post below.  Unwinding from the stub is described by the trampoline's
	 * own unwind info.
	 */
	mov si_sud_selector@gottpoff(%rip), %rcx
	movb $0, %fs:(%rcx)		/* the safety net lets the stub's syscall through */
	mov SITE_VFORK_STUB(%r11), %r11

.Lto_stub_\name:			/* r11 = the stub: run it at the site's RSP */
	LEAVE_FRAME
	popfq
	.cfi_adjust_cfa_offset -8
	lea 8+128(%rsp), %rsp		/* the site's own RSP */
	.cfi_undefined %rip
	jmp *%r11

	CFA_FRAME_ARGS_BACK
.Lsigreturn_\name:			/* with RSP at the signal frame; never returns */
	LEAVE_FRAME
	lea PROG_CFA+128(%rsp), %rsp
	.cfi_undefined %rip
	syscall
	ud2

	CFA_FRAME_ARGS_BACK
.Lclone_stack_\name:
	/*
	 * The parent keeps its frame and its level: it waits in the syscall with rsp = the frame,
	 * rbp, rbx and RFLAGS the program's.
	 */
	mov %rbp, %rsp
	CFA_VIA_RSP
	.cfi_escape 0x10, DW_RBP, 2, 0x77, FRAME_RBP
	pushq PROG_RFLAGS(%rbx)
	CFA_VIA 0x77, 0xe0, 0x00, 0xd8, 0x00
	.cfi_escape 0x10, DW_RBP, 2, 0x77, FRAME_RBP+8
	popfq
	CFA_VIA_RSP
	.cfi_escape 0x10, DW_RBP, 2, 0x77, FRAME_RBP
	mov FRAME_RBP(%rsp), %rbp
	.cfi_restore %rbp
	mov FRAME_RBX(%rsp), %rbx
	.cfi_restore %rbx
	syscall
	mov %rax, %rcx			/* jrcxz: branch without touching RFLAGS */
	jrcxz 7f
	jmp 8f
7:	jmp .Lclone_child_\name
8:	mov %rsp, %rbp
	CFA_VIA_RBP
	mov FRAME_PROG_RSP(%rbp), %rbx
	mov %rax, FRAME_RESULT(%rbp)
	\save
	mov %rbp, %rdi
	call si_dispatch_post
	jmp .Lreturn_\name

	.cfi_def_cfa %rsp, 0
	.cfi_undefined %rip		/* the first frame of a new thread */
.Lclone_child_\name:
	/*
	 * New stack: [rsp - 8] = site->resume, becomes our return address; [rsp - 16] = site,
	 * [rsp - 24] = syscall number, [rsp - 32] = clone flags (the child must not read clone3's
	 * struct: it lies in the parent's stack, which the parent may already have reused).  The
	 * frame goes on this new stack, below the flags: the child may share its parent's TLS,
	 * and so its levels.
	 */
	lea -8(%rsp), %rsp
	mov -8(%rsp), %r11		/* site */
	mov -16(%rsp), %rax		/* syscall number, for the frame; the result is 0 */
	mov -24(%rsp), %rcx		/* clone flags (rcx is dead after syscall) */
	pushfq				/* R */
	mov %rcx, -8(%rsp)
	mov %rsp, %rcx
	and $-16, %rcx
	sub $16, %rcx
	BUILD_FRAME %rcx, %r11, DW_RCX
	movq $0, FRAME_RESULT(%rbp)
	\save
	mov %rbp, %rdi
	mov -8(%rbx), %rsi		/* the clone flags */
	call si_dispatch_clone_child
	jmp .Lreturn_\name

	CFA_FRAME_ARGS_BACK
.Lexit_\name:
	/*
	 * The thread's last syscall (stack.c allowed it): back on the interrupted stack, forget the
	 * reservation (a signal before exit would make a new one), unmap it and exit, from our own
	 * text so that the safety net lets both through.  Nothing here returns.
	 */
	mov %rbx, %rsp
	.cfi_def_cfa %rsp, PROG_CFA
	mov FRAME_RBX(%rbp), %rbx
	.cfi_restore %rbx
	mov FRAME_RBP(%rbp), %rbp
	.cfi_restore %rbp
	mov si_stack@gottpoff(%rip), %rcx
	mov %fs:STK_BASE(%rcx), %r11
	lea si_stack_no_level+STK_RECORD(%rip), %rdx
	mov %rdx, %fs:STK_FAST(%rcx)
	movq $0, %fs:STK_BASE(%rcx)
	movl $0, %fs:STK_READY(%rcx)
	mov %rdi, %rbx			/* the exit status */
	mov %r11, %rdi
	mov $STK_MAP, %esi
	mov $NR_munmap, %eax
	syscall
	mov %rbx, %rdi
	mov $NR_exit, %eax
	syscall
	ud2

	ENTER_SLOW \name, 0
	.cfi_endproc
	.size \name, . - \name

	/* Called by a vfork stub after the syscall: rax = result, r11 = site. */
	.globl \name\()_vfork_post
	.hidden \name\()_vfork_post
	.type \name\()_vfork_post, @function
	.p2align 4
\name\()_vfork_post:
	.cfi_startproc
	.cfi_signal_frame
	ENTER_FAST \name\()_vp, \save, si_dispatch_vfork_post, 1
	jmp .Lreturn_\name
	ENTER_SLOW \name\()_vp, 1
	.cfi_endproc
	.size \name\()_vfork_post, . - \name\()_vfork_post
.endm

ENTRY si_entry_sse, SAVE_SSE, RESTORE_SSE
ENTRY si_entry_avx, SAVE_AVX, RESTORE_AVX
ENTRY si_entry_avx512, SAVE_AVX512, RESTORE_AVX512
ENTRY si_entry_novec, SAVE_NONE, RESTORE_NONE

/*
 * The slow path's system calls, made on the interrupted stack (the site, rax, the call and these
 * seven: at most 80 bytes below R, 224 below the site's RSP), preserving every register but
 * rcx, r11 and RFLAGS.
 */
.macro SAVE_SYSCALL_REGS
	.irp r,rax,rdi,rsi,rdx,r10,r8,r9
	push %\r
	.cfi_adjust_cfa_offset 8
	.endr
.endm
.macro RESTORE_SYSCALL_REGS
	.irp r,r9,r8,r10,rdx,rsi,rdi,rax
	pop %\r
	.cfi_adjust_cfa_offset -8
	.endr
.endm

/*
 * si_stack_alloc: the calling thread's reservation, STK_MAP bytes of PROT_NONE with levels 0
 * and 1 made read-write (the lowest page of each stays its guard).  Returns r11 = its base with
 * si_stack updated, or r11 = 0 when memory has run out (said once on stderr).  If a signal
 * handler made one for this thread meanwhile, that one is kept.
 */
	.p2align 4
	.type si_stack_alloc, @function
si_stack_alloc:
	.cfi_startproc
	SAVE_SYSCALL_REGS
	xor %edi, %edi
	mov $STK_MAP, %esi
	xor %edx, %edx			/* PROT_NONE */
	mov $0x4022, %r10d		/* MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE */
	mov $-1, %r8
	xor %r9d, %r9d
	mov $NR_mmap, %eax
	syscall
	cmp $-4095, %rax
	jae 8f
	mov %rax, %r9			/* the base */
	lea STK_MAP-STK_STRIDE+STK_GUARD(%rax), %rdi
	mov $STK_STRIDE-STK_GUARD, %esi
	mov $3, %edx			/* PROT_READ | PROT_WRITE */
	mov $NR_mprotect, %eax
	syscall
	test %rax, %rax
	jnz 7f
	/*
	 * Level 1 too: it serves the children of posix_spawn (CLONE_VM | CLONE_VFORK, on this
	 * TLS while level 0 holds the parent) and handlers on an alternate signal stack; made now,
	 * its mprotect does not show up in the middle of a child's syscalls.  If refused, it is
	 * made when first needed.
	 */
	lea STK_MAP-2*STK_STRIDE+STK_GUARD(%r9), %rdi
	mov $STK_STRIDE-STK_GUARD, %esi
	mov $3, %edx
	mov $NR_mprotect, %eax
	syscall
	mov $1, %r8d			/* ready: levels 0 and 1, or 0 alone if refused */
	test %rax, %rax
	jnz 5f
	mov $3, %r8d
5:	mov si_stack@gottpoff(%rip), %rcx
	mov %fs:STK_BASE(%rcx), %r11
	test %r11, %r11
	jnz 6f				/* made by a signal handler in the meantime */
	mov %r9, %fs:STK_BASE(%rcx)
	or %r8d, %fs:STK_READY(%rcx)
	lea STK_MAP(%r9), %r11
	mov %r11, %fs:STK_FAST(%rcx)	/* last: the fast path may use it from now on */
	mov %r9, %r11
	RESTORE_SYSCALL_REGS
	ret
	.cfi_adjust_cfa_offset 56
6:	mov %r9, %rdi			/* ours is not needed */
	mov $STK_MAP, %esi
	mov $NR_munmap, %eax
	syscall
	mov si_stack@gottpoff(%rip), %rcx
	mov %fs:STK_BASE(%rcx), %r11
	RESTORE_SYSCALL_REGS
	ret
	.cfi_adjust_cfa_offset 56
7:	mov %r9, %rdi
	mov $STK_MAP, %esi
	mov $NR_munmap, %eax
	syscall
8:	lock btsl $0, si_stack_said_no_memory(%rip)
	jc 9f
	mov $2, %edi
	lea no_memory_msg(%rip), %rsi
	mov $(no_memory_end - no_memory_msg), %edx
	mov $NR_write, %eax
	syscall
9:	xor %r11d, %r11d
	RESTORE_SYSCALL_REGS
	ret
	.cfi_endproc
	.size si_stack_alloc, . - si_stack_alloc

/*
 * si_stack_grow: level ecx, whose top is r11, made read-write for its first use.  Returns
 * rcx = 0, or nonzero when the kernel refused (memory has run out); keeps r11.
 */
	.p2align 4
	.type si_stack_grow, @function
si_stack_grow:
	.cfi_startproc
	SAVE_SYSCALL_REGS
	mov %ecx, %r8d			/* k */
	lea -STK_STRIDE+STK_GUARD(%r11), %rdi
	mov $STK_STRIDE-STK_GUARD, %esi
	mov $3, %edx			/* PROT_READ | PROT_WRITE */
	mov %r11, %r9
	mov $NR_mprotect, %eax
	syscall
	mov %r9, %r11
	mov %rax, %rcx
	test %rax, %rax
	jnz 1f
	mov si_stack@gottpoff(%rip), %rax
	btsl %r8d, %fs:STK_READY(%rax)
1:	RESTORE_SYSCALL_REGS
	ret
	.cfi_endproc
	.size si_stack_grow, . - si_stack_grow

/*
 * si_stack_vfork_release: in the parent of a vfork, once the child has exec'd or exited: the
 * levels owned now but not when the vfork started were the child's: they are released.  Uses
 * rcx and RFLAGS only.
 */
	.p2align 4
	.type si_stack_vfork_release, @function
si_stack_vfork_release:
	.cfi_startproc
	.irp r,rax,rdx,r11
	push %\r
	.cfi_adjust_cfa_offset 8
	.endr
	mov si_stack@gottpoff(%rip), %rcx
	mov %fs:STK_BASE(%rcx), %r11
	test %r11, %r11
	jz 3f
	mov %fs:STK_READY(%rcx), %eax
	mov %fs:STK_VFORK(%rcx), %edx
	add $STK_MAP, %r11		/* r11 = top of level k, ecx = k */
	xor %ecx, %ecx
1:	bt %ecx, %eax
	jnc 2f				/* never used */
	bt %ecx, %edx
	jc 2f				/* owned before the vfork */
	movq $0, -STK_RECORD(%r11)
2:	sub $STK_STRIDE, %r11
	inc %ecx
	cmp $STK_LEVELS, %ecx
	jb 1b
3:	.irp r,r11,rdx,rax
	pop %\r
	.cfi_adjust_cfa_offset -8
	.endr
	ret
	.cfi_endproc
	.size si_stack_vfork_release, . - si_stack_vfork_release

	.section .rodata
no_memory_msg:
	.ascii "syscall_intercept: cannot map a stack for the library (out of memory): "
	.ascii "this thread's syscalls run without the hooks until memory is available\n"
no_memory_end:
	.text

	.local si_stack_said_no_memory
	.comm si_stack_said_no_memory, 4, 4

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
