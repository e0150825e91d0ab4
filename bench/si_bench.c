/*
 * si_bench.c -- the benchmark driver behind `make bench`.  `si-bench run` measures, in one run
 * and against native on the same machine: per-syscall latency (getppid, close(-1), read of one
 * byte from /dev/zero) under the library in each of its modes and under the mechanisms a user
 * could pick instead (ptrace, seccomp-bpf traps, Syscall User Dispatch); start-up cost; extra
 * memory per process; multi-threaded scaling; logging throughput against strace; and, when
 * valgrind is there, instructions per intercepted syscall.  It prints markdown tables.  Every
 * measurement runs in a child process started from here (the other sub-commands are what those
 * children run, see workloads.c).  It reports what it measured and nothing else: it must never
 * fail or exit non-zero because something is slow or a feature is missing (it says "n/a" or
 * "not available"), and never leaves files outside its own temporary folder.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <ctype.h>
#include <dirent.h>
#include <gnu/libc-version.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct config {
	char self[4096];
	const char *lib, *pass, *answer, *python, *source;
	char strace[4096], valgrind[4096];
	char tmpdir[64];
	bool quick, no_callgrind;
	int nice_set;		/* --nice: 1 when the priority was raised, -1 when refused */
	bool has_exhaustive;	/* the library knows INTERCEPT_EXHAUSTIVE */
	double rep_ms;		/* time per repetition of a latency measurement */
	int reps;		/* repetitions per worker process */
	int rounds;		/* worker processes per mode and syscall */
};

static char env_lib[4200], env_pass[4200], env_answer[4200];

/* ---------------------------------------------------------------- small helpers */

static void
progress(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

static bool
find_in_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		snprintf(out, len, "%.*s/%s", (int)n, path, name);
		if (n && access(out, X_OK) == 0)
			return true;
		path += n + (colon ? 1 : 0);
	}
	return false;
}

/* Does the file contain the string?  (Detects features of the built library.) */
static bool
file_contains(const char *file, const char *needle)
{
	FILE *f = fopen(file, "rb");
	if (!f)
		return false;
	size_t cap = 1 << 20, len = 0, nl = strlen(needle);
	char *buf = malloc(cap);
	bool found = false;
	size_t n;
	while (buf && !found && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (memmem(buf, len, needle, nl))
			found = true;
		else if (len > nl) {
			memmove(buf, buf + len - nl, nl);
			len = nl;
		}
	}
	free(buf);
	fclose(f);
	return found;
}

static long
file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static double
median_d(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
tmp_path(const struct config *c, char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", c->tmpdir, name);
}

/* ---------------------------------------------------------------- the machine */

static void
print_machine(const struct config *c)
{
	char model[256] = "unknown", line[4096];
	int cpus = 0;
	bool avx512 = false, avx = false;
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "processor", 9) == 0)
			cpus++;
		else if (strncmp(line, "model name", 10) == 0 && cpus == 1) {
			char *v = strchr(line, ':');
			if (v) {
				snprintf(model, sizeof(model), "%s", v + 2);
				model[strcspn(model, "\n")] = '\0';
			}
		} else if (strncmp(line, "flags", 5) == 0 && cpus == 1) {
			avx512 = strstr(line, " avx512f") != NULL;
			avx = strstr(line, " avx ") != NULL;
		}
	}
	if (f)
		fclose(f);
	struct utsname u;
	uname(&u);
	char date[64];
	time_t now = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	printf("# syscall_intercept benchmark\n\n");
	printf("| | |\n|---|---|\n");
	printf("| date | %s |\n", date);
	printf("| CPU | %s (%d logical CPUs; vector registers: %s) |\n",
	       model, cpus, avx512 ? "AVX-512, zmm0-31 + k0-7" : avx ? "AVX, ymm0-15" : "SSE");
	printf("| kernel | %s %s %s |\n", u.sysname, u.release, u.version);
	printf("| glibc | %s |\n", gnu_get_libc_version());
	printf("| library | %s |\n", c->lib);
	if (c->source) {
		/* Which code was measured: the commit, and whether src/ had local changes. */
		char cmd[4300], rev[64] = "?", dirty[64] = "";
		snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse --short HEAD 2>/dev/null", c->source);
		FILE *g = popen(cmd, "r");
		if (g) {
			if (fgets(rev, sizeof(rev), g))
				rev[strcspn(rev, "\n")] = '\0';
			pclose(g);
		}
		snprintf(cmd, sizeof(cmd), "git -C '%s' status --porcelain -- src 2>/dev/null | wc -l",
			 c->source);
		g = popen(cmd, "r");
		if (g) {
			if (fgets(dirty, sizeof(dirty), g))
				dirty[strcspn(dirty, "\n")] = '\0';
			pclose(g);
		}
		printf("| source | commit %s, %s file(s) under src/ changed or new since |\n", rev,
		       dirty);
	}
	printf("| INTERCEPT_EXHAUSTIVE | %s |\n",
	       c->has_exhaustive ? "known to the library" : "not in the library (rows say n/a)");
	char load[128] = "?";
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fgets(load, sizeof(load), f))
			load[strcspn(load, "\n")] = '\0';
		fclose(f);
	}
	printf("| load average at start | %s |\n", load);
	printf("| settings | latency: %d rounds x %d loops of %g ms%s%s |\n\n", c->rounds, c->reps,
	       c->rep_ms, c->quick ? " (--quick)" : "",
	       c->nice_set > 0 ? "; run at nice -20 (--nice)" :
	       c->nice_set < 0 ? "; --nice refused (not privileged)" : "");
}

/* ---------------------------------------------------------------- per-syscall latency */

enum hook { HOOK_NONE, HOOK_PASS, HOOK_ANSWER };
enum kind { K_PLAIN, K_LOG, K_EXHAUSTIVE, K_PTRACE };

struct lat_mode {
	const char *name;
	const char *how;	/* worker mechanism */
	enum hook hook;
	const char *env;	/* one extra variable or NULL */
	enum kind kind;
};

static const struct lat_mode lat_modes[] = {
	{ "native", "libc", HOOK_NONE, NULL, K_PLAIN },
	{ "library, pass-through hook", "libc", HOOK_PASS, NULL, K_PLAIN },
	{ "library, hook answers in user space", "libc", HOOK_ANSWER, NULL, K_PLAIN },
	{ "library + INTERCEPT_LOG (pass-through)", "libc", HOOK_PASS, NULL, K_LOG },
	{ "library + INTERCEPT_ALL_OBJS=1, libc site", "libc", HOOK_PASS,
	  "INTERCEPT_ALL_OBJS=1", K_PLAIN },
	{ "library + ALL_OBJS, site in the executable", "inline", HOOK_PASS,
	  "INTERCEPT_ALL_OBJS=1", K_PLAIN },
	{ "library + INTERCEPT_EXHAUSTIVE=1, libc site", "libc", HOOK_PASS,
	  "INTERCEPT_EXHAUSTIVE=1", K_EXHAUSTIVE },
	{ "library + EXHAUSTIVE, generated-code site (SIGSYS)", "jit", HOOK_PASS,
	  "INTERCEPT_EXHAUSTIVE=1", K_EXHAUSTIVE },
	{ "ptrace, PTRACE_SYSCALL tracer, forwarding", "libc", HOOK_NONE, NULL, K_PTRACE },
	{ "seccomp RET_TRAP + SIGSYS, forwarding", "seccomp-fwd", HOOK_NONE, NULL, K_PLAIN },
	{ "seccomp RET_TRAP + SIGSYS, answering", "seccomp-answer", HOOK_NONE, NULL, K_PLAIN },
	{ "Syscall User Dispatch + SIGSYS, forwarding", "sud-fwd", HOOK_NONE, NULL, K_PLAIN },
	{ "Syscall User Dispatch + SIGSYS, answering", "sud-answer", HOOK_NONE, NULL, K_PLAIN },
};
#define N_LAT_MODES (sizeof(lat_modes) / sizeof(lat_modes[0]))

#define MAX_SAMPLES 512
struct lat_result {
	int state;		/* 0 measured, 1 n/a, 2 failed, 3 logging not available */
	double median, min;
	long last, iters;
	int hook_reached;	/* getppid under the library: -1 not checked, 0 no, 1 yes */
	int n;			/* samples (ns per call of one repetition) so far */
	double samples[MAX_SAMPLES];
};

static int
fill_hook_env(char **env, int k, enum hook h)
{
	if (h == HOOK_PASS)
		env[k++] = env_pass;
	else if (h == HOOK_ANSWER)
		env[k++] = env_answer;
	return k;
}

/* One worker process of one round: adds its repetitions to r->samples. */
static void
measure_latency(const struct config *c, const struct lat_mode *m, int op, struct lat_result *r,
		bool first_round)
{
	if (first_round) {
		memset(r, 0, sizeof(*r));
		r->hook_reached = -1;
	}
	if (m->kind == K_EXHAUSTIVE && !c->has_exhaustive)
		r->state = 1;
	if (r->state != 0)
		return;
	char *env[6];
	int k = fill_hook_env(env, 0, m->hook);
	char log_env[200], log_file[128];
	if (m->env)
		env[k++] = (char *)m->env;
	if (m->kind == K_LOG) {
		tmp_path(c, log_file, sizeof(log_file), "latency.log");
		unlink(log_file);
		snprintf(log_env, sizeof(log_env), "INTERCEPT_LOG=%s", log_file);
		env[k++] = log_env;
	}
	env[k] = NULL;
	char ms[32], reps[16];
	snprintf(ms, sizeof(ms), "%g", c->rep_ms);
	snprintf(reps, sizeof(reps), "%d", c->reps);
	const char *opname[] = { "getppid", "close", "read" };
	char *argv[] = { (char *)c->self, "worker", (char *)m->how, (char *)opname[op], ms, reps,
			 NULL };
	struct child_result cr;
	int used = 0;
	if (run_child(argv, env, m->kind == K_PTRACE, true, &cr) != 0 ||
	    !WIFEXITED(cr.status) || WEXITSTATUS(cr.status) != 0 ||
	    sscanf(cr.out, "%ld %ld%n", &r->last, &r->iters, &used) != 2) {
		r->state = 2;
	} else {
		const char *p = cr.out + used;
		double v;
		int len;
		while (r->n < MAX_SAMPLES && sscanf(p, "%lf%n", &v, &len) == 1) {
			r->samples[r->n++] = v;
			p += len;
		}
	}
	if (m->kind == K_LOG) {
		if (file_size(log_file) <= 0)
			r->state = 3;
		unlink(log_file);
	}
	if (first_round && r->state == 0 && op == OP_GETPPID && m->hook != HOOK_NONE) {
		/* The same mode with the answering hook: does getppid reach the hook at all? */
		env[0] = env_answer;
		char *check_argv[] = { (char *)c->self, "worker", (char *)m->how, "getppid", "0.2",
				       "1", NULL };
		long last = 0, it;
		if (run_child(check_argv, env, false, true, &cr) == 0 &&
		    sscanf(cr.out, "%ld %ld", &last, &it) == 2)
			r->hook_reached = last == BENCH_MAGIC_PPID;
		if (m->kind == K_LOG)
			unlink(log_file);
	}
}

static void
latency_section(const struct config *c)
{
	static struct lat_result res[N_LAT_MODES][N_OPS];
	progress("latency:");
	for (int round = 0; round < c->rounds; round++)
		for (int op = 0; op < N_OPS; op++)
			for (size_t m = 0; m < N_LAT_MODES; m++) {
				measure_latency(c, &lat_modes[m], op, &res[m][op], round == 0);
				progress(".");
			}
	progress("\n");
	for (size_t m = 0; m < N_LAT_MODES; m++)
		for (int op = 0; op < N_OPS; op++) {
			struct lat_result *r = &res[m][op];
			if (r->state == 0 && r->n == 0)
				r->state = 2;
			if (r->state == 0) {
				r->median = median_d(r->samples, r->n);
				r->min = r->samples[0];
			}
		}

	printf("## Per-syscall latency\n\n");
	printf("ns per call, from %d rounds; in each round every mode runs in a fresh process "
	       "that calibrates a loop of about %g ms and times it %d times; median and min are "
	       "over all %d timed loops.  Rounds interleave the modes so that load from other "
	       "processes spreads over all of them.\n\n", c->rounds, c->rep_ms, c->reps,
	       c->rounds * c->reps);
	printf("Overhead (median) = median - native median, overhead (min) = min - native min; "
	       "x native = median / native median.  Other processes running on the machine "
	       "inflate medians more than minimums.  The check column (getppid) reruns the "
	       "library modes with the answering hook to confirm the hook is reached, and "
	       "confirms the answering signal handlers answered.\n\n");
	for (int op = 0; op < N_OPS; op++) {
		double native = res[0][op].median, native_min = res[0][op].min;
		printf("### %s\n\n", bench_op_name[op]);
		printf("| mode | median ns | min ns | overhead ns (median) | overhead ns (min) | "
		       "x native |%s\n", op == OP_GETPPID ? " check |" : "");
		printf("|---|---:|---:|---:|---:|---:|%s\n", op == OP_GETPPID ? "---|" : "");
		for (size_t m = 0; m < N_LAT_MODES; m++) {
			const struct lat_result *r = &res[m][op];
			printf("| %s |", lat_modes[m].name);
			if (r->state == 1)
				printf(" n/a | n/a | n/a | n/a | n/a |");
			else if (r->state == 2)
				printf(" failed | | | | |");
			else if (r->state == 3)
				printf(" logging not available | | | | |");
			else
				printf(" %.1f | %.1f | %+.1f | %+.1f | %.2f |", r->median, r->min,
				       r->median - native, r->min - native_min,
				       native > 0 ? r->median / native : 0);
			if (op == OP_GETPPID) {
				const char *check = "";
				if (r->state == 0 && r->hook_reached >= 0)
					check = r->hook_reached ? "hook reached" : "HOOK NOT REACHED";
				else if (r->state == 0 && strstr(lat_modes[m].how, "answer"))
					check = r->last == BENCH_MAGIC_PPID ? "handler answered" :
						"NOT ANSWERED";
				printf(" %s |", check);
			}
			printf("\n");
		}
		printf("\n");
	}
}

/* ---------------------------------------------------------------- the syscall's side cost */

static void
pages_section(const struct config *c)
{
	const int counts[] = { 0, 4, 8, 16, 32, 64 };
	enum { N = sizeof(counts) / sizeof(counts[0]) };
	double with[N], without[N];
	progress("pages...");
	for (int i = 0; i < N; i++) {
		char n[16];
		snprintf(n, sizeof(n), "%d", counts[i]);
		char *argv[] = { (char *)c->self, "pages", n, NULL };
		struct child_result cr;
		with[i] = without[i] = -1;
		if (run_child(argv, NULL, false, true, &cr) != 0 ||
		    sscanf(cr.out, "%lf %lf", &with[i], &without[i]) != 2)
			with[i] = without[i] = -1;
	}
	progress("\n");
	printf("## What a syscall costs the code around it (native)\n\n");
	printf("One getppid, then one byte read-modify-written in each of N distinct resident "
	       "pages; min ns per iteration over 200 loops of 1000, with and without the syscall.  If the "
	       "kernel flushes the TLB on every syscall (page-table isolation without PCID), each "
	       "page user space touches afterwards costs a page walk: the extra cost per page is "
	       "what every page an intercepted syscall touches (trampoline, entry, dispatcher, "
	       "hook, data, TLS, stack) costs on top of its instructions.\n\n");
	printf("| pages touched | with getppid ns | without ns | syscall + side cost ns | "
	       "side cost per page ns |\n|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < N; i++) {
		if (with[i] < 0) {
			printf("| %d | failed | | | |\n", counts[i]);
			continue;
		}
		double cost = with[i] - without[i];
		printf("| %d | %.1f | %.1f | %.1f |", counts[i], with[i], without[i], cost);
		if (i > 0 && with[0] >= 0)
			printf(" %.1f |\n", (cost - (with[0] - without[0])) / counts[i]);
		else
			printf(" |\n");
	}
	printf("\n");
}

static void
primitives_section(const struct config *c)
{
	progress("primitives...");
	char *argv[] = { (char *)c->self, "primitives", NULL };
	struct child_result cr;
	printf("## What the entry's building blocks cost here (native)\n\n");
	printf("Min ns per iteration (60 loops of 20000) of each sequence alone, loop overhead "
	       "included; instructions the CPU or kernel lacks are skipped.\n\n");
	printf("| sequence | ns |\n|---|---:|\n");
	if (run_child(argv, NULL, false, true, &cr) != 0 || !WIFEXITED(cr.status) ||
	    WEXITSTATUS(cr.status) != 0) {
		printf("| failed | |\n\n");
		progress("\n");
		return;
	}
	for (char *line = strtok(cr.out, "\n"); line; line = strtok(NULL, "\n")) {
		char *tab = strchr(line, '\t');
		if (tab) {
			*tab = '\0';
			printf("| %s | %s |\n", line, tab + 1);
		}
	}
	printf("\n");
	progress("\n");
}

/* ---------------------------------------------------------------- start-up */

#define N_ENV_MODES 4
static const char *const env_mode_name[N_ENV_MODES] = {
	"native", "library (pass-through hook)", "library + INTERCEPT_ALL_OBJS=1",
	"library + INTERCEPT_PLAN_CACHE (warm)"
};
/* INTERCEPT_PLAN_CACHE=<the run's temporary directory>/plans; the first run fills it */
static char env_plan_cache[200];

static void
env_for_mode(int mode, char **env)
{
	int k = 0;
	if (mode >= 1)
		env[k++] = env_pass;
	if (mode == 2)
		env[k++] = "INTERCEPT_ALL_OBJS=1";
	if (mode == 3)
		env[k++] = env_plan_cache;
	env[k] = NULL;
}

/* Empties and removes the plan cache directory of the run. */
static void
remove_plan_cache(void)
{
	const char *dir = strchr(env_plan_cache, '=');
	if (!dir)
		return;
	dir++;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] != '.')
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Median whole-process wall time (ms) per mode, modes interleaved run by run. */
static void
time_program(char *const argv[], int runs, double med[N_ENV_MODES], double min[N_ENV_MODES])
{
	double *t = calloc((size_t)runs * N_ENV_MODES, sizeof(double));
	int ok[N_ENV_MODES] = { 0 };
	for (int i = 0; i < runs; i++)
		for (int m = 0; m < N_ENV_MODES; m++) {
			char *env[4];
			env_for_mode(m, env);
			struct child_result cr;
			if (run_child(argv, env, false, false, &cr) == 0 && WIFEXITED(cr.status) &&
			    WEXITSTATUS(cr.status) == 0)
				t[m * runs + ok[m]++] = (double)cr.wall_ns / 1e6;
		}
	for (int m = 0; m < N_ENV_MODES; m++) {
		med[m] = ok[m] ? median_d(t + m * runs, ok[m]) : -1;
		min[m] = ok[m] ? t[m * runs] : -1;	/* sorted by median_d */
	}
	free(t);
}

/*
 * The time the library's constructor takes, seen from inside a process: dlopen of the library
 * (it patches from its constructor) against dlopen of the same library told by
 * INTERCEPT_HOOK_CMDLINE_FILTER to patch nothing.  The difference is the patching.
 */
static void
time_dlopen(char *const argv[], int runs, const char *mode_env, double *patch_med,
	    double *load_med)
{
	double *with = calloc(runs, sizeof(double)), *without = calloc(runs, sizeof(double));
	int n_with = 0, n_without = 0;
	for (int i = 0; i < runs; i++)
		for (int filtered = 0; filtered < 2; filtered++) {
			char *env[3];
			int k = 0;
			if (filtered)
				env[k++] = "INTERCEPT_HOOK_CMDLINE_FILTER=si-bench-patches-nothing";
			if (mode_env)
				env[k++] = (char *)mode_env;
			env[k] = NULL;
			struct child_result cr;
			unsigned long long ns;
			if (run_child(argv, env, false, true, &cr) == 0 && WIFEXITED(cr.status) &&
			    WEXITSTATUS(cr.status) == 0 && sscanf(cr.out, "%llu", &ns) == 1) {
				if (filtered)
					without[n_without++] = (double)ns / 1e6;
				else
					with[n_with++] = (double)ns / 1e6;
			}
		}
	double w = n_with ? median_d(with, n_with) : -1;
	double wo = n_without ? median_d(without, n_without) : -1;
	*patch_med = (w >= 0 && wo >= 0) ? w - wo : -1;
	*load_med = wo;
	free(with);
	free(without);
}

static void
startup_section(const struct config *c)
{
	int runs_true = c->quick ? 10 : 40, runs_py = c->quick ? 5 : 11, runs_dl = c->quick ? 5 : 11;
	progress("start-up: patching time...");
	char *dl_argv[] = { (char *)c->self, "dlopen", (char *)c->lib, NULL };
	char *py_dl_argv[] = { (char *)c->python, "-c",
			       "import ctypes, sys, time\n"
			       "t = time.perf_counter_ns()\n"
			       "ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)\n"
			       "print(time.perf_counter_ns() - t)\n",
			       (char *)c->lib, NULL };
	double patch[5], load[5];
	time_dlopen(dl_argv, runs_dl, NULL, &patch[0], &load[0]);
	time_dlopen(dl_argv, runs_dl, "INTERCEPT_ALL_OBJS=1", &patch[1], &load[1]);
	time_dlopen(py_dl_argv, runs_dl, NULL, &patch[2], &load[2]);
	time_dlopen(py_dl_argv, runs_dl, "INTERCEPT_ALL_OBJS=1", &patch[3], &load[3]);
	time_dlopen(dl_argv, runs_dl, env_plan_cache, &patch[4], &load[4]);

	progress(" /bin/true...");
	char *true_argv[] = { "/bin/true", NULL };
	char *py_argv[] = { (char *)c->python, "-c", "pass", NULL };
	double t_med[N_ENV_MODES], t_min[N_ENV_MODES], p_med[N_ENV_MODES], p_min[N_ENV_MODES];
	time_program(true_argv, runs_true, t_med, t_min);
	progress(" python3...");
	time_program(py_argv, runs_py, p_med, p_min);
	progress("\n");

	printf("## Start-up\n\n");
	printf("### Patching, measured inside the process\n\n");
	printf("dlopen of the library (its constructor patches) minus dlopen of the same library "
	       "with INTERCEPT_HOOK_CMDLINE_FILTER set to a name that does not match (loads, "
	       "relocates, patches nothing); median of %d runs each.\n\n", runs_dl);
	printf("| process | objects patched | patching ms | load without patching ms |\n");
	printf("|---|---|---:|---:|\n");
	const char *what[5] = { "si-bench (small C program)", "si-bench (small C program)",
				"python3 (after start-up)", "python3 (after start-up)",
				"si-bench (small C program)" };
	for (int i = 0; i < 5; i++) {
		printf("| %s | %s |", what[i], i == 4 ? "libc + ld.so, INTERCEPT_PLAN_CACHE (warm)" :
		       i % 2 ? "all (INTERCEPT_ALL_OBJS=1)" : "libc + ld.so");
		if (patch[i] < 0 || load[i] < 0)
			printf(" failed | |\n");
		else
			printf(" %.2f | %.2f |\n", patch[i], load[i]);
	}
	printf("\n### Whole process, fork to exit\n\n");
	printf("Median (min) wall time; %d runs of /bin/true and %d of python3 per mode, modes "
	       "interleaved.\n\n", runs_true, runs_py);
	printf("| program | mode | median ms | min ms | overhead ms |\n|---|---|---:|---:|---:|\n");
	for (int p = 0; p < 2; p++)
		for (int m = 0; m < N_ENV_MODES; m++) {
			const double *med = p ? p_med : t_med, *min = p ? p_min : t_min;
			printf("| %s%s | %s |", p ? c->python : "/bin/true", p ? " -c pass" : "",
			       env_mode_name[m]);
			if (med[m] < 0)
				printf(" failed | | |\n");
			else if (med[0] < 0)
				printf(" %.2f | %.2f | |\n", med[m], min[m]);
			else
				printf(" %.2f | %.2f | %+.2f |\n", med[m], min[m], med[m] - med[0]);
		}
	printf("\n");
}

/* ---------------------------------------------------------------- memory */

enum { CAT_LIBC, CAT_LIB, CAT_ANON, CAT_OTHER, N_CAT };
struct mem {
	long rss, pss, priv_dirty;
	long cat_pd[N_CAT];
};

static int
categorise(const char *path)
{
	if (strstr(path, "/libc.so") || strstr(path, "/ld-linux"))
		return CAT_LIBC;
	if (strstr(path, "libsyscall_intercept") || strstr(path, "Zydis") ||
	    strstr(path, "si_bench_"))
		return CAT_LIB;
	if (!*path || *path == '[')
		return CAT_ANON;
	return CAT_OTHER;
}

static int
read_smaps(int pid, struct mem *m)
{
	char name[64], line[4096];
	snprintf(name, sizeof(name), "/proc/%d/smaps", pid);
	FILE *f = fopen(name, "r");
	if (!f)
		return -1;
	memset(m, 0, sizeof(*m));
	int cat = CAT_ANON;
	while (fgets(line, sizeof(line), f)) {
		long kb;
		if (isxdigit((unsigned char)line[0]) && !isupper((unsigned char)line[0])) {
			int off = 0;
			if (sscanf(line, "%*s %*s %*s %*s %*s %n", &off) >= 0 && off > 0) {
				char *p = line + off;
				p[strcspn(p, "\n")] = '\0';
				cat = categorise(p);
			} else {
				cat = CAT_ANON;
			}
		} else if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
			m->rss += kb;
		} else if (sscanf(line, "Pss: %ld kB", &kb) == 1) {
			m->pss += kb;
		} else if (sscanf(line, "Private_Dirty: %ld kB", &kb) == 1) {
			m->priv_dirty += kb;
			m->cat_pd[cat] += kb;
		}
	}
	fclose(f);
	return 0;
}

static void
memory_section(const struct config *c)
{
	progress("memory...");
	char *idle_argv[] = { (char *)c->self, "idle", NULL };
	char *py_argv[] = { (char *)c->python, "-c",
			    "import sys\nsys.stdout.write('ready\\n')\nsys.stdout.flush()\n"
			    "sys.stdin.read()\n", NULL };
	char *const *programs[2] = { idle_argv, py_argv };
	const char *prog_name[2] = { "si-bench idle (small C program)", "python3 (idle)" };
	printf("## Memory per process\n\n");
	printf("A process sleeping in read(2), read from /proc/<pid>/smaps.  Private_Dirty is the "
	       "memory no other process can share: the part that really grows with every "
	       "process; Rss also counts shared library pages.  The last three columns split the "
	       "extra Private_Dirty over native by mapping.\n\n");
	printf("| program | mode | Rss kB | Pss kB | Private_Dirty kB | extra Rss kB | "
	       "extra Private_Dirty kB | in libc/ld.so kB | in library+Zydis+hook kB | "
	       "anonymous kB |\n");
	printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int p = 0; p < 2; p++) {
		struct mem base = { 0 };
		for (int m = 0; m < N_ENV_MODES; m++) {
			char *env[4];
			env_for_mode(m, env);
			int pid, in;
			struct mem mm;
			if (start_idle_child(programs[p], env, &pid, &in) != 0) {
				printf("| %s | %s | failed | | | | | | | |\n", prog_name[p],
				       env_mode_name[m]);
				continue;
			}
			int ok = read_smaps(pid, &mm);
			close(in);
			waitpid(pid, NULL, 0);
			if (ok != 0) {
				printf("| %s | %s | failed | | | | | | | |\n", prog_name[p],
				       env_mode_name[m]);
				continue;
			}
			if (m == 0)
				base = mm;
			printf("| %s | %s | %ld | %ld | %ld | %+ld | %+ld | %+ld | %+ld | %+ld |\n",
			       prog_name[p], env_mode_name[m], mm.rss, mm.pss, mm.priv_dirty,
			       mm.rss - base.rss, mm.priv_dirty - base.priv_dirty,
			       mm.cat_pd[CAT_LIBC] - base.cat_pd[CAT_LIBC],
			       mm.cat_pd[CAT_LIB] - base.cat_pd[CAT_LIB],
			       mm.cat_pd[CAT_ANON] - base.cat_pd[CAT_ANON]);
		}
	}
	printf("\n");
	progress("\n");
}

/* ---------------------------------------------------------------- threads */

static void
threads_section(const struct config *c)
{
	enum { N_COUNTS = 3, N_MODES = 3, MAX_RUNS = 8 };
	const int counts[N_COUNTS] = { 1, 2, 4 };
	const char *names[N_MODES] = { "native", "library, pass-through",
				       "library, answering hook" };
	int runs = c->quick ? 3 : 5;
	static double per[N_COUNTS][N_MODES][MAX_RUNS], wall[N_COUNTS][N_MODES][MAX_RUNS];
	int ok[N_COUNTS][N_MODES] = { { 0 } };
	long iters[N_MODES];
	for (int m = 0; m < N_MODES; m++)
		iters[m] = (m == 2 ? 1000000 : 20000) / (c->quick ? 4 : 1);
	progress("threads:");
	for (int r = 0; r < runs; r++)	/* runs outermost: modes interleaved */
		for (int t = 0; t < N_COUNTS; t++)
			for (int m = 0; m < N_MODES; m++) {
				char nthreads[16], n[32];
				snprintf(nthreads, sizeof(nthreads), "%d", counts[t]);
				snprintf(n, sizeof(n), "%ld", iters[m]);
				char *argv[] = { (char *)c->self, "threads", nthreads, n, NULL };
				char *env[2] = { m == 1 ? env_pass : m == 2 ? env_answer : NULL,
						 NULL };
				struct child_result cr;
				double mean, max, w;
				if (run_child(argv, env, false, true, &cr) == 0 &&
				    WIFEXITED(cr.status) && WEXITSTATUS(cr.status) == 0 &&
				    sscanf(cr.out, "%lf %lf %lf", &mean, &max, &w) == 3) {
					per[t][m][ok[t][m]] = mean;
					wall[t][m][ok[t][m]++] = w;
				}
				progress(".");
			}
	progress("\n");
	printf("## Multi-threaded scaling (getppid)\n\n");
	printf("Each thread makes N getppid calls; ns per call per thread is the thread's own "
	       "elapsed time / N (median over %d runs of the mean over threads), so on a machine "
	       "with fewer cores than threads it includes waiting for a core; the aggregate "
	       "rate is all calls / wall time (median wall time).\n\n", runs);
	printf("| threads | mode | N per thread | ns per call per thread | overhead ns | "
	       "aggregate M calls/s |\n|---:|---|---:|---:|---:|---:|\n");
	for (int t = 0; t < N_COUNTS; t++) {
		double native = 0;
		for (int m = 0; m < N_MODES; m++) {
			if (!ok[t][m]) {
				printf("| %d | %s | %ld | failed | | |\n", counts[t], names[m],
				       iters[m]);
				continue;
			}
			double p = median_d(per[t][m], ok[t][m]), w = median_d(wall[t][m], ok[t][m]);
			if (m == 0)
				native = p;
			printf("| %d | %s | %ld | %.1f | %+.1f | %.2f |\n", counts[t], names[m],
			       iters[m], p, p - native, (double)counts[t] * iters[m] / w * 1e3);
		}
	}
	printf("\n");
}

/* ---------------------------------------------------------------- logging */

/*
 * One workload of `si-bench loop` under each way of logging it.  INTERCEPT_LOG is measured
 * as syscall-trace runs it (the library alone), and with a hook loaded too: then every call
 * keeps its "= ?" line before the call, since the hook is arbitrary code (log.c).
 */
static void
logging_workload(const struct config *c, const char *workload, long n, int per_iteration,
		 const char *what)
{
	int runs = c->quick ? 1 : 3;
	char count[32], log_file[128], strace_file[128], log_env[200];
	snprintf(count, sizeof(count), "%ld", n);
	tmp_path(c, log_file, sizeof(log_file), "workload.log");
	tmp_path(c, strace_file, sizeof(strace_file), "workload.strace");
	snprintf(log_env, sizeof(log_env), "INTERCEPT_LOG=%s", log_file);
	char *loop_argv[] = { (char *)c->self, "loop", (char *)workload, count, NULL };
	char *strace_argv[] = { (char *)c->strace, "-f", "-o", strace_file, (char *)c->self, "loop",
				(char *)workload, count, NULL };
	enum { L_NATIVE, L_LIB, L_LOG, L_LOG_HOOK, L_STRACE, N_L };
	const char *names[N_L] = { "native", "library, no hook", "library + INTERCEPT_LOG=file",
				   "library + pass-through hook + INTERCEPT_LOG=file",
				   "strace -f -o file" };
	double med[N_L], inner[N_L];
	long out_size[N_L] = { 0 };
	bool available[N_L] = { true, true, true, true, c->strace[0] != '\0' };
	progress("logging %s:", workload);
	for (int m = 0; m < N_L; m++) {
		double t[8], in[8];
		int ok = 0;
		int my_runs = m == L_STRACE && runs > 2 ? 2 : runs;	/* strace is slow */
		for (int r = 0; r < my_runs && available[m]; r++) {
			char *env[3] = { NULL, NULL, NULL };
			if (m == L_LIB || m == L_LOG)
				env[0] = env_lib;
			if (m == L_LOG_HOOK)
				env[0] = env_pass;
			if (m == L_LOG || m == L_LOG_HOOK)
				env[1] = log_env;
			unlink(log_file);
			unlink(strace_file);
			struct child_result cr;
			double loop_ns;
			if (run_child(m == L_STRACE ? strace_argv : loop_argv, env, false, true,
				      &cr) == 0 && WIFEXITED(cr.status) &&
			    WEXITSTATUS(cr.status) == 0 && sscanf(cr.out, "%lf", &loop_ns) == 1) {
				in[ok] = loop_ns / 1e6;
				t[ok++] = (double)cr.wall_ns / 1e6;
			}
			if (m == L_LOG || m == L_LOG_HOOK)
				out_size[m] = file_size(log_file);
			if (m == L_STRACE)
				out_size[m] = file_size(strace_file);
			progress(".");
		}
		if ((m == L_LOG || m == L_LOG_HOOK) && out_size[m] <= 0)
			available[m] = false;
		med[m] = ok ? median_d(t, ok) : -1;
		inner[m] = ok ? median_d(in, ok) : -1;
	}
	unlink(log_file);
	unlink(strace_file);
	progress("\n");

	long calls = n * per_iteration;
	printf("### %s\n\n", what);
	printf("`si-bench loop %s %ld`: %ld syscalls (median of %d runs, strace at most 2): the "
	       "whole-process wall time (start-up and patching included), and the time of the "
	       "loop alone as the process itself measured it, per syscall.\n\n", workload, n,
	       calls, runs);
	printf("| mode | wall ms | loop ms | loop ns per syscall | overhead ns per syscall | "
	       "loop x native | output bytes |\n|---|---:|---:|---:|---:|---:|---:|\n");
	for (int m = 0; m < N_L; m++) {
		printf("| %s |", names[m]);
		if ((m == L_LOG || m == L_LOG_HOOK) && !available[m])
			printf(" logging not available | | | | | |\n");
		else if (m == L_STRACE && !available[m])
			printf(" strace not installed | | | | | |\n");
		else if (med[m] < 0)
			printf(" failed | | | | | |\n");
		else
			printf(" %.1f | %.1f | %.1f | %+.1f | %.2f | %ld |\n", med[m], inner[m],
			       inner[m] * 1e6 / calls, (inner[m] - inner[0]) * 1e6 / calls,
			       inner[m] / inner[0], out_size[m]);
	}
	printf("\n");
	for (int m = L_LOG; m <= L_LOG_HOOK; m++) {
		if (!available[m] || !available[L_STRACE] || med[m] <= 0 || med[L_STRACE] <= 0)
			continue;
		double over_log = inner[m] - inner[L_NATIVE];
		double over_strace = inner[L_STRACE] - inner[L_NATIVE];
		printf("%s against strace -f: %.1fx less whole-process wall time, %.1fx less loop "
		       "time", m == L_LOG ? "INTERCEPT_LOG" : "INTERCEPT_LOG with a hook",
		       med[L_STRACE] / med[m], inner[L_STRACE] / inner[m]);
		if (over_log > 0)
			printf(", %.1fx less overhead per logged syscall", over_strace / over_log);
		printf(".\n\n");
	}
}

static void
logging_section(const struct config *c)
{
	printf("## Logging throughput\n\n");
	logging_workload(c, "write", c->quick ? 50000 : 200000, 1,
			 "One-byte writes to /dev/null");
	logging_workload(c, "files", c->quick ? 12500 : 50000, 4,
			 "open + fstat + read + close of a file");
}

/* ---------------------------------------------------------------- instruction counts */

static long long
callgrind_ir(const struct config *c, char *env_hook, long calls)
{
	char out_file[128], ms_arg[32];
	tmp_path(c, out_file, sizeof(out_file), "callgrind.out");
	unlink(out_file);
	char out_opt[200];
	snprintf(out_opt, sizeof(out_opt), "--callgrind-out-file=%s", out_file);
	snprintf(ms_arg, sizeof(ms_arg), "%ld", calls);
	char *argv[] = { (char *)c->valgrind, "--tool=callgrind", "--smc-check=all", out_opt, "-q",
			 (char *)c->self, "loop", "getppid", ms_arg, NULL };
	char *env[2] = { env_hook, NULL };
	struct child_result cr;
	long long total = -1;
	if (run_child(argv, env, false, false, &cr) == 0 && WIFEXITED(cr.status) &&
	    WEXITSTATUS(cr.status) == 0) {
		FILE *f = fopen(out_file, "r");
		char line[512];
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "totals: %lld", &total) == 1 ||
			    sscanf(line, "summary: %lld", &total) == 1)
				break;
		if (f)
			fclose(f);
	}
	unlink(out_file);
	return total;
}

static void
callgrind_section(const struct config *c)
{
	if (c->no_callgrind || !c->valgrind[0]) {
		printf("## Instructions per syscall\n\n%s\n\n", c->valgrind[0] ?
		       "Skipped (SI_BENCH_CALLGRIND=0)." : "Skipped: valgrind is not installed.");
		return;
	}
	progress("callgrind:");
	const long n1 = 2000, n2 = 22000;
	const char *names[3] = { "native", "library, pass-through hook",
				 "library, hook answers in user space" };
	char *hooks[3] = { NULL, env_pass, env_answer };
	double per[3];
	for (int m = 0; m < 3; m++) {
		long long a = callgrind_ir(c, hooks[m], n1), b = callgrind_ir(c, hooks[m], n2);
		per[m] = (a < 0 || b < 0) ? -1 : (double)(b - a) / (double)(n2 - n1);
		progress(".");
	}
	progress("\n");
	printf("## Instructions per syscall (valgrind --tool=callgrind)\n\n");
	printf("User-space instructions per getppid call: (Ir of %ld calls - Ir of %ld calls) / "
	       "%ld.  Deterministic; the kernel's instructions are not counted.  valgrind does "
	       "not emulate AVX-512, so under it the library takes its AVX (ymm) entry even on an "
	       "AVX-512 machine.\n\n", n2, n1, n2 - n1);
	printf("| mode | instructions per getppid | extra over native |\n|---|---:|---:|\n");
	for (int m = 0; m < 3; m++) {
		if (per[m] < 0)
			printf("| %s | failed | |\n", names[m]);
		else
			printf("| %s | %.1f | %+.1f |\n", names[m], per[m], per[m] - per[0]);
	}
	printf("\n");
}

/* ---------------------------------------------------------------- main */

static int
usage(void)
{
	fprintf(stderr,
		"usage: si-bench run --lib LIBRARY --pass PASS_HOOK.so --answer ANSWER_HOOK.so\n"
		"                    [--python PYTHON] [--source DIR] [--quick] [--nice]\n"
		"                    [--only SECTION]\n"
		"  --nice: run at nice -20 (root), to shield the timings from other processes.\n"
		"  sections: latency pages primitives startup memory threads logging callgrind\n"
		"  SI_BENCH_CALLGRIND=0 skips the valgrind section.\n"
		"Sub-commands used by run: worker, threads, loop, idle, dlopen, pages, primitives.\n");
	return 2;
}

static int
run_main(int argc, char **argv)
{
	static struct config c;
	const char *only = NULL;
	c.python = "/usr/bin/python3";
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			c.quick = true;
		else if (strcmp(argv[i], "--nice") == 0)
			c.nice_set = setpriority(PRIO_PROCESS, 0, -20) == 0 ? 1 : -1;
		else if (i + 1 < argc && strcmp(argv[i], "--lib") == 0)
			c.lib = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--pass") == 0)
			c.pass = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--answer") == 0)
			c.answer = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--python") == 0)
			c.python = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--source") == 0)
			c.source = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--only") == 0)
			only = argv[++i];
		else
			return usage();
	}
	if (!c.lib || !c.pass || !c.answer)
		return usage();
	ssize_t n = readlink("/proc/self/exe", c.self, sizeof(c.self) - 1);
	if (n <= 0)
		return 1;
	c.self[n] = '\0';
	static char python[4096];
	if (access(c.python, X_OK) != 0 && find_in_path("python3", python, sizeof(python))) {
		/* Maybe a wrapper (pyenv shim): time the interpreter it runs, not the wrapper. */
		char *argv_py[] = { python, "-c", "import sys; print(sys.executable)", NULL };
		struct child_result cr;
		if (run_child(argv_py, NULL, false, true, &cr) == 0 && WIFEXITED(cr.status) &&
		    WEXITSTATUS(cr.status) == 0 && cr.out[0] == '/') {
			cr.out[strcspn(cr.out, "\n")] = '\0';
			snprintf(python, sizeof(python), "%s", cr.out);
		}
		c.python = python;
	}
	snprintf(env_lib, sizeof(env_lib), "LD_PRELOAD=%s", c.lib);
	snprintf(env_pass, sizeof(env_pass), "LD_PRELOAD=%s", c.pass);
	snprintf(env_answer, sizeof(env_answer), "LD_PRELOAD=%s", c.answer);
	if (!find_in_path("strace", c.strace, sizeof(c.strace)))
		c.strace[0] = '\0';
	if (!find_in_path("valgrind", c.valgrind, sizeof(c.valgrind)))
		c.valgrind[0] = '\0';
	const char *cg = getenv("SI_BENCH_CALLGRIND");
	c.no_callgrind = cg && strcmp(cg, "0") == 0;
	c.has_exhaustive = file_contains(c.lib, "INTERCEPT_EXHAUSTIVE");
	c.rep_ms = 2;
	c.reps = c.quick ? 10 : 25;
	c.rounds = c.quick ? 1 : 3;
	snprintf(c.tmpdir, sizeof(c.tmpdir), "/tmp/si-bench.XXXXXX");
	if (!mkdtemp(c.tmpdir)) {
		perror("si-bench: mkdtemp");
		return 1;
	}
	snprintf(env_plan_cache, sizeof(env_plan_cache), "INTERCEPT_PLAN_CACHE=%s/plans", c.tmpdir);
	signal(SIGPIPE, SIG_IGN);
	uint64_t t0 = now_ns();
	print_machine(&c);
	fflush(stdout);
	struct {
		const char *name;
		void (*run)(const struct config *);
	} sections[] = {
		{ "latency", latency_section }, { "pages", pages_section },
		{ "primitives", primitives_section },
		{ "startup", startup_section },
		{ "memory", memory_section }, { "threads", threads_section },
		{ "logging", logging_section }, { "callgrind", callgrind_section },
	};
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (!only || strcmp(only, sections[i].name) == 0) {
			sections[i].run(&c);
			fflush(stdout);
		}
	remove_plan_cache();
	rmdir(c.tmpdir);
	char load[128] = "?";
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fgets(load, sizeof(load), f))
			load[strcspn(load, "\n")] = '\0';
		fclose(f);
	}
	printf("Benchmark took %.0f s; load average at the end: %s.\n",
	       (double)(now_ns() - t0) / 1e9, load);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "run") == 0)
		return run_main(argc, argv);
	if (strcmp(argv[1], "worker") == 0)
		return worker_main(argc, argv);
	if (strcmp(argv[1], "threads") == 0)
		return threads_main(argc, argv);
	if (strcmp(argv[1], "loop") == 0)
		return loop_main(argc, argv);
	if (strcmp(argv[1], "idle") == 0)
		return idle_main(argc, argv);
	if (strcmp(argv[1], "dlopen") == 0)
		return dlopen_main(argc, argv);
	if (strcmp(argv[1], "pages") == 0)
		return pages_main(argc, argv);
	if (strcmp(argv[1], "primitives") == 0)
		return primitives_main(argc, argv);
	return usage();
}
