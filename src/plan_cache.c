/*
 * plan_cache.c -- INTERCEPT_PLAN_CACHE=dir: keeps the plan of each patched code segment (where
 * each site's patch goes) in a file of dir, so that the next process using the same object
 * skips the analysis, most of the start-up time: it decodes only the code the plan names (its
 * windows and what leads to them, its padding jumps and the runs of padding they sit in),
 * holds the plan to the same rule as a fresh one (si_plan_valid, plan.c) and emits
 * trampolines from it.  A plan that leaves a site unpatched is neither kept nor used.
 *
 * A plan is keyed by the object's GNU build id, this library's own build id (a rebuilt library
 * may plan differently), the segment's place and size, and whether it was made with other
 * threads running (plans differ then).  A checksum over the file tells a damaged plan from the
 * one written; the rule keeps even a plan that matches its checksum from patching anything a
 * fresh plan could not.  The directory must be the user's own and writable by nobody else (or
 * sticky, like /tmp); files are opened without following links and without waiting (a FIFO)
 * and must be regular files of the user's that nobody else can write; a refused directory or
 * file is reported on stderr, once.  In secure mode the variable is ignored (si_env).  Files
 * are written whole under another name and renamed, so a reader never sees half a plan.  It
 * must never make patching fail, nor patch from a plan that fails a check: a missing,
 * foreign, stale, damaged or invalid plan only means the full analysis runs (and writes a new
 * one); INTERCEPT_DEBUG_DUMP=1 says which happened, and why.
 */
#define _GNU_SOURCE
#include "intercept.h"
#include "discover.h"
#include "patch.h"
#include "plan_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "SIPLAN02"
#define MAX_FILE (1 << 20)
/* Bytes decoded from a padding jump's start: its last instruction may end 19 bytes on. */
#define PAD_TAIL 20

struct header {
	char magic[8];
	uint64_t seg_offset, seg_len;	/* the segment, from the object's load bias */
	uint8_t object_id[32], library_id[32];
	uint32_t n_sites;
	uint32_t threads;		/* planned with other threads running */
	uint64_t checksum;		/* of the whole file, with this field 0 (checksum()) */
};

struct record {			/* offsets from the segment's start */
	uint32_t syscall, start, end, pad;
	uint32_t method;
	/* SI_PATCH_JMP_PADDING: the instruction that does not fall through, which the run of
	 * padding holding the jump follows (decoded from there to see that nothing reaches it) */
	uint32_t run;
};

static char cache_dir[4096];	/* empty: no cache */
static struct si_object self;	/* only its build id */

static int
self_note(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uint64_t me = (uint64_t)data;
	bool mine = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && me >= lo && me < lo + ph->p_memsz)
			mine = true;
	}
	for (int i = 0; mine && i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_NOTE && !self.build_id_len)
			si_read_build_id(&self, (const void *)(info->dlpi_addr + ph->p_vaddr),
					 ph->p_memsz);
	}
	return mine;
}

/* A refused plan file is reported once per process: the next objects may meet others. */
static bool refused_reported;

/* "syscall_intercept: plan cache<before><path><after>" in one write, however long the path. */
static void
say(const char *before, const char *path, const char *after)
{
	char msg[sizeof(cache_dir) + 512];
	int n = si_snprintf(msg, sizeof(msg), "syscall_intercept: plan cache%s%s%s\n", before,
			    path, after);
	si_write_all(2, msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

void
si_plan_cache_init(void)
{
	cache_dir[0] = '\0';
	const char *dir = si_env("INTERCEPT_PLAN_CACHE");	/* NULL in secure mode */
	if (!dir || !*dir || strlen(dir) >= sizeof(cache_dir) - 128)
		return;
	dl_iterate_phdr(self_note, (void *)(uintptr_t)&si_plan_cache_init);
	if (!self.build_id_len)
		return;
	mkdir(dir, 0700);	/* one level, if missing */
	/* absolute, as objects loaded later may be patched after the program changed directory */
	char *real = realpath(dir, NULL);
	struct stat st;
	/*
	 * Others must not be able to put plans here, nor replace ours: the user's own directory,
	 * writable by nobody else, or like /tmp with the sticky bit (then their files there are
	 * theirs, and read_plan_file refuses them).
	 */
	if (!real || strlen(real) >= sizeof(cache_dir) - 128 || stat(real, &st) != 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))) {
		free(real);
		say(" ", dir, ": not a directory of this user's that only the user can write; "
		    "not used");
		return;
	}
	strcpy(cache_dir, real);
	free(real);
}

static void
hex(char *out, const uint8_t *id, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * len] = '\0';
}

/*
 * dir/<object build id>-<segment offset>.plan, or -threads.plan for a plan made with other
 * threads running; false when the object has no build id.
 */
static bool
plan_path(const struct si_object *o, uint64_t seg_start, bool threads, char *path, size_t cap)
{
	if (!cache_dir[0] || !o->build_id_len)
		return false;
	char id[2 * sizeof(o->build_id) + 1];
	hex(id, o->build_id, o->build_id_len);
	snprintf(path, cap, "%s/%s-%lx%s.plan", cache_dir, id, (unsigned long)(seg_start - o->base),
		 threads ? "-threads" : "");
	return true;
}

static void
fill_header(struct header *h, const struct si_object *o, uint64_t seg_start, uint64_t seg_end,
	    size_t n_sites, bool threads)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, MAGIC, 8);
	h->seg_offset = seg_start - o->base;
	h->seg_len = seg_end - seg_start;
	memcpy(h->object_id, o->build_id, o->build_id_len);
	memcpy(h->library_id, self.build_id, self.build_id_len);
	h->n_sites = (uint32_t)n_sites;
	h->threads = threads;
}

/*
 * FNV-1a (64 bits) of the file with its checksum field 0.  Not a defence against someone who
 * may write the user's files (they may as well change the library); it tells a damaged file,
 * truncated, extended or with any byte changed, from the one written.
 */
static uint64_t
checksum(const uint8_t *buf, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t skip = offsetof(struct header, checksum);
	for (size_t i = 0; i < size; i++) {
		uint8_t b = i >= skip && i < skip + sizeof(uint64_t) ? 0 : buf[i];
		h = (h ^ b) * 0x100000001b3ULL;
	}
	return h;
}

/* The instruction that does not fall through, before the run of padding holding addr. */
static uint64_t
run_of(const struct si_analysis *a, uint64_t addr)
{
	size_t i = si_insn_at(a, addr);
	while (i != SIZE_MAX && i > 0 && (a->insns[i].flags & SI_INSN_PADDING))
		i--;
	return i == SIZE_MAX ? addr : a->insns[i].addr;
}

void
si_plan_cache_store(const struct si_object *o, uint64_t seg_start, uint64_t seg_end,
		    const struct si_analysis *a, const struct si_patch *p, bool threads)
{
	char path[4096 + 128], tmp[4096 + 160];
	if (!plan_path(o, seg_start, threads, path, sizeof(path)))
		return;
	/*
	 * A plan that leaves a site unpatched is not kept: whether a site can be patched is the
	 * one thing no check of a plan read back can confirm without the full analysis (such
	 * objects are rare, and analysed each time).
	 */
	for (size_t k = 0; k < a->n_syscalls; k++)
		if (p[k].method == SI_PATCH_NONE)
			return;
	size_t size = sizeof(struct header) + a->n_syscalls * sizeof(struct record);
	uint8_t *buf = calloc(1, size);
	if (!buf)
		return;
	struct header *h = (struct header *)buf;
	fill_header(h, o, seg_start, seg_end, a->n_syscalls, threads);
	struct record *r = (struct record *)(buf + sizeof(struct header));
	for (size_t k = 0; k < a->n_syscalls; k++) {
		r[k].syscall = (uint32_t)(p[k].syscall_addr - seg_start);
		r[k].method = p[k].method;
		r[k].start = (uint32_t)(p[k].start - seg_start);
		r[k].end = (uint32_t)(p[k].end - seg_start);
		if (p[k].method == SI_PATCH_JMP_PADDING) {
			r[k].pad = (uint32_t)(p[k].pad_addr - seg_start);
			r[k].run = (uint32_t)(run_of(a, p[k].pad_addr) - seg_start);
		}
	}
	h->checksum = checksum(buf, size);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	bool ok = fd >= 0 && write(fd, buf, size) == (ssize_t)size;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (ok && rename(tmp, path) == 0) {
		if (si_debug_level >= 1)
			si_dprintf(2, "syscall_intercept: plan cache: wrote %s\n", path);
	} else if (fd >= 0) {
		unlink(tmp);
	}
	free(buf);
}

/*
 * The file's bytes when it is a regular file of ours that only we can write, plausible in size
 * and read whole; NULL otherwise.  Opened without following a link and without waiting: a FIFO
 * put in place of a plan would block a plain open (and a read) forever.  A file that is there
 * but refused (not regular, another user's, writable by others) is reported once per process;
 * the object is then analysed as without a plan.
 */
static uint8_t *
read_plan_file(const char *path, size_t *size)
{
	*size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno != ENOENT)
			goto refused;	/* a symbolic link (ELOOP), or unreadable */
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		close(fd);
		goto refused;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl != -1)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	uint8_t *buf = NULL;
	if (st.st_size >= (off_t)sizeof(struct header) && st.st_size <= MAX_FILE &&
	    (buf = malloc((size_t)st.st_size)) != NULL &&
	    read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*size = buf ? (size_t)st.st_size : 0;
	return buf;
refused:
	if (!refused_reported) {
		refused_reported = true;
		say(": ", path, " is not a regular file of this user's that only the user can "
		    "write; not used, analysing again");
	}
	return NULL;
}

/* Code to decode: [lo, hi). */
struct span {
	uint64_t lo, hi;
};

static int
cmp_span(const void *x, const void *y)
{
	const struct span *a = x, *b = y;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/*
 * For every 4 KiB of seg, the index of the first of the n sorted ranges v[2k], v[2k + 1] that
 * ends after its start: libc has thousands of unsorted function starts to place among a
 * thousand ranges, a few steps each this way.
 */
static uint32_t *
page_index(const struct si_code *seg, const uint64_t *v, size_t n)
{
	size_t pages = seg->len / 4096 + 1;
	uint32_t *first = malloc(pages * sizeof(*first));
	for (size_t pg = 0, i = 0; first && pg < pages; pg++) {
		while (i < n && v[2 * i + 1] <= seg->addr + pg * 4096)
			i++;
		first[pg] = (uint32_t)i;
	}
	return first;
}

/* Notes in best[i] that s, a place known to start an instruction, is before window w[i]. */
static void
note_anchor(const struct span *w, size_t n, const uint32_t *first, const struct si_code *seg,
	    uint64_t s, bool at_too, uint64_t *best)
{
	if (s < seg->addr || s >= seg->addr + seg->len)
		return;
	size_t i = first[(s - seg->addr) / 4096];
	while (i < n && (w[i].lo < s || (!at_too && w[i].lo == s)))
		i++;
	if (i < n && s > best[i])
		best[i] = s;
}

/*
 * Moves the start of each of the n windows w (sorted) back to where the full analysis decodes
 * it from, the last function start at or before it (the segment's start when there is none),
 * or, when nearer, to the last place before it where the plan says an instruction starts (of
 * the m in `places`); false when out of memory.  (Starting a fixed distance before it, from
 * the middle of some instruction, was tried: x86 decoding usually falls into step within a few
 * instructions, but not always, and with glibc 2.31 a syscall went unseen.)
 */
static bool
anchor(struct span *w, size_t n, const struct si_code *seg, const uint64_t *starts,
       size_t n_starts, const uint64_t *places, size_t m)
{
	/* best[i]: the last anchor in (w[i - 1].lo, w[i].lo] */
	uint64_t *best = calloc(n + 1, sizeof(*best));
	size_t pages = seg->len / 4096 + 1;
	uint32_t *first = malloc(pages * sizeof(*first));	/* the first window in each page */
	bool ok = best && first;
	for (size_t pg = 0, i = 0; ok && pg < pages; pg++) {
		while (i < n && w[i].lo < seg->addr + pg * 4096)
			i++;
		first[pg] = (uint32_t)i;
	}
	for (size_t k = 0; ok && k < n_starts; k++)
		note_anchor(w, n, first, seg, starts[k], true, best);
	for (size_t k = 0; ok && k < m; k++)
		note_anchor(w, n, first, seg, places[k], false, best);
	uint64_t at = seg->addr;
	for (size_t i = 0; ok && i < n; i++) {
		/* A signal frame's FDE starts one byte before its code (see analyse.c). */
		if (best[i] > at)
			at = best[i] + (seg->eh && si_signal_frame_at(seg->eh, best[i]));
		w[i].lo = at;
	}
	free(best);
	free(first);
	return ok;
}

/*
 * The code to decode for the n records r, into ranges (room for 4n numbers): sorted, disjoint
 * ranges as si_analyse wants them; returns how many, 0 when a record names an address outside
 * the segment, SIZE_MAX when out of memory.
 *
 * A window is decoded from the last function start before it, as the full analysis decodes
 * it, or from a nearer place the plan names: a window that begins in the middle of an
 * instruction then finds no instruction there.  (Decoded from its own start it could not tell: x86 bytes decode from almost
 * anywhere.)  A padding patch is decoded from where the plan says its instructions start: its
 * syscall, and the instruction that does not fall through before its run of padding, up to a
 * little past the jump's 5 bytes (its last instruction may be longer).  There the bytes must
 * decode as a syscall, or as such an instruction and padding, which bytes from the middle of
 * other instructions seldom do.  Decoding all of it from function starts would cost the plan
 * cache about a quarter of its gain; the checksum already tells a damaged plan from the one
 * written.
 */
static size_t
ranges_of(const struct record *r, size_t n, const struct si_code *seg, const uint64_t *starts,
	  size_t n_starts, uint64_t *ranges)
{
	struct span *v = malloc((2 * n + 1) * sizeof(*v));
	if (!v)
		return SIZE_MAX;
	size_t m = 0, n_win = 0;
	for (size_t k = 0; k < n; k++) {	/* windows first, to anchor them */
		if (r[k].method != SI_PATCH_JMP_WINDOW)
			continue;
		if (r[k].start >= seg->len || r[k].end <= r[k].start || r[k].end > seg->len ||
		    r[k].syscall >= seg->len)
			goto outside;
		v[m++] = (struct span){ seg->addr + r[k].start, seg->addr + r[k].end };
	}
	n_win = m;
	for (size_t k = 0; k < n; k++) {	/* padding patches (there are no others) */
		if (r[k].method != SI_PATCH_JMP_PADDING)
			continue;
		if (r[k].start >= seg->len || r[k].end <= r[k].start || r[k].end > seg->len ||
		    r[k].syscall >= seg->len || r[k].pad >= seg->len || r[k].run > r[k].pad)
			goto outside;
		v[m++] = (struct span){ seg->addr + r[k].start, seg->addr + r[k].end };
		uint64_t hi = (uint64_t)r[k].pad + PAD_TAIL;
		v[m++] = (struct span){ seg->addr + r[k].run,
					seg->addr + (hi < seg->len ? hi : seg->len) };
	}
	/* the places the plan names, windows' starts included, as anchors for the windows */
	uint64_t *places = malloc((m + 1) * sizeof(*places));
	if (!places)
		goto oom;
	for (size_t i = 0; i < m; i++)
		places[i] = v[i].lo;
	qsort(v, n_win, sizeof(*v), cmp_span);
	bool anchored = anchor(v, n_win, seg, starts, n_starts, places, m);
	free(places);
	if (!anchored)
		goto oom;
	qsort(v, m, sizeof(*v), cmp_span);
	/*
	 * What overlaps or touches is decoded together, from its first byte: a place the plan
	 * names inside the decode of an earlier one is then checked against it as well.
	 */
	size_t out = 0;
	for (size_t i = 0; i < m; i++) {
		if (out && v[i].lo <= v[out - 1].hi) {
			if (v[i].hi > v[out - 1].hi)
				v[out - 1].hi = v[i].hi;
			continue;
		}
		v[out++] = v[i];
	}
	for (size_t i = 0; i < out; i++) {
		ranges[2 * i] = v[i].lo;
		ranges[2 * i + 1] = v[i].hi;
	}
	free(v);
	return out;
outside:
	free(v);
	return 0;
oom:
	free(v);
	return SIZE_MAX;
}

/*
 * The function starts in the n ranges of seg (the analysis marks them as targets, and decodes
 * from them, as the full analysis does); malloc'ed, or NULL when out of memory.
 */
static uint64_t *
starts_in(const struct si_code *seg, const uint64_t *ranges, size_t n, const uint64_t *starts,
	  size_t n_starts, size_t *n_out)
{
	uint64_t *out = malloc((n_starts + 1) * sizeof(*out));
	uint32_t *first = page_index(seg, ranges, n);
	size_t found = 0;
	for (size_t k = 0; out && first && k < n_starts; k++) {
		uint64_t s = starts[k];
		if (s < seg->addr || s >= seg->addr + seg->len)
			continue;
		size_t i = first[(s - seg->addr) / 4096];
		while (i < n && ranges[2 * i + 1] <= s)
			i++;
		if (i < n && s >= ranges[2 * i])
			out[found++] = s;
	}
	if (!first) {
		free(out);
		out = NULL;
	}
	free(first);
	*n_out = found;
	return out;
}

/*
 * The analysis of the code the plan touches (ranges_of), and the plan, from the cache; false
 * (nothing allocated) when there is no usable plan.  The analysis knows the function starts
 * and the landing pads there as jump targets, and the branches in the code it decodes; other
 * branches into a window are seen only by the full analysis, which is why a plan must also
 * match its checksum.
 */
bool
si_plan_cache_load(const struct si_object *o, const struct si_code *seg, const uint64_t *starts,
		   size_t n_starts, struct si_analysis *a, struct si_patch **out, bool threads)
{
	char path[4096 + 128];
	if (!plan_path(o, seg->addr, threads, path, sizeof(path)))
		return false;
	size_t size;
	uint8_t *buf = read_plan_file(path, &size);
	if (!buf)
		return false;
	const char *why = "damaged: its size does not match its number of sites";
	char because[256];
	uint64_t *ranges = NULL, *known = NULL;
	struct si_patch *p = NULL;
	memset(a, 0, sizeof(*a));
	struct header want, *h = (struct header *)buf;
	const struct record *r = (const struct record *)(buf + sizeof(*h));
	size_t n = h->n_sites;
	fill_header(&want, o, seg->addr, seg->addr + seg->len, n, threads);
	want.checksum = h->checksum;
	if (memcmp(h, &want, sizeof(want)) != 0) {
		why = "made for another build or segment";
		goto reject;
	}
	if (n == 0 || size != sizeof(*h) + n * sizeof(*r))
		goto reject;
	if (checksum(buf, size) != h->checksum) {
		why = "damaged: its checksum does not match";
		goto reject;
	}
	for (size_t k = 0; k < n; k++) {
		/* as written: what a method has no use for is 0 */
		if (r[k].method == SI_PATCH_JMP_WINDOW && (r[k].pad || r[k].run)) {
			why = "damaged: a window with a padding jump";
			goto reject;
		}
		if (r[k].method == SI_PATCH_NONE) {	/* see si_plan_cache_store */
			si_snprintf(because, sizeof(because), "not a valid plan: 0x%lx: left "
				    "unpatched, which only the full analysis can confirm",
				    (unsigned long)(seg->addr + r[k].syscall - o->base));
			why = because;
			goto reject;
		}
	}
	why = "out of memory";
	ranges = malloc(4 * n * sizeof(*ranges));
	p = calloc(n, sizeof(*p));
	if (!ranges || !p)
		goto reject;
	size_t n_ranges = ranges_of(r, n, seg, starts, n_starts, ranges), n_known = 0;
	if (n_ranges == SIZE_MAX)
		goto reject;
	if (n_ranges == 0) {
		why = "not a plan of this segment: it names an address outside it";
		goto reject;
	}
	if (!(known = starts_in(seg, ranges, n_ranges, starts, n_starts, &n_known)))
		goto reject;
	struct si_code only = *seg;
	only.sparse = false;
	only.ranges = ranges;
	only.n_ranges = n_ranges;
	if (si_analyse(&only, known, n_known, a) != 0)
		goto reject;
	a->code.ranges = NULL;	/* freed below; only si_analyse reads them */
	a->code.n_ranges = 0;
	for (size_t k = 0; k < n; k++) {
		struct si_patch *q = &p[k];
		q->syscall_addr = seg->addr + r[k].syscall;
		q->method = (enum si_patch_method)r[k].method;
		q->start = seg->addr + r[k].start;
		q->end = seg->addr + r[k].end;
		q->pad_addr = seg->addr + r[k].pad;
		/* [first, last): the instructions from start up to end; si_plan_valid checks that
		 * they tile [start, end) exactly */
		q->first = si_insn_at(a, q->start);
		if (q->first == SIZE_MAX)
			q->first = 0;	/* with last 0: refused */
		else
			for (q->last = q->first; q->last < a->n_insns &&
			     a->insns[q->last].addr < q->end; q->last++)
				;
	}
	const char *fault;
	size_t bad;
	if (!si_plan_valid(a, p, n, threads, &fault, &bad)) {
		if (bad < n)
			si_snprintf(because, sizeof(because), "not a valid plan: 0x%lx: %s",
				    (unsigned long)(p[bad].syscall_addr - o->base), fault);
		else
			si_snprintf(because, sizeof(because), "not a valid plan: %s", fault);
		why = because;
		goto reject;
	}
	free(known);
	free(ranges);
	free(buf);
	*out = p;
	if (si_debug_level >= 1)
		si_dprintf(2, "syscall_intercept: plan cache: using %s\n", path);
	return true;
reject:
	if (si_debug_level >= 1)
		si_dprintf(2, "syscall_intercept: plan cache: %s is %s; analysing again\n", path, why);
	si_analysis_free(a);
	free(known);
	free(ranges);
	free(p);
	free(buf);
	return false;
}
