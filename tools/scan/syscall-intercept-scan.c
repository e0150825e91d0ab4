/*
 * syscall-intercept-scan -- the patchability census: analyses ELF files on disk, without running
 * them, with the library's own pipeline (si_analyse, si_plan, si_emit_trampoline from si_core)
 * and reports every `syscall` site and how the library would patch it: jmp-window, jmp-padding,
 * or unpatched with the reason.  Function starts come from the file itself, as discover.c finds
 * them in memory: the FDE table of .eh_frame_hdr and every defined symbol of .symtab/.dynsym.
 * Like the library, it decodes the executable sections (SHF_EXECINSTR), or whole executable
 * segments for a file without section headers; a site outside every executable section (data
 * that reads 0f 05) can then only appear in such a file, and is flagged "[not code: in SECTION]".
 * Exception landing pads are read from the file's unwind tables (landing.c), as in memory.
 *
 *   syscall-intercept-scan [--summary] [--check] [--quiet] [--landing-pads] [--threads] FILE...
 *
 * --summary prints one line per file (plus its unpatched sites) instead of one per site;
 * --check exits 1 when any site is left unpatched; --quiet says nothing about files that are
 * not x86-64 ELF objects; --landing-pads adds, per file, the landing pads of all its FDEs, how
 * many lie in the code the analysis decodes, and each one that a plan made without knowing
 * landing pads would have covered (the bug they prevent), checking that the analysis marked
 * every pad in decoded code as a target; --threads plans as the library does when other
 * threads run while it patches.  Every plan it makes is held to the library's rule for plans
 * (si_plan_valid); one that breaks it is reported and makes the exit status 2.  It only reads
 * the files: it must never write to them or run them.
 */
#define _GNU_SOURCE
#include "intercept.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* DWARF pointer encodings used by .eh_frame_hdr */
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_datarel 0x30

struct file {
	const char *path;
	const uint8_t *map;
	size_t size;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	const Elf64_Shdr *sh;	/* section headers, or NULL when the file has none */
	const char *shstr;	/* their names, or NULL */
	struct si_eh_view view;	/* its unwind tables, at their link-time addresses */
	uint64_t *pads;		/* --landing-pads: every landing pad of the file, sorted, unique */
	size_t n_pads;
};

struct starts {
	uint64_t *v;
	size_t n, cap;
};

struct counts {
	size_t files, sites, window, padding, unpatched;
	size_t not_code;	/* sites outside every executable section: data bytes 0f 05 */
	/* --landing-pads */
	size_t pads, pads_decoded, pads_in_old_windows, pads_missed;
};

static bool opt_summary, opt_check, opt_quiet, opt_pads, opt_threads;
static size_t invalid_plans;	/* plans si_plan_valid refused: a planner bug, exit status 2 */

/* Holds a plan the planner just made to the library's rule for plans (si_plan_valid). */
static void
check_plan_rule(const struct file *f, const struct si_analysis *a, const struct si_patch *p,
		const char *what)
{
	const char *why = NULL;
	size_t k = SIZE_MAX;
	if (si_plan_valid(a, p, a->n_syscalls, opt_threads, &why, &k))
		return;
	invalid_plans++;
	fprintf(stderr, "syscall-intercept-scan: %s: the %s breaks the plan rule at site 0x%lx: "
		"%s\n", f->path, what, (unsigned long)(k < a->n_syscalls ? p[k].syscall_addr : 0),
		why);
}

static void
add_start(struct starts *s, uint64_t addr)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint64_t *grown = realloc(s->v, cap * sizeof(*grown));
		if (!grown) {
			fprintf(stderr, "syscall-intercept-scan: out of memory\n");
			exit(2);
		}
		s->v = grown;
		s->cap = cap;
	}
	s->v[s->n++] = addr;
}

/*
 * The FDE table of .eh_frame_hdr: version 1, the encodings of eh_frame_ptr, fde_count and the
 * table; only a udata4 count and a datarel|sdata4 table are read, as discover.c does.  Table
 * entries are relative to the start of .eh_frame_hdr.
 */
static void
starts_from_eh_frame_hdr(const struct file *f, struct starts *s)
{
	for (int i = 0; i < f->eh->e_phnum; i++) {
		const Elf64_Phdr *p = &f->ph[i];
		if (p->p_type != PT_GNU_EH_FRAME || p->p_filesz < 12 ||
		    p->p_offset + p->p_filesz > f->size)
			continue;
		const uint8_t *h = f->map + p->p_offset;
		if (h[0] != 1 || h[2] != DW_EH_PE_udata4 ||
		    h[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
			return;
		size_t ptr_len = (h[1] & 0x0f) == DW_EH_PE_sdata4 || (h[1] & 0x0f) == DW_EH_PE_udata4
				 ? 4 : 8;
		uint32_t count;
		memcpy(&count, h + 4 + ptr_len, 4);
		size_t table = 8 + ptr_len;
		if (table + 8 * (uint64_t)count > p->p_filesz)
			return;
		for (uint32_t k = 0; k < count; k++) {
			int32_t loc;
			memcpy(&loc, h + table + 8 * (size_t)k, 4);
			add_start(s, p->p_vaddr + (int64_t)loc);
		}
		return;
	}
}

/* Every defined symbol of .symtab and .dynsym (st_value is the address for a shared object). */
static void
starts_from_symbols(const struct file *f, struct starts *s)
{
	const Elf64_Ehdr *eh = f->eh;
	if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > f->size)
		return;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(f->map + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB && sh[i].sh_type != SHT_DYNSYM)
			continue;
		if (sh[i].sh_offset + sh[i].sh_size > f->size || sh[i].sh_entsize != sizeof(Elf64_Sym))
			continue;
		const Elf64_Sym *sym = (const Elf64_Sym *)(f->map + sh[i].sh_offset);
		size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
		for (size_t k = 0; k < n; k++) {
			if (sym[k].st_shndx == SHN_UNDEF || sym[k].st_shndx >= SHN_LORESERVE)
				continue;
			int type = ELF64_ST_TYPE(sym[k].st_info);
			if (type == STT_SECTION || type == STT_FILE || type == STT_TLS)
				continue;
			add_start(s, sym[k].st_value);
		}
	}
}

/*
 * The section holding vaddr when it is not an executable (SHF_EXECINSTR) one: such a "site" is
 * data that happens to read 0f 05 inside an executable segment (a file linked without separate
 * code and data pages).  NULL when it is in code, or when the file has no section headers.
 */
static const char *
data_section_at(const struct file *f, uint64_t vaddr)
{
	if (!f->sh)
		return NULL;
	for (int i = 0; i < f->eh->e_shnum; i++) {
		const Elf64_Shdr *s = &f->sh[i];
		if (!(s->sh_flags & SHF_ALLOC) || vaddr < s->sh_addr || vaddr >= s->sh_addr + s->sh_size)
			continue;
		if (s->sh_flags & SHF_EXECINSTR)
			return NULL;
		return f->shstr ? f->shstr + s->sh_name : "(unnamed section)";
	}
	return "(no section)";
}

static const char *
short_reason(const char *r)
{
	return r ? r : "(no reason given)";
}

/*
 * The file's unwind tables as landing.c reads them in memory: the PT_LOAD segments' file bytes
 * at their link-time addresses (the file has no relocations applied; the tables need none).
 */
static void
make_view(struct file *f)
{
	for (int i = 0; i < f->eh->e_phnum; i++) {
		const Elf64_Phdr *p = &f->ph[i];
		if (p->p_type == PT_GNU_EH_FRAME)
			f->view.eh_frame_hdr = p->p_vaddr;
		if (p->p_type != PT_LOAD || !(p->p_flags & PF_R) || p->p_filesz == 0 ||
		    p->p_offset + p->p_filesz > f->size || f->view.n_seg == SI_MAX_SEGMENTS)
			continue;
		f->view.seg[f->view.n_seg].start = p->p_vaddr;
		f->view.seg[f->view.n_seg].end = p->p_vaddr + p->p_filesz;
		f->view.seg[f->view.n_seg].bytes = f->map + p->p_offset;
		f->view.n_seg++;
	}
}

static void
add_pad(void *ctx, uint64_t pad)
{
	add_start(ctx, pad);
}

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* --landing-pads: every landing pad of every FDE of the file. */
static void
collect_pads(struct file *f)
{
	struct starts pads = { 0 };
	si_landing_pads(&f->view, 0, UINT64_MAX, add_pad, &pads);
	if (pads.n)
		qsort(pads.v, pads.n, sizeof(*pads.v), cmp_u64);
	size_t n = 0;
	for (size_t i = 0; i < pads.n; i++)
		if (n == 0 || pads.v[n - 1] != pads.v[i])
			pads.v[n++] = pads.v[i];
	f->pads = pads.v;
	f->n_pads = n;
	for (size_t i = 0; i < n && !opt_summary; i++)
		printf("%s 0x%lx landing pad\n", f->path, (unsigned long)f->pads[i]);
}

/*
 * --landing-pads, for one analysed segment: the pads that fall in decoded instructions, each
 * one the plan made without landing pads (the analysis as it was before landing.c) placed
 * inside a window, and any the analysis failed to mark as a target.
 */
static void
check_pads(const struct file *f, const struct si_code *code, const struct starts *s,
	   const struct si_analysis *a, struct counts *c)
{
	struct si_code blind = *code;
	blind.eh = NULL;
	struct si_analysis old;
	if (si_analyse(&blind, s->v, s->n, &old) != 0) {
		fprintf(stderr, "syscall-intercept-scan: %s: out of memory\n", f->path);
		exit(2);
	}
	struct si_patch *plan = calloc(old.n_syscalls + 1, sizeof(*plan));
	if (!plan) {
		fprintf(stderr, "syscall-intercept-scan: out of memory\n");
		exit(2);
	}
	si_plan(&old, plan, opt_threads);
	check_plan_rule(f, &old, plan, "plan made without landing pads");
	for (size_t k = 0; k < f->n_pads; k++) {
		uint64_t pad = f->pads[k];
		if (pad < code->addr || pad >= code->addr + code->len)
			continue;
		size_t i = si_insn_at(a, pad);
		if (i == SIZE_MAX || (a->insns[i].flags & SI_INSN_INVALID)) {
			/* not decoded (or inside an instruction): no window can be near it */
			continue;
		}
		c->pads_decoded++;
		if (!(a->insns[i].flags & SI_INSN_TARGET)) {
			c->pads_missed++;
			printf("%s 0x%lx landing pad NOT marked as a target\n", f->path,
			       (unsigned long)pad);
		}
		for (size_t j = 0; j < old.n_syscalls; j++) {
			const struct si_patch *q = &plan[j];
			if (q->method == SI_PATCH_NONE || pad <= q->start || pad >= q->end)
				continue;
			c->pads_in_old_windows++;
			printf("%s 0x%lx landing pad inside the window 0x%lx-0x%lx of site 0x%lx as "
			       "planned without landing pads\n", f->path, (unsigned long)pad,
			       (unsigned long)q->start, (unsigned long)q->end,
			       (unsigned long)q->syscall_addr);
		}
	}
	free(plan);
	si_analysis_free(&old);
}

/*
 * Plans one executable segment and tries to build each trampoline as patch.c would, at an
 * address just past the segment (si_map_near places them within reach; the exact place only
 * matters for instructions the relocator cannot move at all).
 */
static void
scan_segment(const struct file *f, const Elf64_Phdr *p, const struct starts *s, struct counts *c)
{
	struct si_code code = {
		.bytes = f->map + p->p_offset,
		.addr = p->p_vaddr,
		.len = p->p_filesz,
		.sparse = true,
		.eh = &f->view,
	};
	struct si_analysis a;
	if (si_analyse(&code, s->v, s->n, &a) != 0) {
		fprintf(stderr, "syscall-intercept-scan: %s: out of memory\n", f->path);
		exit(2);
	}
	if (opt_pads)
		check_pads(f, &code, s, &a, c);
	if (a.n_syscalls == 0) {
		si_analysis_free(&a);
		return;
	}
	struct si_patch *plan = calloc(a.n_syscalls, sizeof(*plan));
	if (!plan) {
		fprintf(stderr, "syscall-intercept-scan: out of memory\n");
		exit(2);
	}
	si_plan(&a, plan, opt_threads);
	check_plan_rule(f, &a, plan, "plan");
	uint64_t area = (p->p_vaddr + p->p_memsz + 0xffff) & ~(uint64_t)0xfff;
	struct si_object obj;
	memset(&obj, 0, sizeof(obj));
	for (size_t k = 0; k < a.n_syscalls; k++) {
		struct si_patch *pt = &plan[k];
		if (pt->method != SI_PATCH_NONE) {
			uint8_t tramp[SI_MAX_TRAMPOLINE_LEN];
			uint64_t at = area + 8 + k * SI_MAX_TRAMPOLINE_LEN;
			if (si_emit_trampoline(&a, pt, &obj, area, tramp, at, NULL) == 0) {
				pt->method = SI_PATCH_NONE;
				pt->reason = "an instruction next to it cannot be relocated";
			}
		}
		c->sites++;
		const char *data = data_section_at(f, pt->syscall_addr);
		char note[128] = "";
		if (data) {
			c->not_code++;
			snprintf(note, sizeof(note), " [not code: in %s]", data);
		}
		switch (pt->method) {
		case SI_PATCH_JMP_WINDOW:
			c->window++;
			if (!opt_summary)
				printf("%s 0x%lx jmp-window 0x%lx-0x%lx%s\n", f->path,
				       (unsigned long)pt->syscall_addr, (unsigned long)pt->start,
				       (unsigned long)pt->end, note);
			break;
		case SI_PATCH_JMP_PADDING:
			c->padding++;
			if (!opt_summary)
				printf("%s 0x%lx jmp-padding 0x%lx-0x%lx pad 0x%lx%s\n", f->path,
				       (unsigned long)pt->syscall_addr, (unsigned long)pt->start,
				       (unsigned long)pt->end, (unsigned long)pt->pad_addr, note);
			break;
		default:
			c->unpatched++;
			printf("%s 0x%lx unpatched: %s%s\n", f->path, (unsigned long)pt->syscall_addr,
			       short_reason(pt->reason), note);
			break;
		}
	}
	free(plan);
	si_analysis_free(&a);
}

static bool
open_elf(struct file *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "syscall-intercept-scan: %s: %s\n", path, strerror(errno));
		return false;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		if (!opt_quiet)
			fprintf(stderr, "syscall-intercept-scan: %s: not an ELF file (skipped)\n", path);
		return false;
	}
	f->size = (size_t)st.st_size;
	void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		fprintf(stderr, "syscall-intercept-scan: %s: %s\n", path, strerror(errno));
		return false;
	}
	f->map = m;
	f->eh = m;
	const Elf64_Ehdr *eh = f->eh;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64 ||
	    (eh->e_type != ET_DYN && eh->e_type != ET_EXEC) ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > f->size) {
		if (!opt_quiet)
			fprintf(stderr, "syscall-intercept-scan: %s: not an x86-64 ELF executable or "
				"shared object (skipped)\n", path);
		munmap(m, f->size);
		return false;
	}
	f->ph = (const Elf64_Phdr *)(f->map + eh->e_phoff);
	if (eh->e_shoff && eh->e_shentsize == sizeof(Elf64_Shdr) &&
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) <= f->size) {
		f->sh = (const Elf64_Shdr *)(f->map + eh->e_shoff);
		if (eh->e_shstrndx < eh->e_shnum &&
		    f->sh[eh->e_shstrndx].sh_offset + f->sh[eh->e_shstrndx].sh_size <= f->size &&
		    f->sh[eh->e_shstrndx].sh_size > 0 &&
		    f->map[f->sh[eh->e_shstrndx].sh_offset + f->sh[eh->e_shstrndx].sh_size - 1] == 0)
			f->shstr = (const char *)f->map + f->sh[eh->e_shstrndx].sh_offset;
	}
	return true;
}

/* Scans one file; returns false when it could not be read as an ELF object. */
static bool
scan_file(const char *path, struct counts *total)
{
	struct file f;
	if (!open_elf(&f, path))
		return false;
	struct starts s = { 0 };
	starts_from_eh_frame_hdr(&f, &s);
	starts_from_symbols(&f, &s);
	struct counts c = { 0 };
	make_view(&f);
	if (opt_pads)
		collect_pads(&f);
	/* The executable sections, as the library narrows segments to them (discover.c). */
	bool by_section = false;
	for (int i = 0; f.sh && i < f.eh->e_shnum; i++) {
		const Elf64_Shdr *sh = &f.sh[i];
		if ((sh->sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR) ||
		    sh->sh_type == SHT_NOBITS || sh->sh_size == 0 || sh->sh_offset + sh->sh_size > f.size)
			continue;
		Elf64_Phdr as_segment = { .p_type = PT_LOAD, .p_flags = PF_X | PF_R,
			.p_offset = sh->sh_offset, .p_vaddr = sh->sh_addr,
			.p_filesz = sh->sh_size, .p_memsz = sh->sh_size };
		scan_segment(&f, &as_segment, &s, &c);
		by_section = true;
	}
	for (int i = 0; !by_section && i < f.eh->e_phnum; i++) {
		const Elf64_Phdr *p = &f.ph[i];
		if (p->p_type != PT_LOAD || !(p->p_flags & PF_X) || p->p_filesz == 0)
			continue;
		if (p->p_offset + p->p_filesz > f.size) {
			fprintf(stderr, "syscall-intercept-scan: %s: truncated segment (skipped)\n",
				path);
			continue;
		}
		scan_segment(&f, p, &s, &c);
	}
	printf("%s: %zu sites, %zu jmp-window, %zu jmp-padding, %zu unpatched", path, c.sites,
	       c.window, c.padding, c.unpatched);
	if (c.not_code)
		printf(" (%zu of the sites not in code sections)", c.not_code);
	printf("\n");
	if (opt_pads)
		printf("%s: %zu landing pads, %zu in decoded code, %zu inside windows planned without "
		       "them, %zu not marked\n", path, f.n_pads, c.pads_decoded,
		       c.pads_in_old_windows, c.pads_missed);
	total->pads += f.n_pads;
	total->pads_decoded += c.pads_decoded;
	total->pads_in_old_windows += c.pads_in_old_windows;
	total->pads_missed += c.pads_missed;
	free(f.pads);
	total->files++;
	total->not_code += c.not_code;
	total->sites += c.sites;
	total->window += c.window;
	total->padding += c.padding;
	total->unpatched += c.unpatched;
	free(s.v);
	munmap((void *)f.map, f.size);
	return true;
}

static void
usage(FILE *to)
{
	fprintf(to, "usage: syscall-intercept-scan [--summary] [--check] [--quiet] [--landing-pads] "
		"[--threads] FILE...\n"
		"  Reports each syscall instruction of the ELF files and how libsyscall_intercept\n"
		"  would patch it: jmp-window, jmp-padding, or unpatched (with the reason).\n"
		"  --summary  one line per file, plus the unpatched sites\n"
		"  --check    exit status 1 when any site would be left unpatched\n"
		"  --quiet    no message for files that are not x86-64 ELF objects\n"
		"  --landing-pads  count exception landing pads, and list those a plan made\n"
		"             without them would have covered\n"
		"  --threads  plan as when other threads run while the object is patched (a\n"
		"             dlopen in a threaded program); the default is as at start-up\n");
}

int
main(int argc, char **argv)
{
	int first = 1;
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (strcmp(argv[first], "--summary") == 0) {
			opt_summary = true;
		} else if (strcmp(argv[first], "--check") == 0) {
			opt_check = true;
		} else if (strcmp(argv[first], "--quiet") == 0) {
			opt_quiet = true;
		} else if (strcmp(argv[first], "--landing-pads") == 0) {
			opt_pads = true;
		} else if (strcmp(argv[first], "--threads") == 0) {
			opt_threads = true;
		} else if (strcmp(argv[first], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[first], "--") == 0) {
			first++;
			break;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (first == argc) {
		usage(stderr);
		return 2;
	}
	struct counts total = { 0 };
	int status = 0;
	/* Files that are not ELF objects are skipped, not errors: census.sh passes whole trees. */
	for (int i = first; i < argc; i++)
		scan_file(argv[i], &total);
	size_t patched = total.window + total.padding;
	printf("total: %zu files, %zu sites, %zu jmp-window, %zu jmp-padding, %zu unpatched "
	       "(%.3f%% patchable)\n", total.files, total.sites, total.window, total.padding,
	       total.unpatched, total.sites ? 100.0 * (double)patched / (double)total.sites : 100.0);
	if (total.not_code)
		printf("total: %zu of the sites are bytes 0f 05 outside code sections\n", total.not_code);
	if (opt_pads)
		printf("total: %zu landing pads, %zu in decoded code, %zu inside windows planned "
		       "without them, %zu not marked\n", total.pads, total.pads_decoded,
		       total.pads_in_old_windows, total.pads_missed);
	if (opt_check && total.pads_missed)
		status = 1;
	if (opt_check && total.unpatched)
		status = 1;
	if (invalid_plans) {
		fprintf(stderr, "syscall-intercept-scan: %zu plans break the plan rule\n",
			invalid_plans);
		status = 2;
	}
	return status;
}
