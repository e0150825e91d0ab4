/*
 * activate.c -- puts generated code into place: finds memory for trampolines within reach of an
 * object's text, and writes the jumps into the text while other threads may be running it.
 *
 * The protocol (the invariants it relies on are stated where they are used):
 *   1. The planner (plan.c) chose patches that a thread stopped at any original instruction
 *      boundary survives: none lies inside a jump; every other byte a patch writes is int3,
 *      and fixup.c knows where in the trampoline each such boundary went.  fixup.c's trap
 *      handler is installed before step 4 whenever another thread may run.
 *   2. The trampolines are complete and read-only executable before anything jumps to them.
 *   3. Each run of adjacent pages that some write touches is rebuilt: the live bytes, then the
 *      writes, written into a sealed memory file that is then mapped read-execute (or, where
 *      that is refused, into anonymous memory that is read-write until it is complete, then
 *      read-execute).  A write never spans two runs, since the pages it touches are adjacent.
 *   4. The copy gets the text's protection and replaces the run with one mremap.  Under the
 *      process's mmap lock the kernel unmaps the old pages (shooting down every CPU's TLB) and
 *      moves the new ones in: a thread fetching there meanwhile waits for the lock, so every
 *      thread sees either the old or the new bytes of the whole run, never a mix and never a
 *      page that is not executable.  The shootdown interrupts every CPU running the process,
 *      and the return from that interrupt (or a later context switch) serialises instruction
 *      fetch: no stale instruction bytes survive it, so no membarrier is needed.
 * The text is never writable, let alone writable and executable.  Nothing here writes to live
 * text, so libc may be called at any point, even while libc's own text is being replaced.
 */
#define _GNU_SOURCE
#include "intercept.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096ul
#define REACH 0x7fff0000ul	/* a little under 2 GiB, so rel32 from anywhere in range fits */

static uint64_t
page_down(uint64_t a)
{
	return a & ~(PAGE - 1);
}

static uint64_t
page_up(uint64_t a)
{
	return (a + PAGE - 1) & ~(PAGE - 1);
}

static int
by_address(const void *x, const void *y)
{
	const struct si_write *a = *(const struct si_write *const *)x;
	const struct si_write *b = *(const struct si_write *const *)y;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

#ifndef MFD_EXEC
#define MFD_EXEC 0x10		/* Linux 6.3: executable even where vm.memfd_noexec forbids it */
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x10
#endif

/*
 * The new pages as a sealed memory file mapped read-execute: they are written with pwrite,
 * never through a mapping, so no page of ours is ever writable, and nothing is faulted in
 * before the swap (the kernel then moves an empty range; this is several times faster than
 * copying into anonymous memory where page faults are dear).  NULL where memory files cannot
 * be executable.
 */
static void *
new_pages_from_file(uint64_t lo, size_t len, struct si_write *const *w, size_t n, int prot)
{
	int fd = (int)si_sys(SYS_memfd_create, "syscall_intercept:patched-text",
			     MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0)
		fd = (int)si_sys(SYS_memfd_create, "syscall_intercept:patched-text",
				 MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return NULL;
	void *map = NULL;
	bool ok = pwrite(fd, (const void *)lo, len, 0) == (ssize_t)len;
	for (size_t k = 0; ok && k < n; k++)
		ok = pwrite(fd, w[k]->bytes, w[k]->len, (off_t)(w[k]->addr - lo)) == w[k]->len;
	if (ok && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
		      F_SEAL_SEAL) == 0) {
		map = mmap(NULL, len, prot, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			map = NULL;
	}
	close(fd);
	return map;
}

/* The same in anonymous memory: written while read-write, then given the text's protection. */
static void *
new_pages_anonymous(uint64_t lo, size_t len, struct si_write *const *w, size_t n, int prot)
{
	uint8_t *copy = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy == MAP_FAILED)
		return NULL;
	memcpy(copy, (const void *)lo, len);
	for (size_t k = 0; k < n; k++)
		memcpy(copy + (w[k]->addr - lo), w[k]->bytes, w[k]->len);
	if (mprotect(copy, len, prot) != 0) {
		munmap(copy, len);
		return NULL;
	}
	return copy;
}

/* Steps 3 and 4 for the pages [lo, hi) and the writes w[0 .. n), which all lie inside them. */
static bool
swap_in(uint64_t lo, uint64_t hi, struct si_write *const *w, size_t n, int prot)
{
	size_t len = hi - lo;
	void *pages = new_pages_from_file(lo, len, w, n, prot);
	if (!pages)
		pages = new_pages_anonymous(lo, len, w, n, prot);
	if (!pages)
		return false;
	if (mremap(pages, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)lo) != (void *)lo) {
		munmap(pages, len);	/* the live text is as it was */
		return false;
	}
	return true;
}

size_t
si_activate(const struct si_write *w, size_t n, int prot, bool *done)
{
	struct si_write **order = malloc(n * sizeof(*order) + 1);
	if (!order)
		return 0;
	for (size_t k = 0; k < n; k++) {
		order[k] = (struct si_write *)&w[k];
		done[k] = false;
	}
	qsort(order, n, sizeof(*order), by_address);
	size_t placed = 0;
	for (size_t k = 0; k < n;) {
		/* A run: the pages of order[k], then of every write touching them or the next page. */
		uint64_t lo = page_down(order[k]->addr), hi = page_up(order[k]->addr + order[k]->len);
		size_t end = k + 1;
		while (end < n && page_down(order[end]->addr) <= hi) {
			uint64_t top = page_up(order[end]->addr + order[end]->len);
			hi = top > hi ? top : hi;
			end++;
		}
		if (swap_in(lo, hi, order + k, end - k, prot)) {
			for (size_t j = k; j < end; j++)
				done[order[j] - w] = true;
			placed += end - k;
		}
		k = end;
	}
	free(order);
	return placed;
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

/* An anonymous read-write mapping of size bytes exactly at cand, or NULL. */
static void *
map_at(uint64_t cand, size_t size)
{
	void *p = mmap((void *)cand, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == (void *)cand)
		return p;
	if (p != MAP_FAILED)
		munmap(p, size);	/* a kernel older than MAP_FIXED_NOREPLACE put it elsewhere */
	return NULL;
}

/*
 * Without /proc/self/maps (no /proc, or no descriptor left to read it): the kernel's own
 * choice for a hint just below the text (it usually places new mappings next to the
 * libraries), then places at doubling distances below and above the text.
 */
static void *
probe_near(uint64_t lo, uint64_t hi, size_t size, uint64_t min, uint64_t max)
{
	uint64_t hint = lo > size + (1ul << 20) ? page_down(lo - size - (1ul << 20)) : 0;
	void *p = mmap((void *)hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p != MAP_FAILED) {
		if ((uint64_t)p >= min && (uint64_t)p <= max)
			return p;
		munmap(p, size);
	}
	for (uint64_t d = 1ul << 16; d < REACH; d *= 2) {
		if (lo > d + size && page_down(lo - d - size) >= min &&
		    (p = map_at(page_down(lo - d - size), size)) != NULL)
			return p;
		if (page_up(hi + d) <= max && (p = map_at(page_up(hi + d), size)) != NULL)
			return p;
	}
	return NULL;
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
	if (n == 0)
		return probe_near(lo, hi, size, min, max);

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
			void *p = map_at(cand, size);
			if (p)
				return p;
		}
	}
	return NULL;
}
