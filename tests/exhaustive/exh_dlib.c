/*
 * exh_dlib.c -- a library that exh_sites loads with dlopen after start-up.  It makes getppid
 * with its own inline `syscall` instruction (not through libc): once from its constructor, so
 * the hook can only see that call if the library was patched before any of its code ran, and
 * then from exh_dlib_getppid whenever called.  It has exactly one syscall site and must never
 * call libc's syscall wrappers.
 */
#include <sys/syscall.h>

__attribute__((noinline, visibility("default"))) long
exh_dlib_getppid(void)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
	return ret;
}

__attribute__((visibility("default"))) long exh_dlib_ctor_result;

__attribute__((constructor)) static void
at_load(void)
{
	exh_dlib_ctor_result = exh_dlib_getppid();
}
