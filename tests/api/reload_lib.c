/*
 * reload_lib.so -- a library the reload probe dlopens again and again: reload_site() makes
 * getppid through its own inline `syscall` with a marker argument, so the answer tells whether
 * that site is patched (reload_hook.so answers the marked call) or not (the real parent pid).
 * It must never call libc's syscall wrappers.
 */
#include <sys/syscall.h>

__attribute__((visibility("default"))) long
reload_site(void)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid), "D"(0x5eedL)
			 : "rcx", "r11", "memory");
	return ret;
}
