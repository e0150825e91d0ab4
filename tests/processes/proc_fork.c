/*
 * proc_fork.c -- creates child processes every way a program does: fork, fork from a thread,
 * forks from several threads at once, vfork+execve (success and failure), vfork+_exit,
 * posix_spawn, posix_spawnp, system() and popen() in both directions, and checks every exit
 * status.  An assembly probe calls vfork with canary values in the callee-saved registers, in
 * its own red zone and in its caller's frame, and checks after the child has gone that the
 * parent's registers, stack pointer and stack are exactly as before, and that the child's writes
 * to memory (shared under vfork) are seen.  Prints one deterministic line per case; exits 0 when
 * all are as expected.  It must never print pids or anything else that differs between runs,
 * and never let a child return into the parent's code.
 *
 * usage: proc_fork             run all cases
 *        proc_fork --exit N    exit with status N at once (the program exec'd by the cases)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char self[4096];
static int failures;

static void
report(const char *what, int ok, const char *detail)
{
	printf("%-26s %s%s%s\n", what, ok ? "ok" : "FAILED", detail[0] ? ": " : "", detail);
	if (!ok)
		failures++;
	fflush(stdout);
}

/* "exit N" / "signal N" / "??" for a wait status, into buf. */
static const char *
describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status 0x%x", status);
	return buf;
}

/* Waits for pid and reports whether it exited with `want`. */
static void
expect_exit(const char *what, pid_t pid, int want)
{
	char d[64];
	int status = 0;
	if (pid < 0) {
		snprintf(d, sizeof(d), "could not create the child (errno %d)", errno);
		report(what, 0, d);
		return;
	}
	pid_t r = waitpid(pid, &status, 0);
	if (r != pid) {
		snprintf(d, sizeof(d), "waitpid returned %d (errno %d)", (int)r, errno);
		report(what, 0, d);
		return;
	}
	describe(status, d, sizeof(d));
	report(what, WIFEXITED(status) && WEXITSTATUS(status) == want, d);
}

/* ---- fork */

static void
test_fork(void)
{
	pid_t parent = getpid();
	long *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		report("fork", 0, "mmap failed");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		shared[0] = getppid() == parent ? 0x600d : 0xbad;
		shared[1] = getpid();
		_exit(3);
	}
	expect_exit("fork", pid, 3);
	char d[80];
	snprintf(d, sizeof(d), "child saw its parent: %s, child's pid matches: %s",
		 shared[0] == 0x600d ? "yes" : "no", shared[1] == pid ? "yes" : "no");
	report("fork shared mapping", shared[0] == 0x600d && shared[1] == pid, d);
	munmap(shared, 4096);
}

struct fork_job {
	pthread_t thread;
	int base, count, bad;
	char detail[96];
};

static void *
fork_in_thread(void *arg)
{
	struct fork_job *j = arg;
	for (int i = 0; i < j->count; i++) {
		int want = (j->base + i) % 200;
		pid_t pid = fork();
		if (pid == 0)
			_exit(want);
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != want) {
			if (!j->bad++)
				snprintf(j->detail, sizeof(j->detail),
					 "child %d: pid %d status 0x%x, wanted exit %d",
					 i, (int)pid, status, want);
		}
	}
	return NULL;
}

static void
test_fork_threads(int nthreads, int per_thread, const char *what)
{
	struct fork_job jobs[8];
	int bad = 0;
	const char *detail = "";
	for (int t = 0; t < nthreads; t++) {
		jobs[t] = (struct fork_job){ .base = 4 + t * per_thread, .count = per_thread };
		if (pthread_create(&jobs[t].thread, NULL, fork_in_thread, &jobs[t])) {
			report(what, 0, "pthread_create failed");
			return;
		}
	}
	for (int t = 0; t < nthreads; t++) {
		pthread_join(jobs[t].thread, NULL);
		if (jobs[t].bad && !bad)
			detail = jobs[t].detail;
		bad += jobs[t].bad;
	}
	char d[160];
	snprintf(d, sizeof(d), "%d threads x %d forks, %d wrong%s%s", nthreads, per_thread, bad,
		 bad ? "; first: " : "", detail);
	report(what, bad == 0, d);
}

/* ---- vfork */

static volatile long vfork_value;
static volatile int vfork_errno;

static void
test_vfork_execve(void)
{
	char *argv[] = { self, "--exit", "5", NULL };
	pid_t pid = vfork();
	if (pid == 0) {
		execve(self, argv, environ);
		_exit(127);
	}
	expect_exit("vfork+execve", pid, 5);

	char *bad_argv[] = { "/nonexistent/proc_fork", NULL };
	vfork_errno = 0;
	pid = vfork();
	if (pid == 0) {
		execve(bad_argv[0], bad_argv, environ);
		vfork_errno = errno;
		_exit(127);
	}
	expect_exit("vfork+execve (fails)", pid, 127);
	char d[64];
	snprintf(d, sizeof(d), "errno %s seen by the parent",
		 vfork_errno == ENOENT ? "ENOENT" : "other than ENOENT");
	report("vfork child's errno", vfork_errno == ENOENT, d);
}

static void
test_vfork_exit(void)
{
	vfork_value = 0;
	pid_t pid = vfork();
	if (pid == 0) {
		vfork_value = 0x5eed;
		_exit(6);
	}
	expect_exit("vfork+_exit", pid, 6);
	report("vfork child's write", vfork_value == 0x5eed,
	       vfork_value == 0x5eed ? "seen by the parent" : "NOT seen by the parent");
}

/*
 * The assembly probe.  probe_canary[0..5] go into rbx, rbp, r12-r15; probe_canary[6..20] into
 * the 15 words of the red zone below the probe's stack pointer that the `call vfork` does not
 * use, [rsp-128, rsp-8).  After vfork returns in the parent the probe stores into probe_out:
 * [0..5] the six registers, [6] rsp before, [7] rsp after, [8] vfork's result, [9..23] the red
 * zone words.  In the child it calls _exit(PROBE_FAST_STATUS) at once when probe_mode is 0
 * (natively nothing then writes to the red zone), else probe_child_work().
 */
#define PROBE_FAST_STATUS 7
#define PROBE_WORK_STATUS 8
#define PROBE_STR_(x) #x
#define PROBE_STR(x) PROBE_STR_(x)
const long probe_canary[21] = {
	0x1b1b1b1b1b1b1b1b, 0x2c2c2c2c2c2c2c2c, 0x3d3d3d3d3d3d3d3d, 0x4e4e4e4e4e4e4e4e,
	0x5f5f5f5f5f5f5f5f, 0x6a6a6a6a6a6a6a6a, 0x7001000170010001, 0x7002000270020002,
	0x7003000370030003, 0x7004000470040004, 0x7005000570050005, 0x7006000670060006,
	0x7007000770070007, 0x7008000870080008, 0x7009000970090009, 0x700a000a700a000a,
	0x700b000b700b000b, 0x700c000c700c000c, 0x700d000d700d000d, 0x700e000e700e000e,
	0x700f000f700f000f,
};
long probe_out[24];
int probe_mode;
long vfork_probe(void);

__asm__(
	".text\n"
	".globl vfork_probe\n"
	".type vfork_probe, @function\n"
	"vfork_probe:\n"
	".cfi_startproc\n"
	"	push %rbp\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %rbp, 0\n"
	"	push %rbx\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %rbx, 0\n"
	"	push %r12\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r12, 0\n"
	"	push %r13\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r13, 0\n"
	"	push %r14\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r14, 0\n"
	"	push %r15\n .cfi_adjust_cfa_offset 8\n .cfi_rel_offset %r15, 0\n"
	"	sub $8, %rsp\n .cfi_adjust_cfa_offset 8\n"
	"	mov probe_canary+0(%rip), %rbx\n"
	"	mov probe_canary+8(%rip), %rbp\n"
	"	mov probe_canary+16(%rip), %r12\n"
	"	mov probe_canary+24(%rip), %r13\n"
	"	mov probe_canary+32(%rip), %r14\n"
	"	mov probe_canary+40(%rip), %r15\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14\n"
	"	mov probe_canary+48+8*\\i(%rip), %rax\n"
	"	mov %rax, -(16+8*\\i)(%rsp)\n"
	"	.endr\n"
	"	mov %rsp, probe_out+48(%rip)\n"
	"	call *vfork@GOTPCREL(%rip)\n"
	"	test %eax, %eax\n"
	"	jz 2f\n"
	"	mov %rsp, probe_out+56(%rip)\n"
	"	mov %rax, probe_out+64(%rip)\n"
	"	mov %rbx, probe_out+0(%rip)\n"
	"	mov %rbp, probe_out+8(%rip)\n"
	"	mov %r12, probe_out+16(%rip)\n"
	"	mov %r13, probe_out+24(%rip)\n"
	"	mov %r14, probe_out+32(%rip)\n"
	"	mov %r15, probe_out+40(%rip)\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14\n"
	"	mov -(16+8*\\i)(%rsp), %rax\n"
	"	mov %rax, probe_out+72+8*\\i(%rip)\n"
	"	.endr\n"
	"	mov probe_out+64(%rip), %rax\n"
	"	.cfi_remember_state\n"
	"	add $8, %rsp\n .cfi_adjust_cfa_offset -8\n"
	"	pop %r15\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r15\n"
	"	pop %r14\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r14\n"
	"	pop %r13\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r13\n"
	"	pop %r12\n .cfi_adjust_cfa_offset -8\n .cfi_restore %r12\n"
	"	pop %rbx\n .cfi_adjust_cfa_offset -8\n .cfi_restore %rbx\n"
	"	pop %rbp\n .cfi_adjust_cfa_offset -8\n .cfi_restore %rbp\n"
	"	ret\n"
	"2:\n"
	"	.cfi_restore_state\n"
	"	cmpl $0, probe_mode(%rip)\n"
	"	jne 3f\n"
	"	mov $" PROBE_STR(PROBE_FAST_STATUS) ", %edi\n"
	"	call *_exit@GOTPCREL(%rip)\n"
	"	ud2\n"
	"3:\n"
	"	call probe_child_work@PLT\n"
	"	ud2\n"
	".cfi_endproc\n"
	".size vfork_probe, .-vfork_probe\n");

static volatile long probe_child_pid;

/* Uses `depth` KiB of stack below the probe, filling it with a pattern. */
__attribute__((noinline)) static long
trample(int depth)
{
	volatile char buf[1024];
	memset((char *)buf, 0x5a, sizeof(buf));
	long sum = buf[depth % 1024];
	if (depth > 0)
		sum += trample(depth - 1);
	return sum;
}

__attribute__((noreturn, used)) void probe_child_work(void);
void
probe_child_work(void)
{
	probe_child_pid = getpid();
	trample(32);
	_exit(PROBE_WORK_STATUS);
}

/* Runs the probe from a frame full of canaries; the frame must be intact afterwards. */
__attribute__((noinline)) static void
test_vfork_probe(int mode)
{
	const char *what = mode ? "vfork probe (child works)" : "vfork probe (child exits)";
	volatile long frame[32];
	for (int i = 0; i < 32; i++)
		frame[i] = 0x0123456789abcdefL ^ ((long)i << 56);
	probe_mode = mode;
	probe_child_pid = 0;
	memset(probe_out, 0, sizeof(probe_out));
	long pid = vfork_probe();

	int frame_ok = 1;
	for (int i = 0; i < 32; i++)
		if (frame[i] != (0x0123456789abcdefL ^ ((long)i << 56)))
			frame_ok = 0;
	int regs_ok = 1, red_ok = 1;
	for (int i = 0; i < 6; i++)
		if (probe_out[i] != probe_canary[i])
			regs_ok = 0;
	for (int i = 0; i < 15; i++)
		if (probe_out[9 + i] != probe_canary[6 + i])
			red_ok = 0;
	int rsp_ok = probe_out[6] == probe_out[7] && probe_out[6] != 0;
	char d[200];
	snprintf(d, sizeof(d), "callee-saved registers %s, rsp %s, red zone %s, caller frame %s%s",
		 regs_ok ? "intact" : "CHANGED", rsp_ok ? "intact" : "CHANGED",
		 mode ? "(not checked)" : red_ok ? "intact" : "CHANGED",
		 frame_ok ? "intact" : "CHANGED",
		 mode ? (probe_child_pid == pid ? ", child's write seen" : ", child's write NOT seen")
		      : "");
	int ok = regs_ok && rsp_ok && frame_ok && (mode ? probe_child_pid == pid : red_ok);
	report(what, ok, d);
	if (!regs_ok || !red_ok)
		for (int i = 0; i < 6 + (mode ? 0 : 15); i++) {
			long got = probe_out[i < 6 ? i : 9 + (i - 6)];
			if (got != probe_canary[i])
				fprintf(stderr, "probe word %d: %#lx, expected %#lx\n", i,
					(unsigned long)got, (unsigned long)probe_canary[i]);
		}
	expect_exit(mode ? "vfork probe child exit" : "vfork probe child _exit", (pid_t)pid,
		    mode ? PROBE_WORK_STATUS : PROBE_FAST_STATUS);
}

/* ---- posix_spawn, system, popen */

static void
test_spawn(void)
{
	pid_t pid;
	char *argv[] = { self, "--exit", "9", NULL };
	int e = posix_spawn(&pid, self, NULL, NULL, argv, environ);
	if (e) {
		errno = e;
		pid = -1;
	}
	expect_exit("posix_spawn", pid, 9);

	char *sh_argv[] = { "sh", "-c", "exit 10", NULL };
	e = posix_spawnp(&pid, "sh", NULL, NULL, sh_argv, environ);
	if (e) {
		errno = e;
		pid = -1;
	}
	expect_exit("posix_spawnp sh", pid, 10);

	char *bad_argv[] = { "/nonexistent/proc_fork", NULL };
	e = posix_spawn(&pid, bad_argv[0], NULL, NULL, bad_argv, environ);
	/* glibc reports the exec failure itself; older ones spawn a child exiting with 127. */
	if (e == 0) {
		int status = 0;
		waitpid(pid, &status, 0);
		e = WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ENOENT : -1;
	}
	report("posix_spawn (fails)", e == ENOENT, e == ENOENT ? "ENOENT" : "not ENOENT");
}

static void
test_system(void)
{
	char d[64];
	int status = system("exit 11");
	report("system exit", WIFEXITED(status) && WEXITSTATUS(status) == 11,
	       describe(status, d, sizeof(d)));
	status = system("kill -TERM $$");
	report("system killed", WIFSIGNALED(status) && WTERMSIG(status) == 15,
	       describe(status, d, sizeof(d)));
	status = system("echo system output; exit 0");
	report("system output", WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       describe(status, d, sizeof(d)));
}

static void
test_popen(void)
{
	char d[128], line[64] = "";
	FILE *p = popen("echo hello; exit 12", "r");
	if (!p) {
		report("popen read", 0, "popen failed");
		return;
	}
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	int status = pclose(p);
	char st[32];
	snprintf(d, sizeof(d), "read \"%s\", %s", line, describe(status, st, sizeof(st)));
	report("popen read", !strcmp(line, "hello") && WIFEXITED(status) && WEXITSTATUS(status) == 12,
	       d);

	p = popen("n=0; while read l; do n=$((n+1)); done; exit $n", "w");
	if (!p) {
		report("popen write", 0, "popen failed");
		return;
	}
	for (int i = 0; i < 13; i++)
		fprintf(p, "line %d\n", i);
	status = pclose(p);
	snprintf(d, sizeof(d), "wrote 13 lines, %s", describe(status, st, sizeof(st)));
	report("popen write", WIFEXITED(status) && WEXITSTATUS(status) == 13, d);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--exit"))
		return atoi(argv[2]);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		return 2;
	}
	self[n] = '\0';
	fprintf(stderr, "pid %d\n", (int)getpid());	/* for the script: the count file's name */
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_fork();
	test_fork_threads(1, 1, "fork from a thread");
	test_fork_threads(4, 25, "forks from 4 threads");
	test_vfork_execve();
	test_vfork_exit();
	test_vfork_probe(0);
	test_vfork_probe(1);
	test_spawn();
	test_system();
	test_popen();
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
