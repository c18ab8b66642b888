/* JSON report, schema 1 (the contract). Keys are added in the contract's
 * order so the output is stable; addresses are "0x..." strings since JSON
 * numbers cannot hold 64-bit values; an unknown fact is null. */
#include "emit.h"
#include "../engine/log.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Every add goes through these so that a failed allocation is seen once at
 * the end (cJSON returns NULL and we keep going; the final print fails). */
static void add_str(cJSON *o, const char *k, const char *v)
{
	cJSON_AddItemToObject(o, k, v ? cJSON_CreateString(v) : cJSON_CreateNull());
}

static void add_addr(cJSON *o, const char *k, bool known, uint64_t v)
{
	char buf[24];
	if (!known) {
		cJSON_AddItemToObject(o, k, cJSON_CreateNull());
		return;
	}
	snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
	cJSON_AddItemToObject(o, k, cJSON_CreateString(buf));
}

static void add_int(cJSON *o, const char *k, bool known, double v)
{
	cJSON_AddItemToObject(o, k, known ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

static void add_bool(cJSON *o, const char *k, bool v)
{
	cJSON_AddItemToObject(o, k, cJSON_CreateBool(v));
}

static cJSON *str_array(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i] ? v[i] : ""));
	return a;
}

static cJSON *regs_json(const struct vr_regs *r)
{
	if (!r || !r->valid)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	const struct vr_regset *rs = r->set;
	for (int i = 0; rs && i < rs->n; i++)
		if ((rs->report >> i & 1) && vr_regs_known(r, i))
			add_addr(o, rs->names[i], true, r->r[i]);
	return o;
}

static cJSON *frame_json(const struct vr_frame *f)
{
	cJSON *o = cJSON_CreateObject();
	add_addr(o, "address", f->address != 0, f->address);
	add_str(o, "symbol", f->symbol);
	add_int(o, "offset", f->symbol != NULL, (double)f->offset);
	add_int(o, "size", f->size != 0, (double)f->size);
	add_str(o, "module", f->module);
	add_str(o, "file", f->file);
	add_int(o, "line", f->line > 0, f->line);
	cJSON *in = cJSON_CreateArray();
	for (size_t i = 0; i < f->n_inlined; i++) {
		cJSON *e = cJSON_CreateObject();
		add_str(e, "symbol", f->inlined[i].symbol);
		add_str(e, "file", f->inlined[i].file);
		add_int(e, "line", f->inlined[i].line > 0, f->inlined[i].line);
		cJSON_AddItemToArray(in, e);
	}
	cJSON_AddItemToObject(o, "inlined", in);
	add_bool(o, "reliable", f->reliable);
	add_bool(o, "exception", f->exception);
	add_str(o, "source", f->from_log ? "log" : "memory");
	add_bool(o, "inferred", f->inferred);
	add_str(o, "stack", f->stack);
	if (f->exception)
		cJSON_AddItemToObject(o, "registers", regs_json(f->regs));
	return o;
}

static cJSON *trace_json(const struct vr_trace *t)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < t->n_frames; i++)
		cJSON_AddItemToArray(a, frame_json(&t->frames[i]));
	return a;
}

static cJSON *input_json(const struct vr_report *r)
{
	const struct vr_input_info *in = r->input;
	cJSON *o = cJSON_CreateObject();
	add_str(o, "path", in ? in->path : NULL);
	add_str(o, "form", in ? in->form : NULL);
	add_str(o, "compression", in ? in->compression : NULL);
	add_int(o, "dump_level", in && in->dump_level >= 0, in ? in->dump_level : 0);
	add_bool(o, "partial", in && in->partial);
	add_bool(o, "incomplete", in && in->incomplete);
	add_int(o, "size_bytes", in != NULL, in ? (double)in->size_bytes : 0);
	bool pages = in && in->pages_total;
	add_int(o, "pages_total", pages, pages ? (double)in->pages_total : 0);
	add_int(o, "pages_present", pages, pages ? (double)in->pages_present : 0);
	add_int(o, "memory_share", pages,
		pages ? round(1000.0 * (double)in->pages_present / (double)in->pages_total) / 1000.0 : 0);
	cJSON *v = cJSON_CreateObject();
	add_str(v, "path", in ? in->vmlinux_path : NULL);
	add_str(v, "build_id", in ? in->vmlinux_build_id : NULL);
	add_str(v, "match", in && in->vmlinux_match ? in->vmlinux_match : "unknown");
	cJSON_AddItemToObject(v, "evidence", in ? str_array(in->vmlinux_evidence, in->n_vmlinux_evidence)
						 : cJSON_CreateArray());
	cJSON_AddItemToObject(o, "vmlinux", v);
	return o;
}

static cJSON *system_json(const struct vr_system *s)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "release", s->release);
	add_str(o, "version", s->version);
	add_str(o, "machine", s->machine);
	add_str(o, "nodename", s->nodename);
	add_int(o, "cpus", s->cpus > 0, s->cpus);
	add_int(o, "cpus_online", s->cpus_online > 0, s->cpus_online);
	add_int(o, "memory_bytes", s->memory_bytes != 0, (double)s->memory_bytes);
	add_int(o, "uptime_s", s->uptime_s >= 0, s->uptime_s);
	if (s->crash_time >= 0) {
		char buf[40];
		vr_format_time(s->crash_time, buf, sizeof(buf));
		add_str(o, "crash_time", buf);
	} else {
		add_str(o, "crash_time", NULL);
	}
	if (s->load_known) {
		cJSON *la = cJSON_CreateArray();
		for (int i = 0; i < 3; i++)
			cJSON_AddItemToArray(la, cJSON_CreateNumber(round(s->load_average[i] * 100) / 100));
		cJSON_AddItemToObject(o, "load_average", la);
	} else {
		cJSON_AddItemToObject(o, "load_average", cJSON_CreateNull());
	}
	add_int(o, "tasks", s->tasks >= 0, (double)s->tasks);
	if (s->taint_known) {
		cJSON *t = cJSON_CreateObject();
		add_int(t, "mask", true, (double)s->taint_mask);
		add_str(t, "letters", s->taint_letters);
		cJSON_AddItemToObject(o, "taint", t);
	} else {
		cJSON_AddItemToObject(o, "taint", cJSON_CreateNull());
	}
	return o;
}

static cJSON *panic_json(const struct vr_panic *p)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "message", p->message);
	add_int(o, "cpu", p->cpu >= 0, p->cpu);
	add_int(o, "pid", p->pid >= 0, p->pid);
	add_str(o, "comm", p->comm);
	add_addr(o, "task", p->task != 0, p->task);
	cJSON_AddItemToObject(o, "sources", str_array(p->sources, p->n_sources));
	return o;
}

static cJSON *crash_json(const struct vr_crash *c, const struct vr_pointer *p)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "kind", c->kind ? c->kind : "unknown");
	add_str(o, "title", c->title);
	add_addr(o, "fault_address", c->fault_address_known, c->fault_address);
	add_str(o, "access", c->access);
	cJSON_AddItemToObject(o, "ip", c->ip_known ? frame_json(&c->ip) : cJSON_CreateNull());
	add_str(o, "code", c->code);
	/* The faulting instruction and its neighbours, as `crash> dis -l`
	 * shows them; also for a BUG or WARN that has no bad pointer. */
	cJSON_AddItemToObject(o, "disassembly", str_array(p->disassembly, p->n_disassembly));
	add_addr(o, "error_code", c->error_code_known, c->error_code);
	if (c->bug_file) {
		cJSON *b = cJSON_CreateObject();
		add_str(b, "file", c->bug_file);
		add_int(b, "line", c->bug_line > 0, c->bug_line);
		cJSON_AddItemToObject(o, "bug_at", b);
	} else {
		cJSON_AddItemToObject(o, "bug_at", cJSON_CreateNull());
	}
	add_int(o, "cpu", c->cpu >= 0, c->cpu);
	add_int(o, "pid", c->pid >= 0, c->pid);
	add_str(o, "comm", c->comm);
	add_str(o, "taint", c->taint);
	add_str(o, "hardware", c->hardware);
	cJSON_AddItemToObject(o, "registers", regs_json(&c->regs));
	cJSON_AddItemToObject(o, "trace", trace_json(&c->trace));
	cJSON_AddItemToObject(o, "modules_linked", str_array(c->modules_linked, c->n_modules_linked));
	cJSON_AddItemToObject(o, "secondary", str_array(c->secondary, c->n_secondary));
	cJSON *ts = cJSON_CreateArray();
	for (size_t i = 0; i < c->n_traces; i++) {
		const struct vr_crash_trace *t = &c->traces[i];
		cJSON *e = cJSON_CreateObject();
		add_str(e, "role", t->role);
		add_str(e, "label", t->label);
		add_int(e, "cpu", t->cpu >= 0, t->cpu);
		add_int(e, "pid", t->pid >= 0, t->pid);
		add_str(e, "comm", t->comm);
		add_bool(e, "stalled", t->stalled);
		cJSON_AddItemToObject(e, "frames", trace_json(&t->trace));
		cJSON_AddItemToArray(ts, e);
	}
	cJSON_AddItemToObject(o, "traces", ts);
	return o;
}

static cJSON *pointer_json(const struct vr_pointer *p)
{
	if (!p->class)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	add_str(o, "class", p->class);
	add_addr(o, "value", p->value_known, p->value);
	add_str(o, "register", p->reg);
	add_int(o, "offset", p->offset_known, (double)p->offset);
	add_str(o, "member", p->member);
	add_str(o, "explanation", p->explanation);
	add_str(o, "instruction", p->instruction);
	cJSON_AddItemToObject(o, "disassembly", str_array(p->disassembly, p->n_disassembly));
	if (p->code_matches < 0)
		cJSON_AddItemToObject(o, "code_matches_memory", cJSON_CreateNull());
	else
		add_bool(o, "code_matches_memory", p->code_matches == 1);
	return o;
}

static cJSON *blame_json(const struct vr_blame *b)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "culprit", b->culprit ? b->culprit : "unknown");
	add_str(o, "module", b->module);
	add_str(o, "function", b->function);
	add_str(o, "file", b->file);
	add_int(o, "line", b->line > 0, b->line);
	add_str(o, "confidence", b->confidence ? b->confidence : "low");
	cJSON_AddItemToObject(o, "reasons", str_array(b->reasons, b->n_reasons));
	return o;
}

static cJSON *cpus_json(const struct vr_facts *f)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < f->n_cpus; i++) {
		const struct vr_cpu *c = &f->cpus[i];
		cJSON *o = cJSON_CreateObject();
		add_int(o, "cpu", true, c->cpu);
		add_int(o, "pid", c->pid >= 0, c->pid);
		add_str(o, "comm", c->comm);
		add_addr(o, "task", c->task != 0, c->task);
		add_str(o, "state", c->state);
		add_bool(o, "panic", c->panic);
		cJSON_AddItemToObject(o, "frames", trace_json(&c->trace));
		add_str(o, "stop_reason", c->trace.stop_reason);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *blocked_json(const struct vr_facts *f)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < f->n_tasks; i++) {
		const struct vr_task *t = &f->tasks[i];
		if (t->state != 'D')
			continue;
		cJSON *o = cJSON_CreateObject();
		add_int(o, "pid", true, t->pid);
		add_str(o, "comm", t->comm);
		add_str(o, "state", "D");
		add_int(o, "blocked_s", t->blocked_s >= 0, round(t->blocked_s * 1000) / 1000);
		add_addr(o, "task", t->task != 0, t->task);
		add_str(o, "source", t->from_log ? "log" : "memory");
		cJSON_AddItemToObject(o, "frames", trace_json(&t->trace));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *modules_json(const struct vr_facts *f)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < f->n_modules; i++) {
		const struct vr_module *m = &f->modules[i];
		cJSON *o = cJSON_CreateObject();
		add_str(o, "name", m->name);
		add_addr(o, "base", m->base != 0, m->base);
		add_int(o, "size", m->size != 0, (double)m->size);
		add_str(o, "state", m->state);
		add_str(o, "taints", m->taints);
		add_str(o, "version", m->version);
		add_str(o, "srcversion", m->srcversion);
		add_bool(o, "out_of_tree", m->out_of_tree);
		if (m->sig_ok < 0)
			cJSON_AddItemToObject(o, "signed", cJSON_CreateNull());
		else
			add_bool(o, "signed", m->sig_ok == 1);
		add_bool(o, "listed", !m->unlisted);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *log_json(const struct vr_log *l)
{
	cJSON *o = cJSON_CreateObject();
	add_int(o, "records", true, (double)l->n_records);
	add_str(o, "source", l->source);
	cJSON *lines = cJSON_CreateArray();
	for (size_t i = 0; i < l->n_records; i++) {
		char *line = vr_log_record_line(&l->records[i]);
		cJSON_AddItemToArray(lines, cJSON_CreateString(line ? line : ""));
		free(line);
	}
	cJSON_AddItemToObject(o, "lines", lines);
	return o;
}

static cJSON *findings_json(const struct vr_report *r)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct vr_finding *f = &r->findings[i];
		cJSON *o = cJSON_CreateObject();
		add_str(o, "rule", f->rule);
		add_str(o, "title", f->title);
		add_str(o, "severity", f->severity);
		add_str(o, "advice", f->advice);
		cJSON_AddItemToObject(o, "evidence", str_array(f->evidence, f->n_evidence));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *hang_json(const struct vr_hang *h)
{
	if (!h->kind)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	add_str(o, "kind", h->kind);
	add_int(o, "stuck_cpu", h->stuck_cpu >= 0, h->stuck_cpu);
	add_str(o, "stuck_function", h->stuck_function);
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < h->n_waiters; i++) {
		const struct vr_waiter *w = &h->waiters[i];
		cJSON *e = cJSON_CreateObject();
		add_int(e, "pid", true, w->pid);
		add_str(e, "comm", w->comm);
		add_str(e, "waits_on", w->waits_on);
		add_int(e, "owner_pid", w->owner_pid >= 0, w->owner_pid);
		add_str(e, "owner_comm", w->owner_comm);
		cJSON_AddItemToArray(a, e);
	}
	cJSON_AddItemToObject(o, "waiters", a);
	return o;
}

static cJSON *report_json(const struct vr_report *r)
{
	cJSON *root = cJSON_CreateObject();
	add_str(root, "schema_version", VR_SCHEMA_VERSION);
	cJSON *tool = cJSON_CreateObject();
	add_str(tool, "name", "vmreport");
	add_str(tool, "version", r->tool_version);
	cJSON_AddItemToObject(root, "tool", tool);
	cJSON_AddItemToObject(root, "input", input_json(r));
	char *verdict = vr_report_verdict(r);
	add_str(root, "verdict", verdict);
	free(verdict);
	cJSON_AddItemToObject(root, "system", system_json(&r->facts->system));
	cJSON_AddItemToObject(root, "panic", panic_json(&r->facts->panic));
	cJSON_AddItemToObject(root, "crash", crash_json(&r->crash, &r->pointer));
	cJSON_AddItemToObject(root, "pointer", pointer_json(&r->pointer));
	cJSON_AddItemToObject(root, "blame", blame_json(&r->blame));
	cJSON_AddItemToObject(root, "hang", hang_json(&r->hang));
	cJSON_AddItemToObject(root, "cpus", cpus_json(r->facts));
	cJSON_AddItemToObject(root, "blocked_tasks", blocked_json(r->facts));
	cJSON_AddItemToObject(root, "modules", modules_json(r->facts));
	cJSON_AddItemToObject(root, "log", log_json(&r->facts->log));
	cJSON_AddItemToObject(root, "findings", findings_json(r));
	cJSON *sig = cJSON_CreateObject();
	add_str(sig, "id", r->signature.id);
	cJSON_AddItemToObject(sig, "frames", str_array(r->signature.frames, r->signature.n_frames));
	cJSON_AddItemToObject(root, "signature", sig);
	cJSON *an = cJSON_CreateArray();
	for (size_t i = 0; r->diag && i < r->diag->n_steps; i++) {
		const struct vr_step *s = &r->diag->steps[i];
		cJSON *o = cJSON_CreateObject();
		add_str(o, "name", s->name);
		add_str(o, "status", s->status);
		add_str(o, "reason", s->reason);
		add_str(o, "covered", s->covered);
		/* Timings vary run to run; the same dump must give byte-identical
		 * output, so they are given only with --timings. */
		add_int(o, "ms", r->timings, round(s->ms * 1000) / 1000);
		cJSON_AddItemToArray(an, o);
	}
	cJSON_AddItemToObject(root, "analyzers", an);
	cJSON_AddItemToObject(root, "warnings",
			      r->diag ? str_array(r->diag->warnings, r->diag->n_warnings) : cJSON_CreateArray());
	return root;
}

struct vr_error *vr_emit_json(const struct vr_report *r, const struct vr_emit_options *o, FILE *out)
{
	cJSON *root = report_json(r);
	char *s = root ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (!s)
		return &vr_error_oom;
	fputs(s, out);
	fputc('\n', out);
	cJSON_free(s);
	return NULL;
}
