/* DWARF CFI fallback for the unwinder. Debian's and most distributions'
 * kernels are built with ORC, which covers all kernel text, so this serves
 * where ORC is missing (a kernel built without CONFIG_UNWINDER_ORC, or text
 * the ORC tables do not cover). A .debug_frame row is turned into the ORC
 * entry it amounts to, so one walker handles both.
 *
 * x86-64 DWARF register numbers (System V psABI, table 3.36): 6 = RBP,
 * 7 = RSP, 16 = the return address column. */
#include "x86_64_cfi.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "dwarf.h"

#define DWARF_REG_RBP 6
#define DWARF_REG_RSP 7
#define DWARF_REG_RA 16

/* "CFA + n" as libdw spells a register saved at an offset from the CFA:
 * DW_OP_call_frame_cfa, then nothing, DW_OP_plus_uconst n, or
 * DW_OP_consts n + DW_OP_plus. */
static bool cfa_offset(const Dwarf_Op *ops, size_t n, int64_t *ret)
{
	if (n < 1 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (n == 1) {
		*ret = 0;
		return true;
	}
	/* libdw writes a negative offset as DW_OP_plus_uconst of its two's
	 * complement. */
	if (n == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*ret = (int64_t)ops[1].number;
		return true;
	}
	if (n == 3 && ops[1].atom == DW_OP_consts && ops[2].atom == DW_OP_plus) {
		*ret = (int64_t)ops[1].number;
		return true;
	}
	return false;
}

bool vr_cfi_orc_entry(struct vr_kernel *k, uint64_t ip, struct vr_orc_entry *ret)
{
	Dwarf *dbg;
	if (!k->vmlinux_elf || vr_kernel_absorb(k, vr_dwarf_vmlinux(k, &dbg), VR_ERR_NOT_FOUND))
		return false;
	/* libdw keeps the CFI with the Dwarf handle: asking again is cheap. */
	Dwarf_CFI *cfi = dwarf_getcfi(dbg);
	Dwarf_Frame *frame = NULL;
	if (!cfi || dwarf_cfi_addrframe(cfi, ip - k->layout.kaslr_offset, &frame) != 0 || !frame)
		return false;

	struct vr_orc_entry e = {.type = VR_ORC_TYPE_CALL, .sp_reg = VR_ORC_REG_UNDEFINED,
				 .bp_reg = VR_ORC_REG_UNDEFINED};
	bool ok = false;
	Dwarf_Op *ops = NULL;
	size_t n = 0;
	/* The CFA: the caller's SP, as "RSP + n" or "RBP + n" (libdw gives
	 * the row's def_cfa as DW_OP_bregx reg, n; an expression as bregN). */
	if (dwarf_frame_cfa(frame, &ops, &n) == 0 && n == 1) {
		int64_t reg = -1, cfa_off = 0;
		if (ops[0].atom == DW_OP_bregx) {
			reg = (int64_t)ops[0].number;
			cfa_off = (int64_t)ops[0].number2;
		} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
			reg = ops[0].atom - DW_OP_breg0;
			cfa_off = (int64_t)ops[0].number;
		}
		if ((reg == DWARF_REG_RSP || reg == DWARF_REG_RBP) && cfa_off >= INT16_MIN &&
		    cfa_off <= INT16_MAX) {
			e.sp_reg = reg == DWARF_REG_RSP ? VR_ORC_REG_SP : VR_ORC_REG_BP;
			e.sp_offset = (int16_t)cfa_off;
			ok = true;
		}
	}
	/* ORC, like the x86-64 call instruction, keeps the return address at
	 * CFA - 8; a row that puts it elsewhere is not one ORC can say. */
	Dwarf_Op mem[3];
	int64_t off;
	if (ok && (dwarf_frame_register(frame, DWARF_REG_RA, mem, &ops, &n) != 0 ||
		   !cfa_offset(ops, n, &off) || off != -8))
		ok = false;
	/* Where the caller's RBP is: saved at CFA + n, or unchanged. */
	if (ok && dwarf_frame_register(frame, DWARF_REG_RBP, mem, &ops, &n) == 0) {
		if (n > 0 && cfa_offset(ops, n, &off) && off >= INT16_MIN && off <= INT16_MAX) {
			e.bp_reg = VR_ORC_REG_PREV_SP;
			e.bp_offset = (int16_t)off;
		}
	}
	free(frame);
	if (ok)
		*ret = e;
	return ok;
}
