/*
 * fork_limit.c -- an example hook library: lets a program create at most FORK_LIMIT child
 * processes; every further attempt fails with EAGAIN, as when RLIMIT_NPROC is reached, so the
 * program sees the error it already knows how to report ("fork: Resource temporarily
 * unavailable").  Useful to test how a program behaves when it cannot fork, or to stop a
 * runaway script.
 *
 *   FORK_LIMIT=N         the number of processes each program may create (default 0)
 *
 * Process creation is fork, vfork, and clone/clone3 without CLONE_THREAD (which covers
 * posix_spawn, system and popen); threads are not counted.  The count belongs to one running
 * program: a forked child starts again from 0 (intercept_hook_point_clone_child), and so does
 * a program started by execve, since the library is initialised anew.  Attempts the kernel
 * refuses by itself give their slot back (intercept_hook_point_post_kernel).
 *
 *   cc fork_limit.c -lsyscall_intercept -fpic -shared -o fork_limit.so
 *   FORK_LIMIT=2 LD_PRELOAD=./fork_limit.so sh -c 'true & true & true & wait'
 *
 * It must never deny anything but the creation of a process, and never count a thread.
 * This is a testing aid, not a resource control: the kernel's RLIMIT_NPROC and cgroup pids.max
 * are what actually bound a process tree.
 */
#include <libsyscall_intercept_hook_point.h>

#include <errno.h>
#include <linux/sched.h>
#include <stdlib.h>
#include <sys/syscall.h>

static long limit;
static long used;	/* processes created or being created (atomic) */

/* The clone flags of a process-creating syscall, or -1 when it creates no process. */
static long
process_flags(long nr, long a0, long a1)
{
	switch (nr) {
	case SYS_fork:
		return 0;
	case SYS_vfork:
		return CLONE_VM | CLONE_VFORK;
	case SYS_clone:
		return ((unsigned long)a0 & CLONE_THREAD) ? -1 : a0;
	case SYS_clone3: {
		const struct clone_args *ca = (const struct clone_args *)a0;
		if (!ca || (unsigned long)a1 < sizeof(ca->flags))
			return -1;	/* malformed: the kernel will refuse it */
		return (ca->flags & CLONE_THREAD) ? -1 : (long)ca->flags;
	}
	default:
		return -1;
	}
}

/* The flags of the process creation this thread is making; a forked child inherits it. */
static __thread long creating_flags;

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a2; (void)a3; (void)a4; (void)a5;
	long flags = process_flags(nr, a0, a1);
	if (flags < 0)
		return 1;
	/* Take a slot first, so two threads cannot both take the last one. */
	if (__atomic_add_fetch(&used, 1, __ATOMIC_RELAXED) > limit) {
		__atomic_sub_fetch(&used, 1, __ATOMIC_RELAXED);
		*result = -EAGAIN;
		return 0;
	}
	creating_flags = flags;
	return 1;
}

/* After a process-creating syscall the kernel ran: give the slot back when it failed. */
static void
post_kernel(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long result)
{
	(void)a2; (void)a3; (void)a4; (void)a5;
	if (result < 0 && process_flags(nr, a0, a1) >= 0)
		__atomic_sub_fetch(&used, 1, __ATOMIC_RELAXED);
}

/* First thing in every new thread and child process. */
static void
clone_child(void)
{
	/*
	 * A new thread shares `used` with its process: keep it (a thread is not its group's
	 * leader: pid != tid).  A vfork or posix_spawn child (CLONE_VM) shares the parent's
	 * memory until it execs: resetting would reset the parent's count.  Only a child with a
	 * copy of the memory (fork) starts again from 0.
	 */
	if (syscall_no_intercept(SYS_getpid) != syscall_no_intercept(SYS_gettid))
		return;
	if (!(creating_flags & CLONE_VM))
		used = 0;
}

static __attribute__((constructor)) void
init(void)
{
	const char *v = getenv("FORK_LIMIT");
	char *end;
	limit = v && *v ? strtol(v, &end, 10) : 0;
	if (v && *v && (*end != '\0' || limit < 0))
		limit = 0;	/* malformed: the strictest reading */
	intercept_hook_point_post_kernel = post_kernel;
	intercept_hook_point_clone_child = clone_child;
	intercept_hook_point = hook;
}
