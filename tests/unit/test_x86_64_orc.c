/* ORC entry decoding, table lookup, switch-frame start state and the walker
 * on synthetic stacks: call chains, pt_regs frames, IRQ stack switches,
 * bounds, loops and the scanning fallback. */
#include <stdio.h>
#include <string.h>

#include "engine/x86_64.h"
#include "engine/x86_64_orc.h"

#include "check.h"

static void raw_entry(uint8_t *b, int16_t sp_off, int16_t bp_off, uint16_t flags)
{
	b[0] = (uint8_t)sp_off;
	b[1] = (uint8_t)((uint16_t)sp_off >> 8);
	b[2] = (uint8_t)bp_off;
	b[3] = (uint8_t)((uint16_t)bp_off >> 8);
	b[4] = (uint8_t)flags;
	b[5] = (uint8_t)(flags >> 8);
}

static void test_decode(void)
{
	uint8_t b[6];
	struct vr_orc_entry e;

	/* v1 (6.1): sp_reg SP, bp_reg PREV_SP, type REGS (1), no end. */
	raw_entry(b, 16, -16, 5 | 1 << 4 | 1 << 8);
	vr_orc_decode(b, VR_ORC_V1, &e);
	CHECK(e.sp_offset == 16 && e.bp_offset == -16);
	CHECK(e.sp_reg == VR_ORC_REG_SP && e.bp_reg == VR_ORC_REG_PREV_SP);
	CHECK(e.type == VR_ORC_TYPE_REGS && e.signal);
	/* v1 CALL */
	raw_entry(b, 8, 0, 5);
	vr_orc_decode(b, VR_ORC_V1, &e);
	CHECK(e.type == VR_ORC_TYPE_CALL && !e.signal);
	/* v1 REGS_PARTIAL */
	raw_entry(b, 8, 0, 5 | 2 << 8);
	vr_orc_decode(b, VR_ORC_V1, &e);
	CHECK(e.type == VR_ORC_TYPE_REGS_PARTIAL && e.signal);
	/* v1: undefined sp_reg with end (bit 10) ends the stack, without it is undefined */
	raw_entry(b, 0, 0, 0x400);
	vr_orc_decode(b, VR_ORC_V1, &e);
	CHECK(e.type == VR_ORC_TYPE_END_OF_STACK);
	raw_entry(b, 0, 0, 0);
	vr_orc_decode(b, VR_ORC_V1, &e);
	CHECK(e.type == VR_ORC_TYPE_UNDEFINED);
	/* v2 (6.3): signal bit 10, end bit 11 */
	raw_entry(b, 8, 0, 5 | 0x400);
	vr_orc_decode(b, VR_ORC_V2, &e);
	CHECK(e.type == VR_ORC_TYPE_CALL && e.signal);
	raw_entry(b, 0, 0, 0x800);
	vr_orc_decode(b, VR_ORC_V2, &e);
	CHECK(e.type == VR_ORC_TYPE_END_OF_STACK);
	/* v3 (6.4+): type:3 at bit 8 in the new numbering, signal bit 11 */
	raw_entry(b, -8, 0, 4 | 4 << 4 | 2 << 8);
	vr_orc_decode(b, VR_ORC_V3, &e);
	CHECK(e.sp_offset == -8 && e.sp_reg == VR_ORC_REG_BP && e.bp_reg == VR_ORC_REG_BP);
	CHECK(e.type == VR_ORC_TYPE_CALL && !e.signal);
	raw_entry(b, 8, 0, 5 | 2 << 8 | 0x800);
	vr_orc_decode(b, VR_ORC_V3, &e);
	CHECK(e.type == VR_ORC_TYPE_CALL && e.signal);
	raw_entry(b, 0, 0, 1 << 8);
	vr_orc_decode(b, VR_ORC_V3, &e);
	CHECK(e.type == VR_ORC_TYPE_END_OF_STACK);
	raw_entry(b, 0, 0, 3 << 8 | 5);
	vr_orc_decode(b, VR_ORC_V3, &e);
	CHECK(e.type == VR_ORC_TYPE_REGS && e.signal);
	raw_entry(b, 0, 0, 4 << 8 | 5);
	vr_orc_decode(b, VR_ORC_V3, &e);
	CHECK(e.type == VR_ORC_TYPE_REGS_PARTIAL);
	raw_entry(b, 0, 0, 0);
	vr_orc_decode(b, VR_ORC_V3, &e);
	CHECK(e.type == VR_ORC_TYPE_UNDEFINED);
}

static void test_table(void)
{
	const uint64_t ip_addr = 0xffffffff82000000ull;
	const uint64_t at[] = {0xffffffff81001000ull, 0xffffffff81001010ull, 0xffffffff81001020ull,
			       0xffffffff81001100ull};
	uint8_t ipb[4 * 4], orc[4 * 6];
	for (int i = 0; i < 4; i++) {
		int32_t off = (int32_t)(at[i] - (ip_addr + 4 * (uint64_t)i));
		memcpy(ipb + 4 * i, &off, 4);
		raw_entry(orc + 6 * i, (int16_t)(8 * (i + 1)), 0, 5);
	}
	struct vr_orc_table t;
	CHECK(vr_orc_table_init(&t, NULL, ip_addr, ipb, orc, 4) == NULL);
	struct vr_orc_entry e;
	CHECK(!vr_orc_table_find(&t, VR_ORC_V1, 0xffffffff81000fffull, &e));
	CHECK(vr_orc_table_find(&t, VR_ORC_V1, 0xffffffff81001000ull, &e) && e.sp_offset == 8);
	CHECK(vr_orc_table_find(&t, VR_ORC_V1, 0xffffffff8100100full, &e) && e.sp_offset == 8);
	CHECK(vr_orc_table_find(&t, VR_ORC_V1, 0xffffffff81001010ull, &e) && e.sp_offset == 16);
	CHECK(vr_orc_table_find(&t, VR_ORC_V1, 0xffffffff810010ffull, &e) && e.sp_offset == 24);
	CHECK(!vr_orc_table_find(&t, VR_ORC_V1, 0xffffffff81001101ull, &e));
	vr_orc_table_deinit(&t);

	struct vr_orc_table bad;
	CHECK(fails_with(vr_orc_table_init(&bad, NULL, ip_addr, ipb, orc, 0), VR_ERR_FORMAT));

	/* Version guess: a table of v3 CALL entries, and one of v1 CALLs. */
	enum { N = 64 };
	uint8_t ip64[4 * N] = {0}, o3[6 * N], o1[6 * N];
	for (int i = 0; i < N; i++) {
		raw_entry(o3 + 6 * i, 8, 0, 5 | 2 << 8);
		raw_entry(o1 + 6 * i, 8, 0, 5);
	}
	struct vr_orc_table t3, t1;
	CHECK(vr_orc_table_init(&t3, "m", ip_addr, ip64, o3, N) == NULL);
	CHECK(vr_orc_table_init(&t1, "m", ip_addr, ip64, o1, N) == NULL);
	CHECK(vr_orc_guess_version(&t3, VR_ORC_V1) == VR_ORC_V3);
	CHECK(vr_orc_guess_version(&t1, VR_ORC_V3) == VR_ORC_V1);
	CHECK(vr_orc_guess_version(&t1, VR_ORC_V2) == VR_ORC_V2);
	vr_orc_table_deinit(&t3);
	vr_orc_table_deinit(&t1);
}

static void test_switch_regs(void)
{
	/* r15 r14 r13 r12 bx bp ret_addr */
	const uint64_t frame[7] = {15, 14, 13, 12, 0xb0, 0xffffc90000013e98ull, 0xffffffff81a00123ull};
	struct vr_regs r;
	vr_unwind_switch_regs(0xffffc90000013e40ull, frame, 7, 5, 6, &r);
	CHECK(r.valid);
	CHECK(r.r[X86_RIP] == 0xffffffff81a00123ull);
	CHECK(r.r[X86_RSP] == 0xffffc90000013e40ull + 56);
	CHECK(r.r[X86_RBP] == 0xffffc90000013e98ull);
	CHECK(r.r[X86_RBX] == 0xb0 && r.r[X86_R15] == 15 && r.r[X86_R12] == 12);
	vr_unwind_switch_regs(0x1000, frame, 5, 5, 6, &r);
	CHECK(!r.valid);
}

/* ---- synthetic machine ---- */
#define TASK_LO 0x10000u
#define TASK_HI 0x14000u
#define IRQ_LO 0x20000u
#define IRQ_HI 0x24000u

static uint64_t mem_task[(TASK_HI - TASK_LO) / 8];
static uint64_t mem_irq[(IRQ_HI - IRQ_LO) / 8];

struct fn {
	uint64_t lo, hi;
	struct vr_orc_entry e;
};
static struct fn fns[16];
static size_t n_fns;

static void set_word(uint64_t addr, uint64_t v)
{
	if (addr >= TASK_LO && addr < TASK_HI)
		mem_task[(addr - TASK_LO) / 8] = v;
	else if (addr >= IRQ_LO && addr < IRQ_HI)
		mem_irq[(addr - IRQ_LO) / 8] = v;
}

static bool m_read(void *ctx, uint64_t addr, uint64_t *ret)
{
	(void)ctx;
	if (addr >= TASK_LO && addr < TASK_HI)
		*ret = mem_task[(addr - TASK_LO) / 8];
	else if (addr >= IRQ_LO && addr < IRQ_HI)
		*ret = mem_irq[(addr - IRQ_LO) / 8];
	else
		return false;
	return true;
}

static bool m_find(void *ctx, uint64_t ip, struct vr_orc_entry *ret)
{
	(void)ctx;
	for (size_t i = 0; i < n_fns; i++)
		if (ip >= fns[i].lo && ip < fns[i].hi) {
			*ret = fns[i].e;
			return true;
		}
	return false;
}

static bool m_is_ret(void *ctx, uint64_t addr)
{
	(void)ctx;
	return addr == 0x2005 || addr == 0x3005;
}

static void add_fn(uint64_t lo, int type, int sp_reg, int16_t sp_off, int bp_reg, int16_t bp_off)
{
	fns[n_fns++] = (struct fn){lo, lo + 0x1000,
				   {.sp_offset = sp_off, .bp_offset = bp_off, .sp_reg = (uint8_t)sp_reg,
				    .bp_reg = (uint8_t)bp_reg, .type = (uint8_t)type,
				    .signal = type == VR_ORC_TYPE_REGS || type == VR_ORC_TYPE_REGS_PARTIAL}};
}

static const struct vr_stack_range stacks[] = {
	{VR_STACK_TASK, TASK_LO, TASK_HI},
	{VR_STACK_IRQ, IRQ_LO, IRQ_HI},
};

static struct vr_unwinder machine(void)
{
	return (struct vr_unwinder){.read_u64 = m_read, .find_orc = m_find,
				    .is_return_address = m_is_ret, .stacks = stacks, .n_stacks = 2};
}

static void reset(void)
{
	memset(mem_task, 0, sizeof(mem_task));
	memset(mem_irq, 0, sizeof(mem_irq));
	n_fns = 0;
}

static struct vr_regs start(uint64_t ip, uint64_t sp)
{
	struct vr_regs r = {0};
	r.r[X86_RIP] = ip;
	r.r[X86_RSP] = sp;
	r.r[X86_CS] = 0x10;
	r.valid = true;
	return r;
}

static void test_call_chain_and_regs(void)
{
	reset();
	add_fn(0x1000, VR_ORC_TYPE_CALL, VR_ORC_REG_SP, 16, VR_ORC_REG_UNDEFINED, 0); /* A */
	add_fn(0x2000, VR_ORC_TYPE_CALL, VR_ORC_REG_SP, 8, VR_ORC_REG_UNDEFINED, 0);  /* B */
	add_fn(0x3000, VR_ORC_TYPE_REGS, VR_ORC_REG_SP, 0, VR_ORC_REG_UNDEFINED, 0);  /* C: entry code */
	add_fn(0x4000, VR_ORC_TYPE_CALL, VR_ORC_REG_SP, 8, VR_ORC_REG_UNDEFINED, 0);  /* D */
	add_fn(0x5000, VR_ORC_TYPE_END_OF_STACK, 0, 0, 0, 0);                         /* E */
	set_word(0x10108, 0x2005);  /* A's return address, into B */
	set_word(0x10110, 0x3005);  /* B's, into C */
	/* pt_regs at 0x10118: ip (word 16) = D, cs, flags, sp, ss; bp */
	set_word(0x10118 + 8 * X86_RBP, 0xbeef);
	set_word(0x10118 + 8 * X86_RIP, 0x4010);
	set_word(0x10118 + 8 * X86_CS, 0x10);
	set_word(0x10118 + 8 * X86_RSP, 0x10300);
	set_word(0x10300, 0x5005);  /* D's return address, into E */

	struct vr_unwinder u = machine();
	struct vr_regs r = start(0x1010, 0x10100);
	struct vr_raw_trace t;
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 5);
	if (t.n == 5) {
		CHECK(t.frames[0].ip == 0x1010 && !t.frames[0].call && t.frames[0].reliable);
		CHECK(t.frames[1].ip == 0x2005 && t.frames[1].sp == 0x10110 && t.frames[1].call);
		CHECK(t.frames[2].ip == 0x3005 && t.frames[2].sp == 0x10118);
		CHECK(t.frames[3].ip == 0x4010 && t.frames[3].exception && !t.frames[3].call);
		CHECK(t.frames[3].regs_addr == 0x10118 && t.frames[3].regs.r[X86_RBP] == 0xbeef);
		CHECK(t.frames[4].ip == 0x5005 && t.frames[4].reliable);
		CHECK(t.frames[0].stack == VR_STACK_TASK);
	}
	CHECK(t.stop[0] == '\0');
	vr_raw_trace_deinit(&t);

	/* The same walk with a frame limit says why it stopped. */
	u.max_frames = 3;
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 3 && strstr(t.stop, "more than 3 frames"));
	vr_raw_trace_deinit(&t);
}

static void test_irq_switch(void)
{
	reset();
	/* F runs on the IRQ stack; call_on_irqstack() saved the task SP at
	 * the top of the IRQ stack (SP_INDIRECT). */
	add_fn(0x6000, VR_ORC_TYPE_CALL, VR_ORC_REG_SP_INDIRECT, 8, VR_ORC_REG_UNDEFINED, 0);
	add_fn(0x2000, VR_ORC_TYPE_CALL, VR_ORC_REG_SP, 8, VR_ORC_REG_UNDEFINED, 0);
	add_fn(0x3000, VR_ORC_TYPE_END_OF_STACK, 0, 0, 0, 0);
	set_word(0x23f00, 0x10200);
	set_word(0x10200, 0x2005);
	set_word(0x10208, 0x3005);
	struct vr_unwinder u = machine();
	struct vr_regs r = start(0x6010, 0x23f00);
	struct vr_raw_trace t;
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 3);
	if (t.n == 3) {
		CHECK(t.frames[0].stack == VR_STACK_IRQ);
		CHECK(t.frames[1].ip == 0x2005 && t.frames[1].stack == VR_STACK_TASK);
		CHECK(t.frames[2].ip == 0x3005 && t.frames[2].sp == 0x10210);
	}
	vr_raw_trace_deinit(&t);

	/* Bad data that switches back to the IRQ stack is refused. */
	set_word(0x10200, 0x6005);
	set_word(0x10208, 0x23e00);
	set_word(0x23e00, 0x2005);
	r = start(0x6010, 0x23f00);
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 2 && strstr(t.stop, "from the task stack to the irq stack"));
	vr_raw_trace_deinit(&t);
}

static void test_loops_and_bounds(void)
{
	reset();
	/* sp_offset 0: the caller's SP is the same, a loop. */
	add_fn(0x1000, VR_ORC_TYPE_CALL, VR_ORC_REG_SP, 0, VR_ORC_REG_UNDEFINED, 0);
	set_word(0x100f8, 0x1005);
	struct vr_unwinder u = machine();
	struct vr_regs r = start(0x1010, 0x10100);
	struct vr_raw_trace t;
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 1 && strstr(t.stop, "wrong direction"));
	vr_raw_trace_deinit(&t);

	/* A caller SP off every stack. */
	reset();
	add_fn(0x1000, VR_ORC_TYPE_CALL, VR_ORC_REG_SP, 0x7ff0, VR_ORC_REG_UNDEFINED, 0);
	r = start(0x1010, 0x10100);
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 1 && t.stop[0] != '\0');
	vr_raw_trace_deinit(&t);

	/* A start off every stack. */
	r = start(0x1010, 0x90000);
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 1 && strstr(t.stop, "no known stack"));
	vr_raw_trace_deinit(&t);
}

static void test_user_end_and_scan(void)
{
	reset();
	add_fn(0x3000, VR_ORC_TYPE_REGS, VR_ORC_REG_SP, 0, VR_ORC_REG_UNDEFINED, 0);
	set_word(0x10100 + 8 * X86_RIP, 0x401000);
	set_word(0x10100 + 8 * X86_CS, 0x33);
	set_word(0x10100 + 8 * X86_RSP, 0x7ffc0000);
	set_word(0x10100 + 8 * X86_ORIG_RAX, 1);
	struct vr_unwinder u = machine();
	struct vr_regs r = start(0x3010, 0x10100);
	struct vr_raw_trace t;
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 2 && t.stop[0] == '\0');
	if (t.n == 2)
		CHECK(t.frames[1].exception && t.frames[1].ip == 0x401000 &&
		      t.frames[1].regs.r[X86_ORIG_RAX] == 1);
	vr_raw_trace_deinit(&t);

	/* No ORC for the IP (say, BPF): scanning finds B's return address. */
	reset();
	add_fn(0x2000, VR_ORC_TYPE_CALL, VR_ORC_REG_SP, 8, VR_ORC_REG_UNDEFINED, 0);
	add_fn(0x3000, VR_ORC_TYPE_END_OF_STACK, 0, 0, 0, 0);
	set_word(0x10100, 0x1234);
	set_word(0x10108, 0xdead);
	set_word(0x10110, 0x2005);
	set_word(0x10118, 0x3005);
	r = start(0x9010, 0x10100);
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 3 && t.stop[0] == '\0');
	if (t.n == 3) {
		CHECK(t.frames[0].reliable);
		CHECK(t.frames[1].ip == 0x2005 && !t.frames[1].reliable && t.frames[1].sp == 0x10118);
		/* ORC alone then reached the end of the stack: confirmed. */
		CHECK(t.frames[2].ip == 0x3005 && t.frames[2].reliable);
	}
	vr_raw_trace_deinit(&t);

	/* A switch-frame start: the IP is a return address, looked up at ip-1
	 * (0x2000 here is the end of the previous function). */
	reset();
	add_fn(0x1000, VR_ORC_TYPE_CALL, VR_ORC_REG_SP, 8, VR_ORC_REG_UNDEFINED, 0);
	add_fn(0x2000, VR_ORC_TYPE_END_OF_STACK, 0, 0, 0, 0);
	set_word(0x10100, 0x3005);
	fns[n_fns++] = (struct fn){0x3000, 0x4000, {.type = VR_ORC_TYPE_END_OF_STACK}};
	r = start(0x2000, 0x10100);
	CHECK(vr_unwind_raw(&u, &r, true, false, &t) == NULL);
	CHECK(t.n == 2 && t.frames[0].call && t.frames[1].ip == 0x3005);
	vr_raw_trace_deinit(&t);
}

/* An iret frame (REGS_PARTIAL) after a full pt_regs frame: the registers
 * other than the iret five are those of the full set before it. */
static void test_partial_regs(void)
{
	reset();
	add_fn(0x3000, VR_ORC_TYPE_REGS_PARTIAL, VR_ORC_REG_SP, 0, VR_ORC_REG_UNDEFINED, 0);
	add_fn(0x4000, VR_ORC_TYPE_END_OF_STACK, 0, 0, 0, 0);
	/* iret frame at 0x10200: ip cs flags sp ss */
	set_word(0x10200, 0x4010);
	set_word(0x10208, 0x10);
	set_word(0x10210, 0x246);
	set_word(0x10218, 0x10400);
	set_word(0x10220, 0x18);
	struct vr_unwinder u = machine();
	struct vr_regs r = start(0x3010, 0x10200);
	r.r[X86_RBX] = 0x1234;
	r.r[X86_RBP] = 0x5678;
	struct vr_raw_trace t;
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 2 && t.stop[0] == '\0');
	if (t.n == 2) {
		CHECK(t.frames[1].exception && t.frames[1].partial_regs);
		CHECK(t.frames[1].regs_addr == 0x10200 - 16 * 8);
		CHECK(t.frames[1].regs.r[X86_RIP] == 0x4010 && t.frames[1].regs.r[X86_RSP] == 0x10400);
		CHECK(t.frames[1].regs.r[X86_EFLAGS] == 0x246);
		CHECK(t.frames[1].regs.r[X86_RBX] == 0x1234);
	}
	vr_raw_trace_deinit(&t);

	/* An IRQ-stack walk may go to the task stack, never the other way. */
	reset();
	add_fn(0x1000, VR_ORC_TYPE_CALL, VR_ORC_REG_SP_INDIRECT, 8, VR_ORC_REG_UNDEFINED, 0);
	set_word(0x10100, 0x23000);
	set_word(0x23000, 0x2005);
	fns[n_fns++] = (struct fn){0x2000, 0x3000, {.type = VR_ORC_TYPE_END_OF_STACK}};
	r = start(0x1010, 0x10100);
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 1 && strstr(t.stop, "from the task stack to the irq stack"));
	vr_raw_trace_deinit(&t);
}

/* Hostile data: random stacks and random ORC entries must end every walk
 * within the frame limit, without reading outside the stacks. */
static uint64_t lcg_state;
static uint64_t lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
	return lcg_state >> 11;
}

static bool r_find(void *ctx, uint64_t ip, struct vr_orc_entry *ret)
{
	(void)ctx;
	uint64_t h = (ip * 0x9e3779b97f4a7c15ull) ^ lcg_state;
	if ((h & 7) == 0)
		return false;
	uint8_t raw[6];
	for (int i = 0; i < 6; i++)
		raw[i] = (uint8_t)(h >> (8 * i + 3));
	vr_orc_decode(raw, (int)(h % 3) + 1, ret);
	return true;
}

static bool r_is_ret(void *ctx, uint64_t addr)
{
	(void)ctx;
	return (addr & 0xff) < 0x40;
}

static void test_random(void)
{
	for (unsigned iter = 0; iter < 2000; iter++) {
		lcg_state = iter * 7919u + 1;
		for (size_t i = 0; i < sizeof(mem_task) / 8; i++)
			mem_task[i] = (lcg() & 1) ? TASK_LO + (lcg() % (TASK_HI - TASK_LO))
						  : lcg() % 0x10000;
		for (size_t i = 0; i < sizeof(mem_irq) / 8; i++)
			mem_irq[i] = (lcg() & 1) ? IRQ_LO + (lcg() % (IRQ_HI - IRQ_LO)) : lcg();
		struct vr_unwinder u = {.read_u64 = m_read, .find_orc = r_find,
					.is_return_address = r_is_ret, .stacks = stacks,
					.n_stacks = 2, .scan_gaps = iter & 1};
		struct vr_regs r = start(lcg() % 0x10000, TASK_LO + 8 * (lcg() % 0x800));
		r.r[X86_RBP] = TASK_LO + 8 * (lcg() % 0x800);
		struct vr_raw_trace t;
		CHECK(vr_unwind_raw(&u, &r, iter & 2, false, &t) == NULL);
		CHECK(t.n >= 1 && t.n <= VR_UNWIND_MAX_FRAMES);
		for (size_t j = 1; j < t.n; j++)
			if (!t.frames[j].exception && !t.frames[j].guessed &&
			    t.frames[j].stack == t.frames[j - 1].stack && !t.frames[j - 1].guessed)
				CHECK(t.frames[j].sp > t.frames[j - 1].sp);
		vr_raw_trace_deinit(&t);
	}
}

static bool m_text(void *ctx, uint64_t addr)
{
	(void)ctx;
	return addr >= 0x1000 && addr < 0x8000;
}

/* Frame-pointer rule (a kernel without ORC): the RBP chain, each frame
 * proven while it stays on the stack, moves up it and returns into text. */
static void test_frame_pointers(void)
{
	reset();
	for (uint64_t lo = 0x1000; lo <= 0x3000; lo += 0x1000) {
		fns[n_fns].lo = lo;
		fns[n_fns].hi = lo + 0x1000;
		vr_orc_fp_entry(&fns[n_fns++].e);
	}
	set_word(0x10140, 0x10180); /* A's frame: B's RBP, then A's return address */
	set_word(0x10148, 0x2005);
	set_word(0x10180, 0);       /* B's frame: the bottom */
	set_word(0x10188, 0x3005);
	struct vr_unwinder u = machine();
	u.is_text = m_text;
	struct vr_regs r = start(0x1010, 0x10100);
	r.r[X86_RBP] = 0x10140;
	struct vr_raw_trace t;
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 3);
	if (t.n == 3) {
		CHECK(t.frames[1].ip == 0x2005 && t.frames[1].sp == 0x10150 && t.frames[1].reliable);
		CHECK(t.frames[2].ip == 0x3005 && t.frames[2].sp == 0x10190 && t.frames[2].reliable);
	}
	CHECK(strstr(t.stop, "the frame pointer chain ends: RBP is 0") != NULL, "%s", t.stop);
	vr_raw_trace_deinit(&t);

	/* A chain that turns back down the stack (here onto itself) ends. */
	set_word(0x10180, 0x10180);
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 3 && strstr(t.stop, "is not a frame on the stack"), "%zu %s", t.n, t.stop);
	vr_raw_trace_deinit(&t);

	/* One that leaves every stack. */
	set_word(0x10180, 0x90000);
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 3 && strstr(t.stop, "frame pointer 0x0000000000090000"), "%zu %s", t.n, t.stop);
	vr_raw_trace_deinit(&t);

	/* A return address outside text. */
	set_word(0x10188, 0xdead0000);
	CHECK(vr_unwind_raw(&u, &r, false, false, &t) == NULL);
	CHECK(t.n == 2 && strstr(t.stop, "not in kernel text"), "%zu %s", t.n, t.stop);
	vr_raw_trace_deinit(&t);
}

int main(void)
{
	test_decode();
	test_table();
	test_switch_regs();
	test_call_chain_and_regs();
	test_irq_switch();
	test_loops_and_bounds();
	test_user_end_and_scan();
	test_partial_regs();
	test_frame_pointers();
	test_random();
	if (failures) {
		fprintf(stderr, "test_unwind_orc: %d checks failed\n", failures);
		return 1;
	}
	printf("test_unwind_orc: ok\n");
	return 0;
}
