#include "model.h"

#include <string.h>

void vr_report_init(struct vr_report *r, struct vr_input_info *input,
		    struct vr_facts *facts, struct vr_diag *diag)
{
	*r = (struct vr_report){0};
	r->input = input;
	r->facts = facts;
	r->diag = diag;
	vr_crash_init(&r->crash);
	r->pointer.code_matches = -1;
	r->hang.stuck_cpu = -1;
	r->tool_version = VR_VERSION;
}

const char *const VR_ROLE_CALL = "call";
const char *const VR_ROLE_ALLOC = "alloc";
const char *const VR_ROLE_FREE = "free";
const char *const VR_ROLE_AUX = "aux";
const char *const VR_ROLE_ORIGIN = "origin";
const char *const VR_ROLE_RACE = "race";
const char *const VR_ROLE_LEAK = "leak";
const char *const VR_ROLE_PAGE_ALLOC = "page-alloc";
const char *const VR_ROLE_PAGE_FREE = "page-free";
const char *const VR_ROLE_DEPENDENCY = "dependency";
const char *const VR_ROLE_ACQUIRE = "acquire";
const char *const VR_ROLE_HELD = "held";
const char *const VR_ROLE_NMI = "nmi";
const char *const VR_ROLE_TASK = "task";
const char *const VR_ROLE_GP_KTHREAD = "gp-kthread";
const char *const VR_ROLE_HEADLINE = "headline";

void vr_crash_init(struct vr_crash *c)
{
	*c = (struct vr_crash){0};
	c->kind = "unknown";
	c->cpu = c->pid = -1;
	c->stalled_cpu = -1;
}

void vr_crash_deinit(struct vr_crash *c)
{
	free(c->title);
	vr_frame_deinit(&c->ip);
	free(c->code);
	vr_trace_deinit(&c->trace);
	for (size_t i = 0; i < c->n_traces; i++) {
		free(c->traces[i].label);
		free(c->traces[i].comm);
		vr_trace_deinit(&c->traces[i].trace);
	}
	free(c->traces);
	free(c->bug_file);
	free(c->cpu_line);
	free(c->comm);
	free(c->taint);
	free(c->hardware);
	vr_strv_free(c->modules_linked, c->n_modules_linked);
	vr_strv_free(c->secondary, c->n_secondary);
	vr_crash_init(c);
}

void vr_report_deinit(struct vr_report *r)
{
	vr_crash_deinit(&r->crash);

	struct vr_pointer *p = &r->pointer;
	free(p->reg);
	free(p->member);
	free(p->explanation);
	vr_strv_free(p->disassembly, p->n_disassembly);
	free(p->instruction);

	struct vr_blame *b = &r->blame;
	free(b->module);
	free(b->function);
	free(b->file);
	vr_strv_free(b->reasons, b->n_reasons);

	for (size_t i = 0; i < r->hang.n_waiters; i++) {
		free(r->hang.waiters[i].comm);
		free(r->hang.waiters[i].waits_on);
		free(r->hang.waiters[i].owner_comm);
	}
	free(r->hang.waiters);
	free(r->hang.stuck_function);

	for (size_t i = 0; i < r->n_findings; i++) {
		struct vr_finding *f = &r->findings[i];
		free(f->rule);
		free(f->title);
		free(f->advice);
		vr_strv_free(f->evidence, f->n_evidence);
	}
	free(r->findings);
	free(r->signature.id);
	vr_strv_free(r->signature.frames, r->signature.n_frames);
	*r = (struct vr_report){0};
}

struct vr_error *vr_report_add_finding(struct vr_report *r, const char *rule, const char *title,
				       const char *severity, const char *advice,
				       char **evidence, size_t n_evidence)
{
	struct vr_error *err = vr_grow(&r->findings, &r->cap_findings, r->n_findings + 1,
				       sizeof(*r->findings), 10000);
	if (err)
		return err;
	struct vr_finding *f = &r->findings[r->n_findings];
	*f = (struct vr_finding){
		.rule = vr_strdup(rule),
		.title = vr_strdup(title),
		.severity = severity,
		.advice = vr_strdup(advice),
	};
	if (n_evidence) {
		f->evidence = calloc(n_evidence, sizeof(char *));
		if (!f->evidence)
			return &vr_error_oom;
		for (size_t i = 0; i < n_evidence; i++)
			f->evidence[i] = vr_strdup(evidence[i]);
		f->n_evidence = n_evidence;
	}
	r->n_findings++;
	return NULL;
}

int vr_severity_rank(const char *s)
{
	static const char *const names[] = {"info", "warning", "error", "critical"};
	for (int i = 0; s && i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}
