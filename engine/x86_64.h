/* x86-64 (engine-private): its registers and address-space state, and the
 * page-table walk, kept apart from the dump so that it can be tested with
 * page tables built in memory. The architecture table is vr_arch_x86_64
 * (arch.h); x86_64_unwind.c, x86_64_orc.c, x86_64_cfi.c and
 * x86_64_disasm.c hold its unwinder and decoder. */
#ifndef VR_X86_64_H
#define VR_X86_64_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "facts.h"

/* Registers: struct user_regs_struct (arch/x86/include/asm/user_64.h), the
 * order of NT_PRSTATUS pr_reg and of struct pt_regs, then the control
 * registers QEMU's notes and the oops' register dump hold. Indices of
 * struct vr_regs.r for vr_regset_x86_64. */
enum {
	X86_R15, X86_R14, X86_R13, X86_R12, X86_RBP, X86_RBX, X86_R11, X86_R10,
	X86_R9, X86_R8, X86_RAX, X86_RCX, X86_RDX, X86_RSI, X86_RDI, X86_ORIG_RAX,
	X86_RIP, X86_CS, X86_EFLAGS, X86_RSP, X86_SS, X86_FS_BASE, X86_GS_BASE,
	X86_DS, X86_ES, X86_FS, X86_GS,
	X86_NFRAME,
	X86_CR0 = X86_NFRAME, X86_CR2, X86_CR3, X86_CR4,
	X86_NREGS
};
extern const struct vr_regset vr_regset_x86_64;

/* The address space as x86_64.c establishes it (k->arch_state); what every
 * architecture has is k->layout. */
struct vr_x86_64 {
	bool la57;               /* 5-level paging */
	uint64_t pgd;            /* physical address of the kernel top-level page table */
	uint64_t phys_base;
	bool phys_base_known;    /* phys_base may legitimately be 0 */
	uint64_t vmemmap_start;
	uint64_t sme_mask;       /* NUMBER(sme_mask): memory-encryption bit in entries */
	uint64_t image_end;      /* _end rounded up to 2 MiB, 0 unknown: past it the
				  * image region is mapped by page tables alone */
};

/* __START_KERNEL_map: arch/x86/include/asm/page_64_types.h */
#define VR_X86_64_START_KERNEL_MAP 0xffffffff80000000ull

/* Reads one 8-byte page-table entry at a physical address. */
typedef struct vr_error *(*vr_x86_64_read_fn)(void *arg, uint64_t paddr, uint64_t *ret);

/* Walks the tables rooted at physical address pgd (4 levels, or 5 when
 * la57); sme_mask (0 without memory encryption) is cleared from every entry.
 * On success *ret is the physical address and *ret_page_size (may be
 * NULL) the size of the page that maps vaddr (4 KiB, 2 MiB or 1 GiB).
 * VR_ERR_FAULT names the level whose entry is not present; read errors are
 * passed on with their code, wrapped with the entry's address. */
struct vr_error *vr_x86_64_walk(uint64_t pgd, bool la57, uint64_t sme_mask, uint64_t vaddr,
				vr_x86_64_read_fn read, void *arg, uint64_t *ret,
				uint64_t *ret_page_size);

/* Whether vaddr is canonical for the paging mode. */
bool vr_x86_64_canonical(uint64_t vaddr, bool la57);

/* Base of the direct map found from the page tables alone (for kernels
 * whose VMCOREINFO does not name page_offset_base); 0 when not found. */
uint64_t vr_x86_64_find_direct_map(uint64_t pgd, bool la57, uint64_t sme_mask,
				   vr_x86_64_read_fn read, void *arg);

#endif
