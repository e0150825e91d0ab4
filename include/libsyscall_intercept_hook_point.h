/*
 * libsyscall_intercept_hook_point.h -- the public API of libsyscall_intercept.
 *
 * Binary compatible with the original libsyscall_intercept(3): the same symbols with the same
 * types, so hook libraries built against it work unchanged.  intercept_hook_point_post_kernel is
 * an extension (also carried by the GekkoFS fork).  See libsyscall_intercept(3).
 */
#ifndef LIBSYSCALL_INTERCEPT_HOOK_POINT_H
#define LIBSYSCALL_INTERCEPT_HOOK_POINT_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Called before every intercepted syscall.  Return non-zero to let the syscall run as usual;
 * return zero to take it over, with *result being what the program gets in RAX (a negative
 * errno value for a failure, e.g. -ENOTSUP).  Syscalls made on the same thread while the hook
 * runs (by printf, malloc...) go straight to the kernel and never re-enter the hook.
 */
extern int (*intercept_hook_point)(long syscall_number,
			long arg0, long arg1,
			long arg2, long arg3,
			long arg4, long arg5,
			long *result);

/* Called in the new thread or child process after a clone/clone3/fork/vfork returns there. */
extern void (*intercept_hook_point_clone_child)(void);

/* Called in the parent after a successful clone/clone3/fork/vfork, with the child's id. */
extern void (*intercept_hook_point_clone_parent)(long pid);

/*
 * Extension: called after a syscall that intercept_hook_point passed on to the kernel has
 * returned, with the kernel's result (not called for syscalls that do not return).
 */
extern void (*intercept_hook_point_post_kernel)(long syscall_number,
			long arg0, long arg1,
			long arg2, long arg3,
			long arg4, long arg5,
			long result);

/* A raw syscall that never reaches the hooks.  Returns the kernel's RAX (-errno on failure). */
long syscall_no_intercept(long syscall_number, ...);

/* The errno encoded in a raw syscall result, or 0 when the result is not an error. */
static inline int
syscall_error_code(long result)
{
	if (result < 0 && result >= -0x1000)
		return (int)-result;
	return 0;
}

/*
 * 1 when this process is being intercepted, 0 when INTERCEPT_HOOK_CMDLINE_FILTER excluded it
 * (the library is loaded but patched nothing).
 */
int syscall_hook_in_process_allowed(void);

#ifdef __cplusplus
}
#endif

#endif
