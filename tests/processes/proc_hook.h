/*
 * proc_hook.h -- what proc_hook.so records, shared with the programs that read it back through
 * dlsym (so they also run without it).  Only declarations; it must never define storage.
 */
#ifndef PROC_HOOK_H
#define PROC_HOOK_H

enum proc_hook_kind {
	PROC_HOOK_CHILD = 1,	/* intercept_hook_point_clone_child ran */
	PROC_HOOK_PARENT = 2,	/* intercept_hook_point_clone_parent ran */
};

struct proc_hook_record {
	long kind;	/* enum proc_hook_kind; 0 while the record is being written */
	long tid;	/* gettid() of the thread running the hook */
	long pid;	/* getpid() of the process running the hook */
	long id;	/* PROC_HOOK_PARENT: the child id the hook was given */
};

/* The records so far (at most PROC_HOOK_MAX); *out points to the array. */
#define PROC_HOOK_MAX 4096
typedef long proc_hook_records_fn(const struct proc_hook_record **out);
/* How often a syscall reached intercept_hook_point while a hook of ours ran on that thread. */
typedef long proc_hook_reentries_fn(void);
/* From now on the child hook also writes its tid (a long) to fd; -1 stops it. */
typedef void proc_hook_set_marker_fd_fn(int fd);

#endif
