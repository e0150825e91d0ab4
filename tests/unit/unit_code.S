/*
 * unit_code.S -- machine code for the unit tests of the patching pipeline.  Snippets u_*_start
 * .. u_*_end are analysed and planned as byte patterns (most are never executed); the u_exec_*
 * functions are also run, after their instructions were relocated elsewhere, to check that a
 * moved instruction still does the same thing.  Interesting addresses are listed in data tables
 * (u_*_marks) by local label, so that no symbol lands on them.  Nothing here may be changed
 * without updating what unit_tests.c expects of it.
 */
.macro MARKS name, labels:vararg
	.pushsection .data.rel.ro, "aw"
	.balign 8
	.globl u_\name\()_marks
u_\name\()_marks:
	.irp l, \labels
	.quad \l
	.endr
	.quad 0
	.popsection
.endm
.macro G name
	.globl \name
\name:
.endm

	.text

/* ---- basic: every instruction class the analysis must recognise -------------------------- */
	.p2align 4
G u_basic_start
.Lb_endbr:
	endbr64
	mov $39, %eax
.Lb_sys1:
	syscall
.Lb_ret:
	ret
.Lb_pad:
	.fill 11, 1, 0xcc
G u_basic_f2
.Lb_lea:
	lea u_val(%rip), %rdx
	mov $39, %eax
.Lb_sys2:
	syscall
.Lb_jnz:
	jnz .Lb_tgt
	neg %rax
.Lb_tgt:
	ret
	.fill 8, 1, 0x90
G u_basic_f3
.Lb_call:
	call u_basic_f2
	ret
G u_basic_end
/* syscalls, a jcc target, a call target, endbr, rip-relative lea, jcc, call, int3, ret */
MARKS basic, .Lb_sys1, .Lb_sys2, .Lb_tgt, u_basic_f2, .Lb_endbr, .Lb_lea, .Lb_jnz, .Lb_call, .Lb_pad, .Lb_ret

/* ---- every neighbour a target: two syscalls that only padding can serve ------------------- */
	.p2align 4
G u_dense_start
	jmp .Ld1
	jmp .Ld2
	jmp .Ld3
	jmp .Ld4
	jmp .Ld5
.Ld1:	mov $39, %eax
.Ld2:	syscall
.Ld3:	nop
.Ld4:	syscall
.Ld5:	ret
	.fill 16, 1, 0xcc
G u_dense_end
MARKS dense, .Ld2, .Ld4

/* ---- calls next to syscalls: a call must never be moved ----------------------------------- */
	.p2align 4
G u_calls_start
	jmp .Lc_after1		/* makes the ret after the first syscall a target */
	call u_basic_f2
.Lc_sys1:
	syscall
.Lc_after1:
	ret
	.fill 8, 1, 0xcc
G u_calls_f2
.Lc_sys2:			/* a function start: the window can only grow forward */
	syscall
	call u_basic_f2
	ret
	.fill 8, 1, 0xcc
G u_calls_f3
	call *u_fnptr(%rip)
.Lc_sys3:
	syscall
	jmp .Lc_sys3b
.Lc_sys3b:
	ret
G u_calls_end
MARKS calls, .Lc_sys1, .Lc_sys2, .Lc_sys3

/* ---- a busy region: syscalls two and three bytes apart, loops, rel8 jumps both ways -------- */
	.p2align 4
G u_busy_start
	mov $1, %eax
	syscall
	syscall
	syscall
	cmp $3, %rax
	jne u_busy_start
1:	mov $39, %eax
	syscall
	test %rax, %rax
	js 1b
	lea u_val(%rip), %rsi
	syscall
	add u_val(%rip), %rax
	jmp 2f
	nop
2:	syscall
	jz 1b
	syscall
	ret
	.fill 3, 1, 0xcc
	mov $60, %eax
	syscall
	hlt
	.fill 7, 1, 0x90
G u_busy_end

/* ---- short neighbours: a window must start with an instruction shorter than its jump ------
 * (glibc's exit loop has this shape).  No padding within 127 bytes: filler on both sides. */
	.p2align 4
G u_short_start
	.rept 70
	mov %rax, %rdx
	.endr
.Ls_loop:
	xor %edi, %edi
	mov %edx, %eax
.Ls_sys:
	syscall
	jmp .Ls_loop
	.rept 70
	mov %rax, %rdx
	.endr
	ret
G u_short_end
MARKS short, .Ls_sys

/* ---- a signal restorer as glibc writes it: its FDE ('S' augmentation) starts one byte early,
 * inside the padding before it (never run).  The sweep must decode the restorer from its
 * first byte, not from the FDE's start. */
	.p2align 4
G u_sigframe_start
	ret
	.byte 0x0f, 0x1f, 0x40		/* nopl 0x0(%rax), less its last byte */
	.cfi_startproc
	.cfi_signal_frame
	.byte 0x00			/* the FDE starts here, at the nopl's last byte */
G u_sigframe_restorer
	mov $15, %rax
.Lsf_sys:
	syscall
	.cfi_endproc
	.rept 70
	mov %rax, %rdx
	.endr
	ret
G u_sigframe_end
MARKS sigframe, .Lsf_sys

/* ---- landing pads in LSDA forms GCC does not emit by default (never run) ------------------ */
/* u_lsda_a: LPStart given (pc-relative sdata4, not the function start), a type table, udata4
 * call sites, one of them without a landing pad (0) */
	.p2align 4
G u_lsda_start
	.cfi_startproc
	.cfi_personality 0x9b, DW.ref.__gcc_personality_v0
	.cfi_lsda 0x1b, .Lul_lsda_a
	push %rbx
	.cfi_def_cfa_offset 16
.Lul_cs1:
	call u_basic_f2
.Lul_cs2:
	call u_basic_f2
.Lul_cs3:
	call u_basic_f2
.Lul_cs_end:
	pop %rbx
	.cfi_remember_state
	.cfi_def_cfa_offset 8
	ret
	.cfi_restore_state
.Lul_lpstart:
	nop
.Lul_pad1:
	mov $39, %eax
	syscall
.Lul_pad2:
	nop
	pop %rbx
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
/* u_lsda_b: function-relative udata4 LPStart, sleb128 call sites, the LSDA pointer as a
 * pc-relative sdata8 (a second CIE) */
	.p2align 4
G u_lsda_b
	.cfi_startproc
	.cfi_personality 0x9b, DW.ref.__gcc_personality_v0
	.cfi_lsda 0x1c, .Lul_lsda_b
	push %rbx
	.cfi_def_cfa_offset 16
.Lul_b_cs:
	call u_basic_f2
.Lul_b_cs_end:
	pop %rbx
	.cfi_remember_state
	.cfi_def_cfa_offset 8
	ret
	.cfi_restore_state
	mov $39, %eax
	syscall
.Lul_pad3:
	mov %rax, %rbx
	pop %rbx
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
G u_lsda_end
MARKS lsda, .Lul_pad1, .Lul_pad2, .Lul_pad3

	.section .gcc_except_table, "a", @progbits
.Lul_lsda_a:
	.byte 0x1b			/* LPStart: pc-relative sdata4 */
	.long .Lul_lpstart - .
	.byte 0x9b			/* TType: indirect pc-relative sdata4, and its offset */
	.uleb128 .Lul_ttype - .Lul_ttype_off
.Lul_ttype_off:
	.byte 0x03			/* call sites: udata4 */
	.uleb128 .Lul_cs_a_end - .Lul_cs_a
.Lul_cs_a:
	.long .Lul_cs1 - u_lsda_start, .Lul_cs2 - .Lul_cs1, 0	/* no landing pad */
	.uleb128 0
	.long .Lul_cs2 - u_lsda_start, .Lul_cs3 - .Lul_cs2, .Lul_pad1 - .Lul_lpstart
	.uleb128 1
	.long .Lul_cs3 - u_lsda_start, .Lul_cs_end - .Lul_cs3, .Lul_pad2 - .Lul_lpstart
	.uleb128 0
.Lul_cs_a_end:
	.byte 1, 0			/* action 1: type filter 1, no next action */
	.balign 4
	.long 0				/* type 1: catch (...) */
.Lul_ttype:
.Lul_lsda_b:
	.byte 0x43			/* LPStart: function-relative udata4 */
	.long .Lul_b_cs - u_lsda_b	/* = the call site: pads count from there */
	.byte 0xff			/* no type table */
	.byte 0x09			/* call sites: sleb128 */
	.uleb128 .Lul_cs_b_end - .Lul_cs_b
.Lul_cs_b:
	.sleb128 .Lul_b_cs - u_lsda_b, .Lul_b_cs_end - .Lul_b_cs, .Lul_pad3 - .Lul_b_cs
	.uleb128 0
.Lul_cs_b_end:

	.hidden DW.ref.__gcc_personality_v0
	.weak DW.ref.__gcc_personality_v0
	.section .data.rel.local.DW.ref.__gcc_personality_v0, "awG", @progbits, DW.ref.__gcc_personality_v0, comdat
	.balign 8
	.type DW.ref.__gcc_personality_v0, @object
	.size DW.ref.__gcc_personality_v0, 8
DW.ref.__gcc_personality_v0:
	.quad __gcc_personality_v0

	.text
/* ---- executed after relocation ------------------------------------------------------------ */
/* long u_exec_load(void) = u_val: relocate the mov, append ret */
	.p2align 4
G u_exec_load
	mov u_val(%rip), %rax
	ret
/* void u_exec_store(void): u_val2 = 0x5a5a5a5a (RIP-relative with an immediate after the
 * displacement) */
	.p2align 4
G u_exec_store
	movl $0x5a5a5a5a, u_val2(%rip)
	ret
/* long u_exec_lea(void) = &u_val */
	.p2align 4
G u_exec_lea
	lea u_val(%rip), %rax
	ret
/* long u_exec_cmp(void) = (u_flag == 1) ? 11 : 22: relocate cmpb+je, append the fall-through */
	.p2align 4
G u_exec_cmp
	cmpb $1, u_flag(%rip)
	je 1f
	mov $22, %eax
	ret
1:	mov $11, %eax
	ret
/* long u_exec_jcc(long x) = x ? 1 : 2: relocate test+jz, append "mov $1, %eax; ret" */
	.p2align 4
G u_exec_jcc
	test %rdi, %rdi
	jz 1f
	mov $1, %eax
	ret
1:	mov $2, %eax
	ret
/* long u_exec_jmp(void) = 7: relocate the jmp rel8 */
	.p2align 4
G u_exec_jmp
	jmp 1f
	ud2
1:	mov $7, %eax
	ret
/* rel8-only branches and calls, for the cannot-move checks */
	.p2align 4
G u_odd
	jrcxz 1f
	loop 1f
	call u_exec_jmp
	call *u_fnptr(%rip)
1:	ret
G u_odd_end

	.data
	.balign 8
	.globl u_val, u_val2, u_flag, u_fnptr
u_val:	.quad 0x1122334455667788
u_val2:	.quad 0
u_flag:	.byte 1
	.balign 8
u_fnptr: .quad 0

	.section .note.GNU-stack,"",@progbits
