/*
 * init.c -- the library's constructor: decides secure mode, reads the environment
 * (INTERCEPT_HOOK_CMDLINE_FILTER, INTERCEPT_DEBUG_DUMP, INTERCEPT_ALL_OBJS, INTERCEPT_EXHAUSTIVE,
 * INTERCEPT_NO_VECTOR_SAVE, and through log.c and plan_cache.c the log's variables and
 * INTERCEPT_PLAN_CACHE) and starts patching.  Every variable is read through si_env (util.c),
 * booleans and levels with the one parser there; empty or malformed values have documented
 * meanings.  Nothing here may abort the program.
 *
 * Secure mode (AT_SECURE: set-user-ID, set-group-ID, file capabilities): the variables were
 * chosen by a less privileged user.  Before anything else reads them, every INTERCEPT_* entry is
 * removed from environ, so that a program this one runs once it is fully privileged (a setuid
 * helper that becomes root and executes another program) does not inherit them, and all of
 * them are ignored here: the process is patched in the normal mode, with the full register
 * save, no log, no plan cache, no dump, whatever the filter says.  It must never act on an
 * INTERCEPT_* value in secure mode.
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
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

static int patching_allowed;

__attribute__((visibility("default"))) int
syscall_hook_in_process_allowed(void)
{
	return patching_allowed;
}

/*
 * Secure mode: drops every INTERCEPT_* entry from environ, in place, as ld.so does with its own
 * unsafe variables (LD_PRELOAD...).  In place, because environ and main's envp are the same
 * array: a program that passes either to execve hands on the cleaned one.  Runs first in the
 * constructor, before patching and before the hook library's constructor (which runs after
 * ours, since it depends on this library).
 */
static void
drop_intercept_variables(void)
{
	char **in = environ, **out = environ;
	if (!in)
		return;
	for (; *in; in++)
		if (strncmp(*in, "INTERCEPT_", 10) != 0)
			*out++ = *in;
	*out = NULL;
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
	si_secure_mode = getauxval(AT_SECURE) != 0;
	if (si_secure_mode)
		drop_intercept_variables();
	/* from here on, in secure mode, every si_env answers "unset" */
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
