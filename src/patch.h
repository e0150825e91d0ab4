/*
 * patch.h -- patching whole objects (init.c), objects loaded later (late_load.c), and the
 * Syscall User Dispatch safety net for what could not be patched (safety_net.c).
 */
#ifndef SI_PATCH_H
#define SI_PATCH_H

#include "intercept.h"

/*
 * Runs the pipeline over one object; fills in its statistics.  threads: other threads may run
 * its code meanwhile (fixup.c's handler must then be armed).
 */
void si_patch_object(struct si_object *o, bool threads);

/* INTERCEPT_DEBUG_DUMP level. */
extern int si_debug_level;
/*
 * Picks the entry code for this CPU's vector state; before any patching.  no_vectors: the
 * hook promised not to touch vector/x87 state (INTERCEPT_NO_VECTOR_SAVE), save none.
 */
void si_choose_entry(bool no_vectors);
/* The entry code chosen for this CPU (entry.S): the entry and its vfork-post entry. */
void (**si_entry_functions(void))(void);
/* Sites left unpatched so far in all patched objects. */
size_t si_unpatched_sites(void);
/* Does addr lie in the text of an object we patched? */
bool si_address_in_patched_object(uint64_t addr);

/*
 * Patches every loaded object that is not patched yet (libc and ld.so, or all with `all`).
 * fresh: those objects were all just mapped by ld.so and none of their code has run yet.
 */
void si_patch_loaded_objects(bool all, bool fresh);
/* Makes ld.so tell us about every object it loads from now on (via r_debug's r_brk). */
void si_watch_later_loads(void);

/*
 * The safety net.  With `exhaustive` every syscall from anywhere outside this library is caught;
 * otherwise it is armed only when some site of a patched object was left unpatched.
 */
void si_safety_net_init(bool exhaustive);
/* Re-arms the net in a new thread or a forked child (the kernel does not inherit it). */
void si_safety_net_thread_start(void);
/* Filters signal-related syscalls so the net's SIGSYS stays deliverable; 1 if it answered. */
int si_safety_net_filter(long nr, long *args, long *result);
extern int si_safety_net_armed;
/* Whether fixup.c's SIGTRAP handler is installed (rt_sigaction then goes to si_fixup_filter). */
extern int si_fixup_armed;
/* The thread's Syscall User Dispatch selector byte (1: block). */
extern __thread volatile char si_sud_selector;

/* Brackets the library's own work: syscalls in between reach no hook and no log. */
void si_internal_begin(void);
void si_internal_end(void);

#endif
