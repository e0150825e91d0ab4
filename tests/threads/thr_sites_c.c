/*
 * thr_sites_c<k>.so -- the modules the ALL_OBJS scenarios dlopen while threads run; built once
 * per k (THR_C_ID) so that each is an object of its own with its own inline `syscall` sites
 * (thr_sites.h).  Under INTERCEPT_ALL_OBJS the library must patch each before dlopen returns.
 * It must never call libc's syscall wrappers and never run code from a constructor.
 */
#include <sys/syscall.h>
#include "thr_sites.h"

#define EXPORT __attribute__((visibility("default"), noinline))

EXPORT long
thr_c_write(int fd, const void *buf, long len)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"((long)SYS_write), "D"((long)fd), "S"(buf), "d"(len)
			 : "rcx", "r11", "memory");
	return ret;
}

EXPORT long
thr_c_getppid(void)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
	return ret;
}

EXPORT int
thr_c_id(void)
{
	return THR_C_ID;
}
