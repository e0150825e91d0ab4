/*
 * thr_fixup_sites.S -- libthr_fixup_sites.so: syscall sites that can only be patched with a
 * window [mov $nr, %eax; ...; syscall] (filler on both sides leaves no padding within reach),
 * so that after patching, the `syscall` itself and the instructions between are int3.  A thread
 * blocked in fx_read's syscall while it is patched is sent back to the syscall instruction when
 * a SA_RESTART signal interrupts it, and must be moved on by the library's trap handler.  The
 * filler must stay free of padding (nop, int3) and of jumps.
 */
.macro FILLER
	.rept 70
	mov %rax, %r11
	.endr
.endm

	.text
	.globl fx_read		/* long fx_read(int fd, void *buf, size_t n) */
	.type fx_read, @function
	.p2align 4
fx_read:
	FILLER
	mov $0, %eax
	syscall
	FILLER
	ret
	.size fx_read, .-fx_read

	.globl fx_getppid	/* long fx_getppid(void): two instructions between mov and syscall */
	.type fx_getppid, @function
	.p2align 4
fx_getppid:
	FILLER
	mov $110, %eax
	mov %rdi, %rdi
	mov %rsi, %rsi
	syscall
	FILLER
	ret
	.size fx_getppid, .-fx_getppid

	.section .note.GNU-stack, "", @progbits
