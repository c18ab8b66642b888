/* The crash as dump memory shows it, for a dump whose kernel log holds no
 * report of it (the oops happened inside printk, the log was overwritten or
 * lost with a missing page, the report never got out of a per-CPU buffer):
 * the panicking CPU's stack, unwound from memory, still runs through the
 * exception frame the fault left (pt_regs, with the faulting instruction's
 * registers) into the guilty function, or through panic() into its caller.
 *
 * Which exception it was comes from the entry code that saved the frame
 * (asm_exc_page_fault since 5.8, page_fault before; the same for the other
 * traps) or, failing that, from the handlers above it on the stack
 * (exc_page_fault, do_general_protection, handle_bug, ...). For a page
 * fault the address is the faulting instruction's memory operand computed
 * from the saved registers (CR2 itself is not saved), and below PAGE_SIZE
 * it is a NULL pointer dereference, as the kernel's own
 * show_fault_oops() decides. */
#include "analyzer.h"
#include "disasm.h"
#include "oops_memory.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct trap {
	const char *name;
	const char *kind;
	const char *what; /* for the title */
};

/* Entry code (the frame just above the exception frame). */
static const struct trap entries[] = {
	{"asm_exc_page_fault", "page-fault", "page fault"},
	{"page_fault", "page-fault", "page fault"},
	{"async_page_fault", "page-fault", "page fault"},
	{"asm_exc_general_protection", "gpf", "general protection fault"},
	{"general_protection", "gpf", "general protection fault"},
	{"asm_exc_invalid_op", "invalid-opcode", "invalid opcode"},
	{"invalid_op", "invalid-opcode", "invalid opcode"},
	{"asm_exc_divide_error", "divide-error", "divide error"},
	{"divide_error", "divide-error", "divide error"},
	{"asm_exc_double_fault", "double-fault", "double fault"},
	{"double_fault", "double-fault", "double fault"},
};

/* Handlers of the same traps, anywhere above the exception frame. */
static const struct trap handlers[] = {
	{"exc_page_fault", "page-fault", "page fault"},
	{"do_page_fault", "page-fault", "page fault"},
	{"page_fault_oops", "page-fault", "page fault"},
	{"no_context", "page-fault", "page fault"},
	{"exc_general_protection", "gpf", "general protection fault"},
	{"do_general_protection", "gpf", "general protection fault"},
	{"exc_invalid_op", "invalid-opcode", "invalid opcode"},
	{"do_invalid_op", "invalid-opcode", "invalid opcode"},
	{"handle_bug", "invalid-opcode", "invalid opcode"},
	{"exc_divide_error", "divide-error", "divide error"},
	{"do_divide_error", "divide-error", "divide error"},
	{"exc_double_fault", "double-fault", "double fault"},
	{"do_double_fault", "double-fault", "double fault"},
};

static const struct trap *lookup(const struct trap *t, size_t n, const char *sym)
{
	for (size_t i = 0; sym && i < n; i++)
		if (!strcmp(t[i].name, sym))
			return &t[i];
	return NULL;
}

static const struct vr_cpu *panic_cpu(const struct vr_facts *f)
{
	for (size_t i = 0; i < f->n_cpus; i++)
		if (f->cpus[i].panic)
			return &f->cpus[i];
	return NULL;
}

/* The memory operand's address of the instruction at the saved RIP, from
 * the saved registers; false when it has none or it cannot be computed. */
/* The faulting instruction's memory operand: the address it names (*ret)
 * and how it accesses it (*access: "read", "write", or NULL for a
 * read-modify-write, where the log's error code alone would tell which
 * access faulted). */
static bool operand_address(struct vr_kernel *k, const struct vr_regs *r, bool *is_ud2, uint64_t *ret,
			    const char **access)
{
	uint8_t code[16];
	struct vr_insn in;
	*is_ud2 = false;
	uint64_t pc = vr_regs_pc(r);
	if (vr_kernel_absorb(k, vr_kernel_read(k, pc, code, sizeof(code)), VR_ERRS_READ) ||
	    vr_kernel_absorb(k, vr_disasm_one(vr_kernel_arch(k), code, sizeof(code), pc, &in), VR_ERR_FORMAT,
			     VR_ERR_UNSUPPORTED))
		return false;
	*is_ud2 = in.is_trap;
	if (!in.has_mem || in.percpu || (in.base < 0 && in.index < 0))
		return false;
	uint64_t a = (uint64_t)in.disp;
	if (in.pc_relative)
		a += pc + in.size;
	else if (in.base >= 0)
		a += r->r[in.base];
	if (in.index >= 0)
		a += r->r[in.index] * (uint64_t)(in.scale ? in.scale : 1);
	*ret = a;
	*access = in.mem_write && !in.mem_read ? "write" : in.mem_read && !in.mem_write ? "read" : NULL;
	return true;
}

static struct vr_error *set_identity(struct vr_crash *c, const struct vr_cpu *pc)
{
	c->cpu = pc->cpu;
	c->pid = pc->pid;
	if (pc->comm && !(c->comm = vr_strdup(pc->comm)))
		return &vr_error_oom;
	return NULL;
}

/* The exception frame's way: which trap, its registers, the guilty
 * function and its callers. */
static struct vr_error *from_exception(struct vr_kernel *k, const struct vr_cpu *pc, size_t x,
				       struct vr_crash *c, bool *found)
{
	const struct vr_frame *ef = &pc->trace.frames[x];
	const struct trap *t = x ? lookup(entries, sizeof(entries) / sizeof(entries[0]),
					  pc->trace.frames[x - 1].symbol)
				 : NULL;
	for (size_t i = x; !t && i-- > 0;)
		t = lookup(handlers, sizeof(handlers) / sizeof(handlers[0]), pc->trace.frames[i].symbol);
	if (!t)
		return NULL; /* an interrupt, an NMI: no crash of its own */
	*found = true;
	const struct vr_regs *r = ef->regs;
	c->kind = t->kind;
	c->regs = *r;
	struct vr_error *err = vr_frame_copy(ef, &c->ip);
	if (err)
		return err;
	c->ip.address = vr_regs_pc(r);
	c->ip.exception = false;
	free(c->ip.regs);
	c->ip.regs = NULL;
	c->ip_known = true;
	if ((err = vr_trace_copy(&pc->trace, x + 1, &c->trace)) || (err = set_identity(c, pc)))
		return err;
	bool ud2 = false;
	uint64_t addr = 0;
	const char *access = NULL;
	bool have_addr = operand_address(k, r, &ud2, &addr, &access);
	if (!strcmp(t->kind, "page-fault")) {
		/* The error code is not in the saved registers (the entry code
		 * moves it out of orig_ax and sets that to -1): the access is
		 * the faulting instruction's. */
		c->access = have_addr ? access : NULL;
		if (!c->ip.symbol) {
			/* the kernel jumped to an address with no code: the
			 * fetch itself faulted */
			have_addr = true;
			addr = vr_regs_pc(r);
			c->access = "exec";
		}
		if (have_addr) {
			c->fault_address_known = true;
			c->fault_address = addr;
			if (addr < 4096)
				c->kind = "null-deref";
		}
	} else if (!strcmp(t->kind, "invalid-opcode") && ud2) {
		/* The ud2 BUG() and WARN() plant; report_bug() calls __warn()
		 * for a WARN (which panics with panic_on_warn). */
		c->kind = "bug";
		/* __warn, or the part the compiler split off (7.3's __warn.cold) */
		for (size_t i = 0; i < x; i++) {
			const char *sym = pc->trace.frames[i].symbol;
			if (sym && !strncmp(sym, "__warn", 6) && (!sym[6] || sym[6] == '.'))
				c->kind = "warning";
		}
	}
	char *where = vr_frame_name(&c->ip);
	char fault[64] = "";
	if (c->fault_address_known)
		snprintf(fault, sizeof(fault), ", address 0x%016" PRIx64, c->fault_address);
	const char *what = !strcmp(c->kind, "null-deref") ? "NULL pointer dereference"
			   : !strcmp(c->kind, "bug")	  ? "kernel BUG"
			   : !strcmp(c->kind, "warning")  ? "WARNING"
							  : t->what;
	c->title = vr_asprintf("%s in %s%s (from the exception frame in dump memory)", what,
			       where ? where : "an unknown function", fault);
	free(where);
	return c->title ? NULL : &vr_error_oom;
}

/* What a direct caller of panic() says about the crash: the detectors and
 * policies that panic (kernel/hung_task.c's watchdog thread, the soft and
 * hard lockup watchdogs, panic_on_warn, panic_on_oom, panic_on_rcu_stall,
 * sysrq-c). A symbol with a source file must match it too, or (without
 * source lines: no vmlinux) run in the task named comm. */
static const char *panic_caller_kind(const struct vr_frame *f, const char *task)
{
	static const struct {
		const char *sym, *file, *comm, *kind;
	} callers[] = {
		{"watchdog", "kernel/hung_task.c", "khungtaskd", "hung-task"},
		{"check_hung_uninterruptible_tasks", NULL, NULL, "hung-task"},
		{"check_hung_task", NULL, NULL, "hung-task"},
		{"watchdog_timer_fn", NULL, NULL, "soft-lockup"},
		{"watchdog_overflow_callback", NULL, NULL, "hard-lockup"},
		{"watchdog_hardlockup_check", NULL, NULL, "hard-lockup"},
		{"__warn", NULL, NULL, "warning"},
		{"check_panic_on_warn", NULL, NULL, "warning"},
		{"out_of_memory", NULL, NULL, "oom"},
		{"check_panic_on_oom", NULL, NULL, "oom"},
		{"panic_on_rcu_stall", NULL, NULL, "rcu-stall"},
		{"sysrq_handle_crash", NULL, NULL, "sysrq"},
	};
	/* The name without the compiler's ".cold", ".constprop.0", ... */
	size_t n = f->symbol ? strcspn(f->symbol, ".") : 0;
	for (size_t i = 0; n && i < sizeof(callers) / sizeof(callers[0]); i++) {
		if (strlen(callers[i].sym) != n || strncmp(f->symbol, callers[i].sym, n))
			continue;
		if (callers[i].file && (!f->file || !strstr(f->file, callers[i].file)) &&
		    (f->file || !callers[i].comm || !task || strcmp(task, callers[i].comm)))
			continue;
		return callers[i].kind;
	}
	return "panic";
}

/* No exception frame: panic() called straight from its caller. */
static struct vr_error *from_panic_call(const struct vr_cpu *pc, struct vr_crash *c, bool *found)
{
	/* The panic frame may be a "? " guess (the unwind starts in the
	 * kexec path, which panic() reached without a frame of its own that
	 * proves it); its caller is the next frame the unwind proves. */
	size_t i = 0;
	for (; i < pc->trace.n_frames; i++) {
		const char *s = pc->trace.frames[i].symbol;
		if (s && (!strcmp(s, "panic") || !strcmp(s, "vpanic")))
			break;
	}
	size_t k = i + 1;
	while (k < pc->trace.n_frames &&
	       (!pc->trace.frames[k].reliable ||
		(pc->trace.frames[k].symbol && !strcmp(pc->trace.frames[k].symbol, "panic"))))
		k++; /* vpanic() is called by panic() since 6.10: past both */
	if (i >= pc->trace.n_frames || k >= pc->trace.n_frames)
		return NULL;
	*found = true;
	const struct vr_frame *caller = &pc->trace.frames[k];
	c->kind = panic_caller_kind(caller, pc->comm);
	struct vr_error *err = vr_frame_copy(caller, &c->ip);
	if (err)
		return err;
	c->ip_known = true;
	if ((err = vr_trace_copy(&pc->trace, k, &c->trace)) || (err = set_identity(c, pc)))
		return err;
	char *where = vr_frame_name(caller);
	c->title = vr_asprintf("panic called from %s (from the panicking CPU's stack in dump memory)",
			       where ? where : "an unknown function");
	free(where);
	return c->title ? NULL : &vr_error_oom;
}

struct vr_error *vr_oops_from_memory(struct vr_analysis *a, struct vr_crash *out, bool *found)
{
	*found = false;
	if (!a->kernel || !vr_kernel_has_memory(a->kernel))
		return NULL;
	const struct vr_cpu *pc = panic_cpu(a->facts);
	if (!pc || !pc->trace.n_frames)
		return NULL;
	struct vr_crash c;
	vr_crash_init(&c);
	struct vr_error *err = NULL;
	/* The innermost exception frame of kernel code (x86-64: CS ring 0). */
	for (size_t i = 0; i < pc->trace.n_frames && !*found && !err; i++) {
		const struct vr_frame *f = &pc->trace.frames[i];
		if (f->exception && f->regs && f->regs->valid && vr_regs_kernel_mode(f->regs))
			err = from_exception(a->kernel, pc, i, &c, found);
	}
	if (!*found && !err)
		err = from_panic_call(pc, &c, found);
	if (err || !*found) {
		vr_crash_deinit(&c);
		*found = false;
		return err;
	}
	vr_crash_deinit(out);
	*out = c;
	return NULL;
}
