/*
 * openlog_hook.c -- records the path of every open/openat the hook sees (the first 256 paths,
 * each cut to 255 bytes, in static storage) and passes the syscalls on.  openlog_seen(needle)
 * tells how many recorded paths contain needle; openlog_path(i) returns the i-th (NULL past
 * the end).  It must never allocate or call stdio inside the hook, nor change any syscall.
 */
#include <libsyscall_intercept_hook_point.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>

#define MAX_PATHS 256
#define PATH_LEN 256

static char paths[MAX_PATHS][PATH_LEN];
static atomic_int n_paths;

int openlog_seen(const char *needle);
const char *openlog_path(int i);

int
openlog_seen(const char *needle)
{
	int n = atomic_load(&n_paths), hits = 0;
	if (n > MAX_PATHS)
		n = MAX_PATHS;
	for (int i = 0; i < n; i++)
		if (strstr(paths[i], needle))
			hits++;
	return hits;
}

const char *
openlog_path(int i)
{
	int n = atomic_load(&n_paths);
	return i >= 0 && i < n && i < MAX_PATHS ? paths[i] : NULL;
}

static void
record(const char *path)
{
	int i = atomic_fetch_add(&n_paths, 1);
	if (i >= MAX_PATHS || path == NULL)
		return;
	size_t k = 0;
	while (k < PATH_LEN - 1 && path[k] != '\0') {
		paths[i][k] = path[k];
		k++;
	}
	paths[i][k] = '\0';
}

static int
hook(long nr, long a0, long a1, long a2, long a3, long a4, long a5, long *result)
{
	(void)a2; (void)a3; (void)a4; (void)a5; (void)result;
	if (nr == SYS_openat)
		record((const char *)a1);
	else if (nr == SYS_open)
		record((const char *)a0);
	return 1;
}

static __attribute__((constructor)) void
init(void)
{
	intercept_hook_point = hook;
}
