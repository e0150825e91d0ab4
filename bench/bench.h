/*
 * bench.h -- declarations shared by the files of si-bench, the benchmark driver of `make bench`:
 * the measured operations, the sub-commands a child process runs (workloads.c), the comparison
 * mechanisms built into the benchmark (mechanisms.c) and the small process helpers of the
 * orchestrator (spawn.c).  Nothing here may assume the library is loaded: every workload must run
 * natively as well as under it, and never checks a timing against a target.
 */
#ifndef SI_BENCH_H
#define SI_BENCH_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

/* /dev/zero is duplicated onto this descriptor, so a hook can recognise "the benchmark's read". */
#define BENCH_ZERO_FD 100
/* What hooks and signal handlers answer getppid with when they answer in user space. */
#define BENCH_MAGIC_PPID 424242L

/*
 * The user-space answer to the benchmark's three syscalls, shared by the answering hook library
 * and the answering SIGSYS handlers so that every mechanism does the same work: getppid gets
 * BENCH_MAGIC_PPID (so the driver can tell it was answered), close(-1) gets -EBADF, a read of
 * BENCH_ZERO_FD gets zeros.  Returns 1 with *result set, or 0 for any other syscall.
 */
static inline int
bench_answer(long nr, long a0, long a1, long a2, long *result)
{
	if (nr == SYS_getppid) {
		*result = BENCH_MAGIC_PPID;
		return 1;
	}
	/* An int argument arrives zero-extended (0xffffffff for -1): compare it as an int. */
	if (nr == SYS_close && (int)a0 == -1) {
		*result = -EBADF;
		return 1;
	}
	if (nr == SYS_read && (int)a0 == BENCH_ZERO_FD) {
		volatile char *p = (volatile char *)a1;
		for (long i = 0; i < a2; i++)
			p[i] = 0;
		*result = a2;
		return 1;
	}
	return 0;
}

enum bench_op { OP_GETPPID, OP_CLOSE, OP_READ, N_OPS };
extern const char *const bench_op_name[N_OPS];
extern const long bench_op_nr[N_OPS];

/* Monotonic time in nanoseconds (vDSO: no syscall). */
uint64_t now_ns(void);
int cmp_double(const void *a, const void *b);
int cmp_u64(const void *a, const void *b);

/* Sub-commands run in child processes (workloads.c); each prints one result line on stdout. */
int worker_main(int argc, char **argv);
int threads_main(int argc, char **argv);
int loop_main(int argc, char **argv);
int idle_main(int argc, char **argv);
int dlopen_main(int argc, char **argv);
int pages_main(int argc, char **argv);
int primitives_main(int argc, char **argv);

/*
 * Comparison mechanisms (mechanisms.c).  mech_install sets up, in the calling process, a trap of
 * syscall `nr` (seccomp-bpf SECCOMP_RET_TRAP or Syscall User Dispatch) whose SIGSYS handler
 * either forwards the syscall to the kernel or answers it.  Returns 0, or -1 with a message.
 */
enum mech { MECH_SECCOMP_FWD, MECH_SECCOMP_ANSWER, MECH_SUD_FWD, MECH_SUD_ANSWER };
int mech_install(enum mech m, long nr);
/* SUD: set the selector to BLOCK again (the handler leaves it at ALLOW for the sigreturn). */
void mech_sud_block(void);
extern volatile bool mech_sud_active;
/* A `syscall` instruction in the executable's own text (not libc's). */
long raw_syscall3(long nr, long a0, long a1, long a2);

/* Process helpers (spawn.c). */
struct child_result {
	int status;		/* as from waitpid */
	uint64_t wall_ns;	/* fork to reap */
	char out[4096];		/* stdout, NUL-terminated (truncated) */
};
/*
 * Runs argv with the current environment minus LD_PRELOAD and every INTERCEPT_* variable, plus
 * env_add ("NAME=value", NULL-terminated, may be NULL).  Under `traced`, the child runs under a
 * minimal ptrace tracer that stops it at every syscall entry and exit and lets it go on.
 * `capture` collects stdout; otherwise it goes to /dev/null.  Returns 0, -1 if it could not run.
 */
int run_child(char *const argv[], char *const env_add[], bool traced, bool capture,
	      struct child_result *r);
/* Like run_child, but leaves the child running; it reports readiness by writing a line. */
int start_idle_child(char *const argv[], char *const env_add[], int *pid, int *stdin_fd);

#endif
