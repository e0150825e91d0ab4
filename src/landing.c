/*
 * landing.c -- finds exception landing pads: the addresses the unwinder jumps to inside a
 * function when a C++ exception or a thread cancellation passes through it (catch blocks, and
 * the cleanups of code built with -fexceptions, as parts of glibc are).  No instruction branches
 * there, so the analyser cannot see them; they are listed only in the LSDA (the call-site table
 * in .gcc_except_table) that an FDE names when its CIE has the 'L' augmentation.  The FDEs are
 * found through the .eh_frame_hdr table, so only those of the functions asked for are read.
 * Every read is checked against the object's mapped segments: unwind data that is corrupt, or
 * in a form not handled here, yields fewer landing pads, never a crash.  It only reads.
 */
#include "intercept.h"

/* DWARF pointer encodings (DW_EH_PE_*): the low nibble is the format, bits 4-6 the base. */
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10
#define PE_DATAREL 0x30
#define PE_FUNCREL 0x40
#define PE_INDIRECT 0x80
#define PE_OMIT 0xff

/* ---- bounds-checked reading of run-time addresses */

struct reader {
	const uint8_t *bytes;	/* where the segment holding [at, end) can be read */
	uint64_t seg_start;	/* its run-time address */
	uint64_t at, end;	/* run-time addresses */
	bool bad;		/* a read went past end, or met something not understood */
};

/*
 * A reader for [addr, addr + len) when that lies inside one mapped segment of v; len 0 means
 * "up to the segment's end", for data whose length is only known once read.
 */
static bool
open_at(struct reader *r, const struct si_eh_view *v, uint64_t addr, uint64_t len)
{
	for (int i = 0; i < v->n_seg && i < SI_MAX_SEGMENTS; i++) {
		uint64_t s = v->seg[i].start, e = v->seg[i].end;
		if (addr < s || addr >= e || (len && len > e - addr))
			continue;
		r->bytes = v->seg[i].bytes;
		r->seg_start = s;
		r->at = addr;
		r->end = len ? addr + len : e;
		r->bad = false;
		return true;
	}
	return false;
}

static uint64_t
fixed(struct reader *r, unsigned size)
{
	if (r->bad || r->end - r->at < size) {
		r->bad = true;
		return 0;
	}
	const uint8_t *p = r->bytes + (r->at - r->seg_start);
	uint64_t v = 0;
	for (unsigned k = 0; k < size; k++)	/* little-endian, any alignment */
		v |= (uint64_t)p[k] << (8 * k);
	r->at += size;
	return v;
}

static uint8_t
byte(struct reader *r)
{
	return (uint8_t)fixed(r, 1);
}

static uint64_t
uleb(struct reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; !r->bad; shift += 7) {
		uint8_t b = byte(r);
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
		if (shift > 70) {	/* longer than any 64-bit value: garbage */
			r->bad = true;
			break;
		}
	}
	return 0;
}

static int64_t
sleb(struct reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; !r->bad; shift += 7) {
		uint8_t b = byte(r);
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (shift + 7 < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << (shift + 7);
			return (int64_t)v;
		}
		if (shift > 70) {
			r->bad = true;
			break;
		}
	}
	return 0;
}

/*
 * A pointer in encoding enc.  As libgcc's unwinder reads them, a raw value of 0 stays 0 (a null
 * pointer is not made relative).  Bases: absolute, pc-relative (the value's own address), and
 * function-relative (func, the FDE's initial location).  Text- and data-relative bases are 0
 * for x86-64 unwinders and no toolchain emits them there (.eh_frame_hdr's datarel table is read
 * by si_eh_frame_table); they, 'aligned' and indirect pointers (only personality routines use
 * those, and they are skipped) make the read fail.
 */
static uint64_t
encoded(struct reader *r, uint8_t enc, uint64_t func)
{
	uint64_t at = r->at, v;
	switch (enc & 0x0f) {
	case PE_ABSPTR: case PE_UDATA8: case PE_SDATA8: v = fixed(r, 8); break;
	case PE_ULEB128: v = uleb(r); break;
	case PE_UDATA2: v = fixed(r, 2); break;
	case PE_UDATA4: v = fixed(r, 4); break;
	case PE_SLEB128: v = (uint64_t)sleb(r); break;
	case PE_SDATA2: v = (uint64_t)(int64_t)(int16_t)fixed(r, 2); break;
	case PE_SDATA4: v = (uint64_t)(int64_t)(int32_t)fixed(r, 4); break;
	default: r->bad = true; return 0;
	}
	if (enc & PE_INDIRECT)
		r->bad = true;
	if (v == 0)
		return 0;
	switch (enc & 0x70) {
	case 0: return v;
	case PE_PCREL: return v + at;
	case PE_FUNCREL: return v + func;
	default: r->bad = true; return 0;
	}
}

/* Skips a pointer of encoding enc without interpreting it (its size depends on the format only). */
static void
skip_encoded(struct reader *r, uint8_t enc)
{
	encoded(r, enc & 0x0f, 0);
}

/* ---- CIEs */

struct cie {
	uint64_t addr;		/* 0: empty cache slot */
	bool ok;		/* understood */
	bool has_z;		/* FDEs carry augmentation data */
	uint8_t fde_enc;	/* 'R': how FDEs encode their initial location and range */
	uint8_t lsda_enc;	/* 'L': how FDEs encode their LSDA pointer; PE_OMIT without 'L' */
	bool signal_frame;	/* 'S': its FDEs describe signal trampolines */
};

/*
 * Reads the CIE at addr: what its FDEs need to be read up to their LSDA pointer.  Augmentation
 * letters: 'z' (sizes), 'P' (personality: skipped), 'L', 'R', 'S' (signal frame) and 'B'
 * (AArch64 key B) add nothing to FDEs; any other letter could, so such a CIE is not used.
 */
static void
read_cie(const struct si_eh_view *v, uint64_t addr, struct cie *c)
{
	*c = (struct cie){ .addr = addr, .fde_enc = PE_ABSPTR, .lsda_enc = PE_OMIT };
	struct reader r;
	if (!open_at(&r, v, addr, 4))
		return;
	uint64_t len = fixed(&r, 4);
	if (len == 0 || len >= 0xfffffff0 || !open_at(&r, v, addr + 4, len))
		return;	/* 0 ends .eh_frame; the 64-bit format is not used in .eh_frame */
	uint8_t version;
	if (fixed(&r, 4) != 0 || ((version = byte(&r)) != 1 && version != 3))
		return;
	char aug[8];
	size_t n_aug = 0;
	for (uint8_t ch; (ch = byte(&r)) != 0 && !r.bad;) {
		if (n_aug == sizeof(aug) - 1)
			return;
		aug[n_aug++] = (char)ch;
	}
	aug[n_aug] = '\0';
	uleb(&r);				/* code alignment */
	sleb(&r);				/* data alignment */
	if (version == 1)			/* return address column */
		byte(&r);
	else
		uleb(&r);
	if (r.bad)
		return;
	if (n_aug == 0) {
		c->ok = true;
		return;
	}
	if (aug[0] != 'z')
		return;
	c->has_z = true;
	uint64_t aug_len = uleb(&r);
	if (r.bad || aug_len > r.end - r.at)
		return;
	r.end = r.at + aug_len;
	for (size_t k = 1; k < n_aug && !r.bad; k++) {
		switch (aug[k]) {
		case 'P':
			skip_encoded(&r, byte(&r));
			break;
		case 'L':
			c->lsda_enc = byte(&r);
			break;
		case 'R':
			c->fde_enc = byte(&r);
			break;
		case 'S':
			c->signal_frame = true;
			break;
		case 'B':
			break;
		default:
			return;
		}
	}
	c->ok = !r.bad;
}

/* ---- LSDAs */

/*
 * The call-site table of the LSDA at lsda, for the function starting at func: every non-zero
 * landing pad, relative to LPStart (by default the function's start).
 */
static size_t
read_lsda(const struct si_eh_view *v, uint64_t lsda, uint64_t func,
	  void (*add)(void *ctx, uint64_t pad), void *ctx)
{
	struct reader r;
	if (!open_at(&r, v, lsda, 0))
		return 0;
	uint8_t lp_enc = byte(&r);
	uint64_t lp_start = lp_enc == PE_OMIT ? func : encoded(&r, lp_enc, func);
	uint8_t ttype_enc = byte(&r);
	if (ttype_enc != PE_OMIT)
		uleb(&r);			/* offset of the type table: not needed */
	uint8_t cs_enc = byte(&r);
	uint64_t cs_len = uleb(&r);
	/* libgcc's personality routines read call sites with no base: absolute or pc-relative only */
	if (r.bad || cs_len > r.end - r.at || ((cs_enc & 0x70) != 0 && (cs_enc & 0x70) != PE_PCREL))
		return 0;
	r.end = r.at + cs_len;
	size_t n = 0;
	while (r.at < r.end) {
		encoded(&r, cs_enc, 0);		/* start of the call-site range */
		encoded(&r, cs_enc, 0);		/* its length */
		uint64_t lp = encoded(&r, cs_enc, 0);
		uleb(&r);			/* action */
		if (r.bad)
			break;
		if (lp != 0) {
			add(ctx, lp_start + lp);
			n++;
		}
	}
	return n;
}

/* ---- FDEs */

#define CIE_CACHE 8	/* an object has a handful of CIEs; most FDEs share one or two */

/*
 * The FDE at fde, listed in the .eh_frame_hdr table for the function at loc: its LSDA's landing
 * pads, if its CIE has 'L'.
 */
static size_t
read_fde(const struct si_eh_view *v, uint64_t fde, uint64_t loc, struct cie *cache,
	 void (*add)(void *ctx, uint64_t pad), void *ctx)
{
	struct reader r;
	if (!open_at(&r, v, fde, 8))
		return 0;
	uint64_t len = fixed(&r, 4);
	uint64_t cie_ptr = fixed(&r, 4);	/* distance back from this field to the CIE */
	if (len < 8 || len >= 0xfffffff0 || cie_ptr == 0 || cie_ptr > fde + 4)
		return 0;
	uint64_t cie_addr = fde + 4 - cie_ptr;
	struct cie *c = &cache[(cie_addr >> 3) % CIE_CACHE];
	if (c->addr != cie_addr)
		read_cie(v, cie_addr, c);
	if (!c->ok || c->lsda_enc == PE_OMIT || !c->has_z)
		return 0;	/* the common case: no LSDA possible, nothing more to read */
	if (!open_at(&r, v, fde + 8, len - 4))
		return 0;
	uint64_t func = encoded(&r, c->fde_enc, 0);
	encoded(&r, c->fde_enc & 0x0f, 0);	/* address range */
	uint64_t aug_len = uleb(&r);
	/* The table and the FDE must agree on the function: a mismatch means corrupt data. */
	if (r.bad || func != loc || aug_len > r.end - r.at)
		return 0;
	r.end = r.at + aug_len;
	uint64_t lsda = encoded(&r, c->lsda_enc, func);
	if (r.bad || lsda == 0)
		return 0;
	return read_lsda(v, lsda, func, add, ctx);
}

/* Entry i of the .eh_frame_hdr table: k = 0 its function's address, k = 1 its FDE's. */
static uint64_t
entry(const uint8_t *table, size_t i, int k, uint64_t hdr)
{
	const uint8_t *p = table + 8 * i + 4 * k;
	uint32_t rel = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		       (uint32_t)p[3] << 24;
	return hdr + (uint64_t)(int64_t)(int32_t)rel;
}

/* The .eh_frame_hdr binary-search table of v: false when there is none that can be read. */
static bool
open_table(const struct si_eh_view *v, const uint8_t **table, uint64_t *count)
{
	struct reader r;
	if (!v || !v->eh_frame_hdr || !open_at(&r, v, v->eh_frame_hdr, 4))
		return false;
	/* .eh_frame_hdr: version 1, encodings of eh_frame_ptr, fde_count and the table */
	uint8_t version = byte(&r), ptr_enc = byte(&r), count_enc = byte(&r), table_enc = byte(&r);
	if (version != 1 || table_enc != (PE_DATAREL | PE_SDATA4) || count_enc == PE_OMIT ||
	    !open_at(&r, v, v->eh_frame_hdr + 4, 0))
		return false;
	skip_encoded(&r, ptr_enc);
	*count = encoded(&r, count_enc & 0x0f, 0);
	struct reader t;
	if (r.bad || *count == 0 || *count > (r.end - r.at) / 8 || !open_at(&t, v, r.at, *count * 8))
		return false;
	*table = t.bytes + (t.at - t.seg_start);
	return true;
}

/* The index of the last table entry whose function starts at or before addr, or count. */
static size_t
last_at_or_before(const uint8_t *table, uint64_t count, uint64_t addr, uint64_t hdr)
{
	size_t a = 0, b = count;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (entry(table, mid, 0, hdr) <= addr)
			a = mid + 1;
		else
			b = mid;
	}
	return a ? a - 1 : count;
}

size_t
si_landing_pads(const struct si_eh_view *v, uint64_t lo, uint64_t hi,
		void (*add)(void *ctx, uint64_t pad), void *ctx)
{
	const uint8_t *table;
	uint64_t count;
	if (lo >= hi || !open_table(v, &table, &count))
		return 0;
	/* From the last function starting at or before lo (it may cover lo) to the last before hi. */
	size_t first = last_at_or_before(table, count, lo, v->eh_frame_hdr);
	struct cie cache[CIE_CACHE] = { 0 };
	size_t n = 0;
	for (size_t i = first == count ? 0 : first; i < count; i++) {
		uint64_t loc = entry(table, i, 0, v->eh_frame_hdr);
		if (loc >= hi)
			break;
		n += read_fde(v, entry(table, i, 1, v->eh_frame_hdr), loc, cache, add, ctx);
	}
	return n;
}

bool
si_signal_frame_at(const struct si_eh_view *v, uint64_t loc)
{
	const uint8_t *table;
	uint64_t count;
	if (!open_table(v, &table, &count))
		return false;
	size_t i = last_at_or_before(table, count, loc, v->eh_frame_hdr);
	if (i == count || entry(table, i, 0, v->eh_frame_hdr) != loc)
		return false;
	uint64_t fde = entry(table, i, 1, v->eh_frame_hdr);
	struct reader r;
	if (!open_at(&r, v, fde, 8))
		return false;
	uint64_t len = fixed(&r, 4), cie_ptr = fixed(&r, 4);
	if (len < 8 || len >= 0xfffffff0 || cie_ptr == 0 || cie_ptr > fde + 4)
		return false;
	struct cie c;
	read_cie(v, fde + 4 - cie_ptr, &c);
	return c.ok && c.signal_frame;
}
