/* log_stub.c -- INTERCEPT_LOG disabled: stands in until the logger lands.  Does nothing. */
#include "log.h"
int si_log_fd = -1;
void si_log_init(void) {}
void si_log_after_fork(void) {}
void si_log_syscall(const struct si_site *s, long nr, const long a[6], long r, bool h)
{ (void)s; (void)nr; (void)a; (void)r; (void)h; }
