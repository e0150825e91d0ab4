/*
 * init.c -- the library's constructor: reads the environment, picks the entry code for this
 * CPU, and runs the pipeline (discover, analyse, plan, emit, activate) over every object to
 * patch.  A site that cannot be patched is reported (INTERCEPT_DEBUG_DUMP) and left working as
 * before; nothing here may abort the program.
 */
#define _GNU_SOURCE
#include "intercept.h"
#include "discover.h"
#include "log.h"

#include <cpuid.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void si_entry_sse(void);
void si_entry_avx(void);
void si_entry_avx512(void);

static int patching_allowed;
static int debug_level;

__attribute__((visibility("default"))) int
syscall_hook_in_process_allowed(void)
{
	return patching_allowed;
}

/* "0", empty or unset: 0; a number: that number; anything else: 1. */
static int
env_level(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return 0;
	char *end;
	long n = strtol(v, &end, 10);
	if (*end != '\0')
		return 1;
	return n < 0 ? 0 : (int)(n > 9 ? 9 : n);
}

/* The last path component of the first string of /proc/self/cmdline equals `want`? */
static bool
cmdline_matches(const char *want)
{
	char buf[4096];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	const char *slash = strrchr(buf, '/');
	return strcmp(slash ? slash + 1 : buf, want) == 0;
}

static uint64_t
read_xcr0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* The entry that saves exactly the vector state this CPU and kernel have enabled. */
static void (*choose_entry(void))(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return si_entry_sse;
	uint64_t xcr0 = read_xcr0();
	bool avx = (c & bit_AVX) && (xcr0 & 0x6) == 0x6;
	bool avx512 = false;
	if (avx && __get_cpuid_count(7, 0, &a, &b, &c, &d))
		avx512 = (b & bit_AVX512F) && (xcr0 & 0xe0) == 0xe0;
	return avx512 ? si_entry_avx512 : avx ? si_entry_avx : si_entry_sse;
}

static void
report(struct si_object *o, const struct si_analysis *a, const struct si_patch *p)
{
	for (size_t k = 0; k < a->n_syscalls; k++) {
		o->n_sites++;
		switch (p[k].method) {
		case SI_PATCH_JMP_WINDOW:
			o->n_window++;
			break;
		case SI_PATCH_JMP_PADDING:
			o->n_padding++;
			break;
		default:
			o->n_unpatched++;
			break;
		}
		if (p[k].method == SI_PATCH_NONE && debug_level >= 1)
			si_dprintf(2, "syscall_intercept: unpatched %s 0x%lx: %s\n", o->path,
				   (unsigned long)(p[k].syscall_addr - o->base), p[k].reason);
		else if (debug_level >= 2)
			si_dprintf(2, "syscall_intercept: site %s 0x%lx: %s\n", o->path,
				   (unsigned long)(p[k].syscall_addr - o->base),
				   si_patch_method_name(p[k].method));
	}
}

static void
patch_segment(struct si_object *o, int seg, const uint64_t *starts, size_t n_starts,
	      void (*entry)(void))
{
	struct si_code code = {
		.bytes = (const uint8_t *)o->text[seg].start,
		.addr = o->text[seg].start,
		.len = o->text[seg].end - o->text[seg].start,
	};
	struct si_analysis a;
	if (si_analyse(&code, starts, n_starts, &a) != 0 || a.n_syscalls == 0) {
		si_analysis_free(&a);
		return;
	}
	struct si_patch *p = calloc(a.n_syscalls, sizeof(*p));
	struct si_write *w = calloc(a.n_syscalls * 2, sizeof(*w));
	uint8_t *area = NULL;
	size_t area_size = 8 + a.n_syscalls * SI_MAX_TRAMPOLINE_LEN;
	if (p && w) {
		si_plan(&a, p);
		area = si_map_near(code.addr, code.addr + code.len, area_size);
	}
	if (!area) {
		for (size_t k = 0; p && k < a.n_syscalls; k++)
			if (p[k].method != SI_PATCH_NONE) {
				p[k].method = SI_PATCH_NONE;
				p[k].reason = "no memory for trampolines within 2 GiB";
			}
		goto done;
	}

	uint64_t slot = (uint64_t)area;
	*(void (**)(void))area = entry;
	size_t used = 8, n_w = 0;
	for (size_t k = 0; k < a.n_syscalls; k++) {
		if (p[k].method == SI_PATCH_NONE)
			continue;
		size_t len = si_emit_trampoline(&a, &p[k], o, slot, area + used, (uint64_t)area + used);
		if (len == 0) {
			p[k].method = SI_PATCH_NONE;
			p[k].reason = "an instruction next to it cannot be relocated";
			continue;
		}
		struct si_write *win = &w[n_w++];
		uint8_t pad[5];
		win->addr = p[k].start;
		win->len = (uint8_t)(p[k].end - p[k].start);
		si_emit_window(&p[k], (uint64_t)area + used, win->bytes, pad);
		if (p[k].method == SI_PATCH_JMP_PADDING) {
			struct si_write *pw = &w[n_w++];
			pw->addr = p[k].pad_addr;
			pw->len = 5;
			memcpy(pw->bytes, pad, 5);
		}
		used = (used + len + 15) & ~(size_t)15;
	}
	if (mprotect(area, area_size, PROT_READ | PROT_EXEC) != 0 ||
	    si_activate(w, n_w, code.addr, code.addr + code.len, o->text[seg].prot) != 0) {
		for (size_t k = 0; k < a.n_syscalls; k++)
			if (p[k].method != SI_PATCH_NONE) {
				p[k].method = SI_PATCH_NONE;
				p[k].reason = "the text could not be made writable";
			}
	}
done:
	if (p)
		report(o, &a, p);
	free(p);
	free(w);
	si_analysis_free(&a);
}

static void
patch_object(struct si_object *o, void (*entry)(void))
{
	uint64_t *starts = NULL;
	size_t n_starts = si_function_starts(o, &starts);
	for (int seg = 0; seg < o->n_text; seg++)
		patch_segment(o, seg, starts, n_starts, entry);
	free(starts);
	if (debug_level >= 1)
		si_dprintf(2, "syscall_intercept: patched %s: %zu sites, %zu jmp-window, "
			   "%zu jmp-padding, %zu unpatched\n", o->path, o->n_sites, o->n_window,
			   o->n_padding, o->n_unpatched);
}

static struct si_object *objects;
static size_t n_objects;

__attribute__((constructor)) static void
si_init(void)
{
	const char *filter = getenv("INTERCEPT_HOOK_CMDLINE_FILTER");
	if (filter && *filter && !cmdline_matches(filter))
		return;
	patching_allowed = 1;
	debug_level = env_level("INTERCEPT_DEBUG_DUMP");
	si_log_init();
	void (*entry)(void) = choose_entry();
	n_objects = si_discover(&objects, env_level("INTERCEPT_ALL_OBJS") > 0);
	for (size_t i = 0; i < n_objects; i++)
		patch_object(&objects[i], entry);
}
