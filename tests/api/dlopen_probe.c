/*
 * dlopen_probe.c -- dlopen() of a real library that is not loaded yet: the dynamic loader
 * (ld.so, not libc) opens the file, and under openlog_hook.so that openat must reach the hook.
 * It tries one library by soname (ld.so searches its cache and paths) and one by absolute path.
 * Run without the hook (argument "native") it only checks that the dlopens work.  It must never
 * count an open that it did not cause: each library is checked to be unloaded before.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

static const char *candidates[] = {
	"libm.so.6", "libresolv.so.2", "libanl.so.1", "libBrokenLocale.so.1", "libutil.so.1",
	"libnss_files.so.2", "libdl.so.2", "libc_malloc_debug.so.0", NULL
};

/* The first candidate not already loaded, other than `not`. */
static const char *
pick(const char *not)
{
	for (int i = 0; candidates[i]; i++) {
		if (not && strcmp(candidates[i], not) == 0)
			continue;
		if (dlopen(candidates[i], RTLD_LAZY | RTLD_NOLOAD) == NULL)
			return candidates[i];
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int native = argc > 1 && strcmp(argv[1], "native") == 0;
	int (*seen)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "openlog_seen");
	const char *(*path)(int) = (const char *(*)(int))dlsym(RTLD_DEFAULT, "openlog_path");
	if (!native && (!seen || !path)) {
		printf("FAIL: openlog_hook.so is not preloaded\n");
		return 1;
	}
	const char *by_name = pick(NULL);
	if (!by_name) {
		printf("FAIL: no unloaded candidate library\n");
		return 1;
	}
	char needle1[300];
	snprintf(needle1, sizeof(needle1), "/%s", by_name);
	int before1 = native ? 0 : seen(needle1);
	void *h1 = dlopen(by_name, RTLD_NOW | RTLD_LOCAL);
	if (!h1) {
		printf("FAIL: dlopen(%s): %s\n", by_name, dlerror());
		return 1;
	}
	/* Where the loader found it, to open the next one by absolute path in the same folder. */
	struct link_map *lm = NULL;
	dlinfo(h1, RTLD_DI_LINKMAP, &lm);
	printf("dlopen(%s) -> %s\n", by_name, lm ? lm->l_name : "?");

	const char *second = pick(by_name);
	char abs[600] = "";
	if (second && lm && strrchr(lm->l_name, '/')) {
		int dir = (int)(strrchr(lm->l_name, '/') - lm->l_name);
		snprintf(abs, sizeof(abs), "%.*s/%s", dir, lm->l_name, second);
	}
	int before2 = (!native && abs[0]) ? seen(abs) : 0;
	void *h2 = abs[0] ? dlopen(abs, RTLD_NOW | RTLD_LOCAL) : NULL;
	if (abs[0] && !h2) {
		printf("FAIL: dlopen(%s): %s\n", abs, dlerror());
		return 1;
	}
	if (abs[0])
		printf("dlopen(%s) ok\n", abs);
	if (native) {
		printf("PASS (native: dlopen works)\n");
		return 0;
	}

	printf("paths the hook saw:\n");
	for (int i = 0; path(i); i++)
		printf("  %s\n", path(i));
	int fail = 0;
	int got1 = seen(needle1) - before1;
	printf("openat of *%s seen by the hook during dlopen: %d\n", needle1, got1);
	if (got1 < 1) {
		printf("FAIL: dlopen(%s)'s openat did not reach the hook\n", by_name);
		fail = 1;
	}
	if (abs[0]) {
		int got2 = seen(abs) - before2;
		printf("openat of %s seen by the hook during dlopen: %d\n", abs, got2);
		if (got2 < 1) {
			printf("FAIL: dlopen(%s)'s openat did not reach the hook\n", abs);
			fail = 1;
		}
	}
	if (!fail)
		printf("PASS\n");
	return fail;
}
