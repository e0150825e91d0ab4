/*
 * relocate.c -- moves one instruction to another address with the same effect: relative branch
 * targets and RIP-relative operands keep their absolute addresses (Zydis re-encodes them, picking
 * a wider encoding when the short one no longer reaches).  It never decides where code goes and
 * never moves an instruction whose meaning depends on its own location in other ways (calls,
 * which push their address; rel8-only loops).
 */
#include "intercept.h"

#include <Zydis/Zydis.h>
#include <string.h>

bool
si_relocatable(const struct si_analysis *a, size_t index)
{
	uint16_t f = a->insns[index].flags;
	return !(f & (SI_INSN_UNMOVABLE | SI_INSN_CALL | SI_INSN_INVALID | SI_INSN_SYSCALL));
}

int
si_relocate(const struct si_analysis *a, size_t index, uint64_t new_addr, uint8_t *out)
{
	const struct si_insn *in = &a->insns[index];
	const uint8_t *bytes = a->code.bytes + (in->addr - a->code.addr);
	if (!si_relocatable(a, index))
		return -1;
	if (!(in->flags & (SI_INSN_RELATIVE | SI_INSN_RIPREL))) {
		memcpy(out, bytes, in->len);
		return in->len;
	}

	ZydisDecoder dec;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, in->len, &zi, ops)))
		return -1;

	ZydisEncoderRequest req;
	if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(&zi, ops,
			zi.operand_count_visible, &req)))
		return -1;
	/* Absolute addresses in, the encoder computes the new relative ones. */
	for (ZyanU8 k = 0; k < req.operand_count; k++) {
		ZydisEncoderOperand *op = &req.operands[k];
		const ZydisDecodedOperand *dop = &ops[k];
		ZyanU64 abs;
		if (dop->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && dop->imm.is_relative) {
			if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&zi, dop, in->addr, &abs)))
				return -1;
			op->imm.u = abs;
		} else if (dop->type == ZYDIS_OPERAND_TYPE_MEMORY && dop->mem.base == ZYDIS_REGISTER_RIP) {
			if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&zi, dop, in->addr, &abs)))
				return -1;
			op->mem.displacement = (ZyanI64)abs;
		}
	}
	/* Let the encoder widen a short branch that no longer reaches. */
	req.branch_type = ZYDIS_BRANCH_TYPE_NONE;
	req.branch_width = ZYDIS_BRANCH_WIDTH_NONE;
	ZyanUSize len = SI_MAX_RELOCATED_LEN;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(&req, out, &len, new_addr)))
		return -1;
	return (int)len;
}
