/*
 * syscall-trace -- runs a program under libsyscall_intercept with INTERCEPT_LOG on, like a
 * fast strace: every syscall libc and ld.so make is logged with its decoded arguments and result
 * (the library's log format, see libsyscall_intercept(3)).  -c prints a per-syscall summary
 * table (calls, errors, time) like `strace -c`.  It exits with the program's status.
 *
 *   syscall-trace [-o FILE] [-c] [-f] [-T] [--] PROGRAM [ARGS...]
 *   syscall-trace -c --from-log FILE
 *
 * The tracer itself is an ordinary program (stdio, malloc): it is never preloaded.  It must
 * never change what the traced program sees beyond the LD_PRELOAD, INTERCEPT_LOG* and
 * INTERCEPT_PLAN_CACHE variables it adds (the last, unless the user set it, names a private
 * temporary folder that lets every process after the first skip the analysis of libc and
 * ld.so, removed when the program ends), nor exit with a status of its own when the program
 * ran (usage errors: 2; the library or the log unusable: 1; the program could not be started:
 * 127 or 126).
 *
 * How it knows the log is complete: the library creates the file INTERCEPT_LOG_FAILED names
 * (in a private temporary folder of ours) when a traced process could not open the log or
 * could not write a line of it whole; the library also says why on the program's stderr.  A
 * file rather than the program's status or stderr, which the program owns: it may exit with
 * any status and close or redirect its stderr, and every process of the tree can create it.
 * Then the tracer exits 1 once the program has ended (its table still printed with -c).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LIB_NAME "libsyscall_intercept.so.0"

static const char *prog_name = "syscall-trace";

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-o FILE] [-c] [-f] [-T] [--] PROGRAM [ARGS...]\n"
		"       %s -c --from-log FILE\n"
		"Runs PROGRAM with libsyscall_intercept preloaded and logs every syscall it makes\n"
		"through libc or the dynamic loader, with decoded arguments and results.\n"
		"\n"
		"  -o FILE         write the log to FILE (default: standard error); a FILE ending\n"
		"                  in '-' gets one file per process, named FILE<pid>\n"
		"  -c              print a summary table per syscall (calls, errors, time) on\n"
		"                  standard error when the program ends; without -o, only the table\n"
		"  -f              follow children: also log the processes the program forks and the\n"
		"                  programs they run (default: the program's own process only)\n"
		"  -T              show the time spent in each syscall, <seconds>, at the line's end\n"
		"  --from-log FILE with -c: summarise an existing log instead of running a program\n"
		"  -h, --help      show this help\n"
		"\n"
		"The library is looked up in $SYSCALL_TRACE_LIB, then next to this program's\n"
		"installation (../lib), then in its build tree.  Exit status: the program's (128+N\n"
		"when killed by signal N); 2 for bad arguments; 1 when the library cannot be used\n"
		"or the log is incomplete (not opened, or not written whole); 127/126 when the\n"
		"program cannot be run.\n",
		prog_name, prog_name);
}

static void __attribute__((noreturn))
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog_name);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	fprintf(stderr, "Try '%s --help' for more information.\n", prog_name);
	exit(2);
}

/* ---- finding the library */

static bool
is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* An absolute path to the library, or NULL. */
static char *
find_library(void)
{
	const char *env = getenv("SYSCALL_TRACE_LIB");
	if (env && *env) {
		char *real = realpath(env, NULL);
		if (!real || !is_file(real)) {
			fprintf(stderr, "%s: SYSCALL_TRACE_LIB=%s: %s\n", prog_name, env,
				real ? "not a file" : strerror(errno));
			free(real);
			return NULL;
		}
		return real;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';	/* exe is now the directory holding this program */

	static const char *const relative[] = {
#ifdef SI_REL_LIBDIR
		SI_REL_LIBDIR,
#endif
		"../lib", "../lib64", "../lib/x86_64-linux-gnu",
	};
	char path[PATH_MAX * 2];
	for (size_t i = 0; i < sizeof(relative) / sizeof(relative[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", exe, relative[i], LIB_NAME);
		if (is_file(path))
			return realpath(path, NULL);
	}
#if defined(SI_BUILD_TOOL_DIR) && defined(SI_BUILD_LIB)
	/* Running from the build tree: the library built with it. */
	char *here = realpath(exe, NULL), *built = realpath(SI_BUILD_TOOL_DIR, NULL);
	bool in_build = here && built && strcmp(here, built) == 0;
	free(here);
	free(built);
	if (in_build && is_file(SI_BUILD_LIB))
		return realpath(SI_BUILD_LIB, NULL);
#endif
	return NULL;
}

/* ---- the summary table (-c) */

struct stat_entry {
	char name[40];
	long calls, errors;
	double seconds;
};

static struct stat_entry *stats;
static size_t n_stats, cap_stats;

static struct stat_entry *
stat_for(const char *name, size_t len)
{
	if (len >= sizeof(stats[0].name))
		len = sizeof(stats[0].name) - 1;
	for (size_t i = 0; i < n_stats; i++)
		if (strncmp(stats[i].name, name, len) == 0 && stats[i].name[len] == '\0')
			return &stats[i];
	if (n_stats == cap_stats) {
		cap_stats = cap_stats ? cap_stats * 2 : 64;
		stats = realloc(stats, cap_stats * sizeof(*stats));
		if (!stats) {
			perror(prog_name);
			exit(1);
		}
	}
	struct stat_entry *e = &stats[n_stats++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, len);
	return e;
}

/* Last occurrence of needle in hay, or NULL. */
static char *
last_of(char *hay, const char *needle)
{
	char *found = NULL;
	for (char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		found = p;
	return found;
}

/*
 * One log line: "<path> 0x<off> -- <name>(<args>) = <result>[ <seconds>]".  A "= ?" line counts
 * a call; a result line counts an error (a negative result followed by the errno's name) and
 * adds its time.
 */
static void
account_line(char *line)
{
	char *start = strstr(line, " -- ");
	if (!start)
		return;
	start += 4;
	char *paren = strchr(start, '(');
	char *eq = last_of(start, ") = ");
	if (!paren || !eq)
		return;
	char name[64];
	size_t len = (size_t)(paren - start);
	if (len == 7 && strncmp(start, "syscall", 7) == 0) {
		/* unknown number: syscall(1000, ...) -> syscall_1000 */
		len = (size_t)snprintf(name, sizeof(name), "syscall_%ld", strtol(paren + 1, NULL, 10));
	} else {
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, start, len);
	}
	name[len] = '\0';
	struct stat_entry *e = stat_for(name, len);
	char *result = eq + 4;
	if (result[0] == '?') {
		e->calls++;
		return;
	}
	char *end;
	long r = strtol(result, &end, 0);
	if (r < 0 && r >= -4095 && (strncmp(end, " E", 2) == 0 || strncmp(end, " (", 2) == 0))
		e->errors++;
	char *t = strrchr(result, '<');
	if (t && t > result && t[-1] == ' ')
		e->seconds += strtod(t + 1, NULL);
}

static int
compare_stats(const void *a, const void *b)
{
	const struct stat_entry *x = a, *y = b;
	if (x->seconds != y->seconds)
		return x->seconds < y->seconds ? 1 : -1;
	if (x->calls != y->calls)
		return x->calls < y->calls ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int
summarise(const char *path, FILE *out)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog_name, path, strerror(errno));
		return 1;
	}
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0)
		account_line(line);
	free(line);
	fclose(f);

	qsort(stats, n_stats, sizeof(*stats), compare_stats);
	double total_s = 0;
	long total_calls = 0, total_errors = 0;
	for (size_t i = 0; i < n_stats; i++) {
		total_s += stats[i].seconds;
		total_calls += stats[i].calls;
		total_errors += stats[i].errors;
	}
	const char *rule = "------ ----------- ----------- --------- --------- ----------------\n";
	fprintf(out, "%% time     seconds  usecs/call     calls    errors syscall\n%s", rule);
	for (size_t i = 0; i < n_stats; i++) {
		const struct stat_entry *e = &stats[i];
		if (e->calls == 0 && e->errors == 0 && e->seconds == 0)
			continue;	/* only result lines of a child's clone */
		double pct = total_s > 0 ? 100.0 * e->seconds / total_s : 0;
		long usecs = e->calls ? (long)(e->seconds * 1e6 / (double)e->calls) : 0;
		fprintf(out, "%6.2f %11.6f %11ld %9ld ", pct, e->seconds, usecs, e->calls);
		if (e->errors)
			fprintf(out, "%9ld %s\n", e->errors, e->name);
		else
			fprintf(out, "%9s %s\n", "", e->name);
	}
	fprintf(out, "%s%6.2f %11.6f %11s %9ld %9ld total\n", rule, total_s > 0 ? 100.0 : 0.0,
		total_s, "", total_calls, total_errors);
	return 0;
}

/* ---- running the program */

/*
 * Empties the -o file before the run (the traced processes then append), but only a file the
 * tracer makes or one of the user's own: anything else the name may be (another user's file,
 * a FIFO, a device) is left untouched for the library to refuse, with its message, and the
 * run then ends with status 1.  Opened without following a link and without waiting on a
 * FIFO.  False, after a message, when the name cannot be used at all.
 */
static bool
empty_log_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		      0600);
	if (fd < 0 && errno == ENXIO)
		return true;	/* a FIFO nobody reads: the library says so */
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog_name, path, strerror(errno));
		return false;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    ftruncate(fd, 0) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog_name, path, strerror(errno));
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

static void
copy_new_bytes(int from, int to)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(from, buf, sizeof(buf))) > 0) {
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(to, buf + done, (size_t)(n - done));
			if (w <= 0) {
				if (w < 0 && errno == EINTR)
					continue;
				return;
			}
			done += w;
		}
	}
}

static int
exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

/* Removes the plan folder and the plans in it (the library writes only files there). */
static void
remove_plans(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int
main(int argc, char **argv)
{
	const char *out_path = NULL, *from_log = NULL;
	bool count = false, follow = false, show_time = false;
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "from-log", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	if (argv[0] && strrchr(argv[0], '/'))
		prog_name = strrchr(argv[0], '/') + 1;
	else if (argv[0] && *argv[0])
		prog_name = argv[0];

	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+o:cfTh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!*optarg)
				usage_error("%s", "-o needs a file name");
			out_path = optarg;
			break;
		case 'c': count = true; break;
		case 'f': follow = true; break;
		case 'T': show_time = true; break;
		case 'L': from_log = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
		case '?':
		default:
			if (optopt == 'o')
				usage_error("%s", "option -o needs a file name");
			else if (optopt == 'L')
				usage_error("%s", "option --from-log needs a file name");
			else if (optopt) {
				static char opt[2];
				opt[0] = (char)optopt;
				usage_error("unknown option -%s", opt);
			}
			else
				usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (from_log) {
		if (!count)
			usage_error("%s", "--from-log needs -c");
		if (optind < argc)
			usage_error("%s", "--from-log runs no program");
		return summarise(from_log, stderr);
	}
	if (optind >= argc)
		usage_error("%s", "no program given");
	bool per_process = out_path && out_path[strlen(out_path) - 1] == '-';
	if (count && per_process)
		usage_error("%s", "-c cannot summarise a per-process log (-o FILE-)");

	char *lib = find_library();
	if (!lib) {
		fprintf(stderr, "%s: cannot find %s (set SYSCALL_TRACE_LIB to its path)\n",
			prog_name, LIB_NAME);
		return 1;
	}

	/* The log: the user's file (made empty here), or a temporary one we show and remove. */
	char tmp_path[PATH_MAX];
	const char *log_path = out_path;
	int log_fd = -1;
	if (!out_path) {
		const char *tmpdir = getenv("TMPDIR");
		snprintf(tmp_path, sizeof(tmp_path), "%s/syscall-trace.XXXXXX",
			 tmpdir && *tmpdir ? tmpdir : "/tmp");
		log_fd = mkostemp(tmp_path, O_CLOEXEC);
		if (log_fd < 0) {
			fprintf(stderr, "%s: cannot create a temporary log in %s: %s\n", prog_name,
				tmp_path, strerror(errno));
			return 1;
		}
		log_path = tmp_path;
	} else if (!per_process && !empty_log_file(out_path)) {
		return 1;
	}

	/* Where the library marks an incomplete log (see the top of this file). */
	char mark_dir[PATH_MAX], mark_path[PATH_MAX + 32];
	{
		const char *tmpdir = getenv("TMPDIR");
		snprintf(mark_dir, sizeof(mark_dir), "%s/syscall-trace-status.XXXXXX",
			 tmpdir && *tmpdir ? tmpdir : "/tmp");
		if (!mkdtemp(mark_dir)) {
			fprintf(stderr, "%s: cannot create a temporary folder in %s: %s\n", prog_name,
				mark_dir, strerror(errno));
			if (!out_path) {
				unlink(tmp_path);
				close(log_fd);
			}
			return 1;
		}
		snprintf(mark_path, sizeof(mark_path), "%s/log-incomplete", mark_dir);
	}

	/* Plans shared by the traced processes, in a private folder of our own (see above). */
	char plan_dir[PATH_MAX] = "";
	const char *user_plans = getenv("INTERCEPT_PLAN_CACHE");
	if (!user_plans || !*user_plans) {
		const char *tmpdir = getenv("TMPDIR");
		snprintf(plan_dir, sizeof(plan_dir), "%s/syscall-trace-plans.XXXXXX",
			 tmpdir && *tmpdir ? tmpdir : "/tmp");
		if (!mkdtemp(plan_dir))
			plan_dir[0] = '\0';	/* then every process analyses for itself */
	}

	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);

	pid_t pid = fork();
	if (pid < 0) {
		perror(prog_name);
		rmdir(mark_dir);
		return 1;
	}
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		const char *old = getenv("LD_PRELOAD");
		char *preload;
		if (asprintf(&preload, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "") < 0)
			_exit(1);
		setenv("LD_PRELOAD", preload, 1);
		setenv("INTERCEPT_LOG", log_path, 1);
		if (per_process)
			unsetenv("INTERCEPT_LOG_TRUNC");
		else
			setenv("INTERCEPT_LOG_TRUNC", "0", 1);	/* emptied above */
		setenv("INTERCEPT_LOG_CHILDREN", follow ? "1" : "0", 1);
		if (count || show_time)
			setenv("INTERCEPT_LOG_TIMING", "1", 1);
		else
			unsetenv("INTERCEPT_LOG_TIMING");
		unsetenv("INTERCEPT_LOG_OWNER");	/* a log of an outer trace is not ours */
		setenv("INTERCEPT_LOG_FAILED", mark_path, 1);
		if (plan_dir[0])
			setenv("INTERCEPT_PLAN_CACHE", plan_dir, 1);
		execvp(argv[optind], argv + optind);
		int err = errno;
		fprintf(stderr, "%s: cannot run %s: %s\n", prog_name, argv[optind], strerror(err));
		_exit(err == ENOENT ? 127 : 126);
	}

	/* Show the temporary log on stderr as it grows, unless only the table is wanted. */
	bool show = !out_path && !count;
	int st = 0;
	for (;;) {
		if (show)
			copy_new_bytes(log_fd, 2);
		pid_t w = waitpid(pid, &st, show ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			perror(prog_name);
			st = 1 << 8;
			break;
		}
		if (show) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	if (show)
		copy_new_bytes(log_fd, 2);
	if (count)
		summarise(log_path, stderr);
	if (!out_path) {
		unlink(tmp_path);
		close(log_fd);
	}
	if (plan_dir[0])
		remove_plans(plan_dir);
	bool incomplete = access(mark_path, F_OK) == 0;
	unlink(mark_path);
	rmdir(mark_dir);
	free(lib);
	if (incomplete) {
		fprintf(stderr, "%s: the log %s is incomplete: it could not be opened or written "
			"(see the message above)\n", prog_name, out_path ? out_path : "on stderr");
		return 1;
	}
	return exit_status(st);
}
