/*
 * spawn.c -- how the orchestrator runs benchmark children: with a clean environment (no
 * LD_PRELOAD or INTERCEPT_* inherited from the caller, only what the mode adds), optionally under
 * a minimal ptrace tracer (the ptrace comparison: stop at every syscall entry and exit, let it
 * go on, forward signals), timing the whole process from fork to reap.  It must never leave a
 * child behind: every child it starts is reaped (the idle child by its caller).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char **
make_env(char *const add[])
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	size_t n_add = 0;
	while (add && add[n_add])
		n_add++;
	char **env = calloc(n + n_add + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
		    strncmp(environ[i], "INTERCEPT_", 10) != 0)
			env[k++] = environ[i];
	for (size_t i = 0; i < n_add; i++)
		env[k++] = add[i];
	env[k] = NULL;
	return env;
}

/* The tracer: PTRACE_SYSCALL from stop to stop until the child is gone. */
static int
trace_child(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))	/* the SIGTRAP of execve */
		return st;
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	int sig = 0;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, sig) != 0)
			break;
		if (waitpid(pid, &st, 0) != pid)
			break;
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return st;
		int s = WSTOPSIG(st);
		sig = (s == (SIGTRAP | 0x80) || s == SIGTRAP) ? 0 : s;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return st;
}

int
run_child(char *const argv[], char *const env_add[], bool traced, bool capture,
	  struct child_result *r)
{
	char **env = make_env(env_add);
	int out[2] = { -1, -1 };
	if (!env || (capture && pipe2(out, O_CLOEXEC) != 0)) {
		free(env);
		return -1;
	}
	r->out[0] = '\0';
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		free(env);
		return -1;
	}
	if (pid == 0) {
		int fd = capture ? out[1] : open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 1);
		if (traced)
			ptrace(PTRACE_TRACEME, 0, 0, 0);
		execve(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	if (capture)
		close(out[1]);
	int st = 0;
	if (traced) {
		st = trace_child(pid);
	}
	size_t used = 0;
	if (capture) {
		ssize_t n;
		while ((n = read(out[0], r->out + used, sizeof(r->out) - 1 - used)) > 0)
			used += (size_t)n;
		r->out[used] = '\0';
		close(out[0]);
	}
	if (!traced)
		waitpid(pid, &st, 0);
	r->wall_ns = now_ns() - t0;
	r->status = st;
	return 0;
}

int
start_idle_child(char *const argv[], char *const env_add[], int *pid_out, int *stdin_fd)
{
	char **env = make_env(env_add);
	int in[2], out[2];
	if (!env || pipe2(in, O_CLOEXEC) != 0) {
		free(env);
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		free(env);
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execve(argv[0], argv, env);
		_exit(127);
	}
	free(env);
	close(in[0]);
	close(out[1]);
	char buf[64];
	ssize_t n = pid > 0 ? read(out[0], buf, sizeof(buf)) : -1;
	close(out[0]);
	if (pid < 0 || n <= 0) {
		close(in[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	*pid_out = pid;
	*stdin_fd = in[1];
	return 0;
}
