/*
 * unwind.h -- unwind information (.eh_frame) for generated trampolines (unwind.c).
 */
#ifndef SI_UNWIND_H
#define SI_UNWIND_H

#include "intercept.h"

struct si_unwind {
	struct {
		uint8_t *buf;
		size_t len, cap;
		bool bad;
	} buf;
	size_t n;
	/* symbols for debuggers: one per trampoline, names in `names` */
	struct si_unwind_symbol {
		uint64_t addr, size;
		uint32_t name;	/* offset into names */
	} *syms;
	size_t n_syms, syms_cap;
	char *names;
	size_t names_len, names_cap;
};

void si_unwind_init(struct si_unwind *u);
/*
 * Describes the trampoline [code, code + len) made for the window starting at window_start in
 * obj: at each of the n offsets rsp_changes[] (ascending), RSP alternately drops by 128 (the
 * red zone skipped) and returns to the site's.
 */
void si_unwind_add(struct si_unwind *u, const struct si_object *obj, uint64_t window_start,
		   uint64_t code, const uint32_t *rsp_changes, size_t n, size_t len);
/*
 * Registers everything added with libgcc's unwinder, and with gdb through its JIT interface (an
 * in-memory ELF file with a symbol per trampoline and the same .eh_frame).  Kept for good.
 */
void si_unwind_register(struct si_unwind *u);

#endif
