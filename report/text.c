/* Text report for terminals and plain email: the verdict on top, then a
 * summary laid out like crash's `sys`, the crash, pointer and blame
 * evidence, findings, and every CPU's backtrace like `bt -a` (identical
 * idle stacks folded into one line). Colour only when asked (a terminal). */
#include "emit.h"

#include <inttypes.h>
#include <string.h>

struct style {
	const char *bold, *red, *yellow, *dim, *reset;
};

static void field(FILE *out, const char *name, const char *value)
{
	fprintf(out, "%12s: %s\n", name, value ? value : "(unknown)");
}

/* The registers of an exception frame, as crash prints them under
 * "[exception RIP: ...]", in the rows the register set lays out. */
static void print_regs(FILE *out, const struct vr_regs *regs)
{
	const struct vr_regset *rs = regs->set;
	for (int i = 0; rs && i < rs->n_rows; i++) {
		fputs("    ", out);
		for (int j = 0; j < 4 && rs->rows[i][j].reg >= 0; j++) {
			const struct vr_reg_cell *c = &rs->rows[i][j];
			fprintf(out, "%s%s: %0*" PRIx64, j ? "  " : " ", c->label, c->digits, regs->r[c->reg]);
		}
		fputc('\n', out);
	}
}

static void print_frame(FILE *out, size_t i, const struct vr_frame *f, const struct style *st)
{
	char *name = vr_frame_name(f);
	/* Unreliable frames (found by scanning the stack) carry the kernel's
	 * own "? " mark. */
	fprintf(out, " #%-2zu %s%s", i, f->reliable ? "" : "? ", name ? name : "?");
	free(name);
	/* No return address proves it: it tail-called the frame above. */
	if (f->inferred)
		fputs(" (tail call)", out);
	if (f->address)
		fprintf(out, " at %016" PRIx64, f->address);
	if (f->file)
		fprintf(out, "  %s%s:%d%s", st->dim, f->file, f->line, st->reset);
	fputc('\n', out);
	for (size_t j = 0; j < f->n_inlined; j++)
		fprintf(out, "       inlined: %s  %s:%d\n", f->inlined[j].symbol ? f->inlined[j].symbol : "?",
			f->inlined[j].file ? f->inlined[j].file : "?", f->inlined[j].line);
	if (f->exception && f->regs && f->regs->valid && f->regs->set) {
		const char *pc = f->regs->set->names[f->regs->set->pc];
		if (!vr_regs_known(f->regs, f->regs->set->pc)) {
			char *n = vr_frame_name(f);
			fprintf(out, "     [exception %s: %s]\n", pc, n ? n : "?");
			free(n);
		} else {
			fprintf(out, "     [exception %s: %016" PRIx64 "]\n", pc, vr_regs_pc(f->regs));
		}
		print_regs(out, f->regs);
	}
}

static void print_trace(FILE *out, const struct vr_trace *t, const struct style *st)
{
	const char *stack = "task";
	bool from_log = false;
	for (size_t i = 0; i < t->n_frames; i++) {
		const struct vr_frame *f = &t->frames[i];
		/* Frames memory could not give, taken from the log's report. */
		if (f->from_log != from_log) {
			fputs(f->from_log ? "   --- from the kernel log ---\n" : "   --- from memory ---\n", out);
			from_log = f->from_log;
		}
		/* Mark every change of stack, as crash does; a trace that starts
		 * on another stack than the task's says so first. */
		if (f->stack && strcmp(stack, f->stack)) {
			fprintf(out, "   --- <%s stack> ---\n", f->stack);
			stack = f->stack;
		}
		print_frame(out, i, f, st);
	}
	if (t->stop_reason)
		fprintf(out, "   (trace ends: %s)\n", t->stop_reason);
}

/* Two traces with the same functions in the same order. */
static bool same_trace(const struct vr_trace *a, const struct vr_trace *b)
{
	if (a->n_frames != b->n_frames)
		return false;
	for (size_t i = 0; i < a->n_frames; i++) {
		const char *x = a->frames[i].symbol, *y = b->frames[i].symbol;
		if (!x || !y || strcmp(x, y) || a->frames[i].offset != b->frames[i].offset)
			return false;
	}
	return true;
}

static void print_cpus(FILE *out, const struct vr_report *r, const struct style *st)
{
	const struct vr_facts *f = r->facts;
	bool *done = calloc(f->n_cpus ? f->n_cpus : 1, sizeof(bool));
	if (!done)
		return;
	/* The panicking CPU first. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < f->n_cpus; i++) {
			const struct vr_cpu *c = &f->cpus[i];
			if (done[i] || (pass == 0) != c->panic)
				continue;
			done[i] = true;
			bool idle = c->state && !strcmp(c->state, "idle");
			if (idle) {
				/* Fold every other idle CPU with the same stack. */
				char cpus[512];
				int n = snprintf(cpus, sizeof(cpus), "%d", c->cpu);
				for (size_t j = i + 1; j < f->n_cpus; j++) {
					const struct vr_cpu *d = &f->cpus[j];
					if (done[j] || !d->state || strcmp(d->state, "idle") ||
					    !same_trace(&c->trace, &d->trace))
						continue;
					done[j] = true;
					if (n > 0 && (size_t)n < sizeof(cpus))
						n += snprintf(cpus + n, sizeof(cpus) - (size_t)n, ",%d", d->cpu);
				}
				if (strchr(cpus, ',')) {
					fprintf(out, "\nCPUs %s: idle, identical stacks:\n", cpus);
					print_trace(out, &c->trace, st);
					continue;
				}
			}
			char pid[16] = "?", task[20] = "?";
			if (c->pid >= 0)
				snprintf(pid, sizeof(pid), "%d", c->pid);
			if (c->task)
				snprintf(task, sizeof(task), "%016" PRIx64, c->task);
			fprintf(out, "\n%sPID: %-6s TASK: %-16s  CPU: %-3d COMMAND: \"%s\"%s%s\n",
				c->panic ? st->bold : "", pid, task, c->cpu, c->comm ? c->comm : "?",
				c->panic ? "  (panic)" : "", c->panic ? st->reset : "");
			print_trace(out, &c->trace, st);
		}
	}
	free(done);
	/* Without the panicking CPU's own backtrace (a kernel log alone, or
	 * its stack missing from the dump): the report's Call Trace. */
	const struct vr_cpu *pc = vr_report_panic_cpu(r);
	const struct vr_crash *cr = &r->crash;
	if ((!pc || !pc->trace.n_frames) && cr->trace.n_frames) {
		fprintf(out, "\n%sCALL TRACE (from the kernel log)  PID: ", st->bold);
		if (cr->pid >= 0)
			fprintf(out, "%d", cr->pid);
		else
			fputs("?", out);
		fputs("  CPU: ", out);
		if (cr->cpu >= 0)
			fprintf(out, "%d", cr->cpu);
		else
			fputs("?", out);
		fprintf(out, "  COMMAND: \"%s\"%s\n", cr->comm ? cr->comm : "?", st->reset);
		/* The kernel prints where it happened before the Call Trace,
		 * which starts at the caller. */
		if (cr->ip_known) {
			char *name = vr_frame_name(&cr->ip);
			fprintf(out, "     [exception RIP: %s]\n", name ? name : "?");
			free(name);
			if (cr->regs.valid)
				print_regs(out, &cr->regs);
		}
		print_trace(out, &cr->trace, st);
	}
}

/* The summary, as crash's "sys" lays it out. */
static const struct {
	enum vr_summary_field f;
	const char *label;
	bool always; /* printed "(unknown)" when unknown */
} summary_fields[] = {
	{VR_SUM_VMLINUX, "KERNEL", false},   {VR_SUM_DUMP, "DUMPFILE", false},
	{VR_SUM_CPUS, "CPUS", false},        {VR_SUM_TIME, "DATE", false},
	{VR_SUM_UPTIME, "UPTIME", false},    {VR_SUM_LOAD, "LOAD AVERAGE", false},
	{VR_SUM_TASKS, "TASKS", false},      {VR_SUM_HOST, "NODENAME", false},
	{VR_SUM_RELEASE, "RELEASE", true},   {VR_SUM_VERSION, "VERSION", false},
	{VR_SUM_MACHINE, "MACHINE", false},  {VR_SUM_MEMORY, "MEMORY", false},
	{VR_SUM_TAINT, "TAINTED", false},    {VR_SUM_PANIC, "PANIC", false},
	{VR_SUM_TASK, "TASK", false},
};

static struct vr_error *print_summary(FILE *out, const struct vr_report *r)
{
	struct vr_summary sum;
	struct vr_error *err = vr_report_summary(r, &sum);
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(summary_fields) / sizeof(summary_fields[0]); i++) {
		const char *v = sum.v[summary_fields[i].f];
		if (!v && !summary_fields[i].always)
			continue;
		if (v && summary_fields[i].f == VR_SUM_PANIC)
			fprintf(out, "%12s: \"%s\"\n", summary_fields[i].label, v);
		else
			field(out, summary_fields[i].label, v);
	}
	vr_summary_deinit(&sum);
	return NULL;
}

static void print_analysis(FILE *out, const struct vr_report *r, const struct style *st)
{
	const struct vr_crash *c = &r->crash;
	fprintf(out, "\n%sCRASH%s\n", st->bold, st->reset);
	fprintf(out, "  kind:      %s (%s)\n", c->kind, vr_kind_words(c->kind));
	if (c->title)
		fprintf(out, "  title:     %s\n", c->title);
	if (c->ip_known) {
		char *n = vr_frame_name(&c->ip);
		fprintf(out, "  ip:        %s", n ? n : "?");
		if (c->ip.file)
			fprintf(out, "  %s:%d", c->ip.file, c->ip.line);
		fputc('\n', out);
		free(n);
	}
	if (c->fault_address_known)
		fprintf(out, "  fault:     0x%016" PRIx64 "%s%s\n", c->fault_address, c->access ? " " : "",
			c->access ? c->access : "");
	if (c->bug_file)
		fprintf(out, "  at:        %s:%d\n", c->bug_file, c->bug_line);
	if (c->n_secondary)
		fprintf(out, "  later reports: %zu (first: %s)\n", c->n_secondary, c->secondary[0]);
	const struct vr_pointer *p = &r->pointer;
	if (p->n_disassembly) {
		fputs("  disassembly:\n", out);
		for (size_t i = 0; i < p->n_disassembly; i++)
			fprintf(out, "    %s\n", p->disassembly[i]);
	}
	if (p->code_matches == 0)
		fprintf(out, "  %sCode: bytes in the log differ from the code in memory%s\n", st->red, st->reset);

	if (p->class) {
		fprintf(out, "\n%sPOINTER%s\n  class:     %s\n", st->bold, st->reset, p->class);
		if (p->explanation)
			fprintf(out, "  %s\n", p->explanation);
	}
	const struct vr_blame *b = &r->blame;
	if (b->culprit) {
		fprintf(out, "\n%sBLAME%s\n  culprit:   %s%s%s (%s confidence)\n", st->bold, st->reset,
			b->culprit, b->module ? " " : "", b->module ? b->module : "",
			b->confidence ? b->confidence : "low");
		if (b->function)
			fprintf(out, "  function:  %s%s%s%s\n", b->function, b->file ? "  " : "",
				b->file ? b->file : "", "");
		for (size_t i = 0; i < b->n_reasons; i++)
			fprintf(out, "  - %s\n", b->reasons[i]);
	}
	const struct vr_hang *h = &r->hang;
	if (h->kind) {
		fprintf(out, "\n%sHANG%s (%s)\n", st->bold, st->reset, h->kind);
		if (h->stuck_cpu >= 0)
			fprintf(out, "  stuck CPU %d in %s\n", h->stuck_cpu, h->stuck_function ? h->stuck_function : "?");
		for (size_t i = 0; i < h->n_waiters; i++) {
			const struct vr_waiter *w = &h->waiters[i];
			fprintf(out, "  %d (%s) waits on %s", w->pid, w->comm ? w->comm : "?",
				w->waits_on ? w->waits_on : "?");
			if (w->owner_pid >= 0)
				fprintf(out, ", held by %d (%s)", w->owner_pid, w->owner_comm ? w->owner_comm : "?");
			fputc('\n', out);
		}
	}
	if (r->n_findings) {
		fprintf(out, "\n%sFINDINGS%s\n", st->bold, st->reset);
		for (size_t i = 0; i < r->n_findings; i++) {
			const struct vr_finding *f = &r->findings[i];
			fprintf(out, "  [%s] %s (%s)\n", f->severity, f->title, f->rule);
			if (f->advice)
				fprintf(out, "      advice: %s\n", f->advice);
			for (size_t j = 0; j < f->n_evidence; j++)
				fprintf(out, "      - %s\n", f->evidence[j]);
		}
	}
	if (r->signature.id)
		fprintf(out, "\n  signature: %s\n", r->signature.id);
}

static void print_rest(FILE *out, const struct vr_report *r, const struct style *st)
{
	const struct vr_facts *f = r->facts;
	bool any = false;
	for (size_t i = 0; i < f->n_tasks; i++) {
		const struct vr_task *t = &f->tasks[i];
		if (t->state != 'D')
			continue;
		if (!any)
			fprintf(out, "\n%sBLOCKED TASKS%s\n", st->bold, st->reset);
		any = true;
		if (t->from_log)
			fprintf(out, "\nPID: %-6d COMMAND: \"%s\"", t->pid, t->comm);
		else
			fprintf(out, "\nPID: %-6d TASK: %016" PRIx64 "  CPU: %-3d COMMAND: \"%s\"", t->pid,
				t->task, t->cpu, t->comm);
		if (t->blocked_s >= 0)
			fprintf(out, "  blocked %.1f s", t->blocked_s);
		if (t->from_log)
			fputs("  (from the kernel log)", out);
		fputc('\n', out);
		print_trace(out, &t->trace, st);
	}
	if (f->n_modules) {
		fprintf(out, "\n%sMODULES%s\n", st->bold, st->reset);
		for (size_t i = 0; i < f->n_modules; i++) {
			const struct vr_module *m = &f->modules[i];
			fprintf(out, "  %016" PRIx64 " %-24s %8" PRIu64 " %-8s %s%s\n", m->base, m->name ? m->name : "?",
				m->size, m->state ? m->state : "?", m->taints ? m->taints : "",
				m->unlisted ? "  (not on the module list)" : "");
		}
	}
	bool hdr = false;
	for (size_t i = 0; r->diag && i < r->diag->n_steps; i++) {
		const struct vr_step *s = &r->diag->steps[i];
		if (!s->covered)
			continue;
		if (!hdr)
			fprintf(out, "\n%sCHECKS%s\n", st->bold, st->reset);
		hdr = true;
		fprintf(out, "  %s: %s: %s%s%s\n", s->name, s->status, s->covered, s->reason ? "; " : "",
			s->reason ? s->reason : "");
	}
	hdr = false;
	for (size_t i = 0; r->diag && i < r->diag->n_steps; i++) {
		const struct vr_step *s = &r->diag->steps[i];
		/* Skipped steps did not apply; the JSON lists them all. */
		if (!strcmp(s->status, "ok") || !strcmp(s->status, "skipped"))
			continue;
		if (!hdr)
			fprintf(out, "\n%sNOT ESTABLISHED%s\n", st->bold, st->reset);
		hdr = true;
		fprintf(out, "  %s: %s%s%s\n", s->name, s->status, s->reason ? ": " : "", s->reason ? s->reason : "");
	}
	if (r->diag && r->diag->n_warnings) {
		fprintf(out, "\n%sWARNINGS%s\n", st->yellow, st->reset);
		for (size_t i = 0; i < r->diag->n_warnings; i++)
			fprintf(out, "  %s\n", r->diag->warnings[i]);
	}
}

struct vr_error *vr_emit_text(const struct vr_report *r, const struct vr_emit_options *o, FILE *out)
{
	static const struct style plain = {"", "", "", "", ""};
	static const struct style color = {"\033[1m", "\033[1;31m", "\033[33m", "\033[2m", "\033[0m"};
	const struct style *st = o->color ? &color : &plain;
	char *verdict = vr_report_verdict(r);
	fprintf(out, "%sVERDICT: %s%s\n\n", st->red, verdict ? verdict : "?", st->reset);
	free(verdict);
	struct vr_error *err = print_summary(out, r);
	if (err)
		return err;
	print_analysis(out, r, st);
	print_cpus(out, r, st);
	print_rest(out, r, st);
	return NULL;
}
