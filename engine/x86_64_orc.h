/* ORC unwind tables and the stack walker that follows them (engine-private).
 *
 * The walker core (vr_unwind_raw) knows nothing of dumps: it reads memory,
 * finds ORC entries and classifies stack pointers through the callbacks of
 * struct vr_unwinder, so it can be tested on synthetic stacks. x86_64_unwind.c
 * binds it to a struct vr_kernel. */
#ifndef VR_X86_64_ORC_H
#define VR_X86_64_ORC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "facts.h"

struct vr_kernel;
struct vr_orc;

/* ---- ORC entries (arch/x86/include/asm/orc_types.h) ----
 * An entry is 6 bytes: s16 sp_offset, s16 bp_offset, then a 16-bit word of
 * bitfields whose layout changed twice:
 *   v1 (v4.14 .. v6.2, commit ee9f8fce9964 "x86/unwind: Add the ORC unwinder"):
 *      sp_reg:4 bp_reg:4 type:2 end:1; CALL=0 REGS=1 REGS_PARTIAL=2
 *   v2 (v6.3, commit ffb1b4a41016 "x86/unwind/orc: Add 'signal' field to ORC
 *      metadata"): sp_reg:4 bp_reg:4 type:2 signal:1 end:1
 *   v3 (v6.4+, commit fb799447ae29 "x86,objtool: Split UNWIND_HINT_EMPTY in
 *      two"): sp_reg:4 bp_reg:4 type:3 signal:1; UNDEFINED=0 END_OF_STACK=1
 *      CALL=2 REGS=3 REGS_PARTIAL=4
 *   v4 (7.x: Debian's 7.3 has it, 6.12 not): v3's bitfields, base registers
 *      renumbered UNDEFINED=0 AX=1 DX=2 SP=3 BP=4 DI=5 R10=6 R13=7 PREV_SP=8
 *      SP_INDIRECT=9 BP_INDIRECT=10, as the kernel's own unwind_next_frame()
 *      reads them; the renumbering leaves struct orc_entry as it was, so it
 *      is told from the table (vr_orc_guess_version)
 * Entries are normalized to the v3 type numbering and the register numbering
 * before v4 (below). (The version numbers are vmreport's own.) */
enum {
	VR_ORC_V1 = 1,
	VR_ORC_V2 = 2,
	VR_ORC_V3 = 3,
	VR_ORC_V4 = 4,
};

enum {
	VR_ORC_TYPE_UNDEFINED = 0,
	VR_ORC_TYPE_END_OF_STACK = 1,
	VR_ORC_TYPE_CALL = 2,
	VR_ORC_TYPE_REGS = 3,
	VR_ORC_TYPE_REGS_PARTIAL = 4,
};

/* Base registers, as numbered before v4. */
enum {
	VR_ORC_REG_UNDEFINED = 0,
	VR_ORC_REG_PREV_SP = 1,
	VR_ORC_REG_DX = 2,
	VR_ORC_REG_DI = 3,
	VR_ORC_REG_BP = 4,
	VR_ORC_REG_SP = 5,
	VR_ORC_REG_R10 = 6,
	VR_ORC_REG_R13 = 7,
	VR_ORC_REG_BP_INDIRECT = 8,
	VR_ORC_REG_SP_INDIRECT = 9,
	VR_ORC_REG_AX = 10,      /* v4 only */
	VR_ORC_REG_INVALID = 15, /* a number no version gives a meaning */
};

#define VR_ORC_ENTRY_SIZE 6

struct vr_orc_entry {
	int16_t sp_offset;
	int16_t bp_offset;
	uint8_t sp_reg;
	uint8_t bp_reg;
	uint8_t type;   /* VR_ORC_TYPE_* */
	bool signal;    /* the caller's IP is exact, not a return address */
	bool fp;        /* no table's: the frame-pointer rule (vr_orc_fp_entry) */
};

/* The frame-pointer rule of a kernel built with CONFIG_FRAME_POINTER and no
 * ORC (the kernel's orc_fp_entry): the function's prologue pushed the
 * caller's RBP and set RBP to its own SP, so the return address is at
 * RBP + 8, the caller's RBP at RBP and the caller's SP is RBP + 16. */
void vr_orc_fp_entry(struct vr_orc_entry *ret);

/* Decode one raw 6-byte entry of the given version. */
void vr_orc_decode(const uint8_t raw[VR_ORC_ENTRY_SIZE], int version, struct vr_orc_entry *ret);

/* One sorted table: the vmlinux's or one module's. ip holds the kernel's
 * self-relative offsets (little-endian s32): entry i covers from
 * ip_addr + 4*i + ip[i]. The bytes are the table's own or, read in place
 * from a mapped vmlinux, someone else's that outlive it. */
struct vr_orc_table {
	char *name;          /* NULL for the kernel image, else the module name */
	uint64_t ip_addr;    /* run-time address of ip[0] */
	const uint8_t *ip;   /* n * 4 bytes */
	const uint8_t *raw;  /* n * 6 bytes */
	void *owned_ip, *owned_raw;
	size_t n;
	uint64_t lo, hi;     /* text range the table answers for: [lo, hi) */
};

/* Build a table from raw bytes (copied). Fails on n == 0 or n beyond a limit. */
struct vr_error *vr_orc_table_init(struct vr_orc_table *t, const char *name, uint64_t ip_addr,
				   const void *ip_bytes, const void *orc_bytes, size_t n);
/* The same over bytes that stay where they are: with take, malloc'd buffers
 * the table frees (also on failure); else bytes that outlive the table. */
struct vr_error *vr_orc_table_init_in_place(struct vr_orc_table *t, const char *name, uint64_t ip_addr,
					    const void *ip_bytes, const void *orc_bytes, size_t n,
					    bool take);
void vr_orc_table_deinit(struct vr_orc_table *t);
/* The entry covering ip (the last entry starting at or before it). */
bool vr_orc_table_find(const struct vr_orc_table *t, int version, uint64_t ip,
		       struct vr_orc_entry *ret);
/* The version whose CALL type dominates the table's entries: most entries
 * are CALL frames, numbered 0 before v6.4 and 2 after; and in those, the
 * stack pointer is by far the most common base register: 5 before v4, 3
 * since. Returns guess when the table says nothing clear. */
int vr_orc_guess_version(const struct vr_orc_table *t, int guess);

/* ---- stacks ---- */
enum vr_stack_kind {
	VR_STACK_UNKNOWN = 0,
	VR_STACK_TASK,
	VR_STACK_IRQ,
	VR_STACK_NMI,
	VR_STACK_DF,
	VR_STACK_MCE,
	VR_STACK_DB,
	VR_STACK_VC,
	VR_STACK_VC2,
	VR_STACK_ENTRY,
	VR_STACK_N
};
/* "task", "irq", "nmi", "df", "mce", "db", "vc", "vc2", "entry"; NULL for unknown */
const char *vr_stack_kind_name(enum vr_stack_kind kind);

struct vr_stack_range {
	enum vr_stack_kind kind;
	uint64_t lo, hi; /* [lo, hi) */
};

/* ---- the walker ---- */
#define VR_UNWIND_MAX_FRAMES 256

struct vr_unwinder {
	void *ctx;
	bool (*read_u64)(void *ctx, uint64_t addr, uint64_t *ret);
	/* ORC entry for ip; false when no table covers ip. */
	bool (*find_orc)(void *ctx, uint64_t ip, struct vr_orc_entry *ret);
	/* Whether addr is a plausible return address into kernel or module
	 * text (for the scanning fallback); NULL disables scanning. */
	bool (*is_return_address)(void *ctx, uint64_t addr);
	/* Whether addr is in kernel or module text; NULL: anything is. A
	 * return address outside text ends a walk (or, in a walk that is
	 * already guessing, sends it back to scanning). */
	bool (*is_text)(void *ctx, uint64_t addr);
	/* Whether the instruction before return address ret is a direct call
	 * of the function that holds ip; NULL: never known. A scanned return
	 * address that passes is the caller's, not a guess. */
	bool (*calls)(void *ctx, uint64_t ret, uint64_t ip);
	/* The stacks this CPU/task may use. None: stack pointers are not
	 * checked against bounds (only for monotonic growth). */
	const struct vr_stack_range *stacks;
	size_t n_stacks;
	size_t max_frames; /* 0: VR_UNWIND_MAX_FRAMES */
	/* Also report, as unreliable frames, the return addresses found on
	 * the stack between two frames (the kernel's "? func" lines: stale
	 * or not yet proven frames). Needs is_return_address. */
	bool scan_gaps;
	/* Registers known to be true (a CPU's saved registers): a walk that
	 * guessed its way to a pt_regs holding exactly these is right after
	 * all, and its frames other than the guessed ones are reliable. */
	const struct vr_regs *anchor;
};

struct vr_raw_frame {
	uint64_t ip;
	uint64_t sp;
	bool call;          /* ip is a return address (look up ip - 1) */
	bool reliable;
	bool guessed;       /* found by scanning the stack */
	bool exception;     /* the frame was reached through pt_regs */
	bool partial_regs;  /* only the iret part of regs is known */
	uint64_t regs_addr; /* address of the pt_regs when exception */
	struct vr_regs regs;
	enum vr_stack_kind stack;
};

struct vr_raw_trace {
	struct vr_raw_frame *frames; /* owned */
	size_t n;
	char stop[192];              /* "" when the unwind reached the end */
};

/* Walk from regs. call_frame: regs.r[X86_RIP] is a return address (a switch
 * frame's ret_addr). first_unreliable: the start was found by scanning.
 * Returns VR_ERR_NOMEM only; every other problem ends the walk and is said
 * in out->stop. */
struct vr_error *vr_unwind_raw(const struct vr_unwinder *u, const struct vr_regs *regs,
			       bool call_frame, bool first_unreliable, struct vr_raw_trace *out);
void vr_raw_trace_deinit(struct vr_raw_trace *t);

/* ---- the kernel's tables (struct vr_orc of internal.h) ---- */
/* ORC data of the kernel and its modules, loaded once (k->orc); NULL when
 * none could be found (the reason is returned). */
struct vr_error *vr_orc_load(struct vr_kernel *k, struct vr_orc **ret);
bool vr_orc_find(const struct vr_orc *o, uint64_t ip, struct vr_orc_entry *ret);
int vr_orc_version(const struct vr_orc *o);
size_t vr_orc_n_tables(const struct vr_orc *o);
void vr_orc_destroy(struct vr_orc *o);
/* Whether the kernel has no ORC at all: a vmlinux without .orc_unwind
 * sections and no __start_orc_unwind_ip symbol (kernels before 4.14, and
 * later ones built without CONFIG_UNWINDER_ORC). Without a vmlinux it is
 * not known: false. */
bool vr_orc_absent(struct vr_kernel *k);

/* Start state of a task that was switched out: thread.sp points at struct
 * inactive_task_frame (arch/x86/include/asm/switch_to.h: r15 r14 r13 r12 bx
 * bp ret_addr on x86-64). frame holds its n_words words as read; bp_word and
 * ret_word index bp and ret_addr. RIP = ret_addr (in __schedule, after the
 * call to __switch_to_asm), RSP = thread.sp + the frame's size. */
void vr_unwind_switch_regs(uint64_t thread_sp, const uint64_t *frame, size_t n_words,
			   size_t bp_word, size_t ret_word, struct vr_regs *ret);

#endif
