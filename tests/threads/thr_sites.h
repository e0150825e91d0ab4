/*
 * thr_sites.h -- the functions of libthr_sites_b.so and of the thr_sites_c<k>.so modules: each
 * makes its syscall with its own inline `syscall` instruction, never through libc, so only
 * INTERCEPT_ALL_OBJS brings them to the hook.  Only declarations; it must never define storage.
 */
#ifndef THR_SITES_H
#define THR_SITES_H

/* libthr_sites_b.so (linked into the program): write, read and getppid; -errno on failure. */
long thr_b_write(int fd, const void *buf, long len);
long thr_b_read(int fd, void *buf, long len);
long thr_b_getppid(void);

/* thr_sites_c<k>.so (dlopen'ed): the same, under one name in every module, looked up by dlsym. */
typedef long thr_c_write_fn(int fd, const void *buf, long len);
typedef long thr_c_getppid_fn(void);
typedef int thr_c_id_fn(void);

#endif
