/*
 * workloads.c -- what a benchmark child process runs: the per-syscall latency loop (worker),
 * the multi-threaded loop (threads), a syscall-heavy loop for whole-process timing (loop), an
 * idle process for memory measurements (idle), a timed dlopen of the library (dlopen) and the
 * probe of what a syscall costs the code after it (pages).  Each
 * prints one line of numbers on stdout for the orchestrator (si_bench.c) to read.  They run the
 * same code natively and under the library; they must never look at whether the library is
 * there, and the timed loops must never make any syscall other than the measured one.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

const char *const bench_op_name[N_OPS] = { "getppid", "close(-1)", "read 1B /dev/zero" };
const long bench_op_nr[N_OPS] = { SYS_getppid, SYS_close, SYS_read };

uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* How the measured syscall is made. */
enum path {
	PATH_LIBC,	/* through libc's wrapper: a patched site under the library */
	PATH_INLINE,	/* a `syscall` in this executable: patched only with INTERCEPT_ALL_OBJS */
	PATH_JIT,	/* a `syscall` in code generated at run time: no object, never patched */
	PATH_SUD,	/* libc's wrapper with the SUD selector set to BLOCK before each call */
};

/* long jit_syscall3(long nr, long a0, long a1, long a2), written into an anonymous mapping. */
static long (*jit_syscall3)(long, long, long, long);

static int
make_jit(void)
{
	static const unsigned char code[] = {
		0x48, 0x89, 0xf8,	/* mov %rdi, %rax */
		0x48, 0x89, 0xf7,	/* mov %rsi, %rdi */
		0x48, 0x89, 0xd6,	/* mov %rdx, %rsi */
		0x48, 0x89, 0xca,	/* mov %rcx, %rdx */
		0x0f, 0x05,		/* syscall */
		0xc3,			/* ret */
	};
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memcpy(p, code, sizeof(code));
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0)
		return -1;
	jit_syscall3 = (long (*)(long, long, long, long))p;
	return 0;
}

static char read_buf[64];

static inline long
op_libc(enum bench_op op)
{
	switch (op) {
	case OP_GETPPID:
		return getppid();
	case OP_CLOSE:
		return close(-1);
	default:
		return read(BENCH_ZERO_FD, read_buf, 1);
	}
}

static inline long
op_jit(enum bench_op op)
{
	switch (op) {
	case OP_GETPPID:
		return jit_syscall3(SYS_getppid, 0, 0, 0);
	case OP_CLOSE:
		return jit_syscall3(SYS_close, -1, 0, 0);
	default:
		return jit_syscall3(SYS_read, BENCH_ZERO_FD, (long)read_buf, 1);
	}
}

static inline long
op_inline(enum bench_op op)
{
	switch (op) {
	case OP_GETPPID:
		return raw_syscall3(SYS_getppid, 0, 0, 0);
	case OP_CLOSE:
		return raw_syscall3(SYS_close, -1, 0, 0);
	default:
		return raw_syscall3(SYS_read, BENCH_ZERO_FD, (long)read_buf, 1);
	}
}

/* n calls; the switch on the operation is outside the timed loops. */
static long
run_ops(enum path path, enum bench_op op, long n)
{
	long r = 0;
#define LOOP(call) do { for (long i = 0; i < n; i++) r = (call); } while (0)
	switch (path) {
	case PATH_LIBC:
		switch (op) {
		case OP_GETPPID: LOOP(op_libc(OP_GETPPID)); break;
		case OP_CLOSE: LOOP(op_libc(OP_CLOSE)); break;
		default: LOOP(op_libc(OP_READ)); break;
		}
		break;
	case PATH_INLINE:
		switch (op) {
		case OP_GETPPID: LOOP(op_inline(OP_GETPPID)); break;
		case OP_CLOSE: LOOP(op_inline(OP_CLOSE)); break;
		default: LOOP(op_inline(OP_READ)); break;
		}
		break;
	case PATH_JIT:
		switch (op) {
		case OP_GETPPID: LOOP(op_jit(OP_GETPPID)); break;
		case OP_CLOSE: LOOP(op_jit(OP_CLOSE)); break;
		default: LOOP(op_jit(OP_READ)); break;
		}
		break;
	case PATH_SUD:
		switch (op) {
		case OP_GETPPID: LOOP((mech_sud_block(), op_libc(OP_GETPPID))); break;
		case OP_CLOSE: LOOP((mech_sud_block(), op_libc(OP_CLOSE))); break;
		default: LOOP((mech_sud_block(), op_libc(OP_READ))); break;
		}
		break;
	}
#undef LOOP
	return r;
}

static int
parse_op(const char *s)
{
	for (int i = 0; i < N_OPS; i++)
		if (strncmp(s, bench_op_name[i], strlen(s)) == 0)
			return i;
	return -1;
}

/*
 * worker <how> <op> <ms per repetition> <repetitions>
 *   how: libc | inline | jit | seccomp-fwd | seccomp-answer | sud-fwd | sud-answer
 * Calibrates the number of calls so that one repetition takes about the given time (the
 * calibration doubles as warm-up), then times the repetitions.  Prints
 * "<last result> <calls per repetition> <ns per call of each repetition>...".
 */
int
worker_main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: si-bench worker HOW OP MS_PER_REPETITION REPETITIONS\n");
		return 2;
	}
	const char *how = argv[2];
	int op = parse_op(argv[3]);
	double target_ns = atof(argv[4]) * 1e6;
	int reps = atoi(argv[5]);
	if (op < 0 || target_ns <= 0 || reps <= 0 || reps > 200) {
		fprintf(stderr, "si-bench worker: bad arguments\n");
		return 2;
	}
	int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero < 0 || dup2(zero, BENCH_ZERO_FD) < 0) {
		perror("si-bench: /dev/zero");
		return 1;
	}
	close(zero);

	enum path path = PATH_LIBC;
	if (strcmp(how, "inline") == 0) {
		path = PATH_INLINE;
	} else if (strcmp(how, "jit") == 0) {
		if (make_jit() != 0) {
			perror("si-bench: generated code");
			return 1;
		}
		path = PATH_JIT;
	} else if (strcmp(how, "libc") != 0) {
		enum mech m;
		if (strcmp(how, "seccomp-fwd") == 0)
			m = MECH_SECCOMP_FWD;
		else if (strcmp(how, "seccomp-answer") == 0)
			m = MECH_SECCOMP_ANSWER;
		else if (strcmp(how, "sud-fwd") == 0)
			m = MECH_SUD_FWD;
		else if (strcmp(how, "sud-answer") == 0)
			m = MECH_SUD_ANSWER;
		else {
			fprintf(stderr, "si-bench worker: unknown mechanism %s\n", how);
			return 2;
		}
		if (mech_install(m, bench_op_nr[op]) != 0)
			return 1;
		if (m == MECH_SUD_FWD || m == MECH_SUD_ANSWER)
			path = PATH_SUD;
	}

	/* Calibration and warm-up: grow the batch until it takes a tenth of a repetition. */
	long iters = 64;
	for (;;) {
		uint64_t t0 = now_ns();
		run_ops(path, op, iters);
		double took = (double)(now_ns() - t0);
		if (took >= target_ns / 10 || iters >= 100000000) {
			double want = (double)iters * target_ns / (took > 1 ? took : 1);
			iters = want < 100 ? 100 : want > 1e9 ? 1000000000 : (long)want;
			break;
		}
		iters *= 2;
	}
	double per_call[200];
	long last = 0;
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();
		last = run_ops(path, op, iters);
		uint64_t t1 = now_ns();
		per_call[r] = (double)(t1 - t0) / (double)iters;
	}
	printf("%ld %ld", last, iters);
	for (int r = 0; r < reps; r++)
		printf(" %.1f", per_call[r]);
	printf("\n");
	return 0;
}

struct thread_arg {
	pthread_barrier_t *start;
	long iters;
	uint64_t ns;
};

static void *
thread_body(void *p)
{
	struct thread_arg *a = p;
	pthread_barrier_wait(a->start);
	uint64_t t0 = now_ns();
	run_ops(PATH_LIBC, OP_GETPPID, a->iters);
	a->ns = now_ns() - t0;
	return NULL;
}

/*
 * threads <n> <iterations per thread>: n threads start together and each makes the given number
 * of getppid calls.  Prints "<mean ns per call per thread> <max ns per call> <wall ns>".
 */
int
threads_main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: si-bench threads N ITERATIONS\n");
		return 2;
	}
	int n = atoi(argv[2]);
	long iters = atol(argv[3]);
	if (n <= 0 || n > 64 || iters <= 0)
		return 2;
	pthread_t t[64];
	struct thread_arg a[64];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)n + 1);
	run_ops(PATH_LIBC, OP_GETPPID, iters / 4 + 10);	/* warm-up */
	for (int i = 0; i < n; i++) {
		a[i] = (struct thread_arg){ .start = &start, .iters = iters };
		if (pthread_create(&t[i], NULL, thread_body, &a[i]) != 0) {
			fprintf(stderr, "si-bench: pthread_create failed\n");
			return 1;
		}
	}
	pthread_barrier_wait(&start);
	uint64_t t0 = now_ns();
	double sum = 0, max = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		double per = (double)a[i].ns / (double)iters;
		sum += per;
		if (per > max)
			max = per;
	}
	uint64_t wall = now_ns() - t0;
	printf("%.1f %.1f %llu\n", sum / n, max, (unsigned long long)wall);
	return 0;
}

/*
 * loop <write|getppid|files> <n>: n one-byte writes to /dev/null, n getppid calls, or n times
 * open + fstat + read (4 KiB) + close of this program's own file (4 syscalls, 2 of them on a
 * path); the whole process is timed from outside.  Prints "<ns inside the loop>".
 */
int
loop_main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: si-bench loop write|getppid|files N\n");
		return 2;
	}
	long n = atol(argv[3]);
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	static char self[4096], buf[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (fd < 0 || len <= 0) {
		perror("si-bench: /dev/null or /proc/self/exe");
		return 1;
	}
	self[len] = '\0';
	uint64_t t0 = now_ns();
	if (strcmp(argv[2], "write") == 0) {
		for (long i = 0; i < n; i++)
			if (write(fd, "x", 1) != 1)
				return 1;
	} else if (strcmp(argv[2], "files") == 0) {
		for (long i = 0; i < n; i++) {
			struct stat st;
			int f = open(self, O_RDONLY | O_CLOEXEC);
			if (f < 0 || fstat(f, &st) != 0 || read(f, buf, sizeof(buf)) <= 0 ||
			    close(f) != 0)
				return 1;
		}
	} else {
		run_ops(PATH_LIBC, OP_GETPPID, n);
	}
	uint64_t t1 = now_ns();
	printf("%llu\n", (unsigned long long)(t1 - t0));
	return 0;
}

/*
 * pages <n>: what a syscall costs the user-space code around it on this machine.  Each
 * iteration makes one getppid and then touches n distinct pages (one byte each, all resident);
 * the same loop without the syscall is timed too.  Where a syscall flushes the TLB (page-table
 * isolation without PCID) every page touched after it costs a page walk, and the difference
 * between the two loops grows with n.  Prints "<min ns per iteration with> <min without>".
 */
int
pages_main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: si-bench pages N\n");
		return 2;
	}
	int n = atoi(argv[2]);
	if (n < 0 || n > 256)
		return 2;
	volatile char *m = mmap(NULL, 4096 * 257, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	const long iters = 1000;
	double best[2] = { 1e30, 1e30 };
	for (int rep = 0; rep < 200; rep++)
		for (int with = 0; with < 2; with++) {
			uint64_t t0 = now_ns();
			for (long i = 0; i < iters; i++) {
				if (with)
					getppid();
				for (int p = 0; p < n; p++)
					m[p * 4096 + (p * 64) % 4096]++;
			}
			double per = (double)(now_ns() - t0) / (double)iters;
			if (per < best[!with])
				best[!with] = per;
		}
	printf("%.1f %.1f\n", best[0], best[1]);
	return 0;
}

/* idle: says "ready" and sleeps in read(0) until stdin closes. */
int
idle_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char c;
	if (write(1, "ready\n", 6) != 6)
		return 1;
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

/* dlopen <library>: prints the ns one dlopen(RTLD_NOW) of it takes (its constructor included). */
int
dlopen_main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: si-bench dlopen LIBRARY\n");
		return 2;
	}
	uint64_t t0 = now_ns();
	void *h = dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL);
	uint64_t t1 = now_ns();
	if (!h) {
		fprintf(stderr, "si-bench: %s\n", dlerror());
		return 1;
	}
	printf("%llu\n", (unsigned long long)(t1 - t0));
	return 0;
}
