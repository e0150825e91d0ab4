/*
 * musl_compat.h -- forced into late_load.c by the musl build (build.sh) with `_r_debug` defined
 * as (*si_musl_r_debug()); see musl_compat.c.  Never used by the glibc build.
 */
#ifndef SI_MUSL_COMPAT_H
#define SI_MUSL_COMPAT_H
#include <link.h>
struct r_debug *si_musl_r_debug(void) __attribute__((visibility("hidden")));
#define _r_debug (*si_musl_r_debug())
#endif
