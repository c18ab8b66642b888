#define _GNU_SOURCE
#include "facts.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const vr_reg_names[VR_NREGS] = {
	"R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10",
	"R09", "R08", "RAX", "RCX", "RDX", "RSI", "RDI", "ORIG_RAX",
	"RIP", "CS", "EFLAGS", "RSP", "SS", "FS_BASE", "GS_BASE",
	"DS", "ES", "FS", "GS",
};

double vr_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void vr_diag_step(struct vr_diag *d, const char *name, const char *status, double ms,
		  const char *reason_fmt, ...)
{
	if (vr_error_catch(vr_grow(&d->steps, &d->cap_steps, d->n_steps + 1, sizeof(*d->steps), 4096)))
		return;
	struct vr_step *s = &d->steps[d->n_steps++];
	s->name = vr_strdup(name);
	s->status = status;
	s->ms = ms;
	s->reason = NULL;
	if (reason_fmt) {
		va_list ap;
		va_start(ap, reason_fmt);
		if (vasprintf(&s->reason, reason_fmt, ap) < 0)
			s->reason = NULL;
		va_end(ap);
	}
}

void vr_diag_warn(struct vr_diag *d, const char *fmt, ...)
{
	if (vr_error_catch(vr_grow(&d->warnings, &d->cap_warnings, d->n_warnings + 1,
				   sizeof(*d->warnings), 100000)))
		return;
	char *w = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&w, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	/* The same warning twice says nothing new. */
	for (size_t i = 0; i < d->n_warnings; i++) {
		if (!strcmp(d->warnings[i], w)) {
			free(w);
			return;
		}
	}
	d->warnings[d->n_warnings++] = w;
}

void vr_diag_deinit(struct vr_diag *d)
{
	for (size_t i = 0; i < d->n_steps; i++) {
		free(d->steps[i].name);
		free(d->steps[i].reason);
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
	for (size_t i = 0; i < f->log.n_records; i++)
		free(f->log.records[i].text);
	free(f->log.records);
	free(f->log.source);
	free(f->text);
	*f = (struct vr_facts){0};
}
