/*
 * plan_cache.h -- INTERCEPT_PLAN_CACHE: plans of patched segments kept across processes
 * (plan_cache.c).
 */
#ifndef SI_PLAN_CACHE_H
#define SI_PLAN_CACHE_H

#include "intercept.h"

/* Reads INTERCEPT_PLAN_CACHE once, at init (may use libc). */
void si_plan_cache_init(void);
/*
 * For the code segment seg of o, whose functions start at `starts`: the analysis of the code
 * its plan touches and the plan (malloc'ed, a->n_syscalls entries) from the cache, made with
 * `threads` and passing si_plan_valid; false when there is none to use.
 */
bool si_plan_cache_load(const struct si_object *o, const struct si_code *seg,
			const uint64_t *starts, size_t n_starts, struct si_analysis *a,
			struct si_patch **plan, bool threads);
/*
 * Keeps the plan p of the full analysis a of [seg_start, seg_end) of o, made with `threads`,
 * for later processes.
 */
void si_plan_cache_store(const struct si_object *o, uint64_t seg_start, uint64_t seg_end,
			 const struct si_analysis *a, const struct si_patch *p, bool threads);

#endif
