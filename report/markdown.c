/* Markdown for tickets (GitHub, GitLab, Jira-style viewers): a one-line
 * verdict, a summary table, the panicking CPU's trace, the evidence behind
 * blame and pointer class, findings with advice, then the details in
 * collapsible <details> sections. Long parts are cut with a note saying
 * how much was left out, never silently. */
#include "emit.h"
#include "../engine/log.h"

#include <inttypes.h>
#include <string.h>

#define MAX_FRAMES 64
#define MAX_LOG_LINES 120
#define MAX_MODULES 200

/* Text in a table cell or a paragraph: escape what Markdown would eat. */
static void md_text(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (strchr("\\`*_[]<>|#", *s))
			fputc('\\', out);
		if (*s == '\n')
			fputs("<br>", out);
		else
			fputc(*s, out);
	}
}

/* Inline code: choose a fence longer than any backtick run inside. */
static void md_code(FILE *out, const char *s)
{
	size_t run = 0, max = 0;
	for (const char *p = s; p && *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > max)
			max = run;
	}
	for (size_t i = 0; i <= max; i++)
		fputc('`', out);
	fputc(' ', out);
	for (const char *p = s; p && *p; p++)
		fputc(*p == '|' ? '/' : (*p == '\n' ? ' ' : *p), out);
	fputc(' ', out);
	for (size_t i = 0; i <= max; i++)
		fputc('`', out);
}

/* A fenced block: lines must not close it early, so ``` inside is broken. */
static void block_line(FILE *out, const char *s)
{
	for (const char *p = s; p && *p; p++) {
		if (p[0] == '`' && p[1] == '`' && p[2] == '`') {
			fputs("`\u200b``", out);
			p += 2;
			continue;
		}
		fputc(*p, out);
	}
	fputc('\n', out);
}

static void trace_block(FILE *out, const struct vr_trace *t)
{
	fputs("```\n", out);
	size_t n = t->n_frames < MAX_FRAMES ? t->n_frames : MAX_FRAMES;
	bool from_log = false;
	for (size_t i = 0; i < n; i++) {
		const struct vr_frame *f = &t->frames[i];
		char *name = vr_frame_name(f);
		char line[1024];
		if (f->from_log != from_log) {
			block_line(out, f->from_log ? "--- from the kernel log ---" : "--- from memory ---");
			from_log = f->from_log;
		}
		const char *tail = f->inferred ? " (tail call)" : "";
		if (f->file)
			snprintf(line, sizeof(line), " #%-2zu %s%s%s  %s:%d", i, f->reliable ? "" : "? ",
				 name ? name : "?", tail, f->file, f->line);
		else
			snprintf(line, sizeof(line), " #%-2zu %s%s%s", i, f->reliable ? "" : "? ",
				 name ? name : "?", tail);
		free(name);
		block_line(out, line);
		const struct vr_regset *rs = f->regs ? f->regs->set : NULL;
		if (f->exception && rs && f->regs->valid && vr_regs_known(f->regs, rs->pc)) {
			snprintf(line, sizeof(line), "     [exception %s: %016" PRIx64 "  %s: %016" PRIx64 "]",
				 rs->names[rs->pc], vr_regs_pc(f->regs), rs->names[rs->sp], vr_regs_sp(f->regs));
			block_line(out, line);
		} else if (f->exception && rs && f->regs->valid) {
			snprintf(line, sizeof(line), "     [exception %s: %016" PRIx64 "]", rs->names[rs->sp],
				 vr_regs_sp(f->regs));
			block_line(out, line);
		}
	}
	if (t->n_frames > n)
		fprintf(out, "... %zu more frames not shown\n", t->n_frames - n);
	if (t->stop_reason) {
		fputs("(trace ends: ", out);
		fputs(t->stop_reason, out);
		fputs(")\n", out);
	}
	fputs("```\n", out);
}

static void row(FILE *out, const char *k, const char *v)
{
	fprintf(out, "| %s | ", k);
	if (v)
		md_text(out, v);
	else
		fputs("*unknown*", out);
	fputs(" |\n", out);
}

static const struct {
	enum vr_summary_field f;
	const char *label;
	bool always; /* a row "*unknown*" when unknown */
} summary_rows[] = {
	{VR_SUM_CRASH, "Crash", true},          {VR_SUM_TITLE, "Title", false},
	{VR_SUM_RELEASE, "Kernel", true},       {VR_SUM_HOST, "Host", false},
	{VR_SUM_TASK, "Panicking task", false}, {VR_SUM_CULPRIT, "Culprit", false},
	{VR_SUM_POINTER, "Bad pointer", false}, {VR_SUM_TAINT, "Taint", false},
	{VR_SUM_TIME, "Crash time", false},     {VR_SUM_UPTIME, "Uptime", false},
	{VR_SUM_DUMP, "Dump", false},           {VR_SUM_VMLINUX, "vmlinux", false},
	{VR_SUM_SIGNATURE, "Signature", false},
};

static struct vr_error *summary_table(FILE *out, const struct vr_report *r)
{
	struct vr_summary sum;
	struct vr_error *err = vr_report_summary(r, &sum);
	if (err)
		return err;
	fputs("| | |\n|---|---|\n", out);
	for (size_t i = 0; i < sizeof(summary_rows) / sizeof(summary_rows[0]); i++)
		if (sum.v[summary_rows[i].f] || summary_rows[i].always)
			row(out, summary_rows[i].label, sum.v[summary_rows[i].f]);
	vr_summary_deinit(&sum);
	return NULL;
}

static void evidence(FILE *out, const struct vr_report *r)
{
	const struct vr_blame *b = &r->blame;
	const struct vr_pointer *p = &r->pointer;
	const struct vr_crash *c = &r->crash;
	if (!b->n_reasons && !p->class && !c->ip_known && !p->n_disassembly)
		return;
	fputs("\n## Evidence\n\n", out);
	if (c->ip_known) {
		char *n = vr_frame_name(&c->ip);
		fputs("- Faulting instruction in ", out);
		md_code(out, n ? n : "?");
		free(n);
		if (c->ip.file) {
			fputs(" at ", out);
			char loc[512];
			snprintf(loc, sizeof(loc), "%s:%d", c->ip.file, c->ip.line);
			md_code(out, loc);
		}
		fputc('\n', out);
	}
	if (c->fault_address_known)
		fprintf(out, "- Fault address `0x%016" PRIx64 "`%s%s\n", c->fault_address,
			c->access ? ", " : "", c->access ? c->access : "");
	for (size_t i = 0; i < b->n_reasons; i++) {
		fputs("- ", out);
		md_text(out, b->reasons[i]);
		fputc('\n', out);
	}
	if (p->explanation) {
		fputs("- Pointer: ", out);
		md_text(out, p->explanation);
		fputc('\n', out);
	}
	if (p->code_matches == 0)
		fputs("- **The `Code:` bytes in the log differ from the code in memory** (memory corruption?)\n", out);
	if (p->n_disassembly) {
		fputs("\n```\n", out);
		for (size_t i = 0; i < p->n_disassembly; i++)
			block_line(out, p->disassembly[i]);
		fputs("```\n", out);
	}
}

static void findings(FILE *out, const struct vr_report *r)
{
	if (!r->n_findings)
		return;
	fputs("\n## Findings\n\n", out);
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct vr_finding *f = &r->findings[i];
		fprintf(out, "- **%s**: ", f->severity);
		md_text(out, f->title);
		fputs(" (", out);
		md_code(out, f->rule);
		fputs(")\n", out);
		if (f->advice) {
			fputs("  - Advice: ", out);
			md_text(out, f->advice);
			fputc('\n', out);
		}
		for (size_t j = 0; j < f->n_evidence; j++) {
			fputs("  - ", out);
			md_text(out, f->evidence[j]);
			fputc('\n', out);
		}
	}
}

static void details_open(FILE *out, const char *summary)
{
	fprintf(out, "\n<details>\n<summary>%s</summary>\n\n", summary);
}

static void details_close(FILE *out)
{
	fputs("\n</details>\n", out);
}

static void details(FILE *out, const struct vr_report *r)
{
	const struct vr_facts *f = r->facts;
	char buf[256];
	if (f->n_cpus) {
		snprintf(buf, sizeof(buf), "All CPUs (%zu)", f->n_cpus);
		details_open(out, buf);
		for (size_t i = 0; i < f->n_cpus; i++) {
			const struct vr_cpu *c = &f->cpus[i];
			if (c->pid >= 0)
				fprintf(out, "**CPU %d**: PID %d, ", c->cpu, c->pid);
			else
				fprintf(out, "**CPU %d**: PID ?, ", c->cpu);
			md_code(out, c->comm ? c->comm : "?");
			fprintf(out, "%s%s\n\n", c->state ? ", " : "", c->state ? c->state : "");
			trace_block(out, &c->trace);
			fputc('\n', out);
		}
		details_close(out);
	}
	size_t blocked = 0;
	for (size_t i = 0; i < f->n_tasks; i++)
		blocked += f->tasks[i].state == 'D';
	if (blocked) {
		snprintf(buf, sizeof(buf), "Blocked tasks (%zu)", blocked);
		details_open(out, buf);
		for (size_t i = 0; i < f->n_tasks; i++) {
			const struct vr_task *t = &f->tasks[i];
			if (t->state != 'D')
				continue;
			fprintf(out, "**PID %d** ", t->pid);
			md_code(out, t->comm);
			if (t->blocked_s >= 0)
				fprintf(out, ", blocked %.1f s", t->blocked_s);
			if (t->from_log)
				fputs(" (from the kernel log)", out);
			fputs("\n\n", out);
			trace_block(out, &t->trace);
			fputc('\n', out);
		}
		details_close(out);
	}
	if (f->n_modules) {
		snprintf(buf, sizeof(buf), "Modules (%zu)", f->n_modules);
		details_open(out, buf);
		fputs("| Name | Base | Size | State | Taints |\n|---|---|---|---|---|\n", out);
		size_t n = f->n_modules < MAX_MODULES ? f->n_modules : MAX_MODULES;
		for (size_t i = 0; i < n; i++) {
			const struct vr_module *m = &f->modules[i];
			fputs("| ", out);
			md_text(out, m->name ? m->name : "?");
			fprintf(out, " | `0x%016" PRIx64 "` | %" PRIu64 " | %s%s | %s |\n", m->base, m->size,
				m->state ? m->state : "?", m->unlisted ? ", not on the module list" : "",
				m->taints ? m->taints : "");
		}
		if (f->n_modules > n)
			fprintf(out, "\n%zu more modules not shown.\n", f->n_modules - n);
		details_close(out);
	}
	if (f->log.n_records) {
		/* The log around the crash: up to the crash report's end, the
		 * last MAX_LOG_LINES records before it. */
		size_t end = f->log.n_records;
		if (r->crash.log_last_line && r->crash.log_last_line < end)
			end = r->crash.log_last_line + 1;
		size_t start = end > MAX_LOG_LINES ? end - MAX_LOG_LINES : 0;
		snprintf(buf, sizeof(buf), "Kernel log around the crash (records %zu-%zu of %zu)", start + 1, end,
			 f->log.n_records);
		details_open(out, buf);
		if (start)
			fprintf(out, "%zu earlier records not shown.\n\n", start);
		fputs("```\n", out);
		for (size_t i = start; i < end; i++) {
			char *line = vr_log_record_line(&f->log.records[i]);
			block_line(out, line ? line : "");
			free(line);
		}
		fputs("```\n", out);
		if (end < f->log.n_records)
			fprintf(out, "\n%zu later records not shown.\n", f->log.n_records - end);
		details_close(out);
	}
	bool hdr = false;
	for (size_t i = 0; r->diag && i < r->diag->n_steps; i++) {
		const struct vr_step *s = &r->diag->steps[i];
		if (!s->covered)
			continue;
		if (!hdr)
			details_open(out, "Checks");
		hdr = true;
		fprintf(out, "- %s: **%s**: ", s->name, s->status);
		md_text(out, s->covered);
		if (s->reason) {
			fputs("; ", out);
			md_text(out, s->reason);
		}
		fputc('\n', out);
	}
	if (hdr)
		details_close(out);
	hdr = false;
	for (size_t i = 0; r->diag && i < r->diag->n_steps; i++) {
		const struct vr_step *s = &r->diag->steps[i];
		if (!strcmp(s->status, "ok") || !strcmp(s->status, "skipped"))
			continue;
		if (!hdr)
			details_open(out, "What could not be established");
		hdr = true;
		fprintf(out, "- %s: **%s**", s->name, s->status);
		if (s->reason) {
			fputs(": ", out);
			md_text(out, s->reason);
		}
		fputc('\n', out);
	}
	if (hdr)
		details_close(out);
	if (r->diag && r->diag->n_warnings) {
		fputs("\n## Warnings\n\n", out);
		for (size_t i = 0; i < r->diag->n_warnings; i++) {
			fputs("- ", out);
			md_text(out, r->diag->warnings[i]);
			fputc('\n', out);
		}
	}
}

struct vr_error *vr_emit_markdown(const struct vr_report *r, const struct vr_emit_options *o, FILE *out)
{
	char *verdict = vr_report_verdict(r);
	fputs("# ", out);
	md_text(out, verdict ? verdict : "?");
	fputs("\n\n", out);
	free(verdict);
	struct vr_error *err = summary_table(out, r);
	if (err)
		return err;
	const struct vr_cpu *pc = vr_report_panic_cpu(r);
	if (pc && pc->trace.n_frames) {
		fprintf(out, "\n## Panicking CPU %d: PID %d ", pc->cpu, pc->pid);
		md_code(out, pc->comm ? pc->comm : "?");
		fputs("\n\n", out);
		trace_block(out, &pc->trace);
	} else if (r->crash.trace.n_frames) {
		fputs("\n## Call trace (from the kernel log)\n\n", out);
		trace_block(out, &r->crash.trace);
	}
	evidence(out, r);
	findings(out, r);
	details(out, r);
	fprintf(out, "\n---\n*vmreport %s, report schema %s*\n", r->tool_version ? r->tool_version : "",
		VR_SCHEMA_VERSION);
	return NULL;
}
