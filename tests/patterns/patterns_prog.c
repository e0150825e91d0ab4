/*
 * patterns_prog.c -- drives the syscall shapes of patterns.S.  Subcommands:
 *   list                 the pattern names
 *   sites NAME           the offsets (hex, from the executable's load bias) of NAME's sites
 *   expect NAME ITERS    "<nr> <count>": the syscalls NAME makes in ITERS iterations
 *   run NAME ITERS       runs NAME ITERS times and checks every result against values computed
 *                        through libc; prints "NAME: ok" (the same text whatever ITERS is, so
 *                        that runs differ only in the pattern's own syscalls) or the failures;
 *                        NAME "all" runs every pattern in turn (plan_fuzz.py uses it)
 * It must give the same output natively and patched, and never make a getpid, getppid or write
 * syscall that depends on ITERS other than the pattern's own.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

long pat_first(void), pat_int3(void), pat_nop(void), pat_last(void), pat_last_next(long);
void pat_exit(int) __attribute__((noreturn));
long pat_after(long, long), pat_at(long), pat_at_ret(long), pat_loop(long);
long pat_riprel_before(long), pat_riprel_after(long), pat_endbr(void), pat_endbr_tight(void);
long pat_b2b(long, const void *, long), pat_b2b3(long, const void *, long);
long pat_jcc(long), pat_targets(long), pat_far(long), pat_lsda(long), pat_jtab(long);
extern long pat_data, pat_data2, pat_out;
extern const uint64_t pat_first_sites[], pat_int3_sites[], pat_nop_sites[], pat_last_sites[],
	pat_exit_sites[], pat_after_sites[], pat_at_sites[], pat_at_ret_sites[], pat_loop_sites[],
	pat_riprel_before_sites[], pat_riprel_after_sites[], pat_endbr_sites[],
	pat_endbr_tight_sites[], pat_b2b_sites[], pat_b2b3_sites[], pat_jcc_sites[],
	pat_targets_sites[], pat_far_sites[], pat_lsda_sites[], pat_jtab_sites[];

static long pid, ppid;
static int failures;

#define EXPECT(name, got, want) do { \
	long g_ = (got), w_ = (want); \
	if (g_ != w_) { failures++; \
		printf("FAIL %s: %s = %ld, expected %ld\n", name, #got, g_, w_); } \
	} while (0)

#define LOOP_N 5

static void
run_exit(long iters)
{
	for (long i = 0; i < iters; i++) {
		pid_t c = fork();
		if (c == 0)
			pat_exit(40 + (int)(i % 10));
		int st = 0;
		waitpid(c, &st, 0);
		EXPECT("exit", WIFEXITED(st) ? WEXITSTATUS(st) : -1, 40 + i % 10);
	}
}

/* Reads everything the pattern wrote into the pipe. */
static long
drain(int fd)
{
	char buf[64];
	long n = read(fd, buf, sizeof(buf));
	for (long i = 0; i < n; i++)
		if (buf[i] != 'x')
			return -1;
	return n;
}

static void
run_write(const char *name, long (*fn)(long, const void *, long), int per_call, long iters)
{
	int p[2];
	if (pipe(p) != 0) {
		failures++;
		return;
	}
	for (long i = 0; i < iters; i++) {
		EXPECT(name, fn(p[1], "x", 1), 1);
		EXPECT(name, drain(p[0]), per_call);
	}
	close(p[0]);
	close(p[1]);
}

static void
run(const char *name, long iters)
{
	long (*volatile endbr)(void) = pat_endbr;	/* an indirect call, what endbr64 is for */
	for (long i = 0; i < iters; i++) {
		if (!strcmp(name, "first"))
			EXPECT(name, pat_first(), pid);
		else if (!strcmp(name, "int3"))
			EXPECT(name, pat_int3(), pid);
		else if (!strcmp(name, "nop"))
			EXPECT(name, pat_nop(), pid);
		else if (!strcmp(name, "last")) {
			EXPECT(name, pat_last(), ppid);
			EXPECT(name, pat_last_next(i), i);
		} else if (!strcmp(name, "after")) {
			EXPECT(name, pat_after(12345, 0), pid);
			EXPECT(name, pat_after(12345, 1), 12345);
		} else if (!strcmp(name, "at")) {
			EXPECT(name, pat_at(0), pid);
			EXPECT(name, pat_at(1), ppid);
		} else if (!strcmp(name, "at_ret")) {
			EXPECT(name, pat_at_ret(0), pid);
			EXPECT(name, pat_at_ret(1), ppid);
		} else if (!strcmp(name, "loop"))
			EXPECT(name, pat_loop(LOOP_N), LOOP_N * pid);
		else if (!strcmp(name, "riprel_before")) {
			EXPECT(name, pat_riprel_before(0), pid + pat_data2);
			EXPECT(name, pat_riprel_before(1), pat_data);
		} else if (!strcmp(name, "riprel_after")) {
			pat_out = 0;
			EXPECT(name, pat_riprel_after(0), pid + pat_data);
			EXPECT(name, pat_out, pid + pat_data);
			EXPECT(name, pat_riprel_after(1), ppid + pat_data);
			EXPECT(name, pat_out, ppid + pat_data);
		} else if (!strcmp(name, "endbr"))
			EXPECT(name, endbr(), pid);
		else if (!strcmp(name, "endbr_tight"))
			EXPECT(name, pat_endbr_tight(), ppid);
		else if (!strcmp(name, "jcc")) {
			EXPECT(name, pat_jcc(0), -pid);
			EXPECT(name, pat_jcc(1), ppid);
		} else if (!strcmp(name, "targets") || !strcmp(name, "far")) {
			long (*fn)(long) = !strcmp(name, "far") ? pat_far : pat_targets;
			for (long k = 0; k < 3; k++)
				EXPECT(name, fn(k), pid);
			EXPECT(name, fn(3), 39);
		} else if (!strcmp(name, "lsda")) {
			EXPECT(name, pat_lsda(0), pid);
			EXPECT(name, pat_lsda(1), 1000);	/* unwound to the landing pad */
		} else if (!strcmp(name, "jtab")) {
			EXPECT(name, pat_jtab(0), pid + 5);
			EXPECT(name, pat_jtab(1), ppid + 5);
			EXPECT(name, pat_jtab(2), 2005);	/* through the table, after the site */
		}
	}
	if (!strcmp(name, "exit"))
		run_exit(iters);
	else if (!strcmp(name, "b2b"))
		run_write(name, pat_b2b, 2, iters);
	else if (!strcmp(name, "b2b3"))
		run_write(name, pat_b2b3, 3, iters);
}

struct pattern {
	const char *name;
	const uint64_t *sites;
	int getpid, getppid, write;	/* syscalls per iteration */
};

static const struct pattern patterns[] = {
	{ "first", pat_first_sites, 1, 0, 0 },
	{ "int3", pat_int3_sites, 1, 0, 0 },
	{ "nop", pat_nop_sites, 1, 0, 0 },
	{ "last", pat_last_sites, 0, 1, 0 },
	{ "exit", pat_exit_sites, 0, 0, 0 },	/* exit_group runs in children */
	{ "after", pat_after_sites, 1, 0, 0 },
	{ "at", pat_at_sites, 1, 1, 0 },
	{ "at_ret", pat_at_ret_sites, 1, 1, 0 },
	{ "loop", pat_loop_sites, LOOP_N, 0, 0 },
	{ "riprel_before", pat_riprel_before_sites, 1, 0, 0 },
	{ "riprel_after", pat_riprel_after_sites, 1, 1, 0 },
	{ "endbr", pat_endbr_sites, 1, 0, 0 },
	{ "endbr_tight", pat_endbr_tight_sites, 0, 1, 0 },
	{ "b2b", pat_b2b_sites, 0, 0, 2 },
	{ "b2b3", pat_b2b3_sites, 0, 0, 3 },
	{ "jcc", pat_jcc_sites, 1, 1, 0 },
	{ "targets", pat_targets_sites, 3, 0, 0 },
	{ "far", pat_far_sites, 3, 0, 0 },
	{ "lsda", pat_lsda_sites, 1, 0, 0 },
	{ "jtab", pat_jtab_sites, 1, 1, 0 },
};
#define N_PATTERNS (sizeof(patterns) / sizeof(patterns[0]))

static const struct pattern *
find(const char *name)
{
	for (size_t i = 0; i < N_PATTERNS; i++)
		if (!strcmp(patterns[i].name, name))
			return &patterns[i];
	fprintf(stderr, "unknown pattern %s\n", name);
	exit(2);
}

static int
first_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uintptr_t *)data = info->dlpi_addr;
	return 1;	/* the first object is the executable */
}

int
main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "list")) {
		for (size_t i = 0; i < N_PATTERNS; i++)
			printf("%s\n", patterns[i].name);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "sites")) {
		uintptr_t bias = 0;
		dl_iterate_phdr(first_object, &bias);
		for (const uint64_t *s = find(argv[2])->sites; *s; s++)
			printf("0x%lx\n", (unsigned long)(*s - bias));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "expect")) {
		const struct pattern *p = find(argv[2]);
		long n = atol(argv[3]);
		printf("%d %ld\n%d %ld\n%d %ld\n", SYS_getpid, p->getpid * n, SYS_getppid,
		       p->getppid * n, SYS_write, p->write * n);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "run")) {
		bool all = !strcmp(argv[2], "all");
		pid = getpid();
		ppid = getppid();
		for (size_t i = 0; i < N_PATTERNS; i++) {
			const struct pattern *p = all ? &patterns[i] : find(argv[2]);
			int before = failures;
			run(p->name, atol(argv[3]));
			if (failures == before)
				printf("%s: ok\n", p->name);
			fflush(stdout);
			if (!all)
				break;
		}
		return failures ? 1 : 0;
	}
	fprintf(stderr, "usage: patterns_prog list | sites NAME | expect NAME N | run NAME N\n");
	return 2;
}
