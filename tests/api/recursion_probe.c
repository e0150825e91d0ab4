/*
 * recursion_probe.c -- runs under reentrant_hook.so: calls getppid three times (each makes the
 * hook call malloc/fopen/printf), then checks through the hook's exported counters that the
 * hook ran three times for getppid, did its libc work each time, and was never entered twice
 * on one thread (max depth 1).  It must never report success when the hook did not run.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

int
main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int (*max_depth)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "reentrant_max_depth");
	long (*calls)(void) = (long (*)(void))dlsym(RTLD_DEFAULT, "reentrant_getppid_calls");
	long (*libc_calls)(void) = (long (*)(void))dlsym(RTLD_DEFAULT,
							"reentrant_nested_libc_calls");
	if (!max_depth || !calls || !libc_calls) {
		printf("FAIL: reentrant_hook.so is not preloaded\n");
		return 1;
	}
	pid_t first = getppid();
	for (int i = 0; i < 2; i++)
		if (getppid() != first) {
			printf("FAIL: getppid changed\n");
			return 1;
		}
	int fail = 0;
	printf("getppid %d; hook getppid calls %ld, libc work done %ld, max depth %d\n",
	       (int)first, calls(), libc_calls(), max_depth());
	if (calls() != 3) { printf("FAIL: the hook saw getppid %ld times, expected 3\n", calls()); fail = 1; }
	if (libc_calls() != 3) { printf("FAIL: the hook's libc work ran %ld times\n", libc_calls()); fail = 1; }
	if (max_depth() != 1) { printf("FAIL: hook nesting depth %d, expected 1\n", max_depth()); fail = 1; }
	if (!fail)
		printf("PASS\n");
	return fail;
}
