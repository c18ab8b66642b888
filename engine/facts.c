#define _GNU_SOURCE
#include "facts.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double vr_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void vr_diag_step(struct vr_diag *d, const char *name, const char *status, double ms,
		  const char *reason_fmt, ...)
{
	struct vr_error *err = vr_grow(&d->steps, &d->cap_steps, d->n_steps + 1, sizeof(*d->steps), 4096);
	if (err) {
		/* out of memory, or more steps than any run has: either way short */
		vr_error_destroy(err);
		d->lost = true;
		return;
	}
	char *n = vr_strdup(name);
	if (!n) {
		d->lost = true;
		return;
	}
	struct vr_step *s = &d->steps[d->n_steps++];
	s->name = n;
	s->status = status;
	s->ms = ms;
	s->reason = NULL;
	s->covered = NULL;
	if (reason_fmt) {
		va_list ap;
		va_start(ap, reason_fmt);
		if (vasprintf(&s->reason, reason_fmt, ap) < 0) {
			s->reason = NULL;
			d->lost = true;
		}
		va_end(ap);
	}
}

void vr_diag_covered(struct vr_diag *d, const char *fmt, ...)
{
	if (!d->n_steps)
		return;
	struct vr_step *s = &d->steps[d->n_steps - 1];
	free(s->covered);
	s->covered = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s->covered, fmt, ap) < 0) {
		s->covered = NULL;
		d->lost = true;
	}
	va_end(ap);
}

void vr_diag_warn(struct vr_diag *d, const char *fmt, ...)
{
	char *w = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&w, fmt, ap);
	va_end(ap);
	if (r < 0) {
		d->lost = true;
		return;
	}
	/* The same warning twice says nothing new. */
	for (size_t i = 0; i < d->n_warnings; i++) {
		if (!strcmp(d->warnings[i], w)) {
			free(w);
			return;
		}
	}
	struct vr_error *err = vr_strv_add(&d->warnings, &d->n_warnings, &d->cap_warnings, 100000, w);
	if (err) {
		/* past the limit a warning more says nothing new; a lost one does */
		d->lost = d->lost || vr_error_is_fatal(err);
		vr_error_destroy(err);
	}
}

void vr_diag_deinit(struct vr_diag *d)
{
	for (size_t i = 0; i < d->n_steps; i++) {
		free(d->steps[i].name);
		free(d->steps[i].reason);
		free(d->steps[i].covered);
	}
	free(d->steps);
	for (size_t i = 0; i < d->n_warnings; i++)
		free(d->warnings[i]);
	free(d->warnings);
	*d = (struct vr_diag){0};
}

void vr_frame_deinit(struct vr_frame *f)
{
	free(f->symbol);
	free(f->module);
	free(f->file);
	for (size_t i = 0; i < f->n_inlined; i++) {
		free(f->inlined[i].symbol);
		free(f->inlined[i].file);
	}
	free(f->inlined);
	free(f->regs);
	free(f->stack);
	*f = (struct vr_frame){0};
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? vr_strdup(s) : NULL;
	if (s && !d)
		*oom = true;
	return d;
}

struct vr_error *vr_frame_copy(const struct vr_frame *from, struct vr_frame *to)
{
	bool oom = false;
	struct vr_frame f = *from;
	f.symbol = dup_or_null(from->symbol, &oom);
	f.module = dup_or_null(from->module, &oom);
	f.file = dup_or_null(from->file, &oom);
	f.stack = dup_or_null(from->stack, &oom);
	f.inlined = NULL;
	f.n_inlined = 0;
	f.regs = NULL;
	if (from->n_inlined && (f.inlined = calloc(from->n_inlined, sizeof(*f.inlined)))) {
		for (size_t i = 0; i < from->n_inlined; i++, f.n_inlined++) {
			f.inlined[i].symbol = dup_or_null(from->inlined[i].symbol, &oom);
			f.inlined[i].file = dup_or_null(from->inlined[i].file, &oom);
			f.inlined[i].line = from->inlined[i].line;
		}
	} else if (from->n_inlined) {
		oom = true;
	}
	if (from->regs && (f.regs = malloc(sizeof(*f.regs))))
		*f.regs = *from->regs;
	else if (from->regs)
		oom = true;
	if (oom) {
		vr_frame_deinit(&f);
		return &vr_error_oom;
	}
	*to = f;
	return NULL;
}

struct vr_error *vr_trace_copy(const struct vr_trace *from, size_t first, struct vr_trace *to)
{
	struct vr_trace t = {0};
	size_t n = first < from->n_frames ? from->n_frames - first : 0;
	if (n && !(t.frames = calloc(n, sizeof(*t.frames))))
		return &vr_error_oom;
	for (size_t i = 0; i < n; i++, t.n_frames++) {
		if (vr_frame_copy(&from->frames[first + i], &t.frames[i])) {
			vr_trace_deinit(&t);
			return &vr_error_oom;
		}
	}
	if (from->stop_reason && !(t.stop_reason = vr_strdup(from->stop_reason))) {
		vr_trace_deinit(&t);
		return &vr_error_oom;
	}
	vr_trace_deinit(to);
	*to = t;
	return NULL;
}

void vr_trace_deinit(struct vr_trace *t)
{
	for (size_t i = 0; i < t->n_frames; i++)
		vr_frame_deinit(&t->frames[i]);
	free(t->frames);
	free(t->stop_reason);
	*t = (struct vr_trace){0};
}

static void system_deinit(struct vr_system *s)
{
	free(s->release);
	free(s->version);
	free(s->machine);
	free(s->nodename);
	free(s->taint_letters);
}

static void panic_deinit(struct vr_panic *p)
{
	free(p->message);
	free(p->comm);
	for (size_t i = 0; i < p->n_sources; i++)
		free(p->sources[i]);
	free(p->sources);
}

void vr_log_deinit(struct vr_log *log)
{
	for (size_t i = 0; i < log->n_records; i++)
		free(log->records[i].text);
	free(log->records);
	free(log->source);
	*log = (struct vr_log){0};
}

void vr_facts_deinit(struct vr_facts *f)
{
	system_deinit(&f->system);
	panic_deinit(&f->panic);
	for (size_t i = 0; i < f->n_cpus; i++) {
		free(f->cpus[i].comm);
		free(f->cpus[i].state);
		vr_trace_deinit(&f->cpus[i].trace);
	}
	free(f->cpus);
	for (size_t i = 0; i < f->n_tasks; i++)
		vr_trace_deinit(&f->tasks[i].trace);
	free(f->tasks);
	for (size_t i = 0; i < f->n_modules; i++) {
		struct vr_module *m = &f->modules[i];
		free(m->name);
		free(m->state);
		free(m->taints);
		free(m->version);
		free(m->srcversion);
	}
	free(f->modules);
	vr_log_deinit(&f->log);
	free(f->text);
	*f = (struct vr_facts){0};
}
