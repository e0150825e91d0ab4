/*
 * unwind.c -- unwind information for the trampolines, so that backtrace(), pthread_cancel and
 * C++ unwinding walk from our frames back into the patched function and its callers.  For each
 * trampoline it writes an FDE that says "the frame is the original function's frame as it was
 * at the window's start, with RSP 128 lower between the red-zone skip and its undo": the
 * original FDE's CFA program is replayed up to the window start (advances dropped) and the RSP
 * adjustment appended.  The result is registered with libgcc's __register_frame.  It only reads
 * the objects' .eh_frame; a site whose FDE cannot be read simply gets no unwind info.
 */
#include "intercept.h"
#include "discover.h"
#include "unwind.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

void __register_frame(void *begin);	/* libgcc_s */

#define DW_CFA_advance_loc 0x40
#define DW_CFA_offset 0x80
#define DW_CFA_restore 0xc0
#define DW_CFA_set_loc 0x01
#define DW_CFA_advance_loc1 0x02
#define DW_CFA_advance_loc2 0x03
#define DW_CFA_advance_loc4 0x04
#define DW_CFA_remember_state 0x0a
#define DW_CFA_restore_state 0x0b
#define DW_CFA_def_cfa 0x0c
#define DW_CFA_def_cfa_register 0x0d
#define DW_CFA_def_cfa_offset 0x0e
#define DW_CFA_def_cfa_expression 0x0f
#define DW_CFA_def_cfa_sf 0x12
#define DW_CFA_def_cfa_offset_sf 0x13
#define DWARF_RSP 7

/* ---- reading */

struct reader {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t
uleb(struct reader *r)
{
	uint64_t v = 0;
	for (int shift = 0; r->p < r->end && shift < 64; shift += 7) {
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static int64_t
sleb(struct reader *r)
{
	int64_t v = 0;
	int shift = 0;
	uint8_t b = 0x80;
	while (r->p < r->end && (b & 0x80) && shift < 64) {
		b = *r->p++;
		v |= (int64_t)(b & 0x7f) << shift;
		shift += 7;
	}
	if (b & 0x80)
		r->bad = true;
	else if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

static uint64_t
fixed(struct reader *r, int size)
{
	uint64_t v = 0;
	if (r->p + size > r->end) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, size);
	r->p += size;
	return v;
}

/* A DW_EH_PE-encoded pointer (the encodings x86-64 toolchains use). */
static uint64_t
encoded(struct reader *r, uint8_t enc)
{
	uint64_t base = (uint64_t)r->p, v;
	switch (enc & 0x0f) {
	case 0x00: v = fixed(r, 8); break;			/* absptr */
	case 0x03: v = (uint32_t)fixed(r, 4); break;		/* udata4 */
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)fixed(r, 4); break;	/* sdata4 */
	case 0x04: case 0x0c: v = fixed(r, 8); break;		/* (s|u)data8 */
	default: r->bad = true; return 0;
	}
	if ((enc & 0x70) == 0x10)	/* pcrel */
		v += base;
	else if ((enc & 0x70) != 0)
		r->bad = true;
	return v;
}

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	bool has_z;
	const uint8_t *insns, *insns_end;
};

static bool
read_cie(const uint8_t *p, struct cie *c)
{
	uint32_t len;
	memcpy(&len, p, 4);
	if (len == 0 || len == 0xffffffff)
		return false;
	struct reader r = { p + 4, p + 4 + len, false };
	if (fixed(&r, 4) != 0)
		return false;
	uint8_t version = (uint8_t)fixed(&r, 1);
	const char *aug = (const char *)r.p;
	while (r.p < r.end && *r.p)
		r.p++;
	r.p++;
	c->code_align = uleb(&r);
	c->data_align = sleb(&r);
	c->ra_reg = version == 1 ? fixed(&r, 1) : uleb(&r);
	c->fde_enc = 0;
	c->has_z = aug[0] == 'z';
	if (c->has_z) {
		uint64_t aug_len = uleb(&r);
		const uint8_t *aug_end = r.p + aug_len;
		for (const char *a = aug + 1; *a && !r.bad; a++) {
			if (*a == 'R')
				c->fde_enc = (uint8_t)fixed(&r, 1);
			else if (*a == 'L')
				fixed(&r, 1);
			else if (*a == 'P')
				encoded(&r, (uint8_t)fixed(&r, 1) & 0x7f);	/* drop 'indirect' */
			else if (*a != 'S')
				return false;
		}
		r.p = aug_end;
	} else if (aug[0]) {
		return false;
	}
	c->insns = r.p;
	c->insns_end = r.end;
	return !r.bad;
}

/* The FDE covering pc in o, via the .eh_frame_hdr table; fills *c with its CIE. */
static bool
find_fde(const struct si_object *o, uint64_t pc, struct cie *c, const uint8_t **insns,
	 const uint8_t **insns_end, uint64_t *pc_begin)
{
	uint32_t n;
	const int32_t *t = si_eh_frame_table(o, &n);
	if (!t || n == 0)
		return false;
	size_t lo = 0, hi = n;	/* last entry with location <= pc */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (o->eh_frame_hdr + (int64_t)t[2 * mid] <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	const uint8_t *fde = (const uint8_t *)(o->eh_frame_hdr + (int64_t)t[2 * (lo - 1) + 1]);
	uint32_t len;
	memcpy(&len, fde, 4);
	if (len == 0 || len == 0xffffffff)
		return false;
	int32_t cie_off;
	memcpy(&cie_off, fde + 4, 4);
	if (!read_cie(fde + 4 - cie_off, c))
		return false;
	struct reader r = { fde + 8, fde + 4 + len, false };
	*pc_begin = encoded(&r, c->fde_enc);
	uint64_t range = encoded(&r, c->fde_enc & 0x0f);
	if (c->has_z) {
		uint64_t aug_len = uleb(&r);
		r.p += aug_len;
	}
	if (r.bad || pc < *pc_begin || pc >= *pc_begin + range)
		return false;
	*insns = r.p;
	*insns_end = r.end;
	return true;
}

/* ---- replaying the CFA program */

struct cfa_state {
	uint64_t reg;
	int64_t offset;
	bool expression;
};

struct out {
	uint8_t *buf;
	size_t len, cap;
	bool bad;
};

static void
put(struct out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		while (cap < o->len + n)
			cap *= 2;
		uint8_t *grown = realloc(o->buf, cap);
		if (!grown) {
			o->bad = true;
			return;
		}
		o->buf = grown;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
put_u8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void
put_uleb(struct out *o, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		put_u8(o, b | (v ? 0x80 : 0));
	} while (v);
}

/*
 * Copies the CFA instructions of [p, end) that take effect at or before `until` (a code offset
 * from the FDE's start; SIZE_MAX: all of them, as for a CIE) into o, without the advances, and
 * tracks the CFA rule.  Returns false on an instruction it does not know.
 */
static bool
replay(const uint8_t *p, const uint8_t *end, const struct cie *c, uint64_t until,
       struct cfa_state *cfa, struct cfa_state *stack, int *depth, struct out *o)
{
	struct reader r = { p, end, false };
	uint64_t loc = 0;
	while (r.p < r.end && !r.bad) {
		const uint8_t *op_start = r.p;
		uint8_t op = *r.p++;
		uint64_t advance = 0;
		switch (op & 0xc0) {
		case DW_CFA_advance_loc:
			advance = (op & 0x3f) * c->code_align;
			break;
		case DW_CFA_offset:
			uleb(&r);
			break;
		case DW_CFA_restore:
			break;
		default:
			switch (op) {
			case 0x00: case DW_CFA_remember_state: case DW_CFA_restore_state:
				if (op == DW_CFA_remember_state && *depth < 8)
					stack[(*depth)++] = *cfa;
				else if (op == DW_CFA_restore_state && *depth > 0)
					*cfa = stack[--(*depth)];
				break;
			case DW_CFA_set_loc:
				return false;
			case DW_CFA_advance_loc1: advance = fixed(&r, 1) * c->code_align; break;
			case DW_CFA_advance_loc2: advance = fixed(&r, 2) * c->code_align; break;
			case DW_CFA_advance_loc4: advance = fixed(&r, 4) * c->code_align; break;
			case 0x05: case 0x09: case 0x14: case 0x2f:	/* reg, uleb */
				uleb(&r);
				uleb(&r);
				break;
			case 0x06: case 0x07: case 0x08: case 0x2e:	/* one uleb */
				uleb(&r);
				break;
			case 0x11: case 0x15:				/* reg, sleb */
				uleb(&r);
				sleb(&r);
				break;
			case 0x10: case 0x16: {				/* reg, block */
				uleb(&r);
				uint64_t n = uleb(&r);
				r.p += n;
				break;
			}
			case DW_CFA_def_cfa:
				cfa->reg = uleb(&r);
				cfa->offset = (int64_t)uleb(&r);
				cfa->expression = false;
				break;
			case DW_CFA_def_cfa_sf:
				cfa->reg = uleb(&r);
				cfa->offset = sleb(&r) * c->data_align;
				cfa->expression = false;
				break;
			case DW_CFA_def_cfa_register:
				cfa->reg = uleb(&r);
				cfa->expression = false;
				break;
			case DW_CFA_def_cfa_offset:
				cfa->offset = (int64_t)uleb(&r);
				break;
			case DW_CFA_def_cfa_offset_sf:
				cfa->offset = sleb(&r) * c->data_align;
				break;
			case DW_CFA_def_cfa_expression: {
				uint64_t n = uleb(&r);
				r.p += n;
				cfa->expression = true;
				break;
			}
			default:
				return false;
			}
		}
		if (r.p > r.end)
			return false;
		if (advance) {
			loc += advance;
			if (loc > until)
				return true;
			continue;
		}
		put(o, op_start, r.p - op_start);
	}
	return !r.bad;
}

/* ---- the .eh_frame we register: one CIE per trampoline (copied), one FDE each */

/* "syscall_trampoline <object basename>+0x<offset>", for gdb and perf-like tools */
static void
add_symbol(struct si_unwind *u, const struct si_object *obj, uint64_t window_start,
	   uint64_t code, size_t len)
{
	if (u->n_syms == u->syms_cap) {
		size_t cap = u->syms_cap ? u->syms_cap * 2 : 256;
		void *grown = realloc(u->syms, cap * sizeof(*u->syms));
		if (!grown)
			return;
		u->syms = grown;
		u->syms_cap = cap;
	}
	const char *base = strrchr(obj->path, '/');
	base = base ? base + 1 : obj->path;
	char name[160];
	int n = si_snprintf(name, sizeof(name), "syscall_trampoline:%s+0x%lx", base,
			    (unsigned long)(window_start - obj->base));
	if (n < 0 || (size_t)n >= sizeof(name))
		return;
	if (u->names_len + n + 2 > u->names_cap) {
		size_t cap = u->names_cap ? u->names_cap * 2 : 8192;
		while (cap < u->names_len + n + 2)
			cap *= 2;
		char *grown = realloc(u->names, cap);
		if (!grown)
			return;
		u->names = grown;
		u->names_cap = cap;
	}
	if (u->names_len == 0)
		u->names[u->names_len++] = '\0';	/* ELF string tables start with "" */
	u->syms[u->n_syms++] = (struct si_unwind_symbol){ code, len, (uint32_t)u->names_len };
	memcpy(u->names + u->names_len, name, n + 1);
	u->names_len += n + 1;
}

void
si_unwind_init(struct si_unwind *u)
{
	memset(u, 0, sizeof(*u));
}

void
si_unwind_add(struct si_unwind *u, const struct si_object *obj, uint64_t window_start,
	      uint64_t code, const uint32_t *rsp_changes, size_t n, size_t len)
{
	struct cie c;
	const uint8_t *insns, *insns_end;
	uint64_t pc_begin;
	if (!obj)
		return;
	add_symbol(u, obj, window_start, code, len);
	if (!find_fde(obj, window_start, &c, &insns, &insns_end, &pc_begin))
		return;

	struct out *o = (struct out *)&u->buf;
	size_t saved_len = o->len;
	struct cfa_state cfa = { DWARF_RSP, 8, false }, stack[8];
	int depth = 0;

	/* CIE: version 1, "zR", the original alignment factors and return register. */
	size_t cie_at = o->len;
	uint32_t zero = 0;
	put(o, &zero, 4);	/* length, patched below */
	put(o, &zero, 4);	/* CIE id */
	put_u8(o, 1);
	put(o, "zR", 3);
	put_uleb(o, c.code_align);
	uint8_t da = (uint8_t)(c.data_align & 0x7f);	/* sleb of small negatives: one byte */
	put_u8(o, da);
	put_u8(o, (uint8_t)c.ra_reg);
	put_uleb(o, 1);
	put_u8(o, 0x00);	/* FDE pointers: absolute, 8 bytes */
	if (!replay(c.insns, c.insns_end, &c, UINT64_MAX, &cfa, stack, &depth, o))
		goto fail;
	while ((o->len - cie_at) % 8)
		put_u8(o, 0);
	uint32_t cie_len = (uint32_t)(o->len - cie_at - 4);
	memcpy(o->buf + cie_at, &cie_len, 4);

	/* FDE */
	size_t fde_at = o->len;
	put(o, &zero, 4);
	uint32_t cie_ptr = (uint32_t)(o->len - cie_at);
	put(o, &cie_ptr, 4);
	put(o, &code, 8);
	uint64_t range = len;
	put(o, &range, 8);
	put_uleb(o, 0);		/* no augmentation data */
	if (!replay(insns, insns_end, &c, window_start - pc_begin, &cfa, stack, &depth, o) ||
	    c.code_align != 1)
		goto fail;
	if (!cfa.expression && cfa.reg == DWARF_RSP) {
		uint32_t at = 0;
		for (size_t i = 0; i < n; i++) {
			uint32_t delta = rsp_changes[i] - at;
			at = rsp_changes[i];
			put_u8(o, DW_CFA_advance_loc4);
			put(o, &delta, 4);
			put_u8(o, DW_CFA_def_cfa_offset);
			put_uleb(o, (uint64_t)(cfa.offset + (i % 2 == 0 ? 128 : 0)));
		}
	}
	while ((o->len - fde_at) % 8)
		put_u8(o, 0);
	uint32_t fde_len = (uint32_t)(o->len - fde_at - 4);
	memcpy(o->buf + fde_at, &fde_len, 4);
	if (o->bad)
		goto fail;
	u->n++;
	return;
fail:
	o->len = saved_len;
	o->bad = false;
}

/* ---- gdb's JIT interface: gdb breaks on __jit_debug_register_code and reads the descriptor */

struct jit_code_entry {
	struct jit_code_entry *next, *prev;
	const char *symfile;
	uint64_t size;
};
struct jit_descriptor {
	uint32_t version, action;	/* action: 1 register, 2 unregister */
	struct jit_code_entry *relevant, *first;
};
SI_HIDDEN struct jit_descriptor __jit_debug_descriptor = { 1, 0, NULL, NULL };
SI_HIDDEN __attribute__((noinline, used)) void
__jit_debug_register_code(void)
{
	__asm__ volatile("" ::: "memory");
}

/*
 * An ELF file gdb can read: a NOBITS .text over the trampolines, .eh_frame (a copy, at the
 * address of the registered one), .symtab, .strtab, .shstrtab.
 */
static void
register_with_gdb(struct si_unwind *u, const struct out *eh)
{
	if (u->n_syms == 0)
		return;
	static const char shstr[] = "\0.text\0.eh_frame\0.symtab\0.strtab\0.shstrtab";
	enum { S_NULL, S_TEXT, S_EH, S_SYMTAB, S_STRTAB, S_SHSTRTAB, S_COUNT };
	uint64_t lo = u->syms[0].addr, hi = 0;
	for (size_t i = 0; i < u->n_syms; i++) {
		if (u->syms[i].addr < lo)
			lo = u->syms[i].addr;
		if (u->syms[i].addr + u->syms[i].size > hi)
			hi = u->syms[i].addr + u->syms[i].size;
	}
	size_t n_sym = u->n_syms + 1;
	size_t off_eh = sizeof(Elf64_Ehdr);
	size_t off_sym = (off_eh + eh->len + 7) & ~(size_t)7;
	size_t off_str = off_sym + n_sym * sizeof(Elf64_Sym);
	size_t off_shstr = off_str + u->names_len;
	size_t off_sh = (off_shstr + sizeof(shstr) + 7) & ~(size_t)7;
	size_t total = off_sh + S_COUNT * sizeof(Elf64_Shdr);
	uint8_t *f = calloc(1, total);
	struct jit_code_entry *e = calloc(1, sizeof(*e));
	if (!f || !e) {
		free(f);
		free(e);
		return;
	}
	Elf64_Ehdr *h = (Elf64_Ehdr *)f;
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_ident[EI_VERSION] = EV_CURRENT;
	h->e_type = ET_EXEC;
	h->e_machine = EM_X86_64;
	h->e_version = EV_CURRENT;
	h->e_ehsize = sizeof(Elf64_Ehdr);
	h->e_shoff = off_sh;
	h->e_shentsize = sizeof(Elf64_Shdr);
	h->e_shnum = S_COUNT;
	h->e_shstrndx = S_SHSTRTAB;
	memcpy(f + off_eh, eh->buf, eh->len);
	Elf64_Sym *sym = (Elf64_Sym *)(f + off_sym);
	for (size_t i = 0; i < u->n_syms; i++) {
		sym[i + 1].st_name = u->syms[i].name;
		sym[i + 1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
		sym[i + 1].st_shndx = S_TEXT;
		sym[i + 1].st_value = u->syms[i].addr;
		sym[i + 1].st_size = u->syms[i].size;
	}
	memcpy(f + off_str, u->names, u->names_len);
	memcpy(f + off_shstr, shstr, sizeof(shstr));
	Elf64_Shdr *sh = (Elf64_Shdr *)(f + off_sh);
	sh[S_TEXT] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_NOBITS,
		.sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_addr = lo, .sh_size = hi - lo,
		.sh_addralign = 16 };
	sh[S_EH] = (Elf64_Shdr){ .sh_name = 7, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
		.sh_addr = (uint64_t)eh->buf, .sh_offset = off_eh, .sh_size = eh->len,
		.sh_addralign = 8 };
	sh[S_SYMTAB] = (Elf64_Shdr){ .sh_name = 17, .sh_type = SHT_SYMTAB, .sh_offset = off_sym,
		.sh_size = n_sym * sizeof(Elf64_Sym), .sh_link = S_STRTAB, .sh_info = 1,
		.sh_addralign = 8, .sh_entsize = sizeof(Elf64_Sym) };
	sh[S_STRTAB] = (Elf64_Shdr){ .sh_name = 25, .sh_type = SHT_STRTAB, .sh_offset = off_str,
		.sh_size = u->names_len, .sh_addralign = 1 };
	sh[S_SHSTRTAB] = (Elf64_Shdr){ .sh_name = 33, .sh_type = SHT_STRTAB,
		.sh_offset = off_shstr, .sh_size = sizeof(shstr), .sh_addralign = 1 };

	e->symfile = (const char *)f;
	e->size = total;
	e->next = __jit_debug_descriptor.first;
	if (e->next)
		e->next->prev = e;
	__jit_debug_descriptor.first = e;
	__jit_debug_descriptor.relevant = e;
	__jit_debug_descriptor.action = 1;
	__jit_debug_register_code();
	__jit_debug_descriptor.action = 0;
}

void
si_unwind_register(struct si_unwind *u)
{
	struct out *o = (struct out *)&u->buf;
	if (u->n > 0) {
		uint32_t terminator = 0;
		put(o, &terminator, 4);
		if (!o->bad)
			__register_frame(o->buf);	/* libgcc keeps the pointer: never freed */
	}
	register_with_gdb(u, o);
	free(u->syms);
	free(u->names);
	if (u->n == 0 || o->bad)
		free(o->buf);
}
