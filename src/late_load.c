/*
 * late_load.c -- patches objects loaded after start-up (dlopen, and loads inside libc such as
 * NSS modules) before any of their code runs.  ld.so calls the function at _r_debug.r_brk
 * (_dl_debug_state, an empty function kept for debuggers) whenever its list of objects changes;
 * we redirect that function to ours.  At RT_CONSISTENT a new object is mapped but its
 * constructors have not run and no other thread can be inside it, so its text may be written
 * directly.  It must never patch an object twice and never run while ld.so's list is changing.
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

void
si_patch_loaded_objects(bool all, bool fresh)
{
	struct si_object *objs;
	size_t n = si_discover(&objs, all);
	bool threads = false;
	for (size_t i = 0; i < n; i++) {
		if (already_patched(&objs[i]))
			continue;
		struct si_object *o = malloc(sizeof(*o));
		if (!o)
			break;
		*o = objs[i];
		remember(o);
		threads = threads || (!fresh && threads_running());
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

void
si_watch_later_loads(void)
{
	uint64_t brk = _r_debug.r_brk;
	uint64_t ret = brk ? ret_with_room_for_jump(brk) : 0;
	if (!ret) {
		si_write_str(2, "syscall_intercept: cannot watch dlopen (unexpected _dl_debug_state); "
				"objects loaded later are not patched\n");
		return;
	}
	/* A stub within rel32 reach of ld.so: jmp *0(%rip); .quad on_link_map_change */
	uint8_t *stub = si_map_near(ret, ret + 5, 4096);
	if (!stub)
		return;
	static const uint8_t jmp_abs[] = { 0xff, 0x25, 0, 0, 0, 0 };
	memcpy(stub, jmp_abs, sizeof(jmp_abs));
	void (*target)(void) = on_link_map_change;
	memcpy(stub + sizeof(jmp_abs), &target, sizeof(target));
	if (mprotect(stub, 4096, PROT_READ | PROT_EXEC) != 0)
		return;
	struct si_write w = { .addr = ret, .len = 5 };
	int32_t rel = (int32_t)((uint64_t)stub - (ret + 5));
	w.bytes[0] = 0xe9;
	memcpy(w.bytes + 1, &rel, 4);
	/* ld.so's text: find the segment containing r_brk for its protection. */
	struct si_object *objs;
	size_t n = si_discover(&objs, true);
	bool done = false;
	for (size_t i = 0; i < n; i++)
		for (int s = 0; s < objs[i].n_text; s++)
			if (ret >= objs[i].text[s].start && ret + 5 <= objs[i].text[s].end)
				si_activate(&w, 1, objs[i].text[s].prot, &done);
	free(objs);
	if (!done)
		si_write_str(2, "syscall_intercept: cannot watch dlopen (ld.so's text could not be "
				"changed); objects loaded later are not patched\n");
}
