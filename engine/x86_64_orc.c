/* ORC tables and the x86-64 stack walker that follows them.
 *
 * The walk mirrors the kernel's own unwinder (arch/x86/kernel/unwind_orc.c,
 * unwind_next_frame()): find the ORC entry for the IP, compute the caller's
 * SP from the base register it names, then the caller's IP from the return
 * address below that SP (CALL), from a full struct pt_regs at SP (REGS) or
 * from an iret frame at SP (REGS_PARTIAL). Where the kernel would give up
 * (no ORC data: BPF, a module whose tables are gone) we guess with a frame
 * pointer, then by scanning the stack for a return address, and mark every
 * frame from there on unreliable, like the kernel's "?" lines. */
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "internal.h"
#include "x86_64.h"
#include "x86_64_orc.h"

/* No real table comes near this (a 6.12 kernel has ~270,000 entries). */
#define VR_ORC_MAX_ENTRIES (8u << 20)
#define VR_ORC_MAX_MODULE_ENTRIES (1u << 20)
/* Words scanned for a return address when ORC has nothing to say. */
#define VR_SCAN_MAX_WORDS 2048
/* Offsets in struct pt_regs (arch/x86/include/asm/ptrace.h), in words:
 * the same order as int up to ss. */
#define PTREGS_WORDS 21
#define PTREGS_IP_WORD 16
/* Entry code pushes an iret frame (ip cs flags sp ss) that is the tail of
 * struct pt_regs: IRET_FRAME_OFFSET = offsetof(struct pt_regs, ip). */
#define IRET_FRAME_OFFSET (PTREGS_IP_WORD * 8)

struct vr_orc {
	int version;
	struct vr_orc_table *tables; /* [0] is the kernel image when present */
	size_t n_tables;
};

/* ---------------------------------------------------------------- entries */

void vr_orc_fp_entry(struct vr_orc_entry *ret)
{
	*ret = (struct vr_orc_entry){.sp_reg = VR_ORC_REG_BP, .sp_offset = 16,
				     .bp_reg = VR_ORC_REG_PREV_SP, .bp_offset = -16,
				     .type = VR_ORC_TYPE_CALL, .fp = true};
}

void vr_orc_decode(const uint8_t raw[VR_ORC_ENTRY_SIZE], int version, struct vr_orc_entry *ret)
{
	uint16_t flags = (uint16_t)(raw[4] | raw[5] << 8);
	struct vr_orc_entry e = {
		.sp_offset = (int16_t)(uint16_t)(raw[0] | raw[1] << 8),
		.bp_offset = (int16_t)(uint16_t)(raw[2] | raw[3] << 8),
		.sp_reg = flags & 0xf,
		.bp_reg = (flags >> 4) & 0xf,
	};
	if (version >= VR_ORC_V4) {
		static const uint8_t regs[16] = {
			VR_ORC_REG_UNDEFINED, VR_ORC_REG_AX,	      VR_ORC_REG_DX,	      VR_ORC_REG_SP,
			VR_ORC_REG_BP,	      VR_ORC_REG_DI,	      VR_ORC_REG_R10,	      VR_ORC_REG_R13,
			VR_ORC_REG_PREV_SP,   VR_ORC_REG_SP_INDIRECT, VR_ORC_REG_BP_INDIRECT, VR_ORC_REG_INVALID,
			VR_ORC_REG_INVALID,   VR_ORC_REG_INVALID,     VR_ORC_REG_INVALID,     VR_ORC_REG_INVALID,
		};
		e.sp_reg = regs[e.sp_reg];
		e.bp_reg = regs[e.bp_reg];
	}
	if (version >= VR_ORC_V3) {
		e.type = (flags >> 8) & 0x7;
		e.signal = flags & 0x800;
	} else {
		/* v1/v2: no UNDEFINED/END_OF_STACK types; an undefined SP base
		 * register with 'end' set marks the end of the stack, without
		 * it the entry is undefined. */
		unsigned t = (flags >> 8) & 0x3;
		bool end = version == VR_ORC_V2 ? (flags & 0x800) : (flags & 0x400);
		if (version == VR_ORC_V2)
			e.signal = flags & 0x400;
		if (e.sp_reg == VR_ORC_REG_UNDEFINED)
			e.type = end ? VR_ORC_TYPE_END_OF_STACK : VR_ORC_TYPE_UNDEFINED;
		else if (t == 0)
			e.type = VR_ORC_TYPE_CALL;
		else if (t == 1)
			e.type = VR_ORC_TYPE_REGS;
		else if (t == 2)
			e.type = VR_ORC_TYPE_REGS_PARTIAL;
		else
			e.type = 7; /* invalid: the walker stops on it */
	}
	/* Before v6.3 the signal property was implied by the regs types; after
	 * it objtool sets the bit on them as well. */
	if (e.type == VR_ORC_TYPE_REGS || e.type == VR_ORC_TYPE_REGS_PARTIAL)
		e.signal = true;
	*ret = e;
}

struct vr_error *vr_orc_table_init_in_place(struct vr_orc_table *t, const char *name, uint64_t ip_addr,
					    const void *ip_bytes, const void *orc_bytes, size_t n,
					    bool take)
{
	*t = (struct vr_orc_table){0};
	if (take) {
		t->owned_ip = (void *)ip_bytes;
		t->owned_raw = (void *)orc_bytes;
	}
	struct vr_error *err = NULL;
	if (n == 0)
		err = vr_error_create(VR_ERR_FORMAT, "empty orc table");
	else if (n > VR_ORC_MAX_ENTRIES)
		err = vr_error_create(VR_ERR_LIMIT, "orc table of %zu entries is beyond the limit of %u", n,
				      VR_ORC_MAX_ENTRIES);
	else if (name && !(t->name = vr_strdup(name)))
		err = &vr_error_oom;
	if (err) {
		vr_orc_table_deinit(t);
		return err;
	}
	t->ip = ip_bytes;
	t->raw = orc_bytes;
	t->n = n;
	t->ip_addr = ip_addr;
	t->lo = ip_addr + (uint64_t)(int64_t)(int32_t)vr_le32(t->ip);
	/* The last entry is a terminator past the end of the text. */
	t->hi = ip_addr + 4 * (uint64_t)(n - 1) + (uint64_t)(int64_t)(int32_t)vr_le32(t->ip + 4 * (n - 1)) + 1;
	return NULL;
}

struct vr_error *vr_orc_table_init(struct vr_orc_table *t, const char *name, uint64_t ip_addr,
				   const void *ip_bytes, const void *orc_bytes, size_t n)
{
	*t = (struct vr_orc_table){0};
	if (n == 0 || n > VR_ORC_MAX_ENTRIES)
		return vr_orc_table_init_in_place(t, name, ip_addr, ip_bytes, orc_bytes, n, false);
	void *ip = malloc(n * 4), *raw = malloc(n * VR_ORC_ENTRY_SIZE);
	if (!ip || !raw) {
		free(ip);
		free(raw);
		return &vr_error_oom;
	}
	memcpy(ip, ip_bytes, n * 4);
	memcpy(raw, orc_bytes, n * VR_ORC_ENTRY_SIZE);
	return vr_orc_table_init_in_place(t, name, ip_addr, ip, raw, n, true);
}

void vr_orc_table_deinit(struct vr_orc_table *t)
{
	free(t->name);
	free(t->owned_ip);
	free(t->owned_raw);
	*t = (struct vr_orc_table){0};
}

static uint64_t table_ip(const struct vr_orc_table *t, size_t i)
{
	return t->ip_addr + 4 * (uint64_t)i + (uint64_t)(int64_t)(int32_t)vr_le32(t->ip + 4 * i);
}

bool vr_orc_table_find(const struct vr_orc_table *t, int version, uint64_t ip,
		       struct vr_orc_entry *ret)
{
	if (t->n == 0 || ip < t->lo || ip >= t->hi)
		return false;
	/* Last entry whose address is <= ip (the kernel's __orc_find()). */
	size_t lo = 0, hi = t->n; /* answer in [lo, hi) */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (table_ip(t, mid) <= ip)
			lo = mid;
		else
			hi = mid;
	}
	if (table_ip(t, lo) > ip)
		return false;
	vr_orc_decode(t->raw + lo * VR_ORC_ENTRY_SIZE, version, ret);
	return true;
}

int vr_orc_guess_version(const struct vr_orc_table *t, int guess)
{
	size_t low = 0, v3call = 0, base[16] = {0};
	for (size_t i = 0; i < t->n; i++) {
		const uint8_t *r = t->raw + i * VR_ORC_ENTRY_SIZE;
		unsigned sp_reg = r[4] & 0xf;
		unsigned type3 = r[5] & 0x7;
		if (sp_reg == VR_ORC_REG_UNDEFINED)
			continue;
		if (type3 == 0)
			low++;       /* CALL before v6.4 */
		else if (type3 == 2) {
			v3call++;    /* CALL since v6.4 (v1 has REGS_PARTIAL here, rarely) */
			base[sp_reg]++;
		}
	}
	if (v3call > 4 * low && v3call > 16) {
		/* The stack pointer: 5 before v4, 3 since. */
		if (base[3] > 4 * base[5])
			return VR_ORC_V4;
		return VR_ORC_V3;
	}
	if (low > 4 * v3call && low > 16)
		return guess == VR_ORC_V3 ? VR_ORC_V1 : guess;
	return guess;
}

/* ----------------------------------------------------------------- stacks */

const char *vr_stack_kind_name(enum vr_stack_kind kind)
{
	static const char *const names[VR_STACK_N] = {
		[VR_STACK_TASK] = "task", [VR_STACK_IRQ] = "irq", [VR_STACK_NMI] = "nmi",
		[VR_STACK_DF] = "df", [VR_STACK_MCE] = "mce", [VR_STACK_DB] = "db",
		[VR_STACK_VC] = "vc", [VR_STACK_VC2] = "vc2", [VR_STACK_ENTRY] = "entry",
	};
	if ((unsigned)kind >= VR_STACK_N)
		return NULL;
	return names[kind];
}

static const struct vr_stack_range *stack_of(const struct vr_unwinder *u, uint64_t sp)
{
	for (size_t i = 0; i < u->n_stacks; i++) {
		const struct vr_stack_range *s = &u->stacks[i];
		if (sp >= s->lo && sp < s->hi && s->hi - sp >= 8)
			return &u->stacks[i];
	}
	return NULL;
}

/* ----------------------------------------------------------------- walker */

struct walk {
	const struct vr_unwinder *u;
	uint64_t ip, sp, bp;
	bool signal;            /* ip is exact (not a return address) */
	bool full;              /* cur holds a full register set */
	bool prev_valid;        /* prev holds the last full set (REGS_PARTIAL) */
	struct vr_regs cur, prev;
	enum vr_stack_kind stack;
	bool stacks_known;
	unsigned visited;       /* bit per stack kind left behind */
	bool degraded;          /* a guess was made: frames are unreliable */
};

static bool rd(const struct walk *w, uint64_t addr, uint64_t *ret)
{
	if (addr & 7)
		return false;
	/* Only read the stack the walk is on, or any known stack: a pointer
	 * outside every stack is bad unwind data (the kernel's
	 * deref_stack_reg() checks the same). */
	if (w->stacks_known && !stack_of(w->u, addr))
		return false;
	return w->u->read_u64(w->u->ctx, addr, ret);
}

static bool get_reg(const struct walk *w, int r, uint64_t *ret)
{
	if (w->full) {
		*ret = w->cur.r[r];
		return true;
	}
	if (w->prev_valid) {
		*ret = w->prev.r[r];
		return true;
	}
	return false;
}

static struct vr_error *push(struct vr_raw_trace *out, size_t max, const struct vr_raw_frame *f)
{
	if (out->n >= max)
		return vr_error_create(VR_ERR_LIMIT, "more than %zu frames", max);
	out->frames[out->n++] = *f;
	return NULL;
}

static void stopf(struct vr_raw_trace *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void stopf(struct vr_raw_trace *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->stop, sizeof(out->stop), fmt, ap);
	va_end(ap);
}

/* Stacks are left in one direction only (the kernel's get_stack_info()
 * and its stack_info.next_sp): an exception (IST) stack leads to another
 * IST stack, the IRQ, entry or task stack; the IRQ stack to the task stack;
 * the entry and task stacks nowhere else. */
static int stack_rank(enum vr_stack_kind kind)
{
	switch (kind) {
	case VR_STACK_TASK:
		return 0;
	case VR_STACK_IRQ:
	case VR_STACK_ENTRY:
		return 1;
	case VR_STACK_UNKNOWN:
		return 3;
	default:
		return 2;
	}
}

/* Check that the new SP is a step up the same stack or a move to a stack
 * not yet left behind; on success the walk's stack is updated. */
static bool accept_sp(struct walk *w, uint64_t new_sp, struct vr_raw_trace *out, bool quiet)
{
	enum vr_stack_kind kind = VR_STACK_UNKNOWN;
	if (w->stacks_known) {
		const struct vr_stack_range *s = stack_of(w->u, new_sp);
		if (!s) {
			if (!quiet)
				stopf(out, "stack pointer 0x%016llx is on no known stack",
				      (unsigned long long)new_sp);
			return false;
		}
		kind = s->kind;
	}
	if (kind == w->stack) {
		if (new_sp <= w->sp) {
			if (!quiet)
				stopf(out, "stack going in the wrong direction at 0x%016llx",
				      (unsigned long long)w->ip);
			return false;
		}
		return true;
	}
	if ((w->visited & (1u << kind)) || stack_rank(kind) > stack_rank(w->stack) ||
	    (stack_rank(kind) == stack_rank(w->stack) && stack_rank(kind) < 2)) {
		if (!quiet)
			stopf(out, "unwind moves from the %s stack to the %s stack",
			      vr_stack_kind_name(w->stack) ? vr_stack_kind_name(w->stack) : "unknown",
			      vr_stack_kind_name(kind) ? vr_stack_kind_name(kind) : "unknown");
		return false;
	}
	w->visited |= 1u << w->stack;
	w->stack = kind;
	return true;
}

static bool text(const struct walk *w, uint64_t addr)
{
	return !w->u->is_text || w->u->is_text(w->u->ctx, addr);
}

/* One step of look-ahead for a scanned candidate: a frame whose own ORC
 * entry leads to a non-text return address is a stale value. */
static bool plausible_caller(const struct walk *w, uint64_t ip, uint64_t sp)
{
	struct vr_orc_entry e;
	if (!w->u->find_orc(w->u->ctx, ip - 1, &e))
		return true; /* nothing to check against */
	if (e.type != VR_ORC_TYPE_CALL)
		return e.type != VR_ORC_TYPE_UNDEFINED;
	if (e.sp_reg != VR_ORC_REG_SP)
		return true;
	uint64_t next = sp + (uint64_t)(int64_t)e.sp_offset, ret;
	if (next <= sp || !rd(w, next - 8, &ret))
		return false;
	return text(w, ret);
}

/* No ORC data for the function the walk is in (objtool leaves out the
 * functions marked STACK_FRAME_NON_STANDARD, such as 5.10's __crash_kexec
 * with its inline crash_setup_regs()): the nearest word on the stack that
 * returns from a direct call of that very function is its return address,
 * and moves the walk there. The caller may keep its frame in BP (5.10's
 * panic() does), which the function saved with its first push, just below
 * the return address, where a plausible frame pointer is taken from. */
static bool proven_caller(struct walk *w, struct vr_raw_trace *out)
{
	if (!w->u->calls || !w->u->is_return_address)
		return false;
	uint64_t a = w->sp;
	for (unsigned i = 0; i < VR_SCAN_MAX_WORDS; i++, a += 8) {
		uint64_t v;
		if (!rd(w, a, &v))
			break;
		if (!w->u->is_return_address(w->u->ctx, v) || !w->u->calls(w->u->ctx, v, w->ip))
			continue;
		struct walk trial = *w;
		if (!accept_sp(&trial, a + 8, out, true))
			break;
		uint64_t bp;
		*w = trial;
		w->ip = v;
		w->sp = a + 8;
		if (rd(w, a - 8, &bp) && bp > a && stack_of(w->u, bp) == stack_of(w->u, a))
			w->bp = bp;
		w->full = w->prev_valid = false;
		w->signal = false;
		return true;
	}
	return false;
}

/* No ORC data: guess. First scan for the nearest word that looks like a
 * return address and whose own frame leads on to text; then, as a last
 * resort, a frame pointer (the kernel's orc_fp_entry: caller SP = BP + 16,
 * return address at BP + 8, caller BP at BP). Kernels with ORC keep no
 * frame pointers, so BP is only tried when scanning finds nothing. */
static bool guess_caller(struct walk *w, struct vr_raw_trace *out)
{
	if (w->u->is_return_address) {
		uint64_t a = w->sp;
		for (unsigned i = 0; i < VR_SCAN_MAX_WORDS; i++, a += 8) {
			uint64_t v;
			if (!rd(w, a, &v))
				break;
			if (!w->u->is_return_address(w->u->ctx, v) || !plausible_caller(w, v, a + 8))
				continue;
			struct walk trial = *w;
			if (!accept_sp(&trial, a + 8, out, true))
				break;
			*w = trial;
			w->ip = v;
			w->sp = a + 8;
			w->full = w->prev_valid = false;
			w->signal = false;
			return true;
		}
	}
	uint64_t ret_addr, saved_bp;
	if (w->bp > w->sp && rd(w, w->bp + 8, &ret_addr) && rd(w, w->bp, &saved_bp) &&
	    w->u->is_return_address && w->u->is_return_address(w->u->ctx, ret_addr)) {
		struct walk trial = *w;
		if (accept_sp(&trial, w->bp + 16, out, true)) {
			uint64_t bp = w->bp;
			*w = trial;
			w->ip = ret_addr;
			w->sp = bp + 16;
			w->bp = saved_bp;
			w->full = w->prev_valid = false;
			w->signal = false;
			return true;
		}
	}
	return false;
}

static struct vr_error *scan_gap(struct walk *w, struct vr_raw_trace *out, size_t max,
				 uint64_t end)
{
	uint64_t a = w->sp;
	for (unsigned i = 0; a < end && i < VR_SCAN_MAX_WORDS; i++, a += 8) {
		uint64_t v;
		if (!rd(w, a, &v))
			break;
		if (!w->u->is_return_address(w->u->ctx, v))
			continue;
		struct vr_raw_frame f = {.ip = v, .sp = a + 8, .call = true, .reliable = false,
					 .guessed = true, .stack = w->stack};
		struct vr_error *err = push(out, max, &f);
		if (err)
			return err;
	}
	return NULL;
}

/* A walk that guessed and then, by ORC alone, reached known registers or the
 * bottom of the stack was right after the guess: its frames other than the
 * guessed ones are reliable. */
static void confirm(struct vr_raw_trace *out)
{
	for (size_t j = 0; j < out->n; j++)
		if (!out->frames[j].guessed)
			out->frames[j].reliable = true;
}

static bool anchor_match(const struct vr_regs *r, const struct vr_regs *a)
{
	static const int check[] = {X86_RIP, X86_RSP, X86_RBX, X86_RBP, X86_R12, X86_R15};
	for (size_t i = 0; i < sizeof(check) / sizeof(check[0]); i++)
		if (r->r[check[i]] != a->r[check[i]])
			return false;
	return true;
}

static void regs_from_words(struct vr_regs *r, const uint64_t *words)
{
	*r = (struct vr_regs){.set = &vr_regset_x86_64};
	for (int i = 0; i < PTREGS_WORDS; i++)
		r->r[i] = words[i];
	r->valid = true;
}

/* What one step of the walk came to: a caller to go on from, the end of
 * the trace (the reason is in out), or a frame already pushed to go on
 * from (a caller guessed or proven without ORC). */
enum step { STEP_NEXT, STEP_END, STEP_AGAIN };

/* The ORC entry for w's IP (*ret); false when there is none. */
static bool orc_entry_at(const struct vr_unwinder *u, const struct walk *w, struct vr_orc_entry *ret)
{
	if (w->ip == 0) {
		/* A call through a NULL pointer: the return address is on
		 * top of the stack (the kernel's null_orc_entry). */
		*ret = (struct vr_orc_entry){.sp_offset = 8, .sp_reg = VR_ORC_REG_SP,
					     .bp_reg = VR_ORC_REG_UNDEFINED,
					     .type = VR_ORC_TYPE_CALL};
		return true;
	}
	return u->find_orc(u->ctx, w->signal ? w->ip : w->ip - 1, ret);
}

/* No usable ORC entry at w's IP: the caller a call instruction proves,
 * else one guessed from the stack; *err when it cannot be pushed. */
static enum step step_without_orc(struct walk *w, struct vr_raw_trace *out, size_t max, struct vr_error **err)
{
	uint64_t old_ip = w->ip;
	struct vr_raw_frame f;
	if (!w->signal && proven_caller(w, out)) {
		f = (struct vr_raw_frame){.ip = w->ip, .sp = w->sp, .call = true,
					  .reliable = !w->degraded, .stack = w->stack};
		*err = push(out, max, &f);
		return STEP_AGAIN;
	}
	if (!guess_caller(w, out)) {
		stopf(out, "no unwind information for 0x%016llx and no return address found on the stack",
		      (unsigned long long)old_ip);
		return STEP_END;
	}
	w->degraded = true;
	f = (struct vr_raw_frame){.ip = w->ip, .sp = w->sp, .call = true,
				  .reliable = false, .guessed = true,
				  .stack = w->stack};
	*err = push(out, max, &f);
	return STEP_AGAIN;
}

/* The caller's SP by entry e (*ret); false when it cannot be had (the
 * reason is in out). */
static bool caller_sp(const struct walk *w, const struct vr_orc_entry *e, struct vr_raw_trace *out,
		      uint64_t *ret)
{
	uint64_t sp = 0, v;
	bool indirect = false;
	switch (e->sp_reg) {
	case VR_ORC_REG_SP:
		sp = w->sp + (uint64_t)(int64_t)e->sp_offset;
		break;
	case VR_ORC_REG_BP:
		sp = w->bp + (uint64_t)(int64_t)e->sp_offset;
		break;
	case VR_ORC_REG_SP_INDIRECT:
		sp = w->sp;
		indirect = true;
		break;
	case VR_ORC_REG_BP_INDIRECT:
		sp = w->bp + (uint64_t)(int64_t)e->sp_offset;
		indirect = true;
		break;
	case VR_ORC_REG_R10:
	case VR_ORC_REG_R13:
	case VR_ORC_REG_DI:
	case VR_ORC_REG_DX:
	case VR_ORC_REG_AX: {
		int r = e->sp_reg == VR_ORC_REG_R10 ? X86_R10 :
				e->sp_reg == VR_ORC_REG_R13 ? X86_R13 :
				e->sp_reg == VR_ORC_REG_DI ? X86_RDI :
				e->sp_reg == VR_ORC_REG_AX ? X86_RAX : X86_RDX;
		if (!get_reg(w, r, &sp)) {
			stopf(out, "the stack pointer at 0x%016llx is based on %s, whose value is unknown",
			      (unsigned long long)w->ip, vr_regset_x86_64.names[r]);
			return false;
		}
		break;
	}
	default:
		stopf(out, "unknown ORC stack base register %u at 0x%016llx", e->sp_reg,
		      (unsigned long long)w->ip);
		return false;
	}
	if (indirect) {
		/* call_on_stack(): the previous SP was saved at the
		 * top of the new stack. */
		if (!rd(w, sp, &v)) {
			stopf(out, "cannot read the saved stack pointer at 0x%016llx",
			      (unsigned long long)sp);
			return false;
		}
		sp = v;
		if (e->sp_reg == VR_ORC_REG_SP_INDIRECT)
			sp += (uint64_t)(int64_t)e->sp_offset;
	}
	*ret = sp;
	return true;
}

/* The caller's IP, SP and maybe registers, by entry e from the caller's
 * SP sp: *next (the walk from there) and *f (its frame, IP and SP still to
 * fill); *err when a guessed frame cannot be pushed. */
static enum step caller_regs(struct walk *w, const struct vr_orc_entry *e, uint64_t sp, struct vr_raw_trace *out,
			     size_t max, struct walk *next, struct vr_raw_frame *f, struct vr_error **err)
{
	uint64_t v;
	*next = *w;
	*f = (struct vr_raw_frame){0};
	switch (e->type) {
	case VR_ORC_TYPE_CALL:
		if (!rd(w, sp - 8, &v)) {
			stopf(out, "cannot read the return address at 0x%016llx",
			      (unsigned long long)(sp - 8));
			return STEP_END;
		}
		if (!text(w, v)) {
			if (w->degraded && guess_caller(w, out)) {
				/* A stale guess: back to scanning. */
				*f = (struct vr_raw_frame){.ip = w->ip, .sp = w->sp, .call = true,
							   .reliable = false, .guessed = true,
							   .stack = w->stack};
				*err = push(out, max, f);
				return STEP_AGAIN;
			}
			stopf(out, "return address 0x%016llx at 0x%016llx is not in kernel text",
			      (unsigned long long)v, (unsigned long long)(sp - 8));
			return STEP_END;
		}
		next->ip = v;
		next->sp = sp;
		next->full = next->prev_valid = false;
		f->call = !e->signal;
		break;
	case VR_ORC_TYPE_REGS: {
		uint64_t words[PTREGS_WORDS];
		for (int i = 0; i < PTREGS_WORDS; i++) {
			if (!rd(w, sp + 8 * (uint64_t)i, &words[i])) {
				stopf(out, "cannot read the registers saved at 0x%016llx",
				      (unsigned long long)sp);
				return STEP_END;
			}
		}
		regs_from_words(&next->cur, words);
		next->ip = words[X86_RIP];
		next->sp = words[X86_RSP];
		next->full = true;
		next->prev_valid = false;
		f->exception = true;
		f->regs_addr = sp;
		f->regs = next->cur;
		break;
	}
	case VR_ORC_TYPE_REGS_PARTIAL: {
		uint64_t words[5];
		for (int i = 0; i < 5; i++) {
			if (!rd(w, sp + 8 * (uint64_t)i, &words[i])) {
				stopf(out, "cannot read the iret frame at 0x%016llx",
				      (unsigned long long)sp);
				return STEP_END;
			}
		}
		if (w->full) {
			next->prev = w->cur;
			next->prev_valid = true;
		}
		next->full = false;
		/* Registers other than the iret frame are those of the
		 * last full set, when there was one (the kernel's
		 * prev_regs). */
		struct vr_regs r = next->prev_valid ? next->prev : (struct vr_regs){.set = &vr_regset_x86_64};
		r.r[X86_RIP] = words[0];
		r.r[X86_CS] = words[1];
		r.r[X86_EFLAGS] = words[2];
		r.r[X86_RSP] = words[3];
		r.r[X86_SS] = words[4];
		r.valid = true;
		next->cur = r;
		next->ip = words[0];
		next->sp = words[3];
		f->exception = true;
		f->partial_regs = true;
		f->regs_addr = sp - IRET_FRAME_OFFSET;
		f->regs = r;
		break;
	}
	default:
		stopf(out, "unknown ORC entry type %u at 0x%016llx", e->type,
		      (unsigned long long)w->ip);
		return STEP_END;
	}
	next->signal = e->signal;
	return STEP_NEXT;
}

/* The caller's BP by entry e (into next); false when it cannot be had
 * (the reason is in out). */
static bool caller_bp(const struct walk *w, const struct vr_orc_entry *e, uint64_t sp, struct vr_raw_trace *out,
		      struct walk *next)
{
	switch (e->bp_reg) {
	case VR_ORC_REG_UNDEFINED:
		if (next->full)
			next->bp = next->cur.r[X86_RBP];
		else if (e->type == VR_ORC_TYPE_REGS_PARTIAL && next->prev_valid)
			next->bp = next->prev.r[X86_RBP];
		return true;
	case VR_ORC_REG_PREV_SP:
		if (!rd(w, sp + (uint64_t)(int64_t)e->bp_offset, &next->bp)) {
			stopf(out, "cannot read the saved frame pointer at 0x%016llx",
			      (unsigned long long)(sp + (uint64_t)(int64_t)e->bp_offset));
			return false;
		}
		return true;
	case VR_ORC_REG_BP:
		if (!rd(w, w->bp + (uint64_t)(int64_t)e->bp_offset, &next->bp)) {
			stopf(out, "cannot read the saved frame pointer at 0x%016llx",
			      (unsigned long long)(w->bp + (uint64_t)(int64_t)e->bp_offset));
			return false;
		}
		return true;
	default:
		stopf(out, "unknown ORC frame base register %u at 0x%016llx", e->bp_reg,
		      (unsigned long long)w->ip);
		return false;
	}
}

struct vr_error *vr_unwind_raw(const struct vr_unwinder *u, const struct vr_regs *regs,
			       bool call_frame, bool first_unreliable, struct vr_raw_trace *out)
{
	size_t max = u->max_frames ? u->max_frames : VR_UNWIND_MAX_FRAMES;
	*out = (struct vr_raw_trace){0};
	out->frames = calloc(max, sizeof(*out->frames));
	if (!out->frames)
		return &vr_error_oom;

	struct walk w = {
		.u = u,
		.ip = regs->r[X86_RIP],
		.sp = regs->r[X86_RSP],
		.bp = regs->r[X86_RBP],
		.signal = !call_frame,
		.full = !call_frame,
		.cur = *regs,
		.stacks_known = u->n_stacks > 0,
	};
	const struct vr_stack_range *s0 = stack_of(u, w.sp);
	w.stack = s0 ? s0->kind : VR_STACK_UNKNOWN;
	struct vr_raw_frame f = {
		.ip = w.ip, .sp = w.sp, .call = call_frame, .reliable = !first_unreliable,
		.guessed = first_unreliable, .stack = w.stack,
	};
	struct vr_error *err = push(out, max, &f);
	if (err)
		goto limit;
	if (w.stacks_known && !s0) {
		stopf(out, "stack pointer 0x%016llx is on no known stack", (unsigned long long)w.sp);
		return NULL;
	}
	/* First frame in user mode: nothing of the kernel's to unwind. */
	if (!call_frame && (regs->r[X86_CS] & 3))
		return NULL;

	for (;;) {
		struct vr_orc_entry e;
		bool have = orc_entry_at(u, &w, &e);
		if (have && e.type == VR_ORC_TYPE_END_OF_STACK) {
			/* The bottom of a kernel thread or entry code. */
			if (w.degraded)
				confirm(out);
			return NULL;
		}
		enum step step;
		if (!have || e.type == VR_ORC_TYPE_UNDEFINED) {
			step = step_without_orc(&w, out, max, &err);
			if (err)
				goto limit;
			if (step == STEP_END)
				return NULL;
			continue;
		}

		uint64_t sp;
		if (!caller_sp(&w, &e, out, &sp))
			return NULL;
		if (e.fp && w.bp == 0) {
			/* The bottom of the frame-pointer chain. */
			stopf(out, "the frame pointer chain ends: RBP is 0 at 0x%016llx",
			      (unsigned long long)w.ip);
			return NULL;
		}
		if (e.fp && w.stacks_known && (w.bp < w.sp || !stack_of(u, w.bp))) {
			/* Or it leaves the stack or points below SP. */
			stopf(out, "frame pointer 0x%016llx at 0x%016llx is not a frame on the stack",
			      (unsigned long long)w.bp, (unsigned long long)w.ip);
			return NULL;
		}
		struct walk next;
		step = caller_regs(&w, &e, sp, out, max, &next, &f, &err);
		if (err)
			goto limit;
		if (step == STEP_END)
			return NULL;
		if (step == STEP_AGAIN)
			continue;
		if (!caller_bp(&w, &e, sp, out, &next))
			return NULL;

		if (f.exception && w.degraded && u->anchor && anchor_match(&f.regs, u->anchor)) {
			w.degraded = next.degraded = false;
			confirm(out);
		}
		bool user = f.exception && (next.cur.r[X86_CS] & 3);
		if (user && w.degraded) {
			w.degraded = false;
			confirm(out);
		}
		if (user) {
			/* Entry from user mode: the last frame, user RIP and the
			 * registers the task entered the kernel with. */
			f.ip = next.ip;
			f.sp = next.sp;
			f.reliable = !w.degraded;
			f.stack = VR_STACK_UNKNOWN;
			if ((err = push(out, max, &f)))
				goto limit;
			return NULL;
		}
		{
			/* The new SP against the walk's current one and stack;
			 * also ends loops made by bad data (the kernel's "stack
			 * going in the wrong direction" check). */
			struct walk chk = w;
			if (!accept_sp(&chk, next.sp, out, false))
				return NULL;
			next.stack = chk.stack;
			next.visited = chk.visited;
		}
		if (u->scan_gaps && u->is_return_address) {
			/* Return addresses between this frame's SP and the
			 * slot the next frame came from. */
			uint64_t end = e.type == VR_ORC_TYPE_CALL ? sp - 8 : f.regs_addr;
			const struct vr_stack_range *cur = stack_of(u, w.sp);
			if (cur && next.stack != w.stack)
				end = cur->hi;
			if ((err = scan_gap(&w, out, max, end)))
				goto limit;
		}
		w = next;
		f.ip = w.ip;
		f.sp = w.sp;
		f.reliable = !w.degraded;
		f.stack = w.stack;
		if ((err = push(out, max, &f)))
			goto limit;
	}

limit:
	if (err->code == VR_ERR_NOMEM)
		return err;
	stopf(out, "%s", err->message);
	vr_error_destroy(err);
	return NULL;
}

void vr_raw_trace_deinit(struct vr_raw_trace *t)
{
	free(t->frames);
	*t = (struct vr_raw_trace){0};
}

/* ------------------------------------------------------ the kernel's tables */

static int parse_release(const char *rel)
{
	unsigned maj = 0, min = 0;
	if (!rel || sscanf(rel, "%u.%u", &maj, &min) != 2)
		return 0;
	return (int)(maj * 1000 + min);
}

/* The layout of struct orc_entry: from the kernel's own type information when
 * it has the bitfields (v2 has both 'signal' and 'end'), else from the
 * release. */
static int detect_version(struct vr_kernel *k)
{
	struct vr_member m;
	bool has_signal = !vr_kernel_absorb(k, vr_type_member(k, "orc_entry", "signal", &m), VR_ERRS_LAYOUT);
	bool has_end = !vr_kernel_absorb(k, vr_type_member(k, "orc_entry", "end", &m), VR_ERRS_LAYOUT);
	if (has_signal && has_end)
		return VR_ORC_V2;
	if (has_signal)
		return VR_ORC_V3;
	if (has_end)
		return VR_ORC_V1;
	const char *rel = NULL;
	if (k->vmcoreinfo)
		rel = vr_vmcoreinfo_get(k->vmcoreinfo, "OSRELEASE");
	if (!rel && k->facts)
		rel = k->facts->system.release;
	int v = parse_release(rel);
	if (v == 0)
		return VR_ORC_V3;
	if (v < 6003)
		return VR_ORC_V1;
	if (v == 6003)
		return VR_ORC_V2;
	return VR_ORC_V3;
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *ret)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && strcmp(n, name) == 0) {
			*ret = sh;
			return scn;
		}
	}
	return NULL;
}

static struct vr_error *load_vmlinux_table(struct vr_kernel *k, struct vr_orc_table *t)
{
	GElf_Shdr sh_ip, sh_orc;
	Elf_Scn *s_ip = find_section(k->vmlinux_elf, ".orc_unwind_ip", &sh_ip);
	Elf_Scn *s_orc = find_section(k->vmlinux_elf, ".orc_unwind", &sh_orc);
	if (!s_ip || !s_orc)
		return vr_error_create(VR_ERR_NOT_FOUND, "%s has no .orc_unwind_ip/.orc_unwind sections",
				       k->vmlinux_path ? k->vmlinux_path : "vmlinux");
	Elf_Data *d_ip = elf_getdata(s_ip, NULL);
	Elf_Data *d_orc = elf_getdata(s_orc, NULL);
	if (!d_ip || !d_orc || !d_ip->d_buf || !d_orc->d_buf)
		return vr_error_create(VR_ERR_FORMAT, "reading orc sections of %s: %s",
				       k->vmlinux_path ? k->vmlinux_path : "vmlinux", elf_errmsg(-1));
	size_t n = d_ip->d_size / 4;
	if (d_ip->d_size % 4 || d_orc->d_size != n * VR_ORC_ENTRY_SIZE)
		return vr_error_create(VR_ERR_FORMAT,
				       "orc sections of %s disagree: %zu ip bytes, %zu entry bytes",
				       k->vmlinux_path ? k->vmlinux_path : "vmlinux",
				       (size_t)d_ip->d_size, (size_t)d_orc->d_size);
	/* Link-time addresses move by the KASLR offset like the text does.
	 * The tables are read in place: the vmlinux stays open as long as the
	 * kernel. */
	return vr_orc_table_init_in_place(t, NULL, sh_ip.sh_addr + k->layout.kaslr_offset, d_ip->d_buf,
					  d_orc->d_buf, n, false);
}

static struct vr_error *read_table(struct vr_kernel *k, const char *name, uint64_t ip_addr,
				   uint64_t orc_addr, uint64_t n, size_t limit, struct vr_orc_table *t)
{
	if (n == 0 || n > limit)
		return vr_error_create(VR_ERR_LIMIT, "orc table of %llu entries", (unsigned long long)n);
	_cleanup_free_ uint8_t *ip = malloc(n * 4);
	_cleanup_free_ uint8_t *orc = malloc(n * VR_ORC_ENTRY_SIZE);
	if (!ip || !orc)
		return &vr_error_oom;
	struct vr_error *err = vr_kernel_read(k, ip_addr, ip, n * 4);
	if (err)
		return vr_error_wrap(err, "reading orc_unwind_ip at 0x%llx", (unsigned long long)ip_addr);
	err = vr_kernel_read(k, orc_addr, orc, n * VR_ORC_ENTRY_SIZE);
	if (err)
		return vr_error_wrap(err, "reading orc_unwind at 0x%llx", (unsigned long long)orc_addr);
	uint8_t *ip_taken = ip, *orc_taken = orc;
	ip = orc = NULL;
	return vr_orc_table_init_in_place(t, name, ip_addr, ip_taken, orc_taken, n, true);
}

/* Without a vmlinux: the tables the kernel keeps for itself
 * (arch/x86/kernel/unwind_orc.c uses __start_orc_unwind_ip..__stop and
 * __start_orc_unwind; orc_lookup is only a speed-up). */
static struct vr_error *load_memory_table(struct vr_kernel *k, struct vr_orc_table *t)
{
	uint64_t start_ip, stop_ip, start_orc;
	if (!vr_symbols_lookup_name(k, "__start_orc_unwind_ip", &start_ip) ||
	    !vr_symbols_lookup_name(k, "__stop_orc_unwind_ip", &stop_ip) ||
	    !vr_symbols_lookup_name(k, "__start_orc_unwind", &start_orc))
		return vr_error_create(VR_ERR_NOT_FOUND, "no __start_orc_unwind_ip symbols");
	if (stop_ip <= start_ip || (stop_ip - start_ip) % 4)
		return vr_error_create(VR_ERR_FORMAT, "orc_unwind_ip bounds 0x%llx..0x%llx make no table",
				       (unsigned long long)start_ip, (unsigned long long)stop_ip);
	return read_table(k, NULL, start_ip, start_orc, (stop_ip - start_ip) / 4,
			  VR_ORC_MAX_ENTRIES, t);
}

/* A module's tables: struct module -> arch (struct mod_arch_specific in
 * arch/x86/include/asm/module.h: num_orcs, orc_unwind_ip, orc_unwind), sorted
 * in place at load time by unwind_module_init(). */
static struct vr_error *load_module_table(struct vr_kernel *k, const struct vr_module *m,
					  struct vr_orc_table *t)
{
	struct vr_member m_num, m_ip, m_orc;
	struct vr_error *err;
	if ((err = vr_type_member(k, "module", "arch.num_orcs", &m_num)) ||
	    (err = vr_type_member(k, "module", "arch.orc_unwind_ip", &m_ip)) ||
	    (err = vr_type_member(k, "module", "arch.orc_unwind", &m_orc)))
		return err;
	uint32_t n;
	uint64_t ip_addr, orc_addr;
	if ((err = vr_read_u32(k, m->addr + m_num.offset, &n)) ||
	    (err = vr_read_u64(k, m->addr + m_ip.offset, &ip_addr)) ||
	    (err = vr_read_u64(k, m->addr + m_orc.offset, &orc_addr)))
		return err;
	if (n == 0)
		return vr_error_create(VR_ERR_NOT_FOUND, "no orc entries");
	err = read_table(k, m->name, ip_addr, orc_addr, n, VR_ORC_MAX_MODULE_ENTRIES, t);
	if (err)
		return err;
	if (m->text_size && m->text_base) {
		t->lo = m->text_base;
		t->hi = m->text_base + m->text_size;
	}
	return NULL;
}

bool vr_orc_absent(struct vr_kernel *k)
{
	GElf_Shdr sh;
	uint64_t v;
	return k->vmlinux_elf && !find_section(k->vmlinux_elf, ".orc_unwind_ip", &sh) &&
	       !find_section(k->vmlinux_elf, ".orc_unwind", &sh) &&
	       !vr_symbols_lookup_name(k, "__start_orc_unwind_ip", &v);
}

struct vr_error *vr_orc_load(struct vr_kernel *k, struct vr_orc **ret)
{
	struct vr_orc *o = calloc(1, sizeof(*o));
	size_t n_mod = k->facts ? k->facts->n_modules : 0;
	if (!o)
		return &vr_error_oom;
	o->tables = calloc(n_mod + 1, sizeof(*o->tables));
	if (!o->tables) {
		free(o);
		return &vr_error_oom;
	}
	o->version = detect_version(k);

	struct vr_error *kerr = NULL;
	struct vr_orc_table kt;
	if (k->vmlinux_elf)
		kerr = load_vmlinux_table(k, &kt);
	if (!k->vmlinux_elf || kerr) {
		struct vr_error *merr = load_memory_table(k, &kt);
		if (merr && kerr)
			merr = vr_error_wrap(merr, "%s; in memory", kerr->message);
		vr_error_destroy(kerr);
		kerr = merr;
	}
	if (!kerr) {
		o->tables[o->n_tables++] = kt;
		o->version = vr_orc_guess_version(&kt, o->version);
	}
	for (size_t i = 0; i < n_mod; i++) {
		struct vr_orc_table mt;
		struct vr_error *err = load_module_table(k, &k->facts->modules[i], &mt);
		if (err && err->code == VR_ERR_NOMEM) {
			vr_error_destroy(kerr);
			vr_orc_destroy(o);
			return err;
		}
		if (err) {
			if (k->diag)
				vr_diag_warn(k->diag, "orc tables of module %s: %s",
					     k->facts->modules[i].name ? k->facts->modules[i].name : "?",
					     err->message);
			vr_error_destroy(err);
			continue;
		}
		o->tables[o->n_tables++] = mt;
	}
	if (o->n_tables == 0) {
		vr_orc_destroy(o);
		return vr_error_wrap(kerr ? kerr : vr_error_create(VR_ERR_NOT_FOUND, "none"),
				     "loading orc tables");
	}
	if (kerr && k->diag)
		vr_diag_warn(k->diag, "orc tables of the kernel image: %s", kerr->message);
	vr_error_destroy(kerr);
	*ret = o;
	return NULL;
}

bool vr_orc_find(const struct vr_orc *o, uint64_t ip, struct vr_orc_entry *ret)
{
	if (!o)
		return false;
	for (size_t i = 0; i < o->n_tables; i++)
		if (vr_orc_table_find(&o->tables[i], o->version, ip, ret))
			return true;
	return false;
}

int vr_orc_version(const struct vr_orc *o)
{
	return o ? o->version : 0;
}

size_t vr_orc_n_tables(const struct vr_orc *o)
{
	return o ? o->n_tables : 0;
}

void vr_orc_destroy(struct vr_orc *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n_tables; i++)
		vr_orc_table_deinit(&o->tables[i]);
	free(o->tables);
	free(o);
}

void vr_unwind_switch_regs(uint64_t thread_sp, const uint64_t *frame, size_t n_words,
			   size_t bp_word, size_t ret_word, struct vr_regs *ret)
{
	struct vr_regs r = {.set = &vr_regset_x86_64};
	/* On x86-64 the callee-saved registers come first, in this order. */
	static const int order[] = {X86_R15, X86_R14, X86_R13, X86_R12, X86_RBX};
	for (size_t i = 0; i < n_words && i < sizeof(order) / sizeof(order[0]); i++)
		if (i != bp_word && i != ret_word)
			r.r[order[i]] = frame[i];
	if (bp_word < n_words)
		r.r[X86_RBP] = frame[bp_word];
	if (ret_word < n_words)
		r.r[X86_RIP] = frame[ret_word];
	r.r[X86_RSP] = thread_sp + 8 * (uint64_t)n_words;
	r.r[X86_CS] = 0x10; /* __KERNEL_CS */
	r.valid = ret_word < n_words;
	*ret = r;
}
