/* x86-64 stack traces of a crashed kernel: binds the ORC walker of
 * x86_64_orc.c to the dump's memory, symbols and per-CPU stacks, and turns
 * its frames into symbolized struct vr_frame; the unwinding members of
 * vr_arch_x86_64 (arch.h). */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "x86_64_cfi.h"
#include "unwind.h"
#include "x86_64.h"
#include "x86_64_unwind.h"

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


static bool k_calls(void *ctx, uint64_t ret, uint64_t ip)
{
	struct kctx *c = ctx;
	uint64_t target;
	struct vr_symbol s;
	return vr_x86_64_call_target(c->k, ret, &target) && vr_symbols_lookup_addr(c->k, ip, &s) &&
	       s.address == target;
}

static void kctx_init(struct kctx *c, struct vr_kernel *k)
{
	*c = (struct kctx){.k = k, .fp = vr_x86_64_frame_pointers(k)};
	if (!vr_symbols_lookup_name(k, "_stext", &c->stext) ||
	    !vr_symbols_lookup_name(k, "_etext", &c->etext))
		c->stext = c->etext = 0;
	if (!vr_symbols_lookup_name(k, "_sinittext", &c->sinittext) ||
	    !vr_symbols_lookup_name(k, "_einittext", &c->einittext))
		c->sinittext = c->einittext = 0;
}

bool vr_x86_64_frame_pointers(struct vr_kernel *k)
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

struct vr_error *vr_x86_64_current_task(struct vr_kernel *k, int cpu, uint64_t *ret)
{
	return percpu_hot_u64(k, cpu, "current_task", ret);
}

static size_t stacks_of(struct vr_kernel *k, int cpu, uint64_t task_stack,
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

size_t vr_x86_64_stacks(struct vr_kernel *k, int cpu, uint64_t task_stack, struct vr_stack_span *ret)
{
	struct vr_stack_range st[VR_STACK_N];
	size_t n = stacks_of(k, cpu, task_stack, st);
	for (size_t i = 0; i < n && i < VR_ARCH_MAX_STACKS; i++)
		ret[i] = (struct vr_stack_span){st[i].lo, st[i].hi};
	return n < VR_ARCH_MAX_STACKS ? n : VR_ARCH_MAX_STACKS;
}

/* ORC tables are loaded once for both collectors; a failure is said once. */
struct vr_error *vr_x86_64_unwind_prepare(struct vr_kernel *k)
{
	if (k->orc)
		return NULL;
	struct vr_orc *o = NULL;
	struct vr_error *err = vr_orc_load(k, &o);
	if (err && err->code != VR_ERR_NOMEM && vr_x86_64_frame_pointers(k)) {
		/* A kernel without ORC: its stacks are walked by CFI and
		 * frame pointers, no guess. */
		vr_error_destroy(err);
		return NULL;
	}
	if (err)
		return err;
	k->orc = o;
	return NULL;
}

struct vr_error *vr_x86_64_unwind(struct vr_kernel *k, const struct vr_unwind_start *s,
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
		.n_stacks = stacks_of(k, s->cpu, s->task_stack, stacks),
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

/* struct inactive_task_frame (arch/x86/include/asm/switch_to.h): r15 r14 r13
 * r12 bx bp ret_addr on x86-64 since v4.9 (commit 0100301bfdf5 "sched/x86:
 * Rewrite the switch_to() code"), from the kernel's types: where they do
 * not say, no switched-out task is traced. */
/* A switched-out task of a kernel without struct inactive_task_frame and
 * without ORC (before 4.9's rewrite of switch_to()): the switch_to() macro
 * inlined in __schedule() pushed the flags and RBP, then saved RSP in
 * thread.sp (arch/x86/include/asm/switch_to.h, SAVE_CONTEXT), so the word
 * at thread.sp is __schedule()'s frame pointer. Its frame holds the return
 * address into __schedule()'s caller, where the walk starts; __schedule()
 * itself has no address to show (the switch resumes inside it). */
static struct vr_error *switch_frame_fp(struct vr_kernel *k, const struct vr_task *t, struct vr_unwind_start *ret)
{
	uint64_t bp, ra, saved_bp;
	struct vr_error *err;
	if ((err = vr_read_u64(k, t->sp, &bp)))
		return vr_error_wrap(err, "reading the frame pointer of pid %d at 0x%llx", t->pid,
				     (unsigned long long)t->sp);
	struct vr_stack_range st[VR_STACK_N];
	size_t n = stacks_of(k, -1, t->stack, st);
	if (n == 0 || bp <= t->sp || bp % 8 || bp < st[0].lo || bp >= st[0].hi || st[0].hi - bp < 16)
		return vr_error_create(VR_ERR_FORMAT,
				       "the frame pointer 0x%llx saved at 0x%llx by pid %d is not a frame on its stack",
				       (unsigned long long)bp, (unsigned long long)t->sp, t->pid);
	if ((err = vr_read_u64(k, bp + 8, &ra)) || (err = vr_read_u64(k, bp, &saved_bp)))
		return vr_error_wrap(err, "reading the frame of pid %d at 0x%llx", t->pid,
				     (unsigned long long)bp);
	ret->regs = (struct vr_regs){.set = &vr_regset_x86_64};
	ret->regs.r[X86_RIP] = ra;
	ret->regs.r[X86_RSP] = bp + 16;
	ret->regs.r[X86_RBP] = saved_bp;
	ret->regs.r[X86_CS] = 0x10; /* __KERNEL_CS */
	ret->regs.valid = true;
	ret->call_frame = true;
	return NULL;
}

struct vr_error *vr_x86_64_switch_frame(struct vr_kernel *k, const struct vr_task *t,
					struct vr_unwind_start *ret)
{
	uint64_t size;
	struct vr_member bp, ra;
	struct vr_error *err;
	if ((err = vr_type_size(k, "inactive_task_frame", &size)) ||
	    (err = vr_type_member(k, "inactive_task_frame", "bp", &bp)) ||
	    (err = vr_type_member(k, "inactive_task_frame", "ret_addr", &ra))) {
		if (err->code != VR_ERR_NOMEM && vr_x86_64_frame_pointers(k)) {
			vr_error_destroy(err);
			return switch_frame_fp(k, t, ret);
		}
		return vr_error_wrap(err, "the switch frame's layout");
	}
	if (size % 8 || size < 16 || size > 256 || bp.offset % 8 || ra.offset % 8 ||
	    bp.offset >= size || ra.offset >= size)
		return vr_error_create(VR_ERR_FORMAT,
				       "the switch frame's layout: struct inactive_task_frame of %llu bytes "
				       "with bp at %llu and ret_addr at %llu",
				       (unsigned long long)size, (unsigned long long)bp.offset,
				       (unsigned long long)ra.offset);
	size_t words = size / 8;
	uint64_t frame[32];
	for (size_t i = 0; i < words; i++) {
		err = vr_read_u64(k, t->sp + 8 * i, &frame[i]);
		if (err)
			return vr_error_wrap(err, "reading the switch frame of pid %d at 0x%llx", t->pid,
					     (unsigned long long)t->sp);
	}
	vr_unwind_switch_regs(t->sp, frame, words, bp.offset / 8, ra.offset / 8, &ret->regs);
	ret->call_frame = true;
	/* A task that never ran resumes in ret_from_fork, which is no return
	 * address (the kernel's unwind_start() sets signal for it). */
	struct vr_symbol s;
	if (vr_symbols_lookup_addr(k, ret->regs.r[X86_RIP], &s) && s.name &&
	    (!strcmp(s.name, "ret_from_fork") || !strcmp(s.name, "ret_from_fork_asm")))
		ret->call_frame = false;
	return NULL;
}

/* The stack of the task current on cpu: from the task list, else (a
 * filtered dump may lack the task_struct) from the top of stack the CPU
 * keeps for entry code: pcpu_hot.top_of_stack from 6.2, a per-CPU variable
 * cpu_current_top_of_stack again once struct pcpu_hot was dissolved
 * (7.3 has it; before 6.2 it is a field of cpu_tss_rw, not looked for:
 * those dumps are not filtered wrong). */
uint64_t vr_x86_64_task_stack(struct vr_kernel *k, int cpu)
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

/* ------------------------------------------------------- the crash NMI */

static bool regs_match(const uint64_t *w, const struct vr_regs *r)
{
	static const int check[] = {X86_RIP, X86_RSP, X86_RBX, X86_RBP, X86_R12, X86_R15, X86_RDI};
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
		struct vr_regs sr = {.set = &vr_regset_x86_64};
		sr.r[X86_RIP] = v;
		sr.r[X86_RSP] = st->lo + 8 * (i + 1);
		sr.r[X86_CS] = 0x10;
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

bool vr_x86_64_crash_start(struct vr_kernel *k, int cpu, uint64_t task_stack,
			   const struct vr_regs *regs, struct vr_regs *ret)
{
	struct vr_stack_range stacks[VR_STACK_N];
	size_t n = stacks_of(k, cpu, task_stack, stacks);
	if (!regs->valid || (regs->r[X86_CS] & 3))
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
		uint64_t rsp = regs->r[X86_RSP];
		struct vr_symbol fn;
		if (rsp >= st->lo && rsp < st->hi &&
		    vr_symbols_lookup_addr(k, regs->r[X86_RIP], &fn) && fn.name && fn.size &&
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

/* Only direct calls (E8 rel32) name their target. */
bool vr_x86_64_call_target(struct vr_kernel *k, uint64_t ret, uint64_t *target)
{
	uint8_t b[5];
	if (ret < 5 || vr_kernel_absorb(k, vr_kernel_read(k, ret - 5, b, sizeof(b)), VR_ERRS_READ) || b[0] != 0xe8)
		return false;
	int32_t rel = (int32_t)((uint32_t)b[1] | (uint32_t)b[2] << 8 | (uint32_t)b[3] << 16 |
				(uint32_t)b[4] << 24);
	*target = ret + (uint64_t)(int64_t)rel;
	return true;
}
