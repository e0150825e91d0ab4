/*
 * stk_threads.c -- threads and the library's per-thread stacks.  Cases (one per run):
 *   threads  8 threads on 64 KiB stacks (pthread_attr_setstacksize) make 200 rounds each of
 *            open/write/lseek/read/close and getppid; under stk_hook.so with STK_BIG=1 the
 *            hook uses 64 KiB of stack, malloc and vsnprintf for every one of those syscalls,
 *            which only fits because it runs on the library's stack, not the thread's.
 *   churn    256 threads, one after the other, each making a few syscalls and exiting: the
 *            process's address space must not grow by a library stack per thread (they are
 *            freed when a thread exits), checked as VmSize growth under 64 MiB.
 *   clone    a thread made with a raw clone(CLONE_VM | CLONE_THREAD | ...) without
 *            CLONE_SETTLS, which therefore runs on its parent's TLS, makes syscalls through
 *            libc while its parent does too, then exits with the exit syscall; the two must
 *            not share a library stack.
 *   nomem    the address space limited (RLIMIT_AS) to what the process uses plus 256 KiB,
 *            then 4 threads, one after the other, make file syscalls and fork a child: a
 *            thread's library stacks (1 MiB of address space) cannot be mapped, and its
 *            syscalls must still work, run directly (the script checks the library said so
 *            once on stderr).
 * Every line printed is deterministic; the exit status is 0 when every result was as expected.
 * Waits are bounded (30 s).
 *
 * usage: stk_threads threads|churn|clone|nomem <directory for its files>
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_THREADS 8
#define ROUNDS 200
#define THREAD_STACK 65536
#define CHURN 256
#define CLONE_CALLS 2000

static const char *dir;
static pid_t ppid;

/* ---- threads */

static void *
file_thread(void *arg)
{
	long k = (long)arg, bad = 0;
	char path[512], buf[64];
	static const char msg[] = "thread data\n";
	snprintf(path, sizeof(path), "%s/thread-%ld", dir, k);
	for (int i = 0; i < ROUNDS; i++) {
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			bad++;
			continue;
		}
		bad += write(fd, msg, sizeof(msg) - 1) != (ssize_t)(sizeof(msg) - 1);
		bad += lseek(fd, 0, SEEK_SET) != 0;
		bad += read(fd, buf, sizeof(buf)) != (ssize_t)(sizeof(msg) - 1);
		bad += memcmp(buf, msg, sizeof(msg) - 1) != 0;
		bad += close(fd) != 0;
		bad += getppid() != ppid;
	}
	unlink(path);
	return (void *)bad;
}

static int
run_threads(void)
{
	pthread_t t[N_THREADS];
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	for (long k = 0; k < N_THREADS; k++)
		if (pthread_create(&t[k], &attr, file_thread, (void *)k) != 0) {
			perror("stk_threads: pthread_create");
			return 2;
		}
	long bad = 0;
	for (int k = 0; k < N_THREADS; k++) {
		void *r;
		pthread_join(t[k], &r);
		bad += (long)r;
	}
	printf("%d threads on %d-byte stacks, %d rounds of file I/O and getppid: %s\n",
	       N_THREADS, THREAD_STACK, ROUNDS, bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}

/* ---- churn */

static long
vm_size_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static void *
short_thread(void *arg)
{
	(void)arg;
	return (void *)(long)(getppid() != ppid);
}

static int
run_churn(void)
{
	long bad = 0;
	/* One thread first, so that glibc's stack cache is warm before measuring. */
	for (int pass = 0; pass < 2; pass++) {
		long before = vm_size_kib();
		for (int i = 0; i < (pass ? CHURN : 1); i++) {
			pthread_t t;
			void *r;
			if (pthread_create(&t, NULL, short_thread, NULL) != 0) {
				perror("stk_threads: pthread_create");
				return 2;
			}
			pthread_join(t, &r);
			bad += (long)r;
		}
		long grew = vm_size_kib() - before;
		if (pass) {
			printf("%d threads one after the other: results %s, address space growth "
			       "under 64 MiB: %s\n", CHURN, bad ? "FAILED" : "ok",
			       grew < 65536 ? "ok" : "FAILED");
			if (grew >= 65536) {
				fprintf(stderr, "VmSize grew by %ld KiB\n", grew);
				bad++;
			}
		}
	}
	return bad ? 1 : 0;
}

/* ---- clone */

static atomic_int child_done;
static pid_t child_tid;	/* CLONE_CHILD_CLEARTID clears it and wakes the futex */
static atomic_long child_bad;

static int
clone_child(void *arg)
{
	int devnull = (int)(long)arg;
	long bad = 0;
	for (int i = 0; i < CLONE_CALLS; i++) {
		bad += getppid() != ppid;
		bad += write(devnull, "c", 1) != 1;
	}
	atomic_store(&child_bad, bad);
	atomic_store(&child_done, 1);
	syscall(SYS_exit, 0);	/* the thread alone; exit(3) would end the process */
	return 0;
}

static int
run_clone(void)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	size_t size = 1 << 20;	/* room for a hook that runs on it */
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (devnull < 0 || stack == MAP_FAILED)
		return 2;
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
		    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	long tid = clone(clone_child, stack + size, flags, (void *)(long)devnull, &child_tid,
			 NULL, &child_tid);
	if (tid < 0) {
		perror("stk_threads: clone");
		return 2;
	}
	long bad = 0;
	for (int i = 0; i < CLONE_CALLS; i++) {
		bad += getppid() != ppid;
		bad += write(devnull, "p", 1) != 1;
	}
	/* Wait for the kernel to clear child_tid: the child has exited. */
	struct timespec limit = { 30, 0 };
	while (__atomic_load_n(&child_tid, __ATOMIC_ACQUIRE) != 0) {
		pid_t seen = __atomic_load_n(&child_tid, __ATOMIC_ACQUIRE);
		if (seen && syscall(SYS_futex, &child_tid, FUTEX_WAIT, seen, &limit) != 0 &&
		    __atomic_load_n(&child_tid, __ATOMIC_ACQUIRE) == seen &&
		    !atomic_load(&child_done)) {
			bad++;
			break;
		}
	}
	int ok = !bad && atomic_load(&child_done) && !atomic_load(&child_bad);
	printf("a raw clone thread on its parent's TLS, %d syscalls each, side by side: %s\n",
	       CLONE_CALLS, ok ? "ok" : "FAILED");
	/* And the parent's syscalls keep working afterwards. */
	int after = getppid() == ppid && write(devnull, "a", 1) == 1;
	printf("the parent's syscalls afterwards: %s\n", after ? "ok" : "FAILED");
	return ok && after ? 0 : 1;
}

/* ---- nomem */

static void *
nomem_thread(void *arg)
{
	long bad = (long)file_thread(arg);
	pid_t pid = fork();
	if (pid == 0)
		_exit(getppid() > 0 ? 7 : 1);
	int status = 0;
	bad += pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	       WEXITSTATUS(status) != 7;
	return (void *)bad;
}

static int
run_nomem(void)
{
	struct rlimit lim;
	long kib = vm_size_kib();
	if (kib <= 0 || getrlimit(RLIMIT_AS, &lim) != 0)
		return 2;
	lim.rlim_cur = (rlim_t)(kib + 256) * 1024;
	if (setrlimit(RLIMIT_AS, &lim) != 0) {
		perror("stk_threads: setrlimit");
		return 2;
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	long bad = 0;
	for (long k = 0; k < 4; k++) {
		pthread_t t;
		void *r;
		if (pthread_create(&t, &attr, nomem_thread, (void *)k) != 0) {
			fprintf(stderr, "stk_threads: pthread_create failed under the limit\n");
			return 2;
		}
		pthread_join(t, &r);
		bad += (long)r;
	}
	printf("4 threads under an address-space limit, file I/O and fork: %s\n",
	       bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: stk_threads threads|churn|clone|nomem <directory>\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = argv[2];
	ppid = getppid();
	if (strcmp(argv[1], "threads") == 0)
		return run_threads();
	if (strcmp(argv[1], "churn") == 0)
		return run_churn();
	if (strcmp(argv[1], "clone") == 0)
		return run_clone();
	if (strcmp(argv[1], "nomem") == 0)
		return run_nomem();
	fprintf(stderr, "stk_threads: unknown case %s\n", argv[1]);
	return 2;
}
