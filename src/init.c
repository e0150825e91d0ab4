/*
 * init.c -- the library's constructor: reads the environment (INTERCEPT_HOOK_CMDLINE_FILTER,
 * INTERCEPT_DEBUG_DUMP, INTERCEPT_ALL_OBJS, INTERCEPT_EXHAUSTIVE, INTERCEPT_NO_VECTOR_SAVE, and
 * through log.c and plan_cache.c the log's variables and INTERCEPT_PLAN_CACHE) and starts
 * patching.  Every variable is read through si_env (util.c), booleans and levels with the one
 * parser there; empty or malformed values have documented meanings.  Nothing here may abort
 * the program.
 */
#define _GNU_SOURCE
#include "intercept.h"
#include "discover.h"
#include "log.h"
#include "patch.h"
#include "plan_cache.h"

#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int patching_allowed;

__attribute__((visibility("default"))) int
syscall_hook_in_process_allowed(void)
{
	return patching_allowed;
}

/* The last path component of the first string of /proc/self/cmdline equals `want`? */
static bool
cmdline_matches(const char *want)
{
	char buf[4096];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	const char *slash = strrchr(buf, '/');
	return strcmp(slash ? slash + 1 : buf, want) == 0;
}

__attribute__((constructor)) static void
si_init(void)
{
	const char *filter = si_env("INTERCEPT_HOOK_CMDLINE_FILTER");
	if (filter && *filter && !cmdline_matches(filter))
		return;
	patching_allowed = 1;
	si_internal_begin();
	si_debug_level = si_env_level("INTERCEPT_DEBUG_DUMP", 0);
	si_log_init();
	si_plan_cache_init();
	si_choose_entry(si_env_level("INTERCEPT_NO_VECTOR_SAVE", 0) > 0);
	bool exhaustive = si_env_level("INTERCEPT_EXHAUSTIVE", 0) > 0;
	bool all = exhaustive || si_env_level("INTERCEPT_ALL_OBJS", 0) > 0;
	si_patch_loaded_objects(all, false);
	if (all)
		si_watch_later_loads();
	si_safety_net_init(exhaustive);
#ifdef __GLIBC__
	/*
	 * Patching freed most of what it allocated, but malloc keeps those pages dirty in the
	 * program's heap: give them back (about 0.5 MB per process).
	 */
	malloc_trim(0);
#endif
	si_internal_end();
}
