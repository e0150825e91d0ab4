/*
 * late_load.c -- patches objects loaded after start-up (dlopen, and loads inside libc such as
 * NSS modules) before any of their code runs.  ld.so calls the function at _r_debug.r_brk
 * (_dl_debug_state, an empty function kept for debuggers) whenever its list of objects changes.
 * Its direct calls in ld.so are redirected to a stub that calls it (so a debugger's breakpoint
 * there still fires: gdb keeps one on it) and then ours; only where no such call is found is
 * the function itself made to jump to ours.  At RT_CONSISTENT a new object is mapped but its
 * constructors have not run and no other thread can be inside it.  It must never patch an
 * object twice, must forget an object once it is unloaded (the same file may be loaded again
 * at the same address), and must never run while ld.so's list is changing.
 */
#define _GNU_SOURCE
#include "intercept.h"
#include "discover.h"
#include "patch.h"

#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * Objects already patched (a dlclose'd address can be reused by another object: compare names
 * too).  They stay allocated for the life of the process: sites point at them for the log.
 */
static struct si_object **seen;
static size_t n_seen, seen_cap;

static bool
already_patched(const struct si_object *o)
{
	for (size_t i = 0; i < n_seen; i++)
		if (seen[i]->base == o->base && strcmp(seen[i]->path, o->path) == 0)
			return true;
	return false;
}

static void
remember(struct si_object *o)
{
	if (n_seen == seen_cap) {
		size_t cap = seen_cap ? seen_cap * 2 : 64;
		struct si_object **grown = realloc(seen, cap * sizeof(*grown));
		if (!grown)
			return;
		seen = grown;
		seen_cap = cap;
	}
	seen[n_seen++] = o;
}

size_t
si_unpatched_sites(void)
{
	size_t n = 0;
	for (size_t i = 0; i < n_seen; i++)
		n += seen[i]->n_unpatched;
	return n;
}

bool
si_address_in_patched_object(uint64_t addr)
{
	for (size_t i = 0; i < n_seen; i++)
		for (int s = 0; s < seen[i]->n_text; s++)
			if (addr >= seen[i]->text[s].start && addr < seen[i]->text[s].end)
				return true;
	return false;
}

/*
 * Whether objects are patched with other threads running.  Once the process had a second
 * thread it is taken to have one for good: the count is only read while it is 1, when no other
 * thread can start one.
 */
static bool
threads_running(void)
{
	static bool had_threads;
	if (!had_threads && si_other_threads()) {
		had_threads = true;
		if (!si_fixup_arm())
			si_write_str(2, "syscall_intercept: cannot install the SIGTRAP handler; a "
					"thread stopped inside a site while it is patched would crash\n");
	}
	return had_threads;
}

/*
 * Drops from `seen` the objects that are no longer loaded: a dlopen of the same file may map
 * it at the same address again, unpatched.  The objects stay allocated: sites of theirs that a
 * thread may still be running point at them.
 */
static void
forget_unloaded(const struct si_object *loaded, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < n_seen; i++) {
		bool present = false;
		for (size_t j = 0; j < n && !present; j++)
			present = seen[i]->base == loaded[j].base &&
				  strcmp(seen[i]->path, loaded[j].path) == 0;
		if (present)
			seen[kept++] = seen[i];
	}
	n_seen = kept;
}

void
si_patch_loaded_objects(bool all, bool fresh)
{
	struct si_object *objs;
	size_t n = si_discover(&objs, all);
	if (all)
		forget_unloaded(objs, n);
	/* Asked once: while this thread patches, no other can start (see threads_running). */
	int threads = -1;
	for (size_t i = 0; i < n; i++) {
		if (already_patched(&objs[i]))
			continue;
		struct si_object *o = malloc(sizeof(*o));
		if (!o)
			break;
		*o = objs[i];
		remember(o);
		if (threads < 0)
			threads = !fresh && threads_running();
		si_patch_object(o, threads);
	}
	free(objs);
}

/*
 * ld.so calls r_brk with RT_ADD before it maps the objects of a dlopen, and with RT_CONSISTENT
 * once they are mapped, before their constructors run.  Objects that are new at RT_CONSISTENT
 * after an RT_ADD we saw are that load's: none of their code has run, so no thread can be
 * stopped inside them, whatever other threads do.  (An object loaded by another thread before
 * the watch was set, and first seen now, is not fresh: its RT_ADD was not seen.)
 */
static void
on_link_map_change(void)
{
	static bool add_seen;
	if (_r_debug.r_state == RT_ADD) {
		add_seen = true;
		return;
	}
	if (_r_debug.r_state != RT_CONSISTENT)
		return;
	si_internal_begin();
	si_patch_loaded_objects(true, add_seen);
	add_seen = false;
	si_internal_end();
}

/*
 * r_brk must be [endbr64] ret, then unreachable padding: then a jmp rel32 fits over the ret and
 * the padding, and no instruction boundary lies inside it (another thread may be just about to
 * run the ret).  Decided on the decoded instructions, like every other patch.  Returns the
 * address of the ret, or 0.
 */
static uint64_t
ret_with_room_for_jump(uint64_t brk)
{
	struct si_code code = { .bytes = (const uint8_t *)brk, .addr = brk, .len = 16 };
	struct si_analysis a;
	if (si_analyse(&code, &brk, 1, &a) != 0)
		return 0;
	uint64_t ret = 0;
	size_t i = 0;
	if (a.n_insns > 0 && (a.insns[0].flags & SI_INSN_ENDBR))
		i++;
	if (i < a.n_insns && (a.insns[i].flags & SI_INSN_NO_FALLTHROUGH) &&
	    a.insns[i].len == 1) {
		uint64_t at = a.insns[i].addr, covered = at + 1;
		for (i++; i < a.n_insns && covered < at + 5; i++) {
			if (!(a.insns[i].flags & SI_INSN_PADDING) || (a.insns[i].flags & SI_INSN_TARGET))
				break;
			covered = a.insns[i].addr + a.insns[i].len;
		}
		if (covered >= at + 5)
			ret = at;
	}
	si_analysis_free(&a);
	return ret;
}

/*
 * A stub within rel32 reach of [lo, hi): `call brk` first when brk is not 0, then a jump to
 * on_link_map_change; mapped read-execute once written.  NULL if no memory is found.
 */
static uint8_t *
map_stub(uint64_t lo, uint64_t hi, uint64_t brk)
{
	uint8_t *stub = si_map_near(lo, hi, 4096);
	if (!stub)
		return NULL;
	size_t n = 0;
	if (brk) {
		int32_t rel = (int32_t)(brk - ((uint64_t)stub + 5));
		stub[n++] = 0xe8;
		memcpy(stub + n, &rel, 4);
		n += 4;
	}
	static const uint8_t jmp_abs[] = { 0xff, 0x25, 0, 0, 0, 0 };	/* jmp *0(%rip) */
	void (*target)(void) = on_link_map_change;
	memcpy(stub + n, jmp_abs, sizeof(jmp_abs));
	memcpy(stub + n + sizeof(jmp_abs), &target, sizeof(target));
	if (mprotect(stub, 4096, PROT_READ | PROT_EXEC) != 0) {
		munmap(stub, 4096);
		return NULL;
	}
	return stub;
}

/* A `call rel32` or `jmp rel32` (opcode) at `at` to `to`. */
static struct si_write
branch_write(uint8_t opcode, uint64_t at, uint64_t to)
{
	struct si_write w = { .addr = at, .len = 5 };
	int32_t rel = (int32_t)(to - (at + 5));
	w.bytes[0] = opcode;
	memcpy(w.bytes + 1, &rel, 4);
	return w;
}

static int
compare_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/*
 * The `call rel32` and `jmp rel32` (tail call) instructions of ld.so's text [lo, hi) that go to
 * brk: a byte scan for the encodings, each candidate confirmed by decoding its function from
 * its start (starts, sorted) and finding that instruction there.  Returns how many, at most
 * cap.  (The stub they are sent to serves both: it calls brk, then jumps to ours, which
 * returns to whoever the original call would have returned to.)
 */
static size_t
calls_of(uint64_t brk, uint64_t lo, uint64_t hi, const uint64_t *starts, size_t n_starts,
	 uint64_t *out, size_t cap)
{
	size_t n = 0;
	for (uint64_t at = lo; at + 5 <= hi && n < cap; at++) {
		const uint8_t *b = (const uint8_t *)at;
		int32_t rel;
		memcpy(&rel, b + 1, 4);
		if ((b[0] != 0xe8 && b[0] != 0xe9) || at + 5 + (uint64_t)(int64_t)rel != brk)
			continue;
		size_t k = n_starts;	/* the last function start at or before `at` */
		while (k > 0 && starts[k - 1] > at)
			k--;
		if (k == 0 || starts[k - 1] < lo)
			continue;
		uint64_t fn = starts[k - 1];
		struct si_code code = { .bytes = (const uint8_t *)fn, .addr = fn, .len = at + 5 - fn };
		struct si_analysis a;
		if (si_analyse(&code, &fn, 1, &a) != 0)
			continue;
		size_t i = si_insn_at(&a, at);
		if (i != SIZE_MAX && a.insns[i].len == 5 && (a.insns[i].flags & SI_INSN_RELATIVE))
			out[n++] = at;
		si_analysis_free(&a);
	}
	return n;
}

/* Redirects ld.so's calls of brk through a stub that calls it, then ours; false if none. */
static bool
redirect_calls(uint64_t brk)
{
	struct si_object *objs, *ld = NULL;
	size_t n = si_discover(&objs, false);
	for (size_t i = 0; i < n; i++)
		if (objs[i].is_ldso)
			ld = &objs[i];
	bool done = false;
	uint64_t *starts = NULL;
	size_t n_starts = ld ? si_read_object(ld, &starts) : 0;
	qsort(starts, n_starts, sizeof(*starts), compare_u64);
	for (int s = 0; ld && s < ld->n_text && !done; s++) {
		uint64_t lo = ld->text[s].start, hi = ld->text[s].end;
		if (brk < lo || brk >= hi)
			continue;
		uint64_t calls[32];
		size_t n_calls = calls_of(brk, lo, hi, starts, n_starts, calls, 32);
		if (n_calls == 0)
			break;
		uint8_t *stub = map_stub(lo, hi, brk);
		if (!stub)
			break;
		struct si_write w[32];
		bool placed[32];
		for (size_t k = 0; k < n_calls; k++)
			w[k] = branch_write(*(const uint8_t *)calls[k], calls[k], (uint64_t)stub);
		/* One instruction each, rewritten whole: safe with other threads running. */
		done = si_activate(w, n_calls, ld->text[s].prot, placed) == n_calls;
	}
	free(starts);
	free(objs);
	return done;
}

/* The fallback: _dl_debug_state itself jumps to ours, from its ret. */
static bool
redirect_function(uint64_t brk)
{
	uint64_t ret = ret_with_room_for_jump(brk);
	if (!ret)
		return false;
	uint8_t *stub = map_stub(ret, ret + 5, 0);
	if (!stub)
		return false;
	struct si_write w = branch_write(0xe9, ret, (uint64_t)stub);
	struct si_object *objs;
	size_t n = si_discover(&objs, false);
	bool done = false;
	for (size_t i = 0; i < n; i++)
		for (int s = 0; s < objs[i].n_text; s++)
			if (ret >= objs[i].text[s].start && ret + 5 <= objs[i].text[s].end)
				si_activate(&w, 1, objs[i].text[s].prot, &done);
	free(objs);
	return done;
}

void
si_watch_later_loads(void)
{
	uint64_t brk = _r_debug.r_brk;
	if (!brk || (!redirect_calls(brk) && !redirect_function(brk)))
		si_write_str(2, "syscall_intercept: cannot watch dlopen (unexpected _dl_debug_state, "
				"or ld.so's text could not be changed); objects loaded later are not "
				"patched\n");
}
