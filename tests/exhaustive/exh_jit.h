/*
 * exh_jit.h -- run-time generated code for the exhaustive-mode tests: small functions whose
 * bytes are written into fresh anonymous memory (mapped read-write, then made read-execute),
 * so that their `syscall` instructions belong to no loaded object and can only reach the hook
 * through the Syscall User Dispatch safety net.  It must never map a page writable and
 * executable at once, and never copy code from a loaded object's text (which may be patched).
 */
#ifndef EXH_JIT_H
#define EXH_JIT_H

#include <stddef.h>

/* Copies len bytes of code into a new RW mapping, makes it RX and returns it; exits on error. */
void *exh_jit_make(const void *code, size_t len);

/* `mov eax, 39; syscall; ret`: getpid from generated code. */
long (*exh_jit_getpid(void))(void);
/* `mov eax, 110; syscall; ret`: getppid from generated code. */
long (*exh_jit_getppid(void))(void);

/* Any syscall from generated code: returns the kernel's RAX (-errno on failure). */
typedef long (*exh_syscall_fn)(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
exh_syscall_fn exh_jit_syscall(void);

/*
 * A raw thread made by clone(2) from generated code: it runs fn(arg) on `stack_top` sharing
 * everything with the caller (including its TLS: fn must not use libc), stores fn's result in
 * *result, then exits; *tid_word is cleared by the kernel when it has gone (CLONE_CHILD_CLEARTID).
 * Returns the clone result (tid, or -errno).  exh_jit_clone3 does the same with clone3(2).
 */
typedef long (*exh_clone_fn)(long (*fn)(void *), void *arg, void *stack_top, int *tid_word,
			     long *result);
exh_clone_fn exh_jit_clone(void);
exh_clone_fn exh_jit_clone3(void);

#endif
