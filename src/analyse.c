/*
 * analyse.c -- decodes a code region with Zydis and records, per instruction, what limits
 * patching: syscall sites, jump/call targets (exception landing pads, from landing.c, and switch
 * tables' case labels included), relative operands, padding, control flow that does not fall
 * through.  It only reads; it never
 * decides where a patch goes (plan.c does).
 */
#define _GNU_SOURCE
#include "intercept.h"

#include <Zydis/Zydis.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

size_t
si_insn_at(const struct si_analysis *a, uint64_t addr)
{
	size_t lo = 0, hi = a->n_insns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->insns[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->n_insns && a->insns[lo].addr == addr ? lo : SIZE_MAX;
}

static uint16_t
classify(const ZydisDecodedInstruction *zi, uint64_t addr, uint64_t *target)
{
	uint16_t flags = 0;
	*target = 0;
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_SYSCALL:
		return SI_INSN_SYSCALL | SI_INSN_UNMOVABLE;
	case ZYDIS_MNEMONIC_NOP:
	case ZYDIS_MNEMONIC_INT3:
		flags |= SI_INSN_PADDING;
		break;
	case ZYDIS_MNEMONIC_ENDBR64:
	case ZYDIS_MNEMONIC_ENDBR32:
		flags |= SI_INSN_ENDBR;
		break;
	case ZYDIS_MNEMONIC_RET:
	case ZYDIS_MNEMONIC_JMP:
	case ZYDIS_MNEMONIC_UD2:
	case ZYDIS_MNEMONIC_HLT:
	case ZYDIS_MNEMONIC_IRET:
	case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_IRETQ:
		flags |= SI_INSN_NO_FALLTHROUGH;
		break;
	/* rel8-only branches whose relocated form would need a different instruction sequence */
	case ZYDIS_MNEMONIC_LOOP:
	case ZYDIS_MNEMONIC_LOOPE:
	case ZYDIS_MNEMONIC_LOOPNE:
	case ZYDIS_MNEMONIC_JRCXZ:
	case ZYDIS_MNEMONIC_JECXZ:
		flags |= SI_INSN_UNMOVABLE;
		break;
	default:
		break;
	}
	if (zi->mnemonic == ZYDIS_MNEMONIC_CALL)
		flags |= SI_INSN_CALL;
	if (zi->attributes & ZYDIS_ATTRIB_IS_RELATIVE) {
		for (int k = 0; k < 2; k++) {
			if (zi->raw.imm[k].is_relative) {
				flags |= SI_INSN_RELATIVE;
				*target = addr + zi->length + (uint64_t)zi->raw.imm[k].value.s;
			}
		}
		if (!(flags & SI_INSN_RELATIVE))
			flags |= SI_INSN_RIPREL;
	}
	return flags;
}

struct growing {
	void *v;
	size_t n, cap, size;
};

static void *
grow(struct growing *g)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 1024;
		void *grown = realloc(g->v, cap * g->size);
		if (!grown)
			return NULL;
		g->v = grown;
		g->cap = cap;
	}
	return (char *)g->v + g->size * g->n++;
}

/* Index of the last start <= addr, or SIZE_MAX. */
static size_t
start_at_or_before(const uint64_t *starts, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (starts[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : SIZE_MAX;
}

/* Reach of a patch window (5 instructions each side) plus rel8 reach, rounded up. */
#define NEIGHBOURHOOD 256

/*
 * The address ranges to decode: everything, or (sparse) each function holding the bytes 0f 05
 * plus enough neighbouring functions to cover rel8 reach on both sides.  Sorted, merged.
 */
static bool
regions_to_decode(const struct si_code *code, const uint64_t *starts, size_t n_starts,
		  struct growing *regions)
{
	uint64_t end = code->addr + code->len;
	if (code->ranges) {
		for (size_t k = 0; k < code->n_ranges; k++) {
			uint64_t *r = grow(regions);
			if (!r)
				return false;
			r[0] = code->ranges[2 * k];
			r[1] = code->ranges[2 * k + 1];
		}
		return true;
	}
	if (!code->sparse || n_starts == 0) {
		uint64_t *r = grow(regions);
		if (!r)
			return false;
		r[0] = code->addr;
		r[1] = end;
		return true;
	}
	for (size_t off = 0; off + 1 < code->len; off++) {
		const uint8_t *hit = memmem(code->bytes + off, code->len - off, "\x0f\x05", 2);
		if (!hit)
			break;
		off = hit - code->bytes;
		uint64_t p = code->addr + off;
		/*
		 * Every instruction a patch around p may cover, and every rel8 branch that may land
		 * there, lies within NEIGHBOURHOOD bytes: decode whole functions covering that.
		 */
		uint64_t want_lo = p > code->addr + NEIGHBOURHOOD ? p - NEIGHBOURHOOD : code->addr;
		uint64_t want_hi = p + NEIGHBOURHOOD;
		size_t f = start_at_or_before(starts, n_starts, want_lo);
		uint64_t lo = f == SIZE_MAX || starts[f] < code->addr ? code->addr : starts[f];
		size_t k = start_at_or_before(starts, n_starts, want_hi);
		uint64_t hi = k == SIZE_MAX || k + 1 >= n_starts ? end : starts[k + 1];
		if (hi > end || hi <= p)
			hi = end;
		uint64_t *last = regions->n ? (uint64_t *)regions->v + 2 * (regions->n - 1) : NULL;
		if (last && lo <= last[1]) {
			if (hi > last[1])
				last[1] = hi;
		} else {
			uint64_t *r = grow(regions);
			if (!r)
				return false;
			r[0] = lo;
			r[1] = hi;
		}
		off = hi - code->addr - 1;	/* the rest of this region is covered */
	}
	return true;
}

static bool
in_regions(const struct growing *regions, uint64_t addr)
{
	const uint64_t *r = regions->v;
	size_t lo = 0, hi = regions->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r[2 * mid + 1] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < regions->n && addr >= r[2 * lo];
}

/*
 * Jump targets, one bit per byte of the code: set in any order by the scans below, read in one
 * sequential pass over the instructions at the end.  (Searching the instruction list for each
 * of libc's ~24000 targets and function starts cost ~2 ms of cache misses; this costs ~0.1.)
 */
struct target_bits {
	uint8_t *bits;
	uint64_t addr, end;
};

static void
set_target(struct target_bits *tb, uint64_t t)
{
	if (t >= tb->addr && t < tb->end)
		tb->bits[(t - tb->addr) >> 3] |= (uint8_t)(1u << ((t - tb->addr) & 7));
}

static bool
is_target(const struct target_bits *tb, uint64_t t)
{
	return t >= tb->addr && t < tb->end &&
	       (tb->bits[(t - tb->addr) >> 3] >> ((t - tb->addr) & 7) & 1);
}

/*
 * rel32 branches from code that was not decoded: every byte that could be the opcode of a
 * call/jmp rel32 or jcc rel32 is taken as one.  A superset of the real branches, so a target is
 * never missed; a false one (odds about 2^-32 per byte for a given window) only makes the
 * planner more careful.
 */
static void
scan_rel32_targets(const struct si_code *code, const struct growing *regions,
		   struct target_bits *targets)
{
	uint64_t end = code->addr + code->len;
	for (size_t off = 0; off + 6 <= code->len; off++) {
		const uint8_t *b = code->bytes + off;
		size_t imm_at;
		if ((b[0] & 0xfe) == 0xe8)
			imm_at = 1;
		else if (b[0] == 0x0f && (b[1] & 0xf0) == 0x80)
			imm_at = 2;
		else
			continue;
		int32_t rel;
		memcpy(&rel, b + imm_at, 4);
		uint64_t t = code->addr + off + imm_at + 4 + (int64_t)rel;
		if (t < code->addr || t >= end || !in_regions(regions, t))
			continue;
		set_target(targets, t);
	}
}

static void
add_pad(void *ctx, uint64_t pad)
{
	set_target(ctx, pad);	/* pads are only asked for within the regions */
}

/*
 * Switch jump tables: an indirect jmp reaches case labels that no instruction names, listed in
 * read-only data.  The two forms compilers emit: position-independent code loads the table's
 * address with `lea table(%rip), %reg` shortly before `jmp *%reg`, entries being 32-bit offsets
 * from the table; other code jumps through `jmp *table(,%reg,8)`, entries being addresses.
 * Entries are read while they land inside the decoded region of the jump (at most MAX_TABLE),
 * and only from the object's mapped segments.  An unrelated lea only adds targets, which makes
 * the planner more careful, never less.
 */
#define MAX_TABLE 1024
#define LEA_LOOKBACK 16		/* instructions between the lea and the jmp */

static bool
read_mapped(const struct si_eh_view *v, uint64_t addr, void *out, size_t len)
{
	for (int i = 0; v && i < v->n_seg; i++)
		if (addr >= v->seg[i].start && addr < v->seg[i].end && len <= v->seg[i].end - addr) {
			memcpy(out, v->seg[i].bytes + (addr - v->seg[i].start), len);
			return true;
		}
	return false;
}

static void
jump_table_targets(const struct si_code *code, struct target_bits *targets, uint64_t table,
		   bool relative, uint64_t lo, uint64_t hi)
{
	for (uint64_t k = 0; k < MAX_TABLE; k++) {
		uint64_t t;
		if (relative) {
			int32_t off;
			if (!read_mapped(code->eh, table + 4 * k, &off, 4))
				return;
			t = table + (uint64_t)(int64_t)off;
		} else if (!read_mapped(code->eh, table + 8 * k, &t, 8)) {
			return;
		}
		if (t < lo || t >= hi)
			return;
		set_target(targets, t);
	}
}

/*
 * Exception landing pads: the unwinder jumps there, so they are targets like any branch's.  Only
 * the FDEs of the functions decoded are read (all of libc's would cost ~30 us): a landing pad is
 * relative to its own FDE's start unless the LSDA gives an LPStart, and compilers keep pads in
 * the same function part as their call sites (GCC's hot/cold parts each have an FDE and LSDA).
 * A pad put by an explicit LPStart into code only another FDE covers (LLVM's basic-block
 * sections can) would be missed: syscall-intercept-scan --landing-pads reports such pads as
 * "not marked" (none on the machines measured, docs/CENSUS.md).
 */
static void
landing_pad_targets(const struct si_code *code, const struct growing *regions,
		    struct target_bits *targets)
{
	const uint64_t *r = regions->v;
	for (size_t k = 0; k < regions->n; k++)
		si_landing_pads(code->eh, r[2 * k], r[2 * k + 1], add_pad, targets);
}

int
si_analyse(const struct si_code *code, const uint64_t *starts_in, size_t n_starts,
	   struct si_analysis *out)
{
	memset(out, 0, sizeof(*out));
	out->code = *code;

	struct growing insns = { .size = sizeof(struct si_insn) };
	struct growing regions = { .size = 2 * sizeof(uint64_t) };
	uint64_t end = code->addr + code->len, pc = code->addr;
	/* calloc: untouched parts of a large bitmap stay unmapped zero pages */
	struct target_bits targets = { calloc(code->len / 8 + 1, 1), code->addr, end };
	uint64_t *starts = malloc((n_starts + 1) * sizeof(*starts));
	if (!starts || !targets.bits)
		goto oom;
	if (n_starts)	/* starts_in may be NULL then */
		memcpy(starts, starts_in, n_starts * sizeof(*starts));
	qsort(starts, n_starts, sizeof(*starts), cmp_u64);
	if (!regions_to_decode(code, starts, n_starts, &regions))
		goto oom;
	if (code->sparse && regions.n)
		scan_rel32_targets(code, &regions, &targets);
	if (code->eh)
		landing_pad_targets(code, &regions, &targets);
	for (size_t k = 0; k < n_starts; k++)
		if (in_regions(&regions, starts[k]))
			set_target(&targets, starts[k]);
	/*
	 * Room for every instruction at once (two bytes each on average at least): growing by
	 * copies would touch twice the memory, and on some machines (fresh VMs) the first touch of
	 * a page costs more than decoding the instructions on it.  Untouched room costs nothing.
	 */
	size_t decoded_bytes = 0;
	for (size_t r = 0; r < regions.n; r++)
		decoded_bytes += ((uint64_t *)regions.v)[2 * r + 1] - ((uint64_t *)regions.v)[2 * r];
	insns.cap = decoded_bytes / 2 + regions.n + 64;
	insns.v = malloc(insns.cap * insns.size);
	if (!insns.v)
		goto oom;

	ZydisDecoder dec;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	/* Lengths, mnemonics and raw fields are all we need. */
	ZydisDecoderEnableMode(&dec, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE);

	size_t next_start = 0;
	uint64_t lea_target = 0;	/* of the last `lea x(%rip), %reg`, for jump tables */
	size_t lea_at = 0;		/* the instruction count then */
	for (size_t r = 0; r <= regions.n; r++) {
		uint64_t r_lo = r < regions.n ? ((uint64_t *)regions.v)[2 * r] : end;
		uint64_t r_hi = r < regions.n ? ((uint64_t *)regions.v)[2 * r + 1] : end;
		lea_target = 0;		/* a table is read only within the region of its jump */
		if (pc < r_lo) {	/* a gap that was not decoded: one opaque pseudo-instruction */
			struct si_insn *gap = grow(&insns);
			if (!gap)
				goto oom;
			*gap = (struct si_insn){ .addr = pc, .len = 0,
				.flags = SI_INSN_INVALID | SI_INSN_UNMOVABLE | SI_INSN_TARGET };
			pc = r_lo;
		}
		while (pc < r_hi) {
			/* Resynchronise at known function starts the sweep would otherwise step over. */
			while (next_start < n_starts && starts[next_start] <= pc)
				next_start++;
			uint64_t limit = r_hi;
			if (next_start < n_starts && starts[next_start] < r_hi)
				limit = starts[next_start];
			ZydisDecodedInstruction zi;
			struct si_insn in = { .addr = pc };
			ZyanStatus st = ZydisDecoderDecodeInstruction(&dec, NULL,
				code->bytes + (pc - code->addr), limit - pc, &zi);
			/*
			 * A start inside an instruction: a signal frame's FDE begins one byte before
			 * its code (glibc's __restore_rt), so the sweep, not the start, is right.
			 */
			if (st == ZYDIS_STATUS_NO_MORE_DATA && limit < r_hi && code->eh &&
			    si_signal_frame_at(code->eh, limit)) {
				next_start++;
				continue;
			}
			uint64_t target = 0;
			if (ZYAN_SUCCESS(st)) {
				in.len = zi.length;
				in.flags = classify(&zi, pc, &target);
				if (zi.mnemonic == ZYDIS_MNEMONIC_LEA && (in.flags & SI_INSN_RIPREL)) {
					lea_target = pc + zi.length + (uint64_t)zi.raw.disp.value;
					lea_at = insns.n;
				} else if (zi.mnemonic == ZYDIS_MNEMONIC_JMP &&
					   !(in.flags & SI_INSN_RELATIVE) && code->eh) {
					if (zi.raw.modrm.mod == 3 && lea_target &&
					    insns.n - lea_at <= LEA_LOOKBACK)
						jump_table_targets(code, &targets, lea_target, true,
								   r_lo, r_hi);
					else if (zi.raw.modrm.mod == 0 && zi.raw.modrm.rm == 4 &&
						 zi.raw.sib.base == 5 && zi.raw.sib.scale == 3)
						jump_table_targets(code, &targets,
								   (uint64_t)zi.raw.disp.value,
								   false, r_lo, r_hi);
				}
			} else {
				in.len = 1;
				in.flags = SI_INSN_INVALID | SI_INSN_UNMOVABLE;
			}
			struct si_insn *slot = grow(&insns);
			if (!slot)
				goto oom;
			*slot = in;
			if (target && in_regions(&regions, target))
				set_target(&targets, target);
			pc += in.len;
		}
	}
	out->insns = insns.v;
	out->n_insns = insns.n;

	/* Mark targets; one that lands inside an instruction poisons the whole instruction. */
	for (size_t i = 0; i < out->n_insns; i++) {
		struct si_insn *in = &out->insns[i];
		if (is_target(&targets, in->addr))
			in->flags |= SI_INSN_TARGET;
		for (uint64_t b = in->addr + 1; b < in->addr + in->len; b++)
			if (is_target(&targets, b))
				in->flags |= SI_INSN_TARGET | SI_INSN_UNMOVABLE;
	}
	size_t n_sys = 0;
	for (size_t i = 0; i < out->n_insns; i++)
		n_sys += (out->insns[i].flags & SI_INSN_SYSCALL) != 0;
	out->syscalls = malloc((n_sys + 1) * sizeof(size_t));
	if (!out->syscalls)
		goto oom;
	for (size_t i = 0; i < out->n_insns; i++)
		if (out->insns[i].flags & SI_INSN_SYSCALL)
			out->syscalls[out->n_syscalls++] = i;
	free(targets.bits);
	free(regions.v);
	free(starts);
	return 0;
oom:
	free(targets.bits);
	free(regions.v);
	free(starts);
	free(insns.v);
	memset(out, 0, sizeof(*out));
	return -1;
}

void
si_analysis_free(struct si_analysis *a)
{
	free(a->insns);
	free(a->syscalls);
	memset(a, 0, sizeof(*a));
}
