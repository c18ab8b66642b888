/* The analyzer registry: run in this order; later analyzers read the
 * conclusions of earlier ones (pointer and blame read crash; rules read
 * everything; tamper reads the crash's registers; signature reads blame). */
#include "analyzer.h"

#include <string.h>

extern const struct vr_analyzer vr_analyzer_oops;
extern const struct vr_analyzer vr_analyzer_pointer;
extern const struct vr_analyzer vr_analyzer_hang;
extern const struct vr_analyzer vr_analyzer_blame;
extern const struct vr_analyzer vr_analyzer_rules;
extern const struct vr_analyzer vr_analyzer_tamper;
extern const struct vr_analyzer vr_analyzer_signature;

const struct vr_analyzer *const vr_analyzers[] = {
	&vr_analyzer_oops,
	&vr_analyzer_pointer,
	&vr_analyzer_hang,
	&vr_analyzer_blame,
	&vr_analyzer_rules,
	&vr_analyzer_tamper,
	&vr_analyzer_signature,
};
const size_t vr_n_analyzers = sizeof(vr_analyzers) / sizeof(vr_analyzers[0]);

static const char *missing_need(const struct vr_analysis *a, unsigned needs)
{
	const struct vr_facts *f = a->facts;
	if ((needs & VR_NEED_LOG) && f->log.n_records == 0)
		return "no kernel log";
	if ((needs & VR_NEED_MEMORY) && !(a->kernel && vr_kernel_has_memory(a->kernel)))
		return "no dump memory (text input)";
	if ((needs & VR_NEED_CPUS) && f->n_cpus == 0)
		return "no per-CPU state";
	if ((needs & VR_NEED_TASKS) && f->n_tasks == 0)
		return "no task list";
	if ((needs & VR_NEED_CRASH) && (!a->report->crash.kind ||
					 !strcmp(a->report->crash.kind, "unknown")))
		return "no crash report found";
	return NULL;
}

void vr_analyze(struct vr_analysis *a)
{
	struct vr_diag *diag = a->report->diag;
	for (size_t i = 0; i < vr_n_analyzers; i++) {
		const struct vr_analyzer *an = vr_analyzers[i];
		double t0 = vr_now_ms();
		const char *skip = missing_need(a, an->needs);
		if (skip) {
			vr_diag_step(diag, an->name, "skipped", 0, "%s", skip);
			continue;
		}
		const char *skipped = NULL;
		struct vr_error *err = an->run(a, &skipped);
		double ms = vr_now_ms() - t0;
		struct vr_error *fatal = a->fatal;
		a->fatal = NULL;
		vr_error_keep(&fatal, vr_kernel_take_fatal(a->kernel));
		if (fatal && (!err || (vr_error_is_fatal(fatal) && !vr_error_is_fatal(err)))) {
			/* cut short: what it concluded before stays */
			vr_diag_step(diag, an->name, "partial", ms, "cut short: %s", fatal->message);
			vr_error_destroy(fatal);
			vr_error_destroy(err);
		} else if (err) {
			vr_error_destroy(fatal);
			bool partial = err->code == VR_ERR_NOT_PRESENT || err->code == VR_ERR_FAULT;
			vr_diag_step(diag, an->name, partial ? "partial" : "error", ms, "%s",
				     err->message);
			vr_error_destroy(err);
		} else if (skipped) {
			vr_diag_step(diag, an->name, "skipped", ms, "%s", skipped);
		} else {
			vr_diag_step(diag, an->name, "ok", ms, NULL);
		}
	}
}
