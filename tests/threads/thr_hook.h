/*
 * thr_hook.h -- what thr_hook.so counts, as the types of the functions the test programs look up
 * with dlsym (so that a program also runs, and says so, when the hook is missing).  Only
 * declarations; it must never define storage.
 */
#ifndef THR_HOOK_H
#define THR_HOOK_H

/* Descriptors below this are counted one by one; a test keeps its own descriptors below it. */
#define THR_HOOK_MAX_FD 1024

/* How many read(2) / write(2) syscalls on fd reached intercept_hook_point so far. */
typedef long thr_hook_count_fn(int fd);
/* How many syscalls numbered nr reached intercept_hook_point so far. */
typedef long thr_hook_nr_fn(long nr);

#endif
