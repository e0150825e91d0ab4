/*
 * reload_probe LIB N -- dlopens LIB, calls its reload_site(), dlcloses it, N times; prints how
 * many calls were answered by the hook (424242) and exits 0 when all were.  dlclose really
 * unmaps LIB (nothing else holds it), so each dlopen maps it afresh, often at the same address:
 * every one of those must be patched again.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int n = atoi(argv[2]), answered = 0;
	for (int i = 0; i < n; i++) {
		void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
		long (*site)(void) = h ? (long (*)(void))dlsym(h, "reload_site") : NULL;
		if (!site) {
			fprintf(stderr, "reload_probe: %s\n", dlerror());
			return 2;
		}
		answered += site() == 424242;
		dlclose(h);
	}
	printf("%d of %d calls reached the hook\n", answered, n);
	return answered == n ? 0 : 1;
}
