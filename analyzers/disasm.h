/* Instruction decoding for the analyzers, by the architecture's decoder
 * (struct vr_arch_info.decode, kernel.h): the memory operand of a faulting
 * instruction, and a listing around it in the style of `crash> dis -l`.
 * Also the parser of the oops' "Code:" line. Each fails with
 * VR_ERR_UNSUPPORTED when the architecture (NULL: unknown) has no decoder. */
#ifndef VR_DISASM_H
#define VR_DISASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../engine/error.h"
#include "../engine/kernel.h"

/* Decode one instruction at code[0..len) located at addr. VR_ERR_FORMAT
 * when the bytes are not a valid instruction. */
struct vr_error *vr_disasm_one(const struct vr_arch_info *arch, const uint8_t *code, size_t len,
			       uint64_t addr, struct vr_insn *ret);

/* Decode forward from code[0] (at addr) while inside the buffer, at most
 * max instructions; stops at the first undecodable byte. *ret is
 * malloc'ed; *n may be 0. */
struct vr_error *vr_disasm_range(const struct vr_arch_info *arch, const uint8_t *code, size_t len,
				 uint64_t addr, size_t max, struct vr_insn **ret, size_t *n);

/* Decode a window whose true instruction boundaries are known only at
 * fault_off (the "Code:" bytes: some bytes before the faulting
 * instruction, which may start mid-instruction). Finds the earliest start
 * from which decoding lands exactly on fault_off and returns the
 * instructions from there to the end of the buffer. */
struct vr_error *vr_disasm_window(const struct vr_arch_info *arch, const uint8_t *code, size_t len,
				  size_t fault_off, uint64_t fault_addr, struct vr_insn **ret, size_t *n);

/* Parse the bytes of a "Code:" line ("48 8b 40 10 <48> 8b ..." or with the
 * faulting instruction in parentheses for a trapping IP: "(48) 8b").
 * Accepts the text with or without the leading "Code: ". Bytes written to
 * buf (at most cap); *ret_fault_off is the offset of the marked byte.
 * VR_ERR_FORMAT when there is no marked byte or no hex at all;
 * "Bad RIP value." lines give VR_ERR_NOT_PRESENT. */
struct vr_error *vr_code_parse(const char *text, uint8_t *buf, size_t cap, size_t *ret_len,
			       size_t *ret_fault_off);


#endif
