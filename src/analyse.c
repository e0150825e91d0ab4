/*
 * analyse.c -- decodes a code region with Zydis and records, per instruction, what limits
 * patching: syscall sites, jump/call targets, relative operands, padding, control flow that does
 * not fall through.  It only reads; it never decides where a patch goes (plan.c does).
 */
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

/* The instruction that contains addr (starts at or before it), or SIZE_MAX. */
static size_t
insn_containing(const struct si_analysis *a, uint64_t addr)
{
	size_t lo = 0, hi = a->n_insns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->insns[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return SIZE_MAX;
	const struct si_insn *i = &a->insns[lo - 1];
	return addr < i->addr + i->len ? lo - 1 : SIZE_MAX;
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
	if (zi->meta.category == ZYDIS_CATEGORY_CALL)
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

int
si_analyse(const struct si_code *code, const uint64_t *starts_in, size_t n_starts,
	   struct si_analysis *out)
{
	memset(out, 0, sizeof(*out));
	out->code = *code;

	uint64_t *starts = malloc((n_starts + 1) * sizeof(*starts));
	size_t cap = code->len / 3 + 16, n = 0, n_targets = 0, target_cap = 1024;
	struct si_insn *insns = malloc(cap * sizeof(*insns));
	uint64_t *targets = malloc(target_cap * sizeof(*targets));
	if (!starts || !insns || !targets)
		goto oom;
	memcpy(starts, starts_in, n_starts * sizeof(*starts));
	qsort(starts, n_starts, sizeof(*starts), cmp_u64);

	ZydisDecoder dec;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);

	size_t next_start = 0;
	uint64_t end = code->addr + code->len;
	uint64_t pc = code->addr;
	while (pc < end) {
		/* Resynchronise at known function starts the sweep would otherwise step over. */
		while (next_start < n_starts && starts[next_start] < pc)
			next_start++;
		ZydisDecodedInstruction zi;
		uint64_t limit = end;
		if (next_start < n_starts && starts[next_start] > pc && starts[next_start] < end)
			limit = starts[next_start];
		struct si_insn in = { .addr = pc };
		ZyanStatus st = ZydisDecoderDecodeInstruction(&dec, NULL, code->bytes + (pc - code->addr),
							      limit - pc, &zi);
		uint64_t target = 0;
		if (ZYAN_SUCCESS(st)) {
			in.len = zi.length;
			in.flags = classify(&zi, pc, &target);
		} else {
			in.len = 1;
			in.flags = SI_INSN_INVALID | SI_INSN_UNMOVABLE;
		}
		if (n == cap) {
			cap *= 2;
			struct si_insn *grown = realloc(insns, cap * sizeof(*insns));
			if (!grown)
				goto oom;
			insns = grown;
		}
		insns[n++] = in;
		if (target >= code->addr && target < end) {
			if (n_targets == target_cap) {
				target_cap *= 2;
				uint64_t *grown = realloc(targets, target_cap * sizeof(*targets));
				if (!grown)
					goto oom;
				targets = grown;
			}
			targets[n_targets++] = target;
		}
		pc += in.len;
	}
	out->insns = insns;
	out->n_insns = n;

	/* Mark targets; one that lands inside an instruction poisons the whole instruction. */
	for (size_t k = 0; k < n_targets + n_starts; k++) {
		uint64_t t = k < n_targets ? targets[k] : starts[k - n_targets];
		size_t i = insn_containing(out, t);
		if (i != SIZE_MAX) {
			insns[i].flags |= SI_INSN_TARGET;
			if (insns[i].addr != t)
				insns[i].flags |= SI_INSN_UNMOVABLE;
		}
	}
	size_t n_sys = 0;
	for (size_t i = 0; i < n; i++)
		n_sys += (insns[i].flags & SI_INSN_SYSCALL) != 0;
	out->syscalls = malloc((n_sys + 1) * sizeof(size_t));
	if (!out->syscalls)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (insns[i].flags & SI_INSN_SYSCALL)
			out->syscalls[out->n_syscalls++] = i;
	free(targets);
	free(starts);
	return 0;
oom:
	free(targets);
	free(starts);
	free(insns);
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
