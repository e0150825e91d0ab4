/*
 * activate.c -- puts generated code into place: finds memory for trampolines within reach of an
 * object's text, and writes the jumps into the text.  While an object's text is being written it
 * is read-write and NOT executable (never W+X), so nothing between the two mprotect calls may
 * call into libc or ld.so -- their text may be the one being written: raw syscalls and plain
 * byte loops only.
 */
#include "intercept.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096ul
#define REACH 0x7fff0000ul	/* a little under 2 GiB, so rel32 from anywhere in range fits */

int
si_activate(const struct si_write *w, size_t n, uint64_t seg_start, uint64_t seg_end, int prot)
{
	uint64_t lo = seg_start & ~(PAGE - 1), hi = (seg_end + PAGE - 1) & ~(PAGE - 1);
	if (si_sys(SYS_mprotect, lo, hi - lo, PROT_READ | PROT_WRITE) != 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		volatile uint8_t *dst = (volatile uint8_t *)w[k].addr;
		for (size_t b = 0; b < w[k].len; b++)
			dst[b] = w[k].bytes[b];
	}
	if (si_sys(SYS_mprotect, lo, hi - lo, prot) != 0)
		si_fatal("cannot make patched text executable again");
	return 0;
}

/* Reads /proc/self/maps into pairs of [start, end) ranges; returns the count. */
static size_t
read_maps(uint64_t (*ranges)[2], size_t cap)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t bufcap = 1 << 16, len = 0, n = 0;
	char *buf = malloc(bufcap);
	for (;;) {
		if (!buf)
			break;
		if (len + 4096 > bufcap) {
			char *grown = realloc(buf, bufcap * 2);
			if (!grown)
				break;
			buf = grown;
			bufcap *= 2;
		}
		ssize_t r = read(fd, buf + len, bufcap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!buf)
		return 0;
	buf[len] = '\0';
	for (char *line = buf; *line && n < cap;) {
		char *end;
		uint64_t s = strtoull(line, &end, 16);
		if (*end != '-')
			break;
		uint64_t e = strtoull(end + 1, &end, 16);
		ranges[n][0] = s;
		ranges[n][1] = e;
		n++;
		line = strchr(line, '\n');
		if (!line)
			break;
		line++;
	}
	free(buf);
	return n;
}

void *
si_map_near(uint64_t lo, uint64_t hi, size_t size)
{
	size = (size + PAGE - 1) & ~(PAGE - 1);
	/* Every byte of the area must reach every byte of [lo, hi) and back. */
	uint64_t min = hi > REACH ? hi - REACH : PAGE * 16;
	uint64_t max = lo + REACH - size;
	static uint64_t ranges[4096][2];
	size_t n = read_maps(ranges, 4096);

	/* Try the gaps between mappings, nearest to the text first: below it, then above. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			size_t k = pass == 0 ? n - 1 - i : i;	/* nearest gap first */
			uint64_t gap_start = ranges[k][1];
			uint64_t gap_end = k + 1 < n ? ranges[k + 1][0] : 0x7ffffffff000ul;
			uint64_t cand;
			if (pass == 0) {	/* highest fit below lo */
				if (gap_start >= lo)
					continue;
				uint64_t top = gap_end < lo ? gap_end : lo;
				if (top < size + gap_start)
					continue;
				cand = (top - size) & ~(PAGE - 1);
			} else {		/* lowest fit above hi */
				if (gap_end <= hi)
					continue;
				cand = gap_start > hi ? gap_start : ((hi + PAGE - 1) & ~(PAGE - 1));
				if (cand + size > gap_end)
					continue;
			}
			if (cand < min || cand > max || cand < gap_start)
				continue;
			void *p = mmap((void *)cand, size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p == (void *)cand)
				return p;
			if (p != MAP_FAILED)
				munmap(p, size);
		}
	}
	return NULL;
}
