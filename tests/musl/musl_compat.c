/*
 * musl_compat.c -- what the library's sources take from glibc and musl lacks, for the musl
 * build of tests/musl only.  late_load.c reads glibc's `_r_debug` variable; musl keeps the same
 * struct r_debug but publishes it only through the DT_DEBUG entry of the executable's dynamic
 * section (which glibc fills too).  The build maps `_r_debug` to (*si_musl_r_debug()).  And
 * gcc's libgcc_eh.a, linked in for unwind.c's __register_frame, was built against glibc >= 2.35
 * and finds FDEs with _dl_find_object, which musl lacks: a version on dl_iterate_phdr is here,
 * hidden, so only that copy of the unwinder uses it.  It must never be linked into the glibc
 * build.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stddef.h>
#include <stdint.h>

static struct r_debug none;

static int
find_debug(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct r_debug **out = data;
	/* The first object is the executable. */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
			continue;
		const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
		for (; d->d_tag != DT_NULL; d++)
			if (d->d_tag == DT_DEBUG && d->d_un.d_ptr)
				*out = (struct r_debug *)d->d_un.d_ptr;
	}
	return 1;
}

__attribute__((visibility("hidden"))) struct r_debug *
si_musl_r_debug(void)
{
	struct r_debug *r = NULL;
	dl_iterate_phdr(find_debug, &r);
	return r ? r : &none;
}

/* glibc's struct dl_find_object on x86-64 (<dlfcn.h>, glibc 2.35). */
struct dl_find_object {
	unsigned long long dlfo_flags;
	void *dlfo_map_start;
	void *dlfo_map_end;
	struct link_map *dlfo_link_map;
	void *dlfo_eh_frame;
	unsigned long long dlfo_reserved[7];
};

struct find {
	uintptr_t pc;
	struct dl_find_object *out;
	int found;
};

static int
find_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct find *f = data;
	uintptr_t lo = UINTPTR_MAX, hi = 0, eh = 0;
	int inside = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + p->p_vaddr, end = start + p->p_memsz;
		if (p->p_type == PT_GNU_EH_FRAME)
			eh = start;
		if (p->p_type != PT_LOAD)
			continue;
		if (start < lo)
			lo = start;
		if (end > hi)
			hi = end;
		if (f->pc >= start && f->pc < end)
			inside = 1;
	}
	if (!inside)
		return 0;
	f->out->dlfo_flags = 0;
	f->out->dlfo_map_start = (void *)lo;
	f->out->dlfo_map_end = (void *)hi;
	f->out->dlfo_link_map = NULL;
	f->out->dlfo_eh_frame = (void *)eh;
	f->found = eh != 0;
	return 1;
}

__attribute__((visibility("hidden"))) int
_dl_find_object(void *pc, struct dl_find_object *out)
{
	struct find f = { (uintptr_t)pc, out, 0 };
	dl_iterate_phdr(find_object, &f);
	return f.found ? 0 : -1;
}
