/*
 * proc_hook.so -- hook library for the thread and process creation tests.  It passes every
 * syscall on.  Each call of the clone child hook and of the clone parent hook is recorded (the
 * caller's gettid and getpid, and the id the parent hook got) in a lock-free array that the test
 * program reads through proc_hook_records().  The child hook also calls getpid() through libc on
 * purpose: the library promises that syscalls made while a hook runs go straight to the kernel,
 * so intercept_hook_point seeing a syscall while one of our hooks runs on that thread counts as a
 * re-entry (proc_hook_reentries()).  When a marker fd is set the child hook writes its tid there
 * with syscall_no_intercept.  It must never allocate or take a lock, and never answer a syscall.
 */
#include <libsyscall_intercept_hook_point.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "proc_hook.h"

#define EXPORT __attribute__((visibility("default")))

static struct proc_hook_record records[PROC_HOOK_MAX];
static atomic_long n_records;
static atomic_long reentries;
static atomic_int marker_fd = -1;
static __thread int in_hook;

static void
record(long kind, long id)
{
	long i = atomic_fetch_add(&n_records, 1);
	if (i >= PROC_HOOK_MAX)
		return;
	records[i].tid = syscall_no_intercept(SYS_gettid);
	records[i].pid = syscall_no_intercept(SYS_getpid);
	records[i].id = id;
	__atomic_store_n(&records[i].kind, kind, __ATOMIC_RELEASE);
}

static int
pass(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)nr; (void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)result;
	if (in_hook)
		atomic_fetch_add(&reentries, 1);
	return 1;
}

static void
on_child(void)
{
	in_hook = 1;
	record(PROC_HOOK_CHILD, 0);
	(void)getpid();		/* through libc: must not reach pass() */
	int fd = atomic_load(&marker_fd);
	if (fd >= 0) {
		long tid = syscall_no_intercept(SYS_gettid);
		syscall_no_intercept(SYS_write, fd, &tid, sizeof(tid));
	}
	in_hook = 0;
}

static void
on_parent(long id)
{
	in_hook = 1;
	record(PROC_HOOK_PARENT, id);
	(void)getppid();	/* through libc: must not reach pass() */
	in_hook = 0;
}

EXPORT long
proc_hook_records(const struct proc_hook_record **out)
{
	*out = records;
	long n = atomic_load(&n_records);
	return n < PROC_HOOK_MAX ? n : PROC_HOOK_MAX;
}

EXPORT long
proc_hook_reentries(void)
{
	return atomic_load(&reentries);
}

EXPORT void
proc_hook_set_marker_fd(int fd)
{
	atomic_store(&marker_fd, fd);
}

static __attribute__((constructor)) void
install(void)
{
	intercept_hook_point = pass;
	intercept_hook_point_clone_child = on_child;
	intercept_hook_point_clone_parent = on_parent;
}
