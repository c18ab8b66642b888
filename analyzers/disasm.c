/* x86-64 decoding with capstone (4.x API). AT&T syntax, as `crash> dis` and
 * objdump print kernel code. */
#define _GNU_SOURCE
#include "disasm.h"

#include <capstone/capstone.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../engine/facts.h"

/* Longest x86 instruction (Intel SDM vol. 2, 2.3.11). */
#define VR_INSN_MAX 15
/* Bounds a listing: the kernel's Code: line holds 64 bytes; a function
 * decoded from its start is limited by the caller's buffer. */
#define VR_DISASM_MAX_INSNS 4096

int vr_reg_from_name(const char *name)
{
	static const struct {
		const char *names[4];
		int reg;
	} map[] = {
		{{"rax", "eax", "ax", "al"}, VR_RAX}, {{"rbx", "ebx", "bx", "bl"}, VR_RBX},
		{{"rcx", "ecx", "cx", "cl"}, VR_RCX}, {{"rdx", "edx", "dx", "dl"}, VR_RDX},
		{{"rsi", "esi", "si", "sil"}, VR_RSI}, {{"rdi", "edi", "di", "dil"}, VR_RDI},
		{{"rbp", "ebp", "bp", "bpl"}, VR_RBP}, {{"rsp", "esp", "sp", "spl"}, VR_RSP},
		{{"r8", "r8d", "r8w", "r8b"}, VR_R8}, {{"r9", "r9d", "r9w", "r9b"}, VR_R9},
		{{"r10", "r10d", "r10w", "r10b"}, VR_R10}, {{"r11", "r11d", "r11w", "r11b"}, VR_R11},
		{{"r12", "r12d", "r12w", "r12b"}, VR_R12}, {{"r13", "r13d", "r13w", "r13b"}, VR_R13},
		{{"r14", "r14d", "r14w", "r14b"}, VR_R14}, {{"r15", "r15d", "r15w", "r15b"}, VR_R15},
		{{"r08", "r09", NULL, NULL}, -2}, /* the kernel prints R08/R09 */
		{{"rip", "eip", NULL, NULL}, VR_RIP},
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
		return VR_R8;
	if (!strcmp(low, "r09"))
		return VR_R9;
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
	return vr_reg_from_name(cs_reg_name(h, reg));
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
	out->is_ud2 = ci->id == X86_INS_UD2 || ci->id == X86_INS_UD0;
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
		out->rip_relative = op->mem.base == X86_REG_RIP;
		if (out->rip_relative)
			out->base = -1;
		out->segment_override = op->mem.segment == X86_REG_GS || op->mem.segment == X86_REG_FS;
		out->mem_read = op->access & CS_AC_READ;
		out->mem_write = op->access & CS_AC_WRITE;
		break;
	}
}

struct vr_error *vr_disasm_one(const uint8_t *code, size_t len, uint64_t addr, struct vr_insn *ret)
{
	_cleanup_(cs_closep) struct cs c = {0};
	struct vr_error *err = cs_start(&c);
	if (err)
		return err;
	cs_insn *ci = NULL;
	size_t n = cs_disasm(c.h, code, len > VR_INSN_MAX ? VR_INSN_MAX : len, addr, 1, &ci);
	if (n != 1) {
		if (ci)
			cs_free(ci, n);
		return vr_error_create(VR_ERR_FORMAT, "invalid instruction at 0x%016llx",
				       (unsigned long long)addr);
	}
	fill_insn(c.h, ci, ret);
	cs_free(ci, n);
	return NULL;
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

struct vr_error *vr_disasm_range(const uint8_t *code, size_t len, uint64_t addr, size_t max,
				 struct vr_insn **ret, size_t *n)
{
	_cleanup_(cs_closep) struct cs c = {0};
	struct vr_error *err = cs_start(&c);
	if (err)
		return err;
	return decode(c.h, code, len, addr, max, ret, n);
}

struct vr_error *vr_disasm_window(const uint8_t *code, size_t len, size_t fault_off,
				  uint64_t fault_addr, struct vr_insn **ret, size_t *n)
{
	if (fault_off >= len)
		return vr_error_create(VR_ERR_FORMAT, "faulting byte %zu outside %zu code bytes",
				       fault_off, len);
	_cleanup_(cs_closep) struct cs c = {0};
	struct vr_error *err = cs_start(&c);
	if (err)
		return err;
	uint64_t base = fault_addr - fault_off;
	/* Try each start; the earliest one whose decoding reaches fault_off on
	 * an instruction boundary gives the most context (as the kernel's
	 * scripts/decodecode does by trial). */
	for (size_t start = 0; start <= fault_off; start++) {
		struct vr_insn *v = NULL;
		size_t cnt = 0;
		err = decode(c.h, code + start, fault_off - start, base + start, VR_DISASM_MAX_INSNS,
			     &v, &cnt);
		if (err)
			return err;
		size_t end = start;
		for (size_t i = 0; i < cnt; i++)
			end += v[i].size;
		free(v);
		if (end != fault_off)
			continue;
		/* The tail from start: decode everything to the buffer's end. */
		err = decode(c.h, code + start, len - start, base + start, VR_DISASM_MAX_INSNS, ret, n);
		if (err)
			return err;
		size_t at = start;
		for (size_t i = 0; i < *n; i++) {
			if (at == fault_off)
				return NULL;
			at += (*ret)[i].size;
		}
		free(*ret);
		*ret = NULL;
		*n = 0;
	}
	return vr_error_create(VR_ERR_FORMAT, "no decoding of the code bytes reaches the faulting instruction");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

struct vr_error *vr_code_parse(const char *text, uint8_t *buf, size_t cap, size_t *ret_len,
			       size_t *ret_fault_off)
{
	if (!text)
		return vr_error_create(VR_ERR_NOT_PRESENT, "no code bytes");
	const char *p = strstr(text, "Code:");
	p = p ? p + 5 : text;
	if (strstr(p, "Bad RIP value") || strstr(p, "Unable to access opcode bytes"))
		return vr_error_create(VR_ERR_NOT_PRESENT, "the kernel could not read the code bytes");
	size_t len = 0;
	bool have_fault = false;
	size_t fault = 0;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n' || *p == '\r')
			break;
		bool marked = false;
		char close = 0;
		if (*p == '<' || *p == '(') {
			close = *p == '<' ? '>' : ')';
			marked = true;
			p++;
		}
		int hi = hexval((unsigned char)p[0]);
		int lo = hi >= 0 ? hexval((unsigned char)p[1]) : -1;
		if (hi < 0 || lo < 0)
			return vr_error_create(VR_ERR_FORMAT, "code bytes: not a hex byte at column %zu",
					       (size_t)(p - text));
		p += 2;
		if (marked) {
			if (*p != close)
				return vr_error_create(VR_ERR_FORMAT, "code bytes: unclosed marker at column %zu",
						       (size_t)(p - text));
			p++;
			if (!have_fault) {
				have_fault = true;
				fault = len;
			}
		}
		if (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return vr_error_create(VR_ERR_FORMAT, "code bytes: junk at column %zu",
					       (size_t)(p - text));
		if (len >= cap)
			return vr_error_create(VR_ERR_LIMIT, "code bytes: more than %zu bytes", cap);
		buf[len++] = (uint8_t)(hi << 4 | lo);
	}
	if (!len)
		return vr_error_create(VR_ERR_FORMAT, "code bytes: no hex bytes");
	if (!have_fault)
		return vr_error_create(VR_ERR_FORMAT, "code bytes: no faulting byte marked");
	*ret_len = len;
	*ret_fault_off = fault;
	return NULL;
}
