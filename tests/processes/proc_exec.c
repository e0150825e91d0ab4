/*
 * proc_exec.c -- new program images must be intercepted again.  `proc_exec start` creates
 * children that each end in a new image or a normal exit after an exactly known number of
 * getppid() calls, then execs itself:
 *   fork child         777 getppid calls, exit()            (the forked image, no exec)
 *   vfork + execve     the new image makes 333 calls
 *   posix_spawn        the new image makes 444 calls
 *   system()           sh runs the new image, which makes 555 calls
 *   execve of itself   (the process running `start`, after 500 calls of its own that are lost
 *                      with its image) the new image makes 1000 calls
 * Under counting.so with SI_COUNT_FILE ending in '-', each of these processes must leave a count
 * file with exactly that many getppid syscalls (checked by proc_exec.sh); natively and under
 * every hook the printed lines are the same.  Every image checks that LD_PRELOAD reached it
 * unchanged.  It must never call getppid except in the counted loops, and never print pids.
 *
 * usage: proc_exec start | proc_exec image N
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char self[4096];
static const char *preload_at_start;

static void
calls(long n)
{
	pid_t first = n ? getppid() : 0;
	for (long i = 1; i < n; i++)
		if (getppid() != first) {
			printf("getppid changed\n");
			exit(3);
		}
}

/* The LD_PRELOAD this image got, compared with the one the start image had (PROC_EXEC_PRELOAD). */
static int
preload_kept(void)
{
	const char *now = getenv("LD_PRELOAD"), *then = getenv("PROC_EXEC_PRELOAD");
	if (!then)
		return 0;
	return !strcmp(then, "-") ? now == NULL : now && !strcmp(now, then);
}

static int
image(long n)
{
	calls(n);
	printf("image with %ld getppid calls: LD_PRELOAD %s\n", n,
	       preload_kept() ? "kept" : "LOST OR CHANGED");
	return preload_kept() ? 0 : 1;
}

static int
expect(const char *what, int status, int want)
{
	int ok = WIFEXITED(status) && WEXITSTATUS(status) == want;
	printf("%-24s %s\n", what, ok ? "ok" : "FAILED");
	fflush(stdout);
	return ok;
}

/* vfork, execve an image making 333 calls; returns the wait status. */
__attribute__((noinline)) static int
vfork_image(void)
{
	char *argv333[] = { self, "image", "333", NULL };
	int status = -1;
	pid_t pid = vfork();
	if (pid == 0) {
		execve(self, argv333, environ);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	return status;
}

static int
start(void)
{
	/* Tell every later image which LD_PRELOAD to expect ("-" for none). */
	preload_at_start = getenv("LD_PRELOAD");
	setenv("PROC_EXEC_PRELOAD", preload_at_start ? preload_at_start : "-", 1);
	int ok = 1, status = 0;
	fflush(stdout);

	pid_t pid = fork();
	if (pid == 0) {
		calls(777);
		printf("fork child with 777 getppid calls\n");
		exit(0);
	}
	waitpid(pid, &status, 0);
	ok &= expect("fork child", status, 0);

	ok &= expect("vfork+execve", vfork_image(), 0);

	char *argv444[] = { self, "image", "444", NULL };
	if (posix_spawn(&pid, self, NULL, NULL, argv444, environ) == 0)
		waitpid(pid, &status, 0);
	else
		status = -1;
	ok &= expect("posix_spawn", status, 0);

	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "'%s' image 555", self);
	status = system(cmd);
	ok &= expect("system", status, 0);

	if (!ok)
		return 1;
	calls(500);
	char *argv1000[] = { self, "image", "1000", NULL };
	execve(self, argv1000, environ);
	perror("execve");
	return 1;
}

int
main(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	if (strchr(self, '\''))
		return 2;	/* system() quotes the path with '' */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "start"))
		return start();
	if (argc == 3 && !strcmp(argv[1], "image"))
		return image(atol(argv[2]));
	fprintf(stderr, "usage: %s start | %s image N\n", argv[0], argv[0]);
	return 2;
}
