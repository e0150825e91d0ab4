/*
 * safety_net.c -- catches syscalls made from code we did not patch, with Syscall User Dispatch
 * (Linux >= 5.11): every syscall from outside this library's own text raises SIGSYS.  The
 * handler does not run the hook itself (a signal handler is the wrong place for user code); it
 * redirects the thread to a "catch trampoline" made for that site, which enters entry.S exactly
 * as a patched site would, and then jumps back after the syscall instruction.  So clone, vfork,
 * rt_sigreturn and the hooks behave as at a patched site; only the first trip costs a signal per
 * call.  The application's own SIGSYS handling is virtualised: its handler and masks are kept
 * by us so the kernel's SIGSYS always reaches ours.  It must never block SIGSYS in the kernel
 * and never make a syscall from outside our text.
 */
#define _GNU_SOURCE
#include "intercept.h"
#include "patch.h"

#include <link.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441	/* Linux 5.11; older headers lack it */
#endif
#define PR_SET_SYSCALL_USER_DISPATCH_ 59
#define PR_SYS_DISPATCH_ON_ 1
#define SELECTOR_BLOCK 1
#define SYS_USER_DISPATCH_ 2	/* si_code of a dispatch SIGSYS */
#define SIGSYS_BIT (1ull << (SIGSYS - 1))

int si_safety_net_armed;
static bool exhaustive;
/*
 * Per thread, and "block" except for the one syscall a vfork stub makes from a trampoline
 * (entry.S sets "allow" just before it; si_dispatch_vfork_post blocks again): every other
 * syscall of ours comes from our own text, which the range allows.
 */
__thread volatile char si_sud_selector SI_HIDDEN = SELECTOR_BLOCK;
static uint64_t allowed_start, allowed_end;

/* The application's SIGSYS disposition, as it believes it installed it. */
static struct si_ksigaction app_sigsys;
/* Per thread: does the application believe SIGSYS is blocked, and is one pending for it? */
static __thread bool app_blocks_sigsys, app_sigsys_pending;
/* Signals whose handler's sa_mask had SIGSYS, which we removed: reported back as set. */
static _Atomic uint64_t stripped_from_mask;


/* ---- catch trampolines: made once per site, looked up from the signal handler */

#define CATCH_SIZE 160
#define TABLE_SIZE 65536	/* sites; a power of two */
#define POOL_SIZE (TABLE_SIZE * CATCH_SIZE / 4)

struct catch_entry {
	_Atomic uint64_t site_addr;
	uint8_t *code;
};
static struct catch_entry *table;
static uint8_t *pool_rw, *pool_rx;	/* the same memory, mapped twice: never W+X */
static size_t pool_used;
static atomic_flag pool_lock = ATOMIC_FLAG_INIT;
static void (**entry_fns)(void);	/* the entry and its vfork-post entry */

/* Is addr in a patched object's text?  Then the hook sees its syscalls even in normal mode. */
static bool
in_covered_object(uint64_t addr)
{
	return si_address_in_patched_object(addr);
}

static uint8_t *
make_catch_trampoline(uint64_t syscall_addr)
{
	if (pool_used + CATCH_SIZE > POOL_SIZE)
		return NULL;
	uint8_t *rw = pool_rw + pool_used, *rx = pool_rx + pool_used;
	pool_used += CATCH_SIZE;
	/*
	 * Like emit.c's trampolines, with nothing relocated and no syscall stub (the safety net,
	 * once armed, needs every syscall back in C): code 0..53, struct si_site at 64, the entry at
	 * 128, the vfork-post entry at 136, the return address at 144.
	 */
	static const uint8_t code[] = {
		0x48, 0x8d, 0x64, 0x24, 0x80,			/* 0: lea -128(%rsp), %rsp */
		0x4c, 0x8d, 0x1d, 52, 0, 0, 0,			/* 5: lea site(%rip), %r11 */
		0xff, 0x15, 110, 0, 0, 0,			/* 12: call *entry(%rip) */
		0x48, 0x8d, 0xa4, 0x24, 0x80, 0, 0, 0,		/* 18: lea 128(%rsp), %rsp */
		0xff, 0x25, 112, 0, 0, 0,			/* 26: jmp *return(%rip) */
		0x0f, 0x05,					/* 32: syscall (vfork stub) */
		0x48, 0x8d, 0x64, 0x24, 0x80,			/* 34: lea -128(%rsp), %rsp */
		0x4c, 0x8d, 0x1d, 18, 0, 0, 0,			/* 39: lea site(%rip), %r11 */
		0xff, 0x15, 84, 0, 0, 0,			/* 46: call *vfork_post(%rip) */
		0xeb, 0xdc,					/* 52: jmp 18 */
	};
	__builtin_memset(rw, 0xcc, CATCH_SIZE);
	__builtin_memcpy(rw, code, sizeof(code));
	struct si_site site = {
		.resume = (uint64_t)rx + 26,
		.after_call = (uint64_t)rx + 18,
		.return_addr = syscall_addr + 2,
		.syscall_addr = syscall_addr,
		.object = NULL,
		.flags = (exhaustive || in_covered_object(syscall_addr)) ? 0 : SI_SITE_NO_HOOK,
		.vfork_stub = (uint64_t)rx + 32,
	};
	_Static_assert(64 + sizeof(site) <= 128 && 152 <= CATCH_SIZE, "catch trampoline layout");
	__builtin_memcpy(rw + 64, &site, sizeof(site));
	__builtin_memcpy(rw + 128, entry_fns, 16);
	uint64_t ret = syscall_addr + 2;
	__builtin_memcpy(rw + 144, &ret, 8);
	return rx;
}

static uint8_t *
catch_trampoline(uint64_t syscall_addr)
{
	size_t mask = TABLE_SIZE - 1, h = (syscall_addr * 0x9e3779b97f4a7c15ull) >> 48;
	for (size_t probe = 0; probe < TABLE_SIZE; probe++) {
		struct catch_entry *e = &table[(h + probe) & mask];
		uint64_t a = atomic_load_explicit(&e->site_addr, memory_order_acquire);
		if (a == syscall_addr)
			return e->code;
		if (a != 0)
			continue;
		/* Free slot: create under the lock (all signals are blocked in the handler). */
		while (atomic_flag_test_and_set_explicit(&pool_lock, memory_order_acquire))
			__builtin_ia32_pause();
		a = atomic_load_explicit(&e->site_addr, memory_order_acquire);
		uint8_t *code = NULL;
		if (a == 0) {
			code = make_catch_trampoline(syscall_addr);
			if (code && si_debug_level >= 2)
				si_dprintf(2, "syscall_intercept: caught %p: first syscall from there, "
					   "now routed through the safety net\n", (void *)syscall_addr);
			if (code) {
				e->code = code;
				atomic_store_explicit(&e->site_addr, syscall_addr, memory_order_release);
			}
		}
		atomic_flag_clear_explicit(&pool_lock, memory_order_release);
		if (a == 0)
			return code;
		if (a == syscall_addr)
			return e->code;
	}
	return NULL;
}

/* ---- the SIGSYS handler */

static void
forward_to_application(int sig, siginfo_t *si, ucontext_t *uc)
{
	void *h = app_sigsys.handler;
	if (h == SIG_IGN)
		return;
	if (app_blocks_sigsys) {	/* stays pending until the application unblocks it */
		app_sigsys_pending = true;
		return;
	}
	if (h == SIG_DFL) {
		/* Die of SIGSYS as the application would have. */
		struct si_ksigaction dfl = { .handler = SIG_DFL };
		si_sys(SYS_rt_sigaction, SIGSYS, &dfl, NULL, 8);
		uint64_t unblock = SIGSYS_BIT;
		si_sys(SYS_rt_sigprocmask, SIG_UNBLOCK, &unblock, NULL, 8);
		long pid = si_sys(SYS_getpid), tid = si_sys(SYS_gettid);
		si_sys(SYS_tgkill, pid, tid, SIGSYS);
		return;
	}
	/*
	 * Run the application's handler with the mask it asked for, as the kernel would have; but
	 * SIGSYS itself stays deliverable (blocked only in the application's view) so the safety
	 * net keeps working inside the handler.
	 */
	unsigned long flags = app_sigsys.flags;
	uint64_t mask;
	__builtin_memcpy(&mask, &uc->uc_sigmask, 8);
	mask |= app_sigsys.mask;
	mask &= ~SIGSYS_BIT;
	if (flags & SA_RESETHAND)
		app_sigsys.handler = SIG_DFL;
	bool was_blocked = app_blocks_sigsys;
	app_blocks_sigsys = !(flags & SA_NODEFER);
	si_sys(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8);
	if (flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))h)(sig, si, uc);
	else
		((void (*)(int))h)(sig);
	app_blocks_sigsys = was_blocked;
	/* rt_sigreturn restores the mask of uc (which never has SIGSYS: we keep it out). */
}

static void
on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	if (si->si_code != SYS_USER_DISPATCH_) {
		forward_to_application(sig, si, uc);
		return;
	}
	greg_t *g = uc->uc_mcontext.gregs;
	uint64_t after = (uint64_t)g[REG_RIP];
	uint8_t *tramp = catch_trampoline(after - 2);
	if (!tramp)
		si_fatal("safety net: no room for another catch trampoline");
	g[REG_RIP] = (greg_t)tramp;
	g[REG_RAX] = si->si_syscall;
}

/* ---- arming */

static int
find_own_text(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	uint64_t me = (uint64_t)&find_own_text;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && me >= s && me < e) {
			allowed_start = s;
			allowed_end = e;
			return 1;
		}
	}
	return 0;
}

static long
arm_this_thread(void)
{
	return si_sys(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH_, PR_SYS_DISPATCH_ON_,
			  allowed_start, allowed_end - allowed_start, &si_sud_selector);
}

void
si_safety_net_thread_start(void)
{
	if (si_safety_net_armed)
		arm_this_thread();
}

void
si_safety_net_init(bool want_exhaustive)
{
	if (!want_exhaustive && si_unpatched_sites() == 0)
		return;
	exhaustive = want_exhaustive;
	entry_fns = si_entry_functions();
	dl_iterate_phdr(find_own_text, NULL);
	if (!allowed_start)
		return;

	/* The pool: one memfd, mapped read-write for us and read-execute for the code. */
	int fd = (int)si_sys(SYS_memfd_create, "syscall_intercept-catch", MFD_CLOEXEC);
	if (fd < 0 || si_sys(SYS_ftruncate, fd, POOL_SIZE) != 0)
		goto fail;
	pool_rw = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	pool_rx = mmap(NULL, POOL_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	si_sys(SYS_close, fd);
	table = mmap(NULL, TABLE_SIZE * sizeof(*table), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pool_rw == MAP_FAILED || pool_rx == MAP_FAILED || table == MAP_FAILED)
		goto fail;

	struct si_ksigaction act = {
		.handler = (void *)on_sigsys,
		.flags = SA_SIGINFO | SI_SA_RESTORER | SA_RESTART,
		.restorer = (void *)si_sigreturn_restorer,
		.mask = ~0ull,
	};
	if (si_sys(SYS_rt_sigaction, SIGSYS, &act, &app_sigsys, 8) != 0)
		goto fail;
	if (arm_this_thread() != 0) {
		si_sys(SYS_rt_sigaction, SIGSYS, &app_sigsys, NULL, 8);
		if (exhaustive)
			si_write_str(2, "syscall_intercept: INTERCEPT_EXHAUSTIVE needs Syscall User "
					"Dispatch (Linux 5.11 or later); running in normal mode\n");
		return;
	}
	si_safety_net_armed = 1;
	if (si_debug_level >= 1)
		si_dprintf(2, "syscall_intercept: safety net armed (Syscall User Dispatch): %s%s\n",
			   exhaustive ? "every syscall from unpatched code reaches the hooks"
				      : "the unpatched sites above reach the hooks",
			   si_other_threads() ? ", from this thread and the threads started from "
						"now on (not from threads already running)" : "");
	return;
fail:
	si_write_str(2, "syscall_intercept: cannot set up the safety net; running without it\n");
}

/* ---- keeping SIGSYS deliverable: the signal syscalls see the application's view */

static void
strip_sigsys(const void *mask_in, uint64_t *copy, long *arg)
{
	if (!mask_in)
		return;
	__builtin_memcpy(copy, mask_in, 8);
	if (*copy & SIGSYS_BIT) {
		*copy &= ~SIGSYS_BIT;
		*arg = (long)copy;
	}
}

int
si_safety_net_filter(long nr, long *a, long *result)
{
	long k[6];
	uint64_t copy;
	struct si_ksigaction act;
	__builtin_memcpy(k, a, sizeof(k));
	switch (nr) {
	case SYS_rt_sigaction: {
		if (a[0] == SIGSYS) {
			if (a[3] != 8) {
				*result = -22;	/* EINVAL, as the kernel */
				return 1;
			}
			struct si_ksigaction old = app_sigsys;
			if (a[1])
				__builtin_memcpy(&app_sigsys, (const void *)a[1], sizeof(app_sigsys));
			if (a[2])
				__builtin_memcpy((void *)a[2], &old, sizeof(old));
			*result = 0;
			return 1;
		}
		uint64_t bit = a[0] > 0 && a[0] <= 64 ? 1ull << (a[0] - 1) : 0;
		bool was_stripped = (atomic_load(&stripped_from_mask) & bit) != 0;
		if (a[1]) {
			__builtin_memcpy(&act, (const void *)a[1], sizeof(act));
			if (act.mask & SIGSYS_BIT) {
				act.mask &= ~SIGSYS_BIT;
				k[1] = (long)&act;
			}
		}
		*result = si_syscall6(nr, k[0], k[1], k[2], k[3], k[4], k[5]);
		if (*result != 0)
			return 1;
		if (a[2] && was_stripped)
			((struct si_ksigaction *)a[2])->mask |= SIGSYS_BIT;
		if (a[1]) {
			if (k[1] != a[1])
				atomic_fetch_or(&stripped_from_mask, bit);
			else
				atomic_fetch_and(&stripped_from_mask, ~bit);
		}
		return 1;
	}
	case SYS_rt_sigpending:
		*result = si_syscall6(nr, k[0], k[1], k[2], k[3], k[4], k[5]);
		if (*result == 0 && a[0] && app_sigsys_pending)
			*(uint64_t *)a[0] |= SIGSYS_BIT;
		return 1;
	case SYS_rt_sigprocmask: {
		bool before = app_blocks_sigsys;
		if (a[1]) {
			uint64_t set;
			__builtin_memcpy(&set, (const void *)a[1], 8);
			bool has = (set & SIGSYS_BIT) != 0;
			if (a[0] == SIG_BLOCK && has)
				app_blocks_sigsys = true;
			else if (a[0] == SIG_UNBLOCK && has)
				app_blocks_sigsys = false;
			else if (a[0] == SIG_SETMASK)
				app_blocks_sigsys = has;
			strip_sigsys((const void *)a[1], &copy, &k[1]);
		}
		*result = si_syscall6(nr, k[0], k[1], k[2], k[3], k[4], k[5]);
		if (*result != 0)
			app_blocks_sigsys = before;
		else if (a[2] && before)
			*(uint64_t *)a[2] |= SIGSYS_BIT;
		if (!app_blocks_sigsys && app_sigsys_pending) {
			/* Unblocked with one pending: deliver it now, as the kernel would. */
			app_sigsys_pending = false;
			long pid = si_sys(SYS_getpid), tid = si_sys(SYS_gettid);
			si_sys(SYS_tgkill, pid, tid, SIGSYS);
		}
		return 1;
	}
	case SYS_rt_sigsuspend:
		strip_sigsys((const void *)a[0], &copy, &k[0]);
		break;
	case SYS_ppoll:
		strip_sigsys((const void *)a[3], &copy, &k[3]);
		break;
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
		strip_sigsys((const void *)a[4], &copy, &k[4]);
		break;
	case SYS_pselect6: {
		/* The sixth argument points to { const sigset_t *ss; size_t ss_len; }. */
		struct { const void *ss; size_t len; } *p = (void *)a[5], mine;
		if (!p || !p->ss)
			return 0;
		mine = *p;
		strip_sigsys(p->ss, &copy, (long *)&mine.ss);
		k[5] = (long)&mine;
		*result = si_syscall6(nr, k[0], k[1], k[2], k[3], k[4], k[5]);
		return 1;
	}
	default:
		return 0;
	}
	*result = si_syscall6(nr, k[0], k[1], k[2], k[3], k[4], k[5]);
	return 1;
}
