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

#endif
