/*
 * exh_jit.c -- makes the generated-code functions of exh_jit.h.  The two one-syscall functions
 * are written here byte by byte, as a JIT would emit them; the longer ones are copied from the
 * templates of exh_jit_tmpl.S (in .rodata).  Each function gets its own page, written while
 * read-write and then switched to read-execute: a page is never writable and executable at once.
 */
#define _GNU_SOURCE
#include "exh_jit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

extern const uint8_t exh_tmpl_syscall6[], exh_tmpl_syscall6_end[];
extern const uint8_t exh_tmpl_clone[], exh_tmpl_clone_end[];
extern const uint8_t exh_tmpl_clone3[], exh_tmpl_clone3_end[];

void *
exh_jit_make(const void *code, size_t len)
{
	size_t size = (len + 4095) & ~(size_t)4095;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("exh_jit_make: mmap");
		exit(90);
	}
	memcpy(p, code, len);
	if (mprotect(p, size, PROT_READ | PROT_EXEC) != 0) {
		perror("exh_jit_make: mprotect");
		exit(90);
	}
	return p;
}

/* mov eax, imm32 (b8 imm32); syscall (0f 05); ret (c3) */
static long (*one_syscall(uint32_t nr))(void)
{
	uint8_t code[8] = { 0xb8, 0, 0, 0, 0, 0x0f, 0x05, 0xc3 };
	memcpy(code + 1, &nr, 4);
	void *p = exh_jit_make(code, sizeof(code));
	long (*fn)(void);
	memcpy(&fn, &p, sizeof(fn));
	return fn;
}

long (*exh_jit_getpid(void))(void)
{
	return one_syscall(39);
}

long (*exh_jit_getppid(void))(void)
{
	return one_syscall(110);
}

static void *
from_template(const uint8_t *start, const uint8_t *end)
{
	return exh_jit_make(start, (size_t)(end - start));
}

exh_syscall_fn
exh_jit_syscall(void)
{
	void *p = from_template(exh_tmpl_syscall6, exh_tmpl_syscall6_end);
	exh_syscall_fn fn;
	memcpy(&fn, &p, sizeof(fn));
	return fn;
}

exh_clone_fn
exh_jit_clone(void)
{
	void *p = from_template(exh_tmpl_clone, exh_tmpl_clone_end);
	exh_clone_fn fn;
	memcpy(&fn, &p, sizeof(fn));
	return fn;
}

exh_clone_fn
exh_jit_clone3(void)
{
	void *p = from_template(exh_tmpl_clone3, exh_tmpl_clone3_end);
	exh_clone_fn fn;
	memcpy(&fn, &p, sizeof(fn));
	return fn;
}
