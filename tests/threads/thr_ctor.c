/*
 * thr_ctor -- the program of the "constructor threads" scenario, run with
 * LD_PRELOAD=thr_ctor_hook.so: the threads were started by libthr_ctor_threads.so's constructor
 * before the library patched libc; main only lets them finish and check (thr_ctor_finish).
 * Exit 0: every thread's marker calls reached the hook; 1: a check failed; 2: the setup is
 * wrong.  It must never pass when the helper library is missing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int
main(void)
{
	int (*finish)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "thr_ctor_finish");
	if (!finish) {
		fprintf(stderr, "FAIL: threads_ctor: libthr_ctor_threads.so is not loaded "
			"(run with LD_PRELOAD=thr_ctor_hook.so)\n");
		return 2;
	}
	int failed = finish();
	if (failed)
		return 1;
	puts("threads_ctor: every constructor thread's marker calls reached the hook");
	return 0;
}
