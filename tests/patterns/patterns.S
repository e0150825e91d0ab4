/*
 * patterns.S -- syscall sites in the shapes that make patching hard, one small function per
 * shape, each callable from C (System V ABI).  Every site is listed, by local label, in the
 * pat_<name>_sites table (zero-terminated) so the test can find its offset without putting a
 * symbol on it: a symbol would be a jump target and change the shape.  The functions use only
 * cheap syscalls whose results the caller can check: getpid (39), getppid (110), write (1)
 * and exit_group (231).  Nothing here may assume the site is patched or not: every function
 * must give the same result natively and patched.
 */
	.set NR_WRITE, 1
	.set NR_GETPID, 39
	.set NR_GETPPID, 110
	.set NR_EXIT_GROUP, 231

.macro FUNC name
	.globl \name
	.type \name, @function
\name:
.endm
.macro END name
	.size \name, .-\name
.endm
.macro SITES name, labels:vararg
	.pushsection .data.rel.ro, "aw"
	.balign 8
	.globl pat_\name\()_sites
pat_\name\()_sites:
	.irp l, \labels
	.quad \l
	.endr
	.quad 0
	.popsection
.endm

	.text

/* 1. syscall as the first instruction of a function (a call target), then ret, nop padding */
	.p2align 4
FUNC pat_first_body
.Lfirst:
	syscall
	ret
END pat_first_body
	.p2align 4
FUNC pat_first			/* long pat_first(void): getpid */
	mov $NR_GETPID, %eax
	call pat_first_body
	ret
END pat_first
SITES first, .Lfirst

/* 2. syscall as the first instruction, with int3 padding right before and after */
	.p2align 4
	.fill 16, 1, 0xcc
FUNC pat_int3_body
.Lint3:
	syscall
	ret
	.fill 16, 1, 0xcc
END pat_int3_body
FUNC pat_int3			/* getpid */
	mov $NR_GETPID, %eax
	call pat_int3_body
	ret
END pat_int3
SITES int3, .Lint3

/* 3. the same with one-byte nop padding before and after */
	.fill 16, 1, 0x90
FUNC pat_nop_body
.Lnop:
	syscall
	ret
	.fill 16, 1, 0x90
END pat_nop_body
FUNC pat_nop			/* getpid */
	mov $NR_GETPID, %eax
	call pat_nop_body
	ret
END pat_nop
SITES nop, .Lnop

/* 4. syscall last before the ret, and the next function starts right after the ret */
	.p2align 4
FUNC pat_last			/* getppid */
	mov $NR_GETPPID, %eax
.Llast:
	syscall
	ret
END pat_last
FUNC pat_last_next		/* returns its argument; a symbol right after pat_last */
	mov %rdi, %rax
	ret
END pat_last_next
SITES last, .Llast

/* 5. a syscall that does not return, followed only by int3 padding (exit_group) */
	.p2align 4
FUNC pat_exit			/* noreturn void pat_exit(int status) */
	mov $NR_EXIT_GROUP, %eax
.Lexit:
	syscall
	.fill 13, 1, 0xcc
END pat_exit
SITES exit, .Lexit

/* 6. a jump target right after the syscall: long pat_after(long v, long skip) =
 *    skip ? v : getpid */
	.p2align 4
FUNC pat_after
	mov %rdi, %rax
	test %rsi, %rsi
	jnz 1f
	mov $NR_GETPID, %eax
.Lafter:
	syscall
1:	ret
END pat_after
SITES after, .Lafter

/* 7. the syscall itself is a jump target, followed by movable instructions:
 *    long pat_at(long which) = which ? getppid : getpid */
	.p2align 4
FUNC pat_at
	mov $NR_GETPID, %eax
	test %rdi, %rdi
	jz 1f
	mov $NR_GETPPID, %eax
1:
.Lat:
	syscall
	mov %rax, %rdx
	mov %rdx, %rax
	ret
END pat_at
SITES at, .Lat

/* 8. the syscall is a jump target and only a ret follows before padding */
	.p2align 4
FUNC pat_at_ret			/* which ? getppid : getpid */
	mov $NR_GETPID, %eax
	test %rdi, %rdi
	jz 1f
	mov $NR_GETPPID, %eax
1:
.Lat_ret:
	syscall
	ret
END pat_at_ret
SITES at_ret, .Lat_ret

/* 9. syscall in a loop whose back edge targets the mov right before it:
 *    long pat_loop(long n) = n * getpid (n >= 1) */
	.p2align 4
FUNC pat_loop
	mov %rdi, %r8
	xor %r9d, %r9d
1:	mov $NR_GETPID, %eax
.Lloop:
	syscall
	add %rax, %r9
	dec %r8
	jnz 1b
	mov %r9, %rax
	ret
END pat_loop
SITES loop, .Lloop

/* 10. RIP-relative lea right before the syscall, a jump target right after it:
 *     long pat_riprel_before(long skip) = skip ? pat_data : getpid + pat_data2 */
	.p2align 4
FUNC pat_riprel_before
	lea pat_data(%rip), %rdx
	xor %eax, %eax
	test %rdi, %rdi
	jnz 1f
	mov $NR_GETPID, %eax
	lea pat_data2(%rip), %rdx
.Lriprel_before:
	syscall
1:	add (%rdx), %rax
	ret
END pat_riprel_before
SITES riprel_before, .Lriprel_before

/* 11. the syscall is a jump target, RIP-relative load and store right after it:
 *     long pat_riprel_after(long which) = (which ? getppid : getpid) + pat_data,
 *     also stored in pat_out */
	.p2align 4
FUNC pat_riprel_after
	mov $NR_GETPID, %eax
	test %rdi, %rdi
	jz 1f
	mov $NR_GETPPID, %eax
1:
.Lriprel_after:
	syscall
	add pat_data(%rip), %rax
	mov %rax, pat_out(%rip)
	ret
END pat_riprel_after
SITES riprel_after, .Lriprel_after

/* 12. endbr64 at the function start, then mov eax, N; syscall (called through a pointer) */
	.p2align 4
FUNC pat_endbr			/* getpid */
	endbr64
	mov $NR_GETPID, %eax
.Lendbr:
	syscall
	ret
END pat_endbr
SITES endbr, .Lendbr

/* 13. endbr64 directly before the syscall (eax set by the caller) */
	.p2align 4
FUNC pat_endbr_tight_body
	endbr64
.Lendbr_tight:
	syscall
	ret
END pat_endbr_tight_body
FUNC pat_endbr_tight		/* getppid */
	mov $NR_GETPPID, %eax
	lea pat_endbr_tight_body(%rip), %rcx
	call *%rcx
	ret
END pat_endbr_tight
SITES endbr_tight, .Lendbr_tight

/* 14. two syscalls back to back: write(fd, buf, 1) returns 1 = SYS_write, so the second
 *     `syscall` writes again: long pat_b2b(int fd, const void *buf, 1) = 1, 2 bytes written */
	.p2align 4
FUNC pat_b2b
	mov $NR_WRITE, %eax
.Lb2b_1:
	syscall
.Lb2b_2:
	syscall
	ret
END pat_b2b
SITES b2b, .Lb2b_1, .Lb2b_2

/* 15. three in a row, the middle one with no room on either side: 3 bytes written */
	.p2align 4
FUNC pat_b2b3
	mov $NR_WRITE, %eax
.Lb2b3_1:
	syscall
.Lb2b3_2:
	syscall
.Lb2b3_3:
	syscall
	ret
END pat_b2b3
SITES b2b3, .Lb2b3_1, .Lb2b3_2, .Lb2b3_3

/* 16. a rel8 conditional jump right after the syscall, using the flags from before it (the
 *     kernel preserves them); the syscall is a jump target so the jcc must move:
 *     long pat_jcc(long which) = which ? getppid : -getpid */
	.p2align 4
FUNC pat_jcc
	mov $NR_GETPID, %eax
	test %rdi, %rdi
	jz 2f
	mov $NR_GETPPID, %eax
2:
.Ljcc:
	syscall
	jnz 3f
	neg %rax
3:	ret
END pat_jcc
SITES jcc, .Ljcc

/* 17. every neighbour of the syscall is a jump target, int3 padding within rel8 reach:
 *     long pat_targets(long k): k = 0..2 -> getpid, k = 3 -> 39 without a syscall */
	.p2align 4
FUNC pat_targets
	mov $NR_GETPID, %eax
	cmp $1, %rdi
	je 1f
	cmp $2, %rdi
	je 2f
	cmp $3, %rdi
	je 3f
1:	nop
2:
.Ltargets:
	syscall
3:	ret
	.fill 16, 1, 0xcc
END pat_targets
SITES targets, .Ltargets

/* 18. the same shape with no padding anywhere within rel8 reach (surrounded by ordinary
 *     instructions): it may stay unpatched, but must be reported and still work */
	.p2align 4
FUNC pat_far_filler_before
	.rept 60
	mov %rax, %rax
	.endr
	ret
END pat_far_filler_before
FUNC pat_far			/* same contract as pat_targets */
	mov $NR_GETPID, %eax
	cmp $1, %rdi
	je 1f
	cmp $2, %rdi
	je 2f
	cmp $3, %rdi
	je 3f
1:	nop
2:
.Lfar:
	syscall
3:	ret
#ifdef PATTERNS_ALL_PATCHABLE	/* plan_fuzz_prog: padding in reach, so that every site is patched */
	.fill 16, 1, 0xcc
#endif
END pat_far
FUNC pat_far_filler_after
	.rept 60
	mov %rax, %rax
	.endr
	ret
END pat_far_filler_after
SITES far, .Lfar

/* 19. an exception landing pad right after the syscall.  No branch goes there: only the
 *     unwinder does, sent by the LSDA below when an unwind (a forced one, as pthread_cancel
 *     starts) passes the call to pat_lsda_unwind.  The 3-byte test after the syscall would
 *     complete a 5-byte window, and the unwinder would then land inside the jump; the window
 *     must take the mov before the syscall instead.
 *     long pat_lsda(long k): k = 0 -> getpid; k != 0 -> 1000, by the landing pad, no syscall */
	.p2align 4
FUNC pat_lsda
	.cfi_startproc
	.cfi_personality 0x9b, DW.ref.__gcc_personality_v0
	.cfi_lsda 0x1b, .Llsda_table
	push %rbx
	.cfi_def_cfa_offset 16
	.cfi_offset %rbx, -16
	mov %rdi, %rbx
	test %rdi, %rdi
	jz 1f
.Llsda_call:
	call pat_lsda_unwind
.Llsda_call_end:
	ud2
1:	mov $NR_GETPID, %eax
.Llsda:
	syscall
.Llsda_pad:
	test %rbx, %rbx		/* rbx (k) as the unwinder restored it; rax: the exception */
	jnz 2f
	pop %rbx
	.cfi_remember_state
	.cfi_def_cfa_offset 8
	ret
	.cfi_restore_state
2:	mov $1000, %eax
	pop %rbx
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
END pat_lsda
SITES lsda, .Llsda

/* Starts a forced unwind of the stack, as pthread_cancel does; it never returns. */
	.p2align 4
FUNC pat_lsda_unwind
	.cfi_startproc
	sub $8, %rsp
	.cfi_def_cfa_offset 16
	lea pat_lsda_exception(%rip), %rdi
	lea pat_lsda_stop(%rip), %rsi
	xor %edx, %edx
	call _Unwind_ForcedUnwind@PLT
	ud2			/* it returned: no landing pad was found */
	.cfi_endproc
END pat_lsda_unwind
/* The forced unwind's stop function: "go on" for every frame. */
FUNC pat_lsda_stop
	.cfi_startproc
	xor %eax, %eax		/* _URC_NO_REASON */
	ret
	.cfi_endproc
END pat_lsda_stop

/* The extent of the code above, for the unit tests (a data table: no symbol in the text). */
.Lpat_code_end:
	.pushsection .data.rel.ro, "aw"
	.balign 8
	.globl pat_code_bounds
pat_code_bounds:
	.quad pat_first_body, .Lpat_code_end
	.popsection

/* The landing pad of pat_lsda, for the unit tests */
	.pushsection .data.rel.ro, "aw"
	.balign 8
	.globl pat_lsda_pads
pat_lsda_pads:
	.quad .Llsda_pad, 0
	.popsection

/*
 * pat_lsda's LSDA, as GCC writes one for a cleanup: no LPStart (offsets are from the function's
 * start), no type table, uleb128 call sites; one call site, the call to pat_lsda_unwind, whose
 * landing pad is .Llsda_pad (action 0: a cleanup, which is what __gcc_personality_v0 runs).
 */
	.section .gcc_except_table, "a", @progbits
.Llsda_table:
	.byte 0xff		/* LPStart encoding: omitted */
	.byte 0xff		/* TType encoding: omitted */
	.byte 0x01		/* call-site encoding: uleb128 */
	.uleb128 .Llsda_cs_end - .Llsda_cs
.Llsda_cs:
	.uleb128 .Llsda_call - pat_lsda
	.uleb128 .Llsda_call_end - .Llsda_call
	.uleb128 .Llsda_pad - pat_lsda
	.uleb128 0
.Llsda_cs_end:

/* 20. a switch through a jump table, as compilers emit it for position-independent code: case 2
 *     starts right after the syscall, reached only by the indirect jmp.  The syscall itself is a
 *     jump target, so a window must start there, and the nop and add after it would complete
 *     5 bytes: the table's entry would then land inside the jump.
 *     long pat_jtab(long k): 0 -> getpid + 5; 1 -> getppid + 5; 2 -> 2005 without a syscall */
	.text
	.p2align 4
FUNC pat_jtab
	mov $2000, %eax
	lea .Ljtab_table(%rip), %rdx
	movslq (%rdx,%rdi,4), %rcx
	add %rdx, %rcx
	jmp *%rcx
.Ljtab_case0:
	mov $NR_GETPID, %eax
	jmp .Ljtab
.Ljtab_case1:
	mov $NR_GETPPID, %eax
.Ljtab:
	syscall
	nop
.Ljtab_case2:
	add $5, %eax
	ret
	.fill 16, 1, 0xcc
END pat_jtab
	.section .rodata
	.balign 4
.Ljtab_table:
	.long .Ljtab_case0 - .Ljtab_table
	.long .Ljtab_case1 - .Ljtab_table
	.long .Ljtab_case2 - .Ljtab_table
	.text
SITES jtab, .Ljtab

/* The personality routine's address, for .cfi_personality's indirect encoding (as GCC emits it) */
	.hidden DW.ref.__gcc_personality_v0
	.weak DW.ref.__gcc_personality_v0
	.section .data.rel.local.DW.ref.__gcc_personality_v0, "awG", @progbits, DW.ref.__gcc_personality_v0, comdat
	.balign 8
	.type DW.ref.__gcc_personality_v0, @object
	.size DW.ref.__gcc_personality_v0, 8
DW.ref.__gcc_personality_v0:
	.quad __gcc_personality_v0

	.bss
	.balign 16
pat_lsda_exception:		/* struct _Unwind_Exception; exception_class 0 */
	.zero 32

	.data
	.balign 8
	.globl pat_data, pat_data2, pat_out
pat_data:	.quad 1000000
pat_data2:	.quad 2000000
pat_out:	.quad 0

	.section .note.GNU-stack,"",@progbits
