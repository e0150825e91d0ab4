/*
 * secure_prog.c -- the program secure_env.sh runs as a set-user-ID root copy, to see what the
 * library does in secure mode (AT_SECURE) and what a program started from there inherits.
 * It runs under /etc/ld.so.preload naming the library and api_answer_hook.so (getppid answers
 * 424242 when the hook runs), so it is not linked against the library and finds its API with
 * dlsym.  Modes, each printing "<mode> <what>=<value>" lines on stdout:
 *   launch SUID LOGDIR PLANDIR  as the unprivileged user: sets every INTERCEPT_* variable (the
 *                               log, plan cache, dump, modes, filter naming only the child, an
 *                               unknown one) and executes SUID as "secure-parent"
 *   parent LOGDIR PLANDIR       set-user-ID root: which INTERCEPT_* are left in environ,
 *                               whether libc's getppid and an inline getppid reach the hook,
 *                               syscall_hook_in_process_allowed(); then becomes root
 *                               entirely and executes itself as "secure-child"
 *   child LOGDIR PLANDIR        root, not secure: what it inherited, and whether the log, the
 *                               plan folder or the failure mark exist (its library would have
 *                               made them from inherited variables)
 * It never changes anything outside LOGDIR and PLANDIR, which its library alone could write.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ANSWER_MAGIC 424242L

extern char **environ;

static const char *
exists(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s%s%s", dir, name ? "/" : "", name ? name : "");
	return lstat(path, &st) == 0 ? "present" : "absent";
}

/* getppid through an inline syscall: reaches the hook only if this executable was patched. */
static long
inline_getppid(void)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
	return r;
}

static void
report(const char *mode)
{
	printf("%s at_secure=%lu\n", mode, getauxval(AT_SECURE));
	int n = 0;
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, "INTERCEPT_", 10) == 0) {
			printf("%s env %.*s\n", mode, (int)strcspn(*e, "="), *e);
			n++;
		}
	}
	if (!n)
		printf("%s env none\n", mode);
	int (*allowed)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "syscall_hook_in_process_allowed");
	printf("%s allowed=%d\n", mode, allowed ? allowed() : -1);
	printf("%s libc_getppid=%s\n", mode, getppid() == ANSWER_MAGIC ? "hooked" : "kernel");
	printf("%s inline_getppid=%s\n", mode, inline_getppid() == ANSWER_MAGIC ? "hooked" : "kernel");
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "launch") == 0) {
		char log[4096], failed[4096];
		snprintf(log, sizeof(log), "%s/log", argv[3]);
		snprintf(failed, sizeof(failed), "%s/failed", argv[3]);
		setenv("INTERCEPT_LOG", log, 1);
		setenv("INTERCEPT_LOG_TRUNC", "1", 1);
		setenv("INTERCEPT_LOG_CHILDREN", "1", 1);
		setenv("INTERCEPT_LOG_TIMING", "1", 1);
		setenv("INTERCEPT_LOG_FAILED", failed, 1);
		setenv("INTERCEPT_LOG_OWNER", "0000000001:/nowhere", 1);
		setenv("INTERCEPT_PLAN_CACHE", argv[4], 1);
		setenv("INTERCEPT_DEBUG_DUMP", "2", 1);
		setenv("INTERCEPT_HOOK_CMDLINE_FILTER", "secure-child", 1);
		setenv("INTERCEPT_ALL_OBJS", "1", 1);
		setenv("INTERCEPT_EXHAUSTIVE", "1", 1);
		setenv("INTERCEPT_NO_VECTOR_SAVE", "1", 1);
		setenv("INTERCEPT_NOT_YET_INVENTED", "1", 1);
		char *args[] = { "secure-parent", "parent", argv[3], argv[4], NULL };
		fflush(stdout);
		execv(argv[2], args);
		perror("execv");
		return 2;
	}
	if (argc == 4 && strcmp(argv[1], "parent") == 0) {
		report("parent");
		fflush(stdout);
		if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) {
			perror("setresuid");
			return 2;
		}
		char *args[] = { "secure-child", "child", argv[2], argv[3], NULL };
		execv("/proc/self/exe", args);
		perror("execv");
		return 2;
	}
	if (argc == 4 && strcmp(argv[1], "child") == 0) {
		report("child");
		printf("child log=%s\n", exists(argv[2], "log"));
		printf("child failed_mark=%s\n", exists(argv[2], "failed"));
		printf("child plans=%s\n", exists(argv[3], NULL));
		return 0;
	}
	fprintf(stderr, "usage: secure_prog launch SUID LOGDIR PLANDIR\n");
	return 2;
}
