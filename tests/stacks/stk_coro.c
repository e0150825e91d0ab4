/*
 * stk_coro.c -- coroutines (makecontext/swapcontext, as green-thread libraries do) on 2 KiB
 * stacks making syscalls through libc: open, write, lseek, read, close, and the rt_sigprocmask
 * of swapcontext itself.  Four coroutines run round-robin on stacks of exactly 2 KiB with a
 * PROT_NONE page right below each, so that a library using more than the coroutine has makes
 * the run die of SIGSEGV instead of corrupting memory silently.  Then one more runs the same
 * work once on a 64 KiB stack filled with a pattern, and the bytes it touched (from the top to
 * the lowest changed byte) are printed as "touched <n>": the test script compares that number
 * under the library with the native run's.
 * Every other line is deterministic; the exit status is 0 when every result was as expected.
 * It must never print a line that depends on timing or on the library's presence.
 *
 * usage: stk_coro <directory for its files>
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define SMALL_STACK 2048
#define N_CORO 4
#define ROUNDS 50
#define MEASURE_STACK 65536
#define PATTERN 0x5a

static ucontext_t main_ctx, coro_ctx[N_CORO + 1];
static const char *dir;
static int failures[N_CORO + 1];
static int done[N_CORO + 1];
/* Static, not on the small stacks: the coroutines' own frames stay small. */
static char paths[N_CORO + 1][4096];
static char bufs[N_CORO + 1][64];

/* One round of file I/O; returns 0 when every result was as expected. */
static int
file_round(int k, int round)
{
	static const char msg[] = "coroutine data\n";
	int fd = open(paths[k], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 1;
	int bad = write(fd, msg, sizeof(msg) - 1) != (ssize_t)(sizeof(msg) - 1);
	bad |= lseek(fd, 0, SEEK_SET) != 0;
	bad |= read(fd, bufs[k], sizeof(bufs[k])) != (ssize_t)(sizeof(msg) - 1);
	bad |= memcmp(bufs[k], msg, sizeof(msg) - 1) != 0;
	bad |= close(fd) != 0;
	(void)round;
	return bad;
}

static void
coroutine(int k)
{
	int rounds = k == N_CORO ? 1 : ROUNDS;
	for (int i = 0; i < rounds; i++) {
		failures[k] += file_round(k, i);
		swapcontext(&coro_ctx[k], &main_ctx);
	}
	done[k] = 1;
}

/* A stack of exactly `size` bytes with an inaccessible page right below it. */
static void *
guarded_stack(size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m, page, PROT_NONE) != 0) {
		perror("stk_coro: mmap");
		exit(2);
	}
	(void)size;
	return m + page;	/* [m + page, m + page + size): the guard is just below */
}

static void
start(int k, void *stack, size_t size)
{
	snprintf(paths[k], sizeof(paths[k]), "%s/coro-%d", dir, k);
	getcontext(&coro_ctx[k]);
	coro_ctx[k].uc_stack.ss_sp = stack;
	coro_ctx[k].uc_stack.ss_size = size;
	coro_ctx[k].uc_link = &main_ctx;
	makecontext(&coro_ctx[k], (void (*)(void))coroutine, 1, k);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: stk_coro <directory>\n");
		return 2;
	}
	dir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (int k = 0; k < N_CORO; k++)
		start(k, guarded_stack(SMALL_STACK), SMALL_STACK);
	for (int live = N_CORO; live > 0;) {
		live = 0;
		for (int k = 0; k < N_CORO; k++) {
			if (done[k])
				continue;
			swapcontext(&main_ctx, &coro_ctx[k]);
			live += !done[k];
		}
	}
	int bad = 0;
	for (int k = 0; k < N_CORO; k++) {
		printf("coroutine %d on a %d-byte stack: %d rounds of open/write/lseek/read/close: %s\n",
		       k, SMALL_STACK, ROUNDS, failures[k] ? "FAILED" : "ok");
		bad += failures[k];
	}

	/* The measurement: the same work once on a large stack filled with a pattern. */
	unsigned char *big = mmap(NULL, MEASURE_STACK, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED) {
		perror("stk_coro: mmap");
		return 2;
	}
	memset(big, PATTERN, MEASURE_STACK);
	start(N_CORO, big, MEASURE_STACK);
	while (!done[N_CORO])
		swapcontext(&main_ctx, &coro_ctx[N_CORO]);
	size_t lowest = 0;
	while (lowest < MEASURE_STACK && big[lowest] == PATTERN)
		lowest++;
	printf("measuring coroutine: %s\n", failures[N_CORO] ? "FAILED" : "ok");
	bad += failures[N_CORO];
	printf("touched %zu\n", (size_t)MEASURE_STACK - lowest);
	for (int k = 0; k <= N_CORO; k++)
		unlink(paths[k]);
	return bad ? 1 : 0;
}
