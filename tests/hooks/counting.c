/*
 * counting.so -- passes every syscall on and counts, per syscall number, how often the hook saw
 * it, plus the clone child/parent and post-kernel hook calls.  When SI_COUNT_FILE is set, the
 * counts are written there at exit as lines "<what> <count>" where <what> is a syscall number,
 * "total", "clone_child", "clone_parent" or "post_kernel".  A value of SI_COUNT_FILE ending in
 * '-' gets the pid appended, so every process of a tree writes its own file.  It writes with
 * syscall_no_intercept only and never allocates in the hook.
 */
#include <libsyscall_intercept_hook_point.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

#define MAX_NR 1024
static atomic_long per_nr[MAX_NR];
static atomic_long total, clone_child, clone_parent, post_kernel;

static int
count(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)result;
	atomic_fetch_add_explicit(&total, 1, memory_order_relaxed);
	if (nr >= 0 && nr < MAX_NR)
		atomic_fetch_add_explicit(&per_nr[nr], 1, memory_order_relaxed);
	return 1;
}

static void on_child(void) { atomic_fetch_add(&clone_child, 1); }
static void on_parent(long pid) { (void)pid; atomic_fetch_add(&clone_parent, 1); }
static void
on_post(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long r)
{
	(void)nr; (void)a0; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)r;
	atomic_fetch_add_explicit(&post_kernel, 1, memory_order_relaxed);
}

static char *
put_num(char *p, long v)
{
	char tmp[24];
	int n = 0;
	if (v < 0) { *p++ = '-'; v = -v; }
	do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
	while (n) *p++ = tmp[--n];
	return p;
}

static char *
put_line(char *p, const char *what, long num, long v)
{
	if (what) { size_t l = strlen(what); memcpy(p, what, l); p += l; }
	else p = put_num(p, num);
	*p++ = ' ';
	p = put_num(p, v);
	*p++ = '\n';
	return p;
}

static __attribute__((destructor)) void
report(void)
{
	const char *path = getenv("SI_COUNT_FILE");
	if (!path || !*path)
		return;
	static char name[4096], buf[MAX_NR * 48 + 256];
	size_t len = strlen(path);
	if (len > sizeof(name) - 32)
		return;
	memcpy(name, path, len + 1);
	if (path[len - 1] == '-')
		*put_num(name + len, (long)syscall_no_intercept(SYS_getpid)) = '\0';
	char *p = buf;
	p = put_line(p, "total", 0, atomic_load(&total));
	p = put_line(p, "clone_child", 0, atomic_load(&clone_child));
	p = put_line(p, "clone_parent", 0, atomic_load(&clone_parent));
	p = put_line(p, "post_kernel", 0, atomic_load(&post_kernel));
	for (int i = 0; i < MAX_NR; i++)
		if (atomic_load(&per_nr[i]))
			p = put_line(p, NULL, i, atomic_load(&per_nr[i]));
	long fd = syscall_no_intercept(SYS_openat, AT_FDCWD, name,
				       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	syscall_no_intercept(SYS_write, fd, buf, p - buf);
	syscall_no_intercept(SYS_close, fd);
}

static __attribute__((constructor)) void
install(void)
{
	intercept_hook_point = count;
	intercept_hook_point_clone_child = on_child;
	intercept_hook_point_clone_parent = on_parent;
	intercept_hook_point_post_kernel = on_post;
}
