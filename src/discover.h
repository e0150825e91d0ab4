/*
 * discover.h -- the objects to patch and the function starts within them (discover.c).
 */
#ifndef SI_DISCOVER_H
#define SI_DISCOVER_H

#include "intercept.h"

/* The loaded objects to patch (libc and ld.so, or all but this library and Zydis). malloc'ed. */
size_t si_discover(struct si_object **out, bool all_objects);
/* Addresses known to start functions in o (unsorted, may repeat). malloc'ed. */
size_t si_function_starts(const struct si_object *o, uint64_t **out);

/*
 * The binary-search table of o's .eh_frame_hdr: count pairs (initial location, FDE address),
 * each relative to the .eh_frame_hdr start and sorted by location; NULL if none or unknown.
 */
const int32_t *si_eh_frame_table(const struct si_object *o, uint32_t *count);

#endif
