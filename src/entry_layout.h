/*
 * entry_layout.h -- offsets shared by entry.S and the C dispatcher: the frame the entry pushes,
 * struct si_site, the vector save areas, and the dispatcher's actions.  Plain #defines so the
 * assembler can read them; dispatch.c checks them against the C structs at compile time.
 */
#ifndef SI_ENTRY_LAYOUT_H
#define SI_ENTRY_LAYOUT_H

#define FRAME_RBP	0
#define FRAME_RESULT	8
#define FRAME_NR	16
#define FRAME_RDI	24
#define FRAME_RSI	32
#define FRAME_RDX	40
#define FRAME_R10	48
#define FRAME_R8	56
#define FRAME_R9	64
#define FRAME_SITE	72
#define FRAME_RFLAGS	80
#define FRAME_RET	88
#define FRAME_SIZE	96	/* up to and including the return address */

#define SITE_RESUME	0
#define SITE_AFTER_CALL	8
#define SITE_RETURN_ADDR 16
#define SITE_VFORK_STUB	48
#define SITE_SYSCALL_STUB 56

#define VEC_AREA_SSE	320	/* 16 xmm + control words, multiple of 64 */
#define VEC_CTRL_SSE	256
#define VEC_AREA_AVX	576	/* 16 ymm + control words */
#define VEC_CTRL_AVX	512
#define VEC_AREA_AVX512	2176	/* 32 zmm + 8 k + control words */
#define VEC_CTRL_AVX512	2112

#define SI_ACTION_RETURN	0
#define SI_ACTION_SIGRETURN	1
#define SI_ACTION_CLONE_STACK	2
#define SI_ACTION_VFORK		3
#define SI_ACTION_SYSCALL	4

#endif
