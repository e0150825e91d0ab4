/*
 * log_format_test.c -- unit test of the INTERCEPT_LOG line formatter (src/log_format.c and
 * src/syscall_table.c linked in directly, no library): exact lines for decoded syscalls,
 * errors, unknown numbers and sites, out-buffers before and after the call, bad pointers,
 * over-long lines, timing; and every syscall name checked against the system's unistd_64.h
 * (its path is argv[1], when given).  Its fake memory reader only reads from regions the test
 * registers, so a bad pointer here is one the formatter must not follow.  It must never depend
 * on the library or the machine beyond the header it is given.
 */
#define _GNU_SOURCE
#include "log_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

static int failures, checks;

/* ---- the fake reader: only registered regions are readable */

struct region {
	const void *p;
	size_t len;
};
static struct region regions[16];
static int n_regions;

static void
readable(const void *p, size_t len)
{
	regions[n_regions++] = (struct region){ p, len };
}

static size_t
fake_read(const struct si_log_call *call, void *dst, uint64_t addr, size_t len)
{
	(void)call;
	for (int i = 0; i < n_regions; i++) {
		uint64_t lo = (uint64_t)(uintptr_t)regions[i].p, hi = lo + regions[i].len;
		if (addr >= lo && addr < hi) {
			size_t n = hi - addr < len ? hi - addr : len;
			memcpy(dst, (const void *)(uintptr_t)addr, n);
			return n;
		}
	}
	return 0;
}

/* The real thing, as log.c does it: never faults, whatever the address. */
static size_t
vm_read(const struct si_log_call *call, void *dst, uint64_t addr, size_t len)
{
	(void)call;
	struct iovec local = { dst, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	return r < 0 ? 0 : (size_t)r;
}

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

static void
check_line(int line, const char *expected, const struct si_log_call *call, si_log_read_fn rd)
{
	char buf[SI_LOG_LINE_MAX];
	size_t n = si_log_format(buf, sizeof(buf), call, rd);
	checks++;
	if (n != strlen(expected) || memcmp(buf, expected, n) != 0) {
		failures++;
		fprintf(stderr, "line %d:\n  expected: %s  got:      %.*s", line, expected, (int)n,
			buf);
		if (n == 0 || buf[n - 1] != '\n')
			fprintf(stderr, "\n");
	}
}

#define CHECK(expected, rd, ...)                                                    \
	do {                                                                        \
		struct si_log_call c_ = { .path = LIBC, .offset = 0xe2f4,           \
					  __VA_ARGS__ };                            \
		if (c_.duration_ns == 0) /* not given: no time */                   \
			c_.duration_ns = -1;                                        \
		check_line(__LINE__, expected, &c_, rd);                            \
	} while (0)

#define A(...) .args = { __VA_ARGS__ }
#define L(p) ((long)(uintptr_t)(p))

static void
test_files(void)
{
	static const char path[] = "/etc/passwd";
	readable(path, sizeof(path));
	CHECK(LIBC " 0xe2f4 -- open(\"/etc/passwd\", O_RDONLY) = ?\n", fake_read,
	      .nr = 2, A(L(path), 0, 0777));
	CHECK(LIBC " 0xe2f4 -- open(\"/etc/passwd\", O_RDONLY) = 3\n", fake_read,
	      .nr = 2, A(L(path), 0), .result = 3, .has_result = true);
	CHECK(LIBC " 0xe2f4 -- openat(AT_FDCWD, \"/etc/passwd\", O_WRONLY | O_CREAT | O_TRUNC | "
	      "O_CLOEXEC, 0644) = 4\n", fake_read,
	      .nr = 257, A(-100, L(path), 01 | 0100 | 01000 | 02000000, 0644), .result = 4,
	      .has_result = true);
	CHECK(LIBC " 0xe2f4 -- openat(7, \"/etc/passwd\", O_RDWR | O_DIRECTORY | O_NOFOLLOW) = "
	      "-2 ENOENT (No such file or directory)\n", fake_read,
	      .nr = 257, A(7, L(path), 02 | 0200000 | 0400000), .result = -2,
	      .has_result = true);
	CHECK(LIBC " 0xe2f4 -- openat(AT_FDCWD, \"/etc/passwd\", O_RDWR | O_TMPFILE, 0600) = ?\n",
	      fake_read, .nr = 257, A(-100, L(path), 02 | 020200000, 0600));
	/* the upper half of an int argument is ignored: AT_FDCWD zero-extended */
	CHECK(LIBC " 0xe2f4 -- openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY | O_SYNC) = ?\n",
	      fake_read, .nr = 257, A(0xffffff9cL, L(path), 04010000));
	CHECK(LIBC " 0xe2f4 -- close(3) = 0\n", fake_read, .nr = 3, A(3), .has_result = true);
	CHECK(LIBC " 0xe2f4 -- lseek(3, -10, SEEK_END) = 90\n", fake_read,
	      .nr = 8, A(3, -10, 2), .result = 90, .has_result = true);
	CHECK(LIBC " 0xe2f4 -- newfstatat(AT_FDCWD, \"\", 0x00007ffc00001000, AT_EMPTY_PATH) = 0\n",
	      fake_read, .nr = 262, A(-100, L(path + sizeof(path) - 1), 0x7ffc00001000, 0x1000),
	      .has_result = true);
	CHECK(LIBC " 0xe2f4 -- access(\"/etc/passwd\", F_OK) = ?\n", fake_read,
	      .nr = 21, A(L(path), 0));
	CHECK(LIBC " 0xe2f4 -- faccessat2(AT_FDCWD, \"/etc/passwd\", R_OK | X_OK, AT_EACCESS) = ?\n",
	      fake_read, .nr = 439, A(-100, L(path), 5, 0x200));
	CHECK(LIBC " 0xe2f4 -- umask(022) = 077\n", fake_read, .nr = 95, A(022), .result = 077,
	      .has_result = true);
}

static void
test_buffers(void)
{
	static char data[100];
	memcpy(data, "hello, world", 12);
	readable(data, sizeof(data));
	/* out-buffer: only its address before, its contents (result bytes) after */
	CHECK(LIBC " 0xe2f4 -- read(3, 0x0000000000601000, 100) = ?\n", fake_read,
	      .nr = 0, A(3, 0x601000, 100));
	char expect[256];
	snprintf(expect, sizeof(expect), LIBC " 0xe2f4 -- read(3, \"hello\", 100) = 5\n");
	CHECK(expect, fake_read, .nr = 0, A(3, L(data), 100), .result = 5, .has_result = true);
	snprintf(expect, sizeof(expect),
		 LIBC " 0xe2f4 -- read(3, 0x%016lx, 100) = -11 EAGAIN (Resource temporarily "
		 "unavailable)\n", (unsigned long)(uintptr_t)data);
	CHECK(expect, fake_read, .nr = 0, A(3, L(data), 100), .result = -11, .has_result = true);
	CHECK(LIBC " 0xe2f4 -- pread64(3, \"\", 100, 4096) = 0\n", fake_read,
	      .nr = 17, A(3, L(data), 100, 4096), .has_result = true);

	/* in-buffer with every kind of escape */
	static const char esc[] = "a\"b\\c\n\t\x01\xff\r";
	readable(esc, sizeof(esc));
	CHECK(LIBC " 0xe2f4 -- write(1, \"a\\\"b\\\\c\\n\\t\\x01\\xff\\r\\0\", 11) = ?\n", fake_read,
	      .nr = 1, A(1, L(esc), 11));
	/* longer than SI_LOG_STR_MAX: cut, "..." inside the quotes */
	static char big[100];
	memset(big, 'x', sizeof(big));
	readable(big, sizeof(big));
	char x64[65];
	memset(x64, 'x', 64);
	x64[64] = 0;
	snprintf(expect, sizeof(expect), LIBC " 0xe2f4 -- write(2, \"%s...\", 100) = 100\n", x64);
	CHECK(expect, fake_read, .nr = 1, A(2, L(big), 100), .result = 100, .has_result = true);
	/* an unterminated string is cut the same way */
	snprintf(expect, sizeof(expect), LIBC " 0xe2f4 -- chdir(\"%s...\") = ?\n", x64);
	CHECK(expect, fake_read, .nr = 80, A(L(big)));
	/* a buffer that is not (fully) readable: the pointer */
	CHECK(LIBC " 0xe2f4 -- write(1, 0x00000000deadbeef, 10) = ?\n", fake_read,
	      .nr = 1, A(1, 0xdeadbeef, 10));
	CHECK(LIBC " 0xe2f4 -- write(1, (null), 0) = ?\n", fake_read, .nr = 1, A(1, 0, 0));
	/* getcwd: a string the kernel fills */
	static const char cwd[] = "/home/user";
	readable(cwd, sizeof(cwd));
	CHECK(LIBC " 0xe2f4 -- getcwd(\"/home/user\", 4096) = 11\n", fake_read,
	      .nr = 79, A(L(cwd), 4096), .result = 11, .has_result = true);
	/* pipe2: the descriptors it returns, after */
	static int fds[2] = { 3, 4 };
	readable(fds, sizeof(fds));
	snprintf(expect, sizeof(expect), LIBC " 0xe2f4 -- pipe2(0x%016lx, O_CLOEXEC) = ?\n",
		 (unsigned long)(uintptr_t)fds);
	CHECK(expect, fake_read, .nr = 293, A(L(fds), 02000000));
	CHECK(LIBC " 0xe2f4 -- pipe2([3, 4], O_NONBLOCK | O_CLOEXEC) = 0\n", fake_read,
	      .nr = 293, A(L(fds), 02004000), .has_result = true);
}

static void
test_memory_and_processes(void)
{
	CHECK(LIBC " 0xe2f4 -- mmap((null), 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | "
	      "MAP_ANONYMOUS, -1, 0x0) = 0x00007f1234560000\n", fake_read,
	      .nr = 9, A(0, 4096, 3, 0x22, -1, 0), .result = 0x7f1234560000,
	      .has_result = true);
	CHECK(LIBC " 0xe2f4 -- mmap(0x00007f0000000000, 8192, PROT_NONE, MAP_SHARED | MAP_FIXED | "
	      "0x8000000, 3, 0x1000) = -12 ENOMEM (Cannot allocate memory)\n", fake_read,
	      .nr = 9, A(0x7f0000000000, 8192, 0, 0x8000011, 3, 0x1000), .result = -12,
	      .has_result = true);
	CHECK(LIBC " 0xe2f4 -- mprotect(0x00007f0000000000, 4096, PROT_READ | PROT_EXEC) = 0\n",
	      fake_read, .nr = 10, A(0x7f0000000000, 4096, 5), .has_result = true);
	CHECK(LIBC " 0xe2f4 -- clone(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | "
	      "CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | "
	      "CLONE_CHILD_CLEARTID, 0x00007f0000100000, 0x00007f0000200000, 0x00007f0000200000, "
	      "0x7f0000300000) = 1234\n", fake_read,
	      .nr = 56, A(0x3d0f00, 0x7f0000100000, 0x7f0000200000, 0x7f0000200000,
			  0x7f0000300000), .result = 1234, .has_result = true);
	CHECK(LIBC " 0xe2f4 -- clone(CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | SIGCHLD, (null), "
	      "(null), 0x00007f0000200000, 0x0) = 0\n", fake_read,
	      .nr = 56, A(0x1200011, 0, 0, 0x7f0000200000, 0), .has_result = true);
	static const uint64_t cl[8] = { 0x3d0f00, 0, 0x7f0000200000, 0x7f0000200000, 0,
					0x7f0000100000, 0x800000, 0x7f0000300000 };
	readable(cl, sizeof(cl));
	CHECK(LIBC " 0xe2f4 -- clone3({flags=CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | "
	      "CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | "
	      "CLONE_CHILD_CLEARTID, exit_signal=0, stack=0x00007f0000100000, "
	      "stack_size=0x800000, tls=0x00007f0000300000}, 88) = ?\n", fake_read,
	      .nr = 435, A(L(cl), 88));
	static const char prog[] = "/bin/ls", a0[] = "ls", a1[] = "-l";
	static const char *const argv[] = { a0, a1, NULL };
	readable(prog, sizeof(prog));
	readable(a0, sizeof(a0));
	readable(a1, sizeof(a1));
	readable(argv, sizeof(argv));
	CHECK(LIBC " 0xe2f4 -- execve(\"/bin/ls\", [\"ls\", \"-l\"], 0x00007ffc00000100) = ?\n",
	      fake_read, .nr = 59, A(L(prog), L(argv), 0x7ffc00000100));
	CHECK(LIBC " 0xe2f4 -- execve(\"/bin/ls\", [\"ls\", \"-l\"], 0x00007ffc00000100) = "
	      "-13 EACCES (Permission denied)\n", fake_read,
	      .nr = 59, A(L(prog), L(argv), 0x7ffc00000100), .result = -13, .has_result = true);
	static const char *const many[12] = { a0, a0, a0, a0, a0, a0, a0, a0, a0, a0, a0, 0 };
	readable(many, sizeof(many));
	CHECK(LIBC " 0xe2f4 -- execve(\"/bin/ls\", [\"ls\", \"ls\", \"ls\", \"ls\", \"ls\", \"ls\", "
	      "\"ls\", \"ls\", ...], (null)) = ?\n", fake_read, .nr = 59, A(L(prog), L(many), 0));
	CHECK(LIBC " 0xe2f4 -- exit_group(1) = ?\n", fake_read, .nr = 231, A(1));
	CHECK(LIBC " 0xe2f4 -- wait4(-1, 0x00007ffc00000010, WNOHANG | __WALL, (null)) = 77\n",
	      fake_read, .nr = 61, A(-1, 0x7ffc00000010, 0x40000001, 0), .result = 77,
	      .has_result = true);
	CHECK(LIBC " 0xe2f4 -- kill(77, SIGTERM) = -3 ESRCH (No such process)\n", fake_read,
	      .nr = 62, A(77, 15), .result = -3, .has_result = true);
	CHECK(LIBC " 0xe2f4 -- rt_sigaction(SIGRT_2, (null), 0x00007ffc00000010, 8) = 0\n",
	      fake_read, .nr = 13, A(34, 0, 0x7ffc00000010, 8), .has_result = true);
	CHECK(LIBC " 0xe2f4 -- rt_sigprocmask(SIG_SETMASK, 0x00007ffc00000010, (null), 8) = ?\n",
	      fake_read, .nr = 14, A(2, 0x7ffc00000010, 0, 8));
	CHECK(LIBC " 0xe2f4 -- futex(0x00007f0000000040, FUTEX_WAIT_BITSET_PRIVATE | "
	      "FUTEX_CLOCK_REALTIME, 0, (null), (null), -1) = ?\n", fake_read,
	      .nr = 202, A(0x7f0000000040, 9 | 128 | 256, 0, 0, 0, 0xffffffff));
	CHECK(LIBC " 0xe2f4 -- arch_prctl(ARCH_SET_FS, 0x7f0000000740) = 0\n", fake_read,
	      .nr = 158, A(0x1002, 0x7f0000000740), .has_result = true);
	CHECK(LIBC " 0xe2f4 -- socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0) = 5\n", fake_read,
	      .nr = 41, A(10, 02000001, 0), .result = 5, .has_result = true);
	CHECK(LIBC " 0xe2f4 -- prlimit64(0, RLIMIT_NOFILE, (null), 0x00007ffc00000010) = 0\n",
	      fake_read, .nr = 302, A(0, 7, 0, 0x7ffc00000010), .has_result = true);
	CHECK(LIBC " 0xe2f4 -- brk((null)) = 0x0000555555559000\n", fake_read,
	      .nr = 12, A(0), .result = 0x555555559000, .has_result = true);
}

static void
test_unknown_and_special(void)
{
	CHECK(LIBC " 0xe2f4 -- syscall(1000, 0x1, 0x2, 0x0, 0x0, 0x0, 0xffffffffffffffff) = "
	      "-38 ENOSYS (Function not implemented)\n", fake_read,
	      .nr = 1000, A(1, 2, 0, 0, 0, -1), .result = -38, .has_result = true);
	CHECK(LIBC " 0xe2f4 -- syscall(400, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0) = ?\n", fake_read,
	      .nr = 400);
	CHECK(LIBC " 0xe2f4 -- syscall(-1, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0) = ?\n", fake_read,
	      .nr = -1);
	/* an unknown site */
	struct si_log_call c = { .path = NULL, .nr = 39, .result = 42, .has_result = true,
				 .duration_ns = -1 };
	check_line(__LINE__, "? 0x0 -- getpid() = 42\n", &c, fake_read);
	/* errno without a name */
	CHECK(LIBC " 0xe2f4 -- getpid() = -600 (Unknown error 600)\n", fake_read, .nr = 39,
	      .result = -600, .has_result = true);
	/* timing */
	CHECK(LIBC " 0xe2f4 -- getppid() = 1 <1.000123>\n", fake_read, .nr = 110, .result = 1,
	      .has_result = true, .duration_ns = 1000123456);
	CHECK(LIBC " 0xe2f4 -- getppid() = ?\n", fake_read, .nr = 110, .duration_ns = 5);
	/* newest syscalls */
	CHECK(LIBC " 0xe2f4 -- mseal(0x00007f0000000000, 4096, 0x0) = 0\n", fake_read,
	      .nr = 462, A(0x7f0000000000, 4096, 0), .has_result = true);
	CHECK(LIBC " 0xe2f4 -- futex_wake(0x00007f0000000040, 0xffffffff, 1, 0x82) = 0\n",
	      fake_read, .nr = 454, A(0x7f0000000040, 0xffffffff, 1, 0x82), .has_result = true);
	CHECK(LIBC " 0xe2f4 -- fchmodat2(AT_FDCWD, (null), 0755, AT_SYMLINK_NOFOLLOW) = ?\n",
	      fake_read, .nr = 452, A(-100, 0, 0755, 0x100));
}

static void
test_bad_pointers(void)
{
	/* bogus pointers print as pointers, with no reader and with the real one */
	si_log_read_fn readers[] = { NULL, fake_read, vm_read };
	for (int i = 0; i < 3; i++) {
		CHECK(LIBC " 0xe2f4 -- open(0x0000000000000001, O_RDONLY) = ?\n", readers[i],
		      .nr = 2, A(1, 0));
		CHECK(LIBC " 0xe2f4 -- open((null), O_RDONLY) = ?\n", readers[i], .nr = 2, A(0, 0));
		CHECK(LIBC " 0xe2f4 -- execve(0xffffffffffff0000, 0x0000000000001000, (null)) = ?\n",
		      readers[i], .nr = 59, A(-0x10000L, 0x1000, 0));
		CHECK(LIBC " 0xe2f4 -- read(0, 0xffff800000000000, 10) = 10\n", readers[i],
		      .nr = 0, A(0, (long)0xffff800000000000UL, 10), .result = 10,
		      .has_result = true);
	}
	/* the real reader on real memory: a string that ends right before an unmapped page */
	long page = sysconf(_SC_PAGESIZE);
	char *two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	munmap(two + page, page);
	memcpy(two + page - 4, "abc", 4);
	CHECK(LIBC " 0xe2f4 -- chdir(\"abc\") = ?\n", vm_read, .nr = 80, A(L(two + page - 4)));
	/* unterminated up to the hole: what could be read, cut */
	memcpy(two + page - 3, "xyz", 3);
	CHECK(LIBC " 0xe2f4 -- chdir(\"xyz...\") = ?\n", vm_read, .nr = 80, A(L(two + page - 3)));
	munmap(two, page);
}

static void
test_long_line(void)
{
	/* a path so long the arguments do not fit: cut with "...", the result always kept */
	static char path[4000];
	memset(path, '/', sizeof(path) - 1);
	struct si_log_call c = { .path = path, .nr = 1, .args = { 1, 0, 0 }, .result = 5,
				 .has_result = true, .duration_ns = 12000 };
	char buf[SI_LOG_LINE_MAX];
	size_t n = si_log_format(buf, sizeof(buf), &c, fake_read);
	checks++;
	const char tail[] = "...) = 5 <0.000012>\n";
	if (n > sizeof(buf) || n < sizeof(tail) ||
	    memcmp(buf + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0) {
		failures++;
		fprintf(stderr, "long line: bad end: %.*s\n", 60, buf + (n > 60 ? n - 60 : 0));
	}
	/* too small a buffer: nothing, and nothing written past it */
	checks++;
	if (si_log_format(buf, 16, &c, fake_read) != 0) {
		failures++;
		fprintf(stderr, "tiny buffer accepted\n");
	}
}

/* Every "#define __NR_<name> <nr>" of the system header names the same syscall in our table. */
static void
test_names(const char *header)
{
	FILE *f = fopen(header, "r");
	if (!f) {
		fprintf(stderr, "note: %s not readable, names not checked\n", header);
		return;
	}
	char line[256], name[128];
	long nr;
	int seen = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "#define __NR_%127s %ld", name, &nr) != 2)
			continue;
		seen++;
		checks++;
		const char *ours = si_syscall_name(nr);
		if (!ours || strcmp(ours, name) != 0) {
			failures++;
			fprintf(stderr, "syscall %ld: header says %s, table says %s\n", nr, name,
				ours ? ours : "(nothing)");
		}
	}
	fclose(f);
	checks++;
	if (seen < 300) {
		failures++;
		fprintf(stderr, "only %d syscalls found in %s\n", seen, header);
	}
	/* and the table has nothing the header lacks below its last number, but 335..423 */
	for (long i = 0; i < SI_SYSCALL_TABLE_LEN; i++) {
		const struct si_syscall_format *e = &si_syscall_table[i];
		if (!e->name)
			continue;
		checks++;
		for (int a = 0; a < 6; a++)
			if (e->args[a] >= SA_KIND_COUNT) {
				failures++;
				fprintf(stderr, "syscall %ld: bad argument kind\n", i);
			}
	}
}

/*
 * Every syscall number with random arguments (some pointing into random readable bytes, some
 * anywhere), before and after, random results: always one well-formed line within the buffer.
 */
static void
test_random(void)
{
	static unsigned char noise[4096];
	unsigned long seed = 12345;
#define RND() (seed = seed * 6364136223846793005UL + 1442695040888963407UL, seed >> 17)
	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (unsigned char)RND();
	readable(noise, sizeof(noise));
	int bad = 0;
	for (long nr = -3; nr < SI_SYSCALL_TABLE_LEN + 3; nr++) {
		for (int round = 0; round < 60; round++) {
			struct si_log_call c = { .path = round % 7 ? LIBC : NULL, .offset = RND(),
						 .nr = nr, .has_result = round & 1,
						 .duration_ns = round % 3 ? -1 : (long)(RND() % 5000000000UL) };
			for (int a = 0; a < 6; a++) {
				switch (RND() % 4) {
				case 0: c.args[a] = (long)RND() % 100; break;
				case 1: c.args[a] = L(noise + RND() % sizeof(noise)); break;
				case 2: c.args[a] = (long)(RND() << 20); break;
				default: c.args[a] = -(long)(RND() % 5000); break;
				}
			}
			c.result = RND() % 2 ? -(long)(RND() % 5000) : (long)(RND() % 5000);
			char buf[SI_LOG_LINE_MAX + 16];
			memset(buf, 0x5a, sizeof(buf));
			size_t n = si_log_format(buf, SI_LOG_LINE_MAX, &c, fake_read);
			bool ok = n > 10 && n <= SI_LOG_LINE_MAX && buf[n - 1] == '\n' &&
				  memchr(buf, '\n', n - 1) == NULL && buf[SI_LOG_LINE_MAX] == 0x5a &&
				  memmem(buf, n, " -- ", 4) != NULL && memmem(buf, n, ") = ", 4) != NULL;
			checks++;
			if (!ok) {
				failures++;
				if (bad++ < 3)
					fprintf(stderr, "random nr %ld: bad line %.*s\n", nr,
						(int)(n > 300 ? 300 : n), buf);
			}
		}
	}
#undef RND
}

int
main(int argc, char **argv)
{
	test_files();
	test_buffers();
	test_memory_and_processes();
	test_unknown_and_special();
	test_bad_pointers();
	test_long_line();
	test_random();
	test_names(argc > 1 ? argv[1] : "/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
