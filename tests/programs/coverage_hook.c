/*
 * coverage_hook.so -- counts, per syscall number, the syscalls that reach the hook, and reports
 * the counts inside the strace output of the same run, so that coverage.py can compare the two
 * exactly.  It passes every syscall on and makes no syscall of its own except markers, which are
 * raw writes to fd -1 (they fail with EBADF and strace shows their text):
 *
 *   "SI_COV_START"         the hook is installed (constructor), or a new child process starts
 *                          counting (clone child hook): strace's later lines must reach the hook
 *   "SI_COV_END n:c ..."   written from the hook at exit, exit_group, execve and execveat: the
 *                          counts of this process since its last START or END, including the
 *                          syscall about to run (strace shows it as the next line of this pid)
 *   "SI_COV_THREAD"        a clone made a thread: the process is not single-threaded
 *
 * A vfork-like child (CLONE_VM without CLONE_THREAD) shares our memory with its suspended
 * parent: it counts on a level of its own, and the parent returns to its level when the clone
 * returns there (post-kernel hook).  It must never answer a syscall, allocate or call libc.
 */
#include <libsyscall_intercept_hook_point.h>
#include <linux/sched.h>
#include <stddef.h>
#include <sys/syscall.h>

#define MAX_NR 512
#define MAX_LEVEL 8

static long counts[MAX_LEVEL][MAX_NR];
static long other[MAX_LEVEL];	/* numbers >= MAX_NR or negative */
static int level;		/* the counting level of the running process */
static int saved[MAX_LEVEL];	/* levels of parents waiting for a vfork-like child */
static int n_saved;
static int child_shares;	/* the clone that is running gives a vfork-like child */

static void
marker(const char *text, size_t len)
{
	syscall_no_intercept(SYS_write, -1, text, len);
}

static size_t
put_str(char *p, const char *s)
{
	size_t n = 0;
	while (s[n]) {
		p[n] = s[n];
		n++;
	}
	return n;
}

static size_t
put_num(char *p, long v)
{
	char tmp[24];
	size_t n = 0, k = 0;
	if (v < 0) {
		p[k++] = '-';
		v = -v;
	}
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		p[k++] = tmp[--n];
	return k;
}

/* Writes the END marker with this level's counts and starts counting from zero. */
static void
dump(void)
{
	static char buf[16 + MAX_NR * 24 + 32];
	size_t p = put_str(buf, "SI_COV_END");
	for (int nr = 0; nr < MAX_NR; nr++) {
		if (!counts[level][nr])
			continue;
		buf[p++] = ' ';
		p += put_num(buf + p, nr);
		buf[p++] = ':';
		p += put_num(buf + p, counts[level][nr]);
		counts[level][nr] = 0;
	}
	if (other[level]) {
		p += put_str(buf + p, " other:");
		p += put_num(buf + p, other[level]);
		other[level] = 0;
	}
	marker(buf, p);
}

/* Flags of a clone-like call, and whether it makes a thread or a memory-sharing child. */
static unsigned long
clone_flags(long nr, long a0, long a1)
{
	if (nr == SYS_vfork)
		return CLONE_VM | CLONE_VFORK;
	if (nr == SYS_clone)
		return (unsigned long)a0;
	if (nr == SYS_clone3 && a0 && (unsigned long)a1 >= CLONE_ARGS_SIZE_VER0)
		return ((const struct clone_args *)a0)->flags;
	return 0;
}

static int
is_clone(long nr)
{
	return nr == SYS_clone || nr == SYS_clone3 || nr == SYS_vfork || nr == SYS_fork;
}

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a2; (void)a3; (void)a4; (void)a5; (void)result;
	if (nr >= 0 && nr < MAX_NR)
		counts[level][nr]++;
	else
		other[level]++;
	if (is_clone(nr)) {
		unsigned long f = clone_flags(nr, a0, a1);
		child_shares = 0;
		if (f & CLONE_THREAD) {
			marker("SI_COV_THREAD", 13);
		} else if ((f & CLONE_VM) && n_saved < MAX_LEVEL - 1 && level < MAX_LEVEL - 1) {
			saved[n_saved++] = level;
			child_shares = 1;
		}
	}
	if (nr == SYS_exit || nr == SYS_exit_group || nr == SYS_execve || nr == SYS_execveat)
		dump();
	return 1;
}

static void
on_child(void)
{
	if (child_shares) {
		child_shares = 0;
		level = saved[n_saved - 1] + 1;
	}
	for (int nr = 0; nr < MAX_NR; nr++)
		counts[level][nr] = 0;
	other[level] = 0;
	marker("SI_COV_START", 12);
}

/* In the parent after a clone-like call (also a failed one): back to its own level. */
static void
on_post(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long r)
{
	(void)a2; (void)a3; (void)a4; (void)a5; (void)r;
	if (!is_clone(nr))
		return;
	unsigned long f = clone_flags(nr, a0, a1);
	if (!(f & CLONE_THREAD) && (f & CLONE_VM) && n_saved > 0)
		level = saved[--n_saved];
}

static __attribute__((constructor)) void
install(void)
{
	intercept_hook_point = hook;
	intercept_hook_point_clone_child = on_child;
	intercept_hook_point_post_kernel = on_post;
	marker("SI_COV_START", 12);
}
