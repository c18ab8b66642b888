/* Instruction decoding by the architecture's decoder (kernel.h struct
 * vr_arch_info.decode), and the oops' "Code:" line. */
#define _GNU_SOURCE
#include "disasm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds a listing: the kernel's Code: line holds 64 bytes; a function
 * decoded from its start is limited by the caller's buffer. */
#define VR_DISASM_MAX_INSNS 4096

static struct vr_error *decoder(const struct vr_arch_info *arch)
{
	if (!arch)
		return vr_error_create(VR_ERR_UNSUPPORTED, "the architecture is not known: no instruction decoder");
	if (!arch->decode)
		return vr_error_create(VR_ERR_UNSUPPORTED, "no instruction decoder for %s", arch->label);
	return NULL;
}

struct vr_error *vr_disasm_one(const struct vr_arch_info *arch, const uint8_t *code, size_t len,
			       uint64_t addr, struct vr_insn *ret)
{
	struct vr_error *err = decoder(arch);
	if (err)
		return err;
	struct vr_insn *v = NULL;
	size_t n = 0;
	err = arch->decode(code, len > arch->max_insn_len ? arch->max_insn_len : len, addr, 1, &v, &n);
	if (err)
		return err;
	if (n != 1) {
		free(v);
		return vr_error_create(VR_ERR_FORMAT, "invalid instruction at 0x%016llx",
				       (unsigned long long)addr);
	}
	*ret = v[0];
	free(v);
	return NULL;
}

struct vr_error *vr_disasm_range(const struct vr_arch_info *arch, const uint8_t *code, size_t len,
				 uint64_t addr, size_t max, struct vr_insn **ret, size_t *n)
{
	struct vr_error *err = decoder(arch);
	if (err)
		return err;
	return arch->decode(code, len, addr, max, ret, n);
}

struct vr_error *vr_disasm_window(const struct vr_arch_info *arch, const uint8_t *code, size_t len,
				  size_t fault_off, uint64_t fault_addr, struct vr_insn **ret, size_t *n)
{
	if (fault_off >= len)
		return vr_error_create(VR_ERR_FORMAT, "faulting byte %zu outside %zu code bytes",
				       fault_off, len);
	struct vr_error *err = decoder(arch);
	if (err)
		return err;
	uint64_t base = fault_addr - fault_off;
	/* Try each start; the earliest one whose decoding reaches fault_off on
	 * an instruction boundary gives the most context (as the kernel's
	 * scripts/decodecode does by trial). */
	for (size_t start = 0; start <= fault_off; start++) {
		struct vr_insn *v = NULL;
		size_t cnt = 0;
		err = arch->decode(code + start, fault_off - start, base + start, VR_DISASM_MAX_INSNS, &v, &cnt);
		if (err)
			return err;
		size_t end = start;
		for (size_t i = 0; i < cnt; i++)
			end += v[i].size;
		free(v);
		if (end != fault_off)
			continue;
		/* The tail from start: decode everything to the buffer's end. */
		err = arch->decode(code + start, len - start, base + start, VR_DISASM_MAX_INSNS, ret, n);
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
