/*
 * discover.c -- finds the loaded objects to patch (libc and the libraries that were part of it
 * in older glibc, ld.so, or every object with INTERCEPT_ALL_OBJS) and, for each, its code (the
 * executable sections) and every address known to start a function: FDEs from .eh_frame_hdr
 * and symbols from the ELF file's .symtab/.dynsym.  Those starts are jump targets the analyser
 * cannot see from the code alone.  It also notes the object's readable segments, the only
 * memory landing.c may read its unwind tables from.  It only reads.
 */
#define _GNU_SOURCE
#include "intercept.h"
#include "discover.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <Zydis/Zydis.h>

/* DWARF pointer encodings (.eh_frame_hdr) */
#define DW_EH_PE_absptr 0x00
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_udata8 0x04
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_sdata8 0x0c
#define DW_EH_PE_datarel 0x30

struct collect {
	struct si_object *objs;
	size_t n, cap;
	bool all;
	uint64_t libc_addr, self_addr, zydis_addr, ldso_base, vdso_base;
};

static bool
contains(const struct dl_phdr_info *info, uint64_t addr)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && addr >= info->dlpi_addr + ph->p_vaddr &&
		    addr < info->dlpi_addr + ph->p_vaddr + ph->p_memsz)
			return true;
	}
	return false;
}

/*
 * Libraries that were parts of the C library before glibc 2.34 merged them into libc.so.6: they
 * have their own syscall wrappers (libpthread's read, write, accept...), which replace libc's in
 * threaded programs.  Since 2.34 they are empty stubs, and patching them costs nothing.
 */
static bool
is_libc_part(const char *path)
{
	static const char *const parts[] = { "libpthread.so", "librt.so", "libanl.so", "libdl.so",
					     "libutil.so" };
	if (!path)
		return false;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (strncmp(base, parts[i], strlen(parts[i])) == 0)
			return true;
	return false;
}

void
si_read_build_id(struct si_object *o, const void *notes, size_t len)
{
	const uint8_t *p = notes;
	while (len >= 12) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, p, 4);
		memcpy(&descsz, p + 4, 4);
		memcpy(&type, p + 8, 4);
		size_t name_end = 12 + ((namesz + 3) & ~3u), desc_end = name_end + ((descsz + 3) & ~3u);
		if (namesz > len || descsz > len || desc_end > len)
			return;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(p + 12, "GNU", 4) == 0 &&
		    descsz > 0 && descsz <= sizeof(o->build_id)) {
			memcpy(o->build_id, p + name_end, descsz);
			o->build_id_len = (uint8_t)descsz;
			return;
		}
		p += desc_end;
		len -= desc_end;
	}
}

static int
visit(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct collect *c = data;
	if (info->dlpi_addr == c->vdso_base && c->vdso_base)
		return 0;
	if (contains(info, c->self_addr) || contains(info, c->zydis_addr))
		return 0;
	bool is_libc = contains(info, c->libc_addr) || is_libc_part(info->dlpi_name);
	bool is_ldso = info->dlpi_addr == c->ldso_base;
	if (!is_libc && !is_ldso && !c->all)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct si_object *grown = realloc(c->objs, cap * sizeof(*grown));
		if (!grown)
			return 1;
		c->objs = grown;
		c->cap = cap;
	}
	struct si_object *o = &c->objs[c->n];
	memset(o, 0, sizeof(*o));
	o->base = info->dlpi_addr;
	o->is_libc = is_libc;
	o->is_ldso = is_ldso;
	const char *name = info->dlpi_name;
	if (!name || !*name) {	/* the executable */
		ssize_t len = readlink("/proc/self/exe", o->path, sizeof(o->path) - 1);
		o->path[len > 0 ? len : 0] = '\0';
	} else {
		strncpy(o->path, name, sizeof(o->path) - 1);
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_EH_FRAME)
			o->eh_frame_hdr = o->eh.eh_frame_hdr = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_NOTE && !o->build_id_len)
			si_read_build_id(o, (const void *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz);
		/* The loader maps each segment whole: unwind tables are read only from these. */
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && o->eh.n_seg < SI_MAX_SEGMENTS) {
			uint64_t start = info->dlpi_addr + ph->p_vaddr;
			o->eh.seg[o->eh.n_seg].start = start;
			o->eh.seg[o->eh.n_seg].end = start + ph->p_memsz;
			o->eh.seg[o->eh.n_seg].bytes = (const uint8_t *)start;
			o->eh.n_seg++;
		}
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || o->n_text == SI_MAX_SEGMENTS)
			continue;
		o->text[o->n_text].start = info->dlpi_addr + ph->p_vaddr;
		o->text[o->n_text].end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		o->text[o->n_text].prot = PROT_EXEC | (ph->p_flags & PF_R ? PROT_READ : 0) |
					  (ph->p_flags & PF_W ? PROT_WRITE : 0);
		o->n_text++;
	}
	if (o->n_text)
		c->n++;
	return 0;
}

static void
mark_self(void)
{
}

size_t
si_discover(struct si_object **out, bool all_objects)
{
	struct collect c = {
		.all = all_objects,
		.libc_addr = (uint64_t)&getpid,
		.self_addr = (uint64_t)&mark_self,
		.zydis_addr = (uint64_t)&ZydisDecoderInit,
		.ldso_base = getauxval(AT_BASE),
		.vdso_base = getauxval(AT_SYSINFO_EHDR),
	};
	dl_iterate_phdr(visit, &c);
	*out = c.objs;
	return c.n;
}

/* ---- function starts */

struct starts {
	uint64_t *v;
	size_t n, cap;
};

static void
add_start(struct starts *s, uint64_t addr)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint64_t *grown = realloc(s->v, cap * sizeof(*grown));
		if (!grown)
			return;
		s->v = grown;
		s->cap = cap;
	}
	s->v[s->n++] = addr;
}

/*
 * .eh_frame_hdr: version 1, then the encodings of eh_frame_ptr, fde_count and the table.  Only
 * the encodings every toolchain emits are read (udata4 count, datarel|sdata4 table).
 */
const int32_t *
si_eh_frame_table(const struct si_object *o, uint32_t *count)
{
	const uint8_t *h = (const uint8_t *)o->eh_frame_hdr;
	*count = 0;
	if (!h || h[0] != 1 || h[2] != DW_EH_PE_udata4 || h[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return NULL;
	size_t ptr_len;
	switch (h[1] & 0x0f) {
	case DW_EH_PE_sdata4:
	case DW_EH_PE_udata4:
		ptr_len = 4;
		break;
	case DW_EH_PE_sdata8:
	case DW_EH_PE_udata8:
	case DW_EH_PE_absptr:
		ptr_len = 8;
		break;
	default:
		return NULL;
	}
	memcpy(count, h + 4 + ptr_len, 4);
	return (const int32_t *)(h + 8 + ptr_len);
}

static void
starts_from_eh_frame_hdr(const struct si_object *o, struct starts *s)
{
	uint32_t count;
	const int32_t *table = si_eh_frame_table(o, &count);
	for (uint32_t i = 0; i < count; i++)
		add_start(s, o->eh_frame_hdr + (int64_t)table[2 * (size_t)i]);
}

/*
 * Narrows o->text from the executable segments to the executable sections in them: linkers may
 * put .rodata, .eh_frame or relocations in an executable segment, and data must never be taken
 * for code (the bytes 0f 05 in a table are no syscall).  Sections closer than 64 bytes are
 * merged (the gap is alignment padding).
 */
static void
narrow_to_exec_sections(struct si_object *o, const ElfW(Shdr) *sh, int n_sh)
{
	struct si_object narrowed = *o;
	narrowed.n_text = 0;
	for (int i = 0; i < n_sh; i++) {
		if ((sh[i].sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR) ||
		    sh[i].sh_size == 0 || sh[i].sh_type == SHT_NOBITS)
			continue;
		uint64_t start = o->base + sh[i].sh_addr, end = start + sh[i].sh_size;
		int seg = -1;
		for (int k = 0; k < o->n_text; k++)
			if (start >= o->text[k].start && end <= o->text[k].end)
				seg = k;
		if (seg < 0)
			return;	/* sections and segments disagree: keep the segments */
		int last = narrowed.n_text - 1;
		if (last >= 0 && narrowed.text[last].prot == o->text[seg].prot &&
		    start >= narrowed.text[last].start && start <= narrowed.text[last].end + 64) {
			if (end > narrowed.text[last].end)
				narrowed.text[last].end = end;
			continue;
		}
		if (narrowed.n_text == SI_MAX_SEGMENTS)
			return;
		narrowed.text[narrowed.n_text].start = start;
		narrowed.text[narrowed.n_text].end = end;
		narrowed.text[narrowed.n_text].prot = o->text[seg].prot;
		narrowed.n_text++;
	}
	if (narrowed.n_text > 0)
		*o = narrowed;
}

/*
 * From the file on disk: every defined symbol (.symtab has the local ones, when not stripped),
 * and the executable sections.
 */
static void
read_object_file(struct si_object *o, struct starts *s)
{
	int fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(ElfW(Ehdr))) {
		close(fd);
		return;
	}
	const uint8_t *file = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (file == MAP_FAILED)
		return;
	size_t size = st.st_size;
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)file;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff == 0 || eh->e_shentsize != sizeof(ElfW(Shdr)) ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr)) > size)
		goto out;
	const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(file + eh->e_shoff);
	narrow_to_exec_sections(o, sh, eh->e_shnum);
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB && sh[i].sh_type != SHT_DYNSYM)
			continue;
		if (sh[i].sh_offset + sh[i].sh_size > size || sh[i].sh_entsize != sizeof(ElfW(Sym)))
			continue;
		const ElfW(Sym) *sym = (const ElfW(Sym) *)(file + sh[i].sh_offset);
		size_t n = sh[i].sh_size / sizeof(ElfW(Sym));
		for (size_t k = 0; k < n; k++) {
			if (sym[k].st_shndx == SHN_UNDEF || sym[k].st_shndx >= SHN_LORESERVE)
				continue;
			int type = ELF64_ST_TYPE(sym[k].st_info);
			if (type == STT_SECTION || type == STT_FILE || type == STT_TLS)
				continue;
			add_start(s, o->base + sym[k].st_value);
		}
	}
out:
	munmap((void *)file, size);
}

size_t
si_read_object(struct si_object *o, uint64_t **out)
{
	struct starts s = { 0 };
	starts_from_eh_frame_hdr(o, &s);
	read_object_file(o, &s);
	*out = s.v;
	return s.n;
}
