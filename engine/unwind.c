/* x86-64 stack traces of a crashed kernel: binds the ORC walker of
 * unwind_orc.c to the dump's memory, symbols and per-CPU stacks, and turns
 * its frames into symbolized struct vr_frame. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "unwind_cfi.h"
#include "unwind.h"

/* THREAD_SIZE and IRQ_STACK_SIZE on x86-64 without KASAN: 16 KiB
 * (arch/x86/include/asm/page_64_types.h, THREAD_SIZE_ORDER 2). */
#define VR_THREAD_SIZE 16384u
/* Layout fallbacks when the kernel's types are not at hand:
 * struct cea_exception_stacks (arch/x86/include/asm/cpu_entry_area.h):
 * each stack is EXCEPTION_STKSZ (2 pages: EXCEPTION_STACK_ORDER is 1 +
 * KASAN_STACK_ORDER) after a one-page guard, in the order DF NMI DB MCE VC
 * VC2 (v5.4+, commit 2a594d4ccf3f "x86/exceptions: Split debug IST stack").
 * struct cpu_entry_area: gdt page, entry_stack_page, tss, then estacks. */
#define VR_ESTACK_SIZE 8192u
#define VR_ESTACK_STRIDE (8192u + 4096u)
#define VR_CEA_ESTACKS_OFFSET 28672u
#define VR_CEA_ENTRY_STACK_OFFSET 4096u
#define VR_ENTRY_STACK_SIZE 4096u

struct kctx {
	struct vr_kernel *k;
	uint64_t stext, etext, sinittext, einittext;
	bool fp; /* no ORC: frame pointers where CFI has nothing */
};

static bool k_read(void *ctx, uint64_t addr, uint64_t *ret)
{
	struct kctx *c = ctx;
	return !vr_kernel_absorb(c->k, vr_read_u64(c->k, addr, ret), VR_ERRS_READ);
}

static bool k_is_text(const struct kctx *c, uint64_t addr);

static bool k_find(void *ctx, uint64_t ip, struct vr_orc_entry *ret)
{
	struct kctx *c = ctx;
	/* ORC first; where it has nothing, the vmlinux's DWARF CFI; in a
	 * kernel without ORC, whose text keeps frame pointers, the frame
	 * pointer where CFI has nothing either. */
	if ((!c->k->unwind_without_orc && vr_orc_find(c->k->orc, ip, ret)) ||
	    vr_cfi_orc_entry(c->k, ip, ret))
		return true;
	if (c->fp && k_is_text(c, ip)) {
		vr_orc_fp_entry(ret);
		return true;
	}
	return false;
}

static bool k_is_text(const struct kctx *c, uint64_t addr)
{
	if (!c->stext && !c->sinittext)
		return addr >= 0xffff800000000000ull; /* bounds unknown: any kernel address */
	if (c->stext && addr >= c->stext && addr < c->etext)
		return true;
	if (c->sinittext && addr >= c->sinittext && addr < c->einittext)
		return true;
	const struct vr_facts *f = c->k->facts;
	for (size_t i = 0; f && i < f->n_modules; i++) {
		const struct vr_module *m = &f->modules[i];
		if (m->text_size && addr >= m->text_base && addr - m->text_base < m->text_size)
			return true;
	}
	return false;
}

/* Length of an indirect "call r/m64" (FF /2) whose ModRM byte is m, or 0. */
static int call_rm_len(uint8_t m, uint8_t sib)
{
	unsigned mod = m >> 6, rm = m & 7;
	if (((m >> 3) & 7) != 2)
		return 0;
	if (mod == 3)
		return 2;
	int len = 2 + (rm == 4 ? 1 : 0);
	if (mod == 0 && rm == 5)
		return 6;                       /* RIP-relative */
	if (mod == 0 && rm == 4 && (sib & 7) == 5)
		return len + 4;
	if (mod == 1)
		return len + 1;
	if (mod == 2)
		return len + 4;
	return len;
}

static bool k_text(void *ctx, uint64_t addr)
{
	return k_is_text(ctx, addr);
}

/* A return address: in text, right after a call instruction (E8 rel32, or
 * FF /2 in its register and memory forms, with or without a REX prefix). */
static bool k_is_ret(void *ctx, uint64_t addr)
{
	struct kctx *c = ctx;
	if (!k_is_text(c, addr))
		return false;
	uint8_t b[8];
	if (vr_kernel_absorb(c->k, vr_kernel_read(c->k, addr - 8, b, sizeof(b)), VR_ERRS_READ))
		return false;
	if (b[3] == 0xe8)
		return true;
	for (int len = 2; len <= 7; len++) {
		const uint8_t *p = b + 8 - len;
		if (p[0] == 0xff && call_rm_len(p[1], len > 2 ? p[2] : 0) == len)
			return true;
	}
	return false;
}

static bool direct_call_target(struct vr_kernel *k, uint64_t ret, uint64_t *target);

static bool k_calls(void *ctx, uint64_t ret, uint64_t ip)
{
	struct kctx *c = ctx;
	uint64_t target;
	struct vr_symbol s;
	return direct_call_target(c->k, ret, &target) && vr_symbols_lookup_addr(c->k, ip, &s) &&
	       s.address == target;
}

static void kctx_init(struct kctx *c, struct vr_kernel *k)
{
	*c = (struct kctx){.k = k, .fp = vr_unwind_frame_pointers(k)};
	if (!vr_symbols_lookup_name(k, "_stext", &c->stext) ||
	    !vr_symbols_lookup_name(k, "_etext", &c->etext))
		c->stext = c->etext = 0;
	if (!vr_symbols_lookup_name(k, "_sinittext", &c->sinittext) ||
	    !vr_symbols_lookup_name(k, "_einittext", &c->einittext))
		c->sinittext = c->einittext = 0;
}

bool vr_unwind_frame_pointers(struct vr_kernel *k)
{
	return !k->orc && vr_orc_absent(k);
}

/* ------------------------------------------------------------ per-CPU data */

/* Read a per-CPU pointer that moved into struct pcpu_hot in v6.2 (commit
 * e57ef2ed97c1 "x86: Put hot per CPU variables into a struct"). */
static struct vr_error *percpu_hot_u64(struct vr_kernel *k, int cpu, const char *name, uint64_t *ret)
{
	uint64_t addr;
	struct vr_error *err = vr_percpu_addr(k, cpu, name, &addr);
	if (err) {
		struct vr_member m;
		struct vr_error *e2 = vr_percpu_addr(k, cpu, "pcpu_hot", &addr);
		if (e2) {
			vr_error_destroy(e2);
			return err;
		}
		e2 = vr_type_member(k, "pcpu_hot", name, &m);
		if (e2) {
			vr_error_destroy(e2);
			return err;
		}
		vr_error_destroy(err);
		addr += m.offset;
	}
	return vr_read_u64(k, addr, ret);
}

struct vr_error *vr_unwind_current_task(struct vr_kernel *k, int cpu, uint64_t *ret)
{
	return percpu_hot_u64(k, cpu, "current_task", ret);
}

size_t vr_unwind_stacks(struct vr_kernel *k, int cpu, uint64_t task_stack,
			struct vr_stack_range out[VR_STACK_N])
{
	size_t n = 0;
	uint64_t size = VR_THREAD_SIZE, v;
	if (vr_kernel_absorb(k, vr_type_size(k, "irq_stack", &v), VR_ERRS_LAYOUT) == false && v >= 4096 && v <= (1u << 20))
		size = v; /* IRQ_STACK_SIZE is THREAD_SIZE */
	if (task_stack)
		out[n++] = (struct vr_stack_range){VR_STACK_TASK, task_stack, task_stack + size};
	if (cpu < 0)
		return n;
	uint64_t top;
	/* hardirq_stack_ptr holds the top-most word, not the end, since 5.12
	 * (arch/x86/kernel/irq_64.c: "Store actual TOS to avoid adjustment in
	 * the hotpath", commit 951c2a51ae75 "x86/irq/64: Adjust the per CPU
	 * irq stack pointer by 8"); before, the end. The stack ends on a page
	 * boundary, which tells them apart. */
	if (!vr_kernel_absorb(k, percpu_hot_u64(k, cpu, "hardirq_stack_ptr", &top), VR_ERRS_READ, VR_ERR_NOT_FOUND, VR_ERR_LIMIT) && top > size) {
		uint64_t end = (top & 4095) == 0 ? top : top + 8;
		out[n++] = (struct vr_stack_range){VR_STACK_IRQ, end - size, end};
	}

	uint64_t ptr, cea_addr;
	if (vr_kernel_absorb(k, vr_percpu_addr(k, cpu, "cea_exception_stacks", &cea_addr), VR_ERRS_READ, VR_ERR_NOT_FOUND, VR_ERR_LIMIT) ||
	    vr_kernel_absorb(k, vr_read_u64(k, cea_addr, &ptr), VR_ERRS_READ) || ptr == 0)
		return n;
	static const struct {
		enum vr_stack_kind kind;
		const char *member;
	} est[] = {
		{VR_STACK_DF, "DF_stack"}, {VR_STACK_NMI, "NMI_stack"}, {VR_STACK_DB, "DB_stack"},
		{VR_STACK_MCE, "MCE_stack"}, {VR_STACK_VC, "VC_stack"}, {VR_STACK_VC2, "VC2_stack"},
	};
	bool have_types = false;
	for (size_t i = 0; i < sizeof(est) / sizeof(est[0]); i++) {
		struct vr_member m;
		struct vr_error *err = vr_type_member(k, "cea_exception_stacks", est[i].member, &m);
		if (!err) {
			have_types = true;
			if (m.size == 0 || m.size > (1u << 20))
				m.size = VR_ESTACK_SIZE;
		} else {
			vr_error_destroy(err);
			if (have_types)
				continue; /* the kernel has no such stack */
			m.offset = 4096 + i * VR_ESTACK_STRIDE;
			m.size = VR_ESTACK_SIZE;
		}
		out[n++] = (struct vr_stack_range){est[i].kind, ptr + m.offset, ptr + m.offset + m.size};
	}
	/* The entry (trampoline) stack of the same cpu_entry_area. */
	struct vr_member me, mp;
	uint64_t est_off = VR_CEA_ESTACKS_OFFSET, ent_off = VR_CEA_ENTRY_STACK_OFFSET;
	if (!vr_kernel_absorb(k, vr_type_member(k, "cpu_entry_area", "estacks", &me), VR_ERRS_LAYOUT))
		est_off = me.offset;
	if (!vr_kernel_absorb(k, vr_type_member(k, "cpu_entry_area", "entry_stack_page", &mp), VR_ERRS_LAYOUT))
		ent_off = mp.offset;
	if (ptr > est_off) {
		uint64_t base = ptr - est_off + ent_off;
		out[n++] = (struct vr_stack_range){VR_STACK_ENTRY, base, base + VR_ENTRY_STACK_SIZE};
	}
	return n;
}

/* ------------------------------------------------------------------ frames */

static struct vr_error *convert(struct vr_kernel *k, const struct vr_raw_trace *raw,
				struct vr_trace *trace)
{
	*trace = (struct vr_trace){0};
	if (raw->n) {
		trace->frames = calloc(raw->n, sizeof(*trace->frames));
		if (!trace->frames)
			return &vr_error_oom;
	}
	/* The frames' source lines, found on two CPUs ahead of the loop
	 * below (the addresses vr_kernel_symbolize() looks up). */
	uint64_t *looks = raw->n ? malloc(raw->n * sizeof(*looks)) : NULL;
	size_t n_looks = 0;
	for (size_t i = 0; looks && i < raw->n; i++) {
		const struct vr_raw_frame *r = &raw->frames[i];
		if (r->ip >= 0xffff800000000000ull)
			looks[n_looks++] = r->call && r->ip ? r->ip - 1 : r->ip;
	}
	vr_dwarf_prefetch(k, looks, n_looks);
	free(looks);
	for (size_t i = 0; i < raw->n; i++) {
		const struct vr_raw_frame *r = &raw->frames[i];
		struct vr_frame *f = &trace->frames[trace->n_frames++];
		f->address = r->ip;
		f->reliable = r->reliable;
		f->exception = r->exception;
		if (r->exception) {
			f->regs = malloc(sizeof(*f->regs));
			if (!f->regs)
				goto oom;
			*f->regs = r->regs;
		}
		const char *sn = vr_stack_kind_name(r->stack);
		if (sn && !(f->stack = vr_strdup(sn)))
			goto oom;
		/* User-mode addresses have no kernel symbol. */
		if (r->ip >= 0xffff800000000000ull)
			vr_kernel_symbolize(k, f, r->call);
	}
	if (raw->stop[0] && !(trace->stop_reason = vr_strdup(raw->stop)))
		goto oom;
	return NULL;
oom:
	vr_trace_deinit(trace);
	return &vr_error_oom;
}

struct vr_error *vr_unwind_from(struct vr_kernel *k, const struct vr_unwind_start *s,
				struct vr_trace *trace)
{
	if (!s->regs.valid)
		return vr_error_create(VR_ERR_NOT_FOUND, "no registers to start from");
	struct kctx c;
	kctx_init(&c, k);
	struct vr_stack_range stacks[VR_STACK_N];
	struct vr_unwinder u = {
		.ctx = &c,
		.read_u64 = k_read,
		.find_orc = k_find,
		.is_return_address = k_is_ret, .calls = k_calls,
		.is_text = k_text,
		.stacks = stacks,
		.n_stacks = vr_unwind_stacks(k, s->cpu, s->task_stack, stacks),
		.scan_gaps = true,
		.anchor = s->anchor,
	};
	struct vr_raw_trace raw;
	struct vr_error *err = vr_unwind_raw(&u, &s->regs, s->call_frame, s->first_unreliable, &raw);
	if (err)
		return err;
	if (!k->orc && !c.fp && raw.stop[0] == '\0' && raw.n > 1)
		snprintf(raw.stop, sizeof(raw.stop), "no orc data: frames found by guessing");
	err = convert(k, &raw, trace);
	vr_raw_trace_deinit(&raw);
	if (!err)
		err = vr_trace_infer_tail_calls(k, trace);
	return err;
}

/* The stack of the task current on cpu: from the task list, else (a
 * filtered dump may lack the task_struct) from the top of stack the CPU
 * keeps for entry code: pcpu_hot.top_of_stack from 6.2, a per-CPU variable
 * cpu_current_top_of_stack again once struct pcpu_hot was dissolved
 * (7.3 has it; before 6.2 it is a field of cpu_tss_rw, not looked for:
 * those dumps are not filtered wrong). */
uint64_t vr_unwind_task_stack(struct vr_kernel *k, int cpu)
{
	const struct vr_facts *f = k->facts;
	for (size_t i = 0; f && i < f->n_tasks; i++)
		if (f->tasks[i].is_current && f->tasks[i].cpu == cpu && f->tasks[i].stack)
			return f->tasks[i].stack;
	uint64_t top;
	if (cpu < 0 || (vr_kernel_absorb(k, percpu_hot_u64(k, cpu, "cpu_current_top_of_stack", &top), VR_ERRS_READ, VR_ERR_NOT_FOUND, VR_ERR_LIMIT) &&
			vr_kernel_absorb(k, percpu_hot_u64(k, cpu, "top_of_stack", &top), VR_ERRS_READ, VR_ERR_NOT_FOUND, VR_ERR_LIMIT)))
		return 0;
	/* Stacks are THREAD_SIZE-aligned; the top may sit a few words below
	 * the end (TOP_OF_KERNEL_STACK_PADDING: 16 bytes with FRED). */
	uint64_t end = (top + VR_THREAD_SIZE - 1) & ~(uint64_t)(VR_THREAD_SIZE - 1);
	if (top <= VR_THREAD_SIZE || end - top > 64)
		return 0;
	return end - VR_THREAD_SIZE;
}

struct vr_error *vr_unwind(struct vr_kernel *k, const struct vr_regs *regs, int cpu,
			   struct vr_trace *trace)
{
	if (!k->orc) {
		/* no ORC: the unwinder does without (frame pointers, CFI) */
		struct vr_orc *o;
		struct vr_error *err = vr_orc_load(k, &o);
		if (!err)
			k->orc = o;
		else if (!vr_error_catch(&err, VR_ERRS_LAYOUT, VR_ERRS_READ))
			return err;
	}
	struct vr_unwind_start s = {
		.regs = *regs,
		.cpu = cpu,
		.task_stack = vr_unwind_task_stack(k, cpu),
	};
	return vr_unwind_from(k, &s, trace);
}

/* ------------------------------------------------------- the crash NMI */

static bool regs_match(const uint64_t *w, const struct vr_regs *r)
{
	static const enum vr_reg check[] = {VR_RIP, VR_RSP, VR_RBX, VR_RBP, VR_R12, VR_R15, VR_RDI};
	for (size_t i = 0; i < sizeof(check) / sizeof(check[0]); i++)
		if (w[check[i]] != r->r[check[i]])
			return false;
	return true;
}

/* Return addresses into these mark where a CPU stopped for kdump: the crash
 * NMI handler of the other CPUs (arch/x86/kernel/reboot.c), and the kexec
 * path of the crashing CPU (kernel/kexec_core.c, arch/x86/kernel/
 * machine_kexec_64.c). */
static const char *const vr_crash_stops[] = {
	"crash_nmi_callback", "machine_kexec", "__crash_kexec", "crash_kexec", NULL,
};

static bool in_named(struct vr_kernel *k, uint64_t v)
{
	struct vr_symbol s;
	if (!vr_symbols_lookup_addr(k, v - 1, &s) || !s.name)
		return false;
	if (s.size && v - s.address > s.size)
		return false;
	for (const char *const *n = vr_crash_stops; *n; n++)
		if (strcmp(s.name, *n) == 0)
			return true;
	return false;
}

/* What a trial walk from a scanned slot must reach to be believed: the
 * pt_regs at regs_addr, or (regs_addr 0) a frame at exactly sp whose IP is
 * in [fn_lo, fn_hi). */
struct stop_target {
	uint64_t regs_addr;
	uint64_t sp, fn_lo, fn_hi;
};

/* The frames that stopped the CPU are gone from the registers (it halted or
 * kexec'd), but their return addresses remain deeper in the stack st (read
 * into w) than word `below`: the deepest slot in a known stopping function
 * whose walk reaches the target. */
static bool find_stop_slot(struct vr_kernel *k, struct kctx *c, const struct vr_unwinder *u,
			   const struct vr_stack_range *st, const uint64_t *w, size_t below,
			   const struct stop_target *t, struct vr_regs *ret)
{
	for (size_t i = 0; i < below; i++) {
		uint64_t v = w[i];
		if (!k_is_text(c, v) || !in_named(k, v))
			continue;
		struct vr_regs sr = {0};
		sr.r[VR_RIP] = v;
		sr.r[VR_RSP] = st->lo + 8 * (i + 1);
		sr.r[VR_CS] = 0x10;
		sr.valid = true;
		struct vr_raw_trace raw;
		if (vr_unwind_raw(u, &sr, true, true, &raw))
			return false;
		bool ok = false;
		for (size_t j = 0; j < raw.n && !ok; j++) {
			const struct vr_raw_frame *f = &raw.frames[j];
			if (t->regs_addr)
				ok = f->exception && f->regs_addr == t->regs_addr;
			else
				ok = j > 0 && !f->guessed && f->sp == t->sp && f->ip >= t->fn_lo &&
				     f->ip < t->fn_hi;
		}
		vr_raw_trace_deinit(&raw);
		if (ok) {
			*ret = sr;
			return true;
		}
	}
	return false;
}

bool vr_unwind_crash_start(struct vr_kernel *k, int cpu, uint64_t task_stack,
			   const struct vr_regs *regs, struct vr_regs *ret)
{
	struct vr_stack_range stacks[VR_STACK_N];
	size_t n = vr_unwind_stacks(k, cpu, task_stack, stacks);
	if (!regs->valid || (regs->r[VR_CS] & 3))
		return false;
	struct kctx c;
	kctx_init(&c, k);
	struct vr_unwinder u = {
		.ctx = &c, .read_u64 = k_read, .find_orc = k_find, .is_return_address = k_is_ret, .calls = k_calls,
		.is_text = k_text,
		.stacks = stacks, .n_stacks = n, .max_frames = 32,
	};
	/* The NMI stack first: a CPU spinning in a loop leaves identical
	 * pt_regs of earlier interrupts on its task stack. */
	size_t order[VR_STACK_N], no = 0;
	for (size_t si = 0; si < n; si++)
		if (stacks[si].kind == VR_STACK_NMI)
			order[no++] = si;
	for (size_t si = 0; si < n; si++)
		if (stacks[si].kind != VR_STACK_NMI)
			order[no++] = si;
	for (size_t oi = 0; oi < no; oi++) {
		const struct vr_stack_range *st = &stacks[order[oi]];
		size_t len = st->hi - st->lo;
		if (len > (1u << 16) || len < 8 * 21 || len % 8)
			continue;
		_cleanup_free_ uint64_t *w = malloc(len);
		if (!w)
			return false;
		if (vr_kernel_absorb(k, vr_kernel_read(k, st->lo, w, len), VR_ERRS_READ))
			continue;
		size_t nw = len / 8;
		/* The pt_regs the registers were copied from: the NMI entry's
		 * (crash_nmi_callback() -> crash_save_cpu()) or the oops'
		 * (crash_kexec(regs) -> crash_setup_regs()). */
		for (size_t p = nw - 21 + 1; p-- > 0;) {
			if (!regs_match(&w[p], regs))
				continue;
			struct stop_target t = {.regs_addr = st->lo + 8 * p};
			if (find_stop_slot(k, &c, &u, st, w, p, &t, ret))
				return true;
		}
		/* panic() -> __crash_kexec(NULL): crash_setup_regs() saved
		 * the registers in __crash_kexec, which then went on to call
		 * machine_kexec(); its return address lies below the saved
		 * SP, and its walk returns to __crash_kexec at that SP. */
		uint64_t rsp = regs->r[VR_RSP];
		struct vr_symbol fn;
		if (rsp >= st->lo && rsp < st->hi &&
		    vr_symbols_lookup_addr(k, regs->r[VR_RIP], &fn) && fn.name && fn.size &&
		    (strcmp(fn.name, "__crash_kexec") == 0 || strcmp(fn.name, "crash_kexec") == 0)) {
			struct stop_target t = {.sp = rsp, .fn_lo = fn.address,
						.fn_hi = fn.address + fn.size};
			if (find_stop_slot(k, &c, &u, st, w, (rsp - st->lo) / 8, &t, ret))
				return true;
		}
	}
	return false;
}

/* ---- tail calls ---- */

/* A function that ends in "jmp g" instead of "call g; ret" has no frame of
 * its own: g returns straight to its caller, and the stack shows the
 * caller below g. The call before the caller's return address says which
 * function the caller called; when that is not the one in the frame above,
 * the called function tail-called (directly or through others) into it.
 * Only direct calls (E8 rel32) name their target. */
static bool direct_call_target(struct vr_kernel *k, uint64_t ret, uint64_t *target)
{
	uint8_t b[5];
	if (ret < 5 || vr_kernel_absorb(k, vr_kernel_read(k, ret - 5, b, sizeof(b)), VR_ERRS_READ) || b[0] != 0xe8)
		return false;
	int32_t rel = (int32_t)((uint32_t)b[1] | (uint32_t)b[2] << 8 | (uint32_t)b[3] << 16 |
				(uint32_t)b[4] << 24);
	*target = ret + (uint64_t)(int64_t)rel;
	return true;
}

/* Compiler and kernel glue that a call goes through without being the
 * function called: retpolines and return thunks, static-call trampolines,
 * ftrace's entry, the padding before a function (CONFIG_CALL_PADDING). */
static bool is_glue(const char *s)
{
	return !strncmp(s, "__x86_", 6) || !strncmp(s, "__SCT__", 7) || !strncmp(s, "__fentry__", 10) ||
	       !strncmp(s, "__pfx_", 6) || !strncmp(s, "__cfi_", 6) || !strncmp(s, "srso_", 5);
}

/* Whether a and b name one function: the same name, or the same name
 * once compiler suffixes are taken off (foo.cold is part of foo). */
static bool same_function(const char *a, const char *b)
{
	size_t la = strcspn(a, "."), lb = strcspn(b, ".");
	return la == lb && !strncmp(a, b, la);
}

struct vr_error *vr_trace_infer_tail_calls(struct vr_kernel *k, struct vr_trace *t)
{
	if (!k || !vr_kernel_has_memory(k))
		return NULL;
	for (size_t i = 0; i + 1 < t->n_frames; i++) {
		struct vr_frame *callee = &t->frames[i];
		size_t j = i + 1;
		/* The caller: the next frame that a return address proves. */
		while (j < t->n_frames && (!t->frames[j].reliable || t->frames[j].inferred))
			j++;
		if (j >= t->n_frames || !callee->reliable || !callee->symbol || !callee->address)
			continue;
		struct vr_frame *caller = &t->frames[j];
		uint64_t target;
		if (caller->exception || !caller->address || caller->address < 0xffff800000000000ull ||
		    !direct_call_target(k, caller->address, &target))
			continue;
		if (callee->address - callee->offset == target)
			continue;
		struct vr_frame f = {.address = target};
		vr_kernel_symbolize(k, &f, false);
		bool take = f.symbol && f.offset == 0 && !is_glue(f.symbol) &&
			    !same_function(f.symbol, callee->symbol);
		/* A "? " frame of that function between them is its own frame,
		 * which the unwinder could not prove: no tail call. */
		for (size_t q = i + 1; take && q < j; q++)
			if (t->frames[q].symbol && same_function(t->frames[q].symbol, f.symbol))
				take = false;
		if (!take) {
			vr_frame_deinit(&f);
			continue;
		}
		f.reliable = true;
		f.inferred = true;
		f.from_log = false; /* known from the code in memory, not from the log */
		if (caller->stack && !(f.stack = vr_strdup(caller->stack))) {
			vr_frame_deinit(&f);
			return &vr_error_oom;
		}
		struct vr_frame *v = realloc(t->frames, (t->n_frames + 1) * sizeof(*v));
		if (!v) {
			vr_frame_deinit(&f);
			return &vr_error_oom;
		}
		t->frames = v;
		memmove(&t->frames[i + 2], &t->frames[i + 1], (t->n_frames - i - 1) * sizeof(*v));
		t->frames[i + 1] = f;
		t->n_frames++;
		i++;
	}
	return NULL;
}
