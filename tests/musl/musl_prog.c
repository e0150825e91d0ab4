/*
 * musl_prog -- the program of the musl test, built with musl-gcc and linked dynamically against
 * musl: file I/O, a thread, a fork, getppid.  It prints the same lines natively and under a
 * pass-through hook; the line "getppid answered by the hook" says whether getppid returned 4242
 * (what musl_hook.so answers).  It never depends on timing or on its folder.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *
thread_main(void *arg)
{
	int *v = arg;
	*v *= 3;
	return NULL;
}

int
main(void)
{
	char path[] = "/tmp/si-musl-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, "musl works\n", 11) != 11)
		return 10;
	char buf[32] = { 0 };
	if (lseek(fd, 0, SEEK_SET) != 0 || read(fd, buf, sizeof(buf) - 1) != 11)
		return 11;
	close(fd);
	unlink(path);
	printf("file: %s", buf);

	int v = 14;
	pthread_t t;
	if (pthread_create(&t, NULL, thread_main, &v) != 0 || pthread_join(t, NULL) != 0)
		return 12;
	printf("thread: %d\n", v);

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(getppid() == 4242 ? 40 : 41);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 13;
	printf("child exit: %d\n", WEXITSTATUS(st) == 40 || WEXITSTATUS(st) == 41 ? 4 : 0);
	printf("getppid answered by the hook: %s (child: %s)\n", getppid() == 4242 ? "yes" : "no",
	       WEXITSTATUS(st) == 40 ? "yes" : "no");
	return 3;
}
