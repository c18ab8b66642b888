/* x86-64 instruction decoding with capstone (4.x API), the decode member
 * of x86-64's struct vr_arch_info: AT&T syntax, as `crash> dis` and objdump
 * print kernel code. */
#define _GNU_SOURCE
#include "x86_64_disasm.h"

#include <capstone/capstone.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "x86_64.h"

/* Bounds a listing: the kernel's Code: line holds 64 bytes; a function
 * decoded from its start is limited by the caller's buffer. */
#define VR_DISASM_MAX_INSNS 4096

int vr_x86_64_reg_from_name(const char *name)
{
	static const struct {
		const char *names[4];
		int reg;
	} map[] = {
		{{"rax", "eax", "ax", "al"}, X86_RAX}, {{"rbx", "ebx", "bx", "bl"}, X86_RBX},
		{{"rcx", "ecx", "cx", "cl"}, X86_RCX}, {{"rdx", "edx", "dx", "dl"}, X86_RDX},
		{{"rsi", "esi", "si", "sil"}, X86_RSI}, {{"rdi", "edi", "di", "dil"}, X86_RDI},
		{{"rbp", "ebp", "bp", "bpl"}, X86_RBP}, {{"rsp", "esp", "sp", "spl"}, X86_RSP},
		{{"r8", "r8d", "r8w", "r8b"}, X86_R8}, {{"r9", "r9d", "r9w", "r9b"}, X86_R9},
		{{"r10", "r10d", "r10w", "r10b"}, X86_R10}, {{"r11", "r11d", "r11w", "r11b"}, X86_R11},
		{{"r12", "r12d", "r12w", "r12b"}, X86_R12}, {{"r13", "r13d", "r13w", "r13b"}, X86_R13},
		{{"r14", "r14d", "r14w", "r14b"}, X86_R14}, {{"r15", "r15d", "r15w", "r15b"}, X86_R15},
		{{"r08", "r09", NULL, NULL}, -2}, /* the kernel prints R08/R09 */
		{{"rip", "eip", NULL, NULL}, X86_RIP},
	};
	if (!name)
		return -1;
	char low[8];
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof(low))
		return -1;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	if (!strcmp(low, "r08"))
		return X86_R8;
	if (!strcmp(low, "r09"))
		return X86_R9;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		for (int j = 0; j < 4; j++)
			if (map[i].names[j] && map[i].reg >= 0 && !strcmp(map[i].names[j], low))
				return map[i].reg;
	return -1;
}

struct cs {
	csh h;
	bool open;
};

static void cs_closep(struct cs *c)
{
	if (c->open)
		cs_close(&c->h);
}

static struct vr_error *cs_start(struct cs *c)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &c->h) != CS_ERR_OK)
		return vr_error_create(VR_ERR_UNSUPPORTED, "capstone cannot decode x86-64");
	c->open = true;
	cs_option(c->h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	cs_option(c->h, CS_OPT_DETAIL, CS_OPT_ON);
	return NULL;
}

static int gp_reg(csh h, unsigned reg)
{
	if (reg == X86_REG_INVALID)
		return -1;
	return vr_x86_64_reg_from_name(cs_reg_name(h, reg));
}

static void fill_insn(csh h, const cs_insn *ci, struct vr_insn *out)
{
	*out = (struct vr_insn){.base = -1, .index = -1};
	out->address = ci->address;
	out->size = (uint8_t)(ci->size > 16 ? 16 : ci->size);
	memcpy(out->bytes, ci->bytes, out->size);
	if (ci->op_str[0])
		snprintf(out->text, sizeof(out->text), "%-6s %s", ci->mnemonic, ci->op_str);
	else
		snprintf(out->text, sizeof(out->text), "%s", ci->mnemonic);
	out->is_trap = ci->id == X86_INS_UD2 || ci->id == X86_INS_UD0;
	if (!ci->detail)
		return;
	const cs_x86 *x = &ci->detail->x86;
	if ((cs_insn_group(h, ci, CS_GRP_CALL) || cs_insn_group(h, ci, CS_GRP_JUMP)) &&
	    x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
		out->has_target = true;
		out->target = (uint64_t)x->operands[0].imm;
	}
	for (int i = 0; i < x->op_count && i < 8; i++) {
		const cs_x86_op *op = &x->operands[i];
		if (op->type != X86_OP_MEM)
			continue;
		/* lea computes an address without accessing it: not a fault site. */
		if (ci->id == X86_INS_LEA)
			continue;
		out->has_mem = true;
		out->base = gp_reg(h, op->mem.base);
		out->index = gp_reg(h, op->mem.index);
		out->scale = op->mem.scale;
		out->disp = op->mem.disp;
		out->pc_relative = op->mem.base == X86_REG_RIP;
		if (out->pc_relative)
			out->base = -1;
		out->percpu = op->mem.segment == X86_REG_GS || op->mem.segment == X86_REG_FS;
		out->mem_read = op->access & CS_AC_READ;
		out->mem_write = op->access & CS_AC_WRITE;
		break;
	}
}

/* Decode forward with an open handle; stops at the end, at max, or at the
 * first byte capstone rejects. */
static struct vr_error *decode(csh h, const uint8_t *code, size_t len, uint64_t addr, size_t max,
			       struct vr_insn **ret, size_t *n)
{
	*ret = NULL;
	*n = 0;
	if (max > VR_DISASM_MAX_INSNS)
		max = VR_DISASM_MAX_INSNS;
	cs_insn *ci = cs_malloc(h);
	if (!ci)
		return &vr_error_oom;
	struct vr_insn *v = NULL;
	size_t cap = 0, count = 0;
	const uint8_t *p = code;
	size_t left = len;
	uint64_t a = addr;
	while (left && count < max && cs_disasm_iter(h, &p, &left, &a, ci)) {
		struct vr_error *err = vr_grow(&v, &cap, count + 1, sizeof(*v), VR_DISASM_MAX_INSNS);
		if (err) {
			cs_free(ci, 1);
			free(v);
			return err;
		}
		fill_insn(h, ci, &v[count++]);
	}
	cs_free(ci, 1);
	*ret = v;
	*n = count;
	return NULL;
}

struct vr_error *vr_x86_64_decode(const uint8_t *code, size_t len, uint64_t addr, size_t max,
				  struct vr_insn **ret, size_t *n)
{
	_cleanup_(cs_closep) struct cs c = {0};
	struct vr_error *err = cs_start(&c);
	if (err)
		return err;
	return decode(c.h, code, len, addr, max, ret, n);
}
