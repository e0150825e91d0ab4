/*
 * entry_layout.h -- offsets shared by entry.S and the C code: the frame the entry builds, struct
 * si_site, the vector save areas, the dispatcher's actions, and the per-thread library stacks
 * (struct si_stack_tls and the layout of the mapping).  Plain #defines so the assembler can read
 * them; dispatch.c and stack.c check them against the C structs at compile time.
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
#define FRAME_RBX	80	/* rbx holds R from the prologue to the epilogue */
#define FRAME_PROG_RSP	88	/* R (REC_BUILDING while the frame is being written) */
#define FRAME_SIZE	96
/* R, the interrupted stack below the red zone: what the entry and the trampoline left there */
#define PROG_RFLAGS	0
#define PROG_RET	8	/* the return into the trampoline */
#define PROG_CFA	16	/* R + 16: RSP before the trampoline's call (the site's RSP - 128) */

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
#define SI_ACTION_EXIT		5	/* the exit syscall of a thread whose stacks can be freed */

/*
 * The library stacks of a thread: one reservation of STK_LEVELS stacks of STK_STRIDE bytes,
 * level 0 at the top.  Level k spans [top_k - STK_STRIDE, top_k), top_k = base + STK_MAP -
 * k * STK_STRIDE; its lowest page stays PROT_NONE (the guard), the rest becomes read-write the
 * first time the level is used (levels 0 and 1 at once).  The record of level k, at
 * top_k - STK_RECORD, is the FRAME_PROG_RSP slot of the frame of the activation that owns the
 * level: 0 free, REC_BUILDING while that frame is being written, then its R.
 */
#define STK_LEVELS	4
#define STK_STRIDE	0x40000		/* 256 KiB */
#define STK_MAP		0x100000	/* STK_LEVELS * STK_STRIDE */
#define STK_GUARD	0x1000
#define STK_RECORD	8		/* top_k - STK_RECORD: the record of level k */
#define REC_BUILDING	1

/* struct si_stack_tls (stack.c), in the thread's static TLS block (initial-exec) */
#define STK_FAST	0	/* level 0's top; else si_stack_no_level + STK_RECORD (busy) */
#define STK_BASE	8	/* the reservation, 0 when this thread has none */
#define STK_READY	16	/* 32 bits: bit k set when level k is read-write */
#define STK_FLAGS	20	/* 32 bits: STK_SHARED, STK_BORROWED */
#define STK_VFORK	24	/* 32 bits: the levels owned when a vfork-like call started */
#define STK_SHARED	1	/* the TLS block is shared with another running thread */
#define STK_BORROWED	2	/* a CLONE_VM|CLONE_VFORK child runs on its suspended parent's TLS */

#endif
