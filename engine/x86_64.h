/* x86-64 page-table walk, kept apart from the dump so that it can be tested
 * with page tables built in memory (engine-private). */
#ifndef VR_X86_64_H
#define VR_X86_64_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

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

struct vr_kernel;
/* Once symbols are loaded: take page_offset_base, vmalloc_base and
 * vmemmap_base from the kernel's variables when VMCOREINFO did not name
 * them (it names none of them in Linux 6.1). Errors are not fatal. */
struct vr_error *vr_x86_64_refine(struct vr_kernel *k);

#endif
