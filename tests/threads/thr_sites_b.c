/*
 * libthr_sites_b.so -- a library the ALL_OBJS scenarios' program is linked with: threads call
 * its write, read and getppid, each its own inline `syscall` site (thr_sites.h), while the
 * library patches objects.  It must never call libc's syscall wrappers.
 */
#include <sys/syscall.h>
#include "thr_sites.h"

#define EXPORT __attribute__((visibility("default"), noinline))

EXPORT long
thr_b_write(int fd, const void *buf, long len)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"((long)SYS_write), "D"((long)fd), "S"(buf), "d"(len)
			 : "rcx", "r11", "memory");
	return ret;
}

EXPORT long
thr_b_read(int fd, void *buf, long len)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(len)
			 : "rcx", "r11", "memory");
	return ret;
}

EXPORT long
thr_b_getppid(void)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
	return ret;
}
