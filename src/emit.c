/*
 * emit.c -- writes trampolines and the jumps into them.  A trampoline for a window [start, end)
 * around a syscall at S is:
 *
 *     <instructions of [start, S), relocated>
 *     lea  -128(%rsp), %rsp          skip the red zone (lea: RFLAGS untouched)
 *     lea  site(%rip), %r11          which site this is
 *     call *entry_slot(%rip)         into entry.S
 *   after_call:
 *     lea  128(%rsp), %rsp
 *   resume:
 *     <instructions of (S, end), relocated>
 *     jmp  end
 *   syscall_stub:                    (entered from entry.S to run the syscall, at the site's RSP)
 *     syscall
 *     movabs $return_addr, %rcx      RCX as if the syscall had run at the site
 *     jmp  resume
 *   vfork_stub:                      (entered from entry.S for vfork-like calls, at the site's RSP)
 *     syscall
 *     lea  -128(%rsp), %rsp
 *     lea  site(%rip), %r11
 *     call *vfork_post_slot(%rip)    (entry_slot + 8)
 *     jmp  after_call
 *     <struct si_site>
 *
 * It only produces bytes into buffers; it never maps memory or writes into live text.
 */
#include "intercept.h"

#include <string.h>

static void
put32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, 4);
}

static bool
rel32(uint64_t from_next, uint64_t to, int32_t *out)
{
	int64_t d = (int64_t)(to - from_next);
	if (d < INT32_MIN || d > INT32_MAX)
		return false;
	*out = (int32_t)d;
	return true;
}

static const uint8_t LEA_RSP_DOWN[] = { 0x48, 0x8d, 0x64, 0x24, 0x80 };
static const uint8_t LEA_RSP_UP[] = { 0x48, 0x8d, 0xa4, 0x24, 0x80, 0x00, 0x00, 0x00 };

size_t
si_emit_trampoline(const struct si_analysis *a, const struct si_patch *p,
		   const struct si_object *obj, uint64_t entry_slot, uint8_t *out, uint64_t out_addr,
		   uint64_t *moved_to)
{
	size_t n = 0, sys = SIZE_MAX;
	int32_t d;
	for (size_t i = p->first; i < p->last; i++)
		if (a->insns[i].flags & SI_INSN_SYSCALL)
			sys = i;
	if (sys == SIZE_MAX)
		return 0;
	/* Worst case: 10 relocated instructions of 16 bytes, 64 bytes of glue and stubs, the site. */
	for (size_t i = p->first; i < sys; i++) {
		if (moved_to)
			moved_to[i - p->first] = out_addr + n;
		int len = si_relocate(a, i, out_addr + n, out + n);
		if (len < 0)
			return 0;
		n += (size_t)len;
	}
	if (moved_to)	/* the syscall becomes the call into the entry */
		moved_to[sys - p->first] = out_addr + n;
	memcpy(out + n, LEA_RSP_DOWN, sizeof(LEA_RSP_DOWN));
	n += sizeof(LEA_RSP_DOWN);
	size_t lea_site = n;	/* lea site(%rip), %r11: displacement filled in below */
	out[n++] = 0x4c;
	out[n++] = 0x8d;
	out[n++] = 0x1d;
	n += 4;
	out[n++] = 0xff;	/* call *entry_slot(%rip) */
	out[n++] = 0x15;
	if (!rel32(out_addr + n + 4, entry_slot, &d))
		return 0;
	put32(out + n, d);
	n += 4;
	uint64_t after_call = out_addr + n;
	memcpy(out + n, LEA_RSP_UP, sizeof(LEA_RSP_UP));
	n += sizeof(LEA_RSP_UP);
	uint64_t resume = out_addr + n;
	for (size_t i = sys + 1; i < p->last; i++) {
		if (moved_to)
			moved_to[i - p->first] = out_addr + n;
		int len = si_relocate(a, i, out_addr + n, out + n);
		if (len < 0)
			return 0;
		n += (size_t)len;
	}
	out[n++] = 0xe9;	/* jmp end */
	if (!rel32(out_addr + n + 4, p->end, &d))
		return 0;
	put32(out + n, d);
	n += 4;

	uint64_t syscall_stub = out_addr + n;
	uint64_t return_addr = a->insns[sys].addr + a->insns[sys].len;
	out[n++] = 0x0f;	/* syscall */
	out[n++] = 0x05;
	out[n++] = 0x48;	/* movabs $return_addr, %rcx */
	out[n++] = 0xb9;
	memcpy(out + n, &return_addr, 8);
	n += 8;
	out[n++] = 0xe9;	/* jmp resume */
	if (!rel32(out_addr + n + 4, resume, &d))
		return 0;
	put32(out + n, d);
	n += 4;

	uint64_t vfork_stub = out_addr + n;
	out[n++] = 0x0f;	/* syscall */
	out[n++] = 0x05;
	memcpy(out + n, LEA_RSP_DOWN, sizeof(LEA_RSP_DOWN));
	n += sizeof(LEA_RSP_DOWN);
	size_t lea_site2 = n;
	out[n++] = 0x4c;
	out[n++] = 0x8d;
	out[n++] = 0x1d;
	n += 4;
	out[n++] = 0xff;	/* call *vfork_post_slot(%rip) */
	out[n++] = 0x15;
	if (!rel32(out_addr + n + 4, entry_slot + 8, &d))
		return 0;
	put32(out + n, d);
	n += 4;
	out[n++] = 0xe9;	/* jmp after_call */
	if (!rel32(out_addr + n + 4, after_call, &d))
		return 0;
	put32(out + n, d);
	n += 4;

	n = (n + 7) & ~(size_t)7;
	if (n + sizeof(struct si_site) > SI_MAX_TRAMPOLINE_LEN)
		return 0;
	struct si_site site = {
		.resume = resume,
		.after_call = after_call,
		.return_addr = return_addr,
		.syscall_addr = a->insns[sys].addr,
		.object = obj,
		.vfork_stub = vfork_stub,
		.syscall_stub = syscall_stub,
	};
	memcpy(out + n, &site, sizeof(site));
	put32(out + lea_site + 3, (int32_t)(n - (lea_site + 7)));
	put32(out + lea_site2 + 3, (int32_t)(n - (lea_site2 + 7)));
	n += sizeof(site);
	return n;
}

void
si_emit_window(const struct si_patch *p, uint64_t trampoline, uint8_t *window, uint8_t pad[5])
{
	size_t len = p->end - p->start;
	memset(window, 0xcc, len);	/* int3 after the jump: never reached, traps if it were */
	if (p->method == SI_PATCH_JMP_WINDOW) {
		window[0] = 0xe9;
		put32(window + 1, (int32_t)(trampoline - (p->start + 5)));
	} else {
		window[0] = 0xeb;
		window[1] = (uint8_t)(int8_t)(p->pad_addr - (p->start + 2));
		pad[0] = 0xe9;
		put32(pad + 1, (int32_t)(trampoline - (p->pad_addr + 5)));
	}
}
