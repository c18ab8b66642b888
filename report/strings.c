/* Every string of a report, once: the model's own and the facts' it
 * prints. The redaction (redact.c) and the UTF-8 pass below both walk the
 * report through vr_report_visit_strings(), so a field added to the model
 * is covered by adding it here, once. */
#define _GNU_SOURCE
#include "model.h"
#include "../engine/strings.h"

#include <stdio.h>
#include <string.h>

static void visit_v(char **v, size_t n, vr_string_fn fn, void *ctx)
{
	for (size_t i = 0; v && i < n; i++)
		fn(&v[i], ctx);
}

static void visit_frame(struct vr_frame *f, vr_string_fn fn, void *ctx)
{
	fn(&f->symbol, ctx);
	fn(&f->module, ctx);
	fn(&f->file, ctx);
	fn(&f->stack, ctx);
	for (size_t i = 0; i < f->n_inlined; i++) {
		fn(&f->inlined[i].symbol, ctx);
		fn(&f->inlined[i].file, ctx);
	}
}

static void visit_trace(struct vr_trace *t, vr_string_fn fn, void *ctx)
{
	for (size_t i = 0; i < t->n_frames; i++)
		visit_frame(&t->frames[i], fn, ctx);
	fn(&t->stop_reason, ctx);
}

static void visit_facts(struct vr_facts *f, vr_string_fn fn, vr_buffer_fn bfn, void *ctx)
{
	struct vr_system *s = &f->system;
	fn(&s->release, ctx);
	fn(&s->version, ctx);
	fn(&s->machine, ctx);
	fn(&s->nodename, ctx);
	fn(&s->taint_letters, ctx);
	fn(&f->panic.message, ctx);
	fn(&f->panic.comm, ctx);
	visit_v(f->panic.sources, f->panic.n_sources, fn, ctx);
	for (size_t i = 0; i < f->n_cpus; i++) {
		fn(&f->cpus[i].comm, ctx);
		fn(&f->cpus[i].state, ctx);
		visit_trace(&f->cpus[i].trace, fn, ctx);
	}
	for (size_t i = 0; i < f->n_tasks; i++) {
		if (bfn)
			bfn(f->tasks[i].comm, sizeof(f->tasks[i].comm), ctx);
		visit_trace(&f->tasks[i].trace, fn, ctx);
	}
	for (size_t i = 0; i < f->n_modules; i++) {
		struct vr_module *m = &f->modules[i];
		fn(&m->name, ctx);
		fn(&m->state, ctx);
		fn(&m->taints, ctx);
		fn(&m->version, ctx);
		fn(&m->srcversion, ctx);
	}
	for (size_t i = 0; i < f->log.n_records; i++)
		fn(&f->log.records[i].text, ctx);
	fn(&f->log.source, ctx);
	fn(&f->text, ctx);
	f->text_len = f->text ? strlen(f->text) : 0;
}

void vr_report_visit_strings(struct vr_report *r, vr_string_fn fn, vr_buffer_fn bfn, void *ctx)
{
	if (r->input) {
		fn(&r->input->path, ctx);
		fn(&r->input->vmlinux_path, ctx);
		fn(&r->input->vmlinux_build_id, ctx);
		visit_v(r->input->vmlinux_evidence, r->input->n_vmlinux_evidence, fn, ctx);
	}
	if (r->facts)
		visit_facts(r->facts, fn, bfn, ctx);
	struct vr_crash *c = &r->crash;
	fn(&c->title, ctx);
	visit_frame(&c->ip, fn, ctx);
	fn(&c->code, ctx);
	visit_trace(&c->trace, fn, ctx);
	for (size_t i = 0; i < c->n_traces; i++) {
		fn(&c->traces[i].label, ctx);
		fn(&c->traces[i].comm, ctx);
		visit_trace(&c->traces[i].trace, fn, ctx);
	}
	fn(&c->bug_file, ctx);
	fn(&c->cpu_line, ctx);
	fn(&c->comm, ctx);
	fn(&c->taint, ctx);
	fn(&c->hardware, ctx);
	visit_v(c->modules_linked, c->n_modules_linked, fn, ctx);
	visit_v(c->secondary, c->n_secondary, fn, ctx);
	struct vr_pointer *p = &r->pointer;
	fn(&p->reg, ctx);
	fn(&p->member, ctx);
	fn(&p->explanation, ctx);
	visit_v(p->disassembly, p->n_disassembly, fn, ctx);
	fn(&p->instruction, ctx);
	struct vr_blame *b = &r->blame;
	fn(&b->module, ctx);
	fn(&b->function, ctx);
	fn(&b->file, ctx);
	visit_v(b->reasons, b->n_reasons, fn, ctx);
	for (size_t i = 0; i < r->n_findings; i++) {
		fn(&r->findings[i].rule, ctx);
		fn(&r->findings[i].title, ctx);
		fn(&r->findings[i].advice, ctx);
		visit_v(r->findings[i].evidence, r->findings[i].n_evidence, fn, ctx);
	}
	fn(&r->signature.id, ctx);
	visit_v(r->signature.frames, r->signature.n_frames, fn, ctx);
	for (size_t i = 0; i < r->hang.n_waiters; i++) {
		fn(&r->hang.waiters[i].comm, ctx);
		fn(&r->hang.waiters[i].waits_on, ctx);
		fn(&r->hang.waiters[i].owner_comm, ctx);
	}
	fn(&r->hang.stuck_function, ctx);
	if (r->diag) {
		visit_v(r->diag->warnings, r->diag->n_warnings, fn, ctx);
		for (size_t i = 0; i < r->diag->n_steps; i++) {
			fn(&r->diag->steps[i].name, ctx);
			fn(&r->diag->steps[i].reason, ctx);
			fn(&r->diag->steps[i].covered, ctx);
		}
	}
}

/* ---- valid UTF-8 ---- */

/* A byte the outputs must not carry as it is: the start of an invalid
 * UTF-8 sequence, or a control character other than tab and newline (an
 * escape sequence from a hostile dump would reach a terminal). */
static bool needs_escape(const unsigned char *s, size_t *ret_len)
{
	if (*s < 0x20 && *s != '\t' && *s != '\n') {
		*ret_len = 1;
		return true;
	}
	if (*s == 0x7f) {
		*ret_len = 1;
		return true;
	}
	*ret_len = vr_utf8_len(s, 4); /* s is NUL-terminated: a NUL ends any sequence */
	if (!*ret_len) {
		*ret_len = 1;
		return true;
	}
	return false;
}

char *vr_utf8_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t extra = 0, len;
	for (const unsigned char *q = p; *q; q += len)
		if (needs_escape(q, &len))
			extra += 3;
	if (!extra)
		return NULL;
	char *out = malloc(strlen(s) + extra + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *q = p; *q; q += len) {
		if (needs_escape(q, &len)) {
			o += sprintf(o, "\\x%02x", *q);
		} else {
			memcpy(o, q, len);
			o += len;
		}
	}
	*o = '\0';
	return out;
}

static void clean_string(char **s, void *ctx)
{
	bool *oom = ctx;
	if (!*s)
		return;
	char *c = vr_utf8_clean(*s);
	if (c) {
		free(*s);
		*s = c;
	} else {
		size_t len;
		for (const unsigned char *q = (const unsigned char *)*s; *q; q += len)
			if (needs_escape(q, &len)) {
				*oom = true; /* it needed cleaning, and the copy failed */
				break;
			}
	}
}

static void clean_buffer(char *buf, size_t cap, void *ctx)
{
	(void)ctx;
	/* A fixed buffer (a task's comm) cannot grow: '?' stands for each
	 * byte that cannot be written. */
	size_t len;
	for (unsigned char *q = (unsigned char *)buf; *q && q < (unsigned char *)buf + cap; q += len)
		if (needs_escape(q, &len))
			*q = '?';
}

struct vr_error *vr_report_clean_strings(struct vr_report *r)
{
	bool oom = false;
	vr_report_visit_strings(r, clean_string, clean_buffer, &oom);
	return oom ? &vr_error_oom : NULL;
}
