/* x86-64 instruction decoding (capstone), the decode member of x86-64's
 * struct vr_arch_info (kernel.h) (engine-private). */
#ifndef VR_X86_64_DISASM_H
#define VR_X86_64_DISASM_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "kernel.h"

/* Decodes forward from code[0] (at addr) while inside the buffer, at most
 * max instructions; stops at the first byte capstone rejects. *ret is
 * malloc'ed; *n may be 0. Register fields are indices of vr_regset_x86_64. */
struct vr_error *vr_x86_64_decode(const uint8_t *code, size_t len, uint64_t addr, size_t max,
				  struct vr_insn **ret, size_t *n);

/* The register of vr_regset_x86_64 a name stands for, in any of its widths
 * ("rax", "eax", "ax", "al"; the kernel's "R08"); -1 none. */
int vr_x86_64_reg_from_name(const char *name);

#endif
