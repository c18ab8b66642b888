/* The CPUs of the crashed kernel and their stacks, and the stacks of the
 * tasks blocked in uninterruptible sleep: the facts behind crash's "bt -a"
 * and the kernel's hung-task reports. */
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "internal.h"
#include "unwind.h"

#define VR_MAX_BLOCKED_TRACES 1024

/* ORC tables are loaded once for both collectors; a failure is said once. */
static struct vr_error *ensure_orc(struct vr_kernel *k)
{
	if (k->orc)
		return NULL;
	struct vr_orc *o = NULL;
	struct vr_error *err = vr_orc_load(k, &o);
	if (err && err->code != VR_ERR_NOMEM && vr_unwind_frame_pointers(k)) {
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

static const struct vr_task *current_task_of(const struct vr_facts *f, int cpu)
{
	for (size_t i = 0; i < f->n_tasks; i++)
		if (f->tasks[i].is_current && f->tasks[i].cpu == cpu)
			return &f->tasks[i];
	return NULL;
}

static const struct vr_task *task_by_addr(const struct vr_facts *f, uint64_t addr)
{
	for (size_t i = 0; addr && i < f->n_tasks; i++)
		if (f->tasks[i].task == addr)
			return &f->tasks[i];
	return NULL;
}

static const struct vr_task *current_task_by_pid(const struct vr_facts *f, int pid)
{
	const struct vr_task *any = NULL;
	for (size_t i = 0; i < f->n_tasks; i++) {
		if (f->tasks[i].pid != pid)
			continue;
		if (f->tasks[i].is_current)
			return &f->tasks[i];
		if (!any)
			any = &f->tasks[i];
	}
	return any;
}

/* The panicking CPU from the kernel's panic_cpu (kernel/panic.c: atomic_t,
 * PANIC_CPU_INVALID = -1 until a CPU enters panic()). */
static int read_panic_cpu(struct vr_kernel *k)
{
	uint64_t addr;
	uint32_t v;
	if (!vr_symbols_lookup_name(k, "panic_cpu", &addr) || vr_kernel_absorb(k, vr_read_u32(k, addr, &v), VR_ERRS_READ))
		return -1;
	int cpu = (int32_t)v;
	return cpu >= 0 && cpu < VR_MAX_CPUS ? cpu : -1;
}

static bool rip_in(struct vr_kernel *k, uint64_t rip, const char *const *names)
{
	struct vr_symbol s;
	if (!vr_symbols_lookup_addr(k, rip, &s) || !s.name)
		return false;
	for (; *names; names++)
		if (strcmp(s.name, *names) == 0)
			return true;
	return false;
}

static int cmp_cpu(const void *a, const void *b)
{
	const struct vr_cpu *x = a, *y = b;
	return (x->cpu > y->cpu) - (x->cpu < y->cpu);
}

struct cpu_stacks {
	int cpu;
	struct vr_stack_range s[VR_STACK_N];
	size_t n;
};

/* The CPU whose crash note holds the registers of dump note i: each CPU
 * saves its note in its own per-CPU buffer (kernel/crash_core.c
 * crash_notes, a note_buf_t __percpu pointer; crash_save_cpu()) before
 * /proc/vmcore gathers them, so the buffer that holds the same pid, RIP and
 * RSP names the CPU. This needs neither the task list nor the stacks, which
 * a filtered dump may lack. */
static int note_cpu_by_buffer(struct vr_kernel *k, const struct vr_dump_cpu *dc, int max_cpu, const bool *taken)
{
	uint64_t sym, notes;
	if (!dc->regs.valid || !vr_symbols_lookup_name(k, "crash_notes", &sym) ||
	    vr_kernel_absorb(k, vr_read_u64(k, sym, &notes), VR_ERRS_READ) || !notes)
		return -1;
	for (int c = 0; c < max_cpu; c++) {
		uint64_t a;
		/* Elf64_Nhdr, "CORE" padded to 8, then struct elf_prstatus:
		 * pr_pid at 32, pr_reg (struct user_regs_struct) at 112. */
		uint8_t buf[12 + 8 + 112 + 27 * 8];
		if (taken[c] || vr_kernel_absorb(k, vr_percpu_ptr(k, c, notes, &a), VR_ERRS_READ, VR_ERR_NOT_FOUND, VR_ERR_LIMIT) ||
		    vr_kernel_absorb(k, vr_kernel_read(k, a, buf, sizeof(buf)), VR_ERRS_READ))
			continue;
		uint32_t namesz = vr_le32(buf), type = vr_le32(buf + 8);
		if (type != 1 /* NT_PRSTATUS */ || namesz != 5 || memcmp(buf + 12, "CORE", 5) != 0)
			continue;
		const uint8_t *st = buf + 20;
		const uint8_t *regs = st + 112;
		/* user_regs_struct: ip is word 16, sp word 19 */
		if ((int)vr_le32(st + 32) == dc->pid && vr_le64(regs + 16 * 8) == (uint64_t)dc->regs.r[VR_RIP] &&
		    vr_le64(regs + 19 * 8) == (uint64_t)dc->regs.r[VR_RSP])
			return c;
	}
	return -1;
}

/* CPU number of each note. QEMU writes one note per CPU in CPU order; kdump
 * writes one per CPU that saved its registers, in CPU order, so a note is
 * matched by the per-CPU buffer the kernel saved it in, then by the pid of
 * the CPU's current task, then by the stack its SP is on, and what is left
 * is taken in order. */
static void map_notes(struct vr_kernel *k, const struct vr_facts *f, size_t n, bool qemu, int *cpu_of)
{
	for (size_t i = 0; i < n; i++)
		cpu_of[i] = qemu ? (int)i : -1;
	if (qemu)
		return;
	int max_cpu = (int)n;
	if (f->system.cpus > max_cpu)
		max_cpu = f->system.cpus;
	for (size_t i = 0; i < f->n_tasks; i++)
		if (f->tasks[i].is_current && f->tasks[i].cpu >= max_cpu && f->tasks[i].cpu < VR_MAX_CPUS)
			max_cpu = f->tasks[i].cpu + 1;
	if (max_cpu > VR_MAX_CPUS)
		max_cpu = VR_MAX_CPUS;
	bool *taken = calloc((size_t)max_cpu, sizeof(bool));
	if (!taken)
		return;

	for (size_t i = 0; i < n; i++) {
		const struct vr_dump_cpu *dc = vr_dump_cpu(k->dump, i);
		int c = dc ? note_cpu_by_buffer(k, dc, max_cpu, taken) : -1;
		if (c >= 0) {
			cpu_of[i] = c;
			taken[c] = true;
		}
	}

	for (size_t i = 0; i < n; i++) {
		const struct vr_dump_cpu *dc = vr_dump_cpu(k->dump, i);
		if (cpu_of[i] >= 0 || !dc || dc->pid <= 0)
			continue; /* pid 0: an idle task, one per CPU */
		const struct vr_task *t = current_task_by_pid(f, dc->pid);
		if (t && t->cpu >= 0 && t->cpu < max_cpu && !taken[t->cpu]) {
			cpu_of[i] = t->cpu;
			taken[t->cpu] = true;
		}
	}

	/* By stack: only for modest machines, every CPU's stacks are read. */
	if (max_cpu <= 512) {
		struct cpu_stacks *cs = calloc((size_t)max_cpu, sizeof(*cs));
		for (int c = 0; cs && c < max_cpu; c++) {
			const struct vr_task *t = current_task_of(f, c);
			cs[c].cpu = c;
			cs[c].n = vr_unwind_stacks(k, c, t && t->stack ? t->stack : vr_unwind_task_stack(k, c), cs[c].s);
		}
		for (size_t i = 0; cs && i < n; i++) {
			const struct vr_dump_cpu *dc = vr_dump_cpu(k->dump, i);
			if (cpu_of[i] >= 0 || !dc || !dc->regs.valid)
				continue;
			uint64_t sp = dc->regs.r[VR_RSP];
			for (int c = 0; c < max_cpu && cpu_of[i] < 0; c++) {
				if (taken[c])
					continue;
				for (size_t j = 0; j < cs[c].n; j++)
					if (sp >= cs[c].s[j].lo && sp < cs[c].s[j].hi) {
						cpu_of[i] = c;
						taken[c] = true;
						break;
					}
			}
		}
		free(cs);
	}

	int next = 0;
	for (size_t i = 0; i < n; i++) {
		if (cpu_of[i] >= 0)
			continue;
		while (next < max_cpu && taken[next])
			next++;
		if (next >= max_cpu)
			break;
		cpu_of[i] = next;
		taken[next] = true;
	}
	free(taken);
}

static const char *const crash_fns[] = {"__crash_kexec", "crash_kexec", "panic", "crash_setup_regs", NULL};

/* panic_cpu unreadable: the CPU whose registers were saved in the kexec
 * path, -1 when none was. */
static int panic_cpu_from_notes(struct vr_kernel *k, size_t n, const int *cpu_of)
{
	for (size_t i = 0; i < n; i++) {
		const struct vr_dump_cpu *dc = vr_dump_cpu(k->dump, i);
		if (dc && dc->regs.valid && rip_in(k, dc->regs.r[VR_RIP], crash_fns))
			return cpu_of[i];
	}
	return -1;
}

/* CPU c (c->cpu set) from its note dc: its task, state and stack. Fails
 * only when out of memory. */
static struct vr_error *collect_cpu(struct vr_kernel *k, const struct vr_facts *f, const struct vr_dump_cpu *dc,
				    int panic_cpu, bool qemu, struct vr_cpu *c)
{
	c->pid = -1;
	if (dc)
		c->regs = dc->regs;
	const struct vr_task *t = c->cpu >= 0 ? current_task_of(f, c->cpu) : NULL;
	uint64_t task_addr = 0;
	if (!t && c->cpu >= 0 && !vr_kernel_absorb(k, vr_unwind_current_task(k, c->cpu, &task_addr), VR_ERRS_READ, VR_ERR_NOT_FOUND, VR_ERR_LIMIT))
		t = task_by_addr(f, task_addr);
	if (t) {
		c->task = t->task;
		c->pid = t->pid;
		c->comm = vr_strdup(t->comm);
	} else {
		c->task = task_addr;
		if (dc && dc->pid >= 0)
			c->pid = dc->pid;
		/* PID 0 is the CPU's idle task, which init_idle() names
		 * "swapper/CPU" (kernel/sched/core.c). */
		if (c->pid == 0 && c->cpu >= 0 && !(c->comm = vr_asprintf("swapper/%d", c->cpu)))
			return &vr_error_oom;
	}
	c->panic = panic_cpu >= 0 && c->cpu == panic_cpu;
	bool idle = t ? t->is_idle : c->pid == 0;
	c->state = vr_strdup(c->panic ? "panic" : idle ? "idle" : "running");
	if (!c->state || (t && !c->comm))
		return &vr_error_oom;

	if (!c->regs.valid) {
		c->trace.stop_reason = vr_strdup("no saved registers for this cpu");
		return c->trace.stop_reason ? NULL : &vr_error_oom;
	}
	struct vr_unwind_start s = {
		.regs = c->regs,
		.cpu = c->cpu,
		.task_stack = t && t->stack ? t->stack : vr_unwind_task_stack(k, c->cpu),
	};
	/* kdump's notes hold the registers the crash NMI or the oops
	 * interrupted; start where the CPU stopped, like crash does. */
	struct vr_regs stop;
	if (!qemu && c->cpu >= 0 &&
	    vr_unwind_crash_start(k, c->cpu, s.task_stack, &c->regs, &stop)) {
		s.regs = stop;
		s.call_frame = true;
		s.first_unreliable = true;
		s.anchor = &c->regs;
	}
	struct vr_error *err = vr_unwind_from(k, &s, &c->trace);
	if (err) {
		if (err->code == VR_ERR_NOMEM) {
			vr_error_destroy(err);
			return &vr_error_oom;
		}
		c->trace.stop_reason = vr_strdup(err->message);
		vr_error_destroy(err);
	}
	return NULL;
}

/* panic_cpu unreadable: the CPU whose stack holds the panic or kexec path
 * is marked the panicking one. Fails only when out of memory. */
static struct vr_error *panic_cpu_from_traces(struct vr_cpu *cpus, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < cpus[i].trace.n_frames; j++) {
			const char *sym = cpus[i].trace.frames[j].symbol;
			bool hit = false;
			if (!cpus[i].trace.frames[j].reliable)
				continue;
			for (const char *const *fn = crash_fns; sym && *fn; fn++)
				hit = hit || strcmp(sym, *fn) == 0;
			if (hit) {
				cpus[i].panic = true;
				free(cpus[i].state);
				return (cpus[i].state = vr_strdup("panic")) ? NULL : &vr_error_oom;
			}
		}
	return NULL;
}

static void cpus_free(struct vr_cpu *cpus, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		vr_trace_deinit(&cpus[i].trace);
		free(cpus[i].comm);
		free(cpus[i].state);
	}
	free(cpus);
}

struct vr_error *vr_collect_cpus(struct vr_kernel *k, struct vr_facts *f)
{
	if (!k->dump || !vr_kernel_has_memory(k))
		return vr_error_create(VR_ERR_NOT_PRESENT, "the input holds no memory");
	size_t n = vr_dump_n_cpus(k->dump);
	if (n == 0)
		return vr_error_create(VR_ERR_NOT_PRESENT, "the dump holds no saved cpu registers");
	if (n > VR_MAX_CPUS)
		return vr_error_create(VR_ERR_LIMIT, "%zu cpu notes is beyond the limit of %d", n,
				       VR_MAX_CPUS);

	struct vr_error *orc_err = ensure_orc(k);
	if (orc_err && orc_err->code == VR_ERR_NOMEM)
		return orc_err;

	const struct vr_dump_info *info = vr_dump_get_info(k->dump);
	bool qemu = info && info->form && strncmp(info->form, "qemu", 4) == 0;
	_cleanup_free_ int *cpu_of = calloc(n, sizeof(int));
	struct vr_cpu *cpus = calloc(n, sizeof(*cpus));
	if (!cpu_of || !cpus) {
		free(cpus);
		vr_error_destroy(orc_err);
		return &vr_error_oom;
	}
	map_notes(k, f, n, qemu, cpu_of);

	int panic_cpu = read_panic_cpu(k);
	if (panic_cpu < 0)
		panic_cpu = panic_cpu_from_notes(k, n, cpu_of);
	size_t n_out = 0;
	struct vr_error *err = NULL;
	for (size_t i = 0; !err && i < n; i++) {
		struct vr_cpu *c = &cpus[n_out++];
		c->cpu = cpu_of[i];
		err = collect_cpu(k, f, vr_dump_cpu(k->dump, i), panic_cpu, qemu, c);
	}
	if (!err && panic_cpu < 0)
		err = panic_cpu_from_traces(cpus, n_out);
	if (err) {
		cpus_free(cpus, n_out);
		vr_error_destroy(orc_err);
		return err;
	}
	qsort(cpus, n_out, sizeof(*cpus), cmp_cpu);
	for (size_t i = 0; i < f->n_cpus; i++) {
		vr_trace_deinit(&f->cpus[i].trace);
		free(f->cpus[i].comm);
		free(f->cpus[i].state);
	}
	free(f->cpus);
	f->cpus = cpus;
	f->n_cpus = n_out;
	if (orc_err)
		return vr_error_wrap(orc_err, "stack traces are guesses");
	return NULL;
}

/* ----------------------------------------------------------- blocked tasks */

struct switch_layout {
	size_t words, bp_word, ret_word;
};

/* struct inactive_task_frame (arch/x86/include/asm/switch_to.h): r15 r14 r13
 * r12 bx bp ret_addr on x86-64 since v4.9 (commit 0100301bfdf5 "sched/x86:
 * Rewrite the switch_to() code"), from the kernel's types: where they do
 * not say, no switched-out task is traced. */
static struct vr_error *switch_layout(struct vr_kernel *k, struct switch_layout *ret)
{
	uint64_t size;
	struct vr_member bp, ra;
	struct vr_error *err;
	if ((err = vr_type_size(k, "inactive_task_frame", &size)) ||
	    (err = vr_type_member(k, "inactive_task_frame", "bp", &bp)) ||
	    (err = vr_type_member(k, "inactive_task_frame", "ret_addr", &ra)))
		return vr_error_wrap(err, "the switch frame's layout");
	if (size % 8 || size < 16 || size > 256 || bp.offset % 8 || ra.offset % 8 ||
	    bp.offset >= size || ra.offset >= size)
		return vr_error_create(VR_ERR_FORMAT,
				       "the switch frame's layout: struct inactive_task_frame of %llu bytes "
				       "with bp at %llu and ret_addr at %llu",
				       (unsigned long long)size, (unsigned long long)bp.offset,
				       (unsigned long long)ra.offset);
	*ret = (struct switch_layout){size / 8, bp.offset / 8, ra.offset / 8};
	return NULL;
}

static struct vr_error *trace_switched_task(struct vr_kernel *k, const struct switch_layout *l,
					    struct vr_task *t)
{
	uint64_t frame[32];
	for (size_t i = 0; i < l->words; i++) {
		struct vr_error *err = vr_read_u64(k, t->sp + 8 * i, &frame[i]);
		if (err)
			return vr_error_wrap(err, "reading the switch frame of pid %d at 0x%llx", t->pid,
					     (unsigned long long)t->sp);
	}
	struct vr_unwind_start s = {.cpu = -1, .task_stack = t->stack, .call_frame = true};
	vr_unwind_switch_regs(t->sp, frame, l->words, l->bp_word, l->ret_word, &s.regs);
	/* A task that never ran resumes in ret_from_fork, which is no return
	 * address (the kernel's unwind_start() sets signal for it). */
	static const char *const fork_fns[] = {"ret_from_fork", "ret_from_fork_asm", NULL};
	if (rip_in(k, s.regs.r[VR_RIP], fork_fns))
		s.call_frame = false;
	return vr_unwind_from(k, &s, &t->trace);
}

/* A switched-out task of a kernel without struct inactive_task_frame and
 * without ORC (before 4.9's rewrite of switch_to()): the switch_to() macro
 * inlined in __schedule() pushed the flags and RBP, then saved RSP in
 * thread.sp (arch/x86/include/asm/switch_to.h, SAVE_CONTEXT), so the word
 * at thread.sp is __schedule()'s frame pointer. Its frame holds the return
 * address into __schedule()'s caller, where the walk starts; __schedule()
 * itself has no address to show (the switch resumes inside it). */
static struct vr_error *trace_switched_task_fp(struct vr_kernel *k, struct vr_task *t)
{
	uint64_t bp, ret, saved_bp;
	struct vr_error *err;
	if ((err = vr_read_u64(k, t->sp, &bp)))
		return vr_error_wrap(err, "reading the frame pointer of pid %d at 0x%llx", t->pid,
				     (unsigned long long)t->sp);
	struct vr_stack_range st[VR_STACK_N];
	size_t n = vr_unwind_stacks(k, -1, t->stack, st);
	if (n == 0 || bp <= t->sp || bp % 8 || bp < st[0].lo || bp >= st[0].hi || st[0].hi - bp < 16)
		return vr_error_create(VR_ERR_FORMAT,
				       "the frame pointer 0x%llx saved at 0x%llx by pid %d is not a frame on its stack",
				       (unsigned long long)bp, (unsigned long long)t->sp, t->pid);
	if ((err = vr_read_u64(k, bp + 8, &ret)) || (err = vr_read_u64(k, bp, &saved_bp)))
		return vr_error_wrap(err, "reading the frame of pid %d at 0x%llx", t->pid,
				     (unsigned long long)bp);
	struct vr_unwind_start s = {.cpu = -1, .task_stack = t->stack, .call_frame = true};
	s.regs.r[VR_RIP] = ret;
	s.regs.r[VR_RSP] = bp + 16;
	s.regs.r[VR_RBP] = saved_bp;
	s.regs.r[VR_CS] = 0x10; /* __KERNEL_CS */
	s.regs.valid = true;
	return vr_unwind_from(k, &s, &t->trace);
}

struct vr_error *vr_collect_blocked(struct vr_kernel *k, struct vr_facts *f)
{
	if (!k->dump || !vr_kernel_has_memory(k))
		return vr_error_create(VR_ERR_NOT_PRESENT, "the input holds no memory");
	struct vr_error *orc_err = ensure_orc(k);
	if (orc_err && orc_err->code == VR_ERR_NOMEM)
		return orc_err;
	struct switch_layout l = {0};
	_cleanup_error_ struct vr_error *layout_err = switch_layout(k, &l);
	if (layout_err && layout_err->code == VR_ERR_NOMEM) {
		vr_error_destroy(orc_err);
		return &vr_error_oom;
	}
	bool fp_switch = layout_err && vr_unwind_frame_pointers(k);
	size_t done = 0, failed = 0, skipped = 0;
	char first_failure[256] = "";
	for (size_t i = 0; i < f->n_tasks; i++) {
		struct vr_task *t = &f->tasks[i];
		if (t->state != 'D')
			continue;
		vr_trace_deinit(&t->trace);
		if (done >= VR_MAX_BLOCKED_TRACES) {
			skipped++;
			continue;
		}
		done++;
		if (t->is_current || t->on_cpu) {
			/* Its switch frame is stale; the CPU's trace shows it. */
			t->trace.stop_reason = vr_asprintf("running on cpu %d", t->cpu);
			continue;
		}
		if (!t->sp) {
			t->trace.stop_reason = vr_strdup("saved stack pointer unknown");
			continue;
		}
		struct vr_error *err = fp_switch    ? trace_switched_task_fp(k, t)
				       : layout_err ? vr_error_create(layout_err->code, "%s", layout_err->message)
						    : trace_switched_task(k, &l, t);
		if (err) {
			if (err->code == VR_ERR_NOMEM) {
				vr_error_destroy(orc_err);
				return err;
			}
			if (!failed++)
				snprintf(first_failure, sizeof(first_failure), "%s", err->message);
			t->trace.stop_reason = vr_strdup(err->message);
			vr_error_destroy(err);
		}
	}
	if (failed || skipped) {
		struct vr_error *err = vr_error_create(
			VR_ERR_NOT_PRESENT, "%zu of %zu blocked tasks not traced%s%s", failed + skipped,
			done + skipped, failed ? ": " : "", first_failure);
		vr_error_destroy(orc_err);
		return err;
	}
	if (orc_err)
		return vr_error_wrap(orc_err, "stack traces are guesses");
	return NULL;
}
