/*
 * dbg_throw_prog.cpp -- calls getppid inside a try block (the hook throws on the first call),
 * then again.  Prints what happened; it must never throw itself.
 */
#include <cstdio>
#include <stdexcept>
#include <unistd.h>

int
main()
{
	try {
		getppid();
		std::puts("no exception");
	} catch (const std::exception &e) {
		std::printf("caught: %s\n", e.what());
	}
	std::printf("after: %d\n", (int)getppid());
	return 0;
}
