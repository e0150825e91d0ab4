/*
 * dbg_cxx.cpp -- C++ unwinding next to intercepted system calls.  (1) Exceptions thrown right
 * after a system call (getppid, write, read, getpid) in a function called through a frame
 * with an RAII guard, caught two frames up: the catch must see
 * the right exception and every guard's destructor must have run, many times over, in the main
 * thread and in a second thread.  (2) pthread_cancel of a thread blocked in read on an empty
 * pipe (the program waits until /proc/self/task/<tid>/syscall shows it): the forced unwind must
 * pass a catch (abi::__forced_unwind &) that rethrows, run the destructors of the blocked
 * function's and the thread function's locals, and end with PTHREAD_CANCELED.  It prints
 * deterministic lines for comparison with a native run.  It must never throw from a hook or a
 * signal handler (that is not supported across the interception boundary) and never sleep a
 * fixed time instead of checking the blocked state.
 *
 * exit: 0 all checks passed, 1 a check failed, 2 setup error
 */
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <pthread.h>
#include <stdexcept>
#include <string>
#include <sys/syscall.h>
#include <thread>
#include <time.h>
#include <unistd.h>

namespace {

std::atomic<long> destroyed{0};

struct Guard {
	std::atomic<long> *counter;
	explicit Guard(std::atomic<long> *c) : counter(c) {}
	~Guard() { counter->fetch_add(1); }
	Guard(const Guard &) = delete;
	Guard &operator=(const Guard &) = delete;
};

int pipe_fds[2];

}  // namespace

/* Makes an intercepted system call, then throws at once. */
__attribute__((noinline)) void
syscall_then_throw(int which, int i)
{
	Guard g(&destroyed);
	char c = 'x';
	long r = 0;
	switch (which % 4) {
	case 0: r = getppid(); break;
	case 1: r = write(pipe_fds[1], &c, 1); break;
	case 2: r = write(pipe_fds[1], &c, 1) == 1 ? read(pipe_fds[0], &c, 1) : -1; break;
	case 3: r = getpid(); break;
	}
	if (r < 0)
		throw std::logic_error("syscall failed");
	throw std::runtime_error("thrown " + std::to_string(i));
}

__attribute__((noinline)) void
middle(int which, int i)
{
	Guard g(&destroyed);
	syscall_then_throw(which, i);
	std::puts("not reached");
}

/* n throws; returns the number caught correctly. */
static int
throw_many(int n)
{
	int caught = 0;
	for (int i = 0; i < n; i++) {
		try {
			middle(i, i);
		} catch (const std::runtime_error &e) {
			if (std::string(e.what()) == "thrown " + std::to_string(i))
				caught++;
		} catch (...) {
		}
	}
	/* Drain what case 1 left in the pipe so it never fills. */
	char buf[4096];
	while (read(pipe_fds[0], buf, sizeof(buf)) == (ssize_t)sizeof(buf))
		;
	return caught;
}

/* ---- cancellation through a forced unwind */

namespace {

std::atomic<int> blocked_tid{0};
std::atomic<long> cancel_destroyed{0};
std::atomic<int> saw_forced_unwind{0};
std::atomic<int> returned{0};
int cancel_pipe[2];

}  // namespace

__attribute__((noinline)) void
blocked_in_read()
{
	Guard g(&cancel_destroyed);
	try {
		char c;
		blocked_tid = (int)syscall(SYS_gettid);
		ssize_t r = read(cancel_pipe[0], &c, 1);
		std::printf("read returned %zd\n", r);
	} catch (abi::__forced_unwind &) {
		saw_forced_unwind++;
		throw;
	}
}

static void *
cancel_thread(void *)
{
	Guard g(&cancel_destroyed);
	blocked_in_read();
	returned = 1;
	return nullptr;
}

static bool
shows_read(int tid)
{
	char path[64], buf[512];
	std::snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	FILE *f = std::fopen(path, "re");
	if (!f)
		return false;
	size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
	std::fclose(f);
	buf[n] = '\0';
	char *end;
	long nr = std::strtol(buf, &end, 10);
	return end != buf && nr == SYS_read && std::strtol(end, nullptr, 16) == cancel_pipe[0];
}

static int
cancel_blocked_read()
{
	if (pipe(cancel_pipe))
		return 2;
	blocked_tid = 0;
	pthread_t t;
	if (pthread_create(&t, nullptr, cancel_thread, nullptr))
		return 2;
	bool ready = false;
	for (int ms = 0; ms < 30000 && !ready; ms++) {
		int tid = blocked_tid;
		ready = tid && shows_read(tid);
		if (!ready) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, nullptr);
		}
	}
	if (!ready) {
		std::fprintf(stderr, "FAIL: the thread never showed as blocked in read\n");
		return 1;
	}
	void *res = nullptr;
	if (pthread_cancel(t) || pthread_join(t, &res))
		return 1;
	close(cancel_pipe[0]);
	close(cancel_pipe[1]);
	int ok = res == PTHREAD_CANCELED && !returned;
	ok = ok && cancel_destroyed == 2 && saw_forced_unwind == 1;
	std::printf("cancel: %s, forced unwind seen %d, destructors %ld\n",
		    res == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "not canceled",
		    saw_forced_unwind.load(), cancel_destroyed.load());
	cancel_destroyed = 0;
	saw_forced_unwind = 0;
	return ok ? 0 : 1;
}

int
main()
{
	if (pipe(pipe_fds))
		return 2;
	const int n = 2000;
	int status = 0;

	int caught = throw_many(n);
	std::printf("main thread: caught %d of %d, destructors %ld\n", caught, n, destroyed.load());
	if (caught != n || destroyed != 2L * n)
		status = 1;

	destroyed = 0;
	int caught_thread = 0;
	std::thread th([&] { caught_thread = throw_many(n); });
	th.join();
	std::printf("second thread: caught %d of %d, destructors %ld\n", caught_thread, n,
		    destroyed.load());
	if (caught_thread != n || destroyed != 2L * n)
		status = 1;

	for (int round = 0; round < 3; round++) {
		int st = cancel_blocked_read();
		if (st)
			return st;
	}
	return status;
}
