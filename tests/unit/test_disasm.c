/* Unit tests of analyzers/disasm.c and x86-64's decoder
 * (engine/x86_64_disasm.c): operand decoding, Code: line parsing and
 * decoding a window whose start is not an instruction boundary. */
#include <stdio.h>
#include <string.h>

#include "analyzers/disasm.h"
#include "engine/arch.h"
#include "engine/facts.h"
#include "engine/x86_64.h"
#include "engine/x86_64_disasm.h"

#define X86 (vr_arch_x86_64.info)

#include "check.h"

static void test_one(void)
{
	struct vr_insn in;
	const uint8_t mov[] = {0x48, 0x8b, 0x40, 0x08};
	CHECK(!vr_disasm_one(X86, mov, sizeof(mov), 0xffffffffc0000010, &in), "decode mov");
	CHECK(in.has_mem && in.base == X86_RAX && in.disp == 8 && in.index == -1, "base %d disp %lld",
	      in.base, (long long)in.disp);
	CHECK(in.size == 4, "size %u", in.size);
	CHECK(in.mem_read && !in.mem_write, "a load reads memory");
	CHECK(!strncmp(in.text, "mov", 3) && strstr(in.text, "(%rax)"), "text '%s'", in.text);

	/* mov 0x118(%rbx),%rdx */
	const uint8_t mov2[] = {0x48, 0x8b, 0x93, 0x18, 0x01, 0x00, 0x00};
	CHECK(!vr_disasm_one(X86, mov2, sizeof(mov2), 0, &in), "decode mov2");
	CHECK(in.base == X86_RBX && in.disp == 0x118, "base %d disp %lld", in.base, (long long)in.disp);

	/* mov %rax,-0x8(%r12,%rcx,8) */
	const uint8_t sib[] = {0x49, 0x89, 0x44, 0xcc, 0xf8};
	CHECK(!vr_disasm_one(X86, sib, sizeof(sib), 0, &in), "decode sib");
	CHECK(in.base == X86_R12 && in.index == X86_RCX && in.scale == 8 && in.disp == -8,
	      "base %d index %d scale %d disp %lld", in.base, in.index, in.scale, (long long)in.disp);
	CHECK(in.mem_write && !in.mem_read, "a store writes memory");

	/* add %eax,(%rdx): read-modify-write */
	const uint8_t rmw[] = {0x01, 0x02};
	CHECK(!vr_disasm_one(X86, rmw, sizeof(rmw), 0, &in), "decode add");
	CHECK(in.has_mem && in.mem_read && in.mem_write, "add to memory reads and writes it");

	/* mov %gs:0x28,%rax: a per-CPU access */
	const uint8_t gs[] = {0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00};
	CHECK(!vr_disasm_one(X86, gs, sizeof(gs), 0, &in), "decode gs");
	CHECK(in.percpu && in.base == -1, "segment %d base %d", in.percpu, in.base);

	/* ud2: BUG() */
	const uint8_t ud2[] = {0x0f, 0x0b};
	CHECK(!vr_disasm_one(X86, ud2, sizeof(ud2), 0, &in), "decode ud2");
	CHECK(in.is_trap && !in.has_mem, "ud2");

	/* lea is not an access */
	const uint8_t lea[] = {0x48, 0x8d, 0x47, 0x10};
	CHECK(!vr_disasm_one(X86, lea, sizeof(lea), 0, &in), "decode lea");
	CHECK(!in.has_mem, "lea has no memory access");

	/* mov 0x10(%rip),%rax */
	const uint8_t rip[] = {0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00};
	CHECK(!vr_disasm_one(X86, rip, sizeof(rip), 0, &in), "decode rip");
	CHECK(in.pc_relative && in.base == -1, "rip relative");

	/* invalid */
	const uint8_t bad[] = {0x06};
	struct vr_error *err = vr_disasm_one(X86, bad, sizeof(bad), 0, &in);
	CHECK(err && err->code == VR_ERR_FORMAT, "invalid opcode rejected");
	vr_error_destroy(err);
	CHECK(fails_with(vr_disasm_one(X86, mov, 2, 0, &in), VR_ERR_FORMAT), "truncated instruction rejected");
	CHECK(fails_with(vr_disasm_one(NULL, mov, sizeof(mov), 0, &in), VR_ERR_UNSUPPORTED), "no architecture, no decoding");
}

static void test_code_parse(void)
{
	uint8_t buf[64];
	size_t len = 0, off = 0;
	const char *line = "Code: 55 48 89 e5 48 8b 05 00 00 00 00 <48> 8b 40 10 5d c3";
	CHECK(!vr_code_parse(line, buf, sizeof(buf), &len, &off), "parse");
	CHECK(len == 17 && off == 11 && buf[11] == 0x48 && buf[16] == 0xc3, "len %zu off %zu", len, off);
	CHECK(!vr_code_parse("0f <0b> 90", buf, sizeof(buf), &len, &off) && off == 1, "no prefix");
	CHECK(!vr_code_parse("Code: (0f) 0b 90", buf, sizeof(buf), &len, &off) && off == 0, "parens");
	struct vr_error *err = vr_code_parse("Code: Bad RIP value.", buf, sizeof(buf), &len, &off);
	CHECK(err && err->code == VR_ERR_NOT_PRESENT, "bad RIP");
	vr_error_destroy(err);
	CHECK(fails_with(vr_code_parse("Code: 48 8b 40", buf, sizeof(buf), &len, &off), VR_ERR_FORMAT), "no marker");
	CHECK(fails_with(vr_code_parse("Code: 48 zz <40>", buf, sizeof(buf), &len, &off), VR_ERR_FORMAT), "junk");
	CHECK(fails_with(vr_code_parse("Code: <48 8b", buf, sizeof(buf), &len, &off), VR_ERR_FORMAT), "unclosed");
	CHECK(fails_with(vr_code_parse("Code: 48 8b <40>", buf, 2, &len, &off), VR_ERR_LIMIT), "too long");
	CHECK(fails_with(vr_code_parse("", buf, sizeof(buf), &len, &off), VR_ERR_FORMAT), "empty");
	CHECK(vr_x86_64_reg_from_name("R09") == X86_R9 && vr_x86_64_reg_from_name("eax") == X86_RAX &&
	      vr_x86_64_reg_from_name("r12d") == X86_R12 && vr_x86_64_reg_from_name("xmm0") == -1, "register names");
}

static void test_window(void)
{
	/* Starts in the middle of "48 8b 05 00 00 00 00" (its last bytes). */
	const uint8_t code[] = {0x00, 0x00, 0x55, 0x48, 0x89, 0xe5, 0x48, 0x8b, 0x05, 0x00, 0x00,
				0x00, 0x00, 0x48, 0x8b, 0x40, 0x10, 0x5d, 0xc3};
	struct vr_insn *v = NULL;
	size_t n = 0;
	uint64_t ip = 0xffffffffc0001000;
	CHECK(!vr_disasm_window(X86, code, sizeof(code), 13, ip, &v, &n), "window");
	size_t at = n;
	for (size_t i = 0; i < n; i++)
		if (v[i].address == ip)
			at = i;
	CHECK(at < n && v[at].base == X86_RAX && v[at].disp == 0x10, "fault insn found");
	CHECK(n >= 3 && v[n - 1].address == ip + 5, "last insn ret at +5 (n %zu)", n);
	free(v);
	CHECK(fails_with(vr_disasm_window(X86, code, sizeof(code), 40, ip, &v, &n), VR_ERR_FORMAT), "offset out of range");

	struct vr_insn *r = NULL;
	CHECK(!vr_disasm_range(X86, code + 2, sizeof(code) - 2, 0x1000, 100, &r, &n) && n == 6, "range n %zu", n);
	free(r);
}

int main(void)
{
	test_one();
	test_code_parse();
	test_window();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures != 0;
}
