/*
 * discover.h -- the objects to patch and the function starts within them (discover.c).
 */
#ifndef SI_DISCOVER_H
#define SI_DISCOVER_H

#include "intercept.h"

/* The loaded objects to patch (libc and ld.so, or all but this library and Zydis). malloc'ed. */
size_t si_discover(struct si_object **out, bool all_objects);
/*
 * Reads what the loaded image does not tell: addresses known to start functions in o
 * (unsorted, may repeat; malloc'ed), and, from the section headers, which parts of the
 * executable segments are code (o->text is narrowed to them).
 */
size_t si_read_object(struct si_object *o, uint64_t **out);

/*
 * The binary-search table of o's .eh_frame_hdr: count pairs (initial location, FDE address),
 * each relative to the .eh_frame_hdr start and sorted by location; NULL if none or unknown.
 */
const int32_t *si_eh_frame_table(const struct si_object *o, uint32_t *count);

/* The GNU build id in the notes [notes, notes + len) of a loaded object, into o->build_id. */
void si_read_build_id(struct si_object *o, const void *notes, size_t len);

#endif
