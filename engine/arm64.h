/* arm64 (engine-private): its registers and address-space state, and the
 * page-table walk, kept apart from the dump so that it can be tested with
 * tables built in memory. The architecture table is vr_arch_arm64
 * (arch.h). */
#ifndef VR_ARM64_H
#define VR_ARM64_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "facts.h"

/* Registers: struct user_pt_regs (arch/arm64/include/uapi/asm/ptrace.h),
 * the order of NT_PRSTATUS pr_reg: x0..x30, sp, pc, pstate. x29 is the
 * frame pointer, x30 the link register. */
enum {
	A64_X0 = 0,
	A64_FP = 29,
	A64_LR = 30,
	A64_SP = 31,
	A64_PC = 32,
	A64_PSTATE = 33,
	A64_NREGS
};
extern const struct vr_regset vr_regset_arm64;

/* The translation regime of the kernel's half (TTBR1_EL1): the granule
 * (page_shift 12, 14 or 16: 4, 16 or 64 KiB), the virtual address bits it
 * translates (64 - TCR_EL1.T1SZ) and whether descriptors hold 52-bit
 * output addresses (FEAT_LPA with 64 KiB pages: PA[51:48] in bits 15:12;
 * FEAT_LPA2 with 4 and 16 KiB: PA[51:50] in bits 9:8). */
struct vr_arm64_regime {
	unsigned page_shift;
	unsigned va_bits;
	bool pa52;
};

/* The address space as arm64.c establishes it (k->arch_state). */
struct vr_arm64 {
	struct vr_arm64_regime regime;
	unsigned va_bits;          /* CONFIG_ARM64_VA_BITS (NUMBER(VA_BITS)) */
	uint64_t kimage_voffset;   /* image virtual - physical */
	uint64_t phys_offset;      /* PHYS_OFFSET: physical base of the linear map */
	uint64_t root;             /* physical address the walk starts at */
	uint64_t page_offset;      /* the linear map: [page_offset, page_end) */
	uint64_t page_end;         /* 0: to the top (before 5.4) */
	uint64_t pac_mask;         /* bits a pointer-authentication code takes in a kernel
				    * return address */
};

/* Reads one 8-byte descriptor at a physical address. */
typedef struct vr_error *(*vr_arm64_read_fn)(void *arg, uint64_t paddr, uint64_t *ret);

/* Walks the tables of regime r whose top level is at physical address
 * root. On success *ret is the physical address and *ret_size (may be
 * NULL) the size of the page or block that maps vaddr. VR_ERR_FAULT names
 * the level whose descriptor is invalid; read errors are passed on,
 * wrapped with the descriptor's address. */
struct vr_error *vr_arm64_walk(const struct vr_arm64_regime *r, uint64_t root, uint64_t vaddr,
			       vr_arm64_read_fn read, void *arg, uint64_t *ret, uint64_t *ret_size);

/* A return address without its pointer-authentication code: the bits of
 * pac_mask set again, as a kernel address has them. */
uint64_t vr_arm64_strip_pac(uint64_t addr, uint64_t pac_mask);

#endif
