/*
 * plan_cache.c -- INTERCEPT_PLAN_CACHE=dir: keeps the plan of each patched code segment (where
 * each site's patch goes) in a file of dir, so that the next process using the same object
 * skips the analysis, most of the start-up time: it decodes only the planned windows, checks
 * them again (every instruction decodes, tiles the window exactly, the syscall is where the
 * plan says, the others can be moved) and emits trampolines from them.
 *
 * A plan is keyed by the object's GNU build id, this library's own build id (a rebuilt library
 * may plan differently), and the segment's place and size.  The directory must be the user's
 * own and writable by nobody else (or sticky, like /tmp); files are opened without following
 * links and without waiting (a FIFO) and must be regular files of the user's that nobody else
 * can write; a refused directory or file is reported on stderr, once.  In secure mode the
 * variable is ignored (si_env).  Files are written whole under another name and renamed, so a
 * reader never sees half a plan.  It must never make patching fail: a
 * missing, foreign, stale or damaged plan only means the full analysis runs (and writes a new
 * one); INTERCEPT_DEBUG_DUMP=1 says which happened.
 */
#define _GNU_SOURCE
#include "intercept.h"
#include "discover.h"
#include "patch.h"
#include "plan_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "SIPLAN01"
#define MAX_WINDOW 64		/* bytes: 11 instructions of a window never reach it */
#define MAX_FILE (1 << 20)

struct header {
	char magic[8];
	uint64_t seg_offset, seg_len;	/* the segment, from the object's load bias */
	uint8_t object_id[32], library_id[32];
	uint32_t n_sites;
	uint32_t reserved;
};

struct record {			/* offsets from the segment's start */
	uint32_t syscall, start, end, pad;
	uint32_t method;
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

/* dir/<object build id>-<segment offset>.plan; false when the object has no build id. */
static bool
plan_path(const struct si_object *o, uint64_t seg_start, char *path, size_t cap)
{
	if (!cache_dir[0] || !o->build_id_len)
		return false;
	char id[2 * sizeof(o->build_id) + 1];
	hex(id, o->build_id, o->build_id_len);
	snprintf(path, cap, "%s/%s-%lx.plan", cache_dir, id, (unsigned long)(seg_start - o->base));
	return true;
}

static void
fill_header(struct header *h, const struct si_object *o, uint64_t seg_start, uint64_t seg_end,
	    size_t n_sites)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, MAGIC, 8);
	h->seg_offset = seg_start - o->base;
	h->seg_len = seg_end - seg_start;
	memcpy(h->object_id, o->build_id, o->build_id_len);
	memcpy(h->library_id, self.build_id, self.build_id_len);
	h->n_sites = (uint32_t)n_sites;
}

void
si_plan_cache_store(const struct si_object *o, uint64_t seg_start, uint64_t seg_end,
		    const struct si_analysis *a, const struct si_patch *p)
{
	char path[4096 + 128], tmp[4096 + 160];
	if (!plan_path(o, seg_start, path, sizeof(path)))
		return;
	size_t size = sizeof(struct header) + a->n_syscalls * sizeof(struct record);
	uint8_t *buf = calloc(1, size);
	if (!buf)
		return;
	fill_header((struct header *)buf, o, seg_start, seg_end, a->n_syscalls);
	struct record *r = (struct record *)(buf + sizeof(struct header));
	for (size_t k = 0; k < a->n_syscalls; k++) {
		r[k].syscall = (uint32_t)(p[k].syscall_addr - seg_start);
		r[k].method = p[k].method;
		if (p[k].method != SI_PATCH_NONE) {
			r[k].start = (uint32_t)(p[k].start - seg_start);
			r[k].end = (uint32_t)(p[k].end - seg_start);
		}
		if (p[k].method == SI_PATCH_JMP_PADDING)
			r[k].pad = (uint32_t)(p[k].pad_addr - seg_start);
	}
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

/* Whether the plan's sites are in order, inside the segment, and their windows disjoint. */
static bool
records_sane(const struct record *r, size_t n, uint64_t seg_len)
{
	uint64_t prev_end = 0;
	for (size_t k = 0; k < n; k++) {
		if (r[k].method > SI_PATCH_JMP_PADDING || (uint64_t)r[k].syscall + 2 > seg_len)
			return false;
		uint64_t lo = r[k].syscall, hi = r[k].syscall + 2;
		if (r[k].method != SI_PATCH_NONE) {
			if (r[k].start > r[k].syscall || r[k].end < hi || r[k].end > seg_len ||
			    r[k].end - r[k].start > MAX_WINDOW)
				return false;
			lo = r[k].start;
			hi = r[k].end;
		}
		if (r[k].method == SI_PATCH_JMP_PADDING &&
		    (r[k].start != r[k].syscall || r[k].end != hi || (uint64_t)r[k].pad + 5 > seg_len))
			return false;
		if (k > 0 && lo < prev_end)
			return false;
		prev_end = hi;
	}
	return true;
}

/* Whether [addr, addr + 5) is padding (nop/int3 instructions) after code that ends there. */
static bool
padding_at(const struct si_code *seg, uint64_t addr)
{
	uint64_t lo = addr, hi = addr + 16 < seg->addr + seg->len ? addr + 16 : seg->addr + seg->len;
	struct si_code c = { .bytes = seg->bytes + (lo - seg->addr), .addr = lo, .len = hi - lo };
	struct si_analysis pa;
	if (si_analyse(&c, &addr, 1, &pa) != 0)
		return false;
	uint64_t covered = addr;
	for (size_t i = 0; i < pa.n_insns && covered < addr + 5; i++) {
		if (!(pa.insns[i].flags & SI_INSN_PADDING))
			break;
		covered += pa.insns[i].len;
	}
	si_analysis_free(&pa);
	return covered >= addr + 5;
}

/*
 * The analysis of the planned windows only, and the plan, from the cache; false (nothing
 * allocated) when there is no usable plan.  Every window is checked as the planner would have
 * left it, except for jump targets, which only the full analysis can see.
 */
bool
si_plan_cache_load(const struct si_object *o, const struct si_code *seg, struct si_analysis *a,
		   struct si_patch **out, bool threads)
{
	char path[4096 + 128];
	if (!plan_path(o, seg->addr, path, sizeof(path)))
		return false;
	size_t size;
	uint8_t *buf = read_plan_file(path, &size);
	if (!buf)
		return false;
	const char *why = "damaged";
	uint64_t *ranges = NULL;
	struct si_patch *p = NULL;
	memset(a, 0, sizeof(*a));
	struct header want, *h = (struct header *)buf;
	const struct record *r = (const struct record *)(buf + sizeof(*h));
	size_t n = h->n_sites;
	fill_header(&want, o, seg->addr, seg->addr + seg->len, n);
	if (memcmp(h, &want, sizeof(want)) != 0) {
		why = "made for another build or segment";
		goto reject;
	}
	if (n == 0 || size != sizeof(*h) + n * sizeof(*r) || !records_sane(r, n, seg->len))
		goto reject;

	ranges = malloc(2 * n * sizeof(*ranges));
	p = calloc(n, sizeof(*p));
	if (!ranges || !p)
		goto reject;
	for (size_t k = 0; k < n; k++) {
		bool window = r[k].method != SI_PATCH_NONE;
		ranges[2 * k] = seg->addr + (window ? r[k].start : r[k].syscall);
		ranges[2 * k + 1] = seg->addr + (window ? r[k].end : r[k].syscall + 2);
	}
	struct si_code only = *seg;
	only.sparse = false;
	only.eh = NULL;
	only.ranges = ranges;
	only.n_ranges = n;
	if (si_analyse(&only, &ranges[0], 1, a) != 0 || a->n_syscalls != n)
		goto reject;
	a->code.ranges = NULL;	/* freed below; only si_analyse reads them */
	a->code.n_ranges = 0;
	for (size_t k = 0; k < n; k++) {
		struct si_patch *q = &p[k];
		q->syscall_addr = seg->addr + r[k].syscall;
		q->method = (enum si_patch_method)r[k].method;
		q->reason = "left unpatched (as planned by an earlier process: see the plan cache)";
		q->first = si_insn_at(a, ranges[2 * k]);
		q->start = ranges[2 * k];
		q->end = ranges[2 * k + 1];
		q->pad_addr = seg->addr + r[k].pad;
		if (q->first == SIZE_MAX || a->insns[a->syscalls[k]].addr != q->syscall_addr)
			goto reject;
		/* the window's instructions tile it exactly, and plan.c would have chosen it */
		uint64_t at = q->start;
		size_t i = q->first;
		for (; i < a->n_insns && at < q->end && a->insns[i].addr == at; i++)
			at += a->insns[i].len;
		q->last = i;
		if (at != q->end || (q->method == SI_PATCH_JMP_WINDOW &&
				     !si_window_ok(a, q->first, q->last, a->syscalls[k], threads)))
			goto reject;
		if (q->method == SI_PATCH_JMP_PADDING && !padding_at(seg, q->pad_addr))
			goto reject;
	}
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
	free(ranges);
	free(p);
	free(buf);
	return false;
}
