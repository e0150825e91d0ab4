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
