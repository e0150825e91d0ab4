/*
 * intercept.h -- the interfaces between the stages of the patching pipeline (see DESIGN.md):
 * discover -> analyse -> plan -> relocate/emit -> activate, and the run-time dispatch.
 * Nothing here is exported from the library; the unit tests link the stages directly.
 */
#ifndef SI_INTERCEPT_H
#define SI_INTERCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SI_HIDDEN __attribute__((visibility("hidden")))

/* ---- analyse: decode a code region, find syscall sites and everything that limits patching */

enum si_insn_flag {
	SI_INSN_SYSCALL = 1 << 0,	/* a `syscall` instruction */
	SI_INSN_TARGET = 1 << 1,	/* something may jump here: branch target, symbol, FDE start */
	SI_INSN_RELATIVE = 1 << 2,	/* relative branch or call (target depends on its address) */
	SI_INSN_RIPREL = 1 << 3,	/* RIP-relative memory operand */
	SI_INSN_CALL = 1 << 4,		/* pushes its own address: must stay in place */
	SI_INSN_NO_FALLTHROUGH = 1 << 5, /* ret, jmp, ud2, hlt: the next byte is not reached from here */
	SI_INSN_PADDING = 1 << 6,	/* nop or int3 */
	SI_INSN_ENDBR = 1 << 7,		/* endbr64: marks an indirect-branch target */
	SI_INSN_UNMOVABLE = 1 << 8,	/* cannot be relocated (see reason in relocate.c) */
	SI_INSN_INVALID = 1 << 9,	/* bytes that do not decode (data, or a desynchronised sweep) */
};

struct si_insn {
	uint64_t addr;		/* run-time address */
	uint16_t flags;		/* enum si_insn_flag */
	uint8_t len;
};

struct si_eh_view;

/* Code to analyse: `bytes` is where it can be read now, `addr` where it runs. */
struct si_code {
	const uint8_t *bytes;
	uint64_t addr;
	size_t len;
	/*
	 * Decode only the functions that contain the bytes of a syscall, and their neighbours within
	 * rel8 reach; other code is scanned for rel32 branches into them.  The rest of the region
	 * is one SI_INSN_INVALID pseudo-instruction per gap.
	 */
	bool sparse;
	/*
	 * Or decode exactly the n_ranges ranges [ranges[2k], ranges[2k + 1]) (sorted, disjoint;
	 * NULL: not so): the windows of a plan read back from the plan cache, checked again.
	 */
	const uint64_t *ranges;
	size_t n_ranges;
	/*
	 * The unwind tables of the object holding the code, or NULL: the exception landing pads of
	 * the functions decoded become targets (the unwinder jumps there; no instruction does).
	 */
	const struct si_eh_view *eh;
};

struct si_analysis {
	struct si_code code;
	struct si_insn *insns;	/* sorted by address, covering the region */
	size_t n_insns;
	size_t *syscalls;	/* indexes into insns of the syscall instructions */
	size_t n_syscalls;
};

/*
 * Decodes `code` with Zydis.  `starts` are addresses known to begin functions (symbols, FDEs):
 * they are marked as targets and the linear sweep resynchronises there.  Returns 0, or -1 when
 * out of memory.
 */
int si_analyse(const struct si_code *code, const uint64_t *starts, size_t n_starts,
	       struct si_analysis *out);
void si_analysis_free(struct si_analysis *a);
/* Index of the instruction starting at addr, or SIZE_MAX. */
size_t si_insn_at(const struct si_analysis *a, uint64_t addr);

/* ---- plan: choose how to divert each syscall site */

enum si_patch_method {
	SI_PATCH_NONE,		/* left as it is; `reason` says why */
	SI_PATCH_JMP_WINDOW,	/* jmp rel32 over the syscall and neighbouring instructions */
	SI_PATCH_JMP_PADDING,	/* jmp rel8 at the syscall to a jmp rel32 placed in padding */
};

struct si_patch {
	uint64_t syscall_addr;
	size_t first, last;	/* instructions [first, last) are replaced (moved to the trampoline) */
	uint64_t start, end;	/* their bytes: [start, end) */
	uint64_t pad_addr;	/* SI_PATCH_JMP_PADDING: where the 5-byte jump goes */
	enum si_patch_method method;
	const char *reason;	/* SI_PATCH_NONE: a short explanation */
};

/* A window holds at most this many instructions (the syscall and 5 on each side, plan.c)... */
#define SI_MAX_WINDOW_INSNS 11
/* ...and at most this many bytes: what one struct si_write carries (activate). */
#define SI_MAX_WINDOW_LEN 32

/*
 * Plans one patch per syscall site of `a` into out[0 .. a->n_syscalls).  Every plan it makes is
 * one si_plan_valid accepts.  With `threads` (other threads may run the code while it is
 * patched) every patch is one that a thread stopped at any original instruction boundary
 * survives (see plan.c); without, a window may also start with an instruction shorter than its
 * jump.
 */
void si_plan(const struct si_analysis *a, struct si_patch *out, bool threads);
/*
 * The one rule for a plan: whether the n patches p (one per syscall site of a, in order) can be
 * emitted and activated over the code a describes, planned with `threads`.  Windows: whole
 * decoded instructions, at most SI_MAX_WINDOW_INSNS and SI_MAX_WINDOW_LEN bytes, at least the
 * 5 of their jump, holding exactly their own syscall, no jump target but at the first byte, no
 * instruction that does not fall through but the last, nothing that cannot be moved (calls,
 * undecodable bytes, an endbr64 but the first); with `threads` starting with an instruction of
 * at least 5 bytes; and no smaller window inside them would do.  Padding patches: exactly the
 * syscall, a jump within rel8 reach to 5 bytes of nop/int3 instructions that no jump targets,
 * in a run of such padding that follows an instruction that does not fall through.  No two
 * patches share a byte.  On false, *why (when why is not NULL) says what is wrong and *site
 * (when not NULL) which patch (SIZE_MAX: the plan as a whole).  The planner's plans always
 * pass (checked after si_plan in debug builds); the plan cache drops a plan it reads back
 * that does not.
 */
bool si_plan_valid(const struct si_analysis *a, const struct si_patch *p, size_t n, bool threads,
		   const char **why, size_t *site);
const char *si_patch_method_name(enum si_patch_method m);

/* ---- relocate: move one instruction to another address */

#define SI_MAX_RELOCATED_LEN 16
/*
 * Writes instruction `index` of `a`, re-encoded to run at new_addr with the same effect, to out
 * (at least SI_MAX_RELOCATED_LEN bytes).  Returns its length, or -1 when it cannot be moved
 * there (a relative operand out of reach, or an instruction that must stay in place).
 */
int si_relocate(const struct si_analysis *a, size_t index, uint64_t new_addr, uint8_t *out);
/* Whether instruction `index` can be moved at all (ignoring distance). */
bool si_relocatable(const struct si_analysis *a, size_t index);

/* ---- emit: build trampolines and the jumps into them */

/* What the entry code needs to know about a site; lives in the read-only trampoline area. */
struct si_site {
	uint64_t resume;	/* trampoline address where execution continues after the syscall */
	uint64_t after_call;	/* trampoline address the entry returns to (it restores RSP) */
	uint64_t return_addr;	/* original address right after the syscall (RCX as the kernel sets it) */
	uint64_t syscall_addr;	/* the original site, for logs */
	const struct si_object *object;	/* NULL for sites caught by the safety net */
	uint64_t flags;		/* SI_SITE_* */
	uint64_t vfork_stub;	/* `syscall` then the vfork-post entry, for SI_ACTION_VFORK */
	uint64_t syscall_stub;	/* `syscall` then back to resume, for SI_ACTION_SYSCALL; or 0 */
};
#define SI_SITE_NO_HOOK 1	/* caught outside the patched objects: run, but hooks don't see it */
/*
 * Where a vfork stub's call of the vfork-post entry returns: vfork_stub + 20 (syscall, lea,
 * lea, call; emit.c and the safety net's catch trampolines lay it out alike).
 */
#define SI_VFORK_STUB_CALL_END 20

#define SI_MAX_TRAMPOLINE_LEN 320
/*
 * Builds the trampoline for `p` at out_addr into out (SI_MAX_TRAMPOLINE_LEN bytes), including its
 * struct si_site (8-byte aligned, after the code).  entry_slot is the address of two words: the
 * entry code's address and its vfork-post entry's.  Returns the length used, or 0 when some
 * instruction cannot be relocated there.  moved_to, when not NULL, receives for each instruction
 * first + k of the window the trampoline address that does what it did (the syscall's: the call
 * into the entry), where fixup.c sends a thread that was stopped at it.
 */
size_t si_emit_trampoline(const struct si_analysis *a, const struct si_patch *p,
			  const struct si_object *obj, uint64_t entry_slot,
			  uint8_t *out, uint64_t out_addr, uint64_t *moved_to);
/* The bytes that go over [p->start, p->end) (and, for padding patches, the 5 at p->pad_addr). */
void si_emit_window(const struct si_patch *p, uint64_t trampoline, uint8_t *window, uint8_t pad[5]);

/* ---- activate: write code into place (activate.c states the protocol) */

struct si_write {
	uint64_t addr;
	uint8_t len;
	uint8_t bytes[SI_MAX_WINDOW_LEN];	/* a window's bytes: the longest write there is */
};
/*
 * Puts the writes into text whose protection is `prot`, safely while other threads run it:
 * each run of adjacent pages they touch is rebuilt in a private copy and swapped in whole.
 * done[k] tells whether w[k] is in place (all writes on the same pages succeed or fail
 * together; a failed run leaves the text as it was).  Returns how many are.
 */
size_t si_activate(const struct si_write *w, size_t n, int prot, bool *done);
/* The kernel's struct sigaction (rt_sigaction with a sigsetsize of 8). */
struct si_ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};
#define SI_SA_RESTORER 0x04000000
/* entry.S: rt_sigreturn, the restorer of the library's own signal handlers. */
void si_sigreturn_restorer(void);

/* ---- fixup: threads stopped inside a patch when it went into place (fixup.c) */

/* An original instruction boundary inside a window, now int3, and where its work went. */
struct si_fixup {
	uint64_t from, to;
};
/* Publishes fixups (copied), before the patches they describe go into place. */
bool si_fixup_add(const struct si_fixup *f, size_t n);
/*
 * Installs the SIGTRAP handler that applies them, once; false if it cannot.  From then on the
 * program's own SIGTRAP action is kept by the library (si_fixup_filter).
 */
bool si_fixup_arm(void);
/* rt_sigaction(SIGTRAP) once armed: answered from the program's view; 1 when it answered. */
int si_fixup_filter(long nr, const long *args, long *result);
/* Whether the process may have another thread than the caller (true when it cannot tell). */
bool si_other_threads(void);

/* Maps `size` bytes read-write within rel32 reach of every address in [lo, hi); NULL if none. */
void *si_map_near(uint64_t lo, uint64_t hi, size_t size);

#define SI_MAX_SEGMENTS 16

/* ---- landing pads: where the unwinder jumps (landing.c) */

/*
 * Where an object's unwind tables can be read: its .eh_frame_hdr, and the mapped ranges
 * [start, end) of run-time addresses (readable now at `bytes`) that every read must stay in.
 */
struct si_eh_view {
	uint64_t eh_frame_hdr;	/* run-time address, or 0 */
	struct {
		uint64_t start, end;
		const uint8_t *bytes;
	} seg[SI_MAX_SEGMENTS];
	int n_seg;
};
/*
 * Calls add(ctx, pad) for every landing pad named by the LSDAs of the FDEs of functions that
 * start in [lo, hi), or start before lo and may cover it.  Returns how many (a pad may repeat).
 * Never fails: unwind data that cannot be read, or is in an unknown form, gives fewer pads.
 */
size_t si_landing_pads(const struct si_eh_view *v, uint64_t lo, uint64_t hi,
		       void (*add)(void *ctx, uint64_t pad), void *ctx);
/*
 * Whether the FDE listed for the function at loc is a signal frame's (its CIE has 'S').  Such
 * FDEs start one byte before the code they describe (so that an unwinder's pc - 1 lookup from
 * the signal trampoline finds them): loc is then no instruction start.
 */
bool si_signal_frame_at(const struct si_eh_view *v, uint64_t loc);

/* ---- discover: the loaded objects to patch */

struct si_object {
	char path[512];
	uint64_t base;		/* load bias */
	struct {
		uint64_t start, end;	/* executable sections (segments if the file has none) */
		int prot;		/* of the segment holding them */
	} text[SI_MAX_SEGMENTS];
	int n_text;
	uint64_t eh_frame_hdr;	/* run-time address of .eh_frame_hdr, or 0 */
	struct si_eh_view eh;	/* the same, with the readable segments (for landing pads) */
	bool is_libc, is_ldso;
	uint8_t build_id[32];	/* NT_GNU_BUILD_ID, for the plan cache; build_id_len 0: none */
	uint8_t build_id_len;
	/* results, for INTERCEPT_DEBUG_DUMP */
	size_t n_sites, n_window, n_padding, n_unpatched;
};

/* ---- run time */

/* The hooks (public) */
extern int (*intercept_hook_point)(long, long, long, long, long, long, long, long *);
extern void (*intercept_hook_point_clone_child)(void);
extern void (*intercept_hook_point_clone_parent)(long);
extern void (*intercept_hook_point_post_kernel)(long, long, long, long, long, long, long, long);

/* Whether this thread is the child of a vfork-like call, still sharing its parent's memory. */
bool si_in_vfork_child(void);

/* A raw syscall from inside the library (entry.S); never intercepted.  (Not "si_syscall":
 * <signal.h> defines that name for a siginfo field.) */
long si_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
#define si_sys(nr, ...) si_sys_n(nr, ##__VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define si_sys_n(nr, a, b, c, d, e, f, ...) \
	si_syscall6((nr), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* util.c: output without stdio (usable anywhere, including in a hook's context) */
void si_write_str(int fd, const char *s);
/* All of buf[0..len), again after a short write or EINTR; gives up on an error. */
void si_write_all(int fd, const char *buf, size_t len);
void si_fatal(const char *msg) __attribute__((noreturn));
/* A tiny formatter: %s %d %ld %lu %lx %zu %p only. */
int si_snprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void si_dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * util.c: the INTERCEPT_* variables, read only through these (from the constructor).
 *
 * Secure mode: the process is AT_SECURE (set-user-ID, set-group-ID, file capabilities).  The
 * constructor sets it first and removes every INTERCEPT_* variable from environ; si_env then
 * answers NULL (unset) for every name.
 */
extern bool si_secure_mode;
/* getenv(name), or NULL in secure mode. */
const char *si_env(const char *name);
/*
 * The boolean and level rule of libsyscall_intercept(3), for a value v: NULL (unset) gives
 * if_unset; "" gives 0; an optional '+' or '-' and decimal digits, nothing else (no blanks),
 * give that number, 0 when it is negative and SI_LEVEL_MAX when it is larger; any other text
 * gives 1.  A boolean is on when its level is above 0.
 */
#define SI_LEVEL_MAX 9
int si_parse_level(const char *v, int if_unset);
/* si_parse_level(si_env(name), if_unset). */
int si_env_level(const char *name, int if_unset);

#endif
