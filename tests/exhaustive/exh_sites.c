/*
 * exh_sites.c -- syscalls from places other than libc, for the exhaustive-mode tests:
 *   exh_sites inline N       N getppid from an inline `syscall` in this executable
 *   exh_sites dlopen LIB N   dlopen LIB (exh_dlib.so; "-" to skip) and call its getppid N times
 *   exh_sites jit N          N getpid from generated code (`mov eax,39; syscall; ret`)
 * Each prints one line saying whether every result was right (compared with libc's getppid or
 * getpid, called once), and exits 0 only if so.  Output is the same natively and under the
 * library, so runs can be compared byte for byte; dlopen mode writes "before dlopen" and
 * "after dlopen" on stderr around the load.  It must never print anything run-dependent
 * (pids, addresses) on stdout.
 */
#define _GNU_SOURCE
#include "exh_jit.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noinline)) static long
inline_getppid(void)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
	return ret;
}

static int
run_inline(long n)
{
	long want = getppid(), bad = 0;
	for (long i = 0; i < n; i++)
		if (inline_getppid() != want)
			bad++;
	printf("inline getppid x %ld: %s\n", n, bad ? "WRONG RESULT" : "ok");
	return bad != 0;
}

static int
run_dlopen(const char *lib, long n)
{
	long want = getppid(), bad = 0;
	if (strcmp(lib, "-") == 0) {
		printf("dlopen skipped\n");
		return 0;
	}
	fprintf(stderr, "exh_sites: before dlopen\n");
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	fprintf(stderr, "exh_sites: after dlopen\n");
	if (!h) {
		printf("dlopen failed: %s\n", dlerror());
		return 1;
	}
	long (*fn)(void);
	void *sym = dlsym(h, "exh_dlib_getppid");
	long *ctor = dlsym(h, "exh_dlib_ctor_result");
	if (!sym || !ctor) {
		printf("dlsym failed\n");
		return 1;
	}
	memcpy(&fn, &sym, sizeof(fn));
	if (*ctor != want)
		bad++;
	for (long i = 0; i < n; i++)
		if (fn() != want)
			bad++;
	printf("dlopen'd getppid x %ld (+1 in its constructor): %s\n", n,
	       bad ? "WRONG RESULT" : "ok");
	return bad != 0;
}

static int
run_jit(long n)
{
	long (*jit_getpid)(void) = exh_jit_getpid();
	long want = getpid(), bad = 0;
	for (long i = 0; i < n; i++)
		if (jit_getpid() != want)
			bad++;
	printf("generated-code getpid x %ld: %s\n", n, bad ? "WRONG RESULT" : "ok");
	return bad != 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && strcmp(argv[1], "inline") == 0)
		return run_inline(atol(argv[2]));
	if (argc == 4 && strcmp(argv[1], "dlopen") == 0)
		return run_dlopen(argv[2], atol(argv[3]));
	if (argc == 3 && strcmp(argv[1], "jit") == 0)
		return run_jit(atol(argv[2]));
	fprintf(stderr, "usage: exh_sites inline N | dlopen LIB|- N | jit N\n");
	return 2;
}
